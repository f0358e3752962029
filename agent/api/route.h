/* The status API's routes, decided apart from the HTTP server: path patterns, which route a request
 * names, the Allow list of a 405, and how a request path is unescaped. Pure: no I/O.
 *
 * A pattern is an absolute path of segments, each literal or one {name} placeholder that stands for
 * exactly one whole, non-empty segment: "/v1/pods", "/v1/pods/{name}". At most one placeholder. A
 * literal route wins over a placeholder route for the same path; otherwise the first added wins. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef struct json_t json_t;
typedef struct PhApiRequest PhApiRequest;
typedef struct PhApiReply PhApiReply;

/* What a handler is given. The strings live until the handler returns. */
struct PhApiRequest {
        const char *method; /* as sent; HEAD is routed as GET (MHD sends no body for it) */
        /* Unescaped by api_path_unescape: any byte but NUL may be in it, also invalid UTF-8; the
         * param any byte but NUL and '/'. A handler checks a param before it uses it (a pod name's
         * rules), and quotes either with api_printable() in messages and logs. */
        const char *path;
        const char *param; /* the {name} segment of the route's pattern, or NULL */
        const char *body;  /* NUL-terminated (it may hold NULs too); "" without a body */
        size_t body_len;
        json_t *json; /* PH_API_BODY_JSON routes: the parsed body (borrowed) */
        void *conn;   /* the server's; for api_request_header() and api_request_query() */
};

/* What a handler answers. Set it with the api_reply_* helpers of httpd.h. */
struct PhApiReply {
        unsigned status;          /* 0 means 200 */
        json_t *json;             /* an answer as JSON (owned) */
        char *text;               /* or as text (owned), e.g. /metrics */
        const char *content_type; /* of text (static); "text/plain; charset=utf-8" when NULL */
        char **headers;           /* extra "Name: value" lines (owned strv) */
};

/* On the loop thread; must not block (long work goes to a worker, and the answer is 202). 0 with
 * reply set, or a negative errno: the client then gets a 500 with a JSON error and the error is
 * logged (without the request body). */
typedef int (*PhApiHandlerFn)(const PhApiRequest *req, PhApiReply *reply, void *userdata);

typedef enum PhApiRouteFlags {
        /* The bearer token of --api-token-file is needed (every route that changes something): 401
         * when missing or wrong, 403 when the agent has no token file. */
        PH_API_TOKEN = 1u << 0,
        /* The route takes a request body (up to the server's limit); without this or
         * PH_API_BODY_JSON a request with a body is refused with 400 before it is read. */
        PH_API_BODY = 1u << 1,
        /* The body must be one JSON value (duplicate keys refused): 400 before the handler otherwise. */
        PH_API_BODY_JSON = 1u << 2,
} PhApiRouteFlags;

typedef struct PhApiRoute {
        const char *method;  /* "GET", "POST", "DELETE", ... */
        const char *pattern; /* "/v1/pods/{name}" */
        unsigned flags;      /* PhApiRouteFlags */
        PhApiHandlerFn handler;
        void *userdata;
} PhApiRoute;

/* 0, or -EINVAL with the reason: not starting with '/', an empty segment, a placeholder that is not a
 * whole segment or has a bad name, more than one placeholder, a bad method. */
int api_pattern_check(const char *method, const char *pattern, PhError **err);
/* True if path matches pattern; then *ret_param/_len give the placeholder's segment within path
 * (NULL, 0 without one). A placeholder matches neither "." nor "..". */
bool api_pattern_match(const char *pattern, const char *path, const char **ret_param, size_t *ret_param_len);

typedef enum PhApiMatch {
        PH_API_MATCH_FOUND,
        PH_API_MATCH_NO_PATH,   /* 404 */
        PH_API_MATCH_NO_METHOD, /* 405: the path is known, with other methods (api_route_allow) */
} PhApiMatch;

/* The route for method and path among routes[0..n): *ret_index and *ret_param (a new string, or
 * NULL without a placeholder) when found. */
PhApiMatch api_route_find(const PhApiRoute *routes, size_t n, const char *method, const char *path,
                          size_t *ret_index, char **ret_param);
/* The methods routes have for path, for a 405's Allow header: "GET, HEAD, POST" (HEAD wherever GET
 * is), in the routes' order; a new string, "" when there are none. */
char *api_route_allow(const PhApiRoute *routes, size_t n, const char *path);

/* Decodes %XX escapes of a request path in place and returns its new length: never longer, never a
 * NUL or '/' that was not there as such (%00 and %2F stay as they are, so a name cannot smuggle a
 * segment boundary or cut the path short); '+' is a plus. Bad escapes stay as they are. */
size_t api_path_unescape(char *s);

/* s with every byte outside printable ASCII written as \xHH, cut at max bytes of s ("..." then
 * follows): safe in a log line and in JSON. New string. */
char *api_printable(const char *s, size_t max);
