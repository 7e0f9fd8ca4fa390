/*
 * inputs.c -- the input snapshot of a settle run (see inputs.h): rows
 * gathered into chunks of CS_INPUT_CHUNK_ROWS, one array per column, each
 * chunk spooled as a binary COPY tuple to an unlinked temporary file, then
 * copied into coopsettle.run_input_chunks.
 */
#include "coopsettle/inputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coopsettle/buf.h"
#include "coopsettle/copybin.h"
#include "coopsettle/schema.h"

/* stdio buffer of the spool file: chunks are written in large blocks. */
#define SPOOL_BUFFER_BYTES (1024 * 1024)

/* The array columns of run_input_chunks, in its column order. */
enum { COL_ID, COL_AT, COL_PRODUCER, COL_CONSUMER, COL_AMOUNT, COL_CURRENCY, COL_CATEGORY,
       COL_PMEMBER, COL_CMEMBER, N_COLS };

static const uint32_t col_oid[N_COLS] = {
	CS_OID_INT8, CS_OID_INT8, CS_OID_INT8, CS_OID_INT8, CS_OID_INT8,
	CS_OID_TEXT, CS_OID_TEXT, CS_OID_BOOL, CS_OID_BOOL,
};

struct cs_input_spool {
	FILE *f;
	char *vbuf;
	char dir[256];
	int64_t run_id;
	int64_t rows;
	int write_errno; /* first write error, 0 if none */
	int32_t in_chunk;    /* rows in the chunk being gathered */
	int has_null[N_COLS];
	cs_buf col[N_COLS]; /* the elements of each array of that chunk */
	cs_buf tuple;
};

cs_input_spool *cs_input_spool_new(int64_t run_id, cs_error *err)
{
	cs_input_spool *sp = calloc(1, sizeof(*sp));
	const char *dir = getenv("TMPDIR");
	char path[300];
	int fd, i;

	CS_ASSERT(sp != NULL);
	if (!dir || !*dir || strlen(dir) >= sizeof(sp->dir))
		dir = "/tmp";
	snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/coopsettle-inputs.XXXXXX", sp->dir);
	fd = mkstemp(path);
	if (fd < 0) {
		cs_error_set(err, cs_exit_for_errno(errno),
			     "cannot create a temporary file in '%s' for the input snapshot", sp->dir);
		cs_error_detail(err, "%s", strerror(errno));
		cs_error_hint(err, "Set TMPDIR to a writable directory with room for about 130 "
				   "bytes per transaction of the window.");
		free(sp);
		return NULL;
	}
	unlink(path); /* gone when closed, whatever happens to the process */
	sp->f = fdopen(fd, "w+b");
	CS_ASSERT(sp->f != NULL);
	sp->vbuf = malloc(SPOOL_BUFFER_BYTES);
	CS_ASSERT(sp->vbuf != NULL);
	setvbuf(sp->f, sp->vbuf, _IOFBF, SPOOL_BUFFER_BYTES);
	sp->run_id = run_id;
	for (i = 0; i < N_COLS; i++)
		cs_buf_init(&sp->col[i]);
	cs_buf_init(&sp->tuple);
	cs_copybin_put_header(&sp->tuple);
	return sp;
}

static void put_i64(cs_input_spool *sp, int c, int has, int64_t v)
{
	if (has) {
		cs_copybin_put_int8(&sp->col[c], v);
	} else {
		cs_copybin_put_null(&sp->col[c]);
		sp->has_null[c] = 1;
	}
}

static void put_str(cs_input_spool *sp, int c, int has, const char *s, size_t n)
{
	if (has) {
		cs_copybin_put_text(&sp->col[c], s, n);
	} else {
		cs_copybin_put_null(&sp->col[c]);
		sp->has_null[c] = 1;
	}
}

static void spool_write(cs_input_spool *sp, cs_buf *b)
{
	if (!sp->write_errno && b->len > 0 && fwrite(b->data, 1, b->len, sp->f) != b->len)
		sp->write_errno = errno ? errno : EIO;
	cs_buf_reset(b);
}

