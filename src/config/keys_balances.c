/*
 * keys_balances.c -- the keys of the balances a distribute run keeps across
 * windows (config version 2, spec 10.2, 10.3, 10.7.2): surplus.opening,
 * surplus.loss_cover and surplus.total_assets, and the checks that need the
 * whole file (cfg_keys_finish). Part of the loader; keys.c walks the
 * document.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/error.h"
#include "coopsettle/limits.h"
#include "coopsettle/window.h"
#include "keys.h"
#include "parse.h"

/* A date YYYY-MM-DD (unquoted or quoted) into *day (days since
 * 1970-01-01). */
int cfg_get_date(cfg_parse *p, const cfg_event *v, int64_t *day)
{
	const char *t;
	char buf[SHOW_BYTES];
	unsigned y, m, d;
	int n = 0;

	if (!cfg_want_scalar(p, v, "a date YYYY-MM-DD"))
		return -1;
	t = cfg_scalar_text(v);
	if (cfg_scalar_len(v) == 10 && sscanf(t, "%4u-%2u-%2u%n", &y, &m, &d, &n) == 3 && n == 10 &&
	    t[4] == '-' && t[7] == '-' && y >= 1 && m >= 1 && m <= 12 && d >= 1 && d <= 31) {
		int64_t x = cs_days_from_civil(y, m, d);
		int64_t yy;
		unsigned mm, dd;

		cs_civil_from_days(x, &yy, &mm, &dd);
		if (yy == (int64_t)y && mm == m && dd == d) {
			*day = x;
			return 0;
		}
	}
	cfg_error_at(p, &v->start_mark, "'%s' is '%s', not a date YYYY-MM-DD", p->path,
		     cfg_show(buf, sizeof(buf), t, cfg_scalar_len(v)));
	return -1;
}

/* ---- surplus.opening ---- */

static void balance_pair(cfg_parse *p, void *obj, const cfg_event *key, const cfg_event *val)
{
	cs_config *cfg = p->cfg;
	cs_opening *o;
	char buf[SHOW_BYTES];
	size_t i, len = cfg_scalar_len(key);

	(void)obj;
	if (cfg_check_name(p, key)) {
		cfg_skip_value(p, val);
		return;
	}
	for (i = 0; i < cfg->n_opening; i++)
		if (strlen(cfg->opening[i].account) == len &&
		    memcmp(cfg->opening[i].account, cfg_scalar_text(key), len) == 0) {
			cfg_error_at(p, &key->start_mark, "'%s' names account '%s' twice", p->path,
				     cfg_show(buf, sizeof(buf), cfg_scalar_text(key), len));
			cfg_skip_value(p, val);
			return;
		}
	if (cfg->n_opening == CS_OPENING_MAX) {
		cfg_error_at(p, &key->start_mark, "'%s' has more than %d accounts", p->path,
			     CS_OPENING_MAX);
		cfg_skip_value(p, val);
		return;
	}
	cfg->opening = cfg_array_grow(cfg->opening, cfg->n_opening, sizeof(cs_opening));
	o = &cfg->opening[cfg->n_opening++];
	memset(o, 0, sizeof(*o));
	cfg_money_init(&o->amount);
	o->account = cfg_xstrndup(cfg_scalar_text(key), len);
	cfg_money_map(p, val, &o->amount, p->path, NULL);
}

static void h_opening_as_of(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	(void)arg;
	cfg_get_date(p, v, &p->cfg->opening_as_of);
}

static void h_opening_balances(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)arg;
	if (cfg_want_map(p, v))
		cfg_parse_pairs(p, obj, balance_pair);
}

static const key_spec opening_keys[] = {
	{"as_of", h_opening_as_of, 0, 1},
	{"balances", h_opening_balances, 0, 1},
};

void cfg_h_opening(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[2];

	(void)arg;
	if (!cfg_version_2(p, v) || !cfg_want_map(p, v))
		return;
	p->cfg->has_opening = 1;
	cfg_parse_map(p, v, opening_keys, 2, obj, seen);
}

/* ---- surplus.loss_cover ---- */

typedef struct cover_ctx {
	int carry_seen;
	size_t carry_index;
} cover_ctx;

static void cover_item(cfg_parse *p, void *obj, size_t index, const cfg_event *ev)
{
	cover_ctx *cc = obj;
	cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	size_t i, len;

	if (!cfg_want_scalar(p, ev, "an account or carry_forward"))
		return;
	len = cfg_scalar_len(ev);
	if (cc->carry_seen) {
		cfg_error_at(p, &ev->start_mark,
			     "'%s' comes after 'carry_forward' (entry %zu), which must be the "
			     "last entry",
			     p->path, cc->carry_index + 1);
		return;
	}
	if (cfg_text_is(ev, "carry_forward")) {
		cc->carry_seen = 1;
		cc->carry_index = index;
		return;
	}
	if (cfg_check_name(p, ev))
		return;
	for (i = 0; i < cfg->n_loss_cover; i++)
		if (strlen(cfg->loss_cover[i]) == len &&
		    memcmp(cfg->loss_cover[i], cfg_scalar_text(ev), len) == 0) {
			cfg_error_at(p, &ev->start_mark, "'%s' names '%s' twice", p->path,
				     cfg_show(buf, sizeof(buf), cfg_scalar_text(ev), len));
			return;
		}
	if (cfg->n_loss_cover == CS_LOSS_COVER_MAX) {
		cfg_error_at(p, &ev->start_mark, "'%s' has more than %d accounts", p->path,
			     CS_LOSS_COVER_MAX);
		return;
	}
	KS(p)->loss_cover_marks[cfg->n_loss_cover] = ev->start_mark;
	cfg->loss_cover = cfg_array_grow(cfg->loss_cover, cfg->n_loss_cover, sizeof(char *));
	cfg->loss_cover[cfg->n_loss_cover++] = cfg_xstrndup(cfg_scalar_text(ev), len);
}

