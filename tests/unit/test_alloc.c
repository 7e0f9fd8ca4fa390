/*
 * test_alloc.c -- largest-remainder allocation (spec section 2): the public
 * vectors, negative and zero totals, zero weights, a single part, ties by
 * key whatever the input order, totals and weight sums beyond 64 bits, the
 * rank/got_extra fields, and a million parts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "coopsettle/alloc.h"

#define PARTS_MAX 8

/*
 * Allocates total (decimal text) over n parts with the given keys (NULL: 1..n)
 * and weights (text: "30", "1/3") and checks every part against want. Then
 * checks the same with the parts reversed (the result belongs to the keys,
 * not to positions) and with the total negated (every part negated).
 */
static void check_keys(const char *total, size_t n, const int64_t *keys, const char *const *weights,
		       const char *const *want)
{
	cs_alloc_part parts[PARTS_MAX];
	mpz_t t, w;
	size_t i, pass;

	assert_true(n <= PARTS_MAX);
	cs_alloc_parts_init(parts, n);
	mpz_inits(t, w, NULL);
	for (pass = 0; pass < 3; pass++) {
		int reversed = pass == 1, negated = pass == 2;

		assert_int_equal(mpz_set_str(t, total, 10), 0);
		if (negated)
			mpz_neg(t, t);
		for (i = 0; i < n; i++) {
			size_t from = reversed ? n - 1 - i : i;

			parts[i].key = keys ? keys[from] : (int64_t)from + 1;
			assert_int_equal(mpq_set_str(parts[i].weight, weights[from], 10), 0);
			mpq_canonicalize(parts[i].weight);
		}
		assert_int_equal(cs_alloc_largest_remainder(parts, n, t), 0);
		for (i = 0; i < n; i++) {
			size_t from = reversed ? n - 1 - i : i;

			assert_int_equal(mpz_set_str(w, want[from], 10), 0);
			if (negated)
				mpz_neg(w, w);
			if (mpz_cmp(parts[i].part, w) != 0)
				fail_msg("LR(%s%s) %s: part of key %lld = %s, want %s",
					 negated ? "-" : "", total, reversed ? "reversed" : "",
					 (long long)parts[i].key,
					 mpz_get_str(NULL, 10, parts[i].part),
					 mpz_get_str(NULL, 10, w));
		}
	}
	mpz_clears(t, w, NULL);
	cs_alloc_parts_clear(parts, n);
}

#define CHECK(total, keys, weights, want) \
	check_keys(total, sizeof(weights) / sizeof(weights[0]), keys, weights, want)
#define S (const char *[])

/* ---- the public vectors (keys 1..n in the order listed) ------------------- */

static void test_alloc__vector_10000_over_30_20_40_40(void **state)
{
	(void)state;
	CHECK("10000", NULL, (S{"30", "20", "40", "40"}), (S{"2308", "1538", "3077", "3077"}));
}

static void test_alloc__vector_3_over_75_25(void **state)
{
	(void)state;
	CHECK("3", NULL, (S{"75", "25"}), (S{"2", "1"}));
}

static void test_alloc__vector_10000_over_thirds(void **state)
{
	(void)state;
	CHECK("10000", NULL, (S{"1/3", "2/3"}), (S{"3333", "6667"}));
}

static void test_alloc__vector_2_over_1_1_3_1(void **state)
{
	(void)state;
	CHECK("2", NULL, (S{"1", "1", "3", "1"}), (S{"1", "0", "1", "0"}));
}

static void test_alloc__vector_5_over_100_101_100_100(void **state)
{
	(void)state;
	CHECK("5", NULL, (S{"100", "101", "100", "100"}), (S{"1", "2", "1", "1"}));
}

static void test_alloc__vector_2000_over_1_2_3_7(void **state)
{
	(void)state;
	CHECK("2000", NULL, (S{"1", "2", "3", "7"}), (S{"154", "308", "461", "1077"}));
}

/* ---- edges ---------------------------------------------------------------- */

