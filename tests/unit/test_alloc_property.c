/*
 * test_alloc_property.c -- seeded property test of largest-remainder
 * allocation (spec section 2).
 *
 * Each run checks CS_PROPERTY_CASES random cases (default 100,000) drawn
 * from the seed CS_SEED (default below; printed at the start, and with the
 * case on any failure, so `CS_SEED=<seed>` replays a failing run). A case is
 * n parts (mostly 1..12, sometimes up to PARTS_MAX) with distinct keys
 * (small, negative, extreme), exact weights (integers, fractions, decimal
 * rates, capital-interest-like products over 365, huge near-equal weights
 * whose fractions agree in their first 64 bits, all equal; some zero, at
 * least one positive) and a total (0, small, medium, beyond 2^64; a third
 * negative). For every case:
 *
 *  - the parts sum to exactly T and every part is within 1 of its quota
 *    T w_i / W, with the sign of T (or 0); a zero weight gets 0;
 *  - part_i = sign(T) (floor(|T| w_i / W) + got_extra_i), the ranks are a
 *    permutation and exactly the first r ranks got an extra unit;
 *  - it equals a deliberately naive second implementation: exact mpq
 *    fractions, units handed out one at a time to the largest remaining
 *    fraction, smaller key on a tie;
 *  - a shuffled input gives the same part, rank and extra per key;
 *  - negating T negates every part (same ranks);
 *  - multiplying every weight by the same positive rational changes nothing.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "coopsettle/alloc.h"

#define PARTS_MAX 64
#define SEED_DEFAULT UINT64_C(20261128)
#define CASES_DEFAULT 100000

/* ---- random numbers: splitmix64, our own so every platform draws alike ---- */

typedef struct rng {
	uint64_t state;
} rng;

