/* The metrics registry: the exact text of each kind of family (prefix, HELP and TYPE lines, escaping,
 * cumulative buckets up to +Inf, _sum and _count, number spellings), refused registrations and
 * updates, removed series, the series bound, and counting from several threads at once. The same
 * text is read by the real Prometheus parser in tests/api (api-server.sh). */
#include <errno.h>
#include <math.h>
#include <pthread.h>

#include "metrics.h"
#include "tap.h"

static void test_counter_and_gauge(void) {
        _cleanup_(metrics_freep) PhMetrics *m = metrics_new();
        PhMetric *applied = NULL, *pending = NULL, *plain = NULL;

        TAP_CHECK(metrics_add_counter(m, "deployments_applied_total", "Deployments applied.",
                                      METRIC_LABELS("group"), &applied, NULL) == 0);
        TAP_CHECK(metrics_add_gauge(m, "signals_pending", "Signals not yet delivered.\nSecond \\ line", NULL,
                                    &pending, NULL) == 0);
        TAP_CHECK(metrics_add_counter(m, "poll_errors_total", "Poll errors.", NULL, &plain, NULL) == 0);
        TAP_CHECK(metric_inc(applied, METRIC_LABELS("docker")) == 0);
        TAP_CHECK(metric_add(applied, METRIC_LABELS("docker"), 2) == 0);
        TAP_CHECK(metric_inc(applied, METRIC_LABELS("script")) == 0);
        TAP_CHECK(metric_set(pending, NULL, 0.1) == 0);
        TAP_CHECK(metric_add(pending, NULL, -3) == 0);

        _cleanup_free_ char *text = metrics_render(m);
        TAP_CHECK_STR(text, "# HELP podhook_deployments_applied_total Deployments applied.\n"
                            "# TYPE podhook_deployments_applied_total counter\n"
                            "podhook_deployments_applied_total{group=\"docker\"} 3\n"
                            "podhook_deployments_applied_total{group=\"script\"} 1\n"
                            "# HELP podhook_signals_pending Signals not yet delivered.\\nSecond \\\\ line\n"
                            "# TYPE podhook_signals_pending gauge\n"
                            "podhook_signals_pending -2.9\n"
                            "# HELP podhook_poll_errors_total Poll errors.\n"
                            "# TYPE podhook_poll_errors_total counter\n"
                            "podhook_poll_errors_total 0\n");
}

static void test_label_escaping(void) {
        _cleanup_(metrics_freep) PhMetrics *m = metrics_new();
        PhMetric *g = NULL;

        TAP_CHECK(metrics_add_gauge(m, "x", "x", METRIC_LABELS("pod", "why"), &g, NULL) == 0);
        TAP_CHECK(metric_set(g, METRIC_LABELS("a\"b", "back\\slash\nnew"), 1e21) == 0);
        TAP_CHECK(metric_set(g, METRIC_LABELS("inf", ""), INFINITY) == 0);
        TAP_CHECK(metric_set(g, METRIC_LABELS("ninf", ""), -INFINITY) == 0);
        TAP_CHECK(metric_set(g, METRIC_LABELS("third", ""), 1.0 / 3) == 0);

        _cleanup_free_ char *text = metrics_render(m);
        TAP_CHECK_STR(text, "# HELP podhook_x x\n"
                            "# TYPE podhook_x gauge\n"
                            "podhook_x{pod=\"a\\\"b\",why=\"back\\\\slash\\nnew\"} 1e+21\n"
                            "podhook_x{pod=\"inf\",why=\"\"} +Inf\n"
                            "podhook_x{pod=\"ninf\",why=\"\"} -Inf\n"
                            "podhook_x{pod=\"third\",why=\"\"} 0.33333333333333331\n");
}

