/*
 * test_password.c - the password policy: lengths (with and without a
 * second factor, in characters after NFKC, never truncated), the breached
 * list in HIBP format (built here with SHA-1 from OpenSSL: found, not
 * found, neighbours, first and last lines, CRLF, lower-case keys, a large
 * list checked against a linear scan, an empty file), context words,
 * repetitive and sequential strings, the cracklib dictionary, bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account/password.h"
#include "util/config.h"
#include "util/util.h"

static const char *const breached_words[] = {
	"correct horse battery staple",
	"ilovemycatverymuch2024",
	"ｐａｓｓｗｏｒｄ１２３４５６７８９",	/* listed as typed (full width) */
	"the quick brown fox jumps",
};

/* long and not periodic: every check sees all of it */
static const char phrase[] =
    "on a quiet morning the ferry left the harbor while gulls argued over"
    " bread crumbs and an old captain hummed a song about distant islands,"
    " copper kettles, winter lanterns and the long road home through"
    " valleys of cedar and mist";

struct entry {
	char hex[41];
	long count;
};

static void
sha1_hex(const char *s, char out[41])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL), 1);
	assert_int_equal(n, 20);
	for (unsigned i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02X", md[i]);
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->hex, ((const struct entry *)b)->hex);
}

/* A sorted HIBP-style file of the breached words plus n filler hashes. */
static char *
make_list(size_t n, struct entry **out, size_t *nout, const char *eol)
{
	size_t total = n + UTIL_ARRAY_LEN(breached_words);
	struct entry *e = xcalloc(total, sizeof(*e));
	char *path = xstrdup("/tmp/test-pwlist-XXXXXX");
	int fd = mkstemp(path);
	FILE *fp;

	assert_true(fd >= 0);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(breached_words); i++) {
		sha1_hex(breached_words[i], e[i].hex);
		e[i].count = (long)(i + 1) * 1000;
	}
	for (size_t i = 0; i < n; i++) {
		char word[32];
		snprintf(word, sizeof(word), "filler-%zu", i);
		sha1_hex(word, e[UTIL_ARRAY_LEN(breached_words) + i].hex);
		e[UTIL_ARRAY_LEN(breached_words) + i].count = (long)i + 1;
	}
	qsort(e, total, sizeof(*e), entry_cmp);
	fp = fdopen(fd, "w");
	for (size_t i = 0; i < total; i++)
		fprintf(fp, "%s:%ld%s", e[i].hex, e[i].count, eol);
	assert_int_equal(fclose(fp), 0);
	*out = e;
	*nout = total;
	return path;
}

static struct config *
make_cfg(const char *list)
{
	struct config *cfg = config_new();
	char err[256];

	assert_int_equal(config_set(cfg, "state_dir", "/tmp", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "password_breached_list", list ? list : "",
	    err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "password_context_words", "hinagata, 雛形商事",
	    err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "local_domains", "kanzashi-trading.co.jp example.test",
	    err, sizeof(err)), 0);
	return cfg;
}

