/*
 * test_num.c -- the strict number grammar and the five rounding modes
 * (spec section 1).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/num.h"

static int rate_is(const char *text, long num, long den)
{
	mpq_t q, want;
	int ok;

	mpq_inits(q, want, NULL);
	mpq_set_si(want, num, (unsigned long)den);
	mpq_canonicalize(want);
	ok = cs_rate_parse(q, text, strlen(text), NULL) == 0 && mpq_equal(q, want);
	mpq_clears(q, want, NULL);
	return ok;
}

static int rate_rejects(const char *text)
{
	mpq_t q;
	const char *why = NULL;
	int rc;

	mpq_init(q);
	rc = cs_rate_parse(q, text, strlen(text), &why);
	mpq_clear(q);
	return rc == -1 && why != NULL;
}

static void test_num__rate_accepts(void **state)
{
	(void)state;
	assert_true(rate_is("7.5%", 3, 40));
	assert_true(rate_is("0.075", 3, 40));
	assert_true(rate_is("3/40", 3, 40));
	assert_true(rate_is("0", 0, 1));
	assert_true(rate_is("1", 1, 1));
	assert_true(rate_is("100%", 1, 1));
	assert_true(rate_is("0%", 0, 1));
	assert_true(rate_is("2/7", 2, 7));
	assert_false(rate_rejects("0.00000000000000000000000000001")); /* 30 digits: the limit */
	assert_true(rate_rejects("0.000000000000000000000000000001")); /* 31 digits */
}

static void test_num__rate_rejects(void **state)
{
	static const char *const bad[] = {
		"", "%", "1e-3", ".5", "5.", "1,5", "0x10", "-1%", "+5%", " 5%", "5% ", "101%",
		"3/2", "1/0", "1/", "/2", "1.5/3", "1/2%", "1.0001", "abc", "5%%", "0..1",
		"1234567890123456789012345678901%", "inf", "nan", "1_000",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!rate_rejects(bad[i]))
			fail_msg("rate '%s' was accepted", bad[i]);
	/* not NUL-terminated: only len bytes count */
	assert_true(rate_is("0.5", 1, 2));
	{
		mpq_t q;

		mpq_init(q);
		assert_int_equal(cs_rate_parse(q, "0.5xyz", 3, NULL), 0);
		mpq_clear(q);
	}
}

static void test_num__money(void **state)
{
	static const char *const bad[] = {"", "-", "1e3", ".5", "5.", "1,5", "0x10", "+1",
					  " 1", "1 ", "--1", "1.2.3", "€1",
					  "1234567890123456789012345678901"};
	mpq_t q;
	mpz_t z;
	size_t i;

	(void)state;
	mpq_init(q);
	mpz_init(z);
	assert_int_equal(cs_money_parse(q, "0.50", 4, NULL), 0);
	assert_int_equal(cs_money_to_minor(z, q, 2), 0);
	assert_int_equal(mpz_get_si(z), 50);
	assert_int_equal(cs_money_parse(q, "-3.10", 5, NULL), 0);
	assert_int_equal(cs_money_to_minor(z, q, 2), 0);
	assert_int_equal(mpz_get_si(z), -310);
	assert_int_equal(cs_money_parse(q, "12000", 5, NULL), 0);
	assert_int_equal(cs_money_to_minor(z, q, 0), 0);
	assert_int_equal(mpz_get_si(z), 12000);
	assert_int_equal(cs_money_to_minor(z, q, 3), 0);
	assert_int_equal(mpz_get_si(z), 12000000);
	/* 0.505 is not exact in cents; 0.50 is not exact in yen */
	assert_int_equal(cs_money_parse(q, "0.505", 5, NULL), 0);
	assert_int_equal(cs_money_to_minor(z, q, 2), -1);
	assert_int_equal(cs_money_to_minor(z, q, 3), 0);
	assert_int_equal(cs_money_parse(q, "0.50", 4, NULL), 0);
	assert_int_equal(cs_money_to_minor(z, q, 0), -1);
	assert_int_equal(cs_money_parse(q, "007.50", 6, NULL), 0); /* leading zeros are fine */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cs_money_parse(q, bad[i], strlen(bad[i]), NULL) != -1)
			fail_msg("money '%s' was accepted", bad[i]);
	mpz_clear(z);
	mpq_clear(q);
}

