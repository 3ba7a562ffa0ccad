/* cairn-worker: the background worker.  Runs the periodic jobs that the
 * capabilities register (one run at a time per job across all hosts) until
 * SIGTERM.  Any number may run, on any number of hosts. */
#include "autoconfig.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "db.h"
#include "geo_enrich.h"
#include "job_table.h"
#include "log.h"
#include "timefmt.h"

static volatile sig_atomic_t stop, reload;
static const char *config_path;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void
on_hup(int sig)
{
	(void)sig;
	reload = 1;
}

static int
open_log(void)
{
	const char *file = config_str("log.file");

	if (log_open("cairn-worker", config_str("log.level"), file, config_bool("log.syslog")) <
	    0) {
		fprintf(stderr, "cairn-worker: cannot open log file %s: %s\n", file,
			strerror(errno));
		return -1;
	}
	return 0;
}

/* SIGHUP: re-read the file (a bad one leaves the old settings in force)
 * and reopen the log file, so logrotate can move it away.  The geo
 * settings read at start-up (its URL, rate and slots) take effect only
 * after a restart. */
static void
reload_config(void)
{
	struct diag d;

	if (config_load(config_path, &d) < 0) {
		log_error("SIGHUP: configuration not reloaded, keeping the old one: %s", d.msg);
		return;
	}
	log_reopen(config_str("log.level"), config_str("log.file"), config_bool("log.syslog"));
	log_info("SIGHUP: configuration reloaded");
}

/* The worker's view of a database problem that lasts: its first failure
 * is logged, then the same failure again only once a minute (with how
 * often it recurred) or when the failure changes, and its end once.  A
 * read-only or full server fails every tick for as long as it lasts. */
#define OUTAGE_LOG_EVERY_MS 60000

struct outage {
	int64_t since_ms;  /* timefmt_monotonic_ms() of the first failure; 0: none */
	int64_t logged_ms; /* of the last line logged */
	long unlogged;     /* failures since then */
	long failures;     /* in all */
	char msg[sizeof(((struct diag *)0)->msg)];
};

static void
outage_failed(struct outage *o, const char *msg, long backoff_ms)
{
	int64_t now = timefmt_monotonic_ms();

	o->failures++;
	if (o->since_ms == 0) {
		o->since_ms = now;
		log_warn("database problem (%s); retrying in %ld ms", msg, backoff_ms);
	} else if (strcmp(msg, o->msg) != 0 || now - o->logged_ms >= OUTAGE_LOG_EVERY_MS) {
		log_warn("database problem for %lld s (%s; %ld more failures since the last "
			 "line); retrying in %ld ms",
			 (long long)((now - o->since_ms) / 1000), msg, o->unlogged, backoff_ms);
	} else {
		o->unlogged++;
		return;
	}
	o->logged_ms = now;
	o->unlogged = 0;
	snprintf(o->msg, sizeof o->msg, "%s", msg);
}

static void
outage_over(struct outage *o)
{
	if (o->since_ms == 0)
		return;
	log_info("database problem over after %.1f s (%ld failures)",
		 (double)(timefmt_monotonic_ms() - o->since_ms) / 1e3, o->failures);
	memset(o, 0, sizeof *o);
}

int
main(int argc, char **argv)
{
	char holder[JOBS_HOLDER_MAX];
	struct sigaction sa;
	struct diag d;
	struct db *db;
	struct geo_enrich *geo;
	long backoff_ms = 0;
	struct outage outage = {0};

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config_path = argv[++i];
		} else {
			fprintf(stderr, "usage: cairn-worker [--config FILE]\n");
			return strcmp(argv[i], "--help") == 0 ? 0 : 2;
		}
	}
	if (config_load(config_path, &d) < 0) {
		fprintf(stderr, "cairn-worker: %s\n", d.msg);
		return 1;
	}
	if (open_log() < 0)
		return 1;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	jobs_holder(holder);
	db = db_new();
	log_info("cairn-worker %s starting as %s", PACKAGE_VERSION, holder);
	/* geo: the enrichment loop runs in this one thread, in the time the
	 * loop below used to sleep: geo_enrich_run() drives the provider
	 * calls (libcurl multi, curl_multi_poll with short timeouts) for the
	 * given milliseconds, then the jobs get their turn.  A job slice
	 * pauses the calls for its duration (about 50 ms at most); while a
	 * job has a backlog, the calls and the job take turns quickly. */
	geo = geo_enrich_new(holder);
	while (!stop) {
		bool more;

		if (reload) {
			reload = 0;
			reload_config();
		}
		if (jobs_tick(db, job_table, job_table_count, holder, &stop, &more, &d) < 0) {
			backoff_ms = backoff_ms ? backoff_ms * 2 : 250;
			if (backoff_ms > 5000)
				backoff_ms = 5000;
			outage_failed(&outage, d.msg, backoff_ms);
			db_disconnect(db);
			geo_enrich_run(geo, db, backoff_ms, &stop);
			continue;
		}
		backoff_ms = 0;
		outage_over(&outage);
		geo_enrich_run(geo, db,
			       more ? JOBS_BACKLOG_PAUSE_MS : (long)config_int("worker.tick_ms"),
			       &stop);
	}
	log_info("cairn-worker stopping");
	if (jobs_release(db, holder, &d) < 0)
		log_warn("could not give back the job leases (%s); they expire by themselves",
			 d.msg);
	/* SIGTERM: give back what waits, finish the calls in flight */
	geo_enrich_shutdown(geo, db);
	geo_enrich_free(geo);
	db_free(db);
	return 0;
}
