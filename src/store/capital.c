/*
 * capital.c -- reading members' capital over time (see capital.h): the
 * movements of source.capital and the retained patronage of earlier
 * distribute runs, through binary COPY.
 */
#include "coopsettle/capital.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/buf.h"
#include "coopsettle/copybin.h"
#include "coopsettle/limits.h"
#include "coopsettle/source.h"
#include "coopsettle/util.h"
#include "coopsettle/window.h"

/* An event before it is grouped by member. */
typedef struct member_event {
	size_t member; /* index into the sorted members */
	int64_t day;
	int64_t amount_minor;
} member_event;

typedef struct events {
	member_event *e;
	size_t n, cap;
} events;

static void events_add(events *v, size_t member, int64_t day, int64_t amount)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 1024;
		member_event *p = realloc(v->e, cap * sizeof(*p));

		CS_ASSERT(p != NULL);
		v->e = p;
		v->cap = cap;
	}
	v->e[v->n].member = member;
	v->e[v->n].day = day;
	v->e[v->n].amount_minor = amount;
	v->n++;
}

/* The index of member id in sorted, or -1 (not a member: ignored). */
static long member_index(const cs_members *members, const cs_member *sorted, int64_t id)
{
	const cs_member *m = cs_members_find(members, id);

	return m ? (long)(m - sorted) : -1;
}

/* Streams the binary COPY sql through row(ctx, fields, n); returns 0 or -1. */
static int copy_rows(cs_db *db, const char *sql, size_t n_expected,
		     int (*row)(void *ctx, const cs_copybin_field *f, cs_error *err), void *ctx,
		     cs_error *err)
{
	cs_copybin_reader rd = {0, 0};
	cs_copybin_field f[CS_COPYBIN_FIELDS_MAX];
	const char *msg, *why;
	size_t len, n;
	int rc, failed = 0;

	if (cs_db_copy_out_begin(db, sql, err) < 0)
		return -1;
	while ((rc = cs_db_copy_out_next(db, &msg, &len, err)) == 1) {
		if (failed)
			continue; /* drain the COPY */
		rc = cs_copybin_parse(&rd, msg, len, f, &n, &why);
		if (rc < 0 || (rc == 1 && n != n_expected)) {
			cs_error_set(err, CS_EXIT_RUNTIME, "reading capital: %s",
				     rc < 0 ? why : "unexpected column count");
			failed = 1;
			continue;
		}
		if (rc == 1 && row(ctx, f, err) < 0)
			failed = 1;
	}
	return rc < 0 || failed ? -1 : 0;
}

typedef struct movement_ctx {
	cs_capital *out;
	events *ev;
	const cs_members *members;
	const cs_member *sorted;
	const cs_config *cfg;
	cs_buf bad; /* the invalid rows, the first CS_REJECTS_PRINTED_MAX */
	size_t n_bad;
} movement_ctx;

static void movement_bad(movement_ctx *x, const cs_copybin_field *f, const char *why)
{
	int64_t id = 0;

	if (x->n_bad++ >= CS_REJECTS_PRINTED_MAX)
		return;
	if (!f[0].is_null && cs_copybin_int8(&f[0], &id) == 0)
		cs_buf_printf(&x->bad, "%smember %lld: %s", x->bad.len ? "\n" : "", (long long)id, why);
	else
		cs_buf_printf(&x->bad, "%smember NULL: %s", x->bad.len ? "\n" : "", why);
}

/* (member_id, booked_on, amount_minor[, not whole]) */
static int movement_row(void *ctx, const cs_copybin_field *f, cs_error *err)
{
	movement_ctx *x = ctx;
	cs_capital *c = x->out;
	int64_t id, amount;
	int32_t day;
	long m;

	(void)err;
	if (f[0].is_null || f[1].is_null || f[2].is_null) {
		movement_bad(x, f, f[0].is_null	  ? "a capital row has a NULL member_id"
				   : f[1].is_null ? "a capital row has a NULL booked_on"
						  : "a capital row has a NULL amount_minor");
		return 0;
	}
	if (!f[3].is_null) {
		movement_bad(x, f, "a capital row's amount_minor is not a whole number");
		return 0;
	}
	if (cs_copybin_int8(&f[0], &id) < 0 || cs_copybin_int4(&f[1], &day) < 0 ||
	    cs_copybin_int8(&f[2], &amount) < 0)
		return cs_error_set(err, CS_EXIT_RUNTIME, "reading capital: unexpected column types");
	m = member_index(x->members, x->sorted, id);
	if (m < 0)
		return 0; /* an id that never holds a membership: ignored (spec 10.7.6) */
	if (c->n_rows % 1024 == 0) {
		cs_capital_row *p = realloc(c->rows, (c->n_rows + 1024) * sizeof(*p));

		CS_ASSERT(p != NULL);
		c->rows = p;
	}
	c->rows[c->n_rows].member_id = id;
	c->rows[c->n_rows].day = (int64_t)day + CS_PG_EPOCH_DAYS;
	c->rows[c->n_rows].amount_minor = amount;
	c->n_rows++;
	events_add(x->ev, (size_t)m, (int64_t)day + CS_PG_EPOCH_DAYS, amount);
	return 0;
}

