/*
 * stored.h -- reading stored runs back, for the audit commands (verify,
 * explain, export, statements): run records, their configs and windows,
 * their rows through server-side cursors (memory bounded by one batch), and
 * the inputs of a distribute run as they were when it ran.
 *
 * Everything here reads; nothing writes. The audit connection runs in one
 * REPEATABLE READ, READ ONLY transaction, so every query of one command sees
 * the same database state.
 */
#ifndef COOPSETTLE_STORED_H
#define COOPSETTLE_STORED_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/balances.h"
#include "coopsettle/buf.h"
#include "coopsettle/capital.h"
#include "coopsettle/config.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/i128.h"
#include "coopsettle/members.h"
#include "coopsettle/surplus.h"
#include "coopsettle/window.h"

/* One row of coopsettle.runs. Owned by the caller: cs_stored_run_free. */
typedef struct cs_stored_run {
	int64_t id;
	char kind[16];   /* "settle" or "distribute" */
	char status[16]; /* "committed" or "superseded" */
	int64_t from_us, to_us;
	char from_text[64], to_text[64];
	char *config_text;
	size_t config_len;
	char config_sha256[65], input_sha256[65], output_sha256[65];
	char engine_version[64];
	char created_at[64];
	int64_t supersedes; /* 0: none */
	int has_prev;
	char prev_record_sha256[65];
	char record_sha256[65];
	int64_t line_count;
	char *statement;       /* the JSON statement stored with the run */
	int64_t superseded_by; /* the run whose `supersedes` is this one; 0: none */
	/* schema version 6 (spec section 10.4); NULL / has_depends_on 0 for
	 * runs made before it */
	char *actor;           /* the database session_user that made the run */
	char *reason;          /* --reason TEXT, NULL when none was given */
	int has_depends_on;
	int64_t *depends_on;   /* ascending; the caller's, freed with the run */
	size_t n_depends_on;
} cs_stored_run;

/* Connects for an audit command and checks the schema. Returns the
 * connection (the caller owns it: cs_db_close) or NULL with err filled. */
cs_db *cs_stored_connect(const char *conninfo, cs_error *err);

/* Begins the audit transaction (REPEATABLE READ, READ ONLY) in the time zone
 * of cfg when given (so `timestamp without time zone` input columns read as
 * the cooperative's local time, as the runs read them). */
int cs_stored_begin(cs_db *db, const cs_config *cfg, cs_error *err);

/* Loads run id into run. A run that does not exist is a usage error (exit
 * 2). Returns 0 or -1. */
int cs_stored_run_load(cs_db *db, int64_t id, cs_stored_run *run, cs_error *err);

/* Fills run from the current row of a result with the columns of
 * CS_STORED_RUN_COLUMNS, in that order. Returns 0, or -1 when a cell is
 * malformed. */
int cs_stored_run_from_row(const cs_db_rows *rows, size_t r, cs_stored_run *run);

/* The columns cs_stored_run_from_row reads, for SELECTs from coopsettle.runs
 * aliased `r`. */
#define CS_STORED_RUN_COLUMNS                                                         \
	"r.id, r.kind, r.status, r.window_from_us, r.window_to_us, r.window_from_text,"  \
	" r.window_to_text, r.config_text, r.config_sha256, r.input_sha256,"            \
	" r.output_sha256, r.engine_version, r.created_at, r.supersedes,"               \
	" r.prev_record_sha256, r.record_sha256, r.line_count, r.statement,"            \
	" (SELECT s.id FROM coopsettle.runs s WHERE s.supersedes = r.id ORDER BY s.id"  \
	" LIMIT 1), r.actor, r.reason, r.depends_on::text"

/* Parses a bigint[] as PostgreSQL prints it ("{}", "{3,7}": ascending,
 * positive ids) into a new array *ids (the caller frees it, also on
 * failure) of *n ids. Returns 0, or -1 for anything else. */
int cs_stored_parse_ids(const char *text, int64_t **ids, size_t *n);

/* Frees what run owns. */
void cs_stored_run_free(cs_stored_run *run);

/*
 * Checks run's record_sha256 against its fields: returns the format of the
 * canonical record that hashes to it (CS_RECORD_FORMAT, or 2 or 1 for a
 * record written before it), or 0 when none does (a field was changed). hex
 * gets the hash of the newest format a record of its kind can have (3 for
 * a run with an actor, else 2) either way.
 */
int cs_stored_run_record_check(const cs_stored_run *run, char hex[65]);

/*
 * Parses the run's stored config (exactly as stored: the same bytes the run
 * hashed), makes the process use its time zone, and rebuilds the run's
 * window. On success *cfg is the caller's (cs_config_free). A stored config
 * this engine cannot load is a runtime error (exit 1) with the first
 * config error in the detail.
 */
int cs_stored_run_config(const cs_stored_run *run, cs_config **cfg, cs_window *w,
			 cs_error *err);

/* A server-side cursor: rows arrive CS_CURSOR_BATCH_ROWS at a time, so a
 * query over millions of rows uses the memory of one batch. Several cursors
 * may be open at once on one connection (inside its transaction). */
