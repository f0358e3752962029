/* The loop of event.h. One epoll fd; timers are a list sorted by deadline whose head sets
 * epoll_wait's timeout (a daemon has a handful of them, so a heap would buy nothing); signals come
 * from one signalfd, itself an internal I/O source; a child is a pidfd. A source removed while the
 * loop dispatches is unlinked at once and freed when the iteration ends, so no handle that the
 * iteration still holds ever points at freed memory. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PH_LOG_MODULE "event"
#include "common/log.h"
#include "event.h"

typedef enum SourceType {
        SOURCE_IO,
        SOURCE_TIME,
        SOURCE_SIGNAL,
        SOURCE_DEFER,
        SOURCE_CHILD,
} SourceType;

struct PhEventSource {
        PhEvent *loop;
        SourceType type;
        bool enabled;
        bool pending; /* ready in the iteration being dispatched */
        bool dead;    /* removed during dispatch: on e->dead until the iteration ends */
        char *description;
        void *userdata;
        PhEventSource *prev, *next; /* e->sources (or e->dead, through next) */
        PhEventSource *pending_next;
        PhEventSource *timer_next; /* e->timers: enabled timers only */
        union {
                struct {
                        int fd;
                        uint32_t events, revents;
                        PhEventIoFn cb;
                } io;
                struct {
                        uint64_t usec;
                        PhEventTimeFn cb;
                } time;
                struct {
                        int signo;
                        bool was_blocked; /* restored when the source goes */
                        PhEventSignalFn cb;
                } signal;
                struct {
                        PhEventDeferFn cb;
                } defer;
                struct {
                        int pidfd;
                        bool reaped;
                        PhEventChildFn cb;
                } child;
        };
};

struct PhEvent {
        int epfd;
        int sigfd;                   /* -1 until the first signal source */
        sigset_t sigmask;            /* what sigfd reads: the enabled signal sources */
        PhEventSource *sigfd_source; /* internal I/O source on sigfd */
        PhEventSource *signals[_NSIG];
        PhEventSource *sources; /* every live source */
        PhEventSource *dead;
        PhEventSource *timers; /* sorted by deadline; equal deadlines in the order they were set */
        PhEventSource *pending, **pending_tail;
        bool running; /* inside event_run_once: frees wait for its end */
        bool exiting;
        int exit_code;
};

