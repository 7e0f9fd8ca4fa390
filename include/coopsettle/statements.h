/*
 * statements.h -- a member's statement of a distribute run, in plain text
 * and HTML (`coopsettle statements`, docs/auditing.md). Pure: text into a
 * buffer, no I/O.
 *
 * A statement names the cooperative, the period, the member, and per
 * currency the member's patronage basis, the patronage refund split into
 * its cash and retained parts, and the capital interest; then the run id,
 * its status and its record and output hashes, so a member can ask the
 * cooperative to show the run that made the figures. Amounts are exact
 * decimals at the currency's exponent. Every text from the config or the
 * database is escaped for HTML.
 */
#ifndef COOPSETTLE_STATEMENTS_H
#define COOPSETTLE_STATEMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/i128.h"

/* A member's figures in one currency. */
typedef struct cs_statement_amounts {
	const char *currency;
	unsigned exponent;
	cs_i128 basis_minor; /* patronage basis of the first patronage step */
	cs_i128 patronage_minor;
	cs_i128 cash_minor;
	cs_i128 retained_minor;
	cs_i128 capital_interest_minor; /* gross */
	int has_withheld;               /* version 2: tax withheld from the interest */
	cs_i128 withheld_minor;
} cs_statement_amounts;

/* Everything one statement shows; every pointer is the caller's. */
typedef struct cs_statement_doc {
	const char *cooperative;
	const char *first_day, *last_day; /* YYYY-MM-DD, the period's local days */
	const char *timezone;
	const char *from_text, *to_text; /* the window, ISO 8601 with offset */
	int64_t run_id;
	const char *status; /* "committed" or "superseded" */
	int64_t superseded_by; /* 0: none */
	const char *record_sha256, *output_sha256;
	const char *basis; /* "fees" or "volume"; NULL: the run has no patronage step */
	int net_of_vat;    /* the fees are net of VAT (version 2 with VAT, spec 10.8) */
	int64_t member_id;
	const char *member_class; /* "producer", "consumer", or NULL when unknown */
	const cs_statement_amounts *amounts;
	size_t n_amounts;
	/* version 2, patronage with notice: qualified (26 USC 1388): the date
	 * the cash part is paid by, YYYY-MM-DD; NULL without a notice */
	const char *notice_due;
} cs_statement_doc;

/* Appends the statement as plain text (UTF-8, LF line ends). */
void cs_statement_text(cs_buf *out, const cs_statement_doc *d);

/* Appends the statement as a complete HTML5 document. */
void cs_statement_html(cs_buf *out, const cs_statement_doc *d);

/* Appends s to out escaped for HTML text and attribute values (& < > " '). */
void cs_html_escape(cs_buf *out, const char *s);

#endif
