/*
 * balances.h -- the balances a distribute run keeps across windows (config
 * version 2, spec 10.2, 10.7.2): for each of cfg->balance_accounts (the
 * loss carried forward, the loss_cover and `until` accounts), its balance
 * at the window's start in each currency. The balance is the opening
 * amount of surplus.opening (0 without one) less what the feeding runs
 * posted to the account (credits are negative), so a reserve's balance is
 * positive; the loss account's is its debit balance, the opening amount
 * plus what was posted to it. The feeding runs are the committed
 * distribute runs whose windows end on or before the window's start (and,
 * with surplus.opening, start on or after its as_of).
 */
#ifndef COOPSETTLE_BALANCES_H
#define COOPSETTLE_BALANCES_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/config.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/i128.h"
#include "coopsettle/surplus.h"

typedef struct cs_balances {
	cs_i128 *minor;     /* [k * n_currencies + c] */
	cs_run_link *runs;  /* the feeding runs, by id (last_day set) */
	size_t n_runs;
} cs_balances;

/*
 * Reads the balances at from_us (the window's start) through db, whose
 * session is in the cooperative's time zone: from the runs committed now,
 * or (as_of_run > 0) from those that were committed when run as_of_run was
 * made, which is how verify reproduces a run. Fills out (free with
 * cs_balances_free); returns 0 or -1.
 */
int cs_balances_read(cs_db *db, const cs_config *cfg, int64_t from_us, int64_t as_of_run,
		     cs_balances *out, cs_error *err);

/* Frees what b owns. */
void cs_balances_free(cs_balances *b);

#endif
