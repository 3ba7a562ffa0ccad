#include "autoconfig.h"

#include <stdio.h>

#include "apikeys.h"
#include "auth.h"
#include "mem.h"
#include "routes.h"
#include "status.h"
/* capability headers, one line each: logs, tags, events, kv, geo */
#include "geo.h"

/* Literal routes come before parameter routes that could shadow them. */
const struct route routes_table[] = {
	{"GET", "/healthz", status_healthz, 0, 0},
	{"GET", "/readyz", status_readyz, 0, 0},
	{"GET", "/metrics", status_metrics, 0, 0},

	{"POST", "/admin/api-keys", apikeys_http_create, AUTH_ADMIN, ROUTE_JSON},
	{"GET", "/admin/api-keys", apikeys_http_list, AUTH_ADMIN, 0},
	{"DELETE", "/admin/api-keys/:id", apikeys_http_revoke, AUTH_ADMIN, 0},

	{"POST", "/_debug/idempotent", status_debug_idempotent, 0, ROUTE_JSON | ROUTE_DEBUG},

	/* logs (API.md §1) */

	/* tags (API.md §2) */

	/* events (API.md §3) */

	/* geo (API.md §4) */
	{"POST", "/event/submit/", geo_http_submit, AUTH_GEO_WRITE, 0},
	{"GET", "/event/", geo_http_list, AUTH_GEO_READ, 0},
	{"GET", "/event/:task_id", geo_http_get, AUTH_GEO_READ, 0},

	/* kv (API.md §5) */
};

const size_t routes_count = sizeof routes_table / sizeof routes_table[0];

const char *const *
routes_labels(void)
{
	static const char **labels;

	if (labels == NULL) {
		labels = mem_calloc(routes_count, sizeof *labels);
		for (size_t i = 0; i < routes_count; i++) {
			char buf[256];

			snprintf(buf, sizeof buf, "%s %s", routes_table[i].method,
				 routes_table[i].pattern);
			labels[i] = mem_strdup(buf);
		}
	}
	return labels;
}

void
routes_init(void)
{
	status_init();
	/* capabilities: declare metrics and start-up state here */
	geo_init();
}
