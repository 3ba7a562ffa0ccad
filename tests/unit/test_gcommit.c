/* Unit tests for gcommit.h: group commit of single-row writes across forked
 * workers.  Each test declares its kinds and maps the region in the test
 * process (Check forks one per test, so gcommit's static state starts
 * fresh), then forks worker children that write rows through a fake write
 * function.  The fake never touches the database: it counts, in memory
 * shared by every process, how often each row was committed or was part of
 * a failed call, and the size of every call; the children record what each
 * gcommit_write returned.  The parent reaps the children and checks the
 * contract of gcommit.h against those counts.  Nothing asserts on time. */
#include "autoconfig.h"

#include <check.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "diag.h"
#include "gcommit.h"

#define CHILDREN 8              /* worker processes; slots 1..CHILDREN */
#define ROWS 200                /* rows each child writes */
#define REAP_SECONDS 20         /* the parent's bound on the children */
#define CHILD_ALARM 30          /* a hung child's own bound */
#define INFLIGHT_MAX 2          /* "at most two groups of a kind are written at once" */
#define DUP_CODE 1062           /* ER_DUP_ENTRY: a database error, not a lost connection */
#define LOST_CODE 2013          /* CR_SERVER_LOST: the connection went during the write */

enum row_tag { TAG_PLAIN, TAG_POISON, TAG_LOST, TAG_DIE };

/* The bytes one gcommit_write carries. */
struct row {
	int child;
	int i;
	int tag;                /* enum row_tag */
};

/* What a child saw from one gcommit_write. */
struct result {
	int returned;           /* 0 while the call has not returned */
	int rc;
	int code;               /* the diag code when rc == -1 */
};

/* Everything the fake write function and the children record, shared by
 * every process of a test; every field is updated with __atomic ops. */
struct shared {
	unsigned delay_us;              /* the fake's sleep, so writers pile up */
	int calls;                      /* fake write calls that got past the checks */
	int grouped;                    /* ... with n > 1 */
	int failed_grouped;             /* failed calls with n > 1 */
	int bad;                        /* calls with a bad n or a bad row */
	int max_n;
	int inflight, max_inflight;     /* concurrent calls of the fake */
	int die_left;                   /* TAG_DIE calls still to exit on ... */
	int die_min_n;                  /* ... among those of at least this n */
	int deaths;                     /* fake writes that exited */
	int written[CHILDREN][ROWS];    /* times a successful call held the row */
	int failed_in[CHILDREN][ROWS];  /* times a failed call held the row */
	struct result res[CHILDREN][ROWS];
	int nrows[CHILDREN];            /* rows a child began (when it tells) */
	int first_after[CHILDREN];      /* its first row begun after a death */
};

static struct shared *sh;

static void
shared_setup(void)
{
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	memset(sh, 0, sizeof *sh);
}

static void
shared_teardown(void)
{
	munmap(sh, sizeof *sh);
	sh = NULL;
}

