/* gcommit: group commit of single-row writes (see gcommit.h).
 *
 * The region holds one slot per worker and, per kind, the pids of the
 * workers leading its groups (GCOMMIT_INFLIGHT places; 0: free).  A slot
 * moves
 *
 *   IDLE -> QUEUED -> TAKEN -> DONE -> IDLE
 *
 * but a slot whose owner leads (it found a free place, or a finishing
 * leader handed it one) is LEAD instead of QUEUED until its owner takes
 * the queue, its own row with it.  Every move but the owner's DONE ->
 * IDLE happens under the region's mutex; rows are read by the
 * leader outside the mutex, which is safe because a TAKEN slot belongs to
 * the leader until it marks it DONE.  A slot's seq counts its writes, so a
 * leader never finishes a write that is no longer the one it took (the
 * owner died and its successor wrote again).  A semaphore post only says
 * "look again": a waiter always re-reads its slot's state, so a stale post
 * (left by a dead predecessor's leader) does no harm.
 *
 * Death.  A waiter that has slept GCOMMIT_POLL_MS without news checks on
 * the leader: a row whose taker died has an unknown outcome, and a queued
 * row whose kind has no live leader takes the lead.  The mutex is
 * robust, so a process killed inside a critical section (which only
 * copies a few fields) does not wedge the pool. */
#include "autoconfig.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "gcommit.h"
#include "log.h"
#include "metrics.h"

#define GCOMMIT_POLL_MS 50
#define GCOMMIT_INFLIGHT 2 /* groups of one kind written at once */

enum slot_state { SLOT_IDLE, SLOT_QUEUED, SLOT_TAKEN, SLOT_DONE, SLOT_LEAD };
enum slot_result { RESULT_OK, RESULT_ALONE, RESULT_FAILED };

struct slot {
	sem_t wake;
	pid_t pid;   /* the process that queued the current write */
	pid_t taker; /* the leader that took it (TAKEN) */
	int state;   /* enum slot_state; state_get, state_set */
	int kind;
	uint64_t seq;
	uint64_t ticket; /* queue order */
	enum slot_result result;
	int64_t id;       /* RESULT_OK: what the write gave the row */
	struct diag diag; /* RESULT_FAILED */
	size_t len;
	unsigned char row[GCOMMIT_ROW_MAX];
};

struct region {
	pthread_mutex_t lock;
	uint64_t next_ticket;
	pid_t leaders[GCOMMIT_MAX_KINDS][GCOMMIT_INFLIGHT]; /* 0: a free place */
	size_t nslots;
	struct slot slots[];
};

/* A slot's state is written under the lock (but for its owner's DONE ->
 * IDLE) and read without it by the owner, so it is atomic; everything a
 * state announces is written before it (release) and read after it
 * (acquire). */
static int
state_get(struct slot *s)
{
	return __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);
}

static void
state_set(struct slot *s, int state)
{
	__atomic_store_n(&s->state, state, __ATOMIC_RELEASE);
}

struct kind {
	const char *name;
	gcommit_write_fn write;
	char labels[64];
	int metric_groups, metric_rows;
};

static struct kind kinds[GCOMMIT_MAX_KINDS];
static int nkinds;
static struct region *region;
static struct slot *mine;
static pid_t my_pid; /* this worker's, set with mine */

int
gcommit_kind(const char *name, gcommit_write_fn write)
{
	struct kind *k;

	if (nkinds == GCOMMIT_MAX_KINDS || region != NULL)
		return -1;
	k = &kinds[nkinds];
	k->name = name;
	k->write = write;
	snprintf(k->labels, sizeof k->labels, "kind=\"%s\"", name);
	k->metric_groups = metrics_counter("cairn_group_commit_statements_total", k->labels,
					   "Grouped single-row writes: statements run.", 0);
	k->metric_rows =
		metrics_counter("cairn_group_commit_rows_total", k->labels,
				"Grouped single-row writes: rows those statements wrote.", 0);
	return nkinds++;
}

