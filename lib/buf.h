/* buf: a growable byte buffer with a hard limit.
 *
 * The contents are always NUL-terminated (the NUL is not counted in len).
 * An append that would take len past max fails with -1 and leaves the
 * buffer as it was, so callers can answer 413 cleanly.  The buffer owns its
 * memory (heap, not arena): buf_free() releases it. */
#ifndef CAIRN_BUF_H
#define CAIRN_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max;
};

void buf_init(struct buf *b, size_t max);
void buf_free(struct buf *b);
/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_putc(struct buf *b, char c);
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap);

#endif
