/* Every rule of a v1beta2 manifest, checked in one pass that collects all problems (sorted by line) and,
 * when there are none, the typed PhManifest. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "manifest/manifest-internal.h"

#define MIN(a, b)    ((a) < (b) ? (a) : (b))
#define NAME_MAX_LEN 63
#define ID_MAX_LEN   128
/* Docker refuses a memory limit below 6 MiB (daemon linuxMinMemory); better said here than half-way. */
#define DOCKER_MIN_MEMORY 6291456
/* milli-CPU giving Docker's largest CPU shares (262144, at 1024 shares a CPU): also keeps the conversion to
 * shares from overflowing. */
#define MAX_MILLI_CPU 256000

typedef struct Problem {
        int line;
        size_t seq; /* keeps the order of problems on one line */
        char *text;
} Problem;

typedef struct ProblemList {
        Problem *items;
        size_t n, cap;
} ProblemList;

/* A port in use somewhere in the pod; the pod's containers share one network namespace. */
typedef struct PortUse {
        int port;
        const char *protocol; /* "tcp" or "udp" */
        bool wildcard;        /* no hostIP, 0.0.0.0 or :: */
        int family;
        unsigned char addr[16];
        char *where; /* "containers[0].ports[1]" */
} PortUse;

typedef struct PortTable {
        PortUse *items;
        size_t n, cap;
        json_t *index; /* "80/tcp" -> list of indexes into items: a lookup is not a scan of the pod */
} PortTable;

typedef struct Checker {
        const PhManifestDoc *doc;
        char *state_dir; /* cleaned; NULL when the node is not known */
        ProblemList errors, warnings;
        size_t seq;
        json_t *volume_names;      /* declared volume name -> path of its first declaration */
        char *const *secret_names; /* PhManifestHost's; NULL: not known, not checked */
        char *const *config_keys;
        PortTable host_ports, container_ports;
} Checker;

static void problem_list_done(ProblemList *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].text);
        free(l->items);
}

static void port_table_done(PortTable *t) {
        for (size_t i = 0; i < t->n; i++)
                free(t->items[i].where);
        free(t->items);
        json_decref(t->index);
}

static void checker_done(Checker *c) {
        free(c->state_dir);
        problem_list_done(&c->errors);
        problem_list_done(&c->warnings);
        json_decref(c->volume_names);
        port_table_done(&c->host_ports);
        port_table_done(&c->container_ports);
}

static void vreport(Checker *c, ProblemList *l, const char *path, const char *fmt, va_list ap) {
        _cleanup_free_ char *msg = NULL;
        int line = manifest_doc_line(c->doc, path);

        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        l->items = manifest_grow(l->items, &l->cap, l->n, sizeof(Problem));
        l->items[l->n++] = (Problem){
                .line = line,
                .seq = c->seq++,
                .text = line > 0 ? xasprintf("%s:%d: %s: %s", c->doc->source, line, path, msg)
                                 : xasprintf("%s: %s: %s", c->doc->source, path, msg),
        };
}

