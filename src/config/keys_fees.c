/*
 * keys_fees.c -- the key handlers of `fees`: the fee rules, their `when`,
 * tiers and `borne_by` (docs/config.md "fees"), and the checks of a whole
 * rule (finish_rule). Part of the loader; keys.c walks the document.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/config.h"
#include "coopsettle/error.h"
#include "coopsettle/limits.h"
#include "coopsettle/num.h"
#include "keys.h"
#include "parse.h"

const char *cfg_rate_text(char *buf, size_t size, mpq_srcptr q)
{
	mpq_t pct;
	size_t n;

	mpq_init(pct);
	mpq_set_ui(pct, 100, 1);
	mpq_mul(pct, pct, q);
	cs_q_to_decimal(buf, size - 2, pct, 6);
	mpq_clear(pct);
	n = strlen(buf);
	if (strchr(buf, '.')) {
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = 0;
		if (n > 0 && buf[n - 1] == '.')
			buf[--n] = 0;
	}
	buf[n] = '%';
	buf[n + 1] = 0;
	return buf;
}

enum { RM_FIXED, RM_MIN, RM_MAX, RM_MIN_AMOUNT, RM_MAX_AMOUNT, RM_COUNT };

typedef struct rule_ctx {
	cs_rule *rule;
	size_t index;
	money_ref money[RM_COUNT];
	money_ref up_to[CS_TIERS_MAX];
	int up_to_given[CS_TIERS_MAX];
	cfg_mark tier_start[CS_TIERS_MAX];
	int tiers_reported_max;
	int funds_bad; /* a fund without a valid account or share */
	cfg_mark until_mark; /* when.until, for from >= until */
} rule_ctx;

typedef struct tier_ctx {
	rule_ctx *rc;
	size_t index;
} tier_ctx;

int cfg_sum_is_one(mpq_srcptr const *shares, size_t n, mpq_t sum)
{
	size_t i;

	mpq_set_ui(sum, 0, 1);
	for (i = 0; i < n; i++)
		mpq_add(sum, sum, shares[i]);
	return mpq_cmp_ui(sum, 1, 1) == 0;
}

/* Reports shares (n of them) that do not sum to exactly 1. */
void cfg_check_shares_sum(cfg_parse *p, const cfg_event *v, mpq_srcptr const *shares,
			     size_t n)
{
	char buf[64];
	mpq_t sum;

	mpq_init(sum);
	if (!cfg_sum_is_one(shares, n, sum)) {
		cs_q_to_decimal(buf, sizeof(buf), sum, 9);
		cfg_error_at(p, &v->start_mark, "shares of '%s' sum to %s, not exactly 1", p->path, buf);
	}
	mpq_clear(sum);
}

const cfg_mark *cfg_later(const cfg_mark *a, const cfg_mark *b)
{
	return a->index > b->index ? a : b;
}

/* ---- fee rules -------------------------------------------------------------- */

static cs_money *rule_money(cs_rule *r, int which)
{
	switch (which) {
	case RM_FIXED:
		return &r->fixed;
	case RM_MIN:
		return &r->min;
	case RM_MAX:
		return &r->max;
	case RM_MIN_AMOUNT:
		return &r->min_amount;
	default:
		CS_ASSERT(which == RM_MAX_AMOUNT);
		return &r->max_amount;
	}
}

static void h_rule_id(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	rule_ctx *rc = obj;
	const cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	size_t i;

	(void)arg;
	if (cfg_check_name(p, v))
		return;
	for (i = 0; i < rc->index; i++) {
		const char *id = cfg->rules[i].id;

		if (id && strlen(id) == cfg_scalar_len(v) && memcmp(id, cfg_scalar_text(v), cfg_scalar_len(v)) == 0) {
			cfg_error_at(p, &v->start_mark, "duplicate rule id '%s' (first at line %u)",
				 cfg_show(buf, sizeof(buf), id, strlen(id)), cfg->rules[i].line);
			return;
		}
	}
	rc->rule->id = cfg_xstrndup(cfg_scalar_text(v), cfg_scalar_len(v));
}

