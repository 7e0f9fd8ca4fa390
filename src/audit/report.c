/*
 * report.c -- `coopsettle report` (see report.h): the figures of the runs
 * whose windows lie in a period, read in one REPEATABLE READ, READ ONLY
 * transaction; the verdict of `verify --run` on each of those runs; the page
 * (report_html.c), written under a temporary name and renamed into place.
 *
 * What counts (docs/report.md): the committed runs whose windows lie inside
 * the period. A superseded run and the reversal lines of the run that
 * superseded it cancel each other, so the figures are the committed runs'
 * posted lines and rows only; superseded runs are listed with the runs and
 * verified, never counted.
 */
#include "coopsettle/report.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coopsettle/alloc.h"
#include "coopsettle/amount.h"
#include "coopsettle/bookkeeping.h"
#include "coopsettle/config_load.h"
#include "coopsettle/report_html.h"
#include "coopsettle/stored.h"
#include "coopsettle/util.h"
#include "coopsettle/verify.h"
#include "coopsettle/window.h"

#ifndef CS_VERSION
#define CS_VERSION "0.0.0"
#endif

/* Currencies a report can show: those of every run's config together. */
#define REPORT_CURRENCIES_MAX (4 * CS_CURRENCIES_MAX)

/* A run of the period with what the report keeps of it. */
typedef struct rrun {
	cs_stored_run run;
	cs_config *cfg; /* its stored config */
	cs_window w;	/* its window */
	char first_day[16], last_day[16];
	int64_t last_local_day;
	int counted;   /* committed: its figures are in the page */
	char why[512]; /* verify's first finding */
} rrun;

/* A waterfall with the storage of its labels. */
typedef struct rfall {
	cs_report_fall f;
	char labels[CS_REPORT_BARS_MAX][CS_NAME_BYTES_MAX + 32];
} rfall;

typedef struct rcur {
	cs_report_currency c;
	char code[16];
} rcur;

typedef struct report_ctx {
	const cs_report_opts *o;
	cs_db *db;
	cs_config *own_cfg;
	const char *tz, *cooperative;
	cs_window w;
	int64_t first_day, end_day, now_us;
	char first_text[16], last_text[16], made_at[64];
	rrun *runs;
	size_t n_runs;
	size_t n_settle, n_distribute, n_overlapping;
	rcur *curs[REPORT_CURRENCIES_MAX];
	size_t n_curs;
	int64_t first_month;
	size_t n_months;
	rfall **falls;
	size_t n_falls;
	cs_report_classes *classes;
	size_t n_classes;
} report_ctx;

static void day_text(char *buf, size_t size, int64_t day)
{
	int64_t y;
	unsigned m, d;

	cs_civil_from_days(day, &y, &m, &d);
	snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, m, d);
}

static int64_t month_of_day(int64_t day)
{
	int64_t y;
	unsigned m, d;

	cs_civil_from_days(day, &y, &m, &d);
	return y * 12 + (int64_t)m - 1;
}

/* The currency code, with the exponent of the config that names it; the
 * first config that names a code gives its exponent. Returns NULL when the
 * page's bound on currencies is reached. */
static rcur *currency(report_ctx *x, const char *code, unsigned exponent)
{
	size_t i;
	rcur *c;

	for (i = 0; i < x->n_curs; i++)
		if (strcmp(x->curs[i]->code, code) == 0)
			return x->curs[i];
	if (x->n_curs == REPORT_CURRENCIES_MAX || strlen(code) >= sizeof(c->code))
		return NULL;
	c = calloc(1, sizeof(*c));
	CS_ASSERT(c != NULL);
	snprintf(c->code, sizeof(c->code), "%s", code);
	c->c.code = c->code;
	c->c.exponent = exponent;
	c->c.month_minor = calloc(x->n_months, sizeof(cs_i128));
	CS_ASSERT(c->c.month_minor != NULL);
	x->curs[x->n_curs++] = c;
	return c;
}

/* The currency of a run's config named code; NULL (err filled) when the
 * config does not list it (a stored row the run cannot have written). */
static rcur *run_currency(report_ctx *x, const char *code, const rrun *r, cs_error *err)
{
	int k = code ? cs_config_currency_index(r->cfg, code, strlen(code)) : -1;
	rcur *c;

	if (k < 0) {
		cs_error_set(err, CS_EXIT_VERIFY,
			     "run %lld has a row in currency '%s', which its config does not list",
			     (long long)r->run.id, code ? cs_text_shown(code) : "NULL");
		cs_error_hint(err, "A stored row was changed: verify --run names it.");
		return NULL;
	}
	c = currency(x, code, r->cfg->currencies[k].exponent);
	if (!c)
		cs_error_set(err, CS_EXIT_USAGE,
			     "the runs of the period have more than %d currencies",
			     REPORT_CURRENCIES_MAX);
	return c;
}

static int parse_minor(const char *text, cs_i128 *out, int64_t run_id, cs_error *err)
{
	if (text && cs_amount_parse(text, out) == 0)
		return 0;
	return cs_error_set(err, CS_EXIT_VERIFY, "run %lld has a malformed amount '%s'",
			    (long long)run_id, text ? cs_text_shown(text) : "NULL");
}

