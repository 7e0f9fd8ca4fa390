/*
 * export.h -- ledger lines as a plain-text accounting journal (hledger,
 * beancount), CSV or a DATEV "EXTF" Buchungsstapel; pure formatting, no
 * I/O (docs/exports.md).
 *
 * An export holds the lines of one run (--run N) or of every run of a
 * period, in run order (spec 10.6). One journal transaction per ledger
 * journal: a settle run's transaction id, a distribute run's currency;
 * reversal lines of a superseded run form their own journal transactions.
 * Every journal transaction is dated by its lines' posting date (spec 10.5:
 * a sale on its own day, a distribution on the window's last day, a
 * reversal on the day its run was made; a line written before posting
 * dates were kept: the window's last day), carries the run id, kind,
 * journal and rule or step id as tags (hledger) or metadata (beancount),
 * and the runs' hashes are in the file's header (hledger, beancount: also a
 * `custom` directive per run) or in every row (CSV). With --group day the
 * lines are summed per (posting date, currency, account, party): one
 * journal transaction per day and currency. Amounts are exact decimals at
 * the currency's exponent, written from the integer.
 *
 * Party ids become sub-accounts: `assets:clearing` of party 10 is
 * `assets:clearing:10` (beancount `Assets:Clearing:10`; a negative id -5 is
 * `N5` there), a line without a party stays on the account itself. An
 * account map (accounts_map.h) renames engine accounts first; beancount
 * names are then derived so that every name is valid (never refused).
 */
#ifndef COOPSETTLE_EXPORT_H
#define COOPSETTLE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/accounts_map.h"
#include "coopsettle/buf.h"
#include "coopsettle/config.h"
#include "coopsettle/error.h"
#include "coopsettle/i128.h"

typedef enum cs_export_format {
	CS_EXPORT_HLEDGER = 0,
	CS_EXPORT_BEANCOUNT,
	CS_EXPORT_CSV,
	CS_EXPORT_DATEV,
} cs_export_format;

/* Parses "hledger", "beancount", "csv" or "datev". Returns 0 or -1. */
int cs_export_format_parse(const char *name, cs_export_format *out);

/* The five roots of a beancount account. */
typedef enum cs_export_root {
	CS_ROOT_ASSETS = 0,
	CS_ROOT_LIABILITIES,
	CS_ROOT_EQUITY,
	CS_ROOT_INCOME,
	CS_ROOT_EXPENSES,
} cs_export_root;

/* The root an engine account has by its role in cfg (docs/exports.md):
 * clearing Assets; payables, withholding, VAT and fee funds Liabilities; fee
 * income Income; member capital, reserves, the surplus, the loss carried
 * forward and the accounts of waterfall steps Equity. Returns 1 with *root
 * set, or 0 when cfg does not name the account. */
int cs_export_root_find(const cs_config *cfg, const char *account, cs_export_root *root);

/* What the header says about a run; every string is the caller's. */
typedef struct cs_export_run {
	int64_t id;
	const char *kind;   /* "settle" or "distribute" */
	const char *status; /* "committed" or "superseded" */
	const char *cooperative;
	const char *from_text, *to_text; /* the window, ISO 8601 with offset */
	const char *date;		 /* YYYY-MM-DD: the last local day of the window */
	const char *open_date;		 /* YYYY-MM-DD: the first local day */
	const char *config_sha256, *input_sha256, *output_sha256, *record_sha256;
	int64_t supersedes; /* 0: none */
} cs_export_run;

/* DATEV's header fields (docs/exports.md), from the account map's `datev`
 * section and the period. */
typedef struct cs_export_datev {
	int64_t consultant;	 /* Beraternummer, 1001..9999999 */
	int64_t client;		 /* Mandantennummer, 1..99999 */
	unsigned account_length; /* Sachkontenlänge, 4..8 */
	const char *chart;	 /* Sachkontenrahmen "03", "04" or "" */
	const char *created;	 /* Erzeugt am: YYYYMMDDHHMMSSFFF */
	const char *fy_start;	 /* WJ-Beginn: YYYYMMDD */
	const char *currency;	 /* the header's WKZ */
} cs_export_datev;