/* fixed (may be negative: a rebate), min, max, min_amount, max_amount. */
static void h_rule_money(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	rule_ctx *rc = obj;

	cfg_get_money(p, v, rule_money(rc->rule, arg), arg != RM_FIXED, &rc->money[arg]);
}

static void category_item(cfg_parse *p, void *obj, size_t index, const cfg_event *ev)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;
	char buf[SHOW_BYTES];
	size_t i;

	if (index >= CS_WHEN_LIST_MAX) {
		if (index == CS_WHEN_LIST_MAX)
			cfg_error_at(p, &ev->start_mark, "more than %d categories in one rule",
				 CS_WHEN_LIST_MAX);
		cfg_skip_value(p, ev);
		return;
	}
	if (cfg_check_name(p, ev))
		return;
	for (i = 0; i < r->n_categories; i++) {
		if (strlen(r->categories[i]) == cfg_scalar_len(ev) &&
		    memcmp(r->categories[i], cfg_scalar_text(ev), cfg_scalar_len(ev)) == 0) {
			cfg_error_at(p, &ev->start_mark, "category '%s' is listed twice",
				 cfg_show(buf, sizeof(buf), cfg_scalar_text(ev), cfg_scalar_len(ev)));
			return;
		}
	}
	r->categories = cfg_array_grow(r->categories, r->n_categories, sizeof(char *));
	r->categories[r->n_categories++] = cfg_xstrndup(cfg_scalar_text(ev), cfg_scalar_len(ev));
}

static void h_when_category(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	rule_ctx *rc = obj;

	(void)arg;
	if (!cfg_want_seq(p, v))
		return;
	rc->rule->has_categories = 1;
	if (cfg_parse_seq(p, obj, category_item) == 0 && !p->fatal)
		cfg_error_at(p, &v->start_mark, "'%s' must list at least one category", p->path);
}

static void when_currency_item(cfg_parse *p, void *obj, size_t index, const cfg_event *ev)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;
	const cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	int i;

	if (index >= CS_WHEN_LIST_MAX) {
		if (index == CS_WHEN_LIST_MAX)
			cfg_error_at(p, &ev->start_mark, "more than %d currencies in one rule",
				 CS_WHEN_LIST_MAX);
		cfg_skip_value(p, ev);
		return;
	}
	if (!cfg_want_scalar(p, ev, "a currency code"))
		return;
	if (cfg->n_currencies == 0)
		return;
	cfg_show(buf, sizeof(buf), cfg_scalar_text(ev), cfg_scalar_len(ev));
	i = cfg_currency_of(cfg, ev);
	if (i < 0)
		cfg_error_at(p, &ev->start_mark, "currency '%s' of '%s' is not in 'currencies'", buf,
			 p->path);
	else if (r->currency_allowed[i])
		cfg_error_at(p, &ev->start_mark, "currency '%s' is listed twice", buf);
	else
		r->currency_allowed[i] = 1;
}

static void h_when_currency(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	rule_ctx *rc = obj;

	(void)arg;
	if (!cfg_want_seq(p, v))
		return;
	memset(rc->rule->currency_allowed, 0, sizeof(rc->rule->currency_allowed));
	if (cfg_parse_seq(p, obj, when_currency_item) == 0 && !p->fatal)
		cfg_error_at(p, &v->start_mark, "'%s' must list at least one currency", p->path);
}

static void h_when_member(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;
	int b;

	if (cfg_get_bool(p, v, &b))
		return;
	if (arg == CS_CLASS_PRODUCER)
		r->producer_member = b ? CS_TRI_TRUE : CS_TRI_FALSE;
	else
		r->consumer_member = b ? CS_TRI_TRUE : CS_TRI_FALSE;
}

/* when.from / when.until (version 2, spec 10.8): local dates */
static void h_when_date(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;

	if (!cfg_version_2(p, v))
		return;
	if (arg == 0 && cfg_get_date(p, v, &r->from_day) == 0)
		r->has_from = 1;
	else if (arg == 1 && cfg_get_date(p, v, &r->until_day) == 0)
		r->has_until = 1;
	if (arg == 1)
		((rule_ctx *)obj)->until_mark = v->start_mark;
}

