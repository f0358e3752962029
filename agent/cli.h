/* The podhook subcommands. Each takes the argv after its own name (argv[0] = the subcommand) and
 * returns the process exit code. Only main() exits. */
#pragma once

/* Exit code of `validate` (and of apply) for an invalid manifest: sysexits' EX_DATAERR. */
#define PODHOOK_EXIT_INVALID 65

int cli_validate(int argc, char **argv);
int cli_apply(int argc, char **argv);
int cli_diff(int argc, char **argv);
int cli_convert(int argc, char **argv);
int cli_delete(int argc, char **argv);
int cli_ps(int argc, char **argv);
int cli_hook(int argc, char **argv);
int cli_agent(int argc, char **argv);
int cli_keygen(int argc, char **argv);
int cli_send(int argc, char **argv);
