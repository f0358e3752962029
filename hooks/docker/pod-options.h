/* The deployment's options: one JSON object, whichever way a deployment arrives (a Heat deployment's
 * "options", "options:" beside "manifest:" in a wrapped manifest file, the flags of `podhook apply`,
 * which win). docs/options.md has the table of keys. Also the values a pod is given besides its
 * manifest: the secrets file, the deployment's inputs and the options' config_files, and which of them
 * a name or key means. Parsing and lookups are pure; secrets_file_load reads a file. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "docker/pod.h"
#include "manifest/manifest.h"

#define OPTIONS_SECONDS_MAX      3600u
#define OPTIONS_WAIT_TIMEOUT_MAX 86400u

typedef struct PhDeployOptions {
        bool grace_set, init_set, start_window_set, ready_timeout_set;
        bool wait_interval_set, wait_timeout_set;
        unsigned grace_period; /* 1-3600 */
        bool init;
        unsigned start_window, ready_timeout; /* 0-3600 */
        char **wait_for;                      /* NULL: not given */
        unsigned wait_interval;               /* 1-3600 */
        unsigned wait_timeout;                /* 0-86400 */
        json_t *config_files;                 /* key -> string (new ref), NULL: not given */
        json_t *target;                       /* reserved: accepted and passed through (new ref) */
        bool log_max_size_set, log_max_file_set;
        uint64_t log_max_size; /* bytes; 0: the engine's own log config */
        unsigned log_max_file; /* 1-POD_LOG_MAX_FILE_MAX */
} PhDeployOptions;

void deploy_options_done(PhDeployOptions *o);

/* Reads v (an object, or null = {}) into *ret. Every problem is reported, one per line, as
 * "<source>[:<line>]: options.<key>: <what is wrong>" (an unknown key too); lines come from doc, the
 * wrapped file the options were found in (NULL: none). Returns 0 or -EINVAL (*ret then empty). */
int deploy_options_parse(const json_t *v, const char *source, const PhManifestDoc *doc, PhDeployOptions *ret,
                         PhError **reterr);
/* Every key set in over replaces base's (flags over a file's options, a deployment's over its file's). */
void deploy_options_merge(PhDeployOptions *base, const PhDeployOptions *over);
/* Puts what o sets into po (which keeps what o does not set). o must outlive po. */
void deploy_options_apply(const PhDeployOptions *o, PhPodOptions *po);
/* A single wait_for entry's problem, or NULL when it is one of pod:NAME, tcp:HOST:PORT, http(s)://...
 * (static text). */
const char *deploy_options_wait_problem(const char *dep);

/* The value a valueFrom.secretKeyRef names: the deployment's input of that name, else the secrets
 * file's (borrowed; NULL when neither has it). */
const char *pod_secret_value(const PhPodOptions *o, const char *name);
/* The content a secret or configMap volume item's key names: the options' config_files, else the
 * deployment's inputs, else the secrets (borrowed; NULL when none has it). */
const char *pod_config_value(const PhPodOptions *o, const char *key);
/* What validation is told of these values: the names a secretKeyRef may name, the keys an item may
 * name (new strvs). */
void pod_value_names(const PhPodOptions *o, char ***ret_secret_names, char ***ret_config_keys);
/* The values of o that must never leave the machine: the secrets file's and those of inputs that the
 * manifest takes as secrets (secretKeyRef, secret volume items). Added to *values (secret.h). */
void pod_secret_values(const PhPodOptions *o, const PhManifest *m, char ***values);
/* The string inputs of a heat-config deployment as {"name": "value"} (new ref). */
json_t *pod_inputs_of_deployment(const json_t *deployment);

/* The secrets file: a flat JSON object of names to strings, refused unless a regular file of root or
 * the running user with mode 0600 or stricter. *ret new ref. */
int secrets_file_load(const char *path, json_t **ret, PhError **reterr);
