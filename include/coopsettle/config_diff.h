/*
 * config_diff.h -- which keys of a config differ from another's: what a
 * superseding run prints when its config is not the superseded run's
 * (spec section 10.4, `config_changes`).
 */
#ifndef COOPSETTLE_CONFIG_DIFF_H
#define COOPSETTLE_CONFIG_DIFF_H

#include <stddef.h>

/* One key path whose value differs: a path names a scalar, with mapping
 * keys joined by dots and list items by the item's `id` when it has one
 * (fees[standard].rate, surplus.steps[legal-reserve].share), else by
 * position (fees[standard].tiers[1].rate). old_value is NULL for a key
 * only the new config has, new_value NULL for a key it no longer has. */
typedef struct cs_config_change {
	char *path;
	char *old_value;
	char *new_value;
} cs_config_change;

/*
 * Compares two config texts key by key (comments, order and layout do not
 * count) and returns the differing paths, sorted, in a new array *changes
 * of *n entries (free with cs_config_changes_free; NULL when there are
 * none). Returns 0, or -1 when either text is not YAML the loader reads.
 */
int cs_config_diff(const char *old_text, size_t old_len, const char *new_text, size_t new_len,
		   cs_config_change **changes, size_t *n);

/* Frees n changes and the array. */
void cs_config_changes_free(cs_config_change *changes, size_t n);

#endif
