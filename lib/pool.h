/* pool: the FastCGI pool master (DESIGN.md "Processes").
 *
 * pool_run() forks `workers` children that each run child(slot) — in cairn
 * the accept loop on the socket inherited from spawn-fcgi — and supervises
 * them: a child that dies is re-forked (at once when it had lived a while,
 * with exponential backoff up to 5 s when it keeps dying young), with a
 * log line and a restart counted in the metrics; SIGTERM or SIGINT stops
 * the pool gracefully (idle children exit at once, busy ones finish the
 * request in hand; any left after the grace period are killed); SIGHUP
 * calls reload() (cairn re-reads its configuration file; on error the old
 * settings stay) and then replaces the children one by one, so they start
 * with the new settings.  With workers == 0 the calling process runs
 * child(0) itself.
 *
 * Inside a child, pool_child_busy() brackets each request so that SIGTERM
 * waits for the response. */
#ifndef CAIRN_POOL_H
#define CAIRN_POOL_H

#include <signal.h>
#include <stddef.h>

typedef int (*pool_child_fn)(size_t slot, volatile sig_atomic_t *stop, void *arg);
typedef void (*pool_reload_fn)(void *arg);

int pool_run(unsigned workers, pool_child_fn child, pool_reload_fn reload, void *arg);
/* Marks the child busy (1) or idle (0). */
void pool_child_busy(int busy);
/* The default pool size: 2 x online cores. */
unsigned pool_default_workers(void);

#endif