static const key_spec when_keys[] = {
	{"category", h_when_category, 0, 0},
	{"currency", h_when_currency, 0, 0},
	{"producer_member", h_when_member, CS_CLASS_PRODUCER, 0},
	{"consumer_member", h_when_member, CS_CLASS_CONSUMER, 0},
	{"min_amount", h_rule_money, RM_MIN_AMOUNT, 0},
	{"max_amount", h_rule_money, RM_MAX_AMOUNT, 0},
	{"from", h_when_date, 0, 0},
	{"until", h_when_date, 1, 0},
};

static void h_rule_when(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[sizeof(when_keys) / sizeof(when_keys[0])];

	(void)arg;
	if (cfg_want_map(p, v))
		cfg_parse_map(p, v, when_keys, sizeof(when_keys) / sizeof(when_keys[0]), obj, seen);
}

static void h_rule_rate(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;

	(void)arg;
	if (cfg_get_rate(p, v, r->rate) == 0)
		r->has_rate = 1;
}

static void h_tier_up_to(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	tier_ctx *tc = obj;

	(void)arg;
	tc->rc->up_to_given[tc->index] = 1;
	cfg_get_money(p, v, &tc->rc->rule->tiers[tc->index].up_to, 0, &tc->rc->up_to[tc->index]);
}

static void h_tier_rate(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	tier_ctx *tc = obj;

	(void)arg;
	cfg_get_rate(p, v, tc->rc->rule->tiers[tc->index].rate);
}

static const key_spec tier_keys[] = {
	{"up_to", h_tier_up_to, 0, 0},
	{"rate", h_tier_rate, 0, 1},
};

static void tier_item(cfg_parse *p, void *obj, size_t index, const cfg_event *ev)
{
	rule_ctx *rc = obj;
	cs_rule *r = rc->rule;
	tier_ctx tc;
	key_seen seen[2];

	(void)index;
	if (!cfg_want_map(p, ev))
		return;
	if (r->n_tiers == CS_TIERS_MAX) {
		if (!rc->tiers_reported_max)
			cfg_error_at(p, &ev->start_mark, "more than %d tiers in one rule", CS_TIERS_MAX);
		rc->tiers_reported_max = 1;
		cfg_skip_value(p, ev);
		return;
	}
	r->tiers = cfg_array_grow(r->tiers, r->n_tiers, sizeof(cs_tier));
	cfg_money_init(&r->tiers[r->n_tiers].up_to);
	mpq_init(r->tiers[r->n_tiers].rate);
	tc.rc = rc;
	tc.index = r->n_tiers++;
	rc->up_to_given[tc.index] = 0;
	rc->tier_start[tc.index] = ev->start_mark;
	cfg_parse_map(p, ev, tier_keys, 2, &tc, seen);
}

/* The tiers' shape: every tier but the last has an up_to, the last has none,
 * and up_to strictly increases from above 0. */
static void check_tiers(cfg_parse *p, const rule_ctx *rc)
{
	const cs_rule *r = rc->rule;
	const mpq_t *prev = NULL;
	char buf[64];
	size_t i;

	for (i = 0; i < r->n_tiers; i++) {
		const cs_tier *t = &r->tiers[i];
		int last = i + 1 == r->n_tiers && !rc->tiers_reported_max;

		if (last && rc->up_to_given[i]) {
			cfg_error_at(p, &rc->up_to[i].mark,
				 "the last tier must not have 'up_to': it covers every amount "
				 "above the previous tier");
			continue;
		}
		if (!last && !rc->up_to_given[i]) {
			cfg_error_at(p, &rc->tier_start[i],
				 "tier %zu of '%s' needs 'up_to' (only the last tier has none)", i,
				 p->path);
			continue;
		}
		if (!t->up_to.present)
			continue;
		if (prev == NULL && mpq_sgn(t->up_to.major) <= 0) {
			cfg_error_at(p, &rc->up_to[i].mark, "'%s' must be above 0, not %s",
				 rc->up_to[i].path, rc->up_to[i].text);
		} else if (prev != NULL && mpq_cmp(t->up_to.major, *prev) <= 0) {
			cs_q_to_decimal(buf, sizeof(buf), *prev, 9);
			cfg_error_at(p, &rc->up_to[i].mark,
				 "'%s' is %s, not above the previous tier's 'up_to' %s: 'up_to' "
				 "must strictly increase",
				 rc->up_to[i].path, rc->up_to[i].text, buf);
		}
		prev = &t->up_to.major;
	}
}

