/*
 * test_outbound_rcpt.c - the recipient checks of outgoing mail: external
 * recipients and attachments, many and wide external mail, the recipient
 * history in a real SQLite store in a temporary state directory (first
 * recipient per sender, first domain per organisation, warm-up, noting only
 * what policy lets through, `sekisho scan` creating nothing), lookalike
 * recipient domains as a table and through the pipeline, and the Bcc
 * rewrite of wide external mail as bytes out of the pipeline.
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

#include "detect/detect.h"
#include "detect/detect_outbound.h"
#include "detect/detect_phish.h"
#include "message/message.h"
#include "outbound/outbound.h"
#include "policy/pipeline.h"
#include "store/envelope.h"
#include "store/store.h"
#include "store/store_recipients.h"
#include "util/config.h"
#include "util/util.h"

static char tmpdir[] = "/tmp/sekisho-outrcpt-XXXXXX";
static int ncfg;

static const char *
src_dir(void)
{
	const char *s = getenv("SEKISHO_SRC");

	return s != NULL ? s : ".";
}

/* A config with its own fresh state directory, on top of test defaults;
 * settings "name=value|name=value". */
static struct config *
make_cfg(const char *settings)
{
	struct config *cfg = config_new();
	char err[256], *rules = xasprintf("%s/rules", src_dir());
	char *state = xasprintf("%s/state%d", tmpdir, ++ncfg);
	char *copy, *tok, *save = NULL;

	assert_int_equal(config_set(cfg, "rules_dir", rules, err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "state_dir", state, err, sizeof(err)), 0);
	assert_int_equal(mkdir(state, 0700), 0);
	free(rules);
	free(state);
	assert_int_equal(config_set(cfg, "network_checks", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "bayes_enable", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "attach_enable", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "local_domains", "example.co.jp", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "outbound_history_warmup", "0", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "outbound_frequent_count", "2", err, sizeof(err)), 0);
	/* holds and approvals, where this tree has them: off, so that what
	 * policy lets through is delivered and noted at once */
	(void)config_set(cfg, "hold_time", "0", err, sizeof(err));
	(void)config_set(cfg, "approval_threshold", "0", err, sizeof(err));
	(void)config_set(cfg, "confirm_threshold", "0", err, sizeof(err));
	copy = xstrdup(settings != NULL ? settings : "");
	for (tok = strtok_r(copy, "|", &save); tok != NULL; tok = strtok_r(NULL, "|", &save))
		if (config_override(cfg, tok, err, sizeof(err)) < 0)
			fail_msg("%s: %s", tok, err);
	free(copy);
	return cfg;
}

struct run {
	struct scan_result r;
	char *out;		/* the rewritten message */
	int action;
};

/*
 * One outbound message from `from` to the comma-separated envelope
 * recipients, with To/Cc headers as given and an attachment when asked.
 */
static void
send_mail(const struct config *cfg, int record, const char *from, const char *rcpts,
    const char *to, const char *cc, int attach, struct run *out)
{
	struct pipeline *pl;
	struct envelope *env = envelope_new();
	struct verdict v;
	char err[256], *raw, *copy, *tok, *save = NULL;

	pl = pipeline_new(cfg, outbound_pipeline_ops(), err, sizeof(err));
	if (pl == NULL)
		fail_msg("pipeline_new: %s", err);
	pipeline_set_record(pl, record);
	env->listener = xstrdup("outbound");
	env->mail_from = xstrdup(from);
	copy = xstrdup(rcpts);
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		envelope_add_rcpt(env, tok, NULL, 0);
	free(copy);
	raw = xasprintf("From: <%s>\r\nTo: %s\r\n%s%s%sSubject: test\r\n"
	    "Message-ID: <t@example.co.jp>\r\nMIME-Version: 1.0\r\n%s",
	    from, to, cc != NULL ? "Cc: " : "", cc != NULL ? cc : "", cc != NULL ? "\r\n" : "",
	    attach ?
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "Content-Type: text/plain\r\n\r\nsee the file\r\n--b\r\n"
	    "Content-Type: application/pdf\r\n"
	    "Content-Disposition: attachment; filename=\"plan.pdf\"\r\n\r\n%PDF-1.4\r\n--b--\r\n" :
	    "Content-Type: text/plain\r\n\r\nhello\r\n");
	assert_int_equal(pipeline_run_mem(pl, env, raw, strlen(raw), &v, &out->r), 0);
	out->out = v.rewritten != NULL ? xstrndup(v.rewritten, v.rewritten_len) : xstrdup(raw);
	out->action = (int)v.action;
	verdict_clear(&v);
	free(raw);
	envelope_free(env);
	pipeline_free(pl);
}

