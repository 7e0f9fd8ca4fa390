/*
 * audit.c -- the database edge of explain (see audit.h), and what the audit
 * commands share (audit_int.h): stored runs opened, stored amounts read
 * back, output files written complete or not at all.
 */
#include "coopsettle/audit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coopsettle/amount.h"
#include "coopsettle/config_load.h"
#include "coopsettle/explain.h"
#include "coopsettle/fee.h"
#include "coopsettle/members.h"
#include "coopsettle/runcommon.h"
#include "coopsettle/source.h"
#include "coopsettle/stored.h"
#include "coopsettle/surplus.h"
#include "coopsettle/util.h"
#include "coopsettle/verify.h"
#include "audit_int.h"

/* Stored lines of one journal kept for a comparison (a settle journal has
 * at most 4). */
#define JOURNAL_LINES_MAX (CS_SETTLE_LINES_MAX + 8)

int audit_open(audit_run *a, const char *conninfo, int64_t run_id, cs_error *err)
{
	int64_t first, end;

	memset(a, 0, sizeof(*a));
	a->db = cs_stored_connect(conninfo, err);
	if (!a->db || cs_stored_run_load(a->db, run_id, &a->run, err) < 0)
		return -1;
	a->loaded = 1;
	if (cs_stored_run_config(&a->run, &a->cfg, &a->w, err) < 0 ||
	    cs_stored_begin(a->db, a->cfg, err) < 0)
		return -1;
	cs_window_local_days(&a->w, &first, &end);
	cs_day_text(a->first_day, sizeof(a->first_day), first);
	a->last_day_n = end > first ? end - 1 : first;
	cs_day_text(a->last_day, sizeof(a->last_day), a->last_day_n);
	cs_day_text(a->open_day, sizeof(a->open_day), cs_local_day_of_us(a->w.from_us));
	return 0;
}

void audit_close(audit_run *a)
{
	if (a->loaded)
		cs_stored_run_free(&a->run);
	cs_config_free(a->cfg);
	cs_db_close(a->db);
	memset(a, 0, sizeof(*a));
}

int audit_latest_config(cs_db *db, cs_config **out, cs_error *err)
{
	cs_config_diag diag;
	cs_db_rows rows;
	const char *text;
	int rc = 0;

	*out = NULL;
	if (cs_db_query(db,
			"SELECT config_text FROM coopsettle.runs WHERE status = 'committed'"
			" ORDER BY id DESC LIMIT 1",
			0, NULL, &rows, err) < 0)
		return -1;
	text = rows.n_rows ? cs_db_cell(&rows, 0, 0) : NULL;
	if (text && cs_config_load_buffer(out, "config of the latest run", text, strlen(text),
					  &diag) < 0) {
		cs_error_set(err, CS_EXIT_USAGE,
			     "this engine cannot load the config of the latest committed run");
		cs_error_hint(err, "Pass --config FILE: it gives the time zone.");
		rc = -1;
	}
	cs_db_rows_free(&rows);
	return rc;
}

/* Parses a stored amount; a malformed or implausible one is a mismatch. */
int audit_stored_amount(const char *text, cs_i128 *v, int64_t run_id, cs_error *err)
{
	if (cs_amount_parse(text, v) < 0 || *v >= STORED_AMOUNT_MAX || *v <= -STORED_AMOUNT_MAX)
		return cs_error_set(err, CS_EXIT_VERIFY,
				    "run %lld has a stored amount '%s' the engine cannot have "
				    "written",
				    (long long)run_id, text ? text : "NULL");
	return 0;
}

/* Writes b to f and empties it. */
int audit_put_out(FILE *f, cs_buf *b, cs_error *err)
{
	if (b->len && fwrite(b->data, 1, b->len, f) != b->len)
		return cs_error_set(err, cs_exit_for_errno(errno), "cannot write the output: %s",
				    strerror(errno));
	cs_buf_reset(b);
	return 0;
}

/* ---- explain: settle ---- */

typedef struct stored_line {
	int64_t line_no;
	char account[CS_NAME_BYTES_MAX + 1];
	int has_party;
	int64_t party;
	char currency[16];
	cs_i128 amount;
} stored_line;

/* The lines the fee result makes (spec section 5; with fee funds 10.3),
 * amount 0 left out: the core's own (cs_settle_lines). */
static size_t computed_lines(const cs_config *cfg, const cs_txn_row *r, size_t cur,
			     const cs_fee_result *fee, int64_t day, stored_line *out)
{
	cs_ledger_line l[CS_SETTLE_LINES_MAX];
	size_t i, n = cs_settle_lines(cfg, r, cur, fee, day, l);

	for (i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].line_no = l[i].line_no;
		snprintf(out[i].account, sizeof(out[i].account), "%s", l[i].account);
		out[i].has_party = l[i].has_party;
		out[i].party = l[i].party_id;
		snprintf(out[i].currency, sizeof(out[i].currency), "%s", cfg->currencies[cur].code);
		out[i].amount = l[i].amount_minor;
	}
	return n;
}

