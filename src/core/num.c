/*
 * num.c -- exact numbers: the strict grammar of rates and money (spec
 * section 1), the five rounding modes and a decimal printer for messages.
 *
 * The grammar is scanned by hand, byte by byte, over exactly len bytes: no
 * strtod/strtol/sscanf (they accept spaces, signs, exponents, hex and the
 * locale's comma) and no NUL terminator needed. Digits are counted as
 * written, leading zeros included, and bounded by CS_NUMBER_DIGITS_MAX before
 * any GMP value is built, so every value stays a few limbs. Nothing here keeps
 * state between calls: every function is thread-safe.
 */
#include "coopsettle/num.h"

#include <string.h>

#include "coopsettle/error.h"
#include "coopsettle/limits.h"

/* A decimal `digits ('.' digits)?` found in a text: where its integer and
 * fraction digits are. */
typedef struct decimal_span {
	size_t int_start, int_count;
	size_t frac_start, frac_count;
} decimal_span;

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* digits := [0-9]+ ; advances *pos over them and returns how many. */
static size_t scan_digits(const char *text, size_t len, size_t *pos)
{
	size_t start = *pos;

	while (*pos < len && is_digit(text[*pos]))
		(*pos)++;
	return *pos - start;
}

/* Scans `digits ('.' digits)?` at *pos. Returns 0 and advances *pos, or -1
 * with *why set. The digit bound is checked by the caller, who knows whether
 * more digits follow (a fraction's denominator). */
static int scan_decimal(const char *text, size_t len, size_t *pos, decimal_span *d,
			const char **why)
{
	d->int_start = *pos;
	d->int_count = scan_digits(text, len, pos);
	d->frac_start = *pos;
	d->frac_count = 0;
	if (d->int_count == 0) {
		*why = "a number must start with a digit";
		return -1;
	}
	if (*pos < len && text[*pos] == '.') {
		(*pos)++;
		d->frac_start = *pos;
		d->frac_count = scan_digits(text, len, pos);
		if (d->frac_count == 0) {
			*why = "a decimal point must be followed by a digit";
			return -1;
		}
	}
	return 0;
}

/* out = the integer written by the count digits at text + start (count may
 * be 0: out = 0). The caller has checked they are digits and bounded. */
static void accumulate_digits(mpz_t out, const char *text, size_t start, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++) {
		mpz_mul_ui(out, out, 10);
		mpz_add_ui(out, out, (unsigned long)(text[start + i] - '0'));
	}
}

/* out = the exact value of the decimal d, canonical. */
static void set_decimal(mpq_t out, const char *text, const decimal_span *d)
{
	mpz_set_ui(mpq_numref(out), 0);
	accumulate_digits(mpq_numref(out), text, d->int_start, d->int_count);
	accumulate_digits(mpq_numref(out), text, d->frac_start, d->frac_count);
	mpz_ui_pow_ui(mpq_denref(out), 10, (unsigned long)d->frac_count);
	mpq_canonicalize(out);
}

int cs_rate_parse(mpq_t out, const char *text, size_t len, const char **why)
{
	decimal_span num;
	size_t pos = 0;
	const char *ignored;

	if (why == NULL)
		why = &ignored;
	if (len == 0) {
		*why = "empty rate";
		return -1;
	}
	if (scan_decimal(text, len, &pos, &num, why) < 0)
		return -1;

	if (pos < len && text[pos] == '/') { /* digits '/' digits */
		size_t den_start, den_count;

		if (num.frac_count != 0) {
			*why = "a fraction is whole digits '/' whole digits, like 3/40";
			return -1;
		}
		den_start = ++pos;
		den_count = scan_digits(text, len, &pos);
		if (den_count == 0 || pos != len) {
			*why = "a fraction is whole digits '/' whole digits, like 3/40";
			return -1;
		}
		if (num.int_count + den_count > CS_NUMBER_DIGITS_MAX) {
			*why = "too many digits";
			return -1;
		}
		mpz_set_ui(mpq_denref(out), 0);
		accumulate_digits(mpq_denref(out), text, den_start, den_count);
		if (mpz_sgn(mpq_denref(out)) == 0) {
			mpz_set_ui(mpq_denref(out), 1); /* leave out a valid mpq */
			*why = "the denominator of a fraction must not be 0";
			return -1;
		}
		mpz_set_ui(mpq_numref(out), 0);
		accumulate_digits(mpq_numref(out), text, num.int_start, num.int_count);
		mpq_canonicalize(out);
	} else { /* decimal '%'? */
		int percent = pos < len && text[pos] == '%';

		if (percent)
			pos++;
		if (pos != len) {
			*why = "a rate is like 7.5%, 0.075 or 3/40";
			return -1;
		}
		if (num.int_count + num.frac_count > CS_NUMBER_DIGITS_MAX) {
			*why = "too many digits";
			return -1;
		}
		set_decimal(out, text, &num);
		if (percent) {
			mpz_mul_ui(mpq_denref(out), mpq_denref(out), 100);
			mpq_canonicalize(out);
		}
	}
	if (mpq_cmp_ui(out, 1, 1) > 0) { /* never negative: there is no sign */
		*why = "a rate must lie in [0, 1]";
		return -1;
	}
	return 0;
}

