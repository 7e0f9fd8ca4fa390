/*
 * config.h -- the typed, immutable settlement config (docs/config.md) and
 * its lookups: what the core reads. A config is made by the loader
 * (config_load.h, src/config/) and never changes afterwards.
 */
#ifndef COOPSETTLE_CONFIG_H
#define COOPSETTLE_CONFIG_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "coopsettle/limits.h"
#include "coopsettle/num.h"

typedef enum cs_class {
	CS_CLASS_PRODUCER = 0,
	CS_CLASS_CONSUMER = 1,
} cs_class;

typedef enum cs_tristate {
	CS_TRI_ANY = -1, /* key absent: no condition */
	CS_TRI_FALSE = 0,
	CS_TRI_TRUE = 1,
} cs_tristate;

typedef enum cs_on_invalid {
	CS_ON_INVALID_ABORT = 0, /* default */
	CS_ON_INVALID_QUARANTINE,
} cs_on_invalid;

/* Account keys of spec sections 5 and 6, in this order. */
typedef enum cs_account {
	CS_ACCOUNT_CLEARING = 0,       /* assets:clearing */
	CS_ACCOUNT_PRODUCER_PAYABLE,   /* liabilities:payable:producers */
	CS_ACCOUNT_FEE_INCOME,         /* income:fees */
	CS_ACCOUNT_CAPITAL_INTEREST,   /* liabilities:capital-interest */
	CS_ACCOUNT_PATRONAGE_CASH,     /* liabilities:patronage */
	CS_ACCOUNT_PATRONAGE_RETAINED, /* equity:member-capital */
	CS_ACCOUNT_RETAINED_SURPLUS,   /* equity:reserves:free */
	CS_ACCOUNT_SURPLUS,            /* equity:surplus */
	/* version 2 (spec 10.3) */
	CS_ACCOUNT_LOSS_CARRIED,       /* equity:loss-carried-forward (a debit balance) */
	CS_ACCOUNT_WITHHOLDING,        /* liabilities:withholding-tax */
	CS_ACCOUNT_VAT,                /* liabilities:vat (spec 10.8) */
	CS_ACCOUNT_COUNT
} cs_account;

/* A currency of `currencies`: ISO code and minor-unit exponent. */
typedef struct cs_currency {
	char code[16];
	unsigned exponent;
} cs_currency;

/* A money value from the config. major is the value as written (major
 * units). minor[i] is the value in minor units of currency i, for each of
 * the config's currencies the value can apply to (applies[i] != 0); the
 * loader has checked those are exact. present == 0: key absent. */
typedef struct cs_money {
	int present;
	mpq_t major;
	mpz_t minor[CS_CURRENCIES_MAX];
	unsigned char applies[CS_CURRENCIES_MAX];
} cs_money;

/* A marginal tier: rate applies to the part of |amount| above the previous
 * tier's up_to and at most up_to (the last tier has no up_to). */
typedef struct cs_tier {
	cs_money up_to; /* present == 0 for the last tier */
	mpq_t rate;
} cs_tier;

/* VAT on fees (config version 2, spec 10.8): a rule's `vat`, or the
 * top-level default. */
typedef struct cs_vat {
	int given;     /* the key is present */
	int none;      /* vat: none */
	mpq_t rate;    /* in [0, 1] */
	int included;  /* the rule computes the gross fee (default 0: the net fee) */
	char *account; /* NULL: accounts.vat */
} cs_vat;

/* A fee fund of a rule (config version 2, spec 10.3): share of each
 * side's fee credited to account. */
typedef struct cs_fund {
	char *account;
	mpq_t share;          /* > 0; a rule's shares sum to less than 1 */
	size_t account_index; /* derived: its place in cfg->fund_accounts */
} cs_fund;

