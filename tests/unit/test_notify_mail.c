/*
 * test_notify_mail.c - the mails of round 2's notifications, on a real
 * store and spool in a temporary directory:
 *
 *   - alert mails: admin and user, Japanese in ISO-2022-JP (decoded back
 *     with GMime) and English, the user's language from the directory;
 *     nobody to tell, no mail
 *   - the throttle: one mail per (kind, login) per alert_mail_interval,
 *     in the store (a second connection sees the claim)
 *   - the mailer thread: account_alert_notify() returns at once and the
 *     mails arrive through the inject function
 *   - the quarantine digest: what it lists, the per-recipient claim (no
 *     second digest the same day, only new mail in the next), its links
 *   - the digest links: release, not spam (learns ham), single use, wrong
 *     action, expiry, a message no longer quarantined
 *   - the CLI's way into the queue (notify_spool_inject): file and QUEUED
 *     row, due now
 *   - incident warnings: the Bcc field removed, the language by domain
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gmime/gmime.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account/account_alert.h"
#include "account/incident_warn.h"
#include "detect/learn.h"
#include "notify/notify_send.h"
#include "outbound/outbound.h"
#include "queue/queue_digest.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "store/store_notify.h"
#include "util/config.h"
#include "util/util.h"
#include "testutil.h"

/* What the inject function saw. */
#define CAP_MAX 16
struct capture {
	pthread_mutex_t mu;
	int n;
	char *to[CAP_MAX], *listener[CAP_MAX], *msg[CAP_MAX];
};
static struct capture cap = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int
capture_inject(void *arg, struct envelope *env, const char *msg, size_t len)
{
	char to[512] = "";

	(void)arg;
	for (size_t i = 0; i < env->nrcpt; i++) {
		if (i)
			strcat(to, " ");
		strncat(to, env->rcpt[i].addr, sizeof(to) - strlen(to) - 2);
	}
	pthread_mutex_lock(&cap.mu);
	if (cap.n < CAP_MAX) {
		cap.to[cap.n] = xstrdup(to);
		cap.listener[cap.n] = xstrdup(env->listener);
		cap.msg[cap.n] = xstrndup(msg, len);
		cap.n++;
	}
	pthread_mutex_unlock(&cap.mu);
	envelope_free(env);
	return 0;
}

static void
cap_reset(void)
{
	for (int i = 0; i < cap.n; i++) {
		free(cap.to[i]);
		free(cap.listener[i]);
		free(cap.msg[i]);
	}
	cap.n = 0;
}

static int
setup(void **state)
{
	struct tu_state *fx = xcalloc(1, sizeof(*fx));

	if (tu_state_open(fx, "notify-test") < 0)
		return -1;
	tu_set(fx->cfg, "alert_admins", "sec@sekisho.test");
	cap_reset();
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct tu_state *fx = *state;

	cap_reset();
	queue_digest_setup(NULL);
	tu_state_close(fx);
	free(fx);
	return 0;
}

struct parsed {
	char *subject, *text, *charset, *kind;
};

static void
parse(const char *raw, struct parsed *out)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, strlen(raw));
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
	GMimeObject *body;
	const char *h;
	char *t;

	assert_non_null(m);
	out->subject = xstrdup(g_mime_message_get_subject(m));
	body = g_mime_message_get_mime_part(m);
	assert_true(GMIME_IS_TEXT_PART(body));
	t = g_mime_text_part_get_text(GMIME_TEXT_PART(body));
	out->text = xstrdup(t);
	g_free(t);
	out->charset = xstrdup(g_mime_object_get_content_type_parameter(body, "charset"));
	h = g_mime_object_get_header(GMIME_OBJECT(m), "X-Sekisho-Notice");
	out->kind = xstrdup(h ? h : "");
	g_object_unref(m);
	g_object_unref(parser);
	g_object_unref(stream);
}

static void
parsed_clear(struct parsed *p)
{
	free(p->subject);
	free(p->text);
	free(p->charset);
	free(p->kind);
}

static int
find_to(const char *to)
{
	for (int i = 0; i < cap.n; i++)
		if (strcmp(cap.to[i], to) == 0)
			return i;
	fail_msg("no mail to %s", to);
	return -1;
}

