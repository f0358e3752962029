/* Which records of a state directory may go: a pure decision from the records' ages and whether each
 * is still needed, under limits of age and count (docs/clean-node.md has the limits podhook uses). */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

/* No age limit / no count limit. */
#define PH_GC_FOREVER   LLONG_MAX
#define PH_GC_UNLIMITED ((size_t) -1)

typedef struct PhGcEntry {
        const char *name;
        long long mtime; /* when it was last written, seconds since the epoch */
        bool live;       /* still needed (a deployment still listed, a container that exists): never goes */
        bool drop;       /* out: collect it */
} PhGcEntry;

typedef struct PhGcLimits {
        long long max_age;  /* an entry that is no longer needed is kept this many seconds (0: none) */
        size_t max_entries; /* and only the newest this many of them (0: none) */
} PhGcLimits;

/* Marks drop on every entry that is not live and is older than max_age, or is not among the newest
 * max_entries of those not live (ties: by name, the greater kept). An mtime in the future counts as now.
 * Returns how many are marked. */
size_t state_gc_select(PhGcEntry *entries, size_t n, long long now, const PhGcLimits *limits);
