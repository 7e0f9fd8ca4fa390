/*
 * copypipe.h -- a COPY FROM STDIN fed from a second thread, so that the
 * engine computes the next chunk while the server consumes the last one.
 *
 * Blocking libpq waits in PQputCopyData until the server has taken a chunk;
 * while the engine then computes the next one the server has only the
 * socket's buffer to work on and idles. Measured on 1,000,000 rows
 * (docs/performance.md) that idling cost a third of the COPY. Here the
 * calling thread hands full buffers to a sender thread through a queue of
 * CS_COPYPIPE_DEPTH buffers: memory stays bounded (depth times the chunk
 * size) and the connection is used by one thread at a time -- the sender
 * between open and close (or finish), the caller before and after.
 */
#ifndef COOPSETTLE_COPYPIPE_H
#define COOPSETTLE_COPYPIPE_H

#include "coopsettle/buf.h"
#include "coopsettle/db.h"
#include "coopsettle/error.h"

/* Size at which a COPY buffer is handed over (src/runs/settle_run.c, distribute_run.c). */
#define CS_COPY_CHUNK_BYTES (1024 * 1024)

/* Buffers in flight (queued or being sent) besides the one being filled. */
#define CS_COPYPIPE_DEPTH 4

typedef struct cs_copypipe cs_copypipe;

/*
 * Begins sql (a COPY ... FROM STDIN (FORMAT binary)) on db, appends the
 * binary header to *b (it goes out with the first chunk) and starts the
 * sender thread. Returns NULL with err filled when either fails; the caller's
 * transaction is then to be rolled back.
 */
cs_copypipe *cs_copypipe_open(cs_db *db, const char *sql, cs_buf *b, cs_error *err);

/* Appends the binary trailer to *b, hands it over, waits for the sender and
 * ends the COPY. Frees p whatever happens. Returns 0, or -1 with err filled. */
int cs_copypipe_close(cs_copypipe *p, cs_buf *b, cs_error *err);

/*
 * Hands the bytes of *b to the sender and leaves *b empty (its storage is
 * swapped with a sent buffer, so nothing is allocated per chunk). Waits while
 * the queue is full. Returns 0, or -1 with err filled when an earlier send
 * failed (the COPY is then dead: the caller gives up and cleans up).
 */
int cs_copypipe_put(cs_copypipe *p, cs_buf *b, cs_error *err);

/* Waits until everything is sent and stops the thread; frees p, leaving the
 * COPY unended (for a caller giving up: it rolls back). Returns 0, or -1 with
 * err filled with the first send error. NULL p is a no-op returning 0. */
int cs_copypipe_finish(cs_copypipe *p, cs_error *err);

#endif
