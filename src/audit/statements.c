/*
 * statements.c -- member statements of a distribute run as text and HTML,
 * in English or German (see statements.h, docs/statements.md).
 *
 * A statement is first built as a list of lines (a heading, a row with a
 * label and a value, a sentence), the same for both formats, then written
 * as text or as HTML, so the two never say different things.
 */
#include "coopsettle/statements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/amount.h"
#include "coopsettle/error.h"
#include "coopsettle/window.h"

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

/* ---- money, dates, rates in words of a language ---- */

char *cs_money_text(char *buf, cs_i128 minor, unsigned exponent, const char *code, cs_lang lang)
{
	char plain[CS_AMOUNT_TEXT_BYTES], num[96];
	const char *p = cs_amount_format(plain, minor < 0 ? -minor : minor, exponent);
	const char *dot = strchr(p, '.');
	size_t int_len = dot ? (size_t)(dot - p) : strlen(p), i, o = 0;
	int euro = strcmp(code, "EUR") == 0;

	/* the integer part in groups of three, then the fraction */
	for (i = 0; i < int_len; i++) {
		if (i && (int_len - i) % 3 == 0)
			num[o++] = lang == CS_LANG_DE ? '.' : ',';
		num[o++] = p[i];
	}
	if (dot) {
		num[o++] = lang == CS_LANG_DE ? ',' : '.';
		for (i = 1; dot[i]; i++)
			num[o++] = dot[i];
	}
	num[o] = '\0';
	if (lang == CS_LANG_DE)
		snprintf(buf, CS_MONEY_TEXT_BYTES, "%s%.95s %.3s", minor < 0 ? "-" : "", num,
			 euro ? "\xe2\x82\xac" : code);
	else
		snprintf(buf, CS_MONEY_TEXT_BYTES, "%s%.3s%s%.95s", minor < 0 ? "-" : "",
			 euro ? "\xe2\x82\xac" : code, euro ? "" : " ", num);
	return buf;
}

static const char *const month_en[12] = {"January", "February", "March",     "April",
					 "May",     "June",     "July",      "August",
					 "September", "October", "November", "December"};

char *cs_date_text(char *buf, size_t size, int64_t day, cs_lang lang)
{
	int64_t y;
	unsigned m, d;

	cs_civil_from_days(day, &y, &m, &d);
	if (lang == CS_LANG_DE)
		snprintf(buf, size, "%02u.%02u.%04lld", d, m, (long long)y);
	else
		snprintf(buf, size, "%u %s %lld", d, month_en[m - 1], (long long)y);
	return buf;
}

/* Nonzero when q has a finite decimal expansion of at most max digits
 * after the point (its denominator divides 10^max). */
static int decimal_within(mpq_srcptr q, unsigned max)
{
	mpz_t t;
	int ok;

	mpz_init(t);
	mpz_ui_pow_ui(t, 10, max);
	ok = mpz_divisible_p(t, mpq_denref(q));
	mpz_clear(t);
	return ok;
}

/* q (a fraction, 0.02 for 2 %) as a percentage in lang: exact when it has
 * at most 6 decimals as a percentage, else rounded half up to 4 decimals
 * and *rounded set. en "26.375%", de "26,375 %". */
static void percent_text(char *buf, size_t size, mpq_srcptr q, cs_lang lang, int *rounded)
{
	mpq_t p;
	mpz_t scaled, rem, den;
	unsigned decimals = 6, i;
	char digits[128], *s = digits, out[160];
	size_t n, o = 0;
	int neg;

	mpq_init(p);
	mpz_inits(scaled, rem, den, NULL);
	mpq_set(p, q);
	mpz_mul_ui(mpq_numref(p), mpq_numref(p), 100);
	mpq_canonicalize(p);
	*rounded = !decimal_within(p, 6);
	if (*rounded)
		decimals = 4;
	neg = mpq_sgn(p) < 0;
	mpq_abs(p, p);
	/* scaled = round(p * 10^decimals), half up */
	mpz_ui_pow_ui(den, 10, decimals);
	mpz_mul(scaled, mpq_numref(p), den);
	mpz_mul_ui(scaled, scaled, 2);
	mpz_add(scaled, scaled, mpq_denref(p));
	mpz_mul_ui(den, mpq_denref(p), 2);
	mpz_fdiv_q(scaled, scaled, den);
	/* drop trailing zeros of the fraction */
	while (decimals > 0 && mpz_divisible_ui_p(scaled, 10)) {
		mpz_divexact_ui(scaled, scaled, 10);
		decimals--;
	}
	CS_ASSERT(mpz_sizeinbase(scaled, 10) < sizeof(digits) - 8);
	mpz_get_str(digits, 10, scaled);
	n = strlen(digits);
	if (neg)
		out[o++] = '-';
	if (n <= decimals) {
		out[o++] = '0';
	} else {
		for (i = 0; i < n - decimals; i++)
			out[o++] = s[i];
	}
	if (decimals) {
		out[o++] = lang == CS_LANG_DE ? ',' : '.';
		for (i = 0; i < decimals; i++)
			out[o++] = decimals - i > n ? '0' : s[n - (decimals - i)];
	}
	out[o] = '\0';
	snprintf(buf, size, "%s%s%%", out, lang == CS_LANG_DE ? " " : "");
	mpq_clear(p);
	mpz_clears(scaled, rem, den, NULL);
}

