#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/fileio.h"
#include "common/http.h"
#include "common/log.h"
#include "common/secret.h"
#include "docker/hostports.h"
#include "docker/infra.h"
#include "docker/pod-config.h"
#include "docker/pod-exec.h"
#include "docker/pod-options.h"
#include "docker/pod-wait.h"
#include "docker/registry-auth.h"
#include "docker/pod-plan.h"
#include "docker/pod-probe.h"
#include "docker/pod-spec.h"
#include "docker/pod-state.h"
#include "docker/prune.h"

/* How long a removal the Engine carries on with (its client died) may take before it counts as stuck. */
#define REMOVAL_WAIT_MS (30L * 1000L)
/* Between two tries of a liveness probe that failed. */
#define PROBE_PERIOD_MS 1000L

typedef struct Exec {
        PhDocker *d;
        const char *pod;
        const PhPodOptions *o;
        const char *state_dir;
        const PhPodSpec *spec; /* NULL while repairing */
        PhObservedPod *have;
        char **new_ids; /* per spec item: the container this update created (holes: none) */
        size_t n_new;
        unsigned long generation;
        PhJournal journal;    /* of the update being carried out (borrowed lists) */
        long long started_at; /* when this update started its first container (seconds since the epoch) */
        struct timespec started_mono; /* the same on CLOCK_MONOTONIC: probes' initial delays count from it */
        json_t *pre_stops;            /* the pod's preStop actions by container id (pod-state.h) */
        bool pre_stops_dirty;         /* changed since loaded */
        char *address;                /* the pod's address, once asked for ... */
        char *address_of;             /* ... of this infra container */
        char *notes;                  /* what went wrong without failing (a preStop), for the summary */
        PhPodUndo undo;               /* what became of a failed update */
        json_t *inspected;            /* id -> inspect of the containers that passed their check */
} Exec;

static const char *state_dir_of(const PhPodOptions *o) {
        return o && o->state_dir ? o->state_dir : PH_STATE_DIR_DEFAULT;
}

static unsigned start_window_of(const PhPodOptions *o) {
        return o && o->start_window_set ? o->start_window : POD_DEFAULT_START_WINDOW;
}

static unsigned ready_timeout_of(const PhPodOptions *o) {
        return o && o->ready_timeout_set ? o->ready_timeout : POD_DEFAULT_READY_TIMEOUT;
}

static void add_note(Exec *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_note(Exec *x, const char *fmt, ...) {
        _cleanup_free_ char *line = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&line, fmt, ap) < 0)
                abort();
        va_end(ap);
        log_warning("%s", line);
        char *t = xasprintf("%s%s%s", x->notes ? x->notes : "", x->notes ? "\n" : "", line);
        free(x->notes);
        x->notes = t;
}

/* --- what runs --------------------------------------------------------------------------------- */

/* The pod's containers as the Engine shows them now; for those that do not run, also their exit code
 * and restart policy (a finished run-once container stays as it is; a suspended one is started). */
static int observe(Exec *x, PhError **reterr) {
        json_auto_t *list = NULL;
        int r;

        r = pod_list(x->d, x->pod, &list, reterr);
        if (r < 0)
                return r;
        pod_observed_free(x->have);
        x->have = pod_observed_from_summaries(x->pod, list);
        for (size_t i = 0; i < x->have->n; i++) {
                PhObserved *c = &x->have->items[i];
                if (pod_observed_is_running(c) || pod_observed_is_gone(c))
                        continue;
                _cleanup_free_ char *path = xasprintf("/containers/%s/json", c->id);
                json_auto_t *j = NULL;
                r = docker_get(x->d, path, &j, reterr);
                if (r == -ENOENT)
                        continue; /* gone meanwhile: its removal will say so */
                if (r < 0)
                        return ph_error_prefix(reterr, "inspecting container %s", c->name);
                json_t *state = json_object_get(j, "State");
                c->exit_code = json_is_integer(json_object_get(state, "ExitCode"))
                                       ? (int) json_integer_value(json_object_get(state, "ExitCode"))
                                       : -1;
                const char *policy = json_string_value(json_object_get(
                        json_object_get(json_object_get(j, "HostConfig"), "RestartPolicy"), "Name"));
                c->restart_policy = policy ? xstrdup(policy) : NULL;
        }
        return 0;
}

/* --- carrying out steps ------------------------------------------------------------------------ */

static const char *target_id(const Exec *x, const PhStep *s) {
        return s->fresh ? x->new_ids[s->index] : x->have->items[s->index].id;
}

static const char *target_name(const Exec *x, const PhStep *s) {
        return s->fresh ? x->spec->items[s->index].name : x->have->items[s->index].name;
}

static const char *op_doing(PhStepOp op) {
        switch (op) {
        case PH_STEP_STOP:
                return "stopping";
        case PH_STEP_RENAME:
                return "renaming";
        case PH_STEP_UPDATE:
                return "restoring the restart policy of";
        case PH_STEP_CREATE:
                return "creating";
        case PH_STEP_START:
                return "starting";
        case PH_STEP_CHECK:
                return "checking";
        case PH_STEP_COMMIT:
                return "committing";
        case PH_STEP_REMOVE:
        default:
                return "removing";
        }
}

/* Waits for the Engine to finish removing a container (a removal its client did not see to the end),
 * forcing it again when it is stuck. */
static int wait_removed(Exec *x, const char *id, const char *name, PhError **reterr) {
        _cleanup_free_ char *wait = xasprintf("/containers/%s/wait?condition=removed", id);
        _cleanup_free_ char *del = xasprintf("/containers/%s?v=false&force=true", id);
        PhDockerCall c = {.method = "POST", .path = wait, .timeout_ms = REMOVAL_WAIT_MS};
        int r;

        (void) docker_call_many(x->d, &c, 1);
        r = c.r;
        docker_call_done(&c);
        if (r == 0 || r == -ENOENT)
                return 0;
        r = docker_call(x->d, "DELETE", del, NULL, NULL, NULL, reterr);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return ph_error_prefix(reterr, "removing container %s", name);
        return 0;
}

/* A create or rename found the name taken: by a container of this pod the Engine is still removing,
 * which is waited for (then 1: try again), or by anything else (an error). Found by label, never by
 * guessing from the message. */
