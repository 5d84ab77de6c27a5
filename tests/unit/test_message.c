/*
 * test_message.c - the parsed message: charsets (ISO-2022-JP, Shift_JIS,
 * EUC-JP, UTF-8 in base64 and quoted-printable), RFC 2047 and 2231 words,
 * HTML links and forms, URLs in text, nesting, the Received chain, limits
 * on hostile structure, and message_rewrite() against golden files.
 *
 * Fixtures are in tests/fixtures/mail (written by make_fixtures.py there).
 * Golden outputs are in tests/fixtures/mail/golden; run with
 * SEKISHO_UPDATE_GOLDEN=1 to rewrite them after a deliberate change, then
 * read the diff.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message/message.h"
#include "message/message_int.h"
#include "util/util.h"

static char *
fixture_path(const char *name)
{
	const char *src = getenv("SEKISHO_SRC");

	return xasprintf("%s/tests/fixtures/mail/%s", src != NULL ? src : ".", name);
}

static char *
load(const char *name, size_t *len)
{
	char *path = fixture_path(name);
	char *data = util_read_file(path, 1 << 24, len);

	if (data == NULL)
		fail_msg("cannot read fixture %s", path);
	free(path);
	return data;
}

struct loaded {
	char *raw;
	size_t len;
	struct message *m;
};

static struct loaded
parse_fixture(const char *name)
{
	struct loaded l;

	l.raw = load(name, &l.len);
	l.m = message_parse(l.raw, l.len, NULL);
	assert_non_null(l.m);
	return l;
}

static void
unload(struct loaded *l)
{
	message_free(l->m);
	free(l->raw);
}

static const struct msg_url *
find_url(const struct message *m, const char *url, enum url_source src)
{
	for (size_t i = 0; i < m->nurls; i++)
		if (strcmp(m->urls[i].url, url) == 0 && m->urls[i].source == src)
			return &m->urls[i];
	return NULL;
}

static int
has_url_containing(const struct message *m, const char *s)
{
	for (size_t i = 0; i < m->nurls; i++)
		if (strstr(m->urls[i].url, s) != NULL)
			return 1;
	return 0;
}

/* ---- Japanese and UTF-8 text ---- */

static const struct {
	const char *file;
	const char *subject;
	const char *from_display;
	const char *charset;
	const char *text[4];	/* must appear in msg->text */
} texts[] = {
	{ "iso2022jp.eml", "【重要】お見積りのご案内（第２版）", "㈱サンプル商事 営業部", "iso-2022-jp",
	  { "山田様\n\nいつもお世話になっております。\n",
	    "①お見積書を添付いたしました。\n",
	    "詳細は https://www.example.co.jp/quote をご覧ください。", NULL } },
	/* CP932 readings: FULLWIDTH TILDE, circled one, the IBM 髙, a real backslash */
	{ "sjis.eml", "納期のご連絡", "髙橋 一郎", "shift_jis",
	  { "髙橋です。\n", "納期は１０日～１５日です。\n", "①確認済み\n", "C:\\data\\file.txt\n" } },
	{ "eucjp.eml", "会議の議事録", NULL, "euc-jp",
	  { "本日の会議の議事録を送ります。\n佐藤\n", NULL } },
	{ "utf8-base64.eml", "テスト件名", NULL, "utf-8",
	  { "こんにちは、世界。Grüße aus Köln.\n次のURLへ: example.com/path?a=1\n", NULL } },
	{ "utf8-qp.eml", "Grüße und mehr", NULL, "utf-8",
	  { "こんにちは、世界。Grüße aus Köln.\n次のURLへ: example.com/path?a=1\n", NULL } },
};

static void
test_text_charsets(void **state)
{
	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(texts); i++) {
		struct loaded l = parse_fixture(texts[i].file);
		struct message *m = l.m;

		assert_non_null(m->subject);
		assert_string_equal(m->subject, texts[i].subject);
		assert_int_equal(m->nfrom, 1);
		if (texts[i].from_display != NULL) {
			assert_non_null(m->from[0].display);
			assert_string_equal(m->from[0].display, texts[i].from_display);
		}
		assert_int_equal(m->nparts, 1);
		assert_true(m->parts[0].is_text);
		assert_string_equal(m->parts[0].charset, texts[i].charset);
		for (size_t k = 0; k < 4 && texts[i].text[k] != NULL; k++)
			if (strstr(m->text, texts[i].text[k]) == NULL)
				fail_msg("%s: \"%s\" not in text \"%s\"", texts[i].file, texts[i].text[k], m->text);
		assert_int_equal(m->defects & (MSG_DEFECT_INVALID_TEXT | MSG_DEFECT_BAD_CHARSET), 0);
		assert_int_equal(m->limits, 0);
		unload(&l);
	}
}

static void
test_iso2022jp_headers(void **state)
{
	struct loaded l = parse_fixture("iso2022jp.eml");
	struct message *m = l.m;

	(void)state;
	assert_string_equal(m->from[0].addr, "sales@example.net");
	assert_string_equal(m->from[0].domain, "example.net");
	assert_int_equal(m->nto, 2);
	assert_string_equal(m->to[0].display, "山田 太郎");
	assert_string_equal(m->to[0].addr, "yamada@example.co.jp");
	assert_null(m->to[1].display);
	assert_string_equal(m->to[1].addr, "suzuki@example.co.jp");
	assert_string_equal(m->message_id, "20240102100000.1234@example.net");
	assert_int_equal(m->date, 1704157200);	/* 2024-01-02 01:00:00 UTC */
	assert_string_equal(message_header(m, "subject"), "【重要】お見積りのご案内（第２版）");
	assert_int_equal(message_header_count(m, "Received"), 2);
	assert_null(message_header(m, "X-Nothing"));
	/* raw is unfolded but not decoded */
	assert_non_null(strstr(message_header(m, "To"), "山田 太郎"));
	for (size_t i = 0; i < m->nheaders; i++)
		if (strcmp(m->headers[i].name, "To") == 0)
			assert_non_null(strstr(m->headers[i].raw, "=?iso-2022-jp?B?"));
	unload(&l);
}

