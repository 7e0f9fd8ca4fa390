/*
 * runcommon.c -- what the settle and distribute runs share (runcommon.h):
 * the write transaction under the advisory lock, conflict checks, run ids,
 * the ledger COPY and its tuple layout, supersede, the run record and its
 * link in the chain, COMMIT and its lost-connection outcome.
 */
#include "coopsettle/runcommon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "coopsettle/amount.h"
#include "coopsettle/copybin.h"
#include "coopsettle/failpoint.h"
#include "coopsettle/hash.h"
#include "coopsettle/limits.h"
#include "coopsettle/schema.h"
#include "coopsettle/stored.h"
#include "coopsettle/util.h"

#ifndef CS_VERSION
#define CS_VERSION "0.0.0"
#endif

void cs_run_result_init(cs_run_result *res)
{
	memset(res, 0, sizeof(*res));
	cs_buf_init(&res->statement);
	cs_buf_init(&res->summary);
	cs_buf_init(&res->restated);
	cs_buf_init(&res->notes);
}

void cs_run_result_free(cs_run_result *res)
{
	cs_buf_free(&res->statement);
	cs_buf_free(&res->summary);
	cs_buf_free(&res->restated);
	cs_buf_free(&res->notes);
}

/* ---- the ledger COPY, shared by settle and distribute ---- */

