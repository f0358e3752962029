/* A Keystone v3 token answer (POST /v3/auth/tokens): keystone_take_token() reads the token, its expiry
 * and its catalog, keystone_endpoint() picks the public endpoint of the services podhook calls, with
 * and without a region, with a project id that looks like a placeholder itself. Promises: a refused
 * answer leaves no token; an endpoint is non-NULL without a trailing '/' and never still holds a
 * placeholder that came from the catalog's URL. */
#include <errno.h>

#include "fuzz.h"
#include "openstack/keystone.h"

/* A project id may hold anything: the text put in for a placeholder must not be expanded again. */
#define PROJECT "p%(tenant_id)s"

static size_t count(const char *s, const char *what) {
        size_t n = 0;
        for (const char *p = s; (p = strstr(p, what)); p++)
                n++;
        return n;
}

static void check_endpoints(PhKeystone *k) {
        static const char *const types[] = {"orchestration", "cloudformation", "object-store",
                                            "messaging",     "identity",       ""};

        for (size_t i = 0; i < ELEMENTSOF(types); i++) {
                _cleanup_free_ char *url = NULL;
                _cleanup_error_ PhError *err = NULL;
                int r = keystone_endpoint(k, types[i], &url, &err);
                if (r < 0) {
                        FUZZ_CHECK(r == -ENOENT && err && !url);
                        continue;
                }
                FUZZ_CHECK(r == 0 && url);
                size_t n = strlen(url);
                FUZZ_CHECK(n == 0 || url[n - 1] != '/');
                /* Every placeholder left is one the project id brought. */
                FUZZ_CHECK(count(url, "%(tenant_id)s") + count(url, "%(project_id)s") == count(url, PROJECT));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        static const char *const regions[] = {NULL, "RegionOne"};
        _cleanup_free_ char *body = fuzz_text(data, size);

        for (size_t i = 0; i < ELEMENTSOF(regions); i++) {
                const PhKeystoneCredentials c = {
                        .auth_url = "http://127.0.0.1:5000/v3",
                        .user_id = "u",
                        .password = "pw",
                        .project_id = PROJECT,
                        .region_name = regions[i],
                };
                _cleanup_(keystone_freep) PhKeystone *k = NULL;
                _cleanup_error_ PhError *err = NULL;
                FUZZ_CHECK(keystone_new(&c, 1000, NULL, &k, &err) == 0);
                int r = keystone_take_token(k, "gAAAAAfuzztoken", body, size, &err);
                if (r < 0) {
                        FUZZ_CHECK(r == -EPROTO && err && !keystone_token(k));
                        FUZZ_CHECK(keystone_endpoint(k, "orchestration", &(char *){NULL}, NULL) == -ENOKEY);
                        continue;
                }
                FUZZ_CHECK(r == 0 && keystone_token(k) && strcmp(keystone_token(k), "gAAAAAfuzztoken") == 0);
                FUZZ_CHECK(keystone_auth_count(k) == 1);
                check_endpoints(k);
                /* A second answer replaces the first. */
                r = keystone_take_token(k, "", body, size, NULL);
                FUZZ_CHECK(r == -EPROTO && !keystone_token(k));
        }
        return 0;
}
