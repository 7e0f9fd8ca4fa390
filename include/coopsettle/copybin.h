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

#define CS_COPYBIN_FIELDS_MAX 16

/* Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01. */
#define CS_PG_EPOCH_OFFSET_US INT64_C(946684800000000)

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

#endif
