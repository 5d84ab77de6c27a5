/*
 * http_api.c - the REST API's routes and handlers (docs/api/openapi.yaml).
 *
 * Visibility: admin and approver see every message; a user only mail where
 * their console email is a recipient (quarantine) or the sender or a
 * recipient (message log, stats).  Someone else's message answers 404, as
 * an unknown one does, so ids cannot be probed.  Every state change is
 * written to the audit log.
 */
#include "http/http_int.h"
#include "queue/queue_admin.h"
#include "store/store.h"
#include "store/store_api.h"
#include "util/log.h"
#include "util/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT	50
#define LIST_MAX	500
#define STATS_MAX_HOURS	720
#define TOP_N		10
#define HOUR_MS		3600000LL

/* Matches no address: a user without an email sees no mail. */
#define NO_ADDR		"\x01"

static const char *
jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_t *
jstr_or_null(const char *s)
{
	return http_json_str(s);
}

static json_t *
iso(int64_t ms)
{
	char t[32];

	http_iso_time(ms, t, sizeof(t));
	return json_string(t);
}

/* The address a user's view is restricted to, or NULL for admin/approver. */
static const char *
own_addr(struct http_req *r)
{
	if (r->role >= ROLE_APPROVER)
		return NULL;
	return r->user.email && *r->user.email ? r->user.email : NO_ADDR;
}

