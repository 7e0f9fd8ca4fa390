/*
 * verify.h -- `verify --run N` and `verify --chain` (spec section 7,
 * docs/auditing.md).
 *
 * verify --run N recomputes run N from the current database with its stored
 * config and window (a dry run through the same code as the run itself),
 * and checks, each on its own line of the report:
 *   - the stored config text still hashes to config_sha256;
 *   - the run record still hashes to record_sha256 and links to the record
 *     before it;
 *   - the stored ledger lines, totals and rejects (settle) or lines, steps
 *     and figures (distribute) still hash to output_sha256;
 *   - the stored lines balance per currency and number line_count; the
 *     reversal lines of a superseding run negate the superseded run's lines;
 *   - the recomputed input and output hashes equal the stored ones;
 *   - the stored rows equal the recomputation, row by row.
 * What differs is named: transactions added, removed or changed since the
 * run (from the run's input snapshot, coopsettle.run_inputs), ledger lines
 * or totals that differ from the recomputation, settle runs superseded
 * since a distribute run, member allocations that differ.
 *
 * verify --chain walks every run record by id and checks its record hash,
 * its link to the previous record, its config hash, its status, and that
 * every run's stored lines balance and number line_count.
 *
 * Memory: settle rows and lines are compared as they stream (server-side
 * cursors against the recomputation's taps); only the first
 * CS_VERIFY_LISTED_MAX differences of each kind are kept, the rest counted.
 */
#ifndef COOPSETTLE_VERIFY_H
#define COOPSETTLE_VERIFY_H

#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/stored.h"

/* Differences listed per kind in a report; the rest are counted. */
#define CS_VERIFY_LISTED_MAX 20

/*
 * Verifies run run_id. The report (appended to report, which the caller
 * owns) has one line per check; with json, report receives instead one JSON
 * object: {"checks": [{"check", "ok", "stage", "details"}], "run_id",
 * "verifies", "kind": null | "does_not_reproduce" | "inputs_changed",
 * "failed_checks"}. Returns 0 when every check passes; -1 with
 * err filled otherwise: exit 5 (CS_EXIT_VERIFY) for a mismatch, the report
 * saying what differs; 1 for a database or I/O failure; 2 for a run that
 * does not exist.
 */
int cs_verify_run(const char *conninfo, int64_t run_id, int json, cs_buf *report,
		  cs_error *err);

/* The canonical output hash (docs/reproducibility.md) of run's stored rows
 * -- settle: posted lines, party and currency totals, rejects; distribute:
 * posted lines, figures and steps -- into hex, read on db inside its open
 * transaction (server-side cursors). cfg is the run's config. It equals the
 * run's output_sha256 unless a stored row was changed. Returns 0 or -1. */
int cs_verify_stored_output(cs_db *db, const cs_stored_run *run, const cs_config *cfg,
			    char hex[65], cs_error *err);

/* Verifies the chain of run records; same conventions. The error message of
 * a mismatch names the first bad run. */
int cs_verify_chain(const char *conninfo, int json, cs_buf *report, cs_error *err);

#endif
