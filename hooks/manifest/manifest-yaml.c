/* YAML text -> JSON tree with the source line of every field, built from libyaml events so that hostile
 * input is bounded before anything is allocated for it: an alias is a shared reference counted at its
 * expanded size, never a copy. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/cleanup.h"
#include "manifest/manifest-internal.h"

typedef struct Frame {
        json_t *node; /* borrowed: owned by its parent (or by the root variable) */
        char *path;   /* field path of this node; NULL past MANIFEST_PATH_MAX (no lines below it) */
        char *key;    /* pending key of a map, NULL while waiting for one */
        int key_line;
        size_t index; /* next index of a list */
        size_t count; /* nodes inside this one, itself included, aliases expanded */
        size_t text;  /* bytes of keys and scalars inside this one, aliases expanded */
        char *anchor; /* anchor to register when this node ends, or NULL */
        int line;
} Frame;

typedef struct Anchor {
        json_t *node; /* new ref */
        size_t count, text;
} Anchor;

typedef struct Builder {
        const char *source;
        Frame frames[MANIFEST_MAX_DEPTH];
        size_t depth;
        json_t *root;  /* new ref */
        json_t *lines; /* new ref */
        json_t *names; /* anchor name -> index into anchors */
        Anchor *anchors;
        size_t n_anchors, cap_anchors;
        size_t total; /* nodes of the whole document, aliases expanded */
        size_t text;  /* bytes of keys and scalars of the whole document, aliases expanded */
        PhError **reterr;
} Builder;

static void builder_done(Builder *b) {
        for (size_t i = 0; i < b->depth; i++) {
                free(b->frames[i].path);
                free(b->frames[i].key);
                free(b->frames[i].anchor);
        }
        b->depth = 0;
        for (size_t i = 0; i < b->n_anchors; i++)
                json_decref(b->anchors[i].node);
        free(b->anchors);
        json_decref(b->root);
        json_decref(b->lines);
        json_decref(b->names);
}

static char *mfree(char *p) {
        free(p);
        return NULL;
}

static int fail(Builder *b, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(Builder *b, int line, const char *fmt, ...) {
        va_list ap;
        _cleanup_free_ char *msg = NULL;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                abort();
        va_end(ap);
        return ph_error_set(b->reterr, EINVAL, "%s:%d: %s", b->source, line, msg);
}

/* ---- scalar resolution (YAML 1.1 as PyYAML does it, plus 0o octal of YAML 1.2) ---- */

static bool in_set(const char *v, const char *const *set) {
        for (; *set; set++)
                if (strcmp(v, *set) == 0)
                        return true;
        return false;
}

/* Digits of the given base with '_' separators (not first); false on anything else or overflow. */
static bool parse_digits(const char *s, unsigned base, uint64_t *ret) {
        uint64_t v = 0;
        bool any = false;

        for (; *s; s++) {
                unsigned d;
                if (*s == '_' && any)
                        continue;
                if (*s >= '0' && *s <= '9')
                        d = (unsigned) (*s - '0');
                else if (*s >= 'a' && *s <= 'f')
                        d = (unsigned) (*s - 'a' + 10);
                else if (*s >= 'A' && *s <= 'F')
                        d = (unsigned) (*s - 'A' + 10);
                else
                        return false;
                if (d >= base)
                        return false;
                if (v > (UINT64_MAX - d) / base)
                        return false;
                v = v * base + d;
                any = true;
        }
        if (!any)
                return false;
        *ret = v;
        return true;
}

static bool resolve_int(const char *v, json_int_t *ret) {
        const char *s = v;
        bool neg = false;
        uint64_t u;

        if (*s == '+' || *s == '-')
                neg = *s++ == '-';
        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                if (!parse_digits(s + 2, 16, &u))
                        return false;
        } else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O')) {
                if (!parse_digits(s + 2, 8, &u))
                        return false;
        } else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B')) {
                if (!parse_digits(s + 2, 2, &u))
                        return false;
        } else if (s[0] == '0' && s[1]) {
                if (!parse_digits(s + 1, 8, &u)) /* YAML 1.1: a leading 0 means octal */
                        return false;
        } else if (!parse_digits(s, 10, &u))
                return false;

        if (!neg && u > (uint64_t) INT64_MAX)
                return false;
        if (neg && u > (uint64_t) INT64_MAX + 1)
                return false;
        *ret = neg ? (json_int_t) (0 - u) : (json_int_t) u;
        return true;
}

