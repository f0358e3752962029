/* Dispatch of deployments (heat-protocol.md 2.3, with the resume and missing-hook fixes). */
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "common/cleanup.h"

#include "common/deployment.h"
#include "common/secret.h"
#include "dispatch.h"
#include "pystr.h"
#include "signal/signal.h"

#define ABSENT_STATE_FILE "absent.json"

void dispatch_done(PhDispatch *d) {
        json_decref(d->pending);
        json_decref(d->absent);
        d->pending = d->absent = NULL;
}

static void report(PhDispatch *d, PhDispatchEvent ev, const char *id, const json_t *dep, const json_t *data,
                   const PhError *err) {
        if (d->report)
                d->report(ev, id, dep, data, err, d->userdata);
}

json_t *dispatch_inputs_map(const json_t *deployment) {
        json_t *map = json_object();
        size_t i;
        const json_t *in;

        json_array_foreach(json_object_get(deployment, "inputs"), i, in) {
                const char *n = json_string_value(json_object_get(in, "name"));
                json_t *v = json_object_get(in, "value");
                if (n)
                        json_object_set(map, n, v ? v : json_null());
        }
        return map;
}

json_t *dispatch_signal_inputs(const json_t *deployment) {
        json_t *map = dispatch_inputs_map(deployment);
        const char *k;
        json_t *v;
        void *tmp;

        /* The transports only read deploy_* inputs; other values (user secrets) stay out of the outbox. */
        json_object_foreach_safe(map, tmp, k, v) {
                if (strncmp(k, "deploy_", 7) != 0)
                        json_object_del(map, k);
        }
        return map;
}

int dispatch_prepare(const json_t *deployment, json_t **ret, PhError **reterr) {
        json_auto_t *d = NULL;
        json_t *inputs;
        size_t i;
        json_t *in;

        if (!json_is_object(deployment) || !json_is_string(json_object_get(deployment, "id")))
                return ph_error_set(reterr, EINVAL, "deployment without an id");
        d = json_deep_copy(deployment);
        inputs = json_object_get(d, "inputs");
        if (inputs && !json_is_array(inputs))
                return ph_error_set(reterr, EINVAL, "deployment %s: inputs is not a list",
                                    json_string_value(json_object_get(d, "id")));
        /* Before str() below would make "5" or "['CREATE']" of it: what to do is no guess. */
        const json_t *raw_action = deployment_input_json(d, "deploy_action");
        if (raw_action && !json_is_string(raw_action))
                return ph_error_set(
                        reterr, EINVAL, "deployment %s: input deploy_action must be a string, not %s",
                        json_string_value(json_object_get(d, "id")), deployment_kind_of(raw_action));
        json_array_foreach(inputs, i, in) {
                const char *type = json_string_value(json_object_get(in, "type"));
                json_t *v = json_object_get(in, "value");
                if (!json_is_object(in))
                        return ph_error_set(reterr, EINVAL, "deployment %s: input %zu is not an object",
                                            json_string_value(json_object_get(d, "id")), i);
                if (!v)
                        json_object_set_new(in, "value", json_null()), v = json_object_get(in, "value");
                /* 55-heat-config: type String (also the default) and a non-string value → str(value). */
                if ((!type || strcmp(type, "String") == 0) && !json_is_string(v)) {
                        _cleanup_free_ char *s = pystr(v);
                        json_object_set_new(in, "value", json_string(s));
                }
        }
        const char *group = json_string_value(json_object_get(d, "group"));
        if (group && strcmp(group, "component") == 0) {
                const char *action = deployment_input(d, "deploy_action");
                json_t *configs = json_object_get(json_object_get(d, "config"), "configs"), *c;
                json_t *found = NULL;
                json_array_foreach(configs, i, c) {
                        size_t j;
                        json_t *a;
                        json_array_foreach(json_object_get(c, "actions"), j, a) {
                                if (action && json_is_string(a) &&
                                    strcmp(json_string_value(a), action) == 0) {
                                        found = c;
                                        break;
                                }
                        }
                        if (found)
                                break;
                }
                if (!found)
                        return 1;
                json_t *cfg = json_object_get(found, "config"), *tool = json_object_get(found, "tool");
                json_incref(cfg), json_incref(tool);
                json_object_set_new(d, "config", cfg ? cfg : json_string(""));
                json_object_set_new(d, "group", tool ? tool : json_string("Heat::Ungrouped"));
        }
        *ret = TAKE_PTR(d);
        return 0;
}

