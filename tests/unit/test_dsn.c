/*
 * test_dsn.c - RFC 3464 delivery status notifications: structure, fields,
 * 7-bit headers, the Japanese text, what is returned, when one is wanted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "queue/queue_dsn.h"
#include "util/util.h"

#define MTA "mx.sekisho.test"
#define NOW_MS 1700000000000LL	/* Tue, 14 Nov 2023 22:13:20 +0000 */

static const char bob_reply[] =
    "mx.example.net[192.0.2.25]:25 said: 550 5.1.1 <bob@example.net>: "
    "Recipient address rejected: User unknown in virtual mailbox table "
    "(in reply to RCPT TO)";

static const char original[] =
    "Received: from client.example.com (client.example.com [198.51.100.7])\r\n"
    "\tby mx.sekisho.test; Tue, 14 Nov 2023 22:10:00 +0000\r\n"
    "From: Sender <sender@example.com>\r\n"
    "To: alice@example.org, bob@example.net, carol@example.org\r\n"
    "Subject: Hello\r\n"
    "Message-ID: <orig-1@example.com>\r\n"
    "\r\n"
    "secret body line\r\n"
    "--=_sekisho_ not a boundary of ours\r\n";

struct parsed {
	char *msg;		/* the whole DSN, NUL-terminated */
	size_t len;
	char *headers;		/* top-level header block */
	char *boundary;
	char *part[4];		/* part header+body, up to 4 */
	int nparts;
};

static int
spool_with(const char *bytes, size_t len)
{
	char path[] = "/tmp/sekisho-dsn-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(util_write_all(fd, bytes, len), 0);
	/* dsn_build must read from the start, whatever the offset */
	return fd;
}

static struct envelope *
three_rcpts(void)
{
	struct envelope *env = envelope_new();
	struct rcpt *r;

	util_strlcpy(env->id, "0000ABCDEF1234", sizeof(env->id));
	env->mail_from = xstrdup("sender@example.com");
	env->received_ms = NOW_MS - 200000;
	r = envelope_add_rcpt(env, "alice@example.org", NULL, 0);
	r->status = RCPT_DELIVERED;
	r->reply = xstrdup("mx.example.org[192.0.2.1]:25 said: 250 2.0.0 Ok (in reply to end of DATA)");
	r = envelope_add_rcpt(env, "bob@example.net", "rfc822;bob@example.net", 0);
	r->status = RCPT_FAILED;
	r->reply = xstrdup(bob_reply);
	r = envelope_add_rcpt(env, "carol@example.org", NULL, 0);
	r->status = RCPT_PENDING;
	r->reply = xstrdup("mx.example.org[192.0.2.1]:25 said: 450 4.2.0 try later (in reply to RCPT TO)");
	return env;
}

