/* The Engine client against an in-process fake Engine over TCP (DOCKER_HOST=tcp://...): version
 * negotiation (GET /_ping's API-Version, GET /version when an engine has no such header), paths, Docker's
 * error text, pull streams that fail inside a 200 answer, and a pull that never ends stopped by its
 * cancel. */
#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <unistd.h>

#include "common/http.h"
#include "docker/docker.h"
#include "docker/hook-docker.h"
#include "tap.h"
#include "testsrv.h"

typedef struct Fake {
        const char *api_version;
        bool no_ping_header; /* an engine (or proxy) whose /_ping has no API-Version */
        bool podman;         /* answer as Podman 4.3's service does */
        unsigned flaky;      /* GET /containers/flaky/json answers 503 this many times, then 200 */
} Fake;

static void handler(TestServer *srv, const TestRequest *req, TestReply *reply, void *userdata) {
        Fake *f = userdata;
        const char *q = req->query ? req->query : "";

        if (strstr(req->path, "/containers/flaky/json") && f->flaky > 0) {
                f->flaky--;
                testreply_set(reply, 503, "%s", "{\"message\":\"try again\"}\n");
        } else if (strstr(req->path, "/containers/flaky/json") ||
                   strstr(req->path, "/containers/fine/json")) {
                testreply_set(reply, 200, "{\"Id\":\"%s\"}", strstr(req->path, "flaky") ? "flaky" : "fine");
        } else if (strstr(req->path, "/containers/gone/json")) {
                testreply_set(reply, 404, "%s", "{\"message\":\"No such container: gone\"}\n");
        } else if (f->podman && strstr(req->path, "/containers/create") && strstr(q, "name=dependent")) {
                /* a 500 of another cause stays -EIO */
                testreply_set(
                        reply, 500, "%s",
                        "{\"cause\":\"container already exists\",\"message\":\"container x has dependent "
                        "containers which must be removed before it\",\"response\":500}\n");
        } else if (strstr(req->path, "/containers/create") && (f->podman || strstr(q, "name=cause-in-use"))) {
                testreply_set(
                        reply, 500, "%s",
                        "{\"cause\":\"that name is already in use\",\"message\":\"container create: creating "
                        "container storage: the container name \\\"x\\\" is already in "
                        "use\",\"response\":500}\n");
        } else if (strcmp(req->path, "/_ping") == 0) {
                if (!f->no_ping_header)
                        testreply_header(reply, "API-Version: %s", f->api_version);
                testreply_set(reply, 200, "%s", "OK");
        } else if (strcmp(req->path, "/version") == 0) {
                testreply_set(reply, 200, "{\"ApiVersion\":\"%s\",\"MinAPIVersion\":\"1.12\"}",
                              f->api_version);
        } else if (strstr(req->path, "/images/create") && strstr(q, "fromImage=fails-late")) {
                /* progress first, then the error: the status is already 200 */
                testreply_set(reply, 200,
                              "{\"status\":\"Pulling from fails-late\",\"id\":\"1\"}\r\n"
                              "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":1,\"total\":2},"
                              "\"id\":\"abc\"}\r\n"
                              "{\"errorDetail\":{\"message\":\"unauthorized: authentication required\"},"
                              "\"error\":\"unauthorized: authentication required\"}\r\n");
        } else if (strstr(req->path, "/images/create") && strstr(q, "fromImage=fails-split")) {
                /* curl reads 16 KiB at a time, headers (about 80 bytes) included: the first line ends some
                 * 35 bytes before that, so the error line arrives in two pieces */
                testreply_set(reply, 200,
                              "{\"status\":\"Pulling fs layer\",\"id\":\"%016232d\"}\n"
                              "{\"errorDetail\":{\"message\":\"manifest unknown\"},\"error\":\"manifest "
                              "unknown\"}\n",
                              0);
        } else if (strstr(req->path, "/images/create") && strstr(q, "fromImage=hangs")) {
                reply->mode = TEST_REPLY_HANG; /* a registry that never answers */
        } else if (strstr(req->path, "/images/create") && strstr(q, "fromImage=fails-early")) {
                testreply_set(
                        reply, 404,
                        "{\"message\":\"pull access denied for fails-early, repository does not exist\"}\n");
        } else if (strstr(req->path, "/images/create")) {
                testreply_set(reply, 200,
                              "{\"status\":\"Pulling\"}\r\n{\"status\":\"Digest: sha256:00\"}\r\n"
                              "{\"status\":\"Status: Downloaded newer image\"}\r\n");
        } else if (strstr(req->path, "/containers/create")) {
                testreply_set(
                        reply, 409,
                        "{\"message\":\"Conflict. The container name \\\"/x\\\" is already in use\"}\n");
        } else if (strstr(req->path, "/containers/json")) {
                /* not JSON, longer than the 300 bytes kept of it, a two-byte character across the cut */
                testreply_set(reply, 500, "%0299d\xc3\xa9 and more", 0);
        } else if (strstr(req->path, "/volumes")) {
                testreply_set(reply, 500, "%s", "bad \xff\xfe bytes");
        } else if (strstr(req->path, "/stop")) {
                testreply_set(reply, 304, "%s", "");
        } else {
                testreply_set(reply, 500, "%s", "plain text failure\n");
        }
        if (f->podman) {
                testreply_header(reply, "Libpod-Api-Version: 4.3.1");
                testreply_header(reply, "Server: Libpod/4.3.1 (linux)");
        } else
                testreply_header(reply, "Server: Docker/20.10.24+dfsg1 (linux)");
}