static int
load(int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void
bump(int *p, int by)
{
	__atomic_add_fetch(p, by, __ATOMIC_SEQ_CST);
}

/* *p = max(*p, v). */
static void
raise_to(int *p, int v)
{
	int cur = load(p);

	while (cur < v && !__atomic_compare_exchange_n(p, &cur, v, false, __ATOMIC_SEQ_CST,
						       __ATOMIC_SEQ_CST))
		;
}

/* The id fake_write gives a row it commits, distinct for every row. */
static int64_t
row_id(int child, int i)
{
	return 1000 + (int64_t)child * ROWS + i;
}

static bool
row_ok(const struct gcommit_row *r, struct row *out)
{
	if (r->len != sizeof *out || r->p == NULL)
		return false;
	memcpy(out, r->p, sizeof *out);
	return out->child >= 0 && out->child < CHILDREN && out->i >= 0 && out->i < ROWS;
}

/* gcommit_write_fn standing in for a multi-row INSERT: fails with DUP_CODE
 * when a TAG_POISON row is among the rows and with LOST_CODE when a
 * TAG_LOST row is (writing none of them either way), exits the process
 * (status 3, writing nothing) when it sees a TAG_DIE row among at least
 * sh->die_min_n rows and sh->die_left allows, and otherwise commits every
 * row. */
static int
fake_write(struct db *db, struct gcommit_row *rows, size_t n, struct diag *d)
{
	struct row r[GCOMMIT_GROUP_MAX];
	bool poison = false, lost = false, die = false;

	(void)db;
	if (n < 1 || n > GCOMMIT_GROUP_MAX) {
		bump(&sh->bad, 1);
		diag_set(d, DIAG_INTERNAL, "bad n %zu", n);
		return -1;
	}
	for (size_t j = 0; j < n; j++) {
		if (!row_ok(&rows[j], &r[j]) || rows[j].id != 0) {
			bump(&sh->bad, 1);
			diag_set(d, DIAG_INTERNAL, "bad row");
			return -1;
		}
		poison |= r[j].tag == TAG_POISON;
		lost |= r[j].tag == TAG_LOST;
		die |= r[j].tag == TAG_DIE;
	}
	bump(&sh->calls, 1);
	if (n > 1)
		bump(&sh->grouped, 1);
	raise_to(&sh->max_n, (int)n);
	raise_to(&sh->max_inflight, __atomic_add_fetch(&sh->inflight, 1, __ATOMIC_SEQ_CST));
	if (die && (int)n >= sh->die_min_n &&
	    __atomic_sub_fetch(&sh->die_left, 1, __ATOMIC_SEQ_CST) >= 0) {
		bump(&sh->inflight, -1);
		bump(&sh->deaths, 1);
		_exit(3); /* mid-statement: nothing was written */
	}
	if (sh->delay_us > 0)
		usleep(sh->delay_us);
	for (size_t j = 0; j < n; j++)
		bump(poison || lost ? &sh->failed_in[r[j].child][r[j].i] :
				      &sh->written[r[j].child][r[j].i], 1);
	if ((poison || lost) && n > 1)
		bump(&sh->failed_grouped, 1);
	bump(&sh->inflight, -1);
	if (poison) {
		diag_set(d, DUP_CODE, "dup");
		return -1;
	}
	if (lost) {
		diag_set(d, LOST_CODE, "lost");
		return -1;
	}
	for (size_t j = 0; j < n; j++)
		rows[j].id = row_id(r[j].child, r[j].i);
	return 0;
}

/* Writes rows [from, to) of child c through gcommit, tagging row i with
 * tag(c, i), and records each result in sh->res. */
static void
write_rows(struct db *db, int kind, int c, int from, int to, enum row_tag (*tag)(int, int))
{
	for (int i = from; i < to; i++) {
		struct row r = {c, i, tag != NULL ? tag(c, i) : TAG_PLAIN};
		struct result *res = &sh->res[c][i];
		struct diag d;
		int64_t id = -1;
		int rc;

		diag_clear(&d);
		rc = gcommit_write(db, kind, &r, sizeof r, &id, &d);
		if (rc == 0 && id != row_id(c, i))
			bump(&sh->bad, 1); /* another row's answer */
		res->rc = rc;
		res->code = rc == 0 ? 0 : d.code;
		__atomic_store_n(&res->returned, 1, __ATOMIC_SEQ_CST);
	}
}

/* Forks workers from..to-1; child c takes slot c + 1 and exits with
 * body(c) (or dies of SIGALRM after CHILD_ALARM seconds).  Reaps every
 * child as soon as it exits (gcommit takes an unreaped child for a live
 * one) and fills status[c].  False when some child was still running after
 * REAP_SECONDS; those are killed and reaped. */
static bool
run_children(int (*body)(int c), int from, int to, int *status)
{
	pid_t pids[CHILDREN] = {0};
	int left = 0;
	struct timespec start, now;

	for (int c = from; c < to; c++) {
		pid_t pid = fork();

		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			alarm(CHILD_ALARM);
			gcommit_use_slot((size_t)c + 1);
			_exit(body(c));
		}
		pids[c] = pid;
		left++;
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (left > 0) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);

		if (pid > 0) {
			for (int c = from; c < to; c++)
				if (pids[c] == pid) {
					status[c] = st;
					pids[c] = 0;
					left--;
				}
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > REAP_SECONDS)
			break;
		usleep(1000);
	}
	if (left == 0)
		return true;
	for (int c = from; c < to; c++)
		if (pids[c] != 0) {
			kill(pids[c], SIGKILL);
			waitpid(pids[c], NULL, 0);
		}
	return false;
}

