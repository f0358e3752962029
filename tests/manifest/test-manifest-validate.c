/* Validation: every rule with its exact message and line, warnings, and the typed manifest it fills. */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "manifest/manifest.h"
#include "tap.h"

/* The error text of a manifest given as the lines after "version: v1beta2\n" (so line 2 is its first
 * line), or NULL when it is valid. */
static char *errors_of(const char *body) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *text = xasprintf("version: v1beta2\n%s", body);

        if (manifest_load(text, strlen(text), "web.yaml", &m, NULL, &err) < 0)
                return xstrdup(ph_error_msg(err));
        return NULL;
}

/* Warnings of a valid or invalid manifest, joined by newlines ("" when none). */
static char *warnings_of(const char *text) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **w = NULL;
        _cleanup_error_ PhError *err = NULL;
        char *out = xstrdup("");

        (void) manifest_load(text, strlen(text), "web.yaml", &m, &w, &err);
        for (size_t i = 0; w && w[i]; i++) {
                char *n = xasprintf("%s%s%s", out, i ? "\n" : "", w[i]);
                free(out);
                out = n;
        }
        return out;
}

#define CHECK_ERRORS(body, want)                                                                             \
        do {                                                                                                 \
                _cleanup_free_ char *_e = errors_of(body);                                                   \
                TAP_CHECK_STR(_e, want);                                                                     \
        } while (0)

static void test_version(void) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;
        static const char no_version[] = "containers: [{name: a, image: b}]\n";
        static const char upper[] = "version: V1Beta1\ncontainers: [{name: a, image: b}]\n";

        TAP_CHECK(manifest_load(no_version, strlen(no_version), "web.yaml", &m, NULL, &err) == -EINVAL);
        TAP_CHECK_STR(ph_error_msg(err), "web.yaml:1: version: is required");
        TAP_CHECK(manifest_load(upper, strlen(upper), "web.yaml", &m, NULL, &err) == 0);
        TAP_CHECK_STR(m ? m->version : NULL, "v1beta1");

        _cleanup_free_ char *e = NULL;
        static const char bad[] = "version: v1\ncontainers: [{name: a, image: b}]\n";
        _cleanup_(manifest_freep) PhManifest *m2 = NULL;
        TAP_CHECK(manifest_load(bad, strlen(bad), "web.yaml", &m2, NULL, &err) == -EINVAL);
        TAP_CHECK_STR(ph_error_msg(err),
                      "web.yaml:1: version: \"v1\" is not supported (use v1beta1 or v1beta2)");
        static const char num[] = "version: 2\ncontainers: [{name: a, image: b}]\n";
        TAP_CHECK(manifest_load(num, strlen(num), "web.yaml", &m2, NULL, &err) == -EINVAL);
        TAP_CHECK_STR(ph_error_msg(err),
                      "web.yaml:1: version: must be a string, not an integer (put it in quotes)");
}

static void test_containers_required(void) {
        CHECK_ERRORS("id: x\n", "web.yaml:1: containers: is required");
        CHECK_ERRORS("containers: []\n", "web.yaml:2: containers: must list at least one container");
        CHECK_ERRORS("containers: {name: a}\n", "web.yaml:2: containers: must be a list, not a map");
        CHECK_ERRORS("containers:\n  - just-a-string\n",
                     "web.yaml:3: containers[0]: must be a map, not a string");
        CHECK_ERRORS("containers:\n  - name: a\n", "web.yaml:3: containers[0].image: is required");
        CHECK_ERRORS("containers:\n  - image: a\n", "web.yaml:3: containers[0].name: is required");
        CHECK_ERRORS("containers:\n  - {name: '', image: b}\n",
                     "web.yaml:3: containers[0].name: must not be empty");
        CHECK_ERRORS("containers:\n  - {name: a, image: 'bad image'}\n",
                     "web.yaml:3: containers[0].image: \"bad image\" is not a valid image reference");
}

