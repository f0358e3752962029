#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/http.h"
#include "common/log.h"
#include "docker/infra.h"
#include "docker/pod-state.h"
#include "docker/pod.h"
#include "docker/prune.h"

#define RECORD_MAX    (64u * 1024u)
#define LOCK_POLL_MS  50L
#define RECORD_SUFFIX ".json"
#define TMP_INFIX     ".tmp."
#define ID_PREFIX     "sha256:"
#define ID_HEX        64u

/* --- locks ------------------------------------------------------------------------------------- */

/* flock() on path, waiting up to wait_secs. */
static int lock_path(const char *path, bool exclusive, unsigned wait_secs, int *ret_fd, PhError **reterr) {
        _cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
        struct timespec start, now;

        if (fd < 0)
                return ph_error_set(reterr, errno, "%s: %m", path);
        clock_gettime(CLOCK_MONOTONIC, &start);
        while (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
                if (errno == EINTR)
                        continue;
                if (errno != EWOULDBLOCK)
                        return ph_error_set(reterr, errno, "%s: %m", path);
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (now.tv_sec - start.tv_sec >= (time_t) wait_secs)
                        return ph_error_set(reterr, EBUSY,
                                            "%s: held by another podhook process for more than %u s", path,
                                            wait_secs);
                struct timespec pause = {.tv_nsec = LOCK_POLL_MS * 1000000L};
                (void) nanosleep(&pause, NULL);
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

int images_lock(bool exclusive, unsigned wait_secs, int *ret_fd, PhError **reterr) {
        const char *run = getenv(POD_RUN_DIR_ENV);
        _cleanup_free_ char *dir = xstrdup(run && *run ? run : POD_DEFAULT_RUN_DIR);
        _cleanup_free_ char *path = xasprintf("%s/images.lock", dir);
        int r;

        r = dir_make_parents(dir, 0700, reterr);
        if (r >= 0)
                r = lock_path(path, exclusive, wait_secs, ret_fd, reterr);
        return r < 0 ? ph_error_prefix(reterr, "the images lock") : 0;
}

/* --- pull records ------------------------------------------------------------------------------ */

static char *images_dir(const char *state_dir) {
        return xasprintf("%s/images", state_dir);
}

/* "sha256:<64 hex>" -> "<state>/images/<64 hex>.json"; NULL for anything else (no other ID is a name). */
static char *record_path(const char *state_dir, const char *id) {
        const char *hex =
                id && strncmp(id, ID_PREFIX, strlen(ID_PREFIX)) == 0 ? id + strlen(ID_PREFIX) : NULL;

        if (!hex || strlen(hex) != ID_HEX || strspn(hex, "0123456789abcdef") != ID_HEX)
                return NULL;
        return xasprintf("%s/images/%s" RECORD_SUFFIX, state_dir, hex);
}

/* The record at path (new ref), NULL when absent or not a record. */
static json_t *record_load(const char *path) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        json_t *j;

        if (file_exists(path) <= 0 || file_read_all(path, RECORD_MAX, &text, &len, &err) < 0)
                return NULL;
        j = json_loadb(text, len, 0, NULL);
        if (!json_is_object(j) || !json_is_string(json_object_get(j, "id")) ||
            !json_is_array(json_object_get(j, "refs"))) {
                json_decref(j);
                return NULL;
        }
        return j;
}

static void strings_add(json_t *list, const char *s) {
        size_t i;
        json_t *v;

        json_array_foreach(list, i, v) if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) return;
        json_array_append_new(list, json_string(s));
}

static int records_lock(const char *state_dir, int *ret_fd, PhError **reterr) {
        _cleanup_free_ char *dir = images_dir(state_dir), *path = xasprintf("%s/.lock", dir);
        int r;

        r = dir_make_parents(dir, 0700, reterr);
        if (r >= 0)
                r = lock_path(path, true, POD_LOCK_WAIT_SECS, ret_fd, reterr);
        return r;
}

int image_record_pull(const char *state_dir, const char *ref, const char *id, const char *pod,
                      PhError **reterr) {
        _cleanup_free_ char *path = record_path(state_dir, id);
        _cleanup_close_ int lock = -1;
        json_auto_t *rec = NULL;
        json_int_t now = (json_int_t) time(NULL);
        int r;

        if (!path)
                return ph_error_set(reterr, EPROTO,
                                    "image %s: the engine gave an image ID that is not sha256:<hex>: %s", ref,
                                    id ? id : "(none)");
        r = records_lock(state_dir, &lock, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "recording the pull of %s", ref);
        rec = record_load(path);
        if (!rec)
                rec = json_pack("{s:s, s:[], s:[], s:I}", "id", id, "refs", "pods", "pulled_at", now);
        if (!json_is_array(json_object_get(rec, "pods")))
                json_object_set_new(rec, "pods", json_array());
        strings_add(json_object_get(rec, "refs"), ref);
        if (pod)
                strings_add(json_object_get(rec, "pods"), pod);
        json_object_set_new(rec, "last_pulled_at", json_integer(now));
        _cleanup_free_ char *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
        r = file_write_atomic(path, text, strlen(text), 0600, reterr);
        return r < 0 ? ph_error_prefix(reterr, "recording the pull of %s", ref) : 0;
}

