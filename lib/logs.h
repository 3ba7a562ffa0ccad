/* logs: central log intake and search (API.md §1), over HTTP and for
 * cairnctl.
 *
 * Routes (cgi-bin/routes.c):
 *   POST /intake, POST /insert   compat batch intake; ROUTE_SELF_AUTH: the
 *                                handler takes the service key from the
 *                                body or the headers itself
 *   GET /query/service|level|date/...   compat queries (logs:read)
 *   GET /logs                    search, JSON pages or NDJSON (logs:read)
 *   POST /purge/<service>/<date> compat purge (logs:admin)
 *   POST|GET /services, POST /services/<name>/rotate-key,
 *   DELETE /services/<name>      service management (logs:admin)
 * The data layer is logs_store, the pure validators logs_parse. */
#ifndef CAIRN_LOGS_H
#define CAIRN_LOGS_H

#include "db.h"
#include "server.h"

/* Declares the metrics; call from routes_init (before metrics_init). */
void logs_init(void);

int logs_http_intake(struct ctx *c);
int logs_http_query_service(struct ctx *c);
int logs_http_query_level(struct ctx *c);
int logs_http_query_date(struct ctx *c);
int logs_http_search(struct ctx *c);
int logs_http_purge(struct ctx *c);
int logs_http_service_create(struct ctx *c);
int logs_http_service_list(struct ctx *c);
int logs_http_service_rotate(struct ctx *c);
int logs_http_service_disable(struct ctx *c);

/* cairnctl service add|list|rotate|disable ...; argv[0] is the
 * subcommand.  The line follows lib/cli.h.  Exit status: 0, 1 failure,
 * 2 usage. */
int logs_cli_service(struct db *db, int argc, char **argv);
/* cairnctl purge SERVICE YYYY-MM-DD [--dry-run]; the same rules. */
int logs_cli_purge(struct db *db, int argc, char **argv);

#endif
