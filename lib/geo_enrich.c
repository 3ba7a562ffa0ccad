#include "autoconfig.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "buf.h"
#include "config.h"
#include "geo_enrich.h"
#include "geo_parse.h"
#include "geo_store.h"
#include "log.h"
#include "mem.h"
#include "timefmt.h"

#define GEO_BODY_MAX (64u << 10) /* a provider answer larger than this is bad */
#define GEO_CLAIM_BATCH GEO_CLAIM_MAX
#define GEO_IDLE_POLL_US 200000  /* between claims when the queue had nothing due */
#define GEO_FULL_POLL_US 1000000 /* between claims while every waiting slot is taken */
#define GEO_DB_BACKOFF_MIN_MS 250
#define GEO_DB_BACKOFF_MAX_MS 5000

enum slot_state {
	SLOT_FREE,
	SLOT_WAITING,   /* leased, waits for a permit */
	SLOT_SCHEDULED, /* has a permit, the call goes out at send_at */
	SLOT_INFLIGHT,  /* the call is running */
	SLOT_DONE,      /* the result waits to be recorded */
};

struct slot {
	enum slot_state state;
	struct geo_claimed task;
	int64_t token;
	uint64_t lease_end; /* local monotonic us; conservative */
	uint64_t send_at,
		earliest; /* SCHEDULED: send time, and the slot end's earliest local time */
	uint64_t claimed_at;
	unsigned record_failures; /* DONE: failed attempts to record the result */
	bool probe;
	CURL *easy;
	struct buf body;
	char retry_after[32];
	char errbuf[CURL_ERROR_SIZE];
	struct geo_result res;
};

struct geo_enrich {
	char holder[128];
	CURLM *multi;
	struct slot *slots;
	size_t nslots;
	/* settings */
	char *url;
	long rate, timeout, max_attempts, lease, breaker_failures, breaker_cooldown;
	int64_t interval_us, tolerance_us, backoff_base_ms, backoff_max_ms;
	size_t max_inflight, max_waiting;
	/* timers (monotonic us) */
	uint64_t next_claim, next_permit, db_retry_at;
	long db_backoff_ms;
	/* the last permit answer said the breaker is open until about
	 * breaker_until (local time); after that, tasks are leased again and
	 * the next permit request tells the new state */
	bool breaker_open;
	uint64_t breaker_until;
	bool probe_out; /* our probe call is in flight */
	/* the last call could not reach the provider; the first of such a
	 * run is logged with curl's detail, and so is the next answer */
	bool unreachable;
	uint64_t rng;
	unsigned long late_permits;
};

/* -------------------------------------------------------------- helpers */

static uint64_t
rng_next(struct geo_enrich *g)
{
	/* xorshift64*: jitter only, not security */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 2685821657736338717ull;
}

static int64_t
random_token(struct geo_enrich *g)
{
	int64_t t;

	if (getrandom(&t, sizeof t, 0) != (ssize_t)sizeof t)
		t = (int64_t)rng_next(g);
	t &= INT64_MAX;
	return t ? t : 1;
}

static size_t
count(const struct geo_enrich *g, enum slot_state s)
{
	size_t n = 0;

	for (size_t i = 0; i < g->nslots; i++)
		n += g->slots[i].state == s;
	return n;
}

static struct slot *
free_slot(struct geo_enrich *g)
{
	for (size_t i = 0; i < g->nslots; i++)
		if (g->slots[i].state == SLOT_FREE)
			return &g->slots[i];
	return NULL;
}

static void
slot_reset(struct geo_enrich *g, struct slot *s)
{
	if (s->easy != NULL) {
		curl_multi_remove_handle(g->multi, s->easy);
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
	}
	buf_reset(&s->body);
	s->state = SLOT_FREE;
	s->probe = false;
}

