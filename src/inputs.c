/*
 * inputs.c -- the input snapshot of a settle run (see inputs.h): rows
 * spooled as COPY text to an unlinked temporary file, then copied into
 * coopsettle.run_inputs.
 */
#include "coopsettle/inputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coopsettle/buf.h"
#include "coopsettle/runcommon.h"

/* stdio buffer of the spool file: rows are written in large blocks. */
#define SPOOL_BUFFER_BYTES (1024 * 1024)

struct cs_input_spool {
	FILE *f;
	char *vbuf;
	char dir[256];
	int64_t run_id;
	int64_t rows;
	int write_errno; /* first write error, 0 if none */
	cs_buf line;
};

cs_input_spool *cs_input_spool_new(int64_t run_id, cs_error *err)
{
	cs_input_spool *sp = calloc(1, sizeof(*sp));
	const char *dir = getenv("TMPDIR");
	char path[300];
	int fd;

	CS_ASSERT(sp != NULL);
	if (!dir || !*dir || strlen(dir) >= sizeof(sp->dir))
		dir = "/tmp";
	snprintf(sp->dir, sizeof(sp->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/coopsettle-inputs.XXXXXX", sp->dir);
	fd = mkstemp(path);
	if (fd < 0) {
		cs_error_set(err, CS_EXIT_RUNTIME,
			     "cannot create a temporary file in '%s' for the input snapshot", sp->dir);
		cs_error_detail(err, "%s", strerror(errno));
		cs_error_hint(err, "Set TMPDIR to a writable directory with room for about 100 "
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
	cs_buf_init(&sp->line);
	return sp;
}

static void put_opt(cs_buf *b, int has, int64_t v)
{
	if (has)
		cs_buf_put_i128(b, v);
	else
		cs_buf_puts(b, "\\N");
	cs_buf_putc(b, '\t');
}

void cs_input_spool_row(cs_input_spool *sp, const cs_txn_row *row, int producer_member,
			int consumer_member)
{
	cs_buf *b = &sp->line;

	sp->rows++;
	if (sp->write_errno)
		return;
	cs_buf_reset(b);
	cs_buf_put_i128(b, sp->run_id);
	cs_buf_putc(b, '\t');
	cs_buf_put_i128(b, sp->rows); /* ordinal: 1-based position in input order */
	cs_buf_putc(b, '\t');
	put_opt(b, row->has_id, row->id);
	put_opt(b, row->has_occurred_at, row->occurred_at_us);
	put_opt(b, row->has_producer, row->producer_id);
	put_opt(b, row->has_consumer, row->consumer_id);
	put_opt(b, row->has_amount, row->amount_minor);
	if (row->has_currency)
		cs_copy_text(b, row->currency, row->currency_len);
	else
		cs_buf_puts(b, "\\N");
	cs_buf_putc(b, '\t');
	if (row->has_category)
		cs_copy_text(b, row->category, row->category_len);
	else
		cs_buf_puts(b, "\\N");
	cs_buf_puts(b, producer_member ? "\tt" : "\tf");
	cs_buf_puts(b, consumer_member ? "\tt\n" : "\tf\n");
	if (fwrite(b->data, 1, b->len, sp->f) != b->len)
		sp->write_errno = errno ? errno : EIO;
}

int64_t cs_input_spool_rows(const cs_input_spool *sp)
{
	return sp->rows;
}

static int spool_failed(cs_input_spool *sp, cs_error *err)
{
	cs_error_set(err, CS_EXIT_RUNTIME,
		     "cannot spool the input snapshot to a temporary file in '%s'; nothing was "
		     "written",
		     sp->dir);
	cs_error_detail(err, "%s", strerror(sp->write_errno ? sp->write_errno : EIO));
	cs_error_hint(err, "Make room in that directory (about 100 bytes per transaction of "
			   "the window), or set TMPDIR to another one.");
	return -1;
}

int cs_input_spool_copy(cs_input_spool *sp, cs_db *w, cs_error *err)
{
	size_t n;

	if (sp->write_errno || fflush(sp->f) != 0) {
		if (!sp->write_errno)
			sp->write_errno = errno ? errno : EIO;
		return spool_failed(sp, err);
	}
	if (sp->rows == 0)
		return 0;
	rewind(sp->f);
	if (cs_db_copy_in_begin(w,
				"COPY coopsettle.run_inputs (run_id, ordinal, transaction_id,"
				" occurred_at_us, producer_id, consumer_id, amount_minor, currency,"
				" category, producer_member, consumer_member) FROM STDIN",
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
	return cs_db_copy_in_end(w, err);
}

void cs_input_spool_free(cs_input_spool *sp)
{
	if (!sp)
		return;
	if (sp->f)
		fclose(sp->f);
	free(sp->vbuf);
	cs_buf_free(&sp->line);
	free(sp);
}
