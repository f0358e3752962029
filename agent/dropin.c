/* dropin.h: a sync lists the directory, reads and hashes each file that counts, and compares it with
 * what was last done with that file; the pods to delete are found from the engine's owner labels, so a
 * file removed while the agent was down still takes its pod with it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PH_LOG_MODULE "agent"
#include "common/deployment.h"
#include "common/digest.h"
#include "common/fileio.h"
#include "common/log.h"
#include "common/secret.h"
#include "docker/pod.h"
#include "dropin.h"
#include "manifest/manifest.h"
#include "heal.h"
#include "observe.h"

typedef enum Outcome {
        OUTCOME_APPLIED,
        OUTCOME_FAILED,  /* the apply failed: tried again at a rescan */
        OUTCOME_INVALID, /* the file cannot be used: waits for a change */
} Outcome;

struct PhDropins {
        char *dir;  /* as configured */
        char *path; /* absolute */
        /* file name -> {"digest", "outcome", "pod"}: what was last done with each file */
        json_t *known;
        char *last_error; /* the last error of the directory itself, said once */
};

static const char *const extensions[] = {".yaml", ".yml", ".json"};
/* Leftovers of editors and package managers; a name with one of them anywhere is never a manifest
 * (web.yaml.bak, web.yaml.dpkg-old, but also web.bak.yaml). */
static const char *const leftovers[] = {".bak", ".swp", ".dpkg-", ".rpmnew", ".rpmsave", ".tmp"};

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

bool dropin_name_counts(const char *name) {
        size_t n = strlen(name);
        bool ext = false;

        if (n == 0 || name[0] == '.' || name[n - 1] == '~' || strchr(name, '/'))
                return false;
        for (size_t i = 0; i < ELEMENTSOF(leftovers); i++)
                if (strstr(name, leftovers[i]))
                        return false;
        for (size_t i = 0; i < ELEMENTSOF(extensions); i++)
                /* Not the extension alone: ".yaml" is a dot-file anyway, "x.yaml" has a name. */
                ext = ext || (has_suffix(name, extensions[i]) && n > strlen(extensions[i]));
        return ext;
}

char *dropin_pod_name(const char *name) {
        const char *dot = strrchr(name, '.');
        _cleanup_free_ char *stem = dot && dot > name ? xstrndup(name, (size_t) (dot - name)) : xstrdup(name);

        return pod_name_sanitize(stem);
}

PhDropins *dropins_new(const char *dir) {
        PhDropins *d = xcalloc(1, sizeof(*d));
        char cwd[PATH_MAX];

        d->dir = xstrdup(dir);
        if (dir[0] == '/' || !getcwd(cwd, sizeof(cwd)))
                d->path = xstrdup(dir);
        else
                d->path = xasprintf("%s/%s", cwd, dir);
        /* No trailing slash: the labels name DIR/FILE exactly. */
        for (size_t n = strlen(d->path); n > 1 && d->path[n - 1] == '/'; n--)
                d->path[n - 1] = '\0';
        d->known = json_object();
        return d;
}

PhDropins *dropins_free(PhDropins *d) {
        if (!d)
                return NULL;
        free(d->dir);
        free(d->path);
        free(d->last_error);
        json_decref(d->known);
        free(d);
        return NULL;
}

const char *dropins_dir(const PhDropins *d) {
        return d->dir;
}

const char *dropins_path(const PhDropins *d) {
        return d->path;
}

/* A problem of the directory (or the engine) is said once until it changes or goes away. */
static void say_once(PhDropins *d, const char *msg) {
        if (msg && d->last_error && strcmp(msg, d->last_error) == 0)
                return;
        if (msg)
                log_warning("drop-ins: %s", msg);
        free(d->last_error);
        d->last_error = msg ? xstrdup(msg) : NULL;
}

static uint64_t realtime_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static const char *source_of(const PhDropinsEnv *env) {
        return env->source ? env->source : "dropin";
}

/* "<source>:<file>": ':' is in no config id Heat hands out (state_id_valid). */
static char *dropin_id(const PhDropinsEnv *env, const char *name) {
        return xasprintf("%s:%s", source_of(env), name);
}

/* The deployment a drop-in is for its hook: the file's text as the config (the hook's messages then
 * name the file's lines), the pod as its name. */
