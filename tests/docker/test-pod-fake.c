/* Pod failure paths that a real engine will not produce on demand, against an in-process fake Engine
 * over TCP that keeps its containers (labels, names, states) as the real one does: a stop the engine
 * refuses, a container made although its creation "failed", a read that fails once, a removal the
 * Engine is still busy with after its client died, a name held by a container being removed. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/http.h"
#include "docker/docker.h"
#include "docker/pod-exec.h"
#include "docker/pod.h"
#include "manifest/manifest.h"
#include "tap.h"
#include "testsrv.h"

typedef struct Ctr {
        char id[32];
        char name[96];
        json_t *labels;
        char state[16];
} Ctr;

typedef struct Fake {
        pthread_mutex_t lock;
        Ctr c[16];
        size_t n;
        unsigned next;
        const char *refuse_stop;   /* id whose stop fails */
        const char *lose_create;   /* name whose create "fails" although the container is made */
        unsigned fail_inspects;    /* inspects that answer 500 before they work */
        const char *busy_removing; /* id that is "being removed": DELETE says so, wait makes it gone */
} Fake;

static bool starts_with(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static Ctr *find(Fake *f, const char *id) {
        for (size_t i = 0; i < f->n; i++)
                if (strcmp(f->c[i].id, id) == 0)
                        return &f->c[i];
        return NULL;
}

static void drop(Fake *f, Ctr *c) {
        json_decref(c->labels);
        *c = f->c[--f->n];
}

static Ctr *add(Fake *f, const char *id, const char *name, json_t *labels, const char *state) {
        Ctr *c = &f->c[f->n++];
        snprintf(c->id, sizeof(c->id), "%s", id);
        snprintf(c->name, sizeof(c->name), "%s", name);
        c->labels = labels;
        snprintf(c->state, sizeof(c->state), "%s", state);
        return c;
}

static const char *query_value(const TestRequest *req, const char *key, char *buf, size_t n) {
        const char *q = req->query ? strstr(req->query, key) : NULL;
        if (!q)
                return NULL;
        q += strlen(key);
        size_t len = strcspn(q, "&");
        snprintf(buf, n, "%.*s", (int) (len < n ? len : n - 1), q);
        return buf;
}

static void handle(Fake *f, const TestRequest *req, TestReply *reply) {
        const char *m = req->method, *p = req->path;
        char id[64] = "", buf[128];
        Ctr *c = NULL;

        if (starts_with(p, "/v1.41/containers/") && !starts_with(p, "/v1.41/containers/json") &&
            !starts_with(p, "/v1.41/containers/create")) {
                snprintf(id, sizeof(id), "%.*s", (int) strcspn(p + 18, "/"), p + 18);
                c = find(f, id);
        }
        if (strcmp(p, "/_ping") == 0) {
                testreply_header(reply, "API-Version: 1.41");
                testreply_set(reply, 200, "%s", "OK");
        } else if (strcmp(m, "GET") == 0 && starts_with(p, "/v1.41/images/"))
                testreply_set(reply, 200, "%s", "{\"Id\":\"sha256:fake\"}");
        else if (strcmp(m, "GET") == 0 && strcmp(p, "/v1.41/containers/json") == 0) {
                json_auto_t *list = json_array();
                for (size_t i = 0; i < f->n; i++) {
                        _cleanup_free_ char *slash = xasprintf("/%s", f->c[i].name);
                        json_array_append_new(list, json_pack("{s:s, s:[s], s:s, s:O, s:i}", "Id", f->c[i].id,
                                                              "Names", slash, "State", f->c[i].state,
                                                              "Labels", f->c[i].labels, "Created", (int) i));
                }
                _cleanup_free_ char *t = json_dumps(list, JSON_COMPACT);
                testreply_set(reply, 200, "%s", t);
        } else if (strcmp(p, "/v1.41/containers/create") == 0) {
                const char *name = query_value(req, "name=", buf, sizeof(buf));
                json_auto_t *body = json_loads(req->body, 0, NULL);
                for (size_t i = 0; name && i < f->n; i++)
                        if (strcmp(f->c[i].name, name) == 0) {
                                testreply_set(reply, 409,
                                              "{\"message\":\"Conflict. The container name \\\"/%s\\\" is "
                                              "already in use by "
                                              "container \\\"%s\\\".\"}",
                                              name, f->c[i].id);
                                return;
                        }
                char nid[32];
                snprintf(nid, sizeof(nid), "new%u", ++f->next);
                add(f, nid, name ? name : nid, json_incref(json_object_get(body, "Labels")), "created");
                if (f->lose_create && name && strcmp(name, f->lose_create) == 0)
                        testreply_set(reply, 500, "%s", "{\"message\":\"fake engine: the answer was lost\"}");
                else
                        testreply_set(reply, 201, "{\"Id\":\"%s\"}", nid);
        } else if (!c && starts_with(p, "/v1.41/containers/"))
                testreply_set(reply, 404, "{\"message\":\"No such container: %s\"}", id);
        else if (strcmp(m, "DELETE") == 0) {
                if (f->busy_removing && strcmp(id, f->busy_removing) == 0)
                        testreply_set(reply, 409,
                                      "{\"message\":\"removal of container %s is already in progress\"}", id);
                else {
                        drop(f, c);
                        testreply_set(reply, 204, "%s", "");
                }
        } else if (strstr(p, "/wait") && strstr(req->query ? req->query : "", "condition=removed")) {
                /* the removal the Engine was busy with ends */
                drop(f, c);
                testreply_set(reply, 200, "%s", "{\"StatusCode\":0}");
        } else if (strstr(p, "/stop")) {
                if (f->refuse_stop && strcmp(id, f->refuse_stop) == 0)
                        testreply_set(reply, 500,
                                      "{\"message\":\"cannot stop container: %s: permission denied\"}", id);
                else {
                        snprintf(c->state, sizeof(c->state), "exited");
                        testreply_set(reply, 204, "%s", "");
                }
        } else if (strstr(p, "/start")) {
                snprintf(c->state, sizeof(c->state), "running");
                testreply_set(reply, 204, "%s", "");
        } else if (strstr(p, "/rename")) {
                const char *name = query_value(req, "name=", buf, sizeof(buf));
                snprintf(c->name, sizeof(c->name), "%s", name ? name : "");
                testreply_set(reply, 204, "%s", "");
        } else if (strcmp(m, "GET") == 0 && strstr(p, "/json")) {
                if (f->fail_inspects > 0) {
                        f->fail_inspects--;
                        testreply_set(reply, 500, "%s", "{\"message\":\"fake engine: a bad moment\"}");
                        return;
                }
                bool running = strcmp(c->state, "running") == 0;
                testreply_set(reply, 200,
                              "{\"Id\":\"%s\",\"Name\":\"/"
                              "%s\",\"State\":{\"Running\":%s,\"Status\":\"%s\",\"ExitCode\":0},"
                              "\"RestartCount\":0,\"Config\":{\"Env\":[]},\"HostConfig\":{\"RestartPolicy\":{"
                              "\"Name\":\"always\"}}}",
                              c->id, c->name, running ? "true" : "false", c->state);
        } else
                testreply_set(reply, 500, "{\"message\":\"fake engine: no %s %s\"}", m, p);
}

static void handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        Fake *f = userdata;

        (void) srv;
        pthread_mutex_lock(&f->lock);
        handle(f, req, reply);
        pthread_mutex_unlock(&f->lock);
}

