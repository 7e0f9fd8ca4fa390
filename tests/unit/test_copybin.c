/*
 * test_copybin.c -- writing binary COPY: bytes checked against the format
 * PostgreSQL documents (COPY "Binary Format", numeric_send), worked by hand,
 * and read back with the parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/buf.h"
#include "coopsettle/copybin.h"

/* The numeric field of v: length, then ndigits weight sign dscale digits. */
static void check_numeric(cs_i128 v, const unsigned char *want, size_t want_len)
{
	cs_buf b;

	cs_buf_init(&b);
	cs_copybin_put_numeric(&b, v);
	assert_int_equal(b.len, want_len);
	assert_memory_equal(b.data, want, want_len);
	cs_buf_free(&b);
}

static void test_copybin__numeric_by_hand(void **state)
{
	/* 0: no digits */
	static const unsigned char zero[] = {0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0};
	/* 9260: one digit 9260, weight 0 */
	static const unsigned char n9260[] = {0, 0, 0, 10, 0, 1, 0, 0, 0, 0, 0, 0, 0x24, 0x2c};
	/* -10000: digits 1, 0000; weight 1; sign 0x4000 */
	static const unsigned char m10000[] = {0, 0, 0, 12, 0, 2, 0, 1, 0x40, 0, 0, 0,
					       0, 1, 0, 0};
	/* 123456789 = 1 2345 6789: weight 2 */
	static const unsigned char n123456789[] = {0, 0, 0, 14, 0, 3, 0, 2, 0, 0, 0, 0,
						   0, 1, 0x09, 0x29, 0x1a, 0x85};

	(void)state;
	check_numeric(0, zero, sizeof(zero));
	check_numeric(9260, n9260, sizeof(n9260));
	check_numeric(-10000, m10000, sizeof(m10000));
	check_numeric(123456789, n123456789, sizeof(n123456789));
}

/* array_send's form, worked by hand: field length, ndim 1, has-null flag,
 * element type OID, dimension length, lower bound 1, then the elements as
 * fields (length -1 for NULL). */
static void test_copybin__arrays_by_hand(void **state)
{
	static const unsigned char int8s[] = {
		0, 0, 0, 48,             /* field length: 20 + (4 + 8) + 4 + (4 + 8) */
		0, 0, 0, 1,              /* ndim */
		0, 0, 0, 1,              /* has NULL */
		0, 0, 0, 20,             /* element type: int8 */
		0, 0, 0, 3,              /* 3 elements */
		0, 0, 0, 1,              /* lower bound */
		0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, /* -2 */
		0xff, 0xff, 0xff, 0xff,  /* NULL */
		0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, /* 0 */
	};
	static const unsigned char texts[] = {
		0, 0, 0, 31,             /* 20 + (4 + 3) + (4 + 0) */
		0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 25, 0, 0, 0, 2, 0, 0, 0, 1,
		0, 0, 0, 3, 'E', 'U', 'R',
		0, 0, 0, 0,              /* the empty string, not NULL */
	};
	static const unsigned char bools[] = {
		0, 0, 0, 30,             /* 20 + 2 * (4 + 1) */
		0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 2, 0, 0, 0, 1,
		0, 0, 0, 1, 1,
		0, 0, 0, 1, 0,
	};
	static const unsigned char empty[] = {
		0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 20, 0, 0, 0, 0, 0, 0, 0, 1,
	};
	cs_buf b, e;

	(void)state;
	cs_buf_init(&b);
	cs_buf_init(&e);
	cs_copybin_put_int8(&e, -2);
	cs_copybin_put_null(&e);
	cs_copybin_put_int8(&e, 0);
	cs_copybin_put_array_head(&b, CS_OID_INT8, 3, 1, e.len);
	cs_buf_put(&b, e.data, e.len);
	assert_int_equal(b.len, sizeof(int8s));
	assert_memory_equal(b.data, int8s, sizeof(int8s));

	cs_buf_reset(&b);
	cs_buf_reset(&e);
	cs_copybin_put_text(&e, "EUR", 3);
	cs_copybin_put_text(&e, "", 0);
	cs_copybin_put_array_head(&b, CS_OID_TEXT, 2, 0, e.len);
	cs_buf_put(&b, e.data, e.len);
	assert_int_equal(b.len, sizeof(texts));
	assert_memory_equal(b.data, texts, sizeof(texts));

	cs_buf_reset(&b);
	cs_buf_reset(&e);
	cs_copybin_put_bool(&e, 1);
	cs_copybin_put_bool(&e, 0);
	cs_copybin_put_array_head(&b, CS_OID_BOOL, 2, 0, e.len);
	cs_buf_put(&b, e.data, e.len);
	assert_int_equal(b.len, sizeof(bools));
	assert_memory_equal(b.data, bools, sizeof(bools));

	cs_buf_reset(&b);
	cs_copybin_put_array_head(&b, CS_OID_INT8, 0, 0, 0);
	assert_int_equal(b.len, sizeof(empty));
	assert_memory_equal(b.data, empty, sizeof(empty));
	cs_buf_free(&b);
	cs_buf_free(&e);
}

static void test_copybin__int64_limits_as_numeric(void **state)
{
	/* -2^64 = -1844 6744 0737 0955 1616: 5 digits, weight 4 */
	static const unsigned char want[] = {0, 0, 0, 18, 0, 5, 0, 4, 0x40, 0, 0, 0,
					     0x07, 0x34, 0x1a, 0x58, 0x02, 0xe1, 0x03, 0xbb,
					     0x06, 0x50};
	cs_i128 v = -((cs_i128)1 << 64);

	(void)state;
	check_numeric(v, want, sizeof(want));
}

