/*
 * parse.h -- private to the config loader: what its three files share.
 *
 *   reader.c  the YAML event reader (the only file that includes yaml.h):
 *             events without libyaml's types, positioned errors, key paths,
 *             typed scalars, and the generic mapping and sequence walkers;
 *   keys.c    the key handlers of every section, table-driven;
 *   model.c   the typed, immutable model (config.h): constructors, lookups
 *             and cs_config_free.
 *
 * Nothing outside src/config includes this header (scripts/check-layers.sh).
 */
#ifndef COOPSETTLE_CONFIG_PARSE_H
#define COOPSETTLE_CONFIG_PARSE_H

#include <gmp.h>
#include <stddef.h>

#include "coopsettle/config.h"
#include "coopsettle/config_load.h"

/* Bytes of the key path in messages (`surplus.steps[3].classes`). */
#define PATH_BYTES 128
/* Bytes of a value quoted in a message; longer values end in "...". */
#define SHOW_BYTES 48

/* A position in the text, 0-based as libyaml counts (add 1 to print). */
typedef struct cfg_mark {
	size_t index;
	size_t line;
	size_t column;
} cfg_mark;

typedef enum cfg_event_type {
	CFG_EV_NONE = 0,
	CFG_EV_STREAM_START,
	CFG_EV_STREAM_END,
	CFG_EV_DOC_START,
	CFG_EV_DOC_END,
	CFG_EV_SCALAR,
	CFG_EV_SEQ_START,
	CFG_EV_SEQ_END,
	CFG_EV_MAP_START,
	CFG_EV_MAP_END,
	CFG_EV_ALIAS,
} cfg_event_type;

/* One event of the document, as the handlers see it. text and len are the
 * value of a scalar (not NUL-terminated for the handlers' purposes: it may
 * hold NUL bytes), plain is nonzero for an unquoted scalar. The event owns
 * the reader's own copy (impl); free it with cfg_event_delete. */
typedef struct cfg_event {
	cfg_event_type type;
	cfg_mark start_mark;
	const char *text;
	size_t len;
	int plain;
	void *impl;
} cfg_event;

typedef struct cfg_parse cfg_parse;

/* Handles the value of one key. value is the value's first event (owned by
 * the caller); a handler consumes the rest of the value (cfg_skip_value, or
 * the walkers below). */
typedef void (*key_fn)(cfg_parse *p, void *obj, int arg, const cfg_event *value);

typedef struct key_spec {
	const char *name;
	key_fn fn;
	int arg;
	int required;
} key_spec;

/* What cfg_parse_map saw of each key of its table. */
typedef struct key_seen {
	int seen;
	cfg_mark key;
	cfg_mark value;
} key_seen;

/* Handles one item of a sequence, like key_fn. */
typedef void (*item_fn)(cfg_parse *p, void *obj, size_t index, const cfg_event *item);

/* Handles one pair of a mapping whose keys are data (currency codes). */
typedef void (*pair_fn)(cfg_parse *p, void *obj, const cfg_event *key, const cfg_event *val);

/* The state of one load. The reader owns the libyaml parser (yaml); keys.c
 * keeps its own state of a pass in keys. */
struct cfg_parse {
	void *yaml; /* the reader's yaml_parser_t */
	cs_config *cfg;
	const char *text;
	size_t len;
	cfg_mark end; /* the end of the text, where a message may point last */
	int pass;     /* 1: quiet, stores `currencies` only; 2: everything */
	int fatal;    /* stop walking: syntax error, too deep, too many errors */
	size_t depth;
	cs_config_error *errs; /* held errors, sorted into file order at the end */
	size_t n_errs;
	int truncated;
	char path[PATH_BYTES]; /* key path of the value being read */
	size_t path_len;
	void *keys; /* keys.c's state of the walk */
};

/* A money value of a rule, kept until the end of the rule, when the
 * currencies it applies to (`when.currency`) are known. */
typedef struct money_ref {
	cfg_mark mark;
	char text[SHOW_BYTES];
	char path[PATH_BYTES];
} money_ref;

/* ---- reader.c: events, errors, typed scalars, walkers ---- */

/* Loads a YAML document other than the config (an account map): checks
 * its encoding, then calls load(p, ctx), which walks it with cfg_walk and
 * the handlers; errors go to diag as a config's do. Returns 0 or -1. */
typedef void (*cfg_load_fn)(cfg_parse *p, void *ctx);
int cfg_load_yaml(const char *name, const char *text, size_t len, cfg_load_fn load, void *ctx,
		  cs_config_diag *diag);

/* Reads a whole file (at most CS_CONFIG_BYTES_MAX bytes) into *buf (the
 * caller frees it), *n bytes; what names it in messages ("config").
 * Returns 0, or -1 with diag filled. */
int cfg_read_file(const char *path, const char *what, char **buf, size_t *n,
		  cs_config_diag *diag);

/* Walks the whole document once in pass 1 or 2 with the top-level keys
 * specs (pass 1 is quiet: it reports nothing). */
void cfg_walk(cfg_parse *p, int pass, const key_spec *specs, size_t n_specs);

/* v, or UINT_MAX when it does not fit (a line or column number). */
unsigned cfg_to_unsigned(size_t v);