/* Declares the fake kind and maps the region for every child. */
static int
region_setup(unsigned delay_us)
{
	int kind;

	sh->delay_us = delay_us;
	kind = gcommit_kind("test", fake_write);
	ck_assert_int_eq(kind, 0);
	ck_assert_int_eq(gcommit_init(CHILDREN + 1), 0);
	return kind;
}

static void
assert_exited(const int *status, int c, int code)
{
	ck_assert_msg(WIFEXITED(status[c]) && WEXITSTATUS(status[c]) == code,
		      "child %d: wait status %#x, expected exit %d", c, status[c], code);
}

/* ------------------------------------------------------------ grouping */

/* The tag every 40th row of body_rows gets (the others are TAG_PLAIN);
 * set by run_rows before it forks the children. */
static enum row_tag marked_tag = TAG_PLAIN;

static enum row_tag
tag_marked(int c, int i)
{
	(void)c;
	return i % 40 == 17 ? marked_tag : TAG_PLAIN;
}

/* A child that writes its ROWS rows, tagged by tag_marked. */
static int
body_rows(int c)
{
	struct db *db = db_new();

	write_rows(db, 0, c, 0, ROWS, tag_marked);
	db_free(db);
	return 0;
}

/* Every child writes its rows through body_rows, every 40th marked with
 * `marked`, and exits 0. */
static void
run_rows(enum row_tag marked)
{
	int status[CHILDREN];

	region_setup(500);
	marked_tag = marked;
	ck_assert_msg(run_children(body_rows, 0, CHILDREN, status), "children hung");
	for (int c = 0; c < CHILDREN; c++)
		assert_exited(status, c, 0);
}

/* Concurrent writers: every row committed exactly once and answered 0, in
 * calls of 1..GCOMMIT_GROUP_MAX rows, some of them grouped, never more
 * than INFLIGHT_MAX at once. */
START_TEST(test_every_row_once_grouped)
{
	run_rows(TAG_PLAIN);
	for (int c = 0; c < CHILDREN; c++) {
		for (int i = 0; i < ROWS; i++) {
			const struct result *res = &sh->res[c][i];

			ck_assert_msg(res->returned && res->rc == 0,
				      "row (%d, %d): returned %d, rc %d, code %d", c, i,
				      res->returned, res->rc, res->code);
			ck_assert_msg(sh->written[c][i] == 1, "row (%d, %d) written %d times",
				      c, i, sh->written[c][i]);
			ck_assert_int_eq(sh->failed_in[c][i], 0);
		}
	}
	ck_assert_int_eq(sh->bad, 0);
	ck_assert_int_ge(sh->max_n, 1);
	ck_assert_int_le(sh->max_n, GCOMMIT_GROUP_MAX);
	ck_assert_msg(sh->grouped > 0, "no call had more than one row (%d calls)", sh->calls);
	ck_assert_int_lt(sh->calls, CHILDREN * ROWS);
	ck_assert_int_le(sh->max_inflight, INFLIGHT_MAX);
	ck_assert_int_eq(sh->inflight, 0);
}
END_TEST

/* ------------------------------------------------------------- failure */

/* A group that fails with a database error is written again row by row:
 * the poison rows get their own error, every other row is committed
 * exactly once and answered 0, after at most one failed group. */
START_TEST(test_failed_group_retried_alone)
{
	run_rows(TAG_POISON);
	for (int c = 0; c < CHILDREN; c++) {
		for (int i = 0; i < ROWS; i++) {
			const struct result *res = &sh->res[c][i];

			ck_assert_msg(res->returned, "row (%d, %d) did not return", c, i);
			if (tag_marked(c, i) == TAG_POISON) {
				ck_assert_msg(res->rc == -1 && res->code == DUP_CODE,
					      "poison row (%d, %d): rc %d, code %d", c, i,
					      res->rc, res->code);
				ck_assert_int_eq(sh->written[c][i], 0);
				ck_assert_int_ge(sh->failed_in[c][i], 1);
				continue;
			}
			ck_assert_msg(res->rc == 0, "row (%d, %d): rc %d, code %d", c, i,
				      res->rc, res->code);
			ck_assert_msg(sh->written[c][i] == 1, "row (%d, %d) written %d times",
				      c, i, sh->written[c][i]);
			ck_assert_msg(sh->failed_in[c][i] <= 1, "row (%d, %d) failed %d times",
				      c, i, sh->failed_in[c][i]);
		}
	}
	ck_assert_int_eq(sh->bad, 0);
	ck_assert_int_le(sh->max_n, GCOMMIT_GROUP_MAX);
	/* the retry path ran: some group held a poison row and others */
	ck_assert_msg(sh->failed_grouped > 0, "no grouped call failed (%d calls)", sh->calls);
	ck_assert_int_eq(sh->inflight, 0);
}
END_TEST

