/* Pod names from deployment names (no engine needed): valid names are kept as they are, others are made
 * valid with a digest of the original, so that two different names never give one pod. */
#include <stdlib.h>
#include <string.h>

#include "docker/pod.h"
#include "tap.h"

static char *name(const char *s) {
        char *n = pod_name_sanitize(s);
        printf("# '%s' -> '%s'\n", s ? s : "(null)", n);
        return n;
}

int main(void) {
        const char *const kept[] = {"web", "web-pod", "web_pod-1.x", "20_web", "A"};
        for (size_t i = 0; i < ELEMENTSOF(kept); i++) {
                _cleanup_free_ char *n = name(kept[i]);
                TAP_CHECK_STR(n, kept[i]);
        }

        /* Names that differ only where they are not valid stay apart, and apart from the valid one. */
        const char *const groups[][3] = {{"atk\xc3\xa9", "atk\xc3\xbc", "atk-"},
                                         {"web pod", "web?pod", "web-pod"},
                                         {"_x", ".x", "pod-_x"}};
        for (size_t g = 0; g < ELEMENTSOF(groups); g++) {
                _cleanup_free_ char *a = name(groups[g][0]), *b = name(groups[g][1]), *c = name(groups[g][2]);
                TAP_CHECK(pod_name_is_valid(a) && pod_name_is_valid(b) && pod_name_is_valid(c));
                TAP_CHECK(strcmp(a, b) != 0 && strcmp(a, c) != 0 && strcmp(b, c) != 0);
        }
        /* Readable: the valid part stays, one '-' for a run of invalid bytes, 8 hex digits at the end. */
        _cleanup_free_ char *u = name("atk\xc3\xa9"), *again = name("atk\xc3\xa9");
        TAP_CHECK(strncmp(u, "atk--", 5) == 0 && strlen(u) == 13 && strspn(u + 5, "0123456789abcdef") == 8);
        TAP_CHECK_STR(u, again); /* stable: the same deployment always finds its pod */
        _cleanup_free_ char *sp = name("web pod");
        TAP_CHECK(strncmp(sp, "web-pod-", 8) == 0 && strlen(sp) == 16);

        /* Too long: cut, and still distinct. */
        char longa[300], longb[300];
        memset(longa, 'a', sizeof(longa) - 1);
        longa[sizeof(longa) - 1] = '\0';
        memcpy(longb, longa, sizeof(longa));
        longb[250] = 'b';
        _cleanup_free_ char *la = name(longa), *lb = name(longb);
        TAP_CHECK(strlen(la) == POD_NAME_MAX && pod_name_is_valid(la) && strcmp(la, lb) != 0);
        _cleanup_free_ char *empty = name("");
        TAP_CHECK(pod_name_is_valid(empty));
        return tap_done();
}
