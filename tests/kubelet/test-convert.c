/* The v1beta2 -> v1 Pod conversion: the mapping rules from tables, every field, every refusal with its
 * field path, the labels and annotations, and YAML that reads back as the same Pod. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "kubelet/convert.h"
#include "kubelet/yaml-out.h"
#include "manifest/manifest-internal.h"
#include "tap.h"

/* --- the rules, from tables ---------------------------------------------------------------------- */

static void test_name_map(void) {
        static const struct {
                const char *in, *out;
        } t[] = {
                {"apache_container", "apache-container"},
                {"http_port", "http-port"},
                {"test_volume", "test-volume"},
                {"Web_1", "web-1"},
                {"web", "web"},
                {"A-B_c", "a-b-c"},
                {"x.Y_z", "x.y-z"},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *v = kubelet_name_map(t[i].in);
                TAP_CHECK_STR(v, t[i].out);
        }
}

static void test_name_rules(void) {
        static const struct {
                const char *s;
                bool label, subdomain, port, label_value;
        } t[] = {
                {"web", true, true, true, true},
                {"web-1", true, true, true, true},
                {"1web", true, true, true, true},
                {"80", true, true, false, true}, /* a port name needs a letter */
                {"web-", false, false, false, false},
                {"-web", false, false, false, false},
                {"Web", false, false, false, true},
                {"web_1", false, false, false, true},
                {"a--b", true, true, false, true}, /* "--" is only refused in port names */
                {"web.shop", false, true, false, true},
                {"web..shop", false, false, false, true},
                {"web.", false, false, false, false},
                {"", false, false, false, true},
                {"abcdefghijklmno", true, true, true, true},   /* 15 */
                {"abcdefghijklmnop", true, true, false, true}, /* 16 */
                {"a b", false, false, false, false},
                {"sha256:abc", false, false, false, false},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                bool ok = kubelet_is_dns_label(t[i].s) == t[i].label &&
                          kubelet_is_dns_subdomain(t[i].s) == t[i].subdomain &&
                          kubelet_is_port_name(t[i].s) == t[i].port &&
                          kubelet_is_label_value(t[i].s) == t[i].label_value;
                if (!TAP_CHECK(ok))
                        printf("# %s: label %d subdomain %d port %d label value %d\n", t[i].s,
                               kubelet_is_dns_label(t[i].s), kubelet_is_dns_subdomain(t[i].s),
                               kubelet_is_port_name(t[i].s), kubelet_is_label_value(t[i].s));
        }
        /* The limits: 63 for a label, 253 for a subdomain (its parts have no limit of their own). */
        char s[300];
        memset(s, 'a', sizeof(s));
        s[63] = 0;
        TAP_CHECK(kubelet_is_dns_label(s) && kubelet_is_label_value(s));
        s[63] = 'a';
        s[64] = 0;
        TAP_CHECK(!kubelet_is_dns_label(s) && !kubelet_is_label_value(s) && kubelet_is_dns_subdomain(s));
        s[64] = 'a';
        s[253] = 0;
        TAP_CHECK(kubelet_is_dns_subdomain(s));
        s[253] = 'a';
        s[254] = 0;
        TAP_CHECK(!kubelet_is_dns_subdomain(s));
}

