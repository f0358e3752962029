/* metrics.h: families in an array, series in an array per family (linear lookup: a family has a
 * handful of series, PH_METRICS_MAX_SERIES at most). One mutex per registry. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

typedef enum MetricType {
        METRIC_COUNTER,
        METRIC_GAUGE,
        METRIC_HISTOGRAM,
} MetricType;

typedef struct Series {
        char **values;    /* label values, as many as the family's names */
        double value;     /* counter, gauge */
        uint64_t *counts; /* histogram: observations per bucket (not cumulative), n_buckets + 1 (+Inf) */
        double sum;
        uint64_t count;
} Series;

struct PhMetric {
        PhMetrics *registry;
        MetricType type;
        char *name; /* with the prefix */
        char *help;
        char **labels;
        size_t n_labels;
        double *buckets;
        size_t n_buckets;
        Series *series;
        size_t n_series;
};

struct PhMetrics {
        pthread_mutex_t lock;
        PhMetric **families;
        size_t n_families;
};

static const char *const type_names[] = {
        [METRIC_COUNTER] = "counter",
        [METRIC_GAUGE] = "gauge",
        [METRIC_HISTOGRAM] = "histogram",
};

PhMetrics *metrics_new(void) {
        PhMetrics *m = xcalloc(1, sizeof(*m));
        pthread_mutex_init(&m->lock, NULL);
        return m;
}

static void series_clear(Series *s) {
        strv_free(s->values);
        free(s->counts);
}

static void family_free(PhMetric *f) {
        for (size_t i = 0; i < f->n_series; i++)
                series_clear(&f->series[i]);
        free(f->series);
        free(f->name);
        free(f->help);
        strv_free(f->labels);
        free(f->buckets);
        free(f);
}

PhMetrics *metrics_free(PhMetrics *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; i < m->n_families; i++)
                family_free(m->families[i]);
        free(m->families);
        pthread_mutex_destroy(&m->lock);
        free(m);
        return NULL;
}

static bool name_char(char c, bool first, bool colon) {
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
                return true;
        if (colon && c == ':')
                return true;
        return !first && c >= '0' && c <= '9';
}

/* Metric names may hold ':' (reserved for recording rules, but valid); label names may not. */
static bool name_valid(const char *s, bool colon) {
        if (!s || !*s)
                return false;
        for (size_t i = 0; s[i]; i++)
                if (!name_char(s[i], i == 0, colon))
                        return false;
        return true;
}

static int check_labels(const char *name, const char *const *labels, bool histogram, PhError **err) {
        for (size_t i = 0; labels && labels[i]; i++) {
                if (!name_valid(labels[i], false) || strncmp(labels[i], "__", 2) == 0)
                        return ph_error_set(err, EINVAL, "metric %s: bad label name '%s'", name, labels[i]);
                if (histogram && strcmp(labels[i], "le") == 0)
                        return ph_error_set(err, EINVAL, "metric %s: 'le' is the bucket label of a histogram",
                                            name);
                for (size_t j = 0; j < i; j++)
                        if (strcmp(labels[i], labels[j]) == 0)
                                return ph_error_set(err, EINVAL, "metric %s: label '%s' twice", name,
                                                    labels[i]);
        }
        return 0;
}

static int check_buckets(const char *name, const double *buckets, size_t n, PhError **err) {
        if (n == 0)
                return ph_error_set(err, EINVAL, "metric %s: a histogram needs buckets", name);
        for (size_t i = 0; i < n; i++) {
                if (!isfinite(buckets[i]))
                        return ph_error_set(err, EINVAL, "metric %s: bucket %zu is not finite", name, i);
                if (i > 0 && !(buckets[i] > buckets[i - 1]))
                        return ph_error_set(err, EINVAL, "metric %s: buckets must increase", name);
        }
        return 0;
}

static Series *series_add(PhMetric *f, const char *const *values) {
        f->series = xrealloc(f->series, sizeof(Series) * (f->n_series + 1));
        Series *s = &f->series[f->n_series++];
        *s = (Series){.values = xcalloc(f->n_labels + 1, sizeof(char *))};
        for (size_t i = 0; i < f->n_labels; i++)
                s->values[i] = xstrdup(values[i]);
        if (f->type == METRIC_HISTOGRAM)
                s->counts = xcalloc(f->n_buckets + 1, sizeof(uint64_t));
        return s;
}

