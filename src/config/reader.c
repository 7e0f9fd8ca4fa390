/*
 * reader.c -- the YAML event reader of the config loader (see config_load.h
 * and docs/config.md), and the only file that includes yaml.h.
 *
 * It walks libyaml's event stream and never builds a document tree, so
 * nesting depth is counted as the events arrive and a hostile file costs no
 * more than its (bounded) size. The handlers (keys.c) see events as
 * cfg_event, without libyaml's types; the generic walkers here reject
 * unknown and duplicate keys, aliases, anchors and tags, and report missing
 * required keys. Every error is held with its position and sorted into file
 * order at the end; cs_config_diag_print prints each with its line and a
 * caret.
 */
#include "coopsettle/config_load.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "coopsettle/error.h"
#include "coopsettle/limits.h"
#include "coopsettle/num.h"
#include "coopsettle/util.h"
#include "parse.h"

/* Errors held while walking; more than the CS_CONFIG_ERRORS_MAX reported so
 * that errors found late (missing keys, checks at the end of a mapping) can
 * still be sorted into file order before the list is cut. */
#define ERRORS_HELD_MAX (4 * CS_CONFIG_ERRORS_MAX)
/* Keys of the top-level mapping, the largest table. */
#define CFG_TOP_KEYS_MAX 32

/* ---- errors and key paths ----------------------------------------------- */

unsigned cfg_to_unsigned(size_t v)
{
	return v > UINT_MAX ? UINT_MAX : (unsigned)v;
}

void cfg_error_at(cfg_parse *p, const cfg_mark *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Records an error at mark m (NULL: no position). Quiet in pass 1. */
void cfg_error_at(cfg_parse *p, const cfg_mark *m, const char *fmt, ...)
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
	e->line = m ? cfg_to_unsigned(m->line + 1) : 0;
	e->col = m ? cfg_to_unsigned(m->column + 1) : 0;
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* Copies s (len bytes) into buf for a message: control bytes become '?',
 * and a value longer than the buffer is cut at a character and ends "...". */
const char *cfg_show(char *buf, size_t size, const char *s, size_t len)
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

static cfg_mark mark_of(const yaml_mark_t *m)
{
	cfg_mark c;

	c.index = m->index;
	c.line = m->line;
	c.column = m->column;
	return c;
}

/* Fills ev from libyaml's event y, which ev then owns. */
static void event_from_yaml(cfg_event *ev, yaml_event_t *y)
{
	static const struct {
		yaml_event_type_t from;
		cfg_event_type to;
	} types[] = {
		{YAML_STREAM_START_EVENT, CFG_EV_STREAM_START},
		{YAML_STREAM_END_EVENT, CFG_EV_STREAM_END},
		{YAML_DOCUMENT_START_EVENT, CFG_EV_DOC_START},
		{YAML_DOCUMENT_END_EVENT, CFG_EV_DOC_END},
		{YAML_SCALAR_EVENT, CFG_EV_SCALAR},
		{YAML_SEQUENCE_START_EVENT, CFG_EV_SEQ_START},
		{YAML_SEQUENCE_END_EVENT, CFG_EV_SEQ_END},
		{YAML_MAPPING_START_EVENT, CFG_EV_MAP_START},
		{YAML_MAPPING_END_EVENT, CFG_EV_MAP_END},
		{YAML_ALIAS_EVENT, CFG_EV_ALIAS},
	};
	size_t i;

	memset(ev, 0, sizeof(*ev));
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].from == y->type)
			ev->type = types[i].to;
	ev->start_mark = mark_of(&y->start_mark);
	if (y->type == YAML_SCALAR_EVENT) {
		ev->text = (const char *)y->data.scalar.value;
		ev->len = y->data.scalar.length;
		ev->plain = y->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	}
	ev->impl = y;
}

void cfg_event_delete(cfg_event *ev)
{
	if (ev->impl) {
		yaml_event_delete(ev->impl);
		free(ev->impl);
	}
	memset(ev, 0, sizeof(*ev));
}

const char *cfg_scalar_text(const cfg_event *ev)
{
	return ev->text;
}

size_t cfg_scalar_len(const cfg_event *ev)
{
	return ev->len;
}

int cfg_text_is(const cfg_event *ev, const char *s)
{
	size_t n = strlen(s);

	return cfg_scalar_len(ev) == n && memcmp(cfg_scalar_text(ev), s, n) == 0;
}

