/*
 * hash.c -- SHA-256 over OpenSSL's EVP interface (see hash.h).
 */
#include "coopsettle/hash.h"

#include <openssl/evp.h>

#include "coopsettle/error.h"

struct cs_sha256 {
	EVP_MD_CTX *ctx;
};

cs_sha256 *cs_sha256_new(void)
{
	cs_sha256 *h = OPENSSL_zalloc(sizeof(*h));

	CS_ASSERT(h != NULL);
	h->ctx = EVP_MD_CTX_new();
	CS_ASSERT(h->ctx != NULL);
	CS_ASSERT(EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) == 1);
	return h;
}

void cs_sha256_update(cs_sha256 *h, const void *data, size_t n)
{
	CS_ASSERT(EVP_DigestUpdate(h->ctx, data, n) == 1);
}

void cs_sha256_final(cs_sha256 *h, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	CS_ASSERT(EVP_DigestFinal_ex(h->ctx, md, &n) == 1 && n == 32);
	for (i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[64] = '\0';
	cs_sha256_free(h);
}

void cs_sha256_free(cs_sha256 *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	OPENSSL_free(h);
}

void cs_sha256_hex(const void *data, size_t n, char hex[65])
{
	cs_sha256 *h = cs_sha256_new();

	cs_sha256_update(h, data, n);
	cs_sha256_final(h, hex);
}
