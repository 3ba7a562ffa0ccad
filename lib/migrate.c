#include "autoconfig.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "mem.h"
#include "migrate.h"
#include "timefmt.h"

#define MIGRATE_MAX_FILES 1000
#define MIGRATE_MAX_SIZE (4u << 20)
/* The lease of one migrate run, renewed before each file: long, because
 * one file may rebuild a large table; a run that died leaves it held
 * until then (migrate_apply's message says how to free it). */
#define MIGRATE_LEASE_SECONDS "3600" /* bound as text, like every lease parameter */
/* How long a second run waits for the first before it gives up. */
#define MIGRATE_WAIT_MS 600000
#define MIGRATE_POLL_MS 500

struct migration {
	int version;
	char name[256];
};

DB_QUERY(q_create, "CREATE TABLE IF NOT EXISTS schema_migrations ("
		   " version INT UNSIGNED NOT NULL PRIMARY KEY,"
		   " name VARCHAR(255) NOT NULL,"
		   " checksum CHAR(64) NOT NULL,"
		   " applied_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)"
		   ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
DB_QUERY(q_exists, "SELECT COUNT(*) FROM information_schema.tables"
		   " WHERE table_schema = DATABASE() AND table_name = ?");
DB_QUERY(q_get, "SELECT checksum FROM schema_migrations WHERE version = ?");
DB_QUERY(q_record, "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)");
DB_QUERY(q_max, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
/* One run at a time, on every host: a lease row with the database clock,
 * as the jobs take theirs (GET_LOCK is not there on Galera).  On Galera a
 * DDL statement, even a CREATE TABLE IF NOT EXISTS of a table that
 * exists, aborts every other session's statement on that table with a
 * deadlock; so the tables are created only when missing (and
 * schema_migrations only under the lease), and the lease statements and
 * the record of an applied file run again after a deadlock. */
DB_QUERY(q_lock_create, "CREATE TABLE IF NOT EXISTS schema_migrate_lock ("
			" id TINYINT UNSIGNED NOT NULL PRIMARY KEY,"
			" holder VARCHAR(128) NULL,"
			" lease_until DATETIME(6) NULL"
			") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4");
DB_QUERY(q_lock_row, "INSERT IGNORE INTO schema_migrate_lock (id) VALUES (1)");
DB_QUERY(q_lock_take, "UPDATE schema_migrate_lock"
		      " SET holder = ?, lease_until = NOW(6) + INTERVAL ? SECOND"
		      " WHERE id = 1 AND (holder IS NULL OR holder = ? OR lease_until < NOW(6))");
DB_QUERY(q_lock_holder, "SELECT holder, lease_until FROM schema_migrate_lock WHERE id = 1");
DB_QUERY(q_lock_free, "UPDATE schema_migrate_lock SET holder = NULL, lease_until = NULL"
		      " WHERE id = 1 AND holder = ?");

static int
by_version(const void *a, const void *b)
{
	const struct migration *x = a, *y = b;

	return (x->version > y->version) - (x->version < y->version);
}

/* Lists NNNN_*.sql in dir, sorted. *out is heap memory (mem_free). */
static int
list_files(const char *dir, struct migration **out, size_t *n, struct diag *d)
{
	DIR *dh = opendir(dir);
	struct migration *m = NULL;
	size_t count = 0;
	struct dirent *e;

	*out = NULL;
	*n = 0;
	if (dh == NULL) {
		diag_set(d, errno, "cannot open migrations directory %s: %s", dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(dh)) != NULL) {
		const char *nm = e->d_name;
		size_t len = strlen(nm);

		if (len < 10 || len >= sizeof m->name || strcmp(nm + len - 4, ".sql") != 0)
			continue;
		if (nm[0] < '0' || nm[0] > '9' || nm[1] < '0' || nm[1] > '9' || nm[2] < '0' ||
		    nm[2] > '9' || nm[3] < '0' || nm[3] > '9' || nm[4] != '_')
			continue;
		if (count == MIGRATE_MAX_FILES)
			break;
		m = mem_realloc(m, (count + 1) * sizeof *m);
		m[count].version = (nm[0] - '0') * 1000 + (nm[1] - '0') * 100 + (nm[2] - '0') * 10 +
				   (nm[3] - '0');
		snprintf(m[count].name, sizeof m[count].name, "%s", nm);
		count++;
	}
	closedir(dh);
	if (count > 0)
		qsort(m, count, sizeof *m, by_version);
	for (size_t i = 1; i < count; i++)
		if (m[i].version == m[i - 1].version) {
			diag_set(d, DIAG_INVALID, "two migrations with version %04d", m[i].version);
			mem_free(m);
			return -1;
		}
	*out = m;
	*n = count;
	return 0;
}

static char *
read_file(const char *dir, const char *name, size_t *len, struct diag *d)
{
	char path[4096];
	FILE *f;
	char *text;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	f = fopen(path, "rb");
	if (f == NULL) {
		diag_set(d, errno, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	text = mem_alloc(MIGRATE_MAX_SIZE + 1);
	*len = fread(text, 1, MIGRATE_MAX_SIZE + 1, f);
	fclose(f);
	if (*len > MIGRATE_MAX_SIZE) {
		diag_set(d, DIAG_TOO_LARGE, "%s is larger than 4 MiB", path);
		mem_free(text);
		return NULL;
	}
	text[*len] = '\0';
	return text;
}

static void
checksum(const char *text, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 32;

	static const char hex[] = "0123456789abcdef";

	EVP_Digest(text, len, md, &n, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}

/* 1 with sum filled when applied, 0 when not, -1 on error. */
static int
applied_checksum(struct db *db, int version, char sum[65], struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_get, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_int(st, 0, version);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc == 1)
		db_text_copy(st, 0, sum, 65);
	db_release(st);
	return rc;
}

/* Whether the table named exists in the database: *exists. */
static int
table_exists(struct db *db, const char *table, bool *exists, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_exists, d);
	int rc;

	if (st == NULL)
		return -1;
	db_bind_str(st, 0, table);
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	*exists = rc == 1 && db_int(st, 0) > 0;
	db_release(st);
	return rc < 0 ? -1 : 0;
}

/* One statement of no result, its parameters bound as text, run again
 * after a deadlock (db_autocommit); the rows it changed into *affected
 * when that is not NULL. */
struct retried {
	struct db_query *q;
	const char *text[3]; /* the parameters, in order; NULL ends them */
	uint64_t *affected;
};

static int
retried_run(struct db *db, void *arg, struct diag *d)
{
	struct retried *r = arg;
	struct db_stmt *st = db_prepare(db, r->q, d);

	if (st == NULL)
		return -1;
	for (unsigned i = 0; i < 3 && r->text[i] != NULL; i++)
		db_bind_str(st, i, r->text[i]);
	if (db_exec(st, d) < 0)
		return -1;
	if (r->affected != NULL)
		*r->affected = db_affected(st);
	return 0;
}

/* Creates the table of q when the table named does not exist. */
static int
create_missing(struct db *db, const char *table, struct db_query *q, struct diag *d)
{
	struct retried r = {.q = q};
	bool exists;

	if (table_exists(db, table, &exists, d) < 0)
		return -1;
	return exists ? 0 : db_autocommit(db, retried_run, &r, d);
}

/* ------------------------------------------------------------- the lease */

/* Runs one of the lease statements; *taken: whether it changed the row. */
static int
lock_exec(struct db *db, struct db_query *q, const char *holder, bool *taken, struct diag *d)
{
	uint64_t affected = 0;
	struct retried r = {.q = q, .affected = &affected};

	if (q == &q_lock_take) {
		r.text[0] = holder;
		r.text[1] = MIGRATE_LEASE_SECONDS;
		r.text[2] = holder;
	} else if (q == &q_lock_free) {
		r.text[0] = holder;
	}
	if (db_autocommit(db, retried_run, &r, d) < 0)
		return -1;
	if (taken != NULL)
		*taken = affected == 1;
	return 0;
}

/* Who holds the lease, and until when, into text. */
static void
lock_describe(struct db *db, char *text, size_t cap)
{
	struct diag d;
	struct db_stmt *st = db_prepare(db, &q_lock_holder, &d);

	snprintf(text, cap, "unknown");
	if (st == NULL || db_execute(st, &d) < 0)
		return;
	if (db_fetch(st, &d) == 1)
		snprintf(text, cap, "%s, lease until %s UTC",
			 db_text(st, 0, NULL) ? db_text(st, 0, NULL) : "nobody",
			 db_text(st, 1, NULL) ? db_text(st, 1, NULL) : "-");
	db_release(st);
}

/* Takes the lease for holder, waiting up to MIGRATE_WAIT_MS for another
 * run to end; says on out (may be NULL) that it waits. */
static int
lock_take(struct db *db, const char *holder, FILE *out, struct diag *d)
{
	char who[256];
	bool taken = false;

	if (create_missing(db, "schema_migrate_lock", &q_lock_create, d) < 0 ||
	    lock_exec(db, &q_lock_row, holder, NULL, d) < 0)
		return -1;
	for (long waited = 0;; waited += MIGRATE_POLL_MS) {
		if (lock_exec(db, &q_lock_take, holder, &taken, d) < 0)
			return -1;
		if (taken)
			return 0;
		if (waited >= MIGRATE_WAIT_MS)
			break;
		if (waited == 0 && out != NULL) {
			lock_describe(db, who, sizeof who);
			fprintf(out, "waiting for another migrate to end (%s)\n", who);
			fflush(out);
		}
		timefmt_sleep_ms(MIGRATE_POLL_MS);
	}
	lock_describe(db, who, sizeof who);
	diag_set(d, DIAG_CONFLICT,
		 "another migrate still runs (%s); if it died, free its lease with:"
		 " UPDATE schema_migrate_lock SET holder = NULL WHERE id = 1",
		 who);
	return -1;
}

/* ------------------------------------------------------------- the walk */

/* Applies (apply) or only reports the migrations of dir.  Reporting
 * writes nothing: without schema_migrations every file is pending.
 * Applying renews holder's lease before each file. */
static int
walk(struct db *db, const char *dir, FILE *out, int apply, const char *holder, int *pending,
     struct diag *d)
{
	struct migration *m;
	size_t n;
	bool table = true;
	int rc = -1;

	*pending = 0;
	if ((!apply && table_exists(db, "schema_migrations", &table, d) < 0) ||
	    list_files(dir, &m, &n, d) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t len;
		char *text = read_file(dir, m[i].name, &len, d);
		char sum[65], have[65];
		int state;

		if (text == NULL)
			goto out;
		checksum(text, len, sum);
		state = table ? applied_checksum(db, m[i].version, have, d) : 0;
		if (state < 0) {
			mem_free(text);
			goto out;
		}
		if (state == 1) {
			mem_free(text);
			if (strcmp(sum, have) != 0) {
				diag_set(
					d, DIAG_CONFLICT,
					"%s was changed after it was applied (checksum %.12s..., applied %.12s...)",
					m[i].name, sum, have);
				goto out;
			}
			if (out != NULL && !apply)
				fprintf(out, "applied  %s\n", m[i].name);
			continue;
		}
		(*pending)++;
		if (!apply) {
			mem_free(text);
			if (out != NULL)
				fprintf(out, "pending  %s\n", m[i].name);
			continue;
		}
		bool renewed = false;

		if (lock_exec(db, &q_lock_take, holder, &renewed, d) < 0 || !renewed) {
			if (!renewed)
				diag_set(d, DIAG_CONFLICT, "lost the migrate lease before %s",
					 m[i].name);
			mem_free(text);
			goto out;
		}
		if (db_exec_script(db, text, len, d) < 0) {
			char msg[sizeof d->msg];

			snprintf(msg, sizeof msg, "%s", d->msg);
			diag_set(d, d->code, "%s: %s", m[i].name, msg);
			mem_free(text);
			goto out;
		}
		mem_free(text);
		char version[12];
		struct retried record = {.q = &q_record, .text = {version, m[i].name, sum}};

		snprintf(version, sizeof version, "%d", m[i].version);
		if (db_autocommit(db, retried_run, &record, d) < 0)
			goto out;
		if (out != NULL)
			fprintf(out, "applied  %s\n", m[i].name);
	}
	rc = 0;
out:
	mem_free(m);
	return rc;
}

int
migrate_apply(struct db *db, const char *dir, FILE *out, struct diag *d)
{
	char holder[JOBS_HOLDER_MAX];
	struct diag ignored;
	int pending, rc;

	jobs_holder(holder);
	if (lock_take(db, holder, out, d) < 0)
		return -1;
	rc = create_missing(db, "schema_migrations", &q_create, d);
	if (rc == 0)
		rc = walk(db, dir, out, 1, holder, &pending, d);
	/* a lease left behind ends by itself; the run's own error matters more */
	lock_exec(db, &q_lock_free, holder, NULL, &ignored);
	return rc;
}

int
migrate_status(struct db *db, const char *dir, FILE *out, int *pending, struct diag *d)
{
	return walk(db, dir, out, 0, NULL, pending, d);
}

int
migrate_latest(const char *dir, struct diag *d)
{
	struct migration *m;
	size_t n;
	int latest;

	if (list_files(dir, &m, &n, d) < 0)
		return -1;
	latest = n > 0 ? m[n - 1].version : 0;
	mem_free(m);
	return latest;
}

int
migrate_applied(struct db *db, int *version, struct diag *d)
{
	struct db_stmt *st = db_prepare(db, &q_max, d);
	int rc;

	if (st == NULL)
		return -1;
	if (db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	*version = rc == 1 ? (int)db_int(st, 0) : 0;
	db_release(st);
	return rc < 0 ? -1 : 0;
}
