/*
 * audit_int.h -- what the audit commands' database edges share (audit.c,
 * export_db.c): a stored run opened for reading, stored amounts read back,
 * and output files written complete or not at all. Internal to src/audit.
 */
#ifndef COOPSETTLE_AUDIT_INT_H
#define COOPSETTLE_AUDIT_INT_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/i128.h"
#include "coopsettle/stored.h"
#include "coopsettle/window.h"

/* Output is written out when the buffer holds this much. */
#define OUT_FLUSH_BYTES (1024 * 1024)
/* Amounts read back are below this magnitude (2^100): a run's lines are
 * below 2^64 and its sums below 2^126; anything larger was not written by
 * the engine, and keeping below it leaves room to add them up. */
#define STORED_AMOUNT_MAX (((cs_i128)1) << 100)

/* A stored run, opened: its record, its config and window, and a read
 * transaction (one snapshot) on db. */
typedef struct audit_run {
	cs_db *db;
	cs_stored_run run;
	int loaded;
	cs_config *cfg;
	cs_window w;
	char first_day[16], last_day[16];
	int64_t last_day_n;  /* last_day as days since 1970-01-01 */
	char open_day[16];   /* the local day of the window's first instant */
} audit_run;

/* Connects, loads run run_id with its config and begins the read
 * transaction. Returns 0, or -1 with err filled (call audit_close anyway). */
int audit_open(audit_run *a, const char *conninfo, int64_t run_id, cs_error *err);

/* Closes what audit_open opened; safe on a zeroed or half-opened a. */
void audit_close(audit_run *a);

/* The config of the latest committed run into *out (NULL when there is no
 * run). Returns 0, or -1 with err filled (exit 2 when this engine cannot
 * load it: the hint says to pass --config). */
int audit_latest_config(cs_db *db, cs_config **out, cs_error *err);

/* Parses a stored amount; a malformed or implausible one is exit 5. */
int audit_stored_amount(const char *text, cs_i128 *v, int64_t run_id, cs_error *err);

/* Writes b to f and empties it. */
int audit_put_out(FILE *f, cs_buf *b, cs_error *err);

/* The permissions the process's umask lets a new file have. */
mode_t audit_umask_mode(void);

/* Opens a new temporary file next to path (mkstemp) with permissions mode;
 * tmp gets its name. The caller renames or removes it (audit_close_temp). */
FILE *audit_open_temp(const char *path, cs_buf *tmp, mode_t mode, cs_error *err);

/* Closes f and renames tmp to path when ok, else removes tmp. Returns 0 or
 * -1 (err filled unless it already was). */
int audit_close_temp(FILE *f, const char *tmp, const char *path, int ok, cs_error *err);

#endif
