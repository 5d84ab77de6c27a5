/*
 * test_base64.c - RFC 4648 vectors, strict decoding, round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/base64.h"

static const struct {
	const char *plain;
	size_t len;
	const char *b64;
} vectors[] = {
	/* RFC 4648 10 */
	{ "", 0, "" },
	{ "f", 1, "Zg==" },
	{ "fo", 2, "Zm8=" },
	{ "foo", 3, "Zm9v" },
	{ "foob", 4, "Zm9vYg==" },
	{ "fooba", 5, "Zm9vYmE=" },
	{ "foobar", 6, "Zm9vYmFy" },
	{ "\0\0\0\0", 4, "AAAAAA==" },
	{ "\xff\xff\xff", 3, "////" },
	/* the whole alphabet */
	{ "\x00\x10\x83\x10\x51\x87\x20\x92\x8b\x30\xd3\x8f\x41\x14\x93\x51"
	  "\x55\x97\x61\x96\x9b\x71\xd7\x9f\x82\x18\xa3\x92\x59\xa7\xa2\x9a"
	  "\xab\xb2\xdb\xaf\xc3\x1c\xb3\xd3\x5d\xb7\xe3\x9e\xbb\xf3\xdf\xbf", 48,
	  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" },
};

static void
test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		const char *plain = vectors[i].plain;
		size_t n = vectors[i].len;
		char enc[128];
		unsigned char dec[128];
		long len;

		assert_int_equal(base64_encoded_len(n), strlen(vectors[i].b64));
		base64_encode(plain, n, enc);
		assert_string_equal(enc, vectors[i].b64);
		len = base64_decode(vectors[i].b64, strlen(vectors[i].b64), dec);
		assert_int_equal(len, (long)n);
		assert_memory_equal(dec, plain, n);
	}
}

/* Padding is optional when the length says how many bytes are left. */
static const struct {
	const char *b64;
	const char *plain;	/* NULL: must fail */
} decodes[] = {
	{ "Zg", "f" },
	{ "Zm8", "fo" },
	{ "Zm9vYg", "foob" },
	{ "Zm9vYmE", "fooba" },
	{ "AA==", "\0" },
	{ "dXNlcg==", "user" },
	/* bad length */
	{ "Z", NULL },
	{ "Zm9vY", NULL },
	{ "Z===", NULL },
	{ "====", NULL },
	{ "=", NULL },
	{ "==", NULL },
	/* padding in the wrong place or of the wrong amount */
	{ "Zg=", NULL },
	{ "Zg=A", NULL },
	{ "Z=g=", NULL },
	{ "=Zg=", NULL },
	{ "Zg==Zg==", NULL },
	{ "Zm8==", NULL },
	{ "Zm9v=", NULL },
	{ "Zm9v====", NULL },
	/* non-zero bits after the last byte (non-canonical) */
	{ "Zh==", NULL },
	{ "Zh", NULL },
	{ "Zm9=", NULL },
	{ "Zm9", NULL },
	/* characters outside the alphabet, white space */
	{ "Zm9v\n", NULL },
	{ "Zm9v\r\n", NULL },
	{ "Zm 9v", NULL },
	{ " Zm9v", NULL },
	{ "Zm9v!", NULL },
	{ "Zm-_", NULL },
	{ "Zm9\x80", NULL },
};

static void
test_decode_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(decodes) / sizeof(decodes[0]); i++) {
		const char *in = decodes[i].b64;
		unsigned char out[64];
		long len = base64_decode(in, strlen(in), out);

		if (decodes[i].plain == NULL) {
			if (len != -1)
				fail_msg("accepted bad base64 \"%s\"", in);
			continue;
		}
		/* "AA==" decodes to one NUL byte */
		size_t want = decodes[i].plain[0] == '\0' ? 1 : strlen(decodes[i].plain);
		assert_int_equal(len, (long)want);
		assert_memory_equal(out, decodes[i].plain, want);
	}
}

/* inlen, not the NUL, bounds the input. */
static void
test_decode_inlen(void **state)
{
	unsigned char out[16];

	(void)state;
	assert_int_equal(base64_decode("Zm9vYmFy", 4, out), 3);
	assert_memory_equal(out, "foo", 3);
	assert_int_equal(base64_decode("Zm9v\0Zm9v", 9, out), -1);
	assert_int_equal(base64_decode("", 0, out), 0);
}

/* Every length 0..300 and every byte value survives encode + decode, and
 * decode never writes past the size the header promises. */
static void
test_round_trip(void **state)
{
	unsigned char in[300], *dec;
	char *enc;

	(void)state;
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 131 + 7);
	for (size_t n = 0; n <= sizeof(in); n++) {
		size_t elen = base64_encoded_len(n);

		enc = malloc(elen + 1);
		base64_encode(in, n, enc);
		assert_int_equal(strlen(enc), elen);
		dec = malloc(3 * (elen / 4) + 3);
		assert_int_equal(base64_decode(enc, elen, dec), (long)n);
		assert_memory_equal(dec, in, n);
		free(dec);
		free(enc);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_decode_inlen),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
