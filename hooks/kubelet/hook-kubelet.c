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
        json_object_foreach((json_t *) options, key, v) {
                size_t k = 0;
                while (k < ELEMENTSOF(option_keys) && strcmp(option_keys[k].key, key) != 0)
                        k++;
                if (k == ELEMENTSOF(option_keys)) {
                        (void) ph_error_append(
                                &err, EINVAL,
                                "options.%s: unknown option (images_timeout, containers_timeout, "
                                "poll_period)",
                                key);
                        continue;
                }
                double s = json_number_value(v);
                if (!json_is_number(v) || !isfinite(s) || s <= 0 || s > OPTION_MAX_SECONDS) {
                        (void) ph_error_append(
                                &err, EINVAL,
                                "options.%s: must be a number of seconds above 0 and at most %.0f, "
                                "not %s",
                                key, OPTION_MAX_SECONDS, json_is_number(v) ? "that" : deployment_kind_of(v));
                        continue;
                }
                long ms = (long) (s * 1000.0);
                *(long *) ((char *) &w + option_keys[k].offset) = ms > 0 ? ms : 1;
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
                      json_t **ret_status, char **ret_reason, json_t **ret_v1, PhError **reterr) {
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
        if (ret_v1)
                *ret_v1 = TAKE_PTR(v1);
        return 0;
}

char *kubelet_owner_conflict(const char *pod, const json_t *entry, const PhKubeletMeta *meta,
                             bool (*is_listed)(const char *stack, const char *resource, void *userdata),
                             void *userdata) {
        const char *file = json_string_value(json_object_get(entry, "dropin"));
        const char *stack = json_string_value(json_object_get(entry, "stack"));
        const char *res = json_string_value(json_object_get(entry, "resource"));

        if (!entry)
                return NULL;
        if (file) {
                if (meta->dropin && strcmp(file, meta->dropin) == 0)
                        return NULL;
                return xasprintf("pod %s belongs to the drop-in %s; its file is left alone", pod, file);
        }
        if (!stack || !res)
                return NULL; /* not a Heat deployment's (podhook apply) */
        if (meta->dropin)
                return xasprintf(
                        "pod %s belongs to a Heat deployment (stack %s, resource %s), which a drop-in "
                        "does not take over; its file is left alone",
                        pod, stack, res);
        if (meta->stack && meta->resource && strcmp(stack, meta->stack) == 0 &&
            strcmp(res, meta->resource) == 0)
                return NULL;
        if (is_listed && !is_listed(stack, res, userdata))
                return NULL; /* its deployment is gone: the file is free to take */
        return xasprintf("pod %s belongs to another deployment (stack %s, resource %s) that is still listed; "
                         "its file is left alone",
                         pod, stack, res);
}

/* The file of podhook pod `pod` as static_dir_list has it (*ret new ref, NULL when there is none). */
static int owned_entry(const PhKubeletHookOptions *o, const char *pod, json_t **ret, PhError **reterr) {
        _cleanup_(static_dir_freep) PhStaticDir *dir = NULL;
        json_auto_t *owned = NULL;
        int r;

        r = static_dir_open(o && o->manifest_dir ? o->manifest_dir : KUBELET_MANIFEST_DIR_DEFAULT, &dir,
                            reterr);
        if (r >= 0)
                r = static_dir_list(dir, &owned, reterr);
        if (r < 0)
                return r;
        json_t *e = json_object_get(owned, pod);
        *ret = e ? json_incref(e) : NULL;
        return 0;
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

void kubelet_hook_outcome_done(PhKubeletHookOutcome *o) {
        free(o->pod);
        free(o->summary);
        json_decref(o->v1);
        json_decref(o->status);
        *o = (PhKubeletHookOutcome){};
}

int kubelet_hook_run(const json_t *deployment, const PhKubeletHookOptions *o, json_t **ret_result,
                     PhError **reterr) {
        _cleanup_(kubelet_hook_outcome_done) PhKubeletHookOutcome out = {};

        return kubelet_hook_run_outcome(deployment, o, ret_result, &out, reterr);
}

/* Adds line to the text of deploy_stderr. */
static void say(char **text, const char *line) {
        char *t = xasprintf("%s%s\n", *text ? *text : "", line);
        free(*text);
        *text = t;
}

/* CREATE, UPDATE, RESUME: the manifest's checks (its warnings said), the owner's, then the file and the
 * kubelet's word. Sets *code and *reason; returns -ECANCELED only. */
static int run_apply(const json_t *deployment, const char *name, const PhKubeletHookOptions *o,
                     PhKubeletHookOutcome *out, char **text, int *code, char **reason, PhError **reterr) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *source = xasprintf("deployment %s", name), *conflict = NULL;
        json_auto_t *entry = NULL;
        PhKubeletWait wait = {};
        const PhManifestHost host = {.state_dir = o && o->state_dir ? o->state_dir : STATE_DIR_DEFAULT};
        const PhKubeletMeta meta = {
                .deployment = json_string_value(json_object_get(deployment, "id")),
                .stack = deployment_input(deployment, "deploy_stack_id"),
                .resource = deployment_input(deployment, "deploy_resource_name"),
                .dropin = o ? o->dropin : NULL,
        };
        bool ok = false;
        int r;

        /* Bad input (options, manifest, conversion) touches nothing. */
        r = kubelet_hook_options(json_object_get(deployment, "options"), &wait, &err);
        if (r >= 0)
                r = manifest_load_config(json_object_get(deployment, "config"), source, &host, &m, NULL,
                                         &warnings, &err);
        for (char **w = warnings; w && *w; w++)
                say(text, *w);
        if (r < 0) {
                *code = EX_DATAERR, *reason = xstrdup(ph_error_msg(err));
                return 0;
        }
        r = owned_entry(o, name, &entry, &err);
        if (r >= 0)
                conflict = kubelet_owner_conflict(name, entry, &meta, o ? o->is_listed : NULL,
                                                  o ? o->listed_userdata : NULL);
        if (r < 0) {
                *code = 1, *reason = xstrdup(ph_error_msg(err));
                return 0;
        }
        if (conflict) {
                *code = 1, *reason = TAKE_PTR(conflict);
                return 0;
        }
        r = kubelet_pod_apply(m, name, &meta, o, &wait, &ok, &out->status, reason, &out->v1, &err);
        if (r == -ECANCELED) {
                if (reterr)
                        *reterr = TAKE_PTR(err);
                return r;
        }
        if (r < 0)
                *code = r == -EINVAL ? EX_DATAERR : 1, *reason = xstrdup(ph_error_msg(err));
        else if (!ok)
                *code = 1;
        return 0;
}

