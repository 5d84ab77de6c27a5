/*
 * account_alert.c - store, log and notify an account alert (account_alert.h).
 *
 * The hand-off: account_alert_notify() runs on the thread that decided (an
 * auth policy request, the Postfix policy server, the log watcher), with
 * the guard's mutex held, so it copies the alert into a ring of
 * ALERT_RING entries under its own mutex and signals; the mailer thread
 * takes alerts off the ring one by one and calls account_alert_mail() on
 * its own store connection.  Mail goes through the queue (queue_inject in
 * sekishod), so a slow or absent mail server never reaches the login path.
 *
 * Throttle: store_alert_mail_claim(kind, who, now, alert_mail_interval),
 * where who is the login, else the address; the claim is in the store, so
 * two nodes that see the same attack send one mail.  The user is only
 * mailed for alerts about a login, at incident_user_address() (the login
 * when it has '@', else login@ the first local domain).
 *
 * The mailer's state is the one instance per process (like the directory
 * hook of outbound.h): sekishod starts it once, before the policy servers.
 */
#include "account/account_alert.h"
#include "account/incident.h"
#include "store/store.h"
#include "store/store_notify.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ALERT_RING	256

int
account_alert_raise(const struct config *cfg, struct store *st, struct store_alert *a)
{
	char ql[300], qi[80], qd[600];
	int rc = 0;

	if (a->time_ms == 0)
		a->time_ms = util_now_ms();
	if (st != NULL && store_alert_add(st, a, &a->id) < 0) {
		log_err("alert: cannot store: %s", store_errmsg(st));
		rc = -1;
	}
	log_warn("alert id=%lld kind=%s login=%s ip=%s detail=%s", (long long)a->id, a->kind,
	    log_kv_quote(ql, sizeof(ql), a->login), log_kv_quote(qi, sizeof(qi), a->ip),
	    log_kv_quote(qd, sizeof(qd), a->detail));
	account_alert_notify(cfg, a);
	return rc;
}

/* ---- what the mail says ---- */

static const struct {
	const char *kind, *ja, *en;
} kinds[] = {
	{ "brute_force", "パスワードの総当たり攻撃", "brute-force password guessing" },
	{ "dictionary_attack", "辞書攻撃(多数のパスワードの試行)",
	    "a dictionary attack (many different passwords)" },
	{ "distributed_brute_force", "多数の IP アドレスからの総当たり攻撃",
	    "distributed brute force (many addresses, one account)" },
	{ "ip_failures", "一つの IP アドレスからの多数のログイン失敗",
	    "many failed logins from one address" },
	{ "password_spray", "パスワードスプレー攻撃(多数のアカウントへの少数の試行)",
	    "password spraying (few tries on many accounts)" },
	{ "credential_stuffing", "リスト型攻撃(流出したパスワードの試行)",
	    "credential stuffing (leaked passwords tried)" },
	{ "new_country", "これまでにない国からのログイン", "a login from a new country" },
	{ "impossible_travel", "移動が不可能な距離・時間でのログイン",
	    "impossible travel between two logins" },
	{ "lock", "アカウントのロック", "the account was locked" },
};

const char *
account_alert_describe(const char *kind, const char *lang)
{
	int en = strcmp(lang, "en") == 0;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(kinds); i++)
		if (strcmp(kinds[i].kind, kind) == 0)
			return en ? kinds[i].en : kinds[i].ja;
	return kind;
}

/* One mail: template alert-WHO in lang to to.  0 or -1. */
static int
alert_send(const struct config *cfg, const struct store_alert *a, const char *tmpl,
    const char *lang, const char *to, const char *user, notify_inject_fn inject,
    void *arg)
{
	char when[64], id[32];

	util_local_time(a->time_ms, "%Y-%m-%d %H:%M:%S %Z", when, sizeof(when));
	snprintf(id, sizeof(id), "%lld", (long long)a->id);
	struct notify_var v[] = {
		{ "kind", a->kind }, { "what", account_alert_describe(a->kind, lang) },
		{ "login", a->login[0] ? a->login : "-" }, { "ip", a->ip[0] ? a->ip : "-" },
		{ "detail", a->detail }, { "time", when }, { "id", id },
		{ "user", user ? user : "" }, { "console_url", cfg->console_url },
	};
	return notify_send(cfg, inject, arg, "inbound", tmpl, lang, to, v,
	    UTIL_ARRAY_LEN(v));
}

