/* The status store: deployments (listed, running, result, signal, pruned by source), pods (owner, last
 * apply, rollback), the event ring, metrics (counters, gauge, cumulative histogram buckets), the agent
 * summary and its STATUS= line, and readers on other threads while a writer goes on. */
#include <jansson.h>
#include <pthread.h>
#include <string.h>

#include "kubelet/convert.h"
#include "kubelet/kubelet-status.h"
#include "status.h"
#include "tap.h"

static const json_t *metric(const json_t *metrics, const char *name) {
        size_t i;
        const json_t *m;

        json_array_foreach(metrics, i,
                           m) if (strcmp(json_string_value(json_object_get(m, "name")), name) == 0) return m;
        return NULL;
}

typedef struct Reader {
        PhStatus *s;
        int rounds;
        bool ok;
} Reader;

static void *reader(void *p) {
        Reader *r = p;

        r->ok = true;
        for (int i = 0; i < r->rounds; i++) {
                json_auto_t *d = status_deployments_json(r->s), *e = status_events_json(r->s, 5),
                            *m = status_metrics_json(r->s), *pods = status_pods_json(r->s);
                _cleanup_free_ char *line = status_line(r->s);
                if (!json_is_array(d) || !json_is_array(e) || json_array_size(e) > 5 || !json_is_array(m) ||
                    !json_is_array(pods) || !line)
                        r->ok = false;
        }
        return NULL;
}

