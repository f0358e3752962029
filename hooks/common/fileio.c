#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

int fd_read_all(int fd, size_t max, char **ret, size_t *ret_len, PhError **reterr) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0, cap = 0;

        for (;;) {
                if (cap - len < 4096) {
                        cap = cap ? cap * 2 : 8192;
                        buf = xrealloc(buf, cap + 1);
                }
                ssize_t n = read(fd, buf + len, cap - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return ph_error_set(reterr, errno, "read failed: %s", strerror(errno));
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return ph_error_set(reterr, EFBIG, "larger than the limit of %zu bytes", max);
        }
        if (!buf)
                buf = xmalloc(1);
        buf[len] = '\0';
        *ret = TAKE_PTR(buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

json_t *file_load_json(const char *path, size_t max) {
        _cleanup_free_ char *text = NULL;
        size_t len;

        if (file_read_all(path, max, &text, &len, NULL) < 0)
                return NULL;
        return json_loadb(text, len, 0, NULL);
}

int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len, PhError **reterr) {
        _cleanup_close_ int fd = -1;
        int r;

        if (strcmp(path, "-") == 0)
                return fd_read_all(STDIN_FILENO, max, ret, ret_len, reterr);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return ph_error_set(reterr, errno, "%s: %s", path, strerror(errno));
        r = fd_read_all(fd, max, ret, ret_len, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "%s", path);
        return 0;
}

static int fsync_parent(const char *path) {
        _cleanup_free_ char *copy = xstrdup(path);
        _cleanup_close_ int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0)
                return -errno;
        return fsync(dfd) < 0 ? -errno : 0;
}

int file_write_atomic(const char *path, const void *data, size_t len, mode_t mode, PhError **reterr) {
        /* A fresh name created with O_EXCL: two writers of one path (threads, or processes of two PID
         * namespaces sharing the directory) never write into each other's temporary file. */
        _cleanup_free_ char *tmp = xasprintf("%s.tmp.XXXXXX", path);
        _cleanup_close_ int fd = -1;
        const char *p = data;

        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return ph_error_set(reterr, errno, "writing %s: %s", path, strerror(errno));
        /* mkostemp creates it 0600; the file must have exactly the mode asked for, whatever the umask. */
        if (fchmod(fd, mode) < 0)
                goto fail;
        while (len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        goto fail;
                }
                p += n;
                len -= (size_t) n;
        }
        if (fsync(fd) < 0)
                goto fail;
        if (close(TAKE_FD(fd)) < 0)
                goto fail;
        if (rename(tmp, path) < 0)
                goto fail;
        (void) fsync_parent(path);
        return 0;
fail:;
        int e = errno;
        (void) unlink(tmp);
        return ph_error_set(reterr, e, "writing %s: %s", path, strerror(e));
}

int dir_make_parents(const char *path, mode_t mode, PhError **reterr) {
        _cleanup_free_ char *p = xstrdup(path);
        struct stat st;

        if (!p[0]) /* the loop starts past the first byte */
                return ph_error_set(reterr, ENOENT, "creating a directory: the path is empty");
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char saved = *s;
                *s = '\0';
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return ph_error_set(reterr, errno, "creating directory %s: %s", p, strerror(errno));
                *s = saved;
                if (saved == '\0')
                        break;
        }
        if (stat(path, &st) < 0)
                return ph_error_set(reterr, errno, "%s: %s", path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return ph_error_set(reterr, ENOTDIR, "%s exists and is not a directory", path);
        return 0;
}

int file_exists(const char *path) {
        if (access(path, F_OK) == 0)
                return 1;
        return errno == ENOENT ? 0 : -errno;
}

int file_move(const char *from, const char *to, PhError **reterr) {
        if (rename(from, to) < 0)
                return ph_error_set(reterr, errno, "moving %s to %s: %s", from, to, strerror(errno));
        int r = fsync_parent(to);
        if (r == 0)
                r = fsync_parent(from);
        if (r < 0)
                return ph_error_set(reterr, -r, "moving %s to %s: fsync: %s", from, to, strerror(-r));
        return 0;
}

int file_remove(const char *path, PhError **reterr) {
        if (unlink(path) < 0) {
                if (errno == ENOENT)
                        return 0;
                return ph_error_set(reterr, errno, "removing %s: %s", path, strerror(errno));
        }
        int r = fsync_parent(path);
        if (r < 0)
                return ph_error_set(reterr, -r, "removing %s: fsync: %s", path, strerror(-r));
        return 0;
}
