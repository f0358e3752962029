/* queue-agent.h: the box is a list under a mutex and an eventfd that wakes the loop; the loop thread
 * empties it into the PUB socket. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define PH_LOG_MODULE "queue"
#include "common/deployment.h"
#include "common/log.h"
#include "dispatch.h"
#include "queue-agent.h"
#include "queue/zmq-listen.h"
#include "queue/zmq-pub.h"

struct PhPubBox {
        pthread_mutex_t lock;
        json_t *items; /* oldest first; under lock */
        int wake_fd;
        /* loop thread only */
        PhEventSource *wake_source;
        PhZmqPub *pub;
};

struct PhAgentQueue {
        PhAgent *a;
        PhZmq *z;
        PhZmqListen *listen;
        PhZmqPub *pub;
        PhPubBox *box;
        void (*arrived)(void *userdata);
        void *userdata;
};

static void box_put(PhPubBox *b, json_t *item) {
        bool dropped = false;

        (void) pthread_mutex_lock(&b->lock);
        if (json_array_size(b->items) >= PUBBOX_MAX) {
                (void) json_array_remove(b->items, 0);
                dropped = true;
        }
        json_array_append_new(b->items, item);
        (void) pthread_mutex_unlock(&b->lock);
        if (dropped)
                log_warning("publish: %u messages wait for the loop; the oldest is dropped", PUBBOX_MAX);
        uint64_t one = 1;
        (void) !write(b->wake_fd, &one, sizeof(one));
}

void pubbox_result(PhPubBox *b, const char *id, const char *pod, const char *action, const json_t *result,
                   char *const *secrets) {
        if (!b || !id)
                return;
        json_t *s = json_array();
        for (char *const *v = secrets; v && *v; v++)
                json_array_append_new(s, json_string(*v));
        box_put(b, json_pack("{s:s, s:s, s:s?, s:s?, s:o, s:o}", "type", "result", "id", id, "pod", pod,
                             "action", action, "result", json_deep_copy(result), "secrets", s));
}

void pubbox_event(const json_t *event, void *box) {
        if (box && event)
                box_put(box, json_pack("{s:s, s:o}", "type", "event", "event", json_deep_copy(event)));
}

static json_t *box_pop(PhPubBox *b) {
        (void) pthread_mutex_lock(&b->lock);
        json_t *item = json_incref(json_array_get(b->items, 0));
        if (item)
                (void) json_array_remove(b->items, 0);
        (void) pthread_mutex_unlock(&b->lock);
        return item;
}

/* Loop thread: every waiting message out (libzmq only queues them). */
static void box_send(PhPubBox *b) {
        for (json_t *item; (item = box_pop(b)); json_decref(item)) {
                _cleanup_error_ PhError *err = NULL;
                const json_t *s = json_object_get(item, "secrets");
                _cleanup_strv_free_ char **secrets = xcalloc(json_array_size(s) + 1, sizeof(char *));
                const json_t *v;
                size_t i, n = 0;
                int r;

                json_array_foreach(s, i, v) {
                        if (json_is_string(v))
                                secrets[n++] = xstrdup(json_string_value(v));
                }
                if (strcmp(json_string_value(json_object_get(item, "type")), "result") == 0)
                        r = ph_zmq_pub_result(b->pub, json_string_value(json_object_get(item, "id")),
                                              json_string_value(json_object_get(item, "pod")),
                                              json_string_value(json_object_get(item, "action")),
                                              json_object_get(item, "result"), secrets, &err);
                else {
                        const json_t *ev = json_object_get(item, "event");
                        r = ph_zmq_pub_event(b->pub, json_string_value(json_object_get(ev, "kind")),
                                             json_string_value(json_object_get(ev, "pod")), ev, secrets,
                                             &err);
                }
                if (r < 0)
                        log_warning("publish: %s", ph_error_msg(err));
        }
}

static int on_box(PhEventSource *s, int fd, uint32_t revents, void *userdata) {
        uint64_t v;

        (void) !read(fd, &v, sizeof(v));
        box_send(userdata);
        return 0;
}

static PhPubBox *box_free(PhPubBox *b) {
        if (!b)
                return NULL;
        (void) event_source_unref(b->wake_source);
        (void) close(b->wake_fd);
        json_decref(b->items);
        (void) pthread_mutex_destroy(&b->lock);
        free(b);
        return NULL;
}

static int box_new(PhEvent *e, PhZmqPub *pub, PhPubBox **ret) {
        PhPubBox *b = xcalloc(1, sizeof(*b));
        int r;

        b->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (b->wake_fd < 0) {
                r = -errno;
                free(b);
                return r;
        }
        (void) pthread_mutex_init(&b->lock, NULL);
        b->items = json_array();
        b->pub = pub;
        r = event_add_io(e, &b->wake_source, b->wake_fd, EPOLLIN, on_box, b);
        if (r < 0) {
                box_free(b);
                return r;
        }
        event_source_set_description(b->wake_source, "publish box");
        *ret = b;
        return 0;
}

