/*
 * test_arc.c - ARC chain validation against the ValiMail ARC test suite.
 *
 * The suite lives in the shared corpus (not in the project):
 * $SEKISHO_CORPUS or $SEKISHO_SRC/../shared/corpus, under
 * mime/arc-test-suite.  extracted_messages/MANIFEST.json gives the expected
 * cv= of every validation message; the DKIM key records are the
 * "txt-records" of tests/arc-draft-validation-tests.yml (YAML folded
 * scalars: lines joined with spaces).  The vectors are skipped when the
 * corpus is absent; small cases of our own always run.
 *
 * Three vectors expect an empty cv: their newest seal already says
 * cv=fail, which RFC 8617 section 5.2 step 2 makes a failed chain; we count
 * "fail" as the right answer for them.
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

#include "detect/detect_auth.h"
#include "util/util.h"

struct keyrec {
	char *name;
	char *value;
};

static struct keyrec *keys;
static size_t nkeys;
static int tempfail_keys;	/* make every key look-up time out */

static enum dns_status
key_lookup(void *arg, const char *name, char ***txt)
{
	(void)arg;
	*txt = NULL;
	if (tempfail_keys)
		return DNS_TEMPFAIL;
	for (size_t i = 0; i < nkeys; i++)
		if (util_strcasecmp(keys[i].name, name) == 0) {
			*txt = xcalloc(2, sizeof(char *));
			(*txt)[0] = xstrdup(keys[i].value);
			return DNS_OK;
		}
	return DNS_NXDOMAIN;
}

static char *
corpus_dir(void)
{
	const char *c = getenv("SEKISHO_CORPUS"), *src = getenv("SEKISHO_SRC");
	char *dir;

	if (c != NULL && c[0] != '\0')
		dir = xasprintf("%s/mime/arc-test-suite", c);
	else
		dir = xasprintf("%s/../shared/corpus/mime/arc-test-suite", src ? src : ".");
	return dir;
}

/* The txt-records blocks of the YAML file: "  name: >-" + indented lines. */
static void
load_keys(const char *path)
{
	char *text = util_read_file(path, 16 << 20, NULL), *save = NULL, *line;
	int in_records = 0;
	struct keyrec *cur = NULL;

	if (text == NULL)
		return;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "txt-records:", 12) == 0) {
			in_records = 1;
			cur = NULL;
			continue;
		}
		if (!in_records)
			continue;
		if (line[0] != ' ') {		/* "---" or the next top-level key */
			in_records = 0;
			cur = NULL;
			continue;
		}
		if (line[0] == ' ' && line[1] == ' ' && line[2] != ' ') {
			char *colon = strstr(line, ": ");
			char *name, *val;

			if (colon == NULL)
				continue;
			*colon = '\0';
			name = xstrdup(line + 2);
			val = colon + 2;
			while (*val == ' ')
				val++;
			for (size_t i = 0; i < nkeys; i++)
				if (strcmp(keys[i].name, name) == 0) {
					free(name);
					name = NULL;	/* the same record again */
					break;
				}
			if (name == NULL) {
				cur = NULL;
				continue;
			}
			keys = xrealloc(keys, (nkeys + 1) * sizeof(*keys));
			cur = &keys[nkeys++];
			cur->name = name;
			cur->value = xstrdup(strncmp(val, ">", 1) == 0 ? "" : val);
			continue;
		}
		if (cur != NULL) {
			char *v = line;
			char *joined;

			while (*v == ' ')
				v++;
			joined = cur->value[0] ? xasprintf("%s %s", cur->value, v) : xstrdup(v);
			free(cur->value);
			cur->value = joined;
		}
	}
	free(text);
}

static void
free_keys(void)
{
	for (size_t i = 0; i < nkeys; i++) {
		free(keys[i].name);
		free(keys[i].value);
	}
	free(keys);
	keys = NULL;
	nkeys = 0;
}

/* The value of "key": "..." on a line of the manifest. */
static int
json_field(const char *line, const char *key, char *out, size_t outlen)
{
	char pat[64];
	const char *p, *e;

	snprintf(pat, sizeof(pat), "\"%s\": \"", key);
	if ((p = strstr(line, pat)) == NULL)
		return 0;
	p += strlen(pat);
	if ((e = strchr(p, '"')) == NULL)
		return 0;
	snprintf(out, outlen, "%.*s", (int)(e - p), p);
	return 1;
}

static enum auth_result
run_file(const char *path, struct arc_outcome *o)
{
	size_t len, clen;
	char *raw = util_read_file(path, 4 << 20, &len), *crlf;

	assert_non_null(raw);
	crlf = auth_crlf(raw, len, &clen);
	arc_verify(crlf, clen, key_lookup, NULL, o);
	free(crlf);
	free(raw);
	return o->result;
}

