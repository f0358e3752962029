#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "common/deployment.h"
#include "common/secret.h"
#include "docker/docker.h"
#include "docker/hook-docker.h"
#include "docker/pod-exec.h"
#include "docker/pod.h"
#include "manifest/manifest.h"

/* deploy_stdout, deploy_stderr and deploy_status_code being put together. */
typedef struct HookResult {
        json_t *stdout_json; /* inspect array (new ref) */
        char *stderr_text;
        int status;
        char *last;       /* the last line said: the outcome's summary */
        bool rolled_back; /* the apply failed and undid its update */
} HookResult;

static void result_done(HookResult *h) {
        json_decref(h->stdout_json);
        free(h->stderr_text);
        free(h->last);
}

static void result_say(HookResult *h, const char *text) {
        char *s = h->stderr_text ? xasprintf("%s%s\n", h->stderr_text, text) : xasprintf("%s\n", text);

        free(h->stderr_text);
        h->stderr_text = s;
        free(h->last);
        h->last = xstrndup(text, strcspn(text, "\n"));
}

static void result_fail(HookResult *h, int status, const PhError *err) {
        h->status = status;
        result_say(h, ph_error_msg(err));
}

static json_t *result_json(HookResult *h) {
        json_auto_t *none = json_array();
        _cleanup_free_ char *out = json_dumps(h->stdout_json ? h->stdout_json : none, JSON_COMPACT);

        /* Messages may carry bytes that are not UTF-8 (e.g. from $DOCKER_HOST): deployment_result
         * replaces them, so there is still exactly one result. */
        return deployment_result(out ? out : "[]", h->stderr_text, h->status);
}

static PhPodOptions pod_options_of(const PhDockerHookOptions *o) {
        return (PhPodOptions) {
                .grace_seconds = o ? o->grace_seconds : 0,
                .no_init = o && o->no_init,
                .progress = o && o->progress,
                .state_dir = o ? o->state_dir : NULL,
                .start_window = o ? o->start_window : 0,
                .start_window_set = o && o->start_window_set,
                .ready_timeout = o ? o->ready_timeout : 0,
                .ready_timeout_set = o && o->ready_timeout_set,
        };
}

/* A whole number of seconds from 0 to 3600 in the deployment's options: *ret and *ret_set. */
static void option_seconds(const json_t *opts, const char *key, unsigned *ret, bool *ret_set) {
        json_t *v = json_object_get(opts, key);

        if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= 3600) {
                *ret = (unsigned) json_integer_value(v);
                *ret_set = true;
        }
}

/* The deployment's `options` (or, when it has none, those beside a wrapped manifest's `manifest:`) may
 * carry grace_period, start_window and ready_timeout (seconds) and init (bool); they win over the hook's
 * own. */
static void options_from(const json_t *opts, PhPodOptions *po) {
        json_t *grace = json_object_get(opts, "grace_period");
        json_t *init = json_object_get(opts, "init");

        if (json_is_integer(grace) && json_integer_value(grace) > 0 && json_integer_value(grace) < 3600)
                po->grace_seconds = (unsigned) json_integer_value(grace);
        if (json_is_boolean(init))
                po->no_init = !json_boolean_value(init);
        option_seconds(opts, "start_window", &po->start_window, &po->start_window_set);
        option_seconds(opts, "ready_timeout", &po->ready_timeout, &po->ready_timeout_set);
}

/* The deployment's config as a manifest document: YAML/JSON text or an object. */
static int manifest_doc_of(const json_t *deployment, const char *source, PhManifestDoc **ret, PhError **reterr) {
        const json_t *config = json_object_get(deployment, "config");

        if (json_is_string(config))
                return manifest_doc_parse(json_string_value(config), json_string_length(config), source, ret,
                                          reterr);
        if (json_is_object(config))
                return manifest_doc_from_json(config, source, ret, reterr);
        return ph_error_set(reterr, EINVAL, "%s: config: a manifest (YAML/JSON text or an object) is required",
                            source);
}

int docker_hook_manifest(const json_t *deployment, const char *state_dir, PhManifest **ret, PhError **reterr) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        const PhManifestHost host = {.state_dir = state_dir};
        const char *name = json_string_value(json_object_get(deployment, "name"));
        int r = manifest_doc_of(deployment, name ? name : "deployment", &doc, reterr);

        if (r < 0)
                return r;
        return manifest_validate_for(doc, &host, ret, NULL, reterr);
}

static int load_manifest(const json_t *deployment, const char *source, const PhManifestHost *host,
                         PhManifest **ret, PhPodOptions *po, HookResult *h) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_error_ PhError *err = NULL;
        int r = manifest_doc_of(deployment, source, &doc, &err);

        if (r >= 0)
                r = manifest_validate_for(doc, host, ret, &warnings, &err);
        const json_t *own = json_object_get(deployment, "options");
        if (r >= 0 && json_object_size(own) == 0 && manifest_doc_options(doc))
                options_from(manifest_doc_options(doc), po);
        for (char **w = warnings; w && *w; w++)
                result_say(h, *w);
        if (r < 0) {
                result_fail(h, EX_DATAERR, err);
                return r;
        }
        return 0;
}

