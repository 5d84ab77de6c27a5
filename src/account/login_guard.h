/*
 * login_guard.h - the login-attack detection engine (memory only).
 *
 * Fed with every login attempt's outcome (login, client address, a hash of
 * the password tried), it keeps sliding windows and distinct counts per
 * account, per address, per subnet (/24, /64) and overall, and finds:
 *
 *   brute_force              failures on one account >= login_lock_failures
 *   dictionary_attack        different wrong passwords on one account
 *                            >= login_dictionary_passwords
 *   distributed_brute_force  failing addresses on one account
 *                            >= login_distributed_ips
 *   ip_failures              failures from one address >= login_ip_refuse_failures
 *   password_spray           accounts failing from one address or subnet
 *                            >= login_spray_accounts, few tries each
 *   credential_stuffing      many accounts and addresses failing, about one
 *                            try each, a high failure ratio overall
 *
 * Responses are graded: a delay for the next attempts of an account or
 * address with failures (login_guard_check), a temporary refusal of an
 * address or subnet (kept here), an account lock and alerts (returned as
 * findings for the caller to store: account_guard.c).  Addresses in
 * login_allow_networks are never delayed or refused and do not count.
 *
 * Memory stays under login_memory_limit (least recently seen keys go
 * first).  Not thread-safe: the caller serialises.
 */
#ifndef SEKISHO_LOGIN_GUARD_H
#define SEKISHO_LOGIN_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "util/config.h"

enum guard_action {
	GUARD_ALERT,		/* tell the admin */
	GUARD_REFUSE,		/* the address or subnet in ip was refused until until_ms */
	GUARD_LOCK,		/* lock the account (until_ms, 0: until cleared) */
};

struct guard_finding {
	const char *kind;	/* "brute_force", "password_spray"... (static) */
	enum guard_action action;
	char login[256];	/* "" when about an address */
	char ip[64];		/* address or subnet ("192.0.2.0/24") */
	int64_t until_ms;
	char detail[256];
};

struct guard_decision {
	int status;		/* -1 refuse, 0 allow, N: delay N seconds */
	char reason[128];
};

struct guard_stats {
	size_t keys;
	size_t memory;
	uint64_t evicted;
};

struct login_guard;

/* NULL with err when login_allow_networks holds a bad network. */
struct login_guard *login_guard_new(const struct config *cfg, char *err, size_t errlen);
void login_guard_free(struct login_guard *g);

/* Is ip in login_allow_networks? */
int login_guard_allowed(const struct login_guard *g, const char *ip);

/* Before a login: refused address or subnet, or a delay from the failures
 * seen for the account and the address. */
void login_guard_check(struct login_guard *g, const char *login, const char *ip,
    int64_t now_ms, struct guard_decision *d);

/* After a login: count it and return what it revealed (at most max
 * findings in out; each kind fires once per window per key).  pwhash may
 * be NULL or "" when unknown. */
size_t login_guard_report(struct login_guard *g, const char *login, const char *ip,
    const char *pwhash, int success, int64_t now_ms,
    struct guard_finding *out, size_t max);

/* The subnet of an address: a.b.c.0/24 or the /64 of IPv6.  0 or -1. */
int login_guard_subnet(const char *ip, char *buf, size_t len);

void login_guard_stats(struct login_guard *g, struct guard_stats *s);

#endif
