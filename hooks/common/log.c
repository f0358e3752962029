#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common/log.h"

static PhLogLevel max_level = PH_LOG_INFO;

void ph_log_set_max_level(PhLogLevel level) {
        max_level = level;
}

PhLogLevel ph_log_get_max_level(void) {
        return max_level;
}

int ph_log_level_from_string(const char *s, PhLogLevel *ret) {
        static const struct {
                const char *name;
                PhLogLevel level;
        } table[] = {
                {"error", PH_LOG_ERR},
                {"warning", PH_LOG_WARNING},
                {"info", PH_LOG_INFO},
                {"debug", PH_LOG_DEBUG},
        };

        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (strcasecmp(s, table[i].name) == 0) {
                        *ret = table[i].level;
                        return 0;
                }
        return -EINVAL;
}

static const char *level_name(PhLogLevel level) {
        switch (level) {
        case PH_LOG_ERR:
                return "error";
        case PH_LOG_WARNING:
                return "warning";
        case PH_LOG_INFO:
                return "info";
        default:
                return "debug";
        }
}

int ph_log_internal(PhLogLevel level, int error, const char *module, const char *fmt, ...) {
        int saved = errno;
        va_list ap;

        if (error < 0)
                error = -error;
        if (level <= max_level) {
                char line[4096];

                va_start(ap, fmt);
                (void) vsnprintf(line, sizeof(line), fmt, ap);
                va_end(ap);
                /* One write per message so lines from several processes do not interleave. */
                if (error)
                        fprintf(stderr, "%s %s: %s: %s\n", level_name(level), module, line, strerror(error));
                else
                        fprintf(stderr, "%s %s: %s\n", level_name(level), module, line);
                fflush(stderr);
        }
        errno = saved;
        return -error;
}