static void
test_received(void **state)
{
	struct loaded l = parse_fixture("iso2022jp.eml");
	struct message *m = l.m;

	(void)state;
	assert_int_equal(m->nreceived, 2);
	assert_string_equal(m->received[0].from_name, "mail.example.net");
	assert_string_equal(m->received[0].from_ip, "203.0.113.5");
	assert_string_equal(m->received[0].by, "mx.example.co.jp");
	assert_int_equal(m->received[0].when, 1704157202);
	assert_string_equal(m->received[1].from_name, "pc01");
	assert_string_equal(m->received[1].from_ip, "192.0.2.7");
	assert_string_equal(m->received[1].by, "mail.example.net");
	assert_int_equal(m->received[1].when, 1704157200);
	assert_non_null(strstr(m->received[1].raw, "(Exim 4.96)"));
	unload(&l);

	{
		static const struct {
			const char *raw, *from, *ip, *by;
		} rs[] = {
			{ "from [198.51.100.9] (port=4242 helo=x) by mx.example.com; Mon, 1 Jan 2024 00:00:00 +0000",
			  "[198.51.100.9]", "198.51.100.9", "mx.example.com" },
			{ "from host.example (host.example [IPv6:2001:db8::1]) by mx (Postfix)",
			  "host.example", "2001:db8::1", "mx" },
			{ "by mx.example.com with LMTP id x; Mon, 1 Jan 2024 00:00:00 +0000",
			  NULL, NULL, "mx.example.com" },
			{ "from unknown (HELO by.example) (10.1.2.3) by smtp.example.org",
			  "unknown", "10.1.2.3", "smtp.example.org" },
			{ "garbage ;", NULL, NULL, NULL },
		};

		for (size_t i = 0; i < UTIL_ARRAY_LEN(rs); i++) {
			struct msg_received r;

			mhdr_received(rs[i].raw, &r);
			if (rs[i].from == NULL)
				assert_null(r.from_name);
			else
				assert_string_equal(r.from_name, rs[i].from);
			if (rs[i].ip == NULL)
				assert_null(r.from_ip);
			else
				assert_string_equal(r.from_ip, rs[i].ip);
			if (rs[i].by == NULL)
				assert_null(r.by);
			else
				assert_string_equal(r.by, rs[i].by);
			free(r.raw);
			free(r.from_name);
			free(r.from_ip);
			free(r.by);
		}
	}
}

/* ---- header words and charsets, directly ---- */

static void
test_header_words(void **state)
{
	static const struct {
		const char *raw;
		const char *want;
	} words[] = {
		{ "plain text", "plain text" },
		{ "=?UTF-8?B?5pel5pys?= =?UTF-8?B?6Kqe?= test", "日本語 test" },
		/* one character split between two words */
		{ "=?UTF-8?B?5pel5g==?= =?UTF-8?B?nKzoqp4=?=", "日本語" },
		/* ISO-2022-JP state carried from one word to the next */
		{ "=?ISO-2022-JP?B?GyRCRnxLXA==?= =?ISO-2022-JP?B?OGwbKEI=?=", "日本語" },
		/* NEC row 13 (U+3231) that glibc's ISO-2022-JP rejects */
		{ "=?ISO-2022-JP?B?GyRCLWolNSVzJVclaxsoQg==?=", "㈱サンプル" },
		{ "=?iso-8859-1?q?Gr=FC=DFe_aus?= K=?utf-8?q?=C3=B6?=ln", "Grüße aus Köln" },
		{ "a =?utf-8?q?b?=  =?utf-8?q?c?= d", "a bc d" },
		{ "=?utf-8*ja?B?5pel?=", "日" },
		{ "=?x-unknown?B?5pel5pys?=", "日本" },
		{ "=?utf-8?q?ctl=0D=0Aline?=", "ctl  line" },
		{ "not =?a word", "not =?a word" },
		{ "=?utf-8?B?invalid base64 ?=", "=?utf-8?B?invalid base64 ?=" },
		/* raw 8-bit: UTF-8 kept, Shift_JIS guessed */
		{ "\xe6\x97\xa5\xe6\x9c\xac", "日本" },
		{ "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x8c\x8f\x96\xbc", "日本語の件名" },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(words); i++) {
		unsigned f = 0;
		char *d = mhdr_decode(words[i].raw, strlen(words[i].raw), &f);

		if (strcmp(d, words[i].want) != 0)
			fail_msg("decode(%s) = \"%s\", want \"%s\"", words[i].raw, d, words[i].want);
		free(d);
	}
}

static void
test_charsets(void **state)
{
	static const struct {
		const char *label;
		const char *in;
		size_t len;
		const char *want;
		unsigned flags;
	} cs[] = {
		{ "koi8-r", "\xf0\xd2\xc9\xd7\xc5\xd4", 6, "Привет", 0 },
		{ "gb2312", "\xc4\xe3\xba\xc3", 4, "你好", 0 },
		{ "GBK", "\x81\x40", 2, "丂", 0 },
		{ "big5", "\xa7\x41\xa6\x6e", 4, "你好", 0 },
		{ "iso-8859-1", "\x80 caf\xe9", 6, "€ café", 0 },
		{ "ks_c_5601-1987", "\xbe\xc8\xb3\xe7", 4, "안녕", 0 },
		{ "utf-8", "ok \xff end", 8, "ok \xef\xbf\xbd end", MCS_INVALID },
		{ "utf-8", "\xe6\x97", 2, "\xef\xbf\xbd", MCS_INVALID },
		{ "\"UTF-8\"", "\xe6\x97\xa5", 3, "日", 0 },
		/* labels that lie: the bytes are UTF-8 */
		{ "iso-2022-jp", "\xe6\x97\xa5\xe6\x9c\xac", 6, "日本", MCS_GUESSED },
		{ "us-ascii", "\xe6\x97\xa5", 3, "日", 0 },
		/* no label, or one nobody knows: a guess */
		{ NULL, "plain", 5, "plain", 0 },
		{ NULL, "\x1b$BF|K\\\x1b(B", 10, "日本", MCS_GUESSED },
		{ NULL, "\xc6\xfc\xcb\xdc\xb8\xec\xa4\xce\xcb\xdc\xca\xb8", 12, "日本語の本文", MCS_GUESSED },
		{ NULL, "\x93\xfa\x96\x7b\x8c\xea\x82\xcc\x96\x7b\x95\xb6", 12, "日本語の本文", MCS_GUESSED },
		{ "x-bogus", "caf\xe9", 4, "café", MCS_GUESSED },
		/* Shift_JIS read as CP932, and ISO-2022-JP with IBM extensions */
		{ "shift_jis", "\x87\x40\x81\x60\xfb\xfc", 6, "①～髙", 0 },
		{ "iso-2022-jp", "\x1b$B|b\x1b(B", 8, "髙", 0 },
		{ "iso-2022-jp", "\x1b(I12\x1b(B", 8, "ｱｲ", 0 },
		{ "euc-jp", "\xa4\xb3\xa4\xf3", 4, "こん", 0 },
		{ "windows-1251", "\xcf\xf0\xe8", 3, "При", 0 },
		{ "utf-16le", "A\0\x42\x30", 4, "Aあ", 0 },
		{ "utf-8", "a\0b", 3, "a b", 0 },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cs); i++) {
		unsigned f = 0;
		size_t n;
		char *u = mcs_to_utf8(cs[i].label, cs[i].in, cs[i].len, &n, &f);

		if (strcmp(u, cs[i].want) != 0 || n != strlen(u))
			fail_msg("%zu: %s -> \"%s\", want \"%s\"", i, cs[i].label ? cs[i].label : "(none)",
			    u, cs[i].want);
		if (f != cs[i].flags)
			fail_msg("%zu: %s flags %#x, want %#x", i, cs[i].label ? cs[i].label : "(none)",
			    f, cs[i].flags);
		free(u);
	}
	/* and back, for banners */
	{
		size_t n;
		char *e = mcs_from_utf8("iso-2022-jp", "注意", strlen("注意"), 0, &n);

		assert_non_null(e);
		assert_int_equal(n, 10);
		assert_memory_equal(e, "\x1b$BCm0U\x1b(B", 10);
		free(e);
		assert_null(mcs_from_utf8("iso-8859-1", "注意", strlen("注意"), 0, &n));
		e = mcs_from_utf8("iso-8859-1", "<b>注</b>é", strlen("<b>注</b>é"), 1, &n);
		assert_non_null(e);
		assert_string_equal(e, "<b>&#27880;</b>\xe9");
		free(e);
		assert_null(mcs_from_utf8("x-bogus", "a", 1, 0, &n));
		assert_null(mcs_from_utf8("utf-16", "a", 1, 1, &n));
	}
}