/* ---- words ---- */

typedef enum word {
	W_TITLE,
	W_MEMBER_NO,
	W_CLASS,
	W_PERIOD,
	W_RESOLVED,
	W_NO_RESOLUTION,
	W_AMOUNTS_IN,
	W_INTEREST,
	W_CAPITAL_OPEN,
	W_CAPITAL_AVG,
	W_CAPITAL_AVG_ROUNDED,
	W_RATE,
	W_DAYS,
	W_INTEREST_GROSS,
	W_WITHHELD,
	W_INTEREST_NET,
	W_PATRONAGE,
	W_BASIS_FEES,
	W_BASIS_FEES_NET,
	W_VAT_ON_FEES,
	W_BASIS_VOLUME,
	W_UNIFORM_RATE,
	W_UNIFORM_RATE_ROUNDED,
	W_REFUND,
	W_CASH,
	W_RETAINED,
	W_TOTAL,
	W_TOTAL_ON,
	W_ZERO_NO_BUSINESS,
	W_ZERO_NO_POOL,
	W_ZERO_BELOW_MIN,
	W_ZERO_BLOCKED,
	W_ZERO_NO_CAPITAL,
	W_ZERO_NO_INTEREST_POOL,
	W_ZERO_TOTAL,
	W_NOTHING,
	W_CORRECTED,
	W_CORRECTED_LATER,
	W_FOOT_RUN,
	W_FOOT_EXACT,
	W_COUNT
} word;

