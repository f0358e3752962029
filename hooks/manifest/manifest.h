/* Kubernetes v1beta2 ContainerManifest: parsing (YAML or JSON, bare or under a "manifest:" key) and
 * validation. Pure: no I/O besides the buffer it is given. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

typedef struct json_t json_t;

/* Limits on hostile input: checked before anything is allocated for it. */
#define MANIFEST_MAX_BYTES (1024u * 1024u) /* document size */
#define MANIFEST_MAX_DEPTH 64u             /* nesting of maps and lists */
#define MANIFEST_MAX_NODES 100000u         /* nodes after alias expansion */
/* Text of keys and values after alias expansion: an alias of one long string is a single node, but every
 * copy of the typed manifest and every dump of it (spec hashes) pays for its whole length. */
#define MANIFEST_MAX_TEXT (8u * 1024u * 1024u)

typedef enum PhVolumeKind {
        PH_VOLUME_EMPTY_DIR, /* also: no source at all */
        PH_VOLUME_HOST_DIR,
        /* Extensions of v1beta2 in the later Kubernetes shapes: files podhook writes from values it is
         * given (the deployment's options config_files, its inputs, the secrets), mounted read-only. */
        PH_VOLUME_SECRET,     /* source.secret.items: files 0400 unless an item says otherwise */
        PH_VOLUME_CONFIG_MAP, /* source.configMap.items: files 0444 unless an item says otherwise */
} PhVolumeKind;

/* One file of a secret or configMap volume. */
typedef struct PhVolumeItem {
        char *key;  /* the value it holds */
        char *path; /* relative, no "." or ".." component */
        int mode;   /* permission bits; -1: the kind's default */
} PhVolumeItem;

typedef struct PhVolume {
        char *name;
        PhVolumeKind kind;
        char *host_path;     /* PH_VOLUME_HOST_DIR only, absolute */
        PhVolumeItem *items; /* PH_VOLUME_SECRET, PH_VOLUME_CONFIG_MAP */
        size_t n_items;
} PhVolume;

typedef struct PhVolumeMount {
        char *name; /* names a PhVolume */
        char *mount_path;
        bool read_only;
} PhVolumeMount;

typedef struct PhPort {
        char *name;         /* may be NULL */
        int container_port; /* 1-65535 */
        int host_port;      /* 0 = not published */
        char *protocol;     /* "tcp" or "udp", lower case */
        char *host_ip;      /* may be NULL */
} PhPort;

typedef struct PhEnvVar {
        char *name;
        char *value;      /* never NULL; "" when absent or taken from a secret */
        char *secret_key; /* valueFrom.secretKeyRef.key (an extension of v1beta2): the value is that
                           * secret's, resolved when the pod is built; NULL for a plain value */
} PhEnvVar;

typedef enum PhRestartPolicy {
        PH_RESTART_ALWAYS, /* default */
        PH_RESTART_ON_FAILURE,
        PH_RESTART_NEVER,
} PhRestartPolicy;

/* A port of a probe or handler (v1beta2's IntOrString), as written. In a valid manifest it names a port
 * (manifest_handler_port). */
typedef enum PhPortRefKind {
        PH_PORT_REF_NONE,   /* absent or null */
        PH_PORT_REF_NUMBER, /* an integer, not range-checked */
        PH_PORT_REF_NAME,   /* a string: a port name, or digits */
        PH_PORT_REF_OTHER,  /* any other JSON type */
} PhPortRefKind;

typedef struct PhPortRef {
        PhPortRefKind kind;
        int64_t number; /* PH_PORT_REF_NUMBER */
        char *name;     /* PH_PORT_REF_NAME */
} PhPortRef;

/* Which actions a probe or handler names; v1beta2 validation lets it name none or several. */
typedef enum PhHandlerAction {
        PH_HANDLER_HTTP_GET = 1 << 0,
        PH_HANDLER_TCP_SOCKET = 1 << 1, /* probes only */
        PH_HANDLER_EXEC = 1 << 2,
} PhHandlerAction;

/* A livenessProbe's or lifecycle hook's action. In a valid manifest exactly one (tcpSocket for probes
 * only), with a port or a command. */
typedef struct PhHandler {
        unsigned actions; /* PhHandlerAction bits */
        char *http_path;  /* may be NULL */
        char *http_host;  /* may be NULL */
        PhPortRef http_port;
        PhPortRef tcp_port;
        char **exec_command; /* NULL-terminated; NULL when absent or empty */
} PhHandler;

typedef struct PhProbe {
        PhHandler handler;
        bool has_initial_delay, has_timeout;
        int64_t initial_delay_seconds, timeout_seconds; /* as written, not range-checked */
} PhProbe;

typedef struct PhContainer {
        char *name;
        char *image;
        char **command;    /* NULL-terminated argv, NULL when absent (image default) */
        char *working_dir; /* may be NULL */
        PhPort *ports;
        size_t n_ports;
        PhEnvVar *env;
        size_t n_env;
        int64_t memory; /* bytes, 0 = no limit */
        int64_t cpu;    /* milli-CPU, 0 = not set */
        PhVolumeMount *mounts;
        size_t n_mounts;
        bool privileged;
        char *image_pull_policy; /* may be NULL; PullAlways, PullNever, PullIfNotPresent */
        PhProbe *liveness_probe; /* may be NULL */
        PhHandler *post_start;   /* lifecycle.postStart, may be NULL */
        PhHandler *pre_stop;     /* lifecycle.preStop, may be NULL */
        json_t *json;            /* this container's object as written (new ref), for spec hashes */
} PhContainer;

