/*
 * export.c -- ledger lines as hledger, beancount, CSV or DATEV text (see
 * export.h and docs/exports.md).
 */
#include "coopsettle/export.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/amount.h"
#include "coopsettle/hash.h"
#include "coopsettle/limits.h"

/* DATEV: characters of Buchungstext and of Belegfeld 1, and the integer
 * digits an amount (Umsatz) may have (docs/exports.md, "DATEV"). */
#define DATEV_TEXT_MAX 60
#define DATEV_BELEG_MAX 36
#define DATEV_AMOUNT_DIGITS_MAX 10
/* DATEV: the digits of an account number (Konto, Gegenkonto). */
#define DATEV_KONTO_DIGITS_MAX 9

/* An engine account as the export writes it. */
typedef struct export_acct {
	char *engine;
	cs_export_root root;
	char *name; /* its name in the format, without a party */
	int mapped; /* the account map named it */
} export_acct;

/* An (account, party) the lines use: hledger and beancount declare each. */
typedef struct export_use {
	size_t acct;
	int has_party;
	int64_t party;
} export_use;

struct cs_export {
	const cs_export_opts *o;
	cs_buf *out;
	const cs_export_run **runs;
	size_t n_runs, cap_runs;
	cs_buf commodities; /* declarations, written by begin */
	export_acct *accts;
	size_t n_accts, cap_accts;
	export_use *uses;
	size_t n_uses, cap_uses;
	/* the journal being written */
	int in_journal;
	const cs_export_run *cur_run;
	int cur_reversal;
	int64_t cur_journal;
	char cur_day[16];
	char cur_currency[16];
	size_t first_acct; /* datev: the account of the journal's first line */
	/* per-currency sums of the journal being written: it must balance */
	char codes[CS_CURRENCIES_MAX][16];
	cs_i128 sums[CS_CURRENCIES_MAX];
	size_t n_codes;
	cs_buf name, text; /* scratch */
};

static const char *const root_names[] = {"Assets", "Liabilities", "Equity", "Income", "Expenses"};

int cs_export_format_parse(const char *name, cs_export_format *out)
{
	if (strcmp(name, "hledger") == 0)
		*out = CS_EXPORT_HLEDGER;
	else if (strcmp(name, "beancount") == 0)
		*out = CS_EXPORT_BEANCOUNT;
	else if (strcmp(name, "csv") == 0)
		*out = CS_EXPORT_CSV;
	else if (strcmp(name, "datev") == 0)
		*out = CS_EXPORT_DATEV;
	else
		return -1;
	return 0;
}

