/*
 * config.c -- the strict YAML config loader (see config.h and docs/config.md).
 *
 * The only file that includes yaml.h. It walks libyaml's event stream and
 * never builds a document tree, so nesting depth is counted as the events
 * arrive and a hostile file costs no more than its (bounded) size. Every
 * mapping has a table of key handlers; the generic walker rejects unknown
 * and duplicate keys and reports missing required ones.
 *
 * The file is walked twice. Pass 1 is quiet and only stores `currencies`,
 * because money anywhere in the file must be exact in minor units of the
 * currencies it applies to, and `currencies` may come last. Pass 2 checks
 * and stores everything else and records every error with its position;
 * the errors are sorted into file order at the end.
 */
#include "coopsettle/config.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "coopsettle/error.h"

/* Errors held while walking; more than the CS_CONFIG_ERRORS_MAX reported so
 * that errors found late (missing keys, checks at the end of a mapping) can
 * still be sorted into file order before the list is cut. */
#define ERRORS_HELD_MAX (4 * CS_CONFIG_ERRORS_MAX)
/* Bytes of the key path in messages (`surplus.steps[3].classes`). */
#define PATH_BYTES 128
/* Bytes of a value quoted in a message; longer values end in "...". */
#define SHOW_BYTES 48

typedef struct cfg_parse cfg_parse;

/* Handles the value of one key. value is the value's first event (owned by
 * the caller); a handler consumes the rest of the value with next(). */
typedef void (*key_fn)(cfg_parse *p, void *obj, int arg, const yaml_event_t *value);

typedef struct key_spec {
	const char *name;
	key_fn fn;
	int arg;
	int required;
} key_spec;

/* What parse_map saw of each key of its table. */
typedef struct key_seen {
	int seen;
	yaml_mark_t key;
	yaml_mark_t value;
} key_seen;

/* Handles one item of a sequence, like key_fn. */
typedef void (*item_fn)(cfg_parse *p, void *obj, size_t index, const yaml_event_t *item);

struct cfg_parse {
	yaml_parser_t parser;
	cs_config *cfg;
	const char *text;
	size_t len;
	yaml_mark_t end; /* the end of the text, where a message may point last */
	int pass;  /* 1: quiet, stores `currencies` only; 2: everything */
	int fatal; /* stop walking: syntax error, too deep, too many errors */
	size_t depth;
	cs_config_error *errs; /* ERRORS_HELD_MAX */
	size_t n_errs;
	int truncated;
	char path[PATH_BYTES]; /* key path of the value being read */
	size_t path_len;
	/* surplus waterfall, checked step by step */
	mpq_t share_sum;
	int share_sum_reported;
	int remaining_seen;
	size_t remaining_line;
};

/* A money value of a rule, kept until the end of the rule, when the
 * currencies it applies to (`when.currency`) are known. */
typedef struct money_ref {
	yaml_mark_t mark;
	char text[SHOW_BYTES];
	char path[PATH_BYTES];
} money_ref;

enum { RM_FIXED, RM_MIN, RM_MAX, RM_MIN_AMOUNT, RM_MAX_AMOUNT, RM_COUNT };

typedef struct rule_ctx {
	cs_rule *rule;
	size_t index;
	money_ref money[RM_COUNT];
	money_ref up_to[CS_TIERS_MAX];
	int up_to_given[CS_TIERS_MAX];
	yaml_mark_t tier_start[CS_TIERS_MAX];
	int tiers_reported_max;
} rule_ctx;

typedef struct tier_ctx {
	rule_ctx *rc;
	size_t index;
} tier_ctx;

typedef struct step_ctx {
	cs_step *step;
	int type_ok;
	int share_ok;
} step_ctx;

typedef struct shares_ctx {
	mpq_t *share[CS_CLASSES_MAX]; /* borne_by: where each class's share goes */
	cs_step *step;                /* classes: appended in config order */
	int bad;
} shares_ctx;

static const char *const account_defaults[CS_ACCOUNT_COUNT] = {
	"assets:clearing",       "liabilities:payable:producers", "income:fees",
	"liabilities:capital-interest", "liabilities:patronage", "equity:member-capital",
	"equity:reserves:free",  "equity:surplus",
};

static const char *const step_type_names[] = {"account", "capital_interest", "patronage"};
static const char *const basis_names[] = {"fees", "volume"};
static const char *const on_invalid_names[] = {"abort", "quarantine"};

/* ---- memory ------------------------------------------------------------ */

