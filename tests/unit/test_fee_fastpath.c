/*
 * test_fee_fastpath.c -- seeded property test of the 128-bit fee path
 * (src/core/fee.c): for random rules and amounts, cs_fee_compute (which takes
 * the 128-bit path whenever the rule's numbers are small enough) must give
 * exactly what cs_fee_compute_exact gives with GMP -- rule, fee and split.
 *
 * At least 100,000 cases that take the 128-bit path per run
 * (CS_PROPERTY_CASES overrides; CS_SEED sets the seed, printed on failure).
 * Rules are random YAML configs loaded by the real loader: rates as
 * percentages, decimals and fractions (denominators on both sides of the
 * 2^40 bound), one to ten marginal tiers, fixed (also negative), min, max,
 * min_amount and max_amount (some beyond 2^62 minor units), borne_by shares,
 * every rounding mode, currencies with exponents 0, 2 and 3. Amounts are
 * drawn at every magnitude, at the tier bounds, and at the int64 extremes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/config_load.h"
#include "coopsettle/fee.h"
#include "coopsettle/util.h"

#define RULES_MAX 4
#define TIERS_MAX 10
#define AMOUNTS_PER_CONFIG 200

static uint64_t rng;

static uint64_t next(void)
{
	uint64_t z = (rng += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static uint64_t below(uint64_t n)
{
	return next() % n;
}

/* A random value below 10^digits, drawn so every magnitude is common. */
static uint64_t any_magnitude(unsigned digits_max)
{
	unsigned d = 1 + (unsigned)below(digits_max);
	uint64_t lim = 1;

	while (d--)
		lim *= 10;
	return below(lim);
}

/* Appends a money text (major units) with at most `decimals` decimals. The
 * integer part is below 10^int_digits. */
static void put_money(cs_buf *b, uint64_t major, unsigned decimals, int negative)
{
	unsigned k = decimals ? (unsigned)below(decimals + 1) : 0;

	cs_buf_printf(b, "\"%s%llu", negative ? "-" : "", (unsigned long long)major);
	if (k) {
		cs_buf_putc(b, '.');
		while (k--)
			cs_buf_putc(b, (char)('0' + below(10)));
	}
	cs_buf_putc(b, '"');
}

/* Appends a rate in [0, 1] in one of the grammar's forms. */
static void put_rate(cs_buf *b)
{
	switch (below(6)) {
	case 0: { /* percent with up to three decimals */
		uint64_t v = below(100001);

		cs_buf_printf(b, "\"%llu.%03llu%%\"", (unsigned long long)(v / 1000),
			      (unsigned long long)(v % 1000));
		break;
	}
	case 1: { /* a decimal in [0, 1) */
		cs_buf_printf(b, "\"0.%06llu\"", (unsigned long long)below(1000000));
		break;
	}
	case 2: { /* a fraction with a denominator of any size up to ~2^45 */
		uint64_t den = 1 + below((uint64_t)1 << below(46));

		cs_buf_printf(b, "\"%llu/%llu\"", (unsigned long long)below(den + 1),
			      (unsigned long long)den);
		break;
	}
	case 3: /* the usual small fractions */
		cs_buf_printf(b, "\"%llu/%llu\"", (unsigned long long)below(4),
			      (unsigned long long)(3 + below(5)));
		break;
	case 4:
		cs_buf_puts(b, below(2) ? "\"1\"" : "\"0%\"");
		break;
	default: /* a percent with one decimal: many exact ties at .5 */
		cs_buf_printf(b, "\"%llu.5%%\"", (unsigned long long)below(30));
		break;
	}
}

/* The split producer:consumer as two fractions summing to 1. */
static void put_shares(cs_buf *b)
{
	uint64_t den, num;

	switch (below(4)) {
	case 0:
		return; /* default: producer 100% */
	case 1:
		den = 1 + below((uint64_t)1 << below(45));
		break;
	default:
		den = 1 + below(12);
		break;
	}
	num = below(den + 1);
	cs_buf_printf(b, "    borne_by: {producer: \"%llu/%llu\", consumer: \"%llu/%llu\"}\n",
		      (unsigned long long)num, (unsigned long long)den,
		      (unsigned long long)(den - num), (unsigned long long)den);
}