/* Every record's path (names of 64 hex + .json only). */
static char **record_paths(const char *state_dir) {
        _cleanup_free_ char *dir = images_dir(state_dir);
        DIR *d = opendir(dir);
        char **out = xcalloc(1, sizeof(char *));
        size_t n = 0;
        struct dirent *e;

        if (!d)
                return out;
        while ((e = readdir(d))) {
                if (strlen(e->d_name) != ID_HEX + strlen(RECORD_SUFFIX) ||
                    strspn(e->d_name, "0123456789abcdef") != ID_HEX ||
                    strcmp(e->d_name + ID_HEX, RECORD_SUFFIX) != 0)
                        continue;
                out = xrealloc(out, (n + 2) * sizeof(char *));
                out[n++] = xasprintf("%s/%s", dir, e->d_name);
                out[n] = NULL;
        }
        closedir(d);
        return out;
}

/* --- prune ------------------------------------------------------------------------------------- */

PhPruneVerdict image_prune_verdict(const char *id, const json_t *containers, const char *infra_id,
                                   const char **ret_user) {
        const json_t *c;
        size_t i;

        if (ret_user)
                *ret_user = NULL;
        if (infra_id && strcmp(id, infra_id) == 0)
                return PH_PRUNE_INFRA;
        json_array_foreach((json_t *) containers, i, c) {
                const char *used = json_string_value(json_object_get(c, "ImageID"));
                if (!used || strcmp(used, id) != 0)
                        continue;
                if (ret_user) {
                        const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
                        *ret_user = name ? (name[0] == '/' ? name + 1 : name)
                                         : json_string_value(json_object_get(c, "Id"));
                }
                return PH_PRUNE_IN_USE;
        }
        return PH_PRUNE_REMOVE;
}

/* The Id of image ref (or id), NULL when it is not there; -errno when the engine could not say. */
static int image_id_of(PhDocker *d, const char *ref, char **ret, json_t **ret_json, PhError **reterr) {
        json_auto_t *img = NULL;
        int r;

        *ret = NULL;
        r = docker_image_inspect(d, ref, &img, reterr);
        if (r <= 0)
                return r;
        const char *id = json_string_value(json_object_get(img, "Id"));
        *ret = id ? xstrdup(id) : NULL;
        if (ret_json)
                *ret_json = TAKE_PTR(img);
        return 0;
}

static void report_add(json_t *report, const json_t *rec, const char *result, const char *why) {
        json_array_append_new(report,
                              json_pack("{s:O, s:O, s:O?, s:O?, s:s, s:s?}", "id", json_object_get(rec, "id"),
                                        "refs", json_object_get(rec, "refs"), "pods",
                                        json_object_get(rec, "pods"), "pulled_at",
                                        json_object_get(rec, "pulled_at"), "result", result, "why", why));
}

/* Removes podhook's names of the image, each while it still names id; then whether the image is gone. */
static int remove_image(PhDocker *d, const json_t *rec, const char *id, json_t *report, PhError **reterr) {
        _cleanup_free_ char *refused = NULL;
        const json_t *ref;
        size_t i;
        int r;

        json_array_foreach(json_object_get(rec, "refs"), i, ref) {
                const char *name = json_string_value(ref);
                _cleanup_free_ char *now = NULL;
                if (!name)
                        continue;
                r = image_id_of(d, name, &now, NULL, reterr);
                if (r < 0)
                        return r;
                if (!now || strcmp(now, id) != 0)
                        continue; /* the name went, or names another image now: not this one's to remove */
                _cleanup_free_ char *ename = http_escape(name);
                _cleanup_free_ char *path = xasprintf("/images/%s", ename);
                _cleanup_error_ PhError *err = NULL;
                long status = 0;
                r = docker_call(d, "DELETE", path, NULL, &status, NULL, &err);
                if (r == -ENOENT)
                        continue;
                if (r < 0 && status == 409) {
                        refused = xasprintf("%s: %s", name, ph_error_msg(err));
                        break;
                }
                if (r < 0)
                        return ph_error_set(reterr, -r, "removing image %s: %s", name, ph_error_msg(err));
        }
        if (refused) {
                report_add(report, rec, "skipped", refused);
                return 0;
        }
        json_auto_t *left = NULL;
        _cleanup_free_ char *still = NULL;
        r = image_id_of(d, id, &still, &left, reterr);
        if (r < 0)
                return r;
        if (!still) {
                report_add(report, rec, "removed", NULL);
                return 1;
        }
        _cleanup_free_ char *tags = json_dumps(json_object_get(left, "RepoTags"), JSON_COMPACT);
        _cleanup_free_ char *why = xasprintf("other names keep it: %s", tags ? tags : "[]");
        report_add(report, rec, "kept", why);
        return 1;
}

