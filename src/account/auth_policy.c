/*
 * auth_policy.c - the Dovecot auth policy server (auth_policy.h).
 *
 * HTTP by libmicrohttpd on its own thread; each request is answered at
 * once (a delay is Dovecot's to apply), so one thread serves thousands of
 * logins a second.  Limits: bodies over AUTH_POLICY_BODY_MAX get 413, a
 * method other than POST 405, a missing or wrong auth_policy_api_header
 * 401, an unknown command or bad JSON 400.  Runs with the daemon's
 * privileges; listen on loopback or a private network only.
 *
 * After authentication Dovecot asks "allow" again for the same session:
 * the session ids of recent "allow" requests are kept (bounded, 5 minutes)
 * so that the second one is known as after-auth and gets no delay.
 *
 * Options: auth_policy_listen, auth_policy_api_header.
 */
#include "account/auth_policy.h"
#include "account/account_guard.h"
#include "account/account_net.h"
#include "account/counter.h"
#include "util/log.h"
#include "util/util.h"

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SESSION_TTL_MS	(5 * 60 * 1000)
#define SESSION_MEM	(4 * 1024 * 1024)

struct auth_policy {
	const struct config *cfg;
	struct account_guard *ag;
	struct MHD_Daemon *mhd;
	char hname[128], hvalue[512];
	pthread_mutex_t mu;
	struct ctable *sessions;	/* session ids that asked "allow" */
};

struct body {
	char *buf;
	size_t len;
	int too_big;
};

static void
copy_str(json_t *root, const char *key, char *dst, size_t size)
{
	json_t *v = json_object_get(root, key);

	if (json_is_string(v))
		util_strlcpy(dst, json_string_value(v), size);
	else if (json_is_integer(v))
		snprintf(dst, size, "%lld", (long long)json_integer_value(v));
}

/* Dovecot sends attribute values as strings, success as a boolean. */
static int
truth(json_t *v)
{
	if (json_is_boolean(v))
		return json_is_true(v);
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		return strcmp(s, "1") == 0 || util_strcasecmp(s, "true") == 0 ||
		    util_strcasecmp(s, "yes") == 0 || util_strcasecmp(s, "TLS") == 0 ||
		    util_strcasecmp(s, "secured") == 0;
	}
	return 0;
}

int
auth_policy_parse(const char *body, size_t len, struct auth_policy_req *r,
    char *err, size_t errlen)
{
	json_error_t je;
	json_t *root, *v;

	memset(r, 0, sizeof(*r));
	if (len > AUTH_POLICY_BODY_MAX) {
		snprintf(err, errlen, "request too large");
		return -1;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL || !json_is_object(root)) {
		snprintf(err, errlen, "not a JSON object: %s", root ? "other type" : je.text);
		json_decref(root);
		return -1;
	}
	copy_str(root, "login", r->login, sizeof(r->login));
	copy_str(root, "remote", r->remote, sizeof(r->remote));
	copy_str(root, "pwhash", r->pwhash, sizeof(r->pwhash));
	copy_str(root, "protocol", r->protocol, sizeof(r->protocol));
	copy_str(root, "session_id", r->session_id, sizeof(r->session_id));
	r->tls = truth(json_object_get(root, "tls"));
	if ((v = json_object_get(root, "success")) != NULL) {
		r->has_success = 1;
		r->success = truth(v);
	}
	r->policy_reject = truth(json_object_get(root, "policy_reject"));
	json_decref(root);
	return 0;
}

int
auth_policy_format(int status, const char *msg, char *buf, size_t len)
{
	json_t *o = json_pack("{s:i, s:s}", "status", status, "msg", msg ? msg : "");
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	int rc = -1;

	if (s != NULL && strlen(s) < len) {
		memcpy(buf, s, strlen(s) + 1);
		rc = 0;
	}
	free(s);
	json_decref(o);
	return rc;
}

int
auth_policy_header_spec(const char *spec, char *name, size_t nlen, char *value,
    size_t vlen)
{
	const char *colon = strchr(spec, ':');
	char tmp[512], ntmp[256], *v, *n;

	if (colon == NULL) {
		util_strlcpy(ntmp, "X-API-Key", sizeof(ntmp));
		util_strlcpy(tmp, spec, sizeof(tmp));
	} else {
		size_t len = (size_t)(colon - spec);
		if (len == 0 || len >= sizeof(ntmp))
			return -1;
		memcpy(ntmp, spec, len);
		ntmp[len] = '\0';
		util_strlcpy(tmp, colon + 1, sizeof(tmp));
	}
	n = util_trim(ntmp);
	v = util_trim(tmp);
	if (*v == '\0' || *n == '\0' || strlen(v) >= vlen || strlen(n) >= nlen)
		return -1;
	util_strlcpy(name, n, nlen);
	util_strlcpy(value, v, vlen);
	return 0;
}

/* Constant-time for equal lengths: the secret is not guessed byte by byte. */
static int
secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char d = la != lb;

	for (size_t i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return d == 0;
}

