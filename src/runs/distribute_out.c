/*
 * distribute_out.c -- the output side of a distribute run (see
 * distribute_out.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/bookkeeping.h"
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
#include "coopsettle/surplus.h"
#include "coopsettle/util.h"

#include "distribute_out.h"


/* Hands a full chunk to the sender thread; the server inserts it while the
 * next one is built. */
static int out_flush(dist_out *o, cs_error *err)
{
	int rc = o->pipe ? cs_copypipe_put(o->pipe, &o->copy, err) : 0;

	cs_buf_reset(&o->copy);
	return rc;
}

/* Nonzero when currency cur has no steps: a loss year of version 2 runs
 * none (spec 10.7.1), so its statement, stored steps and canonical output
 * list none. */
static int no_steps(const cs_config *cfg, const cs_surplus_result *res, size_t cur)
{
	return cfg->version >= 2 && res->surplus_minor[cur] < 0;
}

/* One ledger line: a binary COPY tuple, and its canonical record for the
 * output hash (docs/reproducibility.md). Runs for every line. */
static int out_line(dist_out *o, size_t cur, int64_t *next_no, const char *account,
		    int has_party, int64_t party, cs_i128 amount, const char *step, cs_error *err)
{
	const char *code = o->cfg->currencies[cur].code;
	cs_buf *c = &o->canon;
	int64_t line_no;

	/* Version 1 numbers every line it could write, so a line's number
	 * depends on the members around it (kept: runs made with it still
	 * verify); version 2 numbers the lines it writes, so the numbers
	 * depend only on the output, whichever members the run read. */
	if (amount == 0) {
		if (o->cfg->version < 2)
			(*next_no)++;
		return 0;
	}
	line_no = (*next_no)++;
	o->lines++;
	if (o->pipe) { /* journal: the currency's position in the config */
		cs_ledger_tuple(&o->copy, o->run_id, (int64_t)cur + 1, line_no, NULL, step, account,
				has_party ? &party : NULL, code, amount, o->posted_day);
		if (o->copy.len >= CS_COPY_CHUNK_BYTES && out_flush(o, err) < 0)
			return -1;
	}
	cs_buf_puts(c, "L\t");
	cs_buf_put_i128(c, (cs_i128)cur + 1);
	cs_buf_putc(c, '\t');
	cs_buf_put_i128(c, line_no);
	cs_buf_putc(c, '\t');
	cs_buf_puts(c, account);
	cs_buf_putc(c, '\t');
	if (has_party)
		cs_buf_put_i128(c, party);
	else
		cs_buf_puts(c, "\\N");
	cs_buf_putc(c, '\t');
	cs_buf_puts(c, code);
	cs_buf_putc(c, '\t');
	cs_buf_put_i128(c, amount);
	cs_buf_putc(c, '\t');
	cs_buf_puts(c, step ? step : "\\N");
	if (o->cfg->version >= 2) { /* version 2: the posting date is output */
		cs_buf_putc(c, '\t');
		cs_buf_put_i128(c, o->posted_day);
	}
	cs_buf_putc(c, '\n');
	if (c->len > 65536) {
		cs_sha256_update(o->hash, c->data, c->len);
		cs_buf_reset(c);
	}
	return 0;
}

/* Builds the ledger lines of every currency from the waterfall result. */
/* A loss year's lines (version 2, spec 10.7.1): +S (a credit) on the
 * surplus account, a debit on each loss_cover account that gives more than
 * 0, in list order, then the part carried forward, a debit on the loss
 * account. */
static int loss_year_lines(dist_out *o, const cs_surplus_result *res, size_t cur, cs_error *err)
{
	const cs_config *cfg = o->cfg;
	cs_i128 sum = res->surplus_minor[cur];
	int64_t line_no = 1;
	size_t k;

	if (out_line(o, cur, &line_no, cfg->accounts[CS_ACCOUNT_SURPLUS], 0, 0,
		     res->surplus_minor[cur], NULL, err) < 0)
		return -1;
	for (k = 0; k < cfg->n_loss_cover; k++) {
		if (out_line(o, cur, &line_no, cfg->loss_cover[k], 0, 0, res->loss_cover_minor[cur][k],
			     NULL, err) < 0)
			return -1;
		sum += res->loss_cover_minor[cur][k];
	}
	if (out_line(o, cur, &line_no, cfg->accounts[CS_ACCOUNT_LOSS_CARRIED], 0, 0,
		     res->loss_out_minor[cur] - res->loss_in_minor[cur], NULL, err) < 0)
		return -1;
	sum += res->loss_out_minor[cur] - res->loss_in_minor[cur];
	CS_ASSERT(sum == 0); /* the loss is covered or carried, to the minor unit */
	return 0;
}

