/* State directory: everything written atomically, 0600 files in 0700 directories (layout: state.h). */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/deployment.h"
#include "common/fileio.h"
#include "state.h"

#define STATE_MAX_FILE (64u * 1024 * 1024)

PhState *state_free(PhState *s) {
        if (!s)
                return NULL;
        if (s->lock_fd >= 0)
                close(s->lock_fd);
        free(s->dir);
        free(s->deployed_dir);
        free(s);
        return NULL;
}

/* Ours alone (owner, parents: dir_open_private) before anything in it is read or written: whoever else
 * could write to it could move deployed/ aside and have every deployment run and signalled again. */
static int open_private_dir(const char *path, PhError **reterr) {
        _cleanup_close_ int fd = -1;
        int r = dir_open_private(path, geteuid(), &fd, reterr);

        if (r < 0)
                return ph_error_prefix(reterr, "state directory");
        return 0;
}

/* The per-id records besides the markers, each kind in its own directory (state.h). */
static const char *const record_dirs[] = {"inprogress", "results", "removed", "lost"};

static char *record_path(const PhState *s, const char *kind, const char *id) {
        return xasprintf("%s/%s/%s.json", s->dir, kind, id);
}

static bool has_suffix(const char *s, const char *suffix, size_t *ret_stem) {
        size_t n = strlen(s), m = strlen(suffix);

        if (n <= m || strcmp(s + n - m, suffix) != 0)
                return false;
        *ret_stem = n - m;
        return true;
}

/* podhook before 0.2 kept <id>.inprogress and <id>.notify.json next to the markers, where the marker
 * of an id "X.notify" is X's notify file. Each file is moved (atomically) to its own directory; a
 * crash in the middle leaves the rest for the next start. "X.notify.json" is X's result when X has a
 * marker, else it is the marker of the id "X.notify" and stays. */
static int migrate_legacy(const PhState *s, PhError **reterr) {
        DIR *d = opendir(s->deployed_dir);
        struct dirent *e;
        int r = 0;

        if (!d)
                return ph_error_set(reterr, errno, "%s: %s", s->deployed_dir, strerror(errno));
        while (r == 0 && (e = readdir(d))) {
                _cleanup_free_ char *from = xasprintf("%s/%s", s->deployed_dir, e->d_name), *to = NULL;
                size_t stem;

                if (e->d_name[0] == '.')
                        continue;
                if (has_suffix(e->d_name, ".inprogress", &stem)) {
                        _cleanup_free_ char *id = xstrndup(e->d_name, stem);
                        to = record_path(s, "inprogress", id);
                } else if (has_suffix(e->d_name, ".notify.json", &stem)) {
                        _cleanup_free_ char *id = xstrndup(e->d_name, stem);
                        _cleanup_free_ char *marker = xasprintf("%s/%s.json", s->deployed_dir, id);
                        if (file_exists(marker) > 0)
                                to = record_path(s, "results", id);
                }
                if (to)
                        r = file_move(from, to, reterr);
        }
        closedir(d);
        return r;
}

