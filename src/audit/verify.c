/*
 * verify.c -- `verify --run N` and `verify --chain` (see verify.h and
 * docs/auditing.md): stored runs checked against their own hashes, against
 * the chain of run records, and against a recomputation from the current
 * database.
 */
#include "coopsettle/verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/amount.h"
#include "coopsettle/hash.h"
#include "coopsettle/json.h"
#include "coopsettle/run.h"
#include "coopsettle/runcommon.h"
#include "coopsettle/source.h"
#include "coopsettle/stored.h"
#include "coopsettle/util.h"

#ifndef CS_VERSION
#define CS_VERSION "0.0.0"
#endif

/* ---- the report ---- */

/* What a check is about (spec 10.4): the stored run itself and its
 * recomputation from its own snapshots -- a failure means the run does not
 * reproduce -- or its snapshots against today's sources -- a failure means
 * the inputs changed since the run. */
enum { STAGE_REPRODUCE = 0, STAGE_INPUTS = 1 };

typedef struct findings {
	cs_buf *report;
	int n_failed;
	int n_drift;        /* failed checks of STAGE_INPUTS */
	int stage;          /* of the checks from now on */
	int64_t first_run;  /* chain: the first bad run; 0 none */
	char first[512];    /* the first failed check */
	char first_broken[512]; /* the first failed check of STAGE_REPRODUCE */
	cs_buf failed;      /* one line per failed check, for the error detail */
	cs_buf json;        /* the same findings as JSON (--json) */
	cs_json j;
	int in_check;       /* j holds an open check's details array */
} findings;

/* Closes the JSON of the check before, when one is open. */
static void json_close_check(findings *f)
{
	if (!f->in_check)
		return;
	cs_json_array_end(&f->j);
	cs_json_object_end(&f->j);
	f->in_check = 0;
}

/* Opens the JSON of a check: what, ok, stage, then its details. */
static void json_open_check(findings *f, int ok, const char *what, int64_t run_id)
{
	json_close_check(f);
	cs_json_object_begin(&f->j);
	if (run_id) {
		cs_json_key(&f->j, "run_id");
		cs_json_int(&f->j, run_id);
	}
	cs_json_key(&f->j, "check");
	cs_json_string(&f->j, what);
	cs_json_key(&f->j, "ok");
	cs_json_bool(&f->j, ok);
	cs_json_key(&f->j, "stage");
	cs_json_string(&f->j, f->stage == STAGE_INPUTS ? "inputs" : "reproduce");
	cs_json_key(&f->j, "details");
	cs_json_array_begin(&f->j);
	f->in_check = 1;
}

static void vcheck(findings *f, int ok, const char *failed, const char *fmt, va_list ap)
{
	char what[512];

	if (ok)
		vsnprintf(what, sizeof(what), fmt, ap);
	else
		snprintf(what, sizeof(what), "%s", failed);
	cs_text_clean(what, strlen(what), 0); /* stored text never reaches a terminal raw */
	cs_buf_printf(f->report, "  %-9s %s\n", ok ? "ok" : "MISMATCH", what);
	json_open_check(f, ok, what, 0);
	if (!ok) {
		if (f->n_failed == 0)
			snprintf(f->first, sizeof(f->first), "%s", what);
		if (f->stage == STAGE_INPUTS)
			f->n_drift++;
		else if (!f->first_broken[0])
			snprintf(f->first_broken, sizeof(f->first_broken), "%s", what);
		cs_buf_printf(&f->failed, "%s%s", f->failed.len ? "\n" : "", what);
		f->n_failed++;
	}
}

/* One check: "ok" and what held (fmt), or "MISMATCH" and what failed
 * (failed: named by what is wrong, so that the first failure reads as the
 * reason the run does not verify). */
