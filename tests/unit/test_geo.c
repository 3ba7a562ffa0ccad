/* Unit tests for geo_parse: task ids, addresses and their classification,
 * the submit validator, the provider's answers and the retry backoff. */
#include "autoconfig.h"

#include <check.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "diag.h"
#include "geo_parse.h"
#include "json.h"

/* ----------------------------------------------------------------- ids */

START_TEST(uuid_roundtrip)
{
	unsigned char b[GEO_UUID_BYTES], back[GEO_UUID_BYTES];
	char text[GEO_UUID_CHARS + 1];

	for (int i = 0; i < GEO_UUID_BYTES; i++)
		b[i] = (unsigned char)(i * 37 + 11);
	geo_uuid_set_v4(b);
	ck_assert_int_eq(b[6] >> 4, 4);
	ck_assert_int_eq(b[8] & 0xC0, 0x80);
	geo_uuid_format(b, text);
	ck_assert_uint_eq(strlen(text), GEO_UUID_CHARS);
	ck_assert(text[8] == '-' && text[13] == '-' && text[18] == '-' && text[23] == '-');
	ck_assert_int_eq(text[14], '4');
	ck_assert(geo_uuid_parse(text, strlen(text), back));
	ck_assert_mem_eq(b, back, GEO_UUID_BYTES);
}
END_TEST

START_TEST(uuid_parse_forms)
{
	unsigned char b[GEO_UUID_BYTES];
	static const char good[] = "ceabbf87-222b-4bde-a815-b98725b228d1";
	static const char upper[] = "CEABBF87-222B-4BDE-A815-B98725B228D1";
	static const char *const bad[] = {
		"", "ceabbf87-222b-4bde-a815-b98725b228d", "ceabbf87-222b-4bde-a815-b98725b228d1a",
		"ceabbf87222b-4bde-a815-b98725b228d1-", "ceabbf87-222b-4bde-a815_b98725b228d1",
		"ceabbf8g-222b-4bde-a815-b98725b228d1", "{ceabbf87-222b-4bde-a815-b98725b228d}",
		"ceabbf87-222b-4bde-a815-b98725b228 1", "ceabbf87+222b-4bde-a815-b98725b228d1",
		"ceabbf87-222b4-bde-a815-b98725b228d1",
	};

	ck_assert(geo_uuid_parse(good, strlen(good), b));
	ck_assert_int_eq(b[0], 0xce);
	ck_assert_int_eq(b[15], 0xd1);
	ck_assert(geo_uuid_parse(upper, strlen(upper), b));
	ck_assert_int_eq(b[0], 0xce);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!geo_uuid_parse(bad[i], strlen(bad[i]), b), "accepted '%s'", bad[i]);
	ck_assert(!geo_uuid_parse(NULL, 0, b));
	/* an embedded NUL is not a hex digit */
	ck_assert(!geo_uuid_parse("ceabbf87-222b-4bde-a815-b98725b228\0" "1", 36, b));
}
END_TEST

/* ----------------------------------------------------------- addresses */

static struct geo_ip
ip(const char *s)
{
	struct geo_ip a;

	ck_assert_msg(geo_ip_parse(s, strlen(s), &a), "cannot parse %s", s);
	return a;
}

START_TEST(ip_parse_format)
{
	struct geo_ip a;
	char out[GEO_IP_TEXT_MAX];
	static const char *const bad[] = {
		"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4 ", " 1.2.3.4", "fe80::1%eth0",
		"::g", "1:2:3:4:5:6:7:8:9", "localhost", "01.2.3.4x", "1.2.3.4/32",
	};

	a = ip("8.8.4.4");
	ck_assert_uint_eq(a.len, 4);
	geo_ip_format(&a, out);
	ck_assert_str_eq(out, "8.8.4.4");
	a = ip("2001:DB8:0:0::1");
	ck_assert_uint_eq(a.len, 16);
	geo_ip_format(&a, out);
	ck_assert_str_eq(out, "2001:db8::1");
	/* IPv4-mapped IPv6 is the IPv4 address */
	a = ip("::ffff:203.0.113.9");
	ck_assert_uint_eq(a.len, 4);
	geo_ip_format(&a, out);
	ck_assert_str_eq(out, "203.0.113.9");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!geo_ip_parse(bad[i], strlen(bad[i]), &a), "accepted '%s'", bad[i]);
	ck_assert(!geo_ip_parse("1.2.3.4\0" "5", 9, &a));
	ck_assert(!geo_ip_parse("1111:2222:3333:4444:5555:6666:7777:8888:9999", 44, &a));
	ck_assert(geo_ip_from_bytes("\x01\x02\x03\x04", 4, &a));
	geo_ip_format(&a, out);
	ck_assert_str_eq(out, "1.2.3.4");
	ck_assert(!geo_ip_from_bytes("\x01\x02\x03", 3, &a));
	ck_assert(!geo_ip_from_bytes(NULL, 4, &a));
}
END_TEST

