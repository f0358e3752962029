/* Dispatch: list order, markers, resume of an interrupted deployment, missing hook reported as a
 * failure, write-before-send, the docker group in-process, pod reconciliation. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "dispatch.h"
#include "tap.h"

typedef struct Ctx {
        const char *state_dir;
        json_t *sent; /* [{"id":..., "data":...}] in send order */
        bool all_on_disk;
        int answer;
        json_t *removed; /* pod names */
        int events[16];
        json_t *ran;      /* the data of each PH_DISPATCH_RAN */
        json_t *reported; /* the pod names of PH_DISPATCH_POD_REMOVED */
} Ctx;

static PhSignalOutcome fake_send(const json_t *inputs, const json_t *data, const PhOutboxSend *s,
                                 void *userdata, PhError **reterr) {
        Ctx *c = userdata;
        const char *id = json_string_value(json_object_get(inputs, "deploy_test_id"));
        _cleanup_free_ char *path = xasprintf("%s/outbox/%s.json", c->state_dir, id ? id : "?");
        if (file_exists(path) <= 0)
                c->all_on_disk = false;
        json_array_append_new(c->sent, json_pack("{s:s, s:O}", "id", id ? id : "?", "data", data));
        if (c->answer < 0) {
                (void) ph_error_set(reterr, -c->answer, "fake");
                return PH_SIGNAL_RETRY;
        }
        return PH_SIGNAL_DELIVERED;
}

/* A fake entry for the docker group: every run succeeds, it lists a fixed set of pods (a drop-in's
 * among them) and records what it is asked to remove. */
static int fake_docker_run(const PhHook *h, const json_t *dep, const PhHookCall *call, PhHookResult *ret,
                           PhError **reterr) {
        ret->data = json_pack("{s:s, s:s, s:i}", "deploy_stdout", "[{\"Id\": \"abc\"}]", "deploy_stderr", "",
                              "deploy_status_code", 0);
        ret->pod = xstrdup(json_string_value(json_object_get(dep, "name")));
        ret->summary = xstrdup("pod applied");
        return 0;
}

static int fake_docker_list(const PhHook *h, json_t **ret, PhError **reterr) {
        *ret = json_pack("{s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s, s:s}}", "pod-a", "deployment",
                         "id-docker", "pod-b", "deployment", "not-ours", "pod-c", "deployment", "", "pod-d",
                         "deployment", "id-old", "pod-e", "deployment", "id-docker", "dropin",
                         "/etc/pods/pod-e.yaml");
        return 0;
}

static int remove_recording(const PhHook *h, const char *pod, PhError **reterr) {
        Ctx *c = h->data;
        json_array_append_new(c->removed, json_string(pod));
        return 0;
}

static const PhHookOps fake_docker_ops = {
        .name = "fake-docker",
        .group = "docker",
        .run = fake_docker_run,
        .list_owned = fake_docker_list,
        .remove_owned = remove_recording,
};

static void on_event(PhDispatchEvent ev, const char *id, const json_t *dep, const json_t *data,
                     const PhError *err, void *userdata) {
        Ctx *c = userdata;
        c->events[ev]++;
        if (ev == PH_DISPATCH_RAN)
                json_array_append(c->ran, (json_t *) data);
        if (ev == PH_DISPATCH_POD_REMOVED)
                json_array_append(c->reported, (json_t *) data);
        if (ev == PH_DISPATCH_ERROR)
                printf("# error %s: %s\n", id ? id : "?", ph_error_msg(err));
}

static json_t *dep(const char *id, const char *group, const char *config, const char *resource) {
        return json_pack(
                "{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s}, {s:s, s:s}, {s:s, s:s}], s:[]}", "id",
                id, "name", resource, "group", group, "config", config, "inputs", "name", "deploy_test_id",
                "type", "String", "value", id, "name", "deploy_action", "value", "CREATE", "name",
                "deploy_stack_id", "value", "st/1", "name", "deploy_resource_name", "value", resource,
                "outputs");
}

static const json_t *sent_data(const Ctx *c, const char *id) {
        size_t i;
        json_t *e;
        json_array_foreach(c->sent, i, e) if (strcmp(json_string_value(json_object_get(e, "id")), id) ==
                                              0) return json_object_get(e, "data");
        return NULL;
}

