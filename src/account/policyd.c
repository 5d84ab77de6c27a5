/*
 * policyd.c - the Postfix policy delegation server (policyd.h).
 *
 * Parsing is a pure function over lines (policyd_feed), with its limits:
 * lines up to POLICYD_LINE_MAX bytes, POLICYD_ATTRS_MAX attributes; past
 * them the connection is closed (Postfix then answers per its
 * default_policy_action / a temporary error).  Unknown attributes are
 * ignored.  Connections live on the daemon's event loop; a request is
 * answered at once.
 *
 * Counting, per sasl_username ("u:") and per client_address ("c:"), over
 * a sliding hour: messages (a new Postfix "instance" is a new message),
 * recipients, and distinct recipient domains not in local_domains.  A
 * request that would pass a limit is deferred and not counted (except a
 * new external domain, which stays in the distinct set).  Locked accounts
 * are checked in the store on each request.
 *
 * Options: policy_listen, policy_user_messages, policy_user_recipients,
 * policy_user_domains, policy_ip_messages, policy_ip_recipients,
 * policy_ip_domains, login_memory_limit (shared cap for the counters).
 */
#include "account/policyd.h"
#include "account/account_guard.h"
#include "account/account_net.h"
#include "account/counter.h"
#include "util/log.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#define HOUR_MS		(3600 * 1000)
#define IDLE_SECONDS	300

struct rentry {
	struct swin msgs, rcpts;
	struct dset domains;
	char instance[64];
};

struct policyd {
	const struct config *cfg;
	struct account_guard *ag;
	struct ctable *t;
	struct evconnlistener *lst;
	struct pconn *conns;		/* open connections, freed at the end */
};

struct pconn {
	struct pconn *next, **prevp;
	struct policyd *pd;
	struct bufferevent *bev;
	struct policyd_req req;
};

static const struct {
	const char *name;
	size_t off, size;
} attrs[] = {
#define A(n) { #n, offsetof(struct policyd_req, n), sizeof(((struct policyd_req *)0)->n) }
	A(request), A(protocol_state), A(sasl_username), A(client_address),
	A(sender), A(recipient), A(instance),
#undef A
};

int
policyd_feed(struct policyd_req *r, const char *line, size_t len)
{
	const char *eq;
	size_t nlen;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return 1;
	if (len > POLICYD_LINE_MAX || ++r->nattrs > POLICYD_ATTRS_MAX)
		return -1;
	if ((eq = memchr(line, '=', len)) == NULL || eq == line)
		return -1;
	nlen = (size_t)(eq - line);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(attrs); i++) {
		if (strlen(attrs[i].name) == nlen && memcmp(attrs[i].name, line, nlen) == 0) {
			size_t vlen = len - nlen - 1;
			char *dst = (char *)r + attrs[i].off;
			if (vlen >= attrs[i].size)
				vlen = attrs[i].size - 1;
			memcpy(dst, eq + 1, vlen);
			dst[vlen] = '\0';
			break;
		}
	}
	return 0;
}

static void
rentry_release(void *p, size_t *mem)
{
	dset_free(&((struct rentry *)p)->domains, mem);
}

struct policyd *
policyd_new(const struct config *cfg, struct account_guard *ag)
{
	struct policyd *pd = xcalloc(1, sizeof(*pd));

	pd->cfg = cfg;
	pd->ag = ag;
	pd->t = ctable_new(sizeof(struct rentry), (size_t)cfg->login_memory_limit,
	    HOUR_MS, rentry_release);
	return pd;
}

/* The domain of an address, lower-case, or NULL. */
static const char *
domain_of(const char *addr, char *buf, size_t len)
{
	const char *at = strrchr(addr, '@');

	if (at == NULL || at[1] == '\0')
		return NULL;
	util_strlcpy(buf, at + 1, len);
	return util_lowercase(buf);
}

/* Would this recipient pass one key's limits?  NULL when it does (and it
 * is then counted), else what was exceeded. */
static const char *
limit(struct policyd *pd, char prefix, const char *key, const struct policyd_req *r,
    const char *domain, int64_t lim_msgs, int64_t lim_rcpts, int64_t lim_domains,
    int64_t now)
{
	char k[320];
	struct rentry *e;
	int newmsg;
	size_t *mem = ctable_mem(pd->t);

	snprintf(k, sizeof(k), "%c:%s", prefix, key);
	e = ctable_get(pd->t, k, 1, now);
	newmsg = *r->instance == '\0' || strcmp(e->instance, r->instance) != 0;
	if (newmsg && lim_msgs > 0 && swin_count(&e->msgs, HOUR_MS, now) >= (uint64_t)lim_msgs)
		return "messages";
	if (lim_rcpts > 0 && swin_count(&e->rcpts, HOUR_MS, now) >= (uint64_t)lim_rcpts)
		return "recipients";
	if (domain != NULL && lim_domains > 0) {
		dset_add(&e->domains, counter_hash(domain), HOUR_MS, now, mem);
		if (dset_count(&e->domains, HOUR_MS, now, mem) > (uint64_t)lim_domains)
			return "external recipient domains";
	}
	if (newmsg) {
		swin_add(&e->msgs, HOUR_MS, now, 1);
		util_strlcpy(e->instance, r->instance, sizeof(e->instance));
	}
	swin_add(&e->rcpts, HOUR_MS, now, 1);
	return NULL;
}