static void test_names(void) {
        CHECK_ERRORS(
                "containers:\n  - {name: web.1, image: b}\n",
                "web.yaml:3: containers[0].name: \"web.1\" must not contain a dot: the pod's containers are "
                "named <pod>.<container>");
        CHECK_ERRORS("containers:\n  - {name: _web, image: b}\n",
                     "web.yaml:3: containers[0].name: \"_web\" is not a valid container name: use letters, "
                     "digits, "
                     "'_' and '-', starting with a letter or digit");
        CHECK_ERRORS(
                "containers:\n  - {name: \"a\\tb\", image: b}\n",
                "web.yaml:3: containers[0].name: \"a\\x09b\" is not a valid container name: use letters, "
                "digits, '_' and '-', starting with a letter or digit");
        CHECK_ERRORS("containers:\n  - {name: "
                     "a234567890123456789012345678901234567890123456789012345678901234, image: b}\n",
                     "web.yaml:3: containers[0].name: "
                     "\"a234567890123456789012345678901234567890123456789012345678901234\" "
                     "is longer than 63 characters");
        CHECK_ERRORS("containers:\n  - {name: web, image: b}\n  - {name: db, image: b}\n  - {name: web, "
                     "image: c}\n",
                     "web.yaml:5: containers[2].name: \"web\" is already used by containers[0]");
        /* Underscores and capitals are fine: the seed's example uses them. */
        _cleanup_free_ char *ok = errors_of("containers:\n  - {name: Apache_container-2, image: b}\n");
        TAP_CHECK(ok == NULL);

        CHECK_ERRORS(
                "id: bad/id\ncontainers: [{name: a, image: b}]\n",
                "web.yaml:2: id: \"bad/id\" is not a valid pod id: use letters, digits, '_', '.' and '-', "
                "starting with a letter or digit, at most 128 characters");
        _cleanup_free_ char *id_ok = errors_of("id: my_pod.example-1\ncontainers: [{name: a, image: b}]\n");
        TAP_CHECK(id_ok == NULL);
}

static void test_long_values(void) {
        /* Long values are cut in messages, never inside a UTF-8 sequence: messages go into JSON signals. */
        char name[202] = "a";
        for (int i = 0; i < 50; i++)
                strcat(name, "\xc3\xa9!"); /* "é!" */
        _cleanup_free_ char *body = xasprintf("containers:\n  - {name: \"%s\", image: b}\n", name);
        _cleanup_free_ char *e = errors_of(body);
        json_auto_t *j = e ? json_string(e) : NULL;

        TAP_CHECK(j != NULL);
        TAP_CHECK_HAS(e, "!...\" is not a valid container name");
}

static void test_ports(void) {
        CHECK_ERRORS("containers:\n"
                     "  - name: a\n"
                     "    image: b\n"
                     "    ports:\n"
                     "      - {containerPort: 80, hostPort: 70000}\n",
                     "web.yaml:6: containers[0].ports[0].hostPort: 70000 is out of range 1-65535");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    ports:\n      - {hostPort: 80}\n",
                     "web.yaml:6: containers[0].ports[0].containerPort: is required");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    ports:\n      - containerPort: 0\n",
                     "web.yaml:6: containers[0].ports[0].containerPort: 0 is out of range 1-65535");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    ports:\n      - {containerPort: 1, "
                     "hostPort: -1}\n",
                     "web.yaml:6: containers[0].ports[0].hostPort: -1 is out of range 1-65535");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    ports:\n      - {containerPort: '80'}\n",
                     "web.yaml:6: containers[0].ports[0].containerPort: must be an integer, not the string "
                     "\"80\"");
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n    ports:\n      - {containerPort: 80, protocol: "
                "sctp}\n",
                "web.yaml:6: containers[0].ports[0].protocol: \"sctp\" is not supported (use TCP or UDP)");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    ports:\n      - {containerPort: 80, "
                     "hostIP: 1.2.3}\n",
                     "web.yaml:6: containers[0].ports[0].hostIP: \"1.2.3\" is not a valid IP address");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    ports: 80\n",
                     "web.yaml:5: containers[0].ports: must be a list, not an integer");
        /* Port names: the container-name charset, unique within one container only. */
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    ports:\n"
                     "      - {name: http, containerPort: 80}\n      - {name: http, containerPort: 81}\n",
                     "web.yaml:7: containers[0].ports[1].name: \"http\" is already used by "
                     "containers[0].ports[0]");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    ports:\n      - {name: h.1, containerPort: "
                     "80}\n",
                     "web.yaml:6: containers[0].ports[0].name: \"h.1\" must not contain a dot");
        _cleanup_free_ char *ok =
                errors_of("containers:\n"
                          "  - {name: a, image: b, ports: [{name: http, containerPort: 80}]}\n"
                          "  - {name: c, image: b, ports: [{name: http, containerPort: 81}]}\n");
        TAP_CHECK(ok == NULL);
}

