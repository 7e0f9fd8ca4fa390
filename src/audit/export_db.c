/*
 * export_db.c -- the database edge of `export` (audit.h, export.h,
 * docs/exports.md): the runs of --run N or of a period, each checked
 * against its output hash, their lines streamed through the formatter
 * into a file written complete or not at all.
 *
 * Everything is read in one REPEATABLE READ, READ ONLY transaction, so the
 * lines checked are the lines written.
 */
#include "coopsettle/audit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/bookkeeping.h"
#include "coopsettle/config_load.h"
#include "coopsettle/limits.h"
#include "coopsettle/util.h"
#include "coopsettle/verify.h"
#include "audit_int.h"

/* A run of the export, loaded. */
typedef struct xrun {
	cs_stored_run run;
	int loaded;
	cs_config *cfg;
	cs_window w;
	char first_day[16], last_day[16], open_day[16];
	cs_export_run er;
} xrun;

/* A currency of the lines: code and exponent. */
typedef struct xcur {
	char code[16];
	unsigned exponent;
} xcur;

typedef struct export_job {
	const cs_export_request *q;
	cs_db *db;
	cs_config *own_cfg; /* the latest committed run's config, without --config */
	xrun *runs;
	size_t n_runs;
	xcur curs[CS_CURRENCIES_MAX];
	size_t n_curs;
	char first[16], last[16]; /* the period's first and last local day */
	char created[24], fy_start[48], wkz[16];
	cs_buf ids;	  /* the runs' ids as a bigint[] literal */
	cs_buf last_days; /* their last local days as a date[] literal */
	cs_export_opts opts;
	cs_export *x;
	cs_buf out;
} export_job;

static void job_free(export_job *j)
{
	size_t i;

	for (i = 0; i < j->n_runs; i++) {
		if (j->runs[i].loaded)
			cs_stored_run_free(&j->runs[i].run);
		cs_config_free(j->runs[i].cfg);
	}
	free(j->runs);
	cs_config_free(j->own_cfg);
	cs_export_free(j->x);
	cs_buf_free(&j->out);
	cs_buf_free(&j->ids);
	cs_buf_free(&j->last_days);
	cs_db_close(j->db);
}

/* ---- the runs ---- */

/* Loads run id (its record and config) into r and makes the process use its
 * time zone; fills r->er. */
static int run_load(export_job *j, int64_t id, xrun *r, cs_error *err)
{
	int64_t first, end;

	if (cs_stored_run_load(j->db, id, &r->run, err) < 0)
		return -1;
	r->loaded = 1;
	if (cs_stored_run_config(&r->run, &r->cfg, &r->w, err) < 0)
		return -1;
	cs_window_local_days(&r->w, &first, &end);
	cs_day_text(r->first_day, sizeof(r->first_day), first);
	cs_day_text(r->last_day, sizeof(r->last_day), end > first ? end - 1 : first);
	cs_day_text(r->open_day, sizeof(r->open_day), cs_local_day_of_us(r->w.from_us));
	r->er.id = r->run.id;
	r->er.kind = r->run.kind;
	r->er.status = r->run.status;
	r->er.cooperative = r->cfg->cooperative;
	r->er.from_text = r->w.from_text;
	r->er.to_text = r->w.to_text;
	r->er.date = r->last_day;
	r->er.open_date = r->open_day; /* on or before every line's posting date */
	r->er.config_sha256 = r->run.config_sha256;
	r->er.input_sha256 = r->run.input_sha256;
	r->er.output_sha256 = r->run.output_sha256;
	r->er.record_sha256 = r->run.record_sha256;
	r->er.supersedes = r->run.supersedes;
	return 0;
}

/* The stored rows of a run must hash to its output_sha256 before anything
 * is written (spec section 10.4): an export never puts a run's hash over
 * lines that are not the run's. */
static int run_check_output(export_job *j, const xrun *r, cs_error *err)
{
	char hex[65];

	if (cs_verify_stored_output(j->db, &r->run, r->cfg, hex, err) < 0)
		return -1;
	if (strcmp(hex, r->run.output_sha256) == 0)
		return 0;
	cs_error_set(err, CS_EXIT_VERIFY,
		     "run %lld's stored rows do not hash to its output_sha256: they were changed "
		     "after the run; nothing was written",
		     (long long)r->run.id);
	cs_error_detail(err, "output_sha256 %s, the stored rows hash to %s", r->run.output_sha256,
			hex);
	cs_error_hint(err,
		      "Run 'coopsettle verify --run %lld' to see which rows differ; keep the "
		      "database as it is and investigate before exporting.",
		      (long long)r->run.id);
	return -1;
}

