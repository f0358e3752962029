/* ZeroMQ in (--listen): a ROUTER socket for REQ and DEALER peers. One message is one deployment in the
 * shape of a Heat deployment (queue-store.h: queue_deployment_parse). The answer, one JSON frame:
 *   {"id": ID, "accepted": true}                     once the deployment is durably in <state>/queue/
 *   {"id": ID, "accepted": true, "duplicate": true}  the id is stored already, or the agent has it
 *                                                    (known()): nothing is stored again
 *   {"error": "..."} (with "id" when it had a usable one)   invalid, too large, or not storable:
 *                                                    nothing changed
 * A REQ peer's empty delimiter frame is kept and sent back in front of the answer; a DEALER peer may
 * send the JSON frame with or without one. Messages larger than twice max_message are cut off by libzmq
 * (ZMQ_MAXMSGSIZE: the peer is disconnected, no answer); up to that, our own check answers with an
 * error past max_message.
 *
 * For the agent: ph_zmq_listen_new() with its state dir, known() (a marker of the id exists:
 * state_deploy_state() != PH_DEPLOY_NEW) and arrived() (start a pass soon); the `queue` source
 * (source.h) then hands the stored deployments to the agent's normal pass. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"
#include "queue/zmq-ctx.h"

typedef struct json_t json_t;
typedef struct PhZmqListen PhZmqListen;

typedef struct PhZmqListenConfig {
        const char *endpoint;
        const char *state_dir; /* the queue directory is <state_dir>/queue */
        size_t max_message;    /* bytes of one deployment; 0: QUEUE_MESSAGE_MAX */
        /* optional: whether the agent has id already (ran it, or runs it): a duplicate then */
        bool (*known)(const char *id, void *userdata);
        /* optional: a deployment was stored (called after its answer was queued) */
        void (*arrived)(const char *id, const json_t *deployment, void *userdata);
        void *userdata;
} PhZmqListenConfig;

int ph_zmq_listen_new(PhZmq *z, const PhZmqListenConfig *cfg, PhZmqListen **ret, PhError **reterr);
PhZmqListen *ph_zmq_listen_free(PhZmqListen *l);
PH_DEFINE_CLEANUP(PhZmqListen *, ph_zmq_listen_free)
const char *ph_zmq_listen_endpoint(const PhZmqListen *l);

/* Pure: where the JSON frame is in a message that came in on the ROUTER socket, from the sizes of its
 * frames (sizes[0] is the peer's routing id): 0 and *body (its index; a REQ's empty delimiter before it
 * makes *delimiter true), or -EBADMSG when the message is not "routing id, [empty], one frame". */
int ph_zmq_envelope(const size_t *sizes, size_t n, size_t *body, bool *delimiter);