START_TEST(ip_reserved_v4)
{
	static const char *const reserved[] = {
		"0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254",
		"127.0.0.1", "127.255.255.255", "169.254.1.1", "172.16.0.1", "172.31.255.255",
		"192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.255",
		"198.51.100.7", "203.0.113.1", "224.0.0.1", "239.255.255.255", "240.0.0.1",
		"255.255.255.255", "::ffff:10.1.2.3",
	};
	static const char *const public[] = {
		"1.1.1.1", "8.8.8.8", "9.255.255.255", "11.0.0.1", "100.63.255.255", "100.128.0.0",
		"126.255.255.255", "128.0.0.1", "169.253.255.255", "172.15.255.255", "172.32.0.0",
		"192.0.1.1", "192.0.3.0", "192.167.255.255", "192.169.0.0", "198.17.255.255",
		"198.20.0.0", "203.0.112.255", "223.255.255.255", "45.1.2.3",
	};

	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
		struct geo_ip a = ip(reserved[i]);

		ck_assert_msg(geo_ip_reserved(&a) != NULL, "%s should be reserved", reserved[i]);
	}
	for (size_t i = 0; i < sizeof public / sizeof public[0]; i++) {
		struct geo_ip a = ip(public[i]);

		ck_assert_msg(geo_ip_reserved(&a) == NULL, "%s should be public (%s)", public[i],
			      geo_ip_reserved(&a));
	}
	struct geo_ip a = ip("127.0.0.1");

	ck_assert_str_eq(geo_ip_reserved(&a), "loopback address");
	a = ip("192.168.0.1");
	ck_assert_str_eq(geo_ip_reserved(&a), "private address");
}
END_TEST

START_TEST(ip_reserved_v6)
{
	static const char *const reserved[] = {
		"::", "::1", "::2", "::1.2.3.4", "64:ff9b::10.0.0.1", "64:ff9b::127.0.0.1",
		"64:ff9b:1::1", "100::1", "2001::1", "2001:1ff:ffff::1", "2001:db8::1",
		"2001:db8:ffff::", "2002:0a00:0001::1", "2002:c0a8:0101::", "3fff::1", "3fff:fff::",
		"5f00::1", "fc00::1", "fdff:ffff::1", "fe80::1", "febf::1", "fec0::1", "ff02::1",
		"4000::1", "1000::1",
	};
	static const char *const public[] = {
		"2000::1", "2001:200::1", "2001:4860:4860::8888", "2400:cb00::1", "2606:4700::1111",
		"2a00:1450::1", "3ffe::1", "3fff:1000::1", "64:ff9b::8.8.8.8", "2002:0808:0808::1",
		"2001:dc8::1",
	};

	for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++) {
		struct geo_ip a = ip(reserved[i]);

		ck_assert_msg(geo_ip_reserved(&a) != NULL, "%s should be reserved", reserved[i]);
	}
	for (size_t i = 0; i < sizeof public / sizeof public[0]; i++) {
		struct geo_ip a = ip(public[i]);

		ck_assert_msg(geo_ip_reserved(&a) == NULL, "%s should be public (%s)", public[i],
			      geo_ip_reserved(&a));
	}
	struct geo_ip a = ip("::1");

	ck_assert_str_eq(geo_ip_reserved(&a), "loopback address");
	a = ip("fe80::abcd");
	ck_assert_str_eq(geo_ip_reserved(&a), "link-local address");
}
END_TEST

/* --------------------------------------------------------- submit body */