static uint64_t rng_next(rng *r)
{
	uint64_t z = (r->state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for n far below 2^64. */
static uint64_t rng_below(rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* Any int64, through a bijection from uint64 (no implementation-defined
 * conversion). */
static int64_t rng_i64(rng *r)
{
	uint64_t x = rng_next(r);

	return (x & 1) ? -(int64_t)(x >> 1) - 1 : (int64_t)(x >> 1);
}

/* ---- a case ------------------------------------------------------------------ */

typedef struct prop_case {
	size_t n;
	int64_t keys[PARTS_MAX];
	mpq_t weights[PARTS_MAX];
	mpz_t total;
} prop_case;

/* What the failure report and the SIGABRT handler (a CS_ASSERT inside the
 * allocator) print. */
static uint64_t current_seed;
static volatile int64_t current_index = -1;

static void write_u64(int fd, uint64_t v)
{
	char digits[24];
	size_t n = 0;

	do {
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	(void)!write(fd, digits + sizeof(digits) - n, n);
}

static void on_abort(int sig)
{
	static const char a[] = "\nalloc property: aborted in case ", b[] = " of seed ",
			  c[] = "; replay with CS_SEED=", d[] = "\n";

	(void)sig;
	(void)!write(2, a, sizeof(a) - 1);
	write_u64(2, (uint64_t)current_index);
	(void)!write(2, b, sizeof(b) - 1);
	write_u64(2, current_seed);
	(void)!write(2, c, sizeof(c) - 1);
	write_u64(2, current_seed);
	(void)!write(2, d, sizeof(d) - 1);
	signal(SIGABRT, SIG_DFL);
}

static void dump_case(const prop_case *c)
{
	size_t i;

	gmp_fprintf(stderr, "  total %Zd, %zu parts (key: weight):\n", c->total, c->n);
	for (i = 0; i < c->n; i++)
		gmp_fprintf(stderr, "    %lld: %Qd\n", (long long)c->keys[i], c->weights[i]);
}

/* Reports a failed property with the seed, the case and the case's data,
 * then fails the test. */
#define PROPERTY(cond, c, ...)                                                                  \
	do {                                                                                    \
		if (!(cond)) {                                                                  \
			fprintf(stderr, "alloc property failed: seed %llu, case %lld: ",        \
				(unsigned long long)current_seed, (long long)current_index);    \
			fprintf(stderr, __VA_ARGS__);                                           \
			fprintf(stderr, "\n");                                                  \
			dump_case(c);                                                           \
			fail_msg("replay with CS_SEED=%llu", (unsigned long long)current_seed); \
		}                                                                               \
	} while (0)

static void gen_keys(rng *r, prop_case *c)
{
	size_t i, k;
	uint64_t mode = rng_below(r, 4);

	for (i = 0; i < c->n; i++) {
		int duplicate;

		do {
			switch (mode) {
			case 0: /* small, with negatives: many collisions to redraw */
				c->keys[i] = (int64_t)rng_below(r, 60 + 2 * (uint64_t)c->n) - 15;
				break;
			case 1:
				c->keys[i] = rng_i64(r);
				break;
			case 2: /* near the extremes */
				c->keys[i] = rng_below(r, 2)
						     ? INT64_MIN + (int64_t)rng_below(r, 40)
						     : INT64_MAX - (int64_t)rng_below(r, 40);
				break;
			default: /* 0, 1, ... in a random order, like a fee's two sides */
				c->keys[i] = (int64_t)rng_below(r, 3 * (uint64_t)c->n);
				break;
			}
			for (duplicate = 0, k = 0; k < i; k++)
				duplicate |= c->keys[k] == c->keys[i];
		} while (duplicate);
	}
}

static void gen_weights(rng *r, prop_case *c)
{
	size_t i;
	int any_positive = 0;
	uint64_t mode = rng_below(r, 7), zero_per_mille = rng_below(r, 2) ? 0 : rng_below(r, 500);
	mpz_t big;

	mpz_init(big);
	/* near-equal huge weights: a common base beyond 2^64, small offsets */
	mpz_set_ui(big, (unsigned long)(rng_next(r) >> 1));
	mpz_mul_2exp(big, big, (mp_bitcnt_t)(1 + rng_below(r, 80)));
	for (i = 0; i < c->n; i++) {
		mpq_ptr w = c->weights[i];

		switch (mode) {
		case 0: /* small integers: many ties */
			mpq_set_ui(w, (unsigned long)rng_below(r, 11), 1);
			break;
		case 1: /* fractions, small or large denominators */
			mpq_set_ui(w, (unsigned long)rng_below(r, 1000),
				   (unsigned long)(1 + rng_below(r, rng_below(r, 2) ? 7 : 100000)));
			break;
		case 2: /* decimal rates like 33.3% */
			mpq_set_ui(w, (unsigned long)rng_below(r, 1001), 1000);
			break;
		case 3: /* capital interest: 3% * C * d / 365 */
			mpz_set_ui(mpq_numref(w), 3 * (unsigned long)rng_below(r, 10000000) *
							  (unsigned long)(1 + rng_below(r, 366)));
			mpz_set_ui(mpq_denref(w), 36500);
			break;
		case 4: /* huge, equal in their first 64 bits of fraction */
			mpz_add_ui(mpq_numref(w), big, (unsigned long)rng_below(r, 5));
			mpz_set_ui(mpq_denref(w), (unsigned long)(1 + rng_below(r, 3)));
			break;
		case 5: /* all equal */
			mpq_set_ui(w, 7, 3);
			break;
		default: /* anything up to 2^64 */
			mpz_set_ui(mpq_numref(w), (unsigned long)(rng_next(r) >> rng_below(r, 64)));
			mpz_set_ui(mpq_denref(w),
				   (unsigned long)(1 + (rng_next(r) >> rng_below(r, 64))));
			break;
		}
		if (rng_below(r, 1000) < zero_per_mille)
			mpq_set_ui(w, 0, 1);
		mpq_canonicalize(w);
		any_positive |= mpq_sgn(w) > 0;
	}
	if (!any_positive)
		mpq_set_ui(c->weights[rng_below(r, c->n)], 1 + (unsigned long)rng_below(r, 9), 1);
	mpz_clear(big);
}

static void gen_total(rng *r, prop_case *c)
{
	uint64_t mode = rng_below(r, 20);

	if (mode == 0)
		mpz_set_ui(c->total, 0);
	else if (mode < 6)
		mpz_set_ui(c->total, (unsigned long)rng_below(r, 21));
	else if (mode < 13)
		mpz_set_ui(c->total, (unsigned long)rng_below(r, 1000001));
	else if (mode < 16)
		mpz_set_ui(c->total, (unsigned long)(rng_next(r) >> 1));
	else { /* beyond 2^64 */
		mpz_set_ui(c->total, (unsigned long)rng_next(r));
		mpz_mul_2exp(c->total, c->total, (mp_bitcnt_t)(1 + rng_below(r, 80)));
		mpz_add_ui(c->total, c->total, (unsigned long)rng_next(r));
	}
	if (rng_below(r, 3) == 0)
		mpz_neg(c->total, c->total);
}

static void gen_case(rng *r, prop_case *c)
{
	uint64_t size = rng_below(r, 100);

	if (size < 85)
		c->n = 1 + (size_t)rng_below(r, 12);
	else if (size < 95)
		c->n = 13 + (size_t)rng_below(r, PARTS_MAX - 12);
	else
		c->n = 1 + (size_t)rng_below(r, 2);
	gen_keys(r, c);
	gen_weights(r, c);
	gen_total(r, c);
}

/* ---- the naive reference ----------------------------------------------------- */

/* Floors of the exact quotas, then the r = |T| - sum units one at a time:
 * each to the part with the largest fraction among those without one yet,
 * the smaller key on a tie. O(n r), exact mpq throughout. */
static void naive(const prop_case *c, mpz_t *out)
{
	mpq_t W, q, frac[PARTS_MAX];
	mpz_t T, r;
	int used[PARTS_MAX];
	size_t i;

	mpq_inits(W, q, NULL);
	mpz_inits(T, r, NULL);
	mpz_abs(T, c->total);
	for (i = 0; i < c->n; i++)
		mpq_add(W, W, c->weights[i]);
	mpz_set(r, T);
	for (i = 0; i < c->n; i++) {
		mpq_init(frac[i]);
		mpq_set_z(q, T);
		mpq_mul(q, q, c->weights[i]);
		mpq_div(q, q, W);
		mpz_fdiv_q(out[i], mpq_numref(q), mpq_denref(q));
		mpq_set_z(frac[i], out[i]);
		mpq_sub(frac[i], q, frac[i]);
		mpz_sub(r, r, out[i]);
		used[i] = 0;
	}
	while (mpz_sgn(r) > 0) {
		size_t pick = c->n;

		for (i = 0; i < c->n; i++) {
			int cmp;

			if (used[i])
				continue;
			if (pick == c->n) {
				pick = i;
				continue;
			}
			cmp = mpq_cmp(frac[i], frac[pick]);
			if (cmp > 0 || (cmp == 0 && c->keys[i] < c->keys[pick]))
				pick = i;
		}
		PROPERTY(pick < c->n, c, "naive reference: no part left for a unit");
		used[pick] = 1;
		mpz_add_ui(out[pick], out[pick], 1);
		mpz_sub_ui(r, r, 1);
	}
	for (i = 0; i < c->n; i++) {
		if (mpz_sgn(c->total) < 0)
			mpz_neg(out[i], out[i]);
		mpq_clear(frac[i]);
	}
	mpq_clears(W, q, NULL);
	mpz_clears(T, r, NULL);
}

/* ---- one case ---------------------------------------------------------------- */

typedef struct work {
	cs_alloc_part a[PARTS_MAX]; /* the case as given */
	cs_alloc_part b[PARTS_MAX]; /* shuffled, negated or scaled */
	size_t perm[PARTS_MAX];	    /* b[j] is the case's part perm[j] */
	mpz_t ref[PARTS_MAX];
	mpz_t T, sum, tmp;
	mpq_t W, q, d, scale;
} work;

static void run_lr(const prop_case *c, cs_alloc_part *parts, const size_t *perm, const mpz_t total,
		   const mpq_t scale)
{
	size_t j;

	for (j = 0; j < c->n; j++) {
		size_t i = perm ? perm[j] : j;

		parts[j].key = c->keys[i];
		mpq_set(parts[j].weight, c->weights[i]);
		if (scale)
			mpq_mul(parts[j].weight, parts[j].weight, scale);
		mpz_set_si(parts[j].part, -424242); /* overwritten */
	}
	PROPERTY(cs_alloc_largest_remainder(parts, c->n, total) == 0, c, "allocation failed");
}

static void check_case(const prop_case *c, work *w, rng *r)
{
	size_t i, j, extras = 0;
	int rank_seen[PARTS_MAX] = {0};
	int sign = mpz_sgn(c->total);

	run_lr(c, w->a, NULL, c->total, NULL);

	/* sum, quota, zero weight, sign */
	mpq_set_ui(w->W, 0, 1);
	for (i = 0; i < c->n; i++)
		mpq_add(w->W, w->W, c->weights[i]);
	mpz_set_ui(w->sum, 0);
	for (i = 0; i < c->n; i++) {
		mpz_add(w->sum, w->sum, w->a[i].part);
		mpq_set_z(w->q, c->total);
		mpq_mul(w->q, w->q, c->weights[i]);
		mpq_div(w->q, w->q, w->W); /* the exact quota */
		mpq_set_z(w->d, w->a[i].part);
		mpq_sub(w->d, w->d, w->q);
		mpq_abs(w->d, w->d);
		PROPERTY(mpq_cmp_ui(w->d, 1, 1) < 0, c,
			 "part of key %lld is 1 or more from its quota", (long long)c->keys[i]);
		PROPERTY(mpq_sgn(c->weights[i]) != 0 || mpz_sgn(w->a[i].part) == 0, c,
			 "zero weight of key %lld got a part", (long long)c->keys[i]);
		PROPERTY(mpz_sgn(w->a[i].part) == 0 || mpz_sgn(w->a[i].part) == sign, c,
			 "part of key %lld has the wrong sign", (long long)c->keys[i]);
		/* part = sign (floor |quota| + got_extra) */
		mpq_abs(w->q, w->q);
		mpz_fdiv_q(w->tmp, mpq_numref(w->q), mpq_denref(w->q));
		if (w->a[i].got_extra)
			mpz_add_ui(w->tmp, w->tmp, 1);
		if (sign < 0)
			mpz_neg(w->tmp, w->tmp);
		PROPERTY(mpz_cmp(w->tmp, w->a[i].part) == 0, c,
			 "part of key %lld is not its floor plus got_extra", (long long)c->keys[i]);
		PROPERTY(w->a[i].rank < c->n && !rank_seen[w->a[i].rank], c,
			 "ranks are not a permutation");
		rank_seen[w->a[i].rank] = 1;
		extras += w->a[i].got_extra != 0;
	}
	PROPERTY(mpz_cmp(w->sum, c->total) == 0, c, "parts do not sum to the total");
	for (i = 0; i < c->n; i++)
		PROPERTY((w->a[i].rank < extras) == (w->a[i].got_extra != 0), c,
			 "the extra units did not go to the first %zu ranks", extras);

	/* the naive reference */
	naive(c, w->ref);
	for (i = 0; i < c->n; i++)
		PROPERTY(mpz_cmp(w->a[i].part, w->ref[i]) == 0, c,
			 "key %lld: %s, the naive reference says %s", (long long)c->keys[i],
			 mpz_get_str(NULL, 10, w->a[i].part), mpz_get_str(NULL, 10, w->ref[i]));

	/* shuffled: the same per key */
	for (j = 0; j < c->n; j++) {
		size_t k = (size_t)rng_below(r, j + 1);

		w->perm[j] = w->perm[k];
		w->perm[k] = j;
	}
	run_lr(c, w->b, w->perm, c->total, NULL);
	for (j = 0; j < c->n; j++) {
		const cs_alloc_part *x = &w->a[w->perm[j]], *y = &w->b[j];

		PROPERTY(mpz_cmp(x->part, y->part) == 0 && x->rank == y->rank &&
				 x->got_extra == y->got_extra,
			 c, "shuffling the input changes the result of key %lld",
			 (long long)x->key);
	}

	/* negated total: every part negated */
	mpz_neg(w->T, c->total);
	run_lr(c, w->b, NULL, w->T, NULL);
	for (i = 0; i < c->n; i++) {
		mpz_neg(w->tmp, w->b[i].part);
		PROPERTY(mpz_cmp(w->tmp, w->a[i].part) == 0 && w->a[i].rank == w->b[i].rank, c,
			 "negating the total does not negate the part of key %lld",
			 (long long)c->keys[i]);
	}

	/* weights scaled by a positive rational: nothing changes */
	mpq_set_ui(w->scale, 1 + (unsigned long)rng_below(r, 1000000),
		   1 + (unsigned long)rng_below(r, 1000000));
	mpq_canonicalize(w->scale);
	run_lr(c, w->b, NULL, c->total, w->scale);
	for (i = 0; i < c->n; i++)
		PROPERTY(mpz_cmp(w->a[i].part, w->b[i].part) == 0, c,
			 "scaling the weights by %s changes the part of key %lld",
			 mpq_get_str(NULL, 10, w->scale), (long long)c->keys[i]);
}

/* ---- the test ------------------------------------------------------------------ */

/* A strict decimal (or 0x hex) uint64 from the environment, else def. */
static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);
	uint64_t v = 0, base = 10;
	size_t i = 0;

	if (s == NULL || s[0] == '\0')
		return def;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
	}
	if (s[i] == '\0')
		fail_msg("%s='%s' is not a number", name, s);
	for (; s[i] != '\0'; i++) {
		char ch = s[i];
		uint64_t digit = 0;

		if (ch >= '0' && ch <= '9')
			digit = (uint64_t)(ch - '0');
		else if (base == 16 && ch >= 'a' && ch <= 'f')
			digit = (uint64_t)(ch - 'a' + 10);
		else if (base == 16 && ch >= 'A' && ch <= 'F')
			digit = (uint64_t)(ch - 'A' + 10);
		else
			fail_msg("%s='%s' is not a number", name, s);
		if (v > (UINT64_MAX - digit) / base)
			fail_msg("%s='%s' is too large", name, s);
		v = v * base + digit;
	}
	return v;
}

static void test_alloc__property(void **state)
{
	uint64_t seed = env_u64("CS_SEED", SEED_DEFAULT);
	uint64_t cases = env_u64("CS_PROPERTY_CASES", CASES_DEFAULT), k;
	rng r = {seed};
	prop_case *c = calloc(1, sizeof(*c));
	work *w = calloc(1, sizeof(*w));
	size_t i;

	(void)state;
	assert_non_null(c);
	assert_non_null(w);
	current_seed = seed;
	printf("alloc property: seed %llu, %llu cases (CS_SEED and CS_PROPERTY_CASES override)\n",
	       (unsigned long long)seed, (unsigned long long)cases);
	fflush(stdout);
	signal(SIGABRT, on_abort);

	for (i = 0; i < PARTS_MAX; i++) {
		mpq_init(c->weights[i]);
		mpz_init(w->ref[i]);
	}
	mpz_init(c->total);
	cs_alloc_parts_init(w->a, PARTS_MAX);
	cs_alloc_parts_init(w->b, PARTS_MAX);
	mpz_inits(w->T, w->sum, w->tmp, NULL);
	mpq_inits(w->W, w->q, w->d, w->scale, NULL);

	for (k = 0; k < cases; k++) {
		current_index = (int64_t)k;
		gen_case(&r, c);
		check_case(c, w, &r);
	}
	current_index = -1;
	signal(SIGABRT, SIG_DFL);
	printf("alloc property: %llu cases passed, seed %llu\n", (unsigned long long)cases,
	       (unsigned long long)seed);

	for (i = 0; i < PARTS_MAX; i++) {
		mpq_clear(c->weights[i]);
		mpz_clear(w->ref[i]);
	}
	mpz_clear(c->total);
	cs_alloc_parts_clear(w->a, PARTS_MAX);
	cs_alloc_parts_clear(w->b, PARTS_MAX);
	mpz_clears(w->T, w->sum, w->tmp, NULL);
	mpq_clears(w->W, w->q, w->d, w->scale, NULL);
	free(c);
	free(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc__property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
