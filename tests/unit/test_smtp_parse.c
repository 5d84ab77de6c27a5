/*
 * test_smtp_parse.c - the SMTP parser, table by table: command lines,
 * commands, MAIL/RCPT paths and parameters, AUTH, and the DATA decoder.
 *
 * Every DATA case runs in strict and normalize mode, fed whole, one byte at
 * a time, and split in two at every offset: the decoder must give the same
 * bytes, stop at the same place and flag the same bare newlines each time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"
#include "util/base64.h"

#define B(s) s, sizeof(s) - 1	/* a literal with its length (NULs inside) */

/* Every error is one well-formed reply line: "ddd d.d.d text", no CR/LF. */
static void
assert_reply(const char *err, const char *want_prefix, const char *what)
{
	if (err == NULL)
		fail_msg("%s: accepted, want \"%s\"", what, want_prefix);
	if (strncmp(err, want_prefix, strlen(want_prefix)) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", what, err, want_prefix);
	assert_true(strlen(err) > 10);
	assert_true(err[0] == '4' || err[0] == '5');
	assert_true(err[3] == ' ' && err[4] == err[0] && err[5] == '.');
	assert_null(strpbrk(err, "\r\n"));
}

/* ---- smtp_line_find ---- */

static const struct {
	const char *buf;
	size_t len;
	size_t max;
	enum smtp_line_status st;
	size_t linelen;
	size_t consumed;
} line_cases[] = {
	{ B("HELO x\r\n"), 512, SMTP_LINE_OK, 6, 8 },
	{ B("HELO x\r\nQUIT\r\n"), 512, SMTP_LINE_OK, 6, 8 },
	{ B("\r\n"), 512, SMTP_LINE_OK, 0, 2 },
	{ B("HELO x"), 512, SMTP_LINE_MORE, 0, 0 },
	{ B("HELO x\r"), 512, SMTP_LINE_MORE, 0, 0 },
	{ B(""), 512, SMTP_LINE_MORE, 0, 0 },
	/* bare LF (RFC 5321 2.3.8): reported, never taken as CRLF */
	{ B("HELO x\n"), 512, SMTP_LINE_BARE_LF, 6, 7 },
	{ B("\n"), 512, SMTP_LINE_BARE_LF, 0, 1 },
	{ B("\nQUIT\r\n"), 512, SMTP_LINE_BARE_LF, 0, 1 },
	/* a CR inside a line is a byte of the line; the command parser refuses it */
	{ B("NO\rOP\r\n"), 512, SMTP_LINE_OK, 5, 7 },
	{ B("NOOP\r\r\n"), 512, SMTP_LINE_OK, 5, 7 },
	/* NUL is an ordinary byte here */
	{ B("NO\0OP\r\n"), 512, SMTP_LINE_OK, 5, 7 },
	/* limits: max counts the CRLF */
	{ B("ABCDEF\r\n"), 8, SMTP_LINE_OK, 6, 8 },
	{ B("ABCDEFG\n"), 8, SMTP_LINE_BARE_LF, 7, 8 },
	{ B("ABCDEFG\r\n"), 8, SMTP_LINE_TOO_LONG, 0, 7 },	/* CR kept */
	{ B("ABCDEFGH\r\n"), 8, SMTP_LINE_TOO_LONG, 0, 8 },
	{ B("ABCDEFGH"), 8, SMTP_LINE_TOO_LONG, 0, 8 },
	{ B("ABCDEFGHIJKLMNOP"), 8, SMTP_LINE_TOO_LONG, 0, 8 },
	{ B("ABCDEFG"), 8, SMTP_LINE_MORE, 0, 0 },
	{ B("\r\r\r\r\r\r\r\r\r"), 8, SMTP_LINE_TOO_LONG, 0, 7 },
	/* a nonsense max still makes progress */
	{ B("AB"), 0, SMTP_LINE_TOO_LONG, 0, 2 },
	{ B("\r\n"), 1, SMTP_LINE_OK, 0, 2 },
};

static void
test_line_find(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(line_cases) / sizeof(line_cases[0]); i++) {
		size_t linelen = 99, consumed = 99;
		enum smtp_line_status st = smtp_line_find(line_cases[i].buf,
		    line_cases[i].len, line_cases[i].max, &linelen, &consumed);

		if (st != line_cases[i].st || linelen != line_cases[i].linelen ||
		    consumed != line_cases[i].consumed)
			fail_msg("line case %zu: status %d len %zu consumed %zu", i,
			    (int)st, linelen, consumed);
	}
}

/*
 * The caller's loop over a stream with an over-long line: one TOO_LONG,
 * then everything up to the next line end is dropped, then lines resume.
 * The long line is cut right before its CR, so its CRLF arrives split.
 */
static void
test_line_discard(void **state)
{
	char stream[2048];
	size_t len = 0, off = 0, linelen, consumed;
	int discarding = 0, too_long = 0, lines = 0;
	char seen[4][16];

	(void)state;
	len += (size_t)sprintf(stream + len, "HELO a\r\n");
	memset(stream + len, 'X', 511);
	len += 511;
	len += (size_t)sprintf(stream + len, "\r\nNOOP\r\n");
	memset(stream + len, 'Y', 1500);
	len += 1500;
	len += (size_t)sprintf(stream + len, "\r\nQUIT\r\n");

	while (off < len) {
		enum smtp_line_status st = smtp_line_find(stream + off, len - off, 512,
		    &linelen, &consumed);

		assert_int_not_equal(st, SMTP_LINE_MORE);
		assert_true(consumed > 0);
		assert_int_not_equal(st, SMTP_LINE_BARE_LF);
		if (st == SMTP_LINE_TOO_LONG) {
			if (!discarding)
				too_long++;
			discarding = 1;
		} else if (discarding)
			discarding = 0;
		else {
			assert_true(lines < 4 && linelen < sizeof(seen[0]));
			memcpy(seen[lines], stream + off, linelen);
			seen[lines++][linelen] = '\0';
		}
		off += consumed;
	}
	assert_int_equal(too_long, 2);
	assert_int_equal(lines, 3);
	assert_string_equal(seen[0], "HELO a");
	assert_string_equal(seen[1], "NOOP");
	assert_string_equal(seen[2], "QUIT");
}

/* ---- smtp_parse_command ---- */

