/*
 * inputs.h -- the input snapshot of a settle run: every transaction row the
 * run read, with the member flags of its parties, stored in
 * coopsettle.run_input_chunks (CS_INPUT_CHUNK_ROWS rows a row, one array
 * per column; the view coopsettle.run_inputs shows a row per transaction)
 * in the run's own transaction, so `verify --run` can name the
 * transactions added, removed or changed since the run (docs/auditing.md,
 * "Input snapshots").
 *
 * The ledger lines stream into COPY while the rows are read, and one
 * connection carries one COPY at a time, so the snapshot is spooled to an
 * unlinked temporary file as the rows go by and copied into the table after
 * the ledger COPY ends, as one binary COPY. Memory stays constant (one
 * chunk); the file takes about 90 to 130 bytes a row on disk ($TMPDIR, else
 * /tmp) for the length of the run.
 */
#ifndef COOPSETTLE_INPUTS_H
#define COOPSETTLE_INPUTS_H

#include <stdint.h>

#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/settle.h"

typedef struct cs_input_spool cs_input_spool;

/* Opens a spool for the rows of run run_id in a new temporary file, which is
 * unlinked at once (it disappears with the process). Returns a spool the
 * caller owns (cs_input_spool_free), or NULL with err filled (exit 1). */
cs_input_spool *cs_input_spool_new(int64_t run_id, cs_error *err);

/* Appends one row, in input order, with the member flags of its producer and
 * consumer. Never fails here: a write error is kept and reported by
 * cs_input_spool_copy. The row's strings are copied. */
void cs_input_spool_row(cs_input_spool *sp, const cs_txn_row *row, int producer_member,
			int consumer_member);

/* Number of rows spooled. */
int64_t cs_input_spool_rows(const cs_input_spool *sp);

/* Copies the spooled rows into coopsettle.run_input_chunks through w, which must
 * be inside the run's transaction with no COPY in progress. Returns 0, or -1
 * with err filled (a write error of the spool is reported here, exit 1). */
int cs_input_spool_copy(cs_input_spool *sp, cs_db *w, cs_error *err);

/* Closes and frees the spool (its file is gone with it); NULL is allowed. */
void cs_input_spool_free(cs_input_spool *sp);

#endif
