/* status.h: JSON objects kept under one mutex; a getter copies what it returns before it lets go. */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/deployment.h"
#include "metrics.h"
#include "status.h"

/* Upper bounds of the apply duration's buckets, seconds: from a re-apply that changes nothing to a
 * slow pull. */
static const double apply_buckets[] = {0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800};
#define N_BUCKETS ELEMENTSOF(apply_buckets)

typedef struct Histogram {
        uint64_t buckets[N_BUCKETS]; /* not cumulative; the +Inf bucket is count */
        double sum;
        uint64_t count;
} Histogram;

struct PhStatus {
        pthread_mutex_t lock;
        json_t *deployments; /* id -> object */
        json_t *pods;        /* name -> object */
        json_t *kubelet_v1;  /* pod name -> its v1 Pod (backend kubelet); apart: never in a pod's object */
        json_t *events;      /* oldest first */
        size_t max_events;
        uint64_t seq;
        uint64_t counters[_PH_STATUS_COUNTER_MAX];
        double gauges[_PH_STATUS_GAUGE_MAX];
        Histogram histograms[_PH_STATUS_HISTOGRAM_MAX];
        json_t *agent;   /* ready, started, sources, dropin, last_pass */
        json_t *secrets; /* deployment id -> [values its results must not carry]; never in a getter */
        /* The same numbers as counters, gauges and histograms, in the registry /metrics renders. */
        PhMetrics *metrics;
        PhMetric *metric_counters[_PH_STATUS_COUNTER_MAX];
        PhMetric *metric_gauges[_PH_STATUS_GAUGE_MAX];
        PhMetric *metric_histograms[_PH_STATUS_HISTOGRAM_MAX];
};

static const struct {
        const char *name, *help;
} counter_info[_PH_STATUS_COUNTER_MAX] = {
        [PH_STATUS_DEPLOYMENTS_APPLIED] = {"podhook_deployments_applied_total",
                                           "Deployments whose hook ran and succeeded."},
        [PH_STATUS_DEPLOYMENTS_FAILED] = {"podhook_deployments_failed_total",
                                          "Deployments that failed or could not run."},
        [PH_STATUS_DEPLOYMENTS_ROLLED_BACK] = {"podhook_deployments_rolled_back_total",
                                               "Pod updates that failed and were undone."},
        [PH_STATUS_SIGNALS_DELIVERED] = {"podhook_signals_delivered_total",
                                         "Results the signal transport took."},
        [PH_STATUS_POLL_ERRORS] = {"podhook_poll_errors_total", "Polls of a metadata source that failed."},
        [PH_STATUS_PROBE_FAILURES] = {"podhook_probe_failures_total", "Liveness probes that failed."},
        [PH_STATUS_RESTARTS] = {"podhook_restarts_total", "Containers the agent restarted or recreated."},
        [PH_STATUS_EVENTS_DROPPED] = {"podhook_notify_dropped_total",
                                      "Events the notify command never got (its queue was full)."},
};

static const struct {
        const char *name, *help;
} gauge_info[_PH_STATUS_GAUGE_MAX] = {
        [PH_STATUS_SIGNALS_PENDING] = {"podhook_signals_pending", "Results waiting in the outbox."},
};

static const struct {
        const char *name, *help;
} histogram_info[_PH_STATUS_HISTOGRAM_MAX] = {
        [PH_STATUS_APPLY_SECONDS] = {"podhook_apply_duration_seconds",
                                     "How long each deployment's hook ran."},
};

const char *status_state_to_string(PhStatusState s) {
        switch (s) {
        case PH_STATUS_NEW:
                return "new";
        case PH_STATUS_RUNNING:
                return "running";
        case PH_STATUS_DONE:
                return "done";
        case PH_STATUS_FAILED:
                return "failed";
        }
        return "unknown";
}

static json_t *now_json(void) {
        char buf[32];
        time_t t = time(NULL);
        struct tm tm;

        (void) gmtime_r(&t, &tm);
        (void) strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return json_string(buf);
}

static json_t *str_or_null(const char *s) {
        json_t *v = s ? json_string(s) : NULL;

        return v ? v : json_null();
}

