#include "autoconfig.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"

void
diag_clear(struct diag *d)
{
	d->code = DIAG_NONE;
	d->sqlstate[0] = '\0';
	d->msg[0] = '\0';
}

void
diag_set(struct diag *d, int code, const char *fmt, ...)
{
	va_list ap;

	d->code = code;
	d->sqlstate[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof d->msg, fmt, ap);
	va_end(ap);
}
