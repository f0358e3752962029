/* zmq-pub.h: the XPUB socket and its last-value cache. */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <zmq.h>

#define PH_LOG_MODULE "queue"
#include "common/log.h"
#include "common/secret.h"
#include "queue/zmq-internal.h"
#include "queue/zmq-pub.h"

#define SUMMARY_DETAIL_MAX 200

typedef struct LvcEntry {
        char *id;
        char *topic;
        char *text;
} LvcEntry;

struct PhLvc {
        LvcEntry *e;
        size_t n, max;
};

struct PhZmqPub {
        void *sock;
        char *endpoint;
        PhZmqWatch *watch;
        PhLvc *lvc;
};

PhLvc *lvc_new(size_t max) {
        PhLvc *c = xcalloc(1, sizeof(*c));
        c->max = max ? max : 1;
        return c;
}

static void entry_done(LvcEntry *e) {
        free(e->id);
        free(e->topic);
        free(e->text);
}

PhLvc *lvc_free(PhLvc *c) {
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n; i++)
                entry_done(&c->e[i]);
        free(c->e);
        free(c);
        return NULL;
}

static void lvc_remove(PhLvc *c, size_t i) {
        entry_done(&c->e[i]);
        memmove(&c->e[i], &c->e[i + 1], (c->n - i - 1) * sizeof(*c->e));
        c->n--;
}

void lvc_set(PhLvc *c, const char *id, const char *topic, const char *text) {
        for (size_t i = 0; i < c->n; i++)
                if (strcmp(c->e[i].id, id) == 0) {
                        lvc_remove(c, i);
                        break;
                }
        if (c->n == c->max)
                lvc_remove(c, 0);
        c->e = xrealloc(c->e, (c->n + 1) * sizeof(*c->e));
        c->e[c->n++] = (LvcEntry){xstrdup(id), xstrdup(topic), xstrdup(text)};
}

size_t lvc_count(const PhLvc *c) {
        return c->n;
}

void lvc_select(const PhLvc *c, const void *prefix, size_t len, size_t **ret, size_t *ret_n) {
        size_t *v = xcalloc(c->n ? c->n : 1, sizeof(*v)), n = 0;
        for (size_t i = 0; i < c->n; i++)
                if (strlen(c->e[i].topic) >= len && memcmp(c->e[i].topic, prefix, len) == 0)
                        v[n++] = i;
        *ret = v;
        *ret_n = n;
}

const char *lvc_topic(const PhLvc *c, size_t i) {
        return c->e[i].topic;
}

const char *lvc_text(const PhLvc *c, size_t i) {
        return c->e[i].text;
}

json_t *ph_zmq_result_message(const char *deployment_id, const char *pod, const char *action,
                              const json_t *result) {
        const json_t *code = json_object_get(result, "deploy_status_code");
        json_int_t status = json_is_integer(code) ? json_integer_value(code) : -1;
        const char *what = action && *action ? action : "the deployment";
        const char *of = pod && *pod ? pod : deployment_id;
        _cleanup_free_ char *summary = NULL;

        if (status == 0) {
                summary = xasprintf("%s of %s succeeded", what, of);
        } else {
                const char *err = json_string_value(json_object_get(result, "deploy_stderr"));
                size_t n = err ? strcspn(err, "\n") : 0;
                if (n > SUMMARY_DETAIL_MAX) {
                        n = SUMMARY_DETAIL_MAX;
                        while (n > 0 && ((unsigned char) err[n] & 0xc0) == 0x80)
                                n--; /* not inside a UTF-8 sequence: JSON takes only whole ones */
                }
                summary = xasprintf("%s of %s failed (status %lld)%s%.*s", what, of, (long long) status,
                                    n ? ": " : "", (int) n, err ? err : "");
        }
        return json_pack("{s:s, s:s?, s:s, s:I, s:s, s:o}", "id", deployment_id, "pod", pod, "action",
                         action ? action : "", "status_code", status, "summary", summary, "result",
                         result ? json_deep_copy(result) : json_object());
}

char *ph_zmq_result_topic(const char *pod) {
        return xasprintf("result.%s", pod ? pod : "");
}

char *ph_zmq_event_topic(const char *kind, const char *pod) {
        return xasprintf("event.%s.%s", kind, pod ? pod : "");
}

static int send_two(void *sock, const char *topic, const char *text) {
        if (zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            zmq_send(sock, text, strlen(text), ZMQ_DONTWAIT) < 0)
                return -zmq_errno();
        return 0;
}