static void reset(Fake *f) {
        while (f->n > 0)
                drop(f, &f->c[0]);
        f->refuse_stop = f->lose_create = f->busy_removing = NULL;
        f->fail_inspects = 0;
}

static json_t *labels(const char *pod, const char *role, const char *container) {
        return json_pack("{s:s, s:s, s:s, s:s?}", "io.podhook.managed", "1", "io.podhook.pod", pod,
                         "io.podhook.role", role, "io.podhook.container", container);
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

static size_t requests_like(TestServer *srv, const char *method, const char *part) {
        size_t n = 0;

        for (size_t i = 0; i < testsrv_count(srv); i++) {
                const TestRequest *r = testsrv_request(srv, i);
                if (strcmp(r->method, method) == 0 && strstr(r->path, part))
                        n++;
        }
        return n;
}

static bool has_name(Fake *f, const char *name) {
        for (size_t i = 0; i < f->n; i++)
                if (strcmp(f->c[i].name, name) == 0)
                        return true;
        return false;
}

int main(void) {
        static const char manifest[] =
                "{\"version\":\"v1beta2\",\"containers\":[{\"name\":\"web\",\"image\":\"busybox:1\"}]}";
        Fake f = {.lock = PTHREAD_MUTEX_INITIALIZER};
        TestServer *srv = testsrv_start(handler, &f);
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_free_ char *host = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_(docker_freep) PhDocker *d = NULL;
        char state[] = "/tmp/phtest-pod-fake.XXXXXX";
        json_t *inspect = NULL;
        int r;

        if (http_global_init(&err) < 0 || !srv || !mkdtemp(state))
                return 1;
        _cleanup_free_ char *run = xasprintf("%s/run", state);
        setenv("PODHOOK_RUN_DIR", run, 1);
        PhPodOptions o = {.grace_seconds = 1, .state_dir = state, .start_window_set = true};
        host = xasprintf("tcp://%s", testsrv_url(srv) + strlen("http://"));
        if (docker_open(host, &d, &err) < 0 ||
            manifest_load(manifest, strlen(manifest), "fake", &m, &warnings, &err) < 0) {
                printf("Bail out! %s\n", ph_error_msg(err));
                return 1;
        }
        TAP_CHECK_STR(testsrv_request(srv, 0)->path, "/_ping");

        /* delete: the refused stop is reported, and the pod is removed all the same (forced), not left
         * half stopped */
        add(&f, "old-infra", "p._infra", labels("p", "infra", NULL), "running");
        add(&f, "old-app", "p.web", labels("p", "app", "web"), "running");
        f.refuse_stop = "old-app";
        r = pod_delete(d, "p", &o, false, &err);
        TAP_CHECK(r < 0);
        TAP_CHECK_HAS(ph_error_msg(err), "stopping pod p: cannot stop container: old-app: permission denied");
        TAP_CHECK(requests(srv, "DELETE", "/v1.41/containers/old-app") == 1);
        TAP_CHECK(requests(srv, "DELETE", "/v1.41/containers/old-infra") == 1);
        err = ph_error_free(err);

        /* apply: the same stop refused while the previous pod (of an older podhook: replaced) is being
         * replaced: the apply fails, rolls back, creates nothing and removes nothing */
        reset(&f);
        testsrv_reset(srv);
        add(&f, "old-infra", "p._infra", labels("p", "infra", NULL), "running");
        add(&f, "old-app", "p.web", labels("p", "app", "web"), "running");
        f.refuse_stop = "old-app";
        r = pod_apply(d, "p", m, &(PhPodMeta){}, &o, &inspect, NULL, &err);
        TAP_CHECK(r < 0);
        TAP_CHECK(inspect == NULL);
        TAP_CHECK_HAS(ph_error_msg(err),
                      "pod p: stopping container p.web: cannot stop container: old-app: permission denied");
        TAP_CHECK_HAS(ph_error_msg(err), "; rolled back: the previous containers run again");
        TAP_CHECK(requests_like(srv, "DELETE", "/containers/") == 0);
        TAP_CHECK(requests(srv, "POST", "/v1.41/containers/create") == 0);
        TAP_CHECK(f.n == 2 && has_name(&f, "p.web") && has_name(&f, "p._infra"));
        err = ph_error_free(err);

        /* a container made although its creation "failed" is found by the update's labels and removed */
        reset(&f);
        testsrv_reset(srv);
        f.lose_create = "g.web";
        r = pod_apply(d, "g", m, &(PhPodMeta){}, &o, &inspect, NULL, &err);
        TAP_CHECK(r < 0);
        TAP_CHECK_HAS(ph_error_msg(err), "creating container g.web: fake engine: the answer was lost");
        TAP_CHECK_HAS(ph_error_msg(err), "rolled back: nothing of the new pod is left");
        TAP_CHECK(requests(srv, "DELETE", "/v1.41/containers/new1") == 1);
        TAP_CHECK(requests(srv, "DELETE", "/v1.41/containers/new2") == 1);
        TAP_CHECK(f.n == 0);
        err = ph_error_free(err);

        /* one read that fails is tried again: the apply succeeds and the pod stays */
        reset(&f);
        testsrv_reset(srv);
        f.fail_inspects = 1;
        r = pod_apply(d, "h", m, &(PhPodMeta){}, &o, &inspect, NULL, &err);
        if (!TAP_CHECK(r == 0))
                printf("# %s\n", ph_error_msg(err));
        TAP_CHECK(json_array_size(inspect) == 2);
        TAP_CHECK(f.n == 2);
        TAP_CHECK(requests_like(srv, "DELETE", "/containers/") == 0);
        inspect = (json_decref(inspect), NULL);
        err = ph_error_free(err);

        /* the same apply again: nothing changed, nothing but reads */
        testsrv_reset(srv);
        r = pod_apply(d, "h", m, &(PhPodMeta){}, &o, &inspect, NULL, &err);
        TAP_CHECK(r == 0);
        size_t writes = 0;
        for (size_t i = 0; i < testsrv_count(srv); i++)
                writes += strcmp(testsrv_request(srv, i)->method, "GET") != 0;
        TAP_CHECK(writes == 0);
        inspect = (json_decref(inspect), NULL);

        /* the Engine is still removing a container of the pod (its client died): the removal is waited
         * for, the name taken again */
        reset(&f);
        testsrv_reset(srv);
        add(&f, "dying", "k.web", labels("k", "app", "web"), "removing");
        f.busy_removing = "dying";
        r = pod_apply(d, "k", m, &(PhPodMeta){}, &o, &inspect, NULL, &err);
        if (!TAP_CHECK(r == 0))
                printf("# %s\n", ph_error_msg(err));
        TAP_CHECK(requests(srv, "POST", "/v1.41/containers/dying/wait") == 1);
        TAP_CHECK(!find(&f, "dying") && has_name(&f, "k.web"));
        inspect = (json_decref(inspect), NULL);
        err = ph_error_free(err);

        d = docker_free(d);
        testsrv_stop(srv);
        reset(&f);
        _cleanup_free_ char *rm = xasprintf("rm -rf '%s'", state);
        if (system(rm) != 0)
                return 1;
        return tap_done();
}