static void *xmalloc(size_t n)
{
	void *ptr = malloc(n ? n : 1);

	CS_ASSERT(ptr != NULL);
	return ptr;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Makes room for element n of an array of n elements whose capacity is the
 * smallest power of two >= n, so appending n items costs O(n) copies. */
static void *array_grow(void *arr, size_t n, size_t elem_size)
{
	void *ptr;

	if (n > 0 && (n & (n - 1)) != 0)
		return arr;
	CS_ASSERT(n < ((size_t)1 << 30));
	ptr = realloc(arr, (n ? 2 * n : 1) * elem_size);
	CS_ASSERT(ptr != NULL);
	return ptr;
}

static void money_init(cs_money *m)
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

static void rule_init(cs_rule *r)
{
	memset(r, 0, sizeof(*r));
	memset(r->currency_allowed, 1, sizeof(r->currency_allowed));
	r->producer_member = CS_TRI_ANY;
	r->consumer_member = CS_TRI_ANY;
	money_init(&r->min_amount);
	money_init(&r->max_amount);
	money_init(&r->fixed);
	money_init(&r->min);
	money_init(&r->max);
	mpq_inits(r->rate, r->share_producer, r->share_consumer, NULL);
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
	mpq_clears(r->rate, r->share_producer, r->share_consumer, NULL);
}

static void step_init(cs_step *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	mpq_inits(s->share, s->rate, s->cap_share, s->cash_fraction, NULL);
	for (i = 0; i < CS_CLASSES_MAX; i++)
		mpq_init(s->class_shares[i]);
	money_init(&s->min_patronage);
	mpq_set_ui(s->cash_fraction, 1, 1);
}

static void step_clear(cs_step *s)
{
	size_t i;

	free(s->id);
	free(s->account);
	mpq_clears(s->share, s->rate, s->cap_share, s->cash_fraction, NULL);
	for (i = 0; i < CS_CLASSES_MAX; i++)
		mpq_clear(s->class_shares[i]);
	money_clear(&s->min_patronage);
}

static void relation_clear(cs_relation *r)
{
	free(r->schema);
	free(r->table);
	r->schema = NULL;
	r->table = NULL;
}

/* Splits name (len bytes) at its first dot; no dot: schema `public`.
 * Returns -1 when the schema or table part is empty. */
static int relation_set(cs_relation *r, const char *name, size_t len)
{
	const char *dot = memchr(name, '.', len);

	if (dot == NULL) {
		relation_clear(r);
		r->schema = xstrndup("public", 6);
		r->table = xstrndup(name, len);
		return 0;
	}
	if (dot == name || dot == name + len - 1)
		return -1;
	relation_clear(r);
	r->schema = xstrndup(name, (size_t)(dot - name));
	r->table = xstrndup(dot + 1, len - (size_t)(dot - name) - 1);
	return 0;
}

/* ---- errors and key paths ----------------------------------------------- */

static unsigned to_unsigned(size_t v)
{
	return v > UINT_MAX ? UINT_MAX : (unsigned)v;
}

static void error_at(cfg_parse *p, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records an error at mark m (NULL: no position). Quiet in pass 1. */
static void error_at(cfg_parse *p, const yaml_mark_t *m, const char *fmt, ...)
{
	cs_config_error *e;
	va_list ap;

	if (p->pass != 2)
		return;
	/* at the end of a text without a final line break libyaml counts a
	 * line the text does not have: point at the end of the last line */
	if (m && m->line > p->end.line)
		m = &p->end;
	if (p->n_errs == ERRORS_HELD_MAX) {
		p->truncated = 1;
		p->fatal = 1;
		return;
	}
	e = &p->errs[p->n_errs++];
	e->line = m ? to_unsigned(m->line + 1) : 0;
	e->col = m ? to_unsigned(m->column + 1) : 0;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* Copies s (len bytes) into buf for a message: control bytes become '?',
 * and a value longer than the buffer is cut at a character and ends "...". */
static const char *show(char *buf, size_t size, const char *s, size_t len)
{
	size_t n = len, i;

	CS_ASSERT(size > 4);
	if (n > size - 1) {
		n = size - 4;
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

static size_t path_push(cfg_parse *p, const char *key)
{
	size_t old = p->path_len;
	int n = snprintf(p->path + old, PATH_BYTES - old, old ? ".%s" : "%s", key);

	if (n > 0 && (size_t)n < PATH_BYTES - old)
		p->path_len = old + (size_t)n;
	else
		p->path[old] = '\0';
	return old;
}

static size_t path_push_index(cfg_parse *p, size_t index)
{
	size_t old = p->path_len;
	int n = snprintf(p->path + old, PATH_BYTES - old, "[%zu]", index);

	if (n > 0 && (size_t)n < PATH_BYTES - old)
		p->path_len = old + (size_t)n;
	else
		p->path[old] = '\0';
	return old;
}

static void path_pop(cfg_parse *p, size_t old)
{
	p->path_len = old;
	p->path[old] = '\0';
}

/* ---- events --------------------------------------------------------------- */

static const char *scalar_text(const yaml_event_t *ev)
{
	return (const char *)ev->data.scalar.value;
}

static size_t scalar_len(const yaml_event_t *ev)
{
	return ev->data.scalar.length;
}

static int text_is(const yaml_event_t *ev, const char *s)
{
	size_t n = strlen(s);

	return scalar_len(ev) == n && memcmp(scalar_text(ev), s, n) == 0;
}

/* A plain empty, `~` or `null` scalar: YAML's null. */
static int is_null(const yaml_event_t *ev)
{
	if (ev->type != YAML_SCALAR_EVENT)
		return 0;
	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return scalar_len(ev) == 0 || text_is(ev, "~") || text_is(ev, "null") ||
	       text_is(ev, "Null") || text_is(ev, "NULL");
}

static const char *event_kind(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return is_null(ev) ? "empty" : "a single value";
	case YAML_SEQUENCE_START_EVENT:
		return "a list";
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_ALIAS_EVENT:
		return "an alias";
	default:
		return "nothing";
	}
}

/* Bytes of the line break at text[i], or 0. Lines break where libyaml
 * breaks them, so that its line numbers and the lines printed under a
 * message agree: LF, CR LF, a lone CR, NEL (C2 85), LS and PS (E2 80 A8/A9). */
static size_t break_len(const char *text, size_t len, size_t i)
{
	const unsigned char *t = (const unsigned char *)text;

	if (t[i] == '\n')
		return 1;
	if (t[i] == '\r')
		return i + 1 < len && t[i + 1] == '\n' ? 2 : 1;
	if (t[i] == 0xC2 && i + 1 < len && t[i + 1] == 0x85)
		return 2;
	if (t[i] == 0xE2 && i + 2 < len && t[i + 1] == 0x80 && (t[i + 2] == 0xA8 || t[i + 2] == 0xA9))
		return 3;
	return 0;
}

/* Reader errors carry a byte offset, not a mark: count lines and
 * characters up to it. */
static yaml_mark_t mark_of_offset(const cfg_parse *p, size_t offset)
{
	yaml_mark_t m;
	size_t i = 0, n;

	memset(&m, 0, sizeof(m));
	m.index = offset;
	while (i < offset && i < p->len) {
		n = break_len(p->text, p->len, i);
		if (n > 0) {
			m.line++;
			m.column = 0;
			i += n;
			continue;
		}
		if (((unsigned char)p->text[i] & 0xC0) != 0x80)
			m.column++;
		i++;
	}
	return m;
}

static void syntax_error(cfg_parse *p)
{
	const yaml_parser_t *y = &p->parser;
	yaml_mark_t m = y->problem_mark;
	const char *problem = y->problem ? y->problem : "syntax error";

	CS_ASSERT(y->error != YAML_MEMORY_ERROR);
	/* what was found before is read from a text libyaml could not make
	 * sense of (a plain scalar swallowing the next line, say): report the
	 * syntax error alone */
	if (p->pass == 2)
		p->n_errs = 0;
	if (y->error == YAML_READER_ERROR) {
		m = mark_of_offset(p, y->problem_offset);
		error_at(p, &m, "invalid YAML: %s", problem);
	} else if (y->context) {
		error_at(p, &m, "invalid YAML: %s %s started at line %zu", problem, y->context,
			 (y->context_mark.line > p->end.line ? p->end.line : y->context_mark.line) + 1);
	} else {
		error_at(p, &m, "invalid YAML: %s", problem);
	}
	p->fatal = 1;
}

/* Writes tag for a message, with the standard prefix shortened to "!!". */
static const char *show_tag(char *buf, size_t size, const unsigned char *tag)
{
	static const char std[] = "tag:yaml.org,2002:";
	const char *t = (const char *)tag;
	char tmp[SHOW_BYTES];

	if (strncmp(t, std, sizeof(std) - 1) == 0) {
		show(tmp, sizeof(tmp), t + sizeof(std) - 1, strlen(t + sizeof(std) - 1));
		snprintf(buf, size, "!!%s", tmp);
		return buf;
	}
	return show(buf, size, t, strlen(t));
}

static void check_anchor_and_tag(cfg_parse *p, const yaml_event_t *ev)
{
	const unsigned char *anchor = NULL, *tag = NULL;
	char buf[SHOW_BYTES + 8];

	if (ev->type == YAML_SCALAR_EVENT) {
		anchor = ev->data.scalar.anchor;
		tag = ev->data.scalar.tag;
	} else if (ev->type == YAML_SEQUENCE_START_EVENT) {
		anchor = ev->data.sequence_start.anchor;
		tag = ev->data.sequence_start.tag;
	} else if (ev->type == YAML_MAPPING_START_EVENT) {
		anchor = ev->data.mapping_start.anchor;
		tag = ev->data.mapping_start.tag;
	}
	if (anchor)
		error_at(p, &ev->start_mark, "anchor '&%s' is not allowed: write every value out",
			 show(buf, sizeof(buf), (const char *)anchor, strlen((const char *)anchor)));
	if (tag)
		error_at(p, &ev->start_mark,
			 "tag '%s' is not allowed: values are read as text, write them untagged",
			 show_tag(buf, sizeof(buf), tag));
}

/* Fetches the next event into ev (the caller deletes it). Counts nesting
 * and rejects aliases, anchors and tags. Returns -1 (ev empty) once the walk
 * must stop. */
static int next(cfg_parse *p, yaml_event_t *ev)
{
	char buf[SHOW_BYTES];

	memset(ev, 0, sizeof(*ev));
	if (p->fatal)
		return -1;
	if (!yaml_parser_parse(&p->parser, ev)) {
		memset(ev, 0, sizeof(*ev));
		syntax_error(p);
		return -1;
	}
	switch (ev->type) {
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		if (++p->depth > CS_CONFIG_DEPTH_MAX) {
			error_at(p, &ev->start_mark, "nesting is deeper than %d levels",
				 CS_CONFIG_DEPTH_MAX);
			p->fatal = 1;
			yaml_event_delete(ev);
			return -1;
		}
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		p->depth--;
		break;
	case YAML_ALIAS_EVENT:
		error_at(p, &ev->start_mark, "alias '*%s' is not allowed: write the value out",
			 show(buf, sizeof(buf), (const char *)ev->data.alias.anchor,
			      strlen((const char *)ev->data.alias.anchor)));
		break;
	default:
		break;
	}
	check_anchor_and_tag(p, ev);
	return 0;
}

/* Consumes the rest of a value whose first event is start. */
static void skip_value(cfg_parse *p, const yaml_event_t *start)
{
	yaml_event_t ev;
	size_t level = 1;

	if (start->type != YAML_SEQUENCE_START_EVENT && start->type != YAML_MAPPING_START_EVENT)
		return;
	while (level > 0) {
		if (next(p, &ev))
			return;
		if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT)
			level++;
		else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT)
			level--;
		yaml_event_delete(&ev);
	}
}

/* ---- typed values --------------------------------------------------------- */

/* The value at the current path must be a non-null scalar; otherwise reports
 * (aliases were reported by next) and consumes it and returns 0. */
static int want_scalar(cfg_parse *p, const yaml_event_t *ev, const char *what)
{
	if (ev->type == YAML_SCALAR_EVENT && !is_null(ev))
		return 1;
	if (ev->type != YAML_ALIAS_EVENT)
		error_at(p, &ev->start_mark, "'%s' must be %s, not %s", p->path, what,
			 event_kind(ev));
	skip_value(p, ev);
	return 0;
}

static int want_kind(cfg_parse *p, const yaml_event_t *ev, yaml_event_type_t type,
		     const char *what)
{
	if (ev->type == type)
		return 1;
	if (ev->type != YAML_ALIAS_EVENT)
		error_at(p, &ev->start_mark, "'%s' must be %s, not %s", p->path, what,
			 event_kind(ev));
	skip_value(p, ev);
	return 0;
}

static int want_map(cfg_parse *p, const yaml_event_t *ev)
{
	return want_kind(p, ev, YAML_MAPPING_START_EVENT, "a mapping");
}

static int want_seq(cfg_parse *p, const yaml_event_t *ev)
{
	return want_kind(p, ev, YAML_SEQUENCE_START_EVENT, "a list");
}

/* A name (id, account, relation, category, cooperative): non-empty, at most
 * CS_NAME_BYTES_MAX bytes, no NUL; any other bytes are allowed. */
static int check_name(cfg_parse *p, const yaml_event_t *ev)
{
	if (!want_scalar(p, ev, "a name"))
		return -1;
	if (scalar_len(ev) == 0) {
		error_at(p, &ev->start_mark, "'%s' must not be empty", p->path);
		return -1;
	}
	if (scalar_len(ev) > CS_NAME_BYTES_MAX) {
		error_at(p, &ev->start_mark, "'%s' is %zu bytes long, more than the limit of %d",
			 p->path, scalar_len(ev), CS_NAME_BYTES_MAX);
		return -1;
	}
	if (memchr(scalar_text(ev), '\0', scalar_len(ev)) != NULL) {
		error_at(p, &ev->start_mark, "'%s' contains a NUL character", p->path);
		return -1;
	}
	return 0;
}

static int get_name(cfg_parse *p, const yaml_event_t *ev, char **out)
{
	if (check_name(p, ev))
		return -1;
	free(*out);
	*out = xstrndup(scalar_text(ev), scalar_len(ev));
	return 0;
}

static int get_relation(cfg_parse *p, const yaml_event_t *ev, cs_relation *out)
{
	char buf[SHOW_BYTES];

	if (check_name(p, ev))
		return -1;
	if (relation_set(out, scalar_text(ev), scalar_len(ev))) {
		error_at(p, &ev->start_mark,
			 "relation name '%s' of '%s' has an empty schema or table part",
			 show(buf, sizeof(buf), scalar_text(ev), scalar_len(ev)), p->path);
		return -1;
	}
	if (strlen(out->schema) > CS_PG_NAME_BYTES_MAX || strlen(out->table) > CS_PG_NAME_BYTES_MAX) {
		int schema_long = strlen(out->schema) > CS_PG_NAME_BYTES_MAX;
		const char *part = schema_long ? out->schema : out->table;

		error_at(p, &ev->start_mark,
			 "the %s part '%s' of '%s' is %zu bytes, more than PostgreSQL's %d "
			 "(it would cut the name and read another relation)",
			 schema_long ? "schema" : "table", show(buf, sizeof(buf), part, strlen(part)),
			 p->path, strlen(part), CS_PG_NAME_BYTES_MAX);
		relation_clear(out);
		return -1;
	}
	return 0;
}

static int get_rate(cfg_parse *p, const yaml_event_t *ev, mpq_t out)
{
	const char *why = NULL;
	char buf[SHOW_BYTES];

	if (!want_scalar(p, ev, "a rate"))
		return -1;
	if (cs_rate_parse(out, scalar_text(ev), scalar_len(ev), &why)) {
		error_at(p, &ev->start_mark, "invalid rate '%s' for '%s': %s",
			 show(buf, sizeof(buf), scalar_text(ev), scalar_len(ev)), p->path,
			 why ? why : "not a rate");
		return -1;
	}
	return 0;
}

/* Parses money into m->major (m->present on success); ref, when not NULL,
 * keeps the position for the exactness check at the end of the rule. */
static int get_money(cfg_parse *p, const yaml_event_t *ev, cs_money *m, int nonneg,
		     money_ref *ref)
{
	const char *why = NULL;
	char buf[SHOW_BYTES];

	if (ref) {
		ref->mark = ev->start_mark;
		ref->text[0] = '\0';
		memcpy(ref->path, p->path, sizeof(p->path));
	}
	if (!want_scalar(p, ev, "an amount of money"))
		return -1;
	show(buf, sizeof(buf), scalar_text(ev), scalar_len(ev));
	if (cs_money_parse(m->major, scalar_text(ev), scalar_len(ev), &why)) {
		error_at(p, &ev->start_mark, "invalid amount '%s' for '%s': %s", buf, p->path,
			 why ? why : "not an amount");
		return -1;
	}
	if (nonneg && mpq_sgn(m->major) < 0) {
		error_at(p, &ev->start_mark, "'%s' must not be negative, not '%s'", p->path, buf);
		return -1;
	}
	m->present = 1;
	if (ref)
		memcpy(ref->text, buf, sizeof(buf));
	return 0;
}

/* Converts m to minor units of every currency in applicable (indexes into
 * cfg->currencies), reporting the first currency it is not exact in. */
static void money_resolve(cfg_parse *p, cs_money *m, const money_ref *ref,
			  const unsigned char *applicable)
{
	const cs_config *cfg = p->cfg;
	size_t i;

	for (i = 0; i < cfg->n_currencies; i++) {
		if (!applicable[i])
			continue;
		if (cs_money_to_minor(m->minor[i], m->major, cfg->currencies[i].exponent) == 0) {
			m->applies[i] = 1;
			continue;
		}
		error_at(p, &ref->mark,
			 "'%s' is %s, not a whole number of minor units of %s (exponent %u)",
			 ref->path, ref->text, cfg->currencies[i].code, cfg->currencies[i].exponent);
		return;
	}
}

static int get_enum(cfg_parse *p, const yaml_event_t *ev, const char *const *names,
		    size_t n, int *out)
{
	char buf[SHOW_BYTES], list[128];
	size_t i, used = 0;

	if (!want_scalar(p, ev, "a name"))
		return -1;
	for (i = 0; i < n; i++) {
		if (text_is(ev, names[i])) {
			*out = (int)i;
			return 0;
		}
	}
	list[0] = '\0';
	for (i = 0; i < n && used < sizeof(list); i++) {
		int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", names[i]);

		if (w < 0)
			break;
		used += (size_t)w;
	}
	error_at(p, &ev->start_mark, "unknown value '%s' for '%s' (expected one of: %s)",
		 show(buf, sizeof(buf), scalar_text(ev), scalar_len(ev)), p->path, list);
	return -1;
}

static int get_bool(cfg_parse *p, const yaml_event_t *ev, int *out)
{
	char buf[SHOW_BYTES];

	if (!want_scalar(p, ev, "true or false"))
		return -1;
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && text_is(ev, "true")) {
		*out = 1;
		return 0;
	}
	if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && text_is(ev, "false")) {
		*out = 0;
		return 0;
	}
	error_at(p, &ev->start_mark, "'%s' must be true or false (unquoted), not '%s'", p->path,
		 show(buf, sizeof(buf), scalar_text(ev), scalar_len(ev)));
	return -1;
}

