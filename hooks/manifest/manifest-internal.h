/* What the parser and the validator share: the document and the YAML-to-JSON tree builder. */
#pragma once

#include <jansson.h>

#include "manifest/manifest.h"

struct PhManifestDoc {
        char *source;   /* names the input in every message */
        json_t *root;   /* the (unwrapped) manifest, new ref */
        json_t *lines;  /* field path -> source line (integer), new ref; NULL when the source has none */
        char *prefix;   /* path of root inside the text ("manifest" when unwrapped), or NULL */
        char **notes;   /* warnings found while parsing (fields beside "manifest:"), NULL-terminated */
};

/* Builds a JSON tree from YAML text, resolving plain scalars as YAML 1.1 does, with limits on size,
 * depth and alias-expanded node count. *ret_lines maps each field path to its 1-based source line. */
int manifest_yaml_parse(const char *buf, size_t len, const char *source, json_t **ret_root, json_t **ret_lines,
                        PhError **reterr);

/* Source line of path, or of its nearest ancestor that has one; 0 when unknown. */
int manifest_doc_line(const PhManifestDoc *doc, const char *path);

/* Appends a copy of s to a NULL-terminated vector. */
void manifest_strv_push(char ***v, char *s);

/* What a value is, for messages: "a map", "a list", "a string", "an integer", ... */
const char *manifest_kind_of(const json_t *v);
