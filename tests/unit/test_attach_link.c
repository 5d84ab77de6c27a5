/*
 * test_attach_link.c - attachment protection, link mode: the pure parts
 * and the store.
 *
 *   - split/join: the files come out (decoded bytes, UTF-8 names from
 *     RFC 2231, no directories, unique names), inline images of an HTML
 *     body stay, the text stays; the joined message, parsed again, has no
 *     file but the notice (text and HTML, Japanese and English)
 *   - the notice escapes a hostile file name in its HTML part
 *   - Content-Disposition: ASCII fallback and RFC 6266 filename*
 *   - the per-address failure limit of the download pages
 *   - the store: pending sets serve nothing, activation, the download
 *     limit counted atomically, revocation, replacing a pending set and
 *     never an active one
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http_download.h"
#include "message/message.h"
#include "outbound/attach_link.h"
#include "store/store.h"
#include "store/store_attach.h"
#include "util/util.h"

static const char mail[] =
    "From: Taro <taro@example.co.jp>\r\n"
    "To: someone@partner.example.jp\r\n"
    "Subject: quote\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "--outer\r\n"
    "Content-Type: multipart/related; boundary=\"rel\"\r\n"
    "\r\n"
    "--rel\r\n"
    "Content-Type: text/html; charset=UTF-8\r\n"
    "\r\n"
    "<p>Body text here<img src=\"cid:logo\"></p>\r\n"
    "--rel\r\n"
    "Content-Type: image/png; name=\"logo.png\"\r\n"
    "Content-ID: <logo>\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "iVBORw0KGgo=\r\n"
    "--rel--\r\n"
    "--outer\r\n"
    "Content-Type: text/csv; charset=UTF-8\r\n"
    "Content-Disposition: attachment; filename*=UTF-8''%E8%A6%8B%E7%A9%8D.csv\r\n"
    "\r\n"
    "item,price\r\nbolt,120\r\n"
    "--outer\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=\"../../etc/quote.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQK\r\n"
    "--outer\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=\"quote.pdf\"\r\n"
    "\r\n"
    "second\r\n"
    "--outer--\r\n";

static void
test_split_join(void **state)
{
	struct attach_link_split sp;
	struct attach_link_notice n;
	struct message *m;
	char *text, *html, *out;
	size_t len;
	int files = 0, logo = 0;

	(void)state;
	assert_int_equal(attach_link_split(mail, sizeof(mail) - 1, &sp), 0);
	assert_int_equal(sp.nfiles, 3);
	assert_string_equal(sp.files[0].name, "見積.csv");
	assert_string_equal(sp.files[0].ctype, "text/csv");
	assert_int_equal(sp.files[0].len, strlen("item,price\r\nbolt,120"));
	assert_string_equal(sp.files[1].name, "quote.pdf");
	assert_int_equal(sp.files[1].len, 9);
	assert_memory_equal(sp.files[1].bytes, "%PDF-1.4\n", 9);
	assert_string_equal(sp.files[2].name, "quote (2).pdf");

	memset(&n, 0, sizeof(n));
	n.files = sp.files;
	n.nfiles = sp.nfiles;
	n.url = "https://gw.example/dl/TOKEN";
	n.expires_ms = 1700000000000LL;
	n.max_downloads = 5;
	n.code = 1;
	text = attach_link_notice_render(&n, 0);
	html = attach_link_notice_render(&n, 1);
	assert_non_null(strstr(text, "https://gw.example/dl/TOKEN"));
	assert_non_null(strstr(text, "ダウンロード"));
	assert_non_null(strstr(text, "available for download"));
	assert_non_null(strstr(text, "見積.csv"));
	assert_non_null(strstr(text, "5 downloads"));
	assert_non_null(strstr(text, "separate mail"));
	assert_non_null(strstr(html, "<a href=\"https://gw.example/dl/TOKEN\">"));
	out = attach_link_join(&sp, text, html, &len);
	attach_link_split_free(&sp);

	m = message_parse(out, len, NULL);
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];

		if (p->filename != NULL && strcmp(p->filename, "logo.png") == 0)
			logo++;
		else if (p->is_attachment)
			files++;
	}
	assert_int_equal(files, 0);
	assert_int_equal(logo, 1);		/* inline image stays */
	assert_non_null(m->html_text);
	assert_non_null(strstr(m->html_text, "Body text here"));
	assert_non_null(m->text);
	assert_non_null(strstr(m->text, "https://gw.example/dl/TOKEN"));
	assert_null(strstr(out, "JVBERi0xLjQK"));	/* the PDF is gone */
	message_free(m);
	free(out);
	free(text);
	free(html);
}