/* A database operation failed: wait before the next one. */
static void
db_failed(struct geo_enrich *g, struct db *db, const char *what, const struct diag *d)
{
	g->db_backoff_ms = g->db_backoff_ms ? g->db_backoff_ms * 2 : GEO_DB_BACKOFF_MIN_MS;
	if (g->db_backoff_ms > GEO_DB_BACKOFF_MAX_MS)
		g->db_backoff_ms = GEO_DB_BACKOFF_MAX_MS;
	g->db_retry_at = timefmt_monotonic_us() + (uint64_t)g->db_backoff_ms * 1000u;
	log_warn("geo: %s failed (%s); retrying in %ld ms", what, d->msg, g->db_backoff_ms);
	if (db_error_unavailable(d))
		db_disconnect(db);
}

static void
db_ok(struct geo_enrich *g)
{
	g->db_backoff_ms = 0;
}

/* ------------------------------------------------------------ settings */

/* url as a log line shows it: a user and password in it become "***". */
static void
url_for_log(const char *url, char *out, size_t size)
{
	const char *host = strstr(url, "://");
	const char *at;

	host = host != NULL ? host + 3 : url;
	at = strchr(host, '@');
	if (at != NULL && at < host + strcspn(host, "/?#"))
		snprintf(out, size, "%.*s***%s", (int)(host - url), url, at);
	else
		snprintf(out, size, "%s", url);
}

struct geo_enrich *
geo_enrich_new(const char *holder)
{
	struct geo_enrich *g;
	char shown[512];
	long margin;

	if (!config_bool("geo.enabled") || config_str("geo.url")[0] == '\0') {
		log_info("geo: enrichment disabled (geo.enabled is false or geo.url is empty)");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_error("geo: curl_global_init failed; enrichment disabled");
		return NULL;
	}
	g = mem_calloc(1, sizeof *g);
	snprintf(g->holder, sizeof g->holder, "%s", holder);
	g->multi = curl_multi_init();
	if (g->multi == NULL) {
		log_error("geo: curl_multi_init failed; enrichment disabled");
		mem_free(g);
		curl_global_cleanup();
		return NULL;
	}
	g->url = mem_strdup(config_str("geo.url"));
	while (g->url[0] && g->url[strlen(g->url) - 1] == '/')
		g->url[strlen(g->url) - 1] = '\0';
	g->rate = (long)config_int("geo.rate");
	g->timeout = (long)config_int("geo.timeout");
	g->max_attempts = (long)config_int("geo.max_attempts");
	g->breaker_failures = (long)config_int("geo.breaker_failures");
	g->breaker_cooldown = (long)config_int("geo.breaker_cooldown");
	g->backoff_base_ms = config_int("geo.backoff_base_ms");
	g->backoff_max_ms = config_int("geo.backoff_max") * 1000;
	margin = (long)config_int("geo.rate_margin_pct");
	/* permits are 1/rate x (1 + margin) apart: rate calls span (1 + margin)
	 * seconds, so a call may land up to margin x 1 s late (half of it
	 * for our side, half for the network and the provider's clock)
	 * before rate + 1 calls could fall in one second */
	g->interval_us = (int64_t)(1000000 * (100 + margin) / (100 * g->rate));
	g->tolerance_us = (int64_t)margin * 1000000 / 100 / 2;
	if (g->tolerance_us < 2000)
		g->tolerance_us = 2000;
	/* a lease must outlive a call: a permit's wait, the call, the result */
	g->lease = (long)config_int("geo.lease_seconds");
	if (g->lease < g->timeout + 5) {
		log_warn("geo: geo.lease_seconds %ld is shorter than geo.timeout + 5; using %ld",
			 g->lease, g->timeout + 5);
		g->lease = g->timeout + 5;
	}
	g->max_inflight = (size_t)(g->rate * g->timeout);
	if (g->max_inflight > 2000)
		g->max_inflight = 2000;
	g->max_waiting = (size_t)(2 * g->rate);
	if (g->max_waiting < 2)
		g->max_waiting = 2;
	g->nslots = g->max_inflight + g->max_waiting + 2;
	g->slots = mem_calloc(g->nslots, sizeof *g->slots);
	for (size_t i = 0; i < g->nslots; i++)
		buf_init(&g->slots[i].body, GEO_BODY_MAX);
	if (getrandom(&g->rng, sizeof g->rng, 0) != (ssize_t)sizeof g->rng || g->rng == 0)
		g->rng = timefmt_monotonic_us() | 1;
	url_for_log(g->url, shown, sizeof shown);
	log_info("geo: enrichment on: %s, %ld calls/s (one per %lld us), timeout %ld s, "
		 "up to %zu in flight, lease %ld s",
		 shown, g->rate, (long long)g->interval_us, g->timeout, g->max_inflight, g->lease);
	return g;
}

