/*
 * stored.c -- reading stored runs back for the audit commands (see
 * stored.h).
 */
#include "coopsettle/stored.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/amount.h"
#include "coopsettle/capital.h"
#include "coopsettle/config_load.h"
#include "coopsettle/buf.h"
#include "coopsettle/hash.h"
#include "coopsettle/schema.h"
#include "coopsettle/source.h"
#include "coopsettle/util.h"

cs_db *cs_stored_connect(const char *conninfo, cs_error *err)
{
	cs_db *db = cs_db_connect(conninfo, err);

	if (db && cs_schema_check(db, err) < 0) {
		cs_db_close(db);
		return NULL;
	}
	return db;
}

int cs_stored_begin(cs_db *db, const cs_config *cfg, cs_error *err)
{
	if (cfg)
		return cs_source_begin_read(db, cfg, err);
	return cs_db_exec(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, err);
}

/* Copies cell text into a fixed buffer; "" for NULL. Returns -1 when it does
 * not fit (a malformed stored value). */
static int copy_cell(char *dst, size_t size, const char *cell)
{
	size_t n = cell ? strlen(cell) : 0;

	if (n >= size)
		return -1;
	memcpy(dst, cell ? cell : "", n + 1);
	return 0;
}

static char *dup_cell(const char *cell)
{
	size_t n = cell ? strlen(cell) : 0;
	char *p = malloc(n + 1);

	CS_ASSERT(p != NULL);
	memcpy(p, cell ? cell : "", n + 1);
	return p;
}

int cs_stored_run_from_row(const cs_db_rows *rows, size_t r, cs_stored_run *run)
{
	const char *prev = cs_db_cell(rows, r, 14), *sup = cs_db_cell(rows, r, 13);
	const char *by = cs_db_cell(rows, r, 18);
	int bad = 0;

	memset(run, 0, sizeof(*run));
	bad |= cs_db_cell_i64(rows, r, 0, &run->id);
	bad |= copy_cell(run->kind, sizeof(run->kind), cs_db_cell(rows, r, 1));
	bad |= copy_cell(run->status, sizeof(run->status), cs_db_cell(rows, r, 2));
	bad |= cs_db_cell_i64(rows, r, 3, &run->from_us);
	bad |= cs_db_cell_i64(rows, r, 4, &run->to_us);
	bad |= copy_cell(run->from_text, sizeof(run->from_text), cs_db_cell(rows, r, 5));
	bad |= copy_cell(run->to_text, sizeof(run->to_text), cs_db_cell(rows, r, 6));
	run->config_text = dup_cell(cs_db_cell(rows, r, 7));
	run->config_len = strlen(run->config_text);
	bad |= copy_cell(run->config_sha256, sizeof(run->config_sha256), cs_db_cell(rows, r, 8));
	bad |= copy_cell(run->input_sha256, sizeof(run->input_sha256), cs_db_cell(rows, r, 9));
	bad |= copy_cell(run->output_sha256, sizeof(run->output_sha256), cs_db_cell(rows, r, 10));
	bad |= copy_cell(run->engine_version, sizeof(run->engine_version), cs_db_cell(rows, r, 11));
	bad |= copy_cell(run->created_at, sizeof(run->created_at), cs_db_cell(rows, r, 12));
	if (sup)
		bad |= cs_parse_i64(sup, &run->supersedes);
	run->has_prev = prev != NULL;
	bad |= copy_cell(run->prev_record_sha256, sizeof(run->prev_record_sha256), prev);
	bad |= copy_cell(run->record_sha256, sizeof(run->record_sha256), cs_db_cell(rows, r, 15));
	bad |= cs_db_cell_i64(rows, r, 16, &run->line_count);
	run->statement = dup_cell(cs_db_cell(rows, r, 17));
	if (by)
		bad |= cs_parse_i64(by, &run->superseded_by);
	if (cs_db_cell(rows, r, 19))
		run->actor = dup_cell(cs_db_cell(rows, r, 19));
	if (cs_db_cell(rows, r, 20))
		run->reason = dup_cell(cs_db_cell(rows, r, 20));
	if (cs_db_cell(rows, r, 21)) {
		run->has_depends_on = 1;
		bad |= cs_stored_parse_ids(cs_db_cell(rows, r, 21), &run->depends_on,
					   &run->n_depends_on);
	}
	return bad ? -1 : 0;
}