int
gcommit_init(size_t slots)
{
	size_t bytes = sizeof(struct region) + slots * sizeof(struct slot);
	pthread_mutexattr_t attr;
	struct region *r;

	if (slots == 0)
		return 0;
	r = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED)
		return -1;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
	if (pthread_mutex_init(&r->lock, &attr) != 0) {
		pthread_mutexattr_destroy(&attr);
		munmap(r, bytes);
		return -1;
	}
	pthread_mutexattr_destroy(&attr);
	r->nslots = slots;
	for (size_t i = 0; i < slots; i++) {
		if (sem_init(&r->slots[i].wake, 1, 0) != 0) {
			munmap(r, bytes);
			return -1;
		}
	}
	region = r;
	return 0;
}

static void
region_lock(void)
{
	if (pthread_mutex_lock(&region->lock) == EOWNERDEAD) {
		/* the owner died between two field stores; every reader
		 * re-checks what it relies on, so carry on */
		pthread_mutex_consistent(&region->lock);
	}
}

static void
region_unlock(void)
{
	pthread_mutex_unlock(&region->lock);
}

/* A process that died but is not yet reaped (a zombie) counts as dead:
 * the pool master may itself be waiting for a worker that waits for it. */
static bool
alive(pid_t pid)
{
	char path[32], stat[256];
	const char *p;
	ssize_t n;
	int fd;

	if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
		return false;
	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	n = read(fd, stat, sizeof stat - 1);
	close(fd);
	if (n <= 0)
		return true;
	stat[n] = '\0';
	p = strrchr(stat, ')'); /* "pid (comm) S ..." */
	return p == NULL || p[1] != ' ' || p[2] != 'Z';
}

/* Under the lock: the slot holds a write whose leader died before
 * finishing it, so no one will. */
static bool
abandoned(struct slot *s)
{
	return s->state == SLOT_TAKEN && !alive(s->taker);
}

/* Under the lock: takes a free place to lead kind k for pid; false when
 * GCOMMIT_INFLIGHT groups are being written already. */
static bool
lead_add(int k, pid_t pid)
{
	for (int i = 0; i < GCOMMIT_INFLIGHT; i++)
		if (region->leaders[k][i] == 0) {
			region->leaders[k][i] = pid;
			return true;
		}
	return false;
}

/* Under the lock: frees pid's place to lead kind k. */
static void
lead_remove(int k, pid_t pid)
{
	for (int i = 0; i < GCOMMIT_INFLIGHT; i++)
		if (region->leaders[k][i] == pid)
			region->leaders[k][i] = 0;
}

void
gcommit_use_slot(size_t slot)
{
	struct slot *s;

	if (region == NULL || slot >= region->nslots)
		return;
	region_lock();
	s = &region->slots[slot];
	/* a queued write of a dead predecessor is dropped (nobody waits for
	 * it); one a live leader has TAKEN stays until it marks it DONE */
	if (s->state == SLOT_QUEUED || s->state == SLOT_LEAD || s->state == SLOT_DONE ||
	    abandoned(s))
		state_set(s, SLOT_IDLE);
	if (s->pid != 0 && !alive(s->pid))
		for (int k = 0; k < GCOMMIT_MAX_KINDS; k++)
			lead_remove(k, s->pid);
	region_unlock();
	my_pid = getpid();
	mine = s;
}

/* ------------------------------------------------------------- leading */

/* Under the lock: the index of kind k's oldest QUEUED slot, or SIZE_MAX. */
static size_t
oldest_queued(int k)
{
	size_t best = SIZE_MAX;

	for (size_t i = 0; i < region->nslots; i++) {
		struct slot *s = &region->slots[i];

		if (state_get(s) == SLOT_QUEUED && s->kind == k &&
		    (best == SIZE_MAX || s->ticket < region->slots[best].ticket))
			best = i;
	}
	return best;
}

/* Under the lock: the queued slots of kind k, oldest first, at most
 * GCOMMIT_GROUP_MAX, marked TAKEN by this process. */
