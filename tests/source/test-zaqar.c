/* The zaqar source (ZAQAR_MESSAGE) and the ZAQAR_SIGNAL transport against an in-process Keystone +
 * Zaqar v2 that behaves as the lab's Zaqar 15 on Swift was seen to (../shared/heat/NOTES-swift.md,
 * and answers recorded with curl): messages named uuid1() and listed in the text order of their
 * names, not in time order; claims with a TTL that run out; 204 for nothing to claim; a delete with
 * an expired claim 400, without the claim of a claimed message 403; Client-ID required; echo=false
 * hides a client's own messages. Its clock is the test's, so claims run out without waiting. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"
#include "openstack/zaqar.h"
#include "signal/signal.h"
#include "source/source.h"
#include "tap.h"
#include "testsrv.h"

#define PASSWORD        "zq-PASSWORD-secret"
#define DEPLOY_PASSWORD "zq-DEPLOY-secret"
#define QUEUE           "zq-demo-server-it3ghdkcad2k"
#define SIGNAL_QUEUE    "zq-demo-deployment-gchxmfkwmkxm"
#define HEAT_CLIENT     "11111111-2222-4333-8444-555555555555"
/* Ticks (100 ns since 1582) of the fake clock's start (100 s): the low 32 bits are close to wrapping, so the
 * names of messages posted a second apart sort the other way round (as observed on the lab). */
#define UUID_T0 0x1f1edb1fff00000LL

typedef struct Msg {
        char id[40];
        char queue[72];
        char poster[40]; /* Client-ID of the post */
        char *body;      /* JSON text */
        int ttl;
        double created, expires;
        char claim[40];
        double claim_until;
        bool gone;
} Msg;

typedef struct Zaqar {
        pthread_mutex_t lock;
        double now; /* the fake clock, seconds */
        Msg msgs[80];
        size_t n;
        unsigned seq;
        bool uuid1;            /* message names: uuid1 (the swift store) or 24 hex digits (mongo) */
        bool post_hang_stored; /* a post is stored, then never answered */
        bool post_hang_lost;   /* a post is never answered and not stored */
        bool list_500;
        char fail_delete[40]; /* DELETE of this message answers 503 */
        unsigned posts, lists, claims, deletes;
} Zaqar;

static void zq_id(Zaqar *z, double at, char out[40]) {
        z->seq++;
        if (!z->uuid1) {
                snprintf(out, 40, "%08llx%016x", (unsigned long long) (at * 1000), z->seq);
                return;
        }
        unsigned long long t = (unsigned long long) (UUID_T0 + (long long) ((at - 100) * 1e7));
        snprintf(out, 40, "%08llx-%04llx-%04llx-%04x-02fc00000001", t & 0xffffffffULL, (t >> 32) & 0xffff,
                 ((t >> 48) & 0x0fff) | 0x1000, 0x8000 | (z->seq & 0x3fff));
}

/* A message posted now by Heat (another Client-ID) with a TTL of one hour; the clock moves on a second. */
static void zq_heat_post(Zaqar *z, const char *queue, const char *body) {
        pthread_mutex_lock(&z->lock);
        Msg *m = &z->msgs[z->n++];
        *m = (Msg){.ttl = 3600, .created = z->now, .expires = z->now + 3600};
        zq_id(z, z->now, m->id);
        snprintf(m->queue, sizeof(m->queue), "%s", queue);
        snprintf(m->poster, sizeof(m->poster), "%s", HEAT_CLIENT);
        m->body = strdup(body);
        z->now += 1;
        pthread_mutex_unlock(&z->lock);
}

static bool live(const Zaqar *z, const Msg *m, const char *queue) {
        return !m->gone && m->expires > z->now && strcmp(m->queue, queue) == 0;
}

static bool claimed(const Zaqar *z, const Msg *m) {
        return m->claim[0] && m->claim_until > z->now;
}

static size_t zq_count(Zaqar *z, const char *queue) {
        size_t n = 0;
        pthread_mutex_lock(&z->lock);
        for (size_t i = 0; i < z->n; i++)
                n += live(z, &z->msgs[i], queue);
        pthread_mutex_unlock(&z->lock);
        return n;
}

/* The live messages of queue in the order of their names (the swift store's listing). */
static size_t sorted(Zaqar *z, const char *queue, Msg **out) {
        size_t n = 0;
        for (size_t i = 0; i < z->n; i++)
                if (live(z, &z->msgs[i], queue))
                        out[n++] = &z->msgs[i];
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && strcmp(out[j - 1]->id, out[j]->id) > 0; j--) {
                        Msg *t = out[j];
                        out[j] = out[j - 1];
                        out[j - 1] = t;
                }
        return n;
}

static json_t *msg_json(const Zaqar *z, const Msg *m, bool with_claim) {
        char href[256];
        json_t *body = json_loads(m->body, JSON_DECODE_ANY, NULL);
        double age = z->now - m->created;

        snprintf(href, sizeof(href), "/v2/queues/%s/messages/%s%s%s", m->queue, m->id,
                 with_claim && claimed(z, m) ? "?claim_id=" : "",
                 with_claim && claimed(z, m) ? m->claim : "");
        return json_pack("{s:s, s:s, s:i, s:o, s:o}", "id", m->id, "href", href, "ttl", m->ttl, "age",
                         z->uuid1 ? json_real(age + 0.25) : json_integer((json_int_t) age), "body",
                         body ? body : json_null());
}

