#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/digest.h"
#include "common/secret.h"
#include "docker/pod-options.h"
#include "docker/pod-spec.h"

/* Linux hostnames are at most 64 bytes with the NUL. */
#define HOSTNAME_MAX 63
/* Bumped when the hashed form changes on purpose: every container then counts as changed once. */
#define SPEC_FORMAT     1
#define FIELD_HEX       16
#define ASIDE_INFIX     "._old"
#define INFRA_CONTAINER "_infra"

char *pod_volume_name(const char *pod, const char *volume) {
        return xasprintf("%s.%s", pod, volume);
}

char *pod_container_name(const char *pod, const char *container) {
        return container ? xasprintf("%s.%s", pod, container) : xasprintf("%s" POD_INFRA_SUFFIX, pod);
}

char *pod_aside_name(const char *pod, const char *container, unsigned long g) {
        return xasprintf("%s" ASIDE_INFIX "%lu.%s", pod, g, container ? container : INFRA_CONTAINER);
}

unsigned long pod_aside_generation(const char *pod, const char *name) {
        size_t n = strlen(pod);
        const char *p;
        char *end = NULL;
        unsigned long g;

        if (strncmp(name, pod, n) != 0 || strncmp(name + n, ASIDE_INFIX, strlen(ASIDE_INFIX)) != 0)
                return 0;
        p = name + n + strlen(ASIDE_INFIX);
        if (*p < '1' || *p > '9')
                return 0;
        g = strtoul(p, &end, 10);
        if (!end || *end != '.' || !end[1])
                return 0;
        return g;
}

void pod_spec_set_labels(json_t *labels, const char *pod, const PhPodMeta *meta, const char *role) {
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

int pod_log_size_parse(const char *s, uint64_t *ret) {
        uint64_t v = 0, unit = 1;
        const char *p = s;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (v > POD_LOG_MAX_SIZE_MAX)
                        return -EINVAL;
                v = v * 10 + (uint64_t) (*p - '0');
        }
        switch (*p) {
        case 'k':
        case 'K':
                unit = 1024u;
                break;
        case 'm':
        case 'M':
                unit = 1024u * 1024u;
                break;
        case 'g':
        case 'G':
                unit = 1024u * 1024u * 1024u;
                break;
        }
        if (unit > 1)
                p++;
        if (*p == 'b' || *p == 'B')
                p++;
        if (*p || v > POD_LOG_MAX_SIZE_MAX / unit)
                return -EINVAL;
        *ret = v * unit;
        return 0;
}

json_t *pod_spec_log_config(uint64_t max_size, unsigned max_file, bool podman) {
        char size[32], files[16];

        if (max_size == 0)
                return NULL;
        /* Plain bytes: Docker reads "10m" as MiB, Podman as a million bytes. Podman's conmon keeps one
         * file and empties it when it is full (max-file is ignored), so it gets the whole budget: the
         * same bound on disk as Docker's files together (docs/podman.md). */
        if (podman) {
                (void) snprintf(size, sizeof(size), "%llu", (unsigned long long) (max_size * max_file));
                return json_pack("{s:s, s:{s:s}}", "Type", "json-file", "Config", "max-size", size);
        }
        (void) snprintf(size, sizeof(size), "%llu", (unsigned long long) max_size);
        (void) snprintf(files, sizeof(files), "%u", max_file);
        return json_pack("{s:s, s:{s:s, s:s}}", "Type", "json-file", "Config", "max-size", size, "max-file",
                         files);
}

static void set_log_config(const PhSpecInput *in, json_t *host) {
        json_t *lc = pod_spec_log_config(in->log_max_size, in->log_max_file, in->podman);

        if (lc)
                json_object_set_new(host, "LogConfig", lc);
}