static void line_text(cs_buf *out, const stored_line *l, const cs_config *cfg)
{
	char num[48], major[CS_AMOUNT_TEXT_BYTES];
	int c = cs_config_currency_index(cfg, l->currency, strlen(l->currency));

	cs_i128_format(num, l->amount);
	cs_buf_printf(out, "line %lld %s, party ", (long long)l->line_no, cs_text_shown(l->account));
	if (l->has_party)
		cs_buf_printf(out, "%lld", (long long)l->party);
	else
		cs_buf_puts(out, "none");
	cs_buf_printf(out, ", %s %s", num, cs_text_shown(l->currency));
	if (c >= 0)
		cs_buf_printf(out, " (%s %s)",
			      cs_amount_format(major, l->amount, cfg->currencies[c].exponent),
			      l->currency);
}

static int lines_equal(const stored_line *a, const stored_line *b)
{
	return a->line_no == b->line_no && strcmp(a->account, b->account) == 0 &&
	       a->has_party == b->has_party && (!a->has_party || a->party == b->party) &&
	       strcmp(a->currency, b->currency) == 0 && a->amount == b->amount;
}

/* Reads the current row of the stored-lines cursor. */
static int read_stored_line(const cs_cursor *c, stored_line *l, int64_t run_id, cs_error *err)
{
	const char *party = cs_cursor_cell(c, 3);

	memset(l, 0, sizeof(*l));
	if (cs_parse_i64(cs_cursor_cell(c, 1), &l->line_no) < 0)
		return cs_error_set(err, CS_EXIT_VERIFY, "run %lld has a malformed stored line",
				    (long long)run_id);
	snprintf(l->account, sizeof(l->account), "%s", cs_cursor_cell(c, 2) ? cs_cursor_cell(c, 2) : "");
	l->has_party = party && cs_parse_i64(party, &l->party) == 0;
	snprintf(l->currency, sizeof(l->currency), "%s",
		 cs_cursor_cell(c, 4) ? cs_cursor_cell(c, 4) : "");
	return audit_stored_amount(cs_cursor_cell(c, 5), &l->amount, run_id, err);
}

typedef struct member_sums {
	int64_t transactions[2][CS_CURRENCIES_MAX];
	cs_i128 gross[2][CS_CURRENCIES_MAX];
	cs_i128 fees[2][CS_CURRENCIES_MAX];
} member_sums;

/* Why the run stored no lines for transaction id: its stored reject. */
static int explain_reject(audit_run *a, int64_t id, cs_buf *out, cs_error *err)
{
	char run_text[24], id_text[24];
	const char *params[2] = {run_text, id_text};
	cs_db_rows rows;
	size_t i;

	snprintf(run_text, sizeof(run_text), "%lld", (long long)a->run.id);
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	if (cs_db_query(a->db,
			"SELECT reason FROM coopsettle.settlement_rejects WHERE run_id = $1::bigint"
			" AND transaction_id = $2::bigint ORDER BY ordinal",
			2, params, &rows, err) < 0)
		return -1;
	for (i = 0; i < rows.n_rows; i++)
		cs_buf_printf(out, "    run %lld rejected it: %s\n", (long long)a->run.id,
			      cs_text_shown(cs_db_cell(&rows, i, 0) ? cs_db_cell(&rows, i, 0) : ""));
	cs_db_rows_free(&rows);
	return 0;
}

/* Reads the current row of the transactions cursor into r (which points into
 * the cursor's row). Returns the index of its currency in cfg, or -1. */
static int read_txn(const cs_cursor *t, const cs_config *cfg, cs_txn_row *r)
{
	const char *cell;
	int cur = -1;

	memset(r, 0, sizeof(*r));
	r->has_id = cs_parse_i64(cs_cursor_cell(t, 0), &r->id) == 0;
	r->has_occurred_at = cs_parse_i64(cs_cursor_cell(t, 1), &r->occurred_at_us) == 0;
	r->has_producer = cs_parse_i64(cs_cursor_cell(t, 2), &r->producer_id) == 0;
	r->has_consumer = cs_parse_i64(cs_cursor_cell(t, 3), &r->consumer_id) == 0;
	r->has_amount = cs_parse_i64(cs_cursor_cell(t, 4), &r->amount_minor) == 0;
	if ((cell = cs_cursor_cell(t, 5)) != NULL) {
		r->has_currency = 1;
		r->currency = cell;
		r->currency_len = strlen(cell);
		cur = cs_config_currency_index(cfg, cell, r->currency_len);
	}
	if ((cell = cs_cursor_cell(t, 6)) != NULL) {
		r->has_category = 1;
		r->category = cell;
		r->category_len = strlen(cell);
	}
	return cur;
}

/* The transaction as the database holds it now: id, time, category, its
 * parties and which of them the member is, and its amount. */
