/*
 * amount.h -- exact decimal text of amounts kept in minor units, for the
 * documents the audit commands write (explanations, journals, statements).
 *
 * The digits of the integer are placed around a decimal point, never
 * computed through a fraction: -1234 at exponent 2 is "-12.34", at exponent
 * 0 "-1234", at exponent 3 "-1.234". No floating point anywhere.
 */
#ifndef COOPSETTLE_AMOUNT_H
#define COOPSETTLE_AMOUNT_H

#include <stddef.h>

#include "coopsettle/i128.h"

/* Room for any cs_i128 at any exponent up to CS_EXPONENT_MAX, with sign,
 * point and NUL. */
#define CS_AMOUNT_TEXT_BYTES 64

/* Writes minor at exponent (0..CS_EXPONENT_MAX) as exact decimal text into
 * buf (CS_AMOUNT_TEXT_BYTES bytes) and returns buf. */
char *cs_amount_format(char *buf, cs_i128 minor, unsigned exponent);

/* Parses a decimal integer (an optional '-' and 1 to 38 digits, as
 * PostgreSQL prints numeric(40, 0)) into *out. Returns 0, or -1 for
 * anything else (NULL, empty, other characters, too many digits). */
int cs_amount_parse(const char *text, cs_i128 *out);

#endif
