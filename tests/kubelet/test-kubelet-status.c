/* The kubelet's /pods answer read for one static pod (kubelet_status_decide), from a table of answers as a
 * kubelet gives them; the hook's options; and the PodList builder (its Pods' schema is checked by
 * kubelet-backend.sh on the output of `--dump FILE`). */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kubelet/convert.h"
#include "kubelet/hook-kubelet.h"
#include "kubelet/kubelet-status.h"
#include "kubelet/static-dir.h"
#include "tap.h"

#define HASH            "sha256-aaaa"
#define ANN             "{\"io.podhook/pod\": \"web\", \"io.podhook/spec-hash\": \"" HASH "\"}"
#define META(name, ann) "\"metadata\": {\"name\": \"" name "\", \"annotations\": " ann "}"
#define SPEC(policy)    "\"spec\": {\"restartPolicy\": \"" policy "\", \"containers\": [{\"name\": \"app\"}]}"
#define RUNNING_READY                                                                                        \
        "{\"name\": \"app\", \"ready\": true, \"imageID\": \"docker://sha256:1\", \"state\": {\"running\": " \
        "{}}}"
#define POD(ann, policy, phase, cs)                                                                          \
        "{" META("web-node1", ann) ", " SPEC(policy) ", \"status\": {\"phase\": \"" phase                    \
                                                     "\", \"containerStatuses\": [" cs "]}}"
#define LIST(...) "{\"kind\": \"PodList\", \"items\": [" __VA_ARGS__ "]}"