static int named(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* The root of the account key k (config.h) */
static cs_export_root key_root(int k)
{
	switch (k) {
	case CS_ACCOUNT_CLEARING:
		return CS_ROOT_ASSETS;
	case CS_ACCOUNT_FEE_INCOME:
		return CS_ROOT_INCOME;
	case CS_ACCOUNT_PRODUCER_PAYABLE:
	case CS_ACCOUNT_CAPITAL_INTEREST:
	case CS_ACCOUNT_PATRONAGE_CASH:
	case CS_ACCOUNT_WITHHOLDING:
	case CS_ACCOUNT_VAT:
		return CS_ROOT_LIABILITIES;
	default:
		return CS_ROOT_EQUITY; /* capital, reserves, surplus, loss carried */
	}
}

int cs_export_root_find(const cs_config *cfg, const char *account, cs_export_root *root)
{
	size_t i, r, f;
	int k;

	for (k = 0; k < CS_ACCOUNT_COUNT; k++)
		if (named(cfg->accounts[k], account)) {
			*root = key_root(k);
			return 1;
		}
	*root = CS_ROOT_LIABILITIES;
	for (i = 0; i < cfg->n_vat_accounts; i++)
		if (named(cfg->vat_accounts[i], account))
			return 1;
	for (r = 0; r < cfg->n_rules; r++)
		for (f = 0; f < cfg->rules[r].n_funds; f++)
			if (named(cfg->rules[r].funds[f].account, account))
				return 1;
	*root = CS_ROOT_EQUITY;
	for (i = 0; i < cfg->n_steps; i++)
		if (named(cfg->steps[i].account, account))
			return 1;
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

static void hledger_name(cs_buf *out, const char *name)
{
	size_t i, n = strlen(name);

	for (i = 0; i < n; i++) {
		char c = name[i];

		if ((unsigned char)c < 0x20 || c == 0x7f)
			c = '_';
		else if (c == ' ' && (i == 0 || i + 1 == n || name[i - 1] == ' '))
			c = '_';
		else if (i == 0 && (c == '(' || c == '['))
			c = '_';
		cs_buf_putc(out, c);
	}
}

/* A beancount name: the components of name, root's name in front when the
 * first is not one of the five roots. */
static void beancount_name(cs_buf *out, const char *name, cs_export_root root)
{
	const char *p = name, *colon;
	size_t start = out->len, first_len = 0, k;
	int is_root = 0;

	for (;;) {
		colon = strchr(p, ':');
		if (out->len > start)
			cs_buf_putc(out, ':');
		bean_component(out, p, colon ? (size_t)(colon - p) : strlen(p));
		if (!first_len)
			first_len = out->len - start;
		if (!colon)
			break;
		p = colon + 1;
	}
	for (k = 0; k < sizeof(root_names) / sizeof(root_names[0]); k++)
		if (strlen(root_names[k]) == first_len &&
		    memcmp(out->data + start, root_names[k], first_len) == 0)
			is_root = 1;
	if (!is_root) {
		size_t n = out->len - start, r = strlen(root_names[root]) + 1;

		cs_buf_grow(out, r);
		memmove(out->data + start + r, out->data + start, n);
		memcpy(out->data + start, root_names[root], r - 1);
		out->data[start + r - 1] = ':';
		out->len += r;
		out->data[out->len] = '\0';
	}
}

void cs_export_account(cs_buf *out, cs_export_format fmt, const char *name, cs_export_root root,
		       int has_party, int64_t party_id)
{
	switch (fmt) {
	case CS_EXPORT_CSV:
	case CS_EXPORT_DATEV:
		cs_buf_puts(out, name);
		return;
	case CS_EXPORT_HLEDGER:
		hledger_name(out, name);
		break;
	case CS_EXPORT_BEANCOUNT:
		beancount_name(out, name, root);
		break;
	}
	if (has_party)
		party_component(out, fmt, party_id);
}

/* ---- Windows-1252 ---- */

/* The code points of bytes 0x80..0x9f in Windows-1252 (0: none). */
static const unsigned cp1252_high[32] = {
	0x20ac, 0,	0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021, 0x02c6, 0x2030, 0x0160,
	0x2039, 0x0152, 0,	0x017d, 0,	0,	0x2018, 0x2019, 0x201c, 0x201d, 0x2022,
	0x2013, 0x2014, 0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,	0x017e, 0x0178,
};

/* Decodes one UTF-8 character of s; returns its length (at least 1) and
 * sets *cp, or 0xfffd for a malformed sequence. */
static size_t utf8_next(const unsigned char *s, unsigned *cp)
{
	size_t n, i;
	unsigned c = s[0], min;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0)
		n = 2, c &= 0x1f, min = 0x80;
	else if ((c & 0xf0) == 0xe0)
		n = 3, c &= 0x0f, min = 0x800;
	else if ((c & 0xf8) == 0xf0)
		n = 4, c &= 0x07, min = 0x10000;
	else {
		*cp = 0xfffd;
		return 1;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			*cp = 0xfffd;
			return i;
		}
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c < min || c > 0x10ffff ? 0xfffd : c;
	return n;
}

void cs_export_cp1252(cs_buf *out, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned cp, k;
		char c = '?';

		p += utf8_next(p, &cp);
		if (cp < 0x20 || cp == 0x7f)
			c = ' ';
		else if (cp < 0x80 || (cp >= 0xa0 && cp <= 0xff))
			c = (char)cp;
		else
			for (k = 0; k < 32; k++)
				if (cp1252_high[k] == cp)
					c = (char)(0x80 + k);
		cs_buf_putc(out, c);
	}
}

/* ---- the export ---- */

cs_export *cs_export_new(const cs_export_opts *o, cs_buf *out)
{
	cs_export *x = calloc(1, sizeof(*x));

	CS_ASSERT(x != NULL);
	x->o = o;
	x->out = out;
	cs_buf_init(&x->commodities);
	cs_buf_init(&x->name);
	cs_buf_init(&x->text);
	return x;
}

void cs_export_free(cs_export *x)
{
	size_t i;

	if (!x)
		return;
	for (i = 0; i < x->n_accts; i++) {
		free(x->accts[i].engine);
		free(x->accts[i].name);
	}
	free(x->accts);
	free(x->uses);
	free(x->runs);
	cs_buf_free(&x->commodities);
	cs_buf_free(&x->name);
	cs_buf_free(&x->text);
	free(x);
}

/* Grows *items (of size bytes each) to hold one more than n. */
static void *grow(void *items, size_t n, size_t *cap, size_t size)
{
	if (n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		items = realloc(items, *cap * size);
		CS_ASSERT(items != NULL);
	}
	return items;
}