static bool resolve_float(const char *v, double *ret) {
        char buf[128];
        size_t n = 0;
        bool digits = false, dot = false, exp = false;
        const char *s = v;

        if (*s == '+' || *s == '-')
                buf[n++] = *s++;
        for (; *s; s++) {
                if (n >= sizeof(buf) - 1)
                        return false;
                if (*s >= '0' && *s <= '9') {
                        digits = true;
                        buf[n++] = *s;
                } else if (*s == '_' && digits && !exp)
                        continue;
                else if (*s == '.' && !dot && !exp) {
                        dot = true;
                        buf[n++] = *s;
                } else if ((*s == 'e' || *s == 'E') && digits && !exp) {
                        exp = true;
                        buf[n++] = *s;
                        if (s[1] == '+' || s[1] == '-')
                                buf[n++] = *++s;
                        if (!(s[1] >= '0' && s[1] <= '9'))
                                return false;
                } else
                        return false;
        }
        if (!digits || (!dot && !exp))
                return false;
        buf[n] = 0;
        char *end;
        errno = 0;
        double d = strtod(buf, &end);
        if (*end || errno != 0)
                return false;
        *ret = d;
        return true;
}

static json_t *resolve_plain(const char *v, size_t len) {
        static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
        static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes",
                                            "YES",  "on",   "On",   "ON",  NULL};
        static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
                                             "NO",    "off",   "Off",   "OFF", NULL};
        json_int_t i;
        double d;

        if (strlen(v) == len) {
                if (in_set(v, nulls))
                        return json_null();
                if (in_set(v, trues))
                        return json_true();
                if (in_set(v, falses))
                        return json_false();
                if (resolve_int(v, &i))
                        return json_integer(i);
                if (resolve_float(v, &d))
                        return json_real(d);
        }
        return json_stringn(v, len);
}

/* The value of a scalar with an explicit tag, which says what it is whatever the text looks like
 * (!!float 80 is 80.0, not the integer 80); NULL with *ret_why when the text is not of that type. */
static json_t *resolve_tagged(const char *tag, const char *v, size_t len, const char **ret_why) {
        json_t *plain = strlen(v) == len ? resolve_plain(v, len) : NULL;
        json_int_t i;
        double d;

        if (strcmp(tag, YAML_STR_TAG) == 0 || strcmp(tag, "!") == 0) {
                json_decref(plain);
                return json_stringn(v, len);
        }
        if (strcmp(tag, YAML_INT_TAG) == 0 || strcmp(tag, YAML_FLOAT_TAG) == 0) {
                bool is_float = strcmp(tag, YAML_FLOAT_TAG) == 0;
                json_decref(plain);
                if (strlen(v) == len && resolve_int(v, &i))
                        return is_float ? json_real((double) i) : json_integer(i);
                if (is_float && strlen(v) == len && resolve_float(v, &d) && isfinite(d))
                        return json_real(d);
                *ret_why = is_float ? "is not a finite number" : "is not an integer";
                return NULL;
        }
        if (strcmp(tag, YAML_BOOL_TAG) == 0 || strcmp(tag, YAML_NULL_TAG) == 0) {
                bool is_bool = strcmp(tag, YAML_BOOL_TAG) == 0;
                if (is_bool ? json_is_boolean(plain) : json_is_null(plain))
                        return plain;
                json_decref(plain);
                *ret_why = is_bool ? "is not true or false" : "is not null";
                return NULL;
        }
        json_decref(plain);
        *ret_why = NULL; /* a tag podhook does not know */
        return NULL;
}

