/* Cancelling a transfer in flight: an answer that never comes is aborted as soon as the cancel fd is
 * readable and the callback agrees; a wake-up it does not agree with changes nothing; a cancel that is
 * already due stops the request before it is sent. A request with a cancel says whether it went out in
 * full, as one without does (the outbox's "it may have arrived" depends on it). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/http.h"
#include "tap.h"
#include "testsrv.h"

static void handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        (void) srv, (void) userdata;
        if (strcmp(req->path, "/hang") == 0)
                reply->mode = TEST_REPLY_HANG;
        testreply_set(reply, 200, "answer %s", req->path);
}

typedef struct Canceller {
        int pipe[2];
        int asked;  /* times cancelled() was called */
        bool agree; /* what it answers when the pipe has something */
} Canceller;

/* Like the agent's agent_should_stop: drains the fd, says whether that meant "stop". */
static bool cancelled(void *userdata) {
        Canceller *c = userdata;
        char b;
        bool any = false;

        c->asked++;
        while (read(c->pipe[0], &b, 1) == 1)
                any = true;
        return any && c->agree;
}

static void *poke_later(void *userdata) {
        Canceller *c = userdata;
        struct timespec ts = {.tv_nsec = 300 * 1000 * 1000};

        nanosleep(&ts, NULL);
        (void) !write(c->pipe[1], "x", 1);
        return NULL;
}

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(void) {
        _cleanup_error_ PhError *err = NULL;
        Canceller c = {.agree = true};
        PhHttpResponse resp = {};
        pthread_t t;

        if (http_global_init(&err) < 0 || pipe2(c.pipe, O_NONBLOCK | O_CLOEXEC) < 0)
                return 1;
        TestServer *srv = testsrv_start(handler, NULL);
        if (!TAP_CHECK(srv))
                return tap_done();
        _cleanup_free_ char *hang = xasprintf("%s/hang", testsrv_url(srv));
        _cleanup_free_ char *ok = xasprintf("%s/ok", testsrv_url(srv));
        PhHttpCancel cancel = {.fd = c.pipe[0], .cancelled = cancelled, .userdata = &c};

        /* Never answered, 30 s timeout: the poke 300 ms in aborts it. */
        PhHttpRequest req = {.url = hang, .timeout_ms = 30000, .cancel = &cancel};
        long long t0 = now_ms();
        TAP_CHECK(pthread_create(&t, NULL, poke_later, &c) == 0);
        TAP_CHECK(http_request(&req, &resp, &err) == -ECANCELED);
        long long took = now_ms() - t0;
        pthread_join(t, NULL);
        printf("# cancelled after %lld ms\n", took);
        TAP_CHECK(took >= 250 && took < 2000);
        _cleanup_free_ char *want = xasprintf("GET %s: cancelled", hang);
        TAP_CHECK_STR(ph_error_msg(err), want);
        TAP_CHECK(!resp.body && resp.status == 0);
        TAP_CHECK(resp.request_sent); /* the GET went out before it was cancelled */

        /* The same request timing out: it went out in full; an answer: of course. */
        PhHttpRequest slow = {.method = "POST",
                              .url = hang,
                              .body = "{}",
                              .body_len = 2,
                              .timeout_ms = 300,
                              .cancel = &cancel};
        resp = (PhHttpResponse){};
        TAP_CHECK(http_request(&slow, &resp, &err) == -ETIMEDOUT);
        TAP_CHECK(resp.request_sent);
        PhHttpRequest answered = {.url = ok, .timeout_ms = 30000, .cancel = &cancel};
        TAP_CHECK(http_request(&answered, &resp, &err) == 0 && resp.status == 200 && resp.request_sent);
        http_response_done(&resp);

        /* A wake-up that does not mean stop (a SIGHUP): the answer still comes. */
        c.agree = false;
        c.asked = 0;
        (void) !write(c.pipe[1], "x", 1);
        PhHttpRequest req2 = {.url = ok, .timeout_ms = 30000, .cancel = &cancel};
        TAP_CHECK(http_request(&req2, &resp, &err) == 0 && resp.status == 200);
        TAP_CHECK_STR(resp.body, "answer /ok");
        TAP_CHECK(c.asked >= 1);
        http_response_done(&resp);

        /* Already due (the signal was taken by an earlier request): nothing is sent at all. */
        c.agree = true;
        (void) !write(c.pipe[1], "x", 1);
        testsrv_reset(srv);
        TAP_CHECK(http_request(&req2, &resp, &err) == -ECANCELED);
        TAP_CHECK(testsrv_count(srv) == 0);

        testsrv_stop(srv);
        close(c.pipe[0]);
        close(c.pipe[1]);
        return tap_done();
}
