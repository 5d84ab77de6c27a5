/*
 * fuzz_logwatch.c - libFuzzer harness for logwatch_parse()
 * (src/account/logwatch.c), the parser of the Postfix and Dovecot log
 * lines (files or the journal) the login guard counts failures from.
 * Part of a line (the login a client tried) is chosen by whoever connects.
 *
 * The input is cut into lines as the watcher cuts them (at '\n', at most
 * LINE_MAX bytes each) and every line is parsed from a malloc'ed copy of
 * exactly its length and NUL.  Checks on a hit: the fields are
 * NUL-terminated inside their arrays, login and ip are not empty, the ip
 * is an IPv4 or IPv6 address, the count is 1..100 and the source names
 * the parser; on no hit the result is zeroed.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/logwatch.h"
#include "fuzz.h"

#define TERMINATED(f) CHECK(memchr((f), '\0', sizeof(f)) != NULL)
#define LINE_MAX_BYTES	8192

static void
one_line(const uint8_t *p, size_t n)
{
	struct logwatch_hit h;
	char *line = malloc(n + 1);
	unsigned char a[16];

	CHECK(line != NULL);
	memcpy(line, p, n);
	line[n] = '\0';
	memset(&h, 0x5a, sizeof(h));
	if (logwatch_parse(line, &h)) {
		TERMINATED(h.login);
		TERMINATED(h.ip);
		TERMINATED(h.protocol);
		CHECK(h.login[0] != '\0' && h.ip[0] != '\0');
		CHECK(inet_pton(AF_INET, h.ip, a) == 1 || inet_pton(AF_INET6, h.ip, a) == 1);
		CHECK(h.count >= 1 && h.count <= 100);
		CHECK(h.source != NULL && (strcmp(h.source, "postfix-log") == 0 ||
		    strcmp(h.source, "dovecot-log") == 0));
		for (const unsigned char *c = (const unsigned char *)h.login; *c; c++)
			CHECK(*c != '\r' && *c != '\n');
	} else {
		CHECK(h.login[0] == '\0' && h.ip[0] == '\0' && h.count == 0);
	}
	free(line);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t start = 0;

	if (size > 256 * 1024)
		return 0;
	for (size_t i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			size_t n = i - start;
			if (n < LINE_MAX_BYTES && memchr(data + start, '\0', n) == NULL)
				one_line(data + start, n);
			start = i + 1;
		}
	}
	return 0;
}