static const struct {
	const char *line;
	size_t len;
	const char *err;
	enum smtp_verb verb;
	const char *arg;
} cmd_cases[] = {
	{ B("HELO example.com"), NULL, SMTP_VERB_HELO, "example.com" },
	{ B("ehlo example.com"), NULL, SMTP_VERB_EHLO, "example.com" },
	{ B("EhLo [192.0.2.1]"), NULL, SMTP_VERB_EHLO, "[192.0.2.1]" },
	{ B("MAIL FROM:<a@example.com> SIZE=10"), NULL, SMTP_VERB_MAIL,
	  "FROM:<a@example.com> SIZE=10" },
	{ B("rcpt to:<b@example.com>"), NULL, SMTP_VERB_RCPT, "to:<b@example.com>" },
	{ B("DATA"), NULL, SMTP_VERB_DATA, "" },
	{ B("data "), NULL, SMTP_VERB_DATA, "" },
	{ B("RSET"), NULL, SMTP_VERB_RSET, "" },
	{ B("NOOP anything"), NULL, SMTP_VERB_NOOP, "anything" },
	{ B("QUIT"), NULL, SMTP_VERB_QUIT, "" },
	{ B("HELP"), NULL, SMTP_VERB_HELP, "" },
	{ B("VRFY user"), NULL, SMTP_VERB_VRFY, "user" },
	{ B("EXPN list"), NULL, SMTP_VERB_EXPN, "list" },
	{ B("STARTTLS"), NULL, SMTP_VERB_STARTTLS, "" },
	{ B("starttls"), NULL, SMTP_VERB_STARTTLS, "" },
	{ B("AUTH PLAIN AHVzZXIAcGFzcw=="), NULL, SMTP_VERB_AUTH, "PLAIN AHVzZXIAcGFzcw==" },
	{ B("BDAT 100 LAST"), NULL, SMTP_VERB_BDAT, "100 LAST" },
	{ B("HELO  two"), NULL, SMTP_VERB_HELO, " two" },	/* only one space eaten */
	{ B("MAIL FROM:<\xc3\xa9@example.com>"), NULL, SMTP_VERB_MAIL,
	  "FROM:<\xc3\xa9@example.com>" },
	/* unknown verbs */
	{ B(""), "502 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B(" HELO x"), "502 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("MAILX FROM:<a@b>"), "502 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("MAI"), "502 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("MAIL:FROM:<a@b>"), "502 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("GET / HTTP/1.1"), "502 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("START TLS"), "502 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("H\xc3\x89LO x"), "502 5.5.2", SMTP_VERB_UNKNOWN, "" },
	/* control bytes anywhere */
	{ B("HELO\tx"), "500 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("HELO x\r"), "500 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("HELO x\ry"), "500 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("HELO x\ny"), "500 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("HE\0LO x"), "500 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("RCPT TO:<a@b>\0<c@d>"), "500 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("NOOP \x7f"), "500 5.5.2", SMTP_VERB_UNKNOWN, "" },
	{ B("NOOP \x1b[2J"), "500 5.5.2", SMTP_VERB_UNKNOWN, "" },
};

static void
test_command(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++) {
		struct smtp_cmd cmd;
		char what[64];
		const char *err = smtp_parse_command(cmd_cases[i].line,
		    cmd_cases[i].len, &cmd);

		snprintf(what, sizeof(what), "command case %zu", i);
		if (cmd_cases[i].err != NULL)
			assert_reply(err, cmd_cases[i].err, what);
		else if (err != NULL)
			fail_msg("%s: refused: %s", what, err);
		assert_int_equal(cmd.verb, cmd_cases[i].verb);
		assert_non_null(cmd.arg);
		assert_string_equal(cmd.arg, cmd_cases[i].arg);
	}
}

/* ---- MAIL FROM: the path ---- */

static const struct {
	const char *arg;
	const char *err;	/* reply prefix, or NULL for success */
	const char *addr;
} mail_addr_cases[] = {
	{ "FROM:<user@example.com>", NULL, "user@example.com" },
	{ "from:<user@example.com>", NULL, "user@example.com" },
	{ "From: <user@example.com>", NULL, "user@example.com" },	/* one space */
	{ "FROM:<>", NULL, "" },
	{ "FROM: <>", NULL, "" },
	{ "FROM:<>  ", NULL, "" },
	{ "FROM:<user+tag@sub.example.com>", NULL, "user+tag@sub.example.com" },
	{ "FROM:<!#$%&'*+-/=?^_`{|}~@example.com>", NULL, "!#$%&'*+-/=?^_`{|}~@example.com" },
	{ "FROM:<first.last@x-y.example>", NULL, "first.last@x-y.example" },
	{ "FROM:<a@b>", NULL, "a@b" },
	{ "FROM:<a@1.2.3.4.example>", NULL, "a@1.2.3.4.example" },
	/* quoted local parts are kept as given */
	{ "FROM:<\"john doe\"@example.com>", NULL, "\"john doe\"@example.com" },
	{ "FROM:<\"a\\\"b\\\\c\"@example.com>", NULL, "\"a\\\"b\\\\c\"@example.com" },
	{ "FROM:<\"a>b\"@example.com>", NULL, "\"a>b\"@example.com" },
	{ "FROM:<\"\"@example.com>", NULL, "\"\"@example.com" },
	{ "FROM:<\"@\"@example.com>", NULL, "\"@\"@example.com" },
	/* address literals */
	{ "FROM:<user@[192.0.2.1]>", NULL, "user@[192.0.2.1]" },
	{ "FROM:<user@[0.0.0.0]>", NULL, "user@[0.0.0.0]" },
	{ "FROM:<user@[255.255.255.255]>", NULL, "user@[255.255.255.255]" },
	{ "FROM:<user@[IPv6:2001:db8::1]>", NULL, "user@[IPv6:2001:db8::1]" },
	{ "FROM:<user@[ipv6:::1]>", NULL, "user@[ipv6:::1]" },
	{ "FROM:<user@[IPv6:::ffff:192.0.2.1]>", NULL, "user@[IPv6:::ffff:192.0.2.1]" },
	{ "FROM:<user@[x-tag:some!content]>", NULL, "user@[x-tag:some!content]" },
	/* source routes are dropped (RFC 5321 C) */
	{ "FROM:<@a.example:user@c.example>", NULL, "user@c.example" },
	{ "FROM:<@a.example,@b.example:user@c.example>", NULL, "user@c.example" },
	/* legacy Japanese mobile addresses */
	{ "FROM:<first..last@docomo.ne.jp>", NULL, "first..last@docomo.ne.jp" },
	{ "FROM:<trailing.@ezweb.ne.jp>", NULL, "trailing.@ezweb.ne.jp" },
	/* UTF-8 with SMTPUTF8 */
	{ "FROM:<用户@例子.广告> SMTPUTF8", NULL, "用户@例子.广告" },
	{ "FROM:<\"ユーザー\"@example.jp> SMTPUTF8", NULL, "\"ユーザー\"@example.jp" },
	{ "FROM:<user@bücher.example> SMTPUTF8", NULL, "user@bücher.example" },
	{ "FROM:<\xf0\x9f\x98\x80@example.com> smtputf8", NULL, "\xf0\x9f\x98\x80@example.com" },

	/* wrong keyword, wrong shape */
	{ "TO:<user@example.com>", "501 5.5.4", NULL },
	{ "FROM<user@example.com>", "501 5.5.4", NULL },
	{ "FROM :<user@example.com>", "501 5.5.4", NULL },
	{ "", "501 5.5.4", NULL },
	{ "FROM:<user@example.com>x", "501 5.5.4", NULL },
	{ "FROM:<user@example.com>,SIZE=1", "501 5.5.4", NULL },
	{ "FROM:<>x", "501 5.5.4", NULL },
	/* bad paths */
	{ "FROM:user@example.com", "501 5.1.7", NULL },
	{ "FROM:", "501 5.1.7", NULL },
	{ "FROM:  <user@example.com>", "501 5.1.7", NULL },
	{ "FROM:<user@example.com", "501 5.1.7", NULL },
	{ "FROM:<<user@example.com>>", "501 5.1.7", NULL },
	{ "FROM:<user>", "501 5.1.7", NULL },
	{ "FROM:<postmaster>", "501 5.1.7", NULL },
	{ "FROM:<user@>", "501 5.1.7", NULL },
	{ "FROM:<@example.com>", "501 5.1.7", NULL },
	{ "FROM:<.user@example.com>", "501 5.1.7", NULL },
	{ "FROM:<user@example.com.>", "501 5.1.7", NULL },
	{ "FROM:<user@.example.com>", "501 5.1.7", NULL },
	{ "FROM:<user@example..com>", "501 5.1.7", NULL },
	{ "FROM:<user@-example.com>", "501 5.1.7", NULL },
	{ "FROM:<user@example-.com>", "501 5.1.7", NULL },
	{ "FROM:<user@exa_mple.com>", "501 5.1.7", NULL },
	{ "FROM:<user name@example.com>", "501 5.1.7", NULL },
	{ "FROM:<user@example.com >", "501 5.1.7", NULL },
	{ "FROM:< user@example.com>", "501 5.1.7", NULL },
	{ "FROM:<user(comment)@example.com>", "501 5.1.7", NULL },
	{ "FROM:<user@@example.com>", "501 5.1.7", NULL },
	{ "FROM:<user@example.com@example.org>", "501 5.1.7", NULL },
	{ "FROM:<\"unterminated@example.com>", "501 5.1.7", NULL },
	{ "FROM:<\"bad\x01\"@example.com>", "501 5.1.7", NULL },
	{ "FROM:<\"bad\\\x01\"@example.com>", "501 5.1.7", NULL },
	{ "FROM:<us\"er@example.com>", "501 5.1.7", NULL },
	{ "FROM:<user@[192.0.2.1>", "501 5.1.7", NULL },
	{ "FROM:<user@[]>", "501 5.1.7", NULL },
	{ "FROM:<user@[256.0.0.1]>", "501 5.1.7", NULL },
	{ "FROM:<user@[1.2.3]>", "501 5.1.7", NULL },
	{ "FROM:<user@[1.2.3.4.5]>", "501 5.1.7", NULL },
	{ "FROM:<user@[1.2.3.0004]>", "501 5.1.7", NULL },
	{ "FROM:<user@[IPv6:2001:db8::zz]>", "501 5.1.7", NULL },
	{ "FROM:<user@[IPv6:1.2.3.4]>", "501 5.1.7", NULL },
	{ "FROM:<user@[IPv6:fe80::1%eth0]>", "501 5.1.7", NULL },
	{ "FROM:<user@[:content]>", "501 5.1.7", NULL },
	{ "FROM:<user@[tag:]>", "501 5.1.7", NULL },
	{ "FROM:<user@[a b]>", "501 5.1.7", NULL },
	{ "FROM:<user@[1.2.3.4].example>", "501 5.1.7", NULL },
	{ "FROM:<@a.example>", "501 5.1.7", NULL },
	{ "FROM:<@a.example,user@c.example>", "501 5.1.7", NULL },
	{ "FROM:<@a.example,b.example:user@c.example>", "501 5.1.7", NULL },
	{ "FROM:<@[192.0.2.1]:user@c.example>", "501 5.1.7", NULL },
	{ "FROM:<user@0123456789012345678901234567890123456789012345678901234567890123.com>",
	  "501 5.1.7", NULL },
	/* UTF-8 without SMTPUTF8 */
	{ "FROM:<用户@example.com>", "553 5.6.7", NULL },
	{ "FROM:<user@例子.广告>", "553 5.6.7", NULL },
	{ "FROM:<\"ユーザー\"@example.jp>", "553 5.6.7", NULL },
	{ "FROM:<@例子.广告:user@example.com>", "553 5.6.7", NULL },
	/* broken UTF-8 even with SMTPUTF8 */
	{ "FROM:<\xff@example.com> SMTPUTF8", "501 5.1.7", NULL },
	{ "FROM:<\xc0\xaf@example.com> SMTPUTF8", "501 5.1.7", NULL },		/* overlong */
	{ "FROM:<\xe0\x80\xaf@example.com> SMTPUTF8", "501 5.1.7", NULL },	/* overlong */
	{ "FROM:<\xed\xa0\x80@example.com> SMTPUTF8", "501 5.1.7", NULL },	/* surrogate */
	{ "FROM:<\xf4\x90\x80\x80@example.com> SMTPUTF8", "501 5.1.7", NULL },	/* > U+10FFFF */
	{ "FROM:<\xe4\xbd@example.com> SMTPUTF8", "501 5.1.7", NULL },		/* truncated */
	{ "FROM:<user@\xe4\xbd> SMTPUTF8", "501 5.1.7", NULL },
	{ "FROM:<user@example.\xc2\xa0> SMTPUTF8", NULL, "user@example.\xc2\xa0" },
};