static void error_at(Checker *c, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void error_at(Checker *c, const char *path, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vreport(c, &c->errors, path, fmt, ap);
        va_end(ap);
}

static void warn_at(Checker *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn_at(Checker *c, const char *path, const char *fmt, ...) {
        va_list ap;
        va_start(ap, fmt);
        vreport(c, &c->warnings, path, fmt, ap);
        va_end(ap);
}

static int problem_cmp(const void *a, const void *b) {
        const Problem *x = a, *y = b;
        if (x->line != y->line)
                return x->line < y->line ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void problem_list_sort(ProblemList *l) {
        if (l->n > 1)
                qsort(l->items, l->n, sizeof(Problem), problem_cmp);
}

static char *child_path(const char *parent, const char *key) {
        return manifest_path_join(parent, key);
}

/* ---- typed field access: each reports its own problem and returns false on one ---- */

/* The value of key in obj, NULL when absent or null (the same for every optional field). */
static json_t *field(const json_t *obj, const char *key) {
        json_t *v = json_object_get(obj, key);
        return json_is_null(v) ? NULL : v;
}

static void check_known(Checker *c, const json_t *obj, const char *path, const char *const *known) {
        const char *k;
        json_t *v;

        json_object_foreach((json_t *) obj, k, v) {
                bool found = false;
                for (const char *const *n = known; *n && !found; n++)
                        found = strcmp(*n, k) == 0;
                if (!found) {
                        _cleanup_free_ char *p = child_path(path, k);
                        warn_at(c, p, "unknown field");
                }
        }
}

static bool check_string_value(Checker *c, const json_t *v, const char *path) {
        if (!json_is_string(v)) {
                if (json_is_number(v) || json_is_boolean(v))
                        error_at(c, path, "must be a string, not %s (put it in quotes)", manifest_kind_of(v));
                else
                        error_at(c, path, "must be a string, not %s", manifest_kind_of(v));
                return false;
        }
        if (strlen(json_string_value(v)) != json_string_length(v)) {
                error_at(c, path, "must not contain a NUL character");
                return false;
        }
        return true;
}

/* Finds key in obj: 1 when present (not null), 0 when absent and optional, -1 when a required field is
 * missing (reported). *ret_path is the field's path in every case. */
static int lookup(Checker *c, const json_t *obj, const char *opath, const char *key, bool required,
                  json_t **ret, char **ret_path) {
        *ret_path = child_path(opath, key);
        *ret = field(obj, key);
        if (*ret)
                return 1;
        if (!required)
                return 0;
        error_at(c, *ret_path, "is required");
        return -1;
}

/* *ret is borrowed from the tree; NULL when absent, null or (unless required) empty. */
static bool get_string(Checker *c, const json_t *obj, const char *opath, const char *key, bool required,
                       const char **ret) {
        _cleanup_free_ char *path = NULL;
        json_t *v;

        *ret = NULL;
        int r = lookup(c, obj, opath, key, required, &v, &path);
        if (r <= 0)
                return r == 0;
        if (!check_string_value(c, v, path))
                return false;
        if (json_string_length(v) == 0) {
                if (required)
                        error_at(c, path, "must not be empty");
                return !required;
        }
        *ret = json_string_value(v);
        return true;
}

static bool get_int(Checker *c, const json_t *obj, const char *opath, const char *key, bool required,
                    json_int_t *ret, bool *ret_present) {
        _cleanup_free_ char *path = NULL;
        json_t *v;

        *ret = 0;
        *ret_present = false;
        int r = lookup(c, obj, opath, key, required, &v, &path);
        if (r <= 0)
                return r == 0;
        if (!json_is_integer(v)) {
                if (json_is_string(v)) {
                        _cleanup_free_ char *q = manifest_quote(json_string_value(v));
                        error_at(c, path, "must be an integer, not the string %s", q);
                } else
                        error_at(c, path, "must be an integer, not %s", manifest_kind_of(v));
                return false;
        }
        *ret = json_integer_value(v);
        *ret_present = true;
        return true;
}

static bool get_bool(Checker *c, const json_t *obj, const char *opath, const char *key, bool *ret) {
        _cleanup_free_ char *path = NULL;
        json_t *v;

        *ret = false;
        if (lookup(c, obj, opath, key, false, &v, &path) == 0)
                return true;
        if (!json_is_boolean(v)) {
                error_at(c, path, "must be true or false, not %s", manifest_kind_of(v));
                return false;
        }
        *ret = json_is_true(v);
        return true;
}

/* *ret borrowed; NULL when absent or null. */
static bool get_typed(Checker *c, const json_t *obj, const char *opath, const char *key, bool required,
                      json_type type, json_t **ret) {
        _cleanup_free_ char *path = NULL;
        json_t *v;

        *ret = NULL;
        int r = lookup(c, obj, opath, key, required, &v, &path);
        if (r <= 0)
                return r == 0;
        if (json_typeof(v) != type) {
                error_at(c, path, "must be %s, not %s", type == JSON_ARRAY ? "a list" : "a map",
                         manifest_kind_of(v));
                return false;
        }
        *ret = v;
        return true;
}

/* A list of strings as a NULL-terminated copy (NULL for an empty list). */
static bool get_strv(Checker *c, const json_t *obj, const char *opath, const char *key, char ***ret) {
        _cleanup_free_ char *path = child_path(opath, key);
        _cleanup_strv_free_ char **v = NULL;
        json_t *list, *item;
        size_t i;
        bool ok = true;

        *ret = NULL;
        if (!get_typed(c, obj, opath, key, false, JSON_ARRAY, &list))
                return false;
        if (!list || json_array_size(list) == 0)
                return true;
        v = xcalloc(json_array_size(list) + 1, sizeof(char *));
        json_array_foreach(list, i, item) {
                _cleanup_free_ char *ipath = xasprintf("%s[%zu]", path, i);
                /* Keeps checking the others, but stops filling: v must stay NULL-terminated for strv_free. */
                if (!check_string_value(c, item, ipath))
                        ok = false;
                else if (ok)
                        v[i] = xstrdup(json_string_value(item));
        }
        if (ok)
                *ret = TAKE_PTR(v);
        return ok;
}

/* ---- value rules ---- */

/* Container, volume and port names: safe as the part after "<pod>." in a Docker name. */
static bool check_name(Checker *c, const char *path, const char *name, const char *what) {
        _cleanup_free_ char *q = manifest_quote(name);
        size_t n = strlen(name);
        bool ok = isalnum((unsigned char) name[0]);

        for (size_t i = 1; i < n && ok; i++)
                ok = isalnum((unsigned char) name[i]) || name[i] == '_' || name[i] == '-' || name[i] == '.';
        if (!ok) {
                error_at(c, path,
                         "%s is not a valid %s name: use letters, digits, '_' and '-', starting with a "
                         "letter or digit",
                         q, what);
                return false;
        }
        if (strchr(name, '.')) {
                if (strcmp(what, "port") == 0)
                        error_at(c, path, "%s must not contain a dot", q);
                else
                        error_at(c, path, "%s must not contain a dot: the pod's %ss are named <pod>.<%s>", q,
                                 what, what);
                return false;
        }
        if (n > NAME_MAX_LEN) {
                error_at(c, path, "%s is longer than %d characters", q, NAME_MAX_LEN);
                return false;
        }
        return true;
}

/* The "name" field of a map of a list: valid, and unique among names (name -> path of its first user). */
static void check_unique_name(Checker *c, const json_t *obj, const char *path, bool required, json_t *names,
                              const char *what, char **ret) {
        const char *name;

        if (!get_string(c, obj, path, "name", required, &name) || !name)
                return;
        _cleanup_free_ char *npath = child_path(path, "name");
        json_t *seen = json_object_get(names, name);
        if (check_name(c, npath, name, what) && seen) {
                _cleanup_free_ char *q = manifest_quote(name);
                error_at(c, npath, "%s is already used by %s", q, json_string_value(seen));
        } else if (!seen)
                json_object_set_new(names, name, json_string(path));
        *ret = xstrdup(name);
}

static bool is_c_identifier(const char *s) {
        if (!(isalpha((unsigned char) s[0]) || s[0] == '_'))
                return false;
        for (s++; *s; s++)
                if (!(isalnum((unsigned char) *s) || *s == '_'))
                        return false;
        return true;
}

static bool check_absolute(Checker *c, const char *path, const char *value) {
        if (value[0] != '/') {
                _cleanup_free_ char *q = manifest_quote(value);
                error_at(c, path, "%s must be an absolute path", q);
                return false;
        }
        return true;
}

/* Lexical clean-up of an absolute path ("/a//b/./c/../" -> "/a/b"), so that equal mount points compare equal.
 */
static char *path_clean(const char *p) {
        char *out = xmalloc(strlen(p) + 2);
        size_t n = 0;

        while (*p) {
                while (*p == '/')
                        p++;
                const char *end = strchrnul(p, '/');
                size_t len = (size_t) (end - p);
                if (len == 0 || (len == 1 && p[0] == '.'))
                        ;
                else if (len == 2 && p[0] == '.' && p[1] == '.') {
                        while (n > 0 && out[n - 1] != '/')
                                n--;
                        if (n > 0)
                                n--;
                } else {
                        out[n++] = '/';
                        memcpy(out + n, p, len);
                        n += len;
                }
                p = end;
        }
        if (n == 0)
                out[n++] = '/';
        out[n] = 0;
        return out;
}

/* ---- volumes ---- */

/* True when path (clean) is dir (clean) or below it. */
static bool path_within(const char *path, const char *dir) {
        size_t n = strlen(dir);

        if (strcmp(dir, "/") == 0)
                return true;
        return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* A host directory the pod gets: the agent's own state is refused (a pod could have deployments run and
 * signalled again, or read their passwords); what hands the pod the host gets a warning. */
static void check_host_dir(Checker *c, const char *ppath, const char *host_path) {
        static const char *const sockets[] = {"/var/run/docker.sock", "/run/docker.sock", NULL};
        _cleanup_free_ char *clean = path_clean(host_path);
        _cleanup_free_ char *q = manifest_quote(host_path);

        if (c->state_dir && strcmp(clean, c->state_dir) == 0) {
                error_at(c, ppath, "%s is podhook's state directory: a pod must not reach it", q);
                return;
        }
        if (c->state_dir && path_within(clean, c->state_dir)) {
                error_at(c, ppath, "%s is inside podhook's state directory %s: a pod must not reach it", q,
                         c->state_dir);
                return;
        }
        if (c->state_dir && path_within(c->state_dir, clean)) {
                error_at(c, ppath, "%s holds podhook's state directory %s: a pod must not reach it", q,
                         c->state_dir);
                return;
        }
        if (strcmp(clean, "/") == 0)
                warn_at(c, ppath, "%s gives the pod the host's whole file system", q);
        else if (strcmp(clean, "/etc") == 0)
                warn_at(c, ppath, "%s gives the pod the host's configuration, passwords included", q);
        for (const char *const *s = sockets; *s; s++) {
                _cleanup_free_ char *dir = xstrndup(*s, (size_t) (strrchr(*s, '/') - *s));
                if (strcmp(clean, *s) == 0)
                        warn_at(c, ppath,
                                "%s is the Docker Engine's socket: the pod gets control of the engine, and "
                                "so of the host",
                                q);
                else if (strcmp(clean, dir) == 0)
                        warn_at(c, ppath,
                                "%s holds the Docker Engine's socket: the pod gets control of the engine, "
                                "and so of the host",
                                q);
        }
}

static bool strv_has(char *const *v, const char *s) {
        for (; v && *v; v++)
                if (strcmp(*v, s) == 0)
                        return true;
        return false;
}

/* A relative file path inside a volume: no leading '/', no empty, "." or ".." component. */
static bool item_path_ok(const char *p) {
        if (!*p || *p == '/' || strlen(p) > 255)
                return false;
        for (const char *s = p; *s;) {
                size_t n = strcspn(s, "/");
                if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
                        return false;
                s += n;
                if (*s == '/')
                        s++;
                if (!*s && s[-1] == '/')
                        return false;
        }
        return true;
}

/* source.secret / source.configMap: {items: [{key, path, mode}]}. */
static void check_items(Checker *c, const json_t *src, const char *spath, const char *kind, PhVolume *out) {
        static const char *const known[] = {"items", NULL};
        static const char *const item_known[] = {"key", "path", "mode", NULL};
        _cleanup_free_ char *kpath = child_path(spath, kind);
        _cleanup_free_ char *ipath = child_path(kpath, "items");
        json_auto_t *paths = json_object();
        json_t *obj, *list, *item;
        size_t i;

        if (!get_typed(c, src, spath, kind, true, JSON_OBJECT, &obj) || !obj)
                return;
        check_known(c, obj, kpath, known);
        if (!get_typed(c, obj, kpath, "items", true, JSON_ARRAY, &list) || !list)
                return;
        if (json_array_size(list) == 0)
                error_at(c, ipath, "must list at least one item");
        out->items = xcalloc(json_array_size(list) + 1, sizeof(PhVolumeItem));
        json_array_foreach(list, i, item) {
                _cleanup_free_ char *path = xasprintf("%s[%zu]", ipath, i);
                PhVolumeItem *it = &out->items[out->n_items++];
                const char *key, *p;
                json_int_t mode;
                bool has_mode;

                it->mode = -1;
                if (!json_is_object(item)) {
                        error_at(c, path, "must be a map, not %s", manifest_kind_of(item));
                        continue;
                }
                check_known(c, item, path, item_known);
                if (get_string(c, item, path, "key", true, &key) && key) {
                        it->key = xstrdup(key);
                        if (c->config_keys && !strv_has(c->config_keys, key)) {
                                _cleanup_free_ char *q = manifest_quote(key);
                                _cleanup_free_ char *kp = child_path(path, "key");
                                error_at(c, kp,
                                         "%s is in none of the options' config_files, the deployment's "
                                         "inputs and the secrets",
                                         q);
                        }
                }
                if (get_string(c, item, path, "path", true, &p) && p) {
                        _cleanup_free_ char *pp = child_path(path, "path");
                        _cleanup_free_ char *q = manifest_quote(p);
                        if (!item_path_ok(p))
                                error_at(c, pp, "%s must be a relative path without '.' or '..' components",
                                         q);
                        else if (json_object_get(paths, p))
                                error_at(c, pp, "%s is already used by %s", q,
                                         json_string_value(json_object_get(paths, p)));
                        else
                                json_object_set_new(paths, p, json_string(path));
                        it->path = xstrdup(p);
                }
                if (get_int(c, item, path, "mode", false, &mode, &has_mode) && has_mode) {
                        _cleanup_free_ char *mp = child_path(path, "mode");
                        if (mode < 0 || mode > 0777)
                                error_at(c, mp, "must be permission bits from 0 to 0777 (511)");
                        else
                                it->mode = (int) mode;
                }
        }
}

static void check_volume(Checker *c, const json_t *vol, const char *path, PhVolume *out) {
        static const char *const known[] = {"name", "source", NULL};
        static const char *const source_known[] = {"hostDir", "emptyDir",  "persistentDisk",
                                                   "secret",  "configMap", NULL};
        json_t *source = NULL, *host_dir = NULL;
        const char *host_path = NULL;

        if (!json_is_object(vol)) {
                error_at(c, path, "must be a map, not %s", manifest_kind_of(vol));
                return;
        }
        check_known(c, vol, path, known);
        check_unique_name(c, vol, path, true, c->volume_names, "volume", &out->name);

        _cleanup_free_ char *spath = child_path(path, "source");
        out->kind = PH_VOLUME_EMPTY_DIR; /* no source: emptyDir, as v1beta2 did */
        if (!get_typed(c, vol, path, "source", false, JSON_OBJECT, &source) || !source)
                return;
        check_known(c, source, spath, source_known);
        unsigned kinds = 0;
        /* A key that is present counts, even when null: "emptyDir:" alone means an emptyDir. */
        if (json_object_get(source, "hostDir"))
                kinds++;
        if (json_object_get(source, "emptyDir"))
                kinds++;
        if (json_object_get(source, "secret"))
                kinds++;
        if (json_object_get(source, "configMap"))
                kinds++;
        if (json_object_get(source, "persistentDisk")) {
                _cleanup_free_ char *ppath = child_path(spath, "persistentDisk");
                error_at(c, ppath, "is not supported on this node (use hostDir or emptyDir)");
                kinds++;
        }
        if (kinds == 0) {
                error_at(c, spath, "must have one of hostDir, emptyDir, secret or configMap");
                return;
        }
        if (kinds > 1) {
                error_at(c, spath,
                         "has more than one of hostDir, emptyDir, secret, configMap and persistentDisk: a "
                         "volume has exactly one source");
                return;
        }
        if (json_object_get(source, "secret") || json_object_get(source, "configMap")) {
                bool secret = json_object_get(source, "secret") != NULL;
                out->kind = secret ? PH_VOLUME_SECRET : PH_VOLUME_CONFIG_MAP;
                check_items(c, source, spath, secret ? "secret" : "configMap", out);
                return;
        }
        if (json_object_get(source, "emptyDir")) {
                _cleanup_free_ char *epath = child_path(spath, "emptyDir");
                json_t *e = json_object_get(source, "emptyDir");
                if (!json_is_null(e) && !json_is_object(e))
                        error_at(c, epath, "must be a map, not %s", manifest_kind_of(e));
                else if (json_is_object(e)) {
                        static const char *const none[] = {NULL};
                        check_known(c, e, epath, none);
                }
                return;
        }
        if (json_object_get(source, "hostDir")) {
                static const char *const hd_known[] = {"path", NULL};
                _cleanup_free_ char *hpath = child_path(spath, "hostDir");
                if (json_is_null(json_object_get(source, "hostDir"))) {
                        _cleanup_free_ char *ppath = child_path(hpath, "path");
                        error_at(c, ppath, "is required");
                        return;
                }
                if (!get_typed(c, source, spath, "hostDir", true, JSON_OBJECT, &host_dir))
                        return;
                check_known(c, host_dir, hpath, hd_known);
                if (!get_string(c, host_dir, hpath, "path", true, &host_path) || !host_path)
                        return;
                _cleanup_free_ char *ppath = child_path(hpath, "path");
                if (!check_absolute(c, ppath, host_path))
                        return;
                check_host_dir(c, ppath, host_path);
                out->kind = PH_VOLUME_HOST_DIR;
                out->host_path = xstrdup(host_path);
        }
}

/* ---- containers ---- */

static bool ip_parse(const char *s, int *family, unsigned char addr[16]) {
        memset(addr, 0, 16);
        if (inet_pton(AF_INET, s, addr) == 1) {
                *family = AF_INET;
                return true;
        }
        if (inet_pton(AF_INET6, s, addr) == 1) {
                static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
                *family = AF_INET6;
                /* ::ffff:a.b.c.d is a.b.c.d: the same socket, so the same port. */
                if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
                        memmove(addr, addr + 12, 4);
                        memset(addr + 4, 0, 12);
                        *family = AF_INET;
                }
                return true;
        }
        return false;
}

static bool ip_is_wildcard(const unsigned char addr[16]) {
        for (size_t i = 0; i < 16; i++)
                if (addr[i])
                        return false;
        return true;
}

static char *port_key(const PortUse *u) {
        return xasprintf("%d/%s", u->port, u->protocol);
}

static const PortUse *port_find(const PortTable *t, const PortUse *u, bool by_address) {
        _cleanup_free_ char *key = port_key(u);
        json_t *list = t->index ? json_object_get(t->index, key) : NULL, *idx;
        size_t i;

        json_array_foreach(list, i, idx) {
                const PortUse *o = &t->items[json_integer_value(idx)];
                if (!by_address || o->wildcard || u->wildcard)
                        return o;
                if (o->family == u->family && memcmp(o->addr, u->addr, 16) == 0)
                        return o;
        }
        return NULL;
}

static void port_add(PortTable *t, const PortUse *u) {
        _cleanup_free_ char *key = port_key(u);
        json_t *list;

        if (!t->index)
                t->index = json_object();
        list = json_object_get(t->index, key);
        if (!list) {
                list = json_array();
                json_object_set_new(t->index, key, list);
        }
        json_array_append_new(list, json_integer((json_int_t) t->n));
        t->items = manifest_grow(t->items, &t->cap, t->n, sizeof(PortUse));
        t->items[t->n] = *u;
        t->items[t->n].where = xstrdup(u->where);
        t->n++;
}

static bool check_port_range(Checker *c, const char *path, json_int_t v, bool zero_ok) {
        if ((v == 0 && zero_ok) || (v >= 1 && v <= 65535))
                return true;
        error_at(c, path, "%lld is out of range 1-65535", (long long) v);
        return false;
}

static void check_port(Checker *c, const json_t *port, const char *path, json_t *names, PhPort *out) {
        static const char *const known[] = {"name", "hostPort", "containerPort", "protocol", "hostIP", NULL};
        const char *protocol, *host_ip;
        json_int_t container_port, host_port;
        bool present;

        if (!json_is_object(port)) {
                error_at(c, path, "must be a map, not %s", manifest_kind_of(port));
                return;
        }
        check_known(c, port, path, known);
        check_unique_name(c, port, path, false, names, "port", &out->name);

        _cleanup_free_ char *cpath = child_path(path, "containerPort");
        _cleanup_free_ char *hpath = child_path(path, "hostPort");
        _cleanup_free_ char *ppath = child_path(path, "protocol");
        _cleanup_free_ char *ipath = child_path(path, "hostIP");
        /* Each conflict is checked as soon as the values it needs are valid, whatever else is wrong. */
        bool cport_ok = get_int(c, port, path, "containerPort", true, &container_port, &present) &&
                        check_port_range(c, cpath, container_port, false);
        bool hport_ok = get_int(c, port, path, "hostPort", false, &host_port, &present) &&
                        check_port_range(c, hpath, host_port, true);

        out->protocol = xstrdup("tcp");
        bool proto_ok = get_string(c, port, path, "protocol", false, &protocol);
        if (proto_ok && protocol) {
                if (strcasecmp(protocol, "tcp") == 0 || strcasecmp(protocol, "udp") == 0) {
                        for (char *p = out->protocol; *p; p++)
                                *p = (char) tolower((unsigned char) protocol[p - out->protocol]);
                } else {
                        _cleanup_free_ char *q = manifest_quote(protocol);
                        error_at(c, ppath, "%s is not supported (use TCP or UDP)", q);
                        proto_ok = false;
                }
        }

        PortUse use = {.protocol = out->protocol, .wildcard = true, .where = (char *) path};
        bool ip_ok = get_string(c, port, path, "hostIP", false, &host_ip);
        if (ip_ok && host_ip) {
                if (!ip_parse(host_ip, &use.family, use.addr)) {
                        _cleanup_free_ char *q = manifest_quote(host_ip);
                        error_at(c, ipath, "%s is not a valid IP address", q);
                        ip_ok = false;
                } else
                        use.wildcard = ip_is_wildcard(use.addr);
                out->host_ip = xstrdup(host_ip);
        }
        if (!proto_ok)
                return;

        if (cport_ok) {
                out->container_port = (int) container_port;
                use.port = out->container_port;
                const PortUse *other = port_find(&c->container_ports, &use, false);
                if (other)
                        error_at(c, cpath,
                                 "%d/%s is already used by %s (the containers of a pod share one network)",
                                 use.port, use.protocol, other->where);
                else
                        port_add(&c->container_ports, &use);
        }
        if (hport_ok && ip_ok && host_port != 0) {
                out->host_port = (int) host_port;
                use.port = out->host_port;
                const PortUse *other = port_find(&c->host_ports, &use, true);
                if (other)
                        error_at(c, hpath, "%d/%s is already published by %s", use.port, use.protocol,
                                 other->where);
                else
                        port_add(&c->host_ports, &use);
        }
}

/* valueFrom: {secretKeyRef: {key: NAME}}, the later Kubernetes shape (an extension of v1beta2). */
static void check_value_from(Checker *c, const json_t *env, const char *path, PhEnvVar *out) {
        static const char *const known[] = {"secretKeyRef", NULL};
        static const char *const ref_known[] = {"key", NULL};
        _cleanup_free_ char *vpath = child_path(path, "valueFrom");
        _cleanup_free_ char *rpath = child_path(vpath, "secretKeyRef");
        json_t *vf, *ref;
        const char *key;

        if (!get_typed(c, env, path, "valueFrom", false, JSON_OBJECT, &vf) || !vf)
                return;
        check_known(c, vf, vpath, known);
        if (!get_typed(c, vf, vpath, "secretKeyRef", true, JSON_OBJECT, &ref) || !ref)
                return;
        check_known(c, ref, rpath, ref_known);
        if (!get_string(c, ref, rpath, "key", true, &key) || !key)
                return;
        if (json_object_get(env, "value") && !json_is_null(json_object_get(env, "value")))
                error_at(c, vpath, "must not be given together with value");
        if (c->secret_names && !strv_has(c->secret_names, key)) {
                _cleanup_free_ char *kpath = child_path(rpath, "key");
                _cleanup_free_ char *q = manifest_quote(key);
                _cleanup_free_ char *n = manifest_quote(out->name ? out->name : "");
                error_at(c, kpath,
                         "env %s: %s is no secret this node was given (the secrets file or the "
                         "deployment's inputs)",
                         n, q);
        }
        out->secret_key = xstrdup(key);
}

static void check_env(Checker *c, const json_t *env, const char *path, PhEnvVar *out) {
        static const char *const known[] = {"name", "value", "valueFrom", NULL};
        const char *name, *value;

        if (!json_is_object(env)) {
                error_at(c, path, "must be a map, not %s", manifest_kind_of(env));
                return;
        }
        check_known(c, env, path, known);
        if (get_string(c, env, path, "name", true, &name) && name) {
                if (!is_c_identifier(name)) {
                        _cleanup_free_ char *npath = child_path(path, "name");
                        _cleanup_free_ char *q = manifest_quote(name);
                        error_at(c, npath,
                                 "%s is not a valid variable name: use letters, digits and '_', not starting "
                                 "with a digit",
                                 q);
                }
                out->name = xstrdup(name);
        }
        if (get_string(c, env, path, "value", false, &value))
                out->value = xstrdup(value ?: "");
        check_value_from(c, env, path, out);
}

static void check_mount(Checker *c, const json_t *mount, const char *path, json_t *mount_paths,
                        PhVolumeMount *out) {
        static const char *const known[] = {"name", "readOnly", "mountPath", NULL};
        const char *name, *mount_path;

        if (!json_is_object(mount)) {
                error_at(c, path, "must be a map, not %s", manifest_kind_of(mount));
                return;
        }
        check_known(c, mount, path, known);
        if (get_string(c, mount, path, "name", true, &name) && name) {
                if (!json_object_get(c->volume_names, name)) {
                        _cleanup_free_ char *npath = child_path(path, "name");
                        _cleanup_free_ char *q = manifest_quote(name);
                        error_at(c, npath, "%s is not a volume declared in volumes", q);
                }
                out->name = xstrdup(name);
        }
        if (get_string(c, mount, path, "mountPath", true, &mount_path) && mount_path) {
                _cleanup_free_ char *mpath = child_path(path, "mountPath");
                if (check_absolute(c, mpath, mount_path)) {
                        _cleanup_free_ char *clean = path_clean(mount_path);
                        _cleanup_free_ char *q = manifest_quote(mount_path);
                        json_t *seen = json_object_get(mount_paths, clean);
                        if (strcmp(clean, "/") == 0)
                                error_at(c, mpath, "%s cannot be a mount point", q);
                        /* Docker refuses these at start, or (/sys) puts the volume over the container's
                         * sysfs. Below /dev is fine: Docker gives way to a volume at /dev/shm (memory shared
                         * by the pod's containers), and /dev/log is how a syslog socket is handed in. */
                        else if (path_within(clean, "/proc") || path_within(clean, "/sys"))
                                error_at(c, mpath,
                                         "%s cannot be a mount point: the container runtime sets up %s", q,
                                         path_within(clean, "/proc") ? "/proc" : "/sys");
                        else if (strcmp(clean, "/dev") == 0)
                                error_at(c, mpath,
                                         "%s cannot be a mount point: the container runtime sets up /dev (a "
                                         "path below it, such as /dev/shm, can be)",
                                         q);
                        else if (seen)
                                error_at(c, mpath, "%s is already a mount point of %s", q,
                                         json_string_value(seen));
                        else
                                json_object_set_new(mount_paths, clean, json_string(path));
                }
                out->mount_path = xstrdup(mount_path);
        }
        (void) get_bool(c, mount, path, "readOnly", &out->read_only);
}

/* A handler's port as written. */
static void port_ref_of(const json_t *v, PhPortRef *out) {
        if (!v || json_is_null(v))
                out->kind = PH_PORT_REF_NONE;
        else if (json_is_integer(v)) {
                out->kind = PH_PORT_REF_NUMBER;
                out->number = json_integer_value(v);
        } else if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)) {
                out->kind = PH_PORT_REF_NAME;
                out->name = xstrdup(json_string_value(v));
        } else
                out->kind = PH_PORT_REF_OTHER;
}

