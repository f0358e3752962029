/* The status API's HTTP server: libmicrohttpd on the agent's event loop, a table of routes
 * (route.h), the bearer token (token.h), and every rule that holds whatever the route:
 *
 *  - GET /healthz is built in: 200 {"status": "ok"}.
 *  - An unknown path gets 404, a known path with another method 405 with an Allow header; a route
 *    with PH_API_TOKEN and no or a wrong token 401 with "WWW-Authenticate: Bearer", and 403 when the
 *    agent has no token file. All of that is answered from the request's headers, before a byte of
 *    its body is read.
 *  - Request bodies: at most body_max (1 MiB). A larger Content-Length gets 413 at once, before the
 *    body is read; a chunked body that grows past it gets 413 once it has ended (what arrives beyond
 *    the limit is counted, not kept; past 8 MiB more the connection is closed). A body for a route
 *    that takes none gets 400 before it is read; a PH_API_BODY_JSON route with a body that is not
 *    JSON gets 400. Every refusal is {"error": "..."} and no handler runs.
 *  - Slow clients: a connection idle for timeout_sec (10 s) is closed; a body must have arrived
 *    within 60 s of the request's start. A slow client holds one connection, never the loop: other
 *    requests are answered meanwhile. At most connection_limit (64) connections at once; more wait
 *    in the listen queue.
 *  - Every JSON answer goes through secret_redact_deep() (common/secret.h) on its way out: a last
 *    line of defence. Handlers still must not put secrets in answers; keys named like secrets
 *    (token, password, ...) come out <redacted>, so status fields must not be named so.
 *  - A unix socket is created with mode unix_mode (0600, or 0660 for a group of operators); a stale
 *    socket file left at the path is replaced, anything else there (a live server's socket, a file
 *    that is no socket) is refused. The socket file is removed when the server is freed.
 *
 * Threading: libmicrohttpd runs in its external-polling mode with epoll. Its epoll fd is one I/O
 * source of the loop, and a timer follows MHD_get_timeout(), so every handler runs on the loop
 * thread, between the loop's other callbacks, like them. A handler reads the agent's state (which
 * the loop thread owns, or a store with its own lock) and answers at once; it must not block. Work
 * that takes long (an apply) goes to a worker (worker.h) and the handler answers 202: the loop, and
 * with it the API, stays free while the work runs. Every api_* function is called on the loop
 * thread. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "api/route.h"
#include "common/cleanup.h"
#include "common/error.h"
#include "event.h"

typedef struct PhApiServer PhApiServer;

#define API_BODY_MAX         (1024u * 1024u)
#define API_CONNECTION_LIMIT 64u
#define API_TIMEOUT_SEC      10u
#define API_UNIX_MODE        0600u

typedef struct PhApiConfig {
        const char *address;       /* --api ADDR (address.h) */
        const char *token_file;    /* --api-token-file, or NULL: every PH_API_TOKEN route answers 403 */
        bool allow_remote;         /* listen on an address other than a loopback one (no TLS!) */
        unsigned unix_mode;        /* of a unix socket: 0600 or 0660; 0 means API_UNIX_MODE */
        unsigned connection_limit; /* 0 means API_CONNECTION_LIMIT */
        unsigned timeout_sec;      /* an idle connection is closed; 0 means API_TIMEOUT_SEC */
        size_t body_max;           /* 0 means API_BODY_MAX */
        /* Optional: the secret values no answer may carry (those of the deployments the agent knows),
         * asked for each JSON answer and redacted with secret_redact_deep(); a new strv. */
        char **(*secret_values)(void *userdata);
        void *secret_userdata;
} PhApiConfig;

/* Reads the token file, listens on the address and registers with e. 0, or a negative errno with
 * one line in *err naming the option's value (the address in use, the token file's mode, ...);
 * nothing is left listening then. */
int api_server_new(PhEvent *e, const PhApiConfig *cfg, PhApiServer **ret, PhError **err);
/* Closes every connection and the socket (a unix socket's file is removed). NULL-safe. */
PhApiServer *api_server_free(PhApiServer *s);
PH_DEFINE_CLEANUP(PhApiServer *, api_server_free)

/* Adds a route (copied; userdata is the caller's). -EINVAL for a bad pattern or method, -EEXIST for
 * a method and pattern that are there already. */
int api_server_add_route(PhApiServer *s, const PhApiRoute *route, PhError **err);
/* Where it listens, with the port it got for port 0: "127.0.0.1:41234", "unix:/run/podhook/api". */
const char *api_server_address(const PhApiServer *s);
/* Reads token_file again (SIGHUP), or drops the token when NULL. On an error the old token stays. */
int api_server_reload_token(PhApiServer *s, const char *token_file, PhError **err);

/* A request header (case-insensitive name) or query argument (unescaped like the path), or NULL. */
const char *api_request_header(const PhApiRequest *req, const char *name);
const char *api_request_query(const PhApiRequest *req, const char *key);

/* Each sets the answer and returns 0, so a handler can end with "return api_reply_...(...)". */
/* json: a reference is taken (json_incref it to keep one). */
int api_reply_json(PhApiReply *reply, unsigned status, json_t *json);
/* {"error": "..."}. */
int api_reply_error(PhApiReply *reply, unsigned status, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* text is taken; content_type static (NULL: text/plain). */
int api_reply_text(PhApiReply *reply, unsigned status, const char *content_type, char *text);
void api_reply_header(PhApiReply *reply, const char *name, const char *value);