static size_t
take_queued(int k, size_t *idx, uint64_t *seq)
{
	size_t n = 0, best;

	while (n < GCOMMIT_GROUP_MAX && (best = oldest_queued(k)) != SIZE_MAX) {
		state_set(&region->slots[best], SLOT_TAKEN);
		region->slots[best].taker = my_pid;
		idx[n] = best;
		seq[n] = region->slots[best].seq;
		n++;
	}
	return n;
}

/* Under the lock: gives a free place to lead kind k, if any, to the
 * oldest queued slot, and returns that slot (to be woken) or NULL. */
static struct slot *
promote_next(int k)
{
	size_t best = oldest_queued(k);

	if (best == SIZE_MAX || !lead_add(k, region->slots[best].pid))
		return NULL;
	state_set(&region->slots[best], SLOT_LEAD);
	return &region->slots[best];
}

/* Writes one group of kind k, gives every row in it its result, and hands
 * the kind on.  The caller is the kind's leader and holds no lock. */
static void
lead(struct db *db, int k)
{
	size_t idx[GCOMMIT_GROUP_MAX];
	uint64_t seq[GCOMMIT_GROUP_MAX];
	struct gcommit_row rows[GCOMMIT_GROUP_MAX];
	enum slot_result result = RESULT_OK;
	struct diag d;
	struct slot *next;
	size_t n;

	region_lock();
	if (mine->state == SLOT_LEAD)
		state_set(mine, SLOT_QUEUED); /* in the queue like any other row */
	n = take_queued(k, idx, seq);
	region_unlock();
	for (size_t i = 0; i < n; i++)
		rows[i] = (struct gcommit_row){region->slots[idx[i]].row, region->slots[idx[i]].len,
					       0};
	diag_clear(&d);
	if (n > 0 && kinds[k].write(db, rows, n, &d) < 0) {
		if (n == 1) {
			result = RESULT_FAILED; /* the row's own answer */
		} else if (db_error_unavailable(&d) || db_error_reconnectable(&d)) {
			result = RESULT_FAILED;
			diag_set(&d, DIAG_UNAVAILABLE,
				 "connection lost during a grouped write; outcome unknown");
		} else if (db_error_busy(&d)) {
			/* nothing written, and each row alone would wait out
			 * the same lock again (or be refused by the same
			 * read-only or full server): every row's answer (503) */
			result = RESULT_FAILED;
		} else {
			result = RESULT_ALONE; /* nothing written: each row again, alone */
		}
	}
	if (n > 0 && result == RESULT_OK) {
		metrics_add(kinds[k].metric_groups, 1);
		metrics_add(kinds[k].metric_rows, (int64_t)n);
	}
	region_lock();
	for (size_t i = 0; i < n; i++) {
		struct slot *s = &region->slots[idx[i]];

		if (s->seq != seq[i] || s->state != SLOT_TAKEN) {
			idx[i] = SIZE_MAX; /* its owner died and the slot moved on */
			continue;
		}
		s->result = result;
		s->id = rows[i].id;
		s->diag = d;
		state_set(s, SLOT_DONE);
		if (s == mine)
			idx[i] = SIZE_MAX; /* no one to wake */
	}
	lead_remove(k, my_pid);
	next = promote_next(k);
	region_unlock();
	/* the wake-ups outside the lock: each is a system call */
	if (next != NULL)
		sem_post(&next->wake);
	for (size_t i = 0; i < n; i++)
		if (idx[i] != SIZE_MAX)
			sem_post(&region->slots[idx[i]].wake);
}

/* ------------------------------------------------------------- waiting */

/* Until this worker's write is DONE (returns 0) or it must lead (returns
 * 1), sleeping on the slot's semaphore.  Called and returns without the
 * lock; takes it only to look for a dead leader. */
