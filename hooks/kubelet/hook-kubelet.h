/* The `kubelet` heat-config hook: a deployment's v1beta2 manifest as a static pod in the kubelet's
 * manifest directory, and the kubelet's word on it as the result. Used in-process by the agent (one entry
 * of its hook table: kubelet_hook_run, kubelet_list_owned, kubelet_remove_owned) and by `podhook hook`. */
#pragma once

#include <stdbool.h>

#include "common/error.h"
#include "common/http.h"
#include "kubelet/convert.h"
#include "manifest/manifest.h"

typedef struct json_t json_t;

typedef struct PhKubeletHookOptions {
        const char *manifest_dir;                   /* NULL: KUBELET_MANIFEST_DIR_DEFAULT */
        const char *url;                            /* the kubelet's /pods; NULL: KUBELET_URL_DEFAULT */
        const char *ca_file, *cert_file, *key_file; /* https to the kubelet (optional) */
        const char *state_dir;      /* the agent's (absolute): no hostDir may reach it; NULL: the default */
        const PhHttpCancel *cancel; /* optional: ends the wait for the kubelet (-ECANCELED) */
} PhKubeletHookOptions;

/* How long to wait for the kubelet (a deployment's options: images_timeout, containers_timeout, poll_period,
 * in seconds as heat-agents' kubelet hook has them; 0: that default). */
typedef struct PhKubeletWait {
        long images_timeout_ms, containers_timeout_ms, poll_period_ms;
} PhKubeletWait;

/* The deployment's `options` (NULL or an object): every key known and in range, else -EINVAL naming
 * "options.<key>". Pure. */
int kubelet_hook_options(const json_t *options, PhKubeletWait *ret, PhError **reterr);

/* Writes pod `pod`'s v1 Pod (from valid m) into the manifest directory, unless it is there already, and
 * waits for the kubelet to run it. Returns 0 with *ret_status (new ref: the Pod's status from the kubelet,
 * {} when the kubelet had none) and *ret_reason (one line) set, and *ret_ok whether it is running and
 * ready (or succeeded); -errno when the file could not be written (nothing else was touched then). */
int kubelet_pod_apply(const PhManifest *m, const char *pod, const PhKubeletMeta *meta,
                      const PhKubeletHookOptions *o, const PhKubeletWait *wait, bool *ret_ok,
                      json_t **ret_status, char **ret_reason, PhError **reterr);

/* Runs the deployment (group kubelet): CREATE, UPDATE and RESUME write the pod named after the
 * deployment's "name" and wait for the kubelet; DELETE removes its file; SUSPEND leaves it (a static pod
 * stops only when its file goes, and its emptyDir volumes with it). *ret_result (new ref, always set on
 * 0): deploy_stdout the Pod's v1 status as JSON text, deploy_stderr one line on failure,
 * deploy_status_code. Errors (< 0) only for unusable input (not an object, no name) and cancellation. */
int kubelet_hook_run(const json_t *deployment, const PhKubeletHookOptions *o, json_t **ret_result,
                     PhError **reterr);

/* The pods whose files podhook owns in the manifest directory: {"<pod>": "<deployment id or empty>"}, the
 * shape docker_hook_list_pods has (new ref). */
int kubelet_list_owned(const PhKubeletHookOptions *o, json_t **ret, PhError **reterr);
/* Removes podhook pod `pod`'s file, as a DELETE would; a file of its name that is not its own stays and is
 * -EEXIST, a missing one is 0. */
int kubelet_remove_owned(const PhKubeletHookOptions *o, const char *pod, PhError **reterr);
