/* os-collect-config's local-data directories (heat-protocol.md 4.9): a directory must belong to the
 * running user and not be world-writable; its regular, non-hidden files must not be world-writable
 * and must hold JSON objects; any violation makes the whole source unavailable. The files of all
 * directories are merged deeply in C-locale name order. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "source/source-internal.h"

#define LOCAL_DEFAULT_DIR "/var/lib/os-collect-config/local-data"
#define LOCAL_MAX_FILE    (16u * 1024u * 1024u)

typedef struct LocalSource {
        char **dirs;
} LocalSource;

typedef struct LocalFile {
        char *name;
        json_t *value; /* new ref */
        size_t order;  /* keeps the directory order for equal names (a stable sort) */
} LocalFile;

static int local_init(PhSource *s, const json_t *section, PhError **reterr) {
        const json_t *path = section; /* borrowed */
        LocalSource *l = xcalloc(1, sizeof(*l));
        s->data = l;

        if (json_is_object(section))
                path = json_object_get(section, "path");
        size_t n = json_is_array(path) ? json_array_size(path) : 1;
        l->dirs = xcalloc(n + 1, sizeof(char *));
        if (!path || json_is_null(path) || (json_is_array(path) && n == 0)) {
                l->dirs[0] = xstrdup(LOCAL_DEFAULT_DIR);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                const json_t *v = json_is_array(path) ? json_array_get(path, i) : path;
                const char *d = json_string_value(v);
                if (!d || d[0] != '/')
                        return ph_error_set(reterr, EINVAL, "local: path%s must be %s absolute director%s",
                                            json_is_array(path) ? "[...]" : "",
                                            json_is_array(path) ? "" : "an",
                                            json_is_array(path) ? "ies" : "y");
                l->dirs[i] = xstrdup(d);
        }
        return 0;
}

static void files_free(LocalFile *f, size_t n) {
        for (size_t i = 0; i < n; i++) {
                free(f[i].name);
                json_decref(f[i].value);
        }
        free(f);
}

static int file_cmp(const void *a, const void *b) {
        const LocalFile *x = a, *y = b;
        int c = strcmp(x->name, y->name);
        return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int read_file(int dfd, const char *dir, const char *name, json_t **ret, PhError **reterr) {
        struct stat st;
        _cleanup_close_ int fd = file_open_regular(dfd, name, reterr);
        if (fd < 0)
                return ph_error_prefix(reterr, "local: %s", dir);
        if (fstat(fd, &st) < 0)
                return ph_error_set(reterr, errno, "local: %s/%s: %s", dir, name, strerror(errno));
        if (st.st_mode & S_IWOTH)
                return ph_error_set(reterr, EPERM, "local: %s/%s is world-writable", dir, name);

        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = fd_read_all(fd, LOCAL_MAX_FILE, &text, &len, reterr);
        if (r < 0) {
                ph_error_prefix(reterr, "local: %s/%s", dir, name);
                return r;
        }
        json_error_t jerr;
        json_t *v = source_json_load(text, len, &jerr);
        if (!v && jerr.line == 0)
                return ph_error_set(reterr, EFBIG, "local: %s/%s: holds %s", dir, name, jerr.text);
        if (!v)
                return ph_error_set(reterr, EBADMSG, "local: %s/%s:%d: not valid JSON (column %d)", dir, name,
                                    jerr.line, jerr.column);
        if (!json_is_object(v)) {
                json_decref(v);
                return ph_error_set(reterr, EBADMSG, "local: %s/%s: not a JSON object", dir, name);
        }
        *ret = v;
        return 0;
}

static int read_dir(const char *dir, LocalFile **files, size_t *n, PhError **reterr) {
        struct stat st;
        _cleanup_close_ int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (dfd < 0 && errno == ENOENT)
                return 0; /* like os-collect-config: a missing directory is skipped */
        if (dfd < 0)
                return ph_error_set(reterr, errno, "local: %s: %s", dir, strerror(errno));
        r = dir_check_trusted(dfd, dir, geteuid(), PH_DIR_OWNED, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "local");

        int dfd2 = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        if (dfd2 < 0)
                return ph_error_set(reterr, errno, "local: %s: %s", dir, strerror(errno));
        DIR *d = fdopendir(dfd2);
        if (!d) {
                r = -errno;
                close(dfd2);
                return ph_error_set(reterr, -r, "local: %s: %s", dir, strerror(-r));
        }
        r = 0;
        for (struct dirent *de; (errno = 0, de = readdir(d));) {
                if (de->d_name[0] == '.')
                        continue;
                if (fstatat(dfd, de->d_name, &st, 0) < 0) {
                        r = ph_error_set(reterr, errno, "local: %s/%s: %s", dir, de->d_name, strerror(errno));
                        break;
                }
                if (S_ISDIR(st.st_mode))
                        continue;
                json_t *v = NULL;
                r = read_file(dfd, dir, de->d_name, &v, reterr);
                if (r < 0)
                        break;
                *files = xrealloc(*files, sizeof(LocalFile) * (*n + 1));
                (*files)[*n] = (LocalFile){.name = xstrdup(de->d_name), .value = v, .order = *n};
                (*n)++;
        }
        if (r == 0 && errno != 0)
                r = ph_error_set(reterr, errno, "local: %s: %s", dir, strerror(errno));
        closedir(d);
        return r;
}

static int local_collect(PhSource *s, json_t **ret, PhError **reterr) {
        LocalSource *l = s->data;
        LocalFile *files = NULL;
        size_t n = 0;
        int r = 0;

        for (char **d = l->dirs; *d && r >= 0; d++)
                r = read_dir(*d, &files, &n, reterr);
        if (r < 0) {
                files_free(files, n);
                return r;
        }
        if (n > 0)
                qsort(files, n, sizeof(LocalFile), file_cmp);
        json_t *merged = json_object();
        for (size_t i = 0; i < n; i++)
                source_merge_deep(merged, files[i].value);
        files_free(files, n);
        *ret = merged;
        return 0;
}

static void local_done(PhSource *s) {
        LocalSource *l = s->data;
        if (!l)
                return;
        strv_free(l->dirs);
        free(l);
}

const PhSourceOps source_local_ops = {
        .name = "local",
        .init = local_init,
        .collect = local_collect,
        .done = local_done,
};
