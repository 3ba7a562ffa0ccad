#include "autoconfig.h"

#include <stdint.h>
#include <string.h>

#include "text.h"

bool
text_valid_utf8(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;

	while (s < end) {
		unsigned char c = *s;
		uint64_t word;

		if (c < 0x80) {
			/* ASCII runs eight bytes at a time */
			while (end - s >= 8) {
				memcpy(&word, s, 8);
				if (word & UINT64_C(0x8080808080808080))
					break;
				s += 8;
			}
			while (s < end && *s < 0x80)
				s++;
			continue;
		}
		size_t n;
		uint32_t cp;

		if (c >= 0xC2 && c <= 0xDF) {
			n = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if ((size_t)(end - s) <= n)
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
		    (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		s += n + 1;
	}
	return true;
}

bool
text_has_control(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7F)
			return true;
		/* U+0080..U+009F, the C1 controls: C2 80..C2 9F in UTF-8 */
		if (c == 0xC2 && i + 1 < len && ((unsigned char)s[i + 1] & 0xE0) == 0x80)
			return true;
	}
	return false;
}

size_t
text_utf8_chars(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

bool
text_valid_name(const char *s, size_t len, size_t max_chars)
{
	if (len == 0 || text_has_control(s, len) || !text_valid_utf8(s, len))
		return false;
	return text_utf8_chars(s, len) <= max_chars;
}

bool
text_parse_id(const char *s, size_t len, int64_t *id)
{
	uint64_t v = 0;

	if (len == 0 || len > 19 || s[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return false;
	*id = (int64_t)v;
	return true;
}

int
text_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
text_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return (int)len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return (int)len;
}

long
text_pct_decode(const char *s, size_t len, char *out, bool plus_is_space)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%') {
			int hi, lo;

			if (len - i < 3)
				return -1;
			hi = text_hex_digit(s[i + 1]);
			lo = text_hex_digit(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (s[i] == '+' && plus_is_space) {
			out[o++] = ' ';
		} else {
			out[o++] = s[i];
		}
	}
	return (long)o;
}

size_t
text_format_u64(uint64_t v, char *out)
{
	char rev[TEXT_INT_LEN];
	size_t n = 0;

	do {
		rev[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	for (size_t i = 0; i < n; i++)
		out[i] = rev[n - 1 - i];
	out[n] = '\0';
	return n;
}

char *
text_put_digits(char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

size_t
text_format_i64(int64_t v, char *out)
{
	if (v >= 0)
		return text_format_u64((uint64_t)v, out);
	out[0] = '-';
	return 1 + text_format_u64((uint64_t)0 - (uint64_t)v, out + 1);
}
