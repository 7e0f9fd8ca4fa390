/*
 * surplus.c -- the surplus waterfall (see surplus.h, spec section 6 and
 * docs/surplus.md for worked examples).
 */
#include "coopsettle/surplus.h"

#include <gmp.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/alloc.h"
#include "coopsettle/buf.h"
#include "coopsettle/hash.h"
#include "coopsettle/num.h"

/* Days of [lo, hi) in the periods p (n of them, not overlapping). */
static int64_t period_days(const cs_period *p, size_t n, int64_t lo, int64_t hi)
{
	int64_t days = 0;
	size_t k;

	for (k = 0; k < n; k++) {
		int64_t a = p[k].from_day > lo ? p[k].from_day : lo;
		int64_t b = p[k].to_day < hi ? p[k].to_day : hi;

		if (b > a)
			days += b - a;
	}
	return days;
}

/* Version 2: days of [lo, hi) on which m holds class cls (cls < 0: any
 * class), skipped days not counted. */
static int64_t member_days(const cs_surplus_input *in, const cs_member *m, int cls, int64_t lo,
			   int64_t hi)
{
	size_t np, nc, i, j;
	const cs_period *p = cs_members_periods(in->set, m, CS_CLASS_PRODUCER, &np);
	const cs_period *c = cs_members_periods(in->set, m, CS_CLASS_CONSUMER, &nc);
	int64_t days;

	if (cls == CS_CLASS_PRODUCER)
		days = period_days(p, np, lo, hi);
	else if (cls == CS_CLASS_CONSUMER)
		days = period_days(c, nc, lo, hi);
	else { /* the union: both, less the days in both */
		days = period_days(p, np, lo, hi) + period_days(c, nc, lo, hi);
		for (i = 0; i < np; i++)
			for (j = 0; j < nc; j++) {
				int64_t a = p[i].from_day > c[j].from_day ? p[i].from_day : c[j].from_day;
				int64_t b = p[i].to_day < c[j].to_day ? p[i].to_day : c[j].to_day;

				a = a > lo ? a : lo;
				b = b < hi ? b : hi;
				if (b > a)
					days -= b - a;
			}
	}
	for (i = 0; i < in->n_skipped_days; i++) {
		int64_t d = in->skipped_days[i];

		if (d >= lo && d < hi &&
		    (cls < 0 ? cs_member_on(in->set, m, CS_CLASS_PRODUCER, d) ||
				       cs_member_on(in->set, m, CS_CLASS_CONSUMER, d)
			     : cs_member_on(in->set, m, (cs_class)cls, d)))
			days--;
	}
	return days;
}

int cs_member_in_window(const cs_surplus_input *in, const cs_member *m)
{
	size_t n, k;
	int c;

	for (c = 0; c < CS_CLASSES_MAX; c++) {
		const cs_period *p = cs_members_periods(in->set, m, (cs_class)c, &n);

		for (k = 0; k < n; k++)
			if (p[k].from_day < in->end_day && p[k].to_day > in->first_day)
				return 1;
	}
	return 0;
}

int64_t cs_class_days(const cs_surplus_input *in, const cs_member *m, cs_class cls)
{
	return member_days(in, m, cls, in->first_day, in->end_day);
}

int cs_capital_day_sum(const cs_surplus_input *in, const cs_member *m, const cs_capital_event *ev,
		       size_t n, cs_i128 *sum, int64_t *bad_day)
{
	cs_i128 balance = 0;
	int64_t lo = in->first_day, k;
	size_t i = 0;

	*sum = 0;
	/* the capital at the end of the day before the window */
	for (; i < n && ev[i].day < in->first_day; i++)
		balance += ev[i].amount_minor;
	/* a movement of day e counts from day e + 1: segments of constant
	 * capital [lo, e + 1) */
	for (;;) {
		int64_t hi = i < n && ev[i].day + 1 < in->end_day ? ev[i].day + 1 : in->end_day;

		k = member_days(in, m, -1, lo, hi);
		if (k > 0) {
			if (balance < 0) { /* the first counted day of the segment */
				for (*bad_day = lo; *bad_day < hi; (*bad_day)++)
					if (member_days(in, m, -1, *bad_day, *bad_day + 1) > 0)
						break;
				return -1;
			}
			*sum += balance * k;
		}
		if (hi >= in->end_day)
			return 0;
		lo = hi;
		for (; i < n && ev[i].day + 1 == lo; i++)
			balance += ev[i].amount_minor;
	}
}

