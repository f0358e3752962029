/* Placeholder until the agent lands: replaced by the agent-core work. */
#include <stdio.h>

#include "cli.h"

int cli_agent(int argc, char **argv) {
        fputs("podhook agent: not implemented yet\n", stderr);
        return 1;
}