int cs_build_lines(dist_out *o, const cs_surplus_input *in, const cs_surplus_result *res,
		       cs_error *err)
{
	const cs_config *cfg = o->cfg;
	size_t n_cur = cfg->n_currencies, cur, s, i;
	const char *ci = cfg->accounts[CS_ACCOUNT_CAPITAL_INTEREST];
	const char *cash = cfg->accounts[CS_ACCOUNT_PATRONAGE_CASH];
	const char *ret = cfg->accounts[CS_ACCOUNT_PATRONAGE_RETAINED];
	int v2 = cfg->version >= 2;

	for (cur = 0; cur < n_cur; cur++) {
		int64_t line_no = 1;
		cs_i128 sum = 0;

		if (res->surplus_minor[cur] == 0 || (res->surplus_minor[cur] < 0 && cfg->version < 2))
			continue; /* no ledger lines (version 1: S <= 0) */
		if (res->surplus_minor[cur] < 0) {
			if (loss_year_lines(o, res, cur, err) < 0)
				return -1;
			continue;
		}
		/* (version 1 numbers every line it could write: no line that only
		 * version 2 has may take a number there) */
		if (out_line(o, cur, &line_no, cfg->accounts[CS_ACCOUNT_SURPLUS], 0, 0,
			     res->surplus_minor[cur], NULL, err) < 0 ||
		    (v2 && out_line(o, cur, &line_no, cfg->accounts[CS_ACCOUNT_LOSS_CARRIED], 0, 0,
				    -res->cover_minor[cur], NULL, err) < 0))
			return -1;
		sum += res->surplus_minor[cur] - res->cover_minor[cur];
		for (s = 0; s < cfg->n_steps; s++) {
			const cs_step *st = &cfg->steps[s];

			if (st->type != CS_STEP_ACCOUNT)
				continue;
			if (out_line(o, cur, &line_no, st->account, 0, 0, -res->step_minor[cur][s],
				     st->id, err) < 0)
				return -1;
			sum -= res->step_minor[cur][s];
		}
		/* per-member credits, members by id, capital interest first */
		for (i = 0; i < in->n_members; i++) {
			const cs_surplus_alloc *a = &res->allocs[i * n_cur + cur];
			int64_t id = in->members[i].id;

			/* version 2: the net interest, then the tax withheld from it */
			if (out_line(o, cur, &line_no, ci, 1, id,
				     -(a->capital_interest_minor - a->withheld_minor), NULL, err) < 0 ||
			    (v2 && out_line(o, cur, &line_no, cfg->accounts[CS_ACCOUNT_WITHHOLDING], 1,
					    id, -a->withheld_minor, NULL, err) < 0) ||
			    out_line(o, cur, &line_no, cash, 1, id, -a->cash_minor, NULL, err) < 0 ||
			    out_line(o, cur, &line_no, ret, 1, id, -a->retained_minor, NULL, err) < 0)
				return -1;
			sum -= a->capital_interest_minor + a->cash_minor + a->retained_minor;
		}
		if (out_line(o, cur, &line_no, cfg->accounts[CS_ACCOUNT_RETAINED_SURPLUS], 0, 0,
			     -res->retained_surplus_minor[cur], NULL, err) < 0)
			return -1;
		sum -= res->retained_surplus_minor[cur];
		CS_ASSERT(sum == 0); /* the run's lines sum to zero per currency */
	}
	return 0;
}

/* Version 2: the loss carried in, the part of S that covers it, S', the
 * loss_cover accounts that gave more than 0 and the loss carried out (spec
 * 10.3). */
