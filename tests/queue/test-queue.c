/* The pure half of the ZeroMQ queue and its files: messages as deployments (every problem at once,
 * nothing of the text echoed), the queue directory (durable, private, in order of arrival, duplicates,
 * across a reopen, cut-short writes), the `queue` source, the CURVE key files, the last-value cache's
 * selection, result messages and topics, ROUTER envelopes, endpoints. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "common/fileio.h"
#include "queue/curve.h"
#include "queue/zmq-ctx.h"
#include "queue/zmq-listen.h"
#include "queue/zmq-pub.h"
#include "source/queue-store.h"
#include "source/source.h"
#include "tap.h"

static char dir[] = "/tmp/ph-queue-test.XXXXXX";

#define DEP(id, extra)                                                                                       \
        "{\"id\": \"" id "\", \"name\": \"web\", \"group\": \"docker\", \"config\": {}, " extra              \
        "\"inputs\": [{\"name\": \"deploy_action\", \"value\": \"CREATE\"}]}"

static void test_parse(void) {
        struct {
                const char *text;
                const char *want; /* NULL: valid */
        } t[] = {
                {DEP("a1", ""), NULL},
                {DEP("x.y_z-9", "\"options\": {}, \"outputs\": [], "), NULL},
                {"{\"id\": \"a\", \"group\": \"Heat::Ungrouped\", \"inputs\": [{\"name\": \"deploy_action\", "
                 "\"value\": \"DELETE\"}]}",
                 NULL},
                {"{\"id\": \"a\", \"group\": \"docker\", \"password\": \"Hunter2Hunter2\"",
                 "not valid JSON (line 1"},
                {"[1, 2]", "a deployment must be a JSON object"},
                {"{\"group\": \"docker\", \"inputs\": [{\"name\": \"deploy_action\", \"value\": "
                 "\"CREATE\"}]}",
                 "id: missing"},
                {DEP("../etc/passwd", ""), "id: may hold only letters"},
                {DEP(".hidden", ""), "id: may hold only letters"},
                {"{\"id\": 5, \"group\": \"docker\", \"inputs\": []}",
                 "id: must be a string; inputs: no deploy_action input"},
                {"{\"id\": \"a\", \"group\": \"do/cker\", \"inputs\": [{\"name\": \"deploy_action\", "
                 "\"value\": "
                 "\"CREATE\"}]}",
                 "group: must be a hook name"},
                {"{\"id\": \"a\", \"inputs\": [{\"name\": \"deploy_action\", \"value\": \"CREATE\"}]}",
                 "group: missing"},
                {"{\"id\": \"a\", \"group\": \"docker\"}", "inputs: missing"},
                {"{\"id\": \"a\", \"group\": \"docker\", \"inputs\": {}}", "inputs: must be a list"},
                {"{\"id\": \"a\", \"group\": \"docker\", \"inputs\": [{\"name\": \"deploy_action\", "
                 "\"value\": "
                 "\"EXPLODE\"}]}",
                 "deploy_action: must be CREATE, UPDATE, DELETE, SUSPEND or RESUME"},
                {"{\"id\": \"a\", \"group\": \"docker\", \"inputs\": [7, {\"name\": \"deploy_action\", "
                 "\"value\": "
                 "\"CREATE\"}]}",
                 "inputs[0]: must be an object with a string \"name\""},
                {"{\"id\": \"a\", \"group\": \"docker\", \"name\": 1, \"options\": [], \"inputs\": "
                 "[{\"name\": "
                 "\"deploy_action\", \"value\": \"CREATE\"}]}",
                 "name: must be a string; options: must be an object"},
                {"{\"id\": \"a\", \"id\": \"b\", \"group\": \"docker\"}", "not valid JSON"},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_error_ PhError *err = NULL;
                json_t *d = NULL;
                int r = queue_deployment_parse(t[i].text, strlen(t[i].text), &d, &err);
                if (!t[i].want) {
                        TAP_CHECK(r == 0 && json_is_object(d));
                } else {
                        TAP_CHECK(r < 0 && !d);
                        TAP_CHECK_HAS(ph_error_msg(err), t[i].want);
                        TAP_CHECK(!strstr(ph_error_msg(err), "Hunter2"));
                }
                json_decref(d);
        }
        /* All the problems of one message at once. */
        _cleanup_error_ PhError *err = NULL;
        json_t *d = NULL;
        const char *all = "{\"id\": \"a/b\", \"group\": \"\", \"inputs\": []}";
        TAP_CHECK(queue_deployment_parse(all, strlen(all), &d, &err) == -EINVAL);
        TAP_CHECK_STR(ph_error_msg(err),
                      "id: may hold only letters, digits, '.', '_' and '-', not start with "
                      "'.', at most 200; group: must be a hook name: letters, digits, '.', "
                      "'_', '-', ':', at most 64; inputs: no deploy_action input");
        char *big = xmalloc(QUEUE_MESSAGE_MAX + 2);
        memset(big, ' ', QUEUE_MESSAGE_MAX + 1);
        ph_error_free(TAKE_PTR(err));
        TAP_CHECK(queue_deployment_parse(big, QUEUE_MESSAGE_MAX + 1, &d, &err) == -EMSGSIZE);
        free(big);
}

