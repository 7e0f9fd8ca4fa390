/*
 * keys_surplus.c -- the key handlers of `surplus`: its costs and the
 * steps of the waterfall (docs/config.md "surplus"), and the checks of a
 * whole step (finish_step). Part of the loader; keys.c walks the document.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/config.h"
#include "coopsettle/error.h"
#include "coopsettle/limits.h"
#include "coopsettle/num.h"
#include "coopsettle/util.h"
#include "coopsettle/window.h"
#include "keys.h"
#include "parse.h"

typedef struct step_ctx {
	cs_step *step;
	int type_ok;
	int share_ok;
	int basis; /* index into basis_names, -1: not given or not valid */
	int cash_fraction_ok;
	int payment_due_ok;
} step_ctx;

static const char *const step_type_names[] = {"account", "capital_interest", "patronage"};
/* `basis` of a step: patronage takes the first two, capital interest
 * (config version 2) the last two. */
static const char *const basis_names[] = {"fees", "volume", "daily_balance", "opening_balance"};
static const char *const cap_names[] = {"member_business"};
static const char *const cap_basis_names[] = {"fees", "volume"};
static const char *const notice_names[] = {"qualified"};

/* ---- surplus ----------------------------------------------------------------- */

enum {
	SK_ID, SK_TYPE, SK_SHARE, SK_ACCOUNT, SK_RATE, SK_CAP_SHARE,
	SK_BASIS, SK_CLASSES, SK_MIN_PATRONAGE, SK_CASH_FRACTION,
	/* version 2 (spec 10.3) */
	SK_UNTIL, SK_BLOCKED_BY_LOSS, SK_WITHHOLDING, SK_CAP, SK_CAP_BASIS, SK_NOTICE,
	SK_PAYMENT_DUE, SK_COUNT
};

#define SK_BIT(k) (1u << (k))

/* Keys allowed and required per step type, besides id and type. */
static const struct {
	unsigned allowed;
	unsigned required;
} step_type_keys[3] = {
	[CS_STEP_ACCOUNT] = {SK_BIT(SK_SHARE) | SK_BIT(SK_ACCOUNT) | SK_BIT(SK_UNTIL),
			     SK_BIT(SK_SHARE) | SK_BIT(SK_ACCOUNT)},
	[CS_STEP_CAPITAL_INTEREST] = {SK_BIT(SK_RATE) | SK_BIT(SK_CAP_SHARE) | SK_BIT(SK_BASIS) |
					      SK_BIT(SK_BLOCKED_BY_LOSS) | SK_BIT(SK_WITHHOLDING),
				      SK_BIT(SK_RATE)},
	[CS_STEP_PATRONAGE] = {SK_BIT(SK_SHARE) | SK_BIT(SK_BASIS) | SK_BIT(SK_CLASSES) |
				       SK_BIT(SK_MIN_PATRONAGE) | SK_BIT(SK_CASH_FRACTION) |
				       SK_BIT(SK_CAP) | SK_BIT(SK_CAP_BASIS) | SK_BIT(SK_NOTICE) |
				       SK_BIT(SK_PAYMENT_DUE),
			       SK_BIT(SK_SHARE) | SK_BIT(SK_CLASSES)},
};

static void h_step_id(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	step_ctx *sc = obj;
	const cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	size_t i;

	(void)arg;
	if (cfg_check_name(p, v))
		return;
	for (i = 0; cfg->steps + i != sc->step; i++) {
		const char *id = cfg->steps[i].id;

		if (id && strlen(id) == cfg_scalar_len(v) && memcmp(id, cfg_scalar_text(v), cfg_scalar_len(v)) == 0) {
			cfg_error_at(p, &v->start_mark, "duplicate step id '%s' (first at line %u)",
				 cfg_show(buf, sizeof(buf), id, strlen(id)), cfg->steps[i].line);
			return;
		}
	}
	sc->step->id = cfg_xstrndup(cfg_scalar_text(v), cfg_scalar_len(v));
}

static void h_step_type(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	step_ctx *sc = obj;
	int t;

	(void)arg;
	if (cfg_get_enum(p, v, step_type_names, 3, &t))
		return;
	sc->step->type = (cs_step_type)t;
	sc->type_ok = 1;
}

