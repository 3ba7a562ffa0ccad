#include "autoconfig.h"

#include <errno.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "db.h"
#include "log.h"
#include "mem.h"
#include "text.h"
#include "timefmt.h"

#define DB_MAX_QUERIES 256
#define DB_TXN_ATTEMPTS 5
/* A lock held for all of db.lock_wait_timeout is likely held longer, and
 * every wait holds a pool worker: a lock wait timeout is tried again once. */
#define DB_LOCK_WAIT_ATTEMPTS 2

/* How a result column arrives: as text in buf, or (a SELECT's integer,
 * DATETIME, TIMESTAMP and DATE columns) in binary, for db_text to format
 * into buf only when asked. */
enum db_col_kind { DB_COL_TEXT, DB_COL_INT, DB_COL_DATETIME, DB_COL_DATE };

struct db_col {
	enum db_col_kind kind;
	char *buf;
	unsigned long cap;
	unsigned long len;
	long long ival;    /* DB_COL_INT */
	MYSQL_TIME tval;   /* DB_COL_DATETIME, DB_COL_DATE */
	unsigned decimals; /* DB_COL_DATETIME: fractional digits shown */
	my_bool is_unsigned;
	my_bool is_null;
	my_bool error;
};

struct db_stmt {
	struct db *db;
	MYSQL_STMT *stmt;
	const char *sql;
	unsigned nparams;
	MYSQL_BIND *params;
	long long *ints;
	unsigned long *lens;
	my_bool *nulls;
	unsigned ncols;
	MYSQL_BIND *res;
	struct db_col *cols;
	bool has_result; /* executed and the result is not yet released */
};

struct db {
	MYSQL *conn;
	struct db_stmt *stmts[DB_MAX_QUERIES];
	unsigned long reconnects;
	unsigned long retries;
	bool lost; /* a connection failed or was lost since the last success */
	/* The connection was lost.  Statements stay allocated until the next
	 * db_connect(), because callers still hold them (to release them after
	 * the error); only then is the handle torn down and re-made. */
	bool broken;
	bool in_txn;           /* inside db_txn's fn */
	bool consecutive_ids;  /* db_consecutive_ids(), read at each connect */
	bool statement_binlog; /* db_statement_binlog(), likewise */
	size_t max_packet;     /* db_max_packet(), likewise */
	/* No connect is tried before this (timefmt_monotonic_us): see
	 * db_connect. */
	uint64_t connect_after_us;
	char connect_error[sizeof(((struct diag *)0)->msg)]; /* why the last connect failed */
};

static int db_next_slot;

/* ------------------------------------------------------------------ errors */

static bool
code_unavailable(int code)
{
	switch (code) {
	case 2002: /* CR_CONNECTION_ERROR */
	case 2003: /* CR_CONN_HOST_ERROR */
	case 2005: /* CR_UNKNOWN_HOST */
	case 2006: /* CR_SERVER_GONE_ERROR */
	case 2013: /* CR_SERVER_LOST */
	case 2055: /* CR_SERVER_LOST_EXTENDED */
	case 1040: /* ER_CON_COUNT_ERROR */
	case 1203: /* ER_TOO_MANY_USER_CONNECTIONS: max_user_connections */
	case 1226: /* ER_USER_LIMIT_REACHED: the user's own MAX_USER_CONNECTIONS... */
	case 1053: /* ER_SERVER_SHUTDOWN */
	case 1927: /* ER_CONNECTION_KILLED */
	case 4031: /* client disconnected by the server */
	/* the connection is remade: a load balancer in front of a Galera
	 * cluster may send the new one to a node that serves */
	case DB_ER_NODE_NOT_READY:
	case DIAG_UNAVAILABLE: return true;
	default: return false;
	}
}

bool
db_error_unavailable(const struct diag *d)
{
	return code_unavailable(d->code);
}

bool
db_error_reconnectable(const struct diag *d)
{
	return d->code != DIAG_UNAVAILABLE && code_unavailable(d->code);
}

bool
db_error_read_only(const struct diag *d)
{
	/* 1290 is any option that prevents a statement; of those, only
	 * read_only can stop what cairn runs (it writes no files) */
	return d->code == DB_ER_OPTION_PREVENTS_STATEMENT || d->code == DB_ER_READ_ONLY_MODE ||
	       d->code == DB_ER_READ_ONLY_TRANSACTION || d->code == DB_ER_OPEN_AS_READONLY;
}

bool
db_error_out_of_space(const struct diag *d)
{
	return d->code == DB_ER_RECORD_FILE_FULL || d->code == DB_ER_DISK_FULL ||
	       d->code == DB_ER_TEMP_FILE_WRITE_FAILURE;
}