/* A group whose connection is lost may or may not have committed, so it is
 * not written again: every row of it is answered DIAG_UNAVAILABLE, a lost
 * row written alone gets its own error, every other row is committed
 * exactly once and answered 0. */
START_TEST(test_lost_group_unavailable)
{
	int unavailable = 0;

	run_rows(TAG_LOST);
	for (int c = 0; c < CHILDREN; c++) {
		for (int i = 0; i < ROWS; i++) {
			const struct result *res = &sh->res[c][i];

			ck_assert_msg(res->returned, "row (%d, %d) did not return", c, i);
			if (res->rc == 0) {
				ck_assert_int_ne(tag_marked(c, i), TAG_LOST);
				ck_assert_msg(sh->written[c][i] == 1 && sh->failed_in[c][i] == 0,
					      "row (%d, %d): written %d, failed %d", c, i,
					      sh->written[c][i], sh->failed_in[c][i]);
				continue;
			}
			ck_assert_int_eq(res->rc, -1);
			ck_assert_int_eq(sh->written[c][i], 0);
			ck_assert_int_eq(sh->failed_in[c][i], 1); /* never written again */
			if (res->code == LOST_CODE) {
				ck_assert_int_eq(tag_marked(c, i), TAG_LOST);
				continue;
			}
			ck_assert_msg(res->code == DIAG_UNAVAILABLE, "row (%d, %d): code %d", c, i,
				      res->code);
			unavailable++;
		}
	}
	ck_assert_int_eq(sh->bad, 0);
	ck_assert_msg(sh->failed_grouped > 0, "no grouped call failed (%d calls)", sh->calls);
	/* each such group answered all its rows, at least two, unavailable */
	ck_assert_int_ge(unavailable, 2);
}
END_TEST

/* --------------------------------------------------------------- death */

#define ROWS_AFTER 20           /* rows each survivor writes after a death */
#define DIE_CHILD 0             /* whose rows are TAG_DIE until one dies */

static enum row_tag
tag_die(int c, int i)
{
	return c == DIE_CHILD ? TAG_DIE : TAG_PLAIN;
}

static enum row_tag
tag_die_first(int c, int i)
{
	return i == 0 ? TAG_DIE : TAG_PLAIN;
}

/* Writes rows until some leader has died in a group with DIE_CHILD's row
 * and another child's (exit 5 if that never happens within the table),
 * then ROWS_AFTER more. */
static int
body_die(int c)
{
	struct db *db = db_new();
	int i = 0;

	while (load(&sh->deaths) == 0 && i < ROWS - ROWS_AFTER) {
		write_rows(db, 0, c, i, i + 1, tag_die);
		i++;
	}
	if (load(&sh->deaths) == 0)
		return 5;
	sh->first_after[c] = i;
	write_rows(db, 0, c, i, i + ROWS_AFTER, NULL);
	sh->nrows[c] = i + ROWS_AFTER;
	db_free(db);
	return 0;
}

/* A leader that dies inside the write of a group holding rows of other
 * children: nobody hangs; each row is either committed exactly once and
 * answered 0, or (its group died) written nowhere and answered
 * DIAG_UNAVAILABLE, which some survivor's row was; later writes succeed. */
