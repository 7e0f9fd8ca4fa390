/*
 * surplus.h -- the pure surplus waterfall of spec section 6: reserves,
 * capital interest and patronage refunds, exact, per currency.
 */
#ifndef COOPSETTLE_SURPLUS_H
#define COOPSETTLE_SURPLUS_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/config.h"
#include "coopsettle/error.h"
#include "coopsettle/i128.h"
#include "coopsettle/members.h"

/* What the waterfall needs; every array is the caller's. */
typedef struct cs_surplus_input {
	const cs_config *cfg;
	int64_t first_day, end_day; /* the window's local days [first, end) */
	const int64_t *skipped_days; /* of them, the days that do not exist, ascending */
	size_t n_skipped_days;
	size_t n_members;
	const cs_member *members; /* sorted by id */
	/* patronage bases per member and currency: [m * n_currencies + c] */
	const cs_i128 *fees_minor;
	const cs_i128 *gross_minor;
	cs_i128 fee_income_minor[CS_CURRENCIES_MAX];
	cs_i128 costs_minor[CS_CURRENCIES_MAX];
} cs_surplus_input;

/* One member's allocation in one currency. */
typedef struct cs_surplus_alloc {
	cs_i128 capital_interest_minor;
	cs_i128 patronage_minor;
	cs_i128 cash_minor;
	cs_i128 retained_minor;
	cs_i128 basis_minor; /* patronage basis of the first patronage step */
} cs_surplus_alloc;

typedef struct cs_surplus_result {
	cs_i128 surplus_minor[CS_CURRENCIES_MAX];
	cs_i128 step_minor[CS_CURRENCIES_MAX][CS_STEPS_MAX];
	cs_i128 retained_surplus_minor[CS_CURRENCIES_MAX];
	cs_surplus_alloc *allocs; /* [m * n_currencies + c], owned by the result */
} cs_surplus_result;

/* Days of membership of m among the local days of in's window, the days
 * the clocks skipped not counted. */
int64_t cs_membership_days(const cs_surplus_input *in, const cs_member *m);

/* Runs the waterfall. On success returns 0 and fills res (free it with
 * cs_surplus_result_free). Every stage's sum is asserted. */
int cs_surplus_compute(const cs_surplus_input *in, cs_surplus_result *res, cs_error *err);

/* Frees what res owns. */
void cs_surplus_result_free(cs_surplus_result *res);

#endif
