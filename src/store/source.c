/*
 * source.c -- reading the inputs with binary COPY (see source.h).
 */
#include "coopsettle/source.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/buf.h"
#include "coopsettle/copybin.h"
#include "coopsettle/limits.h"

char *cs_source_relation_sql(cs_db *db, const cs_relation *rel, cs_error *err)
{
	char *schema = cs_db_quote_ident(db, rel->schema, err);
	char *table = schema ? cs_db_quote_ident(db, rel->table, err) : NULL;
	cs_buf b;

	if (!table) {
		free(schema);
		return NULL;
	}
	cs_buf_init(&b);
	cs_buf_printf(&b, "%s.%s", schema, table);
	free(schema);
	free(table);
	return b.data;
}


static int bad_row(cs_error *err, const char *rel, const char *why)
{
	return cs_error_set(err, CS_EXIT_DATA, "cannot read '%s': %s", rel, why);
}

/* A value of relation rel that does not convert to the type the engine
 * reads (an amount past bigint, a date that is text): the server stops the
 * COPY with SQLSTATE class 22, data exception, which db.c reports as a
 * database error. It is invalid input: exit 3, naming the relation. */
static void data_exception(cs_error *err, const cs_relation *rel)
{
	char was[2 * CS_ERROR_MSG_BYTES + 8];

	if (err->exit_code != CS_EXIT_RUNTIME || strncmp(err->detail, "SQLSTATE 22", 11) != 0)
		return;
	snprintf(was, sizeof(was), "%s (%s)", err->message, err->detail);
	cs_error_set(err, CS_EXIT_DATA, "a value in '%s.%s' does not convert to the type read",
		     rel->schema, rel->table);
	cs_error_detail(err, "%s", was);
	cs_error_hint(err, "Correct the value or the column's type; nothing was written.");
}

/* One member row (id, class, joined_on, left_on, paid_in_capital_minor)
 * into *m; *problem says why the row is invalid (NULL: valid), idtext
 * gets the id as text for messages. Returns -1 when the columns are not of
 * the types read. */
static int member_from_row(const cs_copybin_field *f, int need_dates, cs_member *m,
			   char *idtext, size_t idsize, const char **problem)
{
	int32_t day;

	memset(m, 0, sizeof(*m));
	*problem = NULL;
	if (!f[0].is_null && cs_copybin_int8(&f[0], &m->id) < 0)
		return -1;
	if (!f[0].is_null)
		snprintf(idtext, idsize, "%lld", (long long)m->id);
	if (f[0].is_null)
		*problem = "id is null";
	else if (f[1].is_null)
		*problem = "class is null";
	else if (f[1].len == 8 && memcmp(f[1].data, "producer", 8) == 0)
		m->cls = CS_CLASS_PRODUCER;
	else if (f[1].len == 8 && memcmp(f[1].data, "consumer", 8) == 0)
		m->cls = CS_CLASS_CONSUMER;
	else
		*problem = "class is neither 'producer' nor 'consumer'";
	if (!*problem && !f[2].is_null && cs_copybin_int4(&f[2], &day) == 0)
		m->joined_day = (int64_t)day + CS_PG_EPOCH_DAYS, m->has_joined = 1;
	else if (!*problem && need_dates)
		*problem = "joined_on is null";
	if (!*problem && !f[3].is_null && cs_copybin_int4(&f[3], &day) == 0)
		m->left_day = (int64_t)day + CS_PG_EPOCH_DAYS, m->has_left = 1;
	if (!*problem && !f[4].is_null && cs_copybin_int8(&f[4], &m->capital_minor) < 0)
		*problem = "paid_in_capital_minor is not a bigint";
	return 0;
}

/* Type names of the integer types a ::bigint cast reads exactly. */
static int integer_type(const char *type)
{
	return type && (strcmp(type, "bigint") == 0 || strcmp(type, "integer") == 0 ||
			strcmp(type, "smallint") == 0);
}

