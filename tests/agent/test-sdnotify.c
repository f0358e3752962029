/* sd_notify: address and watchdog parsing (tables), datagrams to a path and an abstract socket the
 * test binds (as systemd does), the sender's credentials, and silence without NOTIFY_SOCKET. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"
#include "tap.h"

static void test_parse_address(void) {
        static const struct {
                const char *value;
                int r;
                size_t path_len; /* bytes of sun_path in the address */
        } table[] = {
                {"/run/systemd/notify", 0, sizeof("/run/systemd/notify")},
                {"@abstract-name", 0, sizeof("@abstract-name") - 1},
                {"", -EINVAL, 0},
                {"@", -EINVAL, 0},
                {"relative/path", -EINVAL, 0},
                {"vsock:2:1234", -EAFNOSUPPORT, 0},
        };
        char too_long[sizeof(((struct sockaddr_un *) NULL)->sun_path) + 2];

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                struct sockaddr_un a;
                socklen_t len = 0;
                int r = sdnotify_parse_address(table[i].value, &a, &len);
                if (!TAP_CHECK(r == table[i].r))
                        printf("# %s: %d\n", table[i].value, r);
                if (r == 0)
                        TAP_CHECK(a.sun_family == AF_UNIX &&
                                  len == offsetof(struct sockaddr_un, sun_path) + table[i].path_len);
        }
        struct sockaddr_un a;
        socklen_t len;
        TAP_CHECK(sdnotify_parse_address("@abc", &a, &len) == 0 && a.sun_path[0] == '\0' &&
                  memcmp(a.sun_path + 1, "abc", 3) == 0);
        memset(too_long, 'x', sizeof(too_long) - 1);
        too_long[0] = '/';
        too_long[sizeof(too_long) - 1] = '\0';
        TAP_CHECK(sdnotify_parse_address(too_long, &a, &len) == -EINVAL);
        too_long[0] = '@';
        TAP_CHECK(sdnotify_parse_address(too_long, &a, &len) == -EINVAL);
}

static void test_parse_watchdog(void) {
        static const struct {
                const char *usec, *pid;
                int r;
                uint64_t interval;
        } table[] = {
                {NULL, NULL, 0, 0},
                {"6000000", NULL, 0, 3000000},
                {"6000000", "4242", 0, 3000000}, /* our pid */
                {"6000000", "1", 0, 0},          /* someone else's watchdog */
                {"1", NULL, 0, 1},
                {"0", NULL, -EINVAL, 0},
                {"-5", NULL, -EINVAL, 0},
                {"12s", NULL, -EINVAL, 0},
                {"", NULL, -EINVAL, 0},
                {"6000000", "x", -EINVAL, 0},
                {"99999999999999999999999", NULL, -EINVAL, 0},
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++) {
                uint64_t iv = 77;
                int r = sdnotify_parse_watchdog(table[i].usec, table[i].pid, 4242, &iv);
                if (!TAP_CHECK(r == table[i].r && iv == table[i].interval))
                        printf("# %s/%s: %d %llu\n", table[i].usec ? table[i].usec : "-",
                               table[i].pid ? table[i].pid : "-", r, (unsigned long long) iv);
        }
}

/* A datagram socket at a NOTIFY_SOCKET value, like the one systemd binds, with SO_PASSCRED so the
 * sender's pid is known. */
static int listen_at(const char *value) {
        struct sockaddr_un a;
        socklen_t len;
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

        if (fd < 0 || sdnotify_parse_address(value, &a, &len) < 0 ||
            bind(fd, (const struct sockaddr *) &a, len) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
                abort();
        return fd;
}

/* The next datagram, waited for up to 5 s; *ret_pid is the sender's. */
static char *receive(int fd, pid_t *ret_pid) {
        static char buf[4096];
        union {
                struct cmsghdr h;
                char b[CMSG_SPACE(sizeof(struct ucred))];
        } control;
        struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
        struct msghdr m = {
                .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &control, .msg_controllen = sizeof(control)};
        struct pollfd p = {.fd = fd, .events = POLLIN};

        *ret_pid = 0;
        if (poll(&p, 1, 5000) != 1)
                return NULL;
        ssize_t n = recvmsg(fd, &m, 0);
        if (n < 0)
                return NULL;
        buf[n] = '\0';
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                        struct ucred cred;
                        memcpy(&cred, CMSG_DATA(c), sizeof(cred));
                        *ret_pid = cred.pid;
                }
        return buf;
}

