/* What the sockets of agent/queue share: server sockets made from the context, and a socket's ZMQ_FD
 * on the event loop. */
#pragma once

#include <stdbool.h>
#include <zmq.h>

#include "queue/zmq-ctx.h"

/* A socket of type bound to endpoint (checked with ph_zmq_endpoint_check), with the context's CURVE
 * server keys and ZAP domain, LINGER 0, and the options the caller set in setup (may be NULL, called
 * before the bind). ret_endpoint: the endpoint as bound (ZMQ_LAST_ENDPOINT: the port of tcp://...:*),
 * new. An ipc:// socket file is made 0600. */
int ph_zmq_server(PhZmq *z, int type, const char *option, const char *endpoint, bool accepts_work,
                  int (*setup)(void *sock, void *userdata), void *userdata, void **ret_sock,
                  char **ret_endpoint, PhError **reterr);
PhEvent *ph_zmq_event(const PhZmq *z);

/* ZMQ_FD is edge-triggered: it says "something changed", once. on_readable is called while
 * ZMQ_EVENTS has ZMQ_POLLIN, once per message it should take (it must take one, with ZMQ_DONTWAIT,
 * or return < 0 to stop for now). A send on the socket from outside the callback may swallow the
 * edge: call ph_zmq_watch_kick() after it, so the loop looks again on its next iteration. */
typedef int (*PhZmqReadableFn)(void *sock, void *userdata);
typedef struct PhZmqWatch PhZmqWatch;
int ph_zmq_watch_new(PhEvent *e, void *sock, const char *what, PhZmqReadableFn on_readable, void *userdata,
                     PhZmqWatch **ret, PhError **reterr);
void ph_zmq_watch_kick(PhZmqWatch *w);
PhZmqWatch *ph_zmq_watch_free(PhZmqWatch *w);

/* The next frame of a message being received (ZMQ_DONTWAIT), into a zmq_msg_t the caller closes:
 * 0, -EAGAIN when nothing is there, or another negative errno. more: another frame follows. */
int ph_zmq_recv_frame(void *sock, zmq_msg_t *msg, bool *more);
/* Drops what is left of a message. */
void ph_zmq_skip_rest(void *sock);
