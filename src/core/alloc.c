/*
 * alloc.c -- largest-remainder allocation LR(T, parts) (see alloc.h, spec
 * section 2).
 *
 * Everything is exact and no comparison allocates. The weights w_i = n_i/d_i
 * are brought to integers W_i = n_i (L / d_i), L = lcm(d_i), and divided by
 * their gcd: same proportions, smaller numbers. With D = sum W_i the quota is
 * q_i = T W_i / D, the base floor(T W_i / D), and the fractional part is
 * rem_i / D with the integer rem_i = T W_i mod D (mpz_fdiv_qr). All fractional
 * parts share the denominator D, so ordering them is ordering the rem_i:
 *
 *  - D < 2^64 (every realistic call: integer patronage, capital interest over
 *    365 days, rates): rem_i < 2^64 is itself the sort key, and qsort
 *    compares plain integers.
 *  - otherwise the sort key is the first 64 bits of the fraction,
 *    floor(rem_i 2^64 / D), which orders like rem_i / D except that distinct
 *    remainders may share a key; equal keys then compare the exact rem_i with
 *    mpz_cmp.
 *
 * Ties in the fraction go to the smaller key. Keys are distinct, so the
 * comparison is a total order and qsort's instability cannot show: the result
 * depends only on keys and weights, never on the order of the array.
 */
#include "coopsettle/alloc.h"

#include <limits.h>
#include <stdlib.h>

#include "coopsettle/error.h"

void cs_alloc_parts_init(cs_alloc_part *parts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		parts[i].key = 0;
		mpq_init(parts[i].weight);
		mpz_init(parts[i].part);
		parts[i].rank = 0;
		parts[i].got_extra = 0;
	}
}

void cs_alloc_parts_clear(cs_alloc_part *parts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		mpq_clear(parts[i].weight);
		mpz_clear(parts[i].part);
	}
}

/* One part in the largest-remainder order. frac_key orders the fractional
 * parts (see the file comment); rem is the exact remainder when frac_key may
 * be shared by different fractions (D >= 2^64), else NULL. */
typedef struct order_item {
	uint64_t frac_key;
	int64_t key;
	size_t index;
	mpz_srcptr rem;
} order_item;

/* Largest fractional part first, then the smaller key. */
static int order_compare(const void *a, const void *b)
{
	const order_item *x = a, *y = b;
	int c;

	if (x->frac_key != y->frac_key)
		return x->frac_key < y->frac_key ? 1 : -1;
	if (x->rem != NULL) {
		c = mpz_cmp(y->rem, x->rem);
		if (c != 0)
			return c;
	}
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	/* Two parts with one key and equal fractions would make the result
	 * depend on the input order: keys must be distinct (alloc.h). */
	CS_ASSERT(x->index == y->index);
	return 0;
}

/* z < 2^64 as a uint64_t, without assuming the width of unsigned long. */
static uint64_t mpz_get_u64(const mpz_t z)
{
	CS_ASSERT(mpz_sgn(z) >= 0 && mpz_sizeinbase(z, 2) <= 64);
#if ULONG_MAX >= UINT64_MAX
	return (uint64_t)mpz_get_ui(z);
#else
	uint64_t v = 0;
	size_t count = 0;

	mpz_export(&v, &count, -1, sizeof(v), 0, 0, z);
	CS_ASSERT(count <= 1);
	return v;
#endif
}

/* Brings the weights to integers W_i = n_i (L / d_i), L = lcm(d_i), kept in
 * parts[i].part, divided by their gcd (same proportions, smaller numbers,
 * and D fits in 64 bits more often); D = sum of the W_i > 0. */
static void integer_weights(cs_alloc_part *parts, size_t n, mpz_t D)
{
	mpz_t L, g;
	size_t i;

	mpz_inits(L, g, NULL);
	/* L = lcm of the denominators (skipping the common case where a
	 * denominator already divides L, which costs no gcd). */
	mpz_set_ui(L, 1);
	for (i = 0; i < n; i++) {
		mpz_srcptr den = mpq_denref(parts[i].weight);

		CS_ASSERT(mpq_sgn(parts[i].weight) >= 0);
		if (mpz_cmp_ui(den, 1) != 0 && !mpz_divisible_p(L, den))
			mpz_lcm(L, L, den);
	}
	mpz_set_ui(D, 0);
	for (i = 0; i < n; i++) {
		mpz_ptr w = parts[i].part;

		if (mpz_cmp_ui(L, 1) == 0) {
			mpz_set(w, mpq_numref(parts[i].weight));
		} else {
			mpz_divexact(w, L, mpq_denref(parts[i].weight));
			mpz_mul(w, w, mpq_numref(parts[i].weight));
		}
		mpz_add(D, D, w);
	}
	CS_ASSERT(mpz_sgn(D) > 0); /* W > 0: callers decide what W = 0 means */
	/* Stops at G = 1, which mixed weights reach within a few parts. */
	mpz_set_ui(g, 0);
	for (i = 0; i < n && mpz_cmp_ui(g, 1) != 0; i++)
		mpz_gcd(g, g, parts[i].part);
	if (mpz_cmp_ui(g, 1) > 0) {
		for (i = 0; i < n; i++)
			mpz_divexact(parts[i].part, parts[i].part, g);
		mpz_divexact(D, D, g);
	}
	mpz_clears(L, g, NULL);
}

