/*
 * test_json.c -- the deterministic JSON writer and 128-bit helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/i128.h"
#include "coopsettle/json.h"

static void test_json__nested_and_escaped(void **state)
{
	cs_buf b;
	cs_json j;

	(void)state;
	cs_buf_init(&b);
	cs_json_init(&j, &b);
	cs_json_object_begin(&j);
	cs_json_key(&j, "a");
	cs_json_int(&j, -5);
	cs_json_key(&j, "s");
	cs_json_string_n(&j, "q\"\\\n\x01\xff\xc3\xa4", 8);
	cs_json_key(&j, "l");
	cs_json_array_begin(&j);
	cs_json_null(&j);
	cs_json_bool(&j, 1);
	cs_json_object_begin(&j);
	cs_json_object_end(&j);
	cs_json_array_end(&j);
	cs_json_object_end(&j);
	assert_string_equal(b.data,
			    "{\"a\":-5,\"s\":\"q\\\"\\\\\\u000a\\u0001\\ufffd\xc3\xa4\",\"l\":[null,true,{}]}");
	cs_buf_free(&b);
}

static void test_json__big_integers(void **state)
{
	char buf[48];
	cs_i128 v = (cs_i128)INT64_MAX * 4 + 3;
	mpz_t z;

	(void)state;
	cs_i128_format(buf, v);
	assert_string_equal(buf, "36893488147419103231");
	cs_i128_format(buf, -v);
	assert_string_equal(buf, "-36893488147419103231");
	cs_i128_format(buf, 0);
	assert_string_equal(buf, "0");
	mpz_init(z);
	cs_i128_to_mpz(z, -v);
	assert_true(cs_i128_from_mpz(z) == -v);
	mpz_clear(z);
}

/* cs_i128_format against GMP's decimal text: every digit count and both
 * sides of each power of ten and of 2^64 (where the formatter changes from
 * 128-bit to 64-bit division), signs, and pseudo-random values. */
static void check_format(cs_i128 v)
{
	char buf[48], *want;
	size_t n;
	mpz_t z;

	mpz_init(z);
	cs_i128_to_mpz(z, v);
	want = mpz_get_str(NULL, 10, z);
	n = cs_i128_format(buf, v);
	assert_string_equal(buf, want);
	assert_int_equal(n, strlen(want));
	free(want);
	mpz_clear(z);
}

static void test_json__i128_format_matches_gmp(void **state)
{
	cs_u128 p = 1, x = 0x9e3779b97f4a7c15u;
	int i, d;

	(void)state;
	for (i = 0; i < 1000; i++) {
		check_format(i);
		check_format(-i);
	}
	for (d = 0; d < 38; d++, p *= 10) {
		for (i = -2; i <= 2; i++) {
			check_format((cs_i128)p + i);
			check_format(-((cs_i128)p + i));
		}
	}
	for (i = -2; i <= 2; i++) {
		check_format((cs_i128)UINT64_MAX + i);
		check_format(-((cs_i128)UINT64_MAX + i));
	}
	check_format((cs_i128)INT64_MIN);
	check_format((cs_i128)INT64_MAX);
	check_format((cs_i128)(((cs_u128)1 << 127) - 1));     /* the largest */
	check_format(-(cs_i128)(((cs_u128)1 << 127) - 1));
	for (i = 0; i < 20000; i++) { /* xorshift; shifted to every width */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check_format((cs_i128)(x >> (1 + i % 127)));
		check_format(-(cs_i128)(x >> (1 + i % 127)));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json__nested_and_escaped),
		cmocka_unit_test(test_json__big_integers),
		cmocka_unit_test(test_json__i128_format_matches_gmp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