static const char *const words[2][W_COUNT] = {
	[CS_LANG_EN] = {
		[W_TITLE] = "Statement of surplus distribution",
		[W_MEMBER_NO] = "Member no.",
		[W_CLASS] = "Membership",
		[W_PERIOD] = "Period",
		[W_RESOLVED] = "By resolution of the %s of %s, the surplus of the period %s to %s "
			       "is distributed as follows.",
		[W_NO_RESOLUTION] = "The surplus of the period %s to %s is distributed as follows.",
		[W_AMOUNTS_IN] = "Amounts in %s",
		[W_INTEREST] = "Interest on your capital",
		[W_CAPITAL_OPEN] = "Your capital on %s",
		[W_CAPITAL_AVG] = "Your capital (average over your days of membership)",
		[W_CAPITAL_AVG_ROUNDED] = "Your capital (average over your days of membership, "
					  "rounded)",
		[W_RATE] = "Interest rate per year",
		[W_DAYS] = "Days",
		[W_INTEREST_GROSS] = "Interest (gross)",
		[W_WITHHELD] = "Tax withheld (%s)",
		[W_INTEREST_NET] = "Interest paid to you (net)",
		[W_PATRONAGE] = "Patronage refund",
		[W_BASIS_FEES] = "Your member business (fees you paid as a member)",
		[W_BASIS_FEES_NET] = "Your member business (fees you paid as a member, net of VAT)",
		[W_VAT_ON_FEES] = "VAT on these fees (on your invoices, not part of the basis)",
		[W_BASIS_VOLUME] = "Your member business (your sales or purchases as a member)",
		[W_UNIFORM_RATE] = "Uniform refund rate",
		[W_UNIFORM_RATE_ROUNDED] = "Uniform refund rate (rounded)",
		[W_REFUND] = "Patronage refund",
		[W_CASH] = "paid in cash",
		[W_RETAINED] = "credited to your capital",
		[W_TOTAL] = "Total paid to you",
		[W_TOTAL_ON] = "Total paid to you on %s",
		[W_ZERO_NO_BUSINESS] = "You had no member business in this period, so no patronage "
				       "refund is due to you.",
		[W_ZERO_NO_POOL] = "The surplus left no amount for patronage refunds in this "
				   "period.",
		[W_ZERO_BELOW_MIN] = "Your member business was below the minimum for a patronage "
				     "refund.",
		[W_ZERO_BLOCKED] = "No interest is paid on capital for this period because a loss "
				   "was carried into it.",
		[W_ZERO_NO_CAPITAL] = "You held no capital while a member in this period, so no "
				      "interest is due to you.",
		[W_ZERO_NO_INTEREST_POOL] = "The surplus left no amount for interest on capital in "
					    "this period.",
		[W_ZERO_TOTAL] = "Nothing is paid out to you in %s for this period.",
		[W_NOTHING] = "No amounts were allocated to you in this period.",
		[W_CORRECTED] = "This statement replaces the one of run %lld: each corrected "
				"figure is shown as before \xe2\x86\x92 now.",
		[W_CORRECTED_LATER] = "These figures were corrected by run %lld; please refer to "
				      "its statement.",
		[W_FOOT_RUN] = "Distribute run %lld (%s), window [%s, %s) in %s.",
		[W_FOOT_EXACT] = "Amounts are exact; the cooperative can show how each was "
				 "computed (coopsettle explain).",
	},
	[CS_LANG_DE] = {
		[W_TITLE] = "Mitteilung \xc3\xbc" "ber die \xc3\x9c" "berschussverteilung",
		[W_MEMBER_NO] = "Mitgliedsnummer",
		[W_CLASS] = "Mitgliedschaft",
		[W_PERIOD] = "Zeitraum",
		[W_RESOLVED] = "Auf Beschluss der %s vom %s wird der \xc3\x9c" "berschuss des "
			       "Zeitraums %s bis %s wie folgt verteilt.",
		[W_NO_RESOLUTION] = "Der \xc3\x9c" "berschuss des Zeitraums %s bis %s wird wie folgt "
				    "verteilt.",
		[W_AMOUNTS_IN] = "Betr\xc3\xa4ge in %s",
		[W_INTEREST] = "Verzinsung Ihres Gesch\xc3\xa4" "ftsguthabens",
		[W_CAPITAL_OPEN] = "Ihr Gesch\xc3\xa4" "ftsguthaben am %s",
		[W_CAPITAL_AVG] = "Ihr Gesch\xc3\xa4" "ftsguthaben (Durchschnitt \xc3\xbc" "ber Ihre "
				  "Tage der Mitgliedschaft)",
		[W_CAPITAL_AVG_ROUNDED] = "Ihr Gesch\xc3\xa4" "ftsguthaben (Durchschnitt \xc3\xbc" "ber "
					  "Ihre Tage der Mitgliedschaft, gerundet)",
		[W_RATE] = "Zinssatz pro Jahr",
		[W_DAYS] = "Tage",
		[W_INTEREST_GROSS] = "Zinsen (brutto)",
		[W_WITHHELD] = "Einbehaltene Steuer (%s)",
		[W_INTEREST_NET] = "An Sie gezahlte Zinsen (netto)",
		[W_PATRONAGE] = "R\xc3\xbc" "ckverg\xc3\xbc" "tung",
		[W_BASIS_FEES] = "Ihre Mitgliedergesch\xc3\xa4" "fte (als Mitglied gezahlte "
				 "Geb\xc3\xbc" "hren)",
		[W_BASIS_FEES_NET] = "Ihre Mitgliedergesch\xc3\xa4" "fte (als Mitglied gezahlte "
				     "Geb\xc3\xbc" "hren ohne Umsatzsteuer)",
		[W_VAT_ON_FEES] = "darauf berechnete Umsatzsteuer (in Ihren Rechnungen, nicht Teil "
				  "der Bemessung)",
		[W_BASIS_VOLUME] = "Ihre Mitgliedergesch\xc3\xa4" "fte (Ihre Ums\xc3\xa4" "tze als "
				   "Mitglied)",
		[W_UNIFORM_RATE] = "Einheitlicher Satz der R\xc3\xbc" "ckverg\xc3\xbc" "tung",
		[W_UNIFORM_RATE_ROUNDED] = "Einheitlicher Satz der R\xc3\xbc" "ckverg\xc3\xbc" "tung "
					   "(gerundet)",
		[W_REFUND] = "R\xc3\xbc" "ckverg\xc3\xbc" "tung",
		[W_CASH] = "bar ausgezahlt",
		[W_RETAINED] = "Ihrem Gesch\xc3\xa4" "ftsguthaben gutgeschrieben",
		[W_TOTAL] = "An Sie ausgezahlt",
		[W_TOTAL_ON] = "An Sie ausgezahlt am %s",
		[W_ZERO_NO_BUSINESS] = "Sie hatten in diesem Zeitraum keine "
				       "Mitgliedergesch\xc3\xa4" "fte, daher steht Ihnen keine "
				       "R\xc3\xbc" "ckverg\xc3\xbc" "tung zu.",
		[W_ZERO_NO_POOL] = "Aus dem \xc3\x9c" "berschuss blieb in diesem Zeitraum kein "
				   "Betrag f\xc3\xbc" "r R\xc3\xbc" "ckverg\xc3\xbc" "tungen.",
		[W_ZERO_BELOW_MIN] = "Ihre Mitgliedergesch\xc3\xa4" "fte lagen unter dem Mindestbetrag "
				     "f\xc3\xbc" "r eine R\xc3\xbc" "ckverg\xc3\xbc" "tung.",
		[W_ZERO_BLOCKED] = "F\xc3\xbc" "r diesen Zeitraum werden keine Zinsen auf "
				   "Gesch\xc3\xa4" "ftsguthaben gezahlt, weil ein Verlust vorgetragen "
				   "wurde.",
		[W_ZERO_NO_CAPITAL] = "Sie hatten in diesem Zeitraum als Mitglied kein "
				      "Gesch\xc3\xa4" "ftsguthaben, daher stehen Ihnen keine Zinsen zu.",
		[W_ZERO_NO_INTEREST_POOL] = "Aus dem \xc3\x9c" "berschuss blieb in diesem Zeitraum "
					    "kein Betrag f\xc3\xbc" "r die Verzinsung der "
					    "Gesch\xc3\xa4" "ftsguthaben.",
		[W_ZERO_TOTAL] = "F\xc3\xbc" "r diesen Zeitraum wird Ihnen in %s nichts ausgezahlt.",
		[W_NOTHING] = "In diesem Zeitraum wurde Ihnen kein Betrag zugeteilt.",
		[W_CORRECTED] = "Diese Mitteilung ersetzt die des Laufs %lld: jeder berichtigte "
				"Betrag steht als bisher \xe2\x86\x92 jetzt.",
		[W_CORRECTED_LATER] = "Diese Betr\xc3\xa4" "ge wurden durch Lauf %lld berichtigt; "
				      "ma\xc3\x9f" "geblich ist dessen Mitteilung.",
		[W_FOOT_RUN] = "Verteilungslauf %lld (%s), Fenster [%s, %s) in %s.",
		[W_FOOT_EXACT] = "Alle Betr\xc3\xa4" "ge sind exakt; die Genossenschaft kann "
				 "zeigen, wie jeder berechnet wurde (coopsettle explain).",
	},
};

