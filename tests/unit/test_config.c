/*
 * test_config.c -- the strict YAML config loader: good configs load with the
 * right typed values and defaults, every fixture in tests/config/bad/ fails
 * at the line and column its `# expect:` comment names, and the bounds on
 * size, depth and error count hold.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "coopsettle/config.h"
#include "coopsettle/config_load.h"
#include "coopsettle/window.h"

static cs_config_diag diag; /* large: static */

static const char *source_dir(void)
{
	const char *dir = getenv("CS_SOURCE_DIR");

	if (dir == NULL || dir[0] == '\0')
		fail_msg("CS_SOURCE_DIR is not set (ctest sets it to the repository root)");
	return dir;
}

static void repo_path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", source_dir(), rel);
}

static int q_equals(const mpq_t q, unsigned long num, unsigned long den)
{
	mpq_t want;
	int eq;

	mpq_init(want);
	mpq_set_ui(want, num, den);
	mpq_canonicalize(want);
	eq = mpq_equal(q, want) != 0;
	mpq_clear(want);
	return eq;
}

static void print_diag(const char *name)
{
	cs_config_diag_print(stderr, &diag, name, NULL, 0);
}

static cs_config *load_ok(const char *rel)
{
	char path[4096];
	cs_config *cfg = NULL;

	repo_path(path, sizeof(path), rel);
	if (cs_config_load_file(&cfg, path, &diag) != 0) {
		print_diag(path);
		fail_msg("%s does not load", rel);
	}
	assert_non_null(cfg);
	assert_int_equal(diag.n_errors, 0);
	return cfg;
}

static cs_config *load_text_ok(const char *text)
{
	cs_config *cfg = NULL;

	if (cs_config_load_buffer(&cfg, "inline.yaml", text, strlen(text), &diag) != 0) {
		print_diag("inline.yaml");
		fail_msg("inline config does not load");
	}
	assert_non_null(cfg);
	return cfg;
}

/* Loads text, which must fail; returns whether some error has a message
 * containing want (and, with line > 0, is at that line). */
static int load_text_fails_with(const char *text, size_t len, unsigned line, const char *want)
{
	cs_config *cfg = (cs_config *)1;
	size_t i;

	assert_int_equal(cs_config_load_buffer(&cfg, "inline.yaml", text, len, &diag), -1);
	assert_null(cfg);
	assert_true(diag.n_errors > 0);
	for (i = 0; i < diag.n_errors; i++)
		if ((line == 0 || diag.errors[i].line == line) && strstr(diag.errors[i].message, want))
			return 1;
	print_diag("inline.yaml");
	return 0;
}

#define MINIMAL_HEAD "version: 1\ncooperative: T eG\ncurrency: EUR\ncurrencies: {EUR: 2}\n"

