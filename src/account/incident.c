/*
 * incident.c - the four steps of the response to a taken-over account.
 *
 * Each step gathers or does its part, returns a JSON object and appends
 * the same object (without secrets) to the incident's timeline, so the
 * CLI, the REST API and the closing report all read one record.  The
 * steps act through the store only: the lock is the one the Dovecot and
 * Postfix policy servers consult (store_account.h), held mail is a state
 * of the message (MSG_HELD), the forced change is store_pwchange_set().
 *
 * Failure: a store error ends the step with NULL and the message in err;
 * what earlier steps recorded stays recorded.  Missing parts are reported
 * in the step's object, not as errors: no Sieve source configured, no
 * spool file left for a message, no GeoIP country.
 *
 * The temporary password (20 characters from a 56-letter alphabet without
 * look-alikes, about 116 bits, libsodium's random generator) is in the
 * step-2 object that the caller shows once; it is left out of the
 * timeline and never logged.
 */
#include "account/incident.h"
#include "account/sieve_audit.h"
#include "detect/detect.h"
#include "outbound/outbound.h"
#include "policy/pipeline.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "store/store_account.h"
#include "store/store_audit.h"
#include "util/buf.h"
#include "util/util.h"

#include <errno.h>
#include <iconv.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef SEKISHO_TEMPLATES_DIR
#define SEKISHO_TEMPLATES_DIR "templates"
#endif

#define LOGINS_DAYS	30
#define LOGINS_MAX	50
#define MSGS_MAX	200
#define TEMP_PW_LEN	20
#define NOTICE_SUBJECT_MAX 900	/* bytes: "Subject: " and this fit a 998-byte line */

static const char *const step_names[INCIDENT_STEPS + 1] = {
	"incident", "account", "password", "contacts", "device",
};

static int
store_err(const struct incident_env *ie, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s", store_errmsg(ie->st));
	return -1;
}

static const char *
actor_of(const struct incident_env *ie)
{
	return ie->actor != NULL && *ie->actor != '\0' ? ie->actor : "admin";
}

/* Record obj (minus secret keys) as an event of the step. */
static int
record(const struct incident_env *ie, int64_t id, int step, const char *what,
    json_t *obj, char *err, size_t errlen)
{
	json_t *copy = json_deep_copy(obj);
	char *detail;
	int rc;

	json_object_del(copy, "temporary_password");
	json_object_del(copy, "notice_text");	/* the files hold it; keep the timeline small */
	detail = json_dumps(copy, JSON_COMPACT);
	json_decref(copy);
	rc = store_incident_event_add(ie->st, id, step, actor_of(ie), what, detail);
	free(detail);
	return rc < 0 ? store_err(ie, err, errlen) : 0;
}

