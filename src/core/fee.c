/*
 * fee.c -- rule matching and the exact fee of one transaction (see fee.h).
 */
#include "coopsettle/fee.h"

#include <stdlib.h>
#include <string.h>

#include "coopsettle/error.h"

/* Bounds of the 128-bit path. With |g| <= 2^63, rate denominators (and
 * their lcm L) <= 2^40 and money below 2^62 minor units, every product
 * below stays under 2^110, far from 2^127: amount * L, (tier part) * rate * L
 * summed over at most FAST_TIERS_MAX tiers, money * L, fee * share weight. */
#define FAST_DEN_BITS 40
#define FAST_MONEY_BITS 62
#define FAST_TIERS_MAX 8

/* One rule in one currency, as integers: raw = N / den exactly, where N sums
 * fixed * den and each tier part times rate_num (= rate * den). */
struct cs_fee_fast {
	int ok;       /* the fee can take the 128-bit path */
	int match_ok; /* min_amount and max_amount fit (matching without GMP) */
	int has_rate, has_fixed, has_min, has_max, has_min_amount, has_max_amount;
	size_t n_tiers;
	cs_i128 den;
	cs_i128 rate_num[FAST_TIERS_MAX];
	unsigned char has_up_to[FAST_TIERS_MAX];
	int64_t up_to[FAST_TIERS_MAX];
	int64_t fixed, min, max, min_amount, max_amount;
	cs_i128 w_producer, w_consumer; /* largest-remainder weights, sum > 0 */
};

/* Sets *v to z when |z| < 2^FAST_MONEY_BITS; 0 if it does not fit. */
static int fast_money(int64_t *v, const mpz_t z)
{
	if (mpz_sizeinbase(z, 2) > FAST_MONEY_BITS)
		return 0;
	*v = (int64_t)cs_i128_from_mpz(z);
	return 1;
}

/* Multiplies *l by the denominator of q (lcm); 0 if it outgrows the bound. */
static int fast_lcm(mpz_t l, const mpq_t q)
{
	mpz_lcm(l, l, mpq_denref(q));
	return mpz_sizeinbase(l, 2) <= FAST_DEN_BITS;
}

/* q * l as an integer (l is a multiple of q's denominator). */
static cs_i128 fast_scale(const mpq_t q, const mpz_t l, mpz_t tmp)
{
	mpz_divexact(tmp, l, mpq_denref(q));
	mpz_mul(tmp, tmp, mpq_numref(q));
	return cs_i128_from_mpz(tmp);
}

static void fast_init(cs_fee_fast *x, const cs_rule *rule, size_t cur)
{
	mpz_t l, tmp;
	size_t i;
	int ok = 1;

	memset(x, 0, sizeof(*x));
	mpz_init_set_ui(l, 1);
	mpz_init(tmp);
	x->has_min_amount = rule->min_amount.present;
	x->has_max_amount = rule->max_amount.present;
	x->match_ok = (!x->has_min_amount ||
		       (rule->min_amount.applies[cur] &&
			fast_money(&x->min_amount, rule->min_amount.minor[cur]))) &&
		      (!x->has_max_amount ||
		       (rule->max_amount.applies[cur] &&
			fast_money(&x->max_amount, rule->max_amount.minor[cur])));
	x->has_rate = rule->has_rate;
	x->n_tiers = rule->has_rate ? 0 : rule->n_tiers;
	if (x->n_tiers > FAST_TIERS_MAX)
		ok = 0;
	if (ok && rule->has_rate)
		ok = fast_lcm(l, rule->rate);
	for (i = 0; ok && i < x->n_tiers; i++)
		ok = fast_lcm(l, rule->tiers[i].rate);
	if (ok) {
		x->den = cs_i128_from_mpz(l);
		if (rule->has_rate)
			x->rate_num[0] = fast_scale(rule->rate, l, tmp);
		for (i = 0; i < x->n_tiers; i++) {
			x->rate_num[i] = fast_scale(rule->tiers[i].rate, l, tmp);
			x->has_up_to[i] = (unsigned char)rule->tiers[i].up_to.present;
			if (x->has_up_to[i])
				ok = ok && fast_money(&x->up_to[i], rule->tiers[i].up_to.minor[cur]);
		}
		for (i = 0; i < (rule->has_rate ? 1 : x->n_tiers); i++)
			ok = ok && x->rate_num[i] >= 0 && x->rate_num[i] <= x->den;
	}
	x->has_fixed = rule->fixed.present;
	x->has_min = rule->min.present;
	x->has_max = rule->max.present;
	ok = ok && (!x->has_fixed || fast_money(&x->fixed, rule->fixed.minor[cur]));
	ok = ok && (!x->has_min || fast_money(&x->min, rule->min.minor[cur]));
	ok = ok && (!x->has_max || fast_money(&x->max, rule->max.minor[cur]));
	/* the side split: integer weights over the lcm of the two denominators */
	mpz_set_ui(l, 1);
	ok = ok && fast_lcm(l, rule->share_producer) && fast_lcm(l, rule->share_consumer);
	if (ok) {
		x->w_producer = fast_scale(rule->share_producer, l, tmp);
		x->w_consumer = fast_scale(rule->share_consumer, l, tmp);
		ok = x->w_producer >= 0 && x->w_consumer >= 0 && x->w_producer + x->w_consumer > 0;
	}
	x->ok = ok;
	mpz_clears(l, tmp, NULL);
}

