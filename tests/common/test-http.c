/* The libcurl wrapper against an in-process server: parallel requests each get their own answer, a failed
 * one does not lose the others', the response cap holds, headers go and come back; URLs are redacted. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "common/http.h"
#include "tap.h"
#include "testsrv.h"

typedef struct Meeting {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        unsigned arrived;
} Meeting;

static void handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        Meeting *m = userdata;
        (void) srv;

        if (strncmp(req->path, "/meet/", 6) == 0) {
                /* Two requests that both must be in the server at once to be answered "together". */
                struct timespec deadline;
                bool together;
                clock_gettime(CLOCK_REALTIME, &deadline);
                deadline.tv_sec += 5;
                pthread_mutex_lock(&m->lock);
                m->arrived++;
                pthread_cond_broadcast(&m->cond);
                while (m->arrived < 2)
                        if (pthread_cond_timedwait(&m->cond, &m->lock, &deadline) == ETIMEDOUT)
                                break;
                together = m->arrived >= 2;
                pthread_mutex_unlock(&m->lock);
                testreply_set(reply, 200, "%s %s", together ? "together" : "alone", req->path);
        } else if (strcmp(req->path, "/big") == 0)
                testreply_set(reply, 200, "%0100d", 0);
        else if (strcmp(req->path, "/headers") == 0) {
                const char *h = testreq_header(req, "X-Podhook-Test");
                testreply_header(reply, "X-Answer: %s", h ? h : "none");
                testreply_set(reply, 201, "expect=%s", testreq_header(req, "Expect") ? "sent" : "none");
        } else
                testreply_set(reply, 404, "no %s", req->path);
}

static void test_redact(void) {
        static const struct {
                const char *url, *want;
        } cases[] = {
                {"http://user:secret@h:8000/v1/x?Signature=abc", "http://h:8000/v1/x"},
                {"https://h/v1/signal/arn%3Aopenstack?Timestamp=1&Signature=s",
                 "https://h/v1/signal/arn%3Aopenstack"},
                /* an '@' or "://" in the query is not user info nor a scheme: nothing of the query shows */
                {"http://h?Signature=abc@def", "http://h"},
                {"http://h:1#frag@x", "http://h:1"},
                {"h/p?next=http://a@b", "h/p"},
                {"https://h/path@x?sig=1", "https://h/path@x"},
                {"http://u@h", "http://h"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_free_ char *got = http_url_redact(cases[i].url);
                TAP_CHECK_STR(got, cases[i].want);
        }
}

static void test_parallel(const char *base) {
        _cleanup_free_ char *u1 = xasprintf("%s/meet/1", base), *u2 = xasprintf("%s/meet/2", base);
        _cleanup_free_ char *u3 = xasprintf("%s/missing", base);
        PhHttpRequest reqs[] = {
                {.url = u1, .timeout_ms = 20000},
                {.url = u2, .timeout_ms = 20000},
                {.url = u3, .timeout_ms = 20000},
                {.url = "http://localhost/x",
                 .unix_socket = "/nonexistent/podhook-test.sock",
                 .timeout_ms = 20000},
        };
        PhHttpResponse resps[4] = {};
        _cleanup_error_ PhError *err = NULL;

        int r = http_request_parallel(reqs, 4, resps, &err);
        /* the one that got no answer fails the call, the others are still filled, each with its own */
        TAP_CHECK(r < 0);
        TAP_CHECK_HAS(err ? ph_error_msg(err) : NULL, "GET http://localhost/x: ");
        TAP_CHECK(resps[0].status == 200 && resps[1].status == 200 && resps[2].status == 404);
        TAP_CHECK_STR(resps[0].body, "together /meet/1");
        TAP_CHECK_STR(resps[1].body, "together /meet/2");
        TAP_CHECK_STR(resps[2].body, "no /missing");
        TAP_CHECK(resps[3].status == 0 && !resps[3].body);
        for (size_t i = 0; i < 4; i++)
                http_response_done(&resps[i]);
}

static void test_cap_and_headers(const char *base) {
        _cleanup_free_ char *big = xasprintf("%s/big", base), *hdr = xasprintf("%s/headers", base);
        _cleanup_free_ char *want = xasprintf("GET %s: response larger than 99 bytes", big);
        static const char *const headers[] = {"X-Podhook-Test: yes", NULL};
        _cleanup_error_ PhError *err = NULL;
        PhHttpResponse resp = {};

        PhHttpRequest capped = {.url = big, .max_body = 99, .timeout_ms = 20000};
        TAP_CHECK(http_request(&capped, &resp, &err) == -EFBIG);
        TAP_CHECK_STR(err ? ph_error_msg(err) : NULL, want);
        TAP_CHECK(!resp.body);

        /* exactly at the cap is fine */
        capped.max_body = 100;
        TAP_CHECK(http_request(&capped, &resp, NULL) == 0 && resp.body_len == 100);
        http_response_done(&resp);

        PhHttpRequest with_headers = {.url = hdr,
                                      .headers = headers,
                                      .method = "POST",
                                      .body = "x",
                                      .body_len = 1,
                                      .timeout_ms = 20000};
        TAP_CHECK(http_request(&with_headers, &resp, NULL) == 0);
        TAP_CHECK(resp.status == 201);
        TAP_CHECK_STR(resp.body, "expect=none");
        TAP_CHECK_STR(http_response_header(&resp, "x-answer"), "yes");
        TAP_CHECK(!http_response_header(&resp, "X-Answe"));
        http_response_done(&resp);
}

int main(void) {
        Meeting meeting = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
        _cleanup_error_ PhError *err = NULL;

        test_redact();
        if (http_global_init(&err) < 0)
                return 1;
        TestServer *srv = testsrv_start(handler, &meeting);
        if (!TAP_CHECK(srv))
                return tap_done();
        test_parallel(testsrv_url(srv));
        test_cap_and_headers(testsrv_url(srv));
        testsrv_stop(srv);
        return tap_done();
}
