/* The hook entry of the docker group: the in-process hook of hooks/docker, which also lists and removes
 * the pods it made. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/deployment.h"
#include "docker/hook-docker.h"
#include "docker/pod.h"
#include "hook.h"

/* The last line of deploy_stderr: what the hook did to the pod ("pod web applied: ..."). */
static char *last_line(const json_t *data) {
        const char *text = json_string_value(json_object_get(data, "deploy_stderr"));
        size_t n = text ? strlen(text) : 0;

        while (n > 0 && text[n - 1] == '\n')
                n--;
        if (n == 0)
                return NULL;
        size_t start = n;
        while (start > 0 && text[start - 1] != '\n')
                start--;
        return xstrndup(text + start, n - start);
}

static int docker_run(const PhHook *h, const json_t *prepared, const PhHookCall *call, PhHookResult *ret,
                      PhError **reterr) {
        PhDockerHookOptions o = *(const PhDockerHookOptions *)h->data;
        const char *name = json_string_value(json_object_get(prepared, "name"));
        _cleanup_error_ PhError *err = NULL;
        json_t *data = NULL;

        o.dropin = call ? call->dropin : NULL;
        o.cancel = call ? call->cancel : NULL;
        int r = docker_hook_run(prepared, &o, &data, &err);
        /* Cut short by the cancel (a pull): not a result, the deployment runs again at the next start. */
        if (http_cancel_requested(o.cancel) && (r < 0 || deployment_result_failed(data))) {
                json_decref(data);
                return ph_error_set(reterr, ECANCELED, "docker hook: cancelled");
        }
        if (r < 0 || !json_is_object(data)) {
                json_decref(data);
                _cleanup_free_ char *msg = xasprintf("podhook: docker hook: %s\n", ph_error_msg(err));
                ret->data = deployment_result("", msg, 1);
                return 0;
        }
        ret->data = data;
        ret->pod = name && *name ? pod_name_sanitize(name) : NULL;
        ret->summary = last_line(data);
        return 0;
}

static int docker_list(const PhHook *h, json_t **ret, PhError **reterr) {
        return docker_hook_list_pods(h->data, ret, reterr);
}

static int docker_remove(const PhHook *h, const char *pod, PhError **reterr) {
        return docker_hook_remove_pod(h->data, pod, reterr);
}

const PhHookOps hook_docker_ops = {
        .name = "docker",
        .group = "docker",
        .run = docker_run,
        .secret_values = docker_hook_secret_values,
        .list_owned = docker_list,
        .remove_owned = docker_remove,
};
