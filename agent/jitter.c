#include <sys/random.h>
#include <unistd.h>

#include "jitter.h"

uint64_t jitter_seed(void) {
        uint64_t s;

        if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s))
                s = (uint64_t) getpid() * 0x9e3779b97f4a7c15ull;
        return s | 1;
}

uint64_t jitter_next(uint64_t *state) {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        return *state;
}
