/*
 * report_html.c -- the page of `coopsettle report` (see report_html.h):
 * HTML and inline SVG written from the figures report.c gathered, and the
 * exact Gini coefficient. Pure: no I/O, no floating point; a chart's
 * coordinates are integers in its viewBox, computed with floor division.
 */
#include "coopsettle/report_html.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/amount.h"
#include "coopsettle/error.h"
#include "coopsettle/num.h"
#include "coopsettle/statements.h"

/* Points of a Lorenz curve drawn: a curve of more members is drawn through
 * this many of its exact points (evenly spaced by member), which at the
 * size of the chart is the same line. */
#define LORENZ_POINTS_MAX 400
/* Month labels under a bar chart: every k-th month beyond this many. */
#define MONTH_LABELS_MAX 12

static const char *const class_label[CS_CLASSES_MAX] = {"producer", "consumer"};
/* Fill of each class's bar: a hatch, so that print in black and white
 * keeps them apart (each also carries its label). */
static const char *const class_fill[CS_CLASSES_MAX] = {"diag", "cross"};

/* ---- numbers as text ---- */

/* Appends minor at exponent with thousands separators ("-1,234.56"). */
static void put_amount(cs_buf *out, cs_i128 minor, unsigned exponent)
{
	char text[CS_AMOUNT_TEXT_BYTES];
	const char *p = cs_amount_format(text, minor, exponent);
	size_t digits, i;

	if (*p == '-')
		cs_buf_putc(out, *p++);
	digits = strcspn(p, ".");
	for (i = 0; i < digits; i++) {
		if (i && (digits - i) % 3 == 0)
			cs_buf_putc(out, ',');
		cs_buf_putc(out, p[i]);
	}
	cs_buf_puts(out, p + digits);
}

/* Appends "1,234.56 EUR". */
static void put_money(cs_buf *out, cs_i128 minor, unsigned exponent, const char *code)
{
	put_amount(out, minor, exponent);
	cs_buf_putc(out, ' ');
	cs_html_escape(out, code);
}

/* Appends an attribute ` name="minor"` (an exact integer). */
static void put_attr_minor(cs_buf *out, const char *name, cs_i128 minor)
{
	cs_buf_printf(out, " %s=\"", name);
	cs_buf_put_i128(out, minor);
	cs_buf_putc(out, '"');
}

static void month_text(char *buf, size_t size, int64_t month)
{
	int64_t y = month >= 0 ? month / 12 : -((-month + 11) / 12);

	snprintf(buf, size, "%04lld-%02lld", (long long)y, (long long)(month - y * 12 + 1));
}

static cs_i128 pow10_i128(unsigned exponent)
{
	cs_i128 p = 1;

	while (exponent--)
		p *= 10;
	return p;
}

