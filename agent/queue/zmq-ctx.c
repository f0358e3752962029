/* zmq-ctx.h, zmq-internal.h: the context, the ZAP handler, sockets on the loop. */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <zmq.h>

#define PH_LOG_MODULE "queue"
#include "common/log.h"
#include "queue/curve.h"
#include "queue/zmq-internal.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_DOMAIN   "podhook"

struct PhZmq {
        PhEvent *event;
        void *ctx;
        bool curve;
        char secret[CURVE_KEY_Z85_LEN + 1];
        char public_key[CURVE_KEY_Z85_LEN + 1];
        char *allow_file;
        PhCurveAllow *allow;
        void *zap;
        PhZmqWatch *zap_watch;
};

struct PhZmqWatch {
        void *sock;
        PhEventSource *io;
        PhEventSource *kick;
        PhZmqReadableFn on_readable;
        void *userdata;
};

static int zerr(PhError **reterr, const char *what) {
        int e = zmq_errno();
        return ph_error_set(reterr, e, "%s: %s", what, zmq_strerror(e));
}

int ph_zmq_recv_frame(void *sock, zmq_msg_t *msg, bool *more) {
        zmq_msg_init(msg);
        if (zmq_msg_recv(msg, sock, ZMQ_DONTWAIT) < 0)
                return -zmq_errno();
        *more = zmq_msg_more(msg);
        return 0;
}

void ph_zmq_skip_rest(void *sock) {
        int more = 1;
        size_t n = sizeof(more);
        while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &n) == 0 && more) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                int r = zmq_msg_recv(&m, sock, ZMQ_DONTWAIT);
                zmq_msg_close(&m);
                if (r < 0)
                        break;
        }
}

/* Everything the socket has for us now; ZMQ_EVENTS also re-arms ZMQ_FD. */
static int watch_drain(PhZmqWatch *w) {
        for (;;) {
                int events = 0;
                size_t n = sizeof(events);
                if (zmq_getsockopt(w->sock, ZMQ_EVENTS, &events, &n) < 0)
                        return -zmq_errno();
                if (!(events & ZMQ_POLLIN))
                        return 0;
                if (w->on_readable(w->sock, w->userdata) < 0)
                        return 0;
        }
}

static int watch_io(PhEventSource *s, int fd, uint32_t revents, void *userdata) {
        return watch_drain(userdata);
}

static int watch_kicked(PhEventSource *s, void *userdata) {
        return watch_drain(userdata);
}

int ph_zmq_watch_new(PhEvent *e, void *sock, const char *what, PhZmqReadableFn on_readable, void *userdata,
                     PhZmqWatch **ret, PhError **reterr) {
        PhZmqWatch *w = xcalloc(1, sizeof(*w));
        int fd = -1;
        size_t n = sizeof(fd);
        int r;

        w->sock = sock;
        w->on_readable = on_readable;
        w->userdata = userdata;
        if (zmq_getsockopt(sock, ZMQ_FD, &fd, &n) < 0) {
                free(w);
                return zerr(reterr, what);
        }
        r = event_add_io(e, &w->io, fd, EPOLLIN, watch_io, w);
        if (r >= 0)
                r = event_add_defer(e, &w->kick, watch_kicked, w);
        if (r < 0) {
                ph_zmq_watch_free(w);
                return ph_error_set(reterr, -r, "%s: cannot watch the socket: %s", what, strerror(-r));
        }
        event_source_set_description(w->io, what);
        event_source_set_description(w->kick, what);
        /* Whatever arrived before the fd was watched raised no edge we could see. */
        *ret = w;
        return 0;
}

void ph_zmq_watch_kick(PhZmqWatch *w) {
        if (w)
                (void) event_source_set_enabled(w->kick, true);
}

PhZmqWatch *ph_zmq_watch_free(PhZmqWatch *w) {
        if (!w)
                return NULL;
        event_source_unref(w->io);
        event_source_unref(w->kick);
        free(w);
        return NULL;
}

/* ZAP 1.0 (RFC 27): version, request id, domain, address, routing id, mechanism, credentials... in;
 * version, request id, status code, status text, user id, metadata out. */