/* The ROUTER socket's question, on the loop thread: a marker (done or in progress) makes a duplicate. */
static bool queue_known(const char *id, void *userdata) {
        PhAgentQueue *q = userdata;

        return state_deploy_state(q->a->state, id) != PH_DEPLOY_NEW;
}

static void queue_arrived(const char *id, const json_t *deployment, void *userdata) {
        PhAgentQueue *q = userdata;

        log_info("deployment %s arrived over the queue", id);
        if (q->arrived)
                q->arrived(q->userdata);
}

static const char *opt(const char *s) {
        return s && *s ? s : NULL;
}

int agent_queue_open(PhAgent *a, PhEvent *e, void (*arrived)(void *userdata), void *userdata,
                     PhAgentQueue **ret, PhError **reterr) {
        const PhConfig *c = a->cfg;
        int r;

        *ret = NULL;
        if (!opt(c->listen) && !opt(c->publish))
                return 0;
        _cleanup_(agent_queue_freep) PhAgentQueue *q = xcalloc(1, sizeof(*q));
        q->a = a, q->arrived = arrived, q->userdata = userdata;
        r = ph_zmq_new(e,
                       &(PhZmqConfig){.curve_secret_file = opt(c->curve_secret_file),
                                      .curve_allow_file = opt(c->curve_allow_file)},
                       &q->z, reterr);
        if (r < 0)
                return r;
        if (opt(c->publish)) {
                r = ph_zmq_pub_new(q->z, c->publish, &q->pub, reterr);
                if (r < 0)
                        return r;
                r = box_new(e, q->pub, &q->box);
                if (r < 0)
                        return ph_error_set(reterr, -r, "publish: eventfd: %s", strerror(-r));
                a->pubbox = q->box;
                notifier_set_sink(a->notifier, pubbox_event, q->box);
        }
        if (opt(c->listen)) {
                r = ph_zmq_listen_new(q->z,
                                      &(PhZmqListenConfig){.endpoint = c->listen,
                                                           .state_dir = c->state_dir,
                                                           .known = queue_known,
                                                           .arrived = queue_arrived,
                                                           .userdata = q},
                                      &q->listen, reterr);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(q);
        return 0;
}

void agent_queue_reload(PhAgentQueue *q) {
        _cleanup_error_ PhError *err = NULL;

        if (!q || !ph_zmq_public_key(q->z))
                return;
        if (ph_zmq_reload_allow(q->z, &err) < 0)
                log_warning("reload: the CURVE allow file is refused, keeping the old list: %s",
                            ph_error_msg(err));
        else
                log_info("reload: the CURVE allow file is read again");
}

PhAgentQueue *agent_queue_free(PhAgentQueue *q) {
        if (!q)
                return NULL;
        if (q->box) {
                notifier_set_sink(q->a->notifier, NULL, NULL);
                q->a->pubbox = NULL;
                box_send(q->box);
                q->box = box_free(q->box);
        }
        ph_zmq_listen_free(q->listen);
        ph_zmq_pub_free(q->pub);
        ph_zmq_free(q->z);
        free(q);
        return NULL;
}

char **queue_retire_choose(const json_t *deployments, const PhQueueDone *done) {
        size_t n = json_array_size(deployments), k = 0, i;
        char **out = xcalloc(n + 1, sizeof(char *));
        json_auto_t *latest = json_object(), *busy = json_object();
        const json_t *d;

        /* Per resource: its newest entry, and whether any of its entries is still under way. */
        json_array_foreach(deployments, i, d) {
                _cleanup_free_ char *key = dispatch_resource_key(d);
                if (!key)
                        continue;
                json_object_set_new(latest, key, json_integer((json_int_t) i));
                if (done[i] == PH_QUEUE_PENDING)
                        json_object_set_new(busy, key, json_true());
        }
        json_array_foreach(deployments, i, d) {
                _cleanup_free_ char *key = dispatch_resource_key(d);
                const char *id = json_string_value(json_object_get(d, "id"));
                const char *action = deployment_input(d, "deploy_action");
                bool deleted = done[i] == PH_QUEUE_DONE_OK && action && strcmp(action, "DELETE") == 0;
                bool go;

                if (!id || done[i] == PH_QUEUE_PENDING)
                        continue;
                if (!key)
                        go = deleted;
                else {
                        size_t last = (size_t) json_integer_value(json_object_get(latest, key));
                        const json_t *ld = json_array_get(deployments, last);
                        const char *la = deployment_input(ld, "deploy_action");
                        /* A resource deleted for good goes whole, once none of it is under way. */
                        bool gone = done[last] == PH_QUEUE_DONE_OK && la && strcmp(la, "DELETE") == 0 &&
                                    !json_object_get(busy, key);
                        go = i != last || gone;
                }
                if (go)
                        out[k++] = xstrdup(id);
        }
        return out;
}