static void test_label_value(void) {
        _cleanup_free_ char *same = kubelet_label_value("Web_Shop");
        TAP_CHECK_STR(same, "Web_Shop");
        /* Not a label value: the same hashed form every time, itself a label value. */
        _cleanup_free_ char *h1 = kubelet_label_value("a pod name with spaces");
        _cleanup_free_ char *h2 = kubelet_label_value("a pod name with spaces");
        _cleanup_free_ char *h3 = kubelet_label_value("another one");
        TAP_CHECK(h1 && strncmp(h1, "sha256-", 7) == 0 && strlen(h1) == 63 && kubelet_is_label_value(h1));
        TAP_CHECK_STR(h1, h2);
        TAP_CHECK(strcmp(h1, h3) != 0);
        TAP_CHECK_STR(h1, "sha256-613b00356692b17138c0f6c624c57e378777e8b89d3fb6d2c1f76863");
        _cleanup_free_ char *colon = kubelet_label_value("abc:");
        TAP_CHECK_STR(colon, "sha256-16a3ed414449413487c2735c51e0e9c1df1f869cf94d89573b99acc9");
        /* The spec hash: of the sorted compact JSON, in the same label-safe form. */
        json_auto_t *spec = json_pack("{s:s}", "a", "b");
        _cleanup_free_ char *hash = kubelet_spec_hash(spec);
        TAP_CHECK_STR(hash, "sha256-db4a7ecb114bc66c623a06c4ff6fe8daa2f49cc270ebbf7a1f81e22a");
}

static void test_quantities(void) {
        static const struct {
                int64_t v;
                const char *bytes;
        } mem[] = {
                {0, "0"},
                {1000, "1000"},
                {1024, "1Ki"},
                {1536, "1536"},
                {6291456, "6Mi"},
                {67108864, "64Mi"},
                {134217728, "128Mi"},
                {1048577, "1048577"},
                {3221225472, "3Gi"},
                {1099511627776, "1Ti"},
                {1125899906842624, "1Pi"},
                {INT64_C(1) << 60, "1Ei"},
                {INT64_C(1) << 62, "4Ei"},
        };
        for (size_t i = 0; i < ELEMENTSOF(mem); i++) {
                _cleanup_free_ char *q = kubelet_quantity_bytes(mem[i].v);
                TAP_CHECK_STR(q, mem[i].bytes);
        }
        static const struct {
                int64_t v;
                const char *q;
        } cpu[] = {
                {1, "1m"},       {100, "100m"}, {500, "500m"},   {1000, "1"},
                {1500, "1500m"}, {2000, "2"},   {256000, "256"},
        };
        for (size_t i = 0; i < ELEMENTSOF(cpu); i++) {
                _cleanup_free_ char *q = kubelet_quantity_milli(cpu[i].v);
                TAP_CHECK_STR(q, cpu[i].q);
        }
}

static void test_policies(void) {
        TAP_CHECK_STR(kubelet_restart_policy(PH_RESTART_ALWAYS), "Always");
        TAP_CHECK_STR(kubelet_restart_policy(PH_RESTART_ON_FAILURE), "OnFailure");
        TAP_CHECK_STR(kubelet_restart_policy(PH_RESTART_NEVER), "Never");
        TAP_CHECK_STR(kubelet_pull_policy("PullAlways"), "Always");
        TAP_CHECK_STR(kubelet_pull_policy("PullNever"), "Never");
        TAP_CHECK_STR(kubelet_pull_policy("PullIfNotPresent"), "IfNotPresent");
        TAP_CHECK_STR(kubelet_pull_policy(NULL), "IfNotPresent");
        TAP_CHECK(kubelet_pull_policy("Always") == NULL);
}

/* --- conversion ---------------------------------------------------------------------------------- */

/* The Pod of a manifest text ("version: v1beta2" is put in front), or NULL with *errors (caller frees). */
static json_t *convert_with(const char *body, const char *pod, const PhKubeletMeta *meta, char **errors) {
        _cleanup_free_ char *text = xasprintf("version: v1beta2\n%s", body);
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;
        json_t *v1 = NULL;

        *errors = NULL;
        if (manifest_load(text, strlen(text), "web.yaml", &m, NULL, &err) < 0) {
                *errors = xasprintf("invalid manifest: %s", ph_error_msg(err));
                return NULL;
        }
        if (kubelet_pod_convert(m, pod, meta, "web.yaml", &v1, &err) < 0) {
                *errors = xstrdup(ph_error_msg(err));
                return NULL;
        }
        return v1;
}