static void
dir_import(struct tu_state *fx, const char *csv)
{
	char err[256];
	FILE *fp = fmemopen((void *)(uintptr_t)csv, strlen(csv), "r");

	assert_non_null(fp);
	if (outbound_dir_import(fx->st, fp, 1, err, sizeof(err)) < 0)
		fail_msg("import: %s", err);
	fclose(fp);
}

static struct store_alert
mk_alert(const char *kind, const char *login, const char *ip)
{
	struct store_alert a;

	memset(&a, 0, sizeof(a));
	a.id = 42;
	a.time_ms = util_now_ms();
	util_strlcpy(a.kind, kind, sizeof(a.kind));
	util_strlcpy(a.login, login, sizeof(a.login));
	util_strlcpy(a.ip, ip, sizeof(a.ip));
	util_strlcpy(a.detail, "12 failures in 10m; account locked", sizeof(a.detail));
	return a;
}

/* ---- alert mails ---- */

static void
test_alert_ja(void **state)
{
	struct tu_state *fx = *state;
	struct store_alert a = mk_alert("brute_force", "taro", "203.0.113.9");
	struct parsed p;
	int i;

	assert_int_equal(account_alert_mail(fx->st, fx->cfg, &a, capture_inject, NULL), 2);
	assert_int_equal(cap.n, 2);
	/* the admin, in notify_language (ja), ISO-2022-JP */
	i = find_to("sec@sekisho.test");
	assert_string_equal(cap.listener[i], "inbound");
	assert_non_null(strstr(cap.msg[i], "charset=ISO-2022-JP"));
	assert_non_null(strstr(cap.msg[i], "=?ISO-2022-JP?B?"));
	for (const char *c = cap.msg[i]; *c; c++)
		assert_true((unsigned char)*c < 0x80);	/* 7 bit on the wire */
	parse(cap.msg[i], &p);
	assert_string_equal(p.kind, "alert-admin");
	assert_non_null(strstr(p.subject, "セキュリティ警告"));
	assert_non_null(strstr(p.subject, "taro"));
	assert_non_null(strstr(p.text, "パスワードの総当たり攻撃"));
	assert_non_null(strstr(p.text, "203.0.113.9"));
	assert_non_null(strstr(p.text, "12 failures in 10m; account locked"));
	parsed_clear(&p);
	/* the user, at login@first local domain */
	i = find_to("taro@sekisho.test");
	parse(cap.msg[i], &p);
	assert_string_equal(p.kind, "alert-user");
	assert_non_null(strstr(p.subject, "不審なアクセス"));
	assert_non_null(strstr(p.text, "taro@sekisho.test 様"));
	parsed_clear(&p);
}

static void
test_alert_en_from_directory(void **state)
{
	struct tu_state *fx = *state;
	struct store_alert a = mk_alert("impossible_travel", "emma@sekisho.test", "198.51.100.7");
	struct parsed p;
	int i;

	dir_import(fx, "type,address,name,language\nuser,emma@sekisho.test,Emma,en\n");
	tu_set(fx->cfg, "notify_language", "en");
	tu_set(fx->cfg, "alert_admins", "sec@sekisho.test,soc@sekisho.test");
	assert_int_equal(account_alert_mail(fx->st, fx->cfg, &a, capture_inject, NULL), 2);
	i = find_to("sec@sekisho.test soc@sekisho.test");
	parse(cap.msg[i], &p);
	assert_string_equal(p.charset, "UTF-8");
	assert_non_null(strstr(p.subject, "[Security alert] impossible travel"));
	parsed_clear(&p);
	i = find_to("emma@sekisho.test");
	parse(cap.msg[i], &p);
	assert_non_null(strstr(p.subject, "Suspicious access to your mail account"));
	assert_non_null(strstr(p.text, "Dear emma@sekisho.test"));
	assert_non_null(strstr(p.text, "198.51.100.7"));
	parsed_clear(&p);
}

/* An alert about an address (spraying) goes to the admins only; with no
 * admins and no login there is nobody to tell. */
