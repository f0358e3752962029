/* api-routes.h: the handlers, each a thin read of the store or one file written or removed. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PH_LOG_MODULE "api"
#include "api-routes.h"
#include "common/fileio.h"
#include "common/log.h"
#include "docker/pod.h"
#include "dropin.h"
#include "kubelet/convert.h"
#include "metrics.h"

#define EVENTS_DEFAULT_LIMIT 50

char **api_routes_secret_values(void *userdata) {
        return status_secret_values(userdata);
}

static int get_agent(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        const PhApiRoutesEnv *env = userdata;
        return api_reply_json(reply, 200, status_agent_json(env->status));
}

static int get_deployments(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        const PhApiRoutesEnv *env = userdata;
        return api_reply_json(reply, 200,
                              json_pack("{s:o}", "deployments", status_deployments_json(env->status)));
}

static int get_deployment(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        const PhApiRoutesEnv *env = userdata;
        json_t *d = status_deployment_json(env->status, req->param);

        if (!d) {
                _cleanup_free_ char *shown = api_printable(req->param, 200);
                return api_reply_error(reply, 404, "no deployment %s", shown);
        }
        return api_reply_json(reply, 200, d);
}

static int get_pods(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        const PhApiRoutesEnv *env = userdata;
        return api_reply_json(reply, 200, json_pack("{s:o}", "pods", status_pods_json(env->status)));
}

/* The kubelet pods as a v1 PodList, the form a kubelet's --manifest-url reads. Behind the token: the
 * Pods carry their env; secret values come out redacted, as in every answer. */
static int get_kubelet_pods(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        const PhApiRoutesEnv *env = userdata;
        json_auto_t *pods = status_kubelet_pods_json(env->status);

        return api_reply_json(reply, 200, kubelet_pod_list(pods));
}

static int get_pod(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        const PhApiRoutesEnv *env = userdata;
        json_t *p = status_pod_json(env->status, req->param);

        if (!p) {
                _cleanup_free_ char *shown = api_printable(req->param, 200);
                return api_reply_error(reply, 404, "no pod %s", shown);
        }
        return api_reply_json(reply, 200, p);
}

static int get_events(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        const PhApiRoutesEnv *env = userdata;
        const char *limit = api_request_query(req, "limit");
        unsigned long n = EVENTS_DEFAULT_LIMIT;

        if (limit) {
                char *end = NULL;
                errno = 0;
                n = strtoul(limit, &end, 10);
                if (errno || !end || *end || end == limit || limit[0] == '-')
                        return api_reply_error(reply, 400, "limit must be a number (0: every event kept)");
        }
        return api_reply_json(reply, 200, json_pack("{s:o}", "events", status_events_json(env->status, n)));
}

static int get_metrics(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        const PhApiRoutesEnv *env = userdata;
        return api_reply_text(reply, 200, PH_METRICS_CONTENT_TYPE, status_metrics_text(env->status));
}

/* Who owns the pod when it is not the API: "deployment X", "drop-in F"; NULL when nobody else does. */
static char *other_owner(const PhApiRoutesEnv *env, const char *pod) {
        json_auto_t *p = status_pod_json(env->status, pod);
        const json_t *owner = json_object_get(p, "owner");
        const char *kind = json_string_value(json_object_get(owner, "kind"));
        const char *file = json_string_value(json_object_get(owner, "file"));
        const char *id = json_string_value(json_object_get(owner, "id"));
        size_t n = strlen(env->pods_dir);

        if (!kind)
                return NULL;
        if (strcmp(kind, "dropin") == 0) {
                if (file && strncmp(file, env->pods_dir, n) == 0 && file[n] == '/')
                        return NULL;
                return xasprintf("the drop-in %s", file ? file : "?");
        }
        return xasprintf("the deployment %s", id ? id : "?");
}

static int check_pod(const PhApiRequest *req, PhApiReply *reply, const PhApiRoutesEnv *env) {
        _cleanup_free_ char *shown = api_printable(req->param, 200);

        if (!pod_name_is_valid(req->param) || strchr(req->param, ':')) {
                (void) api_reply_error(reply, 400,
                                       "%s is no pod name: [A-Za-z0-9][A-Za-z0-9_.-]*, at most %u characters",
                                       shown, POD_NAME_MAX);
                return -EINVAL;
        }
        _cleanup_free_ char *other = other_owner(env, req->param);
        if (other) {
                (void) api_reply_error(reply, 409, "pod %s belongs to %s: change it there", shown, other);
                return -EBUSY;
        }
        return 0;
}

