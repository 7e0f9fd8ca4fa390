/*
 * copybin.h -- parsing and writing PostgreSQL's binary COPY format (pure;
 * no libpq). One CopyData message carries one tuple; the first one also
 * carries the file header.
 */
#ifndef COOPSETTLE_COPYBIN_H
#define COOPSETTLE_COPYBIN_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/buf.h"
#include "coopsettle/i128.h"

#define CS_COPYBIN_FIELDS_MAX 16

/* Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01. */
#define CS_PG_EPOCH_OFFSET_US INT64_C(946684800000000)
/* Days from 1970-01-01 to 2000-01-01, the epoch of a binary date. */
#define CS_PG_EPOCH_DAYS INT64_C(10957)

typedef struct cs_copybin_field {
	int is_null;
	const char *data; /* points into the message */
	size_t len;
} cs_copybin_field;

typedef struct cs_copybin_reader {
	int header_done;
	int trailer_seen;
} cs_copybin_reader;

/*
 * Parses one CopyData message. Returns 1 with the tuple's fields in
 * fields[0..*n) (at most CS_COPYBIN_FIELDS_MAX), 0 for the trailer, or -1
 * when the message is malformed (*why set to a static message).
 */
int cs_copybin_parse(cs_copybin_reader *r, const char *msg, size_t len,
		     cs_copybin_field *fields, size_t *n, const char **why);

/* Decodes a big-endian int64 field (8 bytes); returns -1 on a wrong size. */
int cs_copybin_int8(const cs_copybin_field *f, int64_t *out);

/* Decodes a big-endian int32 field (4 bytes; a date is days since 2000-01-01). */
int cs_copybin_int4(const cs_copybin_field *f, int32_t *out);

/* Decodes a numeric field of scale 0 (numeric_send's form) whose magnitude
 * is below 2^126; returns -1 for anything else (a fraction, NaN, infinity,
 * a larger value, a malformed field). */
int cs_copybin_numeric(const cs_copybin_field *f, cs_i128 *out);

/*
 * Writing binary COPY (COPY ... FROM STDIN (FORMAT binary)): the header once,
 * then per tuple its field count and fields, then the trailer. Integers are
 * big-endian; a numeric is PostgreSQL's base-10000 form (numeric_send).
 */
void cs_copybin_put_header(cs_buf *b);
void cs_copybin_put_nfields(cs_buf *b, int16_t n);
void cs_copybin_put_null(cs_buf *b);
void cs_copybin_put_int8(cs_buf *b, int64_t v);
void cs_copybin_put_int4(cs_buf *b, int32_t v);
void cs_copybin_put_text(cs_buf *b, const char *s, size_t n);
/* v as a numeric with scale 0. */
void cs_copybin_put_numeric(cs_buf *b, cs_i128 v);
void cs_copybin_put_bool(cs_buf *b, int v);
/* The head of a one-dimensional array field of n elements (lower bound 1)
 * of type elem_oid, whose elements, written next as fields (the put
 * functions above, NULL included), take elem_bytes in all. */
void cs_copybin_put_array_head(cs_buf *b, uint32_t elem_oid, int32_t n, int has_null,
			       size_t elem_bytes);
/* Type OIDs of array elements (pg_type.h). */
#define CS_OID_BOOL 16
#define CS_OID_INT8 20
#define CS_OID_TEXT 25
void cs_copybin_put_trailer(cs_buf *b);

/* Appends n bytes of s to b escaped for COPY's text format. */
void cs_copybin_escape_text(cs_buf *b, const char *s, size_t n);

#endif
