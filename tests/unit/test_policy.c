/*
 * test_policy.c - scores and symbols to actions: the rules of policy.h as a
 * table, and the registry/score plumbing of detect.c they rely on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "policy/policy.h"
#include "util/config.h"
#include "util/util.h"

struct policy_case {
	const char *settings;	/* ';'-separated name=value */
	const char *listener;
	const char *from;
	const char *rcpts;	/* ','-separated */
	const char *symbols;	/* ','-separated symbols to add */
	enum action want;
	int want_prefix;	/* a subject prefix is asked for */
	int want_banner;
};

static const struct policy_case cases[] = {
	/* nothing: deliver */
	{ "", "inbound", "a@example.org", "u@sekisho.test", "", ACTION_DELIVER, 0, 0 },
	/* 2 + 2 + 1 = 5 reaches the default tag score */
	{ "", "inbound", "a@example.org", "u@sekisho.test",
	  "HDR_MISSING_FROM,HDR_FROM_INVALID,HDR_MISSING_DATE", ACTION_TAG, 1, 1 },
	/* thresholds are per direction: outbound tag is off by default */
	{ "", "outbound", "a@sekisho.test", "x@example.org",
	  "HDR_MISSING_FROM,HDR_FROM_INVALID,HDR_MISSING_DATE", ACTION_DELIVER, 0, 0 },
	{ "inbound_quarantine_score=4", "inbound", "a@example.org", "u@sekisho.test",
	  "HDR_MISSING_FROM,HDR_FROM_INVALID", ACTION_QUARANTINE, 0, 0 },
	{ "inbound_reject_score=3", "inbound", "a@example.org", "u@sekisho.test",
	  "HDR_MISSING_FROM,HDR_FROM_INVALID", ACTION_REJECT, 0, 0 },
	/* score.NAME changes the sum */
	{ "score.HDR_MISSING_DATE=12", "inbound", "a@example.org", "u@sekisho.test",
	  "HDR_MISSING_DATE", ACTION_QUARANTINE, 0, 0 },
	/* symbol actions win over the score, the most severe one first */
	{ "symbol_actions=HDR_MISSING_DATE=quarantine HDR_DATE_OLD=reject", "inbound",
	  "a@example.org", "u@sekisho.test", "HDR_MISSING_DATE,HDR_DATE_OLD", ACTION_REJECT, 0, 0 },
	{ "symbol_actions=HDR_MISSING_DATE=hold", "outbound", "a@sekisho.test",
	  "x@example.org", "HDR_MISSING_DATE", ACTION_HOLD, 0, 0 },
	/* and over the allowlist: a forced action is never lifted */
	{ "symbol_actions=HDR_MISSING_DATE=reject;sender_allowlist=example.org", "inbound",
	  "a@example.org", "u@sekisho.test", "HDR_MISSING_DATE", ACTION_REJECT, 0, 0 },
	/* sender allowlist by domain and subdomain, recipient allowlist */
	{ "sender_allowlist=example.org;inbound_reject_score=1", "inbound", "a@mail.example.org",
	  "u@sekisho.test", "HDR_MISSING_FROM", ACTION_DELIVER, 0, 0 },
	{ "sender_allowlist=a@example.org;inbound_reject_score=1", "inbound", "b@example.org",
	  "u@sekisho.test", "HDR_MISSING_FROM", ACTION_REJECT, 0, 0 },
	{ "recipient_allowlist=@sekisho.test;inbound_reject_score=1", "inbound", "b@example.org",
	  "u@sekisho.test,v@sekisho.test", "HDR_MISSING_FROM", ACTION_DELIVER, 0, 0 },
	/* every recipient must be allowlisted */
	{ "recipient_allowlist=u@sekisho.test;inbound_reject_score=1", "inbound", "b@example.org",
	  "u@sekisho.test,v@sekisho.test", "HDR_MISSING_FROM", ACTION_REJECT, 0, 0 },
	/* the blocklist is first */
	{ "sender_blocklist=@bad.example;sender_allowlist=bad.example", "inbound",
	  "x@bad.example", "u@sekisho.test", "", ACTION_REJECT, 0, 0 },
	/* a look-alike domain is not a subdomain */
	{ "sender_blocklist=bad.example", "inbound", "x@notbad.example", "u@sekisho.test", "",
	  ACTION_DELIVER, 0, 0 },
	/* no banner when turned off; external banner on plain inbound mail */
	{ "banner_suspicious=no", "inbound", "a@example.org", "u@sekisho.test",
	  "HDR_MISSING_FROM,HDR_FROM_INVALID,HDR_MISSING_DATE", ACTION_TAG, 1, 0 },
	{ "banner_external=yes", "inbound", "a@example.org", "u@sekisho.test", "",
	  ACTION_DELIVER, 0, 1 },
	{ "banner_external=yes", "outbound", "a@sekisho.test", "x@example.org", "",
	  ACTION_DELIVER, 0, 0 },
};