static void
test_alert_ip_only(void **state)
{
	struct tu_state *fx = *state;
	struct store_alert a = mk_alert("password_spray", "", "192.0.2.0/24");

	assert_int_equal(account_alert_mail(fx->st, fx->cfg, &a, capture_inject, NULL), 1);
	assert_string_equal(cap.to[0], "sec@sekisho.test");
	assert_non_null(strstr(cap.msg[0], "X-Sekisho-Notice: alert-admin"));
	tu_set(fx->cfg, "alert_admins", "");
	a = mk_alert("credential_stuffing", "", "192.0.2.1");
	assert_int_equal(account_alert_mail(fx->st, fx->cfg, &a, capture_inject, NULL), 0);
	assert_int_equal(cap.n, 1);
	/* a login without a domain and no local_domains: no address to mail */
	tu_set(fx->cfg, "local_domains", "");
	a = mk_alert("brute_force", "shiro", "192.0.2.1");
	assert_int_equal(account_alert_mail(fx->st, fx->cfg, &a, capture_inject, NULL), 0);
	assert_int_equal(cap.n, 1);
}

static void
test_throttle(void **state)
{
	struct tu_state *fx = *state;
	struct store_alert a = mk_alert("brute_force", "taro", "203.0.113.9");
	struct store *st2;
	char err[256], *db;

	assert_int_equal(account_alert_mail(fx->st, fx->cfg, &a, capture_inject, NULL), 2);
	/* same kind, same login: nothing within alert_mail_interval (1h) */
	assert_int_equal(account_alert_mail(fx->st, fx->cfg, &a, capture_inject, NULL), 0);
	assert_int_equal(cap.n, 2);
	/* another kind, or another login: mailed */
	a = mk_alert("new_country", "taro", "203.0.113.9");
	assert_int_equal(account_alert_mail(fx->st, fx->cfg, &a, capture_inject, NULL), 2);
	a = mk_alert("brute_force", "hanako", "203.0.113.9");
	assert_int_equal(account_alert_mail(fx->st, fx->cfg, &a, capture_inject, NULL), 2);
	assert_int_equal(cap.n, 6);

	/* the claim itself, with explicit times, seen by a second connection
	 * (another node) */
	db = config_state_path(fx->cfg, "sekisho.db");
	st2 = store_open(db, err, sizeof(err));
	free(db);
	assert_non_null(st2);
	assert_int_equal(store_alert_mail_claim(fx->st, "lock", "jiro", 1000000, 60000), 1);
	assert_int_equal(store_alert_mail_claim(st2, "lock", "jiro", 1000001, 60000), 0);
	assert_int_equal(store_alert_mail_claim(st2, "lock", "jiro", 1059999, 60000), 0);
	assert_int_equal(store_alert_mail_claim(st2, "lock", "jiro", 1060000, 60000), 1);
	assert_int_equal(store_alert_mail_claim(fx->st, "lock", "jiro", 1060001, 60000), 0);

	/* the digest claim, from two nodes: one wins per due time */
	{
		int64_t since = -1, sent = 0;
		assert_int_equal(store_digest_last(st2, "taro@sekisho.test", &sent), 1);
		assert_int_equal(store_digest_claim(fx->st, "taro@sekisho.test", 5000, 6000,
		    &since), 1);
		assert_int_equal(since, 0);
		assert_int_equal(store_digest_claim(st2, "taro@sekisho.test", 5000, 6001, &since),
		    0);
		assert_int_equal(store_digest_last(st2, "taro@sekisho.test", &sent), 0);
		assert_int_equal(sent, 6000);
		/* the next day's: since is where the last one ended */
		assert_int_equal(store_digest_claim(st2, "taro@sekisho.test", 9000, 9500, &since),
		    1);
		assert_int_equal(since, 6000);
	}
	store_close(st2);
}

/* The mailer thread: notify returns at once, the mails come through the
 * inject function from the mailer's own store connection. */
