/* The parsed document: YAML or JSON text (or a JSON value) to an unwrapped tree with source lines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/deployment.h"
#include "common/secret.h"
#include "manifest/manifest-internal.h"

void *manifest_grow(void *p, size_t *cap, size_t n, size_t size) {
        if (n < *cap)
                return p;
        *cap = *cap ? *cap * 2 : 8;
        return xrealloc(p, *cap * size);
}

size_t manifest_utf8_cut(const char *s, size_t max) {
        size_t n = strnlen(s, max + 1);

        if (n <= max)
                return n;
        n = max;
        while (n > 0 && ((unsigned char) s[n] & 0xC0) == 0x80)
                n--;
        return n;
}

char *manifest_quote(const char *s) {
        size_t n = strlen(s), cut = n > 80 ? manifest_utf8_cut(s, 77) : n;
        char *out = xmalloc(cut * 4 + 8), *p = out;

        *p++ = '"';
        for (size_t i = 0; i < cut; i++) {
                unsigned char ch = (unsigned char) s[i];
                if (ch == '"' || ch == '\\') {
                        *p++ = '\\';
                        *p++ = (char) ch;
                } else if (ch < 0x20 || ch == 0x7f)
                        p += sprintf(p, "\\x%02x", ch);
                else
                        *p++ = (char) ch;
        }
        if (cut < n)
                p += sprintf(p, "...");
        *p++ = '"';
        *p = 0;
        return out;
}

char *manifest_path_join(const char *parent, const char *key) {
        size_t n = manifest_utf8_cut(key, 64);
        char *out = xmalloc(strlen(parent) + 1 + n * 4 + 4 + 1), *p = out;

        p = stpcpy(p, parent);
        if (parent[0])
                *p++ = '.';
        for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char) key[i];
                if (ch < 0x20 || ch == 0x7f)
                        p += sprintf(p, "\\x%02x", ch);
                else
                        *p++ = (char) ch;
        }
        if (key[n])
                p = stpcpy(p, "...");
        *p = 0;
        return out;
}

PhManifestDoc *manifest_doc_free(PhManifestDoc *d) {
        if (!d)
                return NULL;
        free(d->source);
        json_decref(d->root);
        json_decref(d->lines);
        free(d->prefix);
        strv_free(d->notes);
        json_decref(d->options);
        free(d);
        return NULL;
}

const json_t *manifest_doc_options(const PhManifestDoc *doc) {
        return doc ? doc->options : NULL;
}

const char *manifest_doc_source(const PhManifestDoc *doc) {
        return doc->source;
}

int manifest_doc_text_line(const PhManifestDoc *doc, const char *path) {
        if (!doc || !doc->lines)
                return 0;
        PhManifestDoc top = *doc;
        top.prefix = NULL;
        return manifest_doc_line(&top, path);
}

int manifest_doc_line(const PhManifestDoc *doc, const char *path) {
        if (!doc->lines)
                return 0;
        _cleanup_free_ char *key =
                doc->prefix ? (path[0] ? xasprintf("%s.%s", doc->prefix, path) : xstrdup(doc->prefix))
                            : xstrdup(path);
        for (;;) {
                json_t *l = json_object_get(doc->lines, key);
                if (l)
                        return (int) json_integer_value(l);
                if (!key[0])
                        return 0;
                /* Not in the text (a missing field, or inside an alias): the nearest ancestor's line. */
                char *dot = strrchr(key, '.'), *bracket = strrchr(key, '[');
                char *cut = dot > bracket ? dot : bracket;
                if (cut)
                        *cut = 0;
                else
                        key[0] = 0;
        }
}