bool
db_error_too_large(const struct diag *d)
{
	return d->code == DB_ER_NET_PACKET_TOO_LARGE;
}

bool
db_error_busy(const struct diag *d)
{
	return d->code == DB_ER_LOCK_DEADLOCK || d->code == DB_ER_LOCK_WAIT_TIMEOUT ||
	       d->code == DB_ER_QUERY_INTERRUPTED || d->code == DB_ER_STATEMENT_TIMEOUT ||
	       d->code == DB_ER_QUERY_TIMEOUT || d->code == DB_ER_TOO_MANY_PREPARED ||
	       db_error_read_only(d) || db_error_out_of_space(d);
}

/* Whether what failed with d on its attempt'th try (from 0) runs again. */
static bool
lock_retry(const struct diag *d, int attempt)
{
	if (d->code == DB_ER_LOCK_DEADLOCK)
		return attempt + 1 < DB_TXN_ATTEMPTS;
	if (d->code == DB_ER_LOCK_WAIT_TIMEOUT)
		return attempt + 1 < DB_LOCK_WAIT_ATTEMPTS;
	return false;
}

static void
set_conn_error(struct db *db, struct diag *d, const char *what)
{
	diag_set(d, (int)mysql_errno(db->conn), "%s: %s", what, mysql_error(db->conn));
	snprintf(d->sqlstate, sizeof d->sqlstate, "%s", mysql_sqlstate(db->conn));
	if (code_unavailable(d->code))
		db->lost = db->broken = true;
}

static void
set_stmt_error(struct db_stmt *st, struct diag *d, const char *what)
{
	/* Connector/C leaves a link lost while reading an unbuffered row
	 * (2013) on the connection only, with no error on the statement */
	if (mysql_stmt_errno(st->stmt) == 0 && mysql_errno(st->db->conn) != 0) {
		set_conn_error(st->db, d, what);
		return;
	}
	diag_set(d, (int)mysql_stmt_errno(st->stmt), "%s: %s", what, mysql_stmt_error(st->stmt));
	snprintf(d->sqlstate, sizeof d->sqlstate, "%s", mysql_stmt_sqlstate(st->stmt));
	if (code_unavailable(d->code))
		st->db->lost = st->db->broken = true;
	else if (db_error_too_large(d))
		st->db->broken = true; /* the server closes the link after this error */
}

/* -------------------------------------------------------------- connection */

struct db *
db_new(void)
{
	return mem_calloc(1, sizeof(struct db));
}

static void
stmt_free(struct db_stmt *st)
{
	if (st == NULL)
		return;
	if (st->stmt != NULL)
		mysql_stmt_close(st->stmt);
	for (unsigned i = 0; i < st->ncols; i++)
		mem_free(st->cols[i].buf);
	mem_free(st->params);
	mem_free(st->ints);
	mem_free(st->lens);
	mem_free(st->nulls);
	mem_free(st->res);
	mem_free(st->cols);
	mem_free(st);
}

void
db_disconnect(struct db *db)
{
	for (int i = 0; i < DB_MAX_QUERIES; i++) {
		stmt_free(db->stmts[i]);
		db->stmts[i] = NULL;
	}
	if (db->conn != NULL)
		mysql_close(db->conn);
	db->conn = NULL;
	db->broken = false;
}

void
db_free(struct db *db)
{
	if (db == NULL)
		return;
	db_disconnect(db);
	mem_free(db);
}

bool
db_connected(const struct db *db)
{
	return db->conn != NULL && !db->broken;
}

unsigned long
db_reconnects(const struct db *db)
{
	return db->reconnects;
}

unsigned long
db_retries(const struct db *db)
{
	return db->retries;
}

/* Reads, at each connect, what the server promises about the ids of one
 * INSERT, how it logs statements and the largest statement it takes
 * (db_consecutive_ids, db_statement_binlog, db_max_packet).  A server
 * without the variables (another engine) promises nothing, is taken to log
 * statements, and its statements are not measured. */
