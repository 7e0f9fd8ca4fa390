/*
 * surplus.h -- the pure surplus waterfall of spec section 6: reserves,
 * capital interest and patronage refunds, exact, per currency.
 */
#ifndef COOPSETTLE_SURPLUS_H
#define COOPSETTLE_SURPLUS_H

#include <stddef.h>
#include <stdint.h>

#include <gmp.h>

#include "coopsettle/config.h"
#include "coopsettle/error.h"
#include "coopsettle/i128.h"
#include "coopsettle/members.h"

/* A run a distribute run took inputs from: a tiling settle run, or an
 * earlier distribute run whose retained patronage counts as capital. */
typedef struct cs_run_link {
	int64_t id;
	int64_t last_day; /* its window's last local day (distribute runs) */
	char output_sha256[65];
} cs_run_link;

/* One row of source.capital as read (a distribute run's capital snapshot). */
typedef struct cs_capital_row {
	int64_t member_id;
	int64_t day; /* booked_on, days since 1970-01-01 */
	int64_t amount_minor;
} cs_capital_row;

/* One row of the costs relation in a distribute window (version 2: the
 * run's cost snapshot). */
typedef struct cs_cost_row {
	int64_t day;     /* booked_on, days since 1970-01-01 */
	size_t currency; /* index into cfg->currencies */
	int64_t amount_minor;
} cs_cost_row;

/* What the waterfall needs; every array is the caller's. */
typedef struct cs_surplus_input {
	const cs_config *cfg;
	int64_t first_day, end_day; /* the window's local days [first, end) */
	const int64_t *skipped_days; /* of them, the days that do not exist, ascending */
	size_t n_skipped_days;
	size_t n_members;
	const cs_member *members; /* sorted by id */
	/* version 1: patronage bases per member and currency (the member's own
	 * class): [m * n_currencies + c] */
	const cs_i128 *fees_minor;
	const cs_i128 *gross_minor;
	/* version 2 (spec 10.1, 10.2): the set the members come from (their
	 * periods), the bases per member, class and currency -- member business
	 * only -- [(m * CS_CLASSES_MAX + class) * n_currencies + c], and per
	 * member the capital summed over the counted days (cs_capital_day_sum) */
	const cs_members *set;
	const cs_i128 *class_fees_minor;
	const cs_i128 *class_gross_minor;
	const cs_i128 *capital_days_minor;
	/* what the canonical input names besides (cs_surplus_input_hash): the
	 * tiling settle runs; version 2 the distribute runs whose retained
	 * patronage counts as capital, and the capital rows by member, day */
	const cs_run_link *settle_runs;
	size_t n_settle_runs;
	const cs_run_link *capital_runs;
	size_t n_capital_runs;
	const cs_capital_row *capital_rows;
	size_t n_capital_rows;
	const cs_cost_row *cost_rows; /* version 2, costs from a relation: by day, code, amount */
	size_t n_cost_rows;
	cs_i128 fee_income_minor[CS_CURRENCIES_MAX];
	cs_i128 costs_minor[CS_CURRENCIES_MAX];
	/* version 2 (spec 10.2, 10.3, 10.7): the balance at the window's start
	 * of each of cfg->balance_accounts, its normal balance (the loss
	 * account's a debit: L0), [k * n_currencies + c]; the committed
	 * distribute runs whose lines fed them, by id */
	const cs_i128 *balance_minor;
	const cs_run_link *balance_runs;
	size_t n_balance_runs;
	/* capital interest `basis: opening_balance`: per member its capital at
	 * the end of the day before the window, 0 for one that is a member of
	 * no class on the window's first day; d, the window's local days, and
	 * Y, the local days of the twelve months from its first day */
	const cs_i128 *capital_open_minor;
	int64_t window_days, year_days;
	/* the KStG cap (spec 10.7.8): all fees borne in the window (fund parts
	 * included) and its gross, per currency, from the tiling settle runs */
	cs_i128 fees_total_minor[CS_CURRENCIES_MAX];
	cs_i128 gross_total_minor[CS_CURRENCIES_MAX];
} cs_surplus_input;

/* One member's allocation in one currency. */
typedef struct cs_surplus_alloc {
	cs_i128 capital_interest_minor;
	cs_i128 patronage_minor;
	cs_i128 cash_minor;
	cs_i128 retained_minor;
	cs_i128 basis_minor; /* patronage basis of the first patronage step */
	cs_i128 withheld_minor; /* of capital_interest_minor (gross), withheld (version 2) */
} cs_surplus_alloc;