static int is_currency_code(const char *s, size_t len)
{
	size_t i;

	if (len != 3)
		return 0;
	for (i = 0; i < len; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return 0;
	return 1;
}

static int sum_is_one(mpq_srcptr const *shares, size_t n, mpq_t sum)
{
	size_t i;

	mpq_set_ui(sum, 0, 1);
	for (i = 0; i < n; i++)
		mpq_add(sum, sum, shares[i]);
	return mpq_cmp_ui(sum, 1, 1) == 0;
}

/* ---- generic mapping and sequence walkers ---------------------------------- */

static const char *where(const cfg_parse *p, char *buf, size_t size)
{
	if (p->path_len == 0)
		snprintf(buf, size, "at the top level");
	else
		snprintf(buf, size, "in '%s'", p->path);
	return buf;
}

/* Walks the mapping that start opened, calling the handler of each key of
 * specs. Unknown and duplicate keys are reported and their values skipped;
 * required keys that are missing are reported at the mapping's start.
 * seen (n_specs entries) receives where each key was found. */
static void parse_map(cfg_parse *p, const yaml_event_t *start, const key_spec *specs,
		      size_t n_specs, void *obj, key_seen *seen)
{
	yaml_event_t key, val;
	char buf[SHOW_BYTES], here[PATH_BYTES + 16], list[160];
	size_t i, old;

	memset(seen, 0, n_specs * sizeof(*seen));
	for (;;) {
		if (next(p, &key))
			return;
		if (key.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&key);
			break;
		}
		if (key.type != YAML_SCALAR_EVENT) {
			if (key.type != YAML_ALIAS_EVENT)
				error_at(p, &key.start_mark, "a key must be a name, not %s",
					 event_kind(&key));
			skip_value(p, &key);
			yaml_event_delete(&key);
			if (next(p, &val))
				return;
			skip_value(p, &val);
			yaml_event_delete(&val);
			continue;
		}
		if (next(p, &val)) {
			yaml_event_delete(&key);
			return;
		}
		for (i = 0; i < n_specs && !text_is(&key, specs[i].name); i++)
			;
		if (i == n_specs) {
			size_t used = 0, j;

			list[0] = '\0';
			for (j = 0; j < n_specs && used < sizeof(list); j++) {
				int w = snprintf(list + used, sizeof(list) - used, "%s%s",
						 j ? ", " : "", specs[j].name);
				if (w < 0)
					break;
				used += (size_t)w;
			}
			error_at(p, &key.start_mark, "unknown key '%s' %s (valid keys: %s)",
				 show(buf, sizeof(buf), scalar_text(&key), scalar_len(&key)),
				 where(p, here, sizeof(here)), list);
			skip_value(p, &val);
		} else if (seen[i].seen) {
			error_at(p, &key.start_mark, "duplicate key '%s' %s (first at line %zu)",
				 specs[i].name, where(p, here, sizeof(here)), seen[i].key.line + 1);
			skip_value(p, &val);
		} else {
			seen[i].seen = 1;
			seen[i].key = key.start_mark;
			seen[i].value = val.start_mark;
			old = path_push(p, specs[i].name);
			specs[i].fn(p, obj, specs[i].arg, &val);
			path_pop(p, old);
		}
		yaml_event_delete(&key);
		yaml_event_delete(&val);
	}
	for (i = 0; i < n_specs; i++)
		if (specs[i].required && !seen[i].seen)
			error_at(p, &start->start_mark, "missing required key '%s' %s",
				 specs[i].name, where(p, here, sizeof(here)));
}

/* Walks the sequence that its caller's start event opened, calling fn per
 * item; returns the number of items. */
static size_t parse_seq(cfg_parse *p, void *obj, item_fn fn)
{
	yaml_event_t ev;
	size_t n = 0, old;

	for (;;) {
		if (next(p, &ev))
			return n;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return n;
		}
		old = path_push_index(p, n);
		fn(p, obj, n, &ev);
		path_pop(p, old);
		yaml_event_delete(&ev);
		n++;
	}
}

/* Walks a mapping whose keys are currency codes (`currencies`,
 * `costs.amount`), calling fn with the key and value events. */
typedef void (*pair_fn)(cfg_parse *p, void *obj, const yaml_event_t *key, const yaml_event_t *val);

static void parse_pairs(cfg_parse *p, void *obj, pair_fn fn)
{
	yaml_event_t key, val;
	size_t old;
	char buf[SHOW_BYTES];

	for (;;) {
		if (next(p, &key))
			return;
		if (key.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&key);
			return;
		}
		if (key.type != YAML_SCALAR_EVENT) {
			if (key.type != YAML_ALIAS_EVENT)
				error_at(p, &key.start_mark, "a key must be a name, not %s",
					 event_kind(&key));
			skip_value(p, &key);
			yaml_event_delete(&key);
			if (next(p, &val))
				return;
			skip_value(p, &val);
			yaml_event_delete(&val);
			continue;
		}
		if (next(p, &val)) {
			yaml_event_delete(&key);
			return;
		}
		old = path_push(p, show(buf, sizeof(buf), scalar_text(&key), scalar_len(&key)));
		fn(p, obj, &key, &val);
		path_pop(p, old);
		yaml_event_delete(&key);
		yaml_event_delete(&val);
	}
}

/* ---- currencies ----------------------------------------------------------- */

typedef struct currencies_ctx {
	char codes[CS_CURRENCIES_MAX][4]; /* valid codes seen, for duplicates */
	yaml_mark_t marks[CS_CURRENCIES_MAX];
	size_t n;
	int reported_max;
} currencies_ctx;