static void test_config__marketplace_v1_loads(void **state)
{
	cs_config *cfg = load_ok("tests/config/good/marketplace-v1.yaml");
	const cs_rule *r;
	const cs_step *s;
	int eur, chf;

	(void)state;
	assert_int_equal(cfg->version, 1);
	assert_string_equal(cfg->cooperative, "Handwerk & Hof Marktplatz eG");
	assert_int_equal(cfg->n_currencies, 2);
	/* sorted by code */
	assert_string_equal(cfg->currencies[0].code, "CHF");
	assert_string_equal(cfg->currencies[1].code, "EUR");
	assert_int_equal(cfg->currencies[0].exponent, 2);
	chf = cs_config_currency_index(cfg, "CHF", 3);
	eur = cs_config_currency_index(cfg, "EUR", 3);
	assert_int_equal(chf, 0);
	assert_int_equal(eur, 1);
	assert_int_equal(cs_config_currency_index(cfg, "USD", 3), -1);
	assert_int_equal(cs_config_currency_index(cfg, "EURO", 2), -1);
	assert_int_equal(cfg->base_currency, (size_t)eur);
	assert_string_equal(cfg->timezone, "Europe/Berlin");
	assert_int_equal(cfg->rounding, CS_ROUND_HALF_EVEN);
	assert_int_equal(cfg->on_invalid, CS_ON_INVALID_QUARANTINE);
	assert_string_equal(cfg->source_transactions.schema, "marktplatz");
	assert_string_equal(cfg->source_transactions.table, "sales");
	assert_string_equal(cfg->source_members.table, "members");
	assert_string_equal(cfg->source_costs.table, "operating_costs");
	assert_string_equal(cfg->accounts[CS_ACCOUNT_CLEARING], "Aktiva:Verrechnung");
	assert_string_equal(cfg->accounts[CS_ACCOUNT_SURPLUS], "Eigenkapital:Ueberschuss");

	assert_int_equal(cfg->n_rules, 5);
	r = &cfg->rules[0];
	assert_string_equal(r->id, "food-members");
	assert_true(r->has_categories);
	assert_int_equal(r->n_categories, 4);
	assert_string_equal(r->categories[0], "vegetables");
	assert_string_equal(r->categories[3], "meat");
	assert_int_equal(r->producer_member, CS_TRI_TRUE);
	assert_int_equal(r->consumer_member, CS_TRI_TRUE);
	assert_true(r->currency_allowed[chf] && r->currency_allowed[eur]);
	assert_true(r->has_rate);
	assert_true(q_equals(r->rate, 4, 100));
	assert_true(q_equals(r->share_producer, 1, 2));
	assert_true(q_equals(r->share_consumer, 1, 2));
	assert_false(r->fixed.present);
	assert_true(r->line > 1);

	r = &cfg->rules[1];
	assert_string_equal(r->id, "crafts-chf-large");
	assert_true(r->currency_allowed[chf]);
	assert_false(r->currency_allowed[eur]);
	assert_true(r->min_amount.present);
	assert_true(r->min_amount.applies[chf]);
	assert_false(r->min_amount.applies[eur]);
	assert_int_equal(mpz_get_si(r->min_amount.minor[chf]), 50000);
	assert_int_equal(mpz_get_si(r->max.minor[chf]), 6000);
	assert_int_equal(r->producer_member, CS_TRI_ANY);
	assert_true(q_equals(r->share_producer, 1, 1)); /* default */
	assert_true(q_equals(r->share_consumer, 0, 1));

	r = &cfg->rules[2];
	assert_int_equal(r->consumer_member, CS_TRI_FALSE);
	assert_int_equal(mpz_get_si(r->fixed.minor[eur]), 25);
	assert_int_equal(mpz_get_si(r->min.minor[chf]), 50);
	assert_true(q_equals(r->share_producer, 2, 3));
	assert_true(q_equals(r->share_consumer, 1, 3));

	r = &cfg->rules[4];
	assert_string_equal(r->id, "standard");
	assert_false(r->has_rate);
	assert_int_equal(r->n_tiers, 3);
	assert_true(r->tiers[0].up_to.present);
	assert_int_equal(mpz_get_si(r->tiers[0].up_to.minor[eur]), 10000);
	assert_int_equal(mpz_get_si(r->tiers[1].up_to.minor[chf]), 100000);
	assert_false(r->tiers[2].up_to.present);
	assert_true(q_equals(r->tiers[2].rate, 35, 1000));
	assert_false(r->has_categories);

	assert_true(cfg->has_surplus);
	assert_true(cfg->costs_from_relation);
	assert_string_equal(cfg->costs_relation.schema, "marktplatz");
	assert_string_equal(cfg->costs_relation.table, "operating_costs");
	assert_int_equal(cfg->n_steps, 3);
	s = &cfg->steps[0];
	assert_string_equal(s->id, "legal-reserve");
	assert_int_equal(s->type, CS_STEP_ACCOUNT);
	assert_int_equal(s->share_kind, CS_SHARE_FRACTION);
	assert_true(q_equals(s->share, 1, 10));
	assert_string_equal(s->account, "Eigenkapital:Ruecklagen:gesetzlich");
	s = &cfg->steps[1];
	assert_int_equal(s->type, CS_STEP_CAPITAL_INTEREST);
	assert_int_equal(s->share_kind, CS_SHARE_NONE);
	assert_true(q_equals(s->rate, 3, 100));
	assert_true(s->has_cap_share);
	assert_true(q_equals(s->cap_share, 1, 5));
	s = &cfg->steps[2];
	assert_int_equal(s->type, CS_STEP_PATRONAGE);
	assert_int_equal(s->share_kind, CS_SHARE_REMAINING);
	assert_int_equal(s->basis, CS_BASIS_FEES);
	assert_int_equal(s->n_classes, 2);
	assert_int_equal(s->classes[0], CS_CLASS_PRODUCER);
	assert_true(q_equals(s->class_shares[0], 3, 5));
	assert_int_equal(s->classes[1], CS_CLASS_CONSUMER);
	assert_true(q_equals(s->class_shares[1], 2, 5));
	assert_true(s->min_patronage.present);
	assert_int_equal(mpz_get_si(s->min_patronage.minor[eur]), 100);
	assert_int_equal(mpz_get_si(s->min_patronage.minor[chf]), 100);
	assert_true(q_equals(s->cash_fraction, 1, 4));
	cs_config_free(cfg);
}

/* config/example.yaml: the German eG of the demo, with its statute's
 * choices (config version 2, spec 10.3). */
