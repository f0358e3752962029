/* The agent's events: what people want to be told without reading the logs (a failed deployment, a
 * rollback, a failing probe, a restart or repair the agent made, an invalid drop-in). Each one goes to
 * the log, to the status store's ring (status.h) and, one JSON object on stdin per run, to the
 * --notify-exec command, and to the sink (the ZeroMQ publisher: notifier_set_sink).
 *
 * notify_emit() may be called from any thread (the worker's passes emit most events). The command is
 * run from the event loop's thread: asynchronously (the loop never waits for it), one at a time,
 * killed with its process group after NOTIFY_EXEC_TIMEOUT_USEC; events wait in a queue of
 * NOTIFY_QUEUE_MAX, the oldest dropped (with a warning and podhook_notify_dropped_total) when it is
 * full. An event carries no secret: secret-named fields and secret-shaped values (signed URLs, URL
 * passwords) are redacted, and its texts come from results that were scrubbed already. */
#pragma once

#include <stdint.h>
#include <time.h>

#include "common/cleanup.h"
#include "event.h"
#include "status.h"

typedef struct json_t json_t;

typedef enum PhNoticeKind {
        PH_NOTICE_DEPLOYMENT_FAILED,   /* a deployment's hook ran and failed */
        PH_NOTICE_ROLLED_BACK,         /* a pod update failed and was undone */
        PH_NOTICE_PROBE_FAILED,        /* a liveness probe failed (self-healing) */
        PH_NOTICE_CONTAINER_RESTARTED, /* the agent restarted or recreated a container (self-healing) */
        PH_NOTICE_POD_HEALED,          /* the agent repaired a broken pod (self-healing) */
        PH_NOTICE_DROPIN_INVALID,      /* a drop-in file cannot be used; its pod is left alone */
        _PH_NOTICE_KIND_MAX,
} PhNoticeKind;

/* "deployment_failed", ... */
const char *notice_kind_to_string(PhNoticeKind k);

typedef struct PhNotice {
        PhNoticeKind kind;
        const char *pod;        /* optional */
        const char *deployment; /* the deployment's id, optional */
        const char *container;  /* optional (probe_failed, container_restarted) */
        const char *message;    /* one line for people; it is also the log line */
        const json_t *details;  /* optional (borrowed): more fields, e.g. "messages" of a drop-in */
} PhNotice;

/* Pure: {"kind", "time", "pod"?, "deployment"?, "container"?, "message", <details>...} (new ref), with
 * what is secret by name or shape redacted. when: the event's time. */
json_t *notice_to_json(const PhNotice *n, time_t when);

#define NOTIFY_QUEUE_MAX         16
#define NOTIFY_EXEC_TIMEOUT_USEC (30ull * 1000 * 1000)

typedef struct PhNotifier PhNotifier;

/* status (optional, borrowed) keeps the events; command (optional) is the --notify-exec command, run
 * with /bin/sh -c. Returns 0 or a negative errno (no eventfd). */
int notifier_new(PhStatus *status, const char *command, PhNotifier **ret);
/* Queued events are dropped; a command still running is left to finish on its own. */
PhNotifier *notifier_free(PhNotifier *n);
PH_DEFINE_CLEANUP(PhNotifier *, notifier_free)
/* A new command (a reload) for the events from now on; NULL: none. Loop thread. */
void notifier_set_command(PhNotifier *n, const char *command);
/* How long a command may run (tests); default NOTIFY_EXEC_TIMEOUT_USEC. Loop thread. */
void notifier_set_timeout(PhNotifier *n, uint64_t usec);

/* One more place every event goes (--publish, queue-agent.h): fn gets the event as notice_to_json made
 * it (borrowed), on the thread that emits it, so it must be thread-safe and must not block. NULL: none.
 * Set it while no other thread emits (before the worker starts, after it stopped). */
typedef void (*PhNotifySink)(const json_t *event, void *userdata);
void notifier_set_sink(PhNotifier *n, PhNotifySink fn, void *userdata);

/* Any thread: logs the event, keeps it in the status store, hands it to the sink, queues it for the
 * command. */
void notify_emit(PhNotifier *n, const PhNotice *notice);

/* Runs queued events' commands from the loop e from now on (loop thread; once). */
int notifier_attach(PhNotifier *n, PhEvent *e);
/* Stops using the loop (before it is freed); a command still running is left to finish. */
void notifier_detach(PhNotifier *n);
/* Runs e until every queued event has been handed to the command and the last command ended, at most
 * timeout_usec: for --one-time, which has no loop of its own. */
int notifier_drain(PhNotifier *n, PhEvent *e, uint64_t timeout_usec);