int cs_source_inexact_sql(cs_db *db, const char *rel, const char *const *cols, size_t n,
			  cs_buf *out, cs_error *err)
{
	cs_db_rows rows;
	const char *params[1] = {rel};
	size_t i, r, used = 0;

	cs_buf_reset(out);
	if (cs_db_query(db,
			"SELECT attname::text, pg_catalog.format_type(atttypid, NULL)"
			" FROM pg_catalog.pg_attribute WHERE attrelid = pg_catalog.to_regclass($1)"
			" AND attnum > 0 AND NOT attisdropped",
			1, params, &rows, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		for (r = 0; r < rows.n_rows; r++)
			if (strcmp(cs_db_cell(&rows, r, 0), cols[i]) == 0)
				break;
		/* a missing column fails the read itself, with the server's words */
		if (r == rows.n_rows || integer_type(cs_db_cell(&rows, r, 1)))
			continue;
		cs_buf_puts(out, used++ ? ", " : "NULLIF(pg_catalog.concat_ws(', ', ");
		/* the column names are the engine's own constants */
		cs_buf_printf(out,
			      "CASE WHEN (%s)::numeric %% 1 <> 0 THEN '%s ' || (%s)::numeric::text END",
			      cols[i], cols[i], cols[i]);
	}
	cs_db_rows_free(&rows);
	if (used)
		cs_buf_puts(out, "), '')");
	return 0;
}

/* Collects the rows whose integer columns are not whole numbers (the
 * column cs_source_inexact_sql adds): up to CS_REJECTS_PRINTED_MAX listed. */
typedef struct inexact_list {
	cs_buf text;
	size_t count;
} inexact_list;

static void inexact_add(inexact_list *l, const char *what, int has_id, int64_t id,
			const cs_copybin_field *f)
{
	if (l->count++ >= CS_REJECTS_PRINTED_MAX)
		return;
	if (l->text.len)
		cs_buf_putc(&l->text, '\n');
	if (has_id)
		cs_buf_printf(&l->text, "%s %lld: ", what, (long long)id);
	else
		cs_buf_printf(&l->text, "%s: ", what);
	cs_buf_put(&l->text, f->data, f->len < 200 ? f->len : 200);
	cs_buf_puts(&l->text, " is not a whole number");
}

/* Exit 3 when l lists anything: a ::bigint cast would have rounded it. */
static int inexact_fail(inexact_list *l, const cs_relation *rel, cs_error *err)
{
	if (l->count == 0)
		return 0;
	if (l->count > CS_REJECTS_PRINTED_MAX)
		cs_buf_printf(&l->text, "\n... and %zu more", l->count - CS_REJECTS_PRINTED_MAX);
	cs_error_set(err, CS_EXIT_DATA,
		     "%zu row%s of '%s.%s' hold%s a fraction in an integer column; nothing was "
		     "written",
		     l->count, l->count == 1 ? "" : "s", rel->schema, rel->table,
		     l->count == 1 ? "s" : "");
	cs_error_detail(err, "%s", l->text.data);
	cs_error_hint(err, "Ids and amounts in minor units are whole numbers: correct the rows, "
			   "or the view that converts them (docs/inputs.md).");
	return -1;
}

/* The invalid member rows found so far, the first CS_REJECTS_PRINTED_MAX
 * listed. */
typedef struct bad_members {
	cs_buf text;
	int n;
} bad_members;

static void bad_member(void *ctx, int64_t id, const char *reason)
{
	bad_members *b = ctx;

	if (b->n++ < CS_REJECTS_PRINTED_MAX)
		cs_buf_printf(&b->text, "%smember %lld: %s", b->text.len ? "\n" : "", (long long)id,
			      reason);
}

/* One valid member row into members: version 1 one row per member (a
 * repeated id is invalid), version 2 a membership period. Returns the
 * problem, or NULL. */
static const char *member_add(cs_members *members, const cs_member *m, int dated)
{
	if (!dated)
		return cs_members_add(members, m) < 0 ? "duplicate id" : NULL;
	cs_members_add_period(members, m->id, m->cls, m->joined_day, m->has_left, m->left_day);
	return NULL;
}

int cs_source_members(cs_db *db, const cs_config *cfg, cs_members *members, int need_dates,
		      cs_error *err)
{
	static const char *const int_cols[] = {"id", "paid_in_capital_minor"};
	int dated = cfg->version >= 2;
	bad_members bad2 = {{NULL, 0, 0}, 0};
	char *rel = cs_source_relation_sql(db, &cfg->source_members, err);
	cs_buf sql, bad, inexact_sql;
	inexact_list inexact = {{NULL, 0, 0}, 0};
	cs_copybin_reader rd = {0, 0};
	cs_copybin_field f[CS_COPYBIN_FIELDS_MAX];
	const char *msg, *why;
	size_t len, n, n_cols;
	int rc, n_bad = 0, failed = 0;

	if (!rel)
		return -1;
	cs_buf_init(&sql);
	cs_buf_init(&bad);
	cs_buf_init(&inexact_sql);
	cs_buf_init(&inexact.text);
	if (cs_source_inexact_sql(db, rel, int_cols, dated ? 1 : 2, &inexact_sql, err) < 0) {
		failed = 1;
		goto cleanup;
	}
	n_cols = inexact_sql.len ? 6 : 5;
	/* version 2: memberships, paid_in_capital_minor not read (spec 10.1),
	 * in the order cs_members_add_period takes them */
	cs_buf_printf(&sql,
		      "COPY (SELECT id::bigint, class::text, joined_on::date, left_on::date, %s%s%s"
		      " FROM %s ORDER BY %s) TO STDOUT (FORMAT binary)",
		      dated ? "NULL::bigint" : "paid_in_capital_minor::bigint",
		      inexact_sql.len ? ", " : "", inexact_sql.len ? inexact_sql.data : "", rel,
		      dated ? "id, class::text COLLATE \"C\", joined_on" : "id");
	if (cs_db_copy_out_begin(db, sql.data, err) < 0) {
		data_exception(err, &cfg->source_members);
		failed = 1;
		goto cleanup;
	}
	while ((rc = cs_db_copy_out_next(db, &msg, &len, err)) == 1) {
		cs_member m;
		const char *problem = NULL;
		char idtext[32] = "NULL";

		if (failed)
			continue; /* drain the COPY */
		rc = cs_copybin_parse(&rd, msg, len, f, &n, &why);
		if (rc < 0) {
			bad_row(err, cfg->source_members.table, why);
			failed = 1;
			continue;
		}
		if (rc == 0)
			continue;
		if (n != n_cols ||
		    member_from_row(f, need_dates || dated, &m, idtext, sizeof(idtext), &problem) < 0) {
			bad_row(err, cfg->source_members.table, "unexpected column types");
			failed = 1;
			continue;
		}
		if (n_cols == 6 && !f[5].is_null) {
			inexact_add(&inexact, "member", !f[0].is_null, m.id, &f[5]);
			continue;
		}
		if (!problem)
			problem = member_add(members, &m, dated);
		if (problem) {
			if (n_bad < CS_REJECTS_PRINTED_MAX)
				cs_buf_printf(&bad, "%smember %s: %s", n_bad ? "\n" : "", idtext,
					      problem);
			n_bad++;
		}
	}
	if (rc < 0) {
		data_exception(err, &cfg->source_members);
		failed = 1;
	}
	if (!failed && inexact_fail(&inexact, &cfg->source_members, err) < 0)
		failed = 1;
	if (!failed && dated && !n_bad) { /* overlaps and empty periods (spec 10.7.12) */
		cs_members_check_periods(members, bad_member, &bad2);
		if (bad2.n) {
			cs_buf_puts(&bad, bad2.text.data);
			n_bad = bad2.n;
		}
	}
	if (!failed && n_bad) {
		cs_error_set(err, CS_EXIT_DATA, "%d invalid member row%s in '%s.%s'", n_bad,
			     n_bad == 1 ? "" : "s", cfg->source_members.schema,
			     cfg->source_members.table);
		cs_error_detail(err, "%s", bad.data);
		cs_error_hint(err, "Correct the members relation; nothing was written.");
		failed = 1;
	}
cleanup:
	cs_buf_free(&sql);
	cs_buf_free(&bad);
	cs_buf_free(&inexact_sql);
	cs_buf_free(&inexact.text);
	cs_buf_free(&bad2.text);
	free(rel);
	return failed ? -1 : 0;
}

static void window_filter(cs_buf *b, const cs_window *w)
{
	cs_buf_printf(b,
		      " WHERE (occurred_at >= '%s'::timestamptz AND occurred_at < '%s'::timestamptz)"
		      " OR occurred_at IS NULL",
		      w->from_utc, w->to_utc);
}

int cs_source_count(cs_db *db, const cs_config *cfg, const cs_window *w, int64_t *count,
		    cs_error *err)
{
	char *rel = cs_source_relation_sql(db, &cfg->source_transactions, err);
	cs_buf sql;
	cs_db_rows rows;
	int rc;

	if (!rel)
		return -1;
	cs_buf_init(&sql);
	cs_buf_printf(&sql, "SELECT count(*) FROM %s", rel);
	window_filter(&sql, w);
	rc = cs_db_query(db, sql.data, 0, NULL, &rows, err);
	if (rc == 0) {
		int64_t v = 0;
		const char *c = cs_db_cell(&rows, 0, 0);

		*count = 0;
		for (; c && *c >= '0' && *c <= '9'; c++)
			v = v * 10 + (*c - '0');
		*count = v;
		cs_db_rows_free(&rows);
	}
	cs_buf_free(&sql);
	free(rel);
	return rc;
}

/* One transaction row (id, occurred_at, producer_id, consumer_id,
 * amount_minor, currency, category) into *r; its strings point into f. */
static void txn_from_row(const cs_copybin_field *f, cs_txn_row *r)
{
	int64_t ts;

	memset(r, 0, sizeof(*r));
	r->has_id = !f[0].is_null && cs_copybin_int8(&f[0], &r->id) == 0;
	if (!f[1].is_null && cs_copybin_int8(&f[1], &ts) == 0) {
		r->has_occurred_at = 1;
		r->occurred_at_us = ts + CS_PG_EPOCH_OFFSET_US;
	}
	r->has_producer = !f[2].is_null && cs_copybin_int8(&f[2], &r->producer_id) == 0;
	r->has_consumer = !f[3].is_null && cs_copybin_int8(&f[3], &r->consumer_id) == 0;
	r->has_amount = !f[4].is_null && cs_copybin_int8(&f[4], &r->amount_minor) == 0;
	r->has_currency = !f[5].is_null;
	r->currency = f[5].data;
	r->currency_len = f[5].len;
	r->has_category = !f[6].is_null;
	r->category = f[6].data;
	r->category_len = f[6].len;
}

int cs_source_transactions(cs_db *db, const cs_config *cfg, const cs_window *w, cs_row_fn fn,
			   void *ctx, cs_error *err)
{
	static const char *const int_cols[] = {"id", "producer_id", "consumer_id", "amount_minor"};
	char *rel = cs_source_relation_sql(db, &cfg->source_transactions, err);
	cs_buf sql, inexact_sql;
	inexact_list inexact = {{NULL, 0, 0}, 0};
	cs_copybin_reader rd = {0, 0};
	cs_copybin_field f[CS_COPYBIN_FIELDS_MAX];
	const char *msg, *why;
	size_t len, n, n_cols;
	int rc, failed = 0;

	if (!rel)
		return -1;
	cs_buf_init(&sql);
	cs_buf_init(&inexact_sql);
	cs_buf_init(&inexact.text);
	if (cs_source_inexact_sql(db, rel, int_cols, 4, &inexact_sql, err) < 0) {
		failed = 1;
		goto cleanup;
	}
	n_cols = inexact_sql.len ? 8 : 7;
	/* Every column in the sort, text in "C" collation: a total order that
	 * is the same on every server (docs/reproducibility.md). */
	cs_buf_printf(&sql,
		      "COPY (SELECT id::bigint, occurred_at::timestamptz, producer_id::bigint,"
		      " consumer_id::bigint, amount_minor::bigint, currency::text, category::text%s%s"
		      " FROM %s",
		      inexact_sql.len ? ", " : "", inexact_sql.len ? inexact_sql.data : "", rel);
	window_filter(&sql, w);
	cs_buf_puts(&sql, " ORDER BY 1 NULLS FIRST, 2, 3, 4, 5, currency::text COLLATE \"C\","
			  " category::text COLLATE \"C\")"
			  " TO STDOUT (FORMAT binary)");
	if (cs_db_copy_out_begin(db, sql.data, err) < 0) {
		data_exception(err, &cfg->source_transactions);
		failed = 1;
		goto cleanup;
	}
	while ((rc = cs_db_copy_out_next(db, &msg, &len, err)) == 1) {
		cs_txn_row r;

		if (failed)
			break; /* the caller closes this connection */
		rc = cs_copybin_parse(&rd, msg, len, f, &n, &why);
		if (rc < 0 || (rc == 1 && n != n_cols)) {
			bad_row(err, cfg->source_transactions.table,
				rc < 0 ? why : "unexpected column count");
			failed = 1;
			continue;
		}
		if (rc == 0)
			continue;
		txn_from_row(f, &r);
		if (n_cols == 8 && !f[7].is_null)
			inexact_add(&inexact, "transaction", r.has_id, r.id, &f[7]);
		else if (!inexact.count && fn(ctx, &r, err) < 0)
			failed = 1;
	}
	if (rc < 0) {
		data_exception(err, &cfg->source_transactions);
		failed = 1;
	}
	if (!failed && inexact_fail(&inexact, &cfg->source_transactions, err) < 0)
		failed = 1;
cleanup:
	cs_buf_free(&sql);
	cs_buf_free(&inexact_sql);
	cs_buf_free(&inexact.text);
	free(rel);
	return failed ? -1 : 0;
}

int cs_source_begin_read(cs_db *r, const cs_config *cfg, cs_error *err)
{
	const char *params[1] = {cfg->timezone};

	if (cs_db_exec(r, "SELECT pg_catalog.set_config('TimeZone', $1, false)", 1, params,
		       err) < 0)
		return -1;
	return cs_db_exec(r, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, err);
}