/* The movements of source.capital up to last_day. */
static int read_movements(cs_db *db, movement_ctx *x, int64_t last_day, cs_error *err)
{
	static const char *const int_cols[] = {"member_id", "amount_minor"};
	char *rel = cs_source_relation_sql(db, &x->cfg->source_capital, err);
	cs_buf sql, inexact;
	char day[16];
	int rc = -1;

	if (!rel)
		return -1;
	cs_buf_init(&sql);
	cs_buf_init(&inexact);
	cs_day_text(day, sizeof(day), last_day);
	if (cs_source_inexact_sql(db, rel, int_cols, 2, &inexact, err) < 0)
		goto cleanup;
	/* day is YYYY-MM-DD, made by cs_day_text: safe as a literal */
	cs_buf_printf(&sql,
		      "COPY (SELECT member_id::bigint, booked_on::date, amount_minor::bigint, %s"
		      " FROM %s WHERE booked_on::date <= DATE '%s' OR booked_on IS NULL"
		      " ORDER BY 1, 2, 3) TO STDOUT (FORMAT binary)",
		      inexact.len ? inexact.data : "NULL::text", rel, day);
	rc = copy_rows(db, sql.data, 4, movement_row, x, err);
	if (rc == 0 && x->n_bad) {
		if (x->n_bad > CS_REJECTS_PRINTED_MAX)
			cs_buf_printf(&x->bad, "\n... and %zu more", x->n_bad - CS_REJECTS_PRINTED_MAX);
		cs_error_set(err, CS_EXIT_DATA, "%zu invalid capital row%s in '%s.%s'", x->n_bad,
			     x->n_bad == 1 ? "" : "s", x->cfg->source_capital.schema,
			     x->cfg->source_capital.table);
		cs_error_detail(err, "%s", x->bad.data);
		cs_error_hint(err, "Correct the capital relation (docs/inputs.md); nothing was written.");
		rc = -1;
	}
cleanup:
	cs_buf_free(&sql);
	cs_buf_free(&inexact);
	free(rel);
	return rc;
}

/* The committed distribute runs that end by before_us -- committed now, or
 * (as_of_run > 0) when run as_of_run was made -- with their last local days
 * (the session is in the cooperative's time zone). */
static int read_runs(cs_db *db, int64_t before_us, int64_t as_of_run, cs_capital *c,
		     cs_error *err)
{
	char before[24], as_of[24];
	const char *params[2] = {before, as_of};
	cs_db_rows rows;
	size_t i;

	snprintf(before, sizeof(before), "%lld", (long long)before_us);
	snprintf(as_of, sizeof(as_of), "%lld", (long long)as_of_run);
	if (cs_db_query(db,
			"SELECT r.id, (r.window_to - interval '1 microsecond')::date"
			" - DATE '1970-01-01', r.output_sha256 FROM coopsettle.runs r"
			" WHERE r.kind = 'distribute' AND r.window_to_us <= $1::bigint"
			" AND (($2::bigint = 0 AND r.status = 'committed') OR ($2::bigint > 0"
			" AND r.id < $2::bigint AND NOT EXISTS (SELECT 1 FROM coopsettle.runs s"
			" WHERE s.supersedes = r.id AND s.id < $2::bigint)))"
			" ORDER BY r.id",
			2, params, &rows, err) < 0)
		return -1;
	c->runs = calloc(rows.n_rows + 1, sizeof(*c->runs));
	CS_ASSERT(c->runs != NULL);
	for (i = 0; i < rows.n_rows; i++) {
		cs_run_link *x = &c->runs[i];

		if (cs_db_cell_i64(&rows, i, 0, &x->id) < 0 ||
		    cs_db_cell_i64(&rows, i, 1, &x->last_day) < 0) {
			cs_db_rows_free(&rows);
			return cs_error_set(err, CS_EXIT_RUNTIME, "unexpected distribute run record");
		}
		snprintf(x->output_sha256, sizeof(x->output_sha256), "%s", cs_db_cell(&rows, i, 2));
	}
	c->n_runs = rows.n_rows;
	cs_db_rows_free(&rows);
	return 0;
}

typedef struct retained_ctx {
	const cs_capital *c;
	events *ev;
	const cs_members *members;
	const cs_member *sorted;
} retained_ctx;

