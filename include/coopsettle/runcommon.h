/*
 * runcommon.h -- pieces shared by the settle and distribute runs: the
 * write transaction, conflict checks, run records and the chain.
 */
#ifndef COOPSETTLE_RUNCOMMON_H
#define COOPSETTLE_RUNCOMMON_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/copypipe.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/json.h"
#include "coopsettle/run.h"

/*
 * The ledger lines leave both runs as binary COPY through a sender thread
 * (copypipe.h). cs_ledger_copy_open begins that COPY on w (the header goes
 * into *b); cs_ledger_tuple appends one line to *b in the column order the
 * COPY names. NULL transaction_id, rule_id or party_id is SQL NULL;
 * posted_day (days since 1970-01-01) is the line's posted_on (spec 10.5).
 */
cs_copypipe *cs_ledger_copy_open(cs_db *w, cs_buf *b, cs_error *err);
void cs_ledger_tuple(cs_buf *b, int64_t run_id, int64_t journal, int64_t line_no,
		     const int64_t *transaction_id, const char *rule_id, const char *account,
		     const int64_t *party_id, const char *currency, cs_i128 amount,
		     int64_t posted_day);

/* A committed run found by a conflict check. */
typedef struct cs_run_ref {
	int64_t id;
	int64_t from_us, to_us;
	char from_text[40], to_text[40];
	char input_sha256[65];
	char output_sha256[65];
	char config_sha256[65];
} cs_run_ref;

/* Checks, before any work, that the database can store the config's text
 * in the run record (its encoding has every character of it): exit 2
 * otherwise. Returns 0 or -1. */
int cs_run_check_storable(cs_db *db, const cs_config *cfg, cs_error *err);

/* Nonzero when a recomputation of ref's window is "unchanged": its input
 * AND output hashes both equal ref's (a changed input with an unchanged
 * output is not: the run is replaced so that its record matches its
 * inputs again). */
int cs_run_unchanged(const cs_run_ref *ref, const char *input_sha256, const char *output_sha256);

/*
 * Finds the committed runs of kind overlapping opts->window on db. None:
 * returns 0 with *equal 0. Exactly one, with exactly this window: returns 0
 * with *equal 1 and *old_ref filled (the run is then compared: unchanged,
 * replaced with --supersede, else exit 4). Any other overlap: -1, exit 4
 * naming the runs, with a hint for the kind.
 */
int cs_run_find_conflict(cs_db *db, const cs_run_opts *opts, const char *kind, int *equal,
			 cs_run_ref *old_ref, cs_error *err);

/*
 * On the writer connection: BEGIN, take the advisory lock, check the schema,
 * and cs_run_find_conflict. Returns 0 (the transaction open) or -1 (rolled
 * back).
 */
int cs_run_begin_write(cs_db *w, const cs_run_opts *opts, const char *kind, int *equal,
		       cs_run_ref *old_ref, cs_error *err);

/* Adds the members of a JSON object (its text) to a printed statement
 * ("{...}\n"), before the statement's closing brace: what a command prints
 * besides the stored statement's keys. */
void cs_run_statement_add(cs_buf *statement, const char *object);

/* Appends the rejected rows of a statement's summary: up to
 * CS_REJECTS_PRINTED_MAX rows with id and reason, then how many more. */
void cs_run_summary_rejects(cs_buf *out, const cs_reject *rj, size_t n);

/* Writes amount (minor units of currency cur of cfg) into out as an exact
 * decimal with its code: "2033.45 EUR". */
void cs_run_put_amount(cs_buf *out, const cs_config *cfg, size_t cur, cs_i128 amount);

/* The next run id: one more than the highest id stored, read under the
 * advisory lock in the write transaction, so that ids have no gaps: a run
 * that fails, is unchanged or loses a race rolls back and leaves its id to
 * the next one (spec section 10.4). */
int cs_run_next_id(cs_db *w, int64_t *id, cs_error *err);

/*
 * Inserts the reversal lines of run old into run id (as many as old's
 * record says it has, else exit 1) and marks old superseded (when old != 0),
 * inserts the run record (line_count expected_lines; the session user as
 * actor, opts->reason, and the runs it depends on: depends_on, n_depends_on
 * ids ascending) chained to the previous record, and commits. Returns 0 or
 * -1 (rolled back).
 */
int cs_run_finish_write(cs_db *w, const cs_run_opts *opts, const char *kind, int64_t id,
			int64_t old, const char *input_sha256, const char *output_sha256,
			int64_t expected_lines, const char *statement, const int64_t *depends_on,
			size_t n_depends_on, cs_error *err);

/* After a failed run: when either connection was lost, err is rewritten
 * to say so ("database connection lost; nothing was written"), the first
 * message kept as its detail. r and w may be NULL. */
void cs_run_name_lost_connection(cs_db *r, cs_db *w, cs_error *err);

/* Rolls back the writer's transaction, ignoring errors. */
void cs_run_rollback(cs_db *w);

/* Writes the common head of a statement: run_id, kind, status, window and
 * hashes, inside an object already begun. run_id 0 writes null. */
void cs_statement_head(cs_json *j, int64_t run_id, const char *kind, const char *status,
		       const cs_window *w, const char *config_sha256, const char *input_sha256,
		       const char *output_sha256);

#endif
