/*
 * test_num.c -- the strict number grammar (spec section 1), exactness in
 * minor units, the five rounding modes and the decimal printer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/limits.h"
#include "coopsettle/num.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef int (*parse_fn)(mpq_t, const char *, size_t, const char **);

/* A text and the exact value it must parse to ("3/40", "-31/10"). */
typedef struct accept_case {
	const char *text;
	const char *value;
} accept_case;

static void expect_accepts(parse_fn parse, const char *what, const accept_case *cases, size_t n)
{
	mpq_t got, want;
	size_t i;

	mpq_inits(got, want, NULL);
	for (i = 0; i < n; i++) {
		const char *why = NULL;

		assert_int_equal(mpq_set_str(want, cases[i].value, 10), 0);
		mpq_canonicalize(want);
		if (parse(got, cases[i].text, strlen(cases[i].text), &why) != 0)
			fail_msg("%s '%s' was rejected: %s", what, cases[i].text, why ? why : "?");
		if (!mpq_equal(got, want))
			fail_msg("%s '%s' parsed to %s, want %s", what, cases[i].text,
				 mpq_get_str(NULL, 10, got), cases[i].value);
		/* the same with why == NULL */
		assert_int_equal(parse(got, cases[i].text, strlen(cases[i].text), NULL), 0);
	}
	mpq_clears(got, want, NULL);
}

/* Every text is rejected with a message, and the output stays a valid mpq. */
static void expect_rejects(parse_fn parse, const char *what, const char *const *texts, size_t n)
{
	mpq_t q;
	size_t i;

	mpq_init(q);
	for (i = 0; i < n; i++) {
		const char *why = NULL;

		if (parse(q, texts[i], strlen(texts[i]), &why) != -1)
			fail_msg("%s '%s' was accepted", what, texts[i]);
		if (why == NULL || why[0] == '\0')
			fail_msg("%s '%s' was rejected without a message", what, texts[i]);
		assert_int_equal(parse(q, texts[i], strlen(texts[i]), NULL), -1);
		assert_true(mpz_sgn(mpq_denref(q)) > 0);
	}
	mpq_clear(q);
}

/* ---- rates ---------------------------------------------------------------- */

static void test_num__rate_accepts_percent_decimal_fraction(void **state)
{
	/* clang-format off */
	static const accept_case ok[] = {
		{"7.5%", "3/40"}, {"0.075", "3/40"}, {"3/40", "3/40"},  {"0", "0"},
		{"1", "1"},       {"100%", "1"},     {"0%", "0"},       {"2/7", "2/7"},
		{"1/1", "1"},     {"0/5", "0"},      {"6/8", "3/4"},    {"1.0", "1"},
		{"1.000", "1"},   {"99.99%", "9999/10000"},             {"0.5%", "1/200"},
		{"33.333%", "33333/100000"},         {"0000.5", "1/2"}, {"007/010", "7/10"},
		{"100.000%", "1"},
	};
	/* clang-format on */

	(void)state;
	expect_accepts(cs_rate_parse, "rate", ok, COUNT(ok));
}

static void test_num__rate_rejects_malformed(void **state)
{
	/* clang-format off */
	static const char *const bad[] = {
		"",      "%",     "/",     ".",     "1e-3",  "1E3",   "5e0%",  ".5",    ".5%",
		"5.",    "5.%",   "1,5",   "1,5%",  "0x10",  "0X1",   "0b1",   "+5%",   "+0.5",
		"-1%",   "-0",    "-0.5",  " 5%",   "5% ",   "5 %",   "\t0.5", "0.5\n", "1 /2",
		"1/ 2",  "abc",   "5%%",   "%5",    "0..1",  "0.1.2", "1/2/3", "1//2",  "1_000",
		"inf",   "nan",   "½",     "0.5x",  "x0.5",  "1/2x",  "١",     "0.5;",  "1/2%",
		"1.5/3", "1/2.5", "1/",    "/2",    "1/+2",  "1/-2",  "0.5/1",
	};
	/* clang-format on */

	(void)state;
	expect_rejects(cs_rate_parse, "rate", bad, COUNT(bad));
}

static void test_num__rate_rejects_zero_denominator(void **state)
{
	static const char *const bad[] = {"1/0", "0/0", "3/000"};

	(void)state;
	expect_rejects(cs_rate_parse, "rate", bad, COUNT(bad));
}

