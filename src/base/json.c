/*
 * json.c -- deterministic JSON writer (see json.h).
 */
#include "coopsettle/json.h"

#include <string.h>

#include "coopsettle/error.h"

void cs_json_init(cs_json *j, cs_buf *out)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->first[0] = 1;
}

static void before_value(cs_json *j)
{
	if (j->after_key) {
		j->after_key = 0;
		return;
	}
	if (!j->first[j->depth])
		cs_buf_putc(j->out, ',');
	j->first[j->depth] = 0;
}

static void open(cs_json *j, char c)
{
	before_value(j);
	cs_buf_putc(j->out, c);
	CS_ASSERT(j->depth + 1 < CS_JSON_DEPTH_MAX);
	j->depth++;
	j->first[j->depth] = 1;
}

static void close_(cs_json *j, char c)
{
	CS_ASSERT(j->depth > 0 && !j->after_key);
	j->depth--;
	cs_buf_putc(j->out, c);
}

void cs_json_object_begin(cs_json *j)
{
	open(j, '{');
}

void cs_json_object_end(cs_json *j)
{
	close_(j, '}');
}

void cs_json_array_begin(cs_json *j)
{
	open(j, '[');
}

void cs_json_array_end(cs_json *j)
{
	close_(j, ']');
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static void put_string(cs_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	cs_buf_putc(out, '"');
	while (i < n) {
		unsigned char c = p[i];
		size_t len;

		if (c == '"' || c == '\\') {
			cs_buf_putc(out, '\\');
			cs_buf_putc(out, (char)c);
			i++;
		} else if (c < 0x20) {
			char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};

			cs_buf_put(out, esc, sizeof(esc));
			i++;
		} else if ((len = utf8_len(p + i, n - i)) == 0) {
			cs_buf_puts(out, "\\ufffd");
			i++;
		} else {
			cs_buf_put(out, p + i, len);
			i += len;
		}
	}
	cs_buf_putc(out, '"');
}

void cs_json_key(cs_json *j, const char *key)
{
	before_value(j);
	put_string(j->out, key, strlen(key));
	cs_buf_putc(j->out, ':');
	j->after_key = 1;
}

void cs_json_string(cs_json *j, const char *s)
{
	cs_json_string_n(j, s, strlen(s));
}

void cs_json_string_n(cs_json *j, const char *s, size_t n)
{
	before_value(j);
	put_string(j->out, s, n);
}

void cs_json_int(cs_json *j, cs_i128 v)
{
	before_value(j);
	cs_buf_put_i128(j->out, v);
}

void cs_json_null(cs_json *j)
{
	before_value(j);
	cs_buf_puts(j->out, "null");
}

void cs_json_bool(cs_json *j, int v)
{
	before_value(j);
	cs_buf_puts(j->out, v ? "true" : "false");
}

void cs_json_raw(cs_json *j, const char *text)
{
	before_value(j);
	cs_buf_puts(j->out, text);
}