static void txn_head(cs_buf *out, const cs_config *cfg, const cs_txn_row *r, int cur,
		     int64_t member, int pm, int cm)
{
	char when[64] = "NULL";

	if (r->has_occurred_at)
		cs_format_local(when, sizeof(when), r->occurred_at_us);
	if (r->has_id)
		cs_buf_printf(out, "\ntransaction %lld, %s", (long long)r->id, when);
	else
		cs_buf_printf(out, "\ntransaction with a NULL id, %s", when);
	if (r->has_category) {
		char cat[84];

		snprintf(cat, sizeof(cat), "%.*s", (int)(r->category_len > 80 ? 80 : r->category_len),
			 r->category);
		cs_buf_printf(out, ", category '%s'", cs_text_shown(cat));
	}
	cs_buf_puts(out, "\n  producer ");
	if (r->has_producer)
		cs_buf_printf(out, "%lld (%s)", (long long)r->producer_id,
			      pm ? "a member of class producer" : "not a member of class producer");
	else
		cs_buf_puts(out, "NULL");
	if (r->has_consumer)
		cs_buf_printf(out, ", consumer %lld (%s)", (long long)r->consumer_id,
			      cm ? "a member of class consumer" : "not a member of class consumer");
	else
		cs_buf_puts(out, ", consumer: a guest");
	cs_buf_printf(out, "; %lld is the %s\n", (long long)member,
		      r->has_producer && r->producer_id == member
			      ? (r->has_consumer && r->consumer_id == member
					 ? "producer and the consumer"
					 : "producer")
			      : "consumer");
	if (r->has_amount && cur >= 0) {
		char major[CS_AMOUNT_TEXT_BYTES];

		cs_buf_printf(out, "  amount g = %lld (%s %s)\n", (long long)r->amount_minor,
			      cs_amount_format(major, r->amount_minor,
					       cfg->currencies[cur].exponent),
			      cfg->currencies[cur].code);
	}
}

/* Why row r is invalid (spec section 4), or NULL when it is valid. */
static const char *txn_invalid(const cs_txn_row *r, int cur)
{
	if (!r->has_id)
		return "id is null";
	if (!r->has_producer)
		return "producer_id is null";
	if (!r->has_amount)
		return "amount_minor is null";
	if (!r->has_currency)
		return "currency is null";
	if (cur < 0)
		return "its currency is not configured";
	return NULL;
}

/* The fee of valid row r explained; the lines it makes into mine and the
 * member's sides added to sums. Returns the number of lines. */
static size_t txn_compute(cs_buf *out, cs_fee_calc *calc, const cs_config *cfg,
			  const cs_txn_row *r, size_t cur, int pm, int cm, int64_t member,
			  member_sums *sums, stored_line *mine)
{
	cs_fee_result fee;
	size_t n_mine;
	int side;

	int64_t day = cs_local_day_of_us(r->occurred_at_us);

	cs_explain_fee(out, calc, r, cur, pm, cm, day, &fee);
	if (fee.rule_index < 0)
		return 0;
	n_mine = computed_lines(cfg, r, cur, &fee, day, mine);
	for (side = 0; side < 2; side++) {
		int is = side == 0 ? r->producer_id == member
				   : r->has_consumer && r->consumer_id == member;

		if (!is)
			continue;
		sums->transactions[side][cur]++;
		sums->gross[side][cur] += r->amount_minor;
		/* the fee a side bore, net of VAT (spec 10.8) */
		sums->fees[side][cur] +=
			side == 0 ? cs_fee_net(&cfg->rules[fee.rule_index], fee.fee_producer_minor,
					       fee.vat_producer_minor)
				  : cs_fee_net(&cfg->rules[fee.rule_index], fee.fee_consumer_minor,
					       fee.vat_consumer_minor);
	}
	return n_mine;
}

/* The run's stored lines of this journal against the computed ones: one
 * line when they are equal, else the stored lines and, for a transaction
 * with none, why the run rejected it. */
static int txn_vs_stored(audit_run *a, const cs_txn_row *r, const stored_line *stored,
			 size_t n_stored, const stored_line *mine, size_t n_mine, cs_buf *out,
			 cs_error *err)
{
	size_t i;

	if (n_stored == n_mine) {
		int equal = 1;

		for (i = 0; i < n_mine; i++)
			equal = equal && lines_equal(&stored[i], &mine[i]);
		if (equal && n_stored == 0)
			cs_buf_printf(out, "  run %lld stored no ledger line for it, as computed\n",
				      (long long)a->run.id);
		else if (equal)
			cs_buf_printf(out, "  the %zu ledger line%s stored by run %lld equal these\n",
				      n_stored, n_stored == 1 ? "" : "s", (long long)a->run.id);
		if (equal)
			return 0;
	}
	cs_buf_printf(out, "  the ledger lines stored by run %lld DIFFER from this computation "
			   "(coopsettle verify --run %lld says why):\n",
		      (long long)a->run.id, (long long)a->run.id);
	for (i = 0; i < n_stored; i++) {
		cs_buf_puts(out, "    stored   ");
		line_text(out, &stored[i], a->cfg);
		cs_buf_putc(out, '\n');
	}
	if (n_stored == 0)
		cs_buf_puts(out, "    stored   none\n");
	if (!r->has_id || n_stored)
		return 0;
	return explain_reject(a, r->id, out, err);
}

