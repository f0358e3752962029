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
        /* Optional: whether the Heat deployment (stack, resource) is still in the metadata. A file that
         * carries another Heat deployment's annotations is only taken over when this says it is not; without
         * it, every other deployment counts as listed (PhDockerHookOptions' rule). */
        bool (*is_listed)(const char *stack, const char *resource, void *userdata);
        void *listed_userdata;
        /* Per run: the drop-in file (absolute) the deployment comes from, NULL for Heat's. A drop-in's file
         * is only ever changed by its own drop-in; a Heat deployment's file is never a drop-in's. */
        const char *dropin;
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
/* *ret_v1 (optional, new ref): the Pod written. */
int kubelet_pod_apply(const PhManifest *m, const char *pod, const PhKubeletMeta *meta,
                      const PhKubeletHookOptions *o, const PhKubeletWait *wait, bool *ret_ok,
                      json_t **ret_status, char **ret_reason, json_t **ret_v1, PhError **reterr);

/* A one-line reason (new string) when the file's owner (entry: a static_dir_list entry, NULL when there is
 * no file) is not the deployment of meta: a drop-in's file for anything but that drop-in, a Heat
 * deployment's file for a drop-in, another Heat deployment's (stack + resource) file while is_listed says it
 * is still listed (NULL is_listed: always). NULL when the file is free to write or remove. Pure. */
char *kubelet_owner_conflict(const char *pod, const json_t *entry, const PhKubeletMeta *meta,
                             bool (*is_listed)(const char *stack, const char *resource, void *userdata),
                             void *userdata);

/* Runs the deployment (group kubelet): CREATE, UPDATE and RESUME write the pod named after the
 * deployment's "name" and wait for the kubelet; DELETE removes its file; SUSPEND leaves it (a static pod
 * stops only when its file goes, and its emptyDir volumes with it). *ret_result (new ref, always set on
 * 0): deploy_stdout the Pod's v1 status as JSON text, deploy_stderr one line on failure,
 * deploy_status_code. Errors (< 0) only for unusable input (not an object, no name) and cancellation. */
int kubelet_hook_run(const json_t *deployment, const PhKubeletHookOptions *o, json_t **ret_result,
                     PhError **reterr);

/* What a run did, for the agent's status and its PodList. */
typedef struct PhKubeletHookOutcome {
        char *pod;      /* the pod (the deployment's name); NULL when the input was unusable */
        char *summary;  /* the last line of deploy_stderr: what was done, or why not */
        json_t *v1;     /* the Pod now in the manifest directory (NULL: none was written) */
        json_t *status; /* the Pod's status as the kubelet last reported it (NULL: none) */
        bool removed;   /* DELETE: the pod's file is gone (or was never there) */
} PhKubeletHookOutcome;
void kubelet_hook_outcome_done(PhKubeletHookOutcome *o);
/* kubelet_hook_run that also fills *ret_outcome (whenever it returns 0). */
int kubelet_hook_run_outcome(const json_t *deployment, const PhKubeletHookOptions *o, json_t **ret_result,
                             PhKubeletHookOutcome *ret_outcome, PhError **reterr);

/* The pods whose files podhook owns in the manifest directory: {"<pod>": {"deployment": "<id or empty>",
 * "dropin": "<file>" (only a drop-in's), "pod": the Pod in the file}}, docker_hook_list_pods' shape plus
 * the Pod (new ref). */
int kubelet_list_owned(const PhKubeletHookOptions *o, json_t **ret, PhError **reterr);
/* Removes podhook pod `pod`'s file, as a DELETE would; a file of its name that is not its own stays and is
 * -EEXIST, a missing one is 0. */
int kubelet_remove_owned(const PhKubeletHookOptions *o, const char *pod, PhError **reterr);
