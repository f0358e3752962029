/* POLL_SERVER_CFN: a SigV2-signed DescribeStackResource GET per path against heat-api-cfn, whose XML
 * answer carries the metadata as JSON text. There is no XML library here; the answer has one tiny
 * fixed shape, read by hand below. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "openstack/ec2sign.h"
#include "source/source-internal.h"

typedef struct CfnPath {
        char *resource;
        char *field;
        char **sub; /* NULL-terminated sub-keys followed inside the JSON */
} CfnPath;

typedef struct CfnSource {
        char *metadata_url;
        char *access_key;
        char *secret_key;
        char *stack_name;
        CfnPath *paths;
        size_t n_paths;
} CfnSource;

/* ---- the XML reader ---- */

static bool name_end(char c) {
        return c == '>' || c == '/' || c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* p points at '<'. Returns the first byte after the markup that starts there (a tag, comment, CDATA,
 * processing instruction), or NULL if it does not end before end. */
static const char *skip_markup(const char *p, const char *end) {
        const char *close;
        size_t left = (size_t) (end - p);

        if (left >= 4 && memcmp(p, "<!--", 4) == 0)
                close = memmem(p + 4, left - 4, "-->", 3), left = 3;
        else if (left >= 9 && memcmp(p, "<![CDATA[", 9) == 0)
                close = memmem(p + 9, left - 9, "]]>", 3), left = 3;
        else if (left >= 2 && p[1] == '?')
                close = memmem(p + 2, left - 2, "?>", 2), left = 2;
        else {
                char quote = 0;
                for (const char *q = p + 1; q < end; q++) {
                        if (quote) {
                                if (*q == quote)
                                        quote = 0;
                        } else if (*q == '"' || *q == '\'')
                                quote = *q;
                        else if (*q == '>')
                                return q + 1;
                }
                return NULL;
        }
        return close ? close + left : NULL;
}

/* Finds the first element called name in [p, end); sets its content range. 0, -ENOENT or -EBADMSG. */
static int xml_find(const char *p, const char *end, const char *name, const char **ret_start,
                    const char **ret_end) {
        size_t nl = strlen(name);

        for (;;) {
                p = memchr(p, '<', (size_t) (end - p));
                if (!p)
                        return -ENOENT;
                if ((size_t) (end - p) >= 2 && p[1] == '!' && (size_t) (end - p) >= 9 &&
                    memcmp(p, "<!DOCTYPE", 9) == 0)
                        return -EBADMSG; /* no DTDs, no custom entities */
                const char *after = skip_markup(p, end);
                if (!after)
                        return -EBADMSG;
                bool is_start =
                        (size_t) (end - p) > nl + 1 && memcmp(p + 1, name, nl) == 0 && name_end(p[1 + nl]);
                if (!is_start) {
                        p = after;
                        continue;
                }
                if (after[-2] == '/') { /* <name/> */
                        *ret_start = *ret_end = after;
                        return 0;
                }
                /* Match the closing tag, counting nested elements of the same name. */
                unsigned depth = 1;
                for (const char *q = after; q < end;) {
                        q = memchr(q, '<', (size_t) (end - q));
                        if (!q)
                                break;
                        const char *next = skip_markup(q, end);
                        if (!next)
                                return -EBADMSG;
                        if ((size_t) (end - q) > nl + 2 && q[1] == '/' && memcmp(q + 2, name, nl) == 0 &&
                            (q[2 + nl] == '>' || memchr(" \t\r\n", q[2 + nl], 4))) { /* </name S? > */
                                if (--depth == 0) {
                                        *ret_start = after;
                                        *ret_end = q;
                                        return 0;
                                }
                        } else if ((size_t) (end - q) > nl + 1 && memcmp(q + 1, name, nl) == 0 &&
                                   name_end(q[1 + nl]) && next[-2] != '/')
                                depth++;
                        q = next;
                }
                return -EBADMSG;
        }
}

static void utf8_put(char **out, unsigned long cp) {
        char *o = *out;
        if (cp < 0x80)
                *o++ = (char) cp;
        else if (cp < 0x800) {
                *o++ = (char) (0xC0 | (cp >> 6));
                *o++ = (char) (0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
                *o++ = (char) (0xE0 | (cp >> 12));
                *o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char) (0x80 | (cp & 0x3F));
        } else {
                *o++ = (char) (0xF0 | (cp >> 18));
                *o++ = (char) (0x80 | ((cp >> 12) & 0x3F));
                *o++ = (char) (0x80 | ((cp >> 6) & 0x3F));
                *o++ = (char) (0x80 | (cp & 0x3F));
        }
        *out = o;
}

/* Decodes character data: entities, character references, CDATA; comments skipped; elements refused. */
static int xml_text(const char *p, const char *end, char **ret) {
        static const struct {
                const char *name;
                char c;
        } entities[] = {{"lt;", '<'}, {"gt;", '>'}, {"amp;", '&'}, {"quot;", '"'}, {"apos;", '\''}};
        /* Decoding never makes the text longer (a reference is longer than its UTF-8 encoding). */
        _cleanup_free_ char *buf = xmalloc((size_t) (end - p) + 1);
        char *o = buf;

        while (p < end) {
                if (*p == '<') {
                        const char *next = skip_markup(p, end);
                        if (!next)
                                return -EBADMSG;
                        if ((size_t) (end - p) >= 9 && memcmp(p, "<![CDATA[", 9) == 0) {
                                size_t n = (size_t) (next - 3 - (p + 9));
                                memcpy(o, p + 9, n);
                                o += n;
                        } else if (!((size_t) (end - p) >= 4 && memcmp(p, "<!--", 4) == 0))
                                return -EBADMSG; /* a child element: not text */
                        p = next;
                        continue;
                }
                if (*p != '&') {
                        *o++ = *p++;
                        continue;
                }
                const char *semi = memchr(p, ';', (size_t) (end - p));
                if (!semi || semi - p > 12)
                        return -EBADMSG;
                bool done = false;
                for (size_t i = 0; i < ELEMENTSOF(entities) && !done; i++) {
                        size_t n = strlen(entities[i].name);
                        if ((size_t) (semi + 1 - (p + 1)) == n && memcmp(p + 1, entities[i].name, n) == 0) {
                                *o++ = entities[i].c;
                                done = true;
                        }
                }
                if (!done) {
                        if (p[1] != '#')
                                return -EBADMSG;
                        bool hex = p[2] == 'x';
                        const char *digits = p + (hex ? 3 : 2);
                        unsigned long cp = 0;
                        if (digits == semi)
                                return -EBADMSG;
                        for (const char *d = digits; d < semi; d++) {
                                int v;
                                if (*d >= '0' && *d <= '9')
                                        v = *d - '0';
                                else if (hex && *d >= 'a' && *d <= 'f')
                                        v = *d - 'a' + 10;
                                else if (hex && *d >= 'A' && *d <= 'F')
                                        v = *d - 'A' + 10;
                                else
                                        return -EBADMSG;
                                cp = cp * (hex ? 16 : 10) + (unsigned long) v;
                                if (cp > 0x10FFFF)
                                        return -EBADMSG;
                        }
                        if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF))
                                return -EBADMSG;
                        utf8_put(&o, cp);
                }
                p = semi + 1;
        }
        *o = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