/* The VAT factors of the rules (spec 10.8): rate, or rate / (1 + rate). */
static void vat_init(cs_fee_calc *calc)
{
	const cs_config *cfg = calc->cfg;
	size_t r, n = cfg->n_rules + 1;

	calc->vat_q = calloc(n, sizeof(mpq_t));
	calc->vat_num = calloc(n, sizeof(cs_i128));
	calc->vat_den = calloc(n, sizeof(cs_i128));
	calc->vat_fast = calloc(n, 1);
	CS_ASSERT(calc->vat_q && calc->vat_num && calc->vat_den && calc->vat_fast);
	for (r = 0; r < cfg->n_rules; r++) {
		const cs_rule *rule = &cfg->rules[r];

		mpq_init(calc->vat_q[r]);
		if (!rule->vat_on)
			continue;
		mpq_set(calc->vat_q[r], rule->vat_eff->rate);
		if (rule->vat_eff->included) { /* r / (1 + r) */
			mpq_t one;

			mpq_init(one);
			mpq_set_ui(one, 1, 1);
			mpq_add(one, one, rule->vat_eff->rate);
			mpq_div(calc->vat_q[r], calc->vat_q[r], one);
			mpq_clear(one);
		}
		/* |f| < 2^63, so num and den below 2^40 keep |f| num in 128 bits */
		if (mpz_sizeinbase(mpq_numref(calc->vat_q[r]), 2) <= 40 &&
		    mpz_sizeinbase(mpq_denref(calc->vat_q[r]), 2) <= 40) {
			calc->vat_num[r] = (cs_i128)mpz_get_ui(mpq_numref(calc->vat_q[r]));
			calc->vat_den[r] = (cs_i128)mpz_get_ui(mpq_denref(calc->vat_q[r]));
			calc->vat_fast[r] = 1;
		}
	}
}

void cs_fee_calc_init(cs_fee_calc *calc, const cs_config *cfg)
{
	size_t r, cur;

	calc->cfg = cfg;
	mpz_inits(calc->a, calc->f, calc->t, calc->lo, calc->hi, NULL);
	mpq_inits(calc->raw, calc->q, NULL);
	cs_alloc_parts_init(calc->split, 2);
	calc->split[0].key = 0; /* producer first (spec section 2) */
	calc->split[1].key = 1;
	calc->fast = calloc(cfg->n_rules * cfg->n_currencies + 1, sizeof(cs_fee_fast));
	CS_ASSERT(calc->fast != NULL);
	for (r = 0; r < cfg->n_rules; r++)
		for (cur = 0; cur < cfg->n_currencies; cur++)
			if (cfg->rules[r].currency_allowed[cur])
				fast_init(&calc->fast[r * cfg->n_currencies + cur], &cfg->rules[r],
					  cur);
	vat_init(calc);
}

void cs_fee_calc_clear(cs_fee_calc *calc)
{
	size_t r;

	mpz_clears(calc->a, calc->f, calc->t, calc->lo, calc->hi, NULL);
	mpq_clears(calc->raw, calc->q, NULL);
	cs_alloc_parts_clear(calc->split, 2);
	free(calc->fast);
	calc->fast = NULL;
	for (r = 0; r < calc->cfg->n_rules; r++)
		mpq_clear(calc->vat_q[r]);
	free(calc->vat_q);
	free(calc->vat_num);
	free(calc->vat_den);
	free(calc->vat_fast);
	calc->vat_q = NULL;
}

