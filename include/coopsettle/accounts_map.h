/*
 * accounts_map.h -- an export's account map (export --accounts MAP.yaml,
 * docs/exports.md): the name or number each engine account has in the
 * target's chart of accounts.
 *
 *   accounts:
 *     "assets:clearing": "1360"
 *     "income:fees": "8400"
 *
 * Keys are engine account names (as the runs' ledger lines carry them),
 * values the target's; a name given twice is an error, as in a config
 * (FILE:LINE:COL). An optional `datev` section holds what a DATEV file's
 * header needs:
 *
 *   datev:
 *     consultant: 1001         # Beraternummer, 1001..9999999
 *     client: 1                # Mandantennummer, 1..99999
 *     fiscal_year_start: 01-01 # MM-DD (default 01-01)
 *     account_length: 4        # Sachkontenlänge, 4..8 (default 4)
 *     chart: SKR03             # SKR03 or SKR04 (optional)
 */
#ifndef COOPSETTLE_ACCOUNTS_MAP_H
#define COOPSETTLE_ACCOUNTS_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/config_load.h"

typedef struct cs_accounts_map {
	char **from, **to; /* n pairs, in file order */
	size_t n;
	/* the datev section */
	int has_datev;
	int64_t consultant, client;
	unsigned fy_month, fy_day;
	unsigned account_length;
	char chart[3]; /* "03", "04" or "" */
} cs_accounts_map;

/* Loads MAP.yaml at path into *out (free with cs_accounts_map_free). Returns
 * 0, or -1 with diag filled (print it with cs_config_diag_print). */
int cs_accounts_map_load(cs_accounts_map **out, const char *path, cs_config_diag *diag);

/* The target of engine account, or NULL when the map does not name it. */
const char *cs_accounts_map_find(const cs_accounts_map *m, const char *account);

/* Frees m; NULL is allowed. */
void cs_accounts_map_free(cs_accounts_map *m);

#endif
