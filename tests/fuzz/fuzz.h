/*
 * fuzz.h - what every harness in tests/fuzz shares: libFuzzer's entry point
 * and CHECK, an assertion that stays on in release builds and aborts with
 * the failed condition, so libFuzzer saves the input.
 */
#ifndef SEKISHO_FUZZ_H
#define SEKISHO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		abort(); \
	} \
} while (0)

#endif
