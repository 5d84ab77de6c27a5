/*
 * smtp_server.c - SMTP sessions (RFC 5321) on libevent.
 *
 * One event loop serves every session; nothing here blocks.  Disk commits
 * happen on the queue's writer thread, analysis and password checks on
 * worker threads, and their answers come back through the mainq.  While a
 * session waits for such an answer its input is paused, so pipelined
 * commands wait in the buffer and are answered in order.
 *
 * Roles: the inbound listener takes mail for local_domains from anyone and
 * relays nothing else; the outbound listener takes mail from
 * trusted_networks or authenticated users and relays anywhere.  Neither is
 * ever an open relay.
 *
 * Untrusted bytes are handled by smtp_parse.c (command lines with a length
 * limit, DATA with exact CRLF.CRLF framing).  STARTTLS discards everything
 * the client sent after the command before the handshake (CVE-2011-0411).
 * AUTH is offered only over TLS.
 *
 * "250" after DATA is sent only when the queue reports the message durable;
 * a reject reached within scan_inline_budget is a 5xx instead.
 */
#include "smtp/smtp_server.h"
#include "smtp/smtp_auth.h"
#include "smtp/smtp_parse.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/listener.h>

#define REPLY_MAX	1024
#define OUTPUT_HIGH	(256 * 1024)	/* stop reading while the client does not read */

enum role { ROLE_INBOUND, ROLE_OUTBOUND };

struct listener {
	struct smtp_server *srv;
	enum role role;
	struct evconnlistener *evl;
	char *addr;
};

struct smtp_server {
	const struct config *cfg;
	struct event_base *base;
	struct queue *queue;
	struct listener listeners[2];
	size_t nlisteners;
	SSL_CTX *ssl_ctx;
	struct authdb *authdb;
	struct tpool *auth_pool;
	struct mainq *auth_mq;
	struct event *auth_ev;
	struct cidr *trusted;
	size_t ntrusted;
	struct cidr *xforward;		/* xforward_hosts */
	size_t nxforward;
	size_t nsessions;
	struct session *sessions;	/* list of all sessions */
	uint64_t next_session_id;
};

enum sess_state {
	SS_CMD,			/* reading commands */
	SS_DATA,		/* reading message data */
	SS_WAIT,		/* waiting for the queue or the password check */
	SS_AUTH_PLAIN,		/* waiting for the AUTH PLAIN response line */
	SS_AUTH_LOGIN_USER,	/* waiting for the username line */
	SS_AUTH_LOGIN_PASS,	/* waiting for the password line */
	SS_STARTTLS,		/* 220 sent; handshake starts when it is flushed */
	SS_CLOSING,		/* last reply sent; close when flushed */
};

struct session {
	struct session *prev, *next;
	struct smtp_server *srv;
	struct listener *lst;
	struct bufferevent *bev;
	uint64_t sid;
	enum sess_state state;
	char addr[INET6_ADDRSTRLEN];
	char *helo;
	int esmtp;
	int tls;
	char *tls_info;
	char *auth_user;
	char *auth_login;		/* AUTH LOGIN username between steps */
	int errors;
	int discard_line;		/* skipping the rest of a too-long line */
	struct smtp_xforward xf;	/* XFORWARD for the next transaction */

	/* the current transaction */
	struct envelope *env;
	struct spool_file *sf;
	struct smtp_data data;
	int64_t size_limit;
	int too_big;
	int write_error;
	struct queue_ticket *ticket;
	int replied;			/* the end-of-DATA reply went out */
	struct event *budget;
	struct auth_job *auth;		/* password check in progress */
};

static void session_read(struct session *s);
static void session_close(struct session *s);
static void session_setup_cbs(struct session *s);

/* ---- replies ---- */

static void
reply(struct session *s, const char *fmt, ...) UTIL_PRINTF(2, 3);

