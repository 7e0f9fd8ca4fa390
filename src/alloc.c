/*
 * alloc.c -- largest-remainder allocation (see alloc.h, spec section 2).
 */
#include "coopsettle/alloc.h"

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

/* Remainders are compared as rem_i / D with a common denominator D, so a
 * comparison is one mpz_cmp. */
typedef struct order_item {
	size_t index;
	int64_t key;
	mpz_t *rem;
} order_item;

static int by_remainder(const void *a, const void *b)
{
	const order_item *x = a, *y = b;
	int c = mpz_cmp(*y->rem, *x->rem); /* larger remainder first */

	if (c)
		return c;
	return (x->key > y->key) - (x->key < y->key);
}

int cs_alloc_largest_remainder(cs_alloc_part *parts, size_t n, const mpz_t total)
{
	mpz_t T, L, D, num, r, sum;
	mpz_t *rem = NULL;
	order_item *order = NULL;
	size_t i;
	int neg = mpz_sgn(total) < 0;

	CS_ASSERT(n > 0);
	mpz_inits(T, L, D, num, r, sum, NULL);
	mpz_abs(T, total);
	/* weights w_i = a_i / b_i; with L = lcm(b_i), w_i = (a_i L / b_i) / L and
	 * the integer weights W_i = a_i L / b_i have the same proportions. */
	mpz_set_ui(L, 1);
	for (i = 0; i < n; i++) {
		CS_ASSERT(mpq_sgn(parts[i].weight) >= 0);
		mpz_lcm(L, L, mpq_denref(parts[i].weight));
	}
	rem = calloc(n, sizeof(mpz_t));
	order = calloc(n, sizeof(order_item));
	if (!rem || !order) {
		free(rem);
		free(order);
		mpz_clears(T, L, D, num, r, sum, NULL);
		return -1;
	}
	mpz_set_ui(D, 0);
	for (i = 0; i < n; i++) {
		mpz_init(rem[i]);
		mpz_divexact(num, L, mpq_denref(parts[i].weight));
		mpz_mul(rem[i], num, mpq_numref(parts[i].weight)); /* integer weight */
		mpz_add(D, D, rem[i]);
	}
	CS_ASSERT(mpz_sgn(D) > 0);
	/* q_i = T W_i / D; b_i = floor; remainder numerator T W_i mod D */
	for (i = 0; i < n; i++) {
		mpz_mul(num, T, rem[i]);
		mpz_fdiv_qr(parts[i].part, rem[i], num, D);
		mpz_add(sum, sum, parts[i].part);
		order[i].index = i;
		order[i].key = parts[i].key;
		order[i].rem = &rem[i];
		parts[i].got_extra = 0;
	}
	mpz_sub(r, T, sum);
	CS_ASSERT(mpz_sgn(r) >= 0 && mpz_cmp_ui(r, n) <= 0);
	qsort(order, n, sizeof(order_item), by_remainder);
	for (i = 0; i < n; i++) {
		cs_alloc_part *p = &parts[order[i].index];

		p->rank = i;
		if (mpz_cmp_ui(r, i) > 0) {
			mpz_add_ui(p->part, p->part, 1);
			p->got_extra = 1;
		}
	}
	mpz_set_ui(sum, 0);
	for (i = 0; i < n; i++) {
		if (neg)
			mpz_neg(parts[i].part, parts[i].part);
		mpz_add(sum, sum, parts[i].part);
		mpz_clear(rem[i]);
	}
	CS_ASSERT(mpz_cmp(sum, total) == 0); /* every allocation sums to its total */
	free(rem);
	free(order);
	mpz_clears(T, L, D, num, r, sum, NULL);
	return 0;
}
