#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "common/cleanup.h"

#include "common/deployment.h"

bool deployment_id_valid(const char *id) {
        if (!id || !*id || id[0] == '.' || strlen(id) > 200)
                return false;
        for (const char *p = id; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                      *p == '-' || *p == '_' || *p == '.'))
                        return false;
        return true;
}

const json_t *deployment_input_json(const json_t *deployment, const char *name) {
        const json_t *in;
        size_t i;

        json_array_foreach(json_object_get(deployment, "inputs"), i, in) {
                const char *n = json_string_value(json_object_get(in, "name"));
                if (n && strcmp(n, name) == 0)
                        return json_object_get(in, "value");
        }
        return NULL;
}

const char *deployment_input(const json_t *deployment, const char *name) {
        return json_string_value(deployment_input_json(deployment, name));
}

const char *deployment_kind_of(const json_t *v) {
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "a map";
        case JSON_ARRAY:
                return "a list";
        case JSON_STRING:
                return "a string";
        case JSON_INTEGER:
                return "an integer";
        case JSON_REAL:
                return "a floating-point number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "true/false";
        default:
                return "null";
        }
}

/* Length of the valid UTF-8 sequence at s (no overlongs, surrogates or NUL), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t left) {
        unsigned c = s[0];
        size_t need;
        unsigned cp;

        if (c >= 0x01 && c < 0x80)
                return 1;
        if ((c & 0xe0) == 0xc0)
                need = 2, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0)
                need = 3, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0)
                need = 4, cp = c & 0x07;
        else
                return 0;
        if (need > left)
                return 0;
        for (size_t k = 1; k < need; k++) {
                if ((s[k] & 0xc0) != 0x80)
                        return 0;
                cp = (cp << 6) | (s[k] & 0x3f);
        }
        if ((need == 2 && cp < 0x80) || (need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        return need;
}

json_t *deployment_text(const char *s, size_t len) {
        _cleanup_free_ char *out = NULL;
        size_t o = 0, i = 0;

        if (!s)
                return json_string("");
        out = xmalloc(len * 3 + 1);
        while (i < len) {
                size_t n = utf8_seq((const unsigned char *) s + i, len - i);
                if (n > 0) {
                        memcpy(out + o, s + i, n);
                        o += n;
                        i += n;
                } else {
                        memcpy(out + o, "\xef\xbf\xbd", 3);
                        o += 3;
                        i++;
                }
        }
        return json_stringn(out, o);
}

json_t *deployment_result(const char *out, const char *err, int code) {
        json_t *res = json_object();

        json_object_set_new(res, "deploy_stdout", deployment_text(out, out ? strlen(out) : 0));
        json_object_set_new(res, "deploy_stderr", deployment_text(err, err ? strlen(err) : 0));
        json_object_set_new(res, "deploy_status_code", json_integer(code));
        return res;
}

bool deployment_result_failed(const json_t *result) {
        const json_t *code = json_object_get(result, "deploy_status_code");

        if (!code || json_is_null(code) || json_is_false(code))
                return false;
        if (json_is_integer(code))
                return json_integer_value(code) != 0;
        if (json_is_string(code))
                return json_string_length(code) > 0 && strcmp(json_string_value(code), "0") != 0;
        return true;
}

char *deployment_first_line(const char *text, size_t max) {
        const char *p = text;

        if (!p)
                return xstrdup("");
        while (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
                p++;
        size_t n = strcspn(p, "\r\n");
        if (n > max) {
                n = max;
                /* Not inside a UTF-8 sequence: back to the start of the character cut. */
                while (n > 0 && ((unsigned char) p[n] & 0xC0) == 0x80)
                        n--;
        }
        return xstrndup(p, n);
}

int deployment_pod_action(const json_t *deployment, const char **ret_name, const char **ret_action,
                          PhError **reterr) {
        if (!json_is_object(deployment))
                return ph_error_set(reterr, EINVAL, "the deployment is not a JSON object");
        const char *name = json_string_value(json_object_get(deployment, "name"));
        if (!name || !*name)
                return ph_error_set(reterr, EINVAL, "the deployment has no name (the pod is named after it)");
        const json_t *action = deployment_input_json(deployment, "deploy_action");
        if (action && !json_is_string(action))
                return ph_error_set(reterr, EINVAL,
                                    "the deployment's input deploy_action must be a string, not %s",
                                    deployment_kind_of(action));
        *ret_name = name;
        *ret_action = action ? json_string_value(action) : "CREATE";
        return 0;
}
