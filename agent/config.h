/* Agent settings: one key table drives the config file, PODHOOK_* environment variables, --options
 * and --help. Layers: defaults < /etc/os-collect-config.conf < --config file < environment < flags.
 * All bad values are reported together. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "common/error.h"

typedef struct json_t json_t;

typedef struct PhConfig {
        char *state_dir;
        unsigned interval;     /* cap of the poll back-off, s (os-collect-config polling_interval) */
        unsigned min_interval; /* first poll back-off, s */
        unsigned retry_max;    /* cap of the signal retry back-off, s */
        unsigned hook_timeout; /* s an external hook may run; 0 = no limit */
        char *hook_dirs;       /* after $HEAT_CONFIG_HOOKS */
        char *bootstrap;       /* "" = the cfn-init-data paths */
        char *occ_config;      /* os-collect-config's ini file; "" = none */
        char *config;          /* our own config file; "" = none */
        char *docker_host;     /* "" = the hook's default */
        char *backend; /* "docker" or "kubelet": what runs group docker's pods (group kubelet: kubelet) */
        char *kubelet_manifest_dir, *kubelet_url;
        char *kubelet_ca_file, *kubelet_cert_file, *kubelet_key_file; /* "" = none */
        unsigned grace_seconds;
        unsigned start_window;    /* s a started container must keep running (docker hook) */
        unsigned ready_timeout;   /* s a livenessProbe may take to pass (docker hook) */
        unsigned request_timeout; /* s, sources and signals */
        char *ca_file;
        char *secrets_file;     /* the docker hook's secrets file ("" = none; docs/options.md) */
        char *registry_config;  /* registry credentials, config.json format ("" = the default paths) */
        char *publish, *listen; /* ZeroMQ endpoints; "" = none (docs/queue.md) */
        char *curve_secret_file, *curve_allow_file; /* both or neither */
        char *log_level;
        char *dropin;                /* drop-in manifest directory; "" = none */
        unsigned dropin_rescan;      /* s between two looks at every file of it */
        unsigned dropin_debounce_ms; /* a file is applied once it has not changed for this long */
        char *notify_exec;           /* run with each event as JSON on stdin; "" = none */
        char *api;                   /* the status API's address; "" = none */
        char *api_token_file;        /* its bearer token; "" = none (POST/DELETE answer 403) */
        unsigned reconcile_interval; /* s between two self-healing looks at every pod */
        unsigned liveness_period;    /* s between two livenessProbe runs after the start */
        unsigned liveness_failures;  /* failures in a row that restart the container */
        bool one_time, force, print, show_secrets, help;
        bool prune_after_deploy; /* run image_prune (docker/prune.h) after each successful deploy */
        /* os-collect-config object built from the ini files' [DEFAULT] collectors and [heat], [cfn],
         * [request], [local] sections; NULL when they say nothing. */
        json_t *occ;
        char **warnings; /* unknown keys in the config file: logged by the caller */
} PhConfig;

/* Builds a config from argv (after the subcommand name; argv[0] ignored) and the environment envp
 * (NULL: environ). On error nothing is returned and the message names every bad key. */
int config_load(int argc, char **argv, char **envp, PhConfig **ret, PhError **reterr);
PhConfig *config_free(PhConfig *c);
PH_DEFINE_CLEANUP(PhConfig *, config_free)
void config_help(FILE *f);
/* Converts an os-collect-config ini text into {"collectors": [..], "SECTION": {..}} (new ref,
 * NULL when it has neither), and its [DEFAULT] polling settings into ret_interval and ret_min_interval
 * (left untouched when absent). */
int config_parse_occ_ini(const char *name, const char *text, json_t **ret_occ, char **ret_interval,
                         char **ret_min_interval, PhError **reterr);