/* Records an error at mark m (NULL: no position). Quiet in pass 1. */
void cfg_error_at(cfg_parse *p, const cfg_mark *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Copies s (len bytes) into buf for a message: control bytes become '?',
 * and a value longer than the buffer is cut at a character and ends "...". */
const char *cfg_show(char *buf, size_t size, const char *s, size_t len);

const char *cfg_scalar_text(const cfg_event *ev);
size_t cfg_scalar_len(const cfg_event *ev);
/* Nonzero when the scalar ev is exactly s. */
int cfg_text_is(const cfg_event *ev, const char *s);

/* Frees what ev owns (the reader's copy); ev may be empty. */
void cfg_event_delete(cfg_event *ev);

/* Consumes the rest of a value whose first event is start. */
void cfg_skip_value(cfg_parse *p, const cfg_event *start);

/* The value must be a non-null scalar / a mapping / a list; otherwise
 * reports, consumes it and returns 0. */
int cfg_want_scalar(cfg_parse *p, const cfg_event *ev, const char *what);
int cfg_want_map(cfg_parse *p, const cfg_event *ev);
int cfg_want_seq(cfg_parse *p, const cfg_event *ev);

/* A name (id, account, relation, category, cooperative): non-empty, at most
 * CS_NAME_BYTES_MAX bytes, no NUL. Returns 0 or -1 (reported). */
int cfg_check_name(cfg_parse *p, const cfg_event *ev);
/* The same, stored in *out (freed first; the config owns it). */
int cfg_get_name(cfg_parse *p, const cfg_event *ev, char **out);
/* A relation name `schema.table` into *out. */
int cfg_get_relation(cfg_parse *p, const cfg_event *ev, cs_relation *out);
/* A rate (spec section 1) into out. */
int cfg_get_rate(cfg_parse *p, const cfg_event *ev, mpq_t out);
/* Money into m->major (m->present on success); ref, when not NULL, keeps
 * the position for the exactness check (cfg_money_resolve). */
int cfg_get_money(cfg_parse *p, const cfg_event *ev, cs_money *m, int nonneg, money_ref *ref);
/* Converts m to minor units of currency i into m->minor[i] (and sets
 * m->applies[i]); reports at ref a value that is not a whole number of
 * minor units or does not fit a bigint. Returns 0 or -1. */
int cfg_money_to_minor(cfg_parse *p, cs_money *m, size_t i, const money_ref *ref);
/* Converts m to minor units of every currency in applicable (indexes into
 * cfg->currencies), reporting the first currency it is not exact in. */
void cfg_money_resolve(cfg_parse *p, cs_money *m, const money_ref *ref,
		       const unsigned char *applicable);
/* One of n names into *out (its index). */
int cfg_get_enum(cfg_parse *p, const cfg_event *ev, const char *const *names, size_t n, int *out);
/* Unquoted true or false. */
int cfg_get_bool(cfg_parse *p, const cfg_event *ev, int *out);

/* Walks the mapping that start opened, calling the handler of each key of
 * specs. Unknown and duplicate keys are reported and their values skipped;
 * required keys that are missing are reported at the mapping's start.
 * seen (n_specs entries) receives where each key was found. */
void cfg_parse_map(cfg_parse *p, const cfg_event *start, const key_spec *specs, size_t n_specs,
		   void *obj, key_seen *seen);
/* Walks the sequence its caller's start event opened, calling fn per item;
 * returns the number of items. */
size_t cfg_parse_seq(cfg_parse *p, void *obj, item_fn fn);
/* Walks a mapping whose keys are data (currency codes). */
void cfg_parse_pairs(cfg_parse *p, void *obj, pair_fn fn);

/* Bytes of a key path cfg_flatten writes (`surplus.steps[3].classes.producer`). */
#define CFG_FLAT_PATH_BYTES 1024

/* Receives one scalar of a flattened document: its key path and value (len
 * bytes; not NUL-terminated). An empty mapping or list is one value, "{}" or
 * "[]". */
typedef void (*cfg_flat_fn)(void *ctx, const char *path, const char *value, size_t len);

/* Walks the YAML text and calls fn for every scalar with its key path:
 * mapping keys joined by dots, list items as [INDEX] (fees[0].rate).
 * Returns 0, or -1 when the text is not YAML this reader takes (a syntax
 * error, an alias, a key that is not a scalar, nesting past
 * CS_CONFIG_DEPTH_MAX, a path past CFG_FLAT_PATH_BYTES). */
int cfg_flatten(const char *text, size_t len, cfg_flat_fn fn, void *ctx);

/* ---- keys.c: the handlers ---- */

/* Walks the document (pass 1 for `currencies`, then pass 2) and, when
 * nothing was reported, fills in the defaults. */
void cfg_keys_load(cfg_parse *p);

/* ---- model.c: constructors of the typed model ---- */

/* malloc/strndup that assert on out-of-memory (the config is bounded). */
void *cfg_xmalloc(size_t n);
char *cfg_xstrndup(const char *s, size_t n);
/* Makes room for element n of an array of n elements (capacity: the next
 * power of two), so appending n items costs O(n) copies. */
void *cfg_array_grow(void *arr, size_t n, size_t elem_size);

/* A new, empty config holding a copy of the file's text and its hash. */
cs_config *cfg_new(const char *name, const char *text, size_t len);
void cfg_money_init(cs_money *m);
void cfg_rule_init(cs_rule *r);
void cfg_step_init(cs_step *s);
/* Splits name (len bytes) at its first dot; no dot: schema `public`.
 * Returns -1 when the schema or table part is empty. */
int cfg_relation_set(cs_relation *r, const char *name, size_t len);
void cfg_relation_clear(cs_relation *r);

#endif