static void test_num__rate_rejects_outside_unit_interval(void **state)
{
	/* clang-format off */
	static const char *const bad[] = {"101%", "100.001%", "3/2", "2/1", "1.0001",
					  "2",    "10",       "1000%", "41/40"};
	/* clang-format on */

	(void)state;
	expect_rejects(cs_rate_parse, "rate", bad, COUNT(bad));
}

static void test_num__rate_digit_limit(void **state)
{
	/* CS_NUMBER_DIGITS_MAX digits in all, leading zeros included */
	/* clang-format off */
	static const accept_case ok[] = {
		{"0.00000000000000000000000000001", "1/100000000000000000000000000000"},
		{"000000000000000000000000000001", "1"},
		{"123456789012345/999999999999999", "123456789012345/999999999999999"},
		{"0.0000000000000000000000000001%", "1/1000000000000000000000000000000"},
	};
	/* clang-format on */
	/* clang-format off */
	static const char *const bad[] = {
		"0.000000000000000000000000000001", "0000000000000000000000000000001",
		"1/0000000000000000000000000000001", "1234567890123456/999999999999999",
		"0.0000000000000000000000000000001%",
	};
	/* clang-format on */

	(void)state;
	assert_int_equal(CS_NUMBER_DIGITS_MAX, 30);
	expect_accepts(cs_rate_parse, "rate", ok, COUNT(ok));
	expect_rejects(cs_rate_parse, "rate", bad, COUNT(bad));
}

static void test_num__rate_reads_only_len_bytes(void **state)
{
	mpq_t q;

	(void)state;
	mpq_init(q);
	assert_int_equal(cs_rate_parse(q, "0.5xyz", 3, NULL), 0);
	assert_int_equal(mpq_cmp_ui(q, 1, 2), 0);
	assert_int_equal(cs_rate_parse(q, "7.5%%%", 4, NULL), 0);
	assert_int_equal(mpq_cmp_ui(q, 3, 40), 0);
	assert_int_equal(cs_rate_parse(q, "1/20", 3, NULL), 0); /* "1/2" */
	assert_int_equal(mpq_cmp_ui(q, 1, 2), 0);
	assert_int_equal(cs_rate_parse(q, "1/20", 2, NULL), -1);  /* "1/" */
	assert_int_equal(cs_rate_parse(q, "0.5\0", 4, NULL), -1); /* an embedded NUL counts */
	mpq_clear(q);
}

/* ---- money ---------------------------------------------------------------- */

static void test_num__money_accepts(void **state)
{
	/* clang-format off */
	static const accept_case ok[] = {
		{"0.50", "1/2"},     {"12000", "12000"},   {"-3.10", "-31/10"},
		{"0", "0"},          {"-0", "0"},          {"-0.00", "0"},
		{"007.50", "15/2"},  {"0.505", "101/200"}, {"1.000", "1"},
		{"-12000.01", "-1200001/100"},
		{"123456789012345678901234567890", "123456789012345678901234567890"},
		{"-1234567890123456789.01234567890", "-123456789012345678901234567890/100000000000"},
	};
	/* clang-format on */

	(void)state;
	expect_accepts(cs_money_parse, "money", ok, COUNT(ok));
}

static void test_num__money_rejects(void **state)
{
	/* clang-format off */
	static const char *const bad[] = {
		"",       "-",     "--1",   "+1",    "+0.50", " 1",    "1 ",     "- 1",
		"1e3",    "1E3",   "1e-2",  ".5",    "-.5",   "5.",    "-5.",    "1,5",
		"1,000",  "1.2.3", "0x10",  "€1",    "1€",    "1.5%",  "1/2",    "abc",
		"1 000",  "1_000", "inf",   "NaN",   "0.50 ", "\"1\"", "1-",     "-1-",
		"1234567890123456789012345678901", "-0.0000000000000000000000000000001",
	};
	/* clang-format on */

	(void)state;
	expect_rejects(cs_money_parse, "money", bad, COUNT(bad));
}

static void expect_minor(const char *text, unsigned exponent, int rc_want, const char *minor_want)
{
	mpq_t major;
	mpz_t minor, want;

	mpq_init(major);
	mpz_inits(minor, want, NULL);
	if (cs_money_parse(major, text, strlen(text), NULL) != 0)
		fail_msg("money '%s' was rejected", text);
	mpz_set_si(minor, 424242); /* untouched when inexact */
	if (cs_money_to_minor(minor, major, exponent) != rc_want)
		fail_msg("'%s' with exponent %u: want %s", text, exponent,
			 rc_want == 0 ? "exact" : "not exact");
	assert_int_equal(mpz_set_str(want, rc_want == 0 ? minor_want : "424242", 10), 0);
	if (mpz_cmp(minor, want) != 0)
		fail_msg("'%s' with exponent %u: got %s minor units, want %s", text, exponent,
			 mpz_get_str(NULL, 10, minor), rc_want == 0 ? minor_want : "424242");
	mpq_clear(major);
	mpz_clears(minor, want, NULL);
}

