/* The event loop: I/O, timers (order, one-shot, re-arm), signals, defers, children, removal from
 * inside callbacks, failing callbacks, exit. Every wait is bounded by a deadline timer. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event.h"
#include "tap.h"

#define MS 1000u

/* Stops a loop that would otherwise hang: event_loop() then returns -ETIMEDOUT. */
static int on_deadline(PhEventSource *s, uint64_t usec, void *userdata) {
        event_exit(userdata, -ETIMEDOUT);
        return 0;
}

static PhEventSource *deadline(PhEvent *e, uint64_t usec) {
        PhEventSource *s = NULL;

        if (event_add_time_relative(e, &s, usec, on_deadline, e) < 0)
                abort();
        return s;
}

typedef struct Counter {
        PhEvent *e;
        int calls;
        uint32_t revents;
        PhEventSource *victim; /* removed by the callback, when set */
        int exit_after;        /* event_exit() at this many calls, when > 0 */
        int ret;               /* what the callback returns */
} Counter;

static int on_read(PhEventSource *s, int fd, uint32_t revents, void *userdata) {
        Counter *c = userdata;
        char b;

        c->calls++;
        c->revents = revents;
        (void) !read(fd, &b, 1);
        if (c->victim)
                c->victim = event_source_unref(c->victim);
        if (c->exit_after > 0 && c->calls == c->exit_after)
                event_exit(c->e, 0);
        return c->ret;
}

static int on_read_remove_self(PhEventSource *s, int fd, uint32_t revents, void *userdata) {
        Counter *c = userdata;
        char b;

        c->calls++;
        (void) !read(fd, &b, 1);
        (void) event_source_unref(s);
        return 0;
}

static void test_io(void) {
        _cleanup_(event_freep) PhEvent *e = NULL;
        int p[2];
        Counter c = {0};
        PhEventSource *s = NULL;

        TAP_CHECK(event_new(&e) == 0);
        TAP_CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
        TAP_CHECK(event_add_io(e, &s, p[0], EPOLLIN, on_read, &c) == 0);
        TAP_CHECK(event_run_once(e, 0) == 0 && c.calls == 0);
        TAP_CHECK(write(p[1], "x", 1) == 1);
        TAP_CHECK(event_run_once(e, 1000 * MS) == 0);
        TAP_CHECK(c.calls == 1 && (c.revents & EPOLLIN));

        /* Disabled: ready but not called; enabled again: called. */
        TAP_CHECK(write(p[1], "y", 1) == 1);
        TAP_CHECK(event_source_set_enabled(s, false) == 0 && !event_source_get_enabled(s));
        TAP_CHECK(event_run_once(e, 0) == 0 && c.calls == 1);
        TAP_CHECK(event_source_set_enabled(s, true) == 0);
        TAP_CHECK(event_run_once(e, 1000 * MS) == 0 && c.calls == 2);

        /* EPOLLOUT on the write end, switched on and off. */
        Counter w = {0};
        PhEventSource *ws = NULL;
        TAP_CHECK(event_add_io(e, &ws, p[1], 0, on_read, &w) == 0);
        TAP_CHECK(event_run_once(e, 0) == 0 && w.calls == 0);
        TAP_CHECK(event_source_set_io_events(ws, EPOLLOUT) == 0);
        TAP_CHECK(event_run_once(e, 1000 * MS) == 0 && w.calls == 1 && (w.revents & EPOLLOUT));
        TAP_CHECK(event_add_io(e, NULL, -1, EPOLLIN, on_read, &c) == -EINVAL);
        (void) event_source_unref(ws);
        (void) event_source_unref(s);
        close(p[0]);
        close(p[1]);
}

typedef struct Order {
        PhEvent *e;
        int seen[8];
        int n;
        bool early; /* a timer ran before its time */
        int exit_at;
} Order;

typedef struct Tag {
        Order *o;
        int id;
        PhEventSource **victim; /* removed by the callback, when set */
} Tag;

