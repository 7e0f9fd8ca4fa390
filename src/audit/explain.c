/*
 * explain.c -- step-by-step explanations of fees and waterfall shares (see
 * explain.h). Every figure is checked against the core's own result.
 */
#include "coopsettle/explain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/alloc.h"
#include "coopsettle/amount.h"
#include "coopsettle/error.h"
#include "coopsettle/num.h"
#include "coopsettle/util.h"

/* Decimals shown of a fraction whose decimal expansion does not end. */
#define DECIMALS_SHOWN 6
/* Longest exact decimal expansion written out in full. */
#define DECIMALS_EXACT_MAX 30

void cs_explain_q(char *buf, size_t size, const mpq_t q)
{
	mpz_t d, f;
	unsigned long twos, fives, k;
	char dec[2 * DECIMALS_EXACT_MAX + 80];
	int terminates;

	if (mpz_cmp_ui(mpq_denref(q), 1) == 0) {
		gmp_snprintf(buf, size, "%Zd", mpq_numref(q));
		return;
	}
	mpz_init_set(d, mpq_denref(q));
	mpz_init_set_ui(f, 2);
	twos = mpz_remove(d, d, f);
	mpz_set_ui(f, 5);
	fives = mpz_remove(d, d, f);
	k = twos > fives ? twos : fives;
	terminates = mpz_cmp_ui(d, 1) == 0 && k <= DECIMALS_EXACT_MAX;
	cs_q_to_decimal(dec, sizeof(dec), q, terminates ? (unsigned)k : DECIMALS_SHOWN);
	gmp_snprintf(buf, size, "%Qd = %s", q, dec);
	mpz_clears(d, f, NULL);
}

/* A rate as a percentage: "7.5%", or "1/3 (33.333333...%)". */
static void rate_text(char *buf, size_t size, const mpq_t rate)
{
	mpq_t p;
	char t[120];

	mpq_init(p);
	mpq_set_ui(p, 100, 1);
	mpq_mul(p, p, rate);
	cs_explain_q(t, sizeof(t), p);
	if (mpz_cmp_ui(mpq_denref(p), 1) == 0)
		snprintf(buf, size, "%s%%", t);
	else if (!strstr(t, "..."))
		snprintf(buf, size, "%s%%", strstr(t, "= ") + 2);
	else
		gmp_snprintf(buf, size, "%Qd (%s%%)", rate, strstr(t, "= ") + 2);
	mpq_clear(p);
}

/* An amount in minor units of currency c: "1234 (12.34 EUR)". */
static void put_minor(cs_buf *out, cs_i128 v, const cs_currency *c)
{
	char num[48], major[CS_AMOUNT_TEXT_BYTES];

	cs_i128_format(num, v);
	cs_buf_printf(out, "%s (%s %s)", num, cs_amount_format(major, v, c->exponent), c->code);
}

static void put_minor_z(cs_buf *out, const mpz_t v, const cs_currency *c)
{
	put_minor(out, cs_i128_from_mpz(v), c);
}

/* A config money value in currency c: "0.50 EUR". */
static void put_money(cs_buf *out, const cs_money *m, size_t cur, const cs_currency *c)
{
	char major[CS_AMOUNT_TEXT_BYTES];

	cs_buf_printf(out, "%s %s",
		      cs_amount_format(major, cs_i128_from_mpz(m->minor[cur]), c->exponent), c->code);
}

static void put_q(cs_buf *out, const mpq_t q)
{
	char t[200];

	cs_explain_q(t, sizeof(t), q);
	cs_buf_puts(out, t);
}

/* ---- largest remainder, one part explained ---- */

/*
 * Explains part k of LR(T, parts[0..n)) as computed (spec section 2): its
 * exact quota, floor, rank by fractional part (ties by key), and whether it
 * received one of the units left after the floors.
 */
static void lr_explain(cs_buf *out, const char *indent, const char *label,
		       const cs_alloc_part *parts, size_t n, size_t k, const mpz_t T)
{
	mpq_t W, q;
	mpz_t fl, left;
	size_t i;

	mpq_inits(W, q, NULL);
	mpz_inits(fl, left, NULL);
	for (i = 0; i < n; i++)
		mpq_add(W, W, parts[i].weight);
	mpz_set(left, T);
	for (i = 0; i < n; i++) {
		mpz_sub(left, left, parts[i].part);
		if (parts[i].got_extra)
			mpz_add_ui(left, left, 1);
	}
	mpq_set_z(q, T);
	mpq_mul(q, q, parts[k].weight);
	mpq_div(q, q, W);
	mpz_fdiv_q(fl, mpq_numref(q), mpq_denref(q));
	{
		char t[400];

		gmp_snprintf(t, sizeof(t), "%s%s: quota T x w / W = %Zd x %Qd / %Qd = ", indent, label,
			     T, parts[k].weight, W);
		cs_buf_puts(out, t);
	}
	put_q(out, q);
	{
		char t[64], l[64];

		gmp_snprintf(t, sizeof(t), "%Zd", fl);
		gmp_snprintf(l, sizeof(l), "%Zd", left);
		cs_buf_printf(out, "\n%s  floor %s; %s unit%s left after the floors of all %zu part%s; "
				   "rank %zu of %zu by fractional part (ties: smaller key first)",
			      indent, t, l, mpz_cmp_ui(left, 1) == 0 ? "" : "s", n, n == 1 ? "" : "s",
			      parts[k].rank + 1, n);
	}
	if (parts[k].got_extra)
		cs_buf_puts(out, ": gets one extra unit");
	else if (mpz_sgn(left) > 0)
		cs_buf_puts(out, ": no extra unit");
	else
		cs_buf_puts(out, ": the floors already make the total");
	{
		char t[64];

		gmp_snprintf(t, sizeof(t), "%Zd", parts[k].part);
		cs_buf_printf(out, " -> %s\n", t);
	}
	mpq_clears(W, q, NULL);
	mpz_clears(fl, left, NULL);
}

/* ---- fees ---- */

