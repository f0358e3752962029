/* Agent settings from one key table. */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <string.h>

#include "common/fileio.h"
#include "common/log.h"
#include "config.h"
#include "docker/hook-docker.h"
#include "ini.h"
#include "kubelet/kubelet-status.h"
#include "kubelet/static-dir.h"
#include "runner/runner.h"

#define CONFIG_DEFAULT_FILE "/etc/podhook/agent.conf"
#define CONFIG_MAX_FILE     (1024u * 1024)

/* CFG_MSEC: seconds with up to three decimals ("0.5"), kept as milliseconds; min and max in ms. */
typedef enum CfgType { CFG_STRING, CFG_UINT, CFG_BOOL, CFG_MSEC } CfgType;

typedef struct CfgKey {
        const char *key; /* file key, PODHOOK_<KEY> variable and --key option */
        CfgType type;
        size_t offset;
        const char *def;
        unsigned min, max;
        const char *alias; /* os-collect-config's name for it, if any */
        const char *help;
} CfgKey;

#define K(name, type, field, def, min, max, alias, help)                                                     \
        { name, type, offsetof(PhConfig, field), def, min, max, alias, help }

static const CfgKey cfg_keys[] = {
        K("config", CFG_STRING, config, CONFIG_DEFAULT_FILE, 0, 0, NULL, "agent config file (ini)"),
        K("state-dir", CFG_STRING, state_dir, PH_STATE_DIR_DEFAULT, 0, 0, NULL,
          "markers, outbox, last metadata"),
        K("bootstrap", CFG_STRING, bootstrap, "", 0, 0, NULL,
          "server metadata with an os-collect-config key, or that object (default: the cfn-init-data paths)"),
        K("occ-config", CFG_STRING, occ_config, "/etc/os-collect-config.conf", 0, 0, NULL,
          "os-collect-config's ini file, read if present"),
        K("interval", CFG_UINT, interval, "30", 1, 86400, "polling_interval",
          "cap of the poll back-off, seconds"),
        K("min-interval", CFG_UINT, min_interval, "1", 1, 86400, "min_polling_interval",
          "first poll back-off, seconds"),
        K("retry-max", CFG_UINT, retry_max, "60", 1, 86400, NULL,
          "cap of the signal retry back-off, seconds"),
        K("hook-timeout", CFG_UINT, hook_timeout, "3600", 0, 604800, NULL,
          "seconds an external hook may run (0 = no limit)"),
        K("hook-dirs", CFG_STRING, hook_dirs, RUNNER_DEFAULT_HOOK_DIRS, 0, 0, NULL,
          "hook directories searched after $HEAT_CONFIG_HOOKS"),
        K("docker-host", CFG_STRING, docker_host, "", 0, 0, NULL,
          "Docker Engine address (default $DOCKER_HOST)"),
        K("backend", CFG_STRING, backend, "docker", 0, 0, NULL, "docker or kubelet: what runs a docker pod"),
        K("kubelet-manifest-dir", CFG_STRING, kubelet_manifest_dir, KUBELET_MANIFEST_DIR_DEFAULT, 0, 0, NULL,
          "the kubelet's staticPodPath (backend kubelet)"),
        K("kubelet-url", CFG_STRING, kubelet_url, KUBELET_URL_DEFAULT, 0, 0, NULL, "the kubelet's /pods"),
        K("kubelet-ca-file", CFG_STRING, kubelet_ca_file, "", 0, 0, NULL, "CA bundle for an https kubelet"),
        K("kubelet-cert-file", CFG_STRING, kubelet_cert_file, "", 0, 0, NULL, "client certificate (kubelet)"),
        K("kubelet-key-file", CFG_STRING, kubelet_key_file, "", 0, 0, NULL, "its key (default: in the cert)"),
        K("grace-seconds", CFG_UINT, grace_seconds, "0", 0, 3600, NULL,
          "container stop grace period (0 = 10 s)"),
        K("start-window", CFG_UINT, start_window, POD_DEFAULT_TEXT(POD_DEFAULT_START_WINDOW), 0, 3600, NULL,
          "seconds a started container must keep running (0 = only that it runs after its start)"),
        K("ready-timeout", CFG_UINT, ready_timeout, POD_DEFAULT_TEXT(POD_DEFAULT_READY_TIMEOUT), 0, 3600,
          NULL, "seconds a started container's livenessProbe may take to pass (0 = one try)"),
        K("secrets", CFG_STRING, secrets_file, "", 0, 0, NULL,
          "JSON file of secret names to values (mode 0600) for the docker hook's pods"),
        K("registry-config", CFG_STRING, registry_config, "", 0, 0, NULL,
          "registry credentials in Docker's config.json format (default $DOCKER_CONFIG/config.json, then "
          "/root/.docker/config.json)"),
        K("prune-after-deploy", CFG_BOOL, prune_after_deploy, "false", 0, 0, NULL,
          "after a successful deploy, remove the images podhook pulled that no container uses (podhook "
          "prune)"),
        K("request-timeout", CFG_UINT, request_timeout, "10", 1, 600, NULL,
          "seconds per metadata or signal request"),
        K("ca-file", CFG_STRING, ca_file, "", 0, 0, NULL, "CA bundle for https"),
        K("publish", CFG_STRING, publish, "", 0, 0, NULL,
          "ZeroMQ endpoint for results and events (tcp://, ipc://; docs/queue.md)"),
        K("listen", CFG_STRING, listen, "", 0, 0, NULL,
          "ZeroMQ endpoint that takes deployments (tcp://, ipc://)"),
        K("curve-secret-file", CFG_STRING, curve_secret_file, "", 0, 0, NULL,
          "the queue sockets' CURVE secret key (podhook keygen)"),
        K("curve-allow-file", CFG_STRING, curve_allow_file, "", 0, 0, NULL,
          "CURVE client public keys admitted, one a line"),
        K("log-level", CFG_STRING, log_level, "info", 0, 0, NULL, "error, warning, info or debug"),
        K("dropin", CFG_STRING, dropin, "", 0, 0, NULL,
          "directory of pod manifests (*.yaml, *.yml, *.json), one pod per file, named after it"),
        K("dropin-rescan", CFG_UINT, dropin_rescan, "30", 1, 86400, NULL,
          "seconds between two full looks at the drop-in directory"),
        K("dropin-debounce", CFG_MSEC, dropin_debounce_ms, "0.5", 0, 60000, NULL,
          "seconds a drop-in file must stay unchanged before it is applied"),
        K("notify-exec", CFG_STRING, notify_exec, "", 0, 0, NULL,
          "command (/bin/sh -c) run with each event as JSON on stdin"),
        K("api", CFG_STRING, api, "", 0, 0, NULL,
          "status API address: 127.0.0.1:PORT, [::1]:PORT or unix:/PATH (\"\" = none)"),
        K("api-token-file", CFG_STRING, api_token_file, "", 0, 0, NULL,
          "file (0600) with the bearer token the API's POST and DELETE need"),
        K("reconcile-interval", CFG_UINT, reconcile_interval, "30", 1, 86400, NULL,
          "seconds between two looks at every pod (self-healing), besides the Engine's events"),
        K("liveness-period", CFG_UINT, liveness_period, "10", 1, 3600, NULL,
          "seconds between two livenessProbe runs after a pod's start"),
        K("liveness-failures", CFG_UINT, liveness_failures, "3", 1, 100, NULL,
          "livenessProbe failures in a row that restart the container"),
        K("one-time", CFG_BOOL, one_time, "false", 0, 0, NULL, "one pass, deliver signals, exit"),
        K("force", CFG_BOOL, force, "false", 0, 0, NULL,
          "run one pass now even if nothing changed (implies one-time); deployments already done stay done"),
        K("print", CFG_BOOL, print, "false", 0, 0, NULL,
          "print the collected metadata (secrets redacted) and exit"),
        K("show-secrets", CFG_BOOL, show_secrets, "false", 0, 0, NULL, "with --print: do not redact secrets"),
        K("help", CFG_BOOL, help, "false", 0, 0, NULL, "show this help"),
};

