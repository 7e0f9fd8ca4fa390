/*
 * fuzz.h -- the entry point every fuzz target in tests/fuzz/ defines.
 *
 * A target is one .c file with LLVMFuzzerTestOneInput. It is linked two
 * ways: with libFuzzer (clang -fsanitize=fuzzer, scripts/fuzz.sh) to search
 * for crashes, and with replay.c (any compiler) so ctest feeds it every seed
 * and every kept regression input in every build.
 */
#ifndef COOPSETTLE_TESTS_FUZZ_H
#define COOPSETTLE_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* Runs the code under test on size bytes at data (not NUL-terminated,
 * owned by the caller). Returns 0; a bug aborts. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
