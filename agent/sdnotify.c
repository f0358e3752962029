/* sdnotify.h: one unconnected datagram socket; every message is a sendto() to the address, so a
 * service manager that re-executes itself (and binds the socket anew) still gets the next one. */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sdnotify.h"

int sdnotify_parse_address(const char *value, struct sockaddr_un *ret, socklen_t *ret_len) {
        size_t len = value ? strlen(value) : 0;
        struct sockaddr_un a = {.sun_family = AF_UNIX};

        if (len == 0)
                return -EINVAL;
        if (strncmp(value, "vsock:", 6) == 0)
                return -EAFNOSUPPORT;
        if (value[0] == '/') {
                if (len >= sizeof(a.sun_path)) /* room for the terminating NUL */
                        return -EINVAL;
                memcpy(a.sun_path, value, len + 1);
                *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1);
        } else if (value[0] == '@') {
                /* Abstract: a leading NUL instead of the '@', and the name's bytes without a terminator
                 * (the length says where it ends; a NUL would be part of the name). */
                if (len < 2 || len > sizeof(a.sun_path))
                        return -EINVAL;
                memcpy(a.sun_path + 1, value + 1, len - 1);
                *ret_len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len);
        } else
                return -EINVAL;
        *ret = a;
        return 0;
}

/* A decimal number without sign or white space. */
static int parse_u64(const char *s, uint64_t *ret) {
        char *end;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (errno != 0 || *end != '\0')
                return -EINVAL;
        *ret = v;
        return 0;
}

int sdnotify_parse_watchdog(const char *usec, const char *pid, pid_t self, uint64_t *ret_interval) {
        uint64_t timeout, p;

        *ret_interval = 0;
        if (!usec)
                return 0;
        /* systemd never hands out 0; like sd_watchdog_enabled(), it is taken as a broken value. */
        if (parse_u64(usec, &timeout) < 0 || timeout == 0)
                return -EINVAL;
        if (pid) {
                if (parse_u64(pid, &p) < 0 || p == 0)
                        return -EINVAL;
                if (p != (uint64_t) self)
                        return 0;
        }
        *ret_interval = timeout / 2 > 0 ? timeout / 2 : 1;
        return 0;
}

PhNotify *sdnotify_free(PhNotify *n) {
        if (!n)
                return NULL;
        if (n->fd >= 0)
                (void) close(n->fd);
        free(n->name);
        free(n);
        return NULL;
}

int sdnotify_open(bool unset_env, PhNotify **ret, PhError **reterr) {
        _cleanup_(sdnotify_freep) PhNotify *n = xcalloc(1, sizeof(*n));
        const char *sock = getenv("NOTIFY_SOCKET");
        const char *usec = getenv("WATCHDOG_USEC"), *pid = getenv("WATCHDOG_PID");
        int r;

        n->fd = -1;
        if (sock && *sock) {
                r = sdnotify_parse_address(sock, &n->addr, &n->addr_len);
                if (r < 0)
                        return ph_error_set(reterr, -r, "NOTIFY_SOCKET=%s: %s", sock,
                                            r == -EAFNOSUPPORT ? "only AF_UNIX sockets are supported"
                                                               : "not an absolute path or @abstract name");
                r = sdnotify_parse_watchdog(usec, pid, getpid(), &n->watchdog_usec);
                if (r < 0)
                        return ph_error_set(reterr, EINVAL, "WATCHDOG_USEC=%s, WATCHDOG_PID=%s: not a number",
                                            usec ? usec : "", pid ? pid : "");
                n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (n->fd < 0)
                        return ph_error_set(reterr, errno, "NOTIFY_SOCKET: socket: %s", strerror(errno));
                n->name = xstrdup(sock);
        }
        /* Without a socket the watchdog cannot be fed: the values are left unread. */
        if (unset_env) {
                (void) unsetenv("NOTIFY_SOCKET");
                (void) unsetenv("WATCHDOG_USEC");
                (void) unsetenv("WATCHDOG_PID");
        }
        *ret = TAKE_PTR(n);
        return 0;
}

int sdnotify_send(PhNotify *n, const char *state, PhError **reterr) {
        if (!n || n->fd < 0)
                return 0;
        if (sendto(n->fd, state, strlen(state), MSG_NOSIGNAL, (const struct sockaddr *) &n->addr,
                   n->addr_len) < 0)
                return ph_error_set(reterr, errno, "notify %s: %s", n->name, strerror(errno));
        return 1;
}

int sdnotify_status(PhNotify *n, const char *text, PhError **reterr) {
        if (!n || n->fd < 0)
                return 0;
        _cleanup_free_ char *msg = xasprintf("STATUS=%.*s", (int) strcspn(text, "\n"), text);
        return sdnotify_send(n, msg, reterr);
}

uint64_t sdnotify_watchdog_usec(const PhNotify *n) {
        return n ? n->watchdog_usec : 0;
}