/* Whether rule matches in; when it does not, why (into why). */
static int rule_explain(const cs_config *cfg, const cs_rule *rule, const cs_fee_input *in,
			const cs_txn_row *row, char *why, size_t size)
{
	const cs_currency *c = &cfg->currencies[in->currency];
	char a[CS_AMOUNT_TEXT_BYTES], b[CS_AMOUNT_TEXT_BYTES];
	cs_i128 mag = row->amount_minor < 0 ? -(cs_i128)row->amount_minor : row->amount_minor;
	size_t i;

	if (!rule->currency_allowed[in->currency]) {
		snprintf(why, size, "its currencies do not include %s", c->code);
		return 0;
	}
	if (rule->has_categories) {
		int found = 0;

		for (i = 0; in->category && i < rule->n_categories; i++)
			if (strlen(rule->categories[i]) == in->category_len &&
			    memcmp(rule->categories[i], in->category, in->category_len) == 0)
				found = 1;
		if (!found) {
			if (in->category)
				snprintf(why, size, "category '%.*s' is not in its list",
					 (int)(in->category_len > 60 ? 60 : in->category_len),
					 in->category);
			else
				snprintf(why, size, "the category is NULL and it lists categories");
			return 0;
		}
	}
	if (rule->producer_member != CS_TRI_ANY &&
	    (rule->producer_member == CS_TRI_TRUE) != (in->producer_member != 0)) {
		snprintf(why, size, "it wants producer_member %s; producer %lld is %sa member of class "
			 "producer",
			 rule->producer_member == CS_TRI_TRUE ? "true" : "false",
			 (long long)row->producer_id, in->producer_member ? "" : "not ");
		return 0;
	}
	if (rule->consumer_member != CS_TRI_ANY &&
	    (rule->consumer_member == CS_TRI_TRUE) != (in->consumer_member != 0)) {
		if (row->has_consumer)
			snprintf(why, size, "it wants consumer_member %s; consumer %lld is %sa member "
				 "of class consumer",
				 rule->consumer_member == CS_TRI_TRUE ? "true" : "false",
				 (long long)row->consumer_id, in->consumer_member ? "" : "not ");
		else
			snprintf(why, size, "it wants consumer_member true; the buyer is a guest");
		return 0;
	}
	if ((rule->has_from && in->day < rule->from_day) ||
	    (rule->has_until && in->day >= rule->until_day)) {
		char d[16], f[16], u[16];

		cs_day_text(d, sizeof(d), in->day);
		cs_day_text(f, sizeof(f), rule->has_from ? rule->from_day : 0);
		cs_day_text(u, sizeof(u), rule->has_until ? rule->until_day : 0);
		snprintf(why, size, "it applies on the local days %s%s%s%s; the transaction's local "
			 "day is %s",
			 rule->has_from ? "from " : "", rule->has_from ? f : "",
			 rule->has_until ? (rule->has_from ? " until before " : "before ") : "",
			 rule->has_until ? u : "", d);
		return 0;
	}
	cs_amount_format(a, mag, c->exponent);
	if (rule->min_amount.present &&
	    mag < cs_i128_from_mpz(rule->min_amount.minor[in->currency])) {
		snprintf(why, size, "|amount| %s %s is below its min_amount %s", a, c->code,
			 cs_amount_format(b, cs_i128_from_mpz(rule->min_amount.minor[in->currency]),
					  c->exponent));
		return 0;
	}
	if (rule->max_amount.present &&
	    mag > cs_i128_from_mpz(rule->max_amount.minor[in->currency])) {
		snprintf(why, size, "|amount| %s %s is above its max_amount %s", a, c->code,
			 cs_amount_format(b, cs_i128_from_mpz(rule->max_amount.minor[in->currency]),
					  c->exponent));
		return 0;
	}
	return 1;
}

/* The tiers of rule over |amount| a, each tier's part added to raw. */
static void tiers_explain(cs_buf *out, const cs_rule *rule, size_t cur, const mpz_t a, mpq_t raw)
{
	mpz_t lo, hi, t;
	mpq_t q;
	char r[160];
	size_t i;

	mpz_inits(lo, hi, t, NULL);
	mpq_init(q);
	for (i = 0; i < rule->n_tiers; i++) {
		const cs_tier *tier = &rule->tiers[i];

		if (tier->up_to.present && mpz_cmp(a, tier->up_to.minor[cur]) < 0)
			mpz_set(hi, a);
		else if (tier->up_to.present)
			mpz_set(hi, tier->up_to.minor[cur]);
		else
			mpz_set(hi, a);
		mpz_sub(t, hi, lo);
		rate_text(r, sizeof(r), tier->rate);
		{
			char los[64], ups[64];

			gmp_snprintf(los, sizeof(los), "%Zd", lo);
			if (tier->up_to.present)
				gmp_snprintf(ups, sizeof(ups), "%Zd", tier->up_to.minor[cur]);
			cs_buf_printf(out, "    tier %zu (above %s%s%s), rate %s: ", i + 1, los,
				      tier->up_to.present ? ", up to " : "",
				      tier->up_to.present ? ups : "", r);
		}
		if (mpz_sgn(t) > 0) {
			mpq_set_z(q, t);
			mpq_mul(q, q, tier->rate);
			mpq_add(raw, raw, q);
			gmp_snprintf(r, sizeof(r), "%Zd", t);
			cs_buf_printf(out, "%s of a in the tier x rate = ", r);
			put_q(out, q);
			cs_buf_putc(out, '\n');
		} else {
			cs_buf_puts(out, "a does not reach it\n");
		}
		if (!tier->up_to.present)
			break;
		mpz_set(lo, tier->up_to.minor[cur]);
	}
	mpz_clears(lo, hi, t, NULL);
	mpq_clear(q);
}

/* The terms of rule over |amount| a: its fixed part, then its rate or its
 * tiers; their sum into raw. */
static void raw_terms(cs_buf *out, const cs_rule *rule, size_t cur, const mpz_t a,
		      const cs_currency *c, mpq_t raw)
{
	mpq_t q;
	char r[160];

	mpq_init(q);
	mpq_set_ui(raw, 0, 1);
	if (rule->fixed.present) {
		mpq_set_z(raw, rule->fixed.minor[cur]);
		cs_buf_puts(out, "    fixed ");
		put_money(out, &rule->fixed, cur, c);
		cs_buf_puts(out, " = ");
		put_q(out, raw);
		cs_buf_putc(out, '\n');
	}
	if (rule->has_rate) {
		rate_text(r, sizeof(r), rule->rate);
		mpq_set_z(q, a);
		mpq_mul(q, q, rule->rate);
		mpq_add(raw, raw, q);
		cs_buf_printf(out, "    rate %s x a = ", r);
		put_q(out, q);
		cs_buf_putc(out, '\n');
	} else {
		tiers_explain(out, rule, cur, a, raw);
	}
	mpq_clear(q);
}

/* The sum raw, then held within rule's min and max, at most a and at
 * least 0. */
static void raw_bounds(cs_buf *out, const cs_rule *rule, size_t cur, const mpz_t a,
		       const cs_currency *c, mpq_t raw)
{
	mpq_t q;

	mpq_init(q);
	cs_buf_puts(out, "    sum ");
	put_q(out, raw);
	cs_buf_putc(out, '\n');
	if (rule->min.present) {
		mpq_set_z(q, rule->min.minor[cur]);
		cs_buf_puts(out, "    min ");
		put_money(out, &rule->min, cur, c);
		if (mpq_cmp(raw, q) < 0) {
			mpq_set(raw, q);
			cs_buf_puts(out, ": the sum is below it, the fee is raised to it\n");
		} else {
			cs_buf_puts(out, ": not binding\n");
		}
	}
	if (rule->max.present) {
		mpq_set_z(q, rule->max.minor[cur]);
		cs_buf_puts(out, "    max ");
		put_money(out, &rule->max, cur, c);
		if (mpq_cmp(raw, q) > 0) {
			mpq_set(raw, q);
			cs_buf_puts(out, ": the sum is above it, the fee is lowered to it\n");
		} else {
			cs_buf_puts(out, ": not binding\n");
		}
	}
	mpq_set_z(q, a);
	if (mpq_cmp(raw, q) > 0) {
		mpq_set(raw, q);
		cs_buf_puts(out, "    a fee never exceeds its amount: lowered to a\n");
	}
	if (mpq_sgn(raw) < 0) {
		mpq_set_ui(raw, 0, 1);
		cs_buf_puts(out, "    a fee is never negative: raised to 0\n");
	}
	mpq_clear(q);
}

/* The exact fee before rounding of in under rule, term by term; checked
 * against cs_fee_raw. raw is the caller's. */