/* DELETE: podhook's file of the pod goes, unless another deployment owns it. */
static void run_delete(const json_t *deployment, const char *name, const PhKubeletHookOptions *o,
                       PhKubeletHookOutcome *out, int *code, char **reason) {
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *entry = NULL;
        const PhKubeletMeta meta = {
                .stack = deployment_input(deployment, "deploy_stack_id"),
                .resource = deployment_input(deployment, "deploy_resource_name"),
                .dropin = o ? o->dropin : NULL,
        };
        PhStaticRemove removed = STATIC_REMOVE_ABSENT;
        int r = owned_entry(o, name, &entry, &err);

        if (r >= 0) {
                /* Another deployment's file is not this one's to remove: nothing of ours is there. */
                *reason = kubelet_owner_conflict(name, entry, &meta, o ? o->is_listed : NULL,
                                                 o ? o->listed_userdata : NULL);
                if (*reason)
                        return;
                r = remove_file(o, name, &removed, &err);
        }
        if (r < 0)
                *code = 1, *reason = xstrdup(ph_error_msg(err));
        else if (removed == STATIC_REMOVE_FOREIGN)
                *code = 1,
                *reason = xasprintf("pod %s: the file of its name is not its own: left alone", name);
        else {
                out->removed = true;
                *reason = xasprintf("pod %s %s", name,
                                    removed == STATIC_REMOVE_REMOVED ? "deleted: its file is removed"
                                                                     : "has no file: nothing to delete");
        }
}

int kubelet_hook_run_outcome(const json_t *deployment, const PhKubeletHookOptions *o, json_t **ret_result,
                             PhKubeletHookOutcome *ret_outcome, PhError **reterr) {
        _cleanup_(kubelet_hook_outcome_done) PhKubeletHookOutcome out = {};
        _cleanup_free_ char *reason = NULL, *text = NULL;
        const char *name, *action;
        int code = 0, r;

        r = deployment_pod_action(deployment, &name, &action, reterr);
        if (r < 0)
                return r;
        out.pod = xstrdup(name);

        if (strcasecmp(action, "DELETE") == 0)
                run_delete(deployment, name, o, &out, &code, &reason);
        else if (strcasecmp(action, "SUSPEND") == 0)
                reason = xasprintf(
                        "pod %s left running: a static pod stops only when its file is removed, and its "
                        "emptyDir volumes go with it",
                        name);
        else if (strcasecmp(action, "CREATE") == 0 || strcasecmp(action, "UPDATE") == 0 ||
                 strcasecmp(action, "RESUME") == 0) {
                r = run_apply(deployment, name, o, &out, &text, &code, &reason, reterr);
                if (r < 0)
                        return r;
        } else {
                code = EX_DATAERR;
                reason = xasprintf("deploy_action %s is not one of CREATE, UPDATE, DELETE, SUSPEND, RESUME",
                                   action);
        }
        if (reason)
                say(&text, reason);
        _cleanup_free_ char *stdout_text =
                out.status ? json_dumps(out.status, JSON_COMPACT | JSON_SORT_KEYS) : xstrdup("");
        *ret_result = deployment_result(stdout_text ? stdout_text : "", text ? text : "", code);
        /* The status carries env values only by chance (a message), but Heat gets it: nothing the deployment
         * was given as a secret goes back. */
        _cleanup_strv_free_ char **secrets = secret_values_of_inputs(json_object_get(deployment, "inputs"));
        manifest_secret_values(json_object_get(deployment, "config"), &secrets);
        secret_redact_deep(*ret_result, secrets);
        if (reason) {
                json_auto_t *said = json_string(reason);
                secret_redact_deep(said, secrets);
                out.summary = xstrdup(json_string_value(said));
        }
        *ret_outcome = out;
        out = (PhKubeletHookOutcome){};
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
        json_object_foreach(owned, pod, v) {
                json_t *e = json_pack("{s:O, s:O}", "deployment", json_object_get(v, "deployment"), "pod",
                                      json_object_get(v, "pod"));
                if (json_object_get(v, "dropin"))
                        json_object_set(e, "dropin", json_object_get(v, "dropin"));
                json_object_set_new(out, pod, e);
        }
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