static int name_conflict(Exec *x, const char *name, const PhError *conflict, PhError **reterr) {
        json_auto_t *list = NULL;
        json_t *c;
        size_t i;
        int r;

        r = pod_list(x->d, x->pod, &list, reterr);
        if (r < 0)
                return r;
        json_array_foreach(list, i, c) {
                const char *n = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
                const char *state = json_string_value(json_object_get(c, "State"));
                const char *id = json_string_value(json_object_get(c, "Id"));
                if (!n || !id || strcmp(n[0] == '/' ? n + 1 : n, name) != 0)
                        continue;
                if (state && (strcmp(state, "removing") == 0 || strcmp(state, "dead") == 0)) {
                        r = wait_removed(x, id, name, reterr);
                        return r < 0 ? r : 1;
                }
                break;
        }
        return ph_error_set(reterr, EEXIST, "%s", ph_error_msg(conflict));
}

/* The infra container the pod's apps join now: this update's, else the one in place. */
static const char *infra_id(const Exec *x) {
        if (x->spec && x->new_ids[x->spec->n - 1])
                return x->new_ids[x->spec->n - 1];
        for (size_t i = 0; x->have && i < x->have->n; i++)
                if (x->have->items[i].infra && !x->have->items[i].aside &&
                    !pod_observed_is_gone(&x->have->items[i]))
                        return x->have->items[i].id;
        return NULL;
}

/* The pod's address for httpGet and tcpSocket actions (asked once per infra container). */
static int address(Exec *x, const char **ret, PhError **reterr) {
        const char *infra = infra_id(x);
        int r;

        if (!infra)
                return ph_error_set(reterr, EADDRNOTAVAIL, "the pod has no infra container");
        if (!x->address || strcmp(x->address_of, infra) != 0) {
                free(x->address);
                free(x->address_of);
                x->address = x->address_of = NULL;
                r = pod_probe_address(x->d, infra, &x->address, reterr);
                if (r < 0)
                        return r;
                x->address_of = xstrdup(infra);
        }
        *ret = x->address;
        return 0;
}

static bool needs_address(const PhSpecAction *a) {
        return a->kind == PH_HANDLER_TCP_SOCKET || (a->kind == PH_HANDLER_HTTP_GET && !a->host);
}

/* Runs action a of container id once; an error names the container and the action. */
static int run_action(Exec *x, const char *id, const char *name, const PhSpecAction *a, long timeout_ms,
                      PhError **reterr) {
        _cleanup_error_ PhError *err = NULL;
        const char *ip = NULL;
        int r = 0;

        if (needs_address(a))
                r = address(x, &ip, &err);
        if (r >= 0)
                r = pod_action_run(x->d, id, ip, a, timeout_ms, &err);
        if (r < 0)
                return ph_error_set(reterr, -r, "container %s: %s: %s", name, a->what, ph_error_msg(err));
        return 0;
}

/* The preStop hook of an old container runs here, before its stop (lifecycle.preStop), within the
 * grace period. As for a kubelet, its failure does not keep the container from being stopped; it is
 * said in the summary. The action is the one kept when the container was made (pod-state.h), not the
 * manifest's now. */
static void pre_stop(Exec *x, const PhStep *s) {
        const PhObserved *o = &x->have->items[s->index];
        const json_t *j = json_object_get(x->pre_stops, o->id);
        _cleanup_(pod_spec_action_freep) PhSpecAction *a = NULL;
        _cleanup_error_ PhError *err = NULL;

        if (s->fresh || !j || !pod_observed_is_running(o))
                return;
        a = pod_spec_action_from_json(j, "lifecycle.preStop");
        if (a && run_action(x, o->id, o->name, a, (long) pod_grace(x->o) * 1000L, &err) < 0)
                add_note(x, "%s (stopped all the same)", ph_error_msg(err));
}

/* The spec item of a checked container: its own for a new one, its container's for an old one started
 * again; NULL while repairing. */
static const PhSpecContainer *spec_item_of(const Exec *x, const PhStep *s) {
        if (!x->spec)
                return NULL;
        if (s->fresh)
                return &x->spec->items[s->index];
        const PhObserved *o = &x->have->items[s->index];
        for (size_t k = 0; k + 1 < x->spec->n; k++)
                if (o->container && strcmp(x->spec->items[k].container, o->container) == 0)
                        return &x->spec->items[k];
        return o->infra ? pod_spec_infra(x->spec) : NULL;
}

static struct timespec ts_add_ms(struct timespec t, long ms) {
        t.tv_sec += ms / 1000;
        t.tv_nsec += (ms % 1000) * 1000000L;
        if (t.tv_nsec >= 1000000000L) {
                t.tv_sec++;
                t.tv_nsec -= 1000000000L;
        }
        return t;
}

static bool ts_before(struct timespec a, struct timespec b) {
        return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

static struct timespec now_mono(void) {
        struct timespec t;

        (void) clock_gettime(CLOCK_MONOTONIC, &t);
        return t;
}

/* Whether a probed container still runs as it was started; if not, the error says how it ended. */
static int still_running(Exec *x, const PhStep *s, const PhSpecAction *a, PhError **reterr) {
        _cleanup_free_ char *path = xasprintf("/containers/%s/json", target_id(x, s));
        json_auto_t *j = NULL;
        int first = -1, r;

        r = docker_get(x->d, path, &j, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "checking container %s", target_name(x, s));
        json_t *st = json_object_get(j, "State");
        json_int_t code = json_integer_value(json_object_get(st, "ExitCode"));
        if (json_is_true(json_object_get(st, "Running")) &&
            json_integer_value(json_object_get(j, "RestartCount")) == 0)
                return 0;
        if (docker_container_exit_code(x->d, target_id(x, s), x->started_at, &first, NULL) > 0)
                code = first;
        return ph_error_set(reterr, EIO, "container %s exited with code %lld while its %s was tried",
                            target_name(x, s), (long long) code, a->what);
}

/* The liveness probes of the started containers, tried together (each at most every PROBE_PERIOD_MS,
 * the first try initialDelaySeconds after the start): each must pass once within the readiness timeout
 * of its first try. A container that stops meanwhile fails at once. */
static int probe_started(Exec *x, const PhStep *steps, size_t n, PhError **reterr) {
        unsigned ready = ready_timeout_of(x->o);
        _cleanup_free_ struct timespec *next = xcalloc(n ? n : 1, sizeof(struct timespec));
        _cleanup_free_ struct timespec *deadline = xcalloc(n ? n : 1, sizeof(struct timespec));
        _cleanup_free_ const PhSpecProbe **probe = xcalloc(n ? n : 1, sizeof(PhSpecProbe *));
        struct timespec start = x->started_mono.tv_sec ? x->started_mono : now_mono();

        for (size_t i = 0; i < n; i++) {
                const PhSpecContainer *c = spec_item_of(x, &steps[i]);
                probe[i] = c ? c->liveness : NULL;
                if (!probe[i])
                        continue;
                next[i] = ts_add_ms(start, (long) probe[i]->initial_delay * 1000L);
                deadline[i] = ts_add_ms(next[i], (long) ready * 1000L);
        }
        for (;;) {
                struct timespec earliest = {0, 0};
                bool pending = false;

                for (size_t i = 0; i < n; i++) {
                        _cleanup_error_ PhError *err = NULL;
                        const PhSpecProbe *p = probe[i];
                        if (!p)
                                continue;
                        if (ts_before(now_mono(), next[i])) {
                                if (!pending || ts_before(next[i], earliest))
                                        earliest = next[i];
                                pending = true;
                                continue;
                        }
                        if (run_action(x, target_id(x, &steps[i]), target_name(x, &steps[i]), &p->action,
                                       (long) p->timeout * 1000L, &err) >= 0) {
                                probe[i] = NULL; /* passed */
                                continue;
                        }
                        int r = still_running(x, &steps[i], &p->action, reterr);
                        if (r < 0)
                                return r;
                        struct timespec now = now_mono();
                        if (!ts_before(now, deadline[i]))
                                return ph_error_set(reterr, err->code,
                                                    "%s (not passed within the %u s readiness timeout)",
                                                    ph_error_msg(err), ready);
                        next[i] = ts_add_ms(now, PROBE_PERIOD_MS);
                        if (ts_before(deadline[i], next[i]))
                                next[i] = deadline[i]; /* one last try at the deadline */
                        if (!pending || ts_before(next[i], earliest))
                                earliest = next[i];
                        pending = true;
                }
                if (!pending)
                        return 0;
                (void) clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &earliest, NULL);
        }
}