static const char *param(const TestRequest *req, const char *name, char *buf, size_t size) {
        size_t n = strlen(name);
        for (const char *p = req->query; p && *p;) {
                const char *amp = strchr(p, '&'), *end = amp ? amp : p + strlen(p);
                if ((size_t) (end - p) > n && strncmp(p, name, n) == 0 && p[n] == '=') {
                        snprintf(buf, size, "%.*s", (int) (end - p - (long) n - 1), p + n + 1);
                        return buf;
                }
                p = amp ? amp + 1 : end;
        }
        return NULL;
}

static void handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        Zaqar *z = userdata;
        char queue[72] = "", rest[128] = "", buf[128];
        const char *cid = testreq_header(req, "Client-ID");

        if (strcmp(req->path, "/v3/auth/tokens") == 0 && strcmp(req->method, "POST") == 0) {
                json_auto_t *b = json_loads(req->body, 0, NULL);
                const char *pw = json_string_value(json_object_get(
                        json_object_get(
                                json_object_get(json_object_get(json_object_get(b, "auth"), "identity"),
                                                "password"),
                                "user"),
                        "password"));
                if (!pw || (strcmp(pw, PASSWORD) != 0 && strcmp(pw, DEPLOY_PASSWORD) != 0)) {
                        testreply_set(reply, 401, "{\"error\": {\"code\": 401}}");
                        return;
                }
                testreply_header(reply, "X-Subject-Token: tok-%u", ++z->seq);
                testreply_set(
                        reply, 201,
                        "{\"token\": {\"expires_at\": \"2999-01-01T00:00:00.000000Z\", \"catalog\": ["
                        "{\"type\": \"zaqar\", \"endpoints\": [{\"interface\": \"public\", \"region_id\": "
                        "\"RegionOne\", \"url\": \"%s/alias\"}]},"
                        "{\"type\": \"messaging\", \"endpoints\": [{\"interface\": \"public\", "
                        "\"region_id\": "
                        "\"RegionOne\", \"url\": \"%s\"}]}]}}",
                        testsrv_url(srv), testsrv_url(srv));
                return;
        }
        if (sscanf(req->path, "/v2/queues/%71[^/]/%127s", queue, rest) != 2) {
                testreply_set(reply, 404, "{\"title\": \"Not found\"}");
                return;
        }
        const char *tok = testreq_header(req, "X-Auth-Token");
        if (!tok || strncmp(tok, "tok-", 4) != 0) {
                testreply_set(reply, 401, "{}");
                return;
        }
        if (!cid) {
                testreply_set(
                        reply, 400,
                        "{\"title\": \"Missing header value\", \"description\": \"The \\\"Client-ID\\\" "
                        "header is required.\"}");
                return;
        }
        if (!zaqar_uuid_valid(cid)) {
                testreply_set(reply, 400, "{\"title\": \"Wrong UUID value\"}");
                return;
        }

        pthread_mutex_lock(&z->lock);
        Msg *list[80];
        if (strcmp(rest, "claims") == 0 && strcmp(req->method, "POST") == 0) {
                z->claims++;
                json_auto_t *b = json_loads(req->body, 0, NULL);
                json_int_t ttl = json_integer_value(json_object_get(b, "ttl"));
                json_int_t grace = json_integer_value(json_object_get(b, "grace"));
                int limit = param(req, "limit", buf, sizeof(buf)) ? atoi(buf) : 10;
                if (ttl < 60 || ttl > 43200 || grace < 60 || grace > 43200 || limit < 1 || limit > 20) {
                        testreply_set(reply, 400, "{\"title\": \"Invalid API request\"}");
                        goto out;
                }
                char claim[40];
                zq_id(z, z->now, claim);
                claim[14] = '4';
                json_auto_t *got = json_array();
                size_t n = sorted(z, queue, list);
                for (size_t i = 0; i < n && (int) json_array_size(got) < limit; i++) {
                        Msg *m = list[i];
                        if (claimed(z, m))
                                continue;
                        snprintf(m->claim, sizeof(m->claim), "%s", claim);
                        m->claim_until = z->now + (double) ttl;
                        if (m->expires < z->now + (double) (ttl + grace))
                                m->expires = z->now + (double) (ttl + grace);
                        json_array_append_new(got, msg_json(z, m, true));
                }
                if (json_array_size(got) == 0) {
                        reply->status = 204;
                        goto out;
                }
                json_auto_t *doc = json_pack("{s:O}", "messages", got);
                char *text = json_dumps(doc, JSON_COMPACT);
                testreply_header(reply, "Location: /v2/queues/%s/claims/%s", queue, claim);
                testreply_set(reply, 201, "%s", text);
                free(text);
                goto out;
        }
        if (strcmp(rest, "messages") == 0 && strcmp(req->method, "GET") == 0) {
                z->lists++;
                if (z->list_500) {
                        testreply_set(reply, 500, "{}");
                        goto out;
                }
                bool echo = param(req, "echo", buf, sizeof(buf)) && strcmp(buf, "true") == 0;
                bool incl = param(req, "include_claimed", buf, sizeof(buf)) && strcmp(buf, "true") == 0;
                int limit = param(req, "limit", buf, sizeof(buf)) ? atoi(buf) : 10;
                char marker[128] = "";
                if (param(req, "marker", buf, sizeof(buf)))
                        memcpy(marker, buf, sizeof(marker));
                json_auto_t *page = json_array();
                const char *lastid = NULL;
                size_t n = sorted(z, queue, list);
                for (size_t i = 0; i < n && (int) json_array_size(page) < limit; i++) {
                        Msg *m = list[i];
                        if ((marker[0] && strcmp(m->id, marker) <= 0) || (!incl && claimed(z, m)) ||
                            (!echo && strcmp(m->poster, cid) == 0))
                                continue;
                        json_array_append_new(page, msg_json(z, m, true));
                        lastid = m->id;
                }
                json_auto_t *links = json_array();
                if (lastid) {
                        char next[256];
                        snprintf(next, sizeof(next),
                                 "/v2/queues/%s/messages?echo=%s&include_claimed=%s&limit=%d&marker=%s",
                                 queue, echo ? "true" : "false", incl ? "true" : "false", limit, lastid);
                        json_array_append_new(links, json_pack("{s:s, s:s}", "rel", "next", "href", next));
                }
                json_auto_t *doc = json_pack("{s:O, s:O}", "messages", page, "links", links);
                char *text = json_dumps(doc, JSON_COMPACT);
                testreply_set(reply, 200, "%s", text);
                free(text);
                goto out;
        }
        if (strcmp(rest, "messages") == 0 && strcmp(req->method, "POST") == 0) {
                z->posts++;
                json_auto_t *b = json_loads(req->body, 0, NULL);
                json_t *one = json_array_get(json_object_get(b, "messages"), 0);
                json_int_t ttl = json_integer_value(json_object_get(one, "ttl"));
                if (json_array_size(json_object_get(b, "messages")) != 1 || ttl < 60 || ttl > 1209600 ||
                    !json_object_get(one, "body")) {
                        testreply_set(reply, 400, "{\"title\": \"Invalid API request\"}");
                        goto out;
                }
                if (z->post_hang_lost) {
                        reply->mode = TEST_REPLY_HANG;
                        goto out;
                }
                Msg *m = &z->msgs[z->n++];
                *m = (Msg){.ttl = (int) ttl, .created = z->now, .expires = z->now + (double) ttl};
                zq_id(z, z->now, m->id);
                snprintf(m->queue, sizeof(m->queue), "%s", queue);
                snprintf(m->poster, sizeof(m->poster), "%s", cid);
                m->body = json_dumps(json_object_get(one, "body"), JSON_COMPACT);
                if (z->post_hang_stored) {
                        reply->mode = TEST_REPLY_HANG;
                        goto out;
                }
                testreply_set(reply, 201, "{\"resources\": [\"/v2/queues/%s/messages/%s\"]}", queue, m->id);
                goto out;
        }
        if (strncmp(rest, "messages/", 9) == 0 && strcmp(req->method, "DELETE") == 0) {
                z->deletes++;
                const char *id = rest + 9;
                const char *given = param(req, "claim_id", buf, sizeof(buf));
                reply->status = 204;
                if (strcmp(id, z->fail_delete) == 0) {
                        testreply_set(reply, 503, "{}");
                        goto out;
                }
                for (size_t i = 0; i < z->n; i++) {
                        Msg *m = &z->msgs[i];
                        if (!live(z, m, queue) || strcmp(m->id, id) != 0)
                                continue;
                        if (given && (!claimed(z, m) || strcmp(given, m->claim) != 0))
                                testreply_set(reply, 400,
                                              "{\"title\": \"Unable to delete\", \"description\": "
                                              "\"The specified claim does not exist or has expired.\"}");
                        else if (!given && claimed(z, m))
                                reply->status = 403;
                        else
                                m->gone = true;
                }
                goto out;
        }
        testreply_set(reply, 404, "{}");