/* ---- attachments ---- */

static void
test_filenames(void **state)
{
	static const struct {
		const char *type, *name, *disp;
		int att, text;
		size_t size;
	} want[] = {
		{ "text/plain", NULL, NULL, 0, 1, 14 },
		{ "application/pdf", "見積.pdf", "attachment", 1, 0, 16 },
		{ "application/pdf", "請求書.pdf", "attachment", 1, 0, 16 },
		{ "application/octet-stream", "注文sheet.xlsx", "attachment", 1, 0, 16 },
		{ "image/png", "logo.png", NULL, 1, 0, 10 },
	};
	struct loaded l = parse_fixture("filenames.eml");
	struct message *m = l.m;
	size_t n;
	int trunc;
	unsigned char *b;

	(void)state;
	assert_int_equal(m->nparts, UTIL_ARRAY_LEN(want));
	for (size_t i = 0; i < m->nparts; i++) {
		struct msg_part *p = &m->parts[i];

		assert_string_equal(p->content_type, want[i].type);
		if (want[i].name == NULL)
			assert_null(p->filename);
		else
			assert_string_equal(p->filename, want[i].name);
		if (want[i].disp == NULL)
			assert_null(p->disposition);
		else
			assert_string_equal(p->disposition, want[i].disp);
		assert_int_equal(p->is_attachment, want[i].att);
		assert_int_equal(p->is_text, want[i].text);
		assert_int_equal(p->depth, 1);
		if (want[i].att)
			assert_string_equal(p->encoding, "base64");
		if (i > 0) {
			assert_null(p->text);
			assert_int_equal(p->size, want[i].size);
		}
	}
	assert_string_equal(m->text, "see attached");
	b = message_part_bytes(m, 1, 1 << 20, &n, &trunc);
	assert_non_null(b);
	assert_int_equal(n, 16);
	assert_int_equal(trunc, 0);
	assert_memory_equal(b, "%PDF-1.4\n% fake\n", 16);
	free(b);
	b = message_part_bytes(m, 1, 4, &n, &trunc);
	assert_int_equal(n, 4);
	assert_int_equal(trunc, 1);
	assert_memory_equal(b, "%PDF", 4);
	free(b);
	b = message_part_bytes(m, 4, 100, &n, &trunc);
	assert_int_equal(n, 10);
	assert_memory_equal(b, "\x89PNG\r\n\x1a\nxx", 10);
	free(b);
	assert_null(message_part_bytes(m, 99, 10, &n, &trunc));
	unload(&l);

	{
		static const struct {
			const char *value, *name, *want;
		} ps[] = {
			{ "attachment; filename*=UTF-8''%E8%A6%8B%E7%A9%8D.pdf", "filename", "見積.pdf" },
			{ "attachment; filename*=iso-2022-jp'ja'%1B%24B8%2B%40Q%1B%28B.pdf", "filename", "見積.pdf" },
			{ "attachment; filename*0=\"long\"; filename*1=\"name.txt\"", "filename", "longname.txt" },
			{ "attachment; FILENAME=\"a \\\"q\\\" b.doc\"", "filename", "a \"q\" b.doc" },
			{ "attachment; filename=plain.txt ; size=3", "filename", "plain.txt" },
			{ "inline; filename=\"=?UTF-8?B?5pel5pys?=.txt\"", "filename", "日本.txt" },
			{ "text/plain; charset=\"ISO-2022-JP\"; format=flowed", "charset", "ISO-2022-JP" },
			{ "attachment; name=\"x\"", "filename", NULL },
			{ "attachment; filename=\"\x93\xfa\x96\x7b.txt\"", "filename", "日本.txt" },
		};

		for (size_t i = 0; i < UTIL_ARRAY_LEN(ps); i++) {
			unsigned f = 0;
			char *v = mhdr_param(ps[i].value, ps[i].name, &f);

			if (ps[i].want == NULL)
				assert_null(v);
			else if (v == NULL || strcmp(v, ps[i].want) != 0)
				fail_msg("param(%s) = %s, want %s", ps[i].value, v ? v : "(null)", ps[i].want);
			free(v);
		}
	}
}

/* ---- HTML and URLs ---- */

