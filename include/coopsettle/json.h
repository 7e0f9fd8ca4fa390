/*
 * json.h -- a small JSON writer into a cs_buf.
 *
 * Written here rather than taken from jansson because statement amounts are
 * exact integers that can exceed 64 bits (sums of int64 amounts), and
 * jansson's integers are `long long`. Output is deterministic: keys in the
 * order written, no spaces, strings escaped per RFC 8259 with invalid UTF-8
 * replaced by U+FFFD.
 */
#ifndef COOPSETTLE_JSON_H
#define COOPSETTLE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/i128.h"

#define CS_JSON_DEPTH_MAX 16

typedef struct cs_json {
	cs_buf *out;
	int depth;
	int first[CS_JSON_DEPTH_MAX]; /* no member written yet at this depth */
	int after_key;
} cs_json;

/* Starts writing into out (which the caller owns). */
void cs_json_init(cs_json *j, cs_buf *out);

void cs_json_object_begin(cs_json *j);
void cs_json_object_end(cs_json *j);
void cs_json_array_begin(cs_json *j);
void cs_json_array_end(cs_json *j);
/* Writes a key inside an object; the next value belongs to it. */
void cs_json_key(cs_json *j, const char *key);
void cs_json_string(cs_json *j, const char *s);
void cs_json_string_n(cs_json *j, const char *s, size_t n);
void cs_json_int(cs_json *j, cs_i128 v);
void cs_json_null(cs_json *j);
void cs_json_bool(cs_json *j, int v);
/* Writes pre-formatted JSON text (a number such as an mpz in decimal). */
void cs_json_raw(cs_json *j, const char *text);

#endif
