/* notify.h: the queue is the one thing both threads touch (under a mutex); an eventfd tells the loop
 * that something was queued. The command gets its event in a sealed memfd as stdin, so nothing has to
 * be written to it while it runs, and the loop watches it through a pidfd (event_add_child). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define PH_LOG_MODULE "agent"
#include "common/log.h"
#include "common/secret.h"
#include "notify.h"

extern char **environ;

struct PhNotifier {
        PhStatus *status;
        pthread_mutex_t lock;
        json_t *queue;      /* oldest first; under lock */
        int wake_fd;        /* eventfd: something was queued */
        atomic_bool wanted; /* there is a command: events are queued for it */
        PhNotifySink sink;  /* set while no other thread emits */
        void *sink_userdata;
        /* loop thread only */
        char *command;
        uint64_t timeout_usec;
        PhEvent *loop;
        PhEventSource *wake_source, *child_source, *kill_timer;
        pid_t child;
};

static const char *const kind_names[_PH_NOTICE_KIND_MAX] = {
        [PH_NOTICE_DEPLOYMENT_FAILED] = "deployment_failed",
        [PH_NOTICE_ROLLED_BACK] = "rolled_back",
        [PH_NOTICE_PROBE_FAILED] = "probe_failed",
        [PH_NOTICE_CONTAINER_RESTARTED] = "container_restarted",
        [PH_NOTICE_POD_HEALED] = "pod_healed",
        [PH_NOTICE_DROPIN_INVALID] = "dropin_invalid",
};

const char *notice_kind_to_string(PhNoticeKind k) {
        return (unsigned) k < _PH_NOTICE_KIND_MAX ? kind_names[k] : "unknown";
}

json_t *notice_to_json(const PhNotice *n, time_t when) {
        char stamp[32];
        struct tm tm;
        json_t *e = json_object();

        if (json_is_object(n->details))
                (void) json_object_update(e, (json_t *) n->details);
        (void) gmtime_r(&when, &tm);
        (void) strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
        json_object_set_new(e, "kind", json_string(notice_kind_to_string(n->kind)));
        json_object_set_new(e, "time", json_string(stamp));
        if (n->pod)
                json_object_set_new(e, "pod", json_string(n->pod));
        if (n->deployment)
                json_object_set_new(e, "deployment", json_string(n->deployment));
        if (n->container)
                json_object_set_new(e, "container", json_string(n->container));
        json_t *msg = json_string(n->message ? n->message : "");
        json_object_set_new(e, "message", msg ? msg : json_string("(a message that is not UTF-8)"));
        secret_redact_deep(e, NULL);
        return e;
}

int notifier_new(PhStatus *status, const char *command, PhNotifier **ret) {
        PhNotifier *n = xcalloc(1, sizeof(*n));

        n->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (n->wake_fd < 0) {
                int r = -errno;
                free(n);
                return r;
        }
        (void) pthread_mutex_init(&n->lock, NULL);
        n->status = status;
        n->queue = json_array();
        notifier_set_command(n, command);
        n->timeout_usec = NOTIFY_EXEC_TIMEOUT_USEC;
        n->child = -1;
        *ret = n;
        return 0;
}

void notifier_detach(PhNotifier *n) {
        if (!n)
                return;
        n->wake_source = event_source_unref(n->wake_source);
        n->child_source = event_source_unref(n->child_source);
        n->kill_timer = event_source_unref(n->kill_timer);
        n->loop = NULL;
        n->child = -1;
}

PhNotifier *notifier_free(PhNotifier *n) {
        if (!n)
                return NULL;
        notifier_detach(n);
        (void) close(n->wake_fd);
        json_decref(n->queue);
        (void) pthread_mutex_destroy(&n->lock);
        free(n->command);
        free(n);
        return NULL;
}

void notifier_set_command(PhNotifier *n, const char *command) {
        free(n->command);
        n->command = command && *command ? xstrdup(command) : NULL;
        atomic_store(&n->wanted, n->command != NULL);
}