int cs_stored_parse_ids(const char *text, int64_t **ids, size_t *n)
{
	size_t cap = 1, k = 0;
	const char *p = text;
	int64_t *out;

	for (; *p; p++)
		cap += *p == ',';
	out = calloc(cap, sizeof(*out));
	CS_ASSERT(out != NULL);
	*ids = out;
	*n = 0;
	if (text[0] != '{' || text[strlen(text) - 1] != '}')
		return -1;
	p = text + 1;
	while (*p != '}') {
		char digits[24];
		size_t len = strcspn(p, ",}");

		if (len == 0 || len >= sizeof(digits) || k >= cap)
			return -1;
		memcpy(digits, p, len);
		digits[len] = '\0';
		if (cs_parse_i64(digits, &out[k]) < 0 || out[k] <= 0 || (k && out[k] <= out[k - 1]))
			return -1;
		k++;
		p += len;
		if (*p == ',')
			p++;
	}
	*n = k;
	return 0;
}

void cs_stored_run_free(cs_stored_run *run)
{
	free(run->config_text);
	free(run->statement);
	free(run->actor);
	free(run->reason);
	free(run->depends_on);
	run->config_text = run->statement = run->actor = run->reason = NULL;
	run->depends_on = NULL;
}

/* Fills err for run id, which does not exist (exit 2), saying what its
 * neighbours show: no run after it (the last run is lower), or whether the
 * next run's link proves that a run between it and the one before was
 * deleted. An id can be missing without a deletion: before schema version
 * 6, runs drew ids from a sequence, and a failed, unchanged or losing run
 * used one up. Returns -1. */
static int missing_run(cs_db *db, int64_t id, cs_error *err)
{
	cs_db_rows rows;
	char id_text[24];
	const char *param = id_text;
	int64_t last = 0, next = 0, prev = 0;
	int linked;

	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	if (cs_db_query(db,
			"SELECT (SELECT max(id) FROM coopsettle.runs), n.id, p.id,"
			" n.prev_record_sha256 IS NOT DISTINCT FROM p.record_sha256"
			" FROM (SELECT 1) one"
			" LEFT JOIN LATERAL (SELECT id, prev_record_sha256 FROM coopsettle.runs"
			" WHERE id > $1::bigint ORDER BY id LIMIT 1) n ON true"
			" LEFT JOIN LATERAL (SELECT id, record_sha256 FROM coopsettle.runs"
			" WHERE id < $1::bigint ORDER BY id DESC LIMIT 1) p ON true",
			1, &param, &rows, err) < 0)
		return -1;
	if (cs_db_cell(&rows, 0, 0))
		cs_db_cell_i64(&rows, 0, 0, &last);
	if (cs_db_cell(&rows, 0, 1))
		cs_db_cell_i64(&rows, 0, 1, &next);
	if (cs_db_cell(&rows, 0, 2))
		cs_db_cell_i64(&rows, 0, 2, &prev);
	linked = cs_db_cell(&rows, 0, 3) && cs_db_cell(&rows, 0, 3)[0] == 't';
	cs_db_rows_free(&rows);
	if (!last)
		cs_error_set(err, CS_EXIT_USAGE, "run %lld does not exist: there are no runs",
			     (long long)id);
	else if (!next)
		cs_error_set(err, CS_EXIT_USAGE, "run %lld does not exist: the last run is %lld",
			     (long long)id, (long long)last);
	else if (linked)
		cs_error_set(err, CS_EXIT_USAGE,
			     "run %lld does not exist, and no run was deleted there: run %lld links "
			     "to %s",
			     (long long)id, (long long)next,
			     prev ? "the run before it" : "no earlier run, as the first run does");
	else
		cs_error_set(err, CS_EXIT_USAGE,
			     "run %lld does not exist, and run %lld does not link to the run before "
			     "it: a run between them was deleted or changed",
			     (long long)id, (long long)next);
	if (next && linked)
		cs_error_detail(err, "Runs made before schema version 6 drew their ids from a "
				     "sequence, so a failed or unchanged run left an id unused.");
	cs_error_hint(err, "List the runs with: SELECT id, kind, window_from_text, status "
			   "FROM coopsettle.runs ORDER BY id; 'coopsettle verify --chain' checks "
			   "every link.");
	return -1;
}

int cs_stored_run_load(cs_db *db, int64_t id, cs_stored_run *run, cs_error *err)
{
	cs_db_rows rows;
	char id_text[24];
	const char *param = id_text;
	int rc;

	memset(run, 0, sizeof(*run));
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	if (cs_db_query(db,
			"SELECT " CS_STORED_RUN_COLUMNS " FROM coopsettle.runs r WHERE r.id = $1::bigint",
			1, &param, &rows, err) < 0)
		return -1;
	if (rows.n_rows == 0) {
		cs_db_rows_free(&rows);
		return missing_run(db, id, err);
	}
	rc = cs_stored_run_from_row(&rows, 0, run);
	cs_db_rows_free(&rows);
	if (rc < 0) {
		cs_stored_run_free(run);
		return cs_error_set(err, CS_EXIT_VERIFY, "run record %lld has a malformed field",
				    (long long)id);
	}
	return 0;
}

