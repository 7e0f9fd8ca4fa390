/*
 * fuzz_number.c -- fuzz target for the number grammar and rounding
 * (cs_rate_parse, cs_money_parse, cs_money_to_minor, cs_round,
 * cs_q_to_decimal).
 *
 * Input: byte 0 picks the rounding mode, byte 1 the minor-unit exponent
 * (0..CS_EXPONENT_MAX), byte 2 the decimal places for cs_q_to_decimal; the
 * rest is "A" or "A B": A is parsed as a rate and as money, B as a rate.
 * Besides crashes, leaks and undefined behaviour it checks the results
 * against an independent model written here: which texts the grammar of
 * spec section 1 accepts and their exact values, money in minor units, the
 * defining properties of each rounding mode, and the decimal printer.
 */
#include <stdlib.h>
#include <string.h>

#include "coopsettle/error.h"
#include "coopsettle/limits.h"
#include "coopsettle/num.h"
#include "fuzz.h"

#define DECIMAL_PLACES_MAX 40

static size_t digits_at(const char *s, size_t n, size_t *i)
{
	size_t start = *i;

	while (*i < n && s[*i] >= '0' && s[*i] <= '9')
		(*i)++;
	return *i - start;
}

/* Sets v to the integer written by the digits s[a..a+n) (n > 0). */
static void set_digits(mpz_t v, const char *s, size_t a, size_t n)
{
	size_t k;

	mpz_set_ui(v, 0);
	for (k = 0; k < n; k++) {
		mpz_mul_ui(v, v, 10);
		mpz_add_ui(v, v, (unsigned long)(s[a + k] - '0'));
	}
}

/* The model of `'-'? digits ('.' digits)?` with at most
 * CS_NUMBER_DIGITS_MAX digits: 1 and the value in v, or 0. */
static int model_money(const char *s, size_t n, mpq_t v)
{
	size_t i = 0, a, d1, f = 0, fa = 0;
	int neg = 0;
	mpz_t num, frac;

	if (i < n && s[i] == '-') {
		neg = 1;
		i++;
	}
	a = i;
	d1 = digits_at(s, n, &i);
	if (d1 == 0)
		return 0;
	if (i < n && s[i] == '.') {
		i++;
		fa = i;
		f = digits_at(s, n, &i);
		if (f == 0)
			return 0;
	}
	if (i != n || d1 + f > CS_NUMBER_DIGITS_MAX)
		return 0;
	mpz_inits(num, frac, NULL);
	set_digits(num, s, a, d1);
	if (f > 0) {
		set_digits(frac, s, fa, f);
		mpz_ui_pow_ui(mpq_denref(v), 10, (unsigned long)f);
		mpz_mul(num, num, mpq_denref(v));
		mpz_add(num, num, frac);
	} else {
		mpz_set_ui(mpq_denref(v), 1);
	}
	mpz_set(mpq_numref(v), num);
	mpq_canonicalize(v);
	if (neg)
		mpq_neg(v, v);
	mpz_clears(num, frac, NULL);
	return 1;
}

/* The model of a rate: `decimal '%'`, `decimal` or `digits '/' digits`,
 * at most CS_NUMBER_DIGITS_MAX digits, denominator > 0, value in [0, 1]. */
static int model_rate(const char *s, size_t n, mpq_t v)
{
	size_t i = 0, d1, d2, f = 0, fa = 0;
	int ok = 1;
	mpz_t a, b;

	d1 = digits_at(s, n, &i);
	if (d1 == 0)
		return 0;
	mpz_inits(a, b, NULL);
	set_digits(a, s, 0, d1);
	if (i < n && s[i] == '/') {
		size_t ba = ++i;

		d2 = digits_at(s, n, &i);
		if (d2 == 0 || i != n || d1 + d2 > CS_NUMBER_DIGITS_MAX)
			ok = 0;
		else
			set_digits(b, s, ba, d2);
		if (ok && mpz_sgn(b) == 0)
			ok = 0;
	} else {
		int pct = 0;

		if (i < n && s[i] == '.') {
			fa = ++i;
			f = digits_at(s, n, &i);
			if (f == 0)
				ok = 0;
		}
		if (ok && i < n && s[i] == '%') {
			pct = 1;
			i++;
		}
		if (ok && (i != n || d1 + f > CS_NUMBER_DIGITS_MAX))
			ok = 0;
		if (ok) {
			/* a = int * 10^f + frac, b = 10^f (times 100 for '%') */
			mpz_ui_pow_ui(b, 10, (unsigned long)f);
			mpz_mul(a, a, b);
			if (f > 0) {
				mpz_t frac;

				mpz_init(frac);
				set_digits(frac, s, fa, f);
				mpz_add(a, a, frac);
				mpz_clear(frac);
			}
			if (pct)
				mpz_mul_ui(b, b, 100);
		}
	}
	if (ok) {
		mpz_set(mpq_numref(v), a);
		mpz_set(mpq_denref(v), b);
		mpq_canonicalize(v);
		if (mpq_cmp_ui(v, 1, 1) > 0)
			ok = 0;
	}
	mpz_clears(a, b, NULL);
	return ok;
}

