/* HTTP over TCP or a unix socket with libcurl. The status code is returned, never judged here:
 * callers decide what 4xx/5xx mean. URLs in error texts are redacted (no query, no user info). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

/* A way to abort a transfer in flight (SIGTERM while a server does not answer). */
typedef struct PhHttpCancel {
        int fd; /* readable when cancelled may say yes (a signalfd); -1: not watched */
        /* Whether to abort now (it may consume what made fd readable, e.g. a SIGHUP that only means
         * "reload"); asked before a transfer starts and whenever fd is readable. NULL: readable = abort. */
        bool (*cancelled)(void *userdata);
        void *userdata;
} PhHttpCancel;

/* Whether c says abort now, asking its predicate (NULL c or predicate: no). */
bool http_cancel_requested(const PhHttpCancel *c);

typedef struct PhHttpRequest {
        const char *method;         /* default "GET" */
        const char *url;            /* sent byte-for-byte, never re-encoded */
        const char *unix_socket;    /* optional: talk HTTP over this socket (Docker) */
        const char *const *headers; /* optional NULL-terminated "Name: value" list */
        const char *body;           /* optional request body */
        size_t body_len;
        long timeout_ms;         /* whole transfer; 0 = no limit */
        long connect_timeout_ms; /* 0 = 10 s */
        long low_speed_secs;     /* abort when < 1 byte/s for this long; 0 = off */
        size_t max_body;         /* cap on the buffered response; 0 = 64 MiB */
        const char *ca_file;     /* optional CA bundle for https */
        const char *cert_file;   /* optional client certificate (PEM) for https */
        const char *key_file;    /* its private key (PEM); NULL: in cert_file */
        bool direct;             /* never through a proxy of $http_proxy (a pod's own address) */
        /* 301, 302, 307 and 308 answers whose Location has the same scheme, host and port are followed
         * this many times, with the method and body kept (0: none; other 3xx are always returned). */
        unsigned max_redirects;
        /* Optional streaming consumer: gets the body chunk by chunk instead of buffering it.
         * Returning < 0 aborts the transfer. */
        int (*on_data)(const char *data, size_t len, void *userdata);
        void *userdata;
        const PhHttpCancel *cancel; /* optional: the request fails with -ECANCELED when it says so */
} PhHttpRequest;

typedef struct PhHttpResponse {
        long status;
        char *body; /* NUL-terminated, may be NULL when streamed or empty */
        size_t body_len;
        char **headers; /* NULL-terminated "Name: value" lines of the last response */
        int error;      /* http_request_parallel: -ETIMEDOUT, -ECONNREFUSED ... when no answer came */
        /* The whole request (headers and body) was handed to the connection: when no complete answer
         * came back, the server may still have acted on it. */
        bool request_sent;
} PhHttpResponse;

/* Performs one request. 0 when an HTTP answer arrived (any status); -ETIMEDOUT, -ECONNREFUSED,
 * -EIO ... when none did. *ret is filled on success; on failure only its status (of an answer cut
 * short, else 0) and request_sent are set. Free it with http_response_done(). */
int http_request(const PhHttpRequest *req, PhHttpResponse *ret, PhError **reterr);
/* Performs n requests concurrently (curl multi). rets[i] is filled for each that got an answer;
 * returns 0 if all did, else the first failure (the others are still filled). The first request's
 * cancel applies to all; when it aborts them, none is filled and the result is -ECANCELED. */
int http_request_parallel(const PhHttpRequest *reqs, size_t n, PhHttpResponse *rets, PhError **reterr);
void http_response_done(PhHttpResponse *r);
/* Value of a response header (case-insensitive name), trimmed; NULL if absent. Borrowed. */
const char *http_response_header(const PhHttpResponse *r, const char *name);
/* scheme://host[:port]/path with the query and any user info cut off: safe for logs. */
char *http_url_redact(const char *url);
/* Percent-encodes s for use in a URL path segment or query value. */
char *http_escape(const char *s);
/* Process-wide libcurl set-up; call once from main() before anything else uses HTTP. */
int http_global_init(PhError **reterr);
