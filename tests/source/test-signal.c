/* Signal transports against an in-process Heat/CFN/Swift stand-in: exact requests, status handling,
 * timeouts, trimming, and no secret in any error text. */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "signal/signal.h"
#include "tap.h"
#include "testsrv.h"

#define PASSWORD "deploy-PASSWORD-xyz"
#define SIG      "c2lnbmF0dXJl%2B%2F%3D"
#define CFN_PATH "/v1/signal/arn%3Aopenstack%3Aheat%3A%3Aproj%3Astacks/st/0c3e/resources/deployment"
#define CFN_QUERY                                                                                            \
        "SignatureMethod=HmacSHA256&SignatureVersion=2&AWSAccessKeyId=AK&Timestamp=2026-11-22T00%3A19%"      \
        "3A44Z&Signature=" SIG
#define SWIFT_PATH  "/v1/AUTH_x/st-0c3e/obj"
#define SWIFT_QUERY "temp_url_sig=SWIFTSECRET0123&temp_url_expires=2000000000"
#define HEAT_PATH   "/v1/proj-1/stacks/st/0c3e/resources/my%20deployment/signal"

typedef struct Lab {
        unsigned statuses[8]; /* answers of the signal endpoint, in turn; then 200 */
        size_t n_statuses, next;
        TestReplyMode mode;
        unsigned delay_ms;
        unsigned token_seq;
        unsigned revoke_after; /* the signal endpoint rejects tokens older than this seq */
} Lab;

static void handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        Lab *lab = userdata;

        if (strcmp(req->path, "/v3/auth/tokens") == 0) {
                lab->token_seq++;
                testreply_header(reply, "X-Subject-Token: tok-%u", lab->token_seq);
                testreply_set(reply, 201,
                              "{\"token\": {\"expires_at\": \"2999-01-01T00:00:00.000000Z\", \"catalog\": ["
                              "{\"type\": \"orchestration\", \"endpoints\": ["
                              "{\"interface\": \"public\", \"region_id\": \"RegionOne\", \"url\": "
                              "\"%s/v1/%%(tenant_id)s\"}]}]}}",
                              testsrv_url(srv));
                return;
        }
        if (strcmp(req->path, HEAT_PATH) == 0) {
                const char *tok = testreq_header(req, "X-Auth-Token");
                if (!tok || strncmp(tok, "tok-", 4) != 0 || (unsigned) atoi(tok + 4) <= lab->revoke_after) {
                        testreply_set(reply, 401, "{}");
                        return;
                }
        }
        reply->mode = lab->mode;
        reply->delay_ms = lab->delay_ms;
        unsigned st = lab->next < lab->n_statuses ? lab->statuses[lab->next++] : 200;
        testreply_set(reply, st, "%s",
                      lab->mode == TEST_REPLY_NORMAL ? "null" : "{\"some\": \"long answer body\"}");
}

static json_t *cfn_inputs(TestServer *srv, const char *verb, const char *path, const char *query) {
        char url[512];
        snprintf(url, sizeof(url), "%s%s?%s", testsrv_url(srv), path, query);
        return json_pack("{s:s,s:s,s:s}", "deploy_signal_id", url, "deploy_signal_verb", verb,
                         "deploy_signal_transport", "CFN_SIGNAL");
}

static json_t *heat_inputs(TestServer *srv) {
        char auth[256];
        snprintf(auth, sizeof(auth), "%s/v3/", testsrv_url(srv));
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "deploy_auth_url", auth, "deploy_user_id", "du-1",
                         "deploy_password", PASSWORD, "deploy_project_id", "proj-1", "deploy_stack_id",
                         "st/0c3e", "deploy_resource_name", "my deployment", "deploy_region_name",
                         "RegionOne");
}

static json_t *result(void) {
        return json_pack("{s:i,s:s,s:s,s:s}", "deploy_status_code", 0, "deploy_stdout", "ok\n",
                         "deploy_stderr", "", "container_id", "c1");
}

static void no_secret(const PhError *err) {
        const char *m = ph_error_msg(err);
        TAP_CHECK(!strstr(m, PASSWORD) && !strstr(m, "SWIFTSECRET") && !strstr(m, SIG) &&
                  !strstr(m, "tok-") && !strstr(m, "Signature"));
}

