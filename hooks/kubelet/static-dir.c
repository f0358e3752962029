/* Files in the kubelet's static-pod directory. Every name is opened relative to the directory's fd and
 * never through a symbolic link; every change is made under an exclusive flock on the directory, so two
 * podhook processes (the agent, `podhook apply`) never see each other's temporaries half-way. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fileio.h"
#include "kubelet/convert.h"
#include "kubelet/static-dir.h"
#include "manifest/manifest-internal.h"

/* The Pod holds env values, passwords among them: only root (the kubelet) reads it, as kubeadm's files. */
#define FILE_MODE 0600

struct PhStaticDir {
        char *path;
        int fd;
};

PH_DEFINE_CLEANUP(DIR *, closedir)

PhStaticDir *static_dir_free(PhStaticDir *d) {
        if (!d)
                return NULL;
        if (d->fd >= 0)
                (void) close(d->fd);
        free(d->path);
        free(d);
        return NULL;
}

const char *static_dir_path(const PhStaticDir *d) {
        return d->path;
}

/* The directory's lock, held while a change is made; released when the fd it was taken on closes. */
static int dir_lock(const PhStaticDir *d, PhError **reterr) {
        int fd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return ph_error_set(reterr, errno, "%s: %s", d->path, strerror(errno));
        while (flock(fd, LOCK_EX) < 0) {
                if (errno == EINTR)
                        continue;
                int e = errno;
                (void) close(fd);
                return ph_error_set(reterr, e, "%s: locking: %s", d->path, strerror(e));
        }
        return fd;
}

static bool has_prefix(const char *s, const char *p) {
        return strncmp(s, p, strlen(p)) == 0;
}

static bool has_suffix(const char *s, const char *x) {
        size_t n = strlen(s), m = strlen(x);
        return n >= m && strcmp(s + n - m, x) == 0;
}

