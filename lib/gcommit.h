/* gcommit: group commit of single-row writes across the pool's workers.
 *
 * A one-row write sent alone costs the database a statement and a durable
 * commit, and costs the worker a round trip; most of it is fixed cost, not
 * the row.  When several workers write rows of the same kind at the same
 * time, gcommit writes them as one multi-row statement (or one CALL of a
 * procedure that writes them all, with what each row needs): a worker that
 * finds a free place to lead becomes a leader and writes every row queued
 * when it starts (at most GCOMMIT_GROUP_MAX) on its own connection; the
 * others wait.  At most two groups of a kind are written at once, so
 * rows that arrive while both places are taken gather into the next
 * group, which a finishing leader hands to the oldest of them.  An
 * uncontended write is a group of one: the statement it would have been
 * anyway.
 *
 * The contract a caller sees is that of the write alone: gcommit_write
 * returns 0 only when the row is committed.  A group whose statement
 * fails with a database error is written again row by row, each by its
 * own worker, so every caller gets its own row's answer; but one that
 * waited out its lock retries (db_error_busy) gives that answer to every
 * row, which alone would wait again for the same lock.  A group whose
 * connection was lost while it ran, or whose leader died, may or may not
 * have committed: each of its callers gets DIAG_UNAVAILABLE ("outcome
 * unknown"), as a lost write of its own would have given.
 *
 * The queue lives in one shared memory region that the pool master maps
 * before it forks (gcommit_init), one slot per worker, under a robust
 * process-shared mutex; each waiting worker sleeps on its slot's
 * semaphore.  Without the region (workers = 0, or before init) and inside
 * a transaction (the row must join it), every write is written alone. */
#ifndef CAIRN_GCOMMIT_H
#define CAIRN_GCOMMIT_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "diag.h"

#define GCOMMIT_GROUP_MAX 32 /* rows in one statement */
#define GCOMMIT_ROW_MAX 2048 /* bytes of one row; a bigger row is written alone */
#define GCOMMIT_MAX_KINDS 4

struct gcommit_row {
	const void *p;
	size_t len;
	int64_t id; /* set by the write: what its caller gets back (a new row's id) */
};

/* Writes rows[0..n) (1 <= n <= GCOMMIT_GROUP_MAX) as one atomic unit (one
 * statement, or a CALL that is one transaction), which commits by itself
 * outside a transaction and joins the caller's transaction inside one;
 * n > 1 only outside one.  0, or -1 with d set and nothing written.  The
 * rows are the bytes callers passed to gcommit_write; their ids are 0 on
 * entry. */
typedef int (*gcommit_write_fn)(struct db *db, struct gcommit_row *rows, size_t n, struct diag *d);

/* Declares a kind of row and returns its id; call before gcommit_init, in
 * the same order in every process (each capability's init does). */
int gcommit_kind(const char *name, gcommit_write_fn write);

/* Maps the shared region for `slots` workers and declares the metrics.
 * The pool master calls it before it forks (and before metrics_init);
 * -1 when the region cannot be mapped (every write is then alone). */
int gcommit_init(size_t slots);

/* A worker's slot, below the init's slots; called once in the child before its
 * first request.  Takes over whatever the slot's previous owner left. */
void gcommit_use_slot(size_t slot);

/* Writes one row of kind `kind` (len bytes at row, copied), grouped with
 * other workers' rows of that kind when they write at the same time.
 * 0 when committed, with *id (when id is not NULL) set to the row's id
 * as the write gave it; -1 with d set otherwise (see above). */
int gcommit_write(struct db *db, int kind, const void *row, size_t len, int64_t *id,
		  struct diag *d);

#endif