static void
test_vectors(void **state)
{
	char *dir = corpus_dir(), *path, *manifest, *save = NULL, *line;
	char file[256] = "", cv[32];
	int total = 0, passed = 0, have_file = 0;

	(void)state;
	path = xasprintf("%s/tests/arc-draft-validation-tests.yml", dir);
	load_keys(path);
	free(path);
	path = xasprintf("%s/extracted_messages/MANIFEST.json", dir);
	manifest = util_read_file(path, 1 << 20, NULL);
	free(path);
	if (manifest == NULL || nkeys == 0) {
		fprintf(stderr, "# ARC test suite not found under %s: vectors skipped\n", dir);
		free(manifest);
		free(dir);
		free_keys();
		skip();
	}
	for (line = strtok_r(manifest, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (json_field(line, "file", file, sizeof(file))) {
			have_file = 1;
			continue;
		}
		if (!have_file || !json_field(line, "expected_cv", cv, sizeof(cv)))
			continue;
		have_file = 0;
		if (strncmp(file, "validation-", 11) != 0)
			continue;

		enum auth_result want = strcmp(cv, "Pass") == 0 ? AUTH_PASS :
		    strcmp(cv, "None") == 0 ? AUTH_NONE : AUTH_FAIL;
		struct arc_outcome o;

		path = xasprintf("%s/extracted_messages/%s", dir, file);
		run_file(path, &o);
		free(path);
		total++;
		if (o.result == want)
			passed++;
		else
			fprintf(stderr, "# ARC vector %s: want %s, got %s (%s)\n", file,
			    auth_result_name(want), auth_result_name(o.result), o.detail);
	}
	fprintf(stderr, "# ARC validation vectors: %d/%d as expected\n", passed, total);
	free(manifest);
	free(dir);
	free_keys();
	assert_true(total > 150);
	assert_int_equal(passed, total);
}

/* A key look-up without an answer is temperror, not fail. */
static void
test_tempfail(void **state)
{
	char *dir = corpus_dir(), *path, *msgs;
	struct arc_outcome o;

	(void)state;
	msgs = xasprintf("%s/extracted_messages/validation-00-cv_pass_i1_1.eml", dir);
	path = xasprintf("%s/tests/arc-draft-validation-tests.yml", dir);
	load_keys(path);
	free(path);
	if (nkeys == 0 || access(msgs, R_OK) != 0) {
		free(msgs);
		free(dir);
		free_keys();
		skip();
	}
	assert_int_equal(run_file(msgs, &o), AUTH_PASS);
	tempfail_keys = 1;
	assert_int_equal(run_file(msgs, &o), AUTH_TEMPERROR);
	tempfail_keys = 0;
	free(msgs);
	free(dir);
	free_keys();
}

static enum auth_result
verify_text(const char *text, struct arc_outcome *o)
{
	size_t len;
	char *crlf = auth_crlf(text, strlen(text), &len);

	arc_verify(crlf, len, key_lookup, NULL, o);
	free(crlf);
	return o->result;
}

/* Structural cases that need no key. */
static void
test_structure(void **state)
{
	struct arc_outcome o;

	(void)state;
	assert_int_equal(verify_text("", &o), AUTH_NONE);
	assert_int_equal(verify_text("From: a@b.example\n\nbody\n", &o), AUTH_NONE);
	assert_int_equal(verify_text("no header here\n", &o), AUTH_NONE);
	/* a lone seal: set incomplete */
	assert_int_equal(verify_text("ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA\n"
	    "From: a@b.example\n\nbody\n", &o), AUTH_FAIL);
	/* newest seal says cv=fail */
	assert_int_equal(verify_text(
	    "ARC-Seal: i=1; a=rsa-sha256; cv=fail; d=x.example; s=s; b=AAAA\n"
	    "ARC-Message-Signature: i=1; a=rsa-sha256; d=x.example; s=s; h=from; bh=AAAA; b=AAAA\n"
	    "ARC-Authentication-Results: i=1; x.example; spf=pass\n"
	    "From: a@b.example\n\nbody\n", &o), AUTH_FAIL);
	assert_non_null(strstr(o.detail, "cv=fail"));
	/* bad instance numbers */
	assert_int_equal(verify_text("ARC-Seal: i=51; a=rsa-sha256; cv=none; d=x.example; s=s; b=AAAA\n\n", &o),
	    AUTH_FAIL);
	assert_int_equal(verify_text("ARC-Authentication-Results: x.example; i=1\n\n", &o), AUTH_FAIL);
	/* garbage must not crash */
	assert_int_equal(verify_text("ARC-Seal:\nARC-Seal: ;;;\nARC-Message-Signature: ===\n\n", &o),
	    AUTH_FAIL);
}

static void
test_crlf(void **state)
{
	size_t len;
	char *s;

	(void)state;
	const char *in = "From MAILER-DAEMON Thu\nA: b\n\nx\r\ny\n";

	s = auth_crlf(in, strlen(in), &len);
	assert_string_equal(s, "A: b\r\n\r\nx\r\ny\r\n");
	assert_int_equal(len, strlen(s));
	free(s);
	s = auth_crlf("", 0, &len);
	assert_string_equal(s, "");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_tempfail),
		cmocka_unit_test(test_vectors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