static int check(findings *f, int ok, const char *failed, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int check(findings *f, int ok, const char *failed, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vcheck(f, ok, failed, fmt, ap);
	va_end(ap);
	return ok;
}

/* A detail line under the last check. */
static void note(findings *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(findings *f, const char *fmt, ...)
{
	va_list ap;

	cs_buf_puts(f->report, "            ");
	va_start(ap, fmt);
	{
		char line[1024];

		vsnprintf(line, sizeof(line), fmt, ap);
		cs_text_clean(line, strlen(line), 0);
		cs_buf_puts(f->report, line);
		if (f->in_check)
			cs_json_string(&f->j, line);
	}
	va_end(ap);
	cs_buf_putc(f->report, '\n');
}

/* A list of differences of one kind: the first CS_VERIFY_LISTED_MAX kept. */
typedef struct diff_list {
	int64_t count;
	cs_buf text; /* one line each */
} diff_list;

static void diff_add(diff_list *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void diff_add(diff_list *d, const char *fmt, ...)
{
	va_list ap;
	char line[1024];

	if (d->count++ >= CS_VERIFY_LISTED_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cs_text_clean(line, strlen(line), 0);
	cs_buf_puts(&d->text, line);
	cs_buf_putc(&d->text, '\n');
}

/* Writes the kept lines of d as notes, and how many more there were. */
static void diff_notes(findings *f, const diff_list *d, const char *title)
{
	const char *p = d->text.data, *nl;

	if (!d->count)
		return;
	note(f, "%s (%lld):", title, (long long)d->count);
	while (p && (nl = strchr(p, '\n')) != NULL) {
		note(f, "  %.*s", (int)(nl - p), p);
		p = nl + 1;
	}
	if (d->count > CS_VERIFY_LISTED_MAX)
		note(f, "  ... and %lld more", (long long)(d->count - CS_VERIFY_LISTED_MAX));
}

static void diff_init(diff_list *d)
{
	d->count = 0;
	cs_buf_init(&d->text);
}

static const char *nz(const char *s)
{
	return s ? s : "NULL";
}

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* ---- one query, its rows hashed as canonical records ---- */

/* Streams sql (cursor name) and appends one canonical record per row: tag,
 * then the columns separated by TAB, NULL as \N. */
static int hash_rows(cs_db *db, cs_sha256 *h, const char *name, const char *tag, const char *sql,
		     int n_params, const char *const *params, size_t n_cols, cs_error *err)
{
	cs_cursor c;
	cs_buf b;
	int rc;
	size_t i;

	if (cs_cursor_open(&c, db, name, sql, n_params, params, err) < 0)
		return -1;
	cs_buf_init(&b);
	while ((rc = cs_cursor_next(&c, err)) == 1) {
		cs_buf_puts(&b, tag);
		for (i = 0; i < n_cols; i++) {
			const char *v = cs_cursor_cell(&c, i);

			cs_buf_putc(&b, '\t');
			cs_buf_puts(&b, v ? v : "\\N");
		}
		cs_buf_putc(&b, '\n');
		if (b.len > 65536) {
			cs_sha256_update(h, b.data, b.len);
			cs_buf_reset(&b);
		}
	}
	cs_sha256_update(h, b.data ? b.data : "", b.len);
	cs_buf_free(&b);
	cs_cursor_close(&c);
	return rc < 0 ? -1 : 0;
}

/* A text[] literal of names, quoted with \ and " escaped. */
static void names_array(cs_buf *b, char *const *names, size_t n)
{
	size_t k;

	cs_buf_putc(b, '{');
	for (k = 0; k < n; k++) {
		const char *a;

		cs_buf_puts(b, k ? ",\"" : "\"");
		for (a = names[k]; *a; a++) {
			if (*a == '"' || *a == '\\')
				cs_buf_putc(b, '\\');
			cs_buf_putc(b, *a);
		}
		cs_buf_putc(b, '"');
	}
	cs_buf_putc(b, '}');
}

/* The C records (per currency stored, whatever the config lists: an extra
 * row shows): version 2 with fee funds adds the fee income account's part
 * and is followed by an F record per fund with a total (spec 10.7.9); with
 * VAT it adds the VAT and, with more than one VAT account, a V record per
 * account with a total (spec 10.8), from the stored totals and lines. A
 * stored figure the config cannot have written (a fee income without
 * funds, a VAT without VAT) leaves its row out, so the hash shows it. */
static int settle_currency_records(cs_db *db, cs_sha256 *h, const cs_config *cfg, const char *id,
				   cs_error *err)
{
	const char *params[3];
	int funds = cfg->n_fund_accounts > 0, vat = cfg->has_vat;
	cs_db_rows cur;
	cs_buf fund_names, vat_names, c_sql;
	size_t c;
	int rc = 0;

	cs_buf_init(&fund_names);
	cs_buf_init(&vat_names);
	cs_buf_init(&c_sql);
	names_array(&fund_names, cfg->fund_accounts, cfg->n_fund_accounts);
	names_array(&vat_names, cfg->vat_accounts, cfg->n_vat_accounts);
	cs_buf_printf(&c_sql,
		      "SELECT currency, transactions, gross_minor, fees_minor, fees_producer_minor,"
		      " fees_consumer_minor%s%s FROM coopsettle.currency_totals"
		      " WHERE run_id = $1::bigint AND currency = $2"
		      " AND (fee_income_minor IS NULL) = %s AND (vat_minor IS NULL) = %s",
		      funds ? ", fee_income_minor" : "", vat ? ", vat_minor" : "",
		      funds ? "false" : "true", vat ? "false" : "true");
	params[0] = id;
	params[2] = fund_names.data;
	if (cs_db_query(db,
			"SELECT currency FROM coopsettle.currency_totals WHERE run_id = $1::bigint"
			" ORDER BY currency COLLATE \"C\"",
			1, params, &cur, err) < 0) {
		rc = -1;
		goto cleanup;
	}
	for (c = 0; c < cur.n_rows && rc == 0; c++) {
		const char *vp[3] = {id, cs_db_cell(&cur, c, 0), vat_names.data};

		params[1] = vp[1];
		if (hash_rows(db, h, "cs_out_c", "C", c_sql.data, 2, params,
			      6 + (size_t)funds + (size_t)vat, err) < 0 ||
		    (funds &&
		     hash_rows(db, h, "cs_out_f", "F",
			       "SELECT currency, account, (-sum(amount_minor))::text"
			       " FROM coopsettle.ledger_lines WHERE run_id = $1::bigint"
			       " AND entry = 'post' AND currency = $2 AND account = ANY ($3::text[])"
			       " GROUP BY currency, account HAVING sum(amount_minor) <> 0"
			       " ORDER BY account COLLATE \"C\"",
			       3, params, 3, err) < 0) ||
		    (cfg->n_vat_accounts > 1 &&
		     hash_rows(db, h, "cs_out_v", "V",
			       "SELECT currency, account, (-sum(amount_minor))::text"
			       " FROM coopsettle.ledger_lines WHERE run_id = $1::bigint"
			       " AND entry = 'post' AND currency = $2 AND account = ANY ($3::text[])"
			       " GROUP BY currency, account HAVING sum(amount_minor) <> 0"
			       " ORDER BY account COLLATE \"C\"",
			       3, vp, 3, err) < 0))
			rc = -1;
	}
	cs_db_rows_free(&cur);
cleanup:
	cs_buf_free(&fund_names);
	cs_buf_free(&vat_names);
	cs_buf_free(&c_sql);
	return rc;
}

/* The output hash of settle run id over its stored rows (the canonical
 * settle output of docs/reproducibility.md). */
static int stored_settle_output(cs_db *db, const cs_config *cfg, const char *id, char hex[65],
				cs_error *err)
{
	cs_sha256 *h = cs_sha256_new();
	const char *params[1] = {id};
	int dated = cfg->version >= 2;

	/* config version 2: the posting date and member business are output */
	if (hash_rows(db, h, "cs_out_l", "L",
		      dated ? "SELECT transaction_id, line_no, account, party_id, currency, amount_minor,"
			      " rule_id, posted_on - DATE '1970-01-01' FROM coopsettle.ledger_lines"
			      " WHERE run_id = $1::bigint AND entry = 'post' ORDER BY journal, line_no"
			    : "SELECT transaction_id, line_no, account, party_id, currency, amount_minor,"
			      " rule_id FROM coopsettle.ledger_lines WHERE run_id = $1::bigint"
			      " AND entry = 'post' ORDER BY journal, line_no",
		      1, params, dated ? 8 : 7, err) < 0 ||
	    hash_rows(db, h, "cs_out_p", "P",
		      !dated ? "SELECT side, party_id, currency, transactions, gross_minor, fees_minor"
			       " FROM coopsettle.party_totals WHERE run_id = $1::bigint"
			       " AND vat_minor IS NULL"
			       " ORDER BY side <> 'producer', party_id, currency COLLATE \"C\""
		      : !cfg->has_vat
			      ? "SELECT side, party_id, currency, CASE WHEN member THEN 't'"
				" WHEN NOT member THEN 'f' END, transactions, gross_minor, fees_minor"
				" FROM coopsettle.party_totals WHERE run_id = $1::bigint"
				" AND vat_minor IS NULL ORDER BY side <> 'producer', party_id,"
				" currency COLLATE \"C\", member"
			      : "SELECT side, party_id, currency, CASE WHEN member THEN 't'"
				" WHEN NOT member THEN 'f' END, transactions, gross_minor, fees_minor,"
				" vat_minor FROM coopsettle.party_totals WHERE run_id = $1::bigint"
				" AND vat_minor IS NOT NULL ORDER BY side <> 'producer', party_id,"
				" currency COLLATE \"C\", member",
		      1, params, !dated ? 6 : cfg->has_vat ? 8 : 7, err) < 0 ||
	    settle_currency_records(db, h, cfg, id, err) < 0 ||
	    hash_rows(db, h, "cs_out_r", "R",
		      "SELECT transaction_id, reason FROM coopsettle.settlement_rejects"
		      " WHERE run_id = $1::bigint ORDER BY ordinal",
		      1, params, 2, err) < 0) {
		cs_sha256_free(h);
		return -1;
	}
	cs_sha256_final(h, hex);
	return 0;
}

/* The output hash of distribute run id over its stored rows: lines, then per
 * currency the figures of its statement and its steps. */
static int stored_dist_output(cs_db *db, const cs_config *cfg, const char *id, char hex[65],
			      cs_error *err)
{
	cs_sha256 *h = cs_sha256_new();
	const char *params[2] = {id, NULL};
	cs_buf b;
	size_t cur;
	int rc = -1;

	cs_buf_init(&b);
	if (hash_rows(db, h, "cs_out_l", "L",
		      cfg->version >= 2
			      ? "SELECT journal, line_no, account, party_id, currency, amount_minor,"
				" rule_id, posted_on - DATE '1970-01-01' FROM coopsettle.ledger_lines"
				" WHERE run_id = $1::bigint AND entry = 'post' ORDER BY journal, line_no"
			      : "SELECT journal, line_no, account, party_id, currency, amount_minor,"
				" rule_id FROM coopsettle.ledger_lines WHERE run_id = $1::bigint"
				" AND entry = 'post' ORDER BY journal, line_no",
		      1, params, cfg->version >= 2 ? 8 : 7, err) < 0)
		goto cleanup;
	for (cur = 0; cur < cfg->n_currencies; cur++) {
		params[1] = cfg->currencies[cur].code;
		if ((cfg->version < 2 &&
		     hash_rows(db, h, "cs_out_s", "S",
			       "SELECT c.key, c.value->>'surplus_minor',"
			       " c.value->>'retained_surplus_minor' FROM coopsettle.runs r,"
			       " pg_catalog.jsonb_each(r.statement::jsonb->'currencies') c"
			       " WHERE r.id = $1::bigint AND c.key = $2",
			       2, params, 3, err) < 0) ||
		    (cfg->version >= 2 &&
		     (hash_rows(db, h, "cs_out_s", "S",
				"SELECT c.key, c.value->>'surplus_minor',"
				" c.value->>'retained_surplus_minor', c.value->>'loss_carried_in_minor',"
				" c.value->>'loss_covered_minor', c.value->>'loss_carried_out_minor'"
				" FROM coopsettle.runs r,"
				" pg_catalog.jsonb_each(r.statement::jsonb->'currencies') c"
				" WHERE r.id = $1::bigint AND c.key = $2",
				2, params, 6, err) < 0 ||
		      hash_rows(db, h, "cs_out_q", "Q",
				"SELECT c.key, s.e->>'id', s.e->>'cap_minor' FROM coopsettle.runs r,"
				" pg_catalog.jsonb_each(r.statement::jsonb->'currencies') c,"
				" pg_catalog.jsonb_array_elements(c.value->'steps') WITH ORDINALITY"
				" AS s(e, i) WHERE r.id = $1::bigint AND c.key = $2"
				" AND s.e ? 'cap_minor' ORDER BY s.i",
				2, params, 3, err) < 0)) ||
		    hash_rows(db, h, "cs_out_k", "K",
			      "SELECT currency, step_id, amount_minor FROM coopsettle.distribution_steps"
			      " WHERE run_id = $1::bigint AND currency = $2 ORDER BY ordinal",
			      2, params, 3, err) < 0)
			goto cleanup;
	}
	cs_sha256_final(h, hex);
	h = NULL;
	rc = 0;
cleanup:
	cs_sha256_free(h);
	cs_buf_free(&b);
	return rc;
}

int cs_verify_stored_output(cs_db *db, const cs_stored_run *run, const cs_config *cfg,
			    char hex[65], cs_error *err)
{
	char id[24];

	snprintf(id, sizeof(id), "%lld", (long long)run->id);
	if (strcmp(run->kind, "settle") == 0)
		return stored_settle_output(db, cfg, id, hex, err);
	return stored_dist_output(db, cfg, id, hex, err);
}

/*
 * Runs a comparison query whose rows are (what, field, stored, recomputed,
 * total count) and adds each as a difference. Returns 0 or -1.
 */
static int diff_query(cs_db *db, diff_list *d, const char *sql, int n_params,
		      const char *const *params, cs_error *err)
{
	cs_db_rows rows;
	size_t i;
	int64_t total = 0, before = d->count;

	if (cs_db_query(db, sql, n_params, params, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++)
		diff_add(d, "%s %s: stored %s, recomputed %s", nz(cs_db_cell(&rows, i, 0)),
			 nz(cs_db_cell(&rows, i, 1)), nz(cs_db_cell(&rows, i, 2)),
			 nz(cs_db_cell(&rows, i, 3)));
	if (rows.n_rows && cs_db_cell_i64(&rows, 0, 4, &total) == 0 && total > (int64_t)rows.n_rows)
		d->count = before + total; /* the rows beyond the LIMIT, counted */
	cs_db_rows_free(&rows);
	return 0;
}

/* ---- settle: the stored rows against the recomputation, streaming ---- */

typedef struct settle_cmp {
	const cs_config *cfg;
	cs_cursor inputs, lines;
	int has_snapshot;
	int lines_open;              /* the stored lines are compared */
	int inputs_live, lines_live; /* the cursor holds an unconsumed row */
	int failed;                  /* a cursor failed: comparing stopped */
	cs_error cursor_err;
	diff_list added, removed, changed, line_diff;
	int64_t rows;
} settle_cmp;

/* 1 when cursor c has a current row not yet consumed. */
static int peek(settle_cmp *x, cs_cursor *c, int *live)
{
	int rc;

	if (*live)
		return 1;
	if (x->failed)
		return 0;
	rc = cs_cursor_next(c, &x->cursor_err);
	if (rc < 0) {
		x->failed = 1;
		return 0;
	}
	*live = rc;
	return rc;
}

/* Orders nullable ids, NULL first (the canonical input order). */
static int key_cmp(int has_a, int64_t a, int has_b, int64_t b)
{
	if (!has_a || !has_b)
		return has_a - has_b;
	return (a > b) - (a < b);
}

static void id_text(char *buf, size_t size, const char *cell)
{
	snprintf(buf, size, "%s", cell ? cell : "NULL");
}

/* A stored snapshot row, briefly: id, time, parties, amount. */
static void describe_stored(char *buf, size_t size, const cs_cursor *c)
{
	char when[64] = "NULL";
	int64_t us;

	if (cs_parse_i64(cs_cursor_cell(c, 1), &us) == 0)
		cs_format_local(when, sizeof(when), us);
	snprintf(buf, size, "transaction %s (%s, producer %s, consumer %s, amount_minor %s %s)",
		 nz(cs_cursor_cell(c, 0)), when, nz(cs_cursor_cell(c, 2)),
		 nz(cs_cursor_cell(c, 3)), nz(cs_cursor_cell(c, 4)), nz(cs_cursor_cell(c, 5)));
}

static void describe_row(char *buf, size_t size, const cs_txn_row *r)
{
	char when[64] = "NULL";

	if (r->has_occurred_at)
		cs_format_local(when, sizeof(when), r->occurred_at_us);
	snprintf(buf, size, "transaction %s%lld (%s, producer %s%lld, consumer %s%lld, amount_minor "
		 "%s%lld %.*s)",
		 r->has_id ? "" : "NULL ", (long long)(r->has_id ? r->id : 0), when,
		 r->has_producer ? "" : "NULL ", (long long)(r->has_producer ? r->producer_id : 0),
		 r->has_consumer ? "" : "NULL ", (long long)(r->has_consumer ? r->consumer_id : 0),
		 r->has_amount ? "" : "NULL ", (long long)(r->has_amount ? r->amount_minor : 0),
		 r->has_currency ? (int)(r->currency_len > 16 ? 16 : r->currency_len) : 4,
		 r->has_currency ? r->currency : "NULL");
}

/* Appends " field stored -> recomputed;" to b when an integer field differs. */
static void cmp_int(cs_buf *b, const char *field, const char *stored, int has, int64_t v)
{
	char now[24];

	if (has)
		snprintf(now, sizeof(now), "%lld", (long long)v);
	if (same(stored, has ? now : NULL))
		return;
	cs_buf_printf(b, " %s %s -> %s;", field, nz(stored), has ? now : "NULL");
}

static void cmp_time(cs_buf *b, const char *stored, int has, int64_t v)
{
	char was[64] = "NULL", now[64] = "NULL", now_us[24];
	int64_t us;

	if (has)
		snprintf(now_us, sizeof(now_us), "%lld", (long long)v);
	if (same(stored, has ? now_us : NULL))
		return;
	if (cs_parse_i64(stored, &us) == 0)
		cs_format_local(was, sizeof(was), us);
	if (has)
		cs_format_local(now, sizeof(now), v);
	cs_buf_printf(b, " occurred_at %s -> %s;", was, now);
}

static void cmp_bytes(cs_buf *b, const char *field, const char *stored, int has, const char *p,
		      size_t n)
{
	if ((!stored && !has) ||
	    (stored && has && strlen(stored) == n && memcmp(stored, p, n) == 0))
		return;
	cs_buf_printf(b, " %s '%.40s' -> ", field, stored ? stored : "NULL");
	if (has)
		cs_buf_printf(b, "'%.*s';", (int)(n > 40 ? 40 : n), p);
	else
		cs_buf_puts(b, "NULL;");
}

static void cmp_flag(cs_buf *b, const char *field, const char *stored, int v)
{
	int was = stored && stored[0] == 't';

	if (stored && was == (v != 0))
		return;
	cs_buf_printf(b, " %s %s -> %s;", field, stored ? (was ? "true" : "false") : "NULL",
		      v ? "true" : "false");
}

static void on_input(void *ctx, const cs_txn_row *r, int pm, int cm)
{
	settle_cmp *x = ctx;
	char what[512];
	cs_buf b;

	x->rows++;
	if (!x->has_snapshot)
		return;
	while (peek(x, &x->inputs, &x->inputs_live)) {
		const char *sid = cs_cursor_cell(&x->inputs, 0);
		int64_t id = 0;
		int has = sid && cs_parse_i64(sid, &id) == 0;
		int c = key_cmp(has, id, r->has_id, r->id);

		if (c > 0)
			break;
		x->inputs_live = 0;
		if (c < 0) {
			describe_stored(what, sizeof(what), &x->inputs);
			diff_add(&x->removed, "%s", what);
			continue;
		}
		cs_buf_init(&b);
		cmp_time(&b, cs_cursor_cell(&x->inputs, 1), r->has_occurred_at, r->occurred_at_us);
		cmp_int(&b, "producer_id", cs_cursor_cell(&x->inputs, 2), r->has_producer,
			r->producer_id);
		cmp_int(&b, "consumer_id", cs_cursor_cell(&x->inputs, 3), r->has_consumer,
			r->consumer_id);
		cmp_int(&b, "amount_minor", cs_cursor_cell(&x->inputs, 4), r->has_amount,
			r->amount_minor);
		cmp_bytes(&b, "currency", cs_cursor_cell(&x->inputs, 5), r->has_currency, r->currency,
			  r->currency_len);
		cmp_bytes(&b, "category", cs_cursor_cell(&x->inputs, 6), r->has_category,
			  r->category, r->category_len);
		cmp_flag(&b, "producer_member", cs_cursor_cell(&x->inputs, 7), pm);
		cmp_flag(&b, "consumer_member", cs_cursor_cell(&x->inputs, 8), cm);
		if (b.len) {
			char idt[24];

			id_text(idt, sizeof(idt), sid);
			b.data[b.len - 1] = '\0'; /* the last ';' */
			diff_add(&x->changed, "transaction %s:%s", idt, b.data);
		}
		cs_buf_free(&b);
		return;
	}
	describe_row(what, sizeof(what), r);
	diff_add(&x->added, "%s", what);
}

/* A stored ledger line, briefly. */
static void describe_line(char *buf, size_t size, const cs_cursor *c)
{
	snprintf(buf, size, "journal %s line %s (%s, party %s, %s): %s", nz(cs_cursor_cell(c, 0)),
		 nz(cs_cursor_cell(c, 1)), nz(cs_cursor_cell(c, 3)), nz(cs_cursor_cell(c, 4)),
		 nz(cs_cursor_cell(c, 5)), nz(cs_cursor_cell(c, 6)));
}

static int on_line(void *ctx, const cs_ledger_line *l, cs_error *err)
{
	settle_cmp *x = ctx;
	const cs_config *cfg = x->cfg;
	const char *account = l->account;
	const char *code = cfg->currencies[l->currency].code;
	const char *rule = cfg->rules[l->rule_index].id;
	char amount[48], party[24], what[512];

	(void)err;
	if (!x->lines_open)
		return 0;
	cs_i128_format(amount, l->amount_minor);
	if (l->has_party)
		snprintf(party, sizeof(party), "%lld", (long long)l->party_id);
	while (peek(x, &x->lines, &x->lines_live)) {
		int64_t journal = 0, line_no = 0;
		int c;
		cs_buf b;

		if (cs_parse_i64(cs_cursor_cell(&x->lines, 0), &journal) < 0 ||
		    cs_parse_i64(cs_cursor_cell(&x->lines, 1), &line_no) < 0) {
			x->lines_live = 0;
			describe_line(what, sizeof(what), &x->lines);
			diff_add(&x->line_diff, "stored %s: malformed journal or line number", what);
			continue;
		}
		c = key_cmp(1, journal, 1, l->transaction_id);
		if (c == 0)
			c = key_cmp(1, line_no, 1, l->line_no);
		if (c > 0)
			break;
		x->lines_live = 0;
		describe_line(what, sizeof(what), &x->lines);
		if (c < 0) {
			diff_add(&x->line_diff, "%s is stored but not in the recomputation", what);
			continue;
		}
		cs_buf_init(&b);
		{
			char tid[24];

			snprintf(tid, sizeof(tid), "%lld", (long long)l->transaction_id);
			if (!same(cs_cursor_cell(&x->lines, 2), tid))
				cs_buf_printf(&b, " transaction_id %s -> %s;",
					      nz(cs_cursor_cell(&x->lines, 2)), tid);
		}
		if (!same(cs_cursor_cell(&x->lines, 3), account))
			cs_buf_printf(&b, " account %s -> %s;", nz(cs_cursor_cell(&x->lines, 3)),
				      account);
		if (!same(cs_cursor_cell(&x->lines, 4), l->has_party ? party : NULL))
			cs_buf_printf(&b, " party %s -> %s;", nz(cs_cursor_cell(&x->lines, 4)),
				      l->has_party ? party : "NULL");
		if (!same(cs_cursor_cell(&x->lines, 5), code))
			cs_buf_printf(&b, " currency %s -> %s;", nz(cs_cursor_cell(&x->lines, 5)),
				      code);
		if (!same(cs_cursor_cell(&x->lines, 6), amount))
			cs_buf_printf(&b, " amount_minor stored %s, recomputed %s;",
				      nz(cs_cursor_cell(&x->lines, 6)), amount);
		if (!same(cs_cursor_cell(&x->lines, 7), rule))
			cs_buf_printf(&b, " rule %s -> %s;", nz(cs_cursor_cell(&x->lines, 7)), rule);
		{ /* lines written before 2026-12-01 have no posting date */
			char day[24];

			snprintf(day, sizeof(day), "%lld", (long long)l->posted_day);
			if (cs_cursor_cell(&x->lines, 8) && !same(cs_cursor_cell(&x->lines, 8), day))
				cs_buf_printf(&b, " posted_on %s -> %s;",
					      nz(cs_cursor_cell(&x->lines, 8)), day);
		}
		if (b.len) {
			b.data[b.len - 1] = '\0';
			diff_add(&x->line_diff, "journal %lld line %d (%s, party %s, %s):%s",
				 (long long)l->transaction_id, l->line_no, account,
				 l->has_party ? party : "NULL", code, b.data);
		}
		cs_buf_free(&b);
		return 0;
	}
	diff_add(&x->line_diff, "journal %lld line %d (%s, party %s, %s): %s is recomputed but not stored",
		 (long long)l->transaction_id, l->line_no, account, l->has_party ? party : "NULL",
		 code, amount);
	return 0;
}

/* After the recomputation: what is left in the stored streams was not
 * recomputed. */
static void drain(settle_cmp *x)
{
	char what[512];

	while (x->has_snapshot && peek(x, &x->inputs, &x->inputs_live)) {
		x->inputs_live = 0;
		describe_stored(what, sizeof(what), &x->inputs);
		diff_add(&x->removed, "%s", what);
	}
	while (x->lines_open && peek(x, &x->lines, &x->lines_live)) {
		x->lines_live = 0;
		describe_line(what, sizeof(what), &x->lines);
		diff_add(&x->line_diff, "%s is stored but not in the recomputation", what);
	}
}

/* ---- checks shared by both kinds ---- */

/* The record's window columns besides window_from_us and window_to_us
 * (which the record hash covers): the display texts, as the run's time
 * zone writes them (w), and the timestamps. */
static int check_window_columns(cs_db *db, findings *f, const cs_stored_run *run,
				const cs_window *w, cs_error *err)
{
	char id[24];
	const char *param = id;
	cs_db_rows rows;
	int ok;

	snprintf(id, sizeof(id), "%lld", (long long)run->id);
	if (cs_db_query(db,
			"SELECT window_from = 'epoch'::timestamptz + window_from_us"
			" * interval '1 microsecond' AND window_to = 'epoch'::timestamptz"
			" + window_to_us * interval '1 microsecond', window_from::text,"
			" window_to::text FROM coopsettle.runs WHERE id = $1::bigint",
			1, &param, &rows, err) < 0)
		return -1;
	ok = strcmp(run->from_text, w->from_text) == 0 && strcmp(run->to_text, w->to_text) == 0 &&
	     same(cs_db_cell(&rows, 0, 0), "t");
	if (!check(f, ok, "the window columns disagree with window_from_us and window_to_us",
		   "window columns agree with window_from_us and window_to_us"))
		note(f,
		     "window_from_text %s, window_to_text %s, window_from %s, window_to %s; "
		     "from the covered microseconds: [%s, %s)",
		     run->from_text, run->to_text, nz(cs_db_cell(&rows, 0, 1)),
		     nz(cs_db_cell(&rows, 0, 2)), w->from_text, w->to_text);
	cs_db_rows_free(&rows);
	return 0;
}

/* Config hash, record hash, window columns, link to the previous record. */
static int check_record(cs_db *db, findings *f, const cs_stored_run *run, const cs_window *w,
			cs_error *err)
{
	char hex[65], id[24];
	const char *param = id;
	cs_db_rows rows;
	int ok;

	if (check_window_columns(db, f, run, w, err) < 0)
		return -1;
	cs_sha256_hex(run->config_text, run->config_len, hex);
	if (!check(f, strcmp(hex, run->config_sha256) == 0,
		   "the stored config text does not hash to config_sha256",
		   "stored config text hashes to config_sha256"))
		note(f, "config_sha256 %s, the stored text hashes to %s", run->config_sha256, hex);
	if (!check(f, cs_stored_run_record_check(run, hex) != 0,
		   "the run record does not hash to record_sha256",
		   "run record hashes to record_sha256"))
		note(f,
		     "record_sha256 %s, the stored fields hash to %s: a field of the record "
		     "was changed after the run",
		     run->record_sha256, hex);
	snprintf(id, sizeof(id), "%lld", (long long)run->id);
	if (cs_db_query(db,
			"SELECT id, record_sha256 FROM coopsettle.runs WHERE id < $1::bigint"
			" ORDER BY id DESC LIMIT 1",
			1, &param, &rows, err) < 0)
		return -1;
	if (rows.n_rows == 0) {
		ok = !run->has_prev;
		if (!check(f, ok, "the run record links to a record that no longer exists",
			   "run record is the first of the chain"))
			note(f, "it links to a previous record %s that no longer exists",
			     run->prev_record_sha256);
	} else {
		ok = run->has_prev && same(cs_db_cell(&rows, 0, 1), run->prev_record_sha256);
		if (!check(f, ok, "the run record does not link to the run before it",
			   "run record links to run %s before it", cs_db_cell(&rows, 0, 0)))
			note(f, "prev_record_sha256 %s, run %s has record_sha256 %s",
			     run->has_prev ? run->prev_record_sha256 : "NULL",
			     nz(cs_db_cell(&rows, 0, 0)), nz(cs_db_cell(&rows, 0, 1)));
	}
	cs_db_rows_free(&rows);
	return 0;
}

/* The dates and flags no hash covers for every config version (spec 10.5):
 * a line written since schema version 5 has a posting date; a distribute
 * line is posted on the window's last local day, a reversal on the day its
 * run was made; a party total carries a member flag exactly with config
 * version 2. */
static int check_dates(cs_db *db, findings *f, const cs_stored_run *run, const cs_config *cfg,
		       cs_error *err)
{
	char id[24], version[8];
	const char *params[3] = {id, cfg->timezone, version};
	cs_db_rows rows;
	int64_t n[5] = {0, 0, 0, 0, 0};
	size_t k;

	snprintf(id, sizeof(id), "%lld", (long long)run->id);
	snprintf(version, sizeof(version), "%d", cfg->version);
	if (cs_db_query(db,
			"SELECT (SELECT count(*) FROM coopsettle.ledger_lines l WHERE l.run_id = r.id"
			" AND l.posted_on IS NULL AND r.created_at::timestamptz >= (SELECT"
			" min(applied_at) FROM coopsettle.schema_version WHERE version >= 5)),"
			" (SELECT count(*) FROM coopsettle.ledger_lines l WHERE l.run_id = r.id"
			" AND l.entry = 'post' AND r.kind = 'distribute' AND l.posted_on <>"
			" ((r.window_to - interval '1 microsecond') AT TIME ZONE $2)::date),"
			" (SELECT count(*) FROM coopsettle.ledger_lines l WHERE l.run_id = r.id"
			" AND l.entry = 'reversal' AND l.posted_on <>"
			" (r.created_at::timestamptz AT TIME ZONE $2)::date),"
			" (SELECT count(*) FROM coopsettle.party_totals p WHERE p.run_id = r.id"
			" AND (p.member IS NULL) <> ($3::integer < 2)),"
			" (SELECT count(*) FROM (SELECT ordinal, pg_catalog.row_number() OVER"
			" (ORDER BY ordinal) AS n FROM coopsettle.settlement_rejects"
			" WHERE run_id = r.id) x WHERE x.ordinal <> x.n)"
			" FROM coopsettle.runs r WHERE r.id = $1::bigint",
			3, params, &rows, err) < 0)
		return -1;
	for (k = 0; k < 5 && rows.n_rows; k++)
		cs_db_cell_i64(&rows, 0, k, &n[k]);
	cs_db_rows_free(&rows);
	if (!check(f, !n[0] && !n[1] && !n[2],
		   "ledger lines carry posting dates their run cannot have written",
		   "every line's posting date is the one its run writes"))
		note(f, "%lld lines without a date, %lld distribute lines off the window's last day, "
			"%lld reversal lines off the day of their run",
		     (long long)n[0], (long long)n[1], (long long)n[2]);
	if (!check(f, !n[3], "party totals carry member flags their run cannot have written",
		   "every party total's member flag fits config version %d", cfg->version))
		note(f, "%lld party totals", (long long)n[3]);
	if (!check(f, !n[4], "the rejected rows are not numbered 1 to n",
		   "the rejected rows are numbered 1 to n"))
		note(f, "%lld rejects out of place", (long long)n[4]);
	return 0;
}

/* Lines balance per entry and currency, number line_count, and reversals
 * negate the superseded run's lines. */
static int check_lines(cs_db *db, findings *f, const cs_stored_run *run, cs_error *err)
{
	char id[24], old[24];
	const char *params[2] = {id, old};
	cs_db_rows rows;
	int64_t count = -1;
	size_t i;

	snprintf(id, sizeof(id), "%lld", (long long)run->id);
	snprintf(old, sizeof(old), "%lld", (long long)run->supersedes);
	if (cs_db_query(db,
			"SELECT entry, currency, sum(amount_minor)::text FROM coopsettle.ledger_lines"
			" WHERE run_id = $1::bigint GROUP BY 1, 2 HAVING sum(amount_minor) <> 0"
			" ORDER BY 1, 2",
			1, params, &rows, err) < 0)
		return -1;
	if (!check(f, rows.n_rows == 0, "the stored ledger lines do not sum to zero per currency",
		   "stored ledger lines sum to zero per currency"))
		for (i = 0; i < rows.n_rows; i++)
			note(f, "%s lines in %s sum to %s", nz(cs_db_cell(&rows, i, 0)),
			     nz(cs_db_cell(&rows, i, 1)), nz(cs_db_cell(&rows, i, 2)));
	cs_db_rows_free(&rows);
	if (cs_db_query(db,
			"SELECT count(*) FROM coopsettle.ledger_lines WHERE run_id = $1::bigint"
			" AND entry = 'post'",
			1, params, &rows, err) < 0)
		return -1;
	cs_db_cell_i64(&rows, 0, 0, &count);
	cs_db_rows_free(&rows);
	check(f, count == run->line_count,
	      "the number of posted lines differs from the run record's line_count",
	      "%lld posted lines stored, as the run record says (%lld)", (long long)count,
	      (long long)run->line_count);
	/* a settle line's transaction is its journal; a distribute line has none
	 * (neither enters the canonical output twice, so it is checked here) */
	params[1] = run->kind;
	if (cs_db_query(db,
			"SELECT count(*) FROM coopsettle.ledger_lines WHERE run_id = $1::bigint AND"
			" CASE WHEN $2 = 'settle' THEN transaction_id IS DISTINCT FROM journal"
			" ELSE transaction_id IS NOT NULL END",
			2, params, &rows, err) < 0)
		return -1;
	cs_db_cell_i64(&rows, 0, 0, &count);
	cs_db_rows_free(&rows);
	if (!check(f, count == 0,
		   "ledger lines carry a transaction_id their run cannot have written",
		   "every line's transaction_id is %s",
		   strcmp(run->kind, "settle") == 0 ? "its journal" : "empty"))
		note(f, "%lld lines differ", (long long)count);
	params[1] = old;
	if (!run->supersedes)
		return 0;
	/* each reversal line is the negation of a posted line of the old run */
	if (cs_db_query(db,
			"SELECT count(*) FROM ((SELECT journal, line_no, transaction_id, rule_id,"
			" account, party_id, currency, -amount_minor FROM coopsettle.ledger_lines"
			" WHERE run_id = $2::bigint AND entry = 'post'"
			" EXCEPT ALL SELECT journal, line_no, transaction_id, rule_id, account,"
			" party_id, currency, amount_minor FROM coopsettle.ledger_lines"
			" WHERE run_id = $1::bigint AND entry = 'reversal')"
			" UNION ALL (SELECT journal, line_no, transaction_id, rule_id, account,"
			" party_id, currency, amount_minor FROM coopsettle.ledger_lines"
			" WHERE run_id = $1::bigint AND entry = 'reversal'"
			" EXCEPT ALL SELECT journal, line_no, transaction_id, rule_id, account,"
			" party_id, currency, -amount_minor FROM coopsettle.ledger_lines"
			" WHERE run_id = $2::bigint AND entry = 'post')) d",
			2, params, &rows, err) < 0)
		return -1;
	cs_db_cell_i64(&rows, 0, 0, &count);
	cs_db_rows_free(&rows);
	if (!check(f, count == 0,
		   "the reversal lines do not negate the posted lines of the superseded run",
		   "reversal lines negate the posted lines of superseded run %lld",
		   (long long)run->supersedes))
		note(f, "%lld lines are in one set but not the other", (long long)count);
	return 0;
}

/* ---- settle ---- */

/* An empty comparison for a run of config cfg, its cursors closed. */
static void settle_cmp_init(settle_cmp *x, const cs_config *cfg)
{
	memset(x, 0, sizeof(*x));
	x->cfg = cfg;
	diff_init(&x->added);
	diff_init(&x->removed);
	diff_init(&x->changed);
	diff_init(&x->line_diff);
}

/* Closes the comparison's cursors and frees its lists. */
static void settle_cmp_free(settle_cmp *x)
{
	cs_cursor_close(&x->inputs);
	cs_cursor_close(&x->lines);
	cs_buf_free(&x->added.text);
	cs_buf_free(&x->removed.text);
	cs_buf_free(&x->changed.text);
	cs_buf_free(&x->line_diff.text);
}

/* The options of a dry run of the stored run's window and config, which
 * also rebuilds the run's stored statement. */
static void dry_run_opts(cs_run_opts *ro, const char *conninfo, const cs_config *cfg,
			 const cs_window *w, int64_t run_id)
{
	memset(ro, 0, sizeof(*ro));
	ro->conninfo = conninfo;
	ro->cfg = cfg;
	ro->window = *w;
	ro->dry_run = 1;
	ro->restate_run_id = run_id;
}

/* The stored statement against the one the recomputation rebuilds: equal
 * byte for byte when input and output are unchanged (both kinds). */
static void check_statement(findings *f, const cs_stored_run *run, const cs_run_result *res)
{
	size_t n = strlen(run->statement);

	if (strcmp(res->input_hash, run->input_sha256) != 0 ||
	    strcmp(res->output_hash, run->output_sha256) != 0)
		return; /* the figures differ already, and are named above */
	if (!check(f, res->restated.len == n && memcmp(res->restated.data, run->statement, n) == 0,
		   "the stored statement differs from the recomputation's",
		   "stored statement equals the recomputation's"))
		note(f,
		     "the run record's statement was edited after the run; the recomputation "
		     "gives %.300s",
		     res->restated.data ? res->restated.data : "");
}

/* The recomputed output hash against output_sha256 (both kinds). */
static void check_output_hash(findings *f, const cs_stored_run *run, const cs_run_result *res)
{
	if (!check(f, strcmp(res->output_hash, run->output_sha256) == 0,
		   "the recomputed output differs from output_sha256",
		   "recomputed output matches output_sha256")) {
		note(f, "output_sha256 %s, recomputed %s", run->output_sha256, res->output_hash);
		if (strcmp(res->input_hash, run->input_sha256) == 0)
			note(f, "the input is unchanged: the run record's output hash was changed, "
				"or this engine (%s) computes differently from the run's (%s)",
			     CS_VERSION, run->engine_version);
	}
}

/* The stored rows against output_sha256, and the stored lines on their own. */
static int settle_check_stored(cs_db *db, findings *f, const cs_stored_run *run, const char *id,
			       const cs_config *cfg, cs_error *err)
{
	char hex[65];

	if (stored_settle_output(db, cfg, id, hex, err) < 0)
		return -1;
	if (!check(f, strcmp(hex, run->output_sha256) == 0,
		   "stored ledger lines, totals or rejects were changed after the run (they do not hash to output_sha256)",
		   "stored ledger lines, totals and rejects hash to output_sha256"))
		note(f,
		     "output_sha256 %s, the stored rows hash to %s: they were changed after "
		     "the run",
		     run->output_sha256, hex);
	return check_lines(db, f, run, err) < 0 || check_dates(db, f, run, cfg, err) < 0 ? -1 : 0;
}

/* Opens the streams of the run's input snapshot (when it has one) and of
 * its stored posted lines, both in the order the recomputation makes them. */
static int settle_open_stored(cs_db *db, settle_cmp *x, const cs_stored_run *run, const char *id,
			      int with_lines, cs_error *err)
{
	const char *params[2] = {id, run->created_at};
	cs_db_rows rows;

	/* the input snapshot exists for runs made at schema version 2 or later */
	if (cs_db_query(db,
			"SELECT EXISTS (SELECT 1 FROM coopsettle.run_input_chunks WHERE run_id = $1::bigint)"
			" OR $2::timestamptz >= (SELECT min(applied_at) FROM coopsettle.schema_version"
			" WHERE version >= 2)",
			2, params, &rows, err) < 0)
		return -1;
	x->has_snapshot = cs_db_cell(&rows, 0, 0) && cs_db_cell(&rows, 0, 0)[0] == 't';
	cs_db_rows_free(&rows);
	if (x->has_snapshot &&
	    cs_cursor_open(&x->inputs, db, "cs_inputs",
			   "SELECT transaction_id, occurred_at_us, producer_id, consumer_id,"
			   " amount_minor, currency, category, producer_member, consumer_member"
			   " FROM coopsettle.run_inputs WHERE run_id = $1::bigint ORDER BY ordinal",
			   1, params, err) < 0)
		return -1;
	if (!with_lines)
		return 0;
	x->lines_open = 1;
	return cs_cursor_open(&x->lines, db, "cs_lines",
			      "SELECT journal, line_no, transaction_id, account, party_id, currency,"
			      " amount_minor, rule_id, posted_on - DATE '1970-01-01'"
			      " FROM coopsettle.ledger_lines"
			      " WHERE run_id = $1::bigint AND entry = 'post' ORDER BY journal, line_no",
			      1, params, err);
}

/* The recomputation: a dry run of the same window and config, each input row
 * and line compared as it is made. Returns 1 when it ran to the end. */
static int settle_recompute(settle_cmp *x, const cs_config *cfg, const cs_window *w,
			    const char *conninfo, int64_t run_id, cs_run_result *res,
			    cs_error *run_err)
{
	cs_run_taps taps;
	cs_run_opts ro;

	memset(&taps, 0, sizeof(taps));
	taps.ctx = x;
	taps.input = on_input;
	taps.line = x->lines_open ? on_line : NULL;
	dry_run_opts(&ro, conninfo, cfg, w, run_id);
	ro.taps = &taps;
	cs_error_clear(run_err);
	return cs_run_settle(&ro, res, run_err) == 0;
}

/* The recomputed input hash, and the transactions added, removed or changed
 * since the run. */
static void settle_report_input(findings *f, const settle_cmp *x, const cs_stored_run *run,
				const cs_run_result *res, int64_t members_drifted)
{
	if (!check(f, strcmp(res->input_hash, run->input_sha256) == 0,
		   "the input changed since the run (the recomputed input differs from input_sha256)",
		   "recomputed input matches input_sha256 (%lld rows read now)",
		   (long long)x->rows)) {
		note(f, "input_sha256 %s, recomputed %s", run->input_sha256, res->input_hash);
		if (!x->has_snapshot)
			note(f, "no input snapshot is stored for this run (made before schema version "
				"2): the changed transactions cannot be named");
		else if (!x->added.count && !x->removed.count && !x->changed.count &&
			 members_drifted)
			note(f, "the transactions equal the run's input snapshot; the memberships "
				"below changed since the run");
		else if (!x->added.count && !x->removed.count && !x->changed.count)
			note(f, "every row equals the run's input snapshot: the snapshot itself was "
				"changed, or the engine reads the rows differently");
		diff_notes(f, &x->added, "transactions added since the run");
		diff_notes(f, &x->removed, "transactions removed since the run");
		diff_notes(f, &x->changed, "transactions changed since the run");
	} else if (x->has_snapshot && (x->added.count || x->removed.count || x->changed.count)) {
		check(f, 0, "the run's input snapshot differs from the rows read now",
		      "the run's input snapshot equals the rows read now");
		diff_notes(f, &x->added, "rows not in the snapshot");
		diff_notes(f, &x->removed, "snapshot rows not read now");
		diff_notes(f, &x->changed, "snapshot rows that differ");
	}
}

/* Stored party totals, currency totals and rejects against the recomputed
 * statement. */
static int settle_compare_totals(cs_db *db, findings *f, const char *id, const cs_run_result *res,
				 cs_error *err)
{
	const char *params[2] = {id, res->statement.data};
	diff_list totals;
	int rc = -1;

	diff_init(&totals);
	if (diff_query(db, &totals,
		       "SELECT 'party ' || coalesce(s.side, n.side) || ' ' ||"
		       " coalesce(s.party_id::text, n.id) || ' ' || coalesce(s.currency, n.cur),"
		       " f.k, f.s, f.n, count(*) OVER ()"
		       " FROM (SELECT * FROM coopsettle.party_totals WHERE run_id = $1::bigint) s"
		       " FULL JOIN (SELECT e->>'side' side, e->>'id' id, e->>'currency' cur,"
		       " e->>'transactions' tx, e->>'gross_minor' gross, e->>'fees_minor' fees,"
		       " e->>'vat_minor' vat"
		       " FROM pg_catalog.jsonb_array_elements($2::jsonb->'parties') e) n"
		       " ON n.side = s.side AND n.id = s.party_id::text AND n.cur = s.currency"
		       " CROSS JOIN LATERAL (VALUES ('transactions', s.transactions::text, n.tx),"
		       " ('gross_minor', s.gross_minor::text, n.gross),"
		       " ('fees_minor', s.fees_minor::text, n.fees),"
		       " ('vat_minor', s.vat_minor::text, n.vat)) f(k, s, n)"
		       " WHERE f.s IS DISTINCT FROM f.n ORDER BY 1, 2 LIMIT 20",
		       2, params, err) < 0 ||
	    diff_query(db, &totals,
		       "SELECT 'currency ' || coalesce(s.currency, n.key), f.k, f.s, f.n,"
		       " count(*) OVER ()"
		       " FROM (SELECT * FROM coopsettle.currency_totals WHERE run_id = $1::bigint) s"
		       " FULL JOIN pg_catalog.jsonb_each($2::jsonb->'currencies') n"
		       " ON n.key = s.currency"
		       " CROSS JOIN LATERAL (VALUES"
		       " ('transactions', s.transactions::text, n.value->>'transactions'),"
		       " ('gross_minor', s.gross_minor::text, n.value->>'gross_minor'),"
		       " ('fees_minor', s.fees_minor::text, n.value->>'fees_minor'),"
		       " ('fees_producer_minor', s.fees_producer_minor::text,"
		       " n.value->>'fees_producer_minor'),"
		       " ('fees_consumer_minor', s.fees_consumer_minor::text,"
		       " n.value->>'fees_consumer_minor'),"
		       " ('fee_income_minor', s.fee_income_minor::text,"
		       " n.value->>'fee_income_minor'),"
		       " ('vat_minor', s.vat_minor::text, n.value->>'vat_minor')) f(k, s, n)"
		       " WHERE f.s IS DISTINCT FROM f.n ORDER BY 1, 2 LIMIT 20",
		       2, params, err) < 0 ||
	    diff_query(db, &totals,
		       "SELECT 'reject ' || coalesce(s.ordinal, n.o)::text, f.k, f.s, f.n,"
		       " count(*) OVER ()"
		       " FROM (SELECT * FROM coopsettle.settlement_rejects"
		       " WHERE run_id = $1::bigint) s"
		       " FULL JOIN (SELECT o::integer o, e->>'id' id, e->>'reason' reason"
		       " FROM pg_catalog.jsonb_array_elements($2::jsonb->'rejected')"
		       " WITH ORDINALITY j(e, o)) n ON n.o = s.ordinal"
		       " CROSS JOIN LATERAL (VALUES ('transaction_id', s.transaction_id::text,"
		       " n.id), ('reason', s.reason, n.reason)) f(k, s, n)"
		       " WHERE f.s IS DISTINCT FROM f.n ORDER BY 1, 2 LIMIT 20",
		       2, params, err) < 0)
		goto cleanup;
	if (!check(f, totals.count == 0,
		   "stored party totals, currency totals or rejects differ from the recomputation",
		   "stored party totals, currency totals and rejects equal the recomputation"))
		diff_notes(f, &totals, "totals that differ");
	rc = 0;
cleanup:
	cs_buf_free(&totals.text);
	return rc;
}

/* ---- settle, stage 1: the run from its own snapshots ---- */


/* The snapshot row at cursor c as a transaction row with the member flags
 * the run used; its strings point into the cursor. */
static void snapshot_row(const cs_cursor *c, cs_txn_row *r)
{
	memset(r, 0, sizeof(*r));
	r->has_id = cs_parse_i64(cs_cursor_cell(c, 0), &r->id) == 0;
	r->has_occurred_at = cs_parse_i64(cs_cursor_cell(c, 1), &r->occurred_at_us) == 0;
	r->has_producer = cs_parse_i64(cs_cursor_cell(c, 2), &r->producer_id) == 0;
	r->has_consumer = cs_parse_i64(cs_cursor_cell(c, 3), &r->consumer_id) == 0;
	r->has_amount = cs_parse_i64(cs_cursor_cell(c, 4), &r->amount_minor) == 0;
	if ((r->currency = cs_cursor_cell(c, 5)) != NULL) {
		r->has_currency = 1;
		r->currency_len = strlen(r->currency);
	}
	if ((r->category = cs_cursor_cell(c, 6)) != NULL) {
		r->has_category = 1;
		r->category_len = strlen(r->category);
	}
	r->flags_given = 1;
	r->producer_member = same(cs_cursor_cell(c, 7), "t");
	r->consumer_member = same(cs_cursor_cell(c, 8), "t");
}

/* Feeds the input snapshot to core s in its stored order; an order the
 * engine cannot have written (ids going down) stops it: returns 0 then,
 * with *out_of_order set, or -1 when the sink failed. */
static int feed_snapshot(settle_cmp *x, cs_settle *s, int *out_of_order, cs_error *err)
{
	cs_txn_row r;
	int have_prev = 0;
	int64_t prev = 0;

	*out_of_order = 0;
	while (peek(x, &x->inputs, &x->inputs_live)) {
		x->inputs_live = 0;
		snapshot_row(&x->inputs, &r);
		if (r.has_id && have_prev && r.id < prev) {
			*out_of_order = 1;
			return 0;
		}
		if (r.has_id) {
			have_prev = 1;
			prev = r.id;
		} else if (have_prev) { /* NULL ids come first */
			*out_of_order = 1;
			return 0;
		}
		if (cs_settle_row(s, &r, err) < 0)
			return -1;
	}
	return 0;
}

/* Stage 1 of verify --run (spec 10.4): recomputes the run from its own
 * snapshots -- its input rows with the member flags it used, its membership
 * snapshot (config version 2) -- and compares the hashes and the stored
 * lines. Returns 0, 1 when the run has no input snapshot (made before
 * schema version 2: the caller recomputes from today's data), or -1. */
static int settle_reproduce(cs_db *db, findings *f, const cs_stored_run *run,
			    const cs_config *cfg, const cs_window *w, const char *id, cs_error *err)
{
	settle_cmp x;
	cs_members *ms = cs_members_new();
	cs_day_map days = {0, 0, NULL};
	cs_settle *s = NULL;
	int rc = -1, out_of_order = 0;

	settle_cmp_init(&x, cfg);
	f->stage = STAGE_REPRODUCE;
	if (settle_open_stored(db, &x, run, id, 1, err) < 0)
		goto cleanup;
	if (!x.has_snapshot) {
		rc = 1;
		goto cleanup;
	}
	if (cfg->version >= 2 && cs_stored_memberships(db, run->id, ms, err) < 0)
		goto cleanup;
	cs_day_map_init(&days, w);
	if (cfg->version >= 2)
		cs_members_window(ms, days.first_day, days.first_day + (int64_t)days.n_days);
	s = cs_settle_new(cfg, ms, on_line, &x);
	cs_settle_use_days(s, &days);
	if (feed_snapshot(&x, s, &out_of_order, err) < 0 || x.failed)
		goto cleanup;
	if (out_of_order) {
		check(f, 0, "the run's input snapshot is out of order (it was edited)", "-");
		rc = 0;
		goto cleanup;
	}
	if (cs_settle_finish(s, err) < 0)
		goto cleanup;
	drain(&x);
	if (x.failed) {
		*err = x.cursor_err;
		goto cleanup;
	}
	if (!check(f, strcmp(cs_settle_input_hash(s), run->input_sha256) == 0,
		   "the run's snapshots do not hash to input_sha256 (a snapshot was changed)",
		   "the run's snapshots hash to input_sha256"))
		note(f, "input_sha256 %s, the snapshots hash to %s", run->input_sha256,
		     cs_settle_input_hash(s));
	if (!check(f, strcmp(cs_settle_output_hash(s), run->output_sha256) == 0,
		   "the recomputation from the run's snapshots differs from output_sha256",
		   "the run reproduces from its snapshots: the recomputation hashes to "
		   "output_sha256"))
		note(f, "output_sha256 %s, recomputed from the snapshots %s", run->output_sha256,
		     cs_settle_output_hash(s));
	if (!check(f, x.line_diff.count == 0,
		   "stored ledger lines differ from the recomputation from the snapshots",
		   "stored ledger lines equal the recomputation from the snapshots"))
		diff_notes(f, &x.line_diff, "lines that differ");
	rc = 0;
cleanup:
	cs_settle_free(s);
	cs_members_free(ms);
	cs_day_map_free(&days);
	settle_cmp_free(&x);
	return rc;
}

/* ---- settle, stage 2: the snapshots against today's sources ---- */

/* The memberships that differ between run id's snapshot and the members
 * relation now (config version 2), for the parties of the run (settle,
 * keys from party_totals) or every member (distribute), among the periods
 * overlapping the local days [first_day, end_day). */
static int membership_drift(cs_db *db, diff_list *d, const cs_config *cfg, const char *id,
			    int64_t first_day, int64_t end_day, int settle, cs_error *err)
{
	char first[16], end[16];
	const char *params[3] = {id, first, end};
	char *rel = NULL;
	cs_buf sql;
	cs_db_rows rows;
	size_t i;
	int rc = -1;

	cs_day_text(first, sizeof(first), first_day);
	cs_day_text(end, sizeof(end), end_day);
	cs_buf_init(&sql);
	rel = cs_source_relation_sql(db, &cfg->source_members, err);
	if (!rel)
		goto cleanup;
	cs_buf_printf(&sql,
		      "WITH snap AS (SELECT member_id, class, joined_on, left_on"
		      " FROM coopsettle.run_memberships WHERE run_id = $1::bigint),"
		      " now AS (SELECT m.id::bigint AS member_id, m.class::text AS class,"
		      " m.joined_on::date AS joined_on, m.left_on::date AS left_on FROM %s m"
		      " WHERE m.joined_on::date < $3::date AND (m.left_on IS NULL"
		      " OR m.left_on::date > $2::date)%s),"
		      " d AS ((SELECT 'in the run''s snapshot, not in the members now' AS what, *"
		      " FROM (SELECT * FROM snap EXCEPT ALL SELECT * FROM now) a)"
		      " UNION ALL (SELECT 'in the members now, not in the run''s snapshot', *"
		      " FROM (SELECT * FROM now EXCEPT ALL SELECT * FROM snap) b))"
		      " SELECT member_id, class, joined_on, left_on, what, count(*) OVER ()"
		      " FROM d ORDER BY 1, 2, 3, 5 LIMIT 20",
		      rel,
		      settle ? " AND (m.id::bigint, m.class::text) IN (SELECT party_id, side"
			       " FROM coopsettle.party_totals WHERE run_id = $1::bigint)"
			     : "");
	if (cs_db_query(db, sql.data, 3, params, &rows, err) < 0)
		goto cleanup;
	for (i = 0; i < rows.n_rows; i++)
		diff_add(d, "member %s %s [%s, %s): %s", nz(cs_db_cell(&rows, i, 0)),
			 nz(cs_db_cell(&rows, i, 1)), nz(cs_db_cell(&rows, i, 2)),
			 cs_db_cell(&rows, i, 3) ? cs_db_cell(&rows, i, 3) : "open",
			 nz(cs_db_cell(&rows, i, 4)));
	if (rows.n_rows) {
		int64_t total = 0;

		if (cs_db_cell_i64(&rows, 0, 5, &total) == 0 && total > (int64_t)rows.n_rows)
			d->count += total - (int64_t)rows.n_rows;
	}
	cs_db_rows_free(&rows);
	rc = 0;
cleanup:
	free(rel);
	cs_buf_free(&sql);
	return rc;
}

/* Stage 2 of verify --run (spec 10.4): today's sources against the run's
 * snapshots: the input recomputed now, and every transaction (and, config
 * version 2, membership) that differs named. */
static int settle_drift(cs_db *db, findings *f, const cs_stored_run *run, const cs_config *cfg,
			const cs_window *w, const char *conninfo, const char *id, cs_error *err)
{
	settle_cmp x;
	cs_run_result res;
	cs_error run_err;
	diff_list members;
	cs_day_map days = {0, 0, NULL};
	int rc = -1, ran;

	settle_cmp_init(&x, cfg);
	cs_run_result_init(&res);
	diff_init(&members);
	f->stage = STAGE_INPUTS;
	if (settle_open_stored(db, &x, run, id, 0, err) < 0)
		goto cleanup;
	ran = settle_recompute(&x, cfg, w, conninfo, run->id, &res, &run_err);
	if (!ran && run_err.exit_code != CS_EXIT_DATA) {
		*err = run_err; /* the recomputation could not run: not a mismatch */
		goto cleanup;
	}
	if (!ran) {
		check(f, 0, "the run cannot be recomputed from the current database", "-");
		note(f, "the recomputation stops with exit 3: %s", run_err.message);
		if (run_err.detail[0])
			note(f, "%s", run_err.detail);
		rc = 0;
		goto cleanup;
	}
	drain(&x);
	if (x.failed) {
		*err = x.cursor_err;
		goto cleanup;
	}
	if (cfg->version >= 2 && strcmp(res.input_hash, run->input_sha256) != 0) {
		cs_day_map_init(&days, w);
		if (membership_drift(db, &members, cfg, id, days.first_day,
				     days.first_day + (int64_t)days.n_days, 1, err) < 0)
			goto cleanup;
	}
	settle_report_input(f, &x, run, &res, members.count);
	diff_notes(f, &members, "memberships changed since the run");
	f->stage = STAGE_REPRODUCE; /* the stored statement is the run's own */
	check_statement(f, run, &res);
	rc = 0;
cleanup:
	cs_day_map_free(&days);
	cs_buf_free(&members.text);
	settle_cmp_free(&x);
	cs_run_result_free(&res);
	return rc;
}

/* A settle run: its stored rows, then a recomputation compared with them
 * row by row, then its totals. */
static int verify_settle(cs_db *db, findings *f, const cs_stored_run *run,
			 const cs_config *cfg, const cs_window *w, const char *conninfo,
			 cs_error *err)
{
	char id[24];
	settle_cmp x;
	cs_run_result res;
	cs_error run_err;
	int rc = -1, ran;

	settle_cmp_init(&x, cfg);
	cs_run_result_init(&res);
	snprintf(id, sizeof(id), "%lld", (long long)run->id);
	if (settle_check_stored(db, f, run, id, cfg, err) < 0)
		goto cleanup;
	/* a run with snapshots: reproduced from them, then they against today */
	switch (settle_reproduce(db, f, run, cfg, w, id, err)) {
	case -1:
		goto cleanup;
	case 0:
		rc = settle_drift(db, f, run, cfg, w, conninfo, id, err);
		goto cleanup;
	default: /* a run made before snapshots: against today's data alone */
		break;
	}
	if (settle_open_stored(db, &x, run, id, 1, err) < 0)
		goto cleanup;
	ran = settle_recompute(&x, cfg, w, conninfo, run->id, &res, &run_err);
	if (!ran && run_err.exit_code != CS_EXIT_DATA) {
		*err = run_err; /* the recomputation could not run: not a mismatch */
		goto cleanup;
	}
	if (!ran) {
		/* the recomputation stopped on the data: that is the finding, the
		 * rows it did not get to are no differences */
		check(f, 0, "the run cannot be recomputed from the current database", "-");
		note(f, "the recomputation stops with exit 3: %s", run_err.message);
		if (run_err.detail[0])
			note(f, "%s", run_err.detail);
		rc = 0;
		goto cleanup;
	}
	drain(&x);
	if (x.failed) {
		*err = x.cursor_err;
		goto cleanup;
	}
	settle_report_input(f, &x, run, &res, 0);
	check_output_hash(f, run, &res);
	check_statement(f, run, &res);
	if (!check(f, x.line_diff.count == 0, "stored ledger lines differ from the recomputation",
		   "stored ledger lines equal the recomputation"))
		diff_notes(f, &x.line_diff, "lines that differ");
	if (settle_compare_totals(db, f, id, &res, err) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	settle_cmp_free(&x);
	cs_run_result_free(&res);
	return rc;
}

/* ---- distribute ---- */

/* The settle runs of the window when the run was made and now. */
static int dist_settle_runs(cs_db *db, findings *f, const cs_stored_run *run, cs_error *err)
{
	cs_settle_ref *then = NULL, *now = NULL;
	size_t n_then = 0, n_now = 0, i, j;
	int rc = -1;

	if (cs_stored_settle_runs(db, run->from_us, run->to_us, run->id, &then, &n_then, err) < 0 ||
	    cs_stored_settle_runs(db, run->from_us, run->to_us, 0, &now, &n_now, err) < 0)
		goto cleanup;
	for (i = 0; i < n_then; i++) {
		for (j = 0; j < n_now && now[j].id != then[i].id; j++)
			;
		if (j == n_now)
			note(f, "settle run %lld [%s, %s), committed when the run was made, is no "
				"longer committed",
			     (long long)then[i].id, then[i].from_text, then[i].to_text);
	}
	for (j = 0; j < n_now; j++) {
		for (i = 0; i < n_then && then[i].id != now[j].id; i++)
			;
		if (i == n_then)
			note(f, "settle run %lld [%s, %s) was committed after the run", (long long)now[j].id,
			     now[j].from_text, now[j].to_text);
	}
	rc = 0;
cleanup:
	free(then);
	free(now);
	return rc;
}

/* The stored lines against the lines the stored allocations, steps and
 * figures imply, summed per (currency, party, account). */
static int dist_lines_vs_allocations(cs_db *db, const cs_config *cfg, const char *id,
				     diff_list *d, cs_error *err)
{
	cs_buf steps, accounts;
	const char *params[11];
	size_t s;
	int rc;

	cs_buf_init(&steps);
	cs_buf_init(&accounts);
	cs_buf_putc(&steps, '{');
	cs_buf_putc(&accounts, '{');
	for (s = 0; s < cfg->n_steps; s++) {
		const cs_step *st = &cfg->steps[s];
		const char *sep = steps.len > 1 ? "," : "";
		const char *p;

		if (st->type != CS_STEP_ACCOUNT)
			continue;
		/* array literal elements, quoted with \ and " escaped */
		cs_buf_printf(&steps, "%s\"", sep);
		for (p = st->id; *p; p++) {
			if (*p == '"' || *p == '\\')
				cs_buf_putc(&steps, '\\');
			cs_buf_putc(&steps, *p);
		}
		cs_buf_putc(&steps, '"');
		cs_buf_printf(&accounts, "%s\"", sep);
		for (p = st->account; *p; p++) {
			if (*p == '"' || *p == '\\')
				cs_buf_putc(&accounts, '\\');
			cs_buf_putc(&accounts, *p);
		}
		cs_buf_putc(&accounts, '"');
	}
	cs_buf_putc(&steps, '}');
	cs_buf_putc(&accounts, '}');
	params[0] = id;
	params[1] = cfg->accounts[CS_ACCOUNT_CAPITAL_INTEREST];
	params[2] = cfg->accounts[CS_ACCOUNT_PATRONAGE_CASH];
	params[3] = cfg->accounts[CS_ACCOUNT_PATRONAGE_RETAINED];
	params[4] = steps.data;
	params[5] = accounts.data;
	params[6] = cfg->accounts[CS_ACCOUNT_SURPLUS];
	params[7] = cfg->accounts[CS_ACCOUNT_RETAINED_SURPLUS];
	params[8] = cfg->accounts[CS_ACCOUNT_WITHHOLDING];
	params[9] = cfg->accounts[CS_ACCOUNT_LOSS_CARRIED];
	params[10] = cfg->version >= 2 ? "t" : "f";
	/* version 2 (spec 10.3, 10.7.1): the net interest and the tax withheld,
	 * the cover of a carried loss, and a loss year's lines */
	rc = diff_query(
		db, d,
		"WITH fig AS (SELECT c.key cur, (c.value->>'surplus_minor')::numeric s,"
		" (c.value->>'retained_surplus_minor')::numeric a,"
		" coalesce((c.value->>'loss_carried_in_minor')::numeric, 0) lin,"
		" coalesce((c.value->>'loss_covered_minor')::numeric, 0) cov,"
		" coalesce((c.value->>'loss_carried_out_minor')::numeric, 0) lout"
		" FROM coopsettle.runs r,"
		" pg_catalog.jsonb_each(r.statement::jsonb->'currencies') c WHERE r.id = $1::bigint),"
		/* the columns named in the first branch, not in a list after x:
		 * Citus 13.2 loses such a list when it plans x apart ("column
		 * x.cur does not exist") */
		" x AS ("
		" SELECT currency AS cur, member_id AS party, $2 AS account,"
		" -(capital_interest_minor - coalesce(withheld_minor, 0)) AS amount"
		" FROM coopsettle.member_allocations WHERE run_id = $1::bigint"
		" UNION ALL SELECT currency, member_id, $9, -coalesce(withheld_minor, 0)"
		" FROM coopsettle.member_allocations WHERE run_id = $1::bigint"
		" UNION ALL SELECT cur, NULL, $10, -cov FROM fig WHERE s > 0"
		" UNION ALL SELECT cur, NULL, $7, s FROM fig WHERE s < 0 AND $11::boolean"
		" UNION ALL SELECT cur, NULL, $10, lout - lin FROM fig WHERE s < 0 AND $11::boolean"
		" UNION ALL SELECT c.key, NULL, l.e->>'account', (l.e->>'amount_minor')::numeric"
		" FROM coopsettle.runs r, pg_catalog.jsonb_each(r.statement::jsonb->'currencies') c,"
		" pg_catalog.jsonb_array_elements(coalesce(c.value->'loss_cover', '[]'::jsonb))"
		" AS l(e) WHERE r.id = $1::bigint AND $11::boolean"
		" UNION ALL SELECT currency, member_id, $3, -cash_minor"
		" FROM coopsettle.member_allocations WHERE run_id = $1::bigint"
		" UNION ALL SELECT currency, member_id, $4, -retained_minor"
		" FROM coopsettle.member_allocations WHERE run_id = $1::bigint"
		" UNION ALL SELECT d.currency, NULL, m.account, -d.amount_minor"
		" FROM coopsettle.distribution_steps d JOIN ROWS FROM (pg_catalog.unnest($5::text[]),"
		" pg_catalog.unnest($6::text[])) m(step_id, account) ON m.step_id = d.step_id"
		" WHERE d.run_id = $1::bigint"
		" UNION ALL SELECT cur, NULL, $7, s FROM fig WHERE s > 0"
		" UNION ALL SELECT cur, NULL, $8, -a FROM fig WHERE s > 0),"
		" e AS (SELECT cur, coalesce(party::text, '') p, account, sum(amount) amount FROM x"
		" GROUP BY 1, 2, 3 HAVING sum(amount) <> 0),"
		" g AS (SELECT currency cur, coalesce(party_id::text, '') p, account,"
		" sum(amount_minor) amount FROM coopsettle.ledger_lines"
		" WHERE run_id = $1::bigint AND entry = 'post' GROUP BY 1, 2, 3)"
		" SELECT 'lines of ' || coalesce(g.account, e.account) || ', party '"
		" || coalesce(nullif(coalesce(g.p, e.p), ''), 'none') || ', '"
		" || coalesce(g.cur, e.cur), 'sum', g.amount::text, e.amount::text,"
		" count(*) OVER () FROM g FULL JOIN e ON e.cur = g.cur AND e.p = g.p"
		" AND e.account = g.account WHERE g.amount IS DISTINCT FROM e.amount"
		" ORDER BY 1 LIMIT 20",
		11, params, err);
	cs_buf_free(&steps);
	cs_buf_free(&accounts);
	return rc;
}

/* The stored rows against output_sha256, the stored lines on their own and
 * against the stored allocations, steps and figures. */
static int dist_check_stored(cs_db *db, findings *f, const cs_stored_run *run,
			     const cs_config *cfg, const char *id, cs_error *err)
{
	char hex[65];
	diff_list lines;
	int rc = -1;

	diff_init(&lines);
	if (stored_dist_output(db, cfg, id, hex, err) < 0)
		goto cleanup;
	if (!check(f, strcmp(hex, run->output_sha256) == 0,
		   "stored ledger lines, steps or figures were changed after the run (they do not hash to output_sha256)",
		   "stored ledger lines, steps and figures hash to output_sha256"))
		note(f,
		     "output_sha256 %s, the stored rows hash to %s: they were changed after "
		     "the run",
		     run->output_sha256, hex);
	if (check_lines(db, f, run, err) < 0 || check_dates(db, f, run, cfg, err) < 0 ||
	    dist_lines_vs_allocations(db, cfg, id, &lines, err) < 0)
		goto cleanup;
	if (!check(f, lines.count == 0,
		   "stored ledger lines disagree with the stored allocations, steps and figures",
		   "stored ledger lines agree with the stored allocations, steps and figures"))
		diff_notes(f, &lines,
			   "lines that disagree (stored sum, sum the allocations imply)");
	rc = 0;
cleanup:
	cs_buf_free(&lines.text);
	return rc;
}

/* A recomputation that stops on the data (exit 3): one failed check, why, and
 * the settle runs that changed since the run. */
static int dist_report_stopped(cs_db *db, findings *f, const cs_stored_run *run,
			       const cs_error *run_err, cs_error *err)
{
	check(f, 0, "the run cannot be recomputed from the current database",
	      "the run can be recomputed from the current database");
	note(f, "%s", run_err->message);
	if (run_err->detail[0])
		note(f, "%s", run_err->detail);
	return dist_settle_runs(db, f, run, err);
}

/* The recomputed input hash, with the settle runs that changed since the
 * run when it differs. */
static int dist_check_input(cs_db *db, findings *f, const cs_stored_run *run,
			    const cs_run_result *res, cs_error *err)
{
	if (check(f, strcmp(res->input_hash, run->input_sha256) == 0,
		  "the input changed since the run (the recomputed input differs from input_sha256)",
		  "recomputed input matches input_sha256"))
		return 0;
	note(f, "input_sha256 %s, recomputed %s", run->input_sha256, res->input_hash);
	note(f, "the recomputation uses the settle runs committed now; the run used those "
		"committed when it was made");
	return dist_settle_runs(db, f, run, err);
}

/* Stored figures, steps and member allocations against the recomputed
 * statement. */
static int dist_compare_figures(cs_db *db, findings *f, const char *id, const cs_run_result *res,
				cs_error *err)
{
	const char *params[2] = {id, res->statement.data};
	diff_list figures;
	int rc = -1;

	diff_init(&figures);
	if (diff_query(db, &figures,
		       "SELECT 'currency ' || n.key, f.k, f.s, f.n, count(*) OVER ()"
		       " FROM coopsettle.runs r CROSS JOIN LATERAL"
		       " pg_catalog.jsonb_each($2::jsonb->'currencies') n"
		       " CROSS JOIN LATERAL (VALUES"
		       " ('fee_income_minor', r.statement::jsonb #>> ARRAY['currencies', n.key,"
		       " 'fee_income_minor'], n.value->>'fee_income_minor'),"
		       " ('costs_minor', r.statement::jsonb #>> ARRAY['currencies', n.key,"
		       " 'costs_minor'], n.value->>'costs_minor'),"
		       " ('surplus_minor', r.statement::jsonb #>> ARRAY['currencies', n.key,"
		       " 'surplus_minor'], n.value->>'surplus_minor'),"
		       " ('retained_surplus_minor', r.statement::jsonb #>> ARRAY['currencies', n.key,"
		       " 'retained_surplus_minor'], n.value->>'retained_surplus_minor')) f(k, s, n)"
		       " WHERE r.id = $1::bigint AND f.s IS DISTINCT FROM f.n ORDER BY 1, 2 LIMIT 20",
		       2, params, err) < 0 ||
	    diff_query(db, &figures,
		       "SELECT 'step ' || coalesce(s.currency, n.cur) || ' '"
		       " || coalesce(s.step_id, n.id), 'amount_minor', s.amount_minor::text, n.amt,"
		       " count(*) OVER ()"
		       " FROM (SELECT * FROM coopsettle.distribution_steps WHERE run_id = $1::bigint) s"
		       " FULL JOIN (SELECT c.key cur, e.o::integer o, e.v->>'id' id,"
		       " e.v->>'amount_minor' amt FROM pg_catalog.jsonb_each($2::jsonb->'currencies') c"
		       " CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(c.value->'steps')"
		       " WITH ORDINALITY e(v, o)) n ON n.cur = s.currency AND n.o = s.ordinal"
		       " WHERE s.amount_minor::text IS DISTINCT FROM n.amt"
		       " OR s.step_id IS DISTINCT FROM n.id ORDER BY 1 LIMIT 20",
		       2, params, err) < 0 ||
	    diff_query(db, &figures,
		       "SELECT 'member ' || coalesce(s.member_id::text, n.id) || ' '"
		       " || coalesce(s.currency, n.cur), f.k, coalesce(f.s, '0'), coalesce(f.n, '0'),"
		       " count(*) OVER ()"
		       " FROM (SELECT * FROM coopsettle.member_allocations WHERE run_id = $1::bigint) s"
		       " FULL JOIN (SELECT e->>'id' id, e->>'currency' cur,"
		       " e->>'capital_interest_minor' ci, e->>'patronage_minor' pat,"
		       " e->>'cash_minor' cash, e->>'retained_minor' ret,"
		       " e->>'patronage_basis_minor' basis, e->>'withheld_minor' wh"
		       " FROM pg_catalog.jsonb_array_elements($2::jsonb->'members') e) n"
		       " ON n.id = s.member_id::text AND n.cur = s.currency"
		       " CROSS JOIN LATERAL (VALUES"
		       " ('row', CASE WHEN s.run_id IS NULL THEN 'missing' ELSE 'stored' END,"
		       " CASE WHEN n.id IS NULL THEN 'none' ELSE 'stored' END),"
		       " ('capital_interest_minor', s.capital_interest_minor::text, n.ci),"
		       " ('patronage_minor', s.patronage_minor::text, n.pat),"
		       " ('cash_minor', s.cash_minor::text, n.cash),"
		       " ('retained_minor', s.retained_minor::text, n.ret),"
		       " ('patronage_basis_minor', s.patronage_basis_minor::text, n.basis),"
		       " ('withheld_minor', s.withheld_minor::text, n.wh)) f(k, s, n)"
		       " WHERE coalesce(f.s, '0') <> coalesce(f.n, '0')"
		       " ORDER BY 1, 2 LIMIT 20",
		       2, params, err) < 0)
		goto cleanup;
	if (!check(f, figures.count == 0,
		   "stored figures, steps or member allocations differ from the recomputation",
		   "stored figures, steps and member allocations equal the recomputation"))
		diff_notes(f, &figures, "figures that differ");
	rc = 0;
cleanup:
	cs_buf_free(&figures.text);
	return rc;
}

/* A distribute run: its stored rows, then a recomputation from the settle
 * runs committed now, compared by hash and figure by figure. */
/* Stage 1 for a distribute run of config version 2: recomputed from its
 * own snapshots (memberships, capital, member business of the settle runs
 * and the retained patronage of the distribute runs committed when it was
 * made, its costs), compared with its record and stored rows. */
static int dist_reproduce(cs_db *db, findings *f, const cs_stored_run *run,
			  const cs_config *cfg, const cs_window *w, const char *conninfo,
			  const char *id, cs_error *err)
{
	cs_stored_dist sd;
	cs_run_opts ro;
	cs_run_result res;
	int rc = -1;

	f->stage = STAGE_REPRODUCE;
	cs_run_result_init(&res);
	if (cs_stored_dist_load(db, cfg, run, w, &sd, err) < 0)
		goto cleanup;
	dry_run_opts(&ro, conninfo, cfg, w, run->id);
	if (cs_run_distribute_from(&ro, &sd.in, &res, err) < 0)
		goto cleanup;
	if (!check(f, strcmp(res.input_hash, run->input_sha256) == 0,
		   "the run's snapshots do not hash to input_sha256 (a snapshot was changed)",
		   "the run's snapshots hash to input_sha256"))
		note(f, "input_sha256 %s, the snapshots hash to %s", run->input_sha256,
		     res.input_hash);
	if (!check(f, strcmp(res.output_hash, run->output_sha256) == 0,
		   "the recomputation from the run's snapshots differs from output_sha256",
		   "the run reproduces from its snapshots: the recomputation hashes to "
		   "output_sha256"))
		note(f, "output_sha256 %s, recomputed from the snapshots %s", run->output_sha256,
		     res.output_hash);
	check_statement(f, run, &res);
	if (dist_compare_figures(db, f, id, &res, err) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	cs_stored_dist_free(&sd);
	cs_run_result_free(&res);
	return rc;
}

/* Config version 2: the rows of table (run id's snapshot of source rel, as
 * SQL in now_sql over the same columns) that differ from today's. */
static int rows_drift(cs_db *db, diff_list *d, const char *what, const char *snap_sql,
		      const char *now_sql, int n_params, const char *const *params, cs_error *err)
{
	cs_buf sql;
	cs_db_rows rows;
	size_t i;
	int rc;

	cs_buf_init(&sql);
	cs_buf_printf(&sql,
		      "WITH snap AS (%s), now AS (%s),"
		      " d AS ((SELECT 'in the run''s snapshot, not in the source now' AS what, *"
		      " FROM (SELECT * FROM snap EXCEPT ALL SELECT * FROM now) a)"
		      " UNION ALL (SELECT 'in the source now, not in the run''s snapshot', *"
		      " FROM (SELECT * FROM now EXCEPT ALL SELECT * FROM snap) b))"
		      " SELECT (SELECT pg_catalog.string_agg(e.key || ' ' || coalesce(e.value, 'NULL'),"
		      " ', ' ORDER BY e.o) FROM pg_catalog.jsonb_each_text("
		      " pg_catalog.to_jsonb(d) - 'what') WITH ORDINALITY e(key, value, o))"
		      " || ': ' || d.what, count(*) OVER () FROM d ORDER BY 1 LIMIT 20",
		      snap_sql, now_sql);
	rc = cs_db_query(db, sql.data, n_params, params, &rows, err);
	cs_buf_free(&sql);
	if (rc < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++)
		diff_add(d, "%s %s", what, nz(cs_db_cell(&rows, i, 0)));
	if (rows.n_rows) {
		int64_t total = 0;

		if (cs_db_cell_i64(&rows, 0, 1, &total) == 0 && total > (int64_t)rows.n_rows)
			d->count += total - (int64_t)rows.n_rows;
	}
	cs_db_rows_free(&rows);
	return 0;
}

/* Stage 2, capital: the capital rows of the run's members up to its last
 * day now, against its snapshot (params: run id, last day). Without a
 * capital_interest step the run read no capital: nothing to compare. */
static int capital_drift(cs_db *db, findings *f, diff_list *drift, const cs_config *cfg,
			 const char *const params[2], cs_error *err)
{
	char *cap;
	cs_buf now;
	int rc;

	if (!cs_config_has_step(cfg, CS_STEP_CAPITAL_INTEREST))
		return 0;
	cap = cs_source_relation_sql(db, &cfg->source_capital, err);
	if (!cap)
		return -1;
	cs_buf_init(&now);
	cs_buf_printf(&now,
		      "SELECT c.member_id::bigint, c.booked_on::date, c.amount_minor::bigint FROM %s c"
		      " WHERE c.booked_on::date <= $2::date AND c.member_id::bigint IN"
		      " (SELECT member_id FROM coopsettle.run_memberships WHERE run_id = $1::bigint)",
		      cap);
	rc = rows_drift(db, drift, "capital",
			"SELECT member_id, booked_on, amount_minor FROM coopsettle.run_capital"
			" WHERE run_id = $1::bigint",
			now.data, 2, params, err);
	if (rc == 0)
		diff_notes(f, drift, "capital movements changed since the run");
	cs_buf_reset(&drift->text);
	drift->count = 0;
	cs_buf_free(&now);
	free(cap);
	return rc;
}

/* Stage 2 for a distribute run of config version 2: what drifted since,
 * named by kind -- settle runs, memberships, capital, costs, and the
 * distribute runs whose retained patronage counted. */
static int dist_drift(cs_db *db, findings *f, const cs_stored_run *run, const cs_config *cfg,
		      const cs_window *w, const char *id, const cs_run_result *res,
		      cs_error *err)
{
	diff_list drift;
	char *costs_rel = NULL, last[16];
	int64_t first_day, end_day;
	const char *params[2] = {id, last};
	cs_buf snap, now;
	int rc = -1;

	f->stage = STAGE_INPUTS;
	if (check(f, strcmp(res->input_hash, run->input_sha256) == 0,
		  "the inputs changed since the run (the recomputed input differs from "
		  "input_sha256)",
		  "the inputs are unchanged since the run"))
		return 0;
	note(f, "input_sha256 %s, recomputed now %s", run->input_sha256, res->input_hash);
	diff_init(&drift);
	cs_buf_init(&snap);
	cs_buf_init(&now);
	cs_window_local_days(w, &first_day, &end_day);
	cs_day_text(last, sizeof(last), end_day - 1);
	if (dist_settle_runs(db, f, run, err) < 0 ||
	    membership_drift(db, &drift, cfg, id, first_day, end_day, 0, err) < 0)
		goto cleanup;
	diff_notes(f, &drift, "memberships changed since the run");
	cs_buf_reset(&drift.text);
	drift.count = 0;
	if (capital_drift(db, f, &drift, cfg, params, err) < 0)
		goto cleanup;
	if (cfg->costs_from_relation) {
		costs_rel = cs_source_relation_sql(db, &cfg->costs_relation, err);
		if (!costs_rel)
			goto cleanup;
		cs_buf_reset(&now);
		cs_buf_printf(&now,
			      "SELECT c.booked_on::date, c.currency::text, c.amount_minor::bigint"
			      " FROM %s c, coopsettle.runs r WHERE r.id = $1::bigint"
			      " AND c.booked_on::date >= r.window_from::date"
			      " AND c.booked_on::date <= $2::date",
			      costs_rel);
		if (rows_drift(db, &drift, "cost",
			       "SELECT booked_on, currency, amount_minor FROM coopsettle.run_costs"
			       " WHERE run_id = $1::bigint",
			       now.data, 2, params, err) < 0)
			goto cleanup;
		diff_notes(f, &drift, "operating costs changed since the run");
	}
	rc = 0;
cleanup:
	free(costs_rel);
	cs_buf_free(&snap);
	cs_buf_free(&now);
	cs_buf_free(&drift.text);
	return rc;
}

static int verify_distribute(cs_db *db, findings *f, const cs_stored_run *run,
			     const cs_config *cfg, const cs_window *w, const char *conninfo,
			     cs_error *err)
{
	char id[24];
	cs_run_opts ro;
	cs_run_result res;
	cs_error run_err;
	int rc = -1, ran;

	cs_run_result_init(&res);
	snprintf(id, sizeof(id), "%lld", (long long)run->id);
	if (dist_check_stored(db, f, run, cfg, id, err) < 0)
		goto cleanup;
	if (cfg->version >= 2 && dist_reproduce(db, f, run, cfg, w, conninfo, id, err) < 0)
		goto cleanup;
	dry_run_opts(&ro, conninfo, cfg, w, run->id);
	cs_error_clear(&run_err);
	ran = cs_run_distribute(&ro, &res, &run_err) == 0;
	if (!ran && run_err.exit_code != CS_EXIT_DATA) {
		*err = run_err;
		goto cleanup;
	}
	if (!ran) {
		f->stage = STAGE_INPUTS;
		rc = dist_report_stopped(db, f, run, &run_err, err);
		goto cleanup;
	}
	if (cfg->version >= 2) { /* stage 2: today's sources against the snapshots */
		rc = dist_drift(db, f, run, cfg, w, id, &res, err);
		goto cleanup;
	}
	/* version 1 keeps no snapshot of its members: with the input changed,
	 * the output's differences follow from the inputs (drift); with it
	 * unchanged, they are the run's own (it does not reproduce) */
	f->stage = STAGE_INPUTS;
	if (dist_check_input(db, f, run, &res, err) < 0)
		goto cleanup;
	f->stage = strcmp(res.input_hash, run->input_sha256) == 0 ? STAGE_REPRODUCE : STAGE_INPUTS;
	check_output_hash(f, run, &res);
	check_statement(f, run, &res);
	if (dist_compare_figures(db, f, id, &res, err) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	cs_run_result_free(&res);
	return rc;
}

/* ---- verify --run ---- */

static void findings_init(findings *f, cs_buf *report)
{
	memset(f, 0, sizeof(*f));
	f->report = report;
	cs_buf_init(&f->failed);
	cs_buf_init(&f->json);
	cs_json_init(&f->j, &f->json);
	cs_json_object_begin(&f->j);
	cs_json_key(&f->j, "checks");
	cs_json_array_begin(&f->j);
}

/* Ends the JSON of the findings with the verdict: what (run_id, or 0 for
 * the chain), whether it verifies, and the kind of failure. Replaces the
 * report with it when json is set. */
static void findings_finish(findings *f, int64_t run_id, int json)
{
	const char *kind = !f->n_failed ? NULL : f->n_failed > f->n_drift ? "does_not_reproduce"
									    : "inputs_changed";

	json_close_check(f);
	cs_json_array_end(&f->j);
	cs_json_key(&f->j, run_id ? "run_id" : "chain");
	if (run_id)
		cs_json_int(&f->j, run_id);
	else
		cs_json_bool(&f->j, 1);
	cs_json_key(&f->j, "verifies");
	cs_json_bool(&f->j, f->n_failed == 0);
	cs_json_key(&f->j, "kind");
	if (kind)
		cs_json_string(&f->j, kind);
	else
		cs_json_null(&f->j);
	cs_json_key(&f->j, "failed_checks");
	cs_json_int(&f->j, f->n_failed);
	cs_json_object_end(&f->j);
	cs_buf_putc(&f->json, '\n');
	if (json) {
		cs_buf_reset(f->report);
		cs_buf_put(f->report, f->json.data, f->json.len);
	}
}

static void findings_free(findings *f)
{
	cs_buf_free(&f->failed);
	cs_buf_free(&f->json);
}

int cs_verify_run(const char *conninfo, int64_t run_id, int json, cs_buf *report, cs_error *err)
{
	cs_db *db = NULL;
	cs_stored_run run;
	cs_config *cfg = NULL;
	cs_window w;
	findings f;
	int rc = -1, loaded = 0;

	findings_init(&f, report);
	db = cs_stored_connect(conninfo, err);
	if (!db || cs_stored_run_load(db, run_id, &run, err) < 0)
		goto cleanup;
	loaded = 1;
	if (cs_stored_run_config(&run, &cfg, &w, err) < 0) {
		char hex[65];

		/* a config that no longer loads may have been edited */
		cs_sha256_hex(run.config_text, run.config_len, hex);
		if (strcmp(hex, run.config_sha256) != 0) {
			cs_error_set(err, CS_EXIT_VERIFY,
				     "run %lld does not verify: its stored config text was changed",
				     (long long)run_id);
			cs_error_detail(err, "config_sha256 %s, the stored text hashes to %s",
					run.config_sha256, hex);
		}
		goto cleanup;
	}
	cs_buf_printf(report, "verify %s run %lld [%s, %s), %s%s", run.kind, (long long)run.id,
		      w.from_text, w.to_text, run.status,
		      run.superseded_by ? " by run " : "");
	if (run.superseded_by)
		cs_buf_printf(report, "%lld", (long long)run.superseded_by);
	cs_buf_printf(report, ", engine %s (this engine %s)\n", run.engine_version,
		      CS_VERSION);
	if (run.actor) /* schema version 6 and later: who made the run, and why */
		cs_buf_printf(report, "made by %s%s%s\n", run.actor,
			      run.reason ? ", reason: " : "", run.reason ? run.reason : "");
	if (cs_stored_begin(db, cfg, err) < 0 || check_record(db, &f, &run, &w, err) < 0)
		goto cleanup;
	if (strcmp(run.kind, "settle") == 0) {
		if (verify_settle(db, &f, &run, cfg, &w, conninfo, err) < 0)
			goto cleanup;
	} else if (verify_distribute(db, &f, &run, cfg, &w, conninfo, err) < 0) {
		goto cleanup;
	}
	if (f.n_failed > f.n_drift) {
		/* the run itself: its stored rows, or its recomputation from its own
		 * snapshots, differ from its record */
		cs_buf_printf(report, "run %lld does not reproduce (%d check%s failed)\n",
			      (long long)run_id, f.n_failed, f.n_failed == 1 ? "" : "s");
		cs_error_set(err, CS_EXIT_VERIFY, "run %lld does not verify: %s", (long long)run_id,
			     f.first_broken);
		cs_error_detail(err, "%s", f.failed.data);
		cs_error_hint(err, "The run's stored rows or snapshots were changed after it, or this "
				   "engine computes differently; the report on stdout names what "
				   "differs (docs/auditing.md).");
	} else if (f.n_failed) {
		cs_buf_printf(report,
			      "run %lld reproduces from its snapshots, but the inputs changed since "
			      "run %lld (%d check%s failed)\n",
			      (long long)run_id, (long long)run_id, f.n_failed, f.n_failed == 1 ? "" : "s");
		cs_error_set(err, CS_EXIT_VERIFY, "run %lld does not verify: %s", (long long)run_id,
			     f.first);
		cs_error_detail(err, "%s", f.failed.data);
		cs_error_hint(err, "The run is intact; its inputs were changed since. Re-run its window "
				   "with --supersede to book a correction (docs/auditing.md).");
	} else {
		cs_buf_printf(report, "run %lld verifies\n", (long long)run_id);
		rc = 0;
	}
	findings_finish(&f, run_id, json);
cleanup:
	if (loaded)
		cs_stored_run_free(&run);
	cs_config_free(cfg);
	cs_db_close(db);
	findings_free(&f);
	return rc;
}

/* ---- verify --chain ---- */

/* An ISO 8601 time with offset as the engine writes window texts, as an
 * SQL string literal for `~`. */
#define CS_ISO_TIME_RE \
	"'^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,6})?[+-][0-9]{2}:[0-9]{2}$'"

static void chain_bad(findings *f, int64_t id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void chain_bad(findings *f, int64_t id, const char *fmt, ...)
{
	va_list ap;
	char what[512];

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!f->first_run || id < f->first_run)
		f->first_run = id;
	cs_text_clean(what, strlen(what), 0);
	if (f->n_failed < 200) {
		cs_buf_printf(f->report, "  %-9s run %lld: %s\n", "MISMATCH", (long long)id, what);
		json_open_check(f, 0, what, id);
	}
	if (f->n_failed < CS_VERIFY_LISTED_MAX)
		cs_buf_printf(&f->failed, "%srun %lld: %s", f->failed.len ? "\n" : "", (long long)id,
			      what);
	f->n_failed++;
}

/* The chain as read so far: how many records, and the last one. */
typedef struct chain_pos {
	int64_t n_runs;
	int64_t prev_id; /* 0 before the first record */
	char prev_hash[65];
} chain_pos;

/* One record of the chain: its hash, its link to the record before it, its
 * config hash and its status. */
static void chain_check_record(findings *f, const cs_stored_run *run, const chain_pos *p)
{
	char hex[65];

	if (cs_stored_run_record_check(run, hex) == 0)
		chain_bad(f, run->id,
			  "the record does not hash to its record_sha256 (a field was "
			  "changed): stored %s, the fields hash to %s",
			  run->record_sha256, hex);
	if (p->n_runs == 1 && run->has_prev)
		chain_bad(f, run->id,
			  "the first record links to a previous record %s that does not exist "
			  "(a run before it was deleted)",
			  run->prev_record_sha256);
	else if (p->prev_id &&
		 (!run->has_prev || strcmp(run->prev_record_sha256, p->prev_hash) != 0))
		chain_bad(f, run->id,
			  "prev_record_sha256 %s is not the record_sha256 of run %lld (%s): "
			  "a run between them was deleted, or one of them was changed",
			  run->has_prev ? run->prev_record_sha256 : "NULL", (long long)p->prev_id,
			  p->prev_hash);
	cs_sha256_hex(run->config_text, run->config_len, hex);
	if (strcmp(hex, run->config_sha256) != 0)
		chain_bad(f, run->id, "the stored config text does not hash to config_sha256");
	if ((strcmp(run->status, "superseded") == 0) != (run->superseded_by != 0))
		chain_bad(f, run->id, "status '%s' but %s", run->status,
			  run->superseded_by ? "a later run supersedes it"
					     : "no run supersedes it");
}

/* Reads every run record in id order and checks each against the one
 * before it; p ends at the head of the chain. */
static int chain_check_records(cs_db *db, findings *f, chain_pos *p, cs_error *err)
{
	cs_cursor c;
	int64_t id;
	int step;

	if (cs_cursor_open(&c, db, "cs_chain",
			   "SELECT " CS_STORED_RUN_COLUMNS " FROM coopsettle.runs r ORDER BY r.id", 0,
			   NULL, err) < 0)
		return -1;
	cs_buf_puts(f->report, "verify the chain of run records\n");
	while ((step = cs_cursor_next(&c, err)) == 1) {
		cs_stored_run run;

		p->n_runs++;
		if (cs_stored_run_from_row(&c.rows, c.row, &run) < 0) {
			if (cs_parse_i64(cs_cursor_cell(&c, 0), &id) < 0)
				id = p->prev_id + 1;
			chain_bad(f, id, "the record has a malformed field");
			cs_stored_run_free(&run);
			continue;
		}
		chain_check_record(f, &run, p);
		p->prev_id = run.id;
		snprintf(p->prev_hash, sizeof(p->prev_hash), "%s", run.record_sha256);
		cs_stored_run_free(&run);
	}
	cs_cursor_close(&c);
	return step < 0 ? -1 : 0;
}

/* Every run's lines balance and are as many as its record says, and no
 * rows are stored for a run record that does not exist. */
static int chain_check_rows(cs_db *db, findings *f, cs_error *err)
{
	cs_db_rows rows;
	int64_t id;
	size_t i;

	if (cs_db_query(db,
			"SELECT run_id, entry, currency, sum(amount_minor)::text"
			" FROM coopsettle.ledger_lines GROUP BY 1, 2, 3"
			" HAVING sum(amount_minor) <> 0 ORDER BY 1, 2, 3",
			0, NULL, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++)
		if (cs_db_cell_i64(&rows, i, 0, &id) == 0)
			chain_bad(f, id, "its %s ledger lines in %s sum to %s, not zero",
				  nz(cs_db_cell(&rows, i, 1)), nz(cs_db_cell(&rows, i, 2)),
				  nz(cs_db_cell(&rows, i, 3)));
	cs_db_rows_free(&rows);
	if (cs_db_query(db,
			"SELECT r.id, r.line_count, coalesce(n.n, 0) FROM coopsettle.runs r"
			" LEFT JOIN (SELECT run_id, count(*) n FROM coopsettle.ledger_lines"
			" WHERE entry = 'post' GROUP BY run_id) n ON n.run_id = r.id"
			" WHERE r.line_count <> coalesce(n.n, 0) ORDER BY r.id",
			0, NULL, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++)
		if (cs_db_cell_i64(&rows, i, 0, &id) == 0)
			chain_bad(f, id, "%s posted lines stored, the record says %s",
				  nz(cs_db_cell(&rows, i, 2)), nz(cs_db_cell(&rows, i, 1)));
	cs_db_rows_free(&rows);
	/* the window's timestamps and texts name the instants the covered
	 * microseconds name (the texts' exact form: verify --run) */
	if (cs_db_query(db,
			"SELECT id FROM coopsettle.runs WHERE NOT coalesce("
			" window_from = 'epoch'::timestamptz + window_from_us * interval '1 microsecond'"
			" AND window_to = 'epoch'::timestamptz + window_to_us * interval '1 microsecond'"
			" AND CASE WHEN window_from_text ~ " CS_ISO_TIME_RE " AND window_to_text ~ "
			CS_ISO_TIME_RE " THEN window_from_text::timestamptz = window_from"
			" AND window_to_text::timestamptz = window_to ELSE false END, false) ORDER BY id",
			0, NULL, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++)
		if (cs_db_cell_i64(&rows, i, 0, &id) == 0)
			chain_bad(f, id, "its window columns disagree with window_from_us and "
					 "window_to_us");
	cs_db_rows_free(&rows);
	/* the input snapshot's chunks number its rows 1..n, their arrays alike */
	if (cs_db_query(db,
			"SELECT DISTINCT run_id FROM (SELECT run_id, first_ordinal, coalesce(pg_catalog.lag("
			"first_ordinal + pg_catalog.cardinality(transaction_id)) OVER (PARTITION BY run_id"
			" ORDER BY first_ordinal), 1) AS expected, pg_catalog.cardinality(transaction_id)"
			" AS n, ARRAY[pg_catalog.cardinality(occurred_at_us),"
			" pg_catalog.cardinality(producer_id), pg_catalog.cardinality(consumer_id),"
			" pg_catalog.cardinality(amount_minor), pg_catalog.cardinality(currency),"
			" pg_catalog.cardinality(category), pg_catalog.cardinality(producer_member),"
			" pg_catalog.cardinality(consumer_member)] AS others"
			" FROM coopsettle.run_input_chunks) c"
			" WHERE first_ordinal <> expected OR NOT (n = ALL (others)) ORDER BY 1",
			0, NULL, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++)
		if (cs_db_cell_i64(&rows, i, 0, &id) == 0)
			chain_bad(f, id, "its input snapshot's chunks do not number its rows 1 to n "
					 "(a chunk was edited)");
	cs_db_rows_free(&rows);
	if (cs_db_query(db,
			"SELECT t.run_id, t.what FROM (SELECT DISTINCT run_id, 'ledger lines' what"
			" FROM coopsettle.ledger_lines UNION SELECT DISTINCT run_id, 'input snapshot'"
			" FROM coopsettle.run_input_chunks UNION SELECT DISTINCT run_id, 'party totals'"
			" FROM coopsettle.party_totals UNION SELECT DISTINCT run_id, 'member allocations'"
			" FROM coopsettle.member_allocations UNION SELECT DISTINCT run_id,"
			" 'membership snapshots' FROM coopsettle.run_memberships UNION SELECT DISTINCT"
			" run_id, 'capital snapshots' FROM coopsettle.run_capital UNION SELECT DISTINCT"
			" run_id, 'cost snapshots' FROM coopsettle.run_costs) t WHERE NOT EXISTS"
			" (SELECT 1 FROM coopsettle.runs r WHERE r.id = t.run_id) ORDER BY 1, 2",
			0, NULL, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++)
		if (cs_db_cell_i64(&rows, i, 0, &id) == 0)
			chain_bad(f, id, "%s are stored for a run record that does not exist (deleted)",
				  nz(cs_db_cell(&rows, i, 1)));
	cs_db_rows_free(&rows);
	return 0;
}

/* The verdict: the problems found (err filled, -1), or the head of a chain
 * that verifies. */
static int chain_report(findings *f, const chain_pos *p, cs_error *err)
{
	if (f->n_failed) {
		cs_buf_printf(f->report,
			      "the chain of %lld run record%s does NOT verify (%d problem%s)\n",
			      (long long)p->n_runs, p->n_runs == 1 ? "" : "s", f->n_failed,
			      f->n_failed == 1 ? "" : "s");
		cs_error_set(err, CS_EXIT_VERIFY, "the run chain does not verify: first bad run %lld",
			     (long long)f->first_run);
		cs_error_detail(err, "%s", f->failed.data);
		cs_error_hint(err, "Run 'coopsettle verify --run %lld' for the details of that run; "
				   "docs/auditing.md says what each problem means.",
			      (long long)f->first_run);
		return -1;
	}
	cs_buf_printf(f->report,
		      "  %-9s %lld run record%s hash to their record_sha256 and link in order\n"
		      "  %-9s every run's ledger lines sum to zero and number its line_count\n",
		      "ok", (long long)p->n_runs, p->n_runs == 1 ? "" : "s", "ok");
	if (p->n_runs)
		cs_buf_printf(f->report,
			      "the chain verifies; its head is run %lld, record_sha256 %s\n"
			      "(keep the head hash: a deleted last run shows only against it)\n",
			      (long long)p->prev_id, p->prev_hash);
	else
		cs_buf_puts(f->report, "the chain verifies; there are no runs\n");
	return 0;
}

int cs_verify_chain(const char *conninfo, int json, cs_buf *report, cs_error *err)
{
	cs_db *db = NULL;
	findings f;
	chain_pos p;
	int rc = -1;

	memset(&p, 0, sizeof(p));
	findings_init(&f, report);
	db = cs_stored_connect(conninfo, err);
	if (!db || cs_stored_begin(db, NULL, err) < 0 || chain_check_records(db, &f, &p, err) < 0 ||
	    chain_check_rows(db, &f, err) < 0)
		goto cleanup;
	rc = chain_report(&f, &p, err);
	findings_finish(&f, 0, json);
cleanup:
	cs_db_close(db);
	findings_free(&f);
	return rc;
}