/* One transaction of the member, explained, then its stored lines. */
static int explain_txn(audit_run *a, cs_fee_calc *calc, const cs_members *members,
		       const cs_cursor *t, int64_t member, const stored_line *stored,
		       size_t n_stored, member_sums *sums, cs_buf *out, cs_error *err)
{
	const cs_config *cfg = a->cfg;
	cs_txn_row r;
	stored_line mine[CS_SETTLE_LINES_MAX];
	const char *why;
	int cur, pm = 0, cm = 0;
	size_t n_mine = 0;

	cur = read_txn(t, cfg, &r);
	if (t->rows.n_cols > 7) { /* the run's snapshot: the flags it used */
		pm = r.has_producer && cs_cursor_cell(t, 7) && cs_cursor_cell(t, 7)[0] == 't';
		cm = r.has_consumer && cs_cursor_cell(t, 8) && cs_cursor_cell(t, 8)[0] == 't';
	} else {
		if (r.has_producer)
			pm = cs_members_is(members, r.producer_id, CS_CLASS_PRODUCER);
		if (r.has_consumer)
			cm = cs_members_is(members, r.consumer_id, CS_CLASS_CONSUMER);
	}
	txn_head(out, cfg, &r, cur, member, pm, cm);
	why = txn_invalid(&r, cur);
	if (why)
		cs_buf_printf(out, "  invalid (spec section 4): %s; no fee, no ledger lines\n", why);
	else
		n_mine = txn_compute(out, calc, cfg, &r, (size_t)cur, pm, cm, member, sums, mine);
	return txn_vs_stored(a, &r, stored, n_stored, mine, n_mine, out, err);
}

/* The member's stored totals next to the recomputed ones. */
static int explain_settle_totals(audit_run *a, int64_t member, const member_sums *sums,
				 cs_buf *out, cs_error *err)
{
	const cs_config *cfg = a->cfg;
	char run_text[24], member_text[24], major[CS_AMOUNT_TEXT_BYTES];
	const char *params[2] = {run_text, member_text};
	cs_db_rows rows;
	size_t i, cur;
	int side;

	snprintf(run_text, sizeof(run_text), "%lld", (long long)a->run.id);
	snprintf(member_text, sizeof(member_text), "%lld", (long long)member);
	if (cs_db_query(a->db,
			"SELECT side, currency, sum(transactions), sum(gross_minor)::text,"
			" sum(fees_minor)::text FROM coopsettle.party_totals WHERE run_id = $1::bigint"
			" AND party_id = $2::bigint GROUP BY side, currency"
			" ORDER BY side <> 'producer', currency COLLATE \"C\"",
			2, params, &rows, err) < 0)
		return -1;
	cs_buf_printf(out, "\ntotals of party %lld in run %lld (stored), and recomputed now:\n",
		      (long long)member, (long long)a->run.id);
	for (i = 0; i < rows.n_rows; i++) {
		const char *code = cs_db_cell(&rows, i, 1);
		int c = code ? cs_config_currency_index(cfg, code, strlen(code)) : -1;
		cs_i128 gross = 0, fees = 0;

		if (c < 0 || audit_stored_amount(cs_db_cell(&rows, i, 3), &gross, a->run.id, err) < 0 ||
		    audit_stored_amount(cs_db_cell(&rows, i, 4), &fees, a->run.id, err) < 0) {
			cs_db_rows_free(&rows);
			return c < 0 ? cs_error_set(err, CS_EXIT_VERIFY,
						    "run %lld has party totals in currency '%s', which "
						    "its config does not list",
						    (long long)a->run.id, code ? code : "NULL")
				     : -1;
		}
		cs_buf_printf(out, "  stored     %-8s %s: %s transactions, gross %s",
			      cs_db_cell(&rows, i, 0) ? cs_db_cell(&rows, i, 0) : "NULL", code,
			      cs_db_cell(&rows, i, 2) ? cs_db_cell(&rows, i, 2) : "NULL",
			      cs_amount_format(major, gross, cfg->currencies[c].exponent));
		cs_buf_printf(out, ", fees %s\n",
			      cs_amount_format(major, fees, cfg->currencies[c].exponent));
	}
	if (rows.n_rows == 0)
		cs_buf_puts(out, "  stored     none\n");
	cs_db_rows_free(&rows);
	for (side = 0; side < 2; side++) {
		for (cur = 0; cur < cfg->n_currencies; cur++) {
			if (!sums->transactions[side][cur])
				continue;
			cs_buf_printf(out, "  recomputed %-8s %s: %lld transactions, gross %s",
				      side == 0 ? "producer" : "consumer", cfg->currencies[cur].code,
				      (long long)sums->transactions[side][cur],
				      cs_amount_format(major, sums->gross[side][cur],
						       cfg->currencies[cur].exponent));
			cs_buf_printf(out, ", fees %s\n",
				      cs_amount_format(major, sums->fees[side][cur],
						       cfg->currencies[cur].exponent));
		}
	}
	return 0;
}

/* The stored lines of one journal, read ahead from a cursor ordered by
 * journal and line number. */
typedef struct line_group {
	int has; /* 0: no more journals */
	int64_t journal;
	stored_line lines[JOURNAL_LINES_MAX];
	size_t n;
} line_group;

/* Reads the next journal's lines into g; *live says the cursor's current row
 * is read ahead and not yet consumed. Returns 0 or -1. */