cs_copypipe *cs_ledger_copy_open(cs_db *w, cs_buf *b, cs_error *err)
{
	return cs_copypipe_open(w,
				"COPY coopsettle.ledger_lines (run_id, entry, journal, line_no,"
				" transaction_id, rule_id, account, party_id, currency,"
				" amount_minor, posted_on) FROM STDIN (FORMAT binary)",
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
		     const int64_t *party_id, const char *currency, cs_i128 amount,
		     int64_t posted_day)
{
	CS_ASSERT(line_no > 0 && line_no <= INT32_MAX);
	/* a date is days since 2000-01-01 in an int4 (a window is within years
	 * 1900-9998: window.c) */
	CS_ASSERT(posted_day > -INT32_MAX + CS_PG_EPOCH_DAYS && posted_day < INT32_MAX);
	cs_copybin_put_nfields(b, 11);
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
	cs_copybin_put_int4(b, (int32_t)(posted_day - CS_PG_EPOCH_DAYS));
}

/* One settled ledger line: journal = its transaction (spec section 5). */
/* ---- shared pieces (runcommon.h) ---- */

void cs_run_name_lost_connection(cs_db *r, cs_db *w, cs_error *err)
{
	char was[CS_ERROR_MSG_BYTES];

	if (err->exit_code != CS_EXIT_RUNTIME ||
	    !((w && cs_db_connection_lost(w)) || (r && cs_db_connection_lost(r))) ||
	    strstr(err->message, "connection lost"))
		return;
	snprintf(was, sizeof(was), "%s", err->message);
	cs_error_set(err, CS_EXIT_RUNTIME, "database connection lost; nothing was written");
	cs_error_detail(err, "%s", was);
}

int cs_run_check_storable(cs_db *db, const cs_config *cfg, cs_error *err)
{
	const char *params[1] = {cfg->text};
	cs_db_rows rows;
	char encoding[64];

	if (cs_db_query(db, "SELECT pg_catalog.length($1::text)",
			1, params, &rows, err) == 0) {
		cs_db_rows_free(&rows);
		return 0;
	}
	if (err->exit_code != CS_EXIT_RUNTIME ||
	    (!strstr(err->detail, "SQLSTATE 22P05") && !strstr(err->detail, "SQLSTATE 22021")))
		return -1;
	snprintf(encoding, sizeof(encoding), "%s", "its encoding");
	if (cs_db_query(db, "SELECT pg_catalog.getdatabaseencoding()", 0, NULL, &rows, err) == 0) {
		snprintf(encoding, sizeof(encoding), "encoding %s", cs_db_cell(&rows, 0, 0));
		cs_db_rows_free(&rows);
	}
	cs_error_set(err, CS_EXIT_USAGE,
		     "the database cannot store the text of %s: a character of it has no "
		     "equivalent in the database's %s; nothing was done",
		     cfg->path, encoding);
	cs_error_hint(err, "Use a UTF8 database (CREATE DATABASE ... ENCODING 'UTF8'), or keep "
			   "the config to characters the database's encoding has.");
	return -1;
}

int cs_run_unchanged(const cs_run_ref *ref, const char *input_sha256, const char *output_sha256)
{
	return strcmp(ref->input_sha256, input_sha256) == 0 &&
	       strcmp(ref->output_sha256, output_sha256) == 0;
}

void cs_run_rollback(cs_db *w)
{
	cs_error ignored;

	/* only an open transaction: a second ROLLBACK would make the server
	 * warn "there is no transaction in progress" on stderr */
	if (w && cs_db_in_transaction(w))
		cs_db_exec(w, "ROLLBACK", 0, NULL, &ignored);
}

/* The hint of an overlap that is not exactly one run of the same window:
 * for the kind of run, so that a distribute error never says "settle". */
static void overlap_hint(cs_error *err, const char *kind)
{
	if (strcmp(kind, "settle") == 0)
		cs_error_hint(err, "Settle a window that does not overlap committed settle runs, or "
				   "replace one committed run with exactly its window and --supersede "
				   "--reason TEXT.");
	else
		cs_error_hint(err, "Distribute runs may not overlap: a year's distribution cannot "
				   "follow distributions of its months (docs/operations.md). "
				   "Distribute a window that overlaps no committed distribute run, or "
				   "replace one with exactly its window and --supersede --reason TEXT.");
}

/* Version 2 (spec 10.7.3): a new distribute window starts at or after the
 * end of every committed distribute window, since the balances of each feed
 * the next; otherwise exit 4. */
static int distribute_order(cs_db *db, const cs_run_opts *opts, const char *kind, cs_error *err)
{
	char from[24];
	const char *param = from;
	cs_db_rows rows;
	int rc = 0;

	if (strcmp(kind, "distribute") != 0 || opts->cfg->version < 2)
		return 0;
	snprintf(from, sizeof(from), "%lld", (long long)opts->window.from_us);
	if (cs_db_query(db,
			"SELECT id, window_from_text, window_to_text FROM coopsettle.runs"
			" WHERE kind = 'distribute' AND status = 'committed'"
			" AND window_to_us > $1::bigint ORDER BY window_to_us DESC, id LIMIT 1",
			1, &param, &rows, err) < 0)
		return -1;
	if (rows.n_rows) {
		rc = cs_error_set(err, CS_EXIT_CONFLICT,
				  "window [%s, %s) starts before the end of committed distribute run "
				  "%s [%s, %s): distribute windows follow one another; nothing was "
				  "written",
				  opts->window.from_text, opts->window.to_text, cs_db_cell(&rows, 0, 0),
				  cs_db_cell(&rows, 0, 1), cs_db_cell(&rows, 0, 2));
		cs_error_hint(err, "Each distribution starts from the balances the ones before it "
				   "left (spec 10.7.3): distribute a window from %s on, or supersede "
				   "the later run's own window.",
			      cs_db_cell(&rows, 0, 2));
	}
	cs_db_rows_free(&rows);
	return rc;
}

int cs_run_find_conflict(cs_db *db, const cs_run_opts *opts, const char *kind, int *equal,
			 cs_run_ref *old_ref, cs_error *err)
{
	cs_db_rows rows;
	char from[24], to[24];
	const char *params[3];
	size_t i;

	*equal = 0;
	memset(old_ref, 0, sizeof(*old_ref));
	snprintf(from, sizeof(from), "%lld", (long long)opts->window.from_us);
	snprintf(to, sizeof(to), "%lld", (long long)opts->window.to_us);
	params[0] = kind;
	params[1] = from;
	params[2] = to;
	if (cs_db_query(db,
			"SELECT id, window_from_us, window_to_us, window_from_text, window_to_text,"
			" output_sha256, input_sha256, config_sha256 FROM coopsettle.runs"
			" WHERE kind = $1 AND status = 'committed'"
			" AND window_from_us < $3::bigint AND window_to_us > $2::bigint ORDER BY id",
			3, params, &rows, err) < 0)
		return -1;
	if (rows.n_rows == 0) {
		cs_db_rows_free(&rows);
		return distribute_order(db, opts, kind, err);
	}
	cs_db_cell_i64(&rows, 0, 0, &old_ref->id);
	cs_db_cell_i64(&rows, 0, 1, &old_ref->from_us);
	cs_db_cell_i64(&rows, 0, 2, &old_ref->to_us);
	snprintf(old_ref->from_text, sizeof(old_ref->from_text), "%s", cs_db_cell(&rows, 0, 3));
	snprintf(old_ref->to_text, sizeof(old_ref->to_text), "%s", cs_db_cell(&rows, 0, 4));
	snprintf(old_ref->output_sha256, sizeof(old_ref->output_sha256), "%s",
		 cs_db_cell(&rows, 0, 5));
	snprintf(old_ref->input_sha256, sizeof(old_ref->input_sha256), "%s",
		 cs_db_cell(&rows, 0, 6));
	snprintf(old_ref->config_sha256, sizeof(old_ref->config_sha256), "%s",
		 cs_db_cell(&rows, 0, 7));
	if (rows.n_rows == 1 && old_ref->from_us == opts->window.from_us &&
	    old_ref->to_us == opts->window.to_us) {
		*equal = 1;
		cs_db_rows_free(&rows);
		return 0;
	}
	cs_error_set(err, CS_EXIT_CONFLICT,
		     "window [%s, %s) overlaps committed %s run %lld [%s, %s); nothing was written",
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
	overlap_hint(err, kind);
	cs_db_rows_free(&rows);
	return -1;
}

int cs_run_begin_write(cs_db *w, const cs_run_opts *opts, const char *kind, int *equal,
		       cs_run_ref *old_ref, cs_error *err)
{
	if (cs_db_exec(w, "BEGIN ISOLATION LEVEL READ COMMITTED", 0, NULL, err) < 0)
		return -1;
	if (cs_schema_lock(w, err) < 0 ||
	    cs_schema_check(w, err) < 0 || cs_run_find_conflict(w, opts, kind, equal, old_ref, err) < 0) {
		cs_run_rollback(w);
		return -1;
	}
	return 0;
}

int cs_run_next_id(cs_db *w, int64_t *id, cs_error *err)
{
	cs_db_rows rows;
	int rc;

	/* the caller holds the advisory lock: no other run reads this max
	 * until we commit or roll back */
	if (cs_db_query(w, "SELECT coalesce(max(id), 0) + 1 FROM coopsettle.runs", 0, NULL, &rows,
			err) < 0)
		return -1;
	rc = cs_db_cell_i64(&rows, 0, 0, id);
	cs_db_rows_free(&rows);
	if (rc < 0)
		return cs_error_set(err, CS_EXIT_RUNTIME, "unexpected next run id");
	return 0;
}

/* The writer's connection w was lost during COMMIT, so the server may or
 * may not have committed run id with record hash record_hex. Asks on a new
 * connection, once w's backend has ended (its transaction is then decided
 * either way); the hash tells our run from another that took the same id
 * since. Returns 1 when the run is there, 0 when it certainly is not, -1
 * when we cannot tell. */
static int commit_outcome(const cs_run_opts *opts, const cs_db *w, int64_t id,
			  const char *record_hex)
{
	cs_error ignored;
	cs_db *db = cs_db_connect(opts->conninfo, &ignored);
	cs_db_rows rows;
	char pid_text[24], id_text[24];
	const char *param, *params[2];
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
	params[0] = id_text;
	params[1] = record_hex;
	if (cs_db_query(db,
			"SELECT 1 FROM coopsettle.runs WHERE id = $1::bigint AND record_sha256 = $2",
			2, params, &rows, &ignored) < 0)
		goto cleanup;
	rc = rows.n_rows ? 1 : 0;
	cs_db_rows_free(&rows);
cleanup:
	cs_db_close(db);
	return rc;
}

/* Reverses the posted lines of run old into run id and marks old
 * superseded. Every line of old must be reversed once: the count is checked
 * against old's record (exit 1 otherwise). */
static int supersede_old(cs_db *w, const cs_config *cfg, int64_t id, int64_t old, cs_error *err)
{
	cs_db_rows rows;
	char id_text[24], old_text[24];
	/* a reversal is posted on the day it is made, in the cooperative's time
	 * zone (spec 10.5), never back into the closed period */
	const char *params[3] = {id_text, old_text, cfg->timezone};
	int64_t reversed, old_lines = -2;
	char day[16];

	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	snprintf(old_text, sizeof(old_text), "%lld", (long long)old);
	/* the posting day first, as a parameter: Citus rebuilds the query of an
	 * INSERT ... SELECT that calls now() on the coordinator, and 13.2
	 * rebuilds it wrongly for the tables of a distributed schema (a filter
	 * "( IS NOT NULL)" without its column; docs/scale-out.md) */
	if (cs_db_query(w, "SELECT (pg_catalog.now() AT TIME ZONE $1)::date::text", 1, params + 2,
			&rows, err) < 0)
		return -1;
	snprintf(day, sizeof(day), "%s", cs_db_cell(&rows, 0, 0) ? cs_db_cell(&rows, 0, 0) : "");
	cs_db_rows_free(&rows);
	params[2] = day;
	if (cs_db_exec(w,
		       "INSERT INTO coopsettle.ledger_lines (run_id, entry, journal, line_no,"
		       " transaction_id, rule_id, account, party_id, currency, amount_minor,"
		       " posted_on)"
		       " SELECT $1::bigint, 'reversal', journal, line_no, transaction_id,"
		       " rule_id, account, party_id, currency, -amount_minor, $3::date"
		       " FROM coopsettle.ledger_lines WHERE run_id = $2::bigint"
		       " AND entry = 'post'",
		       3, params, err) < 0)
		return -1;
	reversed = cs_db_rows_stored(w);
	if (cs_db_exec(w,
		       "UPDATE coopsettle.runs SET status = 'superseded'"
		       " WHERE id = $1::bigint AND status = 'committed'",
		       1, params + 1, err) < 0 ||
	    cs_db_expect_stored(w, "coopsettle.runs (superseded)", 1, err) < 0 ||
	    cs_db_query(w, "SELECT line_count FROM coopsettle.runs WHERE id = $1::bigint", 1,
			params + 1, &rows, err) < 0)
		return -1;
	cs_db_cell_i64(&rows, 0, 0, &old_lines);
	cs_db_rows_free(&rows);
	/* the old run's posted lines, each reversed once */
	if (reversed != old_lines) {
		cs_error_set(err, CS_EXIT_RUNTIME,
			     "run %lld has %lld posted ledger lines but its record says "
			     "%lld; it was not superseded and nothing was written",
			     (long long)old, (long long)reversed, (long long)old_lines);
		cs_error_hint(err, "Run 'coopsettle verify --run %lld' to see what changed.",
			      (long long)old);
		return -1;
	}
	CS_FAILPOINT("after_supersede");
	return 0;
}

/* What insert_record stores besides the caller's figures: what the caller
 * knows (the runs depended on) and what the server says at the insert. */
typedef struct record_extra {
	const int64_t *depends_on; /* ascending */
	size_t n_depends_on;
	char created_at[64];       /* the server's now(), UTC */
	int has_prev;
	char prev[65];             /* the record_sha256 of the run before */
	char *actor;               /* the session_user (malloc) */
	char record_hex[65];       /* out: the record's hash */
} record_extra;

/* Reads the server's part of the record into x: created_at, the previous
 * record's hash (the chain) and the session user (the actor). */
static int record_context(cs_db *w, record_extra *x, cs_error *err)
{
	cs_db_rows rows;

	if (cs_db_query(w,
			"SELECT pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC',"
			" 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
			" (SELECT record_sha256 FROM coopsettle.runs ORDER BY id DESC LIMIT 1),"
			" session_user",
			0, NULL, &rows, err) < 0)
		return -1;
	snprintf(x->created_at, sizeof(x->created_at), "%s", cs_db_cell(&rows, 0, 0));
	x->has_prev = cs_db_cell(&rows, 0, 1) != NULL;
	if (x->has_prev)
		snprintf(x->prev, sizeof(x->prev), "%s", cs_db_cell(&rows, 0, 1));
	x->actor = strdup(cs_db_cell(&rows, 0, 2) ? cs_db_cell(&rows, 0, 2) : "");
	CS_ASSERT(x->actor != NULL);
	cs_db_rows_free(&rows);
	return 0;
}

/* The record hash of run id (format CS_RECORD_FORMAT) into x->record_hex. */
static void record_hash(const cs_run_opts *opts, const char *kind, int64_t id, int64_t old,
			const char *input_sha256, const char *output_sha256,
			int64_t expected_lines, const char *statement, record_extra *x)
{
	cs_record_fields f;
	cs_buf rec;

	f.id = id;
	f.kind = kind;
	f.from_us = opts->window.from_us;
	f.to_us = opts->window.to_us;
	f.from_text = opts->window.from_text;
	f.to_text = opts->window.to_text;
	f.config_sha256 = opts->cfg->sha256_hex;
	f.input_sha256 = input_sha256;
	f.output_sha256 = output_sha256;
	f.engine_version = CS_VERSION;
	f.created_at = x->created_at;
	f.supersedes = old;
	f.prev_record_sha256 = x->has_prev ? x->prev : NULL;
	f.line_count = expected_lines;
	f.statement = statement;
	f.actor = x->actor;
	f.reason = opts->reason;
	f.depends_on = x->depends_on;
	f.n_depends_on = x->n_depends_on;
	cs_buf_init(&rec);
	cs_stored_record_canonical(&rec, CS_RECORD_FORMAT, &f);
	cs_sha256_hex(rec.data, rec.len, x->record_hex);
	cs_buf_free(&rec);
}

/* Inserts the run record of run id, chained to the previous record. */
static int insert_record(cs_db *w, const cs_run_opts *opts, const char *kind, int64_t id,
			 int64_t old, const char *input_sha256, const char *output_sha256,
			 int64_t expected_lines, const char *statement, record_extra *x,
			 cs_error *err)
{
	char id_text[24], old_text[24], from[24], to[24], lines_text[24];
	const char *params[22];
	size_t i;
	cs_buf deps;
	int rc;

	if (record_context(w, x, err) < 0)
		return -1;
	record_hash(opts, kind, id, old, input_sha256, output_sha256, expected_lines, statement, x);
	cs_buf_init(&deps);
	cs_buf_putc(&deps, '{');
	for (i = 0; i < x->n_depends_on; i++)
		cs_buf_printf(&deps, "%s%lld", i ? "," : "", (long long)x->depends_on[i]);
	cs_buf_putc(&deps, '}');
	snprintf(id_text, sizeof(id_text), "%lld", (long long)id);
	snprintf(old_text, sizeof(old_text), "%lld", (long long)old);
	snprintf(from, sizeof(from), "%lld", (long long)opts->window.from_us);
	snprintf(to, sizeof(to), "%lld", (long long)opts->window.to_us);
	snprintf(lines_text, sizeof(lines_text), "%lld", (long long)expected_lines);
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
	params[13] = x->created_at;
	params[14] = old ? old_text : NULL;
	params[15] = x->has_prev ? x->prev : NULL;
	params[16] = x->record_hex;
	params[17] = lines_text;
	params[18] = statement;
	params[19] = x->actor;
	params[20] = opts->reason;
	params[21] = deps.data;
	rc = cs_db_exec(w,
			"INSERT INTO coopsettle.runs (id, kind, window_from, window_to,"
			" window_from_us, window_to_us, window_from_text, window_to_text, status,"
			" config_text, config_sha256, input_sha256, output_sha256, engine_version,"
			" created_at, supersedes, prev_record_sha256, record_sha256, line_count,"
			" statement, actor, reason, depends_on) VALUES ($1::bigint, $2,"
			" $3::timestamptz, $4::timestamptz, $5::bigint, $6::bigint, $7, $8, 'committed',"
			" $9, $10, $11, $12, $13, $14, $15::bigint, $16, $17, $18::bigint, $19, $20,"
			" $21, $22::bigint[])",
			22, params, err);
	cs_buf_free(&deps);
	return rc;
}

/* COMMIT. When the connection is lost during COMMIT, asks the server on a
 * new connection whether run id landed: 0 when it did, -1 otherwise. */
static int commit_run(cs_db *w, const cs_run_opts *opts, const char *kind, int64_t id,
		      const char *record_hex, cs_error *err)
{
	int landed;
	char was[CS_ERROR_MSG_BYTES];

	if (cs_db_exec(w, "COMMIT", 0, NULL, err) == 0) {
		CS_FAILPOINT("after_commit");
		return 0;
	}
	landed = cs_db_connection_lost(w) ? commit_outcome(opts, w, id, record_hex) : 0;
	if (landed == 1)
		return 0; /* the server committed before the connection went */
	if (landed < 0) {
		snprintf(was, sizeof(was), "%s", err->detail);
		cs_error_set(err, CS_EXIT_RUNTIME,
			     "database connection lost during COMMIT of %s run %lld; it may or "
			     "may not have been committed",
			     kind, (long long)id);
		cs_error_detail(err, "%s", was);
		cs_error_hint(err,
			      "Re-run the same command when the server is back: it reports "
			      "'unchanged' if run %lld was committed, and commits it if not.",
			      (long long)id);
	}
	return -1;
}

int cs_run_finish_write(cs_db *w, const cs_run_opts *opts, const char *kind, int64_t id,
			int64_t old, const char *input_sha256, const char *output_sha256,
			int64_t expected_lines, const char *statement, const int64_t *depends_on,
			size_t n_depends_on, cs_error *err)
{
	record_extra x;

	memset(&x, 0, sizeof(x));
	x.depends_on = depends_on;
	x.n_depends_on = n_depends_on;
	CS_FAILPOINT("before_record");
	if ((old && supersede_old(w, opts->cfg, id, old, err) < 0) ||
	    insert_record(w, opts, kind, id, old, input_sha256, output_sha256, expected_lines,
			  statement, &x, err) < 0)
		goto fail;
	/* What the server stored was checked against what was sent after each
	 * COPY (its command tag, cs_db_expect_stored); the lines' balance was
	 * asserted by the core on the lines it encoded. verify re-reads them. */
	CS_FAILPOINT("before_commit");
	if (commit_run(w, opts, kind, id, x.record_hex, err) < 0)
		goto fail;
	free(x.actor);
	return 0;
fail:
	free(x.actor);
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


void cs_run_statement_add(cs_buf *statement, const char *object)
{
	size_t n = statement->len, m = strlen(object);
	cs_buf tail;

	/* the statement is "{...}\n" and object "{...}": its members go in
	 * before the statement's closing brace */
	if (m <= 2 || n < 3 || statement->data[n - 1] != '\n' || statement->data[n - 2] != '}')
		return;
	cs_buf_init(&tail);
	cs_buf_put(&tail, object + 1, m - 1); /* members and '}' */
	statement->len = n - 2;
	if (statement->len > 1)
		cs_buf_putc(statement, ',');
	cs_buf_put(statement, tail.data, tail.len);
	cs_buf_putc(statement, '\n');
	statement->data[statement->len] = '\0';
	cs_buf_free(&tail);
}

void cs_run_put_amount(cs_buf *out, const cs_config *cfg, size_t cur, cs_i128 amount)
{
	char text[CS_AMOUNT_TEXT_BYTES];

	cs_buf_printf(out, "%s %s", cs_amount_format(text, amount, cfg->currencies[cur].exponent),
		      cfg->currencies[cur].code);
}

void cs_run_summary_rejects(cs_buf *out, const cs_reject *rj, size_t n)
{
	size_t i;

	if (!n)
		return;
	cs_buf_printf(out, "  rejected   %zu row%s (quarantined):\n",
		      n, n == 1 ? "" : "s");
	for (i = 0; i < n && i < CS_REJECTS_PRINTED_MAX; i++) {
		if (rj[i].has_id)
			cs_buf_printf(out, "             transaction %lld: %s\n", (long long)rj[i].id,
				      cs_text_shown(rj[i].reason));
		else
			cs_buf_printf(out, "             transaction NULL: %s\n",
				      cs_text_shown(rj[i].reason));
	}
	if (n > CS_REJECTS_PRINTED_MAX)
		cs_buf_printf(out, "             ... and %zu more\n", n - CS_REJECTS_PRINTED_MAX);
}