int cs_stored_run_record_check(const cs_stored_run *run, char hex[65])
{
	cs_record_fields r;
	char older[65];
	cs_buf b;
	int format;

	r.id = run->id;
	r.kind = run->kind;
	r.from_us = run->from_us;
	r.to_us = run->to_us;
	r.from_text = run->from_text;
	r.to_text = run->to_text;
	r.config_sha256 = run->config_sha256;
	r.input_sha256 = run->input_sha256;
	r.output_sha256 = run->output_sha256;
	r.engine_version = run->engine_version;
	r.created_at = run->created_at;
	r.supersedes = run->supersedes;
	r.prev_record_sha256 = run->has_prev ? run->prev_record_sha256 : NULL;
	r.line_count = run->line_count;
	r.statement = run->statement;
	r.actor = run->actor ? run->actor : "";
	r.reason = run->reason;
	r.depends_on = run->depends_on;
	r.n_depends_on = run->n_depends_on;
	cs_buf_init(&b);
	hex[0] = '\0';
	/* newest first: a changed field changes every format's hash, so no
	 * edit passes by choosing an older one */
	for (format = CS_RECORD_FORMAT; format >= 1; format--) {
		cs_buf_reset(&b);
		cs_stored_record_canonical(&b, format, &r);
		cs_sha256_hex(b.data, b.len, older);
		if (!hex[0] && (format < 3 || run->actor))
			memcpy(hex, older, 65);
		if (strcmp(older, run->record_sha256) == 0)
			break;
	}
	cs_buf_free(&b);
	return format;
}

int cs_stored_run_config(const cs_stored_run *run, cs_config **cfg, cs_window *w,
			 cs_error *err)
{
	cs_config_diag diag;
	char name[64];

	snprintf(name, sizeof(name), "config of run %lld", (long long)run->id);
	if (cs_config_load_buffer(cfg, name, run->config_text, run->config_len, &diag) < 0) {
		cs_error_set(err, CS_EXIT_RUNTIME, "this engine cannot load the stored config of run %lld",
			     (long long)run->id);
		if (diag.n_errors)
			cs_error_detail(err, "%s:%u:%u: %s", name, diag.errors[0].line,
					diag.errors[0].col, diag.errors[0].message);
		cs_error_hint(err, "Use the engine version the run was made with (%s).",
			      run->engine_version);
		return -1;
	}
	if (cs_tz_use((*cfg)->timezone, err) < 0) {
		cs_config_free(*cfg);
		*cfg = NULL;
		return -1;
	}
	memset(w, 0, sizeof(*w));
	w->from_us = run->from_us;
	w->to_us = run->to_us;
	cs_window_format(w);
	return 0;
}

/* ---- cursors ---- */

int cs_cursor_open(cs_cursor *c, cs_db *db, const char *name, const char *sql, int n_params,
		   const char *const *params, cs_error *err)
{
	cs_buf b;
	int rc;

	memset(c, 0, sizeof(*c));
	c->db = db;
	CS_ASSERT(strlen(name) < sizeof(c->name));
	memcpy(c->name, name, strlen(name) + 1);
	cs_buf_init(&b);
	cs_buf_printf(&b, "DECLARE %s NO SCROLL CURSOR FOR %s", name, sql);
	rc = cs_db_exec(db, b.data, n_params, params, err);
	cs_buf_free(&b);
	if (rc == 0)
		c->open = 1;
	return rc;
}

int cs_cursor_next(cs_cursor *c, cs_error *err)
{
	char sql[80];

	if (c->next < c->rows.n_rows) {
		c->row = c->next++;
		return 1;
	}
	if (c->done || !c->open)
		return 0;
	if (c->rows.cells)
		cs_db_rows_free(&c->rows);
	memset(&c->rows, 0, sizeof(c->rows));
	snprintf(sql, sizeof(sql), "FETCH FORWARD %d FROM %s", CS_CURSOR_BATCH_ROWS, c->name);
	if (cs_db_query(c->db, sql, 0, NULL, &c->rows, err) < 0) {
		c->done = 1;
		return -1;
	}
	c->next = 0;
	if (c->rows.n_rows < CS_CURSOR_BATCH_ROWS)
		c->done = 1;
	if (c->rows.n_rows == 0)
		return 0;
	c->row = c->next++;
	return 1;
}

