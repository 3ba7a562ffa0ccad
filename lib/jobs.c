#include "autoconfig.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "config.h"
#include "jobs.h"
#include "log.h"
#include "timefmt.h"

/* A run goes in slices of steps of about JOBS_SLICE_US, and the worker
 * drives its geo calls between slices, so a backlog does not hold calls
 * in flight past their timeout.  The run keeps the job's lease from slice
 * to slice. */
#define JOBS_SLICE_US 50000

DB_QUERY(q_ensure, "INSERT IGNORE INTO job_leases (name, next_run_at) VALUES (?, NOW(6))");
/* The jobs q_take would give this process now, read for all at once. */
DB_QUERY(q_takeable, "SELECT name FROM job_leases WHERE next_run_at <= NOW(6)"
		     " AND (holder IS NULL OR holder = ? OR lease_until < NOW(6))");
DB_QUERY(q_take, "UPDATE job_leases SET holder = ?, lease_until = NOW(6) + INTERVAL ? SECOND"
		 " WHERE name = ? AND next_run_at <= NOW(6)"
		 " AND (holder IS NULL OR holder = ? OR lease_until < NOW(6))");
/* Taking a job now whatever its next_run_at (cairnctl job run). */
DB_QUERY(q_take_now, "UPDATE job_leases SET holder = ?, lease_until = NOW(6) + INTERVAL ? SECOND"
		     " WHERE name = ? AND (holder IS NULL OR holder = ? OR lease_until < NOW(6))");
DB_QUERY(q_row, "SELECT holder, lease_until, next_run_at, last_run_at, runs, failures,"
		" last_error FROM job_leases WHERE name = ?");
DB_QUERY(q_renew, "UPDATE job_leases SET lease_until = NOW(6) + INTERVAL ? SECOND"
		  " WHERE name = ? AND holder = ?");
DB_QUERY(q_release_all, "UPDATE job_leases SET holder = NULL, lease_until = NULL,"
			" next_run_at = NOW(6) WHERE holder = ?");
DB_QUERY(q_release, "UPDATE job_leases SET holder = NULL, lease_until = NULL,"
		    " next_run_at = NOW(6) + INTERVAL ? SECOND, last_run_at = NOW(6),"
		    " runs = runs + 1, failures = failures + ?, last_error = ?"
		    " WHERE name = ? AND holder = ?");

static int
exec_lease(struct db *db, struct db_query *q, const struct job *job, const char *holder,
	   uint64_t *affected, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, q, d);
	long long lease = config_int("worker.lease_seconds");

	if (st == NULL)
		return -1;
	if (q == &q_take || q == &q_take_now) {
		db_bind_str(st, 0, holder);
		db_bind_int(st, 1, lease);
		db_bind_str(st, 2, job->name);
		db_bind_str(st, 3, holder);
	} else {
		db_bind_int(st, 0, lease);
		db_bind_str(st, 1, job->name);
		db_bind_str(st, 2, holder);
	}
	if (db_exec(st, d) < 0)
		return -1;
	*affected = db_affected(st);
	return 0;
}

/* Ends a run: the job is next due in next_in seconds. */
static int
release(struct db *db, const struct job *job, const char *holder, unsigned next_in,
	const char *error, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_release, d);

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, next_in);
	db_bind_int(st, 1, error ? 1 : 0);
	if (error)
		db_bind_str(st, 2, error);
	else
		db_bind_null(st, 2);
	db_bind_str(st, 3, job->name);
	db_bind_str(st, 4, holder);
	return db_exec(st, d);
}

/* The run of a job this process is in the middle of: its steps so far,
 * over its slices, and their time. */
struct job_run {
	int steps;
	double ms;
};

/* What this worker knows of each job between ticks: whether its lease row
 * exists, when to ask again (every JOBS_RECHECK_MS at most, or the job's
 * interval if shorter), and the run it is in the middle of.  The database
 * stays the authority: an operator who sets next_run_at to now sees the
 * job run within JOBS_RECHECK_MS.  One read asks for every job due to be
 * asked about (q_takeable), and only a job it names is taken, so an idle
 * worker costs one statement per JOBS_RECHECK_MS, not one per job. */
#define JOBS_MAX 64
#define JOBS_RECHECK_MS 2000

struct job_state {
	bool ensured;     /* its job_leases row exists */
	int64_t next_try; /* timefmt_monotonic_ms() */
	struct job_run run;
};

static struct job_state job_states[JOBS_MAX];

