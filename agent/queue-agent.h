/* The agent's half of the ZeroMQ queue (docs/queue.md): the sockets of agent/queue/ on the daemon's
 * event loop, the publish box that carries results and events from the worker thread to the loop thread
 * (ZeroMQ sockets are not thread-safe: only the loop thread sends), and the choice of the queue files
 * that are no longer wanted (retirement).
 *
 * Threads: the box's pubbox_result/pubbox_event may be called from any thread; everything else of it,
 * and agent_queue_*, on the loop thread. The sockets' known() reads the agent's markers from the loop
 * thread while a job may run: PhState is only read there (state_deploy_state stats two files). */
#pragma once

#include <stdbool.h>

#include "agent.h"
#include "common/error.h"
#include "event.h"

typedef struct json_t json_t;

/* What the box holds at most; past it the oldest goes (the loop drains it at once, so only a loop that
 * is stuck fills it). */
#define PUBBOX_MAX 1024

/* Any thread: a stored result for the publisher. pod, action may be NULL; result is copied; secrets
 * (may be NULL) are scrubbed from it when it is sent. */
void pubbox_result(PhPubBox *b, const char *id, const char *pod, const char *action, const json_t *result,
                   char *const *secrets);
/* Any thread: an event (notice_to_json's object, copied); the notifier's sink (notify.h). */
void pubbox_event(const json_t *event, void *box);

typedef struct PhAgentQueue PhAgentQueue;

/* Loop thread, no job running: the context, --listen (arrived() is called on the loop thread when a
 * deployment was stored: start a pass soon) and --publish of a's config on e, and the publish box in
 * a->pubbox and the notifier's sink. *ret is NULL when the config names neither endpoint. */
int agent_queue_open(PhAgent *a, PhEvent *e, void (*arrived)(void *userdata), void *userdata,
                     PhAgentQueue **ret, PhError **reterr);
/* SIGHUP: the CURVE allow file again (the old list stays when it is refused). */
void agent_queue_reload(PhAgentQueue *q);
/* Loop thread, no job running: what the box still holds is sent, then the sockets and the context go;
 * a->pubbox and the notifier's sink are cleared. Before the loop is freed. */
PhAgentQueue *agent_queue_free(PhAgentQueue *q);
PH_DEFINE_CLEANUP(PhAgentQueue *, agent_queue_free)

/* How far a stored queue deployment has got, for queue_retire_choose. */
typedef enum PhQueueDone {
        PH_QUEUE_PENDING,   /* not run, running, or its result or signal still waits */
        PH_QUEUE_DONE_OK,   /* ran, result stored and signalled, status 0 */
        PH_QUEUE_DONE_FAIL, /* the same with another status */
} PhQueueDone;

/* Pure: the ids of the stored queue deployments (deployments, in order of arrival; done[i] says how far
 * deployments[i] got) that are no longer wanted: a done deployment that a newer one of the same
 * resource (dispatch_resource_key: stack + resource, or name) replaced, and, once a DELETE of it is
 * done successfully, every deployment of that resource, the DELETE too; with no resource key, a
 * successful DELETE alone. What stays is what the list must keep for reconciliation: the latest of each
 * resource that still has a pod. New strv (maybe empty). */
char **queue_retire_choose(const json_t *deployments, const PhQueueDone *done);