static void h_rule_tiers(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	rule_ctx *rc = obj;

	(void)arg;
	if (!cfg_want_seq(p, v))
		return;
	if (cfg_parse_seq(p, obj, tier_item) == 0) {
		if (!p->fatal)
			cfg_error_at(p, &v->start_mark, "'%s' must list at least one tier", p->path);
		return;
	}
	if (!p->fatal)
		check_tiers(p, rc);
}

static void h_share_of(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	shares_ctx *sc = obj;

	if (cfg_get_rate(p, v, *sc->share[arg]))
		sc->bad = 1;
}

static const key_spec borne_by_keys[] = {
	{"producer", h_share_of, CS_CLASS_PRODUCER, 0},
	{"consumer", h_share_of, CS_CLASS_CONSUMER, 0},
};


static void h_rule_borne_by(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;
	shares_ctx sc;
	key_seen seen[2];
	mpq_srcptr shares[2];

	(void)arg;
	if (!cfg_want_map(p, v))
		return;
	memset(&sc, 0, sizeof(sc));
	mpq_set_ui(r->share_producer, 0, 1);
	mpq_set_ui(r->share_consumer, 0, 1);
	sc.share[CS_CLASS_PRODUCER] = &r->share_producer;
	sc.share[CS_CLASS_CONSUMER] = &r->share_consumer;
	cfg_parse_map(p, v, borne_by_keys, 2, &sc, seen);
	if (sc.bad || p->fatal)
		return;
	shares[0] = r->share_producer;
	shares[1] = r->share_consumer;
	cfg_check_shares_sum(p, v, shares, 2);
}

/* ---- funds (config version 2, spec 10.3) ---- */

typedef struct fund_ctx {
	rule_ctx *rc;
	size_t index;
	int bad;
} fund_ctx;

static void h_fund_account(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	fund_ctx *fc = obj;
	cs_rule *r = fc->rc->rule;
	cs_fund *f = &r->funds[fc->index];
	char buf[SHOW_BYTES];
	size_t i, len = cfg_scalar_len(v);

	(void)arg;
	if (cfg_get_name(p, v, &f->account)) {
		fc->bad = 1;
		return;
	}
	KS(p)->fund_marks[fc->rc->index][fc->index] = v->start_mark;
	for (i = 0; i < fc->index; i++)
		if (r->funds[i].account && strcmp(r->funds[i].account, f->account) == 0)
			cfg_error_at(p, &v->start_mark, "'%s': fund account '%s' is listed twice",
				     p->path, cfg_show(buf, sizeof(buf), f->account, len));
}

static void h_fund_share(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	fund_ctx *fc = obj;
	cs_fund *f = &fc->rc->rule->funds[fc->index];

	(void)arg;
	if (cfg_get_rate(p, v, f->share)) {
		fc->bad = 1;
		return;
	}
	if (mpq_sgn(f->share) <= 0) {
		cfg_error_at(p, &v->start_mark, "'%s' must be more than 0", p->path);
		fc->bad = 1;
	}
}

static const key_spec fund_keys[] = {
	{"account", h_fund_account, 0, 1},
	{"share", h_fund_share, 0, 1},
};

static void fund_item(cfg_parse *p, void *obj, size_t index, const cfg_event *ev)
{
	rule_ctx *rc = obj;
	cs_rule *r = rc->rule;
	fund_ctx fc;
	key_seen seen[2];

	if (!cfg_want_map(p, ev))
		return;
	if (r->n_funds == CS_FUNDS_MAX) {
		if (index == CS_FUNDS_MAX)
			cfg_error_at(p, &ev->start_mark, "more than %d funds", CS_FUNDS_MAX);
		cfg_skip_value(p, ev);
		return;
	}
	memset(&fc, 0, sizeof(fc));
	fc.rc = rc;
	fc.index = r->n_funds++;
	memset(&r->funds[fc.index], 0, sizeof(cs_fund));
	mpq_init(r->funds[fc.index].share);
	cfg_parse_map(p, ev, fund_keys, 2, &fc, seen);
	if (fc.bad || !seen[0].seen || !seen[1].seen)
		rc->funds_bad = 1;
}

