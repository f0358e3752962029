/* v1beta2 manifest -> v1 Pod: every name mapped and checked against the kubelet's rules, every field
 * translated, every problem collected before anything is returned. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/digest.h"
#include "kubelet/convert.h"

/* More problems than this are summed up in one last line, as the validator does. */
#define MAX_PROBLEMS 100
/* v1 probe timings are int32. */
#define MAX_SECONDS 2147483647

typedef struct Conv {
        const char *source;
        PhError *err;
        size_t n_problems;
} Conv;

static void problem(Conv *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(Conv *c, const char *path, const char *fmt, ...) {
        _cleanup_free_ char *msg = NULL;
        va_list ap;

        if (++c->n_problems > MAX_PROBLEMS)
                return;
        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        (void) ph_error_append(&c->err, EINVAL, "%s: %s: %s", c->source, path, msg);
}

/* --- the rules ----------------------------------------------------------------------------------- */

char *kubelet_name_map(const char *name) {
        char *s = xstrdup(name);

        for (char *p = s; *p; p++)
                *p = *p == '_' ? '-' : (char) tolower((unsigned char) *p);
        return s;
}

static bool lower_alnum(char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static bool ascii_alnum(char ch) {
        return lower_alnum(ch) || (ch >= 'A' && ch <= 'Z');
}

/* n characters of s as one RFC 1123 label, without the length limit (a subdomain's parts have none). */
static bool label_chars(const char *s, size_t n) {
        if (n == 0 || !lower_alnum(s[0]) || !lower_alnum(s[n - 1]))
                return false;
        for (size_t i = 1; i + 1 < n; i++)
                if (!lower_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

bool kubelet_is_dns_label(const char *s) {
        size_t n = strlen(s);
        return n <= KUBELET_LABEL_MAX && label_chars(s, n);
}

bool kubelet_is_dns_subdomain(const char *s) {
        if (strlen(s) > KUBELET_SUBDOMAIN_MAX)
                return false;
        for (;;) {
                const char *dot = strchrnul(s, '.');
                if (!label_chars(s, (size_t) (dot - s)))
                        return false;
                if (!*dot)
                        return true;
                s = dot + 1;
        }
}

bool kubelet_is_port_name(const char *s) {
        size_t n = strlen(s);
        bool letter = false;

        if (n == 0 || n > KUBELET_PORT_NAME_MAX || s[0] == '-' || s[n - 1] == '-' || strstr(s, "--"))
                return false;
        for (size_t i = 0; i < n; i++) {
                if (s[i] >= 'a' && s[i] <= 'z')
                        letter = true;
                else if (!lower_alnum(s[i]) && s[i] != '-')
                        return false;
        }
        return letter;
}

bool kubelet_is_label_value(const char *s) {
        size_t n = strlen(s);

        if (n == 0)
                return true;
        if (n > KUBELET_LABEL_MAX || !ascii_alnum(s[0]) || !ascii_alnum(s[n - 1]))
                return false;
        for (size_t i = 1; i + 1 < n; i++)
                if (!ascii_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
                        return false;
        return true;
}

/* "sha256-" and 56 of the 64 hex digits: 63 characters, the most a label value may have. */
static char *hash_label(const char *text) {
        _cleanup_free_ char *digest = digest_sha256_hex(text, strlen(text)); /* "sha256:<64 hex>" */
        return xasprintf("sha256-%.56s", digest + strlen("sha256:"));
}

char *kubelet_label_value(const char *value) {
        return kubelet_is_label_value(value) ? xstrdup(value) : hash_label(value);
}

char *kubelet_spec_hash(const json_t *spec) {
        _cleanup_free_ char *text = json_dumps(spec, JSON_SORT_KEYS | JSON_COMPACT);

        if (!text)
                abort();
        return hash_label(text);
}

char *kubelet_quantity_bytes(int64_t bytes) {
        static const char *const suffixes[] = {"Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
        int64_t v = bytes;
        size_t k = 0;

        while (k < ELEMENTSOF(suffixes) && v != 0 && v % 1024 == 0) {
                v /= 1024;
                k++;
        }
        if (k == 0)
                return xasprintf("%" PRId64, bytes);
        return xasprintf("%" PRId64 "%s", v, suffixes[k - 1]);
}

char *kubelet_quantity_milli(int64_t milli) {
        if (milli % 1000 == 0)
                return xasprintf("%" PRId64, milli / 1000);
        return xasprintf("%" PRId64 "m", milli);
}

const char *kubelet_restart_policy(PhRestartPolicy p) {
        switch (p) {
        case PH_RESTART_ON_FAILURE:
                return "OnFailure";
        case PH_RESTART_NEVER:
                return "Never";
        case PH_RESTART_ALWAYS:
        default:
                return "Always";
        }
}

const char *kubelet_pull_policy(const char *v1beta2) {
        if (!v1beta2 || strcmp(v1beta2, "PullIfNotPresent") == 0)
                return "IfNotPresent";
        if (strcmp(v1beta2, "PullAlways") == 0)
                return "Always";
        if (strcmp(v1beta2, "PullNever") == 0)
                return "Never";
        return NULL;
}

/* --- names --------------------------------------------------------------------------------------- */

typedef enum NameKind {
        NAME_LABEL,     /* containers, volumes */
        NAME_PORT,      /* container ports */
        NAME_SUBDOMAIN, /* the pod */
} NameKind;

static const char *const name_rules[] = {
        [NAME_LABEL] = "a DNS-1123 label (at most 63 lower-case letters, digits and '-', starting and ending "
                       "with a letter or digit)",
        [NAME_PORT] = "a v1 port name (at most 15 lower-case letters, digits and '-', at least one letter, "
                      "no \"--\" and no '-' at either end)",
        [NAME_SUBDOMAIN] = "a DNS-1123 subdomain (at most 253 characters: DNS-1123 labels joined by '.')",
};

static bool name_ok(NameKind kind, const char *s) {
        switch (kind) {
        case NAME_PORT:
                return kubelet_is_port_name(s);
        case NAME_SUBDOMAIN:
                return kubelet_is_dns_subdomain(s);
        case NAME_LABEL:
        default:
                return kubelet_is_dns_label(s);
        }
}

/* The v1 name of name (at path), unique in seen (v1 name -> path of its first user, updated). A name that
 * is not valid in v1 or is taken is reported; the v1 name is returned all the same. */
static char *map_name(Conv *c, const char *path, const char *name, NameKind kind, json_t *seen) {
        char *v1 = kubelet_name_map(name);
        _cleanup_free_ char *q = manifest_quote(name), *qv = manifest_quote(v1);
        _cleanup_free_ char *subject = strcmp(name, v1) == 0
                                               ? xasprintf("%s is", q)
                                               : xasprintf("%s becomes %s in v1, which is", q, qv);
        json_t *other;

        if (!name_ok(kind, v1))
                problem(c, path, "%s not %s", subject, name_rules[kind]);
        else if ((other = json_object_get(seen, v1)))
                problem(c, path, "%s also the v1 name of %s", subject, json_string_value(other));
        else
                json_object_set_new(seen, v1, json_string(path));
        return v1;
}

/* --- handlers ------------------------------------------------------------------------------------ */

static bool all_digits(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 5)
                return false;
        for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char) s[i]))
                        return false;
        return true;
}

/* The v1 port of a handler: a number, or the v1 name of a port of the container (ports: original name ->
 * v1 name). Digits in a string are a number, as the kubelet of v1beta2 read them. NULL when reported. */
static json_t *handler_port(Conv *c, const char *path, const PhPortRef *p, const json_t *ports) {
        int64_t number = 0;

        switch (p->kind) {
        case PH_PORT_REF_NUMBER:
                number = p->number;
                break;
        case PH_PORT_REF_NAME: {
                if (all_digits(p->name)) {
                        number = strtol(p->name, NULL, 10);
                        break;
                }
                json_t *v1 = json_object_get(ports, p->name);
                if (v1)
                        return json_string(json_string_value(v1));
                _cleanup_free_ char *q = manifest_quote(p->name);
                problem(c, path, "%s is not the name of a port of this container", q);
                return NULL;
        }
        case PH_PORT_REF_OTHER:
                problem(c, path, "must be a port number or the name of a port of this container");
                return NULL;
        case PH_PORT_REF_NONE:
        default:
                problem(c, path, "is required in a v1 Pod");
                return NULL;
        }
        if (number < 1 || number > 65535) {
                problem(c, path, "%" PRId64 " is out of range 1-65535", number);
                return NULL;
        }
        return json_integer(number);
}

/* A JSON string of s, which is freed. */
static json_t *string_take(char *s) {
        json_t *j = json_string(s);

        free(s);
        return j;
}

static json_t *strv_to_json(char *const *v) {
        json_t *a = json_array();

        for (size_t i = 0; v && v[i]; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

/* A probe's or lifecycle hook's one action (v1 wants exactly one), or NULL when reported. */
static json_t *handler_to_v1(Conv *c, const char *path, const PhHandler *h, const json_t *ports, bool probe) {
        const char *what = probe ? "a v1 probe needs exactly one of httpGet, tcpSocket and exec"
                                 : "a v1 lifecycle hook needs exactly one of httpGet and exec";
        int n = __builtin_popcount(h->actions);
        json_auto_t *out = json_object();

        if (n != 1) {
                problem(c, path, "%s: %s", n == 0 ? "has no action" : "has more than one action", what);
                return NULL;
        }
        if (h->actions & PH_HANDLER_HTTP_GET) {
                _cleanup_free_ char *pp = xasprintf("%s.httpGet.port", path);
                json_t *port = handler_port(c, pp, &h->http_port, ports);
                if (!port)
                        return NULL;
                /* v1 requires a path; the kubelet's defaulting would make it "/" too. */
                json_t *get =
                        json_pack("{s:s, s:o}", "path", h->http_path ? h->http_path : "/", "port", port);
                if (h->http_host)
                        json_object_set_new(get, "host", json_string(h->http_host));
                json_object_set_new(out, "httpGet", get);
        } else if (h->actions & PH_HANDLER_TCP_SOCKET) {
                _cleanup_free_ char *pp = xasprintf("%s.tcpSocket.port", path);
                json_t *port = handler_port(c, pp, &h->tcp_port, ports);
                if (!port)
                        return NULL;
                json_object_set_new(out, "tcpSocket", json_pack("{s:o}", "port", port));
        } else {
                if (!h->exec_command) {
                        _cleanup_free_ char *cp = xasprintf("%s.exec.command", path);
                        problem(c, cp, "is required in a v1 Pod (a list of at least one argument)");
                        return NULL;
                }
                json_object_set_new(out, "exec",
                                    json_pack("{s:o}", "command", strv_to_json(h->exec_command)));
        }
        return TAKE_PTR(out);
}

static void probe_seconds(Conv *c, json_t *out, const char *path, const char *key, bool present, int64_t v) {
        _cleanup_free_ char *p = xasprintf("%s.%s", path, key);

        if (!present)
                return;
        if (v < 0)
                problem(c, p, "%" PRId64 " must not be negative", v);
        else if (v > MAX_SECONDS)
                problem(c, p, "%" PRId64 " is more than %d", v, MAX_SECONDS);
        else
                json_object_set_new(out, key, json_integer(v));
}

static json_t *probe_to_v1(Conv *c, const char *path, const PhProbe *p, const json_t *ports) {
        json_t *out = handler_to_v1(c, path, &p->handler, ports, true);

        if (!out)
                return NULL;
        probe_seconds(c, out, path, "initialDelaySeconds", p->has_initial_delay, p->initial_delay_seconds);
        probe_seconds(c, out, path, "timeoutSeconds", p->has_timeout, p->timeout_seconds);
        return out;
}

/* --- volumes and containers ---------------------------------------------------------------------- */

/* The kubelet refuses a hostPath with a ".." element; resolving it here could be wrong (symlinks). */
static bool has_backstep(const char *path) {
        for (const char *p = path;;) {
                const char *slash = strchrnul(p, '/');
                if (slash - p == 2 && p[0] == '.' && p[1] == '.')
                        return true;
                if (!*slash)
                        return false;
                p = slash + 1;
        }
}

/* The pod's names: v1 name -> manifest path of its first user, and the original-names annotation. */
typedef struct Names {
        json_t *containers_seen, *volumes_seen;
        json_t *volume_v1; /* original volume name -> v1 name */
        json_t *original;  /* the annotation's object */
} Names;

static json_t *volume_to_v1(Conv *c, const PhVolume *v, const char *path, Names *names) {
        _cleanup_free_ char *npath = xasprintf("%s.name", path);
        _cleanup_free_ char *v1 = map_name(c, npath, v->name, NAME_LABEL, names->volumes_seen);
        json_t *out = json_pack("{s:s}", "name", v1);

        json_object_set_new(names->volume_v1, v->name, json_string(v1));
        json_object_set_new(json_object_get(names->original, "volumes"), v1, json_string(v->name));
        if (v->kind == PH_VOLUME_HOST_DIR) {
                if (has_backstep(v->host_path)) {
                        _cleanup_free_ char *ppath = xasprintf("%s.source.hostDir.path", path);
                        _cleanup_free_ char *q = manifest_quote(v->host_path);
                        problem(c, ppath, "%s has a '..' element, which a v1 hostPath may not have", q);
                }
                /* As the Docker backend does: the directory is made when missing. */
                json_object_set_new(
                        out, "hostPath",
                        json_pack("{s:s, s:s}", "path", v->host_path, "type", "DirectoryOrCreate"));
        } else if (v->kind == PH_VOLUME_SECRET || v->kind == PH_VOLUME_CONFIG_MAP) {
                /* A kubelet refuses static pods that refer to Secret or ConfigMap objects, and there is no
                 * API server to hold them. */
                _cleanup_free_ char *spath =
                        xasprintf("%s.source.%s", path, v->kind == PH_VOLUME_SECRET ? "secret" : "configMap");
                problem(c, spath, "a static pod cannot mount a Secret or ConfigMap (use the docker backend)");
        } else
                json_object_set_new(out, "emptyDir", json_object());
        return out;
}

/* ports (a new list) of container ctr; *port_v1 gets original name -> v1 name for its handlers. */
static json_t *ports_to_v1(Conv *c, const PhContainer *ctr, const char *path, const char *ctr_v1,
                           Names *names, json_t *port_v1) {
        json_auto_t *seen = json_object(), *original = json_object();
        json_t *list = json_array();

        for (size_t i = 0; i < ctr->n_ports; i++) {
                const PhPort *p = &ctr->ports[i];
                char proto[4] = "TCP";
                json_t *out = json_object();

                if (p->name) {
                        _cleanup_free_ char *npath = xasprintf("%s.ports[%zu].name", path, i);
                        _cleanup_free_ char *v1 = map_name(c, npath, p->name, NAME_PORT, seen);
                        json_object_set_new(out, "name", json_string(v1));
                        json_object_set_new(port_v1, p->name, json_string(v1));
                        json_object_set_new(original, v1, json_string(p->name));
                }
                json_object_set_new(out, "containerPort", json_integer(p->container_port));
                if (p->host_port) {
                        json_object_set_new(out, "hostPort", json_integer(p->host_port));
                        if (p->host_ip)
                                json_object_set_new(out, "hostIP", json_string(p->host_ip));
                }
                for (size_t k = 0; p->protocol && k < 3 && p->protocol[k]; k++)
                        proto[k] = (char) toupper((unsigned char) p->protocol[k]);
                json_object_set_new(out, "protocol", json_string(proto));
                json_array_append_new(list, out);
        }
        if (json_object_size(original) > 0)
                json_object_set(json_object_get(names->original, "ports"), ctr_v1, original);
        return list;
}

static json_t *container_to_v1(Conv *c, const PhContainer *ctr, const char *path, Names *names) {
        _cleanup_free_ char *npath = xasprintf("%s.name", path);
        _cleanup_free_ char *v1 = map_name(c, npath, ctr->name, NAME_LABEL, names->containers_seen);
        json_auto_t *port_v1 = json_object();
        json_t *out = json_pack("{s:s, s:s}", "name", v1, "image", ctr->image);
        json_t *v;

        json_object_set_new(json_object_get(names->original, "containers"), v1, json_string(ctr->name));
        /* v1beta2's command replaced the image's CMD and kept its ENTRYPOINT: that is v1's args. */
        if (ctr->command)
                json_object_set_new(out, "args", strv_to_json(ctr->command));
        if (ctr->working_dir)
                json_object_set_new(out, "workingDir", json_string(ctr->working_dir));
        if (ctr->n_ports > 0)
                json_object_set_new(out, "ports", ports_to_v1(c, ctr, path, v1, names, port_v1));
        if (ctr->n_env > 0) {
                v = json_array();
                for (size_t i = 0; i < ctr->n_env; i++) {
                        if (ctr->env[i].secret_key) {
                                _cleanup_free_ char *epath = xasprintf("%s.env[%zu].valueFrom", path, i);
                                problem(c, epath,
                                        "a static pod cannot refer to a Secret (use the docker backend)");
                        }
                        json_array_append_new(v, json_pack("{s:s, s:s}", "name", ctr->env[i].name, "value",
                                                           ctr->env[i].value ? ctr->env[i].value : ""));
                }
                json_object_set_new(out, "env", v);
        }
        if (ctr->memory > 0 || ctr->cpu > 0) {
                json_t *limits = json_object();
                if (ctr->memory > 0)
                        json_object_set_new(limits, "memory",
                                            string_take(kubelet_quantity_bytes(ctr->memory)));
                if (ctr->cpu > 0)
                        json_object_set_new(limits, "cpu", string_take(kubelet_quantity_milli(ctr->cpu)));
                json_object_set_new(out, "resources", json_pack("{s:o}", "limits", limits));
        }
        if (ctr->n_mounts > 0) {
                v = json_array();
                for (size_t i = 0; i < ctr->n_mounts; i++) {
                        const PhVolumeMount *mnt = &ctr->mounts[i];
                        json_t *vol = json_object_get(names->volume_v1, mnt->name);
                        json_t *m = json_pack("{s:s, s:s}", "name", vol ? json_string_value(vol) : mnt->name,
                                              "mountPath", mnt->mount_path);
                        if (mnt->read_only)
                                json_object_set_new(m, "readOnly", json_true());
                        json_array_append_new(v, m);
                }
                json_object_set_new(out, "volumeMounts", v);
        }
        if (ctr->liveness_probe) {
                _cleanup_free_ char *ppath = xasprintf("%s.livenessProbe", path);
                json_t *probe = probe_to_v1(c, ppath, ctr->liveness_probe, port_v1);
                if (probe)
                        json_object_set_new(out, "livenessProbe", probe);
        }
        if (ctr->post_start || ctr->pre_stop) {
                const PhHandler *hooks[] = {ctr->post_start, ctr->pre_stop};
                static const char *const keys[] = {"postStart", "preStop"};
                json_t *lifecycle = json_object();
                for (size_t i = 0; i < ELEMENTSOF(hooks); i++) {
                        if (!hooks[i])
                                continue;
                        _cleanup_free_ char *hpath = xasprintf("%s.lifecycle.%s", path, keys[i]);
                        json_t *h = handler_to_v1(c, hpath, hooks[i], port_v1, false);
                        if (h)
                                json_object_set_new(lifecycle, keys[i], h);
                }
                json_object_set_new(out, "lifecycle", lifecycle);
        }
        if (ctr->privileged)
                json_object_set_new(out, "securityContext", json_pack("{s:b}", "privileged", 1));
        const char *pull = kubelet_pull_policy(ctr->image_pull_policy);
        if (!pull) {
                _cleanup_free_ char *ppath = xasprintf("%s.imagePullPolicy", path);
                _cleanup_free_ char *q = manifest_quote(ctr->image_pull_policy);
                problem(c, ppath, "%s has no v1 counterpart", q);
        } else
                json_object_set_new(out, "imagePullPolicy", json_string(pull));
        return out;
}

/* --- the Pod ------------------------------------------------------------------------------------- */

static json_t *metadata_of(const char *pod, const char *pod_v1, const PhKubeletMeta *meta, const char *hash,
                           const json_t *original) {
        json_t *labels = json_object(), *annotations = json_object();
        _cleanup_free_ char *names = json_dumps(original, JSON_SORT_KEYS | JSON_COMPACT);

        if (!names)
                abort();
        json_object_set_new(labels, KUBELET_LABEL_MANAGED, json_string("true"));
        json_object_set_new(labels, KUBELET_KEY_POD, string_take(kubelet_label_value(pod)));
        json_object_set_new(annotations, KUBELET_KEY_POD, json_string(pod));
        if (meta && meta->deployment) {
                json_object_set_new(labels, KUBELET_KEY_DEPLOYMENT,
                                    string_take(kubelet_label_value(meta->deployment)));
                json_object_set_new(annotations, KUBELET_KEY_DEPLOYMENT, json_string(meta->deployment));
        }
        if (meta && meta->stack)
                json_object_set_new(annotations, KUBELET_ANNOTATION_STACK, json_string(meta->stack));
        if (meta && meta->resource)
                json_object_set_new(annotations, KUBELET_ANNOTATION_RESOURCE, json_string(meta->resource));
        if (meta && meta->dropin)
                json_object_set_new(annotations, KUBELET_ANNOTATION_DROPIN, json_string(meta->dropin));
        json_object_set_new(labels, KUBELET_KEY_SPEC_HASH, json_string(hash));
        json_object_set_new(annotations, KUBELET_KEY_SPEC_HASH, json_string(hash));
        json_object_set_new(annotations, KUBELET_ANNOTATION_ORIGINAL_NAMES, json_string(names));
        return json_pack("{s:s, s:o, s:o}", "name", pod_v1, "labels", labels, "annotations", annotations);
}

int kubelet_pod_convert(const PhManifest *m, const char *pod, const PhKubeletMeta *meta, const char *source,
                        json_t **ret, PhError **reterr) {
        Conv c = {.source = source ? source : "manifest"};
        Names names = {
                .containers_seen = json_object(),
                .volumes_seen = json_object(),
                .volume_v1 = json_object(),
                .original = json_pack("{s:{}, s:{}, s:{}}", "containers", "volumes", "ports"),
        };
        json_auto_t *containers = json_array(), *volumes = json_array(), *pod_seen = json_object();
        json_auto_t *spec = NULL;
        _cleanup_free_ char *pod_v1 = NULL;

        if (!pod || !*pod)
                problem(&c, "pod name", "is required");
        else
                pod_v1 = map_name(&c, "pod name", pod, NAME_SUBDOMAIN, pod_seen);
        /* Volumes first: the mounts of every container refer to them. */
        for (size_t i = 0; i < m->n_volumes; i++) {
                _cleanup_free_ char *path = xasprintf("volumes[%zu]", i);
                json_array_append_new(volumes, volume_to_v1(&c, &m->volumes[i], path, &names));
        }
        for (size_t i = 0; i < m->n_containers; i++) {
                _cleanup_free_ char *path = xasprintf("containers[%zu]", i);
                json_array_append_new(containers, container_to_v1(&c, &m->containers[i], path, &names));
        }

        int r = 0;
        if (c.n_problems > 0) {
                if (c.n_problems > MAX_PROBLEMS)
                        (void) ph_error_append(&c.err, EINVAL, "%s: ... and %zu more", c.source,
                                               c.n_problems - MAX_PROBLEMS);
                if (reterr) {
                        ph_error_free(*reterr);
                        *reterr = TAKE_PTR(c.err);
                }
                r = -EINVAL;
        } else {
                spec = json_pack("{s:s}", "restartPolicy", kubelet_restart_policy(m->restart_policy));
                /* The Docker backend names the pod's host after the pod; a kubelet would use "<pod>-<node>".
                 */
                if (kubelet_is_dns_label(pod_v1))
                        json_object_set_new(spec, "hostname", json_string(pod_v1));
                json_object_set(spec, "containers", containers);
                if (m->n_volumes > 0)
                        json_object_set(spec, "volumes", volumes);
                _cleanup_free_ char *hash = kubelet_spec_hash(spec);
                *ret = json_pack("{s:s, s:s, s:o, s:O}", "apiVersion", "v1", "kind", "Pod", "metadata",
                                 metadata_of(pod, pod_v1, meta, hash, names.original), "spec", spec);
        }
        ph_error_free(c.err);
        json_decref(names.containers_seen);
        json_decref(names.volumes_seen);
        json_decref(names.volume_v1);
        json_decref(names.original);
        return r;
}

/* --- the PodList --------------------------------------------------------------------------------- */

static int by_name(const void *a, const void *b) {
        const char *x =
                json_string_value(json_object_get(json_object_get(*(json_t *const *) a, "metadata"), "name"));
        const char *y =
                json_string_value(json_object_get(json_object_get(*(json_t *const *) b, "metadata"), "name"));
        return strcmp(x ? x : "", y ? y : "");
}

json_t *kubelet_pod_list(const json_t *pods) {
        size_t n = json_array_size(pods);
        _cleanup_free_ json_t **sorted = xcalloc(n ? n : 1, sizeof(json_t *));
        json_t *items = json_array();

        for (size_t i = 0; i < n; i++)
                sorted[i] = json_array_get(pods, i);
        /* One order whatever the caller's: a kubelet reading the list twice sees the same text. */
        qsort(sorted, n, sizeof(json_t *), by_name);
        for (size_t i = 0; i < n; i++)
                json_array_append_new(items, json_deep_copy(sorted[i]));
        return json_pack("{s:s, s:s, s:{}, s:o}", "apiVersion", "v1", "kind", "PodList", "metadata", "items",
                         items);
}