static void test_port_conflicts(void) {
        /* One host port and protocol, once in the pod; tcp and TCP are the same, udp is another. */
        CHECK_ERRORS("containers:\n"
                     "  - name: a\n"
                     "    image: b\n"
                     "    ports: [{containerPort: 80, hostPort: 8000, protocol: tcp}]\n"
                     "  - name: c\n"
                     "    image: d\n"
                     "    ports:\n"
                     "      - {containerPort: 81, hostPort: 8000, protocol: TCP}\n"
                     "      - {containerPort: 82, hostPort: 8000, protocol: UDP}\n",
                     "web.yaml:9: containers[1].ports[0].hostPort: 8000/tcp is already published by "
                     "containers[0].ports[0]");
        /* Different host addresses may share a port; a wildcard conflicts with any. */
        _cleanup_free_ char *ips =
                errors_of("containers:\n"
                          "  - name: a\n"
                          "    image: b\n"
                          "    ports:\n"
                          "      - {containerPort: 80, hostPort: 8000, hostIP: 127.0.0.1}\n"
                          "      - {containerPort: 81, hostPort: 8000, hostIP: 127.0.0.2}\n"
                          "      - {containerPort: 82, hostPort: 8000, hostIP: '::'}\n");
        TAP_CHECK_STR(ips, "web.yaml:8: containers[0].ports[2].hostPort: 8000/tcp is already published by "
                           "containers[0].ports[0]");
        /* An IPv4-mapped IPv6 address is that IPv4 address; :: and 0.0.0.0 are every address. */
        CHECK_ERRORS("containers:\n"
                     "  - name: a\n"
                     "    image: b\n"
                     "    ports:\n"
                     "      - {containerPort: 80, hostPort: 8000, hostIP: '::ffff:127.0.0.1'}\n"
                     "      - {containerPort: 81, hostPort: 8000, hostIP: 127.0.0.1}\n"
                     "      - {containerPort: 82, hostPort: 8000, hostIP: 127.0.0.2, protocol: UDP}\n"
                     "      - {containerPort: 83, hostPort: 8001, hostIP: '::'}\n"
                     "      - {containerPort: 84, hostPort: 8001, hostIP: 0.0.0.0}\n"
                     "      - {containerPort: 85, hostPort: 8002, hostIP: 0.0.0.0}\n"
                     "      - {containerPort: 86, hostPort: 8002, hostIP: '::1'}\n"
                     "      - {containerPort: 87, hostPort: 8003, hostIP: '::ffff:0.0.0.0'}\n"
                     "      - {containerPort: 88, hostPort: 8003, hostIP: 10.0.0.1}\n",
                     "web.yaml:7: containers[0].ports[1].hostPort: 8000/tcp is already published by "
                     "containers[0].ports[0]\n"
                     "web.yaml:10: containers[0].ports[4].hostPort: 8001/tcp is already published by "
                     "containers[0].ports[3]\n"
                     "web.yaml:12: containers[0].ports[6].hostPort: 8002/tcp is already published by "
                     "containers[0].ports[5]\n"
                     "web.yaml:14: containers[0].ports[8].hostPort: 8003/tcp is already published by "
                     "containers[0].ports[7]");
        /* The containers share one network namespace: one container port, once. */
        CHECK_ERRORS(
                "containers:\n"
                "  - {name: a, image: b, ports: [{containerPort: 80}]}\n"
                "  - {name: c, image: d, ports: [{containerPort: 80, protocol: udp}, {containerPort: 80}]}\n",
                "web.yaml:4: containers[1].ports[1].containerPort: 80/tcp is already used by "
                "containers[0].ports[0] (the containers of a pod share one network)");
}

static void test_env(void) {
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n    env:\n      - {name: 1X, value: v}\n",
                "web.yaml:6: containers[0].env[0].name: \"1X\" is not a valid variable name: use letters, "
                "digits and '_', not starting with a digit");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    env:\n      - {value: v}\n",
                     "web.yaml:6: containers[0].env[0].name: is required");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    env:\n      - {name: A, value: 3}\n",
                     "web.yaml:6: containers[0].env[0].value: must be a string, not an integer (put it in "
                     "quotes)");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    env: {A: b}\n",
                     "web.yaml:5: containers[0].env: must be a list, not a map");
}