static void test_num__money_to_minor_exact(void **state)
{
	(void)state;
	expect_minor("0.50", 2, 0, "50");
	expect_minor("-3.10", 2, 0, "-310");
	expect_minor("12000", 0, 0, "12000");
	expect_minor("12000", 2, 0, "1200000");
	expect_minor("12000", 3, 0, "12000000");
	expect_minor("0.505", 3, 0, "505");
	expect_minor("-0.001", 3, 0, "-1");
	expect_minor("0", 2, 0, "0");
	expect_minor("-0.00", 0, 0, "0");
	expect_minor("1.000", 0, 0, "1");
	expect_minor("123456789012345678901.123456789", CS_EXPONENT_MAX, 0,
		     "123456789012345678901123456789");
}

static void test_num__money_to_minor_inexact(void **state)
{
	(void)state;
	expect_minor("0.505", 2, -1, NULL); /* spec: 0.505 with EUR is a config error */
	expect_minor("0.50", 0, -1, NULL);  /* half a yen */
	expect_minor("-0.505", 2, -1, NULL);
	expect_minor("0.001", 2, -1, NULL);
	expect_minor("-0.0001", 3, -1, NULL);
	expect_minor("0.0000000001", CS_EXPONENT_MAX, -1, NULL);
}

/* ---- rounding ------------------------------------------------------------- */

/* x as exact text (money grammar or "a/b"), then the result per mode in the
 * order half_even, half_up, half_down, down, up. */
typedef struct round_case {
	const char *x;
	const char *want[5];
} round_case;

static void expect_rounding(const round_case *cases, size_t n)
{
	mpq_t x, neg_x;
	mpz_t got, want, neg_got;
	size_t i;
	int m;

	mpq_inits(x, neg_x, NULL);
	mpz_inits(got, want, neg_got, NULL);
	for (i = 0; i < n; i++) {
		if (strchr(cases[i].x, '/') != NULL) {
			assert_int_equal(mpq_set_str(x, cases[i].x, 10), 0);
			mpq_canonicalize(x);
		} else {
			assert_int_equal(cs_money_parse(x, cases[i].x, strlen(cases[i].x), NULL),
					 0);
		}
		for (m = 0; m < 5; m++) {
			cs_rounding mode = (cs_rounding)m;

			assert_int_equal(mpz_set_str(want, cases[i].want[m], 10), 0);
			cs_round(got, x, mode);
			if (mpz_cmp(got, want) != 0)
				fail_msg("round(%s, %s) = %s, want %s", cases[i].x,
					 cs_rounding_name(mode), mpz_get_str(NULL, 10, got),
					 cases[i].want[m]);
			/* a refund mirrors its sale: round(-x) == -round(x) */
			mpq_neg(neg_x, x);
			cs_round(neg_got, neg_x, mode);
			mpz_neg(neg_got, neg_got);
			if (mpz_cmp(neg_got, got) != 0)
				fail_msg("round(-(%s), %s) is not -round(%s)", cases[i].x,
					 cs_rounding_name(mode), cases[i].x);
		}
	}
	mpq_clears(x, neg_x, NULL);
	mpz_clears(got, want, neg_got, NULL);
}

static void test_num__round_positive_ties(void **state)
{
	/* clang-format off */
	static const round_case cases[] = {
		{"0.5", {"0", "1", "0", "0", "1"}}, {"1.5", {"2", "2", "1", "1", "2"}},
		{"2.5", {"2", "3", "2", "2", "3"}}, {"3.5", {"4", "4", "3", "3", "4"}},
		{"4.5", {"4", "5", "4", "4", "5"}}, {"1001/2", {"500", "501", "500", "500", "501"}},
	};
	/* clang-format on */

	(void)state;
	expect_rounding(cases, COUNT(cases));
}