/* Nesting depth and node count of a JSON value, with the same limits as YAML text. */
static int check_limits(const json_t *v, unsigned depth, size_t *count) {
        if (++*count > MANIFEST_MAX_NODES)
                return -E2BIG;
        if (!json_is_object(v) && !json_is_array(v))
                return 0;
        if (depth + 1 > MANIFEST_MAX_DEPTH)
                return -ELOOP;
        if (json_is_object(v)) {
                const char *k;
                json_t *c;
                json_object_foreach((json_t *) v, k, c) {
                        int r = check_limits(c, depth + 1, count);
                        if (r < 0)
                                return r;
                }
        } else {
                size_t i;
                json_t *c;
                json_array_foreach(v, i, c) {
                        int r = check_limits(c, depth + 1, count);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

static int limits_error(int r, const char *source, PhError **reterr) {
        if (r == -ELOOP)
                return ph_error_set(reterr, EINVAL, "%s: nesting is deeper than %u levels", source,
                                    MANIFEST_MAX_DEPTH);
        return ph_error_set(reterr, EINVAL, "%s: the document has more than %u nodes", source,
                            MANIFEST_MAX_NODES);
}

const char *manifest_kind_of(const json_t *v) {
        return deployment_kind_of(v);
}

/* Takes root (new ref, stolen) and lines (new ref, stolen, may be NULL); unwraps "manifest:". */
static int doc_new(json_t *root_in, json_t *lines_in, const char *source, PhManifestDoc **ret,
                   PhError **reterr) {
        json_auto_t *root = root_in, *lines = lines_in;
        _cleanup_(manifest_doc_freep) PhManifestDoc *d = xcalloc(1, sizeof(*d));
        json_t *inner, *l;
        const char *k;
        json_t *v;

        d->source = xstrdup(source);
        d->lines = TAKE_PTR(lines);
        if (!json_is_object(root)) {
                int line = manifest_doc_line(d, "");
                if (line > 0)
                        return ph_error_set(reterr, EINVAL, "%s:%d: the manifest must be a map, not %s",
                                            source, line, manifest_kind_of(root));
                return ph_error_set(reterr, EINVAL, "%s: the manifest must be a map, not %s", source,
                                    manifest_kind_of(root));
        }
        inner = json_object_get(root, "manifest");
        if (inner) {
                /* The seed's form: the manifest under a "manifest:" key. */
                l = d->lines ? json_object_get(d->lines, "manifest") : NULL;
                if (!json_is_object(inner)) {
                        if (l)
                                return ph_error_set(reterr, EINVAL, "%s:%d: manifest: must be a map, not %s",
                                                    source, (int) json_integer_value(l),
                                                    manifest_kind_of(inner));
                        return ph_error_set(reterr, EINVAL, "%s: manifest: must be a map, not %s", source,
                                            manifest_kind_of(inner));
                }
                size_t n = 0;
                d->notes = xcalloc(json_object_size(root), sizeof(char *));
                json_object_foreach(root, k, v) {
                        if (strcmp(k, "manifest") == 0)
                                continue;
                        if (strcmp(k, "options") == 0) {
                                /* The deployment's options (docs/options.md), checked by their reader: one
                                 * that is not a map is an error there, not a note here. */
                                d->options = json_incref(v);
                                continue;
                        }
                        _cleanup_free_ char *path = manifest_path_join("", k);
                        int line = manifest_doc_line(d, path);
                        d->notes[n++] = line > 0 ? xasprintf("%s:%d: %s: unknown field", source, line, path)
                                                 : xasprintf("%s: %s: unknown field", source, path);
                }
                d->root = json_incref(inner);
                d->prefix = xstrdup("manifest");
        } else
                d->root = TAKE_PTR(root);
        *ret = TAKE_PTR(d);
        return 0;
}

static bool looks_like_json(const char *buf, size_t len) {
        for (size_t i = 0; i < len; i++) {
                if (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r')
                        continue;
                return buf[i] == '{';
        }
        return false;
}

static int parse_json(const char *buf, size_t len, const char *source, PhManifestDoc **ret,
                      PhError **reterr) {
        json_auto_t *root = NULL, *lines = NULL, *yroot = NULL;
        json_error_t jerr;
        size_t count = 0;
        int r;

        root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root && manifest_yaml_parse(buf, len, source, &yroot, &lines, NULL) >= 0)
                /* Not JSON but a YAML flow map ("{version: v1beta2, ...}"). */
                return doc_new(TAKE_PTR(yroot), TAKE_PTR(lines), source, ret, reterr);
        if (!root) {
                /* jansson quotes the text "near" the error: it may be a secret value (the message goes back
                 * to Heat in deploy_stderr); the line and column say where instead. */
                secret_cut_json_error(jerr.text);
                if (jerr.line > 0)
                        return ph_error_set(reterr, EINVAL, "%s:%d: JSON syntax error: %s (column %d)",
                                            source, jerr.line, jerr.text, jerr.column);
                return ph_error_set(reterr, EINVAL, "%s: JSON syntax error: %s", source, jerr.text);
        }
        r = check_limits(root, 0, &count);
        if (r < 0)
                return limits_error(r, source, reterr);
        /* Lines only: JSON is (nearly always) YAML too, and the YAML pass knows where each field is. */
        if (manifest_yaml_parse(buf, len, source, &yroot, &lines, NULL) < 0)
                lines = NULL;
        return doc_new(TAKE_PTR(root), TAKE_PTR(lines), source, ret, reterr);
}

int manifest_doc_parse(const char *buf, size_t len, const char *source, PhManifestDoc **ret,
                       PhError **reterr) {
        json_t *root = NULL, *lines = NULL;
        int r;

        if (len > MANIFEST_MAX_BYTES)
                return ph_error_set(reterr, EFBIG,
                                    "%s: the document is %zu bytes, more than the limit of %u bytes", source,
                                    len, MANIFEST_MAX_BYTES);
        if (looks_like_json(buf, len))
                return parse_json(buf, len, source, ret, reterr);
        r = manifest_yaml_parse(buf, len, source, &root, &lines, reterr);
        if (r < 0)
                return r;
        return doc_new(root, lines, source, ret, reterr);
}

int manifest_doc_from_json(const json_t *v, const char *source, PhManifestDoc **ret, PhError **reterr) {
        size_t count = 0;
        int r;

        if (!v)
                return ph_error_set(reterr, EINVAL, "%s: no manifest", source);
        /* Heat may carry the manifest as YAML text inside the config. */
        if (json_is_string(v))
                return manifest_doc_parse(json_string_value(v), json_string_length(v), source, ret, reterr);
        r = check_limits(v, 0, &count);
        if (r < 0)
                return limits_error(r, source, reterr);
        return doc_new(json_deep_copy(v), NULL, source, ret, reterr);
}

int manifest_load_for(const char *buf, size_t len, const char *source, const PhManifestHost *host,
                      PhManifest **ret, char ***ret_warnings, PhError **reterr) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        int r;

        r = manifest_doc_parse(buf, len, source, &doc, reterr);
        if (r < 0)
                return r;
        return manifest_validate_for(doc, host, ret, ret_warnings, reterr);
}

int manifest_doc_of_config(const json_t *config, const char *source, PhManifestDoc **ret, PhError **reterr) {
        if (json_is_string(config))
                return manifest_doc_parse(json_string_value(config), json_string_length(config), source, ret,
                                          reterr);
        if (json_is_object(config))
                return manifest_doc_from_json(config, source, ret, reterr);
        return ph_error_set(reterr, EINVAL,
                            "%s: config: a manifest (YAML/JSON text or an object) is required", source);
}

int manifest_load_config(const json_t *config, const char *source, const PhManifestHost *host,
                         PhManifest **ret, json_t **ret_options, char ***ret_warnings, PhError **reterr) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        int r;

        if (ret_options)
                *ret_options = NULL;
        if (ret_warnings)
                *ret_warnings = NULL;
        r = manifest_doc_of_config(config, source, &doc, reterr);
        if (r < 0)
                return r;
        r = manifest_validate_for(doc, host, ret, ret_warnings, reterr);
        if (r >= 0 && ret_options && manifest_doc_options(doc))
                *ret_options = json_incref((json_t *) manifest_doc_options(doc));
        return r;
}

int manifest_load(const char *buf, size_t len, const char *source, PhManifest **ret, char ***ret_warnings,
                  PhError **reterr) {
        return manifest_load_for(buf, len, source, NULL, ret, ret_warnings, reterr);
}

static void handler_clear(PhHandler *h) {
        free(h->http_path);
        free(h->http_host);
        free(h->http_port.name);
        free(h->tcp_port.name);
        strv_free(h->exec_command);
}

static void container_clear(PhContainer *c) {
        free(c->name);
        free(c->image);
        strv_free(c->command);
        free(c->working_dir);
        for (size_t i = 0; i < c->n_ports; i++) {
                free(c->ports[i].name);
                free(c->ports[i].protocol);
                free(c->ports[i].host_ip);
        }
        free(c->ports);
        for (size_t i = 0; i < c->n_env; i++) {
                free(c->env[i].name);
                free(c->env[i].value);
                free(c->env[i].secret_key);
        }
        free(c->env);
        for (size_t i = 0; i < c->n_mounts; i++) {
                free(c->mounts[i].name);
                free(c->mounts[i].mount_path);
        }
        free(c->mounts);
        free(c->image_pull_policy);
        if (c->liveness_probe)
                handler_clear(&c->liveness_probe->handler);
        free(c->liveness_probe);
        PhHandler *hooks[] = {c->post_start, c->pre_stop};
        for (size_t i = 0; i < ELEMENTSOF(hooks); i++) {
                if (hooks[i])
                        handler_clear(hooks[i]);
                free(hooks[i]);
        }
        json_decref(c->json);
}

PhManifest *manifest_free(PhManifest *m) {
        if (!m)
                return NULL;
        free(m->version);
        free(m->id);
        free(m->uuid);
        for (size_t i = 0; i < m->n_volumes; i++) {
                free(m->volumes[i].name);
                free(m->volumes[i].host_path);
                for (size_t k = 0; k < m->volumes[i].n_items; k++) {
                        free(m->volumes[i].items[k].key);
                        free(m->volumes[i].items[k].path);
                }
                free(m->volumes[i].items);
        }
        free(m->volumes);
        for (size_t i = 0; i < m->n_containers; i++)
                container_clear(&m->containers[i]);
        free(m->containers);
        json_decref(m->json);
        free(m);
        return NULL;
}

void manifest_secret_values(const json_t *config, char ***values) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;

        if (manifest_doc_from_json(config, "config", &doc, NULL) >= 0)
                secret_collect(doc->root, values);
}

int manifest_handler_port(const PhContainer *c, const PhPortRef *ref) {
        int64_t n = -1;

        if (ref->kind == PH_PORT_REF_NUMBER)
                n = ref->number;
        else if (ref->kind == PH_PORT_REF_NAME && ref->name[0] && strlen(ref->name) <= 5 &&
                 strspn(ref->name, "0123456789") == strlen(ref->name))
                n = strtol(ref->name, NULL, 10);
        else if (ref->kind == PH_PORT_REF_NAME) {
                for (size_t i = 0; i < c->n_ports; i++)
                        if (c->ports[i].name && strcmp(c->ports[i].name, ref->name) == 0)
                                return c->ports[i].container_port;
        }
        return n >= 1 && n <= 65535 ? (int) n : 0;
}

const PhVolume *manifest_find_volume(const PhManifest *m, const char *name) {
        for (size_t i = 0; m && name && i < m->n_volumes; i++)
                if (strcmp(m->volumes[i].name, name) == 0)
                        return &m->volumes[i];
        return NULL;
}
