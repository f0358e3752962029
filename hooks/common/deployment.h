/* Reading a heat-config deployment entry (heat-protocol.md 1.2): shared by the hooks and the agent. */
#pragma once

#include <stddef.h>

typedef struct json_t json_t;

/* The string value of the input called name ("deploy_action", ...), borrowed from deployment; NULL
 * when there is no such input or its value is not a string. */
const char *deployment_input(const json_t *deployment, const char *name);
/* Bytes as a JSON string (new ref, never NULL): invalid UTF-8 becomes U+FFFD, as 55-heat-config's
 * decoding with errors='replace' does. NULL s gives "". */
json_t *deployment_text(const char *s, size_t len);
/* A hook result {"deploy_stdout", "deploy_stderr", "deploy_status_code"} (new ref, never NULL, even
 * for texts that are not UTF-8: there is always one result to send). */
json_t *deployment_result(const char *out, const char *err, int code);
