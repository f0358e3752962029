/* The `docker` heat-config hook: one deployment (JSON) in, one result object out. Used in-process by
 * the agent and by `podhook hook` / an executable named `docker` in a hooks directory. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/http.h"
#include "docker/pod-state.h"

typedef struct json_t json_t;

typedef struct PhDockerHookOptions {
        const char *docker_host;     /* NULL: $DOCKER_HOST, else unix:///var/run/docker.sock */
        unsigned grace_seconds;      /* stop grace period; 0 means the default (10 s) */
        bool no_init;                /* do not run Docker's init as PID 1 */
        bool progress;               /* show pull progress on stderr (a terminal) */
        const char *state_dir;       /* the agent's (absolute): node key and update journals, and no hostDir
                                      * may reach it; NULL: PH_STATE_DIR_DEFAULT */
        unsigned start_window;       /* seconds started containers must keep running (see PhPodOptions) */
        bool start_window_set;       /* false: the default (2 s) */
        unsigned ready_timeout;      /* seconds a livenessProbe may take to pass (see PhPodOptions) */
        bool ready_timeout_set;      /* false: the default (60 s) */
        const char *secrets_file;    /* the secrets file (docs/options.md); NULL: none */
        const char *registry_config; /* Docker config.json; NULL: $DOCKER_CONFIG/config.json, else
                                      * /root/.docker/config.json, if present */
        bool prune_after_deploy;     /* podhook prune after each successful deploy (docs/clean-node.md) */
        uint64_t log_max_size;       /* log limits (see PhPodOptions; the deployment's options win) */
        bool log_max_size_set;
        unsigned log_max_file;
        bool log_max_file_set;
        /* Optional: whether the Heat deployment (stack, resource) is still in the metadata. A pod that
         * carries another Heat deployment's labels is only taken over when this says it is not; without
         * it, every other deployment counts as listed. */
        bool (*is_listed)(const char *stack, const char *resource, void *userdata);
        void *listed_userdata;
        /* Per run: the drop-in file (absolute) the deployment comes from, NULL for Heat's. A drop-in's pod
         * is only ever changed by its own file; a Heat deployment's pod is never a drop-in's. */
        const char *dropin;
        /* Per run, optional (borrowed): stops a pull or a wait_for (before anything is changed) when it
         * says so. */
        const PhHttpCancel *cancel;
} PhDockerHookOptions;

/* Runs the deployment: CREATE/UPDATE/RESUME apply the pod named after the deployment's "name",
 * DELETE removes it (volumes stay), SUSPEND stops its containers. *ret_result is always set on
 * return 0 (new ref): {"deploy_stdout": <inspect array as JSON text>, "deploy_stderr": <text>,
 * "deploy_status_code": <int>}; a failed validation or apply is a non-zero status code with the
 * messages in deploy_stderr, not an error return. Errors (< 0) only for unusable input. */
int docker_hook_run(const json_t *deployment, const PhDockerHookOptions *o, json_t **ret_result,
                    PhError **reterr);

/* What a run did, for the agent's status and events. */
typedef struct PhDockerHookOutcome {
        char *pod;        /* the pod (the deployment's name, sanitised) */
        char *summary;    /* the last line of deploy_stderr: what was done to the pod, or why not */
        bool rolled_back; /* a failed update was undone: the previous containers run again */
} PhDockerHookOutcome;
void docker_hook_outcome_done(PhDockerHookOutcome *o);
/* docker_hook_run that also fills *ret_outcome (whenever it returns 0). */
int docker_hook_run_outcome(const json_t *deployment, const PhDockerHookOptions *o, json_t **ret_result,
                            PhDockerHookOutcome *ret_outcome, PhError **reterr);

/* The deployment's manifest, parsed and validated as a run would (state_dir: the agent's; no hostDir may
 * reach it), without touching anything. */
typedef struct PhManifest PhManifest;
int docker_hook_manifest(const json_t *deployment, const char *state_dir, PhManifest **ret, PhError **reterr);

/* The values a result of deployment must not carry (secret.h): its inputs' and its manifest's, a YAML text
 * manifest included. New strv. */
char **docker_hook_secret_values(const json_t *deployment);

/* The pods that carry podhook's labels ("io.podhook.pod"), with their owner labels: {"<pod>":
 * {"deployment": "<id>" ("" when absent), "dropin": "<file>" (only a drop-in's)}, ...} (new ref). */
int docker_hook_list_pods(const PhDockerHookOptions *o, json_t **ret, PhError **reterr);
/* Removes the pod's containers (volumes stay), as a DELETE would. */
int docker_hook_remove_pod(const PhDockerHookOptions *o, const char *pod, PhError **reterr);
/* Repairs every update a killed process left unfinished (by the journals in the state directory), as
 * the agent does when it starts. *ret_summary (optional): a line per pod repaired. */
int docker_hook_recover(const PhDockerHookOptions *o, char **ret_summary, PhError **reterr);
