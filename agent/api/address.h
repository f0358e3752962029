/* Where the status API listens (--api ADDR): "127.0.0.1:PORT", "[::1]:PORT" or "unix:/path".
 * Numeric addresses only (no name lookup); PORT 0 takes a free port (for tests). Pure: no I/O.
 *
 * The API speaks plain HTTP, without TLS: its token would cross the network in clear text. So an
 * address other than a loopback one (127.0.0.0/8, ::1, ::ffff:127.x.y.z) is refused by the server
 * unless its configuration allows it explicitly (PhApiConfig.allow_remote); reaching the API from
 * elsewhere is the job of a TLS proxy in front of it. */
#pragma once

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "common/error.h"

typedef struct PhApiAddress {
        struct sockaddr_storage sa; /* AF_INET, AF_INET6 or AF_UNIX */
        socklen_t len;
        bool loopback; /* a loopback IP address; false for unix sockets */
} PhApiAddress;

/* 0, or -EINVAL with one line quoting the value and saying what is wrong. */
int api_address_parse(const char *s, PhApiAddress *ret, PhError **err);
/* The address in the form api_address_parse reads: "127.0.0.1:8080", "[::1]:8080", "unix:/run/x".
 * New string. */
char *api_address_format(const PhApiAddress *a);