/* How a slice of a run ended (run_job). */
enum run_end {
	RUN_UNAVAILABLE = -1, /* the database is unavailable; the lease expires */
	RUN_DONE,             /* done: released */
	RUN_STOPPED,          /* stopped with more left: released, due at once */
	RUN_MORE,             /* more to do: the lease is kept for the next slice */
	RUN_FAILED,           /* a step failed: released, the error counted and in *d */
	RUN_LOST,             /* the lease went to another between steps */
};

/* Runs one slice of a job whose lease this process holds, adding to run.
 * A run with more to do keeps the lease (renewed), so no other worker
 * takes the job in the middle of it and the next slice goes on with it.
 * A run that ends (done, failed, or stopped) releases the job, due again
 * after its interval (or at once when stopped with work left), and is
 * logged. */
static enum run_end
run_job(struct db *db, const struct job *job, struct job_run *run, const char *holder,
	volatile sig_atomic_t *stop, struct diag *d)
{
	uint64_t t0 = timefmt_monotonic_us();
	int more = 1;
	uint64_t affected;
	struct diag err;
	const char *error = NULL;

	diag_clear(&err);
	while (more && !*stop) {
		if (job->step(db, run->steps == 0, &more, &err) < 0) {
			error = err.msg;
			break;
		}
		run->steps++;
		if (!more)
			break;
		if (exec_lease(db, &q_renew, job, holder, &affected, d) < 0)
			return RUN_UNAVAILABLE; /* the lease expires by itself */
		if (affected == 0) {
			log_warn("job %s: lost its lease", job->name);
			diag_set(d, DIAG_CONFLICT, "job %s: lost its lease to another process",
				 job->name);
			return RUN_LOST;
		}
		if (timefmt_monotonic_us() - t0 >= JOBS_SLICE_US)
			break;
	}
	run->ms += (double)(timefmt_monotonic_us() - t0) / 1e3;
	if (error == NULL && more && !*stop)
		return RUN_MORE;
	if (error != NULL)
		log_error("job %s failed after %d steps: %s", job->name, run->steps, error);
	else
		log_info("job %s: %d steps in %.1f ms%s", job->name, run->steps, run->ms,
			 more ? " (stopped, more left)" : "");
	if (error != NULL && db_error_unavailable(&err)) {
		*d = err;
		return RUN_UNAVAILABLE;
	}
	more = more && error == NULL;
	if (release(db, job, holder, more ? 0 : job->interval_seconds, error, d) < 0)
		return RUN_UNAVAILABLE;
	if (error != NULL) {
		*d = err;
		return RUN_FAILED;
	}
	return more ? RUN_STOPPED : RUN_DONE;
}

static int
ensure_row(struct db *db, const struct job *job, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_ensure, d);

	if (st == NULL)
		return -1;
	db_bind_str(st, 0, job->name);
	return db_exec(st, d);
}

/* Sets takeable[i] for each of the n jobs that q_take would give holder
 * now. */