static void
test_html(void **state)
{
	struct loaded l = parse_fixture("html-phish.eml");
	struct message *m = l.m;
	struct msg_part *h;
	const struct msg_url *u;

	(void)state;
	assert_int_equal(m->nparts, 2);
	h = &m->parts[1];
	assert_true(h->is_html && h->is_text);
	assert_non_null(h->html);
	assert_non_null(strstr(h->html, "<form action=\"https://collect.example.org/post.php\""));
	/* visible text: no title, style, script or comment; blocks on their own lines */
	assert_null(strstr(h->text, "hidden title"));
	assert_null(strstr(h->text, "color:red"));
	assert_null(strstr(h->text, "comment"));
	assert_non_null(strstr(h->text, "Dear customer,\nPlease https://www.bank.example.co.jp/login now.\n"));
	assert_non_null(strstr(h->text, "cell one cell two"));
	assert_string_equal(m->html_text, h->text);

	u = find_url(m, "https://evil.example.net/login?x=1&y=2", URL_FROM_HREF);
	assert_non_null(u);
	assert_string_equal(u->text, "https://www.bank.example.co.jp/login");
	assert_string_equal(u->host, "evil.example.net");
	assert_string_equal(u->domain, "example.net");
	assert_int_equal(u->part, 1);
	/* the anchor text is also a URL of the visible text */
	u = find_url(m, "https://www.bank.example.co.jp/login", URL_FROM_TEXT);
	assert_non_null(u);
	assert_int_equal(u->part, 1);
	/* an image link takes the alt text */
	u = find_url(m, "http://3232235777/verify", URL_FROM_HREF);
	assert_non_null(u);
	assert_string_equal(u->text, "Verify");
	assert_true(u->host_is_ip);
	assert_string_equal(u->domain, "192.168.1.1");
	assert_non_null(find_url(m, "https://img.example.org/btn.png", URL_FROM_IMG));
	assert_non_null(find_url(m, "https://cdn.example.net/t.js", URL_FROM_SCRIPT));
	assert_non_null(find_url(m, "https://collect.example.org/post.php", URL_FROM_FORM));
	assert_false(has_url_containing(m, "comment.example.com"));

	assert_int_equal(m->nforms, 2);
	assert_string_equal(m->forms[0].action, "https://collect.example.org/post.php");
	assert_string_equal(m->forms[0].method, "post");
	assert_int_equal(m->forms[0].has_password, 1);
	assert_int_equal(m->forms[0].part, 1);
	assert_string_equal(m->forms[1].action, "/search");
	assert_string_equal(m->forms[1].method, "get");
	assert_int_equal(m->forms[1].has_password, 0);
	unload(&l);
}

static void
test_text_urls(void **state)
{
	static const struct {
		const char *url;
		enum url_source src;
		const char *scheme, *host, *host_utf8, *domain;
		int ip, schemeless, part;
	} want[] = {
		{ "http://www.example.co.jp/login", URL_FROM_TEXT, "http", "www.example.co.jp", NULL,
		  "example.co.jp", 0, 1, 0 },
		{ "http://example.com/path", URL_FROM_TEXT, "http", "example.com", NULL, "example.com", 0, 1, 0 },
		{ "http://3232235777/", URL_FROM_TEXT, "http", "3232235777", NULL, "192.168.1.1", 1, 0, 0 },
		{ "http://0xC0A80001/x", URL_FROM_TEXT, "http", "0xc0a80001", NULL, "192.168.0.1", 1, 0, 0 },
		{ "http://0300.0250.0.1/", URL_FROM_TEXT, "http", "0300.0250.0.1", NULL, "192.168.0.1", 1, 0, 0 },
		{ "http://xn--eckwd4c7c.xn--zckzah/", URL_FROM_TEXT, "http", "xn--eckwd4c7c.xn--zckzah",
		  "ドメイン.テスト", "xn--eckwd4c7c.xn--zckzah", 0, 0, 0 },
		{ "https://user@good.example.com@evil.example.org/a", URL_FROM_TEXT, "https", "evil.example.org",
		  NULL, "example.org", 0, 0, 0 },
		{ "mailto:support@example.co.jp", URL_FROM_TEXT, "mailto", "example.co.jp", NULL,
		  "example.co.jp", 0, 0, 0 },
		{ "http://198.51.100.7/admin", URL_FROM_TEXT, "http", "198.51.100.7", NULL, "198.51.100.7", 1, 1, 0 },
		{ "http://www.example.co.jp/login", URL_FROM_TEXT, "http", "www.example.co.jp", NULL,
		  "example.co.jp", 0, 1, 0 },
		{ "http://xn--eckwd4c7c.xn--zckzah/path", URL_FROM_TEXT, "http", "xn--eckwd4c7c.xn--zckzah",
		  "ドメイン.テスト", "xn--eckwd4c7c.xn--zckzah", 0, 0, 1 },
	};
	static const char *const not_urls[] = {
		"file.txt", "setup.py", "1.2.3", "john@", "comment.example",
	};
	struct loaded l = parse_fixture("html-phish.eml");
	struct message *m = l.m;

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(want); i++) {
		const struct msg_url *u = find_url(m, want[i].url, want[i].src);

		if (u == NULL)
			fail_msg("no URL %s", want[i].url);
		assert_string_equal(u->scheme, want[i].scheme);
		assert_string_equal(u->host, want[i].host);
		if (want[i].host_utf8 == NULL)
			assert_null(u->host_utf8);
		else
			assert_string_equal(u->host_utf8, want[i].host_utf8);
		assert_string_equal(u->domain, want[i].domain);
		assert_int_equal(u->host_is_ip, want[i].ip);
		assert_int_equal(u->schemeless, want[i].schemeless);
		if (want[i].src == URL_FROM_TEXT && i == UTIL_ARRAY_LEN(want) - 1)
			assert_int_equal(u->part, want[i].part);
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(not_urls); i++)
		if (has_url_containing(m, not_urls[i]))
			fail_msg("\"%s\" taken for a URL", not_urls[i]);
	/* de-duplicated: the plain part's www URL once from text */
	{
		size_t n = 0;

		for (size_t i = 0; i < m->nurls; i++)
			if (strcmp(m->urls[i].url, "http://www.example.co.jp/login") == 0)
				n++;
		assert_int_equal(n, 1);
	}
	unload(&l);
}

static void
test_url_scan(void **state)
{
	static const struct {
		const char *text;
		const char *want[3];	/* URLs found, in order */
	} scans[] = {
		{ "see (https://example.com/a_(b)) and https://x.example.org/q?a=1.", {
		  "https://example.com/a_(b)", "https://x.example.org/q?a=1", NULL } },
		{ "こちらwww.example.co.jp/loginへ、またはhttps://example.jp/ログイン", {
		  "http://www.example.co.jp/login", "https://example.jp/", NULL } },
		{ "URL:http://a.example.com/x, <http://b.example.com/>", {
		  "http://a.example.com/x", "http://b.example.com/", NULL } },
		{ "bare paypal-secure.com here; not report.pdf nor archive.zip or e.g. this", {
		  "http://paypal-secure.com", NULL } },
		{ "host:port example.net:8080 and www.example", { "http://example.net:8080", NULL } },
		{ "mail me: someone@example.com or MAILTO:a@b.example", { "MAILTO:a@b.example", NULL } },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(scans); i++) {
		unsigned lim = 0;
		struct murls *u = murls_new(100, &lim);
		struct msg_url *v;
		size_t n, k = 0;

		murls_scan_text(u, scans[i].text, strlen(scans[i].text), 0);
		v = murls_take(u, &n);
		for (; k < 3 && scans[i].want[k] != NULL; k++) {
			if (k >= n)
				fail_msg("text %zu: missing %s", i, scans[i].want[k]);
			if (strcmp(v[k].url, scans[i].want[k]) != 0)
				fail_msg("text %zu: %s, want %s", i, v[k].url, scans[i].want[k]);
		}
		if (n != k)
			fail_msg("text %zu: %zu URLs, want %zu (extra: %s)", i, n, k, v[k].url);
		for (size_t j = 0; j < n; j++) {
			free(v[j].url);
			free(v[j].scheme);
			free(v[j].host);
			free(v[j].host_utf8);
			free(v[j].domain);
			free(v[j].text);
		}
		free(v);
		murls_free(u);
	}
}

