/* zmq-listen.h: the ROUTER socket that takes deployments into the queue directory. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>
#include <zmq.h>

#define PH_LOG_MODULE "queue"
#include "common/log.h"
#include "queue/zmq-internal.h"
#include "queue/zmq-listen.h"
#include "source/queue-store.h"

/* routing id, delimiter, body, and one more to see that there are too many */
#define LISTEN_FRAMES_MAX 4
/* Messages a peer may have waiting: with MAXMSGSIZE, what one peer can make us hold (1000 by default,
 * 2 GiB of 2 MiB messages). A sender past it waits (REQ sends one at a time anyway). */
#define LISTEN_HWM 64

struct PhZmqListen {
        PhZmqListenConfig cfg;
        size_t max;
        void *sock;
        char *endpoint;
        PhZmqWatch *watch;
        PhQueueStore *store;
};

int ph_zmq_envelope(const size_t *sizes, size_t n, size_t *body, bool *delimiter) {
        if (n == 2) {
                *body = 1;
                *delimiter = false;
                return 0;
        }
        if (n == 3 && sizes[1] == 0) {
                *body = 2;
                *delimiter = true;
                return 0;
        }
        return -EBADMSG;
}

/* The answer to one message (new ref). stored_id: the id when it was stored now. */
static json_t *answer(PhZmqListen *l, const void *data, size_t len, char **stored_id, json_t **stored) {
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *d = NULL;
        PhQueuePut put;

        if (len > l->max) {
                log_warning("refused a message of %zu bytes (the limit is %zu)", len, l->max);
                _cleanup_free_ char *msg =
                        xasprintf("the message has %zu bytes, more than the limit of %zu", len, l->max);
                return json_pack("{s:s}", "error", msg);
        }
        if (queue_deployment_parse(data, len, &d, &err) < 0) {
                log_warning("refused a deployment: %s", ph_error_msg(err));
                return json_pack("{s:s}", "error", ph_error_msg(err));
        }
        const char *id = json_string_value(json_object_get(d, "id"));
        if ((l->cfg.known && l->cfg.known(id, l->cfg.userdata)) || queue_store_has(l->store, id)) {
                log_info("deployment %s again: a duplicate, not stored", id);
                return json_pack("{s:s, s:b, s:b}", "id", id, "accepted", 1, "duplicate", 1);
        }
        if (queue_store_put(l->store, d, &put, &err) < 0) {
                log_error("deployment %s: %s", id, ph_error_msg(err));
                return json_pack("{s:s, s:s}", "id", id, "error", "the deployment could not be stored");
        }
        if (put == PH_QUEUE_DUPLICATE)
                return json_pack("{s:s, s:b, s:b}", "id", id, "accepted", 1, "duplicate", 1);
        log_info("deployment %s is queued", id);
        *stored_id = xstrdup(id);
        *stored = TAKE_PTR(d);
        return json_pack("{s:s, s:b}", "id", *stored_id, "accepted", 1);
}

static int listen_readable(void *sock, void *userdata) {
        PhZmqListen *l = userdata;
        zmq_msg_t f[LISTEN_FRAMES_MAX];
        size_t sizes[LISTEN_FRAMES_MAX], n = 0, body = 0;
        bool more = true, delimiter = false;
        int r = 0;

        while (more && n < LISTEN_FRAMES_MAX) {
                r = ph_zmq_recv_frame(sock, &f[n], &more);
                if (r < 0) {
                        zmq_msg_close(&f[n]);
                        break;
                }
                sizes[n] = zmq_msg_size(&f[n]);
                n++;
        }
        if (more)
                ph_zmq_skip_rest(sock);
        if (n == 0)
                return r < 0 ? r : 0;

        json_auto_t *reply = NULL, *stored = NULL;
        _cleanup_free_ char *stored_id = NULL;
        if (more || ph_zmq_envelope(sizes, n, &body, &delimiter) < 0) {
                log_warning("refused a message of %zu frames", n);
                reply = json_pack("{s:s}", "error",
                                  "one frame of JSON expected (after a REQ's empty delimiter)");
                delimiter = n >= 2 && sizes[1] == 0;
        } else {
                reply = answer(l, zmq_msg_data(&f[body]), sizes[body], &stored_id, &stored);
        }
        _cleanup_free_ char *text = json_dumps(reply, JSON_COMPACT);
        if (zmq_send(sock, zmq_msg_data(&f[0]), sizes[0], ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
            (delimiter && zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) ||
            zmq_send(sock, text, strlen(text), ZMQ_DONTWAIT) < 0)
                log_warning("the answer could not be sent: %s", zmq_strerror(zmq_errno()));
        for (size_t i = 0; i < n; i++)
                zmq_msg_close(&f[i]);
        if (stored_id && l->cfg.arrived)
                l->cfg.arrived(stored_id, stored, l->cfg.userdata);
        return 0;
}

static int listen_setup(void *sock, void *userdata) {
        const PhZmqListen *l = userdata;
        int64_t max = (int64_t) l->max * 2;
        return zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max, sizeof(max));
}

int ph_zmq_listen_new(PhZmq *z, const PhZmqListenConfig *cfg, PhZmqListen **ret, PhError **reterr) {
        _cleanup_(ph_zmq_listen_freep) PhZmqListen *l = xcalloc(1, sizeof(*l));
        int r;

        l->cfg = *cfg;
        l->cfg.endpoint = NULL;
        l->cfg.state_dir = NULL;
        l->max = cfg->max_message ? cfg->max_message : QUEUE_MESSAGE_MAX;
        if (l->max > QUEUE_MESSAGE_MAX)
                l->max = QUEUE_MESSAGE_MAX;
        r = queue_store_open(cfg->state_dir, &l->store, reterr);
        if (r < 0)
                return r;
        r = ph_zmq_server(z, ZMQ_ROUTER, "--listen", cfg->endpoint, true, listen_setup, l, &l->sock,
                          &l->endpoint, reterr);
        if (r < 0)
                return r;
        r = ph_zmq_watch_new(ph_zmq_event(z), l->sock, "--listen", listen_readable, l, &l->watch, reterr);
        if (r < 0)
                return r;
        log_info("taking deployments on %s%s into %s", l->endpoint, ph_zmq_public_key(z) ? " (CURVE)" : "",
                 queue_store_dir(l->store));
        *ret = TAKE_PTR(l);
        return 0;
}

PhZmqListen *ph_zmq_listen_free(PhZmqListen *l) {
        if (!l)
                return NULL;
        ph_zmq_watch_free(l->watch);
        if (l->sock)
                zmq_close(l->sock);
        free(l->endpoint);
        queue_store_free(l->store);
        free(l);
        return NULL;
}

const char *ph_zmq_listen_endpoint(const PhZmqListen *l) {
        return l->endpoint;
}
