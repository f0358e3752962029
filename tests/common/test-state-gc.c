/* state_gc_select from tables: which records of a state directory go under limits of age and count. */
#include <stdio.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/state-gc.h"
#include "tap.h"

#define NOW  1000000LL
#define DAY  86400LL
#define MAXN 8

typedef struct Case {
        const char *what;
        PhGcLimits limits;
        /* "name:age-in-seconds" and '+' in front when live */
        const char *entries[MAXN];
        const char *dropped; /* names marked, in entry order, space-separated */
} Case;

static const Case cases[] = {
        {"nothing", {7 * DAY, 1000}, {NULL}, ""},
        {"young dead entries stay", {7 * DAY, 1000}, {"a:10", "b:6000"}, ""},
        {"older than the age limit",
         {7 * DAY, 1000},
         {"a:10", "old:700000", "b:604800", "c:604801"},
         "old c"},
        {"live ones never go, however old", {7 * DAY, 1000}, {"+a:9999999", "b:9999999"}, "b"},
        {"beyond the count: the oldest go", {PH_GC_FOREVER, 2}, {"a:30", "b:10", "c:20", "d:40"}, "a d"},
        {"live ones do not count", {PH_GC_FOREVER, 1}, {"+a:1", "+b:2", "c:3", "d:4"}, "d"},
        {"both limits: either is enough", {100, 2}, {"a:1", "b:2", "c:3", "d:200"}, "c d"},
        {"equal times: the greater name stays", {PH_GC_FOREVER, 1}, {"x:5", "y:5", "w:5"}, "x w"},
        {"a time in the future counts as now", {100, 1000}, {"future:-5000"}, ""},
        {"max_age 0: at once", {0, PH_GC_UNLIMITED}, {"a:0", "+b:0", "c:1"}, "a c"},
        {"max_entries 0: none kept", {PH_GC_FOREVER, 0}, {"a:0", "+b:0"}, "a"},
        {"no limits at all", {PH_GC_FOREVER, PH_GC_UNLIMITED}, {"a:99999999"}, ""},
};

int main(void) {
        for (size_t c = 0; c < ELEMENTSOF(cases); c++) {
                PhGcEntry e[MAXN] = {};
                char names[MAXN][32];
                size_t n = 0, want_n = 0;
                char got[256] = "";

                for (; n < MAXN && cases[c].entries[n]; n++) {
                        const char *s = cases[c].entries[n];
                        long long age = 0;
                        e[n].live = s[0] == '+';
                        if (e[n].live)
                                s++;
                        (void) sscanf(s, "%31[^:]:%lld", names[n], &age);
                        e[n].name = names[n];
                        e[n].mtime = NOW - age;
                }
                size_t marked = state_gc_select(e, n, NOW, &cases[c].limits);
                for (size_t i = 0; i < n; i++)
                        if (e[i].drop)
                                snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
                                         *got ? " " : "", e[i].name);
                for (const char *p = cases[c].dropped; *p; p++)
                        want_n += (p == cases[c].dropped || p[-1] == ' ') && *p != ' ';
                printf("# %s\n", cases[c].what);
                TAP_CHECK_STR(got, cases[c].dropped);
                TAP_CHECK(marked == want_n);
        }
        return tap_done();
}