static struct config *
make_config(const char *settings)
{
	struct config *cfg = config_new();
	char *copy = xstrdup(settings), *save = NULL, err[256];

	for (char *p = strtok_r(copy, ";", &save); p; p = strtok_r(NULL, ";", &save))
		if (config_override(cfg, p, err, sizeof(err)) < 0)
			fail_msg("setting %s: %s", p, err);
	free(copy);
	free(cfg->myhostname);
	cfg->myhostname = xstrdup("gw.sekisho.test");
	cfg->network_checks = 0;
	return cfg;
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct policy_case *c = &cases[i];
		struct config *cfg = make_config(c->settings);
		char err[256];
		struct detect_engine *de = detect_new(cfg, err, sizeof(err));
		struct policy *p;
		struct envelope *env = envelope_new();
		struct scan_result r;
		struct scan_ctx ctx = { 0 };
		struct policy_changes ch;
		struct verdict v;
		char *list, *save = NULL;

		if (de == NULL)
			fail_msg("case %zu: %s", i, err);
		p = policy_new(cfg, NULL, err, sizeof(err));
		if (p == NULL)
			fail_msg("case %zu: %s", i, err);
		env->listener = xstrdup(c->listener);
		env->mail_from = xstrdup(c->from);
		list = xstrdup(c->rcpts);
		for (char *a = strtok_r(list, ",", &save); a; a = strtok_r(NULL, ",", &save))
			envelope_add_rcpt(env, a, NULL, 0);
		free(list);
		scan_result_init(&r, detect_scores(de));
		list = xstrdup(c->symbols);
		save = NULL;
		for (char *s = strtok_r(list, ",", &save); s; s = strtok_r(NULL, ",", &save))
			result_add(&r, s, "test");
		free(list);
		ctx.cfg = cfg;
		ctx.env = env;
		ctx.outbound = strcmp(c->listener, "outbound") == 0;
		memset(&v, 0, sizeof(v));
		policy_decide(p, &ctx, &r, &v, &ch);
		if (v.action != c->want)
			fail_msg("case %zu (%s): action %s, want %s", i, c->settings,
			    action_name(v.action), action_name(c->want));
		assert_int_equal(ch.subject_prefix != NULL, c->want_prefix);
		assert_int_equal(ch.text_banner != NULL, c->want_banner);
		assert_int_equal(ch.html_banner != NULL, c->want_banner);
		if (v.action == ACTION_REJECT)
			assert_non_null(strstr(v.reply, "550 5.7.1"));
		/* always: Authentication-Results first, then our result header */
		assert_non_null(ch.prepend[0]);
		assert_true(strncmp(ch.prepend[0], "Authentication-Results: gw.sekisho.test;", 40) == 0);
		assert_true(strncmp(ch.prepend[1], "X-Sekisho-Result: action=", 25) == 0);
		policy_changes_clear(&ch);
		scan_result_clear(&r);
		envelope_free(env);
		policy_free(p);
		detect_free(de);
		config_free(cfg);
	}
}

static void
test_bad_settings(void **state)
{
	struct config *cfg;
	char err[256];

	(void)state;
	cfg = make_config("symbol_actions=HDR_MISSING_DATE=explode");
	assert_null(policy_new(cfg, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "symbol_actions"));
	config_free(cfg);
	/* a score for a symbol nobody declares is an error, not a silent no-op */
	cfg = make_config("score.NO_SUCH_SYMBOL=3");
	assert_null(detect_new(cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "NO_SUCH_SYMBOL"));
	config_free(cfg);
}

static void
test_result(void **state)
{
	struct config *cfg = make_config("score.HDR_DATE_OLD=2.5");
	char err[256];
	struct detect_engine *de = detect_new(cfg, err, sizeof(err));
	struct scan_result r;

	(void)state;
	assert_non_null(de);
	scan_result_init(&r, detect_scores(de));
	result_add(&r, "HDR_DATE_OLD", "line one\nline two\r");
	result_add(&r, "HDR_DATE_OLD", "again");	/* kept once */
	result_add_scored(&r, "BAYES_SPAM", 4.0, "p=%.2f", 0.99);
	assert_int_equal(r.nsyms, 2);
	assert_true(fabs(r.score - 6.5) < 1e-9);
	/* reasons are one line */
	assert_null(strchr(r.syms[0].reason, '\n'));
	assert_null(strchr(r.syms[0].reason, '\r'));
	assert_true(result_has(&r, "BAYES_SPAM"));
	assert_false(result_has(&r, "BAYES_HAM"));
	result_add_auth(&r, "spf=pass smtp.mailfrom=%s", "example.org");
	assert_int_equal(r.nauth, 1);
	scan_result_clear(&r);
	detect_free(de);
	config_free(cfg);
}

/* Every symbol of every detector is unique and listed in docs/symbols.md. */
static void
test_symbols_documented(void **state)
{
	const char *src = getenv("SEKISHO_SRC");
	size_t n;
	const struct detector *const *reg = detect_registry(&n);
	char *path, *doc;

	(void)state;
	if (src == NULL)
		skip();
	path = xasprintf("%s/docs/symbols.md", src);
	doc = util_read_file(path, 1 << 20, NULL);
	if (doc == NULL)
		fail_msg("%s is missing", path);
	for (size_t i = 0; i < n; i++)
		for (const struct symbol_def *s = reg[i]->symbols; s && s->name; s++) {
			char *needle = xasprintf("`%s`", s->name);
			if (strstr(doc, needle) == NULL)
				fail_msg("symbol %s is not in docs/symbols.md (regenerate it with "
				    "`sekisho symbols --markdown`)", s->name);
			free(needle);
		}
	free(doc);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_bad_settings),
		cmocka_unit_test(test_result),
		cmocka_unit_test(test_symbols_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