static void test_path_socket(const char *dir) {
        _cleanup_free_ char *path = xasprintf("%s/notify", dir);
        _cleanup_free_ char *pid = xasprintf("%d", (int) getpid());
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(sdnotify_freep) PhNotify *n = NULL;
        pid_t from;
        int fd = listen_at(path);

        setenv("NOTIFY_SOCKET", path, 1);
        setenv("WATCHDOG_USEC", "4000000", 1);
        setenv("WATCHDOG_PID", pid, 1);
        TAP_CHECK(sdnotify_open(true, &n, &err) == 0);
        TAP_CHECK(sdnotify_watchdog_usec(n) == 2000000);
        /* Gone from the environment: hooks started later cannot speak for the agent. */
        TAP_CHECK(!getenv("NOTIFY_SOCKET") && !getenv("WATCHDOG_USEC") && !getenv("WATCHDOG_PID"));

        TAP_CHECK(sdnotify_send(n, "READY=1", &err) == 1);
        TAP_CHECK_STR(receive(fd, &from), "READY=1");
        TAP_CHECK(from == getpid());
        TAP_CHECK(sdnotify_send(n, "WATCHDOG=1", &err) == 1);
        TAP_CHECK_STR(receive(fd, &from), "WATCHDOG=1");
        TAP_CHECK(sdnotify_status(n, "polling 2 sources\nREADY=1", &err) == 1);
        TAP_CHECK_STR(receive(fd, &from), "STATUS=polling 2 sources");
        TAP_CHECK(sdnotify_send(n, "STOPPING=1", &err) == 1);
        TAP_CHECK_STR(receive(fd, &from), "STOPPING=1");

        /* The manager went away: an error with the socket's name, nothing else. */
        close(fd);
        unlink(path);
        TAP_CHECK(sdnotify_send(n, "WATCHDOG=1", &err) < 0);
        TAP_CHECK_HAS(ph_error_msg(err), path);
}

static void test_abstract_socket(void) {
        _cleanup_free_ char *name = xasprintf("@podhook-test-sdnotify-%d", (int) getpid());
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(sdnotify_freep) PhNotify *n = NULL;
        pid_t from;
        int fd = listen_at(name);

        setenv("NOTIFY_SOCKET", name, 1);
        unsetenv("WATCHDOG_USEC");
        TAP_CHECK(sdnotify_open(false, &n, &err) == 0);
        TAP_CHECK(getenv("NOTIFY_SOCKET") != NULL); /* kept when asked to */
        TAP_CHECK(sdnotify_watchdog_usec(n) == 0);
        TAP_CHECK(sdnotify_send(n, "READY=1\nSTATUS=up", &err) == 1);
        TAP_CHECK_STR(receive(fd, &from), "READY=1\nSTATUS=up");
        close(fd);
}

static void test_unset(const char *dir) {
        _cleanup_free_ char *path = xasprintf("%s/notify-unset", dir);
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(sdnotify_freep) PhNotify *n = NULL;
        char b[64];

        /* A listener exists, but NOTIFY_SOCKET does not name it: nothing may arrive. */
        int fd = listen_at(path);
        unsetenv("NOTIFY_SOCKET");
        setenv("WATCHDOG_USEC", "4000000", 1);
        TAP_CHECK(sdnotify_open(true, &n, &err) == 0 && n->fd < 0);
        TAP_CHECK(sdnotify_watchdog_usec(n) == 0);
        TAP_CHECK(sdnotify_send(n, "READY=1", &err) == 0 && !err);
        TAP_CHECK(sdnotify_status(n, "x", &err) == 0 && !err);
        TAP_CHECK(sdnotify_send(NULL, "READY=1", &err) == 0);
        TAP_CHECK(recv(fd, b, sizeof(b), MSG_DONTWAIT) < 0 && errno == EAGAIN);
        close(fd);

        /* Set but broken: an error naming the variable. */
        _cleanup_error_ PhError *bad = NULL;
        PhNotify *n2 = NULL;
        setenv("NOTIFY_SOCKET", "run/notify", 1);
        TAP_CHECK(sdnotify_open(false, &n2, &bad) == -EINVAL && !n2);
        TAP_CHECK_HAS(ph_error_msg(bad), "NOTIFY_SOCKET=run/notify");
        _cleanup_error_ PhError *bad2 = NULL;
        setenv("NOTIFY_SOCKET", path, 1);
        setenv("WATCHDOG_USEC", "soon", 1);
        TAP_CHECK(sdnotify_open(false, &n2, &bad2) == -EINVAL && !n2);
        TAP_CHECK_HAS(ph_error_msg(bad2), "WATCHDOG_USEC=soon");
        unsetenv("NOTIFY_SOCKET");
        unsetenv("WATCHDOG_USEC");
}

int main(void) {
        char dir[] = "/tmp/ph-test-sdnotify-XXXXXX";

        if (!mkdtemp(dir))
                return 1;
        test_parse_address();
        test_parse_watchdog();
        test_path_socket(dir);
        test_abstract_socket();
        test_unset(dir);
        _cleanup_free_ char *p = xasprintf("%s/notify-unset", dir);
        unlink(p);
        rmdir(dir);
        return tap_done();
}
