/* status: the service routes (API.md §0): /healthz (no database),
 * /readyz (database reachable and schema at the latest migration),
 * /metrics (Prometheus text, summed over the pool), and the
 * /_debug/ routes the test suite uses (debug.routes only). */
#ifndef CAIRN_STATUS_H
#define CAIRN_STATUS_H

#include "server.h"

/* Reads the latest migration version from paths.sql (call at start-up). */
void status_init(void);

/* A scrape-time collector: appends Prometheus exposition lines (HELP, TYPE
 * and samples) for values the pool's counters cannot hold, such as those
 * cairn-worker keeps in the database.  Returns -1 with d set when it could
 * not, having appended only whole lines it means to show then (such as an
 * "up" gauge of 0), or nothing; /metrics keeps those and still answers.
 * Register from routes_init(), before the pool forks. */
typedef int (*status_collector_fn)(struct db *db, struct buf *out, struct diag *d);
void status_collector(status_collector_fn fn);
int status_healthz(struct ctx *c);
int status_readyz(struct ctx *c);
int status_metrics(struct ctx *c);
int status_debug_idempotent(struct ctx *c);
/* Sleeps ?ms= milliseconds (default 100), then answers like /healthz: lets
 * the tests hold a worker busy (graceful stop, stalls). */
int status_debug_sleep(struct ctx *c);

#endif
