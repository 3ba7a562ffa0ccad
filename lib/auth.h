/* auth: API keys, scopes and who is calling (API.md §0 "Authentication").
 *
 * A key is 32 random bytes shown once as 64 hex digits and stored only as
 * its SHA-256.  A request's key comes from `Authorization: Bearer <key>` or
 * `X-API-Key: <key>`; if both are present they must be the same key.  A
 * key is either an API key with scopes or a log service's key (logs:write,
 * plus logs:read and logs:admin when the service is privileged). */
#ifndef CAIRN_AUTH_H
#define CAIRN_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "diag.h"

enum auth_scope {
	AUTH_LOGS_WRITE = 1u << 0,
	AUTH_LOGS_READ = 1u << 1,
	AUTH_LOGS_ADMIN = 1u << 2,
	AUTH_TAGS_READ = 1u << 3,
	AUTH_TAGS_WRITE = 1u << 4,
	AUTH_TAGS_ADMIN = 1u << 5,
	AUTH_EVENTS_READ = 1u << 6,
	AUTH_EVENTS_WRITE = 1u << 7,
	AUTH_EVENTS_ADMIN = 1u << 8,
	AUTH_GEO_WRITE = 1u << 9,
	AUTH_GEO_READ = 1u << 10,
	AUTH_GEO_ADMIN = 1u << 11,
	AUTH_KV_READ = 1u << 12,
	AUTH_KV_WRITE = 1u << 13,
	AUTH_KV_ADMIN = 1u << 14,
	AUTH_ADMIN = 1u << 15,
};

#define AUTH_KEY_BYTES 32
#define AUTH_KEY_CHARS (2 * AUTH_KEY_BYTES)
#define AUTH_HASH_BYTES 32

enum auth_kind { AUTH_ANONYMOUS, AUTH_API_KEY, AUTH_SERVICE_KEY };

struct auth {
	enum auth_kind kind;
	uint32_t scopes;
	int64_t id;      /* api_keys.id or log_services.id */
	char name[200];  /* the key's or service's name */
	char caller[48]; /* "key:12", "service:3", "anonymous" */
};

/* "kv:read" -> AUTH_KV_READ; -1 for an unknown name. */
int auth_scope_parse(const char *name, size_t len, uint32_t *bit);
/* A space- or comma-separated list; -1 naming the first unknown scope. */
int auth_scopes_parse(const char *list, uint32_t *mask, struct diag *d);
/* Space-separated names in canonical order; returns the length. */
size_t auth_scopes_format(uint32_t mask, char *out, size_t cap);
/* The name of scope number i (0..15), NULL past the end. */
const char *auth_scope_name(unsigned i);

/* Does the caller hold any of the required scopes (admin holds all)? */
bool auth_allows(const struct auth *a, uint32_t required);

/* A new random key (64 hex digits + NUL). */
int auth_key_generate(char out[AUTH_KEY_CHARS + 1], struct diag *d);
void auth_key_hash(const char *key, size_t len, unsigned char out[AUTH_HASH_BYTES]);

/* Picks the key out of the two headers (either may be NULL).  Returns 0
 * with *key NULL when there is none, 0 with *key set, or -1 when the two
 * headers carry different keys or the Authorization scheme is not Bearer. */
int auth_extract(const char *authorization, const char *x_api_key, const char **key, size_t *len);

/* Looks the key up.  0: found and active (*a filled); 1: unknown, revoked
 * or disabled; -1: database error.
 *
 * Answers are cached in the process for auth.cache_ms (0 turns the cache
 * off), so most requests cost no lookup.  auth_invalidate() empties every
 * cache of the pool at once (a generation counter in the shared metrics
 * region): call it after any change that revokes or disables a key.  A
 * change made outside the pool (cairnctl, SQL, another host) is seen
 * within auth.cache_ms. */
int auth_resolve(struct db *db, const char *key, size_t len, struct auth *a, struct diag *d);
void auth_anonymous(struct auth *a, uint32_t scopes);
/* For caches of facts that go with a key (a log service's allowed
 * addresses): take a stamp before the lookup and keep it with the entry;
 * the entry is fresh while auth.cache_ms has not passed and no
 * auth_invalidate() happened since, exactly as for keys. */
struct auth_stamp {
	int64_t at_ms;
	int64_t generation;
};
struct auth_stamp auth_stamp_now(void);
bool auth_stamp_fresh(struct auth_stamp s);

/* Declares the generation counter; call before metrics_init. */
void auth_declare_metrics(void);
void auth_invalidate(void);

#endif
