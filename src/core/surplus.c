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
	return member_days(in, m, (int)cls, in->first_day, in->end_day);
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
void cs_surplus_interest_weight(const cs_surplus_input *in, const cs_step *st, size_t i, mpz_t w)
{
	const cs_member *m = &in->members[i];
	int64_t d;

	if (st->interest_basis == CS_INTEREST_OPENING_BALANCE) { /* C * d, over Y */
		/* cs_capital_inputs fills them for every version 2 distribute */
		CS_ASSERT(in->capital_open_minor != NULL && in->year_days > 0);
		cs_i128_to_mpz(w, in->capital_open_minor[i]);
		mpz_mul_si(w, w, (long)in->window_days);
		return;
	}
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
		cs_surplus_interest_weight(in, st, i, w);
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

		cs_surplus_interest_weight(in, st, i, w);
		if (mpz_sgn(w) <= 0)
			continue;
		parts[k].key = m->id;
		mpq_set_z(parts[k].weight, w);
		mpz_add(sum_w, sum_w, w);
		k++;
	}
	CS_ASSERT(k == n);
	mpq_set_z(q, sum_w); /* sum i_m = rate * sum(C d) / 365 (opening_balance: / Y) */
	mpq_mul(q, q, st->rate);
	mpq_set_ui(lim, st->interest_basis == CS_INTEREST_OPENING_BALANCE
				? (unsigned long)in->year_days
				: 365,
		   1);
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
			if (st->has_withholding) { /* w_m = floor(I_m * withholding) */
				mpz_mul(w, parts[k].part, mpq_numref(st->withholding));
				mpz_fdiv_q(w, w, mpq_denref(st->withholding));
				allocs[i * n_cur + cur].withheld_minor += cs_i128_from_mpz(w);
			}
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
cs_i128 cs_surplus_class_basis(const cs_surplus_input *in, const cs_step *st, size_t i,
			       cs_class cls, size_t cur)
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
	cs_i128 p = cs_surplus_class_basis(in, st, i, st->classes[c], cur);

	if (p <= 0)
		return 0;
	if (in->class_fees_minor ? cs_class_days(in, m, st->classes[c]) <= 0
				 : m->cls != st->classes[c] || cs_membership_days(in, m) <= 0)
		return 0;
	cs_i128_to_mpz(t, p);
	return mpz_cmp(t, min_pat) >= 0;
}

