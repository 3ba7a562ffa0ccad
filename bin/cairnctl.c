/* cairnctl: the administration CLI.
 *
 *   cairnctl [--config FILE] migrate
 *   cairnctl [--config FILE] status
 *   cairnctl [--config FILE] key create --name NAME --scopes "kv:read kv:write"
 *   cairnctl [--config FILE] key list
 *   cairnctl [--config FILE] key revoke ID
 *   cairnctl [--config FILE] config     (every setting with its default)
 *   ... and the capabilities' commands (service, purge, event, tags, kv, geo)
 *
 * Every command follows lib/cli.h: --config before the command or after
 * it, strict options, "--" ending them.  Exit status: 0 success, 1
 * failure at run time, 2 usage error (event: 3 server unreachable). */
#include "autoconfig.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikeys.h"
#include "cli.h"
#include "config.h"
#include "db.h"
#include "job_table.h"
#include "log.h"
#include "migrate.h"
#include "text.h"
/* capability headers for their commands */
#include "events_cli.h"
#include "geo.h"
#include "kv.h"
#include "logs.h"
#include "tags.h"

static const char ctl_usage[] =
	"usage: cairnctl [--config FILE] COMMAND [ARGS] [--config FILE]\n"
	"commands:\n"
	"  migrate                              apply pending migrations\n"
	"  status                               database and schema status (read-only;\n"
	"                                       exit 1 while migrations are pending)\n"
	"  key create --name N --scopes \"S ...\" create an API key (printed once)\n"
	"  key list                             list API keys (never the keys)\n"
	"  key revoke ID                        revoke an API key\n"
	"  config                               list every setting and its default\n"
	"  job list                             the background jobs and their last runs\n"
	"  job run NAME ... [--wait S]          run these jobs now, here, to the end\n"
	"                                       (waiting up to S s, default 10, for a\n"
	"                                       run of another process to end)\n"
	"  service add|list|rotate|disable ...  log services and their keys\n"
	"  purge SERVICE YYYY-MM-DD [--dry-run] delete a service's older log records\n"
	"  tags rollup|purge                    run the tag history jobs now\n"
	"  event add|list|remove|stop|get|delete|tags ...\n"
	"                                       the event timeline over HTTP\n"
	"  kv stats                             count the live keys now\n"
	"  kv sweep                             remove every expired key now\n"
	"  geo requeue                          put failed geo tasks back in the queue\n"
	"Each capability command prints its own usage when called without arguments.\n"
	"--config FILE may come before the command or after it, once.  Options may\n"
	"come in any order; an unknown or repeated option, a missing value or an\n"
	"extra argument is refused before anything is done; \"--\" ends the options\n"
	"(for a name starting with '-').\n"
	"Exit status: 0 success; 1 failure at run time (database, server, unknown\n"
	"name, output not written); 2 usage error (bad arguments or values, nothing\n"
	"done); event also exits 3 when the server cannot be reached.\n";

static int
fail(const struct diag *d)
{
	fprintf(stderr, "cairnctl: %s\n", d->msg);
	return CLI_EXIT_FAILURE;
}

static int
cmd_migrate(struct db *db, int argc, char **argv)
{
	struct diag d;
	int rc = cli_parse(ctl_usage, NULL, argc, argv, NULL);

	if (rc == CLI_EXIT_OK && migrate_apply(db, config_str("paths.sql"), stdout, &d) < 0)
		rc = fail(&d);
	return rc;
}

/* The bytes a PUT /keys statement needs beyond its value, with room to
 * spare (measured: about 120). */
#define KV_PACKET_ROOM 1024

DB_QUERY(q_durability, "SELECT @@innodb_flush_log_at_trx_commit, @@sync_binlog, @@log_bin");

/* Warns, on stdout, of the server's settings that break a promise of
 * cairn's: a kv.max_value its max_allowed_packet cannot carry, and
 * commits that a crash of the host can lose (the server's own choice;
 * cairn cannot set it per session). */
