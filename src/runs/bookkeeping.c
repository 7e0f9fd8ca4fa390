/*
 * bookkeeping.c -- the run bookkeeping of spec section 10.4 (see
 * bookkeeping.h): the server's now(), the --period keywords and closed
 * windows; and what a run of exactly a committed run's window reports about
 * that run: why it is refused without --supersede, or, with it, the figures
 * old -> new, the config keys that differ and the distribute runs it makes
 * stale.
 */
#include "coopsettle/bookkeeping.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coopsettle/amount.h"
#include "coopsettle/config_diff.h"
#include "coopsettle/json.h"
#include "coopsettle/limits.h"
#include "coopsettle/util.h"

/* ---- the server's clock, periods and closed windows ---- */

int cs_run_server_now(cs_db *db, int64_t *now_us, cs_error *err)
{
	cs_db_rows rows;
	int rc;

	if (cs_db_query(db,
			"SELECT (EXTRACT(epoch FROM pg_catalog.now()) * 1000000)::bigint",
			0, NULL, &rows, err) < 0)
		return -1;
	rc = cs_db_cell_i64(&rows, 0, 0, now_us);
	cs_db_rows_free(&rows);
	return rc < 0 ? cs_error_set(err, CS_EXIT_RUNTIME, "unexpected now() from the server") : 0;
}

static const char *const period_keywords[] = {"yesterday", "last-month", "last-quarter",
					      "last-year"};

int cs_period_is_keyword(const char *period)
{
	size_t i;

	for (i = 0; period && i < sizeof(period_keywords) / sizeof(period_keywords[0]); i++)
		if (strcmp(period, period_keywords[i]) == 0)
			return 1;
	return 0;
}

/* The local date (process time zone) of the instant us. */
static void local_date(int64_t us, int *y, int *m, int *d)
{
	time_t t = (time_t)(us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000));
	struct tm tm;

	localtime_r(&t, &tm);
	*y = tm.tm_year + 1900;
	*m = tm.tm_mon + 1;
	*d = tm.tm_mday;
}

/* The period text of keyword at now_us: yesterday is YYYY-MM-DD, last-month
 * YYYY-MM, last-quarter YYYY-Qn, last-year YYYY, each the one before the
 * local day, month, quarter or year of now_us. */
static void keyword_period(char *buf, size_t size, const char *keyword, int64_t now_us)
{
	int y, m, d, q;
	int64_t yy;
	unsigned um, ud;

	local_date(now_us, &y, &m, &d);
	q = (m - 1) / 3 + 1;
	if (strcmp(keyword, "yesterday") == 0) {
		cs_civil_from_days(cs_days_from_civil(y, (unsigned)m, (unsigned)d) - 1, &yy, &um,
				   &ud);
		snprintf(buf, size, "%04lld-%02u-%02u", (long long)yy, um, ud);
	} else if (strcmp(keyword, "last-month") == 0) {
		snprintf(buf, size, "%04d-%02d", m == 1 ? y - 1 : y, m == 1 ? 12 : m - 1);
	} else if (strcmp(keyword, "last-quarter") == 0) {
		snprintf(buf, size, "%04d-Q%d", q == 1 ? y - 1 : y, q == 1 ? 4 : q - 1);
	} else {
		snprintf(buf, size, "%04d", y - 1);
	}
}

int cs_run_window_at(cs_window *w, const char *period, const char *from, const char *to,
		     int64_t now_us, cs_error *err)
{
	char resolved[32];
	int rc;

	if (!period)
		return cs_window_from_bounds(w, from, to, err);
	if (cs_period_is_keyword(period)) {
		keyword_period(resolved, sizeof(resolved), period, now_us);
		return cs_window_from_period(w, resolved, err);
	}
	rc = cs_window_from_period(w, period, err);
	if (rc < 0 && strncmp(err->message, "invalid period", 14) == 0)
		cs_error_hint(err, "Use YYYY-MM-DD, YYYY-MM, YYYY-Qn, YYYY, or one of yesterday, "
				   "last-month, last-quarter, last-year.");
	return rc;
}

int cs_run_window(cs_window *w, const char *conninfo, const char *period, const char *from,
		  const char *to, cs_error *err)
{
	cs_db *db;
	int64_t now_us = 0;

	if (!cs_period_is_keyword(period))
		return cs_run_window_at(w, period, from, to, 0, err);
	db = cs_db_connect(conninfo, err);
	if (!db)
		return -1;
	if (cs_run_server_now(db, &now_us, err) < 0) {
		cs_db_close(db);
		return -1;
	}
	cs_db_close(db);
	return cs_run_window_at(w, period, from, to, now_us, err);
}

