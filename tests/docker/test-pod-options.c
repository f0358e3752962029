/* The options object, the values a pod is given and registry credentials, from tables (no engine). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "docker/pod-options.h"
#include "docker/registry-auth.h"
#include "tap.h"

static void parse_fails(const char *json, const char *want) {
        json_auto_t *v = json_loads(json, 0, NULL);
        _cleanup_error_ PhError *err = NULL;
        PhDeployOptions o = {};

        TAP_CHECK(deploy_options_parse(v, "dep x", NULL, &o, &err) == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err), want);
        deploy_options_done(&o);
}

static void options(void) {
        json_auto_t *v = json_loads(
                "{\"grace_period\": 5, \"init\": false, \"wait_for\": [\"pod:db\", "
                "\"tcp:127.0.0.1:5432\", \"https://x.example/health\"], \"wait_interval\": 1, "
                "\"wait_timeout\": 0, \"config_files\": {\"a.conf\": \"x\"}, \"target\": {\"any\": 1}}",
                0, NULL);
        _cleanup_error_ PhError *err = NULL;
        PhDeployOptions o = {}, flags = {.wait_timeout = 9, .wait_timeout_set = true};
        PhPodOptions po = {};

        TAP_CHECK(deploy_options_parse(v, "dep x", NULL, &o, &err) == 0);
        deploy_options_merge(&o, &flags);
        deploy_options_apply(&o, &po);
        TAP_CHECK(po.grace_seconds == 5 && po.no_init && po.wait_interval == 1);
        TAP_CHECK(po.wait_timeout_set && po.wait_timeout == 9); /* the flag won */
        TAP_CHECK(strv_length(po.wait_for) == 3 && strcmp(po.wait_for[0], "pod:db") == 0);
        TAP_CHECK(o.target != NULL);
        deploy_options_done(&o);

        PhDeployOptions none = {};
        TAP_CHECK(deploy_options_parse(json_null(), "dep x", NULL, &none, &err) == 0 && !none.wait_for);
        TAP_CHECK(deploy_options_parse(NULL, "dep x", NULL, &none, &err) == 0);

        parse_fails("{\"wait_fro\": []}", "dep x: options.wait_fro: unknown key");
        parse_fails("{\"grace_period\": 0}", "options.grace_period: must be whole seconds from 1 to 3600");
        parse_fails("{\"init\": \"yes\"}", "options.init: must be true or false, not a string");
        parse_fails("{\"wait_for\": [\"udp:x:1\"]}",
                    "options.wait_for[0]: must be pod:NAME, tcp:HOST:PORT or an http");
        parse_fails("{\"wait_for\": [\"tcp:host\"]}",
                    "options.wait_for[0]: tcp:HOST:PORT needs a host and a port");
        parse_fails("{\"wait_for\": [\"tcp:h:70000\"]}", "options.wait_for[0]: tcp:HOST:PORT");
        parse_fails("{\"wait_for\": [\"pod:-x\"]}", "options.wait_for[0]: pod:NAME must name a valid pod");
        parse_fails("{\"config_files\": {\"k\": 1}}", "options.config_files.k: must be a string");
        parse_fails("[1]", "dep x: options: must be a map, not a list");
        /* every problem, one line each */
        parse_fails("{\"a\": 1, \"b\": 2}", "options.a: unknown key\ndep x: options.b: unknown key");
}

static void values(void) {
        json_auto_t *in = json_pack("{s:s, s:s}", "db", "from-input", "cfg", "input-cfg");
        json_auto_t *sec = json_pack("{s:s, s:s}", "db", "from-file", "only", "file-only");
        json_auto_t *files = json_pack("{s:s}", "cfg", "from-options");
        PhPodOptions po = {.inputs = in, .secrets = sec, .config_files = files};

        TAP_CHECK_STR(pod_secret_value(&po, "db"), "from-input"); /* inputs win over the file */
        TAP_CHECK_STR(pod_secret_value(&po, "only"), "file-only");
        TAP_CHECK(pod_secret_value(&po, "cfg") != NULL);
        TAP_CHECK(pod_secret_value(&po, "none") == NULL);
        TAP_CHECK_STR(pod_config_value(&po, "cfg"), "from-options"); /* config_files first */
        TAP_CHECK_STR(pod_config_value(&po, "only"), "file-only");
        TAP_CHECK(pod_secret_value(NULL, "db") == NULL);
}

static void registry(void) {
        static const char *const hosts[][2] = {
                {"busybox", "docker.io"},
                {"library/busybox:1", "docker.io"},
                {"docker.io/x/y", "docker.io"},
                {"index.docker.io/x/y", "docker.io"},
                {"127.0.0.1:5000/a/b:1", "127.0.0.1:5000"},
                {"localhost/a", "localhost"},
                {"quay.io/x/y@sha256:00", "quay.io"},
        };
        for (size_t i = 0; i < ELEMENTSOF(hosts); i++) {
                _cleanup_free_ char *h = registry_host_of(hosts[i][0]);
                TAP_CHECK_STR(h, hosts[i][1]);
        }
        _cleanup_free_ char *k1 = registry_key_host("https://index.docker.io/v1/");
        _cleanup_free_ char *k2 = registry_key_host("http://127.0.0.1:5000/v2/");
        TAP_CHECK_STR(k1, "docker.io");
        TAP_CHECK_STR(k2, "127.0.0.1:5000");

        /* "auth" is base64 of user:password; the header is base64url JSON */
        json_auto_t *cfg =
                json_loads("{\"auths\": {\"https://index.docker.io/v1/\": {\"auth\": \"dTpwPj4/\"},"
                           " \"r.example:5000\": {\"identitytoken\": \"tok\"},"
                           " \"bad.example\": {\"auth\": \"!!\"}}}",
                           0, NULL);
        _cleanup_strv_free_ char **secrets = NULL;
        _cleanup_free_ char *h = NULL, *t = NULL, *none = NULL;
        _cleanup_error_ PhError *err = NULL;
        TAP_CHECK(registry_auth_header(cfg, "busybox:1", &h, &secrets, &err) == 0 && h);
        /* {"username":"u","password":"p>>?","serveraddress":"docker.io"} */
        TAP_CHECK_STR(h,
                      "eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InA-Pj8iLCJzZXJ2ZXJhZGRyZXNzIjoiZG9ja2VyLmlvIn0=");
        TAP_CHECK(strv_length(secrets) >= 2 && strcmp(secrets[0], "p>>?") == 0);
        TAP_CHECK(registry_auth_header(cfg, "r.example:5000/a", &t, NULL, &err) == 0 && t);
        TAP_CHECK(registry_auth_header(cfg, "other.example/a", &none, NULL, &err) == 0 && !none);
        _cleanup_free_ char *b = NULL;
        TAP_CHECK(registry_auth_header(cfg, "bad.example/a", &b, NULL, &err) == -EINVAL);
        TAP_CHECK_HAS(ph_error_msg(err), "registry bad.example: its \"auth\"");
}

int main(void) {
        options();
        values();
        registry();
        return tap_done();
}
