/* geo: geolocated event intake over HTTP (API.md §4) and for cairnctl.
 *
 *   POST /event/submit/   (also without the slash)  scope geo:write
 *   GET  /event/<task_id>                          scope geo:read
 *   GET  /event/          (also without the slash)  scope geo:read
 *
 * A submission is validated, stored as a queued task in one transaction
 * (idem_run: Idempotency-Key) and answered 202 at once; the provider is
 * never called from a request.  cairn-worker resolves the task later
 * (geo_enrich).  These routes answer their own errors in JSend
 * ({"status":"fail","data":{field: message}}); only the errors the
 * pipeline gives before a handler runs (401/403, 404/405 for unknown
 * routes, 413) and 415 for a body that is not application/json use the
 * JSON error envelope.  docs/geo.md has the details. */
#ifndef CAIRN_GEO_H
#define CAIRN_GEO_H

#include "db.h"
#include "server.h"

/* Start-up in the pool: registers the /metrics collector that reads the
 * worker's numbers from the database (call from routes_init). */
void geo_init(void);

int geo_http_submit(struct ctx *c);
int geo_http_get(struct ctx *c);
int geo_http_list(struct ctx *c);

/* `cairnctl geo requeue`: failed tasks back to the queue.  Returns the
 * exit status (0, 1 failure, 2 usage). */
int geo_cli(struct db *db, int argc, char **argv);

#endif
