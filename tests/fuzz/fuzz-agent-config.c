/* The agent's own config file (--config, /etc/podhook/agent.conf) through config_load(), the one key
 * table of file, environment and options, from a file descriptor of this process. Promises: a loaded
 * config keeps every number in its key's range and a known log level; every warning and every line of
 * an error names the file; an unknown key is a warning, never an error. */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/log.h"
#include "config.h"
#include "fuzz.h"

static bool names(const char *line, size_t len, const char *path) {
        size_t n = strlen(path);
        return len > n && strncmp(line, path, n) == 0 && line[n] == ':';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_close_ int fd = memfd_create("agent.conf", MFD_CLOEXEC);
        FUZZ_CHECK(fd >= 0);
        FUZZ_CHECK(size == 0 || write(fd, data, size) == (ssize_t) size);

        _cleanup_free_ char *path = xasprintf("/proc/self/fd/%d", fd);
        _cleanup_free_ char *config = xasprintf("--config=%s", path);
        /* No os-collect-config file, no environment: the file alone decides. */
        char *argv[] = {"agent", config, "--occ-config=", NULL};
        char *envp[] = {NULL};
        _cleanup_(config_freep) PhConfig *c = NULL;
        _cleanup_error_ PhError *err = NULL;
        int r = config_load(3, argv, envp, &c, &err);

        if (r < 0) {
                FUZZ_CHECK(err && err->msg && !c);
                for (const char *l = err->msg; l;) {
                        const char *nl = strchr(l, '\n');
                        FUZZ_CHECK(names(l, nl ? (size_t) (nl - l) : strlen(l), path));
                        l = nl ? nl + 1 : NULL;
                }
                return 0;
        }
        FUZZ_CHECK(r == 0 && c && !err);
        FUZZ_CHECK(c->interval >= 1 && c->interval <= 86400 && c->min_interval >= 1 &&
                   c->min_interval <= c->interval);
        FUZZ_CHECK(c->retry_max >= 1 && c->retry_max <= 86400 && c->hook_timeout <= 604800);
        FUZZ_CHECK(c->grace_seconds <= 3600 && c->request_timeout >= 1 && c->request_timeout <= 600);
        PhLogLevel level;
        FUZZ_CHECK(c->log_level && ph_log_level_from_string(c->log_level, &level) == 0);
        FUZZ_CHECK(c->state_dir && *c->state_dir && c->hook_dirs && c->bootstrap && c->docker_host);
        FUZZ_CHECK(!c->force || c->one_time);
        for (char **w = c->warnings; w && *w; w++)
                FUZZ_CHECK(names(*w, strlen(*w), path) && !strchr(*w, '\n'));
        return 0;
}
