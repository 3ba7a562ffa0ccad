/* db: the connection, prepared statements and transactions.
 *
 * This is the only module that touches the MySQL C API; handlers and data
 * layers see struct db, struct db_stmt and named queries.  One struct db
 * per process holds one connection (opened lazily, utf8mb4, UTC, strict
 * sql_mode, short lock wait) and a cache of prepared statements, keyed by
 * the struct db_query that names each statement.  After error 2006/2013 the
 * connection is dropped; the next use reconnects, redoes the session setup
 * and re-prepares.  MYSQL_OPT_RECONNECT is never used.
 *
 * Statements bind parameters by position; every value is bound, never
 * formatted into SQL.  Results are fetched unbuffered, row by row, as text
 * (numbers in decimal, DATETIME(6) as "YYYY-MM-DD HH:MM:SS.ffffff"); a
 * statement's result must be finished with db_release() before the next
 * statement runs on the same connection.  A statement may be the CALL of
 * a procedure that answers with at most one result set, always of the
 * same columns, as its last statement; that answer is fetched like a
 * SELECT's. */
#ifndef CAIRN_DB_H
#define CAIRN_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

struct db;
struct db_stmt;

struct db_query {
	const char *sql;
	int slot; /* assigned at first use, the same in every connection */
};

#define DB_QUERY(var, text) static struct db_query var = {text, -1}

/* MySQL error numbers callers care about. */
enum {
	DB_ER_DISK_FULL = 1021,
	DB_ER_OPEN_AS_READONLY = 1036, /* innodb_read_only: "Table is read only" */
	/* "WSREP has not yet prepared node for application use": a Galera
	 * node outside the primary component, or set to wsrep_reject_queries,
	 * refused the statement before running it */
	DB_ER_NODE_NOT_READY = 1047,
	DB_ER_DUP_ENTRY = 1062,
	DB_ER_RECORD_FILE_FULL = 1114,     /* InnoDB out of space: "The table is full" */
	DB_ER_NET_PACKET_TOO_LARGE = 1153, /* over max_allowed_packet */
	DB_ER_LOCK_WAIT_TIMEOUT = 1205,
	DB_ER_LOCK_DEADLOCK = 1213,
	DB_ER_OPTION_PREVENTS_STATEMENT = 1290, /* --read-only, for cairn */
	DB_ER_QUERY_INTERRUPTED = 1317,         /* KILL QUERY */
	DB_ER_TOO_MANY_PREPARED = 1461,         /* max_prepared_stmt_count */
	DB_ER_READ_ONLY_TRANSACTION = 1792,     /* transaction_read_only */
	DB_ER_READ_ONLY_MODE = 1836,
	DB_ER_TEMP_FILE_WRITE_FAILURE = 1878,
	DB_ER_STATEMENT_TIMEOUT = 1969, /* MariaDB's max_statement_time */
	DB_ER_QUERY_TIMEOUT = 3024,     /* MySQL's max_execution_time */
	DB_CR_SERVER_GONE = 2006,
	DB_CR_SERVER_LOST = 2013,
};

/* Settings from config (db.*).  Never NULL; does not connect. */
struct db *db_new(void);
void db_free(struct db *db);
/* Connects unless connected.  After a connect that failed slowly (the
 * server did not answer within db.connect_timeout), none is tried for as
 * long again: until then this fails at once with DIAG_UNAVAILABLE. */
int db_connect(struct db *db, struct diag *d);
bool db_connected(const struct db *db);
/* Drops the connection (statements are re-prepared on the next use). */
void db_disconnect(struct db *db);
/* A round trip to the server. */
int db_ping(struct db *db, struct diag *d);
/* How many connections this handle established after a connection
 * failed or was lost. */
unsigned long db_reconnects(const struct db *db);
/* How many transactions were run again (deadlock, lock wait, lost link). */
unsigned long db_retries(const struct db *db);

/* Prepared once per connection; the statement is owned by db. */
struct db_stmt *db_prepare(struct db *db, struct db_query *q, struct diag *d);
void db_bind_int(struct db_stmt *st, unsigned i, int64_t v);
/* Text or bytes; p must stay valid until db_execute returns. */
void db_bind_text(struct db_stmt *st, unsigned i, const void *p, size_t len);
void db_bind_str(struct db_stmt *st, unsigned i, const char *s);
void db_bind_null(struct db_stmt *st, unsigned i);
/* Runs the statement. For a SELECT, fetch the rows with db_fetch. */
int db_execute(struct db_stmt *st, struct diag *d);
/* 1: a row is ready; 0: no more rows; -1: error. */
int db_fetch(struct db_stmt *st, struct diag *d);
/* Column i of the current row: NULL for SQL NULL; the bytes stay valid
 * until the next fetch. Always NUL-terminated. */
const char *db_text(struct db_stmt *st, unsigned i, size_t *len);
/* Column i of the current row into out (cap bytes, NUL-terminated, cut
 * to fit): "" for SQL NULL. */
void db_text_copy(struct db_stmt *st, unsigned i, char *out, size_t cap);
bool db_is_null(struct db_stmt *st, unsigned i);
/* Column i as an integer (0 for NULL or non-numeric). */
int64_t db_int(struct db_stmt *st, unsigned i);
uint64_t db_affected(struct db_stmt *st);
uint64_t db_insert_id(struct db_stmt *st);
/* Finishes the result of the statement (discarding unread rows). */
void db_release(struct db_stmt *st);

