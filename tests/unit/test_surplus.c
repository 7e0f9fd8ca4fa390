/*
 * test_surplus.c -- the pure surplus waterfall (spec section 6): the golden
 * case of docs/surplus.md, and a seeded property test over random members,
 * totals and configs: every stage sums exactly and every largest-remainder
 * stage gives each member less than one minor unit away from its exact
 * quota. CS_SEED sets the seed; CS_SURPLUS_CASES the number of cases.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/config.h"
#include "coopsettle/config_load.h"
#include "coopsettle/surplus.h"
#include "coopsettle/util.h"
#include "coopsettle/window.h"

static cs_config *load(const char *text)
{
	cs_config *cfg = NULL;
	cs_config_diag diag;

	if (cs_config_load_buffer(&cfg, "t.yaml", text, strlen(text), &diag) < 0) {
		cs_config_diag_print(stderr, &diag, "t.yaml", text, strlen(text));
		fail();
	}
	return cfg;
}

/* Days of membership of m in [first, end), counted one by one (a second,
 * simpler computation than the engine's). */
static int64_t days_in(const cs_member *m, int64_t first, int64_t end)
{
	int64_t d, n = 0;

	for (d = first; d < end; d++)
		if (m->has_joined && m->joined_day <= d && (!m->has_left || d < m->left_day))
			n++;
	return n;
}

static const char golden_config[] =
	"version: 1\ncooperative: T\ncurrency: EUR\ncurrencies: {EUR: 2}\n"
	"fees: [{id: flat, rate: 10%}]\n"
	"surplus:\n"
	"  costs: {amount: {EUR: \"100.00\"}}\n"
	"  steps:\n"
	"    - {id: legal-reserve, type: account, share: 10%, account: \"equity:reserves:legal\"}\n"
	"    - {id: capital-interest, type: capital_interest, rate: 3%, cap_share: 1%}\n"
	"    - {id: patronage-refund, type: patronage, share: 50%, basis: fees,\n"
	"       classes: {producer: 60%, consumer: 40%}, min_patronage: \"1.00\",\n"
	"       cash_fraction: 20%}\n";

static void test_surplus__golden_docs(void **state)
{
	cs_config *cfg = load(golden_config);
	int64_t nov1 = cs_days_from_civil(2026, 11, 1), dec1 = cs_days_from_civil(2026, 12, 1);
	cs_member m[4] = {
		{.id = 1, .cls = CS_CLASS_PRODUCER, .has_joined = 1, .joined_day = 0,
		 .capital_minor = 100000},
		{.id = 2, .cls = CS_CLASS_PRODUCER, .has_joined = 1,
		 .joined_day = cs_days_from_civil(2026, 11, 16), .capital_minor = 50000},
		{.id = 10, .cls = CS_CLASS_CONSUMER, .has_joined = 1, .joined_day = 0},
		{.id = 11, .cls = CS_CLASS_CONSUMER, .has_joined = 1, .joined_day = 0},
	};
	cs_i128 fees[4] = {7000, -1000, 5000, -1000}, gross[4] = {0, 0, 0, 0};
	cs_surplus_input in;
	cs_surplus_result res;
	cs_error err;

	(void)state;
	memset(&in, 0, sizeof(in));
	in.cfg = cfg;
	in.first_day = nov1;
	in.end_day = dec1;
	in.n_members = 4;
	in.members = m;
	in.fees_minor = fees;
	in.gross_minor = gross;
	in.fee_income_minor[0] = 12000;
	in.costs_minor[0] = 10000;
	assert_int_equal(cs_surplus_compute(&in, &res, &err), 0);
	assert_true(res.surplus_minor[0] == 2000);
	assert_true(res.step_minor[0][0] == 200);
	assert_true(res.step_minor[0][1] == 20); /* the cap binds */
	assert_true(res.step_minor[0][2] == 1000);
	assert_true(res.retained_surplus_minor[0] == 780);
	assert_true(res.allocs[0].capital_interest_minor == 16);
	assert_true(res.allocs[1].capital_interest_minor == 4);
	assert_true(res.allocs[0].patronage_minor == 600 && res.allocs[0].cash_minor == 120 &&
		    res.allocs[0].retained_minor == 480);
	assert_true(res.allocs[1].patronage_minor == 0); /* negative after refunds */
	assert_true(res.allocs[2].patronage_minor == 400 && res.allocs[2].cash_minor == 80);
	assert_true(res.allocs[3].patronage_minor == 0);
	cs_surplus_result_free(&res);

	/* S <= 0: nothing */
	in.costs_minor[0] = 12001;
	assert_int_equal(cs_surplus_compute(&in, &res, &err), 0);
	assert_true(res.surplus_minor[0] == -1 && res.step_minor[0][0] == 0 &&
		    res.retained_surplus_minor[0] == 0 && res.allocs[0].capital_interest_minor == 0);
	cs_surplus_result_free(&res);
	cs_config_free(cfg);
}

static uint64_t rng_state;

