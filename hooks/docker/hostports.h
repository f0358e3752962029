/* The host ports a pod is to publish against those the engine's other running containers hold. A pod
 * whose host port another container has is refused before anything is touched: on Docker the start
 * would fail only after the old pod was removed, and on Podman the failed start also takes the other
 * container's port rules with it (netavark 1.4: docs/podman.md). A port held by a program that is no
 * container is still the engine's to refuse. */
#pragma once

#include <jansson.h>

#include "common/error.h"
#include "docker/docker.h"
#include "manifest/manifest.h"

/* Pure: the first clash between the manifest's host ports and the summaries (GET /containers/json:
 * "Ports" [{IP, PublicPort, Type}], "Labels", "Names") of the running containers that are not pod's.
 * An address that is empty, 0.0.0.0 or :: takes the port on every address. 0 when there is none;
 * -EADDRINUSE naming the manifest's container, the port and the container holding it. */
int hostports_check(const char *pod, const PhManifest *m, const json_t *running, PhError **reterr);

/* Lists the engine's running containers and checks the manifest against them (nothing to do for a pod
 * without host ports). */
int hostports_check_engine(PhDocker *d, const char *pod, const PhManifest *m, PhError **reterr);
