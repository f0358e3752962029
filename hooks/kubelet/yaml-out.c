/* JSON -> YAML through libyaml's emitter, into memory. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdbool.h>
#include <string.h>
#include <yaml.h>

#include "common/cleanup.h"
#include "kubelet/yaml-out.h"

typedef struct Buffer {
        char *data;
        size_t len, cap;
} Buffer;

static int buffer_write(void *userdata, unsigned char *chunk, size_t size) {
        Buffer *b = userdata;

        if (b->len + size + 1 > b->cap) {
                while (b->len + size + 1 > b->cap)
                        b->cap = b->cap ? b->cap * 2 : 4096;
                b->data = xrealloc(b->data, b->cap);
        }
        memcpy(b->data + b->len, chunk, size);
        b->len += size;
        b->data[b->len] = 0;
        return 1;
}

/* Words a YAML 1.1 reader resolves to a boolean or null: such a string must be quoted. */
static bool is_special_word(const char *s) {
        static const char *const words[] = {"y",     "Y",     "yes",  "Yes",  "YES",  "n",    "N",
                                            "no",    "No",    "NO",   "true", "True", "TRUE", "false",
                                            "False", "FALSE", "on",   "On",   "ON",   "off",  "Off",
                                            "OFF",   "null",  "Null", "NULL"};
        for (size_t i = 0; i < ELEMENTSOF(words); i++)
                if (strcmp(s, words[i]) == 0)
                        return true;
        return false;
}

/* Plain only when it starts with a letter or '/' (no number, date, or indicator can) and holds nothing but
 * letters, digits and ._/-@ and ':' not at its end (so never ": "). Everything else is quoted. */
static bool plain_is_safe(const char *s, size_t len) {
        if (len == 0 || strlen(s) != len || is_special_word(s))
                return false;
        if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '/'))
                return false;
        for (size_t i = 1; i < len; i++) {
                char ch = s[i];
                bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                          strchr("._/-@", ch) || (ch == ':' && i + 1 < len);
                if (!ok)
                        return false;
        }
        return true;
}

/* Single quotes (nothing escaped but ') for one printable ASCII line, double quotes (with escapes) else. */
static yaml_scalar_style_t quoted_style(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7f)
                        return YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        return YAML_SINGLE_QUOTED_SCALAR_STYLE;
}

static int emit(yaml_emitter_t *e, yaml_event_t *ev) {
        return yaml_emitter_emit(e, ev) ? 0 : -EIO;
}

static int emit_scalar(yaml_emitter_t *e, const char *text, size_t len, bool is_string) {
        yaml_event_t ev;
        bool plain = !is_string || plain_is_safe(text, len);

        if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *) text, (int) len, plain, !plain,
                                          plain ? YAML_PLAIN_SCALAR_STYLE : quoted_style(text, len)))
                return -ENOMEM;
        return emit(e, &ev);
}

static int emit_value(yaml_emitter_t *e, const json_t *v) {
        yaml_event_t ev;
        char num[64];
        int r;

        switch (json_typeof(v)) {
        case JSON_OBJECT: {
                const char *k;
                json_t *c;
                if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE))
                        return -ENOMEM;
                r = emit(e, &ev);
                json_object_foreach((json_t *) v, k, c) {
                        if (r >= 0)
                                r = emit_scalar(e, k, strlen(k), true);
                        if (r >= 0)
                                r = emit_value(e, c);
                }
                if (r < 0)
                        return r;
                if (!yaml_mapping_end_event_initialize(&ev))
                        return -ENOMEM;
                return emit(e, &ev);
        }
        case JSON_ARRAY: {
                size_t i;
                json_t *c;
                if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE))
                        return -ENOMEM;
                r = emit(e, &ev);
                json_array_foreach(v, i, c) if (r >= 0) r = emit_value(e, c);
                if (r < 0)
                        return r;
                if (!yaml_sequence_end_event_initialize(&ev))
                        return -ENOMEM;
                return emit(e, &ev);
        }
        case JSON_STRING:
                return emit_scalar(e, json_string_value(v), json_string_length(v), true);
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                return emit_scalar(e, num, strlen(num), false);
        case JSON_REAL:
                snprintf(num, sizeof(num), "%.17g", json_real_value(v));
                return emit_scalar(e, num, strlen(num), false);
        case JSON_TRUE:
                return emit_scalar(e, "true", 4, false);
        case JSON_FALSE:
                return emit_scalar(e, "false", 5, false);
        case JSON_NULL:
        default:
                return emit_scalar(e, "null", 4, false);
        }
}

int kubelet_yaml_dump(const json_t *v, char **ret, size_t *ret_len, PhError **reterr) {
        yaml_emitter_t e;
        yaml_event_t ev;
        Buffer b = {};
        int r;

        if (!yaml_emitter_initialize(&e))
                return ph_error_set(reterr, ENOMEM, "YAML emitter: out of memory");
        yaml_emitter_set_output(&e, buffer_write, &b);
        yaml_emitter_set_unicode(&e, 1);
        yaml_emitter_set_indent(&e, 2);
        yaml_emitter_set_width(&e, -1); /* no folding of long strings */

        r = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ? emit(&e, &ev) : -ENOMEM;
        if (r >= 0)
                r = yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) ? emit(&e, &ev) : -ENOMEM;
        if (r >= 0)
                r = emit_value(&e, v);
        if (r >= 0)
                r = yaml_document_end_event_initialize(&ev, 1) ? emit(&e, &ev) : -ENOMEM;
        if (r >= 0)
                r = yaml_stream_end_event_initialize(&ev) ? emit(&e, &ev) : -ENOMEM;
        if (r >= 0 && !yaml_emitter_flush(&e))
                r = -EIO;
        if (r < 0) {
                r = ph_error_set(reterr, -r, "YAML emitter: %s", e.problem ? e.problem : "out of memory");
                yaml_emitter_delete(&e);
                free(b.data);
                return r;
        }
        yaml_emitter_delete(&e);
        *ret = b.data ? b.data : xstrdup("");
        if (ret_len)
                *ret_len = b.len;
        return 0;
}
