/*
 * fuzz_smtp_parse.c - libFuzzer harness for src/smtp/smtp_parse.c.
 *
 * One input is used four ways:
 *   1. as a client's command stream: split into lines with smtp_line_find
 *      (512-octet limit), each line parsed as a command and, by verb, as
 *      MAIL, RCPT (with and without SMTPUTF8), AUTH PLAIN/LOGIN or HELO;
 *   2. whole, as the argument of MAIL, RCPT and both AUTH decoders;
 *   3. as a DATA stream, in both modes, fed whole, one byte at a time and
 *      cut at an input-chosen place; all runs must agree, the output must
 *      have only CRLF line endings, and the end must be exactly where a
 *      plain search for the first CRLF "." CRLF puts it;
 *   4. through base64 both ways.
 * Any disagreement aborts, so the fuzzer reports it as a crash.  Everything
 * the parser returns is freed, so LeakSanitizer checks the error paths too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"
#include "util/base64.h"
#include "fuzz.h"

static void
check_reply(const char *err)
{
	if (err == NULL)
		return;
	CHECK(strlen(err) > 10);
	CHECK(err[0] == '4' || err[0] == '5');
	CHECK(err[3] == ' ' && err[4] == err[0] && err[5] == '.');
	CHECK(strpbrk(err, "\r\n") == NULL);
}

static void
try_mail(const char *arg)
{
	struct smtp_mail_params p;
	char *addr;
	const char *err = smtp_parse_mail(arg, &addr, &p);

	check_reply(err);
	if (err != NULL) {
		CHECK(addr == NULL && p.envid == NULL);
		return;
	}
	CHECK(addr != NULL && strlen(addr) <= 256);
	CHECK(p.envid == NULL || strlen(p.envid) <= 100);
	free(addr);
	smtp_mail_params_clear(&p);
}

/* XFORWARD: an error leaves the attributes as they were; accepted values
 * fit their fields and the address is an address. */
static void
try_xforward(const char *arg)
{
	struct smtp_xforward xf, before;
	const char *err;

	memset(&xf, 0, sizeof(xf));
	strcpy(xf.helo, "before.example");
	before = xf;
	err = smtp_parse_xforward(arg, &xf);
	check_reply(err);
	if (err != NULL) {
		CHECK(memcmp(&xf, &before, sizeof(xf)) == 0);
		return;
	}
	CHECK(strlen(xf.addr) < sizeof(xf.addr) && strlen(xf.helo) < sizeof(xf.helo));
	CHECK(strpbrk(xf.helo, "\r\n") == NULL && strpbrk(xf.name, "\r\n") == NULL);
	CHECK(xf.addr[0] == '\0' || strspn(xf.addr, "0123456789abcdefABCDEF.:") == strlen(xf.addr));
}

static void
try_rcpt(const char *arg, int utf8)
{
	struct smtp_rcpt_params p;
	char *addr;
	const char *err = smtp_parse_rcpt(arg, utf8, &addr, &p);

	check_reply(err);
	if (err != NULL) {
		CHECK(addr == NULL && p.orcpt == NULL);
		return;
	}
	CHECK(addr != NULL && addr[0] != '\0' && strlen(addr) <= 256);
	free(addr);
	smtp_rcpt_params_clear(&p);
}

static void
try_auth(const char *b64)
{
	char *user, *pass, *out;
	const char *err;

	err = smtp_parse_auth_plain(b64, &user, &pass);
	check_reply(err);
	if (err == NULL) {
		CHECK(user != NULL && pass != NULL && user[0] != '\0' && pass[0] != '\0');
		free(user);
		explicit_bzero(pass, strlen(pass));
		free(pass);
	} else
		CHECK(user == NULL && pass == NULL);
	err = smtp_parse_auth_login(b64, &out);
	check_reply(err);
	if (err == NULL)
		free(out);
	else
		CHECK(out == NULL);
}

static void
try_line(const char *line, size_t len)
{
	struct smtp_cmd cmd;
	const char *err = smtp_parse_command(line, len, &cmd);

	check_reply(err);
	CHECK(cmd.arg != NULL);
	if (err != NULL)
		return;
	CHECK(memchr(line, '\0', len) == NULL);
	switch (cmd.verb) {
	case SMTP_VERB_MAIL:
		try_mail(cmd.arg);
		break;
	case SMTP_VERB_RCPT:
		try_rcpt(cmd.arg, 0);
		try_rcpt(cmd.arg, 1);
		break;
	case SMTP_VERB_AUTH: {
		const char *sp = strchr(cmd.arg, ' ');

		try_auth(sp != NULL ? sp + 1 : cmd.arg);
		break;
	}
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		(void)smtp_valid_helo(cmd.arg);
		break;
	default:
		break;
	}
}

