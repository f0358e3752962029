/* The pod commands: validate, apply, convert, delete, ps, hook. Each is a boundary: it logs the one error
 * line and turns it into an exit code. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "common/deployment.h"
#include "common/error.h"
#include "common/fileio.h"
#include "common/secret.h"
#include "docker/docker.h"
#include "docker/hook-docker.h"
#include "docker/pod-exec.h"
#include "docker/pod-options.h"
#include "docker/registry-auth.h"
#include "docker/pod-spec.h"
#include "docker/pod.h"
#include "docker/prune.h"
#include "kubelet/convert.h"
#include "kubelet/hook-kubelet.h"
#include "kubelet/kubelet-status.h"
#include "kubelet/static-dir.h"
#include "kubelet/yaml-out.h"
#include "manifest/manifest.h"
#include "observe.h"

#define EXIT_USAGE 2
/* sysexits' EX_NOINPUT: a file that cannot be read. */
#define EXIT_NOINPUT   66
#define HOOK_INPUT_MAX (16u * 1024u * 1024u)
#define GRACE_MAX      3600u
#define SECONDS_MAX    3600u
/* The agent's variable for its state directory, honoured by the pod commands too. */
#define STATE_DIR_ENV "PODHOOK_STATE_DIR"

static int usage_error(const char *cmd, const char *fmt, const char *arg) {
        fprintf(stderr, "podhook %s: ", cmd);
        fprintf(stderr, fmt, arg);
        fprintf(stderr, " (see 'podhook %s --help')\n", cmd);
        return EXIT_USAGE;
}

static int fail(const char *cmd, const PhError *err) {
        fprintf(stderr, "podhook %s: %s\n", cmd, ph_error_msg(err));
        return EXIT_FAILURE;
}

static int parse_grace(const char *cmd, const char *s, unsigned *ret) {
        char *end = NULL;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || !end || *end || end == s || v < 1 || v > GRACE_MAX || s[0] == '-')
                return usage_error(cmd, "--grace wants whole seconds from 1 to 3600, not '%s'", s);
        *ret = (unsigned) v;
        return 0;
}

/* --start-window and --ready-timeout: whole seconds from 0 to SECONDS_MAX. */
static int parse_seconds(const char *cmd, const char *option, const char *s, unsigned *ret, bool *ret_set) {
        char *end = NULL;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || !end || *end || end == s || v > SECONDS_MAX || s[0] == '-') {
                fprintf(stderr,
                        "podhook %s: %s wants whole seconds from 0 to %u, not '%s' (see 'podhook %s "
                        "--help')\n",
                        cmd, option, SECONDS_MAX, s, cmd);
                return EXIT_USAGE;
        }
        *ret = (unsigned) v;
        *ret_set = true;
        return 0;
}

/* --log-max-size: bytes, or with k, m or g; 0 turns the limits off. */
static int parse_log_size(const char *cmd, const char *s, PhPodOptions *po) {
        if (pod_log_size_parse(s, &po->log_max_size) < 0)
                return usage_error(
                        cmd,
                        "--log-max-size wants a size in bytes or with k, m or g (10m), at most 1 TiB, "
                        "or 0 (the engine's own log config), not '%s'",
                        s);
        po->log_max_size_set = true;
        return 0;
}

/* --log-max-file: files from 1 to POD_LOG_MAX_FILE_MAX. */
static int parse_log_files(const char *cmd, const char *s, PhPodOptions *po) {
        char *end = NULL;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || !end || *end || end == s || v < 1 || v > POD_LOG_MAX_FILE_MAX || s[0] == '-')
                return usage_error(cmd, "--log-max-file wants a number of files from 1 to 100, not '%s'", s);
        po->log_max_file = (unsigned) v;
        po->log_max_file_set = true;
        return 0;
}

/* The options of the pod commands; each command accepts a subset. */
typedef struct PodArgs {
        const char *name;
        PhPodOptions po;
        bool purge;
        bool json;
        bool dry_run;
        bool kubelet; /* --backend kubelet */
        PhKubeletHookOptions ko;
        json_t *wait; /* --images-timeout, --containers-timeout, --poll-period (kubelet_hook_options) */
        /* The options' keys given as flags (they win over the file's options), and what else a pod is
         * given: the secrets file and the registry config (loaded by manifest_command). */
        PhDeployOptions flags;
        PhDeployOptions file_opts;
        const char *secrets_file;
        const char *registry_config;
        json_t *secrets, *registry;
} PodArgs;

static void pod_args_done(PodArgs *a) {
        json_decref(a->wait);
        deploy_options_done(&a->flags);
        deploy_options_done(&a->file_opts);
        json_decref(a->secrets);
        json_decref(a->registry);
}

/* The options of the kubelet backend, the same for apply, delete and hook. */
#define KUBELET_HELP                                                                                         \
        "  --backend kubelet        a static pod in the kubelet's manifest directory (default: docker)\n"    \
        "  --kubelet-manifest-dir D the kubelet's staticPodPath (default " KUBELET_MANIFEST_DIR_DEFAULT      \
        ")\n"                                                                                                \
        "  --kubelet-url URL        the kubelet's /pods (default " KUBELET_URL_DEFAULT ")\n"                 \
        "  --kubelet-ca F, --kubelet-cert F, --kubelet-key F   https to the kubelet\n"                       \
        "  (or $PODHOOK_KUBELET_MANIFEST_DIR, _URL, _CA_FILE, _CERT_FILE, _KEY_FILE, as the agent's keys)\n"