static void raw_explain(cs_buf *out, cs_fee_calc *calc, const cs_rule *rule,
			const cs_fee_input *in, const cs_currency *c, mpq_t raw)
{
	size_t cur = in->currency;
	mpz_t a;
	mpq_t check;
	uint64_t mag = in->amount_minor < 0 ? (uint64_t)0 - (uint64_t)in->amount_minor
					    : (uint64_t)in->amount_minor;

	mpz_init(a);
	mpq_init(check);
	cs_i128_to_mpz(a, (cs_i128)mag);
	cs_buf_puts(out, "  exact fee before rounding, in minor units of |amount| a = ");
	put_minor_z(out, a, c);
	cs_buf_putc(out, '\n');
	raw_terms(out, rule, cur, a, c, raw);
	raw_bounds(out, rule, cur, a, c, raw);
	cs_buf_puts(out, "  exact fee = ");
	put_q(out, raw);
	cs_buf_puts(out, " minor units\n");
	cs_fee_raw(calc, rule, in, check);
	CS_ASSERT(mpq_equal(check, raw)); /* the explanation is the core's computation */
	mpz_clear(a);
	mpq_clear(check);
}

/* The fee input of row in currency cur. */
static void fee_input_of(cs_fee_input *in, const cs_txn_row *row, size_t cur, int pm, int cm,
			 int64_t day)
{
	memset(in, 0, sizeof(*in));
	in->day = day;
	in->amount_minor = row->amount_minor;
	in->currency = cur;
	in->category = row->has_category ? row->category : NULL;
	in->category_len = row->has_category ? row->category_len : 0;
	in->producer_member = pm;
	in->consumer_member = cm;
}

/* The rules in config order up to the first that matches in, each with why
 * it does not. Returns the index of the matching rule, or -1. */
static int rules_explain(cs_buf *out, const cs_config *cfg, const cs_fee_input *in,
			 const cs_txn_row *row)
{
	char why[400];
	size_t r;

	cs_buf_puts(out, "  rules, in config order:\n");
	for (r = 0; r < cfg->n_rules; r++) {
		if (rule_explain(cfg, &cfg->rules[r], in, row, why, sizeof(why))) {
			cs_buf_printf(out, "    '%s' (line %u): matches; the first that does, so it "
					   "applies\n",
				      cs_text_shown(cfg->rules[r].id), cfg->rules[r].line);
			return (int)r;
		}
		cs_buf_printf(out, "    '%s' (line %u): does not match: %s\n",
			      cs_text_shown(cfg->rules[r].id), cfg->rules[r].line, cs_text_shown(why));
	}
	return -1;
}

/* The whole fee f split between the sides by largest remainder over the
 * rule's borne_by; the shares take the sign of a negative amount (neg). */
static void split_explain(cs_buf *out, const cs_rule *rule, const mpz_t f, int neg, cs_i128 *fp,
			  cs_i128 *fc)
{
	cs_alloc_part parts[2];

	cs_alloc_parts_init(parts, 2);
	parts[0].key = 0;
	parts[1].key = 1;
	mpq_set(parts[0].weight, rule->share_producer);
	mpq_set(parts[1].weight, rule->share_consumer);
	CS_ASSERT(cs_alloc_largest_remainder(parts, 2, f) == 0);
	{
		char sp[160], sc[160];

		rate_text(sp, sizeof(sp), rule->share_producer);
		rate_text(sc, sizeof(sc), rule->share_consumer);
		cs_buf_printf(out, "  split by largest remainder over borne_by (producer %s, consumer "
				   "%s; the producer is first on a tie):\n",
			      sp, sc);
	}
	lr_explain(out, "    ", "producer", parts, 2, 0, f);
	lr_explain(out, "    ", "consumer", parts, 2, 1, f);
	*fp = cs_i128_from_mpz(parts[0].part);
	*fc = cs_i128_from_mpz(parts[1].part);
	if (neg) {
		*fp = -*fp;
		*fc = -*fc;
		cs_buf_puts(out, "  the amount is negative (a refund): the fee and its shares take "
				 "its sign\n");
	}
	cs_alloc_parts_clear(parts, 2);
}

/* Version 2 fee funds (spec 10.3, 10.7.9): side fee f split by largest
 * remainder over the rule's funds in config order, then income; the parts
 * into parts[], the income part returned. */
static cs_i128 funds_explain(cs_buf *out, const cs_rule *rule, const char *side, cs_i128 f,
			     cs_i128 *parts)
{
	cs_alloc_part lr[CS_FUNDS_MAX + 1];
	size_t n = rule->n_funds, k;
	char label[CS_NAME_BYTES_MAX + 16];
	cs_i128 income;
	mpz_t total;

	cs_alloc_parts_init(lr, n + 1);
	mpq_set_ui(lr[n].weight, 1, 1);
	for (k = 0; k < n; k++) {
		lr[k].key = (int64_t)k;
		mpq_set(lr[k].weight, rule->funds[k].share);
		mpq_sub(lr[n].weight, lr[n].weight, rule->funds[k].share);
	}
	lr[n].key = (int64_t)n;
	mpz_init(total);
	cs_i128_to_mpz(total, f);
	CS_ASSERT(cs_alloc_largest_remainder(lr, n + 1, total) == 0);
	cs_buf_printf(out, "  the %s's fee split by largest remainder over the funds, then the fee "
			   "income with the rest (keys: config order, income last):\n",
		      side);
	for (k = 0; k <= n; k++) {
		snprintf(label, sizeof(label), "%s", k < n ? rule->funds[k].account : "fee income");
		lr_explain(out, "    ", label, lr, n + 1, k, total);
		if (k < n)
			parts[k] = cs_i128_from_mpz(lr[k].part);
	}
	income = cs_i128_from_mpz(lr[n].part);
	mpz_clear(total);
	cs_alloc_parts_clear(lr, n + 1);
	return income;
}

/* The fee borne by each side and the ledger lines of amount g with it (spec
 * section 5; with fee funds, 10.3: the income lines carry what the funds
 * leave and the fund lines follow). */
/* VAT on side fee f (spec 10.8): its VAT t, what the side pays and its
 * net fee, explained. */
static void vat_explain(cs_buf *out, const cs_rule *rule, const char *side, cs_i128 f, cs_i128 t,
			const cs_currency *c)
{
	char r[160];

	rate_text(r, sizeof(r), rule->vat_eff->rate);
	if (rule->vat_eff->included)
		cs_buf_printf(out, "  VAT %s included in the %s's fee: t = round(|f| x %s / (1 + %s)) "
				   "= ",
			      r, side, r, r);
	else
		cs_buf_printf(out, "  VAT %s on top of the %s's fee: t = round(|f| x %s) = ", r, side,
			      r);
	put_minor(out, t, c);
	cs_buf_puts(out, "; it pays (gross) ");
	put_minor(out, cs_fee_paid(rule, f, t), c);
	cs_buf_puts(out, ", net fee ");
	put_minor(out, cs_fee_net(rule, f, t), c);
	cs_buf_printf(out, "; the VAT to %s\n", rule->vat_account);
}