void
geo_enrich_free(struct geo_enrich *g)
{
	if (g == NULL)
		return;
	for (size_t i = 0; i < g->nslots; i++) {
		slot_reset(g, &g->slots[i]);
		buf_free(&g->slots[i].body);
	}
	mem_free(g->slots);
	curl_multi_cleanup(g->multi);
	mem_free(g->url);
	mem_free(g);
	curl_global_cleanup();
}

/* ---------------------------------------------------------------- calls */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct slot *s = arg;

	if (buf_append(&s->body, p, size * n) < 0)
		return 0; /* too large: the transfer fails with CURLE_WRITE_ERROR */
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct slot *s = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";

	if (len > sizeof name - 1 && strncasecmp(p, name, sizeof name - 1) == 0) {
		size_t vlen = len - (sizeof name - 1);

		if (vlen >= sizeof s->retry_after)
			vlen = sizeof s->retry_after - 1;
		memcpy(s->retry_after, p + sizeof name - 1, vlen);
		s->retry_after[vlen] = '\0';
	}
	return len;
}

/* Starts the call for slot s. -1 when curl refused (the task is released). */
static int
start_call(struct geo_enrich *g, struct slot *s)
{
	char ip[GEO_IP_TEXT_MAX], url[1024];

	geo_ip_format(&s->task.ip, ip);
	snprintf(url, sizeof url, "%s/info?ip=%s", g->url, ip);
	buf_reset(&s->body);
	s->retry_after[0] = '\0';
	s->errbuf[0] = '\0';
	s->easy = curl_easy_init();
	if (s->easy == NULL)
		return -1;
	curl_easy_setopt(s->easy, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(s->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
	curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(s->easy, CURLOPT_TIMEOUT_MS, g->timeout * 1000L);
	curl_easy_setopt(s->easy, CURLOPT_CONNECTTIMEOUT_MS, g->timeout * 1000L);
	curl_easy_setopt(s->easy, CURLOPT_USERAGENT, "cairn-worker/" PACKAGE_VERSION);
	curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(s->easy, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(s->easy, CURLOPT_ERRORBUFFER, s->errbuf);
	curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
	if (curl_multi_add_handle(g->multi, s->easy) != CURLM_OK) {
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
		return -1;
	}
	s->state = SLOT_INFLIGHT;
	return 0;
}

/* Turns a finished transfer into a result. */
static void
classify(struct geo_enrich *g, struct slot *s, CURLcode cc)
{
	struct geo_result *r = &s->res;
	long status = 0;
	unsigned attempt = s->task.attempts + 1;

	memset(r, 0, sizeof *r);
	if (cc == CURLE_OK) {
		char err[160];

		curl_easy_getinfo(s->easy, CURLINFO_RESPONSE_CODE, &status);
		if (status == 200) {
			if (geo_info_parse(s->body.data, s->body.len, &r->info, err, sizeof err) ==
			    0) {
				r->outcome = GEO_OUT_OK;
			} else {
				r->outcome = GEO_OUT_BAD_RESPONSE;
				snprintf(r->error, sizeof r->error,
					 "bad answer from the provider: %s", err);
			}
		} else if (status == 400) {
			r->outcome = GEO_OUT_BAD_ADDRESS;
			snprintf(r->error, sizeof r->error,
				 "the provider rejected the address (400)");
		} else if (status == 404) {
			r->outcome = GEO_OUT_NOT_FOUND;
			snprintf(r->error, sizeof r->error,
				 "the provider has no data for the address (404)");
		} else if (status == 429) {
			r->outcome = GEO_OUT_RATE_LIMITED;
			snprintf(r->error, sizeof r->error, "rate limited by the provider (429)");
		} else {
			r->outcome = GEO_OUT_SERVER_ERROR;
			snprintf(r->error, sizeof r->error, "the provider answered HTTP %ld",
				 status);
		}
	} else if (cc == CURLE_OPERATION_TIMEDOUT) {
		r->outcome = GEO_OUT_TIMEOUT;
		snprintf(r->error, sizeof r->error, "no answer from the provider within %ld s",
			 g->timeout);
	} else if (cc == CURLE_WRITE_ERROR) {
		r->outcome = GEO_OUT_BAD_RESPONSE;
		snprintf(r->error, sizeof r->error, "the provider's answer is larger than %u bytes",
			 GEO_BODY_MAX);
	} else {
		/* the task shows curl's fixed text for the code; its buffer,
		 * which may name the provider's host and port, goes to the log */
		r->outcome = GEO_OUT_CONNECT;
		snprintf(r->error, sizeof r->error, "cannot reach the provider (%s)",
			 curl_easy_strerror(cc));
		if (!g->unreachable)
			log_warn("geo: cannot reach the provider: %s",
				 s->errbuf[0] ? s->errbuf : curl_easy_strerror(cc));
		g->unreachable = true;
	}
	if (cc == CURLE_OK && g->unreachable) {
		log_info("geo: the provider answers again");
		g->unreachable = false;
	}
	if (!geo_outcome_retryable(r->outcome))
		return;
	if (r->outcome == GEO_OUT_RATE_LIMITED) {
		int64_t ms = geo_retry_delay_ms(s->body.data, s->body.len,
						s->retry_after[0] ? s->retry_after : NULL, 1000);

		/* the provider's own delay, plus up to 10% so waiting tasks
		 * do not all come back at once */
		r->retry_us = ms * 1000 + (int64_t)(rng_next(g) % (uint64_t)(ms * 100 + 1));
	} else {
		r->retry_us = geo_backoff_ms(attempt, g->backoff_base_ms, g->backoff_max_ms,
					     rng_next(g)) *
			      1000;
	}
	if ((long)attempt >= g->max_attempts) {
		char last[sizeof r->error];

		r->give_up = true;
		snprintf(last, sizeof last, "%s", r->error);
		snprintf(r->error, sizeof r->error, "gave up after %u attempts: %.150s", attempt,
			 last);
	}
}

static void
collect_finished(struct geo_enrich *g)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(g->multi, &left)) != NULL) {
		struct slot *s = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
		if (s == NULL || s->easy != m->easy_handle)
			continue;
		classify(g, s, m->data.result);
		curl_multi_remove_handle(g->multi, s->easy);
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
		s->state = SLOT_DONE;
	}
}

