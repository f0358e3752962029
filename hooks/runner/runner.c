/* External heat-config hooks, run exactly as 55-heat-config runs them. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/deployment.h"
#include "runner/runner.h"

/* Of each stream only the last this many bytes are kept (a ring), so a flooding hook cannot exhaust
 * memory; the end is what a result keeps anyway (signals cut deploy_stdout/stderr from the front). */
#define RUNNER_MAX_OUTPUT (16u * 1024 * 1024)

extern char **environ;

int runner_find_hook(const char *group, const char *dirs, char **ret_path, PhError **reterr) {
        _cleanup_free_ char *name = xmalloc(strlen(group ? group : "") + 1);
        _cleanup_free_ char *copy = xstrdup(dirs ? dirs : "");
        size_t n = 0;
        char *save = NULL;

        for (const char *p = group ? group : ""; *p; p++)
                if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
                    *p == '_' || *p == '-')
                        name[n++] = *p;
        name[n] = '\0';
        if (n == 0)
                return ph_error_set(reterr, ENOENT, "no hook for group '%s': empty name", group ? group : "");
        for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
                _cleanup_free_ char *path = xasprintf("%s/%s", d, name);
                struct stat st;

                if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0) {
                        *ret_path = TAKE_PTR(path);
                        return 0;
                }
        }
        return ph_error_set(reterr, ENOENT, "no hook for group '%s' in %s", name,
                            dirs && *dirs ? dirs : "(no dirs)");
}

typedef struct Buf {
        char *data;
        size_t len;        /* bytes held, at most RUNNER_MAX_OUTPUT */
        size_t cap;        /* allocated, without the NUL */
        size_t start;      /* the oldest byte held, once the ring is full */
        size_t total;      /* bytes the hook wrote */
        bool dropped_text; /* a dropped byte was not JSON whitespace: what is kept is no longer JSON */
} Buf;