static void h_step_share(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	step_ctx *sc = obj;

	(void)arg;
	if (v->type == CFG_EV_SCALAR && cfg_text_is(v, "remaining")) {
		sc->step->share_kind = CS_SHARE_REMAINING;
		sc->share_ok = 1;
		return;
	}
	if (cfg_get_rate(p, v, sc->step->share) == 0) {
		sc->step->share_kind = CS_SHARE_FRACTION;
		sc->share_ok = 1;
	}
}

static void h_step_account(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)arg;
	cfg_get_name(p, v, &((step_ctx *)obj)->step->account);
}

static void h_step_rate(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_step *s = ((step_ctx *)obj)->step;

	if (cfg_get_rate(p, v, arg == SK_RATE ? s->rate : arg == SK_CAP_SHARE ? s->cap_share
										 : s->cash_fraction))
		return;
	if (arg == SK_CAP_SHARE)
		s->has_cap_share = 1;
	if (arg == SK_CASH_FRACTION)
		((step_ctx *)obj)->cash_fraction_ok = 1;
}

/* ---- version 2 step keys (spec 10.3) ---- */

typedef struct until_ctx {
	cs_step *step;
	int share, amounts; /* share_of_total_assets given; currencies given */
	cfg_mark first;
	unsigned char given[CS_CURRENCIES_MAX];
} until_ctx;

static void until_pair(cfg_parse *p, void *obj, const cfg_event *key, const cfg_event *val)
{
	until_ctx *uc = obj;
	cs_step *s = uc->step;
	char buf[SHOW_BYTES];
	money_ref ref;
	int i;

	if (!uc->share && !uc->amounts)
		uc->first = key->start_mark;
	if (cfg_text_is(key, "share_of_total_assets")) {
		uc->share = 1;
		if (cfg_get_rate(p, val, s->until_share) == 0 && mpq_cmp_ui(s->until_share, 1, 1) > 0)
			cfg_error_at(p, &val->start_mark, "'%s' is more than 100%%", p->path);
		KS(p)->until_assets_seen = 1;
		KS(p)->until_assets_mark = key->start_mark;
		return;
	}
	uc->amounts = 1;
	cfg_show(buf, sizeof(buf), cfg_scalar_text(key), cfg_scalar_len(key));
	i = cfg_currency_of(p->cfg, key);
	if (i < 0 || uc->given[i]) {
		cfg_error_at(p, &key->start_mark,
			     i < 0 ? "'%s' takes share_of_total_assets or currencies of 'currencies'"
				     ", not '%s'"
				   : "'%s' gives currency %s twice",
			     p->path, buf);
		cfg_skip_value(p, val);
		return;
	}
	uc->given[i] = 1;
	if (cfg_get_money(p, val, &s->until_amount, 1, &ref) == 0)
		cfg_money_to_minor(p, &s->until_amount, (size_t)i, &ref);
}

/* until: {CUR: money, ...} or {share_of_total_assets: rate} */
static void h_step_until(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	until_ctx uc;

	(void)arg;
	if (!cfg_version_2(p, v) || !cfg_want_map(p, v))
		return;
	memset(&uc, 0, sizeof(uc));
	uc.step = ((step_ctx *)obj)->step;
	cfg_parse_pairs(p, &uc, until_pair);
	if (uc.share && uc.amounts)
		cfg_error_at(p, &uc.first, "'%s' takes share_of_total_assets or amounts per "
					   "currency, not both", p->path);
	else if (!uc.share && !uc.amounts)
		cfg_error_at(p, &v->start_mark, "'%s' is empty", p->path);
	uc.step->until = uc.share ? CS_UNTIL_ASSETS : CS_UNTIL_AMOUNT;
	uc.step->until_amount.present = uc.amounts;
}

static void h_step_blocked(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	int b;

	(void)arg;
	if (cfg_version_2(p, v) && cfg_get_bool(p, v, &b) == 0)
		((step_ctx *)obj)->step->blocked_by_loss = b;
}

static void h_step_withholding(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_step *s = ((step_ctx *)obj)->step;

	(void)arg;
	if (!cfg_version_2(p, v) || cfg_get_rate(p, v, s->withholding))
		return;
	if (mpq_cmp_ui(s->withholding, 1, 1) > 0)
		cfg_error_at(p, &v->start_mark, "'%s' is more than 100%%", p->path);
	s->has_withholding = 1;
}

