/* POLL_SERVER_HEAT: GET <orchestration>/stacks/<name/id>/resources/<resource>/metadata with a cached
 * Keystone token (os-collect-config asked Keystone for a new one on every poll: S3). */
#include <errno.h>
#include <string.h>

#include "openstack/keystone.h"
#include "source/source-internal.h"

typedef struct HeatSource {
        PhKeystone *keystone;
        char *path; /* below the orchestration endpoint */
} HeatSource;

static int heat_init(PhSource *s, const json_t *section, PhError **reterr) {
        PhKeystoneCredentials c = {};
        const char *stack_id, *resource_name;
        const PhSourceKey keys[] = {
                {"auth_url", true, &c.auth_url},        {"user_id", true, &c.user_id},
                {"password", true, &c.password},        {"project_id", true, &c.project_id},
                {"stack_id", true, &stack_id},          {"resource_name", true, &resource_name},
                {"region_name", false, &c.region_name},
        };
        int r;

        r = source_config_strings(s, section, keys, ELEMENTSOF(keys), reterr);
        if (r < 0)
                return r;

        HeatSource *h = xcalloc(1, sizeof(*h));
        s->data = h;
        r = keystone_new(&c, s->timeout_ms, s->ca_file, &h->keystone, reterr);
        if (r < 0)
                return r;
        _cleanup_free_ char *st = openstack_path_quote(stack_id);
        _cleanup_free_ char *res = openstack_path_quote(resource_name);
        h->path = xasprintf("/stacks/%s/resources/%s/metadata", st, res);
        return 0;
}

static int heat_collect(PhSource *s, json_t **ret, PhError **reterr) {
        HeatSource *h = s->data;
        const char *headers[] = {"Accept: application/json", NULL};
        PhHttpRequest req = source_http_request(s, "GET", h->path);
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        _cleanup_free_ char *what = xasprintf("GET <orchestration>%s", h->path);
        int r;

        req.headers = headers;
        r = keystone_call(h->keystone, "orchestration", &req, &resp, reterr);
        if (r < 0)
                return r;
        json_auto_t *doc = NULL;
        r = source_parse_json(&resp, what, &doc, reterr);
        if (r < 0)
                return r;
        json_t *md = json_object_get(doc, "metadata"); /* borrowed */
        if (!json_is_object(md))
                return ph_error_set(reterr, EBADMSG, "%s: the answer has no \"metadata\" object", what);
        *ret = json_incref(md);
        return 0;
}

static void heat_done(PhSource *s) {
        HeatSource *h = s->data;
        if (!h)
                return;
        keystone_free(h->keystone);
        free(h->path);
        free(h);
}

const PhSourceOps source_heat_ops = {
        .name = "heat",
        .init = heat_init,
        .collect = heat_collect,
        .done = heat_done,
};
