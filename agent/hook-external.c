/* The hook entry of external heat-config hooks: <group> looked up in the hook directories and run with
 * the heat-config contract (hooks/runner). A group without a hook is a failure Heat sees, not a
 * deployment left waiting. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/deployment.h"
#include "hook.h"
#include "runner/runner.h"

/* The runner asks only once the fd is readable, which without a predicate means stop. */
static bool cancel_asked(void *userdata) {
        const PhHttpCancel *c = userdata;

        return !c->cancelled || c->cancelled(c->userdata);
}

static int external_run(const PhHook *h, const json_t *prepared, const PhHookCall *call, PhHookResult *ret,
                        PhError **reterr) {
        const PhExternalHooks *x = h->data;
        const char *group = json_string_value(json_object_get(prepared, "group"));
        const PhHttpCancel *cancel = call ? call->cancel : NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *path = NULL, *msg = NULL;
        json_t *data = NULL;
        int r;

        if (!group)
                group = "Heat::Ungrouped";
        if (runner_find_hook(group, x->dirs, &path, &err) < 0) {
                msg = xasprintf("podhook: %s; the deployment cannot run\n", ph_error_msg(err));
                ret->data = deployment_result("", msg, 1);
                return 0;
        }
        r = runner_run_cancellable(path, prepared, x->timeout, cancel ? cancel->fd : -1, cancel_asked,
                                   (void *) cancel, &data, &err);
        if (r == -ECANCELED) {
                if (reterr)
                        *reterr = TAKE_PTR(err);
                return r;
        }
        if (r < 0) {
                msg = xasprintf("podhook: %s: %s\n", path, ph_error_msg(err));
                ret->data = deployment_result("", msg, 1);
                return 0;
        }
        ret->data = data;
        return 0;
}

const PhHookOps hook_external_ops = {
        .name = "external",
        .group = NULL,
        .run = external_run,
};