static int
warn_server_settings(struct db *db, struct diag *d)
{
	size_t packet = db_max_packet(db);
	struct db_stmt *st;
	int64_t flush, sync_binlog, log_bin;
	int rc;

	if (packet > 0 && packet < (size_t)config_int("kv.max_value") + KV_PACKET_ROOM)
		printf("warning: the server's max_allowed_packet (%zu bytes) leaves less than %d "
		       "bytes above kv.max_value (%lld): values near it are refused (413)\n",
		       packet, KV_PACKET_ROOM, config_int("kv.max_value"));
	st = db_prepare(db, &q_durability, d);
	if (st == NULL || db_execute(st, d) < 0)
		return -1;
	rc = db_fetch(st, d);
	if (rc != 1) {
		if (rc == 0)
			diag_set(d, DIAG_INTERNAL, "the server's settings came back empty");
		db_release(st);
		return -1;
	}
	flush = db_int(st, 0);
	sync_binlog = db_int(st, 1);
	log_bin = db_int(st, 2);
	db_release(st);
	if (flush != 1)
		printf("warning: the server's innodb_flush_log_at_trx_commit is %lld, not 1: a crash "
		       "of the host can lose writes cairn acknowledged\n",
		       (long long)flush);
	if (log_bin != 0 && sync_binlog != 1)
		printf("warning: the server's sync_binlog is %lld, not 1: with its binary log on, a "
		       "crash of the host can lose writes cairn acknowledged\n",
		       (long long)sync_binlog);
	return 0;
}

/* Read-only: a database without schema_migrations has every migration
 * pending.  Exit 1 while any is.  Warns (on stdout; the exit status is
 * the schema's) of server settings that break a promise of cairn's. */
static int
cmd_status(struct db *db, int argc, char **argv)
{
	struct diag d;
	int pending;
	int rc = cli_parse(ctl_usage, NULL, argc, argv, NULL);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (db_ping(db, &d) < 0)
		return fail(&d);
	printf("database: reachable\n");
	if (warn_server_settings(db, &d) < 0)
		return fail(&d);
	if (migrate_status(db, config_str("paths.sql"), stdout, &pending, &d) < 0)
		return fail(&d);
	printf("pending migrations: %d\n", pending);
	return pending ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

static int
cmd_config(struct db *db, int argc, char **argv)
{
	int rc = cli_parse(ctl_usage, NULL, argc, argv, NULL);

	(void)db;
	if (rc == CLI_EXIT_OK)
		config_describe(stdout);
	return rc;
}

static int
print_key(const struct apikey *k, void *arg)
{
	char scopes[256];

	(void)arg;
	auth_scopes_format(k->scopes, scopes, sizeof scopes);
	printf("%lld\t%s\t%s\t%s\t%s\n", (long long)k->id, k->name, scopes, k->created_at,
	       k->revoked_at[0] ? k->revoked_at : "-");
	return 0;
}

/* A bad name or scope list is a usage error (2), checked before the
 * database is touched; the key is printed last, on stdout. */
static int
key_create(struct db *db, int argc, char **argv)
{
	const char *name = NULL, *scopes = NULL;
	const struct cli_opt opts[] = {
		{.name = "--name", .value = &name},
		{.name = "--scopes", .value = &scopes},
		{.name = NULL},
	};
	uint32_t mask;
	char key[AUTH_KEY_CHARS + 1];
	struct apikey k;
	struct diag d;
	int rc = cli_parse(ctl_usage, opts, argc, argv, NULL);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (name == NULL || scopes == NULL) {
		fprintf(stderr, "cairnctl: key create needs --name and --scopes\n");
		return CLI_EXIT_USAGE;
	}
	if (auth_scopes_parse(scopes, &mask, &d) < 0) {
		fprintf(stderr, "cairnctl: %s\n", d.msg);
		return CLI_EXIT_USAGE;
	}
	if (apikeys_create(db, name, strlen(name), mask, key, &k, &d) < 0) {
		fprintf(stderr, "cairnctl: %s\n", d.msg);
		return d.code == DIAG_INVALID ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE;
	}
	fprintf(stderr, "created key %lld '%s' (shown only now)\n", (long long)k.id, k.name);
	cli_show_secret(key,
			"API key %lld '%s' was created, but its key could not be shown: "
			"revoke it (cairnctl key revoke %lld) and create another",
			(long long)k.id, k.name, (long long)k.id);
	return CLI_EXIT_OK;
}

static int
key_list(struct db *db, int argc, char **argv)
{
	struct diag d;
	int rc = cli_parse(ctl_usage, NULL, argc, argv, NULL);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli_list_header(db, "id\tname\tscopes\tcreated_at\trevoked_at\n", &d) < 0 ||
	    apikeys_list(db, 0, 1000000, print_key, NULL, &d) < 0)
		return fail(&d);
	return CLI_EXIT_OK;
}

