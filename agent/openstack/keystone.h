/* Keystone v3: a password token for a user id scoped to a project id, cached in memory until shortly
 * before it expires, the service catalog of that token, and authenticated calls to a catalog service
 * (re-authenticating once on 401). Used by the heat source and the HEAT_SIGNAL transport. */
#pragma once

#include <stdbool.h>

#include "common/error.h"
#include "common/http.h"

typedef struct PhKeystoneCredentials {
        const char *auth_url; /* ".../v3", ".../v3/", unversioned (v3 appended) or ".../v2.0" (-> v3) */
        const char *user_id;
        const char *password;
        const char *project_id;
        const char *region_name; /* optional: catalog endpoints of this region only */
} PhKeystoneCredentials;

/* A token is re-requested this long before its expires_at. */
#define KEYSTONE_EXPIRY_MARGIN_SEC 120

typedef struct PhKeystone PhKeystone;

/* Copies the credentials; does not talk to Keystone yet. */
int keystone_new(const PhKeystoneCredentials *c, long timeout_ms, const char *ca_file, PhKeystone **ret,
                 PhError **reterr);
PhKeystone *keystone_free(PhKeystone *k);
PH_DEFINE_CLEANUP(PhKeystone *, keystone_free)

/* The v3 base URL for an auth_url as found in metadata (no trailing slash); the caller frees it. */
char *keystone_v3_url(const char *auth_url);

/* Makes sure a valid token is held (authenticating if there is none or it is about to expire).
 * -EAGAIN: no answer or a 5xx/408/429 from Keystone (may work later);
 * -EACCES: Keystone refused the credentials (401/403); other < 0: a bad answer. */
int keystone_authenticate(PhKeystone *k, PhError **reterr);
/* Holds the token of a 2xx token answer (its X-Subject-Token value and JSON body) with its catalog and
 * expiry, replacing what was held: what keystone_authenticate does with the answer, without I/O (the
 * fuzz target calls it). -EPROTO when it is no token answer. */
int keystone_take_token(PhKeystone *k, const char *token, const char *body, size_t len, PhError **reterr);
/* Forgets the token (after a 401 from a service). */
void keystone_invalidate(PhKeystone *k);
/* The held token (borrowed), NULL if there is none. */
const char *keystone_token(const PhKeystone *k);
/* How many token requests were answered with a token so far (tests and debug logs). */
unsigned keystone_auth_count(const PhKeystone *k);

/* The public endpoint of service type in the held token's catalog, %(tenant_id)s/%(project_id)s
 * replaced by the project id, without a trailing slash; -ENOENT if the catalog has none. */
int keystone_endpoint(PhKeystone *k, const char *type, char **ret, PhError **reterr);

/* One call to service type: authenticates, sends req (whose url is the path below the endpoint,
 * starting with "/") with X-Auth-Token added, and on a 401 re-authenticates and sends it once more.
 * 0 when an answer arrived (*ret filled, any status); < 0 as keystone_authenticate, or the
 * http_request error (-ETIMEDOUT, -ECONNREFUSED, ...; -ECANCELED when req->cancel aborted the call or
 * its token request), with *ret as http_request leaves it. */
int keystone_call(PhKeystone *k, const char *type, const PhHttpRequest *req, PhHttpResponse *ret,
                  PhError **reterr);

/* s percent-quoted for a URL path with '/' kept literal (Python's quote(s), as heatclient builds
 * /stacks/<name/id>/resources/<name>/...); the caller frees it. */
char *openstack_path_quote(const char *s);
/* True if an HTTP status means "try again later": 408, 429, 5xx. */
bool openstack_status_is_transient(long status);