/* A subscription: byte 1 and the prefix (0 and the prefix when it goes). */
static int pub_readable(void *sock, void *userdata) {
        PhZmqPub *p = userdata;
        zmq_msg_t m;
        bool more = false;
        int r = ph_zmq_recv_frame(sock, &m, &more);
        if (r < 0) {
                zmq_msg_close(&m);
                return r;
        }
        if (more)
                ph_zmq_skip_rest(sock);
        const unsigned char *d = zmq_msg_data(&m);
        size_t len = zmq_msg_size(&m);
        if (len >= 1 && d[0] == 1) {
                _cleanup_free_ size_t *idx = NULL;
                size_t n = 0;
                lvc_select(p->lvc, d + 1, len - 1, &idx, &n);
                log_debug("a subscription to '%.*s': %zu cached result(s) again", (int) (len - 1), d + 1, n);
                for (size_t i = 0; i < n; i++)
                        if ((r = send_two(sock, lvc_topic(p->lvc, idx[i]), lvc_text(p->lvc, idx[i]))) < 0)
                                log_warning("publish: a cached result could not be sent: %s",
                                            zmq_strerror(-r));
        }
        zmq_msg_close(&m);
        return 0;
}

static int pub_setup(void *sock, void *userdata) {
        int one = 1;
        return zmq_setsockopt(sock, ZMQ_XPUB_VERBOSE, &one, sizeof(one));
}

int ph_zmq_pub_new(PhZmq *z, const char *endpoint, PhZmqPub **ret, PhError **reterr) {
        _cleanup_(ph_zmq_pub_freep) PhZmqPub *p = xcalloc(1, sizeof(*p));
        int r;

        p->lvc = lvc_new(ZMQ_PUB_LVC_MAX);
        r = ph_zmq_server(z, ZMQ_XPUB, "--publish", endpoint, false, pub_setup, NULL, &p->sock, &p->endpoint,
                          reterr);
        if (r < 0)
                return r;
        r = ph_zmq_watch_new(ph_zmq_event(z), p->sock, "--publish", pub_readable, p, &p->watch, reterr);
        if (r < 0)
                return r;
        log_info("publishing results on %s%s", p->endpoint, ph_zmq_public_key(z) ? " (CURVE)" : "");
        *ret = TAKE_PTR(p);
        return 0;
}

PhZmqPub *ph_zmq_pub_free(PhZmqPub *p) {
        if (!p)
                return NULL;
        ph_zmq_watch_free(p->watch);
        if (p->sock)
                zmq_close(p->sock);
        free(p->endpoint);
        lvc_free(p->lvc);
        free(p);
        return NULL;
}

const char *ph_zmq_pub_endpoint(const PhZmqPub *p) {
        return p->endpoint;
}

int ph_zmq_pub_send(PhZmqPub *p, const char *topic, const json_t *message, const char *cache_id,
                    char *const *secrets, PhError **reterr) {
        json_auto_t *copy = json_deep_copy(message);
        secret_redact_deep(copy, secrets);
        _cleanup_free_ char *text = json_dumps(copy, JSON_COMPACT);
        if (!text)
                return ph_error_set(reterr, EINVAL, "publish %s: the message is not JSON", topic);
        if (cache_id)
                lvc_set(p->lvc, cache_id, topic, text);
        int r = send_two(p->sock, topic, text);
        /* The send may have taken the edge of a subscription that came in meanwhile. */
        ph_zmq_watch_kick(p->watch);
        if (r < 0)
                return ph_error_set(reterr, -r, "publish %s: %s", topic, zmq_strerror(-r));
        return 0;
}

int ph_zmq_pub_result(PhZmqPub *p, const char *deployment_id, const char *pod, const char *action,
                      const json_t *result, char *const *secrets, PhError **reterr) {
        json_auto_t *m = ph_zmq_result_message(deployment_id, pod, action, result);
        _cleanup_free_ char *topic = ph_zmq_result_topic(pod);
        return ph_zmq_pub_send(p, topic, m, deployment_id, secrets, reterr);
}

int ph_zmq_pub_event(PhZmqPub *p, const char *kind, const char *pod, const json_t *data, char *const *secrets,
                     PhError **reterr) {
        json_auto_t *m = json_is_object(data) ? json_deep_copy(data) : json_object();
        _cleanup_free_ char *topic = ph_zmq_event_topic(kind, pod);
        json_object_set_new(m, "kind", json_string(kind));
        json_object_set_new(m, "pod", pod ? json_string(pod) : json_null());
        return ph_zmq_pub_send(p, topic, m, NULL, secrets, reterr);
}
