/* json: strict JSON input on top of json-c.
 *
 * json-c alone accepts NaN, duplicate keys and lone surrogates, and clamps
 * integers that overflow; json_validate() is a strict RFC 8259 scan that
 * rejects the first three before json-c builds the tree:
 *   - valid UTF-8, no byte-order mark, nothing but whitespace after the value;
 *   - nesting at most JSON_MAX_DEPTH;
 *   - no duplicate keys in an object (compared after unescaping, so
 *     "n\u0061me" and "name" are the same key), no NUL in keys;
 *   - \u escapes that form valid code points (no lone surrogates).
 * A number is valid JSON whatever its size (RFC 8259 grammar; API.md §0
 * lists what is invalid), so the route that reads it names the member it
 * refuses.  In a parsed tree, json_type_int is always the exact value (an
 * int64); every other number, an integer beyond int64 included
 * (99999999999999999999), is a json_type_double whose string is the
 * request's spelling and whose value may be infinite (1e400).
 * The getters are typed and range-checked; their messages name the field. */
#ifndef CAIRN_JSON_H
#define CAIRN_JSON_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "diag.h"

#define JSON_MAX_DEPTH 32

int json_validate(const char *text, size_t len, struct diag *d);
/* Validates, then parses into a tree that the arena releases at reset. */
int json_parse(struct arena *a, const char *text, size_t len, json_object **out, struct diag *d);

/* Getters on an object. Each returns 0 when the member is present with the
 * right type and range, 1 when it is absent (JSON null counts as absent
 * only where said), -1 otherwise with a message in d. Borrowed pointers
 * live as long as the tree. */
int json_get_string(json_object *obj, const char *key, const char **s, size_t *len, struct diag *d);
int json_get_int64(json_object *obj, const char *key, int64_t min, int64_t max, int64_t *out,
		   struct diag *d);
int json_get_bool(json_object *obj, const char *key, bool *out, struct diag *d);
int json_get_array(json_object *obj, const char *key, json_object **out, struct diag *d);
/* The member whatever its type (NULL if absent). */
json_object *json_member(json_object *obj, const char *key);
/* The first member of obj whose name is none of known[0..n), or NULL. */
const char *json_unknown_member(json_object *obj, const char *const *known, size_t n);

#endif
