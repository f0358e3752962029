/* manifest_load(): YAML/JSON documents, the typed manifest and every validation rule; and, for input that
 * is a JSON object, manifest_doc_from_json() as the docker hook reads a StructuredConfig's object.
 * Promises: a failure says why, one problem per line, each line naming the source; every warning is one
 * line naming the source; a success has a version and containers; a JSON text and the same JSON as an
 * object are the same manifest. */
#include <jansson.h>

#include "fuzz.h"
#include "manifest/manifest.h"

#define SOURCE "fuzz.yaml"

static bool names_source(const char *line, size_t len) {
        return len > strlen(SOURCE) && strncmp(line, SOURCE, strlen(SOURCE)) == 0;
}

static void check_outcome(int r, const PhManifest *m, char **warnings, const PhError *err) {
        if (r < 0) {
                FUZZ_CHECK(err && err->msg && !m);
                for (const char *l = err->msg; l;) {
                        const char *nl = strchr(l, '\n');
                        FUZZ_CHECK(names_source(l, nl ? (size_t) (nl - l) : strlen(l)));
                        l = nl ? nl + 1 : NULL;
                }
        } else
                FUZZ_CHECK(m && m->version && m->n_containers > 0);
        for (char **w = warnings; w && *w; w++)
                FUZZ_CHECK(names_source(*w, strlen(*w)) && !strchr(*w, '\n'));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(manifest_freep) PhManifest *m = NULL;
        _cleanup_strv_free_ char **warnings = NULL;
        _cleanup_error_ PhError *err = NULL;
        int r = manifest_load((const char *) data, size, SOURCE, &m, &warnings, &err);
        check_outcome(r, m, warnings, err);

        /* An object has no duplicate keys; a text with some is another manifest (refused as text). */
        json_auto_t *v = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, NULL);
        if (!json_is_object(v))
                return 0;
        _cleanup_(manifest_doc_freep) PhManifestDoc *doc = NULL;
        _cleanup_(manifest_freep) PhManifest *m2 = NULL;
        _cleanup_strv_free_ char **warnings2 = NULL;
        _cleanup_error_ PhError *err2 = NULL;
        int r2 = manifest_doc_from_json(v, SOURCE, &doc, &err2);
        if (r2 >= 0)
                r2 = manifest_validate(doc, &m2, &warnings2, &err2);
        check_outcome(r2, m2, warnings2, err2);
        FUZZ_CHECK((r < 0) == (r2 < 0));
        if (r >= 0)
                FUZZ_CHECK(json_equal(m->json, m2->json));
        return 0;
}
