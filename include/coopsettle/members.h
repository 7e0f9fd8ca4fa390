/*
 * members.h -- the set of members and their class, as the fee predicates
 * and the surplus waterfall see them (spec sections 4 and 6).
 *
 * An open-addressing hash table keyed by member id; memory grows with the
 * number of members only.
 */
#ifndef COOPSETTLE_MEMBERS_H
#define COOPSETTLE_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/config.h"

typedef struct cs_member {
	int64_t id;
	cs_class cls;
	int has_joined;
	int64_t joined_day;  /* days since 1970-01-01 */
	int has_left;
	int64_t left_day;
	int64_t capital_minor; /* paid_in_capital_minor, base currency */
} cs_member;

typedef struct cs_members cs_members;

/* Creates an empty set; the caller owns it. */
cs_members *cs_members_new(void);

/* Frees the set; NULL is allowed. */
void cs_members_free(cs_members *m);

/* Adds a member (copied). Returns 0, or -1 when the id is already present. */
int cs_members_add(cs_members *m, const cs_member *member);

/* The member with id, or NULL. */
const cs_member *cs_members_find(const cs_members *m, int64_t id);

/* Nonzero when id is a member of class cls. */
int cs_members_is(const cs_members *m, int64_t id, cs_class cls);

/* A hint that id will be looked up soon: starts loading its table slot
 * into the cache (no effect on any result). */
void cs_members_prefetch(const cs_members *m, int64_t id);

/* The same for the member itself, once its slot is in the cache: starts
 * loading the entry the slot points at (first probe only). */
void cs_members_prefetch_entry(const cs_members *m, int64_t id);

/* Number of members. */
size_t cs_members_count(const cs_members *m);

/* The members sorted by id (valid until the next add); *n gets the count. */
const cs_member *cs_members_sorted(cs_members *m, size_t *n);

#endif