void cfg_h_loss_cover(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cover_ctx cc;

	(void)obj;
	(void)arg;
	if (!cfg_version_2(p, v) || !cfg_want_seq(p, v))
		return;
	memset(&cc, 0, sizeof(cc));
	cfg_parse_seq(p, &cc, cover_item);
}

/* ---- surplus.total_assets ---- */

void cfg_h_total_assets(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	(void)arg;
	if (cfg_version_2(p, v))
		cfg_money_map(p, v, &p->cfg->total_assets, p->path, NULL);
}

/* ---- checks after the walk ---- */

static const cs_opening *opening_of(const cs_config *cfg, const char *account)
{
	size_t i;

	for (i = 0; i < cfg->n_opening; i++)
		if (strcmp(cfg->opening[i].account, account) == 0)
			return &cfg->opening[i];
	return NULL;
}

static void add_balance_account(cs_config *cfg, char *account)
{
	size_t i;

	for (i = 0; i < cfg->n_balance_accounts; i++)
		if (strcmp(cfg->balance_accounts[i], account) == 0)
			return;
	cfg->balance_accounts =
		cfg_array_grow(cfg->balance_accounts, cfg->n_balance_accounts, sizeof(char *));
	cfg->balance_accounts[cfg->n_balance_accounts++] = account;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fund accounts: none may be an account of spec section 5's lines (fee
 * income, clearing, producers payable); then cfg->fund_accounts. */
static void finish_funds(cfg_parse *p)
{
	cs_config *cfg = p->cfg;
	static const cs_account taken[] = {CS_ACCOUNT_FEE_INCOME, CS_ACCOUNT_CLEARING,
					   CS_ACCOUNT_PRODUCER_PAYABLE};
	static const char *const taken_key[] = {"fee_income", "clearing", "producer_payable"};
	size_t r, f, t, i;

	for (r = 0; r < cfg->n_rules; r++)
		for (f = 0; f < cfg->rules[r].n_funds; f++) {
			cs_fund *fund = &cfg->rules[r].funds[f];

			for (t = 0; t < 3; t++)
				if (strcmp(fund->account, cfg->accounts[taken[t]]) == 0)
					cfg_error_at(p, &KS(p)->fund_marks[r][f],
						     "fund account '%s' of rule '%s' is the %s "
						     "account (accounts.%s): a fund takes a part of "
						     "the fee onto an account of its own",
						     fund->account, cfg->rules[r].id,
						     taken_key[t], taken_key[t]);
			for (i = 0; i < cfg->n_fund_accounts; i++)
				if (strcmp(cfg->fund_accounts[i], fund->account) == 0)
					break;
			if (i == cfg->n_fund_accounts && i == CS_FUND_ACCOUNTS_MAX) {
				cfg_error_at(p, &KS(p)->fund_marks[r][f],
					     "more than %d fund accounts in the fee rules",
					     CS_FUND_ACCOUNTS_MAX);
				return;
			}
			if (i == cfg->n_fund_accounts) {
				cfg->fund_accounts = cfg_array_grow(
					cfg->fund_accounts, cfg->n_fund_accounts, sizeof(char *));
				cfg->fund_accounts[cfg->n_fund_accounts++] = fund->account;
			}
		}
	if (cfg->n_fund_accounts > 0)
		qsort(cfg->fund_accounts, cfg->n_fund_accounts, sizeof(char *), name_cmp);
	for (r = 0; r < cfg->n_rules; r++)
		for (f = 0; f < cfg->rules[r].n_funds; f++)
			for (i = 0; i < cfg->n_fund_accounts; i++)
				if (strcmp(cfg->fund_accounts[i], cfg->rules[r].funds[f].account) == 0)
					cfg->rules[r].funds[f].account_index = i;
}

static void finish_until(cfg_parse *p)
{
	const cs_config *cfg = p->cfg;
	cs_buf missing;
	size_t c;

	if (!KS(p)->until_assets_seen)
		return;
	cs_buf_init(&missing);
	for (c = 0; c < cfg->n_currencies; c++)
		if (!cfg->total_assets.applies[c])
			cs_buf_printf(&missing, "%s%s", missing.len ? ", " : "",
				      cfg->currencies[c].code);
	if (missing.len)
		cfg_error_at(p, &KS(p)->until_assets_mark,
			     "'until: share_of_total_assets' needs 'surplus.total_assets' for every "
			     "currency; missing: %s",
			     missing.data);
	cs_buf_free(&missing);
}

