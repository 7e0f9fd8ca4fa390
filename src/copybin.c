/*
 * copybin.c -- binary COPY tuples (see copybin.h).
 */
#include "coopsettle/copybin.h"

#include <string.h>

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