int64_t cs_membership_days(const cs_surplus_input *in, const cs_member *m)
{
	int64_t lo = in->first_day, hi = in->end_day, days;
	size_t i;

	if (in->set && in->class_fees_minor)
		return member_days(in, m, -1, lo, hi);
	if (!m->has_joined)
		return 0;
	if (m->joined_day > lo)
		lo = m->joined_day;
	if (m->has_left && m->left_day < hi)
		hi = m->left_day;
	if (hi <= lo)
		return 0;
	days = hi - lo;
	for (i = 0; i < in->n_skipped_days; i++)
		if (in->skipped_days[i] >= lo && in->skipped_days[i] < hi)
			days--;
	return days;
}

void cs_surplus_result_free(cs_surplus_result *res)
{
	free(res->allocs);
	res->allocs = NULL;
}

/* amt = min(A, round(X * S)) for a fraction share, A for `remaining`. */
static void share_pool(mpz_t amt, const cs_step *st, const mpz_t S, const mpz_t A,
		       cs_rounding mode, mpq_t tmp)
{
	if (st->share_kind == CS_SHARE_REMAINING) {
		mpz_set(amt, A);
		return;
	}
	mpq_set_z(tmp, S);
	mpq_mul(tmp, tmp, st->share);
	cs_round(amt, tmp, mode);
	if (mpz_cmp(amt, A) > 0)
		mpz_set(amt, A);
}

/* The weight of member i in capital interest, proportional to its i_m:
 * version 1 C * d (spec 6), version 2 the capital summed over the counted
 * days (daily_balance, spec 10.3); 0 or less takes no part. */
static void interest_weight(const cs_surplus_input *in, size_t i, mpz_t w)
{
	const cs_member *m = &in->members[i];
	int64_t d;

	if (in->capital_days_minor) {
		cs_i128_to_mpz(w, in->capital_days_minor[i]);
		return;
	}
	d = cs_membership_days(in, m);
	if (m->capital_minor <= 0 || d <= 0) {
		mpz_set_ui(w, 0);
		return;
	}
	mpz_set_si(w, m->capital_minor);
	mpz_mul_si(w, w, (long)d);
}

static int capital_interest(const cs_surplus_input *in, const cs_step *st, const mpz_t S,
			    const mpz_t A, mpz_t amt, cs_surplus_alloc *allocs, size_t cur)
{
	const cs_config *cfg = in->cfg;
	size_t n_cur = cfg->n_currencies, i, k = 0, n = 0;
	cs_alloc_part *parts;
	mpz_t w, sum_w;
	mpq_t q, lim;

	mpz_set_ui(amt, 0);
	if (cur != cfg->base_currency)
		return 0; /* capital interest is paid in the base currency only */
	mpz_inits(w, sum_w, NULL);
	for (i = 0; i < in->n_members; i++) {
		interest_weight(in, i, w);
		n += mpz_sgn(w) > 0;
	}
	if (n == 0) {
		mpz_clears(w, sum_w, NULL);
		return 0;
	}
	parts = calloc(n, sizeof(*parts));
	if (!parts) {
		mpz_clears(w, sum_w, NULL);
		return -1;
	}
	cs_alloc_parts_init(parts, n);
	mpq_inits(q, lim, NULL);
	/* i_m = rate * C * d / 365 (version 2: rate * sum of daily capital /
	 * 365): the weights are proportional to i_m, and LR depends only on the
	 * proportions. */
	for (i = 0; i < in->n_members; i++) {
		const cs_member *m = &in->members[i];

		interest_weight(in, i, w);
		if (mpz_sgn(w) <= 0)
			continue;
		parts[k].key = m->id;
		mpq_set_z(parts[k].weight, w);
		mpz_add(sum_w, sum_w, w);
		k++;
	}
	CS_ASSERT(k == n);
	mpq_set_z(q, sum_w); /* sum i_m = rate * sum(C d) / 365 */
	mpq_mul(q, q, st->rate);
	mpq_set_ui(lim, 365, 1);
	mpq_div(q, q, lim);
	mpq_set_z(lim, A);
	if (mpq_cmp(lim, q) < 0)
		mpq_set(q, lim);
	if (st->has_cap_share) {
		mpq_set_z(lim, S);
		mpq_mul(lim, lim, st->cap_share);
		if (mpq_cmp(lim, q) < 0)
			mpq_set(q, lim);
	}
	mpz_fdiv_q(amt, mpq_numref(q), mpq_denref(q));
	if (mpz_sgn(amt) > 0) {
		mpz_t check;

		CS_ASSERT(cs_alloc_largest_remainder(parts, n, amt) == 0);
		mpz_init(check);
		for (k = 0, i = 0; i < in->n_members && k < n; i++) {
			if (in->members[i].id != parts[k].key)
				continue;
			allocs[i * n_cur + cur].capital_interest_minor += cs_i128_from_mpz(parts[k].part);
			mpz_add(check, check, parts[k].part);
			k++;
		}
		CS_ASSERT(mpz_cmp(check, amt) == 0);
		mpz_clear(check);
	}
	cs_alloc_parts_clear(parts, n);
	free(parts);
	mpz_clears(w, sum_w, NULL);
	mpq_clears(q, lim, NULL);
	return 0;
}