/* A probe's or handler's port must name one: podhook connects to it. */
static void check_port_ref(Checker *c, const char *path, const PhPortRef *ref, const PhContainer *ctr) {
        switch (ref->kind) {
        case PH_PORT_REF_NONE:
                error_at(c, path, "is required");
                return;
        case PH_PORT_REF_OTHER:
                error_at(c, path, "must be a port number or the name of a port of this container");
                return;
        case PH_PORT_REF_NUMBER:
                if (ref->number < 1 || ref->number > 65535)
                        error_at(c, path, "%lld is out of range 1-65535", (long long) ref->number);
                return;
        case PH_PORT_REF_NAME:
        default:
                if (manifest_handler_port(ctr, ref) == 0) {
                        _cleanup_free_ char *q = manifest_quote(ref->name);
                        error_at(c, path, "%s is not the name of a port of this container", q);
                }
                return;
        }
}

static void check_seconds(Checker *c, const char *path, bool present, int64_t v) {
        if (!present)
                return;
        if (v < 0)
                error_at(c, path, "%lld must not be negative", (long long) v);
        else if (v > INT32_MAX)
                error_at(c, path, "%lld is more than %d", (long long) v, INT32_MAX);
}

/* A probe or lifecycle handler: what podhook runs (exactly one action, a port it can connect to, a
 * command), kept in *out (and the probe's timings in *probe_out). */
