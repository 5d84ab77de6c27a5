/*
 * fuzz_arc.c - libFuzzer harness for ARC chain validation (detect_arc.c).
 *
 * The input is a message; a first line "K:<record>" is taken out and
 * served as the TXT record of every key name, so the fuzzer reaches the
 * key-record parser and the signature code as well as the header, tag-list
 * and canonicalization parsers.  Checks: the result is one arc_verify()
 * may return, a message without "ARC-" header fields is never anything but
 * cv=none, and a chain never passes without a key.  Everything is freed,
 * so LeakSanitizer checks the error paths.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect_auth.h"
#include "util/util.h"
#include "fuzz.h"

static enum dns_status
key_fn(void *arg, const char *name, char ***txt)
{
	const char *rec = arg;

	(void)name;
	*txt = NULL;
	if (rec == NULL)
		return DNS_NXDOMAIN;
	*txt = xcalloc(2, sizeof(char *));
	(*txt)[0] = xstrdup(rec);
	return DNS_OK;
}

/* "ARC-" in any case anywhere: without it there is no ARC header field. */
static int
has_arc(const char *s, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i++)
		if (util_strncasecmp(s + i, "arc-", 4) == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	char *rec = NULL, *msg;
	size_t len;
	struct arc_outcome o;

	if (size >= 2 && p[0] == 'K' && p[1] == ':') {
		const char *nl = memchr(p, '\n', size);
		size_t n = nl ? (size_t)(nl - p) : size;

		rec = xstrndup(p + 2, n - 2);
		p += nl ? n + 1 : n;
		size -= nl ? n + 1 : n;
	}
	msg = auth_crlf(p, size, &len);
	arc_verify(msg, len, key_fn, rec, &o);
	CHECK(o.result == AUTH_NONE || o.result == AUTH_PASS || o.result == AUTH_FAIL ||
	    o.result == AUTH_TEMPERROR);
	CHECK(o.instances >= 0 && o.instances <= ARC_MAX_INSTANCES);
	if (!has_arc(msg, len))
		CHECK(o.result == AUTH_NONE);
	if (rec == NULL)
		CHECK(o.result != AUTH_PASS);
	free(msg);
	free(rec);
	return 0;
}