static int on_order(PhEventSource *s, uint64_t usec, void *userdata) {
        Tag *t = userdata;

        if (event_now() < usec || event_source_get_time(s) != usec)
                t->o->early = true;
        t->o->seen[t->o->n++] = t->id;
        if (t->victim)
                *t->victim = event_source_unref(*t->victim);
        if (t->o->n == t->o->exit_at)
                event_exit(t->o->e, 0);
        return 0;
}

typedef struct Mover {
        Tag *tag;
        PhEventSource **target; /* moved 30 ms on from now */
} Mover;

static int on_move(PhEventSource *s, uint64_t usec, void *userdata) {
        Mover *m = userdata;

        (void) event_source_set_time_relative(*m->target, 30 * MS);
        return on_order(s, usec, m->tag);
}

typedef struct Rearm {
        PhEvent *e;
        int fired;
        uint64_t last;
        bool monotone;
} Rearm;

static int on_rearm(PhEventSource *s, uint64_t usec, void *userdata) {
        Rearm *r = userdata;

        if (usec < r->last)
                r->monotone = false;
        r->last = usec;
        if (++r->fired == 5)
                event_exit(r->e, 0);
        else
                (void) event_source_set_time_relative(s, 1 * MS);
        return 0;
}

static void test_timers(void) {
        _cleanup_(event_freep) PhEvent *e = NULL;
        uint64_t now = event_now();
        Order o = {.exit_at = 4};
        Tag t[4] = {{&o, 30, NULL}, {&o, 10, NULL}, {&o, 20, NULL}, {&o, 21, NULL}};
        PhEventSource *s10 = NULL;

        TAP_CHECK(event_new(&e) == 0);
        o.e = e;
        deadline(e, 5000 * MS);
        /* Added out of order; 20 and 21 share a deadline and run in the order they were added. */
        TAP_CHECK(event_add_time(e, NULL, now + 30 * MS, on_order, &t[0]) == 0);
        TAP_CHECK(event_add_time(e, &s10, now + 10 * MS, on_order, &t[1]) == 0);
        TAP_CHECK(event_add_time(e, NULL, now + 20 * MS, on_order, &t[2]) == 0);
        TAP_CHECK(event_add_time(e, NULL, now + 20 * MS, on_order, &t[3]) == 0);
        TAP_CHECK(event_loop(e) == 0);
        TAP_CHECK(o.n == 4 && o.seen[0] == 10 && o.seen[1] == 20 && o.seen[2] == 21 && o.seen[3] == 30);
        TAP_CHECK(!o.early);
        TAP_CHECK(event_now() >= now + 30 * MS);

        /* One-shot: disabled after it ran, silent until re-armed. */
        TAP_CHECK(!event_source_get_enabled(s10));
        TAP_CHECK(event_run_once(e, 20 * MS) == 0 && o.n == 4);
        o.exit_at = 5;
        TAP_CHECK(event_source_set_time_relative(s10, 1 * MS) == 0 && event_source_get_enabled(s10));
        TAP_CHECK(event_loop(e) == 0 && o.n == 5 && o.seen[4] == 10);

        /* Moved behind another timer while armed: the order follows. */
        Order o2 = {.e = e, .exit_at = 2};
        Tag a = {&o2, 1, NULL}, b = {&o2, 2, NULL};
        PhEventSource *sa = NULL;
        now = event_now();
        TAP_CHECK(event_add_time(e, &sa, now + 5 * MS, on_order, &a) == 0);
        TAP_CHECK(event_add_time(e, NULL, now + 10 * MS, on_order, &b) == 0);
        TAP_CHECK(event_source_set_time(sa, now + 15 * MS) == 0 &&
                  event_source_get_time(sa) == now + 15 * MS);
        TAP_CHECK(event_loop(e) == 0 && o2.seen[0] == 2 && o2.seen[1] == 1);

        /* Due together, the first moves the second to later: the second waits for its new time. */
        Order o3 = {.e = e, .exit_at = 2};
        PhEventSource *later = NULL;
        Tag c = {&o3, 1, NULL}, d = {&o3, 2, NULL};
        Mover m = {.tag = &c, .target = &later};
        now = event_now();
        TAP_CHECK(event_add_time(e, NULL, now + 1 * MS, on_move, &m) == 0);
        TAP_CHECK(event_add_time(e, &later, now + 1 * MS, on_order, &d) == 0);
        TAP_CHECK(event_loop(e) == 0 && o3.n == 2 && o3.seen[0] == 1 && o3.seen[1] == 2);
        TAP_CHECK(!o3.early && event_now() >= now + 30 * MS);

        /* Re-armed from its own callback, five times. */
        Rearm r = {.e = e, .monotone = true};
        TAP_CHECK(event_add_time_relative(e, NULL, 1 * MS, on_rearm, &r) == 0);
        TAP_CHECK(event_loop(e) == 0);
        TAP_CHECK(r.fired == 5 && r.monotone);
}