int image_prune(PhDocker *d, const char *state_dir, bool dry_run, json_t **ret_report, PhError **reterr) {
        _cleanup_strv_free_ char **paths = record_paths(state_dir);
        _cleanup_free_ char *infra_ref = infra_image_ref(), *infra_id = NULL;
        _cleanup_close_ int lock = -1, rlock = -1;
        json_auto_t *containers = NULL, *report = json_array();
        int r;

        if (!paths[0]) {
                *ret_report = TAKE_PTR(report);
                return 0;
        }
        /* No apply is between its image look-up and its containers' create while the engine is read. */
        r = images_lock(true, POD_LOCK_WAIT_SECS, &lock, reterr);
        if (r < 0)
                return r;
        if (!dry_run) {
                r = records_lock(state_dir, &rlock, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "the pull records");
        }
        r = docker_get(d, "/containers/json?all=1", &containers, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "listing the containers");
        r = image_id_of(d, infra_ref, &infra_id, NULL, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "the infra image");
        for (char **p = paths; *p; p++) {
                json_auto_t *rec = record_load(*p);
                _cleanup_free_ char *present = NULL;
                const char *user = NULL;
                if (!rec)
                        continue;
                const char *id = json_string_value(json_object_get(rec, "id"));
                r = image_id_of(d, id, &present, NULL, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "image %s", id);
                if (!present) {
                        report_add(report, rec, "gone", "no longer on the engine");
                        if (!dry_run)
                                (void) unlink(*p);
                        continue;
                }
                switch (image_prune_verdict(id, containers, infra_id, &user)) {
                case PH_PRUNE_INFRA:
                        report_add(report, rec, "infra", "the infra image of podhook's pods");
                        continue;
                case PH_PRUNE_IN_USE: {
                        _cleanup_free_ char *why = xasprintf("used by container %s", user ? user : "?");
                        report_add(report, rec, "in use", why);
                        continue;
                }
                case PH_PRUNE_REMOVE:
                        break;
                }
                if (dry_run) {
                        report_add(report, rec, "would remove", NULL);
                        continue;
                }
                r = remove_image(d, rec, id, report, reterr);
                if (r < 0)
                        return r;
                if (r > 0 && unlink(*p) < 0 && errno != ENOENT)
                        log_warning("%s: %m", *p);
        }
        *ret_report = TAKE_PTR(report);
        return 0;
}

char *image_prune_text(const json_t *report, bool dry_run) {
        char *out = xstrdup("");
        const json_t *e;
        size_t i, n = 0;

        json_array_foreach((json_t *) report, i, e) {
                const char *result = json_string_value(json_object_get(e, "result"));
                const char *why = json_string_value(json_object_get(e, "why"));
                const char *id = json_string_value(json_object_get(e, "id"));
                _cleanup_free_ char *refs = xstrdup("");
                const json_t *ref;
                size_t k;
                json_array_foreach(json_object_get(e, "refs"), k, ref) {
                        char *t = xasprintf("%s%s%s", refs, *refs ? " " : "", json_string_value(ref));
                        free(refs);
                        refs = t;
                }
                n += strcmp(result, "removed") == 0 || strcmp(result, "would remove") == 0;
                char *t = xasprintf("%s%-12s %s (%.19s)%s%s\n", out, result, refs, id ? id : "",
                                    why ? ": " : "", why ? why : "");
                free(out);
                out = t;
        }
        char *t = xasprintf("%s%zu image(s) %s\n", out, n, dry_run ? "would be removed" : "removed");
        free(out);
        return t;
}

/* --- hook-level state ---------------------------------------------------------------------------- */

typedef struct GcFile {
        char *path;
        char *pod; /* a journal's or preStop record's pod; NULL for others */
} GcFile;

static long long mtime_of(const char *path) {
        struct stat st;

        return stat(path, &st) == 0 ? (long long) st.st_mtime : (long long) time(NULL);
}

/* Whether any container on the engine carries the pod's label (summaries of every podhook container). */
static bool pod_has_containers(const json_t *list, const char *pod) {
        const json_t *c;
        size_t i;

        json_array_foreach((json_t *) list, i, c) {
                const char *p = pod_label(c, POD_LABEL_POD);
                if (p && strcmp(p, pod) == 0)
                        return true;
        }
        return false;
}