static void
test_mailer_thread(void **state)
{
	struct tu_state *fx = *state;
	struct store_alert a = mk_alert("dictionary_attack", "saburo", "203.0.113.77");
	char err[256];
	int n = 0;

	/* no mailer: only a log line */
	account_alert_notify(fx->cfg, &a);
	assert_int_equal(cap.n, 0);
	assert_int_equal(account_alert_mailer_start(fx->cfg, capture_inject, NULL, err,
	    sizeof(err)), 0);
	account_alert_notify(fx->cfg, &a);
	account_alert_notify(fx->cfg, &a);	/* throttled */
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&cap.mu);
		n = cap.n;
		pthread_mutex_unlock(&cap.mu);
		if (n >= 2)
			break;
		usleep(10000);
	}
	usleep(100000);
	account_alert_mailer_stop();
	assert_int_equal(cap.n, 2);
	(void)find_to("saburo@sekisho.test");
}

/* ---- quarantine digest ---- */

/* A quarantined inbound message to rcpt, received at received_ms. */
static void
quarantined_on(struct tu_state *fx, const char *listener, char id[QUEUE_ID_SIZE],
    const char *from, const char *rcpt, const char *subject, int64_t received_ms);

static void
quarantined(struct tu_state *fx, char id[QUEUE_ID_SIZE], const char *from, const char *rcpt,
    const char *subject, int64_t received_ms)
{
	quarantined_on(fx, "inbound", id, from, rcpt, subject, received_ms);
}

static void
quarantined_on(struct tu_state *fx, const char *listener, char id[QUEUE_ID_SIZE],
    const char *from, const char *rcpt, const char *subject, int64_t received_ms)
{
	static const char body[] = "From: <x@example.net>\r\nSubject: s\r\n\r\n"
	    "cheap pills cheap pills buy now\r\n";
	struct envelope *env = envelope_new();
	struct spool_file *sf;
	struct queue_info qi;

	spool_new_id(env->id);
	util_strlcpy(id, env->id, QUEUE_ID_SIZE);
	env->listener = xstrdup(listener);
	env->mail_from = xstrdup(from);
	env->received_ms = received_ms;
	envelope_add_rcpt(env, rcpt, NULL, 0);
	memset(&qi, 0, sizeof(qi));
	qi.state = MSG_QUARANTINED;
	qi.created_ms = received_ms;
	qi.action = xstrdup("quarantine");
	qi.subject = xstrdup(subject);
	qi.scan = xstrdup("{\"score\":12.5,\"symbols\":[]}");
	sf = spool_create(fx->sp, env->id);
	assert_non_null(sf);
	assert_int_equal(spool_write(sf, body, strlen(body)), 0);
	assert_int_equal(spool_commit(sf), 0);
	assert_int_equal(store_msg_insert(fx->st, env, &qi), 0);
	envelope_free(env);
	queue_info_clear(&qi);
}

static enum msg_state
state_of(struct tu_state *fx, const char *id)
{
	struct queue_info qi;
	enum msg_state s;

	memset(&qi, 0, sizeof(qi));
	assert_int_equal(store_msg_get(fx->st, id, NULL, &qi), 0);
	s = qi.state;
	queue_info_clear(&qi);
	return s;
}

/* The URL after "label" in text (malloc'ed). */
static char *
url_after(const char *text, const char *label)
{
	const char *p = strstr(text, label), *e;

	assert_non_null(p);
	p = strstr(p, "https://");
	assert_non_null(p);
	e = p + strcspn(p, " \r\n");
	return xstrndup(p, (size_t)(e - p));
}

static void
link_parts(const char *url, char *tok, char *action)
{
	const char *t = strstr(url, "/link/") + 6, *q = strstr(t, "?action=");

	assert_non_null(q);
	memcpy(tok, t, (size_t)(q - t));
	tok[q - t] = '\0';
	strcpy(action, q + 8);
}

