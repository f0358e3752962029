/* A small event loop on epoll, in the shape of systemd's sd-event: one callback per source (I/O, a
 * CLOCK_MONOTONIC timer, a signal, a deferred call, a child's exit). Single-threaded: every function
 * here is called on the loop's thread (worker.h hands work to other threads and back).
 *
 * Ownership: the loop owns its sources. The PhEventSource * handed out is a borrowed handle, valid
 * until event_source_unref() or event_free(); unref is safe at any time, also from inside the
 * source's own callback or another source's.
 *
 * Callbacks return 0, or a negative errno when the source is broken: the loop then logs one warning
 * naming the source (see event_source_set_description) and disables it, so a failing level-triggered
 * fd cannot spin the loop. A callback that wants the whole loop to stop calls event_exit().
 *
 * Order within one iteration: I/O, signals and child exits as epoll reports them, then due timers
 * (earliest first), then deferred calls. After event_exit() nothing more is dispatched. */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/types.h>

#include "common/cleanup.h"

typedef struct PhEvent PhEvent;
typedef struct PhEventSource PhEventSource;

#define PH_EVENT_INFINITY UINT64_MAX /* a timeout that never runs out */

typedef int (*PhEventIoFn)(PhEventSource *s, int fd, uint32_t revents, void *userdata);
/* usec: the time the timer was set for (not when it ran). */
typedef int (*PhEventTimeFn)(PhEventSource *s, uint64_t usec, void *userdata);
typedef int (*PhEventSignalFn)(PhEventSource *s, const struct signalfd_siginfo *si, void *userdata);
typedef int (*PhEventDeferFn)(PhEventSource *s, void *userdata);
/* si: from waitid(); the child is reaped already. si_code says how it ended (CLD_EXITED, CLD_KILLED,
 * CLD_DUMPED), si_status gives the exit status or the signal. */
typedef int (*PhEventChildFn)(PhEventSource *s, const siginfo_t *si, void *userdata);

/* 0 or a negative errno (epoll_create1 failed). */
int event_new(PhEvent **ret);
/* Frees every source that is left (signals go back to the mask they had). Not from a callback. */
PhEvent *event_free(PhEvent *e);
PH_DEFINE_CLEANUP(PhEvent *, event_free)

/* The current CLOCK_MONOTONIC time in microseconds, the clock of the timers. */
uint64_t event_now(void);

/* ret may be NULL when the caller keeps no handle (the source then lives until event_free). Each
 * returns 0 or a negative errno. New sources start enabled. */

/* fd stays the caller's: it must stay open while the source exists. events: EPOLLIN, EPOLLOUT, ...
 * (level-triggered). */
int event_add_io(PhEvent *e, PhEventSource **ret, int fd, uint32_t events, PhEventIoFn cb, void *userdata);
/* One-shot: fires once when CLOCK_MONOTONIC reaches usec (absolute), then is disabled; re-arm it
 * with event_source_set_time*(). Never fires early (epoll's millisecond timeout is rounded up). */
int event_add_time(PhEvent *e, PhEventSource **ret, uint64_t usec, PhEventTimeFn cb, void *userdata);
/* The same, usec from now. */
int event_add_time_relative(PhEvent *e, PhEventSource **ret, uint64_t usec, PhEventTimeFn cb, void *userdata);
/* Blocks signo in this thread's mask and reads it from the loop's signalfd; removing the last source
 * restores the signal's old state. One source per signal (-EBUSY otherwise). Block the signals a
 * daemon handles before it starts threads: a thread that does not block a signal may take it. */
int event_add_signal(PhEvent *e, PhEventSource **ret, int signo, PhEventSignalFn cb, void *userdata);
/* One-shot: runs on the next iteration (without waiting); enable it again to run once more. */
int event_add_defer(PhEvent *e, PhEventSource **ret, PhEventDeferFn cb, void *userdata);
/* pid must be a child of this process that nobody else waits for: the loop reaps it and calls cb
 * once, then the source is disabled. Uses a pidfd (Linux >= 5.4: pidfd_open and waitid(P_PIDFD));
 * -ENOSYS on older kernels, there is no SIGCHLD fallback. Removing the source before the child
 * exits leaves the child to the caller. */
int event_add_child(PhEvent *e, PhEventSource **ret, pid_t pid, PhEventChildFn cb, void *userdata);

/* Removes the source: its callback is never called again. NULL-safe; returns NULL. */
PhEventSource *event_source_unref(PhEventSource *s);
PH_DEFINE_CLEANUP(PhEventSource *, event_source_unref)
/* 0 or a negative errno (epoll_ctl failed; -ECHILD for a child source that has been reaped). */
int event_source_set_enabled(PhEventSource *s, bool enabled);
bool event_source_get_enabled(const PhEventSource *s);
/* For logs: "what this source is for". The text is copied. */
void event_source_set_description(PhEventSource *s, const char *description);
const char *event_source_get_description(const PhEventSource *s);
void *event_source_get_userdata(const PhEventSource *s);
/* An I/O source's epoll events. */
int event_source_set_io_events(PhEventSource *s, uint32_t events);
/* A timer's new deadline (absolute or from now); also enables it. -EINVAL for other sources. */
int event_source_set_time(PhEventSource *s, uint64_t usec);
int event_source_set_time_relative(PhEventSource *s, uint64_t usec);
uint64_t event_source_get_time(const PhEventSource *s);

/* Waits up to timeout_usec (PH_EVENT_INFINITY: no limit; 0: do not wait) for something to happen and
 * dispatches what is ready. 0, or a negative errno when epoll_wait fails. */
int event_run_once(PhEvent *e, uint64_t timeout_usec);
/* Runs iterations until event_exit(); returns its code, or a negative errno when epoll_wait fails.
 * The loop can be run again afterwards. */
int event_loop(PhEvent *e);
/* Stops event_loop() after the callback that calls this; code becomes event_loop's return value. */
void event_exit(PhEvent *e, int code);