/* round(num/den) under mode */
static long rnd(long num, long den, cs_rounding mode)
{
	mpq_t q;
	mpz_t z;
	long v;

	mpq_init(q);
	mpz_init(z);
	mpq_set_si(q, num, (unsigned long)den);
	mpq_canonicalize(q);
	cs_round(z, q, mode);
	v = mpz_get_si(z);
	mpq_clear(q);
	mpz_clear(z);
	return v;
}

static void test_num__rounding_table(void **state)
{
	/* x = num/10; columns: half_even half_up half_down down up */
	static const long table[][6] = {
		{25, 2, 3, 2, 2, 3},       {35, 4, 4, 3, 3, 4},      {-25, -2, -3, -2, -2, -3},
		{-35, -4, -4, -3, -3, -4}, {24, 2, 2, 2, 2, 3},      {26, 3, 3, 3, 2, 3},
		{20, 2, 2, 2, 2, 2},       {-20, -2, -2, -2, -2, -2}, {0, 0, 0, 0, 0, 0},
		{5, 0, 1, 0, 0, 1},        {-5, 0, -1, 0, 0, -1},    {-26, -3, -3, -3, -2, -3},
	};
	size_t i;
	int m;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		for (m = 0; m < 5; m++)
			if (rnd(table[i][0], 10, (cs_rounding)m) != table[i][m + 1])
				fail_msg("round(%ld/10, %s) = %ld, want %ld", table[i][0],
					 cs_rounding_name((cs_rounding)m),
					 rnd(table[i][0], 10, (cs_rounding)m), table[i][m + 1]);
	/* near ties: 2.4999 and 2.5001 */
	assert_int_equal(rnd(24999, 10000, CS_ROUND_HALF_UP), 2);
	assert_int_equal(rnd(25001, 10000, CS_ROUND_HALF_DOWN), 3);
	assert_int_equal(rnd(1, 3, CS_ROUND_UP), 1);
	assert_int_equal(rnd(-1, 3, CS_ROUND_UP), -1);
	assert_int_equal(rnd(-1, 3, CS_ROUND_DOWN), 0);
}

static void test_num__rounding_names(void **state)
{
	cs_rounding r;
	int m;

	(void)state;
	for (m = 0; m < 5; m++) {
		assert_int_equal(cs_rounding_parse(cs_rounding_name((cs_rounding)m), &r), 0);
		assert_int_equal((int)r, m);
	}
	assert_int_equal(cs_rounding_parse("bankers", &r), -1);
	assert_int_equal(cs_rounding_parse("HALF_EVEN", &r), -1);
}

static void test_num__decimal(void **state)
{
	mpq_t q;
	char buf[64];

	(void)state;
	mpq_init(q);
	mpq_set_si(q, 1060, 1);
	cs_q_to_decimal(buf, sizeof(buf), q, 4);
	assert_string_equal(buf, "1060.0000");
	mpq_set_si(q, 1, 3);
	cs_q_to_decimal(buf, sizeof(buf), q, 4);
	assert_string_equal(buf, "0.3333...");
	mpq_set_si(q, -27, 100);
	cs_q_to_decimal(buf, sizeof(buf), q, 2);
	assert_string_equal(buf, "-0.27");
	mpq_set_si(q, 2, 3);
	cs_q_to_decimal(buf, sizeof(buf), q, 0);
	assert_string_equal(buf, "1...");
	mpq_clear(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_num__rate_accepts),  cmocka_unit_test(test_num__rate_rejects),
		cmocka_unit_test(test_num__money),         cmocka_unit_test(test_num__rounding_table),
		cmocka_unit_test(test_num__rounding_names), cmocka_unit_test(test_num__decimal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
