/*
 * fuzz_config.c -- fuzz target for the YAML config loader
 * (cs_config_load_buffer) and the error printer (cs_config_diag_print).
 *
 * Any byte string must give either a config or a non-empty list of errors
 * whose positions lie in the text; never a crash, a leak, a hang or
 * undefined behaviour. Seeds: tests/fuzz/seeds/config, the configs in config/,
 * tests/config/good/ and tests/config/bad/ (hostile shapes); regressions:
 * tests/fuzz/regressions/config. See docs/fuzzing.md.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coopsettle/config.h"
#include "coopsettle/config_load.h"
#include "coopsettle/error.h"
#include "fuzz.h"

/* An upper bound on the lines libyaml counts in text: it also breaks lines
 * at a lone CR, at NEL (C2 85) and at LS/PS (E2 80 A8/A9). */
static size_t lines_max(const char *text, size_t len)
{
	size_t n = 1, i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		if (c == '\n' || c == '\r' || c == 0x85 || c == 0xe2)
			n++;
	}
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;
	const char *text = (const char *)data;
	cs_config_diag diag;
	cs_config *cfg = NULL;
	size_t i, lines;
	int rc;

	if (devnull == NULL) {
		devnull = fopen("/dev/null", "w");
		CS_ASSERT(devnull != NULL);
	}
	rc = cs_config_load_buffer(&cfg, "fuzz.yaml", text, size, &diag);
	if (rc == 0) {
		/* a loaded config is complete (spec section 9) */
		CS_ASSERT(cfg != NULL);
		CS_ASSERT(cfg->version == 1 || cfg->version == 2);
		CS_ASSERT(cfg->n_currencies > 0 && cfg->n_currencies <= CS_CURRENCIES_MAX);
		CS_ASSERT(cfg->base_currency < cfg->n_currencies);
		CS_ASSERT(cfg->n_rules > 0 && cfg->n_rules <= CS_RULES_MAX);
		CS_ASSERT(cfg->text_len == size && memcmp(cfg->text, text, size) == 0);
		CS_ASSERT(cfg->timezone != NULL && cfg->source_transactions.table != NULL);
		for (i = 0; i < cfg->n_rules; i++)
			CS_ASSERT(cfg->rules[i].id != NULL);
		for (i = 0; i < cfg->n_currencies; i++)
			CS_ASSERT(cs_config_currency_index(cfg, cfg->currencies[i].code,
							   strlen(cfg->currencies[i].code)) == (int)i);
		cs_config_free(cfg);
		return 0;
	}
	/* a refused config says why, at a place inside the text */
	CS_ASSERT(cfg == NULL);
	CS_ASSERT(diag.n_errors > 0 && diag.n_errors <= CS_CONFIG_ERRORS_MAX);
	lines = lines_max(text, size);
	for (i = 0; i < diag.n_errors; i++) {
		const cs_config_error *e = &diag.errors[i];

		CS_ASSERT(memchr(e->message, '\0', sizeof(e->message)) != NULL);
		CS_ASSERT(e->message[0] != '\0');
		CS_ASSERT(e->line <= lines);
		CS_ASSERT((e->line == 0) == (e->col == 0));
		if (i > 0 && e->line > 0 && diag.errors[i - 1].line > 0)
			CS_ASSERT(diag.errors[i - 1].line <= e->line); /* file order */
	}
	cs_config_diag_print(devnull, &diag, "fuzz.yaml", text, size);
	return 0;
}