/* "." + one of our names + ".tmp-" + 12 letters: what write_file makes, and nothing else. */
static bool is_our_temporary(const char *fname) {
        const char *mark = fname[0] == '.' ? strstr(fname, STATIC_DIR_SUFFIX STATIC_DIR_TMP_MARK) : NULL;

        if (!mark || !has_prefix(fname + 1, STATIC_DIR_PREFIX))
                return false;
        const char *tail = mark + strlen(STATIC_DIR_SUFFIX STATIC_DIR_TMP_MARK);
        if (strlen(tail) != 12)
                return false;
        for (const char *p = tail; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9')))
                        return false;
        _cleanup_free_ char *final =
                xstrndup(fname + 1, (size_t) (mark - fname - 1) + strlen(STATIC_DIR_SUFFIX));
        return static_dir_name_is_ours(final, NULL);
}

int static_dir_open(const char *path, PhStaticDir **ret, PhError **reterr) {
        _cleanup_(static_dir_freep) PhStaticDir *d = xcalloc(1, sizeof(*d));
        _cleanup_(closedirp) DIR *dir = NULL;
        _cleanup_close_ int lock = -1;
        struct dirent *de;

        d->path = xstrdup(path);
        d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->fd < 0) {
                int e = errno;
                return ph_error_set(reterr, e, "the kubelet's manifest directory %s: %s%s", path, strerror(e),
                                    e == ENOENT ? " (its staticPodPath: --kubelet-manifest-dir)" : "");
        }
        lock = dir_lock(d, reterr);
        if (lock < 0)
                return lock;
        int scan = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (scan < 0 || !(dir = fdopendir(scan))) {
                int e = errno;
                if (scan >= 0)
                        (void) close(scan);
                return ph_error_set(reterr, e, "%s: %s", path, strerror(e));
        }
        bool removed = false;
        while ((errno = 0, de = readdir(dir))) {
                struct stat st;
                if (!is_our_temporary(de->d_name))
                        continue;
                if (fstatat(d->fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (unlinkat(d->fd, de->d_name, 0) < 0 && errno != ENOENT)
                        return ph_error_set(reterr, errno, "%s: removing the leftover %s: %s", path,
                                            de->d_name, strerror(errno));
                removed = true;
        }
        if (errno != 0)
                return ph_error_set(reterr, errno, "%s: reading: %s", path, strerror(errno));
        if (removed)
                (void) fsync(d->fd);
        *ret = TAKE_PTR(d);
        return 0;
}

char *static_dir_file_name(const char *name) {
        /* A v1 pod name is a DNS-1123 subdomain: never '/', never a leading '.'. */
        if (!name || !kubelet_is_dns_subdomain(name))
                return NULL;
        return xasprintf(STATIC_DIR_PREFIX "%s" STATIC_DIR_SUFFIX, name);
}

bool static_dir_name_is_ours(const char *fname, char **ret_name) {
        size_t n = strlen(fname), p = strlen(STATIC_DIR_PREFIX), s = strlen(STATIC_DIR_SUFFIX);

        if (n <= p + s || !has_prefix(fname, STATIC_DIR_PREFIX) || !has_suffix(fname, STATIC_DIR_SUFFIX))
                return false;
        _cleanup_free_ char *name = xstrndup(fname + p, n - p - s);
        if (!kubelet_is_dns_subdomain(name))
                return false;
        if (ret_name)
                *ret_name = TAKE_PTR(name);
        return true;
}

bool static_dir_pod_is_ours(const json_t *v1pod, const char *pod) {
        const json_t *ann = json_object_get(json_object_get(v1pod, "metadata"), "annotations");
        const char *owner = json_string_value(json_object_get(ann, KUBELET_KEY_POD));

        return owner && *owner && (!pod || strcmp(owner, pod) == 0);
}

/* The file fname as text (*ret NULL when missing). Not a regular file (a symbolic link included) is
 * -EEXIST: nothing podhook made. */
static int read_file(const PhStaticDir *d, const char *fname, char **ret, size_t *ret_len, PhError **reterr) {
        _cleanup_close_ int fd =
                openat(d->fd, fname, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
        struct stat st;

        *ret = NULL;
        if (fd < 0) {
                if (errno == ENOENT)
                        return 0;
                if (errno == ELOOP)
                        return ph_error_set(reterr, EEXIST,
                                            "%s/%s is a symbolic link, not podhook's: left alone", d->path,
                                            fname);
                return ph_error_set(reterr, errno, "%s/%s: %s", d->path, fname, strerror(errno));
        }
        if (fstat(fd, &st) < 0)
                return ph_error_set(reterr, errno, "%s/%s: %s", d->path, fname, strerror(errno));
        if (!S_ISREG(st.st_mode))
                return ph_error_set(reterr, EEXIST, "%s/%s is not a regular file, not podhook's: left alone",
                                    d->path, fname);
        int r = fd_read_all(fd, KUBELET_FILE_MAX, ret, ret_len, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "%s/%s", d->path, fname);
        return 0;
}

/* The Pod of a file's text, or NULL when it is none (a foreign file need not parse). */
static json_t *parse_pod(const char *text, size_t len, const char *source) {
        json_t *root = NULL, *lines = NULL;

        if (manifest_yaml_parse(text, len, source, &root, &lines, NULL) < 0)
                return NULL;
        json_decref(lines);
        if (!json_is_object(root)) {
                json_decref(root);
                return NULL;
        }
        return root;
}

int static_dir_read(PhStaticDir *d, const char *name, json_t **ret, PhError **reterr) {
        _cleanup_free_ char *fname = static_dir_file_name(name), *text = NULL;
        size_t len = 0;
        int r;

        *ret = NULL;
        if (!fname)
                return ph_error_set(reterr, EINVAL, "%s is not a v1 pod name", name);
        r = read_file(d, fname, &text, &len, reterr);
        if (r < 0 || !text)
                return r;
        *ret = parse_pod(text, len, fname);
        if (!*ret)
                return ph_error_set(reterr, EINVAL, "%s/%s does not hold a Pod", d->path, fname);
        return 0;
}

/* A fresh temporary name for fname, opened O_EXCL (a name left by a writer that was killed is never
 * reused: the next open removes it). */
static int open_temporary(const PhStaticDir *d, const char *fname, char **ret_tmp, PhError **reterr) {
        static const char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";

        for (int attempt = 0; attempt < 16; attempt++) {
                unsigned char rnd[12];
                char tail[13];
                if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t) sizeof(rnd))
                        return ph_error_set(reterr, EIO, "getrandom failed");
                for (size_t i = 0; i < sizeof(rnd); i++)
                        tail[i] = letters[rnd[i] % (sizeof(letters) - 1)];
                tail[12] = 0;
                _cleanup_free_ char *tmp = xasprintf(".%s" STATIC_DIR_TMP_MARK "%s", fname, tail);
                int fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, FILE_MODE);
                if (fd >= 0) {
                        *ret_tmp = TAKE_PTR(tmp);
                        return fd;
                }
                if (errno != EEXIST)
                        return ph_error_set(reterr, errno, "%s: creating a temporary for %s: %s", d->path,
                                            fname, strerror(errno));
        }
        return ph_error_set(reterr, EEXIST, "%s: no free temporary name for %s", d->path, fname);
}