/* --config-file KEY=FILE: the options' config_files[KEY] is FILE's content. */
static int add_config_file(const char *cmd, const char *arg, PodArgs *a) {
        const char *eq = strchr(arg, '=');
        _cleanup_free_ char *buf = NULL;
        _cleanup_error_ PhError *err = NULL;
        size_t len = 0;

        if (!eq || eq == arg || !eq[1])
                return usage_error(cmd, "--config-file wants KEY=FILE, not '%s'", arg);
        if (file_read_all(eq + 1, MANIFEST_MAX_BYTES, &buf, &len, &err) < 0) {
                fprintf(stderr, "podhook %s: --config-file: %s\n", cmd, ph_error_msg(err));
                return EXIT_NOINPUT;
        }
        if (!a->flags.config_files)
                a->flags.config_files = json_object();
        _cleanup_free_ char *key = xstrndup(arg, (size_t) (eq - arg));
        json_object_set_new(a->flags.config_files, key, json_stringn(buf, len));
        return 0;
}

/* Parses the options listed in allowed (their short letters: n name, g grace, I no-init, p purge,
 * j json, S state-dir, W start-window, T ready-timeout, R recreate, D dry-run, L log-max-size, F
 * log-max-file, B backend and M U C E K its kubelet options, G O P the kubelet wait; --help always).
 * Returns -1 to go on, else the exit code to return at once. */
static int parse_args(const char *cmd, const char *help, const char *allowed, int argc, char **argv,
                      PodArgs *a) {
        static const struct option opts[] = {
                {"help", no_argument, NULL, 'h'},
                {"name", required_argument, NULL, 'n'},
                {"grace", required_argument, NULL, 'g'},
                {"no-init", no_argument, NULL, 'I'},
                {"purge", no_argument, NULL, 'p'},
                {"json", no_argument, NULL, 'j'},
                {"state-dir", required_argument, NULL, 'S'},
                {"start-window", required_argument, NULL, 'W'},
                {"ready-timeout", required_argument, NULL, 'T'},
                {"recreate", no_argument, NULL, 'R'},
                {"dry-run", no_argument, NULL, 'D'},
                {"secrets", required_argument, NULL, 's'},
                {"registry-config", required_argument, NULL, 'r'},
                {"wait-for", required_argument, NULL, 'w'},
                {"wait-interval", required_argument, NULL, 'i'},
                {"wait-timeout", required_argument, NULL, 't'},
                {"config-file", required_argument, NULL, 'c'},
                {"log-max-size", required_argument, NULL, 'L'},
                {"log-max-file", required_argument, NULL, 'F'},
                {"backend", required_argument, NULL, 'B'},
                {"kubelet-manifest-dir", required_argument, NULL, 'M'},
                {"kubelet-url", required_argument, NULL, 'U'},
                {"kubelet-ca", required_argument, NULL, 'C'},
                {"kubelet-cert", required_argument, NULL, 'E'},
                {"kubelet-key", required_argument, NULL, 'K'},
                {"images-timeout", required_argument, NULL, 'G'},
                {"containers-timeout", required_argument, NULL, 'O'},
                {"poll-period", required_argument, NULL, 'P'},
                {},
        };
        const char *state_env = getenv(STATE_DIR_ENV);
        int c, r;

        optind = 1;
        opterr = 0; /* one message, ours */
        while ((c = getopt_long(argc, argv, "hn:g:", opts, NULL)) != -1) {
                if (c == 'h') {
                        fputs(help, stdout);
                        return EXIT_SUCCESS;
                }
                if (c == '?' || c == ':' || !strchr(allowed, c))
                        return usage_error(cmd, "unknown option or missing value: '%s'", argv[optind - 1]);
                switch (c) {
                case 'n':
                        a->name = optarg;
                        break;
                case 'g':
                        r = parse_grace(cmd, optarg, &a->po.grace_seconds);
                        if (r != 0)
                                return r;
                        a->flags.grace_period = a->po.grace_seconds;
                        a->flags.grace_set = true;
                        break;
                case 'I':
                        a->po.no_init = true;
                        a->flags.init_set = true;
                        a->flags.init = false;
                        break;
                case 's':
                        a->secrets_file = optarg;
                        break;
                case 'r':
                        a->registry_config = optarg;
                        break;
                case 'w': {
                        const char *why = deploy_options_wait_problem(optarg);
                        if (why) {
                                fprintf(stderr, "podhook %s: --wait-for: %s (see 'podhook %s --help')\n", cmd,
                                        why, cmd);
                                return EXIT_USAGE;
                        }
                        size_t n = strv_length(a->flags.wait_for);
                        a->flags.wait_for = xrealloc(a->flags.wait_for, (n + 2) * sizeof(char *));
                        a->flags.wait_for[n] = xstrdup(optarg);
                        a->flags.wait_for[n + 1] = NULL;
                        break;
                }
                case 'i': {
                        unsigned v = 0;
                        bool set = false;
                        r = parse_seconds(cmd, "--wait-interval", optarg, &v, &set);
                        if (r != 0)
                                return r;
                        if (v == 0)
                                return usage_error(cmd, "--wait-interval wants at least 1 second, not '%s'",
                                                   optarg);
                        a->flags.wait_interval = v;
                        a->flags.wait_interval_set = true;
                        break;
                }
                case 't':
                        r = parse_seconds(cmd, "--wait-timeout", optarg, &a->flags.wait_timeout,
                                          &a->flags.wait_timeout_set);
                        if (r != 0)
                                return r;
                        break;
                case 'c':
                        r = add_config_file(cmd, optarg, a);
                        if (r != 0)
                                return r;
                        break;
                case 'p':
                        a->purge = true;
                        break;
                case 'j':
                        a->json = true;
                        break;
                case 'S':
                        if (!*optarg)
                                return usage_error(cmd, "%s", "--state-dir wants a directory");
                        a->po.state_dir = optarg;
                        break;
                case 'W':
                        r = parse_seconds(cmd, "--start-window", optarg, &a->po.start_window,
                                          &a->po.start_window_set);
                        if (r != 0)
                                return r;
                        a->flags.start_window = a->po.start_window;
                        a->flags.start_window_set = true;
                        break;
                case 'T':
                        r = parse_seconds(cmd, "--ready-timeout", optarg, &a->po.ready_timeout,
                                          &a->po.ready_timeout_set);
                        if (r != 0)
                                return r;
                        a->flags.ready_timeout = a->po.ready_timeout;
                        a->flags.ready_timeout_set = true;
                        break;
                case 'R':
                        a->po.recreate = true;
                        break;
                case 'D':
                        a->dry_run = true;
                        break;
                case 'L':
                        r = parse_log_size(cmd, optarg, &a->po);
                        if (r != 0)
                                return r;
                        a->flags.log_max_size = a->po.log_max_size;
                        a->flags.log_max_size_set = true;
                        break;
                case 'F':
                        r = parse_log_files(cmd, optarg, &a->po);
                        if (r != 0)
                                return r;
                        a->flags.log_max_file = a->po.log_max_file;
                        a->flags.log_max_file_set = true;
                        break;
                case 'B':
                        if (strcmp(optarg, "kubelet") != 0 && strcmp(optarg, "docker") != 0)
                                return usage_error(cmd, "--backend is docker or kubelet, not '%s'", optarg);
                        a->kubelet = strcmp(optarg, "kubelet") == 0;
                        break;
                case 'M':
                        a->ko.manifest_dir = optarg;
                        break;
                case 'U':
                        a->ko.url = optarg;
                        break;
                case 'C':
                        a->ko.ca_file = optarg;
                        break;
                case 'E':
                        a->ko.cert_file = optarg;
                        break;
                case 'K':
                        a->ko.key_file = optarg;
                        break;
                case 'G':
                case 'O':
                case 'P': {
                        const char *key = c == 'G'   ? "images_timeout"
                                          : c == 'O' ? "containers_timeout"
                                                     : "poll_period";
                        char *end = NULL;
                        double v = strtod(optarg, &end);
                        if (!end || *end || end == optarg)
                                return usage_error(cmd, "a number of seconds is needed, not '%s'", optarg);
                        if (!a->wait)
                                a->wait = json_object();
                        json_object_set_new(a->wait, key, json_real(v));
                        break;
                }
                }
        }
        if (!a->po.state_dir && state_env && *state_env)
                a->po.state_dir = state_env;
        /* A hook run by heat-config gets no options: the agent's PODHOOK_<KEY> variables say where. */
        const struct {
                const char **field, *env;
        } env[] = {
                {&a->ko.manifest_dir, "PODHOOK_KUBELET_MANIFEST_DIR"},
                {&a->ko.url, "PODHOOK_KUBELET_URL"},
                {&a->ko.ca_file, "PODHOOK_KUBELET_CA_FILE"},
                {&a->ko.cert_file, "PODHOOK_KUBELET_CERT_FILE"},
                {&a->ko.key_file, "PODHOOK_KUBELET_KEY_FILE"},
        };
        for (size_t i = 0; i < ELEMENTSOF(env); i++)
                if (!*env[i].field && getenv(env[i].env) && *getenv(env[i].env))
                        *env[i].field = getenv(env[i].env);
        return -1;
}