static void
drive(struct geo_enrich *g)
{
	int running;

	curl_multi_perform(g->multi, &running);
	collect_finished(g);
}

static void release(struct geo_enrich *g, struct db *db, struct slot *s, int64_t delay_us);

/* Records finished calls. */
static void
record(struct geo_enrich *g, struct db *db)
{
	for (size_t i = 0; i < g->nslots; i++) {
		struct slot *s = &g->slots[i];
		struct diag d;
		int rc;

		if (s->state != SLOT_DONE || timefmt_monotonic_us() < g->db_retry_at)
			continue;
		rc = geo_store_complete(db, &s->task, g->holder, s->token, &s->res, &d);
		if (rc < 0 && !db_error_unavailable(&d) && ++s->record_failures >= 3) {
			/* not the connection: the same write would fail forever */
			log_error("geo: cannot record task %lld (%s); giving it back",
				  (long long)s->task.id, d.msg);
			release(g, db, s, 60000000);
			continue;
		}
		if (rc < 0) {
			db_failed(g, db, "recording a call", &d);
			return;
		}
		if (rc == 1)
			log_warn("geo: task %lld was taken over by another worker; dropping this "
				 "worker's answer",
				 (long long)s->task.id);
		if (log_enabled(LOG_LEVEL_DEBUG))
			log_debug("geo: task %lld: %s%s", (long long)s->task.id,
				  geo_outcome_name(s->res.outcome),
				  s->res.give_up ? " (gave up)" : "");
		/* the breaker and the budget hear about it outside the task's
		 * transaction: both rows are shared by every worker */
		bool failure = s->res.outcome == GEO_OUT_SERVER_ERROR ||
			       s->res.outcome == GEO_OUT_BAD_RESPONSE ||
			       s->res.outcome == GEO_OUT_TIMEOUT ||
			       s->res.outcome == GEO_OUT_CONNECT;

		if (geo_store_breaker_report(db, !failure, (unsigned)g->breaker_failures,
					     (unsigned)g->breaker_cooldown, &d) < 0)
			log_warn("geo: updating the breaker failed: %s", d.msg);
		if (s->res.outcome == GEO_OUT_RATE_LIMITED &&
		    geo_store_budget_defer(db, s->res.retry_us, &d) < 0)
			log_warn("geo: deferring the budget after a 429 failed: %s", d.msg);
		if (s->probe) {
			g->probe_out = false;
			g->next_permit = 0;
		}
		db_ok(g);
		slot_reset(g, s);
	}
}

