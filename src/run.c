/*
 * run.c -- the settle run: reading, computing and writing in one
 * transaction (see run.h), and the settle statement.
 */
#include "coopsettle/run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

void cs_run_result_init(cs_run_result *res)
{
	memset(res, 0, sizeof(*res));
	cs_buf_init(&res->statement);
	cs_buf_init(&res->summary);
}

void cs_run_result_free(cs_run_result *res)
{
	cs_buf_free(&res->statement);
	cs_buf_free(&res->summary);
}

void cs_copy_text(cs_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		switch (c) {
		case '\\':
			cs_buf_puts(b, "\\\\");
			break;
		case '\t':
			cs_buf_puts(b, "\\t");
			break;
		case '\n':
			cs_buf_puts(b, "\\n");
			break;
		case '\r':
			cs_buf_puts(b, "\\r");
			break;
		default:
			cs_buf_putc(b, c);
		}
	}
}

void cs_run_record_canonical(cs_buf *out, int64_t id, const char *kind, int64_t from_us,
			     int64_t to_us, const char *config_sha256, const char *input_sha256,
			     const char *output_sha256, const char *engine_version,
			     const char *created_at, int64_t supersedes,
			     const char *prev_record_sha256)
{
	cs_buf_printf(out,
		      "coopsettle run record v1\nid=%lld\nkind=%s\nwindow_from_us=%lld\n"
		      "window_to_us=%lld\nconfig_sha256=%s\ninput_sha256=%s\noutput_sha256=%s\n"
		      "engine_version=%s\ncreated_at=%s\n",
		      (long long)id, kind, (long long)from_us, (long long)to_us, config_sha256,
		      input_sha256, output_sha256, engine_version, created_at);
	if (supersedes)
		cs_buf_printf(out, "supersedes=%lld\n", (long long)supersedes);
	else
		cs_buf_puts(out, "supersedes=\\N\n");
	cs_buf_printf(out, "prev_record_sha256=%s\n",
		      prev_record_sha256 ? prev_record_sha256 : "\\N");
}

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

cs_copypipe *cs_ledger_copy_open(cs_db *w, cs_buf *b, cs_error *err)
{
	return cs_copypipe_open(w,
				"COPY coopsettle.ledger_lines (run_id, entry, journal, line_no,"
				" transaction_id, rule_id, account, party_id, currency,"
				" amount_minor) FROM STDIN (FORMAT binary)",
				b, err);
}

static void put_int8_or_null(cs_buf *b, const int64_t *v)
{
	if (v)
		cs_copybin_put_int8(b, *v);
	else
		cs_copybin_put_null(b);
}

static void put_text_or_null(cs_buf *b, const char *s)
{
	if (s)
		cs_copybin_put_text(b, s, strlen(s));
	else
		cs_copybin_put_null(b);
}

/* A posted line as a binary COPY tuple (the server parses no text;
 * docs/performance.md has the figures). Runs for every ledger line. */
void cs_ledger_tuple(cs_buf *b, int64_t run_id, int64_t journal, int64_t line_no,
		     const int64_t *transaction_id, const char *rule_id, const char *account,
		     const int64_t *party_id, const char *currency, cs_i128 amount)
{
	CS_ASSERT(line_no > 0 && line_no <= INT32_MAX);
	cs_copybin_put_nfields(b, 10);
	cs_copybin_put_int8(b, run_id);
	cs_copybin_put_text(b, "post", 4);
	cs_copybin_put_int8(b, journal);
	cs_copybin_put_int4(b, (int32_t)line_no);
	put_int8_or_null(b, transaction_id);
	put_text_or_null(b, rule_id);
	put_text_or_null(b, account);
	put_int8_or_null(b, party_id);
	put_text_or_null(b, currency);
	cs_copybin_put_numeric(b, amount);
}