static void check_handler(Checker *c, const json_t *h, const char *path, const PhContainer *ctr,
                          PhHandler *out, PhProbe *probe_out) {
        static const char *const probe_known[] = {
                "type", "httpGet", "tcpSocket", "exec", "initialDelaySeconds", "timeoutSeconds", NULL};
        static const char *const handler_known[] = {"exec", "httpGet", NULL};
        static const char *const http_known[] = {"path", "port", "host", NULL};
        static const char *const tcp_known[] = {"port", NULL};
        static const char *const exec_known[] = {"command", NULL};
        bool probe = probe_out != NULL;
        json_t *v;
        const char *s;
        bool well_formed = true;

        check_known(c, h, path, probe ? probe_known : handler_known);
        if (get_typed(c, h, path, "httpGet", false, JSON_OBJECT, &v) && v) {
                _cleanup_free_ char *p = child_path(path, "httpGet");
                _cleanup_free_ char *pp = child_path(p, "port");
                out->actions |= PH_HANDLER_HTTP_GET;
                check_known(c, v, p, http_known);
                if (get_string(c, v, p, "path", false, &s) && s)
                        out->http_path = xstrdup(s);
                if (get_string(c, v, p, "host", false, &s) && s)
                        out->http_host = xstrdup(s);
                port_ref_of(json_object_get(v, "port"), &out->http_port);
                check_port_ref(c, pp, &out->http_port, ctr);
        } else if (json_object_get(h, "httpGet") && !json_is_null(json_object_get(h, "httpGet")))
                well_formed = false;
        if (probe && get_typed(c, h, path, "tcpSocket", false, JSON_OBJECT, &v) && v) {
                _cleanup_free_ char *p = child_path(path, "tcpSocket");
                _cleanup_free_ char *pp = child_path(p, "port");
                out->actions |= PH_HANDLER_TCP_SOCKET;
                check_known(c, v, p, tcp_known);
                port_ref_of(json_object_get(v, "port"), &out->tcp_port);
                check_port_ref(c, pp, &out->tcp_port, ctr);
        } else if (probe && json_object_get(h, "tcpSocket") && !json_is_null(json_object_get(h, "tcpSocket")))
                well_formed = false;
        if (get_typed(c, h, path, "exec", false, JSON_OBJECT, &v) && v) {
                _cleanup_free_ char *p = child_path(path, "exec");
                _cleanup_free_ char *cp = child_path(p, "command");
                out->actions |= PH_HANDLER_EXEC;
                check_known(c, v, p, exec_known);
                if (get_strv(c, v, p, "command", &out->exec_command) && !out->exec_command)
                        error_at(c, cp, "is required (a list of at least one argument)");
        } else if (json_object_get(h, "exec") && !json_is_null(json_object_get(h, "exec")))
                well_formed = false;
        /* An action of the wrong type has been reported already. */
        if (well_formed && __builtin_popcount(out->actions) != 1)
                error_at(c, path, "%s: needs exactly one of %s",
                         out->actions ? "has more than one action" : "has no action",
                         probe ? "httpGet, tcpSocket and exec" : "httpGet and exec");
        if (probe) {
                json_int_t i;
                _cleanup_free_ char *dp = child_path(path, "initialDelaySeconds");
                _cleanup_free_ char *tp = child_path(path, "timeoutSeconds");
                (void) get_int(c, h, path, "initialDelaySeconds", false, &i, &probe_out->has_initial_delay);
                probe_out->initial_delay_seconds = i;
                check_seconds(c, dp, probe_out->has_initial_delay, i);
                (void) get_int(c, h, path, "timeoutSeconds", false, &i, &probe_out->has_timeout);
                probe_out->timeout_seconds = i;
                check_seconds(c, tp, probe_out->has_timeout, i);
        }
}