static struct arena *A;

static json_object *
parse(const char *text)
{
	json_object *o;
	struct diag d;

	ck_assert_msg(json_parse(A, text, strlen(text), &o, &d) == 0, "bad test JSON %s: %s", text,
		      d.msg);
	return o;
}

/* Validates text; returns the fail entry for field (NULL if none). */
static const char *
fail_of(const struct geo_fail *f, const char *field)
{
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->field[i], field) == 0)
			return f->msg[i];
	return NULL;
}

static void
setup(void)
{
	A = arena_new(4096);
}

static void
teardown(void)
{
	arena_free(A);
}

START_TEST(submit_name_length)
{
	struct geo_submit s;
	struct geo_fail f;
	char body[2048], name[1024];

	memset(name, 'a', 120);
	name[120] = '\0';
	snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
	ck_assert_int_eq(geo_submit_validate(parse(body), &s, &f), 0);
	ck_assert(s.has_name && !s.has_status);
	ck_assert_uint_eq(s.name_len, 120);
	memset(name, 'a', 121);
	name[121] = '\0';
	snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
	ck_assert_int_eq(geo_submit_validate(parse(body), &s, &f), -1);
	ck_assert_str_eq(fail_of(&f, "name"), "must be 1 to 120 characters");
	ck_assert_uint_eq(f.n, 1);
	/* characters, not bytes: 120 two-byte characters are fine */
	name[0] = '\0';
	for (int i = 0; i < 120; i++)
		strcat(name, "\xc3\xa9");
	snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
	ck_assert_int_eq(geo_submit_validate(parse(body), &s, &f), 0);
	ck_assert_uint_eq(s.name_len, 240);
	strcat(name, "\xc3\xa9");
	snprintf(body, sizeof body, "{\"name\":\"%s\"}", name);
	ck_assert_int_eq(geo_submit_validate(parse(body), &s, &f), -1);
	ck_assert_int_eq(geo_submit_validate(parse("{\"name\":\"\"}"), &s, &f), -1);
	ck_assert_str_eq(fail_of(&f, "name"), "must be 1 to 120 characters");
	ck_assert_int_eq(geo_submit_validate(parse("{\"name\":\"a\\u0001b\"}"), &s, &f), -1);
	ck_assert_str_eq(fail_of(&f, "name"), "must not contain control characters");
	ck_assert_int_eq(geo_submit_validate(parse("{\"name\":\"a\\u0000\"}"), &s, &f), -1);
	ck_assert_int_eq(geo_submit_validate(parse("{\"name\":5}"), &s, &f), -1);
	ck_assert_ptr_nonnull(fail_of(&f, "name"));
	ck_assert_int_eq(geo_submit_validate(parse("{\"name\":[\"x\"]}"), &s, &f), -1);
}
END_TEST

START_TEST(submit_status_code)
{
	struct geo_submit s;
	struct geo_fail f;

	ck_assert_int_eq(geo_submit_validate(parse("{\"status_code\":2}"), &s, &f), 0);
	ck_assert(s.has_status && !s.has_name);
	ck_assert_int_eq(s.status_code, 2);
	ck_assert_int_eq(geo_submit_validate(parse("{\"status_code\":\"2\"}"), &s, &f), 0);
	ck_assert_int_eq(s.status_code, 2);
	ck_assert_int_eq(geo_submit_validate(parse("{\"status_code\":\"007\"}"), &s, &f), 0);
	ck_assert_int_eq(s.status_code, 7);
	ck_assert_int_eq(geo_submit_validate(parse("{\"status_code\":-3}"), &s, &f), 0);
	ck_assert_int_eq(s.status_code, -3);
	ck_assert_int_eq(geo_submit_validate(parse("{\"status_code\":9223372036854775807}"), &s, &f), 0);
	ck_assert_int_eq(s.status_code, INT64_MAX);
	ck_assert_int_eq(geo_submit_validate(parse("{\"status_code\":\"999999999999999999\"}"), &s, &f), 0);
	static const char *const bad[] = {
		"{\"status_code\":\"x\"}", "{\"status_code\":\"\"}", "{\"status_code\":\"-2\"}",
		"{\"status_code\":\"+2\"}", "{\"status_code\":\" 2\"}", "{\"status_code\":\"2 \"}",
		"{\"status_code\":\"2.0\"}", "{\"status_code\":2.5}", "{\"status_code\":2.0}",
		"{\"status_code\":true}", "{\"status_code\":{}}", "{\"status_code\":[2]}",
		"{\"status_code\":\"1000000000000000000\"}", "{\"status_code\":\"1e3\"}",
		"{\"status_code\":\"\\u0662\"}",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(geo_submit_validate(parse(bad[i]), &s, &f) == -1, "accepted %s", bad[i]);
		ck_assert_str_eq(fail_of(&f, "status_code"), "must be an integer or a string of digits");
	}
}
END_TEST

