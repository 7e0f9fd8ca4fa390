/*
 * keys.c -- the key handlers of the config loader: one table of keys per
 * mapping (top level, source, accounts, fees and their tiers and when,
 * surplus and its steps and costs), each key with its handler and whether
 * it is required. The handlers read values through the reader (parse.h)
 * and store them in the typed model; checks that span several keys run at
 * the end of their mapping (finish_rule, finish_step).
 *
 * The file is walked twice. Pass 1 is quiet and only stores `currencies`,
 * because money anywhere in the file must be exact in minor units of the
 * currencies it applies to, and `currencies` may come last. Pass 2 checks
 * and stores everything else.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coopsettle/config.h"
#include "coopsettle/error.h"
#include "coopsettle/limits.h"
#include "coopsettle/num.h"
#include "parse.h"

/* What the walk keeps across the steps of the surplus waterfall. */
typedef struct keys_state {
	mpq_t share_sum;
	int share_sum_reported;
	int remaining_seen;
	size_t remaining_line;
} keys_state;

enum { RM_FIXED, RM_MIN, RM_MAX, RM_MIN_AMOUNT, RM_MAX_AMOUNT, RM_COUNT };

typedef struct rule_ctx {
	cs_rule *rule;
	size_t index;
	money_ref money[RM_COUNT];
	money_ref up_to[CS_TIERS_MAX];
	int up_to_given[CS_TIERS_MAX];
	cfg_mark tier_start[CS_TIERS_MAX];
	int tiers_reported_max;
} rule_ctx;

typedef struct tier_ctx {
	rule_ctx *rc;
	size_t index;
} tier_ctx;

typedef struct step_ctx {
	cs_step *step;
	int type_ok;
	int share_ok;
	int basis; /* index into basis_names, -1: not given or not valid */
} step_ctx;

typedef struct shares_ctx {
	mpq_t *share[CS_CLASSES_MAX]; /* borne_by: where each class's share goes */
	cs_step *step;                /* classes: appended in config order */
	int bad;
} shares_ctx;

static const char *const account_defaults[CS_ACCOUNT_COUNT] = {
	"assets:clearing",       "liabilities:payable:producers", "income:fees",
	"liabilities:capital-interest", "liabilities:patronage", "equity:member-capital",
	"equity:reserves:free",  "equity:surplus",
};

static const char *const step_type_names[] = {"account", "capital_interest", "patronage"};
/* `basis` of a step: patronage takes the first two, capital interest
 * (config version 2) the third. */
static const char *const basis_names[] = {"fees", "volume", "daily_balance"};
static const char *const on_invalid_names[] = {"abort", "quarantine"};

static int is_currency_code(const char *s, size_t len)
{
	size_t i;

	if (len != 3)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return 0;
	return 1;
}

static int sum_is_one(mpq_srcptr const *shares, size_t n, mpq_t sum)
{
	size_t i;

	mpq_set_ui(sum, 0, 1);
	for (i = 0; i < n; i++)
		mpq_add(sum, sum, shares[i]);
	return mpq_cmp_ui(sum, 1, 1) == 0;
}

/* ---- currencies ----------------------------------------------------------- */

typedef struct currencies_ctx {
	char codes[CS_CURRENCIES_MAX][4]; /* valid codes seen, for duplicates */
	cfg_mark marks[CS_CURRENCIES_MAX];
	size_t n;
	int reported_max;
} currencies_ctx;