int cs_surplus_class_allocates(const cs_surplus_input *in, const cs_step *st, size_t c,
			       size_t cur)
{
	mpz_t min_pat, t;
	size_t i;
	int found = 0;

	CS_ASSERT(st->type == CS_STEP_PATRONAGE && c < st->n_classes);
	mpz_inits(min_pat, t, NULL);
	if (st->min_patronage.present)
		mpz_set(min_pat, st->min_patronage.minor[cur]);
	for (i = 0; i < in->n_members && !found; i++)
		found = eligible(in, st, c, i, cur, min_pat, t);
	mpz_clears(min_pat, t, NULL);
	return found;
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

int cs_balance_index(const cs_config *cfg, const char *account)
{
	size_t k;

	for (k = 0; k < cfg->n_balance_accounts; k++)
		if (strcmp(cfg->balance_accounts[k], account) == 0)
			return (int)k;
	return -1;
}

/* Version 2: the balance of account at the window's start in currency cur
 * (spec 10.2); 0 for an account whose balance is not kept. */
cs_i128 cs_surplus_balance(const cs_surplus_input *in, const char *account, size_t cur)
{
	int k = cs_balance_index(in->cfg, account);

	if (k < 0 || !in->balance_minor)
		return 0;
	return in->balance_minor[(size_t)k * in->cfg->n_currencies + cur];
}

/* A loss year (S < 0, version 2; spec 10.3, 10.7.1): L = -S is covered
 * by the loss_cover accounts in order, each giving min(what is left,
 * max(0, its balance)); the rest is carried forward. No step runs. */
static void loss_year(const cs_surplus_input *in, cs_surplus_result *res, size_t cur)
{
	const cs_config *cfg = in->cfg;
	cs_i128 rem = -res->surplus_minor[cur];
	size_t k;

	for (k = 0; k < cfg->n_loss_cover; k++) {
		cs_i128 b = cs_surplus_balance(in, cfg->loss_cover[k], cur), give;

		give = b > 0 ? (b < rem ? b : rem) : 0;
		res->loss_cover_minor[cur][k] = give;
		rem -= give;
	}
	CS_ASSERT(rem >= 0);
	res->loss_out_minor[cur] = res->loss_in_minor[cur] + rem;
}

int cs_surplus_target(const cs_config *cfg, const cs_step *st, size_t cur, mpz_t t)
{
	if (st->until == CS_UNTIL_NONE || (st->until == CS_UNTIL_AMOUNT &&
					   !st->until_amount.applies[cur]))
		return 0;
	if (st->until == CS_UNTIL_AMOUNT) {
		mpz_set(t, st->until_amount.minor[cur]);
	} else {
		mpz_mul(t, cfg->total_assets.minor[cur], mpq_numref(st->until_share));
		mpz_fdiv_q(t, t, mpq_denref(st->until_share));
	}
	return 1;
}

cs_i128 cs_surplus_room_base(const cs_surplus_input *in, const cs_surplus_result *res, size_t s,
			     size_t cur)
{
	const cs_config *cfg = in->cfg;
	const cs_step *st = &cfg->steps[s];
	cs_i128 b = cs_surplus_balance(in, st->account, cur);
	size_t j;

	for (j = 0; j < s; j++)
		if (cfg->steps[j].type == CS_STEP_ACCOUNT && strcmp(cfg->steps[j].account, st->account) == 0)
			b += res->step_minor[cur][j];
	return b;
}

/* An account step with `until` (spec 10.3, 10.7.5): amt is at most the
 * room max(0, target - b), b the account's balance at the window's start
 * plus what earlier steps of this run credited to it. */
static void until_room(const cs_surplus_input *in, const cs_surplus_result *res, size_t s,
		       size_t cur, mpz_t amt, mpz_t t)
{
	const cs_config *cfg = in->cfg;
	const cs_step *st = &cfg->steps[s];
	cs_i128 b;

	if (!cs_surplus_target(cfg, st, cur, t))
		return; /* no target in this currency */
	b = cs_surplus_room_base(in, res, s, cur);
	{
		mpz_t bz;

		mpz_init(bz);
		cs_i128_to_mpz(bz, b);
		mpz_sub(t, t, bz); /* room = target - b */
		mpz_clear(bz);
	}
	if (mpz_sgn(t) < 0)
		mpz_set_ui(t, 0);
	if (mpz_cmp(amt, t) > 0)
		mpz_set(amt, t);
}

/* The KStG cap of a patronage step (spec 10.3, 10.7.8) into cap:
 * floor(S' * M / T), 0 when T <= 0 or M <= 0, M the member business and T
 * all business (fees borne, or the gross of both sides). */
void cs_surplus_cap(const cs_surplus_input *in, const cs_step *st, const mpz_t Sp, size_t cur,
		    mpz_t cap)
{
	size_t n_cur = in->cfg->n_currencies, i;
	const cs_i128 *b = st->cap_basis == CS_BASIS_VOLUME ? in->class_gross_minor
							     : in->class_fees_minor;
	cs_i128 M = 0, T = st->cap_basis == CS_BASIS_VOLUME ? 2 * in->gross_total_minor[cur]
							  : in->fees_total_minor[cur];
	mpz_t m;

	for (i = 0; b && i < in->n_members; i++)
		M += b[(i * CS_CLASSES_MAX + CS_CLASS_PRODUCER) * n_cur + cur] +
		     b[(i * CS_CLASSES_MAX + CS_CLASS_CONSUMER) * n_cur + cur];
	if (T <= 0 || M <= 0) {
		mpz_set_ui(cap, 0);
		return;
	}
	mpz_init(m);
	cs_i128_to_mpz(m, M);
	mpz_mul(cap, Sp, m);
	cs_i128_to_mpz(m, T);
	mpz_fdiv_q(cap, cap, m);
	mpz_clear(m);
}

/* One step of the waterfall in currency cur: amt <= A from S' (Sp). */
static int run_step(const cs_surplus_input *in, cs_surplus_result *res, size_t s, size_t cur,
		    const mpz_t Sp, const mpz_t A, mpz_t amt, mpq_t tmp)
{
	const cs_config *cfg = in->cfg;
	const cs_step *st = &cfg->steps[s];
	int rc = 0;

	switch (st->type) {
	case CS_STEP_ACCOUNT:
		share_pool(amt, st, Sp, A, cfg->rounding, tmp);
		if (st->until != CS_UNTIL_NONE) {
			mpz_t t;

			mpz_init(t);
			until_room(in, res, s, cur, amt, t);
			mpz_clear(t);
		}
		break;
	case CS_STEP_CAPITAL_INTEREST:
		if (st->blocked_by_loss && res->loss_in_minor[cfg->base_currency] > 0)
			mpz_set_ui(amt, 0); /* a loss was carried in (spec 10.3) */
		else
			rc = capital_interest(in, st, Sp, A, amt, res->allocs, cur);
		break;
	case CS_STEP_PATRONAGE: {
		mpz_t P, cap;

		mpz_inits(P, cap, NULL);
		share_pool(P, st, Sp, A, cfg->rounding, tmp);
		if (st->cap_member_business) {
			cs_surplus_cap(in, st, Sp, cur, cap);
			res->cap_minor[cur][s] = cs_i128_from_mpz(cap);
			if (mpz_cmp(P, cap) > 0)
				mpz_set(P, cap);
		}
		rc = patronage(in, st, P, amt, res->allocs, cur);
		mpz_clears(P, cap, NULL);
		break;
	}
	}
	return rc;
}

/* The patronage basis each member's statement shows: both classes' for a
 * member of both, of the first patronage step. */
static void statement_bases(const cs_surplus_input *in, cs_surplus_result *res, size_t cur)
{
	const cs_config *cfg = in->cfg;
	size_t n_cur = cfg->n_currencies, s, i;

	for (s = 0; s < cfg->n_steps; s++) {
		const cs_step *st = &cfg->steps[s];

		if (st->type != CS_STEP_PATRONAGE)
			continue;
		for (i = 0; i < in->n_members; i++)
			res->allocs[i * n_cur + cur].basis_minor =
				cs_surplus_class_basis(in, st, i, CS_CLASS_PRODUCER, cur) +
				cs_surplus_class_basis(in, st, i, CS_CLASS_CONSUMER, cur);
		break;
	}
}

int cs_surplus_compute(const cs_surplus_input *in, cs_surplus_result *res, cs_error *err)
{
	const cs_config *cfg = in->cfg;
	size_t n_cur = cfg->n_currencies, cur, s;
	int v2 = cfg->version >= 2;
	mpz_t Sp, A, amt;
	mpq_t tmp;
	int rc = 0;

	memset(res, 0, sizeof(*res));
	res->allocs = calloc(in->n_members * n_cur + 1, sizeof(cs_surplus_alloc));
	if (!res->allocs)
		return cs_error_set(err, CS_EXIT_RUNTIME, "out of memory for %zu members",
				    in->n_members);
	mpz_inits(Sp, A, amt, NULL);
	mpq_init(tmp);
	for (cur = 0; cur < n_cur; cur++) {
		res->surplus_minor[cur] = in->fee_income_minor[cur] - in->costs_minor[cur];
		if (v2) {
			res->loss_in_minor[cur] = cs_surplus_balance(in, cfg->accounts[CS_ACCOUNT_LOSS_CARRIED], cur);
			res->loss_out_minor[cur] = res->loss_in_minor[cur];
		}
		for (s = 0; s < cfg->n_steps; s++)
			res->cap_minor[cur][s] = -1;
	}
	for (cur = 0; cur < n_cur && rc == 0; cur++) {
		cs_i128 S = res->surplus_minor[cur], L0 = res->loss_in_minor[cur];

		statement_bases(in, res, cur);
		if (S < 0 && v2)
			loss_year(in, res, cur);
		if (S == 0 && v2) /* a cap is floor(0 * M / T) = 0 */
			for (s = 0; s < cfg->n_steps; s++)
				if (cfg->steps[s].type == CS_STEP_PATRONAGE &&
				    cfg->steps[s].cap_member_business)
					res->cap_minor[cur][s] = 0;
		if (S <= 0)
			continue; /* S <= 0: nothing is distributed */
		/* a carried loss is covered first: S' = S - c (spec 10.3) */
		res->cover_minor[cur] = L0 > 0 ? (L0 < S ? L0 : S) : 0;
		res->loss_out_minor[cur] = L0 - res->cover_minor[cur];
		cs_i128_to_mpz(Sp, S - res->cover_minor[cur]);
		mpz_set(A, Sp);
		for (s = 0; s < cfg->n_steps && rc == 0; s++) {
			rc = run_step(in, res, s, cur, Sp, A, amt, tmp);
			CS_ASSERT(rc < 0 || (mpz_sgn(amt) >= 0 && mpz_cmp(amt, A) <= 0));
			res->step_minor[cur][s] = cs_i128_from_mpz(amt);
			mpz_sub(A, A, amt);
		}
		res->retained_surplus_minor[cur] = cs_i128_from_mpz(A);
	}
	mpz_clears(Sp, A, amt, NULL);
	mpq_clear(tmp);
	if (rc < 0) {
		cs_surplus_result_free(res);
		return cs_error_set(err, CS_EXIT_RUNTIME, "out of memory in the waterfall");
	}
	return 0;
}