typedef struct cs_cursor {
	cs_db *db;
	char name[32];
	cs_db_rows rows;
	size_t row;  /* current row in rows, after cs_cursor_next returned 1 */
	size_t next; /* next row to hand out */
	int open, done;
} cs_cursor;

#define CS_CURSOR_BATCH_ROWS 10000

/* Declares cursor name over sql with text parameters. Returns 0 or -1. */
int cs_cursor_open(cs_cursor *c, cs_db *db, const char *name, const char *sql, int n_params,
		   const char *const *params, cs_error *err);

/* Moves to the next row: 1 (a row: cs_cursor_cell), 0 (no more rows) or -1
 * (err filled). */
int cs_cursor_next(cs_cursor *c, cs_error *err);

/* Cell col of the current row, or NULL for SQL NULL. */
const char *cs_cursor_cell(const cs_cursor *c, size_t col);

/* Closes the cursor (ignoring errors) and frees its batch. */
void cs_cursor_close(cs_cursor *c);

/* A settle run that a distribute run's window is made of. */
typedef struct cs_settle_ref {
	int64_t id;
	char output_sha256[65];
	char from_text[64], to_text[64];
} cs_settle_ref;

/*
 * The committed settle runs overlapping [from, to), ordered by window as
 * distribute reads them. With as_of_run > 0, as they were when run
 * as_of_run was made: runs with a smaller id that were not yet superseded
 * by a run with a smaller id; with 0, as they are now. *refs is the
 * caller's (free). Returns 0 or -1.
 */
int cs_stored_settle_runs(cs_db *db, int64_t from_us, int64_t to_us, int64_t as_of_run,
			  cs_settle_ref **refs, size_t *n, cs_error *err);

/* The inputs of a distribute run rebuilt from the database, for explain. */
typedef struct cs_stored_dist {
	cs_surplus_input in; /* points into the members and arrays below */
	cs_members *members;
	cs_i128 *fees_minor, *gross_minor;
	int64_t *skipped_days; /* local days of the window the clocks skipped */
	cs_run_link *links;    /* refs as the canonical input names them */
	/* config version 2: from the run's snapshots */
	cs_i128 *class_fees_minor, *class_gross_minor, *capital_days_minor, *capital_open_minor;
	cs_capital capital;
	cs_balances balances;
	cs_cost_row *cost_rows;
	size_t n_cost_rows;
	cs_settle_ref *refs;
	size_t n_refs;
	char input_sha256[65]; /* of the canonical input rebuilt here */
} cs_stored_dist;

/* The totals of the settle runs ids (a bigint[] literal) per currency
 * into in: fee income (the fee income account's part: fees less fund
 * parts), all fees borne and the gross. A currency cfg does not list is
 * exit_code. Returns 0 or -1. */
int cs_settle_totals(cs_db *db, const cs_config *cfg, const char *ids, int exit_code,
		     cs_surplus_input *in, cs_error *err);

/*
 * Rebuilds the inputs of distribute run `run` (config cfg, window w): its
 * settle runs as they were when it ran, their fee income, the costs
 * recorded in the run's statement, the current members and their patronage
 * bases; and hashes the canonical distribute input over them
 * (docs/reproducibility.md). When that hash equals the run's input_sha256,
 * these are exactly the run's inputs. Returns 0 (free with
 * cs_stored_dist_free) or -1.
 */
int cs_stored_dist_load(cs_db *db, const cs_config *cfg, const cs_stored_run *run,
			const cs_window *w, cs_stored_dist *out, cs_error *err);

/* Frees what d owns. */
void cs_stored_dist_free(cs_stored_dist *d);

/* Loads the membership snapshot of run run_id (config version 2) into m,
 * in the order cs_members_add_period takes; a row the engine cannot have
 * written (a class it does not know, out of order) is left out, so the
 * run's input hash then differs. Returns 0 or -1. */
int cs_stored_memberships(cs_db *db, int64_t run_id, cs_members *m, cs_error *err);

/* The canonical record a run's record_sha256 covers: format 1, the fields
 * of every record since the chain began; format 2 (written from
 * 2026-12-01) adds the window texts, line_count and the SHA-256 of the
 * statement; format 3 (CS_RECORD_FORMAT, schema version 6) adds the actor,
 * the reason and the runs depended on, so every field of the record is
 * covered but status, which superseding changes (docs/reproducibility.md). */
#define CS_RECORD_FORMAT 3

typedef struct cs_record_fields {
	int64_t id;
	const char *kind;
	int64_t from_us, to_us;
	const char *from_text, *to_text;
	const char *config_sha256, *input_sha256, *output_sha256;
	const char *engine_version, *created_at;
	int64_t supersedes;             /* 0: none */
	const char *prev_record_sha256; /* NULL: the first record */
	int64_t line_count;
	const char *statement;
	const char *actor;            /* format 3 */
	const char *reason;           /* format 3; NULL: none */
	const int64_t *depends_on;    /* format 3; ascending */
	size_t n_depends_on;
} cs_record_fields;

/* Appends the canonical record of r in format (1, 2 or 3) to out. */
void cs_stored_record_canonical(cs_buf *out, int format, const cs_record_fields *r);

#endif