/* A one-line reason (*ret_reason, NULL when none) when the pod has another owner: another Heat
 * deployment (stack + resource) that is still listed, or a drop-in file, or (for a drop-in) any Heat
 * deployment. Such a pod is never replaced, stopped or removed. */
static int owner_conflict(PhDocker *d, const char *pod, const PhPodMeta *meta, const PhDockerHookOptions *o,
                          char **ret_reason, PhError **reterr) {
        json_auto_t *list = NULL;
        const json_t *c;
        size_t i;
        int r;

        *ret_reason = NULL;
        r = pod_list(d, pod, &list, reterr);
        if (r < 0)
                return r;
        json_array_foreach(list, i, c) {
                const char *stack = pod_label(c, POD_LABEL_STACK), *res = pod_label(c, POD_LABEL_RESOURCE);
                const char *file = pod_label(c, POD_LABEL_DROPIN);
                if (file) {
                        if (meta->dropin && strcmp(file, meta->dropin) == 0)
                                continue;
                        *ret_reason =
                                xasprintf("pod %s belongs to the drop-in %s; it is left alone", pod, file);
                        return 0;
                }
                if (!stack || !res)
                        continue; /* not a Heat deployment's (podhook apply, a local file) */
                if (meta->dropin) {
                        *ret_reason =
                                xasprintf("pod %s belongs to a Heat deployment (stack %s, resource %s), "
                                          "which a drop-in does not take over; it is left alone",
                                          pod, stack, res);
                        return 0;
                }
                if (meta->stack && meta->resource && strcmp(stack, meta->stack) == 0 &&
                    strcmp(res, meta->resource) == 0)
                        continue;
                if (o && o->is_listed && !o->is_listed(stack, res, o->listed_userdata))
                        continue; /* its deployment is gone: the pod is free to take */
                *ret_reason = xasprintf(
                        "pod %s belongs to another deployment (stack %s, resource %s) that is still "
                        "listed; it is left alone",
                        pod, stack, res);
                return 0;
        }
        return 0;
}

void docker_hook_outcome_done(PhDockerHookOutcome *o) {
        free(o->pod);
        free(o->summary);
        *o = (PhDockerHookOutcome){};
}

int docker_hook_run(const json_t *deployment, const PhDockerHookOptions *o, json_t **ret_result,
                    PhError **reterr) {
        _cleanup_(docker_hook_outcome_done) PhDockerHookOutcome out = {};

        return docker_hook_run_outcome(deployment, o, ret_result, &out, reterr);
}