static int next_group(cs_cursor *c, int *live, line_group *g, int64_t run_id, cs_error *err)
{
	int step;

	g->has = 0;
	g->n = 0;
	if (!*live) {
		if ((step = cs_cursor_next(c, err)) < 0)
			return -1;
		*live = step;
	}
	if (!*live)
		return 0;
	if (cs_parse_i64(cs_cursor_cell(c, 0), &g->journal) < 0)
		return cs_error_set(err, CS_EXIT_VERIFY, "run %lld has a malformed stored line",
				    (long long)run_id);
	g->has = 1;
	for (;;) {
		stored_line x;
		int64_t j;

		if (read_stored_line(c, &x, run_id, err) < 0)
			return -1;
		if (g->n < JOURNAL_LINES_MAX)
			g->lines[g->n++] = x;
		if ((step = cs_cursor_next(c, err)) < 0)
			return -1;
		*live = step;
		if (!*live)
			return 0;
		if (cs_parse_i64(cs_cursor_cell(c, 0), &j) < 0 || j != g->journal)
			return 0;
	}
}

/* One member's explanation of a settle run, as it is walked. */
typedef struct settle_explain {
	audit_run *a;
	int64_t member;
	char run_text[24], member_text[24];
	cs_members *members; /* the members relation now */
	int snapshot;        /* the transactions come from the run's input snapshot */
	cs_fee_calc calc;
	cs_cursor t;         /* the member's transactions now, by id */
	cs_cursor l;         /* the stored lines of the journals with the member */
	line_group *g;       /* the journal read ahead from l */
	member_sums *sums;   /* the member's totals, recomputed */
	cs_buf out;
	int64_t explained, gone;
} settle_explain;

/* Opens cursor t on the member's rows of the window, in the canonical order
 * of docs/reproducibility.md. */
static int open_member_txns(settle_explain *x, cs_error *err)
{
	audit_run *a = x->a;
	const char *params[3] = {a->w.from_utc, a->w.to_utc, x->member_text};
	const char *snap[2] = {x->run_text, x->member_text};
	char *rel;
	cs_buf sql;
	cs_db_rows rows;
	int rc;

	/* a run with an input snapshot is explained from what it read, with the
	 * member flags it used (spec 10.4), not from the rows now */
	if (cs_db_query(a->db,
			"SELECT EXISTS (SELECT 1 FROM coopsettle.run_input_chunks"
			" WHERE run_id = $1::bigint)",
			1, snap, &rows, err) < 0)
		return -1;
	x->snapshot = cs_db_cell(&rows, 0, 0) && cs_db_cell(&rows, 0, 0)[0] == 't';
	cs_db_rows_free(&rows);
	if (x->snapshot)
		return cs_cursor_open(&x->t, a->db, "cs_explain_t",
				      "SELECT transaction_id, occurred_at_us, producer_id, consumer_id,"
				      " amount_minor, currency, category, producer_member,"
				      " consumer_member FROM coopsettle.run_inputs"
				      " WHERE run_id = $1::bigint AND (producer_id = $2::bigint"
				      " OR consumer_id = $2::bigint) ORDER BY ordinal",
				      2, snap, err);

	rel = cs_source_relation_sql(a->db, &a->cfg->source_transactions, err);
	if (!rel)
		return -1;
	cs_buf_init(&sql);
	cs_buf_printf(&sql,
		      "SELECT id::bigint, (extract(epoch FROM occurred_at::timestamptz)"
		      " * 1000000)::bigint, producer_id::bigint, consumer_id::bigint,"
		      " amount_minor::bigint, currency::text, category::text FROM %s"
		      " WHERE occurred_at::timestamptz >= $1::timestamptz"
		      " AND occurred_at::timestamptz < $2::timestamptz"
		      " AND (producer_id::bigint = $3::bigint OR consumer_id::bigint = $3::bigint)"
		      " ORDER BY 1 NULLS FIRST, 2, 3, 4, 5, currency::text COLLATE \"C\","
		      " category::text COLLATE \"C\"",
		      rel);
	rc = cs_cursor_open(&x->t, a->db, "cs_explain_t", sql.data, 3, params, err);
	cs_buf_free(&sql);
	free(rel);
	return rc;
}

/* Opens cursor l on the stored posted lines of every journal of the run
 * that has a line of the member, by journal and line number. */
static int open_member_lines(settle_explain *x, cs_error *err)
{
	const char *params[2] = {x->run_text, x->member_text};

	return cs_cursor_open(&x->l, x->a->db, "cs_explain_l",
			      "SELECT journal, line_no, account, party_id, currency, amount_minor::text"
			      " FROM coopsettle.ledger_lines WHERE run_id = $1::bigint AND entry = 'post'"
			      " AND journal IN (SELECT journal FROM coopsettle.ledger_lines"
			      " WHERE run_id = $1::bigint AND entry = 'post' AND party_id = $2::bigint)"
			      " ORDER BY journal, line_no",
			      2, params, err);
}

/* What is explained, and how. */
static void explain_settle_head(settle_explain *x)
{
	audit_run *a = x->a;

	cs_buf_printf(&x->out, "explain settle run %lld [%s, %s), %s, for party %lld%s\n",
		      (long long)a->run.id, a->w.from_text, a->w.to_text, a->run.status,
		      (long long)x->member,
		      cs_members_find(x->members, x->member)
			      ? ""
			      : " (not in the members relation now)");
	cs_buf_printf(&x->out, "its transactions in the window %s, computed with the run's stored "
			       "config ('%s', rounding %s), next to the ledger lines the run "
			       "stored\n",
		      x->snapshot ? "as the run read them (its input snapshot, with the member "
				    "flags it used)"
				  : "as the database holds them now",
		      a->cfg->cooperative, cs_rounding_name(a->cfg->rounding));
}

