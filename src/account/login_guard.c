/*
 * login_guard.c - counting login attempts and finding attacks in them.
 *
 * One capped table (counter.h) holds three kinds of keys: "a:LOGIN" for
 * accounts, "i:ADDR" for addresses and "n:NET" for /24 and /64 subnets;
 * one more entry, kept outside the table, counts everything for the
 * credential stuffing pattern.  Each entry has a failure and a success
 * window and two distinct sets (for an account: the failing addresses and
 * the wrong passwords' hashes; for an address or subnet: the accounts it
 * failed on).
 *
 * A finding fires once per window per key and kind (alert_until), so a
 * running attack gives one alert and one lock, not one per attempt.
 *
 * Options: login_window, login_delay_after, login_delay_step,
 * login_delay_max, login_ip_refuse_failures, login_refuse_time,
 * login_lock_failures, login_dictionary_passwords, login_distributed_ips,
 * login_lock_time, login_spray_accounts, login_spray_max_per_account,
 * login_stuffing_accounts, login_stuffing_ips, login_stuffing_failure_ratio,
 * login_memory_limit, login_allow_networks.
 */
#include "account/login_guard.h"
#include "account/counter.h"
#include "util/cidr.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_BRUTE, K_DICT, K_DIST, K_IPFAIL, K_SPRAY, K_STUFF, K_COUNT };

static const char *const kind_names[K_COUNT] = {
	"brute_force", "dictionary_attack", "distributed_brute_force",
	"ip_failures", "password_spray", "credential_stuffing",
};

struct gentry {
	struct swin fails, oks;
	struct dset set1;		/* account: addresses; address: accounts */
	struct dset set2;		/* account: password hashes */
	int64_t refused_until;
	int64_t alert_until[K_COUNT];
};

struct login_guard {
	const struct config *cfg;
	struct ctable *t;
	struct cidr *allow;
	size_t nallow;
	int64_t window;
	struct gentry all;		/* every attempt, for credential stuffing */
	size_t all_mem;
	int64_t stuffing_until;
};

static void
gentry_release(void *p, size_t *mem)
{
	struct gentry *e = p;

	dset_free(&e->set1, mem);
	dset_free(&e->set2, mem);
}

struct login_guard *
login_guard_new(const struct config *cfg, char *err, size_t errlen)
{
	struct login_guard *g = xcalloc(1, sizeof(*g));
	size_t n = 0;

	for (char **p = cfg->login_allow_networks; p && *p; p++)
		n++;
	g->allow = xcalloc(n ? n : 1, sizeof(*g->allow));
	for (size_t i = 0; i < n; i++) {
		if (cidr_parse(cfg->login_allow_networks[i], &g->allow[i]) < 0) {
			snprintf(err, errlen, "login_allow_networks: '%s' is not a network",
			    cfg->login_allow_networks[i]);
			free(g->allow);
			free(g);
			return NULL;
		}
	}
	g->nallow = n;
	g->cfg = cfg;
	g->window = (cfg->login_window > 0 ? cfg->login_window : 600) * 1000;
	/* Keys live at least as long as a refusal or a window needs them. */
	g->t = ctable_new(sizeof(struct gentry), (size_t)cfg->login_memory_limit,
	    g->window + cfg->login_refuse_time * 1000, gentry_release);
	return g;
}

void
login_guard_free(struct login_guard *g)
{
	if (g == NULL)
		return;
	ctable_free(g->t);
	gentry_release(&g->all, &g->all_mem);
	free(g->allow);
	free(g);
}

int
login_guard_allowed(const struct login_guard *g, const char *ip)
{
	return ip != NULL && *ip != '\0' && cidr_match_any(g->allow, g->nallow, ip);
}