static void currency_pair(cfg_parse *p, void *obj, const yaml_event_t *key, const yaml_event_t *val)
{
	currencies_ctx *cc = obj;
	cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	const char *s;
	size_t i, len;
	unsigned exponent = 0;

	if (!is_currency_code(scalar_text(key), scalar_len(key))) {
		error_at(p, &key->start_mark, "currency code '%s' must be 3 uppercase letters (ISO 4217)",
			 show(buf, sizeof(buf), scalar_text(key), scalar_len(key)));
		skip_value(p, val);
		return;
	}
	for (i = 0; i < cc->n; i++) {
		if (memcmp(cc->codes[i], scalar_text(key), 3) == 0) {
			error_at(p, &key->start_mark,
				 "duplicate key '%s' in 'currencies' (first at line %zu)",
				 cc->codes[i], cc->marks[i].line + 1);
			skip_value(p, val);
			return;
		}
	}
	if (cc->n == CS_CURRENCIES_MAX) {
		if (!cc->reported_max)
			error_at(p, &key->start_mark, "more than %d currencies", CS_CURRENCIES_MAX);
		cc->reported_max = 1;
		skip_value(p, val);
		return;
	}
	memcpy(cc->codes[cc->n], scalar_text(key), 3);
	cc->codes[cc->n][3] = '\0';
	cc->marks[cc->n] = key->start_mark;
	cc->n++;
	if (!want_scalar(p, val, "a minor-unit exponent"))
		return;
	s = scalar_text(val);
	len = scalar_len(val);
	for (i = 0; i < len && i < 3 && s[i] >= '0' && s[i] <= '9'; i++)
		exponent = exponent * 10 + (unsigned)(s[i] - '0');
	if (i != len || exponent > CS_EXPONENT_MAX) {
		error_at(p, &val->start_mark,
			 "exponent '%s' of '%s' must be a whole number from 0 to %d",
			 show(buf, sizeof(buf), s, len), p->path, CS_EXPONENT_MAX);
		return;
	}
	if (p->pass == 1) {
		cs_currency *c = &cfg->currencies[cfg->n_currencies++];

		memset(c, 0, sizeof(*c));
		memcpy(c->code, scalar_text(key), 3);
		c->exponent = exponent;
	}
}

static void h_currencies(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	currencies_ctx cc;

	(void)obj;
	(void)arg;
	if (!want_map(p, v))
		return;
	memset(&cc, 0, sizeof(cc));
	parse_pairs(p, &cc, currency_pair);
	if (cc.n == 0 && !cc.reported_max && !p->fatal)
		error_at(p, &v->start_mark, "'currencies' must list at least one currency");
}

static void sort_currencies(cs_config *cfg)
{
	size_t i, j;

	for (i = 1; i < cfg->n_currencies; i++) {
		cs_currency c = cfg->currencies[i];

		for (j = i; j > 0 && strcmp(cfg->currencies[j - 1].code, c.code) > 0; j--)
			cfg->currencies[j] = cfg->currencies[j - 1];
		cfg->currencies[j] = c;
	}
}

/* Index of the currency whose code is the scalar ev, or -1. */
static int currency_of(const cs_config *cfg, const yaml_event_t *ev)
{
	return cs_config_currency_index(cfg, scalar_text(ev), scalar_len(ev));
}

/* ---- top level ------------------------------------------------------------ */

static void h_version(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	char buf[SHOW_BYTES];

	(void)obj;
	(void)arg;
	if (!want_scalar(p, v, "1"))
		return;
	if (!text_is(v, "1")) {
		error_at(p, &v->start_mark, "unsupported 'version' '%s': this engine reads version 1",
			 show(buf, sizeof(buf), scalar_text(v), scalar_len(v)));
		return;
	}
	p->cfg->version = 1;
}

static void h_cooperative(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	(void)obj;
	(void)arg;
	get_name(p, v, &p->cfg->cooperative);
}

static void h_currency(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	int i;

	(void)obj;
	(void)arg;
	if (!want_scalar(p, v, "a currency code"))
		return;
	show(buf, sizeof(buf), scalar_text(v), scalar_len(v));
	if (!is_currency_code(scalar_text(v), scalar_len(v))) {
		error_at(p, &v->start_mark, "currency code '%s' must be 3 uppercase letters (ISO 4217)",
			 buf);
		return;
	}
	if (cfg->n_currencies == 0)
		return; /* `currencies` is missing or broken, and reported */
	i = currency_of(cfg, v);
	if (i < 0) {
		error_at(p, &v->start_mark, "base currency '%s' is not in 'currencies'", buf);
		return;
	}
	cfg->base_currency = (size_t)i;
}

/* A time zone name the system tz database knows: a regular file under
 * $TZDIR (default /usr/share/zoneinfo) that starts with "TZif". */
static int timezone_known(const char *name, size_t len)
{
	const char *dir = getenv("TZDIR");
	char path[PATH_BYTES + 4096];
	char magic[4];
	struct stat st;
	size_t i;
	FILE *f;
	int ok;

	if (len == 0 || len > CS_NAME_BYTES_MAX || name[0] == '/')
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '+' || c == '/' || c == '-'))
			return 0;
	}
	if (dir == NULL || dir[0] == '\0' || strlen(dir) > 4000)
		dir = "/usr/share/zoneinfo";
	snprintf(path, sizeof(path), "%s/%.*s", dir, (int)len, name);
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	f = fopen(path, "rb");
	if (f == NULL)
		return 0;
	ok = fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0;
	fclose(f);
	return ok;
}

static void h_timezone(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	char buf[SHOW_BYTES];

	(void)obj;
	(void)arg;
	if (!want_scalar(p, v, "a time zone name"))
		return;
	if (!timezone_known(scalar_text(v), scalar_len(v))) {
		error_at(p, &v->start_mark,
			 "unknown time zone '%s' (not in the system tz database)",
			 show(buf, sizeof(buf), scalar_text(v), scalar_len(v)));
		return;
	}
	free(p->cfg->timezone);
	p->cfg->timezone = xstrndup(scalar_text(v), scalar_len(v));
}

static void h_rounding(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	char name[32], buf[SHOW_BYTES];

	(void)obj;
	(void)arg;
	if (!want_scalar(p, v, "a rounding mode"))
		return;
	if (scalar_len(v) < sizeof(name) && memchr(scalar_text(v), '\0', scalar_len(v)) == NULL) {
		memcpy(name, scalar_text(v), scalar_len(v));
		name[scalar_len(v)] = '\0';
		if (cs_rounding_parse(name, &p->cfg->rounding) == 0)
			return;
	}
	error_at(p, &v->start_mark,
		 "unknown value '%s' for 'rounding' (expected one of: half_even, half_up, "
		 "half_down, down, up)",
		 show(buf, sizeof(buf), scalar_text(v), scalar_len(v)));
}

static void h_on_invalid(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	int i;

	(void)obj;
	(void)arg;
	if (get_enum(p, v, on_invalid_names, 2, &i) == 0)
		p->cfg->on_invalid = (cs_on_invalid)i;
}

static void h_source_relation(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	cs_config *cfg = p->cfg;
	cs_relation *r = arg == 0 ? &cfg->source_transactions
		       : arg == 1 ? &cfg->source_members
				  : &cfg->source_costs;

	(void)obj;
	get_relation(p, v, r);
}

static const key_spec source_keys[] = {
	{"transactions", h_source_relation, 0, 0},
	{"members", h_source_relation, 1, 0},
	{"costs", h_source_relation, 2, 0},
};

static void h_source(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	key_seen seen[3];

	(void)arg;
	if (want_map(p, v))
		parse_map(p, v, source_keys, 3, obj, seen);
}

static void h_account(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	(void)obj;
	get_name(p, v, &p->cfg->accounts[arg]);
}

static const key_spec account_specs[CS_ACCOUNT_COUNT] = {
	{"clearing", h_account, CS_ACCOUNT_CLEARING, 0},
	{"producer_payable", h_account, CS_ACCOUNT_PRODUCER_PAYABLE, 0},
	{"fee_income", h_account, CS_ACCOUNT_FEE_INCOME, 0},
	{"capital_interest", h_account, CS_ACCOUNT_CAPITAL_INTEREST, 0},
	{"patronage_cash", h_account, CS_ACCOUNT_PATRONAGE_CASH, 0},
	{"patronage_retained", h_account, CS_ACCOUNT_PATRONAGE_RETAINED, 0},
	{"retained_surplus", h_account, CS_ACCOUNT_RETAINED_SURPLUS, 0},
	{"surplus", h_account, CS_ACCOUNT_SURPLUS, 0},
};

static void h_accounts(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	key_seen seen[CS_ACCOUNT_COUNT];

	(void)arg;
	if (want_map(p, v))
		parse_map(p, v, account_specs, CS_ACCOUNT_COUNT, obj, seen);
}

/* ---- fee rules -------------------------------------------------------------- */

static cs_money *rule_money(cs_rule *r, int which)
{
	switch (which) {
	case RM_FIXED:
		return &r->fixed;
	case RM_MIN:
		return &r->min;
	case RM_MAX:
		return &r->max;
	case RM_MIN_AMOUNT:
		return &r->min_amount;
	default:
		CS_ASSERT(which == RM_MAX_AMOUNT);
		return &r->max_amount;
	}
}

static void h_rule_id(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	rule_ctx *rc = obj;
	const cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	size_t i;

	(void)arg;
	if (check_name(p, v))
		return;
	for (i = 0; i < rc->index; i++) {
		const char *id = cfg->rules[i].id;

		if (id && strlen(id) == scalar_len(v) && memcmp(id, scalar_text(v), scalar_len(v)) == 0) {
			error_at(p, &v->start_mark, "duplicate rule id '%s' (first at line %u)",
				 show(buf, sizeof(buf), id, strlen(id)), cfg->rules[i].line);
			return;
		}
	}
	rc->rule->id = xstrndup(scalar_text(v), scalar_len(v));
}