uint64_t event_now(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

int event_new(PhEvent **ret) {
        PhEvent *e = xcalloc(1, sizeof(*e));

        e->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (e->epfd < 0) {
                int r = -errno;
                free(e);
                return r;
        }
        e->sigfd = -1;
        sigemptyset(&e->sigmask);
        *ret = e;
        return 0;
}

static void source_free(PhEventSource *s) {
        free(s->description);
        free(s);
}

PhEvent *event_free(PhEvent *e) {
        if (!e)
                return NULL;
        /* The internal signalfd source goes last: signal sources update its mask on their way out. */
        for (PhEventSource *s = e->sources, *next; s; s = next) {
                next = s->next;
                if (s != e->sigfd_source)
                        (void) event_source_unref(s);
        }
        (void) event_source_unref(e->sigfd_source);
        if (e->sigfd >= 0)
                (void) close(e->sigfd);
        (void) close(e->epfd);
        free(e);
        return NULL;
}

static PhEventSource *source_new(PhEvent *e, SourceType type, void *userdata) {
        PhEventSource *s = xcalloc(1, sizeof(*s));

        s->loop = e;
        s->type = type;
        s->userdata = userdata;
        s->next = e->sources;
        if (e->sources)
                e->sources->prev = s;
        e->sources = s;
        return s;
}

static void timer_unlink(PhEventSource *s) {
        for (PhEventSource **p = &s->loop->timers; *p; p = &(*p)->timer_next)
                if (*p == s) {
                        *p = s->timer_next;
                        s->timer_next = NULL;
                        return;
                }
}

static void timer_link(PhEventSource *s) {
        PhEventSource **p = &s->loop->timers;

        while (*p && (*p)->time.usec <= s->time.usec)
                p = &(*p)->timer_next;
        s->timer_next = *p;
        *p = s;
}

static int sigfd_update(PhEvent *e) {
        return signalfd(e->sigfd, &e->sigmask, 0) < 0 ? -errno : 0;
}

static int epoll_update(PhEventSource *s, int fd, uint32_t events, bool on) {
        struct epoll_event ev = {.events = events, .data.ptr = s};

        if (epoll_ctl(s->loop->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &ev) < 0)
                return -errno;
        return 0;
}

int event_source_set_enabled(PhEventSource *s, bool enabled) {
        PhEvent *e = s->loop;
        int r = 0;

        if (s->dead)
                return -ESTALE;
        if (!enabled)
                s->pending = false;
        if (s->enabled == enabled)
                return 0;
        switch (s->type) {
        case SOURCE_IO:
                r = epoll_update(s, s->io.fd, s->io.events, enabled);
                break;
        case SOURCE_TIME:
                if (enabled)
                        timer_link(s);
                else
                        timer_unlink(s);
                break;
        case SOURCE_SIGNAL:
                /* A disabled signal stays blocked and pending in the kernel until it is enabled again. */
                if (enabled)
                        sigaddset(&e->sigmask, s->signal.signo);
                else
                        sigdelset(&e->sigmask, s->signal.signo);
                r = sigfd_update(e);
                break;
        case SOURCE_DEFER:
                break;
        case SOURCE_CHILD:
                if (enabled && s->child.reaped)
                        return -ECHILD;
                r = epoll_update(s, s->child.pidfd, EPOLLIN, enabled);
                break;
        }
        if (r >= 0)
                s->enabled = enabled;
        return r;
}

bool event_source_get_enabled(const PhEventSource *s) {
        return s->enabled;
}

PhEventSource *event_source_unref(PhEventSource *s) {
        if (!s || s->dead)
                return NULL;
        PhEvent *e = s->loop;

        (void) event_source_set_enabled(s, false);
        if (s->type == SOURCE_SIGNAL) {
                e->signals[s->signal.signo] = NULL;
                if (!s->signal.was_blocked) {
                        sigset_t one;
                        sigemptyset(&one);
                        sigaddset(&one, s->signal.signo);
                        (void) pthread_sigmask(SIG_UNBLOCK, &one, NULL);
                }
        } else if (s->type == SOURCE_CHILD)
                (void) close(s->child.pidfd);
        if (s->prev)
                s->prev->next = s->next;
        else
                e->sources = s->next;
        if (s->next)
                s->next->prev = s->prev;
        s->prev = NULL;
        if (e->running) {
                s->dead = true;
                s->next = e->dead;
                e->dead = s;
        } else
                source_free(s);
        return NULL;
}

void event_source_set_description(PhEventSource *s, const char *description) {
        free(s->description);
        s->description = description ? xstrdup(description) : NULL;
}

const char *event_source_get_description(const PhEventSource *s) {
        return s->description;
}

void *event_source_get_userdata(const PhEventSource *s) {
        return s->userdata;
}

/* Hands out the new source, or removes it again when it could not be enabled. */
static int source_finish(PhEventSource *s, PhEventSource **ret) {
        int r = event_source_set_enabled(s, true);

        if (r < 0) {
                (void) event_source_unref(s);
                return r;
        }
        if (ret)
                *ret = s;
        return 0;
}

int event_add_io(PhEvent *e, PhEventSource **ret, int fd, uint32_t events, PhEventIoFn cb, void *userdata) {
        if (fd < 0 || !cb)
                return -EINVAL;
        PhEventSource *s = source_new(e, SOURCE_IO, userdata);
        s->io.fd = fd;
        s->io.events = events;
        s->io.cb = cb;
        return source_finish(s, ret);
}

int event_source_set_io_events(PhEventSource *s, uint32_t events) {
        if (s->type != SOURCE_IO)
                return -EINVAL;
        if (s->enabled) {
                struct epoll_event ev = {.events = events, .data.ptr = s};
                if (epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->io.fd, &ev) < 0)
                        return -errno;
        }
        s->io.events = events;
        return 0;
}

int event_add_time(PhEvent *e, PhEventSource **ret, uint64_t usec, PhEventTimeFn cb, void *userdata) {
        if (!cb)
                return -EINVAL;
        PhEventSource *s = source_new(e, SOURCE_TIME, userdata);
        s->time.usec = usec;
        s->time.cb = cb;
        return source_finish(s, ret);
}

