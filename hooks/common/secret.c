#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "common/cleanup.h"
#include "common/secret.h"

static bool contains_ci(const char *s, const char *needle) {
        return strcasestr(s, needle) != NULL;
}

bool secret_name_is_secret(const char *name) {
        static const char *const words[] = {
                "password", "passwd", "secret", "token", "credential", "private", "apikey", "api_key",
                "access_key", "signal_id", "metadata_url", "signature",
        };
        size_t n = strlen(name);

        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (contains_ci(name, words[i]))
                        return true;
        /* FOO_KEY, FOO-KEY, but not KEYBOARD or MONKEY_BUSINESS */
        return n >= 4 && strcasecmp(name + n - 4, "_key") == 0;
}

void secret_cut_json_error(char *text) {
        char *near = strstr(text, " near '");

        if (near)
                *near = '\0';
}

bool secret_url_is_signed(const char *s) {
        const char *q = strchr(s, '?');

        if (!q || !strstr(s, "://"))
                return false;
        return contains_ci(q, "signature=") || contains_ci(q, "temp_url_sig=") || contains_ci(q, "token=");
}

void secret_redact_env_array(json_t *env) {
        size_t i;
        json_t *item;

        json_array_foreach(env, i, item) {
                const char *s = json_string_value(item);
                const char *eq = s ? strchr(s, '=') : NULL;
                if (!eq)
                        continue;
                _cleanup_free_ char *name = xstrndup(s, (size_t) (eq - s));
                if (secret_name_is_secret(name))
                        json_array_set_new(env, i, json_sprintf("%s=%s", name, SECRET_REDACTED));
        }
}

char **secret_values_of_inputs(const json_t *inputs) {
        size_t i, n = 0;
        json_t *in;
        char **values = xcalloc(json_array_size(inputs) + 1, sizeof(char *));

        json_array_foreach(inputs, i, in) {
                const char *name = json_string_value(json_object_get(in, "name"));
                const char *value = json_string_value(json_object_get(in, "value"));
                if (!name || !value || strlen(value) < 4)
                        continue;
                if (secret_name_is_secret(name) || secret_url_is_signed(value))
                        values[n++] = xstrdup(value);
        }
        return values;
}

static char *replace_all(const char *s, const char *needle) {
        size_t nlen = strlen(needle), rlen = strlen(SECRET_REDACTED), count = 0;

        for (const char *p = strstr(s, needle); p; p = strstr(p + nlen, needle))
                count++;
        if (count == 0)
                return NULL;
        char *out = xmalloc(strlen(s) - count * nlen + count * rlen + 1), *o = out;
        for (const char *p = s, *hit; (hit = strstr(p, needle)); p = hit + nlen) {
                memcpy(o, p, (size_t) (hit - p));
                o += hit - p;
                memcpy(o, SECRET_REDACTED, rlen);
                o += rlen;
                s = hit + nlen;
        }
        strcpy(o, s);
        return out;
}

/* A copy of s with every value replaced, or NULL when none occurs. */
static char *scrub_string(const char *s, char *const *values) {
        char *cur = NULL;

        for (char *const *v = values; v && *v; v++) {
                char *next = replace_all(cur ? cur : s, *v);
                if (next) {
                        free(cur);
                        cur = next;
                }
        }
        return cur;
}

/* For a string child: its scrubbed copy (new ref) or NULL when nothing matched; containers are
 * scrubbed in place (NULL). */
static json_t *scrub_child(json_t *child, char *const *values) {
        if (!json_is_string(child)) {
                secret_scrub_json(child, values);
                return NULL;
        }
        _cleanup_free_ char *s = scrub_string(json_string_value(child), values);
        return s ? json_string(s) : NULL;
}

void secret_scrub_json(json_t *v, char *const *values) {
        const char *key;
        json_t *child, *fresh;
        size_t i;

        if (!values || !*values)
                return;
        json_object_foreach(v, key, child) {
                if ((fresh = scrub_child(child, values)))
                        json_object_set_new(v, key, fresh);
        }
        json_array_foreach(v, i, child) {
                if ((fresh = scrub_child(child, values)))
                        json_array_set_new(v, i, fresh);
        }
}

void secret_redact_json(json_t *v) {
        const char *key;
        json_t *child;
        size_t i;

        if (json_is_object(v)) {
                json_object_foreach(v, key, child) {
                        if (json_is_string(child) &&
                            (secret_name_is_secret(key) || secret_url_is_signed(json_string_value(child))))
                                json_object_set_new(v, key, json_string(SECRET_REDACTED));
                        else
                                secret_redact_json(child);
                }
                /* heat-style inputs: {"name": "deploy_password", "value": "..."} */
                const char *name = json_string_value(json_object_get(v, "name"));
                json_t *value = json_object_get(v, "value");
                if (name && value && !json_is_null(value) && secret_name_is_secret(name))
                        json_object_set_new(v, "value", json_string(SECRET_REDACTED));
        } else if (json_is_array(v)) {
                json_array_foreach(v, i, child) {
                        if (json_is_string(child) && secret_url_is_signed(json_string_value(child)))
                                json_array_set_new(v, i, json_string(SECRET_REDACTED));
                        else
                                secret_redact_json(child);
                }
        }
}
