/* libFuzzer harness for the geo parsers (lib/geo_parse.c): the submit
 * body's validator and everything the worker reads from the provider.
 * The first byte picks the target, the rest is its input:
 *   0  a submit body: strict JSON parse, then geo_submit_validate
 *   1  a provider 200 body: geo_info_parse
 *   2  a 429: body, then after the first NUL a Retry-After value
 *   3  a source address: geo_ip_parse, geo_ip_reserved, geo_ip_format
 *   4  a task id: geo_uuid_parse / geo_uuid_format round trip */
#include "autoconfig.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "geo_parse.h"
#include "json.h"
#include "text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
submit(const char *p, size_t n)
{
	struct arena *a = arena_new(4096);
	json_object *body = NULL;
	struct geo_submit s;
	struct geo_fail f;
	struct diag d;

	if (json_parse(a, p, n, &body, &d) < 0)
		body = NULL;
	if (geo_submit_validate(body, &s, &f) == 0) {
		if (!s.has_name && !s.has_status)
			abort();
		if (s.has_name && (s.name_len == 0 || !text_valid_name(s.name, s.name_len, GEO_NAME_MAX)))
			abort();
	} else if (f.n == 0 || f.n > GEO_FAIL_MAX) {
		abort();
	}
	arena_free(a);
}

static void
info(const char *p, size_t n)
{
	struct geo_info g;
	char err[128];

	if (geo_info_parse(p, n, &g, err, sizeof err) == 0) {
		if (g.has_city && !text_valid_name(g.city, strlen(g.city), GEO_TEXT_MAX))
			abort();
		if (g.has_country_code && strlen(g.country_code) > GEO_CODE_MAX)
			abort();
		if (g.has_latitude && (g.latitude < -90 || g.latitude > 90))
			abort();
	}
}

static void
retry(const char *p, size_t n)
{
	const char *nul = memchr(p, '\0', n);
	size_t body_len = nul ? (size_t)(nul - p) : n;
	char *header = NULL;

	if (nul != NULL) {
		/* the header value is a C string, as curl hands it over */
		size_t hl = n - body_len - 1;

		header = malloc(hl + 1);
		if (header == NULL)
			return;
		memcpy(header, nul + 1, hl);
		header[hl] = '\0';
	}
	int64_t ms = geo_retry_delay_ms(p, body_len, header, 1000);

	free(header);
	if (ms < 0 || ms > 3600000)
		abort();
}

static void
address(const char *p, size_t n)
{
	struct geo_ip ip, back;
	char text[GEO_IP_TEXT_MAX];

	if (!geo_ip_parse(p, n, &ip))
		return;
	(void)geo_ip_reserved(&ip);
	geo_ip_format(&ip, text);
	/* the canonical text parses back to the same address */
	if (!geo_ip_parse(text, strlen(text), &back) || back.len != ip.len ||
	    memcmp(back.b, ip.b, ip.len) != 0)
		abort();
}

static void
uuid(const char *p, size_t n)
{
	unsigned char b[GEO_UUID_BYTES], back[GEO_UUID_BYTES];
	char text[GEO_UUID_CHARS + 1];

	if (!geo_uuid_parse(p, n, b))
		return;
	geo_uuid_format(b, text);
	if (!geo_uuid_parse(text, strlen(text), back) || memcmp(b, back, sizeof b) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	const char *p = (const char *)data + 1;
	size_t n = size - 1;

	switch (data[0] % 5) {
	case 0:
		submit(p, n);
		break;
	case 1:
		info(p, n);
		break;
	case 2:
		retry(p, n);
		break;
	case 3:
		address(p, n);
		break;
	default:
		uuid(p, n);
		break;
	}
	return 0;
}