static void
test_digest(void **state)
{
	struct tu_state *fx = *state;
	int64_t now = util_now_ms();
	char a[QUEUE_ID_SIZE], b[QUEUE_ID_SIZE], c[QUEUE_ID_SIZE], d[QUEUE_ID_SIZE];
	char tok[128], action[32];
	struct parsed p;
	char *url;
	int i;

	quarantined(fx, a, "spam@example.net", "Taro@sekisho.test", "激安セール\nBcc: x", now - 3000);
	quarantined(fx, b, "phish@example.org", "taro@sekisho.test", "Verify your account",
	    now - 2000);
	quarantined(fx, c, "spam@example.net", "hanako@sekisho.test", "Hello", now - 1000);
	quarantined(fx, d, "spam@example.net", "someone@example.com", "Not ours", now - 1000);
	quarantined_on(fx, "outbound", d, "jiro@sekisho.test", "taro@sekisho.test",
	    "Held outbound", now - 1000);
	assert_int_equal(queue_digest_run(fx->st, fx->cfg, now, 1, NULL, capture_inject,
	    NULL), 2);
	assert_int_equal(cap.n, 2);
	i = find_to("taro@sekisho.test");
	assert_string_equal(cap.listener[i], "inbound");
	assert_non_null(strstr(cap.msg[i], "charset=ISO-2022-JP"));
	parse(cap.msg[i], &p);
	assert_string_equal(p.kind, "digest");
	assert_non_null(strstr(p.subject, "2 通のメールを隔離しました"));
	assert_non_null(strstr(p.text, "激安セール Bcc: x"));	/* no line forged */
	assert_non_null(strstr(p.text, "Verify your account"));
	assert_non_null(strstr(p.text, "phish@example.org"));
	assert_non_null(strstr(p.text, "12.5"));
	assert_null(strstr(p.text, "Not ours"));
	assert_null(strstr(p.text, "Held outbound"));	/* not the recipient's to release */
	url = url_after(p.text, "Verify your account");
	assert_non_null(strstr(url, "https://gw.sekisho.test:8025/link/"));
	assert_non_null(strstr(url, "?action=qrelease"));
	link_parts(url, tok, action);
	free(url);
	/* the release link: once */
	assert_int_equal(state_of(fx, b), MSG_QUARANTINED);
	assert_int_equal(outbound_link_act(fx->st, tok, "notspam", NULL, NULL), 1);
	assert_int_equal(outbound_link_act(fx->st, tok, action, NULL, NULL), 0);
	assert_int_equal(state_of(fx, b), MSG_QUEUED);
	assert_int_equal(outbound_link_act(fx->st, tok, action, NULL, NULL), 1);
	parsed_clear(&p);
	(void)find_to("hanako@sekisho.test");

	/* the same day again: nothing (the claim); --now would send, but
	 * only what is new since the last digest */
	cap_reset();
	assert_int_equal(queue_digest_run(fx->st, fx->cfg, now + 10, 0, NULL, capture_inject,
	    NULL), 0);
	assert_int_equal(queue_digest_run(fx->st, fx->cfg, now + 20, 1, NULL, capture_inject,
	    NULL), 0);
	assert_int_equal(cap.n, 0);
	quarantined(fx, b, "late@example.net", "taro@sekisho.test", "Later one", now + 30);
	assert_int_equal(queue_digest_run(fx->st, fx->cfg, now + 40, 1, "TARO@sekisho.test",
	    capture_inject, NULL), 1);
	assert_int_equal(cap.n, 1);
	parse(cap.msg[0], &p);
	assert_non_null(strstr(p.subject, "1 通"));
	assert_non_null(strstr(p.text, "Later one"));
	assert_null(strstr(p.text, "激安セール"));
	parsed_clear(&p);
}

/* Not spam: learned as ham, then released; a link of a message that is
 * no longer quarantined does nothing; an expired one neither. */
