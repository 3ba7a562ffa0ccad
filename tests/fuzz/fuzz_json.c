/* fuzz_json: the strict JSON reader (json.c) and the writer (jsonw.c).
 *
 * The input is a request body.  Checked:
 *   - json_parse never accepts what json_validate rejects;
 *   - json_validate and json-c agree (a document the validator accepts is
 *     one json-c parses), so the validator is the only gate that matters;
 *   - a parsed tree written back with jsonw_value is valid JSON, parses to
 *     an equal tree, and writing that again gives the same bytes;
 *   - the typed getters never fail on a parsed tree except by returning -1;
 *   - the input bytes written as a JSON string and as a key (jsonw_string_n,
 *     jsonw_key_n) always give valid JSON, and when the input is valid
 *     UTF-8 the string reads back byte for byte. */
#include "autoconfig.h"

#include "arena.h"
#include "buf.h"
#include "fuzz_common.h"
#include "json.h"
#include "jsonw.h"
#include "text.h"

static struct arena *arena;

static void
serialise(json_object *obj, struct buf *b)
{
	struct jsonw w;

	jsonw_init(&w, jsonw_buf_sink, b);
	jsonw_value(&w, obj);
	FUZZ_CHECK(jsonw_error(&w) == 0, "jsonw_value failed on a %zu-byte buffer", b->max);
}

static void
check_getters(json_object *obj)
{
	static const char *const keys[] = {"name", "scopes", "id", "value", "tags", "", "a"};
	struct diag d;

	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		const char *s;
		size_t len;
		int64_t n;
		bool b;
		json_object *arr;
		int rc;

		rc = json_get_string(obj, keys[i], &s, &len, &d);
		FUZZ_CHECK(rc >= -1 && rc <= 1, "json_get_string returned %d", rc);
		if (rc == 0)
			FUZZ_CHECK(s != NULL && s[len] == '\0', "string getter: no terminating NUL");
		rc = json_get_int64(obj, keys[i], -1000, 1000, &n, &d);
		FUZZ_CHECK(rc >= -1 && rc <= 1, "json_get_int64 returned %d", rc);
		if (rc == 0)
			FUZZ_CHECK(n >= -1000 && n <= 1000, "int64 getter out of range: %lld",
				   (long long)n);
		rc = json_get_bool(obj, keys[i], &b, &d);
		FUZZ_CHECK(rc >= -1 && rc <= 1, "json_get_bool returned %d", rc);
		rc = json_get_array(obj, keys[i], &arr, &d);
		FUZZ_CHECK(rc >= -1 && rc <= 1, "json_get_array returned %d", rc);
		if (rc == 0)
			FUZZ_CHECK(json_object_is_type(arr, json_type_array), "array getter type");
		(void)json_member(obj, keys[i]);
	}
}

/* The parsed tree round-trips through the writer. */
static void
check_roundtrip(const uint8_t *data, size_t size, json_object *obj)
{
	struct buf out1, out2;
	struct diag d;
	json_object *again = NULL;

	buf_init(&out1, 1u << 24);
	buf_init(&out2, 1u << 24);
	serialise(obj, &out1);
	if (json_validate(out1.data ? out1.data : "", out1.len, &d) != 0) {
		fuzz_dump("input", data, size);
		fuzz_dump("written", out1.data, out1.len);
		FUZZ_CHECK(0, "jsonw_value wrote invalid JSON: %s", d.msg);
	}
	if (json_parse(arena, out1.data, out1.len, &again, &d) != 0) {
		fuzz_dump("written", out1.data, out1.len);
		FUZZ_CHECK(0, "jsonw_value output does not parse: %s", d.msg);
	}
	if (!json_object_equal(obj, again)) {
		fuzz_dump("input", data, size);
		fuzz_dump("written", out1.data, out1.len);
		FUZZ_CHECK(0, "written JSON parses to a different value");
	}
	serialise(again, &out2);
	if (out1.len != out2.len || memcmp(out1.data, out2.data, out1.len) != 0) {
		fuzz_dump("first", out1.data, out1.len);
		fuzz_dump("second", out2.data, out2.len);
		FUZZ_CHECK(0, "writing is not a fixed point");
	}
	buf_free(&out1);
	buf_free(&out2);
}

/* Arbitrary bytes through the string escaper always give valid JSON. */
static void
check_writer(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct buf b;
	struct jsonw w;
	struct diag d;
	json_object *obj = NULL;
	bool has_nul = memchr(s, '\0', size) != NULL;

	buf_init(&b, 1u << 24);
	jsonw_init(&w, jsonw_buf_sink, &b);
	jsonw_array_begin(&w);
	jsonw_string_n(&w, s, size);
	jsonw_object_begin(&w);
	/* keys may not hold NUL (the reader rejects them): the writer can't help it */
	jsonw_key_n(&w, has_nul ? "k" : s, has_nul ? 1 : size);
	jsonw_string_n(&w, s, size);
	jsonw_object_end(&w);
	jsonw_int(&w, (int64_t)size - 4096);
	jsonw_bool(&w, size & 1);
	jsonw_null(&w);
	jsonw_array_end(&w);
	FUZZ_CHECK(jsonw_error(&w) == 0, "jsonw failed");
	if (json_parse(arena, b.data, b.len, &obj, &d) != 0) {
		fuzz_dump("input", data, size);
		fuzz_dump("written", b.data, b.len);
		FUZZ_CHECK(0, "escaped string is not valid JSON: %s", d.msg);
	}
	json_object *first = json_object_array_get_idx(obj, 0);

	FUZZ_CHECK(json_object_is_type(first, json_type_string), "element 0 not a string");
	if (text_valid_utf8(s, size)) {
		size_t len = (size_t)json_object_get_string_len(first);

		if (len != size || memcmp(json_object_get_string(first), s, size) != 0) {
			fuzz_dump("input", data, size);
			fuzz_dump("written", b.data, b.len);
			FUZZ_CHECK(0, "valid UTF-8 did not survive the escaper");
		}
	}
	/* jsonw_escape is the same escaper into a bounded buffer */
	struct buf small;

	buf_init(&small, 64);
	int rc = jsonw_escape(&small, s, size);

	FUZZ_CHECK(rc == 0 || size > 8, "jsonw_escape failed for %zu bytes into 64", size);
	if (rc == 0)
		FUZZ_CHECK(json_validate(small.data, small.len, &d) == 0,
			   "jsonw_escape wrote invalid JSON: %s", d.msg);
	buf_free(&small);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct diag d1, d2;
	json_object *obj = NULL;

	if (arena == NULL)
		arena = arena_new(4096);
	fuzz_quiet_logs();

	int valid = json_validate(text, size, &d1);
	int parsed = json_parse(arena, text, size, &obj, &d2);

	FUZZ_CHECK(valid == 0 || valid == -1, "json_validate returned %d", valid);
	FUZZ_CHECK(!(valid < 0 && parsed == 0), "json_parse accepted what json_validate rejected");
	if (valid == 0 && parsed != 0) {
		fuzz_dump("input", data, size);
		FUZZ_CHECK(0, "json_validate accepted what json-c rejects: %s", d2.msg);
	}
	if (parsed == 0) {
		check_roundtrip(data, size, obj);
		check_getters(obj);
	} else {
		FUZZ_CHECK(obj == NULL, "json_parse failed but set *out");
		FUZZ_CHECK(d2.code == DIAG_INVALID || d2.code == DIAG_INTERNAL,
			   "json_parse failed with diag code %d", d2.code);
	}
	check_writer(data, size);
	arena_reset(arena);
	return 0;
}
