/* The hooks the agent runs deployments through, as a table of entries like the sources have: the
 * in-process docker hook (hook-docker.c), external heat-config hooks found in the hook directories
 * (hook-external.c), and the kubelet backend (hook-kubelet.c). Dispatch picks the entry by group;
 * reconciliation and the drop-in directory ask every entry that owns pods what it owns. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/http.h"
#include "kubelet/hook-kubelet.h"
#include "status.h"

typedef struct json_t json_t;
typedef struct PhHook PhHook;

/* What one run is told besides the deployment. */
typedef struct PhHookCall {
        /* Optional (borrowed): a run that is cancelled stops soon and returns -ECANCELED. */
        const PhHttpCancel *cancel;
        /* The drop-in file (absolute path) a pod deployment comes from; NULL for Heat's. A pod owned by a
         * drop-in is never taken over by a Heat deployment, nor the reverse. */
        const char *dropin;
} PhHookCall;

/* What a run gives back. */
typedef struct PhHookResult {
        json_t *data;     /* the heat-config result: deploy_stdout, deploy_stderr, deploy_status_code */
        char *pod;        /* the pod the run was about (NULL when it is not a pod hook) */
        char *summary;    /* one line of what the run did to the pod (NULL when none) */
        bool rolled_back; /* a failed update was undone: the pod runs as before it */
} PhHookResult;

void hook_result_done(PhHookResult *r);

/* What an in-process entry's run gives back, from its hook's return r, result data (taken) and err:
 * -ECANCELED when cancelled (data dropped: the deployment runs again at the next start); a failed
 * result naming the entry when r < 0 or data is no object; else ret->data = data. Returns 1 when
 * ret->data is the hook's own result (the caller adds pod and summary), 0 or -ECANCELED otherwise. */
int hook_take_result(const char *name, int r, bool cancelled, json_t *data, const PhError *err,
                     PhHookResult *ret, PhError **reterr);

typedef struct PhHookOps {
        const char *name; /* for messages */
        /* The group it runs; NULL: any group that has no entry of its own (the external hooks). */
        const char *group;
        /* 0 and *ret filled (a failure of the deployment is data, with a non-zero status code);
         * -ECANCELED when call->cancel stopped it (no result: the deployment stays in progress and runs
         * again at the next start); other < 0 when it could not run at all. */
        int (*run)(const PhHook *h, const json_t *prepared, const PhHookCall *call, PhHookResult *ret,
                   PhError **reterr);
        /* Optional: the values the entry's results must not carry (secret.h), new strv; without it the
         * deployment's own (secret_values_of_deployment). */
        char **(*secret_values)(const json_t *prepared);
        /* Optional, for entries that keep pods: {"<pod>": {"deployment": "<id>" (may be ""),
         * "dropin": "<file>" (only for a drop-in's)}} (new ref). */
        int (*list_owned)(const PhHook *h, json_t **ret, PhError **reterr);
        /* Removes what the entry keeps for the pod (volumes stay), as a DELETE would. */
        int (*remove_owned)(const PhHook *h, const char *pod, PhError **reterr);
        /* Optional: finishes or undoes what a killed run left half done (the agent calls it when it starts);
         * *ret_summary: one line per pod repaired, or NULL. */
        int (*recover)(const PhHook *h, char **ret_summary, PhError **reterr);
} PhHookOps;

/* One entry: its operations and what they work with (borrowed; e.g. PhDockerHookOptions). */
struct PhHook {
        const PhHookOps *ops;
        void *data;
        /* Optional: one more group the entry runs besides ops->group, set where the table is built (the
         * agent's backend = kubelet gives the kubelet entry group docker, with no docker entry then). */
        const char *also;
};

/* The in-process docker hook; data: a PhDockerHookOptions. */
extern const PhHookOps hook_docker_ops;

/* External heat-config hooks; data: a PhExternalHooks. */
typedef struct PhExternalHooks {
        const char *dirs; /* the full search path, ':'-separated */
        unsigned timeout; /* s, 0 = none */
} PhExternalHooks;
extern const PhHookOps hook_external_ops;

/* The kubelet backend (hook-kubelet.c); data: a PhKubeletEntry. Each run and each listing puts the pods'
 * v1 Pods and the kubelet's last word on them into the status store (status_pod_kubelet). */
typedef struct PhKubeletEntry {
        PhKubeletHookOptions options; /* .cancel and .dropin are set per run */
        PhStatus *status;             /* borrowed; NULL: none */
} PhKubeletEntry;
extern const PhHookOps hook_kubelet_ops;

/* The entry that runs group: the first named for it (ops->group or also), else the first for any group;
 * NULL when none. */
const PhHook *hook_find(const PhHook *hooks, size_t n, const char *group);
/* The values a result of the prepared deployment must not carry, by its group's entry. New strv. */
char **hook_secret_values(const PhHook *hooks, size_t n, const json_t *prepared);
/* The same by the agent's built-in entries (docker, external), for where no agent is (--print). */
char **hook_default_secret_values(const json_t *prepared);