static json_t *convert(const char *body) {
        _cleanup_free_ char *errors = NULL;
        json_t *v1 = convert_with(body, "web", NULL, &errors);

        if (!v1)
                printf("# %s\n", errors);
        return v1;
}

/* The errors of a manifest that must not convert ("" when it converts). */
static char *refusal(const char *body, const char *pod) {
        char *errors = NULL;
        json_auto_t *v1 = convert_with(body, pod, NULL, &errors);

        return errors ? errors : xstrdup("");
}

#define CHECK_REFUSED(body, want)                                                                            \
        do {                                                                                                 \
                _cleanup_free_ char *_e = refusal(body, "web");                                              \
                TAP_CHECK_STR(_e, want);                                                                     \
        } while (0)

static const char *str_at(const json_t *root, const char *pointer) {
        return json_string_value(json_object_get(root, pointer));
}

/* The value at a path of keys and [index]es ("spec.containers[0].name"), borrowed; NULL when absent. */
static json_t *at(json_t *v, const char *path) {
        _cleanup_free_ char *copy = xstrdup(path);
        char *save = NULL;

        for (char *tok = strtok_r(copy, ".", &save); tok && v; tok = strtok_r(NULL, ".", &save)) {
                char *br = strchr(tok, '[');
                if (br)
                        *br = 0;
                if (*tok)
                        v = json_object_get(v, tok);
                while (br && v) {
                        v = json_array_get(v, strtoul(br + 1, NULL, 10));
                        br = strchr(br + 1, '[');
                }
        }
        return v;
}

static bool is_str(json_t *root, const char *path, const char *want) {
        const char *got = json_string_value(at(root, path));
        bool ok = got && strcmp(got, want) == 0;

        if (!ok)
                printf("# %s: got %s, want %s\n", path, got ? got : "(none)", want);
        return ok;
}

static bool is_int(json_t *root, const char *path, json_int_t want) {
        json_t *v = at(root, path);

        if (!json_is_integer(v) || json_integer_value(v) != want) {
                printf("# %s: want %lld\n", path, (long long) want);
                return false;
        }
        return true;
}

static void test_seed_names(void) {
        /* The seed's example: names with '_', which a kubelet refuses. */
        json_auto_t *v1 =
                convert("containers:\n"
                        "  - name: apache_container\n"
                        "    image: podhook.local/apache:1\n"
                        "    ports: [{name: http_port, containerPort: 80, hostPort: 8080, protocol: tcp}]\n"
                        "    volumeMounts: [{name: test_volume, mountPath: /log, readOnly: true}]\n"
                        "  - name: redis_container\n"
                        "    image: podhook.local/redis:1\n"
                        "    ports: [{name: http_port, containerPort: 6379}]\n"
                        "volumes: [{name: test_volume}]\n");
        TAP_CHECK(is_str(v1, "apiVersion", "v1") && is_str(v1, "kind", "Pod"));
        TAP_CHECK(is_str(v1, "spec.containers[0].name", "apache-container"));
        TAP_CHECK(is_str(v1, "spec.containers[0].ports[0].name", "http-port"));
        TAP_CHECK(is_str(v1, "spec.containers[0].volumeMounts[0].name", "test-volume"));
        TAP_CHECK(at(v1, "spec.containers[0].volumeMounts[0].readOnly") == json_true());
        TAP_CHECK(is_str(v1, "spec.volumes[0].name", "test-volume"));
        /* The same port name in two containers is fine in v1 (unique within a container). */
        TAP_CHECK(is_str(v1, "spec.containers[1].ports[0].name", "http-port"));
        const char *names = str_at(at(v1, "metadata.annotations"), KUBELET_ANNOTATION_ORIGINAL_NAMES);
        TAP_CHECK_STR(names,
                      "{\"containers\":{\"apache-container\":\"apache_container\",\"redis-container\":"
                      "\"redis_container\"},\"ports\":{\"apache-container\":{\"http-port\":\"http_port\"},"
                      "\"redis-container\":{\"http-port\":\"http_port\"}},\"volumes\":{\"test-volume\":"
                      "\"test_volume\"}}");
}