static const char *W(const cs_statement_doc *d, word w)
{
	return words[d->lang][w];
}

/* ---- the lines of a statement ---- */

typedef enum line_kind {
	K_HEAD,  /* a heading of a part: label */
	K_ROW,   /* label and value */
	K_SUB,   /* label and value, indented */
	K_TOTAL, /* label and value, emphasised */
	K_NOTE,  /* a sentence: label */
} line_kind;

#define LINE_TEXT_BYTES 512
#define LINES_MAX 40

typedef struct sline {
	line_kind kind;
	char label[LINE_TEXT_BYTES];
	char value[2 * CS_MONEY_TEXT_BYTES + 16];
} sline;

typedef struct slines {
	sline l[LINES_MAX];
	size_t n;
} slines;

static sline *add(slines *s, line_kind kind, const char *label)
{
	sline *l;

	CS_ASSERT(s->n < LINES_MAX);
	l = &s->l[s->n++];
	l->kind = kind;
	snprintf(l->label, sizeof(l->label), "%s", label);
	l->value[0] = '\0';
	return l;
}

/* A money row: the value now, or "before -> now" when the superseded run's
 * figure differs. */
static void money_row(slines *s, const cs_statement_doc *d, const cs_statement_amounts *a,
		      line_kind kind, const char *label, cs_i128 now, cs_i128 old)
{
	sline *l = add(s, kind, label);
	char m_now[CS_MONEY_TEXT_BYTES], m_old[CS_MONEY_TEXT_BYTES];

	cs_money_text(m_now, now, a->exponent, a->currency, d->lang);
	if (a->has_old && old != now)
		snprintf(l->value, sizeof(l->value), "%s \xe2\x86\x92 %s",
			 cs_money_text(m_old, old, a->exponent, a->currency, d->lang), m_now);
	else
		snprintf(l->value, sizeof(l->value), "%s", m_now);
}

/* Old figures for a member the superseded run did not have: all 0. */
static const cs_statement_figures no_figures;

static void interest_lines(slines *s, const cs_statement_doc *d, const cs_statement_amounts *a)
{
	const cs_statement_figures *n = &a->now, *o = a->has_old ? &a->old : &no_figures;
	char text[LINE_TEXT_BYTES], day[32], rate[96];
	int rounded;
	sline *l;

	add(s, K_HEAD, W(d, W_INTEREST));
	if (d->interest_opening) {
		snprintf(text, sizeof(text), W(d, W_CAPITAL_OPEN),
			 cs_date_text(day, sizeof(day), d->capital_day, d->lang));
		money_row(s, d, a, K_ROW, text, d->capital_minor, d->capital_minor);
	} else {
		money_row(s, d, a, K_ROW,
			  W(d, d->capital_rounded ? W_CAPITAL_AVG_ROUNDED : W_CAPITAL_AVG),
			  d->capital_minor, d->capital_minor);
	}
	l = add(s, K_ROW, W(d, W_RATE));
	percent_text(l->value, sizeof(l->value), d->interest_rate, d->lang, &rounded);
	l = add(s, K_ROW, W(d, W_DAYS));
	snprintf(l->value, sizeof(l->value), "%lld / %lld", (long long)d->interest_days,
		 (long long)d->year_days);
	money_row(s, d, a, K_ROW, W(d, W_INTEREST_GROSS), n->interest_minor, o->interest_minor);
	if (d->withholding) {
		percent_text(rate, sizeof(rate), d->withholding, d->lang, &rounded);
		snprintf(text, sizeof(text), W(d, W_WITHHELD), rate);
		money_row(s, d, a, K_SUB, text, n->withheld_minor, o->withheld_minor);
		money_row(s, d, a, K_SUB, W(d, W_INTEREST_NET), n->interest_minor - n->withheld_minor,
			  o->interest_minor - o->withheld_minor);
	}
	if (n->interest_minor == 0)
		add(s, K_NOTE,
		    W(d, d->interest_blocked ? W_ZERO_BLOCKED
			 : d->capital_minor <= 0 || d->interest_days <= 0 ? W_ZERO_NO_CAPITAL
									: W_ZERO_NO_INTEREST_POOL));
}