static int
wait_turn(int k)
{
	for (;;) {
		struct timespec t;
		struct slot *next;
		int rc, err, state = state_get(mine);

		if (state == SLOT_DONE)
			return 0;
		if (state == SLOT_LEAD)
			return 1;
		clock_gettime(CLOCK_MONOTONIC, &t);
		t.tv_nsec += GCOMMIT_POLL_MS * 1000000L;
		t.tv_sec += t.tv_nsec / 1000000000L;
		t.tv_nsec %= 1000000000L;
		rc = sem_clockwait(&mine->wake, CLOCK_MONOTONIC, &t);
		err = errno;
		if (rc == 0 || err != ETIMEDOUT)
			continue;
		region_lock();
		if (abandoned(mine)) {
			/* the leader died holding our row: it may have committed */
			log_warn("group commit: the %s leader (pid %ld) died during a write",
				 kinds[k].name, (long)mine->taker);
			mine->result = RESULT_FAILED;
			diag_set(&mine->diag, DIAG_UNAVAILABLE,
				 "the worker writing this group died; outcome unknown");
			state_set(mine, SLOT_DONE);
			lead_remove(k, mine->taker);
			next = promote_next(k);
			if (next != NULL)
				sem_post(&next->wake);
		} else if (mine->state == SLOT_QUEUED) {
			for (int i = 0; i < GCOMMIT_INFLIGHT; i++) {
				pid_t l = region->leaders[k][i];

				if (l != 0 && !alive(l)) {
					log_warn("group commit: the %s leader (pid %ld) is gone",
						 kinds[k].name, (long)l);
					region->leaders[k][i] = 0;
				}
			}
			if (lead_add(k, my_pid))
				state_set(mine, SLOT_LEAD);
		}
		region_unlock();
	}
}

/* The slot still holds a dead predecessor's write: true when that write
 * is finished (the slot is IDLE again), false while its leader has it. */
static bool
reclaim_slot(void)
{
	bool idle;

	region_lock();
	if (mine->state == SLOT_DONE || abandoned(mine))
		state_set(mine, SLOT_IDLE);
	idle = mine->state == SLOT_IDLE;
	region_unlock();
	return idle;
}

static int
write_alone(struct db *db, int k, const void *row, size_t len, int64_t *id, struct diag *d)
{
	struct gcommit_row r = {row, len, 0};

	if (kinds[k].write(db, &r, 1, d) < 0)
		return -1;
	if (id != NULL)
		*id = r.id;
	return 0;
}

int
gcommit_write(struct db *db, int k, const void *row, size_t len, int64_t *id, struct diag *d)
{
	enum slot_result result;
	bool leading;

	if (k < 0 || k >= nkinds) {
		diag_set(d, DIAG_INTERNAL, "group commit: no kind %d", k);
		return -1;
	}
	/* an IDLE slot is its owner's alone: fill it before taking the lock */
	if (region == NULL || mine == NULL || len > GCOMMIT_ROW_MAX || db_in_txn(db))
		return write_alone(db, k, row, len, id, d);
	if (state_get(mine) != SLOT_IDLE && !reclaim_slot())
		return write_alone(db, k, row, len, id, d);
	mine->seq++;
	mine->pid = my_pid;
	mine->kind = k;
	mine->len = len;
	memcpy(mine->row, row, len);
	region_lock();
	mine->ticket = region->next_ticket++;
	leading = lead_add(k, mine->pid);
	/* a slot that leads is LEAD, so no finishing leader promotes it too */
	state_set(mine, leading ? SLOT_LEAD : SLOT_QUEUED);
	region_unlock();
	while (leading || wait_turn(k) == 1) {
		lead(db, k);
		leading = false;
	}
	/* DONE: the leader wrote the result before the state */
	result = mine->result;
	if (result == RESULT_FAILED)
		*d = mine->diag;
	if (result == RESULT_OK && id != NULL)
		*id = mine->id;
	state_set(mine, SLOT_IDLE);
	if (result == RESULT_ALONE)
		return write_alone(db, k, row, len, id, d);
	return result == RESULT_OK ? 0 : -1;
}
