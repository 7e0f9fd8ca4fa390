/*
 * schema.h -- the coopsettle schema in PostgreSQL: creation, migration and
 * its version (`coopsettle init-db`).
 */
#ifndef COOPSETTLE_SCHEMA_H
#define COOPSETTLE_SCHEMA_H

#include "coopsettle/db.h"
#include "coopsettle/error.h"

/* The schema version this engine writes and expects. 2 added
 * coopsettle.run_inputs (the input snapshot of settle runs), 3 dropped the
 * bulk tables' foreign keys, 4 stores the snapshot in chunks of
 * CS_INPUT_CHUNK_ROWS rows (coopsettle.run_input_chunks, one array per
 * column) with the view coopsettle.run_inputs over them, 5 is the
 * time-true records' (spec sections 10.1, 10.2, 10.5), 6 adds the run
 * bookkeeping of section 10.4 (runs.actor, reason, depends_on; run ids
 * without gaps), 7 the cooperative law's (spec 10.3: a settle run's fee
 * income apart from its fund parts, a member's withheld interest), 8 the
 * VAT on fees of parties and currencies (spec 10.8). init-db migrates any
 * older schema in place. */
#define CS_SCHEMA_VERSION 8

/* Rows of the input snapshot per coopsettle.run_input_chunks row, and the
 * same as SQL text. */
#define CS_INPUT_CHUNK_ROWS 1000
#define CS_INPUT_CHUNK_ROWS_SQL "1000"

/* The advisory lock key that serialises all runs and migrations of the
 * default schema `coopsettle` ('coop' 'stle' in ASCII). */
#define CS_ADVISORY_LOCK_KEY "7165059049155654245"

/* The advisory lock key of the schema in use (cs_db_schema), as decimal
 * text: CS_ADVISORY_LOCK_KEY for `coopsettle`, as before schemas could be
 * named; for any other name the first 8 bytes of SHA-256("coopsettle
 * advisory lock: " NAME) read as a big-endian signed 64-bit integer. Runs of
 * two schemas then take two different locks (a collision has odds of 2^-64)
 * and never wait for each other; runs of one schema still serialise. */
void cs_schema_lock_key(char out[24]);

/* Takes the schema's advisory lock for the rest of the transaction on db
 * (pg_advisory_xact_lock; it waits for a run of the same schema). Returns
 * 0, or -1 with err filled. */
int cs_schema_lock(cs_db *db, cs_error *err);

/* Creates or migrates the schema in one transaction; running it twice is
 * harmless. Sets *from_version to the version before (0: there was no
 * schema) and *version to the version afterwards. Returns 0, or -1 with err
 * filled. */
int cs_schema_init(cs_db *db, int *from_version, int *version, cs_error *err);

/* Sets *distributed to 1 when the schema's tables are Citus distributed
 * tables (schema-based sharding: docs/scale-out.md), where init-db creates
 * no append-only triggers, else 0. Returns 0, or -1 with err filled. */
int cs_schema_distributed(cs_db *db, int *distributed, cs_error *err);

/* Checks that the schema exists at CS_SCHEMA_VERSION. Returns 0, or -1 with
 * err filled (with a hint to run init-db). */
int cs_schema_check(cs_db *db, cs_error *err);

#endif