static void test_config__example_loads(void **state)
{
	cs_config *cfg = load_ok("config/example.yaml");
	const cs_step *s;

	(void)state;
	assert_int_equal(cfg->version, 2);
	assert_string_equal(cfg->cooperative, "Handwerk & Hof Marktplatz eG");
	assert_int_equal(cfg->n_currencies, 1);
	assert_string_equal(cfg->currencies[0].code, "EUR");
	assert_string_equal(cfg->timezone, "Europe/Berlin");
	assert_true(cfg->close_after_us == INT64_C(6) * 3600 * 1000000);
	assert_string_equal(cfg->source_members.schema, "marktplatz");
	assert_string_equal(cfg->source_members.table, "memberships");
	assert_string_equal(cfg->source_capital.table, "capital");
	assert_int_equal(cfg->n_rules, 5);

	/* spec 10.8: 19% VAT on top of every fee, on the SKR's 19% account */
	assert_string_equal(cfg->accounts[CS_ACCOUNT_VAT], "liabilities:vat:19");
	assert_true(cfg->has_vat);
	assert_true(cfg->vat_default.given);
	assert_false(cfg->vat_default.none);
	assert_true(q_equals(cfg->vat_default.rate, 19, 100));
	assert_false(cfg->vat_default.included);
	for (size_t i = 0; i < cfg->n_rules; i++) {
		assert_true(cfg->rules[i].vat_on);
		assert_string_equal(cfg->rules[i].vat_account, "liabilities:vat:19");
	}
	/* the fee schedule changes on 15 July 2025: until, then from */
	assert_string_equal(cfg->rules[3].id, "standard");
	assert_false(cfg->rules[3].has_from);
	assert_true(cfg->rules[3].has_until);
	assert_true(cfg->rules[3].until_day == cs_days_from_civil(2025, 7, 15));
	assert_string_equal(cfg->rules[4].id, "standard-2025-07");
	assert_true(cfg->rules[4].has_from);
	assert_false(cfg->rules[4].has_until);
	assert_true(cfg->rules[4].from_day == cs_days_from_civil(2025, 7, 15));
	assert_true(q_equals(cfg->rules[4].tiers[0].rate, 9, 100));

	/* the balances of 31 December 2022 and the loss cover */
	assert_true(cfg->has_opening);
	assert_true(cfg->opening_as_of == cs_days_from_civil(2023, 1, 1));
	assert_int_equal(cfg->n_opening, 3);
	assert_string_equal(cfg->opening[0].account, "equity:reserves:legal");
	assert_int_equal(mpz_get_si(cfg->opening[0].amount.minor[0]), 2700000);
	assert_string_equal(cfg->opening[1].account, "equity:reserves:free");
	assert_int_equal(mpz_get_si(cfg->opening[1].amount.minor[0]), 1200000);
	assert_string_equal(cfg->opening[2].account, "equity:loss-carried-forward");
	assert_int_equal(mpz_get_si(cfg->opening[2].amount.minor[0]), 0);
	assert_int_equal(cfg->n_loss_cover, 2);
	assert_string_equal(cfg->loss_cover[0], "equity:reserves:free");
	assert_string_equal(cfg->loss_cover[1], "equity:reserves:legal");
	assert_true(cfg->total_assets.applies[0]);
	assert_int_equal(mpz_get_si(cfg->total_assets.minor[0]), 30000000);

	assert_int_equal(cfg->n_steps, 3);
	/* GenG 7 Nr. 2: 10% until 10% of total assets */
	s = &cfg->steps[0];
	assert_string_equal(s->account, "equity:reserves:legal");
	assert_true(q_equals(s->share, 1, 10));
	assert_int_equal(s->until, CS_UNTIL_ASSETS);
	assert_true(q_equals(s->until_share, 1, 10));
	/* GenG 21a: 2% on the opening balance, none after a loss, tax withheld */
	s = &cfg->steps[1];
	assert_int_equal(s->type, CS_STEP_CAPITAL_INTEREST);
	assert_true(q_equals(s->rate, 2, 100));
	assert_int_equal(s->interest_basis, CS_INTEREST_OPENING_BALANCE);
	assert_true(s->blocked_by_loss);
	assert_true(s->has_withholding);
	assert_true(q_equals(s->withholding, 26375, 100000));
	assert_false(s->has_cap_share);
	/* KStG 22: the refund capped by member business, 30% in cash */
	s = &cfg->steps[2];
	assert_int_equal(s->type, CS_STEP_PATRONAGE);
	assert_int_equal(s->share_kind, CS_SHARE_REMAINING);
	assert_true(s->cap_member_business);
	assert_int_equal(s->cap_basis, CS_BASIS_FEES);
	assert_true(q_equals(s->cash_fraction, 3, 10));
	assert_false(s->notice_qualified);
	cs_config_free(cfg);
}

/* config/us-coop.yaml: a qualified notice of allocation (26 USC 1388) and
 * config/fund.yaml: half of every fee to a community fund (spec 10.3). */