/* livenessProbe and lifecycle: run by podhook (the probe gates an apply, postStart runs after a start,
 * preStop before a stop). */
static void check_handlers(Checker *c, const json_t *ctr, const char *path, PhContainer *out) {
        json_t *v;

        if (get_typed(c, ctr, path, "livenessProbe", false, JSON_OBJECT, &v) && v) {
                _cleanup_free_ char *p = child_path(path, "livenessProbe");
                out->liveness_probe = xcalloc(1, sizeof(PhProbe));
                check_handler(c, v, p, out, &out->liveness_probe->handler, out->liveness_probe);
        }
        if (get_typed(c, ctr, path, "lifecycle", false, JSON_OBJECT, &v) && v) {
                static const char *const known[] = {"postStart", "preStop", NULL};
                _cleanup_free_ char *p = child_path(path, "lifecycle");
                PhHandler **slots[] = {&out->post_start, &out->pre_stop};
                json_t *h;
                check_known(c, v, p, known);
                for (size_t k = 0; known[k]; k++)
                        if (get_typed(c, v, p, known[k], false, JSON_OBJECT, &h) && h) {
                                _cleanup_free_ char *hp = child_path(p, known[k]);
                                *slots[k] = xcalloc(1, sizeof(PhHandler));
                                check_handler(c, h, hp, out, *slots[k], NULL);
                        }
        }
}