int state_open(const char *dir, PhState **ret, PhError **reterr) {
        _cleanup_(state_freep) PhState *s = xcalloc(1, sizeof(*s));
        _cleanup_free_ char *lock = NULL, *outbox = xasprintf("%s/outbox", dir);
        int r;

        s->lock_fd = -1;
        s->dir = xstrdup(dir);
        s->deployed_dir = xasprintf("%s/deployed", dir);
        r = open_private_dir(s->dir, reterr);
        if (r < 0)
                return r;
        r = open_private_dir(s->deployed_dir, reterr);
        if (r < 0)
                return r;
        r = open_private_dir(outbox, reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(record_dirs); i++) {
                _cleanup_free_ char *sub = xasprintf("%s/%s", dir, record_dirs[i]);
                r = open_private_dir(sub, reterr);
                if (r < 0)
                        return r;
        }
        lock = xasprintf("%s/lock", dir);
        s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (s->lock_fd < 0)
                return ph_error_set(reterr, errno, "%s: %s", lock, strerror(errno));
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        return ph_error_set(reterr, EBUSY,
                                            "%s: another podhook agent uses this state directory", lock);
                return ph_error_set(reterr, errno, "%s: flock: %s", lock, strerror(errno));
        }
        r = migrate_legacy(s, reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

bool state_id_valid(const char *id) {
        return deployment_id_valid(id);
}

static char *marker_path(const PhState *s, const char *id) {
        return xasprintf("%s/%s.json", s->deployed_dir, id);
}

PhDeployState state_deploy_state(const PhState *s, const char *id) {
        _cleanup_free_ char *marker = marker_path(s, id);
        _cleanup_free_ char *running = record_path(s, "inprogress", id);

        if (file_exists(running) > 0)
                return PH_DEPLOY_IN_PROGRESS;
        return file_exists(marker) > 0 ? PH_DEPLOY_DONE : PH_DEPLOY_NEW;
}

static int write_json(const char *path, const json_t *v, PhError **reterr) {
        _cleanup_free_ char *text = json_dumps(v, JSON_INDENT(4));

        if (!text)
                return ph_error_set(reterr, EINVAL, "%s: cannot serialise", path);
        return file_write_atomic(path, text, strlen(text), 0600, reterr);
}

int state_deploy_begin(const PhState *s, const char *id, const json_t *deployment, PhError **reterr) {
        _cleanup_free_ char *marker = marker_path(s, id);
        _cleanup_free_ char *running = record_path(s, "inprogress", id);
        _cleanup_free_ char *removed = record_path(s, "removed", id);
        int r;

        /* The in-progress record first: a crash after it (even before the marker) resumes the run. */
        r = file_write_atomic(running, "", 0, 0600, reterr);
        if (r < 0)
                return r;
        r = write_json(marker, deployment, reterr);
        if (r < 0) {
                (void) unlink(running); /* nothing ran: not "interrupted" either */
                return r;
        }
        (void) unlink(removed);
        return 0;
}

time_t state_deploy_started(const PhState *s, const char *id) {
        _cleanup_free_ char *running = record_path(s, "inprogress", id);
        struct stat st;

        return stat(running, &st) == 0 ? st.st_mtime : 0;
}

int state_deploy_finish(const PhState *s, const char *id, PhError **reterr) {
        _cleanup_free_ char *running = record_path(s, "inprogress", id);

        return file_remove(running, reterr);
}

int state_save_result(const PhState *s, const char *id, const json_t *data, PhError **reterr) {
        _cleanup_free_ char *path = record_path(s, "results", id);

        return write_json(path, data, reterr);
}

int state_deploy_forget(const PhState *s, const char *id, PhError **reterr) {
        _cleanup_free_ char *marker = marker_path(s, id);
        _cleanup_free_ char *removed = record_path(s, "removed", id);
        _cleanup_free_ char *running = record_path(s, "inprogress", id);
        int r = 0;

        if (file_exists(marker) > 0)
                r = file_move(marker, removed, reterr);
        if (r == 0)
                r = file_remove(running, reterr);
        return r;
}

int state_deploy_lose(const PhState *s, const char *id, PhError **reterr) {
        _cleanup_free_ char *running = record_path(s, "inprogress", id);
        _cleanup_free_ char *lost = record_path(s, "lost", id);

        return file_move(running, lost, reterr);
}

int state_lost_done(const PhState *s, const char *id, PhError **reterr) {
        _cleanup_free_ char *lost = record_path(s, "lost", id);

        return file_remove(lost, reterr);
}

/* The ids of the "<id>.json" files in dir (new strv). */
static char **ids_in(const char *dir) {
        DIR *d = opendir(dir);
        char **v = xcalloc(1, sizeof(char *));
        size_t n = 0;
        struct dirent *e;

        if (!d)
                return v;
        while ((e = readdir(d))) {
                size_t stem;
                if (e->d_name[0] == '.' || !has_suffix(e->d_name, ".json", &stem))
                        continue;
                v = xrealloc(v, (n + 2) * sizeof(char *));
                v[n++] = xstrndup(e->d_name, stem);
                v[n] = NULL;
        }
        closedir(d);
        return v;
}

static char **ids_of(const PhState *s, const char *kind) {
        _cleanup_free_ char *dir = xasprintf("%s/%s", s->dir, kind);
        return ids_in(dir);
}

char **state_in_progress(const PhState *s) {
        return ids_of(s, "inprogress");
}

char **state_lost(const PhState *s) {
        return ids_of(s, "lost");
}

char **state_markers(const PhState *s) {
        return ids_of(s, "deployed");
}

static json_t *load_path(const char *path) {
        return file_load_json(path, STATE_MAX_FILE);
}

json_t *state_deploy_marker(const PhState *s, const char *id) {
        _cleanup_free_ char *marker = marker_path(s, id);
        return load_path(marker);
}

json_t *state_load_json(const PhState *s, const char *name) {
        _cleanup_free_ char *path = xasprintf("%s/%s", s->dir, name);
        return load_path(path);
}

int state_save_json(const PhState *s, const char *name, const json_t *v, PhError **reterr) {
        _cleanup_free_ char *path = xasprintf("%s/%s", s->dir, name);
        return write_json(path, v, reterr);
}