START_TEST(submit_body_shape)
{
	struct geo_submit s;
	struct geo_fail f;

	ck_assert_int_eq(geo_submit_validate(parse("{}"), &s, &f), -1);
	ck_assert_uint_eq(f.n, 1);
	ck_assert_ptr_nonnull(fail_of(&f, "body"));
	ck_assert_int_eq(geo_submit_validate(parse("{\"other\":1}"), &s, &f), -1);
	ck_assert_ptr_nonnull(fail_of(&f, "body"));
	ck_assert_int_eq(geo_submit_validate(parse("{\"name\":null,\"status_code\":null}"), &s, &f), -1);
	ck_assert_ptr_nonnull(fail_of(&f, "body"));
	static const char *const not_objects[] = {"[]", "[{\"name\":\"a\"}]", "\"name\"", "2", "null", "true"};

	for (size_t i = 0; i < sizeof not_objects / sizeof not_objects[0]; i++) {
		ck_assert_int_eq(geo_submit_validate(parse(not_objects[i]), &s, &f), -1);
		ck_assert_str_eq(fail_of(&f, "body"), "must be a JSON object");
	}
	ck_assert_int_eq(geo_submit_validate(NULL, &s, &f), -1);
	ck_assert_str_eq(fail_of(&f, "body"), "must be a JSON object");
	/* partial data, other keys ignored */
	ck_assert_int_eq(geo_submit_validate(parse("{\"name\":\"EC2 Instance Offline\",\"x\":[1]}"), &s, &f), 0);
	ck_assert(s.has_name && !s.has_status);
	ck_assert_int_eq(geo_submit_validate(parse("{\"name\":\"n\",\"status_code\":null}"), &s, &f), 0);
	ck_assert(s.has_name && !s.has_status);
	ck_assert_int_eq(geo_submit_validate(parse("{\"name\":\"EC2\",\"status_code\":\"2\"}"), &s, &f), 0);
	ck_assert(s.has_name && s.has_status);
	/* every bad field is named, and no "body" entry then */
	ck_assert_int_eq(geo_submit_validate(parse("{\"name\":\"\",\"status_code\":\"x\"}"), &s, &f), -1);
	ck_assert_uint_eq(f.n, 2);
	ck_assert_ptr_nonnull(fail_of(&f, "name"));
	ck_assert_ptr_nonnull(fail_of(&f, "status_code"));
	ck_assert_ptr_null(fail_of(&f, "body"));
}
END_TEST

START_TEST(digits)
{
	int64_t v;

	ck_assert(geo_parse_digits("0", 1, &v) && v == 0);
	ck_assert(geo_parse_digits("000000000000000000000042", 24, &v) && v == 42);
	ck_assert(geo_parse_digits("999999999999999999", 18, &v) && v == 999999999999999999LL);
	ck_assert(!geo_parse_digits("1000000000000000000", 19, &v));
	ck_assert(!geo_parse_digits("", 0, &v));
	ck_assert(!geo_parse_digits(NULL, 0, &v));
	ck_assert(!geo_parse_digits("12a", 3, &v));
	ck_assert(!geo_parse_digits("-1", 2, &v));
}
END_TEST

/* ---------------------------------------------------- provider answers */