static void test_decide(void) {
        static const struct {
                const char *what, *list;
                PhKubeletState state;
                bool pulled;
                const char *reason; /* a part of it */
        } t[] = {
                {"running and ready", LIST(POD(ANN, "Always", "Running", RUNNING_READY)), KUBELET_POD_READY,
                 true, "1 container(s) ready"},
                {"running, not ready",
                 LIST(POD(ANN, "Always", "Running",
                          "{\"name\": \"app\", \"ready\": false, \"imageID\": \"x\", \"state\": "
                          "{\"running\": {}}}")),
                 KUBELET_POD_PENDING, true, "container app is running, not ready"},
                {"pending, creating",
                 LIST(POD(ANN, "Always", "Pending",
                          "{\"name\": \"app\", \"ready\": false, \"imageID\": \"\", \"state\": {\"waiting\": "
                          "{\"reason\": \"ContainerCreating\"}}}")),
                 KUBELET_POD_PENDING, false, "waiting: ContainerCreating"},
                {"pending, no container status", LIST(POD(ANN, "Always", "Pending", "")), KUBELET_POD_PENDING,
                 false, "0 of 1 container status"},
                {"crash loop",
                 LIST(POD(ANN, "Always", "Running",
                          "{\"name\": \"app\", \"ready\": false, \"imageID\": \"x\", \"restartCount\": 4, "
                          "\"state\": "
                          "{\"waiting\": {\"reason\": \"CrashLoopBackOff\", \"message\": \"back-off 40s\"}}, "
                          "\"lastState\": {\"terminated\": {\"exitCode\": 3}}}")),
                 KUBELET_POD_FAILED, true,
                 "container app: CrashLoopBackOff (last exit code 3, 4 restart(s)): back-off 40s"},
                {"image pull",
                 LIST(POD(ANN, "Always", "Pending",
                          "{\"name\": \"app\", \"ready\": false, \"imageID\": \"\", \"state\": {\"waiting\": "
                          "{\"reason\": \"ErrImagePull\", \"message\": \"not found\"}}}")),
                 KUBELET_POD_FAILED, false, "container app: ErrImagePull: not found"},
                {"image pull back-off",
                 LIST(POD(ANN, "Always", "Pending",
                          "{\"name\": \"app\", \"ready\": false, \"imageID\": \"\", \"state\": {\"waiting\": "
                          "{\"reason\": \"ImagePullBackOff\"}}}")),
                 KUBELET_POD_FAILED, false, "ImagePullBackOff"},
                {"terminated in an Always pod",
                 LIST(POD(ANN, "Always", "Running",
                          "{\"name\": \"app\", \"ready\": false, \"imageID\": \"x\", \"state\": "
                          "{\"terminated\": "
                          "{\"exitCode\": 0, \"reason\": \"Completed\"}}}")),
                 KUBELET_POD_FAILED, true,
                 "terminated (exit code 0, Completed) in a pod that restarts always"},
                {"terminated in a Never pod, still running",
                 LIST(POD(ANN, "Never", "Running",
                          "{\"name\": \"app\", \"ready\": false, \"imageID\": \"x\", \"state\": "
                          "{\"terminated\": "
                          "{\"exitCode\": 0}}}")),
                 KUBELET_POD_PENDING, true, "container app terminated (exit code 0)"},
                {"succeeded", LIST(POD(ANN, "Never", "Succeeded", "")), KUBELET_POD_SUCCEEDED, false,
                 "succeeded"},
                {"phase Failed",
                 "{\"items\": [{" META("web-node1", ANN) ", " SPEC(
                         "Never") ", \"status\": {\"phase\": \"Failed\", "
                                  "\"reason\": \"Evicted\", \"message\": \"low on\\nmemory\"}}]}",
                 KUBELET_POD_FAILED, false, "pod web failed: Evicted: low on memory"},
                {"the old version",
                 LIST(POD("{\"io.podhook/pod\": \"web\", \"io.podhook/spec-hash\": \"sha256-old\"}", "Always",
                          "Running", RUNNING_READY)),
                 KUBELET_POD_PENDING, false, "previous version of pod web (spec hash sha256-old)"},
                {"another podhook pod's",
                 LIST(POD("{\"io.podhook/pod\": \"web2\", \"io.podhook/spec-hash\": \"" HASH "\"}", "Always",
                          "Running", RUNNING_READY)),
                 KUBELET_POD_ABSENT, false, "has not read the file"},
                {"the name without the annotation", LIST(POD("{}", "Always", "Running", RUNNING_READY)),
                 KUBELET_POD_ABSENT, false, "has not read the file"},
                {"the annotation on another name",
                 "{\"items\": [{" META("webshop-node1", ANN) ", " SPEC(
                         "Always") ", \"status\": {\"phase\": \"Running\", "
                                   "\"containerStatuses\": [" RUNNING_READY "]}}]}",
                 KUBELET_POD_ABSENT, false, "has not read the file"},
                {"an empty list", "{\"kind\": \"PodList\", \"items\": null}", KUBELET_POD_ABSENT, false,
                 "yet"},
                {"not a PodList", "{\"kind\": \"Status\", \"items\": 3}", KUBELET_POD_ABSENT, false,
                 "not a PodList"},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                json_error_t jerr;
                json_auto_t *list = json_loads(t[i].list, 0, &jerr);
                PhKubeletVerdict v;
                if (!list)
                        printf("# table entry %zu: %s (column %d)\n", i, jerr.text, jerr.column);
                kubelet_status_decide(list, "web", "web", HASH, &v);
                printf("# %s: %s: %s\n", t[i].what, kubelet_state_to_string(v.state), v.reason);
                TAP_CHECK(list && v.state == t[i].state && v.images_pulled == t[i].pulled);
                TAP_CHECK_HAS(v.reason, t[i].reason);
                TAP_CHECK(!strchr(v.reason, '\n'));
                TAP_CHECK((v.pod != NULL) ==
                          (t[i].state != KUBELET_POD_ABSENT && !strstr(t[i].what, "old version")));
                kubelet_verdict_done(&v);
        }
}

