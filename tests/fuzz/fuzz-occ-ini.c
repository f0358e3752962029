/* os-collect-config's ini file (/etc/os-collect-config.conf, which os-apply-config writes from Heat's
 * metadata): ini_parse() and config_parse_occ_ini(). Promises: every key reaches the callback trimmed,
 * non-empty, on one line of the text, in line order; an error names the file and the line; the
 * os-collect-config object holds collectors as a list of non-empty strings and each source section as
 * strings (cfn's and local's path as a list of strings). */
#include <errno.h>
#include <jansson.h>

#include "config.h"
#include "fuzz.h"
#include "ini.h"

#define NAME "occ.conf"

typedef struct Seen {
        unsigned lines, last;
} Seen;

static bool trimmed(const char *s) {
        size_t n = strlen(s);
        return n == 0 || (s[0] != ' ' && s[0] != '\t' && s[n - 1] != ' ' && s[n - 1] != '\t');
}

static int on_key(const char *section, const char *key, const char *value, unsigned line, void *userdata,
                  PhError **reterr) {
        Seen *seen = userdata;

        FUZZ_CHECK(section && key && value && *key && trimmed(key) && trimmed(section));
        FUZZ_CHECK(!strpbrk(key, "=:\n") && !strchr(value, '\n') && !strchr(section, '\n'));
        FUZZ_CHECK(line > seen->last && line <= seen->lines);
        seen->last = line;
        return 0;
}

static void check_strings(const json_t *section, bool paths) {
        const char *k;
        json_t *v;

        json_object_foreach((json_t *) section, k, v) {
                if (paths && strcmp(k, "path") == 0) {
                        size_t i;
                        json_t *p;
                        FUZZ_CHECK(json_is_array(v));
                        json_array_foreach(v, i, p) FUZZ_CHECK(json_is_string(p));
                } else
                        FUZZ_CHECK(json_is_string(v));
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *text = fuzz_text(data, size);
        _cleanup_error_ PhError *err = NULL;
        Seen seen = {.lines = 1};

        for (const char *p = text; (p = strchr(p, '\n')); p++)
                seen.lines++;
        if (ini_parse(NAME, text, on_key, &seen, &err) < 0) {
                FUZZ_CHECK(err && err->msg && strncmp(err->msg, NAME ":", strlen(NAME ":")) == 0);
                FUZZ_CHECK(!strchr(err->msg, '\n'));
        }

        json_auto_t *occ = NULL;
        _cleanup_free_ char *interval = NULL, *min_interval = NULL;
        _cleanup_error_ PhError *err2 = NULL;
        int r = config_parse_occ_ini(NAME, text, &occ, &interval, &min_interval, &err2);
        FUZZ_CHECK((r < 0) == (err != NULL));
        if (r < 0 || !occ)
                return 0;
        const char *k;
        json_t *v;
        json_object_foreach(occ, k, v) {
                if (strcmp(k, "collectors") == 0) {
                        size_t i;
                        json_t *c;
                        FUZZ_CHECK(json_is_array(v));
                        json_array_foreach(v, i, c)
                                FUZZ_CHECK(json_is_string(c) && json_string_length(c) > 0);
                } else {
                        FUZZ_CHECK(json_is_object(v));
                        check_strings(v, strcmp(k, "cfn") == 0 || strcmp(k, "local") == 0);
                }
        }
        return 0;
}