static void statement_losses(cs_json *j, const cs_config *cfg, const cs_surplus_result *res,
			     size_t cur)
{
	size_t k;

	cs_json_key(j, "loss_carried_in_minor");
	cs_json_int(j, res->loss_in_minor[cur]);
	cs_json_key(j, "loss_covered_minor");
	cs_json_int(j, res->cover_minor[cur]);
	cs_json_key(j, "distributable_minor");
	cs_json_int(j, res->surplus_minor[cur] - res->cover_minor[cur]);
	cs_json_key(j, "loss_cover");
	cs_json_array_begin(j);
	for (k = 0; k < cfg->n_loss_cover; k++) {
		if (res->loss_cover_minor[cur][k] <= 0)
			continue;
		cs_json_object_begin(j);
		cs_json_key(j, "account");
		cs_json_string(j, cfg->loss_cover[k]);
		cs_json_key(j, "amount_minor");
		cs_json_int(j, res->loss_cover_minor[cur][k]);
		cs_json_object_end(j);
	}
	cs_json_array_end(j);
	cs_json_key(j, "loss_carried_out_minor");
	cs_json_int(j, res->loss_out_minor[cur]);
}

/* Step s of the statement in currency cur: id and amount; version 2 a
 * patronage step's cap and payment due date. */
static void statement_step(cs_json *j, const cs_config *cfg, const cs_surplus_input *in,
			   const cs_surplus_result *res, size_t cur, size_t s)
{
	const cs_step *st = &cfg->steps[s];

	cs_json_object_begin(j);
	cs_json_key(j, "id");
	cs_json_string(j, st->id);
	cs_json_key(j, "amount_minor");
	cs_json_int(j, res->step_minor[cur][s]);
	if (res->cap_minor[cur][s] >= 0) {
		cs_json_key(j, "cap_minor");
		cs_json_int(j, res->cap_minor[cur][s]);
	}
	if (st->has_payment_due) {
		char day[16];

		cs_day_text(day, sizeof(day),
			    cs_day_add(in->end_day - 1, st->due_months, st->due_days));
		cs_json_key(j, "payment_due");
		cs_json_string(j, day);
	}
	cs_json_object_end(j);
}

/*
 * The statement of spec section 8. The copy stored in coopsettle.runs leaves
 * out the members (with_members 0): their figures are the run's rows of
 * coopsettle.member_allocations, and a million of them made the run record
 * 118 MB and cost 3 s to insert (docs/auditing.md, docs/performance.md).
 */
void cs_dist_statement(cs_buf *out, const cs_run_opts *opts, const cs_surplus_input *in,
			   const cs_surplus_result *res, int64_t run_id, const char *status,
			   const char *input_hex, const char *output_hex, int with_members)
{
	const cs_config *cfg = opts->cfg;
	size_t n_cur = cfg->n_currencies, cur, s, i;
	cs_json j;

	cs_buf_reset(out);
	cs_json_init(&j, out);
	cs_json_object_begin(&j);
	cs_statement_head(&j, run_id, "distribute", status, &opts->window, cfg->sha256_hex,
			  input_hex, output_hex);
	cs_json_key(&j, "currencies");
	cs_json_object_begin(&j);
	for (cur = 0; cur < n_cur; cur++) {
		cs_json_key(&j, cfg->currencies[cur].code);
		cs_json_object_begin(&j);
		cs_json_key(&j, "fee_income_minor");
		cs_json_int(&j, in->fee_income_minor[cur]);
		cs_json_key(&j, "costs_minor");
		cs_json_int(&j, in->costs_minor[cur]);
		cs_json_key(&j, "surplus_minor");
		cs_json_int(&j, res->surplus_minor[cur]);
		if (cfg->version >= 2)
			statement_losses(&j, cfg, res, cur);
		cs_json_key(&j, "steps");
		cs_json_array_begin(&j);
		for (s = 0; s < cfg->n_steps && !no_steps(cfg, res, cur); s++)
			statement_step(&j, cfg, in, res, cur, s);
		cs_json_array_end(&j);
		cs_json_key(&j, "retained_surplus_minor");
		cs_json_int(&j, res->retained_surplus_minor[cur]);
		cs_json_object_end(&j);
	}
	cs_json_object_end(&j);
	if (!with_members)
		goto done;
	cs_json_key(&j, "members");
	cs_json_array_begin(&j);
	for (i = 0; i < in->n_members; i++) {
		for (cur = 0; cur < n_cur; cur++) {
			const cs_surplus_alloc *a = &res->allocs[i * n_cur + cur];

			/* 2: every row of member_allocations (the basis too) */
			if (with_members == 2 ? !a->capital_interest_minor && !a->patronage_minor &&
						       !a->basis_minor
					      : !a->capital_interest_minor && !a->patronage_minor &&
						       !a->cash_minor && !a->retained_minor)
				continue;
			cs_json_object_begin(&j);
			cs_json_key(&j, "id");
			cs_json_int(&j, in->members[i].id);
			cs_json_key(&j, "currency");
			cs_json_string(&j, cfg->currencies[cur].code);
			cs_json_key(&j, "capital_interest_minor");
			cs_json_int(&j, a->capital_interest_minor);
			if (cfg->version >= 2) { /* gross, withheld and net (spec 10.7.10) */
				cs_json_key(&j, "withheld_minor");
				cs_json_int(&j, a->withheld_minor);
				cs_json_key(&j, "capital_interest_net_minor");
				cs_json_int(&j, a->capital_interest_minor - a->withheld_minor);
			}
			cs_json_key(&j, "patronage_minor");
			cs_json_int(&j, a->patronage_minor);
			cs_json_key(&j, "cash_minor");
			cs_json_int(&j, a->cash_minor);
			cs_json_key(&j, "retained_minor");
			cs_json_int(&j, a->retained_minor);
			if (with_members == 2) {
				cs_json_key(&j, "patronage_basis_minor");
				cs_json_int(&j, a->basis_minor);
			}
			cs_json_object_end(&j);
		}
	}
	cs_json_array_end(&j);
done:
	cs_json_object_end(&j);
	cs_buf_putc(out, '\n');
}

