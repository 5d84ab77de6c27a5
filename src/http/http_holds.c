/*
 * http_holds.c - holds and approvals over the REST API
 * (docs/api/openapi.yaml: /holds, /approvals).
 *
 * Who sees what:
 *   user      the holds where they are the envelope sender (their console
 *             email, without case);
 *   approver  every hold (read only) and, under /approvals, the approval
 *             holds naming their email as an approver (delegates are in
 *             that list already);
 *   admin     everything.
 * Anything else answers 404, as an unknown id does.
 *
 * Who decides: cancel (recall) and release are the sender's or an
 * admin's; a sender cannot release what waits for an approver or an
 * admin.  approve and reject are for the hold's approvers and admins,
 * never for the sender (self-approval is refused here with 403 and again
 * by outbound_act).  Every decision is outbound_act(), the call the CLI
 * and the links make, with the console user's email as the actor, and is
 * written to the audit log.
 */
#include "http/http_form.h"
#include "http/http_int.h"
#include "outbound/outbound.h"
#include "queue/queue_admin.h"
#include "store/store.h"
#include "store/store_api.h"
#include "util/log.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define LIST_DEFAULT	50
#define LIST_MAX	500
#define COMMENT_MAX	1000

static const char *const statuses[] = {
	"held", "released", "approved", "cancelled", "rejected", "expired", NULL
};

/* The console user's mail address, or NULL when they have none. */
static const char *
my_addr(struct http_req *r)
{
	return r->user.email && *r->user.email ? r->user.email : NULL;
}

static int
is_sender(struct http_req *r, const struct store_hold *h)
{
	const char *me = my_addr(r);

	return me != NULL && h->sender != NULL && util_strcasecmp(me, h->sender) == 0;
}

static int
is_approver(struct http_req *r, const struct store_hold *h)
{
	const char *me = my_addr(r);

	return me != NULL && r->role >= ROLE_APPROVER && http_addr_in_list(h->approvers, me);
}

static int
may_cancel(struct http_req *r, const struct store_hold *h)
{
	return r->role == ROLE_ADMIN || is_sender(r, h);
}

static int
may_release(struct http_req *r, const struct store_hold *h)
{
	if (r->role == ROLE_ADMIN)
		return 1;
	return is_sender(r, h) && (strcmp(h->kind, "hold") == 0 ||
	    strcmp(h->kind, "confirm") == 0);
}

static int
may_decide(struct http_req *r, const struct store_hold *h)
{
	return strcmp(h->kind, "approval") == 0 && !is_sender(r, h) &&
	    (r->role == ROLE_ADMIN || is_approver(r, h));
}

/* May r's user see h at all (the /holds view)? */
static int
visible(struct http_req *r, const struct store_hold *h)
{
	return r->role >= ROLE_APPROVER || is_sender(r, h);
}

static json_t *
words_json(const char *list)
{
	json_t *a = json_array();
	char *copy = xstrdup(list ? list : ""), *save = NULL;

	for (char *w = strtok_r(copy, " ,", &save); w; w = strtok_r(NULL, " ,", &save))
		json_array_append_new(a, http_json_str(w));
	free(copy);
	return a;
}

static json_t *
item_json(struct http_req *r, const struct hold_view *v)
{
	const struct store_hold *h = &v->h;
	json_t *actions = json_array();
	int held = strcmp(h->status, "held") == 0;

	if (held && may_cancel(r, h))
		json_array_append_new(actions, json_string("cancel"));
	if (held && may_release(r, h))
		json_array_append_new(actions, json_string("release"));
	if (held && may_decide(r, h)) {
		json_array_append_new(actions, json_string("approve"));
		json_array_append_new(actions, json_string("reject"));
	}
	return json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:f, s:o, s:o, s:o, s:o, s:o, s:o,"
	    " s:o, s:o}",
	    "id", h->msg_id, "kind", h->kind, "status", h->status,
	    "from", http_json_str(h->sender ? h->sender : ""),
	    "rcpts", http_json_array_text(v->rcpts), "subject", http_json_str(v->subject),
	    "risk", h->risk, "created", http_iso_json(h->created_ms),
	    "release_at", http_iso_json(strcmp(h->kind, "hold") == 0 ? h->release_at : 0),
	    "deadline", http_iso_json(h->deadline_at),
	    "decided", http_iso_json(h->decided_ms), "decided_by", http_json_str(h->decided_by),
	    "comment", http_json_str(h->comment), "approvers", words_json(h->approvers),
	    "actions", actions);
}

struct list_ctx {
	struct http_req *r;
	json_t *items;
};

static int
list_cb(const struct hold_view *v, void *arg)
{
	struct list_ctx *c = arg;

	json_array_append_new(c->items, item_json(c->r, v));
	return 0;
}