static json_t *messages_json(const char *text) {
        json_t *lines = json_array();
        _cleanup_free_ char *copy = xstrdup(text ? text : "");
        char *save = NULL;

        for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                json_t *v = json_string(l);
                json_array_append_new(lines, v ? v : json_string("(a message that is not UTF-8)"));
        }
        return lines;
}

static json_t *where_to_look(const char *pod, const char *action) {
        _cleanup_free_ char *id = xasprintf("api:%s.yaml", pod);
        _cleanup_free_ char *status = xasprintf("/v1/pods/%s", pod);
        _cleanup_free_ char *dep = xasprintf("/v1/deployments/%s", id);

        return json_pack("{s:s, s:s, s:s, s:s, s:s}", "pod", pod, "action", action, "deployment", id,
                         "status", status, "result", dep);
}

static int post_pod(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        const PhApiRoutesEnv *env = userdata;
        _cleanup_free_ char *name = xasprintf("%s.yaml", req->param ? req->param : "");
        _cleanup_free_ char *messages = NULL;
        _cleanup_error_ PhError *err = NULL;

        if (check_pod(req, reply, env) < 0)
                return 0;
        if (req->body_len == 0)
                return api_reply_error(reply, 400,
                                       "POST /v1/pods/NAME needs a manifest (YAML or JSON) as its body");
        if (memchr(req->body, '\0', req->body_len))
                return api_reply_error(reply, 400, "the manifest holds a NUL byte");
        int r = dropin_validate(name, req->body, req->body_len, env->state_dir, &messages);
        if (r < 0) {
                json_t *lines = messages_json(messages);
                const char *first = json_string_value(json_array_get(lines, 0));
                (void) api_reply_json(reply, r == -EBADMSG ? 400 : 422,
                                      json_pack("{s:s, s:o}", "error", first ? first : "invalid manifest",
                                                "messages", lines));
                return 0;
        }
        if (mkdir(env->pods_dir, 0700) < 0 && errno != EEXIST) {
                log_warning("cannot make %s: %s", env->pods_dir, strerror(errno));
                return api_reply_error(reply, 500, "cannot keep the manifest: %s", strerror(errno));
        }
        _cleanup_free_ char *path = xasprintf("%s/%s", env->pods_dir, name);
        if (file_write_atomic(path, req->body, req->body_len, 0600, &err) < 0) {
                log_warning("%s", ph_error_msg(err));
                return api_reply_error(reply, 500, "cannot keep the manifest");
        }
        log_info("pod %s posted on the API: applied next from %s", req->param, path);
        if (env->changed)
                env->changed(env->userdata);
        return api_reply_json(reply, 202, where_to_look(req->param, "apply"));
}

static int delete_pod(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        const PhApiRoutesEnv *env = userdata;
        _cleanup_free_ char *shown = api_printable(req->param, 200);

        if (check_pod(req, reply, env) < 0)
                return 0;
        _cleanup_free_ char *path = xasprintf("%s/%s.yaml", env->pods_dir, req->param);
        if (unlink(path) < 0) {
                if (errno == ENOENT)
                        return api_reply_error(reply, 404, "no pod %s was posted on the API", shown);
                log_warning("cannot remove %s: %s", path, strerror(errno));
                return api_reply_error(reply, 500, "cannot remove the manifest: %s", strerror(errno));
        }
        log_info("pod %s deleted on the API: removed next (its volumes are kept)", req->param);
        if (env->changed)
                env->changed(env->userdata);
        return api_reply_json(reply, 202, where_to_look(req->param, "delete"));
}

int api_routes_add(PhApiServer *s, const PhApiRoutesEnv *env, PhError **reterr) {
        void *u = (void *) env;
        const PhApiRoute routes[] = {
                {"GET", "/v1/agent", 0, get_agent, u},
                {"GET", "/v1/deployments", 0, get_deployments, u},
                {"GET", "/v1/deployments/{id}", 0, get_deployment, u},
                {"GET", "/v1/pods", 0, get_pods, u},
                {"GET", "/v1/pods/{name}", 0, get_pod, u},
                {"POST", "/v1/pods/{name}", PH_API_TOKEN | PH_API_BODY, post_pod, u},
                {"DELETE", "/v1/pods/{name}", PH_API_TOKEN, delete_pod, u},
                {"GET", "/v1/events", 0, get_events, u},
                {"GET", "/v1/kubelet/pods", PH_API_TOKEN, get_kubelet_pods, u},
                {"GET", "/metrics", 0, get_metrics, u},
        };

        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                int r = api_server_add_route(s, &routes[i], reterr);
                if (r < 0)
                        return r;
        }
        return 0;
}
