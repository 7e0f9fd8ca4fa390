/*
 * test_settle.c -- the pure settle core: fees, lines, totals, rejects and
 * hashes without a database (spec sections 4 and 5).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "coopsettle/config.h"
#include "coopsettle/config_load.h"
#include "coopsettle/fee.h"
#include "coopsettle/members.h"
#include "coopsettle/settle.h"
#include "coopsettle/window.h"

static const char config_text[] =
	"version: 1\n"
	"cooperative: \"Test eG\"\n"
	"currency: EUR\n"
	"currencies: {EUR: 2, CHF: 2}\n"
	"fees:\n"
	"  - id: guest-buyers\n"
	"    when: {consumer_member: false}\n"
	"    rate: 9%\n"
	"    min: \"0.50\"\n"
	"    borne_by: {producer: 2/3, consumer: 1/3}\n"
	"  - id: standard\n"
	"    tiers: [{up_to: \"100.00\", rate: 8%}, {rate: 5%}]\n"
	"    fixed: \"0.10\"\n";

static cs_config *load(void)
{
	cs_config *cfg = NULL;
	cs_config_diag diag;

	assert_int_equal(cs_config_load_buffer(&cfg, "test.yaml", config_text,
					       sizeof(config_text) - 1, &diag),
			 0);
	return cfg;
}

static cs_fee_result fee_of(cs_config *cfg, int64_t amount, int pm, int cm)
{
	cs_fee_calc calc;
	cs_fee_input in;
	cs_fee_result out;

	memset(&in, 0, sizeof(in));
	in.amount_minor = amount;
	in.currency = (size_t)cs_config_currency_index(cfg, "EUR", 3);
	in.producer_member = pm;
	in.consumer_member = cm;
	cs_fee_calc_init(&calc, cfg);
	cs_fee_compute(&calc, &in, &out);
	cs_fee_calc_clear(&calc);
	return out;
}

static void test_settle__fee_min_and_split(void **state)
{
	cs_config *cfg = load();
	cs_fee_result r;

	(void)state;
	/* 9% of 3.00 = 0.27 < min 0.50; split 2/3 : 1/3 of 50 = 33.33 : 16.67 -> 33 : 17 */
	r = fee_of(cfg, 300, 1, 0);
	assert_int_equal(r.rule_index, 0);
	assert_true(r.fee_minor == 50 && r.fee_producer_minor == 33 && r.fee_consumer_minor == 17);
	/* the refund mirrors the sale */
	r = fee_of(cfg, -300, 1, 0);
	assert_true(r.fee_minor == -50 && r.fee_producer_minor == -33 &&
		    r.fee_consumer_minor == -17);
	/* a fee never exceeds the amount: min 0.50 on 0.20 gives 0.20 */
	r = fee_of(cfg, 20, 1, 0);
	assert_true(r.fee_minor == 20);
	/* zero amount, zero fee */
	r = fee_of(cfg, 0, 1, 0);
	assert_true(r.fee_minor == 0 && r.rule_index == 0);
	cs_config_free(cfg);
}

static void test_settle__tiers(void **state)
{
	cs_config *cfg = load();
	cs_fee_result r;

	(void)state;
	/* 0.10 + 8% x 100.00 + 5% x 50.00 = 10 + 800 + 250 */
	r = fee_of(cfg, 15000, 1, 1);
	assert_int_equal(r.rule_index, 1);
	assert_true(r.fee_minor == 1060 && r.fee_producer_minor == 1060);
	/* 0.10 + 8% x 0.07 = 10.56 -> 11 (half_even) */
	r = fee_of(cfg, 7, 1, 1);
	assert_true(r.fee_minor == 7); /* capped at the amount */
	r = fee_of(cfg, 1000, 1, 1);
	assert_true(r.fee_minor == 90);
	/* int64 extremes stay exact */
	r = fee_of(cfg, INT64_MIN, 0, 1);
	assert_true(r.fee_minor < 0);
	r = fee_of(cfg, INT64_MAX, 0, 1);
	assert_true(r.fee_minor > 0);
	cs_config_free(cfg);
}

typedef struct collected {
	int n;
	cs_i128 sum;
} collected;

static int collect(void *ctx, const cs_ledger_line *l, cs_error *err)
{
	collected *c = ctx;

	(void)err;
	c->n++;
	c->sum += l->amount_minor;
	return 0;
}

