/*
 * settle_run.c -- the settle run: reading, computing and writing in one
 * transaction (see run.h), and the settle statement.
 */
#include "coopsettle/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coopsettle/bookkeeping.h"
#include "coopsettle/copybin.h"
#include "coopsettle/copypipe.h"
#include "coopsettle/db.h"
#include "coopsettle/failpoint.h"
#include "coopsettle/hash.h"
#include "coopsettle/inputs.h"
#include "coopsettle/json.h"
#include "coopsettle/limits.h"
#include "coopsettle/members.h"
#include "coopsettle/runcommon.h"
#include "coopsettle/schema.h"
#include "coopsettle/settle.h"
#include "coopsettle/source.h"
#include "coopsettle/util.h"

#ifndef CS_VERSION
#define CS_VERSION "0.0.0"
#endif

/* ---- the ledger sink: COPY text into coopsettle.ledger_lines ---- */

typedef struct line_sink {
	cs_db *db;
	const cs_config *cfg;
	int64_t run_id;
	cs_buf buf;
	cs_copypipe *pipe; /* sends buf's chunks from a second thread */
	const cs_run_taps *taps; /* dry run: verify's view of the lines */
} line_sink;

static int sink_flush(line_sink *k, cs_error *err)
{
	int rc = 0;

	if (k->pipe && k->buf.len) {
		rc = cs_copypipe_put(k->pipe, &k->buf, err);
		CS_FAILPOINT("during_copy");
	}
	cs_buf_reset(&k->buf);
	return rc;
}

static int sink_line(void *ctx, const cs_ledger_line *l, cs_error *err)
{
	line_sink *k = ctx;

	if (!k->db)
		return k->taps && k->taps->line ? k->taps->line(k->taps->ctx, l, err) : 0;
	cs_ledger_tuple(&k->buf, k->run_id, l->transaction_id, l->line_no, &l->transaction_id,
			k->cfg->rules[l->rule_index].id, l->account,
			l->has_party ? &l->party_id : NULL, k->cfg->currencies[l->currency].code,
			l->amount_minor, l->posted_day);
	if (k->buf.len >= CS_COPY_CHUNK_BYTES)
		return sink_flush(k, err);
	return 0;
}

/* ---- reading: rows into the settle core, with a progress line ---- */

typedef struct reader_ctx {
	cs_settle *settle;
	cs_input_spool *spool;   /* the input snapshot of a committing run */
	const cs_run_taps *taps; /* dry run: verify's view of the rows */
	int progress;
	int64_t total;
	int64_t rows;
	struct timespec start, last;
} reader_ctx;


static int64_t elapsed_ms(const struct timespec *a, const struct timespec *b)
{
	return (int64_t)(b->tv_sec - a->tv_sec) * 1000 + (b->tv_nsec - a->tv_nsec) / 1000000;
}

static void progress_print(reader_ctx *rc, int final)
{
	struct timespec now;
	int64_t ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!final && elapsed_ms(&rc->last, &now) < 250)
		return;
	rc->last = now;
	ms = elapsed_ms(&rc->start, &now);
	fprintf(stderr, "\rcoopsettle: %lld rows, %lld rows/s, %lld%% done   ",
		(long long)rc->rows, (long long)(ms > 0 ? rc->rows * 1000 / ms : rc->rows),
		(long long)(rc->total > 0 ? rc->rows * 100 / rc->total : 100));
	if (final)
		fputc('\n', stderr);
	fflush(stderr);
}

static int on_row(void *ctx, const cs_txn_row *row, cs_error *err)
{
	reader_ctx *rc = ctx;

	rc->rows++;
	if (rc->progress && (rc->rows & 1023) == 0)
		progress_print(rc, 0);
	CS_FAILPOINT("during_read");
	return cs_settle_row(rc->settle, row, err);
}

/* Each row as the core settles it, with the member flags it looked up:
 * to the input snapshot's spool and to verify's tap. */
static void on_settled_input(void *ctx, const cs_txn_row *row, int pm, int cm)
{
	reader_ctx *rc = ctx;

	if (rc->spool)
		cs_input_spool_row(rc->spool, row, pm, cm);
	if (rc->taps && rc->taps->input)
		rc->taps->input(rc->taps->ctx, row, pm, cm);
}

/* ---- settle ---- */

/* With VAT (spec 10.8, 10.8.3): the currency's VAT of both sides, and per
 * VAT account when the rules use more than one. */