void notifier_set_sink(PhNotifier *n, PhNotifySink fn, void *userdata) {
        n->sink = fn;
        n->sink_userdata = userdata;
}

void notifier_set_timeout(PhNotifier *n, uint64_t usec) {
        n->timeout_usec = usec;
}

void notify_emit(PhNotifier *n, const PhNotice *notice) {
        json_auto_t *e = notice_to_json(notice, time(NULL));
        const char *msg = json_string_value(json_object_get(e, "message"));
        bool bad = notice->kind != PH_NOTICE_POD_HEALED && notice->kind != PH_NOTICE_CONTAINER_RESTARTED;
        json_t *dropped = NULL;

        if (bad)
                log_warning("event %s: %s", notice_kind_to_string(notice->kind), msg);
        else
                log_info("event %s: %s", notice_kind_to_string(notice->kind), msg);
        if (n->status)
                status_event_add(n->status, e);
        if (n->sink)
                n->sink(e, n->sink_userdata);
        if (!atomic_load(&n->wanted))
                return;
        (void) pthread_mutex_lock(&n->lock);
        if (json_array_size(n->queue) >= NOTIFY_QUEUE_MAX) {
                dropped = json_incref(json_array_get(n->queue, 0));
                (void) json_array_remove(n->queue, 0);
        }
        /* A copy of its own: what the loop thread takes from the queue shares nothing with this one. */
        json_array_append_new(n->queue, json_deep_copy(e));
        (void) pthread_mutex_unlock(&n->lock);
        if (dropped) {
                log_warning("notify-exec: %u events wait for the command; the oldest (%s at %s) is dropped",
                            NOTIFY_QUEUE_MAX, json_string_value(json_object_get(dropped, "kind")),
                            json_string_value(json_object_get(dropped, "time")));
                if (n->status)
                        status_counter_add(n->status, PH_STATUS_EVENTS_DROPPED, 1);
                json_decref(dropped);
        }
        uint64_t one = 1;
        (void) !write(n->wake_fd, &one, sizeof(one));
}

/* The next event for the command (new ref), NULL when none waits. */
static json_t *queue_pop(PhNotifier *n) {
        (void) pthread_mutex_lock(&n->lock);
        json_t *e = json_incref(json_array_get(n->queue, 0));
        if (e)
                (void) json_array_remove(n->queue, 0);
        (void) pthread_mutex_unlock(&n->lock);
        return e;
}

static size_t queue_length(PhNotifier *n) {
        (void) pthread_mutex_lock(&n->lock);
        size_t len = json_array_size(n->queue);
        (void) pthread_mutex_unlock(&n->lock);
        return len;
}

/* A sealed memfd holding text, at offset 0: the command's stdin. */
static int stdin_of(const char *text) {
        size_t len = strlen(text), done = 0;
        int fd = memfd_create("podhook-event", MFD_CLOEXEC | MFD_ALLOW_SEALING);

        if (fd < 0)
                return -errno;
        while (done < len) {
                ssize_t w = write(fd, text + done, len - done);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0) {
                        int r = w < 0 ? -errno : -EIO;
                        (void) close(fd);
                        return r;
                }
                done += (size_t) w;
        }
        (void) fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
        if (lseek(fd, 0, SEEK_SET) < 0) {
                int r = -errno;
                (void) close(fd);
                return r;
        }
        return fd;
}

static void start_next(PhNotifier *n);

static int on_kill_timer(PhEventSource *s, uint64_t usec, void *userdata) {
        PhNotifier *n = userdata;

        if (n->child > 0) {
                log_warning("notify-exec: the command ran longer than %llu s and is killed",
                            (unsigned long long) (n->timeout_usec / 1000000));
                (void) kill(-n->child, SIGKILL);
                (void) kill(n->child, SIGKILL);
        }
        return 0;
}