out:
        pthread_mutex_unlock(&z->lock);
}

static Zaqar *zq_new(bool uuid1) {
        Zaqar *z = calloc(1, sizeof(*z));
        pthread_mutex_init(&z->lock, NULL);
        z->uuid1 = uuid1;
        z->now = 100;
        return z;
}

static void zq_free(Zaqar *z) {
        for (size_t i = 0; i < z->n; i++)
                free(z->msgs[i].body);
        free(z);
}

static void zq_advance(Zaqar *z, double s) {
        pthread_mutex_lock(&z->lock);
        z->now += s;
        pthread_mutex_unlock(&z->lock);
}

static json_t *section(TestServer *srv) {
        char auth[128];
        snprintf(auth, sizeof(auth), "%s/v3/", testsrv_url(srv));
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "auth_url", auth, "user_id", "server-user",
                         "password", PASSWORD, "project_id", "stack-proj", "queue_id", QUEUE, "region_name",
                         "RegionOne", "use_websockets", 0);
}

static char *md_text(const char *action) {
        return xasprintf("{\"deployments\": [{\"id\": \"cfg-%s\", \"inputs\": [{\"name\": \"deploy_action\", "
                         "\"value\": \"%s\"}]}], \"os-collect-config\": {\"collectors\": [\"zaqar\"]}}",
                         action, action);
}

