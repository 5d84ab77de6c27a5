/*
 * test_takeover.c - compromised-account detection from outbound mail
 * (detect/detect_takeover.c, store/store_sqlite_takeover.c).
 *
 *   - signature blocks and their items, table-driven ("-- ", ━━━, ＝＝＝,
 *     full-width digits, bank lines, no block, the quoted original of a
 *     reply left out);
 *   - the hourly sender summary: new recipients against user_contacts,
 *     distinct domains, pruning; suspensions; signature fingerprints;
 *   - a replay through the real login guard (account_guard with a test
 *     MMDB) and the real scan pipeline: two weeks of a small company's
 *     ordinary mail and logins (typos, a trip to Osaka, a hotel network, a
 *     new phone, a weekly newsletter) lock nobody, give no ACCT_* finding
 *     and open no incident; then a login from Paris and a burst of phishing
 *     mail to new recipients suspends the account: its mail is held (kind
 *     "admin"), one alert, exactly one incident, colleagues unaffected,
 *     and `resume` lets its ordinary mail out again.
 *   - a changed signature gives ACCT_SIGNATURE_CHANGED once;
 *   - two nodes on one store, one account bursting through both: one
 *     suspension, one alert, one incident.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account/account_guard.h"
#include "detect/detect.h"
#include "detect/detect_takeover.h"
#include "outbound/outbound.h"
#include "policy/pipeline.h"
#include "store/store.h"
#include "store/store_account.h"
#include "store/store_audit.h"
#include "store/store_takeover.h"
#include "util/config.h"
#include "util/util.h"
#include "testutil.h"

#define HOUR	3600000LL
#define DAY	(24 * HOUR)

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* ---- signature blocks ---- */

