/* route.h: patterns are matched segment by segment, without copies until a placeholder is found. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api/route.h"

static bool method_valid(const char *m) {
        if (!m || !*m)
                return false;
        for (; *m; m++)
                if (*m < 'A' || *m > 'Z')
                        return false;
        return true;
}

static bool placeholder_name_valid(const char *s, size_t len) {
        if (len == 0)
                return false;
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
                        return false;
        return true;
}

int api_pattern_check(const char *method, const char *pattern, PhError **err) {
        size_t placeholders = 0;

        if (!method_valid(method))
                return ph_error_set(err, EINVAL, "route %s: bad method '%s'", pattern ? pattern : "",
                                    method ? method : "");
        if (!pattern || pattern[0] != '/')
                return ph_error_set(err, EINVAL, "route '%s' does not start with '/'",
                                    pattern ? pattern : "");
        for (const char *seg = pattern + 1;; seg++) {
                size_t len = strcspn(seg, "/");
                /* "/" alone is the one pattern with an empty segment. */
                if (len == 0 && !(seg == pattern + 1 && *seg == '\0'))
                        return ph_error_set(err, EINVAL, "route %s has an empty segment", pattern);
                const char *open = memchr(seg, '{', len), *close = memchr(seg, '}', len);
                if (open || close) {
                        if (open != seg || close != seg + len - 1 ||
                            !placeholder_name_valid(seg + 1, len - 2))
                                return ph_error_set(err, EINVAL,
                                                    "route %s: a placeholder is a whole segment {name}",
                                                    pattern);
                        if (++placeholders > 1)
                                return ph_error_set(err, EINVAL, "route %s has more than one placeholder",
                                                    pattern);
                }
                seg += len;
                if (*seg == '\0')
                        return 0;
        }
}

bool api_pattern_match(const char *pattern, const char *path, const char **ret_param, size_t *ret_param_len) {
        const char *param = NULL;
        size_t param_len = 0;
        const char *p = pattern, *q = path;

        if (!path || path[0] != '/')
                return false;
        while (*p && *q) {
                if (*p != '/' || *q != '/')
                        return false;
                p++;
                q++;
                size_t plen = strcspn(p, "/"), qlen = strcspn(q, "/");
                if (plen > 0 && p[0] == '{') {
                        if (qlen == 0 || (qlen == 1 && q[0] == '.') ||
                            (qlen == 2 && q[0] == '.' && q[1] == '.'))
                                return false;
                        param = q;
                        param_len = qlen;
                } else if (plen != qlen || memcmp(p, q, plen) != 0)
                        return false;
                p += plen;
                q += qlen;
        }
        if (*p || *q)
                return false;
        if (ret_param)
                *ret_param = param;
        if (ret_param_len)
                *ret_param_len = param_len;
        return true;
}

static bool method_is(const char *route_method, const char *method) {
        if (strcmp(route_method, method) == 0)
                return true;
        return strcmp(method, "HEAD") == 0 && strcmp(route_method, "GET") == 0;
}

PhApiMatch api_route_find(const PhApiRoute *routes, size_t n, const char *method, const char *path,
                          size_t *ret_index, char **ret_param) {
        bool path_known = false;
        size_t best = n;
        const char *param = NULL;
        size_t param_len = 0;

        for (size_t i = 0; i < n; i++) {
                const char *p;
                size_t plen;
                if (!api_pattern_match(routes[i].pattern, path, &p, &plen))
                        continue;
                path_known = true;
                if (!method_is(routes[i].method, method))
                        continue;
                /* A literal route wins over a placeholder; else the first one. */
                if (best == n || (param && !p)) {
                        best = i;
                        param = p;
                        param_len = plen;
                }
        }
        if (best == n)
                return path_known ? PH_API_MATCH_NO_METHOD : PH_API_MATCH_NO_PATH;
        if (ret_index)
                *ret_index = best;
        if (ret_param)
                *ret_param = param ? xstrndup(param, param_len) : NULL;
        return PH_API_MATCH_FOUND;
}

static void allow_add(char **list, const char *method) {
        size_t len = strlen(method);
        for (const char *s = *list; (s = strstr(s, method)); s += len)
                if ((s == *list || s[-1] == ' ') && (s[len] == ',' || s[len] == '\0'))
                        return;
        char *next = xasprintf("%s%s%s", *list, **list ? ", " : "", method);
        free(*list);
        *list = next;
}

char *api_route_allow(const PhApiRoute *routes, size_t n, const char *path) {
        char *list = xstrdup("");

        for (size_t i = 0; i < n; i++) {
                if (!api_pattern_match(routes[i].pattern, path, NULL, NULL))
                        continue;
                allow_add(&list, routes[i].method);
                if (strcmp(routes[i].method, "GET") == 0)
                        allow_add(&list, "HEAD");
        }
        return list;
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

size_t api_path_unescape(char *s) {
        char *w = s;

        for (const char *r = s; *r;) {
                int hi, lo;
                if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 && (lo = hex_value(r[2])) >= 0 &&
                    hi * 16 + lo != 0 && hi * 16 + lo != '/') {
                        *w++ = (char) (hi * 16 + lo);
                        r += 3;
                } else
                        *w++ = *r++;
        }
        *w = '\0';
        return (size_t) (w - s);
}

char *api_printable(const char *s, size_t max) {
        size_t n = strnlen(s, max);
        char *out = xmalloc(4 * n + 4), *w = out;

        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c >= 0x20 && c < 0x7f && c != '\\')
                        *w++ = (char) c;
                else
                        w += sprintf(w, "\\x%02x", c);
        }
        if (s[n])
                w = stpcpy(w, "...");
        *w = '\0';
        return out;
}
