/* The corpus replay: built with gcc (no libFuzzer), a fuzz target links this main(), which feeds it
 * every file named on the command line, and every file of every directory named, in name order. A
 * target that crashes, leaks (ASan) or breaks a promise (FUZZ_CHECK) on one of them fails the test. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fuzz.h"

/* Larger than any limit of the parsers, so a corpus file can show that a limit holds. */
#define REPLAY_MAX_INPUT (64u * 1024u * 1024u)

static int replay_file(const char *path) {
        FILE *f = fopen(path, "rbe");
        struct stat st;

        if (!f || fstat(fileno(f), &st) < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(errno));
                if (f)
                        fclose(f);
                return -1;
        }
        if (st.st_size < 0 || (unsigned long long) st.st_size > REPLAY_MAX_INPUT) {
                fprintf(stderr, "%s: larger than %u bytes\n", path, REPLAY_MAX_INPUT);
                fclose(f);
                return -1;
        }
        size_t size = (size_t) st.st_size;
        /* Exactly size bytes, so ASan sees any read past the end of the input. */
        uint8_t *buf = malloc(size ? size : 1);
        if (!buf || fread(buf, 1, size, f) != size) {
                fprintf(stderr, "%s: cannot read\n", path);
                free(buf);
                fclose(f);
                return -1;
        }
        fclose(f);
        fprintf(stderr, "replaying %s (%zu bytes)\n", path, size);
        LLVMFuzzerTestOneInput(buf, size);
        free(buf);
        return 0;
}

static int hidden(const struct dirent *de) {
        return de->d_name[0] != '.';
}

int main(int argc, char **argv) {
        struct timespec t0, t1;
        size_t n = 0;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (replay_file(argv[i]) < 0)
                                return 1;
                        n++;
                        continue;
                }
                struct dirent **list = NULL;
                int m = scandir(argv[i], &list, hidden, alphasort);
                if (m < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return 1;
                }
                int r = 0;
                for (int j = 0; j < m; j++) {
                        if (r == 0) {
                                char *p = xasprintf("%s/%s", argv[i], list[j]->d_name);
                                r = replay_file(p);
                                free(p);
                                n++;
                        }
                        free(list[j]);
                }
                free(list);
                if (r < 0)
                        return 1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        printf("replayed %zu inputs in %.0f ms\n", n,
               (double) (t1.tv_sec - t0.tv_sec) * 1e3 + (double) (t1.tv_nsec - t0.tv_nsec) / 1e6);
        /* An empty corpus proves nothing: say so rather than pass. */
        return n > 0 ? 0 : 1;
}