static void test_collisions(void) {
        CHECK_REFUSED("containers: [{name: Web, image: a}, {name: web, image: a}]\n",
                      "web.yaml: containers[1].name: \"web\" is also the v1 name of containers[0].name");
        CHECK_REFUSED("containers: [{name: a_b, image: a}, {name: a-b, image: a}]\n",
                      "web.yaml: containers[1].name: \"a-b\" is also the v1 name of containers[0].name");
        CHECK_REFUSED(
                "containers: [{name: a-b, image: a}, {name: A_B, image: a}]\n",
                "web.yaml: containers[1].name: \"A_B\" becomes \"a-b\" in v1, which is also the v1 name of "
                "containers[0].name");
        CHECK_REFUSED("containers: [{name: a, image: a}]\nvolumes: [{name: data_1}, {name: Data-1}]\n",
                      "web.yaml: volumes[1].name: \"Data-1\" becomes \"data-1\" in v1, which is also the v1 "
                      "name of "
                      "volumes[0].name");
        CHECK_REFUSED(
                "containers: [{name: a, image: a, ports: [{name: http_port, containerPort: 80},"
                " {name: HTTP-port, containerPort: 81}]}]\n",
                "web.yaml: containers[0].ports[1].name: \"HTTP-port\" becomes \"http-port\" in v1, which is "
                "also the v1 name of containers[0].ports[0].name");
}

static void test_bad_names(void) {
        CHECK_REFUSED(
                "containers: [{name: web_, image: a}]\n",
                "web.yaml: containers[0].name: \"web_\" becomes \"web-\" in v1, which is not a DNS-1123 "
                "label (at most 63 lower-case letters, digits and '-', starting and ending with a letter "
                "or digit)");
        CHECK_REFUSED(
                "containers: [{name: a, image: a, ports: [{name: \"80\", containerPort: 80}]}]\n",
                "web.yaml: containers[0].ports[0].name: \"80\" is not a v1 port name (at most 15 lower-case "
                "letters, digits and '-', at least one letter, no \"--\" and no '-' at either end)");
        CHECK_REFUSED(
                "containers: [{name: a, image: a, ports: [{name: a_long_port_name, containerPort: 80}]}]\n",
                "web.yaml: containers[0].ports[0].name: \"a_long_port_name\" becomes \"a-long-port-name\" in "
                "v1, which is not a v1 port name (at most 15 lower-case letters, digits and '-', at least "
                "one "
                "letter, no \"--\" and no '-' at either end)");
        CHECK_REFUSED(
                "containers: [{name: a, image: a, ports: [{name: a__b, containerPort: 80}]}]\n",
                "web.yaml: containers[0].ports[0].name: \"a__b\" becomes \"a--b\" in v1, which is not a v1 "
                "port name (at most 15 lower-case letters, digits and '-', at least one letter, no \"--\" "
                "and no '-' at either end)");
        /* The pod name: a DNS-1123 subdomain of at most 253. */
        _cleanup_free_ char *e = refusal("containers: [{name: a, image: a}]\n", "Web..Shop");
        TAP_CHECK_STR(
                e, "web.yaml: pod name: \"Web..Shop\" becomes \"web..shop\" in v1, which is not a DNS-1123 "
                   "subdomain (at most 253 characters: DNS-1123 labels joined by '.')");
        char long_pod[256];
        memset(long_pod, 'p', sizeof(long_pod) - 1);
        long_pod[254] = 0;
        _cleanup_free_ char *e2 = refusal("containers: [{name: a, image: a}]\n", long_pod);
        TAP_CHECK_HAS(e2, "...\" is not a DNS-1123 subdomain");
        long_pod[253] = 0;
        _cleanup_free_ char *e3 = refusal("containers: [{name: a, image: a}]\n", long_pod);
        TAP_CHECK_STR(e3, "");
        /* Every problem at once, one per line, in manifest order. */
        CHECK_REFUSED(
                "containers:\n"
                "  - {name: x_, image: a, ports: [{name: \"1\", containerPort: 80}]}\n"
                "  - {name: X_, image: a}\n"
                "volumes: [{name: v_}]\n",
                "web.yaml: volumes[0].name: \"v_\" becomes \"v-\" in v1, which is not a DNS-1123 label (at "
                "most 63 lower-case letters, digits and '-', starting and ending with a letter or digit)\n"
                "web.yaml: containers[0].name: \"x_\" becomes \"x-\" in v1, which is not a DNS-1123 label "
                "(at "
                "most 63 lower-case letters, digits and '-', starting and ending with a letter or digit)\n"
                "web.yaml: containers[0].ports[0].name: \"1\" is not a v1 port name (at most 15 lower-case "
                "letters, digits and '-', at least one letter, no \"--\" and no '-' at either end)\n"
                "web.yaml: containers[1].name: \"X_\" becomes \"x-\" in v1, which is not a DNS-1123 label "
                "(at "
                "most 63 lower-case letters, digits and '-', starting and ending with a letter or digit)");
}

