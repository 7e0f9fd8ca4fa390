/*
 * report_html.h -- the page of `coopsettle report` (spec section 10.6,
 * docs/report.md): one self-contained HTML document for the board and the
 * auditor, its charts inline SVG drawn here. Pure: figures in, text out,
 * no I/O (report.h is the database edge that gathers the figures).
 *
 * The page holds no script, no font, no style sheet and no image of its
 * own besides the inline SVG, and no reference outside itself (no URL at
 * all: every url() is a fragment of the page). It prints on A4 in black
 * and white: every series has a hatch pattern and a text label, never a
 * colour alone. Every figure a chart draws is also in a table, and in data
 * attributes of the SVG element that draws it (amounts in minor units as
 * exact integers), so that a test or an auditor can read the chart's
 * numbers back without measuring pixels. Chart coordinates are integers
 * (a viewBox of some hundred units scaled by the browser): there is no
 * floating point anywhere (scripts/check-banned.sh).
 */
#ifndef COOPSETTLE_REPORT_HTML_H
#define COOPSETTLE_REPORT_HTML_H

#include <stddef.h>
#include <stdint.h>

#include <gmp.h>

#include "coopsettle/buf.h"
#include "coopsettle/i128.h"
#include "coopsettle/limits.h"

/* Bars of one waterfall: fee income, costs, surplus, the loss covered,
 * the distributable surplus, each step or each loss_cover account, the
 * loss carried forward, the retained surplus. */
#define CS_REPORT_BARS_MAX (CS_STEPS_MAX + CS_LOSS_COVER_MAX + 8)

/* What `verify --run` says of a run (verify.h). */
typedef enum cs_report_verdict {
	CS_REPORT_VERIFIES = 0,
	CS_REPORT_INPUTS_CHANGED,     /* reproduces from its snapshots; its sources changed since */
	CS_REPORT_DOES_NOT_REPRODUCE, /* its stored rows or snapshots differ from its record */
} cs_report_verdict;

/* A run of the period, as the runs table shows it. Strings are the
 * caller's. */
typedef struct cs_report_run {
	int64_t id;
	const char *kind;		  /* "settle" or "distribute" */
	const char *status;		  /* "committed" or "superseded" */
	int64_t superseded_by;		  /* 0: none */
	const char *first_day, *last_day; /* its window's local days, YYYY-MM-DD */
	const char *record_sha256, *input_sha256, *output_sha256;
	cs_report_verdict verdict;
	const char *why; /* verify's first finding when it does not verify; NULL otherwise */
} cs_report_run;

/* Nonzero when what verify says of r is a fault: a run that does not
 * reproduce, or a committed run whose inputs changed since. A superseded
 * run whose inputs changed is what superseding corrected: no fault. */
int cs_report_run_fails(const cs_report_run *r);

/* A bar of a waterfall: a total (drawn from 0) or a change (drawn from the
 * running level of the bar before). */
typedef struct cs_report_bar {
	const char *label; /* the caller's */
	int total;
	cs_i128 amount_minor;
} cs_report_bar;

/* The waterfall of one committed distribute run in one currency, from the
 * run's statement (spec sections 8 and 10.3). */
typedef struct cs_report_fall {
	int64_t run_id;
	const char *first_day, *last_day;
	const char *currency; /* the caller's */
	unsigned exponent;
	cs_i128 fee_income_minor, costs_minor, surplus_minor, retained_minor;
	int has_losses; /* config version 2: the loss keys below are the run's */
	cs_i128 loss_in_minor, loss_covered_minor, loss_out_minor;
	cs_report_bar bars[CS_REPORT_BARS_MAX];
	size_t n_bars;
	int adds_up; /* the changes lead from the surplus to the retained surplus */
} cs_report_fall;

/* The patronage refunds of one committed distribute run in one currency,
 * by the class whose pool paid them (docs/report.md, "Refunds per class"). */
typedef struct cs_report_classes {
	int64_t run_id;
	const char *currency;
	unsigned exponent;
	cs_i128 class_minor[CS_CLASSES_MAX]; /* producer, consumer (cs_class order) */
	cs_i128 unattributed_minor;	     /* refunds no class could be named for */
	cs_i128 allocated_minor;	     /* the run's member_allocations, summed */
	const char *note;		     /* why a part is unattributed; NULL when none is */
} cs_report_classes;

/* The figures of one currency over the whole period. */
typedef struct cs_report_currency {
	const char *code;
	unsigned exponent;
	cs_i128 *month_minor;	       /* fee income per month of the period (n_months) */
	cs_i128 runs_fee_income_minor; /* the settle runs' currency totals, summed */
	cs_i128 class_minor[CS_CLASSES_MAX];
	cs_i128 unattributed_minor;
	cs_i128 *refunds; /* each member's refund total > 0, ascending */
	size_t n_refunds;
} cs_report_currency;

/* Everything the page shows; every pointer is the caller's. */
typedef struct cs_report_doc {
	const char *cooperative;
	const char *timezone;
	const char *first_day, *last_day; /* the period's local days */
	const char *from_text, *to_text;  /* the period as instants, ISO 8601 */
	const char *made_at;		  /* the server's now() */
	const char *engine_version;
	int64_t first_month; /* year * 12 + month - 1 of first_day */
	size_t n_months;
	const cs_report_currency *currencies; /* by code */
	size_t n_currencies;
	const cs_report_fall *falls; /* by run, currency */
	size_t n_falls;
	const cs_report_classes *classes; /* by run, currency */
	size_t n_classes;
	const cs_report_run *runs; /* by id */
	size_t n_runs;
	size_t n_settle, n_distribute; /* committed runs counted in the figures */
	size_t n_overlapping; /* committed runs that overlap the period without lying in it */
} cs_report_doc;

/* Appends the page, a complete HTML5 document (UTF-8), to out. */
void cs_report_html(cs_buf *out, const cs_report_doc *d);

/* The Gini coefficient of the n amounts x (ascending, each > 0; n >= 1)
 * into g, exactly: G = sum_i sum_j |x_i - x_j| / (2 n^2 mean)
 * = (2 sum_i i x_i - (n + 1) T) / (n T), i = 1..n, T = sum_i x_i.
 * g is the caller's (initialised). */
void cs_report_gini(const cs_i128 *x, size_t n, mpq_t g);

/* Appends q >= 0 as a decimal with places digits after the point, rounded
 * to the nearest, halves up ("0.123456789"). */
void cs_report_decimal(cs_buf *out, const mpq_t q, unsigned places);

#endif
