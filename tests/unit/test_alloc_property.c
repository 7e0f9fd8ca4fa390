/*
 * test_alloc_property.c -- seeded property test of largest-remainder
 * allocation: at least 100,000 random cases per run (CS_PROPERTY_CASES
 * overrides; CS_SEED sets the seed, printed on failure). Checks that the
 * parts sum to the total, every part is within 1 of its exact quota, a zero
 * weight gets nothing, the result depends only on the keys (a shuffled
 * input gives the same part per key), negating the total negates every part,
 * and the result equals a deliberately naive second implementation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/alloc.h"
#include "coopsettle/util.h"

#define PARTS_MAX 40

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

/* The naive reference: floors, then hand out the r units one at a time to
 * the part with the largest remaining fraction (mpq_cmp), smallest key on a
 * tie, each part at most once. */
static void naive(size_t n, const int64_t *keys, mpq_t *w, const mpz_t total, mpz_t *out)
{
	mpq_t W, q, frac[PARTS_MAX], best;
	mpz_t T, r;
	int used[PARTS_MAX];
	size_t i;

	mpq_inits(W, q, best, NULL);
	mpz_inits(T, r, NULL);
	mpz_abs(T, total);
	for (i = 0; i < n; i++)
		mpq_add(W, W, w[i]);
	mpz_set(r, T);
	for (i = 0; i < n; i++) {
		mpq_init(frac[i]);
		mpq_set_z(q, T);
		mpq_mul(q, q, w[i]);
		mpq_div(q, q, W);
		mpz_fdiv_q(out[i], mpq_numref(q), mpq_denref(q));
		mpq_set_z(frac[i], out[i]);
		mpq_sub(frac[i], q, frac[i]);
		mpz_sub(r, r, out[i]);
		used[i] = 0;
	}
	while (mpz_sgn(r) > 0) {
		long pick = -1;

		for (i = 0; i < n; i++) {
			int c;

			if (used[i])
				continue;
			c = pick < 0 ? 1 : mpq_cmp(frac[i], frac[pick]);
			if (c > 0 || (c == 0 && keys[i] < keys[pick]))
				pick = (long)i;
		}
		used[pick] = 1;
		mpz_add_ui(out[pick], out[pick], 1);
		mpz_sub_ui(r, r, 1);
	}
	for (i = 0; i < n; i++) {
		if (mpz_sgn(total) < 0)
			mpz_neg(out[i], out[i]);
		mpq_clear(frac[i]);
	}
	mpq_clears(W, q, best, NULL);
	mpz_clears(T, r, NULL);
}