int cs_money_parse(mpq_t out, const char *text, size_t len, const char **why)
{
	decimal_span d;
	size_t pos = 0;
	int negative = 0;
	const char *ignored;

	if (why == NULL)
		why = &ignored;
	if (len > 0 && text[0] == '-') {
		negative = 1;
		pos = 1;
	}
	if (pos >= len) {
		*why = "empty amount";
		return -1;
	}
	if (scan_decimal(text, len, &pos, &d, why) < 0)
		return -1;
	if (pos != len) {
		*why = "money is like 12000, 0.50 or -3.10";
		return -1;
	}
	if (d.int_count + d.frac_count > CS_NUMBER_DIGITS_MAX) {
		*why = "too many digits";
		return -1;
	}
	set_decimal(out, text, &d);
	if (negative)
		mpq_neg(out, out); /* "-0" and "-0.00" are 0 */
	return 0;
}

int cs_money_to_minor(mpz_t out, const mpq_t major, unsigned exponent)
{
	mpz_t scaled, rem;
	int rc;

	CS_ASSERT(exponent <= CS_EXPONENT_MAX);
	mpz_inits(scaled, rem, NULL);
	mpz_ui_pow_ui(scaled, 10, exponent);
	mpz_mul(scaled, scaled, mpq_numref(major));
	/* exact or not: the remainder decides, the quotient is only kept when 0 */
	mpz_tdiv_qr(scaled, rem, scaled, mpq_denref(major));
	rc = mpz_sgn(rem) == 0 ? 0 : -1;
	if (rc == 0)
		mpz_set(out, scaled);
	mpz_clears(scaled, rem, NULL);
	return rc;
}

void cs_round(mpz_t out, const mpq_t x, cs_rounding mode)
{
	mpz_t magnitude, q, r;
	int negative = mpq_sgn(x) < 0, cmp;

	CS_ASSERT((unsigned)mode <= (unsigned)CS_ROUND_UP);
	mpz_inits(magnitude, q, r, NULL);
	mpz_abs(magnitude, mpq_numref(x));
	/* |x| = q + r / den with 0 <= r < den (den > 0 in a canonical mpq) */
	mpz_fdiv_qr(q, r, magnitude, mpq_denref(x));
	if (mpz_sgn(r) != 0) {
		switch (mode) {
		case CS_ROUND_DOWN:
			break;
		case CS_ROUND_UP:
			mpz_add_ui(q, q, 1);
			break;
		case CS_ROUND_HALF_EVEN:
		case CS_ROUND_HALF_UP:
		case CS_ROUND_HALF_DOWN:
			/* compare the fraction r / den with 1/2 as 2r with den */
			mpz_mul_2exp(r, r, 1);
			cmp = mpz_cmp(r, mpq_denref(x));
			if (cmp > 0 || (cmp == 0 && mode == CS_ROUND_HALF_UP) ||
			    (cmp == 0 && mode == CS_ROUND_HALF_EVEN && mpz_odd_p(q)))
				mpz_add_ui(q, q, 1);
			break;
		}
	}
	if (negative)
		mpz_neg(q, q);
	mpz_set(out, q);
	mpz_clears(magnitude, q, r, NULL);
}

