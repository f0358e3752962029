/* Fuzz target for what the status API reads from outside before a handler runs (agent/api): the
 * --api address, request paths (unescaping, route matching, the Allow list, the printable form) and
 * the Authorization header. The first byte picks the parser, the rest is its input.
 *
 * Promises checked besides crashes, leaks and undefined behaviour:
 *  - an address that parses formats to a text that parses to the same address; a unix one is
 *    absolute; a refusal says "API address";
 *  - unescaping never lengthens a path and never makes a NUL or a '/' that was not there;
 *  - a route found has the method asked for (HEAD as GET) and its pattern matches the path; its
 *    param exists exactly when the pattern has a placeholder, and is one whole segment, never empty,
 *    "." or ".."; a 405 comes with a non-empty Allow list, a 404 with an empty one;
 *  - the printable form is printable ASCII only;
 *  - a header is accepted exactly when it is "Bearer" (any case), white space, the token and white
 *    space; never without a configured token. */
#include <ctype.h>
#include <strings.h>

#include "fuzz.h"

#include "api/address.h"
#include "api/route.h"
#include "api/token.h"
#include "common/fileio.h"

#define TOKEN "s3cret-T0ken"

static int nop(const PhApiRequest *req, PhApiReply *reply, void *userdata) {
        return 0;
}

static const PhApiRoute routes[] = {
        {"GET", "/healthz", 0, nop, NULL},
        {"GET", "/metrics", 0, nop, NULL},
        {"GET", "/v1/deployments", 0, nop, NULL},
        {"GET", "/v1/pods", 0, nop, NULL},
        {"GET", "/v1/pods/{name}", 0, nop, NULL},
        {"POST", "/v1/pods/{name}", PH_API_TOKEN | PH_API_BODY, nop, NULL},
        {"DELETE", "/v1/pods/{name}", PH_API_TOKEN, nop, NULL},
        {"GET", "/v1/pods/all", 0, nop, NULL},
        {"GET", "/v1/{kind}/events", 0, nop, NULL},
        {"GET", "/", 0, nop, NULL},
};

static const char *const methods[] = {"GET", "HEAD", "POST", "DELETE", "PUT"};

static size_t count_of(const char *s, size_t len, char c) {
        size_t n = 0;
        for (size_t i = 0; i < len; i++)
                n += s[i] == c;
        return n;
}

static void fuzz_address(const char *s) {
        PhApiAddress a, b;
        PhError *err = NULL;

        if (api_address_parse(s, &a, &err) < 0) {
                FUZZ_CHECK(err && strncmp(err->msg, "API address", 11) == 0);
                ph_error_free(err);
                return;
        }
        char *text = api_address_format(&a);
        FUZZ_CHECK(api_address_parse(text, &b, NULL) == 0);
        FUZZ_CHECK(a.len == b.len && a.loopback == b.loopback && memcmp(&a.sa, &b.sa, a.len) == 0);
        if (a.sa.ss_family == AF_UNIX)
                FUZZ_CHECK(strncmp(text, "unix:/", 6) == 0 && !a.loopback);
        free(text);
}

static void fuzz_path(const char *in, uint8_t pick) {
        char *path = xstrdup(in);
        size_t before = strlen(path);
        size_t slashes = count_of(path, before, '/');
        size_t len = api_path_unescape(path);

        FUZZ_CHECK(len <= before && strlen(path) == len);
        FUZZ_CHECK(count_of(path, len, '/') == slashes);

        const char *method = methods[pick % ELEMENTSOF(methods)];
        size_t index = SIZE_MAX;
        char *param = NULL;
        char *allow = api_route_allow(routes, ELEMENTSOF(routes), path);
        switch (api_route_find(routes, ELEMENTSOF(routes), method, path, &index, &param)) {
        case PH_API_MATCH_FOUND: {
                const PhApiRoute *r = &routes[index];
                const char *p;
                size_t plen;
                FUZZ_CHECK(strcmp(r->method, method) == 0 ||
                           (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0));
                FUZZ_CHECK(api_pattern_match(r->pattern, path, &p, &plen));
                FUZZ_CHECK((strchr(r->pattern, '{') != NULL) == (param != NULL));
                if (param) {
                        FUZZ_CHECK(*param && !strchr(param, '/') && strcmp(param, ".") != 0 &&
                                   strcmp(param, "..") != 0);
                        FUZZ_CHECK(strlen(param) == plen && memcmp(param, p, plen) == 0);
                }
                FUZZ_CHECK(*allow);
                break;
        }
        case PH_API_MATCH_NO_METHOD:
                FUZZ_CHECK(*allow && param == NULL);
                break;
        case PH_API_MATCH_NO_PATH:
                FUZZ_CHECK(*allow == '\0' && param == NULL);
                break;
        }
        char *shown = api_printable(path, 64);
        for (const char *c = shown; *c; c++)
                FUZZ_CHECK(*c >= 0x20 && *c < 0x7f);
        free(shown);
        free(allow);
        free(param);
        free(path);
}

static bool blank(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The rule of token.h, written out again plainly. */
static bool header_is_token(const char *h) {
        size_t n = strlen(h), t = strlen(TOKEN);

        if (n < 7 || strncasecmp(h, "bearer", 6) != 0 || !blank(h[6]))
                return false;
        size_t i = 6;
        while (i < n && blank(h[i]))
                i++;
        if (n - i < t || memcmp(h + i, TOKEN, t) != 0)
                return false;
        for (i += t; i < n; i++)
                if (!blank(h[i]))
                        return false;
        return true;
}

static void fuzz_auth(const char *h) {
        PhApiAuth a = api_auth_check(TOKEN, h);

        FUZZ_CHECK((a == PH_API_AUTH_OK) == header_is_token(h));
        FUZZ_CHECK(a != PH_API_AUTH_NOT_CONFIGURED);
        FUZZ_CHECK(api_auth_check(NULL, h) == PH_API_AUTH_NOT_CONFIGURED);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 1)
                return 0;
        /* The rest as the server holds it: a C string (MHD's path and header values end at a NUL). */
        char *s = xstrndup((const char *) data + 1, size - 1);
        switch (data[0] % 3) {
        case 0:
                fuzz_address(s);
                break;
        case 1:
                fuzz_path(s, data[0] / 3);
                break;
        case 2:
                fuzz_auth(s);
                break;
        }
        free(s);
        return 0;
}
