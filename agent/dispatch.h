/* Dispatch: the deployments of one metadata document, in list order, each run once by its config
 * id (resumed if a crash interrupted it), through the in-process docker hook or an external
 * heat-config hook; every result goes to the outbox before it is sent. */
#pragma once

#include <stdbool.h>

#include "common/error.h"
#include "hook.h"
#include "outbox.h"
#include "state.h"

typedef struct json_t json_t;

typedef enum PhDispatchEvent {
        PH_DISPATCH_START,     /* a deployment is about to run */
        PH_DISPATCH_RESUME,    /* the same, for one a crash interrupted */
        PH_DISPATCH_RESULT,    /* its result is in the outbox (data = the result) */
        PH_DISPATCH_NO_ACTION, /* component without a config for this action: nothing runs, nothing is sent */
        PH_DISPATCH_ERROR,     /* could not be handled (malformed, not startable): err says why */
        PH_DISPATCH_POD_REMOVED, /* reconciliation removed a pod (name in data) */
        PH_DISPATCH_POD_KEPT,    /* a pod whose deployment is missing from the metadata for the first time */
        PH_DISPATCH_STATE_ERROR, /* the agent's own state could not be written: err; kept in memory, retried
                                  */
        PH_DISPATCH_LOST,        /* at stop: a result that could never be stored (err); data true when Heat
                                  * will be told it failed, false when the deployment runs again */
        PH_DISPATCH_RECOVERED, /* an interrupted deployment whose result was already stored: not run again */
        PH_DISPATCH_RAN, /* its hook returned; data = {"status_code", "seconds" (how long it ran), "pod",
                          * "summary" (each where the hook says), "rolled_back"}; RESULT follows */
} PhDispatchEvent;

typedef struct PhDispatch {
        const PhState *state;
        PhOutbox *outbox;
        /* The hook entries (hook.h): a deployment runs through its group's; reconciliation asks each
         * that keeps pods. */
        const PhHook *hooks;
        size_t n_hooks;
        void (*report)(PhDispatchEvent ev, const char *id, const json_t *deployment, const json_t *data,
                       const PhError *err, void *userdata);
        /* Optional (borrowed): checked between deployments and handed to the hooks and their requests;
         * a cancelled hook leaves its deployment in progress, to run again at the next start. */
        const PhHttpCancel *cancel;
        void *userdata;
        /* Results whose writes failed, id -> {"deployment", "inputs", "data", "stage"}: not run again,
         * written at each pass until it works. */
        json_t *pending;
        json_t *absent;       /* <state>/absent.json, loaded on first use */
        const json_t *listed; /* the deployments of the dispatch_all under way (borrowed) */
} PhDispatch;

/* A Heat deployment's pod, or its interrupted run, is given up only after it has been missing from
 * this many complete passes in a row (a stale replica or a file being rewritten can drop it once). */
#define DISPATCH_ABSENT_PASSES 2

/* PhDockerHookOptions.is_listed for the dispatch d: whether the Heat deployment (stack, resource) is in
 * the list of the dispatch_all under way (outside one, every deployment counts as listed). */
bool dispatch_is_listed(const char *stack, const char *resource, void *d);
/* Frees what dispatch keeps (pending results are dropped: call dispatch_stop first). */
void dispatch_done(PhDispatch *d);
/* The entry as hooks get it: String inputs coerced with Python's str(), a component resolved to the
 * config and tool of its entry for deploy_action. 0 and *ret (new ref); 1 when a component has no
 * entry for the action; -EINVAL when malformed. */
int dispatch_prepare(const json_t *deployment, json_t **ret, PhError **reterr);
/* name -> value map of the entry's inputs (new ref). */
json_t *dispatch_inputs_map(const json_t *deployment);
/* The same with only the deploy_* inputs: what a signal transport needs, stored in the outbox. */
json_t *dispatch_signal_inputs(const json_t *deployment);
/* Runs a prepared entry through its group's hook: 0 and *ret (a failure is data: a missing hook is
 * deploy_status_code 1 with the reason in deploy_stderr), or -ECANCELED when the cancel interrupted it
 * (the deployment stays in progress and is resumed at the next start). */
int dispatch_run_hook(PhDispatch *d, const json_t *prepared, PhHookResult *ret);
/* One entry: 1 when it ran, 0 when skipped (done, pending, or nothing to do), -EINTR when stopped while
 * its hook ran, other < 0 on error (also when it ran but its result could not be stored yet: it is
 * then kept in memory and never run again by this process). */
int dispatch_one(PhDispatch *d, const json_t *deployment, PhError **reterr);
/* Every entry of the list in order; an error in one is reported and the next continues. An id listed
 * again is reported (each time) and only its first entry counts. Returns the number that ran, or -EINTR
 * when the cancel said so. */
int dispatch_all(PhDispatch *d, const json_t *deployments);
/* Tries again to write the pending results (one report per failure); returns how many are left. */
size_t dispatch_retry_pending(PhDispatch *d);
/* At the start of a pass: lost results become failures for Heat, interrupted deployments whose result
 * is already in the outbox (or was delivered) are finished instead of run again, then the records of
 * delivered signals are forgotten. */
void dispatch_recover(PhDispatch *d);
/* When the agent stops: a last try for pending results; those that still cannot be stored become lost
 * records (Heat is told at the next start that they failed). Returns how many were not stored. */
size_t dispatch_stop(PhDispatch *d);
/* Interrupted deployments missing from DISPATCH_ABSENT_PASSES complete passes are given up (Heat moved
 * on while we were down): their marker goes to removed/, so a return runs them again. */
void dispatch_forget_vanished(PhDispatch *d, const json_t *deployments);
/* The Heat deployment resource an entry belongs to, stable across its actions (new string): "<stack
 * id>\n<resource name>", or, for an entry not from Heat, "\n\n<name>"; NULL when it has neither. */
char *dispatch_resource_key(const json_t *deployment);
/* Removes the pods this agent deployed whose Heat deployment (stack + resource) has been missing from
 * DISPATCH_ABSENT_PASSES lists in a row (their markers go to removed/), asking every hook entry that
 * keeps pods; a drop-in's pod is never one of them. Only call it with successfully fetched metadata.
 * Returns the number removed. */
int dispatch_reconcile(PhDispatch *d, const json_t *deployments, PhError **reterr);
/* True while a pod's deployment is counted as missing: the next complete pass must reconcile. */
bool dispatch_pods_missing(PhDispatch *d);
