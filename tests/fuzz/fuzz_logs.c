/* libFuzzer harness for the logs intake validator (lib/logs_parse.c).
 *
 * The input is an /intake body: it goes through the strict JSON parser
 * and, when that accepts it, through logs_intake_validate(), as on the
 * real route.  Every accepted record must satisfy the validator's
 * contract (a known level, a time within the DATETIME range, a bounded
 * body without NUL); every rejection must produce a compat message.  The
 * same bytes are also tried as an allowed-IP mask and as an address. */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "json.h"
#include "logs_parse.h"

static struct arena *arena;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct logs_limits lim = {100, 256};
	const char *text = (const char *)data;
	struct logs_batch b;
	json_object *root;
	struct diag d;
	char msg[256];

	if (arena == NULL)
		arena = arena_new(64 * 1024);
	if (json_parse(arena, text, size, &root, &d) == 0) {
		if (logs_intake_validate(root, &lim, arena, &b, msg, sizeof msg) == 0) {
			if (b.n == 0 || b.n > lim.max_batch)
				abort();
			for (size_t i = 0; i < b.n; i++) {
				const struct logs_record *r = &b.records[i];

				if (r->level < 0 || r->level > LOGS_LEVEL_MAX ||
				    r->ts < LOGS_TIME_MIN || r->ts > LOGS_TIME_MAX ||
				    r->body_len > lim.max_body ||
				    memchr(r->body, '\0', r->body_len) != NULL)
					abort();
			}
		} else if (strncmp(msg, "Invalid request, ", 17) != 0) {
			abort();
		}
	}

	/* masks and addresses: never crash, and a valid mask of a valid
	 * address form matches that address when it is a plain address */
	if (size <= 80) {
		char addr[81];

		memcpy(addr, text, size);
		addr[size] = '\0';
		(void)logs_ipmask_valid(text, size);
		(void)logs_ipmask_match(text, size, "192.168.1.20");
		(void)logs_ipmask_match(text, size, "::ffff:10.1.2.3");
		(void)logs_ipmask_match("192.168.%", 9, addr);
		(void)logs_ipmask_match("2001:db8::/32", 13, addr);
		if (strlen(addr) == size && memchr(addr, '%', size) == NULL &&
		    memchr(addr, '_', size) == NULL && memchr(addr, '/', size) == NULL &&
		    logs_ipmask_valid(text, size) && !logs_ipmask_match(text, size, addr))
			abort();
		(void)logs_ip_allowed(text, size, "10.0.0.1");
	}
	arena_reset(arena);
	return 0;
}
