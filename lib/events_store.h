/* events_store: the event timeline's data layer (tables events and
 * event_tags, sql/0004_events.sql).  Every statement of the capability is
 * here, as named queries with bound parameters.
 *
 * Functions that write do not open a transaction themselves unless they
 * say so: the HTTP layer runs them inside idem_run() or db_txn(). */
#ifndef CAIRN_EVENTS_STORE_H
#define CAIRN_EVENTS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "db.h"
#include "diag.h"
#include "events_epoch.h"
#include "timefmt.h"

#define EVENTS_FILTER_TAGS 8 /* tag= values, and any_tag= values, per list */

/* One event as read.  tags holds the tag names in the order given at
 * creation, joined by EVENTS_TAG_SEP (tags never contain control
 * characters, so the separator is unambiguous); tags_len is 0 when the
 * event has none. */
#define EVENTS_TAG_SEP '\x1f'

struct events_event {
	int64_t id;
	int64_t start_us;
	bool open;
	int64_t stop_us; /* when !open */
	char created_at[TIMEFMT_SQL_LEN + 1];
	const char *tags; /* see above; valid for the callback only (list) */
	size_t tags_len;
};

typedef int (*events_event_fn)(const struct events_event *e, void *arg);

/* The filters of GET /list_events. */
struct events_filter {
	size_t nall; /* tag=: every one (AND) */
	struct events_tag all[EVENTS_FILTER_TAGS];
	size_t nany; /* any_tag=: at least one (OR) */
	struct events_tag any[EVENTS_FILTER_TAGS];
	bool has_from, has_to;
	int64_t from_us, to_us; /* overlap: start < to AND (open OR stop >= from) */
	int open;               /* -1 all, 1 open only, 0 stopped only */
	int64_t after_id;       /* keyset: ids above this one */
	int limit;              /* rows to read (the caller asks one more than a page) */
};

/* Declares the events' group-commit kind (gcommit_kind); before the
 * pool forks. */
void events_store_init(void);
/* Inserts an event and its tags (scratch memory from a) as one
 * transaction: its own under db_autocommit, possibly shared with other
 * workers' events (gcommit), or the caller's when one is open; *id gets
 * the new id. */
int events_store_add(struct db *db, struct arena *a, const struct events_new *ev, int64_t *id,
		     struct diag *d);
/* Calls fn for the events matching f in id order, up to f->limit; fn
 * returning -1 stops early (not an error). */
int events_store_list(struct db *db, const struct events_filter *f, events_event_fn fn, void *arg,
		      struct diag *d);
/* One event; tags are copied into a.  0 found, 1 no such event, -1. */
int events_store_get(struct db *db, struct arena *a, int64_t id, struct events_event *out,
		     struct diag *d);
/* 0 deleted (its tags with it), 1 no such event, -1. */
int events_store_delete(struct db *db, int64_t id, struct diag *d);

enum events_stop_result {
	EVENTS_STOPPED,       /* stopped now, or already stopped at that time */
	EVENTS_STOP_MISSING,  /* no such event */
	EVENTS_STOP_EARLY,    /* the stop would be before the start */
	EVENTS_STOP_CONFLICT, /* already stopped at another time */
};

/* Stops an open event at stop_us, in its own transaction (a conditional
 * UPDATE, then a read that says why nothing changed).  An event already
 * stopped keeps its stop: when explicit is false, or stop_us equals it,
 * that is EVENTS_STOPPED (idempotent). *res gets the outcome. */
int events_store_stop(struct db *db, int64_t id, int64_t stop_us, bool explicit,
		      enum events_stop_result *res, struct diag *d);

/* Deletes every event whose start is one of starts[0..n) (sorted and
 * distinct); hit[i] tells whether at least one event had starts[i];
 * *deleted gets the number of events deleted.  Runs in the caller's
 * transaction (run again whole on a deadlock: hit and *deleted are reset). */
int events_store_remove_starts(struct db *db, const int64_t *starts, size_t n, bool *hit,
			       uint64_t *deleted, struct diag *d);
/* Deletes up to batch events (and their tags) in its own short
 * transaction; *deleted gets how many. */
int events_store_purge_step(struct db *db, int batch, uint64_t *deleted, struct diag *d);

/* Calls fn(tag, len, count, arg) for up to limit tags after `after` (byte
 * order; after_len 0 = from the start). */
int events_store_tags(struct db *db, const char *after, size_t after_len, int limit,
		      int (*fn)(const char *tag, size_t len, int64_t count, void *arg), void *arg,
		      struct diag *d);

#endif
