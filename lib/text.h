/* text: byte-level checks shared by every parser of outside input, and
 * the decimal formatting shared by every writer. */
#ifndef CAIRN_TEXT_H
#define CAIRN_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Well-formed UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
bool text_valid_utf8(const char *s, size_t len);
/* True if s holds a control character (Unicode's Cc): NUL and the rest
 * of C0, DEL, or a C1 control (U+0080..U+009F, as UTF-8). */
bool text_has_control(const char *s, size_t len);
/* How many bytes of s fit in max without splitting a UTF-8 sequence: for
 * echoing a client's value in a message. */
int text_utf8_cut(const char *s, size_t len, size_t max);
/* A hexadecimal digit's value, -1 for any other character. */
int text_hex_digit(char c);
/* Number of code points in valid UTF-8. */
size_t text_utf8_chars(const char *s, size_t len);
/* A name (tag, service, key, API-key name): valid UTF-8, no controls,
 * 1..max_chars code points. */
bool text_valid_name(const char *s, size_t len, size_t max_chars);
/* An id: ASCII digits, no sign, no leading zero, 1..2^63-1. */
bool text_parse_id(const char *s, size_t len, int64_t *id);
/* The decimal digits of v into out (at least TEXT_INT_LEN + 1 bytes),
 * NUL-terminated; returns their count.  Faster than printf for the
 * thousands of numbers a page or a batch writes. */
#define TEXT_INT_LEN 20
size_t text_format_u64(uint64_t v, char *out);
/* The same for a signed value ('-' and the magnitude). */
size_t text_format_i64(int64_t v, char *out);
/* The n low decimal digits of v, zero-padded, at p (no NUL); returns
 * p + n.  For fixed-width fields: dates, times, microseconds. */
char *text_put_digits(char *p, uint64_t v, int n);
/* Percent-decodes s[0..len) into out (at least len bytes); plus_is_space
 * turns '+' into ' ' (query strings).  Returns the decoded length, or -1 for
 * a malformed escape. */
long text_pct_decode(const char *s, size_t len, char *out, bool plus_is_space);

#endif
