/* A metadata body of the heat, request or local source and what the agent does with it before any hook
 * runs: source_parse_json, the "metadata" object (heat) or the whole object (request, local), the deep
 * merge of several sources (a JSON list of bodies stands for several sources, merged in order), the
 * os-collect-config Heat may hand out (bootstrap_normalize), and per deployment entry the id check,
 * dispatch_prepare (String inputs through Python's str()), the inputs maps, and the secrets a result must
 * not carry (hook_default_secret_values, secret_scrub_json). Promises: merging follows os-apply-config's rule
 * exactly; a prepared entry has only string values for its String inputs; the signal inputs are deploy_*
 * inputs only; a usable id is a plain file name; a result that echoes the whole entry, as text and as
 * the values themselves, keeps none of its secret values once scrubbed, raw or JSON-escaped. */
#include <errno.h>
#include <jansson.h>

#include "bootstrap.h"
#include "common/deployment.h"
#include "common/secret.h"
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
        json_object_foreach((json_t *) from, k, v) {
                const json_t *old = json_object_get(before, k), *now = json_object_get(into, k);
                if (json_is_object(old) && json_is_object(v))
                        check_merge(now, old, v);
                else
                        FUZZ_CHECK(now && json_equal(now, v));
        }
        json_object_foreach((json_t *) before, k, v) {
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

/* Whether any part of s between the <redacted> marks holds value, as it is or as jansson escapes it. */
static bool leaks(const char *s, const char *value) {
        json_auto_t *js = json_string(value);
        _cleanup_free_ char *esc = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
        _cleanup_free_ char *copy = xstrdup(s);

        if (esc) { /* without its quotes */
                memmove(esc, esc + 1, strlen(esc));
                esc[strlen(esc) - 1] = '\0';
        }
        for (char *piece = copy; piece;) {
                char *mark = strstr(piece, SECRET_REDACTED);
                if (mark)
                        *mark = '\0';
                if (strstr(piece, value) || (esc && *esc && strstr(piece, esc)))
                        return true;
                piece = mark ? mark + strlen(SECRET_REDACTED) : NULL;
        }
        return false;
}

static void check_scrubbed(const json_t *v, char *const *values) {
        size_t i;
        const char *k;
        json_t *x;

        if (json_is_string(v))
                for (char *const *p = values; *p; p++) {
                        if (leaks(json_string_value(v), *p))
                                fprintf(stderr, "secret \"%s\" left in \"%s\"\n", *p, json_string_value(v));
                        FUZZ_CHECK(!leaks(json_string_value(v), *p));
                }
        json_array_foreach(v, i, x) check_scrubbed(x, values);
        json_object_foreach((json_t *) v, k, x) check_scrubbed(x, values);
}

static void check_secrets(const json_t *prepared) {
        _cleanup_strv_free_ char **values = hook_default_secret_values(prepared);
        if (!values || !*values)
                return;
        _cleanup_free_ char *text = json_dumps(prepared, JSON_COMPACT);
        _cleanup_free_ char *joined = xstrdup("");
        for (char **p = values; *p; p++) {
                FUZZ_CHECK(strlen(*p) >= SECRET_MIN_SCRUB);
                char *next = xasprintf("%s%s\n", joined, *p);
                free(joined);
                joined = next;
        }
        /* A hook that echoes everything it was given. */
        json_auto_t *data = deployment_result(text ? text : "", joined, 0);
        json_object_set_new(data, "echo", json_deep_copy(prepared));
        secret_scrub_json(data, values);
        check_scrubbed(data, values);
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
        (void) deployment_input(prepared, "deploy_action");
        json_auto_t *all = dispatch_inputs_map(prepared);
        json_auto_t *sig = dispatch_signal_inputs(prepared);
        const char *k;
        json_t *v;
        FUZZ_CHECK(json_is_object(all) && json_is_object(sig));
        json_object_foreach(sig, k, v)
                FUZZ_CHECK(strncmp(k, "deploy_", 7) == 0 && json_equal(v, json_object_get(all, k)));
        check_secrets(prepared);
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
