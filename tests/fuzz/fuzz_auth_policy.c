/*
 * fuzz_auth_policy.c - libFuzzer harness for auth_policy_parse()
 * (src/account/auth_policy.c), the parser of the JSON bodies Dovecot's auth
 * policy client POSTs.
 *
 * The body is parsed from a malloc'ed copy of exactly its size (reads past
 * the end show under ASan) and again from the input; both must agree.  On
 * success every string field is NUL-terminated inside its array and the
 * flags are 0 or 1; on failure the error has a message.  The answer is then
 * formatted from the parsed login as the server would, and must be valid
 * for its buffer.  Bodies over AUTH_POLICY_BODY_MAX are cut as the server
 * cuts them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/auth_policy.h"
#include "fuzz.h"

#define TERMINATED(f) CHECK(memchr((f), '\0', sizeof(f)) != NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_policy_req a, b;
	char err[256], errb[256], answer[512];
	char *copy;
	int ra, rb;

	if (size > AUTH_POLICY_BODY_MAX)
		size = AUTH_POLICY_BODY_MAX;
	copy = malloc(size ? size : 1);
	CHECK(copy != NULL);
	memcpy(copy, data, size);
	memset(&a, 0x5a, sizeof(a));
	memset(&b, 0x5a, sizeof(b));
	err[0] = errb[0] = '\0';
	ra = auth_policy_parse(copy, size, &a, err, sizeof(err));
	rb = auth_policy_parse((const char *)data, size, &b, errb, sizeof(errb));
	CHECK(ra == rb);
	CHECK(ra == 0 || ra == -1);
	if (ra < 0) {
		CHECK(err[0] != '\0');
		CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	} else {
		TERMINATED(a.login);
		TERMINATED(a.remote);
		TERMINATED(a.pwhash);
		TERMINATED(a.protocol);
		TERMINATED(a.session_id);
		CHECK(strcmp(a.login, b.login) == 0);
		CHECK(strcmp(a.remote, b.remote) == 0);
		CHECK(strcmp(a.pwhash, b.pwhash) == 0);
		CHECK(a.tls == b.tls && a.success == b.success);
		CHECK(a.has_success == 0 || a.has_success == 1);
		CHECK(a.success == 0 || a.success == 1);
		CHECK(a.policy_reject == 0 || a.policy_reject == 1);
		/* the answer carries text derived from the request */
		if (auth_policy_format(-1, a.login, answer, sizeof(answer)) == 0)
			CHECK(memchr(answer, '\0', sizeof(answer)) != NULL);
	}
	free(copy);
	return 0;
}