/* The postStart hooks of the started containers, in order, right after their start: one that fails
 * fails the update (a kubelet would kill the container). Each may take up to the readiness timeout. */
static int post_start(Exec *x, const PhStep *steps, size_t n, PhError **reterr) {
        long timeout_ms = (long) (ready_timeout_of(x->o) ? ready_timeout_of(x->o) : 1) * 1000L;

        for (size_t i = 0; i < n; i++) {
                const PhSpecContainer *c = spec_item_of(x, &steps[i]);
                if (!c || !c->post_start)
                        continue;
                int r = run_action(x, target_id(x, &steps[i]), target_name(x, &steps[i]), c->post_start,
                                   timeout_ms, reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The check of started containers: their postStart hooks pass; then each must still run after the
 * start window, or (restart policy never/onFailure) have exited 0; then their liveness probes pass
 * within the readiness timeout. */
static int check_started(Exec *x, const PhStep *steps, size_t n, PhError **reterr) {
        unsigned window = start_window_of(x->o);
        _cleanup_free_ PhDockerCall *calls = xcalloc(n ? n : 1, sizeof(PhDockerCall));
        _cleanup_strv_free_ char **paths = xcalloc(n + 1, sizeof(char *));
        int result = 0;

        result = post_start(x, steps, n, reterr);
        if (result < 0)
                return result;
        if (window > 0) {
                /* Returns when the container stops; no answer within the window means it ran
                 * throughout. */
                for (size_t i = 0; i < n; i++) {
                        paths[i] = xasprintf("/containers/%s/wait?condition=not-running",
                                             target_id(x, &steps[i]));
                        calls[i] = (PhDockerCall){
                                .method = "POST", .path = paths[i], .timeout_ms = window * 1000L};
                }
                (void) docker_call_many(x->d, calls, n);
                for (size_t i = 0; i < n; i++)
                        docker_call_done(&calls[i]);
        }
        /* The inspects of all of them at once; the first that failed its check is the one reported. */
        for (size_t i = 0; i < n; i++) {
                free(paths[i]);
                paths[i] = xasprintf("/containers/%s/json", target_id(x, &steps[i]));
                calls[i] = (PhDockerCall){.path = paths[i]};
        }
        (void) docker_get_many(x->d, calls, n);
        for (size_t i = 0; i < n; i++) {
                const PhStep *s = &steps[i];
                json_t *j = calls[i].json;
                /* an old container started again: its spec item says what it is meant to do */
                const PhSpecContainer *c = spec_item_of(x, s);
                bool keeps_running = c ? c->keeps_running : true;

                if (calls[i].r < 0) {
                        result = ph_error_set(reterr, -calls[i].r, "checking container %s: %s",
                                              target_name(x, s), ph_error_msg(calls[i].err));
                        break;
                }
                json_t *st = json_object_get(j, "State");
                bool running = json_is_true(json_object_get(st, "Running"));
                json_int_t code = json_integer_value(json_object_get(st, "ExitCode"));
                json_int_t restarts = json_integer_value(json_object_get(j, "RestartCount"));
                if ((running && restarts == 0) || (!running && code == 0 && !keeps_running)) {
                        /* passed (a run-once container that did its job, too): what the apply's result
                         * shows of it, without asking again */
                        json_object_set(x->inspected, target_id(x, s), j);
                        continue;
                }
                /* A restart policy that started it again has reset what an inspect says of its exit
                 * (on Podman): the Engine's events still have it. */
                int first = -1;
                if ((running || restarts > 0) &&
                    docker_container_exit_code(x->d, target_id(x, s), x->started_at, &first, NULL) > 0)
                        code = first;
                if (window == 0)
                        result = ph_error_set(
                                reterr, EIO,
                                "container %s is not running right after its start (exit code %lld)",
                                target_name(x, s), (long long) code);
                else
                        result = ph_error_set(
                                reterr, EIO,
                                "container %s exited with code %lld within the %u s start window%s",
                                target_name(x, s), (long long) code, window,
                                running ? " (its restart policy started it again)" : "");
                break;
        }
        for (size_t i = 0; i < n; i++)
                docker_call_done(&calls[i]);
        if (result == 0)
                result = probe_started(x, steps, n, reterr);
        return result;
}

/* A container this update created: its preStop is kept for whoever stops it. */
static void created(Exec *x, size_t index, const char *id) {
        const PhSpecContainer *c = &x->spec->items[index];

        x->new_ids[index] = xstrdup(id);
        if (c->pre_stop) {
                json_object_set_new(x->pre_stops, id, pod_spec_action_to_json(c->pre_stop));
                x->pre_stops_dirty = true;
        }
}

/* The preStop actions kept, of the containers that exist (those of the pod as observed and those this
 * update made): written when they changed. */
static int save_pre_stops(Exec *x, PhError **reterr) {
        json_auto_t *keep = json_object();
        const char *id;
        json_t *v;
        int r;

        json_object_foreach(x->pre_stops, id, v) {
                bool exists = false;
                for (size_t i = 0; x->have && i < x->have->n && !exists; i++)
                        exists = strcmp(x->have->items[i].id, id) == 0;
                for (size_t i = 0; i < x->n_new && !exists; i++)
                        exists = x->new_ids[i] && strcmp(x->new_ids[i], id) == 0;
                if (exists)
                        json_object_set(keep, id, v);
        }
        if (!x->pre_stops_dirty && json_object_size(keep) == json_object_size(x->pre_stops))
                return 0;
        r = pod_prestops_save(x->state_dir, x->pod, keep, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s: keeping its preStop actions", x->pod);
        json_object_clear(x->pre_stops);
        json_object_update(x->pre_stops, keep);
        x->pre_stops_dirty = false;
        return 0;
}

/* One wave: its steps go to the Engine together. tolerant (a repair): a container that is gone is not
 * an error. */
static int run_wave(Exec *x, const PhStep *steps, size_t n, bool tolerant, PhError **reterr) {
        _cleanup_free_ PhDockerCall *calls = xcalloc(n ? n : 1, sizeof(PhDockerCall));
        _cleanup_free_ const PhStep **of = xcalloc(n ? n : 1, sizeof(PhStep *));
        _cleanup_free_ PhStep *checks = xcalloc(n ? n : 1, sizeof(PhStep));
        _cleanup_strv_free_ char **paths = xcalloc(n + 1, sizeof(char *));
        json_t **bodies = xcalloc(n ? n : 1, sizeof(json_t *));
        size_t k = 0, n_checks = 0;
        int result = 0, r;
        long stop_ms = ((long) pod_grace(x->o) + 60) * 1000L;

        for (size_t i = 0; i < n && result == 0; i++) {
                const PhStep *s = &steps[i];
                const char *id = target_id(x, s);
                _cleanup_free_ char *ename = s->to ? http_escape(s->to) : NULL;

                switch (s->op) {
                case PH_STEP_CHECK:
                        checks[n_checks++] = *s;
                        continue;
                case PH_STEP_COMMIT:
                        x->journal.committed = true;
                        r = pod_journal_save(x->state_dir, x->pod, &x->journal, reterr);
                        if (r < 0) {
                                x->journal.committed = false;
                                result = r;
                        }
                        continue;
                case PH_STEP_STOP:
                        pre_stop(x, s);
                        paths[k] = xasprintf("/containers/%s/stop?t=%u", id, pod_grace(x->o));
                        calls[k] = (PhDockerCall){.method = "POST", .timeout_ms = stop_ms};
                        break;
                case PH_STEP_RENAME:
                        paths[k] = xasprintf("/containers/%s/rename?name=%s", id, ename);
                        calls[k] = (PhDockerCall){.method = "POST"};
                        break;
                case PH_STEP_UPDATE: {
                        /* Podman (4.3) has no /update (docs/podman.md); a suspend there left the restart
                         * policies as they were, so there is nothing to restore. */
                        if (docker_engine(x->d)->kind == PH_ENGINE_PODMAN)
                                continue;
                        const PhObserved *o = &x->have->items[s->index];
                        json_t *want = NULL;
                        for (size_t w = 0; x->spec && w < x->spec->n; w++)
                                if ((o->infra && !x->spec->items[w].container) ||
                                    (o->container && x->spec->items[w].container &&
                                     strcmp(o->container, x->spec->items[w].container) == 0))
                                        want = json_object_get(
                                                json_object_get(x->spec->items[w].body, "HostConfig"),
                                                "RestartPolicy");
                        bodies[k] = json_pack("{s:O}", "RestartPolicy", want);
                        paths[k] = xasprintf("/containers/%s/update", id);
                        calls[k] = (PhDockerCall){.method = "POST", .body = bodies[k]};
                        break;
                }
                case PH_STEP_CREATE: {
                        const PhSpecContainer *c = &x->spec->items[s->index];
                        const char *infra = x->new_ids[x->spec->n - 1];
                        for (size_t h = 0; !infra && h < x->have->n; h++)
                                if (x->have->items[h].infra && !x->have->items[h].aside &&
                                    !pod_observed_is_gone(&x->have->items[h]))
                                        infra = x->have->items[h].id;
                        _cleanup_free_ char *cname = http_escape(c->name);
                        bodies[k] = pod_spec_create_body(c, infra, x->generation);
                        paths[k] = xasprintf("/containers/create?name=%s", cname);
                        calls[k] = (PhDockerCall){.method = "POST", .body = bodies[k]};
                        break;
                }
                case PH_STEP_START:
                        if (!x->started_at) {
                                x->started_at = (long long) time(NULL);
                                x->started_mono = now_mono();
                        }
                        paths[k] = xasprintf("/containers/%s/start", id);
                        calls[k] = (PhDockerCall){.method = "POST"};
                        break;
                case PH_STEP_REMOVE:
                        /* force: a container of a restart policy may have come back since its stop.
                         * v=false: named volumes hold the pod's data and never go with a container. */
                        paths[k] = xasprintf("/containers/%s?v=false&force=true", id);
                        calls[k] = (PhDockerCall){.method = "DELETE"};
                        break;
                }
                calls[k].path = paths[k];
                of[k++] = s;
        }
        if (result == 0)
                (void) docker_call_many(x->d, calls, k);
        for (size_t i = 0; i < k; i++) {
                PhDockerCall *c = &calls[i];
                const PhStep *s = of[i];
                const char *name =
                        s->op == PH_STEP_RENAME && !s->fresh && tolerant ? s->to : target_name(x, s);

                if (result < 0)
                        break;
                r = c->r;
                if (r == 0 && s->op == PH_STEP_CREATE) {
                        const char *id = json_string_value(json_object_get(c->json, "Id"));
                        if (id)
                                created(x, s->index, id);
                        else
                                r = ph_error_set(&c->err, EPROTO, "no Id in the answer");
                }
                if (r == -ENOENT && (s->op == PH_STEP_REMOVE || tolerant))
                        r = 0; /* gone already */
                if (r == -EEXIST && s->op == PH_STEP_REMOVE) {
                        /* "removal of container ... is already in progress": the Engine goes on with a
                         * removal whose client died */
                        r = wait_removed(x, target_id(x, s), name, &c->err);
                }
                if (r == -EEXIST && (s->op == PH_STEP_CREATE || s->op == PH_STEP_RENAME)) {
                        const char *wanted = s->op == PH_STEP_CREATE ? x->spec->items[s->index].name : s->to;
                        _cleanup_error_ PhError *conflict = TAKE_PTR(c->err);
                        r = name_conflict(x, wanted, conflict, &c->err);
                        if (r > 0) {
                                /* the name is free now: once more, alone */
                                json_auto_t *resp = NULL;
                                r = docker_call(x->d, "POST", c->path, c->body, NULL, &resp, &c->err);
                                const char *id = json_string_value(json_object_get(resp, "Id"));
                                if (r == 0 && s->op == PH_STEP_CREATE && id)
                                        created(x, s->index, id);
                        }
                }
                if (r < 0) {
                        (void) ph_error_set(reterr, -r, "%s container %s: %s", op_doing(s->op), name,
                                            ph_error_msg(c->err));
                        result = r;
                }
        }
        for (size_t i = 0; i < k; i++) {
                docker_call_done(&calls[i]);
                json_decref(bodies[i]);
        }
        free(bodies);
        /* Before any of them starts, so that a stop finds it even after a crash. */
        if (x->pre_stops_dirty) {
                r = save_pre_stops(x, result < 0 ? NULL : reterr);
                if (r < 0 && result == 0)
                        result = r;
        }
        if (result == 0 && n_checks > 0)
                result = check_started(x, checks, n_checks, reterr);
        return result;
}

/* Runs the plan wave by wave; stops at the first failing wave. */
static int run_plan(Exec *x, const PhPlan *p, bool tolerant, PhError **reterr) {
        for (size_t i = 0; i < p->n_steps;) {
                size_t j = i;
                while (j < p->n_steps && p->steps[j].wave == p->steps[i].wave)
                        j++;
                int r = run_wave(x, &p->steps[i], j - i, tolerant, reterr);
                if (r < 0)
                        return r;
                i = j;
        }
        return 0;
}

/* Undoes (or finishes) the interrupted update of journal j (NULL: none), from what the Engine shows.
 * *ret_note: what was done, or NULL when nothing was interrupted. */
static int repair(Exec *x, const PhJournal *j, char **ret_note, PhError **reterr) {
        const PhPodSpec *spec = x->spec;
        _cleanup_(pod_plan_freep) PhPlan *p = NULL;
        int r;

        r = observe(x, reterr);
        if (r < 0)
                return r;
        *ret_note = NULL;
        p = pod_plan_recover(x->pod, x->have, j);
        if (!j && pod_plan_is_empty(p))
                return 0;
        x->spec = NULL;
        r = run_plan(x, p, true, reterr);
        x->spec = spec;
        if (r < 0)
                return r;
        r = pod_journal_remove(x->state_dir, x->pod, reterr);
        if (r < 0)
                return r;
        if (!pod_plan_is_empty(p))
                *ret_note = xasprintf("an interrupted update (generation %lu) was %s", p->generation,
                                      p->finishes ? "finished" : "undone");
        return observe(x, reterr);
}

/* The repair of whatever a previous run left unfinished: its journal, or containers put aside. */
static int recover_pod(Exec *x, char **ret_note, PhError **reterr) {
        _cleanup_(pod_journal_freep) PhJournal *j = NULL;
        int r;

        r = pod_journal_load(x->state_dir, x->pod, &j, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s", x->pod);
        r = repair(x, j, ret_note, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s: repairing an interrupted update", x->pod);
        return 0;
}

/* --- what the pod needs first ------------------------------------------------------------------ */

/* The images a pod needs, looked up together: refs (NULL-terminated, distinct) -> the ID each resolves
 * to locally, "" when it is not present. */
static int images_lookup(PhDocker *d, char *const *refs, char ***ret, PhError **reterr) {
        size_t n = strv_length(refs);
        _cleanup_free_ PhDockerCall *calls = xcalloc(n ? n : 1, sizeof(PhDockerCall));
        _cleanup_strv_free_ char **paths = xcalloc(n + 1, sizeof(char *));
        _cleanup_strv_free_ char **ids = xcalloc(n + 1, sizeof(char *));
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = http_escape(refs[i]);
                paths[i] = xasprintf("/images/%s/json", name);
                calls[i] = (PhDockerCall){.path = paths[i]};
        }
        (void) docker_get_many(d, calls, n);
        for (size_t i = 0; i < n; i++) {
                const char *id = json_string_value(json_object_get(calls[i].json, "Id"));
                if (r == 0 && calls[i].r < 0 && calls[i].r != -ENOENT)
                        r = ph_error_set(reterr, -calls[i].r, "image %s: %s", refs[i],
                                         ph_error_msg(calls[i].err));
                ids[i] = xstrdup(calls[i].r == 0 && id ? id : "");
                docker_call_done(&calls[i]);
        }
        if (r < 0)
                return r;
        *ret = TAKE_PTR(ids);
        return 0;
}

static ssize_t strv_find(char *const *v, const char *s) {
        for (size_t i = 0; v && v[i]; i++)
                if (strcmp(v[i], s) == 0)
                        return (ssize_t) i;
        return -1;
}

/* The ID a container's image resolves to now (*id: from the lookup, "" when not present), pulled first
 * as its imagePullPolicy says (pull false: never, and "" when it is not present). */
static int image_id(PhDocker *d, const char *pod, const PhContainer *c, const PhPodOptions *o, bool pull,
                    char **id, PhError **reterr) {
        const char *policy = c->image_pull_policy ? c->image_pull_policy : "PullIfNotPresent";
        bool always = strcmp(policy, "PullAlways") == 0;
        json_auto_t *img = NULL;
        _cleanup_free_ char *auth = NULL, *registry = NULL;
        int r;

        if (!pull || (**id && !always))
                return 0;
        if (!**id && strcmp(policy, "PullNever") == 0)
                return ph_error_set(reterr, ENOENT,
                                    "container %s: image %s is not present and imagePullPolicy is PullNever",
                                    c->name, c->image);
        registry = registry_host_of(c->image);
        if (o && o->registry_auths) {
                r = registry_auth_header(o->registry_auths, c->image, &auth, NULL, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "container %s: image %s", c->name, c->image);
        }
        r = docker_image_pull_auth(d, c->image, auth, o && o->progress, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "container %s (registry %s%s)", c->name, registry,
                                       auth ? ", with credentials" : "");
        r = docker_image_inspect(d, c->image, &img, reterr);
        if (r <= 0)
                return r < 0 ? ph_error_prefix(reterr, "container %s: image %s", c->name, c->image)
                             : ph_error_set(reterr, ENOENT,
                                            "container %s: image %s: not present after its pull", c->name,
                                            c->image);
        const char *fresh = json_string_value(json_object_get(img, "Id"));
        /* What podhook pulled may go again once no container uses it (podhook prune). */
        r = image_record_pull(state_dir_of(o), c->image, fresh, pod, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "container %s", c->name);
        free(*id);
        *id = xstrdup(fresh ? fresh : "");
        return 0;
}

/* The image IDs of the manifest's containers ("" where unknown), the images pulled first when pull
 * says so; infra (optional): the infra image's ref, imported when it is missing. All present images
 * are looked up at once. */
static int image_ids(PhDocker *d, const char *pod, const PhManifest *m, const PhPodOptions *o, bool pull,
                     const char *infra, char ***ret, PhError **reterr) {
        _cleanup_strv_free_ char **ids = xcalloc(m->n_containers + 1, sizeof(char *));
        _cleanup_strv_free_ char **refs = xcalloc(m->n_containers + 2, sizeof(char *));
        _cleanup_strv_free_ char **found = NULL;
        _cleanup_free_ bool *pulled = xcalloc(m->n_containers + 2, sizeof(bool));
        size_t n = 0;
        int r;

        if (infra)
                refs[n++] = xstrdup(infra);
        for (size_t i = 0; i < m->n_containers; i++)
                if (strv_find(refs, m->containers[i].image) < 0)
                        refs[n++] = xstrdup(m->containers[i].image);
        r = images_lookup(d, refs, &found, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "%s", "looking up images");
        if (infra && !*found[0]) {
                r = infra_image_ensure(d, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "infra image");
        }
        for (size_t i = 0; i < m->n_containers; i++) {
                const PhContainer *c = &m->containers[i];
                size_t k = (size_t) strv_find(refs, c->image);
                /* an image pulled for one container is the one the others of its ref get */
                if (!pulled[k]) {
                        const char *had = found[k];
                        r = image_id(d, pod, c, o, pull, &found[k], reterr);
                        if (r < 0)
                                return r;
                        pulled[k] = found[k] != had;
                }
                ids[i] = xstrdup(found[k]);
        }
        *ret = TAKE_PTR(ids);
        return 0;
}

/* hostDir: the directory is made if missing and otherwise left exactly as it is. emptyDir: a named
 * volume of the pod, made when missing (those there already are not touched), refused when someone
 * else's volume has its name. */
static int ensure_volumes(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta,
                          PhError **reterr) {
        _cleanup_free_ char *l_pod = xasprintf(POD_LABEL_POD "=%s", pod);
        const char *labels[] = {POD_LABEL_MANAGED "=1", l_pod, NULL};
        _cleanup_free_ char *filter = docker_label_filter(labels);
        _cleanup_free_ char *path = xasprintf("/volumes?filters=%s", filter);
        json_auto_t *have = NULL;
        bool listed = false;
        int r;

        for (size_t i = 0; i < m->n_volumes; i++) {
                const PhVolume *v = &m->volumes[i];

                if (v->kind == PH_VOLUME_HOST_DIR) {
                        r = file_exists(v->host_path);
                        if (r == 0)
                                r = dir_make_parents(v->host_path, 0755, reterr);
                        else if (r < 0)
                                r = ph_error_set(reterr, -r, "%s: %s", v->host_path, strerror(-r));
                        if (r < 0)
                                return ph_error_prefix(reterr, "volume %s", v->name);
                        continue;
                }
                if (!listed) {
                        r = docker_get(d, path, &have, reterr);
                        if (r < 0)
                                return ph_error_prefix(reterr, "listing volumes");
                        listed = true;
                }
                _cleanup_free_ char *name = pod_volume_name(pod, v->name);
                bool present = false;
                size_t k;
                json_t *hv;
                json_array_foreach(json_object_get(have, "Volumes"), k, hv) present =
                        present || strcmp(json_string_value(json_object_get(hv, "Name")) ?: "", name) == 0;
                if (present)
                        continue;
                json_auto_t *body = json_object(), *resp = NULL;
                json_t *vl = json_object();
                json_object_set_new(body, "Name", json_string(name));
                json_object_set_new(body, "Labels", vl);
                pod_spec_set_labels(vl, pod, meta, NULL);
                json_object_set_new(vl, POD_LABEL_VOLUME, json_string(v->name));
                r = docker_call(d, "POST", "/volumes/create", body, NULL, &resp, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "volume %s: creating %s", v->name, name);
                const char *owner = pod_label(resp, POD_LABEL_POD);
                if (!owner || strcmp(owner, pod) != 0)
                        return ph_error_set(
                                reterr, EEXIST,
                                "volume %s: a Docker volume named %s exists and is not this pod's", v->name,
                                name);
        }
        return 0;
}

/* --- apply ------------------------------------------------------------------------------------- */

static int check_name(const char *pod, PhError **reterr) {
        if (!pod_name_is_valid(pod))
                return ph_error_set(reterr, EINVAL,
                                    "pod name '%s' is not a valid Docker name ([A-Za-z0-9][A-Za-z0-9_.-]*)",
                                    pod);
        return 0;
}

static PhPodSpec *spec_for(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta,
                           const PhPodOptions *o, char *const *ids, const unsigned char *key,
                           const json_t *config_dirs) {
        _cleanup_free_ char *infra = infra_image_ref();
        _cleanup_free_ char **known = xcalloc(m->n_containers + 1, sizeof(char *));

        for (size_t i = 0; i < m->n_containers; i++)
                known[i] = ids[i] && *ids[i] ? ids[i] : NULL;
        return pod_spec_build(&(PhSpecInput){
                .pod = pod,
                .m = m,
                .meta = meta,
                .no_init = o && o->no_init,
                .infra_image = infra,
                .image_ids = known,
                .key = key,
                .key_len = POD_NODE_KEY_LEN,
                .values = o,
                .config_dirs = config_dirs,
                .log_max_size = o && o->log_max_size_set ? o->log_max_size : POD_DEFAULT_LOG_MAX_SIZE,
                .log_max_file = o && o->log_max_file_set ? o->log_max_file : POD_DEFAULT_LOG_MAX_FILE,
                .podman = docker_engine(d)->kind == PH_ENGINE_PODMAN,
        });
}

/* The containers of the pod after plan p, in the spec's order (apps, then the infra). */
static char **current_ids(const Exec *x, const PhPlan *p) {
        char **ids = xcalloc(x->spec->n + 1, sizeof(char *));
        size_t n = 0;

        for (size_t i = 0; i < p->n_items; i++) {
                const PhPlanItem *it = &p->items[i];
                if (it->want < 0)
                        continue;
                const char *id = x->new_ids[it->want] ? x->new_ids[it->want]
                                 : it->have >= 0      ? x->have->items[it->have].id
                                                      : NULL;
                if (id)
                        ids[n++] = xstrdup(id);
        }
        return ids;
}

static void exec_done(Exec *x) {
        pod_observed_free(x->have);
        for (size_t i = 0; i < x->n_new; i++)
                free(x->new_ids[i]);
        free(x->new_ids);
        json_decref(x->pre_stops);
        free(x->address);
        free(x->address_of);
        free(x->notes);
        json_decref(x->inspected);
}

/* After an apply: the liveness probes of the pod's containers, for `wait_for: [pod:NAME]` of others. */
static int keep_probes(Exec *x, const PhPlan *p, PhError **reterr) {
        json_auto_t *want = json_object();

        for (size_t i = 0; i < p->n_items; i++) {
                const PhPlanItem *it = &p->items[i];
                if (it->want < 0 || !x->spec->items[it->want].liveness)
                        continue;
                const PhSpecProbe *pr = x->spec->items[it->want].liveness;
                const char *id = x->new_ids[it->want] ? x->new_ids[it->want]
                                 : it->have >= 0      ? x->have->items[it->have].id
                                                      : NULL;
                if (id)
                        json_object_set_new(want, id,
                                            json_pack("{s:o, s:i}", "action",
                                                      pod_spec_action_to_json(&pr->action), "timeout",
                                                      (int) pr->timeout));
        }
        return pod_probes_save(x->state_dir, x->pod, want, reterr);
}

/* After an apply: the preStop actions of exactly the pod's containers now (ids: the spec's order). A
 * kept container's action is the manifest's, since a preStop is part of the spec hash. */
static int keep_pre_stops(Exec *x, const PhPlan *p, PhError **reterr) {
        json_auto_t *want = json_object();
        int r;

        for (size_t i = 0; i < p->n_items; i++) {
                const PhPlanItem *it = &p->items[i];
                if (it->want < 0 || !x->spec->items[it->want].pre_stop)
                        continue;
                const char *id = x->new_ids[it->want] ? x->new_ids[it->want]
                                 : it->have >= 0      ? x->have->items[it->have].id
                                                      : NULL;
                if (id)
                        json_object_set_new(want, id,
                                            pod_spec_action_to_json(x->spec->items[it->want].pre_stop));
        }
        r = keep_probes(x, p, reterr);
        if (r < 0)
                return r;
        if (json_equal(want, x->pre_stops))
                return 0;
        json_object_clear(x->pre_stops);
        json_object_update(x->pre_stops, want);
        x->pre_stops_dirty = true;
        return save_pre_stops(x, reterr);
}

/* What a failed update says after its undo: the words "rolled back" and what is running now. */
static int fail_rolled_back(Exec *x, const PhPlan *p, PhError **err, PhError **reterr) {
        _cleanup_error_ PhError *rb = NULL;
        _cleanup_free_ char *note = NULL;
        bool had_old = false;
        int code = (*err)->code;
        int r;

        for (size_t i = 0; i < p->n_items; i++)
                had_old = had_old || p->items[i].have >= 0;
        r = repair(x, &x->journal, &note, &rb);
        x->undo = r < 0                     ? POD_UNDO_FAILED
                  : had_old && !p->recreate ? POD_UNDO_ROLLED_BACK
                                            : POD_UNDO_NOTHING_LEFT;
        if (r < 0)
                return ph_error_set(
                        reterr, code,
                        "pod %s: %s; rolling back failed too: %s (the next apply, hook run or agent start "
                        "repairs it)",
                        x->pod, ph_error_msg(*err), ph_error_msg(rb));
        return ph_error_set(
                reterr, code, "pod %s: %s; rolled back: %s", x->pod, ph_error_msg(*err),
                p->recreate
                        ? "the old pod had been removed first (--recreate), nothing of the new one is left"
                : had_old ? "the previous containers run again"
                          : "nothing of the new pod is left");
}

int pod_apply_undo(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta,
                   const PhPodOptions *o, json_t **ret_inspect, char **ret_summary, PhPodUndo *ret_undo,
                   PhError **reterr) {
        _cleanup_(exec_done) Exec x = {
                .d = d, .pod = pod, .o = o, .state_dir = state_dir_of(o), .inspected = json_object()};
        _cleanup_(pod_spec_freep) PhPodSpec *spec = NULL;
        _cleanup_(pod_plan_freep) PhPlan *p = NULL;
        _cleanup_strv_free_ char **ids = NULL, **now = NULL;
        _cleanup_free_ char *repaired = NULL, *summary = NULL, *infra_ref = infra_image_ref();
        _cleanup_error_ PhError *err = NULL;
        _cleanup_close_ int lock = -1, images = -1;
        json_auto_t *config_dirs = NULL;
        unsigned char key[POD_NODE_KEY_LEN];
        int r;

        if (ret_undo)
                *ret_undo = POD_UNDO_NONE;
        r = check_name(pod, reterr);
        if (r < 0)
                return r;
        /* What the pod depends on is ready before anything of it is touched (and before its lock is
         * taken: a pod waiting long must not keep `podhook delete` of it waiting too). */
        if (o && o->wait_for) {
                r = pod_wait_for(d, o, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "pod %s: nothing was changed", pod);
        }
        r = pod_state_dir_ensure(x.state_dir, reterr);
        if (r >= 0)
                r = pod_node_key(x.state_dir, true, key, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s: state directory", pod);
        r = pod_lock(pod, POD_LOCK_WAIT_SECS, &lock, reterr);
        if (r < 0)
                return r;
        r = pod_prestops_load(x.state_dir, pod, &x.pre_stops, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s", pod);
        r = recover_pod(&x, &repaired, reterr);
        if (r < 0)
                return r;

        /* Everything that can fail without touching the running pod comes first. */
        r = images_lock(false, POD_LOCK_WAIT_SECS, &images, reterr);
        if (r >= 0)
                r = image_ids(d, pod, m, o, true, infra_ref, &ids, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s", pod);
        /* New files go into new directories: the running containers keep reading theirs. */
        r = pod_config_prepare(x.state_dir, pod, m, o, key, sizeof(key), true, &config_dirs, reterr);
        if (r < 0)
                return r;
        spec = spec_for(d, pod, m, meta, o, ids, key, config_dirs);
        x.spec = spec;
        x.new_ids = xcalloc(spec->n + 1, sizeof(char *));
        x.n_new = spec->n;
        p = pod_plan_update(spec, x.have, o && o->recreate);
        /* A new infra binds the host ports: none may be another running container's (on Podman a start
         * onto a taken port takes that container's port rules too). A kept infra holds its own already,
         * so an unchanged re-apply makes no such read. */
        if (pod_plan_creates_infra(p)) {
                r = hostports_check_engine(d, pod, m, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "pod %s", pod);
        }
        r = ensure_volumes(d, pod, m, meta, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s", pod);
        x.generation = p->generation;
        x.journal = (PhJournal){
                .generation = p->generation, .was_running = p->was_running, .started = p->started};

        if (!pod_plan_is_empty(p)) {
                r = pod_journal_save(x.state_dir, pod, &x.journal, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "pod %s: journal", pod);
                r = run_plan(&x, p, false, &err);
                if (r < 0 && !x.journal.committed) {
                        r = fail_rolled_back(&x, p, &err, reterr);
                        if (ret_undo)
                                *ret_undo = x.undo;
                        return r;
                }
                if (r < 0) {
                        /* The new pod runs; the journal stays, so the next run removes what is left. */
                        summary = xasprintf(
                                "pod %s: removing the old containers failed: %s (the next apply finishes it)",
                                pod, ph_error_msg(err));
                } else {
                        r = pod_journal_remove(x.state_dir, pod, reterr);
                        if (r < 0)
                                return ph_error_prefix(reterr, "pod %s", pod);
                }
        }
        r = keep_pre_stops(&x, p, reterr);
        if (r < 0)
                return r;
        if (!summary) { /* the old containers are gone: so may their files be */
                r = pod_config_prune(x.state_dir, pod, config_dirs, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "pod %s", pod);
        }
        pod_state_gc_logged(d, x.state_dir);
        now = current_ids(&x, p);
        r = pod_inspect_ids_known(d, now, x.inspected, ret_inspect, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s: applied, but reading its containers failed", pod);
        if (o) { /* values given besides the manifest are secret by where they come from, not their name */
                _cleanup_strv_free_ char **values = NULL;
                pod_secret_values(o, m, &values);
                secret_scrub_json(*ret_inspect, values);
        }
        if (ret_summary) {
                _cleanup_free_ char *line = pod_plan_summary(p, spec, x.have, true);
                char *s = xasprintf("%s%s%s%s%s", repaired ? "pod " : "", repaired ? pod : "",
                                    repaired ? ": " : "", repaired ? repaired : "", repaired ? "\n" : "");
                char *t = xasprintf("%s%s%s%s%s%s", s, line, summary ? "\n" : "", summary ? summary : "",
                                    x.notes ? "\n" : "", x.notes ? x.notes : "");
                free(s);
                *ret_summary = t;
        }
        return 0;
}

int pod_apply(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta, const PhPodOptions *o,
              json_t **ret_inspect, char **ret_summary, PhError **reterr) {
        return pod_apply_undo(d, pod, m, meta, o, ret_inspect, ret_summary, NULL, reterr);
}

/* --- diff -------------------------------------------------------------------------------------- */

int pod_diff(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta, const PhPodOptions *o,
             json_t **ret_json, char **ret_text, PhError **reterr) {
        _cleanup_(exec_done) Exec x = {.d = d, .pod = pod, .o = o, .state_dir = state_dir_of(o)};
        _cleanup_(pod_spec_freep) PhPodSpec *spec = NULL;
        _cleanup_(pod_plan_freep) PhPlan *p = NULL;
        _cleanup_strv_free_ char **ids = NULL;
        unsigned char key[POD_NODE_KEY_LEN];
        int r;

        r = check_name(pod, reterr);
        if (r < 0)
                return r;
        /* Without a node key an apply would make one: every secret would count as changed. */
        r = pod_node_key(x.state_dir, false, key, reterr);
        if (r == 0 && getrandom(key, sizeof(key), 0) != (ssize_t) sizeof(key))
                r = ph_error_set(reterr, EIO, "getrandom: %m");
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s: state directory", pod);
        r = observe(&x, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s", pod);
        r = image_ids(d, pod, m, o, false, NULL, &ids, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s", pod);
        json_auto_t *config_dirs = NULL;
        r = pod_config_prepare(x.state_dir, pod, m, o, key, sizeof(key), false, &config_dirs, reterr);
        if (r < 0)
                return r;
        spec = spec_for(d, pod, m, meta, o, ids, key, config_dirs);
        p = pod_plan_update(spec, x.have, o && o->recreate);

        json_t *j = pod_plan_to_json(p, spec, x.have);
        char *text = xstrdup("");
        if (pod_observed_has_aside(x.have)) {
                char *t = xasprintf("pod %s: an interrupted update is repaired first\n", pod);
                free(text);
                text = t;
        }
        for (size_t i = 0; i < p->n_items; i++) {
                const PhPlanItem *it = &p->items[i];
                _cleanup_free_ char *why = xstrdup("");
                for (char **w = it->reasons; w && *w; w++) {
                        char *t = xasprintf("%s%s%s", why, *why ? ", " : "", *w);
                        free(why);
                        why = t;
                }
                if (it->want >= 0 && !spec->items[it->want].image_known) {
                        char *t = xasprintf("%s%s(image not present: pulled first)", why, *why ? " " : "");
                        free(why);
                        why = t;
                }
                char *t = xasprintf("%s%-32s %-8s %s\n", text, pod_plan_item_name(p, it, spec, x.have),
                                    pod_plan_action_name(it->action), why);
                free(text);
                text = t;
        }
        char *t = xasprintf("%spod %s: %s\n", text, pod,
                            pod_plan_is_empty(p) ? "nothing to do"
                            : p->pod_replace     ? "the whole pod is replaced"
                                                 : "only what changed is touched");
        free(text);
        text = t;
        *ret_json = j;
        *ret_text = text;
        return 0;
}

/* --- repairs at start ---------------------------------------------------------------------------- */

int pod_recover_all(PhDocker *d, const PhPodOptions *o, char **ret_summary, PhError **reterr) {
        const char *state_dir = state_dir_of(o);
        /* Only the updates this state directory journals: a container put aside without a journal may
         * be another podhook's update in progress (another state and run directory on the same Engine);
         * the next apply of that pod repairs it, under its lock. */
        _cleanup_strv_free_ char **pods = pod_journal_list(state_dir);
        _cleanup_free_ char *summary = xstrdup("");
        int r, result = 0;

        for (char **pod = pods; *pod; pod++) {
                _cleanup_(exec_done) Exec x = {.d = d, .pod = *pod, .o = o, .state_dir = state_dir};
                _cleanup_error_ PhError *err = NULL;
                _cleanup_free_ char *note = NULL;
                _cleanup_close_ int lock = -1;
                if (!pod_name_is_valid(*pod))
                        continue;
                r = pod_lock(*pod, POD_LOCK_WAIT_SECS, &lock, &err);
                if (r >= 0)
                        r = pod_prestops_load(state_dir, *pod, &x.pre_stops, &err);
                if (r >= 0)
                        r = recover_pod(&x, &note, &err);
                if (r < 0) {
                        result = ph_error_append(reterr, -r, "%s", ph_error_msg(err));
                        continue;
                }
                if (note) {
                        char *t = xasprintf("%spod %s: %s\n", summary, *pod, note);
                        free(summary);
                        summary = t;
                }
        }
        if (ret_summary)
                *ret_summary = TAKE_PTR(summary);
        return result;
}