static const char *action_of(const json_t *md) {
        const json_t *in = json_object_get(json_array_get(json_object_get(md, "deployments"), 0), "inputs");
        return json_string_value(json_object_get(json_array_get(in, 0), "value"));
}

static char *state_tmp(void) {
        char t[] = "/tmp/ph-test-zaqar-XXXXXX";
        if (!mkdtemp(t))
                abort();
        return xstrdup(t);
}

static void rm_rf(const char *dir) {
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
        (void) !system(cmd);
}

/* A collect that returns metadata whose deployment's action is want. */
static void expect_action(PhSource *s, const char *want, int line) {
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *md = NULL;
        int r = source_collect(s, &md, &err);
        if (!tap_check(r == 0 && md, "collect gives metadata", __FILE__, line))
                printf("# %d: %s\n", r, ph_error_msg(err));
        tap_check_str(md ? action_of(md) : NULL, want, "its action", __FILE__, line);
}
#define EXPECT_ACTION(s, want) expect_action((s), (want), __LINE__)

typedef struct Fix {
        Zaqar *z;
        TestServer *srv;
        char *dir;
        json_t *sec;
} Fix;

static Fix fix_start(bool uuid1) {
        Fix f = {.z = zq_new(uuid1)};
        f.srv = testsrv_start(handler, f.z);
        f.dir = state_tmp();
        f.sec = section(f.srv);
        return f;
}

static void fix_stop(Fix *f) {
        testsrv_stop(f->srv);
        zq_free(f->z);
        rm_rf(f->dir);
        free(f->dir);
        json_decref(f->sec);
}

static void test_helpers(void) {
        int64_t t;
        /* uuid.UUID("ba529eee-edb1-11f1-ada2-02fc00000001").time - 0x01b21dd213814000 (Python). */
        TAP_CHECK(zaqar_uuid1_ticks("ba529eee-edb1-11f1-ada2-02fc00000001", &t) && t == 17961483016167150LL);
        TAP_CHECK(!zaqar_uuid1_ticks("ba529eee-edb1-41f1-ada2-02fc00000001", &t)); /* version 4 */
        TAP_CHECK(!zaqar_uuid1_ticks("ba529eee-edb1-11f1-7da2-02fc00000001", &t)); /* not the RFC variant */
        TAP_CHECK(!zaqar_uuid1_ticks("5f1f0a0c0000000000000001", &t));
        TAP_CHECK(!zaqar_uuid1_ticks(NULL, &t));
        TAP_CHECK(zaqar_uuid_valid("ba529eee-edb1-11f1-ada2-02fc00000001"));
        TAP_CHECK(!zaqar_uuid_valid("ba529eee-edb1-11f1-ada2-02fc0000000") && !zaqar_uuid_valid("abc"));
        TAP_CHECK(zaqar_queue_name_valid(QUEUE) && zaqar_queue_name_valid("a_b-C9"));
        TAP_CHECK(!zaqar_queue_name_valid("") && !zaqar_queue_name_valid("a/b") &&
                  !zaqar_queue_name_valid("a b"));
        _cleanup_free_ char *long_name = xasprintf("%065d", 0);
        TAP_CHECK(!zaqar_queue_name_valid(long_name));
        _cleanup_free_ char *p = zaqar_queue_path("q_1", "/claims?limit=20");
        TAP_CHECK_STR(p, "/v2/queues/q_1/claims?limit=20");

        /* Newest: by uuid1 time, whatever the names' text order; then by age; bodies that are not objects
         * are skipped. */
        json_auto_t *l =
                json_pack("[{s:s, s:f, s:{}}, {s:s, s:f, s:{}}, {s:s, s:f, s:s}]", "id",
                          "ffff0000-edb1-11f1-ada2-02fc00000001", "age", 5.0, "body", "id",
                          "00000100-edb2-11f1-ada2-02fc00000001", "age", 9.0, "body", "id",
                          "00000200-edb2-11f1-ada2-02fc00000001", "age", 0.0, "body", "not an object");
        int64_t created;
        const json_t *n = zaqar_newest(l, 0, &created);
        TAP_CHECK_STR(json_string_value(json_object_get(n, "id")), "00000100-edb2-11f1-ada2-02fc00000001");
        json_auto_t *ages =
                json_pack("[{s:s, s:i, s:{}}, {s:s, s:f, s:{}}, {s:s, s:i, s:{}}]", "id", "a1", "age", 30,
                          "body", "id", "a2", "age", 2.5, "body", "id", "a3", "age", 7, "body");
        n = zaqar_newest(ages, 1000000000, &created);
        TAP_CHECK_STR(json_string_value(json_object_get(n, "id")), "a2");
        TAP_CHECK(created == 1000000000 - 25000000);
        TAP_CHECK(zaqar_message_newer(5, "a", 4, "z") && !zaqar_message_newer(4, "z", 5, "a"));
        TAP_CHECK(zaqar_message_newer(5, "b", 5, "a") && !zaqar_message_newer(5, "a", 5, "a"));
        json_auto_t *none = json_pack("[{s:s, s:s}]", "id", "x", "body", "text");
        TAP_CHECK(zaqar_newest(none, 0, NULL) == NULL);
        json_auto_t *noage = json_pack("{s:s}", "id", "x");
        TAP_CHECK(zaqar_message_created(noage, 0) == INT64_MIN);

        /* The Client-ID: kept in the state dir, the same when read again; without create nothing is written.
         */
        _cleanup_free_ char *dir = state_tmp();
        _cleanup_free_ char *peeked = zaqar_client_id(dir, false);
        _cleanup_free_ char *idfile = xasprintf("%s/%s", dir, ZAQAR_CLIENT_ID_FILE);
        TAP_CHECK(zaqar_uuid_valid(peeked) && file_exists(idfile) == 0);
        _cleanup_free_ char *a = zaqar_client_id(dir, true);
        _cleanup_free_ char *b = zaqar_client_id(dir, true);
        struct stat st;
        TAP_CHECK(zaqar_uuid_valid(a) && a[14] == '4' && strcmp(a, b) == 0);
        TAP_CHECK(stat(idfile, &st) == 0 && (st.st_mode & 0777) == 0600);
        _cleanup_free_ char *c = zaqar_client_id(NULL, true);
        TAP_CHECK(zaqar_uuid_valid(c) && strcmp(a, c) != 0);
        rm_rf(dir);
}

