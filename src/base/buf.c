/*
 * buf.c -- growable byte buffer (see buf.h).
 */
#include "coopsettle/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/error.h"

void cs_buf_init(cs_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void cs_buf_free(cs_buf *b)
{
	free(b->data);
	cs_buf_init(b);
}

void cs_buf_reset(cs_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void cs_buf_grow(cs_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (need <= b->cap)
		return;
	while (cap < need) {
		CS_ASSERT(cap < ((size_t)1 << 40));
		cap *= 2;
	}
	p = realloc(b->data, cap);
	CS_ASSERT(p != NULL);
	b->data = p;
	b->cap = cap;
}

void cs_buf_puts(cs_buf *b, const char *s)
{
	cs_buf_put(b, s, strlen(s));
}

void cs_buf_printf(cs_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	CS_ASSERT(n >= 0);
	cs_buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void cs_buf_put_i128(cs_buf *b, cs_i128 v)
{
	char tmp[48];
	size_t n = cs_i128_format(tmp, v);

	cs_buf_put(b, tmp, n);
}
