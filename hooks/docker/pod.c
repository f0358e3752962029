#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/fileio.h"
#include "common/http.h"
#include "common/secret.h"
#include "docker/hostports.h"
#include "docker/infra.h"
#include "docker/pod.h"

/* Linux hostnames are at most 64 bytes with the NUL. */
#define HOSTNAME_MAX 63

static bool name_char_ok(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
               c == '-';
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

static unsigned grace_of(const PhPodOptions *o) {
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
        r = docker_call(d, "GET", path, NULL, NULL, &list, reterr);
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
        const char *labels[] = { POD_LABEL_MANAGED "=1", l_pod, NULL };
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

/* Ids of the pod's containers, NULL-terminated. */
static int pod_container_ids(PhDocker *d, const char *pod, char ***ret, PhError **reterr) {
        json_auto_t *list = NULL;
        char **ids;
        json_t *c;
        size_t i, n = 0;
        int r;

        r = pod_list(d, pod, &list, reterr);
        if (r < 0)
                return r;
        ids = xcalloc(json_array_size(list) + 1, sizeof(char *));
        json_array_foreach(list, i, c) {
                const char *id = json_string_value(json_object_get(c, "Id"));
                if (id)
                        ids[n++] = xstrdup(id);
        }
        *ret = ids;
        return 0;
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

/* ids: the apps first, the infra container last (as pod_list and apply order them). */
static int remove_ids(PhDocker *d, char *const *ids, PhError **reterr) {
        /* force: a container of a restart policy may have come back between the stop and now.
         * v=false: named volumes hold the pod's data and are never removed with a container. */
        _cleanup_strv_free_ char **paths = paths_for(ids, "/containers/", "?v=false&force=true");
        size_t n = strv_length(paths);
        int r_apps, r_infra;

        /* The apps together, then the infra: Podman refuses, even forced, to remove a container whose
         * network others joined while they exist ("has dependent containers"); Docker does not mind.
         * The infra is tried even when an app failed (Docker removes it), each failure one line. */
        if (n == 0)
                return 0;
        r_apps = docker_call_parallel(d, "DELETE", paths, n - 1, 120L * 1000L, true, reterr);
        r_infra = docker_call_parallel(d, "DELETE", paths + n - 1, 1, 120L * 1000L, true, reterr);
        return r_apps < 0 ? r_apps : r_infra;
}

int pod_stop(PhDocker *d, const char *pod, const PhPodOptions *o, PhError **reterr) {
        _cleanup_strv_free_ char **ids = NULL;
        json_auto_t *no_restart = json_pack("{s:{s:s}}", "RestartPolicy", "Name", "no");
        int r;

        r = pod_container_ids(d, pod, &ids, reterr);
        if (r < 0)
                return r;
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
        r = stop_ids(d, ids, grace_of(o), reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "stopping pod %s", pod);
        return 0;
}

static int pod_teardown(PhDocker *d, const char *pod, const PhPodOptions *o, PhError **reterr) {
        _cleanup_strv_free_ char **ids = NULL;
        _cleanup_error_ PhError *stop_err = NULL, *remove_err = NULL;
        int r, rs;

        r = pod_container_ids(d, pod, &ids, reterr);
        if (r < 0 || !ids[0])
                return r;
        /* A stop that failed must not leave the pod half stopped (an app without its infra's network):
         * the removal, forced, goes on all the same, and every failure is reported. */
        rs = stop_ids(d, ids, grace_of(o), &stop_err);
        if (rs < 0)
                (void) ph_error_set(reterr, rs, "stopping pod %s: %s", pod, ph_error_msg(stop_err));
        r = remove_ids(d, ids, &remove_err);
        if (r < 0)
                return ph_error_append(reterr, r, "removing pod %s: %s", pod, ph_error_msg(remove_err));
        return rs < 0 ? rs : 0;
}

int pod_delete(PhDocker *d, const char *pod, const PhPodOptions *o, bool purge, PhError **reterr) {
        _cleanup_free_ char *l_pod = xasprintf(POD_LABEL_POD "=%s", pod);
        const char *labels[] = { POD_LABEL_MANAGED "=1", l_pod, NULL };
        json_auto_t *vols = NULL;
        json_t *v;
        size_t i;
        int r;

        r = pod_teardown(d, pod, o, reterr);
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

static int inspect_one(PhDocker *d, const char *id, json_t **ret, PhError **reterr) {
        _cleanup_free_ char *path = xasprintf("/containers/%s/json", id);
        json_t *j = NULL;
        int r;

        r = docker_call(d, "GET", path, NULL, NULL, &j, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "inspecting container %s", id);
        if (!json_is_object(j)) {
                json_decref(j);
                return ph_error_set(reterr, EPROTO, "inspecting container %s: not a JSON object", id);
        }
        *ret = j;
        return 0;
}

static int inspect_ids(PhDocker *d, char *const *ids, json_t **ret, PhError **reterr) {
        json_auto_t *out = json_array();

        for (size_t i = 0; ids && ids[i]; i++) {
                json_t *j = NULL;
                int r = inspect_one(d, ids[i], &j, reterr);
                if (r < 0)
                        return r;
                json_array_append_new(out, j);
        }
        /* The output goes back to Heat: a secret of one container (its env, its command) is hidden wherever
         * it appears in the pod, in another container's env or labels too. */
        secret_redact_deep(out, NULL);
        *ret = json_incref(out);
        return 0;
}

int pod_inspect(PhDocker *d, const char *pod, json_t **ret, PhError **reterr) {
        _cleanup_strv_free_ char **ids = NULL;
        int r;

        r = pod_container_ids(d, pod, &ids, reterr);
        if (r < 0)
                return r;
        return inspect_ids(d, ids, ret, reterr);
}

/* --- apply ------------------------------------------------------------------------------------- */

static int ensure_image(PhDocker *d, const PhContainer *c, const PhPodOptions *o, PhError **reterr) {
        const char *policy = c->image_pull_policy ? c->image_pull_policy : "PullIfNotPresent";
        int r;

        if (strcmp(policy, "PullAlways") != 0) {
                r = docker_image_exists(d, c->image, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "container %s: image %s", c->name, c->image);
                if (r > 0)
                        return 0;
                if (strcmp(policy, "PullNever") == 0)
                        return ph_error_set(reterr, ENOENT,
                                            "container %s: image %s is not present and imagePullPolicy is PullNever",
                                            c->name, c->image);
        }
        r = docker_image_pull(d, c->image, o && o->progress, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "container %s", c->name);
        return 0;
}

static void set_labels(json_t *labels, const char *pod, const PhPodMeta *meta, const char *role) {
        json_object_set_new(labels, POD_LABEL_MANAGED, json_string("1"));
        json_object_set_new(labels, POD_LABEL_POD, json_string(pod));
        if (role)
                json_object_set_new(labels, POD_LABEL_ROLE, json_string(role));
        if (meta && meta->deployment)
                json_object_set_new(labels, POD_LABEL_DEPLOYMENT, json_string(meta->deployment));
        if (meta && meta->stack)
                json_object_set_new(labels, POD_LABEL_STACK, json_string(meta->stack));
        if (meta && meta->resource)
                json_object_set_new(labels, POD_LABEL_RESOURCE, json_string(meta->resource));
        if (meta && meta->dropin)
                json_object_set_new(labels, POD_LABEL_DROPIN, json_string(meta->dropin));
}

static char *volume_name(const char *pod, const char *volume) {
        return xasprintf("%s.%s", pod, volume);
}

/* hostDir: the directory is made if missing and otherwise left exactly as it is. emptyDir: a named
 * volume of the pod, reused when it exists, refused when someone else's volume has its name. */
static int ensure_volumes(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta,
                          PhError **reterr) {
        for (size_t i = 0; i < m->n_volumes; i++) {
                const PhVolume *v = &m->volumes[i];
                int r;

                if (v->kind == PH_VOLUME_HOST_DIR) {
                        r = file_exists(v->host_path);
                        if (r == 0)
                                r = dir_make_parents(v->host_path, 0755, reterr);
                        else if (r < 0)
                                r = ph_error_set(reterr, -r, "%s: %s", v->host_path, strerror(-r));
                        if (r < 0)
                                return ph_error_prefix(reterr, "volume %s", v->name);
                        continue;
                }
                _cleanup_free_ char *name = volume_name(pod, v->name);
                json_auto_t *body = json_object(), *resp = NULL;
                json_t *labels = json_object();
                json_object_set_new(body, "Name", json_string(name));
                json_object_set_new(body, "Labels", labels);
                set_labels(labels, pod, meta, NULL);
                json_object_set_new(labels, POD_LABEL_VOLUME, json_string(v->name));
                r = docker_call(d, "POST", "/volumes/create", body, NULL, &resp, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "volume %s: creating %s", v->name, name);
                const char *owner = pod_label(resp, POD_LABEL_POD);
                if (!owner || strcmp(owner, pod) != 0)
                        return ph_error_set(reterr, EEXIST, "volume %s: a Docker volume named %s exists and is not this pod's",
                                            v->name, name);
        }
        return 0;
}

static char *spec_hash(const json_t *spec) {
        _cleanup_free_ char *text = json_dumps(spec, JSON_SORT_KEYS | JSON_COMPACT);

        if (!text)
                abort();
        return digest_sha256_hex(text, strlen(text));
}

static json_t *infra_body(const char *pod, const PhManifest *m, const PhPodMeta *meta) {
        json_t *body = json_object();
        json_t *labels = json_object(), *exposed = json_object(), *bindings = json_object();
        json_t *host = json_object();
        json_auto_t *spec = json_array();

        for (size_t i = 0; i < m->n_containers; i++) {
                const PhContainer *c = &m->containers[i];
                for (size_t k = 0; k < c->n_ports; k++) {
                        const PhPort *p = &c->ports[k];
                        _cleanup_free_ char *key = xasprintf("%d/%s", p->container_port, p->protocol ? p->protocol : "tcp");
                        json_object_set_new(exposed, key, json_object());
                        json_array_append_new(spec, json_pack("{s:s, s:i, s:s?}", "port", key, "hostPort", p->host_port,
                                                              "hostIP", p->host_ip));
                        if (p->host_port <= 0)
                                continue;
                        json_t *list = json_object_get(bindings, key);
                        if (!list) {
                                list = json_array();
                                json_object_set_new(bindings, key, list);
                        }
                        _cleanup_free_ char *hp = xasprintf("%d", p->host_port);
                        json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp", p->host_ip ? p->host_ip : "",
                                                              "HostPort", hp));
                }
        }
        set_labels(labels, pod, meta, "infra");
        _cleanup_free_ char *hash = spec_hash(spec);
        json_object_set_new(labels, POD_LABEL_SPEC_HASH, json_string(hash));

        _cleanup_free_ char *hostname = xstrndup(pod, HOSTNAME_MAX), *image = infra_image_ref();
        json_object_set_new(body, "Image", json_string(image));
        json_object_set_new(body, "Hostname", json_string(hostname));
        json_object_set_new(body, "Labels", labels);
        json_object_set_new(body, "ExposedPorts", exposed);
        json_object_set_new(host, "PortBindings", bindings);
        json_object_set_new(host, "RestartPolicy", json_pack("{s:s, s:i}", "Name", "unless-stopped",
                                                             "MaximumRetryCount", 0));
        json_object_set_new(body, "HostConfig", host);
        return body;
}

static const char *restart_name(PhRestartPolicy p) {
        switch (p) {
        case PH_RESTART_ON_FAILURE:
                return "on-failure";
        case PH_RESTART_NEVER:
                return "no";
        case PH_RESTART_ALWAYS:
        default:
                return "always";
        }
}

static json_t *app_body(const char *pod, const PhManifest *m, const PhContainer *c, const char *infra_id,
                        const PhPodMeta *meta, const PhPodOptions *o) {
        json_t *body = json_object(), *labels = json_object(), *host = json_object();
        json_t *env = json_array(), *mounts = json_array();

        set_labels(labels, pod, meta, "app");
        json_object_set_new(labels, POD_LABEL_CONTAINER, json_string(c->name));
        _cleanup_free_ char *hash = spec_hash(c->json ? c->json : json_null());
        json_object_set_new(labels, POD_LABEL_SPEC_HASH, json_string(hash));

        json_object_set_new(body, "Image", json_string(c->image));
        /* v1beta2 `command` is Docker's Cmd, as the kubelet of that era did: the image ENTRYPOINT stays. */
        if (c->command) {
                json_t *cmd = json_array();
                for (char **a = c->command; *a; a++)
                        json_array_append_new(cmd, json_string(*a));
                json_object_set_new(body, "Cmd", cmd);
        }
        if (c->working_dir)
                json_object_set_new(body, "WorkingDir", json_string(c->working_dir));
        for (size_t i = 0; i < c->n_env; i++)
                json_array_append_new(env, json_sprintf("%s=%s", c->env[i].name, c->env[i].value));
        json_object_set_new(body, "Env", env);
        json_object_set_new(body, "Labels", labels);

        for (size_t i = 0; i < c->n_mounts; i++) {
                const PhVolumeMount *vm = &c->mounts[i];
                const PhVolume *v = manifest_find_volume(m, vm->name);
                _cleanup_free_ char *vname = v && v->kind != PH_VOLUME_HOST_DIR ? volume_name(pod, v->name) : NULL;
                if (!v)
                        continue; /* validation guarantees it exists */
                json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}",
                                                        "Type", v->kind == PH_VOLUME_HOST_DIR ? "bind" : "volume",
                                                        "Source", v->kind == PH_VOLUME_HOST_DIR ? v->host_path : vname,
                                                        "Target", vm->mount_path,
                                                        "ReadOnly", vm->read_only));
        }
        _cleanup_free_ char *netmode = xasprintf("container:%s", infra_id);
        json_object_set_new(host, "NetworkMode", json_string(netmode));
        json_object_set_new(host, "Mounts", mounts);
        json_object_set_new(host, "RestartPolicy", json_pack("{s:s, s:i}", "Name", restart_name(m->restart_policy),
                                                             "MaximumRetryCount", 0));
        if (c->memory > 0)
                json_object_set_new(host, "Memory", json_integer(c->memory));
        if (c->cpu > 0) {
                /* milliCPUToShares of the 2014 kubelet */
                int64_t shares = c->cpu * 1024 / 1000;
                json_object_set_new(host, "CpuShares", json_integer(shares < 2 ? 2 : shares));
        }
        json_object_set_new(host, "Privileged", json_boolean(c->privileged));
        json_object_set_new(host, "Init", json_boolean(!(o && o->no_init)));
        json_object_set_new(body, "HostConfig", host);
        return body;
}