static void test_histogram(void) {
        _cleanup_(metrics_freep) PhMetrics *m = metrics_new();
        PhMetric *h = NULL, *u = NULL;
        const double buckets[] = {0.5, 1, 2.5};

        TAP_CHECK(metrics_add_histogram(m, "apply_duration_seconds", "Time of an apply.",
                                        METRIC_LABELS("pod"), buckets, 3, &h, NULL) == 0);
        TAP_CHECK(metrics_add_histogram(m, "empty_seconds", "Nothing yet.", NULL, buckets, 1, &u, NULL) == 0);
        /* A value on a bound belongs to that bucket (le: less or equal). */
        const double seen[] = {0.5, 0.7, 1, 3, 100};
        for (size_t i = 0; i < ELEMENTSOF(seen); i++)
                TAP_CHECK(metric_observe(h, METRIC_LABELS("web"), seen[i]) == 0);

        _cleanup_free_ char *text = metrics_render(m);
        TAP_CHECK_STR(text, "# HELP podhook_apply_duration_seconds Time of an apply.\n"
                            "# TYPE podhook_apply_duration_seconds histogram\n"
                            "podhook_apply_duration_seconds_bucket{pod=\"web\",le=\"0.5\"} 1\n"
                            "podhook_apply_duration_seconds_bucket{pod=\"web\",le=\"1\"} 3\n"
                            "podhook_apply_duration_seconds_bucket{pod=\"web\",le=\"2.5\"} 3\n"
                            "podhook_apply_duration_seconds_bucket{pod=\"web\",le=\"+Inf\"} 5\n"
                            "podhook_apply_duration_seconds_sum{pod=\"web\"} 105.2\n"
                            "podhook_apply_duration_seconds_count{pod=\"web\"} 5\n"
                            "# HELP podhook_empty_seconds Nothing yet.\n"
                            "# TYPE podhook_empty_seconds histogram\n"
                            "podhook_empty_seconds_bucket{le=\"0.5\"} 0\n"
                            "podhook_empty_seconds_bucket{le=\"+Inf\"} 0\n"
                            "podhook_empty_seconds_sum 0\n"
                            "podhook_empty_seconds_count 0\n");
}

static void test_refusals(void) {
        _cleanup_(metrics_freep) PhMetrics *m = metrics_new();
        PhMetric *c = NULL, *g = NULL, *h = NULL;
        const double bad_order[] = {1, 1};
        const double not_finite[] = {1, INFINITY};
        const double ok[] = {1};

        struct {
                const char *name;
                const char *const *labels;
                const char *want;
        } names[] = {
                {"", NULL, "bad metric name ''"},
                {"9lives", NULL, "bad metric name '9lives'"},
                {"with-dash", NULL, "bad metric name 'with-dash'"},
                {"ok", METRIC_LABELS("a:b"), "metric podhook_ok: bad label name 'a:b'"},
                {"ok", METRIC_LABELS("__reserved"), "metric podhook_ok: bad label name '__reserved'"},
                {"ok", METRIC_LABELS("a", "a"), "metric podhook_ok: label 'a' twice"},
        };
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_error_ PhError *err = NULL;
                TAP_CHECK(metrics_add_counter(m, names[i].name, "h", names[i].labels, NULL, &err) == -EINVAL);
                TAP_CHECK_STR(ph_error_msg(err), names[i].want);
        }
        {
                _cleanup_error_ PhError *err = NULL;
                TAP_CHECK(metrics_add_histogram(m, "h", "h", METRIC_LABELS("le"), ok, 1, NULL, &err) ==
                          -EINVAL);
                TAP_CHECK_STR(ph_error_msg(err), "metric podhook_h: 'le' is the bucket label of a histogram");
                TAP_CHECK(metrics_add_histogram(m, "h", "h", NULL, bad_order, 2, NULL, NULL) == -EINVAL);
                TAP_CHECK(metrics_add_histogram(m, "h", "h", NULL, not_finite, 2, NULL, NULL) == -EINVAL);
                TAP_CHECK(metrics_add_histogram(m, "h", "h", NULL, ok, 0, NULL, NULL) == -EINVAL);
        }
        TAP_CHECK(metrics_add_counter(m, "c_total", "c", METRIC_LABELS("pod"), &c, NULL) == 0);
        TAP_CHECK(metrics_add_gauge(m, "g", "g", NULL, &g, NULL) == 0);
        TAP_CHECK(metrics_add_histogram(m, "h", "h", NULL, ok, 1, &h, NULL) == 0);
        {
                _cleanup_error_ PhError *err = NULL;
                TAP_CHECK(metrics_add_gauge(m, "c_total", "again", NULL, NULL, &err) == -EEXIST);
                TAP_CHECK_STR(ph_error_msg(err), "metric podhook_c_total is registered already");
        }

        TAP_CHECK(metric_inc(c, NULL) == -EINVAL);                    /* too few values */
        TAP_CHECK(metric_inc(c, METRIC_LABELS("a", "b")) == -EINVAL); /* too many */
        TAP_CHECK(metric_add(c, METRIC_LABELS("a"), -1) == -EINVAL);  /* a counter never goes down */
        TAP_CHECK(metric_add(c, METRIC_LABELS("a"), NAN) == -EINVAL);
        TAP_CHECK(metric_set(c, METRIC_LABELS("a"), 5) == -EINVAL); /* nor is it set */
        TAP_CHECK(metric_observe(g, NULL, 1) == -EINVAL);
        TAP_CHECK(metric_inc(h, NULL) == -EINVAL);
        TAP_CHECK(metric_set(g, METRIC_LABELS("x"), 1) == -EINVAL);
        TAP_CHECK(metric_remove(c, METRIC_LABELS("never")) == -ENOENT);
        TAP_CHECK(metric_remove(g, NULL) == -ENOENT); /* the one series stays */

        _cleanup_free_ char *text = metrics_render(m);
        TAP_CHECK_HAS(text, "# TYPE podhook_c_total counter\n# HELP podhook_g g\n"); /* no series made */
        TAP_CHECK_HAS(text, "podhook_g 0\n");
}

