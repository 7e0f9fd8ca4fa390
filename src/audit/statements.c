/*
 * statements.c -- member statements of a distribute run as text and HTML
 * (see statements.h).
 */
#include "coopsettle/statements.h"

#include <string.h>

#include "coopsettle/amount.h"

void cs_html_escape(cs_buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			cs_buf_puts(out, "&amp;");
			break;
		case '<':
			cs_buf_puts(out, "&lt;");
			break;
		case '>':
			cs_buf_puts(out, "&gt;");
			break;
		case '"':
			cs_buf_puts(out, "&quot;");
			break;
		case '\'':
			cs_buf_puts(out, "&#39;");
			break;
		default:
			cs_buf_putc(out, *s);
		}
	}
}

static const char *basis_words(const cs_statement_doc *d)
{
	if (d->basis && strcmp(d->basis, "volume") == 0)
		return "gross volume of your sales or purchases through the platform";
	return d->net_of_vat ? "fees you paid through the platform, net of VAT"
			     : "fees you paid through the platform";
}

/* The rows of one currency: label and amount. */
typedef struct row {
	const char *label;
	cs_i128 minor;
	int indent;
} row;

static size_t rows_of(const cs_statement_doc *d, const cs_statement_amounts *a, row *r)
{
	size_t n = 0;

	if (d->basis) {
		r[n++] = (row){"Patronage basis", a->basis_minor, 0};
		r[n++] = (row){"Patronage refund", a->patronage_minor, 0};
		r[n++] = (row){"paid in cash", a->cash_minor, 1};
		r[n++] = (row){"retained as member capital", a->retained_minor, 1};
	}
	if (a->has_withheld) { /* gross, withheld and net (spec 10.3) */
		r[n++] = (row){"Interest on capital (gross)", a->capital_interest_minor, 0};
		r[n++] = (row){"tax withheld", a->withheld_minor, 1};
		r[n++] = (row){"interest paid to you (net)", a->capital_interest_minor -
								       a->withheld_minor,
			       1};
	} else {
		r[n++] = (row){"Interest on paid-in capital", a->capital_interest_minor, 0};
	}
	return n;
}

/* The qualified written notice of allocation (26 USC 1388), when the run
 * has one, in the words of each currency's amounts. */
static void notice_text(cs_buf *out, const cs_statement_doc *d, int html)
{
	size_t i;
	char cash[CS_AMOUNT_TEXT_BYTES], kept[CS_AMOUNT_TEXT_BYTES];

	for (i = 0; i < d->n_amounts && !d->amounts[i].patronage_minor; i++)
		;
	if (!d->notice_due || !d->basis || i == d->n_amounts)
		return; /* a notice allocates a refund: none, no notice */
	cs_buf_puts(out, html ? "<h3>Written notice of allocation</h3>\n<p>" : "\nWritten notice of allocation\n");
	cs_buf_puts(out, "This statement is a qualified written notice of allocation (26 U.S.C. "
			 "1388(c)). ");
	for (i = 0; i < d->n_amounts; i++) {
		const cs_statement_amounts *a = &d->amounts[i];

		if (!a->patronage_minor)
			continue;
		cs_buf_printf(out, "Of your patronage refund of %s %s, %s %s is paid in cash by ",
			      cs_amount_format(kept, a->patronage_minor, a->exponent), a->currency,
			      cs_amount_format(cash, a->cash_minor, a->exponent), a->currency);
		if (html)
			cs_html_escape(out, d->notice_due);
		else
			cs_buf_puts(out, d->notice_due);
		cs_buf_printf(out, "; %s %s is retained and allocated to you as member capital. ",
			      cs_amount_format(kept, a->retained_minor, a->exponent), a->currency);
	}
	cs_buf_puts(out, "By keeping your membership you consent to take the whole refund, cash "
			 "and retained, into account as income in the year you receive this "
			 "notice.");
	cs_buf_puts(out, html ? "</p>\n" : "\n");
}