/* Gives slot s's task back to the queue. */
static void
release(struct geo_enrich *g, struct db *db, struct slot *s, int64_t delay_us)
{
	struct diag d;

	if (geo_store_release(db, &s->task, g->holder, s->token, delay_us, &d) < 0)
		log_warn("geo: releasing task %lld failed (%s); its lease will expire",
			 (long long)s->task.id, d.msg);
	if (s->probe)
		g->probe_out = false;
	slot_reset(g, s);
}

/* Sends the calls whose slot has come; drops late ones. */
static void
send_due(struct geo_enrich *g, struct db *db)
{
	uint64_t now = timefmt_monotonic_us();
	bool sent = false;

	for (size_t i = 0; i < g->nslots; i++) {
		struct slot *s = &g->slots[i];

		if (s->state != SLOT_SCHEDULED || s->send_at > now)
			continue;
		if (now > s->earliest + (uint64_t)g->tolerance_us) {
			/* too late: sending now could crowd the next calls; the task
			 * waits for another permit */
			g->late_permits++;
			log_info("geo: a permit came %lld us late; not used (%lu so far)",
				 (long long)(now - s->earliest), g->late_permits);
			s->state = SLOT_WAITING;
			if (s->probe) {
				g->probe_out = false;
				s->probe = false;
			}
			continue;
		}
		if (s->lease_end < now + (uint64_t)(g->timeout + 1) * 1000000u ||
		    start_call(g, s) < 0) {
			release(g, db, s, 0);
			continue;
		}
		sent = true;
	}
	if (sent)
		drive(g);
}

/* Releases waiting tasks whose lease could not cover a permit's wait and a call. */
static void
check_leases(struct geo_enrich *g, struct db *db)
{
	uint64_t now = timefmt_monotonic_us();
	uint64_t need = (uint64_t)(g->timeout + 2) * 1000000u + 2u * (uint64_t)g->interval_us;

	for (size_t i = 0; i < g->nslots; i++) {
		struct slot *s = &g->slots[i];

		if (s->state == SLOT_WAITING && s->lease_end < now + need)
			release(g, db, s, 0);
	}
}

