/*
 * surplus.c -- the surplus waterfall (see surplus.h, spec section 6 and
 * docs/surplus.md for worked examples).
 */
#include "coopsettle/surplus.h"

#include <gmp.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/alloc.h"
#include "coopsettle/num.h"

int64_t cs_membership_days(const cs_surplus_input *in, const cs_member *m)
{
	int64_t lo = in->first_day, hi = in->end_day, days;
	size_t i;

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
	for (i = 0; i < in->n_members; i++) {
		int64_t d = cs_membership_days(in, &in->members[i]);

		if (in->members[i].capital_minor > 0 && d > 0)
			n++;
	}
	if (n == 0)
		return 0;
	parts = calloc(n, sizeof(*parts));
	if (!parts)
		return -1;
	cs_alloc_parts_init(parts, n);
	mpz_inits(w, sum_w, NULL);
	mpq_inits(q, lim, NULL);
	/* i_m = rate * C * d / 365: the weights C * d are proportional to i_m,
	 * and LR depends only on the proportions. */
	for (i = 0; i < in->n_members; i++) {
		const cs_member *m = &in->members[i];
		int64_t d = cs_membership_days(in, m);

		if (m->capital_minor <= 0 || d <= 0)
			continue;
		mpz_set_si(w, m->capital_minor);
		mpz_mul_si(w, w, (long)d);
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

/* Member i's patronage in currency cur when it is eligible for class c of
 * step st (spec section 6: that class, at least one day of membership in
 * the window, patronage > 0 and >= min_pat), into t; 0 when it is not. */
static int eligible(const cs_surplus_input *in, const cs_step *st, size_t c, size_t i, size_t cur,
		    const mpz_t min_pat, mpz_t t)
{
	const cs_member *m = &in->members[i];
	const cs_i128 *basis = st->basis == CS_BASIS_VOLUME ? in->gross_minor : in->fees_minor;
	cs_i128 p = basis[i * in->cfg->n_currencies + cur];

	if (m->cls != st->classes[c] || p <= 0 ||
	    cs_membership_days(in, m) <= 0)
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
			const cs_i128 *basis;
			size_t i;

			if (st->type != CS_STEP_PATRONAGE)
				continue;
			basis = st->basis == CS_BASIS_VOLUME ? in->gross_minor : in->fees_minor;
			for (i = 0; i < in->n_members; i++)
				res->allocs[i * n_cur + cur].basis_minor = basis[i * n_cur + cur];
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
