/*
 * export.c -- ledger lines as hledger, beancount or CSV text (see
 * export.h).
 */
#include "coopsettle/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/amount.h"
#include "coopsettle/limits.h"

struct cs_export {
	cs_export_format fmt;
	const cs_export_run *run;
	cs_buf *out;
	cs_buf commodities; /* declarations, written by begin */
	char **names;       /* declared account names, as mapped */
	size_t n_names, cap_names;
	int in_journal;
	int cur_reversal;
	int64_t cur_journal;
	/* per-currency sums of the journal being written: it must balance */
	char codes[CS_CURRENCIES_MAX][16];
	cs_i128 sums[CS_CURRENCIES_MAX];
	size_t n_codes;
	int64_t lines;
	cs_buf name; /* scratch */
};

int cs_export_format_parse(const char *name, cs_export_format *out)
{
	if (strcmp(name, "hledger") == 0)
		*out = CS_EXPORT_HLEDGER;
	else if (strcmp(name, "beancount") == 0)
		*out = CS_EXPORT_BEANCOUNT;
	else if (strcmp(name, "csv") == 0)
		*out = CS_EXPORT_CSV;
	else
		return -1;
	return 0;
}

/* ---- account names ---- */

static int is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static int is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One beancount component from n bytes of s. */
static void bean_component(cs_buf *out, const char *s, size_t n)
{
	size_t i;

	if (n == 0 || !(is_upper(s[0]) || is_lower(s[0]) || is_digit(s[0])))
		cs_buf_putc(out, 'X');
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (i == 0 && is_lower(c))
			c = (char)(c - 'a' + 'A');
		else if (!(is_upper(c) || is_lower(c) || is_digit(c) || c == '-'))
			c = '-';
		cs_buf_putc(out, c);
	}
}

static void party_component(cs_buf *out, cs_export_format fmt, int64_t party)
{
	char digits[48];

	cs_buf_putc(out, ':');
	if (party < 0 && fmt == CS_EXPORT_BEANCOUNT) {
		cs_i128_format(digits, -(cs_i128)party);
		cs_buf_putc(out, 'N');
		cs_buf_puts(out, digits);
		return;
	}
	cs_i128_format(digits, party);
	cs_buf_puts(out, digits);
}

int cs_export_account(cs_buf *out, cs_export_format fmt, const char *account, int has_party,
		      int64_t party_id, const char **why)
{
	static const char *const roots[] = {"Assets", "Liabilities", "Equity", "Income",
					    "Expenses"};
	size_t start = out->len, n = strlen(account), i;

	if (fmt == CS_EXPORT_CSV) {
		cs_buf_puts(out, account);
		return 0;
	}
	if (fmt == CS_EXPORT_HLEDGER) {
		for (i = 0; i < n; i++) {
			char c = account[i];

			if ((unsigned char)c < 0x20 || c == 0x7f)
				c = '_';
			else if (c == ' ' && (i == 0 || i + 1 == n || account[i - 1] == ' '))
				c = '_';
			else if (i == 0 && (c == '(' || c == '['))
				c = '_';
			cs_buf_putc(out, c);
		}
	} else {
		const char *p = account, *colon;
		int first = 1;

		for (;;) {
			colon = strchr(p, ':');
			if (!first)
				cs_buf_putc(out, ':');
			bean_component(out, p, colon ? (size_t)(colon - p) : strlen(p));
			if (first) {
				size_t k, len = out->len - start;
				int ok = 0;

				for (k = 0; k < sizeof(roots) / sizeof(roots[0]); k++)
					if (strlen(roots[k]) == len &&
					    memcmp(out->data + start, roots[k], len) == 0)
						ok = 1;
				if (!ok) {
					out->len = start;
					out->data[start] = '\0';
					*why = "beancount accounts start with Assets, Liabilities, "
					       "Equity, Income or Expenses";
					return -1;
				}
			}
			first = 0;
			if (!colon)
				break;
			p = colon + 1;
		}
	}
	if (has_party)
		party_component(out, fmt, party_id);
	return 0;
}

/* ---- the export ---- */

cs_export *cs_export_new(cs_export_format fmt, const cs_export_run *run, cs_buf *out)
{
	cs_export *x = calloc(1, sizeof(*x));

	CS_ASSERT(x != NULL);
	x->fmt = fmt;
	x->run = run;
	x->out = out;
	cs_buf_init(&x->commodities);
	cs_buf_init(&x->name);
	return x;
}