static void
run_clear(struct run *run)
{
	scan_result_clear(&run->r);
	free(run->out);
}

static const struct symbol *
sym(const struct run *run, const char *name)
{
	for (size_t i = 0; i < run->r.nsyms; i++)
		if (strcmp(run->r.syms[i].name, name) == 0)
			return &run->r.syms[i];
	return NULL;
}

static void
test_external_many_attachment(void **state)
{
	struct config *cfg = make_cfg("outbound_many_external=2");
	struct run run;

	(void)state;
	/* internal only: nothing */
	send_mail(cfg, 0, "taro@example.co.jp", "hanako@example.co.jp,jiro@sales.example.co.jp",
	    "hanako@example.co.jp", NULL, 1, &run);
	assert_null(sym(&run, "OUT_EXTERNAL_RCPT"));
	assert_null(sym(&run, "OUT_EXTERNAL_ATTACHMENT"));
	run_clear(&run);

	/* one external recipient (Bcc: only in the envelope) with a file */
	send_mail(cfg, 0, "taro@example.co.jp", "hanako@example.co.jp,x@partner.example.jp",
	    "hanako@example.co.jp", NULL, 1, &run);
	assert_non_null(sym(&run, "OUT_EXTERNAL_RCPT"));
	assert_non_null(strstr(sym(&run, "OUT_EXTERNAL_RCPT")->reason, "x@partner.example.jp"));
	assert_non_null(sym(&run, "OUT_EXTERNAL_ATTACHMENT"));
	assert_non_null(strstr(sym(&run, "OUT_EXTERNAL_ATTACHMENT")->reason, "plan.pdf"));
	assert_null(sym(&run, "OUT_MANY_EXTERNAL"));
	run_clear(&run);

	/* without a file; three external addresses, more than 2 */
	send_mail(cfg, 0, "taro@example.co.jp", "a@p1.example.jp,b@p1.example.jp,c@p2.example.jp",
	    "a@p1.example.jp", NULL, 0, &run);
	assert_null(sym(&run, "OUT_EXTERNAL_ATTACHMENT"));
	assert_non_null(sym(&run, "OUT_MANY_EXTERNAL"));
	run_clear(&run);

	config_free(cfg);
}

/* A logo in an HTML signature is no attachment; a file marked as one is. */
static void
test_inline_image_is_no_file(void **state)
{
	static const char *const disp[] = { "inline", "attachment" };
	struct config *cfg = make_cfg(NULL);
	struct pipeline *pl;
	struct envelope *env = envelope_new();
	char err[256];

	(void)state;
	pl = pipeline_new(cfg, outbound_pipeline_ops(), err, sizeof(err));
	assert_non_null(pl);
	pipeline_set_record(pl, 0);
	env->listener = xstrdup("outbound");
	env->mail_from = xstrdup("taro@example.co.jp");
	envelope_add_rcpt(env, "x@partner.example.jp", NULL, 0);
	for (int i = 0; i < 2; i++) {
		char *raw = xasprintf(
		    "From: <taro@example.co.jp>\r\nTo: x@partner.example.jp\r\nSubject: s\r\n"
		    "Message-ID: <logo@example.co.jp>\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: multipart/related; boundary=r\r\n\r\n"
		    "--r\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n"
		    "<p>hello<img src=\"cid:logo\"></p>\r\n"
		    "--r\r\nContent-Type: image/png; name=\"logo.png\"\r\n"
		    "Content-Disposition: %s; filename=\"logo.png\"\r\n"
		    "Content-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\n"
		    "iVBORw0KGgo=\r\n--r--\r\n", disp[i]);
		struct scan_result r;
		struct verdict v;

		assert_int_equal(pipeline_run_mem(pl, env, raw, strlen(raw), &v, &r), 0);
		assert_true(result_has(&r, "OUT_EXTERNAL_RCPT"));
		if (result_has(&r, "OUT_EXTERNAL_ATTACHMENT") != i)
			fail_msg("%s image: OUT_EXTERNAL_ATTACHMENT %d", disp[i], !i);
		verdict_clear(&v);
		scan_result_clear(&r);
		free(raw);
	}
	envelope_free(env);
	pipeline_free(pl);
	config_free(cfg);
}