static int zap_readable(void *sock, void *userdata) {
        PhZmq *z = userdata;
        zmq_msg_t f[8];
        size_t n = 0;
        bool more = true;
        int r = 0;

        while (more && n < ELEMENTSOF(f)) {
                r = ph_zmq_recv_frame(sock, &f[n], &more);
                if (r < 0) {
                        zmq_msg_close(&f[n]);
                        break;
                }
                n++;
        }
        if (more)
                ph_zmq_skip_rest(sock);
        if (r < 0 && n == 0)
                return r;

        const char *code = "400", *text = "not allowed";
        bool ok_shape = n >= 6 && zmq_msg_size(&f[0]) == 3 && memcmp(zmq_msg_data(&f[0]), "1.0", 3) == 0;
        if (!ok_shape) {
                code = "500";
                text = "not a ZAP 1.0 request";
        } else if (n == 7 && zmq_msg_size(&f[5]) == 5 && memcmp(zmq_msg_data(&f[5]), "CURVE", 5) == 0 &&
                   zmq_msg_size(&f[6]) == CURVE_KEY_LEN && curve_allow_has(z->allow, zmq_msg_data(&f[6]))) {
                code = "200";
                text = "OK";
        } else {
                char key[CURVE_KEY_Z85_LEN + 1] = "(none)";
                _cleanup_free_ char *addr = xstrndup(zmq_msg_data(&f[3]), zmq_msg_size(&f[3]));
                if (n == 7 && zmq_msg_size(&f[6]) == CURVE_KEY_LEN)
                        (void) zmq_z85_encode(key, zmq_msg_data(&f[6]), CURVE_KEY_LEN);
                log_info("refused a client from %s: key %s is not in %s", addr, key, z->allow_file);
        }
        /* A reply without the request id would be one ZAP cannot match: send none at all. */
        if (n >= 2) {
                const void *id = zmq_msg_data(&f[1]);
                size_t idlen = zmq_msg_size(&f[1]);
                if (zmq_send(sock, "1.0", 3, ZMQ_SNDMORE) < 0 || zmq_send(sock, id, idlen, ZMQ_SNDMORE) < 0 ||
                    zmq_send(sock, code, 3, ZMQ_SNDMORE) < 0 ||
                    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE) < 0 ||
                    zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(sock, "", 0, 0) < 0)
                        log_warning("ZAP: the reply could not be sent: %s", zmq_strerror(zmq_errno()));
        }
        for (size_t i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
        return 0;
}

int ph_zmq_new(PhEvent *e, const PhZmqConfig *cfg, PhZmq **ret, PhError **reterr) {
        _cleanup_(ph_zmq_freep) PhZmq *z = xcalloc(1, sizeof(*z));
        bool secret = cfg && cfg->curve_secret_file && *cfg->curve_secret_file;
        bool allow = cfg && cfg->curve_allow_file && *cfg->curve_allow_file;
        int r;

        z->event = e;
        z->ctx = zmq_ctx_new();
        if (!z->ctx)
                return zerr(reterr, "zmq_ctx_new");
        (void) zmq_ctx_set(z->ctx, ZMQ_BLOCKY, 0);
        if (secret != allow)
                return ph_error_set(
                        reterr, EINVAL,
                        "--curve-secret-file and --curve-allow-file go together: CURVE needs both");
        if (!secret) {
                *ret = TAKE_PTR(z);
                return 0;
        }
        if (!zmq_has("curve"))
                return ph_error_set(reterr, ENOTSUP, "this libzmq has no CURVE");
        r = curve_secret_load(cfg->curve_secret_file, z->secret, z->public_key, reterr);
        if (r < 0)
                return r;
        z->allow_file = xstrdup(cfg->curve_allow_file);
        r = curve_allow_load(z->allow_file, &z->allow, reterr);
        if (r < 0)
                return r;
        z->curve = true;
        z->zap = zmq_socket(z->ctx, ZMQ_REP);
        int zero = 0;
        if (!z->zap || zmq_setsockopt(z->zap, ZMQ_LINGER, &zero, sizeof(zero)) < 0 ||
            zmq_bind(z->zap, ZAP_ENDPOINT) < 0)
                return zerr(reterr, "ZAP handler " ZAP_ENDPOINT);
        r = ph_zmq_watch_new(e, z->zap, "ZAP handler", zap_readable, z, &z->zap_watch, reterr);
        if (r < 0)
                return r;
        log_info("CURVE: server key %s, %zu client key(s) from %s", z->public_key,
                 curve_allow_count(z->allow), z->allow_file);
        *ret = TAKE_PTR(z);
        return 0;
}