static void
reply(struct session *s, const char *fmt, ...)
{
	char buf[REPLY_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	if (buf[0] == '4' || buf[0] == '5')
		s->errors++;
	buf[n++] = '\r';
	buf[n++] = '\n';
	bufferevent_write(s->bev, buf, (size_t)n);
}

/* Close after the queued replies are written. */
static void
session_finish(struct session *s)
{
	s->state = SS_CLOSING;
	bufferevent_disable(s->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		session_close(s);
}

static int
too_many_errors(struct session *s)
{
	if (s->errors < s->srv->cfg->error_limit)
		return 0;
	reply(s, "421 4.7.0 %s Error: too many errors", s->srv->cfg->myhostname);
	log_info("smtp: session %llu from [%s]: too many errors, disconnected",
	    (unsigned long long)s->sid, s->addr);
	session_finish(s);
	return 1;
}

/* ---- transaction ---- */

static void
transaction_reset(struct session *s)
{
	if (s->sf != NULL) {
		spool_abort(s->sf);
		s->sf = NULL;
	}
	envelope_free(s->env);
	s->env = NULL;
	s->too_big = 0;
	s->write_error = 0;
	memset(&s->xf, 0, sizeof(s->xf));
}

static const char *
session_proto(const struct session *s)
{
	static const char *const names[] = { "SMTP", "ESMTP", "ESMTPS", "ESMTPS",
	    "SMTP", "ESMTPA", "ESMTPSA", "ESMTPSA" };

	return names[(s->esmtp ? 1 : 0) | (s->tls ? 2 : 0) | (s->auth_user ? 4 : 0)];
}

static void
spool_out(void *arg, const char *buf, size_t len)
{
	struct session *s = arg;

	if (s->too_big || s->write_error)
		return;
	if (spool_size(s->sf) + (int64_t)len > s->size_limit) {
		s->too_big = 1;
		return;
	}
	if (spool_write(s->sf, buf, len) < 0)
		s->write_error = errno ? errno : EIO;
}

static int
write_received(struct session *s)
{
	const struct config *cfg = s->srv->cfg;
	char date[64], *hdr;
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	hdr = xasprintf("Received: from %s ([%s])\r\n\tby %s (sekisho) with %s id %s%s%s%s;\r\n\t%s\r\n",
	    s->helo ? s->helo : "unknown", s->addr, cfg->myhostname, session_proto(s),
	    s->env->id,
	    s->env->nrcpt == 1 ? "\r\n\tfor <" : "",
	    s->env->nrcpt == 1 ? s->env->rcpt[0].addr : "",
	    s->env->nrcpt == 1 ? ">" : "", date);
	rc = spool_write(s->sf, hdr, strlen(hdr));
	free(hdr);
	return rc;
}

/* ---- queue answers ---- */

/* A full disk is "452 insufficient system storage" (RFC 5321 4.2.2, RFC 3463
 * 4.3.1); any other failure to keep the message is a plain temporary error. */
static void
reply_write_error(struct session *s, int err)
{
	if (err == ENOSPC || err == EDQUOT)
		reply(s, "452 4.3.1 Error: insufficient system storage");
	else
		reply(s, "451 4.3.0 Error: queue file write error");
}

static void
resume(struct session *s)
{
	s->state = SS_CMD;
	bufferevent_enable(s->bev, EV_READ);
	/* pipelined commands may already be buffered */
	session_read(s);
}

static void
reply_queued(struct session *s)
{
	reply(s, "250 2.0.0 Ok: queued as %s", queue_ticket_id(s->ticket));
	queue_ticket_acked(s->ticket);
	s->replied = 1;
}

static void
budget_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	(void)what;
	/* analysis is slower than the budget: the message is durable, accept it */
	reply_queued(s);
	queue_ticket_detach(s->ticket);
	s->ticket = NULL;
	resume(s);
}

static void
session_queue_cb(void *arg, enum queue_event ev, struct queue_ticket *t)
{
	struct session *s = arg;
	const struct verdict *v;

	switch (ev) {
	case QUEUE_FAILED:
		reply_write_error(s, queue_ticket_error(t));
		s->ticket = NULL;
		resume(s);
		return;
	case QUEUE_DURABLE:
		if (s->srv->cfg->scan_inline_budget <= 0) {
			reply_queued(s);
			queue_ticket_detach(t);
			s->ticket = NULL;
			resume(s);
			return;
		}
		{
			struct timeval tv = {
				.tv_sec = s->srv->cfg->scan_inline_budget / 1000,
				.tv_usec = (s->srv->cfg->scan_inline_budget % 1000) * 1000,
			};
			if (s->budget == NULL)
				s->budget = evtimer_new(s->srv->base, budget_cb, s);
			evtimer_add(s->budget, &tv);
		}
		return;
	case QUEUE_SCANNED:
		if (s->budget)
			evtimer_del(s->budget);
		v = queue_ticket_verdict(t);
		if (v->action == ACTION_REJECT) {
			reply(s, "%s", v->reply[0] ? v->reply : "550 5.7.1 Message rejected by policy");
			queue_ticket_rejected(t);
		} else {
			reply_queued(s);
		}
		s->ticket = NULL;
		resume(s);
		return;
	}
}

static void
data_end(struct session *s)
{
	struct envelope *env;

	if (s->data.bare_newline && !s->data.normalize) {
		reply(s, "550 5.5.2 Error: message contains bare <CR> or <LF> (RFC 5321 2.3.8)");
		transaction_reset(s);
		return;
	}
	if (s->too_big) {
		reply(s, "552 5.3.4 Error: message file too big");
		transaction_reset(s);
		return;
	}
	if (s->write_error) {
		log_err("smtp: spool write failed id=%s: %s", s->env->id,
		    strerror(s->write_error));
		reply_write_error(s, s->write_error);
		transaction_reset(s);
		return;
	}
	env = s->env;
	s->env = NULL;
	memset(&s->xf, 0, sizeof(s->xf));	/* it was for this message only */
	env->received_ms = util_now_ms();
	s->state = SS_WAIT;
	s->replied = 0;
	bufferevent_disable(s->bev, EV_READ);
	s->ticket = queue_submit(s->srv->queue, env, s->sf, session_queue_cb, s);
	s->sf = NULL;
}

/* ---- commands ---- */

static int
xforward_allowed(const struct session *s)
{
	return cidr_match_any(s->srv->xforward, s->srv->nxforward, s->addr);
}

/* XFORWARD from an MTA in xforward_hosts, before MAIL: remembered for the
 * next transaction only (Postfix sends it again for each message). */
static void
cmd_xforward(struct session *s, const struct smtp_cmd *cmd)
{
	const char *err;

	if (!xforward_allowed(s)) {
		reply(s, "550 5.7.0 Error: insufficient authorization");
		return;
	}
	if (s->env != NULL) {
		reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if ((err = smtp_parse_xforward(cmd->arg, &s->xf)) != NULL) {
		reply(s, "%s", err);
		return;
	}
	reply(s, "250 2.0.0 Ok");
}

static int
client_trusted(const struct session *s)
{
	return cidr_match_any(s->srv->trusted, s->srv->ntrusted, s->addr);
}

static int
auth_offered(const struct session *s)
{
	return s->lst->role == ROLE_OUTBOUND && s->srv->authdb != NULL;
}

static void
cmd_helo(struct session *s, const struct smtp_cmd *cmd)
{
	const struct config *cfg = s->srv->cfg;

	if (!smtp_valid_helo(cmd->arg)) {
		reply(s, "501 5.5.4 Syntax: %s hostname", cmd->verb == SMTP_VERB_EHLO ? "EHLO" : "HELO");
		return;
	}
	transaction_reset(s);
	free(s->helo);
	s->helo = xstrdup(cmd->arg);
	s->esmtp = cmd->verb == SMTP_VERB_EHLO;
	if (!s->esmtp) {
		reply(s, "250 %s", cfg->myhostname);
		return;
	}
	reply(s, "250-%s", cfg->myhostname);
	reply(s, "250-PIPELINING");
	reply(s, "250-SIZE %lld", (long long)cfg->message_size_limit);
	if (s->srv->ssl_ctx != NULL && !s->tls)
		reply(s, "250-STARTTLS");
	if (auth_offered(s) && s->tls && s->auth_user == NULL)
		reply(s, "250-AUTH PLAIN LOGIN");
	reply(s, "250-ENHANCEDSTATUSCODES");
	reply(s, "250-8BITMIME");
	reply(s, "250-DSN");
	if (xforward_allowed(s))
		reply(s, "250-XFORWARD NAME ADDR PROTO HELO");
	reply(s, "250 SMTPUTF8");
}

static void
cmd_mail(struct session *s, const struct smtp_cmd *cmd)
{
	struct smtp_mail_params p;
	const char *err;
	char *addr;

	if (s->helo == NULL) {
		reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->env != NULL) {
		reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (s->lst->role == ROLE_OUTBOUND && s->auth_user == NULL && !client_trusted(s)) {
		reply(s, "530 5.7.0 Error: authentication required");
		return;
	}
	if ((err = smtp_parse_mail(cmd->arg, &addr, &p)) != NULL) {
		reply(s, "%s", err);
		return;
	}
	if (p.size > s->srv->cfg->message_size_limit) {
		reply(s, "552 5.3.4 Error: message size exceeds fixed limit");
		free(addr);
		smtp_mail_params_clear(&p);
		return;
	}
	s->env = envelope_new();
	s->env->listener = xstrdup(s->lst->role == ROLE_OUTBOUND ? "outbound" : "inbound");
	/* what the MTA in front forwarded stands for the client it saw */
	s->env->client_addr = xstrdup(*s->xf.addr ? s->xf.addr : s->addr);
	s->env->client_name = xstrdup(*s->xf.addr && *s->xf.name ? s->xf.name : "unknown");
	s->env->helo = xstrdup(*s->xf.helo ? s->xf.helo : s->helo);
	s->env->tls = s->tls_info ? xstrdup(s->tls_info) : NULL;
	s->env->auth_user = s->auth_user ? xstrdup(s->auth_user) : NULL;
	s->env->mail_from = addr;
	s->env->body = p.body;
	s->env->smtputf8 = p.smtputf8;
	s->env->ret = p.ret;
	s->env->envid = p.envid;
	p.envid = NULL;
	smtp_mail_params_clear(&p);
	reply(s, "250 2.1.0 Ok");
}

static const char *
relay_check(struct session *s, const char *addr)
{
	const char *domain = envelope_domain(addr);

	if (s->lst->role == ROLE_OUTBOUND)
		return NULL;	/* MAIL already required trust or AUTH */
	if (*domain == '\0' && util_strcasecmp(addr, "postmaster") == 0)
		return NULL;
	if (config_is_local_domain(s->srv->cfg, domain))
		return NULL;
	return "554 5.7.1 Relay access denied";
}

static void
cmd_rcpt(struct session *s, const struct smtp_cmd *cmd)
{
	struct smtp_rcpt_params p;
	const char *err;
	char *addr;
	char qaddr[600];

	if (s->env == NULL) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if ((err = smtp_parse_rcpt(cmd->arg, s->env->smtputf8, &addr, &p)) != NULL) {
		reply(s, "%s", err);
		return;
	}
	if ((int64_t)s->env->nrcpt >= s->srv->cfg->recipient_limit) {
		reply(s, "452 4.5.3 Error: too many recipients");
	} else if ((err = relay_check(s, addr)) != NULL) {
		log_kv_quote(qaddr, sizeof(qaddr), addr);
		log_info("smtp: reject listener=%s client=[%s] to=<%s> reason=relay",
		    s->env->listener, s->addr, qaddr);
		reply(s, "%s", err);
	} else {
		envelope_add_rcpt(s->env, addr, p.orcpt, p.notify);
		reply(s, "250 2.1.5 Ok");
	}
	free(addr);
	smtp_rcpt_params_clear(&p);
}

static void
cmd_data(struct session *s, const struct smtp_cmd *cmd)
{
	if (*cmd->arg != '\0') {
		reply(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->env == NULL) {
		reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (s->env->nrcpt == 0) {
		reply(s, "554 5.5.1 Error: no valid recipients");
		return;
	}
	spool_new_id(s->env->id);
	s->sf = spool_create(queue_spool(s->srv->queue), s->env->id);
	if (s->sf == NULL || write_received(s) < 0) {
		log_err("smtp: cannot create queue file: %s", strerror(errno));
		reply(s, "451 4.3.0 Error: queue file write error");
		transaction_reset(s);
		return;
	}
	smtp_data_init(&s->data, strcmp(s->srv->cfg->smtp_line_endings, "normalize") == 0);
	s->size_limit = s->srv->cfg->message_size_limit;
	s->state = SS_DATA;
	bufferevent_set_timeouts(s->bev, &(struct timeval){ s->srv->cfg->data_timeout, 0 },
	    &(struct timeval){ s->srv->cfg->data_timeout, 0 });
	reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

/*
 * The 220 is on the wire and reading was paused since the STARTTLS line, so
 * the kernel holds the client's ClientHello and nothing else.  The plaintext
 * bufferevent is replaced by a TLS one on a dup of the same socket (a
 * filter on top would let close() drop the last TLS records, such as the
 * 221 to QUIT).
 */
static void
starttls_begin(struct session *s)
{
	SSL *ssl = SSL_new(s->srv->ssl_ctx);
	struct bufferevent *tbev;
	int fd = dup(bufferevent_getfd(s->bev));

	bufferevent_free(s->bev);
	s->bev = NULL;
	if (ssl == NULL || fd < 0) {
		if (ssl)
			SSL_free(ssl);
		if (fd >= 0)
			close(fd);
		session_close(s);
		return;
	}
	tbev = bufferevent_openssl_socket_new(s->srv->base, fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (tbev == NULL) {
		SSL_free(ssl);
		close(fd);
		session_close(s);
		return;
	}
	s->bev = tbev;
	s->tls = 1;
	s->state = SS_CMD;
	session_setup_cbs(s);
}

static void
cmd_starttls(struct session *s, const struct smtp_cmd *cmd)
{
	if (s->srv->ssl_ctx == NULL) {
		reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (s->tls) {
		reply(s, "554 5.5.1 Error: TLS already active");
		return;
	}
	if (*cmd->arg != '\0') {
		reply(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	/* Forget everything said in plaintext, including anything pipelined
	 * after STARTTLS (CVE-2011-0411). */
	evbuffer_drain(bufferevent_get_input(s->bev),
	    evbuffer_get_length(bufferevent_get_input(s->bev)));
	transaction_reset(s);
	free(s->helo);
	s->helo = NULL;
	s->esmtp = 0;
	reply(s, "220 2.0.0 Ready to start TLS");
	s->state = SS_STARTTLS;
	bufferevent_disable(s->bev, EV_READ);
}

/* ---- AUTH: password checks on the auth pool ---- */

struct auth_job {
	struct session *s;	/* NULL when the session went away */
	struct smtp_server *srv;
	char *login;
	char *pass;
	int ok;
};

static void
auth_job_free(struct auth_job *j)
{
	if (j->pass) {
		sodium_memzero(j->pass, strlen(j->pass));
		free(j->pass);
	}
	free(j->login);
	free(j);
}

static void
auth_done(void *arg)
{
	struct auth_job *j = arg;
	struct session *s = j->s;
	char qlogin[300];

	if (s != NULL) {
		s->auth = NULL;
		log_kv_quote(qlogin, sizeof(qlogin), j->login);
		if (j->ok) {
			s->auth_user = xstrdup(j->login);
			log_info("smtp: auth ok client=[%s] user=%s", s->addr, qlogin);
			reply(s, "235 2.7.0 Authentication successful");
		} else {
			log_info("smtp: auth failed client=[%s] user=%s", s->addr, qlogin);
			reply(s, "535 5.7.8 Error: authentication failed");
		}
		if (!too_many_errors(s))
			resume(s);
	}
	auth_job_free(j);
}

static void
auth_work(void *arg)
{
	struct auth_job *j = arg;

	j->ok = authdb_verify(j->srv->authdb, j->login, j->pass);
	mainq_post(j->srv->auth_mq, auth_done, j);
}

static void
auth_start(struct session *s, char *login, char *pass)
{
	struct auth_job *j = xcalloc(1, sizeof(*j));

	j->s = s;
	j->srv = s->srv;
	j->login = login;
	j->pass = pass;
	s->auth = j;
	s->state = SS_WAIT;
	bufferevent_disable(s->bev, EV_READ);
	tpool_submit(s->srv->auth_pool, auth_work, j);
}

static void
cmd_auth(struct session *s, const struct smtp_cmd *cmd)
{
	char mech[32], *login = NULL, *pass = NULL;
	const char *initial;
	const char *err;
	size_t n;

	if (!auth_offered(s)) {
		reply(s, "502 5.5.1 Error: authentication not enabled");
		return;
	}
	if (!s->tls) {
		reply(s, "538 5.7.11 Encryption required for requested authentication mechanism");
		return;
	}
	if (s->helo == NULL || !s->esmtp) {
		reply(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (s->auth_user != NULL) {
		reply(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->env != NULL) {
		reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	n = strcspn(cmd->arg, " ");
	if (n == 0 || n >= sizeof(mech)) {
		reply(s, "501 5.5.4 Syntax: AUTH mechanism");
		return;
	}
	memcpy(mech, cmd->arg, n);
	mech[n] = '\0';
	initial = cmd->arg + n;
	while (*initial == ' ')
		initial++;
	if (util_strcasecmp(mech, "PLAIN") == 0) {
		if (*initial == '\0') {
			s->state = SS_AUTH_PLAIN;
			reply(s, "334 ");
			return;
		}
		if (strcmp(initial, "=") == 0)
			initial = "";
		if ((err = smtp_parse_auth_plain(initial, &login, &pass)) != NULL) {
			reply(s, "%s", err);
			return;
		}
		auth_start(s, login, pass);
	} else if (util_strcasecmp(mech, "LOGIN") == 0) {
		if (*initial != '\0') {
			if ((err = smtp_parse_auth_login(initial, &login)) != NULL) {
				reply(s, "%s", err);
				return;
			}
			s->auth_login = login;
			s->state = SS_AUTH_LOGIN_PASS;
			reply(s, "334 UGFzc3dvcmQ6");
			return;
		}
		s->state = SS_AUTH_LOGIN_USER;
		reply(s, "334 VXNlcm5hbWU6");
	} else {
		reply(s, "504 5.5.4 Error: unsupported authentication mechanism");
	}
}

/* A line while an AUTH exchange is in progress. */
static void
auth_line(struct session *s, const char *line)
{
	const char *err;
	char *a = NULL, *b = NULL;

	if (strcmp(line, "*") == 0) {
		s->state = SS_CMD;
		free(s->auth_login);
		s->auth_login = NULL;
		reply(s, "501 5.7.0 Authentication cancelled");
		return;
	}
	switch (s->state) {
	case SS_AUTH_PLAIN:
		s->state = SS_CMD;
		if ((err = smtp_parse_auth_plain(line, &a, &b)) != NULL) {
			reply(s, "%s", err);
			return;
		}
		auth_start(s, a, b);
		return;
	case SS_AUTH_LOGIN_USER:
		if ((err = smtp_parse_auth_login(line, &a)) != NULL) {
			s->state = SS_CMD;
			reply(s, "%s", err);
			return;
		}
		s->auth_login = a;
		s->state = SS_AUTH_LOGIN_PASS;
		reply(s, "334 UGFzc3dvcmQ6");
		return;
	case SS_AUTH_LOGIN_PASS:
		s->state = SS_CMD;
		if ((err = smtp_parse_auth_login(line, &b)) != NULL) {
			free(s->auth_login);
			s->auth_login = NULL;
			reply(s, "%s", err);
			return;
		}
		a = s->auth_login;
		s->auth_login = NULL;
		auth_start(s, a, b);
		return;
	default:
		return;
	}
}

static void
command(struct session *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	const char *err;

	if (s->state == SS_AUTH_PLAIN || s->state == SS_AUTH_LOGIN_USER ||
	    s->state == SS_AUTH_LOGIN_PASS) {
		auth_line(s, line);
		return;
	}
	if ((err = smtp_parse_command(line, len, &cmd)) != NULL) {
		reply(s, "%s", err);
		return;
	}
	switch (cmd.verb) {
	case SMTP_VERB_HELO:
	case SMTP_VERB_EHLO:
		cmd_helo(s, &cmd);
		break;
	case SMTP_VERB_MAIL:
		cmd_mail(s, &cmd);
		break;
	case SMTP_VERB_RCPT:
		cmd_rcpt(s, &cmd);
		break;
	case SMTP_VERB_DATA:
		cmd_data(s, &cmd);
		break;
	case SMTP_VERB_RSET:
		transaction_reset(s);
		reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_VERB_NOOP:
		reply(s, "250 2.0.0 Ok");
		break;
	case SMTP_VERB_QUIT:
		reply(s, "221 2.0.0 Bye");
		session_finish(s);
		break;
	case SMTP_VERB_HELP:
		reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT HELP STARTTLS AUTH");
		break;
	case SMTP_VERB_VRFY:
	case SMTP_VERB_EXPN:
		reply(s, "502 5.5.1 Error: command disabled");
		break;
	case SMTP_VERB_STARTTLS:
		cmd_starttls(s, &cmd);
		break;
	case SMTP_VERB_AUTH:
		cmd_auth(s, &cmd);
		break;
	case SMTP_VERB_XFORWARD:
		cmd_xforward(s, &cmd);
		break;
	case SMTP_VERB_BDAT:
	case SMTP_VERB_UNKNOWN:
	default:
		reply(s, "502 5.5.2 Error: command not recognized");
		break;
	}
}

/* ---- input ---- */

static void
data_input(struct session *s, struct evbuffer *in)
{
	struct evbuffer_iovec vec[8];

	/*
	 * The buffer may hold more than 8 chunks (input read while replies
	 * were held back): go on until the terminator or the end of the
	 * buffer, or the rest would wait for bytes the client never sends.
	 */
	while (!s->data.done && evbuffer_get_length(in) > 0) {
		int n = evbuffer_peek(in, -1, NULL, vec, 8);
		size_t used = 0;

		for (int i = 0; i < n && i < 8 && !s->data.done; i++) {
			size_t c = smtp_data_feed(&s->data, vec[i].iov_base,
			    vec[i].iov_len, spool_out, s);
			used += c;
			if (c < vec[i].iov_len)
				break;
		}
		if (used == 0)
			break;
		evbuffer_drain(in, used);
	}
	if (s->data.done) {
		bufferevent_set_timeouts(s->bev,
		    &(struct timeval){ s->srv->cfg->smtpd_timeout, 0 },
		    &(struct timeval){ s->srv->cfg->smtpd_timeout, 0 });
		s->state = SS_CMD;
		data_end(s);
	}
}

static void
session_read(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t max = (size_t)s->srv->cfg->command_line_limit;

	while (s->state != SS_WAIT && s->state != SS_CLOSING && s->state != SS_STARTTLS) {
		size_t avail = evbuffer_get_length(in), linelen, consumed;
		enum smtp_line_status st;
		char *buf;

		if (avail == 0)
			break;
		if (s->state == SS_DATA) {
			data_input(s, in);
			if (s->state == SS_DATA)
				break;	/* need more */
			continue;
		}
		if (evbuffer_get_length(bufferevent_get_output(s->bev)) > OUTPUT_HIGH) {
			/* the client does not read its replies: wait for it */
			break;
		}
		buf = (char *)evbuffer_pullup(in, (ev_ssize_t)(avail < max + 1 ? avail : max + 1));
		st = smtp_line_find(buf, avail < max + 1 ? avail : max + 1, max, &linelen, &consumed);
		if (st == SMTP_LINE_MORE)
			break;
		if (st == SMTP_LINE_TOO_LONG) {
			evbuffer_drain(in, consumed);
			if (!s->discard_line)
				reply(s, "500 5.5.2 Error: line too long");
			s->discard_line = 1;
			if (too_many_errors(s))
				return;
			continue;
		}
		if (s->discard_line) {
			/* the tail of a too-long line */
			s->discard_line = 0;
			evbuffer_drain(in, consumed);
			continue;
		}
		if (st == SMTP_LINE_BARE_LF &&
		    strcmp(s->srv->cfg->smtp_line_endings, "normalize") != 0) {
			evbuffer_drain(in, consumed);
			reply(s, "500 5.5.2 Error: bare <LF> received");
			if (too_many_errors(s))
				return;
			continue;
		}
		{
			char *line = xstrndup(buf, linelen);
			/* NULs inside the line are passed on by length */
			memcpy(line, buf, linelen);
			line[linelen] = '\0';
			evbuffer_drain(in, consumed);
			command(s, line, linelen);
			sodium_memzero(line, linelen);
			free(line);
		}
		if (s->state != SS_CLOSING && too_many_errors(s))
			return;
	}
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	session_read(arg);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) != 0)
		return;
	if (s->state == SS_CLOSING) {
		session_close(s);
	} else if (s->state == SS_STARTTLS) {
		starttls_begin(s);
	} else if (s->state == SS_CMD || s->state == SS_DATA) {
		/* output drained below the mark: read what waited */
		session_read(s);
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg);

static void
session_setup_cbs(struct session *s)
{
	bufferevent_setcb(s->bev, read_cb, write_cb, event_cb, s);
	bufferevent_set_timeouts(s->bev, &(struct timeval){ s->srv->cfg->smtpd_timeout, 0 },
	    &(struct timeval){ s->srv->cfg->smtpd_timeout, 0 });
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		/* TLS handshake done */
		SSL *ssl = bufferevent_openssl_get_ssl(s->bev);
		free(s->tls_info);
		s->tls_info = xasprintf("%s %s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
		log_info("smtp: session %llu from [%s]: TLS %s", (unsigned long long)s->sid,
		    s->addr, s->tls_info);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		log_info("smtp: session %llu from [%s]: timeout in %s",
		    (unsigned long long)s->sid, s->addr,
		    s->state == SS_DATA ? "DATA" : "command");
		reply(s, "421 4.4.2 %s Error: timeout exceeded", s->srv->cfg->myhostname);
		session_finish(s);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e;
		while ((e = bufferevent_get_openssl_error(s->bev)) != 0) {
			char buf[256];
			ERR_error_string_n(e, buf, sizeof(buf));
			log_info("smtp: session %llu from [%s]: TLS error: %s",
			    (unsigned long long)s->sid, s->addr, buf);
		}
	}
	/* EOF or error: the client went away */
	session_close(s);
}

static void
session_close(struct session *s)
{
	struct smtp_server *srv = s->srv;

	if (s->ticket != NULL)
		queue_ticket_detach(s->ticket);
	if (s->auth != NULL)
		s->auth->s = NULL;
	if (s->budget)
		event_free(s->budget);
	transaction_reset(s);
	if (s->bev)
		bufferevent_free(s->bev);
	if (s->prev)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next)
		s->next->prev = s->prev;
	srv->nsessions--;
	log_debug("smtp: session %llu from [%s] closed", (unsigned long long)s->sid, s->addr);
	free(s->helo);
	free(s->tls_info);
	free(s->auth_user);
	free(s->auth_login);
	free(s);
}

static void
accept_cb(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct listener *lst = arg;
	struct smtp_server *srv = lst->srv;
	struct session *s;

	(void)evl;
	(void)salen;
	s = xcalloc(1, sizeof(*s));
	s->srv = srv;
	s->lst = lst;
	s->sid = ++srv->next_session_id;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, s->addr, sizeof(s->addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, s->addr, sizeof(s->addr));
	else
		util_strlcpy(s->addr, "unknown", sizeof(s->addr));
	s->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (s->bev == NULL) {
		close(fd);
		free(s);
		return;
	}
	s->next = srv->sessions;
	if (srv->sessions)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->nsessions++;
	session_setup_cbs(s);
	if (srv->nsessions > (size_t)srv->cfg->max_sessions) {
		log_warn("smtp: too many sessions (%zu); refusing [%s]", srv->nsessions, s->addr);
		reply(s, "421 4.7.0 %s Error: too many connections", srv->cfg->myhostname);
		session_finish(s);
		return;
	}
	log_debug("smtp: session %llu from [%s] on %s", (unsigned long long)s->sid,
	    s->addr, lst->addr);
	reply(s, "220 %s ESMTP sekisho", srv->cfg->myhostname);
}

/* ---- set-up ---- */

static int
listen_on(struct smtp_server *srv, const char *spec, enum role role, char *err, size_t errlen)
{
	struct listener *lst = &srv->listeners[srv->nlisteners];
	struct addrinfo hints, *res = NULL;
	char host[256];
	const char *port;
	const char *colon;
	int rc;

	/* host:port, [v6]:port */
	if (spec[0] == '[') {
		const char *close_br = strchr(spec, ']');
		if (close_br == NULL || close_br[1] != ':' ||
		    (size_t)(close_br - spec) >= sizeof(host)) {
			snprintf(err, errlen, "bad listen address '%s'", spec);
			return -1;
		}
		memcpy(host, spec + 1, (size_t)(close_br - spec - 1));
		host[close_br - spec - 1] = '\0';
		colon = close_br + 1;
	} else {
		colon = strrchr(spec, ':');
		if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
			snprintf(err, errlen, "bad listen address '%s' (want host:port)", spec);
			return -1;
		}
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
	}
	port = colon + 1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(*host ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "listen address '%s': %s", spec, gai_strerror(rc));
		return -1;
	}
	lst->srv = srv;
	lst->role = role;
	lst->addr = xstrdup(spec);
	lst->evl = evconnlistener_new_bind(srv->base, accept_cb, lst,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 1024,
	    res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (lst->evl == NULL) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
		free(lst->addr);
		return -1;
	}
	srv->nlisteners++;
	log_info("smtp: %s listener on %s", role == ROLE_INBOUND ? "inbound" : "outbound", spec);
	return 0;
}

static void
auth_mq_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mainq_run(arg);
}

struct smtp_server *
smtp_server_new(const struct config *cfg, struct event_base *base, struct queue *q,
    char *err, size_t errlen)
{
	struct smtp_server *srv = xcalloc(1, sizeof(*srv));
	size_t n = 0;

	srv->cfg = cfg;
	srv->base = base;
	srv->queue = q;
	for (char **p = cfg->trusted_networks; p && *p; p++)
		n++;
	srv->trusted = xcalloc(n ? n : 1, sizeof(*srv->trusted));
	for (char **p = cfg->trusted_networks; p && *p; p++) {
		if (cidr_parse(*p, &srv->trusted[srv->ntrusted]) < 0) {
			snprintf(err, errlen, "trusted_networks: '%s' is not a network", *p);
			goto fail;
		}
		srv->ntrusted++;
	}
	for (char **p = cfg->xforward_hosts; p && *p; p++)
		srv->nxforward++;
	srv->xforward = xcalloc(srv->nxforward ? srv->nxforward : 1, sizeof(*srv->xforward));
	for (size_t i = 0; i < srv->nxforward; i++) {
		if (cidr_parse(cfg->xforward_hosts[i], &srv->xforward[i]) < 0) {
			snprintf(err, errlen, "xforward_hosts: '%s' is not a network",
			    cfg->xforward_hosts[i]);
			goto fail;
		}
	}
	if (*cfg->tls_cert_file != '\0') {
		srv->ssl_ctx = SSL_CTX_new(TLS_server_method());
		if (srv->ssl_ctx == NULL ||
		    SSL_CTX_use_certificate_chain_file(srv->ssl_ctx, cfg->tls_cert_file) != 1 ||
		    SSL_CTX_use_PrivateKey_file(srv->ssl_ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(srv->ssl_ctx) != 1) {
			snprintf(err, errlen, "TLS: cannot load %s / %s", cfg->tls_cert_file,
			    cfg->tls_key_file);
			goto fail;
		}
		SSL_CTX_set_min_proto_version(srv->ssl_ctx, TLS1_2_VERSION);
		SSL_CTX_set_options(srv->ssl_ctx, SSL_OP_NO_RENEGOTIATION);
	}
	if (*cfg->auth_users_file != '\0') {
		srv->authdb = authdb_load(cfg->auth_users_file, err, errlen);
		if (srv->authdb == NULL)
			goto fail;
		if (srv->ssl_ctx == NULL)
			log_warn("smtp: auth_users_file is set but STARTTLS is off: AUTH is never offered");
		srv->auth_pool = tpool_new(2, "auth");
		srv->auth_mq = mainq_new();
		srv->auth_ev = event_new(base, mainq_fd(srv->auth_mq), EV_READ | EV_PERSIST,
		    auth_mq_cb, srv->auth_mq);
		event_add(srv->auth_ev, NULL);
	}
	if (*cfg->inbound_listen != '\0' &&
	    listen_on(srv, cfg->inbound_listen, ROLE_INBOUND, err, errlen) < 0)
		goto fail;
	if (*cfg->outbound_listen != '\0' &&
	    listen_on(srv, cfg->outbound_listen, ROLE_OUTBOUND, err, errlen) < 0)
		goto fail;
	return srv;
fail:
	smtp_server_free(srv);
	return NULL;
}

void
smtp_server_close_listeners(struct smtp_server *srv)
{
	for (size_t i = 0; i < srv->nlisteners; i++) {
		if (srv->listeners[i].evl) {
			evconnlistener_free(srv->listeners[i].evl);
			srv->listeners[i].evl = NULL;
		}
	}
}

size_t
smtp_server_sessions(const struct smtp_server *srv)
{
	return srv->nsessions;
}

void
smtp_server_free(struct smtp_server *srv)
{
	if (srv == NULL)
		return;
	smtp_server_close_listeners(srv);
	while (srv->sessions)
		session_close(srv->sessions);
	for (size_t i = 0; i < srv->nlisteners; i++)
		free(srv->listeners[i].addr);
	if (srv->auth_pool) {
		tpool_free(srv->auth_pool);
		mainq_run(srv->auth_mq);	/* frees the finished jobs */
	}
	if (srv->auth_ev)
		event_free(srv->auth_ev);
	mainq_free(srv->auth_mq);
	authdb_free(srv->authdb);
	if (srv->ssl_ctx)
		SSL_CTX_free(srv->ssl_ctx);
	free(srv->trusted);
	free(srv->xforward);
	free(srv);
}
