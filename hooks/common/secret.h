/* What counts as a secret, and how it is hidden before anything leaves the machine. */
#pragma once

#include <stdbool.h>

typedef struct json_t json_t;

#define SECRET_REDACTED "<redacted>"

/* True for names that carry secrets: deploy_password, *PASSWORD*, *SECRET*, *TOKEN*, *_KEY ... */
bool secret_name_is_secret(const char *name);
/* Rewrites every "NAME=value" string of a JSON array whose NAME is secret to "NAME=<redacted>". */
void secret_redact_env_array(json_t *env);
/* Recursively replaces the values of secret-named object keys, and signed URLs, in v. */
void secret_redact_json(json_t *v);
/* Cuts the input that jansson quotes at the end of an error text (" near '...'") in place: it may be a
 * password. Say where with the error's line and column instead. */
void secret_cut_json_error(char *jansson_error_text);
/* True if s looks like a URL whose query carries a signature or temp-url token. */
bool secret_url_is_signed(const char *s);
/* The secret values of a Heat input list ([{"name", "value"}, ...]): string values of secret-named
 * inputs and signed URLs, at least 4 characters long. NULL-terminated; the caller frees (strv_free). */
char **secret_values_of_inputs(const json_t *inputs);
/* Replaces every occurrence of each of values in every string of v (recursively) by <redacted>:
 * a hook that echoes a password must not carry it off the machine. */
void secret_scrub_json(json_t *v, char *const *values);
