/* cli: the command-line rules every cairnctl command shares.
 *
 * A command's line, after its name, is options in any order and
 * positional arguments.  An option is a flag ("--dry-run") or takes the
 * next argument as its value, whatever that argument is ("--name N");
 * one declared repeatable ("--tag T") collects every value, any other may
 * be given once.  "--" ends the options: every argument after it is
 * positional, even one starting with '-'.  Every command also takes
 * --config FILE, before the command's name (main) or among its options,
 * once in all.
 *
 * The whole line is checked before anything is done: an unknown option,
 * a repeated one, a missing value, or too few or too many positional
 * arguments is a usage error (exit 2) before the configuration is read or
 * the database touched.
 *
 * Exit statuses of every command: 0 success, 1 failure at run time (the
 * database, the server, something named that does not exist, output that
 * could not be written), 2 usage error (a bad command line or a value
 * refused before anything was done).  `cairnctl event` also exits 3 when
 * the server cannot be reached.
 *
 * Process-wide state (the --config given before the command, the message
 * for a secret that was printed): for cairnctl's main and the commands it
 * runs, once per process. */
#ifndef CAIRN_CLI_H
#define CAIRN_CLI_H

#include <stdbool.h>
#include <stddef.h>

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAILURE = 1, CLI_EXIT_USAGE = 2 };
/* cli_parse's answer to --help: usage was printed on stdout and nothing
 * is to be done; cli_finish turns it into exit status 0. */
#define CLI_EXIT_HELP 100

#define CLI_LIST_MAX 256 /* values of one repeatable option; positional arguments */

/* The values of a repeatable option, borrowed from argv. */
struct cli_list {
	const char *v[CLI_LIST_MAX];
	size_t n;
};

/* One option of a command: exactly one of flag, value and list is set,
 * and says where the option goes.  A table ends with a NULL name. */
struct cli_opt {
	const char *name;      /* "--name" */
	bool *flag;            /* a flag: set true */
	const char **value;    /* one value (borrowed from argv); NULL until given */
	struct cli_list *list; /* a repeatable option with a value */
};

/* The positional arguments a command takes: min to max of them (max at
 * most CLI_LIST_MAX), into v (room for max), n set by cli_parse. */
struct cli_pos {
	const char **v;
	size_t min, max, n;
};

/* Records the --config FILE given before the command (NULL: none).  Call
 * once, before any cli_parse. */
void cli_start(const char *config_path);

/* Parses a command's line: argv[0..argc) are the arguments after the
 * command's name, opts its options (NULL: none but --config), pos its
 * positional arguments (NULL: none).  When the line is good, loads the
 * configuration (the --config file, or the default) and returns 0.
 * Otherwise returns the exit status after saying why on stderr:
 * CLI_EXIT_USAGE, followed by usage, or CLI_EXIT_FAILURE when the
 * configuration could not be loaded; or, for --help or -h among the
 * options, CLI_EXIT_HELP after printing usage on stdout. */
int cli_parse(const char *usage, const struct cli_opt *opts, int argc, char **argv,
	      struct cli_pos *pos);

struct db;

/* One subcommand of a family (key, service, tags, kv, geo): exactly one
 * of run and run_plain is set.  A table ends with a NULL name. */
struct cli_sub {
	const char *name;
	int (*run)(struct db *db, int argc, char **argv); /* parses its own line */
	int (*run_plain)(struct db *db);                  /* takes no argument */
};

/* Runs the subcommand named argv[0] with the rest of the line (for
 * run_plain, after cli_parse has checked it is empty).  Given no known
 * subcommand: usage on stdout and CLI_EXIT_HELP for a lone --help or -h,
 * else usage on stderr and CLI_EXIT_USAGE. */
int cli_dispatch(struct db *db, const char *usage, const struct cli_sub *subs, int argc,
		 char **argv);

/* Prints a list's header line once the database answers, so that a list
 * that fails to connect prints nothing on stdout.  -1 with d set if it
 * does not answer. */
struct diag;
int cli_list_header(struct db *db, const char *header, struct diag *d);

/* Prints secret, shown only now, on a line of stdout, and keeps what
 * cli_finish must tell the operator if stdout did not take it: that the
 * change was made, and what to do (printf-style). */
void cli_show_secret(const char *secret, const char *if_lost, ...)
	__attribute__((format(printf, 2, 3)));

/* Flushes stdout and checks it: the end of every command.  Returns
 * status (0 for CLI_EXIT_HELP), or CLI_EXIT_FAILURE (status 0) when the
 * output could not be written, after saying so on stderr, with the
 * message of cli_show_secret if a secret was printed. */
int cli_finish(int status);

#endif