static int
key_revoke(struct db *db, int argc, char **argv)
{
	const char *arg;
	struct cli_pos pos = {&arg, 1, 1, 0};
	int64_t id;
	struct apikey k;
	struct diag d;
	int rc = cli_parse(ctl_usage, NULL, argc, argv, &pos);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (!text_parse_id(arg, strlen(arg), &id)) {
		fprintf(stderr, "cairnctl: bad key id '%s'\n", arg);
		return CLI_EXIT_USAGE;
	}
	rc = apikeys_revoke(db, id, &k, &d);
	if (rc < 0)
		return fail(&d);
	if (rc == 1) {
		fprintf(stderr, "cairnctl: no API key with id %lld\n", (long long)id);
		return CLI_EXIT_FAILURE;
	}
	printf("revoked key %lld at %s\n", (long long)id, k.revoked_at);
	return CLI_EXIT_OK;
}

static int
cmd_key(struct db *db, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"create", key_create, NULL},
		{"list", key_list, NULL},
		{"revoke", key_revoke, NULL},
		{NULL, NULL, NULL},
	};

	return cli_dispatch(db, ctl_usage, subs, argc, argv);
}

/* A column of job list on one line: controls (a tab, a newline in an
 * error message) become spaces. */
static void
one_line(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

/* "-" for an empty column. */
static const char *
or_dash(const char *s)
{
	return s[0] ? s : "-";
}

static int
job_list(struct db *db, int argc, char **argv)
{
	struct job_row row;
	struct diag d;
	int rc = cli_parse(ctl_usage, NULL, argc, argv, NULL);

	if (rc != CLI_EXIT_OK)
		return rc;
	if (cli_list_header(db,
			    "name\tevery\tnext_run_at\tlast_run_at\truns\tfailures\tholder\t"
			    "last_error\n",
			    &d) < 0)
		return fail(&d);
	for (size_t i = 0; i < job_table_count; i++) {
		const struct job *job = &job_table[i];

		if (jobs_read(db, job, &row, &d) < 0)
			return fail(&d);
		one_line(row.last_error);
		printf("%s\t%us\t%s\t%s\t%lld\t%lld\t%s\t%s\n", job->name, job->interval_seconds,
		       row.exists ? or_dash(row.next_run_at) : "now", or_dash(row.last_run_at),
		       row.runs, row.failures, or_dash(row.holder), or_dash(row.last_error));
	}
	return CLI_EXIT_OK;
}

static volatile sig_atomic_t job_stop;

static void
on_job_signal(int sig)
{
	(void)sig;
	job_stop = 1;
}

/* Every name is checked before any job runs.  --wait: how long to wait
 * for a run another process holds (default 10 s).  SIGINT or SIGTERM ends
 * the run between two steps and gives the lease back, due at once. */
static int
job_run(struct db *db, int argc, char **argv)
{
	const char *names[CLI_LIST_MAX];
	struct cli_pos pos = {names, 1, CLI_LIST_MAX, 0};
	const char *wait_arg = NULL;
	const struct cli_opt opts[] = {
		{.name = "--wait", .value = &wait_arg},
		{.name = NULL},
	};
	const struct job *jobs[CLI_LIST_MAX];
	char holder[JOBS_HOLDER_MAX];
	struct sigaction sa;
	struct diag d;
	int64_t wait_s = 10;
	int steps, rc = cli_parse(ctl_usage, opts, argc, argv, &pos);
	double ms;

	if (rc != CLI_EXIT_OK)
		return rc;
	if (wait_arg != NULL && strcmp(wait_arg, "0") == 0) {
		wait_s = 0;
	} else if (wait_arg != NULL &&
		   (!text_parse_id(wait_arg, strlen(wait_arg), &wait_s) || wait_s > 3600)) {
		fprintf(stderr, "cairnctl: --wait must be 0 to 3600 seconds\n");
		return CLI_EXIT_USAGE;
	}
	for (size_t i = 0; i < pos.n; i++) {
		jobs[i] = job_table_find(names[i]);
		if (jobs[i] == NULL) {
			fprintf(stderr, "cairnctl: no job '%s'; the jobs are:", names[i]);
			for (size_t j = 0; j < job_table_count; j++)
				fprintf(stderr, " %s", job_table[j].name);
			fputc('\n', stderr);
			return CLI_EXIT_USAGE;
		}
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_job_signal;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	jobs_holder(holder);
	for (size_t i = 0; i < pos.n && rc == CLI_EXIT_OK; i++) {
		if (job_stop) {
			fprintf(stderr, "cairnctl: interrupted before job %s\n", jobs[i]->name);
			rc = CLI_EXIT_FAILURE;
			break;
		}
		switch (jobs_run_now(db, jobs[i], holder, wait_s * 1000, &job_stop, &steps, &ms,
				     &d)) {
		case 0:
			printf("job %s: done, %d step%s in %.1f ms\n", jobs[i]->name, steps,
			       steps == 1 ? "" : "s", ms);
			break;
		case 2:
			fprintf(stderr,
				"cairnctl: job %s interrupted after %d step%s; it is due now\n",
				jobs[i]->name, steps, steps == 1 ? "" : "s");
			rc = CLI_EXIT_FAILURE;
			break;
		default: rc = fail(&d);
		}
	}
	return rc;
}

static int
cmd_job(struct db *db, int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"list", job_list, NULL},
		{"run", job_run, NULL},
		{NULL, NULL, NULL},
	};

	return cli_dispatch(db, ctl_usage, subs, argc, argv);
}

