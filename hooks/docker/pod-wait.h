/* Waiting for what a pod depends on (the options' wait_for, docs/options.md) before anything of it is
 * touched: pod:NAME (every container of that pod running, no update of it in progress, the liveness
 * probes it was applied with passing), tcp:HOST:PORT (a connection made), http(s)://... (a 2xx answer,
 * never through a proxy). Tried every wait_interval seconds until each has been ready once, for at most
 * wait_timeout seconds; the cancel fd of the options ends the wait at once. */
#pragma once

#include "common/error.h"
#include "docker/docker.h"
#include "docker/pod.h"

/* 0 when every dependency of o->wait_for is ready (at once when there are none). Otherwise
 * -ETIMEDOUT naming the first one not ready and what it last answered ("wait_for tcp:127.0.0.1:9: not
 * ready after 300 s: Connection refused"), or -ECANCELED. */
int pod_wait_for(PhDocker *d, const PhPodOptions *o, PhError **reterr);
/* Tries dependency dep once (timeout_ms at most; cancel, which may be NULL, ends a tcp or http try early
 * with -ECANCELED). 0: ready; else < 0 with what it answered. */
int pod_wait_try(PhDocker *d, const char *state_dir, const char *dep, long timeout_ms,
                 const PhHttpCancel *cancel, PhError **reterr);
