/* events_cli: `cairnctl event ...`, a small HTTP client of the event
 * timeline API (the successor of the original service's cli/ scripts).
 *
 *   cairnctl event add [--start EPOCH] [--stop EPOCH] [--idempotency-key K] [TAG ...]
 *   cairnctl event list [--tag T]... [--any-tag T]... [--from X] [--to X]
 *                       [--open | --stopped] [--limit N] [--cursor C]
 *   cairnctl event remove EPOCH... | --purge      (never both)
 *   cairnctl event stop ID [--stop EPOCH]
 *   cairnctl event get ID
 *   cairnctl event delete ID
 *   cairnctl event tags [--limit N] [--cursor C]
 *
 * Every command also takes --url URL and --key KEY, which default to the
 * environment variables CAIRN_URL and CAIRN_KEY; the line follows lib/cli.h
 * (each command's own options, once; "--").  Values that go into a header
 * (the key, an Idempotency-Key) and epochs are checked before anything is
 * sent; epochs go out in the server's own form.  The response body goes
 * to stdout and "HTTP <status>" to stderr.  Exit status: 0 for a 2xx
 * answer, 1 for any other HTTP status, 2 for a usage error (nothing
 * sent), 3 when the server could not be reached. */
#ifndef CAIRN_EVENTS_CLI_H
#define CAIRN_EVENTS_CLI_H

#include "db.h"

/* argv[0] is the subcommand ("add", ...). db is unused: the command talks
 * to the HTTP API, not to the database. */
int events_cli(struct db *db, int argc, char **argv);

#endif
