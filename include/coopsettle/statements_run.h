/*
 * statements_run.h -- the database edge of `coopsettle statements`
 * (docs/statements.md): loads a distribute run, its stored allocations, the
 * superseded run's allocations, the members' names and addresses, and
 * writes one statement per member (statements.h) as text and HTML, and on
 * request as PDF printed by headless Chromium.
 *
 * Reads in one REPEATABLE READ, READ ONLY transaction; writes nothing to
 * the database.
 */
#ifndef COOPSETTLE_STATEMENTS_RUN_H
#define COOPSETTLE_STATEMENTS_RUN_H

#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/error.h"

typedef struct cs_statements_opts {
	const char *conninfo;
	int64_t run_id;
	const char *dir;    /* created 0700 (0750 group_readable) when missing */
	int group_readable; /* files 0640 instead of 0600 */
	int pdf;            /* also member-ID.pdf and statements.pdf */
	/* the config whose `statements` keys and `source.member_details` the
	 * statements take (the caller's); NULL: the run's own config */
	const cs_config *presentation;
} cs_statements_opts;

/*
 * Writes member-ID.txt and member-ID.html for every member with a stored
 * allocation in distribute run o->run_id, and statements.html (every
 * member, one per A4 page); with o->pdf also member-ID.pdf and
 * statements.pdf. Each file is written under a mkstemp name in the folder
 * and renamed into place when complete, so a symlink pre-placed at a name
 * is replaced, never followed. Appends a one-line summary to report.
 * Returns 0, or -1 with err filled: exit 2 for a settle run, a folder that
 * cannot be made, a source.member_details the config names that does not
 * exist, or --format pdf without Chromium (checked before anything is
 * written); 1 when Chromium fails or times out.
 */
int cs_statements_write(const cs_statements_opts *o, cs_buf *report, cs_error *err);

#endif
