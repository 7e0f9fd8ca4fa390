/*
 * util.c -- strict integer parsing (see util.h).
 */
#include "coopsettle/util.h"

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