int main(void) {
        _cleanup_(status_freep) PhStatus *s = status_new(3);

        /* Before the first pass: not ready, and says so. */
        TAP_CHECK(!status_ready(s));
        _cleanup_free_ char *l0 = status_line(s);
        TAP_CHECK_STR(l0, "idle, 0 deployments, first pass running");

        status_deployment_listed(
                s,
                &(PhStatusDeployment){
                        .id = "d1", .name = "web", .group = "docker", .action = "CREATE", .source = "heat"},
                PH_STATUS_NEW);
        status_deployment_listed(s,
                                 &(PhStatusDeployment){.id = "dropin:web.yaml",
                                                       .name = "web",
                                                       .group = "docker",
                                                       .source = "dropin",
                                                       .file = "web.yaml"},
                                 PH_STATUS_NEW);
        json_auto_t *one = status_deployment_json(s, "d1");
        TAP_CHECK_STR(json_string_value(json_object_get(one, "state")), "new");
        TAP_CHECK(json_is_false(json_object_get(one, "signal_pending")));
        TAP_CHECK(status_deployment_json(s, "nope") == NULL);

        status_deployment_set_state(s, "d1", PH_STATUS_RUNNING);
        json_auto_t *running = status_deployment_json(s, "d1");
        TAP_CHECK_STR(json_string_value(json_object_get(running, "state")), "running");

        /* The result: state from the status code, the first line of stderr that is not blank. */
        json_auto_t *result = json_pack("{s:s, s:s, s:i}", "deploy_stdout", "[]", "deploy_stderr",
                                        "\n  pull failed: no such image\nmore\n", "deploy_status_code", 1);
        status_deployment_set_result(s, "d1", result);
        status_deployment_set_signal(s, "d1", true);
        json_auto_t *failed = status_deployment_json(s, "d1");
        TAP_CHECK_STR(json_string_value(json_object_get(failed, "state")), "failed");
        TAP_CHECK(json_integer_value(json_object_get(json_object_get(failed, "result"), "status_code")) == 1);
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(failed, "result"), "stderr")),
                      "pull failed: no such image");
        TAP_CHECK(json_is_true(json_object_get(failed, "signal_pending")));
        /* Listed again (a new pass): the result and state stay. */
        status_deployment_listed(
                s,
                &(PhStatusDeployment){
                        .id = "d1", .name = "web", .group = "docker", .action = "UPDATE", .source = "heat"},
                PH_STATUS_NEW);
        json_auto_t *again = status_deployment_json(s, "d1");
        TAP_CHECK_STR(json_string_value(json_object_get(again, "state")), "failed");
        TAP_CHECK_STR(json_string_value(json_object_get(again, "action")), "UPDATE");

        status_deployment_set_failure(s, "dropin:web.yaml", "web.yaml:3: containers[0].image: is required");
        json_auto_t *invalid = status_deployment_json(s, "dropin:web.yaml");
        TAP_CHECK_STR(json_string_value(json_object_get(invalid, "state")), "failed");
        TAP_CHECK_STR(json_string_value(json_object_get(invalid, "file")), "web.yaml");
        TAP_CHECK(json_is_null(json_object_get(json_object_get(invalid, "result"), "status_code")));

        /* Sorted by id; pruning touches only the source named. */
        json_auto_t *all = status_deployments_json(s);
        TAP_CHECK(json_array_size(all) == 2);
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(all, 0), "id")), "d1");
        json_auto_t *keep = json_object();
        status_deployments_keep(s, "heat", keep);
        json_auto_t *left = status_deployments_json(s);
        TAP_CHECK(json_array_size(left) == 1);
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(left, 0), "id")), "dropin:web.yaml");

        /* Pods: owner, last apply; a rollback stays until the next one. */
        status_deployment_listed(
                s, &(PhStatusDeployment){.id = "d2", .name = "db", .group = "docker", .source = "heat"},
                PH_STATUS_NEW);
        status_pod_owner(s, "db", "deployment", "d2");
        status_pod_applied(s, "db", 1, "pod db: start of db.db failed; rolled back: db.db runs", true);
        status_pod_applied(s, "db", 0, "pod db applied: kept db.db", false);
        status_pod_owner(s, "web", "dropin", "/etc/podhook/pods/web.yaml");
        json_auto_t *db = status_pod_json(s, "db");
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(db, "owner"), "id")), "d2");
        TAP_CHECK(json_integer_value(json_object_get(json_object_get(db, "last_apply"), "status_code")) == 0);
        TAP_CHECK(json_is_false(json_object_get(json_object_get(db, "last_apply"), "rolled_back")));
        TAP_CHECK_HAS(json_string_value(json_object_get(json_object_get(db, "rollback"), "summary")),
                      "rolled back");
        json_auto_t *d2 = status_deployment_json(s, "d2");
        TAP_CHECK_STR(json_string_value(json_object_get(d2, "pod")), "db");
        json_auto_t *web = status_pod_json(s, "web");
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(web, "owner"), "file")),
                      "/etc/podhook/pods/web.yaml");
        status_pod_remove(s, "db");
        json_auto_t *pods = status_pods_json(s);
        TAP_CHECK(json_array_size(pods) == 1 && status_pod_json(s, "db") == NULL);

        /* A kubelet pod: its phase and container states from the watch's last answer, the Pod kept apart
         * (it carries env values: never in the pod getters), found again after a restart without a state. */
        {
                json_auto_t *v1 =
                        json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:[{s:s, s:s}]}]}}", "apiVersion", "v1",
                                  "kind", "Pod", "metadata", "name", "kweb", "spec", "containers", "name",
                                  "app", "env", "name", "DB_PASSWORD", "value", "s3cret");
                json_auto_t *st = json_pack(
                        "{s:s, s:[{s:s, s:b, s:i, s:{s:{s:s}}}, {s:s, s:b, s:i, s:{s:{s:s}}}]}", "phase",
                        "Running", "containerStatuses", "name", "app", "ready", 1, "restartCount", 0, "state",
                        "running", "startedAt", "2026-01-01T00:00:00Z", "name", "side", "ready", 0,
                        "restartCount", 4, "state", "waiting", "reason", "CrashLoopBackOff");
                json_auto_t *brief = kubelet_status_brief(st);
                status_pod_kubelet(s, "kweb", v1, brief);
                json_auto_t *kp = status_pod_json(s, "kweb");
                const json_t *k = json_object_get(kp, "kubelet");
                TAP_CHECK_STR(json_string_value(json_object_get(kp, "backend")), "kubelet");
                TAP_CHECK_STR(json_string_value(json_object_get(k, "phase")), "Running");
                const json_t *c0 = json_array_get(json_object_get(k, "containers"), 0);
                const json_t *c1 = json_array_get(json_object_get(k, "containers"), 1);
                TAP_CHECK_STR(json_string_value(json_object_get(c0, "state")), "running");
                TAP_CHECK(json_is_true(json_object_get(c0, "ready")));
                TAP_CHECK_STR(json_string_value(json_object_get(c1, "state")), "waiting");
                TAP_CHECK_STR(json_string_value(json_object_get(c1, "reason")), "CrashLoopBackOff");
                TAP_CHECK(json_integer_value(json_object_get(c1, "restarts")) == 4);
                _cleanup_free_ char *text = json_dumps(kp, 0);
                TAP_CHECK(text && !strstr(text, "s3cret"));
                /* The listing after a restart: no state given, the known one stays. */
                status_pod_kubelet(s, "kweb", v1, NULL);
                json_auto_t *kp2 = status_pod_json(s, "kweb");
                TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(kp2, "kubelet"), "phase")),
                              "Running");
                status_pod_kubelet(s, "knew", v1, NULL);
                json_auto_t *kn = status_pod_json(s, "knew");
                TAP_CHECK(json_is_null(json_object_get(json_object_get(kn, "kubelet"), "phase")));
                json_auto_t *kpods = status_kubelet_pods_json(s);
                TAP_CHECK(json_array_size(kpods) == 2);
                json_auto_t *list = kubelet_pod_list(kpods);
                TAP_CHECK_STR(json_string_value(json_object_get(list, "kind")), "PodList");
                TAP_CHECK(json_array_size(json_object_get(list, "items")) == 2);
                status_pod_remove(s, "knew");
                status_pod_remove(s, "kweb");
                json_auto_t *kleft = status_kubelet_pods_json(s);
                TAP_CHECK(json_array_size(kleft) == 0);
        }

        /* Events: numbered, the ring keeps the latest 3. */
        for (int i = 0; i < 5; i++) {
                json_auto_t *e = json_pack("{s:s, s:i}", "kind", "deployment_failed", "n", i);
                status_event_add(s, e);
        }
        json_auto_t *events = status_events_json(s, 0);
        TAP_CHECK(json_array_size(events) == 3);
        TAP_CHECK(json_integer_value(json_object_get(json_array_get(events, 0), "n")) == 2);
        TAP_CHECK(json_integer_value(json_object_get(json_array_get(events, 2), "seq")) == 5);
        json_auto_t *latest = status_events_json(s, 1);
        TAP_CHECK(json_array_size(latest) == 1 &&
                  json_integer_value(json_object_get(json_array_get(latest, 0), "n")) == 4);

        /* Metrics. */
        status_counter_add(s, PH_STATUS_DEPLOYMENTS_APPLIED, 2);
        status_counter_add(s, PH_STATUS_POLL_ERRORS, 1);
        status_gauge_set(s, PH_STATUS_SIGNALS_PENDING, 4);
        status_observe(s, PH_STATUS_APPLY_SECONDS, 0.05);
        status_observe(s, PH_STATUS_APPLY_SECONDS, 3);
        status_observe(s, PH_STATUS_APPLY_SECONDS, 7200);
        json_auto_t *m = status_metrics_json(s);
        TAP_CHECK(json_integer_value(
                          json_object_get(metric(m, "podhook_deployments_applied_total"), "value")) == 2);
        TAP_CHECK(json_integer_value(json_object_get(metric(m, "podhook_poll_errors_total"), "value")) == 1);
        TAP_CHECK(json_integer_value(json_object_get(metric(m, "podhook_restarts_total"), "value")) == 0);
        TAP_CHECK(json_real_value(json_object_get(metric(m, "podhook_signals_pending"), "value")) == 4);
        TAP_CHECK_STR(json_string_value(json_object_get(metric(m, "podhook_signals_pending"), "type")),
                      "gauge");
        const json_t *h = metric(m, "podhook_apply_duration_seconds");
        TAP_CHECK(json_integer_value(json_object_get(h, "count")) == 3);
        TAP_CHECK(json_real_value(json_object_get(h, "sum")) > 7203 &&
                  json_real_value(json_object_get(h, "sum")) < 7204);
        const json_t *buckets = json_object_get(h, "buckets");
        /* Cumulative: le 0.1 has one, le 5 two, the last finite bucket still two, +Inf all three. */
        TAP_CHECK(json_integer_value(json_object_get(json_array_get(buckets, 0), "count")) == 1);
        TAP_CHECK(json_integer_value(json_object_get(json_array_get(buckets, 4), "count")) == 2);
        size_t nb = json_array_size(buckets);
        TAP_CHECK(json_integer_value(json_object_get(json_array_get(buckets, nb - 2), "count")) == 2);
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(buckets, nb - 1), "le")), "+Inf");
        TAP_CHECK(json_integer_value(json_object_get(json_array_get(buckets, nb - 1), "count")) == 3);
        size_t i;
        const json_t *one_metric;
        bool named = true;
        json_array_foreach(m, i, one_metric) named =
                named &&
                strncmp(json_string_value(json_object_get(one_metric, "name")), "podhook_", 8) == 0 &&
                json_string_value(json_object_get(one_metric, "help"));
        TAP_CHECK(named);

        /* The agent summary and STATUS= line. */
        status_set_sources(s, 2, "/etc/podhook/pods");
        status_pass_done(s, true, NULL);
        TAP_CHECK(status_ready(s));
        _cleanup_free_ char *l1 = status_line(s);
        TAP_CHECK_STR(l1, "polling 2 sources and drop-ins, 2 deployments, last pass ok");
        status_set_sources(s, 0, "/etc/podhook/pods");
        status_pass_done(s, false, "heat: connection refused\nsecond line");
        _cleanup_free_ char *l2 = status_line(s);
        TAP_CHECK_STR(l2, "watching drop-ins, 2 deployments, last pass: heat: connection refused");
        json_auto_t *agent = status_agent_json(s);
        TAP_CHECK(json_is_true(json_object_get(agent, "ready")));
        TAP_CHECK(json_integer_value(json_object_get(agent, "pods")) == 1);
        TAP_CHECK_STR(json_string_value(json_object_get(agent, "dropin")), "/etc/podhook/pods");
        TAP_CHECK(json_is_string(json_object_get(agent, "started")));

        /* Readers on other threads while this one writes: every snapshot is whole (ASan/TSan-clean). */
        Reader r1 = {.s = s, .rounds = 2000}, r2 = {.s = s, .rounds = 2000};
        pthread_t t1, t2;
        TAP_CHECK(pthread_create(&t1, NULL, reader, &r1) == 0 && pthread_create(&t2, NULL, reader, &r2) == 0);
        for (int k = 0; k < 2000; k++) {
                char id[32];
                snprintf(id, sizeof(id), "x%d", k % 50);
                status_deployment_listed(s, &(PhStatusDeployment){.id = id, .source = "heat"}, PH_STATUS_NEW);
                status_deployment_set_result(s, id, result);
                json_auto_t *e = json_pack("{s:s}", "kind", "rolled_back");
                status_event_add(s, e);
                status_counter_add(s, PH_STATUS_DEPLOYMENTS_FAILED, 1);
                status_observe(s, PH_STATUS_APPLY_SECONDS, k % 7);
                status_pod_applied(s, id, 0, "ok", false);
        }
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        TAP_CHECK(r1.ok && r2.ok);
        json_auto_t *m2 = status_metrics_json(s);
        TAP_CHECK(json_integer_value(
                          json_object_get(metric(m2, "podhook_deployments_failed_total"), "value")) == 2000);
        return tap_done();
}