/* funds: [{account: A, share: X}, ...]: the shares sum to less than 1 */
static void h_rule_funds(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	rule_ctx *rc = obj;
	cs_rule *r = rc->rule;
	char buf[64];
	mpq_t sum;
	size_t i;

	(void)arg;
	if (!cfg_version_2(p, v) || !cfg_want_seq(p, v))
		return;
	if (cfg_parse_seq(p, rc, fund_item) == 0 && !p->fatal)
		cfg_error_at(p, &v->start_mark, "'%s' must list at least one fund", p->path);
	if (rc->funds_bad || p->fatal)
		return;
	mpq_init(sum);
	for (i = 0; i < r->n_funds; i++)
		mpq_add(sum, sum, r->funds[i].share);
	if (mpq_cmp_ui(sum, 1, 1) >= 0) {
		cfg_error_at(p, &v->start_mark,
			     "the fund shares of '%s' sum to %s: they must leave the fee income a "
			     "part (less than 100%%)",
			     p->path, cfg_rate_text(buf, sizeof(buf), sum));
	}
	mpq_clear(sum);
}

/* ---- vat (config version 2, spec 10.8) ---- */

static void h_vat_rate(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)arg;
	cfg_get_rate(p, v, ((cs_vat *)obj)->rate);
}

static void h_vat_included(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	int b;

	(void)arg;
	if (cfg_get_bool(p, v, &b) == 0)
		((cs_vat *)obj)->included = b;
}

static void h_vat_account(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)arg;
	cfg_get_name(p, v, &((cs_vat *)obj)->account);
}

static const key_spec vat_keys[] = {
	{"rate", h_vat_rate, 0, 0},
	{"included", h_vat_included, 0, 0},
	{"account", h_vat_account, 0, 0},
};

void cfg_get_vat(cfg_parse *p, const cfg_event *v, cs_vat *vat)
{
	key_seen seen[3];

	if (!cfg_version_2(p, v))
		return;
	vat->given = 1;
	p->cfg->has_vat = 1;
	if (v->type == CFG_EV_SCALAR && cfg_text_is(v, "none")) {
		vat->none = 1; /* on a rule: no VAT; at the top: no default */
		return;
	}
	if (v->type == CFG_EV_SCALAR) {
		cfg_error_at(p, &v->start_mark, "'%s' is {rate, included, account} or none", p->path);
		return;
	}
	if (!cfg_want_map(p, v))
		return;
	cfg_parse_map(p, v, vat_keys, 3, vat, seen);
	if (!seen[0].seen)
		cfg_error_at(p, seen[1].seen ? &seen[1].key : &v->start_mark,
			     "'%s' needs 'rate'%s", p->path,
			     seen[1].seen ? ": 'included' says whether the fee includes VAT at a rate"
					  : "");
}

void cfg_h_vat_default(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	(void)arg;
	KS(p)->vat_default_mark = v->start_mark;
	cfg_get_vat(p, v, &p->cfg->vat_default);
}

static void h_rule_vat(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	rule_ctx *rc = obj;

	(void)arg;
	KS(p)->vat_marks[rc->index] = v->start_mark;
	cfg_get_vat(p, v, &rc->rule->vat);
}

enum { RK_ID, RK_WHEN, RK_RATE, RK_TIERS, RK_FIXED, RK_MIN, RK_MAX, RK_BORNE_BY, RK_FUNDS,
       RK_VAT, RK_COUNT };

static const key_spec rule_keys[RK_COUNT] = {
	{"id", h_rule_id, 0, 1},
	{"when", h_rule_when, 0, 0},
	{"rate", h_rule_rate, 0, 0},
	{"tiers", h_rule_tiers, 0, 0},
	{"fixed", h_rule_money, RM_FIXED, 0},
	{"min", h_rule_money, RM_MIN, 0},
	{"max", h_rule_money, RM_MAX, 0},
	{"borne_by", h_rule_borne_by, 0, 0},
	{"funds", h_rule_funds, 0, 0},
	{"vat", h_rule_vat, 0, 0},
};