static void patronage_lines(slines *s, const cs_statement_doc *d, const cs_statement_amounts *a)
{
	const cs_statement_figures *n = &a->now, *o = a->has_old ? &a->old : &no_figures;
	sline *l;

	add(s, K_HEAD, W(d, W_PATRONAGE));
	money_row(s, d, a, K_ROW,
		  W(d, strcmp(d->basis, "volume") == 0 ? W_BASIS_VOLUME
		       : d->net_of_vat		       ? W_BASIS_FEES_NET
							 : W_BASIS_FEES),
		  n->basis_minor, o->basis_minor);
	if (d->net_of_vat && a->has_vat)
		money_row(s, d, a, K_SUB, W(d, W_VAT_ON_FEES), a->vat_minor, a->vat_minor);
	if (n->patronage_minor != 0 && a->class_basis_minor > 0) {
		mpq_t q;
		int rounded;

		mpq_init(q);
		cs_i128_to_mpz(mpq_numref(q), a->class_refunds_minor);
		cs_i128_to_mpz(mpq_denref(q), a->class_basis_minor);
		mpq_canonicalize(q);
		l = add(s, K_ROW, "");
		percent_text(l->value, sizeof(l->value), q, d->lang, &rounded);
		snprintf(l->label, sizeof(l->label), "%s",
			 W(d, rounded ? W_UNIFORM_RATE_ROUNDED : W_UNIFORM_RATE));
		mpq_clear(q);
	}
	money_row(s, d, a, K_ROW, W(d, W_REFUND), n->patronage_minor, o->patronage_minor);
	money_row(s, d, a, K_SUB, W(d, W_CASH), n->cash_minor, o->cash_minor);
	money_row(s, d, a, K_SUB, W(d, W_RETAINED), n->retained_minor, o->retained_minor);
	if (n->patronage_minor == 0)
		add(s, K_NOTE,
		    W(d, n->basis_minor <= 0 ? W_ZERO_NO_BUSINESS
			 : a->pool_minor == 0 ? W_ZERO_NO_POOL
					      : W_ZERO_BELOW_MIN));
}

/* What is paid out: the net interest and the cash part of the refund. */
static cs_i128 paid(const cs_statement_figures *f)
{
	return f->interest_minor - f->withheld_minor + f->cash_minor;
}

static void build(slines *s, const cs_statement_doc *d)
{
	char text[LINE_TEXT_BYTES], day[32];
	size_t i;

	for (i = 0; i < d->n_amounts; i++) {
		const cs_statement_amounts *a = &d->amounts[i];
		const cs_statement_figures *o = a->has_old ? &a->old : &no_figures;

		if (d->n_amounts > 1) {
			snprintf(text, sizeof(text), W(d, W_AMOUNTS_IN), a->currency);
			add(s, K_HEAD, text);
		}
		if (d->has_interest && a->base)
			interest_lines(s, d, a);
		if (d->basis)
			patronage_lines(s, d, a);
		if (d->has_payout)
			snprintf(text, sizeof(text), W(d, W_TOTAL_ON),
				 cs_date_text(day, sizeof(day), d->payout_day, d->lang));
		else
			snprintf(text, sizeof(text), "%s", W(d, W_TOTAL));
		money_row(s, d, a, K_TOTAL, text, paid(&a->now), paid(o));
		if (paid(&a->now) == 0 && !(d->has_interest && a->base) && !d->basis) {
			snprintf(text, sizeof(text), W(d, W_ZERO_TOTAL), a->currency);
			add(s, K_NOTE, text);
		}
	}
	if (d->n_amounts == 0)
		add(s, K_NOTE, W(d, W_NOTHING));
}

/* ---- the parts around the lines ---- */