static int
read_takeable(struct db *db, const struct job *jobs, size_t n, const char *holder, bool *takeable,
	      struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_takeable, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_str(st, 0, holder);
	if (db_execute(st, d) < 0)
		return -1;
	memset(takeable, 0, n * sizeof *takeable);
	while ((rc = db_fetch(st, d)) == 1) {
		size_t len;
		const char *name = db_text(st, 0, &len);

		for (size_t i = 0; name != NULL && i < n; i++)
			if (strlen(jobs[i].name) == len && memcmp(jobs[i].name, name, len) == 0)
				takeable[i] = true;
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* The database failed: the runs this process was in the middle of are
 * over (the jobs may be another's by the time it is back).  Returns -1. */
static int
end_runs(size_t n)
{
	for (size_t i = 0; i < n; i++)
		job_states[i].run = (struct job_run){0};
	return -1;
}

int
jobs_tick(struct db *db, const struct job *jobs, size_t n, const char *holder,
	  volatile sig_atomic_t *stop, bool *more_left, struct diag *d)
{
	/* this tick's jobs: those in a run of ours go on without asking */
	enum { SKIP, GO_ON, ASK } want[JOBS_MAX];
	bool takeable[JOBS_MAX] = {false}, ask = false;
	int ran = 0, rc;
	enum run_end end;

	*more_left = false;
	if (n > JOBS_MAX)
		n = JOBS_MAX;
	for (size_t i = 0; i < n; i++) {
		struct job_state *js = &job_states[i];

		want[i] = js->run.steps > 0 ? GO_ON : SKIP;
		if (want[i] == GO_ON || timefmt_monotonic_ms() < js->next_try)
			continue;
		if (!js->ensured) {
			if (ensure_row(db, &jobs[i], d) < 0)
				return end_runs(n);
			js->ensured = true;
		}
		want[i] = ASK;
		ask = true;
	}
	if (ask && read_takeable(db, jobs, n, holder, takeable, d) < 0)
		return end_runs(n);

	for (size_t i = 0; i < n && !*stop; i++) {
		struct job_state *js = &job_states[i];
		int64_t recheck = (int64_t)jobs[i].interval_seconds * 1000;
		uint64_t affected;

		if (recheck > JOBS_RECHECK_MS)
			recheck = JOBS_RECHECK_MS;
		if (want[i] == SKIP)
			continue;
		if (want[i] == ASK && !takeable[i]) {
			js->next_try = timefmt_monotonic_ms() + recheck;
			continue;
		}
		rc = exec_lease(db, &q_take, &jobs[i], holder, &affected, d);
		if (rc < 0)
			return end_runs(n);
		if (affected == 0) {
			/* a run of ours is over: the job is another's now */
			js->run = (struct job_run){0};
			js->next_try = timefmt_monotonic_ms() + recheck;
			continue;
		}
		end = run_job(db, &jobs[i], &js->run, holder, stop, d);
		if (end != RUN_MORE)
			js->run = (struct job_run){0};
		if (end == RUN_UNAVAILABLE)
			return end_runs(n);
		js->next_try = end == RUN_MORE ? 0 : timefmt_monotonic_ms() + recheck;
		*more_left = *more_left || end == RUN_MORE;
		ran++;
	}
	return ran;
}

int
jobs_run_now(struct db *db, const struct job *job, const char *holder, int64_t wait_ms,
	     volatile sig_atomic_t *stop, int *steps, double *ms, struct diag *d)
{
	struct job_run run = {0};
	uint64_t affected;
	int64_t deadline = timefmt_monotonic_ms() + wait_ms;
	enum run_end end;

	if (ensure_row(db, job, d) < 0)
		return -1;
	for (;;) {
		if (exec_lease(db, &q_take_now, job, holder, &affected, d) < 0)
			return -1;
		if (affected > 0)
			break;
		if (*stop || timefmt_monotonic_ms() >= deadline) {
			struct job_row row;

			if (jobs_read(db, job, &row, d) < 0)
				return -1;
			diag_set(d, DIAG_CONFLICT, "job %s is running in %s (its lease ends %s)%s",
				 job->name, row.holder[0] ? row.holder : "another process",
				 row.lease_until[0] ? row.lease_until : "soon",
				 *stop ? "; interrupted while waiting" : "");
			return 1;
		}
		timefmt_sleep_ms(100);
	}
	do
		end = run_job(db, job, &run, holder, stop, d);
	while (end == RUN_MORE);
	*steps = run.steps;
	*ms = run.ms;
	if (end == RUN_STOPPED)
		return 2;
	return end == RUN_DONE ? 0 : -1;
}

int
jobs_read(struct db *db, const struct job *job, struct job_row *row, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_row, d);
	int rc;

	memset(row, 0, sizeof *row);
	if (st == NULL)
		return -1;
	db_bind_str(st, 0, job->name);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1) {
		row->exists = true;
		db_text_copy(st, 0, row->holder, sizeof row->holder);
		db_text_copy(st, 1, row->lease_until, sizeof row->lease_until);
		db_text_copy(st, 2, row->next_run_at, sizeof row->next_run_at);
		db_text_copy(st, 3, row->last_run_at, sizeof row->last_run_at);
		row->runs = db_int(st, 4);
		row->failures = db_int(st, 5);
		db_text_copy(st, 6, row->last_error, sizeof row->last_error);
	}
	db_release(st);
	return rc < 0 ? -1 : 0;
}

int
jobs_release(struct db *db, const char *holder, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_release_all, d);

	if (st == NULL)
		return -1;
	db_bind_str(st, 0, holder);
	return db_exec(st, d);
}

void
jobs_holder(char holder[JOBS_HOLDER_MAX])
{
	char host[64];
	uint32_t nonce;

	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	/* host and pid alone repeat across containers that share a hostname
	 * (each worker pid 7, say); two processes with one name would each
	 * take the other's leases for their own */
	if (getrandom(&nonce, sizeof nonce, 0) != (ssize_t)sizeof nonce)
		nonce = (uint32_t)timefmt_monotonic_us();
	snprintf(holder, JOBS_HOLDER_MAX, "%s:%ld:%08" PRIx32, host, (long)getpid(), nonce);
}