static const char *const rounding_names[] = {
	[CS_ROUND_HALF_EVEN] = "half_even",
	[CS_ROUND_HALF_UP] = "half_up",
	[CS_ROUND_HALF_DOWN] = "half_down",
	[CS_ROUND_DOWN] = "down",
	[CS_ROUND_UP] = "up",
};

int cs_rounding_parse(const char *name, cs_rounding *out)
{
	size_t i;

	for (i = 0; i < sizeof(rounding_names) / sizeof(rounding_names[0]); i++) {
		if (strcmp(name, rounding_names[i]) == 0) {
			*out = (cs_rounding)i;
			return 0;
		}
	}
	return -1;
}

const char *cs_rounding_name(cs_rounding mode)
{
	CS_ASSERT((unsigned)mode <= (unsigned)CS_ROUND_UP);
	return rounding_names[mode];
}

/* A terminating expansion longer than this is printed rounded, with "...":
 * no message needs more, and it bounds the work for any input. */
#define DECIMAL_EXACT_PLACES_MAX 200

/* Places after the point of the exact decimal expansion of a value with
 * denominator den (> 0), or -1 when it does not terminate (den has a prime
 * factor other than 2 and 5) or needs more than DECIMAL_EXACT_PLACES_MAX. */
static long terminating_places(const mpz_t den)
{
	mpz_t rest;
	unsigned long twos, fives = 0;
	long places = -1;

	mpz_init(rest);
	twos = mpz_scan1(den, 0);
	mpz_tdiv_q_2exp(rest, den, twos);
	while (mpz_divisible_ui_p(rest, 5) && fives <= DECIMAL_EXACT_PLACES_MAX) {
		mpz_divexact_ui(rest, rest, 5);
		fives++;
	}
	if (mpz_cmp_ui(rest, 1) == 0) {
		unsigned long p = twos > fives ? twos : fives;

		if (p <= DECIMAL_EXACT_PLACES_MAX)
			places = (long)p;
	}
	mpz_clear(rest);
	return places;
}

/* Appends c to buf when there is room for it and the NUL. */
static void put(char *buf, size_t size, size_t *o, char c)
{
	if (*o + 1 < size)
		buf[(*o)++] = c;
}

void cs_q_to_decimal(char *buf, size_t size, const mpq_t x, unsigned digits)
{
	mpz_t scale, v;
	mpq_t t;
	char *s;
	size_t s_len, o = 0, k, places, int_digits;
	long exact_places = terminating_places(mpq_denref(x));
	int exact = exact_places >= 0;
	void (*free_func)(void *, size_t);

	if (size == 0)
		return;
	places = digits;
	if (exact && (unsigned long)exact_places > places)
		places = (size_t)exact_places;
	mpz_inits(scale, v, NULL);
	mpq_init(t);
	mpz_ui_pow_ui(scale, 10, (unsigned long)places);
	mpq_set_z(t, scale);
	mpq_mul(t, t, x);
	mpq_abs(t, t);
	cs_round(v, t, CS_ROUND_HALF_EVEN); /* exact when the expansion terminates */
	s = mpz_get_str(NULL, 10, v);
	s_len = strlen(s);

	/* the sign of x, also when its rounded magnitude is 0: "-0.00..." */
	if (mpq_sgn(x) < 0)
		put(buf, size, &o, '-');
	int_digits = s_len > places ? s_len - places : 0;
	if (int_digits == 0)
		put(buf, size, &o, '0');
	for (k = 0; k < int_digits; k++)
		put(buf, size, &o, s[k]);
	if (places > 0)
		put(buf, size, &o, '.');
	for (k = places; k > 0; k--) /* k: place counted from the right */
		put(buf, size, &o, k <= s_len ? s[s_len - k] : '0');
	if (!exact)
		for (k = 0; k < 3; k++)
			put(buf, size, &o, '.');
	buf[o] = '\0';

	mp_get_memory_functions(NULL, NULL, &free_func);
	free_func(s, s_len + 1);
	mpz_clears(scale, v, NULL);
	mpq_clear(t);
}