static double now_sec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void test_kind(void) {
        json_auto_t *a =
                json_pack("{s:s,s:s}", "deploy_signal_id", "http://x/", "deploy_auth_url", "http://k/");
        json_auto_t *b = json_pack("{s:s,s:s}", "deploy_signal_id", "http://x/", "deploy_signal_verb", "PUT");
        json_auto_t *c = json_pack("{s:s,s:s}", "deploy_queue_id", "q", "deploy_auth_url", "http://k/");
        json_auto_t *d = json_pack("{s:s}", "deploy_auth_url", "http://k/");
        json_auto_t *e = json_pack("{s:n,s:s}", "deploy_signal_id", "foo", "bar");
        TAP_CHECK(signal_kind(a) == PH_SIGNAL_CFN);
        TAP_CHECK(signal_kind(b) == PH_SIGNAL_TEMP_URL);
        TAP_CHECK(signal_kind(c) == PH_SIGNAL_ZAQAR);
        TAP_CHECK(signal_kind(d) == PH_SIGNAL_HEAT);
        TAP_CHECK(signal_kind(e) == PH_SIGNAL_NONE);
        TAP_CHECK_STR(signal_kind_to_string(PH_SIGNAL_TEMP_URL), "TEMP_URL_SIGNAL");

        _cleanup_error_ PhError *err = NULL;
        json_auto_t *data = result();
        TAP_CHECK(signal_send(e, data, NULL, &err) == PH_SIGNAL_DELIVERED);
        TAP_CHECK(signal_send(c, data, NULL, &err) == PH_SIGNAL_PERMANENT);
        TAP_CHECK_STR(ph_error_msg(err),
                      "ZAQAR_SIGNAL: missing input deploy_user_id, deploy_password, deploy_project_id");
}

static void test_cfn_and_temp_url(void) {
        Lab lab = {};
        TestServer *srv = testsrv_start(handler, &lab);
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *data = result();
        _cleanup_free_ char *want_body = json_dumps(data, JSON_COMPACT);

        /* CFN: POST, URL byte-for-byte, JSON body. */
        json_auto_t *in = cfn_inputs(srv, "POST", CFN_PATH, CFN_QUERY);
        TAP_CHECK(signal_send(in, data, NULL, &err) == PH_SIGNAL_DELIVERED);
        TAP_CHECK(testsrv_count(srv) == 1);
        const TestRequest *r = testsrv_request(srv, 0);
        TAP_CHECK_STR(r->method, "POST");
        TAP_CHECK_STR(r->path, CFN_PATH);
        TAP_CHECK_STR(r->query, CFN_QUERY);
        TAP_CHECK_STR(testreq_header(r, "Content-Type"), "application/json");
        TAP_CHECK_STR(r->body, want_body);

        /* TEMP_URL: PUT. */
        json_auto_t *put = cfn_inputs(srv, "PUT", SWIFT_PATH, SWIFT_QUERY);
        lab.statuses[0] = 201;
        lab.n_statuses = 1;
        lab.next = 0;
        TAP_CHECK(signal_send(put, data, NULL, &err) == PH_SIGNAL_DELIVERED);
        r = testsrv_request(srv, 1);
        TAP_CHECK(r && strcmp(r->method, "PUT") == 0);
        TAP_CHECK(r && strcmp(r->path, SWIFT_PATH) == 0 && r->query && strcmp(r->query, SWIFT_QUERY) == 0);
        TAP_CHECK(r && strcmp(r->body, want_body) == 0);

        /* 5xx, 408, 429 and other 4xx: later; 404, 410: gone; 413: smaller; 500 then success. */
        const unsigned codes[] = {500, 503, 408, 429, 404, 410, 413, 400, 401, 403};
        const PhSignalOutcome want[] = {
                PH_SIGNAL_RETRY, PH_SIGNAL_RETRY,         PH_SIGNAL_RETRY, PH_SIGNAL_RETRY, PH_SIGNAL_GONE,
                PH_SIGNAL_GONE,  PH_SIGNAL_RETRY_SMALLER, PH_SIGNAL_RETRY, PH_SIGNAL_RETRY, PH_SIGNAL_RETRY};
        for (size_t i = 0; i < ELEMENTSOF(codes); i++) {
                lab.statuses[0] = codes[i];
                lab.n_statuses = 1;
                lab.next = 0;
                PhSignalOutcome ret = signal_send(i % 2 ? put : in, data, NULL, &err);
                TAP_CHECK(ret == want[i]);
                if (ret != want[i])
                        printf("# HTTP %u gave outcome %d\n", codes[i], (int) ret);
                no_secret(err);
        }
        TAP_CHECK_HAS(ph_error_msg(err), "HTTP 403");
        lab.statuses[0] = 500;
        lab.n_statuses = 1;
        lab.next = 0;
        TAP_CHECK(signal_send(in, data, NULL, &err) == PH_SIGNAL_RETRY);
        TAP_CHECK(signal_send(in, data, NULL, &err) == PH_SIGNAL_DELIVERED);

        /* The signature covers the path as Heat sees it: libcurl must not squash dot segments or touch
         * an encoded slash (older Heat quoted '/' in the ARN). */
        static const char dot_path[] =
                "/v1/signal/arn%3Aopenstack%3Aheat%3A%3Aproj%3Astacks%2Fst/./0c3e/resources/../x";
        json_auto_t *dots = cfn_inputs(srv, "POST", dot_path, CFN_QUERY);
        TAP_CHECK(signal_send(dots, data, NULL, &err) == PH_SIGNAL_DELIVERED);
        const TestRequest *rd = testsrv_request(srv, testsrv_count(srv) - 1);
        TAP_CHECK_STR(rd ? rd->path : NULL, dot_path);
        TAP_CHECK_STR(rd ? rd->query : NULL, CFN_QUERY);

        /* A non-object is refused before anything is sent. */
        size_t before = testsrv_count(srv);
        json_auto_t *str = json_string("{\"deploy_status_code\": 0}");
        TAP_CHECK(signal_send(in, str, NULL, &err) == PH_SIGNAL_PERMANENT);
        TAP_CHECK(testsrv_count(srv) == before);
        testsrv_stop(srv);
}