static int
valid_id(const char *id)
{
	size_t n = strlen(id);

	if (n == 0 || n >= QUEUE_ID_SIZE)
		return 0;
	for (const char *p = id; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
			return 0;
	return id[0] != '.';
}

static int
int_arg(struct http_req *r, const char *name, int64_t def, int64_t min, int64_t max,
    int64_t *out)
{
	const char *v = http_arg(r, name);
	char *end;
	long long n;

	*out = def;
	if (v == NULL || *v == '\0')
		return 0;
	n = strtoll(v, &end, 10);
	if (*end != '\0' || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* limit, offset, since, until: 0, or 400 into *out. */
static int
query_args(struct http_req *r, struct msg_query *q, json_t **out)
{
	const char *since = http_arg(r, "since"), *until = http_arg(r, "until");

	if (int_arg(r, "limit", LIST_DEFAULT, 1, LIST_MAX, &q->limit) < 0 ||
	    int_arg(r, "offset", 0, 0, INT64_MAX / 2, &q->offset) < 0)
		return http_err(out, 400, "limit must be 1..500 and offset >= 0");
	if ((since && *since && http_parse_time(since, &q->since_ms) < 0) ||
	    (until && *until && http_parse_time(until, &q->until_ms) < 0))
		return http_err(out, 400, "since and until take ISO 8601 times or epoch seconds");
	return 0;
}

static json_t *
json_array_text(const char *text)
{
	json_t *a = text ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_array(a)) {
		json_decref(a);
		a = json_array();
	}
	return a;
}

/* ---- me ---- */

static int
me(struct http_req *r, json_t **out)
{
	*out = http_user_json(&r->user);
	json_object_set_new(*out, "csrf", json_string(r->sess.csrf));
	return 200;
}

static int
me_put(struct http_req *r, json_t **out)
{
	const char *lang = r->json ? jstr(r->json, "lang") : NULL;

	if (lang == NULL || (strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0))
		return http_err(out, 400, "lang must be ja or en");
	if (store_cuser_set_lang(r->st, r->user.name, lang) < 0)
		return http_err(out, 500, "store error");
	free(r->user.lang);
	r->user.lang = xstrdup(lang);
	http_audit(r, "set_lang", r->user.name, lang);
	return me(r, out);
}

/* ---- quarantine ---- */

static void
scan_summary(const char *scan, double *score, json_t **names, json_t **detail)
{
	json_t *root = scan ? json_loads(scan, 0, NULL) : NULL;
	json_t *syms, *s;
	size_t i;

	*score = 0;
	if (names)
		*names = json_array();
	if (detail)
		*detail = json_array();
	if (root == NULL)
		return;
	*score = json_number_value(json_object_get(root, "score"));
	syms = json_object_get(root, "symbols");
	json_array_foreach(syms, i, s) {
		const char *name = json_string_value(json_object_get(s, "name"));

		if (name == NULL)
			continue;
		if (names)
			json_array_append_new(*names, json_string(name));
		if (detail)
			json_array_append_new(*detail, json_pack("{s:s, s:f, s:s}", "name", name,
			    "score", json_number_value(json_object_get(s, "score")), "reason",
			    json_string_value(json_object_get(s, "reason")) ?
			    json_string_value(json_object_get(s, "reason")) : ""));
	}
	json_decref(root);
}

static int
quar_row(const struct msg_row *row, void *arg)
{
	json_t *items = arg, *names;
	double score;

	scan_summary(row->scan, &score, &names, NULL);
	json_array_append_new(items, json_pack("{s:s, s:o, s:o, s:o, s:o, s:f, s:o, s:o}",
	    "id", row->id, "received", iso(row->received_ms), "from", http_json_str(row->from ? row->from : ""),
	    "rcpts", json_array_text(row->rcpts), "subject", jstr_or_null(row->subject),
	    "score", score, "action", jstr_or_null(row->action), "symbols", names));
	return 0;
}

static int
quarantine_list(struct http_req *r, json_t **out)
{
	struct msg_query q;
	json_t *items;
	int64_t total = 0;
	int st;

	memset(&q, 0, sizeof(q));
	if ((st = query_args(r, &q, out)) != 0)
		return st;
	q.q = http_arg(r, "q");
	q.sender = http_arg(r, "sender");
	q.rcpt = http_arg(r, "rcpt");
	q.symbol = http_arg(r, "symbol");
	q.addr = own_addr(r);
	items = json_array();
	if (store_quarantine_query(r->st, &q, quar_row, items, &total) < 0) {
		json_decref(items);
		return http_err(out, 500, "store error");
	}
	*out = json_pack("{s:I, s:o}", "total", (json_int_t)total, "items", items);
	return 200;
}

/*
 * Load a quarantined message the user may see: 0, or the status with *out.
 * env and qi may be NULL.
 */
static int
load_visible(struct http_req *r, struct envelope **env, struct queue_info *qi, json_t **out)
{
	const char *id = r->caps[0];
	const char *addr = own_addr(r);
	struct queue_info tmp;
	struct queue_info *q = qi ? qi : &tmp;
	int rc;

	memset(q, 0, sizeof(*q));
	if (!valid_id(id))
		return http_err(out, 404, "no such message");
	if ((rc = store_msg_get(r->st, id, env, q)) < 0)
		return http_err(out, 500, "store error");
	if (rc == 0 && addr != NULL && (rc = store_msg_has_rcpt(r->st, id, addr)) >= 0)
		rc = !rc;
	if (rc < 0 || rc == 1 || q->state != MSG_QUARANTINED) {
		if (env) {
			envelope_free(*env);
			*env = NULL;
		}
		queue_info_clear(q);
		return rc < 0 ? http_err(out, 500, "store error") :
		    http_err(out, 404, "no such message in quarantine");
	}
	if (q == &tmp)
		queue_info_clear(q);
	return 0;
}

static int
quarantine_get(struct http_req *r, json_t **out)
{
	struct envelope *env = NULL;
	struct queue_info qi;
	json_t *rcpts, *detail, *obj;
	double score;
	char *raw;
	size_t len;
	int st;

	if ((st = load_visible(r, &env, &qi, out)) != 0)
		return st;
	rcpts = json_array();
	for (size_t i = 0; i < env->nrcpt; i++)
		json_array_append_new(rcpts, http_json_str(env->rcpt[i].addr));
	scan_summary(qi.scan, &score, NULL, &detail);
	obj = json_pack("{s:s, s:o, s:o, s:o, s:o, s:f, s:o, s:o, s:s}",
	    "id", env->id, "received", iso(env->received_ms),
	    "from", http_json_str(env->mail_from ? env->mail_from : ""), "rcpts", rcpts,
	    "subject", jstr_or_null(qi.subject), "score", score,
	    "action", jstr_or_null(qi.action), "symbols", detail,
	    "direction", env->listener && strcmp(env->listener, "outbound") == 0 ?
	    "outbound" : "inbound");
	if ((raw = quarantine_read(r->srv->spool, env->id, &len)) != NULL) {
		http_preview(obj, raw, len);
		free(raw);
	} else {
		json_object_set_new(obj, "headers", json_array());
		json_object_set_new(obj, "text", json_string("(the message file is missing)"));
		json_object_set_new(obj, "html", json_null());
		json_object_set_new(obj, "attachments", json_array());
	}
	envelope_free(env);
	queue_info_clear(&qi);
	*out = obj;
	return 200;
}

static int
admin_status(enum qadmin_rc rc, const char *err, json_t **out)
{
	switch (rc) {
	case QADMIN_OK:
		return 200;
	case QADMIN_NOT_FOUND:
		return http_err(out, 404, "no such message in quarantine");
	case QADMIN_WRONG_STATE:
		return http_err(out, 409, "the message is no longer in quarantine");
	default:
		log_err("console: %s", err);
		return http_err(out, 500, "could not change the message");
	}
}

static int
quarantine_release_h(struct http_req *r, json_t **out)
{
	char err[512];
	enum qadmin_rc rc;
	int st;

	if ((st = load_visible(r, NULL, NULL, out)) != 0)
		return st;
	rc = quarantine_release(r->st, r->caps[0], err, sizeof(err));
	if ((st = admin_status(rc, err, out)) != 200)
		return st;
	http_audit(r, "quarantine_release", r->caps[0], NULL);
	*out = json_pack("{s:s, s:s}", "id", r->caps[0], "state", "queued");
	return 200;
}

static int
quarantine_delete_h(struct http_req *r, json_t **out)
{
	char err[512];
	enum qadmin_rc rc;
	int st;

	if ((st = load_visible(r, NULL, NULL, out)) != 0)
		return st;
	rc = quarantine_delete(r->st, r->srv->spool, r->caps[0], err, sizeof(err));
	if ((st = admin_status(rc, err, out)) != 200)
		return st;
	http_audit(r, "quarantine_delete", r->caps[0], NULL);
	*out = json_pack("{s:s, s:s}", "id", r->caps[0], "state", "deleted");
	return 200;
}

static int
quarantine_learn_h(struct http_req *r, json_t **out)
{
	const char *label = r->json ? jstr(r->json, "label") : NULL;
	enum learn_outcome o;
	enum qadmin_rc rc;
	char err[512];
	int st;

	if (label == NULL || (strcmp(label, "spam") != 0 && strcmp(label, "ham") != 0))
		return http_err(out, 400, "label must be spam or ham");
	if ((st = load_visible(r, NULL, NULL, out)) != 0)
		return st;
	rc = quarantine_learn(r->st, r->srv->spool, r->caps[0], strcmp(label, "spam") == 0,
	    (unsigned)r->srv->cfg->bayes_table_bits, "user", &o, err, sizeof(err));
	if ((st = admin_status(rc, err, out)) != 200)
		return st;
	http_audit(r, "quarantine_learn", r->caps[0], label);
	*out = json_pack("{s:s, s:s}", "id", r->caps[0], "outcome", learn_outcome_name(o));
	return 200;
}

/* ---- message log ---- */

static const char *
log_state_name(int state)
{
	return state == MSGLOG_DELETED ? "deleted" : store_state_name((enum msg_state)state);
}

static int
log_row(const struct msg_row *row, void *arg)
{
	json_t *items = arg;
	json_t *o = json_pack("{s:s, s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:o}",
	    "id", row->id, "received", iso(row->received_ms), "direction", row->direction,
	    "from", http_json_str(row->from ? row->from : ""), "rcpts", json_array_text(row->rcpts),
	    "subject", jstr_or_null(row->subject), "action", jstr_or_null(row->action),
	    "state", log_state_name(row->state), "symbols", json_array_text(row->scan));

	json_object_set_new(o, "score", row->has_score ? json_real(row->score) : json_null());
	json_array_append_new(items, o);
	return 0;
}

static int
messages(struct http_req *r, json_t **out)
{
	struct msg_query q;
	json_t *items;
	int64_t total = 0;
	int st;

	memset(&q, 0, sizeof(q));
	if ((st = query_args(r, &q, out)) != 0)
		return st;
	q.q = http_arg(r, "q");
	q.sender = http_arg(r, "sender");
	q.rcpt = http_arg(r, "rcpt");
	q.subject = http_arg(r, "subject");
	q.action = http_arg(r, "action");
	q.symbol = http_arg(r, "symbol");
	q.addr = own_addr(r);
	items = json_array();
	if (store_msglog_query(r->st, &q, log_row, items, &total) < 0) {
		json_decref(items);
		return http_err(out, 500, "store error");
	}
	*out = json_pack("{s:I, s:o}", "total", (json_int_t)total, "items", items);
	return 200;
}

/* ---- stats ---- */

struct stats_ctx {
	int64_t since;
	int64_t nhours;
	json_t *buckets;	/* one object per hour */
	json_t *list;
	const char *keyname;
	int64_t received, delivered, quarantined, rejected;
};

static json_t *
bucket(struct stats_ctx *c, int64_t t)
{
	int64_t i = (t - c->since) / HOUR_MS;

	if (i < 0 || i >= c->nhours)
		return NULL;
	return json_array_get(c->buckets, (size_t)i);
}

static int
by_action_cb(int64_t t, const char *action, int64_t n, void *arg)
{
	struct stats_ctx *c = arg;
	json_t *b = bucket(c, t);

	c->received += n;
	if (strcmp(action, "deliver") == 0 || strcmp(action, "tag") == 0)
		c->delivered += n;
	else if (strcmp(action, "quarantine") == 0)
		c->quarantined += n;
	else if (strcmp(action, "reject") == 0)
		c->rejected += n;
	if (b != NULL) {
		json_int_t old = json_integer_value(json_object_get(b, action));

		json_object_set_new(b, action, json_integer(old + n));
	}
	return 0;
}

static int
top_cb(int64_t key, const char *name, int64_t n, void *arg)
{
	struct stats_ctx *c = arg;

	(void)key;
	json_array_append_new(c->list, json_pack("{s:o, s:I}", c->keyname, http_json_str(name),
	    "count", (json_int_t)n));
	return 0;
}

static int
logins_cb(int64_t t, const char *kind, int64_t n, void *arg)
{
	struct stats_ctx *c = arg;
	json_t *b = bucket(c, t);

	if (b != NULL) {
		json_t *lb = json_object_get(b, "_logins");

		json_object_set_new(lb, kind, json_integer(n));
	}
	return 0;
}

static int
stats(struct http_req *r, json_t **out)
{
	struct stats_ctx c;
	const char *addr = own_addr(r);
	json_t *by_action, *syms, *targets, *logins, *holds, *b;
	int64_t hours, now = util_now_ms();
	size_t i;

	if (int_arg(r, "hours", 24, 1, STATS_MAX_HOURS, &hours) < 0)
		return http_err(out, 400, "hours must be 1..720");
	memset(&c, 0, sizeof(c));
	c.nhours = hours;
	c.since = (now / HOUR_MS - hours + 1) * HOUR_MS;
	c.buckets = json_array();
	for (int64_t h = 0; h < hours; h++)
		json_array_append_new(c.buckets, json_pack("{s:o, s:i, s:i, s:i, s:i, s:i, s:{}}",
		    "t", iso(c.since + h * HOUR_MS), "deliver", 0, "tag", 0, "quarantine", 0,
		    "reject", 0, "hold", 0, "_logins"));
	if (store_stats_by_action(r->st, c.since, addr, by_action_cb, &c) < 0)
		goto fail;
	syms = c.list = json_array();
	c.keyname = "name";
	if (store_stats_symbols(r->st, c.since, addr, TOP_N, top_cb, &c) < 0) {
		json_decref(syms);
		goto fail;
	}
	targets = c.list = json_array();
	c.keyname = "rcpt";
	if (store_stats_targets(r->st, c.since, addr, TOP_N, top_cb, &c) < 0) {
		json_decref(syms);
		json_decref(targets);
		goto fail;
	}
	if (addr == NULL && store_login_stats(r->st, c.since, logins_cb, &c) < 0) {
		json_decref(syms);
		json_decref(targets);
		goto fail;
	}
	by_action = json_array();
	logins = json_array();
	json_array_foreach(c.buckets, i, b) {
		json_t *lb = json_object_get(b, "_logins");
		json_int_t f = json_integer_value(json_object_get(lb, "failures"));
		json_int_t x = json_integer_value(json_object_get(lb, "refused"));

		if (addr == NULL && (f || x))
			json_array_append_new(logins, json_pack("{s:O, s:I, s:I}", "t",
			    json_object_get(b, "t"), "failures", f, "refused", x));
		json_object_del(b, "_logins");
		json_array_append(by_action, b);
	}
	json_decref(c.buckets);
	if ((holds = http_hold_stats(r, c.since)) == NULL) {
		json_decref(by_action);
		json_decref(syms);
		json_decref(targets);
		json_decref(logins);
		return http_err(out, 500, "store error");
	}
	*out = json_pack("{s:o, s:o, s:o, s:o, s:o, s:{s:I, s:I, s:I, s:I}}",
	    "by_action", by_action, "top_symbols", syms, "top_targets", targets,
	    "logins", logins, "holds", holds, "totals", "received", (json_int_t)c.received,
	    "delivered", (json_int_t)c.delivered, "quarantined", (json_int_t)c.quarantined,
	    "rejected", (json_int_t)c.rejected);
	return 200;
fail:
	json_decref(c.buckets);
	return http_err(out, 500, "store error");
}

/* ---- admin ---- */

static int
secret_option(const char *name)
{
	static const char *const words[] = { "password", "secret", "token", "passphrase",
		"credential", NULL };

	for (const char *const *w = words; *w; w++)
		if (strstr(name, *w) != NULL)
			return 1;
	return 0;
}

static int
config_get(struct http_req *r, json_t **out)
{
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&text, &len);
	json_t *opts = json_array();

	if (fp == NULL)
		return http_err(out, 500, "out of memory");
	config_dump(r->srv->cfg, fp, 0);
	fclose(fp);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strstr(line, " = ");

		if (eq == NULL)
			continue;
		*eq = '\0';
		json_array_append_new(opts, json_pack("{s:s, s:s}", "name", line, "value",
		    secret_option(line) && eq[3] ? "(redacted)" : eq + 3));
	}
	free(text);
	*out = json_pack("{s:o}", "options", opts);
	return 200;
}

