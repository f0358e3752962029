/* What counts as a secret, and how it is hidden before anything leaves the machine.
 *
 * A name marks its value secret (secret_name_is_secret), in any case:
 *   - when it contains PASS, TOKEN, SECRET, CREDENTIAL, PRIVATE, APIKEY, SIGNATURE, SIGNAL_ID or
 *     METADATA_URL anywhere: DB_PASS, PGPASSFILE_CONTENT, x-auth-token, deploy_signal_id;
 *   - when it contains AUTH anywhere (AUTH, x-auth-token, Authorization), unless its last word is URL or
 *     URI: auth_url and OS_AUTH_URL name where Keystone is, and their user info is cut off instead;
 *   - when PW or KEY is one of its words: mysql_root_pw, dbPw, api_key, SSH_KEY, privateKey, but not PWD
 *     or KEYBOARD_LAYOUT. Words are runs of letters, split at anything else (_ - . digits) and at camelCase
 *     humps ("dbPw" is db + Pw, "DBPassword" is DB + Password).
 * A value is secret when its name says so (an object key, a {"name", "value"} input, a NAME=value
 * environment entry, a --NAME=value or --NAME value argument of a command), when it is a signed URL, or
 * when it is the password in a URL's user info. Once found, a value is replaced by <redacted> wherever it
 * appears. */
#pragma once

#include <stdbool.h>

typedef struct json_t json_t;

#define SECRET_REDACTED "<redacted>"

/* Values shorter than this are never searched for elsewhere: "on", "1" or "yes" occur everywhere by
 * chance, and replacing every occurrence would wreck the output while hiding nothing of worth (a value
 * that short is guessed anyway). Where its name marks it, such a value is still redacted in place. */
#define SECRET_MIN_SCRUB 4

/* True for names that carry secrets, by the rule above. */
bool secret_name_is_secret(const char *name);
/* Rewrites every "NAME=value" string of a JSON array whose NAME is secret to "NAME=<redacted>". */
void secret_redact_env_array(json_t *env);
/* Recursively redacts in place what is secret by its name or shape: values of secret-named object keys,
 * of secret-named {"name", "value"} inputs and NAME=value entries, signed URLs, and the password of every
 * URL's user info (however short). */
void secret_redact_json(json_t *v);
/* Cuts the input that jansson quotes at the end of an error text (" near '...'") in place: it may be a
 * password. Say where with the error's line and column instead. */
void secret_cut_json_error(char *jansson_error_text);
/* True if s looks like a URL whose query carries a signature or temp-url token. */
bool secret_url_is_signed(const char *s);
/* The secret values of a Heat input list ([{"name", "value"}, ...]): string values of secret-named
 * inputs, signed URLs and URL passwords, at least SECRET_MIN_SCRUB long. NULL-terminated; the caller
 * frees (strv_free). */
char **secret_values_of_inputs(const json_t *inputs);
/* Adds to *values (NULL-terminated, may be NULL) every secret value found anywhere in v (by the rule at
 * the top), once each, at least SECRET_MIN_SCRUB long. */
void secret_collect(const json_t *v, char ***values);
/* The secret values of a heat-config deployment: those of its inputs and of a structured config (a JSON
 * manifest: its env entries and commands). New strv. */
char **secret_values_of_deployment(const json_t *deployment);
/* Replaces every occurrence of each of values in every string of v (recursively) by <redacted>, longest
 * first, also where a value appears JSON-escaped inside a string (an inspect array as text): a hook that
 * echoes a password must not carry it off the machine. */
void secret_scrub_json(json_t *v, char *const *values);
/* Everything at once, for what leaves the machine (inspect output, --print): the values secret_collect
 * finds in v plus extra (may be NULL) are scrubbed everywhere, after secret_redact_json. */
void secret_redact_deep(json_t *v, char *const *extra);