static void test_source(void) {
        Fix f = fix_start(true);
        Zaqar *z = f.z;
        TestServer *srv = f.srv;
        const char *dir = f.dir;
        const json_t *sec = f.sec;
        _cleanup_error_ PhError *err = NULL;
        PhSourceOptions o = {.timeout_ms = 5000, .state_dir = dir};
        PhSource *s = NULL;
        _cleanup_free_ char *c1 = md_text("CREATE"), *c2 = md_text("UPDATE"), *c0 = md_text("INIT");

        /* Heat's posts: deployments [], then two changes; their names sort against their times. */
        zq_heat_post(z, QUEUE, c0);
        zq_heat_post(z, QUEUE, c1);
        zq_heat_post(z, QUEUE, c2);
        TAP_CHECK(strcmp(z->msgs[2].id, z->msgs[0].id) < 0); /* the newest is not listed last */

        TAP_CHECK(source_new("zaqar", sec, &o, &s, &err) == 0);
        EXPECT_ACTION(s, "UPDATE");

        /* Exactly: a token, one claim (TTL and grace, Client-ID of the state dir), nothing deleted yet. */
        const TestRequest *t = testsrv_request(srv, 0), *cl = testsrv_request(srv, 1);
        _cleanup_free_ char *cid = zaqar_client_id(dir, false);
        TAP_CHECK_STR(t->path, "/v3/auth/tokens");
        TAP_CHECK_STR(cl->method, "POST");
        TAP_CHECK_STR(cl->path, "/v2/queues/" QUEUE "/claims");
        TAP_CHECK_STR(cl->query, "limit=20");
        json_auto_t *cb = json_loads(cl->body, 0, NULL);
        json_auto_t *want_cb = json_pack("{s:i, s:i}", "ttl", 60, "grace", 60);
        TAP_CHECK(cb && json_equal(cb, want_cb));
        TAP_CHECK_STR(testreq_header(cl, "Client-ID"), cid);
        TAP_CHECK_STR(testreq_header(cl, "Content-Type"), "application/json");
        TAP_CHECK(strncmp(testreq_header(cl, "X-Auth-Token"), "tok-", 4) == 0);
        TAP_CHECK(testsrv_count(srv) == 2 && z->deletes == 0);
        TAP_CHECK(zq_count(z, QUEUE) == 3);
        /* The newest is in the state dir already (0600: the metadata holds passwords). */
        _cleanup_free_ char *sp = xasprintf("%s/zaqar-metadata.json", dir);
        struct stat st;
        TAP_CHECK(stat(sp, &st) == 0 && (st.st_mode & 0777) == 0600);

        /* Commit: every claimed message is deleted, with its claim. */
        TAP_CHECK(source_commit(s, &err) == 0);
        TAP_CHECK(z->deletes == 3 && zq_count(z, QUEUE) == 0);
        const TestRequest *d = testsrv_request(srv, testsrv_count(srv) - 1);
        TAP_CHECK_STR(d->method, "DELETE");
        TAP_CHECK_HAS(d->query, "claim_id=");
        TAP_CHECK_STR(testreq_header(d, "Client-ID"), cid);
        TAP_CHECK(source_commit(s, &err) == 0 && z->deletes == 3); /* nothing left to delete */

        /* Empty queue: no change, and nothing to delete. */
        size_t before = testsrv_count(srv);
        json_t *none = NULL;
        TAP_CHECK(source_collect(s, &none, &err) == 1 && !none);
        TAP_CHECK(testsrv_count(srv) == before + 1 && z->claims == 2);
        TAP_CHECK(source_commit(s, &err) == 0 && testsrv_count(srv) == before + 1);

        /* A restart with an empty queue: the stored metadata, once, then no change. */
        source_free(TAKE_PTR(s));
        TAP_CHECK(source_new("zaqar", sec, &o, &s, &err) == 0);
        EXPECT_ACTION(s, "UPDATE");
        TAP_CHECK(source_collect(s, &none, &err) == 1 && !none);

        /* A crash between claim and delete: the new message stays claimed, the restarted source sees
         * "no change" until the claim runs out, then claims it again and takes it. */
        _cleanup_free_ char *c3 = md_text("DELETE");
        zq_heat_post(z, QUEUE, c3);
        EXPECT_ACTION(s, "DELETE");
        /* Nothing stored past this point: drop the state file as if the kill came before that. */
        TAP_CHECK(unlink(sp) == 0);
        source_free(TAKE_PTR(s));
        TAP_CHECK(zq_count(z, QUEUE) == 1);
        TAP_CHECK(source_new("zaqar", sec, &o, &s, &err) == 0);
        TAP_CHECK(source_collect(s, &none, &err) == 1 && !none); /* still claimed, nothing stored */
        zq_advance(z, 59);
        TAP_CHECK(source_collect(s, &none, &err) == 1 && !none);
        zq_advance(z, 2);
        EXPECT_ACTION(s, "DELETE");
        TAP_CHECK(zq_count(z, QUEUE) == 1);
        TAP_CHECK(source_commit(s, &err) == 0 && zq_count(z, QUEUE) == 0);
        _cleanup_free_ char *cid2 = zaqar_client_id(dir, false);
        TAP_CHECK_STR(cid2, cid); /* one client across restarts */
        source_free(TAKE_PTR(s));
        fix_stop(&f);
}

