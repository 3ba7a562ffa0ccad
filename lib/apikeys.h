/* apikeys: creating, listing and revoking API keys, over HTTP
 * (/admin/api-keys, scope admin) and for cairnctl. */
#ifndef CAIRN_APIKEYS_H
#define CAIRN_APIKEYS_H

#include <stdint.h>

#include "auth.h"
#include "db.h"
#include "diag.h"
#include "server.h"
#include "timefmt.h"

#define APIKEYS_NAME_MAX 191
/* logs:write is held only by log service keys (API.md §0), never an API key */
#define APIKEYS_NO_LOGS_WRITE                                                                      \
	"logs:write is held only by log service keys (POST /services), not by API keys"

struct apikey {
	int64_t id;
	char name[APIKEYS_NAME_MAX * 4 + 1];
	uint32_t scopes;
	char created_at[TIMEFMT_SQL_LEN + 1];
	char revoked_at[TIMEFMT_SQL_LEN + 1]; /* "" while active */
};

/* Creates a key; key_out gets the plain key (shown once). DIAG_INVALID
 * for a bad name, no scopes or logs:write. */
int apikeys_create(struct db *db, const char *name, size_t name_len, uint32_t scopes,
		   char key_out[AUTH_KEY_CHARS + 1], struct apikey *out, struct diag *d);
/* 0 revoked (or already revoked: out->revoked_at is the first time);
 * 1 no such key; -1 error. */
int apikeys_revoke(struct db *db, int64_t id, struct apikey *out, struct diag *d);
/* Calls fn for up to limit keys with id > after_id, in id order. */
int apikeys_list(struct db *db, int64_t after_id, int limit,
		 int (*fn)(const struct apikey *k, void *arg), void *arg, struct diag *d);

int apikeys_http_create(struct ctx *c);
int apikeys_http_list(struct ctx *c);
int apikeys_http_revoke(struct ctx *c);

#endif
