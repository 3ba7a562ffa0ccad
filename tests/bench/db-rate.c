/* db-rate: how many times a second the database alone runs one prepared
 * statement for N clients at once, each client a process with its own
 * connection, as a pool worker has.  The benchmarks compare a route with
 * it: a route that makes one such round trip cannot cost less than
 * /healthz (the same HTTP and FastCGI path) plus this statement, so on 2
 * shared cores its rate is at most H x R / (H + R).
 *
 *   db-rate -S SOCKET -u USER [-p PASSWORD] [-D DATABASE] [-c CLIENTS]
 *           [-s SECONDS] SQL [PARAM ...]
 *
 * Each PARAM is bound as a string, or as NULL when it is "\N"; "{n}" in it
 * becomes a number unique to each execution (so inserts need not collide)
 * and "{k}" that number modulo 10,000.  Result rows are fetched and thrown away; a CALL's
 * trailing status is drained.  The first second is a warm-up and is not
 * counted.  Prints "RATE statements/s" on its last line; exits 1 on any
 * error. */
#include <errno.h>
#include <mysql.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PARAMS 16
#define PARAM_SIZE 256

struct options {
	const char *socket;
	const char *user;
	const char *password;
	const char *database;
	int clients;
	int seconds;
	const char *sql;
	int nparams;
	char **params;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes template with {n} and {k} replaced into out (PARAM_SIZE bytes);
 * returns the length. */
static unsigned long
expand(const char *template, uint64_t n, char *out)
{
	size_t len = 0;
	const char *p;

	for (p = template; *p != '\0' && len < PARAM_SIZE - 21; p++) {
		if (p[0] == '{' && (p[1] == 'n' || p[1] == 'k') && p[2] == '}') {
			len += (size_t)snprintf(out + len, PARAM_SIZE - len, "%llu",
			                        (unsigned long long)(p[1] == 'n' ? n : n % 10000));
			p += 2;
		} else {
			out[len++] = *p;
		}
	}
	return (unsigned long)len;
}

/* Fetches and drops every row of every result of one execution. */
static int
drain(MYSQL_STMT *stmt)
{
	int rc;

	do {
		if (mysql_stmt_field_count(stmt) > 0) {
			while ((rc = mysql_stmt_fetch(stmt)) == 0 || rc == MYSQL_DATA_TRUNCATED)
				;
			if (rc != MYSQL_NO_DATA)
				return -1;
		}
		rc = mysql_stmt_next_result(stmt);
	} while (rc == 0);
	return rc > 0 ? -1 : 0;
}

/* One client: runs the statement until end_s; counts the executions that
 * finish after count_from_s.  Returns the count, or -1. */
static long
run_client(const struct options *o, int client, double count_from_s, double end_s)
{
	MYSQL *db = mysql_init(NULL);
	MYSQL_STMT *stmt;
	MYSQL_BIND bind[MAX_PARAMS];
	char values[MAX_PARAMS][PARAM_SIZE];
	unsigned long lengths[MAX_PARAMS];
	uint64_t n = (uint64_t)client;
	long count = 0;
	double t;
	int i;

	if (db == NULL || mysql_real_connect(db, NULL, o->user, o->password, o->database, 0,
	                                     o->socket, 0) == NULL) {
		fprintf(stderr, "db-rate: connect: %s\n", db ? mysql_error(db) : "out of memory");
		return -1;
	}
	stmt = mysql_stmt_init(db);
	if (stmt == NULL || mysql_stmt_prepare(stmt, o->sql, strlen(o->sql)) != 0) {
		fprintf(stderr, "db-rate: prepare: %s\n", mysql_error(db));
		return -1;
	}
	if (mysql_stmt_param_count(stmt) != (unsigned long)o->nparams) {
		fprintf(stderr, "db-rate: the statement takes %lu parameters, %d given\n",
		        mysql_stmt_param_count(stmt), o->nparams);
		return -1;
	}
	memset(bind, 0, sizeof bind);
	for (i = 0; i < o->nparams; i++) {
		bind[i].buffer_type =
		        strcmp(o->params[i], "\\N") == 0 ? MYSQL_TYPE_NULL : MYSQL_TYPE_STRING;
		bind[i].buffer = values[i];
		bind[i].length = &lengths[i];
	}
	do {
		for (i = 0; i < o->nparams; i++)
			lengths[i] = expand(o->params[i], n, values[i]);
		n += (uint64_t)o->clients;
		if ((o->nparams > 0 && mysql_stmt_bind_param(stmt, bind) != 0) ||
		    mysql_stmt_execute(stmt) != 0 || drain(stmt) != 0) {
			fprintf(stderr, "db-rate: %s\n", mysql_stmt_error(stmt));
			return -1;
		}
		t = now_s();
		if (t >= count_from_s)
			count++;
	} while (t < end_s);
	mysql_stmt_close(stmt);
	mysql_close(db);
	return count;
}

static void
usage(void)
{
	fprintf(stderr, "usage: db-rate -S SOCKET -u USER [-p PASSWORD] [-D DATABASE]"
	                " [-c CLIENTS] [-s SECONDS] SQL [PARAM ...]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct options o = {.clients = 32, .seconds = 10};
	double count_from_s, end_s;
	long total = 0;
	int fds[2], c, status, failed = 0;

	while ((c = getopt(argc, argv, "S:u:p:D:c:s:")) != -1) {
		switch (c) {
		case 'S':
			o.socket = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'p':
			o.password = optarg;
			break;
		case 'D':
			o.database = optarg;
			break;
		case 'c':
			o.clients = atoi(optarg);
			break;
		case 's':
			o.seconds = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (o.socket == NULL || o.user == NULL || optind >= argc || o.clients < 1 ||
	    o.seconds < 1 || argc - optind - 1 > MAX_PARAMS)
		usage();
	o.sql = argv[optind];
	o.params = argv + optind + 1;
	o.nparams = argc - optind - 1;

	if (pipe(fds) != 0) {
		perror("db-rate: pipe");
		return 1;
	}
	/* Clients connect and prepare during the warm-up second. */
	count_from_s = now_s() + 1.0;
	end_s = count_from_s + o.seconds;
	for (c = 0; c < o.clients; c++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("db-rate: fork");
			return 1;
		}
		if (pid == 0) {
			long count = run_client(&o, c, count_from_s, end_s);

			close(fds[0]);
			if (write(fds[1], &count, sizeof count) != (ssize_t)sizeof count)
				_exit(1);
			_exit(count < 0);
		}
	}
	close(fds[1]);
	for (c = 0; c < o.clients; c++) {
		long count;

		if (read(fds[0], &count, sizeof count) != (ssize_t)sizeof count || count < 0)
			failed = 1;
		else
			total += count;
	}
	for (;;) {
		if (wait(&status) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	if (failed)
		return 1;
	printf("%.0f statements/s\n", (double)total / o.seconds);
	return 0;
}