static void h_step_choice(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_step *s = ((step_ctx *)obj)->step;
	int i;

	if (!cfg_version_2(p, v))
		return;
	if (arg == SK_CAP && cfg_get_enum(p, v, cap_names, 1, &i) == 0)
		s->cap_member_business = 1;
	else if (arg == SK_CAP_BASIS && cfg_get_enum(p, v, cap_basis_names, 2, &i) == 0)
		s->cap_basis = (cs_basis)i;
	else if (arg == SK_NOTICE && cfg_get_enum(p, v, notice_names, 1, &i) == 0)
		s->notice_qualified = 1;
}

static void h_due_part(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_step *s = obj;
	int64_t n;

	if (cfg_get_int(p, v, 0, arg ? 3660 : 120, &n) == 0)
		*(arg ? &s->due_days : &s->due_months) = (int)n;
}

static const key_spec due_keys[] = {
	{"months", h_due_part, 0, 0},
	{"days", h_due_part, 1, 0},
};

/* payment_due: {months: N, days: N} */
static void h_step_payment_due(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	step_ctx *sc = obj;
	key_seen seen[2];
	size_t errs = p->n_errs;

	(void)arg;
	if (!cfg_version_2(p, v) || !cfg_want_map(p, v))
		return;
	cfg_parse_map(p, v, due_keys, 2, sc->step, seen);
	if (!seen[0].seen && !seen[1].seen)
		cfg_error_at(p, &v->start_mark, "'%s' needs months or days", p->path);
	sc->step->has_payment_due = 1;
	sc->payment_due_ok = p->n_errs == errs;
}

static void h_step_basis(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	int b;

	(void)arg;
	if (cfg_get_enum(p, v, basis_names, sizeof(basis_names) / sizeof(basis_names[0]), &b) == 0)
		((step_ctx *)obj)->basis = b;
}

static void h_class_share(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	shares_ctx *sc = obj;
	cs_step *s = sc->step;

	CS_ASSERT(s->n_classes < CS_CLASSES_MAX);
	s->classes[s->n_classes] = (cs_class)arg;
	if (cfg_get_rate(p, v, s->class_shares[s->n_classes]))
		sc->bad = 1;
	s->n_classes++;
}

static const key_spec class_keys[] = {
	{"producer", h_class_share, CS_CLASS_PRODUCER, 0},
	{"consumer", h_class_share, CS_CLASS_CONSUMER, 0},
};

static void h_step_classes(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	shares_ctx sc;
	key_seen seen[2];

	(void)arg;
	if (!cfg_want_map(p, v))
		return;
	memset(&sc, 0, sizeof(sc));
	sc.step = ((step_ctx *)obj)->step;
	cfg_parse_map(p, v, class_keys, 2, &sc, seen);
	if (!sc.bad && !p->fatal) {
		mpq_srcptr shares[CS_CLASSES_MAX];
		size_t i;

		for (i = 0; i < sc.step->n_classes; i++)
			shares[i] = sc.step->class_shares[i];
		cfg_check_shares_sum(p, v, shares, sc.step->n_classes);
	}
}

static void h_step_min_patronage(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_step *s = ((step_ctx *)obj)->step;
	unsigned char all[CS_CURRENCIES_MAX];
	money_ref ref;

	(void)arg;
	if (cfg_get_money(p, v, &s->min_patronage, 1, &ref))
		return;
	memset(all, 1, sizeof(all));
	cfg_money_resolve(p, &s->min_patronage, &ref, all);
}

static const key_spec step_keys[SK_COUNT] = {
	[SK_ID] = {"id", h_step_id, 0, 1},
	[SK_TYPE] = {"type", h_step_type, 0, 1},
	[SK_SHARE] = {"share", h_step_share, 0, 0},
	[SK_ACCOUNT] = {"account", h_step_account, 0, 0},
	[SK_RATE] = {"rate", h_step_rate, SK_RATE, 0},
	[SK_CAP_SHARE] = {"cap_share", h_step_rate, SK_CAP_SHARE, 0},
	[SK_BASIS] = {"basis", h_step_basis, 0, 0},
	[SK_CLASSES] = {"classes", h_step_classes, 0, 0},
	[SK_MIN_PATRONAGE] = {"min_patronage", h_step_min_patronage, 0, 0},
	[SK_CASH_FRACTION] = {"cash_fraction", h_step_rate, SK_CASH_FRACTION, 0},
	[SK_UNTIL] = {"until", h_step_until, 0, 0},
	[SK_BLOCKED_BY_LOSS] = {"blocked_by_loss", h_step_blocked, 0, 0},
	[SK_WITHHOLDING] = {"withholding", h_step_withholding, 0, 0},
	[SK_CAP] = {"cap", h_step_choice, SK_CAP, 0},
	[SK_CAP_BASIS] = {"cap_basis", h_step_choice, SK_CAP_BASIS, 0},
	[SK_NOTICE] = {"notice", h_step_choice, SK_NOTICE, 0},
	[SK_PAYMENT_DUE] = {"payment_due", h_step_payment_due, 0, 0},
};