/* Appends the gathered chunk as one tuple of run_input_chunks. */
static void flush_chunk(cs_input_spool *sp)
{
	cs_buf *t = &sp->tuple;
	int i;

	if (sp->in_chunk == 0)
		return;
	cs_copybin_put_nfields(t, 2 + N_COLS);
	cs_copybin_put_int8(t, sp->run_id);
	cs_copybin_put_int8(t, sp->rows - sp->in_chunk + 1); /* first ordinal, 1-based */
	for (i = 0; i < N_COLS; i++) {
		cs_copybin_put_array_head(t, col_oid[i], sp->in_chunk, sp->has_null[i],
					  sp->col[i].len);
		spool_write(sp, t);
		spool_write(sp, &sp->col[i]);
		sp->has_null[i] = 0;
	}
	sp->in_chunk = 0;
}

void cs_input_spool_row(cs_input_spool *sp, const cs_txn_row *row, int producer_member,
			int consumer_member)
{
	sp->rows++;
	sp->in_chunk++;
	put_i64(sp, COL_ID, row->has_id, row->id);
	put_i64(sp, COL_AT, row->has_occurred_at, row->occurred_at_us);
	put_i64(sp, COL_PRODUCER, row->has_producer, row->producer_id);
	put_i64(sp, COL_CONSUMER, row->has_consumer, row->consumer_id);
	put_i64(sp, COL_AMOUNT, row->has_amount, row->amount_minor);
	put_str(sp, COL_CURRENCY, row->has_currency, row->currency, row->currency_len);
	put_str(sp, COL_CATEGORY, row->has_category, row->category, row->category_len);
	cs_copybin_put_bool(&sp->col[COL_PMEMBER], producer_member);
	cs_copybin_put_bool(&sp->col[COL_CMEMBER], consumer_member);
	if (sp->in_chunk == CS_INPUT_CHUNK_ROWS)
		flush_chunk(sp);
}

int64_t cs_input_spool_rows(const cs_input_spool *sp)
{
	return sp->rows;
}

static int spool_failed(cs_input_spool *sp, cs_error *err)
{
	cs_error_set(err, cs_exit_for_errno(sp->write_errno ? sp->write_errno : EIO),
		     "cannot spool the input snapshot to a temporary file in '%s'; nothing was "
		     "written",
		     sp->dir);
	cs_error_detail(err, "%s", strerror(sp->write_errno ? sp->write_errno : EIO));
	cs_error_hint(err, "Make room in that directory (about 130 bytes per transaction of "
			   "the window), or set TMPDIR to another one.");
	return -1;
}

int cs_input_spool_copy(cs_input_spool *sp, cs_db *w, cs_error *err)
{
	size_t n;

	if (sp->rows == 0)
		return 0;
	flush_chunk(sp);
	cs_copybin_put_trailer(&sp->tuple);
	spool_write(sp, &sp->tuple);
	if (sp->write_errno || fflush(sp->f) != 0) {
		if (!sp->write_errno)
			sp->write_errno = errno ? errno : EIO;
		return spool_failed(sp, err);
	}
	rewind(sp->f);
	if (cs_db_copy_in_begin(w,
				"COPY coopsettle.run_input_chunks (run_id, first_ordinal,"
				" transaction_id, occurred_at_us, producer_id, consumer_id,"
				" amount_minor, currency, category, producer_member, consumer_member)"
				" FROM STDIN (FORMAT binary)",
				err) < 0)
		return -1;
	for (;;) {
		char chunk[64 * 1024];

		n = fread(chunk, 1, sizeof(chunk), sp->f);
		if (n == 0)
			break;
		if (cs_db_copy_in_put(w, chunk, n, err) < 0)
			return -1;
	}
	if (ferror(sp->f)) {
		/* the transaction is rolled back by the caller: the partial COPY goes with it */
		sp->write_errno = errno ? errno : EIO;
		return spool_failed(sp, err);
	}
	if (cs_db_copy_in_end(w, err) < 0)
		return -1;
	return cs_db_expect_stored(w, "coopsettle.run_input_chunks",
				   (sp->rows + CS_INPUT_CHUNK_ROWS - 1) / CS_INPUT_CHUNK_ROWS, err);
}

void cs_input_spool_free(cs_input_spool *sp)
{
	int i;

	if (!sp)
		return;
	if (sp->f)
		fclose(sp->f);
	free(sp->vbuf);
	for (i = 0; i < N_COLS; i++)
		cs_buf_free(&sp->col[i]);
	cs_buf_free(&sp->tuple);
	free(sp);
}