/* Reads and checks one manifest file for a node whose state directory is state_dir (NULL: the
 * default); prints its problems and warnings on stderr. With a (apply, diff), the options beside a
 * wrapped manifest go into a->file_opts and then, with the flags over them, into a->po, and the
 * manifest is checked against the values a->po is given (secrets, inputs, config_files). */
static int load_file(const char *path, const char *state_dir, PodArgs *a, PhManifest **ret) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_strv_free_ char **warnings = NULL, **secret_names = NULL, **config_keys = NULL;
        _cleanup_error_ PhError *err = NULL;
        const char *source = strcmp(path, "-") == 0 ? "<stdin>" : path;
        size_t len = 0;
        int r;

        r = file_read_all(path, MANIFEST_MAX_BYTES, &buf, &len, &err);
        if (r == -EFBIG) {
                /* Readable, but no manifest is that large: invalid input, like any other bad content. */
                fprintf(stderr, "%s: larger than the limit of %u bytes for a manifest\n", path,
                        MANIFEST_MAX_BYTES);
                return PODHOOK_EXIT_INVALID;
        }
        if (r < 0) {
                fprintf(stderr, "%s\n", ph_error_msg(err));
                return EXIT_NOINPUT;
        }
        /* The validator compares absolute paths: a relative --state-dir is taken from here. */
        _cleanup_free_ char *cwd = state_dir && state_dir[0] != '/' ? getcwd(NULL, 0) : NULL;
        _cleanup_free_ char *abs_state = cwd ? xasprintf("%s/%s", cwd, state_dir) : NULL;
        PhManifestHost host = {.state_dir = abs_state   ? abs_state
                                            : state_dir ? state_dir
                                                        : PH_STATE_DIR_DEFAULT};
        r = manifest_doc_parse(buf, len, source, &doc, &err);
        /* validate checks the options too, though it has nothing to apply them to */
        PhDeployOptions unused = {};
        if (r >= 0)
                r = deploy_options_parse(manifest_doc_options(doc), source, doc, a ? &a->file_opts : &unused,
                                         &err);
        deploy_options_done(&unused);
        if (r >= 0 && a) {
                deploy_options_apply(&a->file_opts, &a->po);
                deploy_options_apply(&a->flags, &a->po);
                pod_value_names(&a->po, &secret_names, &config_keys);
                host.secret_names = secret_names;
                host.config_keys = config_keys;
        }
        if (r >= 0)
                r = manifest_validate_for(doc, &host, ret, &warnings, &err);
        for (char **w = warnings; w && *w; w++)
                fprintf(stderr, "warning: %s\n", *w);
        if (r < 0) {
                fprintf(stderr, "%s\n", ph_error_msg(err));
                return PODHOOK_EXIT_INVALID;
        }
        return 0;
}

