/* metrics: counters in one shared memory region, summed at scrape time.
 *
 * The pool master calls metrics_init() before it forks, so every worker
 * writes into the same region, each into its own slot (no locks, no
 * contention); /metrics sums the slots.  A re-forked worker takes over its
 * predecessor's slot, so counters only grow.  Counters of the capabilities
 * are declared with metrics_counter() before metrics_init().
 *
 * Prometheus text exposition 0.0.4. */
#ifndef CAIRN_METRICS_H
#define CAIRN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define METRICS_MAX_COUNTERS 128

/* Declares a counter (or gauge when gauge != 0) and returns its id.  Call
 * before metrics_init; series with the same name share HELP and TYPE. */
int metrics_counter(const char *name, const char *labels, const char *help, int gauge);

/* route_labels[i] is "METHOD /pattern" of route i.  slots: processes that
 * write (workers + 1). */
int metrics_init(size_t slots, const char *const *route_labels, size_t nroutes);
void metrics_use_slot(size_t slot);

void metrics_add(int id, int64_t delta);
/* One finished request; route SIZE_MAX for a request that matched none. */
void metrics_request(size_t route, int status, uint64_t usec);
void metrics_inflight(int delta);
void metrics_worker_restart(void);

/* Appends the exposition to out. */
int metrics_render(struct buf *out);

/* Scrape-time collectors, for numbers that live outside the shared region
 * (a capability's background worker keeps its counters in the database).
 * metrics_collector() registers fn (at most METRICS_MAX_COLLECTORS, before
 * serving); metrics_collect() runs every registered fn in order, each
 * appending complete exposition lines to out using db (the scraping
 * process's connection).  A collector that cannot read its numbers writes
 * what it can and must not fail the scrape. */
#define METRICS_MAX_COLLECTORS 8
struct db;
typedef void (*metrics_collector_fn)(struct buf *out, struct db *db);
int metrics_collector(metrics_collector_fn fn);
void metrics_collect(struct buf *out, struct db *db);

#endif