static int family_add(PhMetrics *m, MetricType type, const char *name, const char *help,
                      const char *const *labels, const double *buckets, size_t n_buckets, PhMetric **ret,
                      PhError **err) {
        _cleanup_free_ char *full = xasprintf(PH_METRICS_PREFIX "%s", name ? name : "");
        int r;

        if (!name_valid(name, true))
                return ph_error_set(err, EINVAL, "bad metric name '%s'", name ? name : "");
        r = check_labels(full, labels, type == METRIC_HISTOGRAM, err);
        if (r < 0)
                return r;
        if (type == METRIC_HISTOGRAM) {
                r = check_buckets(full, buckets, n_buckets, err);
                if (r < 0)
                        return r;
        }

        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_families; i++)
                if (strcmp(m->families[i]->name, full) == 0) {
                        pthread_mutex_unlock(&m->lock);
                        return ph_error_set(err, EEXIST, "metric %s is registered already", full);
                }
        PhMetric *f = xcalloc(1, sizeof(*f));
        f->registry = m;
        f->type = type;
        f->name = TAKE_PTR(full);
        f->help = xstrdup(help ? help : "");
        f->n_labels = labels ? strv_length((char *const *) labels) : 0;
        f->labels = xcalloc(f->n_labels + 1, sizeof(char *));
        for (size_t i = 0; i < f->n_labels; i++)
                f->labels[i] = xstrdup(labels[i]);
        if (type == METRIC_HISTOGRAM) {
                f->buckets = xmalloc(sizeof(double) * n_buckets);
                memcpy(f->buckets, buckets, sizeof(double) * n_buckets);
                f->n_buckets = n_buckets;
        }
        /* Without labels there is exactly one series: it is shown (as zero) before anything counts. */
        if (f->n_labels == 0)
                (void) series_add(f, NULL);
        m->families = xrealloc(m->families, sizeof(PhMetric *) * (m->n_families + 1));
        m->families[m->n_families++] = f;
        pthread_mutex_unlock(&m->lock);
        if (ret)
                *ret = f;
        return 0;
}

int metrics_add_counter(PhMetrics *m, const char *name, const char *help, const char *const *labels,
                        PhMetric **ret, PhError **err) {
        return family_add(m, METRIC_COUNTER, name, help, labels, NULL, 0, ret, err);
}

int metrics_add_gauge(PhMetrics *m, const char *name, const char *help, const char *const *labels,
                      PhMetric **ret, PhError **err) {
        return family_add(m, METRIC_GAUGE, name, help, labels, NULL, 0, ret, err);
}

int metrics_add_histogram(PhMetrics *m, const char *name, const char *help, const char *const *labels,
                          const double *buckets, size_t n_buckets, PhMetric **ret, PhError **err) {
        return family_add(m, METRIC_HISTOGRAM, name, help, labels, buckets, n_buckets, ret, err);
}

static bool values_fit(const PhMetric *f, const char *const *values) {
        size_t n = values ? strv_length((char *const *) values) : 0;
        return n == f->n_labels;
}

static Series *series_find(PhMetric *f, const char *const *values) {
        for (size_t i = 0; i < f->n_series; i++) {
                size_t j = 0;
                while (j < f->n_labels && strcmp(f->series[i].values[j], values[j]) == 0)
                        j++;
                if (j == f->n_labels)
                        return &f->series[i];
        }
        return NULL;
}

typedef enum Update {
        UPDATE_ADD,
        UPDATE_SET,
        UPDATE_OBSERVE,
} Update;

static bool update_allowed(const PhMetric *f, Update u, double v) {
        if (isnan(v))
                return false;
        switch (u) {
        case UPDATE_ADD:
                return f->type == METRIC_GAUGE || (f->type == METRIC_COUNTER && v >= 0);
        case UPDATE_SET:
                return f->type == METRIC_GAUGE;
        case UPDATE_OBSERVE:
                return f->type == METRIC_HISTOGRAM;
        }
        return false;
}

static int update(PhMetric *f, const char *const *values, Update u, double v) {
        if (!f || !values_fit(f, values) || !update_allowed(f, u, v))
                return -EINVAL;

        pthread_mutex_lock(&f->registry->lock);
        Series *s = series_find(f, values);
        if (!s) {
                if (f->n_series >= PH_METRICS_MAX_SERIES) {
                        pthread_mutex_unlock(&f->registry->lock);
                        return -E2BIG;
                }
                s = series_add(f, values);
        }
        switch (u) {
        case UPDATE_ADD:
                s->value += v;
                break;
        case UPDATE_SET:
                s->value = v;
                break;
        case UPDATE_OBSERVE: {
                size_t b = 0;
                while (b < f->n_buckets && v > f->buckets[b])
                        b++;
                s->counts[b]++;
                s->sum += v;
                s->count++;
                break;
        }
        }
        pthread_mutex_unlock(&f->registry->lock);
        return 0;
}