static void test_volumes(void) {
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    volumeMounts:\n      - {name: data, "
                     "mountPath: /d}\n",
                     "web.yaml:6: containers[0].volumeMounts[0].name: \"data\" is not a volume declared in "
                     "volumes");
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n    volumeMounts:\n      - {name: v, mountPath: d}\n"
                "volumes: [{name: v}]\n",
                "web.yaml:6: containers[0].volumeMounts[0].mountPath: \"d\" must be an absolute path");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    volumeMounts:\n      - {name: v}\n"
                     "volumes: [{name: v}]\n",
                     "web.yaml:6: containers[0].volumeMounts[0].mountPath: is required");
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n    volumeMounts:\n      - {name: v, mountPath: /}\n"
                "volumes: [{name: v}]\n",
                "web.yaml:6: containers[0].volumeMounts[0].mountPath: \"/\" cannot be a mount point");
        /* What the runtime sets up itself: Docker refuses these at start, or (/sys) hides the container's
         * sysfs under the volume. */
        CHECK_ERRORS(
                "containers:\n"
                "  - name: a\n"
                "    image: b\n"
                "    volumeMounts:\n"
                "      - {name: v, mountPath: /proc}\n"
                "      - {name: v, mountPath: /proc/sys/net}\n"
                "      - {name: v, mountPath: /sys/}\n"
                "      - {name: v, mountPath: /x/../sys/fs/cgroup}\n"
                "      - {name: v, mountPath: /dev}\n"
                "      - {name: v, mountPath: /dev/shm}\n"
                "      - {name: v, mountPath: /dev/log}\n"
                "      - {name: v, mountPath: /process}\n"
                "volumes: [{name: v}]\n",
                "web.yaml:6: containers[0].volumeMounts[0].mountPath: \"/proc\" cannot be a mount point: the "
                "container runtime sets up /proc\n"
                "web.yaml:7: containers[0].volumeMounts[1].mountPath: \"/proc/sys/net\" cannot be a mount "
                "point: "
                "the container runtime sets up /proc\n"
                "web.yaml:8: containers[0].volumeMounts[2].mountPath: \"/sys/\" cannot be a mount point: the "
                "container runtime sets up /sys\n"
                "web.yaml:9: containers[0].volumeMounts[3].mountPath: \"/x/../sys/fs/cgroup\" cannot be a "
                "mount "
                "point: the container runtime sets up /sys\n"
                "web.yaml:10: containers[0].volumeMounts[4].mountPath: \"/dev\" cannot be a mount point: the "
                "container runtime sets up /dev (a path below it, such as /dev/shm, can be)");
        CHECK_ERRORS("containers:\n"
                     "  - name: a\n"
                     "    image: b\n"
                     "    volumeMounts:\n"
                     "      - {name: v, mountPath: /data}\n"
                     "      - {name: w, mountPath: /x/../data/}\n"
                     "volumes: [{name: v}, {name: w}]\n",
                     "web.yaml:7: containers[0].volumeMounts[1].mountPath: \"/x/../data/\" is already a "
                     "mount point "
                     "of containers[0].volumeMounts[0]");
        /* Two containers may mount one path each: the rule is per container. */
        _cleanup_free_ char *two = errors_of(
                "containers:\n"
                "  - {name: a, image: b, volumeMounts: [{name: v, mountPath: /d}]}\n"
                "  - {name: c, image: b, volumeMounts: [{name: v, mountPath: /d, readOnly: true}]}\n"
                "volumes: [{name: v}]\n");
        TAP_CHECK(two == NULL);
        CHECK_ERRORS("containers: [{name: a, image: b}]\nvolumes:\n  - name: v\n  - name: v\n",
                     "web.yaml:5: volumes[1].name: \"v\" is already used by volumes[0]");
        CHECK_ERRORS(
                "containers: [{name: a, image: b}]\nvolumes:\n  - name: my.vol\n",
                "web.yaml:4: volumes[0].name: \"my.vol\" must not contain a dot: the pod's volumes are named "
                "<pod>.<volume>");
        CHECK_ERRORS("containers: [{name: a, image: b}]\nvolumes:\n  - {}\n",
                     "web.yaml:4: volumes[0].name: is required");
        CHECK_ERRORS("containers: [{name: a, image: b}]\nvolumes:\n  - name: v\n    source: {hostDir: {path: "
                     "rel}}\n",
                     "web.yaml:5: volumes[0].source.hostDir.path: \"rel\" must be an absolute path");
        CHECK_ERRORS("containers: [{name: a, image: b}]\nvolumes:\n  - name: v\n    source: {hostDir: {path: "
                     "''}}\n",
                     "web.yaml:5: volumes[0].source.hostDir.path: must not be empty");
        CHECK_ERRORS("containers: [{name: a, image: b}]\nvolumes:\n  - name: v\n    source: {hostDir: {}}\n",
                     "web.yaml:5: volumes[0].source.hostDir.path: is required");
        CHECK_ERRORS(
                "containers: [{name: a, image: b}]\nvolumes:\n  - name: v\n    source:\n      hostDir:\n",
                "web.yaml:6: volumes[0].source.hostDir.path: is required");
        CHECK_ERRORS("containers: [{name: a, image: b}]\nvolumes:\n  - name: v\n    source: {hostDir: {path: "
                     "/a}, emptyDir: {}}\n",
                     "web.yaml:5: volumes[0].source: has more than one of hostDir, emptyDir, secret, "
                     "configMap and persistentDisk: a "
                     "volume has exactly one source");
        CHECK_ERRORS(
                "containers: [{name: a, image: b}]\nvolumes:\n  - name: v\n    source: {}\n",
                "web.yaml:5: volumes[0].source: must have one of hostDir, emptyDir, secret or configMap");
        CHECK_ERRORS(
                "containers: [{name: a, image: b}]\nvolumes:\n  - name: v\n    source:\n      "
                "persistentDisk: {pdName: x}\n",
                "web.yaml:6: volumes[0].source.persistentDisk: is not supported on this node (use hostDir or "
                "emptyDir)");
}