static void test_heat(void) {
        Lab lab = {};
        TestServer *srv = testsrv_start(handler, &lab);
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *data = result();
        json_auto_t *in = heat_inputs(srv);
        _cleanup_free_ char *want_body = json_dumps(data, JSON_COMPACT);

        TAP_CHECK(signal_send(in, data, NULL, &err) == PH_SIGNAL_DELIVERED);
        TAP_CHECK(testsrv_count(srv) == 2);
        const TestRequest *t = testsrv_request(srv, 0);
        json_auto_t *tb = t ? json_loads(t->body, 0, NULL) : NULL;
        json_auto_t *want_tb = json_pack("{s:{s:{s:[s],s:{s:{s:s,s:s}}},s:{s:{s:s}}}}", "auth", "identity",
                                         "methods", "password", "password", "user", "id", "du-1", "password",
                                         PASSWORD, "scope", "project", "id", "proj-1");
        TAP_CHECK(tb && json_equal(tb, want_tb));
        const TestRequest *r = testsrv_request(srv, 1);
        TAP_CHECK(r && strcmp(r->method, "POST") == 0);
        TAP_CHECK_STR(r ? r->path : NULL, HEAT_PATH);
        TAP_CHECK_STR(r ? testreq_header(r, "X-Auth-Token") : NULL, "tok-1");
        TAP_CHECK_STR(r ? testreq_header(r, "Content-Type") : NULL, "application/json");
        TAP_CHECK_STR(r ? r->body : NULL, want_body);

        /* 401 on the signal: one new token, then the signal goes through. */
        testsrv_reset(srv);
        lab.revoke_after = lab.token_seq + 1; /* the next token is rejected, the one after is fine */
        TAP_CHECK(signal_send(in, data, NULL, &err) == PH_SIGNAL_DELIVERED);
        TAP_CHECK(testsrv_count(srv) == 4);
        /* 401 again with the second token: no third try now; later, like another 4xx. */
        testsrv_reset(srv);
        lab.revoke_after = lab.token_seq + 2;
        TAP_CHECK(signal_send(in, data, NULL, &err) == PH_SIGNAL_RETRY);
        no_secret(err);
        TAP_CHECK(testsrv_count(srv) == 4);
        lab.revoke_after = 0;

        /* 5xx from Heat: later; 404: gone. */
        lab.statuses[0] = 502;
        lab.statuses[1] = 404;
        lab.n_statuses = 2;
        lab.next = 0;
        TAP_CHECK(signal_send(in, data, NULL, &err) == PH_SIGNAL_RETRY);
        no_secret(err);
        TAP_CHECK(signal_send(in, data, NULL, &err) == PH_SIGNAL_GONE);
        no_secret(err);

        /* Missing inputs are all named. */
        json_auto_t *partial = json_pack("{s:s}", "deploy_auth_url", "http://127.0.0.1:1/v3");
        TAP_CHECK(signal_send(partial, data, NULL, &err) == PH_SIGNAL_PERMANENT);
        TAP_CHECK_HAS(ph_error_msg(err),
                      "deploy_user_id, deploy_password, deploy_project_id, deploy_stack_id, "
                      "deploy_resource_name");
        testsrv_stop(srv);

        /* Keystone gone: later. */
        TAP_CHECK(signal_send(in, data, &(PhSignalOptions){.timeout_ms = 2000}, &err) == PH_SIGNAL_RETRY);
        no_secret(err);
}