static void test_config__us_coop_and_fund_load(void **state)
{
	cs_config *cfg = load_ok("config/us-coop.yaml");
	const cs_step *s;

	(void)state;
	assert_int_equal(cfg->version, 2);
	assert_string_equal(cfg->currencies[0].code, "USD");
	assert_int_equal(cfg->n_steps, 2);
	s = &cfg->steps[1];
	assert_int_equal(s->type, CS_STEP_PATRONAGE);
	assert_int_equal(s->basis, CS_BASIS_VOLUME);
	assert_true(s->cap_member_business);
	assert_int_equal(s->cap_basis, CS_BASIS_FEES);
	assert_true(s->notice_qualified);
	assert_true(s->has_payment_due);
	assert_int_equal(s->due_months, 8);
	assert_int_equal(s->due_days, 15);
	assert_true(q_equals(s->cash_fraction, 1, 5));
	cs_config_free(cfg);

	cfg = load_ok("config/fund.yaml");
	assert_int_equal(cfg->version, 2);
	assert_int_equal(cfg->n_rules, 1);
	assert_int_equal(cfg->rules[0].n_funds, 1);
	assert_string_equal(cfg->rules[0].funds[0].account, "liabilities:funds:community");
	assert_true(q_equals(cfg->rules[0].funds[0].share, 1, 2));
	assert_true(q_equals(cfg->rules[0].share_consumer, 1, 1));
	assert_int_equal(cfg->n_fund_accounts, 1);
	assert_int_equal(cfg->steps[2].cap_basis, CS_BASIS_VOLUME);
	cs_config_free(cfg);
}