/* floor(a / b), b > 0. */
static cs_i128 fdiv(cs_i128 a, cs_i128 b)
{
	cs_i128 q = a / b;

	CS_ASSERT(b > 0);
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

void cs_report_decimal(cs_buf *out, const mpq_t q, unsigned places)
{
	mpz_t scaled;
	mpq_t t;
	char *digits;
	size_t n;

	CS_ASSERT(mpq_sgn(q) >= 0);
	mpz_init(scaled);
	mpq_init(t);
	mpz_ui_pow_ui(scaled, 10, places);
	mpq_set_z(t, scaled);
	mpq_mul(t, t, q);
	cs_round(scaled, t, CS_ROUND_HALF_UP); /* the nearest, halves up */
	digits = mpz_get_str(NULL, 10, scaled);
	n = strlen(digits);
	if (n <= places) {
		cs_buf_puts(out, "0.");
		for (; n < places; n++)
			cs_buf_putc(out, '0');
		cs_buf_puts(out, digits);
	} else {
		cs_buf_put(out, digits, n - places);
		if (places) {
			cs_buf_putc(out, '.');
			cs_buf_puts(out, digits + n - places);
		}
	}
	free(digits);
	mpz_clear(scaled);
	mpq_clear(t);
}

static void put_mpz(cs_buf *out, const mpz_t z)
{
	char *digits = mpz_get_str(NULL, 10, z);

	cs_buf_puts(out, digits);
	free(digits);
}

/* Appends num / den (den > 0, num >= 0) as a percentage with 2 decimals. */
static void put_percent(cs_buf *out, cs_i128 num, cs_i128 den)
{
	mpq_t q;
	mpz_t z;

	mpq_init(q);
	mpz_init(z);
	cs_i128_to_mpz(z, num * 100);
	mpq_set_num(q, z);
	cs_i128_to_mpz(z, den);
	mpq_set_den(q, z);
	mpq_canonicalize(q);
	cs_report_decimal(out, q, 2);
	cs_buf_puts(out, " %");
	mpq_clear(q);
	mpz_clear(z);
}

/* ---- the Gini coefficient ---- */

void cs_report_gini(const cs_i128 *x, size_t n, mpq_t g)
{
	mpz_t weighted, total, term, num, den;
	size_t i;

	CS_ASSERT(n >= 1);
	mpz_inits(weighted, total, term, num, den, NULL);
	for (i = 0; i < n; i++) {
		CS_ASSERT(x[i] > 0 && (i == 0 || x[i - 1] <= x[i]));
		cs_i128_to_mpz(term, x[i]);
		mpz_add(total, total, term);
		mpz_mul_ui(term, term, (unsigned long)(i + 1));
		mpz_add(weighted, weighted, term);
	}
	/* (2 sum i x_i - (n + 1) T) / (n T) */
	mpz_mul_2exp(num, weighted, 1);
	mpz_mul_ui(term, total, (unsigned long)n + 1);
	mpz_sub(num, num, term);
	mpz_mul_ui(den, total, (unsigned long)n);
	mpq_set_num(g, num);
	mpq_set_den(g, den);
	mpq_canonicalize(g);
	CS_ASSERT(mpq_sgn(g) >= 0);
	mpz_clears(weighted, total, term, num, den, NULL);
}

/* ---- charts: common parts ---- */

/* The value axis of a chart: [lo, hi] in minor units, ticks every step
 * (1, 2 or 5 times a power of ten minor units), 0 always inside. */
typedef struct axis {
	cs_i128 lo, hi, step;
	int64_t top, height; /* the plot's top and height in viewBox units */
} axis;

static void axis_fit(axis *a, cs_i128 min, cs_i128 max, unsigned exponent, int64_t top,
		     int64_t height)
{
	static const int mult[3] = {1, 2, 5};
	cs_i128 range, target, p;
	int k;

	if (min > 0)
		min = 0;
	if (max < 0)
		max = 0;
	range = max - min;
	if (range == 0)
		range = pow10_i128(exponent); /* an empty chart: one major unit */
	target = fdiv(range + 4, 5);	      /* at most about five ticks */
	a->step = 0;
	for (p = 1; !a->step; p *= 10)
		for (k = 0; k < 3 && !a->step; k++)
			if (mult[k] * p >= target)
				a->step = mult[k] * p;
	a->lo = fdiv(min, a->step) * a->step;
	a->hi = -fdiv(-max, a->step) * a->step;
	if (a->hi == a->lo)
		a->hi = a->lo + a->step;
	a->top = top;
	a->height = height;
}

/* The y coordinate of v on axis a. */
static int64_t axis_y(const axis *a, cs_i128 v)
{
	return a->top + (int64_t)fdiv((a->hi - v) * a->height, a->hi - a->lo);
}

/* Appends a tick label: whole major units when the tick is one. */
static void put_tick(cs_buf *out, cs_i128 v, unsigned exponent)
{
	cs_i128 unit = pow10_i128(exponent);

	if (v % unit == 0)
		put_amount(out, v / unit, 0);
	else
		put_amount(out, v, exponent);
}

/* Grid lines and labels of axis a across [left, right]. */
static void axis_draw(cs_buf *out, const axis *a, int64_t left, int64_t right, unsigned exponent)
{
	cs_i128 v;

	for (v = a->lo; v <= a->hi; v += a->step) {
		int64_t y = axis_y(a, v);

		cs_buf_printf(out,
			      "<line x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\" class=\"%s\"/>"
			      "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\" class=\"tick\">",
			      (long long)left, (long long)y, (long long)right, (long long)y,
			      v == 0 ? "zero" : "grid", (long long)left - 6, (long long)y + 4);
		put_tick(out, v, exponent);
		cs_buf_puts(out, "</text>\n");
	}
}

/* The hatch patterns of one chart; ids are prefixed with the chart's id,
 * so that every SVG of the page is whole by itself. */
static void patterns(cs_buf *out, const char *id)
{
	cs_buf_printf(
		out,
		"<defs>"
		"<pattern id=\"%s-diag\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\""
		" patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#fff\"/>"
		"<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#000\" stroke-width=\"2\"/>"
		"</pattern>"
		"<pattern id=\"%s-cross\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">"
		"<rect width=\"6\" height=\"6\" fill=\"#fff\"/>"
		"<path d=\"M0 0L6 6M6 0L0 6\" stroke=\"#000\" stroke-width=\"1\"/></pattern>"
		"<pattern id=\"%s-dots\" width=\"5\" height=\"5\" patternUnits=\"userSpaceOnUse\">"
		"<rect width=\"5\" height=\"5\" fill=\"#fff\"/>"
		"<circle cx=\"2.5\" cy=\"2.5\" r=\"1.3\" fill=\"#000\"/></pattern>"
		"</defs>\n",
		id, id, id);
}

/* A legend entry at (x, y): a swatch filled with fill (a pattern name of
 * the chart, or "solid") and its label. */
static void legend(cs_buf *out, const char *id, int64_t x, int64_t y, const char *fill,
		   const char *label)
{
	if (strcmp(fill, "solid") == 0)
		cs_buf_printf(out,
			      "<rect x=\"%lld\" y=\"%lld\" width=\"14\" height=\"10\" class=\"solid\"/>",
			      (long long)x, (long long)y);
	else
		cs_buf_printf(out,
			      "<rect x=\"%lld\" y=\"%lld\" width=\"14\" height=\"10\" fill=\"url(#%s-%s)\""
			      " stroke=\"#000\"/>",
			      (long long)x, (long long)y, id, fill);
	cs_buf_printf(out, "<text x=\"%lld\" y=\"%lld\" class=\"legend\">", (long long)x + 19,
		      (long long)y + 9);
	cs_html_escape(out, label);
	cs_buf_puts(out, "</text>\n");
}

/* A bar from level a to level b (either order) at [x, x + w). */
static void bar_rect(cs_buf *out, const axis *ax, int64_t x, int64_t w, cs_i128 a, cs_i128 b,
		     const char *id, const char *fill)
{
	int64_t ya = axis_y(ax, a), yb = axis_y(ax, b);
	int64_t y = ya < yb ? ya : yb, h = ya < yb ? yb - ya : ya - yb;

	cs_buf_printf(out, "<rect x=\"%lld\" y=\"%lld\" width=\"%lld\" height=\"%lld\"",
		      (long long)x, (long long)y, (long long)w, (long long)(h ? h : 1));
	if (strcmp(fill, "solid") == 0)
		cs_buf_puts(out, " class=\"solid\"");
	else
		cs_buf_printf(out, " fill=\"url(#%s-%s)\" stroke=\"#000\"", id, fill);
}

/* ---- the sections ---- */

static void page_head(cs_buf *out, const cs_report_doc *d)
{
	cs_buf_puts(out,
		    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		    "<title>");
	cs_html_escape(out, d->cooperative);
	cs_buf_printf(out, " &ndash; report %s to %s</title>\n<style>\n", d->first_day,
		      d->last_day);
	cs_buf_puts(out,
		    "@page { size: A4; margin: 14mm 12mm 16mm 12mm; }\n"
		    "html { font-family: \"DejaVu Sans\", \"Liberation Sans\", Arial, sans-serif;"
		    " font-size: 10pt; color: #000; background: #fff;"
		    " -webkit-print-color-adjust: exact; print-color-adjust: exact; }\n"
		    "body { max-width: 186mm; margin: 0 auto; padding: 6mm 4mm; }\n"
		    "h1 { font-size: 17pt; margin: 0 0 1mm; }\n"
		    "h2 { font-size: 13pt; border-bottom: 1.5px solid #000; margin: 7mm 0 2mm;"
		    " break-after: avoid; }\n"
		    "h3 { font-size: 11pt; margin: 4mm 0 1mm; break-after: avoid; }\n"
		    "p { margin: 1mm 0 2mm; }\n"
		    "table { border-collapse: collapse; margin: 1mm 0 3mm; }\n"
		    "th, td { border: 1px solid #000; padding: 0.6mm 1.6mm; vertical-align: top; }\n"
		    "th { text-align: left; background: #e8e8e8; }\n"
		    ".n { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }\n"
		    "tr { break-inside: avoid; } thead { display: table-header-group; }\n"
		    "tr.sum td { font-weight: bold; border-top: 2px solid #000; }\n"
		    "figure { margin: 1mm 0 2mm; break-inside: avoid; }\n"
		    "figcaption { font-size: 9pt; }\n"
		    "svg { display: block; width: 100%; height: auto; }\n"
		    "svg text { font-family: inherit; fill: #000; }\n"
		    "svg .tick { font-size: 10px; } svg .label { font-size: 11px; }\n"
		    "svg .legend { font-size: 11px; } svg .value { font-size: 10px; }\n"
		    "svg .grid { stroke: #999; stroke-width: 0.5; stroke-dasharray: 3 3; }\n"
		    "svg .zero { stroke: #000; stroke-width: 1.2; }\n"
		    "svg .solid { fill: #595959; stroke: #000; }\n"
		    "svg .link { stroke: #000; stroke-width: 0.8; stroke-dasharray: 2 2; }\n"
		    ".hash { font-family: \"DejaVu Sans Mono\", \"Liberation Mono\", monospace;"
		    " font-size: 7pt; word-break: break-all; }\n"
		    ".nw { white-space: nowrap; }\n"
		    "table.runs { width: 100%; } tbody.run { break-inside: avoid; }\n"
		    "table.runs tbody.run tr:first-child td { border-bottom: none; }\n"
		    "table.runs tbody.run tr + tr td { border-top: none; }\n"
		    ".bad { font-weight: bold; text-decoration: underline; }\n"
		    ".note { font-size: 9pt; }\n"
		    "dl.defs dt { font-weight: bold; margin-top: 2mm; } dl.defs dd { margin-left: 5mm; }\n"
		    "@media print { body { max-width: none; padding: 0; }"
		    " a { color: #000; text-decoration: none; } }\n"
		    "</style>\n</head>\n<body>\n");
}

static void page_title(cs_buf *out, const cs_report_doc *d)
{
	size_t i, not_ok = 0;

	for (i = 0; i < d->n_runs; i++)
		not_ok += (size_t)cs_report_run_fails(&d->runs[i]);
	cs_buf_puts(out, "<header>\n<h1>");
	cs_html_escape(out, d->cooperative);
	cs_buf_puts(out, "</h1>\n<p><strong>Report for the board and the auditor</strong>: fee "
			 "income, surplus distribution and patronage refunds, ");
	cs_buf_printf(out, "%s to %s inclusive (local days in ", d->first_day, d->last_day);
	cs_html_escape(out, d->timezone);
	cs_buf_puts(out, "; the instants [");
	cs_html_escape(out, d->from_text);
	cs_buf_puts(out, ", ");
	cs_html_escape(out, d->to_text);
	cs_buf_puts(out, "))</p>\n<p class=\"note\">Made by coopsettle ");
	cs_html_escape(out, d->engine_version);
	cs_buf_puts(out, " at ");
	cs_html_escape(out, d->made_at);
	cs_buf_printf(out,
		      " (database server time) from %zu committed settle run%s and %zu "
		      "committed distribute run%s whose windows lie in the period. ",
		      d->n_settle, d->n_settle == 1 ? "" : "s", d->n_distribute,
		      d->n_distribute == 1 ? "" : "s");
	if (not_ok)
		cs_buf_printf(out,
			      "<span class=\"bad\">%zu run%s of the period fail%s verification</span> "
			      "(see <a href=\"#runs\">Runs</a>).",
			      not_ok, not_ok == 1 ? "" : "s", not_ok == 1 ? "s" : "");
	else
		cs_buf_printf(out,
			      "Every run of the period verifies (<a href=\"#runs\">Runs</a>).");
	if (d->n_overlapping)
		cs_buf_printf(out,
			      " %zu committed run%s overlap%s the period without lying in it and "
			      "%s not counted.",
			      d->n_overlapping, d->n_overlapping == 1 ? "" : "s",
			      d->n_overlapping == 1 ? "s" : "",
			      d->n_overlapping == 1 ? "is" : "are");
	cs_buf_puts(out,
		    "</p>\n<p class=\"note\">Contents: <a href=\"#fees\">Fee income per "
		    "month</a> &middot; <a href=\"#waterfalls\">Surplus waterfalls</a> &middot; "
		    "<a href=\"#classes\">Refunds per class</a> &middot; <a href=\"#lorenz\">"
		    "Distribution of refunds among members</a> &middot; <a href=\"#runs\">Runs and "
		    "their verification</a> &middot; <a href=\"#defs\">Definitions</a></p>\n"
		    "</header>\n");
}

/* ---- fee income per month ---- */

static cs_i128 month_sum(const cs_report_currency *c, size_t n_months)
{
	cs_i128 s = 0;
	size_t m;

	for (m = 0; m < n_months; m++)
		s += c->month_minor[m];
	return s;
}

/* The bar chart of one currency's fee income per month. */
static void fees_chart(cs_buf *out, const cs_report_doc *d, const cs_report_currency *c,
		       size_t index)
{
	const int64_t width = 720, left = 84, right = 704, top = 14, height = 220;
	int64_t slot = (right - left) / (int64_t)d->n_months, bar = slot * 7 / 10;
	size_t m, every = (d->n_months + MONTH_LABELS_MAX - 1) / MONTH_LABELS_MAX;
	cs_i128 min = 0, max = 0;
	char id[32], month[48];
	axis a;

	if (bar < 1)
		bar = 1;
	snprintf(id, sizeof(id), "fees%zu", index);
	for (m = 0; m < d->n_months; m++) {
		min = c->month_minor[m] < min ? c->month_minor[m] : min;
		max = c->month_minor[m] > max ? c->month_minor[m] : max;
	}
	axis_fit(&a, min, max, c->exponent, top, height);
	cs_buf_printf(out,
		      "<figure><svg id=\"%s\" viewBox=\"0 0 %lld %lld\" role=\"img\""
		      " data-chart=\"fee-income\" data-currency=\"",
		      id, (long long)width, (long long)(top + height + 46));
	cs_html_escape(out, c->code);
	cs_buf_puts(out, "\"");
	put_attr_minor(out, "data-total-minor", month_sum(c, d->n_months));
	cs_buf_puts(out, " aria-label=\"Fee income per month in ");
	cs_html_escape(out, c->code);
	cs_buf_puts(out, "\">\n");
	axis_draw(out, &a, left, right, c->exponent);
	for (m = 0; m < d->n_months; m++) {
		int64_t x = left + (int64_t)m * slot + (slot - bar) / 2;

		month_text(month, sizeof(month), d->first_month + (int64_t)m);
		bar_rect(out, &a, x, bar, 0, c->month_minor[m], id, "solid");
		cs_buf_printf(out, " data-month=\"%s\"", month);
		put_attr_minor(out, "data-amount-minor", c->month_minor[m]);
		cs_buf_printf(out, "><title>%s: ", month);
		put_money(out, c->month_minor[m], c->exponent, c->code);
		cs_buf_puts(out, "</title></rect>\n");
		if (m % every == 0)
			cs_buf_printf(out,
				      "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\" class=\"label\">"
				      "%s</text>\n",
				      (long long)(left + (int64_t)m * slot + slot / 2),
				      (long long)(top + height + 18), month);
	}
	cs_buf_printf(out, "<text x=\"%lld\" y=\"%lld\" class=\"label\">fee income, ",
		      (long long)left, (long long)(top + height + 40));
	cs_html_escape(out, c->code);
	cs_buf_puts(out, " (axis in major units)</text>\n</svg>\n<figcaption>Fee income in ");
	cs_html_escape(out, c->code);
	cs_buf_puts(out, " per month of posting (the bars' figures are in the table "
			 "below the charts).</figcaption></figure>\n");
}

/* One table of every currency's fee income per month, a column each, and
 * what the settle runs' currency totals say. */
static void fees_table(cs_buf *out, const cs_report_doc *d)
{
	char month[48];
	size_t m, i;

	cs_buf_puts(out, "<table><thead><tr><th>month</th>");
	for (i = 0; i < d->n_currencies; i++) {
		cs_buf_puts(out, "<th class=\"n\">");
		cs_html_escape(out, d->currencies[i].code);
		cs_buf_puts(out, "</th>");
	}
	cs_buf_puts(out, "</tr></thead><tbody>\n");
	for (m = 0; m < d->n_months; m++) {
		month_text(month, sizeof(month), d->first_month + (int64_t)m);
		cs_buf_printf(out, "<tr><td>%s</td>", month);
		for (i = 0; i < d->n_currencies; i++) {
			cs_buf_puts(out, "<td class=\"n\">");
			put_money(out, d->currencies[i].month_minor[m], d->currencies[i].exponent,
				  d->currencies[i].code);
			cs_buf_puts(out, "</td>");
		}
		cs_buf_puts(out, "</tr>\n");
	}
	cs_buf_puts(out, "<tr class=\"sum\"><td>total</td>");
	for (i = 0; i < d->n_currencies; i++) {
		cs_buf_puts(out, "<td class=\"n\">");
		put_money(out, month_sum(&d->currencies[i], d->n_months), d->currencies[i].exponent,
			  d->currencies[i].code);
		cs_buf_puts(out, "</td>");
	}
	cs_buf_puts(out, "</tr>\n<tr><td>settle runs' totals</td>");
	for (i = 0; i < d->n_currencies; i++) {
		const cs_report_currency *c = &d->currencies[i];

		cs_buf_printf(out, "<td class=\"n%s\">",
			      c->runs_fee_income_minor == month_sum(c, d->n_months) ? "" : " bad");
		put_money(out, c->runs_fee_income_minor, c->exponent, c->code);
		cs_buf_puts(out, "</td>");
	}
	cs_buf_puts(out,
		    "</tr>\n</tbody></table>\n<p class=\"note\">The last row adds up the fee "
		    "income in the settle runs' stored currency totals; it equals the total of "
		    "their ledger lines above unless a stored row was changed (a differing figure "
		    "is underlined; see the runs' verification).</p>\n");
}

static void section_fees(cs_buf *out, const cs_report_doc *d)
{
	size_t i;

	cs_buf_puts(out, "<section id=\"fees\">\n<h2>Fee income per month</h2>\n"
			 "<p>The fee income booked by the committed settle runs of the period "
			 "(their lines on the fee income account: net of VAT and of fee funds), by "
			 "the month of each line's posting date.</p>\n");
	if (!d->n_currencies) {
		cs_buf_puts(out, "<p>No run of the period has any figure.</p>\n</section>\n");
		return;
	}
	for (i = 0; i < d->n_currencies; i++) {
		cs_buf_puts(out, "<h3>");
		cs_html_escape(out, d->currencies[i].code);
		cs_buf_puts(out, "</h3>\n");
		fees_chart(out, d, &d->currencies[i], i);
	}
	fees_table(out, d);
	cs_buf_puts(out, "</section>\n");
}

/* ---- surplus waterfalls ---- */

/* The level each bar of f starts and ends at, into from[] and to[]. */
static void fall_levels(const cs_report_fall *f, cs_i128 *from, cs_i128 *to)
{
	cs_i128 level = 0;
	size_t i;

	for (i = 0; i < f->n_bars; i++) {
		from[i] = f->bars[i].total ? 0 : level;
		to[i] = f->bars[i].total ? f->bars[i].amount_minor
					 : level + f->bars[i].amount_minor;
		level = to[i];
	}
}

static void fall_chart_head(cs_buf *out, const cs_report_fall *f, const char *id, int64_t width,
			    int64_t height)
{
	cs_buf_printf(out,
		      "<figure><svg id=\"%s\" viewBox=\"0 0 %lld %lld\" role=\"img\""
		      " data-chart=\"waterfall\" data-run=\"%lld\" data-currency=\"",
		      id, (long long)width, (long long)height, (long long)f->run_id);
	cs_html_escape(out, f->currency);
	cs_buf_puts(out, "\"");
	put_attr_minor(out, "data-fee-income-minor", f->fee_income_minor);
	put_attr_minor(out, "data-costs-minor", f->costs_minor);
	put_attr_minor(out, "data-surplus-minor", f->surplus_minor);
	put_attr_minor(out, "data-retained-minor", f->retained_minor);
	cs_buf_printf(out, " aria-label=\"Surplus waterfall of run %lld in ", (long long)f->run_id);
	cs_html_escape(out, f->currency);
	cs_buf_puts(out, "\">\n");
	patterns(out, id);
}

/* The label of bar i under the axis, turned so that long step ids fit. */
static void fall_label(cs_buf *out, const cs_report_bar *b, int64_t x, int64_t y)
{
	cs_buf_printf(out,
		      "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\" class=\"label\""
		      " transform=\"rotate(-30 %lld %lld)\">",
		      (long long)x, (long long)y, (long long)x, (long long)y);
	cs_html_escape(out, b->label);
	cs_buf_puts(out, "</text>\n");
}

static void fall_chart(cs_buf *out, const cs_report_fall *f, size_t index)
{
	const int64_t width = 720, left = 84, right = 704, top = 34, height = 200;
	int64_t slot = (right - left) / (int64_t)(f->n_bars ? f->n_bars : 1), bar = slot * 6 / 10;
	cs_i128 from[CS_REPORT_BARS_MAX], to[CS_REPORT_BARS_MAX], min = 0, max = 0;
	char id[32];
	size_t i;
	axis a;

	snprintf(id, sizeof(id), "fall%zu", index);
	fall_levels(f, from, to);
	for (i = 0; i < f->n_bars; i++) {
		min = to[i] < min ? to[i] : min;
		max = to[i] > max ? to[i] : max;
	}
	axis_fit(&a, min, max, f->exponent, top, height);
	fall_chart_head(out, f, id, width, top + height + 110);
	legend(out, id, left, 6, "solid", "total");
	legend(out, id, left + 90, 6, "diag", "decrease");
	legend(out, id, left + 200, 6, "dots", "increase");
	axis_draw(out, &a, left, right, f->exponent);
	for (i = 0; i < f->n_bars; i++) {
		const cs_report_bar *b = &f->bars[i];
		int64_t x = left + (int64_t)i * slot + (slot - bar) / 2, y;
		const char *fill = b->total ? "solid" : b->amount_minor < 0 ? "diag" : "dots";

		bar_rect(out, &a, x, bar, from[i], to[i], id, fill);
		cs_buf_printf(out, " data-kind=\"%s\" data-label=\"",
			      b->total ? "total" : "change");
		cs_html_escape(out, b->label);
		cs_buf_puts(out, "\"");
		put_attr_minor(out, "data-amount-minor", b->amount_minor);
		cs_buf_puts(out, "><title>");
		cs_html_escape(out, b->label);
		cs_buf_puts(out, ": ");
		put_money(out, b->amount_minor, f->exponent, f->currency);
		cs_buf_puts(out, "</title></rect>\n");
		if (i + 1 < f->n_bars) /* the level carried to the next bar */
			cs_buf_printf(out,
				      "<line x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\" "
				      "class=\"link\"/>\n",
				      (long long)(x + bar), (long long)axis_y(&a, to[i]),
				      (long long)(x + slot), (long long)axis_y(&a, to[i]));
		y = axis_y(&a, from[i] > to[i] ? from[i] : to[i]) - 4;
		cs_buf_printf(out,
			      "<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\" class=\"value\">",
			      (long long)(x + bar / 2), (long long)y);
		put_amount(out, b->amount_minor, f->exponent);
		cs_buf_puts(out, "</text>\n");
		fall_label(out, b, x + bar / 2 + 4, top + height + 16);
	}
	cs_buf_puts(out, "</svg>\n<figcaption>Run ");
	cs_buf_printf(out, "%lld, %s to %s, ", (long long)f->run_id, f->first_day, f->last_day);
	cs_html_escape(out, f->currency);
	cs_buf_puts(out, " (axis in major units; the figures are in the table below).</figcaption>"
			 "</figure>\n");
}

static void fall_table(cs_buf *out, const cs_report_fall *f)
{
	cs_i128 from[CS_REPORT_BARS_MAX], to[CS_REPORT_BARS_MAX];
	size_t i;

	fall_levels(f, from, to);
	cs_buf_puts(out, "<table><thead><tr><th>step</th><th class=\"n\">amount</th>"
			 "<th class=\"n\">level after it</th></tr></thead><tbody>\n");
	for (i = 0; i < f->n_bars; i++) {
		cs_buf_printf(out, "<tr%s><td>", f->bars[i].total ? " class=\"sum\"" : "");
		cs_html_escape(out, f->bars[i].label);
		cs_buf_puts(out, "</td><td class=\"n\">");
		put_money(out, f->bars[i].amount_minor, f->exponent, f->currency);
		cs_buf_puts(out, "</td><td class=\"n\">");
		put_money(out, to[i], f->exponent, f->currency);
		cs_buf_puts(out, "</td></tr>\n");
	}
	cs_buf_puts(out, "</tbody></table>\n");
	if (f->has_losses) {
		cs_buf_puts(out, "<p class=\"note\">Loss carried in ");
		put_money(out, f->loss_in_minor, f->exponent, f->currency);
		cs_buf_puts(out, ", covered by this run's surplus ");
		put_money(out, f->loss_covered_minor, f->exponent, f->currency);
		cs_buf_puts(out, ", carried out ");
		put_money(out, f->loss_out_minor, f->exponent, f->currency);
		cs_buf_puts(out, ".</p>\n");
	}
	if (!f->adds_up)
		cs_buf_puts(out, "<p class=\"bad\">These figures of the run's statement do not add "
				 "up: its record was changed (see the runs' verification).</p>\n");
}

static void section_falls(cs_buf *out, const cs_report_doc *d)
{
	size_t i;

	cs_buf_puts(out,
		    "<section id=\"waterfalls\">\n<h2>Surplus waterfalls</h2>\n"
		    "<p>Each committed distribute run of the period, per currency, from its "
		    "statement: the fee income of its settle runs, the costs, the surplus, the "
		    "carried loss it covers first, each step of the waterfall in config order "
		    "and the surplus retained; in a loss year, the loss covered by reserves and "
		    "the loss carried forward.</p>\n");
	if (!d->n_falls)
		cs_buf_puts(out, "<p>No committed distribute run lies in the period.</p>\n");
	for (i = 0; i < d->n_falls; i++) {
		cs_buf_printf(out, "<h3>Run %lld: %s to %s, ", (long long)d->falls[i].run_id,
			      d->falls[i].first_day, d->falls[i].last_day);
		cs_html_escape(out, d->falls[i].currency);
		cs_buf_puts(out, "</h3>\n");
		fall_chart(out, &d->falls[i], i);
		fall_table(out, &d->falls[i]);
	}
	cs_buf_puts(out, "</section>\n");
}

/* ---- refunds per class ---- */

static cs_i128 classes_total(const cs_i128 *class_minor, cs_i128 unattributed)
{
	cs_i128 s = unattributed;
	size_t c;

	for (c = 0; c < CS_CLASSES_MAX; c++)
		s += class_minor[c];
	return s;
}

/* One row of the class chart: label, bar of amount against max, figure. */
static void class_bar(cs_buf *out, const char *id, int64_t y, const char *label, const char *fill,
		      cs_i128 amount, cs_i128 max, const cs_report_currency *c)
{
	const int64_t left = 130, span = 440;
	int64_t w = max > 0 ? (int64_t)fdiv(amount * span, max) : 0;

	cs_buf_printf(out,
		      "<text x=\"%lld\" y=\"%lld\" text-anchor=\"end\" class=\"label\">%s</text>",
		      (long long)left - 8, (long long)y + 15, label);
	cs_buf_printf(out,
		      "<rect x=\"%lld\" y=\"%lld\" width=\"%lld\" height=\"20\""
		      " fill=\"url(#%s-%s)\" stroke=\"#000\" data-class=\"%s\"",
		      (long long)left, (long long)y, (long long)(w ? w : 1), id, fill, label);
	put_attr_minor(out, "data-amount-minor", amount);
	cs_buf_printf(out, "><title>%s: ", label);
	put_money(out, amount, c->exponent, c->code);
	cs_buf_printf(out, "</title></rect><text x=\"%lld\" y=\"%lld\" class=\"value\">",
		      (long long)(left + (w ? w : 1) + 6), (long long)y + 15);
	put_money(out, amount, c->exponent, c->code);
	cs_buf_puts(out, "</text>\n");
}

static void classes_chart(cs_buf *out, const cs_report_currency *c, size_t index)
{
	cs_i128 total = classes_total(c->class_minor, c->unattributed_minor), max = 0;
	int64_t rows = CS_CLASSES_MAX + (c->unattributed_minor != 0), y = 8;
	char id[32];
	size_t k;

	snprintf(id, sizeof(id), "cls%zu", index);
	for (k = 0; k < CS_CLASSES_MAX; k++)
		max = c->class_minor[k] > max ? c->class_minor[k] : max;
	max = c->unattributed_minor > max ? c->unattributed_minor : max;
	cs_buf_printf(out,
		      "<figure><svg id=\"%s\" viewBox=\"0 0 720 %lld\" role=\"img\""
		      " data-chart=\"classes\" data-currency=\"",
		      id, (long long)(rows * 30 + 16));
	cs_html_escape(out, c->code);
	cs_buf_puts(out, "\"");
	put_attr_minor(out, "data-total-minor", total);
	cs_buf_puts(out, " aria-label=\"Patronage refunds per class in ");
	cs_html_escape(out, c->code);
	cs_buf_puts(out, "\">\n");
	patterns(out, id);
	for (k = 0; k < CS_CLASSES_MAX; k++, y += 30)
		class_bar(out, id, y, class_label[k], class_fill[k], c->class_minor[k], max, c);
	if (c->unattributed_minor)
		class_bar(out, id, y, "unattributed", "dots", c->unattributed_minor, max, c);
	cs_buf_puts(out, "</svg><figcaption>Patronage refunds in ");
	cs_html_escape(out, c->code);
	cs_buf_puts(out, " over the period, by the class whose pool paid them.</figcaption>"
			 "</figure>\n");
}

static void classes_row(cs_buf *out, const cs_report_classes *r)
{
	cs_i128 sum = classes_total(r->class_minor, r->unattributed_minor);
	size_t k;

	cs_buf_printf(out, "<tr><td>%lld</td><td>", (long long)r->run_id);
	cs_html_escape(out, r->currency);
	cs_buf_puts(out, "</td>");
	for (k = 0; k < CS_CLASSES_MAX; k++) {
		cs_buf_puts(out, "<td class=\"n\">");
		put_money(out, r->class_minor[k], r->exponent, r->currency);
		cs_buf_puts(out, "</td>");
	}
	cs_buf_puts(out, "<td class=\"n\">");
	put_money(out, r->unattributed_minor, r->exponent, r->currency);
	cs_buf_puts(out, "</td><td class=\"n\">");
	put_money(out, sum, r->exponent, r->currency);
	cs_buf_puts(out, "</td><td>");
	if (sum == r->allocated_minor)
		cs_buf_puts(out, "equal");
	else
		cs_buf_puts(out, "<span class=\"bad\">differs</span>");
	if (r->note) {
		cs_buf_puts(out, "; ");
		cs_html_escape(out, r->note);
	}
	cs_buf_puts(out, "</td></tr>\n");
}

static void section_classes(cs_buf *out, const cs_report_doc *d)
{
	size_t i;

	cs_buf_puts(out,
		    "<section id=\"classes\">\n<h2>Refunds per class</h2>\n"
		    "<p>The patronage refunds (cash and retained parts together; capital "
		    "interest is not a refund) of the committed distribute runs of the period, "
		    "by the class whose pool paid them: each patronage step's pool is shared "
		    "between the classes by their configured shares, and a class in which no "
		    "member is eligible pays nothing (its share stays in the retained surplus). "
		    "A member of both classes is paid from both pools, each part counted in its "
		    "class.</p>\n");
	for (i = 0; i < d->n_currencies; i++)
		if (classes_total(d->currencies[i].class_minor,
				  d->currencies[i].unattributed_minor))
			classes_chart(out, &d->currencies[i], i);
	if (!d->n_classes) {
		cs_buf_puts(out, "<p>No committed distribute run of the period has a patronage "
				 "step.</p>\n</section>\n");
		return;
	}
	cs_buf_puts(out, "<table><thead><tr><th>run</th><th>currency</th><th class=\"n\">producer"
			 "</th><th class=\"n\">consumer</th><th class=\"n\">unattributed</th>"
			 "<th class=\"n\">total</th><th>total against the member allocations</th>"
			 "</tr></thead><tbody>\n");
	for (i = 0; i < d->n_classes; i++)
		classes_row(out, &d->classes[i]);
	cs_buf_puts(out, "</tbody></table>\n</section>\n");
}

/* ---- Lorenz curve and Gini coefficient ---- */

/* The share of the refunds of c that the poorest pct percent of its
 * members received, on the Lorenz curve (linear between members), into
 * num / den. */
static void lorenz_share(const cs_report_currency *c, unsigned pct, cs_i128 total, cs_i128 *num,
			 cs_i128 *den)
{
	cs_i128 pos = (cs_i128)pct * (cs_i128)c->n_refunds; /* the position x 100 */
	size_t k = (size_t)(pos / 100), i;
	cs_i128 below = 0;

	for (i = 0; i < k; i++)
		below += c->refunds[i];
	/* (100 L_k + (pct n - 100 k) x_{k+1}) / (100 T) */
	*num = below * 100 + (k < c->n_refunds ? (pos - (cs_i128)k * 100) * c->refunds[k] : 0);
	*den = total * 100;
}

static void lorenz_axes(cs_buf *out, int64_t x0, int64_t y0, int64_t size)
{
	int64_t k;

	for (k = 0; k <= 5; k++) {
		int64_t x = x0 + k * size / 5, y = y0 + size - k * size / 5;

		cs_buf_printf(
			out,
			"<line x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\" class=\"grid\"/>"
			"<line x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\" class=\"grid\"/>"
			"<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\" class=\"tick\">%lld %%"
			"</text><text x=\"%lld\" y=\"%lld\" text-anchor=\"end\" class=\"tick\">"
			"%lld %%</text>\n",
			(long long)x, (long long)y0, (long long)x, (long long)(y0 + size),
			(long long)x0, (long long)y, (long long)(x0 + size), (long long)y,
			(long long)x, (long long)(y0 + size + 14), (long long)(k * 20),
			(long long)x0 - 5, (long long)y + 4, (long long)(k * 20));
	}
	cs_buf_printf(out,
		      "<rect x=\"%lld\" y=\"%lld\" width=\"%lld\" height=\"%lld\" fill=\"none\""
		      " stroke=\"#000\"/>\n<text x=\"%lld\" y=\"%lld\" text-anchor=\"middle\""
		      " class=\"label\">members, smallest refund first</text>\n"
		      "<text x=\"14\" y=\"%lld\" text-anchor=\"middle\" class=\"label\""
		      " transform=\"rotate(-90 14 %lld)\">share of the refunds</text>\n",
		      (long long)x0, (long long)y0, (long long)size, (long long)size,
		      (long long)(x0 + size / 2), (long long)(y0 + size + 32),
		      (long long)(y0 + size / 2), (long long)(y0 + size / 2));
}

/* The curve through the points (i / n, L_i / T) at up to LORENZ_POINTS_MAX
 * evenly spaced i (0 and n included), as "x,y" pairs. */
static void lorenz_points(cs_buf *out, const cs_report_currency *c, cs_i128 total, int64_t x0,
			  int64_t y0, int64_t size)
{
	size_t n = c->n_refunds, steps = n < LORENZ_POINTS_MAX ? n : LORENZ_POINTS_MAX, k, i = 0;
	cs_i128 cum = 0;

	for (k = 0; k <= steps; k++) {
		size_t at = (size_t)((cs_i128)k * (cs_i128)n / (cs_i128)steps);

		for (; i < at; i++)
			cum += c->refunds[i];
		cs_buf_printf(out, "%s%lld,%lld", k ? " " : "",
			      (long long)(x0 + (int64_t)((cs_i128)at * size / (cs_i128)n)),
			      (long long)(y0 + size - (int64_t)fdiv(cum * size, total)));
	}
}

static void lorenz_chart(cs_buf *out, const cs_report_currency *c, size_t index, const mpq_t g)
{
	const int64_t x0 = 64, y0 = 12, size = 300;
	cs_i128 total = 0;
	char id[32];
	size_t i;

	for (i = 0; i < c->n_refunds; i++)
		total += c->refunds[i];
	snprintf(id, sizeof(id), "lorenz%zu", index);
	cs_buf_printf(out,
		      "<figure><svg id=\"%s\" viewBox=\"0 0 600 %lld\" role=\"img\""
		      " data-chart=\"lorenz\" data-currency=\"",
		      id, (long long)(y0 + size + 44));
	cs_html_escape(out, c->code);
	cs_buf_printf(out, "\" data-members=\"%zu\"", c->n_refunds);
	put_attr_minor(out, "data-total-minor", total);
	cs_buf_puts(out, " data-gini-num=\"");
	put_mpz(out, mpq_numref(g));
	cs_buf_puts(out, "\" data-gini-den=\"");
	put_mpz(out, mpq_denref(g));
	cs_buf_puts(out, "\"");
	cs_buf_puts(out, " aria-label=\"Lorenz curve of the refunds in ");
	cs_html_escape(out, c->code);
	cs_buf_puts(out, "\">\n");
	patterns(out, id);
	lorenz_axes(out, x0, y0, size);
	/* the area between equality and the curve: the Gini coefficient is
	 * twice its size */
	cs_buf_printf(out, "<polygon fill=\"url(#%s-diag)\" fill-opacity=\"0.45\" points=\"", id);
	lorenz_points(out, c, total, x0, y0, size);
	cs_buf_puts(out, "\"/>\n<line class=\"link\"");
	cs_buf_printf(out, " x1=\"%lld\" y1=\"%lld\" x2=\"%lld\" y2=\"%lld\"/>\n", (long long)x0,
		      (long long)(y0 + size), (long long)(x0 + size), (long long)y0);
	cs_buf_puts(out, "<polyline fill=\"none\" stroke=\"#000\" stroke-width=\"2.5\" points=\"");
	lorenz_points(out, c, total, x0, y0, size);
	cs_buf_puts(out, "\"/>\n");
	cs_buf_printf(out,
		      "<line class=\"link\" x1=\"390\" y1=\"30\" x2=\"420\" y2=\"30\"/>"
		      "<text x=\"428\" y=\"34\" class=\"legend\">equal refunds</text>\n"
		      "<line stroke=\"#000\" stroke-width=\"2.5\" x1=\"390\" y1=\"52\" x2=\"420\""
		      " y2=\"52\"/><text x=\"428\" y=\"56\" class=\"legend\">Lorenz curve</text>\n");
	legend(out, id, 398, 68, "diag", "area: G / 2");
	cs_buf_puts(out, "<text x=\"390\" y=\"110\" class=\"legend\">Gini coefficient ");
	cs_report_decimal(out, g, 9);
	cs_buf_printf(out,
		      "</text><text x=\"390\" y=\"128\" class=\"legend\">%zu member%s</text>\n",
		      c->n_refunds, c->n_refunds == 1 ? "" : "s");
	cs_buf_puts(out, "</svg><figcaption>Lorenz curve of the patronage refunds in ");
	cs_html_escape(out, c->code);
	cs_buf_puts(out, ".</figcaption></figure>\n");
}

static void lorenz_table(cs_buf *out, const cs_report_currency *c, const mpq_t g)
{
	static const unsigned pcts[] = {20, 40, 50, 60, 80, 90};
	cs_i128 total = 0, num, den;
	size_t i;

	for (i = 0; i < c->n_refunds; i++)
		total += c->refunds[i];
	cs_buf_printf(out, "<p><strong>Gini coefficient <span class=\"gini\" data-currency=\"");
	cs_html_escape(out, c->code);
	cs_buf_puts(out, "\">");
	cs_report_decimal(out, g, 9);
	cs_buf_printf(out, "</span></strong> over %zu member%s who received ", c->n_refunds,
		      c->n_refunds == 1 ? "" : "s");
	put_money(out, total, c->exponent, c->code);
	cs_buf_puts(out, " in refunds (0: everyone received the same; the largest possible with "
			 "these members, (n - 1) / n, when one member received everything).</p>\n"
			 "<table><thead><tr><th>the members with the smallest refunds</th>"
			 "<th class=\"n\">received of the refunds</th></tr></thead><tbody>\n");
	for (i = 0; i < sizeof(pcts) / sizeof(pcts[0]); i++) {
		lorenz_share(c, pcts[i], total, &num, &den);
		cs_buf_printf(out, "<tr><td>%u %%</td><td class=\"n\">", pcts[i]);
		put_percent(out, num, den);
		cs_buf_puts(out, "</td></tr>\n");
	}
	cs_buf_puts(out, "</tbody></table>\n");
}

static void section_lorenz(cs_buf *out, const cs_report_doc *d)
{
	size_t i;
	mpq_t g;

	mpq_init(g);
	cs_buf_puts(out,
		    "<section id=\"lorenz\">\n<h2>Distribution of refunds among members</h2>\n"
		    "<p>Per currency: each member's patronage refund summed over the committed "
		    "distribute runs of the period; the members who received a refund greater "
		    "than zero, and only they, are counted (see <a href=\"#defs\">Definitions</a>). "
		    "The Gini coefficient is computed exactly as a fraction and shown rounded to "
		    "9 decimals.</p>\n");
	for (i = 0; i < d->n_currencies; i++) {
		const cs_report_currency *c = &d->currencies[i];

		cs_buf_puts(out, "<h3>");
		cs_html_escape(out, c->code);
		cs_buf_puts(out, "</h3>\n");
		if (!c->n_refunds) {
			cs_buf_puts(out, "<p>No member received a refund in this currency.</p>\n");
			continue;
		}
		cs_report_gini(c->refunds, c->n_refunds, g);
		lorenz_chart(out, c, i, g);
		lorenz_table(out, c, g);
	}
	cs_buf_puts(out, "</section>\n");
	mpq_clear(g);
}

/* ---- runs ---- */

int cs_report_run_fails(const cs_report_run *r)
{
	return r->verdict == CS_REPORT_DOES_NOT_REPRODUCE ||
	       (r->verdict != CS_REPORT_VERIFIES && strcmp(r->status, "committed") == 0);
}

static const char *verdict_words(cs_report_verdict v)
{
	switch (v) {
	case CS_REPORT_VERIFIES:
		return "verifies";
	case CS_REPORT_INPUTS_CHANGED:
		return "inputs changed";
	case CS_REPORT_DOES_NOT_REPRODUCE:
		return "does not reproduce";
	}
	return "?";
}

static void runs_row(cs_buf *out, const cs_report_run *r)
{
	cs_buf_printf(out,
		      "<tbody class=\"run\"><tr data-run=\"%lld\" data-verify=\"%s\">"
		      "<td class=\"n\">%lld</td><td>%s</td><td class=\"nw\">%s to %s</td><td>",
		      (long long)r->id, verdict_words(r->verdict), (long long)r->id, r->kind,
		      r->first_day, r->last_day);
	cs_html_escape(out, r->status);
	if (r->superseded_by)
		cs_buf_printf(out, " by run %lld", (long long)r->superseded_by);
	cs_buf_printf(out, "</td><td%s>%s", cs_report_run_fails(r) ? " class=\"bad\"" : "",
		      verdict_words(r->verdict));
	if (r->why) {
		cs_buf_puts(out, "<br><span class=\"note\">");
		cs_html_escape(out, r->why);
		cs_buf_puts(out, "</span>");
	}
	cs_buf_puts(out, "</td></tr>\n<tr><td></td><td colspan=\"4\" class=\"hash\">record ");
	cs_html_escape(out, r->record_sha256);
	cs_buf_puts(out, "<br>input&nbsp; ");
	cs_html_escape(out, r->input_sha256);
	cs_buf_puts(out, "<br>output ");
	cs_html_escape(out, r->output_sha256);
	cs_buf_puts(out, "</td></tr></tbody>\n");
}

static void section_runs(cs_buf *out, const cs_report_doc *d)
{
	size_t i;

	cs_buf_puts(out,
		    "<section id=\"runs\">\n<h2>Runs and their verification</h2>\n"
		    "<p>Every run whose window lies in the period, committed or superseded, with "
		    "the SHA-256 hashes of its record, its input and its output, and what "
		    "<code>coopsettle verify --run</code> says of it when this page was made: "
		    "<em>verifies</em>; <em>inputs changed</em> (the run reproduces from its own "
		    "snapshots, but its sources changed since: a superseded run usually says so, "
		    "a committed one should be re-run with --supersede); <em>does not "
		    "reproduce</em> (its stored rows or snapshots no longer match its "
		    "record).</p>\n");
	if (!d->n_runs) {
		cs_buf_puts(out, "<p>No run lies in the period.</p>\n</section>\n");
		return;
	}
	cs_buf_puts(out, "<table class=\"runs\"><thead><tr><th class=\"n\">run</th><th>kind</th>"
			 "<th>window</th><th>status</th><th>verify</th></tr><tr><th></th>"
			 "<th colspan=\"4\">SHA-256 of its record, input and output</th></tr>"
			 "</thead>\n");
	for (i = 0; i < d->n_runs; i++)
		runs_row(out, &d->runs[i]);
	cs_buf_puts(out, "</table>\n</section>\n");
}

static void section_defs(cs_buf *out)
{
	cs_buf_puts(
		out,
		"<section id=\"defs\">\n<h2>Definitions</h2>\n<dl class=\"defs\">\n"
		"<dt>Runs counted</dt><dd>The committed runs whose window lies inside the period "
		"(a run straddling a bound of the period is not counted; the header says how many "
		"do). Superseded runs are listed under Runs, never counted in a figure.</dd>\n"
		"<dt>Fee income per month</dt><dd>Minus the sum of the posted ledger lines of the "
		"committed settle runs on each run's fee income account (accounts.fee_income, "
		"default income:fees): fees net of VAT and of fee-fund parts, as spec section 6 "
		"counts fee income. Each line counts in the month of its posting date, the local day "
		"of its transaction; a line stored before posting dates were kept counts on its "
		"run's last local day. The total is compared with the runs' currency totals.</dd>\n"
		"<dt>Surplus waterfall</dt><dd>The figures of the run's statement: fee income, "
		"costs, surplus S = fee income - costs; with config version 2, the loss carried in "
		"that S covers first and the distributable surplus S'; each step's amount; the "
		"surplus retained. In a loss year (S &lt; 0) the loss is covered by the loss_cover "
		"accounts and the rest carried forward.</dd>\n"
		"<dt>Refunds per class</dt><dd>A patronage step shares its pool between the classes "
		"by largest remainder over their shares; a class with no eligible member pays "
		"nothing. So when every class of the step has an eligible member, the class parts "
		"are the largest-remainder split of the step's amount; when one class alone has, "
		"the whole amount is that class's. Eligibility is the engine's own test on the "
		"run's inputs as rebuilt for verify (config version 2: the run's membership "
		"snapshot; version 1: the members relation as it is now). When the rebuilt inputs "
		"do not hash to the run's input hash, the refunds are shown as unattributed.</dd>\n"
		"<dt>Gini coefficient and Lorenz curve</dt><dd>Per currency, x_m = the sum of "
		"member m's patronage refunds (cash and retained, from member_allocations) over the "
		"committed distribute runs of the period. The members counted are those with "
		"x_m &gt; 0: members with no refund (none eligible, or below min_patronage) are "
		"left out, so the figure measures how unequal the refunds paid are, not how many "
		"members received none. With x ascending, T = sum x and n members: G = (2 sum i x_i - "
		"(n + 1) T) / (n T) = sum over all pairs |x_i - x_j| / (2 n T), computed exactly "
		"as a fraction (shown in the chart's data-gini-num and data-gini-den) and rounded "
		"to 9 decimals, halves up. The Lorenz curve joins the points (i / n, (x_1 + ... + "
		"x_i) / T); G is twice the area between it and the diagonal.</dd>\n"
		"<dt>Verification</dt><dd>coopsettle verify --run N for every run listed, when the "
		"page was made (docs/auditing.md): the run's stored rows against its hashes, its "
		"recomputation from its own snapshots, and its snapshots against today's sources. "
		"A fault is a run that does not reproduce, or a committed run whose inputs changed "
		"since; a superseded run whose inputs changed is what its correction booked, and "
		"no fault.</dd>\n"
		"</dl>\n</section>\n");
}

void cs_report_html(cs_buf *out, const cs_report_doc *d)
{
	page_head(out, d);
	page_title(out, d);
	section_fees(out, d);
	section_falls(out, d);
	section_classes(out, d);
	section_lorenz(out, d);
	section_runs(out, d);
	section_defs(out);
	cs_buf_puts(out, "</body>\n</html>\n");
}