/* fixed (may be negative: a rebate), min, max, min_amount, max_amount. */
static void h_rule_money(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	rule_ctx *rc = obj;

	get_money(p, v, rule_money(rc->rule, arg), arg != RM_FIXED, &rc->money[arg]);
}

static void category_item(cfg_parse *p, void *obj, size_t index, const yaml_event_t *ev)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;
	char buf[SHOW_BYTES];
	size_t i;

	if (index >= CS_WHEN_LIST_MAX) {
		if (index == CS_WHEN_LIST_MAX)
			error_at(p, &ev->start_mark, "more than %d categories in one rule",
				 CS_WHEN_LIST_MAX);
		skip_value(p, ev);
		return;
	}
	if (check_name(p, ev))
		return;
	for (i = 0; i < r->n_categories; i++) {
		if (strlen(r->categories[i]) == scalar_len(ev) &&
		    memcmp(r->categories[i], scalar_text(ev), scalar_len(ev)) == 0) {
			error_at(p, &ev->start_mark, "category '%s' is listed twice",
				 show(buf, sizeof(buf), scalar_text(ev), scalar_len(ev)));
			return;
		}
	}
	r->categories = array_grow(r->categories, r->n_categories, sizeof(char *));
	r->categories[r->n_categories++] = xstrndup(scalar_text(ev), scalar_len(ev));
}

static void h_when_category(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	rule_ctx *rc = obj;

	(void)arg;
	if (!want_seq(p, v))
		return;
	rc->rule->has_categories = 1;
	if (parse_seq(p, obj, category_item) == 0 && !p->fatal)
		error_at(p, &v->start_mark, "'%s' must list at least one category", p->path);
}

static void when_currency_item(cfg_parse *p, void *obj, size_t index, const yaml_event_t *ev)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;
	const cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	int i;

	if (index >= CS_WHEN_LIST_MAX) {
		if (index == CS_WHEN_LIST_MAX)
			error_at(p, &ev->start_mark, "more than %d currencies in one rule",
				 CS_WHEN_LIST_MAX);
		skip_value(p, ev);
		return;
	}
	if (!want_scalar(p, ev, "a currency code"))
		return;
	if (cfg->n_currencies == 0)
		return;
	show(buf, sizeof(buf), scalar_text(ev), scalar_len(ev));
	i = currency_of(cfg, ev);
	if (i < 0)
		error_at(p, &ev->start_mark, "currency '%s' of '%s' is not in 'currencies'", buf,
			 p->path);
	else if (r->currency_allowed[i])
		error_at(p, &ev->start_mark, "currency '%s' is listed twice", buf);
	else
		r->currency_allowed[i] = 1;
}

static void h_when_currency(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	rule_ctx *rc = obj;

	(void)arg;
	if (!want_seq(p, v))
		return;
	memset(rc->rule->currency_allowed, 0, sizeof(rc->rule->currency_allowed));
	if (parse_seq(p, obj, when_currency_item) == 0 && !p->fatal)
		error_at(p, &v->start_mark, "'%s' must list at least one currency", p->path);
}

static void h_when_member(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;
	int b;

	if (get_bool(p, v, &b))
		return;
	if (arg == CS_CLASS_PRODUCER)
		r->producer_member = b ? CS_TRI_TRUE : CS_TRI_FALSE;
	else
		r->consumer_member = b ? CS_TRI_TRUE : CS_TRI_FALSE;
}

static const key_spec when_keys[] = {
	{"category", h_when_category, 0, 0},
	{"currency", h_when_currency, 0, 0},
	{"producer_member", h_when_member, CS_CLASS_PRODUCER, 0},
	{"consumer_member", h_when_member, CS_CLASS_CONSUMER, 0},
	{"min_amount", h_rule_money, RM_MIN_AMOUNT, 0},
	{"max_amount", h_rule_money, RM_MAX_AMOUNT, 0},
};

static void h_rule_when(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	key_seen seen[sizeof(when_keys) / sizeof(when_keys[0])];

	(void)arg;
	if (want_map(p, v))
		parse_map(p, v, when_keys, sizeof(when_keys) / sizeof(when_keys[0]), obj, seen);
}

static void h_rule_rate(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;

	(void)arg;
	if (get_rate(p, v, r->rate) == 0)
		r->has_rate = 1;
}

static void h_tier_up_to(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	tier_ctx *tc = obj;

	(void)arg;
	tc->rc->up_to_given[tc->index] = 1;
	get_money(p, v, &tc->rc->rule->tiers[tc->index].up_to, 0, &tc->rc->up_to[tc->index]);
}

static void h_tier_rate(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	tier_ctx *tc = obj;

	(void)arg;
	get_rate(p, v, tc->rc->rule->tiers[tc->index].rate);
}

static const key_spec tier_keys[] = {
	{"up_to", h_tier_up_to, 0, 0},
	{"rate", h_tier_rate, 0, 1},
};

static void tier_item(cfg_parse *p, void *obj, size_t index, const yaml_event_t *ev)
{
	rule_ctx *rc = obj;
	cs_rule *r = rc->rule;
	tier_ctx tc;
	key_seen seen[2];

	(void)index;
	if (!want_map(p, ev))
		return;
	if (r->n_tiers == CS_TIERS_MAX) {
		if (!rc->tiers_reported_max)
			error_at(p, &ev->start_mark, "more than %d tiers in one rule", CS_TIERS_MAX);
		rc->tiers_reported_max = 1;
		skip_value(p, ev);
		return;
	}
	r->tiers = array_grow(r->tiers, r->n_tiers, sizeof(cs_tier));
	money_init(&r->tiers[r->n_tiers].up_to);
	mpq_init(r->tiers[r->n_tiers].rate);
	tc.rc = rc;
	tc.index = r->n_tiers++;
	rc->up_to_given[tc.index] = 0;
	rc->tier_start[tc.index] = ev->start_mark;
	parse_map(p, ev, tier_keys, 2, &tc, seen);
}

/* The tiers' shape: every tier but the last has an up_to, the last has none,
 * and up_to strictly increases from above 0. */
static void check_tiers(cfg_parse *p, const rule_ctx *rc)
{
	const cs_rule *r = rc->rule;
	const mpq_t *prev = NULL;
	char buf[64];
	size_t i;

	for (i = 0; i < r->n_tiers; i++) {
		const cs_tier *t = &r->tiers[i];
		int last = i + 1 == r->n_tiers && !rc->tiers_reported_max;

		if (last && rc->up_to_given[i]) {
			error_at(p, &rc->up_to[i].mark,
				 "the last tier must not have 'up_to': it covers every amount "
				 "above the previous tier");
			continue;
		}
		if (!last && !rc->up_to_given[i]) {
			error_at(p, &rc->tier_start[i],
				 "tier %zu of '%s' needs 'up_to' (only the last tier has none)", i,
				 p->path);
			continue;
		}
		if (!t->up_to.present)
			continue;
		if (prev == NULL && mpq_sgn(t->up_to.major) <= 0) {
			error_at(p, &rc->up_to[i].mark, "'%s' must be above 0, not %s",
				 rc->up_to[i].path, rc->up_to[i].text);
		} else if (prev != NULL && mpq_cmp(t->up_to.major, *prev) <= 0) {
			cs_q_to_decimal(buf, sizeof(buf), *prev, 9);
			error_at(p, &rc->up_to[i].mark,
				 "'%s' is %s, not above the previous tier's 'up_to' %s: 'up_to' "
				 "must strictly increase",
				 rc->up_to[i].path, rc->up_to[i].text, buf);
		}
		prev = &t->up_to.major;
	}
}

static void h_rule_tiers(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	rule_ctx *rc = obj;

	(void)arg;
	if (!want_seq(p, v))
		return;
	if (parse_seq(p, obj, tier_item) == 0) {
		if (!p->fatal)
			error_at(p, &v->start_mark, "'%s' must list at least one tier", p->path);
		return;
	}
	if (!p->fatal)
		check_tiers(p, rc);
}

static void h_share_of(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	shares_ctx *sc = obj;

	if (get_rate(p, v, *sc->share[arg]))
		sc->bad = 1;
}

static const key_spec borne_by_keys[] = {
	{"producer", h_share_of, CS_CLASS_PRODUCER, 0},
	{"consumer", h_share_of, CS_CLASS_CONSUMER, 0},
};

/* Reports shares (n of them) that do not sum to exactly 1. */
static void check_shares_sum(cfg_parse *p, const yaml_event_t *v, mpq_srcptr const *shares,
			     size_t n)
{
	char buf[64];
	mpq_t sum;

	mpq_init(sum);
	if (!sum_is_one(shares, n, sum)) {
		cs_q_to_decimal(buf, sizeof(buf), sum, 9);
		error_at(p, &v->start_mark, "shares of '%s' sum to %s, not exactly 1", p->path, buf);
	}
	mpq_clear(sum);
}

static void h_rule_borne_by(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	cs_rule *r = ((rule_ctx *)obj)->rule;
	shares_ctx sc;
	key_seen seen[2];
	mpq_srcptr shares[2];

	(void)arg;
	if (!want_map(p, v))
		return;
	memset(&sc, 0, sizeof(sc));
	mpq_set_ui(r->share_producer, 0, 1);
	mpq_set_ui(r->share_consumer, 0, 1);
	sc.share[CS_CLASS_PRODUCER] = &r->share_producer;
	sc.share[CS_CLASS_CONSUMER] = &r->share_consumer;
	parse_map(p, v, borne_by_keys, 2, &sc, seen);
	if (sc.bad || p->fatal)
		return;
	shares[0] = r->share_producer;
	shares[1] = r->share_consumer;
	check_shares_sum(p, v, shares, 2);
}