/* A message whose delete failed comes back when its claim runs out: older than the one taken, it
 * does not turn the metadata back, and is deleted then. */
static void test_leftover(void) {
        Fix f = fix_start(true);
        Zaqar *z = f.z;
        const char *dir = f.dir;
        const json_t *sec = f.sec;
        _cleanup_error_ PhError *err = NULL;
        PhSourceOptions o = {.timeout_ms = 5000, .state_dir = dir};
        _cleanup_(source_freep) PhSource *s = NULL;
        _cleanup_free_ char *c1 = md_text("CREATE"), *c2 = md_text("UPDATE");

        zq_heat_post(z, QUEUE, c1);
        zq_heat_post(z, QUEUE, c2);
        snprintf(z->fail_delete, sizeof(z->fail_delete), "%s", z->msgs[0].id);
        TAP_CHECK(source_new("zaqar", sec, &o, &s, &err) == 0);
        EXPECT_ACTION(s, "UPDATE");
        TAP_CHECK(source_commit(s, &err) < 0);
        TAP_CHECK_HAS(ph_error_msg(err), "HTTP 503");
        TAP_CHECK(!strstr(ph_error_msg(err), PASSWORD) && !strstr(ph_error_msg(err), "tok-"));
        ph_error_free(TAKE_PTR(err));
        TAP_CHECK(zq_count(z, QUEUE) == 1);
        z->fail_delete[0] = '\0';
        zq_advance(z, 61);
        json_t *none = NULL;
        TAP_CHECK(source_collect(s, &none, &err) == 1 && !none);
        TAP_CHECK(z->claims == 2);
        TAP_CHECK(source_commit(s, &err) == 0 && zq_count(z, QUEUE) == 0);

        /* More than one claim's worth: all are claimed, the newest wins, all are deleted. */
        for (int i = 0; i < 25; i++) {
                _cleanup_free_ char *t = md_text(i == 24 ? "LAST" : "OLDER");
                zq_heat_post(z, QUEUE, t);
        }
        z->claims = 0;
        EXPECT_ACTION(s, "LAST");
        TAP_CHECK(z->claims == 2);
        TAP_CHECK(source_commit(s, &err) == 0 && zq_count(z, QUEUE) == 0);
        fix_stop(&f);
}

/* Stores whose names carry no time (mongo's ObjectIds): the smallest age is the newest. --print looks
 * without claiming or writing anything. */
static void test_age_and_peek(void) {
        Fix f = fix_start(false);
        Zaqar *z = f.z;
        TestServer *srv = f.srv;
        const char *dir = f.dir;
        const json_t *sec = f.sec;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *c1 = md_text("CREATE"), *c2 = md_text("UPDATE");

        zq_heat_post(z, QUEUE, c2);
        zq_heat_post(z, QUEUE, c1);
        /* Listed by name: UPDATE first, CREATE (posted later) second; make CREATE the older one. */
        z->msgs[1].created = z->msgs[0].created - 10;

        _cleanup_(source_freep) PhSource *p = NULL;
        PhSourceOptions po = {.timeout_ms = 5000, .state_dir = dir, .peek = true};
        TAP_CHECK(source_new("zaqar", sec, &po, &p, &err) == 0);
        EXPECT_ACTION(p, "UPDATE");
        TAP_CHECK(source_commit(p, &err) == 0);
        TAP_CHECK(z->claims == 0 && z->deletes == 0 &&
                  z->lists == 2); /* a page, and the empty one after it */
        const TestRequest *l = testsrv_request(srv, 1);
        TAP_CHECK_STR(l->path, "/v2/queues/" QUEUE "/messages");
        TAP_CHECK_STR(l->query, "echo=true&include_claimed=true&limit=20");
        _cleanup_free_ char *idfile = xasprintf("%s/%s", dir, ZAQAR_CLIENT_ID_FILE);
        _cleanup_free_ char *sp = xasprintf("%s/zaqar-metadata.json", dir);
        TAP_CHECK(file_exists(idfile) == 0 && file_exists(sp) == 0);

        _cleanup_(source_freep) PhSource *s = NULL;
        PhSourceOptions o = {.timeout_ms = 5000, .state_dir = dir};
        TAP_CHECK(source_new("zaqar", sec, &o, &s, &err) == 0);
        EXPECT_ACTION(s, "UPDATE");
        TAP_CHECK(source_commit(s, &err) == 0 && zq_count(z, QUEUE) == 0);

        /* --print of an empty queue: the stored metadata. */
        source_free(TAKE_PTR(p));
        TAP_CHECK(source_new("zaqar", sec, &po, &p, &err) == 0);
        EXPECT_ACTION(p, "UPDATE");
        fix_stop(&f);
}