static int create_container(PhDocker *d, const char *name, const json_t *body, char **ret_id, PhError **reterr) {
        _cleanup_free_ char *ename = http_escape(name);
        _cleanup_free_ char *path = xasprintf("/containers/create?name=%s", ename);
        json_auto_t *resp = NULL;
        const char *id;
        int r;

        r = docker_call(d, "POST", path, body, NULL, &resp, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "creating container %s", name);
        id = json_string_value(json_object_get(resp, "Id"));
        if (!id)
                return ph_error_set(reterr, EPROTO, "creating container %s: no Id in the answer", name);
        *ret_id = xstrdup(id);
        return 0;
}

static int start_container(PhDocker *d, const char *name, const char *id, PhError **reterr) {
        _cleanup_free_ char *path = xasprintf("/containers/%s/start", id);
        int r;

        r = docker_call(d, "POST", path, NULL, NULL, NULL, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "starting container %s", name);
        return 0;
}

/* Creates and starts the pod; ids (n_containers + 1 slots, infra last) records what exists so far. */
static int create_and_start(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta,
                            const PhPodOptions *o, char **ids, PhError **reterr) {
        size_t n = m->n_containers;
        _cleanup_free_ char *infra_name = xasprintf("%s" POD_INFRA_SUFFIX, pod);
        json_auto_t *ibody = infra_body(pod, m, meta);
        int r;

        r = create_container(d, infra_name, ibody, &ids[n], reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                const PhContainer *c = &m->containers[i];
                _cleanup_free_ char *name = xasprintf("%s.%s", pod, c->name);
                json_auto_t *body = app_body(pod, m, c, ids[n], meta, o);
                r = create_container(d, name, body, &ids[i], reterr);
                if (r < 0)
                        return r;
        }
        r = start_container(d, infra_name, ids[n], reterr);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *name = xasprintf("%s.%s", pod, m->containers[i].name);
                r = start_container(d, name, ids[i], reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}

int pod_apply(PhDocker *d, const char *pod, const PhManifest *m, const PhPodMeta *meta, const PhPodOptions *o,
              json_t **ret_inspect, PhError **reterr) {
        size_t n = m->n_containers;
        _cleanup_strv_free_ char **ids = xcalloc(n + 2, sizeof(char *));
        int r;

        if (!pod_name_is_valid(pod))
                return ph_error_set(reterr, EINVAL, "pod name '%s' is not a valid Docker name ([A-Za-z0-9][A-Za-z0-9_.-]*)",
                                    pod);
        /* Everything that can fail without touching the running pod comes first. */
        r = infra_image_ensure(d, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s: infra image", pod);
        for (size_t i = 0; i < n; i++) {
                r = ensure_image(d, &m->containers[i], o, reterr);
                if (r < 0)
                        return ph_error_prefix(reterr, "pod %s", pod);
        }
        r = hostports_check_engine(d, pod, m, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s", pod);
        r = ensure_volumes(d, pod, m, meta, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s", pod);

        r = pod_teardown(d, pod, o, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "pod %s: replacing the previous pod", pod);

        r = create_and_start(d, pod, m, meta, o, ids, reterr);
        if (r == 0) {
                /* apps in manifest order, then infra: ids is laid out that way */
                r = inspect_ids(d, ids, ret_inspect, reterr);
                if (r == 0)
                        return 0;
        }
        /* No half pod: remove whatever this apply created (compacting the holes first). */
        _cleanup_strv_free_ char **created = xcalloc(n + 2, sizeof(char *));
        for (size_t i = 0, k = 0; i <= n; i++)
                if (ids[i])
                        created[k++] = TAKE_PTR(ids[i]);
        _cleanup_error_ PhError *cleanup_err = NULL;
        _cleanup_strv_free_ char **left = NULL;
        r = remove_ids(d, created, &cleanup_err);
        /* A container the engine made while its answer was lost (a timeout) has no id here; the old pod
         * is gone, so whatever still carries the pod's labels is this apply's. */
        if (r >= 0)
                r = pod_container_ids(d, pod, &left, &cleanup_err);
        if (r >= 0)
                r = remove_ids(d, left, &cleanup_err);
        if (r < 0)
                (void) ph_error_append(reterr, EIO, "cleaning up after the failure: %s", ph_error_msg(cleanup_err));
        return ph_error_prefix(reterr, "pod %s", pod);
}