/* state, limit, offset into q: 0, or 400 into *out. */
static int
list_args(struct http_req *r, struct hold_query *q, json_t **out)
{
	const char *state = http_arg(r, "state");

	if (http_int_arg(r, "limit", LIST_DEFAULT, 1, LIST_MAX, &q->limit) < 0 ||
	    http_int_arg(r, "offset", 0, 0, INT64_MAX / 2, &q->offset) < 0)
		return http_err(out, 400, "limit must be 1..500 and offset >= 0");
	q->status = "held";
	if (state == NULL || *state == '\0')
		return 0;
	if (strcmp(state, "all") == 0) {
		q->status = NULL;
		return 0;
	}
	for (const char *const *s = statuses; *s; s++)
		if (strcmp(*s, state) == 0) {
			q->status = *s;
			return 0;
		}
	return http_err(out, 400, "state must be held, released, approved, cancelled, "
	    "rejected, expired or all");
}

static int
run_list(struct http_req *r, const struct hold_query *q, json_t **out)
{
	struct list_ctx c = { r, json_array() };
	int64_t total = 0;

	if (store_hold_query(r->st, q, list_cb, &c, &total) < 0) {
		json_decref(c.items);
		return http_err(out, 500, "store error");
	}
	*out = json_pack("{s:I, s:o}", "total", (json_int_t)total, "items", c.items);
	return 200;
}

int
http_holds_list(struct http_req *r, json_t **out)
{
	struct hold_query q;
	int st;

	memset(&q, 0, sizeof(q));
	if ((st = list_args(r, &q, out)) != 0)
		return st;
	if (r->role < ROLE_APPROVER)
		q.sender = my_addr(r) ? my_addr(r) : "\x01";	/* no address: nothing */
	return run_list(r, &q, out);
}

int
http_approvals_list(struct http_req *r, json_t **out)
{
	struct hold_query q;
	int st;

	memset(&q, 0, sizeof(q));
	if ((st = list_args(r, &q, out)) != 0)
		return st;
	q.kind = "approval";
	if (r->role < ROLE_ADMIN)
		q.approver = my_addr(r) ? my_addr(r) : "\x01";
	return run_list(r, &q, out);
}

/* Load the hold of r->caps[0] if r's user may see it: 0, or the status. */
static int
load(struct http_req *r, struct hold_view *v, json_t **out)
{
	int rc;

	memset(v, 0, sizeof(*v));
	if (!http_valid_id(r->caps[0]))
		return http_err(out, 404, "no such hold");
	if ((rc = store_hold_view_get(r->st, r->caps[0], v)) < 0)
		return http_err(out, 500, "store error");
	if (rc == 1 || !(visible(r, &v->h) || is_approver(r, &v->h))) {
		hold_view_clear(v);
		return http_err(out, 404, "no such hold");
	}
	return 0;
}

static void
timeline_add(json_t *tl, int64_t t, const char *event, const char *by, const char *comment)
{
	json_array_append_new(tl, json_pack("{s:o, s:s, s:o, s:o}", "t", http_iso_json(t),
	    "event", event, "by", http_json_str(by), "comment", http_json_str(comment)));
}

static json_t *
timeline(const struct store_hold *h)
{
	json_t *tl = json_array();

	timeline_add(tl, h->created_ms, "held", h->sender, NULL);
	if (h->notified)
		timeline_add(tl, 0, "notified", NULL, NULL);
	if (h->reminded)
		timeline_add(tl, h->reminder_at, "reminded", NULL, NULL);
	if (strcmp(h->status, "held") != 0)
		timeline_add(tl, h->decided_ms, h->status, h->decided_by, h->comment);
	return tl;
}

int
http_hold_get(struct http_req *r, json_t **out)
{
	struct hold_view v;
	struct envelope *env = NULL;
	struct queue_info qi;
	json_t *obj, *syms = NULL;
	double score = 0;
	char *raw = NULL;
	size_t len = 0;
	int st;

	if ((st = load(r, &v, out)) != 0)
		return st;
	obj = item_json(r, &v);
	memset(&qi, 0, sizeof(qi));
	if (store_msg_get(r->st, v.h.msg_id, &env, &qi) == 0) {
		if (v.rcpts == NULL) {
			json_t *rc = json_array();

			for (size_t i = 0; i < env->nrcpt; i++)
				json_array_append_new(rc, http_json_str(env->rcpt[i].addr));
			json_object_set_new(obj, "rcpts", rc);
		}
		if (v.subject == NULL)
			json_object_set_new(obj, "subject", http_json_str(qi.subject));
		http_scan_symbols(qi.scan, &score, &syms);
		raw = quarantine_read(r->srv->spool, v.h.msg_id, &len);
	}
	json_object_set_new(obj, "symbols", syms ? syms : json_array());
	json_object_set_new(obj, "reasons", http_reasons_json(v.h.reasons));
	if (raw != NULL) {
		http_preview(obj, raw, len);
		free(raw);
	} else {
		json_object_set_new(obj, "headers", json_array());
		json_object_set_new(obj, "text", json_string(""));
		json_object_set_new(obj, "html", json_null());
		json_object_set_new(obj, "attachments", json_array());
	}
	json_object_set_new(obj, "timeline", timeline(&v.h));
	envelope_free(env);
	queue_info_clear(&qi);
	hold_view_clear(&v);
	*out = obj;
	return 200;
}

