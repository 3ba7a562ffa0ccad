#include "autoconfig.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "idem.h"
#include "log.h"

#define IDEM_EXPIRE_BATCH 1000

DB_QUERY(q_claim, "INSERT INTO idempotency_keys (caller, route, idem_key, request_hash, created_at)"
		  " VALUES (?, ?, ?, ?, NOW(6))");
DB_QUERY(q_lookup, "SELECT request_hash, status, content_type, body,"
		   " created_at < NOW(6) - INTERVAL ? HOUR"
		   " FROM idempotency_keys WHERE caller = ? AND route = ? AND idem_key = ?"
		   " LOCK IN SHARE MODE");
DB_QUERY(q_forget, "DELETE FROM idempotency_keys WHERE caller = ? AND route = ? AND idem_key = ?");
DB_QUERY(q_store, "UPDATE idempotency_keys SET status = ?, content_type = ?, body = ?"
		  " WHERE caller = ? AND route = ? AND idem_key = ?");
DB_QUERY(q_expire, "DELETE FROM idempotency_keys WHERE created_at < NOW(6) - INTERVAL ? HOUR"
		   " ORDER BY created_at, id LIMIT 1000");

enum claim { CLAIM_NEW, CLAIM_REPLAY, CLAIM_MISMATCH };

struct idem_call {
	struct ctx *c;
	idem_fn fn;
	void *arg;
	const char *key;
	size_t key_len;
	const char *route;
	unsigned char hash[32];
	enum claim outcome;
	/* the replay, copied out of the row (arena memory) */
	int status;
	char *content_type;
	char *body;
	size_t body_len;
};

/* SHA-256 over method, path, query and body, each length-prefixed. */
static void
request_hash(struct http *h, unsigned char out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const char *parts[4] = {h->method, h->path, h->query, h->body ? h->body : ""};
	size_t lens[4] = {strlen(h->method), strlen(h->path), strlen(h->query), h->body_len};
	unsigned int n = 32;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (int i = 0; i < 4; i++) {
		unsigned long long l = lens[i];

		EVP_DigestUpdate(md, &l, sizeof l);
		EVP_DigestUpdate(md, parts[i], lens[i]);
	}
	EVP_DigestFinal_ex(md, out, &n);
	EVP_MD_CTX_free(md);
}

static void
bind_identity(struct db_stmt *st, unsigned first, struct idem_call *ic)
{
	db_bind_str(st, first, ic->c->auth.caller);
	db_bind_str(st, first + 1, ic->route);
	db_bind_text(st, first + 2, ic->key, ic->key_len);
}

/* Reads the existing row. 1: found; 0: gone (expired and deleted); -1. */
static int
lookup(struct db *db, struct idem_call *ic, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_lookup, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, config_int("idempotency.ttl_hours"));
	bind_identity(st, 1, ic);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		size_t hl, cl, bl;
		const char *h = db_text(st, 0, &hl);
		const char *ct = db_text(st, 2, &cl);
		const char *body = db_text(st, 3, &bl);
		bool expired = db_int(st, 4) != 0;

		if (expired) {
			rc = 2;
		} else if (h == NULL || hl != 32 || memcmp(h, ic->hash, 32) != 0) {
			ic->outcome = CLAIM_MISMATCH;
		} else {
			ic->outcome = CLAIM_REPLAY;
			ic->status = (int)db_int(st, 1);
			ic->content_type = arena_strndup(ic->c->arena, ct ? ct : "", cl);
			ic->body = arena_strndup(ic->c->arena, body ? body : "", bl);
			ic->body_len = bl;
		}
	}
	db_release(st);
	return rc;
}

static int
claim(struct db *db, struct idem_call *ic, struct diag *d)
{
	for (int pass = 0; pass < 2; pass++) {
		struct db_stmt *st = db_prepare(db, &q_claim, d);

		if (st == NULL)
			return -1;
		bind_identity(st, 0, ic);
		db_bind_text(st, 3, ic->hash, sizeof ic->hash);
		if (db_exec(st, d) == 0) {
			ic->outcome = CLAIM_NEW;
			return 0;
		}
		if (d->code != DB_ER_DUP_ENTRY)
			return -1;
		int rc = lookup(db, ic, d);

		if (rc < 0)
			return -1;
		if (rc == 1)
			return 0;
		/* expired (or deleted meanwhile): forget it and claim afresh */
		st = db_prepare(db, &q_forget, d);
		if (st == NULL)
			return -1;
		bind_identity(st, 0, ic);
		if (db_exec(st, d) < 0)
			return -1;
	}
	diag_set(d, DIAG_CONFLICT, "could not claim the idempotency key");
	return -1;
}