static void
test_mail_addr(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mail_addr_cases) / sizeof(mail_addr_cases[0]); i++) {
		struct smtp_mail_params p;
		char *addr = (char *)"unset";
		char what[160];
		const char *err = smtp_parse_mail(mail_addr_cases[i].arg, &addr, &p);

		snprintf(what, sizeof(what), "MAIL %s", mail_addr_cases[i].arg);
		if (mail_addr_cases[i].err != NULL) {
			assert_reply(err, mail_addr_cases[i].err, what);
			assert_null(addr);
			assert_null(p.envid);
			continue;
		}
		if (err != NULL)
			fail_msg("%s: refused: %s", what, err);
		assert_non_null(addr);
		assert_string_equal(addr, mail_addr_cases[i].addr);
		free(addr);
		smtp_mail_params_clear(&p);
	}
}

/* ---- MAIL FROM: parameters ---- */

static const struct {
	const char *arg;	/* after "FROM:<a@example.com>" */
	const char *err;
	int64_t size;
	enum body_type body;
	int smtputf8;
	enum dsn_ret ret;
	const char *envid;
} mail_param_cases[] = {
	{ "", NULL, -1, BODY_7BIT, 0, DSN_RET_DEFAULT, NULL },
	{ " ", NULL, -1, BODY_7BIT, 0, DSN_RET_DEFAULT, NULL },
	{ " SIZE=12345", NULL, 12345, BODY_7BIT, 0, DSN_RET_DEFAULT, NULL },
	{ " size=0", NULL, 0, BODY_7BIT, 0, DSN_RET_DEFAULT, NULL },
	{ " SIZE=9223372036854775807", NULL, INT64_MAX, BODY_7BIT, 0, DSN_RET_DEFAULT, NULL },
	{ " SIZE=99999999999999999999", NULL, INT64_MAX, BODY_7BIT, 0, DSN_RET_DEFAULT, NULL },
	{ " BODY=8BITMIME", NULL, -1, BODY_8BITMIME, 0, DSN_RET_DEFAULT, NULL },
	{ " body=8bitmime", NULL, -1, BODY_8BITMIME, 0, DSN_RET_DEFAULT, NULL },
	{ " BODY=7BIT", NULL, -1, BODY_7BIT, 0, DSN_RET_DEFAULT, NULL },
	{ " SMTPUTF8", NULL, -1, BODY_7BIT, 1, DSN_RET_DEFAULT, NULL },
	{ " RET=FULL", NULL, -1, BODY_7BIT, 0, DSN_RET_FULL, NULL },
	{ " ret=hdrs", NULL, -1, BODY_7BIT, 0, DSN_RET_HDRS, NULL },
	{ " ENVID=QQ314159", NULL, -1, BODY_7BIT, 0, DSN_RET_DEFAULT, "QQ314159" },
	{ " ENVID=a+2Bb+3Dc+20d", NULL, -1, BODY_7BIT, 0, DSN_RET_DEFAULT, "a+b=c d" },
	{ " ENVID=+2b", NULL, -1, BODY_7BIT, 0, DSN_RET_DEFAULT, "+" },
	{ " AUTH=<>", NULL, -1, BODY_7BIT, 0, DSN_RET_DEFAULT, NULL },
	{ " AUTH=user+40example.com", NULL, -1, BODY_7BIT, 0, DSN_RET_DEFAULT, NULL },
	{ " SIZE=10 BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=id1", NULL, 10, BODY_8BITMIME, 1,
	  DSN_RET_HDRS, "id1" },
	{ "  SIZE=10   BODY=7BIT  ", NULL, 10, BODY_7BIT, 0, DSN_RET_DEFAULT, NULL },
	/* unknown or unsupported */
	{ " FOO=bar", "555 5.5.4", 0, 0, 0, 0, NULL },
	{ " FOO", "555 5.5.4", 0, 0, 0, 0, NULL },
	{ " X-SOMETHING=1", "555 5.5.4", 0, 0, 0, 0, NULL },
	{ " NOTIFY=NEVER", "555 5.5.4", 0, 0, 0, 0, NULL },
	{ " ORCPT=rfc822;a@b", "555 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID=x FOO=bar", "555 5.5.4", 0, 0, 0, 0, NULL },	/* no leak of envid */
	{ " BODY=BINARYMIME", "555 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZEX=1", "555 5.5.4", 0, 0, 0, 0, NULL },
	/* bad syntax */
	{ " SIZE", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=abc", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=-1", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=+1", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=1.5", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=123456789012345678901", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=1 SIZE=2", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=1 size=1", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " BODY", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " BODY=9BIT", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " BODY=8BITMIMEX", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SMTPUTF8=yes", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SMTPUTF8 SMTPUTF8", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " RET=ALL", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " RET", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID=", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID=a+2", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID=a+GG", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID=a+0D+0Ab", "501 5.5.4", 0, 0, 0, 0, NULL },	/* CR LF decoded */
	{ " ENVID=a+00", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID=a+7F", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID=a+C3+A9", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID=a ENVID=b", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID=\xc3\xa9 SMTPUTF8", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " ENVID=0123456789012345678901234567890123456789012345678901234567890123456789"
	  "01234567890123456789012345678901", "501 5.5.4", 0, 0, 0, 0, NULL },	/* 101 */
	{ " AUTH", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " AUTH=a+ZZ", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " =1", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " -X=1", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE==1", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=1=2", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=1\x01", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SIZE=\xc3\xa9 SMTPUTF8", "501 5.5.4", 0, 0, 0, 0, NULL },
	{ " SI_ZE=1", "501 5.5.4", 0, 0, 0, 0, NULL },
};

static void
test_mail_params(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mail_param_cases) / sizeof(mail_param_cases[0]); i++) {
		struct smtp_mail_params p;
		char arg[256], what[300];
		char *addr = NULL;
		const char *err;

		snprintf(arg, sizeof(arg), "FROM:<a@example.com>%s", mail_param_cases[i].arg);
		snprintf(what, sizeof(what), "MAIL %s", arg);
		err = smtp_parse_mail(arg, &addr, &p);
		if (mail_param_cases[i].err != NULL) {
			assert_reply(err, mail_param_cases[i].err, what);
			assert_null(addr);
			assert_null(p.envid);
			continue;
		}
		if (err != NULL)
			fail_msg("%s: refused: %s", what, err);
		assert_string_equal(addr, "a@example.com");
		assert_true(p.size == mail_param_cases[i].size);
		assert_int_equal(p.body, mail_param_cases[i].body);
		assert_int_equal(p.smtputf8, mail_param_cases[i].smtputf8);
		assert_int_equal(p.ret, mail_param_cases[i].ret);
		if (mail_param_cases[i].envid == NULL)
			assert_null(p.envid);
		else
			assert_string_equal(p.envid, mail_param_cases[i].envid);
		free(addr);
		smtp_mail_params_clear(&p);
		assert_null(p.envid);
		smtp_mail_params_clear(&p);	/* twice is harmless */
	}
	smtp_mail_params_clear(NULL);
}