static void
test_signature_items(void **state)
{
	static const struct {
		const char *text;
		const char *want;	/* NULL: no block or no items */
	} cases[] = {
		{ "Hello,\nsee you.\n\n-- \nTaro Yamada\nTel: 03-1234-5678\nhttps://www.example.co.jp/\n",
		  "tel:0312345678\nurl:https://www.example.co.jp/" },
		{ "本文です。\n\n━━━━━━━━━━━━━━━━━━━━\n株式会社サンプル 営業部 山田太郎\n"
		  "ＴＥＬ：０３－１２３４－５６７８\n振込先: みずほ銀行 本店 普通 1234567\n"
		  "URL https://sample.co.jp\n━━━━━━━━━━━━━━━━━━━━\n",
		  "bank:1234567\ntel:0312345678\nurl:https://sample.co.jp" },
		{ "本文\n＝＝＝＝＝＝＝＝＝＝＝＝＝＝\n山田花子\n携帯 090-1111-2222\n",
		  "tel:09011112222" },
		{ "no signature here, call 03-1234-5678\n", NULL },
		/* a reply: the quoted original's signature is not the sender's */
		{ "承知しました。\n-- \n山田\nTEL 03-1234-5678\n\n-----Original Message-----\n"
		  "From: x@partner.example\n本文\n-- \nPartner\nTEL 06-9999-8888\n"
		  "https://partner.example/\n", "tel:0312345678" },
		{ "OK.\n\nOn Mon, 23 Nov 2026, Partner wrote:\n> hi\n-- \nPartner\n"
		  "TEL 06-9999-8888\n", NULL },
		{ "text\n-- \nTaro\n", NULL },
		{ "", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = takeover_signature_items(cases[i].text);
		if (cases[i].want == NULL) {
			if (got != NULL)
				fail_msg("case %zu: want none, got \"%s\"", i, got);
		} else {
			if (got == NULL || strcmp(got, cases[i].want) != 0)
				fail_msg("case %zu: want \"%s\", got \"%s\"", i, cases[i].want,
				    got ? got : "(null)");
		}
		free(got);
	}
	assert_null(takeover_signature_items(NULL));
}

/* ---- the store ---- */

static void
test_store_sender(void **state)
{
	char dir[] = "/tmp/test-tko-XXXXXX", err[256], *db, *items;
	char *r1[] = { "a@x.example", "b@y.example", "A@x.example" };
	char *d1[] = { "x.example", "y.example" };
	char *r2[] = { "a@x.example", "c@z.example" };
	char *d2[] = { "x.example", "z.example" };
	struct store_sender_hour h[4];
	struct store_suspension sp;
	struct store_sent m;
	char fp[65];
	struct store *st;
	int64_t t = 1000 * HOUR;

	(void)state;
	assert_non_null(mkdtemp(dir));
	db = xasprintf("%s/sekisho.db", dir);
	st = store_open(db, err, sizeof(err));
	assert_non_null(st);
	/* first message: every recipient new (the duplicate counts once) */
	assert_int_equal(store_sender_note(st, "Taro@S.test", t, 1.5, r1, 3, d1, 2), 0);
	memset(&m, 0, sizeof(m));
	util_strlcpy(m.msg_id, "m1", sizeof(m.msg_id));
	m.time_ms = t;
	assert_int_equal(store_user_sent_add(st, "taro@s.test", &m, r1, 3), 0);
	/* second, same hour: one known, one new; one more domain */
	assert_int_equal(store_sender_note(st, "taro@s.test", t + 60000, 4.0, r2, 2, d2, 2), 0);
	assert_int_equal(store_sender_hour_get(st, "taro@s.test", t / HOUR, &h[0]), 0);
	assert_int_equal(h[0].msgs, 2);
	assert_int_equal(h[0].rcpts, 5);
	assert_int_equal(h[0].new_rcpts, 3);
	assert_int_equal(h[0].domains, 3);
	assert_true(h[0].score_sum > 5.4 && h[0].score_sum < 5.6);
	assert_true(h[0].score_max > 3.9 && h[0].score_max < 4.1);
	assert_int_equal(store_sender_knows(st, "taro@s.test", "B@Y.example"), 0);
	assert_int_equal(store_sender_knows(st, "taro@s.test", "c@z.example"), 1);
	/* another hour, then the range and the pruning */
	assert_int_equal(store_sender_note(st, "taro@s.test", t + 5 * HOUR, 0, r2, 1, d2, 1), 0);
	assert_int_equal(store_sender_hours(st, "taro@s.test", 0, t / HOUR + 100, h, 4), 2);
	assert_int_equal(store_sender_hours(st, "taro@s.test", 0, t / HOUR + 5, h, 4), 1);
	assert_int_equal(store_sender_hour_get(st, "taro@s.test", 7, &h[0]), 1);
	assert_int_equal(store_sender_prune(st, t / HOUR + 1), 1);
	assert_int_equal(store_sender_hours(st, "taro@s.test", 0, t / HOUR + 100, h, 4), 1);
	assert_int_equal(h[0].hour, t / HOUR + 5);

	/* suspensions: once */
	assert_int_equal(store_suspend_get(st, "taro@s.test", &sp), 1);
	assert_int_equal(store_suspend_set(st, "Taro@s.test", "burst", 7), 0);
	assert_int_equal(store_suspend_set(st, "taro@s.test", "again", 8), 1);
	assert_int_equal(store_suspend_get(st, "TARO@s.test", &sp), 0);
	assert_string_equal(sp.reason, "burst");
	assert_int_equal(sp.incident_id, 7);
	assert_int_equal(store_suspend_clear(st, "taro@s.test"), 0);
	assert_int_equal(store_suspend_clear(st, "taro@s.test"), 1);

	/* signatures */
	assert_int_equal(store_signature_get(st, "taro@s.test", fp, &items), 1);
	assert_int_equal(store_signature_put(st, "taro@s.test", "ab12", "tel:0312345678", t), 0);
	assert_int_equal(store_signature_get(st, "taro@s.test", fp, &items), 0);
	assert_string_equal(fp, "ab12");
	assert_string_equal(items, "tel:0312345678");
	free(items);
	store_close(st);
	free(db);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the replay ---- */

struct replay {
	struct config *cfg;
	struct pipeline *pl;
	struct account_guard *ag;
	char dir[64];
	int seq;
	int acct_findings;		/* ACCT_* other than signature, suspended */
	int suspended;			/* ACCT_SUSPENDED seen */
	int held_admin;
};

static const char *const contacts[] = {
	"tanaka@client-a.example", "suzuki@client-a.example", "sato@client-b.example",
	"ito@client-c.example", "kato@client-d.example", "info@supplier.example",
	"sales@supplier.example", "nakamura@partner.example",
};

static const char ordinary[] =
    "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0900\r\n"
    "Message-ID: <%d@corp.example>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "いつもお世話になっております。\r\n資料を添付いたしました。ご確認ください。\r\n\r\n"
    "-- \r\n%s\r\nTEL 03-1234-%04d\r\nhttps://corp.example/\r\n";

static const char phish[] =
    "From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: Mon, 23 Nov 2026 10:00:00 +0900\r\n"
    "Message-ID: <%d@corp.example>\r\nMIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n\r\n"
    "Your account has been suspended. Verify your password within 24 hours or your"
    " mailbox will be deleted: http://203.0.113.50/login/verify\r\n"
    "-- \r\n%s\r\nTEL 03-1234-%04d\r\nhttps://corp.example/\r\n";

/* Send one message through the pipeline as login at t; the verdict's action
 * (and hold kind into kind). */
static int
send_mail(struct replay *rp, const char *login, int64_t t, const char *const *rcpts,
    size_t n, int phishy, char *kind, size_t kindlen)
{
	struct envelope *env = envelope_new();
	struct scan_result res;
	struct verdict v;
	char *mail;
	int action, ext = (int)(strlen(login) % 10000);

	snprintf(env->id, sizeof(env->id), "r%06d", ++rp->seq);
	env->listener = xstrdup("outbound");
	env->client_addr = xstrdup("192.0.2.200");	/* not trusted: auth_user counts */
	env->helo = xstrdup("pc");
	env->auth_user = xstrdup(login);
	env->mail_from = xstrdup(login);
	env->received_ms = t;
	for (size_t i = 0; i < n; i++)
		envelope_add_rcpt(env, rcpts[i], NULL, 0);
	mail = xasprintf(phishy ? phish : ordinary, login, rcpts[0],
	    phishy ? "Mailbox notice" : "資料送付の件", rp->seq, login, ext);
	assert_int_equal(pipeline_run_mem(rp->pl, env, mail, strlen(mail), &v, &res), 0);
	for (size_t i = 0; i < res.nsyms; i++) {
		const char *s = res.syms[i].name;
		if (strncmp(s, "ACCT_", 5) != 0)
			continue;
		if (strcmp(s, "ACCT_SUSPENDED") == 0)
			rp->suspended++;
		else if (strcmp(s, "ACCT_SIGNATURE_CHANGED") != 0) {
			rp->acct_findings++;
			if (!phishy)
				fprintf(stderr, "# %s %s: %s\n", login, s, res.syms[i].reason);
		}
	}
	action = (int)v.action;
	if (kind)
		util_strlcpy(kind, v.hold_kind, kindlen);
	if (v.action == ACTION_HOLD && strcmp(v.hold_kind, "admin") == 0)
		rp->held_admin++;
	scan_result_clear(&res);
	verdict_clear(&v);
	envelope_free(env);
	free(mail);
	return action;
}

static void
login_ok(struct replay *rp, const char *login, const char *ip, int64_t t, int typos)
{
	struct login_attempt a = { .login = login, .ip = ip, .protocol = "imap",
	    .source = "dovecot", .now_ms = t };
	char msg[128];

	for (int i = 0; i < typos; i++) {
		char hash[16];
		snprintf(hash, sizeof(hash), "typo%d", i);
		a.pwhash = hash;
		a.success = 0;
		assert_true(account_guard_allow(rp->ag, &a, 0, msg, sizeof(msg)) >= 0);
		account_guard_report(rp->ag, &a);
	}
	a.pwhash = "right";
	a.success = 1;
	assert_true(account_guard_allow(rp->ag, &a, 0, msg, sizeof(msg)) >= 0);
	assert_true(account_guard_allow(rp->ag, &a, 1, msg, sizeof(msg)) >= 0);
	account_guard_report(rp->ag, &a);
}

/* One ordinary working day from day0 (midnight of the simulated day). */
static void
working_day(struct replay *rp, int64_t day0, int monday)
{
	static const char *const news_list_domains[] = { "a", "b", "c", "d", "e", "f",
	    "g", "h", "i", "j", "k", "l" };
	char *list[48];
	size_t nl = 0;

	/* logins: taro with a typo, hanako to Osaka by train and the hotel's
	 * network, jiro's new phone on Thursdays */
	login_ok(rp, "taro@corp.example", "192.0.2.10", day0 + 9 * HOUR - 600000,
	    monday ? 2 : 0);
	login_ok(rp, "hanako@corp.example", "192.0.2.20", day0 + 8 * HOUR, 0);
	if (!monday) {
		login_ok(rp, "hanako@corp.example", "198.51.100.20", day0 + 12 * HOUR, 1);
		login_ok(rp, "hanako@corp.example", "198.51.100.77", day0 + 21 * HOUR, 0);
	}
	login_ok(rp, "jiro@corp.example", (day0 / DAY) % 7 == 3 ? "192.0.2.99" : "192.0.2.30",
	    day0 + 9 * HOUR, 0);
	login_ok(rp, "news@corp.example", "192.0.2.40", day0 + 9 * HOUR, 0);

	for (int h = 9; h < 18; h++) {
		int64_t t = day0 + h * HOUR + 5 * 60000;
		const char *one[2];

		one[0] = contacts[(h + (int)(day0 / DAY)) % 8];
		one[1] = contacts[(h * 3) % 8];
		(void)send_mail(rp, "taro@corp.example", t, one, 2, 0, NULL, 0);
		(void)send_mail(rp, "taro@corp.example", t + 20 * 60000, one, 1, 0, NULL, 0);
		one[0] = contacts[(h + 2) % 8];
		(void)send_mail(rp, "hanako@corp.example", t + 10 * 60000, one, 1, 0, NULL, 0);
		one[0] = "yamada@corp.example";		/* inside */
		one[1] = contacts[h % 8];
		(void)send_mail(rp, "jiro@corp.example", t + 30 * 60000, one, 2, 0, NULL, 0);
		one[0] = contacts[(h + 5) % 8];
		(void)send_mail(rp, "news@corp.example", t + 40 * 60000, one, 1, 0, NULL, 0);
	}
	if (!monday)
		return;
	/* the weekly newsletter: the same 48 subscribers every week */
	for (size_t i = 0; i < 48; i++)
		list[nl++] = xasprintf("reader%zu@%s.customers.example", i,
		    news_list_domains[i % 12]);
	(void)send_mail(rp, "news@corp.example", day0 + 10 * HOUR + 50 * 60000,
	    (const char *const *)list, nl, 0, NULL, 0);
	for (size_t i = 0; i < nl; i++)
		free(list[i]);
}

static int
count_incident(const struct store_incident *inc, void *arg)
{
	(void)inc;
	(*(int *)arg)++;
	return 0;
}

struct alert_count {
	int takeover, other;
	char other_kind[300];
};

static int
count_alert(const struct store_alert *a, void *arg)
{
	struct alert_count *c = arg;

	if (strcmp(a->kind, "outbound_takeover") == 0)
		c->takeover++;
	else {
		c->other++;
		snprintf(c->other_kind, sizeof(c->other_kind), "%s %s", a->kind, a->login);
	}
	return 0;
}

static int
count_lock(const struct store_lock *l, void *arg)
{
	(void)l;
	(*(int *)arg)++;
	return 0;
}

static struct store *
open_db(struct replay *rp)
{
	char err[256], *db = xasprintf("%s/sekisho.db", rp->dir);
	struct store *st = store_open(db, err, sizeof(err));

	free(db);
	assert_non_null(st);
	return st;
}

/* A fresh pipeline: the old one's history writer flushes as it ends. */
static void
reopen_pipeline(struct replay *rp)
{
	char err[256];

	if (rp->pl)
		pipeline_free(rp->pl);
	rp->pl = pipeline_new(rp->cfg, outbound_pipeline_ops(), err, sizeof(err));
	if (rp->pl == NULL)
		fail_msg("pipeline_new: %s", err);
}

static void
test_replay(void **state)
{
	const char *src = getenv("SEKISHO_SRC");
	struct replay rp;
	struct store *st;
	struct alert_count ac = { 0 };
	char err[256], cmd[512], kind[16];
	int64_t start, t;
	int n = 0, first_held = -1, i;
	char *rcpts[5];

	(void)state;
	if (src == NULL || system("perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null") != 0)
		skip();		/* needs libmaxmind-db-writer-perl */
	memset(&rp, 0, sizeof(rp));
	util_strlcpy(rp.dir, "/tmp/test-tko-replay-XXXXXX", sizeof(rp.dir));
	assert_non_null(mkdtemp(rp.dir));
	snprintf(cmd, sizeof(cmd), "perl '%s/tests/data/make_geo_mmdb.pl' '%s/geo.mmdb'", src,
	    rp.dir);
	assert_int_equal(system(cmd), 0);
	rp.cfg = config_new();
	snprintf(cmd, sizeof(cmd), "%s/rules", src);
	assert_int_equal(config_set(rp.cfg, "rules_dir", cmd, err, sizeof(err)), 0);
	assert_int_equal(config_set(rp.cfg, "state_dir", rp.dir, err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "%s/geo.mmdb", rp.dir);
	assert_int_equal(config_set(rp.cfg, "geoip_db", cmd, err, sizeof(err)), 0);
	assert_int_equal(config_set(rp.cfg, "network_checks", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(rp.cfg, "bayes_enable", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(rp.cfg, "attach_enable", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(rp.cfg, "local_domains", "corp.example", err,
	    sizeof(err)), 0);
	rp.ag = account_guard_new(rp.cfg, err, sizeof(err));
	if (rp.ag == NULL)
		fail_msg("account_guard_new: %s", err);

	/* two weeks of ordinary work, ending yesterday; a Monday first */
	start = (util_now_ms() / DAY - 15) * DAY;
	for (int d = 0; d < 14; d++) {
		if (d % 7 >= 5)
			continue;		/* the weekend */
		reopen_pipeline(&rp);		/* yesterday's history is on disk */
		working_day(&rp, start + d * DAY, d % 7 == 0);
	}
	assert_int_equal(rp.acct_findings, 0);
	assert_int_equal(rp.suspended, 0);
	assert_int_equal(rp.held_admin, 0);
	st = open_db(&rp);
	assert_int_equal(store_lock_foreach(st, count_lock, &n), 0);
	assert_int_equal(n, 0);
	n = 0;
	assert_int_equal(store_incident_foreach(st, 0, count_incident, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(store_alert_foreach(st, 0, 0, count_alert, &ac), 0);
	if (ac.other != 0 || ac.takeover != 0)
		fail_msg("benign weeks raised an alert: %s", ac.other_kind);
	store_close(st);

	/* the takeover: a login from Paris at night, then phishing to many
	 * new recipients */
	reopen_pipeline(&rp);
	t = start + 14 * DAY + 21 * HOUR;
	login_ok(&rp, "taro@corp.example", "100.64.3.3", t, 0);
	for (i = 0; i < 30; i++) {
		int a;
		for (int k = 0; k < 5; k++)
			rcpts[k] = xasprintf("victim%d.%d@target%d.example", i, k, (i * 5 + k) % 40);
		a = send_mail(&rp, "taro@corp.example", t + 60000 + i * 20000,
		    (const char *const *)rcpts, 5, 1, kind, sizeof(kind));
		for (int k = 0; k < 5; k++)
			free(rcpts[k]);
		if (first_held < 0 && a == ACTION_HOLD && strcmp(kind, "admin") == 0)
			first_held = i;
		if (first_held >= 0 && i > first_held) {
			assert_int_equal(a, ACTION_HOLD);
			assert_string_equal(kind, "admin");
		}
	}
	fprintf(stderr, "# suspended at message %d of the burst\n", first_held + 1);
	assert_true(first_held >= 0 && first_held < 15);
	/* even an ordinary message of taro now waits; hanako's does not */
	rcpts[0] = xstrdup(contacts[0]);
	assert_int_equal(send_mail(&rp, "taro@corp.example", t + HOUR, (const char *const *)rcpts,
	    1, 0, kind, sizeof(kind)), ACTION_HOLD);
	assert_string_equal(kind, "admin");
	assert_int_not_equal(send_mail(&rp, "hanako@corp.example", t + HOUR,
	    (const char *const *)rcpts, 1, 0, kind, sizeof(kind)), ACTION_HOLD);

	st = open_db(&rp);
	n = 0;
	assert_int_equal(store_incident_foreach(st, 0, count_incident, &n), 0);
	assert_int_equal(n, 1);
	memset(&ac, 0, sizeof(ac));
	assert_int_equal(store_alert_foreach(st, 0, 0, count_alert, &ac), 0);
	assert_int_equal(ac.takeover, 1);
	assert_true(ac.other >= 1);		/* the guard's new country */
	{
		struct store_suspension sp;
		struct store_incident inc;
		assert_int_equal(store_suspend_get(st, "taro@corp.example", &sp), 0);
		assert_int_equal(store_incident_find_open(st, "taro@corp.example", &inc), 0);
		assert_int_equal(sp.incident_id, inc.id);
		assert_non_null(strstr(sp.reason, "ACCT_AFTER_RISKY_LOGIN"));
		assert_int_equal(store_suspend_get(st, "hanako@corp.example", &sp), 1);
	}
	/* the admin lifts it: taro's ordinary mail goes again */
	assert_int_equal(store_suspend_clear(st, "taro@corp.example"), 0);
	store_close(st);
	assert_int_not_equal(send_mail(&rp, "taro@corp.example", t + HOUR + 60000,
	    (const char *const *)rcpts, 1, 0, kind, sizeof(kind)), ACTION_HOLD);

	free(rcpts[0]);
	pipeline_free(rp.pl);
	account_guard_free(rp.ag);
	config_free(rp.cfg);
	nftw(rp.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A changed signature block: found once, then the new one is the norm. */
static void
test_signature_changed(void **state)
{
	static const char fmt[] =
	    "From: taro@corp.example\r\nTo: a@client.example\r\nSubject: s\r\n"
	    "Date: Mon, 23 Nov 2026 10:00:00 +0900\r\nMessage-ID: <%d@corp.example>\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n\r\nbody\r\n"
	    "━━━━━━━━━━━━━━━━\r\n山田太郎\r\nTEL 03-1234-5678\r\n%s\r\n━━━━━━━━━━━━━━━━\r\n";
	static const struct {
		const char *line;
		int changed;
	} seq[] = {
		{ "振込先 みずほ銀行 普通 1234567", 0 },	/* the first one: kept */
		{ "振込先 みずほ銀行 普通 1234567", 0 },
		{ "振込先 みずほ銀行 普通 7654321", 1 },	/* a new account number */
		{ "振込先 みずほ銀行 普通 7654321", 0 },
		{ "", 0 },					/* an item dropped */
	};
	struct config *cfg = config_new();
	struct pipeline *pl;
	char dir[] = "/tmp/test-tko-sig-XXXXXX", err[256];

	(void)state;
	assert_non_null(mkdtemp(dir));
	tu_offline(cfg, dir);
	assert_int_equal(config_set(cfg, "local_domains", "corp.example", err, sizeof(err)), 0);
	pl = pipeline_new(cfg, outbound_pipeline_ops(), err, sizeof(err));
	assert_non_null(pl);
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		struct envelope *env = envelope_new();
		struct scan_result res;
		struct verdict v;
		char *mail = xasprintf(fmt, (int)i, seq[i].line);

		snprintf(env->id, sizeof(env->id), "sig%zu", i);
		env->listener = xstrdup("outbound");
		env->client_addr = xstrdup("127.0.0.1");
		env->helo = xstrdup("pc");
		env->mail_from = xstrdup("taro@corp.example");	/* trusted network */
		envelope_add_rcpt(env, "a@client.example", NULL, 0);
		assert_int_equal(pipeline_run_mem(pl, env, mail, strlen(mail), &v, &res), 0);
		if (result_has(&res, "ACCT_SIGNATURE_CHANGED") != seq[i].changed)
			fail_msg("message %zu: ACCT_SIGNATURE_CHANGED %s", i,
			    seq[i].changed ? "missing" : "unexpected");
		scan_result_clear(&res);
		verdict_clear(&v);
		envelope_free(env);
		free(mail);
	}
	pipeline_free(pl);
	config_free(cfg);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Two nodes on one store (two pipelines, two connections), the same
 * account sending a phishing burst through both: one suspension, one
 * alert, one incident; both nodes hold the rest.
 */
static void
test_two_nodes_once(void **state)
{
	struct replay a, b;
	struct store *st;
	struct store_alert al;
	struct alert_count ac = { 0 };
	char err[256], cmd[512], kind[16], *rcpts[6];
	const char *src = getenv("SEKISHO_SRC");
	char *known[] = { "old@client.example" };
	char *kdom[] = { "client.example" };
	int64_t now = util_now_ms(), h = now / HOUR;
	int n = 0, held = 0;

	(void)state;
	memset(&a, 0, sizeof(a));
	util_strlcpy(a.dir, "/tmp/test-tko-nodes-XXXXXX", sizeof(a.dir));
	assert_non_null(mkdtemp(a.dir));
	a.cfg = config_new();
	snprintf(cmd, sizeof(cmd), "%s/rules", src ? src : ".");
	assert_int_equal(config_set(a.cfg, "rules_dir", cmd, err, sizeof(err)), 0);
	assert_int_equal(config_set(a.cfg, "state_dir", a.dir, err, sizeof(err)), 0);
	assert_int_equal(config_set(a.cfg, "network_checks", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(a.cfg, "bayes_enable", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(a.cfg, "attach_enable", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(a.cfg, "local_domains", "corp.example", err, sizeof(err)), 0);
	/* a baseline of twelve quiet hours and a risky login */
	st = open_db(&a);
	for (int i = 2; i < 14; i++)
		assert_int_equal(store_sender_note(st, "taro@corp.example", (h - i) * HOUR, 0,
		    known, 1, kdom, 1), 0);
	memset(&al, 0, sizeof(al));
	al.time_ms = now - HOUR;
	util_strlcpy(al.kind, "new_country", sizeof(al.kind));
	util_strlcpy(al.login, "taro@corp.example", sizeof(al.login));
	util_strlcpy(al.detail, "first login from FR", sizeof(al.detail));
	assert_int_equal(store_alert_add(st, &al, NULL), 0);
	store_close(st);
	b = a;
	reopen_pipeline(&a);
	b.pl = NULL;
	reopen_pipeline(&b);
	for (int i = 0; i < 12; i++) {
		struct replay *node = i % 2 ? &b : &a;
		for (int k = 0; k < 6; k++)
			rcpts[k] = xasprintf("n%d.%d@dom%d-%d.example", i, k, i, k);
		if (send_mail(node, "taro@corp.example", now + i * 1000,
		    (const char *const *)rcpts, 6, 1, kind, sizeof(kind)) == ACTION_HOLD &&
		    strcmp(kind, "admin") == 0)
			held++;
		for (int k = 0; k < 6; k++)
			free(rcpts[k]);
	}
	/* both nodes judged, both hold from the suspension on */
	assert_true(a.suspended > 0 && b.suspended > 0);
	assert_true(held >= 8);
	st = open_db(&a);
	assert_int_equal(store_incident_foreach(st, 0, count_incident, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_alert_foreach(st, 0, 0, count_alert, &ac), 0);
	assert_int_equal(ac.takeover, 1);
	store_close(st);
	pipeline_free(a.pl);
	pipeline_free(b.pl);
	config_free(a.cfg);
	nftw(a.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signature_items),
		cmocka_unit_test(test_store_sender),
		cmocka_unit_test(test_signature_changed),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_two_nodes_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