static void test_alloc__negative_totals(void **state)
{
	(void)state;
	/* check_keys negates every case too; these are negative as written */
	CHECK("-10000", NULL, (S{"30", "20", "40", "40"}), (S{"-2308", "-1538", "-3077", "-3077"}));
	CHECK("-3", NULL, (S{"75", "25"}), (S{"-2", "-1"}));
	CHECK("-1", NULL, (S{"1/2", "1/2"}), (S{"-1", "0"}));
	CHECK("-7", NULL, (S{"1", "1", "1"}), (S{"-3", "-2", "-2"}));
}

static void test_alloc__zero_total(void **state)
{
	(void)state;
	CHECK("0", NULL, (S{"1", "2", "3"}), (S{"0", "0", "0"}));
	CHECK("0", NULL, (S{"0", "1/7"}), (S{"0", "0"}));
}

static void test_alloc__zero_weights_get_nothing(void **state)
{
	(void)state;
	CHECK("7", NULL, (S{"0", "1", "0"}), (S{"0", "7", "0"}));
	CHECK("10", NULL, (S{"0", "1", "1"}), (S{"0", "5", "5"}));
	/* a remainder to hand out, and the zero weight has the smallest key */
	CHECK("3", NULL, (S{"0", "1", "1"}), (S{"0", "2", "1"}));
	CHECK("5", NULL, (S{"0", "1", "1", "1", "0"}), (S{"0", "2", "2", "1", "0"}));
}

static void test_alloc__single_part(void **state)
{
	(void)state;
	CHECK("12345", NULL, (S{"5"}), (S{"12345"}));
	CHECK("-12345", NULL, (S{"2/7"}), (S{"-12345"}));
	CHECK("0", NULL, (S{"1"}), (S{"0"}));
	CHECK("1", (const int64_t[]){INT64_MIN}, (S{"1/1000000"}), (S{"1"}));
}

/* Equal fractions: the smaller key first, wherever it stands in the array. */
static void test_alloc__ties_go_to_the_smaller_key(void **state)
{
	(void)state;
	CHECK("2", ((const int64_t[]){40, 10, 30, 20}), (S{"1", "1", "1", "1"}),
	      (S{"0", "1", "0", "1"}));
	CHECK("1", ((const int64_t[]){3, -5}), (S{"1", "1"}), (S{"0", "1"}));
	CHECK("1", ((const int64_t[]){INT64_MAX, INT64_MIN}), (S{"1", "1"}), (S{"0", "1"}));
	CHECK("2", ((const int64_t[]){9, 8, 7}), (S{"1", "1", "1"}), (S{"0", "1", "1"}));
	/* a larger fraction beats a smaller key */
	CHECK("1", ((const int64_t[]){1, 2}), (S{"49", "51"}), (S{"0", "1"}));
}

/* Fee split (spec section 5): producer key 0 before consumer key 1, whatever
 * order borne_by is written in. */
static void test_alloc__fee_split_producer_first(void **state)
{
	(void)state;
	CHECK("1", ((const int64_t[]){1, 0}), (S{"1/2", "1/2"}), (S{"0", "1"}));
	CHECK("1", ((const int64_t[]){0, 1}), (S{"1/2", "1/2"}), (S{"1", "0"}));
	CHECK("50", ((const int64_t[]){0, 1}), (S{"2/3", "1/3"}), (S{"33", "17"}));
	CHECK("-50", ((const int64_t[]){1, 0}), (S{"1/3", "2/3"}), (S{"-17", "-33"}));
	CHECK("99", ((const int64_t[]){0, 1}), (S{"1", "0"}), (S{"99", "0"}));
}

/* Scaling every weight by the same factor changes nothing. */
static void test_alloc__weights_are_proportions(void **state)
{
	(void)state;
	CHECK("10000", NULL, (S{"3/13", "2/13", "4/13", "4/13"}),
	      (S{"2308", "1538", "3077", "3077"}));
	CHECK("10000", NULL,
	      (S{"300000000000000000000000", "200000000000000000000000", "400000000000000000000000",
		 "400000000000000000000000"}),
	      (S{"2308", "1538", "3077", "3077"}));
	CHECK("5", NULL, (S{"100/7", "101/7", "100/7", "100/7"}), (S{"1", "2", "1", "1"}));
}

