/*
 * surplus_canon.c -- the canonical input of a distribute run
 * (docs/reproducibility.md "Distribute"): what its input hash covers,
 * version 1 and version 2 forms. See surplus.h.
 */
#include "coopsettle/surplus.h"

#include <stdlib.h>
#include <string.h>

#include "coopsettle/buf.h"
#include "coopsettle/hash.h"

/* ---- the canonical input (docs/reproducibility.md) ---- */

/* Version 1: one M record per member, its class, dates, capital, bases. */
static void canonical_member_v1(cs_buf *b, const cs_surplus_input *in, size_t i)
{
	const cs_member *m = &in->members[i];
	size_t n_cur = in->cfg->n_currencies, cur;

	cs_buf_puts(b, "M\t");
	cs_buf_put_i128(b, m->id);
	cs_buf_putc(b, '\t');
	cs_buf_puts(b, cs_class_name(m->cls));
	cs_buf_putc(b, '\t');
	cs_buf_put_i128(b, m->joined_day);
	cs_buf_putc(b, '\t');
	if (m->has_left)
		cs_buf_put_i128(b, m->left_day);
	else
		cs_buf_puts(b, "\\N");
	cs_buf_putc(b, '\t');
	cs_buf_put_i128(b, m->capital_minor);
	for (cur = 0; cur < n_cur; cur++) {
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, in->fees_minor[i * n_cur + cur]);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, in->gross_minor[i * n_cur + cur]);
	}
	cs_buf_putc(b, '\n');
}

/* Version 2: an M record per member, then its periods overlapping the
 * window (P), its member business per class and currency when not zero
 * (F), and its capital movements (K, rows from *row on). */
static void canonical_member_v2(cs_buf *b, const cs_surplus_input *in, size_t i, size_t *row)
{
	const cs_member *m = &in->members[i];
	size_t n_cur = in->cfg->n_currencies, cur, n, k;
	int c;

	if (!cs_member_in_window(in, m)) { /* cannot matter: neither it nor its capital */
		for (; *row < in->n_capital_rows && in->capital_rows[*row].member_id == m->id;
		     (*row)++)
			;
		return;
	}
	cs_buf_puts(b, "M\t");
	cs_buf_put_i128(b, m->id);
	cs_buf_putc(b, '\n');
	for (c = 0; c < CS_CLASSES_MAX; c++) {
		const cs_period *p = cs_members_periods(in->set, m, (cs_class)c, &n);

		for (k = 0; k < n; k++) {
			if (p[k].from_day >= in->end_day || p[k].to_day <= in->first_day)
				continue;
			cs_buf_printf(b, "P\t%s\t", cs_class_name((cs_class)c));
			cs_buf_put_i128(b, p[k].from_day);
			cs_buf_putc(b, '\t');
			if (p[k].to_day == CS_DAY_OPEN)
				cs_buf_puts(b, "\\N");
			else
				cs_buf_put_i128(b, p[k].to_day);
			cs_buf_putc(b, '\n');
		}
		for (cur = 0; cur < n_cur; cur++) {
			size_t x = (i * CS_CLASSES_MAX + (size_t)c) * n_cur + cur;

			if (!in->class_fees_minor[x] && !in->class_gross_minor[x])
				continue;
			cs_buf_printf(b, "F\t%s\t%s\t", cs_class_name((cs_class)c),
				      in->cfg->currencies[cur].code);
			cs_buf_put_i128(b, in->class_fees_minor[x]);
			cs_buf_putc(b, '\t');
			cs_buf_put_i128(b, in->class_gross_minor[x]);
			cs_buf_putc(b, '\n');
		}
	}
	for (; *row < in->n_capital_rows && in->capital_rows[*row].member_id == m->id; (*row)++) {
		cs_buf_puts(b, "K\t");
		cs_buf_put_i128(b, in->capital_rows[*row].day);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, in->capital_rows[*row].amount_minor);
		cs_buf_putc(b, '\n');
	}
}

void cs_surplus_input_hash(const cs_surplus_input *in, char hex[65])
{
	const cs_config *cfg = in->cfg;
	int dated = in->class_fees_minor != NULL;
	cs_sha256 *h = cs_sha256_new();
	size_t i, cur, row = 0;
	cs_buf b;

	cs_buf_init(&b);
	cs_buf_printf(&b, "D\t%lld\t%lld\n", (long long)in->first_day, (long long)in->end_day);
	for (i = 0; i < in->n_settle_runs; i++)
		cs_buf_printf(&b, "R\t%lld\t%s\n", (long long)in->settle_runs[i].id,
			      in->settle_runs[i].output_sha256);
	for (i = 0; dated && i < in->n_capital_runs; i++)
		cs_buf_printf(&b, "B\t%lld\t%lld\t%s\n", (long long)in->capital_runs[i].id,
			      (long long)in->capital_runs[i].last_day,
			      in->capital_runs[i].output_sha256);
	for (i = 0; dated && i < in->n_balance_runs; i++)
		cs_buf_printf(&b, "G\t%lld\t%lld\t%s\n", (long long)in->balance_runs[i].id,
			      (long long)in->balance_runs[i].last_day,
			      in->balance_runs[i].output_sha256);
	for (cur = 0; cur < cfg->n_currencies; cur++) {
		cs_buf_printf(&b, "C\t%s\t", cfg->currencies[cur].code);
		cs_buf_put_i128(&b, in->fee_income_minor[cur]);
		cs_buf_putc(&b, '\t');
		cs_buf_put_i128(&b, in->costs_minor[cur]);
		cs_buf_putc(&b, '\n');
		if (!dated)
			continue;
		/* version 2: all fees borne and the gross (the KStG cap), and the
		 * balances at the window's start */
		cs_buf_printf(&b, "T\t%s\t", cfg->currencies[cur].code);
		cs_buf_put_i128(&b, in->fees_total_minor[cur]);
		cs_buf_putc(&b, '\t');
		cs_buf_put_i128(&b, in->gross_total_minor[cur]);
		cs_buf_putc(&b, '\n');
		for (i = 0; in->balance_minor && i < cfg->n_balance_accounts; i++) {
			cs_buf_printf(&b, "A\t%s\t%s\t", cfg->balance_accounts[i],
				      cfg->currencies[cur].code);
			cs_buf_put_i128(&b, in->balance_minor[i * cfg->n_currencies + cur]);
			cs_buf_putc(&b, '\n');
		}
	}
	for (i = 0; dated && i < in->n_cost_rows; i++) {
		cs_buf_puts(&b, "O\t");
		cs_buf_put_i128(&b, in->cost_rows[i].day);
		cs_buf_printf(&b, "\t%s\t", cfg->currencies[in->cost_rows[i].currency].code);
		cs_buf_put_i128(&b, in->cost_rows[i].amount_minor);
		cs_buf_putc(&b, '\n');
	}
	for (i = 0; i < in->n_members; i++) {
		if (dated)
			canonical_member_v2(&b, in, i, &row);
		else
			canonical_member_v1(&b, in, i);
		if (b.len > 65536) {
			cs_sha256_update(h, b.data, b.len);
			cs_buf_reset(&b);
		}
	}
	CS_ASSERT(row == in->n_capital_rows); /* every row belongs to a member */
	cs_sha256_update(h, b.data, b.len);
	cs_sha256_final(h, hex);
	cs_buf_free(&b);
}
