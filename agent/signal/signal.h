/* Signal transports: tell Heat how a deployment went (CFN_SIGNAL, TEMP_URL_SIGNAL, HEAT_SIGNAL,
 * ZAQAR_SIGNAL, NO_SIGNAL). The durable outbox and retry schedule live in the agent core; this module makes
 * one delivery attempt and says whether it may be retried. */
#pragma once

#include "common/error.h"
#include "common/http.h"

typedef struct json_t json_t;

typedef enum PhSignalKind {
        PH_SIGNAL_NONE,
        PH_SIGNAL_CFN,      /* POST to deploy_signal_id */
        PH_SIGNAL_TEMP_URL, /* PUT to deploy_signal_id */
        PH_SIGNAL_HEAT,     /* keystone token, POST .../resources/<res>/signal */
        PH_SIGNAL_ZAQAR,    /* keystone token, one message posted to deploy_queue_id */
} PhSignalKind;

/* Largest body sent: deploy_stdout/deploy_stderr are cut from the front to stay under it. */
#define SIGNAL_MAX_BODY 950000u
/* The limit of the one retry after an endpoint refused a body as too large (413). */
#define SIGNAL_SMALL_BODY 65536u
/* 301/302/307/308 to the same scheme, host and port are followed this many times per attempt. */
#define SIGNAL_MAX_REDIRECTS 3u

/* ZAQAR_SIGNAL: the body of one message, within Zaqar's default max_messages_post_size (256 KiB for
 * the whole request) with room for the envelope and the marker. */
#define SIGNAL_ZAQAR_MAX_BODY (256u * 1024 - 1024)
/* ZAQAR_SIGNAL message TTLs, seconds: heat-config-notify's for a first post; Zaqar's minimum for a
 * post after one that may have arrived and was not found in the queue (Heat may have taken it: a
 * second message would be taken as the result of the deployment's next action, so it should not
 * stay long). */
#define SIGNAL_ZAQAR_TTL       600
#define SIGNAL_ZAQAR_TTL_AGAIN 60
/* The key of a ZAQAR_SIGNAL message body that holds the marker (Heat drops keys it does not know). */
#define SIGNAL_ZAQAR_MARKER_KEY "podhook_signal_id"

typedef struct PhSignalOptions {
        long timeout_ms;     /* per request; 0 = 30 s */
        const char *ca_file; /* optional */
        size_t max_body;     /* 0 = SIGNAL_MAX_BODY */
        /* optional: aborts the attempt (the agent stops); it is then one that failed, retried later */
        const PhHttpCancel *cancel;
        const char *state_dir; /* optional: where the agent's Zaqar Client-ID is kept */
        /* optional: the same for every attempt of one result; ZAQAR_SIGNAL puts it in the message so
         * that it can look for it after an attempt that may have arrived */
        const char *marker;
        unsigned maybe_arrived; /* earlier attempts of this result that may have arrived */
} PhSignalOptions;

/* What one delivery attempt came to; the outbox schedules each differently. */
typedef enum PhSignalOutcome {
        PH_SIGNAL_DELIVERED, /* 2xx, or nothing to send (NO_SIGNAL) */
        PH_SIGNAL_RETRY,     /* not sent in full, refused, 5xx, 408, 429, other 4xx, 3xx not followed */
        PH_SIGNAL_RETRY_MAYBE_ARRIVED, /* sent in full, then no (complete) answer, or 303: it may have arrived
                                        */
        PH_SIGNAL_RETRY_SMALLER,       /* 413: the endpoint takes less than was sent */
        PH_SIGNAL_GONE,                /* 404, 410: the stack or its signal URL no longer exists */
        PH_SIGNAL_PERMANENT,           /* the inputs can never be sent (malformed, unsupported transport) */
} PhSignalOutcome;

/* Picks the transport from a name->value map of the deployment's inputs, as heat-config-notify does
 * (deploy_signal_id, then deploy_queue_id, then deploy_auth_url; else none). */
PhSignalKind signal_kind(const json_t *inputs);
const char *signal_kind_to_string(PhSignalKind k);

/* One delivery attempt of data (a JSON object, cut to fit o->max_body by signal_fit) for the
 * deployment whose inputs map is given. Every outcome but DELIVERED sets *reterr, whose text never
 * contains passwords, tokens or signed URLs. Redirects: see SIGNAL_MAX_REDIRECTS; the method and
 * body are kept (a signal turned into a GET would carry nothing). A 303 ("see other") is not followed
 * and, as it says the request was handled, counts as maybe arrived. ZAQAR_SIGNAL, after an attempt
 * that may have arrived (o->maybe_arrived) and with o->marker: lists the queue first and, when the
 * message with that marker is there, posts nothing (DELIVERED). */
PhSignalOutcome signal_send(const json_t *inputs, const json_t *data, const PhSignalOptions *o,
                            PhError **reterr);
/* A copy of data (new ref) whose JSON text fits in max bytes, by cutting deploy_stdout and
 * deploy_stderr from the front in proportion to their lengths. */
json_t *signal_trim(const json_t *data, size_t max);
/* signal_trim, and when other keys alone are too big for max: a failed result (new ref) with the
 * trimmed deploy_stdout/deploy_stderr and a line saying why, so that something always fits. */
json_t *signal_fit(const json_t *data, size_t max);
