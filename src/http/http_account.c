/*
 * http_account.c - account security and incidents over the REST API
 * (docs/api/openapi.yaml: /accounts/..., /incidents).
 *
 * Locks, alerts and login events are the store's (store_account.h), the
 * same rows the Dovecot and Postfix policy servers read, so a lock made
 * here refuses the next IMAP or SMTP login.  An admin sees and changes
 * everything; anyone else sees only what concerns their own login (their
 * console email, and their console name for console logins) and changes
 * nothing.  Incidents are the admin's alone and run the same functions
 * as "sekisho incident" (account/incident.h), with "console:NAME" as the
 * actor.  Every change goes to the audit log.
 */
#include "account/incident.h"
#include "http/http_form.h"
#include "http/http_int.h"
#include "store/store.h"
#include "store/store_account.h"
#include "util/log.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define ROWS_DEFAULT	100
#define ROWS_MAX	500
#define REASON_MAX	255

static const char *
jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* Does login concern r's user?  Admins: everything. */
static int
mine(struct http_req *r, const char *login)
{
	if (r->role == ROLE_ADMIN)
		return 1;
	if (login == NULL || *login == '\0')
		return 0;
	return (r->user.email && *r->user.email && util_strcasecmp(login, r->user.email) == 0) ||
	    strcmp(login, r->user.name) == 0;
}

/* ---- locks ---- */

static json_t *
lock_json(const struct store_lock *l)
{
	return json_pack("{s:o, s:o, s:o, s:o}", "login", http_json_str(l->login),
	    "created", http_iso_json(l->created_ms), "until", http_iso_json(l->until_ms),
	    "reason", http_json_str(l->reason));
}

struct rows {
	struct http_req *r;
	json_t *items;
	int64_t max;
};

static int
lock_cb(const struct store_lock *l, void *arg)
{
	struct rows *c = arg;

	if (mine(c->r, l->login))
		json_array_append_new(c->items, lock_json(l));
	return 0;
}

int
http_locks_list(struct http_req *r, json_t **out)
{
	struct rows c = { r, json_array(), 0 };

	if (store_lock_foreach(r->st, lock_cb, &c) < 0) {
		json_decref(c.items);
		return http_err(out, 500, "store error");
	}
	*out = json_pack("{s:o}", "items", c.items);
	return 200;
}

static int
valid_login(const char *login)
{
	size_t n = login ? strlen(login) : 0;

	if (n == 0 || n >= STORE_LOGIN_MAX)
		return 0;
	for (const unsigned char *p = (const unsigned char *)login; *p; p++)
		if (*p <= ' ' || *p == 0x7f)
			return 0;
	return 1;
}

int
http_lock_add(struct http_req *r, json_t **out)
{
	const char *login = r->json ? jstr(r->json, "login") : NULL;
	const char *reason = r->json ? jstr(r->json, "reason") : NULL;
	const char *dur = r->json ? jstr(r->json, "for") : NULL;
	struct store_lock l;
	int64_t ms, until = 0;
	char detail[320];

	if (!valid_login(login))
		return http_err(out, 400, "login must be a login name without spaces");
	if (reason == NULL || *reason == '\0')
		reason = "locked by the administrator";
	if (strlen(reason) > REASON_MAX)
		return http_err(out, 400, "reason is too long (255 bytes at most)");
	if (http_parse_duration(dur, &ms) < 0)
		return http_err(out, 400, "for must be empty or a number followed by m, h or d");
	if (ms > 0)
		until = util_now_ms() + ms;
	if (store_lock_set(r->st, login, until, reason) < 0)
		return http_err(out, 500, "store error");
	snprintf(detail, sizeof(detail), "%s%s%s", reason, dur && *dur ? "; for " : "",
	    dur && *dur ? dur : "");
	http_audit(r, "account_lock", login, detail);
	if (store_lock_get(r->st, login, &l) != 0)
		return http_err(out, 500, "store error");
	*out = lock_json(&l);
	return 201;
}

int
http_lock_delete(struct http_req *r, json_t **out)
{
	const char *login = r->caps[0];
	int rc;

	if ((rc = store_lock_clear(r->st, login)) < 0)
		return http_err(out, 500, "store error");
	if (rc == 1)
		return http_err(out, 404, "this login is not locked");
	http_audit(r, "account_unlock", login, NULL);
	*out = NULL;
	return 204;
}

/* ---- alerts ---- */

static int
alert_cb(const struct store_alert *a, void *arg)
{
	struct rows *c = arg;

	if (!mine(c->r, a->login))
		return 0;
	json_array_append_new(c->items, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:b}",
	    "id", (json_int_t)a->id, "t", http_iso_json(a->time_ms), "kind", http_json_str(a->kind),
	    "login", http_json_str(a->login), "ip", http_json_str(a->ip),
	    "detail", http_json_str(a->detail), "acknowledged", a->acknowledged));
	return (int64_t)json_array_size(c->items) >= c->max;
}

