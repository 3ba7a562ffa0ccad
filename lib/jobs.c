#include "autoconfig.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
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
DB_QUERY(q_take, "UPDATE job_leases SET holder = ?, lease_until = NOW(6) + INTERVAL ? SECOND"
		 " WHERE name = ? AND next_run_at <= NOW(6)"
		 " AND (holder IS NULL OR holder = ? OR lease_until < NOW(6))");
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
	if (q == &q_take) {
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

/* What this worker knows of each job between ticks: whether its lease row
 * exists, when to ask again (every JOBS_RECHECK_MS at most, or the job's
 * interval if shorter), and the run it is in the middle of.  The database
 * stays the authority: an operator who sets next_run_at to now sees the
 * job run within JOBS_RECHECK_MS. */
#define JOBS_MAX 64
#define JOBS_RECHECK_MS 2000

struct job_state {
	bool ensured;     /* its job_leases row exists */
	int64_t next_try; /* CLOCK_MONOTONIC ms */
	int run_steps;    /* steps of the run so far, over its slices */
	double run_ms;    /* and their time */
};

static struct job_state job_states[JOBS_MAX];

/* Runs one slice of a job whose lease this worker holds.  A run with more
 * to do keeps the lease (renewed), so no other worker takes the job in
 * the middle of it and the next tick goes on with it: returns 1.  A run
 * that ends (done, failed, or the worker stopping) releases the job, due
 * again after its interval (or at once when stopped with work left):
 * returns 0.  -1 if the database is unavailable. */
static int
run_job(struct db *db, const struct job *job, struct job_state *js, const char *holder,
	volatile sig_atomic_t *stop, struct diag *d)
{
	uint64_t t0 = timefmt_monotonic_us();
	int more = 1;
	uint64_t affected;
	struct diag err;
	const char *error = NULL;

	diag_clear(&err);
	while (more && !*stop) {
		if (job->step(db, js->run_steps == 0, &more, &err) < 0) {
			error = err.msg;
			break;
		}
		js->run_steps++;
		if (!more)
			break;
		if (exec_lease(db, &q_renew, job, holder, &affected, d) < 0 || affected == 0) {
			log_warn("job %s: lost its lease", job->name);
			js->run_steps = 0;
			js->run_ms = 0;
			return 0;
		}
		if (timefmt_monotonic_us() - t0 >= JOBS_SLICE_US)
			break;
	}
	js->run_ms += (double)(timefmt_monotonic_us() - t0) / 1e3;
	if (error == NULL && more && !*stop)
		return 1;
	if (error != NULL)
		log_error("job %s failed after %d steps: %s", job->name, js->run_steps, error);
	else
		log_info("job %s: %d steps in %.1f ms%s", job->name, js->run_steps, js->run_ms,
			 more ? " (stopped, more left)" : "");
	js->run_steps = 0;
	js->run_ms = 0;
	if (error != NULL && db_error_unavailable(&err)) {
		*d = err;
		return -1;
	}
	more = more && error == NULL;
	if (release(db, job, holder, more ? 0 : job->interval_seconds, error, d) < 0)
		return -1;
	return 0;
}

int
jobs_tick(struct db *db, const struct job *jobs, size_t n, const char *holder,
	  volatile sig_atomic_t *stop, bool *more_left, struct diag *d)
{
	int ran = 0, rc;

	*more_left = false;

	for (size_t i = 0; i < n && i < JOBS_MAX && !*stop; i++) {
		struct job_state *js = &job_states[i];
		int64_t recheck = (int64_t)jobs[i].interval_seconds * 1000;
		uint64_t affected;

		if (recheck > JOBS_RECHECK_MS)
			recheck = JOBS_RECHECK_MS;
		if (timefmt_monotonic_ms() < js->next_try)
			continue;
		if (!js->ensured) {
			struct db_stmt *st = db_prepare(db, &q_ensure, d);

			if (st == NULL)
				return -1;
			db_bind_str(st, 0, jobs[i].name);
			if (db_exec(st, d) < 0)
				return -1;
			js->ensured = true;
		}
		rc = exec_lease(db, &q_take, &jobs[i], holder, &affected, d);
		if (rc < 0 || affected == 0) {
			/* a run of ours is over: the job is another's now, or
			 * may be by the time the database is back */
			js->run_steps = 0;
			js->run_ms = 0;
			if (rc < 0)
				return -1;
			js->next_try = timefmt_monotonic_ms() + recheck;
			continue;
		}
		rc = run_job(db, &jobs[i], js, holder, stop, d);
		if (rc < 0)
			return -1;
		js->next_try = rc == 1 ? 0 : timefmt_monotonic_ms() + recheck;
		*more_left = *more_left || rc == 1;
		ran++;
	}
	return ran;
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

	if (gethostname(host, sizeof host) < 0)
		snprintf(host, sizeof host, "unknown");
	host[sizeof host - 1] = '\0';
	snprintf(holder, JOBS_HOLDER_MAX, "%s:%ld", host, (long)getpid());
}