static double mono_seconds(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int dispatch_run_hook(PhDispatch *d, const json_t *prepared, PhHookResult *ret) {
        _cleanup_error_ PhError *err = NULL;
        const char *group = json_string_value(json_object_get(prepared, "group"));
        const PhHook *h = hook_find(d->hooks, d->n_hooks, group);
        PhHookCall call = {.cancel = d->cancel};
        int r;

        *ret = (PhHookResult){};
        if (!h) {
                _cleanup_free_ char *msg =
                        xasprintf("podhook: no hook runs group '%s'; the deployment cannot run\n",
                                  group ? group : "Heat::Ungrouped");
                ret->data = deployment_result("", msg, 1);
                return 0;
        }
        r = h->ops->run(h, prepared, &call, ret, &err);
        if (r == -ECANCELED || (r < 0 && http_cancel_requested(d->cancel))) {
                hook_result_done(ret);
                return -ECANCELED;
        }
        if (r < 0 || !json_is_object(ret->data)) {
                _cleanup_free_ char *msg = xasprintf("podhook: %s hook: %s\n", h->ops->name,
                                                     err ? ph_error_msg(err) : "no result");
                hook_result_done(ret);
                ret->data = deployment_result("", msg, 1);
        }
        return 0;
}

/* Writes what is left of a pending result: the outbox entry, then the in-progress record goes, then
 * results/<id>.json; the signal is tried as soon as the entry is stored. 0 when all is written. */
static int advance(PhDispatch *d, const char *id, PhError **reterr) {
        json_t *p = json_object_get(d->pending, id);
        const json_t *dep = json_object_get(p, "deployment"), *data = json_object_get(p, "data");
        const char *stage = json_string_value(json_object_get(p, "stage"));
        int r = 0;

        if (strcmp(stage, "outbox") == 0) {
                r = outbox_add(d->outbox, id, json_object_get(p, "inputs"), data, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "it ran; its result is kept in memory and it is not "
                                                       "run again");
                report(d, PH_DISPATCH_RESULT, id, dep, data, NULL);
                stage = "finish";
        }
        if (strcmp(stage, "finish") == 0) {
                r = state_deploy_finish(d->state, id, reterr);
                if (r == 0)
                        stage = "result";
        }
        if (r == 0 && strcmp(stage, "result") == 0)
                r = state_save_result(d->state, id, data, reterr);
        /* The entry is durable: a failure above no longer stops its signal. */
        _cleanup_error_ PhError *ferr = NULL;
        (void) outbox_flush_one(d->outbox, id, time(NULL), &ferr);
        if (r == 0) {
                json_object_del(d->pending, id);
                return 0;
        }
        json_object_set_new(p, "stage", json_string(stage));
        return r;
}

int dispatch_one(PhDispatch *d, const json_t *deployment, PhError **reterr) {
        json_auto_t *prepared = NULL, *inputs = NULL, *data = NULL;
        const char *id = json_string_value(json_object_get(deployment, "id"));
        PhDeployState st;
        int r;

        if (!id || !state_id_valid(id))
                return ph_error_set(reterr, EINVAL, "deployment with a missing or unusable id skipped");
        /* It ran; only writing its result failed: never run again for that. */
        if (json_object_get(d->pending, id))
                return 0;
        st = state_deploy_state(d->state, id);
        /* Done is done, --force or not: as with heat-config, deleting the marker is how to re-run. */
        if (st == PH_DEPLOY_DONE)
                return 0;
        r = dispatch_prepare(deployment, &prepared, reterr);
        if (r < 0)
                return r;
        if (r == 1) {
                report(d, PH_DISPATCH_NO_ACTION, id, deployment, NULL, NULL);
                return 0;
        }
        report(d, st == PH_DEPLOY_IN_PROGRESS ? PH_DISPATCH_RESUME : PH_DISPATCH_START, id, prepared, NULL,
               NULL);
        r = state_deploy_begin(d->state, id, prepared, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "not started");
        _cleanup_(hook_result_done) PhHookResult run = {};
        double began = mono_seconds();
        if (dispatch_run_hook(d, prepared, &run) < 0)
                return ph_error_set(reterr, EINTR,
                                    "deployment %s interrupted; it runs again at the next start", id);
        data = TAKE_PTR(run.data);
        /* A hook may echo a password or a signed URL it was given: none of them leaves the machine. */
        _cleanup_strv_free_ char **secrets = hook_secret_values(d->hooks, d->n_hooks, prepared);
        secret_scrub_json(data, secrets);
        json_auto_t *ran =
                json_pack("{s:O?, s:f, s:b}", "status_code", json_object_get(data, "deploy_status_code"),
                          "seconds", mono_seconds() - began, "rolled_back", run.rolled_back);
        if (run.pod)
                json_object_set_new(ran, "pod", json_string(run.pod));
        if (run.summary) {
                /* The summary is the hook's words, as deploy_stderr is: scrubbed the same way. */
                json_object_set_new(ran, "summary", json_string(run.summary));
                secret_scrub_json(ran, secrets);
        }
        report(d, PH_DISPATCH_RAN, id, prepared, ran, NULL);
        inputs = dispatch_signal_inputs(prepared);
        /* Cut to what a signal carries before it is stored: an entry is never too big to be read back. */
        json_auto_t *fitted = signal_fit(data, SIGNAL_MAX_BODY);
        if (!d->pending)
                d->pending = json_object();
        json_object_set_new(d->pending, id,
                            json_pack("{s:O, s:O, s:O, s:s}", "deployment", prepared, "inputs", inputs,
                                      "data", fitted, "stage", "outbox"));
        r = advance(d, id, reterr);
        return r < 0 ? r : 1;
}

int dispatch_all(PhDispatch *d, const json_t *deployments) {
        json_auto_t *seen = json_object(); /* id -> index of its first entry */
        size_t i;
        const json_t *dep;
        int ran = 0;

        d->listed = deployments;
        json_array_foreach(deployments, i, dep) {
                _cleanup_error_ PhError *err = NULL;
                const char *id = json_string_value(json_object_get(dep, "id"));
                const json_t *first = id ? json_object_get(seen, id) : NULL;
                int r;

                if (http_cancel_requested(d->cancel)) {
                        ran = -EINTR;
                        break;
                }
                if (first) {
                        (void) ph_error_set(&err, EEXIST,
                                            "listed more than once (entries %" JSON_INTEGER_FORMAT
                                            " and %zu); only the first runs",
                                            json_integer_value(first), i);
                        report(d, PH_DISPATCH_ERROR, id, dep, NULL, err);
                        continue;
                }
                if (id)
                        json_object_set_new(seen, id, json_integer((json_int_t) i));
                r = dispatch_one(d, dep, &err);
                if (r == -EINTR) {
                        report(d, PH_DISPATCH_ERROR, id, dep, NULL, err);
                        ran = -EINTR;
                        break;
                }
                if (r < 0)
                        report(d,
                               id && json_object_get(d->pending, id) ? PH_DISPATCH_STATE_ERROR
                                                                     : PH_DISPATCH_ERROR,
                               id, dep, NULL, err);
                else
                        ran += r;
        }
        d->listed = NULL;
        return ran;
}

size_t dispatch_retry_pending(PhDispatch *d) {
        const char *id;
        json_t *p;
        void *tmp;

        json_object_foreach_safe(d->pending, tmp, id, p) {
                _cleanup_error_ PhError *err = NULL;
                json_auto_t *dep = json_incref(json_object_get(p, "deployment"));
                if (advance(d, id, &err) < 0)
                        report(d, PH_DISPATCH_STATE_ERROR, id, dep, NULL, err);
        }
        return json_object_size(d->pending);
}

size_t dispatch_stop(PhDispatch *d) {
        size_t lost = 0;
        const char *id;
        json_t *p;
        void *tmp;

        json_object_foreach_safe(d->pending, tmp, id, p) {
                _cleanup_error_ PhError *err = NULL, *lerr = NULL;
                json_auto_t *dep = json_incref(json_object_get(p, "deployment"));
                if (advance(d, id, &err) == 0)
                        continue;
                /* Past the outbox the result is safe; only the record of it is missing. */
                if (strcmp(json_string_value(json_object_get(p, "stage")), "outbox") == 0) {
                        bool told = state_deploy_lose(d->state, id, &lerr) == 0;
                        if (lerr)
                                (void) ph_error_append(&err, lerr->code, "%s", ph_error_msg(lerr));
                        json_auto_t *flag = json_boolean(told);
                        report(d, PH_DISPATCH_LOST, id, dep, flag, err);
                        lost++;
                } else
                        report(d, PH_DISPATCH_STATE_ERROR, id, dep, NULL, err);
                json_object_del(d->pending, id);
        }
        return lost;
}

/* What Heat is told about a deployment whose result was lost with the agent that ran it. */
static void recover_lost(PhDispatch *d, const char *id) {
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *marker = state_deploy_marker(d->state, id);

        if (!json_is_object(marker)) {
                /* Its marker was deleted: whoever did that wants it run again. */
                (void) state_lost_done(d->state, id, NULL);
                return;
        }
        json_auto_t *data =
                deployment_result("",
                                  "podhook: the deployment ran, but the agent could not store its "
                                  "result in its state directory before it stopped, so the result is "
                                  "lost; the deployment was not run again\n",
                                  1);
        json_auto_t *inputs = dispatch_signal_inputs(marker);
        int r = outbox_add(d->outbox, id, inputs, data, &err);
        if (r == 0)
                r = state_lost_done(d->state, id, &err);
        if (r < 0) {
                report(d, PH_DISPATCH_STATE_ERROR, id, marker, NULL, err);
                return;
        }
        (void) state_save_result(d->state, id, data, NULL);
        report(d, PH_DISPATCH_RESULT, id, marker, data, NULL);
}

/* An interrupted run whose result reached the outbox after it started: finished, not to run again. */
static void recover_in_progress(PhDispatch *d, const char *id) {
        time_t started = state_deploy_started(d->state, id);
        json_auto_t *e = outbox_entry(d->outbox, id);

        if (!json_is_object(e)) {
                json_decref(e);
                e = outbox_sent_entry(d->outbox, id);
        }
        if (!json_is_object(e) || started == 0 || json_integer_value(json_object_get(e, "created")) < started)
                return;
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *marker = state_deploy_marker(d->state, id);
        if (state_deploy_finish(d->state, id, &err) < 0) {
                report(d, PH_DISPATCH_STATE_ERROR, id, marker, NULL, err);
                return;
        }
        (void) state_save_result(d->state, id, json_object_get(e, "data"), NULL);
        report(d, PH_DISPATCH_RECOVERED, id, marker, NULL, NULL);
}

void dispatch_recover(PhDispatch *d) {
        _cleanup_strv_free_ char **lost = state_lost(d->state);
        _cleanup_strv_free_ char **running = state_in_progress(d->state);

        for (char **id = lost; *id; id++)
                recover_lost(d, *id);
        for (char **id = running; *id; id++)
                if (!json_object_get(d->pending, *id))
                        recover_in_progress(d, *id);
        outbox_prune_sent(d->outbox);
}

static bool listed(const json_t *deployments, const char *id) {
        size_t i;
        const json_t *dep;

        json_array_foreach(deployments, i, dep) {
                const char *x = json_string_value(json_object_get(dep, "id"));
                if (x && strcmp(x, id) == 0)
                        return true;
        }
        return false;
}

/* <state>/absent.json: {"pods": {resource key: passes}, "inprogress": {id: passes}}. */
static json_t *absent_of(PhDispatch *d, const char *kind) {
        if (!d->absent) {
                d->absent = state_load_json(d->state, ABSENT_STATE_FILE);
                if (!json_is_object(d->absent)) {
                        json_decref(d->absent);
                        d->absent = json_object();
                }
        }
        json_t *m = json_object_get(d->absent, kind);
        if (!json_is_object(m)) {
                m = json_object();
                json_object_set_new(d->absent, kind, m);
        }
        return m;
}

/* One more complete pass without key (in counts `old`, borrowed); true when it is missing for good. The
 * new count goes to `next`, which replaces the old counts: keys seen again drop out by themselves. */
static bool absent_once_more(const json_t *old, json_t *next, const char *key) {
        json_int_t n = json_integer_value(json_object_get(old, key)) + 1;

        if (n >= DISPATCH_ABSENT_PASSES)
                return true;
        json_object_set_new(next, key, json_integer(n));
        return false;
}

static void absent_save(PhDispatch *d, const char *kind, json_t *next) {
        _cleanup_error_ PhError *err = NULL;

        if (json_equal(absent_of(d, kind), next))
                return;
        json_object_set(d->absent, kind, next);
        if (state_save_json(d->state, ABSENT_STATE_FILE, d->absent, &err) < 0)
                report(d, PH_DISPATCH_STATE_ERROR, NULL, NULL, NULL, err);
}

void dispatch_forget_vanished(PhDispatch *d, const json_t *deployments) {
        _cleanup_strv_free_ char **ids = state_in_progress(d->state);
        const json_t *old = absent_of(d, "inprogress");
        json_auto_t *next = json_object();

        for (char **id = ids; *id; id++) {
                if (listed(deployments, *id) || json_object_get(d->pending, *id) ||
                    !absent_once_more(old, next, *id))
                        continue;
                _cleanup_error_ PhError *err = NULL;
                if (state_deploy_forget(d->state, *id, &err) < 0)
                        report(d, PH_DISPATCH_STATE_ERROR, *id, NULL, NULL, err);
        }
        absent_save(d, "inprogress", next);
}

char *dispatch_resource_key(const json_t *deployment) {
        const char *stack = deployment_input(deployment, "deploy_stack_id");
        const char *res = deployment_input(deployment, "deploy_resource_name");

        const char *name = json_string_value(json_object_get(deployment, "name"));

        if (stack && res)
                return xasprintf("%s\n%s", stack, res);
        /* Not from Heat (a local source): the entry's name is all there is. */
        return name ? xasprintf("\n\n%s", name) : NULL;
}

/* Every marker of the Heat deployment key goes to removed/: whichever of its configs comes back runs. */
static void forget_resource(PhDispatch *d, const char *key) {
        _cleanup_strv_free_ char **ids = state_markers(d->state);

        for (char **id = ids; *id; id++) {
                json_auto_t *marker = state_deploy_marker(d->state, *id);
                _cleanup_free_ char *k = json_is_object(marker) ? dispatch_resource_key(marker) : NULL;
                _cleanup_error_ PhError *err = NULL;
                if (k && strcmp(k, key) == 0 && state_deploy_forget(d->state, *id, &err) < 0)
                        report(d, PH_DISPATCH_STATE_ERROR, *id, marker, NULL, err);
        }
}

bool dispatch_is_listed(const char *stack, const char *resource, void *userdata) {
        const PhDispatch *d = userdata;
        size_t i;
        const json_t *dep;

        if (!d->listed)
                return true;
        json_array_foreach(d->listed, i, dep) {
                const char *s2 = deployment_input(dep, "deploy_stack_id");
                const char *r2 = deployment_input(dep, "deploy_resource_name");
                if (s2 && r2 && strcmp(s2, stack) == 0 && strcmp(r2, resource) == 0)
                        return true;
        }
        return false;
}

bool dispatch_pods_missing(PhDispatch *d) {
        return json_object_size(absent_of(d, "pods")) > 0;
}

int dispatch_reconcile(PhDispatch *d, const json_t *deployments, PhError **reterr) {
        json_auto_t *pods = NULL, *current = json_object(), *next = json_object(), *doomed = json_object();
        const char *pod, *key;
        json_t *v;
        size_t i;
        const json_t *dep;
        int removed = 0, r;

        json_array_foreach(deployments, i, dep) {
                _cleanup_free_ char *k = dispatch_resource_key(dep);
                if (k)
                        json_object_set_new(current, k, json_true());
        }
        /* Every entry's pods, as "<entry index>\n<pod>": two entries may keep pods of one name. */
        pods = json_object();
        for (size_t h = 0; h < d->n_hooks; h++) {
                json_auto_t *owned = NULL;
                if (!d->hooks[h].ops->list_owned || !d->hooks[h].ops->remove_owned)
                        continue;
                r = d->hooks[h].ops->list_owned(&d->hooks[h], &owned, reterr);
                if (r < 0)
                        return r;
                json_object_foreach(owned, pod, v) {
                        /* A drop-in's pod goes with its file, never with Heat's metadata. */
                        if (json_object_get(v, "dropin"))
                                continue;
                        _cleanup_free_ char *k = xasprintf("%zu\n%s", h, pod);
                        json_object_set(pods, k, json_object_get(v, "deployment"));
                }
        }
        /* First what goes, by Heat deployment: its markers move only after all of its pods are gone. */
        const json_t *old = absent_of(d, "pods");
        const char *entry;
        json_object_foreach(pods, entry, v) {
                const char *dep_id = json_string_value(v);
                pod = strchr(entry, '\n') + 1;
                if (!dep_id || !*dep_id || listed(deployments, dep_id) || !state_id_valid(dep_id))
                        continue;
                /* Only pods this agent deployed (a marker of ours names their config id). */
                json_auto_t *marker = state_deploy_marker(d->state, dep_id);
                if (!json_is_object(marker))
                        continue;
                _cleanup_free_ char *k = dispatch_resource_key(marker);
                /* Same Heat deployment, newer config id (e.g. an update that failed validation): keep. */
                if (!k || json_object_get(current, k))
                        continue;
                json_t *group = json_object_get(doomed, k);
                /* Missing once may be a stale copy of the metadata: only a second pass in a row counts. */
                if (!group && (json_object_get(next, k) || !absent_once_more(old, next, k))) {
                        json_auto_t *name = json_string(pod);
                        report(d, PH_DISPATCH_POD_KEPT, dep_id, marker, name, NULL);
                        continue;
                }
                if (!group) {
                        group = json_object();
                        json_object_set_new(doomed, k, group);
                }
                json_object_set_new(group, entry, json_pack("{s:s, s:O}", "id", dep_id, "marker", marker));
        }
        json_object_foreach(doomed, key, v) {
                bool all = true;
                const char *p;
                json_t *e;
                json_object_foreach(v, p, e) {
                        _cleanup_error_ PhError *err = NULL;
                        const char *dep_id = json_string_value(json_object_get(e, "id"));
                        const json_t *marker = json_object_get(e, "marker");
                        const PhHook *h = &d->hooks[strtoul(p, NULL, 10)];
                        const char *pod_name = strchr(p, '\n') + 1;
                        if (h->ops->remove_owned(h, pod_name, &err) < 0) {
                                report(d, PH_DISPATCH_ERROR, dep_id, marker, NULL, err);
                                all = false;
                                continue;
                        }
                        json_auto_t *name = json_string(pod_name);
                        report(d, PH_DISPATCH_POD_REMOVED, dep_id, marker, name, NULL);
                        removed++;
                }
                if (all)
                        forget_resource(d, key);
                else /* tried again next pass */
                        json_object_set_new(next, key, json_integer(DISPATCH_ABSENT_PASSES - 1));
        }
        absent_save(d, "pods", next);
        return removed;
}
