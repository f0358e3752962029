/* Hashes and MACs from OpenSSL's libcrypto, hex or base64 encoded. */
#pragma once

#include <stddef.h>

/* "sha256:<64 hex digits>" of data; the caller frees it. */
char *digest_sha256_hex(const void *data, size_t len);
/* base64(HMAC-SHA256(key, data)), as AWS signature version 2 wants it; the caller frees it. */
char *digest_hmac_sha256_base64(const void *key, size_t key_len, const void *data, size_t len);
/* "hmac-sha256:<64 hex digits>" of data under key: a value that may be a secret, made comparable without
 * being guessable by anyone who lacks the key; the caller frees it. */
char *digest_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len);
