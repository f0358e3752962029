/* heal.h: the decision reads the inspect array (observe.h judges the network namespace); the pass
 * carries it out with the Engine's API and the hook entry's run, on the worker thread. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PH_LOG_MODULE "agent"
#include "common/deployment.h"
#include "common/fileio.h"
#include "common/log.h"
#include "docker/docker.h"
#include "docker/hook-docker.h"
#include "docker/pod-probe.h"
#include "docker/pod-spec.h"
#include "docker/pod-state.h"
#include "docker/pod.h"
#include "heal.h"
#include "manifest/manifest.h"
#include "observe.h"

#define HEAL_RECORD_MAX (16u * 1024 * 1024)

static char *record_path(const char *state_dir, const char *pod) {
        return xasprintf("%s/" HEAL_DIR "/%s.json", state_dir, pod);
}

void heal_record_save(const char *state_dir, const char *pod, const json_t *deployment, const char *dropin) {
        _cleanup_free_ char *dir = xasprintf("%s/" HEAL_DIR, state_dir);
        _cleanup_free_ char *path = record_path(state_dir, pod);
        _cleanup_error_ PhError *err = NULL;

        if (!pod || !pod_name_is_valid(pod) || !deployment)
                return;
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
                log_warning("%s: %s; pod %s cannot be healed from it", dir, strerror(errno), pod);
                return;
        }
        json_auto_t *rec = json_pack("{s:O, s:s?}", "deployment", deployment, "dropin", dropin);
        _cleanup_free_ char *text = json_dumps(rec, JSON_COMPACT);
        if (!text || file_write_atomic(path, text, strlen(text), 0600, &err) < 0)
                log_warning("%s; pod %s cannot be healed from its last apply",
                            err ? ph_error_msg(err) : "cannot encode the deployment", pod);
}

void heal_record_remove(const char *state_dir, const char *pod) {
        _cleanup_free_ char *path = NULL;

        if (!pod || !pod_name_is_valid(pod))
                return;
        path = record_path(state_dir, pod);
        if (unlink(path) < 0 && errno != ENOENT)
                log_warning("cannot remove %s: %s", path, strerror(errno));
}

json_t *heal_record_load(const char *state_dir, const char *pod) {
        _cleanup_free_ char *path = NULL;

        if (!pod || !pod_name_is_valid(pod))
                return NULL;
        path = record_path(state_dir, pod);
        json_t *rec = file_load_json(path, HEAL_RECORD_MAX);
        if (rec && !json_is_object(json_object_get(rec, "deployment"))) {
                json_decref(rec);
                return NULL;
        }
        return rec;
}

static const char *label_of(const json_t *c, const char *key) {
        return json_string_value(
                json_object_get(json_object_get(json_object_get(c, "Config"), "Labels"), key));
}

static bool should_run(const json_t *c) {
        const char *policy = json_string_value(
                json_object_get(json_object_get(json_object_get(c, "HostConfig"), "RestartPolicy"), "Name"));
        return policy && (strcmp(policy, "always") == 0 || strcmp(policy, "unless-stopped") == 0);
}

PhHealAction heal_decide(const json_t *inspect, char *const *want, char **ret_reason) {
        PhPodBreak brk;
        json_auto_t *seen = observe_containers(inspect, &brk);
        const json_t *c;
        size_t i;

        *ret_reason = NULL;
        if (json_array_size(inspect) == 0)
                return PH_HEAL_NONE; /* no pod at all: not a repair (reconciliation makes pods) */
        /* The Engine restarts it itself; what it looks like after is judged after its start event. */
        json_array_foreach(inspect, i, c) {
                const char *st = json_string_value(json_object_get(json_object_get(c, "State"), "Status"));
                if (st && (strcmp(st, "restarting") == 0 || strcmp(st, "removing") == 0))
                        return PH_HEAL_NONE;
        }
        if (brk == PH_POD_INFRA_RESTARTED || brk == PH_POD_INFRA_RECREATED || brk == PH_POD_NO_INFRA) {
                *ret_reason = xstrdup(pod_break_to_string(brk));
                return PH_HEAL_RECREATE_APPS;
        }
        if (brk == PH_POD_INFRA_DOWN) {
                *ret_reason = xstrdup(pod_break_to_string(brk));
                return PH_HEAL_REAPPLY;
        }
        for (char *const *w = want; w && *w; w++) {
                bool found = false;
                json_array_foreach(inspect, i, c) {
                        const char *name = label_of(c, POD_LABEL_CONTAINER);
                        found = found || (name && strcmp(name, *w) == 0);
                }
                if (!found) {
                        *ret_reason = xasprintf("container %s missing", *w);
                        return PH_HEAL_REAPPLY;
                }
        }
        json_array_foreach(inspect, i, c) {
                const char *name = label_of(c, POD_LABEL_CONTAINER);
                bool runs = json_is_true(json_object_get(json_object_get(c, "State"), "Running"));
                if (name && !runs && should_run(c)) {
                        *ret_reason = xasprintf("container %s not running", name);
                        return PH_HEAL_REAPPLY;
                }
        }
        return PH_HEAL_NONE;
}

