/*
 * test_message_corpus.c - every file of the shared corpus (mime/ and phish/,
 * recursively) parses and is rewritten (header prepend, removal, subject
 * prefix, text and HTML banners) without a crash, a leak or a hang, and the
 * rewrite still reads as the same message: it parses again, every part of
 * the original that is not a shown text part has the same decoded bytes
 * afterwards, and the text parts start with the banner.
 *
 * The corpus lives beside the project ($SEKISHO_SRC/../shared/corpus); the
 * test is skipped when it is not there.  No corpus file is copied into the
 * project.  SEKISHO_CORPUS overrides the directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "message/message.h"
#include "message/message_int.h"
#include "util/util.h"

#define MAX_FILE	(32u << 20)
#define SLOW_MS		20000	/* one message, parse and rewrite: a hang, not a slow machine */

struct stats {
	size_t files, parts, urls, limited, rewritten, mismatched;
	int64_t total_ms, slowest_ms;
	char slowest[1024];
	int failed;
};

static const char TEXT_BANNER[] = "[sekisho] 外部からのメールです。External mail.";
static const char HTML_BANNER[] = "<div class=\"sekisho\">【注意】外部からのメールです</div>";

/* Equal but for CRs: "=0D" before a bare LF in quoted-printable becomes
 * CR CR LF once the message is CRLF. */
static int
same_text(const char *a, const char *b)
{
	for (;;) {
		while (*a == '\r')
			a++;
		while (*b == '\r')
			b++;
		if (*a != *b)
			return 0;
		if (*a == '\0')
			return 1;
		a++;
		b++;
	}
}

/* A text part of the message itself, where the banner goes (not one
 * inside an attached message). */
static int
bannered(const struct message *m, size_t i)
{
	const struct msg_priv *pv = m->priv;

	return m->parts[i].is_text && !pv->src[i].in_message;
}

/* CRLF to LF: the rewrite is CRLF throughout, the original may not be. */
static size_t
lf(unsigned char *b, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		if (!(b[i] == '\r' && i + 1 < n && b[i + 1] == '\n'))
			b[o++] = b[i];
	return o;
}

static void
check_rewrite(const char *path, const struct message *m, struct stats *st)
{
	static const char *const rm[] = { "X-Sekisho-Result", "X-Spam-Status", NULL };
	static const char *const pre[] = { "X-Sekisho-Result: tagged (score=9.9)",
		"X-Sekisho-Reason: コーパス試験", NULL };
	struct message_rewrite rw = { rm, pre, "[SPAM]", TEXT_BANNER, HTML_BANNER, NULL, NULL };
	size_t len;
	char *out = message_rewrite(m, &rw, &len);
	struct message *r;

	if (out == NULL) {
		fprintf(stderr, "%s: rewrite failed\n", path);
		st->failed = 1;
		return;
	}
	for (size_t i = 0; i < len; i++)
		if (out[i] == '\n' && (i == 0 || out[i - 1] != '\r')) {
			fprintf(stderr, "%s: bare LF in the rewrite at %zu\n", path, i);
			st->failed = 1;
			break;
		}
	r = message_parse(out, len, NULL);
	if (message_header_count(r, "X-Sekisho-Result") != 1 ||
	    message_header_count(r, "X-Spam-Status") != 0) {
		fprintf(stderr, "%s: headers not rewritten\n", path);
		st->failed = 1;
	}
	if (r->subject == NULL || strncmp(r->subject, "[SPAM]", 6) != 0) {
		fprintf(stderr, "%s: subject \"%s\" lacks the prefix\n", path, r->subject);
		st->failed = 1;
	}
	/*
	 * Only when nothing was cut is the body expected to carry over whole:
	 * then the attachments decode to the same bytes and the parts line up.
	 */
	if (m->limits == 0 && r->limits == 0 && !(m->defects & MSG_DEFECT_BAD_MIME) &&
	    !(m->defects & MSG_DEFECT_NO_HEADERS)) {
		int ok = r->nparts == m->nparts;
		size_t i;

		for (i = 0; ok && i < m->nparts; i++) {
			const struct msg_part *a = &m->parts[i], *b = &r->parts[i];

			if (strcmp(a->content_type, b->content_type) != 0)
				ok = 0;
			else if (a->is_text && !bannered(m, i))
				ok = same_text(a->text, b->text);
			else if (!bannered(m, i)) {
				size_t la, lb;
				int ta, tb;
				unsigned char *ba = message_part_bytes(m, i, 1 << 24, &la, &ta);
				unsigned char *bb = message_part_bytes(r, i, 1 << 24, &lb, &tb);

				if (ba != NULL && bb != NULL) {
					la = lf(ba, la);
					lb = lf(bb, lb);
				}
				ok = ba != NULL && bb != NULL && la == lb && memcmp(ba, bb, la) == 0;
				free(ba);
				free(bb);
			} else if (a->is_html ? strstr(b->text, "【注意】外部からのメールです") == NULL :
			    strncmp(b->text, "[sekisho]", 9) != 0)
				ok = 0;	/* the HTML banner follows <body>, maybe not first */
			if (!ok)
				break;
		}
		if (!ok) {
			fprintf(stderr, "%s: the rewrite does not keep the parts (%zu -> %zu, part %zu %s)\n",
			    path, m->nparts, r->nparts, i, i < m->nparts ? m->parts[i].content_type : "-");
			st->mismatched++;
		}
	}
	st->rewritten++;
	message_free(r);
	free(out);
}

