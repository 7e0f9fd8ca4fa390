/*
 * i128.h -- 128-bit integers for sums of 64-bit amounts.
 *
 * Bound: an amount is an int64 (|g| <= 2^63) and a fee never exceeds its
 * amount, so one ledger line is at most 2^64 in magnitude, and a sum over
 * fewer than 2^62 rows stays below 2^126. Every sum coopsettle keeps in a
 * cs_i128 is of that kind; the add helpers assert the bound anyway.
 */
#ifndef COOPSETTLE_I128_H
#define COOPSETTLE_I128_H

#include <gmp.h>
#include <stddef.h>

__extension__ typedef __int128 cs_i128;
__extension__ typedef unsigned __int128 cs_u128;

/* Largest magnitude a running sum may reach (2^126). */
#define CS_I128_SUM_MAX (((cs_i128)1) << 126)

/* Adds v to *sum, asserting the documented bound. */
void cs_i128_add(cs_i128 *sum, cs_i128 v);

/* Writes v in decimal into buf (at least 41 bytes); returns the length. */
size_t cs_i128_format(char *buf, cs_i128 v);

/* Sets z to v. */
void cs_i128_to_mpz(mpz_t z, cs_i128 v);

/* Returns z as a cs_i128; asserts that |z| < 2^126. */
cs_i128 cs_i128_from_mpz(const mpz_t z);

#endif
