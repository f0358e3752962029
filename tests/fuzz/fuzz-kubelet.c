/* A manifest as the v1 Pod a kubelet runs: manifest_load(), kubelet_pod_convert() and the Pod's YAML
 * (kubelet_yaml_dump), read back with the manifest parser's YAML 1.1 reader. Promises: a Pod's name, its
 * containers' and volumes' names are DNS names, its label values label values; a refusal names the
 * source on every line; the YAML reads back as exactly the Pod (every string that a YAML 1.1 reader
 * would take for something else is quoted). */
#include <errno.h>
#include <jansson.h>

#include "fuzz.h"
#include "kubelet/convert.h"
#include "kubelet/yaml-out.h"
#include "manifest/manifest-internal.h"

#define SOURCE "fuzz.yaml"

static void check_names(const json_t *list, bool label) {
        size_t i;
        json_t *x;

        json_array_foreach(list, i, x) {
                const char *n = json_string_value(json_object_get(x, "name"));
                FUZZ_CHECK(n && (label ? kubelet_is_dns_label(n) : kubelet_is_dns_subdomain(n)));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_error_ PhError *err = NULL;

        if (manifest_load((const char *) data, size, SOURCE, &m, NULL, &err) < 0)
                return 0;
        const PhKubeletMeta meta = {.deployment = "d-1", .stack = "s/1", .resource = "deployment"};
        json_auto_t *pod = NULL;
        int r = kubelet_pod_convert(m, "Fuzz_Pod", &meta, SOURCE, &pod, &err);
        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL && err && err->msg && !pod);
                for (const char *l = err->msg; l;) {
                        FUZZ_CHECK(strncmp(l, SOURCE ":", strlen(SOURCE ":")) == 0);
                        l = strchr(l, '\n');
                        l = l ? l + 1 : NULL;
                }
                return 0;
        }
        const json_t *md = json_object_get(pod, "metadata"), *spec = json_object_get(pod, "spec");
        FUZZ_CHECK(kubelet_is_dns_subdomain(json_string_value(json_object_get(md, "name"))));
        check_names(json_object_get(spec, "containers"), true);
        check_names(json_object_get(spec, "volumes"), true);
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(md, "labels"), k, v)
                FUZZ_CHECK(kubelet_is_label_value(json_string_value(v)));

        _cleanup_free_ char *yaml = NULL;
        size_t len = 0;
        FUZZ_CHECK(kubelet_yaml_dump(pod, &yaml, &len, &err) == 0 && yaml && len == strlen(yaml));
        json_auto_t *back = NULL, *lines = NULL;
        _cleanup_error_ PhError *rerr = NULL;
        r = manifest_yaml_parse(yaml, len, "pod.yaml", &back, &lines, &rerr);
        if (r < 0)
                fprintf(stderr, "the Pod's YAML does not read back: %s\n%s", ph_error_msg(rerr), yaml);
        FUZZ_CHECK(r == 0);
        if (!json_equal(back, pod)) {
                _cleanup_free_ char *a = json_dumps(pod, JSON_SORT_KEYS),
                                    *b = json_dumps(back, JSON_SORT_KEYS);
                fprintf(stderr, "written: %s\nread back: %s\n", a, b);
        }
        FUZZ_CHECK(json_equal(back, pod));
        return 0;
}
