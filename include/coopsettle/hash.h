/*
 * hash.h -- streaming SHA-256 (OpenSSL libcrypto) for the canonical forms
 * of a run's config, input and output.
 */
#ifndef COOPSETTLE_HASH_H
#define COOPSETTLE_HASH_H

#include <stddef.h>

typedef struct cs_sha256 cs_sha256;

/* Starts a new digest; the caller owns it (cs_sha256_final frees it). */
cs_sha256 *cs_sha256_new(void);

/* Feeds n bytes. */
void cs_sha256_update(cs_sha256 *h, const void *data, size_t n);

/* Writes the lowercase hex digest (65 bytes with NUL) and frees h. */
void cs_sha256_final(cs_sha256 *h, char hex[65]);

/* Frees h without a digest; NULL is allowed. */
void cs_sha256_free(cs_sha256 *h);

/* One-shot digest of n bytes. */
void cs_sha256_hex(const void *data, size_t n, char hex[65]);

#endif
