/*
 * status.h -- `coopsettle status` (spec section 10.4): what a scheduler or
 * a monitor checks after the nightly settle. For a window (default: the
 * last closed day) it lists the committed runs, the local days up to the
 * last closed day that no committed settle run covers, and the stale runs:
 * distribute runs built on settle runs that are no longer committed, and
 * runs whose inputs changed since (drift.h). Something missing or stale is
 * exit 5, so that monitoring can alert.
 */
#ifndef COOPSETTLE_STATUS_H
#define COOPSETTLE_STATUS_H

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/error.h"

typedef struct cs_status_opts {
	const char *conninfo;
	/* --config: its time zone and close_after; NULL: those of the latest
	 * committed run's config (UTC and 0h when there is no run) */
	const cs_config *cfg;
	/* --period P, or --from X --to Y; all NULL: the last closed day */
	const char *period, *from, *to;
	int json; /* the report as one JSON object */
} cs_status_opts;

/* Writes the status report into report (the caller's). Returns 0 when
 * nothing is missing or stale; -1 with err filled otherwise: exit 5 for
 * days not settled or stale runs (the report lists them), or the exit code
 * of what failed (1 database, 2 usage or schema). */
int cs_status(const cs_status_opts *o, cs_buf *report, cs_error *err);

#endif
