#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/http.h"
#include "common/log.h"
#include "common/secret.h"
#include "docker/pod-config.h"
#include "docker/pod-probe.h"
#include "docker/pod-spec.h"
#include "docker/pod-state.h"
#include "docker/pod.h"
#include "docker/prune.h"

static bool name_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
               c == '.' || c == '-';
}

static bool alnum(char c) {
        return name_char_ok(c) && c != '_' && c != '.' && c != '-';
}

bool pod_name_is_valid(const char *name) {
        size_t n = name ? strlen(name) : 0;

        if (n == 0 || n > POD_NAME_MAX || !alnum(name[0]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!name_char_ok(name[i]))
                        return false;
        return true;
}

char *pod_name_sanitize(const char *name) {
        if (pod_name_is_valid(name))
                return xstrdup(name);
        /* A digest of the original keeps apart names that differ only where they were not valid
         * ("atk\u00e9"/"atk\u00fc", "web pod"/"web?pod"). */
        _cleanup_free_ char *hash = digest_sha256_hex(name ? name : "", name ? strlen(name) : 0);
        _cleanup_free_ char *src = xasprintf("%s%s", name && alnum(name[0]) ? "" : "pod-", name ? name : "");
        _cleanup_free_ char *s = xmalloc(strlen(src) + 1);
        size_t n = 0;

        for (size_t i = 0; src[i] && n < POD_NAME_MAX - 9; i++) {
                if (name_char_ok(src[i]))
                        s[n++] = src[i];
                else if (i == 0 || name_char_ok(src[i - 1]))
                        s[n++] = '-'; /* one '-' for a run of invalid bytes (a UTF-8 character) */
        }
        s[n] = '\0';
        return xasprintf("%s-%.8s", s, hash + strlen("sha256:"));
}

unsigned pod_grace(const PhPodOptions *o) {
        return o && o->grace_seconds ? o->grace_seconds : POD_DEFAULT_GRACE;
}

/* --- finding a pod's objects: by exact labels only ----------------------------------------------- */

static int list_by_labels(PhDocker *d, const char *what, const char *const *labels, json_t **ret,
                          PhError **reterr) {
        _cleanup_free_ char *filter = docker_label_filter(labels);
        _cleanup_free_ char *path = NULL;
        json_t *list = NULL;
        int r;

        path = strcmp(what, "containers") == 0 ? xasprintf("/containers/json?all=1&filters=%s", filter)
                                               : xasprintf("/volumes?filters=%s", filter);
        r = docker_get(d, path, &list, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "listing %s", what);
        if (strcmp(what, "volumes") == 0) {
                json_t *vols = json_incref(json_object_get(list, "Volumes")); /* null when there are none */
                json_decref(list);
                list = vols;
        }
        if (!json_is_array(list)) {
                json_decref(list);
                list = json_array();
        }
        *ret = list;
        return 0;
}

const char *pod_label(const json_t *object, const char *key) {
        return json_string_value(json_object_get(json_object_get(object, "Labels"), key));
}

/* Summaries by pod, apps before infra, then by creation (manifest order) and name. */
static int summary_compare(const void *a, const void *b) {
        json_t *const *x = a, *const *y = b;
        const char *px = pod_label(*x, POD_LABEL_POD), *py = pod_label(*y, POD_LABEL_POD);
        const char *rx = pod_label(*x, POD_LABEL_ROLE), *ry = pod_label(*y, POD_LABEL_ROLE);
        const char *nx = pod_label(*x, POD_LABEL_CONTAINER), *ny = pod_label(*y, POD_LABEL_CONTAINER);
        bool ix = rx && strcmp(rx, "infra") == 0, iy = ry && strcmp(ry, "infra") == 0;
        json_int_t cx = json_integer_value(json_object_get(*x, "Created"));
        json_int_t cy = json_integer_value(json_object_get(*y, "Created"));
        int k = strcmp(px ? px : "", py ? py : "");

        if (k != 0)
                return k;
        if (ix != iy)
                return ix ? 1 : -1;
        if (cx != cy)
                return cx < cy ? -1 : 1;
        return strcmp(nx ? nx : "", ny ? ny : "");
}

int pod_list(PhDocker *d, const char *pod, json_t **ret, PhError **reterr) {
        _cleanup_free_ char *l_pod = pod ? xasprintf(POD_LABEL_POD "=%s", pod) : xstrdup(POD_LABEL_POD);
        const char *labels[] = {POD_LABEL_MANAGED "=1", l_pod, NULL};
        _cleanup_free_ json_t **items = NULL;
        json_auto_t *list = NULL;
        json_t *sorted;
        size_t n;
        int r;

        r = list_by_labels(d, "containers", labels, &list, reterr);
        if (r < 0)
                return r;
        n = json_array_size(list);
        items = xcalloc(n + 1, sizeof(json_t *));
        for (size_t i = 0; i < n; i++)
                items[i] = json_array_get(list, i);
        qsort(items, n, sizeof(json_t *), summary_compare);
        sorted = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append(sorted, items[i]);
        *ret = sorted;
        return 0;
}

/* Ids of the pod's containers, NULL-terminated: the apps, then the infra containers (one in place, and
 * one put aside by an interrupted update, if any); *ret_n_apps (optional): how many apps come first. */
static int pod_container_ids(PhDocker *d, const char *pod, char ***ret, size_t *ret_n_apps, json_t **ret_list,
                             PhError **reterr) {
        json_auto_t *list = NULL;
        char **ids;
        json_t *c;
        size_t i, n = 0, n_apps = 0;
        int r;

        r = pod_list(d, pod, &list, reterr);
        if (r < 0)
                return r;
        ids = xcalloc(json_array_size(list) + 1, sizeof(char *));
        json_array_foreach(list, i, c) {
                const char *id = json_string_value(json_object_get(c, "Id"));
                const char *role = pod_label(c, POD_LABEL_ROLE);
                if (!id)
                        continue;
                ids[n++] = xstrdup(id);
                if (!role || strcmp(role, "infra") != 0)
                        n_apps = n; /* pod_list sorts the infra containers last */
        }
        *ret = ids;
        if (ret_n_apps)
                *ret_n_apps = n_apps;
        if (ret_list)
                *ret_list = TAKE_PTR(list);
        return 0;
}

static const char *summary_name(const json_t *c) {
        const char *n = json_string_value(json_array_get(json_object_get(c, "Names"), 0));

        return n && n[0] == '/' ? n + 1 : n ? n : "";
}

/* Before the pod's running containers are stopped: the preStop action kept for each when it was made
 * (pod-state.h), within the grace period. As for a kubelet, a failure does not keep a container from
 * being stopped; it is logged. */
static void run_pre_stops(PhDocker *d, const char *pod, const PhPodOptions *o, const json_t *list) {
        const char *state_dir = o && o->state_dir ? o->state_dir : PH_STATE_DIR_DEFAULT;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *ip = NULL;
        json_auto_t *map = NULL;
        const char *infra = NULL;
        json_t *c;
        size_t i;

        if (pod_prestops_load(state_dir, pod, &map, &err) < 0) {
                log_warning("pod %s: no preStop hooks run: %s", pod, ph_error_msg(err));
                return;
        }
        if (json_object_size(map) == 0)
                return;
        json_array_foreach((json_t *) list, i, c) {
                const char *role = pod_label(c, POD_LABEL_ROLE);
                if (role && strcmp(role, "infra") == 0 && pod_aside_generation(pod, summary_name(c)) == 0)
                        infra = json_string_value(json_object_get(c, "Id"));
        }
        json_array_foreach((json_t *) list, i, c) {
                const char *id = json_string_value(json_object_get(c, "Id"));
                const char *state = json_string_value(json_object_get(c, "State"));
                _cleanup_(pod_spec_action_freep) PhSpecAction *a =
                        pod_spec_action_from_json(json_object_get(map, id ? id : ""), "lifecycle.preStop");
                _cleanup_error_ PhError *e = NULL;
                if (!a || !state || strcmp(state, "running") != 0)
                        continue;
                if (a->kind == PH_HANDLER_HTTP_GET && !a->host && !ip && infra)
                        (void) pod_probe_address(d, infra, &ip, &e);
                e = ph_error_free(e);
                if (pod_action_run(d, id, ip, a, (long) pod_grace(o) * 1000L, &e) < 0)
                        log_warning("pod %s: container %s: %s: %s (stopped all the same)", pod,
                                    summary_name(c), a->what, ph_error_msg(e));
        }
}

static char **paths_for(char *const *ids, const char *fmt_prefix, const char *suffix) {
        size_t n = strv_length(ids);
        char **paths = xcalloc(n + 1, sizeof(char *));

        for (size_t i = 0; i < n; i++)
                paths[i] = xasprintf("%s%s%s", fmt_prefix, ids[i], suffix);
        return paths;
}

static int stop_ids(PhDocker *d, char *const *ids, unsigned grace, PhError **reterr) {
        _cleanup_free_ char *suffix = xasprintf("/stop?t=%u", grace);
        _cleanup_strv_free_ char **paths = paths_for(ids, "/containers/", suffix);

        /* All at once: a pod stops in one grace period, not one per container. The daemon kills after
         * the grace period; the transfer gets some slack on top of it. */
        return docker_call_parallel(d, "POST", paths, strv_length(paths), ((long) grace + 60) * 1000L, true,
                                    reterr);
}

/* ids: the n_apps apps first, then the infra containers (as pod_container_ids gives them). */
static int remove_ids(PhDocker *d, char *const *ids, size_t n_apps, PhError **reterr) {
        /* force: a container of a restart policy may have come back between the stop and now.
         * v=false: named volumes hold the pod's data and are never removed with a container. */
        _cleanup_strv_free_ char **paths = paths_for(ids, "/containers/", "?v=false&force=true");
        size_t n = strv_length(paths);
        int r_apps, r_infra;

        /* The apps together, then the infra: Podman refuses, even forced, to remove a container whose
         * network others joined while they exist ("has dependent containers"); Docker does not mind.
         * The infra is tried even when an app failed (Docker removes it), each failure one line. */
        if (n_apps > n)
                n_apps = n;
        r_apps = docker_call_parallel(d, "DELETE", paths, n_apps, 120L * 1000L, true, reterr);
        r_infra = docker_call_parallel(d, "DELETE", paths + n_apps, n - n_apps, 120L * 1000L, true, reterr);
        return r_apps < 0 ? r_apps : r_infra;
}

int pod_stop(PhDocker *d, const char *pod, const PhPodOptions *o, PhError **reterr) {
        _cleanup_strv_free_ char **ids = NULL;
        json_auto_t *list = NULL;
        json_auto_t *no_restart = json_pack("{s:{s:s}}", "RestartPolicy", "Name", "no");
        _cleanup_close_ int lock = -1;
        int r;

        r = pod_lock(pod, POD_LOCK_WAIT_SECS, &lock, reterr);
        if (r < 0)
                return r;
        r = pod_container_ids(d, pod, &ids, NULL, &list, reterr);
        if (r < 0)
                return r;
        run_pre_stops(d, pod, o, list);
        /* A suspended pod stays stopped when dockerd restarts: without this, apps of restart policy
         * "always" would come back while the infra container ("unless-stopped") stays down. The next
         * apply creates the containers again with the manifest's policy. Podman (4.3) has no such call
         * (404 for every container; docs/podman.md): there the policies stay as they are. */
        bool can_update = docker_engine(d)->kind != PH_ENGINE_PODMAN;
        for (char **id = ids; can_update && *id; id++) {
                _cleanup_free_ char *path = xasprintf("/containers/%s/update", *id);
                r = docker_call(d, "POST", path, no_restart, NULL, NULL, reterr);
                if (r < 0 && r != -ENOENT)
                        return ph_error_prefix(reterr, "stopping pod %s", pod);
        }
        r = stop_ids(d, ids, pod_grace(o), reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "stopping pod %s", pod);
        return 0;
}

static int pod_teardown(PhDocker *d, const char *pod, const PhPodOptions *o, PhError **reterr) {
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_error_ PhError *stop_err = NULL, *remove_err = NULL;
        json_auto_t *list = NULL;
        size_t n_apps = 0;
        int r, rs;

        r = pod_container_ids(d, pod, &ids, &n_apps, &list, reterr);
        if (r < 0 || !ids[0])
                return r;
        run_pre_stops(d, pod, o, list);
        /* A stop that failed must not leave the pod half stopped (an app without its infra's network):
         * the removal, forced, goes on all the same, and every failure is reported. */
        rs = stop_ids(d, ids, pod_grace(o), &stop_err);
        if (rs < 0)
                (void) ph_error_set(reterr, rs, "stopping pod %s: %s", pod, ph_error_msg(stop_err));
        r = remove_ids(d, ids, n_apps, &remove_err);
        if (r < 0)
                return ph_error_append(reterr, r, "removing pod %s: %s", pod, ph_error_msg(remove_err));
        return rs < 0 ? rs : 0;
}

int pod_delete(PhDocker *d, const char *pod, const PhPodOptions *o, bool purge, PhError **reterr) {
        _cleanup_free_ char *l_pod = xasprintf(POD_LABEL_POD "=%s", pod);
        const char *labels[] = {POD_LABEL_MANAGED "=1", l_pod, NULL};
        const char *state_dir = o && o->state_dir ? o->state_dir : PH_STATE_DIR_DEFAULT;
        _cleanup_close_ int lock = -1;
        json_auto_t *vols = NULL;
        json_t *v;
        size_t i;
        int r;

        r = pod_lock(pod, POD_LOCK_WAIT_SECS, &lock, reterr);
        if (r < 0)
                return r;
        r = pod_teardown(d, pod, o, reterr);
        if (r < 0)
                return r;
        /* Nothing is left of an update that was in progress, nor of the pod's preStop actions and probes,
         * nor of the files of its secret and configMap volumes: podhook wrote them from values it is
         * given again, no user data (hostDir and emptyDir volumes stay). */
        r = pod_journal_remove(state_dir, pod, reterr);
        if (r >= 0)
                r = pod_prestops_save(state_dir, pod, NULL, reterr);
        if (r >= 0)
                r = pod_probes_save(state_dir, pod, NULL, reterr);
        if (r >= 0)
                r = pod_config_remove(state_dir, pod, reterr);
        if (r >= 0)
                pod_state_gc_logged(d, state_dir);
        if (r < 0 || !purge)
                return r;
        r = list_by_labels(d, "volumes", labels, &vols, reterr);
        if (r < 0)
                return r;
        json_array_foreach(vols, i, v) {
                const char *name = json_string_value(json_object_get(v, "Name"));
                if (!name)
                        continue;
                _cleanup_free_ char *ename = http_escape(name);
                _cleanup_free_ char *path = xasprintf("/volumes/%s", ename);
                r = docker_call(d, "DELETE", path, NULL, NULL, NULL, reterr);
                if (r < 0 && r != -ENOENT)
                        return ph_error_prefix(reterr, "removing volume %s", name);
        }
        return 0;
}

/* --- inspect ----------------------------------------------------------------------------------- */

int pod_inspect_ids_known(PhDocker *d, char *const *ids, const json_t *known, json_t **ret,
                          PhError **reterr) {
        size_t n = strv_length(ids), k = 0;
        _cleanup_free_ PhDockerCall *calls = xcalloc(n ? n : 1, sizeof(PhDockerCall));
        _cleanup_strv_free_ char **paths = xcalloc(n + 1, sizeof(char *));
        _cleanup_free_ size_t *of = xcalloc(n ? n : 1, sizeof(size_t));
        json_auto_t *out = json_array();
        int r = 0;

        for (size_t i = 0; i < n; i++) {
                json_t *j = json_object_get(known, ids[i]);
                json_array_append_new(out, j ? json_deep_copy(j) : json_null());
                if (j)
                        continue;
                paths[k] = xasprintf("/containers/%s/json", ids[i]);
                calls[k] = (PhDockerCall){.path = paths[k]};
                of[k++] = i;
        }
        /* Together: one round trip for the pod, not one per container. */
        (void) docker_get_many(d, calls, k);
        for (size_t i = 0; i < k; i++) {
                if (r == 0 && calls[i].r < 0)
                        r = ph_error_set(reterr, -calls[i].r, "inspecting container %s: %s", ids[of[i]],
                                         ph_error_msg(calls[i].err));
                else if (r == 0 && !json_is_object(calls[i].json))
                        r = ph_error_set(reterr, EPROTO, "inspecting container %s: not a JSON object",
                                         ids[of[i]]);
                else if (r == 0)
                        json_array_set(out, of[i], calls[i].json);
                docker_call_done(&calls[i]);
        }
        if (r < 0)
                return r;
        /* The output goes back to Heat: a secret of one container (its env, its command) is hidden wherever
         * it appears in the pod, in another container's env or labels too. */
        secret_redact_deep(out, NULL);
        *ret = json_incref(out);
        return 0;
}

int pod_inspect_ids(PhDocker *d, char *const *ids, json_t **ret, PhError **reterr) {
        return pod_inspect_ids_known(d, ids, NULL, ret, reterr);
}

int pod_inspect(PhDocker *d, const char *pod, json_t **ret, PhError **reterr) {
        _cleanup_strv_free_ char **ids = NULL;
        int r;

        r = pod_container_ids(d, pod, &ids, NULL, NULL, reterr);
        if (r < 0)
                return r;
        return pod_inspect_ids(d, ids, ret, reterr);
}