/* Member i's patronage basis (fees or volume, by step st) in class cls and
 * currency cur: version 1 the member's own class's, version 2 its member
 * business in that class (spec 10.1). */
static cs_i128 class_basis(const cs_surplus_input *in, const cs_step *st, size_t i, cs_class cls,
			   size_t cur)
{
	size_t n_cur = in->cfg->n_currencies;

	if (in->class_fees_minor) {
		const cs_i128 *b = st->basis == CS_BASIS_VOLUME ? in->class_gross_minor
								  : in->class_fees_minor;

		return b[(i * CS_CLASSES_MAX + (size_t)cls) * n_cur + cur];
	}
	if (in->members[i].cls != cls)
		return 0;
	return (st->basis == CS_BASIS_VOLUME ? in->gross_minor : in->fees_minor)[i * n_cur + cur];
}

/* Member i's patronage in currency cur when it is eligible for class c of
 * step st (spec section 6: that class, at least one day of membership in
 * the window, patronage > 0 and >= min_pat), into t; 0 when it is not. */
static int eligible(const cs_surplus_input *in, const cs_step *st, size_t c, size_t i, size_t cur,
		    const mpz_t min_pat, mpz_t t)
{
	const cs_member *m = &in->members[i];
	cs_i128 p = class_basis(in, st, i, st->classes[c], cur);

	if (p <= 0)
		return 0;
	if (in->class_fees_minor ? cs_class_days(in, m, st->classes[c]) <= 0
				 : m->cls != st->classes[c] || cs_membership_days(in, m) <= 0)
		return 0;
	cs_i128_to_mpz(t, p);
	return mpz_cmp(t, min_pat) >= 0;
}

/* Shares class c's amount among its eligible members by LR over their
 * patronage, each refund split into cash (ceil(R * cash_fraction)) and
 * retained. Adds the class's total to amt. Returns -1 on out of memory. */
static int class_allocate(const cs_surplus_input *in, const cs_step *st, size_t c, size_t cur,
			  const mpz_t class_amount, const mpz_t min_pat,
			  cs_surplus_alloc *allocs, mpz_t amt)
{
	size_t n_cur = in->cfg->n_currencies, n = 0, i, k;
	cs_alloc_part *parts;
	cs_i128 sum = 0;
	mpz_t t, cash;

	mpz_init(t);
	for (i = 0; i < in->n_members; i++)
		n += (size_t)eligible(in, st, c, i, cur, min_pat, t);
	if (n == 0 || mpz_sgn(class_amount) == 0) {
		mpz_clear(t);
		return 0; /* a class with no eligible member allocates nothing */
	}
	parts = calloc(n, sizeof(*parts));
	if (!parts) {
		mpz_clear(t);
		return -1;
	}
	mpz_init(cash);
	cs_alloc_parts_init(parts, n);
	for (i = 0, k = 0; i < in->n_members; i++) {
		if (!eligible(in, st, c, i, cur, min_pat, t))
			continue;
		parts[k].key = (int64_t)i; /* index: members are sorted by id */
		mpq_set_z(parts[k].weight, t);
		k++;
	}
	CS_ASSERT(cs_alloc_largest_remainder(parts, n, class_amount) == 0);
	for (k = 0; k < n; k++) {
		cs_surplus_alloc *a = &allocs[(size_t)parts[k].key * n_cur + cur];
		cs_i128 r = cs_i128_from_mpz(parts[k].part), cs;

		/* cash = ceil(R * cash_fraction) */
		mpz_mul(cash, parts[k].part, mpq_numref(st->cash_fraction));
		mpz_cdiv_q(cash, cash, mpq_denref(st->cash_fraction));
		cs = cs_i128_from_mpz(cash);
		CS_ASSERT(cs >= 0 && cs <= r);
		a->patronage_minor += r;
		a->cash_minor += cs;
		a->retained_minor += r - cs;
		sum += r;
	}
	cs_i128_to_mpz(t, sum);
	CS_ASSERT(mpz_cmp(t, class_amount) == 0);
	mpz_add(amt, amt, t);
	cs_alloc_parts_clear(parts, n);
	free(parts);
	mpz_clears(t, cash, NULL);
	return 0;
}