static void
test_html_base(void **state)
{
	static const char *const want[] = {
		"https://www.example.com/dir/other.html", "https://www.example.com/up/x",
		"https://www.example.com/root", "https://www.example.com/dir/page.html?q=1",
		"https://cdn.example.org/a",
	};
	struct loaded l = parse_fixture("html-base.eml");
	struct message *m = l.m;

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(want); i++)
		if (find_url(m, want[i], URL_FROM_HREF) == NULL)
			fail_msg("no %s", want[i]);
	assert_int_equal(m->nforms, 1);
	assert_string_equal(m->forms[0].action, "https://www.example.com/dir/login.php");
	assert_int_equal(m->forms[0].has_password, 1);
	unload(&l);
}

static void
test_registrable_domain(void **state)
{
	static const struct {
		const char *host, *want;
	} ds[] = {
		{ "www.example.co.jp", "example.co.jp" },
		{ "WWW.Example.COM", "example.com" },
		{ "a.b.example.co.uk", "example.co.uk" },
		{ "co.jp", "co.jp" },
		{ "example.com.", "example.com" },
		{ "192.0.2.1", "192.0.2.1" },
		{ "2001:db8::1", "2001:db8::1" },
		{ "localhost", "localhost" },
		{ "xn--wgv71a119e.jp", "xn--wgv71a119e.jp" },
		{ "sub.xn--wgv71a119e.jp", "xn--wgv71a119e.jp" },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(ds); i++) {
		char *d = message_registrable_domain(ds[i].host);

		assert_string_equal(d, ds[i].want);
		free(d);
	}
	assert_null(message_registrable_domain(NULL));
	{
		uint32_t ip;

		assert_true(murl_ipv4("3232235777", &ip) && ip == 0xC0A80101u);
		assert_true(murl_ipv4("0xC0A80001", &ip) && ip == 0xC0A80001u);
		assert_true(murl_ipv4("192.168.1", &ip) && ip == 0xC0A80001u);
		assert_true(murl_ipv4("127.1", &ip) && ip == 0x7F000001u);
		assert_false(murl_ipv4("256.1.1.1", &ip));
		assert_false(murl_ipv4("1.2.3.4.5", &ip));
		assert_false(murl_ipv4("08.1.1.1", &ip));
		assert_false(murl_ipv4("example.com", &ip));
		assert_false(murl_ipv4("4294967296", &ip));
	}
}

/* ---- structure ---- */

static void
test_nested(void **state)
{
	struct loaded l = parse_fixture("nested.eml");
	struct message *m = l.m;

	(void)state;
	assert_int_equal(m->nparts, 4);
	assert_string_equal(m->parts[0].content_type, "text/plain");
	assert_int_equal(m->parts[0].depth, 2);
	assert_string_equal(m->parts[1].content_type, "text/html");
	assert_string_equal(m->parts[1].text, "outer html");
	assert_string_equal(m->parts[2].content_type, "text/plain");
	assert_int_equal(m->parts[2].depth, 3);	/* mixed > message > mixed > text */
	assert_true(m->parts[2].is_text);
	assert_string_equal(m->parts[3].filename, "inner.zip");
	assert_true(m->parts[3].is_attachment);
	assert_string_equal(m->text, "outer text\nforwarded text http://inner.example.org/");
	assert_non_null(find_url(m, "http://inner.example.org/", URL_FROM_TEXT));
	assert_int_equal(m->limits, 0);
	unload(&l);
}

static void
test_odd_inputs(void **state)
{
	static const struct {
		const char *raw;
		size_t len;
		unsigned defects;	/* must be set */
		const char *subject;
		const char *text;
	} odd[] = {
		{ "", 0, MSG_DEFECT_NO_HEADERS, NULL, "" },
		{ "just a body line\nand another\n", 29, MSG_DEFECT_NO_HEADERS, NULL,
		  "just a body line\nand another\n" },
		{ "\nbody after an empty block\n", 27, MSG_DEFECT_NO_HEADERS, NULL, "body after an empty block\n" },
		{ "Subject: cr only\rFrom: a@example.com\r\rbody\r", 43, 0, "cr only", "body\n" },
		{ "From someone@example.com Mon Jan  1 00:00:00 2024\nSubject: mbox\n\nbody\n", 70, 0,
		  "mbox", "body\n" },
		{ "Subject: no body", 16, 0, "no body", "" },
		{ "Subject: nul\0byte\n\nbo\0dy\n", 25, 0, "nulbyte", "bo dy\n" },
		{ "Subject: \xe4\xbb\xb6\xe5\x90\x8d\n\nx\n", 19, MSG_DEFECT_8BIT_HEADER, "件名", "x\n" },
		{ "Subject: s\nContent-Type: text/plain; charset=x-nothing\n\ncaf\xe9\n", 61,
		  MSG_DEFECT_BAD_CHARSET, "s", "café\n" },
		{ "Subject: s\nContent-Type: text/plain; charset=utf-8\n\nbad \xc3\x28\n", 59,
		  MSG_DEFECT_INVALID_TEXT, "s", "bad \xef\xbf\xbd(\n" },
		{ "Subject: s\nContent-Type: multipart/mixed; boundary=x\n\n--x\n\nopen\n", 64,
		  MSG_DEFECT_BAD_MIME, "s", "open\n" },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(odd); i++) {
		struct message *m = message_parse(odd[i].raw, odd[i].len, NULL);

		if ((m->defects & odd[i].defects) != odd[i].defects)
			fail_msg("%zu: defects %#x, want %#x", i, m->defects, odd[i].defects);
		if (odd[i].subject == NULL)
			assert_null(m->subject);
		else
			assert_string_equal(m->subject, odd[i].subject);
		if (strcmp(m->text, odd[i].text) != 0)
			fail_msg("%zu: text \"%s\", want \"%s\"", i, m->text, odd[i].text);
		assert_true(m->body_offset <= odd[i].len);
		message_free(m);
	}
	message_free(NULL);
	{
		struct message *m = message_parse(NULL, 0, NULL);

		assert_non_null(m);
		assert_true(m->defects & MSG_DEFECT_NO_HEADERS);
		message_free(m);
	}
}

