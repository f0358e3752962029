/* The status API's pure half: route patterns and their refusals, which route a method and path name
 * (literal before placeholder, HEAD as GET, 404 against 405), the Allow list, path unescaping, the
 * printable form of a path, and the --api address forms. Table-driven. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>

#include "api/address.h"
#include "api/route.h"
#include "tap.h"

static int nop(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        return 0;
}

static void test_pattern_check(void) {
        struct {
                const char *method, *pattern, *want; /* want: NULL for a good pattern */
        } t[] = {
                {"GET", "/", NULL},
                {"GET", "/healthz", NULL},
                {"GET", "/v1/pods/{name}", NULL},
                {"DELETE", "/v1/{kind}/status", NULL},
                {"GET", "", "route '' does not start with '/'"},
                {"GET", "v1/pods", "route 'v1/pods' does not start with '/'"},
                {"GET", "/v1//pods", "route /v1//pods has an empty segment"},
                {"GET", "/v1/pods/", "route /v1/pods/ has an empty segment"},
                {"GET", "/v1/pods/x{name}",
                 "route /v1/pods/x{name}: a placeholder is a whole segment {name}"},
                {"GET", "/v1/pods/{name", "route /v1/pods/{name: a placeholder is a whole segment {name}"},
                {"GET", "/v1/pods/{}", "route /v1/pods/{}: a placeholder is a whole segment {name}"},
                {"GET", "/v1/pods/{Name}", "route /v1/pods/{Name}: a placeholder is a whole segment {name}"},
                {"GET", "/{a}/{b}", "route /{a}/{b} has more than one placeholder"},
                {"get", "/x", "route /x: bad method 'get'"},
                {"", "/x", "route /x: bad method ''"},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_error_ PhError *err = NULL;
                int r = api_pattern_check(t[i].method, t[i].pattern, &err);
                if (!t[i].want)
                        TAP_CHECK(r == 0);
                else {
                        TAP_CHECK(r == -EINVAL);
                        TAP_CHECK_STR(ph_error_msg(err), t[i].want);
                }
        }
}

static void test_pattern_match(void) {
        struct {
                const char *pattern, *path,
                        *param; /* param: "-" for no match, NULL for a match without one */
        } t[] = {
                {"/", "/", NULL},
                {"/", "//", "-"},
                {"/healthz", "/healthz", NULL},
                {"/healthz", "/healthz/", "-"},
                {"/healthz", "/healthzz", "-"},
                {"/healthz", "/health", "-"},
                {"/healthz", "healthz", "-"},
                {"/healthz", "", "-"},
                {"/v1/pods/{name}", "/v1/pods/web", "web"},
                {"/v1/pods/{name}", "/v1/pods/a.b-c_d", "a.b-c_d"},
                {"/v1/pods/{name}", "/v1/pods/", "-"},
                {"/v1/pods/{name}", "/v1/pods", "-"},
                {"/v1/pods/{name}", "/v1/pods/web/x", "-"},
                {"/v1/pods/{name}", "/v1/pods//", "-"},
                {"/v1/pods/{name}", "/v1/pods/.", "-"},
                {"/v1/pods/{name}", "/v1/pods/..", "-"},
                {"/v1/pods/{name}", "/v1/pods/...", "..."},
                {"/v1/pods/{name}", "/v1/pods/%2F", "%2F"},
                {"/v1/{kind}/status", "/v1/pods/status", "pods"},
                {"/v1/{kind}/status", "/v1/pods/statu", "-"},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                const char *p = (const char *) 1;
                size_t len = 99;
                bool m = api_pattern_match(t[i].pattern, t[i].path, &p, &len);
                if (t[i].param && strcmp(t[i].param, "-") == 0) {
                        if (!TAP_CHECK(!m))
                                printf("# %s matched %s\n", t[i].pattern, t[i].path);
                } else if (!t[i].param)
                        TAP_CHECK(m && p == NULL && len == 0);
                else
                        TAP_CHECK(m && p && len == strlen(t[i].param) && memcmp(p, t[i].param, len) == 0);
        }
}

static const PhApiRoute routes[] = {
        {"GET", "/healthz", 0, nop, NULL},
        {"GET", "/v1/pods/{name}", 0, nop, NULL},
        {"POST", "/v1/pods/{name}", PH_API_TOKEN | PH_API_BODY, nop, NULL},
        {"DELETE", "/v1/pods/{name}", PH_API_TOKEN, nop, NULL},
        {"GET", "/v1/pods/all", 0, nop, NULL}, /* literal: wins over the placeholder, though later */
        {"GET", "/v1/pods", 0, nop, NULL},
        {"POST", "/v1/pods", PH_API_TOKEN | PH_API_BODY_JSON, nop, NULL},
        {"POST", "/v1/pods/{other}", 0, nop, NULL}, /* shadowed: the first placeholder route wins */
};