static void period_text(char *buf, size_t size, const cs_statement_doc *d)
{
	char first[32], last[32];

	cs_date_text(first, sizeof(first), d->first_day, d->lang);
	cs_date_text(last, sizeof(last), d->last_day, d->lang);
	snprintf(buf, size, "%s \xe2\x80\x93 %s", first, last);
}

static void intro_text(cs_buf *out, const cs_statement_doc *d)
{
	char first[32], last[32], day[32];

	cs_date_text(first, sizeof(first), d->first_day, d->lang);
	cs_date_text(last, sizeof(last), d->last_day, d->lang);
	if (d->resolution_body)
		cs_buf_printf(out, W(d, W_RESOLVED), d->resolution_body,
			      cs_date_text(day, sizeof(day), d->resolution_day, d->lang), first,
			      last);
	else
		cs_buf_printf(out, W(d, W_NO_RESOLUTION), first, last);
}

/* The qualified written notice of allocation (26 USC 1388), when the run
 * has one: a notice under US law, in English whatever the language. */
static void notice_text(cs_buf *out, const cs_statement_doc *d)
{
	size_t i;
	char cash[CS_MONEY_TEXT_BYTES], kept[CS_MONEY_TEXT_BYTES];

	for (i = 0; i < d->n_amounts && !d->amounts[i].now.patronage_minor; i++)
		;
	if (!d->notice_due || !d->basis || i == d->n_amounts)
		return; /* a notice allocates a refund: none, no notice */
	cs_buf_puts(out, "This statement is a qualified written notice of allocation (26 U.S.C. "
			 "1388(c)). ");
	for (i = 0; i < d->n_amounts; i++) {
		const cs_statement_amounts *a = &d->amounts[i];

		if (!a->now.patronage_minor)
			continue;
		cs_buf_printf(out, "Of your patronage refund of %s, %s is paid in cash by %s; ",
			      cs_money_text(kept, a->now.patronage_minor, a->exponent, a->currency,
					    CS_LANG_EN),
			      cs_money_text(cash, a->now.cash_minor, a->exponent, a->currency,
					    CS_LANG_EN),
			      d->notice_due);
		cs_buf_printf(out, "%s is retained and allocated to you as member capital. ",
			      cs_money_text(kept, a->now.retained_minor, a->exponent, a->currency,
					    CS_LANG_EN));
	}
	cs_buf_puts(out, "By keeping your membership you consent to take the whole refund, cash "
			 "and retained, into account as income in the year you receive this "
			 "notice.");
}

static int has_notice(const cs_statement_doc *d)
{
	size_t i;

	if (!d->notice_due || !d->basis)
		return 0;
	for (i = 0; i < d->n_amounts; i++)
		if (d->amounts[i].now.patronage_minor)
			return 1;
	return 0;
}

static void footer_text(cs_buf *out, const cs_statement_doc *d)
{
	const char *status = d->status;

	if (d->lang == CS_LANG_DE)
		status = strcmp(status, "committed") == 0 ? "gebucht" : "ersetzt";
	cs_buf_printf(out, W(d, W_FOOT_RUN), (long long)d->run_id, status, d->from_text,
		      d->to_text, d->timezone);
}

static const char *class_words(const cs_statement_doc *d)
{
	if (!d->member_class || d->lang == CS_LANG_EN)
		return d->member_class;
	if (strcmp(d->member_class, "producer") == 0)
		return "Anbieter";
	if (strcmp(d->member_class, "consumer") == 0)
		return "Kunde";
	return "Anbieter und Kunde";
}

/* ---- text ---- */