/* Checks each item of the list at key and fills an array of n items of size bytes. */
typedef void (*ItemCheck)(Checker *c, const json_t *item, const char *path, void *out, void *userdata);

static void check_list(Checker *c, const json_t *obj, const char *opath, const char *key, bool required,
                       size_t size, void **ret, size_t *ret_n, ItemCheck check, void *userdata) {
        json_t *list, *item;
        size_t i;

        *ret = NULL;
        *ret_n = 0;
        if (!get_typed(c, obj, opath, key, required, JSON_ARRAY, &list) || !list)
                return;
        _cleanup_free_ char *path = child_path(opath, key);
        char *items = xcalloc(json_array_size(list) + 1, size);
        json_array_foreach(list, i, item) {
                _cleanup_free_ char *ipath = xasprintf("%s[%zu]", path, i);
                check(c, item, ipath, items + i * size, userdata);
        }
        *ret = items;
        *ret_n = json_array_size(list);
}

static void port_item(Checker *c, const json_t *item, const char *path, void *out, void *names) {
        check_port(c, item, path, names, out);
}

static void env_item(Checker *c, const json_t *item, const char *path, void *out, void *userdata) {
        check_env(c, item, path, out);
}

static void mount_item(Checker *c, const json_t *item, const char *path, void *out, void *mount_paths) {
        check_mount(c, item, path, mount_paths, out);
}

