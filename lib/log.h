/* log: one line per notable event, to stderr, a file or syslog.
 *
 * Every line carries a level, the pid and, while a request is in hand, the
 * request id nginx passed (the same id is returned as X-Request-Id).  Never
 * pass a secret (key, password) to these functions. */
#ifndef CAIRN_LOG_H
#define CAIRN_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* ident names the program ("cairn.fcgi"); file NULL or "" means stderr. */
int log_open(const char *ident, const char *level, const char *file, bool use_syslog);
void log_close(void);
/* Closes the log and opens it again with these settings, for SIGHUP after
 * logrotate moved the file away.  If the file cannot be opened, logs to
 * stderr from then on, says so there, and returns -1. */
int log_reopen(const char *level, const char *file, bool use_syslog);
/* The request id to stamp on the following lines; NULL clears it. The
 * string must stay valid until cleared. */
void log_set_request_id(const char *id);
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