typedef struct Sig {
        PhEvent *e;
        int calls;
        struct signalfd_siginfo si;
} Sig;

static int on_signal(PhEventSource *s, const struct signalfd_siginfo *si, void *userdata) {
        Sig *g = userdata;

        g->calls++;
        g->si = *si;
        event_exit(g->e, 0);
        return 0;
}

static bool blocked(int signo) {
        sigset_t cur;

        (void) pthread_sigmask(SIG_BLOCK, NULL, &cur);
        return sigismember(&cur, signo) == 1;
}

static void test_signal(void) {
        _cleanup_(event_freep) PhEvent *e = NULL;
        PhEventSource *s = NULL;
        Sig g = {0};

        TAP_CHECK(event_new(&e) == 0);
        g.e = e;
        TAP_CHECK(!blocked(SIGUSR1));
        TAP_CHECK(event_add_signal(e, &s, SIGUSR1, on_signal, &g) == 0);
        TAP_CHECK(blocked(SIGUSR1));
        TAP_CHECK(event_add_signal(e, NULL, SIGUSR1, on_signal, &g) == -EBUSY);
        TAP_CHECK(event_add_signal(e, NULL, SIGKILL, on_signal, &g) == -EINVAL);
        PhEventSource *dl = deadline(e, 5000 * MS);
        TAP_CHECK(kill(getpid(), SIGUSR1) == 0);
        TAP_CHECK(event_loop(e) == 0);
        TAP_CHECK(g.calls == 1 && g.si.ssi_signo == SIGUSR1 && g.si.ssi_pid == (uint32_t) getpid());

        /* Disabled, a signal waits in the kernel; enabled, it arrives. */
        TAP_CHECK(event_source_set_enabled(s, false) == 0);
        TAP_CHECK(kill(getpid(), SIGUSR1) == 0);
        TAP_CHECK(event_run_once(e, 10 * MS) == 0 && g.calls == 1);
        TAP_CHECK(event_source_set_enabled(s, true) == 0);
        TAP_CHECK(event_source_set_time_relative(dl, 5000 * MS) == 0);
        TAP_CHECK(event_loop(e) == 0 && g.calls == 2);

        /* Removed: the signal is unblocked again, as it was before. */
        (void) event_source_unref(s);
        TAP_CHECK(!blocked(SIGUSR1));

        /* A signal blocked before stays blocked after. */
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, SIGUSR2);
        (void) pthread_sigmask(SIG_BLOCK, &one, NULL);
        TAP_CHECK(event_add_signal(e, &s, SIGUSR2, on_signal, &g) == 0);
        (void) event_source_unref(s);
        TAP_CHECK(blocked(SIGUSR2));
        (void) pthread_sigmask(SIG_UNBLOCK, &one, NULL);
}

static int on_defer(PhEventSource *s, void *userdata) {
        (*(int *) userdata)++;
        return 0;
}

static void test_defer(void) {
        _cleanup_(event_freep) PhEvent *e = NULL;
        PhEventSource *s = NULL;
        int n = 0;

        TAP_CHECK(event_new(&e) == 0);
        TAP_CHECK(event_add_defer(e, &s, on_defer, &n) == 0);
        /* Runs without waiting for the timeout. */
        uint64_t t0 = event_now();
        TAP_CHECK(event_run_once(e, 5000 * MS) == 0 && n == 1);
        TAP_CHECK(event_now() - t0 < 1000 * MS);
        TAP_CHECK(!event_source_get_enabled(s));
        TAP_CHECK(event_run_once(e, 0) == 0 && n == 1);
        TAP_CHECK(event_source_set_enabled(s, true) == 0);
        TAP_CHECK(event_run_once(e, 5000 * MS) == 0 && n == 2);
}

