/* A JSON value as YAML text (libyaml's emitter) that a kubelet reads back as the same value. Pure. */
#pragma once

#include <stddef.h>

#include "common/error.h"

typedef struct json_t json_t;

/* Block-style YAML of v, one document, ending in a newline. A string is written plain only where no YAML
 * 1.1 reader (the kubelet's) could take it for anything but that string; otherwise double-quoted.
 * *ret: NUL-terminated text (caller frees), *ret_len its length. */
int kubelet_yaml_dump(const json_t *v, char **ret, size_t *ret_len, PhError **reterr);