#define N_KEYS ELEMENTSOF(cfg_keys)

/* os-collect-config sections that describe sources; other sections of its file are ignored. */
static const char *const occ_sections[] = {"heat",  "cfn", "request",    "local",
                                           "zaqar", "ec2", "heat_local", "keystone"};

/* os-collect-config [DEFAULT] keys that mean nothing to podhook (it runs no command). */
static const char *const occ_ignored[] = {"command",        "cachedir",    "backup_cachedir", "splay",
                                          "deployment_key", "one_time",    "force",           "print",
                                          "print_cachedir", "config_file", "debug",           "verbose",
                                          "log_file",       "log_dir",     "use_syslog"};

typedef struct Raw {
        char *value[N_KEYS];
        char *origin[N_KEYS];
} Raw;

static void raw_set(Raw *raw, size_t i, const char *value, char *origin) {
        free(raw->value[i]);
        free(raw->origin[i]);
        raw->value[i] = xstrdup(value);
        raw->origin[i] = origin;
}

static void raw_done(Raw *raw) {
        for (size_t i = 0; i < N_KEYS; i++) {
                free(raw->value[i]);
                free(raw->origin[i]);
        }
}

/* Index of key (with '_' and '-' treated alike, aliases accepted), or -1. */
static int key_find(const char *key) {
        _cleanup_free_ char *k = xstrdup(key);

        for (char *p = k; *p; p++)
                if (*p == '_')
                        *p = '-';
        for (size_t i = 0; i < N_KEYS; i++) {
                if (strcmp(cfg_keys[i].key, k) == 0)
                        return (int) i;
                if (cfg_keys[i].alias && strcmp(cfg_keys[i].alias, key) == 0)
                        return (int) i;
        }
        /* The aliases with dashes too: --polling-interval as os-collect-config spells it. */
        for (size_t i = 0; i < N_KEYS; i++) {
                if (!cfg_keys[i].alias)
                        continue;
                _cleanup_free_ char *a = xstrdup(cfg_keys[i].alias);
                for (char *p = a; *p; p++)
                        if (*p == '_')
                                *p = '-';
                if (strcmp(a, k) == 0)
                        return (int) i;
        }
        return -1;
}

