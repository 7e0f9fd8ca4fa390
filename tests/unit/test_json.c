/*
 * test_json.c -- the deterministic JSON writer and 128-bit helpers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json__nested_and_escaped),
		cmocka_unit_test(test_json__big_integers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