static void
test_first_recipient_and_domain(void **state)
{
	struct config *cfg = make_cfg(NULL);
	char *db = config_state_path(cfg, "sekisho.db");
	struct run run;
	struct stat sb;

	(void)state;
	/* `sekisho scan` keeps no history and creates no store */
	send_mail(cfg, 0, "taro@example.co.jp", "a@partner.co.jp", "a@partner.co.jp", NULL, 0, &run);
	run_clear(&run);
	assert_int_equal(stat(db, &sb), -1);

	/* the first real mail: both first */
	send_mail(cfg, 1, "taro@example.co.jp", "a@partner.co.jp", "a@partner.co.jp", NULL, 0, &run);
	assert_int_equal(run.action, 0);
	assert_non_null(sym(&run, "OUT_FIRST_RECIPIENT"));
	assert_non_null(strstr(sym(&run, "OUT_FIRST_RECIPIENT")->reason, "a@partner.co.jp"));
	assert_non_null(sym(&run, "OUT_FIRST_DOMAIN"));
	assert_non_null(strstr(sym(&run, "OUT_FIRST_DOMAIN")->reason, "partner.co.jp"));
	run_clear(&run);
	assert_int_equal(stat(db, &sb), 0);

	/* again: known */
	send_mail(cfg, 1, "Taro@Example.co.jp", "A@Partner.co.jp", "A@Partner.co.jp", NULL, 0, &run);
	assert_null(sym(&run, "OUT_FIRST_RECIPIENT"));
	assert_null(sym(&run, "OUT_FIRST_DOMAIN"));
	run_clear(&run);

	/* another sender of the organisation: a first recipient for her,
	 * not a first domain for the organisation */
	send_mail(cfg, 1, "hanako@example.co.jp", "a@partner.co.jp", "a@partner.co.jp", NULL, 0,
	    &run);
	assert_non_null(sym(&run, "OUT_FIRST_RECIPIENT"));
	assert_null(sym(&run, "OUT_FIRST_DOMAIN"));
	run_clear(&run);

	/* another address of the known domain (a subdomain too) */
	send_mail(cfg, 1, "taro@example.co.jp", "b@mail.partner.co.jp", "b@mail.partner.co.jp",
	    NULL, 0, &run);
	assert_non_null(sym(&run, "OUT_FIRST_RECIPIENT"));
	assert_null(sym(&run, "OUT_FIRST_DOMAIN"));
	run_clear(&run);

	/* what the store holds */
	{
		char err[256];
		struct store *st = store_open(db, err, sizeof(err));
		struct store_rcpt_hist h;
		int64_t count = 0, since = 0;

		assert_non_null(st);
		assert_int_equal(store_rcpt_get(st, "taro@example.co.jp", "a@partner.co.jp", &h), 0);
		assert_int_equal(h.count, 2);
		assert_int_equal(store_rcpt_get(st, "hanako@example.co.jp", "b@mail.partner.co.jp",
		    &h), 1);
		assert_int_equal(store_rcpt_domain_count(st, "example.co.jp", "partner.co.jp",
		    &count), 0);
		assert_int_equal(count, 4);
		assert_int_equal(store_rcpt_domain_count(st, "example.co.jp", "other.co.jp",
		    &count), 0);
		assert_int_equal(count, 0);
		assert_int_equal(store_rcpt_since(st, "example.co.jp", &since), 0);
		assert_true(since > 0);
		assert_int_equal(store_rcpt_since(st, "elsewhere.jp", &since), 1);
		/* the correspondents the phishing check noted count for the
		 * organisation too */
		assert_int_equal(store_correspondent_note(st, "example.co.jp", "old-partner.jp", 1,
		    util_now_ms()), 0);
		assert_int_equal(store_rcpt_domain_count(st, "example.co.jp", "old-partner.jp",
		    &count), 0);
		assert_int_equal(count, 1);
		store_close(st);
	}
	send_mail(cfg, 1, "taro@example.co.jp", "z@old-partner.jp", "z@old-partner.jp", NULL, 0,
	    &run);
	assert_non_null(sym(&run, "OUT_FIRST_RECIPIENT"));
	assert_null(sym(&run, "OUT_FIRST_DOMAIN"));
	run_clear(&run);
	free(db);
	config_free(cfg);
}

