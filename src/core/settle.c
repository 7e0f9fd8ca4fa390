/*
 * settle.c -- the pure core of a settle run (see settle.h and
 * docs/reproducibility.md for the canonical forms it hashes).
 */
#include "coopsettle/settle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/alloc.h"
#include "coopsettle/buf.h"
#include "coopsettle/hash.h"

struct cs_settle {
	const cs_config *cfg;
	const cs_members *members;
	const cs_day_map *days;
	int dated; /* config version 2: memberships on the transaction's day */
	cs_line_sink_fn sink;
	void *sink_ctx;
	cs_settle_input_fn on_input;
	void *on_input_ctx;
	cs_fee_calc calc;

	/* the previous row, held back until we know its id is not repeated */
	int has_pending;
	int pending_dup;
	cs_txn_row pending;
	cs_buf pending_currency, pending_category;

	/* party totals: a dense array in first-seen order, found through an
	 * open-addressing table of indexes (small, so it stays in cache) */
	uint32_t *slots; /* index + 1 into parties, 0 empty; n_slots a power of two */
	size_t n_slots, n_parties, cap_parties;
	cs_party_total *parties;
	cs_party_total *sorted; /* after finish: parties, sorted */

	cs_currency_total cur[CS_CURRENCIES_MAX];
	cs_i128 line_sum[CS_CURRENCIES_MAX];

	cs_reject *rejects;
	size_t n_rejects, cap_rejects;

	int64_t rows_read, lines_count;
	cs_sha256 *in_hash, *out_hash;
	cs_buf in_buf, out_buf;
	char in_hex[65], out_hex[65];
	int finished;
};

#define HASH_CHUNK 65536

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

cs_settle *cs_settle_new(const cs_config *cfg, const cs_members *members,
			 cs_line_sink_fn sink, void *sink_ctx)
{
	cs_settle *s = calloc(1, sizeof(*s));

	CS_ASSERT(s != NULL);
	s->cfg = cfg;
	s->members = members;
	s->dated = cfg->version >= 2;
	s->sink = sink;
	s->sink_ctx = sink_ctx;
	cs_fee_calc_init(&s->calc, cfg);
	cs_buf_init(&s->pending_currency);
	cs_buf_init(&s->pending_category);
	cs_buf_init(&s->in_buf);
	cs_buf_init(&s->out_buf);
	s->n_slots = 1024;
	s->slots = calloc(s->n_slots, sizeof(uint32_t));
	CS_ASSERT(s->slots != NULL);
	s->in_hash = cs_sha256_new();
	s->out_hash = cs_sha256_new();
	return s;
}

void cs_settle_free(cs_settle *s)
{
	if (!s)
		return;
	cs_fee_calc_clear(&s->calc);
	cs_buf_free(&s->pending_currency);
	cs_buf_free(&s->pending_category);
	cs_buf_free(&s->in_buf);
	cs_buf_free(&s->out_buf);
	free(s->slots);
	free(s->parties);
	free(s->rejects);
	cs_sha256_free(s->in_hash);
	cs_sha256_free(s->out_hash);
	free(s);
}

void cs_settle_use_days(cs_settle *s, const cs_day_map *days)
{
	s->days = days;
}

static void flush_hash(cs_sha256 *h, cs_buf *b, int force)
{
	if (b->len >= HASH_CHUNK || (force && b->len)) {
		cs_sha256_update(h, b->data, b->len);
		cs_buf_reset(b);
	}
}

/* Canonical text of a nullable integer field. */
static void put_opt_i64(cs_buf *b, int has, int64_t v)
{
	if (has)
		cs_buf_put_i128(b, v);
	else
		cs_buf_puts(b, "\\N");
}

/*
 * The hot records (one T per row, up to four L per row) are assembled in a
 * stack buffer and appended to the hash buffer at once; the text is the
 * same as cs_buf_put_i128 and friends write (docs/reproducibility.md).
 */

/* Writes v in decimal at p; returns the end. */
static char *fmt_i128(char *p, cs_i128 v)
{
	return p + cs_i128_format(p, v);
}

