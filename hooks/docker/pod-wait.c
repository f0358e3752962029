#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/http.h"
#include "common/log.h"
#include "docker/pod-probe.h"
#include "docker/pod-spec.h"
#include "docker/pod-state.h"
#include "docker/pod-wait.h"

/* The most one try may take, however long the interval. */
#define TRY_MAX_MS 5000L

static long now_ms(void) {
        struct timespec t;

        (void) clock_gettime(CLOCK_MONOTONIC, &t);
        return (long) t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

static int try_tcp(const char *hostport, long timeout_ms, const PhHttpCancel *cancel, PhError **reterr) {
        const char *colon = strrchr(hostport, ':');
        _cleanup_free_ char *host = xstrndup(hostport, (size_t) (colon - hostport));
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
        int r, last = ECONNREFUSED;

        if (host[0] == '[' && host[strlen(host) - 1] == ']') {
                memmove(host, host + 1, strlen(host));
                host[strlen(host) - 1] = '\0';
        }
        r = getaddrinfo(host, colon + 1, &hints, &res);
        if (r != 0)
                return ph_error_set(reterr, EHOSTUNREACH, "%s", gai_strerror(r));
        for (struct addrinfo *a = res; a; a = a->ai_next) {
                _cleanup_close_ int fd =
                        socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
                if (fd < 0) {
                        last = errno;
                        continue;
                }
                if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
                        freeaddrinfo(res);
                        return 0;
                }
                if (errno != EINPROGRESS) {
                        last = errno;
                        continue;
                }
                /* A peer that drops the SYN can take the whole try: the cancel is watched beside it. */
                struct pollfd p[2] = {{.fd = fd, .events = POLLOUT},
                                      {.fd = cancel ? cancel->fd : -1, .events = POLLIN}};
                int err = 0;
                socklen_t len = sizeof(err);
                r = poll(p, 2, (int) timeout_ms);
                if (r > 0 && !(p[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
                        if (http_cancel_requested(cancel)) {
                                freeaddrinfo(res);
                                return ph_error_set(reterr, ECANCELED, "cancelled");
                        }
                        r = poll(p, 1, (int) timeout_ms);
                }
                if (r == 0) {
                        last = ETIMEDOUT;
                        continue;
                }
                if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        err = errno;
                if (err == 0) {
                        freeaddrinfo(res);
                        return 0;
                }
                last = err;
        }
        freeaddrinfo(res);
        if (last == ETIMEDOUT)
                return ph_error_set(reterr, ETIMEDOUT, "no answer within %ld ms", timeout_ms);
        return ph_error_set(reterr, last, "%s", strerror(last));
}

static int try_http(const char *url, long timeout_ms, const PhHttpCancel *cancel, PhError **reterr) {
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        _cleanup_error_ PhError *err = NULL;
        PhHttpRequest req = {
                .url = url,
                .timeout_ms = timeout_ms,
                .connect_timeout_ms = timeout_ms,
                .max_body = 64 * 1024,
                .direct = true,
                .cancel = cancel,
        };
        int r;

        r = http_request(&req, &resp, &err);
        if (r < 0)
                return ph_error_set(reterr, -r, "%s", ph_error_msg(err));
        if (resp.status < 200 || resp.status > 299)
                return ph_error_set(reterr, EAGAIN, "HTTP %ld", resp.status);
        return 0;
}

/* Every container of the pod runs, no update of it is in progress (its lock is free: an apply holds it
 * until its probes passed), and the liveness probes it was applied with pass now. */
static int try_pod(PhDocker *d, const char *state_dir, const char *pod, long timeout_ms, PhError **reterr) {
        json_auto_t *list = NULL, *probes = NULL;
        _cleanup_free_ char *ip = NULL;
        _cleanup_close_ int lock = -1;
        const char *infra = NULL;
        json_t *c;
        size_t i;
        int r;

        r = pod_list(d, pod, &list, reterr);
        if (r < 0)
                return r;
        if (json_array_size(list) == 0)
                return ph_error_set(reterr, ENOENT, "no such pod");
        json_array_foreach(list, i, c) {
                const char *state = json_string_value(json_object_get(c, "State"));
                const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
                const char *role = pod_label(c, POD_LABEL_ROLE);
                if (!state || strcmp(state, "running") != 0)
                        return ph_error_set(reterr, EAGAIN, "container %s is %s",
                                            name ? name + (name[0] == '/') : "?",
                                            state ? state : "in no known state");
                if (role && strcmp(role, "infra") == 0)
                        infra = json_string_value(json_object_get(c, "Id"));
        }
        r = pod_lock(pod, 0, &lock, reterr);
        if (r == -EBUSY) {
                ph_error_free(*reterr);
                *reterr = NULL;
                return ph_error_set(reterr, EAGAIN, "an update of it is in progress");
        }
        if (r < 0)
                return r;
        close(TAKE_FD(lock));
        r = pod_probes_load(state_dir, pod, &probes, reterr);
        if (r < 0)
                return r;
        json_array_foreach(list, i, c) {
                const char *id = json_string_value(json_object_get(c, "Id"));
                const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
                const json_t *p = id ? json_object_get(probes, id) : NULL;
                _cleanup_(pod_spec_action_freep) PhSpecAction *a = NULL;
                _cleanup_error_ PhError *err = NULL;
                if (!p)
                        continue;
                a = pod_spec_action_from_json(json_object_get(p, "action"), "livenessProbe");
                if (!a)
                        continue;
                if (!ip && infra &&
                    (a->kind == PH_HANDLER_TCP_SOCKET || (a->kind == PH_HANDLER_HTTP_GET && !a->host))) {
                        r = pod_probe_address(d, infra, &ip, &err);
                        if (r < 0)
                                return ph_error_set(reterr, -r, "%s", ph_error_msg(err));
                }
                long t = (long) json_integer_value(json_object_get(p, "timeout")) * 1000L;
                r = pod_action_run(d, id, ip, a, t > 0 && t < timeout_ms ? t : timeout_ms, &err);
                if (r < 0)
                        return ph_error_set(reterr, -r, "container %s: %s: %s",
                                            name ? name + (name[0] == '/') : "?", a->what, ph_error_msg(err));
        }
        return 0;
}

int pod_wait_try(PhDocker *d, const char *state_dir, const char *dep, long timeout_ms,
                 const PhHttpCancel *cancel, PhError **reterr) {
        if (strncmp(dep, "pod:", 4) == 0)
                return try_pod(d, state_dir, dep + 4, timeout_ms, reterr);
        if (strncmp(dep, "tcp:", 4) == 0)
                return try_tcp(dep + 4, timeout_ms, cancel, reterr);
        return try_http(dep, timeout_ms, cancel, reterr);
}

/* Waits ms, or less when the cancel fd says stop: then -ECANCELED. */
static int pause_ms(const PhPodOptions *o, long ms, PhError **reterr) {
        const PhHttpCancel *c = o->cancel;

        if (ms <= 0)
                return 0;
        if (!c || c->fd < 0) {
                struct timespec t = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
                (void) nanosleep(&t, NULL);
                return 0;
        }
        long end = now_ms() + ms;
        for (long left = ms; left > 0; left = end - now_ms()) {
                struct pollfd p = {.fd = c->fd, .events = POLLIN};
                int r = poll(&p, 1, (int) left);
                if (r < 0 && errno != EINTR)
                        return ph_error_set(reterr, errno, "wait_for: %m");
                if (r > 0 && (!c->cancelled || c->cancelled(c->userdata)))
                        return ph_error_set(reterr, ECANCELED, "wait_for: cancelled");
        }
        return 0;
}

static char *dep_name(const char *dep) {
        /* A URL's query or user info may hold a token. */
        return strncmp(dep, "http", 4) == 0 ? http_url_redact(dep) : xstrdup(dep);
}

int pod_wait_for(PhDocker *d, const PhPodOptions *o, PhError **reterr) {
        const char *state_dir = o->state_dir ? o->state_dir : PH_STATE_DIR_DEFAULT;
        long interval = (long) (o->wait_interval ? o->wait_interval : POD_DEFAULT_WAIT_INTERVAL) * 1000L;
        unsigned timeout = o->wait_timeout_set ? o->wait_timeout : POD_DEFAULT_WAIT_TIMEOUT;
        size_t n = strv_length(o->wait_for);
        long start = now_ms(), deadline = start + (long) timeout * 1000L;
        _cleanup_free_ bool *ready = xcalloc(n + 1, sizeof(bool));
        _cleanup_free_ char **last = xcalloc(n + 1, sizeof(char *));
        long try_ms = interval < 1000L ? 1000L : interval > TRY_MAX_MS ? TRY_MAX_MS : interval;
        bool cancelled = false;
        int r, result = 0;

        if (n == 0)
                return 0;
        for (unsigned round = 0;; round++) {
                size_t pending = 0;
                for (size_t i = 0; i < n; i++) {
                        _cleanup_error_ PhError *err = NULL;
                        if (ready[i])
                                continue;
                        r = pod_wait_try(d, state_dir, o->wait_for[i], try_ms, o->cancel, &err);
                        if (r >= 0) {
                                ready[i] = true;
                                continue;
                        }
                        if (r == -ECANCELED) {
                                cancelled = true;
                                break;
                        }
                        free(last[i]);
                        last[i] = xstrdup(ph_error_msg(err));
                        pending++;
                        if (round == 0) {
                                _cleanup_free_ char *name = dep_name(o->wait_for[i]);
                                log_info("wait_for %s: not ready yet (%s); trying every %ld s for up to %u s",
                                         name, last[i], interval / 1000, timeout);
                        }
                }
                if (cancelled || http_cancel_requested(o->cancel)) {
                        result = ph_error_set(reterr, ECANCELED, "wait_for: cancelled");
                        break;
                }
                if (pending == 0)
                        break;
                if (now_ms() >= deadline) {
                        size_t i = 0;
                        while (ready[i])
                                i++;
                        _cleanup_free_ char *name = dep_name(o->wait_for[i]);
                        result = ph_error_set(reterr, ETIMEDOUT, "wait_for %s: not ready after %u s: %s",
                                              name, timeout, last[i]);
                        break;
                }
                long pause = deadline - now_ms();
                r = pause_ms(o, pause < interval ? pause : interval, reterr);
                if (r < 0) {
                        result = r;
                        break;
                }
        }
        for (size_t i = 0; i < n; i++)
                free(last[i]);
        return result;
}
