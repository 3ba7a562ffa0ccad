#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "apikeys.h"
#include "json.h"
#include "text.h"

#define ECHO_MAX 64 /* bytes of a client value echoed in a message */

#define APIKEYS_LIST_DEFAULT 100
#define APIKEYS_LIST_MAX 1000

DB_QUERY(q_insert,
	 "INSERT INTO api_keys (name, key_hash, scopes, created_at) VALUES (?, ?, ?, NOW(6))");
DB_QUERY(
	q_get,
	"SELECT id, name, scopes, created_at, COALESCE(revoked_at, '') FROM api_keys WHERE id = ?");
DB_QUERY(q_revoke, "UPDATE api_keys SET revoked_at = NOW(6) WHERE id = ? AND revoked_at IS NULL");
DB_QUERY(q_list, "SELECT id, name, scopes, created_at, COALESCE(revoked_at, '') FROM api_keys"
		 " WHERE id > ? ORDER BY id LIMIT ?");

static void
row_to_key(struct db_stmt *st, struct apikey *k)
{
	struct diag ignored;
	const char *scopes = db_text(st, 2, NULL);

	k->id = db_int(st, 0);
	db_text_copy(st, 1, k->name, sizeof k->name);
	if (scopes == NULL || auth_scopes_parse(scopes, &k->scopes, &ignored) < 0)
		k->scopes = 0;
	db_text_copy(st, 3, k->created_at, sizeof k->created_at);
	db_text_copy(st, 4, k->revoked_at, sizeof k->revoked_at);
}

static int
get_key(struct db *db, int64_t id, struct apikey *k, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_get, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, id);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1)
		row_to_key(st, k);
	db_release(st);
	return rc < 0 ? -1 : rc == 1 ? 0 : 1;
}

struct create_args {
	const char *name;
	size_t name_len;
	uint32_t scopes;
	char *key;
	struct apikey *out;
};

static int
create_txn(struct db *db, void *arg, struct diag *d)
{
	struct create_args *a = arg;
	unsigned char hash[AUTH_HASH_BYTES];
	char scopes[256];
	struct db_stmt *st;

	auth_key_hash(a->key, AUTH_KEY_CHARS, hash);
	auth_scopes_format(a->scopes, scopes, sizeof scopes);
	st = db_prepare(db, &q_insert, d);
	if (st == NULL)
		return -1;
	db_bind_text(st, 0, a->name, a->name_len);
	db_bind_text(st, 1, hash, sizeof hash);
	db_bind_str(st, 2, scopes);
	if (db_exec(st, d) < 0)
		return -1;
	int rc = get_key(db, (int64_t)db_insert_id(st), a->out, d);

	if (rc == 1)
		diag_set(d, DIAG_INTERNAL, "the new key vanished");
	return rc == 0 ? 0 : -1;
}

int
apikeys_create(struct db *db, const char *name, size_t name_len, uint32_t scopes,
	       char key_out[AUTH_KEY_CHARS + 1], struct apikey *out, struct diag *d)
{
	struct create_args a = {name, name_len, scopes, key_out, out};

	if (!text_valid_name(name, name_len, APIKEYS_NAME_MAX)) {
		diag_set(d, DIAG_INVALID,
			 "name must be 1 to %d characters without control characters",
			 APIKEYS_NAME_MAX);
		return -1;
	}
	if (scopes & AUTH_LOGS_WRITE) {
		diag_set(d, DIAG_INVALID, "%s", APIKEYS_NO_LOGS_WRITE);
		return -1;
	}
	if (scopes == 0) {
		diag_set(d, DIAG_INVALID, "scopes must name at least one scope");
		return -1;
	}
	if (auth_key_generate(key_out, d) < 0)
		return -1;
	return db_txn(db, create_txn, &a, d);
}

int
apikeys_revoke(struct db *db, int64_t id, struct apikey *out, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_revoke, d);

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, id);
	if (db_exec(st, d) < 0)
		return -1;
	if (db_affected(st) > 0)
		auth_invalidate();
	return get_key(db, id, out, d);
}

