#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/http.h"
#include "docker/pod-probe.h"

int pod_probe_address(PhDocker *d, const char *infra_id, char **ret, PhError **reterr) {
        _cleanup_free_ char *path = xasprintf("/containers/%s/json", infra_id);
        json_auto_t *j = NULL;
        const char *name, *ip;
        json_t *net;
        int r;

        r = docker_get(d, path, &j, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "inspecting the infra container");
        json_t *settings = json_object_get(j, "NetworkSettings");
        ip = json_string_value(json_object_get(settings, "IPAddress"));
        json_object_foreach(json_object_get(settings, "Networks"), name, net) {
                if (ip && *ip)
                        break;
                ip = json_string_value(json_object_get(net, "IPAddress"));
        }
        if (!ip || !*ip)
                return ph_error_set(reterr, EADDRNOTAVAIL, "the infra container has no IP address");
        *ret = xstrdup(ip);
        return 0;
}

static long remaining_ms(const struct timespec *deadline) {
        struct timespec now;

        (void) clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (deadline->tv_sec - now.tv_sec) * 1000L + (deadline->tv_nsec - now.tv_nsec) / 1000000L;
        return ms > 0 ? ms : 0;
}

/* "1 s", "0.5 s": how long a try was given, for messages. */
static char *seconds_text(long ms) {
        return ms % 1000 == 0 ? xasprintf("%ld s", ms / 1000) : xasprintf("%.1f s", (double) ms / 1000.0);
}

static int tcp_connect(const char *ip, int port, long timeout_ms, PhError **reterr) {
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
        struct addrinfo *ai = NULL;
        char service[8];
        struct timespec deadline;
        int r, err = 0;

        (void) clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        snprintf(service, sizeof(service), "%d", port);
        r = getaddrinfo(ip, service, &hints, &ai);
        if (r != 0)
                return ph_error_set(reterr, EADDRNOTAVAIL, "%s: %s", ip, gai_strerror(r));
        _cleanup_close_ int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
                freeaddrinfo(ai);
                return ph_error_set(reterr, errno, "socket: %m");
        }
        r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        freeaddrinfo(ai);
        if (r < 0 && errno != EINPROGRESS)
                return ph_error_set(reterr, errno, "%s", strerror(errno));
        if (r < 0) {
                struct pollfd p = {.fd = fd, .events = POLLOUT};
                socklen_t len = sizeof(err);
                do
                        r = poll(&p, 1, (int) remaining_ms(&deadline));
                while (r < 0 && errno == EINTR);
                if (r == 0) {
                        _cleanup_free_ char *t = seconds_text(timeout_ms);
                        return ph_error_set(reterr, ETIMEDOUT, "no connection within %s", t);
                }
                if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                        return ph_error_set(reterr, errno, "%s", strerror(errno));
                if (err != 0)
                        return ph_error_set(reterr, err, "%s", strerror(err));
        }
        return 0;
}

static int http_get(const char *host, int port, const char *path, long timeout_ms, PhError **reterr) {
        /* A numeric IPv6 address goes in brackets. */
        bool v6 = strchr(host, ':') != NULL;
        _cleanup_free_ char *url = xasprintf("http://%s%s%s:%d%s%s", v6 ? "[" : "", host, v6 ? "]" : "", port,
                                             path[0] == '/' ? "" : "/", path);
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        _cleanup_error_ PhError *err = NULL;
        int r;

        r = http_request(&(PhHttpRequest){.url = url,
                                          .timeout_ms = timeout_ms,
                                          .connect_timeout_ms = timeout_ms,
                                          .max_body = 64 * 1024,
                                          .direct = true},
                         &resp, &err);
        if (r == -ETIMEDOUT) {
                _cleanup_free_ char *t = seconds_text(timeout_ms);
                return ph_error_set(reterr, ETIMEDOUT, "no answer within %s", t);
        }
        if (r < 0)
                return ph_error_set(reterr, -r, "%s", strerror(-r));
        if (resp.status < 200 || resp.status >= 400)
                return ph_error_set(reterr, EIO, "HTTP %ld", resp.status);
        return 0;
}

int pod_action_run(PhDocker *d, const char *id, const char *ip, const PhSpecAction *a, long timeout_ms,
                   PhError **reterr) {
        _cleanup_error_ PhError *err = NULL;
        int code = -1, r;

        if (timeout_ms <= 0)
                timeout_ms = 1000;
        switch (a->kind) {
        case PH_HANDLER_HTTP_GET:
                return http_get(a->host ? a->host : ip, a->port, a->path ? a->path : "/", timeout_ms, reterr);
        case PH_HANDLER_TCP_SOCKET:
                return tcp_connect(ip, a->port, timeout_ms, reterr);
        case PH_HANDLER_EXEC:
        default:
                r = docker_exec(d, id, a->command, timeout_ms, &code, &err);
                if (r == -ETIMEDOUT) {
                        _cleanup_free_ char *t = seconds_text(timeout_ms);
                        return ph_error_set(reterr, ETIMEDOUT, "still running after %s", t);
                }
                if (r < 0)
                        return ph_error_set(reterr, -r, "%s", ph_error_msg(err));
                if (code != 0)
                        return ph_error_set(reterr, EIO, "exit code %d", code);
                return 0;
        }
}
