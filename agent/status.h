/* The agent's status, as the status API and the metrics read it: what each deployment (Heat's and the
 * drop-ins') is doing and how it last ended, the pods and who owns them, the latest events, and the
 * values of the metrics. The agent fills it as things happen, from the loop thread and from the worker
 * thread; readers on any thread (the HTTP server's) take snapshots. Every function is thread-safe (one
 * mutex) and never blocks on I/O; every getter returns a new JSON value that shares nothing with the
 * store. Nothing secret is put in: texts come from results that were scrubbed before they were stored.
 *
 * Times are wall-clock, "YYYY-MM-DDTHH:MM:SSZ". */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cleanup.h"

typedef struct json_t json_t;
typedef struct PhStatus PhStatus;

/* Where a deployment stands. */
typedef enum PhStatusState {
        PH_STATUS_NEW,     /* listed, not run (yet) by this agent */
        PH_STATUS_RUNNING, /* its hook runs now */
        PH_STATUS_DONE,    /* it ran; status code 0 */
        PH_STATUS_FAILED,  /* it ran and failed, or could not run (invalid drop-in, no hook) */
} PhStatusState;
const char *status_state_to_string(PhStatusState s);

/* Counters only go up. Each has its Prometheus name in status_metrics_json. */
typedef enum PhStatusCounter {
        PH_STATUS_DEPLOYMENTS_APPLIED,     /* podhook_deployments_applied_total: ran with status 0 */
        PH_STATUS_DEPLOYMENTS_FAILED,      /* podhook_deployments_failed_total */
        PH_STATUS_DEPLOYMENTS_ROLLED_BACK, /* podhook_deployments_rolled_back_total */
        PH_STATUS_SIGNALS_DELIVERED,       /* podhook_signals_delivered_total */
        PH_STATUS_POLL_ERRORS,             /* podhook_poll_errors_total: a source that did not answer */
        PH_STATUS_PROBE_FAILURES,          /* podhook_probe_failures_total */
        PH_STATUS_RESTARTS,                /* podhook_restarts_total: containers the agent restarted */
        PH_STATUS_EVENTS_DROPPED,          /* podhook_notify_dropped_total: events --notify-exec missed */
        _PH_STATUS_COUNTER_MAX,
} PhStatusCounter;

typedef enum PhStatusGauge {
        PH_STATUS_SIGNALS_PENDING, /* podhook_signals_pending: results waiting in the outbox */
        _PH_STATUS_GAUGE_MAX,
} PhStatusGauge;

typedef enum PhStatusHistogram {
        PH_STATUS_APPLY_SECONDS, /* podhook_apply_duration_seconds: how long each deployment's hook ran */
        _PH_STATUS_HISTOGRAM_MAX,
} PhStatusHistogram;

/* max_events: how many events the ring keeps (0: STATUS_DEFAULT_EVENTS). */
#define STATUS_DEFAULT_EVENTS 100
PhStatus *status_new(size_t max_events);
PhStatus *status_free(PhStatus *s);
PH_DEFINE_CLEANUP(PhStatus *, status_free)

/* --- deployments, by id --- */

typedef struct PhStatusDeployment {
        const char *id;
        const char *name;
        const char *group;  /* NULL: Heat::Ungrouped */
        const char *action; /* deploy_action; NULL: CREATE */
        const char *source; /* "heat" (the metadata), "dropin", ... */
        const char *file;   /* a drop-in's file name; NULL otherwise */
} PhStatusDeployment;

/* Adds the deployment with state `initial`, or updates its name, group, action and source (its state
 * and result stay). */
void status_deployment_listed(PhStatus *s, const PhStatusDeployment *d, PhStatusState initial);
void status_deployment_set_state(PhStatus *s, const char *id, PhStatusState state);
/* Its last result (a heat-config result object: deploy_status_code, deploy_stderr): the state becomes
 * done or failed, and "result" {"status_code", "stderr" (the first line of deploy_stderr), "time"}. */
void status_deployment_set_result(PhStatus *s, const char *id, const json_t *result);
/* The same for a deployment that could not run at all (an invalid drop-in): failed, with message. */
void status_deployment_set_failure(PhStatus *s, const char *id, const char *message);
/* Whether its result still waits in the outbox to be signalled. */
void status_deployment_set_signal(PhStatus *s, const char *id, bool pending);
/* Drops the deployments of source whose id is not a key of ids (a JSON object; NULL drops them all). */
void status_deployments_keep(PhStatus *s, const char *source, const json_t *ids);

/* The values the deployment's results must not carry (its secrets, hook_secret_values), so that the
 * status API can keep them out of every answer; dropped with the deployment. Copied. */