static json_t *dropin_deployment(const PhDropinsEnv *env, const char *name, const char *pod, const char *text,
                                 const char *action) {
        _cleanup_free_ char *id = dropin_id(env, name);

        return json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s}], s:{}}", "id", id, "name", pod, "group",
                         "docker", "config", text ? text : "", "inputs", "name", "deploy_action", "type",
                         "String", "value", action, "options");
}

static void status_of(const PhDropinsEnv *env, const char *name, const char *pod) {
        _cleanup_free_ char *id = dropin_id(env, name);

        status_deployment_listed(
                env->status,
                &(PhStatusDeployment){
                        .id = id, .name = pod, .group = env->group, .source = source_of(env), .file = name},
                PH_STATUS_NEW);
}

static void remember(PhDropins *d, const char *name, const char *digest, Outcome o, const char *pod) {
        json_object_set_new(d->known, name,
                            json_pack("{s:s, s:i, s:s}", "digest", digest, "outcome", (int) o, "pod", pod));
}

/* An invalid file: said in the log and the status store, its messages in the event; its pod is left
 * alone. */
static void report_invalid(PhDropins *d, const PhDropinsEnv *env, const char *name, const char *pod,
                           const char *messages, char *const *secrets) {
        _cleanup_free_ char *id = dropin_id(env, name);
        _cleanup_free_ char *path = xasprintf("%s/%s", d->path, name);
        json_auto_t *details = json_pack("{s:s, s:[]}", "file", path, "messages");
        json_t *lines = json_object_get(details, "messages");
        _cleanup_free_ char *copy = xstrdup(messages);
        char *save = NULL;

        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                json_t *v = json_string(l);
                json_array_append_new(lines, v ? v : json_string("(a message that is not UTF-8)"));
        }
        secret_scrub_json(details, secrets);
        const char *first = json_string_value(json_array_get(lines, 0));
        _cleanup_free_ char *msg = xasprintf(
                "drop-in %s is invalid; pod %s is left as it is: %s (%zu problem%s)", path, pod,
                first ? first : "?", json_array_size(lines), json_array_size(lines) == 1 ? "" : "s");
        status_deployment_set_failure(env->status, id, first ? first : "invalid");
        notify_emit(env->notifier, &(PhNotice){.kind = PH_NOTICE_DROPIN_INVALID,
                                               .pod = pod,
                                               .deployment = id,
                                               .message = msg,
                                               .details = details});
}

int dropin_validate(const char *name, const char *text, size_t len, const char *state_dir,
                    char **ret_messages) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;
        const PhManifestHost host = {.state_dir = state_dir};
        int r = manifest_doc_parse(text, len, name, &doc, &err);

        if (r < 0) {
                *ret_messages = xstrdup(ph_error_msg(err));
                return -EBADMSG;
        }
        r = manifest_validate_for(doc, &host, &m, NULL, &err);
        if (r < 0)
                *ret_messages = xstrdup(ph_error_msg(err));
        return r < 0 ? -EINVAL : 0;
}