static void test_config__sha256_of_raw_bytes(void **state)
{
	char path[4096], hex[65];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0, i;
	cs_config *cfg = load_ok("tests/config/good/marketplace-v1.yaml");

	(void)state;
	repo_path(path, sizeof(path), "tests/config/good/marketplace-v1.yaml");
	assert_int_equal(EVP_Digest(cfg->text, cfg->text_len, md, &md_len, EVP_sha256(), NULL), 1);
	for (i = 0; i < md_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	assert_string_equal(cfg->sha256_hex, hex);
	assert_string_equal(cfg->path, path);
	assert_int_equal(strlen(cfg->text), cfg->text_len);
	cs_config_free(cfg);
}

static void test_config__minimal_defaults(void **state)
{
	cs_config *cfg = load_ok("config/minimal.yaml");
	size_t i;

	(void)state;
	assert_string_equal(cfg->timezone, "UTC");
	assert_int_equal(cfg->rounding, CS_ROUND_HALF_EVEN);
	assert_int_equal(cfg->on_invalid, CS_ON_INVALID_ABORT);
	assert_string_equal(cfg->source_transactions.schema, "coopsettle");
	assert_string_equal(cfg->source_transactions.table, "transactions");
	assert_string_equal(cfg->source_members.table, "members");
	assert_string_equal(cfg->source_costs.table, "operating_costs");
	assert_string_equal(cfg->accounts[CS_ACCOUNT_CLEARING], "assets:clearing");
	assert_string_equal(cfg->accounts[CS_ACCOUNT_PRODUCER_PAYABLE], "liabilities:payable:producers");
	assert_string_equal(cfg->accounts[CS_ACCOUNT_FEE_INCOME], "income:fees");
	assert_string_equal(cfg->accounts[CS_ACCOUNT_CAPITAL_INTEREST], "liabilities:capital-interest");
	assert_string_equal(cfg->accounts[CS_ACCOUNT_PATRONAGE_CASH], "liabilities:patronage");
	assert_string_equal(cfg->accounts[CS_ACCOUNT_PATRONAGE_RETAINED], "equity:member-capital");
	assert_string_equal(cfg->accounts[CS_ACCOUNT_RETAINED_SURPLUS], "equity:reserves:free");
	assert_string_equal(cfg->accounts[CS_ACCOUNT_SURPLUS], "equity:surplus");
	assert_false(cfg->has_surplus);
	assert_int_equal(cfg->n_steps, 0);
	assert_true(cfg->costs_from_relation);
	assert_string_equal(cfg->costs_relation.schema, "coopsettle");
	assert_string_equal(cfg->costs_relation.table, "operating_costs");
	assert_false(cfg->costs_amount.present);
	assert_int_equal(cfg->n_rules, 1);
	assert_int_equal(cfg->rules[0].producer_member, CS_TRI_ANY);
	assert_int_equal(cfg->rules[0].consumer_member, CS_TRI_ANY);
	for (i = 0; i < CS_CURRENCIES_MAX; i++)
		assert_true(cfg->rules[0].currency_allowed[i]);
	assert_true(q_equals(cfg->rules[0].share_producer, 1, 1));
	assert_true(q_equals(cfg->rules[0].share_consumer, 0, 1));
	cs_config_free(cfg);
}

/* The example of spec section 9, verbatim. */
static void test_config__spec_example(void **state)
{
	static const char text[] =
		"version: 1\n"
		"cooperative: \"Name eG\"\n"
		"currency: EUR                    # base currency (capital, capital interest)\n"
		"currencies: {EUR: 2, CHF: 2}     # ISO code: minor-unit exponent\n"
		"timezone: Europe/Berlin\n"
		"rounding: half_even\n"
		"on_invalid: abort                # abort | quarantine\n"
		"source: {transactions: coopsettle.transactions, members: coopsettle.members,\n"
		"         costs: coopsettle.operating_costs}\n"
		"accounts: {clearing: \"assets:clearing\"}   # any of the account keys above\n"
		"fees:\n"
		"  - id: guest-buyers\n"
		"    when: {consumer_member: false}\n"
		"    rate: 9%\n"
		"    min: \"0.50\"\n"
		"    borne_by: {producer: 2/3, consumer: 1/3}\n"
		"  - id: standard\n"
		"    tiers: [{up_to: \"100.00\", rate: 8%}, {rate: 5%}]\n"
		"    fixed: \"0.10\"\n"
		"surplus:\n"
		"  costs: {relation: coopsettle.operating_costs}   # or {amount: {EUR: \"12000.00\"}}\n"
		"  steps:\n"
		"    - {id: legal-reserve, type: account, share: 10%, account: \"equity:reserves:legal\"}\n"
		"    - {id: capital-interest, type: capital_interest, rate: 3%, cap_share: 20%}\n"
		"    - id: patronage-refund\n"
		"      type: patronage\n"
		"      share: remaining\n"
		"      basis: fees\n"
		"      classes: {producer: 60%, consumer: 40%}\n"
		"      min_patronage: \"1.00\"\n"
		"      cash_fraction: 20%\n";
	cs_config *cfg = load_text_ok(text);

	(void)state;
	assert_int_equal(cfg->n_rules, 2);
	assert_int_equal(cfg->rules[0].line, 12);
	assert_int_equal(cfg->rules[1].line, 17);
	assert_int_equal(cfg->n_steps, 3);
	assert_int_equal(cfg->steps[2].line, 25);
	assert_true(q_equals(cfg->steps[2].cash_fraction, 1, 5));
	assert_string_equal(cfg->path, "inline.yaml");
	cs_config_free(cfg);
}

static void test_config__relation_names(void **state)
{
	cs_config *cfg = load_text_ok(MINIMAL_HEAD
				      "fees: [{id: all, rate: 5%}]\n"
				      "source:\n"
				      "  transactions: sales\n"
				      "  members: \"a.b.c\"\n"
				      "  costs: \"Stra\xc3\x9f" "e\\\"; DROP.x y\"\n");

	(void)state;
	assert_string_equal(cfg->source_transactions.schema, "public");
	assert_string_equal(cfg->source_transactions.table, "sales");
	assert_string_equal(cfg->source_members.schema, "a");
	assert_string_equal(cfg->source_members.table, "b.c");
	assert_string_equal(cfg->source_costs.schema, "Stra\xc3\x9f" "e\"; DROP");
	assert_string_equal(cfg->source_costs.table, "x y");
	/* no surplus.costs: the costs relation is source.costs */
	assert_string_equal(cfg->costs_relation.schema, cfg->source_costs.schema);
	assert_string_equal(cfg->costs_relation.table, "x y");
	cs_config_free(cfg);
}

static void test_config__money_in_minor_units(void **state)
{
	cs_config *cfg = load_text_ok("version: 1\ncooperative: T eG\ncurrency: EUR\n"
				      "currencies: {EUR: 2, JPY: 0, BHD: 3}\n"
				      "fees:\n"
				      "  - id: yen\n"
				      "    when: {currency: [JPY]}\n"
				      "    rate: 3/40\n"
				      "    fixed: \"-5\"\n"
				      "    min: 12\n"
				      "  - id: rest\n"
				      "    when: {currency: [EUR, BHD], min_amount: 0, max_amount: 1000000}\n"
				      "    rate: \"0.075\"\n"
				      "    fixed: \"0.10\"\n"
				      "surplus:\n"
				      "  costs: {amount: {EUR: \"12000.00\", JPY: \"500\", BHD: \"1.250\"}}\n"
				      "  steps:\n"
				      "    - {id: all, type: account, share: remaining, account: x}\n");
	int bhd = cs_config_currency_index(cfg, "BHD", 3);
	int eur = cs_config_currency_index(cfg, "EUR", 3);
	int jpy = cs_config_currency_index(cfg, "JPY", 3);
	const cs_rule *r;

	(void)state;
	assert_int_equal(bhd, 0);
	assert_int_equal(eur, 1);
	assert_int_equal(jpy, 2);
	assert_int_equal(cfg->base_currency, 1);
	assert_int_equal(cfg->currencies[bhd].exponent, 3);
	r = &cfg->rules[0];
	assert_true(q_equals(r->rate, 3, 40));
	assert_true(r->fixed.applies[jpy]);
	assert_false(r->fixed.applies[eur]);
	assert_int_equal(mpz_get_si(r->fixed.minor[jpy]), -5); /* a rebate */
	assert_int_equal(mpz_get_si(r->min.minor[jpy]), 12);
	r = &cfg->rules[1];
	assert_true(q_equals(r->rate, 75, 1000));
	assert_int_equal(mpz_get_si(r->fixed.minor[eur]), 10);
	assert_int_equal(mpz_get_si(r->fixed.minor[bhd]), 100);
	assert_false(r->fixed.applies[jpy]);
	assert_int_equal(mpz_get_si(r->max_amount.minor[bhd]), 1000000000);
	assert_false(cfg->costs_from_relation);
	assert_true(cfg->costs_amount.present);
	assert_int_equal(mpz_get_si(cfg->costs_amount.minor[eur]), 1200000);
	assert_int_equal(mpz_get_si(cfg->costs_amount.minor[jpy]), 500);
	assert_int_equal(mpz_get_si(cfg->costs_amount.minor[bhd]), 1250);
	assert_true(cfg->costs_amount.applies[bhd]);
	cs_config_free(cfg);
}

static void test_config__remaining_anywhere_once(void **state)
{
	static const char two[] = MINIMAL_HEAD "fees: [{id: all, rate: 5%}]\n"
				  "surplus:\n  steps:\n"
				  "    - {id: a, type: account, share: remaining, account: x}\n"
				  "    - {id: b, type: account, share: 100%, account: y}\n"
				  "    - {id: c, type: account, share: remaining, account: z}\n";
	cs_config *cfg = load_text_ok(MINIMAL_HEAD "fees: [{id: all, rate: 5%}]\n"
				      "surplus:\n  steps:\n"
				      "    - {id: a, type: account, share: remaining, account: x}\n"
				      "    - {id: b, type: account, share: 100%, account: y}\n"
				      "    - {id: c, type: capital_interest, rate: 1}\n");

	(void)state;
	assert_int_equal(cfg->steps[0].share_kind, CS_SHARE_REMAINING);
	assert_int_equal(cfg->steps[1].share_kind, CS_SHARE_FRACTION);
	assert_false(cfg->steps[2].has_cap_share);
	cs_config_free(cfg);
	assert_true(load_text_fails_with(two, strlen(two), 10, "only once"));
}

static void test_config__buffer_is_length_bounded(void **state)
{
	static const char text[] = MINIMAL_HEAD "fees: [{id: all, rate: 5%}]\nthis is not yaml: [";
	cs_config *cfg = NULL;

	(void)state;
	/* only len bytes are read: the broken tail is outside */
	assert_int_equal(cs_config_load_buffer(&cfg, "x", text, strlen(MINIMAL_HEAD) + 28, &diag), 0);
	assert_int_equal(cfg->text_len, strlen(MINIMAL_HEAD) + 28);
	assert_int_equal(cfg->text[cfg->text_len], '\0');
	cs_config_free(cfg);
}

/* `# expect: LINE:COL substring` or `# expect: LINE:` lines at the top of
 * a fixture; returns how many were checked. */
static int check_fixture(const char *path)
{
	char text[8192], *line, *save = NULL;
	cs_config *cfg = (cs_config *)1;
	size_t n, i;
	int checked = 0, ok = 1;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if (cs_config_load_file(&cfg, path, &diag) == 0) {
		cs_config_free(cfg);
		fail_msg("%s loads, but must fail", path);
	}
	assert_null(cfg);
	assert_true(diag.n_errors > 0 && diag.n_errors <= CS_CONFIG_ERRORS_MAX);
	for (line = strtok_r(text, "\n", &save); line && strncmp(line, "# expect: ", 10) == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		unsigned want_line = 0, want_col = 0;
		const char *want_msg = "";
		char *p = line + 10, *end;
		int found = 0;

		want_line = (unsigned)strtoul(p, &end, 10);
		assert_true(end != p && *end == ':');
		p = end + 1;
		if (*p >= '0' && *p <= '9') {
			want_col = (unsigned)strtoul(p, &end, 10);
			p = end;
		}
		while (*p == ' ')
			p++;
		want_msg = p;
		for (i = 0; i < diag.n_errors; i++) {
			const cs_config_error *e = &diag.errors[i];

			if (e->line == want_line && (want_col == 0 || e->col == want_col) &&
			    strstr(e->message, want_msg) != NULL)
				found = 1;
		}
		if (!found) {
			fprintf(stderr, "%s: no error at %u:%u containing '%s'; got:\n", path, want_line,
				want_col, want_msg);
			print_diag(path);
			ok = 0;
		}
		checked++;
	}
	if (checked == 0)
		fprintf(stderr, "%s: no '# expect: LINE:COL message' first line\n", path);
	return ok ? checked : 0;
}

static void test_config__every_bad_fixture_fails(void **state)
{
	char dir_path[4096], path[8192];
	struct dirent *de;
	DIR *dir;
	int files = 0, failed = 0;

	(void)state;
	repo_path(dir_path, sizeof(dir_path), "tests/config/bad");
	dir = opendir(dir_path);
	assert_non_null(dir);
	while ((de = readdir(dir)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len < 6 || strcmp(de->d_name + len - 5, ".yaml") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir_path, de->d_name);
		files++;
		if (check_fixture(path) == 0)
			failed++;
	}
	closedir(dir);
	assert_true(files >= 30);
	assert_int_equal(failed, 0);
}

static void test_config__multiple_errors_all_reported(void **state)
{
	static const char text[] = "version: 3\n"         /* 1 */
				   "cooperative: \"\"\n"  /* 2 */
				   "currency: EUR\n"      /* 3 */
				   "currencies: {EUR: 2}\n"
				   "rounding: up\n"
				   "fees:\n"
				   "  - id: a\n"          /* 7 */
				   "    rate: 5 %\n"      /* 8 */
				   "    colour: red\n"    /* 9 */
				   "  - id: a\n"          /* 10 */
				   "    rate: 5%\n";
	size_t i;

	(void)state;
	assert_true(load_text_fails_with(text, strlen(text), 1, "version"));
	assert_int_equal(diag.n_errors, 5);
	assert_false(diag.truncated);
	/* in file order */
	for (i = 1; i < diag.n_errors; i++)
		assert_true(diag.errors[i - 1].line < diag.errors[i].line ||
			    (diag.errors[i - 1].line == diag.errors[i].line &&
			     diag.errors[i - 1].col <= diag.errors[i].col));
	assert_int_equal(diag.errors[1].line, 2);
	assert_int_equal(diag.errors[2].line, 8);
	assert_int_equal(diag.errors[2].col, 11);
	assert_int_equal(diag.errors[3].line, 9);
	assert_int_equal(diag.errors[3].col, 5);
	assert_int_equal(diag.errors[4].line, 10);
	assert_non_null(strstr(diag.errors[4].message, "duplicate rule id"));
}

static void test_config__errors_truncated(void **state)
{
	char *text = malloc(64 * 1024);
	size_t len, i;

	(void)state;
	assert_non_null(text);
	len = (size_t)snprintf(text, 64 * 1024, "%s", MINIMAL_HEAD "fees: [{id: all, rate: 5%}]\n");
	for (i = 0; i < 300; i++)
		len += (size_t)snprintf(text + len, 64 * 1024 - len, "unknown%zu: 1\n", i);
	assert_true(load_text_fails_with(text, len, 6, "unknown key 'unknown0'"));
	assert_int_equal(diag.n_errors, CS_CONFIG_ERRORS_MAX);
	assert_true(diag.truncated);
	assert_int_equal(diag.errors[CS_CONFIG_ERRORS_MAX - 1].line, 6 + CS_CONFIG_ERRORS_MAX - 1);
	free(text);
}

static void test_config__deep_nesting_rejected(void **state)
{
	size_t n = 100000, i;
	char *text = malloc(n + 16);
	clock_t t0 = clock();

	(void)state;
	assert_non_null(text);
	memcpy(text, "a: ", 3);
	for (i = 0; i < n; i++)
		text[3 + i] = '[';
	assert_true(load_text_fails_with(text, n + 3, 1, "nesting is deeper than"));
	free(text);
	/* block nesting too */
	text = malloc(64 * 1024);
	assert_non_null(text);
	for (i = 0, n = 0; i < 40; i++)
		n += (size_t)snprintf(text + n, 64 * 1024 - n, "%*sk%zu:\n", (int)i, "", i);
	assert_true(load_text_fails_with(text, n, 33, "nesting is deeper than 32"));
	free(text);
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0);
}