/* (run_id, member_id, retained_minor) */
static int retained_row(void *ctx, const cs_copybin_field *f, cs_error *err)
{
	retained_ctx *x = ctx;
	int64_t run, id;
	cs_i128 amount;
	size_t lo = 0, hi = x->c->n_runs;
	long m;

	if (f[0].is_null || f[1].is_null || f[2].is_null || cs_copybin_int8(&f[0], &run) < 0 ||
	    cs_copybin_int8(&f[1], &id) < 0 || cs_copybin_numeric(&f[2], &amount) < 0 ||
	    amount > INT64_MAX || amount < -INT64_MAX)
		return cs_error_set(err, CS_EXIT_RUNTIME, "reading retained patronage: bad row");
	m = member_index(x->members, x->sorted, id);
	if (m < 0)
		return 0;
	while (hi - lo > 1 && x->c->runs[lo].id != run) { /* runs are by id */
		size_t mid = lo + (hi - lo) / 2;

		if (x->c->runs[mid].id <= run)
			lo = mid;
		else
			hi = mid;
	}
	CS_ASSERT(lo < x->c->n_runs && x->c->runs[lo].id == run);
	/* it counts from the end of that window's last local day (10.7.7) */
	events_add(x->ev, (size_t)m, x->c->runs[lo].last_day, (int64_t)amount);
	return 0;
}

static int event_cmp(const void *a, const void *b)
{
	const member_event *x = a, *y = b;

	if (x->member != y->member)
		return x->member < y->member ? -1 : 1;
	return (x->day > y->day) - (x->day < y->day);
}

/* The events grouped by member: c->events with first and count. */
static void group_events(cs_capital *c, events *ev, size_t n_members)
{
	size_t i;

	if (ev->n > 1)
		qsort(ev->e, ev->n, sizeof(*ev->e), event_cmp);
	c->events = calloc(ev->n + 1, sizeof(*c->events));
	c->first = calloc(n_members + 1, sizeof(size_t));
	c->count = calloc(n_members + 1, sizeof(size_t));
	CS_ASSERT(c->events && c->first && c->count);
	for (i = 0; i < ev->n; i++) {
		size_t m = ev->e[i].member;

		if (c->count[m] == 0)
			c->first[m] = i;
		c->count[m]++;
		c->events[i].day = ev->e[i].day;
		c->events[i].amount_minor = ev->e[i].amount_minor;
	}
	c->n_events = ev->n;
}

/* The movements of run snapshot_run's capital snapshot. */
static int read_snapshot(cs_db *db, movement_ctx *x, int64_t snapshot_run, cs_error *err)
{
	cs_buf sql;
	int rc;

	cs_buf_init(&sql);
	cs_buf_printf(&sql,
		      "COPY (SELECT member_id, booked_on, amount_minor, NULL::text"
		      " FROM coopsettle.run_capital WHERE run_id = %lld ORDER BY 1, 2, 3)"
		      " TO STDOUT (FORMAT binary)",
		      (long long)snapshot_run);
	rc = copy_rows(db, sql.data, 4, movement_row, x, err);
	cs_buf_free(&sql);
	return rc;
}

static int capital_read(cs_db *db, const cs_config *cfg, const cs_members *members,
			const cs_member *sorted, size_t n, int64_t last_day, int64_t before_us,
			int64_t snapshot_run, cs_capital *out, cs_error *err)
{
	events ev = {NULL, 0, 0};
	movement_ctx mx;
	retained_ctx rx = {out, &ev, members, sorted};
	cs_buf sql;
	size_t i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	memset(&mx, 0, sizeof(mx));
	mx.out = out;
	mx.ev = &ev;
	mx.members = members;
	mx.sorted = sorted;
	mx.cfg = cfg;
	cs_buf_init(&mx.bad);
	cs_buf_init(&sql);
	if (!cs_config_has_step(cfg, CS_STEP_CAPITAL_INTEREST)) {
		/* no interest: capital cannot matter to the run (spec 10.7.6) */
		group_events(out, &ev, n);
		rc = 0;
		goto cleanup;
	}
	if ((snapshot_run ? read_snapshot(db, &mx, snapshot_run, err)
			  : read_movements(db, &mx, last_day, err)) < 0)
		goto cleanup;
	if (cfg->retained_is_capital) {
		if (read_runs(db, before_us, snapshot_run, out, err) < 0)
			goto cleanup;
		if (out->n_runs) {
			/* the ids are integers read above: safe as a literal */
			cs_buf_puts(&sql, "COPY (SELECT run_id, member_id, retained_minor"
					  " FROM coopsettle.member_allocations WHERE run_id IN (");
			for (i = 0; i < out->n_runs; i++)
				cs_buf_printf(&sql, "%s%lld", i ? "," : "", (long long)out->runs[i].id);
			cs_buf_printf(&sql, ") AND currency = '%s' AND retained_minor <> 0)"
					    " TO STDOUT (FORMAT binary)",
				      cfg->currencies[cfg->base_currency].code);
			if (copy_rows(db, sql.data, 3, retained_row, &rx, err) < 0)
				goto cleanup;
		}
	}
	group_events(out, &ev, n);
	rc = 0;
cleanup:
	free(ev.e);
	cs_buf_free(&mx.bad);
	cs_buf_free(&sql);
	if (rc < 0)
		cs_capital_free(out);
	return rc;
}

