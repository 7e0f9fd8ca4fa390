/*
 * keys_statements.c -- the `statements` mapping of the config: how member
 * statements are written (docs/statements.md). These keys are presentation
 * only: no run reads them, so changing them changes no input or output hash
 * and never makes a committed run differ ("unchanged" stays unchanged).
 *
 *   statements:
 *     language: de          # de or en (default en)
 *     resolution: {body: "Generalversammlung", date: 2027-06-15}
 *     payout_date: 2027-07-01
 */
#include <stdlib.h>
#include <string.h>

#include "coopsettle/config.h"
#include "keys.h"
#include "parse.h"

static const char *const language_names[] = {"en", "de"};

static void h_language(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	int i;

	(void)obj;
	(void)arg;
	if (cfg_get_enum(p, v, language_names, 2, &i) == 0)
		p->cfg->stmt_language_de = i == 1;
}

static void h_resolution_body(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	(void)arg;
	cfg_get_name(p, v, &p->cfg->stmt_resolution_body);
}

static void h_resolution_date(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	(void)arg;
	cfg_get_date(p, v, &p->cfg->stmt_resolution_day);
}

static const key_spec resolution_keys[] = {
	{"body", h_resolution_body, 0, 1},
	{"date", h_resolution_date, 0, 1},
};

static void h_resolution(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[sizeof(resolution_keys) / sizeof(resolution_keys[0])];

	(void)arg;
	if (!cfg_want_map(p, v))
		return;
	cfg_parse_map(p, v, resolution_keys, sizeof(resolution_keys) / sizeof(resolution_keys[0]),
		      obj, seen);
	p->cfg->has_stmt_resolution = 1;
}

static void h_payout_date(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	(void)arg;
	if (cfg_get_date(p, v, &p->cfg->stmt_payout_day) == 0)
		p->cfg->has_stmt_payout = 1;
}

static const key_spec statements_keys[] = {
	{"language", h_language, 0, 0},
	{"resolution", h_resolution, 0, 0},
	{"payout_date", h_payout_date, 0, 0},
};

void cfg_h_statements(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[sizeof(statements_keys) / sizeof(statements_keys[0])];

	(void)arg;
	if (cfg_want_map(p, v))
		cfg_parse_map(p, v, statements_keys,
			      sizeof(statements_keys) / sizeof(statements_keys[0]), obj, seen);
}
