#include <jansson.h>
#include <string.h>

#include "common/deployment.h"

const char *deployment_input(const json_t *deployment, const char *name) {
        const json_t *in;
        size_t i;

        json_array_foreach(json_object_get(deployment, "inputs"), i, in) {
                const char *n = json_string_value(json_object_get(in, "name"));
                if (n && strcmp(n, name) == 0)
                        return json_string_value(json_object_get(in, "value"));
        }
        return NULL;
}
