/*
 * capital.h -- a member's capital over time (config version 2, spec 10.2):
 * its movements from `source.capital`, plus, with
 * `surplus.retained_is_capital`, the patronage it left in the cooperative
 * in earlier committed distribute runs.
 *
 * Read for one distribute window, through the reader's snapshot: the
 * movements booked on or before the window's last local day of the members
 * in the set (capital rows of ids that never hold a membership are
 * ignored), ordered by member and day, ready for cs_capital_day_sum.
 */
#ifndef COOPSETTLE_CAPITAL_H
#define COOPSETTLE_CAPITAL_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/config.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/members.h"
#include "coopsettle/surplus.h"

typedef struct cs_capital {
	cs_capital_row *rows; /* source.capital, by member_id, day */
	size_t n_rows;
	cs_run_link *runs; /* earlier distribute runs whose retained counts, by id */
	size_t n_runs;
	cs_capital_event *events; /* movements and retained, by member, day */
	size_t n_events;
	size_t *first; /* per member of the sorted set: its events [first, first + count) */
	size_t *count;
} cs_capital;

/*
 * Reads the capital of the members of sorted (n of them, ascending id; the
 * set members finds them) up to local day last_day: the movements of
 * cfg->source_capital, and, when cfg->retained_is_capital, the retained
 * patronage (base currency) of committed distribute runs whose windows end
 * at or before before_us. Movement rows with a NULL or not whole value are
 * invalid input (exit 3). Fills out (free with cs_capital_free); returns 0
 * or -1.
 */
int cs_capital_read(cs_db *db, const cs_config *cfg, const cs_members *members,
		    const cs_member *sorted, size_t n, int64_t last_day, int64_t before_us,
		    cs_capital *out, cs_error *err);

/* The same from what distribute run run_id stored and read: its capital
 * snapshot (coopsettle.run_capital) and the retained patronage of the
 * distribute runs that were committed when it was made. */
int cs_capital_read_snapshot(cs_db *db, const cs_config *cfg, const cs_members *members,
			     const cs_member *sorted, size_t n, int64_t run_id, int64_t before_us,
			     cs_capital *out, cs_error *err);

/*
 * From the capital cap of the members (sorted, n of them) of in's window
 * (in->set holds their periods): into days[i] each member's capital summed
 * over the days its interest counts (daily_balance), into open[i] its
 * capital at the end of the day before the window when it is a member of
 * any class on the first day (opening_balance, else 0); the window's local
 * days d and the local days Y of the twelve months from its first day into
 * in (spec 10.7.6). strict: capital below 0 where a basis of cfg's steps
 * computes interest is invalid input (exit 3, naming the members, -1);
 * otherwise it counts as 0 (an edited snapshot, which its hash shows).
 */
int cs_capital_inputs(cs_surplus_input *in, const cs_member *sorted, size_t n,
		      const cs_capital *cap, cs_i128 *days, cs_i128 *open, int strict,
		      cs_error *err);

/* Frees what c owns. */
void cs_capital_free(cs_capital *c);

#endif
