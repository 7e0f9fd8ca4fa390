/*
 * test_export.c -- the export formatter's pure parts (export.h): account
 * names derived for beancount (never refused), Windows-1252 for DATEV, the
 * DATEV rows of a journal (its first line the Gegenkonto of the others,
 * S/H, decimal comma, DDMM) and the CSV debit and credit columns, all
 * worked by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/export.h"

static void name_is(cs_export_format fmt, const char *account, cs_export_root root, int has_party,
		    int64_t party, const char *want)
{
	cs_buf b;

	cs_buf_init(&b);
	cs_export_account(&b, fmt, account, root, has_party, party);
	assert_string_equal(b.data, want);
	cs_buf_free(&b);
}

static void test_export__beancount_names(void **state)
{
	(void)state;
	/* a valid root stays as it is, whatever the role */
	name_is(CS_EXPORT_BEANCOUNT, "income:fees", CS_ROOT_LIABILITIES, 1, 7, "Income:Fees:7");
	name_is(CS_EXPORT_BEANCOUNT, "liabilities:capital-interest", CS_ROOT_LIABILITIES, 0, 0,
		"Liabilities:Capital-interest");
	/* the German name: the role's root in front */
	name_is(CS_EXPORT_BEANCOUNT, "1360 Geldtransit", CS_ROOT_ASSETS, 0, 0,
		"Assets:1360-Geldtransit");
	name_is(CS_EXPORT_BEANCOUNT, "revenue:fees", CS_ROOT_INCOME, 0, 0, "Income:Revenue:Fees");
	name_is(CS_EXPORT_BEANCOUNT, "1360", CS_ROOT_ASSETS, 1, 10, "Assets:1360:10");
	/* a component that starts with neither a capital nor a digit */
	name_is(CS_EXPORT_BEANCOUNT, "assets:(clearing)", CS_ROOT_ASSETS, 1, -5,
		"Assets:X-clearing-:N5");
	name_is(CS_EXPORT_BEANCOUNT, "", CS_ROOT_EQUITY, 0, 0, "Equity:X");
	/* bytes of UTF-8 become '-' */
	name_is(CS_EXPORT_BEANCOUNT, "erl\xc3\xb6se", CS_ROOT_INCOME, 0, 0, "Income:Erl--se");
	/* hledger keeps the text; csv and datev the name alone */
	name_is(CS_EXPORT_HLEDGER, "1360 Geldtransit", CS_ROOT_ASSETS, 1, 10,
		"1360 Geldtransit:10");
	name_is(CS_EXPORT_HLEDGER, "(virtual)", CS_ROOT_ASSETS, 0, 0, "_virtual)");
	name_is(CS_EXPORT_CSV, "assets:clearing", CS_ROOT_ASSETS, 1, 10, "assets:clearing");
}

static void test_export__cp1252(void **state)
{
	cs_buf b;

	(void)state;
	cs_buf_init(&b);
	/* ä (U+00E4) is 0xe4, € (U+20AC) 0x80, „ (U+201E) 0x84; a character
	 * Windows-1252 lacks (U+4E2D) is '?', a control byte a space, a
	 * malformed byte '?' */
	cs_export_cp1252(&b, "S\xc3\xbc"
			     "d \xe2\x82\xac \xe2\x80\x9e \xe4\xb8\xad\t\xff");
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data,
			    "S\xfc"
			    "d \x80 \x84 ? ?",
			    11);
	cs_buf_free(&b);
}

/* One export of fmt over one settle run with lines (account, amount). */
typedef struct line_spec {
	const char *account;
	long long amount;
} line_spec;