/* A plain empty, `~` or `null` scalar: YAML's null. */
static int is_null(const cfg_event *ev)
{
	if (ev->type != CFG_EV_SCALAR)
		return 0;
	if (!ev->plain)
		return 0;
	return cfg_scalar_len(ev) == 0 || cfg_text_is(ev, "~") || cfg_text_is(ev, "null") ||
	       cfg_text_is(ev, "Null") || cfg_text_is(ev, "NULL");
}

static const char *event_kind(const cfg_event *ev)
{
	switch (ev->type) {
	case CFG_EV_SCALAR:
		return is_null(ev) ? "empty" : "a single value";
	case CFG_EV_SEQ_START:
		return "a list";
	case CFG_EV_MAP_START:
		return "a mapping";
	case CFG_EV_ALIAS:
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
static cfg_mark mark_of_offset(const cfg_parse *p, size_t offset)
{
	cfg_mark m;
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
	const yaml_parser_t *y = p->yaml;
	cfg_mark m = mark_of(&y->problem_mark);
	size_t context_line = y->context_mark.line;
	const char *problem = y->problem ? y->problem : "syntax error";

	CS_ASSERT(y->error != YAML_MEMORY_ERROR);
	/* what was found before is read from a text libyaml could not make
	 * sense of (a plain scalar swallowing the next line, say): report the
	 * syntax error alone */
	if (p->pass == 2)
		p->n_errs = 0;
	if (y->error == YAML_READER_ERROR) {
		m = mark_of_offset(p, y->problem_offset);
		cfg_error_at(p, &m, "invalid YAML: %s", problem);
	} else if (y->context) {
		cfg_error_at(p, &m, "invalid YAML: %s %s started at line %zu", problem, y->context,
			 (context_line > p->end.line ? p->end.line : context_line) + 1);
	} else {
		cfg_error_at(p, &m, "invalid YAML: %s", problem);
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
		cfg_show(tmp, sizeof(tmp), t + sizeof(std) - 1, strlen(t + sizeof(std) - 1));
		snprintf(buf, size, "!!%s", tmp);
		return buf;
	}
	return cfg_show(buf, size, t, strlen(t));
}

static void check_anchor_and_tag(cfg_parse *p, const yaml_event_t *y, const cfg_event *ev)
{
	const unsigned char *anchor = NULL, *tag = NULL;
	char buf[SHOW_BYTES + 8];

	if (y->type == YAML_SCALAR_EVENT) {
		anchor = y->data.scalar.anchor;
		tag = y->data.scalar.tag;
	} else if (y->type == YAML_SEQUENCE_START_EVENT) {
		anchor = y->data.sequence_start.anchor;
		tag = y->data.sequence_start.tag;
	} else if (y->type == YAML_MAPPING_START_EVENT) {
		anchor = y->data.mapping_start.anchor;
		tag = y->data.mapping_start.tag;
	}
	if (anchor)
		cfg_error_at(p, &ev->start_mark, "anchor '&%s' is not allowed: write every value out",
			 cfg_show(buf, sizeof(buf), (const char *)anchor, strlen((const char *)anchor)));
	if (tag)
		cfg_error_at(p, &ev->start_mark,
			 "tag '%s' is not allowed: values are read as text, write them untagged",
			 show_tag(buf, sizeof(buf), tag));
}

/* Fetches the next event into ev (the caller deletes it). Counts nesting
 * and rejects aliases, anchors and tags. Returns -1 (ev empty) once the walk
 * must stop. */
static int next(cfg_parse *p, cfg_event *ev)
{
	char buf[SHOW_BYTES];
	yaml_event_t *y;

	memset(ev, 0, sizeof(*ev));
	if (p->fatal)
		return -1;
	y = cfg_xmalloc(sizeof(*y));
	if (!yaml_parser_parse(p->yaml, y)) {
		free(y);
		syntax_error(p);
		return -1;
	}
	event_from_yaml(ev, y);
	switch (ev->type) {
	case CFG_EV_SEQ_START:
	case CFG_EV_MAP_START:
		if (++p->depth > CS_CONFIG_DEPTH_MAX) {
			cfg_error_at(p, &ev->start_mark, "nesting is deeper than %d levels",
				 CS_CONFIG_DEPTH_MAX);
			p->fatal = 1;
			cfg_event_delete(ev);
			return -1;
		}
		break;
	case CFG_EV_SEQ_END:
	case CFG_EV_MAP_END:
		p->depth--;
		break;
	case CFG_EV_ALIAS:
		cfg_error_at(p, &ev->start_mark, "alias '*%s' is not allowed: write the value out",
			 cfg_show(buf, sizeof(buf), (const char *)y->data.alias.anchor,
				  strlen((const char *)y->data.alias.anchor)));
		break;
	default:
		break;
	}
	check_anchor_and_tag(p, y, ev);
	return 0;
}

/* Consumes the rest of a value whose first event is start. */
void cfg_skip_value(cfg_parse *p, const cfg_event *start)
{
	cfg_event ev;
	size_t level = 1;

	if (start->type != CFG_EV_SEQ_START && start->type != CFG_EV_MAP_START)
		return;
	while (level > 0) {
		if (next(p, &ev))
			return;
		if (ev.type == CFG_EV_SEQ_START || ev.type == CFG_EV_MAP_START)
			level++;
		else if (ev.type == CFG_EV_SEQ_END || ev.type == CFG_EV_MAP_END)
			level--;
		cfg_event_delete(&ev);
	}
}

/* ---- typed values --------------------------------------------------------- */

/* The value at the current path must be a non-null scalar; otherwise reports
 * (aliases were reported by next) and consumes it and returns 0. */
int cfg_want_scalar(cfg_parse *p, const cfg_event *ev, const char *what)
{
	if (ev->type == CFG_EV_SCALAR && !is_null(ev))
		return 1;
	if (ev->type != CFG_EV_ALIAS)
		cfg_error_at(p, &ev->start_mark, "'%s' must be %s, not %s", p->path, what,
			 event_kind(ev));
	cfg_skip_value(p, ev);
	return 0;
}

static int want_kind(cfg_parse *p, const cfg_event *ev, cfg_event_type type,
		     const char *what)
{
	if (ev->type == type)
		return 1;
	if (ev->type != CFG_EV_ALIAS)
		cfg_error_at(p, &ev->start_mark, "'%s' must be %s, not %s", p->path, what,
			 event_kind(ev));
	cfg_skip_value(p, ev);
	return 0;
}

int cfg_want_map(cfg_parse *p, const cfg_event *ev)
{
	return want_kind(p, ev, CFG_EV_MAP_START, "a mapping");
}

int cfg_want_seq(cfg_parse *p, const cfg_event *ev)
{
	return want_kind(p, ev, CFG_EV_SEQ_START, "a list");
}

/* A name (id, account, relation, category, cooperative): non-empty, at most
 * CS_NAME_BYTES_MAX bytes, no NUL; any other bytes are allowed. */
int cfg_check_name(cfg_parse *p, const cfg_event *ev)
{
	if (!cfg_want_scalar(p, ev, "a name"))
		return -1;
	if (cfg_scalar_len(ev) == 0) {
		cfg_error_at(p, &ev->start_mark, "'%s' must not be empty", p->path);
		return -1;
	}
	if (cfg_scalar_len(ev) > CS_NAME_BYTES_MAX) {
		cfg_error_at(p, &ev->start_mark, "'%s' is %zu bytes long, more than the limit of %d",
			 p->path, cfg_scalar_len(ev), CS_NAME_BYTES_MAX);
		return -1;
	}
	if (memchr(cfg_scalar_text(ev), '\0', cfg_scalar_len(ev)) != NULL) {
		cfg_error_at(p, &ev->start_mark, "'%s' contains a NUL character", p->path);
		return -1;
	}
	return 0;
}

int cfg_get_name(cfg_parse *p, const cfg_event *ev, char **out)
{
	if (cfg_check_name(p, ev))
		return -1;
	free(*out);
	*out = cfg_xstrndup(cfg_scalar_text(ev), cfg_scalar_len(ev));
	return 0;
}

int cfg_get_relation(cfg_parse *p, const cfg_event *ev, cs_relation *out)
{
	char buf[SHOW_BYTES];

	if (cfg_check_name(p, ev))
		return -1;
	if (cfg_relation_set(out, cfg_scalar_text(ev), cfg_scalar_len(ev))) {
		cfg_error_at(p, &ev->start_mark,
			 "relation name '%s' of '%s' has an empty schema or table part",
			 cfg_show(buf, sizeof(buf), cfg_scalar_text(ev), cfg_scalar_len(ev)), p->path);
		return -1;
	}
	if (strlen(out->schema) > CS_PG_NAME_BYTES_MAX || strlen(out->table) > CS_PG_NAME_BYTES_MAX) {
		int schema_long = strlen(out->schema) > CS_PG_NAME_BYTES_MAX;
		const char *part = schema_long ? out->schema : out->table;

		cfg_error_at(p, &ev->start_mark,
			 "the %s part '%s' of '%s' is %zu bytes, more than PostgreSQL's %d "
			 "(it would cut the name and read another relation)",
			 schema_long ? "schema" : "table", cfg_show(buf, sizeof(buf), part, strlen(part)),
			 p->path, strlen(part), CS_PG_NAME_BYTES_MAX);
		cfg_relation_clear(out);
		return -1;
	}
	return 0;
}

int cfg_get_rate(cfg_parse *p, const cfg_event *ev, mpq_t out)
{
	const char *why = NULL;
	char buf[SHOW_BYTES];

	if (!cfg_want_scalar(p, ev, "a rate"))
		return -1;
	if (cs_rate_parse(out, cfg_scalar_text(ev), cfg_scalar_len(ev), &why)) {
		cfg_error_at(p, &ev->start_mark, "invalid rate '%s' for '%s': %s",
			 cfg_show(buf, sizeof(buf), cfg_scalar_text(ev), cfg_scalar_len(ev)), p->path,
			 why ? why : "not a rate");
		return -1;
	}
	return 0;
}

/* Parses money into m->major (m->present on success); ref, when not NULL,
 * keeps the position for the exactness check at the end of the rule. */
int cfg_get_money(cfg_parse *p, const cfg_event *ev, cs_money *m, int nonneg,
		     money_ref *ref)
{
	const char *why = NULL;
	char buf[SHOW_BYTES];

	if (ref) {
		ref->mark = ev->start_mark;
		ref->text[0] = '\0';
		memcpy(ref->path, p->path, sizeof(p->path));
	}
	if (!cfg_want_scalar(p, ev, "an amount of money"))
		return -1;
	cfg_show(buf, sizeof(buf), cfg_scalar_text(ev), cfg_scalar_len(ev));
	if (cs_money_parse(m->major, cfg_scalar_text(ev), cfg_scalar_len(ev), &why)) {
		cfg_error_at(p, &ev->start_mark, "invalid amount '%s' for '%s': %s", buf, p->path,
			 why ? why : "not an amount");
		return -1;
	}
	if (nonneg && mpq_sgn(m->major) < 0) {
		cfg_error_at(p, &ev->start_mark, "'%s' must not be negative, not '%s'", p->path, buf);
		return -1;
	}
	m->present = 1;
	if (ref)
		memcpy(ref->text, buf, sizeof(buf));
	return 0;
}

/* Converts m to minor units of every currency in applicable (indexes into
 * cfg->currencies), reporting the first currency it is not exact in. */
int cfg_money_to_minor(cfg_parse *p, cs_money *m, size_t i, const money_ref *ref)
{
	const cs_currency *c = &p->cfg->currencies[i];

	if (cs_money_to_minor(m->minor[i], m->major, c->exponent) != 0) {
		cfg_error_at(p, &ref->mark,
			     "'%s' is %s, not a whole number of minor units of %s (exponent %u)",
			     ref->path, ref->text, c->code, c->exponent);
		return -1;
	}
	/* amounts in the database are bigint: a config amount beyond them
	 * means nothing, and the engine's 128-bit sums rely on the bound */
	if (mpz_sizeinbase(m->minor[i], 2) > 63) {
		cfg_error_at(p, &ref->mark,
			     "'%s' is %s, too large: in minor units of %s (exponent %u) it must "
			     "lie within a bigint (at most 9223372036854775807)",
			     ref->path, ref->text, c->code, c->exponent);
		return -1;
	}
	m->applies[i] = 1;
	return 0;
}

void cfg_money_resolve(cfg_parse *p, cs_money *m, const money_ref *ref,
		       const unsigned char *applicable)
{
	size_t i;

	for (i = 0; i < p->cfg->n_currencies; i++)
		if (applicable[i] && cfg_money_to_minor(p, m, i, ref) < 0)
			return;
}

int cfg_get_enum(cfg_parse *p, const cfg_event *ev, const char *const *names,
		    size_t n, int *out)
{
	char buf[SHOW_BYTES], list[128];
	size_t i, used = 0;

	if (!cfg_want_scalar(p, ev, "a name"))
		return -1;
	for (i = 0; i < n; i++) {
		if (cfg_text_is(ev, names[i])) {
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
	cfg_error_at(p, &ev->start_mark, "unknown value '%s' for '%s' (expected one of: %s)",
		 cfg_show(buf, sizeof(buf), cfg_scalar_text(ev), cfg_scalar_len(ev)), p->path, list);
	return -1;
}

int cfg_get_bool(cfg_parse *p, const cfg_event *ev, int *out)
{
	char buf[SHOW_BYTES];

	if (!cfg_want_scalar(p, ev, "true or false"))
		return -1;
	if (ev->plain && cfg_text_is(ev, "true")) {
		*out = 1;
		return 0;
	}
	if (ev->plain && cfg_text_is(ev, "false")) {
		*out = 0;
		return 0;
	}
	cfg_error_at(p, &ev->start_mark, "'%s' must be true or false (unquoted), not '%s'", p->path,
		 cfg_show(buf, sizeof(buf), cfg_scalar_text(ev), cfg_scalar_len(ev)));
	return -1;
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
void cfg_parse_map(cfg_parse *p, const cfg_event *start, const key_spec *specs,
		      size_t n_specs, void *obj, key_seen *seen)
{
	cfg_event key, val;
	char buf[SHOW_BYTES], here[PATH_BYTES + 16], list[160];
	size_t i, old;

	memset(seen, 0, n_specs * sizeof(*seen));
	for (;;) {
		if (next(p, &key))
			return;
		if (key.type == CFG_EV_MAP_END) {
			cfg_event_delete(&key);
			break;
		}
		if (key.type != CFG_EV_SCALAR) {
			if (key.type != CFG_EV_ALIAS)
				cfg_error_at(p, &key.start_mark, "a key must be a name, not %s",
					 event_kind(&key));
			cfg_skip_value(p, &key);
			cfg_event_delete(&key);
			if (next(p, &val))
				return;
			cfg_skip_value(p, &val);
			cfg_event_delete(&val);
			continue;
		}
		if (next(p, &val)) {
			cfg_event_delete(&key);
			return;
		}
		for (i = 0; i < n_specs && !cfg_text_is(&key, specs[i].name); i++)
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
			cfg_error_at(p, &key.start_mark, "unknown key '%s' %s (valid keys: %s)",
				 cfg_show(buf, sizeof(buf), cfg_scalar_text(&key), cfg_scalar_len(&key)),
				 where(p, here, sizeof(here)), list);
			cfg_skip_value(p, &val);
		} else if (seen[i].seen) {
			cfg_error_at(p, &key.start_mark, "duplicate key '%s' %s (first at line %zu)",
				 specs[i].name, where(p, here, sizeof(here)), seen[i].key.line + 1);
			cfg_skip_value(p, &val);
		} else {
			seen[i].seen = 1;
			seen[i].key = key.start_mark;
			seen[i].value = val.start_mark;
			old = path_push(p, specs[i].name);
			specs[i].fn(p, obj, specs[i].arg, &val);
			path_pop(p, old);
		}
		cfg_event_delete(&key);
		cfg_event_delete(&val);
	}
	for (i = 0; i < n_specs; i++)
		if (specs[i].required && !seen[i].seen)
			cfg_error_at(p, &start->start_mark, "missing required key '%s' %s",
				 specs[i].name, where(p, here, sizeof(here)));
}

/* Walks the sequence that its caller's start event opened, calling fn per
 * item; returns the number of items. */
size_t cfg_parse_seq(cfg_parse *p, void *obj, item_fn fn)
{
	cfg_event ev;
	size_t n = 0, old;

	for (;;) {
		if (next(p, &ev))
			return n;
		if (ev.type == CFG_EV_SEQ_END) {
			cfg_event_delete(&ev);
			return n;
		}
		old = path_push_index(p, n);
		fn(p, obj, n, &ev);
		path_pop(p, old);
		cfg_event_delete(&ev);
		n++;
	}
}

/* Walks a mapping whose keys are currency codes (`currencies`,
 * `costs.amount`), calling fn with the key and value events. */

void cfg_parse_pairs(cfg_parse *p, void *obj, pair_fn fn)
{
	cfg_event key, val;
	size_t old;
	char buf[SHOW_BYTES];

	for (;;) {
		if (next(p, &key))
			return;
		if (key.type == CFG_EV_MAP_END) {
			cfg_event_delete(&key);
			return;
		}
		if (key.type != CFG_EV_SCALAR) {
			if (key.type != CFG_EV_ALIAS)
				cfg_error_at(p, &key.start_mark, "a key must be a name, not %s",
					 event_kind(&key));
			cfg_skip_value(p, &key);
			cfg_event_delete(&key);
			if (next(p, &val))
				return;
			cfg_skip_value(p, &val);
			cfg_event_delete(&val);
			continue;
		}
		if (next(p, &val)) {
			cfg_event_delete(&key);
			return;
		}
		old = path_push(p, cfg_show(buf, sizeof(buf), cfg_scalar_text(&key), cfg_scalar_len(&key)));
		fn(p, obj, &key, &val);
		path_pop(p, old);
		cfg_event_delete(&key);
		cfg_event_delete(&val);
	}
}

static void parse_document(cfg_parse *p, const key_spec *specs, size_t n_specs)
{
	cfg_event ev;
	key_seen seen[CFG_TOP_KEYS_MAX];
	cfg_mark first = {0, 0, 0};

	CS_ASSERT(n_specs <= sizeof(seen) / sizeof(seen[0]));
	if (next(p, &ev))
		return;
	CS_ASSERT(ev.type == CFG_EV_STREAM_START);
	cfg_event_delete(&ev);
	if (next(p, &ev))
		return;
	if (ev.type == CFG_EV_STREAM_END) {
		cfg_error_at(p, &first, "the config is empty");
		cfg_event_delete(&ev);
		return;
	}
	cfg_event_delete(&ev); /* DOCUMENT-START */
	if (next(p, &ev))
		return;
	if (ev.type == CFG_EV_MAP_START) {
		cfg_parse_map(p, &ev, specs, n_specs, NULL, seen);
	} else {
		if (ev.type != CFG_EV_ALIAS)
			cfg_error_at(p, &ev.start_mark, "the config must be a mapping of keys, not %s",
				 event_kind(&ev));
		cfg_skip_value(p, &ev);
	}
	cfg_event_delete(&ev);
	if (next(p, &ev)) /* DOCUMENT-END */
		return;
	cfg_event_delete(&ev);
	if (next(p, &ev))
		return;
	if (ev.type == CFG_EV_DOC_START)
		cfg_error_at(p, &ev.start_mark, "a config file holds one YAML document, not several");
	cfg_event_delete(&ev);
}

void cfg_walk(cfg_parse *p, int pass, const key_spec *specs, size_t n_specs)
{
	yaml_parser_t parser;

	p->pass = pass;
	p->fatal = 0;
	p->depth = 0;
	p->path_len = 0;
	p->path[0] = '\0';
	CS_ASSERT(yaml_parser_initialize(&parser));
	yaml_parser_set_input_string(&parser, (const unsigned char *)p->text, p->len);
	p->yaml = &parser;
	parse_document(p, specs, n_specs);
	p->yaml = NULL;
	yaml_parser_delete(&parser);
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

/* Offset of the first byte of text that is not part of well-formed UTF-8,
 * or a NUL byte; len when there is none. */
static size_t utf8_bad_offset(const unsigned char *t, size_t len)
{
	size_t i = 0, n;

	while (i < len) {
		n = cs_utf8_char_len(t + i, len - i);
		if (n == 0 || t[i] == 0)
			return i;
		i += n;
	}
	return len;
}

/* The config must be UTF-8 text without NUL bytes: the run record stores
 * it as text, and libyaml would otherwise read a UTF-16 file and hand the
 * engine its content converted, so that the stored bytes are not the file
 * that was checked. Reports the first bad byte; returns -1 then. */
static int check_encoding(cfg_parse *p)
{
	const unsigned char *t = (const unsigned char *)p->text;
	size_t bad = utf8_bad_offset(t, p->len);
	cfg_mark m;

	if (bad == p->len)
		return 0;
	p->pass = 2;
	m = mark_of_offset(p, bad);
	if (p->len >= 2 && ((t[0] == 0xFF && t[1] == 0xFE) || (t[0] == 0xFE && t[1] == 0xFF)))
		cfg_error_at(p, &m, "the config is UTF-16 text (it starts with a UTF-16 byte order "
				    "mark): save it as UTF-8");
	else if (t[bad] == 0)
		cfg_error_at(p, &m, "the config contains a NUL byte: it must be UTF-8 text (a "
				    "UTF-16 file? save it as UTF-8)");
	else
		cfg_error_at(p, &m, "the config is not UTF-8: byte 0x%02X does not begin a valid "
				    "UTF-8 character here (save the file as UTF-8)",
			     t[bad]);
	return -1;
}

/* ---- public API ---------------------------------------------------------------- */

int cfg_load_yaml(const char *name, const char *text, size_t len, cfg_load_fn load, void *ctx,
		  cs_config_diag *diag)
{
	cs_config *doc;
	cfg_parse *p;
	int rc = -1;

	diag_clear(diag);
	if (len > CS_CONFIG_BYTES_MAX) {
		diag_add(diag, "the file is %zu bytes, more than the limit of %d bytes", len,
			 CS_CONFIG_BYTES_MAX);
		return -1;
	}
	doc = cfg_new(name, text, len); /* holds the text; no config is read into it */
	p = cfg_xmalloc(sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->errs = cfg_xmalloc(ERRORS_HELD_MAX * sizeof(*p->errs));
	p->cfg = doc;
	p->text = doc->text;
	p->len = len;
	p->end = mark_of_offset(p, len);
	if (check_encoding(p) == 0)
		load(p, ctx);
	if (p->n_errs > 0)
		errors_to_diag(p, diag);
	else
		rc = 0;
	free(p->errs);
	free(p);
	cs_config_free(doc);
	return rc;
}


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
	cfg = cfg_new(name, text, len);

	p = cfg_xmalloc(sizeof(*p));
	memset(p, 0, sizeof(*p));
	p->errs = cfg_xmalloc(ERRORS_HELD_MAX * sizeof(*p->errs));
	p->cfg = cfg;
	p->text = cfg->text;
	p->len = len;
	p->end = mark_of_offset(p, len);

	if (check_encoding(p) == 0)
		cfg_keys_load(p);

	if (p->n_errs > 0) {
		errors_to_diag(p, diag);
		cs_config_free(cfg);
		cfg = NULL;
	} else {
		CS_ASSERT((cfg->version == 1 || cfg->version == 2) && cfg->n_currencies > 0 &&
			  cfg->n_rules > 0);
		*out = cfg;
		rc = 0;
	}
	free(p->errs);
	free(p);
	return rc;
}

int cfg_read_file(const char *path, const char *what, char **buf, size_t *n,
		  cs_config_diag *diag)
{
	struct stat st;
	FILE *f;
	int rc = -1;

	*buf = NULL;
	*n = 0;
	diag_clear(diag);
	f = fopen(path, "rb");
	if (f == NULL) {
		diag_add(diag, "cannot open the %s: %s", what, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) != 0) {
		diag_add(diag, "cannot read the %s: %s", what, strerror(errno));
		goto cleanup;
	}
	if (S_ISDIR(st.st_mode)) {
		diag_add(diag, "the %s is a directory, not a file", what);
		goto cleanup;
	}
	if (S_ISREG(st.st_mode) && st.st_size > CS_CONFIG_BYTES_MAX) {
		diag_add(diag, "the %s is %lld bytes, more than the limit of %d bytes", what,
			 (long long)st.st_size, CS_CONFIG_BYTES_MAX);
		goto cleanup;
	}
	/* read at most one byte past the limit: a pipe or a growing file is
	 * bounded too */
	*buf = cfg_xmalloc((size_t)CS_CONFIG_BYTES_MAX + 1);
	*n = fread(*buf, 1, (size_t)CS_CONFIG_BYTES_MAX + 1, f);
	if (ferror(f)) {
		diag_add(diag, "cannot read the %s: %s", what, strerror(errno));
		goto cleanup;
	}
	if (*n > CS_CONFIG_BYTES_MAX) {
		diag_add(diag, "the %s is more than the limit of %d bytes", what,
			 CS_CONFIG_BYTES_MAX);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (rc < 0) {
		free(*buf);
		*buf = NULL;
	}
	fclose(f);
	return rc;
}

int cs_config_load_file(cs_config **out, const char *path, cs_config_diag *diag)
{
	char *buf;
	size_t n;
	int rc;

	*out = NULL;
	if (cfg_read_file(path, "config", &buf, &n, diag) < 0)
		return -1;
	rc = cs_config_load_buffer(out, path, buf, n, diag);
	free(buf);
	return rc;
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

/* Prints a line of the config for a message: control bytes (NUL, ESC)
 * and bytes that are not UTF-8 never reach the terminal, '?' instead. */
static void print_line(FILE *f, const unsigned char *t, size_t len)
{
	size_t pos = 0, n;

	while (pos < len) {
		n = cs_utf8_char_len(t + pos, len - pos);
		if (n == 0 || (n == 1 && ((t[pos] < 0x20 && t[pos] != '\t') || t[pos] == 0x7F))) {
			fputc('?', f);
			pos += n ? n : 1;
			continue;
		}
		fwrite(t + pos, 1, n, f);
		pos += n;
	}
	fputc('\n', f);
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
		print_line(f, (const unsigned char *)text + start, len);
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

/* ---- flattening, for comparing two configs (config_diff.c) --------------------- */

/* One walk of cfg_flatten: the parser, the key path so far and the callback. */
typedef struct flat_walk {
	yaml_parser_t parser;
	char path[CFG_FLAT_PATH_BYTES];
	size_t depth;
	cfg_flat_fn fn;
	void *ctx;
} flat_walk;

/* Reads the next event into *e; -1 at a syntax error or an alias. */
static int flat_next(flat_walk *w, yaml_event_t *e)
{
	if (!yaml_parser_parse(&w->parser, e))
		return -1;
	if (e->type == YAML_ALIAS_EVENT) {
		yaml_event_delete(e);
		return -1;
	}
	return 0;
}

/* Appends text to the path; -1 when it does not fit. */
static int flat_push(flat_walk *w, const char *fmt, const char *text, size_t len)
{
	size_t at = strlen(w->path);
	int n = snprintf(w->path + at, sizeof(w->path) - at, fmt, (int)len, text);

	return n < 0 || (size_t)n >= sizeof(w->path) - at ? -1 : 0;
}

static int flat_value(flat_walk *w, yaml_event_t *e);

/* The pairs of a mapping whose start event was read: each key extends the
 * path by ".KEY" (at the top: "KEY"). */
static int flat_map(flat_walk *w)
{
	size_t at = strlen(w->path), n = 0;
	yaml_event_t k, v;

	for (;;) {
		if (flat_next(w, &k) < 0)
			return -1;
		if (k.type == YAML_MAPPING_END_EVENT)
			break;
		if (k.type != YAML_SCALAR_EVENT ||
		    flat_push(w, at ? ".%.*s" : "%.*s", (const char *)k.data.scalar.value,
			      k.data.scalar.length) < 0 ||
		    flat_next(w, &v) < 0) {
			yaml_event_delete(&k);
			return -1;
		}
		yaml_event_delete(&k);
		if (flat_value(w, &v) < 0)
			return -1;
		w->path[at] = '\0';
		n++;
	}
	yaml_event_delete(&k);
	if (n == 0)
		w->fn(w->ctx, w->path, "{}", 2);
	return 0;
}

/* The items of a sequence whose start event was read: "[INDEX]" each. */
static int flat_seq(flat_walk *w)
{
	size_t at = strlen(w->path), i;
	yaml_event_t e;
	char index[24];

	for (i = 0;; i++) {
		if (flat_next(w, &e) < 0)
			return -1;
		if (e.type == YAML_SEQUENCE_END_EVENT)
			break;
		snprintf(index, sizeof(index), "%zu", i);
		if (flat_push(w, "[%.*s]", index, strlen(index)) < 0) {
			yaml_event_delete(&e);
			return -1;
		}
		if (flat_value(w, &e) < 0)
			return -1;
		w->path[at] = '\0';
	}
	yaml_event_delete(&e);
	if (i == 0)
		w->fn(w->ctx, w->path, "[]", 2);
	return 0;
}

/* One value whose first event is *e (deleted here). */
static int flat_value(flat_walk *w, yaml_event_t *e)
{
	int rc = 0;

	if (++w->depth > CS_CONFIG_DEPTH_MAX) {
		yaml_event_delete(e);
		return -1;
	}
	if (e->type == YAML_SCALAR_EVENT)
		w->fn(w->ctx, w->path, (const char *)e->data.scalar.value, e->data.scalar.length);
	else if (e->type == YAML_MAPPING_START_EVENT)
		rc = 1;
	else if (e->type == YAML_SEQUENCE_START_EVENT)
		rc = 2;
	else
		rc = -1;
	yaml_event_delete(e);
	if (rc == 1)
		rc = flat_map(w);
	else if (rc == 2)
		rc = flat_seq(w);
	w->depth--;
	return rc;
}

int cfg_flatten(const char *text, size_t len, cfg_flat_fn fn, void *ctx)
{
	flat_walk *w = cfg_xmalloc(sizeof(*w));
	yaml_event_t e;
	int rc = -1, step;

	memset(w, 0, sizeof(*w));
	w->fn = fn;
	w->ctx = ctx;
	if (!yaml_parser_initialize(&w->parser)) {
		free(w);
		return -1;
	}
	yaml_parser_set_input_string(&w->parser, (const unsigned char *)text, len);
	/* stream start, document start, the top value, document end */
	for (step = 0; flat_next(w, &e) == 0; step++) {
		if (e.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&e);
			rc = step == 0 ? -1 : 0;
			break;
		}
		if (e.type == YAML_STREAM_START_EVENT || e.type == YAML_DOCUMENT_START_EVENT ||
		    e.type == YAML_DOCUMENT_END_EVENT) {
			yaml_event_delete(&e);
			continue;
		}
		if (flat_value(w, &e) < 0)
			break;
	}
	yaml_parser_delete(&w->parser);
	free(w);
	return rc;
}
