/* Placeholder until the pod commands land: replaced by the docker work. */
#include <stdio.h>

#include "cli.h"

static int not_yet(const char *what) {
        fprintf(stderr, "podhook %s: not implemented yet\n", what);
        return 1;
}

int cli_validate(int argc, char **argv) {
        return not_yet("validate");
}
int cli_apply(int argc, char **argv) {
        return not_yet("apply");
}
int cli_delete(int argc, char **argv) {
        return not_yet("delete");
}
int cli_ps(int argc, char **argv) {
        return not_yet("ps");
}
int cli_hook(int argc, char **argv) {
        return not_yet("hook");
}