/* Applies one file through the hook. 1 when it ran, 0 when the run was cancelled. */
static int apply_file(PhDropins *d, const PhDropinsEnv *env, const PhHook *h, const char *name,
                      const char *pod, const char *text, const char *digest) {
        _cleanup_free_ char *id = dropin_id(env, name);
        _cleanup_free_ char *path = xasprintf("%s/%s", d->path, name);
        json_auto_t *dep = dropin_deployment(env, name, pod, text, "CREATE");
        _cleanup_(hook_result_done) PhHookResult res = {};
        _cleanup_error_ PhError *err = NULL;
        PhHookCall call = {.cancel = env->cancel, .dropin = path};

        status_deployment_set_state(env->status, id, PH_STATUS_RUNNING);
        struct timespec t0, t1;
        (void) clock_gettime(CLOCK_MONOTONIC, &t0);
        int r = h->ops->run(h, dep, &call, &res, &err);
        (void) clock_gettime(CLOCK_MONOTONIC, &t1);
        if (r == -ECANCELED || (r < 0 && http_cancel_requested(env->cancel))) {
                status_deployment_set_state(env->status, id, PH_STATUS_NEW);
                return 0;
        }
        if (r < 0 || !json_is_object(res.data)) {
                json_decref(res.data);
                _cleanup_free_ char *msg = xasprintf("podhook: %s hook: %s\n", h->ops->name,
                                                     err ? ph_error_msg(err) : "no result");
                res.data = deployment_result("", msg, 1);
        }
        _cleanup_strv_free_ char **secrets = hook_secret_values(env->hooks, env->n_hooks, dep);
        secret_scrub_json(res.data, secrets);
        status_deployment_set_secrets(env->status, id, secrets);
        const json_t *code = json_object_get(res.data, "deploy_status_code");
        bool ok = !deployment_result_failed(res.data);
        status_observe(env->status, PH_STATUS_APPLY_SECONDS,
                       (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9);
        status_deployment_set_result(env->status, id, res.data);
        status_pod_owner(env->status, pod, "dropin", path);
        json_auto_t *summary = res.summary ? json_string(res.summary) : NULL;
        if (summary)
                secret_scrub_json(summary, secrets);
        const char *said = json_string_value(summary);
        status_pod_applied(env->status, pod, (int) json_integer_value(code), said, res.rolled_back);
        observe_result(env->status, pod, res.data);
        status_counter_add(env->status, ok ? PH_STATUS_DEPLOYMENTS_APPLIED : PH_STATUS_DEPLOYMENTS_FAILED, 1);
        /* The same failure of the same file again (a rescan's retry) is no news: no second event. */
        const json_t *k = json_object_get(d->known, name);
        _cleanup_free_ char *line =
                ok ? NULL
                   : deployment_first_line(json_string_value(json_object_get(res.data, "deploy_stderr")),
                                           500);
        bool again = !ok && json_integer_value(json_object_get(k, "outcome")) == OUTCOME_FAILED &&
                     json_string_value(json_object_get(k, "digest")) &&
                     strcmp(json_string_value(json_object_get(k, "digest")), digest) == 0 &&
                     json_string_value(json_object_get(k, "failure")) &&
                     strcmp(json_string_value(json_object_get(k, "failure")), line) == 0;
        remember(d, name, digest, ok ? OUTCOME_APPLIED : OUTCOME_FAILED, pod);
        if (ok)
                heal_record_save(env->state_dir, pod, dep, path);
        if (ok) {
                log_info("drop-in %s: %s", path, said ? said : "applied");
                return 1;
        }
        json_object_set_new(json_object_get(d->known, name), "failure", json_string(line));
        _cleanup_free_ char *msg =
                xasprintf("drop-in %s: pod %s could not be applied (tried again in the next "
                          "rescan): %s",
                          path, pod, line);
        if (again) {
                log_info("%s", msg);
                return 1;
        }
        if (res.rolled_back) {
                status_counter_add(env->status, PH_STATUS_DEPLOYMENTS_ROLLED_BACK, 1);
                notify_emit(env->notifier, &(PhNotice){.kind = PH_NOTICE_ROLLED_BACK,
                                                       .pod = pod,
                                                       .deployment = id,
                                                       .message = said ? said : msg});
        }
        notify_emit(env->notifier, &(PhNotice){.kind = PH_NOTICE_DEPLOYMENT_FAILED,
                                               .pod = pod,
                                               .deployment = id,
                                               .message = msg});
        return 1;
}

/* A file that counts, looked at: 1 applied, 0 nothing to do (or cancelled), and *ret_recheck lowered
 * when it is still changing. */
static int sync_file(PhDropins *d, const PhDropinsEnv *env, const PhHook *h, int dfd, const char *name,
                     const char *pod, bool retry, uint64_t now, uint64_t *ret_recheck) {
        _cleanup_free_ char *path = xasprintf("%s/%s", d->path, name);
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *text = NULL, *messages = NULL;
        _cleanup_close_ int fd = file_open_regular(dfd, name, &err);
        struct stat st;
        size_t len = 0;

        if (fd < 0 || fstat(fd, &st) < 0) {
                _cleanup_free_ char *msg =
                        xasprintf("%s: %s", path, err ? ph_error_msg(err) : strerror(errno));
                log_warning("drop-in %s", msg);
                return 0;
        }
        uint64_t mtime = (uint64_t) st.st_mtim.tv_sec * 1000000u + (uint64_t) st.st_mtim.tv_nsec / 1000u;
        if (mtime <= now && now - mtime < env->debounce_usec) {
                uint64_t wait = env->debounce_usec - (now - mtime);
                if (*ret_recheck == 0 || wait < *ret_recheck)
                        *ret_recheck = wait;
                return 0;
        }
        if (fd_read_all(fd, DROPIN_MAX_FILE, &text, &len, &err) < 0) {
                ph_error_prefix(&err, "%s", path);
                status_of(env, name, pod);
                report_invalid(d, env, name, pod, ph_error_msg(err), NULL);
                remember(d, name, "", OUTCOME_INVALID, pod);
                return 0;
        }
        _cleanup_free_ char *digest = digest_sha256_hex(text, len);
        const json_t *k = json_object_get(d->known, name);
        const char *was = json_string_value(json_object_get(k, "digest"));
        Outcome o = (Outcome) json_integer_value(json_object_get(k, "outcome"));
        if (was && strcmp(was, digest) == 0 && !(retry && o == OUTCOME_FAILED))
                return 0;
        status_of(env, name, pod);
        if (dropin_validate(name, text, len, env->state_dir, &messages) < 0) {
                json_auto_t *dep = dropin_deployment(env, name, pod, text, "CREATE");
                _cleanup_strv_free_ char **secrets = hook_secret_values(env->hooks, env->n_hooks, dep);
                report_invalid(d, env, name, pod, messages, secrets);
                remember(d, name, digest, OUTCOME_INVALID, pod);
                return 0;
        }
        return apply_file(d, env, h, name, pod, text, digest);
}

/* Deletes the pod of a drop-in that is gone, through the hook (which checks the owner again). */
static int remove_pod(PhDropins *d, const PhDropinsEnv *env, const PhHook *h, const char *pod,
                      const char *file) {
        const char *name = file + strlen(d->path) + 1;
        _cleanup_free_ char *id = dropin_id(env, name);
        json_auto_t *dep = dropin_deployment(env, name, pod, NULL, "DELETE");
        _cleanup_(hook_result_done) PhHookResult res = {};
        _cleanup_error_ PhError *err = NULL;
        PhHookCall call = {.cancel = env->cancel, .dropin = file};
        int r = h->ops->run(h, dep, &call, &res, &err);

        if (r < 0 && http_cancel_requested(env->cancel))
                return 0;
        if (r < 0 || deployment_result_failed(res.data)) {
                _cleanup_free_ char *line =
                        r < 0 ? xstrdup(err ? ph_error_msg(err) : "?")
                              : deployment_first_line(
                                        json_string_value(json_object_get(res.data, "deploy_stderr")), 500);
                log_warning(
                        "drop-in %s is gone, but its pod %s could not be deleted (tried again in the next "
                        "rescan): %s",
                        file, pod, line);
                return 0;
        }
        log_info("drop-in %s is gone: pod %s deleted (its volumes are kept)", file, pod);
        status_pod_remove(env->status, pod);
        heal_record_remove(env->state_dir, pod);
        (void) json_object_del(d->known, name);
        return 1;
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The names in the directory that count, sorted (the first of two files for one pod wins). */
static int list_dir(PhDropins *d, int *ret_dfd, char ***ret_names) {
        _cleanup_error_ PhError *err = NULL;
        _cleanup_close_ int dfd = open(d->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char **names = xcalloc(1, sizeof(char *));
        size_t n = 0;

        if (dfd < 0) {
                _cleanup_free_ char *msg = xasprintf("%s: %s", d->path, strerror(errno));
                say_once(d, msg);
                free(names);
                return -errno;
        }
        /* Whoever can write here decides what runs on this node: the local-data rule. */
        int r = dir_check_trusted(dfd, d->path, geteuid(), PH_DIR_OWNED, &err);
        if (r < 0) {
                _cleanup_free_ char *msg =
                        xasprintf("%s; nothing in it is applied or removed", ph_error_msg(err));
                say_once(d, msg);
                free(names);
                return r;
        }
        int dfd2 = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *dir = dfd2 >= 0 ? fdopendir(dfd2) : NULL;
        if (!dir) {
                r = -errno;
                if (dfd2 >= 0)
                        (void) close(dfd2);
                free(names);
                return r;
        }
        for (struct dirent *de; (de = readdir(dir));) {
                struct stat st;
                if (!dropin_name_counts(de->d_name) || fstatat(dfd, de->d_name, &st, 0) < 0 ||
                    !S_ISREG(st.st_mode))
                        continue;
                names = xrealloc(names, (n + 2) * sizeof(char *));
                names[n++] = xstrdup(de->d_name);
                names[n] = NULL;
        }
        (void) closedir(dir);
        qsort(names, n, sizeof(char *), cmp_names);
        *ret_dfd = TAKE_FD(dfd);
        *ret_names = names;
        return 0;
}

/* A second file for a pod that an earlier one (by name) has: reported once, never applied. */
static void pod_taken(PhDropins *d, const PhDropinsEnv *env, const char *name, const char *pod,
                      const char *by) {
        _cleanup_free_ char *mark = xasprintf("taken by %s", by);
        const json_t *k = json_object_get(d->known, name);
        const char *was = json_string_value(json_object_get(k, "digest"));

        if (was && strcmp(was, mark) == 0)
                return;
        _cleanup_free_ char *msg = xasprintf(
                "%s: pod %s is the pod of drop-in %s already; this file is not used", name, pod, by);
        status_of(env, name, pod);
        report_invalid(d, env, name, pod, msg, NULL);
        remember(d, name, mark, OUTCOME_INVALID, pod);
}

/* The pods of drop-ins of this directory whose file is gone are deleted; those whose file is there are
 * in the status store as the drop-in's. */
static int sync_owned(PhDropins *d, const PhDropinsEnv *env, const json_t *present) {
        size_t plen = strlen(d->path);
        int done = 0;

        for (size_t i = 0; i < env->n_hooks; i++) {
                const PhHook *h = &env->hooks[i];
                _cleanup_error_ PhError *err = NULL;
                json_auto_t *owned = NULL;
                const char *pod;
                json_t *v;

                if (!h->ops->list_owned)
                        continue;
                if (h->ops->list_owned(h, &owned, &err) < 0) {
                        _cleanup_free_ char *msg =
                                xasprintf("cannot list the pods of drop-ins (%s), so none is "
                                          "deleted now: %s",
                                          h->ops->name, ph_error_msg(err));
                        say_once(d, msg);
                        return -EIO;
                }
                json_object_foreach(owned, pod, v) {
                        const char *file = json_string_value(json_object_get(v, "dropin"));
                        if (!file || strncmp(file, d->path, plen) != 0 || file[plen] != '/' ||
                            strchr(file + plen + 1, '/'))
                                continue; /* not a drop-in, or another directory's */
                        if (json_object_get(present, file + plen + 1)) {
                                status_pod_owner(env->status, pod, "dropin", file);
                                continue;
                        }
                        if (http_cancel_requested(env->cancel))
                                return done;
                        done += remove_pod(d, env, h, pod, file);
                }
        }
        return done;
}

int dropins_sync(PhDropins *d, const PhDropinsEnv *env, bool retry, uint64_t *ret_recheck) {
        const PhHook *h = hook_find(env->hooks, env->n_hooks, env->group);
        _cleanup_strv_free_ char **names = NULL;
        _cleanup_close_ int dfd = -1;
        json_auto_t *present = json_object(), *claims = json_object(), *ids = json_object();
        uint64_t now = realtime_usec();
        int done = 0, r;

        *ret_recheck = 0;
        if (!h)
                return -ENOENT;
        r = list_dir(d, &dfd, &names);
        /* A directory that cannot be read is no reason to delete anything. */
        if (r < 0)
                return r;
        for (char **n = names; *n && !http_cancel_requested(env->cancel); n++) {
                _cleanup_free_ char *pod = dropin_pod_name(*n);
                _cleanup_free_ char *id = dropin_id(env, *n);
                const char *by = json_string_value(json_object_get(claims, pod));

                json_object_set_new(present, *n, json_string(pod));
                json_object_set_new(ids, id, json_true());
                if (by) {
                        pod_taken(d, env, *n, pod, by);
                        continue;
                }
                json_object_set_new(claims, pod, json_string(*n));
                done += sync_file(d, env, h, dfd, *n, pod, retry, now, ret_recheck);
        }
        if (http_cancel_requested(env->cancel))
                return done;
        status_deployments_keep(env->status, source_of(env), ids);
        const char *name;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(d->known, tmp, name, v) if (!json_object_get(present, name))
                json_object_del(d->known, name);
        r = sync_owned(d, env, present);
        if (r < 0)
                return r;
        say_once(d, NULL);
        log_debug("drop-ins: %zu file(s) in %s looked at, %d pod(s) applied or deleted%s", strv_length(names),
                  d->path, done + r, *ret_recheck ? ", some still changing" : "");
        return done + r;
}