/* A fee rule (spec section 5). */
typedef struct cs_rule {
	char *id;
	unsigned line; /* 1-based line of the rule in the file, for messages */
	/* when: every present condition must hold */
	char **categories; /* NULL-free array of n_categories strings */
	size_t n_categories;
	int has_categories;
	unsigned char currency_allowed[CS_CURRENCIES_MAX]; /* all 1 when absent */
	cs_tristate producer_member;
	cs_tristate consumer_member;
	cs_money min_amount; /* compared with |amount|, inclusive */
	cs_money max_amount;
	int has_from, has_until; /* version 2: local days from <= D < until */
	int64_t from_day, until_day;
	/* fee */
	cs_money fixed; /* absent means 0 */
	int has_rate;   /* exactly one of rate and tiers */
	mpq_t rate;
	cs_tier *tiers;
	size_t n_tiers;
	cs_money min;
	cs_money max;
	/* borne_by: shares sum to exactly 1; default producer 1, consumer 0 */
	mpq_t share_producer;
	mpq_t share_consumer;
	/* version 2 (spec 10.3): fee funds, each side's fee split by LR over
	 * the funds in this order, then income with the rest */
	size_t n_funds;
	cs_fund funds[CS_FUNDS_MAX];
	/* version 2 (spec 10.8): VAT as written, then the VAT that applies
	 * (the rule's, else the default; derived): vat_on, its rate and
	 * whether included, and its account */
	cs_vat vat;
	int vat_on;
	const cs_vat *vat_eff;
	const char *vat_account;
	size_t vat_account_index; /* its place in cfg->vat_accounts */
} cs_rule;

typedef enum cs_step_type {
	CS_STEP_ACCOUNT = 0,
	CS_STEP_CAPITAL_INTEREST,
	CS_STEP_PATRONAGE,
} cs_step_type;

typedef enum cs_share_kind {
	CS_SHARE_NONE = 0,  /* capital_interest has no share */
	CS_SHARE_FRACTION,  /* share: X */
	CS_SHARE_REMAINING, /* share: remaining */
} cs_share_kind;

typedef enum cs_basis {
	CS_BASIS_FEES = 0, /* default */
	CS_BASIS_VOLUME,
} cs_basis;

/* How capital interest counts capital (config version 2, spec 10.3). */
typedef enum cs_interest_basis {
	CS_INTEREST_DAILY_BALANCE = 0, /* version 2 default; with constant capital, spec 6's C * d */
	CS_INTEREST_OPENING_BALANCE,   /* GenG 21a: the capital at the end of the day before */
} cs_interest_basis;

/* The target of an account step (config version 2, spec 10.3). */
typedef enum cs_until_kind {
	CS_UNTIL_NONE = 0,
	CS_UNTIL_AMOUNT, /* until: {CUR: money}: per currency; absent currencies have none */
	CS_UNTIL_ASSETS, /* until: {share_of_total_assets: X} of surplus.total_assets */
} cs_until_kind;

/* A waterfall step (spec section 6). */
typedef struct cs_step {
	char *id;
	unsigned line;
	cs_step_type type;
	cs_share_kind share_kind;
	mpq_t share;   /* CS_SHARE_FRACTION */
	char *account; /* CS_STEP_ACCOUNT */
	/* CS_STEP_CAPITAL_INTEREST */
	mpq_t rate;
	int has_cap_share;
	mpq_t cap_share;
	cs_interest_basis interest_basis; /* version 2 */
	int blocked_by_loss;              /* version 2: nothing while a loss is carried in */
	int has_withholding;              /* version 2: w_m = floor(I_m * withholding) */
	mpq_t withholding;
	/* CS_STEP_ACCOUNT, version 2: fill up to a target balance */
	cs_until_kind until;
	cs_money until_amount;  /* CS_UNTIL_AMOUNT (applies[c]: the currencies given) */
	mpq_t until_share;      /* CS_UNTIL_ASSETS */
	/* CS_STEP_PATRONAGE */
	cs_basis basis;
	size_t n_classes;                    /* in config order */
	cs_class classes[CS_CLASSES_MAX];
	mpq_t class_shares[CS_CLASSES_MAX];  /* sum to exactly 1 */
	cs_money min_patronage;              /* absent means 0 */
	mpq_t cash_fraction;                 /* default 1 */
	int cap_member_business;             /* version 2: cap: member_business (KStG 22) */
	cs_basis cap_basis;                  /* fees (default) or volume */
	int notice_qualified;                /* version 2: notice: qualified (26 USC 1388) */
	int has_payment_due;                 /* payment_due: {months, days} */
	int due_months, due_days;
} cs_step;

