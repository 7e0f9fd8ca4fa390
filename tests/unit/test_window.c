/*
 * test_window.c -- periods, windows and local days (spec section 3).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/window.h"

static cs_window period(const char *tz, const char *p)
{
	cs_window w;
	cs_error err;

	assert_int_equal(cs_tz_use(tz, &err), 0);
	assert_int_equal(cs_window_from_period(&w, p, &err), 0);
	return w;
}

static void test_window__day_in_utc(void **state)
{
	cs_window w = period("UTC", "2026-11-02");

	(void)state;
	assert_true(w.from_us == INT64_C(1793577600000000));
	assert_true(w.to_us - w.from_us == INT64_C(86400000000));
	assert_string_equal(w.from_text, "2026-11-02T00:00:00+00:00");
	assert_string_equal(w.from_utc, "2026-11-02 00:00:00.000000+00");
}

static void test_window__dst_days_berlin(void **state)
{
	cs_window spring = period("Europe/Berlin", "2026-03-29");
	cs_window autumn = period("Europe/Berlin", "2026-10-25");

	(void)state;
	assert_true(spring.to_us - spring.from_us == INT64_C(23) * 3600000000);
	assert_true(autumn.to_us - autumn.from_us == INT64_C(25) * 3600000000);
	assert_string_equal(spring.from_text, "2026-03-29T00:00:00+01:00");
	assert_string_equal(spring.to_text, "2026-03-30T00:00:00+02:00");
	assert_string_equal(autumn.from_text, "2026-10-25T00:00:00+02:00");
	assert_string_equal(autumn.to_text, "2026-10-26T00:00:00+01:00");
}

static void test_window__month_quarter_year(void **state)
{
	cs_window m = period("Europe/Berlin", "2026-12");
	cs_window q = period("Europe/Berlin", "2026-Q4");
	cs_window y = period("Europe/Berlin", "2026");
	int64_t first, end;

	(void)state;
	assert_string_equal(m.from_text, "2026-12-01T00:00:00+01:00");
	assert_string_equal(m.to_text, "2027-01-01T00:00:00+01:00");
	assert_string_equal(q.from_text, "2026-10-01T00:00:00+02:00");
	assert_string_equal(q.to_text, "2027-01-01T00:00:00+01:00");
	assert_string_equal(y.from_text, "2026-01-01T00:00:00+01:00");
	cs_window_local_days(&y, &first, &end);
	assert_true(end - first == 365);
	cs_window_local_days(&q, &first, &end);
	assert_true(end - first == 92);
}

/* Pacific/Apia went from 2011-12-29 to 2011-12-31 at midnight: the 30th
 * is no day, and December 2011 had 30 days there. */
static void test_window__skipped_day_apia(void **state)
{
	cs_window w, m = period("Pacific/Apia", "2011-12");
	cs_error err;
	int64_t first, end, *skipped = NULL;
	int64_t dec30 = cs_days_from_civil(2011, 12, 30);
	size_t n;

	(void)state;
	assert_false(cs_local_day_exists(dec30));
	assert_true(cs_local_day_exists(dec30 - 1));
	assert_true(cs_local_day_exists(dec30 + 1));
	assert_int_equal(cs_window_from_period(&w, "2011-12-30", &err), -1);
	assert_int_equal(err.exit_code, 2);
	assert_non_null(strstr(err.message, "does not exist"));
	cs_window_local_days(&m, &first, &end);
	assert_true(end - first == 31);
	n = cs_window_skipped_days(&m, &skipped);
	assert_int_equal(n, 1);
	assert_true(skipped[0] == dec30);
	free(skipped);
	/* the 29th ends where the 31st begins */
	w = period("Pacific/Apia", "2011-12-29");
	assert_string_equal(w.to_text, "2011-12-31T00:00:00+14:00");
	/* Berlin skips no day */
	m = period("Europe/Berlin", "2026");
	assert_int_equal(cs_window_skipped_days(&m, &skipped), 0);
	assert_null(skipped);
}

static void test_window__bad_periods(void **state)
{
	static const char *const bad[] = {"2026-13", "2026-02-30", "2026-Q5", "26-01",
					  "2026-1", "2026-01-01x", "", "2026-Q0", "abcd"};
	size_t i;
	cs_window w;
	cs_error err;

	(void)state;
	cs_tz_use("UTC", &err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cs_window_from_period(&w, bad[i], &err), -1);
		assert_int_equal(err.exit_code, 2);
	}
}

static void test_window__bounds(void **state)
{
	cs_window w;
	cs_error err;

	(void)state;
	cs_tz_use("Europe/Berlin", &err);
	assert_int_equal(cs_window_from_bounds(&w, "2026-11-01", "2026-11-01T12:30:00Z", &err), 0);
	assert_string_equal(w.from_text, "2026-11-01T00:00:00+01:00");
	assert_string_equal(w.to_text, "2026-11-01T13:30:00+01:00");
	assert_int_equal(cs_window_from_bounds(&w, "2026-11-01T00:00:00.5+01:00",
					       "2026-11-02T00:00:00-05:30", &err), 0);
	assert_true(w.from_us % 1000000 == 500000);
	assert_int_equal(cs_window_from_bounds(&w, "2026-11-02", "2026-11-01", &err), -1);
	assert_int_equal(cs_window_from_bounds(&w, "2026-11-01T00:00:00", "2026-11-02", &err), -1);
}

static void test_window__civil_roundtrip(void **state)
{
	int64_t z, y;
	unsigned m, d;

	(void)state;
	for (z = -800000; z < 800000; z += 37) {
		cs_civil_from_days(z, &y, &m, &d);
		assert_true(cs_days_from_civil(y, m, d) == z);
	}
	assert_true(cs_days_from_civil(2000, 1, 1) == 10957);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window__day_in_utc),
		cmocka_unit_test(test_window__dst_days_berlin),
		cmocka_unit_test(test_window__month_quarter_year),
		cmocka_unit_test(test_window__skipped_day_apia),
		cmocka_unit_test(test_window__bad_periods),
		cmocka_unit_test(test_window__bounds),
		cmocka_unit_test(test_window__civil_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