static void test_alloc__property(void **state)
{
	const char *seed_env = getenv("CS_SEED"), *cases_env = getenv("CS_PROPERTY_CASES");
	int64_t seed = 1128, cases = 100000, c;
	cs_alloc_part a[PARTS_MAX], b[PARTS_MAX];
	int64_t keys[PARTS_MAX];
	mpq_t w[PARTS_MAX], q;
	mpz_t ref[PARTS_MAX], total, neg, sum, d;
	size_t i, n;

	(void)state;
	if (seed_env)
		cs_parse_i64(seed_env, &seed);
	if (cases_env)
		cs_parse_i64(cases_env, &cases);
	rng = (uint64_t)seed;
	cs_alloc_parts_init(a, PARTS_MAX);
	cs_alloc_parts_init(b, PARTS_MAX);
	for (i = 0; i < PARTS_MAX; i++) {
		mpq_init(w[i]);
		mpz_init(ref[i]);
	}
	mpq_init(q);
	mpz_inits(total, neg, sum, d, NULL);
	for (c = 0; c < cases; c++) {
		int has_positive = 0;

		n = below(20) == 0 ? 1 + below(PARTS_MAX) : 1 + below(12);
		for (i = 0; i < n; i++) {
			size_t k;
			int dup;

			do { /* distinct keys, negative and large ones too */
				keys[i] = below(4) == 0 ? (int64_t)next() : (int64_t)below(50) - 10;
				for (dup = 0, k = 0; k < i; k++)
					dup |= keys[k] == keys[i];
			} while (dup);
			switch (below(5)) {
			case 0:
				mpq_set_ui(w[i], 0, 1);
				break;
			case 1:
				mpq_set_ui(w[i], 1, 1); /* many ties */
				break;
			default:
				mpq_set_ui(w[i], (unsigned long)below(1000),
					   (unsigned long)(1 + below(below(2) ? 7 : 100000)));
				mpq_canonicalize(w[i]);
			}
			has_positive |= mpq_sgn(w[i]) > 0;
		}
		if (!has_positive)
			mpq_set_ui(w[below(n)], 1 + (unsigned long)below(9), 1);
		switch (below(4)) {
		case 0:
			mpz_set_ui(total, (unsigned long)below(10));
			break;
		case 1: /* beyond 2^64 */
			mpz_set_ui(total, (unsigned long)next());
			mpz_mul_2exp(total, total, 40);
			mpz_add_ui(total, total, (unsigned long)below(1000));
			break;
		default:
			mpz_set_ui(total, (unsigned long)below(1000000));
		}
		if (below(3) == 0)
			mpz_neg(total, total);

		for (i = 0; i < n; i++) {
			a[i].key = keys[i];
			mpq_set(a[i].weight, w[i]);
		}
		assert_int_equal(cs_alloc_largest_remainder(a, n, total), 0);
		naive(n, keys, w, total, ref);

		/* the same parts in a shuffled order, and with the total negated */
		for (i = 0; i < n; i++) {
			size_t j = (size_t)below(i + 1);

			b[i].key = b[j].key;
			mpq_set(b[i].weight, b[j].weight);
			b[j].key = keys[i];
			mpq_set(b[j].weight, w[i]);
		}
		mpz_neg(neg, total);
		assert_int_equal(cs_alloc_largest_remainder(b, n, neg), 0);

		mpz_set_ui(sum, 0);
		for (i = 0; i < n; i++) {
			size_t j;
			mpq_t W;

			mpz_add(sum, sum, a[i].part);
			if (mpz_cmp(a[i].part, ref[i]) != 0)
				fail_msg("seed %lld case %lld: part of key %lld differs from the naive "
					 "reference", (long long)seed, (long long)c, (long long)keys[i]);
			if (mpq_sgn(w[i]) == 0 && mpz_sgn(a[i].part) != 0)
				fail_msg("seed %lld case %lld: zero weight got a part", (long long)seed,
					 (long long)c);
			for (j = 0; j < n && b[j].key != keys[i]; j++)
				;
			mpz_neg(d, b[j].part);
			if (mpz_cmp(d, a[i].part) != 0)
				fail_msg("seed %lld case %lld: shuffled/negated input changes key %lld",
					 (long long)seed, (long long)c, (long long)keys[i]);
			/* |part - T w / W| < 1 */
			mpq_init(W);
			for (j = 0; j < n; j++)
				mpq_add(W, W, w[j]);
			mpq_set_z(q, total);
			mpq_mul(q, q, w[i]);
			mpq_div(q, q, W);
			mpq_set_z(W, a[i].part);
			mpq_sub(q, q, W);
			mpq_abs(q, q);
			if (mpq_cmp_ui(q, 1, 1) >= 0)
				fail_msg("seed %lld case %lld: part of key %lld is 1 or more from its "
					 "quota", (long long)seed, (long long)c, (long long)keys[i]);
			mpq_clear(W);
		}
		if (mpz_cmp(sum, total) != 0)
			fail_msg("seed %lld case %lld: parts do not sum to the total", (long long)seed,
				 (long long)c);
	}
	printf("alloc property: %lld cases, seed %lld\n", (long long)cases, (long long)seed);
	for (i = 0; i < PARTS_MAX; i++) {
		mpq_clear(w[i]);
		mpz_clear(ref[i]);
	}
	mpq_clear(q);
	mpz_clears(total, neg, sum, d, NULL);
	cs_alloc_parts_clear(a, PARTS_MAX);
	cs_alloc_parts_clear(b, PARTS_MAX);
}

static void test_alloc__million_parts(void **state)
{
	size_t n = 1000000, i;
	cs_alloc_part *p = calloc(n, sizeof(*p));
	mpz_t t;

	(void)state;
	assert_non_null(p);
	cs_alloc_parts_init(p, n);
	for (i = 0; i < n; i++) {
		p[i].key = (int64_t)i;
		mpq_set_ui(p[i].weight, (unsigned long)(i % 977 + 1), 1);
	}
	mpz_init_set_ui(t, 123456789);
	assert_int_equal(cs_alloc_largest_remainder(p, n, t), 0); /* asserts the sum itself */
	mpz_clear(t);
	cs_alloc_parts_clear(p, n);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc__property),
		cmocka_unit_test(test_alloc__million_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