static void test_fields(void) {
        json_auto_t *v1 =
                convert("containers:\n"
                        "  - name: web\n"
                        "    image: podhook.local/apache:1\n"
                        "    command: [/run-apache.sh, -X]\n"
                        "    workingDir: /srv\n"
                        "    memory: 134217728\n"
                        "    cpu: 500\n"
                        "    privileged: true\n"
                        "    imagePullPolicy: PullAlways\n"
                        "    env: [{name: A, value: b}, {name: EMPTY}]\n"
                        "    ports:\n"
                        "      - {containerPort: 80, hostPort: 8080, hostIP: 127.0.0.1, protocol: udp}\n"
                        "      - {containerPort: 81, hostIP: 127.0.0.1}\n"
                        "    volumeMounts: [{name: h, mountPath: /h}, {name: e, mountPath: /e}]\n"
                        "  - name: db\n"
                        "    image: b\n"
                        "    cpu: 2000\n"
                        "    imagePullPolicy: PullNever\n"
                        "volumes:\n"
                        "  - {name: h, source: {hostDir: {path: /srv/data}}}\n"
                        "  - {name: e, source: {emptyDir: {}}}\n"
                        "restartPolicy: {onFailure: {}}\n");
        json_t *c = at(v1, "spec.containers[0]");
        /* v1beta2 command replaced the image's CMD: v1 args, the ENTRYPOINT stays. */
        TAP_CHECK(!json_object_get(c, "command"));
        TAP_CHECK(is_str(c, "args[0]", "/run-apache.sh") && is_str(c, "args[1]", "-X") &&
                  json_array_size(at(c, "args")) == 2);
        TAP_CHECK(is_str(c, "workingDir", "/srv"));
        TAP_CHECK(is_str(c, "resources.limits.memory", "128Mi") && is_str(c, "resources.limits.cpu", "500m"));
        TAP_CHECK(at(c, "securityContext.privileged") == json_true());
        TAP_CHECK(is_str(c, "imagePullPolicy", "Always"));
        TAP_CHECK(is_str(c, "env[0].name", "A") && is_str(c, "env[0].value", "b") &&
                  is_str(c, "env[1].value", ""));
        TAP_CHECK(is_int(c, "ports[0].containerPort", 80) && is_int(c, "ports[0].hostPort", 8080) &&
                  is_str(c, "ports[0].hostIP", "127.0.0.1") && is_str(c, "ports[0].protocol", "UDP"));
        /* hostIP means nothing without a hostPort. */
        TAP_CHECK(is_str(c, "ports[1].protocol", "TCP") && !at(c, "ports[1].hostPort") &&
                  !at(c, "ports[1].hostIP"));
        TAP_CHECK(!at(c, "volumeMounts[0].readOnly"));
        c = at(v1, "spec.containers[1]");
        TAP_CHECK(!at(c, "args") && !at(c, "securityContext") && !at(c, "resources.limits.memory"));
        TAP_CHECK(is_str(c, "resources.limits.cpu", "2") && is_str(c, "imagePullPolicy", "Never"));
        TAP_CHECK(is_str(v1, "spec.volumes[0].hostPath.path", "/srv/data") &&
                  is_str(v1, "spec.volumes[0].hostPath.type", "DirectoryOrCreate"));
        TAP_CHECK(json_is_object(at(v1, "spec.volumes[1].emptyDir")) && !at(v1, "spec.volumes[1].hostPath"));
        TAP_CHECK(is_str(v1, "spec.restartPolicy", "OnFailure"));
        TAP_CHECK(is_str(v1, "spec.hostname", "web") && is_str(v1, "metadata.name", "web"));

        static const struct {
                const char *policy, *want;
        } restart[] = {{"always: {}", "Always"}, {"never: {}", "Never"}, {"onFailure: {}", "OnFailure"}};
        for (size_t i = 0; i < ELEMENTSOF(restart); i++) {
                _cleanup_free_ char *body = xasprintf(
                        "containers: [{name: a, image: b}]\nrestartPolicy: {%s}\n", restart[i].policy);
                json_auto_t *p = convert(body);
                TAP_CHECK(is_str(p, "spec.restartPolicy", restart[i].want));
        }
        json_auto_t *plain = convert("containers: [{name: a, image: b, imagePullPolicy: PullIfNotPresent},"
                                     " {name: c, image: d}]\n");
        TAP_CHECK(is_str(plain, "spec.restartPolicy", "Always"));
        /* No policy: as the Docker backend, a missing image is pulled, a present one is not. */
        TAP_CHECK(is_str(plain, "spec.containers[0].imagePullPolicy", "IfNotPresent") &&
                  is_str(plain, "spec.containers[1].imagePullPolicy", "IfNotPresent"));
        TAP_CHECK(!at(plain, "spec.volumes"));
        CHECK_REFUSED(
                "containers: [{name: a, image: b, volumeMounts: [{name: h, mountPath: /h}]}]\n"
                "volumes: [{name: h, source: {hostDir: {path: /srv/../etc}}}]\n",
                "web.yaml: volumes[0].source.hostDir.path: \"/srv/../etc\" has a '..' element, which a v1 "
                "hostPath may not have");
}

