/* Bootstrap documents. */
#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <string.h>

#include "bootstrap.h"
#include "common/fileio.h"
#include "common/secret.h"

#define BOOTSTRAP_MAX_FILE (16u * 1024 * 1024)

static const char *const source_sections[] = {"heat",  "cfn", "request",   "local",
                                              "zaqar", "ec2", "heat_local"};

json_t *bootstrap_normalize(const json_t *occ) {
        json_t *out = json_object();
        const json_t *collectors = json_object_get(occ, "collectors");
        const char *k;
        json_t *v;

        json_object_foreach((json_t *) occ, k, v) {
                if (strcmp(k, "collectors") == 0 || json_is_null(v))
                        continue;
                /* local's section may be a bare path string; keep scalars other than null. */
                json_object_set(out, k, v);
        }
        json_t *list = json_array();
        if (json_is_array(collectors)) {
                size_t i;
                json_t *c;
                json_array_foreach(collectors, i, c) {
                        if (json_is_string(c))
                                json_array_append(list, c);
                }
        } else if (json_is_string(collectors)) {
                _cleanup_free_ char *copy = xstrdup(json_string_value(collectors));
                char *save = NULL;
                for (char *t = strtok_r(copy, ", \t", &save); t; t = strtok_r(NULL, ", \t", &save))
                        json_array_append_new(list, json_string(t));
        } else {
                for (size_t i = 0; i < ELEMENTSOF(source_sections); i++)
                        if (json_is_object(json_object_get(out, source_sections[i])))
                                json_array_append_new(list, json_string(source_sections[i]));
        }
        json_object_set_new(out, "collectors", list);
        return out;
}

static bool looks_like_occ(const json_t *doc) {
        if (json_object_get(doc, "collectors"))
                return true;
        for (size_t i = 0; i < ELEMENTSOF(source_sections); i++)
                if (json_is_object(json_object_get(doc, source_sections[i])))
                        return true;
        return false;
}

int bootstrap_from_json(const json_t *doc, json_t **ret_occ, PhError **reterr) {
        const json_t *occ;

        if (!json_is_object(doc))
                return ph_error_set(reterr, EINVAL, "not a JSON object");
        occ = json_object_get(doc, "os-collect-config");
        if (!occ && looks_like_occ(doc))
                occ = doc;
        if (!json_is_object(occ))
                return ph_error_set(
                        reterr, EINVAL,
                        "no 'os-collect-config' object and no collectors/heat/cfn/request/local keys");
        json_auto_t *n = bootstrap_normalize(occ);
        if (json_array_size(json_object_get(n, "collectors")) == 0)
                return ph_error_set(reterr, EINVAL, "os-collect-config names no collectors");
        *ret_occ = TAKE_PTR(n);
        return 0;
}

int bootstrap_read(const char *path, json_t **ret_occ, PhError **reterr) {
        _cleanup_free_ char *text = NULL;
        json_error_t jerr;
        size_t len;
        int r = file_read_all(path, BOOTSTRAP_MAX_FILE, &text, &len, reterr);

        if (r < 0)
                return r;
        json_auto_t *doc = json_loadb(text, len, 0, &jerr);
        if (!doc) {
                secret_cut_json_error(jerr.text); /* the file holds passwords */
                return ph_error_set(reterr, EINVAL, "%s:%d: invalid JSON: %s (column %d)", path, jerr.line,
                                    jerr.text, jerr.column);
        }
        r = bootstrap_from_json(doc, ret_occ, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "%s", path);
        return 0;
}

int bootstrap_read_first(const char *paths, json_t **ret_occ, PhError **reterr) {
        _cleanup_free_ char *copy = xstrdup(paths);
        char *save = NULL;

        for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save))
                if (file_exists(p) > 0)
                        return bootstrap_read(p, ret_occ, reterr);
        return ph_error_set(reterr, ENOENT, "no bootstrap data in %s", paths);
}
