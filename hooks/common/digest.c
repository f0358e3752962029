#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdlib.h>

#include "common/cleanup.h"
#include "common/digest.h"

char *digest_sha256_hex(const void *data, size_t len) {
        unsigned char md[SHA256_DIGEST_LENGTH];
        char hex[2 * SHA256_DIGEST_LENGTH + 1];

        SHA256(data, len, md);
        for (size_t i = 0; i < sizeof(md); i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return xasprintf("sha256:%s", hex);
}

char *digest_hmac_sha256_base64(const void *key, size_t key_len, const void *data, size_t len) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        char out[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];

        if (!HMAC(EVP_sha256(), key, (int) key_len, data, len, md, &md_len))
                abort();
        EVP_EncodeBlock((unsigned char *) out, md, (int) md_len);
        return xstrdup(out);
}

char *digest_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned md_len = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];

        if (!HMAC(EVP_sha256(), key, (int) key_len, data, len, md, &md_len))
                abort();
        for (unsigned i = 0; i < md_len; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return xasprintf("hmac-sha256:%s", hex);
}
