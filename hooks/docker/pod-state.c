#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/log.h"
#include "docker/pod-state.h"

#define JOURNAL_SUFFIX ".journal.json"
#define PRESTOP_SUFFIX ".prestop.json"
#define JOURNAL_MAX    (1024u * 1024u)
#define LOCK_POLL_MS   50L

int pod_state_dir_ensure(const char *state_dir, PhError **reterr) {
        return dir_make_parents(state_dir, 0700, reterr);
}

static int read_key(const char *path, unsigned char key[POD_NODE_KEY_LEN], PhError **reterr) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        r = file_read_all(path, POD_NODE_KEY_LEN + 1, &buf, &len, reterr);
        if (r < 0)
                return r;
        if (len != POD_NODE_KEY_LEN)
                return ph_error_set(reterr, EINVAL, "%s: not a node key (%zu bytes, not %u)", path, len,
                                    POD_NODE_KEY_LEN);
        memcpy(key, buf, POD_NODE_KEY_LEN);
        return 1;
}

int pod_node_key(const char *state_dir, bool create, unsigned char key[POD_NODE_KEY_LEN], PhError **reterr) {
        _cleanup_free_ char *path = xasprintf("%s/node.key", state_dir);
        _cleanup_free_ char *tmp = xasprintf("%s/node.key.tmp.XXXXXX", state_dir);
        unsigned char fresh[POD_NODE_KEY_LEN];
        _cleanup_close_ int fd = -1;
        int r;

        r = file_exists(path);
        if (r < 0)
                return ph_error_set(reterr, -r, "%s: %s", path, strerror(-r));
        if (r > 0 || !create)
                return r > 0 ? read_key(path, key, reterr) : 0;
        if (getrandom(fresh, sizeof(fresh), 0) != (ssize_t) sizeof(fresh))
                return ph_error_set(reterr, errno ? errno : EIO, "making the node key: getrandom: %m");
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return ph_error_set(reterr, errno, "making %s: %m", path);
        /* link(), not rename(): of two processes making the key at once, the second keeps the first's
         * key instead of replacing a key the first may have used already. */
        if (write(fd, fresh, sizeof(fresh)) != (ssize_t) sizeof(fresh) || fsync(fd) < 0 ||
            (link(tmp, path) < 0 && errno != EEXIST)) {
                int e = errno ? errno : EIO;
                (void) unlink(tmp);
                return ph_error_set(reterr, e, "making %s: %s", path, strerror(e));
        }
        (void) unlink(tmp);
        _cleanup_close_ int dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0)
                (void) fsync(dfd);
        return read_key(path, key, reterr);
}

/* --- journal ----------------------------------------------------------------------------------- */

static char *journal_path(const char *state_dir, const char *pod) {
        return xasprintf("%s/pods/%s" JOURNAL_SUFFIX, state_dir, pod);
}

static json_t *strv_json(char *const *v) {
        json_t *a = json_array();

        for (; v && *v; v++)
                json_array_append_new(a, json_string(*v));
        return a;
}

static char **json_strv(const json_t *a) {
        char **v = xcalloc(json_array_size(a) + 1, sizeof(char *));
        size_t i, n = 0;
        json_t *s;

        json_array_foreach((json_t *) a, i, s) if (json_is_string(s)) v[n++] = xstrdup(json_string_value(s));
        return v;
}

PhJournal *pod_journal_free(PhJournal *j) {
        if (!j)
                return NULL;
        strv_free(j->was_running);
        strv_free(j->started);
        free(j);
        return NULL;
}

int pod_journal_load(const char *state_dir, const char *pod, PhJournal **ret, PhError **reterr) {
        _cleanup_free_ char *path = journal_path(state_dir, pod);
        _cleanup_free_ char *text = NULL;
        json_auto_t *j = NULL;
        size_t len = 0;
        int r;

        r = file_exists(path);
        if (r <= 0)
                return r < 0 ? ph_error_set(reterr, -r, "%s: %s", path, strerror(-r)) : 0;
        r = file_read_all(path, JOURNAL_MAX, &text, &len, reterr);
        if (r < 0)
                return r;
        j = json_loadb(text, len, 0, NULL);
        json_t *g = json_object_get(j, "generation");
        if (!json_is_object(j) || !json_is_integer(g) || json_integer_value(g) < 1)
                return ph_error_set(reterr, EINVAL, "%s: not a journal of an update", path);
        PhJournal *out = xcalloc(1, sizeof(PhJournal));
        out->generation = (unsigned long) json_integer_value(g);
        out->committed = json_is_true(json_object_get(j, "committed"));
        out->was_running = json_strv(json_object_get(j, "was_running"));
        out->started = json_strv(json_object_get(j, "started"));
        *ret = out;
        return 1;
}

int pod_journal_save(const char *state_dir, const char *pod, const PhJournal *j, PhError **reterr) {
        _cleanup_free_ char *dir = xasprintf("%s/pods", state_dir), *path = journal_path(state_dir, pod);
        json_auto_t *o = json_pack("{s:s, s:I, s:b, s:o, s:o}", "pod", pod, "generation",
                                   (json_int_t) j->generation, "committed", j->committed, "was_running",
                                   strv_json(j->was_running), "started", strv_json(j->started));
        _cleanup_free_ char *text = json_dumps(o, JSON_COMPACT);
        int r;

        r = dir_make_parents(dir, 0700, reterr);
        if (r < 0)
                return r;
        return file_write_atomic(path, text, strlen(text), 0600, reterr);
}