static int
read_server_properties(struct db *db, struct diag *d)
{
	static const char sql[] =
		"SELECT @@innodb_autoinc_lock_mode, @@log_bin, @@binlog_format, @@max_allowed_packet";
	MYSQL_RES *res;
	MYSQL_ROW row;

	db->consecutive_ids = false;
	db->statement_binlog = true;
	db->max_packet = 0;
	if (mysql_real_query(db->conn, sql, sizeof sql - 1) != 0) {
		if (mysql_errno(db->conn) == 1193) /* ER_UNKNOWN_SYSTEM_VARIABLE */
			return 0;
		set_conn_error(db, d, "session setup");
		return -1;
	}
	res = mysql_store_result(db->conn);
	if (res == NULL) {
		set_conn_error(db, d, "session setup");
		return -1;
	}
	row = mysql_fetch_row(res);
	if (row != NULL && row[0] != NULL && row[1] != NULL && row[2] != NULL && row[3] != NULL) {
		db->consecutive_ids = strtoll(row[0], NULL, 10) < 2;
		db->statement_binlog =
			strtoll(row[1], NULL, 10) != 0 && strcasecmp(row[2], "STATEMENT") == 0;
		db->max_packet = (size_t)strtoull(row[3], NULL, 10);
	}
	mysql_free_result(res);
	return 0;
}

/* A transaction left open by a process that stopped between two of its
 * statements (SIGSTOP, a debugger, a host suspended or swapping) keeps its
 * row locks until the server drops the connection: wait_timeout, hours by
 * default.  cairn's transactions never wait on anything but the server
 * between statements, so MariaDB is told to drop such a connection after
 * db.idle_transaction_timeout; its transaction rolls back, and the process,
 * if it runs again, finds the connection lost and retries the transaction
 * whole.  MySQL has no such variable, so there the limit is wait_timeout. */
static void
idle_transaction_clause(struct db *db, char *buf, size_t size)
{
	const char *server = mysql_get_server_info(db->conn);
	long long seconds = config_int("db.idle_transaction_timeout");

	buf[0] = '\0';
	if (seconds > 0 && server != NULL && strstr(server, "MariaDB") != NULL)
		snprintf(buf, size, ", idle_transaction_timeout = %lld", seconds);
}

#define ISOLATION_SQL "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"

/* Every setting cairn relies on is set here, whatever the server's
 * defaults and whatever a host's init_connect (which runs first) set:
 * - the character set the handshake asked for, again: an init_connect's
 *   'SET NAMES utf8' made the server refuse every emoji, and 'SET NAMES
 *   latin1' stored text double-encoded;
 * - autocommit on and a COMMIT that chains nothing: otherwise every
 *   write cairn sends as one statement (or after a COMMIT) would be
 *   answered and never committed, lost with the connection;
 * - no sql_select_limit, which silently cut every listing short;
 * - sql_safe_updates off: some of cairn's UPDATEs are bounded by other
 *   columns than a key (a worker giving back its job leases) or join
 *   another table (the geo worker resolving a claim), which safe updates
 *   refuses whenever the plan scans;
 * - big selects allowed: cairn's selects are bounded by LIMIT or by
 *   design, and a host's max_join_size made a timeline page of a common
 *   tag, or the tag counts, a 500;
 * - UTC, a strict sql_mode, and the lock wait and idle transaction limits
 *   of the configuration. */
static int
session_setup(struct db *db, struct diag *d)
{
	char sql[1024], idle[64];

	idle_transaction_clause(db, idle, sizeof idle);
	snprintf(sql, sizeof sql,
		 "SET NAMES utf8mb4, autocommit = 1, completion_type = 'NO_CHAIN', "
		 "sql_select_limit = 18446744073709551615, sql_safe_updates = 0, "
		 "sql_big_selects = 1, time_zone = '+00:00', "
		 "sql_mode = 'STRICT_ALL_TABLES,ONLY_FULL_GROUP_BY,NO_ZERO_DATE,"
		 "NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION', "
		 "innodb_lock_wait_timeout = %lld%s",
		 config_int("db.lock_wait_timeout"), idle);
	if (mysql_real_query(db->conn, sql, strlen(sql)) != 0) {
		set_conn_error(db, d, "session setup");
		return -1;
	}
	/* cairn's snapshots (a history page, a claim) and its statements'
	 * locks are designed for InnoDB's default, REPEATABLE READ; a host
	 * whose global default is READ COMMITTED changes what they see, and
	 * with a statement-based binary log refuses every write (1665) */
	if (mysql_real_query(db->conn, ISOLATION_SQL, sizeof ISOLATION_SQL - 1) != 0) {
		set_conn_error(db, d, "session setup");
		return -1;
	}
	return read_server_properties(db, d);
}

/* db.tls on a TCP connection (a unix socket never leaves the host): "on"
 * refuses a server that will not encrypt; "verify" also refuses one whose
 * certificate is not signed by db.tls_ca (or the system's CAs) for
 * db.host.  Both options are set either way, since Connector/C's default
 * for verification differs between versions. */
