/* The hook table: which entry runs a group. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/secret.h"
#include "hook.h"

void hook_result_done(PhHookResult *r) {
        json_decref(r->data);
        free(r->pod);
        free(r->summary);
        *r = (PhHookResult){};
}

const PhHook *hook_find(const PhHook *hooks, size_t n, const char *group) {
        const PhHook *any = NULL;

        for (size_t i = 0; i < n; i++) {
                const char *g = hooks[i].ops->group;
                if (g && group && strcmp(g, group) == 0)
                        return &hooks[i];
                if (!g && !any)
                        any = &hooks[i];
        }
        return any;
}

char **hook_secret_values(const PhHook *hooks, size_t n, const json_t *prepared) {
        const PhHook *h = hook_find(hooks, n, json_string_value(json_object_get(prepared, "group")));

        if (h && h->ops->secret_values)
                return h->ops->secret_values(prepared);
        return secret_values_of_deployment(prepared);
}

char **hook_default_secret_values(const json_t *prepared) {
        const PhHook hooks[] = {{&hook_docker_ops, NULL}, {&hook_external_ops, NULL}};

        return hook_secret_values(hooks, ELEMENTSOF(hooks), prepared);
}
