/*
 * buf.h -- a growable byte buffer for building COPY data, canonical forms
 * and JSON without fixed-size limits.
 */
#ifndef COOPSETTLE_BUF_H
#define COOPSETTLE_BUF_H

#include <stddef.h>
#include <string.h>

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

/* Makes room for extra more bytes and the NUL. Aborts on out-of-memory
 * (asserted): every buffer is bounded by what one run keeps, which is
 * bounded by the parties. */
void cs_buf_grow(cs_buf *b, size_t extra);

/* Appends n bytes. Inline: the per-field appends of COPY tuples and
 * canonical lines are the engine's hottest path (docs/performance.md). */
static inline void cs_buf_put(cs_buf *b, const void *data, size_t n)
{
	if (b->len + n >= b->cap)
		cs_buf_grow(b, n);
	if (n)
		memcpy(b->data + b->len, data, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Appends a NUL-terminated string. */
void cs_buf_puts(cs_buf *b, const char *s);

/* Appends one byte. */
static inline void cs_buf_putc(cs_buf *b, char c)
{
	if (b->len + 1 >= b->cap)
		cs_buf_grow(b, 1);
	b->data[b->len++] = c;
	b->data[b->len] = '\0';
}

/* Appends printf-formatted text. */
void cs_buf_printf(cs_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends v in decimal. */
void cs_buf_put_i128(cs_buf *b, cs_i128 v);

#endif