static void
test_no_attachment(void **state)
{
	static const char plain[] = "From: a@b\r\nTo: c@d\r\nSubject: x\r\n\r\nhello\r\n";
	static const char whole[] =
	    "From: a@b\r\nTo: c@d\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Disposition: attachment; filename=\"data.bin\"\r\n\r\nabc\r\n";
	struct attach_link_split sp;

	(void)state;
	assert_int_equal(attach_link_split(plain, sizeof(plain) - 1, &sp), 1);
	assert_int_equal(attach_link_split(whole, sizeof(whole) - 1, &sp), 0);
	assert_int_equal(sp.nfiles, 1);
	assert_string_equal(sp.files[0].name, "data.bin");
	attach_link_split_free(&sp);
}

static void
test_notice_escapes(void **state)
{
	struct attach_link_file f = { "<script>alert(1)</script>.pdf", "application/pdf",
	    NULL, 10 };
	struct attach_link_notice n = { &f, 1, "https://gw/dl/T?a=1&b=2", 0, 0, 0 };
	char *html = attach_link_notice_render(&n, 1);

	(void)state;
	assert_null(strstr(html, "<script>"));
	assert_non_null(strstr(html, "&lt;script&gt;"));
	assert_non_null(strstr(html, "a=1&amp;b=2"));
	free(html);
}

static void
test_disposition(void **state)
{
	static const struct { const char *name, *want; } t[] = {
		{ "report.pdf", "attachment; filename=\"report.pdf\"" },
		{ "a\"b\\c.txt", "attachment; filename=\"a_b_c.txt\"" },
		{ "見積書.pdf", "attachment; filename=\"_________.pdf\"; "
		    "filename*=UTF-8''%E8%A6%8B%E7%A9%8D%E6%9B%B8.pdf" },
		{ "a b;c.txt", "attachment; filename=\"a b;c.txt\"" },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(t); i++) {
		char *d = attach_link_disposition(t[i].name);

		assert_string_equal(d, t[i].want);
		free(d);
	}
}

static void
test_mark(void **state)
{
	static const struct { const char *raw, *id; int want; } t[] = {
		{ "X-Sekisho-Protected: Q1\r\nFrom: a@b\r\n\r\nbody\r\n", "Q1", 1 },
		{ "From: a@b\r\nx-sekisho-protected:Q1  \r\n\r\nbody\r\n", "Q1", 1 },
		{ "From: a@b\r\nX-Sekisho-Protected: Q1\r\n\r\nbody\r\n", "Q2", 0 },
		{ "From: a@b\r\nX-Sekisho-Protected: Q10\r\n\r\nbody\r\n", "Q1", 0 },
		/* in the body it counts for nothing */
		{ "From: a@b\r\n\r\nX-Sekisho-Protected: Q1\r\n", "Q1", 0 },
		{ "From: a@b\n\nX-Sekisho-Protected: Q1\n", "Q1", 0 },
		{ "", "Q1", 0 },
	};
	char *m;
	size_t len;

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(t); i++)
		assert_int_equal(attach_link_marked(t[i].raw, strlen(t[i].raw), t[i].id), t[i].want);
	m = attach_link_mark("From: a@b\r\n\r\nx", 14, "0HOM1", &len);
	assert_string_equal(m, "X-Sekisho-Protected: 0HOM1\r\nFrom: a@b\r\n\r\nx");
	assert_int_equal(len, strlen(m));
	assert_int_equal(attach_link_marked(m, len, "0HOM1"), 1);
	free(m);
}

static void
test_fail_limit(void **state)
{
	int64_t now = 1000000;

	(void)state;
	assert_int_equal(http_download_limited("192.0.2.9", now, 0), 0);
	for (int i = 0; i < 20; i++)
		assert_int_equal(http_download_limited("192.0.2.9", now + i, 1), 0);
	assert_int_equal(http_download_limited("192.0.2.9", now + 30, 1), 1);
	assert_int_equal(http_download_limited("192.0.2.9", now + 31, 0), 1);
	assert_int_equal(http_download_limited("192.0.2.10", now + 31, 0), 0);
	/* the window passes */
	assert_int_equal(http_download_limited("192.0.2.9", now + 11 * 60 * 1000, 0), 0);
}

/* ---- the store ---- */

struct fx {
	char dir[64];
	char path[96];
	struct store *st;
};

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	char err[256];

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test-attach-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/s.db", fx->dir);
	fx->st = store_open(fx->path, err, sizeof(err));
	assert_non_null(fx->st);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;
	char cmd[128];

	store_close(fx->st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
	if (system(cmd) != 0)
		return -1;
	free(fx);
	return 0;
}