/* The period's time zone: --config's, else the latest committed run's
 * config's, else UTC. Then begins the read transaction. */
static int period_begin(export_job *j, cs_error *err)
{
	const cs_config *cfg = j->q->cfg;

	if (!cfg) {
		if (audit_latest_config(j->db, &j->own_cfg, err) < 0)
			return -1;
		cfg = j->own_cfg;
	}
	if (cs_tz_use(cfg ? cfg->timezone : "UTC", err) < 0)
		return -1;
	return cs_stored_begin(j->db, cfg, err);
}

/* The ids of the period's runs, in run order: every run whose window lies
 * in [from_us, to_us); for DATEV also the runs made in or around it, whose
 * reversal lines may be posted in it (their lines are filtered by date). */
static int period_ids(export_job *j, const cs_window *w, cs_db_rows *rows, cs_error *err)
{
	char from[24], to[24];
	const char *params[2] = {from, to};

	snprintf(from, sizeof(from), "%lld", (long long)w->from_us);
	snprintf(to, sizeof(to), "%lld", (long long)w->to_us);
	if (j->q->fmt != CS_EXPORT_DATEV)
		return cs_db_query(j->db,
				   "SELECT id FROM coopsettle.runs WHERE window_from_us >= $1::bigint"
				   " AND window_to_us <= $2::bigint ORDER BY id",
				   2, params, rows, err);
	return cs_db_query(j->db,
			   "SELECT id FROM coopsettle.runs WHERE (window_from_us >= $1::bigint"
			   " AND window_to_us <= $2::bigint) OR (created_at::timestamptz >="
			   " 'epoch'::timestamptz + ($1::bigint * interval '1 microsecond')"
			   " - interval '2 days' AND created_at::timestamptz < 'epoch'::timestamptz"
			   " + ($2::bigint * interval '1 microsecond') + interval '2 days')"
			   " ORDER BY id",
			   2, params, rows, err);
}

static int load_runs(export_job *j, const int64_t *ids, size_t n, cs_error *err)
{
	size_t i;

	j->runs = calloc(n + 1, sizeof(*j->runs));
	CS_ASSERT(j->runs != NULL);
	for (i = 0; i < n; i++) {
		j->n_runs = i + 1;
		if (run_load(j, ids[i], &j->runs[i], err) < 0 ||
		    run_check_output(j, &j->runs[i], err) < 0)
			return -1;
		cs_buf_printf(&j->ids, "%s%lld", i ? "," : "{", (long long)ids[i]);
		cs_buf_printf(&j->last_days, "%s%s", i ? "," : "{", j->runs[i].last_day);
	}
	cs_buf_puts(&j->ids, n ? "}" : "{}");
	cs_buf_puts(&j->last_days, n ? "}" : "{}");
	return 0;
}

/* The runs of a period export. */
static int period_runs(export_job *j, cs_error *err)
{
	const cs_export_request *q = j->q;
	cs_window w;
	cs_db_rows rows;
	int64_t now, first, end, *ids;
	size_t i;
	int rc;

	if (period_begin(j, err) < 0 || cs_run_server_now(j->db, &now, err) < 0 ||
	    cs_run_window_at(&w, q->period, q->from, q->to, now, err) < 0)
		return -1;
	cs_window_local_days(&w, &first, &end);
	cs_day_text(j->first, sizeof(j->first), first);
	cs_day_text(j->last, sizeof(j->last), end > first ? end - 1 : first);
	if (period_ids(j, &w, &rows, err) < 0)
		return -1;
	ids = calloc(rows.n_rows + 1, sizeof(*ids));
	CS_ASSERT(ids != NULL);
	for (i = 0; i < rows.n_rows; i++)
		CS_ASSERT(cs_db_cell_i64(&rows, i, 0, &ids[i]) == 0); /* a bigint column */
	rc = load_runs(j, ids, rows.n_rows, err);
	cs_db_rows_free(&rows);
	free(ids);
	return rc;
}