/* Who decided, for the hold row and the sender's notice. */
static void
actor_of(struct http_req *r, char *buf, size_t len)
{
	if (my_addr(r) != NULL)
		snprintf(buf, len, "%s", my_addr(r));
	else
		snprintf(buf, len, "console:%s", r->user.name);
}

static int
comment_of(struct http_req *r, const char **comment, json_t **out)
{
	json_t *c = r->json ? json_object_get(r->json, "comment") : NULL;

	*comment = NULL;
	if (c == NULL || json_is_null(c))
		return 0;
	if (!json_is_string(c) || strlen(json_string_value(c)) > COMMENT_MAX)
		return http_err(out, 400, "comment must be a string of at most 1000 bytes");
	*comment = *json_string_value(c) ? json_string_value(c) : NULL;
	return 0;
}

/* Decide r->caps[0]: the checks, outbound_act, the audit row, the answer. */
static int
decide(struct http_req *r, const char *action, const char *status, json_t **out)
{
	struct hold_view v;
	const char *comment = NULL;
	char actor[320], what[32];
	int st, rc, allowed;

	if ((st = comment_of(r, &comment, out)) != 0)
		return st;
	if ((st = load(r, &v, out)) != 0)
		return st;
	if (strcmp(action, "cancel") == 0)
		allowed = may_cancel(r, &v.h);
	else if (strcmp(action, "release") == 0)
		allowed = may_release(r, &v.h);
	else
		allowed = may_decide(r, &v.h);
	if (!allowed) {
		int self = strcmp(action, "approve") == 0 && is_sender(r, &v.h);
		int approval = strcmp(action, "release") == 0 && is_sender(r, &v.h);
		int kind = (strcmp(action, "approve") == 0 || strcmp(action, "reject") == 0) &&
		    strcmp(v.h.kind, "approval") != 0;

		hold_view_clear(&v);
		if (self)
			return http_err(out, 403, "you cannot approve your own mail");
		if (approval)
			return http_err(out, 403, "this mail waits for an approver or an "
			    "administrator; you may cancel it");
		if (kind)
			return http_err(out, 409, "this hold does not wait for an approval");
		return http_err(out, 403, "not allowed for you");
	}
	if (strcmp(v.h.status, "held") != 0) {
		hold_view_clear(&v);
		return http_err(out, 409, "the mail is no longer held");
	}
	hold_view_clear(&v);
	actor_of(r, actor, sizeof(actor));
	if ((rc = outbound_act(r->st, r->caps[0], action, actor, comment)) < 0)
		return http_err(out, 500, "store error");
	if (rc == 1)
		return http_err(out, 409, "the mail is no longer held");
	snprintf(what, sizeof(what), "hold_%s", action);
	http_audit(r, what, r->caps[0], comment);
	*out = json_pack("{s:s, s:s}", "id", r->caps[0], "status", status);
	return 200;
}

int
http_hold_cancel(struct http_req *r, json_t **out)
{
	return decide(r, "cancel", "cancelled", out);
}

int
http_hold_release(struct http_req *r, json_t **out)
{
	return decide(r, "release", "released", out);
}

int
http_approval_approve(struct http_req *r, json_t **out)
{
	return decide(r, "approve", "approved", out);
}

int
http_approval_reject(struct http_req *r, json_t **out)
{
	return decide(r, "reject", "rejected", out);
}

static int
count_cb(int64_t key, const char *name, int64_t n, void *arg)
{
	json_t *obj = arg;

	(void)key;
	if (json_object_get(obj, name) != NULL)
		json_object_set_new(obj, name, json_integer(n));
	return 0;
}

json_t *
http_hold_stats(struct http_req *r, int64_t since_ms)
{
	json_t *obj = json_object();
	const char *sender = NULL;

	for (const char *const *s = statuses; *s; s++)
		json_object_set_new(obj, *s, json_integer(0));
	if (r->role < ROLE_APPROVER)
		sender = my_addr(r) ? my_addr(r) : "\x01";
	if (store_hold_counts(r->st, since_ms, sender, count_cb, obj) < 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}