/* fname gets exactly text: temporary, fsync, rename over it, fsync the directory. */
static int replace_file(const PhStaticDir *d, const char *fname, const char *text, size_t len,
                        PhError **reterr) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = open_temporary(d, fname, &tmp, reterr);
        const char *p = text;
        int e = 0;

        if (fd < 0)
                return fd;
        /* Exactly FILE_MODE, whatever the umask. */
        if (fchmod(fd, FILE_MODE) < 0)
                e = errno;
        while (e == 0 && len > 0) {
                ssize_t n = write(fd, p, len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        e = errno;
                        break;
                }
                p += n;
                len -= (size_t) n;
        }
        if (e == 0 && fsync(fd) < 0)
                e = errno;
        if (e == 0 && close(TAKE_FD(fd)) < 0)
                e = errno;
        if (e == 0 && renameat(d->fd, tmp, d->fd, fname) < 0)
                e = errno;
        if (e != 0) {
                (void) unlinkat(d->fd, tmp, 0);
                return ph_error_set(reterr, e, "writing %s/%s: %s", d->path, fname, strerror(e));
        }
        if (fsync(d->fd) < 0)
                return ph_error_set(reterr, errno, "writing %s/%s: fsync: %s", d->path, fname,
                                    strerror(errno));
        return 0;
}

/* Whether the existing file fname (text) may be replaced or removed for podhook pod `pod`: -EEXIST with
 * the reason when not. */
static int check_owner(const PhStaticDir *d, const char *fname, const char *text, size_t len, const char *pod,
                       PhError **reterr) {
        json_auto_t *old = parse_pod(text, len, fname);
        const char *owner;

        if (!old || !static_dir_pod_is_ours(old, NULL))
                return ph_error_set(reterr, EEXIST,
                                    "%s/%s has no %s annotation: it is not podhook's, and is left alone",
                                    d->path, fname, KUBELET_KEY_POD);
        if (!static_dir_pod_is_ours(old, pod)) {
                owner = json_string_value(json_object_get(
                        json_object_get(json_object_get(old, "metadata"), "annotations"), KUBELET_KEY_POD));
                return ph_error_set(reterr, EEXIST, "%s/%s is podhook's pod %s, not %s: left alone", d->path,
                                    fname, owner, pod);
        }
        return 0;
}

int static_dir_write(PhStaticDir *d, const json_t *v1pod, const char *text, size_t len, PhStaticWrite *ret,
                     PhError **reterr) {
        const char *name = json_string_value(json_object_get(json_object_get(v1pod, "metadata"), "name"));
        const char *pod = json_string_value(json_object_get(
                json_object_get(json_object_get(v1pod, "metadata"), "annotations"), KUBELET_KEY_POD));
        _cleanup_free_ char *fname = static_dir_file_name(name), *old = NULL;
        _cleanup_close_ int lock = -1;
        size_t old_len = 0;
        int r;

        if (!fname || !pod)
                return ph_error_set(reterr, EINVAL, "the Pod has no v1 name or no %s annotation",
                                    KUBELET_KEY_POD);
        lock = dir_lock(d, reterr);
        if (lock < 0)
                return lock;
        r = read_file(d, fname, &old, &old_len, reterr);
        if (r < 0)
                return r;
        if (old && old_len == len && memcmp(old, text, len) == 0) {
                *ret = STATIC_WRITE_UNCHANGED;
                return 0;
        }
        if (old) {
                r = check_owner(d, fname, old, old_len, pod, reterr);
                if (r < 0)
                        return r;
        }
        r = replace_file(d, fname, text, len, reterr);
        if (r < 0)
                return r;
        *ret = old ? STATIC_WRITE_REPLACED : STATIC_WRITE_CREATED;
        return 0;
}