static int
store(struct db *db, struct idem_call *ic, struct diag *d)
{
	struct http *h = ic->c->http;
	struct db_stmt *st = db_prepare(db, &q_store, d);
	const char *ct = "application/json";

	if (st == NULL)
		return -1;
	/* the Content-Type header the body set, if any */
	const char *p = strstr(h->headers.data ? h->headers.data : "", "Content-Type: ");
	size_t ctl = strlen(ct);

	if (p != NULL) {
		p += strlen("Content-Type: ");
		ctl = strcspn(p, "\r");
		ct = p;
	}
	db_bind_int(st, 0, h->status);
	db_bind_text(st, 1, ct, ctl);
	db_bind_text(st, 2, h->out.data ? h->out.data : "", h->out.len);
	bind_identity(st, 3, ic);
	return db_exec(st, d);
}

static int
txn_body(struct db *db, void *arg, struct diag *d)
{
	struct idem_call *ic = arg;
	struct ctx *c = ic->c;

	http_discard(c->http);
	if (ic->key != NULL) {
		if (claim(db, ic, d) < 0)
			return -1;
		if (ic->outcome != CLAIM_NEW)
			return 0; /* nothing to write; commit is a no-op */
	}
	if (ic->fn(c, ic->arg) < 0) {
		*d = c->diag;
		return -1;
	}
	if (ic->key != NULL) {
		if (c->http->status >= 500 || c->http->streaming) {
			diag_set(d, DIAG_INTERNAL, "refusing to store a %d response",
				 c->http->status);
			return -1;
		}
		if (c->http->status >= 400) {
			/* an error answer: keep the key free and write nothing */
			ic->outcome = CLAIM_NEW;
			diag_set(d, DIAG_INVALID, "client error");
			return -1;
		}
		if (store(db, ic, d) < 0)
			return -1;
	}
	return 0;
}

bool
idem_key_valid(const char *k, size_t len)
{
	if (len == 0 || len > IDEM_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7E)
			return false;
	return true;
}

static int
run(struct ctx *c, idem_fn fn, void *arg, bool single)
{
	struct idem_call ic;
	const char *key = ctx_header(c, "HTTP_IDEMPOTENCY_KEY");
	const struct route *route;
	int (*run_fn)(struct db *, db_txn_fn, void *, struct diag *);

	memset(&ic, 0, sizeof ic);
	ic.c = c;
	ic.fn = fn;
	ic.arg = arg;
	if (key != NULL) {
		size_t len = strlen(key);

		if (http_header_conflicts(c->http, "HTTP_IDEMPOTENCY_KEY"))
			return reply_error(c, 400, "bad_idempotency_key",
					   "Idempotency-Key is given twice with different values");
		if (!idem_key_valid(key, len))
			return reply_error(
				c, 400, "bad_idempotency_key",
				"Idempotency-Key must be 1 to %d printable ASCII characters",
				IDEM_KEY_MAX);
		ic.key = key;
		ic.key_len = len;
		request_hash(c->http, ic.hash);
		/* the route, whatever its method or name: GET and POST
		 * /update, or /intake and /insert, are one route, and a
		 * key used with both is a different request (422) */
		route = c->match.route;
		if (route->flags & ROUTE_ALIAS)
			route--;
		ic.route = route->pattern;
	}
	/* without a key to claim, a single-unit body needs no transaction */
	run_fn = single && key == NULL ? db_autocommit : db_txn;
	if (run_fn(c->db, txn_body, &ic, &c->diag) < 0) {
		if (c->diag.code == DIAG_INVALID)
			return 0; /* fn answered with a 4xx; nothing was stored */
		return -1;
	}
	if (ic.outcome == CLAIM_MISMATCH)
		return reply_error(c, 422, "idempotency_key_reused",
				   "this Idempotency-Key was used for a different request");
	if (ic.outcome == CLAIM_REPLAY) {
		http_discard(c->http);
		reply_header(c, "Idempotent-Replayed", "true");
		return reply_body(c, ic.status, ic.content_type, ic.body, ic.body_len);
	}
	return 0;
}

int
idem_run(struct ctx *c, idem_fn fn, void *arg)
{
	return run(c, fn, arg, false);
}

int
idem_run_single(struct ctx *c, idem_fn fn, void *arg)
{
	return run(c, fn, arg, true);
}

int
idem_expire_step(struct db *db, bool first, int *more, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_expire, d);

	*more = 0;
	if (st == NULL)
		return -1;
	db_bind_int(st, 0, config_int("idempotency.ttl_hours"));
	if (db_exec(st, d) < 0)
		return -1;
	*more = db_affected(st) >= IDEM_EXPIRE_BATCH;
	return 0;
}
