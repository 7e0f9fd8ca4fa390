/*
 * status.c -- `coopsettle status` (see status.h): the committed runs of a
 * window, the local days no committed settle run covers up to the last
 * closed day, and the stale runs, as a report or one JSON object.
 */
#include "coopsettle/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/bookkeeping.h"
#include "coopsettle/config_load.h"
#include "coopsettle/drift.h"
#include "coopsettle/json.h"
#include "coopsettle/stored.h"
#include "coopsettle/util.h"
#include "coopsettle/window.h"
#include "audit_int.h"

/* Missing days listed in the text report; the rest are counted (JSON lists
 * them all). */
#define STATUS_DAYS_LISTED_MAX 62

/* What status has found so far. */
typedef struct status_ctx {
	const cs_status_opts *o;
	cs_db *db;
	cs_config *own_cfg;     /* the latest run's config, when no --config */
	const char *tz;
	int64_t close_after_us;
	int64_t now_us;
	cs_window w;
	int64_t last_closed;    /* the last closed local day */
	cs_stored_run *runs;    /* committed runs overlapping w, by window */
	size_t n_runs;
	cs_buf *why;            /* per run: why it is stale, "" when it is not */
	int64_t *missing;       /* local days without a committed settle run */
	size_t n_missing;
	size_t n_stale;
} status_ctx;

static void day_text(char *buf, size_t size, int64_t day)
{
	int64_t y;
	unsigned m, d;

	cs_civil_from_days(day, &y, &m, &d);
	snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, m, d);
}

static int64_t day_start_us(int64_t day)
{
	int64_t y;
	unsigned m, d;

	cs_civil_from_days(day, &y, &m, &d);
	return cs_local_midnight_us((int)y, (int)m, (int)d);
}

/* The time zone and close_after: --config's, else the latest committed
 * run's config's (which is loaded), else UTC and 0. */
static int status_config(status_ctx *x, cs_error *err)
{
	x->tz = "UTC";
	if (x->o->cfg) {
		x->tz = x->o->cfg->timezone;
		x->close_after_us = x->o->cfg->close_after_us;
		return 0;
	}
	if (audit_latest_config(x->db, &x->own_cfg, err) < 0) {
		cs_error_hint(err, "Pass --config FILE: status takes its time zone and close_after.");
		return -1;
	}
	if (x->own_cfg) {
		x->tz = x->own_cfg->timezone;
		x->close_after_us = x->own_cfg->close_after_us;
	}
	return 0;
}

/* The window asked for (default: the last closed day) at the server's now(). */
static int status_window(status_ctx *x, cs_error *err)
{
	const cs_status_opts *o = x->o;
	char day[16];

	if (cs_tz_use(x->tz, err) < 0 || cs_run_server_now(x->db, &x->now_us, err) < 0)
		return -1;
	x->last_closed = cs_run_last_closed_day(x->now_us, x->close_after_us);
	if (o->period || o->from || o->to)
		return cs_run_window_at(&x->w, o->period, o->from, o->to, x->now_us, err);
	day_text(day, sizeof(day), x->last_closed);
	return cs_window_from_period(&x->w, day, err);
}

/* The committed runs overlapping the window, loaded into x->runs. */
static int status_runs(status_ctx *x, cs_error *err)
{
	char from[24], to[24];
	const char *params[2] = {from, to};
	cs_db_rows rows;
	size_t i;

	snprintf(from, sizeof(from), "%lld", (long long)x->w.from_us);
	snprintf(to, sizeof(to), "%lld", (long long)x->w.to_us);
	if (cs_db_query(x->db,
			"SELECT " CS_STORED_RUN_COLUMNS " FROM coopsettle.runs r"
			" WHERE r.status = 'committed' AND r.window_from_us < $2::bigint"
			" AND r.window_to_us > $1::bigint"
			" ORDER BY r.kind DESC, r.window_from_us, r.id",
			2, params, &rows, err) < 0)
		return -1;
	x->runs = calloc(rows.n_rows + 1, sizeof(*x->runs));
	x->why = calloc(rows.n_rows + 1, sizeof(*x->why));
	CS_ASSERT(x->runs && x->why);
	for (i = 0; i < rows.n_rows; i++) {
		cs_buf_init(&x->why[i]);
		if (cs_stored_run_from_row(&rows, i, &x->runs[i]) < 0) {
			x->n_runs = i + 1;
			cs_db_rows_free(&rows);
			return cs_error_set(err, CS_EXIT_VERIFY, "run record %lld has a malformed field",
					    (long long)x->runs[i].id);
		}
	}
	x->n_runs = rows.n_rows;
	cs_db_rows_free(&rows);
	return 0;
}

/* Nonzero when the committed settle runs cover [from, to). */
static int covered(const status_ctx *x, int64_t from, int64_t to)
{
	int64_t at = from;
	int moved = 1;
	size_t i;

	while (at < to && moved) {
		moved = 0;
		for (i = 0; i < x->n_runs; i++) {
			const cs_stored_run *r = &x->runs[i];

			if (strcmp(r->kind, "settle") == 0 && r->from_us <= at && r->to_us > at) {
				at = r->to_us;
				moved = 1;
			}
		}
	}
	return at >= to;
}