/* The run of export --run N; the period is its window. */
static int one_run(export_job *j, cs_error *err)
{
	xrun *r;

	j->runs = calloc(1, sizeof(*j->runs));
	CS_ASSERT(j->runs != NULL);
	j->n_runs = 1;
	r = &j->runs[0];
	if (run_load(j, j->q->run, r, err) < 0 || cs_stored_begin(j->db, r->cfg, err) < 0 ||
	    run_check_output(j, r, err) < 0)
		return -1;
	snprintf(j->first, sizeof(j->first), "%s", r->first_day);
	snprintf(j->last, sizeof(j->last), "%s", r->last_day);
	cs_buf_printf(&j->ids, "{%lld}", (long long)r->run.id);
	cs_buf_printf(&j->last_days, "{%s}", r->last_day);
	return 0;
}

/* ---- DATEV's header ---- */

/* The fiscal year the period starts in must hold its last day too; its
 * start becomes the header's WJ-Beginn. */
static int datev_fiscal_year(export_job *j, cs_error *err)
{
	const cs_accounts_map *m = j->q->map;
	int y = 0, mo = 0, d = 0, n;
	char end[48];

	n = sscanf(j->first, "%4d-%2d-%2d", &y, &mo, &d);
	CS_ASSERT(n == 3); /* j->first is cs_day_text's YYYY-MM-DD */
	if (mo < (int)m->fy_month || (mo == (int)m->fy_month && d < (int)m->fy_day))
		y--;
	snprintf(j->fy_start, sizeof(j->fy_start), "%04d%02u%02u", y, m->fy_month, m->fy_day);
	snprintf(end, sizeof(end), "%04d-%02u-%02u", y + 1, m->fy_month, m->fy_day);
	if (strcmp(j->last, end) >= 0) {
		int64_t last_n = cs_days_from_civil(y + 1, m->fy_month, m->fy_day) - 1;
		char fy_last[16];

		cs_day_text(fy_last, sizeof(fy_last), last_n);
		cs_error_set(err, CS_EXIT_USAGE,
			     "the period %s to %s runs past the fiscal year %04d-%02u-%02u to %s: a "
			     "DATEV file holds one fiscal year",
			     j->first, j->last, y, m->fy_month, m->fy_day, fy_last);
		cs_error_hint(err,
			      "Export each fiscal year into a file of its own (--from X --to "
			      "Y; the map's datev.fiscal_year_start says when a year starts).");
		return -1;
	}
	return 0;
}

/* Erzeugt am: when the latest run of the export was made (UTC), so that the
 * same database gives the same file; an export without runs takes the
 * period's last day. */
static int datev_created(export_job *j, cs_error *err)
{
	const char *params[1] = {j->ids.data};
	cs_db_rows rows;
	const char *t;
	size_t k = 0;

	/* created_at is kept as YYYY-MM-DDTHH:MM:SS.ffffffZ, UTC */
	if (cs_db_query(j->db,
			"SELECT max(created_at) FROM coopsettle.runs WHERE id = ANY($1::bigint[])",
			1, params, &rows, err) < 0)
		return -1;
	t = rows.n_rows ? cs_db_cell(&rows, 0, 0) : NULL;
	for (; t && *t && k < 17; t++)
		if (*t >= '0' && *t <= '9')
			j->created[k++] = *t;
	j->created[k] = '\0';
	if (k != 17)
		snprintf(j->created, sizeof(j->created), "%.4s%.2s%.2s000000000", j->last,
			 j->last + 5, j->last + 8);
	cs_db_rows_free(&rows);
	return 0;
}

static int datev_opts(export_job *j, cs_error *err)
{
	const cs_accounts_map *m = j->q->map;
	const cs_config *cfg = j->n_runs   ? j->runs[j->n_runs - 1].cfg
			       : j->q->cfg ? j->q->cfg
					   : j->own_cfg;
	cs_export_datev *d = &j->opts.datev;

	if (!m || !m->has_datev) {
		cs_error_set(err, CS_EXIT_USAGE,
			     "--format datev needs --accounts MAP.yaml with a 'datev' section "
			     "(consultant, client)");
		cs_error_hint(err, "Start from config/accounts-skr03.yaml or "
				   "config/accounts-skr04.yaml (docs/exports.md, \"DATEV\").");
		return -1;
	}
	if (datev_fiscal_year(j, err) < 0 || datev_created(j, err) < 0)
		return -1;
	snprintf(j->wkz, sizeof(j->wkz), "%s",
		 cfg ? cfg->currencies[cfg->base_currency].code : "EUR");
	d->consultant = m->consultant;
	d->client = m->client;
	d->account_length = m->account_length;
	d->chart = m->chart;
	d->created = j->created;
	d->fy_start = j->fy_start;
	d->currency = j->wkz;
	return 0;
}