static bool in_list(const char *s, const char *const *list, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strcmp(s, list[i]) == 0)
                        return true;
        return false;
}

typedef struct FileCtx {
        const char *name;
        bool ours;   /* our own file: agent keys accepted, unknown ones warned about */
        json_t *occ; /* being built */
        Raw *raw;
        char ***warnings;
} FileCtx;

static void strv_push(char ***v, char *s) {
        size_t n = *v ? strv_length(*v) : 0;
        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = s;
        (*v)[n + 1] = NULL;
}

static void occ_append(json_t *occ, const char *section, const char *key, const char *value, bool split) {
        json_t *arr;

        if (!section)
                arr = json_object_get(occ, key);
        else
                arr = json_object_get(json_object_get(occ, section), key);
        if (!json_is_array(arr)) {
                arr = json_array();
                if (section)
                        json_object_set_new(json_object_get(occ, section), key, arr);
                else
                        json_object_set_new(occ, key, arr);
        }
        if (!split) {
                json_array_append_new(arr, json_string(value));
                return;
        }
        _cleanup_free_ char *copy = xstrdup(value);
        char *save = NULL;
        for (char *t = strtok_r(copy, ", \t[]\"'", &save); t; t = strtok_r(NULL, ", \t[]\"'", &save))
                json_array_append_new(arr, json_string(t));
}

