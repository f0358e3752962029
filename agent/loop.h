/* The agent: sources from the bootstrap (following Heat when it rewrites os-collect-config), one
 * pass = collect, dispatch, reconcile, deliver; one thread, one poll() over a signalfd and a timerfd. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/error.h"
#include "config.h"
#include "dispatch.h"
#include "docker/hook-docker.h"
#include "hook.h"
#include "outbox.h"
#include "source/source.h"
#include "state.h"

typedef struct json_t json_t;

typedef struct PhAgent {
        int argc;
        char **argv; /* borrowed: reloads parse them again */
        PhConfig *cfg;
        PhState *state;
        char *state_dir_real; /* the state dir with symbolic links resolved: no pod's hostDir may reach it */
        PhOutbox *outbox;
        PhDispatch dispatch;
        PhDockerHookOptions docker; /* the docker entry's */
        PhExternalHooks external;   /* the external hooks entry's */
        PhHook hooks[2];
        char *hook_dirs;
        json_t *occ;     /* the os-collect-config object in use (normalised) */
        char *boot_hash; /* digest of the bootstrap's object: a new bootstrap beats a followed one */
        PhSource **sources;
        json_t **last; /* per source: its last metadata (a failing source keeps it: "no change") */
        size_t n_sources;
        json_t *applied; /* last merged metadata dispatched (also <state>/metadata.json) */
        int sfd;         /* signalfd, -1 outside loop_run */
        PhHttpCancel cancel; /* the sources' requests: SIGTERM (sfd, agent_should_stop) aborts them */
        bool stop, reload;
        bool reconcile_pending; /* the last reconciliation failed (e.g. Docker was down) */
        unsigned delay; /* current poll back-off, s */
        int last_kind;  /* PhSignalKind of the last send, for the log line */
        unsigned undelivered; /* signals given up (gone, unsendable, unreadable) since the start */
        uint64_t rng;
} PhAgent;

/* Takes cfg. Opens the state dir (lock), outbox and sources. */
int agent_new(int argc, char **argv, PhConfig *cfg, PhAgent **ret, PhError **reterr);
PhAgent *agent_free(PhAgent *a);
PH_DEFINE_CLEANUP(PhAgent *, agent_free)

/* The os-collect-config object to start from: the bootstrap file (or the ini files' sections, or the
 * cfn-init-data paths), unless the state dir holds a newer one Heat handed out for the same bootstrap.
 * *ret_hash (optional) is the bootstrap's digest. */
int agent_resolve_occ(const PhConfig *cfg, json_t **ret_occ, char **ret_hash, PhError **reterr);
/* Builds the sources named by occ's collectors (new array of n); unsupported ones are skipped. cancel
 * (optional, borrowed: it outlives the sources) aborts their requests. */
int agent_build_sources(const PhConfig *cfg, const json_t *occ, const PhHttpCancel *cancel, PhSource ***ret,
                        size_t *ret_n, PhError **reterr);
/* One pass. 0 when every source answered, 1 when some did not (their last data was used), < 0 on error. */
int agent_pass(PhAgent *a, PhError **reterr);
/* Delivers due outbox entries (all when all); returns the number left and sets *ret_next_due. */
int agent_deliver(PhAgent *a, bool all, time_t *ret_next_due, PhError **reterr);
/* Before the agent exits: what is still only in memory is stored or marked lost (dispatch_stop).
 * Returns the number of results that could not be stored. */
size_t agent_stop(PhAgent *a);
/* --print: collects once and prints {"<source>": metadata} with secrets redacted unless show_secrets. */
int agent_print(const PhConfig *cfg, FILE *f, PhError **reterr);
/* Runs until SIGTERM/SIGINT (0) or a fatal error. */
int loop_run(PhAgent *a, PhError **reterr);