/* Checks cs_round(x, mode) against the definition of each mode. */
static void check_round(const mpq_t x, cs_rounding mode)
{
	mpz_t r, r_neg;
	mpq_t diff, ax, ar, neg;
	int cmp_half;

	mpz_inits(r, r_neg, NULL);
	mpq_inits(diff, ax, ar, neg, NULL);
	cs_round(r, x, mode);
	/* symmetry: refunds mirror sales */
	mpq_neg(neg, x);
	cs_round(r_neg, neg, mode);
	mpz_neg(r_neg, r_neg);
	CS_ASSERT(mpz_cmp(r, r_neg) == 0);
	/* the sign is kept (or the result is 0) */
	CS_ASSERT(mpz_sgn(r) == 0 || mpz_sgn(r) == mpq_sgn(x));
	/* magnitudes: |r| - |x| in (-1, 1) */
	mpq_abs(ax, x);
	mpq_set_z(ar, r);
	mpq_abs(ar, ar);
	mpq_sub(diff, ar, ax); /* |r| - |x| */
	CS_ASSERT(mpq_cmp_si(diff, -1, 1) > 0 && mpq_cmp_si(diff, 1, 1) < 0);
	if (mpz_cmp_ui(mpq_denref(x), 1) == 0) {
		CS_ASSERT(mpq_sgn(diff) == 0); /* whole numbers stay */
		goto out;
	}
	switch (mode) {
	case CS_ROUND_DOWN:
		CS_ASSERT(mpq_sgn(diff) < 0);
		break;
	case CS_ROUND_UP:
		CS_ASSERT(mpq_sgn(diff) > 0);
		break;
	default: {
		mpq_t half, ad;

		mpq_inits(half, ad, NULL);
		mpq_set_ui(half, 1, 2);
		mpq_abs(ad, diff);
		cmp_half = mpq_cmp(ad, half);
		CS_ASSERT(cmp_half <= 0);
		if (cmp_half == 0 && mode == CS_ROUND_HALF_UP)
			CS_ASSERT(mpq_sgn(diff) > 0);
		if (cmp_half == 0 && mode == CS_ROUND_HALF_DOWN)
			CS_ASSERT(mpq_sgn(diff) < 0);
		if (cmp_half == 0 && mode == CS_ROUND_HALF_EVEN)
			CS_ASSERT(mpz_even_p(r));
		mpq_clears(half, ad, NULL);
		break;
	}
	}
out:
	mpz_clears(r, r_neg, NULL);
	mpq_clears(diff, ax, ar, neg, NULL);
}

/* Reads the output of cs_q_to_decimal back: '-'? digits '.' digits. */
static void decimal_value(const char *s, size_t n, mpq_t v)
{
	size_t i = 0, a, d1, f = 0, fa = 0;
	int neg = 0;
	mpz_t frac;

	if (s[0] == '-') {
		neg = 1;
		i = 1;
	}
	a = i;
	d1 = digits_at(s, n, &i);
	CS_ASSERT(d1 > 0);
	mpz_init(frac);
	set_digits(mpq_numref(v), s, a, d1);
	mpz_set_ui(mpq_denref(v), 1);
	if (i < n && s[i] == '.') {
		fa = ++i;
		f = digits_at(s, n, &i);
		CS_ASSERT(f > 0);
		set_digits(frac, s, fa, f);
		mpz_ui_pow_ui(mpq_denref(v), 10, (unsigned long)f);
		mpz_mul(mpq_numref(v), mpq_numref(v), mpq_denref(v));
		mpz_add(mpq_numref(v), mpq_numref(v), frac);
	}
	CS_ASSERT(i == n);
	mpq_canonicalize(v);
	if (neg)
		mpq_neg(v, v);
	mpz_clear(frac);
}