static void test_handlers(void) {
        json_auto_t *v1 = convert("containers:\n"
                                  "  - name: web\n"
                                  "    image: b\n"
                                  "    ports: [{name: http_port, containerPort: 80}]\n"
                                  "    livenessProbe:\n"
                                  "      httpGet: {path: /healthz, port: http_port, host: 127.0.0.1}\n"
                                  "      initialDelaySeconds: 5\n"
                                  "      timeoutSeconds: 2\n"
                                  "    lifecycle:\n"
                                  "      postStart: {httpGet: {port: \"8080\"}}\n"
                                  "      preStop: {exec: {command: [/bin/stop, now]}}\n"
                                  "  - name: db\n"
                                  "    image: b\n"
                                  "    livenessProbe: {tcpSocket: {port: 6379}}\n"
                                  "  - name: job\n"
                                  "    image: b\n"
                                  "    livenessProbe: {exec: {command: [test, -e, /ok]}}\n");
        json_t *p = at(v1, "spec.containers[0].livenessProbe");
        TAP_CHECK(is_str(p, "httpGet.path", "/healthz") && is_str(p, "httpGet.port", "http-port") &&
                  is_str(p, "httpGet.host", "127.0.0.1"));
        TAP_CHECK(is_int(p, "initialDelaySeconds", 5) && is_int(p, "timeoutSeconds", 2));
        /* A path is required in v1 (the kubelet would default it to "/"); digits in a string are a number. */
        TAP_CHECK(is_str(v1, "spec.containers[0].lifecycle.postStart.httpGet.path", "/") &&
                  is_int(v1, "spec.containers[0].lifecycle.postStart.httpGet.port", 8080));
        TAP_CHECK(is_str(v1, "spec.containers[0].lifecycle.preStop.exec.command[1]", "now"));
        TAP_CHECK(is_int(v1, "spec.containers[1].livenessProbe.tcpSocket.port", 6379) &&
                  !at(v1, "spec.containers[1].livenessProbe.initialDelaySeconds"));
        TAP_CHECK(is_str(v1, "spec.containers[2].livenessProbe.exec.command[2]", "/ok"));

        /* What podhook could not run is refused by validation already (tests/manifest), before any
         * conversion: one line each, with the line. */
        CHECK_REFUSED(
                "containers: [{name: a, image: b, livenessProbe: {}}]\n",
                "invalid manifest: web.yaml:2: containers[0].livenessProbe: has no action: needs exactly "
                "one of httpGet, tcpSocket and exec");
        CHECK_REFUSED("containers: [{name: a, image: b, lifecycle: {preStop: {}}}]\n",
                      "invalid manifest: web.yaml:2: containers[0].lifecycle.preStop: has no action: needs "
                      "exactly one of httpGet and exec");
        CHECK_REFUSED("containers: [{name: a, image: b, livenessProbe: {tcpSocket: {port: http}}}]\n",
                      "invalid manifest: web.yaml:2: containers[0].livenessProbe.tcpSocket.port: \"http\" is "
                      "not the name of a port of this container");
}

