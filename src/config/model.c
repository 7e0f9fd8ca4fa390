/*
 * model.c -- the typed, immutable config (config.h): its constructors for
 * the loader, cs_config_free and the lookups the core uses.
 */
#include "coopsettle/config.h"

#include <stdlib.h>
#include <string.h>

#include "coopsettle/error.h"
#include "coopsettle/hash.h"
#include "parse.h"


void *cfg_xmalloc(size_t n)
{
	void *ptr = malloc(n ? n : 1);

	CS_ASSERT(ptr != NULL);
	return ptr;
}

char *cfg_xstrndup(const char *s, size_t n)
{
	char *d = cfg_xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Makes room for element n of an array of n elements whose capacity is the
 * smallest power of two >= n, so appending n items costs O(n) copies. */
void *cfg_array_grow(void *arr, size_t n, size_t elem_size)
{
	void *ptr;

	if (n > 0 && (n & (n - 1)) != 0)
		return arr;
	CS_ASSERT(n < ((size_t)1 << 30));
	ptr = realloc(arr, (n ? 2 * n : 1) * elem_size);
	CS_ASSERT(ptr != NULL);
	return ptr;
}

void cfg_money_init(cs_money *m)
{
	size_t i;

	m->present = 0;
	mpq_init(m->major);
	for (i = 0; i < CS_CURRENCIES_MAX; i++) {
		mpz_init(m->minor[i]);
		m->applies[i] = 0;
	}
}

static void money_clear(cs_money *m)
{
	size_t i;

	mpq_clear(m->major);
	for (i = 0; i < CS_CURRENCIES_MAX; i++)
		mpz_clear(m->minor[i]);
}

void cfg_rule_init(cs_rule *r)
{
	memset(r, 0, sizeof(*r));
	memset(r->currency_allowed, 1, sizeof(r->currency_allowed));
	r->producer_member = CS_TRI_ANY;
	r->consumer_member = CS_TRI_ANY;
	cfg_money_init(&r->min_amount);
	cfg_money_init(&r->max_amount);
	cfg_money_init(&r->fixed);
	cfg_money_init(&r->min);
	cfg_money_init(&r->max);
	mpq_inits(r->rate, r->share_producer, r->share_consumer, r->vat.rate, NULL);
	mpq_set_ui(r->share_producer, 1, 1); /* default: the producer bears it */
}

static void rule_clear(cs_rule *r)
{
	size_t i;

	free(r->id);
	for (i = 0; i < r->n_categories; i++)
		free(r->categories[i]);
	free(r->categories);
	for (i = 0; i < r->n_tiers; i++) {
		money_clear(&r->tiers[i].up_to);
		mpq_clear(r->tiers[i].rate);
	}
	free(r->tiers);
	money_clear(&r->min_amount);
	money_clear(&r->max_amount);
	money_clear(&r->fixed);
	money_clear(&r->min);
	money_clear(&r->max);
	mpq_clears(r->rate, r->share_producer, r->share_consumer, r->vat.rate, NULL);
	free(r->vat.account);
	for (i = 0; i < r->n_funds; i++) {
		free(r->funds[i].account);
		mpq_clear(r->funds[i].share);
	}
}

void cfg_step_init(cs_step *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	mpq_inits(s->share, s->rate, s->cap_share, s->cash_fraction, s->withholding, s->until_share,
		  NULL);
	for (i = 0; i < CS_CLASSES_MAX; i++)
		mpq_init(s->class_shares[i]);
	cfg_money_init(&s->min_patronage);
	cfg_money_init(&s->until_amount);
	mpq_set_ui(s->cash_fraction, 1, 1);
}

static void step_clear(cs_step *s)
{
	size_t i;

	free(s->id);
	free(s->account);
	mpq_clears(s->share, s->rate, s->cap_share, s->cash_fraction, s->withholding, s->until_share,
		   NULL);
	for (i = 0; i < CS_CLASSES_MAX; i++)
		mpq_clear(s->class_shares[i]);
	money_clear(&s->min_patronage);
	money_clear(&s->until_amount);
}

void cfg_relation_clear(cs_relation *r)
{
	free(r->schema);
	free(r->table);
	r->schema = NULL;
	r->table = NULL;
}

/* Splits name (len bytes) at its first dot; no dot: schema `public`.
 * Returns -1 when the schema or table part is empty. */
int cfg_relation_set(cs_relation *r, const char *name, size_t len)
{
	const char *dot = memchr(name, '.', len);

	if (dot == NULL) {
		cfg_relation_clear(r);
		r->schema = cfg_xstrndup("public", 6);
		r->table = cfg_xstrndup(name, len);
		return 0;
	}
	if (dot == name || dot == name + len - 1)
		return -1;
	cfg_relation_clear(r);
	r->schema = cfg_xstrndup(name, (size_t)(dot - name));
	r->table = cfg_xstrndup(dot + 1, len - (size_t)(dot - name) - 1);
	return 0;
}

cs_config *cfg_new(const char *name, const char *text, size_t len)
{
	cs_config *cfg = cfg_xmalloc(sizeof(*cfg));

	memset(cfg, 0, sizeof(*cfg));
	cfg_money_init(&cfg->costs_amount);
	cfg_money_init(&cfg->total_assets);
	mpq_init(cfg->vat_default.rate);
	cfg->path = cfg_xstrndup(name, strlen(name));
	cfg->text = cfg_xstrndup(text, len);
	cfg->text_len = len;
	cs_sha256_hex(text, len, cfg->sha256_hex);
	cfg->retained_is_capital = 1;
	return cfg;
}

void cs_config_free(cs_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->text);
	free(cfg->cooperative);
	free(cfg->schema);
	free(cfg->timezone);
	cfg_relation_clear(&cfg->source_transactions);
	cfg_relation_clear(&cfg->source_members);
	cfg_relation_clear(&cfg->source_costs);
	cfg_relation_clear(&cfg->source_capital);
	cfg_relation_clear(&cfg->source_member_details);
	free(cfg->stmt_resolution_body);
	cfg_relation_clear(&cfg->costs_relation);
	for (i = 0; i < CS_ACCOUNT_COUNT; i++)
		free(cfg->accounts[i]);
	for (i = 0; i < cfg->n_rules; i++)
		rule_clear(&cfg->rules[i]);
	free(cfg->rules);
	for (i = 0; i < cfg->n_steps; i++)
		step_clear(&cfg->steps[i]);
	free(cfg->steps);
	money_clear(&cfg->costs_amount);
	money_clear(&cfg->total_assets);
	for (i = 0; i < cfg->n_opening; i++) {
		free(cfg->opening[i].account);
		money_clear(&cfg->opening[i].amount);
	}
	free(cfg->opening);
	for (i = 0; i < cfg->n_loss_cover; i++)
		free(cfg->loss_cover[i]);
	free(cfg->loss_cover);
	free(cfg->balance_accounts); /* the names are owned elsewhere */
	free(cfg->fund_accounts);
	free(cfg->vat_accounts);
	mpq_clear(cfg->vat_default.rate);
	free(cfg->vat_default.account);
	free(cfg);
}

int cs_config_currency_index(const cs_config *cfg, const char *code, size_t len)
{
	size_t i;

	for (i = 0; i < cfg->n_currencies; i++)
		if (strlen(cfg->currencies[i].code) == len && memcmp(cfg->currencies[i].code, code, len) == 0)
			return (int)i;
	return -1;
}

int cs_config_has_step(const cs_config *cfg, cs_step_type type)
{
	size_t i;

	for (i = 0; i < cfg->n_steps; i++)
		if (cfg->steps[i].type == type)
			return 1;
	return 0;
}

const char *cs_class_name(cs_class c)
{
	return c == CS_CLASS_PRODUCER ? "producer" : "consumer";
}

