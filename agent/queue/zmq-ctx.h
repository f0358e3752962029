/* The agent's ZeroMQ context: one per agent, shared by the PUB (zmq-pub.h) and ROUTER (zmq-listen.h)
 * sockets, and with CURVE its ZAP handler (RFC 27, ZAP 1.0) on inproc://zeromq.zap.01, which admits
 * only the client keys of the allow file. The handler is a REP socket serviced on the event loop like
 * the others: no thread of ours. Make the context first, the sockets from it, free them before it. */
#pragma once

#include <stdbool.h>

#include "common/error.h"
#include "event.h"

typedef struct PhZmqConfig {
        /* Both or neither: with them every socket of this context is a CURVE server. */
        const char *curve_secret_file; /* 40 Z85 characters on one line; root's or ours, 0600 */
        const char *curve_allow_file;  /* client public keys, one a line; '#' comments */
} PhZmqConfig;

typedef struct PhZmq PhZmq;

/* Reads the key files (errors name the file and line) and, with CURVE, binds the ZAP handler. */
int ph_zmq_new(PhEvent *e, const PhZmqConfig *cfg, PhZmq **ret, PhError **reterr);
/* After every socket made from it. */
PhZmq *ph_zmq_free(PhZmq *z);
PH_DEFINE_CLEANUP(PhZmq *, ph_zmq_free)
/* Reads the allow file again (SIGHUP); the old list stays when the new file is refused. Clients
 * already connected stay connected: ZAP is asked once per connection. */
int ph_zmq_reload_allow(PhZmq *z, PhError **reterr);
/* The server's public key (Z85), for clients; NULL without CURVE. */
const char *ph_zmq_public_key(const PhZmq *z);

/* Pure: whether endpoint may be bound: tcp://HOST:PORT or ipc://PATH (no inproc, pgm, ...). With
 * accepts_work (the ROUTER socket takes deployments, which run as root), a tcp endpoint on anything but
 * loopback (127.0.0.0/8, [::1], localhost) needs CURVE. */
int ph_zmq_endpoint_check(const char *option, const char *endpoint, bool accepts_work, bool curve,
                          PhError **reterr);
