#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "docker/registry-auth.h"

#define CONFIG_MAX (1024u * 1024u)
#define DOCKER_HUB "docker.io"

char *registry_host_of(const char *image) {
        size_t n = strcspn(image, "/");

        /* Docker's rule: the first component is a registry when it has a '.' or a ':', or is localhost. */
        if (!image[n])
                return xstrdup(DOCKER_HUB);
        _cleanup_free_ char *first = xstrndup(image, n);
        if (!strpbrk(first, ".:") && strcmp(first, "localhost") != 0)
                return xstrdup(DOCKER_HUB);
        return registry_key_host(first);
}

char *registry_key_host(const char *key) {
        const char *p = strstr(key, "://");
        const char *host = p ? p + 3 : key;
        _cleanup_free_ char *h = xstrndup(host, strcspn(host, "/"));

        if (strcmp(h, "index.docker.io") == 0 || strcmp(h, "registry-1.docker.io") == 0 ||
            strcmp(h, "registry.hub.docker.com") == 0)
                return xstrdup(DOCKER_HUB);
        return TAKE_PTR(h);
}

static void push(char ***v, const char *s) {
        size_t n = strv_length(*v);

        if (!s || !*s)
                return;
        *v = xrealloc(*v, (n + 2) * sizeof(char *));
        (*v)[n] = xstrdup(s);
        (*v)[n + 1] = NULL;
}

static char *base64url(const char *text) {
        size_t len = strlen(text);
        char *out = xmalloc(4 * ((len + 2) / 3) + 1);

        EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) text, (int) len);
        for (char *c = out; *c; c++)
                *c = *c == '+' ? '-' : *c == '/' ? '_' : *c;
        return out;
}

/* "user:password" from base64 (standard alphabet, as config.json has it). */
static char *unbase64(const char *b64) {
        size_t len = strlen(b64);
        unsigned char *out = xmalloc(len + 1);
        int n = len % 4 == 0 ? EVP_DecodeBlock(out, (const unsigned char *) b64, (int) len) : -1;

        if (n < 0) {
                free(out);
                return NULL;
        }
        while (len > 0 && b64[len - 1] == '=') { /* EVP_DecodeBlock counts the padding's bytes */
                n--;
                len--;
        }
        out[n] = '\0';
        if (strlen((char *) out) != (size_t) n) {
                free(out);
                return NULL;
        }
        return (char *) out;
}

int registry_auth_header(const json_t *config, const char *image, char **ret, char ***ret_secrets,
                         PhError **reterr) {
        _cleanup_free_ char *host = registry_host_of(image);
        const json_t *auths = json_object_get(config, "auths"), *entry = NULL;
        const char *key;
        json_t *v;

        *ret = NULL;
        json_object_foreach((json_t *) auths, key, v) {
                _cleanup_free_ char *h = registry_key_host(key);
                if (strcmp(h, host) == 0 && json_is_object(v)) {
                        entry = v;
                        break;
                }
        }
        if (!entry)
                return 0;
        const char *auth = json_string_value(json_object_get(entry, "auth"));
        const char *user = json_string_value(json_object_get(entry, "username"));
        const char *pass = json_string_value(json_object_get(entry, "password"));
        const char *token = json_string_value(json_object_get(entry, "identitytoken"));
        _cleanup_free_ char *decoded = NULL;
        json_auto_t *body = NULL;

        if (auth && *auth) {
                char *colon;
                decoded = unbase64(auth);
                if (!decoded || !(colon = strchr(decoded, ':')))
                        return ph_error_set(
                                reterr, EINVAL,
                                "registry %s: its \"auth\" in the registry config is not base64 of "
                                "user:password",
                                host);
                *colon = '\0';
                user = decoded;
                pass = colon + 1;
        }
        if (token && *token)
                body = json_pack("{s:s, s:s}", "identitytoken", token, "serveraddress", host);
        else if (user && pass)
                body = json_pack("{s:s, s:s, s:s}", "username", user, "password", pass, "serveraddress",
                                 host);
        else
                return ph_error_set(reterr, EINVAL,
                                    "registry %s: its entry in the registry config has neither auth, "
                                    "username and password nor identitytoken",
                                    host);
        if (ret_secrets) {
                push(ret_secrets, pass);
                push(ret_secrets, token);
                push(ret_secrets, auth);
        }
        _cleanup_free_ char *text = json_dumps(body, JSON_COMPACT);
        *ret = base64url(text);
        if (ret_secrets)
                push(ret_secrets, *ret);
        explicit_bzero(text, strlen(text));
        return 0;
}

void registry_config_secrets(const json_t *config, char ***values) {
        const char *key;
        json_t *v;

        json_object_foreach(json_object_get(config, "auths"), key, v) {
                push(values, json_string_value(json_object_get(v, "auth")));
                push(values, json_string_value(json_object_get(v, "password")));
                push(values, json_string_value(json_object_get(v, "identitytoken")));
        }
}

int registry_config_load(const char *path, json_t **ret, PhError **reterr) {
        const char *dc = getenv("DOCKER_CONFIG");
        _cleanup_free_ char *def =
                dc && *dc ? xasprintf("%s/config.json", dc) : xstrdup("/root/.docker/config.json");
        const char *p = path ? path : def;
        _cleanup_free_ char *buf = NULL;
        json_error_t jerr;
        size_t len = 0;
        int r;

        *ret = NULL;
        if (!path && file_exists(p) == 0)
                return 0;
        r = file_read_all(p, CONFIG_MAX, &buf, &len, reterr);
        if (r < 0)
                return ph_error_prefix(reterr, "registry config");
        json_t *v = json_loadb(buf, len, 0, &jerr);
        explicit_bzero(buf, len);
        if (!json_is_object(v)) {
                json_decref(v);
                return ph_error_set(reterr, EINVAL,
                                    "registry config %s: not a JSON object (Docker's config.json)", p);
        }
        *ret = v;
        return 0;
}
