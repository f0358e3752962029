#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/digest.h"
#include "common/http.h"
#include "openstack/ec2sign.h"

static int param_cmp(const void *a, const void *b) {
        const PhEc2Param *x = a, *y = b;
        return strcmp(x->key, y->key);
}

char *ec2_canonical_query(const PhEc2Param *params, size_t n) {
        _cleanup_free_ PhEc2Param *sorted = xcalloc(n ? n : 1, sizeof(PhEc2Param));
        char *out = xstrdup("");

        memcpy(sorted, params, n * sizeof(PhEc2Param));
        qsort(sorted, n, sizeof(PhEc2Param), param_cmp);
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *k = http_escape(sorted[i].key);
                _cleanup_free_ char *v = http_escape(sorted[i].value);
                char *next = xasprintf("%s%s%s=%s", out, i ? "&" : "", k, v);
                free(out);
                out = next;
        }
        return out;
}

char *ec2_string_to_sign(const char *verb, const char *host, const char *path, const char *canonical_query) {
        return xasprintf("%s\n%s\n%s\n%s", verb, host, path, canonical_query);
}

char *ec2_signature(const char *secret, const char *string_to_sign) {
        return digest_hmac_sha256_base64(secret, strlen(secret), string_to_sign, strlen(string_to_sign));
}

int ec2_signed_get_url(const char *base_url, const PhEc2Param *params, size_t n, const char *access_key,
                       const char *secret, char **ret, PhError **reterr) {
        const char *rest;

        if (strncmp(base_url, "http://", 7) == 0)
                rest = base_url + 7;
        else if (strncmp(base_url, "https://", 8) == 0)
                rest = base_url + 8;
        else
                return ph_error_set(reterr, EINVAL, "not an http(s) URL");
        if (strpbrk(base_url, "?#"))
                return ph_error_set(reterr, EINVAL, "the URL already has a query");
        size_t host_len = strcspn(rest, "/");
        if (host_len == 0 || memchr(rest, '@', host_len))
                return ph_error_set(reterr, EINVAL, "the URL has no host or carries user info");

        bool https = rest == base_url + 8;
        _cleanup_free_ char *host = xstrndup(rest, host_len);
        /* The server signs the Host header it got, and libcurl leaves the scheme's default port out of
         * it even when the URL names it. */
        const char *default_port = https ? ":443" : ":80";
        if (host_len > strlen(default_port) &&
            strcmp(host + host_len - strlen(default_port), default_port) == 0)
                host[host_len - strlen(default_port)] = '\0';
        /* The server sees "/" for an empty path, and signs what it sees. */
        const char *path = rest[host_len] ? rest + host_len : "/";

        _cleanup_free_ PhEc2Param *all = xcalloc(n + 3, sizeof(PhEc2Param));
        memcpy(all, params, n * sizeof(PhEc2Param));
        all[n] = (PhEc2Param){"AWSAccessKeyId", access_key};
        all[n + 1] = (PhEc2Param){"SignatureVersion", "2"};
        all[n + 2] = (PhEc2Param){"SignatureMethod", "HmacSHA256"};

        _cleanup_free_ char *query = ec2_canonical_query(all, n + 3);
        _cleanup_free_ char *to_sign = ec2_string_to_sign("GET", host, path, query);
        _cleanup_free_ char *sig = ec2_signature(secret, to_sign);
        _cleanup_free_ char *sig_q = http_escape(sig);

        *ret = xasprintf("%.*s%s?%s&Signature=%s", (int) (rest - base_url + host_len), base_url, path, query,
                         sig_q);
        return 0;
}