static void
fuzz_lines(const char *buf, size_t size)
{
	size_t off = 0, linelen, consumed;

	while (off < size) {
		enum smtp_line_status st = smtp_line_find(buf + off, size - off, 512,
		    &linelen, &consumed);

		if (st == SMTP_LINE_MORE) {
			CHECK(consumed == 0 && size - off < 512);
			break;
		}
		CHECK(consumed > 0 && consumed <= size - off && consumed <= 512);
		if (st != SMTP_LINE_TOO_LONG) {
			char *line = malloc(linelen + 1);

			CHECK(buf[off + consumed - 1] == '\n');
			CHECK(linelen + (st == SMTP_LINE_OK ? 2 : 1) == consumed);
			memcpy(line, buf + off, linelen);
			line[linelen] = '\0';
			try_line(line, linelen);
			free(line);
		}
		off += consumed;
	}
}

struct sink {
	char *buf;
	size_t len;
};

static void
sink_out(void *arg, const char *p, size_t n)
{
	struct sink *s = arg;

	CHECK(n > 0);
	s->buf = realloc(s->buf, s->len + n);
	CHECK(s->buf != NULL);
	memcpy(s->buf + s->len, p, n);
	s->len += n;
}

struct run {
	struct sink out;
	size_t consumed;
	int done, bare;
};

static void
data_run(const char *in, size_t len, int normalize, size_t step, size_t split,
    struct run *r)
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
		CHECK(c <= n);
		CHECK(c == n || d.done);
		off += c;
	}
	if (d.done)
		CHECK(smtp_data_feed(&d, in, len, sink_out, &r->out) == 0);
	CHECK(d.bytes_out == (int64_t)r->out.len);
	r->consumed = off;
	r->done = d.done;
	r->bare = d.bare_newline;
}

/* Where the end of DATA must be: after the first CRLF "." CRLF, or after a
 * "." CRLF at the very start.  0 when there is none. */
static size_t
data_reference_end(const char *in, size_t len)
{
	if (len >= 3 && memcmp(in, ".\r\n", 3) == 0)
		return 3;
	for (size_t i = 0; i + 5 <= len; i++)
		if (memcmp(in + i, "\r\n.\r\n", 5) == 0)
			return i + 5;
	return 0;
}

static void
fuzz_data(const char *in, size_t len, size_t split)
{
	struct run first = { { NULL, 0 }, 0, 0, 0 }, r;
	size_t end = data_reference_end(in, len);
	int have_first = 0;

	for (int normalize = 0; normalize <= 1; normalize++) {
		for (int way = 0; way < 3; way++) {
			if (way == 2 && (split == 0 || split >= len))
				continue;
			data_run(in, len, normalize, way == 1 ? 1 : 0, way == 2 ? split : 0, &r);
			CHECK(r.done == (end != 0));
			CHECK(r.consumed == (end != 0 ? end : len));
			/* CRLF line endings only */
			for (size_t i = 0; i < r.out.len; i++) {
				if (r.out.buf[i] == '\r')
					CHECK(i + 1 < r.out.len && r.out.buf[i + 1] == '\n');
				if (r.out.buf[i] == '\n')
					CHECK(i > 0 && r.out.buf[i - 1] == '\r');
			}
			if (!have_first) {
				first = r;
				have_first = 1;
				continue;
			}
			CHECK(r.done == first.done && r.bare == first.bare);
			CHECK(r.out.len == first.out.len);
			CHECK(r.out.len == 0 || memcmp(r.out.buf, first.out.buf, r.out.len) == 0);
			free(r.out.buf);
		}
	}
	free(first.out.buf);
}

static void
fuzz_base64(const char *in, size_t len)
{
	char *enc = malloc(base64_encoded_len(len) + 1);
	unsigned char *dec = malloc(3 * (base64_encoded_len(len) / 4) + 3);
	long n;

	base64_encode(in, len, enc);
	CHECK(strlen(enc) == base64_encoded_len(len));
	n = base64_decode(enc, strlen(enc), dec);
	CHECK(n == (long)len);
	CHECK(len == 0 || memcmp(dec, in, len) == 0);
	free(dec);

	dec = malloc(3 * (len / 4) + 3);
	n = base64_decode(in, len, dec);
	if (n >= 0) {
		/* strict decoding: the only accepted form is the canonical one,
		 * padded or not */
		char *again = malloc(base64_encoded_len((size_t)n) + 1);

		base64_encode(dec, (size_t)n, again);
		CHECK(strncmp(again, in, len) == 0);
		CHECK(strlen(again) == len || (strlen(again) == (len + 3) / 4 * 4));
		free(again);
	}
	free(dec);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (size > 65536)
		return 0;
	s = malloc(size + 1);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';

	fuzz_lines(s, size);
	try_mail(s);
	try_rcpt(s, 0);
	try_rcpt(s, 1);
	try_auth(s);
	try_xforward(s);
	(void)smtp_valid_helo(s);
	fuzz_data(s, size, size > 0 ? (size_t)data[0] % size : 0);
	fuzz_base64(s, size);

	free(s);
	return 0;
}
