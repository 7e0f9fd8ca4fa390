/*
 * fuzz_engine.c -- fuzz target for the pure cores behind a config that
 * check-config accepts: the config loader, then the settle core
 * (cs_settle_row ... cs_settle_finish) on a few rows, then the surplus
 * waterfall (cs_surplus_compute) on members and patronage bases made from
 * those rows.
 *
 * The input is the config text. The rows and members are derived from the
 * input's bytes (a hash seeds a small generator), with amounts and capital
 * at the bigint limits among them, so every config the fuzzer finds meets
 * hostile figures too. No assertion may be reachable from a config the
 * loader accepts (docs/fuzzing.md): a crash here is a bug, whatever the
 * config says. Seeds: tests/fuzz/seeds/engine, the example configs and
 * tests/config/good; regressions: tests/fuzz/regressions/engine.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/config.h"
#include "coopsettle/config_load.h"
#include "coopsettle/error.h"
#include "coopsettle/members.h"
#include "coopsettle/settle.h"
#include "coopsettle/surplus.h"
#include "coopsettle/window.h"
#include "fuzz.h"

#define ROWS 16
#define MEMBERS 6

/* xorshift64*: deterministic, seeded from the input. */
static uint64_t next_u64(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static uint64_t seed_of(const uint8_t *data, size_t size)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	size_t i;

	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 1099511628211ULL;
	return h ? h : 1;
}

/* An amount: small, typical, or at a bigint limit. */
static int64_t amount_of(uint64_t *s)
{
	static const int64_t edge[] = {0, 1, -1, INT64_MAX, INT64_MIN, INT64_MIN + 1, INT64_MAX / 2,
				       -(INT64_MAX / 3), 100, 99999, -50};
	uint64_t r = next_u64(s);

	if (r % 3 == 0)
		return edge[(r >> 8) % (sizeof(edge) / sizeof(edge[0]))];
	return (int64_t)((r >> 16) % 2000000) - 100000;
}

/* A category of the config's rules, or none, or one no rule names. */
static const char *category_of(const cs_config *cfg, uint64_t *s)
{
	uint64_t r = next_u64(s);
	const cs_rule *rule = &cfg->rules[(r >> 4) % cfg->n_rules];

	if (r % 4 == 0)
		return NULL;
	if (rule->n_categories == 0 || r % 4 == 1)
		return "other";
	return rule->categories[(r >> 12) % rule->n_categories];
}

/* Members 1..MEMBERS: version 1 one row each (odd ids consumers), with
 * capital; version 2 memberships of either class or both, in one or two
 * periods that start, end or miss the window. */
static void add_members(const cs_config *cfg, cs_members *ms, uint64_t *s, int64_t first_day)
{
	size_t i;

	for (i = 0; i < MEMBERS; i++) {
		cs_member m;
		uint64_t r = next_u64(s);
		int c;

		if (cfg->version >= 2) {
			for (c = 0; c < 2; c++) { /* consumer rows first, as read */
				cs_class cls = c == 0 ? CS_CLASS_CONSUMER : CS_CLASS_PRODUCER;
				int64_t from = first_day - 10 + (int64_t)((r >> (8 * c)) % 40);
				int64_t len = 1 + (int64_t)((r >> (8 * c + 16)) % 20);

				if ((r >> (40 + c)) & 1)
					continue; /* not this class */
				cs_members_add_period(ms, (int64_t)i + 1, cls, from, 1, from + len);
				if ((r >> (44 + c)) & 1) /* rejoins later, for good */
					cs_members_add_period(ms, (int64_t)i + 1, cls, from + len + 3, 0, 0);
			}
			continue;
		}
		memset(&m, 0, sizeof(m));
		m.id = (int64_t)i + 1;
		m.cls = i % 2 ? CS_CLASS_CONSUMER : CS_CLASS_PRODUCER;
		m.has_joined = 1;
		m.joined_day = first_day - 10 + (int64_t)(r % 40);
		if (r & 0x100) {
			m.has_left = 1;
			m.left_day = m.joined_day + 1 + (int64_t)((r >> 9) % 40);
		}
		m.capital_minor = r & 0x200 ? INT64_MAX : (int64_t)((r >> 20) % 10000000);
		CS_ASSERT(cs_members_add(ms, &m) == 0);
	}
}