static json_t *infra_body(const PhSpecInput *in) {
        const PhManifest *m = in->m;
        json_t *body = json_object(), *labels = json_object(), *exposed = json_object();
        json_t *bindings = json_object(), *host = json_object();

        for (size_t i = 0; i < m->n_containers; i++) {
                const PhContainer *c = &m->containers[i];
                for (size_t k = 0; k < c->n_ports; k++) {
                        const PhPort *p = &c->ports[k];
                        _cleanup_free_ char *key =
                                xasprintf("%d/%s", p->container_port, p->protocol ? p->protocol : "tcp");
                        json_object_set_new(exposed, key, json_object());
                        if (p->host_port <= 0)
                                continue;
                        json_t *list = json_object_get(bindings, key);
                        if (!list) {
                                list = json_array();
                                json_object_set_new(bindings, key, list);
                        }
                        _cleanup_free_ char *hp = xasprintf("%d", p->host_port);
                        json_array_append_new(list, json_pack("{s:s, s:s}", "HostIp",
                                                              p->host_ip ? p->host_ip : "", "HostPort", hp));
                }
        }
        pod_spec_set_labels(labels, in->pod, in->meta, "infra");
        _cleanup_free_ char *hostname = xstrndup(in->pod, HOSTNAME_MAX);
        json_object_set_new(body, "Image", json_string(in->infra_image));
        json_object_set_new(body, "Hostname", json_string(hostname));
        json_object_set_new(body, "Labels", labels);
        json_object_set_new(body, "ExposedPorts", exposed);
        json_object_set_new(host, "PortBindings", bindings);
        json_object_set_new(host, "RestartPolicy",
                            json_pack("{s:s, s:i}", "Name", "unless-stopped", "MaximumRetryCount", 0));
        set_log_config(in, host);
        json_object_set_new(body, "HostConfig", host);
        return body;
}

static json_t *app_body(const PhSpecInput *in, const PhContainer *c) {
        const PhManifest *m = in->m;
        json_t *body = json_object(), *labels = json_object(), *host = json_object();
        json_t *env = json_array(), *mounts = json_array();

        pod_spec_set_labels(labels, in->pod, in->meta, "app");
        json_object_set_new(labels, POD_LABEL_CONTAINER, json_string(c->name));
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
        for (size_t i = 0; i < c->n_env; i++) {
                const char *v = c->env[i].value;
                if (c->env[i].secret_key) {
                        /* Validation knew the secret's name; a value missing now is empty, never NULL. */
                        v = in->values ? pod_secret_value(in->values, c->env[i].secret_key) : NULL;
                        v = v ? v : "";
                }
                json_array_append_new(env, json_sprintf("%s=%s", c->env[i].name, v));
        }
        json_object_set_new(body, "Env", env);
        json_object_set_new(body, "Labels", labels);

        for (size_t i = 0; i < c->n_mounts; i++) {
                const PhVolumeMount *vm = &c->mounts[i];
                const PhVolume *v = manifest_find_volume(m, vm->name);
                if (!v)
                        continue; /* validation guarantees it exists */
                if (v->kind == PH_VOLUME_SECRET || v->kind == PH_VOLUME_CONFIG_MAP) {
                        /* Files podhook wrote: never writable from the pod. */
                        const char *dir = json_string_value(json_object_get(in->config_dirs, v->name));
                        json_array_append_new(mounts, json_pack("{s:s, s:s, s:s, s:b}", "Type", "bind",
                                                                "Source", dir ? dir : "", "Target",
                                                                vm->mount_path, "ReadOnly", true));
                        continue;
                }
                _cleanup_free_ char *vname =
                        v->kind != PH_VOLUME_HOST_DIR ? pod_volume_name(in->pod, v->name) : NULL;
                json_array_append_new(mounts,
                                      json_pack("{s:s, s:s, s:s, s:b}", "Type",
                                                v->kind == PH_VOLUME_HOST_DIR ? "bind" : "volume", "Source",
                                                v->kind == PH_VOLUME_HOST_DIR ? v->host_path : vname,
                                                "Target", vm->mount_path, "ReadOnly", vm->read_only));
        }
        /* The infra's id is filled in by pod_spec_create_body(): it is not known here, and an infra that
         * is replaced replaces the whole pod anyway. */
        json_object_set_new(host, "NetworkMode", json_string("container:"));
        json_object_set_new(host, "Mounts", mounts);
        json_object_set_new(
                host, "RestartPolicy",
                json_pack("{s:s, s:i}", "Name", restart_name(m->restart_policy), "MaximumRetryCount", 0));
        if (c->memory > 0)
                json_object_set_new(host, "Memory", json_integer(c->memory));
        if (c->cpu > 0) {
                /* milliCPUToShares of the 2014 kubelet */
                int64_t shares = c->cpu * 1024 / 1000;
                json_object_set_new(host, "CpuShares", json_integer(shares < 2 ? 2 : shares));
        }
        json_object_set_new(host, "Privileged", json_boolean(c->privileged));
        json_object_set_new(host, "Init", json_boolean(!in->no_init));
        set_log_config(in, host);
        json_object_set_new(body, "HostConfig", host);
        return body;
}