/* Why class c of patronage step st gets nothing in currency cur when no
 * member is eligible (spec section 6), or NULL when one is: the class has
 * no members, none was a member during the window, none has patronage, or
 * none reaches min_patronage. The same test as the waterfall's. */
static const char *class_empty_reason(const cs_surplus_input *in, const cs_step *st, size_t c,
				      size_t cur)
{
	size_t i, members = 0, in_window = 0, with_basis = 0;
	cs_i128 min = st->min_patronage.present ? cs_i128_from_mpz(st->min_patronage.minor[cur])
						 : 0;
	int v2 = in->class_fees_minor != NULL;

	for (i = 0; i < in->n_members; i++) {
		const cs_member *m = &in->members[i];
		/* version 2: member business in the class, days as a member of it */
		cs_i128 p = cs_surplus_class_basis(in, st, i, st->classes[c], cur);

		if (!v2 && m->cls != st->classes[c])
			continue;
		if (v2 && m->period_count[st->classes[c]] == 0)
			continue; /* never a member of the class */
		members++;
		if (v2 ? cs_class_days(in, m, st->classes[c]) <= 0 : cs_membership_days(in, m) <= 0)
			continue;
		in_window++;
		if (p <= 0)
			continue;
		with_basis++;
		if (p >= min)
			return NULL;
	}
	if (!members)
		return "no member of the class";
	if (!in_window)
		return "no member of the class was a member during the window";
	if (!with_basis)
		return st->basis == CS_BASIS_VOLUME
			       ? "no member of the class has a sales volume in the window"
			       : "no member of the class paid fees in the window";
	return "no member of the class reaches min_patronage";
}

/* The classes of patronage steps that allocate nothing for want of an
 * eligible member, in each currency with a surplus: a summary line each
 * (their share stays in the retained surplus) and, when there is one,
 * "unallocated_classes" in the printed statement. */
void cs_dist_unallocated(const cs_run_opts *opts, const cs_surplus_input *in,
			     const cs_surplus_result *res, cs_run_result *rr, cs_buf *lines)
{
	const cs_config *cfg = opts->cfg;
	size_t cur, s, c;
	cs_buf extra;
	cs_json j;
	int n = 0;

	cs_buf_init(&extra);
	cs_json_init(&j, &extra);
	cs_json_object_begin(&j);
	cs_json_key(&j, "unallocated_classes");
	cs_json_array_begin(&j);
	for (cur = 0; cur < cfg->n_currencies; cur++) {
		if (res->surplus_minor[cur] <= 0)
			continue;
		for (s = 0; s < cfg->n_steps; s++) {
			const cs_step *st = &cfg->steps[s];

			for (c = 0; st->type == CS_STEP_PATRONAGE && c < st->n_classes; c++) {
				const char *why = class_empty_reason(in, st, c, cur);

				if (!why || mpq_sgn(st->class_shares[c]) == 0)
					continue;
				cs_buf_printf(lines,
					      "  %-10s step %s: class %s allocates nothing: %s (its "
					      "share stays in the retained surplus)\n",
					      cfg->currencies[cur].code, st->id,
					      cs_class_name(st->classes[c]), why);
				n++;
				cs_json_object_begin(&j);
				cs_json_key(&j, "currency");
				cs_json_string(&j, cfg->currencies[cur].code);
				cs_json_key(&j, "step");
				cs_json_string(&j, st->id);
				cs_json_key(&j, "class");
				cs_json_string(&j, cs_class_name(st->classes[c]));
				cs_json_key(&j, "reason");
				cs_json_string(&j, why);
				cs_json_object_end(&j);
			}
		}
	}
	cs_json_array_end(&j);
	cs_json_object_end(&j);
	if (n)
		cs_run_statement_add(&rr->statement, extra.data);
	cs_buf_free(&extra);
}