/* Checks of a whole step: keys of its type, and the waterfall's shares. */
/* The step's `basis`, by its type: fees or volume for patronage,
 * daily_balance for capital interest with config version 2. */
static void finish_basis(cfg_parse *p, const step_ctx *sc, const key_seen *seen)
{
	cs_step *s = sc->step;

	if (!seen[SK_BASIS].seen || sc->basis < 0)
		return;
	if (s->type == CS_STEP_PATRONAGE && sc->basis <= CS_BASIS_VOLUME) {
		s->basis = (cs_basis)sc->basis;
	} else if (s->type == CS_STEP_CAPITAL_INTEREST && sc->basis >= 2) {
		if (p->cfg->version < 2)
			cfg_error_at(p, &seen[SK_BASIS].value,
				     "'basis: %s' counts capital over time from capital movements "
				     "(source.capital), which only 'version: 2' reads",
				     basis_names[sc->basis]);
		s->interest_basis = sc->basis == 2 ? CS_INTEREST_DAILY_BALANCE
						   : CS_INTEREST_OPENING_BALANCE;
	} else if (s->type != CS_STEP_ACCOUNT) {
		cfg_error_at(p, &seen[SK_BASIS].value, "'basis' of a %s step is %s",
			     step_type_names[s->type],
			     s->type == CS_STEP_PATRONAGE ? "fees or volume"
							  : "daily_balance or opening_balance");
	}
}

/* Nonzero when a payment due months + days after any last day of a window
 * can fall later than 8 months (clamped) + 15 days after it (26 USC
 * 1382(d), spec 10.7.11): tried on every day of a 400-year cycle, which
 * holds every pattern of month lengths. */
static int due_too_late(int months, int days)
{
	int64_t d0 = cs_days_from_civil(2000, 3, 1), d;

	for (d = d0; d < d0 + 146097; d++)
		if (cs_day_add(d, months, days) > cs_day_add(d, 8, 15))
			return 1;
	return 0;
}

/* Version 2 checks of a whole step: cap_basis needs cap; a qualified
 * notice needs payment_due within 8 months and 15 days and at least 20%
 * in cash (spec 10.3, 10.7.11). */
static void finish_law(cfg_parse *p, const step_ctx *sc, const key_seen *seen)
{
	cs_step *s = sc->step;
	char buf[64];

	if (s->type != CS_STEP_PATRONAGE)
		return;
	if (seen[SK_CAP_BASIS].seen && !seen[SK_CAP].seen)
		cfg_error_at(p, &seen[SK_CAP_BASIS].key, "'cap_basis' needs 'cap: member_business'");
	if (!s->notice_qualified)
		return;
	if (!seen[SK_PAYMENT_DUE].seen)
		cfg_error_at(p, &seen[SK_NOTICE].key,
			     "'notice: qualified' needs 'payment_due' (26 USC 1388: the date the "
			     "cash part is paid)");
	else if (sc->payment_due_ok && due_too_late(s->due_months, s->due_days))
		cfg_error_at(p, &seen[SK_PAYMENT_DUE].value,
			     "'payment_due' of %d months and %d days can fall later than 8 months "
			     "and 15 days after the window's last day (26 USC 1382(d))",
			     s->due_months, s->due_days);
	if (mpq_cmp_ui(s->cash_fraction, 1, 5) < 0 && sc->cash_fraction_ok)
		cfg_error_at(p, &seen[SK_CASH_FRACTION].value,
			     "'cash_fraction' is %s: 'notice: qualified' needs at least 20%% in cash "
			     "(26 USC 1388(c))",
			     cfg_rate_text(buf, sizeof(buf), s->cash_fraction));
}

