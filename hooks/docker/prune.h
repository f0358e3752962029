/* A clean node (docs/clean-node.md): the images podhook pulled, recorded so that they can go when no
 * container uses them any more, and the hook-level state podhook no longer needs.
 *   <state dir>/images/<64 hex>.json  a pull record (0600, atomic): {"id": "sha256:...", "refs": [what was
 *                                     pulled], "pods": [for whom], "pulled_at", "last_pulled_at"}; one
 *                                     per image ID. No record: not podhook's image, never pruned.
 *   <state dir>/images/.lock          flock()ed while a record is read and written
 *   <run dir>/images.lock             shared by every apply from its first image look-up to its end,
 *                                     exclusive for a prune: an image an apply is about to use is
 *                                     never removed under it */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "common/state-gc.h"
#include "docker/docker.h"

/* What pod_state_gc keeps of state no longer needed (a journal of a pod that has no container, the
 * preStop records of containers that are gone, the pull record of an image that is gone): a day, at
 * most 100 files. */
#define POD_GC_MAX_AGE     (24LL * 3600LL)
#define POD_GC_MAX_ENTRIES 100u

/* Notes that ref was pulled for pod and is image id now. */
int image_record_pull(const char *state_dir, const char *ref, const char *id, const char *pod,
                      PhError **reterr);
/* The lock between applies (shared) and prunes (exclusive), waited for up to wait_secs; *ret_fd holds
 * it until closed. */
int images_lock(bool exclusive, unsigned wait_secs, int *ret_fd, PhError **reterr);

typedef enum PhPruneVerdict {
        PH_PRUNE_REMOVE, /* no container uses it */
        PH_PRUNE_IN_USE, /* a container, any on the engine, was made from it */
        PH_PRUNE_INFRA,  /* the infra image podhook runs its pods with */
} PhPruneVerdict;
/* Whether the image id may go, from the Engine's container summaries (GET /containers/json?all=1, their
 * ImageID) and the infra image's id (may be NULL). *ret_user (optional): the name of a container that
 * uses it (borrowed from containers). Pure. */
PhPruneVerdict image_prune_verdict(const char *id, const json_t *containers, const char *infra_id,
                                   const char **ret_user);

/* Removes the recorded images no container uses (with dry_run: only says which), without force: a
 * refusal of the Engine (409: in use, dependent children) skips that image. Names are removed one by
 * one (DELETE /images/<ref>), each only while it still names the recorded image: an image that another
 * name keeps (someone tagged it) stays, only podhook's names go. *ret_report: an array of {"id",
 * "refs", "pods", "pulled_at", "result": "removed" | "would remove" | "in use" | "infra" | "skipped" |
 * "kept" | "gone", "why"}. Fails only when the Engine or the state directory cannot be read. */
int image_prune(PhDocker *d, const char *state_dir, bool dry_run, json_t **ret_report, PhError **reterr);
/* One line per entry of a prune report. New string. */
char *image_prune_text(const json_t *report, bool dry_run);

/* Collects the hook-level state that is no longer needed (see POD_GC_MAX_AGE; limits NULL: those):
 * journals and preStop records of pods with no container left, pull records
 * of images that are gone, temporary files of interrupted writes. A pod another process holds locked is
 * left alone. *ret_removed (optional): how many files went. */
int pod_state_gc(PhDocker *d, const char *state_dir, const PhGcLimits *limits, size_t *ret_removed,
                 PhError **reterr);
/* pod_state_gc with the default limits at the end of an apply or delete: a failure is a warning, never
 * the apply's. */
void pod_state_gc_logged(PhDocker *d, const char *state_dir);
