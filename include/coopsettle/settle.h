/*
 * settle.h -- the pure core of a settle run (spec sections 4 and 5).
 *
 * Rows arrive one at a time (ordered by id, see docs/reproducibility.md);
 * each valid row yields its ledger lines through a sink callback, so memory
 * grows with the number of parties, never with the number of transactions.
 * Invalid rows are kept as rejects (they are the exception: their list is
 * printed and stored). The state also feeds the canonical input and output
 * forms to SHA-256 as it goes.
 */
#ifndef COOPSETTLE_SETTLE_H
#define COOPSETTLE_SETTLE_H

#include <stddef.h>
#include <stdint.h>

#include "coopsettle/config.h"
#include "coopsettle/error.h"
#include "coopsettle/fee.h"
#include "coopsettle/i128.h"
#include "coopsettle/members.h"
#include "coopsettle/window.h"

/* One input row as read; a has_* of 0 is SQL NULL. Strings are not
 * NUL-terminated and only valid during the call. */
typedef struct cs_txn_row {
	int has_id;
	int64_t id;
	int has_occurred_at;
	int64_t occurred_at_us; /* microseconds since 1970-01-01 UTC */
	int has_producer;
	int64_t producer_id;
	int has_consumer;
	int64_t consumer_id;
	int has_amount;
	int64_t amount_minor;
	int has_currency;
	const char *currency;
	size_t currency_len;
	int has_category;
	const char *category;
	size_t category_len;
	/* flags_given: the member flags are these (a run's input snapshot,
	 * recomputed by verify), not looked up */
	int flags_given;
	int producer_member, consumer_member;
} cs_txn_row;

/* One ledger line (debit positive, credit negative). */
typedef struct cs_ledger_line {
	int64_t transaction_id; /* the journal: one per transaction */
	int line_no;            /* 1..4, in the order of the spec's table; fund lines after */
	const char *account;    /* the config's name (owned by the config) */
	int has_party;
	int64_t party_id;
	size_t currency;
	cs_i128 amount_minor;
	int rule_index;
	int64_t posted_day; /* the local day of the transaction (spec 10.5) */
} cs_ledger_line;

/* The most lines one transaction makes: the four of spec section 5 and a
 * fund line per side and fund (version 2). */
#define CS_SETTLE_LINES_MAX (6 + 2 * CS_FUNDS_MAX)

/*
 * The ledger lines of settled row r in currency cur with fee (its rule
 * matched; fee->rule_index >= 0), posted on day, into out
 * (CS_SETTLE_LINES_MAX entries): the four of spec section 5 -- with VAT
 * (spec 10.8) each side pays p = f + t (excluded) or f (included), the
 * clearing and payable lines carry p and the income lines the net fee
 * n = p - t -- then, for a rule with VAT, the two VAT lines (-t_p, -t_c),
 * then for a rule with funds a fund line per side and fund, the funds
 * splitting the net fee, the income lines carrying what they leave (spec
 * 10.3, 10.7.9). Lines of amount 0 are left out; line_no counts every
 * possible line of the rule. Returns the number written.
 */
size_t cs_settle_lines(const cs_config *cfg, const cs_txn_row *r, size_t cur,
		       const cs_fee_result *fee, int64_t day, cs_ledger_line *out);

/* Receives each ledger line as it is computed. Returns 0, or -1 with err
 * filled to stop the run. */
typedef int (*cs_line_sink_fn)(void *ctx, const cs_ledger_line *line, cs_error *err);

/* Totals of one (party, side, currency) -- and, with config version 2,
 * member: whether the party was a member of its side's class on the
 * transactions' days (spec 10.1); -1 with version 1. */
typedef struct cs_party_total {
	int64_t party_id;
	cs_class side;
	size_t currency;
	int member;
	int64_t transactions;
	cs_i128 gross_minor;
	cs_i128 fees_minor; /* net of VAT (version 2 with VAT, spec 10.8) */
	cs_i128 vat_minor;  /* the VAT the side paid on its fees */
} cs_party_total;