/* What an export writes and how. */
typedef struct cs_export_opts {
	cs_export_format fmt;
	const cs_accounts_map *map; /* NULL: engine names */
	int group_day;		    /* lines summed per day (export --group day) */
	/* a period export: its first and last local day (YYYY-MM-DD); both
	 * NULL for the export of one run */
	const char *period_first, *period_last;
	const char *cooperative; /* a period export's title */
	const char *open_date;	 /* beancount: on or before every line's date */
	cs_export_datev datev;	 /* CS_EXPORT_DATEV */
} cs_export_opts;

/* One stored ledger line, or with group_day one day's sum (journal and
 * line_no 0, has_transaction 0, rule_id NULL); strings are the caller's. */
typedef struct cs_export_line {
	int reversal; /* entry 'reversal' (else 'post') */
	int64_t journal;
	int64_t line_no;
	int has_transaction;
	int64_t transaction_id;
	const char *rule_id; /* settle: the fee rule; distribute: the step; NULL: none */
	const char *account;
	int has_party;
	int64_t party_id;
	const char *currency;
	unsigned exponent;
	cs_i128 amount_minor;
	const char *posted_on; /* YYYY-MM-DD, the line's posting date; NULL: the run's date */
} cs_export_line;

/*
 * The account name of (name, party) in fmt, appended to out; name is the
 * engine account or what the map made of it, root its role's root.
 * hledger: control characters, a space after a space, a leading or
 * trailing space and a leading '(' or '[' (virtual postings) become '_'.
 * beancount: each ':'-separated component keeps [A-Za-z0-9-], other bytes
 * become '-', a lowercase first letter is capitalised, a component that
 * would not start with a capital or digit gets an 'X' in front; when the
 * first component is not Assets, Liabilities, Equity, Income or Expenses,
 * root's name is put in front. csv and datev: unchanged (the party is a
 * column or the booking text).
 */
void cs_export_account(cs_buf *out, cs_export_format fmt, const char *name, cs_export_root root,
		       int has_party, int64_t party_id);

typedef struct cs_export cs_export;

/* Starts an export into out (both the caller's; o must outlive the
 * export). The caller owns the result (cs_export_free). */
cs_export *cs_export_new(const cs_export_opts *o, cs_buf *out);

/* Adds a run to the header (before cs_export_begin; run must outlive the
 * export). An export of one run has exactly one. */
void cs_export_add_run(cs_export *x, const cs_export_run *run);

/* Declares a commodity (before cs_export_begin; each once). */
void cs_export_commodity(cs_export *x, const char *code, unsigned exponent);

/* Declares an engine account the lines use, with its root (before
 * cs_export_begin; an account declared twice keeps its first root). For
 * datev, the map must give it an account number: returns -1 with err filled
 * (exit 2) otherwise. */
int cs_export_declare(cs_export *x, const char *account, cs_export_root root, cs_error *err);

/* Declares that lines use a declared account with this party, or with none
 * (has_party 0) (before cs_export_begin): hledger and beancount declare
 * each (account, party) they write. */
void cs_export_declare_party(cs_export *x, const char *account, int has_party, int64_t party_id);

/* Writes the header and declarations. Returns 0 (it cannot fail today; err
 * is for the formats to come). */
int cs_export_begin(cs_export *x, cs_error *err);

/* Appends one line of run (NULL with group_day). Lines come ordered by run,
 * entry (reversals first), journal and line_no -- with group_day by
 * posting date, currency, account and party; a new (run, entry, journal)
 * -- (posting date, currency) -- starts a new journal transaction.
 * Returns 0, or -1 with err filled: exit 5 when the journal just ended
 * does not balance (the stored lines were changed; the formats refuse an
 * unbalanced journal), exit 2 when datev cannot hold the amount or date. */
int cs_export_line_put(cs_export *x, const cs_export_run *run, const cs_export_line *l,
		       cs_error *err);

/* Ends the last journal transaction. Returns 0, or -1 with err filled
 * (exit 5) when it does not balance. */
int cs_export_end(cs_export *x, cs_error *err);

/* Frees the export; NULL is allowed. */
void cs_export_free(cs_export *x);

/* The DATEV text of UTF-8 s (Windows-1252; a character it lacks becomes
 * '?'), appended to out. */
void cs_export_cp1252(cs_buf *out, const char *s);

#endif
