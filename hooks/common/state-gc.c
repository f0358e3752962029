#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/state-gc.h"

/* Newest first; of equal times, the greater name first. */
static int newer_first(const void *a, const void *b) {
        const PhGcEntry *x = *(const PhGcEntry *const *) a, *y = *(const PhGcEntry *const *) b;

        if (x->mtime != y->mtime)
                return x->mtime > y->mtime ? -1 : 1;
        return -strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

size_t state_gc_select(PhGcEntry *entries, size_t n, long long now, const PhGcLimits *limits) {
        _cleanup_free_ PhGcEntry **dead = xcalloc(n + 1, sizeof(PhGcEntry *));
        size_t n_dead = 0, dropped = 0;

        for (size_t i = 0; i < n; i++) {
                entries[i].drop = false;
                if (!entries[i].live)
                        dead[n_dead++] = &entries[i];
        }
        qsort(dead, n_dead, sizeof(PhGcEntry *), newer_first);
        for (size_t k = 0; k < n_dead; k++) {
                long long t = dead[k]->mtime > now ? now : dead[k]->mtime;
                bool too_old = limits->max_age == 0 ||
                               (limits->max_age != PH_GC_FOREVER && now - t > limits->max_age);
                bool too_many = limits->max_entries != PH_GC_UNLIMITED && k >= limits->max_entries;
                if (too_old || too_many) {
                        dead[k]->drop = true;
                        dropped++;
                }
        }
        return dropped;
}
