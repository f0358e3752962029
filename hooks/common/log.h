/* One line per message on stderr: "<level> <module>: text". Only boundaries log at warning or above. */
#pragma once

typedef enum PhLogLevel {
        PH_LOG_ERR = 3, /* same numbers as syslog(3) priorities */
        PH_LOG_WARNING = 4,
        PH_LOG_INFO = 6,
        PH_LOG_DEBUG = 7,
} PhLogLevel;

/* The one process-wide setting (file-local in log.c): messages above level are dropped. */
void ph_log_set_max_level(PhLogLevel level);
PhLogLevel ph_log_get_max_level(void);
/* Parses "error|warning|info|debug"; returns 0 or -EINVAL. */
int ph_log_level_from_string(const char *s, PhLogLevel *ret);
/* Returns -abs(error) (or 0 when error == 0) so callers can "return log_error_errno(...)". errno is kept. */
int ph_log_internal(PhLogLevel level, int error, const char *module, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

#ifndef PH_LOG_MODULE
#define PH_LOG_MODULE "podhook"
#endif

#define log_debug(...)            (void) ph_log_internal(PH_LOG_DEBUG, 0, PH_LOG_MODULE, __VA_ARGS__)
#define log_info(...)             (void) ph_log_internal(PH_LOG_INFO, 0, PH_LOG_MODULE, __VA_ARGS__)
#define log_warning(...)          (void) ph_log_internal(PH_LOG_WARNING, 0, PH_LOG_MODULE, __VA_ARGS__)
#define log_error(...)            (void) ph_log_internal(PH_LOG_ERR, 0, PH_LOG_MODULE, __VA_ARGS__)
#define log_warning_errno(e, ...) ph_log_internal(PH_LOG_WARNING, (e), PH_LOG_MODULE, __VA_ARGS__)
#define log_error_errno(e, ...)   ph_log_internal(PH_LOG_ERR, (e), PH_LOG_MODULE, __VA_ARGS__)
