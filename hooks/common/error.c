#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "common/error.h"

static char *vformat(const char *fmt, va_list ap) {
        char *s;

        if (vasprintf(&s, fmt, ap) < 0)
                abort();
        return s;
}

int ph_error_set(PhError **reterr, int code, const char *fmt, ...) {
        va_list ap;

        if (code < 0)
                code = -code;
        if (code == 0)
                code = EIO; /* never let a failure look like success */
        if (!reterr)
                return -code;

        PhError *e = xcalloc(1, sizeof(*e));
        e->code = code;
        va_start(ap, fmt);
        e->msg = vformat(fmt, ap);
        va_end(ap);

        ph_error_free(*reterr);
        *reterr = e;
        return -code;
}

int ph_error_prefix(PhError **err, const char *fmt, ...) {
        va_list ap;

        if (!err || !*err)
                return -EIO;
        va_start(ap, fmt);
        _cleanup_free_ char *prefix = vformat(fmt, ap);
        va_end(ap);

        char *msg = xasprintf("%s: %s", prefix, ph_error_msg(*err));
        free((*err)->msg);
        (*err)->msg = msg;
        return -(*err)->code;
}

int ph_error_append(PhError **err, int code, const char *fmt, ...) {
        va_list ap;

        if (code < 0)
                code = -code;
        if (code == 0)
                code = EIO;
        va_start(ap, fmt);
        _cleanup_free_ char *line = vformat(fmt, ap);
        va_end(ap);
        if (!err)
                return -code;
        if (!*err) {
                *err = xcalloc(1, sizeof(**err));
                (*err)->code = code;
                (*err)->msg = TAKE_PTR(line);
                return -code;
        }
        char *msg = xasprintf("%s\n%s", ph_error_msg(*err), line);
        free((*err)->msg);
        (*err)->msg = msg;
        return -(*err)->code;
}

PhError *ph_error_free(PhError *e) {
        if (!e)
                return NULL;
        free(e->msg);
        free(e);
        return NULL;
}