START_TEST(test_leader_dies)
{
	int status[CHILDREN];
	int dead = -1, unavailable = 0;

	region_setup(500);
	sh->die_left = 1;
	sh->die_min_n = 2;
	ck_assert_msg(run_children(body_die, 0, CHILDREN, status), "children hung");
	ck_assert_int_eq(sh->deaths, 1);
	for (int c = 0; c < CHILDREN; c++) {
		if (WIFEXITED(status[c]) && WEXITSTATUS(status[c]) == 3) {
			ck_assert_msg(dead < 0, "children %d and %d both died", dead, c);
			dead = c;
			continue;
		}
		assert_exited(status, c, 0);
	}
	ck_assert_msg(dead >= 0, "no child died");
	for (int c = 0; c < CHILDREN; c++) {
		int pending = 0;

		for (int i = 0; i < ROWS; i++) {
			const struct result *res = &sh->res[c][i];

			ck_assert_int_eq(sh->failed_in[c][i], 0);
			if (!res->returned) {
				/* the dead child's write in hand, and what no
				 * child began */
				ck_assert_msg(c == dead || i >= sh->nrows[c],
					      "row (%d, %d) did not return", c, i);
				pending += c == dead;
				ck_assert_int_le(sh->written[c][i], pending == 1 ? 1 : 0);
				continue;
			}
			if (res->rc == 0) {
				ck_assert_msg(sh->written[c][i] == 1, "row (%d, %d) written %d times",
					      c, i, sh->written[c][i]);
				continue;
			}
			ck_assert_msg(res->rc == -1 && res->code == DIAG_UNAVAILABLE,
				      "row (%d, %d): rc %d, code %d", c, i, res->rc, res->code);
			ck_assert_msg(sh->written[c][i] == 0,
				      "row (%d, %d) answered unavailable but written %d times",
				      c, i, sh->written[c][i]);
			ck_assert_msg(c == dead || i < sh->first_after[c],
				      "row (%d, %d) after the death failed", c, i);
			unavailable++;
		}
	}
	/* the dying group held another child's row, which a survivor waited on */
	ck_assert_int_ge(unavailable, 1);
	ck_assert_int_eq(sh->bad, 0);
}
END_TEST

static int
body_die_alone(int c)
{
	struct db *db = db_new();

	write_rows(db, 0, c, 0, 1, tag_die_first);
	db_free(db);
	return 0;       /* not reached when the write dies */
}

static int
body_after(int c)
{
	struct db *db = db_new();

	write_rows(db, 0, c, 1, 1 + ROWS_AFTER, NULL);
	db_free(db);
	return 0;
}

/* Leaders that die in groups of one hold every place to lead the kind,
 * and no waiter's row went down with them: later writers find the places
 * taken by dead processes and take the lead themselves, in fresh slots and
 * in the dead leaders' own slots alike. */
START_TEST(test_dead_leaders_hold_every_place)
{
	int status[CHILDREN];

	region_setup(500);
	sh->die_left = INFLIGHT_MAX;
	sh->die_min_n = 1;
	for (int c = 0; c < INFLIGHT_MAX; c++) {
		ck_assert_msg(run_children(body_die_alone, c, c + 1, status), "child %d hung", c);
		assert_exited(status, c, 3);
	}
	ck_assert_int_eq(sh->deaths, INFLIGHT_MAX);
	ck_assert_msg(run_children(body_after, INFLIGHT_MAX, CHILDREN, status),
		      "writers hung behind dead leaders");
	ck_assert_msg(run_children(body_after, 0, INFLIGHT_MAX, status),
		      "writers in the dead leaders' slots hung");
	for (int c = 0; c < CHILDREN; c++) {
		assert_exited(status, c, 0);
		ck_assert_int_eq(sh->written[c][0], 0);
		for (int i = 1; i < 1 + ROWS_AFTER; i++) {
			const struct result *res = &sh->res[c][i];

			ck_assert_msg(res->returned && res->rc == 0,
				      "row (%d, %d): returned %d, rc %d, code %d", c, i,
				      res->returned, res->rc, res->code);
			ck_assert_int_eq(sh->written[c][i], 1);
		}
	}
	ck_assert_int_eq(sh->bad, 0);
}
END_TEST

/* ---------------------------------------------------------- write alone */

/* What alone_write saw last, and what it answers. */
static int alone_calls;
static size_t alone_n, alone_len;
static unsigned char alone_bytes[GCOMMIT_ROW_MAX + 64];
static int alone_fail;          /* 0: succeed; else fail with this code */

static int
alone_write(struct db *db, struct gcommit_row *rows, size_t n, struct diag *d)
{
	(void)db;
	alone_calls++;
	alone_n = n;
	alone_len = rows[0].len;
	if (alone_len <= sizeof alone_bytes)
		memcpy(alone_bytes, rows[0].p, alone_len);
	if (alone_fail != 0) {
		diag_set(d, alone_fail, "alone failed");
		return -1;
	}
	rows[0].id = 4242;
	return 0;
}

