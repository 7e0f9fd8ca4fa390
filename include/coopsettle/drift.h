/*
 * drift.h -- whether a committed run still matches its inputs: the test
 * behind `status`'s stale runs (spec section 10.4).
 *
 * Today the test recomputes the run from the current database (a dry run
 * with its stored config and window, as `verify --run` does) and compares
 * the input and output hashes with the run's. When runs snapshot every
 * input they read (spec section 10.4, the time-true records), this one
 * function is where the snapshot comparison goes instead.
 */
#ifndef COOPSETTLE_DRIFT_H
#define COOPSETTLE_DRIFT_H

#include "coopsettle/error.h"
#include "coopsettle/stored.h"

typedef enum cs_drift_kind {
	CS_DRIFT_NONE = 0,   /* the run's inputs and output are reproduced */
	CS_DRIFT_INPUT,      /* the inputs changed since the run */
	CS_DRIFT_OUTPUT,     /* the same inputs give another output: it does not reproduce */
	CS_DRIFT_CANNOT,     /* the recomputation stops on the data now (exit 3) */
} cs_drift_kind;

typedef struct cs_drift {
	cs_drift_kind kind;
	char input_sha256[65];  /* recomputed (empty for CS_DRIFT_CANNOT) */
	char output_sha256[65];
	char why[512];          /* one line for a report; "" for CS_DRIFT_NONE */
} cs_drift;

/*
 * Checks committed run `run` (loaded by cs_stored_run_load or a cursor over
 * CS_STORED_RUN_COLUMNS) against the current database through conninfo,
 * into *out. The process then uses the run's time zone (cs_tz_use): a
 * caller working in another one sets it again. Returns 0, or -1 with err
 * filled when the check itself failed (the database, a stored config this
 * engine cannot load).
 */
int cs_drift_check(const char *conninfo, const cs_stored_run *run, cs_drift *out,
		   cs_error *err);

#endif