/* The local days of the window, up to the last closed day, that no
 * committed settle run covers (days the clocks skipped are no days). */
static void status_missing(status_ctx *x)
{
	int64_t first, end, day;

	cs_window_local_days(&x->w, &first, &end);
	if (end > x->last_closed + 1)
		end = x->last_closed + 1;
	x->missing = calloc(end > first ? (size_t)(end - first) + 1 : 1, sizeof(*x->missing));
	CS_ASSERT(x->missing != NULL);
	for (day = first; day < end; day++)
		if (cs_local_day_exists(day) && !covered(x, day_start_us(day), day_start_us(day + 1)))
			x->missing[x->n_missing++] = day;
}

/* Distribute run i: the settle runs it was built on that are no longer
 * committed (those with a smaller id, not yet superseded when it ran). */
static int status_built_on(status_ctx *x, size_t i, cs_error *err)
{
	const cs_stored_run *d = &x->runs[i];
	char id[24], from[24], to[24];
	const char *params[3] = {id, from, to};
	cs_db_rows rows;
	size_t k;

	snprintf(id, sizeof(id), "%lld", (long long)d->id);
	snprintf(from, sizeof(from), "%lld", (long long)d->from_us);
	snprintf(to, sizeof(to), "%lld", (long long)d->to_us);
	if (cs_db_query(x->db,
			"SELECT s.id, (SELECT n.id FROM coopsettle.runs n WHERE n.supersedes = s.id"
			" ORDER BY n.id LIMIT 1) FROM coopsettle.runs s WHERE s.kind = 'settle'"
			" AND s.status = 'superseded' AND s.id < $1::bigint"
			" AND s.window_from_us < $3::bigint AND s.window_to_us > $2::bigint"
			" AND NOT EXISTS (SELECT 1 FROM coopsettle.runs n WHERE n.supersedes = s.id"
			" AND n.id < $1::bigint) ORDER BY s.id",
			3, params, &rows, err) < 0)
		return -1;
	for (k = 0; k < rows.n_rows; k++)
		cs_buf_printf(&x->why[i], "%sbuilt on settle run %s, which run %s superseded",
			      x->why[i].len ? "; " : "", cs_db_cell(&rows, k, 0),
			      cs_db_cell(&rows, k, 1) ? cs_db_cell(&rows, k, 1) : "?");
	cs_db_rows_free(&rows);
	return 0;
}

/* Every committed run of the window: built on superseded runs, or drifted
 * from its inputs (cs_drift_check, a recomputation each). */
static int status_stale(status_ctx *x, cs_error *err)
{
	size_t i;
	cs_drift drift;

	for (i = 0; i < x->n_runs; i++) {
		if (strcmp(x->runs[i].kind, "distribute") == 0 && status_built_on(x, i, err) < 0)
			return -1;
		if (cs_drift_check(x->o->conninfo, &x->runs[i], &drift, err) < 0)
			return -1;
		/* a distribute run over superseded settle runs has a changed input
		 * for that reason alone: it is named once */
		if (drift.kind != CS_DRIFT_NONE &&
		    !(drift.kind == CS_DRIFT_INPUT && x->why[i].len))
			cs_buf_printf(&x->why[i], "%s%s", x->why[i].len ? "; " : "", drift.why);
		if (x->why[i].len)
			x->n_stale++;
	}
	return cs_tz_use(x->tz, err); /* the recomputations used each run's zone */
}

static void status_text(const status_ctx *x, cs_buf *b)
{
	char now[64], day[16];
	size_t i;

	cs_format_local(now, sizeof(now), x->now_us);
	day_text(day, sizeof(day), x->last_closed);
	cs_buf_printf(b, "status of [%s, %s) in %s\n", x->w.from_text, x->w.to_text, x->tz);
	cs_buf_printf(b, "  server time %s; last closed day %s (close_after %lld minutes)\n", now,
		      day, (long long)(x->close_after_us / 60000000));
	cs_buf_printf(b, "committed runs (%zu):\n", x->n_runs);
	for (i = 0; i < x->n_runs; i++) {
		const cs_stored_run *r = &x->runs[i];

		cs_buf_printf(b, "  %-10s run %-6lld [%s, %s)%s%s\n", r->kind, (long long)r->id,
			      r->from_text, r->to_text, r->actor ? " by " : "",
			      r->actor ? cs_text_shown(r->actor) : "");
	}
	cs_buf_printf(b, "days without a committed settle run, up to %s (%zu):\n", day,
		      x->n_missing);
	for (i = 0; i < x->n_missing && i < STATUS_DAYS_LISTED_MAX; i++) {
		day_text(day, sizeof(day), x->missing[i]);
		cs_buf_printf(b, "  %s\n", day);
	}
	if (x->n_missing > STATUS_DAYS_LISTED_MAX)
		cs_buf_printf(b, "  ... and %zu more\n", x->n_missing - STATUS_DAYS_LISTED_MAX);
	cs_buf_printf(b, "stale runs (%zu):\n", x->n_stale);
	for (i = 0; i < x->n_runs; i++)
		if (x->why[i].len)
			cs_buf_printf(b, "  %s run %lld: %s\n", x->runs[i].kind,
				      (long long)x->runs[i].id, cs_text_shown(x->why[i].data));
	if (x->n_missing || x->n_stale)
		cs_buf_printf(b, "status: %zu day%s not settled, %zu stale run%s\n", x->n_missing,
			      x->n_missing == 1 ? "" : "s", x->n_stale, x->n_stale == 1 ? "" : "s");
	else
		cs_buf_puts(b, "status: ok\n");
}

