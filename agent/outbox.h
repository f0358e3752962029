/* The durable outbox: a result is written here (atomic, 0600) before anyone tries to send it, and
 * leaves only when the transport took it (moved to outbox/sent/, fsync'd, before anything else
 * happens), when its stack is gone (404/410), when Heat moved on to a newer config, or, when it can
 * never be sent, to outbox/bad/. Each entry keeps its attempt count and next attempt time, so the
 * retry schedule survives restarts; what cannot be written is kept in memory and written later. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"
#include "signal/signal.h"

typedef struct json_t json_t;

/* Entries are at most this big (a result is cut to SIGNAL_MAX_BODY before it is added); the outbox
 * reads files up to OUTBOX_MAX_FILE, so every entry it writes can be read back. */
#define OUTBOX_MAX_ENTRY (2u * 1024 * 1024)
#define OUTBOX_MAX_FILE  (8u * 1024 * 1024)
/* The back-off after a signal that may have arrived: max(this, 5 x the request timeout), doubling
 * up to OUTBOX_MAYBE_MAX, whatever --retry-max says. */
#define OUTBOX_MAYBE_MIN 10u
#define OUTBOX_MAYBE_MAX (24u * 3600)

/* What the outbox knows of the entry it sends. */
typedef struct PhOutboxSend {
        const char *id;    /* config id */
        const char *token; /* the entry's token: the same for each attempt of one result, across restarts */
        size_t max_body;   /* cut data to this many bytes (0: the transport's default) */
        unsigned maybe_arrived; /* earlier attempts that may have arrived */
} PhOutboxSend;

/* One delivery attempt of data. */
typedef PhSignalOutcome (*PhOutboxSendFn)(const json_t *inputs, const json_t *data, const PhOutboxSend *s,
                                          void *userdata, PhError **reterr);

typedef enum PhOutboxEvent {
        PH_OUTBOX_DELIVERED,           /* the transport took it (or there is none): it left the outbox */
        PH_OUTBOX_RETRY,               /* not delivered: next attempt in retry_in s */
        PH_OUTBOX_RETRY_MAYBE_ARRIVED, /* sent, no answer: next attempt in retry_in s (the long back-off) */
        PH_OUTBOX_RETRY_SMALLER, /* refused as too large: sent again at once, cut to SIGNAL_SMALL_BODY */
        PH_OUTBOX_GONE,          /* its stack or signal URL is gone: dropped */
        PH_OUTBOX_PERMANENT,     /* it can never be sent: moved to outbox/bad/ */
        PH_OUTBOX_STALE,         /* superseded by a newer config of the same deployment: dropped unsent */
        PH_OUTBOX_BAD_FILE,      /* an outbox file cannot be used (id: its name): moved to outbox/bad/ */
        PH_OUTBOX_STATE_ERROR,   /* what happened could not be written (err): kept in memory, retried */
} PhOutboxEvent;

/* Told about each attempt and each problem; attempts counts the entry's attempts so far. */
typedef void (*PhOutboxReportFn)(PhOutboxEvent ev, const char *id, const PhError *err, unsigned attempts,
                                 unsigned retry_in, void *userdata);

typedef struct PhOutbox {
        char *dir;                /* <state>/outbox, 0700; bad/ and sent/ below it */
        unsigned retry_max;       /* cap of the retry back-off, seconds */
        unsigned request_timeout; /* seconds, for the back-off after a signal that may have arrived */
        PhOutboxSendFn send;
        PhOutboxReportFn report; /* optional */
        /* Optional: true when the entry must not be sent any more (Heat moved on to a newer config of
         * the same deployment, and would take a late signal as that one's result). */
        bool (*is_stale)(const char *id, const json_t *inputs, void *userdata);
        void *userdata;
        uint64_t rng;
        json_t *memo; /* id -> what could not be written yet: {"token", "entry"} or {"token", "settle"} */
} PhOutbox;

int outbox_open(const char *state_dir, unsigned retry_max, PhOutboxSendFn send, void *userdata,
                PhOutbox **ret, PhError **reterr);
PhOutbox *outbox_free(PhOutbox *ob);
PH_DEFINE_CLEANUP(PhOutbox *, outbox_free)

/* Stores the result of config id (inputs: the name->value map the transport needs); -EFBIG above
 * OUTBOX_MAX_ENTRY. Replaces an unsent entry of the same id. */
int outbox_add(PhOutbox *ob, const char *id, const json_t *inputs, const json_t *data, PhError **reterr);
/* Attempts the entries due at now, oldest first; with all, every entry except those that may have
 * arrived and are not due yet. Returns the number of entries left; *ret_next_due is the earliest next
 * attempt among them (0 when none are left). */
int outbox_flush(PhOutbox *ob, time_t now, bool all, time_t *ret_next_due, PhError **reterr);
/* Only id's entry, if due: for a signal right after its deployment. 1 if it is still there, else 0. */
int outbox_flush_one(PhOutbox *ob, const char *id, time_t now, PhError **reterr);
/* The stored entry (new ref) or NULL. */
json_t *outbox_entry(const PhOutbox *ob, const char *id);
/* The entry of id that was delivered (outbox/sent/, new ref) or NULL: kept until outbox_prune_sent. */
json_t *outbox_sent_entry(const PhOutbox *ob, const char *id);
/* Forgets the records of delivered entries. */
void outbox_prune_sent(PhOutbox *ob);
/* Seconds before attempt number `attempts` (1, 2, 4 ... capped at max), with +-20% jitter from rng. */
unsigned outbox_backoff(unsigned attempts, unsigned max, uint64_t *rng);
/* Seconds before the next attempt after the n-th that may have arrived: max(OUTBOX_MAYBE_MIN,
 * 5 x request_timeout) doubling with n, capped at OUTBOX_MAYBE_MAX, plus 0-20% jitter and 1 s (the
 * schedule is in whole seconds). */
unsigned outbox_maybe_backoff(unsigned n, unsigned request_timeout, uint64_t *rng);
