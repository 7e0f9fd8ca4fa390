/*
 * test_members.c -- the member set: duplicates refused whether the ids come
 * in id order (the sources read ORDER BY id, and the duplicate probe is then
 * skipped) or not, lookups, and the sorted view, checked against a plain
 * array scan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/members.h"

static int add(cs_members *m, int64_t id)
{
	cs_member x;

	memset(&x, 0, sizeof(x));
	x.id = id;
	x.cls = id % 2 ? CS_CLASS_PRODUCER : CS_CLASS_CONSUMER;
	return cs_members_add(m, &x);
}

static void test_members__ascending_with_adjacent_duplicate(void **state)
{
	cs_members *m = cs_members_new();
	const cs_member *s;
	size_t n, i;

	(void)state;
	for (i = 0; i < 5000; i++)
		assert_int_equal(add(m, (int64_t)i * 3 - 7000), 0);
	assert_int_equal(add(m, 4999 * 3 - 7000), -1); /* the last id again */
	assert_int_equal(add(m, 0 * 3 - 7000), -1);    /* the first id again */
	assert_int_equal(add(m, 15000), 0);
	assert_int_equal(cs_members_count(m), 5001);
	s = cs_members_sorted(m, &n);
	assert_int_equal(n, 5001);
	for (i = 1; i < n; i++)
		assert_true(s[i - 1].id < s[i].id);
	for (i = 0; i < 5000; i++) {
		const cs_member *f = cs_members_find(m, (int64_t)i * 3 - 7000);

		assert_non_null(f);
		assert_true(f->id == (int64_t)i * 3 - 7000);
		assert_null(cs_members_find(m, (int64_t)i * 3 - 6999));
	}
	cs_members_free(m);
}

static void test_members__any_order_against_a_scan(void **state)
{
	cs_members *m = cs_members_new();
	int64_t seen[3000];
	size_t n_seen = 0, i, j, n;
	uint64_t x = 12345;
	const cs_member *s;

	(void)state;
	for (i = 0; i < 3000; i++) {
		int64_t id, dup = 0;

		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		id = (int64_t)(x % 2000) - 1000;
		for (j = 0; j < n_seen; j++)
			dup |= seen[j] == id;
		assert_int_equal(add(m, id), dup ? -1 : 0);
		if (!dup)
			seen[n_seen++] = id;
	}
	assert_int_equal(cs_members_count(m), n_seen);
	s = cs_members_sorted(m, &n);
	assert_int_equal(n, n_seen);
	for (i = 1; i < n; i++)
		assert_true(s[i - 1].id < s[i].id);
	for (i = 0; i < n_seen; i++) {
		assert_non_null(cs_members_find(m, seen[i]));
		assert_true(cs_members_is(m, seen[i], seen[i] % 2 ? CS_CLASS_PRODUCER
								  : CS_CLASS_CONSUMER));
	}
	assert_null(cs_members_find(m, 5000));
	cs_members_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_members__ascending_with_adjacent_duplicate),
		cmocka_unit_test(test_members__any_order_against_a_scan),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
