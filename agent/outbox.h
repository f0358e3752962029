/* The durable outbox: a result is written here (atomic, 0600) before anyone tries to send it, and
 * leaves only when the transport says delivered (2xx) or permanently refused (4xx). Each entry keeps
 * its attempt count and next attempt time, so the retry schedule survives restarts. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/error.h"

typedef struct json_t json_t;

/* One delivery attempt, with signal_send's meaning: 0 delivered, -EAGAIN retry later, other < 0 permanent. */
typedef int (*PhOutboxSendFn)(const json_t *inputs, const json_t *data, void *userdata, PhError **reterr);
/* Told about each attempt: r as returned by the send function, retry_in seconds (for -EAGAIN). */
typedef void (*PhOutboxReportFn)(const char *id, int r, const PhError *err, unsigned attempts, unsigned retry_in,
                                 void *userdata);

typedef struct PhOutbox {
        char *dir;          /* <state>/outbox, 0700 */
        unsigned retry_max; /* cap of the retry back-off, seconds */
        PhOutboxSendFn send;
        PhOutboxReportFn report; /* optional */
        /* Optional: true when the entry must not be sent any more (Heat moved on to a newer config of
         * the same deployment, and would take a late signal as that one's result). Reported as -ESTALE. */
        bool (*is_stale)(const char *id, const json_t *inputs, void *userdata);
        void *userdata;
        uint64_t rng;
} PhOutbox;

int outbox_open(const char *state_dir, unsigned retry_max, PhOutboxSendFn send, void *userdata, PhOutbox **ret,
                PhError **reterr);
PhOutbox *outbox_free(PhOutbox *ob);
PH_DEFINE_CLEANUP(PhOutbox *, outbox_free)

/* Stores the result of config id (inputs: the name->value map the transport needs). Replaces an
 * unsent entry of the same id. */
int outbox_add(PhOutbox *ob, const char *id, const json_t *inputs, const json_t *data, PhError **reterr);
/* Attempts the entries due at now (every entry when all), oldest first. Returns the number of entries
 * left; *ret_next_due is the earliest next attempt among them (0 when none are left). */
int outbox_flush(PhOutbox *ob, time_t now, bool all, time_t *ret_next_due, PhError **reterr);
/* Only id's entry, if due (or all): for a signal right after its deployment. Same return. */
int outbox_flush_one(PhOutbox *ob, const char *id, time_t now, PhError **reterr);
/* The stored entry (new ref) or NULL. */
json_t *outbox_entry(const PhOutbox *ob, const char *id);
/* Seconds before attempt number `attempts` (1, 2, 4 ... capped at max), with +-20% jitter from rng. */
unsigned outbox_backoff(unsigned attempts, unsigned max, uint64_t *rng);