/* Writes a nullable integer field at p; returns the end. */
static char *fmt_opt_i64(char *p, int has, int64_t v)
{
	if (has)
		return fmt_i128(p, v);
	memcpy(p, "\\N", 2);
	return p + 2;
}

/* Writes n bytes of s at p; returns the end. */
static char *fmt_put(char *p, const char *str, size_t n)
{
	memcpy(p, str, n);
	return p + n;
}

/* Canonical text of a nullable byte string: LENGTH ':' BYTES. */
static void put_opt_bytes(cs_buf *b, int has, const char *p, size_t n)
{
	if (!has) {
		cs_buf_puts(b, "\\N");
		return;
	}
	cs_buf_put_i128(b, (cs_i128)n);
	cs_buf_putc(b, ':');
	cs_buf_put(b, p, n);
}

static void hash_input_row(cs_settle *s, const cs_txn_row *r, int pm, int cm)
{
	cs_buf *b = &s->in_buf;
	char rec[160], *p = rec; /* 2 + 5 * (20 + 1) + 20 + 1: the integer fields */

	p = fmt_put(p, "T\t", 2);
	p = fmt_opt_i64(p, r->has_id, r->id);
	*p++ = '\t';
	p = fmt_opt_i64(p, r->has_occurred_at, r->occurred_at_us);
	*p++ = '\t';
	p = fmt_opt_i64(p, r->has_producer, r->producer_id);
	*p++ = '\t';
	p = fmt_opt_i64(p, r->has_consumer, r->consumer_id);
	*p++ = '\t';
	p = fmt_opt_i64(p, r->has_amount, r->amount_minor);
	*p++ = '\t';
	cs_buf_put(b, rec, (size_t)(p - rec));
	/* byte strings of any length go straight to the buffer */
	put_opt_bytes(b, r->has_currency, r->currency, r->currency_len);
	cs_buf_putc(b, '\t');
	put_opt_bytes(b, r->has_category, r->category, r->category_len);
	p = rec;
	*p++ = '\t';
	*p++ = pm ? '1' : '0';
	*p++ = '\t';
	*p++ = cm ? '1' : '0';
	*p++ = '\n';
	cs_buf_put(b, rec, (size_t)(p - rec));
	flush_hash(s->in_hash, b, 0);
}

static void add_reject(cs_settle *s, const cs_txn_row *r, const char *reason)
{
	cs_reject *x;

	if (s->n_rejects == s->cap_rejects) {
		size_t cap = s->cap_rejects ? s->cap_rejects * 2 : 64;
		cs_reject *p = realloc(s->rejects, cap * sizeof(*p));

		CS_ASSERT(p != NULL);
		s->rejects = p;
		s->cap_rejects = cap;
	}
	x = &s->rejects[s->n_rejects++];
	x->has_id = r->has_id;
	x->id = r->has_id ? r->id : 0;
	snprintf(x->reason, sizeof(x->reason), "%s", reason);
}

static size_t party_hash(int64_t id, cs_class side, size_t cur)
{
	return (size_t)mix((uint64_t)id * 4 + side + ((uint64_t)cur << 56));
}

/* The totals of (id, side, cur, member); member -1 with version 1. Both
 * member variants of a party share one probe sequence (the hash leaves
 * member out), so the prefetch does not need to know it. */
static cs_party_total *party_find(cs_settle *s, int64_t id, cs_class side, size_t cur, int member)
{
	size_t mask, h;
	cs_party_total *t;

	if ((s->n_parties + 1) * 2 > s->n_slots) {
		size_t n = s->n_slots * 2, i;
		uint32_t *p = calloc(n, sizeof(uint32_t));

		CS_ASSERT(p != NULL);
		for (i = 0; i < s->n_parties; i++) {
			t = &s->parties[i];
			h = party_hash(t->party_id, t->side, t->currency) & (n - 1);
			while (p[h])
				h = (h + 1) & (n - 1);
			p[h] = (uint32_t)(i + 1);
		}
		free(s->slots);
		s->slots = p;
		s->n_slots = n;
	}
	mask = s->n_slots - 1;
	h = party_hash(id, side, cur) & mask;
	while (s->slots[h]) {
		t = &s->parties[s->slots[h] - 1];
		if (t->party_id == id && t->side == side && t->currency == cur && t->member == member)
			return t;
		h = (h + 1) & mask;
	}
	if (s->n_parties == s->cap_parties) {
		size_t cap = s->cap_parties ? s->cap_parties * 2 : 1024;

		CS_ASSERT(cap < UINT32_MAX);
		t = realloc(s->parties, cap * sizeof(cs_party_total));
		CS_ASSERT(t != NULL);
		s->parties = t;
		s->cap_parties = cap;
	}
	t = &s->parties[s->n_parties++];
	memset(t, 0, sizeof(*t));
	t->party_id = id;
	t->side = side;
	t->currency = cur;
	t->member = member;
	s->slots[h] = (uint32_t)s->n_parties;
	return t;
}