/* ---- limits ---- */

static char *
depth_bomb(size_t levels, size_t *len)
{
	struct mbuf b = { NULL, 0, 0 };

	mbuf_adds(&b, "Subject: bomb\r\n");
	for (size_t i = 0; i < levels; i++) {
		char line[128];

		snprintf(line, sizeof(line), "Content-Type: multipart/mixed; boundary=\"b%zu\"\r\n\r\n--b%zu\r\n",
		    i, i);
		mbuf_adds(&b, line);
	}
	mbuf_adds(&b, "Content-Type: text/plain\r\n\r\ndeep text\r\n");
	*len = b.len;
	return mbuf_take(&b);
}

static void
test_limit_depth(void **state)
{
	size_t len;
	char *raw = depth_bomb(5000, &len);
	int64_t t0 = util_mono_ms();
	struct message *m = message_parse(raw, len, NULL);

	(void)state;
	assert_true(m->limits & MSG_LIMIT_DEPTH);
	assert_true(m->nparts <= 1);
	assert_true(util_mono_ms() - t0 < 5000);
	message_free(m);
	free(raw);

	/* message/rfc822 inside message/rfc822 without a single boundary */
	{
		struct mbuf b = { NULL, 0, 0 };

		mbuf_adds(&b, "Subject: chain\n");
		for (int i = 0; i < 20000; i++)
			mbuf_adds(&b, "Content-Type: message/rfc822\n\n");
		mbuf_adds(&b, "Subject: end\n\nbottom\n");
		m = message_parse(b.p, b.len, NULL);
		assert_true(m->limits & MSG_LIMIT_DEPTH);
		message_free(m);
		mbuf_free(&b);
	}
	/* a smaller limit of the caller's */
	{
		struct message_limits lim;

		message_limits_default(&lim);
		lim.max_depth = 3;
		raw = depth_bomb(5, &len);
		m = message_parse(raw, len, &lim);
		assert_true(m->limits & MSG_LIMIT_DEPTH);
		message_free(m);
		lim.max_depth = 10;
		m = message_parse(raw, len, &lim);
		assert_int_equal(m->limits, 0);
		assert_int_equal(m->nparts, 1);
		assert_int_equal(m->parts[0].depth, 5);
		assert_string_equal(m->text, "deep text\n");
		message_free(m);
		free(raw);
	}
}

