/* The Engine client and the infra image against the real Docker Engine. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/http.h"
#include "docker/docker.h"
#include "docker/infra.h"
#include "docker/pod.h"
#include "tap.h"

static void test_ref_split(void) {
        static const char *const cases[][3] = {
                {"busybox", "busybox", "latest"},
                {"podhook.local/busybox:1", "podhook.local/busybox", "1"},
                {"registry:5000/team/app", "registry:5000/team/app", "latest"},
                {"registry:5000/app:2.1", "registry:5000/app", "2.1"},
                {"app@sha256:abcd", "app", "sha256:abcd"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *repo = NULL, *tag = NULL;
                docker_image_ref_split(cases[i][0], &repo, &tag);
                TAP_CHECK_STR(repo, cases[i][1]);
                TAP_CHECK_STR(tag, cases[i][2]);
        }
}

static void test_names(void) {
        _cleanup_free_ char *a = pod_name_sanitize("20_web pod/1");
        _cleanup_free_ char *b = pod_name_sanitize("_hidden");
        TAP_CHECK(pod_name_is_valid("web_pod-1.x"));
        TAP_CHECK(!pod_name_is_valid("_web"));
        TAP_CHECK(!pod_name_is_valid("web:1"));
        TAP_CHECK(!pod_name_is_valid(""));
        TAP_CHECK(strncmp(a, "20_web-pod-1-", 13) == 0 && strlen(a) == 21);
        TAP_CHECK(strncmp(b, "pod-_hidden-", 12) == 0 && strlen(b) == 20);
        TAP_CHECK(pod_name_is_valid(a) && pod_name_is_valid(b));
}

int main(void) {
        _cleanup_(docker_freep) PhDocker *d = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ void *tar = NULL;
        size_t len = 0;
        int r;

        test_ref_split();
        test_names();
        if (http_global_init(&err) < 0)
                return 1;

        /* A bad DOCKER_HOST is a clear error, not a crash. */
        r = docker_open("ssh://somewhere", &d, &err);
        TAP_CHECK(r == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err), "only unix://PATH and tcp://HOST:PORT");
        err = ph_error_free(err);
        r = docker_open("unix:///nonexistent/docker.sock", &d, &err);
        TAP_CHECK(r < 0);
        TAP_CHECK_HAS(ph_error_msg(err), "/nonexistent/docker.sock");
        err = ph_error_free(err);

        r = docker_open(NULL, &d, &err);
        if (r < 0 && !(getenv("PODHOOK_REQUIRE_ALL") && strcmp(getenv("PODHOOK_REQUIRE_ALL"), "1") == 0)) {
                printf("# SKIP the rest: no Docker Engine: %s\n", ph_error_msg(err));
                return tap_done();
        }
        if (!TAP_CHECK(r == 0)) {
                printf("# %s\n", ph_error_msg(err));
                return tap_done();
        }
        TAP_CHECK_STR(docker_api_version(d), "1.41");
        /* The suite runs once per engine and says which one it meant (tests/docker/meson.build). */
        const char *want = getenv("PODHOOK_TEST_ENGINE");
        bool podman = docker_engine(d)->kind == PH_ENGINE_PODMAN;
        printf("# engine: %s %s\n", podman ? "Podman" : "Docker", docker_engine(d)->version);
        if (want)
                TAP_CHECK_STR(podman ? "podman" : "docker", want);
        TAP_CHECK(docker_engine(d)->version[0] != '\0');

        /* The engine's own error text comes through (each words it its own way). */
        r = docker_call(d, "GET", "/containers/phtest-no-such-container/json", NULL, NULL, NULL, &err);
        TAP_CHECK(r == -ENOENT);
        TAP_CHECK_HAS(ph_error_msg(err),
                      podman ? "no container with name or ID \"phtest-no-such-container\" found"
                             : "No such container: phtest-no-such-container");
        err = ph_error_free(err);

        r = docker_image_exists(d, "podhook.local/phtest-absent:1", &err);
        TAP_CHECK(r == 0);

        /* A pull of an unknown image fails with the engine's message (no registry here). */
        r = docker_image_pull(d, "podhook.invalid/phtest-absent:1", false, &err);
        TAP_CHECK(r < 0);
        printf("# %s\n", ph_error_msg(err));
        TAP_CHECK_HAS(ph_error_msg(err), "pulling image podhook.invalid/phtest-absent:1: ");
        err = ph_error_free(err);

        r = infra_tar(&tar, &len, &err);
        TAP_CHECK(r == 0 && len > 100000 && len % 512 == 0);

        r = infra_image_ensure(d, &err);
        if (!TAP_CHECK(r == 0))
                printf("# %s\n", ph_error_msg(err));
        err = ph_error_free(err);
        _cleanup_free_ char *ref = infra_image_ref();
        TAP_CHECK(docker_image_exists(d, ref, NULL) == 1);
        /* podhook/infra:<version>-<12 hex digits of the program's digest> */
        _cleanup_free_ char *tag = infra_image_tag();
        size_t tl = strlen(tag);
        TAP_CHECK(strncmp(ref, "podhook/infra:", 14) == 0 && strcmp(ref + 14, tag) == 0);
        TAP_CHECK(tl > 13 && tag[tl - 13] == '-' && strspn(tag + tl - 12, "0123456789abcdef") == 12);

        /* The import itself, every run: under a test name, removed again. */
        r = docker_image_import(d, tar, len, "podhook.local/phtest-infra", "1", "CMD [\"/pause\"]", &err);
        if (!TAP_CHECK(r == 0))
                printf("# %s\n", ph_error_msg(err));
        err = ph_error_free(err);
        json_t *img = NULL;
        r = docker_call(d, "GET", "/images/podhook.local%2Fphtest-infra:1/json", NULL, NULL, &img, &err);
        TAP_CHECK(r == 0);
        json_t *cmd = json_object_get(json_object_get(img, "Config"), "Cmd");
        TAP_CHECK_STR(json_string_value(json_array_get(cmd, 0)), "/pause");
        json_decref(img);
        r = docker_call(d, "DELETE", "/images/podhook.local%2Fphtest-infra:1", NULL, NULL, NULL, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK(docker_image_exists(d, "podhook.local/phtest-infra:1", NULL) == 0);

        /* A broken tar is refused with the engine's message. */
        r = docker_image_import(d, "not a tar", 9, "podhook.local/phtest-infra", "2", NULL, &err);
        TAP_CHECK(r < 0);
        printf("# %s\n", ph_error_msg(err));
        TAP_CHECK_HAS(ph_error_msg(err), "importing image podhook.local/phtest-infra:2: ");
        err = ph_error_free(err);
        return tap_done();
}