static int emit(cs_settle *s, const cs_ledger_line *l, cs_error *err)
{
	cs_buf *b = &s->out_buf;
	const char *account = l->account;
	const char *code = s->cfg->currencies[l->currency].code;
	const char *rule = s->cfg->rules[l->rule_index].id;
	size_t n_account = strlen(account), n_code = strlen(code), n_rule = strlen(rule);
	char rec[3 * CS_NAME_BYTES_MAX + 160], *p = rec;

	if (l->amount_minor == 0)
		return 0; /* lines of amount 0 are not written (spec section 5) */
	s->lines_count++;
	cs_i128_add(&s->line_sum[l->currency], l->amount_minor);
	/* names are bounded by the config loader; the integers by their types */
	CS_ASSERT(n_account <= CS_NAME_BYTES_MAX && n_code <= CS_NAME_BYTES_MAX &&
		  n_rule <= CS_NAME_BYTES_MAX);
	p = fmt_put(p, "L\t", 2);
	p = fmt_i128(p, l->transaction_id);
	*p++ = '\t';
	p = fmt_i128(p, l->line_no);
	*p++ = '\t';
	p = fmt_put(p, account, n_account);
	*p++ = '\t';
	p = fmt_opt_i64(p, l->has_party, l->party_id);
	*p++ = '\t';
	p = fmt_put(p, code, n_code);
	*p++ = '\t';
	p = fmt_i128(p, l->amount_minor);
	*p++ = '\t';
	p = fmt_put(p, rule, n_rule);
	if (s->dated) { /* version 2: the posting date is part of the output */
		*p++ = '\t';
		p = fmt_i128(p, l->posted_day);
	}
	*p++ = '\n';
	cs_buf_put(b, rec, (size_t)(p - rec));
	flush_hash(s->out_hash, b, 0);
	return s->sink ? s->sink(s->sink_ctx, l, err) : 0;
}

/* Bytes of a currency value quoted in a reject reason. */
#define CURRENCY_SHOWN_BYTES 16

/* Copies the currency value s (len bytes, from the database) into buf
 * (CURRENCY_SHOWN_BYTES + 4 bytes) for a reject reason: cut at a character
 * boundary, so a UTF-8 database accepts the reason, and ending in "..." when
 * cut; control bytes become '?', so the reason stays on one line. */
