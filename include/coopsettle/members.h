/*
 * members.h -- the set of members, as the fee predicates and the surplus
 * waterfall see them (spec sections 4, 6 and 10.1).
 *
 * An open-addressing hash table keyed by member id; memory grows with the
 * number of members only. Config version 1 has one row per member (a class
 * and one membership period). Version 2 has memberships: one id may hold
 * both classes, each in several periods [joined_on, left_on) that must not
 * overlap. For a run's window, cs_members_window precomputes per member and
 * class whether it is a member on none, all or some of the window's days
 * (then a bit per day), so that "is party P a member of class c on day D"
 * is one hash lookup and at most one bit test, whatever its periods.
 */
#ifndef COOPSETTLE_MEMBERS_H
#define COOPSETTLE_MEMBERS_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/config.h"
#include "coopsettle/limits.h"

/* A membership period of one class: local days [from_day, to_day), to_day
 * CS_DAY_OPEN while the membership lasts. */
typedef struct cs_period {
	int64_t from_day;
	int64_t to_day;
} cs_period;

#define CS_DAY_OPEN INT64_MAX

/* Whether a member holds a class on the days of the current window. */
enum { CS_IN_NONE = 0, CS_IN_ALL = 1, CS_IN_SOME = 2 };

typedef struct cs_member {
	int64_t id;
	cs_class cls;        /* version 1: the member's one class */
	int has_joined;
	int64_t joined_day;  /* days since 1970-01-01 (version 1) */
	int has_left;
	int64_t left_day;
	int64_t capital_minor; /* paid_in_capital_minor, base currency (version 1) */
	/* version 2: the periods of each class, in the set's period array */
	uint32_t period_first[CS_CLASSES_MAX];
	uint32_t period_count[CS_CLASSES_MAX];
	/* after cs_members_window: CS_IN_* per class, and for CS_IN_SOME the
	 * offset of the window's day bits in the set's bit array */
	uint8_t in_window[CS_CLASSES_MAX];
	uint32_t bits_at[CS_CLASSES_MAX];
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

/* Nonzero when id is a member of class cls (version 1: dates do not
 * matter for fees, spec section 4). */
int cs_members_is(const cs_members *m, int64_t id, cs_class cls);

/*
 * Version 2: adds the membership (id, cls, [joined_day, left_day)); has_left
 * 0 for an open membership. Rows must come ordered by id, then class
 * (consumer before producer, as text sorts), then joined_day. Returns 0.
 */
int cs_members_add_period(cs_members *m, int64_t id, cs_class cls, int64_t joined_day,
			  int has_left, int64_t left_day);

/* Version 2: the periods of member x of class cls (*n of them, ascending). */
const cs_period *cs_members_periods(const cs_members *m, const cs_member *x, cs_class cls,
				    size_t *n);

/* Version 2: calls bad(ctx, id, reason) for every member whose periods of a
 * class overlap, or end on or before they begin (spec 10.1, 10.7.12); returns
 * how many it called it for. */
size_t cs_members_check_periods(const cs_members *m,
				void (*bad)(void *ctx, int64_t id, const char *reason), void *ctx);

/* Version 2: prepares cs_members_is_on for the local days [first_day,
 * end_day) (every day a transaction of the window can fall on). */
void cs_members_window(cs_members *m, int64_t first_day, int64_t end_day);

/* Version 2: nonzero when id is a member of class cls on local day day (a
 * day of the prepared window; any other day is looked up in the periods). */
int cs_members_is_on(const cs_members *m, int64_t id, cs_class cls, int64_t day);

/* Version 2: nonzero when member x holds class cls on day. */
int cs_member_on(const cs_members *m, const cs_member *x, cs_class cls, int64_t day);

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
