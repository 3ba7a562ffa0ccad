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

#include <stdbool.h>
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
/* A counter's sum over every slot (0 before metrics_init). */
int64_t metrics_value(int id);
/* Whether the counters are mapped (metrics_init succeeded), so that
 * metrics_add in one worker of this process's pool shows in metrics_value
 * in every other (each process of a spawn-fcgi -F N pool maps its own). */
bool metrics_shared(void);
/* One finished request; route SIZE_MAX for a request that matched none. */
void metrics_request(size_t route, int status, uint64_t usec);
void metrics_inflight(int delta);
void metrics_worker_restart(void);

/* Appends the exposition to out. */
int metrics_render(struct buf *out);

#endif