/* The container names of the record's manifest (new strv), NULL when it cannot be read. */
static char **wanted(const json_t *rec, const char *state_dir) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;

        if (docker_hook_manifest(json_object_get(rec, "deployment"), state_dir, &m, &err) < 0) {
                log_debug("the last applied manifest cannot be read: %s", ph_error_msg(err));
                return NULL;
        }
        char **names = xcalloc(m->n_containers + 1, sizeof(char *));
        for (size_t i = 0; i < m->n_containers; i++)
                names[i] = xstrdup(m->containers[i].name);
        return names;
}

static bool has_id(const json_t *inspect, const char *id, bool *ret_running) {
        const json_t *c;
        size_t i;

        json_array_foreach(inspect, i, c) {
                const char *cid = json_string_value(json_object_get(c, "Id"));
                if (cid && id && strcmp(cid, id) == 0) {
                        *ret_running = json_is_true(json_object_get(json_object_get(c, "State"), "Running"));
                        return true;
                }
        }
        return false;
}

/* The app containers that run now and did not before (new, or started): what the repair restarted. */
static void report_restarted(const PhHealEnv *env, const char *pod, const json_t *before, const json_t *after,
                             const char *reason, unsigned *ret_n) {
        const json_t *c;
        size_t i;

        *ret_n = 0;
        json_array_foreach(after, i, c) {
                const char *name = label_of(c, POD_LABEL_CONTAINER);
                const char *id = json_string_value(json_object_get(c, "Id"));
                bool was_running = false;
                if (!name || !json_is_true(json_object_get(json_object_get(c, "State"), "Running")))
                        continue;
                if (has_id(before, id, &was_running) && was_running)
                        continue;
                (*ret_n)++;
                _cleanup_free_ char *msg =
                        xasprintf("pod %s: container %s %s (%s)", pod, name,
                                  has_id(before, id, &was_running) ? "started again" : "recreated", reason);
                notify_emit(env->notifier, &(PhNotice){.kind = PH_NOTICE_CONTAINER_RESTARTED,
                                                       .pod = pod,
                                                       .container = name,
                                                       .message = msg});
        }
}

