/* Keystone v3 client and the heat source against an in-process Keystone + Heat API. */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "openstack/keystone.h"
#include "source/source.h"
#include "tap.h"
#include "testsrv.h"

#define PASSWORD "pa$$w0rd-SECRET"

typedef struct Lab {
        char expires_at[64];
        unsigned token_seq; /* the valid token is "tok-<seq>" */
        unsigned auths;
        bool refuse_auth;
        bool metadata_500;
        bool no_metadata_key;
} Lab;

static void lab_handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        Lab *lab = userdata;
        const char *u = testsrv_url(srv);

        if (strcmp(req->path, "/v3/auth/tokens") == 0 && strcmp(req->method, "POST") == 0) {
                lab->auths++;
                if (lab->refuse_auth) {
                        testreply_set(reply, 401,
                                      "{\"error\": {\"code\": 401, \"title\": \"Unauthorized\"}}");
                        return;
                }
                lab->token_seq++;
                testreply_header(reply, "X-Subject-Token: tok-%u", lab->token_seq);
                testreply_header(reply, "Content-Type: application/json");
                testreply_set(reply, 201,
                              "{\"token\": {\"expires_at\": \"%s\", \"project\": {\"id\": \"proj-1\"}, "
                              "\"catalog\": ["
                              "{\"type\": \"compute\", \"endpoints\": [{\"interface\": \"public\", "
                              "\"region_id\": \"RegionTwo\", \"url\": \"%s/compute\"}]},"
                              "{\"type\": \"orchestration\", \"endpoints\": ["
                              "{\"interface\": \"public\", \"region_id\": \"RegionOne\", \"region\": "
                              "\"RegionOne\", \"url\": \"%s/wrong/%%(tenant_id)s\"},"
                              "{\"interface\": \"internal\", \"region_id\": \"RegionTwo\", \"url\": "
                              "\"%s/internal/%%(tenant_id)s\"},"
                              "{\"interface\": \"public\", \"region_id\": \"RegionTwo\", \"region\": "
                              "\"RegionTwo\", \"url\": \"%s/v1/%%(tenant_id)s/\"}]}]}}",
                              lab->expires_at, u, u, u, u);
                return;
        }
        if (strcmp(req->method, "GET") == 0 &&
            strcmp(req->path, "/v1/proj-1/stacks/st/0c3e-uuid/resources/my%20server/metadata") == 0) {
                char want[64];
                snprintf(want, sizeof(want), "tok-%u", lab->token_seq);
                const char *tok = testreq_header(req, "X-Auth-Token");
                if (!tok || strcmp(tok, want) != 0) {
                        testreply_set(reply, 401, "{\"error\": {\"code\": 401}}");
                        return;
                }
                if (lab->metadata_500) {
                        testreply_set(reply, 500, "oops");
                        return;
                }
                if (lab->no_metadata_key) {
                        testreply_set(reply, 200, "{\"deployments\": []}");
                        return;
                }
                testreply_set(reply, 200,
                              "{\"metadata\": {\"deployments\": [{\"id\": \"d1\"}], "
                              "\"os-collect-config\": {\"collectors\": [\"heat\"]}}}");
                return;
        }
        testreply_set(reply, 404, "{}");
}

static void set_expiry(Lab *lab, long from_now) {
        time_t t = time(NULL) + from_now;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(lab->expires_at, sizeof(lab->expires_at), "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
}

static size_t count_auths(TestServer *srv) {
        size_t n = 0;
        for (size_t i = 0; i < testsrv_count(srv); i++)
                if (strcmp(testsrv_request(srv, i)->path, "/v3/auth/tokens") == 0)
                        n++;
        return n;
}

static json_t *heat_section(TestServer *srv, const char *auth_suffix, const char *region) {
        char auth_url[128];
        snprintf(auth_url, sizeof(auth_url), "%s%s", testsrv_url(srv), auth_suffix);
        return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "auth_url", auth_url, "user_id", "user-1",
                         "password", PASSWORD, "project_id", "proj-1", "stack_id", "st/0c3e-uuid",
                         "resource_name", "my server", "region_name", region);
}

