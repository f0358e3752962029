/* Sources: where deployment metadata comes from (heat, cfn, request, local, zaqar, queue). One interface,
 * one backend file each (source-<name>.c). A source never knows about hooks or transports. */
#pragma once

#include <stdbool.h>

#include "common/error.h"
#include "common/http.h"

typedef struct json_t json_t;

typedef struct PhSourceOptions {
        long timeout_ms;     /* per request; 0 = 10 s */
        const char *ca_file; /* optional CA bundle for https */
        /* optional, borrowed (it must outlive the source; its fd is read at each request): aborts a request
         * in flight, e.g. on SIGTERM; the collect then fails with -ECANCELED */
        const PhHttpCancel *cancel;
        /* optional: the agent's state dir, for sources that keep something across restarts (zaqar:
         * its Client-ID and the last metadata it took from the queue) */
        const char *state_dir;
        /* look without consuming or writing anything (--print): zaqar lists its queue instead of
         * claiming messages */
        bool peek;
} PhSourceOptions;

typedef struct PhSource PhSource;

/* Creates source name ("heat", "cfn", "request", "local", "zaqar", "queue") from its os-collect-config
 * section (the object under that key, borrowed; for "local" {"path": [dirs...]} or a string; for "queue"
 * NULL or {"path": STATE_DIR}: the deployments that came over the ZeroMQ queue, queue-store.h, read
 * from the state dir of the options). Missing required
 * keys fail here with every missing key named. */
int source_new(const char *name, const json_t *section, const PhSourceOptions *o, PhSource **ret,
               PhError **reterr);
/* 0: *ret_metadata is the server metadata object (new ref), e.g. {"deployments": [...],
 *    "os-collect-config": {...}} (for "local": the deep merge of its files);
 * 1: the source says nothing changed since the last 0 (conditional request); *ret_metadata untouched;
 * < 0: unavailable (network, auth, bad answer): the caller treats it as "no change", never "empty". */
int source_collect(PhSource *s, json_t **ret_metadata, PhError **reterr);
/* Called once the agent has stored the metadata of the last source_collect (metadata.json): a
 * source that consumes what it reads (zaqar deletes the messages it claimed) does so only now, so
 * that a crash before this point loses nothing. A no-op for the others. < 0: it could not finish
 * (what it failed to consume comes back later and is recognised as old). */
int source_commit(PhSource *s, PhError **reterr);
const char *source_name(const PhSource *s);
/* Deep-merges from into into, os-apply-config's way: maps merge recursively, anything else (lists
 * too) is replaced by a copy; later sources win. */
void source_merge_deep(json_t *into, const json_t *from);
PhSource *source_free(PhSource *s);
PH_DEFINE_CLEANUP(PhSource *, source_free)
