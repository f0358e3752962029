/* Validates one manifest file: exit 0 when valid (and, with --strict, without warnings). With
 * --expect-invalid, exit 0 only when the file is rejected, and, with --expect FILE, only when the messages
 * equal FILE's text. Prints every message. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/error.h"
#include "common/fileio.h"
#include "manifest/manifest.h"

int main(int argc, char **argv) {
        _cleanup_free_ char *buf = NULL, *expect = NULL;
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_error_ PhError *err = NULL;
        const char *file = NULL, *expect_file = NULL, *source = NULL;
        bool expect_invalid = false, strict = false;
        size_t len = 0;
        int r;

        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "--expect-invalid") == 0)
                        expect_invalid = true;
                else if (strcmp(argv[i], "--strict") == 0)
                        strict = true;
                else if (strcmp(argv[i], "--expect") == 0 && i + 1 < argc)
                        expect_file = argv[++i];
                else if (strcmp(argv[i], "--source") == 0 && i + 1 < argc)
                        source = argv[++i];
                else
                        file = argv[i];
        }
        if (!file) {
                fprintf(stderr, "usage: validate-file [--strict] [--expect-invalid] [--expect MESSAGES] "
                                "[--source NAME] FILE\n");
                return 2;
        }
        r = file_read_all(file, MANIFEST_MAX_BYTES + 1, &buf, &len, &err);
        if (r < 0) {
                fprintf(stderr, "%s\n", ph_error_msg(err));
                return 2;
        }
        /* As `podhook validate` checks it: for a node whose agent keeps its state in the default place. */
        const PhManifestHost host = {.state_dir = "/var/lib/podhook"};
        r = manifest_load_for(buf, len, source ?: file, &host, &m, &warnings, &err);
        for (char **w = warnings; w && *w; w++)
                printf("warning: %s\n", *w);
        if (r < 0)
                printf("%s\n", ph_error_msg(err));
        else
                printf("%s: valid, %zu container(s), %zu volume(s)\n", file, m->n_containers, m->n_volumes);
        if (!expect_invalid)
                return r < 0 || (strict && warnings && warnings[0]) ? 1 : 0;
        if (r >= 0) {
                fprintf(stderr, "%s: expected validation to fail, but it passed\n", file);
                return 1;
        }
        if (expect_file) {
                size_t elen = 0;
                if (file_read_all(expect_file, 1024 * 1024, &expect, &elen, &err) < 0) {
                        fprintf(stderr, "%s\n", ph_error_msg(err));
                        return 2;
                }
                while (elen > 0 && expect[elen - 1] == '\n')
                        expect[--elen] = 0;
                if (strcmp(expect, ph_error_msg(err)) != 0) {
                        fprintf(stderr, "messages differ from %s:\n--- want\n%s\n--- got\n%s\n", expect_file,
                                expect, ph_error_msg(err));
                        return 1;
                }
        }
        return 0;
}
