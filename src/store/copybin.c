/*
 * copybin.c -- binary COPY tuples (see copybin.h).
 */
#include "coopsettle/copybin.h"

#include <string.h>

#include "coopsettle/error.h"


static const char signature[11] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', '\377', '\r', '\n', '\0'};

static uint32_t be32(const char *p)
{
	const unsigned char *u = (const unsigned char *)p;

	return (uint32_t)u[0] << 24 | (uint32_t)u[1] << 16 | (uint32_t)u[2] << 8 | u[3];
}

int cs_copybin_parse(cs_copybin_reader *r, const char *msg, size_t len,
		     cs_copybin_field *fields, size_t *n, const char **why)
{
	size_t pos = 0, i, count;
	int16_t nf;

	*n = 0;
	if (!r->header_done) {
		uint32_t ext;

		if (len < 19 || memcmp(msg, signature, sizeof(signature)) != 0) {
			*why = "bad binary COPY header";
			return -1;
		}
		ext = be32(msg + 15);
		if (ext > len - 19) {
			*why = "bad binary COPY header extension";
			return -1;
		}
		pos = 19 + ext;
		r->header_done = 1;
		if (pos == len) {
			*why = "binary COPY header without a tuple";
			return -1;
		}
	}
	if (len - pos < 2) {
		*why = "truncated binary COPY tuple";
		return -1;
	}
	nf = (int16_t)(((unsigned char)msg[pos] << 8) | (unsigned char)msg[pos + 1]);
	pos += 2;
	if (nf == -1) {
		r->trailer_seen = 1;
		return 0;
	}
	if (nf < 0 || nf > CS_COPYBIN_FIELDS_MAX) {
		*why = "unexpected field count in binary COPY";
		return -1;
	}
	count = (size_t)nf;
	for (i = 0; i < count; i++) {
		uint32_t flen;

		if (len - pos < 4) {
			*why = "truncated binary COPY field";
			return -1;
		}
		flen = be32(msg + pos);
		pos += 4;
		if (flen == 0xffffffffu) {
			fields[i].is_null = 1;
			fields[i].data = NULL;
			fields[i].len = 0;
			continue;
		}
		if (flen > len - pos) {
			*why = "truncated binary COPY field";
			return -1;
		}
		fields[i].is_null = 0;
		fields[i].data = msg + pos;
		fields[i].len = flen;
		pos += flen;
	}
	if (pos != len) {
		*why = "trailing bytes after binary COPY tuple";
		return -1;
	}
	*n = count;
	return 1;
}

int cs_copybin_int8(const cs_copybin_field *f, int64_t *out)
{
	if (f->len != 8)
		return -1;
	*out = (int64_t)((uint64_t)be32(f->data) << 32 | be32(f->data + 4));
	return 0;
}

int cs_copybin_int4(const cs_copybin_field *f, int32_t *out)
{
	if (f->len != 4)
		return -1;
	*out = (int32_t)be32(f->data);
	return 0;
}

/* numeric_send's form (see cs_copybin_put_numeric): a value with a fraction,
 * a NaN or an infinity, or a magnitude of 2^126 or more, is refused. */
int cs_copybin_numeric(const cs_copybin_field *f, cs_i128 *out)
{
	const unsigned char *p = (const unsigned char *)f->data;
	int ndigits, weight, sign, i, k;
	cs_u128 m = 0;

	if (f->len < 8)
		return -1;
	ndigits = p[0] << 8 | p[1];
	weight = (int16_t)(p[2] << 8 | p[3]);
	sign = p[4] << 8 | p[5];
	if (f->len != 8 + 2 * (size_t)ndigits || (sign != 0x0000 && sign != 0x4000))
		return -1;
	if (ndigits && weight < ndigits - 1)
		return -1; /* digits after the decimal point */
	if (ndigits && weight > 9)
		return -1; /* 10000^10 > 2^126 */
	for (i = 0; i <= (ndigits ? weight : -1); i++) {
		k = i < ndigits ? (p[8 + 2 * i] << 8 | p[9 + 2 * i]) : 0;
		if (k > 9999)
			return -1;
		m = m * 10000 + (cs_u128)(unsigned)k;
	}
	if (m >= (cs_u128)CS_I128_SUM_MAX)
		return -1;
	*out = sign == 0x4000 ? -(cs_i128)m : (cs_i128)m;
	return 0;
}

