/* The desired pod, decided without I/O: the Engine create body of the infra container and of every app,
 * each with a hash over its effective body (what the Engine is asked to run, defaults filled, the ID its
 * image tag resolves to) and over every manifest field that is not in the body (probes, lifecycle
 * handlers, imagePullPolicy). Values of secret-named env variables enter the hash only as an HMAC under
 * the node's key, so no label carries an unkeyed hash of a password. Also the names the pod's containers
 * have, in place and put aside during an update. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker/pod.h"
#include "manifest/manifest.h"

/* The generation of the update that created a container (1, 2, ...; each applied change adds one). */
#define POD_LABEL_GENERATION "io.podhook.generation"
/* {"<field>": "<16 hex digits>", ...}: a digest per field of the hashed spec, so a plan can say which
 * fields changed. Secret values are digested from their HMAC. */
#define POD_LABEL_SPEC_FIELDS "io.podhook.spec-fields"
/* Bytes of the node key (<state dir>/node.key). */
#define POD_NODE_KEY_LEN 32u
/* The log limits of every container unless turned off (docs/clean-node.md): the json-file driver,
 * rotated at 10 MiB, 3 files kept: at most 30 MiB of logs per container. */
#define POD_DEFAULT_LOG_MAX_SIZE (10ull * 1024u * 1024u)
#define POD_DEFAULT_LOG_MAX_FILE 3u
#define POD_LOG_MAX_FILE_MAX     100u
#define POD_LOG_MAX_SIZE_MAX     (1ull << 40) /* 1 TiB */

typedef struct PhSpecInput {
        const char *pod;
        const PhManifest *m;
        const PhPodMeta *meta; /* labels only, never hashed; may be NULL */
        bool no_init;
        const char *infra_image; /* reference of the infra image */
        char *const
                *image_ids; /* per manifest container: the image ID its tag resolves to, NULL if unknown */
        const unsigned char *key; /* the node key */
        size_t key_len;
        /* Where env valueFrom.secretKeyRef values come from (pod_secret_value); NULL: none. Such a value
         * enters the hashes only as an HMAC, as a secret-named one does. */
        const PhPodOptions *values;
        /* {"<volume>": "<host directory>"}: where each secret and configMap volume was materialised
         * (pod-config.h); its name holds its content's digest, so a change replaces its mounters. */
        const json_t *config_dirs;
        /* Bytes a container's log file may reach before it is rotated; 0: no LogConfig is sent (the
         * engine's own default stays). */
        uint64_t log_max_size;
        unsigned log_max_file; /* files kept, the current one included (1..POD_LOG_MAX_FILE_MAX) */
        bool podman;           /* the engine is Podman (its conmon keeps one file: docs/podman.md) */
} PhSpecInput;

/* A probe's or lifecycle hook's action as podhook runs it, its port resolved. */
typedef struct PhSpecAction {
        PhHandlerAction kind; /* exactly one */
        int port;             /* httpGet, tcpSocket: 1-65535 */
        char *path;           /* httpGet: as written, "/" when absent */
        char *host;           /* httpGet: where to connect; NULL: the pod's address */
        char **command;       /* exec */
        /* For messages: "livenessProbe httpGet :80/health" (no query string), "... tcpSocket :6379",
         * "... exec /bin/check" (the program only: its arguments may hold secrets). */
        char *what;
} PhSpecAction;

typedef struct PhSpecProbe {
        PhSpecAction action;
        unsigned initial_delay; /* seconds after the start before the first try */
        unsigned timeout;       /* seconds one try may take; 1 when absent or 0 (the kubelet's default) */
} PhSpecProbe;