static void currency_pair(cfg_parse *p, void *obj, const cfg_event *key, const cfg_event *val)
{
	currencies_ctx *cc = obj;
	cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	const char *s;
	size_t i, len;
	unsigned exponent = 0;

	if (!is_currency_code(cfg_scalar_text(key), cfg_scalar_len(key))) {
		cfg_error_at(p, &key->start_mark, "currency code '%s' must be 3 uppercase letters (ISO 4217)",
			 cfg_show(buf, sizeof(buf), cfg_scalar_text(key), cfg_scalar_len(key)));
		cfg_skip_value(p, val);
		return;
	}
	for (i = 0; i < cc->n; i++) {
		if (memcmp(cc->codes[i], cfg_scalar_text(key), 3) == 0) {
			cfg_error_at(p, &key->start_mark,
				 "duplicate key '%s' in 'currencies' (first at line %zu)",
				 cc->codes[i], cc->marks[i].line + 1);
			cfg_skip_value(p, val);
			return;
		}
	}
	if (cc->n == CS_CURRENCIES_MAX) {
		if (!cc->reported_max)
			cfg_error_at(p, &key->start_mark, "more than %d currencies", CS_CURRENCIES_MAX);
		cc->reported_max = 1;
		cfg_skip_value(p, val);
		return;
	}
	memcpy(cc->codes[cc->n], cfg_scalar_text(key), 3);
	cc->codes[cc->n][3] = '\0';
	cc->marks[cc->n] = key->start_mark;
	cc->n++;
	if (!cfg_want_scalar(p, val, "a minor-unit exponent"))
		return;
	s = cfg_scalar_text(val);
	len = cfg_scalar_len(val);
	for (i = 0; i < len && i < 3 && s[i] >= '0' && s[i] <= '9'; i++)
		exponent = exponent * 10 + (unsigned)(s[i] - '0');
	if (i != len || exponent > CS_EXPONENT_MAX) {
		cfg_error_at(p, &val->start_mark,
			 "exponent '%s' of '%s' must be a whole number from 0 to %d",
			 cfg_show(buf, sizeof(buf), s, len), p->path, CS_EXPONENT_MAX);
		return;
	}
	if (p->pass == 1) {
		cs_currency *c = &cfg->currencies[cfg->n_currencies++];

		memset(c, 0, sizeof(*c));
		memcpy(c->code, cfg_scalar_text(key), 3);
		c->exponent = exponent;
	}
}

static void h_currencies(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	currencies_ctx cc;

	(void)obj;
	(void)arg;
	if (!cfg_want_map(p, v))
		return;
	memset(&cc, 0, sizeof(cc));
	cfg_parse_pairs(p, &cc, currency_pair);
	if (cc.n == 0 && !cc.reported_max && !p->fatal)
		cfg_error_at(p, &v->start_mark, "'currencies' must list at least one currency");
}

static void sort_currencies(cs_config *cfg)
{
	size_t i, j;

	for (i = 1; i < cfg->n_currencies; i++) {
		cs_currency c = cfg->currencies[i];

		for (j = i; j > 0 && strcmp(cfg->currencies[j - 1].code, c.code) > 0; j--)
			cfg->currencies[j] = cfg->currencies[j - 1];
		cfg->currencies[j] = c;
	}
}

/* Index of the currency whose code is the scalar ev, or -1. */
static int currency_of(const cs_config *cfg, const cfg_event *ev)
{
	return cs_config_currency_index(cfg, cfg_scalar_text(ev), cfg_scalar_len(ev));
}

/* ---- top level ------------------------------------------------------------ */

static void h_version(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	char buf[SHOW_BYTES];

	(void)obj;
	(void)arg;
	if (!cfg_want_scalar(p, v, "1 or 2"))
		return;
	if (!cfg_text_is(v, "1") && !cfg_text_is(v, "2")) {
		cfg_error_at(p, &v->start_mark,
			     "unsupported 'version' '%s': this engine reads versions 1 and 2",
			     cfg_show(buf, sizeof(buf), cfg_scalar_text(v), cfg_scalar_len(v)));
		return;
	}
	p->cfg->version = cfg_text_is(v, "2") ? 2 : 1;
}

static void h_cooperative(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	(void)arg;
	cfg_get_name(p, v, &p->cfg->cooperative);
}

static void h_currency(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	int i;

	(void)obj;
	(void)arg;
	if (!cfg_want_scalar(p, v, "a currency code"))
		return;
	cfg_show(buf, sizeof(buf), cfg_scalar_text(v), cfg_scalar_len(v));
	if (!is_currency_code(cfg_scalar_text(v), cfg_scalar_len(v))) {
		cfg_error_at(p, &v->start_mark, "currency code '%s' must be 3 uppercase letters (ISO 4217)",
			 buf);
		return;
	}
	if (cfg->n_currencies == 0)
		return; /* `currencies` is missing or broken, and reported */
	i = currency_of(cfg, v);
	if (i < 0) {
		cfg_error_at(p, &v->start_mark, "base currency '%s' is not in 'currencies'", buf);
		return;
	}
	cfg->base_currency = (size_t)i;
}

