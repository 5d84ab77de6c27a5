/*
 * fuzz_learn_report.c - libFuzzer harness for learn_scanned_copy()
 * (src/detect/learn.c): a delivered copy -- a user's report to /learn, a
 * Junk folder given to sekisho learn -- made into the message as sekisho
 * scanned it before it is learned.
 *
 * Each input is parsed and cleaned with the tag "[SPAM]" and the
 * authserv-id gw.sekisho.test, and checked: nothing to clean (NULL) only
 * when the message has no X-Sekisho-Result field; a cleaned copy parses
 * again, has CRLF line endings only, no X-Sekisho-Result field, and a
 * Subject that no longer starts with the tag unless the input's held it
 * twice.  Any broken check aborts so the fuzzer reports it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/learn.h"
#include "message/message.h"
#include "util/util.h"
#include "fuzz.h"

#define TAG	"[SPAM]"
#define AUTHSERV "gw.sekisho.test"

static int
has_result_field(const struct message *m)
{
	for (size_t i = 0; i < m->nheaders; i++)
		if (util_strcasecmp(m->headers[i].name, "X-Sekisho-Result") == 0)
			return 1;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message *in, *out;
	size_t len = 0;
	char *clean;

	if (size > (1 << 20))
		return 0;
	in = message_parse((const char *)data, size, NULL);
	CHECK(in != NULL);
	clean = learn_scanned_copy(in, TAG, AUTHSERV, &len);
	if (clean == NULL) {
		CHECK(len == 0 && !has_result_field(in));
	} else {
		for (size_t i = 0; i < len; i++)
			if (clean[i] == '\n')
				CHECK(i > 0 && clean[i - 1] == '\r');
		out = message_parse(clean, len, NULL);
		CHECK(out != NULL);
		if (!(in->limits & (MSG_LIMIT_HEADERS | MSG_LIMIT_HEADER_BYTES)))
			CHECK(!has_result_field(out));
		if (out->subject != NULL && strncmp(out->subject, TAG, strlen(TAG)) == 0)
			CHECK(in->subject != NULL && strstr(in->subject + strlen(TAG), TAG) != NULL);
		message_free(out);
		free(clean);
	}
	message_free(in);
	return 0;
}
