/*
 * members.c -- member set as an open-addressing hash table (see members.h).
 */
#include "coopsettle/members.h"

#include <stdlib.h>
#include <string.h>

#include "coopsettle/error.h"

struct cs_members {
	cs_member *items;  /* dense array, insertion order (sorted on demand) */
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
