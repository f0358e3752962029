/* A tiny TAP emitter for the unit tests. Each test program prints "ok N - what" lines and a plan. */
#pragma once

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct TapState {
        int n;
        int failed;
} TapState;

/* The one per-program tally; tests are single-file programs, so a file-local static is enough. */
static TapState tap_state;

#define TAP_CHECK(cond)          tap_check((cond), #cond, __FILE__, __LINE__)
#define TAP_CHECK_STR(got, want) tap_check_str((got), (want), #got, __FILE__, __LINE__)
/* Passes when got contains want; prints both on failure. */
#define TAP_CHECK_HAS(got, want) tap_check_has((got), (want), #got, __FILE__, __LINE__)

static inline bool tap_check(bool ok, const char *what, const char *file, int line) {
        tap_state.n++;
        printf("%s %d - %s\n", ok ? "ok" : "not ok", tap_state.n, what);
        if (!ok) {
                tap_state.failed++;
                printf("# at %s:%d\n", file, line);
        }
        fflush(stdout);
        return ok;
}

static inline bool tap_check_str(const char *got, const char *want, const char *what, const char *file,
                                 int line) {
        bool ok = got && want && strcmp(got, want) == 0;
        tap_check(ok, what, file, line);
        if (!ok)
                printf("# got:  %s\n# want: %s\n", got ? got : "(null)", want ? want : "(null)");
        return ok;
}

static inline bool tap_check_has(const char *got, const char *want, const char *what, const char *file,
                                 int line) {
        bool ok = got && want && strstr(got, want);
        tap_check(ok, what, file, line);
        if (!ok)
                printf("# got:  %s\n# want to contain: %s\n", got ? got : "(null)", want ? want : "(null)");
        return ok;
}

static inline int tap_done(void) {
        printf("1..%d\n", tap_state.n);
        return tap_state.failed ? 1 : 0;
}
