/*
 * fee.h -- the fee of one transaction (spec section 5), pure and exact.
 *
 * A cs_fee_calc holds GMP scratch variables reused across rows, so the hot
 * path allocates nothing per transaction. It also holds, per rule and
 * currency, the rule's numbers as 128-bit integers when they are small
 * enough (rate denominators up to 2^40, money below 2^62 minor units): the
 * fee is then computed exactly without GMP, with the same result bit for
 * bit (tests/unit/test_fee_fastpath.c checks that on random rules).
 */
#ifndef COOPSETTLE_FEE_H
#define COOPSETTLE_FEE_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "coopsettle/alloc.h"
#include "coopsettle/config.h"
#include "coopsettle/i128.h"

/* A transaction as the fee rules see it; the validity checks of spec
 * section 4 have been made before. */
typedef struct cs_fee_input {
	int64_t amount_minor;   /* g */
	size_t currency;        /* index into cfg->currencies */
	const char *category;   /* NULL for SQL NULL; not NUL-terminated */
	size_t category_len;
	int producer_member;    /* producer_id is a member of class producer */
	int consumer_member;    /* consumer_id is a member of class consumer (0 for guests) */
	int64_t day;            /* version 2: the local day, for when.from / when.until */
} cs_fee_input;

/* The result: the rule that matched and the signed fee and its split
 * (f = f_p + f_c, signs of g); with VAT (version 2, spec 10.8) each side's
 * VAT t, sign of g: the side pays f + t (VAT excluded) or f (included),
 * and its net fee is what it pays less t. */
typedef struct cs_fee_result {
	int rule_index; /* -1: no rule matches */
	cs_i128 fee_minor;
	cs_i128 fee_producer_minor;
	cs_i128 fee_consumer_minor;
	cs_i128 vat_producer_minor;
	cs_i128 vat_consumer_minor;
} cs_fee_result;

/* What side fee f with VAT t makes the side pay (gross) and its net fee. */
cs_i128 cs_fee_paid(const cs_rule *rule, cs_i128 f, cs_i128 t);
cs_i128 cs_fee_net(const cs_rule *rule, cs_i128 f, cs_i128 t);

typedef struct cs_fee_fast cs_fee_fast; /* private to fee.c */

typedef struct cs_fee_calc {
	const cs_config *cfg;
	mpz_t a, f, t, lo, hi;
	mpq_t raw, q;
	cs_alloc_part split[2];
	cs_fee_fast *fast; /* n_rules * n_currencies entries, owned */
	/* per rule with VAT: the factor of |f| that is its VAT, rate
	 * (excluded) or rate / (1 + rate) (included); as 128-bit num / den
	 * when small (vat_fast) */
	mpq_t *vat_q;
	cs_i128 *vat_num, *vat_den;
	unsigned char *vat_fast;
} cs_fee_calc;

/* Initialises calc for cfg (which must outlive it). */
void cs_fee_calc_init(cs_fee_calc *calc, const cs_config *cfg);

/* Frees calc's scratch variables. */
void cs_fee_calc_clear(cs_fee_calc *calc);

/* Index of the first rule whose `when` matches in, or -1. */
int cs_fee_match(const cs_config *cfg, const cs_fee_input *in);

/*
 * Computes the fee of in. Returns the matched rule index in out->rule_index
 * (-1 when none matches, other fields then 0). |f| <= |g| <= 2^63.
 */
void cs_fee_compute(cs_fee_calc *calc, const cs_fee_input *in, cs_fee_result *out);

/* The same as cs_fee_compute, always with GMP: the reference the 128-bit
 * path is tested against. */
void cs_fee_compute_exact(cs_fee_calc *calc, const cs_fee_input *in, cs_fee_result *out);

/* 1 when cs_fee_compute takes the 128-bit path for rule index r in
 * currency index cur, else 0 (for tests). */
int cs_fee_fast_applies(const cs_fee_calc *calc, size_t r, size_t cur);

/*
 * The exact fee before rounding of in under rule (a non-negative rational,
 * the magnitude), written to raw. For explanations.
 */
void cs_fee_raw(cs_fee_calc *calc, const cs_rule *rule, const cs_fee_input *in, mpq_t raw);

#endif
