/* Cheap randomness for back-off jitter (poll and signal retries): not for anything secret. */
#pragma once

#include <stdint.h>

/* A non-zero seed from getrandom(), or from the pid when that is unavailable. */
uint64_t jitter_seed(void);
/* The next value of the xorshift64 sequence in *state (never 0 when the seed is not). */
uint64_t jitter_next(uint64_t *state);
