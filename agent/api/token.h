/* The status API's bearer token: read from --api-token-file, compared in constant time. */
#pragma once

#include <stdbool.h>

#include "common/error.h"

/* Longest token file read (a token is far shorter; the rest would be a mistake). */
#define API_TOKEN_FILE_MAX 4096

/* Reads the token from path: a regular file owned by root or by the agent's effective uid, with no
 * permission bits for group or others (0600 or stricter); the surrounding white space is dropped.
 * The token is printable ASCII without spaces (what an Authorization header can carry). -EPERM (the
 * file's owner or mode; the message names the file and its mode), -EINVAL (empty, or a character a
 * token cannot have) or the error of reading it. *ret is new; the caller frees it. */
int api_token_load(const char *path, char **ret, PhError **err);

typedef enum PhApiAuth {
        PH_API_AUTH_OK,
        PH_API_AUTH_MISSING,        /* no Authorization header, or not a Bearer one: 401 */
        PH_API_AUTH_WRONG,          /* a Bearer token, but not the agent's: 401 */
        PH_API_AUTH_NOT_CONFIGURED, /* the agent has no token file: 403 */
} PhApiAuth;

/* Checks an Authorization header value ("Bearer TOKEN": the scheme in any case, white space around
 * the token ignored) against token (NULL when none is configured). The comparison takes the same time
 * whatever the header holds: both sides are hashed (SHA-256) and the hashes compared with
 * CRYPTO_memcmp. */
PhApiAuth api_auth_check(const char *token, const char *authorization);
