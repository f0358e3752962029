/* What an apply does, decided without I/O (the kubelet's computePodActions to pod-exec's SyncPod): the
 * desired pod (pod-spec) and the containers the Engine shows for it (found by label) give, per
 * container, keep / start / replace / add / remove with the reasons, and the ordered steps that carry
 * it out. The same kind of plan undoes or finishes an update that was interrupted, from what the
 * Engine shows and the journal of that update.
 *
 * Rules: a container whose spec hash differs is replaced; a change of what the infra container holds
 * (ports, hostIP, hostname) replaces the whole pod (the apps live in its network namespace); a container
 * no longer in the manifest is removed; volumes are never touched. A replaced container is put aside
 * under pod_aside_name() and stopped (its successor is created meanwhile) until its successor has passed
 * its check, and only then removed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "docker/pod-spec.h"

/* One container of the pod as the Engine shows it (a summary of GET /containers/json), with what an
 * inspect adds for a container that does not run. */
typedef struct PhObserved {
        char *id;
        char *name;      /* without Docker's leading '/' */
        char *container; /* io.podhook.container; NULL for the infra container */
        bool infra;
        char *hash;               /* io.podhook.spec-hash; NULL if absent */
        json_t *fields;           /* io.podhook.spec-fields, parsed; NULL if absent */
        unsigned long generation; /* io.podhook.generation; 0 if absent */
        unsigned long aside;      /* > 0: put aside by that update (its name says so) */
        char *state;              /* running, exited, created, restarting, paused, removing, dead */
        int exit_code;            /* from an inspect; -1 when not known */
        char *restart_policy;     /* from an inspect; NULL when not known */
} PhObserved;

typedef struct PhObservedPod {
        PhObserved *items;
        size_t n;
} PhObservedPod;

/* The pod's containers from the summaries of GET /containers/json (already filtered by its labels). */
PhObservedPod *pod_observed_from_summaries(const char *pod, const json_t *summaries);
PhObservedPod *pod_observed_free(PhObservedPod *o);
PH_DEFINE_CLEANUP(PhObservedPod *, pod_observed_free)
/* Whether the container is on its way out (being removed, or dead). */
bool pod_observed_is_gone(const PhObserved *o);
bool pod_observed_is_running(const PhObserved *o);
/* Whether some container is put aside: an update was interrupted. */
bool pod_observed_has_aside(const PhObservedPod *o);

/* What the journal of an update in progress keeps: enough to undo it from what the Engine shows. */
typedef struct PhJournal {
        unsigned long generation; /* of the containers the update creates */
        bool committed;           /* its new containers passed: finish it, do not undo it */
        char **was_running;       /* ids it stops that ran before: started again by an undo */
        char **started;           /* ids of kept containers it starts: stopped again by an undo */
} PhJournal;

typedef enum PhPlanAction {
        PH_PLAN_KEEP,    /* unchanged */
        PH_PLAN_START,   /* unchanged but not running (suspended, interrupted) */
        PH_PLAN_REPLACE, /* changed */
        PH_PLAN_ADD,     /* new in the manifest */
        PH_PLAN_REMOVE,  /* not in the manifest (or a second container for one name) */
} PhPlanAction;

typedef struct PhPlanItem {
        PhPlanAction action;
        ssize_t want;   /* index into the spec's items; -1 for a removal */
        ssize_t have;   /* index into the observed containers; -1 for an addition */
        char **reasons; /* "image ID", "env DB_HOST", "ports", ... (NULL-terminated) */
} PhPlanItem;

typedef enum PhStepOp {
        PH_STEP_STOP,   /* an old container (a preStop hook runs first) */
        PH_STEP_RENAME, /* an old container, to `to`: aside, or back in place */
        PH_STEP_UPDATE, /* an old container: the spec's restart policy again (it was suspended) */
        PH_STEP_CREATE, /* a new container */
        PH_STEP_START,  /* an old or a new container */
        PH_STEP_CHECK,  /* a started container: still running after the start window (probes go here) */
        PH_STEP_COMMIT, /* the update passed: from here on it is finished, never undone */
        PH_STEP_REMOVE, /* an old container (waits for one the Engine is removing already) */
} PhStepOp;

typedef struct PhStep {
        PhStepOp op;
        unsigned wave; /* steps of one wave do not depend on each other: they run together */
        bool fresh;    /* the target is the new container of spec item `index`, else observed `index` */
        size_t index;
        char *to; /* PH_STEP_RENAME: the new name */
} PhStep;

typedef struct PhPlan {
        bool pod_replace;         /* the infra container is replaced, so is every app */
        bool recreate;            /* teardown first (--recreate): nothing to roll back to */
        bool recovery;            /* undoes or finishes an interrupted update */
        bool finishes;            /* recovery only: the update had passed, its old containers go */
        unsigned long generation; /* of the containers it creates (recovery: of the update it repairs) */
        PhPlanItem *items;        /* apps in manifest order, removed ones, the infra container last */
        size_t n_items;
        PhStep *steps; /* ordered by wave */
        size_t n_steps;
        char **was_running; /* for the journal */
        char **started;
} PhPlan;

/* The plan that turns have (with no container put aside: recover first) into want. recreate: every
 * container is replaced, the old pod removed before the new one is created. */
PhPlan *pod_plan_update(const PhPodSpec *want, const PhObservedPod *have, bool recreate);
/* The plan that undoes the interrupted update of journal j (NULL when there is none) or, when it had
 * passed, finishes it. Without a journal, containers put aside by update g mean: undo g. Empty when
 * nothing was interrupted. */
PhPlan *pod_plan_recover(const char *pod, const PhObservedPod *have, const PhJournal *j);
PhPlan *pod_plan_free(PhPlan *p);
PH_DEFINE_CLEANUP(PhPlan *, pod_plan_free)

static inline bool pod_plan_is_empty(const PhPlan *p) {
        return p->n_steps == 0;
}
/* Whether the plan creates an infra container (a new pod, or the whole pod replaced): only then does
 * it bind host ports. */
bool pod_plan_creates_infra(const PhPlan *p);
/* "keep", "start", "replace", "add", "remove" */
const char *pod_plan_action_name(PhPlanAction a);
/* The Docker name of an item's container (borrowed). */
const char *pod_plan_item_name(const PhPlan *p, const PhPlanItem *it, const PhPodSpec *want,
                               const PhObservedPod *have);
/* {"pod", "nothing_to_do", "pod_replaced", "containers": [{"container", "name", "action", "reasons"}]}
 * (new ref): what `podhook diff --json` prints. */
json_t *pod_plan_to_json(const PhPlan *p, const PhPodSpec *want, const PhObservedPod *have);
/* One line: "pod web: web.web replaced (image ID), web.cache kept, web._infra kept". The caller frees it. */
char *pod_plan_summary(const PhPlan *p, const PhPodSpec *want, const PhObservedPod *have, bool done);
