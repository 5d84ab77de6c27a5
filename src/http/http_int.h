/*
 * http_int.h - what the console server's files share; not for callers.
 *
 * A request is matched against the route table (http_api.c); the server
 * (http_server.c) has already checked, in this order: a live session (else
 * 401), the CSRF token on anything but GET/HEAD (else 403), the route's
 * least role (else 403).  A handler fills *out with the JSON answer (or
 * NULL for no body) and returns the HTTP status.
 */
#ifndef SEKISHO_HTTP_INT_H
#define SEKISHO_HTTP_INT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "http/http_console.h"
#include "http/http_util.h"
#include "store/store_console.h"
#include "util/buf.h"
#include "util/cidr.h"
#include "util/config.h"

struct account_guard;
struct http_ratelimit;
struct queue;
struct spool;
struct MHD_Connection;

struct http_server {
	const struct config *cfg;
	struct queue *q;
	struct spool *spool;
	char *db_path;
	struct MHD_Daemon *mhd;
	struct cidr *metrics_nets;
	size_t nmetrics_nets;
	struct cidr *learn_nets;	/* learn_allow */
	size_t nlearn_nets;
	char learn_key[256];		/* learn_key_file's key; "" when reports are off */
	char *cert, *key;		/* PEM contents for TLS */
	struct account_guard *_Atomic guard;	/* console logins feed it; may be NULL */
	struct http_ratelimit *link_rl;	/* failed link attempts per address */
	unsigned char secret_key[CONSOLE_KEY_SIZE];	/* seals TOTP secrets */
	_Atomic int64_t last_housekeeping_ms;
};

struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	struct store *st;		/* this thread's connection */
	const char *method;
	const char *path;
	char ip[64];
	const char *body;
	size_t body_len;
	json_t *json;			/* the body parsed, for POST/PUT with a body */
	char caps[HTTP_ROUTE_MAXCAP][128];
	size_t ncap;
	/* the logged-in user */
	struct console_user user;
	enum console_role role;
	char sess_hash[HTTP_TOKEN_HEX];
	struct console_session sess;
	char *set_cookie;		/* a Set-Cookie value to send */
};

typedef int (*http_handler)(struct http_req *r, json_t **out);

struct http_route {
	const char *method;
	const char *pattern;
	http_handler fn;
	enum console_role least;	/* ROLE_NONE: no session needed */
};

/* The route table (http_api.c). */
const struct http_route *http_routes(size_t *n);

/* Query parameter, or NULL. */
const char *http_arg(struct http_req *r, const char *name);
/* A JSON string of s (bytes invalid in UTF-8 become U+FFFD), or null for NULL. */
json_t *http_json_str(const char *s);
/* {"error": text} and the status. */
int http_err(json_t **out, int status, const char *text);
/* Write an audit row (and a log line) for a state change by r's user. */
void http_audit(struct http_req *r, const char *action, const char *target,
    const char *detail);

/* http_auth.c */
int http_login(struct http_req *r, json_t **out);
int http_logout(struct http_req *r, json_t **out);
/* Load r's session from its cookie: 0 logged in, 1 not, -1 store error. */
int http_session_load(struct http_req *r);
json_t *http_user_json(const struct console_user *u);

/* http_preview.c: detail JSON of a quarantined message's bytes. */
void http_preview(json_t *obj, const char *raw, size_t len);

/* http_metrics.c: the Prometheus text. */
char *http_metrics_text(struct http_server *srv, struct store *st);

/* http_api.c, for the other handler files. */
json_t *http_iso_json(int64_t ms);		/* ISO 8601, or null for 0 */
int http_valid_id(const char *id);		/* a plausible queue id? */
/* The address a user's view is restricted to; NULL for approver, admin. */
const char *http_own_addr(struct http_req *r);
/* An integer query argument in [min, max] (def when absent): 0, or -1. */
int http_int_arg(struct http_req *r, const char *name, int64_t def, int64_t min,
    int64_t max, int64_t *out);
/* The score and [{"name","score","reason"}] of a scan result's JSON. */
void http_scan_symbols(const char *scan, double *score, json_t **detail);
/* A JSON array from its text; [] when not an array. */
json_t *http_json_array_text(const char *text);

/* http_holds.c: holds and approvals. */
int http_holds_list(struct http_req *r, json_t **out);
int http_hold_get(struct http_req *r, json_t **out);
int http_hold_cancel(struct http_req *r, json_t **out);
int http_hold_release(struct http_req *r, json_t **out);
int http_approvals_list(struct http_req *r, json_t **out);
int http_approval_approve(struct http_req *r, json_t **out);
int http_approval_reject(struct http_req *r, json_t **out);
/* The "holds" object of /stats: counts by status since since_ms. */
json_t *http_hold_stats(struct http_req *r, int64_t since_ms);

/* http_account.c: locks, alerts, login events; incidents. */
int http_locks_list(struct http_req *r, json_t **out);
int http_lock_add(struct http_req *r, json_t **out);
int http_lock_delete(struct http_req *r, json_t **out);
int http_alerts_list(struct http_req *r, json_t **out);
int http_alert_ack(struct http_req *r, json_t **out);
int http_logins_list(struct http_req *r, json_t **out);
int http_incidents_list(struct http_req *r, json_t **out);
int http_incident_open(struct http_req *r, json_t **out);
int http_incident_get(struct http_req *r, json_t **out);
int http_incident_step(struct http_req *r, json_t **out);
int http_incident_close(struct http_req *r, json_t **out);

/*
 * http_link.c: the one-click link pages (/link/TOKEN, no session).  The
 * HTML page into *html (malloc'ed); returns the HTTP status.
 */
int http_link(struct http_req *r, char **html);

/*
 * http_learn.c: a user's report from the mail server (POST /learn/spam,
 * /learn/ham; the shared key, no session).  Returns the HTTP status.
 */
int http_learn(struct http_req *r, json_t **out);

#endif
