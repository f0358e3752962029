/* The hook entry of the docker group: the in-process hook of hooks/docker, which also lists and removes
 * the pods it made. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/deployment.h"
#include "docker/hook-docker.h"
#include "hook.h"

static int docker_run(const PhHook *h, const json_t *prepared, const PhHookCall *call, PhHookResult *ret,
                      PhError **reterr) {
        PhDockerHookOptions o = *(const PhDockerHookOptions *) h->data;
        _cleanup_error_ PhError *err = NULL;
        json_t *data = NULL;

        o.dropin = call ? call->dropin : NULL;
        o.cancel = call ? call->cancel : NULL;
        _cleanup_(docker_hook_outcome_done) PhDockerHookOutcome out = {};
        int r = docker_hook_run_outcome(prepared, &o, &data, &out, &err);
        /* Cut short by the cancel (a pull): not a result, the deployment runs again at the next start. */
        bool cancelled = http_cancel_requested(o.cancel) && (r < 0 || deployment_result_failed(data));
        r = hook_take_result("docker", r, cancelled, data, err, ret, reterr);
        if (r <= 0)
                return r;
        ret->pod = TAKE_PTR(out.pod);
        ret->summary = TAKE_PTR(out.summary);
        ret->rolled_back = out.rolled_back;
        return 0;
}

static int docker_list(const PhHook *h, json_t **ret, PhError **reterr) {
        return docker_hook_list_pods(h->data, ret, reterr);
}

static int docker_remove(const PhHook *h, const char *pod, PhError **reterr) {
        return docker_hook_remove_pod(h->data, pod, reterr);
}

static int docker_recover(const PhHook *h, char **ret_summary, PhError **reterr) {
        return docker_hook_recover(h->data, ret_summary, reterr);
}

const PhHookOps hook_docker_ops = {
        .name = "docker",
        .group = "docker",
        .run = docker_run,
        .secret_values = docker_hook_secret_values,
        .list_owned = docker_list,
        .remove_owned = docker_remove,
        .recover = docker_recover,
};
