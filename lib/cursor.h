/* cursor: opaque keyset-pagination cursors.
 *
 * A cursor carries the sort key of the last row of a page: a few fields
 * joined and base64url-encoded (no padding), so clients treat it as an
 * opaque token.  Decoding checks the alphabet, the field count and the
 * field bytes (no separators, no NUL); callers validate each field's
 * meaning (an id, a time) themselves and answer 400 for a bad cursor. */
#ifndef CAIRN_CURSOR_H
#define CAIRN_CURSOR_H

#include <stddef.h>

#include "arena.h"
#include "diag.h"

#define CURSOR_MAX_FIELDS 4
#define CURSOR_MAX_LEN 1024

/* Encodes n fields (n <= CURSOR_MAX_FIELDS) into arena memory. */
char *cursor_encode(struct arena *a, const char *const *fields, size_t n);
/* Decodes text into exactly n NUL-terminated fields (arena memory). */
int cursor_decode(struct arena *a, const char *text, size_t len, char **fields, size_t n,
		  struct diag *d);

#endif