/* Errors (or warnings) of a manifest validated for a node whose agent keeps its state in state_dir. */
static char *problems_for(const char *body, const char *state_dir, bool warnings) {
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **w = NULL;
        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *text =
                xasprintf("version: v1beta2\ncontainers: [{name: a, image: b}]\n%s", body);
        const PhManifestHost host = {.state_dir = state_dir};
        char *out = xstrdup("");

        if (manifest_doc_parse(text, strlen(text), "web.yaml", &doc, &err) < 0)
                return xstrdup(ph_error_msg(err));
        int r = manifest_validate_for(doc, &host, &m, &w, &err);
        if (!warnings)
                return r < 0 ? (free(out), xstrdup(ph_error_msg(err))) : out;
        for (size_t i = 0; w && w[i]; i++) {
                char *n = xasprintf("%s%s%s", out, i ? "\n" : "", w[i]);
                free(out);
                out = n;
        }
        return out;
}

static void test_host_dirs(void) {
        static const struct {
                const char *path, *error, *warning;
        } cases[] = {
                {"/var/lib/podhook",
                 "\"/var/lib/podhook\" is podhook's state directory: a pod must not reach it", NULL},
                {"/var/lib/podhook/outbox/",
                 "\"/var/lib/podhook/outbox/\" is inside podhook's state directory "
                 "/var/lib/podhook: a pod must not reach it",
                 NULL},
                {"/var/lib",
                 "\"/var/lib\" holds podhook's state directory /var/lib/podhook: a pod must not reach it",
                 NULL},
                {"/", "\"/\" holds podhook's state directory /var/lib/podhook: a pod must not reach it",
                 NULL},
                {"/var/./lib/../lib/podhook",
                 "\"/var/./lib/../lib/podhook\" is podhook's state directory: a pod must "
                 "not reach it",
                 NULL},
                {"/etc", NULL, "\"/etc\" gives the pod the host's configuration, passwords included"},
                {"/var/run/docker.sock", NULL,
                 "\"/var/run/docker.sock\" is the Docker Engine's socket: the pod gets control of the "
                 "engine, and so "
                 "of the host"},
                {"/run", NULL,
                 "\"/run\" holds the Docker Engine's socket: the pod gets control of the engine, and so of "
                 "the host"},
                {"/var/run/", NULL,
                 "\"/var/run/\" holds the Docker Engine's socket: the pod gets control of the engine, and so "
                 "of the "
                 "host"},
                {"/run/docker.sock", NULL,
                 "\"/run/docker.sock\" is the Docker Engine's socket: the pod gets control of the engine, "
                 "and so of "
                 "the host"},
                {"/var/lib/podhook-data", NULL, NULL},
                {"/etc/nginx", NULL, NULL},
                {"/srv/www", NULL, NULL},
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *body = xasprintf(
                        "volumes:\n  - name: v\n    source: {hostDir: {path: '%s'}}\n", cases[i].path);
                _cleanup_free_ char *e = problems_for(body, "/var/lib/podhook", false);
                _cleanup_free_ char *w = problems_for(body, "/var/lib/podhook", true);
                _cleanup_free_ char *want_e =
                        cases[i].error
                                ? xasprintf("web.yaml:5: volumes[0].source.hostDir.path: %s", cases[i].error)
                                : xstrdup("");
                _cleanup_free_ char *want_w =
                        cases[i].warning ? xasprintf("web.yaml:5: volumes[0].source.hostDir.path: %s",
                                                     cases[i].warning)
                                         : xstrdup("");
                TAP_CHECK_STR(e, want_e);
                TAP_CHECK_STR(w, want_w);
        }
        /* Without a state directory (a manifest checked on its own): "/" is only a warning. */
        _cleanup_free_ char *root =
                problems_for("volumes:\n  - name: v\n    source: {hostDir: {path: /}}\n", NULL, true);
        TAP_CHECK_STR(root,
                      "web.yaml:5: volumes[0].source.hostDir.path: \"/\" gives the pod the host's whole file "
                      "system");
        /* A state directory given with a trailing slash or dots is the same directory. */
        _cleanup_free_ char *odd = problems_for(
                "volumes:\n  - name: v\n    source: {hostDir: {path: /srv/state}}\n", "/srv/./state/", false);
        TAP_CHECK_STR(
                odd,
                "web.yaml:5: volumes[0].source.hostDir.path: \"/srv/state\" is podhook's state directory: "
                "a pod must not reach it");
}

