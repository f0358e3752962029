/* Minimal oslo.config-compatible ini reader. */
#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <string.h>

#include "ini.h"

static char *trim(char *s) {
        while (isspace((unsigned char) *s))
                s++;
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char) s[n - 1]))
                s[--n] = '\0';
        return s;
}

/* oslo.config interpolates $name; the templates only ever use "$$" for a literal '$'. */
static void unescape_dollars(char *s) {
        char *o = s;
        for (char *p = s; *p; p++) {
                *o++ = *p;
                if (p[0] == '$' && p[1] == '$')
                        p++;
        }
        *o = '\0';
}

int ini_parse(const char *name, const char *text, PhIniFn fn, void *userdata, PhError **reterr) {
        _cleanup_free_ char *copy = xstrdup(text ? text : "");
        _cleanup_free_ char *section = xstrdup("DEFAULT");
        char *save = NULL, *p = copy;
        unsigned line = 0;

        /* A UTF-8 byte order mark (some editors write one) is not part of the first key. */
        if (strncmp(p, "\xef\xbb\xbf", 3) == 0)
                p += 3;
        while (p) {
                char *nl = strchr(p, '\n');
                if (nl)
                        *nl = '\0';
                line++;
                char *l = trim(p);
                p = nl ? nl + 1 : NULL;
                (void) save;

                if (*l == '\0' || *l == '#' || *l == ';')
                        continue;
                if (*l == '[') {
                        char *end = strchr(l, ']');
                        if (!end || end == l + 1 || *trim(end + 1) != '\0')
                                return ph_error_set(reterr, EINVAL, "%s:%u: bad section header", name, line);
                        *end = '\0';
                        free(section);
                        section = xstrdup(trim(l + 1));
                        continue;
                }
                size_t k = strcspn(l, "=:");
                if (l[k] == '\0')
                        return ph_error_set(reterr, EINVAL, "%s:%u: expected 'key = value'", name, line);
                l[k] = '\0';
                char *key = trim(l), *value = trim(l + k + 1);
                if (*key == '\0')
                        return ph_error_set(reterr, EINVAL, "%s:%u: empty key", name, line);
                size_t vl = strlen(value);
                if (vl >= 2 && ((value[0] == '"' && value[vl - 1] == '"') ||
                                (value[0] == '\'' && value[vl - 1] == '\''))) {
                        value[vl - 1] = '\0';
                        value++;
                }
                unescape_dollars(value);
                int r = fn(section, key, value, line, userdata, reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}