static void fee_lines_explain(cs_buf *out, const cs_config *cfg, const cs_rule *rule,
			      const cs_currency *c, cs_i128 g, const cs_fee_result *fee)
{
	cs_i128 fp = fee->fee_producer_minor, fc = fee->fee_consumer_minor;
	cs_i128 tp = fee->vat_producer_minor, tc = fee->vat_consumer_minor;
	cs_i128 gp = cs_fee_paid(rule, fp, tp), gc = cs_fee_paid(rule, fc, tc);
	cs_i128 pp[CS_FUNDS_MAX], pc[CS_FUNDS_MAX], ip = gp - tp, ic = gc - tc;
	struct {
		const char *account;
		cs_i128 amount;
		const char *why;
	} lines[CS_SETTLE_LINES_MAX];
	size_t r, n = 4, k;

	cs_buf_puts(out, "  fee borne by the producer f_p = ");
	put_minor(out, fp, c);
	cs_buf_puts(out, ", by the consumer f_c = ");
	put_minor(out, fc, c);
	cs_buf_putc(out, '\n');
	if (rule->vat_on) {
		vat_explain(out, rule, "producer", fp, tp, c);
		vat_explain(out, rule, "consumer", fc, tc, c);
	}
	if (rule->n_funds) {
		ip = funds_explain(out, rule, "producer", gp - tp, pp);
		ic = funds_explain(out, rule, "consumer", gc - tc, pc);
	}
	lines[0].account = cfg->accounts[CS_ACCOUNT_CLEARING];
	lines[0].amount = g + gc;
	lines[0].why = rule->vat_on ? "g + what the consumer pays" : "g + f_c";
	lines[1].account = cfg->accounts[CS_ACCOUNT_PRODUCER_PAYABLE];
	lines[1].amount = -(g - gp);
	lines[1].why = rule->vat_on ? "-(g - what the producer pays)" : "-(g - f_p)";
	lines[2].account = cfg->accounts[CS_ACCOUNT_FEE_INCOME];
	lines[2].amount = -ip;
	lines[2].why = rule->n_funds ? "the producer's net fee, less its funds"
		       : rule->vat_on ? "the producer's net fee" : "-f_p, the producer's";
	lines[3].account = cfg->accounts[CS_ACCOUNT_FEE_INCOME];
	lines[3].amount = -ic;
	lines[3].why = rule->n_funds ? "the consumer's net fee, less its funds"
		       : rule->vat_on ? "the consumer's net fee" : "-f_c, the consumer's";
	if (rule->vat_on) {
		lines[n].account = rule->vat_account;
		lines[n].amount = -tp;
		lines[n++].why = "the producer's VAT";
		lines[n].account = rule->vat_account;
		lines[n].amount = -tc;
		lines[n++].why = "the consumer's VAT";
	}
	for (k = 0; k < rule->n_funds; k++, n++) {
		lines[n].account = rule->funds[k].account;
		lines[n].amount = -pp[k];
		lines[n].why = "the producer's fund part";
	}
	for (k = 0; k < rule->n_funds; k++, n++) {
		lines[n].account = rule->funds[k].account;
		lines[n].amount = -pc[k];
		lines[n].why = "the consumer's fund part";
	}
	cs_buf_puts(out, "  ledger lines (spec section 5):\n");
	for (r = 0; r < n; r++) {
		cs_buf_printf(out, "    %zu %-32s ", r + 1, lines[r].account);
		put_minor(out, lines[r].amount, c);
		cs_buf_printf(out, "  = %s%s\n", lines[r].why,
			      lines[r].amount ? "" : " (0: not written)");
	}
}

void cs_explain_fee(cs_buf *out, cs_fee_calc *calc, const cs_txn_row *row, size_t cur, int pm,
		    int cm, int64_t day, cs_fee_result *fee)
{
	const cs_config *cfg = calc->cfg;
	const cs_currency *c = &cfg->currencies[cur];
	cs_fee_input in;
	const cs_rule *rule;
	mpq_t raw;
	mpz_t f;
	int matched, neg = row->amount_minor < 0;
	cs_i128 fp, fc;

	fee_input_of(&in, row, cur, pm, cm, day);
	cs_fee_compute(calc, &in, fee);
	matched = rules_explain(out, cfg, &in, row);
	CS_ASSERT(matched == fee->rule_index); /* the explanation is the core's matching */
	if (matched < 0) {
		cs_buf_puts(out, "  no rule matches: the transaction is invalid (spec section 4)\n");
		return;
	}
	if (row->amount_minor == 0) {
		cs_buf_puts(out, "  the amount is 0: the fee is 0 and no ledger line is written\n");
		return;
	}
	rule = &cfg->rules[matched];
	mpq_init(raw);
	mpz_init(f);
	raw_explain(out, calc, rule, &in, c, raw);
	cs_round(f, raw, cfg->rounding);
	cs_buf_printf(out, "  rounded %s to whole minor units: fee ",
		      cs_rounding_name(cfg->rounding));
	put_minor_z(out, f, c);
	cs_buf_puts(out, mpz_cmp_ui(mpq_denref(raw), 1) == 0 ? " (already whole)\n" : "\n");
	split_explain(out, rule, f, neg, &fp, &fc);
	/* the explanation is the core's fee */
	CS_ASSERT(fp == fee->fee_producer_minor && fc == fee->fee_consumer_minor);
	fee_lines_explain(out, cfg, rule, c, row->amount_minor, fee);
	mpq_clear(raw);
	mpz_clear(f);
}

/* ---- the waterfall ---- */

/* amt = min(A, round(X * S)) for a fraction share, A for `remaining`
 * (surplus.c), explained. */
static void pool_explain(cs_buf *out, const cs_step *st, const mpz_t S, const mpz_t A,
			 cs_rounding mode, mpz_t amt, const cs_currency *c, const char *s_name)
{
	mpq_t t;
	char r[160];

	if (st->share_kind == CS_SHARE_REMAINING) {
		mpz_set(amt, A);
		cs_buf_puts(out, "    share: remaining, all that is available: ");
		put_minor_z(out, amt, c);
		cs_buf_putc(out, '\n');
		return;
	}
	mpq_init(t);
	mpq_set_z(t, S);
	mpq_mul(t, t, st->share);
	cs_round(amt, t, mode);
	rate_text(r, sizeof(r), st->share);
	cs_buf_printf(out, "    share %s of %s = ", r, s_name);
	put_q(out, t);
	cs_buf_printf(out, ", rounded %s: ", cs_rounding_name(mode));
	put_minor_z(out, amt, c);
	if (mpz_cmp(amt, A) > 0) {
		mpz_set(amt, A);
		cs_buf_puts(out, "; more than is available, so ");
		put_minor_z(out, amt, c);
	}
	cs_buf_putc(out, '\n');
	mpq_clear(t);
}

/* How many members the capital interest step pays: those with capital and
 * a day of membership in the window. */
static size_t capital_count(const cs_surplus_input *in, const cs_step *st)
{
	size_t i, n = 0;
	mpz_t w;

	mpz_init(w);
	for (i = 0; i < in->n_members; i++) {
		cs_surplus_interest_weight(in, st, i, w);
		n += mpz_sgn(w) > 0;
	}
	mpz_clear(w);
	return n;
}

/* Version 2: member m's own interest from its capital over time (spec
 * 10.3, 10.7.6), or why it has none. */
static void capital_member_v2(cs_buf *out, const cs_surplus_input *in, const cs_step *st,
			      size_t m, const cs_currency *c)
{
	const cs_member *mem = &in->members[m];
	int opening = st->interest_basis == CS_INTEREST_OPENING_BALANCE;
	char r[160], day[16], wt[64];
	mpq_t q, div;
	mpz_t w;

	rate_text(r, sizeof(r), st->rate);
	mpz_init(w);
	cs_surplus_interest_weight(in, st, m, w);
	if (mpz_sgn(w) <= 0) {
		cs_buf_printf(out, "    member %lld has %s: no interest\n", (long long)mem->id,
			      opening ? "no capital at the window's start while a member on its "
					"first day"
				      : "no capital on a day of membership in the window");
		mpz_clear(w);
		return;
	}
	mpq_inits(q, div, NULL);
	mpq_set_z(q, w);
	mpq_mul(q, q, st->rate);
	mpq_set_si(div, opening ? in->year_days : 365, 1);
	mpq_div(q, q, div);
	if (opening) {
		cs_day_text(day, sizeof(day), in->first_day - 1);
		cs_buf_printf(out, "    member %lld: capital at the end of %s C = ",
			      (long long)mem->id, day);
		put_minor(out, in->capital_open_minor[m], c);
		cs_buf_printf(out, ", d = %lld days in the window, Y = %lld days in the twelve "
				   "months from its first day; i = %s x C x d / Y = ",
			      (long long)in->window_days, (long long)in->year_days, r);
	} else {
		mpz_get_str(wt, 10, w);
		cs_buf_printf(out, "    member %lld: its capital at the end of the day before each "
				   "day of membership, summed over those days, W = %s (minor units "
				   "x days); i = %s x W / 365 = ",
			      (long long)mem->id, wt, r);
	}
	put_q(out, q);
	cs_buf_putc(out, '\n');
	mpq_clears(q, div, NULL);
	mpz_clear(w);
}