/* name ends in suffix: the part before it (new string), else NULL. */
static char *strip_suffix(const char *name, const char *suffix) {
        size_t n = strlen(name), s = strlen(suffix);

        return n > s && strcmp(name + n - s, suffix) == 0 ? xstrndup(name, n - s) : NULL;
}

int pod_state_gc(PhDocker *d, const char *state_dir, const PhGcLimits *limits, size_t *ret_removed,
                 PhError **reterr) {
        const PhGcLimits dflt = {.max_age = POD_GC_MAX_AGE, .max_entries = POD_GC_MAX_ENTRIES};
        _cleanup_free_ char *pods_dir = xasprintf("%s/pods", state_dir), *img_dir = images_dir(state_dir);
        const char *const dirs[] = {pods_dir, img_dir};
        _cleanup_free_ PhGcEntry *entries = NULL;
        _cleanup_free_ GcFile *files = NULL;
        json_auto_t *list = NULL;
        long long now = (long long) time(NULL);
        size_t n = 0, removed = 0;
        _cleanup_close_ int rlock = -1;
        int r;

        if (ret_removed)
                *ret_removed = 0;
        for (size_t k = 0; k < ELEMENTSOF(dirs); k++) {
                DIR *dir = opendir(dirs[k]);
                struct dirent *e;
                if (!dir)
                        continue;
                while ((e = readdir(dir))) {
                        if (e->d_name[0] == '.')
                                continue;
                        files = xrealloc(files, (n + 1) * sizeof(GcFile));
                        entries = xrealloc(entries, (n + 1) * sizeof(PhGcEntry));
                        files[n] = (GcFile){.path = xasprintf("%s/%s", dirs[k], e->d_name)};
                        entries[n] = (PhGcEntry){
                                .name = files[n].path, .mtime = mtime_of(files[n].path), .live = true};
                        n++;
                }
                closedir(dir);
        }
        if (n == 0)
                return 0;
        r = pod_list(d, NULL, &list, reterr);
        /* A pull recorded meanwhile must not lose its record to a look-up made before it. */
        if (r >= 0)
                r = records_lock(state_dir, &rlock, reterr);
        if (r < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                const char *base = strrchr(files[i].path, '/') + 1;
                _cleanup_free_ char *journal = strip_suffix(base, ".journal.json");
                _cleanup_free_ char *prestop = strip_suffix(base, ".prestop.json");
                bool in_images = strncmp(files[i].path, img_dir, strlen(img_dir)) == 0;
                if (strstr(base, TMP_INFIX)) {
                        /* an atomic write that was interrupted: its temporary file */
                        entries[i].live = false;
                } else if (journal || prestop) {
                        files[i].pod = journal ? TAKE_PTR(journal) : TAKE_PTR(prestop);
                        entries[i].live =
                                !pod_name_is_valid(files[i].pod) || pod_has_containers(list, files[i].pod);
                } else if (in_images) {
                        json_auto_t *rec = record_load(files[i].path);
                        _cleanup_free_ char *present = NULL;
                        if (!rec)
                                continue; /* not a record: not ours to judge */
                        r = image_id_of(d, json_string_value(json_object_get(rec, "id")), &present, NULL,
                                        reterr);
                        if (r < 0)
                                goto out;
                        entries[i].live = present != NULL;
                }
        }
        (void) state_gc_select(entries, n, now, limits ? limits : &dflt);
        for (size_t i = 0; i < n; i++) {
                _cleanup_close_ int lock = -1;
                _cleanup_error_ PhError *busy = NULL;
                if (!entries[i].drop)
                        continue;
                /* A pod another process is changing may be between its journal and its first create. */
                if (files[i].pod && pod_lock(files[i].pod, 0, &lock, &busy) < 0)
                        continue;
                if (files[i].pod) {
                        json_auto_t *again = NULL;
                        _cleanup_error_ PhError *e2 = NULL;
                        if (pod_list(d, files[i].pod, &again, &e2) < 0 || json_array_size(again) > 0)
                                continue;
                }
                if (unlink(files[i].path) == 0)
                        removed++;
                else if (errno != ENOENT)
                        log_warning("%s: %m", files[i].path);
        }
        r = 0;
out:
        for (size_t i = 0; i < n; i++) {
                free(files[i].path);
                free(files[i].pod);
        }
        if (ret_removed)
                *ret_removed = removed;
        return r;
}

void pod_state_gc_logged(PhDocker *d, const char *state_dir) {
        _cleanup_error_ PhError *err = NULL;
        size_t removed = 0;

        if (pod_state_gc(d, state_dir, NULL, &removed, &err) < 0)
                log_warning("collecting the state no longer needed in %s: %s", state_dir, ph_error_msg(err));
        else if (removed > 0)
                log_debug("%s: %zu file(s) of state no longer needed removed", state_dir, removed);
}
