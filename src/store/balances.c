/*
 * balances.c -- the balances a distribute run keeps across windows (see
 * balances.h): the feeding runs from coopsettle.runs, their sums per
 * account and currency from coopsettle.ledger_lines.
 */
#include "coopsettle/balances.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/amount.h"
#include "coopsettle/buf.h"
#include "coopsettle/window.h"

/* The feeding runs (see balances.h), by id, into out->runs. */
static int feeding_runs(cs_db *db, const cs_config *cfg, int64_t from_us, int64_t as_of_run,
			cs_balances *out, cs_error *err)
{
	char before[24], as_of[24], since[16];
	const char *params[3] = {before, as_of, since};
	cs_db_rows rows;
	size_t i;

	snprintf(before, sizeof(before), "%lld", (long long)from_us);
	snprintf(as_of, sizeof(as_of), "%lld", (long long)as_of_run);
	if (cfg->has_opening)
		cs_day_text(since, sizeof(since), cfg->opening_as_of);
	else
		snprintf(since, sizeof(since), "-infinity");
	if (cs_db_query(db,
			"SELECT r.id, (r.window_to - interval '1 microsecond')::date"
			" - DATE '1970-01-01', r.output_sha256 FROM coopsettle.runs r"
			" WHERE r.kind = 'distribute' AND r.window_to_us <= $1::bigint"
			" AND r.window_from::date >= $3::date"
			" AND (($2::bigint = 0 AND r.status = 'committed') OR ($2::bigint > 0"
			" AND r.id < $2::bigint AND NOT EXISTS (SELECT 1 FROM coopsettle.runs s"
			" WHERE s.supersedes = r.id AND s.id < $2::bigint)))"
			" ORDER BY r.id",
			3, params, &rows, err) < 0)
		return -1;
	out->runs = calloc(rows.n_rows + 1, sizeof(*out->runs));
	CS_ASSERT(out->runs != NULL);
	for (i = 0; i < rows.n_rows; i++) {
		cs_run_link *x = &out->runs[i];

		if (cs_db_cell_i64(&rows, i, 0, &x->id) < 0 ||
		    cs_db_cell_i64(&rows, i, 1, &x->last_day) < 0) {
			cs_db_rows_free(&rows);
			return cs_error_set(err, CS_EXIT_RUNTIME, "unexpected distribute run record");
		}
		snprintf(x->output_sha256, sizeof(x->output_sha256), "%s", cs_db_cell(&rows, i, 2));
	}
	out->n_runs = rows.n_rows;
	cs_db_rows_free(&rows);
	return 0;
}

/* The opening amount of account in currency c (0 without one). */
static cs_i128 opening_amount(const cs_config *cfg, const char *account, size_t c)
{
	size_t i;

	for (i = 0; i < cfg->n_opening; i++)
		if (strcmp(cfg->opening[i].account, account) == 0)
			return cfg->opening[i].amount.applies[c]
				       ? cs_i128_from_mpz(cfg->opening[i].amount.minor[c])
				       : 0;
	return 0;
}

/* Adds what the feeding runs posted to the kept accounts. */
static int posted_sums(cs_db *db, const cs_config *cfg, cs_balances *out, cs_error *err)
{
	size_t n_cur = cfg->n_currencies, i;
	cs_buf ids, accounts;
	const char *params[2];
	cs_db_rows rows;
	int rc = -1;

	if (out->n_runs == 0)
		return 0;
	cs_buf_init(&ids);
	cs_buf_init(&accounts);
	cs_buf_putc(&ids, '{');
	for (i = 0; i < out->n_runs; i++)
		cs_buf_printf(&ids, "%s%lld", i ? "," : "", (long long)out->runs[i].id);
	cs_buf_putc(&ids, '}');
	cs_buf_putc(&accounts, '{');
	for (i = 0; i < cfg->n_balance_accounts; i++) {
		const char *a = cfg->balance_accounts[i];

		cs_buf_puts(&accounts, i ? ",\"" : "\"");
		for (; *a; a++) { /* an array literal element, quoted */
			if (*a == '"' || *a == '\\')
				cs_buf_putc(&accounts, '\\');
			cs_buf_putc(&accounts, *a);
		}
		cs_buf_putc(&accounts, '"');
	}
	cs_buf_putc(&accounts, '}');
	params[0] = ids.data;
	params[1] = accounts.data;
	if (cs_db_query(db,
			"SELECT account, currency, sum(amount_minor)::text"
			" FROM coopsettle.ledger_lines WHERE run_id = ANY ($1::bigint[])"
			" AND entry = 'post' AND account = ANY ($2::text[])"
			" GROUP BY account, currency",
			2, params, &rows, err) < 0)
		goto cleanup;
	for (i = 0; i < rows.n_rows; i++) {
		const char *code = cs_db_cell(&rows, i, 1);
		int k = cs_balance_index(cfg, cs_db_cell(&rows, i, 0));
		int c = cs_config_currency_index(cfg, code, strlen(code));
		cs_i128 sum;

		if (k < 0 || cs_amount_parse(cs_db_cell(&rows, i, 2), &sum) < 0) {
			cs_error_set(err, CS_EXIT_RUNTIME, "unexpected ledger sum of a distribute run");
			goto rows_done;
		}
		if (c < 0)
			continue; /* a currency the config no longer lists */
		/* the loss account's balance is a debit, the others' a credit */
		if (strcmp(cfg->balance_accounts[k], cfg->accounts[CS_ACCOUNT_LOSS_CARRIED]) == 0)
			out->minor[(size_t)k * n_cur + (size_t)c] += sum;
		else
			out->minor[(size_t)k * n_cur + (size_t)c] -= sum;
	}
	rc = 0;
rows_done:
	cs_db_rows_free(&rows);
cleanup:
	cs_buf_free(&ids);
	cs_buf_free(&accounts);
	return rc;
}

int cs_balances_read(cs_db *db, const cs_config *cfg, int64_t from_us, int64_t as_of_run,
		     cs_balances *out, cs_error *err)
{
	size_t n_cur = cfg->n_currencies, k, c;

	memset(out, 0, sizeof(*out));
	out->minor = calloc(cfg->n_balance_accounts * n_cur + 1, sizeof(cs_i128));
	CS_ASSERT(out->minor != NULL);
	for (k = 0; k < cfg->n_balance_accounts; k++)
		for (c = 0; c < n_cur; c++)
			out->minor[k * n_cur + c] = opening_amount(cfg, cfg->balance_accounts[k], c);
	if (feeding_runs(db, cfg, from_us, as_of_run, out, err) < 0 ||
	    posted_sums(db, cfg, out, err) < 0) {
		cs_balances_free(out);
		return -1;
	}
	return 0;
}

void cs_balances_free(cs_balances *b)
{
	free(b->minor);
	free(b->runs);
	memset(b, 0, sizeof(*b));
}