typedef struct PhSpecContainer {
        char *container; /* manifest name; NULL for the infra container */
        char *name;      /* <pod>.<container>, <pod>._infra */
        /* The create body. An app's HostConfig.NetworkMode is "container:" + the infra's id, filled in by
         * pod_spec_create_body(); the generation label too. */
        json_t *body;
        json_t *fields;           /* the io.podhook.spec-fields object */
        char *hash;               /* io.podhook.spec-hash: "sha256:<64 hex digits>" */
        bool keeps_running;       /* restart policy always: it must still run after its start window */
        bool image_known;         /* false when the image ID was not known (not present locally) */
        PhSpecProbe *liveness;    /* livenessProbe; NULL when none (and for the infra) */
        PhSpecAction *post_start; /* lifecycle.postStart, may be NULL */
        PhSpecAction *pre_stop;   /* lifecycle.preStop, may be NULL */
} PhSpecContainer;

typedef struct PhPodSpec {
        char *pod;
        PhSpecContainer *items; /* apps in manifest order, then the infra container (always last) */
        size_t n;               /* apps + 1 */
} PhPodSpec;

/* A log size as the options give it: bytes ("1048576"), or a number with k, m or g (binary units, as
 * Docker reads them; "b" may follow: "10mb"); "0" is 0 (off). -EINVAL when it is none of these or more
 * than POD_LOG_MAX_SIZE_MAX. */
int pod_log_size_parse(const char *s, uint64_t *ret);
/* HostConfig.LogConfig of a container with these limits (new ref), or NULL when max_size is 0. */
json_t *pod_spec_log_config(uint64_t max_size, unsigned max_file, bool podman);

/* The desired pod of a valid manifest. Never fails: every input was validated. */
PhPodSpec *pod_spec_build(const PhSpecInput *in);
PhPodSpec *pod_spec_free(PhPodSpec *s);
PH_DEFINE_CLEANUP(PhPodSpec *, pod_spec_free)
static inline const PhSpecContainer *pod_spec_infra(const PhPodSpec *s) {
        return &s->items[s->n - 1];
}

/* The body to send for c (new ref): the generation label set and, for an app, NetworkMode pointing at
 * infra_id. */
json_t *pod_spec_create_body(const PhSpecContainer *c, const char *infra_id, unsigned long generation);

/* The labels every object of the pod carries: managed, pod, role (unless NULL: a volume) and where the
 * pod came from. */
void pod_spec_set_labels(json_t *labels, const char *pod, const PhPodMeta *meta, const char *role);
/* "<pod>.<volume>": the named Docker volume of an emptyDir (or sourceless) volume. */
char *pod_volume_name(const char *pod, const char *volume);
/* The name of a container in place: "<pod>.<container>", or "<pod>._infra" for container NULL. */
char *pod_container_name(const char *pod, const char *container);
/* The name a container gets while update g replaces it: "<pod>._old<g>.<container>" ("_infra" for
 * NULL). Container names cannot start with '_', so no container in place is ever named like this. */
char *pod_aside_name(const char *pod, const char *container, unsigned long g);
/* If name is an aside name of pod, the generation of the update that put it aside (> 0), else 0. */
unsigned long pod_aside_generation(const char *pod, const char *name);

/* An action as JSON ({"kind": "httpGet", "port", "path", "host"} / {"kind": "tcpSocket", "port"} /
 * {"kind": "exec", "command"}; new ref), and back (NULL when j is no such object): how a container's
 * preStop is kept until it is stopped, by a podhook that may no longer have its manifest. what_prefix
 * names it in messages ("lifecycle.preStop"). */
json_t *pod_spec_action_to_json(const PhSpecAction *a);
PhSpecAction *pod_spec_action_from_json(const json_t *j, const char *what_prefix);
PhSpecAction *pod_spec_action_free(PhSpecAction *a);
PH_DEFINE_CLEANUP(PhSpecAction *, pod_spec_action_free)

/* What a spec field is called in a plan: "Env DB_HOST" -> "env DB_HOST", "ImageID" -> "image ID",
 * "HostConfig.PortBindings" -> "ports". The caller frees it. */
char *pod_spec_field_reason(const char *field);
