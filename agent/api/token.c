/* token.h: the file is read with file_read_private (fileio.h), which checks it on the fd it reads. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/token.h"
#include "common/digest.h"
#include "common/fileio.h"

static bool token_char(char c) {
        return c > ' ' && c < 0x7f;
}

static bool blank(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

int api_token_load(const char *path, char **ret, PhError **err) {
        _cleanup_free_ char *buf = NULL;
        size_t len = 0;
        int r;

        r = file_read_private(path, "token file", API_TOKEN_FILE_MAX, &buf, &len, err);
        if (r < 0)
                return r;

        size_t start = 0, end = len;
        while (start < end && blank(buf[start]))
                start++;
        while (end > start && blank(buf[end - 1]))
                end--;
        if (start == end)
                return ph_error_set(err, EINVAL, "token file %s is empty", path);
        for (size_t i = start; i < end; i++)
                if (!token_char(buf[i]))
                        return ph_error_set(
                                err, EINVAL,
                                "token file %s: the token may hold only printable ASCII without spaces",
                                path);
        *ret = xstrndup(buf + start, end - start);
        explicit_bzero(buf, len);
        return 0;
}

PhApiAuth api_auth_check(const char *token, const char *authorization) {
        static const char scheme[] = "Bearer";
        const size_t n = sizeof(scheme) - 1;

        if (!token)
                return PH_API_AUTH_NOT_CONFIGURED;
        if (!authorization || strncasecmp(authorization, scheme, n) != 0 || !blank(authorization[n]))
                return PH_API_AUTH_MISSING;

        const char *given = authorization + n;
        while (blank(*given))
                given++;
        size_t len = strlen(given);
        while (len > 0 && blank(given[len - 1]))
                len--;
        if (len == 0)
                return PH_API_AUTH_MISSING;
        /* Hashes of equal length, whatever the lengths of the two tokens: the time of the comparison
         * tells nothing about how much of the token was right. */
        _cleanup_free_ char *want = digest_sha256_hex(token, strlen(token));
        _cleanup_free_ char *got = digest_sha256_hex(given, len);
        return CRYPTO_memcmp(want, got, strlen(want)) == 0 ? PH_API_AUTH_OK : PH_API_AUTH_WRONG;
}