static void
test_limit_parts(void **state)
{
	struct mbuf b = { NULL, 0, 0 };
	struct message *m;
	int64_t t0;

	(void)state;
	mbuf_adds(&b, "Subject: many\r\nContent-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (int i = 0; i < 200000; i++)
		mbuf_adds(&b, "--p\r\n\r\nx\r\n");
	mbuf_adds(&b, "--p--\r\n");
	t0 = util_mono_ms();
	m = message_parse(b.p, b.len, NULL);
	assert_true(m->limits & MSG_LIMIT_PARTS);
	assert_true(m->nparts <= 1000);
	assert_true(m->nparts >= 900);
	assert_true(util_mono_ms() - t0 < 10000);
	message_free(m);
	mbuf_free(&b);

	/* empty parts, one boundary line after another */
	mbuf_adds(&b, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (int i = 0; i < 300000; i++)
		mbuf_adds(&b, "--p\r\n");
	m = message_parse(b.p, b.len, NULL);
	assert_true(m->nparts <= 1000);
	message_free(m);
	mbuf_free(&b);

	/* a thousand dashes lines and a few boundaries: not a limit */
	mbuf_adds(&b, "Content-Type: multipart/mixed; boundary=p\r\n\r\n--p\r\n\r\n");
	for (int i = 0; i < 5000; i++)
		mbuf_adds(&b, "-- not a boundary --\r\n");
	mbuf_adds(&b, "--p--\r\n");
	m = message_parse(b.p, b.len, NULL);
	assert_int_equal(m->limits, 0);
	assert_int_equal(m->nparts, 1);
	message_free(m);
	mbuf_free(&b);
}

static void
test_limit_headers(void **state)
{
	struct mbuf b = { NULL, 0, 0 };
	struct message *m;

	(void)state;
	for (int i = 0; i < 3000; i++) {
		char line[64];

		snprintf(line, sizeof(line), "X-Filler-%d: value %d\r\n", i, i);
		mbuf_adds(&b, line);
	}
	/* the body's type comes after the limit and must still count */
	mbuf_adds(&b, "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n"
	    "Content-Type: text/plain\r\n\r\nafter the flood\r\n--z--\r\n");
	m = message_parse(b.p, b.len, NULL);
	assert_true(m->limits & MSG_LIMIT_HEADERS);
	assert_int_equal(m->nheaders, 1000);
	assert_string_equal(m->headers[999].name, "X-Filler-999");
	assert_string_equal(m->text, "after the flood");
	message_free(m);
	mbuf_free(&b);

	/* the fields of a part count too: GMime would keep every one */
	mbuf_adds(&b, "Content-Type: multipart/mixed; boundary=z\r\n\r\n--z\r\n");
	for (int i = 0; i < 150000; i++)
		mbuf_adds(&b, "X-Part: f\r\n");
	mbuf_adds(&b, "\r\npart body\r\n--z--\r\n");
	m = message_parse(b.p, b.len, NULL);
	assert_true(m->limits & MSG_LIMIT_HEADERS);
	message_free(m);
	mbuf_free(&b);

	/* one huge folded field, 4 MiB */
	mbuf_adds(&b, "Subject: big\r\nX-Huge: start\r\n");
	for (int i = 0; i < 65536; i++)
		mbuf_adds(&b, "\tcontinuation line of a huge header field, sixty-four bytes.\r\n");
	mbuf_adds(&b, "From: late@example.com\r\n\r\nbody\r\n");
	m = message_parse(b.p, b.len, NULL);
	assert_true(m->limits & MSG_LIMIT_HEADER_BYTES);
	assert_string_equal(m->subject, "big");
	assert_int_equal(m->nfrom, 0);
	assert_string_equal(m->text, "body\n");
	assert_int_equal(message_header_count(m, "X-Huge"), 0);
	message_free(m);
	mbuf_free(&b);
}

static void
test_limit_urls_decoded_html(void **state)
{
	struct mbuf b = { NULL, 0, 0 };
	struct message *m;
	struct message_limits lim;

	(void)state;
	mbuf_adds(&b, "Subject: urls\n\n");
	for (int i = 0; i < 3000; i++) {
		char line[64];

		snprintf(line, sizeof(line), "http://h%d.example.com/\n", i);
		mbuf_adds(&b, line);
	}
	m = message_parse(b.p, b.len, NULL);
	assert_true(m->limits & MSG_LIMIT_URLS);
	assert_int_equal(m->nurls, 2000);
	message_free(m);

	message_limits_default(&lim);
	lim.max_decoded = 1000;
	m = message_parse(b.p, b.len, &lim);
	assert_true(m->limits & MSG_LIMIT_DECODED);
	assert_true(strlen(m->text) <= 1000);
	message_free(m);
	mbuf_free(&b);

	/* deep HTML, and many elements */
	mbuf_adds(&b, "Content-Type: text/html\n\n");
	for (int i = 0; i < 100000; i++)
		mbuf_adds(&b, "<div>");
	mbuf_adds(&b, "<a href=\"http://deep.example.com/\">deep</a>");
	for (int i = 0; i < 100000; i++)
		mbuf_adds(&b, "</p>");
	m = message_parse(b.p, b.len, NULL);
	assert_true(m->limits & MSG_LIMIT_HTML);
	message_free(m);
	mbuf_free(&b);

	mbuf_adds(&b, "Content-Type: text/html\n\n<body>");
	for (int i = 0; i < 5000; i++)
		mbuf_adds(&b, "<span>x</span>");
	lim.max_decoded = 0;
	lim.max_html_nodes = 1000;
	m = message_parse(b.p, b.len, &lim);
	assert_true(m->limits & MSG_LIMIT_HTML);
	message_free(m);
	mbuf_free(&b);
}

/* ---- rewrite ---- */

static void
check_golden(const char *name, const char *out, size_t len)
{
	char *path = fixture_path(name);
	size_t glen;
	char *g;

	if (getenv("SEKISHO_UPDATE_GOLDEN") != NULL) {
		FILE *fp = fopen(path, "wb");

		assert_non_null(fp);
		assert_int_equal(fwrite(out, 1, len, fp), len);
		fclose(fp);
	}
	g = util_read_file(path, 1 << 20, &glen);
	if (g == NULL)
		fail_msg("no golden file %s (run with SEKISHO_UPDATE_GOLDEN=1)", path);
	if (glen != len || memcmp(g, out, len) != 0)
		fail_msg("%s differs from the rewrite:\n%.*s", path, (int)len, out);
	free(g);
	free(path);
}

static void
check_crlf(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			fail_msg("bare LF at %zu", i);
}

static char *
rewrite_fixture(const char *file, const struct message_rewrite *rw, size_t *len,
    struct message **again)
{
	struct loaded l = parse_fixture(file);
	char *out = message_rewrite(l.m, rw, len);

	assert_non_null(out);
	assert_int_equal(strlen(out), *len);
	check_crlf(out, *len);
	unload(&l);
	if (again != NULL)
		*again = message_parse(out, *len, NULL);
	return out;
}

static void
test_rewrite_headers(void **state)
{
	static const char *const rm[] = { "X-Sekisho-Result", "Return-Path", NULL };
	static const char *const pre[] = { "X-Sekisho-Result: spam (score=12.5)",
		"X-Sekisho-Reason: 送信元の偽装", NULL };
	struct message_rewrite rw = { rm, pre, NULL, NULL, NULL, NULL, NULL };
	struct message *m;
	size_t len;
	char *out = rewrite_fixture("rewrite-headers.eml", &rw, &len, &m);

	(void)state;
	check_golden("golden/rewrite-headers.eml", out, len);
	assert_int_equal(message_header_count(m, "X-Sekisho-Result"), 1);
	assert_string_equal(message_header(m, "X-Sekisho-Result"), "spam (score=12.5)");
	assert_string_equal(message_header(m, "X-Sekisho-Reason"), "送信元の偽装");
	assert_int_equal(message_header_count(m, "Return-Path"), 0);
	assert_string_equal(m->subject, "Hello");
	message_free(m);
	free(out);

	/* nothing asked: the same bytes */
	{
		struct message_rewrite none = { NULL, NULL, NULL, NULL, NULL, NULL, NULL };
		size_t rlen;
		char *raw = load("rewrite-headers.eml", &rlen);

		out = rewrite_fixture("rewrite-headers.eml", &none, &len, NULL);
		assert_int_equal(len, rlen);
		assert_memory_equal(out, raw, len);
		free(out);
		free(raw);
		out = rewrite_fixture("rewrite-headers.eml", NULL, &len, NULL);
		assert_int_equal(len, rlen);
		free(out);
	}
	/* LF input comes out CRLF */
	{
		const char *lf = "Subject: x\nX-Sekisho-Result: a\nTo: b@example.com\n\nline\n";
		struct message *mm = message_parse(lf, strlen(lf), NULL);
		char *o = message_rewrite(mm, &rw, &len);

		assert_string_equal(o, "X-Sekisho-Result: spam (score=12.5)\r\n"
		    "X-Sekisho-Reason: =?UTF-8?B?6YCB5L+h5YWD44Gu5YG96KOF?=\r\n"
		    "Subject: x\r\nTo: b@example.com\r\n\r\nline\r\n");
		free(o);
		message_free(mm);
	}
}

static void
test_rewrite_subject(void **state)
{
	static const struct {
		const char *file, *prefix, *want;
	} sp[] = {
		{ "rewrite-jis.eml", "[SPAM]", "[SPAM] お見積りのご案内" },
		{ "rewrite-jis.eml", "【迷惑メール】", "【迷惑メール】 お見積りのご案内" },
		{ "rewrite-headers.eml", "[SPAM] ", "[SPAM] Hello" },
		{ "rewrite-headers.eml", "【注意】", "【注意】 Hello" },
		{ "iso2022jp.eml", "[!]", "[!] 【重要】お見積りのご案内（第２版）" },
		{ "html-base.eml", "[SPAM]", "[SPAM] base" },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(sp); i++) {
		struct message_rewrite rw = { NULL, NULL, sp[i].prefix, NULL, NULL, NULL, NULL };
		struct message *m, *m2;
		size_t len, len2;
		char *out = rewrite_fixture(sp[i].file, &rw, &len, &m), *out2;

		if (m->subject == NULL || strcmp(m->subject, sp[i].want) != 0)
			fail_msg("%s + %s: subject \"%s\"", sp[i].file, sp[i].prefix, m->subject);
		assert_int_equal(message_header_count(m, "Subject"), 1);
		/* once is enough: a second pass leaves the subject alone */
		out2 = message_rewrite(m, &rw, &len2);
		assert_int_equal(len2, len);
		assert_memory_equal(out2, out, len);
		if (i == 0) {
			/* the ISO-2022-JP words are kept as they were */
			assert_non_null(strstr(out, "Subject: [SPAM] =?ISO-2022-JP?B?"));
			check_golden("golden/rewrite-subject-jis.eml", out, len);
		}
		m2 = message_parse(out2, len2, NULL);
		assert_string_equal(m2->subject, sp[i].want);
		message_free(m2);
		free(out2);
		/* and taken off again (a user's report of the delivered copy):
		 * the subject as it was, whatever the tag's charset */
		{
			struct message_rewrite un = { .subject_unprefix = sp[i].prefix };
			struct loaded orig = parse_fixture(sp[i].file);

			out2 = message_rewrite(m, &un, &len2);
			m2 = message_parse(out2, len2, NULL);
			if (strcmp(m2->subject, orig.m->subject) != 0)
				fail_msg("%s - %s: subject \"%s\", was \"%s\"", sp[i].file,
				    sp[i].prefix, m2->subject, orig.m->subject);
			message_free(m2);
			unload(&orig);
			free(out2);
		}
		free(out);
		message_free(m);
	}
	/* no Subject field at all: one is added */
	{
		const char *raw = "From: a@example.com\r\n\r\nx\r\n";
		struct message *m = message_parse(raw, strlen(raw), NULL), *m2;
		struct message_rewrite rw = { NULL, NULL, "【注意】", NULL, NULL, NULL, NULL };
		size_t len;
		char *out = message_rewrite(m, &rw, &len);

		m2 = message_parse(out, len, NULL);
		assert_string_equal(m2->subject, "【注意】");
		message_free(m2);
		message_free(m);
		free(out);
	}
}

static void
test_rewrite_banners(void **state)
{
	static const char *const pre[] = { "X-Sekisho-Result: suspicious", NULL };
	struct message_rewrite rw = { NULL, pre, NULL, "[External] Be careful with links.",
		"<div class=\"sekisho\">【注意】 外部からのメールです</div>", NULL, NULL };
	struct message *m;
	size_t len, blen;
	char *out = rewrite_fixture("rewrite-banners.eml", &rw, &len, &m);
	unsigned char *b;
	int trunc;

	(void)state;
	check_golden("golden/rewrite-banners.eml", out, len);
	assert_int_equal(m->nparts, 3);
	assert_string_equal(m->parts[0].text, "[External] Be careful with links.\nHello plain");
	assert_string_equal(m->parts[0].charset, "us-ascii");
	/* the HTML part keeps ISO-8859-1: the Japanese is in references */
	assert_string_equal(m->parts[1].charset, "iso-8859-1");
	assert_non_null(strstr(m->parts[1].text, "【注意】 外部からのメールです\nGrüße"));
	assert_non_null(strstr(out, "&#27880;"));
	assert_non_null(strstr(out, "<body bgcolor=3D\"white\"><div class=3D\"sekisho\">"));
	/* the attachment is untouched */
	b = message_part_bytes(m, 2, 100, &blen, &trunc);
	assert_int_equal(blen, 10);
	assert_memory_equal(b, "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09", 10);
	assert_non_null(strstr(out, "AAECAwQFBgcICQ==\r\n"));
	free(b);
	message_free(m);
	free(out);

	/* a Japanese banner in a US-ASCII text part: the part becomes UTF-8 */
	{
		struct message_rewrite jp = { NULL, NULL, NULL, "【注意】社外からのメールです。", NULL, NULL, NULL };

		out = rewrite_fixture("rewrite-headers.eml", &jp, &len, &m);
		assert_string_equal(m->parts[0].charset, "utf-8");
		assert_string_equal(m->text, "【注意】社外からのメールです。\nBody line 1\n"
		    "Body line 2 with trailing spaces   \n");
		assert_int_equal(message_header_count(m, "Content-Type"), 1);
		assert_int_equal(message_header_count(m, "X-Sekisho-Result"), 3);
		message_free(m);
		free(out);
	}
}

static void
test_rewrite_jis_banner(void **state)
{
	static const char *const rm[] = { "X-Sekisho-Result", NULL };
	static const char *const pre[] = { "X-Sekisho-Result: ok", NULL };
	struct message_rewrite rw = { rm, pre, "【注意】", "【注意】社外からのメールです。リンクに注意してください。",
		NULL, NULL, NULL };
	struct message *m;
	size_t len;
	char *out = rewrite_fixture("rewrite-jis.eml", &rw, &len, &m);

	(void)state;
	check_golden("golden/rewrite-jis-banner.eml", out, len);
	/* still ISO-2022-JP, 7bit, and it reads right */
	assert_string_equal(m->parts[0].charset, "iso-2022-jp");
	assert_string_equal(m->parts[0].encoding, "7bit");
	assert_string_equal(m->text, "【注意】社外からのメールです。リンクに注意してください。\n"
	    "山田様\nお世話になっております。\n");
	assert_string_equal(m->subject, "【注意】 お見積りのご案内");
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)out[i] < 0x80);
	assert_int_equal(m->defects, 0);
	message_free(m);
	free(out);
}