/* --- probes and lifecycle hooks ------------------------------------------------------------------- */

static char *action_what(const char *prefix, const PhSpecAction *a) {
        switch (a->kind) {
        case PH_HANDLER_HTTP_GET: {
                /* A query string may carry a token: left out of messages. */
                size_t n = strcspn(a->path ? a->path : "/", "?#");
                return xasprintf("%s httpGet %s:%d%.*s", prefix, a->host ? a->host : "", a->port, (int) n,
                                 a->path ? a->path : "/");
        }
        case PH_HANDLER_TCP_SOCKET:
                return xasprintf("%s tcpSocket :%d", prefix, a->port);
        case PH_HANDLER_EXEC:
        default:
                return xasprintf("%s exec %s", prefix, a->command && a->command[0] ? a->command[0] : "");
        }
}

static void action_fill(PhSpecAction *a, const char *prefix, const PhContainer *c, const PhHandler *h) {
        if (h->actions & PH_HANDLER_HTTP_GET) {
                a->kind = PH_HANDLER_HTTP_GET;
                a->port = manifest_handler_port(c, &h->http_port);
                a->path = xstrdup(h->http_path ? h->http_path : "/");
                a->host = h->http_host ? xstrdup(h->http_host) : NULL;
        } else if (h->actions & PH_HANDLER_TCP_SOCKET) {
                a->kind = PH_HANDLER_TCP_SOCKET;
                a->port = manifest_handler_port(c, &h->tcp_port);
        } else {
                a->kind = PH_HANDLER_EXEC;
                a->command = strv_copy(h->exec_command);
        }
        a->what = action_what(prefix, a);
}

static void action_clear(PhSpecAction *a) {
        free(a->path);
        free(a->host);
        strv_free(a->command);
        free(a->what);
}

PhSpecAction *pod_spec_action_free(PhSpecAction *a) {
        if (a) {
                action_clear(a);
                free(a);
        }
        return NULL;
}

static PhSpecAction *action_new(const char *prefix, const PhContainer *c, const PhHandler *h) {
        PhSpecAction *a = NULL;

        if (h) {
                a = xcalloc(1, sizeof(PhSpecAction));
                action_fill(a, prefix, c, h);
        }
        return a;
}

json_t *pod_spec_action_to_json(const PhSpecAction *a) {
        json_t *cmd;

        switch (a->kind) {
        case PH_HANDLER_HTTP_GET:
                return json_pack("{s:s, s:i, s:s, s:s?}", "kind", "httpGet", "port", a->port, "path", a->path,
                                 "host", a->host);
        case PH_HANDLER_TCP_SOCKET:
                return json_pack("{s:s, s:i}", "kind", "tcpSocket", "port", a->port);
        case PH_HANDLER_EXEC:
        default:
                cmd = json_array();
                for (char **w = a->command; w && *w; w++)
                        json_array_append_new(cmd, json_string(*w));
                return json_pack("{s:s, s:o}", "kind", "exec", "command", cmd);
        }
}