/* One settled ledger line: journal = its transaction (spec section 5). */
static int sink_line(void *ctx, const cs_ledger_line *l, cs_error *err)
{
	line_sink *k = ctx;

	if (!k->db)
		return k->taps && k->taps->line ? k->taps->line(k->taps->ctx, l, err) : 0;
	cs_ledger_tuple(&k->buf, k->run_id, l->transaction_id, l->line_no, &l->transaction_id,
			k->cfg->rules[l->rule_index].id, k->cfg->accounts[l->account],
			l->has_party ? &l->party_id : NULL, k->cfg->currencies[l->currency].code,
			l->amount_minor);
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

/* ---- shared pieces (runcommon.h) ---- */

void cs_run_rollback(cs_db *w)
{
	cs_error ignored;

	/* only an open transaction: a second ROLLBACK would make the server
	 * warn "there is no transaction in progress" on stderr */
	if (w && cs_db_in_transaction(w))
		cs_db_exec(w, "ROLLBACK", 0, NULL, &ignored);
}

int cs_cell_i64(const cs_db_rows *rows, size_t r, size_t c, int64_t *out)
{
	return cs_parse_i64(cs_db_cell(rows, r, c), out);
}

int cs_run_begin_write(cs_db *w, const cs_run_opts *opts, const char *kind, int64_t *old,
		       cs_run_ref *old_ref, cs_error *err)
{
	cs_db_rows rows;
	char from[24], to[24];
	const char *params[3];
	size_t i;
	int equal;

	*old = 0;
	if (cs_db_exec(w, "BEGIN ISOLATION LEVEL READ COMMITTED", 0, NULL, err) < 0)
		return -1;
	if (cs_db_exec(w, "SELECT pg_catalog.pg_advisory_xact_lock(" CS_ADVISORY_LOCK_KEY ")", 0,
		       NULL, err) < 0 ||
	    cs_schema_check(w, err) < 0)
		goto fail;
	snprintf(from, sizeof(from), "%lld", (long long)opts->window.from_us);
	snprintf(to, sizeof(to), "%lld", (long long)opts->window.to_us);
	params[0] = kind;
	params[1] = from;
	params[2] = to;
	if (cs_db_query(w,
			"SELECT id, window_from_us, window_to_us, window_from_text, window_to_text,"
			" output_sha256 FROM coopsettle.runs WHERE kind = $1 AND status = 'committed'"
			" AND window_from_us < $3::bigint AND window_to_us > $2::bigint ORDER BY id",
			3, params, &rows, err) < 0)
		goto fail;
	if (rows.n_rows == 0) {
		cs_db_rows_free(&rows);
		return 0;
	}
	memset(old_ref, 0, sizeof(*old_ref));
	cs_cell_i64(&rows, 0, 0, &old_ref->id);
	cs_cell_i64(&rows, 0, 1, &old_ref->from_us);
	cs_cell_i64(&rows, 0, 2, &old_ref->to_us);
	snprintf(old_ref->from_text, sizeof(old_ref->from_text), "%s", cs_db_cell(&rows, 0, 3));
	snprintf(old_ref->to_text, sizeof(old_ref->to_text), "%s", cs_db_cell(&rows, 0, 4));
	snprintf(old_ref->output_sha256, sizeof(old_ref->output_sha256), "%s",
		 cs_db_cell(&rows, 0, 5));
	equal = rows.n_rows == 1 && old_ref->from_us == opts->window.from_us &&
		old_ref->to_us == opts->window.to_us;
	if (opts->supersede && equal) {
		*old = old_ref->id;
		cs_db_rows_free(&rows);
		return 0;
	}
	cs_error_set(err, CS_EXIT_CONFLICT,
		     "window [%s, %s) overlaps committed %s run %lld [%s, %s)",
		     opts->window.from_text, opts->window.to_text, kind, (long long)old_ref->id,
		     old_ref->from_text, old_ref->to_text);
	if (rows.n_rows > 1) {
		cs_buf more;

		cs_buf_init(&more);
		cs_buf_puts(&more, "overlapping committed runs:");
		for (i = 0; i < rows.n_rows; i++)
			cs_buf_printf(&more, " %s [%s, %s)", cs_db_cell(&rows, i, 0),
				      cs_db_cell(&rows, i, 3), cs_db_cell(&rows, i, 4));
		cs_error_detail(err, "%s", more.data);
		cs_buf_free(&more);
	}
	if (equal)
		cs_error_hint(err, "Re-run with --supersede to replace it with corrected figures.");
	else
		cs_error_hint(err, "Settle a window that does not overlap committed runs, or "
				   "supersede a committed run with exactly its window.");
	cs_db_rows_free(&rows);
fail:
	cs_run_rollback(w);
	return -1;
}

int cs_run_begin_read(cs_db *r, const cs_config *cfg, cs_error *err)
{
	const char *params[1] = {cfg->timezone};

	if (cs_db_exec(r, "SELECT pg_catalog.set_config('TimeZone', $1, false)", 1, params,
		       err) < 0)
		return -1;
	return cs_db_exec(r, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, err);
}

int cs_run_next_id(cs_db *w, int64_t *id, cs_error *err)
{
	cs_db_rows rows;
	int rc;

	if (cs_db_query(w, "SELECT pg_catalog.nextval('coopsettle.runs_id_seq')", 0, NULL, &rows,
			err) < 0)
		return -1;
	rc = cs_cell_i64(&rows, 0, 0, id);
	cs_db_rows_free(&rows);
	if (rc < 0)
		return cs_error_set(err, CS_EXIT_RUNTIME, "unexpected run id from the sequence");
	return 0;
}

/* The writer's connection w was lost during COMMIT, so the server may or
 * may not have committed run id. Asks on a new connection, once w's backend
 * has ended (its transaction is then decided either way). Returns 1 when the
 * run is there, 0 when it certainly is not, -1 when we cannot tell. */
static int commit_outcome(const cs_run_opts *opts, const cs_db *w, int64_t id)
{
	cs_error ignored;
	cs_db *db = cs_db_connect(opts->conninfo, &ignored);
	cs_db_rows rows;
	char pid_text[24], id_text[24];
	const char *param;
	const struct timespec step = {0, 50 * 1000000L};
	int waited_ms, rc = -1;
	size_t n = 1;

	if (!db)
		return -1;
	snprintf(pid_text, sizeof(pid_text), "%d", cs_db_backend_pid(w));
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	param = pid_text;
	for (waited_ms = 0; n && waited_ms <= CS_LOST_COMMIT_WAIT_MS; waited_ms += 50) {
		if (cs_db_query(db,
				"SELECT 1 FROM pg_catalog.pg_stat_activity WHERE pid = $1::integer",
				1, &param, &rows, &ignored) < 0)
			goto cleanup;
		n = rows.n_rows;
		cs_db_rows_free(&rows);
		if (n)
			nanosleep(&step, NULL);
	}
	if (n)
		goto cleanup; /* still running: its COMMIT is not decided yet */
	param = id_text;
	if (cs_db_query(db, "SELECT 1 FROM coopsettle.runs WHERE id = $1::bigint", 1, &param, &rows,
			&ignored) < 0)
		goto cleanup;
	rc = rows.n_rows ? 1 : 0;
	cs_db_rows_free(&rows);
cleanup:
	cs_db_close(db);
	return rc;
}

int cs_run_finish_write(cs_db *w, const cs_run_opts *opts, const char *kind, int64_t id,
			int64_t old, const char *input_sha256, const char *output_sha256,
			int64_t expected_lines, const char *statement, cs_error *err)
{
	cs_db_rows rows;
	char id_text[24], old_text[24], from[24], to[24], lines_text[24], record_hex[65];
	char created_at[64], prev[65];
	int has_prev = 0;
	cs_buf rec;
	const char *params[20];
	int64_t reversed = -1, old_lines = -2;

	cs_buf_init(&rec);
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	snprintf(old_text, sizeof(old_text), "%lld", (long long)old);
	snprintf(from, sizeof(from), "%lld", (long long)opts->window.from_us);
	snprintf(to, sizeof(to), "%lld", (long long)opts->window.to_us);
	snprintf(lines_text, sizeof(lines_text), "%lld", (long long)expected_lines);

	CS_FAILPOINT("before_record");
	if (old) {
		params[0] = id_text;
		params[1] = old_text;
		if (cs_db_exec(w,
			       "INSERT INTO coopsettle.ledger_lines (run_id, entry, journal, line_no,"
			       " transaction_id, rule_id, account, party_id, currency, amount_minor)"
			       " SELECT $1::bigint, 'reversal', journal, line_no, transaction_id,"
			       " rule_id, account, party_id, currency, -amount_minor"
			       " FROM coopsettle.ledger_lines WHERE run_id = $2::bigint"
			       " AND entry = 'post'",
			       2, params, err) < 0)
			goto fail;
		reversed = cs_db_rows_stored(w);
		if (cs_db_exec(w,
			       "UPDATE coopsettle.runs SET status = 'superseded'"
			       " WHERE id = $1::bigint AND status = 'committed'",
			       1, params + 1, err) < 0 ||
		    cs_db_expect_stored(w, "coopsettle.runs (superseded)", 1, err) < 0 ||
		    cs_db_query(w, "SELECT line_count FROM coopsettle.runs WHERE id = $1::bigint", 1,
				params + 1, &rows, err) < 0)
			goto fail;
		cs_cell_i64(&rows, 0, 0, &old_lines);
		cs_db_rows_free(&rows);
		/* the old run's posted lines, each reversed once */
		if (reversed != old_lines) {
			cs_error_set(err, CS_EXIT_RUNTIME,
				     "run %lld has %lld posted ledger lines but its record says "
				     "%lld; it was not superseded and nothing was written",
				     (long long)old, (long long)reversed, (long long)old_lines);
			cs_error_hint(err, "Run 'coopsettle verify --run %lld' to see what changed.",
				      (long long)old);
			goto fail;
		}
		CS_FAILPOINT("after_supersede");
	}
	if (cs_db_query(w,
			"SELECT pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC',"
			" 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
			" (SELECT record_sha256 FROM coopsettle.runs ORDER BY id DESC LIMIT 1)",
			0, NULL, &rows, err) < 0)
		goto fail;
	snprintf(created_at, sizeof(created_at), "%s", cs_db_cell(&rows, 0, 0));
	if (cs_db_cell(&rows, 0, 1)) {
		has_prev = 1;
		snprintf(prev, sizeof(prev), "%s", cs_db_cell(&rows, 0, 1));
	}
	cs_db_rows_free(&rows);
	cs_run_record_canonical(&rec, id, kind, opts->window.from_us, opts->window.to_us,
				opts->cfg->sha256_hex, input_sha256, output_sha256, CS_VERSION,
				created_at, old, has_prev ? prev : NULL);
	cs_sha256_hex(rec.data, rec.len, record_hex);

	params[0] = id_text;
	params[1] = kind;
	params[2] = opts->window.from_utc;
	params[3] = opts->window.to_utc;
	params[4] = from;
	params[5] = to;
	params[6] = opts->window.from_text;
	params[7] = opts->window.to_text;
	params[8] = opts->cfg->text;
	params[9] = opts->cfg->sha256_hex;
	params[10] = input_sha256;
	params[11] = output_sha256;
	params[12] = CS_VERSION;
	params[13] = created_at;
	params[14] = old ? old_text : NULL;
	params[15] = has_prev ? prev : NULL;
	params[16] = record_hex;
	params[17] = lines_text;
	params[18] = statement;
	if (cs_db_exec(w,
		       "INSERT INTO coopsettle.runs (id, kind, window_from, window_to,"
		       " window_from_us, window_to_us, window_from_text, window_to_text, status,"
		       " config_text, config_sha256, input_sha256, output_sha256, engine_version,"
		       " created_at, supersedes, prev_record_sha256, record_sha256, line_count,"
		       " statement) VALUES ($1::bigint, $2, $3::timestamptz, $4::timestamptz,"
		       " $5::bigint, $6::bigint, $7, $8, 'committed', $9, $10, $11, $12, $13, $14,"
		       " $15::bigint, $16, $17, $18::bigint, $19)",
		       19, params, err) < 0)
		goto fail;

	/* What the server stored was checked against what was sent after each
	 * COPY (its command tag, cs_db_expect_stored); the lines' balance was
	 * asserted by the core on the lines it encoded. verify re-reads them. */
	CS_FAILPOINT("before_commit");
	if (cs_db_exec(w, "COMMIT", 0, NULL, err) < 0) {
		int landed = cs_db_connection_lost(w) ? commit_outcome(opts, w, id) : 0;

		if (landed == 1) {
			cs_buf_free(&rec);
			return 0; /* the server committed before the connection went */
		}
		if (landed < 0) {
			char was[CS_ERROR_MSG_BYTES];

			snprintf(was, sizeof(was), "%s", err->detail);
			cs_error_set(err, CS_EXIT_RUNTIME,
				     "database connection lost during COMMIT of %s run %lld; it may or "
				     "may not have been committed",
				     kind, (long long)id);
			cs_error_detail(err, "%s", was);
			cs_error_hint(err,
				      "Re-run the same command when the server is back: it exits "
				      "4 (or reports 'unchanged' with --supersede) if run %lld "
				      "was committed.",
				      (long long)id);
		}
		goto fail;
	}
	CS_FAILPOINT("after_commit");
	cs_buf_free(&rec);
	return 0;
fail:
	cs_buf_free(&rec);
	cs_run_rollback(w);
	return -1;
}

void cs_statement_head(cs_json *j, int64_t run_id, const char *kind, const char *status,
		       const cs_window *w, const char *config_sha256, const char *input_sha256,
		       const char *output_sha256)
{
	cs_json_key(j, "run_id");
	if (run_id)
		cs_json_int(j, run_id);
	else
		cs_json_null(j);
	cs_json_key(j, "kind");
	cs_json_string(j, kind);
	cs_json_key(j, "status");
	cs_json_string(j, status);
	cs_json_key(j, "window");
	cs_json_object_begin(j);
	cs_json_key(j, "from");
	cs_json_string(j, w->from_text);
	cs_json_key(j, "to");
	cs_json_string(j, w->to_text);
	cs_json_object_end(j);
	cs_json_key(j, "hashes");
	cs_json_object_begin(j);
	cs_json_key(j, "config");
	cs_json_string(j, config_sha256);
	cs_json_key(j, "input");
	cs_json_string(j, input_sha256);
	cs_json_key(j, "output");
	cs_json_string(j, output_sha256);
	cs_json_object_end(j);
}

/* ---- settle ---- */

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

static void settle_summary(cs_buf *out, const cs_run_opts *opts, const cs_settle *s,
			   const cs_run_result *res)
{
	const cs_config *cfg = opts->cfg;
	size_t i, n;

	cs_buf_reset(out);
	if (res->run_id)
		cs_buf_printf(out, "settle run %lld: %s\n", (long long)res->run_id, res->status);
	else
		cs_buf_printf(out, "settle: %s\n", res->status);
	cs_buf_printf(out, "  window     [%s, %s)\n", opts->window.from_text, opts->window.to_text);
	cs_buf_printf(out, "  rows read  %lld, ledger lines %lld\n",
		      (long long)cs_settle_rows_read(s), (long long)cs_settle_lines_count(s));
	for (i = 0; i < cfg->n_currencies; i++) {
		const cs_currency_total *c = cs_settle_currency_total(s, i);

		cs_buf_printf(out, "  %-3s        transactions ", cfg->currencies[i].code);
		cs_buf_put_i128(out, c->transactions);
		cs_buf_puts(out, ", gross_minor ");
		cs_buf_put_i128(out, c->gross_minor);
		cs_buf_puts(out, ", fees_minor ");
		cs_buf_put_i128(out, c->fees_minor);
		cs_buf_puts(out, " (producer ");
		cs_buf_put_i128(out, c->fees_producer_minor);
		cs_buf_puts(out, ", consumer ");
		cs_buf_put_i128(out, c->fees_consumer_minor);
		cs_buf_puts(out, ")\n");
	}
	cs_settle_rejects(s, &n);
	if (n)
		cs_buf_printf(out, "  rejected   %zu row%s\n", n, n == 1 ? "" : "s");
	if (res->supersedes)
		cs_buf_printf(out, "  supersedes run %lld\n", (long long)res->supersedes);
	cs_buf_printf(out, "  config     %s\n  input      %s\n  output     %s\n",
		      cfg->sha256_hex, res->input_hash, res->output_hash);
}

/* Writes the party totals, currency totals and rejects of run id. */
static int write_totals(cs_db *w, const cs_config *cfg, const cs_settle *s, int64_t id,
			cs_error *err)
{
	cs_buf b;
	size_t i, n;
	const cs_party_total *p = cs_settle_parties(s, &n);
	const cs_reject *rj;
	int rc = -1;

	cs_buf_init(&b);
	if (cs_db_copy_in_begin(w,
				"COPY coopsettle.party_totals (run_id, party_id, side, currency,"
				" transactions, gross_minor, fees_minor) FROM STDIN",
				err) < 0)
		goto cleanup;
	for (i = 0; i < n; i++) {
		cs_buf_printf(&b, "%lld\t%lld\t%s\t%s\t%lld\t", (long long)id,
			      (long long)p[i].party_id, cs_class_name(p[i].side),
			      cfg->currencies[p[i].currency].code, (long long)p[i].transactions);
		cs_buf_put_i128(&b, p[i].gross_minor);
		cs_buf_putc(&b, '\t');
		cs_buf_put_i128(&b, p[i].fees_minor);
		cs_buf_putc(&b, '\n');
		if (b.len >= CS_COPY_CHUNK_BYTES || i + 1 == n) {
			if (cs_db_copy_in_put(w, b.data, b.len, err) < 0)
				goto cleanup;
			cs_buf_reset(&b);
		}
	}
	if (cs_db_copy_in_end(w, err) < 0 ||
	    cs_db_expect_stored(w, "coopsettle.party_totals", (int64_t)n, err) < 0)
		goto cleanup;
	if (cs_db_copy_in_begin(w,
				"COPY coopsettle.currency_totals (run_id, currency, transactions,"
				" gross_minor, fees_minor, fees_producer_minor, fees_consumer_minor)"
				" FROM STDIN",
				err) < 0)
		goto cleanup;
	cs_buf_reset(&b);
	for (i = 0; i < cfg->n_currencies; i++) {
		const cs_currency_total *c = cs_settle_currency_total(s, i);

		cs_buf_printf(&b, "%lld\t%s\t%lld\t", (long long)id, cfg->currencies[i].code,
			      (long long)c->transactions);
		cs_buf_put_i128(&b, c->gross_minor);
		cs_buf_putc(&b, '\t');
		cs_buf_put_i128(&b, c->fees_minor);
		cs_buf_putc(&b, '\t');
		cs_buf_put_i128(&b, c->fees_producer_minor);
		cs_buf_putc(&b, '\t');
		cs_buf_put_i128(&b, c->fees_consumer_minor);
		cs_buf_putc(&b, '\n');
	}
	if (b.len && cs_db_copy_in_put(w, b.data, b.len, err) < 0)
		goto cleanup;
	if (cs_db_copy_in_end(w, err) < 0 ||
	    cs_db_expect_stored(w, "coopsettle.currency_totals", (int64_t)cfg->n_currencies,
				err) < 0)
		goto cleanup;
	rj = cs_settle_rejects(s, &n);
	if (n) {
		cs_buf_reset(&b);
		if (cs_db_copy_in_begin(w,
					"COPY coopsettle.settlement_rejects (run_id, ordinal,"
					" transaction_id, reason) FROM STDIN",
					err) < 0)
			goto cleanup;
		for (i = 0; i < n; i++) {
			cs_buf_printf(&b, "%lld\t%zu\t", (long long)id, i + 1);
			if (rj[i].has_id)
				cs_buf_put_i128(&b, rj[i].id);
			else
				cs_buf_puts(&b, "\\N");
			cs_buf_putc(&b, '\t');
			cs_copy_text(&b, rj[i].reason, strlen(rj[i].reason));
			cs_buf_putc(&b, '\n');
		}
		if (cs_db_copy_in_put(w, b.data, b.len, err) < 0 || cs_db_copy_in_end(w, err) < 0 ||
		    cs_db_expect_stored(w, "coopsettle.settlement_rejects", (int64_t)n, err) < 0)
			goto cleanup;
	}
	rc = 0;
cleanup:
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

int cs_run_settle(const cs_run_opts *opts, cs_run_result *res, cs_error *err)
{
	const cs_config *cfg = opts->cfg;
	cs_db *r = NULL, *w = NULL;
	cs_members *members = cs_members_new();
	cs_settle *s = NULL;
	line_sink sink;
	reader_ctx rc;
	cs_run_ref old_ref;
	int64_t old = 0, id = 0;
	int rcode = -1, writing = 0;
	size_t n_rejects;

	memset(&sink, 0, sizeof(sink));
	memset(&rc, 0, sizeof(rc));
	cs_buf_init(&sink.buf);
	res->status = opts->dry_run ? "dry_run" : "committed";

	r = cs_db_connect(opts->conninfo, err);
	if (!r)
		goto cleanup;
	if (!opts->dry_run) {
		w = cs_db_connect(opts->conninfo, err);
		if (!w)
			goto cleanup;
		if (cs_run_begin_write(w, opts, "settle", &old, &old_ref, err) < 0)
			goto cleanup;
		CS_FAILPOINT("after_lock");
		writing = 1;
		if (cs_run_next_id(w, &id, err) < 0)
			goto cleanup;
		sink.db = w;
	}
	sink.cfg = cfg;
	sink.run_id = id;
	if (opts->dry_run)
		sink.taps = rc.taps = opts->taps;
	else if (!(rc.spool = cs_input_spool_new(id, err)))
		goto cleanup;
	/* The reader's snapshot is taken after the lock: it sees every
	 * committed run and every row committed before us. */
	if (cs_run_begin_read(r, cfg, err) < 0)
		goto cleanup;
	if (cs_source_members(r, cfg, members, 0, err) < 0)
		goto cleanup;
	s = cs_settle_new(cfg, members, sink_line, &sink);
	if (rc.spool || (rc.taps && rc.taps->input))
		cs_settle_on_input(s, on_settled_input, &rc);
	rc.settle = s;
	rc.progress = opts->progress;
	if (opts->progress && cs_source_count(r, cfg, &opts->window, &rc.total, err) < 0)
		goto cleanup;
	clock_gettime(CLOCK_MONOTONIC, &rc.start);
	rc.last = rc.start;
	if (w && !(sink.pipe = cs_ledger_copy_open(w, &sink.buf, err)))
		goto cleanup;
	if (cs_source_transactions(r, cfg, &opts->window, on_row, &rc, err) < 0)
		goto cleanup;
	CS_FAILPOINT("after_read");
	if (cs_settle_finish(s, err) < 0)
		goto cleanup;
	if (sink_flush(&sink, err) < 0)
		goto cleanup;
	if (sink.pipe) {
		cs_copypipe *pipe = sink.pipe;

		sink.pipe = NULL; /* closed whatever happens */
		if (cs_copypipe_close(pipe, &sink.buf, err) < 0 ||
		    cs_db_expect_stored(w, "coopsettle.ledger_lines", cs_settle_lines_count(s),
					err) < 0)
			goto cleanup;
	}
	if (opts->progress)
		progress_print(&rc, 1);
	cs_db_exec(r, "COMMIT", 0, NULL, err);

	snprintf(res->input_hash, sizeof(res->input_hash), "%s", cs_settle_input_hash(s));
	snprintf(res->output_hash, sizeof(res->output_hash), "%s", cs_settle_output_hash(s));
	res->rows_read = cs_settle_rows_read(s);
	res->lines_written = cs_settle_lines_count(s);
	cs_settle_rejects(s, &n_rejects);
	if (n_rejects && cfg->on_invalid == CS_ON_INVALID_ABORT) {
		settle_statement(&res->statement, opts, s, 0, res->status, !opts->summary_only);
		abort_invalid(s, err);
		goto cleanup;
	}
	if (old && strcmp(old_ref.output_sha256, res->output_hash) == 0) {
		res->status = "unchanged";
		res->run_id = old;
		cs_run_rollback(w);
		writing = 0;
	} else if (w) {
		res->run_id = id;
		res->supersedes = old;
		settle_statement(&res->statement, opts, s, id, "committed", 0);
		CS_FAILPOINT("before_totals");
		if (cs_input_spool_copy(rc.spool, w, err) < 0 || write_totals(w, cfg, s, id, err) < 0 ||
		    cs_run_finish_write(w, opts, "settle", id, old, res->input_hash,
					res->output_hash, res->lines_written, res->statement.data,
					err) < 0)
			goto cleanup;
		writing = 0;
	}
	settle_statement(&res->statement, opts, s, res->run_id, res->status,
			 !opts->summary_only);
	settle_summary(&res->summary, opts, s, res);
	rcode = 0;
cleanup:
	if (sink.pipe) { /* stop the sender before the connection goes */
		cs_error ignored;

		cs_copypipe_finish(sink.pipe, &ignored);
	}
	if (rcode < 0 && err->exit_code == CS_EXIT_RUNTIME &&
	    ((w && cs_db_connection_lost(w)) || (r && cs_db_connection_lost(r)))) {
		/* name the loss plainly whichever connection saw it */
		if (!strstr(err->message, "connection lost")) {
			char was[CS_ERROR_MSG_BYTES];

			snprintf(was, sizeof(was), "%s", err->message);
			cs_error_set(err, CS_EXIT_RUNTIME,
				     "database connection lost; nothing was written");
			cs_error_detail(err, "%s", was);
		}
	}
	if (writing)
		cs_run_rollback(w);
	cs_db_close(r);
	cs_db_close(w);
	cs_settle_free(s);
	cs_members_free(members);
	cs_buf_free(&sink.buf);
	cs_input_spool_free(rc.spool);
	return rcode;
}
