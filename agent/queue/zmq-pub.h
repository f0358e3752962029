/* ZeroMQ out (--publish): an XPUB socket that sends every result and every event as two frames,
 *   frame 1: the topic   "result.<pod>" or "event.<kind>.<pod>"
 *   frame 2: one JSON object (docs/queue.md), secrets redacted (secret_redact_deep) before it leaves,
 * and keeps a last-value cache: the latest result of each deployment id. When a subscription comes in
 * (XPUB_VERBOSE: also one that others made before), the cached results whose topic starts with its
 * prefix are sent again, so a subscriber that connects late still gets the latest result of each
 * deployment. Subscribers already connected with a matching subscription get them again too: a
 * result names its deployment id, and a repeat is the same message.
 *
 * For the agent: ph_zmq_pub_new() once the loop and the context (zmq-ctx.h) exist; after a result is
 * stored, ph_zmq_pub_result(); for each event, ph_zmq_pub_event(). Both only queue the message with
 * libzmq (never block; a subscriber that cannot keep up loses messages past its high-water mark). */
#pragma once

#include <stddef.h>

#include "common/error.h"
#include "queue/zmq-ctx.h"

typedef struct json_t json_t;
typedef struct PhZmqPub PhZmqPub;

/* How many deployments the cache keeps (the oldest result goes first). */
#define ZMQ_PUB_LVC_MAX 4096

int ph_zmq_pub_new(PhZmq *z, const char *endpoint, PhZmqPub **ret, PhError **reterr);
PhZmqPub *ph_zmq_pub_free(PhZmqPub *p);
PH_DEFINE_CLEANUP(PhZmqPub *, ph_zmq_pub_free)
/* The endpoint as bound (with the port of tcp://...:*). */
const char *ph_zmq_pub_endpoint(const PhZmqPub *p);

/* Pure: the message of a result: {"id", "pod", "action", "status_code", "summary", "result"} (new ref).
 * status_code is the result's deploy_status_code (an integer, -1 when it has none); summary is one
 * line: "<action> of <pod> succeeded" or "... failed (status N): <first line of deploy_stderr>". pod or
 * action may be NULL (then null / "" in the message). result is copied. */
json_t *ph_zmq_result_message(const char *deployment_id, const char *pod, const char *action,
                              const json_t *result);
/* Pure: "result.<pod>", "event.<kind>.<pod>" (new strings; an empty pod for NULL). */
char *ph_zmq_result_topic(const char *pod);
char *ph_zmq_event_topic(const char *kind, const char *pod);

/* Sends ph_zmq_result_message(...) on topic result.<pod> and caches it as the latest of deployment_id.
 * secrets: extra values to scrub (the deployment's: dispatch_secret_values), may be NULL. */
int ph_zmq_pub_result(PhZmqPub *p, const char *deployment_id, const char *pod, const char *action,
                      const json_t *result, char *const *secrets, PhError **reterr);
/* Sends an event: topic event.<kind>.<pod>, message the object data (borrowed; copied and redacted),
 * with "kind" and "pod" added. Events are not cached. */
int ph_zmq_pub_event(PhZmqPub *p, const char *kind, const char *pod, const json_t *data, char *const *secrets,
                     PhError **reterr);
/* The lower half of both: sends topic + message (redacted copy); with cache_id, caches it as the latest
 * of that id. */
int ph_zmq_pub_send(PhZmqPub *p, const char *topic, const json_t *message, const char *cache_id,
                    char *const *secrets, PhError **reterr);

/* The cache, pure: entries of (id, topic, text) in the order they were last set. */
typedef struct PhLvc PhLvc;
PhLvc *lvc_new(size_t max);
PhLvc *lvc_free(PhLvc *c);
PH_DEFINE_CLEANUP(PhLvc *, lvc_free)
/* Sets the latest of id (it moves to the end); past max entries the oldest goes. */
void lvc_set(PhLvc *c, const char *id, const char *topic, const char *text);
size_t lvc_count(const PhLvc *c);
/* What a subscription to prefix (bytes, len; 0 = everything) is sent again: the indexes of matching
 * entries, oldest first, in *ret (new array, *ret_n of them). */
void lvc_select(const PhLvc *c, const void *prefix, size_t len, size_t **ret, size_t *ret_n);
/* Entry i's topic and text (borrowed). */
const char *lvc_topic(const PhLvc *c, size_t i);
const char *lvc_text(const PhLvc *c, size_t i);
