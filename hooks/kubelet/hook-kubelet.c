/* The kubelet hook: manifest -> v1 Pod -> file in the manifest directory -> the kubelet's status. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "common/deployment.h"
#include "common/secret.h"
#include "kubelet/hook-kubelet.h"
#include "kubelet/kubelet-status.h"
#include "kubelet/static-dir.h"
#include "kubelet/yaml-out.h"

/* Where the agent keeps its state unless told otherwise (the Docker hook's PH_STATE_DIR_DEFAULT). */
#define STATE_DIR_DEFAULT "/var/lib/podhook"
/* An option in seconds: at most a week, as the agent's hook-timeout. */
#define OPTION_MAX_SECONDS 604800.0

static const struct {
        const char *key;
        size_t offset;
} option_keys[] = {
        {"images_timeout", offsetof(PhKubeletWait, images_timeout_ms)},
        {"containers_timeout", offsetof(PhKubeletWait, containers_timeout_ms)},
        {"poll_period", offsetof(PhKubeletWait, poll_period_ms)},
};

int kubelet_hook_options(const json_t *options, PhKubeletWait *ret, PhError **reterr) {
        PhKubeletWait w = {};
        _cleanup_error_ PhError *err = NULL;
        const char *key;
        json_t *v;

        if (options && !json_is_object(options) && !json_is_null(options))
                return ph_error_set(reterr, EINVAL, "options: must be a map, not %s",
                                    deployment_kind_of(options));
        json_object_foreach((json_t *)options, key, v) {
                size_t k = 0;
                while (k < ELEMENTSOF(option_keys) && strcmp(option_keys[k].key, key) != 0)
                        k++;
                if (k == ELEMENTSOF(option_keys)) {
                        (void)ph_error_append(
                                &err, EINVAL,
                                "options.%s: unknown option (images_timeout, containers_timeout, "
                                "poll_period)",
                                key);
                        continue;
                }
                double s = json_number_value(v);
                if (!json_is_number(v) || !isfinite(s) || s <= 0 || s > OPTION_MAX_SECONDS) {
                        (void)ph_error_append(
                                &err, EINVAL,
                                "options.%s: must be a number of seconds above 0 and at most %.0f, "
                                "not %s",
                                key, OPTION_MAX_SECONDS, json_is_number(v) ? "that" : deployment_kind_of(v));
                        continue;
                }
                long ms = (long)(s * 1000.0);
                *(long *)((char *)&w + option_keys[k].offset) = ms > 0 ? ms : 1;
        }
        if (err) {
                int code = -err->code;
                if (reterr)
                        *reterr = TAKE_PTR(err);
                return code;
        }
        *ret = w;
        return 0;
}

int kubelet_pod_apply(const PhManifest *m, const char *pod, const PhKubeletMeta *meta,
                      const PhKubeletHookOptions *o, const PhKubeletWait *wait, bool *ret_ok,
                      json_t **ret_status, char **ret_reason, PhError **reterr) {
        _cleanup_(static_dir_freep) PhStaticDir *dir = NULL;
        _cleanup_(kubelet_verdict_done) PhKubeletVerdict v = {};
        _cleanup_free_ char *text = NULL;
        json_auto_t *v1 = NULL;
        PhStaticWrite written;
        size_t len = 0;
        int r;

        r = kubelet_pod_convert(m, pod, meta, pod, &v1, reterr);
        if (r < 0)
                return r;
        r = kubelet_yaml_dump(v1, &text, &len, reterr);
        if (r < 0)
                return r;
        r = static_dir_open(o && o->manifest_dir ? o->manifest_dir : KUBELET_MANIFEST_DIR_DEFAULT, &dir,
                            reterr);
        if (r >= 0)
                r = static_dir_write(dir, v1, text, len, &written, reterr);
        if (r < 0)
                return r;
        const json_t *md = json_object_get(v1, "metadata");
        const char *name = json_string_value(json_object_get(md, "name"));
        const char *hash =
                json_string_value(json_object_get(json_object_get(md, "annotations"), KUBELET_KEY_SPEC_HASH));
        PhKubeletWatch w = {
                .url = o ? o->url : NULL,
                .ca_file = o ? o->ca_file : NULL,
                .cert_file = o ? o->cert_file : NULL,
                .key_file = o ? o->key_file : NULL,
                .images_timeout_ms = wait ? wait->images_timeout_ms : 0,
                .containers_timeout_ms = wait ? wait->containers_timeout_ms : 0,
                .poll_period_ms = wait ? wait->poll_period_ms : 0,
                .cancel = o ? o->cancel : NULL,
        };
        r = kubelet_watch(&w, pod, name, hash, &v, reterr);
        if (r < 0)
                return r;
        json_t *status = json_object_get(v.pod, "status");
        *ret_status = status ? json_incref(status) : json_object();
        *ret_ok = v.state == KUBELET_POD_READY || v.state == KUBELET_POD_SUCCEEDED;
        *ret_reason = TAKE_PTR(v.reason);
        return 0;
}

/* The manifest of the deployment's config (an object, or YAML/JSON text), checked. */
static int load_manifest(const json_t *deployment, const char *source, const PhManifestHost *host,
                         PhManifest **ret, PhError **reterr) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        const json_t *config = json_object_get(deployment, "config");
        int r;

        if (json_is_string(config))
                r = manifest_doc_parse(json_string_value(config), json_string_length(config), source, &doc,
                                       reterr);
        else if (json_is_object(config))
                r = manifest_doc_from_json(config, source, &doc, reterr);
        else
                r = ph_error_set(reterr, EINVAL,
                                 "%s: config: a manifest (YAML/JSON text or an object) is required", source);
        if (r >= 0)
                r = manifest_validate_for(doc, host, ret, &warnings, reterr);
        return r;
}