static void test_route_find(void) {
        struct {
                const char *method, *path;
                PhApiMatch want;
                size_t index;
                const char *param;
        } t[] = {
                {"GET", "/healthz", PH_API_MATCH_FOUND, 0, NULL},
                {"HEAD", "/healthz", PH_API_MATCH_FOUND, 0, NULL},
                {"POST", "/healthz", PH_API_MATCH_NO_METHOD, 0, NULL},
                {"GET", "/v1/pods/web", PH_API_MATCH_FOUND, 1, "web"},
                {"POST", "/v1/pods/web", PH_API_MATCH_FOUND, 2, "web"},
                {"DELETE", "/v1/pods/web", PH_API_MATCH_FOUND, 3, "web"},
                {"PUT", "/v1/pods/web", PH_API_MATCH_NO_METHOD, 0, NULL},
                {"GET", "/v1/pods/all", PH_API_MATCH_FOUND, 4, NULL},
                {"DELETE", "/v1/pods/all", PH_API_MATCH_FOUND, 3, "all"},
                {"GET", "/v1/pods", PH_API_MATCH_FOUND, 5, NULL},
                {"POST", "/v1/pods", PH_API_MATCH_FOUND, 6, NULL},
                {"DELETE", "/v1/pods", PH_API_MATCH_NO_METHOD, 0, NULL},
                {"GET", "/v1/pods/", PH_API_MATCH_NO_PATH, 0, NULL},
                {"GET", "/v1/pods/..", PH_API_MATCH_NO_PATH, 0, NULL},
                {"GET", "/nothing", PH_API_MATCH_NO_PATH, 0, NULL},
                {"GET", "*", PH_API_MATCH_NO_PATH, 0, NULL},
                {"GET", "http://host/healthz", PH_API_MATCH_NO_PATH, 0, NULL},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                size_t index = 99;
                _cleanup_free_ char *param = NULL;
                PhApiMatch m =
                        api_route_find(routes, ELEMENTSOF(routes), t[i].method, t[i].path, &index, &param);
                if (!TAP_CHECK(m == t[i].want))
                        printf("# %s %s: %d\n", t[i].method, t[i].path, m);
                if (t[i].want != PH_API_MATCH_FOUND)
                        continue;
                if (!TAP_CHECK(index == t[i].index))
                        printf("# %s %s: route %zu\n", t[i].method, t[i].path, index);
                if (t[i].param)
                        TAP_CHECK_STR(param, t[i].param);
                else
                        TAP_CHECK(param == NULL);
        }
}

static void test_route_allow(void) {
        struct {
                const char *path, *want;
        } t[] = {
                {"/healthz", "GET, HEAD"},
                {"/v1/pods/web", "GET, HEAD, POST, DELETE"},
                {"/v1/pods/all", "GET, HEAD, POST, DELETE"},
                {"/v1/pods", "GET, HEAD, POST"},
                {"/nothing", ""},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *allow = api_route_allow(routes, ELEMENTSOF(routes), t[i].path);
                TAP_CHECK_STR(allow, t[i].want);
        }
}

static void test_unescape(void) {
        struct {
                const char *in, *out;
                size_t len;
        } t[] = {
                {"/v1/pods/web", "/v1/pods/web", 12},
                {"/v1/pods/w%65b", "/v1/pods/web", 12},
                {"/v1/pods/%77%45%62", "/v1/pods/wEb", 12},
                {"/a%2Fb", "/a%2Fb", 6},
                {"/a%2fb", "/a%2fb", 6},
                {"/a%00b", "/a%00b", 6},
                {"/a+b", "/a+b", 4},
                {"/a%20b", "/a b", 4},
                {"/%", "/%", 2},
                {"/%4", "/%4", 3},
                {"/%zz", "/%zz", 4},
                {"/%%41", "/%A", 3},
                {"/%2541", "/%41", 4}, /* decoded once only */
                {"", "", 0},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *s = xstrdup(t[i].in);
                size_t len = api_path_unescape(s);
                TAP_CHECK_STR(s, t[i].out);
                TAP_CHECK(len == t[i].len);
        }
        /* A high byte is decoded as it is: what the handler gets may be any byte but NUL and '/'. */
        char hi[] = "/%ff";
        TAP_CHECK(api_path_unescape(hi) == 2 && (unsigned char) hi[1] == 0xff);
}

