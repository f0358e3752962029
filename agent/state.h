/* The state directory: single-instance lock, heat-config-compatible deployed markers with an
 * "in progress" record so an interrupted deployment is resumed, and small JSON documents. */
#pragma once

#include <stdbool.h>

#include "common/error.h"

typedef struct json_t json_t;

typedef struct PhState {
        char *dir;
        char *deployed_dir; /* <dir>/deployed: <id>.json markers (0600), dir 0700 */
        int lock_fd;
} PhState;

typedef enum PhDeployState {
        PH_DEPLOY_NEW,         /* no marker: run it */
        PH_DEPLOY_IN_PROGRESS, /* started but its result never reached the outbox: run it again */
        PH_DEPLOY_DONE,        /* marker and no in-progress record: skip */
} PhDeployState;

/* Creates dir (0700) and deployed/ if needed and takes the lock: -EBUSY when another agent holds it. */
int state_open(const char *dir, PhState **ret, PhError **reterr);
PhState *state_free(PhState *s);
PH_DEFINE_CLEANUP(PhState *, state_free)

/* The config id is used as a file name: only [A-Za-z0-9._-], not starting with '.'. */
bool state_id_valid(const char *id);
PhDeployState state_deploy_state(const PhState *s, const char *id);
/* Before the hook runs: the in-progress record, then the marker (the deployment as heat-config writes it). */
int state_deploy_begin(const PhState *s, const char *id, const json_t *deployment, PhError **reterr);
/* After the result is in the outbox: <id>.notify.json (0600) and the in-progress record goes. */
int state_deploy_finish(const PhState *s, const char *id, const json_t *data, PhError **reterr);
/* Drops the in-progress record of a deployment that is no longer listed. */
void state_deploy_abandon(const PhState *s, const char *id);
/* Config ids with an in-progress record (new strv). */
char **state_in_progress(const PhState *s);
/* The marker's content (new ref) or NULL when absent/unreadable. */
json_t *state_deploy_marker(const PhState *s, const char *id);

/* <dir>/<name> as JSON: load gives NULL when absent or invalid; save is atomic, 0600. */
json_t *state_load_json(const PhState *s, const char *name);
int state_save_json(const PhState *s, const char *name, const json_t *v, PhError **reterr);