PhSpecAction *pod_spec_action_from_json(const json_t *j, const char *what_prefix) {
        _cleanup_(pod_spec_action_freep) PhSpecAction *a = xcalloc(1, sizeof(PhSpecAction));
        const char *kind = json_string_value(json_object_get(j, "kind"));
        json_int_t port = json_integer_value(json_object_get(j, "port"));
        const json_t *cmd = json_object_get(j, "command");

        if (!kind)
                return NULL;
        if (strcmp(kind, "httpGet") == 0 || strcmp(kind, "tcpSocket") == 0) {
                if (port < 1 || port > 65535)
                        return NULL;
                a->port = (int) port;
                a->kind = kind[0] == 'h' ? PH_HANDLER_HTTP_GET : PH_HANDLER_TCP_SOCKET;
                if (a->kind == PH_HANDLER_HTTP_GET) {
                        const char *path = json_string_value(json_object_get(j, "path"));
                        const char *host = json_string_value(json_object_get(j, "host"));
                        a->path = xstrdup(path ? path : "/");
                        a->host = host ? xstrdup(host) : NULL;
                }
        } else if (strcmp(kind, "exec") == 0 && json_array_size(cmd) > 0) {
                size_t i;
                const json_t *w;
                a->kind = PH_HANDLER_EXEC;
                a->command = xcalloc(json_array_size(cmd) + 1, sizeof(char *));
                json_array_foreach((json_t *) cmd, i, w) {
                        if (!json_is_string(w))
                                return NULL;
                        a->command[i] = xstrdup(json_string_value(w));
                }
        } else
                return NULL;
        a->what = action_what(what_prefix, a);
        return TAKE_PTR(a);
}

static PhSpecProbe *probe_new(const PhContainer *c) {
        const PhProbe *p = c->liveness_probe;
        PhSpecProbe *out;

        if (!p)
                return NULL;
        out = xcalloc(1, sizeof(PhSpecProbe));
        action_fill(&out->action, "livenessProbe", c, &p->handler);
        out->initial_delay = p->has_initial_delay ? (unsigned) p->initial_delay_seconds : 0;
        out->timeout = p->has_timeout && p->timeout_seconds > 0 ? (unsigned) p->timeout_seconds : 1;
        return out;
}

/* --- hashing ----------------------------------------------------------------------------------- */

static char *canonical(const json_t *v) {
        char *text = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);

        if (!text)
                abort();
        return text;
}

/* Whether v (a string, a list such as a command, an object) holds a secret value by the rules of
 * common/secret.h: a NAME=value entry of a secret NAME, --NAME=value or --NAME value arguments, a URL's
 * password, a signed URL. */
static bool holds_secret(const json_t *v) {
        json_auto_t *one = json_pack("[O]", v);
        _cleanup_strv_free_ char **found = NULL;

        secret_collect(one, &found);
        return found && found[0];
}

/* Adds name -> value (new ref); a name seen before (an env variable listed twice) gets "#2", "#3"... so
 * that no value is left out of the hash. */
static void field_add(json_t *fields, const char *name, json_t *value) {
        if (!json_object_get(fields, name)) {
                json_object_set_new(fields, name, value);
                return;
        }
        for (unsigned k = 2;; k++) {
                _cleanup_free_ char *alt = xasprintf("%s#%u", name, k);
                if (!json_object_get(fields, alt)) {
                        json_object_set_new(fields, alt, value);
                        return;
                }
        }
}

/* Fields of the create body: top-level keys, HostConfig's keys as "HostConfig.<key>", one field per
 * env variable ("Env <name>") and per mount ("HostConfig.Mounts <target>"). Labels are not the spec. */
