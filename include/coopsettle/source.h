/*
 * source.h -- the transaction source: reads the inputs of spec section 4
 * from PostgreSQL with binary COPY, in the canonical order of
 * docs/reproducibility.md, without holding transactions in memory.
 */
#ifndef COOPSETTLE_SOURCE_H
#define COOPSETTLE_SOURCE_H

#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/members.h"
#include "coopsettle/settle.h"
#include "coopsettle/window.h"

/* Called for each transaction row; returns 0 or -1 (err filled) to stop. */
typedef int (*cs_row_fn)(void *ctx, const cs_txn_row *row, cs_error *err);

/* Returns "schema"."table" quoted for SQL (caller frees), or NULL. */
char *cs_source_relation_sql(cs_db *db, const cs_relation *rel, cs_error *err);

/*
 * A source column read as bigint must hold whole numbers: a numeric or
 * floating-point column whose value has a fraction is invalid input, never
 * rounded. For the columns cols (n of them) of the relation rel (quoted
 * SQL), writes into out an SQL expression that is NULL for a row whose
 * columns are all whole, else text naming each column and value that is
 * not ("amount_minor 1000.5"); out is left empty when every column is of an
 * integer type (nothing to check, no cost). Returns 0 or -1.
 */
int cs_source_inexact_sql(cs_db *db, const char *rel, const char *const *cols, size_t n,
			  cs_buf *out, cs_error *err);

/*
 * Loads the members relation into members. Rows with a NULL id or class, a
 * class other than producer/consumer, or a repeated id are invalid data
 * (exit 3, the first CS_REJECTS_PRINTED_MAX ids listed in err). When
 * need_dates is set, a NULL joined_on is invalid too. Returns 0 or -1.
 */
int cs_source_members(cs_db *db, const cs_config *cfg, cs_members *members, int need_dates,
		      cs_error *err);

/* Counts the rows cs_source_transactions would read (for progress). */
int cs_source_count(cs_db *db, const cs_config *cfg, const cs_window *w, int64_t *count,
		    cs_error *err);

/*
 * Streams the window's transactions (and every row with a NULL occurred_at,
 * which could belong to any window) in canonical order to fn. Returns 0 or
 * -1 with err filled.
 */
int cs_source_transactions(cs_db *db, const cs_config *cfg, const cs_window *w, cs_row_fn fn,
			   void *ctx, cs_error *err);

/* On the reader connection: sets the session time zone to the config's (so a
 * `timestamp without time zone` input column is read as local time of the
 * cooperative, the same on every server) and begins a REPEATABLE READ, READ
 * ONLY transaction. Returns 0 or -1. */
int cs_source_begin_read(cs_db *r, const cs_config *cfg, cs_error *err);

#endif