void cs_export_free(cs_export *x)
{
	size_t i;

	if (!x)
		return;
	for (i = 0; i < x->n_names; i++)
		free(x->names[i]);
	free(x->names);
	cs_buf_free(&x->commodities);
	cs_buf_free(&x->name);
	free(x);
}

void cs_export_commodity(cs_export *x, const char *code, unsigned exponent)
{
	unsigned i;

	CS_ASSERT(x->n_codes < CS_CURRENCIES_MAX && strlen(code) < sizeof(x->codes[0]));
	memcpy(x->codes[x->n_codes], code, strlen(code) + 1);
	x->sums[x->n_codes++] = 0;
	CS_ASSERT(exponent <= CS_EXPONENT_MAX);
	switch (x->fmt) {
	case CS_EXPORT_HLEDGER:
		/* a sample amount fixes the decimal mark and the precision; hledger
		 * wants a decimal mark even with no decimals ("1000.") */
		cs_buf_puts(&x->commodities, "commodity 1000.");
		for (i = 0; i < exponent; i++)
			cs_buf_putc(&x->commodities, '0');
		cs_buf_printf(&x->commodities, " %s\n", code);
		break;
	case CS_EXPORT_BEANCOUNT:
		cs_buf_printf(&x->commodities, "%s commodity %s\n", x->run->open_date, code);
		break;
	case CS_EXPORT_CSV:
		break;
	}
}

static int unmappable(const char *account, const char *why, cs_export_format fmt, cs_error *err)
{
	cs_error_set(err, CS_EXIT_USAGE, "account '%s' cannot be written as a %s account", account,
		     fmt == CS_EXPORT_BEANCOUNT ? "beancount" : "hledger");
	cs_error_detail(err, "%s", why);
	cs_error_hint(err, "Export with --format hledger or csv, or name the account so in the "
			   "config of later runs.");
	return -1;
}

