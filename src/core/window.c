/*
 * window.c -- periods, windows and local days (see window.h).
 *
 * Calendar arithmetic is done by hand (Howard Hinnant's days_from_civil);
 * only the UTC offset of a local time comes from the C library (mktime and
 * localtime_r with TZ set), which reads the system's tz database.
 */
#include "coopsettle/window.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define US_PER_SEC INT64_C(1000000)

int cs_tz_use(const char *tz, cs_error *err)
{
	if (setenv("TZ", tz, 1) != 0)
		return cs_error_set(err, CS_EXIT_RUNTIME, "cannot set the time zone '%s'", tz);
	tzset();
	return 0;
}

int64_t cs_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

void cs_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yy;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = (int64_t)yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yy + (*m <= 2);
}

/* Local calendar day (days since epoch) of the instant t. */
static int64_t local_day_of(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return cs_days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
				  (unsigned)tm.tm_mday);
}

int64_t cs_local_midnight_us(int y, int m, int d)
{
	struct tm tm;
	time_t t;
	int64_t day = cs_days_from_civil(y, (unsigned)m, (unsigned)d);

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_isdst = -1;
	t = mktime(&tm);
	/* Where midnight falls in a DST gap, mktime may land before or after
	 * the day starts: move to the first second whose local date is day. */
	while (local_day_of(t) < day)
		t += 60;
	while (local_day_of(t - 60) >= day)
		t -= 60;
	return (int64_t)t * US_PER_SEC;
}

void cs_format_local(char *buf, unsigned long size, int64_t us)
{
	time_t t = (time_t)(us >= 0 ? us / US_PER_SEC : -((-us + US_PER_SEC - 1) / US_PER_SEC));
	int64_t frac = us - (int64_t)t * US_PER_SEC;
	struct tm tm;
	long off;
	char sign;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff;
	sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	if (frac)
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld%c%02ld:%02ld",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (long long)frac, sign, off / 3600, (off % 3600) / 60);
	else
		snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%c%02ld:%02ld",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, sign, off / 3600, (off % 3600) / 60);
}

static void format_utc(char *buf, unsigned long size, int64_t us)
{
	int64_t secs = us >= 0 ? us / US_PER_SEC : -((-us + US_PER_SEC - 1) / US_PER_SEC);
	int64_t frac = us - secs * US_PER_SEC;
	int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	int64_t sod = secs - days * 86400;
	int64_t y;
	unsigned m, d;

	cs_civil_from_days(days, &y, &m, &d);
	snprintf(buf, size, "%04lld-%02u-%02u %02d:%02d:%02d.%06d+00", (long long)y, m, d,
		 (int)(sod / 3600), (int)(sod % 3600 / 60), (int)(sod % 60), (int)frac);
}

void cs_window_format(cs_window *w)
{
	cs_format_local(w->from_text, sizeof(w->from_text), w->from_us);
	cs_format_local(w->to_text, sizeof(w->to_text), w->to_us);
	format_utc(w->from_utc, sizeof(w->from_utc), w->from_us);
	format_utc(w->to_utc, sizeof(w->to_utc), w->to_us);
}

/* Reads exactly n digits at *p; returns -1 on anything else. */
static int digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -1;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

static int valid_date(int y, int m, int d)
{
	return y >= 1900 && y <= 9998 && m >= 1 && m <= 12 && d >= 1 &&
	       d <= days_in_month(y, m);
}