int source_cfn_xml_text(const char *xml, size_t len, const char *field, char **ret, PhError **reterr) {
        const char *end = xml + len, *s1, *e1, *s2, *e2, *s3, *e3;
        int r;

        /* XML has no NUL character; one would silently cut the JSON text short. */
        if (memchr(xml, '\0', len))
                return ph_error_set(reterr, EBADMSG, "the XML answer holds a NUL byte");
        r = xml_find(xml, end, "DescribeStackResourceResult", &s1, &e1);
        if (r >= 0)
                r = xml_find(s1, e1, "StackResourceDetail", &s2, &e2);
        if (r == -ENOENT)
                return ph_error_set(reterr, EBADMSG,
                                    "no DescribeStackResourceResult/StackResourceDetail in the answer");
        if (r >= 0)
                r = xml_find(s2, e2, field, &s3, &e3);
        if (r == -ENOENT)
                return ph_error_set(reterr, ENOENT, "no %s in the StackResourceDetail", field);
        if (r >= 0)
                r = xml_text(s3, e3, ret);
        if (r < 0)
                return ph_error_set(reterr, EBADMSG, "the XML answer around %s is malformed", field);
        return 0;
}

/* ---- the source ---- */

static void paths_free(CfnSource *c) {
        for (size_t i = 0; i < c->n_paths; i++) {
                free(c->paths[i].resource);
                free(c->paths[i].field);
                strv_free(c->paths[i].sub);
        }
        free(c->paths);
        c->paths = NULL;
        c->n_paths = 0;
}

static int path_parse(const char *spec, CfnPath *ret, PhError **reterr) {
        const char *dot = strchr(spec, '.');
        if (!dot || dot == spec || !dot[1])
                return ph_error_set(reterr, EINVAL, "cfn: path '%s' is not Resource.Field[.key...]", spec);
        CfnPath p = {.resource = xstrndup(spec, (size_t) (dot - spec))};
        const char *rest = dot + 1;
        size_t n = strcspn(rest, ".");
        p.field = xstrndup(rest, n);
        size_t count = 0;
        for (const char *q = rest + n; *q; count++) {
                q++;
                size_t m = strcspn(q, ".");
                p.sub = xrealloc(p.sub, sizeof(char *) * (count + 2));
                p.sub[count] = xstrndup(q, m);
                p.sub[count + 1] = NULL;
                q += m;
        }
        if (!p.sub)
                p.sub = xcalloc(1, sizeof(char *));
        *ret = p;
        return 0;
}

static void cfn_done(PhSource *s) {
        CfnSource *c = s->data;
        if (!c)
                return;
        paths_free(c);
        free(c->metadata_url);
        free(c->access_key);
        if (c->secret_key)
                explicit_bzero(c->secret_key, strlen(c->secret_key));
        free(c->secret_key);
        free(c->stack_name);
        free(c);
}

