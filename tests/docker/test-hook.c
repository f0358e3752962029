/* The hook's in-process API on the real engine, as the agent uses it: run a deployment, list the pods
 * with their deployment ids, remove a pod whose deployment vanished. The app image is the infra image
 * itself, so nothing but the engine is needed. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/http.h"
#include "docker/docker.h"
#include "docker/hook-docker.h"
#include "docker/infra.h"
#include "docker/pod.h"
#include "tap.h"

#define POD "phtest-inproc"

static json_t *deployment(const char *id, const char *action) {
        _cleanup_free_ char *image = infra_image_ref();

        return json_pack("{s:s, s:s, s:s, s:{s:s, s:[{s:s, s:s}]}, s:[{s:s, s:s}, {s:s, s:s}]}", "id", id,
                         "name", POD, "group", "docker", "config", "version", "v1beta2", "containers", "name",
                         "idle", "image", image, "inputs", "name", "deploy_action", "value", action, "name",
                         "deploy_stack_id", "value", "phtest/1");
}

static int pod_containers(PhDocker *d) {
        json_auto_t *list = NULL;
        return pod_list(d, POD, &list, NULL) < 0 ? -1 : (int) json_array_size(list);
}

int main(void) {
        _cleanup_(docker_freep) PhDocker *d = NULL;
        _cleanup_error_ PhError *err = NULL;
        char state[] = "/tmp/phtest-inproc.XXXXXX";
        PhDockerHookOptions o = {.grace_seconds = 2, .state_dir = state};
        int r;

        if (http_global_init(&err) < 0 || !mkdtemp(state))
                return 1;
        _cleanup_free_ char *run = xasprintf("%s/run", state), *rm = xasprintf("rm -rf '%s'", state);
        setenv("PODHOOK_RUN_DIR", run, 1);
        r = docker_open(NULL, &d, &err);
        if (r < 0) {
                printf("1..0 # SKIP no Docker Engine: %s\n", ph_error_msg(err));
                return getenv("PODHOOK_REQUIRE_ALL") && strcmp(getenv("PODHOOK_REQUIRE_ALL"), "1") == 0 ? 1
                                                                                                        : 0;
        }
        (void) pod_delete(d, POD, NULL, true, NULL);

        json_auto_t *dep = deployment("cfg-a", "CREATE"), *res = NULL;
        r = docker_hook_run(dep, &o, &res, &err);
        TAP_CHECK(r == 0);
        if (!TAP_CHECK(json_integer_value(json_object_get(res, "deploy_status_code")) == 0))
                printf("# %s\n", json_string_value(json_object_get(res, "deploy_stderr")));
        json_auto_t *out = json_loads(json_string_value(json_object_get(res, "deploy_stdout")), 0, NULL);
        TAP_CHECK(json_array_size(out) == 2);
        TAP_CHECK(pod_containers(d) == 2);

        json_auto_t *pods = NULL;
        r = docker_hook_list_pods(&o, &pods, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK_STR(json_string_value(json_object_get(json_object_get(pods, POD), "deployment")), "cfg-a");
        TAP_CHECK(json_object_get(json_object_get(pods, POD), "dropin") == NULL);

        r = docker_hook_remove_pod(&o, POD, &err);
        TAP_CHECK(r == 0);
        TAP_CHECK(pod_containers(d) == 0);
        json_decref(pods);
        pods = NULL;
        r = docker_hook_list_pods(&o, &pods, &err);
        TAP_CHECK(r == 0 && !json_object_get(pods, POD));
        /* removing a pod that is gone is not an error */
        TAP_CHECK(docker_hook_remove_pod(&o, POD, &err) == 0);

        /* unusable input is an error return, not a result */
        json_auto_t *bad = json_pack("{s:s}", "group", "docker"), *res2 = NULL;
        r = docker_hook_run(bad, &o, &res2, &err);
        TAP_CHECK(r == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err), "no name");
        err = ph_error_free(err);
        /* an unknown action is a failed result */
        json_auto_t *odd = deployment("cfg-b", "REBOOT"), *res3 = NULL;
        r = docker_hook_run(odd, &o, &res3, &err);
        TAP_CHECK(r == 0 && json_integer_value(json_object_get(res3, "deploy_status_code")) != 0);
        TAP_CHECK_HAS(json_string_value(json_object_get(res3, "deploy_stderr")), "deploy_action REBOOT");
        TAP_CHECK(pod_containers(d) == 0);

        (void) pod_delete(d, POD, NULL, true, NULL);
        if (system(rm) != 0)
                return 1;
        return tap_done();
}
