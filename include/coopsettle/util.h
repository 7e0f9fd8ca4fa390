/*
 * util.h -- small strict parsers shared by the edges (command line, SQL
 * results). No atoi/strtol: every digit is checked.
 */
#ifndef COOPSETTLE_UTIL_H
#define COOPSETTLE_UTIL_H

#include <stdint.h>

/* Parses an optional '-' and 1..19 decimal digits into *out, rejecting
 * overflow and anything else. Returns 0 or -1. */
int cs_parse_i64(const char *s, int64_t *out);

#endif
