/*
 * num.c -- strict number grammar and rounding (see num.h).
 */
#include "coopsettle/num.h"

#include <stdio.h>
#include <string.h>

#include "coopsettle/limits.h"

/* digits := [0-9]+ ; returns the count read from text[*pos..len). */
static size_t scan_digits(const char *text, size_t len, size_t *pos)
{
	size_t start = *pos;

	while (*pos < len && text[*pos] >= '0' && text[*pos] <= '9')
		(*pos)++;
	return *pos - start;
}

/* Sets out to the decimal text[a..b) (digits, optional one '.') exactly. */
static void set_decimal(mpq_t out, const char *text, size_t int_start, size_t int_len,
			size_t frac_start, size_t frac_len)
{
	char buf[2 * CS_NUMBER_DIGITS_MAX + 4];
	size_t i, n = 0;
	mpz_t den;

	for (i = 0; i < int_len; i++)
		buf[n++] = text[int_start + i];
	for (i = 0; i < frac_len; i++)
		buf[n++] = text[frac_start + i];
	buf[n] = '\0';
	mpz_set_str(mpq_numref(out), buf, 10);
	mpz_init(den);
	mpz_ui_pow_ui(den, 10, (unsigned long)frac_len);
	mpz_set(mpq_denref(out), den);
	mpz_clear(den);
	mpq_canonicalize(out);
}

/* Parses `digits ('.' digits)?` at *pos; fills positions. */
static int scan_decimal(const char *text, size_t len, size_t *pos, size_t *is, size_t *il,
			size_t *fs, size_t *fl, const char **why)
{
	*is = *pos;
	*il = scan_digits(text, len, pos);
	*fs = *pos;
	*fl = 0;
	if (*il == 0) {
		*why = "a number must start with a digit";
		return -1;
	}
	if (*pos < len && text[*pos] == '.') {
		(*pos)++;
		*fs = *pos;
		*fl = scan_digits(text, len, pos);
		if (*fl == 0) {
			*why = "a decimal point must be followed by digits";
			return -1;
		}
	}
	if (*il + *fl > CS_NUMBER_DIGITS_MAX) {
		*why = "too many digits";
		return -1;
	}
	return 0;
}

int cs_rate_parse(mpq_t out, const char *text, size_t len, const char **why)
{
	size_t pos = 0, is, il, fs, fl;
	const char *dummy;

	if (!why)
		why = &dummy;
	if (len == 0) {
		*why = "empty rate";
		return -1;
	}
	if (scan_decimal(text, len, &pos, &is, &il, &fs, &fl, why) < 0)
		return -1;
	if (pos < len && text[pos] == '/' && fl == 0) {
		size_t ds = ++pos, dl = scan_digits(text, len, &pos);
		mpq_t d;

		if (dl == 0 || pos != len) {
			*why = "a fraction is digits '/' digits";
			return -1;
		}
		if (il + dl > CS_NUMBER_DIGITS_MAX) {
			*why = "too many digits";
			return -1;
		}
		mpq_init(d);
		set_decimal(out, text, is, il, 0, 0);
		set_decimal(d, text, ds, dl, 0, 0);
		if (mpq_sgn(d) == 0) {
			mpq_clear(d);
			*why = "a fraction's denominator must not be 0";
			return -1;
		}
		mpq_div(out, out, d);
		mpq_clear(d);
	} else {
		int percent = pos < len && text[pos] == '%';

		if (percent)
			pos++;
		if (pos != len) {
			*why = "a rate is like 7.5%, 0.075 or 3/40";
			return -1;
		}
		set_decimal(out, text, is, il, fs, fl);
		if (percent) {
			mpq_t h;

			mpq_init(h);
			mpq_set_ui(h, 100, 1);
			mpq_div(out, out, h);
			mpq_clear(h);
		}
	}
	if (mpq_cmp_ui(out, 1, 1) > 0) {
		*why = "a rate must lie in [0, 1]";
		return -1;
	}
	return 0;
}