int cs_capital_read(cs_db *db, const cs_config *cfg, const cs_members *members,
		    const cs_member *sorted, size_t n, int64_t last_day, int64_t before_us,
		    cs_capital *out, cs_error *err)
{
	return capital_read(db, cfg, members, sorted, n, last_day, before_us, 0, out, err);
}

int cs_capital_read_snapshot(cs_db *db, const cs_config *cfg, const cs_members *members,
			     const cs_member *sorted, size_t n, int64_t run_id, int64_t before_us,
			     cs_capital *out, cs_error *err)
{
	return capital_read(db, cfg, members, sorted, n, 0, before_us, run_id, out, err);
}

void cs_capital_free(cs_capital *c)
{
	free(c->rows);
	free(c->runs);
	free(c->events);
	free(c->first);
	free(c->count);
	memset(c, 0, sizeof(*c));
}

/* Which capital interest bases cfg's steps use: bit 0 daily_balance, bit 1
 * opening_balance. */
static unsigned bases_used(const cs_config *cfg)
{
	unsigned used = 0;
	size_t s;

	for (s = 0; s < cfg->n_steps; s++)
		if (cfg->steps[s].type == CS_STEP_CAPITAL_INTEREST)
			used |= cfg->steps[s].interest_basis == CS_INTEREST_OPENING_BALANCE ? 2u : 1u;
	return used;
}

/* Member m's opening capital (spec 10.7.6): its capital at the end of the
 * day before the window when it is a member of any class on the window's
 * first day, else 0 (*counts 0). */
static cs_i128 opening_capital(const cs_surplus_input *in, const cs_member *m,
			       const cs_capital_event *ev, size_t n, int *counts)
{
	cs_i128 c = 0;
	size_t i;

	*counts = cs_member_on(in->set, m, CS_CLASS_PRODUCER, in->first_day) ||
		  cs_member_on(in->set, m, CS_CLASS_CONSUMER, in->first_day);
	if (!*counts)
		return 0;
	for (i = 0; i < n && ev[i].day < in->first_day; i++)
		c += ev[i].amount_minor;
	return c;
}

int cs_capital_inputs(cs_surplus_input *in, const cs_member *sorted, size_t n,
		      const cs_capital *cap, cs_i128 *days, cs_i128 *open, int strict,
		      cs_error *err)
{
	unsigned used = bases_used(in->cfg);
	cs_buf bad;
	size_t i, n_bad = 0;
	int64_t bad_day;
	char day[16];

	in->window_days = cs_local_days_between(in->first_day, in->end_day);
	in->year_days = cs_local_days_between(in->first_day, cs_day_add(in->first_day, 12, 0));
	cs_buf_init(&bad);
	for (i = 0; i < n; i++) {
		const cs_capital_event *ev = cap->events + cap->first[i];
		int counts, below = 0;

		if (cs_capital_day_sum(in, &sorted[i], ev, cap->count[i], &days[i], &bad_day) < 0) {
			days[i] = 0; /* strict or not, no interest on it */
			below = (used & 1u) != 0;
		}
		open[i] = opening_capital(in, &sorted[i], ev, cap->count[i], &counts);
		if (open[i] < 0) {
			open[i] = 0;
			if (used & 2u) {
				below = 1;
				bad_day = in->first_day;
			}
		}
		if (!below || !strict)
			continue;
		if (n_bad++ < CS_REJECTS_PRINTED_MAX) {
			cs_day_text(day, sizeof(day), bad_day - 1);
			cs_buf_printf(&bad, "%smember %lld: capital below 0 at the end of %s",
				      bad.len ? "\n" : "", (long long)sorted[i].id, day);
		}
	}
	if (n_bad) {
		cs_error_set(err, CS_EXIT_DATA,
			     "%zu member%s with capital below 0 on a day capital interest counts",
			     n_bad, n_bad == 1 ? "" : "s");
		cs_error_detail(err, "%s", bad.data);
		cs_error_hint(err, "Correct the capital movements (a repayment booked too early?); "
				   "nothing was written.");
	}
	cs_buf_free(&bad);
	return n_bad ? -1 : 0;
}