PhStatus *status_new(size_t max_events) {
        PhStatus *s = xcalloc(1, sizeof(*s));

        (void) pthread_mutex_init(&s->lock, NULL);
        s->deployments = json_object();
        s->pods = json_object();
        s->kubelet_v1 = json_object();
        s->events = json_array();
        s->max_events = max_events ? max_events : STATUS_DEFAULT_EVENTS;
        s->agent = json_pack("{s:b, s:o, s:i, s:n}", "ready", false, "started", now_json(), "sources", 0,
                             "dropin");
        s->secrets = json_object();
        s->metrics = metrics_new();
        /* The names are fixed and valid: a registration cannot fail. */
        for (size_t i = 0; i < _PH_STATUS_COUNTER_MAX; i++)
                (void) metrics_add_counter(s->metrics, counter_info[i].name + strlen(PH_METRICS_PREFIX),
                                           counter_info[i].help, NULL, &s->metric_counters[i], NULL);
        for (size_t i = 0; i < _PH_STATUS_GAUGE_MAX; i++)
                (void) metrics_add_gauge(s->metrics, gauge_info[i].name + strlen(PH_METRICS_PREFIX),
                                         gauge_info[i].help, NULL, &s->metric_gauges[i], NULL);
        for (size_t i = 0; i < _PH_STATUS_HISTOGRAM_MAX; i++)
                (void) metrics_add_histogram(s->metrics, histogram_info[i].name + strlen(PH_METRICS_PREFIX),
                                             histogram_info[i].help, NULL, apply_buckets, N_BUCKETS,
                                             &s->metric_histograms[i], NULL);
        return s;
}

PhStatus *status_free(PhStatus *s) {
        if (!s)
                return NULL;
        json_decref(s->deployments);
        json_decref(s->pods);
        json_decref(s->kubelet_v1);
        json_decref(s->events);
        json_decref(s->agent);
        json_decref(s->secrets);
        metrics_free(s->metrics);
        (void) pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
}

static void lock(PhStatus *s) {
        (void) pthread_mutex_lock(&s->lock);
}

static void unlock(PhStatus *s) {
        (void) pthread_mutex_unlock(&s->lock);
}

void status_deployment_listed(PhStatus *s, const PhStatusDeployment *d, PhStatusState initial) {
        if (!d->id)
                return;
        lock(s);
        json_t *o = json_object_get(s->deployments, d->id);
        if (!o) {
                o = json_pack("{s:s, s:s, s:b}", "id", d->id, "state", status_state_to_string(initial),
                              "signal_pending", false);
                json_object_set_new(s->deployments, d->id, o);
        }
        json_object_set_new(o, "name", str_or_null(d->name));
        json_object_set_new(o, "group", json_string(d->group ? d->group : "Heat::Ungrouped"));
        json_object_set_new(o, "action", json_string(d->action ? d->action : "CREATE"));
        json_object_set_new(o, "source", str_or_null(d->source));
        if (d->file)
                json_object_set_new(o, "file", json_string(d->file));
        unlock(s);
}

void status_deployment_set_state(PhStatus *s, const char *id, PhStatusState state) {
        lock(s);
        json_t *o = json_object_get(s->deployments, id);
        if (o)
                json_object_set_new(o, "state", json_string(status_state_to_string(state)));
        unlock(s);
}

/* The first line of text that is not blank, cut to a sensible length for a listing. */
static json_t *first_line(const char *text) {
        _cleanup_free_ char *line = deployment_first_line(text, 300);
        json_t *v = json_string(line);

        return v ? v : json_string("(a text that is not UTF-8)");
}

void status_deployment_set_result(PhStatus *s, const char *id, const json_t *result) {
        const json_t *code = json_object_get(result, "deploy_status_code");
        bool failed = deployment_result_failed(result);

        lock(s);
        json_t *o = json_object_get(s->deployments, id);
        if (o) {
                json_t *summary =
                        json_pack("{s:O?, s:o, s:o}", "status_code", code, "stderr",
                                  first_line(json_string_value(json_object_get(result, "deploy_stderr"))),
                                  "time", now_json());
                json_object_set_new(o, "result", summary);
                json_object_set_new(
                        o, "state",
                        json_string(status_state_to_string(failed ? PH_STATUS_FAILED : PH_STATUS_DONE)));
        }
        unlock(s);
}