int cs_fee_fast_applies(const cs_fee_calc *calc, size_t r, size_t cur)
{
	CS_ASSERT(r < calc->cfg->n_rules && cur < calc->cfg->n_currencies);
	return calc->fast[r * calc->cfg->n_currencies + cur].ok;
}

/* |v| as an unsigned 64-bit value (exact also for INT64_MIN). */
static uint64_t magnitude(int64_t v)
{
	return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

static void mpz_set_u64(mpz_t z, uint64_t v)
{
	mpz_set_ui(z, (unsigned long)(v >> 32));
	mpz_mul_2exp(z, z, 32);
	mpz_add_ui(z, z, (unsigned long)(v & 0xffffffffu));
}

/* Compares |g| (as mpz a) with a money bound of currency cur. */
static int money_cmp(const mpz_t a, const cs_money *m, size_t cur)
{
	CS_ASSERT(m->applies[cur]);
	return mpz_cmp(a, m->minor[cur]);
}

/* The conditions of a rule's `when` that do not involve the amount:
 * currency, category and the member flags of both sides. */
static int rule_matches_row(const cs_rule *rule, const cs_fee_input *in)
{
	size_t i;

	if (!rule->currency_allowed[in->currency])
		return 0;
	if (rule->has_categories) {
		for (i = 0; in->category && i < rule->n_categories; i++)
			if (strlen(rule->categories[i]) == in->category_len &&
			    memcmp(rule->categories[i], in->category, in->category_len) == 0)
				break;
		if (!in->category || i == rule->n_categories)
			return 0;
	}
	if (rule->producer_member != CS_TRI_ANY &&
	    (rule->producer_member == CS_TRI_TRUE) != (in->producer_member != 0))
		return 0;
	if (rule->consumer_member != CS_TRI_ANY &&
	    (rule->consumer_member == CS_TRI_TRUE) != (in->consumer_member != 0))
		return 0;
	/* version 2: a dated rule applies on local days from <= D < until */
	if ((rule->has_from && in->day < rule->from_day) ||
	    (rule->has_until && in->day >= rule->until_day))
		return 0;
	return 1;
}

int cs_fee_match(const cs_config *cfg, const cs_fee_input *in)
{
	size_t r;
	uint64_t a = magnitude(in->amount_minor);
	mpz_t az;
	int found = -1;

	mpz_init(az);
	mpz_set_u64(az, a);
	for (r = 0; r < cfg->n_rules && found < 0; r++) {
		const cs_rule *rule = &cfg->rules[r];
		int ok = rule_matches_row(rule, in);

		if (ok && rule->min_amount.present)
			ok = money_cmp(az, &rule->min_amount, in->currency) >= 0;
		if (ok && rule->max_amount.present)
			ok = money_cmp(az, &rule->max_amount, in->currency) <= 0;
		if (ok)
			found = (int)r;
	}
	mpz_clear(az);
	return found;
}

void cs_fee_raw(cs_fee_calc *calc, const cs_rule *rule, const cs_fee_input *in, mpq_t raw)
{
	size_t cur = in->currency, i;

	mpz_set_u64(calc->a, magnitude(in->amount_minor));
	if (rule->fixed.present)
		mpq_set_z(raw, rule->fixed.minor[cur]);
	else
		mpq_set_ui(raw, 0, 1);
	if (rule->has_rate) {
		mpq_set_z(calc->q, calc->a);
		mpq_mul(calc->q, calc->q, rule->rate);
		mpq_add(raw, raw, calc->q);
	} else {
		mpz_set_ui(calc->lo, 0); /* up_to of the previous tier */
		for (i = 0; i < rule->n_tiers; i++) {
			const cs_tier *tier = &rule->tiers[i];

			if (tier->up_to.present && mpz_cmp(calc->a, tier->up_to.minor[cur]) < 0)
				mpz_set(calc->hi, calc->a);
			else if (tier->up_to.present)
				mpz_set(calc->hi, tier->up_to.minor[cur]);
			else
				mpz_set(calc->hi, calc->a);
			mpz_sub(calc->t, calc->hi, calc->lo);
			if (mpz_sgn(calc->t) > 0) {
				mpq_set_z(calc->q, calc->t);
				mpq_mul(calc->q, calc->q, tier->rate);
				mpq_add(raw, raw, calc->q);
			}
			if (!tier->up_to.present)
				break;
			mpz_set(calc->lo, tier->up_to.minor[cur]);
		}
	}
	if (rule->min.present) {
		mpq_set_z(calc->q, rule->min.minor[cur]);
		if (mpq_cmp(raw, calc->q) < 0)
			mpq_set(raw, calc->q);
	}
	if (rule->max.present) {
		mpq_set_z(calc->q, rule->max.minor[cur]);
		if (mpq_cmp(raw, calc->q) > 0)
			mpq_set(raw, calc->q);
	}
	mpq_set_z(calc->q, calc->a);
	if (mpq_cmp(raw, calc->q) > 0)
		mpq_set(raw, calc->q);
	if (mpq_sgn(raw) < 0) /* a negative `min`/`fixed` cannot make a negative fee */
		mpq_set_ui(raw, 0, 1);
}

/* The fee of in under rule r (r >= 0, amount != 0) with GMP. */
static void compute_gmp(cs_fee_calc *calc, const cs_fee_input *in, int r, cs_fee_result *out)
{
	const cs_config *cfg = calc->cfg;
	const cs_rule *rule = &cfg->rules[r];
	int neg = in->amount_minor < 0;
	cs_i128 fp, fc;

	cs_fee_raw(calc, rule, in, calc->raw);
	cs_round(calc->f, calc->raw, cfg->rounding);
	CS_ASSERT(mpz_sgn(calc->f) >= 0 && mpz_cmp(calc->f, calc->a) <= 0);

	mpq_set(calc->split[0].weight, rule->share_producer);
	mpq_set(calc->split[1].weight, rule->share_consumer);
	CS_ASSERT(cs_alloc_largest_remainder(calc->split, 2, calc->f) == 0);
	fp = cs_i128_from_mpz(calc->split[0].part);
	fc = cs_i128_from_mpz(calc->split[1].part);
	out->fee_producer_minor = neg ? -fp : fp;
	out->fee_consumer_minor = neg ? -fc : fc;
	out->fee_minor = out->fee_producer_minor + out->fee_consumer_minor;
}

/* n / den rounded by mode, for n >= 0 and den > 0: cs_round's answer. */
static cs_i128 round_div(cs_i128 n, cs_i128 den, cs_rounding mode)
{
	cs_i128 f = n / den, rem = n % den; /* n >= 0: the quotient is the floor */

	if (rem != 0) {
		switch (mode) {
		case CS_ROUND_DOWN:
			break;
		case CS_ROUND_UP:
			f++;
			break;
		default:
			if (2 * rem > den || (2 * rem == den && mode == CS_ROUND_HALF_UP) ||
			    (2 * rem == den && mode == CS_ROUND_HALF_EVEN && (f & 1)))
				f++;
			break;
		}
	}
	return f;
}

/* The VAT of side fee f of rule r (spec 10.8): round(|f| x q), q the rule's
 * factor, with the sign of g (neg). */
static cs_i128 vat_of(cs_fee_calc *calc, int r, cs_i128 f, int neg)
{
	cs_i128 m = f < 0 ? -f : f, t;

	if (calc->vat_fast[r]) {
		t = round_div(m * calc->vat_num[r], calc->vat_den[r], calc->cfg->rounding);
	} else {
		cs_i128_to_mpz(calc->t, m);
		mpq_set_z(calc->q, calc->t);
		mpq_mul(calc->q, calc->q, calc->vat_q[r]);
		cs_round(calc->t, calc->q, calc->cfg->rounding);
		t = cs_i128_from_mpz(calc->t);
	}
	return neg ? -t : t;
}

/* Each side's VAT, when the matched rule has VAT. */
static void add_vat(cs_fee_calc *calc, const cs_fee_input *in, cs_fee_result *out)
{
	int r = out->rule_index, neg = in->amount_minor < 0;

	if (r < 0 || !calc->cfg->rules[r].vat_on)
		return;
	out->vat_producer_minor = vat_of(calc, r, out->fee_producer_minor, neg);
	out->vat_consumer_minor = vat_of(calc, r, out->fee_consumer_minor, neg);
}

cs_i128 cs_fee_paid(const cs_rule *rule, cs_i128 f, cs_i128 t)
{
	return rule->vat_on && !rule->vat_eff->included ? f + t : f;
}

cs_i128 cs_fee_net(const cs_rule *rule, cs_i128 f, cs_i128 t)
{
	return cs_fee_paid(rule, f, t) - t;
}

/* The same as compute_gmp with 128-bit integers, step by step: cs_fee_raw
 * (N / den), cs_round, then cs_alloc_largest_remainder over two parts. */
static void compute_fast(const cs_fee_fast *x, cs_rounding mode, const cs_fee_input *in,
			 cs_fee_result *out)
{
	cs_i128 a = (cs_i128)magnitude(in->amount_minor), den = x->den, n = 0, f, rem;
	cs_i128 part[2], r[2], w[2], d;
	size_t i;
	int neg = in->amount_minor < 0;

	if (x->has_fixed)
		n = (cs_i128)x->fixed * den;
	if (x->has_rate) {
		n += a * x->rate_num[0];
	} else {
		cs_i128 lo = 0; /* up_to of the previous tier */

		for (i = 0; i < x->n_tiers; i++) {
			cs_i128 hi = x->has_up_to[i] && a >= x->up_to[i] ? x->up_to[i] : a;

			if (hi - lo > 0)
				n += (hi - lo) * x->rate_num[i];
			if (!x->has_up_to[i])
				break;
			lo = x->up_to[i];
		}
	}
	if (x->has_min && n < (cs_i128)x->min * den)
		n = (cs_i128)x->min * den;
	if (x->has_max && n > (cs_i128)x->max * den)
		n = (cs_i128)x->max * den;
	if (n > a * den)
		n = a * den;
	if (n < 0) /* a negative `min`/`fixed` cannot make a negative fee */
		n = 0;
	f = round_div(n, den, mode);
	CS_ASSERT(f >= 0 && f <= a);

	/* largest remainder: the floors, then the unit left (the remainders
	 * are each below d, so at most one) to the larger remainder, the
	 * producer (key 0) on a tie */
	w[0] = x->w_producer;
	w[1] = x->w_consumer;
	d = w[0] + w[1];
	for (i = 0; i < 2; i++) {
		part[i] = f * w[i] / d;
		r[i] = f * w[i] % d;
	}
	rem = f - part[0] - part[1];
	CS_ASSERT(rem == 0 || rem == 1);
	if (rem)
		part[r[1] > r[0] ? 1 : 0]++;
	out->fee_producer_minor = neg ? -part[0] : part[0];
	out->fee_consumer_minor = neg ? -part[1] : part[1];
	out->fee_minor = out->fee_producer_minor + out->fee_consumer_minor;
}

/* cs_fee_match with the precomputed integer bounds; the same answer. */
static int match_fast(const cs_fee_calc *calc, const cs_fee_input *in)
{
	const cs_config *cfg = calc->cfg;
	cs_i128 a = (cs_i128)magnitude(in->amount_minor);
	size_t r;

	for (r = 0; r < cfg->n_rules; r++) {
		const cs_rule *rule = &cfg->rules[r];
		const cs_fee_fast *x = &calc->fast[r * cfg->n_currencies + in->currency];
		int ok = rule_matches_row(rule, in);

		if (ok && !x->match_ok && (x->has_min_amount || x->has_max_amount))
			return cs_fee_match(cfg, in); /* a bound beyond 2^62: GMP */
		if (ok && x->has_min_amount)
			ok = a >= x->min_amount;
		if (ok && x->has_max_amount)
			ok = a <= x->max_amount;
		if (ok)
			return (int)r;
	}
	return -1;
}

void cs_fee_compute(cs_fee_calc *calc, const cs_fee_input *in, cs_fee_result *out)
{
	const cs_config *cfg = calc->cfg;
	int r = match_fast(calc, in);
	const cs_fee_fast *x;

	memset(out, 0, sizeof(*out));
	out->rule_index = r;
	if (r < 0 || in->amount_minor == 0)
		return;
	x = &calc->fast[(size_t)r * cfg->n_currencies + in->currency];
	if (x->ok)
		compute_fast(x, cfg->rounding, in, out);
	else
		compute_gmp(calc, in, r, out);
	add_vat(calc, in, out);
}

void cs_fee_compute_exact(cs_fee_calc *calc, const cs_fee_input *in, cs_fee_result *out)
{
	int r = cs_fee_match(calc->cfg, in);

	memset(out, 0, sizeof(*out));
	out->rule_index = r;
	if (r < 0 || in->amount_minor == 0)
		return;
	compute_gmp(calc, in, r, out);
	add_vat(calc, in, out);
}
