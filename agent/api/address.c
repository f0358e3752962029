/* address.h: inet_pton for the host, a strict decimal port. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "api/address.h"

#define UNIX_PREFIX "unix:"

static int parse_unix(const char *s, PhApiAddress *ret, PhError **err) {
        const char *path = s + strlen(UNIX_PREFIX);
        struct sockaddr_un *un = (struct sockaddr_un *) &ret->sa;
        size_t len = strlen(path);

        if (path[0] != '/')
                return ph_error_set(err, EINVAL, "API address '%s': a unix socket needs an absolute path", s);
        if (len >= sizeof(un->sun_path))
                return ph_error_set(err, EINVAL, "API address '%s': the path is longer than %zu bytes", s,
                                    sizeof(un->sun_path) - 1);
        un->sun_family = AF_UNIX;
        memcpy(un->sun_path, path, len + 1);
        ret->len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + 1);
        return 0;
}

/* 1 to 5 digits, no sign, no white space, at most 65535. */
static int parse_port(const char *s, uint16_t *ret) {
        unsigned v = 0;
        size_t n = strlen(s);

        if (n == 0 || n > 5)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -EINVAL;
                v = v * 10 + (unsigned) (s[i] - '0');
        }
        if (v > 65535)
                return -EINVAL;
        *ret = (uint16_t) v;
        return 0;
}

int api_address_parse(const char *s, PhApiAddress *ret, PhError **err) {
        PhApiAddress a = {0};
        uint16_t port;
        char host[INET6_ADDRSTRLEN + 2];
        const char *colon;
        int r;

        if (!s || !*s)
                return ph_error_set(err, EINVAL, "API address is empty");
        if (strncmp(s, UNIX_PREFIX, strlen(UNIX_PREFIX)) == 0) {
                r = parse_unix(s, &a, err);
                if (r < 0)
                        return r;
                *ret = a;
                return 0;
        }
        if (s[0] == '[') {
                const char *close = strchr(s, ']');
                if (!close || close[1] != ':')
                        return ph_error_set(err, EINVAL,
                                            "API address '%s': an IPv6 address is written [ADDR]:PORT", s);
                colon = close + 1;
        } else
                colon = strrchr(s, ':');
        if (!colon || colon == s)
                return ph_error_set(err, EINVAL,
                                    "API address '%s': expected 127.0.0.1:PORT, [::1]:PORT or unix:/PATH", s);
        if (parse_port(colon + 1, &port) < 0)
                return ph_error_set(err, EINVAL, "API address '%s': the port is not a number from 0 to 65535",
                                    s);

        const char *h = s[0] == '[' ? s + 1 : s;
        size_t hlen = (size_t) (colon - h) - (s[0] == '[' ? 1 : 0);
        if (hlen >= sizeof(host))
                return ph_error_set(err, EINVAL, "API address '%s': not a numeric IP address", s);
        memcpy(host, h, hlen);
        host[hlen] = '\0';

        struct sockaddr_in *in = (struct sockaddr_in *) &a.sa;
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &a.sa;
        if (s[0] != '[' && inet_pton(AF_INET, host, &in->sin_addr) == 1) {
                in->sin_family = AF_INET;
                in->sin_port = htons(port);
                a.len = sizeof(*in);
                a.loopback = (ntohl(in->sin_addr.s_addr) >> 24) == 127;
        } else if (s[0] == '[' && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
                in6->sin6_family = AF_INET6;
                in6->sin6_port = htons(port);
                a.len = sizeof(*in6);
                a.loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
                             (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127);
        } else
                return ph_error_set(err, EINVAL,
                                    "API address '%s': not a numeric IP address (names are not looked up; "
                                    "use 127.0.0.1 or [::1])",
                                    s);
        *ret = a;
        return 0;
}

char *api_address_format(const PhApiAddress *a) {
        char host[INET6_ADDRSTRLEN];

        switch (a->sa.ss_family) {
        case AF_UNIX:
                return xasprintf(UNIX_PREFIX "%s", ((const struct sockaddr_un *) &a->sa)->sun_path);
        case AF_INET: {
                const struct sockaddr_in *in = (const struct sockaddr_in *) &a->sa;
                inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
                return xasprintf("%s:%u", host, ntohs(in->sin_port));
        }
        case AF_INET6: {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &a->sa;
                inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
                return xasprintf("[%s]:%u", host, ntohs(in6->sin6_port));
        }
        }
        return xstrdup("?");
}
