/* fuzz_query: query strings (query.c) and pagination cursors (cursor.c).
 *
 * The whole input is a QUERY_STRING.  Checked:
 *   - query_parse either fails with DIAG_INVALID or gives at most
 *     QUERY_MAX_PARAMS parameters whose names and values are NUL-terminated
 *     at their lengths and no longer than the input;
 *   - query_get and query_count agree for several names (1 <=> count 1,
 *     -1 <=> count > 1), and every parsed name is found by query_count;
 *   - cursor_decode of the whole input, and of the `cursor` parameter, for
 *     1..4 fields: at most one field count succeeds; decoded fields hold no
 *     separator; encoding them again and decoding gives the same fields;
 *   - cursor_encode of fields cut from the input (at '\n', without the
 *     0x1f separator or NUL) decodes back to the same fields. */
#include "autoconfig.h"

#include "arena.h"
#include "cursor.h"
#include "fuzz_common.h"
#include "query.h"

static struct arena *arena;

static void
check_query(const char *qs, size_t len)
{
	static const char *const names[] = {"limit", "cursor", "tag", "from", "to", "q",
					    "a", "", "x y", "service"};
	struct query q;
	struct diag d;

	d.code = 0;
	if (query_parse(arena, qs, len, &q, &d) < 0) {
		FUZZ_CHECK(d.code == DIAG_INVALID, "query_parse failed with code %d", d.code);
		return;
	}
	FUZZ_CHECK(q.n <= QUERY_MAX_PARAMS, "%zu parameters", q.n);
	for (size_t i = 0; i < q.n; i++) {
		const struct query_param *p = &q.items[i];

		FUZZ_CHECK(p->name != NULL && p->value != NULL, "NULL name or value");
		FUZZ_CHECK(p->name[p->name_len] == '\0' && p->value[p->value_len] == '\0',
			   "parameter %zu not NUL-terminated", i);
		FUZZ_CHECK(p->name_len + p->value_len <= len, "parameter %zu longer than the input", i);
		if (i < 16 && memchr(p->name, '\0', p->name_len) == NULL) {
			size_t c = query_count(&q, p->name);

			FUZZ_CHECK(c >= 1, "query_count(%s) = 0 for a parsed name", p->name);
		}
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *v = NULL;
		size_t vl = 0;
		int rc = query_get(&q, names[i], &v, &vl);
		size_t c = query_count(&q, names[i]);

		FUZZ_CHECK(rc == (c == 0 ? 0 : c == 1 ? 1 : -1),
			   "query_get(%s) = %d but query_count = %zu", names[i], rc, c);
		if (rc == 1)
			FUZZ_CHECK(v != NULL && v[vl] == '\0', "query_get value not terminated");
	}
	/* the cursor a list route would take */
	const char *cur;
	size_t cl;

	if (query_get(&q, "cursor", &cur, &cl) == 1) {
		char **fields = arena_alloc(arena, CURSOR_MAX_FIELDS * sizeof *fields);

		for (size_t n = 1; n <= CURSOR_MAX_FIELDS; n++)
			(void)cursor_decode(arena, cur, cl, fields, n, &d);
	}
}

static void
check_cursor_decode(const char *text, size_t len)
{
	char *fields[CURSOR_MAX_FIELDS];
	struct diag d;
	int ok = 0;

	for (size_t n = 1; n <= CURSOR_MAX_FIELDS; n++) {
		d.code = 0;
		if (cursor_decode(arena, text, len, fields, n, &d) < 0) {
			FUZZ_CHECK(d.code == DIAG_INVALID, "cursor_decode failed with code %d", d.code);
			continue;
		}
		ok++;
		FUZZ_CHECK(len > 0 && len <= CURSOR_MAX_LEN, "cursor of %zu bytes decoded", len);
		for (size_t i = 0; i < n; i++)
			FUZZ_CHECK(fields[i] != NULL && strchr(fields[i], '\x1f') == NULL,
				   "decoded field %zu holds the separator", i);

		/* round trip: encode the decoded fields and decode them again */
		char *enc = cursor_encode(arena, (const char *const *)fields, n);
		char *again[CURSOR_MAX_FIELDS];

		FUZZ_CHECK(enc != NULL, "cursor_encode returned NULL");
		FUZZ_CHECK(strlen(enc) <= len, "re-encoding grew the cursor (%zu > %zu)",
			   strlen(enc), len);
		if (cursor_decode(arena, enc, strlen(enc), again, n, &d) < 0) {
			fuzz_dump("cursor", text, len);
			fuzz_dump("re-encoded", enc, strlen(enc));
			FUZZ_CHECK(0, "re-encoded cursor does not decode: %s", d.msg);
		}
		for (size_t i = 0; i < n; i++) {
			if (strcmp(fields[i], again[i]) != 0) {
				fuzz_dump("cursor", text, len);
				fuzz_dump("field", fields[i], strlen(fields[i]));
				fuzz_dump("again", again[i], strlen(again[i]));
				FUZZ_CHECK(0, "field %zu changed in the round trip", i);
			}
		}
	}
	FUZZ_CHECK(ok <= 1, "cursor decoded with %d different field counts", ok);
}

/* Fields taken from the input, encoded, must decode to themselves. */
static void
check_cursor_encode(const char *data, size_t size)
{
	const char *fields[CURSOR_MAX_FIELDS];
	char *decoded[CURSOR_MAX_FIELDS];
	size_t n = 0, total = 0;
	const char *p = data, *end = data + size;
	struct diag d;

	while (n < CURSOR_MAX_FIELDS) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *fe = nl ? nl : end;

		if (memchr(p, '\x1f', (size_t)(fe - p)) != NULL ||
		    memchr(p, '\0', (size_t)(fe - p)) != NULL)
			return; /* not a field a caller could encode */
		fields[n++] = arena_strndup(arena, p, (size_t)(fe - p));
		total += (size_t)(fe - p) + 1;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	/* one empty field encodes to "", which is not a cursor */
	if (n == 1 && fields[0][0] == '\0')
		return;
	char *enc = cursor_encode(arena, fields, n);
	size_t elen = strlen(enc);

	FUZZ_CHECK(elen == ((total - 1) * 4 + 2) / 3, "encoded length %zu for %zu raw bytes", elen,
		   total - 1);
	if (elen > CURSOR_MAX_LEN)
		return;
	if (cursor_decode(arena, enc, elen, decoded, n, &d) < 0) {
		fuzz_dump("encoded", enc, elen);
		FUZZ_CHECK(0, "cursor_encode output does not decode: %s", d.msg);
	}
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(strcmp(fields[i], decoded[i]) == 0, "field %zu differs after the round trip",
			   i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;

	if (arena == NULL)
		arena = arena_new(4096);
	fuzz_quiet_logs();
	check_query(text, size);
	check_cursor_decode(text, size);
	check_cursor_encode(text, size);
	arena_reset(arena);
	return 0;
}