static void test_source_errors(void) {
        Zaqar *z = zq_new(true);
        TestServer *srv = testsrv_start(handler, z);
        _cleanup_error_ PhError *err = NULL;
        PhSource *s = NULL;

        json_auto_t *bad = section(srv);
        json_object_set_new(bad, "queue_id", json_string("no/slashes"));
        TAP_CHECK(source_new("zaqar", bad, NULL, &s, &err) == -EINVAL && !s);
        TAP_CHECK_HAS(ph_error_msg(err), "queue_id is not a Zaqar queue name");
        ph_error_free(TAKE_PTR(err));

        json_auto_t *wrong = section(srv);
        json_object_set_new(wrong, "password", json_string("wrong-password"));
        TAP_CHECK(source_new("zaqar", wrong, NULL, &s, &err) == 0);
        json_t *none = NULL;
        TAP_CHECK(source_collect(s, &none, &err) == -EACCES && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "source zaqar: keystone token");
        TAP_CHECK(!strstr(ph_error_msg(err), "wrong-password"));
        source_free(TAKE_PTR(s));
        testsrv_stop(srv);
        zq_free(z);
}

static json_t *deploy_inputs(TestServer *srv) {
        char auth[128];
        snprintf(auth, sizeof(auth), "%s/v3/", testsrv_url(srv));
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "deploy_signal_transport",
                         "ZAQAR_SIGNAL", "deploy_auth_url", auth, "deploy_user_id", "deploy-user",
                         "deploy_password", DEPLOY_PASSWORD, "deploy_project_id", "stack-proj",
                         "deploy_region_name", "RegionOne", "deploy_queue_id", SIGNAL_QUEUE,
                         "deploy_username", "zq-demo-deployment");
}

static json_t *result(void) {
        return json_pack("{s:i, s:s, s:s, s:s}", "deploy_status_code", 0, "deploy_stdout", "ok\n",
                         "deploy_stderr", "", "container_id", "c1");
}

/* The one message in queue (new ref), NULL when there is not exactly one. */
static json_t *only_message(Zaqar *z, const char *queue, int *ret_ttl) {
        json_t *out = NULL;
        size_t n = 0;
        pthread_mutex_lock(&z->lock);
        for (size_t i = 0; i < z->n; i++)
                if (live(z, &z->msgs[i], queue)) {
                        n++;
                        json_decref(out);
                        out = json_loads(z->msgs[i].body, 0, NULL);
                        *ret_ttl = z->msgs[i].ttl;
                }
        pthread_mutex_unlock(&z->lock);
        if (n != 1) {
                json_decref(out);
                return NULL;
        }
        return out;
}

static void no_secret(const PhError *err) {
        const char *m = ph_error_msg(err);
        TAP_CHECK(!strstr(m, DEPLOY_PASSWORD) && !strstr(m, "tok-"));
}

