/* The files of secret and configMap volumes (extensions of v1beta2), materialised on the node:
 *   <state dir>/pods/<pod>.files/             0700, the pod's own (removed with the pod: no user data)
 *   <state dir>/pods/<pod>.files/<vol>-<d>/   one directory per volume and content (d: 16 hex digits of
 *                                             its digest, an HMAC under the node key for a secret), its
 *                                             items' files 0400 (secret) or 0444 (configMap) unless an item
 *                                             gives its mode; made complete aside, then renamed in place.
 * A content change is a new directory, so the running containers keep theirs until they are replaced,
 * and the mount source (in the spec hash) changes for exactly the containers that mount the volume. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "docker/pod.h"
#include "manifest/manifest.h"

/* Decides where each secret and configMap volume of m lives ({"<volume>": "<directory>"}, new ref) and,
 * with write, makes the directories that are missing. The content of an item comes from o
 * (pod_config_value); a key that none of o's values has fails, naming the volume and the key. */
int pod_config_prepare(const char *state_dir, const char *pod, const PhManifest *m, const PhPodOptions *o,
                       const unsigned char *key, size_t key_len, bool write, json_t **ret_dirs,
                       PhError **reterr);
/* Removes the directories of <pod>.files that keep (as pod_config_prepare gave it) does not name. */
int pod_config_prune(const char *state_dir, const char *pod, const json_t *keep, PhError **reterr);
/* Removes <pod>.files altogether (the pod was deleted). */
int pod_config_remove(const char *state_dir, const char *pod, PhError **reterr);
