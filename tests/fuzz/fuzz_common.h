/* fuzz_common: what every harness shares.
 *
 * FUZZ_CHECK states an invariant of the code under test; when it does not
 * hold the harness prints why and aborts, which libFuzzer reports as a
 * crash and saves the input for.  Harnesses are deterministic (no clock,
 * no randomness in what they check), touch no network and no database, and
 * free what they allocate per input. */
#ifndef CAIRN_FUZZ_COMMON_H
#define CAIRN_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define FUZZ_CHECK(cond, ...)                                                   \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "\nFUZZ_CHECK failed at %s:%d: %s\n  ",  \
				__FILE__, __LINE__, #cond);                     \
			fprintf(stderr, __VA_ARGS__);                           \
			fputc('\n', stderr);                                    \
			abort();                                                \
		}                                                               \
	} while (0)

/* Prints len bytes of s as a C string literal (for failure messages). */
static inline void
fuzz_dump(const char *label, const void *s, size_t len)
{
	const unsigned char *p = s;

	fprintf(stderr, "  %s (%zu bytes): \"", label, len);
	for (size_t i = 0; i < len && i < 512; i++) {
		if (p[i] == '"' || p[i] == '\\')
			fprintf(stderr, "\\%c", p[i]);
		else if (p[i] >= 0x20 && p[i] < 0x7F)
			fputc(p[i], stderr);
		else
			fprintf(stderr, "\\x%02x", p[i]);
	}
	fprintf(stderr, "%s\"\n", len > 512 ? "..." : "");
}

/* Logs from the code under test would drown libFuzzer's output. */
static inline void
fuzz_quiet_logs(void)
{
	static bool done;

	if (!done) {
		log_open("fuzz", "error", "/dev/null", false);
		done = true;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
