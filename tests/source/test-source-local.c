/* The local source: os-collect-config's local-data rules and the deep merge. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#include "source/source.h"
#include "tap.h"

static void put(const char *dir, const char *name, const char *text, mode_t mode) {
        char p[512];
        snprintf(p, sizeof(p), "%s/%s", dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text))
                abort();
        close(fd);
        chmod(p, mode);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) remove(path);
        return 0;
}

static int collect(const json_t *section, json_t **ret, PhError **err) {
        _cleanup_(source_freep) PhSource *s = NULL;
        int r = source_new("local", section, NULL, &s, err);
        if (r < 0)
                return r;
        return source_collect(s, ret, err);
}

int main(void) {
        char top[] = "/tmp/podhook-test-local-XXXXXX";
        char d1[600], d2[600], p[700];
        _cleanup_error_ PhError *err = NULL;
        json_t *none = NULL;

        if (!mkdtemp(top))
                abort();
        snprintf(d1, sizeof(d1), "%s/one", top);
        snprintf(d2, sizeof(d2), "%s/two", top);
        mkdir(d1, 0755);
        mkdir(d2, 0700);
        put(d1, "b.json", "{\"a\": {\"x\": 1, \"l\": [1, 2]}, \"k\": \"B\"}", 0644);
        put(d1, "a.json", "{\"a\": {\"y\": 2, \"l\": [9], \"o\": {\"p\": 1}}, \"k\": \"A\"}", 0600);
        put(d1, ".hidden", "not json", 0666);
        snprintf(p, sizeof(p), "%s/sub", d1);
        mkdir(p, 0777);
        put(d2, "a.json", "{\"a\": {\"o\": {\"q\": 2}}, \"from\": \"two\"}", 0640);

        /* Sorted by name across both directories (a.json of one, a.json of two, b.json), merged deeply,
         * later wins, lists replaced; hidden files and sub-directories ignored. */
        json_auto_t *sec = json_pack("{s:[s,s,s]}", "path", d1, d2, "/nonexistent/podhook-local");
        json_auto_t *md = NULL;
        TAP_CHECK(collect(sec, &md, &err) == 0);
        json_auto_t *want =
                json_loads("{\"a\": {\"y\": 2, \"l\": [1, 2], \"o\": {\"p\": 1, \"q\": 2}, \"x\": 1},"
                           " \"k\": \"B\", \"from\": \"two\"}",
                           0, NULL);
        TAP_CHECK(md && json_equal(md, want));
        if (md && !json_equal(md, want)) {
                _cleanup_free_ char *t = json_dumps(md, JSON_COMPACT);
                printf("# got %s\n", t);
        }

        /* A plain string section, and an empty directory: an empty object. */
        json_auto_t *only2 = json_string(top);
        json_auto_t *empty = NULL;
        TAP_CHECK(collect(only2, &empty, &err) == 0 && json_object_size(empty) == 0);

        /* A world-writable file: unavailable. */
        snprintf(p, sizeof(p), "%s/b.json", d1);
        chmod(p, 0646);
        TAP_CHECK(collect(sec, &none, &err) == -EPERM && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "b.json is world-writable");
        chmod(p, 0644);

        /* A world-writable directory: unavailable. */
        chmod(d2, 0777);
        TAP_CHECK(collect(sec, &none, &err) == -EPERM && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "two is world-writable");
        chmod(d2, 0700);

        /* A directory of another user: unavailable. */
        if (getuid() == 0) {
                if (chown(d2, 65534, 65534) < 0)
                        abort();
                TAP_CHECK(collect(sec, &none, &err) == -EPERM && !none);
                TAP_CHECK_HAS(ph_error_msg(err), "is owned by uid 65534");
                if (chown(d2, 0, 0) < 0)
                        abort();
        } else {
                json_auto_t *root = json_string("/usr");
                TAP_CHECK(collect(root, &none, &err) == -EPERM && !none);
                TAP_CHECK_HAS(ph_error_msg(err), "is owned by uid 0");
        }

        /* Invalid JSON, or JSON that is not an object: unavailable, the file named. */
        put(d2, "c.json", "{\"a\": ", 0600);
        TAP_CHECK(collect(sec, &none, &err) == -EBADMSG && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "c.json:1: not valid JSON");
        put(d2, "c.json", "[1]", 0600);
        TAP_CHECK(collect(sec, &none, &err) == -EBADMSG && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "c.json: not a JSON object");
        snprintf(p, sizeof(p), "%s/c.json", d2);
        unlink(p);

        /* A FIFO is not a regular file: unavailable, and reading does not block. */
        snprintf(p, sizeof(p), "%s/fifo", d2);
        TAP_CHECK(mkfifo(p, 0600) == 0);
        TAP_CHECK(collect(sec, &none, &err) == -EPERM && !none);
        TAP_CHECK_HAS(ph_error_msg(err), "fifo is a FIFO, not a regular file");
        unlink(p);

        /* Back to good. */
        json_auto_t *again = NULL;
        TAP_CHECK(collect(sec, &again, &err) == 0 && json_equal(again, want));

        /* Config errors. */
        json_auto_t *rel = json_pack("{s:[s]}", "path", "relative/dir");
        TAP_CHECK(collect(rel, &none, &err) == -EINVAL);

        nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
        return tap_done();
}
