/* worker.h: a thread per job; the thread's last act is a write to an eventfd that the loop
 * watches, and the loop joins the thread there. The join is what makes the thread's writes (the
 * result, everything in arg) visible to the loop thread; the cancel flag is the only field both
 * threads touch while the job runs, hence atomic. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "worker.h"

struct PhCancel {
        atomic_bool requested;
        int fd; /* eventfd: a count > 0 from worker_cancel() until the job ends */
};

struct PhWorker {
        PhEventSource *done_source;
        int done_fd; /* eventfd: the thread's "fn returned" */
        PhCancel cancel;
        bool busy;
        pthread_t thread;
        /* Set before the thread starts, read by it; result is written by it, read after the join. */
        PhWorkFn fn;
        void *arg;
        int result;
        PhWorkDoneFn done;
        void *userdata;
};

bool worker_cancel_requested(const PhCancel *c) {
        return atomic_load(&c->requested);
}

int worker_cancel_fd(const PhCancel *c) {
        return c->fd;
}

static void eventfd_drain(int fd) {
        uint64_t v;

        (void) !read(fd, &v, sizeof(v));
}

static void eventfd_signal(int fd) {
        uint64_t one = 1;

        /* Cannot fail short: the counter would have to reach 2^64 - 1. */
        (void) !write(fd, &one, sizeof(one));
}

/* Joins the finished thread and leaves the worker idle; returns fn's result. */
static int worker_reap(PhWorker *w) {
        (void) pthread_join(w->thread, NULL);
        eventfd_drain(w->done_fd);
        eventfd_drain(w->cancel.fd);
        atomic_store(&w->cancel.requested, false);
        w->busy = false;
        return w->result;
}

/* Hands the job back; w may be gone once done returns. */
static void worker_finish(PhWorker *w) {
        int r = worker_reap(w);
        PhWorkDoneFn done = w->done;
        void *arg = w->arg, *userdata = w->userdata;

        w->fn = NULL, w->arg = NULL, w->done = NULL, w->userdata = NULL;
        if (done)
                done(w, r, arg, userdata);
}

static int on_done(PhEventSource *s, int fd, uint32_t revents, void *userdata) {
        PhWorker *w = userdata;

        if (w->busy)
                worker_finish(w);
        else
                eventfd_drain(fd);
        return 0;
}

int worker_new(PhEvent *e, PhWorker **ret) {
        _cleanup_(worker_freep) PhWorker *w = xcalloc(1, sizeof(*w));
        int r;

        w->cancel.fd = w->done_fd = -1;
        atomic_init(&w->cancel.requested, false);
        w->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->done_fd < 0)
                return -errno;
        w->cancel.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->cancel.fd < 0)
                return -errno;
        r = event_add_io(e, &w->done_source, w->done_fd, EPOLLIN, on_done, w);
        if (r < 0)
                return r;
        event_source_set_description(w->done_source, "worker");
        *ret = TAKE_PTR(w);
        return 0;
}

PhWorker *worker_free(PhWorker *w) {
        if (!w)
                return NULL;
        if (w->busy) {
                worker_cancel(w);
                worker_finish(w);
        }
        (void) event_source_unref(w->done_source);
        if (w->done_fd >= 0)
                (void) close(w->done_fd);
        if (w->cancel.fd >= 0)
                (void) close(w->cancel.fd);
        free(w);
        return NULL;
}

static void *worker_main(void *p) {
        PhWorker *w = p;

        w->result = w->fn(w->arg, &w->cancel);
        eventfd_signal(w->done_fd);
        return NULL;
}

int worker_start(PhWorker *w, PhWorkFn fn, void *arg, PhWorkDoneFn done, void *userdata) {
        sigset_t all, old;
        int r;

        if (!fn)
                return -EINVAL;
        if (w->busy)
                return -EBUSY;
        w->fn = fn, w->arg = arg, w->done = done, w->userdata = userdata;
        /* The thread inherits this mask: it must never take a signal meant for the loop's signalfd
         * (a signal no thread blocks is delivered to one of them, with its default action). */
        sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &old);
        if (r < 0)
                return r;
        r = -pthread_create(&w->thread, NULL, worker_main, w);
        (void) pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (r < 0) {
                w->fn = NULL, w->arg = NULL, w->done = NULL, w->userdata = NULL;
                return r;
        }
        w->busy = true;
        return 0;
}

void worker_cancel(PhWorker *w) {
        if (!w->busy)
                return;
        atomic_store(&w->cancel.requested, true);
        eventfd_signal(w->cancel.fd);
}

bool worker_busy(const PhWorker *w) {
        return w->busy;
}