static void test_remove_and_bound(void) {
        _cleanup_(metrics_freep) PhMetrics *m = metrics_new();
        PhMetric *r = NULL;
        char name[32];

        TAP_CHECK(metrics_add_counter(m, "restarts_total", "r", METRIC_LABELS("pod"), &r, NULL) == 0);
        TAP_CHECK(metric_inc(r, METRIC_LABELS("a")) == 0);
        TAP_CHECK(metric_inc(r, METRIC_LABELS("b")) == 0);
        TAP_CHECK(metric_inc(r, METRIC_LABELS("c")) == 0);
        TAP_CHECK(metric_remove(r, METRIC_LABELS("b")) == 0);
        {
                _cleanup_free_ char *text = metrics_render(m);
                TAP_CHECK_STR(text,
                              "# HELP podhook_restarts_total r\n# TYPE podhook_restarts_total counter\n"
                              "podhook_restarts_total{pod=\"a\"} 1\npodhook_restarts_total{pod=\"c\"} 1\n");
        }
        int r_all = 0;
        for (int i = 2; i < PH_METRICS_MAX_SERIES; i++) {
                snprintf(name, sizeof(name), "p%d", i);
                r_all |= metric_inc(r, METRIC_LABELS(name));
        }
        TAP_CHECK(r_all == 0);
        TAP_CHECK(metric_inc(r, METRIC_LABELS("one-too-many")) == -E2BIG);
        TAP_CHECK(metric_inc(r, METRIC_LABELS("a")) == 0); /* existing series still count */
        TAP_CHECK(metric_remove(r, METRIC_LABELS("a")) == 0);
        TAP_CHECK(metric_inc(r, METRIC_LABELS("one-too-many")) == 0);
}

typedef struct Counting {
        PhMetric *c;
        PhMetric *h;
} Counting;

static void *count_many(void *arg) {
        Counting *w = arg;
        for (int i = 0; i < 10000; i++) {
                (void) metric_inc(w->c, METRIC_LABELS(i % 2 ? "odd" : "even"));
                (void) metric_observe(w->h, NULL, 1);
        }
        return NULL;
}

static void test_threads(void) {
        _cleanup_(metrics_freep) PhMetrics *m = metrics_new();
        const double b[] = {1};
        Counting w = {0};
        pthread_t t[4];

        TAP_CHECK(metrics_add_counter(m, "n_total", "n", METRIC_LABELS("k"), &w.c, NULL) == 0);
        TAP_CHECK(metrics_add_histogram(m, "d", "d", NULL, b, 1, &w.h, NULL) == 0);
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                pthread_create(&t[i], NULL, count_many, &w);
        /* Rendering while they count: the lock keeps every text whole. */
        for (int i = 0; i < 20; i++)
                free(metrics_render(m));
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                pthread_join(t[i], NULL);
        _cleanup_free_ char *text = metrics_render(m);
        TAP_CHECK_HAS(text, "podhook_n_total{k=\"even\"} 20000\n");
        TAP_CHECK_HAS(text, "podhook_n_total{k=\"odd\"} 20000\n");
        TAP_CHECK_HAS(text, "podhook_d_count 40000\n");
        TAP_CHECK_HAS(text, "podhook_d_bucket{le=\"1\"} 40000\n");
}

int main(void) {
        test_counter_and_gauge();
        test_label_escaping();
        test_histogram();
        test_refusals();
        test_remove_and_bound();
        test_threads();
        return tap_done();
}