/* ---- writing ---- */

static void put_be(cs_buf *b, uint64_t v, int bytes)
{
	char out[8];
	int i;

	for (i = 0; i < bytes; i++)
		out[i] = (char)(unsigned char)(v >> (8 * (bytes - 1 - i)));
	cs_buf_put(b, out, (size_t)bytes);
}

void cs_copybin_put_header(cs_buf *b)
{
	cs_buf_put(b, signature, sizeof(signature));
	put_be(b, 0, 4); /* flags: no OIDs */
	put_be(b, 0, 4); /* no header extension */
}

void cs_copybin_put_nfields(cs_buf *b, int16_t n)
{
	put_be(b, (uint16_t)n, 2);
}

void cs_copybin_put_null(cs_buf *b)
{
	put_be(b, UINT32_MAX, 4); /* length -1 */
}

void cs_copybin_put_int8(cs_buf *b, int64_t v)
{
	put_be(b, 8, 4);
	put_be(b, (uint64_t)v, 8);
}

void cs_copybin_put_int4(cs_buf *b, int32_t v)
{
	put_be(b, 4, 4);
	put_be(b, (uint32_t)v, 4);
}

void cs_copybin_put_text(cs_buf *b, const char *s, size_t n)
{
	CS_ASSERT(n <= INT32_MAX);
	put_be(b, (uint32_t)n, 4);
	cs_buf_put(b, s, n);
}

/* numeric_send: ndigits, weight, sign, dscale (int16 each), then ndigits
 * base-10000 digits, most significant first; weight is the power of 10000
 * of the first digit. |v| < 2^127 < 10000^10. */
void cs_copybin_put_numeric(cs_buf *b, cs_i128 v)
{
	cs_u128 m = v < 0 ? (cs_u128)0 - (cs_u128)v : (cs_u128)v;
	uint16_t digits[10];
	int n = 0, i;

	while (m) {
		digits[n++] = (uint16_t)(m % 10000);
		m /= 10000;
	}
	put_be(b, (uint32_t)(8 + 2 * n), 4);
	put_be(b, (uint16_t)n, 2);
	put_be(b, (uint16_t)(n ? n - 1 : 0), 2);
	put_be(b, v < 0 ? 0x4000 : 0x0000, 2);
	put_be(b, 0, 2);
	for (i = n - 1; i >= 0; i--)
		put_be(b, digits[i], 2);
}

void cs_copybin_put_bool(cs_buf *b, int v)
{
	put_be(b, 1, 4);
	put_be(b, v ? 1 : 0, 1);
}

/* array_send: ndim, has-null flag, element type, then per dimension its
 * length and lower bound; the elements follow as fields. */
void cs_copybin_put_array_head(cs_buf *b, uint32_t elem_oid, int32_t n, int has_null,
			       size_t elem_bytes)
{
	CS_ASSERT(n >= 0 && elem_bytes <= (size_t)INT32_MAX - 20);
	put_be(b, 20 + elem_bytes, 4);
	put_be(b, 1, 4);
	put_be(b, has_null ? 1 : 0, 4);
	put_be(b, elem_oid, 4);
	put_be(b, (uint32_t)n, 4);
	put_be(b, 1, 4);
}

void cs_copybin_put_trailer(cs_buf *b)
{
	put_be(b, 0xFFFF, 2); /* field count -1 */
}

void cs_copybin_escape_text(cs_buf *b, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = s[i];

		switch (c) {
		case '\\':
			cs_buf_puts(b, "\\\\");
			break;
		case '\t':
			cs_buf_puts(b, "\\t");
			break;
		case '\n':
			cs_buf_puts(b, "\\n");
			break;
		case '\r':
			cs_buf_puts(b, "\\r");
			break;
		default:
			cs_buf_putc(b, c);
		}
	}
}
