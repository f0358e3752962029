/* An in-process HTTP server (libmicrohttpd, 127.0.0.1, port 0) for the source and signal tests:
 * records every request and answers through a handler; can also hang or cut a reply. */
#pragma once

#include <stddef.h>

typedef struct TestRequest {
        char *method;
        char *path;     /* as sent, not unescaped */
        char *query;    /* as sent ("a=b&c=d"), NULL when there was none */
        char **headers; /* "Name: value", NULL-terminated */
        char *body;     /* NUL-terminated, "" when none */
        size_t body_len;
} TestRequest;

typedef enum TestReplyMode {
        TEST_REPLY_NORMAL,
        TEST_REPLY_HANG, /* never answer (until the server stops) */
        TEST_REPLY_CUT,  /* headers and half of the announced body, then close the connection */
        TEST_REPLY_SLOW, /* headers and half of the body, then nothing until the server stops */
} TestReplyMode;

typedef struct TestReply {
        unsigned status; /* default 200 */
        char *body;      /* owned by the reply; NULL = empty */
        char *headers[8];
        TestReplyMode mode;
        unsigned delay_ms; /* answer only after this long (or when the server stops) */
} TestReply;

typedef struct TestServer TestServer;
typedef void (*TestHandler)(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata);

TestServer *testsrv_start(TestHandler handler, void *userdata);
/* Stops the server (releasing hung replies) and frees it and its records. NULL-safe. */
void testsrv_stop(TestServer *s);
/* "http://127.0.0.1:<port>" */
const char *testsrv_url(const TestServer *s);
/* Requests received so far, and the i-th of them (borrowed, valid until testsrv_stop). */
size_t testsrv_count(TestServer *s);
const TestRequest *testsrv_request(TestServer *s, size_t i);
/* Forgets the recorded requests. */
void testsrv_reset(TestServer *s);

/* Value of a header of a recorded request (case-insensitive name), NULL if absent. */
const char *testreq_header(const TestRequest *r, const char *name);
/* Sets status and a copy of body (printf format). */
void testreply_set(TestReply *r, unsigned status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void testreply_header(TestReply *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