static void test_printable(void) {
        _cleanup_free_ char *a = api_printable("/v1/pods/web", 100);
        _cleanup_free_ char *b = api_printable("/a\nb\\c\xff", 100);
        _cleanup_free_ char *c = api_printable("/abcdef", 4);
        TAP_CHECK_STR(a, "/v1/pods/web");
        TAP_CHECK_STR(b, "/a\\x0ab\\x5cc\\xff");
        TAP_CHECK_STR(c, "/abc...");
}

static void test_address(void) {
        struct {
                const char *in;
                const char *want; /* api_address_format, or the error */
                bool ok, loopback;
        } t[] = {
                {"127.0.0.1:8080", "127.0.0.1:8080", true, true},
                {"127.1.2.3:0", "127.1.2.3:0", true, true},
                {"[::1]:65535", "[::1]:65535", true, true},
                {"[::ffff:127.0.0.1]:80", "[::ffff:127.0.0.1]:80", true, true},
                {"0.0.0.0:8080", "0.0.0.0:8080", true, false},
                {"10.0.0.1:80", "10.0.0.1:80", true, false},
                {"[::]:80", "[::]:80", true, false},
                {"unix:/run/podhook/api.sock", "unix:/run/podhook/api.sock", true, false},
                {"", "API address is empty", false, false},
                {"unix:run/api", "API address 'unix:run/api': a unix socket needs an absolute path", false,
                 false},
                {"unix:", "API address 'unix:': a unix socket needs an absolute path", false, false},
                {"8080", "API address '8080': expected 127.0.0.1:PORT, [::1]:PORT or unix:/PATH", false,
                 false},
                {":8080", "API address ':8080': expected 127.0.0.1:PORT, [::1]:PORT or unix:/PATH", false,
                 false},
                {"127.0.0.1:", "API address '127.0.0.1:': the port is not a number from 0 to 65535", false,
                 false},
                {"127.0.0.1:65536", "API address '127.0.0.1:65536': the port is not a number from 0 to 65535",
                 false, false},
                {"127.0.0.1:+80", "API address '127.0.0.1:+80': the port is not a number from 0 to 65535",
                 false, false},
                {"127.0.0.1: 80", "API address '127.0.0.1: 80': the port is not a number from 0 to 65535",
                 false, false},
                {"127.0.0.1:080800",
                 "API address '127.0.0.1:080800': the port is not a number from 0 to 65535", false, false},
                {"localhost:80",
                 "API address 'localhost:80': not a numeric IP address (names are not looked up; use "
                 "127.0.0.1 or "
                 "[::1])",
                 false, false},
                {"::1:80",
                 "API address '::1:80': not a numeric IP address (names are not looked up; use 127.0.0.1 or "
                 "[::1])",
                 false, false},
                {"[127.0.0.1]:80",
                 "API address '[127.0.0.1]:80': not a numeric IP address (names are not looked up; use "
                 "127.0.0.1 or "
                 "[::1])",
                 false, false},
                {"[::1]", "API address '[::1]': an IPv6 address is written [ADDR]:PORT", false, false},
                {"[::1]80", "API address '[::1]80': an IPv6 address is written [ADDR]:PORT", false, false},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_error_ PhError *err = NULL;
                PhApiAddress a;
                int r = api_address_parse(t[i].in, &a, &err);
                if (!t[i].ok) {
                        TAP_CHECK(r == -EINVAL);
                        TAP_CHECK_STR(ph_error_msg(err), t[i].want);
                        continue;
                }
                if (!TAP_CHECK(r == 0)) {
                        printf("# %s: %s\n", t[i].in, ph_error_msg(err));
                        continue;
                }
                _cleanup_free_ char *f = api_address_format(&a);
                TAP_CHECK_STR(f, t[i].want);
                TAP_CHECK(a.loopback == t[i].loopback);
        }
        /* The longest path a sockaddr_un holds, and one byte more. */
        char path[sizeof(((struct sockaddr_un *) 0)->sun_path) + 8] = "unix:/";
        memset(path + 6, 'x', sizeof(path) - 7);
        path[sizeof(path) - 1] = '\0';
        PhApiAddress a;
        path[5 + sizeof(((struct sockaddr_un *) 0)->sun_path) - 1] = '\0';
        TAP_CHECK(api_address_parse(path, &a, NULL) == 0);
        path[5 + sizeof(((struct sockaddr_un *) 0)->sun_path) - 1] = 'x';
        TAP_CHECK(api_address_parse(path, &a, NULL) == -EINVAL);
}

int main(void) {
        test_pattern_check();
        test_pattern_match();
        test_route_find();
        test_route_allow();
        test_unescape();
        test_printable();
        test_address();
        return tap_done();
}
