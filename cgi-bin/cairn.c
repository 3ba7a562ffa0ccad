/* cairn.fcgi: the FastCGI program.  Started by spawn-fcgi with the
 * listening socket on fd 0; loads the configuration, maps the metrics and
 * the group-commit queue, and hands over to the pool master (or serves
 * in-process with workers = 0). */
#include "autoconfig.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "gcommit.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "pool.h"
#include "routes.h"
#include "server.h"

static int
serve(size_t slot, volatile sig_atomic_t *stop, void *arg)
{
	struct server s;
	struct diag d;
	int rc;

	(void)arg;
	gcommit_use_slot(slot);
	if (server_init(&s, routes_table, routes_count, &d) < 0) {
		log_error("%s", d.msg);
		return -1;
	}
	rc = server_serve(&s, 0, stop);
	server_fini(&s);
	return rc;
}

static const char *config_path;

/* SIGHUP in the master: re-read the file (a bad one leaves the old
 * settings in force) and reopen the log file, so logrotate can move it
 * away; the children replaced next inherit the new one.  The pool size
 * and the metrics layout stay as they were. */
static void
reload(void *arg)
{
	long long workers = config_int("workers");
	struct diag d;

	(void)arg;
	if (config_load(config_path, &d) < 0) {
		log_error("SIGHUP: configuration not reloaded, keeping the old one: %s", d.msg);
		return;
	}
	log_reopen(config_str("log.level"), config_str("log.file"), config_bool("log.syslog"));
	if (config_int("workers") != workers)
		log_warn("SIGHUP: a new pool size takes effect only after a restart");
	log_info("SIGHUP: configuration reloaded");
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: cairn.fcgi [--config FILE]\n"
		     "Run under spawn-fcgi, e.g.\n"
		     "  spawn-fcgi -s /run/cairn/cairn.sock -M 0660 -U www-data -- cairn.fcgi\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct diag d;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (config_load(config_path, &d) < 0) {
		fprintf(stderr, "cairn.fcgi: %s\n", d.msg);
		return 1;
	}
	if (log_open("cairn.fcgi", config_str("log.level"), config_str("log.file"),
		     config_bool("log.syslog")) < 0) {
		fprintf(stderr, "cairn.fcgi: cannot open log file %s: %s\n", config_str("log.file"),
			strerror(errno));
		return 1;
	}
	if (http_fcgi_init() < 0 || http_fcgi_is_cgi()) {
		log_error("not started as a FastCGI responder (start it with spawn-fcgi)");
		fprintf(stderr, "cairn.fcgi: fd 0 is not a FastCGI socket\n");
		usage(stderr);
		return 1;
	}
	long long workers = config_int("workers");
	unsigned n = workers < 0 ? pool_default_workers() : (unsigned)workers;

	routes_init();
	server_declare_metrics();
	/* slots numbered as the pool numbers its workers, 1 .. n */
	if (gcommit_init(n + 1) < 0)
		log_warn("group commit disabled: cannot map the shared region");
	if (metrics_init(n + 1, routes_labels(), routes_count) < 0)
		log_warn("metrics disabled: cannot map the shared region");
	log_info("cairn.fcgi %s starting (%u workers)", PACKAGE_VERSION, n);
	return pool_run(n, serve, reload, NULL) == 0 ? 0 : 1;
}
