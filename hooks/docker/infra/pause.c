/* The pod infra container's only process: holds the pod's network namespace until told to stop.
 * Built statically and without sanitizers (it runs alone in an empty image). As PID 1 it must act on
 * SIGTERM itself (the kernel ignores default-action signals for PID 1) and reap orphans. */
#include <signal.h>
#include <stddef.h>
#include <sys/wait.h>

int main(void) {
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGCHLD);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return 1;
        for (;;) {
                int sig = sigwaitinfo(&set, NULL);
                if (sig == SIGTERM || sig == SIGINT)
                        return 0;
                if (sig == SIGCHLD)
                        while (waitpid(-1, NULL, WNOHANG) > 0)
                                ;
        }
}
