/*
 * i128.c -- helpers for 128-bit sums (see i128.h).
 */
#include "coopsettle/i128.h"

#include <stdint.h>

#include "coopsettle/error.h"

void cs_i128_add(cs_i128 *sum, cs_i128 v)
{
	*sum += v;
	CS_ASSERT(*sum < CS_I128_SUM_MAX && *sum > -CS_I128_SUM_MAX);
}

size_t cs_i128_format(char *buf, cs_i128 v)
{
	char tmp[48];
	size_t n = 0, len = 0;
	cs_u128 m = v < 0 ? (cs_u128)0 - (cs_u128)v : (cs_u128)v;

	if (m <= UINT64_MAX) {
		uint64_t m64 = (uint64_t)m; /* 64-bit division: no __udivti3 call per digit */

		do {
			tmp[n++] = (char)('0' + (int)(m64 % 10));
			m64 /= 10;
		} while (m64);
	} else {
		do {
			tmp[n++] = (char)('0' + (int)(m % 10));
			m /= 10;
		} while (m);
	}
	if (v < 0)
		buf[len++] = '-';
	while (n)
		buf[len++] = tmp[--n];
	buf[len] = '\0';
	return len;
}

void cs_i128_to_mpz(mpz_t z, cs_i128 v)
{
	cs_u128 m = v < 0 ? (cs_u128)0 - (cs_u128)v : (cs_u128)v;
	unsigned long hi = (unsigned long)(m >> 64);
	unsigned long lo = (unsigned long)(m & 0xffffffffffffffffu);

	mpz_set_ui(z, hi);
	mpz_mul_2exp(z, z, 64);
	mpz_add_ui(z, z, lo);
	if (v < 0)
		mpz_neg(z, z);
}

cs_i128 cs_i128_from_mpz(const mpz_t z)
{
	cs_u128 m = 0;
	size_t i, n = mpz_size(z);

	CS_ASSERT(mpz_sizeinbase(z, 2) <= 126);
	for (i = n; i-- > 0;)
		m = (m << 64) | (cs_u128)mpz_getlimbn(z, (mp_size_t)i);
	return mpz_sgn(z) < 0 ? -(cs_i128)m : (cs_i128)m;
}