void cs_statement_text(cs_buf *out, const cs_statement_doc *d)
{
	size_t i, k, n;
	row r[10];
	char amount[CS_AMOUNT_TEXT_BYTES];

	cs_buf_printf(out, "%s\n", d->cooperative);
	cs_buf_puts(out, "Statement of surplus distribution\n\n");
	cs_buf_printf(out, "Member:  %lld%s%s%s\n", (long long)d->member_id,
		      d->member_class ? " (" : "", d->member_class ? d->member_class : "",
		      d->member_class ? ")" : "");
	cs_buf_printf(out, "Period:  %s to %s inclusive (%s)\n", d->first_day, d->last_day,
		      d->timezone);
	if (d->basis)
		cs_buf_printf(out, "Basis:   %s on your side\n", basis_words(d));
	for (i = 0; i < d->n_amounts; i++) {
		const cs_statement_amounts *a = &d->amounts[i];

		cs_buf_printf(out, "\nAmounts in %s\n", a->currency);
		n = rows_of(d, a, r);
		for (k = 0; k < n; k++)
			cs_buf_printf(out, "  %s%-*s %20s %s\n", r[k].indent ? "  " : "",
				      r[k].indent ? 30 : 32, r[k].label,
				      cs_amount_format(amount, r[k].minor, a->exponent), a->currency);
	}
	if (d->n_amounts == 0)
		cs_buf_puts(out, "\nNo amounts were allocated to you in this period.\n");
	notice_text(out, d, 0);
	cs_buf_printf(out, "\nDistribute run %lld (%s", (long long)d->run_id, d->status);
	if (d->superseded_by)
		cs_buf_printf(out, " by run %lld: these figures were corrected",
			      (long long)d->superseded_by);
	cs_buf_printf(out, "), window [%s, %s)\n", d->from_text, d->to_text);
	cs_buf_printf(out, "Run record SHA-256: %s\nRun output SHA-256: %s\n", d->record_sha256,
		      d->output_sha256);
	cs_buf_puts(out, "Amounts are exact; the cooperative can show how each was computed "
			 "(coopsettle explain).\n");
}

void cs_statement_html(cs_buf *out, const cs_statement_doc *d)
{
	size_t i, k, n;
	row r[10];
	char amount[CS_AMOUNT_TEXT_BYTES];

	cs_buf_puts(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
			 "<title>");
	cs_html_escape(out, d->cooperative);
	cs_buf_printf(out, ": statement of member %lld, run %lld</title>\n", (long long)d->member_id,
		      (long long)d->run_id);
	cs_buf_puts(out, "<style>body{font-family:sans-serif;max-width:42em;margin:2em auto}"
			 "td.amount{text-align:right;font-variant-numeric:tabular-nums;"
			 "padding-left:2em}td.sub{padding-left:1.5em}"
			 "code{font-size:85%;word-break:break-all}</style>\n</head>\n<body>\n<h1>");
	cs_html_escape(out, d->cooperative);
	cs_buf_puts(out, "</h1>\n<h2>Statement of surplus distribution</h2>\n<dl>\n");
	cs_buf_printf(out, "<dt>Member</dt><dd>%lld", (long long)d->member_id);
	if (d->member_class) {
		cs_buf_puts(out, " (");
		cs_html_escape(out, d->member_class);
		cs_buf_putc(out, ')');
	}
	cs_buf_puts(out, "</dd>\n<dt>Period</dt><dd>");
	cs_html_escape(out, d->first_day);
	cs_buf_puts(out, " to ");
	cs_html_escape(out, d->last_day);
	cs_buf_puts(out, " inclusive (");
	cs_html_escape(out, d->timezone);
	cs_buf_puts(out, ")</dd>\n");
	if (d->basis)
		cs_buf_printf(out, "<dt>Basis</dt><dd>%s on your side</dd>\n", basis_words(d));
	cs_buf_puts(out, "</dl>\n");
	for (i = 0; i < d->n_amounts; i++) {
		const cs_statement_amounts *a = &d->amounts[i];

		cs_buf_puts(out, "<table>\n<caption>Amounts in ");
		cs_html_escape(out, a->currency);
		cs_buf_puts(out, "</caption>\n");
		n = rows_of(d, a, r);
		for (k = 0; k < n; k++) {
			cs_buf_printf(out, "<tr><td%s>", r[k].indent ? " class=\"sub\"" : "");
			cs_html_escape(out, r[k].label);
			cs_buf_puts(out, "</td><td class=\"amount\">");
			cs_html_escape(out, cs_amount_format(amount, r[k].minor, a->exponent));
			cs_buf_putc(out, ' ');
			cs_html_escape(out, a->currency);
			cs_buf_puts(out, "</td></tr>\n");
		}
		cs_buf_puts(out, "</table>\n");
	}
	if (d->n_amounts == 0)
		cs_buf_puts(out, "<p>No amounts were allocated to you in this period.</p>\n");
	notice_text(out, d, 1);
	cs_buf_printf(out, "<p>Distribute run %lld (", (long long)d->run_id);
	cs_html_escape(out, d->status);
	if (d->superseded_by)
		cs_buf_printf(out, " by run %lld: these figures were corrected",
			      (long long)d->superseded_by);
	cs_buf_puts(out, "), window [");
	cs_html_escape(out, d->from_text);
	cs_buf_puts(out, ", ");
	cs_html_escape(out, d->to_text);
	cs_buf_puts(out, ")<br>\nRun record SHA-256: <code>");
	cs_html_escape(out, d->record_sha256);
	cs_buf_puts(out, "</code><br>\nRun output SHA-256: <code>");
	cs_html_escape(out, d->output_sha256);
	cs_buf_puts(out, "</code></p>\n<p>Amounts are exact; the cooperative can show how each was "
			 "computed.</p>\n</body>\n</html>\n");
}