/* A patronage step with pool P: class amounts by LR over the classes'
 * shares (config order), then each class among its members. */
static int patronage(const cs_surplus_input *in, const cs_step *st, const mpz_t P, mpz_t amt,
		     cs_surplus_alloc *allocs, size_t cur)
{
	cs_alloc_part classes[CS_CLASSES_MAX];
	mpz_t min_pat;
	size_t c;
	int rc = 0;

	mpz_set_ui(amt, 0);
	if (mpz_sgn(P) <= 0)
		return 0;
	mpz_init(min_pat);
	if (st->min_patronage.present)
		mpz_set(min_pat, st->min_patronage.minor[cur]);
	cs_alloc_parts_init(classes, st->n_classes);
	for (c = 0; c < st->n_classes; c++) {
		classes[c].key = (int64_t)c; /* config order */
		mpq_set(classes[c].weight, st->class_shares[c]);
	}
	CS_ASSERT(cs_alloc_largest_remainder(classes, st->n_classes, P) == 0);
	for (c = 0; c < st->n_classes && rc == 0; c++)
		rc = class_allocate(in, st, c, cur, classes[c].part, min_pat, allocs, amt);
	cs_alloc_parts_clear(classes, st->n_classes);
	mpz_clear(min_pat);
	return rc;
}

int cs_surplus_compute(const cs_surplus_input *in, cs_surplus_result *res, cs_error *err)
{
	const cs_config *cfg = in->cfg;
	size_t n_cur = cfg->n_currencies, cur, s;
	mpz_t S, A, amt;
	mpq_t tmp;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->allocs = calloc(in->n_members * n_cur + 1, sizeof(cs_surplus_alloc));
	if (!res->allocs)
		return cs_error_set(err, CS_EXIT_RUNTIME, "out of memory for %zu members",
				    in->n_members);
	mpz_inits(S, A, amt, NULL);
	mpq_init(tmp);
	for (cur = 0; cur < n_cur && rc == 0; cur++) {
		res->surplus_minor[cur] = in->fee_income_minor[cur] - in->costs_minor[cur];
		for (s = 0; s < cfg->n_steps; s++) {
			const cs_step *st = &cfg->steps[s];
			size_t i;

			if (st->type != CS_STEP_PATRONAGE)
				continue;
			/* the basis on the statement: both classes' for a member of both */
			for (i = 0; i < in->n_members; i++)
				res->allocs[i * n_cur + cur].basis_minor =
					class_basis(in, st, i, CS_CLASS_PRODUCER, cur) +
					class_basis(in, st, i, CS_CLASS_CONSUMER, cur);
			break;
		}
		if (res->surplus_minor[cur] <= 0)
			continue; /* S <= 0: nothing is distributed */
		cs_i128_to_mpz(S, res->surplus_minor[cur]);
		mpz_set(A, S);
		for (s = 0; s < cfg->n_steps && rc == 0; s++) {
			const cs_step *st = &cfg->steps[s];

			switch (st->type) {
			case CS_STEP_ACCOUNT:
				share_pool(amt, st, S, A, cfg->rounding, tmp);
				break;
			case CS_STEP_CAPITAL_INTEREST:
				rc = capital_interest(in, st, S, A, amt, res->allocs, cur);
				break;
			case CS_STEP_PATRONAGE: {
				mpz_t P;

				mpz_init(P);
				share_pool(P, st, S, A, cfg->rounding, tmp);
				rc = patronage(in, st, P, amt, res->allocs, cur);
				mpz_clear(P);
				break;
			}
			}
			CS_ASSERT(mpz_sgn(amt) >= 0 && mpz_cmp(amt, A) <= 0);
			res->step_minor[cur][s] = cs_i128_from_mpz(amt);
			mpz_sub(A, A, amt);
		}
		res->retained_surplus_minor[cur] = cs_i128_from_mpz(A);
	}
	mpz_clears(S, A, amt, NULL);
	mpq_clear(tmp);
	if (rc < 0) {
		cs_surplus_result_free(res);
		return cs_error_set(err, CS_EXIT_RUNTIME, "out of memory in the waterfall");
	}
	return 0;
}

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
	for (cur = 0; cur < cfg->n_currencies; cur++) {
		cs_buf_printf(&b, "C\t%s\t", cfg->currencies[cur].code);
		cs_buf_put_i128(&b, in->fee_income_minor[cur]);
		cs_buf_putc(&b, '\t');
		cs_buf_put_i128(&b, in->costs_minor[cur]);
		cs_buf_putc(&b, '\n');
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