void status_deployment_set_secrets(PhStatus *s, const char *id, char *const *values);
/* Every deployment's secret values (new strv, maybe empty). */
char **status_secret_values(PhStatus *s);

/* [{"id", "name", "group", "action", "source", "file"?, "state", "signal_pending", "result"?, "pod"?}],
 * sorted by id. */
json_t *status_deployments_json(PhStatus *s);
/* One of them, NULL when unknown. */
json_t *status_deployment_json(PhStatus *s, const char *id);

/* --- pods, by name --- */

/* Who the pod belongs to: kind "deployment" (owner: the deployment id) or "dropin" (owner: the file). */
void status_pod_owner(PhStatus *s, const char *pod, const char *kind, const char *owner);
/* Its last apply: {"status_code", "summary", "rolled_back", "time"}; rolled_back also goes to
 * "rollback": {"time", "summary"}, which stays until a later rollback replaces it. */
void status_pod_applied(PhStatus *s, const char *pod, int status_code, const char *summary, bool rolled_back);
/* A pod the kubelet runs (backend kubelet): "backend": "kubelet" and "kubelet": {"phase", "containers"
 * (kubelet-status.h's kubelet_status_brief), "time"} from the watch's last answer (state NULL: keep what
 * is known, e.g. a file found again after a restart: {"phase": null, "containers": []} when nothing is).
 * v1 (optional): the Pod in its static file, kept for status_kubelet_pods_json and never shown by the pod
 * getters (it carries the env values). */
void status_pod_kubelet(PhStatus *s, const char *pod, const json_t *v1, const json_t *state);
/* What the last look at the Engine saw of a docker pod (the worker's, after an apply or a reconcile): its
 * containers [{"name", "container", "id", "state", "health", "spec_hash", "restarts", "started_at"}],
 * "observed" (when) and "broken" (why it does not work, e.g. "infra restarted"; NULL when it does). */
void status_pod_observed(PhStatus *s, const char *pod, const json_t *containers, const char *broken);
/* Drops the pod, its kubelet Pod too. */
void status_pod_remove(PhStatus *s, const char *pod);
/* [{"name", "owner": {"kind", "id" | "file"}, "last_apply"?, "rollback"?, "containers"?, "observed"?,
 * "broken"?, "backend"?, "kubelet"?}], sorted by name. A docker pod's containers are the last
 * observation's, never read when asked (the loop thread that answers does not talk to the Engine); a
 * kubelet pod's are the kubelet's last answer. */
json_t *status_pods_json(PhStatus *s);
json_t *status_pod_json(PhStatus *s, const char *pod);
/* The kubelet pods' v1 Pods (status_pod_kubelet's v1), sorted by podhook pod name (new array). */
json_t *status_kubelet_pods_json(PhStatus *s);

/* --- events --- */

/* Keeps a copy of the event (notify.h builds them), numbered by "seq" from 1; the oldest goes when
 * the ring is full. */
void status_event_add(PhStatus *s, const json_t *event);
/* The latest limit events (0: all kept), oldest first. */
json_t *status_events_json(PhStatus *s, size_t limit);

/* --- metrics --- */

void status_counter_add(PhStatus *s, PhStatusCounter c, uint64_t n);
void status_gauge_set(PhStatus *s, PhStatusGauge g, double v);
void status_observe(PhStatus *s, PhStatusHistogram h, double v);
/* Every metric, for a Prometheus text rendering: [{"name", "type": "counter" | "gauge" | "histogram",
 * "help", "value"} or, for a histogram, {..., "buckets": [{"le": upper bound, "count": cumulative}] (the
 * last le is "+Inf"), "sum", "count"}]. */
json_t *status_metrics_json(PhStatus *s);
/* The same in the Prometheus text format (metrics.h), for GET /metrics. New string. */
char *status_metrics_text(PhStatus *s);

/* --- the agent as a whole --- */

/* What it polls: how many metadata sources, and the drop-in directory (NULL: none). */
void status_set_sources(PhStatus *s, size_t n_sources, const char *dropin_dir);
/* A pass ended: ok or not, with a one-line message when not. The first makes the agent ready. */
void status_pass_done(PhStatus *s, bool ok, const char *message);
bool status_ready(PhStatus *s);
/* {"ready", "started", "sources", "dropin", "deployments", "pods", "last_pass": {"time", "ok",
 * "message"?}} */
json_t *status_agent_json(PhStatus *s);
/* One line for systemd's STATUS=: "polling 2 sources and drop-ins, 3 deployments, last pass ok". */
char *status_line(PhStatus *s);
