/* diag: the error details every fallible function leaves for its caller.
 *
 * Functions that can fail return 0 on success and -1 on failure; on failure
 * they fill the struct diag the caller passed (never NULL).  `code` is the
 * MySQL errno for database errors, an errno value for system errors, or one
 * of the DIAG_* codes below; `sqlstate` is set only for database errors. */
#ifndef CAIRN_DIAG_H
#define CAIRN_DIAG_H

#include <stddef.h>

enum {
	DIAG_NONE = 0,
	DIAG_INVALID = 100000, /* bad input: the message is for the client */
	DIAG_TOO_LARGE,        /* input over a limit */
	DIAG_NOT_FOUND,
	DIAG_CONFLICT,
	DIAG_UNAVAILABLE, /* the database cannot be reached */
	DIAG_INTERNAL
};

struct diag {
	int code;
	char sqlstate[6];
	char msg[256];
};

void diag_clear(struct diag *d);
void diag_set(struct diag *d, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
