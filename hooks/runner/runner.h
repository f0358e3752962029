/* External heat-config hooks: find <group> in the hook directories and run it with the exact
 * heat-config contract (deployment JSON on stdin; result from stdout by 55-heat-config's rules). */
#pragma once

#include <stdbool.h>

#include "common/error.h"

typedef struct json_t json_t;

/* Default hook directories after $HEAT_CONFIG_HOOKS: the ones heat-config searches. */
#define RUNNER_DEFAULT_HOOK_DIRS "/usr/libexec/heat-config/hooks:/var/lib/heat-config/hooks"

/* Looks for group (sanitised to [A-Za-z0-9_-]) in the ':'-separated dirs. 0 and *ret_path (caller
 * frees) when found; -ENOENT when not. */
int runner_find_hook(const char *group, const char *dirs, char **ret_path, PhError **reterr);
/* Runs the hook with deployment on stdin; *ret_data is the signal data (new ref) by the four-case rule
 * of heat-config (JSON stdout wins; else stdout/stderr/exit code; empty+0 gives {}). timeout_s 0 = none;
 * a timed-out hook is killed and reported as a failure in the data, not as an error. */
int runner_run(const char *path, const json_t *deployment, unsigned timeout_s, json_t **ret_data,
               PhError **reterr);
/* runner_run that also watches cancel_fd (e.g. a signalfd): when it is readable, should_cancel(userdata)
 * decides; true kills the hook with everything it started and returns -ECANCELED (no data). */
int runner_run_cancellable(const char *path, const json_t *deployment, unsigned timeout_s, int cancel_fd,
                           bool (*should_cancel)(void *userdata), void *userdata, json_t **ret_data,
                           PhError **reterr);