/* ---- the config, the period ---- */

/* --config's time zone and cooperative, else the latest committed run's
 * config's, else UTC and no name. */
static int report_config(report_ctx *x, cs_error *err)
{
	const cs_config *cfg = x->o->cfg;
	cs_config_diag diag;
	cs_db_rows rows;
	const char *text;

	if (!cfg) {
		if (cs_db_query(x->db,
				"SELECT config_text FROM coopsettle.runs WHERE status = 'committed'"
				" ORDER BY id DESC LIMIT 1",
				0, NULL, &rows, err) < 0)
			return -1;
		text = rows.n_rows ? cs_db_cell(&rows, 0, 0) : NULL;
		if (text && cs_config_load_buffer(&x->own_cfg, "config of the latest run", text,
						  strlen(text), &diag) < 0) {
			cs_db_rows_free(&rows);
			cs_error_set(err, CS_EXIT_USAGE,
				     "this engine cannot load the config of the latest committed run");
			cs_error_hint(err, "Pass --config FILE: report takes its time zone and "
					   "cooperative name.");
			return -1;
		}
		cs_db_rows_free(&rows);
		cfg = x->own_cfg;
	}
	x->tz = cfg ? cfg->timezone : "UTC";
	x->cooperative = cfg && cfg->cooperative ? cfg->cooperative : "coopsettle";
	return 0;
}

static int report_window(report_ctx *x, cs_error *err)
{
	const cs_report_opts *o = x->o;

	if (cs_tz_use(x->tz, err) < 0 || cs_run_server_now(x->db, &x->now_us, err) < 0 ||
	    cs_run_window_at(&x->w, o->period, o->from, o->to, x->now_us, err) < 0)
		return -1;
	cs_window_local_days(&x->w, &x->first_day, &x->end_day);
	if (x->end_day <= x->first_day)
		return cs_error_set(err, CS_EXIT_USAGE, "the period [%s, %s) holds no local day",
				    x->w.from_text, x->w.to_text);
	day_text(x->first_text, sizeof(x->first_text), x->first_day);
	day_text(x->last_text, sizeof(x->last_text), x->end_day - 1);
	cs_format_local(x->made_at, sizeof(x->made_at), x->now_us);
	x->first_month = month_of_day(x->first_day);
	x->n_months = (size_t)(month_of_day(x->end_day - 1) - x->first_month + 1);
	if (x->n_months > CS_REPORT_MONTHS_MAX)
		return cs_error_set(err, CS_EXIT_USAGE,
				    "the period spans %zu months; a report shows at most %d",
				    x->n_months, CS_REPORT_MONTHS_MAX);
	return 0;
}

/* ---- the runs ---- */

/* Every run whose window lies in the period, by id, with its config and
 * local days; and the number of committed runs that overlap the period
 * without lying in it. */
static int report_runs(report_ctx *x, cs_error *err)
{
	char from[24], to[24];
	const char *params[2] = {from, to};
	cs_db_rows rows;
	size_t i;

	snprintf(from, sizeof(from), "%lld", (long long)x->w.from_us);
	snprintf(to, sizeof(to), "%lld", (long long)x->w.to_us);
	if (cs_db_query(x->db,
			"SELECT " CS_STORED_RUN_COLUMNS " FROM coopsettle.runs r"
			" WHERE r.window_from_us >= $1::bigint AND r.window_to_us <= $2::bigint"
			" ORDER BY r.id",
			2, params, &rows, err) < 0)
		return -1;
	x->runs = calloc(rows.n_rows + 1, sizeof(*x->runs));
	CS_ASSERT(x->runs != NULL);
	for (i = 0; i < rows.n_rows; i++) {
		rrun *r = &x->runs[i];
		int64_t first, end;

		x->n_runs = i + 1;
		if (cs_stored_run_from_row(&rows, i, &r->run) < 0) {
			cs_db_rows_free(&rows);
			return cs_error_set(err, CS_EXIT_VERIFY,
					    "run record %lld has a malformed field",
					    (long long)r->run.id);
		}
		/* the run's days in its own time zone, as its window was made */
		if (cs_stored_run_config(&r->run, &r->cfg, &r->w, err) < 0) {
			cs_db_rows_free(&rows);
			return -1;
		}
		cs_window_local_days(&r->w, &first, &end);
		day_text(r->first_day, sizeof(r->first_day), first);
		day_text(r->last_day, sizeof(r->last_day), end - 1);
		r->last_local_day = end - 1;
		r->counted = strcmp(r->run.status, "committed") == 0;
		if (r->counted && strcmp(r->run.kind, "settle") == 0)
			x->n_settle++;
		else if (r->counted)
			x->n_distribute++;
	}
	cs_db_rows_free(&rows);
	if (cs_tz_use(x->tz, err) < 0 ||
	    cs_db_query(x->db,
			"SELECT count(*) FROM coopsettle.runs r WHERE r.status = 'committed'"
			" AND r.window_from_us < $2::bigint AND r.window_to_us > $1::bigint"
			" AND NOT (r.window_from_us >= $1::bigint AND r.window_to_us <= $2::bigint)",
			2, params, &rows, err) < 0)
		return -1;
	{
		int64_t n = 0;

		if (cs_db_cell_i64(&rows, 0, 0, &n) < 0 || n < 0) {
			cs_db_rows_free(&rows);
			return cs_error_set(err, CS_EXIT_RUNTIME,
					    "unexpected count from the server");
		}
		x->n_overlapping = (size_t)n;
	}
	cs_db_rows_free(&rows);
	return 0;
}