static void statement_vat(cs_json *j, const cs_config *cfg, const cs_currency_total *c)
{
	size_t k;

	cs_json_key(j, "vat_minor");
	cs_json_int(j, c->vat_minor);
	if (cfg->n_vat_accounts < 2)
		return;
	cs_json_key(j, "vat");
	cs_json_object_begin(j);
	for (k = 0; k < cfg->n_vat_accounts; k++) {
		cs_json_key(j, cfg->vat_accounts[k]);
		cs_json_int(j, c->vat_by_account_minor[k]);
	}
	cs_json_object_end(j);
}

/*
 * The statement of spec section 8. The copy stored in coopsettle.runs leaves
 * out the parties (with_parties 0): their figures are the run's rows of
 * coopsettle.party_totals, and 200,000 of them made the run record 20 MB
 * (docs/auditing.md, docs/performance.md).
 */
static void settle_statement(cs_buf *out, const cs_run_opts *opts, const cs_settle *s,
			     int64_t run_id, const char *status, int with_parties)
{
	const cs_config *cfg = opts->cfg;
	cs_json j;
	size_t i, n;
	const cs_party_total *p = cs_settle_parties(s, &n);
	const cs_reject *rj;

	cs_buf_reset(out);
	cs_json_init(&j, out);
	cs_json_object_begin(&j);
	cs_statement_head(&j, run_id, "settle", status, &opts->window, cfg->sha256_hex,
			  cs_settle_input_hash(s), cs_settle_output_hash(s));
	cs_json_key(&j, "currencies");
	cs_json_object_begin(&j);
	for (i = 0; i < cfg->n_currencies; i++) {
		const cs_currency_total *c = cs_settle_currency_total(s, i);

		cs_json_key(&j, cfg->currencies[i].code);
		cs_json_object_begin(&j);
		cs_json_key(&j, "transactions");
		cs_json_int(&j, c->transactions);
		cs_json_key(&j, "gross_minor");
		cs_json_int(&j, c->gross_minor);
		cs_json_key(&j, "fees_minor");
		cs_json_int(&j, c->fees_minor);
		cs_json_key(&j, "fees_producer_minor");
		cs_json_int(&j, c->fees_producer_minor);
		cs_json_key(&j, "fees_consumer_minor");
		cs_json_int(&j, c->fees_consumer_minor);
		if (cfg->n_fund_accounts) { /* spec 10.7.9: with fee funds */
			size_t k;

			cs_json_key(&j, "fee_income_minor");
			cs_json_int(&j, c->fee_income_minor);
			cs_json_key(&j, "funds");
			cs_json_object_begin(&j);
			for (k = 0; k < cfg->n_fund_accounts; k++) {
				cs_json_key(&j, cfg->fund_accounts[k]);
				cs_json_int(&j, c->funds_minor[k]);
			}
			cs_json_object_end(&j);
		}
		if (cfg->has_vat) /* spec 10.8: with VAT */
			statement_vat(&j, cfg, c);
		cs_json_object_end(&j);
	}
	cs_json_object_end(&j);
	if (with_parties) {
		cs_json_key(&j, "parties");
		cs_json_array_begin(&j);
		for (i = 0; i < n; i++) {
			cs_json_object_begin(&j);
			cs_json_key(&j, "id");
			cs_json_int(&j, p[i].party_id);
			cs_json_key(&j, "side");
			cs_json_string(&j, cs_class_name(p[i].side));
			cs_json_key(&j, "currency");
			cs_json_string(&j, cfg->currencies[p[i].currency].code);
			cs_json_key(&j, "transactions");
			cs_json_int(&j, p[i].transactions);
			cs_json_key(&j, "gross_minor");
			cs_json_int(&j, p[i].gross_minor);
			cs_json_key(&j, "fees_minor");
			cs_json_int(&j, p[i].fees_minor);
			if (p[i].member >= 0) { /* version 2 (spec 10.1) */
				cs_json_key(&j, "member");
				cs_json_bool(&j, p[i].member);
			}
			if (cfg->has_vat) {
				cs_json_key(&j, "vat_minor");
				cs_json_int(&j, p[i].vat_minor);
			}
			cs_json_object_end(&j);
		}
		cs_json_array_end(&j);
	}
	cs_json_key(&j, "rejected");
	cs_json_array_begin(&j);
	rj = cs_settle_rejects(s, &n);
	for (i = 0; i < n; i++) {
		cs_json_object_begin(&j);
		cs_json_key(&j, "id");
		if (rj[i].has_id)
			cs_json_int(&j, rj[i].id);
		else
			cs_json_null(&j);
		cs_json_key(&j, "reason");
		cs_json_string(&j, rj[i].reason);
		cs_json_object_end(&j);
	}
	cs_json_array_end(&j);
	cs_json_object_end(&j);
	cs_buf_putc(out, '\n');
}

