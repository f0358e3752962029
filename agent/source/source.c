#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "source/source-internal.h"

static const PhSourceOps *const source_table[] = {
        &source_heat_ops,  &source_cfn_ops,   &source_request_ops,
        &source_local_ops, &source_zaqar_ops, &source_queue_ops,
};

int source_new(const char *name, const json_t *section, const PhSourceOptions *o, PhSource **ret,
               PhError **reterr) {
        const PhSourceOps *ops = NULL;
        int r;

        for (size_t i = 0; i < ELEMENTSOF(source_table); i++)
                if (strcmp(source_table[i]->name, name) == 0)
                        ops = source_table[i];
        if (!ops)
                return ph_error_set(reterr, EINVAL,
                                    "unknown source '%s' (known: heat, cfn, request, local, zaqar, queue)",
                                    name);

        _cleanup_(source_freep) PhSource *s = xcalloc(1, sizeof(*s));
        s->ops = ops;
        s->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 10000;
        s->ca_file = o && o->ca_file ? xstrdup(o->ca_file) : NULL;
        s->cancel = o ? o->cancel : NULL;
        s->state_dir = o && o->state_dir ? xstrdup(o->state_dir) : NULL;
        s->peek = o && o->peek;
        r = ops->init(s, section, reterr);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

int source_collect(PhSource *s, json_t **ret_metadata, PhError **reterr) {
        json_t *m = NULL;
        int r = s->ops->collect(s, &m, reterr);
        if (r < 0) {
                ph_error_prefix(reterr, "source %s", s->ops->name);
                return r;
        }
        if (r == 0)
                *ret_metadata = m;
        return r;
}

int source_commit(PhSource *s, PhError **reterr) {
        int r = s->ops->commit ? s->ops->commit(s, reterr) : 0;
        if (r < 0)
                ph_error_prefix(reterr, "source %s", s->ops->name);
        return r;
}

const char *source_name(const PhSource *s) {
        return s->ops->name;
}

PhSource *source_free(PhSource *s) {
        if (!s)
                return NULL;
        if (s->ops->done)
                s->ops->done(s);
        free(s->ca_file);
        free(s->state_dir);
        free(s);
        return NULL;
}

int source_config_strings(const PhSource *s, const json_t *section, const PhSourceKey *keys, size_t n,
                          PhError **reterr) {
        _cleanup_free_ char *missing = NULL;
        _cleanup_free_ char *wrong = NULL;

        if (section && !json_is_object(section) && !json_is_null(section))
                return ph_error_set(reterr, EINVAL, "%s: the section must be an object", s->ops->name);
        for (size_t i = 0; i < n; i++) {
                json_t *v = section ? json_object_get(section, keys[i].name) : NULL; /* borrowed */
                *keys[i].ret = NULL;
                if (json_is_string(v) && json_string_length(v) > 0) {
                        *keys[i].ret = json_string_value(v);
                        continue;
                }
                char **list = NULL;
                if (v && !json_is_null(v) && !json_is_string(v))
                        list = &wrong;
                else if (keys[i].required)
                        list = &missing;
                if (!list)
                        continue;
                char *next = xasprintf("%s%s%s", *list ? *list : "", *list ? ", " : "", keys[i].name);
                free(*list);
                *list = next;
        }
        if (missing && wrong)
                return ph_error_set(reterr, EINVAL, "%s: missing %s; not a string: %s", s->ops->name, missing,
                                    wrong);
        if (missing)
                return ph_error_set(reterr, EINVAL, "%s: missing %s", s->ops->name, missing);
        if (wrong)
                return ph_error_set(reterr, EINVAL, "%s: not a string: %s", s->ops->name, wrong);
        return 0;
}

PhHttpRequest source_http_request(const PhSource *s, const char *method, const char *url) {
        return (PhHttpRequest){
                .method = method,
                .url = url,
                .timeout_ms = s->timeout_ms,
                .connect_timeout_ms = s->timeout_ms < 10000 ? s->timeout_ms : 10000,
                .max_body = 64u * 1024u * 1024u,
                /* A same-origin move (a proxy before Swift or Heat) is followed; another host never is. */
                .max_redirects = 3,
                .ca_file = s->ca_file,
                .cancel = s->cancel,
        };
}

/* An upper bound of the values in a JSON text: each one but the first follows a ',', ':', '[' or '{'
 * outside a string. */
static size_t json_text_values(const char *s, size_t len) {
        size_t n = 1;
        bool in_string = false;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];
                if (in_string) {
                        if (c == '\\')
                                i++;
                        else if (c == '"')
                                in_string = false;
                } else if (c == '"')
                        in_string = true;
                else if (c == ',' || c == ':' || c == '[' || c == '{')
                        n++;
        }
        return n;
}

json_t *source_json_load(const char *text, size_t len, json_error_t *jerr) {
        if (json_text_values(text, len) > SOURCE_MAX_JSON_VALUES) {
                *jerr = (json_error_t){};
                snprintf(jerr->text, sizeof(jerr->text), "more than %u JSON values", SOURCE_MAX_JSON_VALUES);
                return NULL;
        }
        return json_loadb(text, len, JSON_DECODE_ANY, jerr);
}

int source_parse_json(const PhHttpResponse *resp, const char *what, json_t **ret, PhError **reterr) {
        json_error_t jerr;

        if (resp->status < 200 || resp->status > 299)
                return ph_error_set(reterr, resp->status == 401 || resp->status == 403 ? EACCES : EPROTO,
                                    "%s: HTTP %ld", what, resp->status);
        json_t *doc = source_json_load(resp->body ? resp->body : "", resp->body_len, &jerr);
        if (!doc && jerr.line == 0)
                return ph_error_set(reterr, EFBIG, "%s: the answer holds %s", what, jerr.text);
        if (!doc)
                return ph_error_set(reterr, EBADMSG, "%s: answer is not JSON (line %d, column %d)", what,
                                    jerr.line,
                                    jerr.column); /* jansson's text quotes the input: it may hold secrets */
        *ret = doc;
        return 0;
}

void source_merge_deep(json_t *into, const json_t *from) {
        const char *key;
        json_t *v; /* borrowed */

        json_object_foreach((json_t *) from, key, v) {
                json_t *cur = json_object_get(into, key); /* borrowed */
                if (json_is_object(cur) && json_is_object(v))
                        source_merge_deep(cur, v);
                else
                        json_object_set_new(into, key, json_deep_copy(v));
        }
}