/* ---- RCPT TO ---- */

static const struct {
	const char *arg;
	int utf8;
	const char *err;
	const char *addr;
	int notify;
	const char *orcpt;
} rcpt_cases[] = {
	{ "TO:<user@example.com>", 0, NULL, "user@example.com", 0, NULL },
	{ "to: <user@example.com>", 0, NULL, "user@example.com", 0, NULL },
	{ "TO:<postmaster>", 0, NULL, "postmaster", 0, NULL },
	{ "TO:<PostMaster>", 0, NULL, "PostMaster", 0, NULL },
	{ "TO:<postmaster@example.com>", 0, NULL, "postmaster@example.com", 0, NULL },
	{ "TO:<@relay.example:user@example.com>", 0, NULL, "user@example.com", 0, NULL },
	{ "TO:<user@[192.0.2.7]>", 0, NULL, "user@[192.0.2.7]", 0, NULL },
	{ "TO:<\"a b\"@example.com>", 0, NULL, "\"a b\"@example.com", 0, NULL },
	{ "TO:<ユーザー@例え.jp>", 1, NULL, "ユーザー@例え.jp", 0, NULL },
	{ "TO:<a@example.com> NOTIFY=NEVER", 0, NULL, "a@example.com", DSN_NOTIFY_NEVER, NULL },
	{ "TO:<a@example.com> NOTIFY=SUCCESS,FAILURE", 0, NULL, "a@example.com",
	  DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE, NULL },
	{ "TO:<a@example.com> notify=failure,delay", 0, NULL, "a@example.com",
	  DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, NULL },
	{ "TO:<a@example.com> NOTIFY=DELAY,SUCCESS,FAILURE", 0, NULL, "a@example.com",
	  DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY | DSN_NOTIFY_SUCCESS, NULL },
	{ "TO:<a@example.com> ORCPT=rfc822;a+40example.com", 0, NULL, "a@example.com", 0,
	  "rfc822;a+40example.com" },
	{ "TO:<a@example.com> NOTIFY=FAILURE ORCPT=rfc822;b@example.com", 0, NULL,
	  "a@example.com", DSN_NOTIFY_FAILURE, "rfc822;b@example.com" },
	{ "TO:<a@example.com> ORCPT=utf-8;\xe4\xbe\x8b@example.jp", 1, NULL, "a@example.com", 0,
	  "utf-8;\xe4\xbe\x8b@example.jp" },
	{ "TO:<a@example.com>  ", 0, NULL, "a@example.com", 0, NULL },

	{ "TO:<>", 0, "501 5.1.3", NULL, 0, NULL },
	{ "TO: <>", 0, "501 5.1.3", NULL, 0, NULL },
	{ "TO:<someone>", 0, "501 5.1.3", NULL, 0, NULL },
	{ "TO:<postmasters>", 0, "501 5.1.3", NULL, 0, NULL },
	{ "TO:<\"postmaster\">", 0, "501 5.1.3", NULL, 0, NULL },
	{ "TO:<user@example..com>", 0, "501 5.1.3", NULL, 0, NULL },
	{ "TO:user@example.com", 0, "501 5.1.3", NULL, 0, NULL },
	{ "TO:<a@example.com", 0, "501 5.1.3", NULL, 0, NULL },
	{ "FROM:<a@example.com>", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com>x", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<ユーザー@例え.jp>", 0, "553 5.6.7", NULL, 0, NULL },
	{ "TO:<user@例え.jp>", 0, "553 5.6.7", NULL, 0, NULL },
	{ "TO:<\xff@example.jp>", 1, "501 5.1.3", NULL, 0, NULL },
	{ "TO:<a@example.com> NOTIFY=NEVER,SUCCESS", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> NOTIFY=SOMETIMES", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> NOTIFY=", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> NOTIFY", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> NOTIFY=SUCCESS,", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> NOTIFY=,SUCCESS", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> NOTIFY=SUCCESS NOTIFY=DELAY", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> ORCPT=rfc822", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> ORCPT=rfc822;", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> ORCPT=;a@b", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> ORCPT=rfc(822);a@b", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> ORCPT=rfc822;a+ZZb", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> ORCPT=utf-8;\xe4\xbe\x8b@example.jp", 0, "501 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> ORCPT=rfc822;a@b ORCPT=rfc822;c@d", 0, "501 5.5.4", NULL, 0, NULL },
	/* ORCPT allocated, then a later parameter fails: nothing leaks */
	{ "TO:<a@example.com> ORCPT=rfc822;a@b FOO", 0, "555 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> SIZE=10", 0, "555 5.5.4", NULL, 0, NULL },
	{ "TO:<a@example.com> SMTPUTF8", 0, "555 5.5.4", NULL, 0, NULL },
};

