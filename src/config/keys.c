/*
 * keys.c -- the key handlers of the config loader: one table of keys per
 * mapping, each key with its handler and whether it is required. This file
 * holds the document, the top level, `source` and `accounts`; the fee rules
 * are in keys_fees.c, the surplus waterfall in keys_surplus.c (keys.h is
 * what they share). The handlers read values through the reader (parse.h)
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
#include "coopsettle/util.h"
#include "coopsettle/num.h"
#include "keys.h"
#include "parse.h"

static const char *const account_defaults[CS_ACCOUNT_COUNT] = {
	"assets:clearing",       "liabilities:payable:producers", "income:fees",
	"liabilities:capital-interest", "liabilities:patronage", "equity:member-capital",
	"equity:reserves:free",  "equity:surplus", "equity:loss-carried-forward",
	"liabilities:withholding-tax", "liabilities:vat",
};

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
int cfg_currency_of(const cs_config *cfg, const cfg_event *ev)
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

static void h_schema(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	char buf[SHOW_BYTES];
	const char *why;

	(void)obj;
	(void)arg;
	if (!cfg_want_scalar(p, v, "a schema name"))
		return;
	why = cs_schema_name_problem(cfg_scalar_text(v), cfg_scalar_len(v));
	if (why) {
		cfg_error_at(p, &v->start_mark, "invalid 'schema' '%s': %s",
			     cfg_show(buf, sizeof(buf), cfg_scalar_text(v), cfg_scalar_len(v)), why);
		return;
	}
	free(p->cfg->schema);
	p->cfg->schema = cfg_xstrndup(cfg_scalar_text(v), cfg_scalar_len(v));
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
	i = cfg_currency_of(cfg, v);
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
int cfg_version_2(cfg_parse *p, const cfg_event *v)
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
		       : arg == 3 ? &cfg->source_capital
				  : &cfg->source_member_details;

	(void)obj;
	if (arg == 3 && !cfg_version_2(p, v))
		return;
	if (cfg_get_relation(p, v, r) == 0 && arg == 4)
		cfg->member_details_given = 1;
}

static const key_spec source_keys[] = {
	{"transactions", h_source_relation, 0, 0},
	{"members", h_source_relation, 1, 0},
	{"costs", h_source_relation, 2, 0},
	{"capital", h_source_relation, 3, 0},
	{"member_details", h_source_relation, 4, 0},
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
	if (arg >= CS_ACCOUNT_LOSS_CARRIED && !cfg_version_2(p, v))
		return;
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
	{"loss_carried_forward", h_account, CS_ACCOUNT_LOSS_CARRIED, 0},
	{"withholding", h_account, CS_ACCOUNT_WITHHOLDING, 0},
	{"vat", h_account, CS_ACCOUNT_VAT, 0},
};

static void h_accounts(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[CS_ACCOUNT_COUNT];

	(void)arg;
	if (cfg_want_map(p, v))
		cfg_parse_map(p, v, account_specs, CS_ACCOUNT_COUNT, obj, seen);
}

/* ---- document --------------------------------------------------------------- */

static const key_spec top_keys[] = {
	{"version", h_version, 0, 1},
	{"cooperative", h_cooperative, 0, 1},
	{"currency", h_currency, 0, 1},
	{"currencies", h_currencies, 0, 1},
	{"timezone", h_timezone, 0, 0},
	{"schema", h_schema, 0, 0},
	{"close_after", h_close_after, 0, 0},
	{"rounding", h_rounding, 0, 0},
	{"on_invalid", h_on_invalid, 0, 0},
	{"source", h_source, 0, 0},
	{"accounts", h_accounts, 0, 0},
	{"fees", cfg_h_fees, 0, 1},
	{"surplus", cfg_h_surplus, 0, 0},
	{"vat", cfg_h_vat_default, 0, 0},
	{"statements", cfg_h_statements, 0, 0},
};

/* Pass 1 reads `currencies` and `version` only (quietly): money is checked
 * against the currencies and version 2's keys against the version, which
 * may both come last. */
static const key_spec top_keys_pass1[] = {
	{"currencies", h_currencies, 0, 0},
	{"version", h_version, 0, 0},
};

/* Sets r to SCHEMA.table unless the config named it. */
static int set_default_relation(cs_relation *r, const char *schema, const char *table)
{
	char name[CS_SCHEMA_NAME_MAX + 32];

	if (r->schema != NULL)
		return 0;
	snprintf(name, sizeof(name), "%s.%s", schema, table);
	return cfg_relation_set(r, name, strlen(name));
}

static void set_defaults(cs_config *cfg)
{
	size_t i;

	if (cfg->timezone == NULL)
		cfg->timezone = cfg_xstrndup("UTC", 3);
	if (cfg->schema == NULL)
		cfg->schema = cfg_xstrndup("coopsettle", 10);
	CS_ASSERT(set_default_relation(&cfg->source_transactions, cfg->schema, "transactions") == 0);
	CS_ASSERT(set_default_relation(&cfg->source_members, cfg->schema, "members") == 0);
	CS_ASSERT(set_default_relation(&cfg->source_costs, cfg->schema, "operating_costs") == 0);
	CS_ASSERT(set_default_relation(&cfg->source_capital, cfg->schema, "capital_movements") == 0);
	CS_ASSERT(set_default_relation(&cfg->source_member_details, cfg->schema, "member_details") ==
		  0);
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
	keys_state *ks = cfg_xmalloc(sizeof(*ks)); /* large: the marks of every fund */

	memset(ks, 0, sizeof(*ks));
	mpq_init(ks->share_sum);
	p->keys = ks;
	cfg_walk(p, 1, top_keys_pass1, sizeof(top_keys_pass1) / sizeof(top_keys_pass1[0]));
	sort_currencies(p->cfg);
	cfg_walk(p, 2, top_keys, sizeof(top_keys) / sizeof(top_keys[0]));
	if (p->n_errs == 0) {
		set_defaults(p->cfg);
		cfg_keys_finish(p);
	}
	p->keys = NULL;
	mpq_clear(ks->share_sum);
	free(ks);
}

