/* tags: usage counters by tag (API.md §2), replacing flask-api-monitoring.
 *
 * Compat routes, each answering GET and POST alike, parameters from the
 * query string only, plain-text bodies (text/plain; charset=utf-8):
 *   /create?tag=T       200 Tag Created Successfully | 409 Tag already exists!
 *   /update?tag=T[&n=]  200 <new count> | 404 Tag does not exist!
 *   /get?tag=T          200 <count> | 404 Tag does not exist!
 *   /history?tag=T      200 {"1":{"date","amount"},...} | 404 No Data Found!
 * and 412 Invalid Data for a missing or bad tag or n.  New routes, JSON
 * with the error envelope: /history?tag=T&bucket=...&from=&to= (series),
 * GET /tags (list), DELETE /tags/<tag>.  docs/tags.md has the details and
 * every decision API.md leaves open.
 *
 * Background: tags_rollup_step folds raw history older than
 * tags.history_days into hourly totals; tags_purge_step removes the
 * history of deleted tags.  Both do one bounded batch per call. */
#ifndef CAIRN_TAGS_H
#define CAIRN_TAGS_H

#include "db.h"
#include "diag.h"
#include "server.h"

/* Declares the module's metrics; call before metrics_init. */
void tags_init(void);

int tags_http_create(struct ctx *c);
int tags_http_update(struct ctx *c);
int tags_http_get(struct ctx *c);
int tags_http_history(struct ctx *c);
int tags_http_list(struct ctx *c);
int tags_http_delete(struct ctx *c);

/* Jobs of cairn-worker (struct job steps). */
int tags_rollup_step(struct db *db, bool first, int *more, struct diag *d);
int tags_purge_step(struct db *db, bool first, int *more, struct diag *d);

/* `cairnctl tags rollup|purge`: runs the job to the end at once (what the
 * worker would do on its next runs) and prints what it did.  Exit status
 * as cairnctl's: 0, 1 failure, 2 usage. */
int tags_cli(struct db *db, int argc, char **argv);

#endif