/* --- validate ---------------------------------------------------------------------------------- */

static const char validate_help[] =
        "Usage: podhook validate FILE...\n"
        "\n"
        "Checks v1beta2 container manifests (YAML or JSON, bare or under a 'manifest:' key) and reports\n"
        "every problem as FILE:LINE: FIELD: what is wrong. Warnings (unknown fields) do not fail.\n"
        "Nothing is deployed. '-' reads standard input.\n"
        "\n"
        "Exit status: 0 all valid, 65 some manifest invalid (or over 1 MiB), 66 some file unreadable (or "
        "not\n"
        "a regular file: a FIFO, a socket, a directory).\n";

int cli_validate(int argc, char **argv) {
        PodArgs a = {};
        int status = 0, r;

        r = parse_args("validate", validate_help, "", argc, argv, &a);
        if (r >= 0)
                return r;
        if (optind >= argc)
                return usage_error("validate", "%s", "no FILE given");
        for (int i = optind; i < argc; i++) {
                _cleanup_(manifest_freep) PhManifest *m = NULL;
                r = load_file(argv[i], a.po.state_dir, NULL, &m);
                if (r == 0)
                        printf("%s: valid\n", argv[i]);
                /* unreadable wins over invalid: both are failures, the first is not about the content */
                if (r != 0 && status != EXIT_NOINPUT)
                        status = r;
        }
        return status;
}

/* --- apply ------------------------------------------------------------------------------------- */

static const char apply_help[] =
        "Usage: podhook apply [--name POD] [--grace SECONDS] [--no-init] [--start-window SECONDS]\n"
        "                     [--ready-timeout SECONDS] [--state-dir DIR] [--recreate] [--dry-run]\n"
        "                     [--secrets FILE] [--registry-config FILE] [--wait-for DEP]...\n"
        "                     [--wait-interval SECONDS] [--wait-timeout SECONDS] [--config-file "
        "KEY=FILE]...\n"
        "                     [--log-max-size SIZE] [--log-max-file N] FILE\n"
        "       podhook apply --backend kubelet [--kubelet-manifest-dir D] [--kubelet-url URL] [--name POD] "
        "FILE\n"
        "\n"
        "Deploys the pod of a v1beta2 manifest on the Docker Engine ($DOCKER_HOST, default\n"
        "unix:///var/run/docker.sock), changing only what differs from the pod of that name: an unchanged\n"
        "container is left alone (nothing at all is touched when nothing changed), a changed one is "
        "stopped,\n"
        "put aside, replaced, started and checked (its lifecycle.postStart run, its livenessProbe passed),\n"
        "and only then removed (its lifecycle.preStop run before its stop); a change of the pod's ports or\n"
        "hostname replaces the whole pod. Images are pulled first. If a step fails, the update is rolled\n"
        "back: the new containers go, the previous ones run again. Named volumes (emptyDir) and host\n"
        "directories are kept. Prints the 'docker inspect' of every container of the pod as a JSON array\n"
        "(secrets redacted) and, on stderr, what was kept, replaced, added or removed, and why.\n"
        "\n"
        "  --name POD              pod name (default: the manifest id, else FILE's base name without "
        "extension)\n"
        "  --grace SECONDS         stop grace period for the old containers (default 10)\n"
        "  --no-init               do not run Docker's init as PID 1 in the containers\n"
        "  --start-window SECONDS  how long a started container must keep running (default 2; 0: only that\n"
        "                          it runs right after its start); run-once containers may exit 0 instead\n"
        "  --ready-timeout SECONDS how long a started container's livenessProbe may take to pass, from its\n"
        "                          first try (initialDelaySeconds after the start; default 60; 0: one try);\n"
        "                          also the most a postStart hook may take\n"
        "  --state-dir DIR         node key and update journals (default $PODHOOK_STATE_DIR, else\n"
        "                          /var/lib/podhook; made 0700 if missing)\n"
        "  --recreate              tear the old pod down first and create it anew (no rollback)\n"
        "  --dry-run               print what would be done (as 'podhook diff') and change nothing\n"
        "  --log-max-size SIZE     a container's log file is rotated at SIZE (bytes, or 512k, 10m, 1g;\n"
        "                          default 10m); 0: no log limits, the engine's own log config stays.\n"
        "                          Changing the limits replaces the app containers (docs/clean-node.md)\n"
        "  --log-max-file N        log files kept per container, the current one included (default 3)\n"
        "  --secrets FILE          a JSON object of secret names to values (mode 0600 or stricter) for env\n"
        "                          valueFrom.secretKeyRef and secret volumes\n"
        "  --registry-config FILE  registry credentials, Docker's config.json (default\n"
        "                          $DOCKER_CONFIG/config.json, else /root/.docker/config.json)\n"
        "  --wait-for DEP          pod:NAME, tcp:HOST:PORT or an http(s) URL that must be ready first\n"
        "  --wait-interval SECONDS between two tries of the wait_for dependencies (default 2)\n"
        "  --wait-timeout SECONDS  how long to wait for them in all (default 300)\n"
        "  --config-file KEY=FILE  the content of config_files KEY (secret and configMap volume items)\n"
        "Options beside 'manifest:' in a wrapped FILE count too; these flags win over them\n"
        "(docs/options.md).\n"
        "\n"
        "With --backend kubelet, the pod's v1 Pod is written to the kubelet's manifest directory as\n"
        "podhook-<pod>.yaml (only when it changed) and the kubelet is asked until the pod runs and is "
        "ready;\n"
        "its v1 status is printed.\n" KUBELET_HELP
        "  --images-timeout S, --containers-timeout S, --poll-period S   the wait (600, 120, 5)\n"
        "\n"
        "Exit status: 0 deployed, 65 invalid manifest (nothing touched), 1 deployment failed.\n";