void status_deployment_set_failure(PhStatus *s, const char *id, const char *message) {
        lock(s);
        json_t *o = json_object_get(s->deployments, id);
        if (o) {
                json_object_set_new(o, "result",
                                    json_pack("{s:n, s:o, s:o}", "status_code", "stderr", first_line(message),
                                              "time", now_json()));
                json_object_set_new(o, "state", json_string(status_state_to_string(PH_STATUS_FAILED)));
        }
        unlock(s);
}

void status_deployment_set_signal(PhStatus *s, const char *id, bool pending) {
        lock(s);
        json_t *o = json_object_get(s->deployments, id);
        if (o)
                json_object_set_new(o, "signal_pending", json_boolean(pending));
        unlock(s);
}

void status_deployments_keep(PhStatus *s, const char *source, const json_t *ids) {
        const char *id;
        json_t *o;
        void *tmp;

        lock(s);
        json_object_foreach_safe(s->deployments, tmp, id, o) {
                const char *src = json_string_value(json_object_get(o, "source"));
                if (src && source && strcmp(src, source) == 0 && !json_object_get(ids, id)) {
                        (void) json_object_del(s->secrets, id);
                        json_object_del(s->deployments, id);
                }
        }
        unlock(s);
}

void status_deployment_set_secrets(PhStatus *s, const char *id, char *const *values) {
        json_t *list = json_array();

        for (char *const *v = values; v && *v; v++)
                if (**v)
                        json_array_append_new(list, json_string(*v));
        lock(s);
        if (json_array_size(list) > 0)
                json_object_set(s->secrets, id, list);
        else
                (void) json_object_del(s->secrets, id);
        unlock(s);
        json_decref(list);
}