static void
test_rcpt(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]); i++) {
		struct smtp_rcpt_params p;
		char *addr = (char *)"unset";
		char what[200];
		const char *err = smtp_parse_rcpt(rcpt_cases[i].arg, rcpt_cases[i].utf8, &addr, &p);

		snprintf(what, sizeof(what), "RCPT %s (utf8 %d)", rcpt_cases[i].arg,
		    rcpt_cases[i].utf8);
		if (rcpt_cases[i].err != NULL) {
			assert_reply(err, rcpt_cases[i].err, what);
			assert_null(addr);
			assert_null(p.orcpt);
			continue;
		}
		if (err != NULL)
			fail_msg("%s: refused: %s", what, err);
		assert_string_equal(addr, rcpt_cases[i].addr);
		assert_int_equal(p.notify, rcpt_cases[i].notify);
		if (rcpt_cases[i].orcpt == NULL)
			assert_null(p.orcpt);
		else
			assert_string_equal(p.orcpt, rcpt_cases[i].orcpt);
		free(addr);
		smtp_rcpt_params_clear(&p);
		assert_null(p.orcpt);
	}
	smtp_rcpt_params_clear(NULL);
}

/* The 256-octet limit, counted without <> and without a source route. */
static void
test_addr_length(void **state)
{
	char arg[1200], local[600], route[400];
	struct smtp_mail_params mp;
	struct smtp_rcpt_params rp;
	char *addr;
	const char *err;

	(void)state;
	/* "@example.com" is 12 octets */
	for (size_t n = 240; n <= 250; n++) {
		int ok = n + 12 <= 256;

		memset(local, 'a', n);
		local[n] = '\0';
		snprintf(arg, sizeof(arg), "FROM:<%s@example.com>", local);
		err = smtp_parse_mail(arg, &addr, &mp);
		if (ok) {
			assert_null(err);
			assert_int_equal(strlen(addr), n + 12);
			free(addr);
			smtp_mail_params_clear(&mp);
		} else
			assert_reply(err, "501 5.1.7", arg);

		snprintf(arg, sizeof(arg), "TO:<%s@example.com>", local);
		err = smtp_parse_rcpt(arg, 0, &addr, &rp);
		if (ok) {
			assert_null(err);
			free(addr);
			smtp_rcpt_params_clear(&rp);
		} else
			assert_reply(err, "501 5.1.3", arg);
	}
	/* A long but valid source route does not count against the address... */
	memset(route, 0, sizeof(route));
	for (int i = 0; i < 20; i++)
		strcat(route, i ? ",@relay.example" : "@relay.example");	/* 299 */
	memset(local, 'a', 200);
	local[200] = '\0';
	snprintf(arg, sizeof(arg), "TO:<@r.example:%s@example.com>", local);
	assert_null(smtp_parse_rcpt(arg, 0, &addr, &rp));
	assert_int_equal(strlen(addr), 212);
	free(addr);
	smtp_rcpt_params_clear(&rp);
	/* ...but a route itself past 256 octets is refused. */
	snprintf(arg, sizeof(arg), "TO:<%s:user@example.com>", route);
	assert_reply(smtp_parse_rcpt(arg, 0, &addr, &rp), "501 5.1.3", arg);
	/* A 600-octet local part, and garbage after it, still just "too long". */
	memset(local, 'b', 599);
	local[599] = '\0';
	snprintf(arg, sizeof(arg), "FROM:<%s@example.com> SIZE=1", local);
	assert_reply(smtp_parse_mail(arg, &addr, &mp), "501 5.1.7", "600 octets");
}

/* ---- AUTH ---- */

static const struct {
	const char *raw;	/* authzid NUL authcid NUL passwd, base64'd by the test */
	size_t len;
	const char *err;
	const char *user;
	const char *pass;
} plain_cases[] = {
	{ B("\0user\0pass"), NULL, "user", "pass" },
	{ B("user\0user\0pass"), NULL, "user", "pass" },
	{ B("\0user@example.com\0p@ss w0rd!"), NULL, "user@example.com", "p@ss w0rd!" },
	{ B("\0ユーザー\0パスワード"), NULL, "ユーザー", "パスワード" },
	{ B("\0user\0\xe9t\xe9"), NULL, "user", "\xe9t\xe9" },	/* Latin-1 password */
	{ B("\0user\0a"), NULL, "user", "a" },
	/* someone else's identity */
	{ B("admin\0user\0pass"), "535 5.7.8", NULL, NULL },
	{ B("User\0user\0pass"), "535 5.7.8", NULL, NULL },
	{ B("user2\0user\0pass"), "535 5.7.8", NULL, NULL },
	{ B("use\0user\0pass"), "535 5.7.8", NULL, NULL },
	/* malformed */
	{ B(""), "501 5.5.2", NULL, NULL },
	{ B("\0"), "501 5.5.2", NULL, NULL },
	{ B("\0\0"), "501 5.5.2", NULL, NULL },
	{ B("\0\0pass"), "501 5.5.2", NULL, NULL },
	{ B("\0user\0"), "501 5.5.2", NULL, NULL },
	{ B("user\0pass"), "501 5.5.2", NULL, NULL },
	{ B("userpass"), "501 5.5.2", NULL, NULL },
	{ B("\0user\0pa\0ss"), "501 5.5.2", NULL, NULL },
	{ B("\0user\0pass\0"), "501 5.5.2", NULL, NULL },
	{ B("\0us\rer\0pass"), "501 5.5.2", NULL, NULL },
	{ B("\0us\ner\0pass"), "501 5.5.2", NULL, NULL },
	{ B("\0\xff\xfe\0pass"), "501 5.5.2", NULL, NULL },
	{ B("\0\xc0\xafuser\0pass"), "501 5.5.2", NULL, NULL },
};

static void
test_auth_plain(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(plain_cases) / sizeof(plain_cases[0]); i++) {
		char b64[256], what[320];
		char *user = (char *)"unset", *pass = (char *)"unset";
		const char *err;

		base64_encode(plain_cases[i].raw, plain_cases[i].len, b64);
		snprintf(what, sizeof(what), "AUTH PLAIN case %zu (%s)", i, b64);
		err = smtp_parse_auth_plain(b64, &user, &pass);
		if (plain_cases[i].err != NULL) {
			assert_reply(err, plain_cases[i].err, what);
			assert_null(user);
			assert_null(pass);
			continue;
		}
		if (err != NULL)
			fail_msg("%s: refused: %s", what, err);
		assert_string_equal(user, plain_cases[i].user);
		assert_string_equal(pass, plain_cases[i].pass);
		free(user);
		explicit_bzero(pass, strlen(pass));
		free(pass);
	}
}

/* Responses as the client sends them, base64 and all. */
static const struct {
	const char *b64;
	const char *err;
	const char *user;
} plain_text_cases[] = {
	{ "AHVzZXIAcGFzcw==", NULL, "user" },
	{ "AHVzZXIAcGFzcw", NULL, "user" },		/* unpadded */
	{ "dXNlcgB1c2VyAHBhc3M=", NULL, "user" },	/* authzid = authcid */
	{ "*", "501 5.7.0", NULL },
	{ "=", "501 5.5.2", NULL },
	{ "", "501 5.5.2", NULL },
	{ "!!!!", "501 5.5.2", NULL },
	{ "AHVzZXIAcGFzcw==\r", "501 5.5.2", NULL },
	{ " AHVzZXIAcGFzcw==", "501 5.5.2", NULL },
	{ "AHVzZXIAcGFzcw== ", "501 5.5.2", NULL },
	{ "AHVzZX IAcGFzcw==", "501 5.5.2", NULL },
	{ "AHVzZXIAcGFzcw=", "501 5.5.2", NULL },
	{ "AHVzZXIAcGFzcw===", "501 5.5.2", NULL },
	{ "**", "501 5.5.2", NULL },
};