int cs_money_parse(mpq_t out, const char *text, size_t len, const char **why)
{
	size_t pos = 0, is, il, fs, fl;
	int neg = 0;
	const char *dummy;

	if (!why)
		why = &dummy;
	if (len > 0 && text[0] == '-') {
		neg = 1;
		pos = 1;
	}
	if (pos >= len) {
		*why = "empty amount";
		return -1;
	}
	if (scan_decimal(text, len, &pos, &is, &il, &fs, &fl, why) < 0)
		return -1;
	if (pos != len) {
		*why = "money is like 12000, 0.50 or -3.10";
		return -1;
	}
	set_decimal(out, text, is, il, fs, fl);
	if (neg)
		mpq_neg(out, out);
	return 0;
}

int cs_money_to_minor(mpz_t out, const mpq_t major, unsigned exponent)
{
	mpz_t scale, rem;
	int rc = 0;

	mpz_inits(scale, rem, NULL);
	mpz_ui_pow_ui(scale, 10, exponent);
	mpz_mul(out, mpq_numref(major), scale);
	mpz_tdiv_qr(out, rem, out, mpq_denref(major));
	if (mpz_sgn(rem) != 0)
		rc = -1;
	mpz_clears(scale, rem, NULL);
	return rc;
}

void cs_round(mpz_t out, const mpq_t x, cs_rounding mode)
{
	mpz_t q, r, twice;
	int neg = mpq_sgn(x) < 0, cmp;

	mpz_inits(q, r, twice, NULL);
	mpz_abs(twice, mpq_numref(x));
	mpz_fdiv_qr(q, r, twice, mpq_denref(x)); /* |x| = q + r/den */
	if (mpz_sgn(r) != 0) {
		switch (mode) {
		case CS_ROUND_DOWN:
			break;
		case CS_ROUND_UP:
			mpz_add_ui(q, q, 1);
			break;
		default:
			mpz_mul_2exp(twice, r, 1);
			cmp = mpz_cmp(twice, mpq_denref(x));
			if (cmp > 0 || (cmp == 0 && mode == CS_ROUND_HALF_UP) ||
			    (cmp == 0 && mode == CS_ROUND_HALF_EVEN && mpz_odd_p(q)))
				mpz_add_ui(q, q, 1);
			break;
		}
	}
	if (neg)
		mpz_neg(q, q);
	mpz_set(out, q);
	mpz_clears(q, r, twice, NULL);
}

static const char *const rounding_names[] = {"half_even", "half_up", "half_down", "down", "up"};

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
	return rounding_names[mode];
}

void cs_q_to_decimal(char *buf, size_t size, const mpq_t x, unsigned digits)
{
	mpz_t scale, v;
	mpq_t t;
	char *s;
	size_t n, i, o = 0;
	int exact;

	mpz_inits(scale, v, NULL);
	mpq_init(t);
	mpz_ui_pow_ui(scale, 10, digits);
	mpq_set_z(t, scale);
	mpq_mul(t, t, x);
	exact = mpz_cmp_ui(mpq_denref(t), 1) == 0;
	cs_round(v, t, CS_ROUND_HALF_EVEN);
	s = mpz_get_str(NULL, 10, v);
	n = strlen(s);
	if (size == 0)
		goto out;
	i = 0;
	if (s[0] == '-') {
		if (o + 1 < size)
			buf[o++] = '-';
		i = 1;
	}
	{
		size_t nd = n - i;
		size_t int_digits = nd > digits ? nd - digits : 0;
		size_t k;

		if (int_digits == 0 && o + 1 < size)
			buf[o++] = '0';
		for (k = 0; k < int_digits && o + 1 < size; k++)
			buf[o++] = s[i + k];
		if (digits && o + 1 < size)
			buf[o++] = '.';
		for (k = 0; k < digits && o + 1 < size; k++) {
			size_t pos_from_end = digits - k; /* 1-based from the right */
			buf[o++] = pos_from_end <= nd ? s[n - pos_from_end] : '0';
		}
		if (!exact) {
			for (k = 0; k < 3 && o + 1 < size; k++)
				buf[o++] = '.';
		}
	}
	buf[o] = '\0';
out:
	{
		void (*freefunc)(void *, size_t);

		mp_get_memory_functions(NULL, NULL, &freefunc);
		freefunc(s, n + 1);
	}
	mpz_clears(scale, v, NULL);
	mpq_clear(t);
}
