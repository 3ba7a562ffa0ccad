#include "autoconfig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "db.h"
#include "diag.h"

static const char *cli_config_before; /* --config before the command, or NULL */
static char cli_if_lost[512];         /* "" until a secret was printed */

void
cli_start(const char *config_path)
{
	cli_config_before = config_path;
}

/* The option of opts named a, or NULL. */
static const struct cli_opt *
find_opt(const struct cli_opt *opts, const char *a)
{
	const struct cli_opt *found = NULL;

	for (const struct cli_opt *o = opts; o != NULL && o->name != NULL && found == NULL; o++)
		if (strcmp(o->name, a) == 0)
			found = o;
	return found;
}

/* Stores one option (and its value, argv[*i + 1], taken by advancing *i).
 * 0, or -1 after the message. */
static int
take_opt(const struct cli_opt *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (o->flag == NULL && *i + 1 >= argc) {
		fprintf(stderr, "cairnctl: %s needs a value\n", a);
		return -1;
	}
	if ((o->flag != NULL && *o->flag) || (o->value != NULL && *o->value != NULL)) {
		fprintf(stderr, "cairnctl: %s is given twice\n", a);
		return -1;
	}
	if (o->list != NULL && o->list->n == CLI_LIST_MAX) {
		fprintf(stderr, "cairnctl: %s is given more than %d times\n", a, CLI_LIST_MAX);
		return -1;
	}
	if (o->flag != NULL)
		*o->flag = true;
	else if (o->value != NULL)
		*o->value = argv[++*i];
	else
		o->list->v[o->list->n++] = argv[++*i];
	return 0;
}

/* Everything but loading the configuration: 0; 1 for --help; or -1
 * after the message. */
static int
parse_line(const struct cli_opt *opts, int argc, char **argv, struct cli_pos *pos,
	   const char **config)
{
	const struct cli_opt config_opt = {"--config", NULL, config, NULL};
	size_t max = pos != NULL ? pos->max : 0, n = 0;
	bool options = true;

	*config = cli_config_before;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const struct cli_opt *o = NULL;

		if (options && strcmp(a, "--") == 0) {
			options = false;
			continue;
		}
		if (options && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0))
			return 1;
		if (options && a[0] == '-' && a[1] != '\0') {
			o = strcmp(a, "--config") == 0 ? &config_opt : find_opt(opts, a);
			if (o == NULL) {
				fprintf(stderr, "cairnctl: unknown option %s\n", a);
				return -1;
			}
			if (take_opt(o, argc, argv, &i) < 0)
				return -1;
			continue;
		}
		if (n == max) {
			fprintf(stderr, "cairnctl: unexpected argument '%s'\n", a);
			return -1;
		}
		pos->v[n++] = a;
	}
	if (pos != NULL && n < pos->min) {
		fprintf(stderr, "cairnctl: missing argument\n");
		return -1;
	}
	if (pos != NULL)
		pos->n = n;
	return 0;
}

int
cli_parse(const char *usage, const struct cli_opt *opts, int argc, char **argv, struct cli_pos *pos)
{
	const char *config = NULL;
	struct diag d;
	int rc = CLI_EXIT_OK;

	int parsed = parse_line(opts, argc, argv, pos, &config);

	if (parsed < 0) {
		fputs(usage, stderr);
		rc = CLI_EXIT_USAGE;
	} else if (parsed == 1) {
		fputs(usage, stdout);
		rc = CLI_EXIT_HELP;
	} else if (config_load(config, &d) < 0) {
		fprintf(stderr, "cairnctl: %s\n", d.msg);
		rc = CLI_EXIT_FAILURE;
	}
	return rc;
}

int
cli_dispatch(struct db *db, const char *usage, const struct cli_sub *subs, int argc, char **argv)
{
	const struct cli_sub *s = subs;
	int rc;

	while (argc >= 1 && s->name != NULL && strcmp(s->name, argv[0]) != 0)
		s++;
	if (argc >= 1 && s->name != NULL && s->run != NULL)
		return s->run(db, argc - 1, argv + 1);
	if (argc >= 1 && s->name != NULL) {
		rc = cli_parse(usage, NULL, argc - 1, argv + 1, NULL);
		return rc == CLI_EXIT_OK ? s->run_plain(db) : rc;
	}
	if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		fputs(usage, stdout);
		return CLI_EXIT_HELP;
	}
	fputs(usage, stderr);
	return CLI_EXIT_USAGE;
}

int
cli_list_header(struct db *db, const char *header, struct diag *d)
{
	if (db_connect(db, d) < 0)
		return -1;
	fputs(header, stdout);
	return 0;
}

void
cli_show_secret(const char *secret, const char *if_lost, ...)
{
	va_list ap;

	va_start(ap, if_lost);
	vsnprintf(cli_if_lost, sizeof cli_if_lost, if_lost, ap);
	va_end(ap);
	printf("%s\n", secret);
}

int
cli_finish(int status)
{
	int err = fflush(stdout) == 0 ? 0 : errno;

	if (status == CLI_EXIT_HELP)
		status = CLI_EXIT_OK;
	if (err != 0 || ferror(stdout)) {
		fprintf(stderr, "cairnctl: cannot write the output%s%s\n", err != 0 ? ": " : "",
			err != 0 ? strerror(err) : "");
		if (cli_if_lost[0] != '\0')
			fprintf(stderr, "cairnctl: %s\n", cli_if_lost);
		if (status == CLI_EXIT_OK)
			status = CLI_EXIT_FAILURE;
	}
	return status;
}