static struct slot *
oldest_waiting(struct geo_enrich *g)
{
	struct slot *best = NULL;

	for (size_t i = 0; i < g->nslots; i++) {
		struct slot *s = &g->slots[i];

		if (s->state == SLOT_WAITING && (best == NULL || s->claimed_at < best->claimed_at))
			best = s;
	}
	return best;
}

static void
take_permits(struct geo_enrich *g, struct db *db)
{
	/* at most two permits per pass: a permit is granted at most one
	 * interval ahead of its slot, so more would only be refused */
	for (int n = 0; n < 2; n++) {
		uint64_t now = timefmt_monotonic_us();
		struct slot *s = oldest_waiting(g);
		struct geo_permit p;
		struct diag d;

		if (s == NULL || now < g->next_permit || now < g->db_retry_at || g->probe_out)
			return;
		if (count(g, SLOT_SCHEDULED) + count(g, SLOT_INFLIGHT) >= g->max_inflight)
			return;
		if (geo_store_permit(db, g->interval_us, (unsigned)g->timeout + 2, &p, &d) < 0) {
			db_failed(g, db, "asking for a permit", &d);
			return;
		}
		db_ok(g);
		g->breaker_open = p.breaker == GEO_BREAKER_OPEN;
		if (g->breaker_open)
			g->breaker_until = timefmt_monotonic_us() + (uint64_t)p.wait_us;
		if (!p.granted) {
			int64_t wait = p.wait_us > 1000000 ? 1000000 : p.wait_us;

			g->next_permit = timefmt_monotonic_us() + (uint64_t)wait;
			return;
		}
		s->state = SLOT_SCHEDULED;
		s->probe = p.probe;
		s->earliest = p.mono_before_us + (uint64_t)p.send_in_us;
		s->send_at = p.mono_after_us + (uint64_t)p.send_in_us;
		/* the next permit can be granted once this one's slot begins */
		g->next_permit = s->send_at - (uint64_t)g->interval_us;
		if (p.probe) {
			g->probe_out = true;
			log_info("geo: the breaker lets one probe call through");
			return;
		}
	}
}

static void
claim(struct geo_enrich *g, struct db *db)
{
	uint64_t now = timefmt_monotonic_us();
	size_t waiting = count(g, SLOT_WAITING), room = 0, nfree = count(g, SLOT_FREE);
	struct geo_claimed calls[GEO_CLAIM_BATCH];
	struct geo_claim_result r;
	int64_t token, defer = 0;
	struct diag d;

	if (now < g->next_claim || now < g->db_retry_at)
		return;
	if (waiting < g->max_waiting)
		room = g->max_waiting - waiting;
	if (room > nfree)
		room = nfree;
	if (room > GEO_CLAIM_BATCH)
		room = GEO_CLAIM_BATCH;
	if (g->breaker_open && now < g->breaker_until) {
		/* no calls while the breaker is open: tasks that need one wait
		 * for the cool-down; skipped and cached ones still resolve */
		room = 0;
		defer = (int64_t)(g->breaker_until - now);
		if (defer < 1000000)
			defer = 1000000;
	}
	token = random_token(g);
	if (geo_store_claim(db, g->holder, token, (unsigned)g->lease, GEO_CLAIM_BATCH, calls, room,
			    defer, &r, &d) < 0) {
		db_failed(g, db, "claiming tasks", &d);
		return;
	}
	db_ok(g);
	for (size_t i = 0; i < r.ncalls; i++) {
		struct slot *s = free_slot(g);

		if (s == NULL)
			break; /* cannot happen: room <= free slots */
		memset(&s->res, 0, sizeof s->res);
		s->record_failures = 0;
		s->task = calls[i];
		s->token = token;
		s->claimed_at = now;
		s->lease_end = now + (uint64_t)g->lease * 1000000u;
		s->state = SLOT_WAITING;
		s->probe = false;
	}
	if (r.selected > 0 && log_enabled(LOG_LEVEL_DEBUG))
		log_debug("geo: claimed %u: %zu to call, %u skipped, %u cached, %u deferred",
			  r.selected, r.ncalls, r.skipped, r.cached, r.deferred);
	if (r.selected >= GEO_CLAIM_BATCH && r.ncalls < room)
		g->next_claim = now; /* more is due: claim again on the next pass */
	else if (room == 0 && defer == 0)
		g->next_claim = now + GEO_FULL_POLL_US;
	else
		g->next_claim = now + GEO_IDLE_POLL_US;
}

