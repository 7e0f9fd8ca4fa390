/*
 * statements.h -- a member's statement of a distribute run, in plain text
 * and HTML, in English or German (`coopsettle statements`,
 * docs/statements.md). Pure: text into a buffer, no I/O.
 *
 * A statement is a letter to one member: the cooperative, the member's
 * name and address, the resolution that decided the distribution and the
 * payout date; the interest on the member's capital (capital basis, rate,
 * days; gross, withheld, net), the patronage refund (member business, the
 * uniform rate, cash and credited to capital) and the total paid out, per
 * currency; a sentence for each amount that is zero; old -> new for each
 * figure a superseding run changed; and the run's hashes in small print.
 * Amounts are the stored ones, exact at the currency's exponent, written
 * the way the language writes money. Every text from the config or the
 * database is escaped for HTML. The HTML prints on A4, one member per page.
 */
#ifndef COOPSETTLE_STATEMENTS_H
#define COOPSETTLE_STATEMENTS_H

#include <stddef.h>
#include <stdint.h>

#include <gmp.h>

#include "coopsettle/buf.h"
#include "coopsettle/i128.h"

/* The languages a statement is written in (statements.language). */
typedef enum cs_lang { CS_LANG_EN = 0, CS_LANG_DE = 1 } cs_lang;

/* Bytes of a money text cs_money_text writes. */
#define CS_MONEY_TEXT_BYTES 112

/*
 * minor units of currency code (exponent digits) as lang writes money into
 * buf (CS_MONEY_TEXT_BYTES): en "€1,234.56", "-€1,234.56", "USD 1,234.56";
 * de "1.234,56 €", "-1.234,56 €", "1.234,56 USD". Only EUR has a symbol;
 * every other currency is written by its ISO code in the symbol's place.
 * Returns buf.
 */
char *cs_money_text(char *buf, cs_i128 minor, unsigned exponent, const char *code, cs_lang lang);

/* Local day (days since 1970-01-01) as lang writes a date: en "15 June
 * 2027", de "15.06.2027". Returns buf (at least 32 bytes). */
char *cs_date_text(char *buf, size_t size, int64_t day, cs_lang lang);

/* A member's figures in one currency, as a run stored them. */
typedef struct cs_statement_figures {
	cs_i128 basis_minor; /* patronage basis (member business) of the first patronage step */
	cs_i128 patronage_minor;
	cs_i128 cash_minor;
	cs_i128 retained_minor;
	cs_i128 interest_minor; /* capital interest, gross */
	cs_i128 withheld_minor; /* of it, withheld (version 2; 0 without withholding) */
} cs_statement_figures;

/* A member's amounts in one currency. */
typedef struct cs_statement_amounts {
	const char *currency;
	unsigned exponent;
	int base; /* the base currency: capital interest is paid in it */
	cs_statement_figures now;
	int has_old; /* the run supersedes one that stored this member and currency */
	cs_statement_figures old;
	/* the uniform rate of the member's patronage refund: the refunds of
	 * every member of its class(es) that received one, divided by their
	 * member business (stored figures); class_basis_minor 0: no rate */
	cs_i128 class_refunds_minor, class_basis_minor;
	cs_i128 pool_minor; /* all refunds of the run in this currency */
	/* the VAT on the member's fees as a member in the settle runs the
	 * distribute run was built on (spec 10.8.7: the sum of the per-side,
	 * per-transaction roundings the runs stored); has_vat 0: none shown */
	int has_vat;
	cs_i128 vat_minor;
} cs_statement_amounts;

/* Everything one statement shows; every pointer is the caller's. */
typedef struct cs_statement_doc {
	cs_lang lang;
	const char *cooperative;
	int64_t first_day, last_day; /* the period's local days, days since 1970-01-01 */
	const char *from_text, *to_text; /* the window, ISO 8601 with offset */
	const char *timezone;
	int64_t run_id;
	const char *status;    /* "committed" or "superseded" */
	int64_t superseded_by; /* 0: none */
	int64_t supersedes;    /* 0: none; else old -> new is shown */
	const char *record_sha256, *output_sha256;
	/* statements.resolution and statements.payout_date */
	const char *resolution_body; /* NULL: no resolution given */
	int64_t resolution_day;
	int has_payout;
	int64_t payout_day;
	/* the member */
	int64_t member_id;
	const char *member_class; /* "producer", "consumer", "producer and consumer" or NULL */
	const char *member_name;    /* source.member_details; NULL: the id only */
	const char *member_address; /* lines separated by '\n'; NULL: none */
	/* capital interest (the first capital_interest step; has_interest 0: none) */
	int has_interest;
	mpq_srcptr interest_rate;
	mpq_srcptr withholding;   /* NULL: no withholding */
	int interest_opening;     /* basis: opening_balance (else daily balance, or version 1) */
	int interest_blocked;     /* blocked_by_loss and a loss was carried in */
	cs_i128 capital_minor;    /* opening: C; else the average capital over the days */
	int capital_rounded;      /* the average is rounded to the minor unit */
	int64_t capital_day;      /* opening: the day C is taken at */
	int64_t interest_days;    /* d: the member's counted days (opening: the window's) */
	int64_t year_days;        /* 365, or Y for opening_balance */
	/* patronage (the first patronage step; basis NULL: none) */
	const char *basis; /* "fees" or "volume" */
	int net_of_vat;    /* the fees are net of VAT (version 2 with VAT, spec 10.8) */
	const cs_statement_amounts *amounts;
	size_t n_amounts;
	/* version 2, patronage with notice: qualified (26 USC 1388): the date
	 * the cash part is paid by, YYYY-MM-DD; NULL without a notice */
	const char *notice_due;
} cs_statement_doc;

/* Appends the statement as plain text (UTF-8, LF line ends). */
void cs_statement_text(cs_buf *out, const cs_statement_doc *d);

/* Appends the statement as a complete HTML5 document (one A4 page). */
void cs_statement_html(cs_buf *out, const cs_statement_doc *d);

/* The parts of an HTML document of several statements, one per page:
 * begin (title, style), then one page per member, then end. */
void cs_statement_html_begin(cs_buf *out, const cs_statement_doc *d);
void cs_statement_html_page(cs_buf *out, const cs_statement_doc *d);
void cs_statement_html_end(cs_buf *out);

/* Appends s to out escaped for HTML text and attribute values (& < > " '). */
void cs_html_escape(cs_buf *out, const char *s);

#endif
