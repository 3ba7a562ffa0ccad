/* events: the event timeline over HTTP (API.md §3).
 *
 *   POST   /add_event        events:write   compat; Idempotency-Key
 *   GET    /list_events      events:read    compat body, filters, streamed
 *   POST   /remove_events    events:write   (purge: events:admin)
 *   GET    /events/tags      events:read    tags with their event counts
 *   GET    /events/:id       events:read
 *   POST   /events/:id/stop  events:write   optional JSON body
 *   DELETE /events/:id       events:write
 *
 * Epochs are exact integers of microseconds (events_epoch.h); the data
 * layer is events_store.h; docs/events.md documents every choice made
 * where API.md is silent. */
#ifndef CAIRN_EVENTS_H
#define CAIRN_EVENTS_H

#include "server.h"

#define EVENTS_LIST_DEFAULT 1000
#define EVENTS_LIST_MAX 10000

/* Declares the capability's metrics; call before metrics_init. */
void events_init(void);

int events_http_add(struct ctx *c);
int events_http_list(struct ctx *c);
int events_http_remove(struct ctx *c);
int events_http_tags(struct ctx *c);
int events_http_get(struct ctx *c);
int events_http_stop(struct ctx *c);
int events_http_delete(struct ctx *c);

#endif