void cs_statement_text(cs_buf *out, const cs_statement_doc *d)
{
	slines *s = calloc(1, sizeof(*s));
	char period[96];
	const char *p;
	size_t i;

	CS_ASSERT(s != NULL);
	build(s, d);
	cs_buf_printf(out, "%s\n\n", d->cooperative);
	cs_buf_printf(out, "%s\n", d->member_name ? d->member_name : "");
	for (p = d->member_address; p && *p; p++)
		cs_buf_putc(out, *p);
	if (d->member_address)
		cs_buf_putc(out, '\n');
	cs_buf_printf(out, "\n%s\n\n", W(d, W_TITLE));
	cs_buf_printf(out, "%s: %lld\n", W(d, W_MEMBER_NO), (long long)d->member_id);
	if (d->member_class)
		cs_buf_printf(out, "%s: %s\n", W(d, W_CLASS), class_words(d));
	period_text(period, sizeof(period), d);
	cs_buf_printf(out, "%s: %s\n\n", W(d, W_PERIOD), period);
	intro_text(out, d);
	cs_buf_puts(out, "\n");
	if (d->supersedes) {
		cs_buf_printf(out, W(d, W_CORRECTED), (long long)d->supersedes);
		cs_buf_puts(out, "\n");
	}
	if (d->superseded_by) {
		cs_buf_printf(out, W(d, W_CORRECTED_LATER), (long long)d->superseded_by);
		cs_buf_puts(out, "\n");
	}
	for (i = 0; i < s->n; i++) {
		const sline *l = &s->l[i];

		switch (l->kind) {
		case K_HEAD:
			cs_buf_printf(out, "\n%s\n", l->label);
			break;
		case K_NOTE:
			cs_buf_printf(out, "  %s\n", l->label);
			break;
		default:
			/* the label padded to 60 columns of characters, not bytes */
			{
				const char *q;
				size_t cols = 0;

				cs_buf_puts(out, l->kind == K_SUB ? "    " : "  ");
				cs_buf_puts(out, l->label);
				for (q = l->label; *q; q++)
					cols += ((unsigned char)*q & 0xc0) != 0x80;
				cols += l->kind == K_SUB ? 4 : 2;
				cs_buf_puts(out, "  "); /* at least two spaces */
				for (cols += 2; cols < 64; cols++)
					cs_buf_putc(out, ' ');
				cs_buf_printf(out, "%s\n", l->value);
			}
		}
	}
	if (has_notice(d)) {
		cs_buf_puts(out, "\nWritten notice of allocation\n");
		notice_text(out, d);
		cs_buf_putc(out, '\n');
	}
	cs_buf_puts(out, "\n--\n");
	footer_text(out, d);
	cs_buf_printf(out, "\nRun record SHA-256: %s\nRun output SHA-256: %s\n", d->record_sha256,
		      d->output_sha256);
	cs_buf_printf(out, "%s\n", W(d, W_FOOT_EXACT));
	free(s);
}

/* ---- HTML ---- */

static const char style[] =
	"<style>\n"
	"@page{size:A4;margin:18mm 20mm 16mm 25mm}\n"
	"html{-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
	"body{font-family:\"DejaVu Sans\",\"Liberation Sans\",Arial,sans-serif;font-size:10pt;"
	"color:#000;background:#fff;margin:0}\n"
	"section.page{page-break-after:always;break-after:page;max-width:165mm;margin:0 auto;"
	"padding:0}\n"
	"section.page:last-of-type{page-break-after:auto;break-after:auto}\n"
	"@media screen{section.page{padding:12mm 0;border-bottom:1px dashed #999}}\n"
	".sender{font-size:8pt;border-bottom:1px solid #000;padding-bottom:1mm;"
	"margin-bottom:3mm;width:85mm}\n"
	".address{min-height:30mm;width:85mm;white-space:pre-line;line-height:1.35}\n"
	"h1{font-size:14pt;margin:8mm 0 3mm 0}\n"
	"h2{font-size:11pt;margin:5mm 0 1mm 0;border-bottom:1px solid #000}\n"
	"dl.facts{display:grid;grid-template-columns:auto 1fr;gap:0.5mm 4mm;margin:0 0 3mm 0}\n"
	"dl.facts dt{font-weight:bold}dl.facts dd{margin:0}\n"
	"table{border-collapse:collapse;width:100%}\n"
	"td{padding:0.6mm 0;vertical-align:top}\n"
	"td.amount{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums;"
	"padding-left:6mm}\n"
	"tr.sub td.label{padding-left:6mm}\n"
	"tr.total td{font-weight:bold;border-top:1.5pt solid #000;border-bottom:1.5pt double "
	"#000;padding:1mm 0}\n"
	"p.note{font-style:italic;margin:0.5mm 0 1mm 0}\n"
	"p.correction{border:1pt solid #000;padding:1.5mm}\n"
	"footer{margin-top:8mm;font-size:6.5pt;color:#333;border-top:0.5pt solid #000;"
	"padding-top:1mm}\n"
	"footer code{word-break:break-all}\n"
	"</style>\n";

void cs_statement_html_begin(cs_buf *out, const cs_statement_doc *d)
{
	cs_buf_printf(out, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n<meta charset=\"utf-8\">\n"
			   "<title>",
		      d->lang == CS_LANG_DE ? "de" : "en");
	cs_html_escape(out, d->cooperative);
	cs_buf_puts(out, ": ");
	cs_html_escape(out, W(d, W_TITLE));
	cs_buf_printf(out, " (run %lld)</title>\n", (long long)d->run_id);
	cs_buf_puts(out, style);
	cs_buf_puts(out, "</head>\n<body>\n");
}

void cs_statement_html_end(cs_buf *out)
{
	cs_buf_puts(out, "</body>\n</html>\n");
}

/* Appends text escaped, from a buffer fn fills (a sentence of ours). */
static void html_sentence(cs_buf *out, const cs_statement_doc *d,
			  void (*fn)(cs_buf *, const cs_statement_doc *))
{
	cs_buf t;

	cs_buf_init(&t);
	fn(&t, d);
	cs_html_escape(out, t.data ? t.data : "");
	cs_buf_free(&t);
}

