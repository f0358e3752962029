#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/fileio.h"
#include "tap.h"

typedef struct Writer {
        const char *path;
        char fill;
        int failures;
} Writer;

static void *write_many(void *userdata) {
        Writer *w = userdata;
        char text[4096];

        memset(text, w->fill, sizeof(text));
        for (int i = 0; i < 200; i++) {
                _cleanup_error_ PhError *err = NULL;
                if (file_write_atomic(w->path, text, sizeof(text), 0600, &err) < 0)
                        w->failures++;
        }
        return NULL;
}

/* Two writers of one path at once: each write succeeds whole, the file is always one of them, no
 * temporary file stays behind. */
static void test_concurrent_writers(const char *dir) {
        _cleanup_free_ char *f = xasprintf("%s/shared.json", dir);
        _cleanup_free_ char *buf = NULL;
        Writer a = {f, 'a', 0}, b = {f, 'b', 0};
        pthread_t ta, tb;
        size_t len = 0, entries = 0;

        TAP_CHECK(pthread_create(&ta, NULL, write_many, &a) == 0);
        TAP_CHECK(pthread_create(&tb, NULL, write_many, &b) == 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        TAP_CHECK(a.failures == 0 && b.failures == 0);
        TAP_CHECK(file_read_all(f, 8192, &buf, &len, NULL) == 0 && len == 4096);
        bool whole = buf && len == 4096;
        for (size_t i = 1; whole && i < len; i++)
                whole = buf[i] == buf[0];
        TAP_CHECK(whole);

        DIR *d = opendir(dir);
        for (struct dirent *e; d && (e = readdir(d));)
                if (strncmp(e->d_name, "shared.json", 11) == 0)
                        entries++;
        if (d)
                closedir(d);
        TAP_CHECK(entries == 1);
}

/* A FIFO or a socket where a file is expected is refused at once (a FIFO would block a reader until
 * a writer comes); /dev/null stands for an empty file. */
static void test_not_regular(const char *dir) {
        _cleanup_free_ char *fifo = xasprintf("%s/fifo", dir), *sock = xasprintf("%s/sock", dir);
        _cleanup_free_ char *buf = NULL;
        _cleanup_error_ PhError *err = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int sfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        size_t len = 99;

        alarm(10); /* a regression blocks in open(): fail, do not hang */
        TAP_CHECK(mkfifo(fifo, 0600) == 0);
        TAP_CHECK(file_read_all(fifo, 100, &buf, &len, &err) == -EPERM);
        TAP_CHECK_HAS(ph_error_msg(err), "fifo is a FIFO, not a regular file");
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
        TAP_CHECK(sfd >= 0 && bind(sfd, (struct sockaddr *) &sa, sizeof(sa)) == 0 && listen(sfd, 1) == 0);
        TAP_CHECK(file_read_all(sock, 100, &buf, &len, &err) == -EPERM);
        TAP_CHECK_HAS(ph_error_msg(err), "sock is a socket, not a regular file");
        TAP_CHECK(file_read_all(dir, 100, &buf, &len, &err) == -EPERM);
        TAP_CHECK_HAS(ph_error_msg(err), "is a directory, not a regular file");
        TAP_CHECK(file_read_all("/dev/null", 100, &buf, &len, &err) == 0 && len == 0 && buf && !buf[0]);
        free(TAKE_PTR(buf));
        TAP_CHECK(file_read_all("/dev/zero", 100, &buf, &len, &err) == -EPERM);
        TAP_CHECK_HAS(ph_error_msg(err), "/dev/zero is a device, not a regular file");
        alarm(0);
        close(sfd);
}

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
        TAP_CHECK(dir_make_parents("", 0700, &err) == -ENOENT);
        TAP_CHECK_STR(err ? err->msg : NULL, "creating a directory: the path is empty");

        _cleanup_free_ char *f = xasprintf("%s/state.json", dir);
        TAP_CHECK(file_write_atomic(f, "{}\n", 3, 0600, &err) == 0);
        TAP_CHECK(stat(f, &st) == 0 && (st.st_mode & 0777) == 0600);
        TAP_CHECK(file_read_all(f, 100, &buf, &len, &err) == 0 && len == 3 && strcmp(buf, "{}\n") == 0);
        free(TAKE_PTR(buf));
        TAP_CHECK(file_read_all(f, 2, &buf, &len, &err) == -EFBIG);
        TAP_CHECK_HAS(err ? err->msg : NULL, "state.json");
        TAP_CHECK(file_exists(f) == 1);
        test_concurrent_writers(dir);
        test_not_regular(dir);

        _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", dir);
        TAP_CHECK(system(cmd) == 0);
        return tap_done();
}