int metric_inc(PhMetric *f, const char *const *values) {
        return update(f, values, UPDATE_ADD, 1);
}

int metric_add(PhMetric *f, const char *const *values, double v) {
        return update(f, values, UPDATE_ADD, v);
}

int metric_set(PhMetric *f, const char *const *values, double v) {
        return update(f, values, UPDATE_SET, v);
}

int metric_observe(PhMetric *f, const char *const *values, double v) {
        return update(f, values, UPDATE_OBSERVE, v);
}

int metric_remove(PhMetric *f, const char *const *values) {
        if (!f || !values_fit(f, values))
                return -EINVAL;
        if (f->n_labels == 0)
                return -ENOENT;
        pthread_mutex_lock(&f->registry->lock);
        Series *s = series_find(f, values);
        if (!s) {
                pthread_mutex_unlock(&f->registry->lock);
                return -ENOENT;
        }
        size_t i = (size_t) (s - f->series);
        series_clear(s);
        memmove(s, s + 1, sizeof(Series) * (f->n_series - i - 1));
        f->n_series--;
        pthread_mutex_unlock(&f->registry->lock);
        return 0;
}

/* The shortest of %.15g and %.17g that reads back as v; Prometheus' own spellings otherwise. */
static void put_double(FILE *out, double v) {
        char buf[32];

        if (isnan(v)) {
                fputs("NaN", out);
                return;
        }
        if (isinf(v)) {
                fputs(v > 0 ? "+Inf" : "-Inf", out);
                return;
        }
        snprintf(buf, sizeof(buf), "%.15g", v);
        if (strtod(buf, NULL) != v)
                snprintf(buf, sizeof(buf), "%.17g", v);
        fputs(buf, out);
}

/* HELP text escapes backslash and newline; label values also the double quote. */
static void put_escaped(FILE *out, const char *s, bool quote) {
        for (; *s; s++) {
                if (*s == '\\')
                        fputs("\\\\", out);
                else if (*s == '\n')
                        fputs("\\n", out);
                else if (quote && *s == '"')
                        fputs("\\\"", out);
                else
                        fputc(*s, out);
        }
}

/* {a="x",b="y"} plus le="..." for a bucket (le_bucket: its index; n_buckets means +Inf; SIZE_MAX none). */
static void put_labels(FILE *out, const PhMetric *f, const Series *s, size_t le_bucket) {
        bool le = le_bucket != SIZE_MAX;

        if (f->n_labels == 0 && !le)
                return;
        fputc('{', out);
        for (size_t i = 0; i < f->n_labels; i++) {
                fprintf(out, "%s%s=\"", i ? "," : "", f->labels[i]);
                put_escaped(out, s->values[i], true);
                fputc('"', out);
        }
        if (le) {
                fprintf(out, "%sle=\"", f->n_labels ? "," : "");
                if (le_bucket == f->n_buckets)
                        fputs("+Inf", out);
                else
                        put_double(out, f->buckets[le_bucket]);
                fputc('"', out);
        }
        fputc('}', out);
}

static void render_series(FILE *out, const PhMetric *f, const Series *s) {
        if (f->type != METRIC_HISTOGRAM) {
                fputs(f->name, out);
                put_labels(out, f, s, SIZE_MAX);
                fputc(' ', out);
                put_double(out, s->value);
                fputc('\n', out);
                return;
        }
        uint64_t cumulative = 0;
        for (size_t b = 0; b <= f->n_buckets; b++) {
                cumulative += s->counts[b];
                fprintf(out, "%s_bucket", f->name);
                put_labels(out, f, s, b);
                fprintf(out, " %llu\n", (unsigned long long) cumulative);
        }
        fprintf(out, "%s_sum", f->name);
        put_labels(out, f, s, SIZE_MAX);
        fputc(' ', out);
        put_double(out, s->sum);
        fprintf(out, "\n%s_count", f->name);
        put_labels(out, f, s, SIZE_MAX);
        fprintf(out, " %llu\n", (unsigned long long) s->count);
}

char *metrics_render(PhMetrics *m) {
        char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);

        if (!out)
                abort();
        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_families; i++) {
                const PhMetric *f = m->families[i];
                fprintf(out, "# HELP %s ", f->name);
                put_escaped(out, f->help, false);
                fprintf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
                for (size_t j = 0; j < f->n_series; j++)
                        render_series(out, f, &f->series[j]);
        }
        pthread_mutex_unlock(&m->lock);
        if (fclose(out) != 0)
                abort();
        return text;
}