/* ---- fee income ---- */

/* Settle run r: minus its posted lines on its fee income account, by
 * currency and month of posted_on (a line without one: the run's last
 * local day), and its currency totals' fee income. */
static int settle_figures(report_ctx *x, const rrun *r, cs_error *err)
{
	char id[24], last[16];
	const char *params[3] = {id, r->cfg->accounts[CS_ACCOUNT_FEE_INCOME], last};
	cs_db_rows rows;
	size_t i;

	snprintf(id, sizeof(id), "%lld", (long long)r->run.id);
	day_text(last, sizeof(last), r->last_local_day);
	if (cs_db_query(x->db,
			"SELECT currency, (COALESCE(posted_on, $3::date) - DATE '1970-01-01'),"
			" (-sum(amount_minor))::text FROM coopsettle.ledger_lines"
			" WHERE run_id = $1::bigint AND entry = 'post' AND account = $2"
			" GROUP BY 1, 2 ORDER BY 1, 2",
			3, params, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++) {
		rcur *c = run_currency(x, cs_db_cell(&rows, i, 0), r, err);
		int64_t day, m;
		cs_i128 v;

		if (!c || cs_db_cell_i64(&rows, i, 1, &day) < 0 ||
		    parse_minor(cs_db_cell(&rows, i, 2), &v, r->run.id, err) < 0) {
			cs_db_rows_free(&rows);
			return c ? cs_error_set(err, CS_EXIT_VERIFY,
						"run %lld has a malformed line",
						(long long)r->run.id)
				 : -1;
		}
		/* a settle line is posted on its transaction's day, inside the
		 * run's window; one outside the period counts in its edge month */
		m = month_of_day(day) - x->first_month;
		m = m < 0 ? 0 : m >= (int64_t)x->n_months ? (int64_t)x->n_months - 1 : m;
		c->c.month_minor[m] += v;
	}
	cs_db_rows_free(&rows);
	if (cs_db_query(x->db,
			"SELECT currency, COALESCE(fee_income_minor, fees_minor)::text"
			" FROM coopsettle.currency_totals WHERE run_id = $1::bigint ORDER BY 1",
			1, params, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++) {
		rcur *c = run_currency(x, cs_db_cell(&rows, i, 0), r, err);
		cs_i128 v;

		if (!c || parse_minor(cs_db_cell(&rows, i, 1), &v, r->run.id, err) < 0) {
			cs_db_rows_free(&rows);
			return -1;
		}
		c->c.runs_fee_income_minor += v;
	}
	cs_db_rows_free(&rows);
	return 0;
}

/* ---- waterfalls ---- */

static void bar(rfall *s, const char *label, int total, cs_i128 amount)
{
	cs_report_fall *f = &s->f;

	CS_ASSERT(f->n_bars < CS_REPORT_BARS_MAX);
	snprintf(s->labels[f->n_bars], sizeof(s->labels[0]), "%s", label);
	f->bars[f->n_bars].label = s->labels[f->n_bars];
	f->bars[f->n_bars].total = total;
	f->bars[f->n_bars].amount_minor = amount;
	f->n_bars++;
}

/* The steps (id, amount) or, in a loss year, the loss_cover accounts of
 * the statement of run r in currency code, as change bars; their sum into
 * *sum. */
static int fall_list(report_ctx *x, const rrun *r, const char *code, const char *sql,
		     const char *prefix, rfall *s, cs_i128 *sum, cs_error *err)
{
	char id[24];
	const char *params[2] = {id, code};
	cs_db_rows rows;
	size_t i;

	snprintf(id, sizeof(id), "%lld", (long long)r->run.id);
	if (cs_db_query(x->db, sql, 2, params, &rows, err) < 0)
		return -1;
	*sum = 0;
	for (i = 0; i < rows.n_rows; i++) {
		const char *label = cs_db_cell(&rows, i, 0);
		char text[CS_NAME_BYTES_MAX + 32];
		cs_i128 v;

		if (s->f.n_bars + 3 > CS_REPORT_BARS_MAX || !label ||
		    parse_minor(cs_db_cell(&rows, i, 1), &v, r->run.id, err) < 0) {
			cs_db_rows_free(&rows);
			return cs_error_set(err, CS_EXIT_VERIFY,
					    "run %lld has a malformed statement",
					    (long long)r->run.id);
		}
		snprintf(text, sizeof(text), "%s%s", prefix, cs_text_shown(label));
		bar(s, text, 0, prefix[0] ? v : -v);
		*sum += v;
	}
	cs_db_rows_free(&rows);
	return 0;
}

#define STATEMENT_CURRENCIES       \
	" FROM coopsettle.runs r," \
	" pg_catalog.jsonb_each(r.statement::jsonb->'currencies') c"

/* The bars of s after the surplus, from the statement of run r in
 * currency code, and whether its figures add up. */
static int fall_bars(report_ctx *x, const rrun *r, const char *code, rfall *s, cs_error *err)
{
	cs_report_fall *f = &s->f;
	cs_i128 steps = 0, covers = 0, carried;

	if (f->has_losses && f->surplus_minor < 0) {
		/* a loss year: the loss_cover accounts, then what is carried */
		if (fall_list(x, r, code,
			      "SELECT e->>'account', e->>'amount_minor'" STATEMENT_CURRENCIES ","
			      " pg_catalog.jsonb_array_elements(c.value->'loss_cover')"
			      " WITH ORDINALITY AS s(e, i) WHERE r.id = $1::bigint"
			      " AND c.key = $2 ORDER BY s.i",
			      "covered by ", s, &covers, err) < 0)
			return -1;
		carried = -f->surplus_minor - covers;
		bar(s, "loss carried forward", 0, carried);
		f->adds_up = f->fee_income_minor - f->costs_minor == f->surplus_minor &&
			     carried >= 0 && f->retained_minor == 0 &&
			     f->loss_out_minor == f->loss_in_minor + carried;
		return 0;
	}
	if (f->has_losses && f->loss_covered_minor) {
		bar(s, "loss covered", 0, -f->loss_covered_minor);
		bar(s, "distributable", 1, f->surplus_minor - f->loss_covered_minor);
	}
	if (fall_list(x, r, code,
		      "SELECT e->>'id', e->>'amount_minor'" STATEMENT_CURRENCIES ","
		      " pg_catalog.jsonb_array_elements(c.value->'steps')"
		      " WITH ORDINALITY AS s(e, i) WHERE r.id = $1::bigint AND c.key = $2"
		      " ORDER BY s.i",
		      "", s, &steps, err) < 0)
		return -1;
	bar(s, "retained surplus", 1, f->retained_minor);
	f->adds_up = f->fee_income_minor - f->costs_minor == f->surplus_minor &&
		     (f->surplus_minor <= 0 ? steps == 0 && f->retained_minor == 0
					    : f->surplus_minor - f->loss_covered_minor - steps ==
						      f->retained_minor);
	return 0;
}

/* The waterfalls of distribute run r, one per currency of its statement. */
static int dist_falls(report_ctx *x, const rrun *r, cs_error *err)
{
	char id[24];
	const char *params[1] = {id};
	cs_db_rows rows;
	size_t i, k;
	int v2 = r->cfg->version >= 2, rc = 0;

	snprintf(id, sizeof(id), "%lld", (long long)r->run.id);
	if (cs_db_query(x->db,
			"SELECT c.key, c.value->>'fee_income_minor', c.value->>'costs_minor',"
			" c.value->>'surplus_minor', c.value->>'retained_surplus_minor',"
			" c.value->>'loss_carried_in_minor', c.value->>'loss_covered_minor',"
			" c.value->>'loss_carried_out_minor'" STATEMENT_CURRENCIES
			" WHERE r.id = $1::bigint ORDER BY c.key",
			1, params, &rows, err) < 0)
		return -1;
	x->falls = realloc(x->falls, (x->n_falls + rows.n_rows + 1) * sizeof(*x->falls));
	CS_ASSERT(x->falls != NULL);
	for (i = 0; i < rows.n_rows && rc == 0; i++) {
		rcur *c = run_currency(x, cs_db_cell(&rows, i, 0), r, err);
		cs_i128 figs[7] = {0};
		cs_report_fall *f;
		rfall *s;

		if (!c) {
			rc = -1;
			break;
		}
		for (k = 0; k < (v2 ? 7u : 4u) && rc == 0; k++)
			rc = parse_minor(cs_db_cell(&rows, i, k + 1), &figs[k], r->run.id, err);
		if (rc < 0)
			break;
		s = calloc(1, sizeof(*s));
		CS_ASSERT(s != NULL);
		x->falls[x->n_falls++] = s;
		f = &s->f;
		f->run_id = r->run.id;
		f->first_day = r->first_day;
		f->last_day = r->last_day;
		f->currency = c->code;
		f->exponent = c->c.exponent;
		f->fee_income_minor = figs[0];
		f->costs_minor = figs[1];
		f->surplus_minor = figs[2];
		f->retained_minor = figs[3];
		f->has_losses = v2;
		f->loss_in_minor = figs[4];
		f->loss_covered_minor = figs[5];
		f->loss_out_minor = figs[6];
		bar(s, "fee income", 1, f->fee_income_minor);
		bar(s, "costs", 0, -f->costs_minor);
		bar(s, "surplus", 1, f->surplus_minor);
		rc = fall_bars(x, r, c->code, s, err);
	}
	cs_db_rows_free(&rows);
	return rc;
}

/* ---- refunds per class ---- */

/* The class parts of patronage step st's amount amt, given which of its
 * classes allocate (spec section 6): the step's pool P is split by largest
 * remainder over the classes' shares, and each class with an eligible
 * member pays its whole part, so amt = the sum of those parts. When every
 * class with a share allocates, amt = P and the parts are LR(amt, shares);
 * when one class alone allocates, amt is its part. (A step has at most
 * CS_CLASSES_MAX = 2 classes, so these are all the cases.) */
static void class_parts(const cs_step *st, const int *allocates, cs_i128 amt,
			cs_i128 out[CS_CLASSES_MAX])
{
	cs_alloc_part parts[CS_CLASSES_MAX];
	size_t c, n_alloc = 0, n_share = 0, only = 0;
	mpz_t total;

	memset(out, 0, sizeof(cs_i128) * CS_CLASSES_MAX);
	for (c = 0; c < st->n_classes; c++) {
		if (mpq_sgn(st->class_shares[c]) == 0)
			continue;
		n_share++;
		if (allocates[c]) {
			n_alloc++;
			only = c;
		}
	}
	if (n_alloc == 0 || amt == 0)
		return;
	if (n_alloc == 1 && n_share > 1) {
		out[st->classes[only]] += amt;
		return;
	}
	mpz_init(total);
	cs_i128_to_mpz(total, amt);
	cs_alloc_parts_init(parts, st->n_classes);
	for (c = 0; c < st->n_classes; c++) {
		parts[c].key = (int64_t)c;
		mpq_set(parts[c].weight, st->class_shares[c]);
	}
	CS_ASSERT(cs_alloc_largest_remainder(parts, st->n_classes, total) == 0);
	for (c = 0; c < st->n_classes; c++)
		out[st->classes[c]] += cs_i128_from_mpz(parts[c].part);
	cs_alloc_parts_clear(parts, st->n_classes);
	mpz_clear(total);
}

/* Nonzero when a patronage step of cfg has two classes with a share:
 * only then does the class of a refund need the run's inputs. */
static int needs_inputs(const cs_config *cfg)
{
	size_t s, c, n;

	for (s = 0; s < cfg->n_steps; s++) {
		if (cfg->steps[s].type != CS_STEP_PATRONAGE)
			continue;
		for (c = 0, n = 0; c < cfg->steps[s].n_classes; c++)
			n += mpq_sgn(cfg->steps[s].class_shares[c]) != 0;
		if (n > 1)
			return 1;
	}
	return 0;
}

/* The statement's amount of step st in currency code of run r into *amt
 * (0 when the statement lists no such step: a loss year). */
static int step_amount(report_ctx *x, const rrun *r, const char *code, const cs_step *st,
		       cs_i128 *amt, cs_error *err)
{
	char id[24];
	const char *params[3] = {id, code, st->id};
	cs_db_rows rows;
	int rc = 0;

	snprintf(id, sizeof(id), "%lld", (long long)r->run.id);
	*amt = 0;
	if (cs_db_query(x->db,
			"SELECT sum((e->>'amount_minor')::numeric)::text" STATEMENT_CURRENCIES ","
			" pg_catalog.jsonb_array_elements(c.value->'steps') e"
			" WHERE r.id = $1::bigint AND c.key = $2 AND e->>'id' = $3",
			3, params, &rows, err) < 0)
		return -1;
	if (rows.n_rows && cs_db_cell(&rows, 0, 0))
		rc = parse_minor(cs_db_cell(&rows, 0, 0), amt, r->run.id, err);
	cs_db_rows_free(&rows);
	return rc;
}

/* What the class parts of run r need: its inputs rebuilt, when a step
 * has two classes (into d, *loaded set), and whether they are the run's
 * (*note says why not). Returns 0 or -1 (a database failure). */
static int class_inputs(report_ctx *x, const rrun *r, cs_stored_dist *d, int *loaded,
			const char **note, cs_error *err)
{
	const cs_config *cfg = r->cfg;

	*loaded = 0;
	*note = NULL;
	if (!needs_inputs(cfg))
		return 0;
	/* which classes had an eligible member: the run's inputs as verify and
	 * explain rebuild them, in the run's time zone */
	if (cs_tz_use(cfg->timezone, err) < 0)
		return -1;
	if (cs_stored_dist_load(x->db, cfg, &r->run, &r->w, d, err) < 0) {
		if (err->exit_code == CS_EXIT_RUNTIME)
			return -1;
		*note = "its inputs cannot be rebuilt (verify --run says why)";
	} else {
		*loaded = 1;
		if (strcmp(d->input_sha256, r->run.input_sha256) != 0)
			*note = "its inputs, rebuilt, do not hash to its input hash (verify --run says "
				"why)";
	}
	if (cs_tz_use(x->tz, err) < 0) {
		if (*loaded)
			cs_stored_dist_free(d);
		*loaded = 0;
		return -1;
	}
	return 0;
}

/* Run r's refunds in currency cur per class into k: each patronage step's
 * amount split by class_parts, or unattributed when the step has two
 * classes and the inputs are not the run's (note != NULL); d is the
 * rebuilt inputs when loaded. */
static int class_row(report_ctx *x, const rrun *r, size_t cur, const cs_stored_dist *d, int loaded,
		     const char *note, cs_report_classes *k, cs_error *err)
{
	const cs_config *cfg = r->cfg;
	size_t s, c;

	for (s = 0; s < cfg->n_steps; s++) {
		const cs_step *st = &cfg->steps[s];
		int allocates[CS_CLASSES_MAX] = {0};
		cs_i128 amt, parts[CS_CLASSES_MAX];

		if (st->type != CS_STEP_PATRONAGE)
			continue;
		if (step_amount(x, r, cfg->currencies[cur].code, st, &amt, err) < 0)
			return -1;
		if (amt == 0)
			continue;
		if (needs_inputs(cfg) && note) {
			k->unattributed_minor += amt;
			continue;
		}
		for (c = 0; c < st->n_classes; c++)
			allocates[c] = !loaded || cs_surplus_class_allocates(&d->in, st, c, cur);
		class_parts(st, allocates, amt, parts);
		for (c = 0; c < CS_CLASSES_MAX; c++)
			k->class_minor[c] += parts[c];
	}
	k->note = k->unattributed_minor ? note : NULL;
	return 0;
}

/* The patronage refunds of distribute run r per currency and class (one
 * row of the classes table per currency in which it paid any, compared
 * with its member allocations), added to the currencies' totals. */
static int dist_classes(report_ctx *x, const rrun *r, cs_error *err)
{
	const cs_config *cfg = r->cfg;
	cs_stored_dist d;
	const char *note, *params[1];
	char id[24];
	cs_db_rows rows;
	int loaded, rc = 0;
	size_t cur, c, i;

	if (!cs_config_has_step(cfg, CS_STEP_PATRONAGE))
		return 0;
	memset(&d, 0, sizeof(d));
	if (class_inputs(x, r, &d, &loaded, &note, err) < 0)
		return -1;
	snprintf(id, sizeof(id), "%lld", (long long)r->run.id);
	params[0] = id;
	if (cs_db_query(x->db,
			"SELECT currency, sum(patronage_minor)::text FROM coopsettle.member_allocations"
			" WHERE run_id = $1::bigint GROUP BY 1 ORDER BY 1",
			1, params, &rows, err) < 0) {
		if (loaded)
			cs_stored_dist_free(&d);
		return -1;
	}
	x->classes =
		realloc(x->classes, (x->n_classes + cfg->n_currencies + 1) * sizeof(*x->classes));
	CS_ASSERT(x->classes != NULL);
	for (cur = 0; cur < cfg->n_currencies && rc == 0; cur++) {
		cs_report_classes *k = &x->classes[x->n_classes];
		const char *code = cfg->currencies[cur].code;
		rcur *rcu;

		memset(k, 0, sizeof(*k));
		k->run_id = r->run.id;
		rc = class_row(x, r, cur, &d, loaded, note, k, err);
		for (i = 0; i < rows.n_rows && rc == 0; i++)
			if (cs_db_cell(&rows, i, 0) && strcmp(cs_db_cell(&rows, i, 0), code) == 0)
				rc = parse_minor(cs_db_cell(&rows, i, 1), &k->allocated_minor,
						 r->run.id, err);
		if (rc < 0 || (!k->allocated_minor && !k->unattributed_minor &&
			       !k->class_minor[0] && !k->class_minor[1]))
			continue;
		rcu = run_currency(x, code, r, err);
		if (!rcu) {
			rc = -1;
			break;
		}
		k->currency = rcu->code;
		k->exponent = rcu->c.exponent;
		for (c = 0; c < CS_CLASSES_MAX; c++)
			rcu->c.class_minor[c] += k->class_minor[c];
		rcu->c.unattributed_minor += k->unattributed_minor;
		x->n_classes++;
	}
	cs_db_rows_free(&rows);
	if (loaded)
		cs_stored_dist_free(&d);
	return rc;
}

/* ---- refunds per member ---- */

/* Each member's refund total > 0 per currency over the counted
 * distribute runs, ascending. */
static int member_refunds(report_ctx *x, cs_error *err)
{
	cs_buf ids;
	const char *params[1];
	cs_db_rows rows;
	size_t i, k;
	int rc = 0;

	cs_buf_init(&ids);
	cs_buf_putc(&ids, '{');
	for (i = 0, k = 0; i < x->n_runs; i++)
		if (x->runs[i].counted && strcmp(x->runs[i].run.kind, "distribute") == 0)
			cs_buf_printf(&ids, "%s%lld", k++ ? "," : "", (long long)x->runs[i].run.id);
	cs_buf_puts(&ids, "}");
	params[0] = ids.data;
	rc = cs_db_query(x->db,
			 "SELECT currency, sum(patronage_minor) s FROM coopsettle.member_allocations"
			 " WHERE run_id = ANY($1::bigint[]) GROUP BY member_id, currency"
			 " HAVING sum(patronage_minor) > 0 ORDER BY currency, s, member_id",
			 1, params, &rows, err);
	cs_buf_free(&ids);
	if (rc < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++) {
		const char *code = cs_db_cell(&rows, i, 0);
		rcur *c = NULL;
		cs_i128 v;

		for (k = 0; code && k < x->n_curs; k++)
			if (strcmp(x->curs[k]->code, code) == 0)
				c = x->curs[k];
		if (!c || parse_minor(cs_db_cell(&rows, i, 1), &v, 0, err) < 0 || v <= 0) {
			cs_db_rows_free(&rows);
			return cs_error_set(err, CS_EXIT_VERIFY,
					    "member_allocations has an unexpected row in currency '%s'",
					    code ? cs_text_shown(code) : "NULL");
		}
		if (!c->c.refunds) {
			c->c.refunds = calloc(rows.n_rows, sizeof(cs_i128));
			CS_ASSERT(c->c.refunds != NULL);
		}
		c->c.refunds[c->c.n_refunds++] = v;
	}
	cs_db_rows_free(&rows);
	return 0;
}

/* ---- verification ---- */

/* verify --run on every run of the period (each on its own connection, as
 * the command does). Returns the number that fail, or -1 when a check
 * could not be made (err filled). */
static int report_verify(report_ctx *x, cs_report_run *out, size_t *n_bad, cs_error *err)
{
	size_t i;

	*n_bad = 0;
	for (i = 0; i < x->n_runs; i++) {
		rrun *r = &x->runs[i];
		cs_report_run *o = &out[i];
		cs_error e;
		cs_buf rep;
		int rc;

		cs_error_clear(&e);
		cs_buf_init(&rep);
		rc = cs_verify_run(x->o->conninfo, r->run.id, 0, &rep, &e);
		o->verdict = CS_REPORT_VERIFIES;
		if (rc < 0 && e.exit_code != CS_EXIT_VERIFY) {
			cs_buf_free(&rep);
			*err = e;
			return -1;
		}
		if (rc < 0) {
			const char *m = strstr(e.message, "does not verify: ");

			o->verdict =
				rep.data && strstr(rep.data, "reproduces from its snapshots, but")
					? CS_REPORT_INPUTS_CHANGED
					: CS_REPORT_DOES_NOT_REPRODUCE;
			const char *src = m ? m + 17 : e.message;
			size_t n = strlen(src) < sizeof(r->why) - 1 ? strlen(src)
								    : sizeof(r->why) - 1;

			memcpy(r->why, src, n);
			r->why[n] = '\0';
			cs_text_clean(r->why, strlen(r->why), 0);
			o->why = r->why;
			*n_bad += (size_t)cs_report_run_fails(o);
		}
		cs_buf_free(&rep);
	}
	return cs_tz_use(x->tz, err) < 0 ? -1 : 0; /* verify used each run's zone */
}

/* ---- the file ---- */

static mode_t umask_mode(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return (mode_t)(0666 & ~mask);
}

/* Writes page to path under a mkstemp name next to it, renamed into place
 * when complete (rename replaces a symlink at path, never follows it). */
static int write_page(const char *path, const cs_buf *page, cs_error *err)
{
	cs_buf tmp;
	FILE *f = NULL;
	int fd, ok;

	cs_buf_init(&tmp);
	cs_buf_printf(&tmp, "%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp.data);
	if (fd < 0 || fchmod(fd, umask_mode()) != 0 || (f = fdopen(fd, "wb")) == NULL) {
		cs_error_set(err, errno == ENOSPC || errno == EIO ? CS_EXIT_RUNTIME : CS_EXIT_USAGE,
			     "cannot create '%s': %s", path, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp.data);
		}
		cs_buf_free(&tmp);
		return -1;
	}
	ok = fwrite(page->data, 1, page->len, f) == page->len;
	ok = fflush(f) == 0 && ok;
	ok = fsync(fileno(f)) == 0 && ok;
	ok = fclose(f) == 0 && ok;
	if (ok && rename(tmp.data, path) != 0)
		ok = 0;
	if (!ok) {
		cs_error_set(err, cs_exit_for_errno(errno), "cannot write '%s': %s", path,
			     strerror(errno));
		unlink(tmp.data);
	}
	cs_buf_free(&tmp);
	return ok ? 0 : -1;
}

static int cmp_cur(const void *a, const void *b)
{
	const rcur *const *x = a, *const *y = b;

	return strcmp((*x)->code, (*y)->code);
}

static void report_free(report_ctx *x)
{
	size_t i;

	for (i = 0; i < x->n_runs; i++) {
		cs_stored_run_free(&x->runs[i].run);
		cs_config_free(x->runs[i].cfg);
	}
	free(x->runs);
	for (i = 0; i < x->n_curs; i++) {
		free(x->curs[i]->c.month_minor);
		free(x->curs[i]->c.refunds);
		free(x->curs[i]);
	}
	for (i = 0; i < x->n_falls; i++)
		free(x->falls[i]);
	free(x->falls);
	free(x->classes);
	cs_config_free(x->own_cfg);
	cs_db_close(x->db);
}

/* Reads every figure of the period in the audit transaction. */
static int report_gather(report_ctx *x, cs_error *err)
{
	size_t i;

	x->db = cs_stored_connect(x->o->conninfo, err);
	if (!x->db || report_config(x, err) < 0 || report_window(x, err) < 0 ||
	    cs_stored_begin(x->db, NULL, err) < 0 || report_runs(x, err) < 0)
		return -1;
	for (i = 0; i < x->n_runs; i++) {
		const rrun *r = &x->runs[i];

		if (!r->counted)
			continue;
		if (strcmp(r->run.kind, "settle") == 0) {
			if (settle_figures(x, r, err) < 0)
				return -1;
		} else if (dist_falls(x, r, err) < 0 || dist_classes(x, r, err) < 0) {
			return -1;
		}
	}
	if (member_refunds(x, err) < 0)
		return -1;
	cs_db_exec(x->db, "COMMIT", 0, NULL, err);
	cs_db_close(x->db);
	x->db = NULL;
	return 0;
}

/* The page's document over what x gathered; curs and falls are the
 * caller's arrays of x->n_curs and x->n_falls entries, filled here. */
static void fill_doc(const report_ctx *x, const cs_report_run *runs, cs_report_currency *curs,
		     cs_report_fall *falls, cs_report_doc *doc)
{
	size_t i;

	for (i = 0; i < x->n_curs; i++)
		curs[i] = x->curs[i]->c;
	for (i = 0; i < x->n_falls; i++)
		falls[i] = x->falls[i]->f;
	memset(doc, 0, sizeof(*doc));
	doc->cooperative = x->cooperative;
	doc->timezone = x->tz;
	doc->first_day = x->first_text;
	doc->last_day = x->last_text;
	doc->from_text = x->w.from_text;
	doc->to_text = x->w.to_text;
	doc->made_at = x->made_at;
	doc->engine_version = CS_VERSION;
	doc->first_month = x->first_month;
	doc->n_months = x->n_months;
	doc->currencies = curs;
	doc->n_currencies = x->n_curs;
	doc->falls = falls;
	doc->n_falls = x->n_falls;
	doc->classes = x->classes;
	doc->n_classes = x->n_classes;
	doc->runs = runs;
	doc->n_runs = x->n_runs;
	doc->n_settle = x->n_settle;
	doc->n_distribute = x->n_distribute;
	doc->n_overlapping = x->n_overlapping;
}

int cs_report(const cs_report_opts *o, cs_buf *summary, cs_error *err)
{
	report_ctx x;
	cs_report_run *runs = NULL;
	cs_report_currency *curs = NULL;
	cs_report_fall *falls = NULL;
	cs_report_doc doc;
	cs_buf page;
	size_t i, n_bad = 0;
	int rc = -1;

	memset(&x, 0, sizeof(x));
	x.o = o;
	cs_buf_init(&page);
	if (report_gather(&x, err) < 0)
		goto cleanup;
	runs = calloc(x.n_runs + 1, sizeof(*runs));
	CS_ASSERT(runs != NULL);
	for (i = 0; i < x.n_runs; i++) {
		const rrun *r = &x.runs[i];

		runs[i].id = r->run.id;
		runs[i].kind = r->run.kind;
		runs[i].status = r->run.status;
		runs[i].superseded_by = r->run.superseded_by;
		runs[i].first_day = r->first_day;
		runs[i].last_day = r->last_day;
		runs[i].record_sha256 = r->run.record_sha256;
		runs[i].input_sha256 = r->run.input_sha256;
		runs[i].output_sha256 = r->run.output_sha256;
	}
	if (report_verify(&x, runs, &n_bad, err) < 0)
		goto cleanup;
	qsort(x.curs, x.n_curs, sizeof(x.curs[0]), cmp_cur);
	curs = calloc(x.n_curs + 1, sizeof(*curs));
	falls = calloc(x.n_falls + 1, sizeof(*falls));
	CS_ASSERT(curs && falls);
	fill_doc(&x, runs, curs, falls, &doc);
	cs_report_html(&page, &doc);
	if (write_page(o->out_path, &page, err) < 0)
		goto cleanup;
	cs_buf_printf(summary,
		      "report of [%s, %s) in %s written to %s: %zu committed settle run%s, "
		      "%zu committed distribute run%s, %zu run%s listed",
		      x.w.from_text, x.w.to_text, x.tz, o->out_path, x.n_settle,
		      x.n_settle == 1 ? "" : "s", x.n_distribute, x.n_distribute == 1 ? "" : "s",
		      x.n_runs, x.n_runs == 1 ? "" : "s");
	if (!x.n_runs)
		cs_buf_puts(summary, " (no run lies in the period: the page says so)");
	cs_buf_putc(summary, '\n');
	rc = 0;
	if (n_bad) {
		cs_buf_puts(summary, "runs that do not verify:");
		for (i = 0; i < x.n_runs; i++)
			if (cs_report_run_fails(&runs[i]))
				cs_buf_printf(summary, " %lld", (long long)runs[i].id);
		cs_buf_putc(summary, '\n');
		cs_error_set(err, CS_EXIT_VERIFY,
			     "report written to %s, but %zu run%s of the period do%s not verify",
			     o->out_path, n_bad, n_bad == 1 ? "" : "s", n_bad == 1 ? "es" : "");
		cs_error_hint(err, "The page's Runs section names each; verify --run N gives the "
				   "details (docs/report.md).");
		rc = -1;
	}
cleanup:
	free(runs);
	free(curs);
	free(falls);
	cs_buf_free(&page);
	report_free(&x);
	return rc;
}