static void test_metadata(void) {
        _cleanup_free_ char *errors = NULL;
        PhKubeletMeta meta = {.deployment = "5f2d1c3a-9b7e-4c1a-8d2e-0f1e2d3c4b5a",
                              .stack = "stack-id/with slash",
                              .resource = "web server"};
        json_auto_t *v1 = convert_with("containers: [{name: a, image: b}]\n", "My_Pod", &meta, &errors);
        json_t *labels = at(v1, "metadata.labels"), *ann = at(v1, "metadata.annotations");

        TAP_CHECK(is_str(v1, "metadata.name", "my-pod"));
        TAP_CHECK_STR(str_at(labels, KUBELET_LABEL_MANAGED), "true");
        TAP_CHECK_STR(str_at(labels, KUBELET_KEY_POD), "My_Pod");
        TAP_CHECK_STR(str_at(ann, KUBELET_KEY_POD), "My_Pod");
        TAP_CHECK_STR(str_at(labels, KUBELET_KEY_DEPLOYMENT), meta.deployment);
        TAP_CHECK_STR(str_at(ann, KUBELET_KEY_DEPLOYMENT), meta.deployment);
        TAP_CHECK_STR(str_at(ann, KUBELET_ANNOTATION_STACK), meta.stack);
        TAP_CHECK_STR(str_at(ann, KUBELET_ANNOTATION_RESOURCE), meta.resource);
        /* Labels carry no stack or resource: their values need not be label values. */
        TAP_CHECK(json_object_size(labels) == 4);
        _cleanup_free_ char *hash = kubelet_spec_hash(at(v1, "spec"));
        TAP_CHECK_STR(str_at(labels, KUBELET_KEY_SPEC_HASH), hash);
        TAP_CHECK_STR(str_at(ann, KUBELET_KEY_SPEC_HASH), hash);
        const char *k;
        json_t *v;
        json_object_foreach(labels, k, v) TAP_CHECK(kubelet_is_label_value(json_string_value(v)));

        /* The hash follows the spec only: other metadata leaves it, any spec change moves it. */
        _cleanup_free_ char *e2 = NULL, *e3 = NULL;
        json_auto_t *same = convert_with("containers: [{name: a, image: b}]\n", "My_Pod", NULL, &e2);
        json_auto_t *other = convert_with("containers: [{name: a, image: c}]\n", "My_Pod", NULL, &e3);
        TAP_CHECK_STR(str_at(at(same, "metadata.labels"), KUBELET_KEY_SPEC_HASH), hash);
        TAP_CHECK(other && strcmp(str_at(at(other, "metadata.labels"), KUBELET_KEY_SPEC_HASH), hash) != 0);

        /* A pod name too long for a label value (or a hostname) is hashed in the label, exact in the
         * annotation. */
        char pod[101];
        memset(pod, 'p', 100);
        pod[100] = 0;
        _cleanup_free_ char *e4 = NULL;
        json_auto_t *long_pod = convert_with("containers: [{name: a, image: b}]\n", pod, NULL, &e4);
        _cleanup_free_ char *hashed = kubelet_label_value(pod);
        TAP_CHECK_STR(str_at(at(long_pod, "metadata.labels"), KUBELET_KEY_POD), hashed);
        TAP_CHECK_STR(str_at(at(long_pod, "metadata.annotations"), KUBELET_KEY_POD), pod);
        TAP_CHECK(!at(long_pod, "spec.hostname"));
}

