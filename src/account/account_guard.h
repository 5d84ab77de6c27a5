/*
 * account_guard.h - login decisions for the mail servers: the login guard
 * (memory), the store (locks, login events, alerts) and the GeoIP checks
 * behind one lock, shared by the Dovecot auth policy server, the Postfix
 * policy server and the log watcher.
 *
 * Calls are thread-safe (one mutex; the guard has its own store
 * connection).  A store failure never refuses a login by itself: it is
 * logged and the decision falls back to the in-memory state.
 */
#ifndef SEKISHO_ACCOUNT_GUARD_H
#define SEKISHO_ACCOUNT_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "util/config.h"

struct login_attempt {
	const char *login;
	const char *ip;
	const char *pwhash;		/* may be NULL */
	const char *protocol;		/* imap, pop3, smtp... may be NULL */
	const char *source;		/* dovecot, postfix-log, dovecot-log */
	int success;			/* reports: authenticated */
	int policy_reject;		/* reports: we refused it */
	int64_t now_ms;			/* 0: now (tests set it) */
};

struct account_guard;

/* NULL with err (bad allow list, store or GeoIP file). */
struct account_guard *account_guard_new(const struct config *cfg, char *err,
    size_t errlen);
void account_guard_free(struct account_guard *ag);

/*
 * May this login proceed?  -1 refuse (locked account, refused address),
 * 0 allow, N > 0 delay N seconds.  after_auth (the password was right):
 * only refusals apply, no delay.  msg gets a short reason for the user.
 */
int account_guard_allow(struct account_guard *ag, const struct login_attempt *a,
    int after_auth, char *msg, size_t msglen);

/* The outcome of a login: stored as a login event, counted, and what it
 * reveals acted on (lock, refusal, alert; new country, impossible travel). */
void account_guard_report(struct account_guard *ag, const struct login_attempt *a);

/* 1 locked (reason copied), 0 not, -1 store error. */
int account_guard_locked(struct account_guard *ag, const char *login,
    char *reason, size_t len);

#endif
