/*
 * test_report_html.c -- the board report's pure parts (report_html.h): the
 * exact Gini coefficient against the pairwise definition worked by hand,
 * the rounded decimals the page shows, and an empty page that is whole,
 * escaped and without a script or a URL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/report_html.h"

/* G of x (ascending, > 0) against num / den. */
static void gini_is(const cs_i128 *x, size_t n, unsigned long num, unsigned long den)
{
	mpq_t g, want;

	mpq_inits(g, want, NULL);
	cs_report_gini(x, n, g);
	mpq_set_ui(want, num, den);
	mpq_canonicalize(want);
	assert_true(mpq_equal(g, want));
	mpq_clears(g, want, NULL);
}

static void test_report__gini(void **state)
{
	/* 100, 200, 300: the ordered pairs differ by 800 in all; 800 / (2 x 3 x
	 * 600) = 2/9 (docs/report.md) */
	static const cs_i128 a[] = {100, 200, 300};
	/* 1, 1, 1, 97: 3 x 2 x 96 = 576; 576 / (2 x 4 x 100) = 18/25 */
	static const cs_i128 b[] = {1, 1, 1, 97};
	static const cs_i128 c[] = {5, 5, 5};
	static const cs_i128 d[] = {42};

	(void)state;
	gini_is(a, 3, 2, 9);
	gini_is(b, 4, 18, 25);
	gini_is(c, 3, 0, 1); /* everyone the same */
	gini_is(d, 1, 0, 1);
}

/* q = num / den shown with places decimals is want. */
static void decimal_is(unsigned long num, unsigned long den, unsigned places, const char *want)
{
	mpq_t q;
	cs_buf b;

	mpq_init(q);
	mpq_set_ui(q, num, den);
	mpq_canonicalize(q);
	cs_buf_init(&b);
	cs_report_decimal(&b, q, places);
	assert_string_equal(b.data, want);
	cs_buf_free(&b);
	mpq_clear(q);
}

static void test_report__decimal(void **state)
{
	(void)state;
	decimal_is(2, 9, 9, "0.222222222");
	decimal_is(5, 9, 9, "0.555555556");
	decimal_is(18, 25, 6, "0.720000");
	decimal_is(1, 2, 0, "1"); /* halves up */
	decimal_is(0, 1, 3, "0.000");
	decimal_is(123, 10, 2, "12.30");
	decimal_is(1, 3000, 3, "0.000");
	decimal_is(1, 2000, 3, "0.001");
}

static void test_report__empty_page(void **state)
{
	cs_report_doc d;
	cs_buf b;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.cooperative = "A <b>&</b> \"eG\"";
	d.timezone = "Europe/Berlin";
	d.first_day = "2023-01-01";
	d.last_day = "2023-12-31";
	d.from_text = "2023-01-01T00:00:00+01:00";
	d.to_text = "2024-01-01T00:00:00+01:00";
	d.made_at = "2026-12-01T10:00:00+01:00";
	d.engine_version = "0.1.0";
	d.first_month = 2023 * 12;
	d.n_months = 12;
	cs_buf_init(&b);
	cs_report_html(&b, &d);
	assert_true(strncmp(b.data, "<!DOCTYPE html>\n", 16) == 0);
	assert_true(strcmp(b.data + b.len - 8, "</html>\n") == 0);
	assert_non_null(strstr(b.data, "A &lt;b&gt;&amp;&lt;/b&gt; &quot;eG&quot;"));
	assert_null(strstr(b.data, "<b>&"));
	assert_non_null(strstr(b.data, "No run lies in the period"));
	assert_non_null(strstr(b.data, "No committed distribute run lies in the period"));
	assert_null(strstr(b.data, "<script"));
	assert_null(strstr(b.data, "http"));
	cs_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report__gini),
		cmocka_unit_test(test_report__decimal),
		cmocka_unit_test(test_report__empty_page),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