static json_t *dep(const char *id) {
        _cleanup_free_ char *t = xasprintf(DEP("%s", ""), id);
        json_t *d = NULL;
        if (queue_deployment_parse(t, strlen(t), &d, NULL) < 0)
                abort();
        return d;
}

static const char *ids_of(json_t *list, char *buf, size_t n) {
        size_t i;
        json_t *d;
        buf[0] = '\0';
        json_array_foreach(list, i, d) {
                strncat(buf, json_string_value(json_object_get(d, "id")), n - strlen(buf) - 2);
                strcat(buf, " ");
        }
        return buf;
}

static void test_store(void) {
        _cleanup_free_ char *state = xasprintf("%s/state", dir);
        _cleanup_free_ char *qdir = xasprintf("%s/state/queue", dir);
        _cleanup_error_ PhError *err = NULL;
        PhQueueStore *q = NULL;
        PhQueuePut put;
        struct stat st;
        char buf[256];

        TAP_CHECK(queue_store_open(state, &q, &err) == 0);
        TAP_CHECK(stat(qdir, &st) == 0 && (st.st_mode & 07777) == 0700);
        const char *order[] = {"zz", "aa", "mm"};
        for (size_t i = 0; i < ELEMENTSOF(order); i++) {
                json_auto_t *d = dep(order[i]);
                TAP_CHECK(queue_store_put(q, d, &put, &err) == 0 && put == PH_QUEUE_STORED);
        }
        TAP_CHECK(queue_store_has(q, "aa"));
        TAP_CHECK(!queue_store_has(q, "bb"));
        TAP_CHECK(!queue_store_has(q, "../state/queue/aa"));
        _cleanup_free_ char *file = xasprintf("%s/aa.json", qdir);
        TAP_CHECK(stat(file, &st) == 0 && (st.st_mode & 07777) == 0600);
        json_auto_t *again = dep("aa");
        json_object_set_new(again, "name", json_string("changed"));
        TAP_CHECK(queue_store_put(q, again, &put, &err) == 0 && put == PH_QUEUE_DUPLICATE);
        json_t *list = NULL;
        TAP_CHECK(queue_store_list(q, &list, &err) == 0);
        TAP_CHECK_STR(ids_of(list, buf, sizeof(buf)), "zz aa mm ");
        TAP_CHECK_STR(json_string_value(json_object_get(json_array_get(list, 1), "name")), "web");
        json_decref(list);
        q = queue_store_free(q);

        /* A write cut short leaves a temporary file: the writer's reopen removes it; seq goes on. */
        _cleanup_free_ char *tmp = xasprintf("%s/cc.json.tmp.AbCdEf", qdir);
        TAP_CHECK(file_write_atomic(tmp, "{", 1, 0600, NULL) == 0);
        TAP_CHECK(queue_store_open(state, &q, &err) == 0);
        TAP_CHECK(file_exists(tmp) == 0);
        json_auto_t *b = dep("bb");
        TAP_CHECK(queue_store_put(q, b, &put, &err) == 0 && put == PH_QUEUE_STORED);
        TAP_CHECK(queue_store_list(q, &list, &err) == 0);
        TAP_CHECK_STR(ids_of(list, buf, sizeof(buf)), "zz aa mm bb ");
        json_decref(list);

        /* The source reads the same directory as metadata. */
        PhSource *s = NULL;
        PhSourceOptions o = {.state_dir = state};
        json_t *m = NULL;
        TAP_CHECK(source_new("queue", NULL, &o, &s, &err) == 0);
        TAP_CHECK(source_collect(s, &m, &err) == 0);
        TAP_CHECK_STR(ids_of(json_object_get(m, "deployments"), buf, sizeof(buf)), "zz aa mm bb ");
        TAP_CHECK(json_object_size(m) == 1);
        json_decref(m);

        /* A file that is not a stored deployment of its name makes the source unavailable, named. */
        _cleanup_free_ char *bad = xasprintf("%s/xx.json", qdir);
        TAP_CHECK(file_write_atomic(bad, "{\"seq\": 9, \"deployment\": {\"id\": \"yy\"}}", 38, 0600, NULL) ==
                  0);
        ph_error_free(TAKE_PTR(err));
        m = NULL;
        TAP_CHECK(source_collect(s, &m, &err) < 0 && !m);
        TAP_CHECK_HAS(ph_error_msg(err), "queue/xx.json: not a stored deployment of id xx");
        source_free(s);
        queue_store_free(q);
}

