/* podhook: pods from v1beta2 manifests on the Docker Engine, and the agent that takes them from Heat. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common/error.h"
#include "common/http.h"
#include "common/log.h"

static const struct {
        const char *name;
        int (*run)(int argc, char **argv);
        const char *help;
} commands[] = {
        {"validate", cli_validate, "check manifests; exit 0 when valid, 65 when not"},
        {"apply", cli_apply, "deploy a pod from a manifest, changing only what changed"},
        {"diff", cli_diff, "what apply would change, and why"},
        {"convert", cli_convert, "print the Kubernetes v1 Pod (static pod YAML) of a manifest"},
        {"delete", cli_delete, "remove a pod (volumes stay unless --purge)"},
        {"ps", cli_ps, "list pods and their containers"},
        {"prune", cli_prune, "remove the images podhook pulled that no container uses"},
        {"hook", cli_hook,
         "heat-config hook for groups docker and kubelet (JSON on stdin, result on stdout)"},
        {"agent", cli_agent, "poll Heat, run deployments, signal results"},
        {"keygen", cli_keygen, "print a new CURVE key pair for the queue sockets"},
        {"send", cli_send, "submit a deployment over the ZeroMQ queue, print the answer"},
};

static void usage(FILE *f) {
        fputs("Usage: podhook COMMAND [OPTIONS] [ARGS]\n\nCommands:\n", f);
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
        fputs("\nRun 'podhook COMMAND --help' for the options of a command.\n", f);
}

int main(int argc, char **argv) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *self = strdup(argc > 0 && argv[0] ? argv[0] : "podhook");
        const char *env_level = getenv("PODHOOK_LOG_LEVEL");
        PhLogLevel level;

        if (!self)
                return EXIT_FAILURE;
        if (env_level && ph_log_level_from_string(env_level, &level) == 0)
                ph_log_set_max_level(level);
        if (http_global_init(&err) < 0) {
                log_error("%s", ph_error_msg(err));
                return EXIT_FAILURE;
        }
        /* Installed as <hooks dir>/docker or kubelet, heat-config runs us with no arguments: be the hook (it
         * tells the two by the deployment's group). */
        if (strcmp(basename(self), "docker") == 0 || strcmp(basename(self), "kubelet") == 0)
                return cli_hook(argc, argv);
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
                usage(stdout);
                return EXIT_SUCCESS;
        }
        if (strcmp(argv[1], "--version") == 0) {
                puts("podhook " PODHOOK_VERSION);
                return EXIT_SUCCESS;
        }
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
                if (strcmp(argv[1], commands[i].name) == 0)
                        return commands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "podhook: unknown command '%s' (see 'podhook --help')\n", argv[1]);
        return 2;
}
