/* The drop-in directory (--dropin DIR): a source of its own, one pod per manifest file, named after the
 * file without its extension (sanitised as every pod name is). Only *.yaml, *.yml and *.json count;
 * dot-files, editors' and package managers' leftovers (*~, *.bak, *.swp, *.dpkg-*, *.rpmnew,
 * *.rpmsave) never do. A new or changed file is applied through the hook of its backend (the planner
 * replaces only what changed) once it has stayed unchanged for the debounce time, so a file being
 * written is not applied half-way; a file that is gone (or no longer counts) has its pod deleted at
 * once, volumes kept; an invalid file is reported (log, status store, a dropin_invalid event) and its
 * running pod left alone. A drop-in's pod carries its file in its owner label: a Heat deployment never
 * takes it over, nor does a drop-in take a Heat deployment's pod. Drop-ins send no signal: their results
 * are in the status store, as deployments "dropin:<file>" of source "dropin".
 *
 * What was applied is kept in memory only: after a restart every file is applied again, which changes
 * nothing on a pod that already runs it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/http.h"
#include "hook.h"
#include "notify.h"
#include "status.h"

/* Largest drop-in file read. */
#define DROPIN_MAX_FILE (1024u * 1024)
/* The id prefix of a drop-in's deployment: ':' is in no config id Heat hands out (state_id_valid). */
#define DROPIN_ID_PREFIX "dropin:"

/* Pure: whether a directory entry's name is a drop-in manifest by the rules above. */
bool dropin_name_counts(const char *name);
/* Pure: the pod of a drop-in file name: the name without its extension, sanitised (new string). */
char *dropin_pod_name(const char *name);

/* Parses and validates a manifest text as the hook would, without touching anything (name: the file's,
 * for the messages). 0; -EBADMSG (not YAML or JSON at all) or -EINVAL (not a valid manifest) with the
 * messages (one per line) in *ret_messages. */
int dropin_validate(const char *name, const char *text, size_t len, const char *state_dir,
                    char **ret_messages);

typedef struct PhDropins PhDropins;

/* dir: as configured; a relative one is taken from the working directory now. It need not exist yet:
 * each sync looks again. */
PhDropins *dropins_new(const char *dir);
PhDropins *dropins_free(PhDropins *d);
PH_DEFINE_CLEANUP(PhDropins *, dropins_free)
/* The directory as configured (borrowed). */
const char *dropins_dir(const PhDropins *d);
/* The absolute directory, as in the pods' owner labels (borrowed). */
const char *dropins_path(const PhDropins *d);

/* What a sync works with (all borrowed). */
typedef struct PhDropinsEnv {
        /* The deployments' source in the status store and their ids' prefix ("<source>:<file>"); NULL:
         * "dropin". The API's pods are a directory of their own, source "api". */
        const char *source;
        const PhHook *hooks;
        size_t n_hooks;
        const char *group;     /* whose hook entry runs drop-ins ("docker") */
        const char *state_dir; /* the agent's (absolute): no hostDir may reach it */
        PhStatus *status;
        PhNotifier *notifier;
        const PhHttpCancel *cancel; /* optional */
        uint64_t debounce_usec;     /* a file must be unchanged this long */
} PhDropinsEnv;

/* One look at the directory: applies new and changed files, deletes the pods of files that are gone,
 * and with retry applies again the files whose last apply failed (invalid ones wait for a change).
 * *ret_recheck (usec, 0: none): a file was still changing; look again after this long. Returns the
 * number of pods applied or deleted, or a negative errno when the directory or the engine could not be
 * looked at (logged). */
int dropins_sync(PhDropins *d, const PhDropinsEnv *env, bool retry, uint64_t *ret_recheck);
