/*
 * test_schema_map.c -- the schema map of db.h (config key `schema`): which
 * `coopsettle.` prefixes a statement is sent with the quoted schema in
 * place of, which it keeps; the schema names refused; the advisory lock key
 * of a schema (checked against SHA-256 values computed with sha256sum).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/db.h"
#include "coopsettle/schema.h"
#include "coopsettle/util.h"

static void expect_map(const char *sql, const char *want)
{
	char *got = cs_db_map_schema(sql);

	assert_non_null(got);
	assert_string_equal(got, want);
	free(got);
}

static void test_map__prefixes(void **state)
{
	cs_error err;

	(void)state;
	expect_map("SELECT 1 FROM coopsettle.runs", "SELECT 1 FROM \"coopsettle\".runs");
	assert_int_equal(cs_db_use_schema("coop_a", &err), 0);
	assert_string_equal(cs_db_schema(), "coop_a");
	expect_map("SELECT r.id FROM coopsettle.runs r, coopsettle.ledger_lines l",
		   "SELECT r.id FROM \"coop_a\".runs r, \"coop_a\".ledger_lines l");
	/* at the very start, after punctuation, in a literal (to_regclass) */
	expect_map("coopsettle.x(coopsettle.y)", "\"coop_a\".x(\"coop_a\".y)");
	expect_map("SELECT to_regclass('coopsettle.schema_version')",
		   "SELECT to_regclass('\"coop_a\".schema_version')");
	/* a quoted identifier (a config's relation) is never touched, nor a
	 * longer word, nor a qualified name ending in coopsettle */
	expect_map("SELECT * FROM \"coopsettle\".\"transactions\"",
		   "SELECT * FROM \"coopsettle\".\"transactions\"");
	expect_map("SELECT * FROM \"my coopsettle.x\".t", "SELECT * FROM \"my coopsettle.x\".t");
	expect_map("SELECT mycoopsettle.t, a.coopsettle.t, coopsettle_x.t",
		   "SELECT mycoopsettle.t, a.coopsettle.t, coopsettle_x.t");
	/* a double quote inside a literal does not start an identifier */
	expect_map("SELECT '\"', coopsettle.t", "SELECT '\"', \"coop_a\".t");
	expect_map("no prefix here", "no prefix here");
	assert_int_equal(cs_db_use_schema("coopsettle", &err), 0);
}

static void test_map__bad_names(void **state)
{
	static const char *const bad[] = {
		"", "Coop", "1coop", "coop-a", "coop a", "pg_coop", "public", "information_schema",
		"co\"op", "co'op",
		"a234567890123456789012345678901234567890123456789012345678901234",
	};
	cs_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_non_null(cs_schema_name_problem(bad[i], strlen(bad[i])));
		assert_int_equal(cs_db_use_schema(bad[i], &err), -1);
		assert_int_equal(err.exit_code, CS_EXIT_USAGE);
	}
	assert_string_equal(cs_db_schema(), "coopsettle");
	assert_null(cs_schema_name_problem("_coop9", 6));
	assert_null(cs_schema_name_problem(
		"a23456789012345678901234567890123456789012345678901234567890123", 63));
}

static void test_lock_key(void **state)
{
	char key[24];
	cs_error err;

	(void)state;
	cs_schema_lock_key(key);
	assert_string_equal(key, "7165059049155654245"); /* the default: as before */
	/* printf 'coopsettle advisory lock: coop_a' | sha256sum: the first 16
	 * hex digits ceb9fe6e1b54e54e, as a signed big-endian 64-bit integer */
	assert_int_equal(cs_db_use_schema("coop_a", &err), 0);
	cs_schema_lock_key(key);
	assert_string_equal(key, "-3550527082346519218");
	assert_int_equal(cs_db_use_schema("coopsettle", &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map__prefixes),
		cmocka_unit_test(test_map__bad_names),
		cmocka_unit_test(test_lock_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
