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
#include "coopsettle/accounts_map.h"
#include "coopsettle/config.h"
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

/* What `export` is asked for (docs/exports.md). */
typedef struct cs_export_request {
	const char *conninfo;
	int64_t run;			/* --run N; 0: a period */
	const char *period, *from, *to; /* --period P, or --from X --to Y */
	/* --config: the period's time zone; NULL: the latest committed run's */
	const cs_config *cfg;
	cs_export_format fmt;
	const cs_accounts_map *map; /* --accounts MAP.yaml; NULL: none */
	int group_day;		    /* --group day */
	const char *output;	    /* --output FILE; NULL: stdout */
} cs_export_request;

/*
 * Writes the ledger lines of run q->run, or of every run whose window lies
 * in the period (in run order, reversals included), in q->fmt (export.h) to
 * q->output, or to stdout. DATEV takes the lines posted in the period, of
 * one fiscal year. Every run's stored rows must hash to its output_sha256
 * first (exit 5, nothing written). A file is written under a temporary name
 * and renamed into place when complete. Returns 0, or -1 with err filled.
 */
int cs_audit_export(const cs_export_request *q, cs_error *err);

#endif
