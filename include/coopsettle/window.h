/*
 * window.h -- periods and windows in the config's time zone (spec section 3).
 *
 * A window is the half-open range [from, to) of instants, kept as
 * microseconds since 1970-01-01 UTC (the same resolution as PostgreSQL's
 * timestamptz). Periods (`YYYY-MM-DD`, `YYYY-MM`, `YYYY-Qn`, `YYYY`) run
 * from local midnight of their first day to local midnight after their last
 * day; a DST day has 23 or 25 hours. Time zone rules come from the system's
 * tz database through the C library (TZ is set for the process).
 */
#ifndef COOPSETTLE_WINDOW_H
#define COOPSETTLE_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/error.h"

typedef struct cs_window {
	int64_t from_us; /* inclusive */
	int64_t to_us;   /* exclusive */
	char from_text[64]; /* ISO 8601 local time with offset, e.g. 2026-03-29T00:00:00+01:00 */
	char to_text[64];
	char from_utc[64];  /* `YYYY-MM-DD HH:MM:SS.ffffff+00`, for SQL literals */
	char to_utc[64];
} cs_window;

/* Makes the process use time zone tz (an IANA name the config loader has
 * validated) for every function below. Returns 0, or -1 with err filled. */
int cs_tz_use(const char *tz, cs_error *err);

/* Window of a period string in the current time zone. Returns 0, or -1 with
 * err filled (exit code 2) naming the bad text. */
int cs_window_from_period(cs_window *w, const char *period, cs_error *err);

/* Window from two bounds, each a local date `YYYY-MM-DD` (its local
 * midnight) or an ISO 8601 timestamp with offset (`2026-11-01T00:00:00+01:00`,
 * `...Z`, optional fraction of up to 6 digits). from must be before to. */
int cs_window_from_bounds(cs_window *w, const char *from, const char *to, cs_error *err);

/* Fills the text fields of w from from_us and to_us. */
void cs_window_format(cs_window *w);

/* Local midnight (start of the local day) of the date y-m-d, in
 * microseconds since the epoch. */
int64_t cs_local_midnight_us(int y, int m, int d);

/* Days since 1970-01-01 of a proleptic Gregorian date (pure arithmetic). */
int64_t cs_days_from_civil(int64_t y, unsigned m, unsigned d);

/* Inverse of cs_days_from_civil. */
void cs_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* The local days of w (dates whose local midnight lies in [from, to)) as a
 * range [*first_day, *end_day) of days since 1970-01-01. */
void cs_window_local_days(const cs_window *w, int64_t *first_day, int64_t *end_day);

/* Nonzero when some instant has the local date day (days since
 * 1970-01-01): Pacific/Apia skipped 2011-12-30, going from the 29th to the
 * 31st at midnight. */
int cs_local_day_exists(int64_t day);

/* day + months (the day of the month clamped to the month's last day) +
 * days: a payment due date (spec 10.7.11), twelve months on (10.7.6). */
int64_t cs_day_add(int64_t day, int months, int days);

/* The local days in [first, end) that exist in the process's time zone. */
int64_t cs_local_days_between(int64_t first, int64_t end);

/* The local days of w that do not exist (cs_local_day_exists), ascending,
 * in a new array *days the caller frees (NULL when there are none); returns
 * their count. A skipped day lies in [*first_day, *end_day) of
 * cs_window_local_days but is no day of the window: nothing is counted in
 * it. */
size_t cs_window_skipped_days(const cs_window *w, int64_t **days);

/* The local days a window's instants fall on, with their midnights, so that
 * the local day of a transaction is a binary search, not a time zone
 * conversion (settle runs look it up for every row). */
typedef struct cs_day_map {
	int64_t first_day;     /* the local day of the window's first instant */
	size_t n_days;         /* through the local day of its last instant */
	int64_t *midnight_us;  /* n_days + 1 local midnights, owned */
} cs_day_map;

/* Builds the day map of w in the current time zone. */
void cs_day_map_init(cs_day_map *map, const cs_window *w);

/* Frees what map owns. */
void cs_day_map_free(cs_day_map *map);

/* The local day (days since 1970-01-01) of the instant us. */
int64_t cs_day_map_day(const cs_day_map *map, int64_t us);

/* The local day of the instant us, through the C library (slow). */
int64_t cs_local_day_of_us(int64_t us);

/* Writes day (days since 1970-01-01) as YYYY-MM-DD into buf. */
void cs_day_text(char *buf, size_t size, int64_t day);

/* Formats microseconds since the epoch as local ISO 8601 with offset. */
void cs_format_local(char *buf, unsigned long size, int64_t us);

#endif