const char *cs_cursor_cell(const cs_cursor *c, size_t col)
{
	return cs_db_cell(&c->rows, c->row, col);
}

void cs_cursor_close(cs_cursor *c)
{
	if (c->open) {
		char sql[64];
		cs_error ignored;

		snprintf(sql, sizeof(sql), "CLOSE %s", c->name);
		cs_db_exec(c->db, sql, 0, NULL, &ignored);
		c->open = 0;
	}
	if (c->rows.cells)
		cs_db_rows_free(&c->rows);
	memset(&c->rows, 0, sizeof(c->rows));
}

/* ---- the settle runs of a distribute window ---- */

int cs_stored_settle_runs(cs_db *db, int64_t from_us, int64_t to_us, int64_t as_of_run,
			  cs_settle_ref **refs, size_t *n, cs_error *err)
{
	cs_db_rows rows;
	char from[24], to[24], as_of[24];
	const char *params[3] = {from, to, as_of};
	size_t i;
	int bad = 0;

	snprintf(from, sizeof(from), "%lld", (long long)from_us);
	snprintf(to, sizeof(to), "%lld", (long long)to_us);
	snprintf(as_of, sizeof(as_of), "%lld", (long long)as_of_run);
	if (cs_db_query(db,
			"SELECT r.id, r.output_sha256, r.window_from_text, r.window_to_text"
			" FROM coopsettle.runs r WHERE r.kind = 'settle'"
			" AND r.window_from_us < $2::bigint AND r.window_to_us > $1::bigint"
			" AND (($3::bigint = 0 AND r.status = 'committed') OR ($3::bigint > 0"
			" AND r.id < $3::bigint AND NOT EXISTS (SELECT 1 FROM coopsettle.runs s"
			" WHERE s.supersedes = r.id AND s.id < $3::bigint)))"
			" ORDER BY r.window_from_us, r.id",
			3, params, &rows, err) < 0)
		return -1;
	*n = rows.n_rows;
	*refs = calloc(rows.n_rows + 1, sizeof(cs_settle_ref));
	CS_ASSERT(*refs != NULL);
	for (i = 0; i < rows.n_rows; i++) {
		cs_settle_ref *x = &(*refs)[i];

		bad |= cs_db_cell_i64(&rows, i, 0, &x->id);
		bad |= copy_cell(x->output_sha256, sizeof(x->output_sha256), cs_db_cell(&rows, i, 1));
		bad |= copy_cell(x->from_text, sizeof(x->from_text), cs_db_cell(&rows, i, 2));
		bad |= copy_cell(x->to_text, sizeof(x->to_text), cs_db_cell(&rows, i, 3));
	}
	cs_db_rows_free(&rows);
	if (bad) {
		free(*refs);
		*refs = NULL;
		return cs_error_set(err, CS_EXIT_VERIFY, "a settle run record has a malformed field");
	}
	return 0;
}

/* ---- the inputs of a distribute run ---- */

void cs_stored_dist_free(cs_stored_dist *d)
{
	cs_members_free(d->members);
	free(d->fees_minor);
	free(d->gross_minor);
	free(d->skipped_days);
	free(d->links);
	free(d->class_fees_minor);
	free(d->class_gross_minor);
	free(d->capital_days_minor);
	free(d->capital_open_minor);
	cs_balances_free(&d->balances);
	free(d->cost_rows);
	cs_capital_free(&d->capital);
	free(d->refs);
	memset(d, 0, sizeof(*d));
}

static void id_array(cs_buf *b, const cs_settle_ref *refs, size_t n)
{
	size_t i;

	cs_buf_putc(b, '{');
	for (i = 0; i < n; i++)
		cs_buf_printf(b, "%s%lld", i ? "," : "", (long long)refs[i].id);
	cs_buf_putc(b, '}');
}