/* Checks of a whole rule: rate xor tiers, money exact in the currencies the
 * rule applies to, min <= max. */
static void finish_rule(cfg_parse *p, rule_ctx *rc, const key_seen *seen, const cfg_event *start)
{
	cs_rule *r = rc->rule;
	size_t i;
	int m;

	if (seen[RK_RATE].seen && seen[RK_TIERS].seen)
		cfg_error_at(p, cfg_later(&seen[RK_RATE].key, &seen[RK_TIERS].key),
			 "'%s' has both 'rate' and 'tiers': a rule has exactly one of them", p->path);
	else if (!seen[RK_RATE].seen && !seen[RK_TIERS].seen)
		cfg_error_at(p, &start->start_mark, "'%s' needs 'rate' or 'tiers'", p->path);
	for (m = 0; m < RM_COUNT; m++) {
		cs_money *money = rule_money(r, m);

		if (money->present)
			cfg_money_resolve(p, money, &rc->money[m], r->currency_allowed);
	}
	for (i = 0; i < r->n_tiers; i++)
		if (r->tiers[i].up_to.present)
			cfg_money_resolve(p, &r->tiers[i].up_to, &rc->up_to[i], r->currency_allowed);
	if (r->has_from && r->has_until && r->from_day >= r->until_day)
		cfg_error_at(p, &rc->until_mark,
			     "'%s.when.until' is not after 'from': a rule applies on the days "
			     "from <= D < until",
			     p->path);
	if (r->min.present && r->max.present && mpq_cmp(r->min.major, r->max.major) > 0)
		cfg_error_at(p, &rc->money[RM_MAX].mark, "'%s' is %s, below 'min' %s", rc->money[RM_MAX].path,
			 rc->money[RM_MAX].text, rc->money[RM_MIN].text);
	if (r->min_amount.present && r->max_amount.present &&
	    mpq_cmp(r->min_amount.major, r->max_amount.major) > 0)
		cfg_error_at(p, &rc->money[RM_MAX_AMOUNT].mark, "'%s' is %s, below 'min_amount' %s",
			 rc->money[RM_MAX_AMOUNT].path, rc->money[RM_MAX_AMOUNT].text,
			 rc->money[RM_MIN_AMOUNT].text);
}

static void fee_item(cfg_parse *p, void *obj, size_t index, const cfg_event *ev)
{
	cs_config *cfg = p->cfg;
	rule_ctx *rc = obj;
	key_seen seen[RK_COUNT];

	if (!cfg_want_map(p, ev))
		return;
	if (cfg->n_rules == CS_RULES_MAX) {
		if (index == CS_RULES_MAX)
			cfg_error_at(p, &ev->start_mark, "more than %d fee rules", CS_RULES_MAX);
		cfg_skip_value(p, ev);
		return;
	}
	cfg->rules = cfg_array_grow(cfg->rules, cfg->n_rules, sizeof(cs_rule));
	cfg_rule_init(&cfg->rules[cfg->n_rules]);
	memset(rc, 0, sizeof(*rc));
	rc->index = cfg->n_rules++;
	rc->rule = &cfg->rules[rc->index];
	rc->rule->line = cfg_to_unsigned(ev->start_mark.line + 1);
	cfg_parse_map(p, ev, rule_keys, RK_COUNT, rc, seen);
	if (!p->fatal)
		finish_rule(p, rc, seen, ev);
}

void cfg_h_fees(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	rule_ctx *rc;

	(void)obj;
	(void)arg;
	if (!cfg_want_seq(p, v))
		return;
	rc = cfg_xmalloc(sizeof(*rc)); /* large: tier positions */
	if (cfg_parse_seq(p, rc, fee_item) == 0 && !p->fatal)
		cfg_error_at(p, &v->start_mark, "'fees' must list at least one rule");
	free(rc);
}