static void test_timeouts(void) {
        Lab lab = {};
        TestServer *srv = testsrv_start(handler, &lab);
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *data = result();
        json_auto_t *in = cfn_inputs(srv, "POST", CFN_PATH, CFN_QUERY);
        /* No answer to a request that went out in full: it may have arrived. An answer whose status line
         * came (200) and whose body was then cut or stalled: delivered. */
        const TestReplyMode modes[] = {TEST_REPLY_HANG, TEST_REPLY_SLOW, TEST_REPLY_CUT};
        const PhSignalOutcome want[] = {PH_SIGNAL_RETRY_MAYBE_ARRIVED, PH_SIGNAL_DELIVERED,
                                        PH_SIGNAL_DELIVERED};

        for (size_t i = 0; i < ELEMENTSOF(modes); i++) {
                lab.mode = modes[i];
                double t0 = now_sec();
                PhSignalOutcome r = signal_send(in, data, &(PhSignalOptions){.timeout_ms = 700}, &err);
                double dt = now_sec() - t0;
                TAP_CHECK(r == want[i]);
                TAP_CHECK(dt < 5.0);
                no_secret(err);
        }
        /* The hung requests did arrive: the server saw them. */
        TAP_CHECK(testsrv_count(srv) == 3);

        /* A 5xx cut short is still a 5xx; a 200 that comes after the timeout may have arrived. */
        lab.mode = TEST_REPLY_CUT;
        lab.statuses[0] = 503;
        lab.n_statuses = 1;
        lab.next = 0;
        TAP_CHECK(signal_send(in, data, &(PhSignalOptions){.timeout_ms = 700}, &err) == PH_SIGNAL_RETRY);
        lab.mode = TEST_REPLY_NORMAL;
        lab.delay_ms = 1500;
        TAP_CHECK(signal_send(in, data, &(PhSignalOptions){.timeout_ms = 500}, &err) ==
                  PH_SIGNAL_RETRY_MAYBE_ARRIVED);
        TAP_CHECK_HAS(ph_error_msg(err), "it may have arrived");
        no_secret(err);
        lab.delay_ms = 0;
        testsrv_stop(srv);

        /* Nobody listening: not sent, an ordinary retry. */
        json_auto_t *closed =
                json_pack("{s:s}", "deploy_signal_id", "http://127.0.0.1:1/v1/signal?Signature=S");
        TAP_CHECK(signal_send(closed, data, &(PhSignalOptions){.timeout_ms = 700}, &err) == PH_SIGNAL_RETRY);
}