static void test_signal(void) {
        Fix f = fix_start(true);
        Zaqar *z = f.z;
        TestServer *srv = f.srv;
        const char *dir = f.dir;
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *in = deploy_inputs(srv), *data = result();
        int ttl = 0;

        /* One post: the deploy user's token, the messaging endpoint, the body Heat reads plus our marker. */
        PhSignalOptions o = {.timeout_ms = 5000, .state_dir = dir, .marker = "cfg-1/0123456789abcdef"};
        TAP_CHECK(signal_send(in, data, &o, &err) == PH_SIGNAL_DELIVERED);
        TAP_CHECK(testsrv_count(srv) == 2);
        const TestRequest *t = testsrv_request(srv, 0), *p = testsrv_request(srv, 1);
        json_auto_t *tb = json_loads(t->body, 0, NULL);
        json_auto_t *want_tb = json_pack("{s:{s:{s:[s],s:{s:{s:s,s:s}}},s:{s:{s:s}}}}", "auth", "identity",
                                         "methods", "password", "password", "user", "id", "deploy-user",
                                         "password", DEPLOY_PASSWORD, "scope", "project", "id", "stack-proj");
        TAP_CHECK(tb && json_equal(tb, want_tb));
        TAP_CHECK_STR(p->method, "POST");
        TAP_CHECK_STR(p->path, "/v2/queues/" SIGNAL_QUEUE "/messages");
        TAP_CHECK_STR(testreq_header(p, "Content-Type"), "application/json");
        _cleanup_free_ char *cid = zaqar_client_id(dir, false);
        TAP_CHECK_STR(testreq_header(p, "Client-ID"), cid);
        json_auto_t *pb = json_loads(p->body, 0, NULL);
        json_auto_t *want_body = json_deep_copy(data);
        json_object_set_new(want_body, "podhook_signal_id", json_string("cfg-1/0123456789abcdef"));
        json_auto_t *want_pb = json_pack("{s:[{s:i, s:O}]}", "messages", "ttl", 600, "body", want_body);
        TAP_CHECK(pb && json_equal(pb, want_pb));
        json_auto_t *got = only_message(z, SIGNAL_QUEUE, &ttl);
        TAP_CHECK(got && json_equal(got, want_body) && ttl == 600);
        /* Heat pops it. */
        z->msgs[z->n - 1].gone = true;

        /* Posted in full, no answer, but it is in the queue: the next attempt finds it and posts nothing. */
        z->post_hang_stored = true;
        o.timeout_ms = 700;
        o.marker = "cfg-2/00000000000000aa";
        TAP_CHECK(signal_send(in, data, &o, &err) == PH_SIGNAL_RETRY_MAYBE_ARRIVED);
        no_secret(err);
        z->post_hang_stored = false;
        TAP_CHECK(z->posts == 2 && zq_count(z, SIGNAL_QUEUE) == 1);
        o.maybe_arrived = 1;
        size_t n0 = testsrv_count(srv);
        TAP_CHECK(signal_send(in, data, &o, &err) == PH_SIGNAL_DELIVERED);
        TAP_CHECK(z->posts == 2 && z->lists >= 1 && zq_count(z, SIGNAL_QUEUE) == 1);
        const TestRequest *l = testsrv_request(srv, n0 + 1); /* after the token */
        TAP_CHECK_STR(l->method, "GET");
        TAP_CHECK_STR(l->path, "/v2/queues/" SIGNAL_QUEUE "/messages");
        TAP_CHECK_STR(l->query, "echo=true&include_claimed=true&limit=20");
        /* Found when another message comes first and on a later page, too. */
        for (int i = 0; i < 25; i++)
                zq_heat_post(z, SIGNAL_QUEUE, "{\"other\": 1}");
        z->lists = 0;
        TAP_CHECK(signal_send(in, data, &o, &err) == PH_SIGNAL_DELIVERED);
        TAP_CHECK(z->posts == 2 && z->lists >= 2);
        for (size_t i = 0; i < z->n; i++)
                z->msgs[i].gone = true;

        /* Not answered and not stored: not found, posted again, with the short TTL. */
        z->post_hang_lost = true;
        o.maybe_arrived = 0;
        o.marker = "cfg-3/00000000000000bb";
        TAP_CHECK(signal_send(in, data, &o, &err) == PH_SIGNAL_RETRY_MAYBE_ARRIVED);
        z->post_hang_lost = false;
        TAP_CHECK(zq_count(z, SIGNAL_QUEUE) == 0);
        o.maybe_arrived = 1;
        TAP_CHECK(signal_send(in, data, &o, &err) == PH_SIGNAL_DELIVERED);
        json_auto_t *again = only_message(z, SIGNAL_QUEUE, &ttl);
        TAP_CHECK(again && ttl == 60);
        TAP_CHECK_STR(json_string_value(json_object_get(again, "podhook_signal_id")),
                      "cfg-3/00000000000000bb");

        /* The look fails: nothing is posted, it is tried again later. */
        z->list_500 = true;
        size_t posts = z->posts;
        TAP_CHECK(signal_send(in, data, &o, &err) == PH_SIGNAL_RETRY);
        TAP_CHECK_HAS(ph_error_msg(err), "looking for the message of the earlier attempt");
        TAP_CHECK(z->posts == posts);
        z->list_500 = false;

        /* A result larger than a Zaqar message may be: cut to fit, still one message. */
        for (size_t i = 0; i < z->n; i++)
                z->msgs[i].gone = true;
        o.maybe_arrived = 0;
        o.timeout_ms = 5000;
        _cleanup_free_ char *big = xmalloc(600001);
        memset(big, 'x', 600000);
        big[600000] = '\0';
        json_auto_t *bigdata = json_pack("{s:i, s:s, s:s}", "deploy_status_code", 0, "deploy_stdout", big,
                                         "deploy_stderr", "");
        TAP_CHECK(signal_send(in, bigdata, &o, &err) == PH_SIGNAL_DELIVERED);
        const TestRequest *bp = testsrv_request(srv, testsrv_count(srv) - 1);
        TAP_CHECK(bp->body_len <= 256 * 1024);
        json_auto_t *bm = only_message(z, SIGNAL_QUEUE, &ttl);
        TAP_CHECK(bm && json_string_length(json_object_get(bm, "deploy_stdout")) > 200000);

        /* Inputs that can never work. */
        json_auto_t *noq = deploy_inputs(srv);
        json_object_set_new(noq, "deploy_queue_id", json_string("bad queue"));
        TAP_CHECK(signal_send(noq, data, &o, &err) == PH_SIGNAL_PERMANENT);
        TAP_CHECK_HAS(ph_error_msg(err), "deploy_queue_id is not a Zaqar queue name");
        json_auto_t *wrong = deploy_inputs(srv);
        json_object_set_new(wrong, "deploy_password", json_string("nope-" DEPLOY_PASSWORD));
        TAP_CHECK(signal_send(wrong, data, &o, &err) == PH_SIGNAL_RETRY);
        TAP_CHECK_HAS(ph_error_msg(err), "HTTP 401");
        no_secret(err);
        fix_stop(&f);
}

int main(void) {
        test_helpers();
        test_source();
        test_leftover();
        test_age_and_peek();
        test_source_errors();
        test_signal();
        return tap_done();
}
