#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "tap.h"

int main(void) {
        char dir[] = "/tmp/podhook-test-fileio.XXXXXX";
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        struct stat st;

        TAP_CHECK(mkdtemp(dir) != NULL);
        _cleanup_free_ char *nested = xasprintf("%s/a/b/c", dir);
        TAP_CHECK(dir_make_parents(nested, 0700, &err) == 0);
        TAP_CHECK(stat(nested, &st) == 0 && S_ISDIR(st.st_mode));

        _cleanup_free_ char *f = xasprintf("%s/state.json", dir);
        TAP_CHECK(file_write_atomic(f, "{}\n", 3, 0600, &err) == 0);
        TAP_CHECK(stat(f, &st) == 0 && (st.st_mode & 0777) == 0600);
        TAP_CHECK(file_read_all(f, 100, &buf, &len, &err) == 0 && len == 3 && strcmp(buf, "{}\n") == 0);
        free(TAKE_PTR(buf));
        TAP_CHECK(file_read_all(f, 2, &buf, &len, &err) == -EFBIG);
        TAP_CHECK_HAS(err ? err->msg : NULL, "state.json");
        TAP_CHECK(file_exists(f) == 1);

        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
        TAP_CHECK(system(cmd) == 0);
        return tap_done();
}
