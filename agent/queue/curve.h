/* CURVE keys for the queue sockets: the server's secret key file, the file of client public keys
 * that may connect, and what the ZAP handler (zmq-ctx.h) decides with them. Keys are Z85 text (40
 * characters for 32 bytes), as zmq_curve_keypair() makes them and `podhook keygen` prints them. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define CURVE_KEY_Z85_LEN 40
#define CURVE_KEY_LEN     32
/* Longest key file read: one key, or a few thousand allowed clients. */
#define CURVE_FILE_MAX (1024u * 1024u)

typedef struct PhCurveAllow PhCurveAllow;

/* Whether text is one Z85 key of exactly 40 characters; its 32 bytes in key when it is (key may be NULL). */
bool curve_key_decode(const char *text, uint8_t key[CURVE_KEY_LEN]);

/* Pure: the secret key file's text: one key on one line, white space around it ignored. name is the
 * file for messages; the message never quotes the text (it is a secret). secret gets the key's Z85
 * text, NUL-terminated. -EINVAL otherwise. */
int curve_secret_parse(const char *name, const char *text, size_t len, char secret[CURVE_KEY_Z85_LEN + 1],
                       PhError **reterr);
/* Reads the secret key file (file_read_private: root's or ours, 0600 or stricter) and derives the
 * public key (zmq_curve_public). Both buffers get Z85 text; the file's contents are wiped. */
int curve_secret_load(const char *path, char secret[CURVE_KEY_Z85_LEN + 1],
                      char public_key[CURVE_KEY_Z85_LEN + 1], PhError **reterr);

/* Pure: the allow file's text: one client public key per line; blank lines and lines starting with
 * '#' are skipped, white space around a key ignored. Every bad line is named ("FILE:LINE: not a CURVE
 * public key (40 Z85 characters)"), all at once; -EINVAL then. A file with no key is valid: it admits
 * nobody. */
int curve_allow_parse(const char *name, const char *text, size_t len, PhCurveAllow **ret, PhError **reterr);
/* Reads the allow file: a regular file of root or ours that group and others cannot write (who may
 * connect is the server's decision). */
int curve_allow_load(const char *path, PhCurveAllow **ret, PhError **reterr);
/* Whether key (32 bytes, as ZAP hands it over) is listed. */
bool curve_allow_has(const PhCurveAllow *a, const uint8_t key[CURVE_KEY_LEN]);
size_t curve_allow_count(const PhCurveAllow *a);
PhCurveAllow *curve_allow_free(PhCurveAllow *a);
PH_DEFINE_CLEANUP(PhCurveAllow *, curve_allow_free)
