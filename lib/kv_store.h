/* kv_store: the key-value store's data layer (sql/0005_kv.sql); the only
 * place with its SQL.
 *
 * Every read filters `expires_at IS NULL OR expires_at > NOW(6)` with the
 * database clock, so an expired key is absent everywhere even before the
 * sweep removes it.  Every write is one statement (an upsert with IF()s,
 * or an UPDATE/DELETE conditioned on the version), never a read followed
 * by a write in C, so two writers racing on one key serialise on its row
 * lock and a compare-and-set has exactly one winner.
 *
 * Versions.  A key's version is the number behind its ETag.  A new key
 * (or one written over an expired row) starts at a random 62-bit number,
 * so a key deleted and created again never repeats an old ETag (no ABA
 * for If-Match); each replacement adds one.
 *
 * Pointers in results borrow the statement's buffers: they are valid only
 * inside the callback they are passed to. */
#ifndef CAIRN_KV_STORE_H
#define CAIRN_KV_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "diag.h"
#include "kv_pattern.h"

struct kv_item {
	const char *key;
	size_t key_len;
	const char *value; /* NULL in listings' probe rows */
	size_t value_len;
	const char *content_type;
	uint64_t version;
	int64_t expires_us; /* microseconds since the epoch, -1: never */
};

/* Calls fn with the live key (its value and metadata) while the row is
 * current.  0: found (fn's return ignored); 1: absent or expired; -1: error. */
int kv_store_get(struct db *db, const char *key, size_t key_len,
		 void (*fn)(const struct kv_item *it, void *arg), void *arg, struct diag *d);

enum kv_put_mode {
	KV_PUT_ALWAYS,     /* create or replace */
	KV_PUT_IF_VERSION, /* replace only the live key at if_version */
	KV_PUT_IF_EXISTS,  /* replace only a live key (If-Match: *) */
	KV_PUT_IF_ABSENT,  /* create only (If-None-Match: *) */
};

struct kv_put {
	const char *key;
	size_t key_len;
	const char *value;
	size_t value_len;
	const char *content_type;
	int64_t ttl; /* seconds; 0: never expires */
	enum kv_put_mode mode;
	uint64_t if_version;
};

enum kv_outcome { KV_CREATED, KV_REPLACED, KV_PRECONDITION_FAILED };

struct kv_put_result {
	enum kv_outcome outcome;
	uint64_t version;   /* the new version */
	int64_t expires_us; /* -1: never (read back when ttl > 0) */
};

/* One conditional write (plus, with a TTL, reading back the expiry the
 * database computed, in the same transaction). */
int kv_store_put(struct db *db, const struct kv_put *p, struct kv_put_result *r, struct diag *d);

/* Deletes the live key (only at if_version when nonzero).  0: deleted;
 * 1: nothing deleted (absent, expired or at another version); -1: error. */
int kv_store_delete(struct db *db, const char *key, size_t key_len, uint64_t if_version,
		    struct diag *d);

/* Listing, in two steps so that the Link header can be sent before the
 * rows stream: kv_store_list_next() finds the first key of the next page
 * (the (limit+1)th live key >= from that matches f), *next_len = 0 when
 * there is none; kv_store_list() then calls fn for every live matching
 * key in [from, until) in key order (until NULL: to the end); fn
 * returning -1 stops the walk.  f NULL: every key. */
int kv_store_list_next(struct db *db, const char *from, size_t from_len, const struct kv_filter *f,
		       int limit, char next[KV_KEY_MAX + 1], size_t *next_len, struct diag *d);
int kv_store_list(struct db *db, const char *from, size_t from_len, const char *until,
		  size_t until_len, const struct kv_filter *f,
		  int (*fn)(const struct kv_item *it, void *arg), void *arg, struct diag *d);

/* Deletes every live key, in chunks of `batch` keys, each its own
 * autocommitted statement, walking the key space once (keys created
 * behind the walk survive).  *deleted counts live keys removed. */
int kv_store_clear(struct db *db, int batch, int64_t *deleted, struct diag *d);

/* The sweep: one transaction deleting up to `batch` expired rows (oldest
 * expiry first) and adding their number to kv_stats 'expired_total'. */
int kv_store_sweep(struct db *db, int batch, int64_t *removed, struct diag *d);
/* Counts the live keys into kv_stats 'keys' (an index scan: one
 * statement as long as the table; cairnctl kv stats). */
int kv_store_count(struct db *db, int64_t *keys, struct diag *d);
/* One bounded piece of a count in key order: of the next `chunk` keys
 * after the *after_len bytes of after (0: from the first key), *scanned
 * were read and *live are live; after then holds the last key read. */
int kv_store_count_chunk(struct db *db, char after[KV_KEY_MAX], size_t *after_len, int chunk,
			 int64_t *scanned, int64_t *live, struct diag *d);
/* Sets kv_stats 'keys'. */
int kv_store_set_keys(struct db *db, int64_t keys, struct diag *d);
/* Reads kv_stats: the last count of live keys and the sweep total. */
int kv_store_stats(struct db *db, int64_t *keys, int64_t *expired_total, struct diag *d);

#endif
