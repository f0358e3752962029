/* A metadata body of the heat, request or local source and what the agent does with it before any hook
 * runs: source_parse_json, the "metadata" object (heat) or the whole object (request, local), the deep
 * merge of several sources (a JSON list of bodies stands for several sources, merged in order), the
 * os-collect-config Heat may hand out (bootstrap_normalize), and per deployment entry the id check,
 * dispatch_prepare (String inputs through Python's str()) and the inputs maps. Promises: merging follows
 * os-apply-config's rule exactly; a prepared entry has only string values for its String inputs; the
 * signal inputs are deploy_* inputs only; a usable id is a plain file name. */
#include <errno.h>
#include <jansson.h>

#include "bootstrap.h"
#include "common/deployment.h"
#include "dispatch.h"
#include "fuzz.h"
#include "source/source-internal.h"
#include "state.h"

/* into was before merged from into it: into's keys are before's and from's; maps in both merged
 * recursively, anything else of from replacing what was there. */
static void check_merge(const json_t *into, const json_t *before, const json_t *from) {
        const char *k;
        json_t *v;

        FUZZ_CHECK(json_is_object(into));
        json_object_foreach((json_t *)from, k, v) {
                const json_t *old = json_object_get(before, k), *now = json_object_get(into, k);
                if (json_is_object(old) && json_is_object(v))
                        check_merge(now, old, v);
                else
                        FUZZ_CHECK(now && json_equal(now, v));
        }
        json_object_foreach((json_t *)before, k, v) {
                if (!json_object_get(from, k))
                        FUZZ_CHECK(json_equal(json_object_get(into, k), v));
        }
        FUZZ_CHECK(json_object_size(into) <= json_object_size(before) + json_object_size(from));
}

static void merge_source(json_t *merged, const json_t *body) {
        const json_t *md = json_object_get(body, "metadata");
        if (!json_is_object(md))
                md = body; /* request and local: the body is the metadata */
        if (!json_is_object(md))
                return;
        json_auto_t *before = json_deep_copy(merged);
        source_merge_deep(merged, md);
        check_merge(merged, before, md);
}

static void check_collectors(const json_t *occ) {
        json_auto_t *n = bootstrap_normalize(occ);
        json_auto_t *again = bootstrap_normalize(n);
        size_t i;
        json_t *c;

        FUZZ_CHECK(json_equal(n, again));
        FUZZ_CHECK(json_is_array(json_object_get(n, "collectors")));
        json_array_foreach(json_object_get(n, "collectors"), i, c) FUZZ_CHECK(json_is_string(c));
}

static void prepare_entry(const json_t *dep) {
        const char *id = json_string_value(json_object_get(dep, "id"));
        if (state_id_valid(id))
                FUZZ_CHECK(id[0] != '.' && !strchr(id, '/') && strlen(id) <= 255);

        json_auto_t *prepared = NULL;
        _cleanup_error_ PhError *err = NULL;
        int r = dispatch_prepare(dep, &prepared, &err);
        if (r < 0) {
                FUZZ_CHECK(r == -EINVAL && err && !prepared);
                return;
        }
        if (r == 1) {
                FUZZ_CHECK(!prepared);
                return;
        }
        FUZZ_CHECK(r == 0 && prepared && json_is_object(prepared));
        size_t i;
        json_t *in;
        json_array_foreach(json_object_get(prepared, "inputs"), i, in) {
                const char *type = json_string_value(json_object_get(in, "type"));
                json_t *v = json_object_get(in, "value");
                FUZZ_CHECK(json_is_object(in) && v);
                if (!type || strcmp(type, "String") == 0)
                        FUZZ_CHECK(json_is_string(v));
        }
        (void)deployment_input(prepared, "deploy_action");
        json_auto_t *all = dispatch_inputs_map(prepared);
        json_auto_t *sig = dispatch_signal_inputs(prepared);
        const char *k;
        json_t *v;
        FUZZ_CHECK(json_is_object(all) && json_is_object(sig));
        json_object_foreach(sig, k, v)
                FUZZ_CHECK(strncmp(k, "deploy_", 7) == 0 && json_equal(v, json_object_get(all, k)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *body = fuzz_text(data, size);
        const PhHttpResponse resp = {.status = 200, .body = body, .body_len = size};
        json_auto_t *doc = NULL, *merged = json_object();
        _cleanup_error_ PhError *err = NULL;

        if (source_parse_json(&resp, "GET <fuzz>", &doc, &err) < 0) {
                FUZZ_CHECK(err && err->msg && !doc);
                return 0;
        }
        if (json_is_array(doc)) {
                size_t i;
                json_t *b;
                json_array_foreach(doc, i, b) merge_source(merged, b);
        } else
                merge_source(merged, doc);

        const json_t *occ = json_object_get(merged, "os-collect-config");
        if (json_is_object(occ))
                check_collectors(occ);
        size_t i;
        json_t *dep;
        json_array_foreach(json_object_get(merged, "deployments"), i, dep) prepare_entry(dep);
        return 0;
}
