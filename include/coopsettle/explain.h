/*
 * explain.h -- a member's figures in a run, explained step by step for an
 * accountant (`coopsettle explain`, docs/auditing.md). Pure: text into a
 * buffer, no I/O.
 *
 * The explanations walk the same rules as the core (spec sections 2, 5 and
 * 6) with the core's own pieces -- cs_fee_raw, cs_round,
 * cs_alloc_largest_remainder -- and every figure they arrive at is checked
 * against the core's result for the same input (cs_fee_compute,
 * cs_surplus_compute): an explanation that disagreed with the engine would
 * be a bug, and stops the program.
 */
#ifndef COOPSETTLE_EXPLAIN_H
#define COOPSETTLE_EXPLAIN_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/fee.h"
#include "coopsettle/settle.h"
#include "coopsettle/surplus.h"

/* Writes q exactly: "7" for an integer, "37/4 = 9.25" when the decimal
 * terminates, "18517/3 = 6172.333333..." when it does not. */
void cs_explain_q(char *buf, size_t size, const mpq_t q);

/*
 * Explains the fee of one transaction: which rule matched and why the rules
 * before it did not, the exact fee before rounding (each term, the min, max
 * and amount caps), the rounding, the split between the sides by largest
 * remainder (quotas, floors, ranks, the extra unit) and the ledger lines
 * it makes. row must be a valid row of currency index cur (spec section 4's
 * checks passed); pm and cm are the member flags of its parties. Appends to
 * out and sets *fee to the core's result (rule_index -1: no rule matches).
 */
void cs_explain_fee(cs_buf *out, cs_fee_calc *calc, const cs_txn_row *row, size_t cur, int pm,
		    int cm, int64_t day, cs_fee_result *fee);

/*
 * Explains member index m (of in->members) in every step of the waterfall
 * of in, currency by currency: the surplus, each step's pool, the member's
 * eligibility, exact quota, floor, rank and whether the largest-remainder
 * pass gave it the extra unit, and the cash and retained parts. res is
 * cs_surplus_compute's result for in; the walk checks that it arrives at the
 * same amounts. Appends to out.
 */
void cs_explain_waterfall(cs_buf *out, const cs_surplus_input *in, const cs_surplus_result *res,
			  size_t m);

#endif