int64_t cs_run_last_closed_day(int64_t now_us, int64_t close_after_us)
{
	int y, m, d;

	local_date(now_us - close_after_us, &y, &m, &d);
	return cs_days_from_civil(y, (unsigned)m, (unsigned)d) - 1;
}

int cs_run_check_closed(cs_db *db, const cs_run_opts *opts, cs_error *err)
{
	int64_t now_us = 0, closes_us;
	char now_text[64], closes_text[64];

	if (opts->allow_open)
		return 0;
	if (cs_run_server_now(db, &now_us, err) < 0)
		return -1;
	closes_us = opts->window.to_us + opts->cfg->close_after_us;
	if (closes_us <= now_us)
		return 0;
	cs_format_local(now_text, sizeof(now_text), now_us);
	cs_format_local(closes_text, sizeof(closes_text), closes_us);
	cs_error_set(err, CS_EXIT_USAGE,
		     "window [%s, %s) is not closed yet: it closes at %s; nothing was done",
		     opts->window.from_text, opts->window.to_text, closes_text);
	cs_error_detail(err,
			"the database server's time is %s; a window closes close_after (%lld "
			"minutes, from %s) after its end",
			now_text, (long long)(opts->cfg->close_after_us / 60000000), opts->cfg->path);
	cs_error_hint(err, "Run it once it has closed (--period yesterday settles the last whole "
			   "day), or pass --allow-open to settle an open window on purpose: sales "
			   "after the run then need --supersede --reason TEXT.");
	return -1;
}

/* ---- the config keys that differ from a committed run's ---- */

/* The config keys of run old that differ from cfg's into *changes (none
 * when the hashes are equal). *unreadable is set when a text could not be
 * compared. Returns 0 or -1 (database). */
static int config_changes(cs_db *db, const cs_config *cfg, const cs_run_ref *old,
			  cs_config_change **changes, size_t *n, int *unreadable, cs_error *err)
{
	cs_db_rows rows;
	char id[24];
	const char *param = id;
	const char *text;

	*changes = NULL;
	*n = 0;
	*unreadable = 0;
	if (strcmp(old->config_sha256, cfg->sha256_hex) == 0)
		return 0;
	snprintf(id, sizeof(id), "%lld", (long long)old->id);
	if (cs_db_query(db, "SELECT config_text FROM coopsettle.runs WHERE id = $1::bigint", 1,
			&param, &rows, err) < 0)
		return -1;
	text = rows.n_rows ? cs_db_cell(&rows, 0, 0) : NULL;
	if (!text || cs_config_diff(text, strlen(text), cfg->text, cfg->text_len, changes, n) < 0)
		*unreadable = 1;
	cs_db_rows_free(&rows);
	return 0;
}

/* One line per changed key into b, each indented by indent: "PATH: OLD ->
 * NEW" (a missing side is "(none)"), at most CS_CONFIG_CHANGES_MAX. */
static void changes_text(cs_buf *b, const char *indent, const cs_config_change *c, size_t n)
{
	size_t i;

	for (i = 0; i < n && i < CS_CONFIG_CHANGES_MAX; i++)
		cs_buf_printf(b, "%s%s: %s -> %s\n", indent, cs_text_shown(c[i].path),
			      c[i].old_value ? cs_text_shown(c[i].old_value) : "(none)",
			      c[i].new_value ? cs_text_shown(c[i].new_value) : "(none)");
	if (n > CS_CONFIG_CHANGES_MAX)
		cs_buf_printf(b, "%s... and %zu more\n", indent, n - CS_CONFIG_CHANGES_MAX);
}

