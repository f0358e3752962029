#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "common/deployment.h"
#include "common/log.h"
#include "common/secret.h"
#include "docker/docker.h"
#include "docker/hook-docker.h"
#include "docker/pod-exec.h"
#include "docker/pod-options.h"
#include "docker/registry-auth.h"
#include "docker/pod-spec.h"
#include "docker/prune.h"
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
        return (PhPodOptions){
                .grace_seconds = o ? o->grace_seconds : 0,
                .no_init = o && o->no_init,
                .progress = o && o->progress,
                .state_dir = o ? o->state_dir : NULL,
                .start_window = o ? o->start_window : 0,
                .start_window_set = o && o->start_window_set,
                .ready_timeout = o ? o->ready_timeout : 0,
                .ready_timeout_set = o && o->ready_timeout_set,
                .log_max_size = o ? o->log_max_size : 0,
                .log_max_size_set = o && o->log_max_size_set,
                .log_max_file = o ? o->log_max_file : 0,
                .log_max_file_set = o && o->log_max_file_set,
        };
}

/* What a deployment is given besides its manifest (docs/options.md), and its manifest: the options of
 * a wrapped config and the deployment's own (which win over them) into po, the inputs, the secrets file
 * and the registry config; then the manifest is validated against those values. Fails (a result with
 * the messages) touching nothing. */
typedef struct HookInput {
        PhDeployOptions opts;
        json_t *inputs, *secrets, *registry;
} HookInput;

static void hook_input_done(HookInput *in) {
        deploy_options_done(&in->opts);
        json_decref(in->inputs);
        json_decref(in->secrets);
        json_decref(in->registry);
}

int docker_hook_manifest(const json_t *deployment, const char *state_dir, PhManifest **ret,
                         PhError **reterr) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        const PhManifestHost host = {.state_dir = state_dir};
        const char *name = json_string_value(json_object_get(deployment, "name"));
        int r = manifest_doc_of_config(json_object_get(deployment, "config"), name ? name : "deployment",
                                       &doc, reterr);

        if (r < 0)
                return r;
        return manifest_validate_for(doc, &host, ret, NULL, reterr);
}

static int load_manifest(const json_t *deployment, const char *source, const PhDockerHookOptions *o,
                         PhPodOptions *po, HookInput *in, PhManifest **ret, HookResult *h) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        _cleanup_strv_free_ char **warnings = NULL, **secret_names = NULL, **config_keys = NULL;
        _cleanup_error_ PhError *err = NULL, *secrets_err = NULL;
        PhDeployOptions dep_opts = {};
        const json_t *config = json_object_get(deployment, "config");
        int r;

        r = manifest_doc_of_config(config, source, &doc, &err);
        if (r >= 0)
                r = deploy_options_parse(manifest_doc_options(doc), source, doc, &in->opts, &err);
        if (r >= 0)
                r = deploy_options_parse(json_object_get(deployment, "options"), source, NULL, &dep_opts,
                                         &err);
        if (r >= 0) {
                deploy_options_merge(&in->opts, &dep_opts);
                deploy_options_apply(&in->opts, po);
        }
        deploy_options_done(&dep_opts);
        in->inputs = pod_inputs_of_deployment(deployment);
        po->inputs = in->inputs;
        /* A secrets file that cannot be used fails only the deployments that need a value from it:
         * their manifest then names a secret that none of the other values has. */
        if (r >= 0 && o && o->secrets_file &&
            secrets_file_load(o->secrets_file, &in->secrets, &secrets_err) < 0)
                in->secrets = NULL;
        po->secrets = in->secrets;
        if (r >= 0) {
                r = registry_config_load(o ? o->registry_config : NULL, &in->registry, &err);
                po->registry_auths = in->registry;
        }
        if (r >= 0) {
                const PhManifestHost host = {
                        .state_dir = o && o->state_dir ? o->state_dir : PH_STATE_DIR_DEFAULT,
                };
                PhManifestHost full = host;
                pod_value_names(po, &secret_names, &config_keys);
                full.secret_names = secret_names;
                full.config_keys = config_keys;
                r = manifest_validate_for(doc, &full, ret, &warnings, &err);
        }
        for (char **w = warnings; w && *w; w++)
                result_say(h, *w);
        if (r < 0) {
                if (secrets_err)
                        result_say(h, ph_error_msg(secrets_err));
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

/* After a successful deploy, the images podhook pulled that no container uses any more go (podhook
 * prune); what it did or why it could not is logged, never the deployment's failure. */
static void prune_after_deploy(PhDocker *d, const PhDockerHookOptions *o) {
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *report = NULL;

        if (image_prune(d, o->state_dir ? o->state_dir : PH_STATE_DIR_DEFAULT, false, &report, &err) < 0) {
                log_warning("prune after deploy: %s", ph_error_msg(err));
                return;
        }
        _cleanup_free_ char *text = image_prune_text(report, false);
        if (text && *text)
                log_info("prune after deploy: %s", text);
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

        r = deployment_pod_action(deployment, &name, &action, reterr);
        if (r < 0)
                return r;
        _cleanup_(hook_input_done) HookInput in = {};
        po.cancel = o ? o->cancel : NULL;
        pod = pod_name_sanitize(name);
        if (strcmp(pod, name) != 0) {
                _cleanup_free_ char *note =
                        xasprintf("deployment name '%s' is not a valid Docker name: pod '%s'", name, pod);
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
                /* The grace period of the options counts for the stop; a pod is removed even when the
                 * options no longer parse. */
                if (deploy_options_parse(json_object_get(deployment, "options"), source, NULL, &in.opts,
                                         NULL) >= 0)
                        deploy_options_apply(&in.opts, &po);
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
                if (load_manifest(deployment, source, o, &po, &in, &m, &h) >= 0) {
                        _cleanup_free_ char *conflict = NULL;
                        _cleanup_free_ char *summary = NULL;
                        r = docker_open(o ? o->docker_host : NULL, &d, &err);
                        if (r >= 0) {
                                docker_set_cancel(d, o ? o->cancel : NULL);
                                r = owner_conflict(d, pod, &meta, o, &conflict, &err);
                        }
                        if (r >= 0 && !conflict) {
                                PhPodUndo undo = POD_UNDO_NONE;
                                r = pod_apply_undo(d, pod, m, &meta, &po, &h.stdout_json, &summary, &undo,
                                                   &err);
                                h.rolled_back = undo == POD_UNDO_ROLLED_BACK;
                        }
                        if (r < 0)
                                result_fail(&h, 1, err);
                        else if (conflict) {
                                result_say(&h, conflict);
                                h.status = 1;
                        } else {
                                result_say(&h, summary);
                                if (o && o->prune_after_deploy)
                                        prune_after_deploy(d, o);
                        }
                }
        } else {
                _cleanup_free_ char *msg = xasprintf(
                        "deploy_action %s is not one of CREATE, UPDATE, DELETE, SUSPEND, RESUME", action);
                result_say(&h, msg);
                h.status = EX_DATAERR;
        }
        *ret_result = result_json(&h);
        /* Heat gets this result (also through 55-heat-config, with no agent in between): nothing the
         * deployment was given as a secret goes back, whatever the engine or a message repeated. */
        _cleanup_strv_free_ char **secrets = docker_hook_secret_values(deployment);
        pod_secret_values(&po, m, &secrets);
        registry_config_secrets(in.registry, &secrets);
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