static void finish_step(cfg_parse *p, const step_ctx *sc, const key_seen *seen,
			const cfg_event *start)
{
	keys_state *ks = p->keys;
	cs_step *s = sc->step;
	const char *type = step_type_names[s->type];
	unsigned allowed, required;
	char buf[64];
	int k;

	if (!sc->type_ok)
		return;
	finish_basis(p, sc, seen);
	allowed = step_type_keys[s->type].allowed;
	required = step_type_keys[s->type].required;
	for (k = SK_SHARE; k < SK_COUNT; k++) {
		if (seen[k].seen && !(allowed & SK_BIT(k)))
			cfg_error_at(p, &seen[k].key, "'%s' is not allowed in a step of type '%s'",
				 step_keys[k].name, type);
		else if (!seen[k].seen && (required & SK_BIT(k)))
			cfg_error_at(p, &start->start_mark, "'%s' of type '%s' needs '%s'", p->path, type,
				 step_keys[k].name);
	}
	finish_law(p, sc, seen);
	if (!(allowed & SK_BIT(SK_SHARE))) {
		s->share_kind = CS_SHARE_NONE;
		return;
	}
	if (!sc->share_ok)
		return;
	if (s->share_kind == CS_SHARE_REMAINING) {
		if (ks->remaining_seen)
			cfg_error_at(p, &seen[SK_SHARE].value,
				 "'share: remaining' may appear only once (first at line %zu)",
				 ks->remaining_line);
		ks->remaining_seen = 1;
		ks->remaining_line = seen[SK_SHARE].value.line + 1;
		return;
	}
	mpq_add(ks->share_sum, ks->share_sum, s->share);
	if (!ks->share_sum_reported && mpq_cmp_ui(ks->share_sum, 1, 1) > 0) {
		cs_q_to_decimal(buf, sizeof(buf), ks->share_sum, 9);
		cfg_error_at(p, &seen[SK_SHARE].value,
			 "the shares of the surplus steps sum to %s here, more than 1", buf);
		ks->share_sum_reported = 1;
	}
}

static void step_item(cfg_parse *p, void *obj, size_t index, const cfg_event *ev)
{
	cs_config *cfg = p->cfg;
	step_ctx sc;
	key_seen seen[SK_COUNT];

	(void)obj;
	if (!cfg_want_map(p, ev))
		return;
	if (cfg->n_steps == CS_STEPS_MAX) {
		if (index == CS_STEPS_MAX)
			cfg_error_at(p, &ev->start_mark, "more than %d surplus steps", CS_STEPS_MAX);
		cfg_skip_value(p, ev);
		return;
	}
	cfg->steps = cfg_array_grow(cfg->steps, cfg->n_steps, sizeof(cs_step));
	memset(&sc, 0, sizeof(sc));
	sc.basis = -1;
	sc.step = &cfg->steps[cfg->n_steps++];
	cfg_step_init(sc.step);
	sc.step->line = cfg_to_unsigned(ev->start_mark.line + 1);
	cfg_parse_map(p, ev, step_keys, SK_COUNT, &sc, seen);
	if (!p->fatal)
		finish_step(p, &sc, seen, ev);
}

static void h_steps(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	(void)arg;
	if (!cfg_want_seq(p, v))
		return;
	if (cfg_parse_seq(p, NULL, step_item) == 0 && !p->fatal)
		cfg_error_at(p, &v->start_mark, "'%s' must list at least one step", p->path);
}

static void h_costs_relation(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	(void)arg;
	if (cfg_get_relation(p, v, &p->cfg->costs_relation) == 0)
		p->cfg->costs_from_relation = 1;
}

typedef struct amount_ctx {
	cs_money *m;
	const char *what;
	cfg_mark marks[CS_CURRENCIES_MAX];
	unsigned char given[CS_CURRENCIES_MAX];
} amount_ctx;