static void
iso_time(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static json_t *
json_time(int64_t ms)
{
	char buf[32];

	if (ms <= 0)
		return json_null();
	iso_time(ms, buf, sizeof(buf));
	return json_string(buf);
}

char *
incident_user_address(const struct config *cfg, const char *login)
{
	if (strchr(login, '@') != NULL || cfg->local_domains == NULL ||
	    cfg->local_domains[0] == NULL)
		return xstrdup(login);
	return xasprintf("%s@%s", login, cfg->local_domains[0]);
}

/* ---- step 1: the account ---- */

static int
login_cb(const struct store_login *ev, void *arg)
{
	json_array_append_new(arg, json_pack("{s:o, s:s, s:s, s:s, s:s, s:s}",
	    "time", json_time(ev->time_ms), "ip", ev->ip, "country", ev->country,
	    "protocol", ev->protocol, "source", ev->source,
	    "result", store_login_result_name(ev->result)));
	return 0;
}

static json_t *
sieve_part(const struct incident_env *ie, const char *login)
{
	struct sieve_user_audit ua;
	json_t *f, *o;

	if (!ie->cfg->sieve_doveadm && ie->cfg->sieve_dir[0] == '\0')
		return json_pack("{s:s}", "status", "not configured (sieve_dir, sieve_doveadm)");
	if (sieve_audit_user(ie->cfg, ie->st, login, &ua) < 0)
		return json_pack("{s:s}", "error", store_errmsg(ie->st));
	f = json_array();
	for (size_t i = 0; i < ua.nf; i++)
		json_array_append_new(f, json_pack("{s:s, s:s, s:s, s:b, s:b, s:b}",
		    "script", ua.f[i].script, "kind", sieve_kind_name(ua.f[i].kind),
		    "target", ua.f[i].target, "external", ua.f[i].external,
		    "risky", ua.f[i].risky, "new", ua.f[i].is_new));
	o = json_pack("{s:s?, s:i, s:o}", "error", ua.error, "new_risky", ua.new_risky,
	    "findings", f);
	sieve_user_audit_clear(&ua);
	return o;
}

/* The outbound messages of login since since_ms as JSON, with scores. */
static json_t *
messages_part(const struct incident_env *ie, const char *login, int64_t since_ms,
    char (**idsp)[QUEUE_ID_SIZE], int *nids)
{
	char (*ids)[QUEUE_ID_SIZE] = xcalloc(MSGS_MAX, sizeof(*ids));
	json_t *arr = json_array();
	int n = store_user_outbound(ie->st, login, since_ms, ids, MSGS_MAX);

	for (int i = 0; i < n; i++) {
		struct envelope *env = NULL;
		struct queue_info qi;
		json_t *scan = NULL, *rcpts = json_array();

		memset(&qi, 0, sizeof(qi));
		if (store_msg_get(ie->st, ids[i], &env, &qi) != 0)
			continue;
		if (qi.scan != NULL)
			scan = json_loads(qi.scan, 0, NULL);
		for (size_t r = 0; r < env->nrcpt; r++)
			json_array_append_new(rcpts, json_string(env->rcpt[r].addr));
		json_array_append_new(arr, json_pack("{s:s, s:o, s:s, s:s, s:s?, s:s?, s:o,"
		    " s:o, s:o}", "id", env->id, "time", json_time(env->received_ms),
		    "state", store_state_name(qi.state), "from", env->mail_from,
		    "action", qi.action, "subject", qi.subject,
		    "score", scan && json_object_get(scan, "score") ?
		    json_incref(json_object_get(scan, "score")) : json_null(),
		    "symbols", scan && json_object_get(scan, "symbols") ?
		    json_incref(json_object_get(scan, "symbols")) : json_array(),
		    "recipients", rcpts));
		json_decref(scan);
		envelope_free(env);
		queue_info_clear(&qi);
	}
	if (idsp != NULL && n > 0) {
		*idsp = ids;
		*nids = n;
	} else {
		free(ids);
		if (nids != NULL)
			*nids = n < 0 ? 0 : n;
		if (idsp != NULL)
			*idsp = NULL;
	}
	if (n < 0) {
		json_decref(arr);
		return NULL;
	}
	return arr;
}

static int
sent_cb(const struct store_sent *m, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s, s:o, s:s, s:f, s:s, s:i}", "id", m->msg_id,
	    "time", json_time(m->time_ms), "action", m->action, "score", m->score,
	    "subject", m->subject, "recipients", m->recipients));
	return 0;
}

