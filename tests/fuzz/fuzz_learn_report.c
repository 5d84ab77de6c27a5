/*
 * fuzz_learn_report.c - libFuzzer harness for http_learn_clean()
 * (src/http/http_learn.c): a message a mail server posts to /learn, made
 * into the message as sekisho scanned it before it is learned.
 *
 * Each input is cleaned with tag_subject_prefix "[SPAM]" and checked: when
 * the input is mail (a header field), the result parses again as mail with
 * CRLF line endings only, holds no X-Sekisho-Result field at the top level,
 * and its Subject no longer starts with the prefix unless the input's
 * started with it twice.  Any broken check aborts so the fuzzer reports it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_int.h"
#include "message/message.h"
#include "util/config.h"
#include "util/util.h"
#include "fuzz.h"

static const struct config *
cfg_once(void)
{
	static struct config *cfg;
	char err[256];

	if (cfg == NULL) {
		cfg = config_new();
		CHECK(config_set(cfg, "tag_subject_prefix", "[SPAM]", err, sizeof(err)) == 0);
		CHECK(config_set(cfg, "myhostname", "gw.sekisho.test", err, sizeof(err)) == 0);
	}
	return cfg;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config *cfg = cfg_once();
	struct message *in, *out;
	size_t len = 0;
	char *clean;

	if (size > (1 << 20))
		return 0;
	in = message_parse((const char *)data, size, NULL);
	clean = http_learn_clean(cfg, (const char *)data, size, &len);
	CHECK((clean == NULL) == (in == NULL || in->nheaders == 0));
	if (clean != NULL) {
		for (size_t i = 0; i < len; i++)
			if (clean[i] == '\n')
				CHECK(i > 0 && clean[i - 1] == '\r');
		out = message_parse(clean, len, NULL);
		CHECK(out != NULL);
		for (size_t i = 0; i < out->nheaders; i++)
			CHECK(util_strcasecmp(out->headers[i].name, "X-Sekisho-Result") != 0);
		if (out->subject != NULL && strncmp(out->subject, "[SPAM]", 6) == 0)
			CHECK(in->subject != NULL && strstr(in->subject + 6, "[SPAM]") != NULL);
		message_free(out);
		free(clean);
	}
	message_free(in);
	return 0;
}
