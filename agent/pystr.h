/* Python's str() of a JSON value, as 55-heat-config applies it to String inputs (LP #1333992):
 * None, True/False, ints, float reprs, and lists/maps as Python reprs with single quotes. */
#pragma once

typedef struct json_t json_t;

/* New string the caller frees. A JSON string is returned as it is (str() of a str). */
char *pystr(const json_t *v);
/* Python's repr() of a float ("1.0", "1e+16", "0.0001", "1e-05"); the caller frees it. */
char *pystr_float(double d);