/* Names a tz database holds beside the zones that must not name a
 * cooperative's calendar: links to the host's own zone, the posix and
 * right (leap second) copies, and the "Factory" zone. */
static int tz_host_dependent(const char *name, size_t len)
{
	static const char *const names[] = {"localtime", "posixrules", "Factory"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (len == strlen(names[i]) && memcmp(name, names[i], len) == 0)
			return 1;
	return (len > 6 && memcmp(name, "right/", 6) == 0) ||
	       (len > 6 && memcmp(name, "posix/", 6) == 0);
}

/* The text of $TZDIR/tzdata.zi (the tz database's own list of its zones,
 * "Z NAME ..." lines, and links, "L TARGET NAME" lines), read once; NULL
 * when the system has none. */
static const char *tzdata_zi(void)
{
	static char *text;
	static int tried;
	const char *dir = getenv("TZDIR");
	char path[4200];
	size_t n;
	FILE *f;

	if (tried)
		return text;
	tried = 1;
	if (dir == NULL || dir[0] == '\0' || strlen(dir) > 4000)
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/tzdata.zi", dir);
	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	text = cfg_xmalloc(CS_CONFIG_BYTES_MAX + 1);
	n = fread(text, 1, CS_CONFIG_BYTES_MAX, f);
	text[n] = '\0';
	fclose(f);
	return text;
}

/* Nonzero when name is a zone or a link of tzdata.zi (always, when the
 * system has no tzdata.zi: the file check below still holds). */
static int tz_listed(const char *name, size_t len)
{
	const char *t = tzdata_zi(), *line;

	if (t == NULL)
		return 1;
	for (line = t; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
		const char *end = strchr(line, '\n'), *word;

		if (end == NULL)
			end = line + strlen(line);
		if (line[0] == 'Z' && line[1] == ' ') {
			word = line + 2;
		} else if (line[0] == 'L' && line[1] == ' ') {
			word = memchr(line + 2, ' ', (size_t)(end - line - 2));
			if (word == NULL)
				continue;
			word++;
		} else {
			continue;
		}
		if ((size_t)(end - word) >= len && memcmp(word, name, len) == 0 &&
		    (word + len == end || word[len] == ' '))
			return 1;
	}
	return 0;
}

/* A time zone name of the IANA database, the same on every host: listed
 * in the system's tzdata.zi as a zone or a link, not one of the
 * host-dependent names, and a regular file under $TZDIR (default
 * /usr/share/zoneinfo) that starts with "TZif". */
static int timezone_known(const char *name, size_t len)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_BYTES + 4096];
	char magic[4];
	struct stat st;
	size_t i;
	FILE *f;
	int ok;

	if (len == 0 || len > CS_NAME_BYTES_MAX || name[0] == '/')
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '/' || c == '-'))
			return 0;
	}
	if (tz_host_dependent(name, len) || !tz_listed(name, len))
		return 0;
	if (dir == NULL || dir[0] == '\0' || strlen(dir) > 4000)
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%.*s", dir, (int)len, name);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

static void h_timezone(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	char buf[SHOW_BYTES];

	(void)obj;
	(void)arg;
	if (!cfg_want_scalar(p, v, "a time zone name"))
		return;
	if (!timezone_known(cfg_scalar_text(v), cfg_scalar_len(v))) {
		cfg_error_at(p, &v->start_mark,
			 "unknown time zone '%s': use a zone name of the IANA tz database, such as "
			 "Europe/Berlin or UTC (not localtime, posixrules, Factory, right/ or posix/ "
			 "names, which differ between hosts)",
			 cfg_show(buf, sizeof(buf), cfg_scalar_text(v), cfg_scalar_len(v)));
		return;
	}
	free(p->cfg->timezone);
	p->cfg->timezone = cfg_xstrndup(cfg_scalar_text(v), cfg_scalar_len(v));
}

