/*
 * dns.c - the shared resolver over libunbound (contract in dns.h).
 *
 * One ub_ctx serves every thread, so all checks share one cache.  The
 * context runs its resolver in a background thread (ub_ctx_async(ctx, 1)),
 * never a forked process: forking from a threaded daemon is not safe.
 *
 * ub_resolve() has no time-out of its own, so every query goes through
 * ub_resolve_async() and the caller waits for its answer with a deadline.
 * Answers arrive on one pipe (ub_fd) for all threads, and ub_process()
 * runs the callbacks of every finished query, whoever asked.  So waiting
 * threads take turns: the first one to find nobody reading the pipe polls
 * it (without the lock) and then runs ub_process() under the lock; the
 * others sleep on a condition variable that is broadcast after each
 * ub_process().  A thread whose deadline passes cancels its own query
 * under the lock; since callbacks also run only under the lock, a query
 * is either answered or cancelled, never both.  The query record lives on
 * the heap and, should ub_cancel() ever refuse, is handed to the callback
 * to free instead of being left dangling.
 *
 * Failure: dns_new() returns NULL with a message for a bad forwarder or
 * option.  Queries return an enum dns_status and never abort: time-outs,
 * SERVFAIL, REFUSED and libunbound errors are DNS_TEMPFAIL; malformed names
 * (longer than 253 bytes, empty or over-long labels, spaces or control
 * bytes) are DNS_PERMFAIL without a query.
 */
#include "util/dns.h"
#include "util/log.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unbound.h>

#define DNS_T_A		1
#define DNS_T_PTR	12
#define DNS_T_MX	15
#define DNS_T_TXT	16
#define DNS_T_AAAA	28
#define DNS_CLASS_IN	1

#define DNS_RCODE_NOERROR	0
#define DNS_RCODE_NXDOMAIN	3

struct dns {
	struct ub_ctx *ctx;
	int timeout_ms;
	pthread_mutex_t lock;		/* around ub_resolve_async/ub_process/ub_cancel */
	pthread_cond_t cond;		/* broadcast after each ub_process() */
	int reading;			/* a thread is polling the answer pipe */
};

struct dns_query {
	int done;
	int orphan;			/* the waiter gave up; the callback frees */
	int err;
	int id;
	struct ub_result *res;
};

struct dns *
dns_new(const char *const *forwarders, int timeout_ms, char *err, size_t errlen)
{
	struct dns *d = xcalloc(1, sizeof(*d));
	int rc;

	d->timeout_ms = timeout_ms > 0 ? timeout_ms : 3000;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);

	if ((d->ctx = ub_ctx_create()) == NULL) {
		snprintf(err, errlen, "dns: cannot create a libunbound context");
		goto fail;
	}
	/* a thread, not a forked process, does the resolving */
	if ((rc = ub_ctx_async(d->ctx, 1)) != 0) {
		snprintf(err, errlen, "dns: ub_ctx_async: %s", ub_strerror(rc));
		goto fail;
	}
	/*
	 * A forwarder on loopback (a local unbound, systemd-resolved at
	 * 127.0.0.53, the test server) is the common case; unbound refuses
	 * to send queries to localhost unless told otherwise.
	 */
	if ((rc = ub_ctx_set_option(d->ctx, "do-not-query-localhost:", "no")) != 0) {
		snprintf(err, errlen, "dns: do-not-query-localhost: %s", ub_strerror(rc));
		goto fail;
	}
	if (forwarders != NULL && forwarders[0] != NULL) {
		/*
		 * The admin's resolver knows its own private zones: let
		 * reverse lookups of LAN addresses and names under "test."
		 * (RFC 6761; what our tests serve) reach it instead of
		 * libunbound's built-in NXDOMAIN answers.  ("nodefault" would
		 * say this more directly, but ub_ctx_set_option() mis-parses
		 * it in unbound 1.17; a configured zone replaces the default.)
		 */
		if ((rc = ub_ctx_set_option(d->ctx, "unblock-lan-zones:", "yes")) != 0 ||
		    (rc = ub_ctx_set_option(d->ctx, "local-zone:", "test. transparent")) != 0) {
			snprintf(err, errlen, "dns: local zones: %s", ub_strerror(rc));
			goto fail;
		}
		for (size_t i = 0; forwarders[i] != NULL; i++) {
			/* "IP" or "IP@port" (libunbound parses the port) */
			if ((rc = ub_ctx_set_fwd(d->ctx, forwarders[i])) != 0) {
				snprintf(err, errlen, "dns: forwarder '%s': %s",
				    forwarders[i], ub_strerror(rc));
				goto fail;
			}
		}
	} else if ((rc = ub_ctx_resolvconf(d->ctx, NULL)) != 0) {
		snprintf(err, errlen, "dns: /etc/resolv.conf: %s", ub_strerror(rc));
		goto fail;
	}
	return d;
