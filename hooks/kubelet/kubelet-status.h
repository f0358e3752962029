/* What the kubelet says of a static pod podhook wrote: the decision from its /pods answer (pure), and the
 * poller that asks until the pod is ready, failed, or out of time. */
#pragma once

#include <stdbool.h>

#include "common/error.h"
#include "common/http.h"

typedef struct json_t json_t;

/* The kubelet's read-only port; with authentication, https://127.0.0.1:10250/pods and a client cert. */
#define KUBELET_URL_DEFAULT "http://127.0.0.1:10255/pods"
/* heat-agents' kubelet hook: images_timeout, containers_timeout, poll_period (seconds). */
#define KUBELET_IMAGES_TIMEOUT_DEFAULT_MS     600000L
#define KUBELET_CONTAINERS_TIMEOUT_DEFAULT_MS 120000L
#define KUBELET_POLL_PERIOD_DEFAULT_MS        5000L

typedef enum PhKubeletState {
        KUBELET_POD_ABSENT,    /* no pod of this version in the answer (the kubelet has not read the file) */
        KUBELET_POD_PENDING,   /* there, not yet running and ready: ask again */
        KUBELET_POD_READY,     /* phase Running, every container running and ready */
        KUBELET_POD_SUCCEEDED, /* phase Succeeded: every container ran to completion (not Always) */
        KUBELET_POD_FAILED, /* it will not get ready by itself (a crash loop, an image that is not there) */
} PhKubeletState;

typedef struct PhKubeletVerdict {
        PhKubeletState state;
        bool images_pulled; /* every container has an image ID: the pull is over */
        char *reason;       /* one line: why (pending, failed), or what (ready); never NULL */
        json_t *pod;        /* the matched Pod of the answer (new ref), NULL when absent */
} PhKubeletVerdict;

void kubelet_verdict_done(PhKubeletVerdict *v);

/* Finds podhook pod `pod` (annotation io.podhook/pod) of spec hash `hash` (annotation io.podhook/spec-hash)
 * in podlist (the kubelet's v1 PodList); name is the Pod's v1 name, which the kubelet suffixes with
 * "-<node name>". A pod of the same podhook pod with another hash is the old version: pending. Pure. */
void kubelet_status_decide(const json_t *podlist, const char *pod, const char *name, const char *hash,
                           PhKubeletVerdict *ret);
const char *kubelet_state_to_string(PhKubeletState s);

/* What the status API shows of a v1 PodStatus (NULL: none yet): {"phase": <phase or null>, "containers":
 * [{"name", "state": "waiting" | "running" | "terminated" | null, "reason"?, "exit_code"?, "ready",
 * "restarts"}]} in the status's order. New ref. Pure. */
json_t *kubelet_status_brief(const json_t *status);

typedef struct PhKubeletWatch {
        const char *url;                            /* NULL: KUBELET_URL_DEFAULT */
        const char *ca_file, *cert_file, *key_file; /* https: optional CA, client certificate and key */
        long images_timeout_ms;                     /* until every image is there (0: the default) */
        long containers_timeout_ms;                 /* after that, until the pod is ready (0: the default) */
        long poll_period_ms;                        /* between two requests (0: the default) */
        const PhHttpCancel *cancel; /* optional: the wait ends with -ECANCELED when it says so */
} PhKubeletWatch;

/* Asks the kubelet every poll period until the pod is ready, succeeded or failed, or the time is up; a
 * kubelet that does not answer (refused, silent, not a PodList) counts as not ready, and when the time is
 * up the verdict is FAILED with the last thing that went wrong. Returns 0 with *ret filled, -ECANCELED
 * when cancelled. */
int kubelet_watch(const PhKubeletWatch *w, const char *pod, const char *name, const char *hash,
                  PhKubeletVerdict *ret, PhError **reterr);
