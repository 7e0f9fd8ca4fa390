/*
 * db.h -- the database edge: a small checked interface over libpq.
 *
 * src/store/db.c is the only file that includes libpq-fe.h. Every statement goes
 * through one checked wrapper, values are always parameters, identifiers
 * are quoted with PQescapeIdentifier, and the first statement of every
 * session makes the search_path secure (every name is schema-qualified).
 * A lost connection (CONNECTION_BAD, SQLSTATE class 08, or a FATAL error,
 * after which the server closes the session) is reported as such, with
 * exit code 1.
 */
#ifndef COOPSETTLE_DB_H
#define COOPSETTLE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/error.h"

typedef struct cs_db cs_db;

/* A query result: rows x cols strings (NULL for SQL NULL). Owned by the
 * caller; free with cs_db_rows_free. The strings live in the libpq result
 * kept in `result` (one block, not a malloc per cell: a verify of 1M rows
 * fetched 40M cells). */
typedef struct cs_db_rows {
	size_t n_rows;
	size_t n_cols;
	const char **cells; /* row-major */
	void *result;       /* the PGresult the cells point into */
} cs_db_rows;

/* The schema that holds the engine's own tables (config key `schema`,
 * option --schema; default "coopsettle"), for every statement sent after
 * the call, on every connection: process-wide, like cs_tz_use. The engine's
 * SQL names its tables `coopsettle.TABLE`; each statement is sent with that
 * prefix replaced by the quoted name, `"NAME".TABLE` (a schema map: outside
 * double-quoted identifiers only, at the start of a word, so a quoted
 * relation of the config is never touched). Returns 0, or -1 with err
 * filled (exit 2) when name is not a valid schema name (util.h). */
int cs_db_use_schema(const char *name, cs_error *err);

/* The schema set by cs_db_use_schema ("coopsettle" before any call). */
const char *cs_db_schema(void);

/* The statement sql as sent: `coopsettle.` mapped to the schema (above).
 * Newly allocated (the caller frees it), or NULL when out of memory. For
 * tests and for SQL that is not sent through this interface. */
char *cs_db_map_schema(const char *sql);

/* Connects with conninfo (NULL or "" means libpq's environment and
 * defaults) and secures the search_path. Returns NULL and fills err on
 * failure. The caller owns the connection (cs_db_close). */
cs_db *cs_db_connect(const char *conninfo, cs_error *err);

/* Closes the connection; NULL is allowed. An open transaction is rolled
 * back by the server. */
void cs_db_close(cs_db *db);

/* Runs a statement with text parameters (NULL entries are SQL NULL) and
 * discards its result. Returns 0, or -1 with err filled. */
int cs_db_exec(cs_db *db, const char *sql, int n_params, const char *const *params,
	       cs_error *err);

/* Runs a query with text parameters and copies its rows into out (which the
 * caller frees with cs_db_rows_free). Returns 0, or -1 with err filled. */
int cs_db_query(cs_db *db, const char *sql, int n_params, const char *const *params,
		cs_db_rows *out, cs_error *err);

/* Returns cell (row, col) of rows, or NULL for SQL NULL. */
const char *cs_db_cell(const cs_db_rows *rows, size_t row, size_t col);

/* Frees the cells of rows (the struct itself is the caller's). */
void cs_db_rows_free(cs_db_rows *rows);

/* Returns a newly allocated, quoted SQL identifier for name (the caller
 * frees it with free), or NULL with err filled. */
char *cs_db_quote_ident(cs_db *db, const char *name, cs_error *err);

/* Starts `COPY ... TO STDOUT`. Returns 0 or -1 with err filled. */
int cs_db_copy_out_begin(cs_db *db, const char *sql, cs_error *err);

/* Fetches the next row of a COPY TO STDOUT. Returns 1 and points *buf at
 * the row's bytes (valid until the next call; libpq's buffer, freed by the
 * next call), 0 at the end of the data (the command's result has then been
 * checked), or -1 with err filled. */
int cs_db_copy_out_next(cs_db *db, const char **buf, size_t *len, cs_error *err);

/* Starts `COPY ... FROM STDIN`. Returns 0 or -1 with err filled. */
int cs_db_copy_in_begin(cs_db *db, const char *sql, cs_error *err);

/* Sends len bytes of COPY data. Returns 0 or -1 with err filled. */
int cs_db_copy_in_put(cs_db *db, const char *buf, size_t len, cs_error *err);

/* Ends the COPY FROM STDIN and checks its result (every result until NULL).
 * Returns 0 or -1 with err filled. */
int cs_db_copy_in_end(cs_db *db, cs_error *err);

/* Nonzero while a transaction block is open (or its state is unknown). */
int cs_db_in_transaction(const cs_db *db);

/* The number of rows the last cs_db_exec or COPY FROM STDIN stored, from
 * the server's command tag; -1 when it has none (a SELECT, a failure). */
int64_t cs_db_rows_stored(const cs_db *db);

/* Returns 0 when the last command stored exactly expected rows, else -1 with
 * err filled (exit 1, naming table): the server wrote something other than
 * what was sent, so the caller must not commit. */
int cs_db_expect_stored(cs_db *db, const char *table, int64_t expected, cs_error *err);

/* Returns nonzero when the last failure on db was a lost connection. */
int cs_db_connection_lost(const cs_db *db);

/* The server's backend process id (for tests and logs). */
int cs_db_backend_pid(const cs_db *db);

/* Reads a bigint result cell. */
int cs_db_cell_i64(const cs_db_rows *rows, size_t r, size_t c, int64_t *out);

#endif