/* Member m's own interest i = rate x C x d / 365, or why it has none. */
static void capital_member_explain(cs_buf *out, const cs_surplus_input *in, const cs_step *st,
				   size_t m, const cs_currency *c)
{
	const cs_member *mem = &in->members[m];
	int64_t d = cs_membership_days(in, mem);
	mpq_t q, lim;
	char r[160];

	if (in->class_fees_minor) { /* version 2 */
		capital_member_v2(out, in, st, m, c);
		return;
	}
	rate_text(r, sizeof(r), st->rate);
	if (mem->capital_minor <= 0) {
		cs_buf_printf(out, "    member %lld has no paid-in capital: no interest\n",
			      (long long)mem->id);
		return;
	}
	if (d <= 0) {
		cs_buf_printf(out, "    member %lld has no day of membership in the window: no "
				   "interest\n",
			      (long long)mem->id);
		return;
	}
	mpq_inits(q, lim, NULL);
	mpq_set_si(q, mem->capital_minor, 1);
	mpq_mul(q, q, st->rate);
	mpq_set_si(lim, d, 365);
	mpq_mul(q, q, lim);
	cs_buf_printf(out, "    member %lld: capital ", (long long)mem->id);
	put_minor(out, mem->capital_minor, c);
	cs_buf_printf(out, ", %lld day%s of membership; i = %s x C x d / 365 = ", (long long)d,
		      d == 1 ? "" : "s", r);
	put_q(out, q);
	cs_buf_putc(out, '\n');
	mpq_clears(q, lim, NULL);
}

/* The parts of the step, one per member it pays, weighted C x d (keys:
 * member ids); the sum of the weights into sum_w. Returns the index of
 * member m's part, or (size_t)-1 when it has none. */
static size_t capital_parts(const cs_surplus_input *in, const cs_step *st, size_t m,
			    cs_alloc_part *parts, mpz_t sum_w)
{
	size_t i, k = 0, mine = (size_t)-1;
	mpz_t w;

	mpz_init(w);
	for (i = 0; i < in->n_members; i++) {
		const cs_member *x = &in->members[i];

		cs_surplus_interest_weight(in, st, i, w);
		if (mpz_sgn(w) <= 0)
			continue;
		parts[k].key = x->id;
		mpq_set_z(parts[k].weight, w);
		mpz_add(sum_w, sum_w, w);
		if (i == m)
			mine = k;
		k++;
	}
	mpz_clear(w);
	return mine;
}

/* The step amount into amt: the floor of the least of the n members' sum of
 * interest (weights sum_w), what is available (A) and the cap share of S. */
static void capital_amount_explain(cs_buf *out, const cs_surplus_input *in, const cs_step *st,
				   const mpz_t sum_w, size_t n, const mpz_t S, const mpz_t A,
				   mpz_t amt, const cs_currency *c)
{
	mpq_t q, lim;
	char r[160];

	mpq_inits(q, lim, NULL);
	mpq_set_z(q, sum_w);
	mpq_mul(q, q, st->rate);
	mpq_set_si(lim, st->interest_basis == CS_INTEREST_OPENING_BALANCE ? in->year_days : 365, 1);
	mpq_div(q, q, lim);
	cs_buf_printf(out, "    %zu member%s with capital: sum of i = ", n, n == 1 ? "" : "s");
	put_q(out, q);
	cs_buf_puts(out, "; available A = ");
	put_minor_z(out, A, c);
	mpq_set_z(lim, A);
	if (mpq_cmp(lim, q) < 0)
		mpq_set(q, lim);
	if (st->has_cap_share) {
		rate_text(r, sizeof(r), st->cap_share);
		mpq_set_z(lim, S);
		mpq_mul(lim, lim, st->cap_share);
		cs_buf_printf(out, "; cap_share %s x %s = ", r, in->class_fees_minor ? "S'" : "S");
		put_q(out, lim);
		if (mpq_cmp(lim, q) < 0)
			mpq_set(q, lim);
	}
	mpz_fdiv_q(amt, mpq_numref(q), mpq_denref(q));
	cs_buf_puts(out, "\n    step amount = floor of the least of these = ");
	put_minor_z(out, amt, c);
	cs_buf_putc(out, '\n');
	mpq_clears(q, lim, NULL);
}

/* The tax withheld from member's interest I (spec 10.3, 10.7.10). */
static void withholding_explain(cs_buf *out, const cs_step *st, const mpz_t I, const cs_currency *c,
				cs_surplus_alloc *mine)
{
	char r[160];
	mpz_t w;
	cs_i128 iv = cs_i128_from_mpz(I), wv;

	mpz_init(w);
	mpz_mul(w, I, mpq_numref(st->withholding));
	mpz_fdiv_q(w, w, mpq_denref(st->withholding));
	wv = cs_i128_from_mpz(w);
	rate_text(r, sizeof(r), st->withholding);
	cs_buf_printf(out, "    withheld w = floor(I x %s) = ", r);
	put_minor(out, wv, c);
	cs_buf_puts(out, " (to the withholding account); net I - w = ");
	put_minor(out, iv - wv, c);
	cs_buf_putc(out, '\n');
	mine->withheld_minor += wv;
	mpz_clear(w);
}

/* A capital interest step: member m's interest, the step amount, and the
 * member's part of it by largest remainder (added to *member_ci). */
static void capital_explain(cs_buf *out, const cs_surplus_input *in, const cs_step *st,
			    const mpz_t S, const mpz_t A, mpz_t amt, size_t m, size_t cur,
			    cs_surplus_alloc *mine_alloc)
{
	const cs_config *cfg = in->cfg;
	const cs_currency *c = &cfg->currencies[cur];
	const cs_member *mem = &in->members[m];
	size_t n, mine;
	cs_alloc_part *parts;
	mpz_t sum_w;

	mpz_set_ui(amt, 0);
	if (cur != cfg->base_currency) {
		cs_buf_printf(out, "    capital interest is paid in the base currency %s only: 0\n",
			      cfg->currencies[cfg->base_currency].code);
		return;
	}
	if (st->blocked_by_loss && cs_surplus_balance(in, cfg->accounts[CS_ACCOUNT_LOSS_CARRIED],
						      cfg->base_currency) > 0) {
		cs_buf_puts(out, "    blocked_by_loss: a loss was carried into the window, so no "
				 "interest is paid (spec 10.3): the step takes 0\n");
		return;
	}
	n = capital_count(in, st);
	capital_member_explain(out, in, st, m, c);
	if (n == 0) {
		cs_buf_puts(out, "    no member has capital and days of membership: the step takes 0\n");
		return;
	}
	parts = calloc(n, sizeof(*parts));
	CS_ASSERT(parts != NULL);
	cs_alloc_parts_init(parts, n);
	mpz_init(sum_w);
	mine = capital_parts(in, st, m, parts, sum_w);
	capital_amount_explain(out, in, st, sum_w, n, S, A, amt, c);
	if (mpz_sgn(amt) > 0) {
		CS_ASSERT(cs_alloc_largest_remainder(parts, n, amt) == 0);
		if (mine != (size_t)-1) {
			cs_buf_puts(out, "    largest remainder of the step amount T by weight C x d "
					 "(proportional to i; keys: member ids):\n");
			{
				char label[48];

				snprintf(label, sizeof(label), "member %lld", (long long)mem->id);
				lr_explain(out, "      ", label, parts, n, mine, amt);
			}
			mine_alloc->capital_interest_minor += cs_i128_from_mpz(parts[mine].part);
			if (st->has_withholding)
				withholding_explain(out, st, parts[mine].part, c, mine_alloc);
		}
	}
	cs_alloc_parts_clear(parts, n);
	free(parts);
	mpz_clear(sum_w);
}

