/* The agent's routes of the status API (httpd.h): what the status store holds, as JSON, and the pods
 * people post by hand. Every handler runs on the loop thread and answers at once: it reads the store
 * (thread-safe snapshots) or writes one small file, never talks to the Engine.
 *
 *   GET    /v1/agent               status_agent_json
 *   GET    /v1/deployments[/{id}]  the deployments (Heat's, the drop-ins', the API's)
 *   GET    /v1/pods[/{name}]       the pods, with their containers as last observed
 *   GET    /v1/events?limit=N      the latest events, oldest first
 *   GET    /metrics                Prometheus text
 *   POST   /v1/pods/{name}         (token) a manifest: kept as <pods_dir>/<name>.yaml and applied by the
 *                                  worker as a drop-in of its own directory (source "api"): 202
 *   DELETE /v1/pods/{name}         (token) a pod posted so: its file goes, the worker deletes the pod
 *                                  (volumes kept): 202
 * A pod that a Heat deployment or a drop-in file owns is theirs: POST and DELETE answer 409. */
#pragma once

#include "api/httpd.h"
#include "common/error.h"
#include "status.h"

typedef struct PhApiRoutesEnv {
        PhStatus *status;
        const char *pods_dir;  /* the API's pods (absolute; made 0700 when missing) */
        const char *state_dir; /* the agent's (absolute): a manifest's hostDir may not reach it */
        /* A pod file was written or removed: a sync of pods_dir should start soon. */
        void (*changed)(void *userdata);
        void *userdata;
} PhApiRoutesEnv;

/* env is borrowed: it outlives the server. */
int api_routes_add(PhApiServer *s, const PhApiRoutesEnv *env, PhError **reterr);
/* For PhApiConfig.secret_values; userdata: the PhStatus. */
char **api_routes_secret_values(void *userdata);
