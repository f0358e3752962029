/* Python's str() of an input value (pystr, as 55-heat-config coerces String inputs), on any JSON
 * value, and Python's repr() of a float (pystr_float) on the first 8 bytes of the input taken as a
 * double (NaN, infinities, subnormals, -0.0 included). Promises: the text is UTF-8 without NUL; a
 * string is itself; None/True/False/ints as Python prints them; a float's repr reads back as the same
 * double, has no shorter form that would, and is written in Python's fixed or exponent notation. */
#include <errno.h>
#include <jansson.h>
#include <math.h>

#include "fuzz.h"
#include "pystr.h"

/* Checks the shape of a repr and returns its number of significant digits. */
static int check_float_shape(const char *s, double d) {
        const char *p = s + (s[0] == '-');
        const char *e = strchr(p, 'e');
        int first = -1, last = -1, n = 0;

        FUZZ_CHECK((s[0] == '-') == (signbit(d) != 0));
        for (const char *c = p; *c && c != e; c++) {
                if (*c == '.')
                        continue;
                FUZZ_CHECK(*c >= '0' && *c <= '9');
                if (*c != '0') {
                        if (first < 0)
                                first = n;
                        last = n;
                }
                n++;
        }
        if (e) {
                /* d.ddde[+-]XX: one digit before the point, no trailing zero, two exponent digits at least.
                 */
                FUZZ_CHECK(p[0] >= '1' && p[0] <= '9' && (p[1] == 'e' || p[1] == '.'));
                FUZZ_CHECK(e[-1] != '0' && e[-1] != '.');
                FUZZ_CHECK((e[1] == '+' || e[1] == '-') && strlen(e + 2) >= 2);
                int x = atoi(e + 1);
                FUZZ_CHECK(x < -4 || x >= 16);
        } else {
                /* Fixed: a point with at least one digit after it. */
                const char *dot = strchr(p, '.');
                FUZZ_CHECK(dot && dot[1]);
                FUZZ_CHECK(fabs(d) == 0 || (fabs(d) >= 1e-4 && fabs(d) < 1e16));
        }
        return first < 0 ? 1 : last - first + 1;
}

static void check_float(double d) {
        _cleanup_free_ char *s = pystr_float(d);

        FUZZ_CHECK(s);
        if (isnan(d)) {
                FUZZ_CHECK(strcmp(s, "nan") == 0);
                return;
        }
        if (isinf(d)) {
                FUZZ_CHECK(strcmp(s, d < 0 ? "-inf" : "inf") == 0);
                return;
        }
        FUZZ_CHECK(strtod(s, NULL) == d);
        int digits = check_float_shape(s, d);
        if (digits > 1) {
                char shorter[64];
                snprintf(shorter, sizeof(shorter), "%.*e", digits - 2, d);
                FUZZ_CHECK(strtod(shorter, NULL) != d);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size >= sizeof(double)) {
                double d;
                memcpy(&d, data, sizeof(d));
                check_float(d);
        }

        json_auto_t *v = json_loadb((const char *) data, size, JSON_DECODE_ANY, NULL);
        if (!v)
                return 0;
        _cleanup_free_ char *s = pystr(v);
        json_auto_t *asjson = s ? json_string(s) : NULL;
        FUZZ_CHECK(s && asjson);
        char want[32];
        switch (json_typeof(v)) {
        case JSON_STRING:
                FUZZ_CHECK(strlen(s) == json_string_length(v) && strcmp(s, json_string_value(v)) == 0);
                break;
        case JSON_NULL:
                FUZZ_CHECK(strcmp(s, "None") == 0);
                break;
        case JSON_TRUE:
                FUZZ_CHECK(strcmp(s, "True") == 0);
                break;
        case JSON_FALSE:
                FUZZ_CHECK(strcmp(s, "False") == 0);
                break;
        case JSON_INTEGER:
                snprintf(want, sizeof(want), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                FUZZ_CHECK(strcmp(s, want) == 0);
                break;
        case JSON_REAL:
                check_float(json_real_value(v));
                break;
        case JSON_ARRAY:
                FUZZ_CHECK(s[0] == '[' && s[strlen(s) - 1] == ']');
                break;
        case JSON_OBJECT:
                FUZZ_CHECK(s[0] == '{' && s[strlen(s) - 1] == '}');
                break;
        }
        return 0;
}