static void test_copybin__tuple_reads_back(void **state)
{
	cs_buf b;
	cs_copybin_reader r = {0, 0};
	cs_copybin_field f[CS_COPYBIN_FIELDS_MAX];
	size_t n = 0;
	const char *why = NULL;
	int64_t i8 = 0;
	int32_t i4 = 0;
	size_t tuple_len;

	(void)state;
	cs_buf_init(&b);
	cs_copybin_put_header(&b);
	cs_copybin_put_nfields(&b, 4);
	cs_copybin_put_int8(&b, INT64_MIN);
	cs_copybin_put_int4(&b, -7);
	cs_copybin_put_text(&b, "EUR", 3);
	cs_copybin_put_null(&b);
	tuple_len = b.len;
	assert_int_equal(cs_copybin_parse(&r, b.data, tuple_len, f, &n, &why), 1);
	assert_int_equal(n, 4);
	assert_int_equal(cs_copybin_int8(&f[0], &i8), 0);
	assert_true(i8 == INT64_MIN);
	assert_int_equal(cs_copybin_int4(&f[1], &i4), 0);
	assert_int_equal(i4, -7);
	assert_int_equal(f[2].len, 3);
	assert_memory_equal(f[2].data, "EUR", 3);
	assert_true(f[3].is_null);
	cs_buf_reset(&b);
	cs_copybin_put_trailer(&b);
	assert_int_equal(cs_copybin_parse(&r, b.data, b.len, f, &n, &why), 0);
	cs_buf_free(&b);
}

/* Reads a numeric field given as its bytes without the length word. */
static int read_numeric(const unsigned char *bytes, size_t len, cs_i128 *out)
{
	cs_copybin_field f = {0, (const char *)bytes, len};

	return cs_copybin_numeric(&f, out);
}

/* Decoding: PostgreSQL's own forms (trailing zero digits stripped, weight
 * beyond the digits), worked by hand, and what must be refused. */
static void test_copybin__numeric_reads_by_hand(void **state)
{
	/* 10000 as numeric_send writes it: one digit 1, weight 1 */
	static const unsigned char n10000[] = {0, 1, 0, 1, 0, 0, 0, 0, 0, 1};
	/* -5 0000 0000 0000: one digit 5, weight 3 */
	static const unsigned char m5e12[] = {0, 1, 0, 3, 0x40, 0, 0, 0, 0, 5};
	/* 0 */
	static const unsigned char zero[] = {0, 0, 0, 0, 0, 0, 0, 0};
	/* 1.5: digits 1, 5000, weight 0, dscale 1 -- a fraction */
	static const unsigned char frac[] = {0, 2, 0, 0, 0, 0, 0, 1, 0, 1, 0x13, 0x88};
	/* NaN */
	static const unsigned char nan[] = {0, 0, 0, 0, 0xc0, 0, 0, 0};
	/* 10000^10 = 10^40: one digit 1, weight 10 -- too large */
	static const unsigned char big[] = {0, 1, 0, 10, 0, 0, 0, 0, 0, 1};
	/* a digit of 10000 */
	static const unsigned char bad_digit[] = {0, 1, 0, 0, 0, 0, 0, 0, 0x27, 0x10};
	/* ndigits says 2, one digit present */
	static const unsigned char short_f[] = {0, 2, 0, 1, 0, 0, 0, 0, 0, 1};
	cs_i128 v = 7;

	(void)state;
	assert_int_equal(read_numeric(n10000, sizeof(n10000), &v), 0);
	assert_true(v == 10000);
	assert_int_equal(read_numeric(m5e12, sizeof(m5e12), &v), 0);
	assert_true(v == -(cs_i128)5000000000000);
	assert_int_equal(read_numeric(zero, sizeof(zero), &v), 0);
	assert_true(v == 0);
	assert_int_equal(read_numeric(frac, sizeof(frac), &v), -1);
	assert_int_equal(read_numeric(nan, sizeof(nan), &v), -1);
	assert_int_equal(read_numeric(big, sizeof(big), &v), -1);
	assert_int_equal(read_numeric(bad_digit, sizeof(bad_digit), &v), -1);
	assert_int_equal(read_numeric(short_f, sizeof(short_f), &v), -1);
	assert_int_equal(read_numeric(zero, 4, &v), -1);
}

/* Every value written reads back (seeded; a second, simpler path). */
static void test_copybin__numeric_round_trip(void **state)
{
	uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
	cs_i128 edge[] = {0, 1, -1, 9999, 10000, -10001, INT64_MAX, INT64_MIN,
			  ((cs_i128)1 << 126) - 1, -(((cs_i128)1 << 126) - 1)};
	size_t i;
	cs_buf b;

	(void)state;
	cs_buf_init(&b);
	for (i = 0; i < 100000 + sizeof(edge) / sizeof(edge[0]); i++) {
		cs_i128 v, got = 0;
		cs_copybin_field f;

		if (i < sizeof(edge) / sizeof(edge[0])) {
			v = edge[i];
		} else {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			v = (cs_i128)(x >> (x % 64));
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			v = v * (cs_i128)(x >> (3 + x % 61)) * (x & 1 ? -1 : 1); /* < 2^125 */
		}
		cs_buf_reset(&b);
		cs_copybin_put_numeric(&b, v);
		f.is_null = 0;
		f.data = b.data + 4;
		f.len = b.len - 4;
		assert_int_equal(cs_copybin_numeric(&f, &got), 0);
		assert_true(got == v);
	}
	cs_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copybin__numeric_by_hand),
		cmocka_unit_test(test_copybin__arrays_by_hand),
		cmocka_unit_test(test_copybin__int64_limits_as_numeric),
		cmocka_unit_test(test_copybin__numeric_reads_by_hand),
		cmocka_unit_test(test_copybin__numeric_round_trip),
		cmocka_unit_test(test_copybin__tuple_reads_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
