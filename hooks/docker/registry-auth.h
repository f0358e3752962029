/* Credentials of private registries in Docker's config.json format ({"auths": {"<registry>": {"auth":
 * base64("user:password")} | {"username", "password"} | {"identitytoken"}}}), and the X-Registry-Auth
 * header the Engine wants on POST /images/create: base64url of {"username", "password",
 * "serveraddress"} or {"identitytoken", "serveraddress"} (Engine API 1.41). Pure, but for the load. */
#pragma once

#include "common/error.h"

typedef struct json_t json_t;

/* The registry host of an image reference, as Docker normalises it: "busybox", "library/x" and
 * "docker.io/x" are "docker.io"; "127.0.0.1:5000/a/b:1" is "127.0.0.1:5000". New string. */
char *registry_host_of(const char *image);
/* The key of config.json's auths as a host: "https://index.docker.io/v1/", "index.docker.io" and
 * "registry-1.docker.io" are "docker.io"; a scheme and path are cut. New string. */
char *registry_key_host(const char *key);
/* The X-Registry-Auth value for image from config (NULL: none), or NULL when config has nothing for its
 * registry. *ret_secrets (may be NULL) gets the password and token, for redaction (strv, added to).
 * -EINVAL when the entry is unusable ("auth" not base64 of user:password), naming the registry. */
int registry_auth_header(const json_t *config, const char *image, char **ret, char ***ret_secrets,
                         PhError **reterr);
/* Adds every credential of config (passwords, auth, identity tokens) to *values, for redaction. */
void registry_config_secrets(const json_t *config, char ***values);
/* The config file: path, else $DOCKER_CONFIG/config.json, else /root/.docker/config.json; a default
 * that does not exist is no credentials (*ret NULL), a path given that does not exist is an error. */
int registry_config_load(const char *path, json_t **ret, PhError **reterr);
