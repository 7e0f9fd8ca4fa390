/*
 * accounts_map.c -- loading an export's account map (see accounts_map.h)
 * with the config reader, so its errors read as a config's.
 */
#include "coopsettle/accounts_map.h"

#include <stdlib.h>
#include <string.h>

#include "coopsettle/error.h"
#include "coopsettle/limits.h"
#include "keys.h"
#include "parse.h"

static void map_pair(cfg_parse *p, void *obj, const cfg_event *key, const cfg_event *val)
{
	cs_accounts_map *m = obj;
	char buf[SHOW_BYTES];
	size_t i, len = cfg_scalar_len(key);
	char *to = NULL;

	if (cfg_check_name(p, key)) {
		cfg_skip_value(p, val);
		return;
	}
	for (i = 0; i < m->n; i++)
		if (strlen(m->from[i]) == len &&
		    memcmp(m->from[i], cfg_scalar_text(key), len) == 0) {
			cfg_error_at(p, &key->start_mark, "'%s' maps account '%s' twice", p->path,
				     cfg_show(buf, sizeof(buf), cfg_scalar_text(key), len));
			cfg_skip_value(p, val);
			return;
		}
	if (cfg_get_name(p, val, &to))
		return;
	m->from = cfg_array_grow(m->from, m->n, sizeof(char *));
	m->to = cfg_array_grow(m->to, m->n, sizeof(char *));
	m->from[m->n] = cfg_xstrndup(cfg_scalar_text(key), len);
	m->to[m->n++] = to;
}

static void h_accounts(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	(void)obj;
	(void)arg;
	if (cfg_want_map(p, v))
		cfg_parse_pairs(p, p->keys, map_pair); /* p->keys: the map being read */
}

/* datev.fiscal_year_start: MM-DD, a day every year has. */
static void h_fy_start(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	cs_accounts_map *m = obj;
	const char *t;
	unsigned mo, d;

	(void)arg;
	if (!cfg_want_scalar(p, v, "a month and day MM-DD"))
		return;
	t = cfg_scalar_text(v);
	if (cfg_scalar_len(v) != 5 || t[2] != '-' || sscanf(t, "%2u-%2u", &mo, &d) != 2 || mo < 1 ||
	    mo > 12 || d < 1 || d > days[mo - 1]) {
		cfg_error_at(p, &v->start_mark,
			     "'fiscal_year_start' must be a month and day MM-DD that every year "
			     "has (01-01, 07-01)");
		return;
	}
	m->fy_month = mo;
	m->fy_day = d;
}

static void h_datev_int(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	static const int64_t lo[] = {1001, 1, 4}, hi[] = {9999999, 99999, 8};
	cs_accounts_map *m = obj;
	int64_t n;

	if (cfg_get_int(p, v, lo[arg], hi[arg], &n) < 0)
		return;
	if (arg == 0)
		m->consultant = n;
	else if (arg == 1)
		m->client = n;
	else
		m->account_length = (unsigned)n;
}

static void h_chart(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	static const char *const charts[] = {"SKR03", "SKR04"};
	cs_accounts_map *m = obj;
	int k;

	(void)arg;
	if (cfg_get_enum(p, v, charts, 2, &k) == 0)
		memcpy(m->chart, k ? "04" : "03", 3);
}

static const key_spec datev_keys[] = {
	{"consultant", h_datev_int, 0, 1},
	{"client", h_datev_int, 1, 1},
	{"fiscal_year_start", h_fy_start, 0, 0},
	{"account_length", h_datev_int, 2, 0},
	{"chart", h_chart, 0, 0},
};

static void h_datev(cfg_parse *p, void *obj, int arg, const cfg_event *v)
{
	key_seen seen[sizeof(datev_keys) / sizeof(datev_keys[0])];
	cs_accounts_map *m = p->keys;

	(void)obj;
	(void)arg;
	if (!cfg_want_map(p, v))
		return;
	m->has_datev = 1;
	cfg_parse_map(p, v, datev_keys, sizeof(datev_keys) / sizeof(datev_keys[0]), m, seen);
}

static const key_spec map_keys[] = {
	{"accounts", h_accounts, 0, 1},
	{"datev", h_datev, 0, 0},
};

static void load_map(cfg_parse *p, void *ctx)
{
	p->keys = ctx;
	cfg_walk(p, 2, map_keys, sizeof(map_keys) / sizeof(map_keys[0]));
	p->keys = NULL;
}

int cs_accounts_map_load(cs_accounts_map **out, const char *path, cs_config_diag *diag)
{
	cs_accounts_map *m = calloc(1, sizeof(*m));
	char *buf = NULL;
	size_t n = 0;
	int rc;

	CS_ASSERT(m != NULL);
	m->fy_month = m->fy_day = 1;
	m->account_length = 4;
	*out = NULL;
	if (cfg_read_file(path, "account map", &buf, &n, diag) < 0) {
		free(m);
		return -1;
	}
	rc = cfg_load_yaml(path, buf, n, load_map, m, diag);
	free(buf);
	if (rc < 0) {
		cs_accounts_map_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

const char *cs_accounts_map_find(const cs_accounts_map *m, const char *account)
{
	size_t i;

	for (i = 0; m && i < m->n; i++)
		if (strcmp(m->from[i], account) == 0)
			return m->to[i];
	return NULL;
}

void cs_accounts_map_free(cs_accounts_map *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->n; i++) {
		free(m->from[i]);
		free(m->to[i]);
	}
	free(m->from);
	free(m->to);
	free(m);
}
