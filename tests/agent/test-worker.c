/* The worker: a job blocked on a pipe while the loop keeps serving a timer, an I/O ping-pong and a
 * signal; cancellation through the cancel fd; results back by value; a busy worker freed. Every wait
 * has a deadline; nothing sleeps. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "worker.h"

#define MS 1000u

/* What a job gets and hands back: the loop leaves it alone while the job runs. */
typedef struct Job {
        int fd;           /* the job blocks reading this */
        char got;         /* what it read */
        bool on_worker;   /* it ran on another thread than the loop */
        bool sig_blocked; /* with the signals blocked */
        bool saw_cancel_flag;
        pthread_t loop_thread;
} Job;

static int work_read(void *arg, const PhCancel *cancel) {
        Job *j = arg;
        sigset_t cur;
        struct pollfd p[2] = {{.fd = j->fd, .events = POLLIN},
                              {.fd = worker_cancel_fd(cancel), .events = POLLIN}};

        j->on_worker = !pthread_equal(pthread_self(), j->loop_thread);
        (void) pthread_sigmask(SIG_BLOCK, NULL, &cur);
        j->sig_blocked = sigismember(&cur, SIGUSR1) == 1 && sigismember(&cur, SIGTERM) == 1;
        /* Blocks until the loop writes or cancels. The bound only turns a loop that never gets to
         * run (work on the loop's own thread) into a failure instead of a hang. */
        int n = poll(p, 2, 10000);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -ETIMEDOUT;
        if (p[1].revents & POLLIN) {
                j->saw_cancel_flag = worker_cancel_requested(cancel);
                return -ECANCELED;
        }
        if (read(j->fd, &j->got, 1) != 1)
                return -EIO;
        return 42;
}

typedef struct Test {
        PhEvent *e;
        PhWorker *w;
        int ticks_busy; /* timer ticks while the job ran */
        int rounds;     /* ping-pong round trips while the job ran */
        int signals;
        int release_fd; /* written to end the job; -1: cancel it instead */
        int release_at; /* ticks */
        bool released;
        int done_calls;
        int done_r;
        bool done_on_loop;
        Job *done_arg;
        pthread_t loop_thread;
        int sv[2];
} Test;

static int on_tick(PhEventSource *s, uint64_t usec, void *userdata) {
        Test *t = userdata;

        if (!worker_busy(t->w))
                return 0;
        t->ticks_busy++;
        if (t->ticks_busy == 3)
                (void) kill(getpid(), SIGUSR1);
        /* Release once the loop has proven itself: ticks, round trips and the signal all served. */
        if (!t->released && t->ticks_busy >= t->release_at && t->rounds >= 200 && t->signals == 1) {
                t->released = true;
                if (t->release_fd >= 0)
                        (void) !write(t->release_fd, "k", 1);
                else
                        worker_cancel(t->w);
        }
        return event_source_set_time_relative(s, 1 * MS);
}

/* Each end sends back what it gets: one round trip per two callbacks, as fast as the loop goes. */
static int on_ping(PhEventSource *s, int fd, uint32_t revents, void *userdata) {
        Test *t = userdata;
        char b;

        if (read(fd, &b, 1) != 1)
                return 0;
        if (fd == t->sv[0] && worker_busy(t->w))
                t->rounds++;
        return write(fd, &b, 1) == 1 ? 0 : -errno;
}

static int on_sig(PhEventSource *s, const struct signalfd_siginfo *si, void *userdata) {
        ((Test *) userdata)->signals++;
        return 0;
}

static void on_done(PhWorker *w, int r, void *arg, void *userdata) {
        Test *t = userdata;

        t->done_calls++;
        t->done_r = r;
        t->done_arg = arg;
        t->done_on_loop = pthread_equal(pthread_self(), t->loop_thread);
        event_exit(t->e, 0);
}

static int on_deadline(PhEventSource *s, uint64_t usec, void *userdata) {
        event_exit(userdata, -ETIMEDOUT);
        return 0;
}

static void run_job(Test *t, Job *job, const char *what) {
        PhEventSource *tick = NULL, *dl = NULL, *p0 = NULL, *p1 = NULL, *sig = NULL;

        TAP_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, t->sv) == 0);
        TAP_CHECK(event_add_io(t->e, &p0, t->sv[0], EPOLLIN, on_ping, t) == 0);
        TAP_CHECK(event_add_io(t->e, &p1, t->sv[1], EPOLLIN, on_ping, t) == 0);
        TAP_CHECK(event_add_signal(t->e, &sig, SIGUSR1, on_sig, t) == 0);
        TAP_CHECK(event_add_time_relative(t->e, &tick, 1 * MS, on_tick, t) == 0);
        TAP_CHECK(event_add_time_relative(t->e, &dl, 10000 * MS, on_deadline, t->e) == 0);
        TAP_CHECK(write(t->sv[0], "p", 1) == 1);

        TAP_CHECK(worker_start(t->w, work_read, job, on_done, t) == 0);
        TAP_CHECK(worker_busy(t->w));
        TAP_CHECK(worker_start(t->w, work_read, job, on_done, t) == -EBUSY);
        int r = event_loop(t->e);
        if (!TAP_CHECK(r == 0))
                printf("# %s: the deadline passed: %d ticks, %d rounds, %d signals\n", what, t->ticks_busy,
                       t->rounds, t->signals);
        printf("# %s: %d ticks and %d round trips while the job ran\n", what, t->ticks_busy, t->rounds);
        TAP_CHECK(t->ticks_busy >= t->release_at && t->rounds >= 200 && t->signals == 1);
        TAP_CHECK(t->done_calls == 1 && t->done_arg == job && t->done_on_loop);
        TAP_CHECK(!worker_busy(t->w));
        TAP_CHECK(job->on_worker && job->sig_blocked);
        (void) event_source_unref(tick), (void) event_source_unref(dl), (void) event_source_unref(sig);
        (void) event_source_unref(p0), (void) event_source_unref(p1);
        close(t->sv[0]), close(t->sv[1]);
}

