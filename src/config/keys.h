/*
 * keys.h -- what the key handlers of the config loader share across their
 * files (keys.c: the document, top level, source, accounts; keys_fees.c:
 * fee rules; keys_surplus.c: the surplus waterfall). Internal to
 * src/config/.
 */
#ifndef COOPSETTLE_CONFIG_KEYS_H
#define COOPSETTLE_CONFIG_KEYS_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "coopsettle/config.h"
#include "coopsettle/limits.h"
#include "parse.h"

/* What the walk keeps across the steps of the surplus waterfall. */
typedef struct keys_state {
	mpq_t share_sum;
	int share_sum_reported;
	int remaining_seen;
	size_t remaining_line;
	/* where the keys are that checks after the walk name (cfg_keys_finish) */
	int until_assets_seen;
	cfg_mark until_assets_mark;
	cfg_mark loss_cover_marks[CS_LOSS_COVER_MAX];
	cfg_mark fund_marks[CS_RULES_MAX][CS_FUNDS_MAX]; /* each fund's account */
	cfg_mark vat_marks[CS_RULES_MAX]; /* each rule's vat */
	cfg_mark vat_default_mark;
} keys_state;

/* The walk's keys_state (p->keys while the keys are loaded). */
#define KS(p) ((keys_state *)(p)->keys)

typedef struct shares_ctx {
	mpq_t *share[CS_CLASSES_MAX]; /* borne_by: where each class's share goes */
	cs_step *step;                /* classes: appended in config order */
	int bad;
} shares_ctx;

/* Index of the currency named by scalar ev in cfg->currencies, or -1. */
int cfg_currency_of(const cs_config *cfg, const cfg_event *ev);

/* A key that only config version 2 has: reports it in a version 1 config.
 * Returns 1 when the key may be used. */
int cfg_version_2(cfg_parse *p, const cfg_event *v);

/* Nonzero when the n shares sum to exactly 1 (the sum into sum). */
int cfg_sum_is_one(mpq_srcptr const *shares, size_t n, mpq_t sum);

/* Reports shares (n of them) that do not sum to exactly 1. */
void cfg_check_shares_sum(cfg_parse *p, const cfg_event *v, mpq_srcptr const *shares, size_t n);

/* A rate as a percentage without trailing zeros ("26.375%") into buf. */
const char *cfg_rate_text(char *buf, size_t size, mpq_srcptr q);

/* The later of two marks in the file. */
const cfg_mark *cfg_later(const cfg_mark *a, const cfg_mark *b);

/* Reads a mapping of currency codes to money >= 0 (v) into m: m->minor[i]
 * and m->applies[i] for each currency given and exact; what names the
 * mapping in messages; given (CS_CURRENCIES_MAX entries, may be NULL)
 * receives which currencies were named. Returns 0 when the mapping was
 * read (errors reported), -1 when v is no mapping. */
int cfg_money_map(cfg_parse *p, const cfg_event *v, cs_money *m, const char *what,
		  unsigned char *given);

/* An integer lo..hi (an unquoted scalar) into *out; reports and returns -1
 * otherwise. */
int cfg_get_int(cfg_parse *p, const cfg_event *v, int64_t lo, int64_t hi, int64_t *out);

/* The handlers of surplus.opening, surplus.loss_cover and
 * surplus.total_assets (keys_balances.c). */
void cfg_h_opening(cfg_parse *p, void *obj, int arg, const cfg_event *v);
void cfg_h_loss_cover(cfg_parse *p, void *obj, int arg, const cfg_event *v);
void cfg_h_total_assets(cfg_parse *p, void *obj, int arg, const cfg_event *v);

/* `statements` (keys_statements.c): language, resolution, payout date. */
void cfg_h_statements(cfg_parse *p, void *obj, int arg, const cfg_event *v);

/* The checks that need the whole file and the defaults (the accounts): fund
 * and loss_cover accounts, the total assets `until` needs; then the
 * accounts whose balances a distribute run reads (cfg->balance_accounts). */
void cfg_keys_finish(cfg_parse *p);

/* A date YYYY-MM-DD into *day (days since 1970-01-01); reports and
 * returns -1 otherwise. */
int cfg_get_date(cfg_parse *p, const cfg_event *v, int64_t *day);

/* `vat` (spec 10.8): `none` (on a rule: no VAT; at the top: no default)
 * or {rate, included, account} into vat. */
void cfg_get_vat(cfg_parse *p, const cfg_event *v, cs_vat *vat);

/* The handler of the top-level key `vat` (the default of the rules). */
void cfg_h_vat_default(cfg_parse *p, void *obj, int arg, const cfg_event *v);

/* The handlers of the top-level keys `fees` and `surplus`. */
void cfg_h_fees(cfg_parse *p, void *obj, int arg, const cfg_event *v);
void cfg_h_surplus(cfg_parse *p, void *obj, int arg, const cfg_event *v);

#endif