static int
audit_row(const struct console_audit *a, void *arg)
{
	json_t *items = arg;

	json_array_append_new(items, json_pack("{s:o, s:o, s:o, s:s, s:o, s:o}",
	    "t", iso(a->t_ms), "user", jstr_or_null(a->user), "ip", jstr_or_null(a->ip),
	    "action", a->action, "target", jstr_or_null(a->target),
	    "detail", jstr_or_null(a->detail)));
	return 0;
}

static int
audit_list(struct http_req *r, json_t **out)
{
	int64_t limit, offset, total;
	json_t *items;

	if (int_arg(r, "limit", LIST_DEFAULT, 1, LIST_MAX, &limit) < 0 ||
	    int_arg(r, "offset", 0, 0, INT64_MAX / 2, &offset) < 0)
		return http_err(out, 400, "limit must be 1..500 and offset >= 0");
	items = json_array();
	if ((total = store_caudit_count(r->st)) < 0 ||
	    store_caudit_foreach(r->st, limit, offset, audit_row, items) < 0) {
		json_decref(items);
		return http_err(out, 500, "store error");
	}
	*out = json_pack("{s:I, s:o}", "total", (json_int_t)total, "items", items);
	return 200;
}

static int
user_row(const struct console_user *u, void *arg)
{
	json_array_append_new(arg, http_user_json(u));
	return 0;
}

