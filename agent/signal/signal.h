/* Signal transports: tell Heat how a deployment went (CFN_SIGNAL, TEMP_URL_SIGNAL, HEAT_SIGNAL,
 * NO_SIGNAL). The durable outbox and retry schedule live in the agent core; this module makes one
 * delivery attempt and says whether it may be retried. */
#pragma once

#include "common/error.h"

typedef struct json_t json_t;

typedef enum PhSignalKind {
        PH_SIGNAL_NONE,
        PH_SIGNAL_CFN,      /* POST to deploy_signal_id */
        PH_SIGNAL_TEMP_URL, /* PUT to deploy_signal_id */
        PH_SIGNAL_HEAT,     /* keystone token, POST .../resources/<res>/signal */
        PH_SIGNAL_ZAQAR,    /* not supported here: reported as a permanent failure */
} PhSignalKind;

/* Largest body sent: deploy_stdout/deploy_stderr are cut from the front to stay under it. */
#define SIGNAL_MAX_BODY 950000u

typedef struct PhSignalOptions {
        long timeout_ms;     /* per request; 0 = 30 s */
        const char *ca_file; /* optional */
} PhSignalOptions;

/* Picks the transport from a name->value map of the deployment's inputs, as heat-config-notify does
 * (deploy_signal_id, then deploy_queue_id, then deploy_auth_url; else none). */
PhSignalKind signal_kind(const json_t *inputs);
const char *signal_kind_to_string(PhSignalKind k);

/* One delivery attempt of data (a JSON object) for the deployment whose inputs map is given.
 * 0: delivered (2xx) or nothing to send (NO_SIGNAL);
 * -EAGAIN: may succeed later (no answer, timeout, 5xx, 408, 429): keep it in the outbox;
 * other < 0: permanent (other 4xx): the outbox gives up on it.
 * Error texts never contain passwords, tokens or signed URLs. */
int signal_send(const json_t *inputs, const json_t *data, const PhSignalOptions *o, PhError **reterr);
/* A copy of data (new ref) whose JSON text fits in max bytes, by cutting deploy_stdout and
 * deploy_stderr from the front in proportion to their lengths. */
json_t *signal_trim(const json_t *data, size_t max);