int cs_export_declare(cs_export *x, const char *account, int has_party, int64_t party_id,
		      cs_error *err)
{
	const char *why = "";

	if (x->fmt == CS_EXPORT_CSV)
		return 0;
	cs_buf_reset(&x->name);
	if (cs_export_account(&x->name, x->fmt, account, has_party, party_id, &why) < 0)
		return unmappable(account, why, x->fmt, err);
	if (x->n_names == x->cap_names) {
		size_t cap = x->cap_names ? x->cap_names * 2 : 64;
		char **p = realloc(x->names, cap * sizeof(*p));

		CS_ASSERT(p != NULL);
		x->names = p;
		x->cap_names = cap;
	}
	x->names[x->n_names] = malloc(x->name.len + 1);
	CS_ASSERT(x->names[x->n_names] != NULL);
	memcpy(x->names[x->n_names], x->name.data, x->name.len + 1);
	x->n_names++;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Text of a tag value or metadata string: one line, no comma (hledger ends a
 * tag value at a comma). */
static void put_tag_value(cs_buf *out, const char *s)
{
	for (; *s; s++)
		cs_buf_putc(out, (unsigned char)*s < 0x20 || *s == 0x7f || *s == ',' ? '_' : *s);
}

/* A beancount string: backslash and double quote escaped, one line. */
static void put_bean_string(cs_buf *out, const char *s)
{
	cs_buf_putc(out, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			cs_buf_putc(out, '\\');
		cs_buf_putc(out, (unsigned char)*s < 0x20 || *s == 0x7f ? ' ' : *s);
	}
	cs_buf_putc(out, '"');
}

/* A CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
static void put_csv(cs_buf *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		cs_buf_puts(out, s);
		return;
	}
	cs_buf_putc(out, '"');
	for (; *s; s++) {
		if (*s == '"')
			cs_buf_putc(out, '"');
		cs_buf_putc(out, *s);
	}
	cs_buf_putc(out, '"');
}

int cs_export_begin(cs_export *x, cs_error *err)
{
	const cs_export_run *r = x->run;
	cs_buf *o = x->out;
	size_t i;

	if (x->n_names > 1) {
		qsort(x->names, x->n_names, sizeof(char *), name_cmp);
		for (i = 1; i < x->n_names; i++) {
			if (strcmp(x->names[i - 1], x->names[i]) == 0) {
				cs_error_set(err, CS_EXIT_USAGE,
					     "two accounts of run %lld map to the same %s account '%s'",
					     (long long)r->id,
					     x->fmt == CS_EXPORT_BEANCOUNT ? "beancount" : "hledger",
					     x->names[i]);
				cs_error_hint(err, "Export with --format csv, which keeps account "
						   "names as they are.");
				return -1;
			}
		}
	}
	switch (x->fmt) {
	case CS_EXPORT_HLEDGER:
		cs_buf_printf(o, "; coopsettle %s run %lld (%s)", r->kind, (long long)r->id, r->status);
		if (r->supersedes)
			cs_buf_printf(o, ", supersedes run %lld", (long long)r->supersedes);
		cs_buf_puts(o, "\n; cooperative: ");
		put_tag_value(o, r->cooperative);
		cs_buf_printf(o,
			      "\n; window: [%s, %s)\n; config_sha256: %s\n; input_sha256: %s\n"
			      "; output_sha256: %s\n; record_sha256: %s\n\ndecimal-mark .\n",
			      r->from_text, r->to_text, r->config_sha256, r->input_sha256,
			      r->output_sha256, r->record_sha256);
		cs_buf_puts(o, x->commodities.data ? x->commodities.data : "");
		for (i = 0; i < x->n_names; i++)
			cs_buf_printf(o, "account %s\n", x->names[i]);
		break;
	case CS_EXPORT_BEANCOUNT:
		cs_buf_printf(o, "; coopsettle %s run %lld (%s)", r->kind, (long long)r->id, r->status);
		if (r->supersedes)
			cs_buf_printf(o, ", supersedes run %lld", (long long)r->supersedes);
		cs_buf_printf(o, "\n; window: [%s, %s)\n\noption \"title\" ", r->from_text, r->to_text);
		put_bean_string(o, r->cooperative);
		cs_buf_putc(o, '\n');
		cs_buf_puts(o, x->commodities.data ? x->commodities.data : "");
		for (i = 0; i < x->n_names; i++)
			cs_buf_printf(o, "%s open %s\n", r->open_date, x->names[i]);
		cs_buf_printf(o,
			      "%s custom \"coopsettle-run\" %lld \"%s\" \"%s\" \"%s\" \"%s\" \"%s\" "
			      "\"%s\"\n",
			      r->date, (long long)r->id, r->kind, r->status, r->config_sha256,
			      r->input_sha256, r->output_sha256, r->record_sha256);
		break;
	case CS_EXPORT_CSV:
		cs_buf_puts(o, "run_id,kind,entry,journal,line_no,date,transaction_id,rule_id,"
			       "account,party_id,currency,amount,amount_minor,record_sha256\n");
		break;
	}
	return 0;
}

/* The head of a new journal transaction. */
static void journal_head(cs_export *x, const cs_export_line *l)
{
	const cs_export_run *r = x->run;
	cs_buf *o = x->out;
	int settle = strcmp(r->kind, "settle") == 0;
	const char *date = l->posted_on ? l->posted_on : r->date;
	char what[160];

	if (settle && l->has_transaction)
		snprintf(what, sizeof(what), "%stransaction %lld", l->reversal ? "reversal of " : "",
			 (long long)l->transaction_id);
	else if (settle)
		snprintf(what, sizeof(what), "%sjournal %lld", l->reversal ? "reversal of " : "",
			 (long long)l->journal);
	else
		snprintf(what, sizeof(what), "%s%s surplus", l->reversal ? "reversal of " : "",
			 l->currency);
	if (x->fmt == CS_EXPORT_HLEDGER) {
		cs_buf_printf(o, "\n%s * %s run %lld: %s  ; run:%lld, kind:%s, entry:%s, journal:%lld",
			      date, r->kind, (long long)r->id, what, (long long)r->id, r->kind,
			      l->reversal ? "reversal" : "post", (long long)l->journal);
		if (l->reversal && r->supersedes)
			cs_buf_printf(o, ", reverses:%lld", (long long)r->supersedes);
		if (settle && l->has_transaction)
			cs_buf_printf(o, ", transaction:%lld", (long long)l->transaction_id);
		if (settle && l->rule_id) {
			cs_buf_puts(o, ", rule:");
			put_tag_value(o, l->rule_id);
		}
		cs_buf_putc(o, '\n');
	} else {
		cs_buf_printf(o, "\n%s * \"%s run %lld: %s\"\n  run: %lld\n  kind: \"%s\"\n"
				 "  entry: \"%s\"\n  journal: %lld\n",
			      date, r->kind, (long long)r->id, what, (long long)r->id, r->kind,
			      l->reversal ? "reversal" : "post", (long long)l->journal);
		if (l->reversal && r->supersedes)
			cs_buf_printf(o, "  reverses: %lld\n", (long long)r->supersedes);
		if (settle && l->has_transaction)
			cs_buf_printf(o, "  transaction: %lld\n", (long long)l->transaction_id);
		if (settle && l->rule_id) {
			cs_buf_puts(o, "  rule: ");
			put_bean_string(o, l->rule_id);
			cs_buf_putc(o, '\n');
		}
	}
}

/* Checks that the journal just written balances in every currency. */
static int journal_close(cs_export *x, cs_error *err)
{
	size_t c;

	for (c = 0; c < x->n_codes; c++) {
		if (x->sums[c] != 0) {
			char sum[48];

			cs_i128_format(sum, x->sums[c]);
			cs_error_set(err, CS_EXIT_VERIFY,
				     "%s journal %lld of run %lld does not balance: its %s lines sum to "
				     "%s minor units",
				     x->cur_reversal ? "reversal" : "posted", (long long)x->cur_journal,
				     (long long)x->run->id, x->codes[c], sum);
			cs_error_hint(err, "The stored lines were changed after the run: run "
					   "'coopsettle verify --run %lld'.",
				      (long long)x->run->id);
			return -1;
		}
	}
	memset(x->sums, 0, sizeof(x->sums));
	return 0;
}

int cs_export_line_put(cs_export *x, const cs_export_line *l, cs_error *err)
{
	const cs_export_run *r = x->run;
	cs_buf *o = x->out;
	char amount[CS_AMOUNT_TEXT_BYTES], num[48];
	const char *why = "";
	size_t c;
	int settle = strcmp(r->kind, "settle") == 0;

	for (c = 0; c < x->n_codes && strcmp(x->codes[c], l->currency) != 0; c++)
		;
	CS_ASSERT(c < x->n_codes); /* the caller declares every currency of the lines */
	if (x->in_journal && (x->cur_reversal != l->reversal || x->cur_journal != l->journal)) {
		if (journal_close(x, err) < 0)
			return -1;
		x->in_journal = 0;
	}
	x->sums[c] += l->amount_minor; /* the caller bounds amounts below 2^100 */
	x->lines++;
	cs_amount_format(amount, l->amount_minor, l->exponent);
	if (x->fmt == CS_EXPORT_CSV) {
		cs_buf_printf(o, "%lld,%s,%s,%lld,%lld,%s,", (long long)r->id, r->kind,
			      l->reversal ? "reversal" : "post", (long long)l->journal,
			      (long long)l->line_no, l->posted_on ? l->posted_on : r->date);
		if (l->has_transaction)
			cs_buf_printf(o, "%lld", (long long)l->transaction_id);
		cs_buf_putc(o, ',');
		put_csv(o, l->rule_id ? l->rule_id : "");
		cs_buf_putc(o, ',');
		put_csv(o, l->account);
		cs_buf_putc(o, ',');
		if (l->has_party)
			cs_buf_printf(o, "%lld", (long long)l->party_id);
		cs_i128_format(num, l->amount_minor);
		cs_buf_printf(o, ",%s,%s,%s,%s\n", l->currency, amount, num, r->record_sha256);
		x->in_journal = 1;
		x->cur_reversal = l->reversal;
		x->cur_journal = l->journal;
		return 0;
	}
	if (!x->in_journal) {
		journal_head(x, l);
		x->in_journal = 1;
		x->cur_reversal = l->reversal;
		x->cur_journal = l->journal;
	}
	cs_buf_reset(&x->name);
	if (cs_export_account(&x->name, x->fmt, l->account, l->has_party, l->party_id, &why) < 0)
		return unmappable(l->account, why, x->fmt, err);
	if (x->fmt == CS_EXPORT_HLEDGER) {
		cs_buf_printf(o, "    %-40s  %20s %s", x->name.data, amount, l->currency);
		if (!settle && l->rule_id) {
			cs_buf_puts(o, "  ; step:");
			put_tag_value(o, l->rule_id);
		}
		cs_buf_putc(o, '\n');
	} else {
		cs_buf_printf(o, "  %-40s  %20s %s\n", x->name.data, amount, l->currency);
		cs_buf_printf(o, "    line: %lld\n", (long long)l->line_no);
		if (!settle && l->rule_id) {
			cs_buf_puts(o, "    step: ");
			put_bean_string(o, l->rule_id);
			cs_buf_putc(o, '\n');
		}
	}
	return 0;
}

int cs_export_end(cs_export *x, cs_error *err)
{
	return x->in_journal ? journal_close(x, err) : 0;
}