/* Patronage basis of member i in class cls and currency cur for step st
 * (version 2: its member business in that class). */
static cs_i128 basis_of(const cs_surplus_input *in, const cs_step *st, size_t i, cs_class cls,
			size_t cur)
{
	return cs_surplus_class_basis(in, st, i, cls, cur);
}

/* Whether member i is eligible in class cls of step st; why not into why. */
static int eligible(const cs_surplus_input *in, const cs_step *st, size_t i, size_t cur,
		    cs_class cls, const mpz_t min_pat, char *why, size_t size)
{
	const cs_member *x = &in->members[i];
	cs_i128 p = basis_of(in, st, i, cls, cur);
	mpz_t t;
	int ok;

	if (in->class_fees_minor) { /* version 2: a member of the class on a day */
		if (cs_class_days(in, x, cls) <= 0) {
			snprintf(why, size, "holds no day of membership as a %s in the window",
				 cs_class_name(cls));
			return 0;
		}
	} else if (x->cls != cls) {
		snprintf(why, size, "is a %s", cs_class_name(x->cls));
		return 0;
	}
	if (!in->class_fees_minor && cs_membership_days(in, x) <= 0) {
		snprintf(why, size, "has no day of membership in the window");
		return 0;
	}
	if (p <= 0) {
		snprintf(why, size, "has no positive patronage");
		return 0;
	}
	mpz_init(t);
	cs_i128_to_mpz(t, p);
	ok = mpz_cmp(t, min_pat) >= 0;
	mpz_clear(t);
	if (!ok)
		snprintf(why, size, "has patronage below min_patronage");
	return ok;
}

/* One patronage step explained for member m in currency cur. */
typedef struct patronage_ctx {
	cs_buf *out;
	const cs_surplus_input *in;
	const cs_step *st;
	size_t m, cur;
	const cs_currency *c;
	mpz_t min_pat; /* the step's min_patronage in cur; 0 when it has none */
} patronage_ctx;

/* How many members are eligible in class cls. */
static size_t eligible_count(const patronage_ctx *p, cs_class cls)
{
	char why[200];
	size_t i, n = 0;

	for (i = 0; i < p->in->n_members; i++)
		if (eligible(p->in, p->st, i, p->cur, cls, p->min_pat, why, sizeof(why)))
			n++;
	return n;
}

/* The class amount of the member's own class cl out of the pool P (the
 * classes' parts), and whether the member is eligible among the n of it. */
static void member_class_explain(const patronage_ctx *p, const cs_alloc_part *classes, size_t cl,
				 const mpz_t P, size_t n)
{
	const cs_step *st = p->st;
	const cs_member *mem = &p->in->members[p->m];
	char why[200], r[160];

	rate_text(r, sizeof(r), st->class_shares[cl]);
	cs_buf_printf(p->out, "    class amounts: largest remainder of the pool T over "
			      "the classes (keys: config order); class %s, share %s:\n",
		      cs_class_name(st->classes[cl]), r);
	lr_explain(p->out, "      ", cs_class_name(st->classes[cl]), classes, st->n_classes, cl, P);
	if (eligible(p->in, st, p->m, p->cur, st->classes[cl], p->min_pat, why, sizeof(why)))
		cs_buf_printf(p->out, "    member %lld is eligible (%zu eligible in the "
				      "class)\n",
			      (long long)mem->id, n);
	else
		cs_buf_printf(p->out, "    member %lld is not eligible: it %s\n",
			      (long long)mem->id, why);
}

/* The member's refund R, part me of the class amount T (parts[0..n)), and
 * its cash and retained parts; added to *mine. */
static void refund_explain(const patronage_ctx *p, const cs_alloc_part *parts, size_t n,
			   size_t me, const mpz_t T, cs_surplus_alloc *mine)
{
	const cs_step *st = p->st;
	const cs_member *mem = &p->in->members[p->m];
	cs_i128 rr, cs;
	mpz_t cash;
	char r[160];

	cs_buf_puts(p->out, "    largest remainder of the class amount T by patronage "
			    "(keys: member ids):\n");
	{
		char label[48];

		snprintf(label, sizeof(label), "member %lld", (long long)mem->id);
		lr_explain(p->out, "      ", label, parts, n, me, T);
	}
	rate_text(r, sizeof(r), st->cash_fraction);
	mpz_init(cash);
	mpz_mul(cash, parts[me].part, mpq_numref(st->cash_fraction));
	mpz_cdiv_q(cash, cash, mpq_denref(st->cash_fraction));
	rr = cs_i128_from_mpz(parts[me].part);
	cs = cs_i128_from_mpz(cash);
	mpz_clear(cash);
	cs_buf_printf(p->out, "    refund R = ");
	put_minor(p->out, rr, p->c);
	cs_buf_printf(p->out, "; cash = ceil(R x %s) = ", r);
	put_minor(p->out, cs, p->c);
	cs_buf_puts(p->out, "; retained = R - cash = ");
	put_minor(p->out, rr - cs, p->c);
	cs_buf_putc(p->out, '\n');
	mine->patronage_minor += rr;
	mine->cash_minor += cs;
	mine->retained_minor += rr - cs;
}

/* Class cl of the step: its amount (classes[cl]) shared among its eligible
 * members by patronage and added to amt; the member's class and refund
 * explained. */
static void class_explain(const patronage_ctx *p, const cs_alloc_part *classes, size_t cl,
			  const mpz_t P, mpz_t amt, cs_surplus_alloc *mine)
{
	const cs_surplus_input *in = p->in;
	const cs_step *st = p->st;
	int own = in->class_fees_minor ? cs_class_days(in, &in->members[p->m], st->classes[cl]) > 0 ||
						 basis_of(in, st, p->m, st->classes[cl], p->cur) > 0
				       : st->classes[cl] == in->members[p->m].cls;
	size_t n = eligible_count(p, st->classes[cl]), i, k = 0, me = (size_t)-1;
	cs_alloc_part *parts;
	char why[200];
	mpz_t t;

	if (own)
		member_class_explain(p, classes, cl, P, n);
	if (n == 0 || mpz_sgn(classes[cl].part) == 0) {
		if (own)
			cs_buf_puts(p->out, "    the class allocates nothing: its amount stays "
					    "available\n");
		return;
	}
	parts = calloc(n, sizeof(*parts));
	CS_ASSERT(parts != NULL);
	cs_alloc_parts_init(parts, n);
	mpz_init(t);
	for (i = 0; i < in->n_members; i++) {
		if (!eligible(in, st, i, p->cur, st->classes[cl], p->min_pat, why, sizeof(why)))
			continue;
		parts[k].key = (int64_t)i; /* index: members are sorted by id */
		cs_i128_to_mpz(t, basis_of(in, st, i, st->classes[cl], p->cur));
		mpq_set_z(parts[k].weight, t);
		if (i == p->m)
			me = k;
		k++;
	}
	mpz_clear(t);
	CS_ASSERT(cs_alloc_largest_remainder(parts, n, classes[cl].part) == 0);
	mpz_add(amt, amt, classes[cl].part);
	if (me != (size_t)-1)
		refund_explain(p, parts, n, me, classes[cl].part, mine);
	cs_alloc_parts_clear(parts, n);
	free(parts);
}