static const char *show_currency(char *buf, const char *s, size_t len)
{
	size_t n = len, i;

	if (n > CURRENCY_SHOWN_BYTES) {
		n = CURRENCY_SHOWN_BYTES;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (n < len) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
	return buf;
}

/* Why row r cannot be settled (spec section 4), or NULL when it can. cur
 * is its currency's index (-1: none); reason is room for a message. */
static const char *invalid_reason(const cs_txn_row *r, int cur, int dup, char *reason,
				  size_t size)
{
	char shown[CURRENCY_SHOWN_BYTES + 4];

	if (!r->has_id)
		return "id is null";
	if (!r->has_occurred_at)
		return "occurred_at is null";
	if (!r->has_producer)
		return "producer_id is null";
	if (!r->has_amount)
		return "amount_minor is null";
	if (!r->has_currency)
		return "currency is null";
	if (cur < 0) {
		snprintf(reason, size, "currency '%s' is not configured",
			 show_currency(shown, r->currency, r->currency_len));
		return reason;
	}
	return dup ? "duplicate id" : NULL;
}

/* Splits side fee f (a fee rule with funds, spec 10.3, 10.7.9) by LR over
 * the rule's funds in config order, then income with the remaining share:
 * parts[k] for fund k, the rest into *income. */
static void fund_split(const cs_rule *rule, cs_i128 f, cs_i128 *parts, cs_i128 *income)
{
	cs_alloc_part lr[CS_FUNDS_MAX + 1];
	size_t n = rule->n_funds, k;
	mpz_t total;

	cs_alloc_parts_init(lr, n + 1);
	mpq_set_ui(lr[n].weight, 1, 1);
	for (k = 0; k < n; k++) {
		lr[k].key = (int64_t)k;
		mpq_set(lr[k].weight, rule->funds[k].share);
		mpq_sub(lr[n].weight, lr[n].weight, rule->funds[k].share);
	}
	lr[n].key = (int64_t)n;
	mpz_init(total);
	cs_i128_to_mpz(total, f);
	CS_ASSERT(cs_alloc_largest_remainder(lr, n + 1, total) == 0);
	for (k = 0; k < n; k++)
		parts[k] = cs_i128_from_mpz(lr[k].part);
	*income = cs_i128_from_mpz(lr[n].part);
	mpz_clear(total);
	cs_alloc_parts_clear(lr, n + 1);
}

/* Appends a line of row r to out at *n (kept only when its amount is not 0;
 * line numbers count every possible line). */
static void add_line(cs_ledger_line *out, size_t *n, int *no, const cs_txn_row *r, size_t cur,
		     const cs_fee_result *fee, int64_t day, const char *account, int has_party,
		     int64_t party, cs_i128 amount)
{
	cs_ledger_line *l = &out[*n];

	++*no;
	if (amount == 0)
		return; /* lines of 0 are not written (spec section 5) */
	memset(l, 0, sizeof(*l));
	l->transaction_id = r->id;
	l->line_no = *no;
	l->account = account;
	l->has_party = has_party;
	l->party_id = has_party ? party : 0;
	l->currency = cur;
	l->amount_minor = amount;
	l->rule_index = fee->rule_index;
	l->posted_day = day;
	++*n;
}

size_t cs_settle_lines(const cs_config *cfg, const cs_txn_row *r, size_t cur,
		       const cs_fee_result *fee, int64_t day, cs_ledger_line *out)
{
	const cs_rule *rule = &cfg->rules[fee->rule_index];
	cs_i128 g = r->amount_minor, fp[CS_FUNDS_MAX], fc[CS_FUNDS_MAX];
	cs_i128 tp = fee->vat_producer_minor, tc = fee->vat_consumer_minor;
	cs_i128 pp = cs_fee_paid(rule, fee->fee_producer_minor, tp);
	cs_i128 pc = cs_fee_paid(rule, fee->fee_consumer_minor, tc);
	cs_i128 ip = pp - tp, ic = pc - tc; /* the net fees, less their fund parts below */
	size_t k, n = 0;
	int no = 0;

	if (rule->n_funds) {
		fund_split(rule, pp - tp, fp, &ip);
		fund_split(rule, pc - tc, fc, &ic);
	}
	add_line(out, &n, &no, r, cur, fee, day, cfg->accounts[CS_ACCOUNT_CLEARING],
		 r->has_consumer, r->consumer_id, g + pc);
	add_line(out, &n, &no, r, cur, fee, day, cfg->accounts[CS_ACCOUNT_PRODUCER_PAYABLE], 1,
		 r->producer_id, -(g - pp));
	add_line(out, &n, &no, r, cur, fee, day, cfg->accounts[CS_ACCOUNT_FEE_INCOME], 1,
		 r->producer_id, -ip);
	add_line(out, &n, &no, r, cur, fee, day, cfg->accounts[CS_ACCOUNT_FEE_INCOME],
		 r->has_consumer, r->consumer_id, -ic);
	if (cfg->has_vat) { /* the VAT each side owes, after the four (spec 10.8); a
			     * config with VAT numbers these slots on every rule */
		add_line(out, &n, &no, r, cur, fee, day, rule->vat_account, 1, r->producer_id, -tp);
		add_line(out, &n, &no, r, cur, fee, day, rule->vat_account, r->has_consumer,
			 r->consumer_id, -tc);
	}
	for (k = 0; k < rule->n_funds; k++) /* the producer's fund parts, then the consumer's */
		add_line(out, &n, &no, r, cur, fee, day, rule->funds[k].account, 1, r->producer_id,
			 -fp[k]);
	for (k = 0; k < rule->n_funds; k++)
		add_line(out, &n, &no, r, cur, fee, day, rule->funds[k].account, r->has_consumer,
			 r->consumer_id, -fc[k]);
	return n;
}

/* Adds a settled row to its parties' and its currency's totals; pm, cm:
 * the parties' member flags, kept in the party totals with version 2. */
static void add_totals(cs_settle *s, const cs_txn_row *r, size_t cur, const cs_fee_result *fee,
		       int pm, int cm)
{
	cs_i128 g = r->amount_minor;
	cs_party_total *ps;
	cs_currency_total *ct;

	const cs_rule *rule = &s->cfg->rules[fee->rule_index];
	cs_i128 tp = fee->vat_producer_minor, tc = fee->vat_consumer_minor;
	cs_i128 np = cs_fee_net(rule, fee->fee_producer_minor, tp);
	cs_i128 nc = cs_fee_net(rule, fee->fee_consumer_minor, tc);

	/* the fees a side bore, net of VAT (spec 10.8.3); without VAT n = f */
	ps = party_find(s, r->producer_id, CS_CLASS_PRODUCER, cur, s->dated ? pm : -1);
	ps->transactions++;
	cs_i128_add(&ps->gross_minor, g);
	cs_i128_add(&ps->fees_minor, np);
	cs_i128_add(&ps->vat_minor, tp);
	if (r->has_consumer) {
		ps = party_find(s, r->consumer_id, CS_CLASS_CONSUMER, cur, s->dated ? cm : -1);
		ps->transactions++;
		cs_i128_add(&ps->gross_minor, g);
		cs_i128_add(&ps->fees_minor, nc);
		cs_i128_add(&ps->vat_minor, tc);
	}
	ct = &s->cur[cur];
	ct->transactions++;
	cs_i128_add(&ct->gross_minor, g);
	cs_i128_add(&ct->fees_minor, np + nc);
	cs_i128_add(&ct->fees_producer_minor, np);
	cs_i128_add(&ct->fees_consumer_minor, nc);
	cs_i128_add(&ct->vat_minor, tp + tc);
	if (rule->vat_on)
		cs_i128_add(&ct->vat_by_account_minor[rule->vat_account_index], tp + tc);
}

/* A settled row: its lines (the fee split among the rule's funds, version
 * 2) and its totals. */
static int settled(cs_settle *s, const cs_txn_row *r, size_t cur, const cs_fee_result *fee,
		   int64_t day, int pm, int cm, cs_error *err)
{
	const cs_config *cfg = s->cfg;
	const cs_rule *rule = &cfg->rules[fee->rule_index];
	cs_ledger_line lines[CS_SETTLE_LINES_MAX];
	cs_currency_total *ct = &s->cur[cur];
	size_t n = cs_settle_lines(cfg, r, cur, fee, day, lines), i, k;

	for (i = 0; i < n; i++) {
		if (emit(s, &lines[i], err) < 0)
			return -1;
		if (lines[i].line_no == 3 || lines[i].line_no == 4) /* the fee income lines */
			cs_i128_add(&ct->fee_income_minor, -lines[i].amount_minor);
		for (k = 0; k < rule->n_funds && lines[i].line_no > 4; k++)
			if (lines[i].account == rule->funds[k].account)
				cs_i128_add(&ct->funds_minor[rule->funds[k].account_index],
					    -lines[i].amount_minor);
	}
	add_totals(s, r, cur, fee, pm, cm);
	return 0;
}

/* Settles one row whose id is known not to repeat: member flags, hashing,
 * validity, the fee, the lines, the totals. */
static int settle_one(cs_settle *s, const cs_txn_row *r, int dup, cs_error *err)
{
	int cur = -1, pm = 0, cm = 0;
	int64_t day = 0;
	cs_fee_input in;
	cs_fee_result fee;
	const char *why;
	char reason[64];

	CS_ASSERT(s->days != NULL);
	if (r->has_occurred_at)
		day = cs_day_map_day(s->days, r->occurred_at_us);
	if (r->flags_given) {
		pm = r->producer_member;
		cm = r->consumer_member;
	} else if (!s->dated) {
		if (r->has_producer)
			pm = cs_members_is(s->members, r->producer_id, CS_CLASS_PRODUCER);
		if (r->has_consumer)
			cm = cs_members_is(s->members, r->consumer_id, CS_CLASS_CONSUMER);
	} else if (r->has_occurred_at) { /* version 2: a member on the row's day */
		if (r->has_producer)
			pm = cs_members_is_on(s->members, r->producer_id, CS_CLASS_PRODUCER, day);
		if (r->has_consumer)
			cm = cs_members_is_on(s->members, r->consumer_id, CS_CLASS_CONSUMER, day);
	}
	hash_input_row(s, r, pm, cm);
	if (s->on_input)
		s->on_input(s->on_input_ctx, r, pm, cm);
	if (r->has_currency)
		cur = cs_config_currency_index(s->cfg, r->currency, r->currency_len);
	why = invalid_reason(r, cur, dup, reason, sizeof(reason));
	if (why) {
		add_reject(s, r, why);
		return 0;
	}

	in.amount_minor = r->amount_minor;
	in.currency = (size_t)cur;
	in.category = r->has_category ? r->category : NULL;
	in.category_len = r->has_category ? r->category_len : 0;
	in.producer_member = pm;
	in.consumer_member = cm;
	in.day = day;
	cs_fee_compute(&s->calc, &in, &fee);
	if (fee.rule_index < 0) {
		add_reject(s, r, "no fee rule matches");
		return 0;
	}
	return settled(s, r, (size_t)cur, &fee, day, pm, cm, err);
}

static void keep_pending(cs_settle *s, const cs_txn_row *r, int dup)
{
	s->pending = *r;
	s->pending_dup = dup;
	s->has_pending = 1;
	cs_buf_reset(&s->pending_currency);
	cs_buf_reset(&s->pending_category);
	if (r->has_currency) {
		cs_buf_put(&s->pending_currency, r->currency, r->currency_len);
		s->pending.currency = s->pending_currency.data;
	}
	if (r->has_category) {
		cs_buf_put(&s->pending_category, r->category, r->category_len);
		s->pending.category = s->pending_category.data;
	}
}

/* Cache hints for r's member and party lookups; no result depends on them.
 * The table slots are cache misses (random ids over tables of MBs), and the
 * core settles the pending row before the next one. So when row k+1
 * arrives, its slots start loading (entries = 0) while row k is settled,
 * and row k's entries, whose slots were loaded a row ago, load together
 * (entries = 1), not one after another as the lookups would. */
static void prefetch(const cs_settle *s, const cs_txn_row *r, int entries)
{
	int cur = r->has_currency ? cs_config_currency_index(s->cfg, r->currency, r->currency_len)
				  : -1;
	const int has[2] = {r->has_producer, r->has_consumer};
	const int64_t id[2] = {r->producer_id, r->consumer_id};
	const cs_class side[2] = {CS_CLASS_PRODUCER, CS_CLASS_CONSUMER};
	int k;

	for (k = 0; k < 2; k++) {
		const uint32_t *slot;

		if (!has[k])
			continue;
		if (entries)
			cs_members_prefetch_entry(s->members, id[k]);
		else
			cs_members_prefetch(s->members, id[k]);
		if (cur < 0 || !s->n_slots)
			continue;
		slot = &s->slots[party_hash(id[k], side[k], (size_t)cur) & (s->n_slots - 1)];
		if (!entries)
			__builtin_prefetch(slot);
		else if (*slot)
			__builtin_prefetch(&s->parties[*slot - 1]);
	}
}

void cs_settle_on_input(cs_settle *s, cs_settle_input_fn fn, void *ctx)
{
	s->on_input = fn;
	s->on_input_ctx = ctx;
}

int cs_settle_row(cs_settle *s, const cs_txn_row *r, cs_error *err)
{
	int dup = 0;

	CS_ASSERT(!s->finished);
	s->rows_read++;
	if (!r->has_id) /* a NULL id is invalid on its own, never a duplicate */
		return settle_one(s, r, 0, err);
	if (s->has_pending) {
		CS_ASSERT(r->id >= s->pending.id); /* the documented input order */
		dup = r->id == s->pending.id;
		prefetch(s, r, 0); /* its lookups come after the pending row's */
		prefetch(s, &s->pending, 1);
		if (settle_one(s, &s->pending, s->pending_dup || dup, err) < 0)
			return -1;
	}
	keep_pending(s, r, dup);
	return 0;
}

static int party_cmp(const void *a, const void *b)
{
	const cs_party_total *x = a, *y = b;

	if (x->side != y->side)
		return x->side < y->side ? -1 : 1;
	if (x->party_id != y->party_id)
		return x->party_id < y->party_id ? -1 : 1;
	if (x->currency != y->currency)
		return x->currency < y->currency ? -1 : 1;
	return (x->member > y->member) - (x->member < y->member);
}

/* One membership of the snapshot as an M record of the canonical input. */
static void hash_period(void *ctx, int64_t id, cs_class cls, const cs_period *p)
{
	cs_settle *s = ctx;
	cs_buf *b = &s->in_buf;

	cs_buf_puts(b, "M\t");
	cs_buf_put_i128(b, id);
	cs_buf_printf(b, "\t%s\t", cs_class_name(cls));
	cs_buf_put_i128(b, p->from_day);
	cs_buf_putc(b, '\t');
	if (p->to_day == CS_DAY_OPEN)
		cs_buf_puts(b, "\\N");
	else
		cs_buf_put_i128(b, p->to_day);
	cs_buf_putc(b, '\n');
	flush_hash(s->in_hash, b, 0);
}

void cs_settle_memberships(const cs_settle *s, cs_settle_period_fn fn, void *ctx)
{
	int64_t first = s->days->first_day, end = first + (int64_t)s->days->n_days;
	const cs_party_total *t = s->sorted;
	size_t i, k, n;

	CS_ASSERT(s->finished && s->dated);
	/* in the order of the sorted party totals: each (side, id) once,
	 * producers first, by id; a party's periods by from_day */
	for (i = 0; i < s->n_parties; i++) {
		const cs_member *x;
		const cs_period *p;

		if (i > 0 && t[i].party_id == t[i - 1].party_id && t[i].side == t[i - 1].side)
			continue;
		x = cs_members_find(s->members, t[i].party_id);
		if (!x)
			continue;
		p = cs_members_periods(s->members, x, t[i].side, &n);
		for (k = 0; k < n; k++)
			if (p[k].from_day < end && p[k].to_day > first)
				fn(ctx, t[i].party_id, t[i].side, &p[k]);
	}
}

int cs_settle_finish(cs_settle *s, cs_error *err)
{
	size_t i, k = 0;
	cs_buf *b = &s->out_buf;

	CS_ASSERT(!s->finished);
	if (s->has_pending) {
		if (settle_one(s, &s->pending, s->pending_dup, err) < 0)
			return -1;
		s->has_pending = 0;
	}
	s->finished = 1;
	/* sorted in place: the table of indexes is not used after this */
	free(s->slots);
	s->slots = NULL;
	s->n_slots = 0;
	s->sorted = s->parties;
	k = s->n_parties;
	/* currencies are sorted by code in the config, so index order is code order */
	if (k)
		qsort(s->sorted, k, sizeof(cs_party_total), party_cmp);

	for (i = 0; i < s->cfg->n_currencies; i++)
		CS_ASSERT(s->line_sum[i] == 0); /* every journal sums to zero */

	for (i = 0; i < k; i++) {
		const cs_party_total *t = &s->sorted[i];

		cs_buf_printf(b, "P\t%s\t", cs_class_name(t->side));
		cs_buf_put_i128(b, t->party_id);
		cs_buf_printf(b, "\t%s\t", s->cfg->currencies[t->currency].code);
		if (s->dated) /* version 2: member business apart */
			cs_buf_puts(b, t->member ? "t\t" : "f\t");
		cs_buf_put_i128(b, t->transactions);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, t->gross_minor);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, t->fees_minor);
		if (s->cfg->has_vat) { /* with VAT: the side's VAT */
			cs_buf_putc(b, '\t');
			cs_buf_put_i128(b, t->vat_minor);
		}
		cs_buf_putc(b, '\n');
		flush_hash(s->out_hash, b, 0);
	}
	for (i = 0; i < s->cfg->n_currencies; i++) {
		const cs_currency_total *c = &s->cur[i];

		cs_buf_printf(b, "C\t%s\t", s->cfg->currencies[i].code);
		cs_buf_put_i128(b, c->transactions);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, c->gross_minor);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, c->fees_minor);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, c->fees_producer_minor);
		cs_buf_putc(b, '\t');
		cs_buf_put_i128(b, c->fees_consumer_minor);
		if (s->cfg->n_fund_accounts) { /* funds: the fee income account's part */
			cs_buf_putc(b, '\t');
			cs_buf_put_i128(b, c->fee_income_minor);
		}
		if (s->cfg->has_vat) { /* VAT: both sides' */
			cs_buf_putc(b, '\t');
			cs_buf_put_i128(b, c->vat_minor);
		}
		cs_buf_putc(b, '\n');
		for (k = 0; s->cfg->n_vat_accounts > 1 && k < s->cfg->n_vat_accounts; k++) {
			if (c->vat_by_account_minor[k] == 0)
				continue;
			cs_buf_printf(b, "V\t%s\t%s\t", s->cfg->currencies[i].code,
				      s->cfg->vat_accounts[k]);
			cs_buf_put_i128(b, c->vat_by_account_minor[k]);
			cs_buf_putc(b, '\n');
		}
		for (k = 0; k < s->cfg->n_fund_accounts; k++) {
			if (c->funds_minor[k] == 0)
				continue;
			cs_buf_printf(b, "F\t%s\t%s\t", s->cfg->currencies[i].code,
				      s->cfg->fund_accounts[k]);
			cs_buf_put_i128(b, c->funds_minor[k]);
			cs_buf_putc(b, '\n');
		}
	}
	for (i = 0; i < s->n_rejects; i++) {
		cs_buf_puts(b, "R\t");
		put_opt_i64(b, s->rejects[i].has_id, s->rejects[i].id);
		cs_buf_printf(b, "\t%s\n", s->rejects[i].reason);
		flush_hash(s->out_hash, b, 0);
	}
	if (s->dated)
		cs_settle_memberships(s, hash_period, s);
	flush_hash(s->in_hash, &s->in_buf, 1);
	flush_hash(s->out_hash, b, 1);
	cs_sha256_final(s->in_hash, s->in_hex);
	cs_sha256_final(s->out_hash, s->out_hex);
	s->in_hash = s->out_hash = NULL;
	return 0;
}

const cs_party_total *cs_settle_parties(const cs_settle *s, size_t *n)
{
	CS_ASSERT(s->finished);
	*n = s->n_parties;
	return s->sorted;
}

const cs_currency_total *cs_settle_currency_total(const cs_settle *s, size_t i)
{
	CS_ASSERT(i < s->cfg->n_currencies);
	return &s->cur[i];
}

const cs_reject *cs_settle_rejects(const cs_settle *s, size_t *n)
{
	*n = s->n_rejects;
	return s->rejects;
}

int64_t cs_settle_rows_read(const cs_settle *s)
{
	return s->rows_read;
}

int64_t cs_settle_lines_count(const cs_settle *s)
{
	return s->lines_count;
}

cs_i128 cs_settle_lines_sum(const cs_settle *s, size_t i)
{
	return s->line_sum[i];
}

const char *cs_settle_input_hash(const cs_settle *s)
{
	CS_ASSERT(s->finished);
	return s->in_hex;
}

const char *cs_settle_output_hash(const cs_settle *s)
{
	CS_ASSERT(s->finished);
	return s->out_hex;
}