static void
test_warmup_and_held_mail(void **state)
{
	struct config *cfg = make_cfg("outbound_history_warmup=1d");
	struct run run;

	(void)state;
	/* a young history: nobody is "first" yet */
	send_mail(cfg, 1, "taro@example.co.jp", "a@partner.co.jp", "a@partner.co.jp", NULL, 0, &run);
	assert_non_null(sym(&run, "OUT_EXTERNAL_RCPT"));
	assert_null(sym(&run, "OUT_FIRST_RECIPIENT"));
	assert_null(sym(&run, "OUT_FIRST_DOMAIN"));
	run_clear(&run);
	config_free(cfg);

	/* mail policy quarantines is not noted */
	cfg = make_cfg("symbol_actions=OUT_EXTERNAL_RCPT=quarantine");
	send_mail(cfg, 1, "taro@example.co.jp", "q@partner.co.jp", "q@partner.co.jp", NULL, 0, &run);
	assert_int_equal(run.action, 2);
	assert_non_null(sym(&run, "OUT_FIRST_RECIPIENT"));
	run_clear(&run);
	send_mail(cfg, 1, "taro@example.co.jp", "q@partner.co.jp", "q@partner.co.jp", NULL, 0, &run);
	assert_non_null(sym(&run, "OUT_FIRST_RECIPIENT"));
	run_clear(&run);

	/* until the hold flow notes it on release */
	{
		char err[256], *db = config_state_path(cfg, "sekisho.db");
		struct store *st = store_open(db, err, sizeof(err));
		struct envelope *env = envelope_new();

		assert_non_null(st);
		env->mail_from = xstrdup("taro@example.co.jp");
		envelope_add_rcpt(env, "q@partner.co.jp", NULL, 0);
		envelope_add_rcpt(env, "inside@example.co.jp", NULL, 0);
		assert_int_equal(outbound_note_recipients(st, cfg, env, NULL, util_now_ms()), 0);
		{
			struct store_rcpt_hist h;

			assert_int_equal(store_rcpt_get(st, "taro@example.co.jp",
			    "inside@example.co.jp", &h), 1);	/* internal: not kept */
		}
		envelope_free(env);
		store_close(st);
		free(db);
	}
	send_mail(cfg, 1, "taro@example.co.jp", "q@partner.co.jp", "q@partner.co.jp", NULL, 0, &run);
	assert_null(sym(&run, "OUT_FIRST_RECIPIENT"));
	assert_null(sym(&run, "OUT_FIRST_DOMAIN"));
	run_clear(&run);
	config_free(cfg);
}

static void
test_lookalike_table(void **state)
{
	static const struct {
		const char *domain;
		int look;		/* expected: not LOOK_NONE */
		const char *imitated;
	} cases[] = {
		{ "examp1e.co.jp", 1, "example.co.jp" },	/* look-alike letters */
		{ "exarnple.co.jp", 1, "example.co.jp" },
		{ "example.jp", 1, "example.co.jp" },		/* another suffix */
		{ "example.com", 1, "example.co.jp" },
		{ "exampel.co.jp", 1, "example.co.jp" },	/* swapped letters */
		{ "hinagta.co.jp", 1, "hinagata.co.jp" },	/* one edit */
		{ "hinagatta-shoji.co.jp", 0, NULL },
		{ "hlnagata.co.jp", 1, "hinagata.co.jp" },
		{ "hinagata.co.jp", 0, NULL },			/* itself */
		{ "acne.com", 1, "acme.com" },			/* one edit, short name */
		{ "acme.net", 1, "acme.com" },
		{ "acme.com", 0, NULL },
		{ "abc.com", 0, NULL },				/* too short to tell */
		{ "totally-different.co.jp", 0, NULL },
		{ "gmail.com", 0, NULL },
		{ "sample-seiki.co.jp", 0, NULL },
	};
	struct brandset *known = brandset_new();
	char *names[] = { "example.co.jp", "hinagata.co.jp", "acme.com", "abd.com", NULL };

	(void)state;
	for (size_t i = 0; names[i] != NULL; i++)
		brandset_add_own(known, names[i]);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		char imitated[256];
		enum look_kind k = outbound_lookalike(known, names, cases[i].domain, NULL,
		    imitated, sizeof(imitated));

		if ((k != LOOK_NONE) != cases[i].look)
			fail_msg("%s: %s, expected %s", cases[i].domain, look_kind_name(k),
			    cases[i].look ? "a lookalike" : "none");
		if (cases[i].imitated != NULL && strcmp(imitated, cases[i].imitated) != 0)
			fail_msg("%s: imitates %s, expected %s", cases[i].domain, imitated,
			    cases[i].imitated);
	}
	brandset_free(known);
}

