#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <time.h>

#include "openstack/keystone.h"

struct PhKeystone {
        char *v3_url;
        char *user_id;
        char *password;
        char *project_id;
        char *region_name;
        char *ca_file;
        long timeout_ms;
        char *token;
        time_t valid_until; /* expires_at minus the margin */
        json_t *catalog;    /* new ref: token.catalog */
        unsigned auth_count;
};

static void secret_free(char *s) {
        if (s)
                explicit_bzero(s, strlen(s));
        free(s);
}

static void secret_freep(char **s) {
        secret_free(*s);
        *s = NULL;
}

bool openstack_status_is_transient(long status) {
        return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

static bool ends_with(const char *s, size_t len, const char *suffix) {
        size_t n = strlen(suffix);
        return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

char *keystone_v3_url(const char *auth_url) {
        size_t len = strlen(auth_url);

        while (len > 0 && auth_url[len - 1] == '/')
                len--;
        if (ends_with(auth_url, len, "/v3"))
                return xstrndup(auth_url, len);
        if (ends_with(auth_url, len, "/v2.0"))
                return xasprintf("%.*s/v3", (int) (len - strlen("/v2.0")), auth_url);
        return xasprintf("%.*s/v3", (int) len, auth_url);
}

int keystone_new(const PhKeystoneCredentials *c, long timeout_ms, const char *ca_file, PhKeystone **ret,
                 PhError **reterr) {
        if (!c->auth_url || !c->user_id || !c->password || !c->project_id)
                return ph_error_set(reterr, EINVAL,
                                    "keystone: auth_url, user_id, password and project_id are required");
        if (strncmp(c->auth_url, "http://", 7) != 0 && strncmp(c->auth_url, "https://", 8) != 0)
                return ph_error_set(reterr, EINVAL, "keystone: auth_url is not an http(s) URL");

        PhKeystone *k = xcalloc(1, sizeof(*k));
        k->v3_url = keystone_v3_url(c->auth_url);
        k->user_id = xstrdup(c->user_id);
        k->password = xstrdup(c->password);
        k->project_id = xstrdup(c->project_id);
        k->region_name = c->region_name && *c->region_name ? xstrdup(c->region_name) : NULL;
        k->ca_file = ca_file ? xstrdup(ca_file) : NULL;
        k->timeout_ms = timeout_ms;
        *ret = k;
        return 0;
}

void keystone_invalidate(PhKeystone *k) {
        secret_free(k->token);
        k->token = NULL;
        k->valid_until = 0;
        json_decref(k->catalog);
        k->catalog = NULL;
}

PhKeystone *keystone_free(PhKeystone *k) {
        if (!k)
                return NULL;
        keystone_invalidate(k);
        free(k->v3_url);
        free(k->user_id);
        secret_free(k->password);
        free(k->project_id);
        free(k->region_name);
        free(k->ca_file);
        free(k);
        return NULL;
}

const char *keystone_token(const PhKeystone *k) {
        return k->token;
}

unsigned keystone_auth_count(const PhKeystone *k) {
        return k->auth_count;
}

/* "2026-11-22T04:18:50.000000Z" (Keystone's format; an offset other than Z/+00:00 is not used by it).
 * Returns (time_t) -1 when it cannot be read. */
static time_t parse_expires_at(const char *s) {
        struct tm tm = {};
        const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

        if (!end)
                return (time_t) -1;
        if (*end == '.')
                for (end++; *end >= '0' && *end <= '9'; end++)
                        ;
        if (*end != '\0' && strcmp(end, "Z") != 0 && strcmp(end, "+00:00") != 0)
                return (time_t) -1;
        return timegm(&tm);
}

static char *request_body(const PhKeystone *k) {
        json_auto_t *body = json_pack("{s:{s:{s:[s],s:{s:{s:s,s:s}}},s:{s:{s:s}}}}", "auth", "identity",
                                      "methods", "password", "password", "user", "id", k->user_id, "password",
                                      k->password, "scope", "project", "id", k->project_id);
        if (!body)
                abort();
        char *text = json_dumps(body, JSON_COMPACT);
        if (!text)
                abort();
        return text;
}

/* cancel: the caller's, so that a token request is aborted like the call it is for. */
static int authenticate(PhKeystone *k, const PhHttpCancel *cancel, PhError **reterr) {
        if (k->token && time(NULL) < k->valid_until)
                return 0;
        keystone_invalidate(k);

        _cleanup_free_ char *url = xasprintf("%s/auth/tokens", k->v3_url);
        _cleanup_free_ char *where = http_url_redact(url); /* auth_url may carry user info */
        char *body = request_body(k);
        const char *headers[] = {"Content-Type: application/json", "Accept: application/json", NULL};
        PhHttpRequest req = {
                .method = "POST",
                .url = url,
                .headers = headers,
                .body = body,
                .body_len = strlen(body),
                .timeout_ms = k->timeout_ms,
                .connect_timeout_ms = k->timeout_ms > 0 && k->timeout_ms < 10000 ? k->timeout_ms : 0,
                .max_body = 8u * 1024u * 1024u,
                .ca_file = k->ca_file,
                .cancel = cancel,
        };
        _cleanup_(http_response_done) PhHttpResponse resp = {};
        _cleanup_error_ PhError *err = NULL;
        int r = http_request(&req, &resp, &err);
        secret_free(body);
        if (r == -ECANCELED)
                return ph_error_set(reterr, ECANCELED, "keystone token: %s", ph_error_msg(err));
        if (r < 0)
                return ph_error_set(reterr, EAGAIN, "keystone token: %s", ph_error_msg(err));

        if (resp.status == 401 || resp.status == 403)
                return ph_error_set(reterr, EACCES, "keystone token: POST %s: HTTP %ld (credentials refused)",
                                    where, resp.status);
        if (openstack_status_is_transient(resp.status))
                return ph_error_set(reterr, EAGAIN, "keystone token: POST %s: HTTP %ld", where, resp.status);
        if (resp.status < 200 || resp.status > 299)
                return ph_error_set(reterr, EPROTO, "keystone token: POST %s: HTTP %ld", where, resp.status);

        r = keystone_take_token(k, http_response_header(&resp, "X-Subject-Token"), resp.body, resp.body_len,
                                reterr);
        if (r < 0) {
                ph_error_prefix(reterr, "keystone token: POST %s", where);
                return r;
        }
        return 0;
}

int keystone_take_token(PhKeystone *k, const char *token, const char *body, size_t len, PhError **reterr) {
        keystone_invalidate(k);
        if (!token || !*token)
                return ph_error_set(reterr, EPROTO, "no X-Subject-Token in the answer");

        json_error_t jerr;
        json_auto_t *doc = json_loadb(body ? body : "", len, 0, &jerr);
        json_t *t = doc ? json_object_get(doc, "token") : NULL; /* borrowed */
        if (!json_is_object(t))
                return ph_error_set(reterr, EPROTO, "answer has no token object");
        json_t *catalog = json_object_get(t, "catalog");
        if (!json_is_array(catalog))
                return ph_error_set(reterr, EPROTO, "token has no catalog");

        const char *expires = json_string_value(json_object_get(t, "expires_at"));
        time_t exp = expires ? parse_expires_at(expires) : (time_t) -1;
        /* An unreadable expiry means "use it for this call only". */
        k->valid_until = exp == (time_t) -1 ? 0 : exp - KEYSTONE_EXPIRY_MARGIN_SEC;
        k->token = xstrdup(token);
        k->catalog = json_incref(catalog);
        k->auth_count++;
        return 0;
}

/* url with %(tenant_id)s and %(project_id)s replaced by project_id in one pass: text put in is never
 * searched again (a project id may hold anything). */
static char *expand_project(const char *url, const char *project_id) {
        static const char *const names[] = {"%(tenant_id)s", "%(project_id)s"};
        char *out = xstrdup("");

        for (;;) {
                const char *hit = NULL;
                size_t hit_len = 0;
                for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                        const char *p = strstr(url, names[i]);
                        if (p && (!hit || p < hit)) {
                                hit = p;
                                hit_len = strlen(names[i]);
                        }
                }
                if (!hit)
                        break;
                char *n = xasprintf("%s%.*s%s", out, (int) (hit - url), url, project_id);
                free(out);
                out = n;
                url = hit + hit_len;
        }
        char *n = xasprintf("%s%s", out, url);
        free(out);
        return n;
}

static bool region_matches(const json_t *ep, const char *region) {
        const char *id = json_string_value(json_object_get(ep, "region_id"));
        const char *name = json_string_value(json_object_get(ep, "region"));
        return (id && strcmp(id, region) == 0) || (name && strcmp(name, region) == 0);
}

int keystone_authenticate(PhKeystone *k, PhError **reterr) {
        return authenticate(k, NULL, reterr);
}

int keystone_endpoint(PhKeystone *k, const char *type, char **ret, PhError **reterr) {
        size_t i, j;
        json_t *svc, *ep; /* borrowed */

        if (!k->catalog)
                return ph_error_set(reterr, ENOKEY, "keystone: no token held");
        json_array_foreach(k->catalog, i, svc) {
                const char *t = json_string_value(json_object_get(svc, "type"));
                if (!t || strcmp(t, type) != 0)
                        continue;
                json_array_foreach(json_object_get(svc, "endpoints"), j, ep) {
                        const char *iface = json_string_value(json_object_get(ep, "interface"));
                        const char *url = json_string_value(json_object_get(ep, "url"));
                        if (!iface || strcmp(iface, "public") != 0 || !url || !*url)
                                continue;
                        if (k->region_name && !region_matches(ep, k->region_name))
                                continue;
                        _cleanup_free_ char *b = expand_project(url, k->project_id);
                        size_t len = strlen(b);
                        while (len > 0 && b[len - 1] == '/')
                                len--;
                        *ret = xstrndup(b, len);
                        return 0;
                }
        }
        if (k->region_name)
                return ph_error_set(reterr, ENOENT,
                                    "keystone: no public %s endpoint in region %s in the catalog", type,
                                    k->region_name);
        return ph_error_set(reterr, ENOENT, "keystone: no public %s endpoint in the catalog", type);
}

int keystone_call(PhKeystone *k, const char *type, const PhHttpRequest *req, PhHttpResponse *ret,
                  PhError **reterr) {
        size_t n = 0;
        int r;

        for (const char *const *h = req->headers; h && *h; h++)
                n++;
        for (int attempt = 0;; attempt++) {
                r = authenticate(k, req->cancel, reterr);
                if (r < 0)
                        return r;
                _cleanup_free_ char *endpoint = NULL;
                r = keystone_endpoint(k, type, &endpoint, reterr);
                if (r < 0)
                        return r;

                _cleanup_free_ char *url = xasprintf("%s%s", endpoint, req->url);
                _cleanup_(secret_freep) char *auth = xasprintf("X-Auth-Token: %s", k->token);
                _cleanup_free_ const char **headers = xcalloc(n + 2, sizeof(char *));
                for (size_t i = 0; i < n; i++)
                        headers[i] = req->headers[i];
                headers[n] = auth;

                PhHttpRequest call = *req;
                call.url = url;
                call.headers = headers;
                PhHttpResponse resp = {};
                r = http_request(&call, &resp, reterr);
                if (r < 0) {
                        *ret = resp; /* its status and request_sent: whether the request may have arrived */
                        return r;
                }
                if (resp.status == 401 && attempt == 0) {
                        /* Revoked or expired early: one fresh token, then the answer counts. */
                        http_response_done(&resp);
                        keystone_invalidate(k);
                        continue;
                }
                *ret = resp;
                return 0;
        }
}

char *openstack_path_quote(const char *s) {
        char *out = xstrdup("");

        for (const char *p = s;;) {
                size_t n = strcspn(p, "/");
                _cleanup_free_ char *seg = xstrndup(p, n);
                _cleanup_free_ char *q = http_escape(seg);
                char *next = xasprintf("%s%s%s", out, p == s ? "" : "/", q);
                free(out);
                out = next;
                if (!p[n])
                        return out;
                p += n + 1;
        }
}