static void test_config__size_limit(void **state)
{
	char path[] = "/tmp/cs_test_config_big_XXXXXX";
	size_t len = (size_t)CS_CONFIG_BYTES_MAX + 1;
	char *text = malloc(len);
	cs_config *cfg = (cs_config *)1;
	int fd;

	(void)state;
	assert_non_null(text);
	memset(text, '#', len);
	assert_true(load_text_fails_with(text, len, 0, "more than the limit"));
	assert_int_equal(diag.errors[0].line, 0);
	free(text);

	/* a 100 MB file is refused before it is read */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 100 * 1024 * 1024), 0);
	close(fd);
	assert_int_equal(cs_config_load_file(&cfg, path, &diag), -1);
	assert_null(cfg);
	assert_int_equal(diag.n_errors, 1);
	assert_int_equal(diag.errors[0].line, 0);
	assert_non_null(strstr(diag.errors[0].message, "104857600 bytes"));
	unlink(path);
}

static void test_config__unreadable_file(void **state)
{
	cs_config *cfg = (cs_config *)1;

	(void)state;
	assert_int_equal(cs_config_load_file(&cfg, "/nonexistent/coopsettle.yaml", &diag), -1);
	assert_null(cfg);
	assert_int_equal(diag.n_errors, 1);
	assert_int_equal(diag.errors[0].line, 0);
	assert_non_null(strstr(diag.errors[0].message, "cannot open"));
}

