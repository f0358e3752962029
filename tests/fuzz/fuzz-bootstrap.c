/* The bootstrap file (Heat's cfn-init-data, a server metadata document, or a DeployedServer's bare
 * os_collect_config object) through bootstrap_read() from a file descriptor, then the sources it names
 * through source_new(), as the agent starts them (no request is made). Promises: an error names the
 * file; no error, of the file or of a source, quotes a password, a secret key or a metadata URL (a
 * signed one is a secret); a usable object lists its collectors as strings and normalises to itself. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bootstrap.h"
#include "fuzz.h"
#include "source/source.h"

static bool secret_key(const char *k) {
        return strcmp(k, "password") == 0 || strcmp(k, "secret_access_key") == 0 ||
               strcmp(k, "metadata_url") == 0;
}

/* The values no message may show: of those keys anywhere in the document, from 4 bytes on. */
static void collect_secrets(const json_t *v, json_t *out) {
        const char *k;
        json_t *x;
        size_t i;

        if (json_is_array(v))
                json_array_foreach(v, i, x) collect_secrets(x, out);
        json_object_foreach((json_t *) v, k, x) {
                if (secret_key(k) && json_is_string(x) && json_string_length(x) >= 4)
                        json_array_append(out, x);
                collect_secrets(x, out);
        }
}

/* v with every value of those keys replaced: what a message says when it says nothing of them. */
static void blank_secrets(json_t *v) {
        const char *k;
        json_t *x;
        size_t i;

        if (json_is_array(v))
                json_array_foreach(v, i, x) blank_secrets(x);
        json_object_foreach(v, k, x) {
                if (secret_key(k) && json_is_string(x))
                        json_object_set_new(v, k, json_string("\x01"));
                else
                        blank_secrets(x);
        }
}

/* A secret shows in msg unless the message without any secret has the same text ("pass" is in
 * "password"). */
static void check_quiet(const char *msg, const char *blank_msg, const json_t *secrets) {
        size_t i;
        json_t *s;

        json_array_foreach(secrets, i, s) {
                const char *v = json_string_value(s);
                if (strstr(msg, v) && !(blank_msg && strstr(blank_msg, v)))
                        fprintf(stderr, "secret \"%s\" shows in \"%s\"\n", v, msg);
                FUZZ_CHECK(!strstr(msg, v) || (blank_msg && strstr(blank_msg, v)));
        }
}

/* The message of reading doc from a file, after its path. */
static char *read_error(const json_t *doc) {
        _cleanup_close_ int fd = memfd_create("blank", MFD_CLOEXEC);
        _cleanup_free_ char *text = json_dumps(doc, JSON_ENCODE_ANY);
        FUZZ_CHECK(fd >= 0 && text && write(fd, text, strlen(text)) == (ssize_t) strlen(text));
        _cleanup_free_ char *path = xasprintf("/proc/self/fd/%d", fd);
        json_auto_t *occ = NULL;
        _cleanup_error_ PhError *err = NULL;
        if (bootstrap_read(path, &occ, &err) >= 0)
                return NULL;
        return xstrdup(err->msg + strlen(path));
}

static bool known(const char *name) {
        static const char *const sources[] = {"heat", "cfn", "request", "local", "zaqar"};
        for (size_t i = 0; i < ELEMENTSOF(sources); i++)
                if (strcmp(name, sources[i]) == 0)
                        return true;
        return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int fd = memfd_create("cfn-init-data", MFD_CLOEXEC);
        FUZZ_CHECK(fd >= 0);
        FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t) size);
        _cleanup_free_ char *path = xasprintf("/proc/self/fd/%d", fd);

        /* What the document holds, read apart from the code under test. */
        json_auto_t *secrets = json_array();
        json_auto_t *doc = json_loadb((const char *) data, size, 0, NULL);
        collect_secrets(doc, secrets);

        json_auto_t *occ = NULL;
        _cleanup_error_ PhError *err = NULL;
        int r = bootstrap_read(path, &occ, &err);
        if (r < 0) {
                FUZZ_CHECK(err && err->msg && !occ && strncmp(err->msg, path, strlen(path)) == 0);
                if (json_array_size(secrets) > 0) {
                        json_auto_t *blank = json_deep_copy(doc);
                        blank_secrets(blank);
                        _cleanup_free_ char *blank_msg = read_error(blank);
                        check_quiet(err->msg + strlen(path), blank_msg, secrets);
                }
                /* jansson quotes the input near an error: a password in a broken file must not show.
                 * Where the file is not JSON, any quote of it is one too many. */
                if (!doc)
                        FUZZ_CHECK(!strstr(err->msg, " near '"));
                return 0;
        }
        FUZZ_CHECK(r == 0 && occ && json_is_object(occ));
        json_auto_t *again = bootstrap_normalize(occ);
        FUZZ_CHECK(json_equal(again, occ));
        const json_t *collectors = json_object_get(occ, "collectors");
        FUZZ_CHECK(json_array_size(collectors) > 0);

        size_t i;
        json_t *c;
        json_array_foreach(collectors, i, c) {
                const char *name = json_string_value(c);
                FUZZ_CHECK(name);
                _cleanup_(source_freep) PhSource *s = NULL;
                _cleanup_error_ PhError *serr = NULL;
                const PhSourceOptions o = {.timeout_ms = 1000};
                if (source_new(name, json_object_get(occ, name), &o, &s, &serr) < 0) {
                        FUZZ_CHECK(serr && serr->msg && !s);
                        /* An unknown collector's error quotes its name, whatever that holds. */
                        if (known(name)) {
                                json_auto_t *blank = json_deep_copy(json_object_get(occ, name));
                                _cleanup_(source_freep) PhSource *s2 = NULL;
                                _cleanup_error_ PhError *berr = NULL;
                                blank_secrets(blank);
                                (void) source_new(name, blank, &o, &s2, &berr);
                                check_quiet(serr->msg, berr ? berr->msg : NULL, secrets);
                        }
                } else
                        FUZZ_CHECK(s && strcmp(source_name(s), name) == 0);
        }
        return 0;
}