enum { RK_ID, RK_WHEN, RK_RATE, RK_TIERS, RK_FIXED, RK_MIN, RK_MAX, RK_BORNE_BY, RK_COUNT };

static const key_spec rule_keys[RK_COUNT] = {
	{"id", h_rule_id, 0, 1},
	{"when", h_rule_when, 0, 0},
	{"rate", h_rule_rate, 0, 0},
	{"tiers", h_rule_tiers, 0, 0},
	{"fixed", h_rule_money, RM_FIXED, 0},
	{"min", h_rule_money, RM_MIN, 0},
	{"max", h_rule_money, RM_MAX, 0},
	{"borne_by", h_rule_borne_by, 0, 0},
};

static const yaml_mark_t *later(const yaml_mark_t *a, const yaml_mark_t *b)
{
	return a->index > b->index ? a : b;
}

/* Checks of a whole rule: rate xor tiers, money exact in the currencies the
 * rule applies to, min <= max. */
static void finish_rule(cfg_parse *p, rule_ctx *rc, const key_seen *seen, const yaml_event_t *start)
{
	cs_rule *r = rc->rule;
	size_t i;
	int m;

	if (seen[RK_RATE].seen && seen[RK_TIERS].seen)
		error_at(p, later(&seen[RK_RATE].key, &seen[RK_TIERS].key),
			 "'%s' has both 'rate' and 'tiers': a rule has exactly one of them", p->path);
	else if (!seen[RK_RATE].seen && !seen[RK_TIERS].seen)
		error_at(p, &start->start_mark, "'%s' needs 'rate' or 'tiers'", p->path);
	for (m = 0; m < RM_COUNT; m++) {
		cs_money *money = rule_money(r, m);

		if (money->present)
			money_resolve(p, money, &rc->money[m], r->currency_allowed);
	}
	for (i = 0; i < r->n_tiers; i++)
		if (r->tiers[i].up_to.present)
			money_resolve(p, &r->tiers[i].up_to, &rc->up_to[i], r->currency_allowed);
	if (r->min.present && r->max.present && mpq_cmp(r->min.major, r->max.major) > 0)
		error_at(p, &rc->money[RM_MAX].mark, "'%s' is %s, below 'min' %s", rc->money[RM_MAX].path,
			 rc->money[RM_MAX].text, rc->money[RM_MIN].text);
	if (r->min_amount.present && r->max_amount.present &&
	    mpq_cmp(r->min_amount.major, r->max_amount.major) > 0)
		error_at(p, &rc->money[RM_MAX_AMOUNT].mark, "'%s' is %s, below 'min_amount' %s",
			 rc->money[RM_MAX_AMOUNT].path, rc->money[RM_MAX_AMOUNT].text,
			 rc->money[RM_MIN_AMOUNT].text);
}

static void fee_item(cfg_parse *p, void *obj, size_t index, const yaml_event_t *ev)
{
	cs_config *cfg = p->cfg;
	rule_ctx *rc = obj;
	key_seen seen[RK_COUNT];

	if (!want_map(p, ev))
		return;
	if (cfg->n_rules == CS_RULES_MAX) {
		if (index == CS_RULES_MAX)
			error_at(p, &ev->start_mark, "more than %d fee rules", CS_RULES_MAX);
		skip_value(p, ev);
		return;
	}
	cfg->rules = array_grow(cfg->rules, cfg->n_rules, sizeof(cs_rule));
	rule_init(&cfg->rules[cfg->n_rules]);
	memset(rc, 0, sizeof(*rc));
	rc->index = cfg->n_rules++;
	rc->rule = &cfg->rules[rc->index];
	rc->rule->line = to_unsigned(ev->start_mark.line + 1);
	parse_map(p, ev, rule_keys, RK_COUNT, rc, seen);
	if (!p->fatal)
		finish_rule(p, rc, seen, ev);
}

static void h_fees(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	rule_ctx *rc;

	(void)obj;
	(void)arg;
	if (!want_seq(p, v))
		return;
	rc = xmalloc(sizeof(*rc)); /* large: tier positions */
	if (parse_seq(p, rc, fee_item) == 0 && !p->fatal)
		error_at(p, &v->start_mark, "'fees' must list at least one rule");
	free(rc);
}

/* ---- surplus ----------------------------------------------------------------- */

enum {
	SK_ID, SK_TYPE, SK_SHARE, SK_ACCOUNT, SK_RATE, SK_CAP_SHARE,
	SK_BASIS, SK_CLASSES, SK_MIN_PATRONAGE, SK_CASH_FRACTION, SK_COUNT
};

#define SK_BIT(k) (1u << (k))

/* Keys allowed and required per step type, besides id and type. */
static const struct {
	unsigned allowed;
	unsigned required;
} step_type_keys[3] = {
	[CS_STEP_ACCOUNT] = {SK_BIT(SK_SHARE) | SK_BIT(SK_ACCOUNT),
			     SK_BIT(SK_SHARE) | SK_BIT(SK_ACCOUNT)},
	[CS_STEP_CAPITAL_INTEREST] = {SK_BIT(SK_RATE) | SK_BIT(SK_CAP_SHARE), SK_BIT(SK_RATE)},
	[CS_STEP_PATRONAGE] = {SK_BIT(SK_SHARE) | SK_BIT(SK_BASIS) | SK_BIT(SK_CLASSES) |
				       SK_BIT(SK_MIN_PATRONAGE) | SK_BIT(SK_CASH_FRACTION),
			       SK_BIT(SK_SHARE) | SK_BIT(SK_CLASSES)},
};

static void h_step_id(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	step_ctx *sc = obj;
	const cs_config *cfg = p->cfg;
	char buf[SHOW_BYTES];
	size_t i;

	(void)arg;
	if (check_name(p, v))
		return;
	for (i = 0; cfg->steps + i != sc->step; i++) {
		const char *id = cfg->steps[i].id;

		if (id && strlen(id) == scalar_len(v) && memcmp(id, scalar_text(v), scalar_len(v)) == 0) {
			error_at(p, &v->start_mark, "duplicate step id '%s' (first at line %u)",
				 show(buf, sizeof(buf), id, strlen(id)), cfg->steps[i].line);
			return;
		}
	}
	sc->step->id = xstrndup(scalar_text(v), scalar_len(v));
}

static void h_step_type(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	step_ctx *sc = obj;
	int t;

	(void)arg;
	if (get_enum(p, v, step_type_names, 3, &t))
		return;
	sc->step->type = (cs_step_type)t;
	sc->type_ok = 1;
}

static void h_step_share(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	step_ctx *sc = obj;

	(void)arg;
	if (v->type == YAML_SCALAR_EVENT && text_is(v, "remaining")) {
		sc->step->share_kind = CS_SHARE_REMAINING;
		sc->share_ok = 1;
		return;
	}
	if (get_rate(p, v, sc->step->share) == 0) {
		sc->step->share_kind = CS_SHARE_FRACTION;
		sc->share_ok = 1;
	}
}

static void h_step_account(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	(void)arg;
	get_name(p, v, &((step_ctx *)obj)->step->account);
}

static void h_step_rate(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	cs_step *s = ((step_ctx *)obj)->step;

	get_rate(p, v, arg == SK_RATE ? s->rate : arg == SK_CAP_SHARE ? s->cap_share : s->cash_fraction);
	if (arg == SK_CAP_SHARE)
		s->has_cap_share = 1;
}

static void h_step_basis(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	int b;

	(void)arg;
	if (get_enum(p, v, basis_names, 2, &b) == 0)
		((step_ctx *)obj)->step->basis = (cs_basis)b;
}

static void h_class_share(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	shares_ctx *sc = obj;
	cs_step *s = sc->step;

	CS_ASSERT(s->n_classes < CS_CLASSES_MAX);
	s->classes[s->n_classes] = (cs_class)arg;
	if (get_rate(p, v, s->class_shares[s->n_classes]))
		sc->bad = 1;
	s->n_classes++;
}

static const key_spec class_keys[] = {
	{"producer", h_class_share, CS_CLASS_PRODUCER, 0},
	{"consumer", h_class_share, CS_CLASS_CONSUMER, 0},
};

static void h_step_classes(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	shares_ctx sc;
	key_seen seen[2];

	(void)arg;
	if (!want_map(p, v))
		return;
	memset(&sc, 0, sizeof(sc));
	sc.step = ((step_ctx *)obj)->step;
	parse_map(p, v, class_keys, 2, &sc, seen);
	if (!sc.bad && !p->fatal) {
		mpq_srcptr shares[CS_CLASSES_MAX];
		size_t i;

		for (i = 0; i < sc.step->n_classes; i++)
			shares[i] = sc.step->class_shares[i];
		check_shares_sum(p, v, shares, sc.step->n_classes);
	}
}

static void h_step_min_patronage(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	cs_step *s = ((step_ctx *)obj)->step;
	unsigned char all[CS_CURRENCIES_MAX];
	money_ref ref;

	(void)arg;
	if (get_money(p, v, &s->min_patronage, 1, &ref))
		return;
	memset(all, 1, sizeof(all));
	money_resolve(p, &s->min_patronage, &ref, all);
}

static const key_spec step_keys[SK_COUNT] = {
	[SK_ID] = {"id", h_step_id, 0, 1},
	[SK_TYPE] = {"type", h_step_type, 0, 1},
	[SK_SHARE] = {"share", h_step_share, 0, 0},
	[SK_ACCOUNT] = {"account", h_step_account, 0, 0},
	[SK_RATE] = {"rate", h_step_rate, SK_RATE, 0},
	[SK_CAP_SHARE] = {"cap_share", h_step_rate, SK_CAP_SHARE, 0},
	[SK_BASIS] = {"basis", h_step_basis, 0, 0},
	[SK_CLASSES] = {"classes", h_step_classes, 0, 0},
	[SK_MIN_PATRONAGE] = {"min_patronage", h_step_min_patronage, 0, 0},
	[SK_CASH_FRACTION] = {"cash_fraction", h_step_rate, SK_CASH_FRACTION, 0},
};