/* Every line ends in CRLF; no bare CR or LF; no line over 998 bytes. */
static void
check_crlf(const char *m, size_t len)
{
	size_t col = 0;

	assert_true(len >= 2);
	assert_memory_equal(m + len - 2, "\r\n", 2);
	for (size_t i = 0; i < len; i++) {
		if (m[i] == '\r') {
			assert_true(i + 1 < len && m[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(m[i] != '\n');
		assert_true(++col <= 998);
	}
}

static void
check_7bit(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)s[i] < 0x80);
}

/* Unfold a header block (CRLF + WSP -> the WSP). In place. */
static char *
unfold(char *s)
{
	char *o = s;

	for (char *p = s; *p; p++) {
		if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
			p++;
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return s;
}

static void
parse(struct parsed *pd, char *msg, size_t len)
{
	char *end, *b, *p, *delim;
	size_t blen;

	memset(pd, 0, sizeof(*pd));
	assert_non_null(msg);
	pd->msg = msg;
	pd->len = len;
	assert_int_equal(strlen(msg), len);
	check_crlf(msg, len);

	end = strstr(msg, "\r\n\r\n");
	assert_non_null(end);
	pd->headers = strndup(msg, (size_t)(end - msg) + 2);
	check_7bit(pd->headers, strlen(pd->headers));
	unfold(pd->headers);

	b = strstr(pd->headers, "boundary=\"");
	assert_non_null(b);
	b += 10;
	pd->boundary = strndup(b, strcspn(b, "\""));
	assert_true(strlen(pd->boundary) > 10);

	delim = xasprintf("\r\n--%s", pd->boundary);
	blen = strlen(delim);
	/* the first delimiter may directly follow the preamble's CRLF */
	p = strstr(end, delim);
	assert_non_null(p);
	for (;;) {
		char *next;
		p += blen;
		if (strncmp(p, "--\r\n", 4) == 0) {
			assert_int_equal((size_t)(p + 4 - msg), len);	/* nothing after */
			break;
		}
		assert_memory_equal(p, "\r\n", 2);
		p += 2;
		next = strstr(p, delim);
		assert_non_null(next);
		assert_true(pd->nparts < 4);
		pd->part[pd->nparts++] = strndup(p, (size_t)(next - p) + 2);
		p = next;
	}
	free(delim);
}

static void
parsed_free(struct parsed *pd)
{
	free(pd->msg);
	free(pd->headers);
	free(pd->boundary);
	for (int i = 0; i < pd->nparts; i++)
		free(pd->part[i]);
}

/* A header of a part or message, unfolded; NULL when absent. */
static const char *
has_line(const char *block, const char *line)
{
	char *pat = xasprintf("\r\n%s", line);
	const char *p = strncmp(block, line, strlen(line)) == 0 ? block : strstr(block, pat);

	free(pat);
	return p;
}

static size_t
count(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* The body of a base64 part, decoded. */
static char *
decode_base64_part(const char *part)
{
	const char *body = strstr(part, "\r\n\r\n");
	char *clean, *out;
	size_t n = 0;
	int k;

	assert_non_null(body);
	body += 4;
	clean = malloc(strlen(body) + 1);
	for (const char *p = body; *p; p++)
		if (*p != '\r' && *p != '\n')
			clean[n++] = *p;
	clean[n] = '\0';
	assert_int_equal(n % 4, 0);
	out = calloc(1, n + 4);
	k = EVP_DecodeBlock((unsigned char *)out, (unsigned char *)clean, (int)n);
	assert_true(k >= 0);
	/* EVP_DecodeBlock counts the padding as zero bytes */
	while (n > 0 && clean[n - 1] == '=') {
		k--;
		n--;
	}
	out[k] = '\0';
	free(clean);
	return out;
}

static void
test_one_of_three_failed(void **state)
{
	struct envelope *env = three_rcpts();
	struct parsed pd;
	char *dsn, *text, *ds;
	size_t len;
	int fd = spool_with(original, sizeof(original) - 1);

	(void)state;
	assert_true(dsn_wanted(env));
	dsn = dsn_build(env, fd, MTA, NOW_MS, 1 << 20, &len);
	parse(&pd, dsn, len);

	/* top-level headers */
	assert_non_null(has_line(pd.headers, "From: Mail Delivery System <MAILER-DAEMON@" MTA ">\r\n"));
	assert_non_null(has_line(pd.headers, "To: <sender@example.com>\r\n"));
	assert_non_null(has_line(pd.headers, "Subject: Undelivered Mail Returned to Sender\r\n"));
	assert_non_null(has_line(pd.headers, "Auto-Submitted: auto-replied\r\n"));
	assert_non_null(has_line(pd.headers, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
	assert_non_null(has_line(pd.headers, "MIME-Version: 1.0\r\n"));
	assert_non_null(has_line(pd.headers, "Message-ID: <"));
	assert_non_null(strstr(pd.headers, "@" MTA ">\r\n"));
	assert_non_null(has_line(pd.headers,
	    "Content-Type: multipart/report; report-type=delivery-status;"));
	assert_int_equal(pd.nparts, 3);

	/* 1: the human-readable part, English and Japanese */
	assert_non_null(has_line(pd.part[0], "Content-Type: text/plain; charset=utf-8\r\n"));
	assert_non_null(has_line(pd.part[0], "Content-Transfer-Encoding: base64\r\n"));
	text = decode_base64_part(pd.part[0]);
	assert_non_null(strstr(text, "could not"));
	assert_non_null(strstr(text, "このメールは配送できませんでした。"));
	assert_non_null(strstr(text, "<bob@example.net>: "));
	assert_non_null(strstr(text, "550 5.1.1"));
	assert_null(strstr(text, "alice@"));
	assert_null(strstr(text, "carol@"));
	free(text);

	/* 2: message/delivery-status */
	ds = unfold(pd.part[1]);
	check_7bit(ds, strlen(ds));
	{
		const char *head = "Content-Description: Delivery report\r\n"
		    "Content-Type: message/delivery-status\r\n\r\n";
		assert_true(strncmp(ds, head, strlen(head)) == 0);
	}
	assert_non_null(has_line(ds, "Reporting-MTA: dns; " MTA "\r\n"));
	assert_non_null(has_line(ds, "Arrival-Date: Tue, 14 Nov 2023 22:10:00 +0000\r\n"));
	assert_int_equal(count(ds, "Final-Recipient:"), 1);
	assert_non_null(has_line(ds, "Final-Recipient: rfc822; bob@example.net\r\n"));
	assert_non_null(has_line(ds, "Original-Recipient: rfc822; bob@example.net\r\n"));
	assert_non_null(has_line(ds, "Action: failed\r\n"));
	assert_non_null(has_line(ds, "Status: 5.1.1\r\n"));
	assert_non_null(has_line(ds, "Remote-MTA: dns; mx.example.net\r\n"));
	assert_non_null(has_line(ds,
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob@example.net>: Recipient address "
	    "rejected: User unknown in virtual mailbox table (in reply to RCPT TO)\r\n"));
	/* the per-message fields, a blank line, then the recipient's */
	assert_non_null(strstr(ds, "\r\n\r\nFinal-Recipient:"));

	/* 3: the original's header, not its body */
	assert_non_null(has_line(pd.part[2], "Content-Type: text/rfc822-headers\r\n"));
	assert_non_null(has_line(pd.part[2], "Subject: Hello\r\n"));
	assert_non_null(has_line(pd.part[2], "Message-ID: <orig-1@example.com>\r\n"));
	assert_null(strstr(pd.part[2], "secret body line"));

	parsed_free(&pd);
	close(fd);
	envelope_free(env);
}

static void
test_ret_full(void **state)
{
	struct envelope *env = three_rcpts();
	struct parsed pd;
	char *dsn;
	size_t len;
	int fd = spool_with(original, sizeof(original) - 1);

	(void)state;
	env->ret = DSN_RET_FULL;
	dsn = dsn_build(env, fd, MTA, NOW_MS, 1 << 20, &len);
	parse(&pd, dsn, len);
	assert_int_equal(pd.nparts, 3);
	assert_non_null(has_line(pd.part[2], "Content-Type: message/rfc822\r\n"));
	assert_non_null(strstr(pd.part[2], "\r\n\r\nsecret body line\r\n"));
	/* a line of the original that looks like our boundary prefix is no
	 * boundary: the part still ends where it should */
	assert_non_null(strstr(pd.part[2], "--=_sekisho_ not a boundary of ours\r\n"));
	parsed_free(&pd);

	/* too big to return whole: the header only */
	dsn = dsn_build(env, fd, MTA, NOW_MS, 100, &len);
	parse(&pd, dsn, len);
	assert_non_null(has_line(pd.part[2], "Content-Type: text/rfc822-headers\r\n"));
	assert_null(strstr(pd.part[2], "secret body line"));
	parsed_free(&pd);

	/* RET=HDRS */
	env->ret = DSN_RET_HDRS;
	dsn = dsn_build(env, fd, MTA, NOW_MS, 1 << 20, &len);
	parse(&pd, dsn, len);
	assert_non_null(has_line(pd.part[2], "Content-Type: text/rfc822-headers\r\n"));
	assert_null(strstr(pd.part[2], "secret body line"));
	parsed_free(&pd);
	close(fd);
	envelope_free(env);
}

static void
test_status_codes(void **state)
{
	static const struct {
		const char *reply, *status, *diag;
	} cases[] = {
		{ "mx[192.0.2.1]:25 said: 550 no such user (in reply to RCPT TO)",
		  "5.0.0", "Diagnostic-Code: smtp; 550 no such user (in reply to RCPT TO)" },
		{ "mx[192.0.2.1]:25 said: 554 5.7.1 <x>: Relay access denied (in reply to RCPT TO)",
		  "5.7.1", "Diagnostic-Code: smtp; 554 5.7.1 <x>: Relay access denied" },
		{ "4.4.1 connect to mx[192.0.2.1]:25: Connection refused",
		  "4.4.1", "Diagnostic-Code: X-Sekisho; 4.4.1 connect to mx[192.0.2.1]:25: Connection refused" },
		{ "5.6.7 SMTPUTF8 is required, but was not offered by host mx[192.0.2.1]:25",
		  "5.6.7", "Diagnostic-Code: X-Sekisho; 5.6.7 SMTPUTF8 is required" },
		{ NULL, "5.0.0", "Diagnostic-Code: X-Sekisho; delivery failed" },
	};
	int fd = spool_with(original, sizeof(original) - 1);

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct envelope *env = envelope_new();
		struct rcpt *r = envelope_add_rcpt(env, "x@example.net", NULL, 0);
		struct parsed pd;
		char *dsn, *want;
		size_t len;

		env->mail_from = xstrdup("s@example.com");
		r->status = RCPT_FAILED;
		r->reply = cases[i].reply ? xstrdup(cases[i].reply) : NULL;
		dsn = dsn_build(env, fd, MTA, NOW_MS, 0, &len);
		parse(&pd, dsn, len);
		unfold(pd.part[1]);
		want = xasprintf("Status: %s\r\n", cases[i].status);
		assert_non_null(has_line(pd.part[1], want));
		assert_non_null(has_line(pd.part[1], cases[i].diag));
		assert_null(strstr(pd.part[1], "Original-Recipient"));
		/* no Arrival-Date without an arrival time */
		assert_null(strstr(pd.part[1], "Arrival-Date"));
		free(want);
		parsed_free(&pd);
		envelope_free(env);
	}
	close(fd);
}

static void
test_non_ascii(void **state)
{
	static const char orig8[] =
	    "From: =?UTF-8?B?5bGx55Sw?= <山田@example.jp>\r\n"
	    "Subject: 会議の件\r\n"
	    "\r\n"
	    "本文\r\n";
	struct envelope *env = envelope_new();
	struct rcpt *r;
	struct parsed pd;
	char *dsn;
	size_t len;
	int fd = spool_with(orig8, sizeof(orig8) - 1);

	(void)state;
	env->mail_from = xstrdup("山田@example.jp");
	env->smtputf8 = 1;
	env->envid = xstrdup("QQ+2B1");
	r = envelope_add_rcpt(env, "鈴木@example.jp", "utf-8;+E9+88+B4+E6+9C+A8@example.jp", 0);
	r->status = RCPT_FAILED;
	r->reply = xstrdup("5.6.7 SMTPUTF8 is required, but was not offered by host mx[192.0.2.1]:25");
	dsn = dsn_build(env, fd, MTA, NOW_MS, 0, &len);
	parse(&pd, dsn, len);	/* checks the headers are 7-bit */
	assert_non_null(has_line(pd.headers, "To: =?UTF-8?B?"));
	assert_non_null(has_line(pd.headers, "Content-Transfer-Encoding: 8bit\r\n"));
	check_7bit(pd.part[1], strlen(pd.part[1]));
	assert_non_null(has_line(pd.part[1], "Original-Envelope-Id: QQ+1\r\n"));
	assert_non_null(has_line(pd.part[1], "Final-Recipient: rfc822; +E9+88+B4+E6+9C+A8@example.jp\r\n"));
	assert_non_null(has_line(pd.part[1], "Original-Recipient: utf-8; +E9+88+B4+E6+9C+A8@example.jp\r\n"));
	assert_non_null(has_line(pd.part[2], "Content-Transfer-Encoding: 8bit\r\n"));
	assert_non_null(strstr(pd.part[2], "Subject: 会議の件\r\n"));
	{
		char *text = decode_base64_part(pd.part[0]);
		assert_non_null(strstr(text, "<鈴木@example.jp>: 5.6.7"));
		free(text);
	}
	parsed_free(&pd);
	close(fd);
	envelope_free(env);
}

static void
test_bounded_read(void **state)
{
	size_t big = 3 << 20;	/* 3 MB of header without an end */
	char *orig = malloc(big);
	struct envelope *env = three_rcpts();
	struct parsed pd;
	char *dsn;
	size_t len;
	int fd;

	(void)state;
	for (size_t i = 0; i < big; i += 64)
		memcpy(orig + i, "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n", 64);
	fd = spool_with(orig, big);
	env->ret = DSN_RET_FULL;	/* but too big for max_return */
	dsn = dsn_build(env, fd, MTA, NOW_MS, 1 << 20, &len);
	assert_true(len < 400 * 1024);
	parse(&pd, dsn, len);
	assert_non_null(has_line(pd.part[2], "Content-Type: text/rfc822-headers\r\n"));
	parsed_free(&pd);

	/* an empty original, and one that is only a header without a CRLF */
	close(fd);
	fd = spool_with("", 0);
	dsn = dsn_build(env, fd, MTA, NOW_MS, 1 << 20, &len);
	parse(&pd, dsn, len);
	assert_int_equal(pd.nparts, 3);
	parsed_free(&pd);
	close(fd);
	fd = spool_with("Subject: cut", 12);
	env->ret = DSN_RET_HDRS;
	dsn = dsn_build(env, fd, MTA, NOW_MS, 1 << 20, &len);
	parse(&pd, dsn, len);
	assert_non_null(strstr(pd.part[2], "\r\n\r\nSubject: cut\r\n"));
	parsed_free(&pd);
	close(fd);
	free(orig);
	envelope_free(env);
}

static void
test_unique_boundary_and_id(void **state)
{
	struct envelope *env = three_rcpts();
	struct parsed a, b;
	char *dsn;
	size_t len;
	const char *ma, *mb;
	int fd = spool_with(original, sizeof(original) - 1);

	(void)state;
	dsn = dsn_build(env, fd, MTA, NOW_MS, 0, &len);
	parse(&a, dsn, len);
	dsn = dsn_build(env, fd, MTA, NOW_MS, 0, &len);
	parse(&b, dsn, len);
	assert_string_not_equal(a.boundary, b.boundary);
	ma = has_line(a.headers, "Message-ID:");
	mb = has_line(b.headers, "Message-ID:");
	assert_non_null(ma);
	assert_non_null(mb);
	assert_false(strncmp(ma, mb, strcspn(ma + 2, "\r") + 2) == 0);
	parsed_free(&a);
	parsed_free(&b);
	close(fd);
	envelope_free(env);
}

static void
test_dsn_wanted(void **state)
{
	static const struct {
		const char *from;
		int notify[3];
		enum rcpt_status status[3];
		int wanted;
	} cases[] = {
		{ "s@example.com", { 0, 0, 0 }, { RCPT_DELIVERED, RCPT_FAILED, RCPT_PENDING }, 1 },
		{ "", { 0, 0, 0 }, { RCPT_DELIVERED, RCPT_FAILED, RCPT_PENDING }, 0 },
		{ "s@example.com", { 0, DSN_NOTIFY_NEVER, 0 },
		  { RCPT_DELIVERED, RCPT_FAILED, RCPT_PENDING }, 0 },
		{ "s@example.com", { 0, DSN_NOTIFY_SUCCESS | DSN_NOTIFY_DELAY, 0 },
		  { RCPT_DELIVERED, RCPT_FAILED, RCPT_PENDING }, 0 },
		{ "s@example.com", { 0, DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY, 0 },
		  { RCPT_DELIVERED, RCPT_FAILED, RCPT_PENDING }, 1 },
		{ "s@example.com", { DSN_NOTIFY_NEVER, DSN_NOTIFY_NEVER, 0 },
		  { RCPT_FAILED, RCPT_FAILED, RCPT_FAILED }, 1 },
		{ "s@example.com", { DSN_NOTIFY_NEVER, DSN_NOTIFY_NEVER, DSN_NOTIFY_NEVER },
		  { RCPT_FAILED, RCPT_FAILED, RCPT_FAILED }, 0 },
		{ "s@example.com", { 0, 0, 0 }, { RCPT_DELIVERED, RCPT_PENDING, RCPT_PENDING }, 0 },
		{ "s@example.com", { 0, 0, 0 }, { RCPT_BOUNCED, RCPT_DELIVERED, RCPT_DELIVERED }, 0 },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct envelope *env = envelope_new();
		env->mail_from = xstrdup(cases[i].from);
		for (int k = 0; k < 3; k++) {
			char addr[32];
			snprintf(addr, sizeof(addr), "r%d@example.org", k);
			envelope_add_rcpt(env, addr, NULL, cases[i].notify[k])->status =
			    cases[i].status[k];
		}
		if (dsn_wanted(env) != cases[i].wanted)
			fail_msg("case %zu: dsn_wanted is %d", i, dsn_wanted(env));
		envelope_free(env);
	}
	{
		struct envelope *env = envelope_new();	/* mail_from NULL */
		envelope_add_rcpt(env, "x@example.org", NULL, 0)->status = RCPT_FAILED;
		assert_false(dsn_wanted(env));
		envelope_free(env);
	}
}

/* Only the recipients that asked for a failure notice are listed. */
static void
test_notify_never_rcpt_left_out(void **state)
{
	struct envelope *env = three_rcpts();
	struct rcpt *r;
	struct parsed pd;
	char *dsn;
	size_t len;
	int fd = spool_with(original, sizeof(original) - 1);

	(void)state;
	r = envelope_add_rcpt(env, "quiet@example.net", NULL, DSN_NOTIFY_NEVER);
	r->status = RCPT_FAILED;
	r->reply = xstrdup("mx[192.0.2.1]:25 said: 550 5.1.1 no (in reply to RCPT TO)");
	dsn = dsn_build(env, fd, MTA, NOW_MS, 0, &len);
	parse(&pd, dsn, len);
	assert_int_equal(count(pd.part[1], "Final-Recipient:"), 1);
	assert_null(strstr(pd.part[1], "quiet@"));
	parsed_free(&pd);
	close(fd);
	envelope_free(env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_of_three_failed),
		cmocka_unit_test(test_ret_full),
		cmocka_unit_test(test_status_codes),
		cmocka_unit_test(test_non_ascii),
		cmocka_unit_test(test_bounded_read),
		cmocka_unit_test(test_unique_boundary_and_id),
		cmocka_unit_test(test_dsn_wanted),
		cmocka_unit_test(test_notify_never_rcpt_left_out),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