typedef struct PhManifest {
        char *version; /* "v1beta1" or "v1beta2", lower case */
        char *id;      /* may be NULL */
        char *uuid;    /* may be NULL */
        PhVolume *volumes;
        size_t n_volumes;
        PhContainer *containers;
        size_t n_containers;
        PhRestartPolicy restart_policy;
        json_t *json; /* the (unwrapped) manifest object (new ref) */
} PhManifest;

/* A parsed but unchecked document, with the source line of every field where the text has one. */
typedef struct PhManifestDoc PhManifestDoc;

/* Parses YAML or JSON text. source names the input in every message ("web.yaml"). A document with a
 * top-level "manifest:" key is unwrapped. Oversized, too deep or alias-bomb documents fail at once.
 * On success *ret is a new document the caller frees with manifest_doc_free(). */
int manifest_doc_parse(const char *buf, size_t len, const char *source, PhManifestDoc **ret,
                       PhError **reterr);
/* The same from a JSON value (a Heat StructuredConfig object), which is copied; no line numbers. */
int manifest_doc_from_json(const json_t *v, const char *source, PhManifestDoc **ret, PhError **reterr);
PhManifestDoc *manifest_doc_free(PhManifestDoc *d);
PH_DEFINE_CLEANUP(PhManifestDoc *, manifest_doc_free)

/* Checks every rule and, when there is no error, builds the typed manifest (*ret, caller frees).
 * Problems are all reported together in *reterr, one per line, each as
 * "<source>:<line>: <field path>: <what is wrong>" (":<line>" only where the source has one).
 * Warnings (unknown fields) go to *ret_warnings (NULL-terminated, caller frees with strv_free; may be
 * NULL) whether or not the manifest is valid. Returns 0 or -EINVAL. */
int manifest_validate(const PhManifestDoc *doc, PhManifest **ret, char ***ret_warnings, PhError **reterr);

/* What validation is told of the node the pod is for: it stays pure, it never looks itself. */
typedef struct PhManifestHost {
        /* The agent's state directory (absolute; NULL: unknown): a hostDir that is it, is inside it or
         * holds it is refused, since a pod could change what the agent runs and signals. */
        const char *state_dir;
        /* The values the node was given (NULL: not known, e.g. `podhook validate` without them): the
         * names a valueFrom.secretKeyRef may name (the secrets and the deployment's inputs), and the keys
         * a secret or configMap volume item may name (those and the options' config_files). */
        char *const *secret_names;
        char *const *config_keys;
} PhManifestHost;

/* manifest_validate with the rules that need to know the node (host may be NULL: the same as
 * manifest_validate). The commands that deploy use this one. */
int manifest_validate_for(const PhManifestDoc *doc, const PhManifestHost *host, PhManifest **ret,
                          char ***ret_warnings, PhError **reterr);

/* The "options" beside "manifest:" in a wrapped document (borrowed; NULL when there is none), and the
 * line of a path of the whole text ("options.wait_for[1]"; 0 when unknown), for messages about it. */
const json_t *manifest_doc_options(const PhManifestDoc *doc);
int manifest_doc_text_line(const PhManifestDoc *doc, const char *path);
/* The name of the document in messages (borrowed). */
const char *manifest_doc_source(const PhManifestDoc *doc);

/* Parse + validate in one call; the _for form as manifest_validate_for. */
int manifest_load(const char *buf, size_t len, const char *source, PhManifest **ret, char ***ret_warnings,
                  PhError **reterr);
int manifest_load_for(const char *buf, size_t len, const char *source, const PhManifestHost *host,
                      PhManifest **ret, char ***ret_warnings, PhError **reterr);

/* A hook's deployment config (YAML/JSON text, or a Heat StructuredConfig object) as a document, parsed as
 * manifest_doc_parse / manifest_doc_from_json do; anything else is -EINVAL "<source>: config: ...". */
int manifest_doc_of_config(const json_t *config, const char *source, PhManifestDoc **ret, PhError **reterr);
/* A hook's deployment config (YAML/JSON text, or a Heat StructuredConfig object) parsed and validated as
 * manifest_load_for does; anything else is -EINVAL "<source>: config: ...". *ret_options (optional, new
 * ref, NULL when none): the "options:" beside a wrapped manifest. *ret_warnings as manifest_validate's,
 * set whether or not the manifest is valid. */
int manifest_load_config(const json_t *config, const char *source, const PhManifestHost *host,
                         PhManifest **ret, json_t **ret_options, char ***ret_warnings, PhError **reterr);

PhManifest *manifest_free(PhManifest *m);
PH_DEFINE_CLEANUP(PhManifest *, manifest_free)

/* A value as it may appear in a one-line message: in double quotes, '"' and '\\' escaped, control
 * characters as \xNN, and one longer than 80 bytes cut to 77 and "...". The caller frees it. */
char *manifest_quote(const char *s);
/* Adds to *values (secret.h's secret_collect) the secret values of a manifest given as a deployment's
 * config (YAML or JSON text, or an object): env entries and command arguments whose names say so. A text
 * that does not parse adds nothing. */
void manifest_secret_values(const json_t *config, char ***values);

/* The port a probe's or handler's port names for container c: a number (1-65535), digits in a string
 * (as the kubelet of v1beta2 read them), or the name of one of c's ports (its containerPort). 0 when it
 * names none. Pure. */
int manifest_handler_port(const PhContainer *c, const PhPortRef *ref);

/* Returns the PhVolume named name, or NULL. */
const PhVolume *manifest_find_volume(const PhManifest *m, const char *name);
