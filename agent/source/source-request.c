/* POLL_TEMP_URL: GET a Swift TempURL. The ETag/Last-Modified of the last good answer are kept in
 * the object and sent back, so an unchanged object costs a 304 (os-collect-config meant to do
 * this but lost the value on every poll: B11). */
#include <errno.h>
#include <string.h>

#include "source/source-internal.h"

typedef struct RequestSource {
        char *url; /* signed: never in a message */
        char *etag;
        char *last_modified;
} RequestSource;

static int request_init(PhSource *s, const json_t *section, PhError **reterr) {
        const char *url;
        const PhSourceKey keys[] = {{"metadata_url", true, &url}};
        int r;

        r = source_config_strings(s, section, keys, ELEMENTSOF(keys), reterr);
        if (r < 0)
                return r;
        if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
                return ph_error_set(reterr, EINVAL, "request: metadata_url is not an http(s) URL");
        RequestSource *q = xcalloc(1, sizeof(*q));
        q->url = xstrdup(url);
        s->data = q;
        return 0;
}

static void remember(char **slot, const char *value) {
        free(*slot);
        *slot = value && *value ? xstrdup(value) : NULL;
}

static int request_collect(PhSource *s, json_t **ret, PhError **reterr) {
        RequestSource *q = s->data;
        _cleanup_free_ char *inm = q->etag ? xasprintf("If-None-Match: %s", q->etag) : NULL;
        _cleanup_free_ char *ims =
                q->last_modified ? xasprintf("If-Modified-Since: %s", q->last_modified) : NULL;
        const char *headers[4] = {"Accept: application/json"};
        size_t n = 1;
        _cleanup_free_ char *where = http_url_redact(q->url);
        _cleanup_free_ char *what = xasprintf("GET %s", where);
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        int r;

        if (inm)
                headers[n++] = inm;
        if (ims)
                headers[n++] = ims;
        PhHttpRequest req = source_http_request(s, "GET", q->url);
        req.headers = headers;
        r = http_request(&req, &resp, reterr);
        if (r < 0)
                return r;
        if (resp.status == 304 && (inm || ims))
                return 1;

        json_auto_t *doc = NULL;
        r = source_parse_json(&resp, what, &doc, reterr);
        if (r < 0)
                return r;
        if (!json_is_object(doc))
                return ph_error_set(reterr, EBADMSG, "%s: the answer is not a JSON object", what);
        remember(&q->etag, http_response_header(&resp, "ETag"));
        remember(&q->last_modified, http_response_header(&resp, "Last-Modified"));
        *ret = TAKE_PTR(doc);
        return 0;
}

static void request_done(PhSource *s) {
        RequestSource *q = s->data;
        if (!q)
                return;
        if (q->url)
                explicit_bzero(q->url, strlen(q->url));
        free(q->url);
        free(q->etag);
        free(q->last_modified);
        free(q);
}

const PhSourceOps source_request_ops = {
        .name = "request",
        .init = request_init,
        .collect = request_collect,
        .done = request_done,
};
