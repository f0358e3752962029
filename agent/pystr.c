/* Python str()/repr() of JSON values, byte for byte as CPython 3 prints them. */
#include <jansson.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "pystr.h"

typedef struct Str {
        char *s;
        size_t len, cap;
} Str;

static void str_addn(Str *b, const char *p, size_t n) {
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->s = xrealloc(b->s, b->cap);
        }
        memcpy(b->s + b->len, p, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void str_add(Str *b, const char *p) {
        str_addn(b, p, strlen(p));
}

char *pystr_float(double d) {
        char digits[32], buf[64], out[400];
        int exp10 = 0, ndig = 0, decpt;

        if (isnan(d))
                return xstrdup("nan");
        if (isinf(d))
                return xstrdup(d < 0 ? "-inf" : "inf");
        /* Shortest digit string that reads back as the same double: what repr() uses. */
        for (int p = 1; p <= 17; p++) {
                snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        const char *m = buf + (buf[0] == '-');
        for (const char *c = m; *c && *c != 'e'; c++)
                if (*c >= '0' && *c <= '9')
                        digits[ndig++] = *c;
        exp10 = atoi(strchr(buf, 'e') + 1);
        while (ndig > 1 && digits[ndig - 1] == '0')
                ndig--;
        digits[ndig] = '\0';
        decpt = exp10 + 1;

        size_t o = 0;
        if (signbit(d))
                out[o++] = '-';
        if (decpt > -4 && decpt <= 16) {
                if (decpt <= 0) {
                        o += (size_t) sprintf(out + o, "0.");
                        for (int i = 0; i < -decpt; i++)
                                out[o++] = '0';
                        o += (size_t) sprintf(out + o, "%s", digits);
                } else if (decpt >= ndig) {
                        o += (size_t) sprintf(out + o, "%s", digits);
                        for (int i = ndig; i < decpt; i++)
                                out[o++] = '0';
                        o += (size_t) sprintf(out + o, ".0");
                } else
                        o += (size_t) sprintf(out + o, "%.*s.%s", decpt, digits, digits + decpt);
        } else {
                out[o++] = digits[0];
                if (ndig > 1)
                        o += (size_t) sprintf(out + o, ".%s", digits + 1);
                o += (size_t) sprintf(out + o, "e%c%02d", exp10 < 0 ? '-' : '+', abs(exp10));
        }
        out[o] = '\0';
        return xstrdup(out);
}

/* Decodes one UTF-8 code point (input is valid UTF-8: jansson guarantees it). */
static unsigned utf8_next(const unsigned char **p) {
        const unsigned char *s = *p;
        unsigned cp;
        int n;

        if (s[0] < 0x80)
                cp = s[0], n = 1;
        else if ((s[0] & 0xe0) == 0xc0)
                cp = s[0] & 0x1f, n = 2;
        else if ((s[0] & 0xf0) == 0xe0)
                cp = s[0] & 0x0f, n = 3;
        else
                cp = s[0] & 0x07, n = 4;
        for (int i = 1; i < n; i++)
                cp = (cp << 6) | (s[i] & 0x3f);
        *p = s + n;
        return cp;
}

/* Python's str.isprintable(), for the ranges inputs realistically hold: C0/C1 controls, DEL,
 * NBSP/soft hyphen, line/paragraph separators and the BOM are escaped; everything else is printed. */
static bool py_printable(unsigned cp) {
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0xa0) || cp == 0xad)
                return false;
        if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff || (cp >= 0x200b && cp <= 0x200f) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return false;
        return true;
}

static void repr_string(Str *b, const char *s, size_t len) {
        const unsigned char *p = (const unsigned char *) s, *end = p + len;
        char quote = memchr(s, '\'', len) && !memchr(s, '"', len) ? '"' : '\'';
        char tmp[16];

        str_addn(b, &quote, 1);
        while (p < end) {
                const unsigned char *start = p;
                unsigned cp = utf8_next(&p);

                if (cp == (unsigned) quote || cp == '\\') {
                        tmp[0] = '\\', tmp[1] = (char) cp;
                        str_addn(b, tmp, 2);
                } else if (cp == '\n')
                        str_add(b, "\\n");
                else if (cp == '\r')
                        str_add(b, "\\r");
                else if (cp == '\t')
                        str_add(b, "\\t");
                else if (!py_printable(cp)) {
                        if (cp < 0x100)
                                snprintf(tmp, sizeof(tmp), "\\x%02x", cp);
                        else if (cp < 0x10000)
                                snprintf(tmp, sizeof(tmp), "\\u%04x", cp);
                        else
                                snprintf(tmp, sizeof(tmp), "\\U%08x", cp);
                        str_add(b, tmp);
                } else
                        str_addn(b, (const char *) start, (size_t) (p - start));
        }
        str_addn(b, &quote, 1);
}

static void repr(Str *b, const json_t *v) {
        char tmp[32];

        switch (json_typeof(v)) {
        case JSON_NULL:
                str_add(b, "None");
                break;
        case JSON_TRUE:
                str_add(b, "True");
                break;
        case JSON_FALSE:
                str_add(b, "False");
                break;
        case JSON_INTEGER:
                snprintf(tmp, sizeof(tmp), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                str_add(b, tmp);
                break;
        case JSON_REAL: {
                _cleanup_free_ char *f = pystr_float(json_real_value(v));
                str_add(b, f);
                break;
        }
        case JSON_STRING:
                repr_string(b, json_string_value(v), json_string_length(v));
                break;
        case JSON_ARRAY: {
                size_t i;
                const json_t *item;
                str_add(b, "[");
                json_array_foreach(v, i, item) {
                        if (i > 0)
                                str_add(b, ", ");
                        repr(b, item);
                }
                str_add(b, "]");
                break;
        }
        case JSON_OBJECT: {
                const char *k;
                const json_t *item;
                bool first = true;
                str_add(b, "{");
                json_object_foreach((json_t *) v, k, item) {
                        if (!first)
                                str_add(b, ", ");
                        first = false;
                        repr_string(b, k, strlen(k));
                        str_add(b, ": ");
                        repr(b, item);
                }
                str_add(b, "}");
                break;
        }
        }
}

char *pystr(const json_t *v) {
        Str b = {0};

        if (json_is_string(v))
                return xstrndup(json_string_value(v), json_string_length(v));
        repr(&b, v);
        return b.s ? b.s : xstrdup("");
}
