/*
 * fuzz_sieve.c - libFuzzer harness for src/account/sieve_parse.c.
 *
 * The input is a Sieve script.  It is parsed whole and, to catch reads
 * past the end, from a malloc'ed copy of exactly its size; both parses
 * must agree.  Whatever the outcome, the invariants hold: an error comes
 * with a message, the actions are within SIEVE_MAX_ACTIONS, each has a
 * known kind, a target string and a line inside the script; and the
 * findings judged from them each have a key.  Everything is freed, so
 * LeakSanitizer checks the error paths too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/sieve_audit.h"
#include "util/config.h"
#include "util/util.h"
#include "fuzz.h"

static struct config *cfg;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sieve_script a, b;
	struct sieve_user_audit ua;
	char *copy = malloc(size ? size : 1);
	size_t lines = 1;
	int ra, rb;

	if (cfg == NULL)
		cfg = config_new();
	CHECK(copy != NULL);
	memcpy(copy, data, size);
	for (size_t i = 0; i < size; i++)
		lines += data[i] == '\n';
	ra = sieve_parse(copy, size, &a);
	rb = sieve_parse((const char *)data, size, &b);
	CHECK(ra == rb);
	CHECK(ra == 0 || ra == -1);
	CHECK((ra < 0) == (a.error != 0));
	CHECK(!a.error || a.errmsg[0] != '\0');
	CHECK(a.nact == b.nact);
	CHECK(a.nact <= SIEVE_MAX_ACTIONS);
	for (size_t i = 0; i < a.nact; i++) {
		CHECK(a.act[i].kind >= SIEVE_REDIRECT && a.act[i].kind <= SIEVE_PIPE);
		CHECK(a.act[i].kind == b.act[i].kind);
		CHECK(a.act[i].target != NULL);
		CHECK(strcmp(a.act[i].target, b.act[i].target) == 0);
		CHECK(a.act[i].line >= 1 && (size_t)a.act[i].line <= lines);
	}
	memset(&ua, 0, sizeof(ua));
	ua.user = xstrdup("fuzz");
	sieve_judge(cfg, "fuzz.sieve", &a, &ua);
	CHECK(ua.nf == a.nact + (a.error ? 1 : 0));
	for (size_t i = 0; i < ua.nf; i++) {
		char *k = sieve_finding_key(&ua.f[i]);
		CHECK(k != NULL && strchr(k, '|') != NULL);
		free(k);
	}
	sieve_user_audit_clear(&ua);
	sieve_script_clear(&a);
	sieve_script_clear(&b);
	free(copy);
	return 0;
}
