/*
 * num.h -- exact numbers: the strict grammar for rates and money (spec
 * section 1) and the five rounding modes.
 *
 * Nothing here touches binary floating point. Every parser bounds the number
 * of digits (CS_NUMBER_DIGITS_MAX) so every GMP value stays small.
 */
#ifndef COOPSETTLE_NUM_H
#define COOPSETTLE_NUM_H

#include <gmp.h>
#include <stddef.h>

typedef enum cs_rounding {
	CS_ROUND_HALF_EVEN = 0, /* default */
	CS_ROUND_HALF_UP,       /* ties away from zero */
	CS_ROUND_HALF_DOWN,     /* ties toward zero */
	CS_ROUND_DOWN,          /* floor of the magnitude */
	CS_ROUND_UP,            /* ceiling of the magnitude */
} cs_rounding;

/*
 * Parses a rate: `7.5%`, `0.075` or `3/40` (spec section 1).
 * Grammar (no sign, no spaces, no exponent, no leading '.', no ','):
 *   rate    := decimal '%' | decimal | digits '/' digits
 *   decimal := digits ( '.' digits )?
 * The denominator of a fraction must be > 0 and the value must lie in
 * [0, 1]. At most CS_NUMBER_DIGITS_MAX digits in all.
 * text is len bytes, not necessarily NUL-terminated. On success sets out
 * (which the caller has initialised and owns) and returns 0; on failure
 * returns -1 and, when why is not NULL, points *why at a static message.
 */
int cs_rate_parse(mpq_t out, const char *text, size_t len, const char **why);

/*
 * Parses money in major units: `0.50`, `12000`, `-3.10`.
 * Grammar: '-'? digits ( '.' digits )? with at most CS_NUMBER_DIGITS_MAX
 * digits. Same conventions as cs_rate_parse. The result is exact (a decimal
 * fraction); exactness in minor units is checked by cs_money_to_minor.
 */
int cs_money_parse(mpq_t out, const char *text, size_t len, const char **why);

/*
 * Converts money in major units to minor units of a currency with the given
 * exponent: out = major * 10^exponent. Returns 0, or -1 when the value is
 * not a whole number of minor units (0.505 with exponent 2). out is the
 * caller's, initialised.
 */
int cs_money_to_minor(mpz_t out, const mpq_t major, unsigned exponent);

/*
 * Rounds the exact value x to a whole number with the given mode: the
 * magnitude is rounded and the sign put back, so round(-x) == -round(x).
 * out is the caller's, initialised; x is not changed.
 */
void cs_round(mpz_t out, const mpq_t x, cs_rounding mode);

/*
 * Parses a rounding mode name (`half_even`, `half_up`, `half_down`, `down`,
 * `up`). Returns 0 and sets *out, or -1 for an unknown name.
 */
int cs_rounding_parse(const char *name, cs_rounding *out);

/* Returns the config name of a rounding mode (static string). */
const char *cs_rounding_name(cs_rounding mode);

/*
 * Writes the exact decimal expansion of x when it terminates, else the
 * decimal rounded half-even to `digits` places followed by "...", into buf
 * (NUL-terminated, truncated to size). For explanations only, never for
 * arithmetic.
 */
void cs_q_to_decimal(char *buf, size_t size, const mpq_t x, unsigned digits);

#endif