static void test_engine_from_headers(void) {
        static const struct {
                const char *server, *libpod;
                PhEngineKind kind;
                const char *version;
        } cases[] = {
                {"Docker/20.10.24+dfsg1 (linux)", NULL, PH_ENGINE_DOCKER, "20.10.24+dfsg1"},
                {"Libpod/4.3.1 (linux)", "4.3.1", PH_ENGINE_PODMAN, "4.3.1"},
                {NULL, "5.4.0", PH_ENGINE_PODMAN, "5.4.0"},
                {"libpod/4.9.3 (linux)", NULL, PH_ENGINE_PODMAN, "4.9.3"},
                {"nginx/1.22", NULL, PH_ENGINE_DOCKER, ""},
                {NULL, NULL, PH_ENGINE_DOCKER, ""},
                {NULL, "", PH_ENGINE_DOCKER, ""},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                PhDockerEngine e = docker_engine_from_headers(cases[i].server, cases[i].libpod);
                TAP_CHECK(e.kind == cases[i].kind);
                TAP_CHECK_STR(e.version, cases[i].version);
        }
}

static const TestRequest *last(TestServer *s) {
        return testsrv_request(s, testsrv_count(s) - 1);
}

int main(void) {
        Fake f = {.api_version = "1.43"};
        TestServer *srv = testsrv_start(handler, &f);
        _cleanup_free_ char *host = NULL;
        _cleanup_error_ PhError *err = NULL;
        PhDocker *d = NULL;
        int r;

        if (http_global_init(&err) < 0 || !srv)
                return 1;
        host = xasprintf("tcp://%s", testsrv_url(srv) + strlen("http://"));
        test_engine_from_headers();

        /* A newer engine is spoken to in 1.41; /_ping's header says which it speaks (GET /version would
         * make dockerd run runc). */
        r = docker_open(host, &d, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK_STR(d ? docker_api_version(d) : NULL, "1.41");
        TAP_CHECK(testsrv_count(srv) == 1);
        TAP_CHECK_STR(last(srv)->path, "/_ping");
        /* the engine is told from the headers of /_ping */
        TAP_CHECK(d && docker_engine(d)->kind == PH_ENGINE_DOCKER);
        TAP_CHECK_STR(d ? docker_engine(d)->version : NULL, "20.10.24+dfsg1");
        d = docker_free(d);
        /* without the header, GET /version */
        f.no_ping_header = true;
        r = docker_open(host, &d, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK_STR(d ? docker_api_version(d) : NULL, "1.41");
        TAP_CHECK_STR(last(srv)->path, "/version");
        f.no_ping_header = false;
        TAP_CHECK(d && docker_engine(d)->kind == PH_ENGINE_DOCKER);
        TAP_CHECK_STR(d ? docker_engine(d)->version : NULL, "20.10.24+dfsg1");

        /* An import names the image with its tag in repo (Podman has no tag parameter for imports). */
        r = docker_image_import(d, "tar", 3, "podhook/infra", "0.1-abc", "CMD [\"/pause\"]", &err);
        TAP_CHECK(r == 0);
        TAP_CHECK_STR(last(srv)->query,
                      "fromSrc=-&repo=podhook%2Finfra%3A0.1-abc&changes=CMD%20%5B%22%2Fpause%22%5D");

        /* tag is always sent; the stream's success lines are a success */
        r = docker_image_pull(d, "busybox", false, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK_STR(last(srv)->path, "/v1.41/images/create");
        TAP_CHECK_STR(last(srv)->query, "fromImage=busybox&tag=latest");
        r = docker_image_pull(d, "registry.example:5000/team/app@sha256:abc", false, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK_STR(last(srv)->query, "fromImage=registry.example%3A5000%2Fteam%2Fapp&tag=sha256%3Aabc");

        /* An errorDetail inside the 200 stream is a failure, with its message. */
        r = docker_image_pull(d, "fails-late:1", false, &err);
        TAP_CHECK(r < 0);
        TAP_CHECK_STR(ph_error_msg(err), "pulling image fails-late:1: unauthorized: authentication required");
        err = ph_error_free(err);
        r = docker_image_pull(d, "fails-split:1", false, &err);
        TAP_CHECK(r < 0);
        TAP_CHECK_STR(ph_error_msg(err), "pulling image fails-split:1: manifest unknown");
        err = ph_error_free(err);
        /* A failure before the stream: the normal error object. */
        r = docker_image_pull(d, "fails-early:1", false, &err);
        TAP_CHECK(r == -ENOENT);
        TAP_CHECK_STR(
                ph_error_msg(err),
                "pulling image fails-early:1: pull access denied for fails-early, repository does not exist");
        err = ph_error_free(err);

        /* A pull that never ends (no progress for up to 10 minutes would be waited for) stops as soon as its
         * cancel says so: the agent is stopping. */
        int cp[2];
        TAP_CHECK(pipe(cp) == 0);
        PhHttpCancel cancel = {.fd = cp[0]};
        docker_set_cancel(d, &cancel);
        TAP_CHECK(write(cp[1], "x", 1) == 1);
        r = docker_image_pull(d, "hangs:1", false, &err);
        TAP_CHECK(r == -ECANCELED);
        TAP_CHECK_HAS(ph_error_msg(err), "cancelled");
        err = ph_error_free(err);
        docker_set_cancel(d, NULL);
        close(cp[0]);
        close(cp[1]);

        /* A JSON body goes out as application/json; Docker's message comes back; 409 is -EEXIST. */
        json_auto_t *body = json_pack("{s:s}", "Image", "x");
        r = docker_call(d, "POST", "/containers/create?name=x", body, NULL, NULL, &err);
        TAP_CHECK(r == -EEXIST);
        TAP_CHECK_STR(ph_error_msg(err), "Conflict. The container name \"/x\" is already in use");
        TAP_CHECK_STR(testreq_header(last(srv), "Content-Type"), "application/json");
        TAP_CHECK_STR(last(srv)->body, "{\"Image\":\"x\"}");
        err = ph_error_free(err);
        /* 304 (already stopped) is success */
        long status = 0;
        r = docker_call(d, "POST", "/containers/abc/stop?t=1", NULL, &status, NULL, &err);
        TAP_CHECK(r == 0 && status == 304);
        /* a non-JSON error body is shown as it is */
        r = docker_call(d, "GET", "/info", NULL, &status, NULL, &err);
        TAP_CHECK(r == -EIO && status == 500);
        TAP_CHECK_STR(ph_error_msg(err), "plain text failure");
        err = ph_error_free(err);
        /* concurrent calls report every failure */
        char *paths[] = {"/containers/a/stop", "/info", "/containers/b/stop"};
        r = docker_call_parallel(d, "POST", paths, 3, 5000, false, &err);
        TAP_CHECK(r < 0);
        TAP_CHECK_STR(ph_error_msg(err), "plain text failure");
        err = ph_error_free(err);
        /* Reads made together: one that met a daemon in trouble is tried again (alone), a missing object
         * is an answer at once; each keeps its own result. */
        f.flaky = 2;
        testsrv_reset(srv);
        PhDockerCall reads[] = {{.path = "/containers/flaky/json"},
                                {.path = "/containers/gone/json"},
                                {.path = "/containers/fine/json"}};
        r = docker_get_many(d, reads, 3);
        TAP_CHECK(r == -ENOENT);
        TAP_CHECK(reads[0].r == 0 && reads[0].status == 200);
        TAP_CHECK_STR(json_string_value(json_object_get(reads[0].json, "Id")), "flaky");
        TAP_CHECK(reads[1].r == -ENOENT);
        TAP_CHECK_STR(ph_error_msg(reads[1].err), "No such container: gone");
        TAP_CHECK(reads[2].r == 0);
        TAP_CHECK_STR(json_string_value(json_object_get(reads[2].json, "Id")), "fine");
        TAP_CHECK(testsrv_count(srv) == 5);
        for (size_t i = 0; i < 3; i++)
                docker_call_done(&reads[i]);
        /* Error texts end up in JSON (the hook's result): a raw body is cut between characters, and one
         * that is not UTF-8 text is not quoted at all. */
        r = docker_call(d, "GET", "/containers/json", NULL, NULL, NULL, &err);
        TAP_CHECK(r == -EIO);
        TAP_CHECK(ph_error_msg(err) && strlen(ph_error_msg(err)) == 299);
        err = ph_error_free(err);
        r = docker_call(d, "GET", "/volumes", NULL, NULL, NULL, &err);
        TAP_CHECK(r == -EIO);
        TAP_CHECK_STR(ph_error_msg(err), "HTTP status 500");
        err = ph_error_free(err);
        /* ... so the hook still returns its one result object, with the engine's failure in it. */
        json_auto_t *dep = json_pack("{s:s, s:s, s:[{s:s, s:s}]}", "id", "1", "name", "phtest-utf8", "inputs",
                                     "name", "deploy_action", "value", "DELETE");
        json_auto_t *result = NULL;
        r = docker_hook_run(dep, &(PhDockerHookOptions){.docker_host = host}, &result, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK(json_is_object(result));
        TAP_CHECK(json_integer_value(json_object_get(result, "deploy_status_code")) == 1);
        TAP_CHECK_HAS(json_string_value(json_object_get(result, "deploy_stderr")), "00000");
        d = docker_free(d);

        /* An older engine is spoken to in its own version... */
        f.api_version = "1.30";
        r = docker_open(host, &d, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK_STR(d ? docker_api_version(d) : NULL, "1.30");
        r = docker_image_pull(d, "busybox:1", false, &err);
        TAP_CHECK_STR(last(srv)->path, "/v1.30/images/create");
        d = docker_free(d);
        /* ... unless it is too old for what pods need. */
        f.api_version = "1.24";
        r = docker_open(host, &d, &err);
        TAP_CHECK(r == -ENOTSUP);
        TAP_CHECK_HAS(ph_error_msg(err), "API 1.24 is too old");
        err = ph_error_free(err);

        /* Podman is told by its headers; its 500 for a name in use is -EEXIST as Docker's 409, with its own
         * message, and only that cause. */
        f.api_version = "1.41";
        f.podman = true;
        r = docker_open(host, &d, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK_STR(last(srv)->path, "/_ping");
        TAP_CHECK(d && docker_engine(d)->kind == PH_ENGINE_PODMAN);
        TAP_CHECK_STR(d ? docker_engine(d)->version : NULL, "4.3.1");
        r = docker_call(d, "POST", "/containers/create?name=x", body, &status, NULL, &err);
        TAP_CHECK(r == -EEXIST && status == 500);
        TAP_CHECK_STR(
                ph_error_msg(err),
                "container create: creating container storage: the container name \"x\" is already in use");
        err = ph_error_free(err);
        char *create_paths[] = {"/containers/create?name=x"};
        r = docker_call_parallel(d, "POST", create_paths, 1, 5000, false, &err);
        TAP_CHECK(r == -EEXIST);
        err = ph_error_free(err);
        /* calls made together (an update's waves) say so per call as well */
        PhDockerCall many[] = {
                {.method = "POST", .path = "/containers/create?name=x", .body = body},
                {.method = "POST", .path = "/containers/create?name=dependent", .body = body},
        };
        r = docker_call_many(d, many, 2);
        TAP_CHECK(r == -EEXIST);
        TAP_CHECK(many[0].r == -EEXIST && many[0].status == 500);
        TAP_CHECK(many[1].r == -EIO);
        docker_call_done(&many[0]);
        docker_call_done(&many[1]);
        r = docker_call(d, "POST", "/containers/create?name=dependent", body, NULL, NULL, &err);
        TAP_CHECK(r == -EIO);
        err = ph_error_free(err);
        d = docker_free(d);
        /* Docker's 500 with the same body is no conflict: the cause is Podman's word only. */
        f.podman = false;
        r = docker_open(host, &d, &err);
        TAP_CHECK(r == 0);
        r = docker_call(d, "POST", "/containers/create?name=cause-in-use", body, &status, NULL, &err);
        TAP_CHECK(r == -EIO && status == 500);
        err = ph_error_free(err);
        d = docker_free(d);

        /* tcp://HOST without a port is the Engine's port 2375, as for the docker CLI (not HTTP's 80). */
        r = docker_open("tcp://127.0.0.1", &d, &err);
        TAP_CHECK(r == 0 || strstr(ph_error_msg(err), "127.0.0.1:2375"));
        d = docker_free(d);
        err = ph_error_free(err);
        r = docker_open("tcp://[::1]", &d, &err);
        TAP_CHECK(r == 0 || strstr(ph_error_msg(err), "[::1]:2375"));
        d = docker_free(d);
        err = ph_error_free(err);
        r = docker_open("tcp:///x", &d, &err);
        TAP_CHECK(r == -EINVAL);
        err = ph_error_free(err);

        testsrv_stop(srv);
        return tap_done();
}