static void test_config__count_limits(void **state)
{
	size_t cap = 200 * 1024, len, i;
	char *text = malloc(cap);

	(void)state;
	assert_non_null(text);
	len = (size_t)snprintf(text, cap, "%s", MINIMAL_HEAD "fees:\n");
	for (i = 0; i <= CS_RULES_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len, "  - {id: r%zu, rate: 1%%}\n", i);
	assert_true(load_text_fails_with(text, len, 6 + CS_RULES_MAX, "more than 1000 fee rules"));

	len = (size_t)snprintf(text, cap, "%s", MINIMAL_HEAD "fees:\n  - id: t\n    tiers:\n");
	for (i = 1; i <= CS_TIERS_MAX + 1; i++)
		len += (size_t)snprintf(text + len, cap - len, "      - {up_to: \"%zu\", rate: 1%%}\n", i);
	len += (size_t)snprintf(text + len, cap - len, "      - {rate: 1%%}\n");
	assert_true(load_text_fails_with(text, len, 0, "more than 64 tiers"));

	len = (size_t)snprintf(text, cap, "version: 1\ncooperative: x\ncurrency: AAA\ncurrencies:\n");
	for (i = 0; i <= CS_CURRENCIES_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len, "  A%c%c: 2\n", (char)('A' + i / 26),
					(char)('A' + i % 26));
	len += (size_t)snprintf(text + len, cap - len, "fees: [{id: a, rate: 1%%}]\n");
	assert_true(load_text_fails_with(text, len, 0, "more than 64 currencies"));

	len = (size_t)snprintf(text, cap, "%s", MINIMAL_HEAD "fees: [{id: a, rate: 1%}]\nsurplus:\n  steps:\n");
	for (i = 0; i <= CS_STEPS_MAX; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"    - {id: s%zu, type: account, share: 0, account: x}\n", i);
	assert_true(load_text_fails_with(text, len, 0, "more than 64 surplus steps"));
	free(text);
}

