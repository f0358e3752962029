#include <stdarg.h>
#include <string.h>

#include "common/cleanup.h"

static void oom(void) {
        fputs("podhook: out of memory\n", stderr);
        abort();
}

void *xmalloc(size_t n) {
        void *p = malloc(n ? n : 1);
        if (!p)
                oom();
        return p;
}

void *xcalloc(size_t n, size_t size) {
        void *p = calloc(n ? n : 1, size ? size : 1);
        if (!p)
                oom();
        return p;
}

void *xrealloc(void *p, size_t n) {
        void *q = realloc(p, n ? n : 1);
        if (!q)
                oom();
        return q;
}

char *xstrdup(const char *s) {
        char *d = strdup(s);
        if (!d)
                oom();
        return d;
}

char *xstrndup(const char *s, size_t n) {
        char *d = strndup(s, n);
        if (!d)
                oom();
        return d;
}

char *xasprintf(const char *fmt, ...) {
        va_list ap;
        char *s;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                oom();
        va_end(ap);
        return s;
}

char **strv_free(char **v) {
        if (!v)
                return NULL;
        for (char **i = v; *i; i++)
                free(*i);
        free(v);
        return NULL;
}

size_t strv_length(char *const *v) {
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

char **strv_copy(char *const *v) {
        size_t n = strv_length(v);
        char **c;

        if (!v)
                return NULL;
        c = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(v[i]);
        return c;
}
