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

/* The values no message may show: of these keys anywhere in the document, from 4 bytes on. */
static void collect_secrets(const json_t *v, json_t *out) {
        static const char *const keys[] = {"password", "secret_access_key", "metadata_url"};
        const char *k;
        json_t *x;
        size_t i;

        if (json_is_array(v))
                json_array_foreach(v, i, x) collect_secrets(x, out);
        json_object_foreach((json_t *)v, k, x) {
                for (i = 0; i < ELEMENTSOF(keys); i++)
                        if (strcmp(k, keys[i]) == 0 && json_is_string(x) && json_string_length(x) >= 4)
                                json_array_append(out, x);
                collect_secrets(x, out);
        }
}

static void check_quiet(const char *msg, const json_t *secrets) {
        size_t i;
        json_t *s;

        json_array_foreach(secrets, i, s) FUZZ_CHECK(!strstr(msg, json_string_value(s)));
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
        FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t)size);
        _cleanup_free_ char *path = xasprintf("/proc/self/fd/%d", fd);

        /* What the document holds, read apart from the code under test. */
        json_auto_t *secrets = json_array();
        json_auto_t *doc = json_loadb((const char *)data, size, 0, NULL);
        collect_secrets(doc, secrets);

        json_auto_t *occ = NULL;
        _cleanup_error_ PhError *err = NULL;
        int r = bootstrap_read(path, &occ, &err);
        if (r < 0) {
                FUZZ_CHECK(err && err->msg && !occ && strncmp(err->msg, path, strlen(path)) == 0);
                check_quiet(err->msg, secrets);
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
                        if (known(name))
                                check_quiet(serr->msg, secrets);
                } else
                        FUZZ_CHECK(s && strcmp(source_name(s), name) == 0);
        }
        return 0;
}