/* A stored journal whose transaction the database no longer holds with the
 * member in the window: its stored lines. */
static void explain_gone(settle_explain *x)
{
	audit_run *a = x->a;
	const line_group *g = x->g;
	size_t i;

	x->gone++;
	cs_buf_printf(&x->out, "\ntransaction %lld: run %lld stored lines for it, but the "
			       "database no longer holds it with party %lld in the "
			       "window (verify --run %lld names what changed)\n",
		      (long long)g->journal, (long long)a->run.id, (long long)x->member,
		      (long long)a->run.id);
	for (i = 0; i < g->n; i++) {
		cs_buf_puts(&x->out, "    stored   ");
		line_text(&x->out, &g->lines[i], a->cfg);
		cs_buf_putc(&x->out, '\n');
	}
}

/* Walks the member's transactions and the stored journals side by side, by
 * id: each transaction explained next to its stored lines, each stored
 * journal whose transaction is gone shown on its own. Writes to f as the
 * output grows. */
static int explain_settle_walk(settle_explain *x, FILE *f, cs_error *err)
{
	line_group *g = x->g;
	int t_live = 0, l_live = 0, g_loaded = 0, step;

	for (;;) {
		int64_t tid = 0;
		int t_has_id = 0;

		if (!t_live) {
			if ((step = cs_cursor_next(&x->t, err)) < 0)
				return -1;
			t_live = step;
		}
		if (!g_loaded) {
			if (next_group(&x->l, &l_live, g, x->a->run.id, err) < 0)
				return -1;
			g_loaded = 1;
		}
		if (!t_live && !g->has)
			return 0;
		if (t_live)
			t_has_id = cs_parse_i64(cs_cursor_cell(&x->t, 0), &tid) == 0;
		if (t_live && (!g->has || !t_has_id || tid <= g->journal)) {
			int mine = g->has && t_has_id && tid == g->journal;

			if (explain_txn(x->a, &x->calc, x->members, &x->t, x->member, g->lines,
					mine ? g->n : 0, x->sums, &x->out, err) < 0)
				return -1;
			x->explained++;
			t_live = 0;
			if (mine)
				g_loaded = 0;
		} else {
			explain_gone(x);
			g_loaded = 0;
		}
		if (x->out.len >= OUT_FLUSH_BYTES && audit_put_out(f, &x->out, err) < 0)
			return -1;
	}
}

/* A settle run for one party: its transactions now, recomputed next to the
 * lines the run stored, then its totals. */
