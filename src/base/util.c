/*
 * util.c -- strict integer parsing and text for terminals (see util.h).
 */
#include "coopsettle/util.h"

#include <string.h>

int cs_parse_i64(const char *s, int64_t *out)
{
	uint64_t v = 0, limit;
	int neg = 0, n = 0;

	if (!s)
		return -1;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; *s; s++, n++) {
		unsigned d;

		if (*s < '0' || *s > '9' || n >= 19)
			return -1;
		d = (unsigned)(*s - '0');
		if (v > (limit - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	if (n == 0)
		return -1;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

size_t cs_utf8_char_len(const unsigned char *t, size_t n)
{
	size_t len, k;
	unsigned long cp;

	if (n == 0)
		return 0;
	if (t[0] < 0x80)
		return 1;
	if (t[0] >= 0xC2 && t[0] <= 0xDF)
		len = 2, cp = t[0] & 0x1F;
	else if (t[0] >= 0xE0 && t[0] <= 0xEF)
		len = 3, cp = t[0] & 0x0F;
	else if (t[0] >= 0xF0 && t[0] <= 0xF4)
		len = 4, cp = t[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (k = 1; k < len; k++) {
		if ((t[k] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (t[k] & 0x3F);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return len;
}

void cs_text_clean(char *s, size_t n, int keep_newlines)
{
	unsigned char *t = (unsigned char *)s;
	size_t i = 0, len;

	while (i < n) {
		len = cs_utf8_char_len(t + i, n - i);
		if (len == 0) {
			t[i++] = '?';
			continue;
		}
		if (len == 1 && ((t[i] < 0x20 && t[i] != '\t' && !(keep_newlines && t[i] == '\n')) ||
				 t[i] == 0x7F))
			t[i] = '?';
		i += len;
	}
}

const char *cs_text_shown(const char *s)
{
	static char ring[8][208];
	static unsigned next;
	char *b = ring[next++ % 8];
	size_t n;

	if (s == NULL)
		return "NULL";
	n = strlen(s);
	if (n > 200) {
		n = 196;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		memcpy(b, s, n);
		memcpy(b + n, "...", 4);
	} else {
		memcpy(b, s, n + 1);
	}
	cs_text_clean(b, strlen(b), 0);
	return b;
}

const char *cs_schema_name_problem(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return "a schema name must not be empty";
	if (len > CS_SCHEMA_NAME_MAX)
		return "a schema name has at most 63 bytes (PostgreSQL's NAMEDATALEN - 1)";
	if (name[0] >= '0' && name[0] <= '9')
		return "a schema name must not start with a digit";
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			return "a schema name has only lowercase letters a-z, digits and '_'";
	}
	if (len >= 3 && memcmp(name, "pg_", 3) == 0)
		return "names starting with 'pg_' are reserved for PostgreSQL's own schemas";
	if ((len == 6 && memcmp(name, "public", 6) == 0) ||
	    (len == 18 && memcmp(name, "information_schema", 18) == 0))
		return "the engine's tables need a schema of their own, not 'public' or "
		       "'information_schema'";
	return NULL;
}