/* The first line of a summary: the run and what became of it. */
static void summary_head(cs_buf *out, const char *kind, const cs_run_result *res, int dry_run)
{
	if (strcmp(res->status, "unchanged") == 0)
		cs_buf_printf(out, "%s run %lld: unchanged (the committed run of this window; "
				   "nothing was written)\n",
			      kind, (long long)res->run_id);
	else if (res->run_id)
		cs_buf_printf(out, "%s run %lld: %s\n", kind, (long long)res->run_id, res->status);
	else
		cs_buf_printf(out, "%s: %s%s\n", kind, res->status,
			      dry_run ? " (nothing was written)" : "");
}

static void settle_summary(cs_buf *out, const cs_run_opts *opts, const cs_settle *s,
			   const cs_run_result *res)
{
	const cs_config *cfg = opts->cfg;
	size_t i, n;
	const cs_reject *rj;

	cs_buf_reset(out);
	summary_head(out, "settle", res, opts->dry_run);
	cs_buf_printf(out, "  window     [%s, %s)\n", opts->window.from_text, opts->window.to_text);
	cs_buf_printf(out, "  rows read  %lld, ledger lines %lld\n",
		      (long long)cs_settle_rows_read(s), (long long)cs_settle_lines_count(s));
	for (i = 0; i < cfg->n_currencies; i++) {
		const cs_currency_total *c = cs_settle_currency_total(s, i);

		cs_buf_printf(out, "  %-10s ", cfg->currencies[i].code);
		cs_buf_put_i128(out, c->transactions);
		cs_buf_printf(out, " transaction%s, gross ", c->transactions == 1 ? "" : "s");
		cs_run_put_amount(out, cfg, i, c->gross_minor);
		cs_buf_puts(out, ", fees ");
		cs_run_put_amount(out, cfg, i, c->fees_minor);
		cs_buf_puts(out, " (producer ");
		cs_run_put_amount(out, cfg, i, c->fees_producer_minor);
		cs_buf_puts(out, ", consumer ");
		cs_run_put_amount(out, cfg, i, c->fees_consumer_minor);
		cs_buf_putc(out, ')');
		if (cfg->has_vat) { /* spec 10.8: the VAT on them, both sides */
			cs_buf_puts(out, ", VAT ");
			cs_run_put_amount(out, cfg, i, c->vat_minor);
		}
		cs_buf_putc(out, '\n');
	}
	rj = cs_settle_rejects(s, &n);
	cs_run_summary_rejects(out, rj, n);
	if (res->supersedes)
		cs_buf_printf(out, "  %s run %lld\n",
			      opts->dry_run ? "would supersede" : "supersedes",
			      (long long)res->supersedes);
	if (opts->reason)
		cs_buf_printf(out, "  reason     %s\n", cs_text_shown(opts->reason));
	cs_buf_printf(out, "  config     %s\n  input      %s\n  output     %s\n",
		      cfg->sha256_hex, res->input_hash, res->output_hash);
}

/*
 * COPY of the party totals of run id, in the order of the table's unique
 * index (run_id, side, party_id, currency, member): the consumer side first,
 * as 'consumer' sorts before 'producer', then the producer side, each in the
 * core's order (party, currency, member). The core sorts producers first
 * (the canonical order); sent that way, every consumer row went into the
 * middle of the index, whose pages then split in halves: 233,040 rows took
 * 0.89-0.94 s to COPY that way and 0.57-0.60 s in index order
 * (docs/performance.md, "Config version 2"). Only the order of the rows in
 * the table changes; readers sort or sum them.
 */