/* One statement that returns no rows: prepare, bind via the callback-free
 * helpers above, execute, release. Convenience for the common case. */
int db_exec(struct db_stmt *st, struct diag *d);

/* Runs fn inside START TRANSACTION .. COMMIT.  A deadlock (1213) or lock
 * wait timeout (1205) anywhere rolls back and runs fn again, whole, after a
 * jittered backoff (up to 5 attempts for deadlocks, 2 for lock waits, each
 * of which took db.lock_wait_timeout); fn must therefore keep its effects
 * in the database or reset them on entry.  A connection lost before COMMIT
 * reconnects and retries too (the server rolled back).  A connection lost
 * during COMMIT is an error with code DIAG_UNAVAILABLE: the outcome is
 * unknown and is not retried.  fn returning -1 rolls back. */
typedef int (*db_txn_fn)(struct db *db, void *arg, struct diag *d);
int db_txn(struct db *db, db_txn_fn fn, void *arg, struct diag *d);
/* Inside db_txn's fn. */
bool db_in_txn(const struct db *db);

/* Runs fn with no transaction around it, for a write that is one
 * self-committing unit: a single statement, or a CALL of a procedure
 * that is its own transaction (it saves START TRANSACTION and COMMIT, two
 * round trips).  A deadlock or lock wait timeout (the unit rolled back)
 * runs fn again like db_txn.  A connection that died while idle is
 * replaced before fn sends anything; a connection lost while fn runs is
 * DIAG_UNAVAILABLE: the write may have committed, so it is not retried. */
int db_autocommit(struct db *db, db_txn_fn fn, void *arg, struct diag *d);

/* q, made on first use into the multi-row INSERT "head row,row,...,row"
 * of n rows whose values are all placeholders, for callers that keep one
 * struct db_query per row count.  q must be zeroed or made by an earlier
 * call with the same arguments; its text lives as long as the process. */
struct db_query *db_values_query(struct db_query *q, const char *head, const char *row, size_t n);

/* Whether the server gives the rows of one INSERT consecutive ids
 * (innodb_autoinc_lock_mode 0 or 1), read at each connect; false when db
 * is not connected. */
bool db_consecutive_ids(const struct db *db);
/* Whether the server writes its binary log as statements (log_bin on,
 * binlog_format STATEMENT), so statements MariaDB deems unsafe to replay
 * (an INSERT ... SELECT from JSON_TABLE) must be avoided; read at each
 * connect, true when db is not connected. */
bool db_statement_binlog(const struct db *db);
/* The server's max_allowed_packet, read at each connect (0 when not
 * connected): the most bytes one statement may carry, its parameters
 * included.  db_execute counts a statement as DB_PACKET_BASE bytes plus,
 * for each parameter, DB_PACKET_INT (an integer), DB_PACKET_NULL, or
 * DB_PACKET_TEXT and the text's length, and refuses one counted larger
 * (db_error_too_large) instead of sending it: the server answers such a
 * statement by dropping the connection, which the client cannot tell from
 * a lost link.  A caller that splits work into statements (a batch of
 * rows) sizes them by the same count. */
#define DB_PACKET_BASE 16
#define DB_PACKET_INT 11
#define DB_PACKET_NULL 3
#define DB_PACKET_TEXT 12
size_t db_max_packet(const struct db *db);
/* Runs a script of several statements (migrations). */
int db_exec_script(struct db *db, const char *sql, size_t len, struct diag *d);

/* The error means the database cannot be reached: answer 503. */
bool db_error_unavailable(const struct diag *d);
/* The error means the connection was lost before anything was committed,
 * so the whole request may be run again. */
bool db_error_reconnectable(const struct diag *d);
/* The error is a deadlock or lock wait timeout that outlasted the retries,
 * a statement the server stopped (KILL QUERY, or longer than its
 * max_statement_time) or could not prepare (every one its
 * max_prepared_stmt_count allows, shared by every application, is
 * taken), a write it refuses while it is read-only
 * (db_error_read_only), or one it could not store for want of space
 * (db_error_out_of_space):
 * the unit that failed was rolled back (units committed before it, such as
 * a chunked purge's earlier chunks, stay), the connection is fine, and the
 * client may retry later (503). */
bool db_error_busy(const struct diag *d);
/* The server is read-only (read_only, super_read_only, innodb_read_only,
 * a MySQL in read-only mode, or transactions read-only by default) and
 * refused a write; the user cairn connects as must have neither SUPER nor
 * READ ONLY ADMIN, so this is what it sees. */
bool db_error_read_only(const struct diag *d);
/* The server has no space left for a write: its disk, its tablespace,
 * or the disk of its temporary files is full.  The statement was rolled
 * back; writes work again once an operator frees space. */
bool db_error_out_of_space(const struct diag *d);
/* The statement was larger than the server's max_allowed_packet: nothing
 * was sent (or the server refused it whole), nothing was written, and the
 * same request will never fit this server: answer 413. */
bool db_error_too_large(const struct diag *d);

#endif
