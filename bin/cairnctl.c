/* cairnctl: the administration CLI.
 *
 *   cairnctl [--config FILE] migrate
 *   cairnctl [--config FILE] status
 *   cairnctl [--config FILE] key create --name NAME --scopes "kv:read kv:write"
 *   cairnctl [--config FILE] key list
 *   cairnctl [--config FILE] key revoke ID
 *   cairnctl config          (every setting with its default)
 *
 * Exit status: 0 success, 1 failure, 2 usage error. */
#include "autoconfig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apikeys.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "migrate.h"
#include "text.h"
/* capability headers for their commands */
#include "events_cli.h"
#include "tags.h"
#include "logs.h"
#include "kv.h"
#include "geo.h"

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: cairnctl [--config FILE] COMMAND\n"
		"commands:\n"
		"  migrate                              apply pending migrations\n"
		"  status                               database and schema status\n"
		"  key create --name N --scopes \"S ...\" create an API key (printed once)\n"
		"  key list                             list API keys (never the keys)\n"
		"  key revoke ID                        revoke an API key\n"
		"  config                               list every setting and its default\n"
		"  service add|list|rotate|disable ...  log services and their keys\n"
		"  purge SERVICE YYYY-MM-DD [--dry-run] delete a service's older log records\n"
		"  tags rollup|purge                    run the tag history jobs now\n"
		"  event add|list|remove|stop|get|delete|tags ...\n"
		"                                       the event timeline over HTTP\n"
		"  kv stats                             count the live keys now\n"
		"  kv sweep                             remove every expired key now\n"
		"  geo requeue                          put failed geo tasks back in the queue\n"
		"Each capability command prints its own usage when called without arguments.\n");
}

static int
fail(const struct diag *d)
{
	fprintf(stderr, "cairnctl: %s\n", d->msg);
	return 1;
}

static int
cmd_migrate(struct db *db)
{
	struct diag d;

	if (migrate_apply(db, config_str("paths.sql"), stdout, &d) < 0)
		return fail(&d);
	return 0;
}

static int
cmd_status(struct db *db)
{
	struct diag d;
	int pending;

	if (db_ping(db, &d) < 0)
		return fail(&d);
	printf("database: reachable\n");
	if (migrate_status(db, config_str("paths.sql"), stdout, &pending, &d) < 0)
		return fail(&d);
	printf("pending migrations: %d\n", pending);
	return pending ? 1 : 0;
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

static int
cmd_key(struct db *db, int argc, char **argv)
{
	struct diag d;

	if (argc < 1) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[0], "create") == 0) {
		const char *name = NULL, *scopes = NULL;
		uint32_t mask;
		char key[AUTH_KEY_CHARS + 1];
		struct apikey k;

		for (int i = 1; i + 1 < argc; i += 2) {
			if (strcmp(argv[i], "--name") == 0)
				name = argv[i + 1];
			else if (strcmp(argv[i], "--scopes") == 0)
				scopes = argv[i + 1];
		}
		if (name == NULL || scopes == NULL) {
			fprintf(stderr, "cairnctl: key create needs --name and --scopes\n");
			return 2;
		}
		if (auth_scopes_parse(scopes, &mask, &d) < 0)
			return fail(&d);
		if (apikeys_create(db, name, strlen(name), mask, key, &k, &d) < 0)
			return fail(&d);
		fprintf(stderr, "created key %lld '%s' (shown only now)\n", (long long)k.id, k.name);
		printf("%s\n", key);
		return 0;
	}
	if (strcmp(argv[0], "list") == 0) {
		int64_t after = 0;

		printf("id\tname\tscopes\tcreated_at\trevoked_at\n");
		if (apikeys_list(db, after, 1000000, print_key, NULL, &d) < 0)
			return fail(&d);
		return 0;
	}
	if (strcmp(argv[0], "revoke") == 0 && argc == 2) {
		int64_t id;
		struct apikey k;
		int rc;

		if (!text_parse_id(argv[1], strlen(argv[1]), &id)) {
			fprintf(stderr, "cairnctl: bad key id '%s'\n", argv[1]);
			return 2;
		}
		rc = apikeys_revoke(db, id, &k, &d);
		if (rc < 0)
			return fail(&d);
		if (rc == 1) {
			fprintf(stderr, "cairnctl: no API key with id %lld\n", (long long)id);
			return 1;
		}
		printf("revoked key %lld at %s\n", (long long)id, k.revoked_at);
		return 0;
	}
	usage(stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	const char *config_path = NULL;
	struct diag d;
	struct db *db;
	int i = 1, rc;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return 2;
	}
	if (config_load(config_path, &d) < 0)
		return fail(&d);
	log_open("cairnctl", "warn", NULL, false);
	if (strcmp(argv[i], "config") == 0) {
		config_describe(stdout);
		return 0;
	}
	db = db_new();
	if (strcmp(argv[i], "migrate") == 0)
		rc = cmd_migrate(db);
	else if (strcmp(argv[i], "status") == 0)
		rc = cmd_status(db);
	else if (strcmp(argv[i], "key") == 0)
		rc = cmd_key(db, argc - i - 1, argv + i + 1);
	/* capability commands: logs (service, purge), events (event), geo (geo) */
	else if (strcmp(argv[i], "event") == 0)
		rc = events_cli(db, argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "tags") == 0)
		rc = tags_cli(db, argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "service") == 0)
		rc = logs_cli_service(db, argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "purge") == 0)
		rc = logs_cli_purge(db, argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "kv") == 0)
		rc = kv_cli(db, argc - i - 1, argv + i + 1);
	else if (strcmp(argv[i], "geo") == 0)
		rc = geo_cli(db, argc - i - 1, argv + i + 1);
	else {
		usage(stderr);
		rc = 2;
	}
	db_free(db);
	return rc;
}
