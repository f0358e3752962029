/* manifest_load(): YAML/JSON documents, the typed manifest and every validation rule. Promises: a
 * failure says why, one problem per line, each line naming the source; every warning is one line
 * naming the source; a success has a version and containers. */
#include "fuzz.h"
#include "manifest/manifest.h"

#define SOURCE "fuzz.yaml"

static bool names_source(const char *line, size_t len) {
        return len > strlen(SOURCE) && strncmp(line, SOURCE, strlen(SOURCE)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_error_ PhError *err = NULL;

        if (manifest_load((const char *)data, size, SOURCE, &m, &warnings, &err) < 0) {
                FUZZ_CHECK(err && err->msg);
                for (const char *l = err->msg; l;) {
                        const char *nl = strchr(l, '\n');
                        FUZZ_CHECK(names_source(l, nl ? (size_t)(nl - l) : strlen(l)));
                        l = nl ? nl + 1 : NULL;
                }
        } else
                FUZZ_CHECK(m && m->version && m->n_containers > 0);
        for (char **w = warnings; w && *w; w++)
                FUZZ_CHECK(names_source(*w, strlen(*w)) && !strchr(*w, '\n'));
        return 0;
}
