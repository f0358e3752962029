#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/fault.h"
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

static const char *kind_of(mode_t mode) {
        if (S_ISFIFO(mode))
                return "a FIFO";
        if (S_ISSOCK(mode))
                return "a socket";
        if (S_ISDIR(mode))
                return "a directory";
        if (S_ISCHR(mode) || S_ISBLK(mode))
                return "a device";
        return "not a plain file";
}

int file_open_regular(int dirfd, const char *path, PhError **reterr) {
        /* O_NONBLOCK: opening a FIFO for reading would wait for a writer. It changes nothing for a regular
         * file, whose reads never block. */
        _cleanup_close_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat st;

        if (fd < 0) {
                int e = errno;
                /* A unix socket cannot be opened at all (ENXIO): say what it is. */
                if (e == ENXIO && fstatat(dirfd, path, &st, 0) == 0 && !S_ISREG(st.st_mode))
                        return ph_error_set(reterr, EPERM, "%s is %s, not a regular file", path,
                                            kind_of(st.st_mode));
                return ph_error_set(reterr, e, "%s: %s", path, strerror(e));
        }
        if (fstat(fd, &st) < 0)
                return ph_error_set(reterr, errno, "%s: %s", path, strerror(errno));
        if (!S_ISREG(st.st_mode) && !(S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)))
                return ph_error_set(reterr, EPERM, "%s is %s, not a regular file", path, kind_of(st.st_mode));
        return TAKE_FD(fd);
}

int file_read_all(const char *path, size_t max, char **ret, size_t *ret_len, PhError **reterr) {
        _cleanup_close_ int fd = -1;
        int r;

        if (strcmp(path, "-") == 0)
                return fd_read_all(STDIN_FILENO, max, ret, ret_len, reterr);
        fd = file_open_regular(AT_FDCWD, path, reterr);
        if (fd < 0)
                return fd;
        r = fd_read_all(fd, max, ret, ret_len, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "%s", path);
        return 0;
}

int file_read_private(const char *path, const char *what, size_t max, char **ret, size_t *ret_len,
                      PhError **reterr) {
        _cleanup_free_ char *named = xasprintf("%s %s", what, path);
        _cleanup_close_ int fd = -1;
        int r;

        fd = file_open_regular(AT_FDCWD, path, reterr);
        if (fd < 0)
                return fd;
        r = file_check_private(fd, named, reterr);
        if (r < 0)
                return r;
        r = fd_read_all(fd, max, ret, ret_len, reterr);
        if (r < 0) {
                (void) ph_error_prefix(reterr, "%s", named);
                return r; /* the code even when the caller takes no text */
        }
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
        ph_fault_after_write();
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
        ph_fault_after_write();
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
        ph_fault_after_write();
        return 0;
}

static bool owner_trusted(uid_t owner, uid_t uid) {
        return owner == 0 || owner == uid;
}

/* A directory on the way to of: whoever may write to it can swap what lies below. */
static int check_parent(const char *dir, const char *of, uid_t uid, PhError **reterr) {
        struct stat st;

        if (stat(dir, &st) < 0)
                return ph_error_set(reterr, errno, "%s (a parent of %s): %s", dir, of, strerror(errno));
        if (!owner_trusted(st.st_uid, uid))
                return ph_error_set(
                        reterr, EPERM,
                        "%s (a parent of %s) is owned by uid %u, not by root or the agent's uid %u", dir, of,
                        (unsigned) st.st_uid, (unsigned) uid);
        if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX))
                return ph_error_set(reterr, EPERM, "%s (a parent of %s) is writable by %s and not sticky",
                                    dir, of, st.st_mode & S_IWOTH ? "others" : "its group");
        return 0;
}

/* Each directory from / down to dir (dir itself too when self), both as the path is written (a symbolic
 * link on the way must be root's or uid's: its owner can point it elsewhere) and as it really is. */