static uint64_t next(void)
{
	uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static int64_t range(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(next() % (uint64_t)(hi - lo + 1));
}

/* |part - T w / W| < 1, exactly: |part W - T w| < W. */
static int within_one(cs_i128 part, const mpz_t T, const mpz_t w, const mpz_t W)
{
	mpz_t a, b;
	int ok;

	mpz_inits(a, b, NULL);
	cs_i128_to_mpz(a, part);
	mpz_mul(a, a, W);
	mpz_mul(b, T, w);
	mpz_sub(a, a, b);
	mpz_abs(a, a);
	ok = mpz_cmp(a, W) < 0;
	mpz_clears(a, b, NULL);
	return ok;
}

static void test_surplus__property(void **state)
{
	static const char *const shares[] = {"10%", "1/3", "5%", "0", "2/7"};
	static const char *const rates[] = {"3%", "5%", "100%", "1/7", "0"};
	static const char *const cash[] = {"20%", "1", "0", "1/3"};
	const char *seed_env = getenv("CS_SEED"), *cases_env = getenv("CS_SURPLUS_CASES");
	int64_t seed = 20261128, cases = 2000, c;
	char text[2048];

	(void)state;
	if (seed_env)
		cs_parse_i64(seed_env, &seed);
	if (cases_env)
		cs_parse_i64(cases_env, &cases);
	rng_state = (uint64_t)seed;
	for (c = 0; c < cases; c++) {
		cs_config *cfg;
		cs_member m[40];
		cs_i128 fees[40], gross[40];
		size_t n = (size_t)range(1, 40), i, s;
		cs_surplus_input in;
		cs_surplus_result res;
		cs_error err;
		int capped = (int)range(0, 1);
		mpz_t T, w, W, sum;

		snprintf(text, sizeof(text),
			 "version: 1\ncooperative: T\ncurrency: EUR\ncurrencies: {EUR: 2}\n"
			 "rounding: %s\nfees: [{id: f, rate: 1%%}]\nsurplus:\n"
			 "  costs: {amount: {EUR: \"0\"}}\n  steps:\n"
			 "    - {id: a, type: account, share: \"%s\", account: x}\n"
			 "    - {id: ci, type: capital_interest, rate: \"%s\"%s}\n"
			 "    - {id: p, type: patronage, share: remaining, basis: %s,\n"
			 "       classes: {%s}, cash_fraction: \"%s\", min_patronage: \"%s\"}\n",
			 range(0, 1) ? "half_even" : "up", shares[range(0, 4)], rates[range(0, 4)],
			 capped ? ", cap_share: 20%" : "", range(0, 1) ? "fees" : "volume",
			 range(0, 1) ? "producer: 60%, consumer: 40%" : "consumer: 1/3, producer: 2/3",
			 cash[range(0, 3)], range(0, 1) ? "0" : "1.00");
		cfg = load(text);
		for (i = 0; i < n; i++) {
			memset(&m[i], 0, sizeof(m[i]));
			m[i].id = (int64_t)i * 3 + range(0, 2);
			m[i].cls = range(0, 1) ? CS_CLASS_PRODUCER : CS_CLASS_CONSUMER;
			m[i].has_joined = 1;
			m[i].joined_day = range(0, 40);
			m[i].has_left = range(0, 4) == 0;
			m[i].left_day = m[i].joined_day + range(0, 30);
			m[i].capital_minor = range(0, 3) ? range(0, 1000000) : 0;
			fees[i] = range(-5000, 100000);
			gross[i] = range(-5000, 1000000000);
		}
		memset(&in, 0, sizeof(in));
		in.cfg = cfg;
		in.first_day = 10;
		in.end_day = 40;
		in.n_members = n;
		in.members = m;
		in.fees_minor = fees;
		in.gross_minor = gross;
		in.fee_income_minor[0] = range(-1000, 100000000);
		assert_int_equal(cs_surplus_compute(&in, &res, &err), 0);
		mpz_inits(T, w, W, sum, NULL);
		if (res.surplus_minor[0] > 0) {
			cs_i128 total = res.retained_surplus_minor[0], ci = 0, pat = 0;

			for (s = 0; s < cfg->n_steps; s++)
				total += res.step_minor[0][s];
			if (total != res.surplus_minor[0])
				fail_msg("seed %lld case %lld: steps do not sum to S", (long long)seed,
					 (long long)c);
			/* capital interest: within 1 of amt * C d / sum(C d) */
			cs_i128_to_mpz(T, res.step_minor[0][1]);
			for (i = 0; i < n; i++) {
				int64_t d = days_in(&m[i], 10, 40);

				if (m[i].capital_minor > 0 && d > 0) {
					mpz_set_si(w, m[i].capital_minor);
					mpz_mul_si(w, w, (long)d);
					mpz_add(W, W, w);
				}
				ci += res.allocs[i].capital_interest_minor;
				pat += res.allocs[i].patronage_minor;
				if (res.allocs[i].cash_minor + res.allocs[i].retained_minor !=
				    res.allocs[i].patronage_minor)
					fail_msg("seed %lld case %lld: cash + retained != refund",
						 (long long)seed, (long long)c);
			}
			if (ci != res.step_minor[0][1] || pat != res.step_minor[0][2])
				fail_msg("seed %lld case %lld: member sums differ from steps",
					 (long long)seed, (long long)c);
			for (i = 0; mpz_sgn(W) > 0 && i < n; i++) {
				int64_t d = days_in(&m[i], 10, 40);

				mpz_set_si(w, m[i].capital_minor > 0 && d > 0 ? m[i].capital_minor : 0);
				mpz_mul_si(w, w, d > 0 ? (long)d : 0);
				if (!within_one(res.allocs[i].capital_interest_minor, T, w, W))
					fail_msg("seed %lld case %lld: member %lld interest off quota",
						 (long long)seed, (long long)c, (long long)m[i].id);
			}
		}
		mpz_clears(T, w, W, sum, NULL);
		cs_surplus_result_free(&res);
		cs_config_free(cfg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_surplus__golden_docs),
		cmocka_unit_test(test_surplus__property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