static char *dup_text(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	CS_ASSERT(d != NULL);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void cs_export_add_run(cs_export *x, const cs_export_run *run)
{
	x->runs = grow(x->runs, x->n_runs, &x->cap_runs, sizeof(*x->runs));
	x->runs[x->n_runs++] = run;
}

void cs_export_commodity(cs_export *x, const char *code, unsigned exponent)
{
	const cs_export_run *r0 = x->n_runs ? x->runs[0] : NULL;
	unsigned i;

	CS_ASSERT(x->n_codes < CS_CURRENCIES_MAX && strlen(code) < sizeof(x->codes[0]));
	memcpy(x->codes[x->n_codes], code, strlen(code) + 1);
	x->sums[x->n_codes++] = 0;
	CS_ASSERT(exponent <= CS_EXPONENT_MAX);
	switch (x->o->fmt) {
	case CS_EXPORT_HLEDGER:
		/* a sample amount fixes the decimal mark and the precision; hledger
		 * wants a decimal mark even with no decimals ("1000.") */
		cs_buf_puts(&x->commodities, "commodity 1000.");
		for (i = 0; i < exponent; i++)
			cs_buf_putc(&x->commodities, '0');
		cs_buf_printf(&x->commodities, " %s\n", code);
		break;
	case CS_EXPORT_BEANCOUNT:
		cs_buf_printf(&x->commodities, "%s commodity %s\n",
			      x->o->open_date ? x->o->open_date
			      : r0	      ? r0->open_date
					      : "1970-01-01",
			      code);
		break;
	case CS_EXPORT_CSV:
	case CS_EXPORT_DATEV:
		break;
	}
}

static long find_acct(const cs_export *x, const char *account)
{
	size_t i;

	for (i = 0; i < x->n_accts; i++)
		if (strcmp(x->accts[i].engine, account) == 0)
			return (long)i;
	return -1;
}

/* A DATEV account number: 1 to 9 digits. */
static int datev_konto_ok(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > DATEV_KONTO_DIGITS_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return 0;
	return 1;
}

int cs_export_declare(cs_export *x, const char *account, cs_export_root root, cs_error *err)
{
	const char *mapped = x->o->map ? cs_accounts_map_find(x->o->map, account) : NULL;
	export_acct *a;

	if (find_acct(x, account) >= 0)
		return 0;
	if (x->o->fmt == CS_EXPORT_DATEV && !mapped) {
		cs_error_set(err, CS_EXIT_USAGE,
			     "the account map gives no DATEV account number for '%s'", account);
		cs_error_hint(err,
			      "Add it under 'accounts' in the --accounts file, as \"%s\": "
			      "\"NNNN\" (docs/exports.md; config/accounts-skr03.yaml).",
			      account);
		return -1;
	}
	if (x->o->fmt == CS_EXPORT_DATEV && !datev_konto_ok(mapped)) {
		cs_error_set(err, CS_EXIT_USAGE,
			     "the account map gives '%s' the DATEV account '%s', which is not 1 to "
			     "%d digits",
			     account, mapped, DATEV_KONTO_DIGITS_MAX);
		return -1;
	}
	x->accts = grow(x->accts, x->n_accts, &x->cap_accts, sizeof(*x->accts));
	a = &x->accts[x->n_accts++];
	a->engine = dup_text(account, strlen(account));
	a->root = root;
	a->mapped = mapped != NULL;
	cs_buf_reset(&x->name);
	cs_export_account(&x->name, x->o->fmt, mapped ? mapped : account, root, 0, 0);
	a->name = dup_text(x->name.data ? x->name.data : "", x->name.len);
	return 0;
}

void cs_export_declare_party(cs_export *x, const char *account, int has_party, int64_t party_id)
{
	long i = find_acct(x, account);
	export_use *u;

	CS_ASSERT(i >= 0); /* the caller declares the account first */
	x->uses = grow(x->uses, x->n_uses, &x->cap_uses, sizeof(*x->uses));
	u = &x->uses[x->n_uses++];
	u->acct = (size_t)i;
	u->has_party = has_party;
	u->party = has_party ? party_id : 0;
}

/* ---- names made distinct ---- */

static int acct_name_cmp(const void *a, const void *b)
{
	const export_acct *const *p = a, *const *q = b;
	int c = strcmp((*p)->name, (*q)->name);

	return c ? c : strcmp((*p)->engine, (*q)->engine);
}

/* Two engine accounts the map did not name may come out as one name (a
 * beancount name keeps fewer characters): each of them gets "-" and 8 hex
 * digits of the SHA-256 of its engine name appended, so that no two are
 * merged and a name does not depend on the other accounts of the export.
 * Accounts the map gives one name are merged: that is what a map is for. */
static void distinct_names(cs_export *x)
{
	export_acct **order;
	size_t i, j;

	if (x->n_accts < 2)
		return;
	order = malloc(x->n_accts * sizeof(*order));
	CS_ASSERT(order != NULL);
	for (i = 0; i < x->n_accts; i++)
		order[i] = &x->accts[i];
	qsort(order, x->n_accts, sizeof(*order), acct_name_cmp);
	for (i = 0; i < x->n_accts; i = j) {
		int unmapped = 0;

		for (j = i; j < x->n_accts && strcmp(order[j]->name, order[i]->name) == 0; j++)
			unmapped |= !order[j]->mapped;
		if (j - i < 2 || !unmapped)
			continue;
		for (; i < j; i++) {
			char hex[65];
			size_t n = strlen(order[i]->name);
			char *name = malloc(n + 10);

			CS_ASSERT(name != NULL);
			cs_sha256_hex(order[i]->engine, strlen(order[i]->engine), hex);
			snprintf(name, n + 10, "%s-%.8s", order[i]->name, hex);
			free(order[i]->name);
			order[i]->name = name;
		}
	}
	free(order);
}

/* The full name of use u (account and party) into out. */
static void use_name(const cs_export *x, cs_buf *out, const export_use *u)
{
	cs_buf_puts(out, x->accts[u->acct].name);
	if (u->has_party)
		party_component(out, x->o->fmt, u->party);
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The declared names, sorted, each once, written as format writes them. */
static void write_declarations(cs_export *x, const char *format, const char *date)
{
	char **names = malloc((x->n_uses + 1) * sizeof(*names));
	size_t i;

	CS_ASSERT(names != NULL);
	for (i = 0; i < x->n_uses; i++) {
		cs_buf_reset(&x->name);
		use_name(x, &x->name, &x->uses[i]);
		names[i] = dup_text(x->name.data, x->name.len);
	}
	if (x->n_uses > 1)
		qsort(names, x->n_uses, sizeof(*names), str_cmp);
	for (i = 0; i < x->n_uses; i++) {
		if (i == 0 || strcmp(names[i - 1], names[i]) != 0) {
			if (date)
				cs_buf_printf(x->out, format, date, names[i]);
			else
				cs_buf_printf(x->out, format, names[i]);
		}
	}
	for (i = 0; i < x->n_uses; i++)
		free(names[i]);
	free(names);
}

/* ---- text ---- */

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

/* A DATEV text field: Windows-1252, at most max bytes, in double quotes
 * (a quote doubled). */
static void put_datev_text(cs_export *x, const char *s, size_t max)
{
	size_t i;

	cs_buf_reset(&x->text);
	cs_export_cp1252(&x->text, s);
	cs_buf_putc(x->out, '"');
	for (i = 0; i < x->text.len && i < max; i++) {
		if (x->text.data[i] == '"')
			cs_buf_putc(x->out, '"');
		cs_buf_putc(x->out, x->text.data[i]);
	}
	cs_buf_putc(x->out, '"');
}

/* ---- headers ---- */

static void run_summary(cs_buf *o, const cs_export_run *r, const char *prefix)
{
	cs_buf_printf(o, "%scoopsettle %s run %lld (%s)", prefix, r->kind, (long long)r->id,
		      r->status);
	if (r->supersedes)
		cs_buf_printf(o, ", supersedes run %lld", (long long)r->supersedes);
}

static void hledger_header(cs_export *x)
{
	const cs_export_opts *o = x->o;
	cs_buf *out = x->out;
	size_t i;

	if (!o->period_first) {
		const cs_export_run *r = x->runs[0];

		run_summary(out, r, "; ");
		cs_buf_puts(out, "\n; cooperative: ");
		put_tag_value(out, r->cooperative);
		cs_buf_printf(out,
			      "\n; window: [%s, %s)\n; config_sha256: %s\n; input_sha256: %s\n"
			      "; output_sha256: %s\n; record_sha256: %s\n",
			      r->from_text, r->to_text, r->config_sha256, r->input_sha256,
			      r->output_sha256, r->record_sha256);
	} else {
		cs_buf_printf(out, "; coopsettle export of %s to %s: %zu runs%s\n; cooperative: ",
			      o->period_first, o->period_last, x->n_runs,
			      o->group_day ? ", lines summed per day" : "");
		put_tag_value(out, o->cooperative ? o->cooperative : "");
		cs_buf_putc(out, '\n');
		for (i = 0; i < x->n_runs; i++) {
			const cs_export_run *r = x->runs[i];

			run_summary(out, r, "; ");
			cs_buf_printf(out,
				      ", window [%s, %s)\n;   config_sha256 %s input_sha256 %s\n"
				      ";   output_sha256 %s record_sha256 %s\n",
				      r->from_text, r->to_text, r->config_sha256, r->input_sha256,
				      r->output_sha256, r->record_sha256);
		}
	}
	cs_buf_puts(out, "\ndecimal-mark .\n");
	cs_buf_puts(out, x->commodities.data ? x->commodities.data : "");
	write_declarations(x, "account %s\n", NULL);
}

static void beancount_header(cs_export *x)
{
	const cs_export_opts *o = x->o;
	const cs_export_run *r0 = x->runs[0];
	const char *open = o->open_date ? o->open_date : r0->open_date;
	cs_buf *out = x->out;
	size_t i;

	if (!o->period_first) {
		run_summary(out, r0, "; ");
		cs_buf_printf(out, "\n; window: [%s, %s)\n\noption \"title\" ", r0->from_text,
			      r0->to_text);
		put_bean_string(out, r0->cooperative);
	} else {
		cs_buf_printf(out,
			      "; coopsettle export of %s to %s: %zu runs%s\n\noption \"title\" ",
			      o->period_first, o->period_last, x->n_runs,
			      o->group_day ? ", lines summed per day" : "");
		put_bean_string(out, o->cooperative ? o->cooperative : "");
	}
	cs_buf_putc(out, '\n');
	cs_buf_puts(out, x->commodities.data ? x->commodities.data : "");
	write_declarations(x, "%s open %s\n", open);
	for (i = 0; i < x->n_runs; i++) {
		const cs_export_run *r = x->runs[i];

		cs_buf_printf(out,
			      "%s custom \"coopsettle-run\" %lld \"%s\" \"%s\" \"%s\" \"%s\" \"%s\" "
			      "\"%s\"\n",
			      r->date, (long long)r->id, r->kind, r->status, r->config_sha256,
			      r->input_sha256, r->output_sha256, r->record_sha256);
	}
}

/* The booking columns of format version 13, in order (docs/exports.md). */
static const char datev_columns[] =
	"Umsatz (ohne Soll/Haben-Kz);Soll/Haben-Kennzeichen;WKZ Umsatz;Kurs;Basis-Umsatz;"
	"WKZ Basis-Umsatz;Konto;Gegenkonto (ohne BU-Schlüssel);BU-Schlüssel;Belegdatum;"
	"Belegfeld 1;Belegfeld 2;Skonto;Buchungstext;Postensperre;Diverse Adressnummer;"
	"Geschäftspartnerbank;Sachverhalt;Zinssperre;Beleglink;Beleginfo - Art 1;"
	"Beleginfo - Inhalt 1;Beleginfo - Art 2;Beleginfo - Inhalt 2;Beleginfo - Art 3;"
	"Beleginfo - Inhalt 3;Beleginfo - Art 4;Beleginfo - Inhalt 4;Beleginfo - Art 5;"
	"Beleginfo - Inhalt 5;Beleginfo - Art 6;Beleginfo - Inhalt 6;Beleginfo - Art 7;"
	"Beleginfo - Inhalt 7;Beleginfo - Art 8;Beleginfo - Inhalt 8;KOST1 - Kostenstelle;"
	"KOST2 - Kostenstelle;Kost-Menge;EU-Land u. UStID (Bestimmung);"
	"EU-Steuersatz (Bestimmung);Abw. Versteuerungsart;Sachverhalt L+L;"
	"Funktionsergänzung L+L;BU 49 Hauptfunktionstyp;BU 49 Hauptfunktionsnummer;"
	"BU 49 Funktionsergänzung;"
	"Zusatzinformation - Art 1;Zusatzinformation- Inhalt 1;"
	"Zusatzinformation - Art 2;Zusatzinformation- Inhalt 2;"
	"Zusatzinformation - Art 3;Zusatzinformation- Inhalt 3;"
	"Zusatzinformation - Art 4;Zusatzinformation- Inhalt 4;"
	"Zusatzinformation - Art 5;Zusatzinformation- Inhalt 5;"
	"Zusatzinformation - Art 6;Zusatzinformation- Inhalt 6;"
	"Zusatzinformation - Art 7;Zusatzinformation- Inhalt 7;"
	"Zusatzinformation - Art 8;Zusatzinformation- Inhalt 8;"
	"Zusatzinformation - Art 9;Zusatzinformation- Inhalt 9;"
	"Zusatzinformation - Art 10;Zusatzinformation- Inhalt 10;"
	"Zusatzinformation - Art 11;Zusatzinformation- Inhalt 11;"
	"Zusatzinformation - Art 12;Zusatzinformation- Inhalt 12;"
	"Zusatzinformation - Art 13;Zusatzinformation- Inhalt 13;"
	"Zusatzinformation - Art 14;Zusatzinformation- Inhalt 14;"
	"Zusatzinformation - Art 15;Zusatzinformation- Inhalt 15;"
	"Zusatzinformation - Art 16;Zusatzinformation- Inhalt 16;"
	"Zusatzinformation - Art 17;Zusatzinformation- Inhalt 17;"
	"Zusatzinformation - Art 18;Zusatzinformation- Inhalt 18;"
	"Zusatzinformation - Art 19;Zusatzinformation- Inhalt 19;"
	"Zusatzinformation - Art 20;Zusatzinformation- Inhalt 20;"
	"Stück;Gewicht;Zahlweise;Forderungsart;Veranlagungsjahr;Zugeordnete Fälligkeit;"
	"Skontotyp;Auftragsnummer;Buchungstyp;USt-Schlüssel (Anzahlungen);"
	"EU-Land (Anzahlungen);Sachverhalt L+L (Anzahlungen);EU-Steuersatz (Anzahlungen);"
	"Erlöskonto (Anzahlungen);Herkunft-Kz;Buchungs GUID;KOST-Datum;"
	"SEPA-Mandatsreferenz;Skontosperre;Gesellschaftername;Beteiligtennummer;"
	"Identifikationsnummer;Zeichnernummer;Postensperre bis;"
	"Bezeichnung SoBil-Sachverhalt;Kennzeichen SoBil-Buchung;Festschreibung;"
	"Leistungsdatum;Datum Zuord. Steuerperiode;Fälligkeit;Generalumkehr (GU);"
	"Steuersatz;Land;Abrechnungsreferenz;BVV-Position;EU-Land u. UStID (Ursprung);"
	"EU-Steuersatz (Ursprung);Abw. Skontokonto";
/* The columns of a booking row. */
#define DATEV_COLUMNS 125

/* YYYYMMDD of YYYY-MM-DD. */
static void compact_date(char out[9], const char *iso)
{
	memcpy(out, iso, 4);
	memcpy(out + 4, iso + 5, 2);
	memcpy(out + 6, iso + 8, 2);
	out[8] = '\0';
}

/* The header line (31 fields of header version 700) and the column line. */
static void datev_header(cs_export *x)
{
	const cs_export_opts *o = x->o;
	const cs_export_datev *d = &o->datev;
	char from[9], to[9], label[64];
	cs_buf *out = x->out;

	CS_ASSERT(o->period_first && o->period_last);
	compact_date(from, o->period_first);
	compact_date(to, o->period_last);
	cs_buf_printf(out,
		      "\"EXTF\";700;21;\"Buchungsstapel\";13;%s;;\"RE\";\"coopsettle\";\"\";"
		      "%lld;%lld;%s;%u;%s;%s;",
		      d->created, (long long)d->consultant, (long long)d->client, d->fy_start,
		      d->account_length, from, to);
	snprintf(label, sizeof(label), "coopsettle %s-%s", from, to);
	put_datev_text(x, label, 30);
	cs_buf_puts(out, ";\"\";1;0;0;");
	put_datev_text(x, d->currency, 3);
	cs_buf_puts(out, ";;\"\";;;");
	put_datev_text(x, d->chart ? d->chart : "", 2);
	cs_buf_puts(out, ";;;;\"\"\r\n");
	cs_buf_reset(&x->text);
	cs_export_cp1252(&x->text, datev_columns);
	cs_buf_put(out, x->text.data, x->text.len);
	cs_buf_puts(out, "\r\n");
}

int cs_export_begin(cs_export *x, cs_error *err)
{
	(void)err;
	CS_ASSERT(x->n_runs >= 1 || x->o->period_first);
	distinct_names(x);
	switch (x->o->fmt) {
	case CS_EXPORT_HLEDGER:
		hledger_header(x);
		break;
	case CS_EXPORT_BEANCOUNT:
		if (x->n_runs == 0) /* nothing in the period: a valid, empty file */
			cs_buf_printf(x->out, "; coopsettle export of %s to %s: no runs\n",
				      x->o->period_first, x->o->period_last);
		else
			beancount_header(x);
		break;
	case CS_EXPORT_CSV:
		cs_buf_puts(x->out, "run_id,kind,entry,journal,line_no,date,transaction_id,rule_id,"
				    "account,party_id,currency,amount,amount_minor,debit,credit,"
				    "record_sha256\n");
		break;
	case CS_EXPORT_DATEV:
		datev_header(x);
		break;
	}
	return 0;
}

/* ---- journals ---- */

/* The head of a new journal transaction. */
static void journal_head(cs_export *x, const cs_export_run *r, const cs_export_line *l)
{
	cs_buf *o = x->out;
	int settle, hl = x->o->fmt == CS_EXPORT_HLEDGER;
	const char *date;
	char what[160];

	if (!r) { /* a day's sums */
		if (hl)
			cs_buf_printf(o,
				      "\n%s * coopsettle: the %s lines of %s, summed  ; group:day\n",
				      l->posted_on, l->currency, l->posted_on);
		else
			cs_buf_printf(o,
				      "\n%s * \"coopsettle: the %s lines of %s, summed\"\n"
				      "  group: \"day\"\n",
				      l->posted_on, l->currency, l->posted_on);
		return;
	}
	settle = strcmp(r->kind, "settle") == 0;
	date = l->posted_on ? l->posted_on : r->date;
	if (settle && l->has_transaction)
		snprintf(what, sizeof(what), "%stransaction %lld",
			 l->reversal ? "reversal of " : "", (long long)l->transaction_id);
	else if (settle)
		snprintf(what, sizeof(what), "%sjournal %lld", l->reversal ? "reversal of " : "",
			 (long long)l->journal);
	else
		snprintf(what, sizeof(what), "%s%s surplus", l->reversal ? "reversal of " : "",
			 l->currency);
	if (hl) {
		cs_buf_printf(o,
			      "\n%s * %s run %lld: %s  ; run:%lld, kind:%s, entry:%s, journal:%lld",
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
		cs_buf_printf(o,
			      "\n%s * \"%s run %lld: %s\"\n  run: %lld\n  kind: \"%s\"\n"
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
			if (!x->cur_run) {
				cs_error_set(err, CS_EXIT_VERIFY,
					     "the %s lines posted on %s do not balance: they sum to "
					     "%s minor units",
					     x->codes[c], x->cur_day, sum);
				cs_error_hint(err,
					      "The stored lines were changed after their runs: "
					      "run 'coopsettle verify --chain' and verify each "
					      "run.");
				return -1;
			}
			cs_error_set(err, CS_EXIT_VERIFY,
				     "%s journal %lld of run %lld does not balance: its %s lines sum to "
				     "%s minor units",
				     x->cur_reversal ? "reversal" : "posted",
				     (long long)x->cur_journal, (long long)x->cur_run->id,
				     x->codes[c], sum);
			cs_error_hint(err,
				      "The stored lines were changed after the run: run "
				      "'coopsettle verify --run %lld'.",
				      (long long)x->cur_run->id);
			return -1;
		}
	}
	memset(x->sums, 0, sizeof(x->sums));
	return 0;
}

/* Nonzero when l starts a new journal transaction. */
static int new_journal(const cs_export *x, const cs_export_run *r, const cs_export_line *l)
{
	if (!x->in_journal)
		return 1;
	if (!r)
		return strcmp(x->cur_day, l->posted_on) != 0 ||
		       strcmp(x->cur_currency, l->currency) != 0;
	return x->cur_run != r || x->cur_reversal != l->reversal || x->cur_journal != l->journal;
}

static void csv_row(cs_export *x, const cs_export_run *r, const cs_export_line *l,
		    size_t acct, const char *amount)
{
	cs_buf *o = x->out;
	char num[48];

	if (r)
		cs_buf_printf(o, "%lld,%s,%s,%lld,%lld,%s,", (long long)r->id, r->kind,
			      l->reversal ? "reversal" : "post", (long long)l->journal,
			      (long long)l->line_no, l->posted_on ? l->posted_on : r->date);
	else
		cs_buf_printf(o, ",,,,,%s,", l->posted_on);
	if (l->has_transaction)
		cs_buf_printf(o, "%lld", (long long)l->transaction_id);
	cs_buf_putc(o, ',');
	put_csv(o, l->rule_id ? l->rule_id : "");
	cs_buf_putc(o, ',');
	put_csv(o, x->accts[acct].name);
	cs_buf_putc(o, ',');
	if (l->has_party)
		cs_buf_printf(o, "%lld", (long long)l->party_id);
	cs_i128_format(num, l->amount_minor);
	cs_buf_printf(o, ",%s,%s,%s,", l->currency, amount, num);
	if (l->amount_minor > 0)
		cs_buf_puts(o, amount);
	cs_buf_putc(o, ',');
	if (l->amount_minor < 0)
		cs_buf_puts(o, amount + 1); /* without its '-' */
	cs_buf_printf(o, ",%s\n", r ? r->record_sha256 : "");
}

/* A DATEV amount: the magnitude with a decimal comma. Returns -1 when it
 * has more integer digits than DATEV's Umsatz holds. */
static int datev_amount(char *buf, cs_i128 minor, unsigned exponent)
{
	char *p, *dot;

	cs_amount_format(buf, minor < 0 ? -minor : minor, exponent);
	dot = strchr(buf, '.');
	if ((size_t)((dot ? dot : buf + strlen(buf)) - buf) > DATEV_AMOUNT_DIGITS_MAX)
		return -1;
	for (p = buf; *p; p++)
		if (*p == '.')
			*p = ',';
	return 0;
}

/* A DATEV account number as the number it is (leading zeros dropped). */
static const char *konto_text(const char *digits)
{
	while (digits[0] == '0' && digits[1])
		digits++;
	return digits;
}

/* One DATEV booking row of line l against the journal's first account. */
static int datev_row(cs_export *x, const cs_export_run *r, const cs_export_line *l, size_t acct,
		     cs_error *err)
{
	const cs_export_opts *o = x->o;
	cs_buf *out = x->out;
	char amount[CS_AMOUNT_TEXT_BYTES], text[200], beleg[40];
	int k;

	if (l->amount_minor == 0 ||
	    strcmp(konto_text(x->accts[acct].name), konto_text(x->accts[x->first_acct].name)) == 0)
		return 0; /* nothing to book, or an account against itself: no effect */
	if (datev_amount(amount, l->amount_minor, l->exponent) < 0) {
		cs_error_set(err, CS_EXIT_USAGE,
			     "a line of %s on %s is too large for DATEV: more than %d digits "
			     "before the decimal comma",
			     l->account, l->posted_on, DATEV_AMOUNT_DIGITS_MAX);
		return -1;
	}
	if (strcmp(l->posted_on, o->period_first) < 0 || strcmp(l->posted_on, o->period_last) > 0) {
		cs_error_set(err, CS_EXIT_USAGE,
			     "a line of run %lld is posted on %s, outside %s to %s: DATEV dates "
			     "a booking by day and month within the batch's period",
			     r ? (long long)r->id : 0LL, l->posted_on, o->period_first,
			     o->period_last);
		cs_error_hint(err, "Export the period of that date (--period YYYY): a DATEV file "
				   "takes the lines posted in its period, whatever their run.");
		return -1;
	}
	if (!r)
		snprintf(beleg, sizeof(beleg), "%.4s%.2s%.2s", l->posted_on, l->posted_on + 5,
			 l->posted_on + 8);
	else if (l->has_transaction)
		snprintf(beleg, sizeof(beleg), "%lld", (long long)l->transaction_id);
	else
		snprintf(beleg, sizeof(beleg), "R%lld", (long long)r->id);
	if (!r)
		snprintf(text, sizeof(text), "coopsettle %s", l->posted_on);
	else if (l->has_transaction)
		snprintf(text, sizeof(text), "%srun %lld tx %lld", l->reversal ? "reversal " : "",
			 (long long)r->id, (long long)l->transaction_id);
	else
		snprintf(text, sizeof(text), "%srun %lld %s%s%s", l->reversal ? "reversal " : "",
			 (long long)r->id, r->kind, l->rule_id ? " " : "",
			 l->rule_id ? l->rule_id : "");
	if (l->has_party) {
		size_t n = strlen(text);

		snprintf(text + n, sizeof(text) - n, " party %lld", (long long)l->party_id);
	}
	cs_buf_printf(out, "%s;\"%c\";", amount, l->amount_minor > 0 ? 'S' : 'H');
	put_datev_text(x, l->currency, 3);
	cs_buf_printf(out, ";;;;%s;%s;;%.2s%.2s;", konto_text(x->accts[acct].name),
		      konto_text(x->accts[x->first_acct].name), l->posted_on + 8, l->posted_on + 5);
	put_datev_text(x, beleg, DATEV_BELEG_MAX);
	cs_buf_puts(out, ";;;");
	put_datev_text(x, text, DATEV_TEXT_MAX);
	for (k = 14; k < DATEV_COLUMNS; k++)
		cs_buf_putc(out, ';');
	cs_buf_puts(out, "\r\n");
	return 0;
}

int cs_export_line_put(cs_export *x, const cs_export_run *r, const cs_export_line *l, cs_error *err)
{
	char amount[CS_AMOUNT_TEXT_BYTES];
	long acct = find_acct(x, l->account);
	size_t c;
	int settle = r && strcmp(r->kind, "settle") == 0;

	CS_ASSERT(acct >= 0); /* the caller declares every account of the lines */
	for (c = 0; c < x->n_codes && strcmp(x->codes[c], l->currency) != 0; c++)
		;
	CS_ASSERT(c < x->n_codes); /* the caller declares every currency of the lines */
	if (new_journal(x, r, l)) {
		if (x->in_journal && journal_close(x, err) < 0)
			return -1;
		x->in_journal = 1;
		x->cur_run = r;
		x->cur_reversal = l->reversal;
		x->cur_journal = l->journal;
		snprintf(x->cur_day, sizeof(x->cur_day), "%s",
			 l->posted_on ? l->posted_on
			 : r	      ? r->date
				      : "");
		snprintf(x->cur_currency, sizeof(x->cur_currency), "%s", l->currency);
		x->first_acct = (size_t)acct;
		if (x->o->fmt == CS_EXPORT_HLEDGER || x->o->fmt == CS_EXPORT_BEANCOUNT)
			journal_head(x, r, l);
	} else if (x->o->fmt == CS_EXPORT_DATEV) {
		cs_export_line dl = *l;

		if (!dl.posted_on)
			dl.posted_on = r ? r->date : "";
		if (datev_row(x, r, &dl, (size_t)acct, err) < 0)
			return -1;
	}
	x->sums[c] += l->amount_minor; /* the caller bounds amounts below 2^100 */
	cs_amount_format(amount, l->amount_minor, l->exponent);
	switch (x->o->fmt) {
	case CS_EXPORT_CSV:
		csv_row(x, r, l, (size_t)acct, amount);
		break;
	case CS_EXPORT_HLEDGER:
	case CS_EXPORT_BEANCOUNT: {
		export_use u = {(size_t)acct, l->has_party, l->party_id};
		int hl = x->o->fmt == CS_EXPORT_HLEDGER;

		cs_buf_reset(&x->name);
		use_name(x, &x->name, &u);
		cs_buf_printf(x->out, hl ? "    %-40s  %20s %s" : "  %-40s  %20s %s\n",
			      x->name.data, amount, l->currency);
		if (!hl && r)
			cs_buf_printf(x->out, "    line: %lld\n", (long long)l->line_no);
		if (r && !settle && l->rule_id) {
			cs_buf_puts(x->out, hl ? "  ; step:" : "    step: ");
			if (hl)
				put_tag_value(x->out, l->rule_id);
			else
				put_bean_string(x->out, l->rule_id);
			if (!hl)
				cs_buf_putc(x->out, '\n');
		}
		if (hl)
			cs_buf_putc(x->out, '\n');
		break;
	}
	case CS_EXPORT_DATEV:
		break;
	}
	return 0;
}

int cs_export_end(cs_export *x, cs_error *err)
{
	return x->in_journal ? journal_close(x, err) : 0;
}