/* Writes len bytes of fill through kind and checks that alone_write was
 * called once, with those bytes as its only row, and that its answer came
 * back: 0, or -1 with code fail. */
static void
check_alone(struct db *db, int kind, size_t len, int fail)
{
	static unsigned char row[GCOMMIT_ROW_MAX + 64];
	struct diag d;
	int64_t id = -1;
	int before = alone_calls, rc;

	ck_assert_uint_le(len, sizeof row);
	for (size_t j = 0; j < len; j++)
		row[j] = (unsigned char)(j * 7 + len);
	alone_fail = fail;
	diag_clear(&d);
	rc = gcommit_write(db, kind, row, len, &id, &d);
	ck_assert_int_eq(alone_calls, before + 1);
	ck_assert_uint_eq(alone_n, 1);
	ck_assert_uint_eq(alone_len, len);
	ck_assert_mem_eq(alone_bytes, row, len);
	if (fail == 0) {
		ck_assert_int_eq(rc, 0);
		ck_assert_int_eq(id, 4242); /* the write's id for the row */
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_int_eq(d.code, fail);
		ck_assert_str_eq(d.msg, "alone failed");
	}
}

/* Before gcommit_init every write goes straight to the write function. */
START_TEST(test_alone_without_region)
{
	struct db *db = db_new();
	int kind = gcommit_kind("alone", alone_write);

	ck_assert_int_eq(kind, 0);
	ck_assert(!db_in_txn(db));
	check_alone(db, kind, sizeof(struct row), 0);
	check_alone(db, kind, sizeof(struct row), DUP_CODE);
	check_alone(db, kind, 1, 0);
	db_free(db);
}
END_TEST

/* With the region but no slot (the master, or a process that never called
 * gcommit_use_slot) every write goes straight to the write function. */
START_TEST(test_alone_without_slot)
{
	struct db *db = db_new();
	int kind = gcommit_kind("alone", alone_write);

	ck_assert_int_eq(kind, 0);
	ck_assert_int_eq(gcommit_init(4), 0);
	check_alone(db, kind, sizeof(struct row), 0);
	check_alone(db, kind, sizeof(struct row), DIAG_CONFLICT);
	db_free(db);
}
END_TEST

/* In a slot: an uncontended write is a group of one with the write's own
 * answer, a row over GCOMMIT_ROW_MAX is written alone, and a kind that
 * was never declared is refused. */
START_TEST(test_alone_in_slot)
{
	struct db *db = db_new();
	int kind = gcommit_kind("alone", alone_write);
	struct diag d;

	ck_assert_int_eq(kind, 0);
	ck_assert_int_eq(gcommit_init(4), 0);
	gcommit_use_slot(2);
	check_alone(db, kind, sizeof(struct row), 0);
	check_alone(db, kind, sizeof(struct row), DUP_CODE);
	check_alone(db, kind, GCOMMIT_ROW_MAX, 0);
	check_alone(db, kind, GCOMMIT_ROW_MAX + 1, 0);
	check_alone(db, kind, GCOMMIT_ROW_MAX + 1, DUP_CODE);
	check_alone(db, kind, sizeof(struct row), 0); /* the slot is usable again */
	diag_clear(&d);
	ck_assert_int_eq(gcommit_write(db, kind + 1, "x", 1, NULL, &d), -1);
	ck_assert_int_eq(d.code, DIAG_INTERNAL);
	ck_assert_int_eq(gcommit_write(db, -1, "x", 1, NULL, &d), -1);
	db_free(db);
}
END_TEST

static Suite *
gcommit_suite(void)
{
	Suite *s = suite_create("gcommit");
	TCase *tc;

	tc = tcase_create("workers");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, shared_setup, shared_teardown);
	tcase_add_test(tc, test_every_row_once_grouped);
	tcase_add_test(tc, test_failed_group_retried_alone);
	tcase_add_test(tc, test_lost_group_unavailable);
	tcase_add_test(tc, test_leader_dies);
	tcase_add_test(tc, test_dead_leaders_hold_every_place);
	suite_add_tcase(s, tc);

	tc = tcase_create("alone");
	tcase_add_test(tc, test_alone_without_region);
	tcase_add_test(tc, test_alone_without_slot);
	tcase_add_test(tc, test_alone_in_slot);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(gcommit_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
