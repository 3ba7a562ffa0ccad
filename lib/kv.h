/* kv: the key-value store's HTTP routes (API.md §5), its metrics, its
 * background jobs and its cairnctl command.  The user documentation, with
 * every decision API.md leaves open, is docs/kv.md.
 *
 *   PUT    /keys?<key>=<value>[&expire_in=s]   kv_http_put_compat  kv:write
 *   GET    /keys[?filter=&limit=&cursor=]      kv_http_list        kv:read
 *   HEAD   /keys                               kv_http_head_list   kv:read
 *   DELETE /keys                               kv_http_clear       kv:admin
 *   GET    /keys/<key>[?raw=1]  (and HEAD)     kv_http_get         kv:read
 *   PUT    /keys/<key>[?expire_in=s]           kv_http_put         kv:write
 *   DELETE /keys/<key>                         kv_http_delete      kv:write
 *
 * Metrics.  cairn_kv_ops_total{op,result} is counted by the handlers in
 * the shared metrics region.  cairn_kv_expired_total and cairn_kv_keys
 * live in the database (table kv_stats, written by cairn-worker's jobs,
 * which have no metrics region); kv_metrics_collect() reads them when
 * /metrics is scraped (docs/kv.md). */
#ifndef CAIRN_KV_H
#define CAIRN_KV_H

#include <stdbool.h>

#include "db.h"
#include "diag.h"
#include "server.h"

/* Declares the metrics and registers the scrape-time collector; call from
 * routes_init (before metrics_init and the fork). */
void kv_init(void);

int kv_http_put_compat(struct ctx *c);
int kv_http_list(struct ctx *c);
int kv_http_head_list(struct ctx *c);
int kv_http_clear(struct ctx *c);
int kv_http_get(struct ctx *c);
int kv_http_put(struct ctx *c);
int kv_http_delete(struct ctx *c);

/* The status_collector: cairn_kv_keys and cairn_kv_expired_total from
 * kv_stats. */
int kv_metrics_collect(struct db *db, struct buf *out, struct diag *d);

/* cairn-worker jobs: the expiry sweep (bounded batches of kv.sweep_batch)
 * and the count of live keys behind cairn_kv_keys. */
int kv_sweep_step(struct db *db, bool first, int *more, struct diag *d);
int kv_count_step(struct db *db, bool first, int *more, struct diag *d);

/* cairnctl kv stats|sweep|count: exit status 0, 1 or 2 (usage). */
int kv_cli(struct db *db, int argc, char **argv);

#endif