static const char *const rounding_names[] = {"half_even", "half_up", "half_down", "down", "up"};

/* Tier bounds of the config being built, in minor units of each currency
 * (EUR exponent 2, JPY 0, BHD 3), for drawing amounts near them. */
typedef struct bounds {
	int64_t v[RULES_MAX * TIERS_MAX * 2];
	size_t n;
} bounds;

/* Builds a random config into b. Money never has more decimals than the
 * smallest exponent of the currencies it can apply to, so it is exact. */
static void random_config(cs_buf *b, bounds *bd)
{
	size_t n_rules = 1 + below(RULES_MAX), r, t;

	cs_buf_reset(b);
	bd->n = 0;
	cs_buf_printf(b,
		      "version: 1\ncooperative: \"Property eG\"\ncurrency: EUR\n"
		      "currencies: {EUR: 2, JPY: 0, BHD: 3}\nrounding: %s\nfees:\n",
		      rounding_names[below(5)]);
	for (r = 0; r < n_rules; r++) {
		/* currencies: 0 all (JPY too: whole units only), 1 EUR+BHD, 2 one */
		int cur_kind = (int)below(3);
		unsigned decimals = cur_kind == 0 ? 0 : 2;
		unsigned money_digits = below(8) == 0 ? 19 : 7; /* 19: beyond 2^62 minor */
		int last = r + 1 == n_rules && below(4) != 0;	/* mostly a catch-all */

		cs_buf_printf(b, "  - id: r%zu\n    when: {", r);
		if (cur_kind == 1)
			cs_buf_puts(b, "currency: [EUR, BHD], ");
		else if (cur_kind == 2)
			cs_buf_puts(b, below(2) ? "currency: [EUR], " : "currency: [BHD], ");
		if (!last && below(2))
			cs_buf_printf(b, "producer_member: %s, ", below(2) ? "true" : "false");
		if (!last && below(2))
			cs_buf_printf(b, "consumer_member: %s, ", below(2) ? "true" : "false");
		if (!last && below(3) == 0) {
			cs_buf_puts(b, "min_amount: ");
			put_money(b, any_magnitude(money_digits) / 100, decimals, 0);
			cs_buf_puts(b, ", ");
		}
		if (!last && below(3) == 0) {
			cs_buf_puts(b, "max_amount: ");
			put_money(b, any_magnitude(money_digits), decimals, 0);
			cs_buf_puts(b, ", ");
		}
		cs_buf_puts(b, "}\n");
		if (below(3) == 0) {
			cs_buf_puts(b, "    rate: ");
			put_rate(b);
			cs_buf_putc(b, '\n');
		} else {
			size_t n_tiers = below(5) == 0 ? 1 + below(TIERS_MAX) : 1 + below(4);
			uint64_t up = 0;

			cs_buf_puts(b, "    tiers:\n");
			for (t = 0; t < n_tiers; t++) {
				cs_buf_puts(b, "      - {rate: ");
				put_rate(b);
				if (t + 1 < n_tiers) {
					/* strictly increasing whole major units */
					up += 1 + any_magnitude(t + 1 == n_tiers - 1 &&
										money_digits == 19
									? 19
									: 6);
					cs_buf_printf(b, ", up_to: \"%llu\"",
						      (unsigned long long)up);
					if (bd->n + 2 <= sizeof(bd->v) / sizeof(bd->v[0]) &&
					    up < UINT64_C(1000000000000000)) {
						bd->v[bd->n++] = (int64_t)up * 100;
						bd->v[bd->n++] = (int64_t)up * 1000;
					}
				}
				cs_buf_puts(b, "}\n");
			}
		}
		if (below(2)) {
			cs_buf_puts(b, "    fixed: ");
			put_money(b, any_magnitude(money_digits == 19 ? 19 : 4), decimals,
				  below(4) == 0);
			cs_buf_putc(b, '\n');
		}
		{
			uint64_t lo = any_magnitude(money_digits == 19 ? 19 : 3);
			int has_min = below(2) != 0, has_max = below(2) != 0;

			if (has_min) {
				cs_buf_puts(b, "    min: ");
				put_money(b, lo, 0, 0);
				cs_buf_putc(b, '\n');
			}
			if (has_max) {
				cs_buf_puts(b, "    max: ");
				put_money(b, (has_min ? lo : 0) + 1 + any_magnitude(5), decimals,
					  0);
				cs_buf_putc(b, '\n');
			}
		}
		put_shares(b);
	}
}