static void json_window(cs_json *j, const char *from, const char *to)
{
	cs_json_object_begin(j);
	cs_json_key(j, "from");
	cs_json_string(j, from);
	cs_json_key(j, "to");
	cs_json_string(j, to);
	cs_json_object_end(j);
}

static void status_json(const status_ctx *x, cs_buf *b)
{
	char now[64], day[16];
	cs_json j;
	size_t i;

	cs_format_local(now, sizeof(now), x->now_us);
	cs_json_init(&j, b);
	cs_json_object_begin(&j);
	cs_json_key(&j, "window");
	json_window(&j, x->w.from_text, x->w.to_text);
	cs_json_key(&j, "timezone");
	cs_json_string(&j, x->tz);
	cs_json_key(&j, "now");
	cs_json_string(&j, now);
	day_text(day, sizeof(day), x->last_closed);
	cs_json_key(&j, "last_closed_day");
	cs_json_string(&j, day);
	cs_json_key(&j, "runs");
	cs_json_array_begin(&j);
	for (i = 0; i < x->n_runs; i++) {
		cs_json_object_begin(&j);
		cs_json_key(&j, "id");
		cs_json_int(&j, x->runs[i].id);
		cs_json_key(&j, "kind");
		cs_json_string(&j, x->runs[i].kind);
		cs_json_key(&j, "window");
		json_window(&j, x->runs[i].from_text, x->runs[i].to_text);
		cs_json_key(&j, "actor");
		if (x->runs[i].actor)
			cs_json_string(&j, x->runs[i].actor);
		else
			cs_json_null(&j);
		cs_json_object_end(&j);
	}
	cs_json_array_end(&j);
	cs_json_key(&j, "missing_days");
	cs_json_array_begin(&j);
	for (i = 0; i < x->n_missing; i++) {
		day_text(day, sizeof(day), x->missing[i]);
		cs_json_string(&j, day);
	}
	cs_json_array_end(&j);
	cs_json_key(&j, "stale_runs");
	cs_json_array_begin(&j);
	for (i = 0; i < x->n_runs; i++) {
		if (!x->why[i].len)
			continue;
		cs_json_object_begin(&j);
		cs_json_key(&j, "id");
		cs_json_int(&j, x->runs[i].id);
		cs_json_key(&j, "kind");
		cs_json_string(&j, x->runs[i].kind);
		cs_json_key(&j, "reason");
		cs_json_string(&j, x->why[i].data);
		cs_json_object_end(&j);
	}
	cs_json_array_end(&j);
	cs_json_key(&j, "ok");
	cs_json_bool(&j, !x->n_missing && !x->n_stale);
	cs_json_object_end(&j);
	cs_buf_putc(b, '\n');
}

static void status_free(status_ctx *x)
{
	size_t i;

	for (i = 0; i < x->n_runs; i++) {
		cs_stored_run_free(&x->runs[i]);
		cs_buf_free(&x->why[i]);
	}
	free(x->runs);
	free(x->why);
	free(x->missing);
	cs_config_free(x->own_cfg);
	cs_db_close(x->db);
}

int cs_status(const cs_status_opts *o, cs_buf *report, cs_error *err)
{
	status_ctx x;
	int rc = -1;

	memset(&x, 0, sizeof(x));
	x.o = o;
	x.db = cs_stored_connect(o->conninfo, err);
	if (!x.db || status_config(&x, err) < 0 || status_window(&x, err) < 0 ||
	    status_runs(&x, err) < 0)
		goto cleanup;
	status_missing(&x);
	if (status_stale(&x, err) < 0)
		goto cleanup;
	if (o->json)
		status_json(&x, report);
	else
		status_text(&x, report);
	rc = 0;
	if (x.n_missing || x.n_stale) {
		cs_error_set(err, CS_EXIT_VERIFY,
			     "status of [%s, %s): %zu day%s without a committed settle run, %zu "
			     "stale run%s",
			     x.w.from_text, x.w.to_text, x.n_missing, x.n_missing == 1 ? "" : "s",
			     x.n_stale, x.n_stale == 1 ? "" : "s");
		cs_error_hint(err, "Settle each missing day (settle --period YYYY-MM-DD); replace a "
				   "stale run with settle or distribute --supersede --reason TEXT for "
				   "its window (docs/operations.md, 'Daily status').");
		rc = -1;
	}
cleanup:
	status_free(&x);
	return rc;
}