static cs_txn_row row(int64_t id, int64_t producer, int has_consumer, int64_t consumer,
		      int64_t amount, const char *cur)
{
	cs_txn_row r;

	memset(&r, 0, sizeof(r));
	r.has_id = 1;
	r.id = id;
	r.has_occurred_at = 1;
	r.occurred_at_us = 1;
	r.has_producer = 1;
	r.producer_id = producer;
	r.has_consumer = has_consumer;
	r.consumer_id = consumer;
	r.has_amount = 1;
	r.amount_minor = amount;
	r.has_currency = cur != NULL;
	r.currency = cur;
	r.currency_len = cur ? strlen(cur) : 0;
	return r;
}

/* A one-day window in UTC around the test rows' instants. */
static cs_day_map test_days;

static const cs_day_map *days(void)
{
	cs_window w;
	cs_error err;

	if (!test_days.midnight_us) {
		assert_int_equal(cs_tz_use("UTC", &err), 0);
		assert_int_equal(cs_window_from_period(&w, "1970-01-01", &err), 0);
		cs_day_map_init(&test_days, &w);
	}
	return &test_days;
}

static void test_settle__lines_totals_rejects(void **state)
{
	cs_config *cfg = load();
	cs_members *m = cs_members_new();
	cs_member member = {.id = 10, .cls = CS_CLASS_CONSUMER};
	collected c = {0, 0};
	cs_settle *s;
	cs_error err;
	cs_txn_row r;
	size_t n;
	const cs_party_total *p;
	const cs_reject *rj;
	char in1[65], out1[65];

	(void)state;
	cs_members_add(m, &member);
	s = cs_settle_new(cfg, m, collect, &c);
	cs_settle_use_days(s, days());
	r = row(1, 1, 0, 0, 300, "EUR"); /* guest */
	assert_int_equal(cs_settle_row(s, &r, &err), 0);
	r = row(2, 1, 1, 10, 15000, "EUR");
	assert_int_equal(cs_settle_row(s, &r, &err), 0);
	r = row(3, 1, 1, 10, 100, "USD");
	assert_int_equal(cs_settle_row(s, &r, &err), 0);
	r = row(4, 1, 1, 10, 100, "EUR");
	assert_int_equal(cs_settle_row(s, &r, &err), 0);
	r = row(4, 1, 1, 10, 200, "EUR");
	assert_int_equal(cs_settle_row(s, &r, &err), 0);
	assert_int_equal(cs_settle_finish(s, &err), 0);
	assert_true(c.sum == 0);
	/* guest row: clearing 300+17, payable -(300-33), fee -33, fee -17: 4 lines */
	assert_int_equal(c.n, 4 + 3);
	rj = cs_settle_rejects(s, &n);
	assert_int_equal(n, 3);
	assert_string_equal(rj[0].reason, "currency 'USD' is not configured");
	assert_string_equal(rj[1].reason, "duplicate id");
	assert_true(rj[2].id == 4);
	p = cs_settle_parties(s, &n);
	assert_int_equal(n, 2); /* producer 1 EUR, consumer 10 EUR; the guest is no party */
	assert_true(p[0].side == CS_CLASS_PRODUCER && p[0].transactions == 2 &&
		    p[0].gross_minor == 15300 && p[0].fees_minor == 33 + 1060);
	assert_true(p[1].side == CS_CLASS_CONSUMER && p[1].party_id == 10 &&
		    p[1].fees_minor == 0);
	memcpy(in1, cs_settle_input_hash(s), 65);
	memcpy(out1, cs_settle_output_hash(s), 65);
	cs_settle_free(s);

	/* the same rows again: the same hashes */
	s = cs_settle_new(cfg, m, NULL, NULL);
	cs_settle_use_days(s, days());
	r = row(1, 1, 0, 0, 300, "EUR");
	cs_settle_row(s, &r, &err);
	r = row(2, 1, 1, 10, 15000, "EUR");
	cs_settle_row(s, &r, &err);
	r = row(3, 1, 1, 10, 100, "USD");
	cs_settle_row(s, &r, &err);
	r = row(4, 1, 1, 10, 100, "EUR");
	cs_settle_row(s, &r, &err);
	r = row(4, 1, 1, 10, 200, "EUR");
	cs_settle_row(s, &r, &err);
	cs_settle_finish(s, &err);
	assert_string_equal(in1, cs_settle_input_hash(s));
	assert_string_equal(out1, cs_settle_output_hash(s));
	cs_settle_free(s);
	cs_members_free(m);
	cs_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settle__fee_min_and_split),
		cmocka_unit_test(test_settle__tiers),
		cmocka_unit_test(test_settle__lines_totals_rejects),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
