/* Dispatch of deployments (heat-protocol.md 2.3, with the resume and missing-hook fixes). */
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "common/deployment.h"
#include "common/secret.h"
#include "dispatch.h"
#include "pystr.h"
#include "runner/runner.h"


void dispatch_init(PhDispatch *d) {
        d->docker_run = docker_hook_run;
        d->docker_list = docker_hook_list_pods;
        d->docker_remove = docker_hook_remove_pod;
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
                                if (action && json_is_string(a) && strcmp(json_string_value(a), action) == 0) {
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

char **dispatch_secret_values(const json_t *deployment) {
        const char *group = json_string_value(json_object_get(deployment, "group"));

        if (group && strcmp(group, "docker") == 0)
                return docker_hook_secret_values(deployment);
        return secret_values_of_deployment(deployment);
}

static json_t *failure(const char *fmt, const char *a, const char *b) {
        _cleanup_free_ char *msg = xasprintf(fmt, a, b);
        return deployment_result("", msg, 1);
}

json_t *dispatch_run_hook(PhDispatch *d, const json_t *prepared) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *path = NULL;
        const char *group = json_string_value(json_object_get(prepared, "group"));
        json_t *data = NULL;

        if (!group)
                group = "Heat::Ungrouped";
        if (strcmp(group, "docker") == 0 && d->docker_run) {
                if (d->docker_run(prepared, &d->docker, &data, &err) < 0 || !json_is_object(data)) {
                        json_decref(data);
                        return failure("podhook: docker hook: %s%s\n", ph_error_msg(err), "");
                }
                return data;
        }
        if (runner_find_hook(group, d->hook_dirs, &path, &err) < 0)
                return failure("podhook: %s%s; the deployment cannot run\n", ph_error_msg(err), "");
        int r = runner_run_cancellable(path, prepared, d->hook_timeout, d->should_stop ? d->cancel_fd : -1,
                                       d->should_stop, d->userdata, &data, &err);
        if (r == -ECANCELED)
                return NULL;
        if (r < 0)
                return failure("podhook: %s: %s\n", path, ph_error_msg(err));
        return data;
}

int dispatch_one(PhDispatch *d, const json_t *deployment, PhError **reterr) {
        json_auto_t *prepared = NULL, *inputs = NULL, *data = NULL;
        const char *id = json_string_value(json_object_get(deployment, "id"));
        PhDeployState st;
        int r;

        if (!id || !state_id_valid(id))
                return ph_error_set(reterr, EINVAL, "deployment with a missing or unusable id skipped");
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
        report(d, st == PH_DEPLOY_IN_PROGRESS ? PH_DISPATCH_RESUME : PH_DISPATCH_START, id, prepared, NULL, NULL);
        r = state_deploy_begin(d->state, id, prepared, reterr);
        if (r < 0)
                return r;
        data = dispatch_run_hook(d, prepared);
        if (!data)
                return ph_error_set(reterr, EINTR, "deployment %s interrupted; it runs again at the next start", id);
        /* A hook may echo a password or a signed URL it was given: none of them leaves the machine. */
        _cleanup_strv_free_ char **secrets = dispatch_secret_values(prepared);
        secret_scrub_json(data, secrets);
        inputs = dispatch_signal_inputs(prepared);
        r = outbox_add(d->outbox, id, inputs, data, reterr);
        if (r < 0)
                return r;
        r = state_deploy_finish(d->state, id, data, reterr);
        if (r < 0)
                return r;
        report(d, PH_DISPATCH_RESULT, id, prepared, data, NULL);
        r = outbox_flush_one(d->outbox, id, time(NULL), reterr);
        return r < 0 ? r : 1;
}

int dispatch_all(PhDispatch *d, const json_t *deployments) {
        json_auto_t *seen = json_object(); /* id -> index of its first entry */
        size_t i;
        const json_t *dep;
        int ran = 0;

        json_array_foreach(deployments, i, dep) {
                _cleanup_error_ PhError *err = NULL;
                const char *id = json_string_value(json_object_get(dep, "id"));
                const json_t *first = id ? json_object_get(seen, id) : NULL;
                int r;

                if (d->should_stop && d->should_stop(d->userdata))
                        return -EINTR;
                if (first) {
                        (void)ph_error_set(&err, EEXIST,
                                           "listed more than once (entries %" JSON_INTEGER_FORMAT
                                           " and %zu); only the first runs",
                                           json_integer_value(first), i);
                        report(d, PH_DISPATCH_ERROR, id, dep, NULL, err);
                        continue;
                }
                if (id)
                        json_object_set_new(seen, id, json_integer((json_int_t)i));
                r = dispatch_one(d, dep, &err);
                if (r == -EINTR) {
                        report(d, PH_DISPATCH_ERROR, json_string_value(json_object_get(dep, "id")), dep, NULL, err);
                        return -EINTR;
                }
                if (r < 0)
                        report(d, PH_DISPATCH_ERROR, json_string_value(json_object_get(dep, "id")), dep, NULL, err);
                else
                        ran += r;
        }
        return ran;
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

void dispatch_forget_vanished(PhDispatch *d, const json_t *deployments) {
        _cleanup_strv_free_ char **ids = state_in_progress(d->state);

        for (char **id = ids; *id; id++)
                if (!listed(deployments, *id))
                        state_deploy_abandon(d->state, *id);
}

/* "<stack id>\n<resource name>": the Heat deployment resource an entry belongs to, stable across actions. */
static char *resource_key(const json_t *deployment) {
        const char *stack = deployment_input(deployment, "deploy_stack_id");
        const char *res = deployment_input(deployment, "deploy_resource_name");

        const char *name = json_string_value(json_object_get(deployment, "name"));

        if (stack && res)
                return xasprintf("%s\n%s", stack, res);
        /* Not from Heat (a local source): the entry's name is all there is. */
        return name ? xasprintf("\n\n%s", name) : NULL;
}

int dispatch_reconcile(PhDispatch *d, const json_t *deployments, PhError **reterr) {
        json_auto_t *pods = NULL, *current = json_object();
        const char *pod;
        json_t *v;
        size_t i;
        const json_t *dep;
        int removed = 0, r;

        if (!d->docker_list || !d->docker_remove)
                return 0;
        json_array_foreach(deployments, i, dep) {
                _cleanup_free_ char *key = resource_key(dep);
                if (key)
                        json_object_set_new(current, key, json_true());
        }
        r = d->docker_list(&d->docker, &pods, reterr);
        if (r < 0)
                return r;
        json_object_foreach(pods, pod, v) {
                const char *dep_id = json_string_value(v);
                if (!dep_id || !*dep_id || listed(deployments, dep_id) || !state_id_valid(dep_id))
                        continue;
                /* Only pods this agent deployed (a marker of ours names their config id). */
                json_auto_t *marker = state_deploy_marker(d->state, dep_id);
                if (!json_is_object(marker))
                        continue;
                _cleanup_free_ char *key = resource_key(marker);
                /* Same Heat deployment, newer config id (e.g. an update that failed validation): keep. */
                if (!key || json_object_get(current, key))
                        continue;
                _cleanup_error_ PhError *err = NULL;
                if (d->docker_remove(&d->docker, pod, &err) < 0) {
                        report(d, PH_DISPATCH_ERROR, dep_id, marker, NULL, err);
                        continue;
                }
                json_auto_t *name = json_string(pod);
                report(d, PH_DISPATCH_POD_REMOVED, dep_id, marker, name, NULL);
                removed++;
        }
        return removed;
}