static void
test_digest_links(void **state)
{
	struct tu_state *fx = *state;
	char a[QUEUE_ID_SIZE], b[QUEUE_ID_SIZE], tok[OUTBOUND_TOKEN_LEN + 1];
	char tok2[OUTBOUND_TOKEN_LEN + 1], tok3[OUTBOUND_TOKEN_LEN + 1];
	char hold[OUTBOUND_TOKEN_LEN + 1];
	int64_t now = util_now_ms();

	tu_set(fx->cfg, "bayes_table_bits", "16");
	queue_digest_setup(fx->cfg);
	quarantined(fx, a, "x@example.net", "taro@sekisho.test", "a", now);
	quarantined(fx, b, "x@example.net", "taro@sekisho.test", "b", now);
	assert_int_equal(outbound_token_new(fx->st, a, ACTION_NOTSPAM, "taro@sekisho.test",
	    now + 60000, tok), 0);
	assert_int_equal(outbound_token_new(fx->st, a, ACTION_QRELEASE, "taro@sekisho.test",
	    now + 60000, tok2), 0);
	assert_int_equal(outbound_token_new(fx->st, b, ACTION_QRELEASE, "taro@sekisho.test",
	    now - 1, tok3), 0);
	assert_int_equal(outbound_token_new(fx->st, b, "release", "taro@sekisho.test",
	    now + 60000, hold), 0);
	assert_int_equal(store_learned_count(fx->st, LEARN_MODEL, 0), 0);
	assert_int_equal(outbound_link_act(fx->st, tok, ACTION_NOTSPAM, NULL, NULL), 0);
	assert_int_equal(state_of(fx, a), MSG_QUEUED);
	assert_int_equal(store_learned_count(fx->st, LEARN_MODEL, 0), 1);
	/* the other link of the same message: spent, but nothing to release */
	assert_int_equal(outbound_link_act(fx->st, tok2, ACTION_QRELEASE, NULL, NULL), 1);
	/* not spam for a message no longer quarantined: nothing learned */
	assert_int_equal(outbound_token_new(fx->st, a, ACTION_NOTSPAM, "taro@sekisho.test",
	    now + 60000, tok2), 0);
	assert_int_equal(outbound_link_act(fx->st, tok2, ACTION_NOTSPAM, NULL, NULL), 1);
	assert_int_equal(store_learned_count(fx->st, LEARN_MODEL, 0), 1);
	/* expired */
	assert_int_equal(outbound_link_act(fx->st, tok3, ACTION_QRELEASE, NULL, NULL), 1);
	/* a hold link is no quarantine link (and there is no hold) */
	assert_int_equal(outbound_link_act(fx->st, hold, ACTION_QRELEASE, NULL, NULL), 1);
	assert_int_equal(outbound_link_act(fx->st, hold, "release", NULL, NULL), 1);
	assert_int_equal(state_of(fx, b), MSG_QUARANTINED);
	/* garbage */
	assert_int_equal(outbound_link_act(fx->st, "short", ACTION_QRELEASE, NULL, NULL), 1);
	/* expired tokens go; live ones stay */
	assert_int_equal(store_link_token_prune(fx->st, now), 1);
	assert_int_equal(store_link_token_prune(fx->st, now), 0);
	assert_int_equal(outbound_link_act(fx->st, hold, "release", NULL, NULL), 1);
}

static void
test_digest_time(void **state)
{
	time_t now = time(NULL);
	struct tm tm;
	int64_t due;

	(void)state;
	assert_int_equal(queue_digest_minutes("08:00"), 480);
	assert_int_equal(queue_digest_minutes("23:59"), 23 * 60 + 59);
	assert_int_equal(queue_digest_minutes("24:00"), -1);
	assert_int_equal(queue_digest_minutes("8"), -1);
	assert_int_equal(queue_digest_minutes("08:00x"), -1);
	assert_int_equal(queue_digest_minutes(""), -1);
	due = queue_digest_due(480, (int64_t)now * 1000);
	assert_true(due <= (int64_t)now * 1000);
	assert_true((int64_t)now * 1000 - due < 25LL * 3600 * 1000);
	{
		time_t t = (time_t)(due / 1000);
		localtime_r(&t, &tm);
		assert_int_equal(tm.tm_hour, 8);
		assert_int_equal(tm.tm_min, 0);
	}
}

/* The tick is off by default, and does nothing before the digest time. */
static void
test_digest_tick(void **state)
{
	struct tu_state *fx = *state;
	char a[QUEUE_ID_SIZE];
	int64_t now = util_now_ms();

	quarantined(fx, a, "x@example.net", "taro@sekisho.test", "a", now - 1000);
	assert_int_equal(queue_digest_tick(fx->st, fx->cfg, now, capture_inject, NULL), 0);
	assert_int_equal(cap.n, 0);
	tu_set(fx->cfg, "quarantine_digest", "yes");
	assert_int_equal(queue_digest_tick(fx->st, fx->cfg, now, capture_inject, NULL), 1);
	assert_int_equal(cap.n, 1);
	/* the next call, the same day: not even a store access */
	assert_int_equal(queue_digest_tick(fx->st, fx->cfg, now + 1000, capture_inject, NULL),
	    0);
	assert_int_equal(cap.n, 1);
}

