/* What the Engine shows of a pod, as the status store keeps it and self-healing judges it: pure
 * functions of a pod's inspect array (pod_inspect: apps, then the infra container). */
#pragma once

#include "status.h"

typedef struct json_t json_t;

/* Why a pod does not work although its containers may all run, judged from the inspect array alone
 * (what is missing needs the spec: heal.h). */
typedef enum PhPodBreak {
        PH_POD_OK,
        PH_POD_NO_INFRA,        /* there are apps, but no infra container */
        PH_POD_INFRA_DOWN,      /* the infra container does not run */
        PH_POD_INFRA_RECREATED, /* an app joins the network of a container that is no longer the infra */
        PH_POD_INFRA_RESTARTED, /* an app started before the infra's last start: another netns */
} PhPodBreak;

/* "infra missing", "infra not running", "infra recreated", "infra restarted"; NULL for PH_POD_OK. */
const char *pod_break_to_string(PhPodBreak b);

/* [{"name", "container", "id", "state", "health", "spec_hash", "restarts", "started_at"}] (new ref):
 * one per container of the inspect array; "container" is null for the infra. *ret_break (optional):
 * how the pod is broken. Pure. */
json_t *observe_containers(const json_t *inspect, PhPodBreak *ret_break);
/* The seconds since the epoch (with fractions) of an Engine time ("2026-01-02T03:04:05.123456789Z"), or
 * -1 when it is none (Docker's zero time "0001-01-01T00:00:00Z" included). Pure. */
double observe_time(const char *s);

/* After a hook run: the inspect array its result carries in deploy_stdout goes to the status store as
 * the pod's last observation (nothing when it carries none). */
void observe_result(PhStatus *s, const char *pod, const json_t *result);