int main(void) {
        char tmp[] = "/tmp/ph-test-dispatch-XXXXXX";
        if (!mkdtemp(tmp))
                return 1;
        _cleanup_free_ char *sd = xasprintf("%s/state", tmp);
        _cleanup_free_ char *work = xasprintf("HEAT_SCRIPT_WORKING=%s/work", tmp);
        _cleanup_free_ char *outs = xasprintf("HEAT_SCRIPT_OUTPUTS=%s/outs", tmp);
        putenv(work);
        putenv(outs);
        Ctx c = {.state_dir = sd,
                 .sent = json_array(),
                 .all_on_disk = true,
                 .removed = json_array(),
                 .ran = json_array(),
                 .reported = json_array()};
        PhState *st = NULL;
        PhOutbox *ob = NULL;
        const char *hook_dir = getenv("PH_TEST_HOOKS");
        _cleanup_free_ char *dirs = xasprintf("%s/nohooks:%s", tmp, hook_dir ? hook_dir : "/nonexistent");

        TAP_CHECK(state_open(sd, &st, NULL) == 0);
        TAP_CHECK(outbox_open(sd, 30, fake_send, &c, &ob, NULL) == 0);
        PhExternalHooks external = {.dirs = dirs, .timeout = 30};
        const PhHook hooks[] = {{.ops = &fake_docker_ops, .data = &c},
                                {.ops = &hook_external_ops, .data = &external}};
        PhDispatch d = {.state = st,
                        .outbox = ob,
                        .hooks = hooks,
                        .n_hooks = ELEMENTSOF(hooks),
                        .report = on_event,
                        .userdata = &c};

        json_auto_t *list = json_array();
        json_array_append_new(list,
                              dep("id-script", "script", "#!/bin/sh\necho from-script\n", "res-script"));
        json_array_append_new(list, dep("id-docker", "docker", "{}", "res-docker"));
        json_array_append_new(list, dep("id-puppet", "puppet", "class {}", "res-puppet"));

        TAP_CHECK(dispatch_all(&d, list) == 3);
        TAP_CHECK(json_array_size(c.sent) == 3);
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(c.sent, 0), "id")), "id-script");
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(c.sent, 1), "id")), "id-docker");
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(c.sent, 2), "id")), "id-puppet");
        {
                _cleanup_free_ char *dbg = json_dumps(c.sent, JSON_COMPACT);
                printf("# sent %s\n", dbg);
        }
        TAP_CHECK(c.all_on_disk); /* each result was on disk while it was being sent */
        TAP_CHECK_STR(json_string_value(json_object_get(sent_data(&c, "id-script"), "deploy_stdout")),
                      "from-script\n");
        TAP_CHECK_STR(json_string_value(json_object_get(sent_data(&c, "id-docker"), "deploy_stdout")),
                      "[{\"Id\": \"abc\"}]");
        /* Missing hook: a failure Heat can see, instead of a stack left waiting. */
        const json_t *miss = sent_data(&c, "id-puppet");
        TAP_CHECK(json_integer_value(json_object_get(miss, "deploy_status_code")) != 0);
        TAP_CHECK_HAS(json_string_value(json_object_get(miss, "deploy_stderr")),
                      "no hook for group 'puppet'");
        TAP_CHECK(c.events[PH_DISPATCH_START] == 3 && c.events[PH_DISPATCH_RESULT] == 3);
        /* Each run is reported with what its entry said: the docker group's went through the fake entry. */
        TAP_CHECK(c.events[PH_DISPATCH_RAN] == 3);
        const json_t *ran_docker = json_array_get(c.ran, 1);
        TAP_CHECK_STR(json_string_value(json_object_get(ran_docker, "pod")), "res-docker");
        TAP_CHECK_STR(json_string_value(json_object_get(ran_docker, "summary")), "pod applied");
        TAP_CHECK(json_integer_value(json_object_get(ran_docker, "status_code")) == 0);
        TAP_CHECK(json_real_value(json_object_get(ran_docker, "seconds")) >= 0);
        TAP_CHECK(json_is_false(json_object_get(ran_docker, "rolled_back")));
        TAP_CHECK(json_object_get(json_array_get(c.ran, 0), "pod") == NULL);

        /* Done means done: nothing runs or is sent again. */
        TAP_CHECK(dispatch_all(&d, list) == 0);
        TAP_CHECK(json_array_size(c.sent) == 3);

        /* A hook that prints a secret input it was given: the value never reaches the signal. */
        json_auto_t *leaky =
                dep("id-leaky", "script",
                    "#!/bin/sh\necho \"pw=$db_password\"; echo \"$db_password\" >&2; exit 3\n", "res-leaky");
        json_array_append_new(json_object_get(leaky, "inputs"),
                              json_pack("{s:s, s:s, s:s}", "name", "db_password", "type", "String", "value",
                                        "hunter2-Secret"));
        TAP_CHECK(dispatch_one(&d, leaky, NULL) == 1);
        _cleanup_free_ char *leak = json_dumps(sent_data(&c, "id-leaky"), JSON_COMPACT);
        TAP_CHECK(leak && !strstr(leak, "hunter2-Secret"));
        TAP_CHECK_HAS(leak, "pw=<redacted>");

        /* A deployment interrupted before its result reached the outbox is run again. */
        json_auto_t *again = dep("id-crash", "script", "#!/bin/sh\necho resumed\n", "res-crash");
        TAP_CHECK(state_deploy_begin(st, "id-crash", again, NULL) == 0);
        TAP_CHECK(dispatch_one(&d, again, NULL) == 1);
        TAP_CHECK(c.events[PH_DISPATCH_RESUME] == 1);
        TAP_CHECK_STR(json_string_value(json_object_get(sent_data(&c, "id-crash"), "deploy_stdout")),
                      "resumed\n");
        TAP_CHECK(state_deploy_state(st, "id-crash") == PH_DEPLOY_DONE);

        /* A signal that cannot be delivered stays in the outbox; the deployment is not run twice. */
        c.answer = -EAGAIN;
        json_auto_t *later = dep("id-later", "script", "#!/bin/sh\nexit 0\n", "res-later");
        json_array_append_new(
                json_object_get(later, "inputs"),
                json_pack("{s:s, s:s, s:s}", "name", "user_secret", "type", "String", "value", "s3cret"));
        TAP_CHECK(dispatch_one(&d, later, NULL) == 1);
        json_auto_t *entry = outbox_entry(ob, "id-later");
        /* Only deploy_* inputs are kept with the result (user inputs may be secrets). */
        TAP_CHECK(json_object_get(json_object_get(entry, "inputs"), "deploy_action") != NULL);
        TAP_CHECK(json_object_get(json_object_get(entry, "inputs"), "user_secret") == NULL);
        TAP_CHECK(json_integer_value(json_object_get(entry, "attempts")) == 1);
        TAP_CHECK(json_integer_value(json_object_get(json_object_get(entry, "data"), "deploy_status_code")) ==
                  0);
        TAP_CHECK(json_is_string(json_object_get(json_object_get(entry, "data"), "deploy_stdout")));
        TAP_CHECK(dispatch_one(&d, later, NULL) == 0);
        c.answer = 0;

        /* A deployment marked done is never run again on its own (nothing is sent twice). */
        size_t before = json_array_size(c.sent);
        TAP_CHECK(dispatch_one(&d, json_array_get(list, 0), NULL) == 0);
        TAP_CHECK(json_array_size(c.sent) == before);

        /* Reconciliation: id-old is ours (marker) and belongs to res-docker, still listed under a newer
         * id: kept. Pods of unknown or no deployments are never touched. */
        json_auto_t *old = dep("id-old", "docker", "{}", "res-docker");
        TAP_CHECK(state_deploy_begin(st, "id-old", old, NULL) == 0 &&
                  state_deploy_finish(st, "id-old", NULL) == 0);
        TAP_CHECK(dispatch_reconcile(&d, list, NULL) == 0);
        TAP_CHECK(json_array_size(c.removed) == 0);
        /* The deployments are missing from the metadata once (a stale copy?): nothing is removed; missing
         * again the pass after that: our two pods go, the others stay. */
        json_auto_t *empty = json_array();
        TAP_CHECK(dispatch_reconcile(&d, empty, NULL) == 0);
        TAP_CHECK(json_array_size(c.removed) == 0 && c.events[PH_DISPATCH_POD_KEPT] == 2);
        /* The count is kept in the state dir: a new process (--one-time) goes on counting. */
        _cleanup_free_ char *absent = xasprintf("%s/absent.json", sd);
        TAP_CHECK(file_exists(absent) > 0);
        dispatch_done(&d);
        TAP_CHECK(dispatch_reconcile(&d, empty, NULL) == 2);
        _cleanup_free_ char *rm = json_dumps(c.removed, JSON_COMPACT);
        /* pod-e carries id-docker too, but it is a drop-in's: it goes with its file, never with Heat's. */
        TAP_CHECK_STR(rm, "[\"pod-a\",\"pod-d\"]");
        _cleanup_free_ char *said = json_dumps(c.reported, JSON_COMPACT);
        TAP_CHECK_STR(said, "[\"pod-a\",\"pod-d\"]"); /* each removal is reported with its pod's name */
        /* Their markers no longer make a return a no-op: both configs of res-docker run again. */
        TAP_CHECK(state_deploy_state(st, "id-docker") == PH_DEPLOY_NEW);
        TAP_CHECK(state_deploy_state(st, "id-old") == PH_DEPLOY_NEW);
        _cleanup_free_ char *moved = xasprintf("%s/removed/id-docker.json", sd);
        TAP_CHECK(file_exists(moved) > 0);
        size_t sent_before = json_array_size(c.sent);
        TAP_CHECK(dispatch_one(&d, json_array_get(list, 1), NULL) == 1);
        TAP_CHECK(json_array_size(c.sent) == sent_before + 1 && file_exists(moved) == 0);
        /* Missing once, then back: the count starts again. */
        json_array_clear(c.removed);
        TAP_CHECK(dispatch_reconcile(&d, empty, NULL) == 0);
        TAP_CHECK(dispatch_reconcile(&d, list, NULL) == 0);
        TAP_CHECK(dispatch_reconcile(&d, empty, NULL) == 0);
        TAP_CHECK(json_array_size(c.removed) == 0);

        /* In-progress records of ids no longer listed are given up after two passes without them. */
        json_auto_t *stale = dep("id-stale", "script", "", "res-stale");
        TAP_CHECK(state_deploy_begin(st, "id-stale", stale, NULL) == 0);
        dispatch_forget_vanished(&d, list);
        TAP_CHECK(state_deploy_state(st, "id-stale") == PH_DEPLOY_IN_PROGRESS);
        dispatch_forget_vanished(&d, list);
        TAP_CHECK(state_deploy_state(st, "id-stale") == PH_DEPLOY_NEW); /* a return runs it */

        /* The outbox cannot be written: the hook ran, its result waits in memory, the deployment is not
         * run again, and the write is retried; at stop what never got stored becomes a lost record. */
        _cleanup_free_ char *counter = xasprintf("%s/runs", tmp);
        _cleanup_free_ char *script = xasprintf("#!/bin/sh\necho run >> %s\necho kept\n", counter);
        json_auto_t *stuck = dep("id-stuck", "script", script, "res-stuck");
        _cleanup_free_ char *not_a_dir = xasprintf("%s/not-a-dir", tmp);
        TAP_CHECK(file_write_atomic(not_a_dir, "", 0, 0600, NULL) == 0);
        char *real_dir = ob->dir;
        ob->dir = not_a_dir;
        int errors = c.events[PH_DISPATCH_STATE_ERROR];
        json_auto_t *stuck_list = json_pack("[O]", stuck);
        TAP_CHECK(dispatch_all(&d, stuck_list) == 0);
        TAP_CHECK(c.events[PH_DISPATCH_STATE_ERROR] == errors + 1);
        TAP_CHECK(dispatch_one(&d, stuck, NULL) == 0); /* pending: not run again */
        TAP_CHECK(dispatch_retry_pending(&d) == 1 && c.events[PH_DISPATCH_STATE_ERROR] == errors + 2);
        ob->dir = real_dir;
        size_t sent0 = json_array_size(c.sent);
        TAP_CHECK(dispatch_retry_pending(&d) == 0);
        TAP_CHECK(json_array_size(c.sent) == sent0 + 1);
        TAP_CHECK_STR(json_string_value(json_object_get(sent_data(&c, "id-stuck"), "deploy_stdout")),
                      "kept\n");
        TAP_CHECK(state_deploy_state(st, "id-stuck") == PH_DEPLOY_DONE);
        _cleanup_free_ char *runs = NULL;
        TAP_CHECK(file_read_all(counter, 1000, &runs, NULL, NULL) == 0 && strcmp(runs, "run\n") == 0);

        json_auto_t *lostdep = dep("id-lost", "script", script, "res-lost");
        ob->dir = not_a_dir;
        TAP_CHECK(dispatch_one(&d, lostdep, NULL) < 0);
        int lost_events = c.events[PH_DISPATCH_LOST];
        TAP_CHECK(dispatch_stop(&d) == 1 && c.events[PH_DISPATCH_LOST] == lost_events + 1);
        ob->dir = real_dir;
        TAP_CHECK(state_deploy_state(st, "id-lost") == PH_DEPLOY_DONE);
        /* The next start: Heat is told it failed; it is not run again. */
        sent0 = json_array_size(c.sent);
        dispatch_recover(&d);
        TAP_CHECK(outbox_flush(ob, time(NULL), true, NULL, NULL) == 0);
        TAP_CHECK(json_array_size(c.sent) > sent0);
        const json_t *told = sent_data(&c, "id-lost");
        TAP_CHECK(json_integer_value(json_object_get(told, "deploy_status_code")) == 1);
        TAP_CHECK_HAS(json_string_value(json_object_get(told, "deploy_stderr")),
                      "could not store its result");
        TAP_CHECK(dispatch_one(&d, lostdep, NULL) == 0);
        free(runs);
        runs = NULL;
        TAP_CHECK(file_read_all(counter, 1000, &runs, NULL, NULL) == 0 && strcmp(runs, "run\nrun\n") == 0);

        /* Interrupted after its result reached the outbox: finished at the next start, not run again; a
         * result older than the interrupted run does not count. */
        json_auto_t *late = dep("id-late", "script", script, "res-late");
        c.answer = -EAGAIN;
        TAP_CHECK(dispatch_one(&d, late, NULL) == 1);
        c.answer = 0;
        TAP_CHECK(state_deploy_begin(st, "id-late", late, NULL) == 0);
        _cleanup_free_ char *ip = xasprintf("%s/inprogress/id-late.json", sd);
        struct timespec past[2] = {{.tv_sec = time(NULL) - 60}, {.tv_sec = time(NULL) - 60}};
        TAP_CHECK(utimensat(AT_FDCWD, ip, past, 0) == 0);
        int recovered = c.events[PH_DISPATCH_RECOVERED];
        dispatch_recover(&d);
        TAP_CHECK(c.events[PH_DISPATCH_RECOVERED] == recovered + 1);
        TAP_CHECK(state_deploy_state(st, "id-late") == PH_DEPLOY_DONE);
        TAP_CHECK(state_deploy_begin(st, "id-late", late, NULL) == 0);
        struct timespec future[2] = {{.tv_sec = time(NULL) + 60}, {.tv_sec = time(NULL) + 60}};
        TAP_CHECK(utimensat(AT_FDCWD, ip, future, 0) == 0);
        dispatch_recover(&d);
        TAP_CHECK(state_deploy_state(st, "id-late") == PH_DEPLOY_IN_PROGRESS);

        /* A malformed entry is reported and the next one still runs. */
        json_auto_t *mixed = json_array();
        json_array_append_new(mixed, json_pack("{s:s}", "group", "script"));
        json_array_append_new(mixed, dep("id-next", "script", "#!/bin/sh\n", "res-next"));
        TAP_CHECK(dispatch_all(&d, mixed) == 1);
        TAP_CHECK(c.events[PH_DISPATCH_ERROR] == 1);

        dispatch_done(&d);
        outbox_free(ob);
        state_free(st);
        json_decref(c.sent);
        json_decref(c.removed);
        json_decref(c.ran);
        json_decref(c.reported);
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", tmp);
        (void) !system(cmd);
        return tap_done();
}
