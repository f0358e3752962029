/* The Engine's event stream (GET /events, podhook's containers only: start, die, destroy) on a thread
 * of its own, so that the loop never waits on it: the stream is one blocking libcurl transfer that
 * never ends, which a curl multi handle on the loop could carry too, but only with a second HTTP layer
 * beside common/http.h; a thread keeps http.h as it is. The thread only tells the loop that something
 * happened (an eventfd); what to do about it is a heal pass on the worker. A lost connection (dockerd
 * stopped or restarted) is tried again with a back-off of 1 s doubling to 30 s; every (re)connection
 * also counts as news, so a pass re-lists every pod and converges. */
#pragma once

#include "common/cleanup.h"
#include "event.h"

typedef struct PhEngineWatch PhEngineWatch;

/* host: the docker entry's (NULL: the default). changed runs on the loop thread. */
int engine_watch_new(PhEvent *e, const char *host, void (*changed)(void *userdata), void *userdata,
                     PhEngineWatch **ret);
/* Stops the thread (its transfer is cancelled) and waits for it. NULL-safe. */
PhEngineWatch *engine_watch_free(PhEngineWatch *w);
PH_DEFINE_CLEANUP(PhEngineWatch *, engine_watch_free)
