/*
 * amount.c -- exact decimal text of minor-unit amounts (see amount.h).
 */
#include "coopsettle/amount.h"

#include <string.h>

#include "coopsettle/error.h"
#include "coopsettle/limits.h"

char *cs_amount_format(char *buf, cs_i128 minor, unsigned exponent)
{
	char digits[48];
	size_t n, o = 0, i, int_digits;
	const char *d = digits;

	CS_ASSERT(exponent <= CS_EXPONENT_MAX);
	n = cs_i128_format(digits, minor);
	if (digits[0] == '-') {
		buf[o++] = '-';
		d++;
		n--;
	}
	if (exponent == 0) {
		memcpy(buf + o, d, n + 1);
		return buf;
	}
	int_digits = n > exponent ? n - exponent : 0;
	if (int_digits == 0)
		buf[o++] = '0';
	for (i = 0; i < int_digits; i++)
		buf[o++] = d[i];
	buf[o++] = '.';
	for (i = 0; i < exponent; i++) /* leading zeros of the fraction, then its digits */
		buf[o++] = exponent - i > n ? '0' : d[n - (exponent - i)];
	buf[o] = '\0';
	CS_ASSERT(o < CS_AMOUNT_TEXT_BYTES);
	return buf;
}

int cs_amount_parse(const char *text, cs_i128 *out)
{
	cs_i128 v = 0;
	int neg = 0, n = 0;

	if (!text)
		return -1;
	if (*text == '-') {
		neg = 1;
		text++;
	}
	for (; *text; text++, n++) {
		if (*text < '0' || *text > '9' || n >= 38)
			return -1;
		v = v * 10 + (*text - '0');
	}
	if (n == 0)
		return -1;
	*out = neg ? -v : v;
	return 0;
}