typedef struct Waiter {
        bool stale;     /* the job found itself cancelled before anyone cancelled it */
        int started_fd; /* written once the job has looked */
} Waiter;

static int work_wait_cancel(void *arg, const PhCancel *cancel) {
        Waiter *wt = arg;
        struct pollfd p = {.fd = worker_cancel_fd(cancel), .events = POLLIN};

        wt->stale = worker_cancel_requested(cancel) || poll(&p, 1, 0) != 0;
        (void) !write(wt->started_fd, "s", 1);
        return poll(&p, 1, -1) == 1 && worker_cancel_requested(cancel) ? -ECANCELED : -EIO;
}

static void on_done_count(PhWorker *w, int r, void *arg, void *userdata) {
        int *n = userdata;

        (*n)++;
        if (r == -ECANCELED)
                (*n) += 10;
}

static int work_double(void *arg, const PhCancel *cancel) {
        int *v = arg;

        *v *= 2;
        return 0;
}

typedef struct Chain {
        PhEvent *e;
        PhWorker *w;
        int in;
        int results[2];
        int n;
} Chain;

static void on_chain(PhWorker *w, int r, void *arg, void *userdata) {
        Chain *c = userdata;

        c->results[c->n++] = *(int *) arg;
        if (c->n == 1 && worker_start(w, work_double, arg, on_chain, c) == 0)
                return;
        c->w = worker_free(w);
        event_exit(c->e, 0);
}

int main(void) {
        _cleanup_(event_freep) PhEvent *e = NULL;
        int p[2];

        TAP_CHECK(event_new(&e) == 0);
        Test t = {.e = e, .loop_thread = pthread_self(), .release_at = 20};
        TAP_CHECK(worker_new(e, &t.w) == 0);

        /* A job blocked on a pipe; the loop writes to it once it has served enough. */
        TAP_CHECK(pipe2(p, O_CLOEXEC) == 0);
        Job job = {.fd = p[0], .loop_thread = pthread_self()};
        t.release_fd = p[1];
        run_job(&t, &job, "read job");
        TAP_CHECK(t.done_r == 42 && job.got == 'k');
        close(p[0]), close(p[1]);

        /* The same worker again, a job cancelled through its cancel fd. */
        TAP_CHECK(pipe2(p, O_CLOEXEC) == 0);
        Job job2 = {.fd = p[0], .loop_thread = pthread_self()};
        t = (Test){.e = e, .w = t.w, .loop_thread = pthread_self(), .release_at = 5, .release_fd = -1};
        run_job(&t, &job2, "cancelled job");
        TAP_CHECK(t.done_r == -ECANCELED && job2.saw_cancel_flag && job2.got == 0);
        close(p[0]), close(p[1]);

        /* After a cancel, the next job starts uncancelled; freeing a busy worker cancels it, waits
         * for it and still hands arg back through done. */
        int done = 0;
        TAP_CHECK(pipe2(p, O_CLOEXEC) == 0);
        Waiter wt = {.stale = true, .started_fd = p[1]};
        struct pollfd started = {.fd = p[0], .events = POLLIN};
        TAP_CHECK(worker_start(t.w, work_wait_cancel, &wt, on_done_count, &done) == 0);
        TAP_CHECK(poll(&started, 1, 10000) == 1);
        t.w = worker_free(t.w);
        TAP_CHECK(done == 11 && !wt.stale);
        close(p[0]), close(p[1]);

        /* done starts the next job, and the last done frees the worker. */
        Chain c = {.e = e, .in = 5};
        TAP_CHECK(worker_new(e, &c.w) == 0);
        TAP_CHECK(worker_start(c.w, work_double, &c.in, on_chain, &c) == 0);
        TAP_CHECK(event_add_time_relative(e, NULL, 10000 * MS, on_deadline, e) == 0);
        TAP_CHECK(event_loop(e) == 0);
        TAP_CHECK(c.results[0] == 10 && c.results[1] == 20 && c.n == 2 && !c.w);
        return tap_done();
}