static void test_alloc__total_beyond_64_bits(void **state)
{
	(void)state;
	/* (10^30 + 1) / 3 = 333...333 rest 2 */
	CHECK("1000000000000000000000000000001", NULL, (S{"1", "1", "1"}),
	      (S{"333333333333333333333333333334", "333333333333333333333333333334",
		 "333333333333333333333333333333"}));
	CHECK("36893488147419103233", NULL, (S{"1/2", "1/2"}), /* 2^65 + 1 */
	      (S{"18446744073709551617", "18446744073709551616"}));
}

/* A weight sum of 2^100: the first 64 bits of two fractions agree and only
 * the exact remainders tell them apart. Quotas 2a/D = 1/2 and 2b/D = 1/2 +
 * 2^-99 share the first 64 bits; b's is larger, so b gets the unit although
 * a's key is smaller. */
static void test_alloc__fractions_equal_in_64_bits(void **state)
{
	(void)state;
	/* a = 2^98, b = 2^98 + 1, c = 2^99 - 1; D = 2^100 */
	CHECK("2", NULL,
	      (S{"316912650057057350374175801344", "316912650057057350374175801345",
		 "633825300114114700748351602687"}),
	      (S{"0", "1", "1"}));
	/* the same three with a and b equal: now the key decides */
	CHECK("2", NULL,
	      (S{"316912650057057350374175801344", "316912650057057350374175801344",
		 "633825300114114700748351602688"}),
	      (S{"1", "0", "1"}));
}

static void test_alloc__rank_and_got_extra(void **state)
{
	/* 10000 over 30/20/40/40 in the order 4, 2, 1, 3: fractions 0.923,
	 * 0.462, 0.692, 0.923; order 3, 4, 1, 2; r = 3 */
	static const int64_t keys[] = {4, 2, 1, 3};
	static const unsigned long weights[] = {40, 20, 30, 40};
	static const size_t rank_want[] = {1, 3, 2, 0};
	static const int extra_want[] = {1, 0, 1, 1};
	cs_alloc_part parts[4];
	mpz_t t;
	size_t i;

	(void)state;
	cs_alloc_parts_init(parts, 4);
	mpz_init_set_ui(t, 10000);
	for (i = 0; i < 4; i++) {
		parts[i].key = keys[i];
		mpq_set_ui(parts[i].weight, weights[i], 1);
		parts[i].rank = 99;
		parts[i].got_extra = 99;
	}
	assert_int_equal(cs_alloc_largest_remainder(parts, 4, t), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(parts[i].rank, rank_want[i]);
		assert_int_equal(parts[i].got_extra, extra_want[i]);
	}
	/* the weights are input only */
	assert_int_equal(mpq_cmp_ui(parts[0].weight, 40, 1), 0);
	mpz_clear(t);
	cs_alloc_parts_clear(parts, 4);
}

/* ---- a million parts ------------------------------------------------------ */

static double seconds_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The numerator of weight i of the million: 0..977, some 0; when big, times
 * 2^80 plus 0..2 (no common factor to divide out), so that the weight sum is
 * far beyond 64 bits. Many weights are equal: many ties. */
static void weight_num(mpz_t num, size_t i, int big)
{
	mpz_set_ui(num, (unsigned long)(i % 977 + (i % 5 == 0 ? 0 : 1)));
	if (big && mpz_sgn(num) > 0) {
		mpz_mul_2exp(num, num, 80);
		mpz_add_ui(num, num, (unsigned long)(i % 3));
	}
}

/*
 * Allocates total over n parts with weight_num(i) / weight_den and checks the result
 * independently in O(n): sum, base = floor(T w_i / W), and that every part
 * with an extra unit comes before every part without one in the order
 * (fraction descending, key ascending).
 */
