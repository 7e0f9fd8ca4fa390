/*
 * distribute_out.h -- the output side of a distribute run (internal to
 * src/runs/): its ledger lines (binary COPY and canonical records), the
 * canonical steps, the statement of spec section 8, the summary on stdout,
 * and the stored steps and allocations. distribute_run.c reads the inputs,
 * runs the waterfall and calls these.
 */
#ifndef COOPSETTLE_RUNS_DISTRIBUTE_OUT_H
#define COOPSETTLE_RUNS_DISTRIBUTE_OUT_H

#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/copypipe.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/hash.h"
#include "coopsettle/run.h"
#include "coopsettle/surplus.h"

typedef struct dist_out {
	const cs_config *cfg;
	int64_t run_id;
	cs_copypipe *pipe; /* NULL in a dry run: no COPY, only the hash */
	cs_buf copy;       /* binary COPY tuples of ledger lines, sent per chunk */
	cs_sha256 *hash;
	cs_buf canon;
	int64_t lines;
	int64_t posted_day; /* the window's last local day (spec 10.5) */
} dist_out;

/* Builds the ledger lines of every currency from the waterfall result. */
int cs_build_lines(dist_out *o, const cs_surplus_input *in, const cs_surplus_result *res,
		       cs_error *err);

/*
 * The statement of spec section 8. The copy stored in coopsettle.runs leaves
 * out the members (with_members 0): their figures are the run's rows of
 * coopsettle.member_allocations, and a million of them made the run record
 * 118 MB and cost 3 s to insert (docs/auditing.md, docs/performance.md).
 */
void cs_dist_statement(cs_buf *out, const cs_run_opts *opts, const cs_surplus_input *in,
			   const cs_surplus_result *res, int64_t run_id, const char *status,
			   const char *input_hex, const char *output_hex, int with_members);

/* The classes of patronage steps that allocate nothing for want of an
 * eligible member, in each currency with a surplus: a summary line each
 * (their share stays in the retained surplus) and, when there is one,
 * "unallocated_classes" in the printed statement. */
void cs_dist_unallocated(const cs_run_opts *opts, const cs_surplus_input *in,
			     const cs_surplus_result *res, cs_run_result *rr, cs_buf *lines);

void cs_dist_summary(cs_buf *out, const cs_run_opts *opts, const cs_surplus_input *in,
			 const cs_surplus_result *res, const cs_run_result *rr, size_t n_settle,
			 const cs_buf *unallocated);

/* The steps (a few rows) and the member allocations (one row per member and
 * currency with a figure, binary COPY sent from the pipe's thread). */
int cs_write_dist(cs_db *w, const cs_config *cfg, int64_t id, const cs_surplus_input *in,
		      const cs_surplus_result *res, cs_error *err);

/* The surplus and steps of every currency: the end of the canonical
 * output, after the lines. */
void cs_canonical_steps(cs_buf *b, const cs_config *cfg, const cs_surplus_result *sres);

#endif