static json_t *resolve_scalar(const yaml_event_t *e, const char **ret_why) {
        const char *v = (const char *) e->data.scalar.value;
        size_t len = e->data.scalar.length;
        const char *tag = (const char *) e->data.scalar.tag;

        if (tag)
                return resolve_tagged(tag, v, len, ret_why);
        if (e->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
                return json_stringn(v, len);
        return resolve_plain(v, len);
}

/* "!!int" for the YAML 1.1 tags, else the tag as written. */
static const char *tag_name(const char *tag, char buf[static 32]) {
        static const char prefix[] = "tag:yaml.org,2002:";
        const char *short_name =
                strncmp(tag, prefix, sizeof(prefix) - 1) == 0 ? tag + sizeof(prefix) - 1 : NULL;

        if (short_name && (strcmp(short_name, "int") == 0 || strcmp(short_name, "float") == 0 ||
                           strcmp(short_name, "bool") == 0 || strcmp(short_name, "null") == 0)) {
                snprintf(buf, 32, "!!%s", short_name);
                return buf;
        }
        return tag;
}

/* ---- tree building ---- */

/* Counts n more nodes and text more bytes (more than one node for an alias: the size of what it refers to)
 * against the limits. */
static int count_nodes(Builder *b, size_t n, size_t text, int line, bool alias) {
        b->total += n;
        b->text += text;
        if (b->total > MANIFEST_MAX_NODES) {
                if (alias)
                        return fail(b, line, "alias expansion makes the document larger than %u nodes",
                                    MANIFEST_MAX_NODES);
                return fail(b, line, "the document has more than %u nodes", MANIFEST_MAX_NODES);
        }
        /* Without aliases the text is under MANIFEST_MAX_BYTES: only an alias gets here. */
        if (b->text > MANIFEST_MAX_TEXT)
                return fail(b, line, "alias expansion makes the document's text larger than %u bytes",
                            MANIFEST_MAX_TEXT);
        return 0;
}

static void add_to_parent(Builder *b, size_t n, size_t text) {
        if (b->depth > 0) {
                b->frames[b->depth - 1].count += n;
                b->frames[b->depth - 1].text += text;
        }
}

static void register_anchor(Builder *b, const char *name, json_t *node, size_t count, size_t text) {
        json_t *idx = json_object_get(b->names, name);
        if (idx) {
                /* A redefined anchor: later aliases refer to the new node. */
                Anchor *a = &b->anchors[json_integer_value(idx)];
                json_decref(a->node);
                a->node = json_incref(node);
                a->count = count;
                a->text = text;
                return;
        }
        b->anchors = manifest_grow(b->anchors, &b->cap_anchors, b->n_anchors, sizeof(Anchor));
        b->anchors[b->n_anchors] = (Anchor){json_incref(node), count, text};
        json_object_set_new(b->names, name, json_integer((json_int_t) b->n_anchors));
        b->n_anchors++;
}

/* Consumes a scalar that is a key of the map on top. */
static int take_key(Builder *b, const yaml_event_t *e) {
        Frame *f = &b->frames[b->depth - 1];
        const char *k = (const char *) e->data.scalar.value;
        int line = (int) e->start_mark.line + 1;

        if (strlen(k) != e->data.scalar.length)
                return fail(b, line, "a key must not contain a NUL character");
        if (strcmp(k, "<<") == 0 && e->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
                return fail(b, line, "merge keys (<<) are not supported: write the fields out");
        if (json_object_get(f->node, k)) {
                _cleanup_free_ char *path = manifest_path_join(f->path ?: "...", k); /* "....key" deep down */
                json_t *first = f->path ? json_object_get(b->lines, path) : NULL;
                if (first)
                        return fail(b, line, "%s: duplicate key (first at line %d)", path,
                                    (int) json_integer_value(first));
                return fail(b, line, "%s: duplicate key", path);
        }
        f->key = xstrdup(k);
        f->key_line = line;
        add_to_parent(b, 1, e->data.scalar.length);
        return count_nodes(b, 1, e->data.scalar.length, line, false);
}

/* The field path of the value the top frame expects next; NULL below a path too long to record. */
static char *pending_path(const Builder *b) {
        if (b->depth == 0)
                return xstrdup("");
        const Frame *f = &b->frames[b->depth - 1];
        if (!f->path)
                return NULL;
        return json_is_object(f->node) ? manifest_path_join(f->path, f->key)
                                       : xasprintf("%s[%zu]", f->path, f->index);
}

/* A tag on a value not of its type, or one podhook does not know: the value is refused, not guessed. */
static int tag_error(Builder *b, int line, const char *tag, const char *text, const char *why) {
        _cleanup_free_ char *path = pending_path(b);
        const char *where = path && *path ? path : path ? "the document" : "...";
        char buf[32];

        if (b->depth > 0 && json_is_object(b->frames[b->depth - 1].node))
                line = b->frames[b->depth - 1].key_line;
        if (!why)
                return fail(b, line, "%s: the tag %s is not supported (write the value without a tag)", where,
                            tag);
        size_t n = manifest_utf8_cut(text, 64);
        return fail(b, line, "%s: %s \"%.*s%s\" %s", where, tag_name(tag, buf), (int) n, text,
                    text[n] ? "..." : "", why);
}

/* Attaches a new value (new ref, stolen) where the top frame expects one; returns its path in *ret_path
 * (NULL when too long to record). */
static int attach(Builder *b, json_t *v, int line, char **ret_path) {
        _cleanup_free_ char *path = NULL;

        if (!v)
                return fail(b, line, "a value is not valid UTF-8");
        path = pending_path(b);
        if (b->depth == 0) {
                if (b->root) {
                        json_decref(v);
                        return fail(b, line, "more than one top-level value");
                }
                b->root = v;
        } else {
                Frame *f = &b->frames[b->depth - 1];
                if (json_is_object(f->node)) {
                        line = f->key_line;
                        json_object_set_new(f->node, f->key, v);
                        free(f->key);
                        f->key = NULL;
                } else {
                        f->index++;
                        json_array_append_new(f->node, v);
                }
        }
        if (path && strlen(path) > MANIFEST_PATH_MAX)
                path = mfree(path);
        if (path)
                json_object_set_new(b->lines, path, json_integer(line));
        if (ret_path)
                *ret_path = TAKE_PTR(path);
        return 0;
}

static bool expecting_key(const Builder *b) {
        return b->depth > 0 && json_is_object(b->frames[b->depth - 1].node) && !b->frames[b->depth - 1].key;
}

static int on_scalar(Builder *b, const yaml_event_t *e) {
        int line = (int) e->start_mark.line + 1, r;

        if (expecting_key(b))
                return take_key(b, e);
        r = count_nodes(b, 1, e->data.scalar.length, line, false);
        if (r < 0)
                return r;
        add_to_parent(b, 1, e->data.scalar.length);
        const char *why = NULL;
        json_t *v = resolve_scalar(e, &why);
        if (!v && e->data.scalar.tag)
                return tag_error(b, line, (const char *) e->data.scalar.tag,
                                 (const char *) e->data.scalar.value, why);
        r = attach(b, v, line, NULL);
        if (r < 0)
                return r;
        if (e->data.scalar.anchor)
                register_anchor(b, (const char *) e->data.scalar.anchor, v, 1,
                                e->data.scalar.length); /* v borrowed now */
        return 0;
}

static int on_alias(Builder *b, const yaml_event_t *e) {
        int line = (int) e->start_mark.line + 1, r;
        const char *name = (const char *) e->data.alias.anchor;

        if (expecting_key(b))
                return fail(b, line, "alias *%s used as a key: only plain keys are supported", name);
        json_t *idx = json_object_get(b->names, name);
        if (!idx)
                return fail(b, line, "alias *%s refers to no anchor defined before it", name);
        const Anchor *a = &b->anchors[json_integer_value(idx)];
        /* Counted at its full size before anything else happens: a "billion laughs" stops here. */
        r = count_nodes(b, a->count, a->text, line, true);
        if (r < 0)
                return r;
        add_to_parent(b, a->count, a->text);
        return attach(b, json_incref(a->node), line, NULL);
}

static int on_start(Builder *b, const yaml_event_t *e, bool map) {
        int line = (int) e->start_mark.line + 1, r;
        const yaml_char_t *anchor = map ? e->data.mapping_start.anchor : e->data.sequence_start.anchor;
        char *path = NULL;

        if (expecting_key(b))
                return fail(b, line, "a key must be a plain value, not a %s", map ? "map" : "list");
        const char *tag = (const char *) (map ? e->data.mapping_start.tag : e->data.sequence_start.tag);
        if (tag && strcmp(tag, "!") != 0 && strcmp(tag, map ? YAML_MAP_TAG : YAML_SEQ_TAG) != 0)
                return tag_error(b, line, tag, "", NULL);
        if (b->depth >= MANIFEST_MAX_DEPTH)
                return fail(b, line, "nesting is deeper than %u levels", MANIFEST_MAX_DEPTH);
        r = count_nodes(b, 1, 0, line, false);
        if (r < 0)
                return r;
        json_t *node = map ? json_object() : json_array();
        r = attach(b, node, line, &path);
        if (r < 0)
                return r;
        b->frames[b->depth++] = (Frame){
                .node = node,
                .path = path,
                .count = 1,
                .anchor = anchor ? xstrdup((const char *) anchor) : NULL,
                .line = line,
        };
        return 0;
}

static void on_end(Builder *b) {
        Frame f = b->frames[--b->depth];

        if (f.anchor)
                register_anchor(b, f.anchor, f.node, f.count, f.text);
        add_to_parent(b, f.count, f.text);
        free(f.path);
        free(f.key);
        free(f.anchor);
}

static int line_of_offset(const char *buf, size_t len, size_t offset) {
        int line = 1;
        for (size_t i = 0; i < offset && i < len; i++)
                if (buf[i] == '\n')
                        line++;
        return line;
}

static int syntax_error(Builder *b, const yaml_parser_t *p, const char *buf, size_t len) {
        int line = p->error == YAML_READER_ERROR ? line_of_offset(buf, len, p->problem_offset)
                                                 : (int) p->problem_mark.line + 1;
        const char *problem = p->problem ? p->problem : "unknown problem";

        if (p->context)
                return fail(b, line, "YAML syntax error: %s (%s at line %d)", problem, p->context,
                            (int) p->context_mark.line + 1);
        return fail(b, line, "YAML syntax error: %s", problem);
}

static int build(Builder *b, yaml_parser_t *p, const char *buf, size_t len) {
        unsigned documents = 0;

        for (;;) {
                yaml_event_t e;
                int r = 0;

                if (!yaml_parser_parse(p, &e))
                        return syntax_error(b, p, buf, len);
                int line = (int) e.start_mark.line + 1;
                switch (e.type) {
                case YAML_DOCUMENT_START_EVENT:
                        if (documents++ > 0)
                                r = fail(b, line, "a second YAML document: a file holds one manifest");
                        break;
                case YAML_SCALAR_EVENT:
                        r = on_scalar(b, &e);
                        break;
                case YAML_ALIAS_EVENT:
                        r = on_alias(b, &e);
                        break;
                case YAML_SEQUENCE_START_EVENT:
                        r = on_start(b, &e, false);
                        break;
                case YAML_MAPPING_START_EVENT:
                        r = on_start(b, &e, true);
                        break;
                case YAML_SEQUENCE_END_EVENT:
                case YAML_MAPPING_END_EVENT:
                        on_end(b);
                        break;
                case YAML_STREAM_END_EVENT:
                        yaml_event_delete(&e);
                        return 0;
                default:
                        break;
                }
                yaml_event_delete(&e);
                if (r < 0)
                        return r;
        }
}

int manifest_yaml_parse(const char *buf, size_t len, const char *source, json_t **ret_root,
                        json_t **ret_lines, PhError **reterr) {
        yaml_parser_t parser;
        Builder b = {
                .source = source,
                .lines = json_object(),
                .names = json_object(),
                .reterr = reterr,
        };
        int r;

        if (len > MANIFEST_MAX_BYTES) {
                builder_done(&b);
                return ph_error_set(reterr, EFBIG, "%s: the document is %zu bytes, more than the limit of %u",
                                    source, len, MANIFEST_MAX_BYTES);
        }
        if (!yaml_parser_initialize(&parser))
                abort();
        yaml_parser_set_input_string(&parser, (const unsigned char *) buf, len);
        r = build(&b, &parser, buf, len);
        yaml_parser_delete(&parser);
        if (r >= 0 && !b.root)
                r = fail(&b, 1, "the document is empty");
        if (r < 0) {
                builder_done(&b);
                return r;
        }
        *ret_root = TAKE_PTR(b.root);
        *ret_lines = TAKE_PTR(b.lines);
        builder_done(&b);
        return 0;
}
