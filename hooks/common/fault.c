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
        (void)name;
#endif
}
