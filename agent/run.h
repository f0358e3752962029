/* The agent as a daemon: one event loop (event.h) on the main thread, the agent's jobs on the worker
 * thread (worker.h), so that signals, timers and (later) the status API are served while an apply, a
 * pull or an external hook runs.
 *
 * Sources of the loop: SIGTERM/SIGINT (stop: the running job is cancelled through the worker's cancel
 * fd, which its HTTP requests, external hooks and the docker hook watch), SIGHUP (reload, between jobs),
 * the poll timer (the back-off of agent_next_poll_usec), the outbox timer (the next signal due), the
 * drop-in directory (inotify, debounced, and a periodic rescan), systemd's watchdog timer, the
 * notify-exec command's end. One job at a time; what is asked for meanwhile is done by the next. */
#pragma once

#include "agent.h"
#include "common/error.h"

/* Runs until SIGTERM/SIGINT (0) or a fatal error of the loop (< 0). Talks to systemd when
 * $NOTIFY_SOCKET is set: READY=1 after the first job, STATUS= after each, WATCHDOG=1 at half of
 * $WATCHDOG_USEC from a timer of the loop (a stuck loop stops the pings, a long job does not), STOPPING=1
 * when it stops. The three variables are removed from the environment, so no hook can speak for it. */
int agent_run(PhAgent *a, PhError **reterr);