int docker_hook_run_outcome(const json_t *deployment, const PhDockerHookOptions *o, json_t **ret_result,
                            PhDockerHookOutcome *ret_outcome, PhError **reterr) {
        _cleanup_(result_done) HookResult h = {};
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_(docker_freep) PhDocker *d = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *pod = NULL, *source = NULL;
        PhPodOptions po = pod_options_of(o);
        const char *name, *action;
        int r;

        if (!json_is_object(deployment))
                return ph_error_set(reterr, EINVAL, "the deployment is not a JSON object");
        name = json_string_value(json_object_get(deployment, "name"));
        if (!name || !*name)
                return ph_error_set(reterr, EINVAL, "the deployment has no name (the pod is named after it)");
        const json_t *action_json = deployment_input_json(deployment, "deploy_action");
        if (action_json && !json_is_string(action_json))
                return ph_error_set(reterr, EINVAL,
                                    "the deployment's input deploy_action must be a string, not %s",
                                    deployment_kind_of(action_json));
        action = json_is_string(action_json) ? json_string_value(action_json) : "CREATE";
        options_from(json_object_get(deployment, "options"), &po);
        pod = pod_name_sanitize(name);
        if (strcmp(pod, name) != 0) {
                _cleanup_free_ char *note = xasprintf("deployment name '%s' is not a valid Docker name: pod '%s'",
                                                      name, pod);
                result_say(&h, note);
        }
        source = xasprintf("deployment %s", name);

        PhPodMeta meta = {
                .deployment = json_string_value(json_object_get(deployment, "id")),
                .stack = deployment_input(deployment, "deploy_stack_id"),
                .resource = deployment_input(deployment, "deploy_resource_name"),
                .dropin = o ? o->dropin : NULL,
        };

        if (strcasecmp(action, "DELETE") == 0 || strcasecmp(action, "SUSPEND") == 0) {
                bool del = strcasecmp(action, "DELETE") == 0;
                _cleanup_free_ char *conflict = NULL;
                r = docker_open(o ? o->docker_host : NULL, &d, &err);
                if (r >= 0) {
                        docker_set_cancel(d, o ? o->cancel : NULL);
                        r = owner_conflict(d, pod, &meta, o, &conflict, &err);
                }
                /* Another deployment's pod is not this one's to stop or remove: nothing of ours is there. */
                if (r >= 0 && !conflict)
                        r = del ? pod_delete(d, pod, &po, false, &err) : pod_stop(d, pod, &po, &err);
                if (r >= 0 && !del && !conflict)
                        r = pod_inspect(d, pod, &h.stdout_json, &err);
                if (r < 0)
                        result_fail(&h, 1, err);
                else if (conflict)
                        result_say(&h, conflict);
                else {
                        _cleanup_free_ char *note = xasprintf("pod %s %s", pod, del ? "deleted" : "stopped");
                        result_say(&h, note);
                }
        } else if (strcasecmp(action, "CREATE") == 0 || strcasecmp(action, "UPDATE") == 0 ||
                   strcasecmp(action, "RESUME") == 0) {
                /* An invalid manifest touches nothing, not even the connection. */
                const PhManifestHost host = {.state_dir =
                                                     o && o->state_dir ? o->state_dir : PH_STATE_DIR_DEFAULT};
                if (load_manifest(deployment, source, &host, &m, &po, &h) >= 0) {
                        _cleanup_free_ char *conflict = NULL;
                        _cleanup_free_ char *summary = NULL;
                        r = docker_open(o ? o->docker_host : NULL, &d, &err);
                        if (r >= 0) {
                                docker_set_cancel(d, o ? o->cancel : NULL);
                                r = owner_conflict(d, pod, &meta, o, &conflict, &err);
                        }
                        if (r >= 0 && !conflict) {
                                PhPodUndo undo = POD_UNDO_NONE;
                                r = pod_apply_undo(d, pod, m, &meta, &po, &h.stdout_json, &summary, &undo, &err);
                                h.rolled_back = undo == POD_UNDO_ROLLED_BACK;
                        }
                        if (r < 0)
                                result_fail(&h, 1, err);
                        else if (conflict) {
                                result_say(&h, conflict);
                                h.status = 1;
                        } else
                                result_say(&h, summary);
                }
        } else {
                _cleanup_free_ char *msg = xasprintf("deploy_action %s is not one of CREATE, UPDATE, DELETE, SUSPEND, RESUME",
                                                     action);
                result_say(&h, msg);
                h.status = EX_DATAERR;
        }
        *ret_result = result_json(&h);
        /* Heat gets this result (also through 55-heat-config, with no agent in between): nothing the
         * deployment was given as a secret goes back, whatever the engine or a message repeated. */
        _cleanup_strv_free_ char **secrets = docker_hook_secret_values(deployment);
        secret_scrub_json(*ret_result, secrets);
        json_auto_t *said = json_string(h.last ? h.last : "");
        secret_scrub_json(said, secrets);
        *ret_outcome = (PhDockerHookOutcome){
                .pod = TAKE_PTR(pod),
                .summary = h.last && json_string_value(said) ? xstrdup(json_string_value(said)) : NULL,
                .rolled_back = h.rolled_back,
        };
        return 0;
}

char **docker_hook_secret_values(const json_t *deployment) {
        char **values = secret_values_of_inputs(json_object_get(deployment, "inputs"));

        manifest_secret_values(json_object_get(deployment, "config"), &values);
        return values;
}

int docker_hook_list_pods(const PhDockerHookOptions *o, json_t **ret, PhError **reterr) {
        _cleanup_(docker_freep) PhDocker *d = NULL;
        json_auto_t *list = NULL, *pods = json_object();
        json_t *c;
        size_t i;
        int r;

        r = docker_open(o ? o->docker_host : NULL, &d, reterr);
        if (r < 0)
                return r;
        r = pod_list(d, NULL, &list, reterr);
        if (r < 0)
                return r;
        json_array_foreach(list, i, c) {
                const char *pod = pod_label(c, POD_LABEL_POD);
                const char *dep = pod_label(c, POD_LABEL_DEPLOYMENT);
                const char *file = pod_label(c, POD_LABEL_DROPIN);
                if (!pod)
                        continue;
                json_t *owner = json_object_get(pods, pod);
                if (!owner) {
                        owner = json_pack("{s:s}", "deployment", "");
                        json_object_set_new(pods, pod, owner);
                }
                /* The infra and app containers of one apply carry the same owner; keep any non-empty one. */
                if (dep && !*json_string_value(json_object_get(owner, "deployment")))
                        json_object_set_new(owner, "deployment", json_string(dep));
                if (file)
                        json_object_set_new(owner, "dropin", json_string(file));
        }
        *ret = json_incref(pods);
        return 0;
}

int docker_hook_remove_pod(const PhDockerHookOptions *o, const char *pod, PhError **reterr) {
        _cleanup_(docker_freep) PhDocker *d = NULL;
        PhPodOptions po = pod_options_of(o);
        int r;

        r = docker_open(o ? o->docker_host : NULL, &d, reterr);
        if (r < 0)
                return r;
        return pod_delete(d, pod, &po, false, reterr);
}

int docker_hook_recover(const PhDockerHookOptions *o, char **ret_summary, PhError **reterr) {
        _cleanup_(docker_freep) PhDocker *d = NULL;
        PhPodOptions po = pod_options_of(o);
        int r;

        r = docker_open(o ? o->docker_host : NULL, &d, reterr);
        if (r < 0)
                return r;
        return pod_recover_all(d, &po, ret_summary, reterr);
}