int
apikeys_list(struct db *db, int64_t after_id, int limit,
	     int (*fn)(const struct apikey *k, void *arg), void *arg, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_list, d);
	struct apikey k;
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, after_id);
	db_bind_int(st, 1, limit);
	if (db_execute(st, d) < 0)
		return -1;
	while ((rc = db_fetch(st, d)) == 1) {
		row_to_key(st, &k);
		if (fn(&k, arg) < 0) {
			rc = 0;
			break;
		}
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------- HTTP */

static void
write_time(struct jsonw *w, const char *sql_time)
{
	int64_t us;
	struct diag ignored;
	char rfc[TIMEFMT_RFC_LEN + 1];

	if (sql_time[0] == '\0' ||
	    timefmt_parse(sql_time, strlen(sql_time), 0, &us, &ignored) < 0) {
		jsonw_null(w);
		return;
	}
	timefmt_rfc3339(us, rfc);
	jsonw_string(w, rfc);
}

static void
write_scopes(struct jsonw *w, uint32_t scopes)
{
	jsonw_array_begin(w);
	for (unsigned i = 0; auth_scope_name(i) != NULL; i++)
		if (scopes & (1u << i))
			jsonw_string(w, auth_scope_name(i));
	jsonw_array_end(w);
}

static void
write_key(struct jsonw *w, const struct apikey *k, const char *plain)
{
	char id[24];

	snprintf(id, sizeof id, "%lld", (long long)k->id);
	jsonw_object_begin(w);
	jsonw_key(w, "id");
	jsonw_string(w, id);
	jsonw_key(w, "name");
	jsonw_string(w, k->name);
	jsonw_key(w, "scopes");
	write_scopes(w, k->scopes);
	if (plain != NULL) {
		jsonw_key(w, "key");
		jsonw_string(w, plain);
	}
	jsonw_key(w, "created_at");
	write_time(w, k->created_at);
	if (plain == NULL) {
		jsonw_key(w, "revoked_at");
		write_time(w, k->revoked_at);
	}
	jsonw_object_end(w);
}

int
apikeys_http_create(struct ctx *c)
{
	static const char *const known[] = {"name", "scopes"};
	const char *name, *unknown;
	size_t name_len;
	json_object *arr;
	uint32_t scopes = 0;
	char key[AUTH_KEY_CHARS + 1];
	struct apikey k;
	int rc;

	if (!json_object_is_type(c->json, json_type_object))
		return reply_error(c, 400, "invalid_body", "the body must be a JSON object");
	unknown = json_unknown_member(c->json, known, sizeof known / sizeof known[0]);
	if (unknown != NULL)
		return reply_error(c, 400, "unknown_field", "unknown field '%.*s'",
				   text_utf8_cut(unknown, strlen(unknown), ECHO_MAX), unknown);
	rc = json_get_string(c->json, "name", &name, &name_len, &c->diag);
	if (rc != 0)
		return reply_error(c, 400, "invalid_field", "%s",
				   rc > 0 ? "'name' is required" : c->diag.msg);
	rc = json_get_array(c->json, "scopes", &arr, &c->diag);
	if (rc != 0)
		return reply_error(c, 400, "invalid_field", "%s",
				   rc > 0 ? "'scopes' is required" : c->diag.msg);
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		json_object *s = json_object_array_get_idx(arr, i);
		uint32_t bit;

		if (!json_object_is_type(s, json_type_string) ||
		    auth_scope_parse(json_object_get_string(s),
				     (size_t)json_object_get_string_len(s), &bit) < 0)
			return reply_error(c, 400, "invalid_scope",
					   "scopes[%zu] is not a known scope name", i);
		if (bit == AUTH_LOGS_WRITE)
			return reply_error(c, 400, "invalid_scope", "scopes[%zu]: %s", i,
					   APIKEYS_NO_LOGS_WRITE);
		scopes |= bit;
	}
	if (apikeys_create(c->db, name, name_len, scopes, key, &k, &c->diag) < 0) {
		if (c->diag.code == DIAG_INVALID)
			return reply_error(c, 400, "invalid_field", "%s", c->diag.msg);
		return -1;
	}
	reply_json_begin(c, 201);
	write_key(&c->w, &k, key);
	return 0;
}

struct list_state {
	struct ctx *c;
	int count;
	int limit;
	bool more;
	int64_t last_id;
};

static int
list_one(const struct apikey *k, void *arg)
{
	struct list_state *ls = arg;

	if (ls->count == ls->limit) {
		ls->more = true;
		return -1;
	}
	if (ls->count == 0) {
		reply_json_begin(ls->c, 200);
		jsonw_object_begin(&ls->c->w);
		jsonw_key(&ls->c->w, "keys");
		jsonw_array_begin(&ls->c->w);
	}
	write_key(&ls->c->w, k, NULL);
	ls->count++;
	ls->last_id = k->id;
	return jsonw_error(&ls->c->w);
}

int
apikeys_http_list(struct ctx *c)
{
	struct list_state ls = {c, 0, 0, false, 0};
	int64_t after = 0;
	char *cursor, id[24];
	int limit;

	if (ctx_page(c, APIKEYS_LIST_DEFAULT, APIKEYS_LIST_MAX, &limit, &cursor) < 0)
		return 0;
	if (cursor != NULL && !text_parse_id(cursor, strlen(cursor), &after))
		return reply_error(c, 400, "bad_cursor", "the cursor is not one this server gave");
	ls.limit = limit;
	/* one row more than the page tells whether a next page exists */
	if (apikeys_list(c->db, after, limit + 1, list_one, &ls, &c->diag) < 0)
		return -1;
	if (ls.count == 0) {
		reply_json_begin(c, 200);
		jsonw_object_begin(&c->w);
		jsonw_key(&c->w, "keys");
		jsonw_array_begin(&c->w);
	}
	jsonw_array_end(&c->w);
	jsonw_key(&c->w, "next_cursor");
	snprintf(id, sizeof id, "%lld", (long long)ls.last_id);
	reply_next_cursor(c, ls.more, id);
	jsonw_object_end(&c->w);
	return 0;
}

int
apikeys_http_revoke(struct ctx *c)
{
	size_t len;
	const char *idtext = ctx_param(c, "id", &len);
	int64_t id;
	struct apikey k;
	int rc;

	if (!text_parse_id(idtext, len, &id))
		return reply_error(c, 400, "bad_id", "the id must be a positive integer");
	rc = apikeys_revoke(c->db, id, &k, &c->diag);
	if (rc < 0)
		return -1;
	if (rc == 1)
		return reply_error(c, 404, "not_found", "no API key with id %lld", (long long)id);
	reply_json_begin(c, 200);
	jsonw_object_begin(&c->w);
	jsonw_key(&c->w, "id");
	jsonw_string(&c->w, idtext);
	jsonw_key(&c->w, "revoked_at");
	write_time(&c->w, k.revoked_at);
	jsonw_object_end(&c->w);
	return 0;
}