static void
test_auth_plain_text(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(plain_text_cases) / sizeof(plain_text_cases[0]); i++) {
		char *user, *pass;
		const char *err = smtp_parse_auth_plain(plain_text_cases[i].b64, &user, &pass);

		if (plain_text_cases[i].err != NULL) {
			assert_reply(err, plain_text_cases[i].err, plain_text_cases[i].b64);
			assert_null(user);
			assert_null(pass);
			continue;
		}
		if (err != NULL)
			fail_msg("%s: refused: %s", plain_text_cases[i].b64, err);
		assert_string_equal(user, plain_text_cases[i].user);
		assert_string_equal(pass, "pass");
		free(user);
		free(pass);
	}
}

/* RFC 4954 caps a response at 12288 octets. */
static void
test_auth_long(void **state)
{
	size_t n = 12288;
	char *b64 = malloc(n + 2), *user, *pass, *out;

	(void)state;
	memset(b64, 'A', n + 1);
	b64[n + 1] = '\0';
	assert_reply(smtp_parse_auth_plain(b64, &user, &pass), "500 5.5.6", "long PLAIN");
	assert_reply(smtp_parse_auth_login(b64, &out), "500 5.5.6", "long LOGIN");
	b64[n] = '\0';	/* 12288 'A': decodes to NULs, so a format error, not a length one */
	assert_reply(smtp_parse_auth_plain(b64, &user, &pass), "501 5.5.2", "PLAIN at limit");
	free(b64);
}

static const struct {
	const char *b64;
	const char *err;
	const char *out;
} login_cases[] = {
	{ "dXNlcg==", NULL, "user" },
	{ "dXNlckBleGFtcGxlLmNvbQ==", NULL, "user@example.com" },
	{ "cGFzc3dvcmQ", NULL, "password" },
	{ "", NULL, "" },
	{ "44OR44K544Ov44O844OJ", NULL, "パスワード" },
	{ "*", "501 5.7.0", NULL },
	{ "AGE=", "501 5.5.2", NULL },		/* "\0a" */
	{ "YQA=", "501 5.5.2", NULL },		/* "a\0" */
	{ "dXNlcg", NULL, "user" },
	{ "dXNlcg=", "501 5.5.2", NULL },
	{ "dXNl cg==", "501 5.5.2", NULL },
	{ "dXNlcg==\n", "501 5.5.2", NULL },
	{ "%%%%", "501 5.5.2", NULL },
};

static void
test_auth_login(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(login_cases) / sizeof(login_cases[0]); i++) {
		char *out = (char *)"unset";
		const char *err = smtp_parse_auth_login(login_cases[i].b64, &out);

		if (login_cases[i].err != NULL) {
			assert_reply(err, login_cases[i].err, login_cases[i].b64);
			assert_null(out);
			continue;
		}
		if (err != NULL)
			fail_msg("LOGIN %s: refused: %s", login_cases[i].b64, err);
		assert_string_equal(out, login_cases[i].out);
		free(out);
	}
}

/* ---- DATA ---- */

struct sink {
	char *buf;
	size_t len;
	size_t cap;
};

static void
sink_out(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	assert_true(n > 0);
	if (s->len + n > s->cap) {
		s->cap = (s->len + n) * 2;
		s->buf = realloc(s->buf, s->cap);
		assert_non_null(s->buf);
	}
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

struct data_run {
	struct sink out;
	size_t consumed;
	int done;
	int bare;
	int64_t bytes_out;
};

/*
 * Feed in[0..len) in pieces of `step` bytes (0: one piece), or, when split
 * is not 0, in two pieces cut at split.  Stops at the terminator, like the
 * session does, and checks the decoder consumes nothing once done.
 */
static void
data_run(const char *in, size_t len, int normalize, size_t step, size_t split,
    struct data_run *r)
{
	struct smtp_data d;
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	smtp_data_init(&d, normalize);
	while (off < len && !d.done) {
		size_t n = len - off, c;

		if (split != 0)
			n = off < split ? split - off : len - off;
		else if (step != 0 && n > step)
			n = step;
		c = smtp_data_feed(&d, in + off, n, sink_out, &r->out);
		assert_true(c <= n);
		if (c < n)
			assert_true(d.done);
		off += c;
	}
	if (d.done)
		assert_int_equal(smtp_data_feed(&d, "QUIT\r\n", 6, sink_out, &r->out), 0);
	r->consumed = off;
	r->done = d.done;
	r->bare = d.bare_newline;
	r->bytes_out = d.bytes_out;
	assert_true(r->bytes_out == (int64_t)r->out.len);
}

static void
show(char *dst, size_t size, const char *p, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < size; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r')
			o += (size_t)snprintf(dst + o, size - o, "<CR>");
		else if (c == '\n')
			o += (size_t)snprintf(dst + o, size - o, "<LF>");
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t)snprintf(dst + o, size - o, "<%02x>", c);
		else
			dst[o++] = (char)c;
	}
	dst[o < size ? o : size - 1] = '\0';
}

/*
 * One DATA case in both modes and every way of cutting the input.
 * consumed: bytes up to and including the terminator, or (size_t)-1 for
 * "no terminator: all consumed, not done".
 */
static void
check_data(const char *name, const char *in, size_t len, const char *want,
    size_t wantlen, size_t consumed, int bare)
{
	size_t stride = len > 1024 ? 97 : 1;

	for (int normalize = 0; normalize <= 1; normalize++) {
		for (size_t way = 0; way <= len + 1; way += (way < 2 ? 1 : stride)) {
			struct data_run r;
			size_t step = way == 1 ? 1 : 0, split = way >= 2 ? way - 1 : 0;
			char a[512], b[512];

			if (split >= len)
				continue;
			data_run(in, len, normalize, step, split, &r);
			if (r.out.len != wantlen ||
			    (wantlen > 0 && memcmp(r.out.buf, want, wantlen) != 0)) {
				show(a, sizeof(a), r.out.buf, r.out.len);
				show(b, sizeof(b), want, wantlen);
				fail_msg("%s (normalize %d, step %zu, split %zu): output\n  %s\nwant\n  %s",
				    name, normalize, step, split, a, b);
			}
			if (consumed == (size_t)-1) {
				if (r.done || r.consumed != len)
					fail_msg("%s (normalize %d, step %zu, split %zu): ended at %zu",
					    name, normalize, step, split, r.consumed);
			} else if (!r.done || r.consumed != consumed)
				fail_msg("%s (normalize %d, step %zu, split %zu): done %d at %zu, "
				    "want %zu", name, normalize, step, split, r.done, r.consumed,
				    consumed);
			if (r.bare != bare)
				fail_msg("%s (normalize %d, step %zu, split %zu): bare_newline %d",
				    name, normalize, step, split, r.bare);
			free(r.out.buf);
		}
	}
}

#define NOT_DONE ((size_t)-1)

