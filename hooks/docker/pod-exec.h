/* Applying a manifest to a pod (the kubelet's SyncPod to pod-plan's computePodActions): under the pod's
 * lock, an update that was interrupted is repaired first; then images and volumes are made present, the
 * desired pod built (pod-spec), compared with what runs (pod-plan), and the plan carried out wave by
 * wave with a journal in the state directory. When a step fails before the new containers have passed
 * their check, the update is undone from what the Engine shows and the journal, the same way a crash is
 * repaired by the next run: the new containers go, the old ones come back in place and run again. */
#pragma once

#include "common/error.h"
#include "docker/docker.h"
#include "docker/pod.h"
#include "manifest/manifest.h"

/* Makes the pod what the manifest (which must be valid) says, touching only what changed: nothing at
 * all when nothing changed. *ret_inspect: the inspect array (apps in manifest order, then the infra),
 * secret env values redacted. *ret_summary (optional): one line saying what was kept, replaced, added,
 * removed and why. On failure nothing of the update is left: the error says what failed and that it
 * "rolled back" (or why it could not). Volumes are never removed. */
int pod_apply(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta, const PhPodOptions *o,
              json_t **ret_inspect, char **ret_summary, PhError **reterr);
/* What became of an update that failed once it had begun to change the pod. */
typedef enum PhPodUndo {
        POD_UNDO_NONE,         /* nothing to undo: it succeeded, or failed before touching the pod */
        POD_UNDO_ROLLED_BACK,  /* undone: the previous containers run again */
        POD_UNDO_NOTHING_LEFT, /* undone, with nothing to go back to (a new pod, or --recreate) */
        POD_UNDO_FAILED,       /* the undo failed too: the next apply, hook run or agent start repairs it */
} PhPodUndo;
/* pod_apply that also says, in *ret_undo (optional), what became of a failed update. */
int pod_apply_undo(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta,
                   const PhPodOptions *o, json_t **ret_inspect, char **ret_summary, PhPodUndo *ret_undo,
                   PhError **reterr);
/* What pod_apply would do, without changing anything (no pull, no lock, no state written): *ret_json
 * as pod_plan_to_json(), *ret_text one line per container ("web.web  replace  image ID, env MODE"). */
int pod_diff(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta, const PhPodOptions *o,
             json_t **ret_json, char **ret_text, PhError **reterr);
/* Repairs the interrupted updates of every pod that has a journal in the state directory (the agent
 * does this when it starts). *ret_summary (optional): one line per pod repaired. */
int pod_recover_all(PhDocker *d, const PhPodOptions *o, char **ret_summary, PhError **reterr);