char **status_secret_values(PhStatus *s) {
        char **out = xcalloc(1, sizeof(char *));
        size_t n = 0, i;
        const char *id;
        json_t *list, *v;

        lock(s);
        json_object_foreach(s->secrets, id, list) {
                json_array_foreach(list, i, v) {
                        out = xrealloc(out, (n + 2) * sizeof(char *));
                        out[n++] = xstrdup(json_string_value(v));
                        out[n] = NULL;
                }
        }
        unlock(s);
        return out;
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The values of an object, sorted by key, copied. */
static json_t *sorted_values(const json_t *map) {
        size_t n = json_object_size(map), i = 0;
        _cleanup_free_ const char **keys = xcalloc(n + 1, sizeof(char *));
        const char *k;
        json_t *v;
        json_t *out = json_array();

        json_object_foreach((json_t *) map, k, v) keys[i++] = k;
        qsort(keys, n, sizeof(char *), cmp_str);
        for (i = 0; i < n; i++)
                json_array_append_new(out, json_deep_copy(json_object_get(map, keys[i])));
        return out;
}

/* A copy of the whole map (key NULL: as a sorted list) or of one value, NULL when it is not there. */
static json_t *snapshot(PhStatus *s, const json_t *map, const char *key) {
        lock(s);
        const json_t *o = key ? json_object_get(map, key) : NULL;
        json_t *out = !key ? sorted_values(map) : o ? json_deep_copy(o) : NULL;
        unlock(s);
        return out;
}

json_t *status_deployments_json(PhStatus *s) {
        return snapshot(s, s->deployments, NULL);
}

json_t *status_deployment_json(PhStatus *s, const char *id) {
        return id ? snapshot(s, s->deployments, id) : NULL;
}

/* The pod's object, made when it is new; under the lock. */
static json_t *pod_entry(PhStatus *s, const char *pod) {
        json_t *o = json_object_get(s->pods, pod);

        if (!o) {
                o = json_pack("{s:s}", "name", pod);
                json_object_set_new(s->pods, pod, o);
        }
        return o;
}

void status_pod_owner(PhStatus *s, const char *pod, const char *kind, const char *owner) {
        bool dropin = kind && strcmp(kind, "dropin") == 0;

        if (!pod)
                return;
        lock(s);
        json_t *o = pod_entry(s, pod);
        json_object_set_new(o, "owner",
                            json_pack("{s:s, s:o}", "kind", kind ? kind : "deployment",
                                      dropin ? "file" : "id", str_or_null(owner)));
        json_t *d = !dropin && owner ? json_object_get(s->deployments, owner) : NULL;
        if (d)
                json_object_set_new(d, "pod", json_string(pod));
        unlock(s);
}

void status_pod_applied(PhStatus *s, const char *pod, int status_code, const char *summary,
                        bool rolled_back) {
        if (!pod)
                return;
        lock(s);
        json_t *o = pod_entry(s, pod);
        json_object_set_new(o, "last_apply",
                            json_pack("{s:i, s:o, s:b, s:o}", "status_code", status_code, "summary",
                                      summary ? first_line(summary) : json_null(), "rolled_back", rolled_back,
                                      "time", now_json()));
        if (rolled_back)
                json_object_set_new(o, "rollback",
                                    json_pack("{s:o, s:o}", "time", now_json(), "summary",
                                              summary ? first_line(summary) : json_null()));
        unlock(s);
}

void status_pod_kubelet(PhStatus *s, const char *pod, const json_t *v1, const json_t *state) {
        if (!pod)
                return;
        lock(s);
        json_t *o = pod_entry(s, pod);
        json_object_set_new(o, "backend", json_string("kubelet"));
        const json_t *containers = json_object_get(state, "containers");
        if (state)
                json_object_set_new(o, "kubelet",
                                    json_pack("{s:O?, s:o, s:o}", "phase", json_object_get(state, "phase"),
                                              "containers",
                                              containers ? json_deep_copy(containers) : json_array(), "time",
                                              now_json()));
        else if (!json_object_get(o, "kubelet"))
                json_object_set_new(o, "kubelet",
                                    json_pack("{s:n, s:[], s:n}", "phase", "containers", "time"));
        if (v1)
                json_object_set_new(s->kubelet_v1, pod, json_deep_copy(v1));
        unlock(s);
}

void status_pod_observed(PhStatus *s, const char *pod, const json_t *containers, const char *broken) {
        if (!pod)
                return;
        lock(s);
        json_t *o = pod_entry(s, pod);
        json_object_set_new(o, "containers", json_deep_copy(containers));
        json_object_set_new(o, "observed", now_json());
        json_object_set_new(o, "broken", str_or_null(broken));
        unlock(s);
}

void status_pod_remove(PhStatus *s, const char *pod) {
        lock(s);
        (void) json_object_del(s->pods, pod);
        (void) json_object_del(s->kubelet_v1, pod);
        unlock(s);
}

json_t *status_kubelet_pods_json(PhStatus *s) {
        return snapshot(s, s->kubelet_v1, NULL);
}

json_t *status_pods_json(PhStatus *s) {
        return snapshot(s, s->pods, NULL);
}

json_t *status_pod_json(PhStatus *s, const char *pod) {
        return pod ? snapshot(s, s->pods, pod) : NULL;
}

void status_event_add(PhStatus *s, const json_t *event) {
        json_t *e = json_deep_copy(event);

        if (!json_is_object(e)) {
                json_decref(e);
                return;
        }
        lock(s);
        json_object_set_new(e, "seq", json_integer((json_int_t) ++s->seq));
        while (json_array_size(s->events) >= s->max_events)
                (void) json_array_remove(s->events, 0);
        json_array_append_new(s->events, e);
        unlock(s);
}

json_t *status_events_json(PhStatus *s, size_t limit) {
        json_t *out = json_array();

        lock(s);
        size_t n = json_array_size(s->events);
        size_t from = limit && limit < n ? n - limit : 0;
        for (size_t i = from; i < n; i++)
                json_array_append_new(out, json_deep_copy(json_array_get(s->events, i)));
        unlock(s);
        return out;
}

void status_counter_add(PhStatus *s, PhStatusCounter c, uint64_t n) {
        if ((unsigned) c >= _PH_STATUS_COUNTER_MAX)
                return;
        lock(s);
        s->counters[c] += n;
        unlock(s);
        (void) metric_add(s->metric_counters[c], NULL, (double) n);
}

void status_gauge_set(PhStatus *s, PhStatusGauge g, double v) {
        if ((unsigned) g >= _PH_STATUS_GAUGE_MAX)
                return;
        lock(s);
        s->gauges[g] = v;
        unlock(s);
        (void) metric_set(s->metric_gauges[g], NULL, v);
}

void status_observe(PhStatus *s, PhStatusHistogram h, double v) {
        if ((unsigned) h >= _PH_STATUS_HISTOGRAM_MAX)
                return;
        lock(s);
        Histogram *x = &s->histograms[h];
        for (size_t i = 0; i < N_BUCKETS; i++)
                if (v <= apply_buckets[i]) {
                        x->buckets[i]++;
                        break;
                }
        x->sum += v;
        x->count++;
        unlock(s);
        (void) metric_observe(s->metric_histograms[h], NULL, v);
}

json_t *status_metrics_json(PhStatus *s) {
        json_t *out = json_array();

        lock(s);
        for (size_t i = 0; i < _PH_STATUS_COUNTER_MAX; i++)
                json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:I}", "name", counter_info[i].name,
                                                     "type", "counter", "help", counter_info[i].help, "value",
                                                     (json_int_t) s->counters[i]));
        for (size_t i = 0; i < _PH_STATUS_GAUGE_MAX; i++)
                json_array_append_new(out,
                                      json_pack("{s:s, s:s, s:s, s:f}", "name", gauge_info[i].name, "type",
                                                "gauge", "help", gauge_info[i].help, "value", s->gauges[i]));
        for (size_t i = 0; i < _PH_STATUS_HISTOGRAM_MAX; i++) {
                const Histogram *x = &s->histograms[i];
                json_t *buckets = json_array();
                uint64_t cum = 0;
                for (size_t b = 0; b < N_BUCKETS; b++) {
                        cum += x->buckets[b];
                        json_array_append_new(buckets, json_pack("{s:f, s:I}", "le", apply_buckets[b],
                                                                 "count", (json_int_t) cum));
                }
                json_array_append_new(buckets,
                                      json_pack("{s:s, s:I}", "le", "+Inf", "count", (json_int_t) x->count));
                json_array_append_new(out, json_pack("{s:s, s:s, s:s, s:o, s:f, s:I}", "name",
                                                     histogram_info[i].name, "type", "histogram", "help",
                                                     histogram_info[i].help, "buckets", buckets, "sum",
                                                     x->sum, "count", (json_int_t) x->count));
        }
        unlock(s);
        return out;
}