void
policyd_decide(struct policyd *pd, const struct policyd_req *r, int64_t now,
    char *action, size_t len)
{
	const struct config *cfg = pd->cfg;
	const char *what = NULL, *who = "";
	char dbuf[256], reason[256], ql[300];
	const char *domain;

	if (*r->sasl_username && pd->ag &&
	    account_guard_locked(pd->ag, r->sasl_username, reason, sizeof(reason)) == 1) {
		/* SMTP replies are ASCII: no Japanese here (docs/account.md). */
		snprintf(action, len, "action=REJECT 5.7.1 Account locked; contact your"
		    " administrator");
		log_info("policy: reject locked sasl_username=%s client=%s",
		    log_kv_quote(ql, sizeof(ql), r->sasl_username), r->client_address);
		return;
	}
	if (strcmp(r->protocol_state, "RCPT") != 0 || *r->recipient == '\0') {
		snprintf(action, len, "action=DUNNO");
		return;
	}
	domain = domain_of(r->recipient, dbuf, sizeof(dbuf));
	if (domain != NULL && config_is_local_domain(cfg, domain))
		domain = NULL;
	if (*r->sasl_username) {
		who = "user";
		what = limit(pd, 'u', r->sasl_username, r, domain, cfg->policy_user_messages,
		    cfg->policy_user_recipients, cfg->policy_user_domains, now);
	}
	if (what == NULL && *r->client_address) {
		who = "address";
		what = limit(pd, 'c', r->client_address, r, domain, cfg->policy_ip_messages,
		    cfg->policy_ip_recipients, cfg->policy_ip_domains, now);
	}
	ctable_trim(pd->t, now);
	if (what == NULL) {
		snprintf(action, len, "action=DUNNO");
		return;
	}
	snprintf(action, len, "action=450 4.7.1 Rate limit: too many %s per hour for this %s;"
	    " try again later", what, who);
	log_info("policy: defer %s limit sasl_username=%s client=%s", what,
	    log_kv_quote(ql, sizeof(ql), r->sasl_username), r->client_address);
}

static void
pconn_free(struct pconn *pc)
{
	if (pc->next)
		pc->next->prevp = pc->prevp;
	*pc->prevp = pc->next;
	bufferevent_free(pc->bev);
	free(pc);
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct pconn *pc = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line, action[512];
	size_t n;
	int rc;

	while ((line = evbuffer_readln(in, &n, EVBUFFER_EOL_LF)) != NULL) {
		rc = policyd_feed(&pc->req, line, n);
		free(line);
		if (rc < 0) {
			log_warn("policy: bad request line; closing");
			pconn_free(pc);
			return;
		}
		if (rc == 1) {
			policyd_decide(pc->pd, &pc->req, util_now_ms(), action, sizeof(action));
			evbuffer_add_printf(bufferevent_get_output(bev), "%s\n\n", action);
			memset(&pc->req, 0, sizeof(pc->req));
		}
	}
	if (evbuffer_get_length(in) > POLICYD_LINE_MAX) {
		log_warn("policy: line too long; closing");
		pconn_free(pc);
	}
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR | BEV_EVENT_TIMEOUT))
		pconn_free(arg);
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa, int salen,
    void *arg)
{
	struct policyd *pd = arg;
	struct pconn *pc = xcalloc(1, sizeof(*pc));
	struct timeval idle = { IDLE_SECONDS, 0 };
	(void)sa;
	(void)salen;

	pc->pd = pd;
	pc->bev = bufferevent_socket_new(evconnlistener_get_base(l), fd,
	    BEV_OPT_CLOSE_ON_FREE);
	if (pc->bev == NULL) {
		evutil_closesocket(fd);
		free(pc);
		return;
	}
	pc->next = pd->conns;
	if (pd->conns)
		pd->conns->prevp = &pc->next;
	pc->prevp = &pd->conns;
	pd->conns = pc;
	bufferevent_setcb(pc->bev, read_cb, NULL, event_cb, pc);
	bufferevent_set_timeouts(pc->bev, &idle, NULL);
	bufferevent_enable(pc->bev, EV_READ | EV_WRITE);
}

int
policyd_listen(struct policyd *pd, struct event_base *base, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (account_listen_addr(pd->cfg->policy_listen, &ss, &sslen, err, errlen) < 0)
		return -1;
	pd->lst = evconnlistener_new_bind(base, accept_cb, pd,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
	    (struct sockaddr *)&ss, (int)sslen);
	if (pd->lst == NULL) {
		snprintf(err, errlen, "policy_listen: cannot listen on %s", pd->cfg->policy_listen);
		return -1;
	}
	log_info("policy: Postfix policy server on %s", pd->cfg->policy_listen);
	return 0;
}

void
policyd_free(struct policyd *pd)
{
	if (pd == NULL)
		return;
	if (pd->lst)
		evconnlistener_free(pd->lst);
	while (pd->conns)
		pconn_free(pd->conns);
	ctable_free(pd->t);
	free(pd);
}