static uint64_t add_usec(uint64_t a, uint64_t b) {
        return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

int event_add_time_relative(PhEvent *e, PhEventSource **ret, uint64_t usec, PhEventTimeFn cb,
                            void *userdata) {
        return event_add_time(e, ret, add_usec(event_now(), usec), cb, userdata);
}

int event_source_set_time(PhEventSource *s, uint64_t usec) {
        if (s->type != SOURCE_TIME || s->dead)
                return -EINVAL;
        /* Re-sorted by the way out of and back into the list. */
        (void) event_source_set_enabled(s, false);
        s->time.usec = usec;
        return event_source_set_enabled(s, true);
}

int event_source_set_time_relative(PhEventSource *s, uint64_t usec) {
        return event_source_set_time(s, add_usec(event_now(), usec));
}

uint64_t event_source_get_time(const PhEventSource *s) {
        return s->type == SOURCE_TIME ? s->time.usec : 0;
}

static void source_check(PhEventSource *s, int r) {
        if (r >= 0 || s->dead)
                return;
        log_warning_errno(r, "event source %s failed and is disabled",
                          s->description ? s->description : "(no description)");
        (void) event_source_set_enabled(s, false);
}

/* The internal I/O callback of the signalfd: one signal per call (the fd stays readable while more
 * are queued), so event_exit() from a signal callback leaves the rest in the kernel. */
static int on_signalfd(PhEventSource *src, int fd, uint32_t revents, void *userdata) {
        PhEvent *e = userdata;
        struct signalfd_siginfo si;
        ssize_t n = read(fd, &si, sizeof(si));

        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (n != (ssize_t) sizeof(si) || si.ssi_signo >= _NSIG)
                return 0;
        PhEventSource *s = e->signals[si.ssi_signo];
        /* The mask follows the enabled sources, so only a signal raced with a disable lands here. */
        if (!s || !s->enabled)
                return 0;
        source_check(s, s->signal.cb(s, &si, s->userdata));
        return 0;
}

int event_add_signal(PhEvent *e, PhEventSource **ret, int signo, PhEventSignalFn cb, void *userdata) {
        sigset_t one, old;
        int r;

        if (signo <= 0 || signo >= _NSIG || signo == SIGKILL || signo == SIGSTOP || !cb)
                return -EINVAL;
        if (e->signals[signo])
                return -EBUSY;
        if (e->sigfd < 0) {
                sigset_t none;
                sigemptyset(&none);
                e->sigfd = signalfd(-1, &none, SFD_CLOEXEC | SFD_NONBLOCK);
                if (e->sigfd < 0)
                        return -errno;
                r = event_add_io(e, &e->sigfd_source, e->sigfd, EPOLLIN, on_signalfd, e);
                if (r < 0) {
                        (void) close(TAKE_FD(e->sigfd));
                        return r;
                }
                event_source_set_description(e->sigfd_source, "signalfd");
        }
        sigemptyset(&one);
        sigaddset(&one, signo);
        r = pthread_sigmask(SIG_BLOCK, &one, &old);
        if (r != 0)
                return -r;
        PhEventSource *s = source_new(e, SOURCE_SIGNAL, userdata);
        s->signal.signo = signo;
        s->signal.was_blocked = sigismember(&old, signo) == 1;
        s->signal.cb = cb;
        e->signals[signo] = s;
        return source_finish(s, ret);
}

int event_add_defer(PhEvent *e, PhEventSource **ret, PhEventDeferFn cb, void *userdata) {
        if (!cb)
                return -EINVAL;
        PhEventSource *s = source_new(e, SOURCE_DEFER, userdata);
        s->defer.cb = cb;
        return source_finish(s, ret);
}

int event_add_child(PhEvent *e, PhEventSource **ret, pid_t pid, PhEventChildFn cb, void *userdata) {
        if (pid <= 0 || !cb)
                return -EINVAL;
        /* pidfds are close-on-exec by definition. A zombie still has one: a child that has already
         * exited is reported on the first iteration. */
        int fd = pidfd_open(pid, 0);
        if (fd < 0)
                return -errno;
        PhEventSource *s = source_new(e, SOURCE_CHILD, userdata);
        s->child.pidfd = fd;
        s->child.cb = cb;
        return source_finish(s, ret);
}

static int child_dispatch(PhEventSource *s) {
        siginfo_t si = {0};

        if (waitid(P_PIDFD, (id_t) s->child.pidfd, &si, WEXITED | WNOHANG) < 0)
                return -errno;
        if (si.si_pid == 0) /* not gone after all */
                return 0;
        s->child.reaped = true;
        (void) event_source_set_enabled(s, false);
        return s->child.cb(s, &si, s->userdata);
}

static void source_dispatch(PhEventSource *s) {
        int r = 0;

        switch (s->type) {
        case SOURCE_IO:
                r = s->io.cb(s, s->io.fd, s->io.revents, s->userdata);
                break;
        case SOURCE_TIME:
                (void) event_source_set_enabled(s, false);
                r = s->time.cb(s, s->time.usec, s->userdata);
                break;
        case SOURCE_DEFER:
                (void) event_source_set_enabled(s, false);
                r = s->defer.cb(s, s->userdata);
                break;
        case SOURCE_CHILD:
                r = child_dispatch(s);
                break;
        case SOURCE_SIGNAL: /* through on_signalfd */
                break;
        }
        source_check(s, r);
}

static void mark_pending(PhEvent *e, PhEventSource *s) {
        s->pending = true;
        s->pending_next = NULL;
        *e->pending_tail = s;
        e->pending_tail = &s->pending_next;
}

static bool has_defer(const PhEvent *e) {
        for (const PhEventSource *s = e->sources; s; s = s->next)
                if (s->type == SOURCE_DEFER && s->enabled)
                        return true;
        return false;
}

/* epoll_wait's timeout: the caller's limit or the first timer, whichever comes first, rounded up to
 * whole milliseconds so a timer is never woken for before its time. */
static int wait_ms(const PhEvent *e, uint64_t timeout_usec) {
        uint64_t t = timeout_usec;

        if (has_defer(e))
                return 0;
        if (e->timers) {
                uint64_t now = event_now(), at = e->timers->time.usec;
                if (at <= now)
                        return 0;
                if (at - now < t)
                        t = at - now;
        }
        if (t == PH_EVENT_INFINITY)
                return -1;
        t = t / 1000 + (t % 1000 != 0);
        return t > INT_MAX ? INT_MAX : (int) t;
}

int event_run_once(PhEvent *e, uint64_t timeout_usec) {
        struct epoll_event evs[32];
        int n = epoll_wait(e->epfd, evs, ELEMENTSOF(evs), wait_ms(e, timeout_usec));

        if (n < 0)
                return errno == EINTR ? 0 : -errno;
        e->running = true;
        e->pending = NULL;
        e->pending_tail = &e->pending;
        for (int i = 0; i < n; i++) {
                PhEventSource *s = evs[i].data.ptr;
                if (s->type == SOURCE_IO)
                        s->io.revents = evs[i].events;
                mark_pending(e, s);
        }
        uint64_t now = event_now();
        for (PhEventSource *s = e->timers; s && s->time.usec <= now; s = s->timer_next)
                mark_pending(e, s);
        for (PhEventSource *s = e->sources; s; s = s->next)
                if (s->type == SOURCE_DEFER && s->enabled)
                        mark_pending(e, s);

        for (PhEventSource *s = e->pending; s; s = s->pending_next) {
                /* Cleared by a disable in an earlier callback of this iteration: removal and
                 * event_source_set_time() pass through one, so a timer moved to later waits. */
                if (!s->pending || e->exiting)
                        continue;
                s->pending = false;
                source_dispatch(s);
        }
        for (PhEventSource *s = e->pending; s; s = s->pending_next)
                s->pending = false;
        e->running = false;
        while (e->dead) {
                PhEventSource *s = e->dead;
                e->dead = s->next;
                source_free(s);
        }
        return 0;
}

int event_loop(PhEvent *e) {
        while (!e->exiting) {
                int r = event_run_once(e, PH_EVENT_INFINITY);
                if (r < 0)
                        return r;
        }
        e->exiting = false;
        return e->exit_code;
}

void event_exit(PhEvent *e, int code) {
        e->exiting = true;
        e->exit_code = code;
}