/* Removes the pod's app containers (their volumes stay): they live in a network namespace that is gone. */
static int remove_apps(PhDocker *d, const json_t *inspect, PhError **reterr) {
        const json_t *c;
        size_t i;

        json_array_foreach(inspect, i, c) {
                const char *id = json_string_value(json_object_get(c, "Id"));
                if (!id || !label_of(c, POD_LABEL_CONTAINER))
                        continue;
                _cleanup_free_ char *path = xasprintf("/containers/%s?force=1", id);
                int r = docker_call(d, "DELETE", path, NULL, NULL, NULL, reterr);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        return 0;
}

static void heal_pod(const PhHealEnv *env, PhDocker *d, const char *pod) {
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *inspect = NULL, *after = NULL;
        _cleanup_free_ char *reason = NULL, *now = NULL;

        if (pod_inspect(d, pod, &inspect, &err) < 0) {
                log_debug("pod %s: %s", pod, ph_error_msg(err));
                return;
        }
        json_auto_t *rec = heal_record_load(env->state_dir, pod);
        _cleanup_strv_free_ char **want = rec ? wanted(rec, env->state_dir) : NULL;
        PhHealAction act = heal_decide(inspect, want, &reason);
        json_auto_t *containers = observe_containers(inspect, NULL);
        status_pod_observed(env->status, pod, containers, reason);
        if (act == PH_HEAL_NONE)
                return;
        if (!rec) {
                /* Suspended on purpose, or applied by hand: not the agent's to repair. */
                log_debug(
                        "pod %s is broken (%s), but its last applied manifest is not known here: left as it "
                        "is",
                        pod, reason);
                return;
        }
        log_info("pod %s is broken (%s): repairing it from its last apply", pod, reason);
        if (act == PH_HEAL_RECREATE_APPS && remove_apps(d, inspect, &err) < 0) {
                log_warning("pod %s is broken (%s) and its apps could not be removed: %s", pod, reason,
                            ph_error_msg(err));
                return;
        }
        const char *dropin = json_string_value(json_object_get(rec, "dropin"));
        PhHookCall call = {.cancel = env->cancel, .dropin = dropin};
        _cleanup_(hook_result_done) PhHookResult res = {};
        int r = env->hook->ops->run(env->hook, json_object_get(rec, "deployment"), &call, &res, &err);
        if (r == -ECANCELED || (r < 0 && http_cancel_requested(env->cancel)))
                return;
        if (pod_inspect(d, pod, &after, NULL) == 0) {
                json_auto_t *seen = observe_containers(after, NULL);
                (void) heal_decide(after, want, &now);
                status_pod_observed(env->status, pod, seen, now);
        }
        if (r < 0 || deployment_result_failed(res.data)) {
                _cleanup_free_ char *line =
                        r < 0 ? xstrdup(ph_error_msg(err))
                              : deployment_first_line(
                                        json_string_value(json_object_get(res.data, "deploy_stderr")), 500);
                log_warning("pod %s is broken (%s) and could not be repaired (tried again later): %s", pod,
                            reason, line);
                return;
        }
        unsigned n = 0;
        report_restarted(env, pod, inspect, after, reason, &n);
        status_counter_add(env->status, PH_STATUS_RESTARTS, n);
        _cleanup_free_ char *msg =
                xasprintf("pod %s healed (%s): %u container%s recreated or started%s%s", pod, reason, n,
                          n == 1 ? "" : "s", now ? "; still " : "", now ? now : "");
        notify_emit(env->notifier, &(PhNotice){.kind = PH_NOTICE_POD_HEALED, .pod = pod, .message = msg});
}

int heal_pass(const PhHealEnv *env, PhError **reterr) {
        const PhDockerHookOptions *o = env->hook->data;
        _cleanup_(docker_freep) PhDocker *d = NULL;
        json_auto_t *owned = NULL;
        const char *pod;
        json_t *v;
        int r;

        r = env->hook->ops->list_owned(env->hook, &owned, reterr);
        if (r < 0)
                return r;
        if (json_object_size(owned) == 0)
                return 0;
        r = docker_open(o ? o->docker_host : NULL, &d, reterr);
        if (r < 0)
                return r;
        json_object_foreach(owned, pod, v) {
                if (http_cancel_requested(env->cancel))
                        break;
                heal_pod(env, d, pod);
        }
        return 0;
}

/* The container of the inspect array named name (borrowed), or NULL. */
static const json_t *find_named(const json_t *inspect, const char *name) {
        const json_t *c;
        size_t i;

        json_array_foreach(inspect, i, c) {
                const char *n = json_string_value(json_object_get(c, "Name"));
                if (n && strcmp(n[0] == '/' ? n + 1 : n, name) == 0)
                        return c;
        }
        return NULL;
}

static void probe_container(const PhHealEnv *env, PhDocker *d, const char *pod, const PhSpecContainer *sc,
                            const json_t *c, const char *ip, PhRestartPolicy policy, json_t *failures,
                            json_t *seen, unsigned threshold, unsigned grace) {
        const char *id = json_string_value(json_object_get(c, "Id"));
        const json_t *st = json_object_get(c, "State");
        _cleanup_error_ PhError *err = NULL;

        if (!id || !json_is_true(json_object_get(st, "Running")))
                return;
        double started = observe_time(json_string_value(json_object_get(st, "StartedAt")));
        struct timespec now;
        (void) clock_gettime(CLOCK_REALTIME, &now);
        if (started < 0 || (double) now.tv_sec < started + sc->liveness->initial_delay)
                return;
        json_object_set_new(seen, id, json_true());
        if (pod_action_run(d, id, ip, &sc->liveness->action, (long) sc->liveness->timeout * 1000, &err) ==
            0) {
                (void) json_object_del(failures, id);
                return;
        }
        json_int_t n = json_integer_value(json_object_get(failures, id)) + 1;
        status_counter_add(env->status, PH_STATUS_PROBE_FAILURES, 1);
        log_info("pod %s: %s of %s failed (%lld in a row): %s", pod, sc->liveness->action.what, sc->container,
                 (long long) n, ph_error_msg(err));
        json_object_set_new(failures, id, json_integer(n));
        if (n < (json_int_t) threshold)
                return;
        (void) json_object_del(failures, id);
        bool restart = policy != PH_RESTART_NEVER;
        _cleanup_free_ char *msg =
                xasprintf("pod %s: %s of %s failed %u times in a row (%s)%s", pod, sc->liveness->action.what,
                          sc->container, threshold, ph_error_msg(err),
                          restart ? "; restarting it" : "; restartPolicy Never: left as it is");
        notify_emit(env->notifier, &(PhNotice){.kind = PH_NOTICE_PROBE_FAILED,
                                               .pod = pod,
                                               .container = sc->container,
                                               .message = msg});
        if (!restart)
                return;
        _cleanup_error_ PhError *rerr = NULL;
        _cleanup_free_ char *path = xasprintf("/containers/%s/restart?t=%u", id, grace);
        if (docker_call(d, "POST", path, NULL, NULL, NULL, &rerr) < 0) {
                log_warning("pod %s: cannot restart %s: %s", pod, sc->container, ph_error_msg(rerr));
                return;
        }
        status_counter_add(env->status, PH_STATUS_RESTARTS, 1);
        _cleanup_free_ char *said =
                xasprintf("pod %s: container %s restarted (its livenessProbe failed)", pod, sc->container);
        notify_emit(env->notifier, &(PhNotice){.kind = PH_NOTICE_CONTAINER_RESTARTED,
                                               .pod = pod,
                                               .container = sc->container,
                                               .message = said});
}

static void probe_pod(const PhHealEnv *env, PhDocker *d, const char *pod, const unsigned char *key,
                      json_t *failures, json_t *seen, unsigned threshold, unsigned grace) {
        json_auto_t *rec = heal_record_load(env->state_dir, pod);
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        json_auto_t *inspect = NULL;
        _cleanup_free_ char *ip = NULL;

        if (!rec || docker_hook_manifest(json_object_get(rec, "deployment"), env->state_dir, &m, NULL) < 0)
                return;
        /* Only the probes are used: the image IDs and the infra image do not matter to them. */
        _cleanup_(pod_spec_freep) PhPodSpec *spec = pod_spec_build(&(PhSpecInput){
                .pod = pod, .m = m, .infra_image = "", .key = key, .key_len = POD_NODE_KEY_LEN});
        bool any = false;
        for (size_t i = 0; i + 1 < spec->n; i++)
                any = any || spec->items[i].liveness;
        if (!any || pod_inspect(d, pod, &inspect, NULL) < 0)
                return;
        const json_t *infra = find_named(inspect, pod_spec_infra(spec)->name);
        const char *infra_id = json_string_value(json_object_get(infra, "Id"));
        if (infra_id)
                (void) pod_probe_address(d, infra_id, &ip, NULL);
        for (size_t i = 0; i + 1 < spec->n && !http_cancel_requested(env->cancel); i++) {
                const PhSpecContainer *sc = &spec->items[i];
                const json_t *c = sc->liveness ? find_named(inspect, sc->name) : NULL;
                if (c)
                        probe_container(env, d, pod, sc, c, ip, m->restart_policy, failures, seen, threshold,
                                        grace);
        }
}

int heal_probe_pass(const PhHealEnv *env, json_t *failures, unsigned threshold, unsigned grace_seconds,
                    PhError **reterr) {
        const PhDockerHookOptions *o = env->hook->data;
        _cleanup_(docker_freep) PhDocker *d = NULL;
        unsigned char key[POD_NODE_KEY_LEN] = {0};
        json_auto_t *owned = NULL, *seen = json_object();
        const char *pod, *id;
        json_t *v;
        void *tmp;
        int r;

        r = env->hook->ops->list_owned(env->hook, &owned, reterr);
        if (r < 0 || json_object_size(owned) == 0)
                return r < 0 ? r : 0;
        r = docker_open(o ? o->docker_host : NULL, &d, reterr);
        if (r < 0)
                return r;
        (void) pod_node_key(env->state_dir, false, key, NULL);
        json_object_foreach(owned, pod, v) {
                if (http_cancel_requested(env->cancel))
                        break;
                probe_pod(env, d, pod, key, failures, seen, threshold,
                          grace_seconds ? grace_seconds : POD_DEFAULT_GRACE);
        }
        /* Containers gone or no longer probed start again from nothing. */
        json_object_foreach_safe(failures, tmp, id, v) if (!json_object_get(seen, id))
                json_object_del(failures, id);
        return 0;
}
