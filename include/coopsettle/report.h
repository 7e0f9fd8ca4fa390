/*
 * report.h -- `coopsettle report` (spec section 10.6, docs/report.md): the
 * database edge of the page for the board and the auditor. It reads, in one
 * REPEATABLE READ, READ ONLY transaction, the runs whose windows lie in a
 * period: the fee income lines of the committed settle runs by month, the
 * statements, member allocations and rebuilt inputs of the committed
 * distribute runs; then verifies every run of the period (verify.h, one
 * recomputation each, as `verify --run` does) and writes the page
 * (report_html.h) under a temporary name renamed into place.
 */
#ifndef COOPSETTLE_REPORT_H
#define COOPSETTLE_REPORT_H

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/error.h"

/* Months a report may span: a century of monthly bars is already more than
 * a page can show. */
#define CS_REPORT_MONTHS_MAX 1200

typedef struct cs_report_opts {
	const char *conninfo;
	/* --config: its time zone (of the period) and cooperative; NULL: those
	 * of the latest committed run's config (UTC when there is no run) */
	const cs_config *cfg;
	/* --period P, or --from X --to Y (one of the two is given) */
	const char *period, *from, *to;
	const char *out_path; /* --out FILE.html */
} cs_report_opts;

/*
 * Writes the report of the period to o->out_path (complete or not at all)
 * and a one-line summary into summary (the caller's). Returns 0 when every
 * run of the period verifies. Returns -1 with err filled otherwise: exit 5
 * when the page was written but a run of the period does not reproduce or
 * a committed run's inputs changed since it ran (the page and err name
 * them); or the exit code of what failed, nothing written (1 database or
 * disk, 2 usage, connection settings, permission, schema, a file that
 * cannot be created).
 */
int cs_report(const cs_report_opts *o, cs_buf *summary, cs_error *err);

#endif