int
login_guard_subnet(const char *ip, char *buf, size_t len)
{
	unsigned char a[16];
	char txt[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET, ip, a) == 1) {
		snprintf(buf, len, "%u.%u.%u.0/24", a[0], a[1], a[2]);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, a) != 1)
		return -1;
	if (memcmp(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		snprintf(buf, len, "%u.%u.%u.0/24", a[12], a[13], a[14]);
		return 0;
	}
	memset(a + 8, 0, 8);
	if (inet_ntop(AF_INET6, a, txt, sizeof(txt)) == NULL)
		return -1;
	snprintf(buf, len, "%s/64", txt);
	return 0;
}

static struct gentry *
entry(struct login_guard *g, char prefix, const char *key, int create, int64_t now)
{
	char k[320];

	snprintf(k, sizeof(k), "%c:%s", prefix, key);
	return ctable_get(g->t, k, create, now);
}

static uint64_t
fails_of(const struct login_guard *g, const struct gentry *e, int64_t now)
{
	return e ? swin_count(&e->fails, g->window, now) : 0;
}

/* An address's failures beyond its successes: an office behind one NAT
 * address mistypes a lot but also logs in a lot. */
static uint64_t
net_fails(const struct login_guard *g, const struct gentry *e, int64_t now)
{
	uint64_t f = fails_of(g, e, now), ok;

	if (e == NULL)
		return 0;
	ok = swin_count(&e->oks, g->window, now);
	return f > ok ? f - ok : 0;
}

void
login_guard_check(struct login_guard *g, const char *login, const char *ip,
    int64_t now_ms, struct guard_decision *d)
{
	const struct config *cfg = g->cfg;
	struct gentry *a, *i, *n;
	char net[80];
	uint64_t f;

	d->status = 0;
	d->reason[0] = '\0';
	if (login_guard_allowed(g, ip))
		return;
	i = ip && *ip ? entry(g, 'i', ip, 0, now_ms) : NULL;
	n = ip && login_guard_subnet(ip, net, sizeof(net)) == 0 ?
	    entry(g, 'n', net, 0, now_ms) : NULL;
	if ((i && i->refused_until > now_ms) || (n && n->refused_until > now_ms)) {
		d->status = -1;
		snprintf(d->reason, sizeof(d->reason),
		    "Too many failed logins from your network; try again later");
		return;
	}
	a = login && *login ? entry(g, 'a', login, 0, now_ms) : NULL;
	f = fails_of(g, a, now_ms);
	if (net_fails(g, i, now_ms) > f)
		f = net_fails(g, i, now_ms);
	if (cfg->login_delay_after > 0 && f >= (uint64_t)cfg->login_delay_after) {
		uint64_t delay = (uint64_t)cfg->login_delay_step *
		    (f - (uint64_t)cfg->login_delay_after + 1);
		d->status = (int)(delay < (uint64_t)cfg->login_delay_max ?
		    delay : (uint64_t)cfg->login_delay_max);
	}
	/* During credential stuffing, an address that failed and never
	 * succeeded waits the longest delay. */
	if (g->stuffing_until > now_ms && i != NULL && fails_of(g, i, now_ms) > 0 &&
	    swin_count(&i->oks, g->window, now_ms) == 0 &&
	    d->status < cfg->login_delay_max)
		d->status = (int)cfg->login_delay_max;
	if (d->status > 0)
		snprintf(d->reason, sizeof(d->reason), "delayed after %llu failed logins",
		    (unsigned long long)f);
}

/* Fire a kind for a key once per window. */
static struct guard_finding *
finding(struct gentry *e, int kind, int64_t now, struct guard_finding *out,
    size_t max, size_t *n, int64_t window)
{
	struct guard_finding *f;

	if (e->alert_until[kind] > now || *n >= max)
		return NULL;
	e->alert_until[kind] = now + window;
	f = &out[(*n)++];
	memset(f, 0, sizeof(*f));
	f->kind = kind_names[kind];
	return f;
}