static int cfn_init(PhSource *s, const json_t *section, PhError **reterr) {
        const char *metadata_url, *access_key, *secret_key, *stack_name, *path_str = NULL;
        json_t *path = json_is_object(section) ? json_object_get(section, "path") : NULL; /* borrowed */
        /* path may be one string or a list (os-collect-config's option is a multi-string). */
        bool path_is_list = json_is_array(path) && json_array_size(path) > 0;
        const PhSourceKey keys[] = {
                {"metadata_url", true, &metadata_url},
                {"access_key_id", true, &access_key},
                {"secret_access_key", true, &secret_key},
                {"stack_name", true, &stack_name},
                {"path", true, &path_str},
        };
        int r;

        r = source_config_strings(s, section, keys, ELEMENTSOF(keys) - (path_is_list ? 1 : 0), reterr);
        if (r < 0)
                return r;

        CfnSource *c = xcalloc(1, sizeof(*c));
        s->data = c;
        if (strpbrk(metadata_url, "?#") ||
            (strncmp(metadata_url, "http://", 7) != 0 && strncmp(metadata_url, "https://", 8) != 0))
                return ph_error_set(reterr, EINVAL,
                                    "cfn: metadata_url must be an http(s) URL without a query");
        c->metadata_url = xstrdup(metadata_url);
        c->access_key = xstrdup(access_key);
        c->secret_key = xstrdup(secret_key);
        c->stack_name = xstrdup(stack_name);

        size_t n = path_str ? 1 : json_array_size(path);
        c->paths = xcalloc(n, sizeof(CfnPath));
        for (size_t i = 0; i < n; i++) {
                const char *spec = path_str ? path_str : json_string_value(json_array_get(path, i));
                if (!spec)
                        return ph_error_set(reterr, EINVAL, "cfn: path[%zu] is not a string", i);
                r = path_parse(spec, &c->paths[i], reterr);
                if (r < 0)
                        return r;
                c->n_paths++;
        }
        return 0;
}

static int cfn_fetch(PhSource *s, const CfnPath *p, json_t **ret, PhError **reterr) {
        CfnSource *c = s->data;
        const PhEc2Param params[] = {
                {"Action", "DescribeStackResource"},
                {"StackName", c->stack_name},
                {"LogicalResourceId", p->resource},
        };
        _cleanup_free_ char *url = NULL;
        _cleanup_free_ char *where = http_url_redact(c->metadata_url);
        _cleanup_free_ char *what = xasprintf("GET %s DescribeStackResource %s", where, p->resource);
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        int r;

        r = ec2_signed_get_url(c->metadata_url, params, ELEMENTSOF(params), c->access_key, c->secret_key,
                               &url, reterr);
        if (r < 0) {
                ph_error_prefix(reterr, "cfn: metadata_url");
                return r;
        }
        PhHttpRequest req = source_http_request(s, "GET", url);
        r = http_request(&req, &resp, reterr);
        if (r < 0)
                return r;
        if (resp.status < 200 || resp.status > 299)
                return ph_error_set(reterr, resp.status == 401 || resp.status == 403 ? EACCES : EPROTO,
                                    "%s: HTTP %ld", what, resp.status);

        _cleanup_free_ char *text = NULL;
        r = source_cfn_xml_text(resp.body ? resp.body : "", resp.body_len, p->field, &text, reterr);
        if (r < 0) {
                ph_error_prefix(reterr, "%s", what);
                return r;
        }
        json_error_t jerr;
        json_auto_t *doc = source_json_load(text, strlen(text), &jerr);
        if (!doc && jerr.line == 0)
                return ph_error_set(reterr, EFBIG, "%s: %s holds %s", what, p->field, jerr.text);
        if (!doc)
                return ph_error_set(reterr, EBADMSG, "%s: %s is not JSON (line %d, column %d)", what,
                                    p->field, jerr.line, jerr.column);
        json_t *v = doc; /* borrowed */
        for (char **k = p->sub; *k; k++) {
                v = json_object_get(v, *k);
                if (!v)
                        return ph_error_set(reterr, ENOENT, "%s: %s has no key %s", what, p->field, *k);
        }
        if (!json_is_object(v))
                return ph_error_set(reterr, EBADMSG, "%s: %s is not a JSON object", what, p->field);
        *ret = json_incref(v);
        return 0;
}

static int cfn_collect(PhSource *s, json_t **ret, PhError **reterr) {
        CfnSource *c = s->data;
        json_auto_t *all = json_object();

        for (size_t i = 0; i < c->n_paths; i++) {
                json_auto_t *v = NULL;
                int r = cfn_fetch(s, &c->paths[i], &v, reterr);
                if (r < 0)
                        return r;
                json_object_update(all, v); /* several paths: shallow merge, as os-collect-config */
        }
        *ret = TAKE_PTR(all);
        return 0;
}

const PhSourceOps source_cfn_ops = {
        .name = "cfn",
        .init = cfn_init,
        .collect = cfn_collect,
        .done = cfn_done,
};
