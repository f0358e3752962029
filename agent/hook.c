/* The hook table: which entry runs a group. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/deployment.h"
#include "common/secret.h"
#include "hook.h"

void hook_result_done(PhHookResult *r) {
        json_decref(r->data);
        free(r->pod);
        free(r->summary);
        *r = (PhHookResult){};
}

int hook_take_result(const char *name, int r, bool cancelled, json_t *data, const PhError *err,
                     PhHookResult *ret, PhError **reterr) {
        if (cancelled) {
                json_decref(data);
                return ph_error_set(reterr, ECANCELED, "%s hook: cancelled", name);
        }
        if (r < 0 || !json_is_object(data)) {
                json_decref(data);
                _cleanup_free_ char *msg =
                        xasprintf("podhook: %s hook: %s\n", name, err ? ph_error_msg(err) : "no result");
                ret->data = deployment_result("", msg, 1);
                return 0;
        }
        ret->data = data;
        return 1;
}

const PhHook *hook_find(const PhHook *hooks, size_t n, const char *group) {
        const PhHook *any = NULL;

        for (size_t i = 0; i < n; i++) {
                const char *g = hooks[i].ops->group;
                const char *also = hooks[i].also;
                if (group && ((g && strcmp(g, group) == 0) || (also && strcmp(also, group) == 0)))
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
        const PhHook hooks[] = {
                {.ops = &hook_docker_ops}, {.ops = &hook_kubelet_ops}, {.ops = &hook_external_ops}};

        return hook_secret_values(hooks, ELEMENTSOF(hooks), prepared);
}
