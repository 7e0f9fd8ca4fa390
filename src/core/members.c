/*
 * members.c -- member set as an open-addressing hash table (see members.h).
 */
#include "coopsettle/members.h"

#include <stdlib.h>
#include <string.h>

#include "coopsettle/error.h"

struct cs_members {
	cs_member *items;  /* dense array, insertion order (sorted on demand) */
	cs_period *periods; /* version 2: every member's periods, by member then class */
	size_t n_periods, cap_periods;
	int64_t win_first, win_end; /* cs_members_window's days */
	uint64_t *bits;             /* a bit per window day for CS_IN_SOME classes */
	size_t n_bits_words;
	size_t n, cap;
	uint32_t *slots;   /* index + 1 into items, 0 empty */
	size_t n_slots;    /* power of two */
	int sorted;
	int ascending;     /* every add so far had a larger id than the one before */
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

cs_members *cs_members_new(void)
{
	cs_members *m = calloc(1, sizeof(*m));

	CS_ASSERT(m != NULL);
	return m;
}

void cs_members_free(cs_members *m)
{
	if (!m)
		return;
	free(m->items);
	free(m->slots);
	free(m->periods);
	free(m->bits);
	free(m);
}

static void rehash(cs_members *m, size_t n_slots)
{
	size_t i;

	free(m->slots);
	m->slots = calloc(n_slots, sizeof(uint32_t));
	CS_ASSERT(m->slots != NULL);
	m->n_slots = n_slots;
	for (i = 0; i < m->n; i++) {
		size_t h = (size_t)mix((uint64_t)m->items[i].id) & (n_slots - 1);

		while (m->slots[h])
			h = (h + 1) & (n_slots - 1);
		m->slots[h] = (uint32_t)(i + 1);
	}
}

static long lookup(const cs_members *m, int64_t id)
{
	size_t h;

	if (!m->n_slots)
		return -1;
	h = (size_t)mix((uint64_t)id) & (m->n_slots - 1);
	while (m->slots[h]) {
		if (m->items[m->slots[h] - 1].id == id)
			return (long)(m->slots[h] - 1);
		h = (h + 1) & (m->n_slots - 1);
	}
	return -1;
}

int cs_members_add(cs_members *m, const cs_member *member)
{
	CS_ASSERT(m->n < UINT32_MAX - 1);
	if (m->n == 0)
		m->ascending = 1;
	else if (member->id <= m->items[m->n - 1].id)
		m->ascending = 0;
	/* Sources read ORDER BY id: a larger id than every earlier one is no
	 * duplicate, and the probe (a cache miss per member) is skipped. */
	if (!m->ascending && lookup(m, member->id) >= 0)
		return -1;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 1024;
		cs_member *p = realloc(m->items, cap * sizeof(*p));

		CS_ASSERT(p != NULL);
		m->items = p;
		m->cap = cap;
	}
	m->items[m->n++] = *member;
	m->sorted = 0;
	if (m->n * 2 > m->n_slots)
		rehash(m, m->n_slots ? m->n_slots * 2 : 4096);
	else {
		size_t h = (size_t)mix((uint64_t)member->id) & (m->n_slots - 1);

		while (m->slots[h])
			h = (h + 1) & (m->n_slots - 1);
		m->slots[h] = (uint32_t)m->n;
	}
	return 0;
}

const cs_member *cs_members_find(const cs_members *m, int64_t id)
{
	long i = lookup(m, id);

	return i < 0 ? NULL : &m->items[i];
}

int cs_members_is(const cs_members *m, int64_t id, cs_class cls)
{
	const cs_member *x = cs_members_find(m, id);

	return x && x->cls == cls;
}

void cs_members_prefetch(const cs_members *m, int64_t id)
{
	if (m->n_slots)
		__builtin_prefetch(&m->slots[(size_t)mix((uint64_t)id) & (m->n_slots - 1)]);
}

void cs_members_prefetch_entry(const cs_members *m, int64_t id)
{
	uint32_t i;

	if (!m->n_slots)
		return;
	i = m->slots[(size_t)mix((uint64_t)id) & (m->n_slots - 1)];
	if (i)
		__builtin_prefetch(&m->items[i - 1]);
}

size_t cs_members_count(const cs_members *m)
{
	return m->n;
}

static int by_id(const void *a, const void *b)
{
	int64_t x = ((const cs_member *)a)->id, y = ((const cs_member *)b)->id;

	return (x > y) - (x < y);
}

const cs_member *cs_members_sorted(cs_members *m, size_t *n)
{
	if (!m->sorted) {
		if (!m->ascending && m->n > 1) { /* not read in id order: sort, re-index */
			qsort(m->items, m->n, sizeof(cs_member), by_id);
			rehash(m, m->n_slots);
		}
		m->sorted = 1;
	}
	*n = m->n;
	return m->items;
}

/* ---- version 2: memberships over time ---- */