static void html_fact(cs_buf *out, const char *term, const char *value)
{
	cs_buf_puts(out, "<dt>");
	cs_html_escape(out, term);
	cs_buf_puts(out, "</dt><dd>");
	cs_html_escape(out, value);
	cs_buf_puts(out, "</dd>\n");
}

/* The sender, the address block, the title, the facts, the resolution and
 * a correction's note. */
static void html_head(cs_buf *out, const cs_statement_doc *d)
{
	char period[96], id[32], text[LINE_TEXT_BYTES];

	snprintf(id, sizeof(id), "%lld", (long long)d->member_id);
	cs_buf_printf(out, "<section class=\"page\" id=\"member-%s\">\n<div class=\"sender\">", id);
	cs_html_escape(out, d->cooperative);
	cs_buf_puts(out, "</div>\n<div class=\"address\">");
	if (d->member_name) {
		cs_html_escape(out, d->member_name);
		if (d->member_address) {
			cs_buf_putc(out, '\n');
			cs_html_escape(out, d->member_address);
		}
	} else {
		cs_html_escape(out, W(d, W_MEMBER_NO));
		cs_buf_printf(out, " %s", id);
	}
	cs_buf_puts(out, "</div>\n<h1>");
	cs_html_escape(out, W(d, W_TITLE));
	cs_buf_puts(out, "</h1>\n<dl class=\"facts\">\n");
	html_fact(out, W(d, W_MEMBER_NO), id);
	if (d->member_class)
		html_fact(out, W(d, W_CLASS), class_words(d));
	period_text(period, sizeof(period), d);
	html_fact(out, W(d, W_PERIOD), period);
	cs_buf_puts(out, "</dl>\n<p class=\"intro\">");
	html_sentence(out, d, intro_text);
	cs_buf_puts(out, "</p>\n");
	if (!d->supersedes && !d->superseded_by)
		return;
	if (d->supersedes)
		snprintf(text, sizeof(text), W(d, W_CORRECTED), (long long)d->supersedes);
	else
		snprintf(text, sizeof(text), W(d, W_CORRECTED_LATER), (long long)d->superseded_by);
	cs_buf_puts(out, "<p class=\"correction\">");
	cs_html_escape(out, text);
	cs_buf_puts(out, "</p>\n");
}

/* The lines: headings, tables of rows, sentences. */
static void html_lines(cs_buf *out, const slines *s)
{
	size_t i;
	int in_table = 0;

	for (i = 0; i < s->n; i++) {
		const sline *l = &s->l[i];

		if (in_table && l->kind != K_ROW && l->kind != K_SUB) {
			cs_buf_puts(out, "</table>\n");
			in_table = 0;
		}
		if (l->kind == K_HEAD || l->kind == K_NOTE) {
			cs_buf_puts(out, l->kind == K_HEAD ? "<h2>" : "<p class=\"note\">");
			cs_html_escape(out, l->label);
			cs_buf_puts(out, l->kind == K_HEAD ? "</h2>\n" : "</p>\n");
			continue;
		}
		if (!in_table)
			cs_buf_printf(out, "<table%s>\n",
				      l->kind == K_TOTAL ? " class=\"total\"" : "");
		in_table = 1;
		cs_buf_printf(out, "<tr%s><td class=\"label\">",
			      l->kind == K_SUB ? " class=\"sub\""
			      : l->kind == K_TOTAL ? " class=\"total\""
						   : "");
		cs_html_escape(out, l->label);
		cs_buf_puts(out, "</td><td class=\"amount\">");
		cs_html_escape(out, l->value);
		cs_buf_puts(out, "</td></tr>\n");
	}
	if (in_table)
		cs_buf_puts(out, "</table>\n");
}

void cs_statement_html_page(cs_buf *out, const cs_statement_doc *d)
{
	slines *s = calloc(1, sizeof(*s));

	CS_ASSERT(s != NULL);
	build(s, d);
	html_head(out, d);
	html_lines(out, s);
	if (has_notice(d)) {
		cs_buf_puts(out, "<h2>Written notice of allocation</h2>\n<p>");
		html_sentence(out, d, notice_text);
		cs_buf_puts(out, "</p>\n");
	}
	cs_buf_puts(out, "<footer>");
	html_sentence(out, d, footer_text);
	cs_buf_puts(out, "<br>\nRun record SHA-256: <code>");
	cs_html_escape(out, d->record_sha256);
	cs_buf_puts(out, "</code><br>\nRun output SHA-256: <code>");
	cs_html_escape(out, d->output_sha256);
	cs_buf_puts(out, "</code><br>\n");
	cs_html_escape(out, W(d, W_FOOT_EXACT));
	cs_buf_puts(out, "</footer>\n</section>\n");
	free(s);
}

void cs_statement_html(cs_buf *out, const cs_statement_doc *d)
{
	cs_statement_html_begin(out, d);
	cs_statement_html_page(out, d);
	cs_statement_html_end(out);
}