static int on_child(PhEventSource *s, const siginfo_t *si, void *userdata) {
        PhNotifier *n = userdata;

        if (si->si_code == CLD_EXITED && si->si_status != 0)
                log_warning("notify-exec: the command exited with status %d", si->si_status);
        else if (si->si_code != CLD_EXITED)
                log_warning("notify-exec: the command was killed by signal %d", si->si_status);
        n->child = -1;
        n->child_source = event_source_unref(n->child_source);
        n->kill_timer = event_source_unref(n->kill_timer);
        start_next(n);
        return 0;
}

/* The child: default signal handling, its own process group (the timeout kills all it started), the
 * event on stdin. Only async-signal-safe calls between fork and exec. */
static void child_exec(int in, char *const argv[], char *const envp[]) {
        sigset_t none;

        sigemptyset(&none);
        (void) sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        (void) signal(s, SIG_DFL);
        (void) setpgid(0, 0);
        if (dup2(in, 0) < 0)
                _exit(127);
        execve(argv[0], argv, envp);
        _exit(127);
}

static void start_next(PhNotifier *n) {
        if (!n->loop || n->child > 0 || !n->command)
                return;
        json_auto_t *e = queue_pop(n);
        if (!e)
                return;
        _cleanup_free_ char *text = json_dumps(e, JSON_COMPACT);
        _cleanup_free_ char *kind_env =
                xasprintf("PODHOOK_EVENT_KIND=%s", json_string_value(json_object_get(e, "kind")));
        _cleanup_close_ int in = stdin_of(text ? text : "{}");
        if (in < 0) {
                log_warning_errno(in, "notify-exec: cannot hand the event over");
                return;
        }
        size_t nenv = strv_length(environ);
        _cleanup_free_ char **envp = xcalloc(nenv + 2, sizeof(char *));
        memcpy(envp, environ, nenv * sizeof(char *));
        envp[nenv] = kind_env;
        char *argv[] = {(char *) "/bin/sh", (char *) "-c", n->command, NULL};
        pid_t pid = fork();
        if (pid < 0) {
                log_warning_errno(errno, "notify-exec: fork");
                return;
        }
        if (pid == 0)
                child_exec(in, argv, envp);
        (void) setpgid(pid, pid);
        n->child = pid;
        int r = event_add_child(n->loop, &n->child_source, pid, on_child, n);
        if (r < 0) {
                /* Cannot be watched: it is not left to run unbounded. */
                log_warning_errno(r, "notify-exec: cannot watch the command; it is killed");
                (void) kill(-pid, SIGKILL);
                (void) kill(pid, SIGKILL);
                n->child = -1;
                return;
        }
        event_source_set_description(n->child_source, "notify-exec");
        r = event_add_time_relative(n->loop, &n->kill_timer, n->timeout_usec, on_kill_timer, n);
        if (r >= 0)
                event_source_set_description(n->kill_timer, "notify-exec timeout");
}

static int on_wake(PhEventSource *s, int fd, uint32_t revents, void *userdata) {
        PhNotifier *n = userdata;
        uint64_t v;

        (void) !read(fd, &v, sizeof(v));
        start_next(n);
        /* The command was taken away (a reload): what waited for it goes. */
        if (!n->command)
                while (queue_length(n) > 0)
                        json_decref(queue_pop(n));
        return 0;
}

int notifier_attach(PhNotifier *n, PhEvent *e) {
        int r;

        if (n->loop)
                return -EBUSY;
        r = event_add_io(e, &n->wake_source, n->wake_fd, EPOLLIN, on_wake, n);
        if (r < 0)
                return r;
        event_source_set_description(n->wake_source, "notify queue");
        n->loop = e;
        start_next(n);
        return 0;
}

int notifier_drain(PhNotifier *n, PhEvent *e, uint64_t timeout_usec) {
        uint64_t deadline = event_now() + timeout_usec;
        int r;

        if (!n->command)
                return 0;
        if (!n->loop) {
                r = notifier_attach(n, e);
                if (r < 0)
                        return r;
        }
        while ((n->child > 0 || queue_length(n) > 0) && event_now() < deadline) {
                r = event_run_once(e, deadline - event_now());
                if (r < 0)
                        return r;
        }
        return n->child > 0 || queue_length(n) > 0 ? -ETIMEDOUT : 0;
}