static int check_chain(const char *dir, bool self, const char *of, uid_t uid, PhError **reterr) {
        _cleanup_free_ char *cwd = NULL, *abs = NULL, *real = NULL;
        struct stat st;
        int r;

        if (dir[0] != '/') {
                cwd = getcwd(NULL, 0);
                if (!cwd)
                        return ph_error_set(reterr, errno, "%s: the working directory: %s", of,
                                            strerror(errno));
        }
        abs = cwd ? xasprintf("%s/%s", cwd, dir) : xstrdup(dir);
        for (char *s = abs;; s++) {
                if (*s != '/' && *s != '\0')
                        continue;
                char saved = *s;
                bool last = saved == '\0' || s[strspn(s, "/")] == '\0';
                *s = '\0';
                const char *prefix = abs[0] ? abs : "/";
                if (lstat(prefix, &st) == 0 && S_ISLNK(st.st_mode) && !owner_trusted(st.st_uid, uid))
                        return ph_error_set(
                                reterr, EPERM,
                                "%s is a symbolic link of uid %u, not of root or the agent's uid %u", prefix,
                                (unsigned) st.st_uid, (unsigned) uid);
                if (!last || self) {
                        r = check_parent(prefix, of, uid, reterr);
                        if (r < 0)
                                return r;
                }
                *s = saved;
                if (last)
                        break;
        }
        real = realpath(dir, NULL);
        if (!real)
                return ph_error_set(reterr, errno, "%s: %s", dir, strerror(errno));
        for (char *slash = strrchr(real, '/');; slash = strrchr(real, '/')) {
                if (self) {
                        r = check_parent(real, of, uid, reterr);
                        if (r < 0)
                                return r;
                }
                self = true;
                if (slash == real) {
                        r = real[1] ? check_parent("/", of, uid, reterr) : 0;
                        return r;
                }
                *slash = '\0';
        }
}

int dir_check_trusted(int dfd, const char *path, uid_t uid, PhDirTrust how, PhError **reterr) {
        struct stat st;

        if (fstat(dfd, &st) < 0)
                return ph_error_set(reterr, errno, "%s: %s", path, strerror(errno));
        if (!S_ISDIR(st.st_mode))
                return ph_error_set(reterr, ENOTDIR, "%s is not a directory", path);
        if (st.st_uid != uid)
                return ph_error_set(reterr, EPERM, "%s is owned by uid %u, not by the agent's uid %u", path,
                                    (unsigned) st.st_uid, (unsigned) uid);
        if (how == PH_DIR_OWNED)
                return st.st_mode & S_IWOTH ? ph_error_set(reterr, EPERM, "%s is world-writable", path) : 0;
        if (st.st_mode & (S_IWGRP | S_IWOTH))
                return ph_error_set(reterr, EPERM, "%s is writable by its group or others (mode %04o)", path,
                                    (unsigned) (st.st_mode & 07777));
        return check_chain(path, false, path, uid, reterr);
}

int dir_open_private(const char *path, uid_t uid, int *ret_fd, PhError **reterr) {
        _cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct stat st;
        int r;

        if (fd < 0 && errno != ENOENT)
                return ph_error_set(reterr, errno, "%s: %s", path, strerror(errno));
        if (fd < 0) {
                /* Nothing is made below a place someone else controls: the nearest existing one first. */
                _cleanup_free_ char *anc = xstrdup(path);
                for (;;) {
                        char *slash = strrchr(anc, '/');
                        if (!slash)
                                anc = (free(anc), xstrdup("."));
                        else if (slash == anc)
                                anc[1] = '\0';
                        else
                                *slash = '\0';
                        if (stat(anc, &st) == 0 || errno != ENOENT || strcmp(anc, "/") == 0 ||
                            strcmp(anc, ".") == 0)
                                break;
                }
                r = check_chain(anc, true, path, uid, reterr);
                if (r < 0)
                        return r;
                r = dir_make_parents(path, 0700, reterr);
                if (r < 0)
                        return r;
                fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        return ph_error_set(reterr, errno, "%s: %s", path, strerror(errno));
        }
        r = dir_check_trusted(fd, path, uid, PH_DIR_PRIVATE, reterr);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return ph_error_set(reterr, errno, "%s: %s", path, strerror(errno));
        if ((st.st_mode & 077) && fchmod(fd, st.st_mode & 0700) < 0)
                return ph_error_set(reterr, errno, "%s: chmod: %s", path, strerror(errno));
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int file_check_private(int fd, const char *what, PhError **reterr) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return ph_error_set(reterr, errno, "%s: %s", what, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return ph_error_set(reterr, EPERM, "%s is not a regular file", what);
        if (st.st_uid != 0 && st.st_uid != geteuid())
                return ph_error_set(reterr, EPERM,
                                    "%s is owned by uid %u, neither root nor the agent's uid %u", what,
                                    (unsigned) st.st_uid, (unsigned) geteuid());
        if (st.st_mode & 077)
                return ph_error_set(reterr, EPERM,
                                    "%s has mode %04o, must be 0600 or stricter: group or others may read it",
                                    what, (unsigned) (st.st_mode & 07777));
        return 0;
}
