/* idem: Idempotency-Key for write routes (API.md §0 "Idempotency").
 *
 * idem_run() runs a write handler's body inside one transaction whose
 * first statement claims the request's Idempotency-Key (scoped by caller
 * and route: a route's methods and its aliases are one route).  The
 * response the body builds is stored with the key in the same
 * transaction, so a 2xx and the stored replay commit together.  A later
 * request with the same key, caller and route gets the stored status
 * and body again without running the body; the same key with a different
 * request (method, path, query or body) gets 422 idempotency_key_reused.
 * A concurrent duplicate waits on the key's row lock and then replays.
 * Without the header, idem_run() is simply one transaction.
 *
 * Only responses below 500 are stored; a failed body rolls back and
 * stores nothing. */
#ifndef CAIRN_IDEM_H
#define CAIRN_IDEM_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "diag.h"
#include "server.h"

#define IDEM_KEY_MAX 128

/* An Idempotency-Key the server accepts: 1 to IDEM_KEY_MAX printable
 * ASCII characters (0x21..0x7E: no space, no control). */
bool idem_key_valid(const char *k, size_t len);

/* The body: runs inside the transaction; writes its response with the
 * reply_* functions (buffered, not streamed); returns 0, or -1 with
 * c->diag set to roll back.  It may run more than once (deadlock retry);
 * the response is reset before every run. */
typedef int (*idem_fn)(struct ctx *c, void *arg);

/* 0 when the request was answered (by fn, by a replay, or with an error
 * response), -1 with c->diag set on a database failure. */
int idem_run(struct ctx *c, idem_fn fn, void *arg);

/* idem_run for a body whose writes are one self-committing unit: one
 * statement, or a CALL of a procedure that is its own transaction unless
 * one is already open.  Without an Idempotency-Key the body runs under
 * db_autocommit, two round trips cheaper; with one, inside the claim's
 * transaction as for idem_run. */
int idem_run_single(struct ctx *c, idem_fn fn, void *arg);

/* The background job: deletes keys older than idempotency.ttl_hours, in
 * batches. *more is set when a batch was full. */
int idem_expire_step(struct db *db, bool first, int *more, struct diag *d);

#endif