typedef struct cs_surplus_result {
	cs_i128 surplus_minor[CS_CURRENCIES_MAX];
	cs_i128 step_minor[CS_CURRENCIES_MAX][CS_STEPS_MAX];
	cs_i128 retained_surplus_minor[CS_CURRENCIES_MAX];
	cs_surplus_alloc *allocs; /* [m * n_currencies + c], owned by the result */
	/* version 2 (spec 10.3): the loss carried in (L0), the part of S that
	 * covers it, what each loss_cover account gives in a loss year, the
	 * loss carried out; S' = S - cover is what the steps share */
	cs_i128 loss_in_minor[CS_CURRENCIES_MAX];
	cs_i128 cover_minor[CS_CURRENCIES_MAX];
	cs_i128 loss_cover_minor[CS_CURRENCIES_MAX][CS_LOSS_COVER_MAX];
	cs_i128 loss_out_minor[CS_CURRENCIES_MAX];
	/* a patronage step with cap: member_business: its cap (-1: none) */
	cs_i128 cap_minor[CS_CURRENCIES_MAX][CS_STEPS_MAX];
} cs_surplus_result;

/* Version 2: the index of account in cfg->balance_accounts, or -1. */
int cs_balance_index(const cs_config *cfg, const char *account);

/* The pieces of the waterfall, for explain (each the core's own). */

/* Member i's weight in capital interest step st, proportional to its i_m:
 * version 1 C x d, version 2 daily_balance its capital summed over the
 * counted days, opening_balance C x d (divided by 365, or by Y). */
void cs_surplus_interest_weight(const cs_surplus_input *in, const cs_step *st, size_t i, mpz_t w);

/* Member i's patronage basis in class cls and currency cur for step st
 * (version 2: its member business in that class). */
cs_i128 cs_surplus_class_basis(const cs_surplus_input *in, const cs_step *st, size_t i,
			       cs_class cls, size_t cur);

/* Nonzero when some member is eligible for class c (config order) of
 * patronage step st in currency cur -- the waterfall's own test (spec
 * section 6: that class, a day of membership in the window, patronage > 0
 * and >= min_patronage) -- so that the class allocates its amount; 0 when
 * the class allocates nothing (its share stays in the retained surplus).
 * For the report's refunds per class (src/audit/report.c). */
int cs_surplus_class_allocates(const cs_surplus_input *in, const cs_step *st, size_t c,
			       size_t cur);

/* Version 2: the balance of account at the window's start (0 when not kept). */
cs_i128 cs_surplus_balance(const cs_surplus_input *in, const char *account, size_t cur);

/* The KStG cap of patronage step st: floor(S' M / T), 0 when T or M <= 0. */
void cs_surplus_cap(const cs_surplus_input *in, const cs_step *st, const mpz_t Sp, size_t cur,
		    mpz_t cap);

/* The target of account step st in currency cur into t; 0 when it has none. */
int cs_surplus_target(const cs_config *cfg, const cs_step *st, size_t cur, mpz_t t);

/* b of step s's room (spec 10.7.5): the balance of its account at the
 * window's start plus what earlier account steps of res credited to it. */
cs_i128 cs_surplus_room_base(const cs_surplus_input *in, const cs_surplus_result *res, size_t s,
			     size_t cur);

/* Days of membership of m among the local days of in's window, the days
 * the clocks skipped not counted: version 1 of its one class, version 2 of
 * any class. */
int64_t cs_membership_days(const cs_surplus_input *in, const cs_member *m);

/* Version 2: nonzero when a period of m, of either class, overlaps the
 * window (in->set holds the periods). A member outside the window cannot
 * matter to it: the canonical input and the snapshots leave it out. */
int cs_member_in_window(const cs_surplus_input *in, const cs_member *m);

/* Version 2: days of membership of m in class cls in the window. */
int64_t cs_class_days(const cs_surplus_input *in, const cs_member *m, cs_class cls);

/* A capital movement: amount_minor added at the end of local day day. */
typedef struct cs_capital_event {
	int64_t day;
	int64_t amount_minor;
} cs_capital_event;

/*
 * Version 2, capital interest `basis: daily_balance` (spec 10.3, 10.7.6):
 * the sum over the window's local days D on which m is a member of any
 * class of its capital at the end of D - 1, from its movements ev (n of
 * them, ascending by day). Returns 0, or -1 with *bad_day the first counted
 * day on which that capital is below 0 (invalid input).
 */
int cs_capital_day_sum(const cs_surplus_input *in, const cs_member *m, const cs_capital_event *ev,
		       size_t n, cs_i128 *sum, int64_t *bad_day);

/* The SHA-256 of the canonical input of a distribute run over in
 * (docs/reproducibility.md): version 1 and version 2 forms. */
void cs_surplus_input_hash(const cs_surplus_input *in, char hex[65]);

/* Runs the waterfall. On success returns 0 and fills res (free it with
 * cs_surplus_result_free). Every stage's sum is asserted. */
int cs_surplus_compute(const cs_surplus_input *in, cs_surplus_result *res, cs_error *err);

/* Frees what res owns. */
void cs_surplus_result_free(cs_surplus_result *res);

#endif