/* An amount: the extremes, near a tier bound, or any magnitude; any sign. */
static int64_t random_amount(const bounds *bd)
{
	uint64_t m;

	switch (below(10)) {
	case 0: {
		static const int64_t fixed_values[] =
			{0, 1, -1, 2, INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1, 50, -50};

		return fixed_values[below(sizeof(fixed_values) / sizeof(fixed_values[0]))];
	}
	case 1:
	case 2:
		if (bd->n) {
			int64_t v = bd->v[below(bd->n)] + (int64_t)below(5) - 2;

			return below(2) ? v : -v;
		}
		break;
	default:
		break;
	}
	m = below(4) == 0 ? next() >> below(64) : any_magnitude(12);
	m &= (uint64_t)INT64_MAX;
	return below(5) == 0 ? -(int64_t)m : (int64_t)m;
}

static void test_fee_fastpath__equals_gmp(void **state)
{
	const char *seed_env = getenv("CS_SEED"), *cases_env = getenv("CS_PROPERTY_CASES");
	int64_t seed = 6006, cases = 100000, fast = 0, total = 0, configs = 0, rejected = 0;
	cs_buf text;
	bounds bd;

	(void)state;
	if (seed_env)
		cs_parse_i64(seed_env, &seed);
	if (cases_env)
		cs_parse_i64(cases_env, &cases);
	rng = (uint64_t)seed;
	cs_buf_init(&text);
	while (fast < cases) {
		cs_config *cfg = NULL;
		cs_config_diag diag;
		cs_fee_calc calc;
		int i;

		random_config(&text, &bd);
		if (cs_config_load_buffer(&cfg, "property.yaml", text.data, text.len, &diag) != 0) {
			/* e.g. min above max after rounding to minor units: draw again */
			rejected++;
			if (rejected > 1000 && rejected > configs * 4) {
				cs_config_diag_print(stderr, &diag, "property.yaml", text.data,
						     text.len);
				fail_msg("too many random configs rejected (seed %lld)",
					 (long long)seed);
			}
			continue;
		}
		configs++;
		cs_fee_calc_init(&calc, cfg);
		for (i = 0; i < AMOUNTS_PER_CONFIG; i++) {
			cs_fee_input in;
			cs_fee_result a, b;

			memset(&in, 0, sizeof(in));
			in.amount_minor = random_amount(&bd);
			in.currency = (size_t)below(cfg->n_currencies);
			in.producer_member = (int)below(2);
			in.consumer_member = (int)below(2);
			cs_fee_compute(&calc, &in, &a);
			cs_fee_compute_exact(&calc, &in, &b);
			total++;
			if (a.rule_index >= 0 && in.amount_minor != 0 &&
			    cs_fee_fast_applies(&calc, (size_t)a.rule_index, in.currency))
				fast++;
			if (a.rule_index != b.rule_index || a.fee_minor != b.fee_minor ||
			    a.fee_producer_minor != b.fee_producer_minor ||
			    a.fee_consumer_minor != b.fee_consumer_minor) {
				char fa[48], fb[48];

				cs_i128_format(fa, a.fee_minor);
				cs_i128_format(fb, b.fee_minor);
				fprintf(stderr,
					"seed %lld: amount %lld currency %s pm %d cm %d: fast rule %d "
					"fee %s, GMP rule %d fee %s\nconfig:\n%s",
					(long long)seed, (long long)in.amount_minor,
					cfg->currencies[in.currency].code, in.producer_member,
					in.consumer_member, a.rule_index, fa, b.rule_index, fb,
					text.data);
				fail_msg("128-bit path differs from GMP (seed %lld)",
					 (long long)seed);
			}
		}
		cs_fee_calc_clear(&calc);
		cs_config_free(cfg);
	}
	/* both paths were exercised: the GMP fallback is not dead code */
	assert_true(total > fast);
	printf("fee fast path: %lld cases (%lld on the 128-bit path), %lld configs, seed %lld\n",
	       (long long)total, (long long)fast, (long long)configs, (long long)seed);
	cs_buf_free(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fee_fastpath__equals_gmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