typedef struct Child {
        PhEvent *e;
        int calls;
        siginfo_t si;
} Child;

static int on_child(PhEventSource *s, const siginfo_t *si, void *userdata) {
        Child *c = userdata;

        c->calls++;
        c->si = *si;
        event_exit(c->e, 0);
        return 0;
}

static void test_child(void) {
        _cleanup_(event_freep) PhEvent *e = NULL;
        PhEventSource *s = NULL;
        Child c = {0};
        int p[2];

        TAP_CHECK(event_new(&e) == 0);
        c.e = e;
        deadline(e, 10000 * MS);
        TAP_CHECK(pipe2(p, O_CLOEXEC) == 0);
        pid_t pid = fork();
        if (pid == 0) {
                char b;
                (void) !read(p[0], &b, 1); /* exits once the parent watches */
                _exit(7);
        }
        TAP_CHECK(pid > 0);
        TAP_CHECK(event_add_child(e, &s, pid, on_child, &c) == 0);
        TAP_CHECK(write(p[1], "x", 1) == 1);
        TAP_CHECK(event_loop(e) == 0);
        TAP_CHECK(c.calls == 1 && c.si.si_pid == pid && c.si.si_code == CLD_EXITED && c.si.si_status == 7);
        TAP_CHECK(waitpid(pid, NULL, WNOHANG) < 0 && errno == ECHILD); /* reaped by the loop */
        TAP_CHECK(!event_source_get_enabled(s) && event_source_set_enabled(s, true) == -ECHILD);
        close(p[0]);
        close(p[1]);

        /* Killed, and already a zombie when the source is added. */
        pid = fork();
        if (pid == 0) {
                pause();
                _exit(0);
        }
        TAP_CHECK(pid > 0 && kill(pid, SIGKILL) == 0);
        siginfo_t peek = {0};
        TAP_CHECK(waitid(P_PID, (id_t) pid, &peek, WEXITED | WNOWAIT) == 0);
        TAP_CHECK(event_add_child(e, NULL, pid, on_child, &c) == 0);
        TAP_CHECK(event_loop(e) == 0);
        TAP_CHECK(c.calls == 2 && c.si.si_code == CLD_KILLED && c.si.si_status == SIGKILL);
}

static bool two_pipes(int a[2], int b[2]) {
        return pipe2(a, O_CLOEXEC | O_NONBLOCK) == 0 && pipe2(b, O_CLOEXEC | O_NONBLOCK) == 0;
}

static void close_pipes(int a[2], int b[2]) {
        close(a[0]), close(a[1]), close(b[0]), close(b[1]);
}

static void test_removal(void) {
        _cleanup_(event_freep) PhEvent *e = NULL;
        Counter ca = {0}, cb = {0};
        PhEventSource *sa = NULL, *sb = NULL;
        int a[2], b[2];

        TAP_CHECK(event_new(&e) == 0 && two_pipes(a, b));

        /* Its own callback removes the source (ASan reports a use after free if it went too early). */
        TAP_CHECK(event_add_io(e, NULL, a[0], EPOLLIN, on_read_remove_self, &ca) == 0);
        TAP_CHECK(write(a[1], "xx", 2) == 2);
        TAP_CHECK(event_run_once(e, 1000 * MS) == 0 && ca.calls == 1);
        TAP_CHECK(event_run_once(e, 10 * MS) == 0 && ca.calls == 1);

        /* Both ready in one iteration; whichever runs first removes the other, which must not run. */
        char x;
        TAP_CHECK(read(a[0], &x, 1) == 1);
        ca = (Counter){0};
        TAP_CHECK(event_add_io(e, &sa, a[0], EPOLLIN, on_read, &ca) == 0);
        TAP_CHECK(event_add_io(e, &sb, b[0], EPOLLIN, on_read, &cb) == 0);
        ca.victim = sb;
        cb.victim = sa;
        TAP_CHECK(write(a[1], "x", 1) == 1 && write(b[1], "x", 1) == 1);
        TAP_CHECK(event_run_once(e, 1000 * MS) == 0);
        TAP_CHECK(ca.calls + cb.calls == 1);
        PhEventSource *left = ca.calls ? sa : sb;
        TAP_CHECK(write(a[1], "x", 1) == 1 && write(b[1], "x", 1) == 1);
        TAP_CHECK(event_run_once(e, 1000 * MS) == 0 && ca.calls + cb.calls == 2);
        (void) event_source_unref(left);

        /* A timer removes a due timer of the same iteration. */
        Order o = {.e = e, .exit_at = 99};
        PhEventSource *second = NULL;
        Tag t1 = {&o, 1, &second}, t2 = {&o, 2, NULL};
        uint64_t at = event_now() + 1 * MS;
        TAP_CHECK(event_add_time(e, NULL, at, on_order, &t1) == 0);
        TAP_CHECK(event_add_time(e, &second, at, on_order, &t2) == 0);
        deadline(e, 20 * MS);
        TAP_CHECK(event_loop(e) == -ETIMEDOUT && o.n == 1 && o.seen[0] == 1 && !second);
        close_pipes(a, b);
}