PhZmq *ph_zmq_free(PhZmq *z) {
        if (!z)
                return NULL;
        ph_zmq_watch_free(z->zap_watch);
        if (z->zap)
                zmq_close(z->zap);
        if (z->ctx)
                zmq_ctx_term(z->ctx);
        explicit_bzero(z->secret, sizeof(z->secret));
        curve_allow_free(z->allow);
        free(z->allow_file);
        free(z);
        return NULL;
}

int ph_zmq_reload_allow(PhZmq *z, PhError **reterr) {
        PhCurveAllow *a = NULL;
        if (!z->curve)
                return 0;
        int r = curve_allow_load(z->allow_file, &a, reterr);
        if (r < 0)
                return r;
        curve_allow_free(z->allow);
        z->allow = a;
        return 0;
}

const char *ph_zmq_public_key(const PhZmq *z) {
        return z->curve ? z->public_key : NULL;
}

PhEvent *ph_zmq_event(const PhZmq *z) {
        return z->event;
}

static bool loopback_host(const char *host, size_t n) {
        return (n == 9 && strncmp(host, "localhost", 9) == 0) || (n == 5 && strncmp(host, "[::1]", 5) == 0) ||
               (n >= 4 && strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == n);
}

int ph_zmq_endpoint_check(const char *option, const char *endpoint, bool accepts_work, bool curve,
                          PhError **reterr) {
        if (strncmp(endpoint, "ipc://", 6) == 0) {
                if (endpoint[6] == '\0')
                        return ph_error_set(reterr, EINVAL, "%s %s: ipc:// needs a path", option, endpoint);
                return 0;
        }
        if (strncmp(endpoint, "tcp://", 6) != 0)
                return ph_error_set(reterr, EINVAL,
                                    "%s %s: the endpoint must be tcp://HOST:PORT or ipc://PATH", option,
                                    endpoint);
        const char *host = endpoint + 6, *colon = strrchr(host, ':');
        if (!colon || colon == host || colon[1] == '\0' ||
            (strcmp(colon + 1, "*") != 0 && strspn(colon + 1, "0123456789") != strlen(colon + 1)))
                return ph_error_set(reterr, EINVAL, "%s %s: tcp:// needs HOST:PORT (PORT a number or *)",
                                    option, endpoint);
        if (accepts_work && !curve && !loopback_host(host, (size_t) (colon - host)))
                return ph_error_set(
                        reterr, EPERM,
                        "%s %s: without CURVE anyone who reaches it could run deployments: listen on "
                        "127.0.0.1 or ipc://, or set --curve-secret-file and --curve-allow-file",
                        option, endpoint);
        return 0;
}

int ph_zmq_server(PhZmq *z, int type, const char *option, const char *endpoint, bool accepts_work,
                  int (*setup)(void *sock, void *userdata), void *userdata, void **ret_sock,
                  char **ret_endpoint, PhError **reterr) {
        int zero = 0, one = 1;
        char last[1024] = "";
        size_t n = sizeof(last);
        int r;

        r = ph_zmq_endpoint_check(option, endpoint, accepts_work, z->curve, reterr);
        if (r < 0)
                return r;
        void *sock = zmq_socket(z->ctx, type);
        if (!sock)
                return zerr(reterr, option);
        if (zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero)) < 0)
                goto fail;
        if (z->curve && (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof(one)) < 0 ||
                         zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, z->secret, CURVE_KEY_Z85_LEN) < 0 ||
                         zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) < 0))
                goto fail;
        if (setup && setup(sock, userdata) < 0)
                goto fail;
        if (zmq_bind(sock, endpoint) < 0)
                goto fail;
        if (zmq_getsockopt(sock, ZMQ_LAST_ENDPOINT, last, &n) < 0)
                goto fail;
        if (strncmp(last, "ipc://", 6) == 0 && chmod(last + 6, 0600) < 0) {
                r = ph_error_set(reterr, errno, "%s %s: %s", option, last, strerror(errno));
                zmq_close(sock);
                return r;
        }
        *ret_sock = sock;
        *ret_endpoint = xstrdup(last);
        return 0;
fail:
        r = ph_error_set(reterr, zmq_errno(), "%s %s: %s", option, endpoint, zmq_strerror(zmq_errno()));
        zmq_close(sock);
        return r;
}
