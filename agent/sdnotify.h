/* systemd's service notification protocol (sd_notify(3), documented as stable): datagrams of
 * "KEY=VALUE\n" lines to the AF_UNIX socket named by $NOTIFY_SOCKET ("/path" or "@abstract"). Our own
 * few lines instead of libsystemd: linking it maps libsystemd, libcap, libgcrypt and libgpg-error
 * into the daemon for one sendto() (measured on an idle agent, Debian 12: VmRSS +0.4 to 0.6 MiB, PSS
 * +0.1 to 0.2 MiB). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

#include "common/cleanup.h"
#include "common/error.h"

typedef struct PhNotify {
        int fd;     /* -1 when $NOTIFY_SOCKET is unset: every send is a no-op */
        char *name; /* $NOTIFY_SOCKET, for messages */
        struct sockaddr_un addr;
        socklen_t addr_len;
        uint64_t watchdog_usec; /* ping at this interval (half of $WATCHDOG_USEC); 0: no watchdog */
} PhNotify;

/* Pure. The socket address of a $NOTIFY_SOCKET value: "/path", or "@name" for the abstract
 * namespace. -EINVAL for an empty, relative or too long value, -EAFNOSUPPORT for other kinds
 * (systemd's "vsock:"). */
int sdnotify_parse_address(const char *value, struct sockaddr_un *ret, socklen_t *ret_len);
/* Pure. The interval to ping the watchdog at, from $WATCHDOG_USEC and $WATCHDOG_PID (either may be
 * NULL): half the timeout, so a late wakeup still makes it; 0 when there is no watchdog or it watches
 * another process (WATCHDOG_PID names someone else). -EINVAL when a value is not a number. */
int sdnotify_parse_watchdog(const char *usec, const char *pid, pid_t self, uint64_t *ret_interval);

/* Reads $NOTIFY_SOCKET, $WATCHDOG_USEC and $WATCHDOG_PID. Unset NOTIFY_SOCKET is not an error: *ret
 * then sends nothing. With unset_env the three are removed from the environment so that hooks and
 * other children cannot speak for the agent (call it before threads start: unsetenv is not
 * thread-safe). A bad value is an error naming the variable. */
int sdnotify_open(bool unset_env, PhNotify **ret, PhError **reterr);
PhNotify *sdnotify_free(PhNotify *n);
PH_DEFINE_CLEANUP(PhNotify *, sdnotify_free)

/* Sends state, one or more "KEY=VALUE" lines ("READY=1\nSTATUS=polling"). 1 when a datagram went
 * out, 0 when there is no socket, a negative errno when sendto failed. */
int sdnotify_send(PhNotify *n, const char *state, PhError **reterr);
/* "STATUS=<text>": one line, so a newline in text ends it. */
int sdnotify_status(PhNotify *n, const char *text, PhError **reterr);
/* The interval to send "WATCHDOG=1" at, 0 when there is no watchdog. */
uint64_t sdnotify_watchdog_usec(const PhNotify *n);