static void body_fields(const PhSpecInput *in, const PhContainer *c, const json_t *body, bool infra,
                        json_t *fields) {
        const char *key;
        json_t *v;

        json_object_foreach((json_t *) body, key, v) {
                if (strcmp(key, "Labels") == 0)
                        continue;
                /* The infra image is podhook's own pause program: a new podhook version must not restart
                 * every pod. A pod replaced for any other reason gets the new image. */
                if (infra && strcmp(key, "Image") == 0)
                        continue;
                if (strcmp(key, "Env") == 0) {
                        size_t i;
                        json_t *e;
                        json_array_foreach(v, i, e) {
                                const char *s = json_string_value(e), *eq = strchr(s, '=');
                                _cleanup_free_ char *name = xstrndup(s, (size_t) (eq - s));
                                _cleanup_free_ char *field = xasprintf("Env %s", name);
                                /* A secret is compared through its HMAC only: the label must not let
                                 * anyone test guesses of a password against it. Secret by its name,
                                 * or by what the value holds (--password=..., a URL's password). */
                                bool secret = secret_name_is_secret(name) || holds_secret(e) ||
                                              (c && i < c->n_env && c->env[i].secret_key);
                                _cleanup_free_ char *mac =
                                        secret ? digest_hmac_sha256_hex(in->key, in->key_len, eq + 1,
                                                                        strlen(eq + 1))
                                               : NULL;
                                field_add(fields, field, json_string(mac ? mac : eq + 1));
                        }
                } else if (strcmp(key, "HostConfig") == 0) {
                        const char *hk;
                        json_t *hv;
                        json_object_foreach(v, hk, hv) {
                                /* The pause program writes no log: new log limits must not replace
                                 * a whole pod (its network, its ports). An app is replaced: the
                                 * engine sets a container's log config only when it is created. */
                                if (infra && strcmp(hk, "LogConfig") == 0)
                                        continue;
                                if (strcmp(hk, "Mounts") == 0) {
                                        size_t i;
                                        json_t *mnt;
                                        json_array_foreach(hv, i, mnt) {
                                                _cleanup_free_ char *field = xasprintf(
                                                        "HostConfig.Mounts %s",
                                                        json_string_value(json_object_get(mnt, "Target")));
                                                field_add(fields, field, json_incref(mnt));
                                        }
                                        continue;
                                }
                                _cleanup_free_ char *field = xasprintf("HostConfig.%s", hk);
                                field_add(fields, field, json_incref(hv));
                        }
                } else
                        field_add(fields, key, json_incref(v));
        }
}

/* Manifest fields of the container that have no place in the body, as "manifest.<key>": probes,
 * lifecycle handlers, imagePullPolicy, and any field podhook does not know (warned about) too. */
static void manifest_fields(const PhContainer *c, json_t *fields) {
        static const char *const in_body[] = {"name",   "image", "command",      "workingDir", "ports", "env",
                                              "memory", "cpu",   "volumeMounts", "privileged", NULL};
        const char *key;
        json_t *v;

        json_object_foreach(c->json, key, v) {
                bool skip = false;
                for (const char *const *k = in_body; *k && !skip; k++)
                        skip = strcmp(*k, key) == 0;
                if (skip)
                        continue;
                _cleanup_free_ char *field = xasprintf("manifest.%s", key);
                field_add(fields, field, json_incref(v));
        }
}

/* A field that holds a secret (a command with --password=..., a probe's exec with a token) enters the
 * hash and its digest only as an HMAC of its value under the node key, as a secret env value does. */
static void key_secret_fields(const PhSpecInput *in, json_t *full) {
        const char *key;
        json_t *v;

        json_object_foreach(full, key, v) {
                if (strncmp(key, "Env ", 4) == 0 || !holds_secret(v))
                        continue; /* env values are keyed by body_fields, one by one */
                _cleanup_free_ char *text = canonical(v);
                _cleanup_free_ char *mac = digest_hmac_sha256_hex(in->key, in->key_len, text, strlen(text));
                json_object_set_new(full, key, json_pack("{s:s}", "hmac", mac));
        }
}

static void spec_finish(const PhSpecInput *in, PhSpecContainer *s, json_t *full) {
        key_secret_fields(in, full);
        json_auto_t *hashed = json_pack("{s:i, s:O}", "format", SPEC_FORMAT, "fields", full);
        _cleanup_free_ char *text = canonical(hashed);
        const char *key;
        json_t *v;

        s->hash = digest_sha256_hex(text, strlen(text));
        s->fields = json_object();
        json_object_foreach(full, key, v) {
                _cleanup_free_ char *vt = canonical(v);
                _cleanup_free_ char *d = digest_sha256_hex(vt, strlen(vt));
                json_object_set_new(s->fields, key, json_stringn(d + strlen("sha256:"), FIELD_HEX));
        }
}

