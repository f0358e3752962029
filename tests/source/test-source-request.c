/* The request source (POLL_TEMP_URL): conditional GETs with the remembered ETag/Last-Modified. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "source/source.h"
#include "tap.h"
#include "testsrv.h"

#define TEMPURL_QUERY "temp_url_sig=TEMPSECRET42&temp_url_expires=2000000000"
#define LM1           "Sun, 22 Nov 2026 00:18:50 GMT"
#define LM2           "Sun, 22 Nov 2026 00:19:50 GMT"

typedef struct Lab {
        unsigned version; /* 1 or 2 */
        unsigned status;  /* forced status, 0 = normal */
        const char *body; /* forced body */
        bool hang;
        TestReplyMode mode; /* for the 200 answer */
        bool no_validators;
} Lab;

static void handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        Lab *lab = userdata;
        char etag[16];

        if (lab->hang) {
                reply->mode = TEST_REPLY_HANG;
                return;
        }
        if (lab->status) {
                testreply_set(reply, lab->status, "%s", lab->body ? lab->body : "");
                return;
        }
        snprintf(etag, sizeof(etag), "\"v%u\"", lab->version);
        const char *inm = testreq_header(req, "If-None-Match");
        if (inm && strcmp(inm, etag) == 0) {
                testreply_set(reply, 304, "%s", "");
                return;
        }
        if (!lab->no_validators) {
                testreply_header(reply, "ETag: %s", etag);
                testreply_header(reply, "Last-Modified: %s", lab->version == 1 ? LM1 : LM2);
        }
        reply->mode = lab->mode;
        testreply_set(reply, 200, "%s", lab->body ? lab->body : "");
        if (!lab->body)
                testreply_set(reply, 200, "{\"deployments\": [{\"id\": \"d%u\"}]}", lab->version);
}

static void no_secret(const PhError *err) {
        TAP_CHECK(!strstr(ph_error_msg(err), "TEMPSECRET") && !strstr(ph_error_msg(err), "temp_url"));
}

int main(void) {
        Lab lab = {.version = 1};
        TestServer *srv = testsrv_start(handler, &lab);
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(source_freep) PhSource *s = NULL;
        char url[256];
        int r;

        snprintf(url, sizeof(url), "%s/v1/AUTH_x/c/o?" TEMPURL_QUERY, testsrv_url(srv));
        json_auto_t *sec = json_pack("{s:s}", "metadata_url", url);
        TAP_CHECK(source_new("request", sec, &(PhSourceOptions){.timeout_ms = 3000}, &s, &err) == 0);

        /* First poll: plain GET of the URL as given. */
        json_auto_t *md = NULL;
        r = source_collect(s, &md, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK_STR(json_string_value(
                              json_object_get(json_array_get(json_object_get(md, "deployments"), 0), "id")),
                      "d1");
        const TestRequest *q = testsrv_request(srv, 0);
        TAP_CHECK_STR(q->path, "/v1/AUTH_x/c/o");
        TAP_CHECK_STR(q->query, TEMPURL_QUERY);
        TAP_CHECK(!testreq_header(q, "If-None-Match") && !testreq_header(q, "If-Modified-Since"));

        /* Second poll: conditional, 304 -> 1, metadata untouched. */
        json_t *same = NULL;
        r = source_collect(s, &same, &err);
        TAP_CHECK(r == 1 && !same);
        q = testsrv_request(srv, 1);
        TAP_CHECK_STR(testreq_header(q, "If-None-Match"), "\"v1\"");
        TAP_CHECK_STR(testreq_header(q, "If-Modified-Since"), LM1);

        /* The object changed: new data, new validators remembered. */
        lab.version = 2;
        json_auto_t *md2 = NULL;
        r = source_collect(s, &md2, &err);
        TAP_CHECK(r == 0 && md2);
        TAP_CHECK_STR(json_string_value(
                              json_object_get(json_array_get(json_object_get(md2, "deployments"), 0), "id")),
                      "d2");
        r = source_collect(s, &same, &err);
        TAP_CHECK(r == 1);
        TAP_CHECK_STR(testreq_header(testsrv_request(srv, 3), "If-None-Match"), "\"v2\"");
        TAP_CHECK_STR(testreq_header(testsrv_request(srv, 3), "If-Modified-Since"), LM2);

        /* Failures keep the validators and never show the signed query. */
        lab.status = 500;
        TAP_CHECK(source_collect(s, &same, &err) < 0 && !same);
        TAP_CHECK_HAS(ph_error_msg(err), "HTTP 500");
        no_secret(err);
        lab.status = 200;
        lab.body = "not json";
        TAP_CHECK(source_collect(s, &same, &err) == -EBADMSG && !same);
        no_secret(err);
        lab.body = "[1, 2]";
        TAP_CHECK(source_collect(s, &same, &err) == -EBADMSG && !same);
        lab.status = 0;
        lab.body = NULL;
        TAP_CHECK(source_collect(s, &same, &err) == 1);

        /* A server without validators: every poll is a full GET, and a stray 304 is an error. */
        lab.no_validators = true;
        lab.version = 3;
        json_auto_t *md3 = NULL;
        TAP_CHECK(source_collect(s, &md3, &err) == 0 && md3);
        size_t n = testsrv_count(srv);
        json_auto_t *md4 = NULL;
        TAP_CHECK(source_collect(s, &md4, &err) == 0 && md4);
        q = testsrv_request(srv, n);
        TAP_CHECK(q && !testreq_header(q, "If-None-Match") && !testreq_header(q, "If-Modified-Since"));
        lab.status = 304;
        TAP_CHECK(source_collect(s, &same, &err) < 0 && !same);
        lab.status = 0;

        /* A cut or stalled body: an error, never half the metadata. */
        lab.version = 4;
        lab.mode = TEST_REPLY_CUT;
        TAP_CHECK(source_collect(s, &same, &err) < 0 && !same);
        no_secret(err);
        lab.mode = TEST_REPLY_SLOW;
        _cleanup_(source_freep) PhSource *s1 = NULL;
        TAP_CHECK(source_new("request", sec, &(PhSourceOptions){.timeout_ms = 500}, &s1, &err) == 0);
        TAP_CHECK(source_collect(s1, &same, &err) == -ETIMEDOUT && !same);
        no_secret(err);
        lab.mode = TEST_REPLY_NORMAL;

        /* No answer: an error within the timeout. */
        lab.hang = true;
        _cleanup_(source_freep) PhSource *s2 = NULL;
        TAP_CHECK(source_new("request", sec, &(PhSourceOptions){.timeout_ms = 500}, &s2, &err) == 0);
        TAP_CHECK(source_collect(s2, &same, &err) == -ETIMEDOUT && !same);
        no_secret(err);
        testsrv_stop(srv);

        /* Config errors. */
        PhSource *bad = NULL;
        json_auto_t *empty = json_object();
        TAP_CHECK(source_new("request", empty, NULL, &bad, &err) == -EINVAL);
        TAP_CHECK_STR(ph_error_msg(err), "request: missing metadata_url");
        return tap_done();
}
