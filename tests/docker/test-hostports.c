/* hostports_check: the manifest's host ports against the running containers' published ones, from
 * tables; the summaries are shaped as dockerd 20.10 and Podman 4.3 list them. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "docker/hostports.h"
#include "manifest/manifest.h"
#include "tap.h"

/* One app publishing ports (YAML flow list of port objects). */
static PhManifest *manifest_with(const char *ports) {
        _cleanup_free_ char *text = xasprintf("version: v1beta2\n"
                                              "containers:\n"
                                              "  - name: web\n"
                                              "    image: podhook.local/busybox:1\n"
                                              "    ports: %s\n",
                                              ports);
        PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;

        if (manifest_load(text, strlen(text), "test.yaml", &m, NULL, &err) < 0) {
                printf("# %s\n", ph_error_msg(err));
                return NULL;
        }
        return m;
}

/* dockerd lists a wildcard binding twice (0.0.0.0 and ::); Podman leaves IP out for it and shows the
 * infra's ports on the apps that joined it too. */
#define DOCKER_OTHER                                                                                         \
        "[{\"Id\":\"a1\",\"Names\":[\"/other._infra\"],\"Labels\":{\"io.podhook.managed\":\"1\","            \
        "\"io.podhook.pod\":\"other\"},\"Ports\":[{\"IP\":\"0.0.0.0\",\"PrivatePort\":80,\"PublicPort\":"    \
        "8080,"                                                                                              \
        "\"Type\":\"tcp\"},{\"IP\":\"::\",\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"}]}]"
#define PODMAN_OTHER                                                                                         \
        "[{\"Id\":\"b1\",\"Names\":[\"/other.web\"],\"Labels\":{\"io.podhook.managed\":\"1\","               \
        "\"io.podhook.pod\":\"other\"},\"Ports\":[{\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"}" \
        "]}]"
#define LOCAL_ONLY                                                                                           \
        "[{\"Id\":\"c1\",\"Names\":[\"/"                                                                     \
        "plain\"],\"Labels\":{},\"Ports\":[{\"IP\":\"127.0.0.1\",\"PrivatePort\":53,"                        \
        "\"PublicPort\":8053,\"Type\":\"udp\"}]}]"
#define OWN_POD                                                                                              \
        "[{\"Id\":\"d1\",\"Names\":[\"/web._infra\"],\"Labels\":{\"io.podhook.managed\":\"1\","              \
        "\"io.podhook.pod\":\"web\"},\"Ports\":[{\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"}]}" \
        "]"
#define FOREIGN_SAME_LABEL                                                                                   \
        "[{\"Id\":\"e1\",\"Names\":[\"/impostor\"],\"Labels\":{\"io.podhook.pod\":\"web\"},"                 \
        "\"Ports\":[{\"PrivatePort\":80,\"PublicPort\":8080,\"Type\":\"tcp\"}]}]"

static const struct {
        const char *ports;   /* the manifest's */
        const char *running; /* GET /containers/json */
        const char *clash;   /* expected message part, NULL: no clash */
} cases[] = {
        {"[{containerPort: 80, hostPort: 8080}]", DOCKER_OTHER,
         "container web: host port 8080/tcp is already published by container other._infra"},
        {"[{containerPort: 80, hostPort: 8080}]", PODMAN_OTHER, "published by container other.web"},
        {"[{containerPort: 80, hostPort: 8080, hostIP: 127.0.0.1}]", DOCKER_OTHER,
         "host port 127.0.0.1:8080/tcp is already published by container other._infra"},
        {"[{containerPort: 80, hostPort: 8081}]", DOCKER_OTHER, NULL},
        {"[{containerPort: 80, hostPort: 8080, protocol: UDP}]", DOCKER_OTHER, NULL},
        {"[{containerPort: 80, hostPort: 0}]", DOCKER_OTHER, NULL},
        {"[{containerPort: 80}]", DOCKER_OTHER, NULL},
        /* one address each: they do not meet; the wildcard meets every address */
        {"[{containerPort: 53, hostPort: 8053, protocol: udp, hostIP: 127.0.0.2}]", LOCAL_ONLY, NULL},
        {"[{containerPort: 53, hostPort: 8053, protocol: udp, hostIP: 127.0.0.1}]", LOCAL_ONLY,
         "already published by container plain"},
        {"[{containerPort: 53, hostPort: 8053, protocol: udp}]", LOCAL_ONLY,
         "already published by container plain"},
        {"[{containerPort: 53, hostPort: 8053, protocol: tcp}]", LOCAL_ONLY, NULL},
        /* the pod's own containers are replaced, not in the way; a label alone does not make one ours */
        {"[{containerPort: 80, hostPort: 8080}]", OWN_POD, NULL},
        {"[{containerPort: 80, hostPort: 8080}]", FOREIGN_SAME_LABEL,
         "already published by container impostor"},
        {"[{containerPort: 80, hostPort: 8080}]", "[]", NULL},
        {"[{containerPort: 80, hostPort: 8080}]", "[{\"Id\":\"f1\"}]", NULL},
};

int main(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(manifest_freep) PhManifest *m = manifest_with(cases[i].ports);
                json_auto_t *running = json_loads(cases[i].running, 0, NULL);
                _cleanup_error_ PhError *err = NULL;

                if (!TAP_CHECK(m && running))
                        continue;
                int r = hostports_check("web", m, running, &err);
                if (cases[i].clash) {
                        TAP_CHECK(r == -EADDRINUSE);
                        TAP_CHECK_HAS(ph_error_msg(err), cases[i].clash);
                } else if (!TAP_CHECK(r == 0))
                        printf("# case %zu: %s\n", i, ph_error_msg(err));
        }
        return tap_done();
}
