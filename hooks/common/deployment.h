/* Reading a heat-config deployment entry (heat-protocol.md 1.2): shared by the hooks and the agent. */
#pragma once

typedef struct json_t json_t;

/* The string value of the input called name ("deploy_action", ...), borrowed from deployment; NULL
 * when there is no such input or its value is not a string. */
const char *deployment_input(const json_t *deployment, const char *name);
