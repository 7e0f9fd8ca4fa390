/*
 * copypipe.c -- COPY data sent by a second thread (see copypipe.h).
 *
 * A ring of CS_COPYPIPE_DEPTH slots under one mutex: the caller fills slot
 * `tail` and signals; the sender takes slot `head`, sends it outside the
 * lock and signals back. After a failed send the sender keeps draining
 * (discarding) so that the caller never waits forever, and the caller sees
 * the error at its next put or at finish.
 */
#include "coopsettle/copypipe.h"

#include "coopsettle/copybin.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cs_copypipe {
	cs_db *db;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t changed;
	cs_buf slot[CS_COPYPIPE_DEPTH];
	size_t head, count; /* queued slots: head .. head + count - 1 (mod depth); the
			    * sender sends slot head outside the lock and only then
			    * counts it out, so a put never reuses it early */
	int closing;        /* no more puts: the sender stops when the queue is empty */
	int failed;
	cs_error err; /* the first send error, when failed */
};

static void *sender(void *arg)
{
	cs_copypipe *p = arg;
	cs_error e;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (p->count == 0 && !p->closing)
			pthread_cond_wait(&p->changed, &p->mu);
		if (p->count == 0)
			break; /* closing and drained */
		pthread_mutex_unlock(&p->mu);

		cs_error_clear(&e);
		if (!p->failed && cs_db_copy_in_put(p->db, p->slot[p->head].data,
						     p->slot[p->head].len, &e) < 0) {
			pthread_mutex_lock(&p->mu);
			p->failed = 1;
			p->err = e;
			pthread_mutex_unlock(&p->mu);
		}

		pthread_mutex_lock(&p->mu);
		cs_buf_reset(&p->slot[p->head]);
		p->head = (p->head + 1) % CS_COPYPIPE_DEPTH;
		p->count--;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static cs_copypipe *start(cs_db *db, cs_error *err)
{
	cs_copypipe *p = calloc(1, sizeof(*p));
	size_t i;

	CS_ASSERT(p != NULL);
	p->db = db;
	for (i = 0; i < CS_COPYPIPE_DEPTH; i++)
		cs_buf_init(&p->slot[i]);
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->changed, NULL);
	if (pthread_create(&p->thread, NULL, sender, p) != 0) {
		pthread_mutex_destroy(&p->mu);
		pthread_cond_destroy(&p->changed);
		free(p);
		cs_error_set(err, CS_EXIT_RUNTIME, "cannot start the COPY sender thread");
		return NULL;
	}
	return p;
}

int cs_copypipe_put(cs_copypipe *p, cs_buf *b, cs_error *err)
{
	cs_buf tmp;
	size_t tail;

	if (b->len == 0)
		return 0;
	pthread_mutex_lock(&p->mu);
	while (p->count == CS_COPYPIPE_DEPTH && !p->failed)
		pthread_cond_wait(&p->changed, &p->mu);
	if (p->failed) {
		*err = p->err;
		pthread_mutex_unlock(&p->mu);
		return -1;
	}
	tail = (p->head + p->count) % CS_COPYPIPE_DEPTH;
	/* swap storage: the caller gets the slot's (empty, allocated) buffer */
	tmp = p->slot[tail];
	p->slot[tail] = *b;
	*b = tmp;
	cs_buf_reset(b);
	p->count++;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->mu);
	return 0;
}

cs_copypipe *cs_copypipe_open(cs_db *db, const char *sql, cs_buf *b, cs_error *err)
{
	cs_copypipe *p;

	if (cs_db_copy_in_begin(db, sql, err) < 0 || !(p = start(db, err)))
		return NULL;
	cs_copybin_put_header(b);
	return p;
}

int cs_copypipe_close(cs_copypipe *p, cs_buf *b, cs_error *err)
{
	cs_db *db = p->db;

	cs_copybin_put_trailer(b);
	if (cs_copypipe_put(p, b, err) < 0) {
		cs_error ignored;

		cs_copypipe_finish(p, &ignored);
		return -1;
	}
	if (cs_copypipe_finish(p, err) < 0)
		return -1;
	return cs_db_copy_in_end(db, err);
}

int cs_copypipe_finish(cs_copypipe *p, cs_error *err)
{
	int rc = 0;
	size_t i;

	if (!p)
		return 0;
	pthread_mutex_lock(&p->mu);
	p->closing = 1;
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->thread, NULL);
	if (p->failed) {
		*err = p->err;
		rc = -1;
	}
	for (i = 0; i < CS_COPYPIPE_DEPTH; i++)
		cs_buf_free(&p->slot[i]);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->changed);
	free(p);
	return rc;
}