static void test_config__diag_print_format(void **state)
{
	/* the error column counts characters: the caret must sit under 'x'
	 * after the tab and the two-byte 'ö' */
	static const char text[] = MINIMAL_HEAD "fees: [{id: all, rate: 5%}]\n"
				   "source: {members: \"\xc3\xb6\",\tx: 1}\n";
	char *out = NULL;
	size_t out_len = 0;
	FILE *f;

	(void)state;
	assert_true(load_text_fails_with(text, strlen(text), 6, "unknown key 'x'"));
	assert_int_equal(diag.errors[0].col, 24);
	f = open_memstream(&out, &out_len);
	assert_non_null(f);
	cs_config_diag_print(f, &diag, "c.yaml", text, strlen(text));
	fclose(f);
	assert_non_null(strstr(out, "c.yaml:6:24: unknown key 'x' in 'source'"));
	assert_non_null(strstr(out, "\nsource: {members: \"\xc3\xb6\",\tx: 1}\n"
				    "                      \t^\n"));
	free(out);

	diag.truncated = 1;
	f = open_memstream(&out, &out_len);
	assert_non_null(f);
	cs_config_diag_print(f, &diag, "c.yaml", NULL, 0);
	fclose(f);
	assert_string_equal(out, "c.yaml:6:24: unknown key 'x' in 'source' (valid keys: "
				 "transactions, members, costs, capital, member_details)\n"
				 "c.yaml: more errors were omitted (only the first 50 are shown)\n");
	free(out);
}

static void test_config__class_name(void **state)
{
	(void)state;
	assert_string_equal(cs_class_name(CS_CLASS_PRODUCER), "producer");
	assert_string_equal(cs_class_name(CS_CLASS_CONSUMER), "consumer");
	cs_config_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config__marketplace_v1_loads),
		cmocka_unit_test(test_config__example_loads),
		cmocka_unit_test(test_config__us_coop_and_fund_load),
		cmocka_unit_test(test_config__sha256_of_raw_bytes),
		cmocka_unit_test(test_config__minimal_defaults),
		cmocka_unit_test(test_config__spec_example),
		cmocka_unit_test(test_config__relation_names),
		cmocka_unit_test(test_config__money_in_minor_units),
		cmocka_unit_test(test_config__remaining_anywhere_once),
		cmocka_unit_test(test_config__buffer_is_length_bounded),
		cmocka_unit_test(test_config__every_bad_fixture_fails),
		cmocka_unit_test(test_config__multiple_errors_all_reported),
		cmocka_unit_test(test_config__errors_truncated),
		cmocka_unit_test(test_config__deep_nesting_rejected),
		cmocka_unit_test(test_config__size_limit),
		cmocka_unit_test(test_config__unreadable_file),
		cmocka_unit_test(test_config__count_limits),
		cmocka_unit_test(test_config__diag_print_format),
		cmocka_unit_test(test_config__class_name),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