static void test_options(void) {
        static const struct {
                const char *json;
                int r;
                long images, containers, poll;
                const char *err;
        } t[] = {
                {"{}", 0, 0, 0, 0, NULL},
                {"null", 0, 0, 0, 0, NULL},
                {"{\"images_timeout\": 30, \"containers_timeout\": 2.5, \"poll_period\": 0.2}", 0, 30000,
                 2500, 200, NULL},
                {"{\"poll_perod\": 1}", -EINVAL, 0, 0, 0, "options.poll_perod: unknown option"},
                {"{\"images_timeout\": \"30\"}", -EINVAL, 0, 0, 0,
                 "options.images_timeout: must be a number"},
                {"{\"containers_timeout\": 0}", -EINVAL, 0, 0, 0,
                 "options.containers_timeout: must be a number"},
                {"{\"poll_period\": -1}", -EINVAL, 0, 0, 0, "options.poll_period"},
                {"{\"poll_period\": 1e9}", -EINVAL, 0, 0, 0, "at most 604800"},
                {"[1]", -EINVAL, 0, 0, 0, "options: must be a map, not a list"},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                json_auto_t *o = json_loads(t[i].json, JSON_DECODE_ANY, NULL);
                _cleanup_error_ PhError *err = NULL;
                PhKubeletWait w = {};
                int r = kubelet_hook_options(o, &w, &err);
                TAP_CHECK(r == t[i].r);
                if (t[i].err)
                        TAP_CHECK_HAS(ph_error_msg(err), t[i].err);
                else
                        TAP_CHECK(w.images_timeout_ms == t[i].images &&
                                  w.containers_timeout_ms == t[i].containers &&
                                  w.poll_period_ms == t[i].poll);
        }
}

static void test_names(void) {
        _cleanup_free_ char *f = static_dir_file_name("web.shop"), *n = NULL;

        TAP_CHECK_STR(f, "podhook-web.shop.yaml");
        TAP_CHECK(!static_dir_file_name("../x"));
        TAP_CHECK(!static_dir_file_name("Web"));
        TAP_CHECK(static_dir_name_is_ours("podhook-web.yaml", &n));
        TAP_CHECK_STR(n, "web");
        TAP_CHECK(!static_dir_name_is_ours("podhook-web.yaml.bak", NULL));
        TAP_CHECK(!static_dir_name_is_ours("podhook-.yaml", NULL));
        TAP_CHECK(!static_dir_name_is_ours(".podhook-web.yaml", NULL));
        TAP_CHECK(!static_dir_name_is_ours("another.yaml", NULL));
        TAP_CHECK(!static_dir_name_is_ours("podhook-Web.yaml", NULL));
}

static json_t *pod_named(const char *name) {
        return json_pack("{s:s, s:s, s:{s:s}, s:{s:[{s:s, s:s}]}}", "apiVersion", "v1", "kind", "Pod",
                         "metadata", "name", name, "spec", "containers", "name", "app", "image", "busybox");
}

static void test_pod_list(void) {
        json_auto_t *pods = json_pack("[o, o]", pod_named("zeta"), pod_named("alpha"));
        json_auto_t *list = kubelet_pod_list(pods);
        json_auto_t *empty_in = json_array();
        json_auto_t *empty = kubelet_pod_list(empty_in);

        TAP_CHECK_STR(json_string_value(json_object_get(list, "kind")), "PodList");
        TAP_CHECK_STR(json_string_value(json_object_get(list, "apiVersion")), "v1");
        TAP_CHECK(json_is_object(json_object_get(list, "metadata")));
        TAP_CHECK(json_array_size(json_object_get(list, "items")) == 2);
        TAP_CHECK_STR(json_string_value(json_object_get(
                              json_object_get(json_array_get(json_object_get(list, "items"), 0), "metadata"),
                              "name")),
                      "alpha");
        /* Copies: changing the list leaves the Pods as they were. */
        json_object_set_new(json_object_get(json_array_get(json_object_get(list, "items"), 0), "metadata"),
                            "name", json_string("changed"));
        TAP_CHECK_STR(json_string_value(
                              json_object_get(json_object_get(json_array_get(pods, 1), "metadata"), "name")),
                      "alpha");
        TAP_CHECK(json_array_size(json_object_get(empty, "items")) == 0);
}