int
http_alerts_list(struct http_req *r, json_t **out)
{
	struct rows c = { r, json_array(), 0 };
	int64_t all;

	if (http_int_arg(r, "all", 0, 0, 1, &all) < 0 ||
	    http_int_arg(r, "limit", ROWS_DEFAULT, 1, ROWS_MAX, &c.max) < 0) {
		json_decref(c.items);
		return http_err(out, 400, "all must be 0 or 1 and limit 1..500");
	}
	/* others' alerts are skipped by the callback, so the store is not limited */
	if (store_alert_foreach(r->st, !all, r->role == ROLE_ADMIN ? (size_t)c.max : 0,
	    alert_cb, &c) < 0) {
		json_decref(c.items);
		return http_err(out, 500, "store error");
	}
	*out = json_pack("{s:o}", "items", c.items);
	return 200;
}

int
http_alert_ack(struct http_req *r, json_t **out)
{
	char *end;
	long long id = strtoll(r->caps[0], &end, 10);
	int rc;

	if (*end != '\0' || id <= 0)
		return http_err(out, 404, "no such alert");
	if ((rc = store_alert_ack(r->st, id)) < 0)
		return http_err(out, 500, "store error");
	if (rc == 1)
		return http_err(out, 404, "no such alert");
	http_audit(r, "alert_ack", r->caps[0], NULL);
	*out = json_pack("{s:I, s:b}", "id", (json_int_t)id, "acknowledged", 1);
	return 200;
}

/* ---- login events ---- */

struct events {
	struct store_login *ev;
	size_t n, cap;
};

static int
event_cb(const struct store_login *ev, void *arg)
{
	struct events *e = arg;

	if (e->n == e->cap) {
		e->cap = e->cap ? e->cap * 2 : 64;
		e->ev = xrealloc(e->ev, e->cap * sizeof(*e->ev));
	}
	e->ev[e->n++] = *ev;
	return 0;
}

static int
newest_first(const void *a, const void *b)
{
	const struct store_login *x = a, *y = b;

	if (x->time_ms != y->time_ms)
		return x->time_ms < y->time_ms ? 1 : -1;
	return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

int
http_logins_list(struct http_req *r, json_t **out)
{
	const char *login = http_arg(r, "login"), *res = http_arg(r, "result");
	const char *since = http_arg(r, "since");
	enum login_result result = 0;
	struct events e = { NULL, 0, 0 };
	int64_t limit, since_ms = 0;
	json_t *items;
	int rc = 0;

	if (http_int_arg(r, "limit", ROWS_DEFAULT, 1, ROWS_MAX, &limit) < 0)
		return http_err(out, 400, "limit must be 1..500");
	if (since && *since && http_parse_time(since, &since_ms) < 0)
		return http_err(out, 400, "since takes an ISO 8601 time or epoch seconds");
	if (res && *res) {
		if (strcmp(res, "ok") == 0)
			result = LOGIN_OK;
		else if (strcmp(res, "fail") == 0)
			result = LOGIN_FAIL;
		else if (strcmp(res, "refused") == 0)
			result = LOGIN_REFUSED;
		else
			return http_err(out, 400, "result must be ok, fail or refused");
	}
	if (login != NULL && *login == '\0')
		login = NULL;
	if (r->role == ROLE_ADMIN) {
		rc = store_login_foreach(r->st, login, since_ms, result, (size_t)limit,
		    event_cb, &e);
	} else {
		/* their mail login and their console name, nobody else's */
		if (login != NULL && !mine(r, login))
			return http_err(out, 403, "you may only see your own logins");
		if (login != NULL)
			rc = store_login_foreach(r->st, login, since_ms, result, (size_t)limit,
			    event_cb, &e);
		else {
			if (r->user.email && *r->user.email)
				rc = store_login_foreach(r->st, r->user.email, since_ms, result,
				    (size_t)limit, event_cb, &e);
			if (rc == 0 && (!r->user.email ||
			    strcmp(r->user.email, r->user.name) != 0))
				rc = store_login_foreach(r->st, r->user.name, since_ms, result,
				    (size_t)limit, event_cb, &e);
		}
	}
	if (rc < 0) {
		free(e.ev);
		return http_err(out, 500, "store error");
	}
	qsort(e.ev, e.n, sizeof(*e.ev), newest_first);
	items = json_array();
	for (size_t i = 0; i < e.n && (int64_t)i < limit; i++) {
		const struct store_login *ev = &e.ev[i];

		json_array_append_new(items, json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:s}",
		    "id", (json_int_t)ev->id, "t", http_iso_json(ev->time_ms),
		    "login", http_json_str(ev->login), "ip", http_json_str(ev->ip),
		    "protocol", http_json_str(ev->protocol), "source", http_json_str(ev->source),
		    "country", http_json_str(ev->country),
		    "result", store_login_result_name(ev->result)));
	}
	free(e.ev);
	*out = json_pack("{s:o}", "items", items);
	return 200;
}