static int
users_list(struct http_req *r, json_t **out)
{
	json_t *items = json_array();

	if (store_cuser_foreach(r->st, user_row, items) < 0) {
		json_decref(items);
		return http_err(out, 500, "store error");
	}
	*out = json_pack("{s:o}", "items", items);
	return 200;
}

static int
users_add(struct http_req *r, json_t **out)
{
	const char *name = jstr(r->json, "name");
	char *secret = NULL, *uri = NULL, err[256];
	int rc;

	if (r->json == NULL)
		return http_err(out, 400, "name, password and role are required");
	rc = console_user_create(r->st, r->srv->secret_key, name, jstr(r->json, "password"),
	    jstr(r->json, "role"), jstr(r->json, "email"), jstr(r->json, "lang"),
	    &secret, &uri, err, sizeof(err));
	if (rc != 0)
		return http_err(out, rc == 1 ? 409 : 400, err);
	http_audit(r, "user_add", name, jstr(r->json, "role"));
	*out = json_pack("{s:s, s:s, s:s}", "name", name, "totp_uri", uri,
	    "totp_secret", secret);
	free(secret);
	free(uri);
	return 201;
}

static int
users_delete(struct http_req *r, json_t **out)
{
	const char *name = r->caps[0];
	int rc;

	if (strcmp(name, r->user.name) == 0)
		return http_err(out, 400, "you cannot delete your own account");
	if ((rc = store_cuser_delete(r->st, name)) < 0)
		return http_err(out, 500, "store error");
	if (rc == 1)
		return http_err(out, 404, "no such user");
	http_audit(r, "user_delete", name, NULL);
	*out = NULL;
	return 204;
}