static int file_key(const char *section, const char *key, const char *value, unsigned line, void *userdata,
                    PhError **reterr) {
        FileCtx *c = userdata;

        if (strcmp(section, "DEFAULT") == 0 || strcmp(section, "agent") == 0) {
                if (strcmp(key, "collectors") == 0) {
                        occ_append(c->occ, NULL, "collectors", value, true);
                        return 0;
                }
                int i = key_find(key);
                if (i >= 0 && (c->ours || cfg_keys[i].alias)) {
                        if (strcmp(cfg_keys[i].key, "config") == 0 || strcmp(cfg_keys[i].key, "help") == 0)
                                goto unknown;
                        raw_set(c->raw, (size_t) i, value, xasprintf("%s:%u", c->name, line));
                        return 0;
                }
                if (!c->ours || in_list(key, occ_ignored, ELEMENTSOF(occ_ignored)))
                        return 0;
        unknown:
                strv_push(c->warnings, xasprintf("%s:%u: unknown key '%s' ignored", c->name, line, key));
                return 0;
        }
        if (in_list(section, occ_sections, ELEMENTSOF(occ_sections))) {
                if (!json_is_object(json_object_get(c->occ, section)))
                        json_object_set_new(c->occ, section, json_object());
                /* Multi-valued options of os-collect-config: cfn path and local path. */
                if (strcmp(key, "path") == 0 &&
                    (strcmp(section, "cfn") == 0 || strcmp(section, "local") == 0))
                        occ_append(c->occ, section, key, value, false);
                else
                        json_object_set_new(json_object_get(c->occ, section), key, json_string(value));
                return 0;
        }
        if (c->ours)
                strv_push(c->warnings,
                          xasprintf("%s:%u: unknown section [%s] ignored", c->name, line, section));
        return 0;
}

/* Reads one ini file into raw/occ. Missing files are fine unless required. */
static int read_ini(const char *path, bool ours, bool required, Raw *raw, json_t *occ, char ***warnings,
                    PhError **reterr) {
        _cleanup_free_ char *text = NULL;
        FileCtx c = {.name = path, .ours = ours, .occ = occ, .raw = raw, .warnings = warnings};
        int r;

        if (!path || !*path)
                return 0;
        if (!required && file_exists(path) <= 0)
                return 0;
        r = file_read_all(path, CONFIG_MAX_FILE, &text, NULL, reterr);
        if (r < 0)
                return r;
        return ini_parse(path, text, file_key, &c, reterr);
}

int config_parse_occ_ini(const char *name, const char *text, json_t **ret_occ, char **ret_interval,
                         char **ret_min_interval, PhError **reterr) {
        json_auto_t *occ = json_object();
        _cleanup_strv_free_ char **warnings = NULL;
        Raw raw = {0};
        FileCtx c = {.name = name, .ours = false, .occ = occ, .raw = &raw, .warnings = &warnings};
        int r = ini_parse(name, text, file_key, &c, reterr);
        int ii = key_find("interval"), im = key_find("min-interval");

        if (r >= 0) {
                if (raw.value[ii] && ret_interval)
                        *ret_interval = xstrdup(raw.value[ii]);
                if (raw.value[im] && ret_min_interval)
                        *ret_min_interval = xstrdup(raw.value[im]);
                *ret_occ = json_object_size(occ) ? json_incref(occ) : NULL;
        }
        raw_done(&raw);
        return r;
}

static const char *env_get(char **envp, const char *name) {
        size_t n = strlen(name);
        for (char **e = envp; e && *e; e++)
                if (strncmp(*e, name, n) == 0 && (*e)[n] == '=')
                        return *e + n + 1;
        return NULL;
}

