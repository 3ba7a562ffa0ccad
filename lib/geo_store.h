/* geo_store: the data layer of geolocated event intake (API.md §4).
 *
 * Every statement on geo_tasks, geo_cache, geo_budget and geo_stats lives
 * here.  The HTTP side inserts, fetches and lists tasks; the enrichment
 * loop (geo_enrich) claims, completes and releases them and takes permits
 * from the shared budget.  Each worker-side operation is one short
 * transaction: none is ever held open across a call to the provider.
 *
 * Claims: a task is due when it is queued, its next_attempt_at has come and
 * it holds no live lease.  geo_store_claim() finds due tasks with a plain
 * read, then locks them by id with FOR UPDATE SKIP LOCKED (concurrent
 * workers never wait for each other and never get the same task, and
 * submissions never wait for a claim while no one deletes tasks) and, in
 * the same transaction, resolves the ones that need no call (reserved
 * addresses -> skipped, a live cache entry -> done or failed) and leases
 * the others to the caller: the lease is (holder, token, lease_until), and
 * every later write checks holder and token, so a worker whose lease was
 * taken over can no longer write.
 *
 * One call per address: the claim also takes the address's geo_cache row
 * as 'pending' for the task.  Another task with the same address that
 * comes due meanwhile is deferred until that row's answer (the completion
 * wakes it) instead of calling again. */
#ifndef CAIRN_GEO_STORE_H
#define CAIRN_GEO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "db.h"
#include "diag.h"
#include "geo_parse.h"
#include "timefmt.h"

/* ------------------------------------------------------------ HTTP side */

/* Declares the grouped task insert (gcommit); the FastCGI program calls
 * it before its pool forks. */
void geo_store_init(void);

/* Inserts a queued task: inside the caller's transaction, or else
 * committed by itself, together with other workers' tasks when they come
 * at once (gcommit).  ip may be NULL when the request had no usable
 * source address. */
int geo_store_insert(struct db *db, const unsigned char task_id[GEO_UUID_BYTES],
		     const struct geo_submit *s, const struct geo_ip *ip, struct diag *d);

/* A task as stored; the strings are borrowed from the current row and
 * valid only inside the callback.  NULL strings are SQL NULL. */
struct geo_task {
	int64_t id;
	unsigned char task_id[GEO_UUID_BYTES];
	const char *name;
	size_t name_len;
	const char *status_code; /* decimal text */
	bool has_ip;
	struct geo_ip ip;
	const char *state;
	int64_t attempts;
	const char *error;
	const char *country_code, *country_name, *city, *time_zone;
	const char *latitude, *longitude;       /* decimal text */
	const char *accuracy_radius;            /* decimal text */
	const char *submitted_at, *resolved_at; /* "YYYY-MM-DD HH:MM:SS.ffffff" */
};

typedef int (*geo_task_fn)(const struct geo_task *t, void *arg);

/* 0 found (fn called once), 1 unknown, -1 error. */
int geo_store_get(struct db *db, const unsigned char task_id[GEO_UUID_BYTES], geo_task_fn fn,
		  void *arg, struct diag *d);

struct geo_filter {
	const char *state;   /* NULL: any */
	const char *country; /* NULL: any */
	size_t country_len;
	bool has_status;
	int64_t status_code;
	bool has_from, has_to;
	char from[TIMEFMT_SQL_LEN + 1], to[TIMEFMT_SQL_LEN + 1];
};

/* Calls fn for up to limit tasks with id > after_id matching f, in id
 * order; fn returning -1 stops early (not an error). */
int geo_store_list(struct db *db, const struct geo_filter *f, int64_t after_id, int limit,
		   geo_task_fn fn, void *arg, struct diag *d);

/* ---------------------------------------------------------- worker side */

/* A leased task that needs a call to the provider. */
struct geo_claimed {
	int64_t id;
	struct geo_ip ip;
	unsigned attempts; /* calls made before this one */
};

struct geo_claim_result {
	size_t ncalls; /* entries of calls[] filled */
	unsigned selected, skipped, cached, deferred;
};

#define GEO_CLAIM_MAX 64 /* the largest batch of one claim */

/* One claim: up to `batch` (at most GEO_CLAIM_MAX) due tasks, in one transaction, or
 * one plain read when none is due; tasks that need a call
 * are leased (holder, token, lease_seconds) into calls[] while fewer than
 * max_calls are there; beyond that they stay due, untouched — unless
 * defer_us > 0 (the breaker is open), when they are put off by defer_us
 * without a lease. */