int cs_run_refuse_changed(cs_db *db, const cs_run_opts *opts, const char *kind,
			  const cs_run_ref *old, const cs_run_result *res, cs_error *err)
{
	int input = strcmp(old->input_sha256, res->input_hash) != 0;
	int config = strcmp(old->config_sha256, opts->cfg->sha256_hex) != 0;
	cs_config_change *changes = NULL;
	size_t n = 0;
	int unreadable = 0;
	cs_buf d;
	cs_error ignored;

	cs_buf_init(&d);
	cs_buf_printf(&d, "input_sha256 %s, recomputed %s\noutput_sha256 %s, recomputed %s",
		      old->input_sha256, res->input_hash, old->output_sha256, res->output_hash);
	if (config && config_changes(db, opts->cfg, old, &changes, &n, &unreadable, &ignored) == 0) {
		cs_buf_printf(&d, "\nconfig keys that differ from run %lld's (%zu):\n",
			      (long long)old->id, n);
		changes_text(&d, "  ", changes, n);
		if (d.len && d.data[d.len - 1] == '\n')
			d.data[--d.len] = '\0';
	}
	cs_error_set(err, CS_EXIT_CONFLICT,
		     "window [%s, %s) is already %s by committed run %lld, and %s%s%s; nothing "
		     "was written",
		     opts->window.from_text, opts->window.to_text,
		     strcmp(kind, "settle") == 0 ? "settled" : "distributed", (long long)old->id,
		     input ? "its inputs changed since" : "",
		     input && config ? " and " : "",
		     config ? "the config differs from the run's"
			    : input ? "" : "the recomputed output differs from the run's");
	cs_error_detail(err, "%s", d.data);
	cs_error_hint(err,
		      "Re-run with --supersede --reason TEXT to replace run %lld with these "
		      "figures (--dry-run shows them old -> new); 'coopsettle verify --run %lld' "
		      "names what changed.",
		      (long long)old->id, (long long)old->id);
	cs_config_changes_free(changes, n);
	cs_buf_free(&d);
	return -1;
}

/* ---- a replacement: old -> new, config keys, stale distribute runs ---- */

/* One figure k of currency cur, old ov -> new nv (decimal texts, NULL when
 * absent): {"old": .., "new": ..} under key k in j, and a summary line. */
static void figure_row(const cs_config *cfg, const char *cur, const char *k, const char *ov,
		       const char *nv, cs_buf *summary, cs_json *j)
{
	int c = cs_config_currency_index(cfg, cur, strlen(cur));
	int money = strstr(k, "_minor") || strncmp(k, "steps.", 6) == 0;
	cs_i128 a = 0, b = 0;

	cs_json_key(j, k);
	cs_json_object_begin(j);
	cs_json_key(j, "old");
	if (ov && cs_amount_parse(ov, &a) == 0)
		cs_json_int(j, a);
	else
		cs_json_null(j);
	cs_json_key(j, "new");
	if (nv && cs_amount_parse(nv, &b) == 0)
		cs_json_int(j, b);
	else
		cs_json_null(j);
	cs_json_object_end(j);
	cs_buf_printf(summary, "  %-10s %-28s ", cs_text_shown(cur), cs_text_shown(k));
	if (money && c >= 0) {
		cs_run_put_amount(summary, cfg, (size_t)c, a);
		cs_buf_puts(summary, " -> ");
		cs_run_put_amount(summary, cfg, (size_t)c, b);
	} else {
		cs_buf_put_i128(summary, a);
		cs_buf_puts(summary, " -> ");
		cs_buf_put_i128(summary, b);
	}
	cs_buf_puts(summary, a == b ? "\n" : "   (changed)\n");
}

/* Writes "old -> new" per currency and figure of run old's stored statement
 * and the printed one (res->statement) into the summary and the "replaces"
 * object of j. */
