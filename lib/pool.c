#include "autoconfig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "pool.h"
#include "timefmt.h"

#define POOL_GRACE_SECONDS 10

struct child {
	pid_t pid;
	double started;
	double not_before; /* backoff: do not fork before this time */
	double backoff;
};

static volatile sig_atomic_t master_stop, master_reload;
static volatile sig_atomic_t child_stop, child_busy;

/* Seconds on the monotonic clock. */
static double
now(void)
{
	return (double)timefmt_monotonic_us() / 1e6;
}

unsigned
pool_default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)(2 * n) : 2;
}

static void
on_master_signal(int sig)
{
	if (sig == SIGHUP)
		master_reload = 1;
	else
		master_stop = 1;
}

static void
on_child_term(int sig)
{
	(void)sig;
	child_stop = 1;
	if (!child_busy)
		_exit(0);
}

void
pool_child_busy(int busy)
{
	child_busy = busy;
	if (!busy && child_stop)
		_exit(0);
}

static void
set_handler(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static int
run_child(size_t slot, pool_child_fn child, void *arg)
{
	/* SA_RESTART: a request in hand is not disturbed by SIGTERM */
	set_handler(SIGTERM, on_child_term, SA_RESTART);
	set_handler(SIGINT, on_child_term, SA_RESTART);
	set_handler(SIGHUP, SIG_IGN, 0);
	set_handler(SIGPIPE, SIG_IGN, 0);
	metrics_use_slot(slot);
	return child(slot, &child_stop, arg);
}

static pid_t
spawn(struct child *c, size_t slot, pool_child_fn child, void *arg)
{
	pid_t ppid = getpid();
	pid_t pid = fork();

	if (pid < 0) {
		log_error("fork failed: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != ppid)
			_exit(0);
		_exit(run_child(slot, child, arg) == 0 ? 0 : 1);
	}
	c->pid = pid;
	c->started = now();
	return pid;
}

static void
describe_exit(int status, char *out, size_t cap)
{
	if (WIFSIGNALED(status))
		snprintf(out, cap, "killed by signal %d", WTERMSIG(status));
	else
		snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
}

/* Reaps children that exited; schedules their replacement. */
static void
reap(struct child *kids, unsigned n)
{
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (unsigned i = 0; i < n; i++) {
			if (kids[i].pid != pid)
				continue;
			char why[64];
			double lived = now() - kids[i].started;

			describe_exit(status, why, sizeof why);
			kids[i].pid = 0;
			if (master_stop)
				break;
			if (lived < 1.0) {
				kids[i].backoff = kids[i].backoff ? kids[i].backoff * 2 : 0.1;
				if (kids[i].backoff > 5.0)
					kids[i].backoff = 5.0;
			} else {
				kids[i].backoff = 0;
			}
			kids[i].not_before = now() + kids[i].backoff;
			metrics_worker_restart();
			log_warn("worker %ld (slot %u) %s after %.1f s; re-forking%s", (long)pid,
				 i + 1, why, lived, kids[i].backoff > 0 ? " after backoff" : "");
		}
	}
}

static void
nap(double seconds)
{
	struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};

	nanosleep(&ts, NULL); /* a signal cuts it short, which is what we want */
}

static int
alive(const struct child *kids, unsigned n)
{
	int count = 0;

	for (unsigned i = 0; i < n; i++)
		count += kids[i].pid > 0;
	return count;
}

/* SIGHUP: replace each child in turn, waiting for the old one to go. */
static void
rolling_replace(struct child *kids, unsigned n, pool_child_fn child, void *arg)
{
	log_info("SIGHUP: replacing %u workers one by one", n);
	for (unsigned i = 0; i < n && !master_stop; i++) {
		pid_t old = kids[i].pid;

		if (old <= 0)
			continue;
		kill(old, SIGTERM);
		double deadline = now() + POOL_GRACE_SECONDS;
		int status;

		while (waitpid(old, &status, 0) < 0 && errno == EINTR) {
			if (now() > deadline)
				kill(old, SIGKILL);
		}
		kids[i].pid = 0;
		spawn(&kids[i], i + 1, child, arg);
	}
}

int
pool_run(unsigned workers, pool_child_fn child, pool_reload_fn reload, void *arg)
{
	struct child *kids;

	if (workers == 0) {
		set_handler(SIGPIPE, SIG_IGN, 0);
		return run_child(0, child, arg);
	}
	kids = mem_calloc(workers, sizeof *kids);
	set_handler(SIGTERM, on_master_signal, 0);
	set_handler(SIGINT, on_master_signal, 0);
	set_handler(SIGHUP, on_master_signal, 0);
	set_handler(SIGPIPE, SIG_IGN, 0);
	log_info("pool master starting %u workers", workers);
	while (!master_stop) {
		double t = now();

		for (unsigned i = 0; i < workers && !master_stop; i++)
			if (kids[i].pid == 0 && t >= kids[i].not_before)
				spawn(&kids[i], i + 1, child, arg);
		if (master_reload) {
			master_reload = 0;
			if (reload != NULL)
				reload(arg);
			rolling_replace(kids, workers, child, arg);
		}
		nap(0.05);
		reap(kids, workers);
	}
	log_info("stopping: %d workers finish the requests in hand", alive(kids, workers));
	for (unsigned i = 0; i < workers; i++)
		if (kids[i].pid > 0)
			kill(kids[i].pid, SIGTERM);
	double deadline = now() + POOL_GRACE_SECONDS;

	while (alive(kids, workers) > 0 && now() < deadline) {
		nap(0.05);
		reap(kids, workers);
	}
	for (unsigned i = 0; i < workers; i++)
		if (kids[i].pid > 0) {
			log_warn("worker %ld did not stop in time; killing it", (long)kids[i].pid);
			kill(kids[i].pid, SIGKILL);
			waitpid(kids[i].pid, NULL, 0);
		}
	mem_free(kids);
	log_info("pool stopped");
	return 0;
}