/* The commands: each gets the arguments after its name and returns the
 * exit status; each checks its whole line (cli_parse, which loads the
 * configuration) before it does anything. */
static const struct {
	const char *name;
	int (*run)(struct db *db, int argc, char **argv);
} ctl_commands[] = {
	{"migrate", cmd_migrate},
	{"status", cmd_status},
	{"key", cmd_key},
	{"config", cmd_config},
	{"job", cmd_job},
	/* capabilities: logs (service, purge), events, tags, kv, geo */
	{"service", logs_cli_service},
	{"purge", logs_cli_purge},
	{"event", events_cli},
	{"tags", tags_cli},
	{"kv", kv_cli},
	{"geo", geo_cli},
};

#define CTL_NCOMMANDS (sizeof ctl_commands / sizeof ctl_commands[0])

/* The options before the command: --config FILE (once) and --help.  *i
 * gets the command's index.  0, 1 for --help, -1 after the message. */
static int
lead_options(int argc, char **argv, int *i, const char **config_path)
{
	int rc = 0;

	*i = 1;
	while (rc == 0 && *i < argc && argv[*i][0] == '-') {
		const char *a = argv[*i];

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			rc = 1;
		} else if (strcmp(a, "--config") != 0) {
			fprintf(stderr, "cairnctl: unknown option %s\n", a);
			rc = -1;
		} else if (*config_path != NULL) {
			fprintf(stderr, "cairnctl: --config is given twice\n");
			rc = -1;
		} else if (*i + 1 >= argc) {
			fprintf(stderr, "cairnctl: --config needs a value\n");
			rc = -1;
		} else {
			*config_path = argv[*i + 1];
			*i += 2;
		}
	}
	return rc;
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL;
	struct db *db;
	int i, lead, rc = CLI_EXIT_USAGE;
	size_t c = CTL_NCOMMANDS;

	log_open("cairnctl", "warn", NULL, false);
	lead = lead_options(argc, argv, &i, &config_path);
	if (lead == 0 && i < argc) {
		c = 0;
		while (c < CTL_NCOMMANDS && strcmp(argv[i], ctl_commands[c].name) != 0)
			c++;
		if (c == CTL_NCOMMANDS)
			fprintf(stderr, "cairnctl: unknown command '%s'\n", argv[i]);
	}
	if (lead == 1) {
		fputs(ctl_usage, stdout);
		rc = CLI_EXIT_OK;
	} else if (c < CTL_NCOMMANDS) {
		cli_start(config_path);
		db = db_new();
		rc = ctl_commands[c].run(db, argc - i - 1, argv + i + 1);
		db_free(db);
	} else {
		fputs(ctl_usage, stderr);
	}
	/* every command's output is checked here, once */
	return cli_finish(rc);
}