/* ---- declarations ---- */

/* Declares the currencies of every run's config, each once. */
static int declare_currencies(export_job *j, cs_error *err)
{
	size_t i, c, k;

	for (i = 0; i < j->n_runs; i++) {
		const cs_config *cfg = j->runs[i].cfg;

		for (c = 0; c < cfg->n_currencies; c++) {
			const cs_currency *cur = &cfg->currencies[c];

			for (k = 0; k < j->n_curs && strcmp(j->curs[k].code, cur->code) != 0; k++)
				;
			if (k < j->n_curs) {
				if (j->curs[k].exponent != cur->exponent)
					return cs_error_set(err, CS_EXIT_USAGE,
							    "the runs give currency %s different "
							    "exponents (%u, %u): one file cannot "
							    "hold both",
							    cur->code, j->curs[k].exponent,
							    cur->exponent);
				continue;
			}
			if (j->n_curs == CS_CURRENCIES_MAX)
				return cs_error_set(err, CS_EXIT_USAGE,
						    "the runs use more than %d currencies",
						    CS_CURRENCIES_MAX);
			snprintf(j->curs[k].code, sizeof(j->curs[k].code), "%s", cur->code);
			j->curs[k].exponent = cur->exponent;
			j->n_curs++;
		}
	}
	for (k = 0; k < j->n_curs; k++)
		cs_export_commodity(j->x, j->curs[k].code, j->curs[k].exponent);
	return 0;
}

/* The root of an account: its role in the latest config that names it. */
static cs_export_root account_root(const export_job *j, const char *account)
{
	cs_export_root root = CS_ROOT_EQUITY;
	size_t i;

	for (i = j->n_runs; i-- > 0;)
		if (cs_export_root_find(j->runs[i].cfg, account, &root))
			return root;
	return CS_ROOT_EQUITY;
}

/* Declares every (account, party) the runs' lines use. */
static int declare_accounts(export_job *j, cs_error *err)
{
	const char *params[1] = {j->ids.data};
	cs_cursor c;
	int step, rc = -1;

	if (cs_cursor_open(&c, j->db, "cs_export_accounts",
			   "SELECT DISTINCT account, party_id FROM coopsettle.ledger_lines"
			   " WHERE run_id = ANY($1::bigint[])",
			   1, params, err) < 0)
		goto cleanup;
	while ((step = cs_cursor_next(&c, err)) == 1) {
		const char *account = cs_cursor_cell(&c, 0) ? cs_cursor_cell(&c, 0) : "";
		int64_t party = 0;
		int has_party = cs_parse_i64(cs_cursor_cell(&c, 1), &party) == 0;

		if (cs_export_declare(j->x, account, account_root(j, account), err) < 0)
			goto cleanup;
		if (j->q->fmt != CS_EXPORT_DATEV)
			cs_export_declare_party(j->x, account, has_party, party);
	}
	rc = step < 0 ? -1 : 0;
cleanup:
	cs_cursor_close(&c);
	return rc;
}

/* ---- lines ---- */

static const xcur *find_currency(const export_job *j, const char *code)
{
	size_t k;

	for (k = 0; code && k < j->n_curs; k++)
		if (strcmp(j->curs[k].code, code) == 0)
			return &j->curs[k];
	return NULL;
}

/* Reads the current row of run r's lines cursor into l (strings point into
 * the row); a line the engine cannot have written is an error. */
