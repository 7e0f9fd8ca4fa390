/*
 * util.h -- small strict parsers shared by the edges (command line, SQL
 * results; no atoi/strtol: every digit is checked), and the cleaning of
 * text that came from a database or a file before it reaches a terminal.
 */
#ifndef COOPSETTLE_UTIL_H
#define COOPSETTLE_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Parses an optional '-' and 1..19 decimal digits into *out, rejecting
 * overflow and anything else. Returns 0 or -1. */
int cs_parse_i64(const char *s, int64_t *out);

/* Bytes of the well-formed UTF-8 character at t (n bytes left; RFC 3629:
 * no overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
size_t cs_utf8_char_len(const unsigned char *t, size_t n);

/* Makes the n bytes at s safe to print on a terminal, in place: control
 * bytes (ESC, CR, BS, ...; a line break too unless keep_newlines) and bytes
 * that are not UTF-8 become '?'. A category or an account name from the
 * database can then neither move the cursor nor forge a line. */
void cs_text_clean(char *s, size_t n, int keep_newlines);

/* A cleaned copy of s (NULL: "NULL") for a message, at most about 200
 * bytes (longer text ends in "..."). The copy lives in one of 8 static
 * buffers used in turn: enough for the arguments of one printf; not for
 * threads. */
const char *cs_text_shown(const char *s);

/* The longest schema name PostgreSQL keeps (NAMEDATALEN - 1). */
#define CS_SCHEMA_NAME_MAX 63

/* Checks the name of the schema that holds the engine's tables (config key
 * `schema`, option --schema): 1 to 63 bytes of lowercase ASCII letters,
 * digits and '_', not starting with a digit, not 'public',
 * 'information_schema' or a name starting with 'pg_' (PostgreSQL's own).
 * Quoted, such a name is itself between the quotes and means what it means
 * unquoted. Returns NULL when it is fine, else why not (a static string). */
const char *cs_schema_name_problem(const char *name, size_t len);

#endif
