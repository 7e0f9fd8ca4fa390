/*
 * config_load.h -- the strict YAML loader of the config (src/config/).
 *
 * It rejects unknown and duplicate keys, aliases, wrong types, inexact
 * money, shares that do not sum to 1, non-increasing tiers, rules with both
 * rate and tiers, unknown time zones, and every other rule a file can break
 * (docs/config.md). It reports every error up to CS_CONFIG_ERRORS_MAX, each
 * as FILE:LINE:COL with the line and a caret. The core never includes this
 * header: it reads the typed model of config.h.
 */
#ifndef COOPSETTLE_CONFIG_LOAD_H
#define COOPSETTLE_CONFIG_LOAD_H

#include <stddef.h>
#include <stdio.h>

#include "coopsettle/config.h"
#include "coopsettle/limits.h"

/* One config error. line and col are 1-based (0: no position). */
typedef struct cs_config_error {
	unsigned line;
	unsigned col;
	char message[256];
} cs_config_error;

/* Errors collected while loading, in file order, at most
 * CS_CONFIG_ERRORS_MAX; truncated is set when more were found. */
typedef struct cs_config_diag {
	cs_config_error errors[CS_CONFIG_ERRORS_MAX];
	size_t n_errors;
	int truncated;
} cs_config_diag;

/*
 * Loads and validates the config file at path. On success returns 0 and sets
 * *out to a new config the caller owns (free with cs_config_free). On failure
 * returns -1, *out is NULL, and diag holds the errors (a file that cannot be
 * read is one error without position).
 */
int cs_config_load_file(cs_config **out, const char *path, cs_config_diag *diag);

/* Same, from a buffer of len bytes; name is used in messages and as path.
 * The buffer is copied. */
int cs_config_load_buffer(cs_config **out, const char *name, const char *text,
			  size_t len, cs_config_diag *diag);

/*
 * Prints diag to f as `NAME:LINE:COL: message`, then the offending line of
 * text, then a caret under the column (errors without position print
 * `NAME: message`). text may be NULL (then no line and caret are printed).
 */
void cs_config_diag_print(FILE *f, const cs_config_diag *diag, const char *name,
			  const char *text, size_t text_len);

#endif
