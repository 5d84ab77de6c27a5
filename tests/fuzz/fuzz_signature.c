/*
 * fuzz_signature.c - libFuzzer harness for takeover_signature_items()
 * (src/detect/detect_takeover.c), which finds the signature block of an
 * outbound message's text and lists its URLs, phone and bank numbers: the
 * text is whatever a (possibly stolen) account sends.
 *
 * Checks: NULL or a non-empty list of lines "url:...", "tel:..." or
 * "bank:...", each with a value, sorted, no empty line; the call on the
 * same text gives the same list.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect_takeover.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *items, *again;

	if (size > 512 * 1024)
		return 0;
	text = malloc(size + 1);
	CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = '\0';
	items = takeover_signature_items(text);
	again = takeover_signature_items(text);
	CHECK((items == NULL) == (again == NULL));
	if (items != NULL) {
		const char *prev = NULL;
		size_t prevlen = 0;

		CHECK(strcmp(items, again) == 0);
		CHECK(items[0] != '\0');
		for (const char *l = items; *l; ) {
			const char *nl = strchr(l, '\n');
			size_t len = nl ? (size_t)(nl - l) : strlen(l);

			CHECK(len > 0);
			CHECK((strncmp(l, "url:", 4) == 0 && len > 4) ||
			    (strncmp(l, "tel:", 4) == 0 && len > 4) ||
			    (strncmp(l, "bank:", 5) == 0 && len > 5));
			if (prev != NULL) {
				size_t m = prevlen < len ? prevlen : len;
				int c = memcmp(prev, l, m);
				CHECK(c < 0 || (c == 0 && prevlen <= len));
			}
			prev = l;
			prevlen = len;
			l += len + (nl ? 1 : 0);
		}
	}
	free(items);
	free(again);
	free(text);
	return 0;
}
