/*
 * run.h -- runs: settle (spec sections 5 and 7) and their records, the
 * statements they print, and the run chain.
 *
 * A run reads through one connection (a REPEATABLE READ snapshot) and writes
 * through another, in ONE transaction under the schema's advisory lock: the
 * ledger lines stream into COPY as they are computed, then the totals, the
 * rejects and the run record, then COMMIT. After each COPY the rows the
 * server stored (its command tag) are compared with the rows sent; the core
 * asserts that the lines balance. Anything that fails before COMMIT leaves
 * nothing.
 */
#ifndef COOPSETTLE_RUN_H
#define COOPSETTLE_RUN_H

#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/error.h"
#include "coopsettle/settle.h"
#include "coopsettle/surplus.h"
#include "coopsettle/window.h"

/* Callbacks that watch a settle dry run's recomputation as it happens:
 * `verify --run` compares a stored run with its recomputation through them
 * without holding either in memory. Any member may be NULL. */
typedef struct cs_run_taps {
	void *ctx;
	/* each input row read, in canonical order, with the member flags of its
	 * producer and consumer (the row's strings are valid during the call) */
	void (*input)(void *ctx, const cs_txn_row *row, int producer_member,
		      int consumer_member);
	/* each ledger line computed (lines of amount 0 are not computed) */
	cs_line_sink_fn line;
} cs_run_taps;

typedef struct cs_run_opts {
	const char *conninfo; /* NULL: libpq's environment */
	const cs_config *cfg;
	cs_window window;
	int dry_run;
	int supersede;
	const char *reason; /* --reason TEXT (required with --supersede); NULL: none */
	/* The settle or distribute command, not a recomputation by verify or
	 * status (spec section 10.4): a window that has not closed is refused
	 * (exit 2) unless allow_open; a dry run meets the conflicts the real run
	 * would; a run of exactly a committed run's window is compared with it
	 * (unchanged, exit 4 without supersede, or its figures old -> new, the
	 * config keys that differ and the distribute runs made stale). */
	int command;
	int allow_open;
	int progress; /* print a progress line on stderr */
	const cs_run_taps *taps; /* settle dry runs only; NULL: none */
	/* The caller prints only the summary: res->statement may then leave out
	 * its per-party (settle) or per-member (distribute) list, the stored
	 * statement's form. */
	int summary_only;
	/* A dry run that recomputes committed run restate_run_id (verify):
	 * res->restated receives the statement as that run stored it. */
	int64_t restate_run_id;
} cs_run_opts;

typedef struct cs_run_result {
	int64_t run_id;      /* 0 for a dry run */
	int64_t supersedes;  /* 0 when none */
	const char *status;  /* "committed", "dry_run" or "unchanged" */
	char input_hash[65];
	char output_hash[65];
	int64_t rows_read;
	int64_t lines_written;
	cs_buf statement;    /* the JSON statement (spec section 8) */
	cs_buf summary;      /* the human summary */
	cs_buf restated;     /* opts->restate_run_id: the stored statement, rebuilt */
	cs_buf notes;        /* lines for stderr: config keys changed, runs made stale */
} cs_run_result;

/* Initialises a result (empty buffers). */
void cs_run_result_init(cs_run_result *res);

/* Frees a result's buffers. */
void cs_run_result_free(cs_run_result *res);

/* Runs settle for opts. Returns 0 (res filled), or -1 with err filled and
 * nothing written; err->exit_code is the CLI's exit code. On exit code 3,
 * res->statement still holds the statement with the rejected rows. */
int cs_run_settle(const cs_run_opts *opts, cs_run_result *res, cs_error *err);

/* Runs distribute for opts (spec section 6); same conventions. */
int cs_run_distribute(const cs_run_opts *opts, cs_run_result *res, cs_error *err);

/* Recomputes distribute run opts->restate_run_id (a dry run) from inputs
 * already prepared -- verify's first stage, from the run's own snapshots --
 * without reading the database: res gets the input and output hashes, the
 * statement with every allocation row and the stored statement rebuilt
 * (res->restated). Returns 0 or -1. */
int cs_run_distribute_from(const cs_run_opts *opts, const cs_surplus_input *in,
			   cs_run_result *res, cs_error *err);

#endif