/* close_after (spec section 10.4): how long after its end a window counts
 * as closed. A whole number and a unit, m(inutes), h(ours) or d(ays): 0h,
 * 30m, 6h, 2d; at most CS_CLOSE_AFTER_DAYS_MAX days. */
static void h_close_after(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	const char *t;
	size_t len, i;
	int64_t n = 0, unit_us;
	char buf[SHOW_BYTES];

	(void)obj;
	(void)arg;
	if (!cfg_want_scalar(p, v, "a duration such as 0h, 6h or 2d"))
		return;
	t = cfg_scalar_text(v);
	len = cfg_scalar_len(v);
	for (i = 0; i + 1 < len && t[i] >= '0' && t[i] <= '9' && n <= 1000000; i++)
		n = n * 10 + (t[i] - '0');
	unit_us = len >= 2 && i == len - 1 ? (t[i] == 'm' ? INT64_C(60000000)
					      : t[i] == 'h' ? INT64_C(3600000000)
					      : t[i] == 'd' ? INT64_C(86400000000) : 0)
					   : 0;
	if (unit_us == 0 || n * unit_us > CS_CLOSE_AFTER_DAYS_MAX * INT64_C(86400000000)) {
		cfg_error_at(p, &v->start_mark,
			     "'close_after' must be a whole number of minutes, hours or days "
			     "(0h, 30m, 6h, 2d) of at most %d days, not '%s'",
			     CS_CLOSE_AFTER_DAYS_MAX,
			     cfg_show(buf, sizeof(buf), t, len));
		return;
	}
	p->cfg->close_after_us = n * unit_us;
}

static void h_rounding(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	char name[32], buf[SHOW_BYTES];

	(void)obj;
	(void)arg;
	if (!cfg_want_scalar(p, v, "a rounding mode"))
		return;
	if (cfg_scalar_len(v) < sizeof(name) && memchr(cfg_scalar_text(v), '\0', cfg_scalar_len(v)) == NULL) {
		memcpy(name, cfg_scalar_text(v), cfg_scalar_len(v));
		name[cfg_scalar_len(v)] = '\0';
		if (cs_rounding_parse(name, &p->cfg->rounding) == 0)
			return;
	}
	cfg_error_at(p, &v->start_mark,
		 "unknown value '%s' for 'rounding' (expected one of: half_even, half_up, "
		 "half_down, down, up)",
		 cfg_show(buf, sizeof(buf), cfg_scalar_text(v), cfg_scalar_len(v)));
}

static void h_on_invalid(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	int i;

	(void)obj;
	(void)arg;
	if (cfg_get_enum(p, v, on_invalid_names, 2, &i) == 0)
		p->cfg->on_invalid = (cs_on_invalid)i;
}

/* A key that only config version 2 has: reports it in a version 1 config
 * (the version is read in pass 1, wherever it stands). Returns 1 when the
 * key may be used. */
static int version_2(cfg_parse *p, const cfg_event *v)
{
	if (p->cfg->version >= 2)
		return 1;
	cfg_error_at(p, &v->start_mark, "'%s' needs 'version: 2' (time-true records)", p->path);
	cfg_skip_value(p, v);
	return 0;
}

static void h_source_relation(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_config *cfg = p->cfg;
	cs_relation *r = arg == 0 ? &cfg->source_transactions
		       : arg == 1 ? &cfg->source_members
		       : arg == 2 ? &cfg->source_costs
				  : &cfg->source_capital;

	(void)obj;
	if (arg == 3 && !version_2(p, v))
		return;
	cfg_get_relation(p, v, r);
}

static const key_spec source_keys[] = {
	{"transactions", h_source_relation, 0, 0},
	{"members", h_source_relation, 1, 0},
	{"costs", h_source_relation, 2, 0},
	{"capital", h_source_relation, 3, 0},
};

static void h_source(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[sizeof(source_keys) / sizeof(source_keys[0])];

	(void)arg;
	if (cfg_want_map(p, v))
		cfg_parse_map(p, v, source_keys, sizeof(source_keys) / sizeof(source_keys[0]), obj,
			      seen);
}

