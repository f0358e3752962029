/* AWS signature version 2 (HmacSHA256) for query requests, as keystoneclient's Ec2Signer computes it
 * and Keystone's /v3/ec2tokens checks it: used for the CFN DescribeStackResource metadata poll. */
#pragma once

#include <stddef.h>

#include "common/error.h"

typedef struct PhEc2Param {
        const char *key;
        const char *value;
} PhEc2Param;

/* Parameters sorted by key (byte order), keys and values RFC 3986-quoted (only A-Z a-z 0-9 - . _ ~
 * left as they are), joined with '&'. */
char *ec2_canonical_query(const PhEc2Param *params, size_t n);
/* "<verb>\n<host[:port]>\n<path>\n<canonical query>" */
char *ec2_string_to_sign(const char *verb, const char *host, const char *path, const char *canonical_query);
/* base64(HMAC-SHA256(secret, string_to_sign)) */
char *ec2_signature(const char *secret, const char *string_to_sign);

/* The URL for a GET of base_url (http(s)://host[:port]/path, no query) with params plus
 * AWSAccessKeyId, SignatureVersion=2, SignatureMethod=HmacSHA256 and Signature. The result carries
 * a signature: never log it (http_url_redact). */
int ec2_signed_get_url(const char *base_url, const PhEc2Param *params, size_t n, const char *access_key,
                       const char *secret, char **ret, PhError **reterr);