static void test_trim(void) {
        const size_t big = 700000;
        char *out = xmalloc(big + 1), *errs = xmalloc(big / 2 + 1);
        memset(out, 'a', big);
        memcpy(out + big - 10, "END-MARKER", 10);
        out[big] = '\0';
        memset(errs, 'b', big / 2);
        errs[big / 2] = '\0';
        json_auto_t *data = json_pack("{s:s,s:s,s:i,s:s}", "deploy_stdout", out, "deploy_stderr", errs,
                                      "deploy_status_code", 1, "result", "kept");
        json_auto_t *t = signal_trim(data, SIGNAL_MAX_BODY);
        size_t len = json_dumpb(t, NULL, 0, JSON_COMPACT);
        TAP_CHECK(len <= SIGNAL_MAX_BODY && len > SIGNAL_MAX_BODY - 100);
        const char *so = json_string_value(json_object_get(t, "deploy_stdout"));
        const char *se = json_string_value(json_object_get(t, "deploy_stderr"));
        TAP_CHECK(so && strlen(so) >= 10 && strcmp(so + strlen(so) - 10, "END-MARKER") == 0);
        /* Cut in proportion: stdout lost about twice what stderr lost. */
        size_t lost_out = big - (so ? strlen(so) : 0), lost_err = big / 2 - (se ? strlen(se) : 0);
        TAP_CHECK(lost_out > lost_err * 19 / 10 && lost_out < lost_err * 21 / 10);
        TAP_CHECK(json_integer_value(json_object_get(t, "deploy_status_code")) == 1);
        TAP_CHECK_STR(json_string_value(json_object_get(t, "result")), "kept");
        /* The original is untouched. */
        TAP_CHECK(json_string_length(json_object_get(data, "deploy_stdout")) == big);

        /* Only stdout, with multi-byte characters and escapes: still fits, still valid. */
        for (size_t i = 0; i + 3 <= big; i += 3)
                memcpy(out + i, i % 2 ? "\xc3\xa9\n" : "\"\\\t", 3);
        out[big - (big % 3)] = '\0';
        json_auto_t *d2 = json_pack("{s:s}", "deploy_stdout", out);
        json_auto_t *t2 = signal_trim(d2, 100000);
        TAP_CHECK(t2 && json_dumpb(t2, NULL, 0, JSON_COMPACT) <= 100000);
        TAP_CHECK(json_object_get(t2, "deploy_stderr") == NULL);
        TAP_CHECK(json_dumpb(t2, NULL, 0, JSON_COMPACT) > 100000 - 10);

        /* Text that doubles (quotes, as in docker inspect output) or grows six-fold (control characters)
         * when escaped: cut by what it takes in the body, so the body is still nearly full and the end
         * of stdout is kept, not all of it dropped. */
        const char *units[] = {"\"", "\x01", "x\n"};
        for (size_t u = 0; u < ELEMENTSOF(units); u++) {
                size_t ul = strlen(units[u]);
                for (size_t i = 0; i + ul <= big; i += ul)
                        memcpy(out + i, units[u], ul);
                memcpy(out + big - 10, "END-MARKER", 10);
                out[big] = '\0';
                json_auto_t *d = json_pack("{s:s,s:s,s:i}", "deploy_stdout", out, "deploy_stderr", "warn\n",
                                           "deploy_status_code", 0);
                json_auto_t *t4 = signal_trim(d, 300000);
                size_t l4 = json_dumpb(t4, NULL, 0, JSON_COMPACT);
                TAP_CHECK(l4 <= 300000 && l4 > 300000 - 10);
                const char *s4 = json_string_value(json_object_get(t4, "deploy_stdout"));
                TAP_CHECK(s4 && strlen(s4) >= 10 && strcmp(s4 + strlen(s4) - 10, "END-MARKER") == 0);
        }

        /* Small data is returned as it is. */
        json_auto_t *small = result();
        json_auto_t *t3 = signal_trim(small, SIGNAL_MAX_BODY);
        TAP_CHECK(json_equal(t3, small));
        free(out);
        free(errs);
}

static void test_trimmed_delivery(void) {
        Lab lab = {};
        TestServer *srv = testsrv_start(handler, &lab);
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *in = cfn_inputs(srv, "POST", CFN_PATH, CFN_QUERY);
        char *out = xmalloc(1200001);
        memset(out, 'x', 1200000);
        memcpy(out + 1200000 - 4, "LAST", 4);
        out[1200000] = '\0';
        json_auto_t *data =
                json_pack("{s:s,s:i}", "deploy_stdout", out, "deploy_status_code", 0); /* no stderr */
        free(out);
        TAP_CHECK(signal_send(in, data, NULL, &err) == PH_SIGNAL_DELIVERED);
        const TestRequest *r = testsrv_request(srv, 0);
        TAP_CHECK(r && r->body_len <= SIGNAL_MAX_BODY);
        json_auto_t *got = r ? json_loads(r->body, 0, NULL) : NULL;
        const char *so = json_string_value(json_object_get(got, "deploy_stdout"));
        TAP_CHECK(so && strcmp(so + strlen(so) - 4, "LAST") == 0);

        /* A smaller limit (the retry after a 413). */
        TAP_CHECK(signal_send(in, data, &(PhSignalOptions){.max_body = SIGNAL_SMALL_BODY}, &err) ==
                  PH_SIGNAL_DELIVERED);
        r = testsrv_request(srv, 1);
        TAP_CHECK(r && r->body_len <= SIGNAL_SMALL_BODY && r->body_len > SIGNAL_SMALL_BODY - 100);

        /* Too big even without stdout/stderr: a failure that says so is sent instead. */
        char *huge = xmalloc(SIGNAL_MAX_BODY + 2);
        memset(huge, 'y', SIGNAL_MAX_BODY + 1);
        huge[SIGNAL_MAX_BODY + 1] = '\0';
        json_auto_t *d2 = json_pack("{s:s, s:s, s:i}", "output", huge, "deploy_stderr", "warn",
                                    "deploy_status_code", 0);
        free(huge);
        TAP_CHECK(signal_send(in, d2, NULL, &err) == PH_SIGNAL_DELIVERED);
        TAP_CHECK(testsrv_count(srv) == 3);
        r = testsrv_request(srv, 2);
        json_auto_t *f = r ? json_loads(r->body, 0, NULL) : NULL;
        TAP_CHECK(r && r->body_len <= SIGNAL_MAX_BODY);
        TAP_CHECK(json_integer_value(json_object_get(f, "deploy_status_code")) == 1);
        TAP_CHECK(json_object_get(f, "output") == NULL);
        TAP_CHECK_HAS(json_string_value(json_object_get(f, "deploy_stderr")), "warn\npodhook: the result is");
        testsrv_stop(srv);
}

