/* What podhook keeps on the node for its pods, and the lock that lets one process at a time change a
 * pod:
 *   <state dir>/node.key                  32 random bytes (0600): the key of the secret HMACs in labels
 *   <state dir>/pods/<pod>.journal.json   the update of the pod in progress (0600, atomic writes)
 *   <state dir>/pods/<pod>.prestop.json   the preStop action of each of its containers that has one, by
 *                                         container id (0600): whoever stops the container runs it, with
 *                                         or without the manifest that made it
 *   <state dir>/pods/<pod>.probes.json    the livenessProbe of each of its containers that has one, by
 *                                         container id (0600): what `wait_for: [pod:NAME]` tries
 *   <state dir>/pods/<pod>.files/         its secret and configMap volumes' files (pod-config.h)
 *   <run dir>/pods/<pod>.lock             flock()ed by whoever changes the pod (run dir: $PODHOOK_RUN_DIR,
 *                                         else /run/podhook; directories 0700) */
#pragma once

#include <stdbool.h>

#include "common/error.h"
#include "docker/pod-plan.h"

/* Where the agent keeps its state unless told otherwise (--state-dir): the pods' node key and journals
 * are there too. */
#define PH_STATE_DIR_DEFAULT "/var/lib/podhook"
#define POD_RUN_DIR_ENV      "PODHOOK_RUN_DIR"
#define POD_DEFAULT_RUN_DIR  "/run/podhook"
/* How long a second process waits for a pod another one is changing (an apply may pull images and
 * watch start windows), before it gives up. */
#define POD_LOCK_WAIT_SECS 600u

/* The state directory, made (0700, with its parents) if missing. */
int pod_state_dir_ensure(const char *state_dir, PhError **reterr);
/* Reads the node key into key. With create, a missing key is made first (once, even when two processes
 * race for it) and 1 is returned; without, a missing key is 0. */
int pod_node_key(const char *state_dir, bool create, unsigned char key[POD_NODE_KEY_LEN], PhError **reterr);

/* The journal of the pod's update in progress: 1 and *ret (free with pod_journal_free), or 0 when
 * there is none. A journal that cannot be read is an error: an update might be in progress. */
int pod_journal_load(const char *state_dir, const char *pod, PhJournal **ret, PhError **reterr);
int pod_journal_save(const char *state_dir, const char *pod, const PhJournal *j, PhError **reterr);
int pod_journal_remove(const char *state_dir, const char *pod, PhError **reterr);
PhJournal *pod_journal_free(PhJournal *j);
PH_DEFINE_CLEANUP(PhJournal *, pod_journal_free)
/* Names of the pods that have a journal (NULL-terminated; the caller frees with strv_free). */
char **pod_journal_list(const char *state_dir);

/* The pod's preStop actions by container id ({"<id>": pod_spec_action_to_json()}); an empty object
 * when there are none. Saving an empty object removes the file. */
int pod_prestops_load(const char *state_dir, const char *pod, json_t **ret, PhError **reterr);
int pod_prestops_save(const char *state_dir, const char *pod, const json_t *map, PhError **reterr);
/* The same for the pod's liveness probes ({"<id>": {"action": ..., "timeout": seconds}}). */
int pod_probes_load(const char *state_dir, const char *pod, json_t **ret, PhError **reterr);
int pod_probes_save(const char *state_dir, const char *pod, const json_t *map, PhError **reterr);

/* Takes the pod's lock, waiting up to wait_secs for another process to release it (saying so once on
 * stderr). *ret_fd holds the lock until it is closed. */
int pod_lock(const char *pod, unsigned wait_secs, int *ret_fd, PhError **reterr);