static void test_resources_and_policies(void) {
        CHECK_ERRORS("containers:\n  - {name: a, image: b, memory: -1}\n",
                     "web.yaml:3: containers[0].memory: -1 must not be negative");
        CHECK_ERRORS("containers:\n  - {name: a, image: b, memory: 1000}\n",
                     "web.yaml:3: containers[0].memory: 1000 bytes is less than Docker's minimum of 6291456 "
                     "(6 MiB)");
        CHECK_ERRORS("containers:\n  - {name: a, image: b, cpu: -100}\n",
                     "web.yaml:3: containers[0].cpu: -100 must not be negative");
        CHECK_ERRORS(
                "containers:\n  - {name: a, image: b, cpu: 9223372036854775807}\n",
                "web.yaml:3: containers[0].cpu: 9223372036854775807 is more than 256000 (256 CPUs, Docker's "
                "largest CPU shares)");
        _cleanup_free_ char *max_cpu = errors_of("containers:\n  - {name: a, image: b, cpu: 256000}\n");
        TAP_CHECK(!max_cpu);
        CHECK_ERRORS("containers:\n  - {name: a, image: b, privileged: maybe}\n",
                     "web.yaml:3: containers[0].privileged: must be true or false, not a string");
        CHECK_ERRORS(
                "containers:\n  - {name: a, image: b, imagePullPolicy: Always}\n",
                "web.yaml:3: containers[0].imagePullPolicy: \"Always\" is not one of PullAlways, PullNever, "
                "PullIfNotPresent");
        CHECK_ERRORS("containers:\n  - {name: a, image: b, command: /bin/sh}\n",
                     "web.yaml:3: containers[0].command: must be a list, not a string");
        CHECK_ERRORS("containers:\n  - {name: a, image: b, workingDir: tmp}\n",
                     "web.yaml:3: containers[0].workingDir: \"tmp\" must be an absolute path");
        CHECK_ERRORS("containers: [{name: a, image: b}]\nrestartPolicy:\n  always: {}\n  never: {}\n",
                     "web.yaml:3: restartPolicy: only one of always, onFailure and never may be set");
        CHECK_ERRORS("containers: [{name: a, image: b}]\nrestartPolicy: Always\n",
                     "web.yaml:3: restartPolicy: must be a map, not a string");
        CHECK_ERRORS("containers: [{name: a, image: b}]\nrestartPolicy: {never: 1}\n",
                     "web.yaml:3: restartPolicy.never: must be a map, not an integer");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    livenessProbe:\n      exec: {command: "
                     "[true, x]}\n",
                     "web.yaml:6: containers[0].livenessProbe.exec.command[0]: must be a string, not "
                     "true/false (put "
                     "it in quotes)");
}

static void test_all_together(void) {
        /* Every problem at once, in the order of the lines. */
        CHECK_ERRORS("restartPolicy: {always: {}, onFailure: {}}\n"
                     "containers:\n"
                     "  - name: a.b\n"
                     "    image: x\n"
                     "    ports: [{containerPort: 99999}]\n"
                     "  - name: c\n",
                     "web.yaml:2: restartPolicy: only one of always, onFailure and never may be set\n"
                     "web.yaml:4: containers[0].name: \"a.b\" must not contain a dot: the pod's containers "
                     "are named "
                     "<pod>.<container>\n"
                     "web.yaml:6: containers[0].ports[0].containerPort: 99999 is out of range 1-65535\n"
                     "web.yaml:7: containers[1].image: is required");
}

static void test_warnings(void) {
        static const char text[] = "version: v1beta2\n"
                                   "colour: blue\n"
                                   "containers:\n"
                                   "  - name: a\n"
                                   "    image: b\n"
                                   "    capAdd: [NET_ADMIN]\n"
                                   "    ports: [{containerPort: 80, nme: x}]\n"
                                   "    livenessProbe:\n"
                                   "      httpGet: {path: /healthz, port: 80}\n"
                                   "      initialDelaySeconds: 5\n"
                                   "    lifecycle:\n"
                                   "      preStop: {exec: {command: [/bin/stop]}}\n"
                                   "volumes:\n"
                                   "  - name: v\n"
                                   "    source: {gitRepo: {repository: x}, emptyDir: {}}\n";
        _cleanup_free_ char *w = warnings_of(text);
        TAP_CHECK_STR(w, "web.yaml:2: colour: unknown field\n"
                         "web.yaml:6: containers[0].capAdd: unknown field\n"
                         "web.yaml:7: containers[0].ports[0].nme: unknown field\n"
                         "web.yaml:15: volumes[0].source.gitRepo: unknown field");
        /* Warnings never make a manifest invalid. */
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        TAP_CHECK(manifest_load(text, strlen(text), "web.yaml", &m, NULL, NULL) == 0);
        /* And they come with an invalid one too. */
        _cleanup_free_ char *w2 = warnings_of("version: v1beta2\ncontainers: []\nfoo: 1\n");
        TAP_CHECK_STR(w2, "web.yaml:3: foo: unknown field");
}

/* The typed manifest of a text that must be valid (one TAP line), or NULL. */
static PhManifest *load_valid(const char *text) {
        _cleanup_error_ PhError *err = NULL;
        PhManifest *m = NULL;

        if (!TAP_CHECK(manifest_load(text, strlen(text), "web.yaml", &m, NULL, &err) == 0))
                printf("# %s\n", ph_error_msg(err));
        return m;
}