static void test_v3_url(void) {
        const char *cases[][2] = {
                {"http://k:5000/v3/", "http://k:5000/v3"},
                {"http://k:5000/v3", "http://k:5000/v3"},
                {"http://k:5000", "http://k:5000/v3"},
                {"http://k:5000/", "http://k:5000/v3"},
                {"http://k:5000/v2.0", "http://k:5000/v3"},
                {"https://k/identity/v2.0/", "https://k/identity/v3"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *u = keystone_v3_url(cases[i][0]);
                TAP_CHECK_STR(u, cases[i][1]);
        }
}

static void test_config_errors(void) {
        _cleanup_error_ PhError *err = NULL;
        PhSource *s = NULL;
        json_auto_t *sec = json_pack("{s:s,s:i,s:n}", "user_id", "u", "password", 5, "auth_url");
        int r = source_new("heat", sec, NULL, &s, &err);
        TAP_CHECK(r == -EINVAL && !s);
        TAP_CHECK_STR(ph_error_msg(err), "heat: missing auth_url, project_id, stack_id, resource_name; "
                                         "not a string: password");
        ph_error_free(TAKE_PTR(err));
        r = source_new("zaqar", sec, NULL, &s, &err);
        TAP_CHECK(r == -EINVAL && !s);
        TAP_CHECK_STR(ph_error_msg(err),
                      "zaqar: missing auth_url, project_id, queue_id; not a string: password");
        ph_error_free(TAKE_PTR(err));
        r = source_new("nope", sec, NULL, &s, &err);
        TAP_CHECK(r == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err), "unknown source 'nope'");
}

