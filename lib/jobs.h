/* jobs: periodic background jobs, one run at a time across all hosts.
 *
 * A job is a name, an interval and a step that does one bounded batch and
 * says whether more is left.  Before running, a worker takes the job's
 * lease row in job_leases (a plain UPDATE with the database clock, not
 * GET_LOCK, which Galera lacks); the lease is renewed between steps and
 * released with the next due time when the run ends.  Each run is logged
 * and counted in its row (runs, last_run_at, last_error). */
#ifndef CAIRN_JOBS_H
#define CAIRN_JOBS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"
#include "diag.h"

struct job {
	const char *name;
	unsigned interval_seconds;
	/* One bounded batch; sets *more when there is more to do now.  first:
	 * the run's first step, where a step that keeps a cursor between
	 * steps (in its process) starts it over, since the run before may
	 * have been cut off or been another worker's. */
	int (*step)(struct db *db, bool first, int *more, struct diag *d);
};

/* Runs one slice (about 50 ms of steps) of every due job.  The worker
 * remembers when each job may next be due and asks the database only
 * then, so an idle worker costs a few statements a second.  A run with
 * work left at the end of its slice keeps the job's lease and sets
 * *more_left: call again soon, and the run goes on.  Returns the number
 * of jobs that ran, or -1 if the database failed. */
/* How long the worker drives its geo calls between two slices of a job
 * with work left: the job gets about half the time. */
#define JOBS_BACKLOG_PAUSE_MS 50

int jobs_tick(struct db *db, const struct job *jobs, size_t n, const char *holder,
	      volatile sig_atomic_t *stop, bool *more_left, struct diag *d);

/* This process's name in a lease row (jobs, geo claims, migrate):
 * "host:pid:nonce", the nonce 8 random hex digits so that no two processes
 * share a name; at most JOBS_HOLDER_MAX - 1 bytes. */
#define JOBS_HOLDER_MAX 128
void jobs_holder(char holder[JOBS_HOLDER_MAX]);

/* Runs a whole run of job now, in this process, due or not (cairnctl job
 * run): takes its lease, waiting up to wait_ms while another process
 * holds it, runs its steps to the end (or until *stop), and releases it, due
 * again after its interval, counted in its row as a worker's run is.
 * *steps and *ms get the run's steps and time.  Returns 0 when the run
 * ended well; 2 when *stop ended it with work left (the job is due at
 * once); 1 when another process still held the lease (d says which); -1
 * when the run failed or the database did (d says why). */
int jobs_run_now(struct db *db, const struct job *job, const char *holder, int64_t wait_ms,
		 volatile sig_atomic_t *stop, int *steps, double *ms, struct diag *d);

/* A job's row in job_leases: "" for NULL; exists false (and all empty)
 * when the job has no row yet (it has never been looked at). */
struct job_row {
	bool exists;
	char holder[JOBS_HOLDER_MAX];
	char lease_until[32], next_run_at[32], last_run_at[32]; /* database time */
	long long runs, failures;
	char last_error[256];
};

int jobs_read(struct db *db, const struct job *job, struct job_row *row, struct diag *d);

/* At shutdown: gives back the leases of runs still going, due again at
 * once, so another worker need not wait for them to expire. */
int jobs_release(struct db *db, const char *holder, struct diag *d);

#endif
