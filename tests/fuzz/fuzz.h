/* What every fuzz target shares: libFuzzer's entry point, and checks that turn a broken promise of the
 * code under test into a finding (libFuzzer keeps the input of any abort, like that of a crash). Each
 * fuzz-<name>.c defines LLVMFuzzerTestOneInput only; fuzz-main.c or libFuzzer supplies main(). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                                     \
        do {                                                                                                 \
                if (!(cond)) {                                                                               \
                        fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #cond);           \
                        abort();                                                                             \
                }                                                                                            \
        } while (0)

/* The input as the agent holds a file or an HTTP body: the bytes plus a terminating NUL (which the
 * bytes may contain too). The caller frees it. */
static inline char *fuzz_text(const uint8_t *data, size_t size) {
        char *s = xmalloc(size + 1);
        if (size > 0)
                memcpy(s, data, size);
        s[size] = '\0';
        return s;
}