/* Reads (currency, amount) rows into per-currency amounts. */
static int currency_amounts(cs_db *db, const cs_config *cfg, const char *sql, int n_params,
			    const char *const *params, cs_i128 *out, cs_error *err)
{
	cs_db_rows rows;
	size_t i;
	int rc = 0;

	if (cs_db_query(db, sql, n_params, params, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows && rc == 0; i++) {
		const char *code = cs_db_cell(&rows, i, 0);
		int c = code ? cs_config_currency_index(cfg, code, strlen(code)) : -1;
		cs_i128 v = 0;

		if (c < 0 || (cs_db_cell(&rows, i, 1) && cs_amount_parse(cs_db_cell(&rows, i, 1), &v) < 0))
			rc = cs_error_set(err, CS_EXIT_VERIFY,
					  "a stored total has currency '%s' or an amount this run's "
					  "config cannot account for",
					  code ? code : "NULL");
		else
			out[c] = v;
	}
	cs_db_rows_free(&rows);
	return rc;
}

int cs_settle_totals(cs_db *db, const cs_config *cfg, const char *ids, int exit_code,
		     cs_surplus_input *in, cs_error *err)
{
	const char *params[1] = {ids};
	cs_db_rows rows;
	size_t i;
	int rc = 0;

	if (cs_db_query(db,
			"SELECT currency, sum(coalesce(fee_income_minor, fees_minor))::text,"
			" sum(fees_minor)::text, sum(gross_minor)::text"
			" FROM coopsettle.currency_totals WHERE run_id = ANY($1::bigint[])"
			" GROUP BY currency ORDER BY currency",
			1, params, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows && rc == 0; i++) {
		const char *code = cs_db_cell(&rows, i, 0);
		int c = code ? cs_config_currency_index(cfg, code, strlen(code)) : -1;

		if (c < 0) {
			rc = cs_error_set(err, exit_code,
					  "a settle run has currency '%s', which the config does not "
					  "list",
					  code ? code : "NULL");
			cs_error_hint(err, "Add the currency to 'currencies', or correct the rows.");
		} else if (cs_amount_parse(cs_db_cell(&rows, i, 1), &in->fee_income_minor[c]) < 0 ||
			   cs_amount_parse(cs_db_cell(&rows, i, 2), &in->fees_total_minor[c]) < 0 ||
			   cs_amount_parse(cs_db_cell(&rows, i, 3), &in->gross_total_minor[c]) < 0) {
			rc = cs_error_set(err, CS_EXIT_RUNTIME, "unexpected settle run totals");
		}
	}
	cs_db_rows_free(&rows);
	return rc;
}

/* The fee income of the settle runs ids (a bigint[] literal) and the costs
 * the run recorded in its statement, per currency. */
static int dist_currency_totals(cs_db *db, const cs_config *cfg, const cs_stored_run *run,
				const char *ids, cs_surplus_input *in, cs_error *err)
{
	char run_text[24];
	const char *params[1];

	if (cs_settle_totals(db, cfg, ids, CS_EXIT_VERIFY, in, err) < 0)
		return -1;
	snprintf(run_text, sizeof(run_text), "%lld", (long long)run->id);
	params[0] = run_text;
	return currency_amounts(db, cfg,
				"SELECT c.key, c.value->>'costs_minor' FROM coopsettle.runs r,"
				" pg_catalog.jsonb_each(r.statement::jsonb->'currencies') c"
				" WHERE r.id = $1::bigint",
				1, params, in->costs_minor, err);
}

/* Each member's fees and gross on its own side in the settle runs ids, into
 * out's arrays (n_members sorted members by n_cur currencies). */
static int dist_member_totals(cs_db *db, const cs_config *cfg, const char *ids,
			      const cs_member *sorted, cs_stored_dist *out, cs_error *err)
{
	const char *params[1] = {ids};
	size_t n_cur = cfg->n_currencies, i;
	cs_db_rows rows;
	int rc = 0;

	if (cs_db_query(db,
			"SELECT party_id, side, currency, sum(fees_minor)::text,"
			" sum(gross_minor)::text FROM coopsettle.party_totals"
			" WHERE run_id = ANY($1::bigint[]) GROUP BY 1, 2, 3",
			1, params, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows && rc == 0; i++) {
		int64_t id;
		const cs_member *m;
		const char *side = cs_db_cell(&rows, i, 1), *code = cs_db_cell(&rows, i, 2);
		int c = code ? cs_config_currency_index(cfg, code, strlen(code)) : -1;
		size_t k;

		if (cs_db_cell_i64(&rows, i, 0, &id) < 0 || !side || c < 0)
			continue;
		m = cs_members_find(out->members, id);
		if (!m || strcmp(side, cs_class_name(m->cls)) != 0)
			continue; /* not a member, or not the member's own side */
		k = (size_t)(m - sorted) * n_cur + (size_t)c;
		if (cs_amount_parse(cs_db_cell(&rows, i, 3), &out->fees_minor[k]) < 0 ||
		    cs_amount_parse(cs_db_cell(&rows, i, 4), &out->gross_minor[k]) < 0)
			rc = cs_error_set(err, CS_EXIT_VERIFY, "a stored party total is malformed");
	}
	cs_db_rows_free(&rows);
	return rc;
}

/* The canonical distribute input (docs/reproducibility.md) of d, hashed
 * into d->input_sha256. */
static void dist_input_hash(const cs_config *cfg, cs_stored_dist *d)
{
	size_t i;

	(void)cfg;
	d->links = calloc(d->n_refs + 1, sizeof(*d->links));
	CS_ASSERT(d->links != NULL);
	for (i = 0; i < d->n_refs; i++) {
		d->links[i].id = d->refs[i].id;
		snprintf(d->links[i].output_sha256, sizeof(d->links[i].output_sha256), "%s",
			 d->refs[i].output_sha256);
	}
	d->in.settle_runs = d->links;
	d->in.n_settle_runs = d->n_refs;
	cs_surplus_input_hash(&d->in, d->input_sha256);
}

int cs_stored_memberships(cs_db *db, int64_t run_id, cs_members *m, cs_error *err)
{
	char id[24];
	const char *params[1] = {id};
	cs_cursor c;
	int rc;
	int64_t mid = 0, prev_id = INT64_MIN, from = 0, to = 0, prev_from = INT64_MIN;
	int prev_cls = -1, has_left;

	snprintf(id, sizeof(id), "%lld", (long long)run_id);
	if (cs_cursor_open(&c, db, "cs_memberships",
			   "SELECT member_id, class, joined_on - DATE '1970-01-01',"
			   " left_on - DATE '1970-01-01' FROM coopsettle.run_memberships"
			   " WHERE run_id = $1::bigint ORDER BY member_id, class COLLATE \"C\","
			   " joined_on",
			   1, params, err) < 0)
		return -1;
	while ((rc = cs_cursor_next(&c, err)) == 1) {
		const char *cls = cs_cursor_cell(&c, 1);
		int k = (cls && strcmp(cls, "producer") == 0) ? CS_CLASS_PRODUCER
			: (cls && strcmp(cls, "consumer") == 0) ? CS_CLASS_CONSUMER
						: -1;

		if (k < 0 || cs_parse_i64(cs_cursor_cell(&c, 0), &mid) < 0 ||
		    cs_parse_i64(cs_cursor_cell(&c, 2), &from) < 0)
			continue;
		/* the order cs_members_add_period takes (class as text sorts,
		 * consumer first): a row out of it was edited */
		k = k == CS_CLASS_CONSUMER ? 0 : 1;
		if (mid == prev_id && (k < prev_cls || (k == prev_cls && from < prev_from)))
			continue;
		prev_id = mid;
		prev_cls = k;
		k = k == 0 ? CS_CLASS_CONSUMER : CS_CLASS_PRODUCER;
		prev_from = from;
		has_left = cs_parse_i64(cs_cursor_cell(&c, 3), &to) == 0;
		cs_members_add_period(m, mid, (cs_class)k, from, has_left, to);
	}
	cs_cursor_close(&c);
	return rc < 0 ? -1 : 0;
}

/* Config version 2: the member business per member, class and currency of
 * the settle runs ids (a bigint[] literal), into out's class arrays. */
static int dist_class_totals(cs_db *db, const cs_config *cfg, const char *ids,
			     const cs_member *sorted, cs_stored_dist *out, cs_error *err)
{
	const char *params[1] = {ids};
	size_t n_cur = cfg->n_currencies, i;
	cs_db_rows rows;
	int rc = 0;

	if (cs_db_query(db,
			"SELECT party_id, side, currency, sum(fees_minor)::text,"
			" sum(gross_minor)::text FROM coopsettle.party_totals"
			" WHERE run_id = ANY($1::bigint[]) AND member IS NOT FALSE GROUP BY 1, 2, 3",
			1, params, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows && rc == 0; i++) {
		int64_t id;
		const cs_member *m;
		const char *side = cs_db_cell(&rows, i, 1), *code = cs_db_cell(&rows, i, 2);
		int c = code ? cs_config_currency_index(cfg, code, strlen(code)) : -1;
		int cls = side && strcmp(side, "producer") == 0	  ? CS_CLASS_PRODUCER
			  : side && strcmp(side, "consumer") == 0 ? CS_CLASS_CONSUMER
								  : -1;
		size_t k;

		if (cs_db_cell_i64(&rows, i, 0, &id) < 0 || cls < 0 || c < 0)
			continue;
		m = cs_members_find(out->members, id);
		if (!m)
			continue; /* not a member */
		k = ((size_t)(m - sorted) * CS_CLASSES_MAX + (size_t)cls) * n_cur + (size_t)c;
		if (cs_amount_parse(cs_db_cell(&rows, i, 3), &out->class_fees_minor[k]) < 0 ||
		    cs_amount_parse(cs_db_cell(&rows, i, 4), &out->class_gross_minor[k]) < 0)
			rc = cs_error_set(err, CS_EXIT_VERIFY, "a stored party total is malformed");
	}
	cs_db_rows_free(&rows);
	return rc;
}

/* Config version 2: the cost rows run read (its snapshot), in the order
 * the canonical input names them. */
static int stored_cost_rows(cs_db *db, const cs_config *cfg, const cs_stored_run *run,
			    cs_stored_dist *out, cs_error *err)
{
	char id[24];
	const char *params[1] = {id};
	cs_db_rows rows;
	size_t i;

	snprintf(id, sizeof(id), "%lld", (long long)run->id);
	if (cs_db_query(db,
			"SELECT booked_on - DATE '1970-01-01', currency, amount_minor"
			" FROM coopsettle.run_costs WHERE run_id = $1::bigint"
			" ORDER BY booked_on, currency COLLATE \"C\", amount_minor",
			1, params, &rows, err) < 0)
		return -1;
	out->cost_rows = calloc(rows.n_rows + 1, sizeof(*out->cost_rows));
	CS_ASSERT(out->cost_rows != NULL);
	for (i = 0; i < rows.n_rows; i++) {
		cs_cost_row *x = &out->cost_rows[out->n_cost_rows];
		const char *code = cs_db_cell(&rows, i, 1);
		int c = code ? cs_config_currency_index(cfg, code, strlen(code)) : -1;

		/* a row the engine cannot have written is left out: the hash shows it */
		if (c < 0 || cs_db_cell_i64(&rows, i, 0, &x->day) < 0 ||
		    cs_db_cell_i64(&rows, i, 2, &x->amount_minor) < 0)
			continue;
		x->currency = (size_t)c;
		out->n_cost_rows++;
	}
	cs_db_rows_free(&rows);
	out->in.cost_rows = out->cost_rows;
	out->in.n_cost_rows = out->n_cost_rows;
	return 0;
}

/* Config version 2: run's members from its membership snapshot, their
 * member business, and their capital from its capital snapshot, with the
 * retained patronage of the distribute runs committed when it was made. */
static int dist_load_v2(cs_db *db, const cs_config *cfg, const cs_stored_run *run,
			const char *ids, cs_stored_dist *out, cs_error *err)
{
	const cs_member *sorted;
	size_t n_members = 0, n_cur = cfg->n_currencies;

	if (cs_stored_memberships(db, run->id, out->members, err) < 0)
		return -1;
	sorted = cs_members_sorted(out->members, &n_members);
	cs_members_window(out->members, out->in.first_day, out->in.end_day);
	out->class_fees_minor = calloc(n_members * CS_CLASSES_MAX * n_cur + 1, sizeof(cs_i128));
	out->class_gross_minor = calloc(n_members * CS_CLASSES_MAX * n_cur + 1, sizeof(cs_i128));
	out->capital_days_minor = calloc(n_members + 1, sizeof(cs_i128));
	out->capital_open_minor = calloc(n_members + 1, sizeof(cs_i128));
	CS_ASSERT(out->class_fees_minor && out->class_gross_minor && out->capital_days_minor &&
		  out->capital_open_minor);
	if (dist_class_totals(db, cfg, ids, sorted, out, err) < 0 ||
	    cs_capital_read_snapshot(db, cfg, out->members, sorted, n_members, run->id,
				     run->from_us, &out->capital, err) < 0 ||
	    cs_balances_read(db, cfg, run->from_us, run->id, &out->balances, err) < 0)
		return -1;
	out->in.balance_minor = out->balances.minor;
	out->in.balance_runs = out->balances.runs;
	out->in.n_balance_runs = out->balances.n_runs;
	out->in.n_members = n_members;
	out->in.members = sorted;
	out->in.set = out->members;
	out->in.class_fees_minor = out->class_fees_minor;
	out->in.class_gross_minor = out->class_gross_minor;
	/* capital below 0: an edited snapshot, whose hash shows it */
	cs_capital_inputs(&out->in, sorted, n_members, &out->capital, out->capital_days_minor,
			  out->capital_open_minor, 0, err);
	out->in.capital_days_minor = out->capital_days_minor;
	out->in.capital_open_minor = out->capital_open_minor;
	out->in.capital_runs = out->capital.runs;
	out->in.n_capital_runs = out->capital.n_runs;
	out->in.capital_rows = out->capital.rows;
	out->in.n_capital_rows = out->capital.n_rows;
	if (stored_cost_rows(db, cfg, run, out, err) < 0)
		return -1;
	/* v1 arrays, unused by version 2 but kept non-NULL */
	out->fees_minor = calloc(n_members * n_cur + 1, sizeof(cs_i128));
	out->gross_minor = calloc(n_members * n_cur + 1, sizeof(cs_i128));
	CS_ASSERT(out->fees_minor && out->gross_minor);
	out->in.fees_minor = out->fees_minor;
	out->in.gross_minor = out->gross_minor;
	return 0;
}

int cs_stored_dist_load(cs_db *db, const cs_config *cfg, const cs_stored_run *run,
			const cs_window *w, cs_stored_dist *out, cs_error *err)
{
	cs_buf ids;
	const cs_member *sorted;
	size_t n_members = 0, n_cur = cfg->n_currencies;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	cs_buf_init(&ids);
	out->members = cs_members_new();
	if (cs_stored_settle_runs(db, run->from_us, run->to_us, run->id, &out->refs, &out->n_refs,
				  err) < 0)
		goto cleanup;
	id_array(&ids, out->refs, out->n_refs);
	out->in.cfg = cfg;
	cs_window_local_days(w, &out->in.first_day, &out->in.end_day);
	out->in.n_skipped_days = cs_window_skipped_days(w, &out->skipped_days);
	out->in.skipped_days = out->skipped_days;
	if (dist_currency_totals(db, cfg, run, ids.data, &out->in, err) < 0)
		goto cleanup;
	if (cfg->version >= 2) { /* from the run's own snapshots (spec 10.4) */
		if (dist_load_v2(db, cfg, run, ids.data, out, err) < 0)
			goto cleanup;
		dist_input_hash(cfg, out);
		rc = 0;
		goto cleanup;
	}
	if (cs_source_members(db, cfg, out->members, 1, err) < 0)
		goto cleanup;
	sorted = cs_members_sorted(out->members, &n_members);
	out->fees_minor = calloc(n_members * n_cur + 1, sizeof(cs_i128));
	out->gross_minor = calloc(n_members * n_cur + 1, sizeof(cs_i128));
	CS_ASSERT(out->fees_minor && out->gross_minor);
	if (dist_member_totals(db, cfg, ids.data, sorted, out, err) < 0)
		goto cleanup;
	out->in.n_members = n_members;
	out->in.members = sorted;
	out->in.fees_minor = out->fees_minor;
	out->in.gross_minor = out->gross_minor;
	dist_input_hash(cfg, out);
	rc = 0;
cleanup:
	cs_buf_free(&ids);
	if (rc < 0)
		cs_stored_dist_free(out);
	return rc;
}

/* A byte string field of the canonical record: LENGTH:BYTES, or \N. */
static void put_bytes(cs_buf *out, const char *key, const char *s)
{
	if (!s)
		cs_buf_printf(out, "%s=\\N\n", key);
	else
		cs_buf_printf(out, "%s=%zu:%s\n", key, strlen(s), s);
}

void cs_stored_record_canonical(cs_buf *out, int format, const cs_record_fields *r)
{
	char statement_hex[65];
	size_t i;

	CS_ASSERT(format >= 1 && format <= CS_RECORD_FORMAT);
	cs_buf_printf(out,
		      "coopsettle run record v%d\nid=%lld\nkind=%s\nwindow_from_us=%lld\n"
		      "window_to_us=%lld\nconfig_sha256=%s\ninput_sha256=%s\noutput_sha256=%s\n"
		      "engine_version=%s\ncreated_at=%s\n",
		      format, (long long)r->id, r->kind, (long long)r->from_us, (long long)r->to_us,
		      r->config_sha256, r->input_sha256, r->output_sha256, r->engine_version,
		      r->created_at);
	if (r->supersedes)
		cs_buf_printf(out, "supersedes=%lld\n", (long long)r->supersedes);
	else
		cs_buf_puts(out, "supersedes=\\N\n");
	cs_buf_printf(out, "prev_record_sha256=%s\n",
		      r->prev_record_sha256 ? r->prev_record_sha256 : "\\N");
	if (format == 1)
		return;
	cs_sha256_hex(r->statement, strlen(r->statement), statement_hex);
	cs_buf_printf(out, "window_from_text=%s\nwindow_to_text=%s\nline_count=%lld\n"
			   "statement_sha256=%s\n",
		      r->from_text, r->to_text, (long long)r->line_count, statement_hex);
	if (format == 2)
		return;
	put_bytes(out, "actor", r->actor);
	put_bytes(out, "reason", r->reason);
	cs_buf_puts(out, "depends_on=");
	for (i = 0; i < r->n_depends_on; i++)
		cs_buf_printf(out, "%s%lld", i ? "," : "", (long long)r->depends_on[i]);
	cs_buf_putc(out, '\n');
}