static enum MHD_Result
reply(struct MHD_Connection *c, unsigned code, const char *json)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(json),
	    (void *)(uintptr_t)json, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	MHD_add_response_header(resp, "Content-Type", "application/json");
	rc = MHD_queue_response(c, code, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Is this "allow" the second one of its session (after authentication)? */
static int
after_auth(struct auth_policy *ap, const char *session)
{
	unsigned char *seen;
	int64_t now = util_mono_ms();
	int again;

	if (*session == '\0')
		return 0;
	pthread_mutex_lock(&ap->mu);
	seen = ctable_get(ap->sessions, session, 1, now);
	again = *seen != 0;
	*seen = 1;
	ctable_trim(ap->sessions, now);
	pthread_mutex_unlock(&ap->mu);
	return again;
}

static enum MHD_Result
handle(struct auth_policy *ap, struct MHD_Connection *c, const char *command,
    const struct body *b)
{
	struct auth_policy_req r;
	struct login_attempt a;
	char err[256], msg[256], out[600], ql[300];
	int status = 0;

	if (auth_policy_parse(b->buf ? b->buf : "", b->len, &r, err, sizeof(err)) < 0) {
		log_warn("auth-policy: bad request: %s", err);
		return reply(c, MHD_HTTP_BAD_REQUEST, "{\"error\":\"bad request\"}");
	}
	memset(&a, 0, sizeof(a));
	a.login = r.login;
	a.ip = r.remote;
	a.pwhash = r.pwhash;
	a.protocol = r.protocol;
	a.source = "dovecot";
	msg[0] = '\0';
	if (strcmp(command, "allow") == 0) {
		int aa = after_auth(ap, r.session_id);
		status = account_guard_allow(ap->ag, &a, aa, msg, sizeof(msg));
		if (status != 0)
			log_info("auth-policy: %s login=%s remote=%s status=%d%s",
			    aa ? "after-auth" : "allow", log_kv_quote(ql, sizeof(ql), r.login),
			    r.remote, status, status < 0 ? " (refused)" : " (delayed)");
	} else {
		a.success = r.success;
		a.policy_reject = r.policy_reject;
		account_guard_report(ap->ag, &a);
		log_debug("auth-policy: report login=%s remote=%s success=%d",
		    log_kv_quote(ql, sizeof(ql), r.login), r.remote, r.success);
	}
	if (auth_policy_format(status, msg, out, sizeof(out)) < 0)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "{\"error\":\"internal\"}");
	return reply(c, MHD_HTTP_OK, out);
}

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *c, const char *url, const char *method,
    const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct auth_policy *ap = cls;
	struct body *b = *con_cls;
	const char *command, *hv;
	(void)url;
	(void)version;

	if (b == NULL) {
		*con_cls = xcalloc(1, sizeof(*b));
		return MHD_YES;
	}
	if (*upload_size > 0) {
		if (b->len + *upload_size > AUTH_POLICY_BODY_MAX) {
			b->too_big = 1;
		} else {
			b->buf = xrealloc(b->buf, b->len + *upload_size + 1);
			memcpy(b->buf + b->len, upload, *upload_size);
			b->len += *upload_size;
			b->buf[b->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "{\"error\":\"POST only\"}");
	if (b->too_big)
		return reply(c, MHD_HTTP_CONTENT_TOO_LARGE, "{\"error\":\"too large\"}");
	if (*ap->hname != '\0') {
		hv = MHD_lookup_connection_value(c, MHD_HEADER_KIND, ap->hname);
		if (hv == NULL || !secret_equal(hv, ap->hvalue)) {
			log_warn("auth-policy: request without the right %s header", ap->hname);
			return reply(c, MHD_HTTP_UNAUTHORIZED, "{\"error\":\"unauthorized\"}");
		}
	}
	command = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "command");
	if (command == NULL || (strcmp(command, "allow") != 0 && strcmp(command, "report") != 0))
		return reply(c, MHD_HTTP_BAD_REQUEST, "{\"error\":\"unknown command\"}");
	return handle(ap, c, command, b);
}

static void
completed_cb(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct body *b = *con_cls;
	(void)cls;
	(void)c;
	(void)toe;

	if (b != NULL) {
		free(b->buf);
		free(b);
		*con_cls = NULL;
	}
}

struct auth_policy *
auth_policy_start(const struct config *cfg, struct account_guard *ag, char *err,
    size_t errlen)
{
	struct auth_policy *ap = xcalloc(1, sizeof(*ap));
	struct sockaddr_storage ss;
	socklen_t sslen;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;

	ap->cfg = cfg;
	ap->ag = ag;
	pthread_mutex_init(&ap->mu, NULL);
	ap->sessions = ctable_new(1, SESSION_MEM, SESSION_TTL_MS, NULL);
	if (*cfg->auth_policy_api_header != '\0' &&
	    auth_policy_header_spec(cfg->auth_policy_api_header, ap->hname, sizeof(ap->hname),
	    ap->hvalue, sizeof(ap->hvalue)) < 0) {
		snprintf(err, errlen, "auth_policy_api_header: want \"Name: value\" or a value");
		goto fail;
	}
	if (account_listen_addr(cfg->auth_policy_listen, &ss, &sslen, err, errlen) < 0)
		goto fail;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	ap->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, ap,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, ap,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)1000,
	    MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
	    MHD_OPTION_END);
	if (ap->mhd == NULL) {
		snprintf(err, errlen, "auth_policy_listen: cannot listen on %s",
		    cfg->auth_policy_listen);
		goto fail;
	}
	log_info("auth-policy: Dovecot auth policy server on %s%s", cfg->auth_policy_listen,
	    *ap->hname ? " (API header required)" : "");
	return ap;
fail:
	auth_policy_stop(ap);
	return NULL;
}

void
auth_policy_stop(struct auth_policy *ap)
{
	if (ap == NULL)
		return;
	if (ap->mhd != NULL)
		MHD_stop_daemon(ap->mhd);
	ctable_free(ap->sessions);
	pthread_mutex_destroy(&ap->mu);
	free(ap);
}