/* Settles ROWS rows; returns the state (the caller frees it). */
static cs_settle *settle_rows(const cs_config *cfg, cs_members *ms, uint64_t *s,
			      int64_t first_day)
{
	cs_settle *st = cs_settle_new(cfg, ms, NULL, NULL);
	static cs_day_map days; /* November 2026 in UTC, made once */
	cs_error err;
	size_t i;

	if (!days.midnight_us) {
		cs_window w;

		CS_ASSERT(cs_tz_use("UTC", &err) == 0);
		CS_ASSERT(cs_window_from_period(&w, "2026-11", &err) == 0);
		cs_day_map_init(&days, &w);
	}
	if (cfg->version >= 2)
		cs_members_window(ms, days.first_day, days.first_day + (int64_t)days.n_days);
	cs_settle_use_days(st, &days);

	for (i = 0; i < ROWS; i++) {
		cs_txn_row row;
		uint64_t r = next_u64(s);
		const char *cat = category_of(cfg, s);
		const char *code = cfg->currencies[(r >> 3) % cfg->n_currencies].code;

		memset(&row, 0, sizeof(row));
		row.has_id = r % 17 != 0;
		row.id = (int64_t)i + 1 - (int64_t)(r % 11 == 0); /* now and then a repeat */
		row.has_occurred_at = 1;
		row.occurred_at_us = (first_day * 86400 + (int64_t)((r >> 5) % 86400)) * 1000000;
		row.has_producer = r % 19 != 0;
		row.producer_id = (int64_t)((r >> 24) % (MEMBERS + 2)) + 1;
		row.has_consumer = r % 5 != 0;
		row.consumer_id = (int64_t)((r >> 28) % (MEMBERS + 2)) + 1;
		row.has_amount = 1;
		row.amount_minor = amount_of(s);
		row.has_currency = 1;
		row.currency = r % 23 == 0 ? "XXX" : code;
		row.currency_len = strlen(row.currency);
		row.has_category = cat != NULL;
		row.category = cat;
		row.category_len = cat ? strlen(cat) : 0;
		CS_ASSERT(cs_settle_row(st, &row, &err) == 0);
	}
	CS_ASSERT(cs_settle_finish(st, &err) == 0);
	for (i = 0; i < cfg->n_currencies; i++)
		CS_ASSERT(cs_settle_lines_sum(st, i) == 0); /* every journal balances */
	return st;
}

/* Version 2's opening capital (`basis: opening_balance`, spec 10.7.6), as
 * cs_capital_inputs gives it: per member its capital at the end of the day
 * before the window -- up to the bigint limit -- when it is a member of any
 * class on the window's first day, else 0; and d and Y. */
static void opening_capital(cs_surplus_input *in, const cs_members *ms, cs_i128 *open,
			    uint64_t *s)
{
	size_t i;

	in->window_days = cs_local_days_between(in->first_day, in->end_day);
	in->year_days = cs_local_days_between(in->first_day, cs_day_add(in->first_day, 12, 0));
	for (i = 0; i < in->n_members; i++) {
		const cs_member *m = &in->members[i];
		uint64_t r = next_u64(s);

		if (cs_member_on(ms, m, CS_CLASS_PRODUCER, in->first_day) ||
		    cs_member_on(ms, m, CS_CLASS_CONSUMER, in->first_day))
			open[i] = r % 5 == 0 ? INT64_MAX : (cs_i128)((r >> 20) % 10000000);
	}
	in->capital_open_minor = open;
}

/* The waterfall over the members, with the rows' party totals as bases and
 * the rows' fees as fee income. */
static void distribute(const cs_config *cfg, cs_members *ms, const cs_settle *st, uint64_t *s,
		       int64_t first_day)
{
	size_t n_members, n_parties, i, n_cur = cfg->n_currencies;
	const cs_member *sorted = cs_members_sorted(ms, &n_members);
	const cs_party_total *pt = cs_settle_parties(st, &n_parties);
	cs_i128 *fees = calloc(n_members * n_cur, sizeof(cs_i128));
	cs_i128 *gross = calloc(n_members * n_cur, sizeof(cs_i128));
	cs_i128 *open = calloc(n_members + 1, sizeof(cs_i128));
	cs_surplus_input in;
	cs_surplus_result res;
	cs_error err;

	CS_ASSERT(fees && gross && open);
	memset(&in, 0, sizeof(in));
	for (i = 0; i < n_parties; i++) {
		size_t m = (size_t)(pt[i].party_id - 1);

		if (m < n_members && sorted[m].cls == pt[i].side) {
			fees[m * n_cur + pt[i].currency] += pt[i].fees_minor;
			gross[m * n_cur + pt[i].currency] += pt[i].gross_minor;
		}
	}
	in.cfg = cfg;
	in.first_day = first_day;
	in.end_day = first_day + 1 + (int64_t)(next_u64(s) % 366);
	in.n_members = n_members;
	in.members = sorted;
	in.fees_minor = fees;
	in.gross_minor = gross;
	if (cfg->version >= 2)
		opening_capital(&in, ms, open, s);
	for (i = 0; i < n_cur; i++) {
		in.fee_income_minor[i] = cs_settle_currency_total(st, i)->fees_minor;
		if (cfg->costs_amount.present && cfg->costs_amount.applies[i])
			in.costs_minor[i] = cs_i128_from_mpz(cfg->costs_amount.minor[i]);
		else
			in.costs_minor[i] = amount_of(s);
	}
	if (cs_surplus_compute(&in, &res, &err) == 0)
		cs_surplus_result_free(&res);
	free(fees);
	free(gross);
	free(open);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cs_config_diag diag;
	cs_config *cfg = NULL;
	cs_members *ms;
	cs_settle *st;
	uint64_t s = seed_of(data, size);
	int64_t first_day = cs_days_from_civil(2026, 11, 1);

	if (cs_config_load_buffer(&cfg, "fuzz.yaml", (const char *)data, size, &diag) < 0)
		return 0;
	ms = cs_members_new();
	add_members(cfg, ms, &s, first_day);
	st = settle_rows(cfg, ms, &s, first_day);
	if (cfg->has_surplus)
		distribute(cfg, ms, st, &s, first_day);
	cs_settle_free(st);
	cs_members_free(ms);
	cs_config_free(cfg);
	return 0;
}
