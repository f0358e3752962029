#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/fault.h"

void ph_fault_point(const char *name) {
#ifdef PH_FAULT_POINTS
        const char *want = getenv("PODHOOK_TEST_FAULT");

        if (want && strcmp(want, name) == 0)
                _exit(PH_FAULT_EXIT);
#else
        (void) name;
#endif
}

void ph_fault_after_write(void) {
#ifdef PH_FAULT_POINTS
        /* One count for the process: the writes of the loop and of the worker thread are one sequence. */
        static unsigned long done;
        const char *want = getenv(PH_FAULT_WRITES_ENV);

        if (!want || !*want)
                return;
        unsigned long n = strtoul(want, NULL, 10);
        if (n > 0 && __atomic_add_fetch(&done, 1, __ATOMIC_SEQ_CST) >= n)
                (void) kill(getpid(), SIGKILL);
#endif
}