/* An opening balance of surplus.opening (config version 2, spec 10.7.2):
 * the account's normal balance per currency (applies[c]: given). */
typedef struct cs_opening {
	char *account;
	cs_money amount;
} cs_opening;

/* A relation name split into schema and table (unquoted, as written). A
 * name without a dot is in schema `public`. */
typedef struct cs_relation {
	char *schema;
	char *table;
} cs_relation;

typedef struct cs_config {
	char *path;         /* as given to the loader */
	char *text;         /* the file's bytes, NUL-terminated */
	size_t text_len;
	char sha256_hex[65]; /* SHA-256 of the file's bytes */

	int version; /* 1 or 2 (spec 10: time-true records) */
	char *cooperative;
	size_t base_currency; /* index into currencies */
	cs_currency currencies[CS_CURRENCIES_MAX]; /* sorted by code */
	size_t n_currencies;
	char *timezone; /* IANA name, default "UTC" */
	/* close_after (spec section 10.4): a window is closed once the
	 * server's now() is this long past its end; default 0 */
	int64_t close_after_us;
	cs_rounding rounding;
	cs_on_invalid on_invalid;
	/* the schema of the engine's tables and of the default source
	 * relations (key `schema`, default "coopsettle"; util.h says which
	 * names are allowed) */
	char *schema;
	cs_relation source_transactions;
	cs_relation source_members;
	cs_relation source_costs;
	cs_relation source_capital; /* version 2: capital movements */
	char *accounts[CS_ACCOUNT_COUNT];

	cs_rule *rules;
	size_t n_rules;

	int has_surplus;
	int costs_from_relation; /* costs: {relation: ...} */
	cs_relation costs_relation;
	cs_money costs_amount; /* costs: {amount: {...}}; applies[i] per currency */
	cs_step *steps;
	size_t n_steps;
	int retained_is_capital; /* version 2: retained patronage counts as capital (default 1) */
	/* version 2, spec 10.2, 10.3: balances the engine keeps */
	int has_opening;        /* surplus.opening */
	int64_t opening_as_of;  /* its as_of, days since 1970-01-01 */
	cs_opening *opening;    /* its balances, in file order */
	size_t n_opening;
	char **loss_cover;      /* surplus.loss_cover, carry_forward left out */
	size_t n_loss_cover;
	cs_money total_assets;  /* surplus.total_assets (applies[c]: given) */
	/* derived: the accounts whose balance a distribute run needs (the loss
	 * account first, then the loss_cover and `until` accounts), each once */
	char **balance_accounts;
	size_t n_balance_accounts;
	cs_vat vat_default; /* version 2: the top-level `vat` */
	int has_vat; /* a `vat` key anywhere (even `none`): VAT figures are shown (spec 10.8.6) */
	/* derived: the VAT accounts the rules use, each once, sorted bytewise */
	char **vat_accounts;
	size_t n_vat_accounts;
	/* derived: the fund accounts of all rules, each once, sorted bytewise */
	char **fund_accounts;
	size_t n_fund_accounts;
	/* `statements` and `source.member_details` (docs/statements.md): how
	 * member statements are written. Presentation only: no run reads them,
	 * so they change no input or output hash. */
	int stmt_language_de;         /* statements.language: de (default en) */
	char *stmt_resolution_body;   /* statements.resolution.body, NULL: none */
	int has_stmt_resolution;      /* statements.resolution given */
	int64_t stmt_resolution_day;  /* its date, days since 1970-01-01 */
	int has_stmt_payout;          /* statements.payout_date given */
	int64_t stmt_payout_day;
	cs_relation source_member_details; /* default coopsettle.member_details */
	int member_details_given;     /* named in the config (a missing one is an error) */
} cs_config;

/* Frees a config and everything it owns. NULL is allowed. */
void cs_config_free(cs_config *cfg);

/* Index of currency code (len bytes) in cfg->currencies, or -1. */
int cs_config_currency_index(const cs_config *cfg, const char *code, size_t len);

/* Nonzero when the surplus waterfall has a step of type type. */
int cs_config_has_step(const cs_config *cfg, cs_step_type type);

/* Name of a class ("producer" or "consumer"). */
const char *cs_class_name(cs_class c);

#endif