static void note_dropped(Buf *b, const char *p, size_t n) {
        for (size_t i = 0; i < n && !b->dropped_text; i++)
                b->dropped_text = !(p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r');
}

static void buf_add(Buf *b, const char *p, size_t n) {
        const size_t max = RUNNER_MAX_OUTPUT;

        b->total += n;
        if (n > max) {
                note_dropped(b, p, n - max);
                p += n - max;
                n = max;
        }
        if (b->start == 0 && b->len + n <= max) {
                if (b->len + n > b->cap) {
                        size_t cap = b->cap ? b->cap : 65536;
                        while (cap < b->len + n)
                                cap *= 2;
                        b->cap = cap < max ? cap : max;
                        b->data = xrealloc(b->data, b->cap + 1);
                }
                memcpy(b->data + b->len, p, n);
                b->len += n;
                b->data[b->len] = '\0';
                return;
        }
        /* Full: the newest bytes overwrite the oldest. */
        if (b->cap < max) {
                b->data = xrealloc(b->data, max + 1);
                b->cap = max;
        }
        while (n > 0) {
                size_t end = (b->start + b->len) % max;
                size_t chunk = n < max - end ? n : max - end;
                if (b->len == max) /* what is overwritten is exactly [end, end + chunk) */
                        note_dropped(b, b->data + end, chunk);
                memcpy(b->data + end, p, chunk);
                if (b->len + chunk > max) {
                        b->start = (b->start + b->len + chunk - max) % max;
                        b->len = max;
                } else
                        b->len += chunk;
                p += chunk;
                n -= chunk;
        }
}

/* The bytes held, in order and NUL-terminated. */
static void buf_linearize(Buf *b) {
        if (b->start > 0) {
                char *lin = xmalloc(b->len + 1);
                memcpy(lin, b->data + b->start, b->len - b->start);
                memcpy(lin + b->len - b->start, b->data, b->start);
                free(b->data);
                b->data = lin;
                b->cap = b->len;
                b->start = 0;
        }
        if (b->data)
                b->data[b->len] = '\0';
}

/* A note on notes (stderr) when the front of b was dropped, then b linearized. */
static void buf_finish(Buf *b, const char *name, Buf *notes) {
        if (b->total > b->len) {
                char msg[200];
                int k = snprintf(
                        msg, sizeof(msg),
                        "%spodhook: the hook wrote %zu bytes to %s; only the last %zu are kept\n",
                        notes->len && notes->data[(notes->start + notes->len - 1) % notes->cap] != '\n' ? "\n"
                                                                                                        : "",
                        b->total, name, b->len);
                size_t written = notes->total; /* a note is not output of the hook */
                buf_add(notes, msg, k < (int) sizeof(msg) ? (size_t) k : sizeof(msg) - 1);
                notes->total = written;
        }
        buf_linearize(b);
}

/* Whether b still reads as what the hook wrote, for JSON: only whitespace in front of it was dropped. */
static bool buf_json_intact(const Buf *b) {
        return !b->dropped_text;
}

static long long now_ms(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The child: stdin/stdout/stderr from the pipes, default signals, its own process group (so a
 * timeout kills everything it started), and the hook run with no arguments. */
static void child_exec(const char *path, int in, int out, int err) {
        sigset_t all;

        sigemptyset(&all);
        (void) sigprocmask(SIG_SETMASK, &all, NULL);
        for (int s = 1; s < NSIG; s++)
                if (s != SIGKILL && s != SIGSTOP)
                        (void) signal(s, SIG_DFL);
        (void) setpgid(0, 0);
        if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
                _exit(127);
        char *const argv[] = {(char *) path, NULL};
        execve(path, argv, environ);
        dprintf(2, "podhook: cannot run hook %s: %s\n", path, strerror(errno));
        _exit(127);
}

static void close_fd(int *fd) {
        if (*fd >= 0)
                close(*fd);
        *fd = -1;
}

/* Feeds stdin and drains stdout/stderr until both close, or the deadline passes (-ETIME).
 * fd[0] = stdin writer, fd[1] = stdout reader, fd[2] = stderr reader; all closed on return. */
typedef struct Cancel {
        int fd;
        bool (*should_cancel)(void *userdata);
        void *userdata;
} Cancel;

static int pump(int fd[3], const char *input, size_t input_len, long long deadline, const Cancel *cancel,
                Buf *bout, Buf *berr) {
        size_t written = 0;
        char chunk[65536];
        int r = 0;

        if (input_len == 0)
                close_fd(&fd[0]);
        while (fd[1] >= 0 || fd[2] >= 0) {
                struct pollfd p[4] = {{.fd = fd[1], .events = POLLIN},
                                      {.fd = fd[2], .events = POLLIN},
                                      {.fd = fd[0], .events = POLLOUT},
                                      {.fd = cancel->should_cancel ? cancel->fd : -1, .events = POLLIN}};
                int timeout = -1;

                if (deadline > 0) {
                        long long left = deadline - now_ms();
                        if (left <= 0) {
                                r = -ETIME;
                                break;
                        }
                        timeout = left > 1000000 ? 1000000 : (int) left;
                }
                if (poll(p, 4, timeout) < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        break;
                }
                if ((p[3].revents & POLLIN) && cancel->should_cancel(cancel->userdata)) {
                        r = -ECANCELED;
                        break;
                }
                for (int i = 0; i < 2; i++) {
                        if (fd[i + 1] < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        ssize_t n = read(fd[i + 1], chunk, sizeof(chunk));
                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        if (n <= 0)
                                close_fd(&fd[i + 1]);
                        else
                                buf_add(i == 0 ? bout : berr, chunk, (size_t) n);
                }
                if (fd[0] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
                        ssize_t n = write(fd[0], input + written, input_len - written);
                        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                                continue;
                        /* EPIPE: the hook does not read its input; that is its business. */
                        if (n < 0 || (written += (size_t) n) >= input_len)
                                close_fd(&fd[0]);
                }
        }
        for (int i = 0; i < 3; i++)
                close_fd(&fd[i]);
        return r;
}

/* heat-config's four cases (55-heat-config): JSON stdout wins; else the three deploy_* keys;
 * empty stdout and exit 0 give {}. */
static json_t *result_data(const Buf *out, const Buf *err, int code) {
        bool empty = out->len == 0;

        /* The end of a cut stdout is not what the hook printed (unless only leading whitespace went):
         * never read it as the JSON result. */
        if (!empty && buf_json_intact(out)) {
                json_t *j = json_loadb(out->data, out->len, 0, NULL);
                if (json_is_object(j))
                        return j;
                json_decref(j);
        }
        if (empty && code == 0)
                return json_object();
        json_t *d = json_object();
        json_object_set_new(d, "deploy_stdout", deployment_text(out->data ? out->data : "", out->len));
        json_object_set_new(d, "deploy_stderr", deployment_text(err->data ? err->data : "", err->len));
        json_object_set_new(d, "deploy_status_code", json_integer(code));
        return d;
}

int runner_run(const char *path, const json_t *deployment, unsigned timeout_s, json_t **ret_data,
               PhError **reterr) {
        return runner_run_cancellable(path, deployment, timeout_s, -1, NULL, NULL, ret_data, reterr);
}

int runner_run_cancellable(const char *path, const json_t *deployment, unsigned timeout_s, int cancel_fd,
                           bool (*should_cancel)(void *userdata), void *userdata, json_t **ret_data,
                           PhError **reterr) {
        Cancel cancel = {.fd = cancel_fd,
                         .should_cancel = cancel_fd >= 0 ? should_cancel : NULL,
                         .userdata = userdata};
        _cleanup_free_ char *input = json_dumps(deployment, JSON_INDENT(4));
        int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
        Buf bout = {0}, berr = {0};
        sigset_t pipe_mask, old_mask;
        int r, status = 0, code;
        bool timed_out = false;
        pid_t pid;

        if (!input)
                return ph_error_set(reterr, EINVAL, "hook %s: cannot serialise the deployment", path);
        if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 || pipe2(perr, O_CLOEXEC) < 0) {
                r = -errno;
                for (int i = 0; i < 2; i++) {
                        if (pin[i] >= 0)
                                close(pin[i]);
                        if (pout[i] >= 0)
                                close(pout[i]);
                }
                return ph_error_set(reterr, -r, "hook %s: pipe: %s", path, strerror(-r));
        }
        (void) fcntl(pin[1], F_SETFL, O_NONBLOCK);
        /* A hook that exits without reading stdin must give EPIPE here, not kill the agent. */
        sigemptyset(&pipe_mask);
        sigaddset(&pipe_mask, SIGPIPE);
        (void) sigprocmask(SIG_BLOCK, &pipe_mask, &old_mask);

        pid = fork();
        if (pid < 0) {
                r = -errno;
                (void) sigprocmask(SIG_SETMASK, &old_mask, NULL);
                close(pin[0]), close(pin[1]), close(pout[0]), close(pout[1]), close(perr[0]), close(perr[1]);
                return ph_error_set(reterr, -r, "hook %s: fork: %s", path, strerror(-r));
        }
        if (pid == 0)
                child_exec(path, pin[0], pout[1], perr[1]);
        close(pin[0]), close(pout[1]), close(perr[1]);

        int fds[3] = {pin[1], pout[0], perr[0]};
        r = pump(fds, input, strlen(input), timeout_s ? now_ms() + timeout_s * 1000LL : 0, &cancel, &bout,
                 &berr);
        if (r == -ETIME || r == -ECANCELED) {
                timed_out = r == -ETIME;
                (void) kill(-pid, SIGKILL);
                (void) kill(pid, SIGKILL);
        }
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;

        /* Drop a SIGPIPE we caused, then restore the caller's mask. */
        {
                sigset_t pending;
                struct timespec zero = {0, 0};
                if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) &&
                    !sigismember(&old_mask, SIGPIPE))
                        (void) sigtimedwait(&pipe_mask, NULL, &zero);
                (void) sigprocmask(SIG_SETMASK, &old_mask, NULL);
        }

        buf_finish(&bout, "stdout", &berr);
        buf_finish(&berr, "stderr", &berr);
        if (WIFEXITED(status))
                code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
                code = -WTERMSIG(status); /* Python's returncode for a killed child */
        else
                code = 1;
        if (timed_out) {
                char msg[128];
                int n = snprintf(msg, sizeof(msg), "%spodhook: hook %s timed out after %u s and was killed\n",
                                 berr.len && berr.data[berr.len - 1] != '\n' ? "\n" : "", path, timeout_s);
                buf_add(&berr, msg, n < (int) sizeof(msg) ? (size_t) n : sizeof(msg) - 1);
                buf_linearize(&berr);
                /* Whatever the hook printed, a timeout is a failure. */
                json_t *d = json_object();
                json_object_set_new(d, "deploy_stdout",
                                    deployment_text(bout.data ? bout.data : "", bout.len));
                json_object_set_new(d, "deploy_stderr", deployment_text(berr.data, berr.len));
                json_object_set_new(d, "deploy_status_code", json_integer(code ? code : 124));
                *ret_data = d;
        } else if (r == -ECANCELED) {
                free(bout.data), free(berr.data);
                return ph_error_set(reterr, ECANCELED, "hook %s: cancelled", path);
        } else if (r < 0) {
                free(bout.data), free(berr.data);
                return ph_error_set(reterr, -r, "hook %s: %s", path, strerror(-r));
        } else
                *ret_data = result_data(&bout, &berr, code);
        free(bout.data);
        free(berr.data);
        return 0;
}