/* A patronage step with pool P: the member's basis, the pool over the
 * classes, then each class; the step amount into amt, the member's refund
 * added to *mine. */
static void patronage_explain(cs_buf *out, const cs_surplus_input *in, const cs_step *st,
			      const mpz_t P, mpz_t amt, size_t m, size_t cur, cs_surplus_alloc *mine)
{
	const cs_member *mem = &in->members[m];
	cs_alloc_part classes[CS_CLASSES_MAX];
	patronage_ctx p;
	size_t cl;

	p.out = out;
	p.in = in;
	p.st = st;
	p.m = m;
	p.cur = cur;
	p.c = &in->cfg->currencies[cur];
	mpz_set_ui(amt, 0);
	mpz_init(p.min_pat);
	if (st->min_patronage.present)
		mpz_set(p.min_pat, st->min_patronage.minor[cur]);
	if (in->class_fees_minor) { /* version 2: member business per class */
		cs_buf_printf(out, "    member %lld's patronage basis (%s of its member business: "
				   "sales and purchases on days it was a member of that class): "
				   "producer ",
			      (long long)mem->id,
			      st->basis == CS_BASIS_VOLUME ? "gross volume" : "fees");
		put_minor(out, basis_of(in, st, m, CS_CLASS_PRODUCER, cur), p.c);
		cs_buf_puts(out, ", consumer ");
		put_minor(out, basis_of(in, st, m, CS_CLASS_CONSUMER, cur), p.c);
	} else {
		cs_buf_printf(out, "    member %lld's patronage basis (%s on its own side, the %s "
				   "side): ",
			      (long long)mem->id,
			      st->basis == CS_BASIS_VOLUME ? "gross volume" : "fees",
			      cs_class_name(mem->cls));
		put_minor(out, basis_of(in, st, m, mem->cls, cur), p.c);
	}
	cs_buf_puts(out, "; min_patronage ");
	put_minor_z(out, p.min_pat, p.c);
	cs_buf_putc(out, '\n');
	if (mpz_sgn(P) <= 0) {
		cs_buf_puts(out, "    the pool is 0: nothing is allocated\n");
	} else {
		cs_alloc_parts_init(classes, st->n_classes);
		for (cl = 0; cl < st->n_classes; cl++) {
			classes[cl].key = (int64_t)cl;
			mpq_set(classes[cl].weight, st->class_shares[cl]);
		}
		CS_ASSERT(cs_alloc_largest_remainder(classes, st->n_classes, P) == 0);
		for (cl = 0; cl < st->n_classes; cl++)
			class_explain(&p, classes, cl, P, amt, mine);
		cs_alloc_parts_clear(classes, st->n_classes);
	}
	mpz_clear(p.min_pat);
}

/* An account step's target and room (spec 10.3, 10.7.5): amt at most the
 * room max(0, target - b). */
static void until_explain(cs_buf *out, const cs_surplus_input *in, const cs_surplus_result *res,
			  size_t s, size_t cur, mpz_t amt)
{
	const cs_config *cfg = in->cfg;
	const cs_step *st = &cfg->steps[s];
	const cs_currency *c = &cfg->currencies[cur];
	cs_i128 b;
	mpz_t t, room;
	char r[160];

	mpz_inits(t, room, NULL);
	if (!cs_surplus_target(cfg, st, cur, t)) {
		cs_buf_printf(out, "    until: no target in %s\n", c->code);
		mpz_clears(t, room, NULL);
		return;
	}
	b = cs_surplus_room_base(in, res, s, cur);
	if (st->until == CS_UNTIL_ASSETS) {
		rate_text(r, sizeof(r), st->until_share);
		cs_buf_printf(out, "    until %s of total assets ", r);
		put_minor_z(out, cfg->total_assets.minor[cur], c);
		cs_buf_puts(out, ": target = floor of that = ");
	} else {
		cs_buf_puts(out, "    until: target ");
	}
	put_minor_z(out, t, c);
	cs_buf_printf(out, "; balance of %s now (at the window's start, with this run's earlier "
			   "steps) b = ",
		      st->account);
	put_minor(out, b, c);
	cs_i128_to_mpz(room, b);
	mpz_sub(room, t, room);
	if (mpz_sgn(room) < 0)
		mpz_set_ui(room, 0);
	cs_buf_puts(out, "; room max(0, target - b) = ");
	put_minor_z(out, room, c);
	if (mpz_cmp(amt, room) > 0) {
		mpz_set(amt, room);
		cs_buf_puts(out, ", so the step takes the room");
	}
	cs_buf_putc(out, '\n');
	mpz_clears(t, room, NULL);
}

/* The KStG cap of a patronage step (spec 10.3, 10.7.8): P at most
 * floor(S' M / T). */
static void cap_explain(cs_buf *out, const cs_surplus_input *in, const cs_step *st, const mpz_t Sp,
			size_t cur, mpz_t P)
{
	const cs_currency *c = &in->cfg->currencies[cur];
	mpz_t cap;

	mpz_init(cap);
	cs_surplus_cap(in, st, Sp, cur, cap);
	cs_buf_printf(out, "    cap: member_business (KStG 22), floor(S' x M / T) on %s, where M "
			   "is the business done by members as members and T all business: ",
		      st->cap_basis == CS_BASIS_VOLUME ? "gross volume (both sides)" : "fees");
	put_minor_z(out, cap, c);
	if (mpz_cmp(P, cap) > 0) {
		mpz_set(P, cap);
		cs_buf_puts(out, "; the pool is capped to it");
	}
	cs_buf_putc(out, '\n');
	mpz_clear(cap);
}

static const char *step_type_name(cs_step_type t)
{
	switch (t) {
	case CS_STEP_ACCOUNT:
		return "account";
	case CS_STEP_CAPITAL_INTEREST:
		return "capital interest";
	case CS_STEP_PATRONAGE:
		return "patronage";
	}
	return "?";
}

/* Step st of the waterfall with surplus S and A available: its amount into
 * amt, the member's share added to *mine. */
static void step_explain(cs_buf *out, const cs_surplus_input *in, const cs_surplus_result *res,
			 size_t s, const mpz_t S, const mpz_t A, mpz_t amt, size_t m, size_t cur,
			 cs_surplus_alloc *mine)
{
	const cs_config *cfg = in->cfg;
	const cs_step *st = &cfg->steps[s];
	const cs_currency *c = &cfg->currencies[cur];
	const char *s_name = in->class_fees_minor ? "S'" : "S";

	switch (st->type) {
	case CS_STEP_ACCOUNT:
		pool_explain(out, st, S, A, cfg->rounding, amt, c, s_name);
		if (st->until != CS_UNTIL_NONE)
			until_explain(out, in, res, s, cur, amt);
		cs_buf_printf(out, "    credited to %s, not to members\n", st->account);
		break;
	case CS_STEP_CAPITAL_INTEREST:
		capital_explain(out, in, st, S, A, amt, m, cur, mine);
		break;
	case CS_STEP_PATRONAGE: {
		mpz_t P;

		mpz_init(P);
		pool_explain(out, st, S, A, cfg->rounding, P, c, s_name);
		if (st->cap_member_business)
			cap_explain(out, in, st, S, cur, P);
		patronage_explain(out, in, st, P, amt, m, cur, mine);
		mpz_clear(P);
		break;
	}
	}
}