PhPodSpec *pod_spec_build(const PhSpecInput *in) {
        const PhManifest *m = in->m;
        PhPodSpec *s = xcalloc(1, sizeof(PhPodSpec));

        s->pod = xstrdup(in->pod);
        s->n = m->n_containers + 1;
        s->items = xcalloc(s->n, sizeof(PhSpecContainer));
        for (size_t i = 0; i < m->n_containers; i++) {
                const PhContainer *c = &m->containers[i];
                PhSpecContainer *it = &s->items[i];
                const char *id = in->image_ids ? in->image_ids[i] : NULL;
                json_auto_t *full = json_object();

                it->container = xstrdup(c->name);
                it->name = pod_container_name(in->pod, c->name);
                it->body = app_body(in, c);
                it->keeps_running = m->restart_policy == PH_RESTART_ALWAYS;
                it->image_known = id != NULL;
                it->liveness = probe_new(c);
                it->post_start = action_new("lifecycle.postStart", c, c->post_start);
                it->pre_stop = action_new("lifecycle.preStop", c, c->pre_stop);
                body_fields(in, c, it->body, false, full);
                field_add(full, "ImageID", id ? json_string(id) : json_null());
                manifest_fields(c, full);
                spec_finish(in, it, full);
        }
        PhSpecContainer *infra = &s->items[s->n - 1];
        json_auto_t *full = json_object();
        infra->name = pod_container_name(in->pod, NULL);
        infra->body = infra_body(in);
        infra->keeps_running = true;
        infra->image_known = true;
        body_fields(in, NULL, infra->body, true, full);
        spec_finish(in, infra, full);
        return s;
}

PhPodSpec *pod_spec_free(PhPodSpec *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < s->n; i++) {
                free(s->items[i].container);
                free(s->items[i].name);
                json_decref(s->items[i].body);
                json_decref(s->items[i].fields);
                free(s->items[i].hash);
                if (s->items[i].liveness)
                        action_clear(&s->items[i].liveness->action);
                free(s->items[i].liveness);
                pod_spec_action_free(s->items[i].post_start);
                pod_spec_action_free(s->items[i].pre_stop);
        }
        free(s->items);
        free(s->pod);
        free(s);
        return NULL;
}

json_t *pod_spec_create_body(const PhSpecContainer *c, const char *infra_id, unsigned long generation) {
        json_t *body = json_deep_copy(c->body);
        json_t *labels = json_object_get(body, "Labels");
        _cleanup_free_ char *fields = canonical(c->fields);
        _cleanup_free_ char *gen = xasprintf("%lu", generation);

        json_object_set_new(labels, POD_LABEL_SPEC_HASH, json_string(c->hash));
        json_object_set_new(labels, POD_LABEL_SPEC_FIELDS, json_string(fields));
        json_object_set_new(labels, POD_LABEL_GENERATION, json_string(gen));
        if (c->container) {
                _cleanup_free_ char *mode = xasprintf("container:%s", infra_id ? infra_id : "");
                json_object_set_new(json_object_get(body, "HostConfig"), "NetworkMode", json_string(mode));
        }
        return body;
}

char *pod_spec_field_reason(const char *field) {
        static const char *const names[][2] = {
                {"Image", "image"},
                {"ImageID", "image ID"},
                {"Cmd", "command"},
                {"WorkingDir", "workingDir"},
                {"Hostname", "hostname"},
                {"ExposedPorts", "ports"},
                {"HostConfig.PortBindings", "ports"},
                {"HostConfig.RestartPolicy", "restartPolicy"},
                {"HostConfig.Init", "init"},
                {"HostConfig.Memory", "memory"},
                {"HostConfig.CpuShares", "cpu"},
                {"HostConfig.Privileged", "privileged"},
                {"HostConfig.NetworkMode", "network"},
                {"HostConfig.LogConfig", "log limits"},
        };
        _cleanup_free_ char *base = xstrdup(field);
        char *hash = strchr(base, '#');

        if (hash)
                *hash = '\0'; /* a repeated env name is still that name */
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(base, names[i][0]) == 0)
                        return xstrdup(names[i][1]);
        if (strncmp(base, "Env ", 4) == 0)
                return xasprintf("env %s", base + 4);
        if (strncmp(base, "HostConfig.Mounts ", 18) == 0)
                return xasprintf("volume %s", base + 18);
        if (strncmp(base, "manifest.", 9) == 0)
                return xstrdup(base + 9);
        return TAKE_PTR(base);
}