START_TEST(info_full)
{
	static const char body[] =
		"{\"city\": \"S\\u00e3o Paulo\", \"country\": {\"iso_code\": \"BR\", \"name\": \"Brazil\"},"
		" \"location\": {\"accuracy_radius\": 50, \"latitude\": -23.5475, \"longitude\": -46.63611,"
		" \"metro_code\": 0, \"time_zone\": \"America/Sao_Paulo\"}}\n";
	struct geo_info g;
	char err[128];

	ck_assert_int_eq(geo_info_parse(body, strlen(body), &g, err, sizeof err), 0);
	ck_assert(g.has_city && g.has_country_code && g.has_country_name && g.has_time_zone);
	ck_assert(g.has_latitude && g.has_longitude && g.has_accuracy_radius && g.has_metro_code);
	ck_assert_str_eq(g.city, "S\xc3\xa3o Paulo");
	ck_assert_str_eq(g.country_code, "BR");
	ck_assert_str_eq(g.country_name, "Brazil");
	ck_assert_str_eq(g.time_zone, "America/Sao_Paulo");
	ck_assert_double_eq_tol(g.latitude, -23.5475, 1e-9);
	ck_assert_double_eq_tol(g.longitude, -46.63611, 1e-9);
	ck_assert_int_eq(g.accuracy_radius, 50);
}
END_TEST

START_TEST(info_partial_and_odd)
{
	struct geo_info g;
	char err[128];
	static const char odd[] =
		"{\"city\": null, \"country\": {\"iso_code\": 5, \"name\": \"\"},"
		" \"location\": {\"latitude\": 91, \"longitude\": \"2\", \"accuracy_radius\": -1,"
		" \"time_zone\": \"a\\nb\"}, \"extra\": [1, 2]}";
	char big[4096];

	ck_assert_int_eq(geo_info_parse("{}", strlen("{}"), &g, err, sizeof err), 0);
	ck_assert(!g.has_city && !g.has_country_code && !g.has_latitude);
	ck_assert_int_eq(geo_info_parse(odd, strlen(odd), &g, err, sizeof err), 0);
	ck_assert(!g.has_city && !g.has_country_code && !g.has_country_name);
	ck_assert(!g.has_latitude && !g.has_longitude && !g.has_accuracy_radius && !g.has_time_zone);
	ck_assert_int_eq(geo_info_parse("{\"country\": \"FR\", \"location\": 3}", strlen("{\"country\": \"FR\", \"location\": 3}"), &g, err, sizeof err), 0);
	ck_assert(!g.has_country_code);
	ck_assert_int_eq(geo_info_parse("{\"location\": {\"latitude\": 10}}", strlen("{\"location\": {\"latitude\": 10}}"), &g, err, sizeof err), 0);
	ck_assert(g.has_latitude && g.latitude == 10);
	/* a city longer than 200 characters is dropped, not truncated */
	strcpy(big, "{\"city\":\"");
	for (int i = 0; i < 201; i++)
		strcat(big, "x");
	strcat(big, "\",\"country\":{\"iso_code\":\"FR\"}}");
	ck_assert_int_eq(geo_info_parse(big, strlen(big), &g, err, sizeof err), 0);
	ck_assert(!g.has_city && g.has_country_code);
	/* a country code longer than 8 is dropped */
	ck_assert_int_eq(geo_info_parse("{\"country\":{\"iso_code\":\"ABCDEFGHI\"}}", strlen("{\"country\":{\"iso_code\":\"ABCDEFGHI\"}}"), &g, err, sizeof err), 0);
	ck_assert(!g.has_country_code);
}
END_TEST

START_TEST(info_invalid)
{
	struct geo_info g;
	char err[128];
	static const char *const bad[] = {
		"", "[]", "\"x\"", "{", "{\"city\":\"a\",\"city\":\"b\"}", "<html>", "{} x",
		"\xef\xbb\xbf{}", "{\"city\":\"\\ud800\"}", "null",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err[0] = '\0';
		ck_assert_msg(geo_info_parse(bad[i], strlen(bad[i]), &g, err, sizeof err) == -1,
			      "accepted %s", bad[i]);
		ck_assert(err[0] != '\0');
	}
	ck_assert_int_eq(geo_info_parse(NULL, 0, &g, err, sizeof err), -1);
}
END_TEST