/* Checks of a whole step: keys of its type, and the waterfall's shares. */
static void finish_step(cfg_parse *p, const step_ctx *sc, const key_seen *seen,
			const yaml_event_t *start)
{
	cs_step *s = sc->step;
	const char *type = step_type_names[s->type];
	unsigned allowed, required;
	char buf[64];
	int k;

	if (!sc->type_ok)
		return;
	allowed = step_type_keys[s->type].allowed;
	required = step_type_keys[s->type].required;
	for (k = SK_SHARE; k < SK_COUNT; k++) {
		if (seen[k].seen && !(allowed & SK_BIT(k)))
			error_at(p, &seen[k].key, "'%s' is not allowed in a step of type '%s'",
				 step_keys[k].name, type);
		else if (!seen[k].seen && (required & SK_BIT(k)))
			error_at(p, &start->start_mark, "'%s' of type '%s' needs '%s'", p->path, type,
				 step_keys[k].name);
	}
	if (!(allowed & SK_BIT(SK_SHARE))) {
		s->share_kind = CS_SHARE_NONE;
		return;
	}
	if (!sc->share_ok)
		return;
	if (s->share_kind == CS_SHARE_REMAINING) {
		if (p->remaining_seen)
			error_at(p, &seen[SK_SHARE].value,
				 "'share: remaining' may appear only once (first at line %zu)",
				 p->remaining_line);
		p->remaining_seen = 1;
		p->remaining_line = seen[SK_SHARE].value.line + 1;
		return;
	}
	mpq_add(p->share_sum, p->share_sum, s->share);
	if (!p->share_sum_reported && mpq_cmp_ui(p->share_sum, 1, 1) > 0) {
		cs_q_to_decimal(buf, sizeof(buf), p->share_sum, 9);
		error_at(p, &seen[SK_SHARE].value,
			 "the shares of the surplus steps sum to %s here, more than 1", buf);
		p->share_sum_reported = 1;
	}
}

static void step_item(cfg_parse *p, void *obj, size_t index, const yaml_event_t *ev)
{
	cs_config *cfg = p->cfg;
	step_ctx sc;
	key_seen seen[SK_COUNT];

	(void)obj;
	if (!want_map(p, ev))
		return;
	if (cfg->n_steps == CS_STEPS_MAX) {
		if (index == CS_STEPS_MAX)
			error_at(p, &ev->start_mark, "more than %d surplus steps", CS_STEPS_MAX);
		skip_value(p, ev);
		return;
	}
	cfg->steps = array_grow(cfg->steps, cfg->n_steps, sizeof(cs_step));
	memset(&sc, 0, sizeof(sc));
	sc.step = &cfg->steps[cfg->n_steps++];
	step_init(sc.step);
	sc.step->line = to_unsigned(ev->start_mark.line + 1);
	parse_map(p, ev, step_keys, SK_COUNT, &sc, seen);
	if (!p->fatal)
		finish_step(p, &sc, seen, ev);
}

static void h_steps(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	(void)obj;
	(void)arg;
	if (!want_seq(p, v))
		return;
	if (parse_seq(p, NULL, step_item) == 0 && !p->fatal)
		error_at(p, &v->start_mark, "'%s' must list at least one step", p->path);
}

static void h_costs_relation(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	(void)obj;
	(void)arg;
	if (get_relation(p, v, &p->cfg->costs_relation) == 0)
		p->cfg->costs_from_relation = 1;
}

typedef struct amount_ctx {
	yaml_mark_t marks[CS_CURRENCIES_MAX];
	unsigned char given[CS_CURRENCIES_MAX];
} amount_ctx;

static void amount_pair(cfg_parse *p, void *obj, const yaml_event_t *key, const yaml_event_t *val)
{
	amount_ctx *ac = obj;
	cs_config *cfg = p->cfg;
	cs_money *m = &cfg->costs_amount;
	char buf[SHOW_BYTES];
	money_ref ref;
	int i;

	show(buf, sizeof(buf), scalar_text(key), scalar_len(key));
	i = currency_of(cfg, key);
	if (i < 0) {
		if (cfg->n_currencies > 0)
			error_at(p, &key->start_mark, "currency '%s' of 'surplus.costs.amount' is not in "
				 "'currencies'", buf);
		skip_value(p, val);
		return;
	}
	if (ac->given[i]) {
		error_at(p, &key->start_mark, "duplicate key '%s' in 'surplus.costs.amount' (first at "
			 "line %zu)", buf, ac->marks[i].line + 1);
		skip_value(p, val);
		return;
	}
	ac->given[i] = 1;
	ac->marks[i] = key->start_mark;
	if (get_money(p, val, m, 1, &ref))
		return;
	if (cs_money_to_minor(m->minor[i], m->major, cfg->currencies[i].exponent) != 0) {
		error_at(p, &ref.mark, "'%s' is %s, not a whole number of minor units of %s (exponent %u)",
			 ref.path, ref.text, cfg->currencies[i].code, cfg->currencies[i].exponent);
		return;
	}
	m->applies[i] = 1;
}

static void h_costs_amount(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	cs_config *cfg = p->cfg;
	amount_ctx ac;
	size_t i;

	(void)obj;
	(void)arg;
	if (!want_map(p, v))
		return;
	memset(&ac, 0, sizeof(ac));
	parse_pairs(p, &ac, amount_pair);
	cfg->costs_amount.present = 1;
	mpq_set_ui(cfg->costs_amount.major, 0, 1); /* per currency: see minor[] */
	if (p->fatal)
		return;
	for (i = 0; i < cfg->n_currencies; i++)
		if (!ac.given[i])
			error_at(p, &v->start_mark, "'%s' lacks an amount for currency %s", p->path,
				 cfg->currencies[i].code);
}

static const key_spec costs_keys[] = {
	{"relation", h_costs_relation, 0, 0},
	{"amount", h_costs_amount, 0, 0},
};

static void h_costs(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	key_seen seen[2];

	(void)arg;
	if (!want_map(p, v))
		return;
	parse_map(p, v, costs_keys, 2, obj, seen);
	if (p->fatal)
		return;
	if (seen[0].seen && seen[1].seen)
		error_at(p, later(&seen[0].key, &seen[1].key),
			 "'%s' takes 'relation' or 'amount', not both", p->path);
	else if (!seen[0].seen && !seen[1].seen)
		error_at(p, &v->start_mark, "'%s' needs 'relation' or 'amount'", p->path);
}

static const key_spec surplus_keys[] = {
	{"costs", h_costs, 0, 0},
	{"steps", h_steps, 0, 1},
};

static void h_surplus(cfg_parse *p, void *obj, int arg, const yaml_event_t *v)
{
	key_seen seen[2];

	(void)arg;
	if (!want_map(p, v))
		return;
	p->cfg->has_surplus = 1;
	parse_map(p, v, surplus_keys, 2, obj, seen);
}

/* ---- document --------------------------------------------------------------- */

static const key_spec top_keys[] = {
	{"version", h_version, 0, 1},
	{"cooperative", h_cooperative, 0, 1},
	{"currency", h_currency, 0, 1},
	{"currencies", h_currencies, 0, 1},
	{"timezone", h_timezone, 0, 0},
	{"rounding", h_rounding, 0, 0},
	{"on_invalid", h_on_invalid, 0, 0},
	{"source", h_source, 0, 0},
	{"accounts", h_accounts, 0, 0},
	{"fees", h_fees, 0, 1},
	{"surplus", h_surplus, 0, 0},
};

/* Pass 1 reads `currencies` only (quietly). */
static const key_spec top_keys_pass1[] = {
	{"currencies", h_currencies, 0, 0},
};

static void parse_document(cfg_parse *p, const key_spec *specs, size_t n_specs)
{
	yaml_event_t ev;
	key_seen seen[sizeof(top_keys) / sizeof(top_keys[0])];
	yaml_mark_t first = {0, 0, 0};

	CS_ASSERT(n_specs <= sizeof(seen) / sizeof(seen[0]));
	if (next(p, &ev))
		return;
	CS_ASSERT(ev.type == YAML_STREAM_START_EVENT);
	yaml_event_delete(&ev);
	if (next(p, &ev))
		return;
	if (ev.type == YAML_STREAM_END_EVENT) {
		error_at(p, &first, "the config is empty");
		yaml_event_delete(&ev);
		return;
	}
	yaml_event_delete(&ev); /* DOCUMENT-START */
	if (next(p, &ev))
		return;
	if (ev.type == YAML_MAPPING_START_EVENT) {
		parse_map(p, &ev, specs, n_specs, NULL, seen);
	} else {
		if (ev.type != YAML_ALIAS_EVENT)
			error_at(p, &ev.start_mark, "the config must be a mapping of keys, not %s",
				 event_kind(&ev));
		skip_value(p, &ev);
	}
	yaml_event_delete(&ev);
	if (next(p, &ev)) /* DOCUMENT-END */
		return;
	yaml_event_delete(&ev);
	if (next(p, &ev))
		return;
	if (ev.type == YAML_DOCUMENT_START_EVENT)
		error_at(p, &ev.start_mark, "a config file holds one YAML document, not several");
	yaml_event_delete(&ev);
}