/* FILE's base name without its extension, as a pod name. */
static char *name_from_file(const char *path) {
        _cleanup_free_ char *copy = xstrdup(path);
        char *base = basename(copy);
        char *dot = strrchr(base, '.');

        if (dot && dot != base)
                *dot = '\0';
        return pod_name_sanitize(base);
}

/* The pod of apply and convert: --name, else the manifest id (made a valid name), else the file's. */
static char *pod_name_of(const char *name, const PhManifest *m, const char *path) {
        if (name)
                return xstrdup(name);
        if (m->id && *m->id)
                return pod_name_is_valid(m->id) ? xstrdup(m->id) : pod_name_sanitize(m->id);
        return name_from_file(path);
}

/* What an apply would do: the plan as text (or JSON) on stdout. */
static int print_diff(const char *cmd, const char *pod, const PhManifest *m, const PodArgs *a) {
        _cleanup_(docker_freep) PhDocker *d = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *text = NULL;
        json_auto_t *plan = NULL;
        int r;

        r = docker_open(NULL, &d, &err);
        if (r >= 0)
                r = pod_diff(d, pod, m, &(PhPodMeta){}, &a->po, &plan, &text, &err);
        if (r < 0)
                return fail(cmd, err);
        if (a->json) {
                if (json_dumpf(plan, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF)
                        return EXIT_FAILURE;
        } else if (fputs(text, stdout) == EOF)
                return EXIT_FAILURE;
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* The command line of a command that takes one manifest FILE: its options, the manifest, the pod's
 * name. Returns -1 to go on, else the exit code to return at once. */
static int manifest_command(const char *cmd, const char *help, const char *allowed, int argc, char **argv,
                            PodArgs *a, PhManifest **ret_m, char **ret_pod) {
        int r;

        r = parse_args(cmd, help, allowed, argc, argv, a);
        if (r >= 0)
                return r;
        if (optind != argc - 1)
                return usage_error(cmd, "%s", "exactly one FILE is needed");
        if (a->name && !pod_name_is_valid(a->name))
                return usage_error(cmd, "--name '%s' is not a valid Docker name ([A-Za-z0-9][A-Za-z0-9_.-]*)",
                                   a->name);
        _cleanup_error_ PhError *err = NULL;
        if (a->secrets_file && secrets_file_load(a->secrets_file, &a->secrets, &err) < 0) {
                fprintf(stderr, "podhook %s: %s\n", cmd, ph_error_msg(err));
                return EXIT_FAILURE;
        }
        a->po.secrets = a->secrets;
        if (registry_config_load(a->registry_config, &a->registry, &err) < 0) {
                fprintf(stderr, "podhook %s: %s\n", cmd, ph_error_msg(err));
                return EXIT_FAILURE;
        }
        a->po.registry_auths = a->registry;
        /* convert maps valueFrom and the files' volumes to v1's own: no values are needed for it. */
        r = load_file(argv[optind], a->po.state_dir, strcmp(cmd, "convert") == 0 ? NULL : a, ret_m);
        if (r != 0)
                return r;
        *ret_pod = pod_name_of(a->name, *ret_m, argv[optind]);
        return -1;
}

/* apply --backend kubelet: the file, then the kubelet's word. */
static int apply_kubelet(const PodArgs *a, const PhManifest *m, const char *pod) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *reason = NULL;
        json_auto_t *status = NULL;
        PhKubeletWait wait = {};
        bool ok = false;
        int r;

        r = kubelet_hook_options(a->wait, &wait, &err);
        if (r < 0)
                return usage_error("apply", "%s", ph_error_msg(err));
        r = kubelet_pod_apply(m, pod, &(PhKubeletMeta){}, &a->ko, &wait, &ok, &status, &reason, NULL, &err);
        if (r == -EINVAL) {
                fprintf(stderr, "%s\n", ph_error_msg(err));
                return PODHOOK_EXIT_INVALID;
        }
        if (r < 0)
                return fail("apply", err);
        secret_redact_deep(status, NULL);
        if (json_dumpf(status, stdout, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || fputc('\n', stdout) == EOF ||
            fflush(stdout) != 0)
                return EXIT_FAILURE;
        fprintf(stderr, "podhook apply: %s\n", reason);
        return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}

int cli_apply(int argc, char **argv) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_(docker_freep) PhDocker *d = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *pod = NULL, *summary = NULL;
        json_auto_t *inspect = NULL;
        _cleanup_(pod_args_done) PodArgs a = {.po.progress = isatty(STDERR_FILENO) == 1};
        int r;

        r = manifest_command("apply", apply_help, "ngIWTSRDsrwitcLFBMUCEKGOP", argc, argv, &a, &m, &pod);
        if (r >= 0)
                return r;
        if (a.kubelet)
                return apply_kubelet(&a, m, pod);
        if (a.dry_run)
                return print_diff("apply", pod, m, &a);

        r = docker_open(NULL, &d, &err);
        if (r >= 0)
                r = pod_apply(d, pod, m, &(PhPodMeta){}, &a.po, &inspect, &summary, &err);
        if (r < 0) {
                /* The values it was given are secret by where they come from: none in the message. */
                _cleanup_strv_free_ char **values = NULL;
                pod_secret_values(&a.po, m, &values);
                registry_config_secrets(a.registry, &values);
                json_auto_t *msg = json_string(ph_error_msg(err));
                secret_scrub_json(msg, values);
                fprintf(stderr, "podhook apply: %s\n", json_string_value(msg));
                return EXIT_FAILURE;
        }
        if (json_dumpf(inspect, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF ||
            fflush(stdout) != 0)
                return EXIT_FAILURE;
        if (summary)
                fprintf(stderr, "%s\n", summary);
        return EXIT_SUCCESS;
}

/* --- diff -------------------------------------------------------------------------------------- */

static const char diff_help[] =
        "Usage: podhook diff [--name POD] [--json] [--no-init] [--state-dir DIR] [--log-max-size SIZE]\n"
        "                    [--log-max-file N] FILE\n"
        "\n"
        "Says what 'podhook apply' of the manifest would do to the running pod, changing nothing (no pull,\n"
        "no lock, nothing written): per container keep, start, replace, add or remove, and why ('image ID',\n"
        "'env DB_HOST', 'ports', 'command', ...). A missing image counts as changed (it would be pulled).\n"
        "\n"
        "  --name POD        pod name (default: the manifest id, else FILE's base name without extension)\n"
        "  --json            the plan as JSON: {pod, nothing_to_do, pod_replaced, containers: [{container,\n"
        "                    name, action, reasons}]}\n"
        "  --no-init         as 'apply --no-init' would run the containers\n"
        "  --log-max-size SIZE, --log-max-file N   as 'apply' would set the containers' log limits\n"
        "  --state-dir DIR   where the node key is (default $PODHOOK_STATE_DIR, else /var/lib/podhook)\n"
        "\n"
        "Exit status: 0 (whether or not something would change), 65 invalid manifest, 1 failure.\n";

int cli_diff(int argc, char **argv) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_free_ char *pod = NULL;
        _cleanup_(pod_args_done) PodArgs a = {};
        int r;

        r = manifest_command("diff", diff_help, "njISscLF", argc, argv, &a, &m, &pod);
        if (r >= 0)
                return r;
        return print_diff("diff", pod, m, &a);
}

/* --- convert ----------------------------------------------------------------------------------- */

static const char convert_help[] =
        "Usage: podhook convert [--name POD] [--json] FILE\n"
        "\n"
        "Prints the Kubernetes v1 Pod that a kubelet runs for a v1beta2 manifest: a static pod, as YAML\n"
        "(or JSON with --json). Nothing is deployed. command becomes args (the image's ENTRYPOINT stays),\n"
        "hostDir a hostPath of type DirectoryOrCreate, memory and cpu resources.limits. Names v1 refuses\n"
        "are made lower case with '-' for '_' (apache_container -> apache-container); the annotation\n"
        "io.podhook/original-names keeps the originals. Labels and annotations io.podhook/pod and\n"
        "io.podhook/spec-hash let podhook find its pods again. '-' reads standard input (name the pod\n"
        "with --name when the manifest has no id).\n"
        "\n"
        "  --name POD   pod name (default: the manifest id, else FILE's base name without extension)\n"
        "  --json       JSON instead of YAML\n"
        "\n"
        "Exit status: 0 converted, 65 invalid manifest or not expressible as a v1 Pod (every reason on\n"
        "stderr), 66 FILE unreadable.\n";

int cli_convert(int argc, char **argv) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *pod = NULL, *text = NULL;
        json_auto_t *v1 = NULL;
        PodArgs a = {};
        size_t len = 0;
        int r;

        r = manifest_command("convert", convert_help, "nj", argc, argv, &a, &m, &pod);
        if (r >= 0)
                return r;
        const char *path = argv[optind];
        if (!a.name && !(m->id && *m->id) && strcmp(path, "-") == 0)
                return usage_error("convert", "%s", "standard input has no file name: give --name POD");
        r = kubelet_pod_convert(m, pod, NULL, strcmp(path, "-") == 0 ? "<stdin>" : path, &v1, &err);
        if (r < 0) {
                fprintf(stderr, "%s\n", ph_error_msg(err));
                return PODHOOK_EXIT_INVALID;
        }
        if (a.json) {
                if (json_dumpf(v1, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF)
                        return EXIT_FAILURE;
        } else {
                r = kubelet_yaml_dump(v1, &text, &len, &err);
                if (r < 0)
                        return fail("convert", err);
                if (fwrite(text, 1, len, stdout) != len)
                        return EXIT_FAILURE;
        }
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* --- delete ------------------------------------------------------------------------------------ */

static const char delete_help[] =
        "Usage: podhook delete [--purge] [--grace SECONDS] [--state-dir DIR] POD\n"
        "       podhook delete --backend kubelet [--kubelet-manifest-dir D] POD\n"
        "\n"
        "Stops (all at once, with the grace period) and removes the containers of the pod. Its named\n"
        "volumes stay unless --purge is given; host directories are never removed.\n"
        "\n"
        "  --purge           also remove the pod's named volumes (emptyDir): their data is lost\n"
        "  --grace SECONDS   stop grace period (default 10)\n"
        "  --state-dir DIR   where the pod's update journal is (default $PODHOOK_STATE_DIR, else\n"
        "                    /var/lib/podhook)\n"
        "\n"
        "With --backend kubelet, the pod's file goes from the manifest directory (a file of its name that\n"
        "is not podhook's stays, and the command fails).\n" KUBELET_HELP;

int cli_delete(int argc, char **argv) {
        _cleanup_(docker_freep) PhDocker *d = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(pod_args_done) PodArgs a = {};
        int r;

        r = parse_args("delete", delete_help, "gpSBM", argc, argv, &a);
        if (r >= 0)
                return r;
        if (optind != argc - 1)
                return usage_error("delete", "%s", "exactly one POD is needed");
        if (!pod_name_is_valid(argv[optind]))
                return usage_error("delete", "'%s' is not a valid pod name", argv[optind]);
        if (a.kubelet) {
                r = kubelet_remove_owned(&a.ko, argv[optind], &err);
                return r < 0 ? fail("delete", err) : EXIT_SUCCESS;
        }
        r = docker_open(NULL, &d, &err);
        if (r >= 0)
                r = pod_delete(d, argv[optind], &a.po, a.purge, &err);
        if (r < 0)
                return fail("delete", err);
        return EXIT_SUCCESS;
}

/* --- ps ---------------------------------------------------------------------------------------- */

static const char ps_help[] =
        "Usage: podhook ps [--json] [POD]\n"
        "\n"
        "Lists the containers of every podhook pod (or of POD): POD CONTAINER STATE STATUS IMAGE. STATUS "
        "says\n"
        "\"broken: infra restarted\" (or recreated, not running, missing) for a pod whose apps lost their "
        "network.\n"
        "The infra container, which holds the pod's network and ports, shows as CONTAINER '-'.\n"
        "\n"
        "  --json   the Engine's container summaries as a JSON array instead\n";

/* {"<pod>": "infra restarted", ...}: the pods whose containers may all run but that do not work (observe.h),
 * from an inspect of each pod. */
static json_t *ps_broken(PhDocker *d, const json_t *list) {
        json_t *out = json_object(), *row;
        size_t i;

        json_array_foreach(list, i, row) {
                const char *p = pod_label(row, POD_LABEL_POD);
                json_auto_t *inspect = NULL;
                PhPodBreak brk;
                if (!p || json_object_get(out, p) || pod_inspect(d, p, &inspect, NULL) < 0)
                        continue;
                json_decref(observe_containers(inspect, &brk));
                json_object_set_new(out, p,
                                    brk == PH_POD_OK ? json_null() : json_string(pod_break_to_string(brk)));
        }
        return out;
}

int cli_ps(int argc, char **argv) {
        _cleanup_(docker_freep) PhDocker *d = NULL;
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *list = NULL;
        json_t *row;
        const char *pod = NULL;
        PodArgs a = {};
        size_t i;
        int r;

        r = parse_args("ps", ps_help, "j", argc, argv, &a);
        if (r >= 0)
                return r;
        if (argc - optind > 1)
                return usage_error("ps", "%s", "at most one POD");
        if (optind < argc) {
                pod = argv[optind];
                if (!pod_name_is_valid(pod))
                        return usage_error("ps", "'%s' is not a valid pod name", pod);
        }
        r = docker_open(NULL, &d, &err);
        if (r >= 0)
                r = pod_list(d, pod, &list, &err);
        if (r < 0)
                return fail("ps", err);
        if (a.json) {
                if (json_dumpf(list, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF)
                        return EXIT_FAILURE;
                return EXIT_SUCCESS;
        }
        json_auto_t *broken = ps_broken(d, list);
        printf("%-24s %-20s %-10s %-28s %s\n", "POD", "CONTAINER", "STATE", "STATUS", "IMAGE");
        json_array_foreach(list, i, row) {
                const char *p = pod_label(row, POD_LABEL_POD);
                const char *cn = pod_label(row, POD_LABEL_CONTAINER);
                const char *state = json_string_value(json_object_get(row, "State"));
                const char *why = p ? json_string_value(json_object_get(broken, p)) : NULL;
                _cleanup_free_ char *shown = why ? xasprintf("broken: %s", why) : NULL;
                const char *status = shown ? shown : json_string_value(json_object_get(row, "Status"));
                const char *image = json_string_value(json_object_get(row, "Image"));
                printf("%-24s %-20s %-10s %-28s %s\n", p ? p : "?", cn ? cn : "-", state ? state : "?",
                       status ? status : "", image ? image : "?");
        }
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* --- prune ------------------------------------------------------------------------------------- */

static const char prune_help[] =
        "Usage: podhook prune [--dry-run] [--json] [--state-dir DIR]\n"
        "\n"
        "Removes the images podhook pulled (each pull is recorded in the state directory) that no container\n"
        "on the engine uses any more, podhook's or not, running or not. An image podhook did not pull, the\n"
        "infra image and an image another name keeps (only podhook's names of it go) stay. Nothing is\n"
        "forced: an image the engine refuses to remove (in use, dependent children) is skipped and said.\n"
        "Waits for applies that are under way. Prints one line per recorded image: removed, would remove,\n"
        "in use, infra, skipped, kept or gone.\n"
        "\n"
        "  --dry-run         say what would be removed, remove nothing\n"
        "  --json            the report as JSON: [{id, refs, pods, pulled_at, result, why}]\n"
        "  --state-dir DIR   where the pull records are (default $PODHOOK_STATE_DIR, else /var/lib/podhook)\n"
        "\n"
        "Exit status: 0 (also when images were skipped), 1 the engine or the state directory could not be "
        "read.\n";

int cli_prune(int argc, char **argv) {
        _cleanup_(docker_freep) PhDocker *d = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *text = NULL;
        json_auto_t *report = NULL;
        PodArgs a = {};
        int r;

        r = parse_args("prune", prune_help, "DjS", argc, argv, &a);
        if (r >= 0)
                return r;
        if (optind != argc)
                return usage_error("prune", "%s", "no arguments are taken");
        r = docker_open(NULL, &d, &err);
        if (r >= 0)
                r = image_prune(d, a.po.state_dir ? a.po.state_dir : PH_STATE_DIR_DEFAULT, a.dry_run, &report,
                                &err);
        if (r < 0)
                return fail("prune", err);
        if (a.json) {
                if (json_dumpf(report, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF)
                        return EXIT_FAILURE;
        } else {
                text = image_prune_text(report, a.dry_run);
                if (fputs(text, stdout) == EOF)
                        return EXIT_FAILURE;
        }
        return fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* --- hook -------------------------------------------------------------------------------------- */

static const char hook_help[] =
        "Usage: podhook hook [--grace SECONDS] [--no-init] [--start-window SECONDS] [--ready-timeout "
        "SECONDS]\n"
        "                    [--state-dir DIR] [--secrets FILE] [--registry-config FILE]\n"
        "                    [--log-max-size SIZE] [--log-max-file N]\n"
        "                    [--kubelet-manifest-dir D] [--kubelet-url URL]\n"
        "\n"
        "The heat-config hook for group 'docker': reads one deployment (JSON) on standard input and writes\n"
        "one JSON object on standard output with deploy_stdout (the inspect array of the pod's containers),\n"
        "deploy_stderr and deploy_status_code. The pod is named after the deployment's 'name'.\n"
        "deploy_action CREATE, UPDATE and RESUME apply the manifest in 'config'; DELETE removes the pod\n"
        "(volumes stay); SUSPEND stops its containers. Installed as an executable named 'docker' in a\n"
        "heat-config hooks directory, podhook acts as this hook. An apply changes only what changed and\n"
        "rolls back on failure, as 'podhook apply' does (--start-window, --ready-timeout and --state-dir as\n"
        "there; the deployment's options start_window and ready_timeout, in seconds, win over them).\n"
        "--log-max-size and --log-max-file as there too; the deployment's options log_max_size (\"10m\",\n"
        "bytes, 0: off) and log_max_file win over them.\n"
        "\n"
        "A deployment of group 'kubelet' (or any, with --backend kubelet) is a static pod instead: its file\n"
        "is written to the kubelet's manifest directory and deploy_stdout is the Pod's v1 status from the\n"
        "kubelet; options images_timeout, containers_timeout and poll_period (seconds) bound the wait.\n"
        "DELETE removes the file. As an executable named 'kubelet' podhook is this hook too.\n" KUBELET_HELP;

/* Always one JSON object on stdout, even when the input is unusable: heat-config reads it. */
static int hook_emit(json_t *result) {
        if (json_dumpf(result, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
                return EXIT_FAILURE;
        return 0;
}

static int hook_fail(const char *msg) {
        json_auto_t *res = deployment_result("", msg, 1);

        fprintf(stderr, "podhook hook: %s\n", msg);
        (void) hook_emit(res);
        return EXIT_FAILURE;
}

int cli_hook(int argc, char **argv) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *buf = NULL;
        json_auto_t *deployment = NULL, *result = NULL;
        _cleanup_(pod_args_done) PodArgs a = {};
        json_error_t jerr;
        size_t len = 0;
        int r;

        r = parse_args("hook", hook_help, "gIWTSsrLFBMUCEK", argc, argv, &a);
        if (r > 0) { /* a bad option, already said on stderr: whoever reads stdout still gets its object */
                json_auto_t *res = deployment_result(
                        "", "podhook hook: bad command line (see 'podhook hook --help')", 1);
                (void) hook_emit(res);
        }
        if (r >= 0)
                return r;
        PhDockerHookOptions o = {
                .grace_seconds = a.po.grace_seconds,
                .no_init = a.po.no_init,
                .state_dir = a.po.state_dir,
                .start_window = a.po.start_window,
                .start_window_set = a.po.start_window_set,
                .ready_timeout = a.po.ready_timeout,
                .ready_timeout_set = a.po.ready_timeout_set,
                .secrets_file = a.secrets_file,
                .registry_config = a.registry_config,
                .log_max_size = a.po.log_max_size,
                .log_max_size_set = a.po.log_max_size_set,
                .log_max_file = a.po.log_max_file,
                .log_max_file_set = a.po.log_max_file_set,
        };
        r = fd_read_all(STDIN_FILENO, HOOK_INPUT_MAX, &buf, &len, &err);
        if (r < 0)
                return hook_fail(ph_error_msg(err));
        deployment = json_loadb(buf, len, 0, &jerr);
        if (!deployment) {
                secret_cut_json_error(jerr.text); /* the deployment holds passwords */
                _cleanup_free_ char *msg =
                        xasprintf("standard input is not a JSON deployment: line %d: %s (column %d)",
                                  jerr.line, jerr.text, jerr.column);
                return hook_fail(msg);
        }
        const char *group = json_string_value(json_object_get(deployment, "group"));
        if (a.kubelet || (group && strcmp(group, "kubelet") == 0))
                r = kubelet_hook_run(deployment, &a.ko, &result, &err);
        else
                r = docker_hook_run(deployment, &o, &result, &err);
        if (r < 0)
                return hook_fail(ph_error_msg(err));
        int status = (int) json_integer_value(json_object_get(result, "deploy_status_code"));
        if (status != 0)
                fprintf(stderr, "podhook hook: %s",
                        json_string_value(json_object_get(result, "deploy_stderr")));
        if (hook_emit(result) != 0)
                return EXIT_FAILURE;
        return status == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