static void
set_tls_options(MYSQL *conn)
{
	const char *mode = config_str("db.tls"), *ca = config_str("db.tls_ca");
	my_bool enforce = strcmp(mode, "off") != 0, verify = strcmp(mode, "verify") == 0;

	mysql_options(conn, MYSQL_OPT_SSL_ENFORCE, &enforce);
	mysql_options(conn, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
	if (verify && ca[0])
		mysql_options(conn, MYSQL_OPT_SSL_CA, ca);
}

int
db_connect(struct db *db, struct diag *d)
{
	unsigned int t;
	my_bool off = 0;
	const char *sock = config_str("db.socket");
	uint64_t t0;

	if (db->broken)
		db_disconnect(db); /* no statement of the lost connection is in use now */
	if (db->conn != NULL)
		return 0;
	t0 = timefmt_monotonic_us();
	if (t0 < db->connect_after_us) {
		diag_set(d, DIAG_UNAVAILABLE,
			 "not connecting again yet; the last connect failed: %s",
			 db->connect_error);
		db->lost = true;
		return -1;
	}
	db->conn = mysql_init(NULL);
	if (db->conn == NULL) {
		diag_set(d, DIAG_INTERNAL, "mysql_init failed");
		return -1;
	}
	t = (unsigned)config_int("db.connect_timeout");
	mysql_options(db->conn, MYSQL_OPT_CONNECT_TIMEOUT, &t);
	t = (unsigned)config_int("db.read_timeout");
	mysql_options(db->conn, MYSQL_OPT_READ_TIMEOUT, &t);
	t = (unsigned)config_int("db.write_timeout");
	mysql_options(db->conn, MYSQL_OPT_WRITE_TIMEOUT, &t);
	mysql_options(db->conn, MYSQL_OPT_RECONNECT, &off);
	mysql_options(db->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (!sock[0])
		set_tls_options(db->conn);
	if (mysql_real_connect(db->conn, sock[0] ? NULL : config_str("db.host"),
			       config_str("db.user"), config_str("db.password"),
			       config_str("db.name"), (unsigned)config_int("db.port"),
			       sock[0] ? sock : NULL, 0) == NULL) {
		/* whatever refused it (the network, the server, the account's
		 * password or limits, a host blocked after too many connection
		 * errors), the database cannot be used now: 503, the reason in
		 * the message for the log */
		diag_set(d, (int)mysql_errno(db->conn), "connect: %s", mysql_error(db->conn));
		if (!code_unavailable(d->code))
			d->code = DIAG_UNAVAILABLE;
		mysql_close(db->conn);
		db->conn = NULL;
		db->lost = true;
		/* A server that accepts and then says nothing (stopped with
		 * SIGSTOP, swapping, hung) made this attempt wait up to
		 * db.connect_timeout; the next is tried only after as long
		 * again.  Meanwhile the requests queued behind this worker get
		 * their 503 at once instead of each waiting it out (twice,
		 * with the request's retry) until nginx gives up on the last
		 * of them.  A refused connect fails at once, so is tried again
		 * at once. */
		db->connect_after_us = 2 * timefmt_monotonic_us() - t0;
		snprintf(db->connect_error, sizeof db->connect_error, "%s", d->msg);
		return -1;
	}
	if (session_setup(db, d) < 0) {
		/* never a connection without its session settings (UTC, strict
		 * mode, the lock wait): the next call connects again */
		db_disconnect(db);
		db->lost = true;
		return -1;
	}
	if (db->lost) {
		db->reconnects++;
		log_info("database connection re-established");
	}
	db->lost = false;
	return 0;
}

int
db_ping(struct db *db, struct diag *d)
{
	/* a connection that died while idle fails once, then reconnects */
	for (int attempt = 0; attempt < 2; attempt++) {
		if (db_connect(db, d) < 0)
			return -1;
		if (mysql_real_query(db->conn, "DO 1", 4) == 0)
			return 0;
		set_conn_error(db, d, "ping");
		if (!db_error_reconnectable(d))
			return -1;
	}
	return -1;
}

/* -------------------------------------------------------------- statements */

static enum db_col_kind
column_kind(const MYSQL_FIELD *f)
{
	switch (f->type) {
	case MYSQL_TYPE_TINY:
	case MYSQL_TYPE_SHORT:
	case MYSQL_TYPE_INT24:
	case MYSQL_TYPE_LONG:
	case MYSQL_TYPE_LONGLONG:
	case MYSQL_TYPE_YEAR: return DB_COL_INT;
	case MYSQL_TYPE_DATETIME:
	case MYSQL_TYPE_TIMESTAMP: return DB_COL_DATETIME;
	case MYSQL_TYPE_DATE: return DB_COL_DATE;
	default: return DB_COL_TEXT;
	}
}

/* Result columns, from the statement's metadata: known at prepare for a
 * SELECT, only after the first execute for a CALL whose procedure ends
 * with a SELECT.  A SELECT's integer and date columns are fetched in
 * binary (libmariadb would format each with printf, and a page has
 * hundreds); every other value, and every column of a CALL (whose types a
 * procedure may vary), as text into a growable buffer. */
static void
setup_columns(struct db_stmt *st, bool typed)
{
	MYSQL_RES *meta = mysql_stmt_result_metadata(st->stmt);

	if (meta == NULL)
		return;
	st->ncols = mysql_num_fields(meta);
	st->res = mem_calloc(st->ncols, sizeof *st->res);
	st->cols = mem_calloc(st->ncols, sizeof *st->cols);
	for (unsigned i = 0; i < st->ncols; i++) {
		const MYSQL_FIELD *f = mysql_fetch_field_direct(meta, i);
		struct db_col *c = &st->cols[i];
		MYSQL_BIND *b = &st->res[i];

		c->kind = typed ? column_kind(f) : DB_COL_TEXT;
		c->cap = 64; /* a formatted integer or date fits */
		c->buf = mem_alloc(c->cap);
		b->length = &c->len;
		b->is_null = &c->is_null;
		b->error = &c->error;
		switch (c->kind) {
		case DB_COL_INT:
			c->is_unsigned = (f->flags & UNSIGNED_FLAG) != 0;
			b->buffer_type = MYSQL_TYPE_LONGLONG;
			b->buffer = &c->ival;
			b->is_unsigned = c->is_unsigned;
			break;
		case DB_COL_DATETIME:
		case DB_COL_DATE:
			c->decimals = f->decimals;
			b->buffer_type =
				c->kind == DB_COL_DATE ? MYSQL_TYPE_DATE : MYSQL_TYPE_DATETIME;
			b->buffer = &c->tval;
			break;
		case DB_COL_TEXT:
			b->buffer_type = MYSQL_TYPE_STRING;
			b->buffer = c->buf;
			/* one byte kept back for the terminating NUL */
			b->buffer_length = c->cap - 1;
			break;
		}
	}
	mysql_free_result(meta);
}

/* A date column as libmariadb formats it as text: "YYYY-MM-DD", for a
 * DATETIME then " HH:MM:SS" and, when the column has fractional digits,
 * '.' and that many (at most 6) digits of the microseconds. */
static unsigned long
format_date(const struct db_col *c, char *out)
{
	const MYSQL_TIME *t = &c->tval;
	char *p = out;

	p = text_put_digits(p, t->year, 4);
	*p++ = '-';
	p = text_put_digits(p, t->month, 2);
	*p++ = '-';
	p = text_put_digits(p, t->day, 2);
	if (c->kind == DB_COL_DATETIME) {
		*p++ = ' ';
		p = text_put_digits(p, t->hour, 2);
		*p++ = ':';
		p = text_put_digits(p, t->minute, 2);
		*p++ = ':';
		p = text_put_digits(p, t->second, 2);
		if (c->decimals > 0) {
			/* six digits, then the NUL below cuts them to the column's */
			*p++ = '.';
			text_put_digits(p, t->second_part, 6);
			p += c->decimals < 6 ? c->decimals : 6;
		}
	}
	*p = '\0';
	return (unsigned long)(p - out);
}

struct db_stmt *
db_prepare(struct db *db, struct db_query *q, struct diag *d)
{
	struct db_stmt *st;

	if (q->slot < 0) {
		if (db_next_slot >= DB_MAX_QUERIES) {
			diag_set(d, DIAG_INTERNAL, "too many distinct queries");
			return NULL;
		}
		q->slot = db_next_slot++;
	}
	if (db_connect(db, d) < 0)
		return NULL;
	st = db->stmts[q->slot];
	if (st != NULL) {
		if (st->has_result)
			db_release(st);
		return st;
	}
	st = mem_calloc(1, sizeof *st);
	st->db = db;
	st->sql = q->sql;
	st->stmt = mysql_stmt_init(db->conn);
	if (st->stmt == NULL) {
		mem_free(st);
		diag_set(d, DIAG_INTERNAL, "mysql_stmt_init failed");
		return NULL;
	}
	if (mysql_stmt_prepare(st->stmt, q->sql, strlen(q->sql)) != 0) {
		set_stmt_error(st, d, "prepare");
		/* the server's state is the caller's to report; anything
		 * else (a statement the schema does not match) is a bug */
		if (!db_error_unavailable(d) && !db_error_busy(d))
			log_error("prepare failed (%d): %s", d->code, d->msg);
		stmt_free(st); /* not in the cache yet */
		return NULL;
	}
	st->nparams = (unsigned)mysql_stmt_param_count(st->stmt);
	st->params = mem_calloc(st->nparams, sizeof *st->params);
	st->ints = mem_calloc(st->nparams, sizeof *st->ints);
	st->lens = mem_calloc(st->nparams, sizeof *st->lens);
	st->nulls = mem_calloc(st->nparams, sizeof *st->nulls);
	setup_columns(st, true);
	db->stmts[q->slot] = st;
	return st;
}

void
db_bind_int(struct db_stmt *st, unsigned i, int64_t v)
{
	if (i >= st->nparams)
		abort();
	st->ints[i] = v;
	st->nulls[i] = 0;
	st->params[i].buffer_type = MYSQL_TYPE_LONGLONG;
	st->params[i].buffer = &st->ints[i];
	st->params[i].is_null = &st->nulls[i];
	st->params[i].is_unsigned = 0;
}

void
db_bind_text(struct db_stmt *st, unsigned i, const void *p, size_t len)
{
	if (i >= st->nparams)
		abort();
	st->lens[i] = (unsigned long)len;
	st->nulls[i] = 0;
	st->params[i].buffer_type = MYSQL_TYPE_STRING;
	st->params[i].buffer = (void *)(uintptr_t)(p ? p : "");
	st->params[i].buffer_length = (unsigned long)len;
	st->params[i].length = &st->lens[i];
	st->params[i].is_null = &st->nulls[i];
}

void
db_bind_str(struct db_stmt *st, unsigned i, const char *s)
{
	db_bind_text(st, i, s, strlen(s));
}

void
db_bind_null(struct db_stmt *st, unsigned i)
{
	if (i >= st->nparams)
		abort();
	st->nulls[i] = 1;
	st->params[i].buffer_type = MYSQL_TYPE_NULL;
	st->params[i].is_null = &st->nulls[i];
}

/* st's size as db.h counts it (DB_PACKET_*): at least the bytes of the
 * COM_STMT_EXECUTE packet that carries it, whose header, null bitmap,
 * parameter types and length prefixes these bounds include. */
static size_t
execute_packet_bytes(const struct db_stmt *st)
{
	size_t n = DB_PACKET_BASE;

	for (unsigned i = 0; i < st->nparams; i++) {
		if (st->nulls[i])
			n += DB_PACKET_NULL;
		else if (st->params[i].buffer_type == MYSQL_TYPE_LONGLONG)
			n += DB_PACKET_INT;
		else
			n += DB_PACKET_TEXT + st->lens[i];
	}
	return n;
}

/* Refuses (as the server would, but keeping the connection) a statement
 * over the server's max_allowed_packet, when that is known. */
static int
check_packet(const struct db_stmt *st, struct diag *d)
{
	size_t bytes;

	if (st->db->max_packet == 0)
		return 0;
	bytes = execute_packet_bytes(st);
	if (bytes <= st->db->max_packet)
		return 0;
	diag_set(d, DB_ER_NET_PACKET_TOO_LARGE,
		 "a statement of %zu bytes is over the database's max_allowed_packet (%zu bytes)",
		 bytes, st->db->max_packet);
	return -1;
}

int
db_execute(struct db_stmt *st, struct diag *d)
{
	if (st->has_result)
		db_release(st);
	if (check_packet(st, d) < 0)
		return -1;
	if (st->nparams > 0 && mysql_stmt_bind_param(st->stmt, st->params) != 0) {
		set_stmt_error(st, d, "bind");
		return -1;
	}
	if (mysql_stmt_execute(st->stmt) != 0) {
		set_stmt_error(st, d, "execute");
		return -1;
	}
	if (st->ncols == 0 && mysql_stmt_field_count(st->stmt) > 0)
		setup_columns(st, false); /* a CALL: its result is described only now */
	if (st->ncols > 0 && mysql_stmt_field_count(st->stmt) > 0) {
		if (mysql_stmt_bind_result(st->stmt, st->res) != 0) {
			set_stmt_error(st, d, "bind result");
			return -1;
		}
		st->has_result = true;
	}
	return 0;
}

int
db_fetch(struct db_stmt *st, struct diag *d)
{
	int rc;

	if (!st->has_result)
		return 0;
	rc = mysql_stmt_fetch(st->stmt);
	if (rc == MYSQL_NO_DATA)
		return 0;
	if (rc == 1) {
		set_stmt_error(st, d, "fetch");
		return -1;
	}
	if (rc == MYSQL_DATA_TRUNCATED) {
		bool rebind = false;

		for (unsigned i = 0; i < st->ncols; i++) {
			struct db_col *c = &st->cols[i];

			if (!c->error || c->kind != DB_COL_TEXT)
				continue;
			c->cap = c->len + 1;
			c->buf = mem_realloc(c->buf, c->cap);
			st->res[i].buffer = c->buf;
			st->res[i].buffer_length = c->cap - 1;
			if (mysql_stmt_fetch_column(st->stmt, &st->res[i], i, 0) != 0) {
				set_stmt_error(st, d, "fetch column");
				return -1;
			}
			rebind = true;
		}
		if (rebind && mysql_stmt_bind_result(st->stmt, st->res) != 0) {
			set_stmt_error(st, d, "bind result");
			return -1;
		}
	}
	for (unsigned i = 0; i < st->ncols; i++) {
		struct db_col *c = &st->cols[i];

		if (!c->is_null && c->kind == DB_COL_TEXT)
			c->buf[c->len] = '\0'; /* len < cap: the bind keeps a byte back */
	}
	return 1;
}

const char *
db_text(struct db_stmt *st, unsigned i, size_t *len)
{
	struct db_col *c;

	if (i >= st->ncols || st->cols[i].is_null) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	c = &st->cols[i];
	if (c->kind == DB_COL_INT)
		c->len = c->is_unsigned ? text_format_u64((uint64_t)c->ival, c->buf)
					: text_format_i64(c->ival, c->buf);
	else if (c->kind != DB_COL_TEXT)
		c->len = format_date(c, c->buf);
	if (len != NULL)
		*len = c->len;
	return c->buf;
}

void
db_text_copy(struct db_stmt *st, unsigned i, char *out, size_t cap)
{
	const char *v = db_text(st, i, NULL);

	snprintf(out, cap, "%s", v ? v : "");
}

bool
db_is_null(struct db_stmt *st, unsigned i)
{
	return i >= st->ncols || st->cols[i].is_null;
}

int64_t
db_int(struct db_stmt *st, unsigned i)
{
	const char *s;

	if (i < st->ncols && st->cols[i].kind == DB_COL_INT) {
		const struct db_col *c = &st->cols[i];

		if (c->is_null)
			return 0;
		/* as strtoll would: an unsigned value beyond the range saturates */
		return c->is_unsigned && (uint64_t)c->ival > INT64_MAX ? INT64_MAX : c->ival;
	}
	s = db_text(st, i, NULL);
	return s ? strtoll(s, NULL, 10) : 0;
}

uint64_t
db_affected(struct db_stmt *st)
{
	return (uint64_t)mysql_stmt_affected_rows(st->stmt);
}

uint64_t
db_insert_id(struct db_stmt *st)
{
	return (uint64_t)mysql_stmt_insert_id(st->stmt);
}

/* A CALL answers with its procedure's result set and then a status of
 * its own; both are read before the connection takes another command.
 * Procedures answer last (db.h), so no error can follow the answer; one
 * that does anyway is logged. */
static void
drain_results(struct db_stmt *st)
{
	while (!st->db->broken && mysql_stmt_more_results(st->stmt)) {
		if (mysql_stmt_next_result(st->stmt) != 0) {
			struct diag d;

			set_stmt_error(st, &d, "after the procedure's answer");
			log_error("%s (%d)", d.msg, d.code);
			break;
		}
		mysql_stmt_free_result(st->stmt);
	}
}

void
db_release(struct db_stmt *st)
{
	if (st == NULL)
		return;
	if (!st->has_result) {
		drain_results(st);
		return;
	}
	if (!st->db->broken)
		mysql_stmt_free_result(st->stmt);
	st->has_result = false;
	drain_results(st);
}

int
db_exec(struct db_stmt *st, struct diag *d)
{
	int rc = db_execute(st, d);

	db_release(st);
	return rc;
}

/* ------------------------------------------------------------ transactions */

static int
simple_query(struct db *db, const char *sql, struct diag *d)
{
	if (db->conn == NULL || db->broken) {
		diag_set(d, DB_CR_SERVER_GONE, "not connected");
		return -1;
	}
	if (mysql_real_query(db->conn, sql, strlen(sql)) != 0) {
		set_conn_error(db, d, sql);
		return -1;
	}
	return 0;
}

static void
backoff(int attempt)
{
	/* 5, 10, 20, 40 ms ceilings with full jitter */
	long ceiling_us = 5000L << (attempt < 4 ? attempt : 4);
	long us = 1000 + random() % ceiling_us;
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

int
db_txn(struct db *db, db_txn_fn fn, void *arg, struct diag *d)
{
	for (int attempt = 0;; attempt++) {
		bool retry;
		int rc;

		if (db_connect(db, d) < 0)
			return -1;
		if (simple_query(db, "START TRANSACTION", d) < 0)
			goto failed;
		db->in_txn = true;
		rc = fn(db, arg, d);
		db->in_txn = false;
		if (rc < 0) {
			if (db_connected(db)) {
				struct diag ignored;

				simple_query(db, "ROLLBACK", &ignored);
			}
			goto failed;
		}
		if (mysql_commit(db->conn) != 0) {
			set_conn_error(db, d, "commit");
			if (code_unavailable(d->code)) {
				d->code = DIAG_UNAVAILABLE;
				snprintf(d->msg, sizeof d->msg,
					 "connection lost during COMMIT; outcome unknown");
				return -1;
			}
			goto failed;
		}
		return 0;
	failed:
		retry = db_error_reconnectable(d) ? attempt + 1 < DB_TXN_ATTEMPTS
						  : lock_retry(d, attempt);
		if (!retry)
			return -1;
		db->retries++;
		log_info("transaction retry %d after error %d", attempt + 1, d->code);
		if (!db_error_reconnectable(d))
			backoff(attempt);
	}
}

struct db_query *
db_values_query(struct db_query *q, const char *head, const char *row, size_t n)
{
	size_t hl = strlen(head), rl = strlen(row);
	char *sql, *p;

	if (q->sql != NULL)
		return q;
	sql = p = mem_alloc(hl + n * (rl + 1) + 1);
	memcpy(p, head, hl);
	p += hl;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, row, rl);
		p += rl;
	}
	*p = '\0';
	q->sql = sql;
	q->slot = -1;
	return q;
}

bool
db_consecutive_ids(const struct db *db)
{
	return db_connected(db) && db->consecutive_ids;
}

size_t
db_max_packet(const struct db *db)
{
	return db_connected(db) ? db->max_packet : 0;
}

bool
db_statement_binlog(const struct db *db)
{
	return !db_connected(db) || db->statement_binlog;
}

bool
db_in_txn(const struct db *db)
{
	return db->in_txn;
}

/* An idle connection has nothing to read: anything readable (the
 * server's close after a restart, or the error packet of a KILL) means
 * the connection is gone.  A poll, not a round trip. */
static bool
peer_closed(MYSQL *conn)
{
	struct pollfd p = {.fd = (int)mysql_get_socket(conn), .events = POLLIN};

	return poll(&p, 1, 0) != 0;
}

int
db_autocommit(struct db *db, db_txn_fn fn, void *arg, struct diag *d)
{
	for (int attempt = 0;; attempt++) {
		if (db_connect(db, d) < 0)
			return -1;
		if (peer_closed(db->conn)) {
			db->lost = db->broken = true;
			if (db_connect(db, d) < 0)
				return -1;
		}
		if (fn(db, arg, d) == 0)
			return 0;
		if (d->code == DB_ER_NODE_NOT_READY)
			return -1; /* refused before it ran: not an unknown outcome */
		if (db_error_reconnectable(d)) {
			/* the statement may have committed before the link went */
			d->code = DIAG_UNAVAILABLE;
			snprintf(d->msg, sizeof d->msg,
				 "connection lost during a write; outcome unknown");
			return -1;
		}
		if (!lock_retry(d, attempt))
			return -1;
		db->retries++;
		log_info("statement retry %d after error %d", attempt + 1, d->code);
		backoff(attempt);
	}
}

int
db_exec_script(struct db *db, const char *sql, size_t len, struct diag *d)
{
	int status;

	if (db_connect(db, d) < 0)
		return -1;
	if (mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_ON) != 0) {
		set_conn_error(db, d, "multi statements");
		return -1;
	}
	status = mysql_real_query(db->conn, sql, (unsigned long)len);
	if (status != 0) {
		set_conn_error(db, d, "script");
		goto out;
	}
	do {
		MYSQL_RES *r = mysql_store_result(db->conn);

		mysql_free_result(r);
		status = mysql_next_result(db->conn);
		if (status > 0) {
			set_conn_error(db, d, "script");
			goto out;
		}
	} while (status == 0);
	status = 0;
out:
	if (db_connected(db))
		mysql_set_server_option(db->conn, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
	return status == 0 ? 0 : -1;
}
