/* Python str() coercion of String inputs and component resolution, as 55-heat-config does them. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch.h"
#include "pystr.h"
#include "tap.h"

static void check(const char *json, const char *want) {
        json_auto_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
        _cleanup_free_ char *s = v ? pystr(v) : NULL;
        tap_check_str(s, want, json, __FILE__, __LINE__);
}

static void check_float(double d, const char *want) {
        _cleanup_free_ char *s = pystr_float(d);
        tap_check_str(s, want, want, __FILE__, __LINE__);
}

static void test_str(void) {
        /* Expected values are what CPython 3.11 prints for str(json.loads(...)). */
        check("null", "None");
        check("true", "True");
        check("false", "False");
        check("42", "42");
        check("-7", "-7");
        check("1.5", "1.5");
        check("\"plain\"", "plain");
        check("[1, \"a\", null, true, 2.0]", "[1, 'a', None, True, 2.0]");
        check("{\"file_name\": \"a\", \"n\": [1, {}]}", "{'file_name': 'a', 'n': [1, {}]}");
        check("[{\"file_name\": \"a\"}]", "[{'file_name': 'a'}]");
        check("[\"it's\"]", "[\"it's\"]");
        check("[\"both ' and \\\"\"]", "['both \\' and \"']");
        check("[\"tab\\tnl\\nbs\\\\\"]", "['tab\\tnl\\nbs\\\\']");
        check("[\"\\u0001\\u007f\"]", "['\\x01\\x7f']");
        check("[\"caf\\u00e9 \\u2603\"]", "['caf\xc3\xa9 \xe2\x98\x83']");
        check("[]", "[]");
        check("{}", "{}");
        check_float(1.0, "1.0");
        check_float(0.1, "0.1");
        check_float(1e16, "1e+16");
        check_float(1e15, "1000000000000000.0");
        check_float(0.0001, "0.0001");
        check_float(0.00001, "1e-05");
        check_float(-2.5e-7, "-2.5e-07");
        check_float(123456789.125, "123456789.125");
        check_float(1.0 / 3.0, "0.3333333333333333");
        check_float(-0.0, "-0.0");
        check_float(1.7976931348623157e308, "1.7976931348623157e+308");
}

static const char *input(const json_t *d, const char *name) {
        size_t i;
        json_t *in;
        json_array_foreach(json_object_get(d, "inputs"), i,
                           in) if (strcmp(json_string_value(json_object_get(in, "name")), name) ==
                                   0) return json_string_value(json_object_get(in, "value"));
        return NULL;
}

static void test_prepare(void) {
        json_auto_t *dep =
                json_loads("{\"id\": \"c1\", \"group\": \"script\", \"config\": \"x\", \"inputs\": ["
                           "{\"name\": \"n\", \"type\": \"Number\", \"value\": 3},"
                           "{\"name\": \"s\", \"type\": \"String\", \"value\": 3},"
                           "{\"name\": \"l\", \"type\": \"String\", \"value\": [\"a\", 1]},"
                           "{\"name\": \"b\", \"type\": \"Boolean\", \"value\": true},"
                           "{\"name\": \"nul\", \"type\": \"String\", \"value\": null},"
                           "{\"name\": \"untyped\", \"value\": false},"
                           "{\"name\": \"deploy_action\", \"type\": \"String\", \"value\": \"CREATE\"}]}",
                           0, NULL);
        json_auto_t *p = NULL;

        TAP_CHECK(dispatch_prepare(dep, &p, NULL) == 0);
        TAP_CHECK_STR(input(p, "s"), "3");
        TAP_CHECK_STR(input(p, "l"), "['a', 1]");
        TAP_CHECK_STR(input(p, "nul"), "None");
        TAP_CHECK_STR(input(p, "untyped"), "False");
        TAP_CHECK(input(p, "n") == NULL); /* Number stays a number */
        TAP_CHECK(json_is_true(json_object_get(json_array_get(json_object_get(p, "inputs"), 3), "value")));
        /* The original is untouched. */
        TAP_CHECK(
                json_is_integer(json_object_get(json_array_get(json_object_get(dep, "inputs"), 1), "value")));
        json_auto_t *map = dispatch_inputs_map(p);
        TAP_CHECK_STR(json_string_value(json_object_get(map, "deploy_action")), "CREATE");
}

static json_t *component(const char *action) {
        char *text = xasprintf(
                "{\"id\": \"c2\", \"group\": \"component\", \"config\": {\"configs\": ["
                "{\"actions\": [\"CREATE\", \"UPDATE\"], \"tool\": \"script\", \"config\": \"create\"},"
                "{\"actions\": [\"DELETE\"], \"tool\": \"docker\", \"config\": {\"version\": \"v1beta2\"}},"
                "{\"actions\": [\"UPDATE\"], \"tool\": \"never\", \"config\": \"shadowed\"}]},"
                "\"inputs\": [{\"name\": \"deploy_action\", \"type\": \"String\", \"value\": \"%s\"}]}",
                action);
        json_t *j = json_loads(text, 0, NULL);
        free(text);
        return j;
}

static void test_component(void) {
        json_auto_t *c1 = component("UPDATE"), *c2 = component("DELETE"), *c3 = component("SUSPEND");
        json_auto_t *p1 = NULL, *p2 = NULL, *p3 = NULL;

        TAP_CHECK(dispatch_prepare(c1, &p1, NULL) == 0);
        TAP_CHECK_STR(json_string_value(json_object_get(p1, "group")), "script"); /* the first match wins */
        TAP_CHECK_STR(json_string_value(json_object_get(p1, "config")), "create");
        TAP_CHECK(dispatch_prepare(c2, &p2, NULL) == 0);
        TAP_CHECK_STR(json_string_value(json_object_get(p2, "group")), "docker");
        TAP_CHECK(json_is_object(json_object_get(p2, "config")));
        TAP_CHECK(dispatch_prepare(c3, &p3, NULL) == 1);
        TAP_CHECK(p3 == NULL);

        json_auto_t *bad = json_loads("{\"group\": \"script\"}", 0, NULL);
        _cleanup_error_ PhError *err = NULL;
        TAP_CHECK(dispatch_prepare(bad, &p3, &err) == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err), "without an id");
}

int main(void) {
        test_str();
        test_prepare();
        test_component();
        return tap_done();
}
