/*
 * distribute.c -- the distribute run (spec sections 6 and 7): the tiling
 * check, fee income, costs and patronage bases from the database, the pure
 * waterfall (surplus.c), and the ledger lines, steps and member allocations
 * written in one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/bookkeeping.h"
#include "coopsettle/balances.h"
#include "coopsettle/buf.h"
#include "coopsettle/capital.h"
#include "coopsettle/copybin.h"
#include "coopsettle/copypipe.h"
#include "coopsettle/db.h"
#include "coopsettle/failpoint.h"
#include "coopsettle/hash.h"
#include "coopsettle/json.h"
#include "coopsettle/members.h"
#include "coopsettle/run.h"
#include "coopsettle/runcommon.h"
#include "coopsettle/schema.h"
#include "coopsettle/source.h"
#include "coopsettle/stored.h"
#include "coopsettle/surplus.h"
#include "coopsettle/util.h"

/* Parses a decimal integer of at most 38 digits into a cs_i128. */
static int parse_i128(const char *s, cs_i128 *out)
{
	cs_i128 v = 0;
	int neg = 0, n = 0;

	if (!s)
		return -1;
	if (*s == '-') {
		neg = 1;
		s++;
	}
	for (; *s; s++, n++) {
		if (*s < '0' || *s > '9' || n >= 38)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (n == 0)
		return -1;
	*out = neg ? -v : v;
	return 0;
}

typedef struct settle_ref {
	int64_t id, from_us, to_us;
	char from_text[40], to_text[40], output[65];
} settle_ref;

/* The committed settle runs must tile the window: exit 3 otherwise. */
static int tiling(cs_db *r, const cs_run_opts *opts, settle_ref **out, size_t *n_out,
		  cs_error *err)
{
	cs_db_rows rows;
	char from[24], to[24];
	const char *params[2];
	size_t i, n;
	settle_ref *refs;
	cs_buf bad;
	int64_t at = opts->window.from_us;

	snprintf(from, sizeof(from), "%lld", (long long)opts->window.from_us);
	snprintf(to, sizeof(to), "%lld", (long long)opts->window.to_us);
	params[0] = from;
	params[1] = to;
	if (cs_db_query(r,
			"SELECT id, window_from_us, window_to_us, window_from_text, window_to_text,"
			" output_sha256 FROM coopsettle.runs WHERE kind = 'settle'"
			" AND status = 'committed' AND window_from_us < $2::bigint"
			" AND window_to_us > $1::bigint ORDER BY window_from_us, id",
			2, params, &rows, err) < 0)
		return -1;
	n = rows.n_rows;
	refs = calloc(n + 1, sizeof(*refs));
	CS_ASSERT(refs != NULL);
	cs_buf_init(&bad);
	for (i = 0; i < n; i++) {
		settle_ref *x = &refs[i];

		cs_db_cell_i64(&rows, i, 0, &x->id);
		cs_db_cell_i64(&rows, i, 1, &x->from_us);
		cs_db_cell_i64(&rows, i, 2, &x->to_us);
		snprintf(x->from_text, sizeof(x->from_text), "%s", cs_db_cell(&rows, i, 3));
		snprintf(x->to_text, sizeof(x->to_text), "%s", cs_db_cell(&rows, i, 4));
		snprintf(x->output, sizeof(x->output), "%s", cs_db_cell(&rows, i, 5));
		if (x->from_us < opts->window.from_us || x->to_us > opts->window.to_us) {
			cs_buf_printf(&bad, "%ssettle run %lld [%s, %s) straddles a bound of the window",
				      bad.len ? "\n" : "", (long long)x->id, x->from_text, x->to_text);
			continue;
		}
		if (x->from_us > at) {
			char gap_from[40];

			cs_format_local(gap_from, sizeof(gap_from), at);
			cs_buf_printf(&bad, "%sgap [%s, %s) has no committed settle run",
				      bad.len ? "\n" : "", gap_from, x->from_text);
		}
		if (x->to_us > at)
			at = x->to_us;
	}
	if (at < opts->window.to_us) {
		char gap_from[40];

		cs_format_local(gap_from, sizeof(gap_from), at);
		cs_buf_printf(&bad, "%sgap [%s, %s) has no committed settle run", bad.len ? "\n" : "",
			      gap_from, opts->window.to_text);
	}
	cs_db_rows_free(&rows);
	if (bad.len) {
		cs_error_set(err, CS_EXIT_DATA,
			     "the committed settle runs do not tile the window [%s, %s); nothing was "
			     "written",
			     opts->window.from_text, opts->window.to_text);
		cs_error_detail(err, "%s", bad.data);
		cs_error_hint(err, "Settle the missing days, or distribute a window made of whole "
				   "settle runs.");
		cs_buf_free(&bad);
		free(refs);
		return -1;
	}
	cs_buf_free(&bad);
	*out = refs;
	*n_out = n;
	return 0;
}

/* "{1,2,3}" for an array parameter. */
static void id_array(cs_buf *b, const settle_ref *refs, size_t n)
{
	size_t i;

	cs_buf_putc(b, '{');
	for (i = 0; i < n; i++)
		cs_buf_printf(b, "%s%lld", i ? "," : "", (long long)refs[i].id);
	cs_buf_putc(b, '}');
}

static int currency_of(const cs_config *cfg, const char *code, const char *what, cs_error *err)
{
	int c = code ? cs_config_currency_index(cfg, code, strlen(code)) : -1;

	if (c < 0) {
		cs_error_set(err, CS_EXIT_DATA, "%s has currency '%s', which the config does not list",
			     what, code ? code : "NULL");
		cs_error_hint(err, "Add the currency to 'currencies', or correct the rows.");
	}
	return c;
}

/* The costs per currency of the window (spec 6): the config's amounts, or
 * the sums of the costs relation over the window's local days; with config
 * version 2 also those rows (booked_on, currency,
 * amount_minor" in *cost_rows (n_cost_rows of them), the run's snapshot. */
static int costs(cs_db *r, const cs_config *cfg, cs_surplus_input *in, cs_cost_row **cost_rows,
		 size_t *n_cost_rows, cs_error *err)
{
	static const char *const amount_col[] = {"amount_minor"};
	char *rel;
	cs_buf sql, inexact;
	cs_db_rows rows;
	char first[16], end[16];
	cs_buf skipped;
	const char *params[3] = {first, end, NULL};
	size_t i;
	int rc = 0;

	if (!cfg->costs_from_relation) {
		for (i = 0; i < cfg->n_currencies; i++)
			if (cfg->costs_amount.present && cfg->costs_amount.applies[i])
				in->costs_minor[i] = cs_i128_from_mpz(cfg->costs_amount.minor[i]);
		return 0;
	}
	rel = cs_source_relation_sql(r, &cfg->costs_relation, err);
	if (!rel)
		return -1;
	cs_day_text(first, sizeof(first), in->first_day);
	cs_day_text(end, sizeof(end), in->end_day);
	cs_buf_init(&sql);
	cs_buf_init(&inexact);
	cs_buf_init(&skipped);
	cs_buf_putc(&skipped, '{'); /* the days the clocks skipped are no days of the window */
	for (i = 0; i < in->n_skipped_days; i++) {
		char day[16];

		cs_day_text(day, sizeof(day), in->skipped_days[i]);
		cs_buf_printf(&skipped, "%s%s", i ? "," : "", day);
	}
	cs_buf_putc(&skipped, '}');
	params[2] = skipped.data;
	if (cs_source_inexact_sql(r, rel, amount_col, 1, &inexact, err) < 0) {
		rc = -1;
		goto cleanup;
	}
	cs_buf_printf(&sql,
		      "SELECT currency::text, sum(amount_minor::bigint)::text,"
		      " count(*) FILTER (WHERE amount_minor IS NULL), %s%s%s FROM %s"
		      " WHERE booked_on::date >= $1::date AND booked_on::date < $2::date"
		      " AND booked_on::date <> ALL ($3::date[]) GROUP BY 1",
		      inexact.len ? "pg_catalog.string_agg(" : "NULL::text",
		      inexact.len ? inexact.data : "", inexact.len ? ", '; ')" : "", rel);
	if (cs_db_query(r, sql.data, 3, params, &rows, err) < 0) {
		rc = -1;
		goto cleanup;
	}
	for (i = 0; i < rows.n_rows && rc == 0; i++) {
		int c = currency_of(cfg, cs_db_cell(&rows, i, 0), "an operating cost row", err);
		const char *nulls = cs_db_cell(&rows, i, 2);
		cs_i128 v = 0;

		if (c < 0) {
			rc = -1;
		} else if (cs_db_cell(&rows, i, 3)) {
			rc = cs_error_set(err, CS_EXIT_DATA,
					  "operating cost rows in %s hold a fraction in amount_minor; "
					  "nothing was written",
					  cfg->currencies[c].code);
			cs_error_detail(err, "%.400s is not a whole number", cs_db_cell(&rows, i, 3));
			cs_error_hint(err, "Amounts in minor units are whole numbers: correct the rows "
					   "or the view that converts them (docs/inputs.md).");
		} else if (!nulls || strcmp(nulls, "0") != 0) {
			rc = cs_error_set(err, CS_EXIT_DATA,
					  "operating cost rows in %s have a NULL amount_minor",
					  cfg->currencies[c].code);
		} else if (cs_db_cell(&rows, i, 1) && parse_i128(cs_db_cell(&rows, i, 1), &v) < 0) {
			rc = cs_error_set(err, CS_EXIT_RUNTIME, "bad cost total");
		} else {
			in->costs_minor[c] = v;
		}
	}
	cs_db_rows_free(&rows);
	if (rc == 0 && cfg->version >= 2 && cost_rows) {
		/* version 2: the rows themselves, the run's cost snapshot */
		cs_buf_reset(&sql);
		cs_buf_printf(&sql,
			      "SELECT booked_on::date - DATE '1970-01-01', currency::text,"
			      " amount_minor::bigint"
			      " FROM %s WHERE booked_on::date >= $1::date AND booked_on::date < $2::date"
			      " AND booked_on::date <> ALL ($3::date[]) ORDER BY booked_on::date,"
			      " currency::text COLLATE \"C\", amount_minor::bigint",
			      rel);
		if (cs_db_query(r, sql.data, 3, params, &rows, err) < 0) {
			rc = -1;
		} else {
			*cost_rows = calloc(rows.n_rows + 1, sizeof(**cost_rows));
			CS_ASSERT(*cost_rows != NULL);
			for (i = 0; i < rows.n_rows; i++) {
				cs_cost_row *x = &(*cost_rows)[i];
				const char *code = cs_db_cell(&rows, i, 1);
				int c = code ? cs_config_currency_index(cfg, code, strlen(code)) : -1;

				/* the sums above passed: currencies known, no NULL amount */
				CS_ASSERT(c >= 0);
				x->currency = (size_t)c;
				if (cs_db_cell_i64(&rows, i, 0, &x->day) < 0 ||
				    cs_db_cell_i64(&rows, i, 2, &x->amount_minor) < 0)
					rc = cs_error_set(err, CS_EXIT_DATA,
							  "an operating cost row has a NULL booked_on");
			}
			*n_cost_rows = rows.n_rows;
			cs_db_rows_free(&rows);
		}
	}
cleanup:
	cs_buf_free(&sql);
	cs_buf_free(&inexact);
	cs_buf_free(&skipped);
	free(rel);
	return rc;
}

/*
 * Patronage bases: the member's own side in the tiling settle runs, summed
 * here per member and currency. The rows stream in as binary COPY: a GROUP BY
 * in the server hashed 1.2M groups past work_mem and spilled to disk (5.4 s
 * of a 1M-member run, docs/performance.md); memory here is the members'
 * arrays, sized before.
 */
/* What bases() keeps while the party totals stream in. */
typedef struct bases_ctx {
	const cs_config *cfg;
	cs_members *members;
	const cs_member *sorted;
	size_t n_members;
	size_t hint; /* the member found last */
	cs_i128 *fees, *gross;
	/* config version 2: member business per class (spec 10.1) */
	int dated;
	cs_i128 *class_fees, *class_gross;
} bases_ctx;

/* Adds one party total (party_id, side, currency, fees, gross) to its
 * member's bases when it is the member's own side. Returns NULL, or why
 * the row cannot be read ("" when err is filled). */
static const char *base_row(bases_ctx *b, const cs_copybin_field *f, size_t n, cs_error *err)
{
	int64_t id;
	const cs_member *m;
	const char *side;
	int c;
	size_t k;
	cs_i128 fv, gv;

	int cls = -1;

	if (n != 6 || f[0].is_null || f[1].is_null || f[2].is_null ||
	    cs_copybin_int8(&f[0], &id) < 0)
		return "unexpected party total row";
	if (b->dated) {
		/* member business only: a party total of a version 1 settle run
		 * (member NULL) counts as its member's own side always did */
		if (!f[5].is_null && (f[5].len != 1 || f[5].data[0] == 0))
			return NULL;
		cls = f[1].len == 8 && memcmp(f[1].data, "producer", 8) == 0 ? CS_CLASS_PRODUCER
		      : f[1].len == 8 && memcmp(f[1].data, "consumer", 8) == 0 ? CS_CLASS_CONSUMER
									       : -1;
		if (cls < 0)
			return "unexpected side in a party total";
	}
	/* party totals come in id order within a run (a row per currency):
	 * try the last member found and the next one before the hash table */
	if (b->hint < b->n_members && b->sorted[b->hint].id == id)
		m = &b->sorted[b->hint];
	else if (b->hint + 1 < b->n_members && b->sorted[b->hint + 1].id == id)
		m = &b->sorted[b->hint + 1];
	else
		m = cs_members_find(b->members, id);
	if (!m)
		return NULL; /* not a member */
	b->hint = (size_t)(m - b->sorted);
	side = cs_class_name(m->cls);
	if (!b->dated && (f[1].len != strlen(side) || memcmp(f[1].data, side, f[1].len) != 0))
		return NULL; /* not the member's own side */
	c = cs_config_currency_index(b->cfg, f[2].data, f[2].len);
	if (c < 0) {
		char code[32];

		snprintf(code, sizeof(code), "%.*s", (int)(f[2].len < 16 ? f[2].len : 16), f[2].data);
		currency_of(b->cfg, code, "a settle run", err);
		return "";
	}
	if (f[3].is_null || f[4].is_null || cs_copybin_numeric(&f[3], &fv) < 0 ||
	    cs_copybin_numeric(&f[4], &gv) < 0)
		return "bad party total";
	if (b->dated) {
		k = (b->hint * CS_CLASSES_MAX + (size_t)cls) * b->cfg->n_currencies + (size_t)c;
		cs_i128_add(&b->class_fees[k], fv);
		cs_i128_add(&b->class_gross[k], gv);
		return NULL;
	}
	k = b->hint * b->cfg->n_currencies + (size_t)c;
	cs_i128_add(&b->fees[k], fv);
	cs_i128_add(&b->gross[k], gv);
	return NULL;
}

/*
 * Patronage bases: the member's own side in the tiling settle runs, summed
 * here per member and currency. The rows stream in as binary COPY: a GROUP BY
 * in the server hashed 1.2M groups past work_mem and spilled to disk (5.4 s
 * of a 1M-member run, docs/performance.md); memory here is the members'
 * arrays, sized before.
 */
static int bases(cs_db *r, const char *ids, bases_ctx b, cs_error *err)
{
	cs_buf sql;
	cs_copybin_reader rd = {0, 0};
	cs_copybin_field f[CS_COPYBIN_FIELDS_MAX];
	const char *msg, *why, *problem = NULL;
	size_t len, n;
	int rc;

	/* ids is "{1,2,3}", made of integers by id_array: safe as a literal */
	cs_buf_init(&sql);
	cs_buf_printf(&sql,
		      "COPY (SELECT party_id, side, currency, fees_minor, gross_minor, member"
		      " FROM coopsettle.party_totals WHERE run_id = ANY('%s'::bigint[]))"
		      " TO STDOUT (FORMAT binary)",
		      ids);
	rc = cs_db_copy_out_begin(r, sql.data, err);
	cs_buf_free(&sql);
	if (rc < 0)
		return -1;
	while ((rc = cs_db_copy_out_next(r, &msg, &len, err)) == 1) {
		if (problem)
			continue; /* drain the COPY */
		rc = cs_copybin_parse(&rd, msg, len, f, &n, &why);
		if (rc <= 0)
			problem = rc < 0 ? why : NULL;
		else
			problem = base_row(&b, f, n, err);
	}
	if (rc < 0)
		return -1;
	if (problem && *problem)
		return cs_error_set(err, CS_EXIT_RUNTIME, "reading party totals: %s", problem);
	return problem ? -1 : 0;
}

#include "distribute_out.h"

/* One distribute run: its connections, inputs and outputs so far. */
typedef struct dist_run {
	const cs_run_opts *opts;
	cs_run_result *res;
	cs_db *r, *w; /* reader; writer (NULL for a dry run) */
	cs_members *members;
	const cs_member *sorted;
	size_t n_members;
	settle_ref *refs; /* the tiling settle runs */
	size_t n_refs;
	cs_surplus_input in;
	cs_surplus_result sres;
	int have_sres;
	cs_i128 *fees, *gross; /* patronage bases [member * n_currencies + c] */
	int64_t *skipped;      /* local days the clocks skipped */
	cs_run_link *links;    /* the tiling settle runs, for the canonical input */
	/* config version 2: member business per class, capital over time */
	cs_i128 *class_fees, *class_gross, *capital_days, *capital_open;
	cs_capital capital;
	cs_balances balances;   /* version 2: at the window's start */
	cs_cost_row *cost_rows; /* version 2: the cost rows read */
	size_t n_cost_rows;
	cs_run_ref old_ref;    /* the committed run of exactly this window */
	int equal;             /* old_ref is set */
	int recheck;           /* equal without --supersede: compare, never write */
	int64_t old, id;       /* the run superseded (0: none); this run's id */
	int writing;           /* the writer's transaction is open */
	dist_out o;
} dist_run;

/* Connects; refuses an open window (the command); finds the committed
 * run of this window, if any, as settle does (settle_open); a real run
 * that will write draws its id. */
static int dist_open(dist_run *d, cs_error *err)
{
	const cs_run_opts *opts = d->opts;

	if (!opts->cfg->has_surplus) {
		cs_error_set(err, CS_EXIT_USAGE, "%s has no 'surplus' section", opts->cfg->path);
		cs_error_hint(err, "Add surplus: {steps: [...]} to the config to distribute.");
		return -1;
	}
	d->r = cs_db_connect(opts->conninfo, err);
	if (!d->r || cs_run_check_storable(d->r, opts->cfg, err) < 0)
		return -1;
	if (opts->command && ((opts->dry_run && cs_schema_check(d->r, err) < 0) ||
			      cs_run_check_closed(d->r, opts, err) < 0))
		return -1;
	if (!opts->dry_run) {
		d->w = cs_db_connect(opts->conninfo, err);
		if (!d->w ||
		    cs_run_begin_write(d->w, opts, "distribute", &d->equal, &d->old_ref, err) < 0)
			return -1;
		CS_FAILPOINT("distribute_after_lock");
		d->writing = 1;
	} else if (opts->command &&
		   cs_run_find_conflict(d->r, opts, "distribute", &d->equal, &d->old_ref, err) < 0) {
		return -1;
	}
	if (d->equal && opts->supersede)
		d->old = d->old_ref.id;
	d->recheck = d->equal && !opts->supersede;
	if (d->w && !d->recheck)
		return cs_run_next_id(d->w, &d->id, err);
	return 0;
}

/* Config version 2: every member's capital over time and its sum over the
 * days capital interest counts (daily_balance, spec 10.3); capital below 0
 * on such a day is invalid input (exit 3, spec 10.7.6). */
static int dist_capital(dist_run *d, cs_error *err)
{
	const cs_config *cfg = d->opts->cfg;

	if (cs_capital_read(d->r, cfg, d->members, d->sorted, d->n_members, d->in.end_day - 1,
			    d->opts->window.from_us, &d->capital, err) < 0)
		return -1;
	d->capital_days = calloc(d->n_members + 1, sizeof(cs_i128));
	d->capital_open = calloc(d->n_members + 1, sizeof(cs_i128));
	CS_ASSERT(d->capital_days && d->capital_open);
	d->in.set = d->members; /* the capital sums read the periods */
	return cs_capital_inputs(&d->in, d->sorted, d->n_members, &d->capital, d->capital_days,
				 d->capital_open, 1, err);
}

/* Version 2: the balances at the window's start (spec 10.2); a window that
 * starts before surplus.opening's as_of is refused (exit 2, 10.7.2). */
static int dist_balances(dist_run *d, cs_error *err)
{
	const cs_config *cfg = d->opts->cfg;

	if (cfg->has_opening && d->in.first_day < cfg->opening_as_of) {
		char as_of[16];

		cs_day_text(as_of, sizeof(as_of), cfg->opening_as_of);
		cs_error_set(err, CS_EXIT_USAGE,
			     "the window starts before surplus.opening.as_of %s: the opening "
			     "balances are those of that day",
			     as_of);
		cs_error_hint(err, "Distribute windows from %s on, or move as_of back to a day "
				   "whose balances you know.",
			      as_of);
		return -1;
	}
	if (cs_balances_read(d->r, cfg, d->opts->window.from_us, 0, &d->balances, err) < 0)
		return -1;
	d->in.balance_minor = d->balances.minor;
	d->in.balance_runs = d->balances.runs;
	d->in.n_balance_runs = d->balances.n_runs;
	return 0;
}

/* Reads, in one snapshot taken after the lock: the tiling settle runs,
 * their fee income, the costs, the members and their patronage bases. */
static int dist_read(dist_run *d, cs_error *err)
{
	const cs_config *cfg = d->opts->cfg;
	cs_buf ids;
	int rc = -1;

	cs_buf_init(&ids);
	if (cs_source_begin_read(d->r, cfg, err) < 0 ||
	    tiling(d->r, d->opts, &d->refs, &d->n_refs, err) < 0)
		goto cleanup;
	id_array(&ids, d->refs, d->n_refs);
	d->in.cfg = cfg;
	cs_window_local_days(&d->opts->window, &d->in.first_day, &d->in.end_day);
	if (cfg->version >= 2 && dist_balances(d, err) < 0)
		goto cleanup;
	d->in.n_skipped_days = cs_window_skipped_days(&d->opts->window, &d->skipped);
	d->in.skipped_days = d->skipped;
	if (cs_settle_totals(d->r, cfg, ids.data, CS_EXIT_DATA, &d->in, err) < 0 ||
	    costs(d->r, cfg, &d->in, &d->cost_rows, &d->n_cost_rows, err) < 0 ||
	    cs_source_members(d->r, cfg, d->members, 1, err) < 0)
		goto cleanup;
	d->sorted = cs_members_sorted(d->members, &d->n_members);
	d->fees = calloc(d->n_members * cfg->n_currencies + 1, sizeof(cs_i128));
	d->gross = calloc(d->n_members * cfg->n_currencies + 1, sizeof(cs_i128));
	CS_ASSERT(d->fees && d->gross);
	if (cfg->version >= 2) {
		d->class_fees = calloc(d->n_members * CS_CLASSES_MAX * cfg->n_currencies + 1,
				       sizeof(cs_i128));
		d->class_gross = calloc(d->n_members * CS_CLASSES_MAX * cfg->n_currencies + 1,
					sizeof(cs_i128));
		CS_ASSERT(d->class_fees && d->class_gross);
		cs_members_window(d->members, d->in.first_day, d->in.end_day);
	}
	{
		bases_ctx b = {cfg,	 d->members,	     d->sorted,		 d->n_members,  0,
			       d->fees, d->gross, cfg->version >= 2, d->class_fees, d->class_gross};

		if (bases(d->r, ids.data, b, err) < 0)
			goto cleanup;
	}
	if (cfg->version >= 2 && dist_capital(d, err) < 0)
		goto cleanup;
	cs_db_exec(d->r, "COMMIT", 0, NULL, err);
	d->in.n_members = d->n_members;
	d->in.members = d->sorted;
	d->in.fees_minor = d->fees;
	d->in.gross_minor = d->gross;
	if (cfg->version >= 2) {
		d->in.set = d->members;
		d->in.class_fees_minor = d->class_fees;
		d->in.class_gross_minor = d->class_gross;
		d->in.capital_days_minor = d->capital_days;
		d->in.capital_open_minor = d->capital_open;
	}
	rc = 0;
cleanup:
	cs_buf_free(&ids);
	return rc;
}

/* The canonical input (docs/reproducibility.md) into hex: the tiling
 * settle runs, and with version 2 the capital runs and rows, join the
 * waterfall's input. */
static void dist_input_hash(dist_run *d, char hex[65])
{
	size_t i;

	d->links = calloc(d->n_refs + 1, sizeof(*d->links));
	CS_ASSERT(d->links != NULL);
	for (i = 0; i < d->n_refs; i++) {
		d->links[i].id = d->refs[i].id;
		snprintf(d->links[i].output_sha256, sizeof(d->links[i].output_sha256), "%s",
			 d->refs[i].output);
	}
	d->in.settle_runs = d->links;
	d->in.n_settle_runs = d->n_refs;
	d->in.capital_runs = d->capital.runs;
	d->in.n_capital_runs = d->capital.n_runs;
	d->in.capital_rows = d->capital.rows;
	d->in.n_capital_rows = d->capital.n_rows;
	d->in.cost_rows = d->cost_rows;
	d->in.n_cost_rows = d->n_cost_rows;
	cs_surplus_input_hash(&d->in, hex);
}

/* Runs the waterfall and builds the ledger lines; a real run streams them
 * to the server while they are built (an unchanged run rolls them back, as
 * settle does). Then the output hash. */
static int dist_compute(dist_run *d, cs_error *err)
{
	dist_out *o = &d->o;

	CS_FAILPOINT("distribute_after_read");
	if (cs_surplus_compute(&d->in, &d->sres, err) < 0)
		return -1;
	d->have_sres = 1;
	o->cfg = d->opts->cfg;
	o->run_id = d->id;
	o->posted_day = d->in.end_day - 1;
	if (d->w && !d->recheck && !(o->pipe = cs_ledger_copy_open(d->w, &o->copy, err)))
		return -1;
	if (cs_build_lines(o, &d->in, &d->sres, err) < 0)
		return -1;
	if (o->pipe) {
		cs_copypipe *pipe = o->pipe;

		CS_FAILPOINT("distribute_during_copy"); /* the sender may be mid-COPY */
		o->pipe = NULL; /* closed whatever happens */
		if (cs_copypipe_close(pipe, &o->copy, err) < 0 ||
		    cs_db_expect_stored(d->w, "coopsettle.ledger_lines", o->lines, err) < 0)
			return -1;
	}
	cs_canonical_steps(&o->canon, o->cfg, &d->sres);
	cs_sha256_update(o->hash, o->canon.data, o->canon.len);
	cs_sha256_final(o->hash, d->res->output_hash);
	o->hash = NULL;
	d->res->lines_written = o->lines;
	return 0;
}

/* COPY text rows into table (columns cols) as one COPY; n rows expected. */
static int copy_text(cs_db *w, const char *sql, const char *table, const cs_buf *b, int64_t n,
		     cs_error *err)
{
	if (cs_db_copy_in_begin(w, sql, err) < 0 ||
	    (b->len && cs_db_copy_in_put(w, b->data, b->len, err) < 0) ||
	    cs_db_copy_in_end(w, err) < 0)
		return -1;
	return cs_db_expect_stored(w, table, n, err);
}

/* Config version 2: what the run read from memberships, capital and costs
 * (spec 10.4), so that verify recomputes it from its own snapshots. */
static int write_snapshots(dist_run *d, cs_error *err)
{
	const cs_surplus_input *in = &d->in;
	cs_buf b;
	size_t i, n, k;
	int64_t rows = 0;
	int c, rc = -1;
	char day[16];

	cs_buf_init(&b);
	for (i = 0; i < d->n_members; i++) {
		for (c = 0; c < CS_CLASSES_MAX; c++) {
			const cs_period *p = cs_members_periods(d->members, &d->sorted[i],
								 (cs_class)c, &n);

			for (k = 0; k < n; k++) {
				if (p[k].from_day >= in->end_day || p[k].to_day <= in->first_day)
					continue;
				cs_day_text(day, sizeof(day), p[k].from_day);
				cs_buf_printf(&b, "%lld\t%lld\t%s\t%s\t", (long long)d->id,
					      (long long)d->sorted[i].id, cs_class_name((cs_class)c), day);
				if (p[k].to_day == CS_DAY_OPEN) {
					cs_buf_puts(&b, "\\N\n");
				} else {
					cs_day_text(day, sizeof(day), p[k].to_day);
					cs_buf_printf(&b, "%s\n", day);
				}
				rows++;
			}
		}
	}
	if (copy_text(d->w,
		      "COPY coopsettle.run_memberships (run_id, member_id, class, joined_on,"
		      " left_on) FROM STDIN",
		      "coopsettle.run_memberships", &b, rows, err) < 0)
		goto cleanup;
	cs_buf_reset(&b);
	rows = 0;
	for (i = 0; i < d->capital.n_rows; i++) {
		const cs_capital_row *r = &d->capital.rows[i];
		const cs_member *m = cs_members_find(d->members, r->member_id);

		if (!m || !cs_member_in_window(in, m))
			continue;
		rows++;
		cs_day_text(day, sizeof(day), r->day);
		cs_buf_printf(&b, "%lld\t%lld\t%s\t%lld\n", (long long)d->id,
			      (long long)r->member_id, day, (long long)r->amount_minor);
	}
	if (copy_text(d->w,
		      "COPY coopsettle.run_capital (run_id, member_id, booked_on, amount_minor)"
		      " FROM STDIN",
		      "coopsettle.run_capital", &b, rows, err) < 0)
		goto cleanup;
	cs_buf_reset(&b);
	for (i = 0; i < d->n_cost_rows; i++) {
		const cs_cost_row *r = &d->cost_rows[i];

		cs_day_text(day, sizeof(day), r->day);
		cs_buf_printf(&b, "%lld\t%s\t%s\t%lld\n", (long long)d->id, day,
			      in->cfg->currencies[r->currency].code, (long long)r->amount_minor);
	}
	rc = copy_text(d->w,
		       "COPY coopsettle.run_costs (run_id, booked_on, currency, amount_minor)"
		       " FROM STDIN",
		       "coopsettle.run_costs", &b, (int64_t)d->n_cost_rows, err);
cleanup:
	cs_buf_free(&b);
	return rc;
}

static int cmp_id(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The runs a distribute run depends on (spec section 10.4): the settle runs
 * that tile its window, the distribute runs whose lines fed its balances or
 * whose retained patronage counts as capital, and the distribute run it
 * supersedes; ascending, each once, in a new array (the caller frees it)
 * of *n ids. */
static int64_t *dist_depends_on(const dist_run *d, size_t *n)
{
	int64_t *ids = calloc(d->n_refs + d->balances.n_runs + d->capital.n_runs + 2, sizeof(*ids));
	size_t i, k = 0;

	CS_ASSERT(ids != NULL);
	for (i = 0; i < d->n_refs; i++)
		ids[k++] = d->refs[i].id;
	for (i = 0; i < d->balances.n_runs; i++)
		ids[k++] = d->balances.runs[i].id;
	for (i = 0; i < d->capital.n_runs; i++)
		ids[k++] = d->capital.runs[i].id;
	if (d->old)
		ids[k++] = d->old;
	if (k > 1)
		qsort(ids, k, sizeof(*ids), cmp_id);
	for (*n = 0, i = 0; i < k; i++) /* each once */
		if (*n == 0 || ids[*n - 1] != ids[i])
			ids[(*n)++] = ids[i];
	return ids;
}

static int dist_write(dist_run *d, cs_error *err)
{
	const cs_run_opts *opts = d->opts;
	cs_run_result *res = d->res;
	int64_t *deps;
	size_t n_deps;
	int rc;

	if (d->equal && cs_run_unchanged(&d->old_ref, res->input_hash, res->output_hash)) {
		res->status = "unchanged";
		res->run_id = d->old_ref.id;
		cs_run_rollback(d->w);
		d->writing = 0;
		return 0;
	}
	if (d->recheck)
		return cs_run_refuse_changed(d->r, opts, "distribute", &d->old_ref, res, err);
	res->supersedes = d->old;
	if (!d->w)
		return 0;
	res->run_id = d->id;
	cs_dist_statement(&res->statement, opts, &d->in, &d->sres, d->id, "committed",
		       res->input_hash, res->output_hash, 0);
	CS_FAILPOINT("distribute_before_write");
	deps = dist_depends_on(d, &n_deps);
	rc = cs_write_dist(d->w, opts->cfg, d->id, &d->in, &d->sres, err);
	if (rc == 0 && opts->cfg->version >= 2)
		rc = write_snapshots(d, err);
	if (rc == 0)
		rc = cs_run_finish_write(d->w, opts, "distribute", d->id, d->old, res->input_hash,
					 res->output_hash, d->o.lines, res->statement.data, deps,
					 n_deps, err);
	free(deps);
	if (rc < 0)
		return -1;
	d->writing = 0;
	return 0;
}

/* Stops the sender, rolls back what is still open and frees the run. */
static void dist_close(dist_run *d, int failed, cs_error *err)
{
	if (d->o.pipe) { /* stop the sender before the connection goes */
		cs_error ignored;

		cs_copypipe_finish(d->o.pipe, &ignored);
	}
	if (failed)
		cs_run_name_lost_connection(d->r, d->w, err);
	if (d->writing)
		cs_run_rollback(d->w);
	if (d->have_sres)
		cs_surplus_result_free(&d->sres);
	cs_db_close(d->r);
	cs_db_close(d->w);
	cs_members_free(d->members);
	free(d->refs);
	free(d->fees);
	free(d->gross);
	free(d->skipped);
	free(d->links);
	free(d->class_fees);
	free(d->class_gross);
	free(d->capital_days);
	free(d->capital_open);
	cs_balances_free(&d->balances);
	cs_capital_free(&d->capital);
	free(d->cost_rows);
	cs_buf_free(&d->o.copy);
	cs_buf_free(&d->o.canon);
	cs_sha256_free(d->o.hash);
}

int cs_run_distribute(const cs_run_opts *opts, cs_run_result *res, cs_error *err)
{
	dist_run d;
	cs_buf unallocated;
	int rc;

	cs_buf_init(&unallocated);
	memset(&d, 0, sizeof(d));
	d.opts = opts;
	d.res = res;
	d.members = cs_members_new();
	cs_buf_init(&d.o.copy);
	cs_buf_init(&d.o.canon);
	d.o.hash = cs_sha256_new();
	res->status = opts->dry_run ? "dry_run" : "committed";

	rc = dist_open(&d, err);
	if (rc == 0)
		rc = dist_read(&d, err);
	if (rc == 0) {
		dist_input_hash(&d, res->input_hash);
		rc = dist_compute(&d, err);
	}
	if (rc == 0)
		rc = dist_write(&d, err);
	if (rc == 0) {
		/* verify's recomputation lists every allocation row, basis included */
		cs_dist_statement(&res->statement, opts, &d.in, &d.sres, res->run_id, res->status,
			       res->input_hash, res->output_hash,
			       opts->summary_only ? 0 : opts->restate_run_id ? 2 : 1);
		if (opts->command)
			cs_dist_unallocated(opts, &d.in, &d.sres, res, &unallocated);
		cs_dist_summary(&res->summary, opts, &d.in, &d.sres, res, d.n_refs, &unallocated);
		if (opts->dry_run && opts->restate_run_id)
			cs_dist_statement(&res->restated, opts, &d.in, &d.sres, opts->restate_run_id,
				       "committed", res->input_hash, res->output_hash, 0);
		if (opts->command)
			cs_run_report_command(d.r, opts, "distribute", d.old ? &d.old_ref : NULL,
					      res);
	}
	dist_close(&d, rc < 0, err);
	cs_buf_free(&unallocated);
	return rc < 0 ? -1 : 0;
}

int cs_run_distribute_from(const cs_run_opts *opts, const cs_surplus_input *in,
			   cs_run_result *res, cs_error *err)
{
	dist_run d;
	int rc;

	CS_ASSERT(opts->dry_run && opts->restate_run_id);
	memset(&d, 0, sizeof(d));
	d.opts = opts;
	d.res = res;
	d.members = cs_members_new(); /* unused: in holds the members */
	cs_buf_init(&d.o.copy);
	cs_buf_init(&d.o.canon);
	d.o.hash = cs_sha256_new();
	d.in = *in;
	res->status = "dry_run";
	cs_surplus_input_hash(&d.in, res->input_hash);
	rc = dist_compute(&d, err);
	if (rc == 0) {
		cs_dist_statement(&res->statement, opts, &d.in, &d.sres, 0, res->status,
			       res->input_hash, res->output_hash, 2);
		cs_dist_statement(&res->restated, opts, &d.in, &d.sres, opts->restate_run_id,
			       "committed", res->input_hash, res->output_hash, 0);
	}
	dist_close(&d, rc < 0, err);
	return rc < 0 ? -1 : 0;
}
