/* Fuzz target for manifest parsing and validation. Built with clang -fsanitize=fuzzer it is a libFuzzer
 * target; built normally (gcc) its main() replays the files or directories named on the command line, which
 * is how the corpus runs as a regression test. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/fileio.h"
#include "manifest/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_error_ PhError *err = NULL;

        if (manifest_load((const char *) data, size, "fuzz.yaml", &m, &warnings, &err) < 0) {
                /* Every failure says why, on lines that name the source. */
                if (!err || !err->msg || strncmp(err->msg, "fuzz.yaml", 9) != 0)
                        __builtin_trap();
        } else if (!m || !m->version || m->n_containers == 0)
                __builtin_trap();
        return 0;
}

#ifndef PH_LIBFUZZER
static int replay_file(const char *path) {
        _cleanup_free_ char *buf = NULL;
        _cleanup_error_ PhError *err = NULL;
        size_t len = 0;

        if (file_read_all(path, 2 * MANIFEST_MAX_BYTES, &buf, &len, &err) < 0) {
                fprintf(stderr, "%s\n", ph_error_msg(err));
                return -1;
        }
        LLVMFuzzerTestOneInput((const uint8_t *) buf, len);
        return 0;
}

int main(int argc, char **argv) {
        size_t n = 0;

        for (int i = 1; i < argc; i++) {
                DIR *d = opendir(argv[i]);
                if (!d) {
                        if (replay_file(argv[i]) < 0)
                                return 1;
                        n++;
                        continue;
                }
                for (struct dirent *de; (de = readdir(d));) {
                        if (de->d_name[0] == '.')
                                continue;
                        _cleanup_free_ char *p = xasprintf("%s/%s", argv[i], de->d_name);
                        if (replay_file(p) < 0) {
                                closedir(d);
                                return 1;
                        }
                        n++;
                }
                closedir(d);
        }
        printf("replayed %zu inputs\n", n);
        return n > 0 ? 0 : 1;
}
#endif