static const struct {
	const char *name;
	const char *in;
	size_t len;
	const char *out;
	size_t outlen;
	size_t rest;		/* bytes left after the terminator, or NOT_DONE */
	int bare;
} data_cases[] = {
	{ "empty message", B(".\r\n"), B(""), 0, 0 },
	{ "empty message, pipelined QUIT", B(".\r\nQUIT\r\n"), B(""), 6, 0 },
	{ "one empty line", B("\r\n.\r\n"), B("\r\n"), 0, 0 },
	{ "simple", B("Subject: hi\r\n\r\nbody\r\n.\r\n"), B("Subject: hi\r\n\r\nbody\r\n"), 0, 0 },
	{ "pipelined after end", B("a\r\n.\r\nMAIL FROM:<x@y>\r\n"), B("a\r\n"), 17, 0 },
	{ "second terminator is the next command", B("a\r\n.\r\n.\r\n"), B("a\r\n"), 3, 0 },
	/* dot-stuffing (RFC 5321 4.5.2) */
	{ "stuffed dot line", B("..\r\n.\r\n"), B(".\r\n"), 0, 0 },
	{ "stuffed text", B("..foo\r\n.\r\n"), B(".foo\r\n"), 0, 0 },
	{ "three dots", B("...\r\n.\r\n"), B("..\r\n"), 0, 0 },
	{ "single leading dot dropped", B(".foo\r\n.\r\n"), B("foo\r\n"), 0, 0 },
	{ "stuffed after first line", B("a\r\n..b\r\n..\r\n.\r\n"), B("a\r\n.b\r\n.\r\n"), 0, 0 },
	{ "dot not at line start", B("a.\r\nb..c\r\n.\r\n"), B("a.\r\nb..c\r\n"), 0, 0 },
	{ "space then dot", B(" .\r\n.\r\n"), B(" .\r\n"), 0, 0 },
	{ "dot space", B(". \r\n.\r\n"), B(" \r\n"), 0, 0 },
	/* no terminator yet */
	{ "nothing", B(""), B(""), NOT_DONE, 0 },
	{ "text only", B("abc"), B("abc"), NOT_DONE, 0 },
	{ "pending CR", B("abc\r"), B("abc"), NOT_DONE, 0 },
	{ "pending line start", B("abc\r\n"), B("abc\r\n"), NOT_DONE, 0 },
	{ "pending dot", B("abc\r\n."), B("abc\r\n"), NOT_DONE, 0 },
	{ "pending dot CR", B("abc\r\n.\r"), B("abc\r\n"), NOT_DONE, 0 },
	{ "lone dot", B("."), B(""), NOT_DONE, 0 },
	{ "dot CR at start", B(".\r"), B(""), NOT_DONE, 0 },
	/* bare newlines: flagged, written as CRLF, never a line start */
	{ "bare LF line", B("a\nb\r\n.\r\n"), B("a\r\nb\r\n"), 0, 1 },
	{ "bare CR line", B("a\rb\r\n.\r\n"), B("a\r\nb\r\n"), 0, 1 },
	{ "bare LF at start", B("\n.\r\n.\r\n"), B("\r\n.\r\n"), 0, 1 },
	{ "bare CR at start", B("\r.\r\n.\r\n"), B("\r\n.\r\n"), 0, 1 },
	{ "bare LF then stuffed-looking dot kept", B("a\n..\r\n.\r\n"), B("a\r\n..\r\n"), 0, 1 },
	{ "dot LF dot CRLF at start", B(".\n.\r\n"), B("\r\n.\r\n"), NOT_DONE, 1 },
	{ "dot LF at start, then the end", B(".\n.\r\n.\r\n"), B("\r\n.\r\n"), 0, 1 },
	{ "dot CR X at start", B(".\rX\r\n.\r\n"), B("\r\nX\r\n"), 0, 1 },
	{ "CR CR LF", B("a\r\r\nb\r\n.\r\n"), B("a\r\n\r\nb\r\n"), 0, 1 },
	{ "LF CR", B("a\n\rb\r\n.\r\n"), B("a\r\n\r\nb\r\n"), 0, 1 },
	{ "bare CR right before a real end", B("a\r\r\n.\r\n"), B("a\r\n\r\n"), 0, 1 },
	{ "bare LF right before a real end", B("a\n\r\n.\r\n"), B("a\r\n\r\n"), 0, 1 },
	/* NUL is content */
	{ "NUL", B("a\0b\r\n.\r\n"), B("a\0b\r\n"), 0, 0 },
	{ "NUL dot", B("\0.\r\n.\r\n"), B("\0.\r\n"), 0, 0 },
	{ "dot NUL", B(".\0\r\n.\r\n"), B("\0\r\n"), 0, 0 },
};

static void
test_data_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++)
		check_data(data_cases[i].name, data_cases[i].in, data_cases[i].len,
		    data_cases[i].out, data_cases[i].outlen,
		    data_cases[i].rest == NOT_DONE ? NOT_DONE :
		    data_cases[i].len - data_cases[i].rest, data_cases[i].bare);
}

/*
 * SMTP smuggling (SEC Consult, December 2023; CVE-2023-51764 and friends):
 * a message whose body holds a fake end of data followed by a second
 * transaction.  A server that ends DATA at the fake terminator runs the
 * second transaction as if the client had sent it.  For every published
 * variant the decoder must read through the fake one, end at the real
 * CRLF "." CRLF, and leave exactly the pipelined "QUIT\r\n" unconsumed.
 */
static const struct {
	const char *name;
	const char *fake;
	size_t fakelen;
	const char *out;	/* what the fake terminator becomes */
	size_t outlen;
	int bare;
} smuggle_cases[] = {
	{ "<LF>.<LF>", B("\n.\n"), B("\r\n.\r\n"), 1 },
	{ "<LF>.<CR><LF>", B("\n.\r\n"), B("\r\n.\r\n"), 1 },
	{ "<CR>.<CR>", B("\r.\r"), B("\r\n.\r\n"), 1 },
	{ "<CR><LF>.<LF>", B("\r\n.\n"), B("\r\n\r\n"), 1 },
	{ "<CR><LF>.<CR>", B("\r\n.\r"), B("\r\n\r\n"), 1 },
	{ "<CR>.<LF>", B("\r.\n"), B("\r\n.\r\n"), 1 },
	{ "<LF>.<CR>", B("\n.\r"), B("\r\n.\r\n"), 1 },
	{ "<CR>.<CR><LF>", B("\r.\r\n"), B("\r\n.\r\n"), 1 },
	{ "<LF><LF>.<LF><LF>", B("\n\n.\n\n"), B("\r\n\r\n.\r\n\r\n"), 1 },
	{ "<CR><CR>.<CR><CR>", B("\r\r.\r\r"), B("\r\n\r\n.\r\n\r\n"), 1 },
	{ "<CR><LF>.<CR><CR><LF>", B("\r\n.\r\r\n"), B("\r\n\r\n\r\n"), 1 },
	{ "<CR><LF>.<LF><CR><LF>", B("\r\n.\n\r\n"), B("\r\n\r\n\r\n"), 1 },
	{ "<CR><LF><NUL>.<CR><LF>", B("\r\n\0.\r\n"), B("\r\n\0.\r\n"), 0 },
	{ "<CR><LF>.<NUL><CR><LF>", B("\r\n.\0\r\n"), B("\r\n\0\r\n"), 0 },
	{ "<CR><LF><SP>.<CR><LF>", B("\r\n .\r\n"), B("\r\n .\r\n"), 0 },
	{ "<CR><LF>..<CR><LF> (stuffed)", B("\r\n..\r\n"), B("\r\n.\r\n"), 0 },
};

#define SMUGGLE_HEAD "From: a@example.com\r\nSubject: hi\r\n\r\nhello"
#define SMUGGLE_BODY "MAIL FROM:<admin@example.com>\r\nRCPT TO:<victim@example.net>\r\n" \
	"DATA\r\nFrom: admin@example.com\r\n\r\nevil"
#define SMUGGLE_NEXT "QUIT\r\n"