fail:
	dns_free(d);
	return NULL;
}

void
dns_free(struct dns *d)
{
	if (d == NULL)
		return;
	if (d->ctx != NULL)
		ub_ctx_delete(d->ctx);	/* stops the resolver thread */
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

const char *
dns_status_name(enum dns_status st)
{
	switch (st) {
	case DNS_OK: return "ok";
	case DNS_NXDOMAIN: return "nxdomain";
	case DNS_NODATA: return "nodata";
	case DNS_TEMPFAIL: return "tempfail";
	case DNS_PERMFAIL: return "permfail";
	}
	return "unknown";
}

void
dns_strings_free(char **list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

/* A name we are willing to put on the wire (RFC 1035 lengths, no blanks). */
static int
dns_name_ok(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (c <= ' ' || c == 0x7f)
			return 0;
		if (++label > 63)
			return 0;
	}
	return 1;
}

/* Called from ub_process(), always with d->lock held. */
static void
dns_done(void *arg, int err, struct ub_result *res)
{
	struct dns_query *q = arg;

	if (q->orphan) {
		ub_resolve_free(res);
		free(q);
		return;
	}
	q->err = err;
	q->res = res;
	q->done = 1;
}

static void
dns_deadline_ts(int64_t deadline_ms, struct timespec *ts)
{
	ts->tv_sec = (time_t)(deadline_ms / 1000);
	ts->tv_nsec = (long)(deadline_ms % 1000) * 1000000L;
}

/*
 * Resolve name/type within the time-out.  DNS_OK, NXDOMAIN and NODATA come
 * with *out set (free with ub_resolve_free); the others with *out NULL.
 */
static enum dns_status
dns_resolve(struct dns *d, const char *name, int type, struct ub_result **out)
{
	struct dns_query *q;
	int64_t deadline = util_mono_ms() + d->timeout_ms;
	enum dns_status st;
	int rc;

	*out = NULL;
	if (!dns_name_ok(name))
		return DNS_PERMFAIL;
	q = xcalloc(1, sizeof(*q));
	pthread_mutex_lock(&d->lock);
	rc = ub_resolve_async(d->ctx, name, type, DNS_CLASS_IN, q, dns_done, &q->id);
	if (rc != 0) {
		pthread_mutex_unlock(&d->lock);
		log_warn("dns: cannot query %s: %s", name, ub_strerror(rc));
		free(q);
		return rc == UB_SYNTAX ? DNS_PERMFAIL : DNS_TEMPFAIL;
	}
	while (!q->done) {
		int64_t left = deadline - util_mono_ms();

		if (left <= 0)
			break;
		if (!d->reading) {
			struct pollfd pfd = { .fd = ub_fd(d->ctx), .events = POLLIN };

			d->reading = 1;
			pthread_mutex_unlock(&d->lock);
			(void)poll(&pfd, 1, (int)left);
			pthread_mutex_lock(&d->lock);
			/* non-blocking: runs the callbacks of whatever arrived */
			rc = ub_process(d->ctx);
			if (rc != 0)
				log_warn("dns: ub_process: %s", ub_strerror(rc));
			d->reading = 0;
			pthread_cond_broadcast(&d->cond);
		} else {
			struct timespec ts;

			dns_deadline_ts(deadline, &ts);
			(void)pthread_cond_timedwait(&d->cond, &d->lock, &ts);
		}
	}
	if (!q->done) {
		/* time-out: nobody may touch q after we let go of the lock */
		if (ub_cancel(d->ctx, q->id) == 0)
			free(q);
		else
			q->orphan = 1;
		/* let a sleeping thread take over the pipe */
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
		return DNS_TEMPFAIL;
	}
	pthread_mutex_unlock(&d->lock);

	if (q->err != 0 || q->res == NULL) {
		st = DNS_TEMPFAIL;
		ub_resolve_free(q->res);
	} else if (q->res->rcode == DNS_RCODE_NXDOMAIN || q->res->nxdomain) {
		st = DNS_NXDOMAIN;
		*out = q->res;
	} else if (q->res->rcode != DNS_RCODE_NOERROR) {
		st = DNS_TEMPFAIL;	/* SERVFAIL, REFUSED, FORMERR... */
		ub_resolve_free(q->res);
	} else if (!q->res->havedata) {
		st = DNS_NODATA;
		*out = q->res;
	} else {
		st = DNS_OK;
		*out = q->res;
	}
	free(q);
	return st;
}

/* Growable NULL-terminated string list. */
struct strlist {
	char **v;
	size_t n, cap;
};

static void
strlist_add(struct strlist *l, char *s)
{
	if (l->n + 2 > l->cap) {
		l->cap = l->cap ? l->cap * 2 : 8;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = s;
	l->v[l->n] = NULL;
}

static char **
strlist_finish(struct strlist *l)
{
	if (l->v == NULL)
		strlist_add(l, NULL);	/* an empty, NULL-terminated list */
	return l->v;
}

/*
 * A domain name in uncompressed wire form (libunbound expands names inside
 * the rdata of the types we ask for) to text.  NULL when malformed.
 */
static char *
wire_name(const unsigned char *p, size_t len)
{
	char buf[1024];
	size_t o = 0, i = 0;

	while (i < len) {
		size_t l = p[i++];

		if (l == 0) {
			if (o == 0)
				return xstrdup(".");
			buf[o] = '\0';
			return xstrdup(buf);
		}
		if (l > 63 || i + l > len || o + l + 2 > sizeof(buf))
			return NULL;
		if (o > 0)
			buf[o++] = '.';
		for (size_t k = 0; k < l; k++) {
			unsigned char c = p[i + k];
			buf[o++] = (c == 0) ? '?' : (char)c;
		}
		i += l;
	}
	return NULL;
}

enum dns_status
dns_txt(struct dns *d, const char *name, char ***out)
{
	struct ub_result *res;
	struct strlist l = { 0 };
	enum dns_status st;

	*out = NULL;
	st = dns_resolve(d, name, DNS_T_TXT, &res);
	if (st == DNS_OK) {
		for (int i = 0; res->data[i] != NULL; i++) {
			const unsigned char *p = (const unsigned char *)res->data[i];
			size_t len = (size_t)res->len[i], o = 0;
			char *s = xmalloc(len + 1);

			/* character-strings: <length><bytes>..., joined */
			for (size_t k = 0; k < len; ) {
				size_t sl = p[k++];

				if (sl > len - k)
					sl = len - k;
				for (size_t j = 0; j < sl; j++)
					s[o++] = p[k + j] ? (char)p[k + j] : ' ';
				k += sl;
			}
			s[o] = '\0';
			strlist_add(&l, s);
		}
	}
	ub_resolve_free(res);
	if (st == DNS_OK)
		*out = strlist_finish(&l);
	return st;
}

static enum dns_status
dns_addr_type(struct dns *d, const char *name, int type, struct strlist *l)
{
	struct ub_result *res;
	enum dns_status st = dns_resolve(d, name, type, &res);

	if (st == DNS_OK) {
		int af = type == DNS_T_A ? AF_INET : AF_INET6;
		int want = type == DNS_T_A ? 4 : 16;
		char buf[INET6_ADDRSTRLEN];

		for (int i = 0; res->data[i] != NULL; i++)
			if (res->len[i] == want &&
			    inet_ntop(af, res->data[i], buf, sizeof(buf)) != NULL)
				strlist_add(l, xstrdup(buf));
	}
	ub_resolve_free(res);
	return st;
}

enum dns_status
dns_addrs(struct dns *d, const char *name, char ***out)
{
	struct strlist l = { 0 };
	enum dns_status s4, s6;

	*out = NULL;
	s4 = dns_addr_type(d, name, DNS_T_A, &l);
	if (s4 == DNS_PERMFAIL)
		return s4;
	s6 = dns_addr_type(d, name, DNS_T_AAAA, &l);
	if (l.n > 0) {
		*out = strlist_finish(&l);
		return DNS_OK;
	}
	free(l.v);
	if (s4 == DNS_TEMPFAIL || s6 == DNS_TEMPFAIL)
		return DNS_TEMPFAIL;
	if (s4 == DNS_NXDOMAIN || s6 == DNS_NXDOMAIN)
		return DNS_NXDOMAIN;
	return DNS_NODATA;
}

struct mx {
	int pref;
	char *name;
};

static int
mx_cmp(const void *a, const void *b)
{
	const struct mx *x = a, *y = b;

	return (x->pref > y->pref) - (x->pref < y->pref);
}

enum dns_status
dns_mx(struct dns *d, const char *name, char ***out)
{
	struct ub_result *res;
	struct strlist l = { 0 };
	struct mx *mx = NULL;
	size_t n = 0;
	enum dns_status st;

	*out = NULL;
	st = dns_resolve(d, name, DNS_T_MX, &res);
	if (st == DNS_OK) {
		for (int i = 0; res->data[i] != NULL; i++) {
			const unsigned char *p = (const unsigned char *)res->data[i];
			char *host;

			if (res->len[i] < 3)
				continue;
			if ((host = wire_name(p + 2, (size_t)res->len[i] - 2)) == NULL)
				continue;
			mx = xrealloc(mx, (n + 1) * sizeof(*mx));
			mx[n].pref = (p[0] << 8) | p[1];
			mx[n].name = host;
			n++;
		}
		qsort(mx, n, sizeof(*mx), mx_cmp);
		for (size_t i = 0; i < n; i++)
			strlist_add(&l, mx[i].name);
		free(mx);
		*out = strlist_finish(&l);
	}
	ub_resolve_free(res);
	return st;
}

enum dns_status
dns_ptr(struct dns *d, const char *ip, char ***out)
{
	unsigned char a[16];
	char name[80];
	struct ub_result *res;
	struct strlist l = { 0 };
	enum dns_status st;

	*out = NULL;
	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(name, sizeof(name), "%u.%u.%u.%u.in-addr.arpa",
		    a[3], a[2], a[1], a[0]);
	} else if (inet_pton(AF_INET6, ip, a) == 1) {
		static const char hex[] = "0123456789abcdef";
		size_t o = 0;

		for (int i = 15; i >= 0; i--) {
			name[o++] = hex[a[i] & 0xf];
			name[o++] = '.';
			name[o++] = hex[a[i] >> 4];
			name[o++] = '.';
		}
		memcpy(name + o, "ip6.arpa", sizeof("ip6.arpa"));
	} else {
		return DNS_PERMFAIL;
	}
	st = dns_resolve(d, name, DNS_T_PTR, &res);
	if (st == DNS_OK) {
		for (int i = 0; res->data[i] != NULL; i++) {
			char *host = wire_name((const unsigned char *)res->data[i],
			    (size_t)res->len[i]);
			if (host != NULL)
				strlist_add(&l, host);
		}
		*out = strlist_finish(&l);
	}
	ub_resolve_free(res);
	return st;
}

enum dns_status
dns_query_raw(struct dns *d, const char *name, int rrtype, unsigned char **pkt,
    size_t *len)
{
	struct ub_result *res;
	enum dns_status st;

	*pkt = NULL;
	*len = 0;
	st = dns_resolve(d, name, rrtype, &res);
	if (res != NULL && res->answer_packet != NULL && res->answer_len > 0) {
		*len = (size_t)res->answer_len;
		*pkt = xmalloc(*len);
		memcpy(*pkt, res->answer_packet, *len);
	}
	ub_resolve_free(res);
	return st;
}