static void
check_account(struct login_guard *g, struct gentry *a, const char *login,
    const char *ip, int64_t now, struct guard_finding *out, size_t max, size_t *n)
{
	const struct config *cfg = g->cfg;
	size_t *mem = ctable_mem(g->t);
	uint64_t fails = swin_count(&a->fails, g->window, now);
	uint64_t ips = dset_count(&a->set1, g->window, now, mem);
	uint64_t hashes = dset_count(&a->set2, g->window, now, mem);
	int kind = -1;
	char detail[200];
	struct guard_finding *f;

	if (cfg->login_dictionary_passwords > 0 &&
	    hashes >= (uint64_t)cfg->login_dictionary_passwords) {
		kind = K_DICT;
		snprintf(detail, sizeof(detail), "%llu different wrong passwords",
		    (unsigned long long)hashes);
	} else if (cfg->login_distributed_ips > 0 &&
	    ips >= (uint64_t)cfg->login_distributed_ips) {
		kind = K_DIST;
		snprintf(detail, sizeof(detail), "failed logins from %llu addresses",
		    (unsigned long long)ips);
	} else if (cfg->login_lock_failures > 0 &&
	    fails >= (uint64_t)cfg->login_lock_failures) {
		kind = K_BRUTE;
		snprintf(detail, sizeof(detail), "%llu failed logins",
		    (unsigned long long)fails);
	}
	if (kind < 0)
		return;
	/* one lock per account and window, whichever pattern shows first */
	if (a->alert_until[K_BRUTE] > now)
		return;
	if ((f = finding(a, kind, now, out, max, n, g->window)) == NULL)
		return;
	a->alert_until[K_BRUTE] = a->alert_until[kind];
	f->action = GUARD_LOCK;
	f->until_ms = cfg->login_lock_time > 0 ? now + cfg->login_lock_time * 1000 : 0;
	util_strlcpy(f->login, login, sizeof(f->login));
	util_strlcpy(f->ip, ip ? ip : "", sizeof(f->ip));
	snprintf(f->detail, sizeof(f->detail), "%s in %llds", detail,
	    (long long)(g->window / 1000));
}

/* An address ('i') or subnet ('n'): too many failures or spraying. */
static void
check_source(struct login_guard *g, struct gentry *e, char prefix, const char *key,
    int64_t now, struct guard_finding *out, size_t max, size_t *n)
{
	const struct config *cfg = g->cfg;
	uint64_t fails = swin_count(&e->fails, g->window, now);
	uint64_t accts = dset_count(&e->set1, g->window, now, ctable_mem(g->t));

	uint64_t oks = swin_count(&e->oks, g->window, now);
	struct guard_finding *f = NULL;

	/* Spraying: many accounts, few tries each, and (unlike an office
	 * behind one NAT address, where people mistype then succeed) few
	 * successes beside them. */
	if (cfg->login_spray_accounts > 0 && accts >= (uint64_t)cfg->login_spray_accounts &&
	    fails <= accts * (uint64_t)cfg->login_spray_max_per_account && 2 * oks < accts) {
		if ((f = finding(e, K_SPRAY, now, out, max, n, g->window)) != NULL)
			snprintf(f->detail, sizeof(f->detail),
			    "%llu accounts failed from %s with %llu attempts in %llds",
			    (unsigned long long)accts, key, (unsigned long long)fails,
			    (long long)(g->window / 1000));
	} else if (prefix == 'i' && cfg->login_ip_refuse_failures > 0 &&
	    fails >= (uint64_t)cfg->login_ip_refuse_failures && 2 * oks < fails) {
		if ((f = finding(e, K_IPFAIL, now, out, max, n, g->window)) != NULL)
			snprintf(f->detail, sizeof(f->detail), "%llu failed logins from %s in %llds",
			    (unsigned long long)fails, key, (long long)(g->window / 1000));
	}
	if (f == NULL)
		return;
	e->refused_until = now + g->cfg->login_refuse_time * 1000;
	f->action = GUARD_REFUSE;
	f->until_ms = e->refused_until;
	util_strlcpy(f->ip, key, sizeof(f->ip));
}

