/*
 * alloc.h -- largest-remainder allocation LR(T, parts) (spec section 2).
 *
 * Splits an integer total into integer parts proportional to exact weights,
 * summing to the total exactly. Ties in the fractional part go to the part
 * with the smaller key first, so the result depends only on the keys and
 * weights, never on the order the parts are given in.
 */
#ifndef COOPSETTLE_ALLOC_H
#define COOPSETTLE_ALLOC_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

/* One part. key orders ties (member id; 0 producer, 1 consumer for the two
 * sides of a fee; config position for classes). Keys must be distinct.
 * weight >= 0 is input, part is output; both are initialised by the caller
 * (cs_alloc_part_init) and owned by it. */
typedef struct cs_alloc_part {
	int64_t key;
	mpq_t weight;
	mpz_t part;
	/* Filled in for explanations: the rank (0-based) of this part in the
	 * largest-remainder order, and whether it received an extra unit. */
	size_t rank;
	int got_extra;
} cs_alloc_part;

/* Initialises the GMP fields of n parts (weight 0, part 0). */
void cs_alloc_parts_init(cs_alloc_part *parts, size_t n);

/* Clears the GMP fields of n parts; the array itself stays the caller's. */
void cs_alloc_parts_clear(cs_alloc_part *parts, size_t n);

/*
 * Allocates total over parts by largest remainder. The sum of weights must be
 * > 0 and every weight >= 0 (asserted: callers decide what W = 0 means).
 * total < 0 allocates |total| and negates every part. Afterwards the parts
 * sum to total exactly (asserted). Returns 0, or -1 if memory for the
 * ordering could not be allocated.
 */
int cs_alloc_largest_remainder(cs_alloc_part *parts, size_t n, const mpz_t total);

#endif