static void
put(struct store *st, const char *id, const unsigned char *hash, int64_t max,
    int64_t expires, const char *path, int want)
{
	char name[] = "a.pdf", ctype[] = "application/pdf", sender[] = "taro@example.co.jp",
	    rcpt[] = "bob@partner.example", *pathcopy = xstrdup(path);
	struct attach_set s;
	struct attach_file f = { 1, name, ctype, 3, pathcopy };
	char **old = NULL;

	memset(&s, 0, sizeof(s));
	util_strlcpy(s.id, id, sizeof(s.id));
	util_strlcpy(s.mode, "link", sizeof(s.mode));
	s.sender = sender;
	s.recipients = rcpt;
	s.created_ms = 1;
	s.expires_ms = expires;
	s.max_downloads = max;
	assert_int_equal(store_attach_put(st, &s, hash, &f, 1, &old), want);
	for (size_t i = 0; old && old[i]; i++)
		free(old[i]);
	free(old);
	free(pathcopy);
}

static void
test_store_sets(void **state)
{
	struct fx *fx = *state;
	unsigned char h1[STORE_TOKEN_HASH], h2[STORE_TOKEN_HASH];
	struct attach_set s;
	struct attach_file *f;
	struct attach_download *d;
	size_t nf;
	int64_t now = util_now_ms();
	int nd;

	memset(h1, 1, sizeof(h1));
	memset(h2, 2, sizeof(h2));
	put(fx->st, "ID1", h1, 2, now + 60000, "/x/old", 0);
	/* a pending set serves nothing */
	assert_int_equal(store_attach_download(fx->st, "ID1", 1, "192.0.2.1", "ua", now), 1);
	/* analysed again before the rewrite was in place: replaced */
	put(fx->st, "ID1", h2, 2, now + 60000, "/x/new", 0);
	assert_int_equal(store_attach_by_hash(fx->st, h1, &s), 1);
	assert_int_equal(store_attach_by_hash(fx->st, h2, &s), 0);
	assert_string_equal(s.state, "pending");
	attach_set_clear(&s);
	assert_int_equal(store_attach_files(fx->st, "ID1", &f, &nf), 0);
	assert_int_equal(nf, 1);
	assert_string_equal(f[0].path, "/x/new");
	attach_files_free(f, nf);

	assert_int_equal(store_attach_activate(fx->st, "ID1"), 0);
	assert_int_equal(store_attach_activate(fx->st, "ID1"), 1);
	/* an active set is never replaced */
	put(fx->st, "ID1", h1, 2, now + 60000, "/x/other", 1);

	assert_int_equal(store_attach_download(fx->st, "ID1", 1, "192.0.2.1", "ua/1", now), 0);
	assert_int_equal(store_attach_download(fx->st, "ID1", 1, "192.0.2.2", "ua/2", now), 0);
	assert_int_equal(store_attach_download(fx->st, "ID1", 1, "192.0.2.3", "ua/3", now), 1);
	assert_int_equal(store_attach_get(fx->st, "ID1", &s), 0);
	assert_int_equal(s.downloads, 2);
	attach_set_clear(&s);
	nd = store_attach_log_get(fx->st, "ID1", &d);
	assert_int_equal(nd, 4);	/* the pending refusal, two downloads, one refusal */
	assert_string_equal(d[1].result, "ok");
	assert_string_equal(d[1].ip, "192.0.2.1");
	assert_string_equal(d[1].agent, "ua/1");
	assert_string_equal(d[3].result, "gone");
	attach_downloads_free(d, nd);

	/* expiry */
	put(fx->st, "ID2", NULL, 0, now - 1, "/x/2", 0);
	assert_int_equal(store_attach_activate(fx->st, "ID2"), 0);
	assert_int_equal(store_attach_download(fx->st, "ID2", 1, "192.0.2.1", NULL, now), 1);

	/* revocation */
	put(fx->st, "ID3", NULL, 0, now + 60000, "/x/3", 0);
	assert_int_equal(store_attach_activate(fx->st, "ID3"), 0);
	assert_int_equal(store_attach_revoke(fx->st, "ID3", "cli:test", now), 0);
	assert_int_equal(store_attach_revoke(fx->st, "ID3", "cli:test", now), 1);
	assert_int_equal(store_attach_download(fx->st, "ID3", 1, "192.0.2.1", NULL, now), 1);
	{
		char ids[8][QUEUE_ID_SIZE];
		int n = store_attach_purgeable(fx->st, now, ids, 8);

		assert_int_equal(n, 2);	/* ID2 expired, ID3 revoked */
		assert_int_equal(store_attach_purged(fx->st, "ID2"), 0);
		assert_int_equal(store_attach_purgeable(fx->st, now, ids, 8), 1);
		assert_string_equal(ids[0], "ID3");
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_join),
		cmocka_unit_test(test_no_attachment),
		cmocka_unit_test(test_notice_escapes),
		cmocka_unit_test(test_disposition),
		cmocka_unit_test(test_mark),
		cmocka_unit_test(test_fail_limit),
		cmocka_unit_test_setup_teardown(test_store_sets, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