int cs_window_from_period(cs_window *w, const char *period, cs_error *err)
{
	const char *p = period;
	int y, m = 1, d = 1, q;
	int y2, m2, d2;
	size_t len = strlen(period);

	memset(w, 0, sizeof(*w));
	if (digits(&p, 4, &y) < 0)
		goto bad;
	if (len == 4) {
		y2 = y + 1;
		m2 = 1;
		d2 = 1;
	} else if (len == 7 && p[0] == '-' && p[1] == 'Q') {
		p += 2;
		if (digits(&p, 1, &q) < 0 || q < 1 || q > 4)
			goto bad;
		m = 3 * (q - 1) + 1;
		y2 = q == 4 ? y + 1 : y;
		m2 = q == 4 ? 1 : m + 3;
		d2 = 1;
	} else if (len == 7 && p[0] == '-') {
		p++;
		if (digits(&p, 2, &m) < 0 || m < 1 || m > 12)
			goto bad;
		y2 = m == 12 ? y + 1 : y;
		m2 = m == 12 ? 1 : m + 1;
		d2 = 1;
	} else if (len == 10 && p[0] == '-' && p[3] == '-') {
		int64_t y64;
		unsigned um, ud;

		p++;
		if (digits(&p, 2, &m) < 0)
			goto bad;
		p++;
		if (digits(&p, 2, &d) < 0)
			goto bad;
		if (!valid_date(y, m, d))
			goto bad;
		cs_civil_from_days(cs_days_from_civil(y, (unsigned)m, (unsigned)d) + 1, &y64, &um,
				   &ud);
		y2 = (int)y64;
		m2 = (int)um;
		d2 = (int)ud;
	} else {
		goto bad;
	}
	if (!valid_date(y, m, d))
		goto bad;
	if (len == 10 && !cs_local_day_exists(cs_days_from_civil(y, (unsigned)m, (unsigned)d))) {
		const char *tz = getenv("TZ");

		cs_error_set(err, CS_EXIT_USAGE,
			     "the day %s does not exist in time zone %s: its clocks skipped it",
			     period, tz ? tz : "UTC");
		cs_error_hint(err, "Settle the days around it; a month or a year containing it "
				   "counts only the days that exist.");
		return -1;
	}
	w->from_us = cs_local_midnight_us(y, m, d);
	w->to_us = cs_local_midnight_us(y2, m2, d2);
	cs_window_format(w);
	return 0;
bad:
	cs_error_set(err, CS_EXIT_USAGE, "invalid period '%s'", period);
	cs_error_hint(err, "Use YYYY-MM-DD, YYYY-MM, YYYY-Qn or YYYY.");
	return -1;
}

/* Parses a local date or an ISO 8601 timestamp with offset. */
static int parse_bound(const char *text, int64_t *us)
{
	const char *p = text;
	int y, m, d, hh, mm, ss = 0, oh, om;
	int64_t frac = 0, secs;
	int sign;

	if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &m) < 0 || *p++ != '-' ||
	    digits(&p, 2, &d) < 0 || !valid_date(y, m, d))
		return -1;
	if (*p == '\0') {
		*us = cs_local_midnight_us(y, m, d);
		return 0;
	}
	if ((*p != 'T' && *p != ' ') || (p++, digits(&p, 2, &hh) < 0) || *p++ != ':' ||
	    digits(&p, 2, &mm) < 0)
		return -1;
	if (*p == ':') {
		p++;
		if (digits(&p, 2, &ss) < 0)
			return -1;
		if (*p == '.') {
			int n = 0;

			p++;
			while (*p >= '0' && *p <= '9' && n < 6) {
				frac = frac * 10 + (*p++ - '0');
				n++;
			}
			if (n == 0 || (*p >= '0' && *p <= '9'))
				return -1;
			while (n++ < 6)
				frac *= 10;
		}
	}
	if (hh > 23 || mm > 59 || ss > 59)
		return -1;
	if (*p == 'Z' && p[1] == '\0') {
		oh = om = 0;
		sign = 1;
	} else if ((*p == '+' || *p == '-')) {
		sign = *p++ == '-' ? -1 : 1;
		if (digits(&p, 2, &oh) < 0)
			return -1;
		if (*p == ':')
			p++;
		if (digits(&p, 2, &om) < 0 || *p != '\0' || oh > 23 || om > 59)
			return -1;
	} else {
		return -1; /* a timestamp needs an offset */
	}
	secs = cs_days_from_civil(y, (unsigned)m, (unsigned)d) * 86400 + hh * 3600 + mm * 60 +
	       ss - sign * (oh * 3600 + om * 60);
	*us = secs * US_PER_SEC + frac;
	return 0;
}

int cs_window_from_bounds(cs_window *w, const char *from, const char *to, cs_error *err)
{
	memset(w, 0, sizeof(*w));
	if (parse_bound(from, &w->from_us) < 0 || parse_bound(to, &w->to_us) < 0) {
		cs_error_set(err, CS_EXIT_USAGE, "invalid bound '%s'",
			     parse_bound(from, &w->from_us) < 0 ? from : to);
		cs_error_hint(err, "Use a local date YYYY-MM-DD or an ISO 8601 timestamp with "
				   "offset, such as 2026-11-01T00:00:00+01:00.");
		return -1;
	}
	if (w->from_us >= w->to_us) {
		cs_error_set(err, CS_EXIT_USAGE, "empty window: '%s' is not before '%s'", from, to);
		return -1;
	}
	cs_window_format(w);
	return 0;
}