/* Totals of one currency. */
typedef struct cs_currency_total {
	int64_t transactions;
	cs_i128 gross_minor;
	cs_i128 fees_minor;
	cs_i128 fees_producer_minor;
	cs_i128 fees_consumer_minor;
	/* version 2 (spec 10.3, 10.7.9): the fee income account's part, and
	 * each fund's ([k] for cfg->fund_accounts[k]) */
	cs_i128 fee_income_minor;
	cs_i128 funds_minor[CS_FUND_ACCOUNTS_MAX];
	/* version 2 with VAT (spec 10.8): fees_* are net; the VAT of both
	 * sides, in all and per VAT account ([k] for cfg->vat_accounts[k]) */
	cs_i128 vat_minor;
	cs_i128 vat_by_account_minor[CS_VAT_ACCOUNTS_MAX];
} cs_currency_total;

/* An invalid row and why. */
typedef struct cs_reject {
	int has_id;
	int64_t id;
	char reason[96];
} cs_reject;

typedef struct cs_settle cs_settle;

/* Creates a settle state. cfg and members must outlive it; sink may be NULL
 * (lines are then only counted and hashed). The caller owns the result. */
cs_settle *cs_settle_new(const cs_config *cfg, const cs_members *members,
			 cs_line_sink_fn sink, void *sink_ctx);

/* Frees the state; NULL is allowed. */
void cs_settle_free(cs_settle *s);

/* The local days of the window (days must outlive s): every row's day and
 * posting date is looked up in it. Required before the first row. With
 * config version 2 the caller has prepared the members for the same days
 * (cs_members_window). */
void cs_settle_use_days(cs_settle *s, const cs_day_map *days);

/* Config version 2, after finish: calls fn for every membership period a
 * settled party held in its side's class and that overlaps the window's
 * days -- the run's membership snapshot, the canonical input's M records --
 * in the order of the party totals (producers first, by id; a party's
 * periods by from_day). */
typedef void (*cs_settle_period_fn)(void *ctx, int64_t id, cs_class cls, const cs_period *p);
void cs_settle_memberships(const cs_settle *s, cs_settle_period_fn fn, void *ctx);

/* Called with each row as it is settled and hashed (rows that will be
 * rejected too), in that order, with the member flags of its producer and
 * consumer; the row's strings are valid during the call. */
typedef void (*cs_settle_input_fn)(void *ctx, const cs_txn_row *row, int producer_member,
				   int consumer_member);

/* Sets the input callback (NULL: none). The caller needs no member lookups
 * of its own: the core has made them (docs/performance.md). */
void cs_settle_on_input(cs_settle *s, cs_settle_input_fn fn, void *ctx);

/* Takes the next row. Rows must come in the order of docs/reproducibility.md
 * (ids ascending, NULL ids first). Returns 0, or -1 when the sink failed. */
int cs_settle_row(cs_settle *s, const cs_txn_row *row, cs_error *err);

/* Ends the input: flushes the last row, sorts the party totals and
 * finishes the hashes. Returns 0, or -1 when the sink failed. */
int cs_settle_finish(cs_settle *s, cs_error *err);

/* After finish: party totals sorted by side (producer first), id, currency
 * (and member, false first). */
const cs_party_total *cs_settle_parties(const cs_settle *s, size_t *n);

/* Totals of currency index i (of cfg->currencies). */
const cs_currency_total *cs_settle_currency_total(const cs_settle *s, size_t i);

/* Invalid rows in input order. */
const cs_reject *cs_settle_rejects(const cs_settle *s, size_t *n);

/* Count of rows read, and of ledger lines produced. */
int64_t cs_settle_rows_read(const cs_settle *s);
int64_t cs_settle_lines_count(const cs_settle *s);

/* Sum of the ledger lines of currency i (zero when the run balances). */
cs_i128 cs_settle_lines_sum(const cs_settle *s, size_t i);

/* After finish: hex SHA-256 of the canonical input and output forms. */
const char *cs_settle_input_hash(const cs_settle *s);
const char *cs_settle_output_hash(const cs_settle *s);

#endif
