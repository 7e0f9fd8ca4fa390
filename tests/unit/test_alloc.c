/*
 * test_alloc.c -- largest-remainder allocation (spec section 2): the public
 * vectors, negative totals, zero weights and ties.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/alloc.h"

/* Allocates total over weights num[i]/den[i] with keys 1..n and checks the parts. */
static void check(long total, size_t n, const long *num, const long *den, const long *want)
{
	cs_alloc_part parts[8];
	mpz_t t;
	size_t i;

	cs_alloc_parts_init(parts, n);
	mpz_init_set_si(t, total);
	for (i = 0; i < n; i++) {
		parts[i].key = (int64_t)i + 1;
		mpq_set_si(parts[i].weight, num[i], (unsigned long)(den ? den[i] : 1));
		mpq_canonicalize(parts[i].weight);
	}
	assert_int_equal(cs_alloc_largest_remainder(parts, n, t), 0);
	for (i = 0; i < n; i++)
		if (mpz_cmp_si(parts[i].part, want[i]) != 0)
			fail_msg("total %ld part %zu = %ld, want %ld", total, i,
				 mpz_get_si(parts[i].part), want[i]);
	mpz_clear(t);
	cs_alloc_parts_clear(parts, n);
}

static void test_alloc__public_vectors(void **state)
{
	(void)state;
	check(10000, 4, (const long[]){30, 20, 40, 40}, NULL, (const long[]){2308, 1538, 3077, 3077});
	check(3, 2, (const long[]){75, 25}, NULL, (const long[]){2, 1});
	check(10000, 2, (const long[]){1, 2}, (const long[]){3, 3}, (const long[]){3333, 6667});
	check(2, 4, (const long[]){1, 1, 3, 1}, NULL, (const long[]){1, 0, 1, 0});
	check(5, 4, (const long[]){100, 101, 100, 100}, NULL, (const long[]){1, 2, 1, 1});
	check(2000, 4, (const long[]){1, 2, 3, 7}, NULL, (const long[]){154, 308, 461, 1077});
}

static void test_alloc__negative_zero_single(void **state)
{
	(void)state;
	check(-10000, 4, (const long[]){30, 20, 40, 40}, NULL,
	      (const long[]){-2308, -1538, -3077, -3077});
	check(-3, 2, (const long[]){75, 25}, NULL, (const long[]){-2, -1});
	check(0, 3, (const long[]){1, 2, 3}, NULL, (const long[]){0, 0, 0});
	check(7, 3, (const long[]){0, 1, 0}, NULL, (const long[]){0, 7, 0});
	check(12345, 1, (const long[]){5}, NULL, (const long[]){12345});
	/* all equal: units go to the smallest keys first */
	check(2, 3, (const long[]){1, 1, 1}, NULL, (const long[]){1, 1, 0});
	/* producer key 0 before consumer key 1 on a 1/2 split of an odd fee */
	check(1, 2, (const long[]){1, 1}, (const long[]){2, 2}, (const long[]){1, 0});
}

static void test_alloc__rank_and_extra(void **state)
{
	cs_alloc_part parts[4];
	mpz_t t;
	int64_t keys[4] = {40, 10, 30, 20};
	size_t i;

	(void)state;
	cs_alloc_parts_init(parts, 4);
	for (i = 0; i < 4; i++) {
		parts[i].key = keys[i];
		mpq_set_ui(parts[i].weight, 1, 1);
	}
	mpz_init_set_ui(t, 2);
	assert_int_equal(cs_alloc_largest_remainder(parts, 4, t), 0);
	/* ties by key: 10 and 20 get the units */
	assert_int_equal(parts[1].got_extra, 1);
	assert_int_equal(parts[3].got_extra, 1);
	assert_int_equal(parts[0].got_extra, 0);
	assert_int_equal(parts[1].rank, 0);
	assert_int_equal(parts[3].rank, 1);
	assert_int_equal(parts[2].rank, 2);
	assert_int_equal(parts[0].rank, 3);
	mpz_clear(t);
	cs_alloc_parts_clear(parts, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc__public_vectors),
		cmocka_unit_test(test_alloc__negative_zero_single),
		cmocka_unit_test(test_alloc__rank_and_extra),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
