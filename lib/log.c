#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_ident = "cairn";
static enum log_level log_threshold = LOG_LEVEL_INFO;
static int log_fd = STDERR_FILENO;
static bool log_syslog;
static const char *log_request_id;

static const char *const log_names[] = {"error", "warn", "info", "debug"};

int
log_open(const char *ident, const char *level, const char *file, bool use_syslog)
{
	log_ident = ident;
	for (size_t i = 0; i < sizeof log_names / sizeof log_names[0]; i++)
		if (level != NULL && strcmp(level, log_names[i]) == 0)
			log_threshold = (enum log_level)i;
	if (use_syslog) {
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog = true;
	} else if (file != NULL && file[0] != '\0') {
		int fd = open(file, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);

		if (fd < 0)
			return -1;
		log_fd = fd;
	}
	return 0;
}

void
log_close(void)
{
	if (log_syslog)
		closelog();
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	log_syslog = false;
}

int
log_reopen(const char *level, const char *file, bool use_syslog)
{
	const char *ident = log_ident;
	int err;

	log_close();
	if (log_open(ident, level, file, use_syslog) == 0)
		return 0;
	err = errno;
	log_open(ident, level, NULL, false);
	log_error("cannot open log file %s: %s; logging to stderr", file, strerror(err));
	return -1;
}

void
log_set_request_id(const char *id)
{
	log_request_id = id;
}

bool
log_enabled(enum log_level level)
{
	return level <= log_threshold;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	char msg[1024], line[1280];
	va_list ap;
	int n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* one line per event: fold embedded newlines */
	for (char *c = msg; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	if (log_syslog) {
		static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};

		syslog(prio[level], "%s%s%s %s", log_names[level], log_request_id ? " req=" : "",
		       log_request_id ? log_request_id : "", msg);
		return;
	}
	struct timeval tv;
	struct tm tm;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%ld] %s%s%s %s\n",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (long)(tv.tv_usec / 1000), log_ident, (long)getpid(), log_names[level],
		     log_request_id ? " req=" : "", log_request_id ? log_request_id : "", msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof line) {
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	/* one write() per line keeps lines whole across processes (O_APPEND) */
	ssize_t w = write(log_fd, line, (size_t)n);

	(void)w;
}
