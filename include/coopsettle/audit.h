/*
 * audit.h -- the database edge of `explain`, `export` and `statements`
 * (docs/auditing.md): each loads a stored run, its config and the rows it
 * needs, and feeds the pure formatters (explain.h, export.h, statements.h).
 * `verify` has its own module (verify.h).
 *
 * Each command reads in one REPEATABLE READ, READ ONLY transaction and
 * writes nothing to the database. Rows stream through server-side cursors;
 * output is written as it is made, so memory does not grow with the run.
 */
#ifndef COOPSETTLE_AUDIT_H
#define COOPSETTLE_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include "coopsettle/buf.h"
#include "coopsettle/error.h"
#include "coopsettle/export.h"

/*
 * Explains member's figures in run run_id onto out. A settle run: each of
 * the member's transactions in the window as the database holds them now,
 * recomputed and explained (explain.h), next to the ledger lines the run
 * stored for it, then the member's stored party totals. A distribute run:
 * the waterfall step by step from the member's point of view, next to the
 * member's stored allocation. Returns 0, or -1 with err filled (exit 2 for
 * an unknown run or member, 1 for a database or I/O failure).
 */
int cs_audit_explain(const char *conninfo, int64_t run_id, int64_t member, FILE *out,
		     cs_error *err);

/*
 * Writes run run_id's ledger lines as a journal in fmt (export.h) to path,
 * or to stdout when path is NULL. A file is written under a temporary name
 * and renamed into place when complete. Returns 0, or -1 with err filled.
 */
int cs_audit_export(const char *conninfo, int64_t run_id, cs_export_format fmt,
		    const char *path, cs_error *err);

#endif
