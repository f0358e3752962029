/* A pod on the Docker Engine: an infra container (<pod>._infra) holding the network namespace, the
 * hostname and every published port, and one app container <pod>.<container> per manifest container
 * joined to it. Everything created carries io.podhook.* labels and is found again by them only. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "docker/docker.h"
#include "manifest/manifest.h"

#define POD_LABEL_MANAGED    "io.podhook.managed"
#define POD_LABEL_POD        "io.podhook.pod"
#define POD_LABEL_CONTAINER  "io.podhook.container"
#define POD_LABEL_VOLUME     "io.podhook.volume"
#define POD_LABEL_ROLE       "io.podhook.role"
#define POD_LABEL_DEPLOYMENT "io.podhook.deployment"
#define POD_LABEL_STACK      "io.podhook.stack"
#define POD_LABEL_RESOURCE   "io.podhook.resource"
/* The drop-in file (absolute path) a pod was applied from: its owner, as stack + resource are a Heat
 * deployment's. */
#define POD_LABEL_DROPIN    "io.podhook.dropin"
#define POD_LABEL_SPEC_HASH "io.podhook.spec-hash"

/* The value of label key of a container summary or a volume (their "Labels"), borrowed, or NULL. */
const char *pod_label(const json_t *object, const char *key);

#define POD_INFRA_SUFFIX  "._infra"
#define POD_DEFAULT_GRACE 10u
#define POD_NAME_MAX      200u

/* Where the pod came from (any field may be NULL): becomes labels. */
typedef struct PhPodMeta {
        const char *deployment; /* Heat deployment (derived config) id */
        const char *stack;      /* deploy_stack_id */
        const char *resource;   /* deploy_resource_name */
        const char *dropin;     /* the drop-in file it comes from */
} PhPodMeta;

/* Plain numbers: the agent's key table takes them as text (POD_DEFAULT_TEXT). */
#define POD_DEFAULT_START_WINDOW  2
#define POD_DEFAULT_READY_TIMEOUT 60
#define POD_DEFAULT_TEXT_(n)      #n
#define POD_DEFAULT_TEXT(n)       POD_DEFAULT_TEXT_(n)

typedef struct PhPodOptions {
        unsigned grace_seconds; /* 0: POD_DEFAULT_GRACE */
        bool no_init;           /* app containers without Docker's init as PID 1 */
        bool progress;          /* pull progress on stderr */
        const char *state_dir;  /* node key and journals; NULL: PH_STATE_DIR_DEFAULT (pod-state.h) */
        /* Seconds a started container must keep running (one of restart policy never/onFailure may
         * instead exit 0) for the update to pass; 0 checks only that it runs right after its start. */
        unsigned start_window;
        bool start_window_set; /* false: POD_DEFAULT_START_WINDOW */
        /* Seconds a started container's livenessProbe may take to pass, from its first try
         * (initialDelaySeconds after the start); also the most a postStart hook may take. 0: one try. */
        unsigned ready_timeout;
        bool ready_timeout_set; /* false: POD_DEFAULT_READY_TIMEOUT */
        bool recreate;          /* tear the old pod down first, as podhook did before updates (no rollback) */
        /* What the pod needs around it (issue 8, docs/options.md); all optional. */
        char *const *
                wait_for; /* "pod:NAME", "tcp:HOST:PORT", "http(s)://...": ready before anything is touched */
        unsigned wait_interval;            /* seconds between two tries; 0: POD_DEFAULT_WAIT_INTERVAL */
        unsigned wait_timeout;             /* seconds in all */
        bool wait_timeout_set;             /* false: POD_DEFAULT_WAIT_TIMEOUT */
        const json_t *config_files;        /* {"key": "content"}: the options' config_files */
        const json_t *inputs;              /* {"name": "value"}: the deployment's string inputs */
        const json_t *secrets;             /* {"name": "value"}: the secrets file */
        const json_t *registry_auths;      /* Docker config.json (its "auths"); NULL: none */
        const struct PhHttpCancel *cancel; /* aborts a wait (the agent's cancel fd); NULL: none */
        /* Log limits of the containers (pod-spec.h): bytes before a log file is rotated (0: the engine's
         * own log config), files kept. */
        uint64_t log_max_size;
        bool log_max_size_set; /* false: POD_DEFAULT_LOG_MAX_SIZE */
        unsigned log_max_file;
        bool log_max_file_set; /* false: POD_DEFAULT_LOG_MAX_FILE */
} PhPodOptions;

#define POD_DEFAULT_WAIT_INTERVAL 2u
#define POD_DEFAULT_WAIT_TIMEOUT  300u

/* Docker's container-name charset, [A-Za-z0-9][A-Za-z0-9_.-]*, at most POD_NAME_MAX characters. */
bool pod_name_is_valid(const char *name);
/* A valid pod name made from any text: a valid name as it is; else characters outside [A-Za-z0-9_.-]
 * become '-' (one for a run of them), a name that does not start with a letter or digit gets "pod-" in
 * front, it is cut to fit, and "-" and 8 hex digits of the original's SHA-256 are appended, so that two
 * different names never give one pod. */
char *pod_name_sanitize(const char *name);

/* Stops (concurrently, with the grace period) and removes every container of the pod (those put aside
 * by an interrupted update too) and its journal; with purge also its named volumes. A pod that does not
 * exist is not an error. Applying a manifest is pod_apply() of pod-exec.h. */
int pod_delete(PhDocker *d, const char *pod, const PhPodOptions *o, bool purge, PhError **reterr);
/* Stops every container of the pod, concurrently; nothing is removed. */
int pod_stop(PhDocker *d, const char *pod, const PhPodOptions *o, PhError **reterr);
/* The inspect array of the pod's existing containers (apps in creation order, then infra), redacted.
 * An empty array when the pod does not exist. */
int pod_inspect(PhDocker *d, const char *pod, json_t **ret, PhError **reterr);
/* The inspect array of the containers ids (NULL-terminated), in that order, redacted. */
int pod_inspect_ids(PhDocker *d, char *const *ids, json_t **ret, PhError **reterr);
/* The same, taking the inspect of an id from known (an object: id -> inspect, borrowed; NULL: none) when
 * it is there, and asking the Engine for the others, all at once. */
int pod_inspect_ids_known(PhDocker *d, char *const *ids, const json_t *known, json_t **ret, PhError **reterr);
/* The grace period of o. */
unsigned pod_grace(const PhPodOptions *o);
/* Container summaries (GET /containers/json) of one pod, or of every podhook pod when pod is NULL;
 * sorted by pod, then apps (in creation order) before the infra container. */
int pod_list(PhDocker *d, const char *pod, json_t **ret, PhError **reterr);
