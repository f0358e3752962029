/* What the parser and the validator share: the document and the YAML-to-JSON tree builder. */
#pragma once

#include <jansson.h>

#include "manifest/manifest.h"

struct PhManifestDoc {
        char *source;    /* names the input in every message */
        json_t *root;    /* the (unwrapped) manifest, new ref */
        json_t *lines;   /* field path -> source line (integer), new ref; NULL when the source has none */
        char *prefix;    /* path of root inside the text ("manifest" when unwrapped), or NULL */
        char **notes;    /* warnings found while parsing (fields beside "manifest:"), NULL-terminated */
        json_t *options; /* the "options:" map beside "manifest:", new ref; NULL when none */
};

/* Builds a JSON tree from YAML text, resolving plain scalars as YAML 1.1 does, with limits on size,
 * depth and alias-expanded node count. *ret_lines maps each field path to its 1-based source line. */
int manifest_yaml_parse(const char *buf, size_t len, const char *source, json_t **ret_root,
                        json_t **ret_lines, PhError **reterr);

/* Source line of path, or of its nearest ancestor that has one; 0 when unknown. */
int manifest_doc_line(const PhManifestDoc *doc, const char *path);

/* Longest field path that gets a source line: deeper or longer paths use their nearest ancestor's, which
 * bounds the line map of a hostile document. */
#define MANIFEST_PATH_MAX 256u

/* parent + "." + key (just key at the top), with key made fit for a one-line message: control characters
 * escaped, cut at 64 bytes. Parser and validator build paths with it, so they agree. */
char *manifest_path_join(const char *parent, const char *key);

/* Cuts s at most at max bytes without splitting a UTF-8 sequence; returns the new length. */
size_t manifest_utf8_cut(const char *s, size_t max);

/* Makes room for one more item in an array of *n items of size bytes, doubling its capacity *cap: appending
 * is amortized O(1) even where realloc always copies (ASan). */
void *manifest_grow(void *p, size_t *cap, size_t n, size_t size);

/* What a value is, for messages: "a map", "a list", "a string", "an integer", ... */
const char *manifest_kind_of(const json_t *v);