json_t *
incident_step_account(const struct incident_env *ie, int64_t id, const char *login,
    char *err, size_t errlen)
{
	int64_t now = util_now_ms();
	struct store_lock lock;
	json_t *logins = json_array(), *msgs, *o, *sent;
	int locked;

	if (store_login_foreach(ie->st, login, now - (int64_t)LOGINS_DAYS * 86400000,
	    0, LOGINS_MAX, login_cb, logins) < 0) {
		json_decref(logins);
		store_err(ie, err, errlen);
		return NULL;
	}
	sent = json_array();
	locked = store_lock_get(ie->st, login, &lock);
	if (locked < 0 || store_user_sent_foreach(ie->st, login,
	    now - ie->cfg->incident_contacts_window * 1000, MSGS_MAX, sent_cb, sent) < 0 ||
	    (msgs = messages_part(ie, login,
	    now - ie->cfg->incident_contacts_window * 1000, NULL, NULL)) == NULL) {
		json_decref(logins);
		json_decref(sent);
		store_err(ie, err, errlen);
		return NULL;
	}
	o = json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "step", 1, "name", "account",
	    "login", login, "logins", logins,
	    "lock", locked == 0 ? json_pack("{s:o, s:o, s:s}", "since",
	    json_time(lock.created_ms), "until", json_time(lock.until_ms), "reason",
	    lock.reason) : json_null(),
	    "sieve", sieve_part(ie, login), "sent", sent, "in_queue", msgs);
	if (record(ie, id, 1, "account_checked", o, err, errlen) < 0) {
		json_decref(o);
		return NULL;
	}
	if (store_incident_step_set(ie->st, id, 1, 1, actor_of(ie), "checked by sekisho") < 0) {
		store_err(ie, err, errlen);
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- step 2: the password ---- */

static void
temp_password(char out[TEMP_PW_LEN + 1])
{
	/* no 0/O, 1/l/I: read out over the phone without mistakes */
	static const char alphabet[] =
	    "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	const uint32_t n = (uint32_t)(sizeof(alphabet) - 1);

	for (int i = 0; i < TEMP_PW_LEN; i++)
		out[i] = alphabet[randombytes_uniform(n)];
	out[TEMP_PW_LEN] = '\0';
}

struct hold_ctx {
	const char *login;
	struct store *st;
	json_t *held;
	int failed;
};

static int
hold_cb(const struct envelope *env, const struct queue_info *qi, void *arg)
{
	struct hold_ctx *h = arg;
	struct queue_info q;

	if (env->listener == NULL || strcmp(env->listener, "outbound") != 0)
		return 0;
	if (!((env->auth_user && util_strcasecmp(env->auth_user, h->login) == 0) ||
	    (env->mail_from && util_strcasecmp(env->mail_from, h->login) == 0)))
		return 0;
	q = *qi;
	q.state = MSG_HELD;
	if (store_msg_update(h->st, env, &q) < 0) {
		h->failed = 1;
		return 1;
	}
	json_array_append_new(h->held, json_string(env->id));
	return 0;
}

json_t *
incident_step_password(const struct incident_env *ie, int64_t id, const char *login,
    char *err, size_t errlen)
{
	struct hold_ctx h = { login, ie->st, json_array(), 0 };
	char reason[64], pw[TEMP_PW_LEN + 1];
	json_t *o;

	snprintf(reason, sizeof(reason), "incident %lld", (long long)id);
	if (store_lock_set(ie->st, login, 0, reason) < 0 ||
	    store_pwchange_set(ie->st, login, reason) < 0 ||
	    store_msg_foreach(ie->st, MSG_QUEUED, hold_cb, &h) < 0 || h.failed) {
		json_decref(h.held);
		store_err(ie, err, errlen);
		return NULL;
	}
	if (sodium_init() < 0) {
		json_decref(h.held);
		snprintf(err, errlen, "libsodium cannot start");
		return NULL;
	}
	temp_password(pw);
	o = json_pack("{s:i, s:s, s:s, s:b, s:s, s:b, s:o, s:s, s:{s:s, s:s}}", "step", 2,
	    "name", "password", "login", login, "locked", 1, "lock_reason", reason,
	    "password_change_required", 1, "held_messages", h.held,
	    "temporary_password", pw, "instruction",
	    "en", "Set the temporary password for this account in the user directory"
	    " (it is shown only now), sign the user out of every session and device,"
	    " revoke app passwords and tokens, then let the user choose a new password"
	    " (sekisho password check) and unlock the account (sekisho account unlock).",
	    "ja", "この一時パスワードを利用者ディレクトリで設定してください(表示は今回限りです)。"
	    "すべてのセッションと端末からサインアウトさせ、アプリパスワードやトークンを"
	    "無効にしたうえで、利用者に新しいパスワードを決めてもらい"
	    "(sekisho password check で確認)、アカウントのロックを解除してください"
	    "(sekisho account unlock)。");
	sodium_memzero(pw, sizeof(pw));
	if (record(ie, id, 2, "account_locked", o, err, errlen) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- step 3: the contacts ---- */

struct rcpt_ctx {
	const struct config *cfg;
	json_t *arr;
	char **list;
	size_t n;
};

static int
rcpt_cb(const char *addr, int64_t count, int64_t last_ms, void *arg)
{
	struct rcpt_ctx *c = arg;
	const char *dom = envelope_domain(addr);

	if (*dom == '\0' || config_is_local_domain(c->cfg, dom))
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (util_strcasecmp(c->list[i], addr) == 0)
			return 0;
	json_array_append_new(c->arr, json_pack("{s:s, s:I, s:o}", "address", addr,
	    "messages", (json_int_t)count, "last", json_time(last_ms)));
	c->list = xrealloc(c->list, (c->n + 1) * sizeof(*c->list));
	c->list[c->n++] = xstrdup(addr);
	return 0;
}

static int
write_file(const char *path, const char *text, char *err, size_t errlen)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) == EOF || fflush(fp) != 0 ||
	    fsync(fileno(fp)) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	if (fclose(fp) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

json_t *
incident_step_contacts(const struct incident_env *ie, int64_t id, const char *login,
    char *err, size_t errlen)
{
	static const char *const langs[] = { "ja", "en" };
	struct rcpt_ctx c = { ie->cfg, json_array(), NULL, 0 };
	int64_t until = util_now_ms(), since = until - ie->cfg->incident_contacts_window * 1000;
	char *addr = incident_user_address(ie->cfg, login), *dir;
	json_t *notices = json_object(), *texts = json_object(), *o = NULL;
	int to_files;

	if (store_user_contacts(ie->st, login, since, rcpt_cb, &c) < 0 ||
	    store_user_recipients(ie->st, login, since, rcpt_cb, &c) < 0) {
		store_err(ie, err, errlen);
		goto out;
	}
	/* "-": no files, the caller prints notice_text */
	to_files = ie->notice_dir == NULL || strcmp(ie->notice_dir, "-") != 0;
	dir = ie->notice_dir != NULL ? xstrdup(ie->notice_dir) :
	    config_state_path(ie->cfg, "incidents");
	if (ie->notice_dir == NULL) {
		char *d = xasprintf("%s/%lld", dir, (long long)id);
		free(dir);
		dir = d;
	}
	if (to_files && util_mkdirs(dir, 0750) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(dir);
		goto out;
	}
	for (size_t i = 0; i < UTIL_ARRAY_LEN(langs); i++) {
		char *msg = incident_notice(ie->cfg, langs[i], addr, since, until, c.list, c.n,
		    err, errlen);
		char *path = xasprintf("%s/notice.%s.eml", dir, langs[i]);
		if (msg == NULL || (to_files && write_file(path, msg, err, errlen) < 0)) {
			free(msg);
			free(path);
			free(dir);
			goto out;
		}
		json_object_set_new(notices, langs[i], to_files ? json_string(path) : json_null());
		json_object_set_new(texts, langs[i], json_string(msg));
		free(msg);
		free(path);
	}
	free(dir);
	o = json_pack("{s:i, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:s}", "step", 3, "name",
	    "contacts", "login", login, "since", json_time(since), "until", json_time(until),
	    "external_recipients", c.arr, "notices", notices, "notice_text", texts, "status",
	    "notices written, not sent: review them, then send (for example with sendmail -t)");
	notices = NULL;
	texts = NULL;
	c.arr = NULL;
	if (record(ie, id, 3, "contacts_listed", o, err, errlen) < 0) {
		json_decref(o);
		o = NULL;
	}
out:
	json_decref(notices);
	json_decref(texts);
	json_decref(c.arr);
	for (size_t i = 0; i < c.n; i++)
		free(c.list[i]);
	free(c.list);
	free(addr);
	return o;
}

/* ---- step 4: the device ---- */

static json_t *
rescan(const struct incident_env *ie, const char *id, struct pipeline *pl)
{
	struct envelope *env = NULL;
	struct queue_info qi;
	struct scan_result res;
	struct verdict v;
	json_t *syms, *o;
	char *path;

	memset(&qi, 0, sizeof(qi));
	if (store_msg_get(ie->st, id, &env, &qi) != 0)
		return NULL;
	path = spool_path(ie->spool, id);
	if (access(path, R_OK) != 0 || pipeline_run(pl, env, path, &v, &res) < 0) {
		o = json_pack("{s:s, s:s}", "id", id, "status", "no longer in the spool");
		goto out;
	}
	syms = json_array();
	for (size_t i = 0; i < res.nsyms; i++)
		json_array_append_new(syms, json_pack("{s:s, s:f, s:s}", "name",
		    res.syms[i].name, "score", res.syms[i].score, "reason", res.syms[i].reason));
	o = json_pack("{s:s, s:s, s:s, s:f, s:o}", "id", id, "status", "rescanned",
	    "action", action_name(v.action), "score", v.score, "symbols", syms);
	scan_result_clear(&res);
	verdict_clear(&v);
out:
	free(path);
	envelope_free(env);
	queue_info_clear(&qi);
	return o;
}

json_t *
incident_step_device(const struct incident_env *ie, int64_t id, const char *login,
    char *err, size_t errlen)
{
	char (*ids)[QUEUE_ID_SIZE] = NULL;
	struct pipeline *pl = NULL;
	json_t *msgs, *scans = json_array(), *o;
	int n = 0, flagged = 0;

	msgs = messages_part(ie, login, util_now_ms() - ie->cfg->incident_contacts_window * 1000,
	    &ids, &n);
	if (msgs == NULL) {
		json_decref(scans);
		store_err(ie, err, errlen);
		return NULL;
	}
	json_decref(msgs);
	if (n > 0 && ie->spool != NULL) {
		pl = pipeline_new(ie->cfg, outbound_pipeline_ops(), err, errlen);
		if (pl == NULL) {
			free(ids);
			json_decref(scans);
			return NULL;
		}
		/* looking again must not teach the classifier or the history */
		pipeline_set_record(pl, 0);
		for (int i = 0; i < n; i++) {
			json_t *r = rescan(ie, ids[i], pl);
			if (r == NULL)
				continue;
			if (json_object_get(r, "action") != NULL &&
			    strcmp(json_string_value(json_object_get(r, "action")), "deliver") != 0)
				flagged++;
			json_array_append_new(scans, r);
		}
		pipeline_free(pl);
	}
	free(ids);
	o = json_pack("{s:i, s:s, s:s, s:o, s:i, s:{s:[s,s,s,s,s], s:[s,s,s,s,s]}}",
	    "step", 4, "name", "device", "login", login, "rescanned", scans,
	    "flagged", flagged, "checklist",
	    "en", "Run a full malware scan of every computer and phone the user reads mail on",
	    "Remove unknown browser extensions, remote-access tools and mail-forwarding apps",
	    "Update the operating system, browser and mail client",
	    "Check the mail client for unknown accounts, rules and signatures",
	    "Mark this step done: sekisho incident step ID 4 done --note '...'",
	    "ja", "利用者がメールを読むすべての PC とスマートフォンでマルウェアのフルスキャンを行う",
	    "見覚えのないブラウザー拡張、遠隔操作ツール、メール転送アプリを削除する",
	    "OS、ブラウザー、メールソフトを最新にする",
	    "メールソフトに見覚えのないアカウント、振り分けルール、署名がないか確認する",
	    "完了したら記録する: sekisho incident step ID 4 done --note '...'");
	if (record(ie, id, 4, "rescanned", o, err, errlen) < 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- the incident ---- */

json_t *
incident_open(const struct incident_env *ie, const char *login, int64_t *idp,
    char *err, size_t errlen)
{
	json_t *(*const steps[])(const struct incident_env *, int64_t, const char *,
	    char *, size_t) = {
		incident_step_account, incident_step_password, incident_step_contacts,
		incident_step_device,
	};
	struct store_incident inc;
	json_t *o, *arr;
	int64_t id;
	int rc;

	err[0] = '\0';
	if (*login == '\0' || strlen(login) >= sizeof(inc.login)) {
		snprintf(err, errlen, "bad login");
		return NULL;
	}
	rc = store_incident_find_open(ie->st, login, &inc);
	if (rc < 0) {
		store_err(ie, err, errlen);
		return NULL;
	}
	if (rc == 0 && (strcmp(inc.opened_by, INCIDENT_AUTO_ACTOR) != 0 ||
	    inc.steps_done != 0)) {
		snprintf(err, errlen, "incident %lld is already open for %s", (long long)inc.id,
		    login);
		return NULL;
	}
	if (rc == 0) {
		/* opened by sekisho itself (a suspension for sending,
		 * detect_takeover.c) and not worked on yet: the admin takes
		 * it up and the steps run on it */
		id = inc.id;
		if (store_incident_event_add(ie->st, id, 0, actor_of(ie), "taken_up",
		    "the admin runs the steps of an incident sekisho opened") < 0) {
			store_err(ie, err, errlen);
			return NULL;
		}
	} else if (store_incident_open(ie->st, login, actor_of(ie), &id) < 0) {
		store_err(ie, err, errlen);
		return NULL;
	}
	if (idp != NULL)
		*idp = id;
	arr = json_array();
	for (size_t i = 0; i < UTIL_ARRAY_LEN(steps); i++) {
		json_t *s = steps[i](ie, id, login, err, errlen);
		if (s == NULL) {
			json_array_append_new(arr, json_pack("{s:I, s:s, s:s}", "step",
			    (json_int_t)(i + 1), "name", step_names[i + 1], "error", err));
			break;
		}
		json_array_append_new(arr, s);
	}
	o = json_pack("{s:I, s:s, s:s, s:o}", "id", (json_int_t)id, "login", login,
	    "status", "open", "steps", arr);
	return o;
}

static int
event_cb(const struct store_incident_event *ev, void *arg)
{
	json_t *detail = ev->detail && ev->detail[0] == '{' ?
	    json_loads(ev->detail, 0, NULL) : NULL;

	json_array_append_new(arg, json_pack("{s:I, s:o, s:i, s:s, s:s, s:o}", "id",
	    (json_int_t)ev->id, "time", json_time(ev->time_ms), "step", ev->step, "actor",
	    ev->actor, "what", ev->what, "detail", detail ? detail :
	    json_string(ev->detail ? ev->detail : "")));
	return 0;
}

static json_t *
incident_json(const struct store_incident *inc)
{
	return json_pack("{s:I, s:s, s:s, s:o, s:s, s:o, s:s, s:i}", "id", (json_int_t)inc->id,
	    "login", inc->login, "status", inc->closed_ms ? "closed" : "open",
	    "opened", json_time(inc->opened_ms), "opened_by", inc->opened_by,
	    "closed", json_time(inc->closed_ms), "closed_by", inc->closed_by,
	    "steps_done", __builtin_popcount(inc->steps_done));
}

json_t *
incident_show(const struct incident_env *ie, int64_t id, char *err, size_t errlen)
{
	struct store_incident inc;
	struct store_incident_step steps[INCIDENT_STEPS];
	json_t *o, *sa, *ev;
	int rc = store_incident_get(ie->st, id, &inc);

	if (rc != 0) {
		if (rc < 0)
			store_err(ie, err, errlen);
		else
			snprintf(err, errlen, "no incident %lld", (long long)id);
		return NULL;
	}
	if (store_incident_steps(ie->st, id, steps) < 0) {
		store_err(ie, err, errlen);
		return NULL;
	}
	sa = json_array();
	for (int i = 0; i < INCIDENT_STEPS; i++)
		json_array_append_new(sa, json_pack("{s:i, s:s, s:b, s:o, s:s, s:s}", "step",
		    steps[i].step, "name", step_names[i + 1], "done", steps[i].done, "done_at",
		    json_time(steps[i].done_ms), "actor", steps[i].actor, "note", steps[i].note));
	ev = json_array();
	if (store_incident_event_foreach(ie->st, id, event_cb, ev) < 0) {
		json_decref(sa);
		json_decref(ev);
		store_err(ie, err, errlen);
		return NULL;
	}
	o = incident_json(&inc);
	json_object_set_new(o, "steps", sa);
	json_object_set_new(o, "timeline", ev);
	return o;
}

static int
list_cb(const struct store_incident *inc, void *arg)
{
	json_array_append_new(arg, incident_json(inc));
	return 0;
}

json_t *
incident_list(const struct incident_env *ie, int open_only, char *err, size_t errlen)
{
	json_t *arr = json_array();

	if (store_incident_foreach(ie->st, open_only, list_cb, arr) < 0) {
		json_decref(arr);
		store_err(ie, err, errlen);
		return NULL;
	}
	return arr;
}

int
incident_mark(const struct incident_env *ie, int64_t id, int step, int done,
    const char *note, char *err, size_t errlen)
{
	int rc;

	if (step < 1 || step > INCIDENT_STEPS) {
		snprintf(err, errlen, "step must be 1 to %d", INCIDENT_STEPS);
		return -1;
	}
	rc = store_incident_step_set(ie->st, id, step, done, actor_of(ie), note);
	if (rc < 0)
		return store_err(ie, err, errlen);
	if (rc == 1)
		snprintf(err, errlen, "no incident %lld", (long long)id);
	return rc;
}

int
incident_close(const struct incident_env *ie, int64_t id, char *err, size_t errlen)
{
	struct store_incident inc;
	json_t *report;
	int rc = store_incident_get(ie->st, id, &inc);

	if (rc < 0)
		return store_err(ie, err, errlen);
	if (rc == 1 || inc.closed_ms != 0) {
		snprintf(err, errlen, "no open incident %lld", (long long)id);
		return 1;
	}
	/* the report: everything the timeline holds, as it stood when closed */
	report = incident_show(ie, id, err, errlen);
	if (report == NULL)
		return -1;
	if (record(ie, id, 0, "report", report, err, errlen) < 0) {
		json_decref(report);
		return -1;
	}
	json_decref(report);
	rc = store_incident_close(ie->st, id, actor_of(ie));
	if (rc < 0)
		return store_err(ie, err, errlen);
	if (rc == 1)
		snprintf(err, errlen, "no open incident %lld", (long long)id);
	return rc;
}

/* ---- the notice mail ---- */

/* UTF-8 -> charset through iconv; NULL when a character does not fit. */
static char *
convert(const char *to, const char *s, size_t len, size_t *outlen)
{
	iconv_t cd = iconv_open(to, "UTF-8");
	size_t cap = len * 4 + 16, inleft = len, outleft = cap;
	char *out, *in = (char *)(uintptr_t)s, *o;

	if (cd == (iconv_t)-1)
		return NULL;
	out = xmalloc(cap + 1);
	o = out;
	if (iconv(cd, &in, &inleft, &o, &outleft) == (size_t)-1 ||
	    iconv(cd, NULL, NULL, &o, &outleft) == (size_t)-1) {
		iconv_close(cd);
		free(out);
		return NULL;
	}
	iconv_close(cd);
	*o = '\0';
	*outlen = (size_t)(o - out);
	return out;
}

static int
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 0;
	return 1;
}

/*
 * An RFC 2047 Subject: one encoded word per few characters, each word
 * complete in itself (ISO-2022-JP back to ASCII at its end) and within 75
 * characters, folded onto continuation lines.
 */
static int
encode_subject(struct buf *b, const char *subj, const char *charset)
{
	const char *p = subj;
	int first = 1;

	buf_str(b, "Subject:");
	if (is_ascii(subj)) {
		buf_printf(b, " %s\r\n", subj);
		return 0;
	}
	while (*p) {
		const char *q = p;
		size_t chars = 0, clen;
		char *enc;
		/* 8 characters: at most 3 + 16 + 3 bytes of ISO-2022-JP, 32 of base64 */
		while (*q && chars < 8) {
			q++;
			while (*q && ((unsigned char)*q & 0xC0) == 0x80)
				q++;
			chars++;
		}
		enc = convert(charset, p, (size_t)(q - p), &clen);
		if (enc == NULL)
			return -1;
		buf_printf(b, "%s=?%s?B?", first ? " " : "\r\n ", charset);
		buf_base64(b, enc, clen);
		buf_str(b, "?=");
		free(enc);
		first = 0;
		p = q;
	}
	buf_str(b, "\r\n");
	return 0;
}

static char *
substitute(const char *tpl, const char *const *keys, const char *const *vals, size_t n)
{
	struct buf b = { 0 };
	const char *p = tpl;

	while (*p) {
		size_t i;
		if (p[0] == '{' && p[1] == '{') {
			for (i = 0; i < n; i++) {
				size_t kl = strlen(keys[i]);
				if (strncmp(p + 2, keys[i], kl) == 0 && strncmp(p + 2 + kl, "}}", 2) == 0) {
					buf_str(&b, vals[i]);
					p += 4 + kl;
					break;
				}
			}
			if (i < n)
				continue;
		}
		buf_add(&b, p, 1);
		p++;
	}
	return buf_steal(&b, NULL);
}

/* Fit for a header as <addr>: 1..254 bytes, no blank, control byte or
 * angle bracket (a login can be any text). */
static int
header_addr_ok(const char *a)
{
	size_t n = strlen(a);

	if (n == 0 || n > 254)
		return 0;
	for (const unsigned char *p = (const unsigned char *)a; *p; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '<' || *p == '>')
			return 0;
	return 1;
}

/* Control bytes to spaces, at most NOTICE_SUBJECT_MAX bytes (whole
 * characters): a value put into the Subject cannot end the field. */
static void
subject_clean(char *s)
{
	size_t n = strlen(s);

	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (n > NOTICE_SUBJECT_MAX) {
		n = NOTICE_SUBJECT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		s[n] = '\0';
	}
}

/* LF -> CRLF */
static void
add_crlf(struct buf *b, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			buf_add(b, "\r", 1);
		buf_add(b, &s[i], 1);
	}
}

char *
incident_notice(const struct config *cfg, const char *lang, const char *user_addr,
    int64_t since_ms, int64_t until_ms, char *const *rcpts, size_t nrcpts,
    char *err, size_t errlen)
{
	const char *dir = cfg->incident_template_dir[0] ? cfg->incident_template_dir :
	    SEKISHO_TEMPLATES_DIR;
	const char *keys[] = { "user", "organization", "since", "until" };
	const char *vals[4];
	const char *charset = strcmp(lang, "ja") == 0 ? "ISO-2022-JP" : "UTF-8";
	char *path = xasprintf("%s/incident-notice.%s.txt", dir, lang), *tpl, *text = NULL;
	char since[32], until[32], date[64], *subject = NULL, *body, *enc = NULL;
	struct buf b = { 0 };
	size_t len, line = 0;
	unsigned char rnd[8];
	time_t now = time(NULL);
	struct tm tm;

	if (!header_addr_ok(user_addr)) {
		snprintf(err, errlen, "'%.64s' cannot be a sender address", user_addr);
		free(path);
		return NULL;
	}
	tpl = util_read_file(path, 1 << 20, &len);
	if (tpl == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	iso_time(since_ms, since, sizeof(since));
	iso_time(until_ms, until, sizeof(until));
	vals[0] = user_addr;
	vals[1] = cfg->local_domains && cfg->local_domains[0] ? cfg->local_domains[0] : "";
	vals[2] = since;
	vals[3] = until;
	text = substitute(tpl, keys, vals, UTIL_ARRAY_LEN(keys));
	if (strncmp(text, "Subject:", 8) != 0 || (body = strstr(text, "\n\n")) == NULL) {
		snprintf(err, errlen, "%s: must start with a Subject: line and an empty line", path);
		goto fail;
	}
	{
		char *raw = xstrndup(text + 8, (size_t)(strchr(text, '\n') - text - 8));
		subject = xstrdup(util_trim(raw));
		free(raw);
		subject_clean(subject);
	}
	body += 2;

	buf_printf(&b, "From: <%s>\r\nTo: undisclosed-recipients:;\r\n", user_addr);
	if (nrcpts > 0) {
		buf_str(&b, "Bcc:");
		for (size_t i = 0, n = 0; i < nrcpts; i++) {
			size_t l = strlen(rcpts[i]) + 4;

			if (!header_addr_ok(rcpts[i]))
				continue;	/* never a header of its own */
			if (n++ > 0)
				buf_str(&b, ",");
			if (line + l > 76) {
				buf_str(&b, "\r\n");
				line = 0;
			}
			buf_printf(&b, " <%s>", rcpts[i]);
			line += l;
		}
		buf_str(&b, "\r\n");
	}
	if (encode_subject(&b, subject, charset) < 0) {
		snprintf(err, errlen, "%s: the subject does not fit %s", path, charset);
		goto fail;
	}
	localtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm);
	randombytes_buf(rnd, sizeof(rnd));
	buf_printf(&b, "Date: %s\r\nMessage-ID: <incident.%02x%02x%02x%02x%02x%02x%02x%02x@%s>\r\n"
	    "MIME-Version: 1.0\r\n", date, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
	    rnd[6], rnd[7], cfg->myhostname[0] ? cfg->myhostname : "localhost");
	if (strcmp(charset, "ISO-2022-JP") == 0) {
		size_t elen;
		enc = convert(charset, body, strlen(body), &elen);
		if (enc == NULL) {
			snprintf(err, errlen, "%s: the text does not fit ISO-2022-JP", path);
			goto fail;
		}
		buf_str(&b, "Content-Type: text/plain; charset=ISO-2022-JP\r\n"
		    "Content-Transfer-Encoding: 7bit\r\n\r\n");
		add_crlf(&b, enc, elen);
	} else {
		buf_printf(&b, "Content-Type: text/plain; charset=%s\r\n"
		    "Content-Transfer-Encoding: %s\r\n\r\n", is_ascii(body) ? "us-ascii" : "UTF-8",
		    is_ascii(body) ? "7bit" : "8bit");
		add_crlf(&b, body, strlen(body));
	}
	free(enc);
	free(subject);
	free(text);
	free(tpl);
	free(path);
	return buf_steal(&b, NULL);
fail:
	buf_free(&b);
	free(enc);
	free(subject);
	free(text);
	free(tpl);
	free(path);
	return NULL;
}