int cs_members_add_period(cs_members *m, int64_t id, cs_class cls, int64_t joined_day,
			  int has_left, int64_t left_day)
{
	cs_member *x;

	CS_ASSERT(cls == CS_CLASS_PRODUCER || cls == CS_CLASS_CONSUMER);
	if (m->n == 0 || m->items[m->n - 1].id != id) {
		cs_member e;

		memset(&e, 0, sizeof(e));
		e.id = id;
		e.cls = cls;
		e.has_joined = 1;
		e.joined_day = joined_day;
		CS_ASSERT(cs_members_add(m, &e) == 0); /* ordered by id: a new id */
	}
	x = &m->items[m->n - 1];
	if (x->period_count[cls] == 0)
		x->period_first[cls] = (uint32_t)m->n_periods;
	/* rows come by id, class, joined_on: a class's periods are contiguous */
	CS_ASSERT(x->period_first[cls] + x->period_count[cls] == m->n_periods);
	if (m->n_periods == m->cap_periods) {
		size_t cap = m->cap_periods ? m->cap_periods * 2 : 1024;
		cs_period *p = realloc(m->periods, cap * sizeof(*p));

		CS_ASSERT(p != NULL && cap < UINT32_MAX);
		m->periods = p;
		m->cap_periods = cap;
	}
	m->periods[m->n_periods].from_day = joined_day;
	m->periods[m->n_periods].to_day = has_left ? left_day : CS_DAY_OPEN;
	m->n_periods++;
	x->period_count[cls]++;
	return 0;
}

const cs_period *cs_members_periods(const cs_members *m, const cs_member *x, cs_class cls,
				    size_t *n)
{
	*n = x->period_count[cls];
	return *n ? &m->periods[x->period_first[cls]] : NULL;
}

size_t cs_members_check_periods(const cs_members *m,
				void (*bad)(void *ctx, int64_t id, const char *reason), void *ctx)
{
	size_t i, k, n_bad = 0;
	int c;

	for (i = 0; i < m->n; i++) {
		const char *why = NULL;

		for (c = 0; c < CS_CLASSES_MAX && !why; c++) {
			size_t n;
			const cs_period *p = cs_members_periods(m, &m->items[i], (cs_class)c, &n);

			for (k = 0; k < n && !why; k++) {
				if (p[k].to_day <= p[k].from_day)
					why = c == CS_CLASS_PRODUCER
						      ? "a producer membership ends on or before it begins"
						      : "a consumer membership ends on or before it begins";
				else if (k > 0 && p[k].from_day < p[k - 1].to_day)
					why = c == CS_CLASS_PRODUCER
						      ? "producer memberships overlap"
						      : "consumer memberships overlap";
			}
		}
		if (why) {
			bad(ctx, m->items[i].id, why);
			n_bad++;
		}
	}
	return n_bad;
}

int cs_member_on(const cs_members *m, const cs_member *x, cs_class cls, int64_t day)
{
	size_t n, k;
	const cs_period *p = cs_members_periods(m, x, cls, &n);

	if (x->in_window[cls] != CS_IN_SOME && day >= m->win_first && day < m->win_end)
		return x->in_window[cls] == CS_IN_ALL;
	if (x->in_window[cls] == CS_IN_SOME && day >= m->win_first && day < m->win_end) {
		size_t bit = x->bits_at[cls] + (size_t)(day - m->win_first);

		return (int)((m->bits[bit / 64] >> (bit % 64)) & 1);
	}
	for (k = 0; k < n; k++)
		if (p[k].from_day <= day && day < p[k].to_day)
			return 1;
	return 0;
}

void cs_members_window(cs_members *m, int64_t first_day, int64_t end_day)
{
	size_t i, k, n_some_bits = 0, days;
	int c;

	CS_ASSERT(end_day >= first_day);
	days = (size_t)(end_day - first_day);
	m->win_first = m->win_end = 0; /* cs_member_on below reads the periods */
	free(m->bits);
	m->bits = NULL;
	for (i = 0; i < m->n; i++) {
		cs_member *x = &m->items[i];

		for (c = 0; c < CS_CLASSES_MAX; c++) {
			size_t n, covered = 0;
			const cs_period *p = cs_members_periods(m, x, (cs_class)c, &n);

			for (k = 0; k < n; k++) {
				int64_t lo = p[k].from_day > first_day ? p[k].from_day : first_day;
				int64_t hi = p[k].to_day < end_day ? p[k].to_day : end_day;

				if (hi > lo)
					covered += (size_t)(hi - lo);
			}
			/* periods do not overlap once checked; a set that was not
			 * checked only counts too many, and then looks at the bits */
			x->in_window[c] = covered == 0 ? CS_IN_NONE
					  : covered == days ? CS_IN_ALL
							    : CS_IN_SOME;
			if (x->in_window[c] == CS_IN_SOME) {
				x->bits_at[c] = (uint32_t)n_some_bits;
				n_some_bits += days;
				CS_ASSERT(n_some_bits < UINT32_MAX);
			}
		}
	}
	m->n_bits_words = (n_some_bits + 63) / 64;
	m->bits = calloc(m->n_bits_words + 1, sizeof(uint64_t));
	CS_ASSERT(m->bits != NULL);
	for (i = 0; i < m->n; i++) {
		cs_member *x = &m->items[i];

		for (c = 0; c < CS_CLASSES_MAX; c++) {
			size_t d;

			if (x->in_window[c] != CS_IN_SOME)
				continue;
			for (d = 0; d < days; d++) {
				size_t bit = x->bits_at[c] + d;

				if (cs_member_on(m, x, (cs_class)c, first_day + (int64_t)d))
					m->bits[bit / 64] |= UINT64_C(1) << (bit % 64);
			}
		}
	}
	m->win_first = first_day;
	m->win_end = end_day;
}

int cs_members_is_on(const cs_members *m, int64_t id, cs_class cls, int64_t day)
{
	const cs_member *x = cs_members_find(m, id);

	return x ? cs_member_on(m, x, cls, day) : 0;
}