static void test_num__round_negative_ties(void **state)
{
	/* clang-format off */
	static const round_case cases[] = {
		{"-0.5", {"0", "-1", "0", "0", "-1"}},  {"-1.5", {"-2", "-2", "-1", "-1", "-2"}},
		{"-2.5", {"-2", "-3", "-2", "-2", "-3"}}, {"-3.5", {"-4", "-4", "-3", "-3", "-4"}},
	};
	/* clang-format on */

	(void)state;
	expect_rounding(cases, COUNT(cases));
}

static void test_num__round_near_ties_and_non_ties(void **state)
{
	/* clang-format off */
	static const round_case cases[] = {
		{"2.4999", {"2", "2", "2", "2", "3"}},     {"2.5001", {"3", "3", "3", "2", "3"}},
		{"-2.4999", {"-2", "-2", "-2", "-2", "-3"}}, {"-2.5001", {"-3", "-3", "-3", "-2", "-3"}},
		{"3.4999", {"3", "3", "3", "3", "4"}},     {"3.5001", {"4", "4", "4", "3", "4"}},
		{"2.4", {"2", "2", "2", "2", "3"}},        {"2.6", {"3", "3", "3", "2", "3"}},
		{"-2.6", {"-3", "-3", "-3", "-2", "-3"}},  {"0.0001", {"0", "0", "0", "0", "1"}},
		{"-0.0001", {"0", "0", "0", "0", "-1"}},   {"0.9999", {"1", "1", "1", "0", "1"}},
		{"7/3", {"2", "2", "2", "2", "3"}},        {"-8/3", {"-3", "-3", "-3", "-2", "-3"}},
		{"1/3", {"0", "0", "0", "0", "1"}},        {"-2/3", {"-1", "-1", "-1", "0", "-1"}},
		/* a tie that only shows exactly: 1/2 + 1/10^29 */
		{"0.50000000000000000000000000001", {"1", "1", "1", "0", "1"}},
	};
	/* clang-format on */

	(void)state;
	expect_rounding(cases, COUNT(cases));
}

static void test_num__round_exact_integers(void **state)
{
	/* clang-format off */
	static const round_case cases[] = {
		{"0", {"0", "0", "0", "0", "0"}},       {"2", {"2", "2", "2", "2", "2"}},
		{"-2", {"-2", "-2", "-2", "-2", "-2"}}, {"3.000", {"3", "3", "3", "3", "3"}},
		{"-7", {"-7", "-7", "-7", "-7", "-7"}}, {"10/5", {"2", "2", "2", "2", "2"}},
	};
	/* clang-format on */

	(void)state;
	expect_rounding(cases, COUNT(cases));
}

static void test_num__round_beyond_64_bits(void **state)
{
	/* clang-format off */
	static const round_case cases[] = {
		{"123456789012345678901234567.5",
		 {"123456789012345678901234568", "123456789012345678901234568",
		  "123456789012345678901234567", "123456789012345678901234567",
		  "123456789012345678901234568"}},
		{"-123456789012345678901234568.5",
		 {"-123456789012345678901234568", "-123456789012345678901234569",
		  "-123456789012345678901234568", "-123456789012345678901234568",
		  "-123456789012345678901234569"}},
		{"36893488147419103233/2", /* (2^65 + 1) / 2 */
		 {"18446744073709551616", "18446744073709551617", "18446744073709551616",
		  "18446744073709551616", "18446744073709551617"}},
	};
	/* clang-format on */

	(void)state;
	expect_rounding(cases, COUNT(cases));
}

static void test_num__round_leaves_x_unchanged(void **state)
{
	mpq_t x;
	mpz_t out;

	(void)state;
	mpq_init(x);
	mpz_init_set_si(out, 99);
	mpq_set_si(x, -5, 2);
	cs_round(out, x, CS_ROUND_HALF_EVEN);
	assert_int_equal(mpz_get_si(out), -2);
	/* x is not changed */
	assert_int_equal(mpz_get_si(mpq_numref(x)), -5);
	assert_int_equal(mpz_get_ui(mpq_denref(x)), 2);
	mpq_clear(x);
	mpz_clear(out);
}

static void test_num__rounding_names(void **state)
{
	static const char *const names[] = {"half_even", "half_up", "half_down", "down", "up"};
	/* clang-format off */
	static const char *const bad[] = {"", "bankers", "HALF_EVEN", "half-even", "half_even ",
					  "nearest", "ceil", "floor", "Up"};
	/* clang-format on */
	cs_rounding r;
	size_t i;

	(void)state;
	assert_int_equal(CS_ROUND_HALF_EVEN, 0); /* the default is the zero value */
	for (i = 0; i < COUNT(names); i++) {
		assert_string_equal(cs_rounding_name((cs_rounding)i), names[i]);
		assert_int_equal(cs_rounding_parse(names[i], &r), 0);
		assert_int_equal((int)r, (int)i);
	}
	for (i = 0; i < COUNT(bad); i++)
		if (cs_rounding_parse(bad[i], &r) != -1)
			fail_msg("rounding '%s' was accepted", bad[i]);
}