static void test_failure_and_exit(void) {
        _cleanup_(event_freep) PhEvent *e = NULL;
        Counter ca = {0}, cb = {0};
        PhEventSource *sa = NULL, *sb = NULL;
        int a[2], b[2];

        TAP_CHECK(event_new(&e) == 0 && two_pipes(a, b));

        /* A failing callback disables its source (one warning in the log) and the loop goes on. */
        ca.ret = -EIO;
        TAP_CHECK(event_add_io(e, &sa, a[0], EPOLLIN, on_read, &ca) == 0);
        event_source_set_description(sa, "test pipe");
        TAP_CHECK_STR(event_source_get_description(sa), "test pipe");
        TAP_CHECK(event_source_get_userdata(sa) == &ca);
        TAP_CHECK(write(a[1], "xx", 2) == 2);
        TAP_CHECK(event_run_once(e, 1000 * MS) == 0 && ca.calls == 1);
        TAP_CHECK(!event_source_get_enabled(sa));
        TAP_CHECK(event_run_once(e, 10 * MS) == 0 && ca.calls == 1);

        /* event_exit() ends the iteration: the other ready source waits for the next run. */
        ca = (Counter){.e = e, .exit_after = 1};
        cb = (Counter){.e = e, .exit_after = 1};
        TAP_CHECK(event_source_set_enabled(sa, true) == 0);
        TAP_CHECK(event_add_io(e, &sb, b[0], EPOLLIN, on_read, &cb) == 0);
        TAP_CHECK(write(b[1], "x", 1) == 1);
        TAP_CHECK(event_loop(e) == 0 && ca.calls + cb.calls == 1);
        TAP_CHECK(event_loop(e) == 0 && ca.calls + cb.calls == 2);

        /* The exit code comes back. */
        TAP_CHECK(event_source_set_enabled(sa, false) == 0 && event_source_set_enabled(sb, false) == 0);
        deadline(e, 1 * MS);
        TAP_CHECK(event_loop(e) == -ETIMEDOUT);

        /* Sources of every kind left for event_free (ASan checks that nothing leaks). */
        TAP_CHECK(event_add_defer(e, NULL, on_defer, NULL) == 0);
        TAP_CHECK(event_add_signal(e, NULL, SIGUSR2, on_signal, NULL) == 0);
        TAP_CHECK(event_add_time_relative(e, NULL, 1000000 * MS, on_order, NULL) == 0);
        pid_t pid = fork();
        if (pid == 0)
                _exit(0);
        TAP_CHECK(event_add_child(e, NULL, pid, on_child, NULL) == 0);
        e = event_free(e);
        TAP_CHECK(!blocked(SIGUSR2));
        TAP_CHECK(waitpid(pid, NULL, 0) == pid);
        close_pipes(a, b);
}

int main(void) {
        test_io();
        test_timers();
        test_signal();
        test_defer();
        test_child();
        test_removal();
        test_failure_and_exit();
        return tap_done();
}