static int line_read(const export_job *j, const xrun *r, const cs_cursor *c, cs_export_line *l,
		     cs_error *err)
{
	const char *code = cs_cursor_cell(c, 7), *entry = cs_cursor_cell(c, 0);
	const xcur *cur = find_currency(j, code);

	memset(l, 0, sizeof(*l));
	if (!cur || !entry || cs_parse_i64(cs_cursor_cell(c, 1), &l->journal) < 0 ||
	    cs_parse_i64(cs_cursor_cell(c, 2), &l->line_no) < 0 || !cs_cursor_cell(c, 5))
		return cs_error_set(err, CS_EXIT_VERIFY,
				    "run %lld has a stored line the engine cannot have written "
				    "(journal %s, currency %s)",
				    (long long)r->run.id,
				    cs_cursor_cell(c, 1) ? cs_cursor_cell(c, 1) : "NULL",
				    code ? code : "NULL");
	if (audit_stored_amount(cs_cursor_cell(c, 8), &l->amount_minor, r->run.id, err) < 0)
		return -1;
	l->reversal = strcmp(entry, "reversal") == 0;
	l->has_transaction = cs_parse_i64(cs_cursor_cell(c, 3), &l->transaction_id) == 0;
	l->rule_id = cs_cursor_cell(c, 4);
	l->account = cs_cursor_cell(c, 5);
	l->has_party = cs_parse_i64(cs_cursor_cell(c, 6), &l->party_id) == 0;
	l->currency = cur->code;
	l->exponent = cur->exponent;
	/* dated by its posting date (spec 10.5); a line written before posting
	 * dates were kept has none, and takes the window's last day */
	l->posted_on = cs_cursor_cell(c, 9) ? cs_cursor_cell(c, 9) : r->last_day;
	return 0;
}

/* Streams the lines of run r, reversals first; DATEV takes those posted in
 * the period. */
static int run_lines(export_job *j, const xrun *r, FILE *f, cs_error *err)
{
	char run_text[24];
	const char *params[1] = {run_text};
	/* a period's DATEV file takes the lines posted in it; one run's, all of
	 * them (a line posted outside its window stops it: exit 2) */
	int datev = j->q->fmt == CS_EXPORT_DATEV && !j->q->run;
	cs_cursor c;
	int rc = -1, step;

	snprintf(run_text, sizeof(run_text), "%lld", (long long)r->run.id);
	if (cs_cursor_open(&c, j->db, "cs_export",
			   "SELECT entry, journal, line_no, transaction_id, rule_id, account,"
			   " party_id, currency, amount_minor::text, posted_on::text"
			   " FROM coopsettle.ledger_lines"
			   " WHERE run_id = $1::bigint ORDER BY entry = 'post', journal, line_no",
			   1, params, err) < 0)
		goto cleanup;
	while ((step = cs_cursor_next(&c, err)) == 1) {
		cs_export_line l;

		if (line_read(j, r, &c, &l, err) < 0)
			goto cleanup;
		if (datev &&
		    (strcmp(l.posted_on, j->first) < 0 || strcmp(l.posted_on, j->last) > 0))
			continue;
		if (cs_export_line_put(j->x, &r->er, &l, err) < 0)
			goto cleanup;
		if (j->out.len >= OUT_FLUSH_BYTES && audit_put_out(f, &j->out, err) < 0)
			goto cleanup;
	}
	if (step < 0)
		goto cleanup;
	rc = 0;
cleanup:
	cs_cursor_close(&c);
	return rc;
}

/* Streams the lines summed per (posting date, currency, account, party),
 * sums of zero left out. */