static int remove_file(const PhKubeletHookOptions *o, const char *pod, PhStaticRemove *ret,
                       PhError **reterr) {
        _cleanup_(static_dir_freep) PhStaticDir *dir = NULL;
        json_auto_t *owned = NULL;
        _cleanup_free_ char *mapped = kubelet_name_map(pod);
        int r;

        r = static_dir_open(o && o->manifest_dir ? o->manifest_dir : KUBELET_MANIFEST_DIR_DEFAULT, &dir,
                            reterr);
        if (r >= 0)
                r = static_dir_list(dir, &owned, reterr);
        if (r < 0)
                return r;
        /* The file that says it is this pod's, whatever its name; else the one of its name, to say whose. */
        const char *name = json_string_value(json_object_get(json_object_get(owned, pod), "name"));
        return static_dir_remove(dir, name ? name : mapped, pod, ret, reterr);
}

int kubelet_hook_run(const json_t *deployment, const PhKubeletHookOptions *o, json_t **ret_result,
                     PhError **reterr) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *source = NULL, *reason = NULL;
        json_auto_t *status = NULL;
        PhKubeletWait wait = {};
        const char *name, *action;
        int code = 0, r;

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
        source = xasprintf("deployment %s", name);

        if (strcasecmp(action, "DELETE") == 0) {
                PhStaticRemove removed = STATIC_REMOVE_ABSENT;
                r = remove_file(o, name, &removed, &err);
                if (r < 0)
                        code = 1, reason = xstrdup(ph_error_msg(err));
                else if (removed == STATIC_REMOVE_FOREIGN)
                        code = 1,
                        reason = xasprintf("pod %s: the file of its name is not its own: left alone", name);
                else
                        reason = xasprintf("pod %s %s", name,
                                           removed == STATIC_REMOVE_REMOVED
                                                   ? "deleted: its file is removed"
                                                   : "has no file: nothing to delete");
        } else if (strcasecmp(action, "SUSPEND") == 0) {
                reason = xasprintf(
                        "pod %s left running: a static pod stops only when its file is removed, and its "
                        "emptyDir volumes go with it",
                        name);
        } else if (strcasecmp(action, "CREATE") == 0 || strcasecmp(action, "UPDATE") == 0 ||
                   strcasecmp(action, "RESUME") == 0) {
                const PhManifestHost host = {.state_dir =
                                                     o && o->state_dir ? o->state_dir : STATE_DIR_DEFAULT};
                const PhKubeletMeta meta = {
                        .deployment = json_string_value(json_object_get(deployment, "id")),
                        .stack = deployment_input(deployment, "deploy_stack_id"),
                        .resource = deployment_input(deployment, "deploy_resource_name"),
                };
                bool ok = false;
                /* Bad input (options, manifest, conversion) touches nothing. */
                r = kubelet_hook_options(json_object_get(deployment, "options"), &wait, &err);
                if (r >= 0)
                        r = load_manifest(deployment, source, &host, &m, &err);
                if (r < 0)
                        code = EX_DATAERR, reason = xstrdup(ph_error_msg(err));
                else {
                        r = kubelet_pod_apply(m, name, &meta, o, &wait, &ok, &status, &reason, &err);
                        if (r == -ECANCELED) {
                                if (reterr)
                                        *reterr = TAKE_PTR(err);
                                return r;
                        }
                        if (r < 0)
                                code = r == -EINVAL ? EX_DATAERR : 1, reason = xstrdup(ph_error_msg(err));
                        else if (!ok)
                                code = 1;
                }
        } else {
                code = EX_DATAERR;
                reason = xasprintf("deploy_action %s is not one of CREATE, UPDATE, DELETE, SUSPEND, RESUME",
                                   action);
        }
        _cleanup_free_ char *out = status ? json_dumps(status, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("");
        *ret_result = deployment_result(out ? out : "", reason, code);
        /* The status carries env values only by chance (a message), but Heat gets it: nothing the deployment
         * was given as a secret goes back. */
        _cleanup_strv_free_ char **secrets = secret_values_of_inputs(json_object_get(deployment, "inputs"));
        manifest_secret_values(json_object_get(deployment, "config"), &secrets);
        secret_redact_deep(*ret_result, secrets);
        return 0;
}

int kubelet_list_owned(const PhKubeletHookOptions *o, json_t **ret, PhError **reterr) {
        _cleanup_(static_dir_freep) PhStaticDir *dir = NULL;
        json_auto_t *owned = NULL, *out = json_object();
        const char *pod;
        json_t *v;
        int r;

        r = static_dir_open(o && o->manifest_dir ? o->manifest_dir : KUBELET_MANIFEST_DIR_DEFAULT, &dir,
                            reterr);
        if (r >= 0)
                r = static_dir_list(dir, &owned, reterr);
        if (r < 0)
                return r;
        json_object_foreach(owned, pod, v) json_object_set(out, pod, json_object_get(v, "deployment"));
        *ret = TAKE_PTR(out);
        return 0;
}

int kubelet_remove_owned(const PhKubeletHookOptions *o, const char *pod, PhError **reterr) {
        PhStaticRemove removed;
        int r = remove_file(o, pod, &removed, reterr);

        if (r < 0)
                return r;
        if (removed == STATIC_REMOVE_FOREIGN)
                return ph_error_set(reterr, EEXIST, "pod %s: the file of its name is not its own: left alone",
                                    pod);
        return 0;
}
