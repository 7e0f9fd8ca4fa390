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

#include "coopsettle/config.h"
#include "parse.h"

/* What the walk keeps across the steps of the surplus waterfall. */
typedef struct keys_state {
	mpq_t share_sum;
	int share_sum_reported;
	int remaining_seen;
	size_t remaining_line;
} keys_state;

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

/* The later of two marks in the file. */
const cfg_mark *cfg_later(const cfg_mark *a, const cfg_mark *b);

/* The handlers of the top-level keys `fees` and `surplus`. */
void cfg_h_fees(cfg_parse *p, void *obj, int arg, const cfg_event *v);
void cfg_h_surplus(cfg_parse *p, void *obj, int arg, const cfg_event *v);

#endif