static void test_poll(void) {
        Lab lab = {};
        TestServer *srv = testsrv_start(lab_handler, &lab);
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(source_freep) PhSource *s = NULL;
        json_auto_t *sec = heat_section(srv, "/v3/", "RegionTwo");
        int r;

        set_expiry(&lab, 3600);
        r = source_new("heat", sec, &(PhSourceOptions){.timeout_ms = 5000}, &s, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK_STR(source_name(s), "heat");

        json_auto_t *md = NULL;
        r = source_collect(s, &md, &err);
        TAP_CHECK(r == 0);
        json_auto_t *want = json_pack("{s:[{s:s}],s:{s:[s]}}", "deployments", "id", "d1", "os-collect-config",
                                      "collectors", "heat");
        TAP_CHECK(md && json_equal(md, want));
        TAP_CHECK(testsrv_count(srv) == 2);

        /* The token request, exactly. */
        const TestRequest *t = testsrv_request(srv, 0);
        TAP_CHECK_STR(t->method, "POST");
        TAP_CHECK_STR(t->path, "/v3/auth/tokens");
        TAP_CHECK_STR(testreq_header(t, "Content-Type"), "application/json");
        json_auto_t *body = json_loads(t->body, 0, NULL);
        json_auto_t *want_body = json_pack("{s:{s:{s:[s],s:{s:{s:s,s:s}}},s:{s:{s:s}}}}", "auth", "identity",
                                           "methods", "password", "password", "user", "id", "user-1",
                                           "password", PASSWORD, "scope", "project", "id", "proj-1");
        TAP_CHECK(body && json_equal(body, want_body));

        /* The metadata request: region RegionTwo's public endpoint, tenant substituted, name quoted. */
        const TestRequest *g = testsrv_request(srv, 1);
        TAP_CHECK_STR(g->method, "GET");
        TAP_CHECK_STR(g->path, "/v1/proj-1/stacks/st/0c3e-uuid/resources/my%20server/metadata");
        TAP_CHECK_STR(testreq_header(g, "X-Auth-Token"), "tok-1");

        /* Second poll: the token is reused. */
        json_auto_t *md2 = NULL;
        r = source_collect(s, &md2, &err);
        TAP_CHECK(r == 0 && md2 && json_equal(md2, want));
        TAP_CHECK(testsrv_count(srv) == 3);
        TAP_CHECK(count_auths(srv) == 1);

        /* The token is revoked server side: 401, one re-auth, then the answer. */
        lab.token_seq += 10;
        json_auto_t *md3 = NULL;
        r = source_collect(s, &md3, &err);
        TAP_CHECK(r == 0 && md3 && json_equal(md3, want));
        TAP_CHECK(count_auths(srv) == 2);
        TAP_CHECK(testsrv_count(srv) == 6);
        TAP_CHECK_STR(testreq_header(testsrv_request(srv, 5), "X-Auth-Token"), "tok-12");

        /* Failures: 500, no metadata key. */
        lab.metadata_500 = true;
        json_t *none = NULL;
        r = source_collect(s, &none, &err);
        TAP_CHECK(r < 0 && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "HTTP 500");
        TAP_CHECK(!strstr(ph_error_msg(err), PASSWORD) && !strstr(ph_error_msg(err), "tok-"));
        lab.metadata_500 = false;
        lab.no_metadata_key = true;
        r = source_collect(s, &none, &err);
        TAP_CHECK(r == -EBADMSG && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "no \"metadata\" object");
        testsrv_stop(srv);
}

static void test_expiry_and_refusal(void) {
        Lab lab = {};
        TestServer *srv = testsrv_start(lab_handler, &lab);
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(source_freep) PhSource *s = NULL;
        json_auto_t *sec = heat_section(srv, "", "RegionTwo"); /* unversioned auth_url */
        int r;

        /* A token that expires within the margin is not reused. */
        set_expiry(&lab, KEYSTONE_EXPIRY_MARGIN_SEC / 2);
        r = source_new("heat", sec, NULL, &s, &err);
        TAP_CHECK(r == 0);
        for (int i = 0; i < 2; i++) {
                json_auto_t *md = NULL;
                r = source_collect(s, &md, &err);
                TAP_CHECK(r == 0 && md);
        }
        TAP_CHECK(count_auths(srv) == 2);
        TAP_CHECK_STR(testsrv_request(srv, 0)->path, "/v3/auth/tokens");

        /* Keystone refuses the credentials: an error without the password. */
        lab.refuse_auth = true;
        json_t *none = NULL;
        r = source_collect(s, &none, &err);
        TAP_CHECK(r == -EACCES && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "HTTP 401");
        TAP_CHECK(!strstr(ph_error_msg(err), PASSWORD));

        /* User info in auth_url stays out of the error text too. */
        const char *hostport = strstr(testsrv_url(srv), "://") + 3;
        _cleanup_free_ char *ui_url = xasprintf("http://u:UI-SECRET@%s/v3", hostport);
        const PhKeystoneCredentials c = {
                .auth_url = ui_url, .user_id = "user-1", .password = PASSWORD, .project_id = "proj-1"};
        _cleanup_(keystone_freep) PhKeystone *k = NULL;
        TAP_CHECK(keystone_new(&c, 5000, NULL, &k, &err) == 0);
        TAP_CHECK(keystone_authenticate(k, &err) == -EACCES);
        TAP_CHECK_HAS(ph_error_msg(err), "HTTP 401");
        TAP_CHECK(!strstr(ph_error_msg(err), "UI-SECRET"));
        testsrv_stop(srv);
}

static void test_region_missing(void) {
        Lab lab = {};
        TestServer *srv = testsrv_start(lab_handler, &lab);
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(source_freep) PhSource *s = NULL;
        json_auto_t *sec = heat_section(srv, "/v2.0", "RegionNine");

        set_expiry(&lab, 3600);
        TAP_CHECK(source_new("heat", sec, NULL, &s, &err) == 0);
        json_t *none = NULL;
        int r = source_collect(s, &none, &err);
        TAP_CHECK(r == -ENOENT && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "no public orchestration endpoint in region RegionNine");
        TAP_CHECK(count_auths(srv) == 1);
        testsrv_stop(srv);
}

/* A project id that holds the placeholder itself is put in once, not expanded forever. */
static void test_endpoint_placeholder(void) {
        Lab lab = {};
        TestServer *srv = testsrv_start(lab_handler, &lab);
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(keystone_freep) PhKeystone *k = NULL;
        _cleanup_free_ char *auth = xasprintf("%s/v3", testsrv_url(srv));
        const PhKeystoneCredentials c = {.auth_url = auth,
                                         .user_id = "user-1",
                                         .password = PASSWORD,
                                         .project_id = "p%(tenant_id)s%(project_id)s",
                                         .region_name = "RegionTwo"};

        set_expiry(&lab, 3600);
        TAP_CHECK(keystone_new(&c, 5000, NULL, &k, &err) == 0);
        TAP_CHECK(keystone_authenticate(k, &err) == 0);
        _cleanup_free_ char *ep = NULL;
        TAP_CHECK(keystone_endpoint(k, "orchestration", &ep, &err) == 0);
        _cleanup_free_ char *want = xasprintf("%s/v1/p%%(tenant_id)s%%(project_id)s", testsrv_url(srv));
        TAP_CHECK_STR(ep, want);
        testsrv_stop(srv);
}

static void test_unreachable_and_timeout(void) {
        Lab lab = {};
        TestServer *srv = testsrv_start(lab_handler, &lab);
        json_auto_t *sec = heat_section(srv, "/v3", "RegionTwo");
        testsrv_stop(srv); /* nothing listens on that port any more */

        _cleanup_error_ PhError *err = NULL;
        _cleanup_(source_freep) PhSource *s = NULL;
        TAP_CHECK(source_new("heat", sec, &(PhSourceOptions){.timeout_ms = 2000}, &s, &err) == 0);
        json_t *none = NULL;
        int r = source_collect(s, &none, &err);
        TAP_CHECK(r == -EAGAIN && !none);
        TAP_CHECK(!strstr(ph_error_msg(err), PASSWORD));
}

int main(void) {
        test_v3_url();
        test_config_errors();
        test_poll();
        test_expiry_and_refusal();
        test_region_missing();
        test_endpoint_placeholder();
        test_unreachable_and_timeout();
        return tap_done();
}