/* base_i = floor(T W_i / D) into parts[i].part (which holds W_i), the
 * order items with the fraction's sort key (rem: the exact remainders when
 * D >= 2^64, else NULL); returns sum of the bases in sum. */
static void bases_and_keys(cs_alloc_part *parts, size_t n, const mpz_t T, const mpz_t D,
			   order_item *order, mpz_t *rem, mpz_t sum)
{
	mpz_t tmp;
	size_t i;

	mpz_init(tmp);
	mpz_set_ui(sum, 0);
	for (i = 0; i < n; i++) {
		mpz_ptr p = parts[i].part;
		mpz_ptr r = rem ? rem[i] : tmp;

		mpz_mul(p, p, T);
		mpz_fdiv_qr(p, r, p, D);
		mpz_add(sum, sum, p);
		if (!rem) {
			order[i].frac_key = mpz_get_u64(r);
			order[i].rem = NULL;
		} else {
			mpz_mul_2exp(tmp, r, 64);
			mpz_fdiv_q(tmp, tmp, D); /* < 2^64 because rem_i < D */
			order[i].frac_key = mpz_get_u64(tmp);
			order[i].rem = rem[i];
		}
		order[i].key = parts[i].key;
		order[i].index = i;
	}
	mpz_clear(tmp);
}

/* Gives one unit each to the extra_count parts first in the order, records
 * ranks, puts the sign back and asserts the sum. */
static void hand_out(cs_alloc_part *parts, size_t n, order_item *order, size_t extra_count,
		     int neg, const mpz_t total)
{
	mpz_t sum;
	size_t i;

	if (n > 1)
		qsort(order, n, sizeof(*order), order_compare);
	for (i = 0; i < n; i++) {
		cs_alloc_part *p = &parts[order[i].index];

		p->rank = i;
		p->got_extra = i < extra_count;
		if (p->got_extra)
			mpz_add_ui(p->part, p->part, 1);
	}
	mpz_init(sum);
	for (i = 0; i < n; i++) {
		if (neg)
			mpz_neg(parts[i].part, parts[i].part);
		mpz_add(sum, sum, parts[i].part);
	}
	CS_ASSERT(mpz_cmp(sum, total) == 0); /* every allocation sums to its total */
	mpz_clear(sum);
}

int cs_alloc_largest_remainder(cs_alloc_part *parts, size_t n, const mpz_t total)
{
	mpz_t T, D, sum;
	mpz_t *rem = NULL;
	order_item *order = NULL;
	size_t i, extra_count, rem_count = 0;
	int small, rc = -1;

	CS_ASSERT(n > 0);
	mpz_inits(T, D, sum, NULL);
	mpz_abs(T, total);
	integer_weights(parts, n, D);

	small = mpz_sizeinbase(D, 2) <= 64;
	order = malloc(n * sizeof(*order));
	if (!small)
		rem = malloc(n * sizeof(*rem));
	if (order == NULL || (!small && rem == NULL))
		goto cleanup;
	if (!small) {
		for (i = 0; i < n; i++)
			mpz_init(rem[i]);
		rem_count = n;
	}
	bases_and_keys(parts, n, T, D, order, small ? NULL : rem, sum);

	/* r = T - sum of bases = sum of the fractional parts, so 0 <= r < n */
	mpz_sub(sum, T, sum);
	CS_ASSERT(mpz_sgn(sum) >= 0 && mpz_fits_ulong_p(sum));
	extra_count = (size_t)mpz_get_ui(sum);
	CS_ASSERT(extra_count < n);
	hand_out(parts, n, order, extra_count, mpz_sgn(total) < 0, total);
	rc = 0;

cleanup:
	if (rc != 0) /* out of memory: leave no half-done parts behind */
		for (i = 0; i < n; i++)
			mpz_set_ui(parts[i].part, 0);
	for (i = 0; i < rem_count; i++)
		mpz_clear(rem[i]);
	free(rem);
	free(order);
	mpz_clears(T, D, sum, NULL);
	return rc;
}