/* Local midnight of day (days since 1970-01-01). */
static int64_t midnight_of_day(int64_t day)
{
	int64_t y;
	unsigned m, d;

	cs_civil_from_days(day, &y, &m, &d);
	return cs_local_midnight_us((int)y, (int)m, (int)d);
}

int cs_local_day_exists(int64_t day)
{
	return midnight_of_day(day) < midnight_of_day(day + 1);
}

void cs_window_local_days(const cs_window *w, int64_t *first_day, int64_t *end_day)
{
	int64_t day = local_day_of((time_t)(w->from_us / US_PER_SEC));

	/* The first local day is the one whose midnight is >= from. */
	if (midnight_of_day(day) < w->from_us)
		day++;
	*first_day = day;
	while (midnight_of_day(day) < w->to_us)
		day++;
	*end_day = day;
}

size_t cs_window_skipped_days(const cs_window *w, int64_t **days)
{
	int64_t first, end, day, this_midnight, next_midnight;
	size_t n = 0;

	*days = NULL;
	cs_window_local_days(w, &first, &end);
	this_midnight = midnight_of_day(first);
	for (day = first; day < end; day++, this_midnight = next_midnight) {
		next_midnight = midnight_of_day(day + 1);
		if (this_midnight < next_midnight)
			continue;
		/* day's "midnight" is the next day's: no instant has its date */
		*days = realloc(*days, (n + 1) * sizeof(**days));
		CS_ASSERT(*days != NULL);
		(*days)[n++] = day;
	}
	return n;
}

int64_t cs_local_day_of_us(int64_t us)
{
	int64_t secs = us >= 0 ? us / US_PER_SEC : -((-us + US_PER_SEC - 1) / US_PER_SEC);

	return local_day_of((time_t)secs);
}

void cs_day_map_init(cs_day_map *map, const cs_window *w)
{
	int64_t last = cs_local_day_of_us(w->to_us - 1);
	size_t i;

	map->first_day = cs_local_day_of_us(w->from_us);
	map->n_days = last >= map->first_day ? (size_t)(last - map->first_day + 1) : 0;
	CS_ASSERT(map->n_days < 1000000); /* a window of more than 2,700 years */
	map->midnight_us = malloc((map->n_days + 1) * sizeof(int64_t));
	CS_ASSERT(map->midnight_us != NULL);
	for (i = 0; i <= map->n_days; i++)
		map->midnight_us[i] = midnight_of_day(map->first_day + (int64_t)i);
}

void cs_day_map_free(cs_day_map *map)
{
	free(map->midnight_us);
	map->midnight_us = NULL;
	map->n_days = 0;
}

int64_t cs_day_map_day(const cs_day_map *map, int64_t us)
{
	size_t lo = 0, hi = map->n_days, mid;

	if (map->n_days == 0 || us < map->midnight_us[0] || us >= map->midnight_us[map->n_days])
		return cs_local_day_of_us(us);
	/* the last day whose midnight is <= us (a skipped day shares its
	 * midnight with the next, which wins) */
	while (hi - lo > 1) {
		mid = lo + (hi - lo) / 2;
		if (map->midnight_us[mid] <= us)
			lo = mid;
		else
			hi = mid;
	}
	return map->first_day + (int64_t)lo;
}

void cs_day_text(char *buf, size_t size, int64_t day)
{
	int64_t y;
	unsigned m, d;

	cs_civil_from_days(day, &y, &m, &d);
	snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, m, d);
}

int64_t cs_day_add(int64_t day, int months, int days)
{
	int64_t y, last;
	unsigned m, d, mm, month_len;

	cs_civil_from_days(day, &y, &m, &d);
	mm = m - 1 + (unsigned)months;
	y += mm / 12;
	mm = mm % 12 + 1;
	last = cs_days_from_civil(mm == 12 ? y + 1 : y, mm == 12 ? 1 : mm + 1, 1) - 1;
	month_len = (unsigned)(last - cs_days_from_civil(y, mm, 1)) + 1;
	return cs_days_from_civil(y, mm, d < month_len ? d : month_len) + days;
}

int64_t cs_local_days_between(int64_t first, int64_t end)
{
	int64_t n = 0, d;

	for (d = first; d < end; d++)
		n += cs_local_day_exists(d) != 0;
	return n;
}
