/* The hook entry of the kubelet backend: group kubelet (and docker with backend = kubelet) through
 * hooks/kubelet, the pods' Pods and states kept in the status store for the status API. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/deployment.h"
#include "docker/hook-docker.h"
#include "hook.h"
#include "kubelet/kubelet-status.h"

static int kubelet_run(const PhHook *h, const json_t *prepared, const PhHookCall *call, PhHookResult *ret,
                       PhError **reterr) {
        const PhKubeletEntry *e = h->data;
        PhKubeletHookOptions o = e->options;
        _cleanup_(kubelet_hook_outcome_done) PhKubeletHookOutcome out = {};
        _cleanup_error_ PhError *err = NULL;
        json_t *data = NULL;

        o.dropin = call ? call->dropin : NULL;
        o.cancel = call ? call->cancel : NULL;
        /* Blocks up to images_timeout + containers_timeout: the worker runs it, the job's cancel ends it. */
        int r = kubelet_hook_run_outcome(prepared, &o, &data, &out, &err);
        bool cancelled = r == -ECANCELED || (r < 0 && http_cancel_requested(o.cancel));
        r = hook_take_result("kubelet", r, cancelled, data, err, ret, reterr);
        if (r <= 0)
                return r;
        if (e->status && out.pod && (out.v1 || out.status)) {
                json_auto_t *brief = kubelet_status_brief(out.status);
                status_pod_kubelet(e->status, out.pod, out.v1, brief);
        }
        ret->pod = TAKE_PTR(out.pod);
        ret->summary = TAKE_PTR(out.summary);
        return 0;
}

/* The files found are the kubelet pods of the store too: after a restart GET /v1/kubelet/pods has them
 * before any of them runs again. */
static int kubelet_list(const PhHook *h, json_t **ret, PhError **reterr) {
        const PhKubeletEntry *e = h->data;
        json_auto_t *owned = NULL;
        const char *pod;
        json_t *v;
        _cleanup_error_ PhError *err = NULL;
        int r = kubelet_list_owned(&e->options, &owned, &err);

        /* No manifest directory (a node without a kubelet): nothing of ours can be there. */
        if (r == -ENOENT) {
                *ret = json_object();
                return 0;
        }
        if (r < 0) {
                if (reterr)
                        *reterr = TAKE_PTR(err);
                return r;
        }
        json_object_foreach(owned, pod, v) {
                if (e->status)
                        status_pod_kubelet(e->status, pod, json_object_get(v, "pod"), NULL);
                (void) json_object_del(v, "pod");
        }
        *ret = TAKE_PTR(owned);
        return 0;
}

static int kubelet_remove(const PhHook *h, const char *pod, PhError **reterr) {
        const PhKubeletEntry *e = h->data;

        return kubelet_remove_owned(&e->options, pod, reterr);
}

const PhHookOps hook_kubelet_ops = {
        .name = "kubelet",
        .group = "kubelet",
        .run = kubelet_run,
        .secret_values = docker_hook_secret_values,
        .list_owned = kubelet_list,
        .remove_owned = kubelet_remove,
};