/* --- YAML ---------------------------------------------------------------------------------------- */

static void test_yaml_round_trip(void) {
        /* Strings a YAML 1.1 reader would take for something else unless quoted. */
        json_auto_t *v1 = convert(
                "containers:\n"
                "  - name: a\n"
                "    image: podhook.local/apache:1\n"
                "    command: [\"true\", \"8080\", \"\", \"yes\", \"No\", \"null\", \"~\", \"- x\",\n"
                "              \"a: b\", \"#x\", \"x #y\", \"0x1F\", \"1e3\", \"12:30\", \".inf\",\n"
                "              \"0755\", \"=\", \"<<\", \"*ref\", \"&a\", \"!tag\", \"%x\", \"@x\", \"`x\",\n"
                "              \"it's\", \"say \\\"hi\\\"\", \"two\\nlines\", \"tab\\there\", \"é ü\",\n"
                "              \"trailing \", \" leading\", \"a:\", \"{x}\", \"[x]\", \"x,y\", \"?\"]\n");
        _cleanup_free_ char *text = NULL;
        _cleanup_error_ PhError *err = NULL;
        json_auto_t *back = NULL, *lines = NULL;
        size_t len = 0;

        TAP_CHECK(kubelet_yaml_dump(v1, &text, &len, &err) == 0);
        TAP_CHECK(text && len == strlen(text) && len > 0 && text[len - 1] == '\n');
        TAP_CHECK(manifest_yaml_parse(text, len, "pod.yaml", &back, &lines, &err) == 0);
        if (!TAP_CHECK(back && json_equal(back, v1))) {
                _cleanup_free_ char *a = json_dumps(back, JSON_COMPACT), *b = json_dumps(v1, JSON_COMPACT);
                printf("# back: %s\n# want: %s\n", a ? a : "(null)", b);
        }
        TAP_CHECK_HAS(text, "\napiVersion: v1\n" + 1);
        TAP_CHECK_HAS(text, "  - '8080'\n");
        TAP_CHECK_HAS(text, "  - 'true'\n");
        TAP_CHECK_HAS(text, "    image: podhook.local/apache:1\n");
        /* An empty map is {}, numbers and booleans are plain. */
        json_auto_t *small =
                json_pack("{s:{}, s:i, s:b, s:[]}", "emptyDir", "port", 80, "readOnly", 1, "list");
        _cleanup_free_ char *t2 = NULL;
        TAP_CHECK(kubelet_yaml_dump(small, &t2, NULL, &err) == 0);
        TAP_CHECK_STR(t2, "emptyDir: {}\nport: 80\nreadOnly: true\nlist: []\n");
}

int main(void) {
        test_name_map();
        test_name_rules();
        test_label_value();
        test_quantities();
        test_policies();
        test_seed_names();
        test_collisions();
        test_bad_names();
        test_fields();
        test_handlers();
        test_metadata();
        test_yaml_round_trip();
        return tap_done();
}