static void
one_file(const char *path, struct stats *st)
{
	size_t len;
	char *raw = util_read_file(path, MAX_FILE, &len);
	int64_t t0 = util_mono_ms(), dt;
	struct message *m;

	if (raw == NULL)
		return;
	m = message_parse(raw, len, NULL);
	st->files++;
	st->parts += m->nparts;
	st->urls += m->nurls;
	if (m->limits != 0)
		st->limited++;
	/* read everything once so a broken pointer shows */
	for (size_t i = 0; i < m->nheaders; i++)
		if (strlen(m->headers[i].value) > strlen(m->headers[i].raw) * 4 + 16) {
			fprintf(stderr, "%s: header %s decodes too long\n", path, m->headers[i].name);
			st->failed = 1;
		}
	for (size_t i = 0; i < m->nparts; i++) {
		size_t n;
		int trunc;
		unsigned char *b = message_part_bytes(m, i, 1 << 20, &n, &trunc);

		if (b == NULL || n > (1 << 20)) {
			fprintf(stderr, "%s: part %zu bytes failed\n", path, i);
			st->failed = 1;
		}
		free(b);
		if (m->parts[i].is_text && m->parts[i].text == NULL) {
			fprintf(stderr, "%s: text part %zu without text\n", path, i);
			st->failed = 1;
		}
	}
	for (size_t i = 0; i < m->nurls; i++)
		if (m->urls[i].url == NULL || m->urls[i].scheme == NULL ||
		    m->urls[i].part < 0 || (size_t)m->urls[i].part >= m->nparts) {
			fprintf(stderr, "%s: bad URL %zu\n", path, i);
			st->failed = 1;
		}
	check_rewrite(path, m, st);
	message_free(m);
	free(raw);
	dt = util_mono_ms() - t0;
	st->total_ms += dt;
	if (dt > st->slowest_ms) {
		st->slowest_ms = dt;
		util_strlcpy(st->slowest, path, sizeof(st->slowest));
	}
}

static void
walk_dir(const char *dir, struct stats *st)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++) {
		struct stat sb;

		if (lstat(names[i], &sb) == 0) {
			if (S_ISDIR(sb.st_mode))
				walk_dir(names[i], st);
			else if (S_ISREG(sb.st_mode))
				one_file(names[i], st);
		}
		free(names[i]);
	}
	free(names);
}

static char *
corpus_dir(void)
{
	const char *env = getenv("SEKISHO_CORPUS"), *src = getenv("SEKISHO_SRC");

	if (env != NULL)
		return xstrdup(env);
	return xasprintf("%s/../shared/corpus", src != NULL ? src : ".");
}

static void
test_corpus(void **state)
{
	static const char *const subdirs[] = { "mime", "phish" };
	char *base = corpus_dir();
	struct stats st;
	int found = 0;

	(void)state;
	memset(&st, 0, sizeof(st));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(subdirs); i++) {
		char *dir = xasprintf("%s/%s", base, subdirs[i]);
		struct stat sb;

		if (stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)) {
			found = 1;
			walk_dir(dir, &st);
		}
		free(dir);
	}
	if (!found) {
		fprintf(stderr, "corpus not found under %s (mime/, phish/): skipped\n", base);
		free(base);
		skip();
	}
	free(base);
	printf("corpus: %zu files, %zu parts, %zu URLs, %zu hit a limit; %zu rewritten, "
	    "%zu rewrites changed a part; %lld ms in all, slowest %lld ms (%s)\n",
	    st.files, st.parts, st.urls, st.limited, st.rewritten, st.mismatched,
	    (long long)st.total_ms, (long long)st.slowest_ms, st.slowest);
	assert_true(st.files > 0);
	assert_false(st.failed);
	assert_int_equal(st.mismatched, 0);
	assert_true(st.slowest_ms < SLOW_MS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