static double seconds(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* A cancel fd that is readable ends the wait at once, whatever the timeouts; a kubelet that refuses is a
 * failed verdict (not an error) once the time is up. */
static void test_watch_cancel_and_refused(void) {
        int p[2];
        TAP_CHECK(pipe(p) == 0);
        TAP_CHECK(write(p[1], "x", 1) == 1);
        PhHttpCancel cancel = {.fd = p[0]};
        PhKubeletWatch w = {
                .url = "http://127.0.0.1:1/pods",
                .images_timeout_ms = 30000,
                .poll_period_ms = 100,
                .cancel = &cancel,
        };
        PhKubeletVerdict v = {};
        _cleanup_error_ PhError *err = NULL;
        double t0 = seconds();
        int r = kubelet_watch(&w, "web", "web", HASH, &v, &err);
        TAP_CHECK(r == -ECANCELED);
        TAP_CHECK(seconds() - t0 < 5.0);
        TAP_CHECK_HAS(ph_error_msg(err), "cancelled");
        kubelet_verdict_done(&v);
        close(p[0]);
        close(p[1]);

        PhKubeletWatch refused = {
                .url = "http://127.0.0.1:1/pods", .images_timeout_ms = 300, .poll_period_ms = 50};
        t0 = seconds();
        r = kubelet_watch(&refused, "web", "web", HASH, &v, NULL);
        TAP_CHECK(r == 0 && v.state == KUBELET_POD_FAILED);
        TAP_CHECK_HAS(v.reason, "the kubelet at http://127.0.0.1:1/pods did not answer in time (1 s)");
        TAP_CHECK(seconds() - t0 < 5.0);
        kubelet_verdict_done(&v);
}

static bool listed_only_a(const char *stack, const char *resource, void *userdata) {
        return strcmp(resource, "a") == 0;
}

/* Whose file it is: the owner annotations against the deployment, the docker hook's rules. */
static void test_owner_conflict(void) {
        json_auto_t *heat_a = json_pack("{s:s, s:s}", "stack", "s/1", "resource", "a");
        json_auto_t *heat_b = json_pack("{s:s, s:s}", "stack", "s/1", "resource", "b");
        json_auto_t *dropin = json_pack("{s:s}", "dropin", "/pods/web.yaml");
        json_auto_t *plain = json_object(); /* podhook apply's */
        const PhKubeletMeta heat_self = {.stack = "s/1", .resource = "a"};
        const PhKubeletMeta heat_other = {.stack = "s/2", .resource = "x"};
        const PhKubeletMeta own_dropin = {.dropin = "/pods/web.yaml"};
        const PhKubeletMeta other_dropin = {.dropin = "/pods/other.yaml"};
        const struct {
                const json_t *entry;
                const PhKubeletMeta *meta;
                const char *want; /* NULL: free */
        } cases[] = {
                {NULL, &heat_other, NULL},
                {plain, &heat_other, NULL},
                {heat_a, &heat_self, NULL},
                {heat_a, &heat_other, "another deployment (stack s/1, resource a) that is still listed"},
                {heat_b, &heat_other, NULL}, /* b is gone from the metadata: free to take */
                {heat_a, &own_dropin, "which a drop-in does not take over"},
                {dropin, &own_dropin, NULL},
                {dropin, &other_dropin, "belongs to the drop-in /pods/web.yaml"},
                {dropin, &heat_self, "belongs to the drop-in /pods/web.yaml"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *why =
                        kubelet_owner_conflict("web", cases[i].entry, cases[i].meta, listed_only_a, NULL);
                if (cases[i].want)
                        TAP_CHECK_HAS(why, cases[i].want);
                else
                        TAP_CHECK(why == NULL);
        }
        /* Without is_listed every other deployment counts as listed. */
        _cleanup_free_ char *why = kubelet_owner_conflict("web", heat_b, &heat_other, NULL, NULL);
        TAP_CHECK_HAS(why, "still listed");
}

int main(int argc, char **argv) {
        /* --dump FILE: the PodList of the Pods in FILE (a JSON array) on stdout, for the schema check. */
        if (argc == 3 && strcmp(argv[1], "--dump") == 0) {
                FILE *f = fopen(argv[2], "r");
                json_auto_t *pods = f ? json_loadf(f, 0, NULL) : NULL;
                if (f)
                        fclose(f);
                json_auto_t *list = kubelet_pod_list(pods);
                return json_dumpf(list, stdout, JSON_INDENT(2)) == 0 ? 0 : 1;
        }
        test_decide();
        test_options();
        test_names();
        test_pod_list();
        test_owner_conflict();
        if (http_global_init(NULL) == 0)
                test_watch_cancel_and_refused();
        return tap_done();
}