int
account_alert_mail(struct store *st, const struct config *cfg,
    const struct store_alert *a, notify_inject_fn inject, void *arg)
{
	const char *who = a->login[0] ? a->login : a->ip;
	struct buf admins = { 0 };
	char *user = NULL;
	int n = 0, rc;

	for (char **p = cfg->alert_admins; p && *p; p++)
		buf_printf(&admins, "%s%s", admins.len ? " " : "", *p);
	if (a->login[0]) {
		user = incident_user_address(cfg, a->login);
		if (strchr(user, '@') == NULL) {	/* no local_domains: no address */
			free(user);
			user = NULL;
		}
	}
	if (admins.len == 0 && user == NULL)
		goto out;
	rc = store_alert_mail_claim(st, a->kind, who, util_now_ms(),
	    cfg->alert_mail_interval * 1000);
	if (rc <= 0) {
		if (rc < 0)
			log_err("alert: mail throttle: %s", store_errmsg(st));
		else
			log_info("alert id=%lld kind=%s: mail throttled (alert_mail_interval)",
			    (long long)a->id, a->kind);
		n = rc;
		goto out;
	}
	if (admins.len > 0 && alert_send(cfg, a, "alert-admin",
	    strcmp(cfg->notify_language, "en") == 0 ? "en" : "ja", admins.p, user, inject,
	    arg) == 0)
		n++;
	if (user != NULL && alert_send(cfg, a, "alert-user", notify_lang_of(st, cfg, user),
	    user, user, inject, arg) == 0)
		n++;
out:
	buf_free(&admins);
	free(user);
	return n;
}

/* ---- the mailer thread ---- */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int running, stop;
	const struct config *cfg;
	notify_inject_fn inject;
	void *arg;
	struct store *st;
	struct store_alert ring[ALERT_RING];
	size_t head, count;
} mailer = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

void
account_alert_notify(const struct config *cfg, const struct store_alert *a)
{
	(void)cfg;
	pthread_mutex_lock(&mailer.mu);
	if (!mailer.running) {
		pthread_mutex_unlock(&mailer.mu);
		log_debug("alert id=%lld: no alert mailer in this process", (long long)a->id);
		return;
	}
	if (mailer.count == ALERT_RING) {
		log_warn("alert: mail list full, no mail for alert id=%lld",
		    (long long)mailer.ring[mailer.head].id);
		mailer.head = (mailer.head + 1) % ALERT_RING;
		mailer.count--;
	}
	mailer.ring[(mailer.head + mailer.count) % ALERT_RING] = *a;
	mailer.count++;
	pthread_cond_signal(&mailer.cv);
	pthread_mutex_unlock(&mailer.mu);
}

static void *
mailer_main(void *unused)
{
	struct store_alert a;

	(void)unused;
	pthread_mutex_lock(&mailer.mu);
	for (;;) {
		while (!mailer.stop && mailer.count == 0)
			pthread_cond_wait(&mailer.cv, &mailer.mu);
		if (mailer.stop)
			break;
		a = mailer.ring[mailer.head];
		mailer.head = (mailer.head + 1) % ALERT_RING;
		mailer.count--;
		pthread_mutex_unlock(&mailer.mu);
		if (account_alert_mail(mailer.st, mailer.cfg, &a, mailer.inject,
		    mailer.arg) < 0)
			log_err("alert id=%lld: mail not sent", (long long)a.id);
		pthread_mutex_lock(&mailer.mu);
	}
	pthread_mutex_unlock(&mailer.mu);
	return NULL;
}

int
account_alert_mailer_start(const struct config *cfg, notify_inject_fn inject, void *arg,
    char *err, size_t errlen)
{
	char *db = config_state_path(cfg, "sekisho.db");
	struct store *st = store_open(db, err, errlen);
	int rc;

	free(db);
	if (st == NULL)
		return -1;
	pthread_mutex_lock(&mailer.mu);
	mailer.cfg = cfg;
	mailer.inject = inject;
	mailer.arg = arg;
	mailer.st = st;
	mailer.stop = 0;
	mailer.head = mailer.count = 0;
	rc = pthread_create(&mailer.thread, NULL, mailer_main, NULL);
	mailer.running = rc == 0;
	pthread_mutex_unlock(&mailer.mu);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the alert mailer: %s", strerror(rc));
		store_close(st);
		return -1;
	}
	return 0;
}

void
account_alert_mailer_stop(void)
{
	pthread_mutex_lock(&mailer.mu);
	if (!mailer.running) {
		pthread_mutex_unlock(&mailer.mu);
		return;
	}
	if (mailer.count > 0)
		log_warn("alert: %zu alert mails not sent at shutdown (the alerts are stored)",
		    mailer.count);
	mailer.stop = 1;
	mailer.running = 0;
	pthread_cond_signal(&mailer.cv);
	pthread_mutex_unlock(&mailer.mu);
	pthread_join(mailer.thread, NULL);
	store_close(mailer.st);
	mailer.st = NULL;
}