static void
test_lookalike_through_history(void **state)
{
	struct config *cfg = make_cfg(NULL);
	struct run run;

	(void)state;
	/* hinagata-shoji.co.jp becomes frequent (2 messages) */
	for (int i = 0; i < 2; i++) {
		send_mail(cfg, 1, "taro@example.co.jp", "sato@hinagata-shoji.co.jp",
		    "sato@hinagata-shoji.co.jp", NULL, 0, &run);
		assert_null(sym(&run, "OUT_LOOKALIKE_RECIPIENT"));
		run_clear(&run);
	}
	/* a slip of the keyboard */
	send_mail(cfg, 1, "hanako@example.co.jp", "sato@hinagata-shoj1.co.jp",
	    "sato@hinagata-shoj1.co.jp", NULL, 0, &run);
	assert_non_null(sym(&run, "OUT_LOOKALIKE_RECIPIENT"));
	assert_non_null(strstr(sym(&run, "OUT_LOOKALIKE_RECIPIENT")->reason,
	    "hinagata-shoji.co.jp"));
	assert_non_null(sym(&run, "OUT_FIRST_DOMAIN"));
	run_clear(&run);
	/* the organisation's own domain under another suffix */
	send_mail(cfg, 1, "taro@example.co.jp", "hanako@example.jp", "hanako@example.jp", NULL, 0,
	    &run);
	assert_non_null(sym(&run, "OUT_LOOKALIKE_RECIPIENT"));
	run_clear(&run);
	/* an unrelated new domain is only new */
	send_mail(cfg, 1, "taro@example.co.jp", "info@kaku-sys.co.jp", "info@kaku-sys.co.jp",
	    NULL, 0, &run);
	assert_null(sym(&run, "OUT_LOOKALIKE_RECIPIENT"));
	assert_non_null(sym(&run, "OUT_FIRST_DOMAIN"));
	run_clear(&run);
	config_free(cfg);
}

static void
test_wide_external(void **state)
{
	static const char rcpts[] = "a@one.example.com,b@two.example.net,c@three.example.org,"
	    "d@four.example.jp,inside@example.co.jp";
	static const char to[] = "=?UTF-8?B?5bGx55Sw?= <a@one.example.com>, b@two.example.net,"
	    " inside@example.co.jp";
	static const char cc[] = "c@three.example.org,\r\n d@four.example.jp";
	struct config *cfg = make_cfg(NULL);
	struct run run;
	char *hdr_end;

	(void)state;
	/* three domains: not more than outbound_wide_domains (3) */
	send_mail(cfg, 0, "taro@example.co.jp", rcpts, "a@one.example.com, b@two.example.net",
	    "c@three.example.org, inside@example.co.jp", 0, &run);
	assert_null(sym(&run, "OUT_WIDE_EXTERNAL"));
	run_clear(&run);

	/* four: hold (the default) flags it and keeps the headers */
	send_mail(cfg, 0, "taro@example.co.jp", rcpts, to, cc, 0, &run);
	assert_non_null(sym(&run, "OUT_WIDE_EXTERNAL"));
	assert_null(strstr(sym(&run, "OUT_WIDE_EXTERNAL")->reason, "Bcc"));
	assert_non_null(strstr(run.out, "d@four.example.jp"));
	run_clear(&run);
	config_free(cfg);

	/* bcc: the external addresses leave To/Cc, the internal one stays */
	cfg = make_cfg("wide_external_action=bcc");
	send_mail(cfg, 0, "taro@example.co.jp", rcpts, to, cc, 0, &run);
	assert_non_null(sym(&run, "OUT_WIDE_EXTERNAL"));
	assert_non_null(strstr(sym(&run, "OUT_WIDE_EXTERNAL")->reason, "Bcc"));
	hdr_end = strstr(run.out, "\r\n\r\n");
	assert_non_null(hdr_end);
	*hdr_end = '\0';
	assert_null(strstr(run.out, "one.example.com"));
	assert_null(strstr(run.out, "two.example.net"));
	assert_null(strstr(run.out, "three.example.org"));
	assert_null(strstr(run.out, "four.example.jp"));
	assert_null(strstr(run.out, "\r\nCc:"));
	assert_non_null(strstr(run.out, "\r\nTo: inside@example.co.jp\r\n"));
	assert_non_null(strstr(run.out, "\r\nFrom: <taro@example.co.jp>\r\n"));
	run_clear(&run);

	/* nobody internal left in To: undisclosed recipients */
	send_mail(cfg, 0, "taro@example.co.jp", rcpts,
	    "a@one.example.com, b@two.example.net", "c@three.example.org, d@four.example.jp", 0,
	    &run);
	hdr_end = strstr(run.out, "\r\n\r\n");
	assert_non_null(hdr_end);
	*hdr_end = '\0';
	assert_non_null(strstr(run.out, "\r\nTo: undisclosed-recipients:;"));
	assert_null(strstr(run.out, "example.com"));
	run_clear(&run);
	config_free(cfg);
}