int pod_journal_remove(const char *state_dir, const char *pod, PhError **reterr) {
        _cleanup_free_ char *path = journal_path(state_dir, pod);

        if (unlink(path) < 0 && errno != ENOENT)
                return ph_error_set(reterr, errno, "removing %s: %m", path);
        return 0;
}

char **pod_journal_list(const char *state_dir) {
        _cleanup_free_ char *dir = xasprintf("%s/pods", state_dir);
        DIR *d = opendir(dir);
        char **names = xcalloc(1, sizeof(char *));
        size_t n = 0;
        struct dirent *e;

        if (!d)
                return names;
        while ((e = readdir(d))) {
                size_t len = strlen(e->d_name), sl = strlen(JOURNAL_SUFFIX);
                if (len <= sl || strcmp(e->d_name + len - sl, JOURNAL_SUFFIX) != 0)
                        continue;
                names = xrealloc(names, (n + 2) * sizeof(char *));
                names[n++] = xstrndup(e->d_name, len - sl);
                names[n] = NULL;
        }
        closedir(d);
        return names;
}

/* --- preStop actions ---------------------------------------------------------------------------- */

static char *prestop_path(const char *state_dir, const char *pod) {
        return xasprintf("%s/pods/%s" PRESTOP_SUFFIX, state_dir, pod);
}

static int map_load(char *path_owned, const char *what, json_t **ret, PhError **reterr) {
        _cleanup_free_ char *path = path_owned;
        _cleanup_free_ char *text = NULL;
        json_t *j;
        size_t len = 0;
        int r;

        r = file_exists(path);
        if (r < 0)
                return ph_error_set(reterr, -r, "%s: %s", path, strerror(-r));
        if (r == 0) {
                *ret = json_object();
                return 0;
        }
        r = file_read_all(path, JOURNAL_MAX, &text, &len, reterr);
        if (r < 0)
                return r;
        j = json_loadb(text, len, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                return ph_error_set(reterr, EINVAL, "%s: not the %s of a pod", path, what);
        }
        *ret = j;
        return 0;
}

static int map_save(const char *state_dir, char *path_owned, const json_t *map, PhError **reterr) {
        _cleanup_free_ char *dir = xasprintf("%s/pods", state_dir), *path = path_owned;
        _cleanup_free_ char *text = NULL;
        int r;

        if (json_object_size(map) == 0) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return ph_error_set(reterr, errno, "removing %s: %m", path);
                return 0;
        }
        text = json_dumps(map, JSON_COMPACT | JSON_SORT_KEYS);
        r = dir_make_parents(dir, 0700, reterr);
        if (r < 0)
                return r;
        return file_write_atomic(path, text, strlen(text), 0600, reterr);
}

int pod_prestops_load(const char *state_dir, const char *pod, json_t **ret, PhError **reterr) {
        return map_load(prestop_path(state_dir, pod), "preStop actions", ret, reterr);
}

int pod_prestops_save(const char *state_dir, const char *pod, const json_t *map, PhError **reterr) {
        return map_save(state_dir, prestop_path(state_dir, pod), map, reterr);
}

int pod_probes_load(const char *state_dir, const char *pod, json_t **ret, PhError **reterr) {
        return map_load(xasprintf("%s/pods/%s.probes.json", state_dir, pod), "liveness probes", ret, reterr);
}

int pod_probes_save(const char *state_dir, const char *pod, const json_t *map, PhError **reterr) {
        return map_save(state_dir, xasprintf("%s/pods/%s.probes.json", state_dir, pod), map, reterr);
}

/* --- lock -------------------------------------------------------------------------------------- */

static long holder_pid(int fd) {
        char buf[32] = {};

        if (pread(fd, buf, sizeof(buf) - 1, 0) <= 0)
                return 0;
        return strtol(buf, NULL, 10);
}

int pod_lock(const char *pod, unsigned wait_secs, int *ret_fd, PhError **reterr) {
        const char *run = getenv(POD_RUN_DIR_ENV);
        _cleanup_free_ char *dir = xasprintf("%s/pods", run && *run ? run : POD_DEFAULT_RUN_DIR);
        _cleanup_free_ char *path = xasprintf("%s/%s.lock", dir, pod);
        _cleanup_close_ int fd = -1;
        struct timespec start, now;
        bool said = false;
        int r;

        r = dir_make_parents(dir, 0700, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "locking pod %s", pod);
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        if (fd < 0)
                return ph_error_set(reterr, errno, "locking pod %s: %s: %m", pod, path);
        clock_gettime(CLOCK_MONOTONIC, &start);
        while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EINTR)
                        continue;
                if (errno != EWOULDBLOCK)
                        return ph_error_set(reterr, errno, "locking pod %s: %s: %m", pod, path);
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - start.tv_sec >= (time_t) wait_secs)
                        return ph_error_set(
                                reterr, EBUSY,
                                "pod %s is busy: another podhook process (pid %ld) has been changing it for "
                                "more than %u s",
                                pod, holder_pid(fd), wait_secs);
                if (!said) {
                        log_info("pod %s: waiting for another podhook process (pid %ld) to finish with it "
                                 "(up to %u s)",
                                 pod, holder_pid(fd), wait_secs);
                        said = true;
                }
                struct timespec pause = {.tv_nsec = LOCK_POLL_MS * 1000000L};
                (void) nanosleep(&pause, NULL);
        }
        /* Who holds it, for the message of whoever waits. */
        char pid[32];
        int n = snprintf(pid, sizeof(pid), "%ld\n", (long) getpid());
        if (ftruncate(fd, 0) < 0 || pwrite(fd, pid, (size_t) n, 0) != n)
                log_debug("pod %s: could not note our pid in %s: %m", pod, path);
        *ret_fd = TAKE_FD(fd);
        return 0;
}