/* ---- threads ---- */

static void *
parse_many(void *arg)
{
	const struct loaded *l = arg;

	for (int i = 0; i < 20; i++) {
		struct message *m = message_parse(l->raw, l->len, NULL);

		if (m->subject == NULL || strcmp(m->subject, "【重要】お見積りのご案内（第２版）") != 0 ||
		    strcmp(m->from[0].display, "㈱サンプル商事 営業部") != 0)
			abort();
		message_free(m);
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct loaded l;
	pthread_t t[4];

	(void)state;
	l.raw = load("iso2022jp.eml", &l.len);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, parse_many, &l), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	free(l.raw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_charsets),
		cmocka_unit_test(test_iso2022jp_headers),
		cmocka_unit_test(test_received),
		cmocka_unit_test(test_header_words),
		cmocka_unit_test(test_charsets),
		cmocka_unit_test(test_filenames),
		cmocka_unit_test(test_html),
		cmocka_unit_test(test_text_urls),
		cmocka_unit_test(test_url_scan),
		cmocka_unit_test(test_html_base),
		cmocka_unit_test(test_registrable_domain),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_odd_inputs),
		cmocka_unit_test(test_limit_depth),
		cmocka_unit_test(test_limit_parts),
		cmocka_unit_test(test_limit_headers),
		cmocka_unit_test(test_limit_urls_decoded_html),
		cmocka_unit_test(test_rewrite_headers),
		cmocka_unit_test(test_rewrite_subject),
		cmocka_unit_test(test_rewrite_banners),
		cmocka_unit_test(test_rewrite_jis_banner),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