static int explain_settle(audit_run *a, int64_t member, FILE *f, cs_error *err)
{
	settle_explain x;
	line_group *g = calloc(1, sizeof(line_group));
	member_sums *sums = calloc(1, sizeof(member_sums));
	int rc = -1;

	CS_ASSERT(sums != NULL && g != NULL);
	memset(&x, 0, sizeof(x));
	x.a = a;
	x.member = member;
	x.members = cs_members_new();
	x.g = g;
	x.sums = sums;
	cs_buf_init(&x.out);
	cs_fee_calc_init(&x.calc, a->cfg);
	snprintf(x.run_text, sizeof(x.run_text), "%lld", (long long)a->run.id);
	snprintf(x.member_text, sizeof(x.member_text), "%lld", (long long)member);
	if (cs_source_members(a->db, a->cfg, x.members, 0, err) < 0 ||
	    open_member_txns(&x, err) < 0 || open_member_lines(&x, err) < 0)
		goto cleanup;
	explain_settle_head(&x);
	if (explain_settle_walk(&x, f, err) < 0)
		goto cleanup;
	if (x.explained == 0 && x.gone == 0)
		cs_buf_printf(&x.out, "\nparty %lld has no transaction in the window of run %lld\n",
			      (long long)member, (long long)a->run.id);
	if (explain_settle_totals(a, member, sums, &x.out, err) < 0 || audit_put_out(f, &x.out, err) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	cs_cursor_close(&x.t);
	cs_cursor_close(&x.l);
	cs_fee_calc_clear(&x.calc);
	cs_members_free(x.members);
	cs_buf_free(&x.out);
	free(sums);
	free(g);
	return rc;
}

/* ---- explain: distribute ---- */

/* The index of member in the rebuilt inputs d; a party that is not a member
 * is a usage error. */
static int dist_member_index(const audit_run *a, const cs_stored_dist *d, int64_t member,
			     size_t *m, cs_error *err)
{
	const cs_config *cfg = a->cfg;

	for (*m = 0; *m < d->in.n_members && d->in.members[*m].id != member; (*m)++)
		;
	if (*m < d->in.n_members)
		return 0;
	cs_error_set(err, CS_EXIT_USAGE, "member %lld is not in '%s.%s'", (long long)member,
		     cfg->source_members.schema, cfg->source_members.table);
	cs_error_hint(err, "A distribute run allocates to members only; explain a party of "
			   "a settle run with that run's id.");
	return -1;
}

/* What is explained: the run, member m as the members relation holds it now,
 * and the inputs rebuilt for it. */
/* Version 2: the member's memberships that overlap the window, from the
 * run's snapshot, and its days of membership of any class. */
static void member_periods_v2(cs_buf *out, const audit_run *a, const cs_stored_dist *d,
			      const cs_member *x)
{
	char from[16], to[16];
	size_t n, k;
	int c, any = 0;

	cs_buf_printf(out, "member %lld: memberships (the run's snapshot):", (long long)x->id);
	for (c = 0; c < CS_CLASSES_MAX; c++) {
		const cs_period *p = cs_members_periods(d->members, x, (cs_class)c, &n);

		for (k = 0; k < n; k++) {
			cs_day_text(from, sizeof(from), p[k].from_day);
			if (p[k].to_day == CS_DAY_OPEN)
				snprintf(to, sizeof(to), "open");
			else
				cs_day_text(to, sizeof(to), p[k].to_day);
			cs_buf_printf(out, "%s %s [%s, %s)", any++ ? "," : "",
				      cs_class_name((cs_class)c), from, to);
		}
	}
	cs_buf_printf(out, "; %lld day%s of membership of any class among the window's local "
			   "days %s to %s\n",
		      (long long)cs_membership_days(&d->in, x),
		      cs_membership_days(&d->in, x) == 1 ? "" : "s", a->first_day, a->last_day);
}

static void explain_dist_head(cs_buf *out, const audit_run *a, const cs_stored_dist *d, size_t m)
{
	const cs_config *cfg = a->cfg;
	const cs_member *x = &d->in.members[m];
	char day[16];
	size_t i;

	cs_buf_printf(out, "explain distribute run %lld [%s, %s), %s, for member %lld\n",
		      (long long)a->run.id, a->w.from_text, a->w.to_text, a->run.status,
		      (long long)x->id);
	if (cfg->version >= 2) {
		member_periods_v2(out, a, d, x);
	} else {
		cs_day_text(day, sizeof(day), x->joined_day);
		cs_buf_printf(out, "member %lld: class %s, joined %s", (long long)x->id,
			      cs_class_name(x->cls), day);
		if (x->has_left) {
			cs_day_text(day, sizeof(day), x->left_day);
			cs_buf_printf(out, ", left %s", day);
		}
		cs_buf_printf(out, ", paid-in capital %lld minor units of %s; %lld day%s of "
				   "membership among the window's local days %s to %s\n",
			      (long long)x->capital_minor, cfg->currencies[cfg->base_currency].code,
			      (long long)cs_membership_days(&d->in, x),
			      cs_membership_days(&d->in, x) == 1 ? "" : "s", a->first_day,
			      a->last_day);
	}
	cs_buf_printf(out, "inputs: %zu settle run%s of the window as they were when run %lld was "
			   "made:",
		      d->n_refs, d->n_refs == 1 ? "" : "s", (long long)a->run.id);
	for (i = 0; i < d->n_refs; i++)
		cs_buf_printf(out, " %lld", (long long)d->refs[i].id);
	if (cfg->version >= 2) {
		cs_buf_printf(out, "; the costs the run recorded; its snapshots of memberships and "
				   "capital; the balances of %zu earlier distribute run%s",
			      d->balances.n_runs, d->balances.n_runs == 1 ? "" : "s");
		for (i = 0; i < d->balances.n_runs; i++)
			cs_buf_printf(out, "%s %lld", i ? "," : ":",
				      (long long)d->balances.runs[i].id);
		cs_buf_putc(out, '\n');
	} else {
		cs_buf_puts(out, "; the costs the run recorded; the members relation now\n");
	}
	if (strcmp(d->input_sha256, a->run.input_sha256) == 0)
		cs_buf_puts(out, "these inputs hash to the run's input_sha256: they are exactly the "
				 "run's\n");
	else
		cs_buf_printf(out, "NOTE: these inputs hash to %s, not to the run's input_sha256 %s: "
				   "%s, so figures may differ from the stored ones (coopsettle verify "
				   "--run %lld)\n",
			      d->input_sha256, a->run.input_sha256,
			      cfg->version >= 2 ? "the run's snapshots were changed after it"
						: "the members or settle runs changed since the run",
			      (long long)a->run.id);
}

/* The member's stored allocation, each currency compared with member m's
 * recomputed one in res. */
static int explain_dist_stored(audit_run *a, int64_t member, const cs_surplus_result *res,
			       size_t m, cs_buf *out, cs_error *err)
{
	const cs_config *cfg = a->cfg;
	char run_text[24], member_text[24];
	const char *params[2] = {run_text, member_text};
	cs_db_rows rows;
	size_t i;

	snprintf(run_text, sizeof(run_text), "%lld", (long long)a->run.id);
	snprintf(member_text, sizeof(member_text), "%lld", (long long)member);
	if (cs_db_query(a->db,
			"SELECT currency, capital_interest_minor::text, patronage_minor::text,"
			" cash_minor::text, retained_minor::text FROM coopsettle.member_allocations"
			" WHERE run_id = $1::bigint AND member_id = $2::bigint"
			" ORDER BY currency COLLATE \"C\"",
			2, params, &rows, err) < 0)
		return -1;
	cs_buf_printf(out, "\nstored allocation of member %lld in run %lld:\n", (long long)member,
		      (long long)a->run.id);
	for (i = 0; i < rows.n_rows; i++) {
		const char *code = cs_db_cell(&rows, i, 0);
		int c = code ? cs_config_currency_index(cfg, code, strlen(code)) : -1;
		cs_i128 v[4];
		size_t k;
		int same = c >= 0;

		for (k = 0; k < 4; k++)
			if (audit_stored_amount(cs_db_cell(&rows, i, k + 1), &v[k], a->run.id, err) < 0) {
				cs_db_rows_free(&rows);
				return -1;
			}
		if (c >= 0) {
			const cs_surplus_alloc *x = &res->allocs[m * cfg->n_currencies + (size_t)c];

			same = x->capital_interest_minor == v[0] && x->patronage_minor == v[1] &&
			       x->cash_minor == v[2] && x->retained_minor == v[3];
		}
		cs_buf_printf(out, "  %s: capital interest %s, patronage %s (cash %s, retained %s): %s\n",
			      code ? code : "NULL", cs_db_cell(&rows, i, 1), cs_db_cell(&rows, i, 2),
			      cs_db_cell(&rows, i, 3), cs_db_cell(&rows, i, 4),
			      same ? "equal to the above" : "DIFFERENT from the above");
	}
	if (rows.n_rows == 0)
		cs_buf_puts(out, "  none (nothing was allocated to the member)\n");
	cs_db_rows_free(&rows);
	return 0;
}

/* A distribute run for one member: its inputs rebuilt, the waterfall
 * explained step by step, then the allocation the run stored. */
static int explain_distribute(audit_run *a, int64_t member, FILE *f, cs_error *err)
{
	cs_stored_dist d;
	cs_surplus_result res;
	cs_buf out;
	size_t m;
	int rc = -1, have_d = 0, have_res = 0;

	cs_buf_init(&out);
	if (cs_stored_dist_load(a->db, a->cfg, &a->run, &a->w, &d, err) < 0)
		goto cleanup;
	have_d = 1;
	if (dist_member_index(a, &d, member, &m, err) < 0 ||
	    cs_surplus_compute(&d.in, &res, err) < 0)
		goto cleanup;
	have_res = 1;
	explain_dist_head(&out, a, &d, m);
	cs_explain_waterfall(&out, &d.in, &res, m);
	if (explain_dist_stored(a, member, &res, m, &out, err) < 0 || audit_put_out(f, &out, err) < 0)
		goto cleanup;
	rc = 0;
cleanup:
	if (have_res)
		cs_surplus_result_free(&res);
	if (have_d)
		cs_stored_dist_free(&d);
	cs_buf_free(&out);
	return rc;
}

int cs_audit_explain(const char *conninfo, int64_t run_id, int64_t member, FILE *out,
		     cs_error *err)
{
	audit_run a;
	int rc = -1;

	if (audit_open(&a, conninfo, run_id, err) == 0)
		rc = strcmp(a.run.kind, "settle") == 0 ? explain_settle(&a, member, out, err)
						       : explain_distribute(&a, member, out, err);
	audit_close(&a);
	return rc;
}

/* ---- output files ---- */

/* Mode of a new output file: what the process's umask lets a new file have,
 * as any program that writes a file the user named. */
mode_t audit_umask_mode(void)
{
	mode_t mask = umask(0);

	umask(mask);
	return (mode_t)(0666 & ~mask);
}

/* Opens a new temporary file next to path (mkstemp: a name no one can
 * guess or pre-place, created exclusively, never through a symlink) with
 * permissions mode; tmp gets its name. The caller renames or removes it. */
FILE *audit_open_temp(const char *path, cs_buf *tmp, mode_t mode, cs_error *err)
{
	FILE *f;
	int fd;

	cs_buf_reset(tmp);
	cs_buf_printf(tmp, "%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp->data);
	if (fd < 0) {
		cs_error_set(err, cs_exit_for_errno(errno), "cannot create '%s': %s", path,
			     strerror(errno));
		return NULL;
	}
	if (fchmod(fd, mode) != 0 || (f = fdopen(fd, "wb")) == NULL) {
		cs_error_set(err, cs_exit_for_errno(errno), "cannot create '%s': %s", path,
			     strerror(errno));
		close(fd);
		unlink(tmp->data);
		return NULL;
	}
	return f;
}

/* Closes f and renames tmp to path -- rename replaces whatever path names
 * (a symlink included) without following it; on failure (or when ok is 0)
 * removes tmp. Messages name path, the file asked for. Returns 0 or -1 (err
 * filled unless it already was). */
int audit_close_temp(FILE *f, const char *tmp, const char *path, int ok, cs_error *err)
{
	int closed = fflush(f) == 0 && fsync(fileno(f)) == 0;

	closed = fclose(f) == 0 && closed;
	if (ok && !closed)
		cs_error_set(err, cs_exit_for_errno(errno), "cannot write '%s': %s", path,
			     strerror(errno));
	if (ok && closed && rename(tmp, path) != 0) {
		cs_error_set(err, cs_exit_for_errno(errno), "cannot write '%s': %s", path,
			     strerror(errno));
		closed = 0;
	}
	if (!ok || !closed) {
		unlink(tmp);
		return -1;
	}
	return 0;
}