static void test_typed(void) {
        static const char text[] =
                "version: v1beta2\n"
                "id: pod1\n"
                "uuid: abc-1234\n"
                "containers:\n"
                "  - name: web\n"
                "    image: podhook.local/apache:1\n"
                "    command: [/run-apache.sh, -v]\n"
                "    workingDir: /var/www\n"
                "    memory: 67108864\n"
                "    cpu: 250\n"
                "    privileged: true\n"
                "    imagePullPolicy: PullNever\n"
                "    ports:\n"
                "      - {name: http, containerPort: 80, hostPort: 8000, protocol: Udp, hostIP: '::1'}\n"
                "      - {containerPort: 443}\n"
                "    env: [{name: A, value: b}, {name: C}]\n"
                "    volumeMounts:\n"
                "      - {name: host, mountPath: /h, readOnly: true}\n"
                "      - {name: empty, mountPath: /e}\n"
                "  - name: db\n"
                "    image: podhook.local/redis:1\n"
                "volumes:\n"
                "  - {name: host, source: {hostDir: {path: /srv/x}}}\n"
                "  - {name: empty, source: {emptyDir: {}}}\n"
                "  - {name: none}\n"
                "restartPolicy: {never: {}}\n";
        _cleanup_(manifest_freep) PhManifest *m = load_valid(text);

        if (!m)
                return;
        TAP_CHECK_STR(m->id, "pod1");
        TAP_CHECK_STR(m->uuid, "abc-1234");
        TAP_CHECK(m->restart_policy == PH_RESTART_NEVER);
        TAP_CHECK(m->n_containers == 2 && m->n_volumes == 3);
        const PhContainer *c = &m->containers[0];
        TAP_CHECK(c->command && strcmp(c->command[0], "/run-apache.sh") == 0 &&
                  strcmp(c->command[1], "-v") == 0 && !c->command[2]);
        TAP_CHECK_STR(c->working_dir, "/var/www");
        TAP_CHECK(c->memory == 67108864 && c->cpu == 250 && c->privileged);
        TAP_CHECK_STR(c->image_pull_policy, "PullNever");
        TAP_CHECK(c->n_ports == 2);
        TAP_CHECK_STR(c->ports[0].name, "http");
        TAP_CHECK_STR(c->ports[0].protocol, "udp");
        TAP_CHECK_STR(c->ports[0].host_ip, "::1");
        TAP_CHECK(c->ports[0].container_port == 80 && c->ports[0].host_port == 8000);
        TAP_CHECK(c->ports[1].name == NULL && c->ports[1].host_port == 0 && c->ports[1].host_ip == NULL);
        TAP_CHECK_STR(c->ports[1].protocol, "tcp");
        TAP_CHECK(c->n_env == 2);
        TAP_CHECK_STR(c->env[1].value, "");
        TAP_CHECK(c->n_mounts == 2 && c->mounts[0].read_only && !c->mounts[1].read_only);
        TAP_CHECK(json_is_object(c->json) && json_object_get(c->json, "ports"));
        TAP_CHECK(m->containers[1].command == NULL && m->containers[1].n_ports == 0);
        const PhVolume *v = manifest_find_volume(m, "host");
        TAP_CHECK(v && v->kind == PH_VOLUME_HOST_DIR && strcmp(v->host_path, "/srv/x") == 0);
        v = manifest_find_volume(m, "empty");
        TAP_CHECK(v && v->kind == PH_VOLUME_EMPTY_DIR && !v->host_path);
        v = manifest_find_volume(m, "none");
        TAP_CHECK(v && v->kind == PH_VOLUME_EMPTY_DIR);
        TAP_CHECK(manifest_find_volume(m, "nope") == NULL);
        TAP_CHECK(m->containers[1].n_mounts == 0);
}

