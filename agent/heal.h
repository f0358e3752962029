/* Self-healing: pods keep running as last applied. A heal pass (a job on the worker, after the Engine's
 * events and every reconcile-interval) looks at each pod the docker entry owns, judges it (heal_decide,
 * pure) and repairs it through the planner: the pod's last applied deployment, kept in the state
 * directory, is run again by its hook entry, which recreates a container removed by hand and starts
 * what should run; when the infra container was restarted or recreated under its apps (they live in a
 * network namespace that is gone), the apps are removed first so that the planner creates them again
 * in the infra's namespace. Volumes are never touched.
 *
 *   <state dir>/heal/<pod>.json   {"deployment": the prepared deployment, "dropin": file | null} (0600:
 *                                 it holds the deployment's inputs), written after each apply that
 *                                 succeeded, removed with the pod */
#pragma once

#include <stdbool.h>

#include "common/error.h"
#include "common/http.h"
#include "hook.h"
#include "notify.h"
#include "status.h"

typedef struct json_t json_t;

#define HEAL_DIR "heal"

/* The last applied deployment of the pod (prepared: a component resolved), and the drop-in file it
 * came from (NULL for Heat's). Errors are logged; healing then goes without it. */
void heal_record_save(const char *state_dir, const char *pod, const json_t *deployment, const char *dropin);
void heal_record_remove(const char *state_dir, const char *pod);
/* {"deployment", "dropin"} (new ref) or NULL. */
json_t *heal_record_load(const char *state_dir, const char *pod);

typedef enum PhHealAction {
        PH_HEAL_NONE,    /* as it should be, or the Engine is at it (a container restarting) */
        PH_HEAL_REAPPLY, /* a container missing or stopped that should run: the planner adds or starts it */
        PH_HEAL_RECREATE_APPS, /* the apps are in a dead network namespace: removed, then reapplied */
} PhHealAction;

/* Pure: what the pod needs, from its inspect array (pod_inspect) and the container names of its last
 * applied manifest (NULL-terminated; NULL when unknown: nothing counts as missing). *ret_reason (new
 * string, NULL for PH_HEAL_NONE): "infra restarted", "container web missing", ... */
PhHealAction heal_decide(const json_t *inspect, char *const *want, char **ret_reason);

/* What a heal pass works with (borrowed). */
typedef struct PhHealEnv {
        const PhHook *hook; /* the docker entry (data: PhDockerHookOptions) */
        const char *state_dir;
        PhStatus *status;
        PhNotifier *notifier;
        const PhHttpCancel *cancel;
} PhHealEnv;

/* One pass over every pod of the entry: observed into the status store, repaired where needed. 0, or
 * a negative errno when the Engine could not be asked (said once until it answers again by the caller). */
int heal_pass(const PhHealEnv *env, PhError **reterr);

/* The livenessProbe of every running container that has one (in its pod's last applied manifest), once
 * its initialDelaySeconds have passed since its start: the liveness period's timer runs this. failures:
 * {"<container id>": failures in a row} (kept by the caller between passes); the threshold-th failure in a
 * row is a probe_failed event and, when the restart policy is always or onFailure, a restart of the
 * container (container_restarted). Every failure counts in podhook_probe_failures_total. */
int heal_probe_pass(const PhHealEnv *env, json_t *failures, unsigned threshold, unsigned grace_seconds,
                    PhError **reterr);