void cs_dist_summary(cs_buf *out, const cs_run_opts *opts, const cs_surplus_input *in,
			 const cs_surplus_result *res, const cs_run_result *rr, size_t n_settle,
			 const cs_buf *unallocated)
{
	const cs_config *cfg = opts->cfg;
	size_t cur, s;

	cs_buf_reset(out);
	if (strcmp(rr->status, "unchanged") == 0)
		cs_buf_printf(out, "distribute run %lld: unchanged (the committed run of this "
				   "window; nothing was written)\n",
			      (long long)rr->run_id);
	else if (rr->run_id)
		cs_buf_printf(out, "distribute run %lld: %s\n", (long long)rr->run_id, rr->status);
	else
		cs_buf_printf(out, "distribute: %s%s\n", rr->status,
			      opts->dry_run ? " (nothing was written)" : "");
	cs_buf_printf(out, "  window     [%s, %s), %zu settle run%s\n", opts->window.from_text,
		      opts->window.to_text, n_settle, n_settle == 1 ? "" : "s");
	for (cur = 0; cur < cfg->n_currencies; cur++) {
		cs_buf_printf(out, "  %-10s fee income ", cfg->currencies[cur].code);
		cs_run_put_amount(out, cfg, cur, in->fee_income_minor[cur]);
		cs_buf_puts(out, ", costs ");
		cs_run_put_amount(out, cfg, cur, in->costs_minor[cur]);
		cs_buf_puts(out, ", surplus ");
		cs_run_put_amount(out, cfg, cur, res->surplus_minor[cur]);
		cs_buf_puts(out, res->surplus_minor[cur] > 0 ? "\n"
				 : " (not positive: nothing is distributed)\n");
		for (s = 0; s < cfg->n_steps; s++) {
			cs_buf_printf(out, "             %-24s ", cfg->steps[s].id);
			cs_run_put_amount(out, cfg, cur, res->step_minor[cur][s]);
			cs_buf_putc(out, '\n');
		}
		cs_buf_printf(out, "             %-24s ", "retained surplus");
		cs_run_put_amount(out, cfg, cur, res->retained_surplus_minor[cur]);
		cs_buf_putc(out, '\n');
	}
	if (unallocated->len)
		cs_buf_puts(out, unallocated->data);
	if (rr->supersedes)
		cs_buf_printf(out, "  %s run %lld\n",
			      opts->dry_run ? "would supersede" : "supersedes",
			      (long long)rr->supersedes);
	if (opts->reason)
		cs_buf_printf(out, "  reason     %s\n", cs_text_shown(opts->reason));
	cs_buf_printf(out, "  config     %s\n  input      %s\n  output     %s\n",
		      cfg->sha256_hex, rr->input_hash, rr->output_hash);
}

/* The steps (a few rows) and the member allocations (one row per member and
 * currency with a figure, binary COPY sent from the pipe's thread). */