/* The rewrite itself: groups, encoded names, folded fields, other fields
 * byte for byte. */
static void
test_drop_addrs_rewrite(void **state)
{
	static const char raw[] =
	    "From: taro@example.co.jp\r\n"
	    "To: =?ISO-2022-JP?B?GyRCOzNFRBsoQg==?= <yamada@example.co.jp>,\r\n"
	    "\tPartner <P@Partner.example.jp>\r\n"
	    "Cc: team: x@other.example.com, hanako@example.co.jp;\r\n"
	    "X-Keep:   spacing  kept\r\n"
	    "Subject: hi\r\n"
	    "\r\n"
	    "body to: p@partner.example.jp\r\n";
	static const char *const drop[] = { "p@partner.example.jp", "x@other.example.com", NULL };
	struct message_rewrite rw = { NULL, NULL, NULL, NULL, NULL, drop, NULL };
	struct message *m = message_parse(raw, sizeof(raw) - 1, NULL);
	char *out, *body;
	size_t len = 0;

	(void)state;
	out = message_rewrite(m, &rw, &len);
	assert_non_null(out);
	body = strstr(out, "\r\n\r\n");
	assert_non_null(body);
	/* the body is not touched */
	assert_string_equal(body, "\r\n\r\nbody to: p@partner.example.jp\r\n");
	*body = '\0';
	assert_null(strstr(out, "artner.example.jp"));
	assert_null(strstr(out, "other.example.com"));
	assert_non_null(strstr(out, "yamada@example.co.jp"));
	assert_non_null(strstr(out, "hanako@example.co.jp"));
	assert_non_null(strstr(out, "team:"));
	assert_non_null(strstr(out, "\r\nX-Keep:   spacing  kept\r\n"));
	assert_non_null(strstr(out, "From: taro@example.co.jp\r\n"));
	free(out);
	/* the display name survives, decoded the same */
	{
		struct message *m2;

		out = message_rewrite(m, &rw, &len);
		m2 = message_parse(out, len, NULL);
		assert_int_equal(m2->nto, 1);
		assert_string_equal(m2->to[0].display, "山田");
		assert_string_equal(m2->to[0].addr, "yamada@example.co.jp");
		message_free(m2);
		free(out);
	}
	message_free(m);
}

static int
rm_tree(void)
{
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);

	free(cmd);
	return rc == 0 ? 0 : -1;
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return rm_tree();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_external_many_attachment),
		cmocka_unit_test(test_inline_image_is_no_file),
		cmocka_unit_test(test_first_recipient_and_domain),
		cmocka_unit_test(test_warmup_and_held_mail),
		cmocka_unit_test(test_lookalike_table),
		cmocka_unit_test(test_lookalike_through_history),
		cmocka_unit_test(test_wide_external),
		cmocka_unit_test(test_drop_addrs_rewrite),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