static void million(const char *label, const char *total, unsigned long weight_den, int big_weights)
{
	const size_t n = 1000000;
	cs_alloc_part *p = calloc(n, sizeof(*p));
	mpz_t t, W, num, base, rem, sum, min_rem_extra, max_rem_plain;
	int64_t min_key_extra = INT64_MAX, max_key_plain = INT64_MIN;
	size_t i, extras = 0;
	double started;
	uint64_t x = 12345;

	assert_non_null(p);
	cs_alloc_parts_init(p, n);
	mpz_inits(t, W, num, base, rem, sum, min_rem_extra, max_rem_plain, NULL);
	assert_int_equal(mpz_set_str(t, total, 10), 0);
	for (i = 0; i < n; i++) {
		x ^= x << 13; /* xorshift64: keys in a scrambled order */
		x ^= x >> 7;
		x ^= x << 17;
		/* a bijection of the 64-bit states onto int64: distinct keys */
		p[i].key = (x & 1) ? -(int64_t)(x >> 1) - 1 : (int64_t)(x >> 1);
		weight_num(num, i, big_weights);
		mpq_set_num(p[i].weight, num);
		mpz_set_ui(mpq_denref(p[i].weight), weight_den);
		mpq_canonicalize(p[i].weight);
	}
	started = seconds_now();
	assert_int_equal(cs_alloc_largest_remainder(p, n, t), 0);
	printf("alloc: %zu parts (%s) in %.3f s\n", n, label, seconds_now() - started);

	/* all weights are weight_num(i) / weight_den: proportional to weight_num */
	for (i = 0; i < n; i++) {
		weight_num(num, i, big_weights);
		mpz_add(W, W, num);
	}
	mpz_set_si(max_rem_plain, -1);
	mpz_set(min_rem_extra, W);
	for (i = 0; i < n; i++) {
		weight_num(num, i, big_weights);
		mpz_mul(num, t, num);
		mpz_fdiv_qr(base, rem, num, W);
		mpz_add(sum, sum, p[i].part);
		mpz_sub(num, p[i].part, base);
		assert_true(mpz_cmp_ui(num, (unsigned long)p[i].got_extra) == 0);
		if (mpq_sgn(p[i].weight) == 0)
			assert_int_equal(mpz_sgn(p[i].part), 0);
		if (p[i].got_extra) {
			extras++;
			if (mpz_cmp(rem, min_rem_extra) < 0 ||
			    (mpz_cmp(rem, min_rem_extra) == 0 && p[i].key > min_key_extra)) {
				mpz_set(min_rem_extra, rem);
				min_key_extra = p[i].key;
			}
		} else if (mpz_cmp(rem, max_rem_plain) > 0 ||
			   (mpz_cmp(rem, max_rem_plain) == 0 && p[i].key < max_key_plain)) {
			mpz_set(max_rem_plain, rem);
			max_key_plain = p[i].key;
		}
	}
	assert_true(mpz_cmp(sum, t) == 0);
	assert_true(extras > 0 && extras < n);
	assert_true(mpz_cmp(min_rem_extra, max_rem_plain) > 0 ||
		    (mpz_cmp(min_rem_extra, max_rem_plain) == 0 && min_key_extra < max_key_plain));
	mpz_clears(t, W, num, base, rem, sum, min_rem_extra, max_rem_plain, NULL);
	cs_alloc_parts_clear(p, n);
	free(p);
}

static void test_alloc__million_parts(void **state)
{
	(void)state;
	million("integer weights", "123456789", 1, 0);
	million("weights over 365, total beyond 2^64", "123456789012345678901234567", 365, 0);
	million("weights beyond 2^80: 64-bit prefix keys", "987654321", 1, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc__vector_10000_over_30_20_40_40),
		cmocka_unit_test(test_alloc__vector_3_over_75_25),
		cmocka_unit_test(test_alloc__vector_10000_over_thirds),
		cmocka_unit_test(test_alloc__vector_2_over_1_1_3_1),
		cmocka_unit_test(test_alloc__vector_5_over_100_101_100_100),
		cmocka_unit_test(test_alloc__vector_2000_over_1_2_3_7),
		cmocka_unit_test(test_alloc__negative_totals),
		cmocka_unit_test(test_alloc__zero_total),
		cmocka_unit_test(test_alloc__zero_weights_get_nothing),
		cmocka_unit_test(test_alloc__single_part),
		cmocka_unit_test(test_alloc__ties_go_to_the_smaller_key),
		cmocka_unit_test(test_alloc__fee_split_producer_first),
		cmocka_unit_test(test_alloc__weights_are_proportions),
		cmocka_unit_test(test_alloc__total_beyond_64_bits),
		cmocka_unit_test(test_alloc__fractions_equal_in_64_bits),
		cmocka_unit_test(test_alloc__rank_and_got_extra),
		cmocka_unit_test(test_alloc__million_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
