/* What the backends of source.h share: the vtable, the object, config and HTTP helpers. */
#pragma once

#include <jansson.h>
#include <stdbool.h>

#include "common/http.h"
#include "source/source.h"

typedef struct PhSourceOps {
        const char *name;
        int (*init)(PhSource *s, const json_t *section, PhError **reterr);
        int (*collect)(PhSource *s, json_t **ret_metadata, PhError **reterr);
        int (*commit)(PhSource *s, PhError **reterr); /* optional: see source_commit */
        void (*done)(PhSource *s);
} PhSourceOps;

struct PhSource {
        const PhSourceOps *ops;
        long timeout_ms;
        char *ca_file;
        const PhHttpCancel *cancel; /* borrowed, may be NULL */
        char *state_dir;            /* may be NULL */
        bool peek;
        void *data; /* the backend's own state */
};

extern const PhSourceOps source_heat_ops;
extern const PhSourceOps source_cfn_ops;
extern const PhSourceOps source_request_ops;
extern const PhSourceOps source_local_ops;
extern const PhSourceOps source_zaqar_ops;
extern const PhSourceOps source_queue_ops;

typedef struct PhSourceKey {
        const char *name;
        bool required;
        const char **ret; /* borrowed from the section; NULL when absent or null */
} PhSourceKey;

/* Reads string keys of a section; every missing required key and every non-string value is named
 * in one error ("heat: missing auth_url, user_id"). */
int source_config_strings(const PhSource *s, const json_t *section, const PhSourceKey *keys, size_t n,
                          PhError **reterr);
/* A request with the source's timeout, CA file and cancel. */
PhHttpRequest source_http_request(const PhSource *s, const char *method, const char *url);
/* Parses a 2xx JSON answer into a new ref; what names the request in errors (no secrets in it). */
int source_parse_json(const PhHttpResponse *resp, const char *what, json_t **ret, PhError **reterr);
/* Most JSON values a metadata document may hold. jansson takes some 50 bytes or more per value: a
 * body of a few MB of "0," would need gigabytes, so the text is counted before it is parsed. Real
 * metadata holds a few dozen values per deployment. */
#define SOURCE_MAX_JSON_VALUES (256u * 1024u)
/* json_loadb(text, len, JSON_DECODE_ANY) unless the text holds more than SOURCE_MAX_JSON_VALUES
 * values: NULL with jerr->text set either way (line and column 0 when the text was not parsed). */
json_t *source_json_load(const char *text, size_t len, json_error_t *jerr);

/* The text of the first <field> element inside DescribeStackResourceResult/StackResourceDetail of a
 * CFN XML answer: CDATA copied, the five XML entities and numeric character references decoded.
 * -ENOENT if there is no such element, -EBADMSG if the XML around it is not the expected shape. */
int source_cfn_xml_text(const char *xml, size_t len, const char *field, char **ret, PhError **reterr);
