/* Zaqar v2, the messaging service: what the zaqar source (ZAQAR_MESSAGE) and the ZAQAR_SIGNAL
 * transport share. The agent's Client-ID, a queue's path, listing a queue, and when a message was
 * created (a listing is not in time order). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/http.h"
#include "openstack/keystone.h"

typedef struct json_t json_t;

/* The file below the state dir that holds the agent's Client-ID. */
#define ZAQAR_CLIENT_ID_FILE "zaqar-client-id"
/* Zaqar's default max_messages_per_page and max_messages_per_claim_or_pop: more is refused (400). */
#define ZAQAR_PAGE_LIMIT 20
/* A listing follows at most this many pages (1000 messages). */
#define ZAQAR_MAX_PAGES 50

/* The agent's Client-ID (Zaqar requires the header on every request): the UUID in
 * <state_dir>/zaqar-client-id, written there (0600) on first use when create is true, so that
 * Zaqar sees one client across restarts. A new random UUID when there is no state dir or the file
 * can neither be read nor written: the id only names us, nothing depends on keeping it. */
char *zaqar_client_id(const char *state_dir, bool create);
/* True if s is a UUID in its 36-character text form. */
bool zaqar_uuid_valid(const char *s);

/* /v2/queues/<queue><suffix> (the queue name percent-quoted), below the messaging endpoint. */
char *zaqar_queue_path(const char *queue, const char *suffix);
/* Zaqar's rule for queue names: 1-64 of [A-Za-z0-9_-]. */
bool zaqar_queue_name_valid(const char *queue);

/* Every message in queue, claimed ones and our own included (GET .../messages?echo=true&
 * include_claimed=true, following the "next" links up to ZAQAR_MAX_PAGES): *ret is a new array of
 * the message objects. base gives timeouts, CA file and cancel. < 0 as keystone_call, or -EPROTO /
 * -EACCES / -EBADMSG for an answer that is not a listing. */
int zaqar_list(PhKeystone *k, const PhHttpRequest *base, const char *client_id, const char *queue,
               json_t **ret, PhError **reterr);

/* 100 ns ticks since the Unix epoch, now. */
int64_t zaqar_now_ticks(void);
/* The time in a version-1 UUID (Zaqar's swift store names each message uuid1() when it stores it),
 * in 100 ns ticks since the Unix epoch; false if id is no version-1 UUID. */
bool zaqar_uuid1_ticks(const char *id, int64_t *ret);
/* When message m was created, in 100 ns ticks since the Unix epoch: from its id when that is a
 * version-1 UUID (exact, the server's clock), else now_ticks minus its "age" (whole seconds in some
 * stores, fractions in others). INT64_MIN when it says neither. */
int64_t zaqar_message_created(const json_t *m, int64_t now_ticks);
/* Whether message a is newer than message b (created later; the same instant: the larger id). */
bool zaqar_message_newer(int64_t a_created, const char *a_id, int64_t b_created, const char *b_id);
/* The newest message of messages (borrowed from it) whose body is an object, NULL if there is none;
 * *ret_created is when it was created (zaqar_message_created). */
const json_t *zaqar_newest(const json_t *messages, int64_t now_ticks, int64_t *ret_created);