static void run_pass(cfg_parse *p, int pass)
{
	static const key_spec *const specs[] = {top_keys_pass1, top_keys};
	static const size_t n_specs[] = {1, sizeof(top_keys) / sizeof(top_keys[0])};

	p->pass = pass;
	p->fatal = 0;
	p->depth = 0;
	p->path_len = 0;
	p->path[0] = '\0';
	CS_ASSERT(yaml_parser_initialize(&p->parser));
	yaml_parser_set_input_string(&p->parser, (const unsigned char *)p->text, p->len);
	parse_document(p, specs[pass - 1], n_specs[pass - 1]);
	yaml_parser_delete(&p->parser);
}

static int set_default_relation(cs_relation *r, const char *name)
{
	if (r->schema != NULL)
		return 0;
	return relation_set(r, name, strlen(name));
}

static void set_defaults(cs_config *cfg)
{
	size_t i;

	if (cfg->timezone == NULL)
		cfg->timezone = xstrndup("UTC", 3);
	CS_ASSERT(set_default_relation(&cfg->source_transactions, "coopsettle.transactions") == 0);
	CS_ASSERT(set_default_relation(&cfg->source_members, "coopsettle.members") == 0);
	CS_ASSERT(set_default_relation(&cfg->source_costs, "coopsettle.operating_costs") == 0);
	for (i = 0; i < CS_ACCOUNT_COUNT; i++)
		if (cfg->accounts[i] == NULL)
			cfg->accounts[i] = xstrndup(account_defaults[i], strlen(account_defaults[i]));
	if (!cfg->costs_amount.present && cfg->costs_relation.schema == NULL) {
		/* no surplus.costs: the costs come from source.costs */
		cfg->costs_from_relation = 1;
		cfg->costs_relation.schema = xstrndup(cfg->source_costs.schema,
						      strlen(cfg->source_costs.schema));
		cfg->costs_relation.table = xstrndup(cfg->source_costs.table,
						     strlen(cfg->source_costs.table));
	}
}

static void sha256_hex(const char *data, size_t len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0, i;

	CS_ASSERT(EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) == 1);
	CS_ASSERT(md_len == 32);
	for (i = 0; i < md_len; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
}

static void diag_clear(cs_config_diag *diag)
{
	diag->n_errors = 0;
	diag->truncated = 0;
}

static void diag_add(cs_config_diag *diag, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds an error without position. */
static void diag_add(cs_config_diag *diag, const char *fmt, ...)
{
	cs_config_error *e;
	va_list ap;

	if (diag->n_errors == CS_CONFIG_ERRORS_MAX) {
		diag->truncated = 1;
		return;
	}
	e = &diag->errors[diag->n_errors++];
	e->line = 0;
	e->col = 0;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* Moves the held errors, sorted by position (stable), into diag. */
static void errors_to_diag(cfg_parse *p, cs_config_diag *diag)
{
	size_t i, j, n = p->n_errs;

	for (i = 1; i < n; i++) {
		cs_config_error e = p->errs[i];

		for (j = i; j > 0 && (p->errs[j - 1].line > e.line ||
				      (p->errs[j - 1].line == e.line && p->errs[j - 1].col > e.col));
		     j--)
			p->errs[j] = p->errs[j - 1];
		p->errs[j] = e;
	}
	if (n > CS_CONFIG_ERRORS_MAX) {
		n = CS_CONFIG_ERRORS_MAX;
		diag->truncated = 1;
	}
	memcpy(diag->errors, p->errs, n * sizeof(*p->errs));
	diag->n_errors = n;
	if (p->truncated)
		diag->truncated = 1;
}

/* ---- public API ---------------------------------------------------------------- */

int cs_config_load_buffer(cs_config **out, const char *name, const char *text, size_t len,
			  cs_config_diag *diag)
{
	cs_config *cfg = NULL;
	cfg_parse *p = NULL;
	int rc = -1;

	*out = NULL;
	diag_clear(diag);
	if (len > CS_CONFIG_BYTES_MAX) {
		diag_add(diag, "the config is %zu bytes, more than the limit of %d bytes", len,
			 CS_CONFIG_BYTES_MAX);
		return -1;
	}
	cfg = xmalloc(sizeof(*cfg));
	memset(cfg, 0, sizeof(*cfg));
	money_init(&cfg->costs_amount);
	cfg->path = xstrndup(name, strlen(name));
	cfg->text = xstrndup(text, len);
	cfg->text_len = len;
	sha256_hex(text, len, cfg->sha256_hex);

	p = xmalloc(sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->errs = xmalloc(ERRORS_HELD_MAX * sizeof(*p->errs));
	p->cfg = cfg;
	p->text = cfg->text;
	p->len = len;
	p->end = mark_of_offset(p, len);
	mpq_init(p->share_sum);

	run_pass(p, 1);
	sort_currencies(cfg);
	run_pass(p, 2);
	if (p->n_errs == 0)
		set_defaults(cfg);

	if (p->n_errs > 0) {
		errors_to_diag(p, diag);
		cs_config_free(cfg);
		cfg = NULL;
	} else {
		CS_ASSERT(cfg->version == 1 && cfg->n_currencies > 0 && cfg->n_rules > 0);
		*out = cfg;
		rc = 0;
	}
	mpq_clear(p->share_sum);
	free(p->errs);
	free(p);
	return rc;
}

int cs_config_load_file(cs_config **out, const char *path, cs_config_diag *diag)
{
	struct stat st;
	char *buf = NULL;
	size_t n;
	FILE *f;
	int rc = -1;

	*out = NULL;
	diag_clear(diag);
	f = fopen(path, "rb");
	if (f == NULL) {
		diag_add(diag, "cannot open the config: %s", strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) != 0) {
		diag_add(diag, "cannot read the config: %s", strerror(errno));
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		diag_add(diag, "the config is a directory, not a file");
		goto cleanup;
	}
	if (S_ISREG(st.st_mode) && st.st_size > CS_CONFIG_BYTES_MAX) {
		diag_add(diag, "the config is %lld bytes, more than the limit of %d bytes",
			 (long long)st.st_size, CS_CONFIG_BYTES_MAX);
		goto cleanup;
	}
	/* read at most one byte past the limit: a pipe or a growing file is
	 * bounded too */
	buf = xmalloc((size_t)CS_CONFIG_BYTES_MAX + 1);
	n = fread(buf, 1, (size_t)CS_CONFIG_BYTES_MAX + 1, f);
	if (ferror(f)) {
		diag_add(diag, "cannot read the config: %s", strerror(errno));
		goto cleanup;
	}
	if (n > CS_CONFIG_BYTES_MAX) {
		diag_add(diag, "the config is more than the limit of %d bytes", CS_CONFIG_BYTES_MAX);
		goto cleanup;
	}
	rc = cs_config_load_buffer(out, path, buf, n, diag);
cleanup:
	free(buf);
	fclose(f);
	return rc;
}

void cs_config_free(cs_config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	free(cfg->text);
	free(cfg->cooperative);
	free(cfg->timezone);
	relation_clear(&cfg->source_transactions);
	relation_clear(&cfg->source_members);
	relation_clear(&cfg->source_costs);
	relation_clear(&cfg->costs_relation);
	for (i = 0; i < CS_ACCOUNT_COUNT; i++)
		free(cfg->accounts[i]);
	for (i = 0; i < cfg->n_rules; i++)
		rule_clear(&cfg->rules[i]);
	free(cfg->rules);
	for (i = 0; i < cfg->n_steps; i++)
		step_clear(&cfg->steps[i]);
	free(cfg->steps);
	money_clear(&cfg->costs_amount);
	free(cfg);
}

/* Finds 1-based line number line in text (lines broken as libyaml breaks
 * them, see break_len): *start and *len (without the line break). Returns 0
 * when the text has fewer lines. */
static int find_line(const char *text, size_t text_len, unsigned line, size_t *start, size_t *len)
{
	size_t i = 0, l = 1, e;

	while (l < line) {
		while (i < text_len && break_len(text, text_len, i) == 0)
			i++;
		if (i == text_len)
			return 0;
		i += break_len(text, text_len, i);
		l++;
	}
	for (e = i; e < text_len && break_len(text, text_len, e) == 0; e++)
		;
	*start = i;
	*len = e - i;
	return 1;
}

void cs_config_diag_print(FILE *f, const cs_config_diag *diag, const char *name,
			  const char *text, size_t text_len)
{
	size_t i, start, len, pos;
	unsigned c;

	if (name == NULL)
		name = "config";
	for (i = 0; i < diag->n_errors; i++) {
		const cs_config_error *e = &diag->errors[i];

		if (e->line == 0) {
			fprintf(f, "%s: %s\n", name, e->message);
			continue;
		}
		fprintf(f, "%s:%u:%u: %s\n", name, e->line, e->col, e->message);
		if (text == NULL || !find_line(text, text_len, e->line, &start, &len))
			continue;
		fwrite(text + start, 1, len, f);
		fputc('\n', f);
		/* the column counts characters: one space (or the tab) per
		 * character before it, so the caret lines up */
		for (c = 1, pos = start; c < e->col; c++) {
			if (pos < start + len && text[pos] == '\t')
				fputc('\t', f);
			else
				fputc(' ', f);
			if (pos < start + len)
				pos++;
			while (pos < start + len && ((unsigned char)text[pos] & 0xC0) == 0x80)
				pos++;
		}
		fputs("^\n", f);
	}
	if (diag->truncated)
		fprintf(f, "%s: more errors were omitted (only the first %d are shown)\n", name,
			CS_CONFIG_ERRORS_MAX);
}

int cs_config_currency_index(const cs_config *cfg, const char *code, size_t len)
{
	size_t i;

	for (i = 0; i < cfg->n_currencies; i++)
		if (strlen(cfg->currencies[i].code) == len && memcmp(cfg->currencies[i].code, code, len) == 0)
			return (int)i;
	return -1;
}

const char *cs_class_name(cs_class c)
{
	return c == CS_CLASS_PRODUCER ? "producer" : "consumer";
}