static int day_lines(export_job *j, FILE *f, cs_error *err)
{
	const char *params[5] = {j->ids.data, j->last_days.data, j->first, j->last,
				 j->q->fmt == CS_EXPORT_DATEV ? "true" : "false"};
	cs_cursor c;
	int rc = -1, step;

	if (cs_cursor_open(&c, j->db, "cs_export_days",
			   "SELECT d.day::text, l.currency, l.account, l.party_id,"
			   " sum(l.amount_minor)::text FROM coopsettle.ledger_lines l"
			   " JOIN unnest($1::bigint[], $2::date[]) AS r(id, last_day)"
			   " ON l.run_id = r.id"
			   " CROSS JOIN LATERAL (SELECT COALESCE(l.posted_on, r.last_day) AS day) d"
			   " WHERE NOT $5::boolean OR d.day BETWEEN $3::date AND $4::date"
			   " GROUP BY d.day, l.currency, l.account, l.party_id"
			   " HAVING sum(l.amount_minor) <> 0"
			   " ORDER BY d.day, l.currency COLLATE \"C\", l.account COLLATE \"C\","
			   " l.party_id",
			   5, params, err) < 0)
		goto cleanup;
	while ((step = cs_cursor_next(&c, err)) == 1) {
		const xcur *cur = find_currency(j, cs_cursor_cell(&c, 1));
		cs_export_line l;

		memset(&l, 0, sizeof(l));
		if (!cur || !cs_cursor_cell(&c, 0) || !cs_cursor_cell(&c, 2)) {
			cs_error_set(err, CS_EXIT_VERIFY,
				     "a stored line has a currency or account the engine cannot "
				     "have written");
			goto cleanup;
		}
		if (audit_stored_amount(cs_cursor_cell(&c, 4), &l.amount_minor, 0, err) < 0)
			goto cleanup;
		l.posted_on = cs_cursor_cell(&c, 0);
		l.currency = cur->code;
		l.exponent = cur->exponent;
		l.account = cs_cursor_cell(&c, 2);
		l.has_party = cs_parse_i64(cs_cursor_cell(&c, 3), &l.party_id) == 0;
		if (cs_export_line_put(j->x, NULL, &l, err) < 0)
			goto cleanup;
		if (j->out.len >= OUT_FLUSH_BYTES && audit_put_out(f, &j->out, err) < 0)
			goto cleanup;
	}
	if (step < 0)
		goto cleanup;
	rc = 0;
cleanup:
	cs_cursor_close(&c);
	return rc;
}

/* ---- the export ---- */

/* The formatter's options and the runs it names. */
static int job_prepare(export_job *j, cs_error *err)
{
	const cs_export_request *q = j->q;
	const cs_config *title = j->n_runs ? j->runs[j->n_runs - 1].cfg
				 : q->cfg  ? q->cfg
					   : j->own_cfg;
	size_t i;

	j->opts.fmt = q->fmt;
	j->opts.map = q->map;
	j->opts.group_day = q->group_day;
	if (!q->run || q->fmt == CS_EXPORT_DATEV) {
		j->opts.period_first = j->first;
		j->opts.period_last = j->last;
	}
	j->opts.cooperative = title ? title->cooperative : "";
	j->opts.open_date = q->run ? j->runs[0].open_day : j->first;
	if (q->fmt == CS_EXPORT_DATEV && datev_opts(j, err) < 0)
		return -1;
	j->x = cs_export_new(&j->opts, &j->out);
	for (i = 0; i < j->n_runs; i++)
		cs_export_add_run(j->x, &j->runs[i].er);
	return 0;
}

/* Writes the export to f; the caller opens and closes f. */
static int job_write(export_job *j, FILE *f, cs_error *err)
{
	size_t i;

	if (declare_currencies(j, err) < 0 || declare_accounts(j, err) < 0 ||
	    cs_export_begin(j->x, err) < 0)
		return -1;
	if (j->q->group_day) {
		if (day_lines(j, f, err) < 0)
			return -1;
	} else {
		for (i = 0; i < j->n_runs; i++)
			if (run_lines(j, &j->runs[i], f, err) < 0)
				return -1;
	}
	if (cs_export_end(j->x, err) < 0)
		return -1;
	return audit_put_out(f, &j->out, err);
}

int cs_audit_export(const cs_export_request *q, cs_error *err)
{
	export_job j;
	cs_buf tmp;
	FILE *f;
	int rc = -1;

	memset(&j, 0, sizeof(j));
	j.q = q;
	cs_buf_init(&j.out);
	cs_buf_init(&j.ids);
	cs_buf_init(&j.last_days);
	cs_buf_init(&tmp);
	j.db = cs_stored_connect(q->conninfo, err);
	if (!j.db || (q->run ? one_run(&j, err) : period_runs(&j, err)) < 0 ||
	    job_prepare(&j, err) < 0)
		goto cleanup;
	if (!q->output) {
		rc = job_write(&j, stdout, err);
		goto cleanup;
	}
	f = audit_open_temp(q->output, &tmp, audit_umask_mode(), err);
	if (!f)
		goto cleanup;
	rc = job_write(&j, f, err);
	rc = audit_close_temp(f, tmp.data, q->output, rc == 0, err);
cleanup:
	job_free(&j);
	cs_buf_free(&tmp);
	return rc;
}