static char *put_file(const char *name, const char *text, mode_t mode) {
        char *path = xasprintf("%s/%s", dir, name);
        if (file_write_atomic(path, text, strlen(text), mode, NULL) < 0)
                abort();
        return path;
}

static void test_curve(void) {
        char pub[41], sec[41], pub2[41], sec2[41], derived[41];
        TAP_CHECK(zmq_curve_keypair(pub, sec) == 0 && zmq_curve_keypair(pub2, sec2) == 0);

        struct {
                const char *text;
                bool ok;
        } s[] = {
                {sec, true},
                {"short", false},
                {"", false},
                {"0123456789012345678901234567890123456789x", false},
                {"012345678901234567890123456789012345678~", false},
        };
        for (size_t i = 0; i < ELEMENTSOF(s); i++) {
                _cleanup_error_ PhError *err = NULL;
                char got[41] = "";
                int r = curve_secret_parse("k", s[i].text, strlen(s[i].text), got, &err);
                TAP_CHECK(s[i].ok ? r == 0 && strcmp(got, sec) == 0 : r == -EINVAL);
                if (!s[i].ok)
                        TAP_CHECK_HAS(ph_error_msg(err), "CURVE secret key file k: not a CURVE key");
        }
        _cleanup_free_ char *two = xasprintf("  %s\n%s\n", sec, sec2);
        _cleanup_error_ PhError *err = NULL;
        char got[41];
        TAP_CHECK(curve_secret_parse("k", two, strlen(two), got, &err) == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err), "one key on one line");
        TAP_CHECK(!strstr(ph_error_msg(err), sec));

        _cleanup_free_ char *line = xasprintf("\t%s \n", sec);
        _cleanup_free_ char *good = put_file("secret", line, 0600);
        _cleanup_free_ char *open_ = put_file("secret-open", line, 0640);
        ph_error_free(TAKE_PTR(err));
        TAP_CHECK(curve_secret_load(good, got, derived, &err) == 0);
        TAP_CHECK_STR(derived, pub);
        TAP_CHECK(curve_secret_load(open_, got, derived, &err) == -EPERM);
        TAP_CHECK_HAS(ph_error_msg(err),
                      "has mode 0640, must be 0600 or stricter: group or others may read it");

        _cleanup_free_ char *allow_text = xasprintf(
                "# clients\n\n  %s  \n%s\nnot-a-key\n0123456789012345678901234567890123456789x\n", pub, pub2);
        PhCurveAllow *a = NULL;
        ph_error_free(TAKE_PTR(err));
        TAP_CHECK(curve_allow_parse("allow", allow_text, strlen(allow_text), &a, &err) == -EINVAL && !a);
        TAP_CHECK_STR(ph_error_msg(err), "allow:5: not a CURVE public key (40 Z85 characters)\n"
                                         "allow:6: not a CURVE public key (40 Z85 characters)");
        _cleanup_free_ char *ok_text = xasprintf("# clients\n\n  %s  \n", pub);
        TAP_CHECK(curve_allow_parse("allow", ok_text, strlen(ok_text), &a, NULL) == 0);
        uint8_t k1[32], k2[32];
        TAP_CHECK(curve_key_decode(pub, k1) && curve_key_decode(pub2, k2));
        TAP_CHECK(curve_allow_count(a) == 1 && curve_allow_has(a, k1) && !curve_allow_has(a, k2));
        a = curve_allow_free(a);
        TAP_CHECK(curve_allow_parse("allow", "", 0, &a, NULL) == 0 && curve_allow_count(a) == 0);
        a = curve_allow_free(a);
        /* A NUL inside a line is no key, even after 40 good characters. */
        char nul[64];
        memcpy(nul, pub, 40);
        memcpy(nul + 40, "\0x\n", 3);
        TAP_CHECK(curve_allow_parse("allow", nul, 43, &a, NULL) == -EINVAL);
        _cleanup_free_ char *writable = put_file("allow-open", ok_text, 0664);
        _cleanup_free_ char *readable = put_file("allow-ok", ok_text, 0644);
        ph_error_free(TAKE_PTR(err));
        TAP_CHECK(curve_allow_load(writable, &a, &err) == -EPERM);
        TAP_CHECK_HAS(ph_error_msg(err), "has mode 0664: group or others may change who connects");
        TAP_CHECK(curve_allow_load(readable, &a, NULL) == 0 && curve_allow_has(a, k1));
        curve_allow_free(a);
}