static void check_container(Checker *c, const json_t *ctr, const char *path, json_t *names,
                            PhContainer *out) {
        static const char *const known[] = {"name",
                                            "image",
                                            "command",
                                            "workingDir",
                                            "ports",
                                            "env",
                                            "memory",
                                            "cpu",
                                            "volumeMounts",
                                            "livenessProbe",
                                            "lifecycle",
                                            "privileged",
                                            "imagePullPolicy",
                                            NULL};
        static const char *const pull_policies[] = {"PullAlways", "PullNever", "PullIfNotPresent", NULL};
        const char *image, *working_dir, *pull;
        json_int_t v;
        bool present;

        if (!json_is_object(ctr)) {
                error_at(c, path, "must be a map, not %s", manifest_kind_of(ctr));
                return;
        }
        out->json = json_incref((json_t *) ctr);
        check_known(c, ctr, path, known);
        check_unique_name(c, ctr, path, true, names, "container", &out->name);
        if (get_string(c, ctr, path, "image", true, &image) && image) {
                bool ok = true;
                for (const char *p = image; *p && ok; p++)
                        ok = !isspace((unsigned char) *p) && !iscntrl((unsigned char) *p);
                if (!ok) {
                        _cleanup_free_ char *ipath = child_path(path, "image");
                        _cleanup_free_ char *q = manifest_quote(image);
                        error_at(c, ipath, "%s is not a valid image reference", q);
                }
                out->image = xstrdup(image);
        }
        (void) get_strv(c, ctr, path, "command", &out->command);
        if (get_string(c, ctr, path, "workingDir", false, &working_dir) && working_dir) {
                _cleanup_free_ char *wpath = child_path(path, "workingDir");
                if (check_absolute(c, wpath, working_dir))
                        out->working_dir = xstrdup(working_dir);
        }

        json_auto_t *port_names = json_object();
        check_list(c, ctr, path, "ports", false, sizeof(PhPort), (void **) &out->ports, &out->n_ports,
                   port_item, port_names);
        check_list(c, ctr, path, "env", false, sizeof(PhEnvVar), (void **) &out->env, &out->n_env, env_item,
                   NULL);
        json_auto_t *mount_paths = json_object();
        check_list(c, ctr, path, "volumeMounts", false, sizeof(PhVolumeMount), (void **) &out->mounts,
                   &out->n_mounts, mount_item, mount_paths);

        _cleanup_free_ char *mpath = child_path(path, "memory");
        if (get_int(c, ctr, path, "memory", false, &v, &present) && present) {
                if (v < 0)
                        error_at(c, mpath, "%lld must not be negative", (long long) v);
                else if (v > 0 && v < DOCKER_MIN_MEMORY)
                        error_at(c, mpath, "%lld bytes is less than Docker's minimum of %d (6 MiB)",
                                 (long long) v, DOCKER_MIN_MEMORY);
                out->memory = v;
        }
        _cleanup_free_ char *cpath = child_path(path, "cpu");
        if (get_int(c, ctr, path, "cpu", false, &v, &present) && present) {
                if (v < 0)
                        error_at(c, cpath, "%lld must not be negative", (long long) v);
                else if (v > MAX_MILLI_CPU)
                        error_at(c, cpath, "%lld is more than %d (256 CPUs, Docker's largest CPU shares)",
                                 (long long) v, MAX_MILLI_CPU);
                out->cpu = v;
        }
        (void) get_bool(c, ctr, path, "privileged", &out->privileged);
        if (get_string(c, ctr, path, "imagePullPolicy", false, &pull) && pull) {
                bool ok = false;
                for (const char *const *p = pull_policies; *p && !ok; p++)
                        ok = strcmp(*p, pull) == 0;
                if (!ok) {
                        _cleanup_free_ char *ppath = child_path(path, "imagePullPolicy");
                        _cleanup_free_ char *q = manifest_quote(pull);
                        error_at(c, ppath, "%s is not one of PullAlways, PullNever, PullIfNotPresent", q);
                }
                out->image_pull_policy = xstrdup(pull);
        }
        check_handlers(c, ctr, path, out);
}

