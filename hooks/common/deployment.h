/* Reading a heat-config deployment entry (heat-protocol.md 1.2): shared by the hooks and the agent. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "common/error.h"

typedef struct json_t json_t;

/* Whether a config id may name a file of its own (markers, the queue): only [A-Za-z0-9._-], not
 * starting with '.', at most 200 characters. */
bool deployment_id_valid(const char *id);
/* The value of the first input called name ("deploy_action", ...), borrowed from deployment; NULL when
 * there is no such input (or it has no value). */
const json_t *deployment_input_json(const json_t *deployment, const char *name);
/* The same when it is a string; NULL when there is no such input or its value is not a string. */
const char *deployment_input(const json_t *deployment, const char *name);
/* What a JSON value is, for messages: "a map", "a list", "a string", "an integer", "a floating-point
 * number", "true/false" or "null". */
const char *deployment_kind_of(const json_t *v);
/* Bytes as a JSON string (new ref, never NULL): invalid UTF-8 becomes U+FFFD, as 55-heat-config's
 * decoding with errors='replace' does. NULL s gives "". */
json_t *deployment_text(const char *s, size_t len);
/* A hook result {"deploy_stdout", "deploy_stderr", "deploy_status_code"} (new ref, never NULL, even
 * for texts that are not UTF-8: there is always one result to send). */
json_t *deployment_result(const char *out, const char *err, int code);
/* Whether a result says its deployment failed: a deploy_status_code other than 0, "0", "", false or null
 * (55-heat-config's truth test). */
bool deployment_result_failed(const json_t *result);
/* The first line of text (deploy_stderr, a message) that is not blank, cut to at most max bytes
 * between characters (new string; "" for NULL or blank text). */
char *deployment_first_line(const char *text, size_t max);

/* What a pod hook needs first of a deployment: its name (non-empty: the pod is named after it) and its
 * deploy_action (a string; CREATE when absent). Both borrowed from deployment. -EINVAL when either is
 * unusable, or the deployment is no object. */
int deployment_pod_action(const json_t *deployment, const char **ret_name, const char **ret_action,
                          PhError **reterr);