static const char *selected(PhLvc *c, const char *prefix, char *buf, size_t n) {
        _cleanup_free_ size_t *idx = NULL;
        size_t k = 0;
        lvc_select(c, prefix, strlen(prefix), &idx, &k);
        buf[0] = '\0';
        for (size_t i = 0; i < k; i++) {
                strncat(buf, lvc_text(c, idx[i]), n - strlen(buf) - 2);
                strcat(buf, " ");
        }
        return buf;
}

static void test_lvc(void) {
        _cleanup_(lvc_freep) PhLvc *c = lvc_new(3);
        char buf[256];

        TAP_CHECK_STR(selected(c, "", buf, sizeof(buf)), "");
        lvc_set(c, "d1", "result.web", "1");
        lvc_set(c, "d2", "result.db", "2");
        lvc_set(c, "d3", "result.web2", "3");
        TAP_CHECK_STR(selected(c, "", buf, sizeof(buf)), "1 2 3 ");
        TAP_CHECK_STR(selected(c, "result.", buf, sizeof(buf)), "1 2 3 ");
        TAP_CHECK_STR(selected(c, "result.web", buf, sizeof(buf)), "1 3 ");
        TAP_CHECK_STR(selected(c, "result.db", buf, sizeof(buf)), "2 ");
        TAP_CHECK_STR(selected(c, "event.", buf, sizeof(buf)), "");
        TAP_CHECK_STR(selected(c, "result.web2.more", buf, sizeof(buf)), "");
        /* The latest of a deployment replaces its earlier one and moves to the end. */
        lvc_set(c, "d1", "result.web", "1b");
        TAP_CHECK(lvc_count(c) == 3);
        TAP_CHECK_STR(selected(c, "", buf, sizeof(buf)), "2 3 1b ");
        /* Past the limit the oldest goes. */
        lvc_set(c, "d4", "result.cache", "4");
        TAP_CHECK_STR(selected(c, "", buf, sizeof(buf)), "3 1b 4 ");
        /* A prefix with a NUL byte in it is compared as bytes. */
        _cleanup_free_ size_t *idx = NULL;
        size_t k = 9;
        lvc_select(c, "result.\0x", 9, &idx, &k);
        TAP_CHECK(k == 0);
}