/* cs_q_to_decimal: bounded by the buffer, exact when it says so, else
 * within half a unit of the last place. */
static void check_decimal(const mpq_t x, unsigned places)
{
	static const size_t sizes[] = {1, 2, 7, 300};
	mpq_t v, d, ulp;
	size_t k, n;

	mpq_inits(v, d, ulp, NULL);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		char *buf = malloc(sizes[k]); /* exact size: ASan sees any overrun */
		int inexact;

		CS_ASSERT(buf != NULL);
		cs_q_to_decimal(buf, sizes[k], x, places);
		n = strnlen(buf, sizes[k]);
		CS_ASSERT(n < sizes[k]);
		if (sizes[k] == 300) {
			inexact = n >= 3 && memcmp(buf + n - 3, "...", 3) == 0;
			decimal_value(buf, inexact ? n - 3 : n, v);
			mpq_sub(d, v, x);
			mpq_abs(d, d);
			if (!inexact) {
				CS_ASSERT(mpq_sgn(d) == 0);
			} else {
				mpz_set_ui(mpq_numref(ulp), 1);
				mpz_ui_pow_ui(mpq_denref(ulp), 10, places);
				mpz_mul_ui(mpq_denref(ulp), mpq_denref(ulp), 2);
				CS_ASSERT(mpq_cmp(d, ulp) <= 0);
			}
		}
		free(buf);
	}
	mpq_clears(v, d, ulp, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text, *why, *sp;
	size_t len, alen;
	cs_rounding mode;
	unsigned exponent, places;
	mpq_t got, want, rate2, x;
	mpz_t minor, scale;
	int ok, m;

	if (size < 3)
		return 0;
	mode = (cs_rounding)(data[0] % 5);
	exponent = data[1] % (CS_EXPONENT_MAX + 1);
	places = data[2] % (DECIMAL_PLACES_MAX + 1);
	text = (const char *)data + 3;
	len = size - 3;
	sp = memchr(text, ' ', len);
	alen = sp ? (size_t)(sp - text) : len;

	mpq_inits(got, want, rate2, x, NULL);
	mpz_inits(minor, scale, NULL);

	/* A as a rate */
	why = NULL;
	ok = cs_rate_parse(got, text, alen, &why) == 0;
	m = model_rate(text, alen, want);
	CS_ASSERT(ok == m);
	if (ok) {
		CS_ASSERT(mpq_equal(got, want));
		check_round(got, mode);
		check_decimal(got, places);
	} else {
		CS_ASSERT(why != NULL && why[0] != '\0');
	}

	/* A as money, then in minor units, rounded, multiplied by B */
	why = NULL;
	ok = cs_money_parse(got, text, alen, &why) == 0;
	m = model_money(text, alen, want);
	CS_ASSERT(ok == m);
	if (!ok) {
		CS_ASSERT(why != NULL && why[0] != '\0');
		goto out;
	}
	CS_ASSERT(mpq_equal(got, want));
	check_decimal(got, places);
	mpz_ui_pow_ui(scale, 10, exponent);
	mpq_set_z(x, scale);
	mpq_mul(x, x, got); /* the exact value in minor units */
	if (cs_money_to_minor(minor, got, exponent) == 0) {
		CS_ASSERT(mpz_cmp_ui(mpq_denref(x), 1) == 0);
		CS_ASSERT(mpz_cmp(minor, mpq_numref(x)) == 0);
	} else {
		CS_ASSERT(mpz_cmp_ui(mpq_denref(x), 1) != 0);
	}
	check_round(x, mode);
	if (sp != NULL && cs_rate_parse(rate2, sp + 1, len - alen - 1, NULL) == 0) {
		mpq_mul(x, x, rate2); /* a fee: rate times amount */
		check_round(x, mode);
		check_decimal(x, places);
	}
out:
	mpq_clears(got, want, rate2, x, NULL);
	mpz_clears(minor, scale, NULL);
	return 0;
}
