/* The ini dialect of oslo.config files such as /etc/os-collect-config.conf: [section], key = value
 * (or key: value), '#'/';' comments, repeated keys kept (multi-valued options), "$$" for '$'. */
#pragma once

#include "common/error.h"

/* Called for each key; section is "DEFAULT" before any header. A negative return stops parsing. */
typedef int (*PhIniFn)(const char *section, const char *key, const char *value, unsigned line, void *userdata,
                       PhError **reterr);

/* Parses text (name is used in messages: "name:line: ..."). Syntax errors name the line. */
int ini_parse(const char *name, const char *text, PhIniFn fn, void *userdata, PhError **reterr);