int cs_write_dist(cs_db *w, const cs_config *cfg, int64_t id, const cs_surplus_input *in,
		      const cs_surplus_result *res, cs_error *err)
{
	cs_buf b;
	size_t n_cur = cfg->n_currencies, cur, s, i;
	cs_copypipe *pipe = NULL;
	int64_t n_allocs = 0, n_steps = 0;
	int rc = -1;

	cs_buf_init(&b);
	for (cur = 0; cur < n_cur; cur++) {
		if (no_steps(cfg, res, cur))
			continue;
		for (s = 0; s < cfg->n_steps; s++) {
			n_steps++;
			cs_buf_printf(&b, "%lld\t%s\t%zu\t", (long long)id, cfg->currencies[cur].code,
				      s + 1);
			cs_copybin_escape_text(&b, cfg->steps[s].id, strlen(cfg->steps[s].id));
			cs_buf_putc(&b, '\t');
			cs_buf_put_i128(&b, res->step_minor[cur][s]);
			cs_buf_putc(&b, '\n');
		}
	}
	if (b.len && (cs_db_copy_in_begin(w,
					  "COPY coopsettle.distribution_steps (run_id, currency,"
					  " ordinal, step_id, amount_minor) FROM STDIN",
					  err) < 0 ||
		      cs_db_copy_in_put(w, b.data, b.len, err) < 0 || cs_db_copy_in_end(w, err) < 0 ||
		      cs_db_expect_stored(w, "coopsettle.distribution_steps", n_steps, err) < 0))
		goto cleanup;
	cs_buf_reset(&b);
	pipe = cs_copypipe_open(w,
				"COPY coopsettle.member_allocations (run_id, member_id, currency,"
				" capital_interest_minor, patronage_minor, cash_minor, retained_minor,"
				" patronage_basis_minor, withheld_minor) FROM STDIN (FORMAT binary)",
				&b, err);
	if (!pipe)
		goto cleanup;
	for (i = 0; i < in->n_members; i++) {
		for (cur = 0; cur < n_cur; cur++) {
			const cs_surplus_alloc *a = &res->allocs[i * n_cur + cur];
			const char *code = cfg->currencies[cur].code;

			if (!a->capital_interest_minor && !a->patronage_minor && !a->basis_minor)
				continue;
			cs_copybin_put_nfields(&b, 9);
			cs_copybin_put_int8(&b, id);
			cs_copybin_put_int8(&b, in->members[i].id);
			cs_copybin_put_text(&b, code, strlen(code));
			cs_copybin_put_numeric(&b, a->capital_interest_minor);
			cs_copybin_put_numeric(&b, a->patronage_minor);
			cs_copybin_put_numeric(&b, a->cash_minor);
			cs_copybin_put_numeric(&b, a->retained_minor);
			cs_copybin_put_numeric(&b, a->basis_minor);
			if (cfg->version >= 2) /* version 1 has no withholding: NULL */
				cs_copybin_put_numeric(&b, a->withheld_minor);
			else
				cs_copybin_put_null(&b);
			n_allocs++;
			if (b.len >= CS_COPY_CHUNK_BYTES && cs_copypipe_put(pipe, &b, err) < 0)
				goto cleanup;
		}
	}
	rc = cs_copypipe_close(pipe, &b, err);
	pipe = NULL;
	if (rc == 0)
		rc = cs_db_expect_stored(w, "coopsettle.member_allocations", n_allocs, err);
cleanup:
	if (pipe) { /* stop the sender before the caller rolls back */
		cs_error ignored;

		cs_copypipe_finish(pipe, &ignored);
	}
	cs_buf_free(&b);
	return rc;
}

/* The surplus and steps of every currency: the end of the canonical
 * output, after the lines. */
void cs_canonical_steps(cs_buf *b, const cs_config *cfg, const cs_surplus_result *sres)
{
	size_t cur, s;

	for (cur = 0; cur < cfg->n_currencies; cur++) {
		cs_buf_printf(b, "S\t%s\t", cfg->currencies[cur].code);
		cs_buf_put_i128(b, sres->surplus_minor[cur]);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, sres->retained_surplus_minor[cur]);
		if (cfg->version >= 2) { /* the loss carried in, covered, carried out */
			cs_buf_putc(b, '\t');
			cs_buf_put_i128(b, sres->loss_in_minor[cur]);
			cs_buf_putc(b, '\t');
			cs_buf_put_i128(b, sres->cover_minor[cur]);
			cs_buf_putc(b, '\t');
			cs_buf_put_i128(b, sres->loss_out_minor[cur]);
		}
		cs_buf_putc(b, '\n');
		if (no_steps(cfg, sres, cur))
			continue;
		for (s = 0; s < cfg->n_steps; s++) {
			if (sres->cap_minor[cur][s] < 0)
				continue;
			cs_buf_printf(b, "Q\t%s\t%s\t", cfg->currencies[cur].code, cfg->steps[s].id);
			cs_buf_put_i128(b, sres->cap_minor[cur][s]);
			cs_buf_putc(b, '\n');
		}
		for (s = 0; s < cfg->n_steps; s++) {
			cs_buf_printf(b, "K\t%s\t%s\t", cfg->currencies[cur].code, cfg->steps[s].id);
			cs_buf_put_i128(b, sres->step_minor[cur][s]);
			cs_buf_putc(b, '\n');
		}
	}
}

