/* Running a probe's or lifecycle hook's action against a pod, once: httpGet and tcpSocket from podhook
 * to the pod's address (its infra container's IP on its network), exec inside the container through the
 * Engine's exec API (attached). When to run them, and what a failure means, is pod-exec's to say. */
#pragma once

#include "common/error.h"
#include "docker/docker.h"
#include "docker/pod-spec.h"

/* The pod's address: the IP the Engine gave its infra container (NetworkSettings, the first network
 * with one). -EADDRNOTAVAIL when it has none. */
int pod_probe_address(PhDocker *d, const char *infra_id, char **ret, PhError **reterr);

/* Runs a once, within timeout_ms: exec in container id, httpGet to its host (or ip) and tcpSocket to
 * ip. 0 when it passed (exit code 0, an HTTP status 200-399, a connection made). Otherwise < 0 and
 * *reterr says why, without what ran: "HTTP 500", "Connection refused", "exit code 1", "no answer
 * within 1 s". */
int pod_action_run(PhDocker *d, const char *id, const char *ip, const PhSpecAction *a, long timeout_ms,
                   PhError **reterr);