/* The steps of currency cur from surplus sv > 0, each checked against the
 * core's result res, then the retained surplus; the member's shares added
 * to *mine. */
static void steps_explain(cs_buf *out, const cs_surplus_input *in, const cs_surplus_result *res,
			  size_t m, size_t cur, cs_i128 sv, cs_surplus_alloc *mine)
{
	const cs_config *cfg = in->cfg;
	const cs_currency *c = &cfg->currencies[cur];
	mpz_t S, A, amt;
	size_t s;

	mpz_inits(S, A, amt, NULL);
	cs_i128_to_mpz(S, sv);
	mpz_set(A, S);
	for (s = 0; s < cfg->n_steps; s++) {
		const cs_step *st = &cfg->steps[s];

		cs_buf_printf(out, "  step %zu '%s' (%s), available A = ", s + 1, st->id,
			      step_type_name(st->type));
		put_minor_z(out, A, c);
		cs_buf_putc(out, '\n');
		step_explain(out, in, res, s, S, A, amt, m, cur, mine);
		CS_ASSERT(cs_i128_from_mpz(amt) == res->step_minor[cur][s]);
		cs_buf_puts(out, "    the step takes ");
		put_minor_z(out, amt, c);
		cs_buf_putc(out, '\n');
		mpz_sub(A, A, amt);
	}
	CS_ASSERT(cs_i128_from_mpz(A) == res->retained_surplus_minor[cur]);
	cs_buf_puts(out, "  what is left is the retained surplus: ");
	put_minor_z(out, A, c);
	cs_buf_putc(out, '\n');
	mpz_clears(S, A, amt, NULL);
}

/* What member id gets in currency c. */
static void member_result(cs_buf *out, const cs_surplus_input *in, int64_t id,
			  const cs_currency *c, const cs_surplus_alloc *mine)
{
	cs_buf_printf(out, "  member %lld in %s: capital interest ", (long long)id, c->code);
	put_minor(out, mine->capital_interest_minor, c);
	if (in->class_fees_minor) {
		cs_buf_puts(out, " gross, ");
		put_minor(out, mine->withheld_minor, c);
		cs_buf_puts(out, " withheld, ");
		put_minor(out, mine->capital_interest_minor - mine->withheld_minor, c);
		cs_buf_puts(out, " net");
	}
	cs_buf_puts(out, ", patronage refund ");
	put_minor(out, mine->patronage_minor, c);
	cs_buf_puts(out, " (cash ");
	put_minor(out, mine->cash_minor, c);
	cs_buf_puts(out, ", retained ");
	put_minor(out, mine->retained_minor, c);
	cs_buf_puts(out, ")\n");
}

/* Version 2 (spec 10.3, 10.7.1): the loss carried in, its cover and S',
 * or a loss year's cover and carried part; returns S' (what the steps
 * share; <= 0 when nothing is). */
static cs_i128 losses_explain(cs_buf *out, const cs_surplus_input *in, const cs_surplus_result *res,
			      size_t cur)
{
	const cs_config *cfg = in->cfg;
	const cs_currency *c = &cfg->currencies[cur];
	cs_i128 S = res->surplus_minor[cur], L0 = res->loss_in_minor[cur], rem;
	size_t k;

	cs_buf_printf(out, "  loss carried in (%s at the window's start) L0 = ",
		      cfg->accounts[CS_ACCOUNT_LOSS_CARRIED]);
	put_minor(out, L0, c);
	cs_buf_putc(out, '\n');
	if (S >= 0) {
		cs_buf_puts(out, "  the carried loss is covered first: c = min(S, L0) = ");
		put_minor(out, res->cover_minor[cur], c);
		cs_buf_puts(out, "; the steps share S' = S - c = ");
		put_minor(out, S - res->cover_minor[cur], c);
		cs_buf_puts(out, "; loss carried out ");
		put_minor(out, res->loss_out_minor[cur], c);
		cs_buf_putc(out, '\n');
		CS_ASSERT(res->cover_minor[cur] == (L0 > 0 ? (L0 < S ? L0 : S) : 0));
		return S - res->cover_minor[cur];
	}
	cs_buf_puts(out, "  a loss year: the loss L = -S = ");
	put_minor(out, -S, c);
	cs_buf_puts(out, " is covered in the order of surplus.loss_cover, each account giving "
			 "min(what is left, its balance); no step runs\n");
	rem = -S;
	for (k = 0; k < cfg->n_loss_cover; k++) {
		cs_i128 b = cs_surplus_balance(in, cfg->loss_cover[k], cur);

		cs_buf_printf(out, "    %s: balance ", cfg->loss_cover[k]);
		put_minor(out, b, c);
		cs_buf_puts(out, ", gives ");
		put_minor(out, res->loss_cover_minor[cur][k], c);
		cs_buf_putc(out, '\n');
		rem -= res->loss_cover_minor[cur][k];
	}
	cs_buf_puts(out, "    carried forward: ");
	put_minor(out, rem, c);
	cs_buf_puts(out, "; loss carried out L0 + that = ");
	put_minor(out, res->loss_out_minor[cur], c);
	cs_buf_putc(out, '\n');
	CS_ASSERT(res->loss_out_minor[cur] == L0 + rem);
	return 0;
}

void cs_explain_waterfall(cs_buf *out, const cs_surplus_input *in, const cs_surplus_result *res,
			  size_t m)
{
	const cs_config *cfg = in->cfg;
	size_t n_cur = cfg->n_currencies, cur;

	CS_ASSERT(m < in->n_members);
	for (cur = 0; cur < n_cur; cur++) {
		const cs_currency *c = &cfg->currencies[cur];
		const cs_surplus_alloc *got = &res->allocs[m * n_cur + cur];
		cs_surplus_alloc mine;
		cs_i128 sv = in->fee_income_minor[cur] - in->costs_minor[cur];

		memset(&mine, 0, sizeof(mine));
		cs_buf_printf(out, "\n%s\n  fee income ", c->code);
		put_minor(out, in->fee_income_minor[cur], c);
		cs_buf_puts(out, " - costs ");
		put_minor(out, in->costs_minor[cur], c);
		cs_buf_puts(out, " = surplus S = ");
		put_minor(out, sv, c);
		cs_buf_putc(out, '\n');
		CS_ASSERT(sv == res->surplus_minor[cur]);
		if (in->class_fees_minor) /* version 2: the loss carried, covered, S' */
			sv = losses_explain(out, in, res, cur);
		if (sv <= 0) {
			if (res->surplus_minor[cur] <= 0)
				cs_buf_puts(out, "  nothing is distributed\n");
			CS_ASSERT(!got->capital_interest_minor && !got->patronage_minor);
			continue;
		}
		steps_explain(out, in, res, m, cur, sv, &mine);
		/* the explanation arrives at the core's allocation */
		CS_ASSERT(mine.capital_interest_minor == got->capital_interest_minor &&
			  mine.withheld_minor == got->withheld_minor &&
			  mine.patronage_minor == got->patronage_minor &&
			  mine.cash_minor == got->cash_minor && mine.retained_minor == got->retained_minor);
		member_result(out, in, in->members[m].id, c, &mine);
	}
}