/* The next time something is due, at most `until`. */
static uint64_t
next_event(struct geo_enrich *g, uint64_t until)
{
	uint64_t t = until;
	/* with every call slot busy, only a finished call (a socket event
	 * that wakes the poll) makes room for another permit */
	bool can_permit = !g->probe_out &&
			  count(g, SLOT_SCHEDULED) + count(g, SLOT_INFLIGHT) < g->max_inflight;

	for (size_t i = 0; i < g->nslots; i++) {
		const struct slot *s = &g->slots[i];

		if (s->state == SLOT_SCHEDULED && s->send_at < t)
			t = s->send_at;
		if (s->state == SLOT_DONE && g->db_retry_at < t)
			t = g->db_retry_at;
		if (s->state == SLOT_WAITING && can_permit && g->next_permit < t)
			t = g->next_permit > g->db_retry_at ? g->next_permit : g->db_retry_at;
	}
	if (g->next_claim < t)
		t = g->next_claim > g->db_retry_at ? g->next_claim : g->db_retry_at;
	return t;
}

static void
sleep_until(struct geo_enrich *g, uint64_t t)
{
	uint64_t now = timefmt_monotonic_us();

	if (t <= now)
		return;
	/* round up: waking a little late is safe for sends (the tolerance
	 * absorbs it), waking early only costs a pass */
	int ms = (int)((t - now + 999) / 1000);

	curl_multi_poll(g->multi, NULL, 0, ms, NULL);
}

void
geo_enrich_run(struct geo_enrich *g, struct db *db, long ms, volatile sig_atomic_t *stop)
{
	uint64_t end = timefmt_monotonic_us() + (uint64_t)ms * 1000u;

	if (g == NULL) {
		timefmt_sleep_ms(ms);
		return;
	}
	while (!*stop) {
		drive(g);
		record(g, db);
		send_due(g, db);
		check_leases(g, db);
		take_permits(g, db);
		send_due(g, db);
		claim(g, db);
		if (*stop || timefmt_monotonic_us() >= end)
			break;
		sleep_until(g, next_event(g, end));
	}
}

void
geo_enrich_shutdown(struct geo_enrich *g, struct db *db)
{
	uint64_t deadline;

	if (g == NULL)
		return;
	/* nothing new: waiting and scheduled tasks go back at once */
	for (size_t i = 0; i < g->nslots; i++) {
		struct slot *s = &g->slots[i];

		if (s->state == SLOT_WAITING || s->state == SLOT_SCHEDULED)
			release(g, db, s, 0);
	}
	deadline = timefmt_monotonic_us() + (uint64_t)(g->timeout + 2) * 1000000u;
	log_info("geo: stopping: %zu calls in flight, %zu results to record",
		 count(g, SLOT_INFLIGHT), count(g, SLOT_DONE));
	while (timefmt_monotonic_us() < deadline &&
	       (count(g, SLOT_INFLIGHT) > 0 || count(g, SLOT_DONE) > 0)) {
		drive(g);
		g->db_retry_at = 0;
		record(g, db);
		if (count(g, SLOT_INFLIGHT) > 0)
			curl_multi_poll(g->multi, NULL, 0, 100, NULL);
		else if (count(g, SLOT_DONE) > 0)
			timefmt_sleep_ms(250);
	}
	for (size_t i = 0; i < g->nslots; i++) {
		struct slot *s = &g->slots[i];

		if (s->state == SLOT_INFLIGHT || s->state == SLOT_DONE)
			release(g, db, s, 0);
		else if (s->state != SLOT_FREE)
			slot_reset(g, s);
	}
}