static int write_party_totals(cs_db *w, const cs_config *cfg, const cs_settle *s, int64_t id,
			      cs_buf *b, cs_error *err)
{
	size_t i, k, n, first_consumer = 0;
	const cs_party_total *p = cs_settle_parties(s, &n);

	while (first_consumer < n && p[first_consumer].side == CS_CLASS_PRODUCER)
		first_consumer++;
	if (cs_db_copy_in_begin(w,
				"COPY coopsettle.party_totals (run_id, party_id, side, currency,"
				" transactions, gross_minor, fees_minor, member, vat_minor) FROM STDIN",
				err) < 0)
		return -1;
	cs_buf_reset(b);
	for (k = 0; k < n; k++) {
		i = (first_consumer + k) % n; /* consumers [first_consumer, n), then producers */
		cs_buf_printf(b, "%lld\t%lld\t%s\t%s\t%lld\t", (long long)id,
			      (long long)p[i].party_id, cs_class_name(p[i].side),
			      cfg->currencies[p[i].currency].code, (long long)p[i].transactions);
		cs_buf_put_i128(b, p[i].gross_minor);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, p[i].fees_minor);
		cs_buf_puts(b, p[i].member < 0 ? "\t\\N\t" : p[i].member ? "\tt\t" : "\tf\t");
		if (cfg->has_vat) /* without VAT: NULL */
			cs_buf_put_i128(b, p[i].vat_minor);
		else
			cs_buf_puts(b, "\\N");
		cs_buf_putc(b, '\n');
		if (b->len >= CS_COPY_CHUNK_BYTES || k + 1 == n) {
			if (cs_db_copy_in_put(w, b->data, b->len, err) < 0)
				return -1;
			cs_buf_reset(b);
		}
	}
	if (cs_db_copy_in_end(w, err) < 0)
		return -1;
	return cs_db_expect_stored(w, "coopsettle.party_totals", (int64_t)n, err);
}

/* COPY of the currency totals of run id (one row per configured currency). */
static int write_currency_totals(cs_db *w, const cs_config *cfg, const cs_settle *s, int64_t id,
				 cs_buf *b, cs_error *err)
{
	size_t i;

	if (cs_db_copy_in_begin(w,
				"COPY coopsettle.currency_totals (run_id, currency, transactions,"
				" gross_minor, fees_minor, fees_producer_minor, fees_consumer_minor,"
				" fee_income_minor, vat_minor) FROM STDIN",
				err) < 0)
		return -1;
	cs_buf_reset(b);
	for (i = 0; i < cfg->n_currencies; i++) {
		const cs_currency_total *c = cs_settle_currency_total(s, i);

		cs_buf_printf(b, "%lld\t%s\t%lld\t", (long long)id, cfg->currencies[i].code,
			      (long long)c->transactions);
		cs_buf_put_i128(b, c->gross_minor);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, c->fees_minor);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, c->fees_producer_minor);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, c->fees_consumer_minor);
		cs_buf_putc(b, '\t');
		if (cfg->n_fund_accounts) /* without funds: NULL, the fee income is fees_minor */
			cs_buf_put_i128(b, c->fee_income_minor);
		else
			cs_buf_puts(b, "\\N");
		cs_buf_putc(b, '\t');
		if (cfg->has_vat) /* without VAT: NULL */
			cs_buf_put_i128(b, c->vat_minor);
		else
			cs_buf_puts(b, "\\N");
		cs_buf_putc(b, '\n');
	}
	if ((b->len && cs_db_copy_in_put(w, b->data, b->len, err) < 0) ||
	    cs_db_copy_in_end(w, err) < 0)
		return -1;
	return cs_db_expect_stored(w, "coopsettle.currency_totals", (int64_t)cfg->n_currencies,
				   err);
}

