/* Pod failure paths that a real engine will not produce on demand, against an in-process fake Engine
 * over TCP: a stop the engine refuses while the previous pod is torn down, a container made although
 * its creation failed. */
#include <jansson.h>
#include <string.h>

#include "common/http.h"
#include "docker/docker.h"
#include "docker/pod.h"
#include "manifest/manifest.h"
#include "tap.h"
#include "testsrv.h"

static bool starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

typedef struct Fake {
        bool ghost_phase; /* the second case: pod "g" */
        bool ghost;       /* the container whose creation "failed" exists */
} Fake;

/* Pod "g" does not exist yet; creating its app container fails as a lost answer would, yet the
 * container exists afterwards, with the pod's labels. */
static void ghost_handler(Fake *f, const TestRequest *req, TestReply *reply) {
        const char *m = req->method, *p = req->path, *q = req->query ? req->query : "";

        if (strcmp(m, "GET") == 0 && starts_with(p, "/v1.41/images/"))
                testreply_set(reply, 200, "%s", "{}");
        else if (strcmp(m, "GET") == 0 && strcmp(p, "/v1.41/containers/json") == 0)
                testreply_set(reply, 200, "%s",
                              f->ghost ? "[{\"Id\":\"ghost\",\"Created\":1,\"Labels\":{\"io.podhook.managed\":\"1\","
                                         "\"io.podhook.pod\":\"g\",\"io.podhook.role\":\"app\"}}]"
                                       : "[]");
        else if (strcmp(p, "/v1.41/containers/create") == 0 && strcmp(q, "name=g._infra") == 0)
                testreply_set(reply, 201, "%s", "{\"Id\":\"infra-new\"}");
        else if (strcmp(p, "/v1.41/containers/create") == 0) {
                f->ghost = true;
                testreply_set(reply, 500, "%s", "{\"message\":\"fake engine: the answer was lost\"}");
        } else if (strcmp(m, "DELETE") == 0) {
                if (strcmp(p, "/v1.41/containers/ghost") == 0)
                        f->ghost = false;
                testreply_set(reply, 204, "%s", "");
        } else
                testreply_set(reply, 500, "{\"message\":\"fake engine: no %s %s\"}", m, p);
}

/* The previous pod "p": an infra and an app container; the engine cannot stop the app. */
static void handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        const char *m = req->method, *p = req->path;
        Fake *f = userdata;

        (void) srv;
        if (strcmp(p, "/version") == 0)
                testreply_set(reply, 200, "%s", "{\"ApiVersion\":\"1.41\"}");
        else if (f->ghost_phase)
                ghost_handler(f, req, reply);
        else if (strcmp(m, "GET") == 0 && starts_with(p, "/v1.41/images/"))
                testreply_set(reply, 200, "%s", "{}");
        else if (strcmp(m, "GET") == 0 && strcmp(p, "/v1.41/containers/json") == 0)
                testreply_set(reply, 200, "%s",
                              "[{\"Id\":\"old-infra\",\"Created\":1,\"Labels\":{\"io.podhook.managed\":\"1\","
                              "\"io.podhook.pod\":\"p\",\"io.podhook.role\":\"infra\"}},"
                              "{\"Id\":\"old-app\",\"Created\":1,\"Labels\":{\"io.podhook.managed\":\"1\","
                              "\"io.podhook.pod\":\"p\",\"io.podhook.role\":\"app\",\"io.podhook.container\":\"web\"}}]");
        else if (strcmp(p, "/v1.41/containers/old-app/stop") == 0)
                testreply_set(reply, 500, "%s", "{\"message\":\"cannot stop container: old-app: permission denied\"}");
        else if (strcmp(p, "/v1.41/containers/old-infra/stop") == 0)
                testreply_set(reply, 204, "%s", "");
        else if (strcmp(m, "DELETE") == 0 && starts_with(p, "/v1.41/containers/old-"))
                testreply_set(reply, 204, "%s", "");
        else if (strcmp(p, "/v1.41/containers/create") == 0)
                testreply_set(reply, 201, "%s", "{\"Id\":\"new\"}");
        else
                testreply_set(reply, 500, "{\"message\":\"fake engine: no %s %s\"}", m, p);
}

/* How many requests were method+path. */
static size_t requests(TestServer *srv, const char *method, const char *path) {
        size_t n = 0;

        for (size_t i = 0; i < testsrv_count(srv); i++) {
                const TestRequest *r = testsrv_request(srv, i);
                if (strcmp(r->method, method) == 0 && strcmp(r->path, path) == 0)
                        n++;
        }
        return n;
}

int main(void) {
        static const char manifest[] = "{\"version\":\"v1beta2\",\"containers\":[{\"name\":\"web\",\"image\":\"busybox:1\"}]}";
        Fake f = {};
        TestServer *srv = testsrv_start(handler, &f);
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *host = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(docker_freep) PhDocker *d = NULL;
        json_t *inspect = NULL;
        int r;

        if (http_global_init(&err) < 0 || !srv)
                return 1;
        host = xasprintf("tcp://%s", testsrv_url(srv) + strlen("http://"));
        if (docker_open(host, &d, &err) < 0 || manifest_load(manifest, strlen(manifest), "fake", &m, &warnings, &err) < 0) {
                printf("Bail out! %s\n", ph_error_msg(err));
                return 1;
        }

        /* delete: the refused stop is reported, and the pod is removed all the same (forced), not left
         * half stopped */
        r = pod_delete(d, "p", &(PhPodOptions) { .grace_seconds = 1 }, false, &err);
        TAP_CHECK(r < 0);
        TAP_CHECK_HAS(ph_error_msg(err), "stopping pod p: cannot stop container: old-app: permission denied");
        TAP_CHECK(requests(srv, "DELETE", "/v1.41/containers/old-app") == 1);
        TAP_CHECK(requests(srv, "DELETE", "/v1.41/containers/old-infra") == 1);
        err = ph_error_free(err);

        /* apply: the same while replacing the previous pod; the apply fails and creates nothing */
        testsrv_reset(srv);
        r = pod_apply(d, "p", m, &(PhPodMeta) {}, &(PhPodOptions) { .grace_seconds = 1 }, &inspect, &err);
        TAP_CHECK(r < 0);
        TAP_CHECK(inspect == NULL);
        TAP_CHECK_HAS(ph_error_msg(err), "replacing the previous pod: stopping pod p: cannot stop container");
        TAP_CHECK(requests(srv, "DELETE", "/v1.41/containers/old-app") == 1);
        TAP_CHECK(requests(srv, "DELETE", "/v1.41/containers/old-infra") == 1);
        TAP_CHECK(requests(srv, "POST", "/v1.41/containers/create") == 0);
        err = ph_error_free(err);

        /* a container made although its creation "failed" is found by the pod's labels and removed */
        testsrv_reset(srv);
        f.ghost_phase = true;
        r = pod_apply(d, "g", m, &(PhPodMeta) {}, &(PhPodOptions) { .grace_seconds = 1 }, &inspect, &err);
        TAP_CHECK(r < 0);
        TAP_CHECK_HAS(ph_error_msg(err), "creating container g.web: fake engine: the answer was lost");
        TAP_CHECK(requests(srv, "DELETE", "/v1.41/containers/infra-new") == 1);
        TAP_CHECK(requests(srv, "DELETE", "/v1.41/containers/ghost") == 1);
        TAP_CHECK(!f.ghost);
        err = ph_error_free(err);

        d = docker_free(d);
        testsrv_stop(srv);
        return tap_done();
}