static void test_messages(void) {
        json_auto_t *ok = json_pack("{s:s, s:s, s:i}", "deploy_stdout", "done", "deploy_stderr", "",
                                    "deploy_status_code", 0);
        json_auto_t *m = ph_zmq_result_message("d1", "web", "CREATE", ok);
        json_auto_t *want =
                json_pack("{s:s, s:s, s:s, s:i, s:s, s:O}", "id", "d1", "pod", "web", "action", "CREATE",
                          "status_code", 0, "summary", "CREATE of web succeeded", "result", ok);
        TAP_CHECK(json_equal(m, want));
        json_auto_t *bad = json_pack("{s:s, s:i}", "deploy_stderr", "image not found\nmore detail",
                                     "deploy_status_code", 6);
        json_auto_t *m2 = ph_zmq_result_message("d2", NULL, NULL, bad);
        TAP_CHECK_STR(json_string_value(json_object_get(m2, "summary")),
                      "the deployment of d2 failed (status 6): image not found");
        TAP_CHECK(json_is_null(json_object_get(m2, "pod")));
        json_auto_t *none = ph_zmq_result_message("d3", "p", "DELETE", NULL);
        TAP_CHECK(json_integer_value(json_object_get(none, "status_code")) == -1);
        /* A long first line is cut at a whole UTF-8 character. */
        char err[400];
        memset(err, 'a', 199);
        strcpy(err + 199, "\xc3\xa9tail");
        json_auto_t *utf = json_pack("{s:s, s:i}", "deploy_stderr", err, "deploy_status_code", 1);
        json_auto_t *m3 = ph_zmq_result_message("d4", "p", "CREATE", utf);
        TAP_CHECK(m3 != NULL);
        _cleanup_free_ char *t1 = ph_zmq_result_topic("web");
        _cleanup_free_ char *t2 = ph_zmq_event_topic("deployment_failed", "web");
        TAP_CHECK_STR(t1, "result.web");
        TAP_CHECK_STR(t2, "event.deployment_failed.web");
}

static void test_envelope(void) {
        struct {
                size_t sizes[4];
                size_t n;
                int r;
                size_t body;
                bool delimiter;
        } t[] = {
                {{5, 10}, 2, 0, 1, false},    /* DEALER without a delimiter */
                {{5, 0, 10}, 3, 0, 2, true},  /* REQ, or DEALER with one */
                {{5, 0, 0}, 3, 0, 2, true},   /* an empty body: invalid JSON, answered as such */
                {{5}, 1, -EBADMSG, 0, false}, /* nothing after the routing id */
                {{5, 3, 10}, 3, -EBADMSG, 0, false}, {{5, 0, 1, 1}, 4, -EBADMSG, 0, false},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                size_t body = 99;
                bool d = false;
                int r = ph_zmq_envelope(t[i].sizes, t[i].n, &body, &d);
                TAP_CHECK(r == t[i].r && (r < 0 || (body == t[i].body && d == t[i].delimiter)));
        }
}

static void test_endpoints(void) {
        struct {
                const char *ep;
                bool work, curve;
                int r;
        } t[] = {
                {"tcp://127.0.0.1:5556", true, false, 0},
                {"tcp://127.0.0.1:*", true, false, 0},
                {"tcp://localhost:1", true, false, 0},
                {"tcp://[::1]:7", true, false, 0},
                {"ipc:///run/podhook/q", true, false, 0},
                {"tcp://0.0.0.0:5556", false, false, 0},
                {"tcp://*:5556", true, false, -EPERM},
                {"tcp://10.0.0.1:5556", true, false, -EPERM},
                {"tcp://127.0.0.1.evil.example:5556", true, false, -EPERM},
                {"tcp://*:5556", true, true, 0},
                {"inproc://x", false, false, -EINVAL},
                {"ipc://", false, false, -EINVAL},
                {"tcp://127.0.0.1", false, false, -EINVAL},
                {"tcp://127.0.0.1:http", false, false, -EINVAL},
                {"udp://127.0.0.1:5", false, false, -EINVAL},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_error_ PhError *err = NULL;
                int r = ph_zmq_endpoint_check("--listen", t[i].ep, t[i].work, t[i].curve, &err);
                if (!TAP_CHECK(r == t[i].r))
                        printf("# %s: %d %s\n", t[i].ep, r, ph_error_msg(err));
        }
}

int main(void) {
        if (!mkdtemp(dir))
                return 1;
        test_parse();
        test_store();
        test_curve();
        test_lvc();
        test_messages();
        test_envelope();
        test_endpoints();
        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
        if (system(cmd) != 0)
                return 1;
        return tap_done();
}
