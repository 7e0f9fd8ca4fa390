/*
 * bookkeeping.h -- the run bookkeeping of spec section 10.4 that settle
 * and distribute share: closed windows and the --period keywords resolved
 * at the database server's now(), and what a run of exactly a committed
 * run's window says about it (exit 4 when it changed without --supersede;
 * with --supersede its figures old -> new, the config keys that differ and
 * the distribute runs it makes stale).
 */
#ifndef COOPSETTLE_BOOKKEEPING_H
#define COOPSETTLE_BOOKKEEPING_H

#include <stdint.h>

#include "coopsettle/config.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"
#include "coopsettle/run.h"
#include "coopsettle/runcommon.h"
#include "coopsettle/window.h"

/* The database server's now() in microseconds since 1970-01-01 UTC.
 * Returns 0 or -1. */
int cs_run_server_now(cs_db *db, int64_t *now_us, cs_error *err);

/* Nonzero when period is one of the keywords yesterday, last-month,
 * last-quarter, last-year. */
int cs_period_is_keyword(const char *period);

/*
 * The window of --period P (a keyword resolved in the config's time zone,
 * which the process uses, at now_us; or YYYY-MM-DD, YYYY-MM, YYYY-Qn,
 * YYYY) or of --from X --to Y (period NULL). Returns 0, or -1 with err
 * filled (exit 2).
 */
int cs_run_window_at(cs_window *w, const char *period, const char *from, const char *to,
		     int64_t now_us, cs_error *err);

/*
 * The same for the command line: connects (conninfo) to read the server's
 * now() only when period is a keyword. The config's time zone must be in
 * use (cs_tz_use). Returns 0, or -1 with err filled.
 */
int cs_run_window(cs_window *w, const char *conninfo, const char *period, const char *from,
		  const char *to, cs_error *err);

/* The last closed local day at now_us: the day before the local date of
 * now_us minus close_after_us, in days since 1970-01-01 (the process's time
 * zone, the config's). */
int64_t cs_run_last_closed_day(int64_t now_us, int64_t close_after_us);

/* Refuses (exit 2) a window that has not closed: whose end is later than
 * the server's now() minus the config's close_after (spec section 10.4),
 * unless opts->allow_open. Returns 0 or -1. */
int cs_run_check_closed(cs_db *db, const cs_run_opts *opts, cs_error *err);

/* A recomputation of exactly old's window, without --supersede, that is not
 * unchanged (spec section 10.4): fills err (exit 4) saying what differs --
 * the inputs, the config (its keys, read on db), or the output alone -- and
 * that --supersede --reason would replace the run. Returns -1. */
int cs_run_refuse_changed(cs_db *db, const cs_run_opts *opts, const char *kind,
			  const cs_run_ref *old, const cs_run_result *res, cs_error *err);

/*
 * After a run (or dry run) with --supersede of exactly old's window: adds
 * to res what replacing old means (spec section 10.4) -- its figures per
 * currency old -> new (summary; "replaces" in the statement), the config
 * keys that differ from old's ("config_changes"), and, for a settle run,
 * the committed distribute runs that used old ("stale_runs"), the last two
 * also as lines in res->notes. res->statement must hold the printed
 * statement; the keys go before its closing brace. Reads on db. Returns 0
 * or -1.
 */
int cs_run_report_replacement(cs_db *db, const cs_run_opts *opts, const char *kind,
			      const cs_run_ref *old, cs_run_result *res, cs_error *err);

/* What the settle or distribute command reports after a run that did not
 * fail: with old (the run it replaces, or would in a dry run; NULL: none)
 * cs_run_report_replacement, its failure only noted; and the reason given.
 * Reads on db. */
void cs_run_report_command(cs_db *db, const cs_run_opts *opts, const char *kind,
			   const cs_run_ref *old, cs_run_result *res);

#endif