static void
test_list_lookup(void **state)
{
	struct entry *e;
	size_t n;
	char err[256], hex[41], lower[41];
	int64_t count;
	struct pwlist *l;
	char *path = make_list(5000, &e, &n, "\r\n");

	(void)state;
	l = pwlist_open(path, err, sizeof(err));
	assert_non_null(l);
	/* every line is found, with its count: first, last and all between */
	for (size_t i = 0; i < n; i++) {
		count = -1;
		assert_int_equal(pwlist_find(l, e[i].hex, &count), 1);
		assert_int_equal(count, e[i].count);
	}
	/* lower-case keys too */
	for (size_t i = 0; i < 41; i++)
		lower[i] = (char)tolower((unsigned char)e[7].hex[i]);
	assert_int_equal(pwlist_find(l, lower, &count), 1);
	/* keys that are not there: below the first, above the last, and one
	 * just beside every tenth line (last digit changed) */
	assert_int_equal(pwlist_find(l, "0000000000000000000000000000000000000000", NULL), 0);
	assert_int_equal(pwlist_find(l, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", NULL),
	    strcmp(e[n - 1].hex, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF") == 0);
	for (size_t i = 0; i < n; i += 10) {
		memcpy(hex, e[i].hex, 41);
		hex[39] = hex[39] == '0' ? '1' : '0';
		int present = 0;
		for (size_t j = 0; j < n; j++)
			if (strcmp(e[j].hex, hex) == 0)
				present = 1;
		assert_int_equal(pwlist_find(l, hex, NULL), present);
	}
	/* not a key at all */
	assert_int_equal(pwlist_find(l, "zz", NULL), 0);
	pwlist_close(l);
	unlink(path);
	free(path);
	free(e);
}

static void
test_list_lf_and_empty(void **state)
{
	struct entry *e;
	size_t n;
	char err[256];
	struct pwlist *l;
	char *path = make_list(3, &e, &n, "\n");
	FILE *fp;

	(void)state;
	l = pwlist_open(path, err, sizeof(err));
	assert_non_null(l);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pwlist_find(l, e[i].hex, NULL), 1);
	pwlist_close(l);
	/* an empty list finds nothing and does not fail */
	fp = fopen(path, "w");
	fclose(fp);
	l = pwlist_open(path, err, sizeof(err));
	assert_non_null(l);
	assert_int_equal(pwlist_find(l, e[0].hex, NULL), 0);
	pwlist_close(l);
	unlink(path);
	/* a missing list is an error at open */
	assert_null(pwlist_open(path, err, sizeof(err)));
	assert_non_null(strstr(err, path));
	free(path);
	free(e);
}

struct pw_case {
	const char *pw;
	const char *login;
	int mfa;
	enum pw_reason want;
};

/* A 6 GiB sparse file (offsets past 32 bits) with two real lines at the
 * very end: the maths holds past 4 GiB, and the hole (NUL bytes, no line
 * ends) costs bounded work per probe instead of a scan. */
static void
test_list_huge_sparse(void **state)
{
	char path[] = "/tmp/test-pwhuge-XXXXXX", err[256], hex[41];
	const off_t size = (off_t)6 << 30;
	struct pwlist *l;
	int64_t count = 0, t0;
	int fd = mkstemp(path);
	char line[64];

	(void)state;
	assert_true(fd >= 0);
	if (ftruncate(fd, size) < 0) {
		close(fd);
		unlink(path);
		skip();
	}
	sha1_hex("tail entry", hex);
	snprintf(line, sizeof(line), "\n%s:77\n", hex);
	assert_int_equal(pwrite(fd, line, strlen(line), size), (ssize_t)strlen(line));
	close(fd);
	l = pwlist_open(path, err, sizeof(err));
	assert_non_null(l);
	t0 = util_mono_ms();
	assert_int_equal(pwlist_find(l, "0000000000000000000000000000000000000000", NULL), 0);
	assert_int_equal(pwlist_find(l, hex, &count), 0);	/* behind the hole: unreachable */
	assert_true(util_mono_ms() - t0 < 2000);
	pwlist_close(l);
	unlink(path);
}

static void
test_policy(void **state)
{
	static const struct pw_case cases[] = {
		/* length: 15 alone, 8 with a second factor; characters, not bytes */
		{ "short pass", NULL, 0, PW_TOO_SHORT },
		{ "fourteen chars", NULL, 0, PW_TOO_SHORT },
		{ "fifteen chars!!", NULL, 0, PW_OK },
		{ "gr8 plum", NULL, 1, PW_OK },
		{ "gr8plum", NULL, 1, PW_TOO_SHORT },
		{ "きょうはいいてんきでさんぽしたい", NULL, 0, PW_OK },
		{ "ひみつのあいことば", NULL, 0, PW_TOO_SHORT },	/* 9 chars, 27 bytes */
		/* no composition rules: all lower case, no digits, is fine */
		{ "mellow yellow submarine tunes", NULL, 0, PW_OK },
		/* the breached list, as typed and after NFKC */
		{ "correct horse battery staple", NULL, 0, PW_BREACHED },
		{ "ilovemycatverymuch2024", NULL, 0, PW_BREACHED },
		{ "ｔｈｅ ｑｕｉｃｋ ｂｒｏｗｎ ｆｏｘ ｊｕｍｐｓ", NULL, 0, PW_BREACHED },
		{ "ｐａｓｓｗｏｒｄ１２３４５６７８９", NULL, 0, PW_BREACHED },
		/* context: login, name parts, company words, domain labels */
		{ "taro.yamada-spring-2025", "taro.yamada@kanzashi-trading.co.jp", 0, PW_CONTEXT },
		{ "my name is YAMADA and i sing", "taro.yamada@kanzashi-trading.co.jp", 0, PW_CONTEXT },
		{ "welcome to hinagata house", NULL, 0, PW_CONTEXT },
		{ "雛形商事の新しい合言葉はこれです", NULL, 0, PW_CONTEXT },
		{ "Kanzashi makes great hairpins", NULL, 0, PW_CONTEXT },
		{ "ＫＡＮＺＡＳＨＩ makes hairpins", NULL, 0, PW_CONTEXT },
		{ "mellow yellow submarine tunes", "taro.yamada", 0, PW_OK },
		/* generic labels (co, jp, test) are not context words */
		{ "costs of the jp test suite", NULL, 0, PW_OK },
		/* repetitive and sequential */
		{ "aaaaaaaaaaaaaaaaaaaa", NULL, 0, PW_REPETITIVE },
		{ "passwordpassword", NULL, 0, PW_REPETITIVE },
		{ "abcabcabcabcabcab", NULL, 0, PW_REPETITIVE },
		{ "zzzzzzzzzzzzzzzq1", NULL, 0, PW_REPETITIVE },
		{ "0123456789abcdefg", NULL, 0, PW_SEQUENTIAL },
		{ "abcdefghijklmnopq", NULL, 0, PW_SEQUENTIAL },
		{ "qwertyuiopasdfghjkl", NULL, 0, PW_SEQUENTIAL },
		{ "9876543210zyxwvu", NULL, 0, PW_SEQUENTIAL },
		{ "lunch at 1234 maple street", NULL, 0, PW_OK },
		/* the cracklib dictionary (with a second factor, 8 is enough) */
		{ "password", NULL, 1, PW_DICTIONARY },
		{ "sunshine", NULL, 1, PW_DICTIONARY },
		/* bad input */
		{ "", NULL, 0, PW_EMPTY },
		{ "tab\there is a control char", NULL, 0, PW_INVALID },
		{ "bad utf-8 \xff\xfe in this one", NULL, 0, PW_INVALID },
	};
	struct entry *e;
	size_t n;
	char err[256];
	char *path = make_list(100, &e, &n, "\r\n");
	struct config *cfg = make_cfg(path);
	struct pwcheck *pc = pwcheck_new(cfg, err, sizeof(err));

	(void)state;
	assert_non_null(pc);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct pw_user u = { .login = cases[i].login, .mfa = cases[i].mfa };
		struct pw_result res;
		enum pw_reason r = pwcheck_run(pc, cases[i].pw, strlen(cases[i].pw), &u, &res);
		if (r != cases[i].want)
			fail_msg("case %zu \"%s\": got %s, want %s", i, cases[i].pw,
			    pw_reason_name(r), pw_reason_name(cases[i].want));
		assert_int_equal(res.reason, r);
	}
	pwcheck_free(pc);
	config_free(cfg);
	unlink(path);
	free(path);
	free(e);
}

static void
test_lengths(void **state)
{
	struct config *cfg = make_cfg(NULL);
	struct pwcheck *pc;
	struct pw_result res;
	char err[256], pw[512];

	(void)state;
	pc = pwcheck_new(cfg, err, sizeof(err));
	assert_non_null(pc);
	/* 15 characters of 3 bytes each: the count is in characters */
	assert_int_equal(pwcheck_run(pc, "みずうみのほとりでゆうひをみた", 45, NULL, &res), PW_OK);
	assert_int_equal(res.length, 15);
	assert_int_equal(res.min_length, 15);
	/* 200 characters of a passphrase pass whole (no truncation at 64) ... */
	assert_true(sizeof(phrase) > 201);
	memcpy(pw, phrase, 200);
	pw[200] = '\0';
	assert_int_equal(pwcheck_run(pc, pw, 200, NULL, &res), PW_OK);
	assert_int_equal(res.length, 200);
	pwcheck_free(pc);
	config_free(cfg);

	/* password_max_length refuses longer ones, never cuts them */
	cfg = make_cfg(NULL);
	assert_int_equal(config_set(cfg, "password_max_length", "64", err, sizeof(err)), 0);
	pc = pwcheck_new(cfg, err, sizeof(err));
	assert_int_equal(pwcheck_run(pc, pw, 64, NULL, &res), PW_OK);
	assert_int_equal(pwcheck_run(pc, pw, 65, NULL, &res), PW_TOO_LONG);
	pwcheck_free(pc);
	config_free(cfg);

	/* dictionary off: "sunshine" with a second factor passes */
	cfg = make_cfg(NULL);
	assert_int_equal(config_set(cfg, "password_dictionary", "off", err, sizeof(err)), 0);
	pc = pwcheck_new(cfg, err, sizeof(err));
	assert_int_equal(pwcheck_run(pc, "sunshine", 8, &(struct pw_user){ .mfa = 1 }, &res),
	    PW_OK);
	pwcheck_free(pc);
	config_free(cfg);

	/* a breached list that cannot be read is an error at start */
	cfg = make_cfg("/nonexistent/pwned.txt");
	assert_null(pwcheck_new(cfg, err, sizeof(err)));
	config_free(cfg);
}

static void
test_breach_past_64(void **state)
{
	char pw[201], hex[41], err[256], path[] = "/tmp/test-pwlong-XXXXXX";
	struct config *cfg;
	struct pwcheck *pc;
	struct pw_result res;
	int fd = mkstemp(path);

	(void)state;
	memcpy(pw, phrase, 150);
	pw[150] = '\0';
	sha1_hex(pw, hex);
	assert_true(dprintf(fd, "%s:7\r\n", hex) > 0);
	close(fd);
	cfg = make_cfg(path);
	pc = pwcheck_new(cfg, err, sizeof(err));
	assert_non_null(pc);
	assert_int_equal(pwcheck_run(pc, pw, 150, NULL, &res), PW_BREACHED);
	assert_int_equal(res.count, 7);
	/* the same first 64 characters with another tail: not the listed one */
	pw[149] = 'X';
	assert_int_equal(pwcheck_run(pc, pw, 150, NULL, &res), PW_OK);
	pwcheck_free(pc);
	config_free(cfg);
	unlink(path);
}

static void
test_reasons(void **state)
{
	(void)state;
	for (int r = PW_OK; r <= PW_ERROR; r++) {
		assert_non_null(pw_reason_text((enum pw_reason)r, "ja"));
		assert_non_null(pw_reason_text((enum pw_reason)r, "en"));
		assert_string_not_equal(pw_reason_text((enum pw_reason)r, "ja"),
		    pw_reason_text((enum pw_reason)r, "en"));
	}
	assert_string_equal(pw_reason_name(PW_TOO_SHORT), "too_short");
	assert_non_null(strstr(pw_reason_text(PW_TOO_SHORT, "ja"), "短"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_list_lookup),
		cmocka_unit_test(test_list_lf_and_empty),
		cmocka_unit_test(test_list_huge_sparse),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_breach_past_64),
		cmocka_unit_test(test_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
