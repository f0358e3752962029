/* The state directory: single-instance lock, heat-config-compatible deployed markers, and the other
 * records of a config id, each kind in its own directory so that no id can reach another's file:
 *   deployed/<id>.json    marker: the deployment as it was run (heat-config writes the same)
 *   inprogress/<id>.json  empty: started, its result is not in the outbox yet (a crash resumes it)
 *   results/<id>.json     the result as it went to the outbox (heat-config's <id>.notify.json)
 *   removed/<id>.json     the marker of a deployment whose pod reconciliation removed, or whose
 *                         interrupted run was abandoned: if it comes back, it runs again
 *   lost/<id>.json        empty: it ran, but its result could not be stored before the agent stopped
 * plus small JSON documents in the directory itself. A state directory of an older podhook, with
 * deployed/<id>.notify.json and deployed/<id>.inprogress, is moved to this layout when it is opened. */
#pragma once

#include <stdbool.h>
#include <time.h>

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

/* Creates dir (0700) and its subdirectories if needed, takes the lock (-EBUSY when another agent
 * holds it) and moves an older layout into place. */
int state_open(const char *dir, PhState **ret, PhError **reterr);
PhState *state_free(PhState *s);
PH_DEFINE_CLEANUP(PhState *, state_free)

/* The config id is used as a file name: only [A-Za-z0-9._-], not starting with '.'. */
bool state_id_valid(const char *id);
PhDeployState state_deploy_state(const PhState *s, const char *id);
/* Before the hook runs: the in-progress record, then the marker (the deployment as heat-config
 * writes it); a failure leaves neither. */
int state_deploy_begin(const PhState *s, const char *id, const json_t *deployment, PhError **reterr);
/* When the in-progress record was written (its mtime), 0 when there is none. */
time_t state_deploy_started(const PhState *s, const char *id);
/* After the result is in the outbox: the in-progress record goes (durably). */
int state_deploy_finish(const PhState *s, const char *id, PhError **reterr);
/* results/<id>.json (0600): the result, for people and tools to read. */
int state_save_result(const PhState *s, const char *id, const json_t *data, PhError **reterr);
/* The marker goes to removed/ (a return of the id runs it again), and the in-progress record with it. */
int state_deploy_forget(const PhState *s, const char *id, PhError **reterr);
/* A run whose result could not be stored: its in-progress record becomes a lost record. */
int state_deploy_lose(const PhState *s, const char *id, PhError **reterr);
/* Drops the lost record of id. */
int state_lost_done(const PhState *s, const char *id, PhError **reterr);
/* Config ids with an in-progress record, with a lost record, with a marker (new strv each). */
char **state_in_progress(const PhState *s);
char **state_lost(const PhState *s);
char **state_markers(const PhState *s);
/* The marker's content (new ref) or NULL when absent/unreadable. */
json_t *state_deploy_marker(const PhState *s, const char *id);

/* <dir>/<name> as JSON: load gives NULL when absent or invalid; save is atomic, 0600. */
json_t *state_load_json(const PhState *s, const char *name);
int state_save_json(const PhState *s, const char *name, const json_t *v, PhError **reterr);