/* The VAT each rule applies (its own, else the default; none turns it
 * off), its account, the VAT accounts used; none of them may be an account
 * of spec 5's lines or a fund account (spec 10.8.4). */
static void finish_vat(cfg_parse *p)
{
	cs_config *cfg = p->cfg;
	static const cs_account taken[] = {CS_ACCOUNT_FEE_INCOME, CS_ACCOUNT_CLEARING,
					   CS_ACCOUNT_PRODUCER_PAYABLE};
	static const char *const taken_key[] = {"fee_income", "clearing", "producer_payable"};
	size_t r, t, i;
	int default_reported = 0;

	for (r = 0; r < cfg->n_rules; r++) {
		cs_rule *rule = &cfg->rules[r];
		const cs_vat *v = rule->vat.given ? &rule->vat : &cfg->vat_default;
		int report = rule->vat.given || !default_reported;
		const cfg_mark *mark = rule->vat.given ? &KS(p)->vat_marks[r]
						       : &KS(p)->vat_default_mark;

		if (!v->given || v->none)
			continue;
		rule->vat_on = 1;
		rule->vat_eff = v;
		rule->vat_account = v->account ? v->account : cfg->accounts[CS_ACCOUNT_VAT];
		for (t = 0; t < 3 && report; t++)
			if (strcmp(rule->vat_account, cfg->accounts[taken[t]]) == 0)
				cfg_error_at(p, mark,
					     "the VAT account '%s' of rule '%s' is the %s account "
					     "(accounts.%s): VAT is owed to the tax office, on an "
					     "account of its own",
					     rule->vat_account, rule->id, taken_key[t], taken_key[t]);
		for (i = 0; i < cfg->n_fund_accounts && report; i++)
			if (strcmp(rule->vat_account, cfg->fund_accounts[i]) == 0)
				cfg_error_at(p, mark,
					     "the VAT account '%s' of rule '%s' is a fund account",
					     rule->vat_account, rule->id);
		default_reported |= !rule->vat.given;
		for (i = 0; i < cfg->n_vat_accounts; i++)
			if (strcmp(cfg->vat_accounts[i], rule->vat_account) == 0)
				break;
		if (i == cfg->n_vat_accounts && i == CS_VAT_ACCOUNTS_MAX) {
			cfg_error_at(p, mark, "more than %d VAT accounts", CS_VAT_ACCOUNTS_MAX);
			return;
		}
		if (i == cfg->n_vat_accounts) {
			cfg->vat_accounts = cfg_array_grow(cfg->vat_accounts, cfg->n_vat_accounts,
							   sizeof(char *));
			cfg->vat_accounts[cfg->n_vat_accounts++] = (char *)rule->vat_account;
		}
	}
	if (cfg->n_vat_accounts > 1)
		qsort(cfg->vat_accounts, cfg->n_vat_accounts, sizeof(char *), name_cmp);
	for (r = 0; r < cfg->n_rules; r++)
		for (i = 0; cfg->rules[r].vat_on && i < cfg->n_vat_accounts; i++)
			if (strcmp(cfg->vat_accounts[i], cfg->rules[r].vat_account) == 0)
				cfg->rules[r].vat_account_index = i;
}

void cfg_keys_finish(cfg_parse *p)
{
	cs_config *cfg = p->cfg;
	const char *loss = cfg->accounts[CS_ACCOUNT_LOSS_CARRIED];
	size_t i;

	finish_funds(p);
	finish_vat(p);
	finish_until(p);
	for (i = 0; i < cfg->n_loss_cover; i++) {
		if (strcmp(cfg->loss_cover[i], loss) == 0)
			cfg_error_at(p, &KS(p)->loss_cover_marks[i],
				     "'surplus.loss_cover' names the loss account '%s' itself; "
				     "'carry_forward' is how a loss stays on it",
				     loss);
		else if (!opening_of(cfg, cfg->loss_cover[i]))
			cfg_error_at(p, &KS(p)->loss_cover_marks[i],
				     "'surplus.loss_cover' names '%s', which has no opening balance "
				     "in 'surplus.opening.balances' (give it one, 0 if need be)",
				     cfg->loss_cover[i]);
	}
	if (cfg->version < 2 || p->n_errs)
		return;
	/* the accounts whose balance at the window's start a run reads */
	add_balance_account(cfg, cfg->accounts[CS_ACCOUNT_LOSS_CARRIED]);
	for (i = 0; i < cfg->n_loss_cover; i++)
		add_balance_account(cfg, cfg->loss_cover[i]);
	for (i = 0; i < cfg->n_steps; i++)
		if (cfg->steps[i].type == CS_STEP_ACCOUNT && cfg->steps[i].until != CS_UNTIL_NONE)
			add_balance_account(cfg, cfg->steps[i].account);
}