static void amount_pair(cfg_parse *p, void *obj, const cfg_event *key, const cfg_event *val)
{
	amount_ctx *ac = obj;
	cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	money_ref ref;
	int i;

	cfg_show(buf, sizeof(buf), cfg_scalar_text(key), cfg_scalar_len(key));
	i = cfg_currency_of(cfg, key);
	if (i < 0) {
		if (cfg->n_currencies > 0)
			cfg_error_at(p, &key->start_mark, "currency '%s' of '%s' is not in "
				 "'currencies'", buf, ac->what);
		cfg_skip_value(p, val);
		return;
	}
	if (ac->given[i]) {
		cfg_error_at(p, &key->start_mark, "duplicate key '%s' in '%s' (first at "
			 "line %zu)", buf, ac->what, ac->marks[i].line + 1);
		cfg_skip_value(p, val);
		return;
	}
	ac->given[i] = 1;
	ac->marks[i] = key->start_mark;
	if (cfg_get_money(p, val, ac->m, 1, &ref))
		return;
	cfg_money_to_minor(p, ac->m, (size_t)i, &ref);
}

int cfg_money_map(cfg_parse *p, const cfg_event *v, cs_money *m, const char *what,
		  unsigned char *given)
{
	amount_ctx ac;

	if (!cfg_want_map(p, v))
		return -1;
	memset(&ac, 0, sizeof(ac));
	ac.m = m;
	ac.what = what;
	cfg_parse_pairs(p, &ac, amount_pair);
	m->present = 1;
	mpq_set_ui(m->major, 0, 1); /* per currency: see minor[] */
	if (given)
		memcpy(given, ac.given, sizeof(ac.given));
	return 0;
}

int cfg_get_int(cfg_parse *p, const cfg_event *v, int64_t lo, int64_t hi, int64_t *out)
{
	char buf[SHOW_BYTES];
	char text[32];
	size_t len;

	if (!cfg_want_scalar(p, v, "a whole number"))
		return -1;
	len = cfg_scalar_len(v);
	if (len > 0 && len < sizeof(text) && v->plain) {
		memcpy(text, cfg_scalar_text(v), len);
		text[len] = 0;
		if (cs_parse_i64(text, out) == 0 && *out >= lo && *out <= hi)
			return 0;
	}
	cfg_error_at(p, &v->start_mark, "'%s' is '%s', not a whole number from %lld to %lld",
		     p->path, cfg_show(buf, sizeof(buf), cfg_scalar_text(v), len), (long long)lo,
		     (long long)hi);
	return -1;
}

static void h_costs_amount(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_config *cfg = p->cfg;
	unsigned char given[CS_CURRENCIES_MAX];
	size_t i;

	(void)obj;
	(void)arg;
	if (cfg_money_map(p, v, &cfg->costs_amount, "surplus.costs.amount", given) < 0 ||
	    p->fatal)
		return;
	for (i = 0; i < cfg->n_currencies; i++)
		if (!given[i])
			cfg_error_at(p, &v->start_mark, "'%s' lacks an amount for currency %s", p->path,
				 cfg->currencies[i].code);
}

static const key_spec costs_keys[] = {
	{"relation", h_costs_relation, 0, 0},
	{"amount", h_costs_amount, 0, 0},
};

static void h_costs(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[2];

	(void)arg;
	if (!cfg_want_map(p, v))
		return;
	cfg_parse_map(p, v, costs_keys, 2, obj, seen);
	if (p->fatal)
		return;
	if (seen[0].seen && seen[1].seen)
		cfg_error_at(p, cfg_later(&seen[0].key, &seen[1].key),
			 "'%s' takes 'relation' or 'amount', not both", p->path);
	else if (!seen[0].seen && !seen[1].seen)
		cfg_error_at(p, &v->start_mark, "'%s' needs 'relation' or 'amount'", p->path);
}

static void h_retained_is_capital(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	int b;

	(void)obj;
	(void)arg;
	if (cfg_version_2(p, v) && cfg_get_bool(p, v, &b) == 0)
		p->cfg->retained_is_capital = b;
}

static const key_spec surplus_keys[] = {
	{"costs", h_costs, 0, 0},
	{"steps", h_steps, 0, 1},
	{"retained_is_capital", h_retained_is_capital, 0, 0},
	{"opening", cfg_h_opening, 0, 0},
	{"loss_cover", cfg_h_loss_cover, 0, 0},
	{"total_assets", cfg_h_total_assets, 0, 0},
};

void cfg_h_surplus(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[sizeof(surplus_keys) / sizeof(surplus_keys[0])];

	(void)arg;
	if (!cfg_want_map(p, v))
		return;
	p->cfg->has_surplus = 1;
	cfg_parse_map(p, v, surplus_keys, sizeof(surplus_keys) / sizeof(surplus_keys[0]), obj,
		      seen);
}

