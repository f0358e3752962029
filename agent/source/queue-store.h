/* The queue directory: deployments that came in over the queue (agent/queue/zmq-listen.h), kept until
 * the agent has run them, one file each, in the state dir:
 *   <state>/queue/<id>.json   {"seq": N, "received": UNIX_TIME, "deployment": {...}}   (0600, dir 0700)
 * seq is the order of arrival. A file is written atomically and durably (file_write_atomic) before the
 * sender is told "accepted", so an acknowledged deployment survives any crash. The `queue` source
 * (source.h) reads the directory back as metadata: {"deployments": [...]} in order of arrival. The
 * files stay: like Heat's metadata, the list keeps a deployment after it ran (the agent's markers say it
 * is done, and reconciliation would remove the pod of a deployment that left the list) until the agent
 * retires them (queue_store_retire): then they wait in <state>/queue/done/, the latest QUEUE_DONE_KEEP. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef struct json_t json_t;

/* The default bound of one message, and so of one deployment (ZMQ_MAXMSGSIZE and our own check). */
#define QUEUE_MESSAGE_MAX (1024u * 1024u)

/* Pure: one message as a deployment in the shape of Heat's (heat-protocol.md 1.2): a JSON object with
 * "id" (a config id: [A-Za-z0-9._-], not starting with '.', the file name), "group" (a hook name),
 * optional "name" (string), "config" (any), "options" (object), "outputs" (list), and "inputs", a
 * list of {"name", "value"} objects with a deploy_action input (CREATE, UPDATE, DELETE, SUSPEND,
 * RESUME). Every problem at once, one "field: problem" each, joined with "; " (-EINVAL; -EBADMSG for
 * text that is no JSON, with line and column, never the text itself: it may hold a password). *ret is
 * the deployment (new ref). */
int queue_deployment_parse(const void *data, size_t len, json_t **ret, PhError **reterr);

typedef struct PhQueueStore PhQueueStore;

/* Opens (and creates, private: dir_open_private) <state_dir>/queue; stale temporary files of a write
 * that was cut short are removed; the next seq follows the largest one stored. */
int queue_store_open(const char *state_dir, PhQueueStore **ret, PhError **reterr);
PhQueueStore *queue_store_free(PhQueueStore *q);
PH_DEFINE_CLEANUP(PhQueueStore *, queue_store_free)

typedef enum PhQueuePut {
        PH_QUEUE_STORED,    /* on disk now (durably) */
        PH_QUEUE_DUPLICATE, /* a file of that id was there already: left as it was */
} PhQueuePut;

/* Stores a deployment that queue_deployment_parse accepted. 0 and *ret, or a negative errno. */
int queue_store_put(PhQueueStore *q, const json_t *deployment, PhQueuePut *ret, PhError **reterr);
/* Whether a file of id is stored. */
bool queue_store_has(const PhQueueStore *q, const char *id);
/* The stored deployments in order of arrival (new ref, a list). A file that is not a stored deployment
 * of its own name fails the whole listing, naming the file. */
int queue_store_list(const PhQueueStore *q, json_t **ret, PhError **reterr);
const char *queue_store_dir(const PhQueueStore *q);

/* Retirement (the agent decides which: queue-agent.h): the files of ids move to <state>/queue/done/,
 * out of the list, and done/ keeps the keep latest (by seq), the older ones are removed. An id with no
 * file is skipped. */
#define QUEUE_DONE_KEEP 100
int queue_store_retire(const char *state_dir, char *const *ids, size_t keep, PhError **reterr);