/* ---- incidents ---- */

static void
incident_env_of(struct http_req *r, struct incident_env *ie, char *actor, size_t len)
{
	snprintf(actor, len, "console:%s", r->user.name);
	memset(ie, 0, sizeof(*ie));
	ie->cfg = r->srv->cfg;
	ie->st = r->st;
	ie->spool = r->srv->spool;
	ie->actor = actor;
}

static int
incident_id(const char *text, int64_t *id)
{
	char *end;
	long long v = strtoll(text, &end, 10);

	if (*end != '\0' || v <= 0)
		return -1;
	*id = v;
	return 0;
}

int
http_incidents_list(struct http_req *r, json_t **out)
{
	struct incident_env ie;
	char actor[96], err[256];
	int64_t open_only;
	json_t *items;

	if (http_int_arg(r, "open", 0, 0, 1, &open_only) < 0)
		return http_err(out, 400, "open must be 0 or 1");
	incident_env_of(r, &ie, actor, sizeof(actor));
	if ((items = incident_list(&ie, (int)open_only, err, sizeof(err))) == NULL) {
		log_err("console: incident list: %s", err);
		return http_err(out, 500, "store error");
	}
	*out = json_pack("{s:o}", "items", items);
	return 200;
}

int
http_incident_open(struct http_req *r, json_t **out)
{
	const char *login = r->json ? jstr(r->json, "login") : NULL;
	struct incident_env ie;
	char actor[96], err[256], idtext[32];
	int64_t id = 0;
	json_t *o;

	if (!valid_login(login))
		return http_err(out, 400, "login must be a login name without spaces");
	incident_env_of(r, &ie, actor, sizeof(actor));
	if ((o = incident_open(&ie, login, &id, err, sizeof(err))) == NULL) {
		if (id == 0 && strstr(err, "already open") != NULL)
			return http_err(out, 409, err);
		log_err("console: incident open %s: %s", login, err);
		return http_err(out, id == 0 ? 400 : 500, err);
	}
	snprintf(idtext, sizeof(idtext), "%lld", (long long)id);
	/* the detail names the login only: the temporary password is in o */
	http_audit(r, "incident_open", idtext, login);
	*out = o;
	return 201;
}

static int
show(struct incident_env *ie, int64_t id, json_t **out)
{
	char err[256];

	if ((*out = incident_show(ie, id, err, sizeof(err))) == NULL)
		return http_err(out, strncmp(err, "no incident", 11) == 0 ? 404 : 500, err);
	return 200;
}

int
http_incident_get(struct http_req *r, json_t **out)
{
	struct incident_env ie;
	char actor[96];
	int64_t id;

	if (incident_id(r->caps[0], &id) < 0)
		return http_err(out, 404, "no such incident");
	incident_env_of(r, &ie, actor, sizeof(actor));
	return show(&ie, id, out);
}

int
http_incident_step(struct http_req *r, json_t **out)
{
	struct incident_env ie;
	json_t *done = r->json ? json_object_get(r->json, "done") : NULL;
	const char *note = r->json ? jstr(r->json, "note") : NULL;
	char actor[96], err[256], detail[320];
	int64_t id, step;
	int rc;

	if (incident_id(r->caps[0], &id) < 0)
		return http_err(out, 404, "no such incident");
	if (incident_id(r->caps[1], &step) < 0 || step > 4)
		return http_err(out, 400, "the step is 1 to 4");
	if (done != NULL && !json_is_boolean(done))
		return http_err(out, 400, "done must be true or false");
	if (note != NULL && strlen(note) > 1000)
		return http_err(out, 400, "note is too long (1000 bytes at most)");
	incident_env_of(r, &ie, actor, sizeof(actor));
	rc = incident_mark(&ie, id, (int)step, done == NULL || json_is_true(done),
	    note ? note : "", err, sizeof(err));
	if (rc != 0)
		return http_err(out, rc == 1 ? 404 : 500, err);
	snprintf(detail, sizeof(detail), "step %lld %s%s%s", (long long)step,
	    done == NULL || json_is_true(done) ? "done" : "undone", note ? ": " : "",
	    note ? note : "");
	http_audit(r, "incident_step", r->caps[0], detail);
	return show(&ie, id, out);
}

int
http_incident_close(struct http_req *r, json_t **out)
{
	struct incident_env ie;
	char actor[96], err[256];
	int64_t id;
	int rc;

	if (incident_id(r->caps[0], &id) < 0)
		return http_err(out, 404, "no such incident");
	incident_env_of(r, &ie, actor, sizeof(actor));
	if ((rc = show(&ie, id, out)) != 200)
		return rc;		/* unknown: 404 */
	json_decref(*out);
	*out = NULL;
	if ((rc = incident_close(&ie, id, err, sizeof(err))) != 0)
		return http_err(out, rc == 1 ? 409 : 500, err);
	http_audit(r, "incident_close", r->caps[0], NULL);
	return show(&ie, id, out);
}