/* ---- the manifest ---- */

static void check_restart_policy(Checker *c, const json_t *root, PhManifest *m) {
        static const char *const known[] = {"always", "onFailure", "never", NULL};
        static const PhRestartPolicy values[] = {PH_RESTART_ALWAYS, PH_RESTART_ON_FAILURE, PH_RESTART_NEVER};
        json_t *rp, *v;
        unsigned set = 0;

        m->restart_policy = PH_RESTART_ALWAYS;
        if (!get_typed(c, root, "", "restartPolicy", false, JSON_OBJECT, &rp) || !rp)
                return;
        check_known(c, rp, "restartPolicy", known);
        for (size_t i = 0; known[i]; i++) {
                if (!json_object_get(rp, known[i]))
                        continue;
                /* "always: {}" is the schema; "always:" (null) says the same. */
                if (!json_is_null(json_object_get(rp, known[i])))
                        (void) get_typed(c, rp, "restartPolicy", known[i], false, JSON_OBJECT, &v);
                m->restart_policy = values[i];
                set++;
        }
        if (set > 1)
                error_at(c, "restartPolicy", "only one of always, onFailure and never may be set");
}

static void check_manifest(Checker *c, const json_t *root, PhManifest *m) {
        static const char *const known[] = {"version",       "id", "uuid", "volumes", "containers",
                                            "restartPolicy", NULL};
        const char *version, *id, *uuid;
        json_t *list, *item;
        size_t i;

        m->json = json_incref((json_t *) root);
        check_known(c, root, "", known);
        if (get_string(c, root, "", "version", true, &version) && version) {
                if (strcasecmp(version, "v1beta1") != 0 && strcasecmp(version, "v1beta2") != 0) {
                        _cleanup_free_ char *q = manifest_quote(version);
                        error_at(c, "version", "%s is not supported (use v1beta1 or v1beta2)", q);
                }
                m->version = xstrdup(version);
                for (char *p = m->version; *p; p++)
                        *p = (char) tolower((unsigned char) *p);
        }
        if (get_string(c, root, "", "id", false, &id) && id) {
                bool ok = isalnum((unsigned char) id[0]) && strlen(id) <= ID_MAX_LEN;
                for (const char *p = id + 1; *p && ok; p++)
                        ok = isalnum((unsigned char) *p) || *p == '_' || *p == '.' || *p == '-';
                if (!ok) {
                        _cleanup_free_ char *q = manifest_quote(id);
                        error_at(c, "id",
                                 "%s is not a valid pod id: use letters, digits, '_', '.' and '-', starting "
                                 "with a "
                                 "letter or digit, at most %d characters",
                                 q, ID_MAX_LEN);
                }
                m->id = xstrdup(id);
        }
        if (get_string(c, root, "", "uuid", false, &uuid) && uuid)
                m->uuid = xstrdup(uuid);

        /* Volumes first: the mounts of every container refer to them. */
        if (get_typed(c, root, "", "volumes", false, JSON_ARRAY, &list) && list) {
                m->volumes = xcalloc(json_array_size(list) + 1, sizeof(PhVolume));
                m->n_volumes = json_array_size(list);
                json_array_foreach(list, i, item) {
                        _cleanup_free_ char *path = xasprintf("volumes[%zu]", i);
                        check_volume(c, item, path, &m->volumes[i]);
                }
        }
        if (get_typed(c, root, "", "containers", true, JSON_ARRAY, &list) && list) {
                json_auto_t *names = json_object();
                if (json_array_size(list) == 0)
                        error_at(c, "containers", "must list at least one container");
                m->containers = xcalloc(json_array_size(list) + 1, sizeof(PhContainer));
                m->n_containers = json_array_size(list);
                json_array_foreach(list, i, item) {
                        _cleanup_free_ char *path = xasprintf("containers[%zu]", i);
                        check_container(c, item, path, names, &m->containers[i]);
                }
        }
        check_restart_policy(c, root, m);
}

/* More than this many problems are summed up in one last line: hostile input gets a bounded answer. */
#define MAX_PROBLEMS 100

static char **problems_to_strv(const Checker *c, ProblemList *l, char *const *first) {
        size_t shown = MIN(l->n, MAX_PROBLEMS);
        char **v = xcalloc(strv_length(first) + shown + 2, sizeof(char *));
        size_t n = 0;

        for (size_t i = 0; first && first[i]; i++)
                v[n++] = xstrdup(first[i]);
        for (size_t i = 0; i < shown; i++)
                v[n++] = TAKE_PTR(l->items[i].text);
        if (l->n > shown)
                v[n++] = xasprintf("%s: ... and %zu more", c->doc->source, l->n - shown);
        return v;
}

int manifest_validate(const PhManifestDoc *doc, PhManifest **ret, char ***ret_warnings, PhError **reterr) {
        return manifest_validate_for(doc, NULL, ret, ret_warnings, reterr);
}

int manifest_validate_for(const PhManifestDoc *doc, const PhManifestHost *host, PhManifest **ret,
                          char ***ret_warnings, PhError **reterr) {
        _cleanup_(manifest_freep) PhManifest *m = xcalloc(1, sizeof(*m));
        Checker c = {
                .doc = doc,
                .volume_names = json_object(),
                .secret_names = host ? host->secret_names : NULL,
                .config_keys = host ? host->config_keys : NULL,
                .state_dir = host && host->state_dir && host->state_dir[0] == '/'
                                     ? path_clean(host->state_dir)
                                     : NULL,
        };

        check_manifest(&c, doc->root, m);
        problem_list_sort(&c.errors);
        problem_list_sort(&c.warnings);
        if (ret_warnings)
                *ret_warnings = problems_to_strv(&c, &c.warnings, doc->notes);
        if (c.errors.n > 0) {
                _cleanup_strv_free_ char **lines = problems_to_strv(&c, &c.errors, NULL);
                PhError *err = NULL;
                for (size_t i = 0; lines[i]; i++)
                        (void) ph_error_append(&err, EINVAL, "%s", lines[i]);
                checker_done(&c);
                if (reterr) {
                        ph_error_free(*reterr);
                        *reterr = err;
                } else
                        ph_error_free(err);
                return -EINVAL;
        }
        checker_done(&c);
        if (ret)
                *ret = TAKE_PTR(m);
        return 0;
}