/* The CLI's way into the queue: a spool file and a QUEUED row, due now. */
static void
test_spool_inject(void **state)
{
	struct tu_state *fx = *state;
	struct notify_spool_sink sink = { fx->st, fx->sp };
	struct envelope *env = notify_envelope(fx->cfg, "outbound", "a@example.com b@example.jp");
	struct envelope *got = NULL;
	struct queue_info qi;
	char id[QUEUE_ID_SIZE], *raw, *path;
	char (*due)[QUEUE_ID_SIZE] = xcalloc(8, QUEUE_ID_SIZE);
	size_t len;

	assert_int_equal(notify_spool_inject(&sink, env, "Subject: x\r\n\r\nhi\r\n", 17), 0);
	assert_int_equal(store_msg_due(fx->st, util_now_ms() + 1, due, 8), 1);
	util_strlcpy(id, due[0], sizeof(id));
	free(due);
	memset(&qi, 0, sizeof(qi));
	assert_int_equal(store_msg_get(fx->st, id, &got, &qi), 0);
	assert_int_equal(qi.state, MSG_QUEUED);
	assert_string_equal(got->listener, "outbound");
	assert_string_equal(got->mail_from, "");
	assert_int_equal(got->nrcpt, 2);
	assert_string_equal(got->rcpt[1].addr, "b@example.jp");
	path = spool_path(fx->sp, id);
	raw = util_read_file(path, 1 << 20, &len);
	free(path);
	assert_non_null(raw);
	assert_int_equal(len, 17);
	free(raw);
	envelope_free(got);
	queue_info_clear(&qi);
}

static void
test_incident_helpers(void **state)
{
	static const char msg[] = "From: <u@sekisho.test>\r\nTo: undisclosed-recipients:;\r\n"
	    "Bcc: <a@example.com>,\r\n <b@example.co.jp>\r\nSubject: x\r\n\r\nBcc: body stays\r\n";
	char *out = incident_warn_strip_bcc(msg);

	(void)state;
	assert_string_equal(out, "From: <u@sekisho.test>\r\nTo: undisclosed-recipients:;\r\n"
	    "Subject: x\r\n\r\nBcc: body stays\r\n");
	free(out);
	assert_string_equal(incident_warn_lang("a@example.co.jp"), "ja");
	assert_string_equal(incident_warn_lang("a@EXAMPLE.JP"), "ja");
	assert_string_equal(incident_warn_lang("a@example.com"), "en");
	assert_string_equal(incident_warn_lang("a@jp"), "en");
}

/* The preview: the real notice, decoded back (the subject's words each
 * on their own), in both languages. */
static void
test_incident_readable(void **state)
{
	struct tu_state *fx = *state;
	char *const rcpts[] = { "kenji@torihiki.co.jp" };
	char err[256], *msg, *text;

	msg = incident_notice(fx->cfg, "ja", "hanako@sekisho.test", 0, 1000, rcpts, 1, err,
	    sizeof(err));
	assert_non_null(msg);
	assert_non_null(strstr(msg, "=?ISO-2022-JP?B?"));
	text = incident_warn_readable(msg);
	assert_non_null(strstr(text, "Subject: 【重要】不審なメールにご注意ください(sekisho.test)\n\n"));
	assert_non_null(strstr(text, "hanako@sekisho.test のメールアカウント"));
	assert_null(strchr(text, '\r'));
	free(text);
	free(msg);
	msg = incident_notice(fx->cfg, "en", "hanako@sekisho.test", 0, 1000, rcpts, 1, err,
	    sizeof(err));
	assert_non_null(msg);
	text = incident_warn_readable(msg);
	assert_true(strncmp(text, "Subject: ", 9) == 0);
	assert_non_null(strstr(text, "hanako@sekisho.test"));
	free(text);
	free(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_alert_ja, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_en_from_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_ip_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_throttle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mailer_thread, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_digest_links, setup, teardown),
		cmocka_unit_test(test_digest_time),
		cmocka_unit_test_setup_teardown(test_digest_tick, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spool_inject, setup, teardown),
		cmocka_unit_test(test_incident_helpers),
		cmocka_unit_test_setup_teardown(test_incident_readable, setup, teardown),
	};

	g_mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
