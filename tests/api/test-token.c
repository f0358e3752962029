/* The API token: a token file is accepted only when it is a regular file of root or the agent's uid
 * that group and others cannot read, trimmed of white space; the refusals name the file and its mode.
 * The Authorization header: Bearer in any case, white space around the token, missing against wrong
 * against no token configured. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/token.h"
#include "tap.h"

static char dir[] = "/tmp/ph-token.XXXXXX";

static char *put(const char *name, const char *text, mode_t mode) {
        char *path = xasprintf("%s/%s", dir, name);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t) strlen(text) || fchmod(fd, mode) < 0)
                abort();
        close(fd);
        return path;
}

static void test_load(void) {
        struct {
                const char *text;
                mode_t mode;
                const char *token; /* or NULL: refused with want */
                const char *want;
        } t[] = {
                {"s3cret-Token_1\n", 0600, "s3cret-Token_1", NULL},
                {"  \t s3cret \r\n\n", 0400, "s3cret", NULL},
                {"abc", 0600, "abc", NULL},
                {"abc", 0644, NULL, "has mode 0644, must be 0600 or stricter: group or others may read it"},
                {"abc", 0640, NULL, "has mode 0640, must be 0600 or stricter: group or others may read it"},
                {"abc", 0604, NULL, "has mode 0604, must be 0600 or stricter: group or others may read it"},
                {"abc", 0610, NULL, "has mode 0610, must be 0600 or stricter: group or others may read it"},
                {" \n\t", 0600, NULL, "is empty"},
                {"", 0600, NULL, "is empty"},
                {"two words", 0600, NULL, "the token may hold only printable ASCII without spaces"},
                {"caf\xc3\xa9", 0600, NULL, "the token may hold only printable ASCII without spaces"},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++) {
                _cleanup_free_ char *name = xasprintf("t%zu", i);
                _cleanup_free_ char *path = put(name, t[i].text, t[i].mode);
                _cleanup_free_ char *token = NULL;
                _cleanup_error_ PhError *err = NULL;
                int r = api_token_load(path, &token, &err);
                if (t[i].token) {
                        if (!TAP_CHECK(r == 0))
                                printf("# %s\n", ph_error_msg(err));
                        TAP_CHECK_STR(token, t[i].token);
                        continue;
                }
                TAP_CHECK(r < 0 && token == NULL);
                TAP_CHECK_HAS(ph_error_msg(err), path); /* the file is named */
                TAP_CHECK_HAS(ph_error_msg(err), t[i].want);
        }

        _cleanup_free_ char *big = xmalloc(API_TOKEN_FILE_MAX + 2);
        memset(big, 'a', API_TOKEN_FILE_MAX + 1);
        big[API_TOKEN_FILE_MAX + 1] = '\0';
        _cleanup_free_ char *bigpath = put("big", big, 0600);
        _cleanup_free_ char *token = NULL;
        TAP_CHECK(api_token_load(bigpath, &token, NULL) == -EFBIG);

        /* Another owner than root or us (tests run as root, so make it nobody's). */
        _cleanup_free_ char *foreign = put("foreign", "abc", 0600);
        if (geteuid() == 0 && chown(foreign, 65534, 65534) == 0) {
                _cleanup_error_ PhError *err = NULL;
                TAP_CHECK(api_token_load(foreign, &token, &err) == -EPERM);
                TAP_CHECK_HAS(ph_error_msg(err), "is owned by uid 65534, neither root nor the agent's uid 0");
        } else
                printf("ok %d - # SKIP not root: cannot give a file away\n", ++tap_state.n);

        _cleanup_error_ PhError *err = NULL;
        _cleanup_free_ char *missing = xasprintf("%s/missing", dir);
        TAP_CHECK(api_token_load(missing, &token, &err) == -ENOENT);
        TAP_CHECK_HAS(ph_error_msg(err), missing);
        /* A directory or a FIFO is no token file, and opening it does not wait. */
        _cleanup_free_ char *fifo = xasprintf("%s/fifo", dir);
        TAP_CHECK(mkfifo(fifo, 0600) == 0);
        TAP_CHECK(api_token_load(fifo, &token, NULL) == -EPERM);
        TAP_CHECK(api_token_load(dir, &token, NULL) == -EPERM);
}

static void test_auth(void) {
        struct {
                const char *token, *header;
                PhApiAuth want;
        } t[] = {
                {"abc", "Bearer abc", PH_API_AUTH_OK},
                {"abc", "bearer abc", PH_API_AUTH_OK},
                {"abc", "BEARER   abc  ", PH_API_AUTH_OK},
                {"abc", "Bearer\tabc", PH_API_AUTH_OK},
                {"abc", "Bearer abd", PH_API_AUTH_WRONG},
                {"abc", "Bearer ab", PH_API_AUTH_WRONG},
                {"abc", "Bearer abcd", PH_API_AUTH_WRONG},
                {"abc", "Bearer abc abc", PH_API_AUTH_WRONG},
                {"abc", "Bearer ABC", PH_API_AUTH_WRONG},
                {"abc", NULL, PH_API_AUTH_MISSING},
                {"abc", "", PH_API_AUTH_MISSING},
                {"abc", "Bearer", PH_API_AUTH_MISSING},
                {"abc", "Bearer   ", PH_API_AUTH_MISSING},
                {"abc", "Bearerabc", PH_API_AUTH_MISSING},
                {"abc", "Basic YWJjOmFiYw==", PH_API_AUTH_MISSING},
                {"abc", "abc", PH_API_AUTH_MISSING},
                {NULL, "Bearer abc", PH_API_AUTH_NOT_CONFIGURED},
                {NULL, NULL, PH_API_AUTH_NOT_CONFIGURED},
        };
        for (size_t i = 0; i < ELEMENTSOF(t); i++)
                if (!TAP_CHECK(api_auth_check(t[i].token, t[i].header) == t[i].want))
                        printf("# '%s'\n", t[i].header ? t[i].header : "(none)");
}

int main(void) {
        if (!mkdtemp(dir))
                abort();
        test_load();
        test_auth();
        _cleanup_free_ char *rm = xasprintf("rm -rf '%s'", dir);
        if (system(rm) != 0)
                return 1;
        return tap_done();
}