/* Probes and lifecycle hooks are kept as written, for podhook to run them. */
static void test_typed_handlers(void) {
        static const char text[] = "version: v1beta2\n"
                                   "containers:\n"
                                   "  - name: web\n"
                                   "    image: b\n"
                                   "    ports: [{name: http, containerPort: 80}]\n"
                                   "    livenessProbe:\n"
                                   "      httpGet: {path: /healthz, port: http, host: 127.0.0.1}\n"
                                   "      initialDelaySeconds: 5\n"
                                   "      timeoutSeconds: 2\n"
                                   "    lifecycle:\n"
                                   "      postStart: {httpGet: {path: /up, port: 8080}}\n"
                                   "      preStop: {exec: {command: [/bin/stop, now]}}\n"
                                   "  - name: db\n"
                                   "    image: b\n"
                                   "    livenessProbe: {tcpSocket: {port: \"6379\"}}\n";
        _cleanup_(manifest_freep) PhManifest *m = load_valid(text);

        if (!m)
                return;
        const PhProbe *p = m->containers[0].liveness_probe;
        TAP_CHECK(p && p->handler.actions == PH_HANDLER_HTTP_GET);
        TAP_CHECK_STR(p ? p->handler.http_path : NULL, "/healthz");
        TAP_CHECK_STR(p ? p->handler.http_host : NULL, "127.0.0.1");
        TAP_CHECK(p && p->handler.http_port.kind == PH_PORT_REF_NAME &&
                  strcmp(p->handler.http_port.name, "http") == 0);
        TAP_CHECK(p && p->has_initial_delay && p->initial_delay_seconds == 5 && p->has_timeout &&
                  p->timeout_seconds == 2);
        /* a port name is the container's port of that name; digits in a string are a number */
        TAP_CHECK(p && manifest_handler_port(&m->containers[0], &p->handler.http_port) == 80);
        const PhHandler *h = m->containers[0].post_start;
        TAP_CHECK(h && h->actions == PH_HANDLER_HTTP_GET && h->http_port.kind == PH_PORT_REF_NUMBER &&
                  h->http_port.number == 8080);
        TAP_CHECK(h && manifest_handler_port(&m->containers[0], &h->http_port) == 8080);
        h = m->containers[0].pre_stop;
        TAP_CHECK(h && h->actions == PH_HANDLER_EXEC && h->exec_command &&
                  strcmp(h->exec_command[1], "now") == 0);
        p = m->containers[1].liveness_probe;
        TAP_CHECK(p && p->handler.actions == PH_HANDLER_TCP_SOCKET && !p->has_initial_delay &&
                  !p->has_timeout);
        TAP_CHECK(p && manifest_handler_port(&m->containers[1], &p->handler.tcp_port) == 6379);
        TAP_CHECK(m->containers[1].post_start == NULL && m->containers[1].pre_stop == NULL);
        PhPortRef none = {.kind = PH_PORT_REF_NAME, .name = (char *) "nope"};
        TAP_CHECK(manifest_handler_port(&m->containers[0], &none) == 0);
}

/* What podhook runs must be runnable: one action, a port it can connect to, a command. */
static void test_handler_errors(void) {
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    livenessProbe: {}\n",
                     "web.yaml:5: containers[0].livenessProbe: has no action: needs exactly one of httpGet, "
                     "tcpSocket and exec");
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n"
                "    livenessProbe: {exec: {command: [x]}, tcpSocket: {port: 1}}\n",
                "web.yaml:5: containers[0].livenessProbe: has more than one action: needs exactly one of "
                "httpGet, tcpSocket and exec");
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n    lifecycle:\n      preStop: {}\n",
                "web.yaml:6: containers[0].lifecycle.preStop: has no action: needs exactly one of httpGet "
                "and exec");
        /* a lifecycle hook has no tcpSocket (an unknown field, warned about) */
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n    lifecycle:\n      postStart: {tcpSocket: {port: "
                "1}}\n",
                "web.yaml:6: containers[0].lifecycle.postStart: has no action: needs exactly one of httpGet "
                "and exec");
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n    livenessProbe: {exec: {command: []}}\n",
                "web.yaml:5: containers[0].livenessProbe.exec.command: is required (a list of at least one "
                "argument)");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    livenessProbe: {httpGet: {path: /}}\n",
                     "web.yaml:5: containers[0].livenessProbe.httpGet.port: is required");
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n    livenessProbe: {tcpSocket: {port: http}}\n",
                "web.yaml:5: containers[0].livenessProbe.tcpSocket.port: \"http\" is not the name of a port "
                "of this container");
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n    livenessProbe: {tcpSocket: {port: 70000}}\n",
                "web.yaml:5: containers[0].livenessProbe.tcpSocket.port: 70000 is out of range 1-65535");
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n    livenessProbe: {tcpSocket: {port: [80]}}\n",
                "web.yaml:5: containers[0].livenessProbe.tcpSocket.port: must be a port number or the name "
                "of a port of this container");
        CHECK_ERRORS("containers:\n  - name: a\n    image: b\n    livenessProbe: {httpGet: 1}\n",
                     "web.yaml:5: containers[0].livenessProbe.httpGet: must be a map, not an integer");
        CHECK_ERRORS(
                "containers:\n  - name: a\n    image: b\n"
                "    livenessProbe: {exec: {command: [x]}, initialDelaySeconds: -1, timeoutSeconds: "
                "3000000000}\n",
                "web.yaml:5: containers[0].livenessProbe.initialDelaySeconds: -1 must not be negative\n"
                "web.yaml:5: containers[0].livenessProbe.timeoutSeconds: 3000000000 is more than 2147483647");
}

int main(void) {
        test_host_dirs();
        test_version();
        test_containers_required();
        test_names();
        test_long_values();
        test_ports();
        test_port_conflicts();
        test_env();
        test_volumes();
        test_resources_and_policies();
        test_all_together();
        test_warnings();
        test_typed();
        test_typed_handlers();
        test_handler_errors();
        return tap_done();
}
