/*
 * test_util.c - leaf helpers: networks (trusted_networks relies on them),
 * the growing buffer, log quoting, untrusted bytes as a line of text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/util.h"

struct cidr_case {
	const char *net;
	const char *addr;
	int match;
};

static void
test_cidr(void **state)
{
	static const struct cidr_case cases[] = {
		{ "127.0.0.0/8", "127.0.0.1", 1 },
		{ "127.0.0.0/8", "128.0.0.1", 0 },
		{ "192.0.2.0/24", "192.0.2.255", 1 },
		{ "192.0.2.0/24", "192.0.3.0", 0 },
		{ "192.0.2.128/25", "192.0.2.127", 0 },
		{ "192.0.2.128/25", "192.0.2.200", 1 },
		{ "10.0.0.1", "10.0.0.1", 1 },		/* a single address is /32 */
		{ "10.0.0.1", "10.0.0.2", 0 },
		{ "0.0.0.0/0", "203.0.113.9", 1 },
		{ "127.0.0.0/8", "::ffff:127.0.0.1", 1 },	/* v4-mapped v6 */
		{ "::1/128", "::1", 1 },
		{ "::1/128", "127.0.0.1", 0 },
		{ "2001:db8::/32", "2001:db8:ffff::1", 1 },
		{ "2001:db8::/32", "2001:db9::1", 0 },
		{ "127.0.0.0/8", "not an address", 0 },
		{ "127.0.0.0/8", "", 0 },
	};
	static const char *const bad[] = {
		"", "127.0.0.0/", "127.0.0.0/33", "::/129", "127.0.0.0/-1", "127.0.0.0/8x",
		"256.0.0.0/8", "example.org", "1.2.3.4/8/8",
		"0123456789012345678901234567890123456789012345678901234567890123456789",
	};
	struct cidr c;

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		assert_int_equal(cidr_parse(cases[i].net, &c), 0);
		if (cidr_match(&c, cases[i].addr) != cases[i].match)
			fail_msg("%s vs %s: want %d", cases[i].net, cases[i].addr, cases[i].match);
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++)
		if (cidr_parse(bad[i], &c) == 0)
			fail_msg("'%s' was taken for a network", bad[i]);
}

static void
test_buf(void **state)
{
	struct buf b = { 0 };
	size_t len;
	char *s;

	(void)state;
	s = buf_steal(&b, &len);		/* empty: "" */
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	for (int i = 0; i < 1000; i++)
		buf_printf(&b, "%04d,", i);
	assert_int_equal(b.len, 5000);
	assert_memory_equal(b.p + 4995, "0999,", 5);
	assert_int_equal(b.p[b.len], '\0');
	buf_reset(&b);
	buf_add(&b, "a\0b", 3);			/* binary-safe */
	assert_int_equal(b.len, 3);
	buf_base64(&b, "Man", 3);
	assert_memory_equal(b.p + 3, "TWFu", 4);
	buf_str(&b, "!");
	s = buf_steal(&b, &len);
	assert_int_equal(len, 8);
	assert_null(b.p);
	free(s);
	buf_free(&b);
	buf_free(&b);				/* twice is fine */
}

static void
test_log_quote(void **state)
{
	char out[64];

	(void)state;
	assert_string_equal(log_kv_quote(out, sizeof(out), "a@example.org"), "a@example.org");
	assert_string_equal(log_kv_quote(out, sizeof(out), ""), "\"\"");
	/* a CR/LF from a peer can never start a new log line */
	assert_string_equal(log_kv_quote(out, sizeof(out), "x\r\nfake: line"),
	    "\"x\\x0d\\x0afake: line\"");
	assert_string_equal(log_kv_quote(out, sizeof(out), "say \"hi\""), "\"say \\\"hi\\\"\"");
	/* truncation keeps the result terminated */
	log_kv_quote(out, 8, "a very long value with spaces");
	assert_true(strlen(out) < 8);
}

/* util_printable: untrusted bytes (a raw n-gram of a message) as one line. */
static void
test_printable(void **state)
{
	static const struct {
		const char *in;
		size_t len, size;
		const char *want;
	} cases[] = {
		{ "g:plain", 7, 64, "g:plain" },
		{ "g:0\nMe", 6, 64, "g:0\\nMe" },
		{ "a\r\tb\x01\x7f", 6, 64, "a\\r\\tb\\x01\\x7f" },
		{ "a\0b", 3, 64, "a\\x00b" },			/* NUL inside */
		{ "c:\\d", 4, 64, "c:\\\\d" },		/* backslash doubled */
		{ "b:\xe6\x9d\xb1\xe4\xba\xac", 8, 64, "b:\xe6\x9d\xb1\xe4\xba\xac" },	/* 東京 */
		{ "g:\x82\xa0\x93", 5, 64, "g:\\x82\\xa0\\x93" },	/* Shift_JIS bytes */
		{ "g:\xe6\x9d", 4, 64, "g:\\xe6\\x9d" },	/* a character cut by the length */
		{ "ab\xe6\x9d\xb1", 5, 5, "ab" },		/* out full: a whole character or none */
		{ "abc\n", 4, 5, "abc" },			/* nor half an escape */
		{ "", 0, 4, "" },
	};
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 'Z', sizeof(out));
		util_printable(out, cases[i].size, cases[i].in, cases[i].len);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, out, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cidr),
		cmocka_unit_test(test_buf),
		cmocka_unit_test(test_log_quote),
		cmocka_unit_test(test_printable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
