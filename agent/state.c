/* State directory: everything written atomically, 0600 files in 0700 directories. */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <jansson.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

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
        lock = xasprintf("%s/lock", dir);
        s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (s->lock_fd < 0)
                return ph_error_set(reterr, errno, "%s: %s", lock, strerror(errno));
        if (flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
                if (errno == EWOULDBLOCK)
                        return ph_error_set(reterr, EBUSY, "%s: another podhook agent uses this state directory",
                                            lock);
                return ph_error_set(reterr, errno, "%s: flock: %s", lock, strerror(errno));
        }
        *ret = TAKE_PTR(s);
        return 0;
}

bool state_id_valid(const char *id) {
        if (!id || !*id || id[0] == '.' || strlen(id) > 200)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
                      *p == '_' || *p == '.'))
                        return false;
        return true;
}

static char *deployed_path(const PhState *s, const char *id, const char *suffix) {
        return xasprintf("%s/%s%s", s->deployed_dir, id, suffix);
}

PhDeployState state_deploy_state(const PhState *s, const char *id) {
        _cleanup_free_ char *marker = deployed_path(s, id, ".json");
        _cleanup_free_ char *running = deployed_path(s, id, ".inprogress");

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
        _cleanup_free_ char *marker = deployed_path(s, id, ".json");
        _cleanup_free_ char *running = deployed_path(s, id, ".inprogress");
        int r;

        /* The in-progress record first: a crash after it (even before the marker) resumes the run. */
        r = file_write_atomic(running, "", 0, 0600, reterr);
        if (r < 0)
                return r;
        return write_json(marker, deployment, reterr);
}

int state_deploy_finish(const PhState *s, const char *id, const json_t *data, PhError **reterr) {
        _cleanup_free_ char *notify = deployed_path(s, id, ".notify.json");
        _cleanup_free_ char *running = deployed_path(s, id, ".inprogress");
        int r = write_json(notify, data, reterr);

        if (r < 0)
                return r;
        if (unlink(running) < 0 && errno != ENOENT)
                return ph_error_set(reterr, errno, "%s: %s", running, strerror(errno));
        return 0;
}

void state_deploy_abandon(const PhState *s, const char *id) {
        _cleanup_free_ char *running = deployed_path(s, id, ".inprogress");
        (void) unlink(running);
}

char **state_in_progress(const PhState *s) {
        DIR *d = opendir(s->deployed_dir);
        char **v = xcalloc(1, sizeof(char *));
        size_t n = 0;
        struct dirent *e;

        if (!d)
                return v;
        while ((e = readdir(d))) {
                size_t len = strlen(e->d_name);
                const char *suffix = ".inprogress";
                if (len <= strlen(suffix) || strcmp(e->d_name + len - strlen(suffix), suffix) != 0)
                        continue;
                v = xrealloc(v, (n + 2) * sizeof(char *));
                v[n++] = xstrndup(e->d_name, len - strlen(suffix));
                v[n] = NULL;
        }
        closedir(d);
        return v;
}

static json_t *load_path(const char *path) {
        return file_load_json(path, STATE_MAX_FILE);
}

json_t *state_deploy_marker(const PhState *s, const char *id) {
        _cleanup_free_ char *marker = deployed_path(s, id, ".json");
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
