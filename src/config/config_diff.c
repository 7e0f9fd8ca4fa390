/*
 * config_diff.c -- the key paths whose values differ between two config
 * texts (config_diff.h). Each text is flattened into (path, value) pairs
 * by the YAML reader (cfg_flatten); list items that have an `id` are then
 * named by it rather than by position, so that adding a fee rule does not
 * make every later rule look changed; the two sorted lists are merged.
 */
#include "coopsettle/config_diff.h"

#include <stdlib.h>
#include <string.h>

#include "coopsettle/error.h"
#include "parse.h"

/* The flattened pairs of one text. */
typedef struct flat_list {
	cs_config_change *pairs; /* path and old_value used */
	size_t n;
} flat_list;

static void collect(void *ctx, const char *path, const char *value, size_t len)
{
	flat_list *l = ctx;

	l->pairs = cfg_array_grow(l->pairs, l->n, sizeof(*l->pairs));
	l->pairs[l->n].path = cfg_xstrndup(path, strlen(path));
	l->pairs[l->n].old_value = cfg_xstrndup(value, len);
	l->pairs[l->n].new_value = NULL;
	l->n++;
}

static int by_path(const void *a, const void *b)
{
	return strcmp(((const cs_config_change *)a)->path, ((const cs_config_change *)b)->path);
}

/* The value of path in l (sorted by path), or NULL. */
static const char *lookup(const flat_list *l, const char *path)
{
	cs_config_change key;
	const cs_config_change *hit;

	key.path = (char *)path;
	hit = bsearch(&key, l->pairs, l->n, sizeof(*l->pairs), by_path);
	return hit ? hit->old_value : NULL;
}

/* path with every list index whose item has a scalar `id` replaced by that
 * id, looked up in the index-named pairs of sorted. A new string. */
static char *name_items(const flat_list *sorted, const char *path)
{
	char prefix[CFG_FLAT_PATH_BYTES + 8], out[2 * CFG_FLAT_PATH_BYTES];
	size_t i, o = 0, len = strlen(path);

	for (i = 0; i < len && o + 1 < sizeof(out); i++) {
		const char *close = path[i] == '[' ? strchr(path + i, ']') : NULL;
		const char *id;

		if (close) {
			size_t end = (size_t)(close - path) + 1;

			memcpy(prefix, path, end);
			memcpy(prefix + end, ".id", 4);
			id = lookup(sorted, prefix);
			if (id && strlen(id) + 2 < sizeof(out) - o && !strchr(id, '[') &&
			    !strchr(id, ']')) {
				o += (size_t)snprintf(out + o, sizeof(out) - o, "[%s]", id);
				i = end - 1;
				continue;
			}
		}
		out[o++] = path[i];
	}
	out[o] = '\0';
	return cfg_xstrndup(out, o);
}

/* Flattens text into l, sorted by path, list items named by id. */
static int flatten(const char *text, size_t len, flat_list *l)
{
	flat_list raw = {NULL, 0};
	size_t i;

	if (cfg_flatten(text, len, collect, &raw) < 0) {
		l->pairs = raw.pairs;
		l->n = raw.n;
		return -1;
	}
	if (raw.n > 1)
		qsort(raw.pairs, raw.n, sizeof(*raw.pairs), by_path);
	l->pairs = cfg_xmalloc((raw.n + 1) * sizeof(*l->pairs));
	l->n = raw.n;
	for (i = 0; i < raw.n; i++) {
		l->pairs[i].path = name_items(&raw, raw.pairs[i].path);
		l->pairs[i].old_value = cfg_xstrndup(raw.pairs[i].old_value,
						     strlen(raw.pairs[i].old_value));
		l->pairs[i].new_value = NULL;
	}
	cs_config_changes_free(raw.pairs, raw.n);
	if (l->n > 1)
		qsort(l->pairs, l->n, sizeof(*l->pairs), by_path);
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? cfg_xstrndup(s, strlen(s)) : NULL;
}

int cs_config_diff(const char *old_text, size_t old_len, const char *new_text, size_t new_len,
		   cs_config_change **changes, size_t *n)
{
	flat_list a = {NULL, 0}, b = {NULL, 0}, out = {NULL, 0};
	size_t i = 0, j = 0;
	int rc = -1;

	*changes = NULL;
	*n = 0;
	if (flatten(old_text, old_len, &a) < 0 || flatten(new_text, new_len, &b) < 0)
		goto cleanup;
	while (i < a.n || j < b.n) {
		int c = i == a.n ? 1 : j == b.n ? -1 : strcmp(a.pairs[i].path, b.pairs[j].path);
		const char *ov = c <= 0 ? a.pairs[i].old_value : NULL;
		const char *nv = c >= 0 ? b.pairs[j].old_value : NULL;
		const char *path = c <= 0 ? a.pairs[i].path : b.pairs[j].path;

		if (!ov || !nv || strcmp(ov, nv) != 0) {
			out.pairs = cfg_array_grow(out.pairs, out.n, sizeof(*out.pairs));
			out.pairs[out.n].path = dup_or_null(path);
			out.pairs[out.n].old_value = dup_or_null(ov);
			out.pairs[out.n].new_value = dup_or_null(nv);
			out.n++;
		}
		i += c <= 0;
		j += c >= 0;
	}
	*changes = out.pairs;
	*n = out.n;
	rc = 0;
cleanup:
	cs_config_changes_free(a.pairs, a.n);
	cs_config_changes_free(b.pairs, b.n);
	return rc;
}

void cs_config_changes_free(cs_config_change *changes, size_t n)
{
	size_t i;

	for (i = 0; changes && i < n; i++) {
		free(changes[i].path);
		free(changes[i].old_value);
		free(changes[i].new_value);
	}
	free(changes);
}