/* Redirects: same origin followed with method and body kept, a few hops at most; another host or a
 * 303 is not followed. */
static void redirect_handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        unsigned port = (unsigned) atoi(strrchr(testsrv_url(srv), ':') + 1);

        if (strcmp(req->path, "/r307") == 0) {
                testreply_header(reply, "Location: %s/ok?moved=1", testsrv_url(srv));
                testreply_set(reply, 307, "%s", "");
        } else if (strcmp(req->path, "/r302") == 0 || strcmp(req->path, "/r301") == 0 ||
                   strcmp(req->path, "/r303") == 0 || strcmp(req->path, "/r308") == 0) {
                testreply_header(reply, "Location: /ok2");
                testreply_set(reply, (unsigned) atoi(req->path + 2), "%s", "");
        } else if (strcmp(req->path, "/away") == 0) {
                testreply_header(reply, "Location: http://localhost:%u/ok?Signature=AwaySecret", port);
                testreply_set(reply, 302, "%s", "");
        } else if (strcmp(req->path, "/loop") == 0) {
                testreply_header(reply, "Location: /loop");
                testreply_set(reply, 307, "%s", "");
        } else
                testreply_set(reply, 200, "%s", "null");
}

static void test_redirects(void) {
        TestServer *srv = testsrv_start(redirect_handler, NULL);
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *data = result();
        _cleanup_free_ char *want_body = json_dumps(data, JSON_COMPACT);
        const char *const followed[] = {"/r307", "/r302", "/r301", "/r308"};

        for (size_t i = 0; i < ELEMENTSOF(followed); i++) {
                testsrv_reset(srv);
                json_auto_t *in = cfn_inputs(srv, i % 2 ? "PUT" : "POST", followed[i], "Signature=S");
                TAP_CHECK(signal_send(in, data, NULL, &err) == PH_SIGNAL_DELIVERED);
                const TestRequest *r = testsrv_request(srv, 1);
                TAP_CHECK(testsrv_count(srv) == 2 && r);
                TAP_CHECK_STR(r ? r->method : NULL, i % 2 ? "PUT" : "POST");
                TAP_CHECK_STR(r ? r->path : NULL, i == 0 ? "/ok" : "/ok2");
                TAP_CHECK_STR(r ? r->body : NULL, want_body);
        }
        testsrv_reset(srv);
        json_auto_t *see = cfn_inputs(srv, "POST", "/r303", "Signature=S");
        TAP_CHECK(signal_send(see, data, NULL, &err) == PH_SIGNAL_RETRY_MAYBE_ARRIVED);
        TAP_CHECK(testsrv_count(srv) == 1);

        testsrv_reset(srv);
        json_auto_t *away = cfn_inputs(srv, "POST", "/away", "Signature=S");
        TAP_CHECK(signal_send(away, data, NULL, &err) == PH_SIGNAL_RETRY);
        TAP_CHECK(testsrv_count(srv) == 1);
        TAP_CHECK_HAS(ph_error_msg(err), "HTTP 302 redirect to http://localhost:");
        TAP_CHECK(!strstr(ph_error_msg(err), "AwaySecret"));
        no_secret(err);

        testsrv_reset(srv);
        json_auto_t *loop = cfn_inputs(srv, "POST", "/loop", "Signature=S");
        TAP_CHECK(signal_send(loop, data, NULL, &err) == PH_SIGNAL_RETRY);
        TAP_CHECK(testsrv_count(srv) == 1 + SIGNAL_MAX_REDIRECTS);
        testsrv_stop(srv);
}

int main(void) {
        test_kind();
        test_cfn_and_temp_url();
        test_heat();
        test_timeouts();
        test_redirects();
        test_trim();
        test_trimmed_delivery();
        return tap_done();
}