static char *env_name(const char *key) {
        char *s = xasprintf("PODHOOK_%s", key);
        for (char *p = s; *p; p++)
                *p = *p == '-' ? '_' : (char) toupper((unsigned char) *p);
        return s;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret) {
        char *end;
        unsigned long long v;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

/* "2", "0.5", "1.25": at most three decimals, no sign. */
static int parse_msec(const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned long long whole = 0, frac = 0;
        unsigned digits = 0;
        const char *p = s;

        if (!s || !isdigit((unsigned char) *s))
                return -EINVAL;
        for (; isdigit((unsigned char) *p); p++)
                if ((whole = whole * 10 + (unsigned long long) (*p - '0')) > 86400ull * 1000)
                        return -ERANGE;
        if (*p == '.')
                for (p++; isdigit((unsigned char) *p); p++, digits++)
                        if (digits < 3)
                                frac = frac * 10 + (unsigned long long) (*p - '0');
        if (*p || digits > 3 || (s[strlen(s) - 1] == '.'))
                return -EINVAL;
        while (digits++ < 3)
                frac *= 10;
        unsigned long long v = whole * 1000 + frac;
        if (v < min || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

static int parse_bool(const char *s, bool *ret) {
        static const char *const yes[] = {"1", "true", "yes", "on"}, *const no[] = {"0", "false", "no",
                                                                                    "off"};
        for (size_t i = 0; i < 4; i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return *ret = true, 0;
                if (strcasecmp(s, no[i]) == 0)
                        return *ret = false, 0;
        }
        return -EINVAL;
}

PhConfig *config_free(PhConfig *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < N_KEYS; i++)
                if (cfg_keys[i].type == CFG_STRING)
                        free(*(char **) ((char *) c + cfg_keys[i].offset));
        json_decref(c->occ);
        strv_free(c->warnings);
        free(c);
        return NULL;
}

void config_help(FILE *f) {
        fputs("Usage: podhook agent [OPTIONS]\n\nPolls Heat like os-collect-config, runs each deployment "
              "once, signals the result.\n"
              "Every option can also be set in the config file (key = value) or as PODHOOK_<KEY>.\n\n",
              f);
        for (size_t i = 0; i < N_KEYS; i++) {
                _cleanup_free_ char *opt =
                        xasprintf("--%s%s", cfg_keys[i].key, cfg_keys[i].type == CFG_BOOL ? "" : " V");
                fprintf(f, "  %-22s %s", opt, cfg_keys[i].help);
                if (cfg_keys[i].type != CFG_BOOL && *cfg_keys[i].def)
                        fprintf(f, " [%s]", cfg_keys[i].def);
                fputc('\n', f);
        }
}

/* argv: --key V, --key=V, bare --key for booleans. Unknown options are collected into err. */
static void parse_argv(int argc, char **argv, Raw *raw, PhError **err) {
        for (int a = 1; a < argc; a++) {
                const char *arg = argv[a];
                if (strcmp(arg, "-h") == 0)
                        arg = "--help";
                if (strncmp(arg, "--", 2) != 0) {
                        (void) ph_error_append(err, EINVAL, "unexpected argument '%s'", arg);
                        continue;
                }
                _cleanup_free_ char *name = xstrdup(arg + 2);
                char *eq = strchr(name, '=');
                const char *value = NULL;
                if (eq) {
                        *eq = '\0';
                        value = eq + 1;
                }
                int i = key_find(name);
                if (i < 0) {
                        (void) ph_error_append(err, EINVAL, "unknown option '--%s'", name);
                        continue;
                }
                if (!value) {
                        if (cfg_keys[i].type == CFG_BOOL)
                                value = "true";
                        else if (a + 1 < argc)
                                value = argv[++a];
                        else {
                                (void) ph_error_append(err, EINVAL, "option '--%s' needs a value", name);
                                continue;
                        }
                }
                raw_set(raw, (size_t) i, value, xasprintf("--%s", cfg_keys[i].key));
        }
}

static void parse_env(char **envp, Raw *raw) {
        for (size_t i = 0; i < N_KEYS; i++) {
                _cleanup_free_ char *name = env_name(cfg_keys[i].key);
                const char *v = env_get(envp, name);
                if (v)
                        raw_set(raw, i, v, xasprintf("$%s", name));
        }
}

extern char **environ;

int config_load(int argc, char **argv, char **envp, PhConfig **ret, PhError **reterr) {
        _cleanup_(config_freep) PhConfig *c = xcalloc(1, sizeof(*c));
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *occ_sys = json_object(), *occ_ours = json_object();
        Raw top = {0}, raw = {0};
        int ic = key_find("config"), io = key_find("occ-config"), r = 0;

        if (!envp)
                envp = environ;
        /* argv and environment first (they choose the files), applied last (they win). */
        parse_argv(argc, argv, &top, &err);
        parse_env(envp, &raw);
        for (size_t i = 0; i < N_KEYS; i++)
                if (top.value[i])
                        raw_set(&raw, i, top.value[i], xstrdup(top.origin[i]));
        const char *conf = raw.value[ic] ? raw.value[ic] : CONFIG_DEFAULT_FILE;
        bool conf_required = raw.value[ic] != NULL;
        Raw file = {0};
        r = read_ini(conf, true, conf_required, &file, occ_ours, &c->warnings, &err);
        if (r < 0 && !err)
                (void) ph_error_set(&err, -r, "%s: cannot read", conf);
        const char *occ_path = raw.value[io]    ? raw.value[io]
                               : file.value[io] ? file.value[io]
                                                : cfg_keys[io].def;
        Raw sys = {0};
        if (read_ini(occ_path, false, false, &sys, occ_sys, &c->warnings, &err) < 0 && !err)
                (void) ph_error_set(&err, EINVAL, "%s: cannot read", occ_path);

        /* defaults < os-collect-config.conf < our file < environment < argv */
        Raw final = {0};
        for (size_t i = 0; i < N_KEYS; i++) {
                Raw *layers[] = {&raw, &file, &sys};
                raw_set(&final, i, cfg_keys[i].def, xstrdup("default"));
                for (size_t l = ELEMENTSOF(layers); l-- > 0;)
                        if (layers[l]->value[i])
                                raw_set(&final, i, layers[l]->value[i], xstrdup(layers[l]->origin[i]));
        }
        raw_done(&top), raw_done(&raw), raw_done(&file), raw_done(&sys);

        for (size_t i = 0; i < N_KEYS; i++) {
                const CfgKey *k = &cfg_keys[i];
                void *field = (char *) c + k->offset;
                const char *v = final.value[i];
                int q = 0;

                switch (k->type) {
                case CFG_STRING:
                        *(char **) field = xstrdup(v);
                        break;
                case CFG_UINT:
                        q = parse_uint(v, k->min, k->max, field);
                        if (q < 0)
                                (void) ph_error_append(&err, EINVAL, "%s: %s: '%s' is not a number in %u..%u",
                                                       final.origin[i], k->key, v, k->min, k->max);
                        break;
                case CFG_MSEC:
                        q = parse_msec(v, k->min, k->max, field);
                        if (q < 0)
                                (void) ph_error_append(
                                        &err, EINVAL,
                                        "%s: %s: '%s' is not a number of seconds in %u.%03u..%u.%03u "
                                        "(at most three decimals)",
                                        final.origin[i], k->key, v, k->min / 1000, k->min % 1000,
                                        k->max / 1000, k->max % 1000);
                        break;
                case CFG_BOOL:
                        q = parse_bool(v, field);
                        if (q < 0)
                                (void) ph_error_append(&err, EINVAL, "%s: %s: '%s' is not a boolean",
                                                       final.origin[i], k->key, v);
                        break;
                }
        }
        PhLogLevel level;
        if (c->log_level && ph_log_level_from_string(c->log_level, &level) < 0)
                (void) ph_error_append(&err, EINVAL,
                                       "%s: log-level: '%s' is not error, warning, info or debug",
                                       final.origin[key_find("log-level")], c->log_level);
        if (c->backend && strcmp(c->backend, "docker") != 0 && strcmp(c->backend, "kubelet") != 0)
                (void) ph_error_append(&err, EINVAL, "%s: backend: '%s' is not docker or kubelet",
                                       final.origin[key_find("backend")], c->backend);
        if (c->state_dir && !*c->state_dir)
                (void) ph_error_append(&err, EINVAL, "%s: state-dir: must not be empty",
                                       final.origin[key_find("state-dir")]);
        if (c->min_interval > c->interval)
                c->min_interval = c->interval;
        raw_done(&final);
        if (err) {
                r = err->code ? -err->code : -EINVAL;
                if (reterr)
                        *reterr = TAKE_PTR(err);
                return r;
        }
        if (c->force)
                c->one_time = true;
        /* Our file's sections override os-collect-config's, section by section. */
        const char *k;
        json_t *v;
        json_object_foreach(occ_ours, k, v) json_object_set(occ_sys, k, v);
        c->occ = json_object_size(occ_sys) ? json_incref(occ_sys) : NULL;
        *ret = TAKE_PTR(c);
        return 0;
}