static int replacement_figures(cs_db *db, const cs_run_opts *opts, const cs_run_ref *old,
			       cs_run_result *res, cs_json *j, cs_error *err)
{
	/* the old statement is read first and passed in ($1): a query that
	 * reads no table is one Citus leaves alone (13.2 mis-plans this one
	 * with the runs table in it: "column x.cur does not exist") */
	static const char sql[] =
		"WITH o AS (SELECT c.key cur, f.key k, f.value #>> '{}' v"
		"  FROM pg_catalog.jsonb_each($1::jsonb->'currencies') c,"
		"  pg_catalog.jsonb_each(c.value) f"
		"  WHERE pg_catalog.jsonb_typeof(f.value) = 'number'"
		"  UNION ALL SELECT c.key, 'steps.' || (s->>'id'), s->>'amount_minor'"
		"  FROM pg_catalog.jsonb_each($1::jsonb->'currencies') c,"
		"  pg_catalog.jsonb_array_elements(c.value->'steps') s),"
		" n AS (SELECT c.key cur, f.key k, f.value #>> '{}' v"
		"  FROM pg_catalog.jsonb_each($2::jsonb->'currencies') c,"
		"  pg_catalog.jsonb_each(c.value) f WHERE pg_catalog.jsonb_typeof(f.value) = 'number'"
		"  UNION ALL SELECT c.key, 'steps.' || (s->>'id'), s->>'amount_minor'"
		"  FROM pg_catalog.jsonb_each($2::jsonb->'currencies') c,"
		"  pg_catalog.jsonb_array_elements(c.value->'steps') s)"
		" SELECT x.cur, x.k, x.ov, x.nv FROM (SELECT coalesce(o.cur, n.cur) cur,"
		" coalesce(o.k, n.k) k, o.v ov, n.v nv FROM o FULL JOIN n"
		" ON n.cur = o.cur AND n.k = o.k) x"
		" ORDER BY x.cur COLLATE \"C\", x.k LIKE 'steps.%', x.k COLLATE \"C\"";
	char id[24];
	const char *params[2] = {id, res->statement.data};
	const char *cur_open = NULL;
	cs_db_rows rows, stmt;
	size_t i;
	int rc;

	snprintf(id, sizeof(id), "%lld", (long long)old->id);
	if (cs_db_query(db, "SELECT statement FROM coopsettle.runs WHERE id = $1::bigint", 1, params,
			&stmt, err) < 0)
		return -1;
	params[0] = stmt.n_rows ? cs_db_cell(&stmt, 0, 0) : NULL;
	rc = cs_db_query(db, sql, 2, params, &rows, err);
	cs_db_rows_free(&stmt);
	if (rc < 0)
		return -1;
	cs_buf_printf(&res->summary, "  %s run %lld, per currency old -> new:\n",
		      opts->dry_run ? "would replace" : "replaces", (long long)old->id);
	cs_json_key(j, "replaces");
	cs_json_object_begin(j);
	cs_json_key(j, "run_id");
	cs_json_int(j, old->id);
	cs_json_key(j, "currencies");
	cs_json_object_begin(j);
	for (i = 0; i < rows.n_rows; i++) {
		const char *cur = cs_db_cell(&rows, i, 0);

		if (!cur || !cs_db_cell(&rows, i, 1))
			continue;
		if (!cur_open || strcmp(cur_open, cur) != 0) {
			if (cur_open)
				cs_json_object_end(j);
			cs_json_key(j, cur);
			cs_json_object_begin(j);
			cur_open = cur;
		}
		figure_row(opts->cfg, cur, cs_db_cell(&rows, i, 1), cs_db_cell(&rows, i, 2),
			   cs_db_cell(&rows, i, 3), &res->summary, j);
	}
	if (cur_open)
		cs_json_object_end(j);
	cs_json_object_end(j);
	cs_json_object_end(j);
	cs_db_rows_free(&rows);
	return 0;
}

/* The committed distribute runs that query (one parameter, param) lists as
 * made stale by this run's supersede: "stale_runs" in j, a line each in notes
 * saying what each took from old (cause) and what to do (remedy). */
static int stale_runs(cs_db *db, const cs_run_opts *opts, const char *query, const char *param, const char *cause, const char *remedy,
		      cs_run_result *res, cs_json *j, cs_error *err)
{
	cs_db_rows rows;
	size_t i;

	if (cs_db_query(db, query, 1, &param, &rows, err) < 0)
		return -1;
	cs_json_key(j, "stale_runs");
	cs_json_array_begin(j);
	for (i = 0; i < rows.n_rows; i++) {
		int64_t d = 0;

		cs_db_cell_i64(&rows, i, 0, &d);
		cs_json_int(j, d);
		cs_buf_printf(&res->notes,
			      "coopsettle: distribute run %lld [%s, %s) %s, which this run %s: run "
			      "%lld %s stale; %s\n",
			      (long long)d, cs_text_shown(cs_db_cell(&rows, i, 1)),
			      cs_text_shown(cs_db_cell(&rows, i, 2)), cause,
			      opts->dry_run ? "would supersede" : "supersedes", (long long)d,
			      opts->dry_run ? "would be" : "is now", remedy);
	}
	cs_json_array_end(j);
	cs_db_rows_free(&rows);
	return 0;
}

/* The committed distribute runs that used settle run old (a window that
 * holds old's, made after it). */
static int stale_distributions(cs_db *db, const cs_run_opts *opts, const cs_run_ref *old,
			       cs_run_result *res, cs_json *j, cs_error *err)
{
	char id[24], cause[64];

	snprintf(id, sizeof(id), "%lld", (long long)old->id);
	snprintf(cause, sizeof(cause), "used settle run %lld", (long long)old->id);
	return stale_runs(db, opts,
			  "SELECT d.id, d.window_from_text, d.window_to_text FROM coopsettle.runs d,"
			  " coopsettle.runs s WHERE s.id = $1::bigint AND d.kind = 'distribute'"
			  " AND d.status = 'committed' AND d.id > s.id"
			  " AND d.window_from_us <= s.window_from_us"
			  " AND d.window_to_us >= s.window_to_us"
			  " AND (d.depends_on IS NULL OR s.id = ANY (d.depends_on)) ORDER BY d.id",
			  id, cause,
			  "re-run distribute for its window with --supersede --reason TEXT", res, j,
			  err);
}