/* COPY of the rejected rows of run id, when there are any. */
static int write_rejects(cs_db *w, const cs_settle *s, int64_t id, cs_buf *b, cs_error *err)
{
	size_t i, n;
	const cs_reject *rj = cs_settle_rejects(s, &n);

	if (n == 0)
		return 0;
	cs_buf_reset(b);
	if (cs_db_copy_in_begin(w,
				"COPY coopsettle.settlement_rejects (run_id, ordinal,"
				" transaction_id, reason) FROM STDIN",
				err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		cs_buf_printf(b, "%lld\t%zu\t", (long long)id, i + 1);
		if (rj[i].has_id)
			cs_buf_put_i128(b, rj[i].id);
		else
			cs_buf_puts(b, "\\N");
		cs_buf_putc(b, '\t');
		cs_copybin_escape_text(b, rj[i].reason, strlen(rj[i].reason));
		cs_buf_putc(b, '\n');
	}
	if (cs_db_copy_in_put(w, b->data, b->len, err) < 0 || cs_db_copy_in_end(w, err) < 0)
		return -1;
	return cs_db_expect_stored(w, "coopsettle.settlement_rejects", (int64_t)n, err);
}

/* The membership snapshot as COPY text, counted. */
typedef struct period_copy {
	int64_t run_id;
	cs_buf *b;
	int64_t n;
} period_copy;

static void period_row(void *ctx, int64_t id, cs_class cls, const cs_period *p)
{
	period_copy *pc = ctx;
	char day[16];

	cs_buf_printf(pc->b, "%lld\t%lld\t%s\t", (long long)pc->run_id, (long long)id,
		      cs_class_name(cls));
	cs_day_text(day, sizeof(day), p->from_day);
	cs_buf_puts(pc->b, day);
	if (p->to_day == CS_DAY_OPEN) {
		cs_buf_puts(pc->b, "\t\\N\n");
	} else {
		cs_day_text(day, sizeof(day), p->to_day);
		cs_buf_printf(pc->b, "\t%s\n", day);
	}
	pc->n++;
}

/* Config version 2: the memberships the run read for its settled parties
 * (their snapshot: verify recomputes the run from it, spec 10.4). */
static int write_memberships(cs_db *w, const cs_settle *s, int64_t id, cs_buf *b, cs_error *err)
{
	period_copy pc = {id, b, 0};

	cs_buf_reset(b);
	cs_settle_memberships(s, period_row, &pc);
	if (cs_db_copy_in_begin(w,
				"COPY coopsettle.run_memberships (run_id, member_id, class, joined_on,"
				" left_on) FROM STDIN",
				err) < 0 ||
	    (b->len && cs_db_copy_in_put(w, b->data, b->len, err) < 0) ||
	    cs_db_copy_in_end(w, err) < 0)
		return -1;
	return cs_db_expect_stored(w, "coopsettle.run_memberships", pc.n, err);
}

/* Writes the party totals, currency totals, rejects and (config version 2)
 * the membership snapshot of run id. */
static int write_totals(cs_db *w, const cs_config *cfg, const cs_settle *s, int64_t id,
			cs_error *err)
{
	cs_buf b;
	int rc;

	cs_buf_init(&b);
	rc = write_party_totals(w, cfg, s, id, &b, err);
	if (rc == 0)
		rc = write_currency_totals(w, cfg, s, id, &b, err);
	if (rc == 0)
		rc = write_rejects(w, s, id, &b, err);
	if (rc == 0 && cfg->version >= 2)
		rc = write_memberships(w, s, id, &b, err);
	cs_buf_free(&b);
	return rc;
}

/* Fills err with the invalid-rows abort of spec section 4 (exit 3). */
static int abort_invalid(const cs_settle *s, cs_error *err)
{
	size_t i, n;
	const cs_reject *rj = cs_settle_rejects(s, &n);
	cs_buf d;

	cs_buf_init(&d);
	for (i = 0; i < n && i < CS_REJECTS_PRINTED_MAX; i++) {
		if (rj[i].has_id)
			cs_buf_printf(&d, "%stransaction %lld: %s", i ? "\n" : "",
				      (long long)rj[i].id, rj[i].reason);
		else
			cs_buf_printf(&d, "%stransaction NULL: %s", i ? "\n" : "", rj[i].reason);
	}
	if (n > CS_REJECTS_PRINTED_MAX)
		cs_buf_printf(&d, "\n... and %zu more", n - CS_REJECTS_PRINTED_MAX);
	cs_error_set(err, CS_EXIT_DATA, "%zu invalid transaction%s in the window; nothing was written",
		     n, n == 1 ? "" : "s");
	cs_error_detail(err, "%s", d.data ? d.data : "");
	cs_error_hint(err, "Correct the rows, or set 'on_invalid: quarantine' to settle the valid "
			   "ones and store the invalid ones in coopsettle.settlement_rejects.");
	cs_buf_free(&d);
	return -1;
}

/* One settle run: its connections and what it has built so far. */
typedef struct settle_run {
	const cs_run_opts *opts;
	cs_run_result *res;
	cs_db *r, *w; /* reader; writer (NULL for a dry run) */
	cs_members *members;
	cs_day_map days; /* the window's local days */
	cs_settle *s;
	line_sink sink;
	reader_ctx rc;
	cs_run_ref old_ref; /* the committed run of exactly this window */
	int equal;          /* old_ref is set */
	int recheck;        /* equal without --supersede: compare, never write */
	int64_t old, id;    /* the run superseded (0: none); this run's id */
	int writing;        /* the writer's transaction is open */
} settle_run;

/* Connects; refuses an open window (the command); finds the committed run
 * of this window, if any -- a real run on the writer, under the lock, a dry
 * run of the command on the reader, as the real run would. A real run that
 * will write draws its id and opens the input snapshot's spool. */
static int settle_open(settle_run *sr, cs_error *err)
{
	const cs_run_opts *opts = sr->opts;

	sr->r = cs_db_connect(opts->conninfo, err);
	if (!sr->r || cs_run_check_storable(sr->r, opts->cfg, err) < 0)
		return -1;
	if (opts->command && ((opts->dry_run && cs_schema_check(sr->r, err) < 0) ||
			      cs_run_check_closed(sr->r, opts, err) < 0))
		return -1;
	if (!opts->dry_run) {
		sr->w = cs_db_connect(opts->conninfo, err);
		if (!sr->w ||
		    cs_run_begin_write(sr->w, opts, "settle", &sr->equal, &sr->old_ref, err) < 0)
			return -1;
		CS_FAILPOINT("after_lock");
		sr->writing = 1;
	} else if (opts->command &&
		   cs_run_find_conflict(sr->r, opts, "settle", &sr->equal, &sr->old_ref, err) < 0) {
		return -1;
	}
	if (sr->equal && opts->supersede)
		sr->old = sr->old_ref.id;
	sr->recheck = sr->equal && !opts->supersede;
	if (sr->w && !sr->recheck) {
		if (cs_run_next_id(sr->w, &sr->id, err) < 0)
			return -1;
		sr->sink.db = sr->w;
		if (!(sr->rc.spool = cs_input_spool_new(sr->id, err)))
			return -1;
	}
	sr->sink.cfg = opts->cfg;
	sr->sink.run_id = sr->id;
	if (opts->dry_run)
		sr->sink.taps = sr->rc.taps = opts->taps;
	return 0;
}

/* Reads the members and streams the window's rows through the core; the
 * ledger lines go to the writer's COPY as they are made (a dry run only
 * counts and hashes them). The reader's snapshot is taken after the lock:
 * it sees every committed run and every row committed before us. */
static int settle_read(settle_run *sr, cs_error *err)
{
	const cs_run_opts *opts = sr->opts;
	reader_ctx *rc = &sr->rc;

	if (cs_source_begin_read(sr->r, opts->cfg, err) < 0 ||
	    cs_source_members(sr->r, opts->cfg, sr->members, 0, err) < 0)
		return -1;
	cs_day_map_init(&sr->days, &opts->window);
	if (opts->cfg->version >= 2) /* memberships on the rows' days (spec 10.1) */
		cs_members_window(sr->members, sr->days.first_day,
				  sr->days.first_day + (int64_t)sr->days.n_days);
	sr->s = cs_settle_new(opts->cfg, sr->members, sink_line, &sr->sink);
	cs_settle_use_days(sr->s, &sr->days);
	if (rc->spool || (rc->taps && rc->taps->input))
		cs_settle_on_input(sr->s, on_settled_input, rc);
	rc->settle = sr->s;
	rc->progress = opts->progress;
	if (opts->progress && cs_source_count(sr->r, opts->cfg, &opts->window, &rc->total, err) < 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &rc->start);
	rc->last = rc->start;
	if (sr->sink.db && !(sr->sink.pipe = cs_ledger_copy_open(sr->w, &sr->sink.buf, err)))
		return -1;
	if (cs_source_transactions(sr->r, opts->cfg, &opts->window, on_row, rc, err) < 0)
		return -1;
	CS_FAILPOINT("after_read");
	if (cs_settle_finish(sr->s, err) < 0 || sink_flush(&sr->sink, err) < 0)
		return -1;
	if (sr->sink.pipe) {
		cs_copypipe *pipe = sr->sink.pipe;

		sr->sink.pipe = NULL; /* closed whatever happens */
		if (cs_copypipe_close(pipe, &sr->sink.buf, err) < 0 ||
		    cs_db_expect_stored(sr->w, "coopsettle.ledger_lines",
					cs_settle_lines_count(sr->s), err) < 0)
			return -1;
	}
	if (opts->progress)
		progress_print(rc, 1);
	cs_db_exec(sr->r, "COMMIT", 0, NULL, err);
	return 0;
}

/* Decides what the run is -- invalid rows (exit 3), unchanged (rolled
 * back), changed without --supersede (exit 4), a dry run, or committed --
 * and writes the rest of a committing run: the input snapshot, the totals,
 * the run record; then COMMIT. */
static int settle_write(settle_run *sr, cs_error *err)
{
	const cs_run_opts *opts = sr->opts;
	cs_run_result *res = sr->res;
	size_t n_rejects;

	snprintf(res->input_hash, sizeof(res->input_hash), "%s", cs_settle_input_hash(sr->s));
	snprintf(res->output_hash, sizeof(res->output_hash), "%s", cs_settle_output_hash(sr->s));
	res->rows_read = cs_settle_rows_read(sr->s);
	res->lines_written = cs_settle_lines_count(sr->s);
	cs_settle_rejects(sr->s, &n_rejects);
	if (n_rejects && opts->cfg->on_invalid == CS_ON_INVALID_ABORT) {
		settle_statement(&res->statement, opts, sr->s, 0, res->status, !opts->summary_only);
		return abort_invalid(sr->s, err);
	}
	if (sr->equal && cs_run_unchanged(&sr->old_ref, res->input_hash, res->output_hash)) {
		res->status = "unchanged";
		res->run_id = sr->old_ref.id;
		cs_run_rollback(sr->w);
		sr->writing = 0;
		return 0;
	}
	if (sr->recheck)
		return cs_run_refuse_changed(sr->r, opts, "settle", &sr->old_ref, res, err);
	res->supersedes = sr->old;
	if (!sr->w)
		return 0;
	res->run_id = sr->id;
	res->supersedes = sr->old;
	settle_statement(&res->statement, opts, sr->s, sr->id, "committed", 0);
	CS_FAILPOINT("before_totals");
	if (cs_input_spool_copy(sr->rc.spool, sr->w, err) < 0 ||
	    write_totals(sr->w, opts->cfg, sr->s, sr->id, err) < 0 ||
	    cs_run_finish_write(sr->w, opts, "settle", sr->id, sr->old, res->input_hash,
				res->output_hash, res->lines_written, res->statement.data, &sr->old,
				sr->old ? 1 : 0, err) < 0)
		return -1;
	sr->writing = 0;
	return 0;
}

/* Stops the sender, rolls back what is still open and frees the run. */
static void settle_close(settle_run *sr, int failed, cs_error *err)
{
	if (sr->sink.pipe) { /* stop the sender before the connection goes */
		cs_error ignored;

		cs_copypipe_finish(sr->sink.pipe, &ignored);
	}
	if (failed)
		cs_run_name_lost_connection(sr->r, sr->w, err);
	if (sr->writing)
		cs_run_rollback(sr->w);
	cs_db_close(sr->r);
	cs_db_close(sr->w);
	cs_settle_free(sr->s);
	cs_members_free(sr->members);
	cs_day_map_free(&sr->days);
	cs_buf_free(&sr->sink.buf);
	cs_input_spool_free(sr->rc.spool);
}

int cs_run_settle(const cs_run_opts *opts, cs_run_result *res, cs_error *err)
{
	settle_run sr;
	int rc;

	memset(&sr, 0, sizeof(sr));
	sr.opts = opts;
	sr.res = res;
	sr.members = cs_members_new();
	cs_buf_init(&sr.sink.buf);
	res->status = opts->dry_run ? "dry_run" : "committed";

	rc = settle_open(&sr, err);
	if (rc == 0)
		rc = settle_read(&sr, err);
	if (rc == 0)
		rc = settle_write(&sr, err);
	if (rc == 0) {
		settle_statement(&res->statement, opts, sr.s, res->run_id, res->status,
				 !opts->summary_only);
		settle_summary(&res->summary, opts, sr.s, res);
		if (opts->dry_run && opts->restate_run_id)
			settle_statement(&res->restated, opts, sr.s, opts->restate_run_id,
					 "committed", 0);
		if (opts->command)
			cs_run_report_command(sr.r, opts, "settle", sr.old ? &sr.old_ref : NULL, res);
	}
	settle_close(&sr, rc < 0, err);
	return rc < 0 ? -1 : 0;
}