static void
test_data_smuggling(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(smuggle_cases) / sizeof(smuggle_cases[0]); i++) {
		char in[512], want[512];
		size_t len = 0, wantlen = 0;

		memcpy(in + len, SMUGGLE_HEAD, strlen(SMUGGLE_HEAD));
		len += strlen(SMUGGLE_HEAD);
		memcpy(in + len, smuggle_cases[i].fake, smuggle_cases[i].fakelen);
		len += smuggle_cases[i].fakelen;
		memcpy(in + len, SMUGGLE_BODY "\r\n.\r\n" SMUGGLE_NEXT,
		    strlen(SMUGGLE_BODY "\r\n.\r\n" SMUGGLE_NEXT));
		len += strlen(SMUGGLE_BODY "\r\n.\r\n" SMUGGLE_NEXT);

		memcpy(want + wantlen, SMUGGLE_HEAD, strlen(SMUGGLE_HEAD));
		wantlen += strlen(SMUGGLE_HEAD);
		memcpy(want + wantlen, smuggle_cases[i].out, smuggle_cases[i].outlen);
		wantlen += smuggle_cases[i].outlen;
		memcpy(want + wantlen, SMUGGLE_BODY "\r\n", strlen(SMUGGLE_BODY "\r\n"));
		wantlen += strlen(SMUGGLE_BODY "\r\n");

		check_data(smuggle_cases[i].name, in, len, want, wantlen,
		    len - strlen(SMUGGLE_NEXT), smuggle_cases[i].bare);
	}
}

/* The fake terminator alone, at the very start of DATA, ends nothing. */
static void
test_data_smuggling_at_start(void **state)
{
	static const struct {
		const char *in;
		size_t len;
	} starts[] = {
		{ B(".\n") }, { B(".\r") }, { B(".\rX") }, { B(".\n\r") }, { B(". \r\n") },
		{ B("\n.\n") }, { B("\r.\r\n") }, { B("\n.\r\n") }, { B(".\0\r\n") },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		for (int normalize = 0; normalize <= 1; normalize++) {
			struct data_run r;

			data_run(starts[i].in, starts[i].len, normalize, 1, 0, &r);
			assert_false(r.done);
			assert_int_equal(r.consumed, starts[i].len);
			free(r.out.buf);
		}
	}
}

/* Long lines pass whole (the decoder has no line limit; the session counts
 * bytes_out), including across many output chunks. */
static void
test_data_long_lines(void **state)
{
	size_t n1 = 10000, n2 = 998, len = 0;
	char *in = malloc(n1 + n2 + 16), *want;

	(void)state;
	memset(in, 'x', n1);
	len += n1;
	memcpy(in + len, "\r\n", 2);
	len += 2;
	in[len++] = '.';		/* stuffed: dropped */
	memset(in + len, 'y', n2);
	len += n2;
	memcpy(in + len, "\r\n.\r\nQUIT\r\n", 11);
	len += 11;

	want = malloc(len);
	memset(want, 'x', n1);
	memcpy(want + n1, "\r\n", 2);
	memset(want + n1 + 2, 'y', n2);
	memcpy(want + n1 + 2 + n2, "\r\n", 2);
	check_data("long lines", in, len, want, n1 + n2 + 4, len - 6, 0);
	free(want);
	free(in);
}

/* A NULL callback still counts. */
static void
test_data_null_out(void **state)
{
	struct smtp_data d;

	(void)state;
	smtp_data_init(&d, 1);
	assert_int_equal(d.normalize, 1);
	assert_int_equal(smtp_data_feed(&d, B("ab\ncd\r\n.\r\nQUIT\r\n"), NULL, NULL), 10);
	assert_true(d.done);
	assert_true(d.bare_newline);
	assert_true(d.bytes_out == 8);
}

/* ---- HELO ---- */

static const struct {
	const char *helo;
	int ok;
} helo_cases[] = {
	{ "example.com", 1 },
	{ "mail.example.com", 1 },
	{ "[192.0.2.1]", 1 },
	{ "[IPv6:2001:db8::1]", 1 },
	{ "localhost", 1 },
	{ "under_score.example", 1 },		/* lenient */
	{ "例え.jp", 1 },
	{ "", 0 },
	{ "two words", 0 },
	{ " lead", 0 },
	{ "tab\there", 0 },
	{ "cr\rhere", 0 },
	{ "lf\nhere", 0 },
	{ "del\x7f", 0 },
	{ "\xff\xfe", 0 },
	{ "\xc0\xaf", 0 },
};

static void
test_helo(void **state)
{
	char big[300];

	(void)state;
	for (size_t i = 0; i < sizeof(helo_cases) / sizeof(helo_cases[0]); i++)
		if (smtp_valid_helo(helo_cases[i].helo) != helo_cases[i].ok)
			fail_msg("HELO \"%s\": want %d", helo_cases[i].helo, helo_cases[i].ok);
	assert_false(smtp_valid_helo(NULL));
	memset(big, 'a', 255);
	big[255] = '\0';
	assert_true(smtp_valid_helo(big));
	big[255] = 'a';
	big[256] = '\0';
	assert_false(smtp_valid_helo(big));
}

/* XFORWARD: attributes merge over commands, [UNAVAILABLE] leaves them
 * unset, ADDR must be an IP (IPv6: prefix allowed), errors change nothing. */
static void
test_xforward(void **state)
{
	struct smtp_xforward xf;
	struct smtp_cmd cmd;

	(void)state;
	memset(&xf, 0, sizeof(xf));
	assert_null(smtp_parse_command("XFORWARD NAME=mail.example.org ADDR=192.0.2.7", 45, &cmd));
	assert_int_equal(cmd.verb, SMTP_VERB_XFORWARD);
	assert_null(smtp_parse_xforward(cmd.arg, &xf));
	assert_string_equal(xf.addr, "192.0.2.7");
	assert_string_equal(xf.name, "mail.example.org");
	assert_null(smtp_parse_xforward("PROTO=ESMTP HELO=client+2Eexample.org PORT=4711", &xf));
	assert_string_equal(xf.helo, "client.example.org");
	assert_string_equal(xf.proto, "ESMTP");
	assert_string_equal(xf.addr, "192.0.2.7");
	assert_null(smtp_parse_xforward("addr=IPv6:2001:db8::1 name=[UNAVAILABLE]", &xf));
	assert_string_equal(xf.addr, "2001:db8::1");
	assert_string_equal(xf.name, "mail.example.org");
	assert_null(smtp_parse_xforward("SOURCE=REMOTE IDENT=abc LOGIN=[UNAVAILABLE]", &xf));

	/* refused, and nothing of the refused command is kept */
	assert_non_null(smtp_parse_xforward("ADDR=not-an-address", &xf));
	assert_non_null(smtp_parse_xforward("HELO=ok.example ADDR=999.1.1.1", &xf));
	assert_string_equal(xf.helo, "client.example.org");
	assert_non_null(smtp_parse_xforward("COLOR=blue", &xf));
	assert_non_null(smtp_parse_xforward("NAME", &xf));
	assert_non_null(smtp_parse_xforward("=x", &xf));
	assert_non_null(smtp_parse_xforward("", &xf));
	assert_non_null(smtp_parse_xforward("   ", &xf));
	assert_non_null(smtp_parse_xforward("HELO=bad+ZZ", &xf));
	assert_non_null(smtp_parse_xforward("HELO=a=b", &xf));
	assert_non_null(smtp_parse_xforward("PROTO=0123456789ABCDEF", &xf));
	assert_string_equal(xf.proto, "ESMTP");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_find),
		cmocka_unit_test(test_line_discard),
		cmocka_unit_test(test_command),
		cmocka_unit_test(test_mail_addr),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_rcpt),
		cmocka_unit_test(test_addr_length),
		cmocka_unit_test(test_auth_plain),
		cmocka_unit_test(test_auth_plain_text),
		cmocka_unit_test(test_auth_long),
		cmocka_unit_test(test_auth_login),
		cmocka_unit_test(test_data_table),
		cmocka_unit_test(test_data_smuggling),
		cmocka_unit_test(test_data_smuggling_at_start),
		cmocka_unit_test(test_data_long_lines),
		cmocka_unit_test(test_data_null_out),
		cmocka_unit_test(test_helo),
		cmocka_unit_test(test_xforward),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
