/*
 * fee.c -- rule matching and the exact fee of one transaction (see fee.h).
 */
#include "coopsettle/fee.h"

#include <string.h>

#include "coopsettle/error.h"

void cs_fee_calc_init(cs_fee_calc *calc, const cs_config *cfg)
{
	calc->cfg = cfg;
	mpz_inits(calc->a, calc->f, calc->t, calc->lo, calc->hi, NULL);
	mpq_inits(calc->raw, calc->q, NULL);
	cs_alloc_parts_init(calc->split, 2);
	calc->split[0].key = 0; /* producer first (spec section 2) */
	calc->split[1].key = 1;
}

void cs_fee_calc_clear(cs_fee_calc *calc)
{
	mpz_clears(calc->a, calc->f, calc->t, calc->lo, calc->hi, NULL);
	mpq_clears(calc->raw, calc->q, NULL);
	cs_alloc_parts_clear(calc->split, 2);
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

int cs_fee_match(const cs_config *cfg, const cs_fee_input *in)
{
	size_t r, i;
	uint64_t a = magnitude(in->amount_minor);
	mpz_t az;
	int found = -1;

	mpz_init(az);
	mpz_set_u64(az, a);
	for (r = 0; r < cfg->n_rules && found < 0; r++) {
		const cs_rule *rule = &cfg->rules[r];
		int ok = rule->currency_allowed[in->currency];

		if (ok && rule->has_categories) {
			ok = 0;
			for (i = 0; in->category && i < rule->n_categories; i++) {
				if (strlen(rule->categories[i]) == in->category_len &&
				    memcmp(rule->categories[i], in->category,
					   in->category_len) == 0) {
					ok = 1;
					break;
				}
			}
		}
		if (ok && rule->producer_member != CS_TRI_ANY)
			ok = (rule->producer_member == CS_TRI_TRUE) == (in->producer_member != 0);
		if (ok && rule->consumer_member != CS_TRI_ANY)
			ok = (rule->consumer_member == CS_TRI_TRUE) == (in->consumer_member != 0);
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

void cs_fee_compute(cs_fee_calc *calc, const cs_fee_input *in, cs_fee_result *out)
{
	const cs_config *cfg = calc->cfg;
	int r = cs_fee_match(cfg, in);
	const cs_rule *rule;
	int neg = in->amount_minor < 0;
	cs_i128 fp, fc;

	memset(out, 0, sizeof(*out));
	out->rule_index = r;
	if (r < 0 || in->amount_minor == 0)
		return;
	rule = &cfg->rules[r];
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