START_TEST(retry_delay)
{
	static const char pr[] = "{\"period_remaining\": 2.5}";
	static const char pri[] = "{\"period_remaining\": 3}";

	ck_assert_int_eq(geo_retry_delay_ms(pr, strlen(pr), NULL, 1000), 2500);
	ck_assert_int_eq(geo_retry_delay_ms(pri, strlen(pri), "9", 1000), 3000);
	ck_assert_int_eq(geo_retry_delay_ms("{\"period_remaining\":0.0001}", strlen("{\"period_remaining\":0.0001}"), NULL, 1000), 1);
	ck_assert_int_eq(geo_retry_delay_ms("{\"period_remaining\":1e9}", strlen("{\"period_remaining\":1e9}"), NULL, 1000), 3600000);
	/* a negative or mistyped period_remaining is ignored */
	ck_assert_int_eq(geo_retry_delay_ms("{\"period_remaining\":-1}", strlen("{\"period_remaining\":-1}"), "4", 1000), 4000);
	ck_assert_int_eq(geo_retry_delay_ms("{\"period_remaining\":\"2\"}", strlen("{\"period_remaining\":\"2\"}"), NULL, 1000), 1000);
	ck_assert_int_eq(geo_retry_delay_ms("not json", strlen("not json"), " 7 \r\n", 1000), 7000);
	ck_assert_int_eq(geo_retry_delay_ms(NULL, 0, "120", 1000), 120000);
	ck_assert_int_eq(geo_retry_delay_ms(NULL, 0, "99999999", 1000), 3600000);
	ck_assert_int_eq(geo_retry_delay_ms(NULL, 0, "Wed, 21 Oct 2015 07:28:00 GMT", 1500), 1500);
	ck_assert_int_eq(geo_retry_delay_ms(NULL, 0, "-5", 1000), 1000);
	ck_assert_int_eq(geo_retry_delay_ms("", strlen(""), NULL, 1000), 1000);
}
END_TEST

START_TEST(backoff)
{
	/* attempt 1: [base/2, base] */
	ck_assert_int_eq(geo_backoff_ms(1, 1000, 300000, 0), 500);
	ck_assert_int_eq(geo_backoff_ms(1, 1000, 300000, 500), 1000);
	ck_assert_int_eq(geo_backoff_ms(1, 1000, 300000, 501), 500);
	/* doubling */
	ck_assert_int_eq(geo_backoff_ms(2, 1000, 300000, 0), 1000);
	ck_assert_int_eq(geo_backoff_ms(4, 1000, 300000, 4000), 8000);
	/* capped, whatever the attempt (no overflow at huge attempts) */
	ck_assert_int_eq(geo_backoff_ms(20, 1000, 300000, 150000), 300000);
	ck_assert_int_eq(geo_backoff_ms(4000000000u, 1000, 300000, 0), 150000);
	for (unsigned a = 1; a < 40; a++)
		for (uint64_t r = 0; r < 5000; r += 997) {
			int64_t ms = geo_backoff_ms(a, 250, 60000, r * 7919);
			int64_t step = 250;

			for (unsigned i = 1; i < a && step < 60000; i++)
				step *= 2;
			if (step > 60000)
				step = 60000;
			ck_assert(ms >= step / 2 && ms <= step);
		}
	/* degenerate settings stay sane */
	ck_assert(geo_backoff_ms(1, 0, 0, 12345) >= 0);
	ck_assert(geo_backoff_ms(0, 1000, 5000, 3) <= 1000);
}
END_TEST

static Suite *
geo_suite(void)
{
	Suite *s = suite_create("geo");
	TCase *t = tcase_create("parse");

	tcase_add_checked_fixture(t, setup, teardown);
	tcase_add_test(t, uuid_roundtrip);
	tcase_add_test(t, uuid_parse_forms);
	tcase_add_test(t, ip_parse_format);
	tcase_add_test(t, ip_reserved_v4);
	tcase_add_test(t, ip_reserved_v6);
	tcase_add_test(t, submit_name_length);
	tcase_add_test(t, submit_status_code);
	tcase_add_test(t, submit_body_shape);
	tcase_add_test(t, digits);
	tcase_add_test(t, info_full);
	tcase_add_test(t, info_partial_and_odd);
	tcase_add_test(t, info_invalid);
	tcase_add_test(t, retry_delay);
	tcase_add_test(t, backoff);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(geo_suite());
	int failed;

	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
