/* Long work off the loop: an apply, a pull or an external hook runs on a thread of its own while the
 * loop goes on serving the status API, timers and signals; its end is reported back on the loop.
 * One job at a time per worker (deployments run in order); a thread per job, so an idle worker
 * costs no thread.
 *
 * Thread-safety contract:
 *  - the work function runs on the worker thread with every signal blocked. It may use what arg
 *    points at and nothing the loop owns (event sources, agent state, the outbox, ...): the loop
 *    thread leaves arg alone from worker_start() until done runs, and done gets arg back. Results
 *    travel the same way, by value inside arg, plus fn's int return.
 *  - every worker_* function is called on the loop's thread, except worker_cancel_requested() and
 *    worker_cancel_fd(), which are for the work function. */
#pragma once

#include <stdbool.h>

#include "common/cleanup.h"
#include "event.h"

typedef struct PhWorker PhWorker;
typedef struct PhCancel PhCancel;

/* On the worker thread. Long waits should poll worker_cancel_fd(cancel) beside their own fds
 * (the HTTP client and the hook runner take such a cancel fd) and return -ECANCELED soon after it
 * becomes readable; loops of short steps can test worker_cancel_requested(cancel) between steps. */
typedef int (*PhWorkFn)(void *arg, const PhCancel *cancel);
/* On the loop thread once fn has returned r; arg is the caller's again. It may free the worker or
 * start the next job. */
typedef void (*PhWorkDoneFn)(PhWorker *w, int r, void *arg, void *userdata);

/* 0 or a negative errno (eventfd or the loop's epoll failed). */
int worker_new(PhEvent *e, PhWorker **ret);
/* With a job running: cancels it, waits for fn to return and calls done, so arg always comes back.
 * NULL-safe; returns NULL. */
PhWorker *worker_free(PhWorker *w);
PH_DEFINE_CLEANUP(PhWorker *, worker_free)

/* Runs fn(arg) on a new thread; done(w, r, arg, userdata) follows on the loop. -EBUSY while a job
 * runs, or a negative errno when no thread could be started (then nothing runs and done is not
 * called). */
int worker_start(PhWorker *w, PhWorkFn fn, void *arg, PhWorkDoneFn done, void *userdata);
/* Asks the running job to stop: sets the flag and makes the cancel fd readable. No-op when idle. */
void worker_cancel(PhWorker *w);
bool worker_busy(const PhWorker *w);

/* For the work function. The fd is readable from the cancel on until the job ends; never read it. */
bool worker_cancel_requested(const PhCancel *c);
int worker_cancel_fd(const PhCancel *c);