char *status_metrics_text(PhStatus *s) {
        return metrics_render(s->metrics);
}

void status_set_sources(PhStatus *s, size_t n_sources, const char *dropin_dir) {
        lock(s);
        json_object_set_new(s->agent, "sources", json_integer((json_int_t) n_sources));
        json_object_set_new(s->agent, "dropin", str_or_null(dropin_dir));
        unlock(s);
}

void status_pass_done(PhStatus *s, bool ok, const char *message) {
        lock(s);
        json_t *p = json_pack("{s:o, s:b}", "time", now_json(), "ok", ok);
        if (message)
                json_object_set_new(p, "message", first_line(message));
        json_object_set_new(s->agent, "last_pass", p);
        json_object_set_new(s->agent, "ready", json_true());
        unlock(s);
}

bool status_ready(PhStatus *s) {
        lock(s);
        bool ready = json_is_true(json_object_get(s->agent, "ready"));
        unlock(s);
        return ready;
}

json_t *status_agent_json(PhStatus *s) {
        lock(s);
        json_t *out = json_deep_copy(s->agent);
        json_object_set_new(out, "deployments", json_integer((json_int_t) json_object_size(s->deployments)));
        json_object_set_new(out, "pods", json_integer((json_int_t) json_object_size(s->pods)));
        unlock(s);
        return out;
}

char *status_line(PhStatus *s) {
        json_auto_t *a = status_agent_json(s);
        json_int_t sources = json_integer_value(json_object_get(a, "sources"));
        json_int_t deployments = json_integer_value(json_object_get(a, "deployments"));
        const json_t *last = json_object_get(a, "last_pass");
        bool dropin = json_is_string(json_object_get(a, "dropin"));
        _cleanup_free_ char *what = NULL, *pass = NULL;

        if (sources > 0)
                what = xasprintf("polling %" JSON_INTEGER_FORMAT " source%s%s", sources,
                                 sources == 1 ? "" : "s", dropin ? " and drop-ins" : "");
        else
                what = xstrdup(dropin ? "watching drop-ins" : "idle");
        if (!last)
                pass = xstrdup("first pass running");
        else if (json_is_true(json_object_get(last, "ok")))
                pass = xstrdup("last pass ok");
        else {
                const char *m = json_string_value(json_object_get(last, "message"));
                pass = m ? xasprintf("last pass: %s", m) : xstrdup("last pass incomplete");
        }
        return xasprintf("%s, %" JSON_INTEGER_FORMAT " deployment%s, %s", what, deployments,
                         deployments == 1 ? "" : "s", pass);
}
