#include "autoconfig.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "auth.h"
#include "config.h"
#include "metrics.h"
#include "timefmt.h"

static const char *const scope_names[] = {
	"logs:write",  "logs:read",    "logs:admin",   "tags:read", "tags:write", "tags:admin",
	"events:read", "events:write", "events:admin", "geo:write", "geo:read",   "geo:admin",
	"kv:read",     "kv:write",     "kv:admin",     "admin",
};

#define NSCOPES (sizeof scope_names / sizeof scope_names[0])

const char *
auth_scope_name(unsigned i)
{
	return i < NSCOPES ? scope_names[i] : NULL;
}

int
auth_scope_parse(const char *name, size_t len, uint32_t *bit)
{
	for (unsigned i = 0; i < NSCOPES; i++)
		if (strlen(scope_names[i]) == len && memcmp(scope_names[i], name, len) == 0) {
			*bit = 1u << i;
			return 0;
		}
	return -1;
}

int
auth_scopes_parse(const char *list, uint32_t *mask, struct diag *d)
{
	const char *p = list;

	*mask = 0;
	while (*p) {
		while (*p == ' ' || *p == ',' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		const char *s = p;

		while (*p && *p != ' ' && *p != ',' && *p != '\t')
			p++;
		uint32_t bit;

		if (auth_scope_parse(s, (size_t)(p - s), &bit) < 0) {
			diag_set(d, DIAG_INVALID, "unknown scope '%.*s'",
				 (int)((p - s) > 40 ? 40 : (p - s)), s);
			return -1;
		}
		*mask |= bit;
	}
	return 0;
}

size_t
auth_scopes_format(uint32_t mask, char *out, size_t cap)
{
	size_t len = 0;

	if (cap > 0)
		out[0] = '\0';
	for (unsigned i = 0; i < NSCOPES; i++) {
		if (!(mask & (1u << i)))
			continue;
		int n = snprintf(out + len, cap - len, "%s%s", len ? " " : "", scope_names[i]);

		if (n < 0 || (size_t)n >= cap - len)
			break;
		len += (size_t)n;
	}
	return len;
}

bool
auth_allows(const struct auth *a, uint32_t required)
{
	if (required == 0)
		return true;
	if (a->scopes & AUTH_ADMIN)
		return true;
	return (a->scopes & required) != 0;
}

int
auth_key_generate(char out[AUTH_KEY_CHARS + 1], struct diag *d)
{
	unsigned char raw[AUTH_KEY_BYTES];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
		diag_set(d, DIAG_INTERNAL, "getrandom failed");
		return -1;
	}
	for (size_t i = 0; i < sizeof raw; i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[AUTH_KEY_CHARS] = '\0';
	return 0;
}

void
auth_key_hash(const char *key, size_t len, unsigned char out[AUTH_HASH_BYTES])
{
	unsigned int n = AUTH_HASH_BYTES;

	EVP_Digest(key, len, out, &n, EVP_sha256(), NULL);
}

static void
trim(const char **s, size_t *len)
{
	while (*len > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
		(*len)--;
}

int
auth_extract(const char *authorization, const char *x_api_key, const char **key, size_t *len)
{
	const char *k1 = NULL, *k2 = NULL;
	size_t l1 = 0, l2 = 0;

	*key = NULL;
	*len = 0;
	if (authorization != NULL && authorization[0] != '\0') {
		if (strncasecmp(authorization, "Bearer ", 7) != 0)
			return -1;
		k1 = authorization + 7;
		l1 = strlen(k1);
		trim(&k1, &l1);
		if (l1 == 0)
			return -1;
	}
	if (x_api_key != NULL && x_api_key[0] != '\0') {
		k2 = x_api_key;
		l2 = strlen(k2);
		trim(&k2, &l2);
		if (l2 == 0)
			return -1;
	}
	if (k1 != NULL && k2 != NULL && (l1 != l2 || memcmp(k1, k2, l1) != 0))
		return -1;
	*key = k1 ? k1 : k2;
	*len = k1 ? l1 : l2;
	return 0;
}

void
auth_anonymous(struct auth *a, uint32_t scopes)
{
	memset(a, 0, sizeof *a);
	a->kind = AUTH_ANONYMOUS;
	a->scopes = scopes;
	snprintf(a->caller, sizeof a->caller, "anonymous");
}

DB_QUERY(q_resolve,
	 "SELECT 'k', id, scopes, name FROM api_keys"
	 " WHERE key_hash = ? AND revoked_at IS NULL"
	 " UNION ALL "
	 "SELECT 's', id, IF(privileged, 'logs:write logs:read logs:admin', 'logs:write'), name"
	 " FROM log_services WHERE key_hash = ? AND disabled_at IS NULL");

/* ------------------------------------------------------------------ cache */

#define AUTH_CACHE_SLOTS 256

struct auth_cache_entry {
	bool used;
	bool found;
	unsigned char hash[AUTH_HASH_BYTES];
	struct auth a;
	struct auth_stamp stamp;
};

static struct auth_cache_entry auth_cache[AUTH_CACHE_SLOTS];
static int metric_generation = -1;

void
auth_declare_metrics(void)
{
	metric_generation = metrics_counter(
		"cairn_auth_invalidations_total", "",
		"Times the key caches of the pool were emptied (a key revoked or disabled).", 0);
}

void
auth_invalidate(void)
{
	metrics_add(metric_generation, 1);
	memset(auth_cache, 0, sizeof auth_cache);
}

struct auth_stamp
auth_stamp_now(void)
{
	struct auth_stamp s = {timefmt_monotonic_ms(), metrics_value(metric_generation)};

	return s;
}

bool
auth_stamp_fresh(struct auth_stamp s)
{
	long long ttl = config_int("auth.cache_ms");

	/* without the shared counters no invalidation reaches this worker:
	 * then nothing is cached */
	return ttl > 0 && metrics_shared() && timefmt_monotonic_ms() - s.at_ms < ttl &&
	       s.generation == metrics_value(metric_generation);
}

static struct auth_cache_entry *
cache_slot(const unsigned char hash[AUTH_HASH_BYTES])
{
	return &auth_cache[(hash[0] | hash[1] << 8) % AUTH_CACHE_SLOTS];
}

/* 0 or 1 (as auth_resolve) from a fresh entry; -1 when there is none. */
static int
cache_get(const unsigned char hash[AUTH_HASH_BYTES], struct auth *a)
{
	struct auth_cache_entry *e = cache_slot(hash);

	if (!e->used || memcmp(e->hash, hash, AUTH_HASH_BYTES) != 0 || !auth_stamp_fresh(e->stamp))
		return -1;
	if (!e->found)
		return 1;
	*a = e->a;
	return 0;
}

static void
cache_put(const unsigned char hash[AUTH_HASH_BYTES], bool found, const struct auth *a,
	  struct auth_stamp stamp)
{
	struct auth_cache_entry *e = cache_slot(hash);

	if (config_int("auth.cache_ms") <= 0)
		return;
	e->used = true;
	e->found = found;
	memcpy(e->hash, hash, AUTH_HASH_BYTES);
	if (found)
		e->a = *a;
	e->stamp = stamp;
}

int
auth_resolve(struct db *db, const char *key, size_t len, struct auth *a, struct diag *d)
{
	unsigned char hash[AUTH_HASH_BYTES];
	struct db_stmt *st;
	int rc, cached;
	/* taken before the lookup: an invalidation during it makes the entry stale */
	struct auth_stamp stamp = auth_stamp_now();

	if (len > 256)
		return 1;
	auth_key_hash(key, len, hash);
	cached = cache_get(hash, a);
	if (cached >= 0)
		return cached;
	st = db_prepare(db, &q_resolve, d);
	if (st == NULL)
		return -1;
	db_bind_text(st, 0, hash, sizeof hash);
	db_bind_text(st, 1, hash, sizeof hash);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		const char *kind = db_text(st, 0, NULL);
		const char *scopes = db_text(st, 2, NULL);
		struct diag ignored;

		memset(a, 0, sizeof *a);
		a->kind = kind && kind[0] == 's' ? AUTH_SERVICE_KEY : AUTH_API_KEY;
		a->id = db_int(st, 1);
		/* a stored list that does not parse (one naming a scope this
		 * version does not know) grants nothing: fail closed */
		if (scopes == NULL || auth_scopes_parse(scopes, &a->scopes, &ignored) < 0)
			a->scopes = 0;
		db_text_copy(st, 3, a->name, sizeof a->name);
		snprintf(a->caller, sizeof a->caller, "%s:%lld",
			 a->kind == AUTH_SERVICE_KEY ? "service" : "key", (long long)a->id);
	}
	db_release(st);
	if (rc < 0)
		return -1;
	cache_put(hash, rc == 1, a, stamp);
	return rc == 1 ? 0 : 1;
}