/* Version 2 (spec 10.7.3): superseding distribute run old makes the
 * committed distribute runs after it stale, since their balances came from
 * its lines. */
static int stale_later_distributions(cs_db *db, const cs_run_opts *opts, const cs_run_ref *old,
				     cs_run_result *res, cs_json *j, cs_error *err)
{
	char to[24], cause[80];

	snprintf(to, sizeof(to), "%lld", (long long)old->to_us);
	snprintf(cause, sizeof(cause), "started from the balances run %lld left",
		 (long long)old->id);
	return stale_runs(db, opts,
			  "SELECT id, window_from_text, window_to_text FROM coopsettle.runs"
			  " WHERE kind = 'distribute' AND status = 'committed'"
			  " AND window_from_us >= $1::bigint ORDER BY window_from_us, id",
			  to, cause,
			  "re-run distribute for each later window, in window order, with "
			  "--supersede --reason TEXT",
			  res, j, err);
}

/* "config_changes" in j (the paths), and the keys with their values in
 * notes. */
static int report_config(cs_db *db, const cs_run_opts *opts, const cs_run_ref *old,
			 cs_run_result *res, cs_json *j, cs_error *err)
{
	cs_config_change *changes = NULL;
	size_t n = 0, i;
	int unreadable = 0;

	if (config_changes(db, opts->cfg, old, &changes, &n, &unreadable, err) < 0)
		return -1;
	cs_json_key(j, "config_changes");
	cs_json_array_begin(j);
	for (i = 0; i < n; i++)
		cs_json_string(j, changes[i].path);
	cs_json_array_end(j);
	if (unreadable)
		cs_buf_printf(&res->notes,
			      "coopsettle: the config text differs from run %lld's; its keys could "
			      "not be compared\n",
			      (long long)old->id);
	else if (n) {
		cs_buf_printf(&res->notes, "coopsettle: the config differs from run %lld's in %zu "
					   "key%s (old -> new):\n",
			      (long long)old->id, n, n == 1 ? "" : "s");
		changes_text(&res->notes, "  ", changes, n);
	}
	cs_config_changes_free(changes, n);
	return 0;
}

int cs_run_report_replacement(cs_db *db, const cs_run_opts *opts, const char *kind,
			      const cs_run_ref *old, cs_run_result *res, cs_error *err)
{
	cs_buf extra;
	cs_json j;
	int rc = -1;

	cs_buf_init(&extra);
	cs_json_init(&j, &extra);
	cs_json_object_begin(&j);
	if (replacement_figures(db, opts, old, res, &j, err) < 0 ||
	    report_config(db, opts, old, res, &j, err) < 0 ||
	    (strcmp(kind, "settle") == 0 && stale_distributions(db, opts, old, res, &j, err) < 0) ||
	    (strcmp(kind, "distribute") == 0 && opts->cfg->version >= 2 &&
	     stale_later_distributions(db, opts, old, res, &j, err) < 0))
		goto cleanup;
	cs_json_object_end(&j);
	cs_run_statement_add(&res->statement, extra.data);
	rc = 0;
cleanup:
	cs_buf_free(&extra);
	return rc;
}

void cs_run_report_command(cs_db *db, const cs_run_opts *opts, const char *kind,
			   const cs_run_ref *old, cs_run_result *res)
{
	cs_error err;
	cs_buf extra;
	cs_json j;

	cs_error_clear(&err);
	if (old && strcmp(res->status, "unchanged") != 0 &&
	    cs_run_report_replacement(db, opts, kind, old, res, &err) < 0)
		cs_buf_printf(&res->notes,
			      "coopsettle: cannot compare with run %lld (%s); the run itself is as "
			      "reported\n",
			      (long long)old->id, cs_text_shown(err.message));
	if (!opts->reason)
		return;
	cs_buf_init(&extra);
	cs_json_init(&j, &extra);
	cs_json_object_begin(&j);
	cs_json_key(&j, "reason");
	cs_json_string(&j, opts->reason);
	cs_json_object_end(&j);
	cs_run_statement_add(&res->statement, extra.data);
	cs_buf_free(&extra);
}