int geo_store_claim(struct db *db, const char *holder, int64_t token, unsigned lease_seconds,
		    unsigned batch, struct geo_claimed *calls, size_t max_calls, int64_t defer_us,
		    struct geo_claim_result *r, struct diag *d);

enum geo_outcome {
	GEO_OUT_OK,           /* 200 with a usable body */
	GEO_OUT_BAD_ADDRESS,  /* 400: terminal */
	GEO_OUT_NOT_FOUND,    /* 404: terminal */
	GEO_OUT_RATE_LIMITED, /* 429: retry after the provider's delay */
	GEO_OUT_SERVER_ERROR, /* 5xx or an unexpected status: retry */
	GEO_OUT_BAD_RESPONSE, /* 200 whose body is not JSON: retry */
	GEO_OUT_TIMEOUT,      /* geo.timeout passed: retry */
	GEO_OUT_CONNECT,      /* refused, reset, DNS ...: retry */
	GEO_OUT_COUNT
};

/* The metric label of an outcome ("ok", "bad_address", ...). */
const char *geo_outcome_name(enum geo_outcome o);
bool geo_outcome_retryable(enum geo_outcome o);

struct geo_result {
	enum geo_outcome outcome;
	struct geo_info info; /* GEO_OUT_OK */
	char error[200];      /* the reason, for last_error */
	int64_t retry_us;     /* when to try again (retryable outcomes) */
	bool give_up;         /* retryable, but geo.max_attempts is reached */
};

/* Records a call's result for a task leased by (holder, token): the task's
 * state, the address's cache entry, the waiting tasks of the same address
 * and the counters, in one transaction.  0 written; 1 the lease was lost
 * (nothing written); -1 error. */
int geo_store_complete(struct db *db, const struct geo_claimed *t, const char *holder,
		       int64_t token, const struct geo_result *res, struct diag *d);

/* Gives a leased task back without a call: due again after delay_us, its
 * address free for another task. */
int geo_store_release(struct db *db, const struct geo_claimed *t, const char *holder, int64_t token,
		      int64_t delay_us, struct diag *d);

enum geo_breaker { GEO_BREAKER_CLOSED, GEO_BREAKER_OPEN, GEO_BREAKER_HALF_OPEN };

struct geo_permit {
	bool granted;
	bool probe;         /* granted as the half-open probe */
	int64_t send_in_us; /* granted: send the call this much later */
	int64_t wait_us;    /* refused: try again after this long */
	enum geo_breaker breaker;
	/* timefmt_monotonic_us() just before and just after the statement that
	 * read the budget: its NOW(6) lies between them, so the slot ends
	 * between before + send_in_us and after + send_in_us locally */
	uint64_t mono_before_us, mono_after_us;
};

/* Asks the shared budget for one permit (GCRA on geo_budget with the
 * database clock): interval_us apart, granted up to interval_us before
 * its slot, so the call is sent when the slot ends (send_in_us).  While
 * the breaker is open no permit is granted; after open_until one caller
 * gets a probe permit and the breaker turns half-open.  Counts the
 * request as permits_granted or permits_waited. */
int geo_store_permit(struct db *db, int64_t interval_us, unsigned probe_seconds,
		     struct geo_permit *p, struct diag *d);
/* A 429: no permit slot before delay_us from now. */
int geo_store_budget_defer(struct db *db, int64_t delay_us, struct diag *d);
/* The breaker hears how a call went: a failure opens it after `threshold`
 * consecutive ones (or at once while half-open) for cooldown seconds; a
 * success closes it. */
int geo_store_breaker_report(struct db *db, bool success, unsigned threshold, unsigned cooldown,
			     struct diag *d);

/* ------------------------------------------------------------ operators */

/* One transaction: forgets up to 1000 cached failures (so the provider is
 * asked again) and puts up to 500 failed tasks back in the queue
 * (attempts 0, due now).  cairnctl loops until both counts are 0. */
int geo_store_requeue_step(struct db *db, uint64_t *tasks, uint64_t *forgotten, struct diag *d);
/* The background job: deletes expired cache rows, 1000 at a time. */
int geo_store_cache_expire_step(struct db *db, bool first, int *more, struct diag *d);
/* Appends the worker-side metrics (queue, counters, breaker) to out. */
int geo_store_metrics(struct db *db, struct buf *out, struct diag *d);

#endif