static void h_account(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	cfg_get_name(p, v, &p->cfg->accounts[arg]);
}

static const key_spec account_specs[CS_ACCOUNT_COUNT] = {
	{"clearing", h_account, CS_ACCOUNT_CLEARING, 0},
	{"producer_payable", h_account, CS_ACCOUNT_PRODUCER_PAYABLE, 0},
	{"fee_income", h_account, CS_ACCOUNT_FEE_INCOME, 0},
	{"capital_interest", h_account, CS_ACCOUNT_CAPITAL_INTEREST, 0},
	{"patronage_cash", h_account, CS_ACCOUNT_PATRONAGE_CASH, 0},
	{"patronage_retained", h_account, CS_ACCOUNT_PATRONAGE_RETAINED, 0},
	{"retained_surplus", h_account, CS_ACCOUNT_RETAINED_SURPLUS, 0},
	{"surplus", h_account, CS_ACCOUNT_SURPLUS, 0},
};

static void h_accounts(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[CS_ACCOUNT_COUNT];

	(void)arg;
	if (cfg_want_map(p, v))
		cfg_parse_map(p, v, account_specs, CS_ACCOUNT_COUNT, obj, seen);
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
	i = currency_of(cfg, ev);
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

static const key_spec when_keys[] = {
	{"category", h_when_category, 0, 0},
	{"currency", h_when_currency, 0, 0},
	{"producer_member", h_when_member, CS_CLASS_PRODUCER, 0},
	{"consumer_member", h_when_member, CS_CLASS_CONSUMER, 0},
	{"min_amount", h_rule_money, RM_MIN_AMOUNT, 0},
	{"max_amount", h_rule_money, RM_MAX_AMOUNT, 0},
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

/* Reports shares (n of them) that do not sum to exactly 1. */
static void check_shares_sum(cfg_parse *p, const cfg_event *v, mpq_srcptr const *shares,
			     size_t n)
{
	char buf[64];
	mpq_t sum;

	mpq_init(sum);
	if (!sum_is_one(shares, n, sum)) {
		cs_q_to_decimal(buf, sizeof(buf), sum, 9);
		cfg_error_at(p, &v->start_mark, "shares of '%s' sum to %s, not exactly 1", p->path, buf);
	}
	mpq_clear(sum);
}

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
	check_shares_sum(p, v, shares, 2);
}

enum { RK_ID, RK_WHEN, RK_RATE, RK_TIERS, RK_FIXED, RK_MIN, RK_MAX, RK_BORNE_BY, RK_COUNT };

static const key_spec rule_keys[RK_COUNT] = {
	{"id", h_rule_id, 0, 1},
	{"when", h_rule_when, 0, 0},
	{"rate", h_rule_rate, 0, 0},
	{"tiers", h_rule_tiers, 0, 0},
	{"fixed", h_rule_money, RM_FIXED, 0},
	{"min", h_rule_money, RM_MIN, 0},
	{"max", h_rule_money, RM_MAX, 0},
	{"borne_by", h_rule_borne_by, 0, 0},
};

static const cfg_mark *later(const cfg_mark *a, const cfg_mark *b)
{
	return a->index > b->index ? a : b;
}

/* Checks of a whole rule: rate xor tiers, money exact in the currencies the
 * rule applies to, min <= max. */
static void finish_rule(cfg_parse *p, rule_ctx *rc, const key_seen *seen, const cfg_event *start)
{
	cs_rule *r = rc->rule;
	size_t i;
	int m;

	if (seen[RK_RATE].seen && seen[RK_TIERS].seen)
		cfg_error_at(p, later(&seen[RK_RATE].key, &seen[RK_TIERS].key),
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

static void h_fees(cfg_parse *p, void *obj, int arg, const cfg_event *v)
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

/* ---- surplus ----------------------------------------------------------------- */

enum {
	SK_ID, SK_TYPE, SK_SHARE, SK_ACCOUNT, SK_RATE, SK_CAP_SHARE,
	SK_BASIS, SK_CLASSES, SK_MIN_PATRONAGE, SK_CASH_FRACTION, SK_COUNT
};

#define SK_BIT(k) (1u << (k))

/* Keys allowed and required per step type, besides id and type. */
static const struct {
	unsigned allowed;
	unsigned required;
} step_type_keys[3] = {
	[CS_STEP_ACCOUNT] = {SK_BIT(SK_SHARE) | SK_BIT(SK_ACCOUNT),
			     SK_BIT(SK_SHARE) | SK_BIT(SK_ACCOUNT)},
	[CS_STEP_CAPITAL_INTEREST] = {SK_BIT(SK_RATE) | SK_BIT(SK_CAP_SHARE) | SK_BIT(SK_BASIS),
				      SK_BIT(SK_RATE)},
	[CS_STEP_PATRONAGE] = {SK_BIT(SK_SHARE) | SK_BIT(SK_BASIS) | SK_BIT(SK_CLASSES) |
				       SK_BIT(SK_MIN_PATRONAGE) | SK_BIT(SK_CASH_FRACTION),
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

	cfg_get_rate(p, v, arg == SK_RATE ? s->rate : arg == SK_CAP_SHARE ? s->cap_share : s->cash_fraction);
	if (arg == SK_CAP_SHARE)
		s->has_cap_share = 1;
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
		check_shares_sum(p, v, shares, sc.step->n_classes);
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
	} else if (s->type == CS_STEP_CAPITAL_INTEREST && sc->basis == 2) {
		if (p->cfg->version < 2)
			cfg_error_at(p, &seen[SK_BASIS].value,
				     "'basis' of a capital_interest step needs 'version: 2'");
		s->interest_basis = CS_INTEREST_DAILY_BALANCE;
	} else if (s->type != CS_STEP_ACCOUNT) {
		cfg_error_at(p, &seen[SK_BASIS].value, "'basis' of a %s step is %s",
			     step_type_names[s->type],
			     s->type == CS_STEP_PATRONAGE ? "fees or volume" : "daily_balance");
	}
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
	cfg_mark marks[CS_CURRENCIES_MAX];
	unsigned char given[CS_CURRENCIES_MAX];
} amount_ctx;

static void amount_pair(cfg_parse *p, void *obj, const cfg_event *key, const cfg_event *val)
{
	amount_ctx *ac = obj;
	cs_config *cfg = p->cfg;
	cs_money *m = &cfg->costs_amount;
	char buf[SHOW_BYTES];
	money_ref ref;
	int i;

	cfg_show(buf, sizeof(buf), cfg_scalar_text(key), cfg_scalar_len(key));
	i = currency_of(cfg, key);
	if (i < 0) {
		if (cfg->n_currencies > 0)
			cfg_error_at(p, &key->start_mark, "currency '%s' of 'surplus.costs.amount' is not in "
				 "'currencies'", buf);
		cfg_skip_value(p, val);
		return;
	}
	if (ac->given[i]) {
		cfg_error_at(p, &key->start_mark, "duplicate key '%s' in 'surplus.costs.amount' (first at "
			 "line %zu)", buf, ac->marks[i].line + 1);
		cfg_skip_value(p, val);
		return;
	}
	ac->given[i] = 1;
	ac->marks[i] = key->start_mark;
	if (cfg_get_money(p, val, m, 1, &ref))
		return;
	cfg_money_to_minor(p, m, (size_t)i, &ref);
}

static void h_costs_amount(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	cs_config *cfg = p->cfg;
	amount_ctx ac;
	size_t i;

	(void)obj;
	(void)arg;
	if (!cfg_want_map(p, v))
		return;
	memset(&ac, 0, sizeof(ac));
	cfg_parse_pairs(p, &ac, amount_pair);
	cfg->costs_amount.present = 1;
	mpq_set_ui(cfg->costs_amount.major, 0, 1); /* per currency: see minor[] */
	if (p->fatal)
		return;
	for (i = 0; i < cfg->n_currencies; i++)
		if (!ac.given[i])
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
		cfg_error_at(p, later(&seen[0].key, &seen[1].key),
			 "'%s' takes 'relation' or 'amount', not both", p->path);
	else if (!seen[0].seen && !seen[1].seen)
		cfg_error_at(p, &v->start_mark, "'%s' needs 'relation' or 'amount'", p->path);
}

static void h_retained_is_capital(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	int b;

	(void)obj;
	(void)arg;
	if (version_2(p, v) && cfg_get_bool(p, v, &b) == 0)
		p->cfg->retained_is_capital = b;
}

static const key_spec surplus_keys[] = {
	{"costs", h_costs, 0, 0},
	{"steps", h_steps, 0, 1},
	{"retained_is_capital", h_retained_is_capital, 0, 0},
};

static void h_surplus(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[sizeof(surplus_keys) / sizeof(surplus_keys[0])];

	(void)arg;
	if (!cfg_want_map(p, v))
		return;
	p->cfg->has_surplus = 1;
	cfg_parse_map(p, v, surplus_keys, sizeof(surplus_keys) / sizeof(surplus_keys[0]), obj,
		      seen);
}

/* ---- document --------------------------------------------------------------- */

static const key_spec top_keys[] = {
	{"version", h_version, 0, 1},
	{"cooperative", h_cooperative, 0, 1},
	{"currency", h_currency, 0, 1},
	{"currencies", h_currencies, 0, 1},
	{"timezone", h_timezone, 0, 0},
	{"close_after", h_close_after, 0, 0},
	{"rounding", h_rounding, 0, 0},
	{"on_invalid", h_on_invalid, 0, 0},
	{"source", h_source, 0, 0},
	{"accounts", h_accounts, 0, 0},
	{"fees", h_fees, 0, 1},
	{"surplus", h_surplus, 0, 0},
};

/* Pass 1 reads `currencies` and `version` only (quietly): money is checked
 * against the currencies and version 2's keys against the version, which
 * may both come last. */
static const key_spec top_keys_pass1[] = {
	{"currencies", h_currencies, 0, 0},
	{"version", h_version, 0, 0},
};

static int set_default_relation(cs_relation *r, const char *name)
{
	if (r->schema != NULL)
		return 0;
	return cfg_relation_set(r, name, strlen(name));
}

static void set_defaults(cs_config *cfg)
{
	size_t i;

	if (cfg->timezone == NULL)
		cfg->timezone = cfg_xstrndup("UTC", 3);
	CS_ASSERT(set_default_relation(&cfg->source_transactions, "coopsettle.transactions") == 0);
	CS_ASSERT(set_default_relation(&cfg->source_members, "coopsettle.members") == 0);
	CS_ASSERT(set_default_relation(&cfg->source_costs, "coopsettle.operating_costs") == 0);
	CS_ASSERT(set_default_relation(&cfg->source_capital, "coopsettle.capital_movements") == 0);
	for (i = 0; i < CS_ACCOUNT_COUNT; i++)
		if (cfg->accounts[i] == NULL)
			cfg->accounts[i] = cfg_xstrndup(account_defaults[i], strlen(account_defaults[i]));
	if (!cfg->costs_amount.present && cfg->costs_relation.schema == NULL) {
		/* no surplus.costs: the costs come from source.costs */
		cfg->costs_from_relation = 1;
		cfg->costs_relation.schema = cfg_xstrndup(cfg->source_costs.schema,
						      strlen(cfg->source_costs.schema));
		cfg->costs_relation.table = cfg_xstrndup(cfg->source_costs.table,
						     strlen(cfg->source_costs.table));
	}
}

void cfg_keys_load(cfg_parse *p)
{
	keys_state ks;

	memset(&ks, 0, sizeof(ks));
	mpq_init(ks.share_sum);
	p->keys = &ks;
	cfg_walk(p, 1, top_keys_pass1, sizeof(top_keys_pass1) / sizeof(top_keys_pass1[0]));
	sort_currencies(p->cfg);
	cfg_walk(p, 2, top_keys, sizeof(top_keys) / sizeof(top_keys[0]));
	if (p->n_errs == 0)
		set_defaults(p->cfg);
	p->keys = NULL;
	mpq_clear(ks.share_sum);
}