/* ---- shared with the other handler files (http_int.h) ---- */

json_t *
http_iso_json(int64_t ms)
{
	return ms ? iso(ms) : json_null();
}

int
http_valid_id(const char *id)
{
	return valid_id(id);
}

const char *
http_own_addr(struct http_req *r)
{
	return own_addr(r);
}

int
http_int_arg(struct http_req *r, const char *name, int64_t def, int64_t min, int64_t max,
    int64_t *out)
{
	return int_arg(r, name, def, min, max, out);
}

void
http_scan_symbols(const char *scan, double *score, json_t **detail)
{
	scan_summary(scan, score, NULL, detail);
}

json_t *
http_json_array_text(const char *text)
{
	return json_array_text(text);
}

static const struct http_route routes[] = {
	{ "POST", "/api/v1/login", http_login, ROLE_NONE },
	{ "POST", "/api/v1/logout", http_logout, ROLE_USER },
	{ "GET", "/api/v1/me", me, ROLE_USER },
	{ "PUT", "/api/v1/me", me_put, ROLE_USER },
	{ "GET", "/api/v1/quarantine", quarantine_list, ROLE_USER },
	{ "GET", "/api/v1/quarantine/*", quarantine_get, ROLE_USER },
	{ "POST", "/api/v1/quarantine/*/release", quarantine_release_h, ROLE_USER },
	{ "POST", "/api/v1/quarantine/*/delete", quarantine_delete_h, ROLE_USER },
	{ "POST", "/api/v1/quarantine/*/learn", quarantine_learn_h, ROLE_USER },
	{ "GET", "/api/v1/messages", messages, ROLE_USER },
	{ "GET", "/api/v1/stats", stats, ROLE_USER },
	{ "GET", "/api/v1/config", config_get, ROLE_ADMIN },
	{ "GET", "/api/v1/audit", audit_list, ROLE_ADMIN },
	{ "GET", "/api/v1/users", users_list, ROLE_ADMIN },
	{ "POST", "/api/v1/users", users_add, ROLE_ADMIN },
	{ "DELETE", "/api/v1/users/*", users_delete, ROLE_ADMIN },
	/* http_holds.c */
	{ "GET", "/api/v1/holds", http_holds_list, ROLE_USER },
	{ "GET", "/api/v1/holds/*", http_hold_get, ROLE_USER },
	{ "POST", "/api/v1/holds/*/cancel", http_hold_cancel, ROLE_USER },
	{ "POST", "/api/v1/holds/*/release", http_hold_release, ROLE_USER },
	{ "GET", "/api/v1/approvals", http_approvals_list, ROLE_APPROVER },
	{ "POST", "/api/v1/approvals/*/approve", http_approval_approve, ROLE_APPROVER },
	{ "POST", "/api/v1/approvals/*/reject", http_approval_reject, ROLE_APPROVER },
	/* http_account.c */
	{ "GET", "/api/v1/accounts/locks", http_locks_list, ROLE_USER },
	{ "POST", "/api/v1/accounts/locks", http_lock_add, ROLE_ADMIN },
	{ "DELETE", "/api/v1/accounts/locks/*", http_lock_delete, ROLE_ADMIN },
	{ "GET", "/api/v1/accounts/alerts", http_alerts_list, ROLE_USER },
	{ "POST", "/api/v1/accounts/alerts/*/ack", http_alert_ack, ROLE_ADMIN },
	{ "GET", "/api/v1/accounts/logins", http_logins_list, ROLE_USER },
	{ "GET", "/api/v1/incidents", http_incidents_list, ROLE_ADMIN },
	{ "POST", "/api/v1/incidents", http_incident_open, ROLE_ADMIN },
	{ "GET", "/api/v1/incidents/*", http_incident_get, ROLE_ADMIN },
	{ "POST", "/api/v1/incidents/*/steps/*", http_incident_step, ROLE_ADMIN },
	{ "POST", "/api/v1/incidents/*/close", http_incident_close, ROLE_ADMIN },
};

const struct http_route *
http_routes(size_t *n)
{
	*n = UTIL_ARRAY_LEN(routes);
	return routes;
}
