/*
 * buf.h -- a growable byte buffer for building COPY data, canonical forms
 * and JSON without fixed-size limits.
 */
#ifndef COOPSETTLE_BUF_H
#define COOPSETTLE_BUF_H

#include <stddef.h>

#include "coopsettle/i128.h"

typedef struct cs_buf {
	char *data; /* NUL-terminated while len < cap */
	size_t len;
	size_t cap;
} cs_buf;

/* Initialises an empty buffer (no allocation yet). */
void cs_buf_init(cs_buf *b);

/* Frees the buffer's memory; the struct is the caller's. */
void cs_buf_free(cs_buf *b);

/* Empties the buffer, keeping its memory. */
void cs_buf_reset(cs_buf *b);

/* Appends n bytes. Aborts on out-of-memory (asserted): every buffer is
 * bounded by what one run keeps, which is bounded by the parties. */
void cs_buf_put(cs_buf *b, const void *data, size_t n);

/* Appends a NUL-terminated string. */
void cs_buf_puts(cs_buf *b, const char *s);

/* Appends one byte. */
void cs_buf_putc(cs_buf *b, char c);

/* Appends printf-formatted text. */
void cs_buf_printf(cs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends v in decimal. */
void cs_buf_put_i128(cs_buf *b, cs_i128 v);

#endif