static char *run_export(const cs_export_opts *o, const line_spec *ls, size_t n, int *rc)
{
	static const cs_export_run run = {.id = 3,
					  .kind = "settle",
					  .status = "committed",
					  .cooperative = "Test eG",
					  .from_text = "2025-03-01T00:00:00+01:00",
					  .to_text = "2025-03-02T00:00:00+01:00",
					  .date = "2025-03-01",
					  .open_date = "2025-03-01",
					  .config_sha256 = "c",
					  .input_sha256 = "i",
					  .output_sha256 = "o",
					  .record_sha256 = "r"};
	cs_export *x;
	cs_error err;
	cs_buf out;
	size_t i;
	char *text;

	cs_buf_init(&out);
	cs_error_clear(&err);
	x = cs_export_new(o, &out);
	cs_export_add_run(x, &run);
	cs_export_commodity(x, "EUR", 2);
	for (i = 0; i < n; i++) {
		assert_int_equal(cs_export_declare(x, ls[i].account, CS_ROOT_ASSETS, &err), 0);
		cs_export_declare_party(x, ls[i].account, 0, 0);
	}
	*rc = cs_export_begin(x, &err);
	for (i = 0; i < n && *rc == 0; i++) {
		cs_export_line l = {.journal = 1,
				    .line_no = (int64_t)i + 1,
				    .has_transaction = 1,
				    .transaction_id = 4711,
				    .account = ls[i].account,
				    .currency = "EUR",
				    .exponent = 2,
				    .amount_minor = ls[i].amount,
				    .posted_on = "2025-03-01"};

		*rc = cs_export_line_put(x, &run, &l, &err);
	}
	if (*rc == 0)
		*rc = cs_export_end(x, &err);
	cs_export_free(x);
	text = strdup(out.data ? out.data : "");
	cs_buf_free(&out);
	return text;
}

static int starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_export__datev_rows(void **state)
{
	/* a sale of 100.00 with a fee of 5.00 and its 19% VAT of 0.95: the
	 * clearing line (first) is the Gegenkonto of the three others */
	static const line_spec ls[] = {{"assets:clearing", 10595},
				       {"liabilities:payable:producers", -10000},
				       {"income:fees", -500},
				       {"liabilities:vat", -95}};
	cs_accounts_map map = {0};
	char *from[] = {"assets:clearing", "liabilities:payable:producers", "income:fees",
			"liabilities:vat"};
	char *to[] = {"1360", "1700", "8200", "1770"};
	cs_export_opts o = {.fmt = CS_EXPORT_DATEV,
			    .map = &map,
			    .period_first = "2025-01-01",
			    .period_last = "2025-12-31",
			    .datev = {.consultant = 1001,
				      .client = 1,
				      .account_length = 4,
				      .chart = "03",
				      .created = "20260101120000000",
				      .fy_start = "20250101",
				      .currency = "EUR"}};
	char *text, *row;
	int rc, fields;

	(void)state;
	map.from = from;
	map.to = to;
	map.n = 4;
	text = run_export(&o, ls, 4, &rc);
	assert_int_equal(rc, 0);
	assert_true(starts(text, "\"EXTF\";700;21;\"Buchungsstapel\";13;20260101120000000;;"));
	row = strstr(text, "\r\n");
	row = strstr(row + 2, "\r\n") + 2; /* after the column line */
	assert_true(starts(row, "100,00;\"H\";\"EUR\";;;;1700;1360;;0103;\"4711\";;;\"run 3 tx "
				"4711\";"));
	for (fields = 1; *row && *row != '\r'; row++)
		fields += *row == ';';
	assert_int_equal(fields, 125);
	assert_non_null(strstr(text, "5,00;\"H\";\"EUR\";;;;8200;1360;"));
	assert_non_null(strstr(text, "0,95;\"H\";\"EUR\";;;;1770;1360;"));
	assert_null(strstr(text, ";1360;1360;")); /* the first line books no row of its own */
	free(text);
}

static void test_export__csv_debit_credit(void **state)
{
	static const line_spec ls[] = {{"a", 1234}, {"b", -1234}};
	cs_export_opts o = {.fmt = CS_EXPORT_CSV};
	char *text;
	int rc;

	(void)state;
	text = run_export(&o, ls, 2, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(text, ",a,,EUR,12.34,1234,12.34,,r\n"));
	assert_non_null(strstr(text, ",b,,EUR,-12.34,-1234,,12.34,r\n"));
	free(text);
}

static void test_export__unbalanced(void **state)
{
	static const line_spec ls[] = {{"a", 1234}, {"b", -1233}};
	cs_export_opts o = {.fmt = CS_EXPORT_HLEDGER};
	char *text;
	int rc;

	(void)state;
	text = run_export(&o, ls, 2, &rc);
	assert_int_equal(rc, -1);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_export__beancount_names),
		cmocka_unit_test(test_export__cp1252),
		cmocka_unit_test(test_export__datev_rows),
		cmocka_unit_test(test_export__csv_debit_credit),
		cmocka_unit_test(test_export__unbalanced),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