int static_dir_remove(PhStaticDir *d, const char *name, const char *pod, PhStaticRemove *ret,
                      PhError **reterr) {
        _cleanup_free_ char *fname = static_dir_file_name(name), *old = NULL;
        _cleanup_error_ PhError *why = NULL;
        _cleanup_close_ int lock = -1;
        size_t old_len = 0;
        int r;

        if (!fname)
                return ph_error_set(reterr, EINVAL, "%s is not a v1 pod name", name);
        lock = dir_lock(d, reterr);
        if (lock < 0)
                return lock;
        r = read_file(d, fname, &old, &old_len, &why);
        if (r == -EEXIST) {
                *ret = STATIC_REMOVE_FOREIGN;
                return 0;
        }
        if (r < 0) {
                if (reterr)
                        *reterr = TAKE_PTR(why);
                return r;
        }
        if (!old) {
                *ret = STATIC_REMOVE_ABSENT;
                return 0;
        }
        if (check_owner(d, fname, old, old_len, pod, NULL) < 0) {
                *ret = STATIC_REMOVE_FOREIGN;
                return 0;
        }
        if (unlinkat(d->fd, fname, 0) < 0 && errno != ENOENT)
                return ph_error_set(reterr, errno, "removing %s/%s: %s", d->path, fname, strerror(errno));
        if (fsync(d->fd) < 0)
                return ph_error_set(reterr, errno, "removing %s/%s: fsync: %s", d->path, fname,
                                    strerror(errno));
        *ret = STATIC_REMOVE_REMOVED;
        return 0;
}

int static_dir_list(PhStaticDir *d, json_t **ret, PhError **reterr) {
        _cleanup_(closedirp) DIR *dir = NULL;
        json_auto_t *out = json_object();
        struct dirent *de;
        int scan = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (scan < 0 || !(dir = fdopendir(scan))) {
                int e = errno;
                if (scan >= 0)
                        (void) close(scan);
                return ph_error_set(reterr, e, "%s: %s", d->path, strerror(e));
        }
        while ((errno = 0, de = readdir(dir))) {
                _cleanup_free_ char *name = NULL, *text = NULL;
                json_auto_t *pod = NULL;
                size_t len = 0;
                if (!static_dir_name_is_ours(de->d_name, &name))
                        continue;
                /* A foreign file of our naming (a symbolic link, a FIFO) is skipped, never followed. */
                if (read_file(d, de->d_name, &text, &len, NULL) < 0 || !text)
                        continue;
                pod = parse_pod(text, len, de->d_name);
                if (!pod || !static_dir_pod_is_ours(pod, NULL))
                        continue;
                const json_t *ann = json_object_get(json_object_get(pod, "metadata"), "annotations");
                const char *owner = json_string_value(json_object_get(ann, KUBELET_KEY_POD));
                const char *dep = json_string_value(json_object_get(ann, KUBELET_KEY_DEPLOYMENT));
                const char *hash = json_string_value(json_object_get(ann, KUBELET_KEY_SPEC_HASH));
                json_t *entry = json_pack("{s:s, s:s, s:s, s:s}", "file", de->d_name, "name", name,
                                          "deployment", dep ? dep : "", "spec-hash", hash ? hash : "");
                static const char *const owner_keys[][2] = {
                        {KUBELET_ANNOTATION_STACK, "stack"},
                        {KUBELET_ANNOTATION_RESOURCE, "resource"},
                        {KUBELET_ANNOTATION_DROPIN, "dropin"},
                };
                for (size_t k = 0; k < ELEMENTSOF(owner_keys); k++) {
                        const char *v = json_string_value(json_object_get(ann, owner_keys[k][0]));
                        if (v)
                                json_object_set_new(entry, owner_keys[k][1], json_string(v));
                }
                json_object_set_new(entry, "pod", json_incref(pod));
                json_object_set_new(out, owner, entry);
        }
        if (errno != 0)
                return ph_error_set(reterr, errno, "%s: reading: %s", d->path, strerror(errno));
        *ret = TAKE_PTR(out);
        return 0;
}