/* ---- decimal printer ------------------------------------------------------ */

static void expect_decimal(const char *x, unsigned digits, size_t size, const char *want)
{
	mpq_t q;
	char buf[512];

	assert_true(size <= sizeof(buf));
	mpq_init(q);
	assert_int_equal(mpq_set_str(q, x, 10), 0);
	mpq_canonicalize(q);
	memset(buf, 'Z', sizeof(buf));
	cs_q_to_decimal(buf, size, q, digits);
	if (strcmp(buf, want) != 0)
		fail_msg("decimal(%s, %u places, %zu bytes) = '%s', want '%s'", x, digits, size,
			 buf, want);
	assert_int_equal(buf[size], 'Z'); /* nothing written past size */
	mpq_clear(q);
}

static void test_num__q_to_decimal_exact(void **state)
{
	(void)state;
	expect_decimal("1060", 4, 64, "1060.0000");
	expect_decimal("-27/100", 2, 64, "-0.27");
	expect_decimal("3/40", 9, 64, "0.075000000");
	expect_decimal("0", 2, 64, "0.00");
	expect_decimal("7", 0, 64, "7");
	expect_decimal("-7", 0, 64, "-7");
	/* a terminating expansion is printed in full, past `digits` */
	expect_decimal("1/8", 2, 64, "0.125");
	expect_decimal("1/1024", 2, 64, "0.0009765625");
	expect_decimal("10000000001/10000000000", 9, 64, "1.0000000001");
	expect_decimal("123456789012345678901234567890", 1, 64, "123456789012345678901234567890.0");
}

static void test_num__q_to_decimal_inexact(void **state)
{
	(void)state;
	expect_decimal("1/3", 4, 64, "0.3333...");
	expect_decimal("2/3", 4, 64, "0.6667...");
	expect_decimal("-2/3", 4, 64, "-0.6667...");
	expect_decimal("2/3", 0, 64, "1...");
	expect_decimal("1/7", 9, 64, "0.142857143...");
	expect_decimal("-1/3000", 2, 64, "-0.00..."); /* the sign survives */
	expect_decimal("1/6", 0, 64, "0...");
	expect_decimal("5/6", 1, 64, "0.8...");
}

static void test_num__q_to_decimal_truncates(void **state)
{
	(void)state;
	expect_decimal("1060", 4, 5, "1060");
	expect_decimal("1060", 4, 1, "");
	expect_decimal("-1/3", 4, 4, "-0.");
	expect_decimal("1/3", 4, 7, "0.3333");
	{
		mpq_t q;

		mpq_init(q);
		cs_q_to_decimal(NULL, 0, q, 2); /* size 0: nothing written */
		mpq_clear(q);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_num__rate_accepts_percent_decimal_fraction),
		cmocka_unit_test(test_num__rate_rejects_malformed),
		cmocka_unit_test(test_num__rate_rejects_zero_denominator),
		cmocka_unit_test(test_num__rate_rejects_outside_unit_interval),
		cmocka_unit_test(test_num__rate_digit_limit),
		cmocka_unit_test(test_num__rate_reads_only_len_bytes),
		cmocka_unit_test(test_num__money_accepts),
		cmocka_unit_test(test_num__money_rejects),
		cmocka_unit_test(test_num__money_to_minor_exact),
		cmocka_unit_test(test_num__money_to_minor_inexact),
		cmocka_unit_test(test_num__round_positive_ties),
		cmocka_unit_test(test_num__round_negative_ties),
		cmocka_unit_test(test_num__round_near_ties_and_non_ties),
		cmocka_unit_test(test_num__round_exact_integers),
		cmocka_unit_test(test_num__round_beyond_64_bits),
		cmocka_unit_test(test_num__round_leaves_x_unchanged),
		cmocka_unit_test(test_num__rounding_names),
		cmocka_unit_test(test_num__q_to_decimal_exact),
		cmocka_unit_test(test_num__q_to_decimal_inexact),
		cmocka_unit_test(test_num__q_to_decimal_truncates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
