/* geo_enrich: the enrichment loop that cairn-worker runs (API.md §4).
 *
 * The loop is single-threaded and never blocks for long: it drives every
 * provider call through one libcurl multi handle and sleeps in
 * curl_multi_poll() until a socket is ready or its next timer is due, so
 * cairn-worker calls geo_enrich_run() in place of its nap between job
 * ticks and the calls keep flowing while the worker is otherwise idle.
 *
 * One pass of the loop:
 *   1. finished calls are recorded (geo_store_complete: task, cache,
 *      counters in one transaction; then the breaker and, for a 429, the
 *      budget hear about it);
 *   2. calls whose permit slot has come are sent; a call more than the
 *      jitter tolerance late is not sent (its permit is dropped), because
 *      a late call could land within one second of the calls after it;
 *   3. while tasks wait and fewer than geo.rate x geo.timeout calls are in
 *      flight or scheduled, one permit is asked for (geo_store_permit);
 *   4. due tasks are claimed (geo_store_claim) while there is room for
 *      more waiting tasks; the claim resolves skipped and cached tasks
 *      itself.
 * Leases are checked before a permit is asked for and before a call is
 * sent: a task is only ever called while its lease outlives the call, so
 * no other worker can take it over mid-call.  Database errors back off
 * (250 ms doubling to 5 s) without losing results: a finished call's
 * result stays in memory until it is recorded. */
#ifndef CAIRN_GEO_ENRICH_H
#define CAIRN_GEO_ENRICH_H

#include <signal.h>

#include "db.h"

struct geo_enrich;

/* Reads the geo.* settings; holder names this worker in leases
 * (jobs_holder()).  NULL when geo.enabled is false or libcurl failed (the
 * other functions accept NULL and then only sleep). */
struct geo_enrich *geo_enrich_new(const char *holder);
void geo_enrich_free(struct geo_enrich *g);

/* Runs the loop for about ms milliseconds, returning early once *stop is
 * set.  With g NULL it just sleeps. */
void geo_enrich_run(struct geo_enrich *g, struct db *db, long ms, volatile sig_atomic_t *stop);

/* On SIGTERM: gives the tasks that wait for a permit back to the queue,
 * lets the calls in flight finish (at most geo.timeout) and records them,
 * then releases whatever is left. */
void geo_enrich_shutdown(struct geo_enrich *g, struct db *db);

#endif
