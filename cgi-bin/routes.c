#include "autoconfig.h"

#include <stdio.h>

#include "apikeys.h"
#include "auth.h"
#include "mem.h"
#include "routes.h"
#include "status.h"
/* capability headers, one line each: logs, tags, events, kv, geo */
#include "events.h"
#include "geo.h"
#include "kv.h"
#include "logs.h"
#include "tags.h"

/* Literal routes come before parameter routes that could shadow them. */
const struct route routes_table[] = {
	{"GET", "/healthz", status_healthz, 0, 0},
	{"GET", "/readyz", status_readyz, 0, 0},
	{"GET", "/metrics", status_metrics, 0, 0},

	{"POST", "/admin/api-keys", apikeys_http_create, AUTH_ADMIN, ROUTE_JSON},
	{"GET", "/admin/api-keys", apikeys_http_list, AUTH_ADMIN, 0},
	{"DELETE", "/admin/api-keys/:id", apikeys_http_revoke, AUTH_ADMIN, 0},

	{"POST", "/_debug/idempotent", status_debug_idempotent, 0, ROUTE_JSON | ROUTE_DEBUG},
	{"GET", "/_debug/sleep", status_debug_sleep, 0, ROUTE_DEBUG},

	/* logs (API.md §1) */
	{"POST", "/intake", logs_http_intake, 0,
	 ROUTE_SELF_AUTH | ROUTE_OWN_413 | ROUTE_LOGS_ERRORS},
	{"POST", "/insert", logs_http_intake, 0,
	 ROUTE_SELF_AUTH | ROUTE_OWN_413 | ROUTE_LOGS_ERRORS | ROUTE_ALIAS},
	{"GET", "/query/service/:service", logs_http_query_service, AUTH_LOGS_READ,
	 ROUTE_LOGS_ERRORS},
	{"GET", "/query/service/:service/:date", logs_http_query_service, AUTH_LOGS_READ,
	 ROUTE_LOGS_ERRORS},
	{"GET", "/query/level/:level", logs_http_query_level, AUTH_LOGS_READ, ROUTE_LOGS_ERRORS},
	{"GET", "/query/level/:level/:date", logs_http_query_level, AUTH_LOGS_READ,
	 ROUTE_LOGS_ERRORS},
	{"GET", "/query/date/:date", logs_http_query_date, AUTH_LOGS_READ, ROUTE_LOGS_ERRORS},
	{"GET", "/logs", logs_http_search, AUTH_LOGS_READ, 0},
	{"POST", "/purge/:service/:date", logs_http_purge, AUTH_LOGS_ADMIN, ROUTE_LOGS_ERRORS},
	{"POST", "/services", logs_http_service_create, AUTH_LOGS_ADMIN, ROUTE_JSON},
	{"GET", "/services", logs_http_service_list, AUTH_LOGS_ADMIN, 0},
	{"POST", "/services/:name/rotate-key", logs_http_service_rotate, AUTH_LOGS_ADMIN, 0},
	{"DELETE", "/services/:name", logs_http_service_disable, AUTH_LOGS_ADMIN, 0},

	/* tags (API.md §2) */
	{"GET", "/create", tags_http_create, AUTH_TAGS_WRITE, 0},
	{"POST", "/create", tags_http_create, AUTH_TAGS_WRITE, 0},
	{"GET", "/update", tags_http_update, AUTH_TAGS_WRITE, 0},
	{"POST", "/update", tags_http_update, AUTH_TAGS_WRITE, 0},
	{"GET", "/get", tags_http_get, AUTH_TAGS_READ, 0},
	{"POST", "/get", tags_http_get, AUTH_TAGS_READ, 0},
	{"GET", "/history", tags_http_history, AUTH_TAGS_READ, 0},
	{"POST", "/history", tags_http_history, AUTH_TAGS_READ, 0},
	{"GET", "/tags", tags_http_list, AUTH_TAGS_READ, 0},
	{"DELETE", "/tags/:tag", tags_http_delete, AUTH_TAGS_ADMIN, 0},

	/* events (API.md §3) */
	{"POST", "/add_event", events_http_add, AUTH_EVENTS_WRITE, ROUTE_JSON},
	{"GET", "/list_events", events_http_list, AUTH_EVENTS_READ, 0},
	{"POST", "/remove_events", events_http_remove, AUTH_EVENTS_WRITE | AUTH_EVENTS_ADMIN,
	 ROUTE_JSON},
	{"GET", "/events/tags", events_http_tags, AUTH_EVENTS_READ, 0},
	{"GET", "/events/:id", events_http_get, AUTH_EVENTS_READ, 0},
	{"DELETE", "/events/:id", events_http_delete, AUTH_EVENTS_WRITE, 0},
	{"POST", "/events/:id/stop", events_http_stop, AUTH_EVENTS_WRITE, 0},

	/* geo (API.md §4) */
	{"POST", "/event/submit/", geo_http_submit, AUTH_GEO_WRITE, 0},
	{"GET", "/event/", geo_http_list, AUTH_GEO_READ, 0},
	{"GET", "/event/:task_id", geo_http_get, AUTH_GEO_READ, 0},

	/* kv (API.md §5) */
	{"PUT", "/keys", kv_http_put_compat, AUTH_KV_WRITE, 0},
	{"GET", "/keys", kv_http_list, AUTH_KV_READ, 0},
	{"HEAD", "/keys", kv_http_head_list, AUTH_KV_READ, 0},
	{"DELETE", "/keys", kv_http_clear, AUTH_KV_ADMIN, 0},
	{"GET", "/keys/:key", kv_http_get, AUTH_KV_READ, 0},
	{"PUT", "/keys/:key", kv_http_put, AUTH_KV_WRITE, 0},
	{"DELETE", "/keys/:key", kv_http_delete, AUTH_KV_WRITE, 0},
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
	events_init();
	tags_init();
	logs_init();
	kv_init();
	geo_init();
}