static void
check_stuffing(struct login_guard *g, int64_t now, struct guard_finding *out,
    size_t max, size_t *n)
{
	const struct config *cfg = g->cfg;
	struct gentry *e = &g->all;
	uint64_t fails = swin_count(&e->fails, g->window, now);
	uint64_t oks = swin_count(&e->oks, g->window, now);
	uint64_t accts, ips;
	struct guard_finding *f;

	if (cfg->login_stuffing_accounts == 0 || fails < (uint64_t)cfg->login_stuffing_accounts)
		return;
	accts = dset_count(&e->set2, g->window, now, &g->all_mem);
	ips = dset_count(&e->set1, g->window, now, &g->all_mem);
	if (accts < (uint64_t)cfg->login_stuffing_accounts ||
	    ips < (uint64_t)cfg->login_stuffing_ips ||
	    (double)fails < cfg->login_stuffing_failure_ratio * (double)(fails + oks) ||
	    fails > 2 * accts)	/* about one try per account */
		return;
	g->stuffing_until = now + g->window;
	if ((f = finding(e, K_STUFF, now, out, max, n, g->window)) == NULL)
		return;
	f->action = GUARD_ALERT;
	snprintf(f->detail, sizeof(f->detail),
	    "%llu accounts failed from %llu addresses, %.0f%% of %llu logins failed in %llds",
	    (unsigned long long)accts, (unsigned long long)ips,
	    100.0 * (double)fails / (double)(fails + oks), (unsigned long long)(fails + oks),
	    (long long)(g->window / 1000));
}

size_t
login_guard_report(struct login_guard *g, const char *login, const char *ip,
    const char *pwhash, int success, int64_t now, struct guard_finding *out, size_t max)
{
	size_t *mem = ctable_mem(g->t), n = 0;
	struct gentry *a, *i = NULL, *s = NULL;
	char net[80];
	int has_net;

	if (login == NULL || *login == '\0' || login_guard_allowed(g, ip))
		return 0;
	has_net = ip && login_guard_subnet(ip, net, sizeof(net)) == 0;
	a = entry(g, 'a', login, 1, now);
	if (ip && *ip)
		i = entry(g, 'i', ip, 1, now);
	if (has_net)
		s = entry(g, 'n', net, 1, now);
	if (success) {
		swin_add(&a->oks, g->window, now, 1);
		if (i)
			swin_add(&i->oks, g->window, now, 1);
		if (s)
			swin_add(&s->oks, g->window, now, 1);
		swin_add(&g->all.oks, g->window, now, 1);
		ctable_trim(g->t, now);
		return 0;
	}
	swin_add(&a->fails, g->window, now, 1);
	if (ip && *ip)
		dset_add(&a->set1, counter_hash(ip), g->window, now, mem);
	if (pwhash && *pwhash)
		dset_add(&a->set2, counter_hash(pwhash), g->window, now, mem);
	if (i) {
		swin_add(&i->fails, g->window, now, 1);
		dset_add(&i->set1, counter_hash(login), g->window, now, mem);
	}
	if (s) {
		swin_add(&s->fails, g->window, now, 1);
		dset_add(&s->set1, counter_hash(login), g->window, now, mem);
	}
	swin_add(&g->all.fails, g->window, now, 1);
	if (ip && *ip)
		dset_add(&g->all.set1, counter_hash(ip), g->window, now, &g->all_mem);
	dset_add(&g->all.set2, counter_hash(login), g->window, now, &g->all_mem);

	check_account(g, a, login, ip, now, out, max, &n);
	if (i)
		check_source(g, i, 'i', ip, now, out, max, &n);
	if (s)
		check_source(g, s, 'n', net, now, out, max, &n);
	check_stuffing(g, now, out, max, &n);
	ctable_trim(g->t, now);
	return n;
}

void
login_guard_stats(struct login_guard *g, struct guard_stats *s)
{
	s->keys = ctable_count(g->t);
	s->memory = *ctable_mem(g->t) + g->all_mem;
	s->evicted = ctable_evicted(g->t);
}
