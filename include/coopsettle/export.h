/*
 * export.h -- a run's ledger lines as a plain-text accounting journal
 * (hledger, beancount) or CSV; pure formatting, no I/O (docs/auditing.md,
 * "Exports").
 *
 * One journal transaction per ledger journal: a settle run's transaction
 * id, a distribute run's currency; reversal lines of a superseded run form
 * their own journal transactions. Every journal transaction is dated by
 * its lines' posting date (spec 10.5: a sale on its own day, a distribution
 * on the window's last day, a reversal on the day its run was made; a line
 * written before posting dates were kept: the window's last day), carries the
 * run id, kind, journal and rule or step id as tags (hledger) or metadata
 * (beancount), and the run's hashes are in the file's header (hledger,
 * beancount: also a `custom` directive) or in every row (CSV). Amounts are
 * exact decimals at the currency's exponent, written from the integer.
 *
 * Party ids become sub-accounts: `assets:clearing` of party 10 is
 * `assets:clearing:10` (beancount `Assets:Clearing:10`; a negative id -5 is
 * `N5` there), a line without a party stays on the account itself. Account
 * names are mapped to what each format accepts (below); two names that map
 * to the same text are refused rather than merged.
 */
#ifndef COOPSETTLE_EXPORT_H
#define COOPSETTLE_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/error.h"
#include "coopsettle/i128.h"

typedef enum cs_export_format {
	CS_EXPORT_HLEDGER = 0,
	CS_EXPORT_BEANCOUNT,
	CS_EXPORT_CSV,
} cs_export_format;

/* Parses "hledger", "beancount" or "csv". Returns 0 or -1. */
int cs_export_format_parse(const char *name, cs_export_format *out);

/* What the header says about the run; every string is the caller's. */
typedef struct cs_export_run {
	int64_t id;
	const char *kind;   /* "settle" or "distribute" */
	const char *status; /* "committed" or "superseded" */
	const char *cooperative;
	const char *from_text, *to_text; /* the window, ISO 8601 with offset */
	const char *date;      /* YYYY-MM-DD: the last local day of the window */
	const char *open_date; /* YYYY-MM-DD: the first local day (beancount `open`) */
	const char *config_sha256, *input_sha256, *output_sha256, *record_sha256;
	int64_t supersedes; /* 0: none */
} cs_export_run;

/* One stored ledger line; strings are the caller's. */
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
 * The account name of (account, party) in fmt, appended to out. hledger:
 * control characters, a space after a space, a leading or trailing space
 * and a leading '(' or '[' (virtual postings) become '_'. beancount: each
 * ':'-separated component keeps [A-Za-z0-9-], other bytes become '-', a
 * lowercase first letter is capitalised, a component that would not start
 * with a capital or digit gets an 'X' in front, and the first component
 * must then be one of Assets, Liabilities, Equity, Income, Expenses. csv:
 * unchanged (the party is a column). Returns 0, or -1 with *why set.
 */
int cs_export_account(cs_buf *out, cs_export_format fmt, const char *account, int has_party,
		      int64_t party_id, const char **why);

typedef struct cs_export cs_export;

/* Starts an export of run into out (both the caller's; run must outlive
 * the export). The caller owns the result (cs_export_free). */
cs_export *cs_export_new(cs_export_format fmt, const cs_export_run *run, cs_buf *out);

/* Declares a commodity (before cs_export_begin). */
void cs_export_commodity(cs_export *x, const char *code, unsigned exponent);

/* Declares an account used by the lines (before cs_export_begin). Returns 0,
 * or -1 with err filled (exit 2) when the format cannot express the name. */
int cs_export_declare(cs_export *x, const char *account, int has_party, int64_t party_id,
		      cs_error *err);

/* Writes the header and declarations. Returns 0, or -1 with err filled (exit
 * 2) when two declared accounts map to the same name. */
int cs_export_begin(cs_export *x, cs_error *err);

/* Appends one line. Lines come ordered by entry (reversals first), journal
 * and line_no; a new (entry, journal) starts a new journal transaction.
 * Returns 0, or -1 with err filled: exit 2 for an account name the format
 * cannot express, exit 5 when the journal just ended does not balance (the
 * stored lines were changed; the formats refuse an unbalanced journal). */
int cs_export_line_put(cs_export *x, const cs_export_line *l, cs_error *err);

/* Ends the last journal transaction. Returns 0, or -1 with err filled
 * (exit 5) when it does not balance. */
int cs_export_end(cs_export *x, cs_error *err);

/* Frees the export; NULL is allowed. */
void cs_export_free(cs_export *x);

#endif
