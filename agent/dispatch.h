/* Dispatch: the deployments of one metadata document, in list order, each run once by its config
 * id (resumed if a crash interrupted it), through the in-process docker hook or an external
 * heat-config hook; every result goes to the outbox before it is sent. */
#pragma once

#include <stdbool.h>

#include "common/error.h"
#include "docker/hook-docker.h"
#include "outbox.h"
#include "state.h"

typedef struct json_t json_t;

typedef enum PhDispatchEvent {
        PH_DISPATCH_START,     /* a deployment is about to run */
        PH_DISPATCH_RESUME,    /* the same, for one a crash interrupted */
        PH_DISPATCH_RESULT,    /* its result is in the outbox (data = the result) */
        PH_DISPATCH_NO_ACTION, /* component without a config for this action: nothing runs, nothing is sent */
        PH_DISPATCH_ERROR,     /* could not be handled (malformed, state not writable): err says why */
        PH_DISPATCH_POD_REMOVED, /* reconciliation removed a pod (name in data) */
} PhDispatchEvent;

typedef int (*PhDockerRunFn)(const json_t *deployment, const PhDockerHookOptions *o, json_t **ret_result,
                             PhError **reterr);
typedef int (*PhDockerListFn)(const PhDockerHookOptions *o, json_t **ret, PhError **reterr);
typedef int (*PhDockerRemoveFn)(const PhDockerHookOptions *o, const char *pod, PhError **reterr);

typedef struct PhDispatch {
        const PhState *state;
        PhOutbox *outbox;
        const char *hook_dirs; /* full search path, ':'-separated */
        unsigned hook_timeout; /* s, 0 = none */
        PhDockerHookOptions docker;
        /* The docker group's hook; docker_hook_* unless a test replaces them. */
        PhDockerRunFn docker_run;
        PhDockerListFn docker_list;
        PhDockerRemoveFn docker_remove;
        void (*report)(PhDispatchEvent ev, const char *id, const json_t *deployment, const json_t *data,
                       const PhError *err, void *userdata);
        bool (*should_stop)(void *userdata); /* checked between deployments */
        int cancel_fd; /* readable when should_stop may say yes (a signalfd); -1: external hooks are not interrupted */
        void *userdata;
} PhDispatch;

/* Fills the docker_* function pointers with the real hook. */
void dispatch_init(PhDispatch *d);
/* The entry as hooks get it: String inputs coerced with Python's str(), a component resolved to the
 * config and tool of its entry for deploy_action. 0 and *ret (new ref); 1 when a component has no
 * entry for the action; -EINVAL when malformed. */
int dispatch_prepare(const json_t *deployment, json_t **ret, PhError **reterr);
/* name -> value map of the entry's inputs (new ref). */
json_t *dispatch_inputs_map(const json_t *deployment);
/* The same with only the deploy_* inputs: what a signal transport needs, stored in the outbox. */
json_t *dispatch_signal_inputs(const json_t *deployment);
/* The values a result of the entry must not carry (secret.h): its inputs', and its config's where the
 * group's hook reads one (a docker manifest, YAML text too). New strv. */
char **dispatch_secret_values(const json_t *deployment);
/* Runs a prepared entry through its hook. Always gives a result (a failure is data: a missing hook
 * is deploy_status_code 1 with the reason in deploy_stderr), except NULL when should_stop interrupted
 * an external hook (the deployment stays in progress and is resumed at the next start). */
json_t *dispatch_run_hook(PhDispatch *d, const json_t *prepared);
/* One entry: 1 when it ran, 0 when skipped (done, or nothing to do), -EINTR when stopped while its hook
 * ran, other < 0 on error. */
int dispatch_one(PhDispatch *d, const json_t *deployment, PhError **reterr);
/* Every entry of the list in order; an error in one is reported and the next continues. An id listed
 * again is reported (each time) and only its first entry counts. Returns the number that ran, or -EINTR
 * when should_stop said so. */
int dispatch_all(PhDispatch *d, const json_t *deployments);
/* Drops in-progress records of ids no longer listed (Heat moved on while we were down). */
void dispatch_forget_vanished(PhDispatch *d, const json_t *deployments);
/* Removes the pods this agent deployed whose Heat deployment (stack + resource) is no longer in the
 * list. Only call it with successfully fetched metadata. Returns the number removed. */
int dispatch_reconcile(PhDispatch *d, const json_t *deployments, PhError **reterr);
