/*
 * account_guard.c - the login guard, the store and GeoIP behind one mutex
 * (account_guard.h).
 *
 * allow:  locked account (store) -> -1; refused address or subnet (guard)
 *         -> -1; otherwise the guard's delay, unless after authentication.
 * report: a login event into the store (with country when geoip_db is
 *         set); a failure is counted by the guard and its findings become
 *         a lock (store), a refusal (kept by the guard) and an alert; a
 *         success is checked for a new country and impossible travel
 *         against the account's last successful login.
 *
 * Options: geoip_db, login_travel_speed, and the guard's (login_guard.h).
 */
#include "account/account_guard.h"
#include "account/account_alert.h"
#include "account/geo.h"
#include "account/login_guard.h"
#include "store/store.h"
#include "store/store_account.h"
#include "util/log.h"
#include "util/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FINDINGS	8
/* Login events are kept this long (incidents look back weeks, not years);
 * pruned at start and then hourly. */
#define EVENTS_KEEP_MS	(180LL * 86400 * 1000)
#define PRUNE_EVERY_MS	(3600LL * 1000)

struct account_guard {
	const struct config *cfg;
	pthread_mutex_t mu;
	struct login_guard *lg;
	struct store *st;
	struct geo *geo;
	int64_t pruned_ms;
};

/* With the mutex held (or before the guard is shared). */
static void
prune(struct account_guard *ag, int64_t now)
{
	if (now - ag->pruned_ms < PRUNE_EVERY_MS)
		return;
	ag->pruned_ms = now;
	if (store_login_prune(ag->st, now - EVENTS_KEEP_MS) < 0 ||
	    store_lock_prune(ag->st, now) < 0)
		log_err("account: prune: %s", store_errmsg(ag->st));
}

struct account_guard *
account_guard_new(const struct config *cfg, char *err, size_t errlen)
{
	struct account_guard *ag = xcalloc(1, sizeof(*ag));
	char *db;

	ag->cfg = cfg;
	pthread_mutex_init(&ag->mu, NULL);
	if ((ag->lg = login_guard_new(cfg, err, errlen)) == NULL)
		goto fail;
	db = config_state_path(cfg, "sekisho.db");
	ag->st = store_open(db, err, errlen);
	free(db);
	if (ag->st == NULL)
		goto fail;
	/* Every report is a login event written under the guard's mutex: an
	 * fsync each would make every other login wait for the disk (498
	 * decisions/s instead of 10,000 in bench/auth_policy.sh's mixed run on
	 * a busy disk).  A crash of sekishod loses nothing (the WAL is in the
	 * page cache); a power loss may cost the last events and locks.  Mail
	 * never goes through this connection. */
	if (store_relaxed(ag->st) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(ag->st));
		goto fail;
	}
	prune(ag, util_now_ms());
	if (*cfg->geoip_db != '\0' &&
	    (ag->geo = geo_open(cfg->geoip_db, err, errlen)) == NULL)
		goto fail;
	return ag;
fail:
	account_guard_free(ag);
	return NULL;
}

void
account_guard_free(struct account_guard *ag)
{
	if (ag == NULL)
		return;
	geo_close(ag->geo);
	store_close(ag->st);
	login_guard_free(ag->lg);
	pthread_mutex_destroy(&ag->mu);
	free(ag);
}

static int64_t
now_of(const struct login_attempt *a)
{
	return a->now_ms ? a->now_ms : util_now_ms();
}

/* 1 locked, 0 not, -1 error; with the mutex held. */
static int
locked(struct account_guard *ag, const char *login, char *reason, size_t len)
{
	struct store_lock l;
	int rc;

	if (login == NULL || *login == '\0')
		return 0;
	rc = store_lock_get(ag->st, login, &l);
	if (rc < 0) {
		log_err("account: lock lookup: %s", store_errmsg(ag->st));
		return -1;
	}
	if (rc == 0 && reason != NULL)
		util_strlcpy(reason, l.reason, len);
	return rc == 0;
}

int
account_guard_locked(struct account_guard *ag, const char *login, char *reason,
    size_t len)
{
	int rc;

	pthread_mutex_lock(&ag->mu);
	rc = locked(ag, login, reason, len);
	pthread_mutex_unlock(&ag->mu);
	return rc;
}

int
account_guard_allow(struct account_guard *ag, const struct login_attempt *a,
    int after_auth, char *msg, size_t msglen)
{
	struct guard_decision d;
	char reason[256];
	int status;

	pthread_mutex_lock(&ag->mu);
	if (locked(ag, a->login, reason, sizeof(reason)) == 1) {
		snprintf(msg, msglen, "Account locked; contact your administrator");
		status = -1;
		goto done;
	}
	login_guard_check(ag->lg, a->login, a->ip, now_of(a), &d);
	status = d.status;
	if (status > 0 && after_auth)
		status = 0;
	util_strlcpy(msg, status != 0 ? d.reason : "", msglen);
done:
	pthread_mutex_unlock(&ag->mu);
	return status;
}

static void
alert(struct account_guard *ag, const char *kind, const char *login, const char *ip,
    int64_t now, const char *detail)
{
	struct store_alert al = { .time_ms = now };

	util_strlcpy(al.kind, kind, sizeof(al.kind));
	util_strlcpy(al.login, login ? login : "", sizeof(al.login));
	util_strlcpy(al.ip, ip ? ip : "", sizeof(al.ip));
	util_strlcpy(al.detail, detail, sizeof(al.detail));
	(void)account_alert_raise(ag->cfg, ag->st, &al);
}

static void
act(struct account_guard *ag, const struct guard_finding *f, int64_t now)
{
	char detail[512], reason[300];

	switch (f->action) {
	case GUARD_LOCK:
		snprintf(reason, sizeof(reason), "%s: %s", f->kind, f->detail);
		if (store_lock_set(ag->st, f->login, f->until_ms, reason) < 0)
			log_err("account: cannot lock %s: %s", f->login, store_errmsg(ag->st));
		snprintf(detail, sizeof(detail), "%s; account locked %s", f->detail,
		    f->until_ms ? "for login_lock_time" : "until unlocked");
		break;
	case GUARD_REFUSE:
		snprintf(detail, sizeof(detail), "%s; %s refused for login_refuse_time",
		    f->detail, f->ip);
		break;
	case GUARD_ALERT:
	default:
		snprintf(detail, sizeof(detail), "%s", f->detail);
		break;
	}
	alert(ag, f->kind, f->login, f->ip, now, detail);
}

/* A successful login from a new country, or too far too fast. */
static void
check_travel(struct account_guard *ag, const struct store_login *ev)
{
	struct store_login last;
	char detail[512];
	double km, hours;

	if (ev->country[0] != '\0' &&
	    store_login_seen_country(ag->st, ev->login, ev->country, ev->time_ms) == 1 &&
	    store_login_last_ok(ag->st, ev->login, ev->time_ms, &last) == 0) {
		snprintf(detail, sizeof(detail), "first login from %s (before: %s from %s)",
		    ev->country, last.country[0] ? last.country : "unknown", last.ip);
		alert(ag, "new_country", ev->login, ev->ip, ev->time_ms, detail);
	}
	if (!ev->has_geo || store_login_last_ok(ag->st, ev->login, ev->time_ms, &last) != 0 ||
	    !last.has_geo)
		return;
	km = geo_distance_km(last.lat, last.lon, ev->lat, ev->lon);
	hours = (double)(ev->time_ms - last.time_ms) / 3600000.0;
	/* Nearby places (city databases are coarse) never count. */
	if (km < 100 || km <= (double)ag->cfg->login_travel_speed * hours)
		return;
	snprintf(detail, sizeof(detail),
	    "%.0f km from %s (%s) in %.1f h: %.0f km/h", km, last.ip,
	    last.country[0] ? last.country : "?", hours,
	    hours > 0 ? km / hours : km * 3600.0);
	alert(ag, "impossible_travel", ev->login, ev->ip, ev->time_ms, detail);
}

void
account_guard_report(struct account_guard *ag, const struct login_attempt *a)
{
	struct guard_finding f[MAX_FINDINGS];
	struct store_login ev;
	struct geo_info gi;
	size_t n = 0;

	if (a->login == NULL || *a->login == '\0')
		return;
	memset(&ev, 0, sizeof(ev));
	ev.time_ms = now_of(a);
	util_strlcpy(ev.login, a->login, sizeof(ev.login));
	util_strlcpy(ev.ip, a->ip ? a->ip : "", sizeof(ev.ip));
	util_strlcpy(ev.protocol, a->protocol ? a->protocol : "", sizeof(ev.protocol));
	util_strlcpy(ev.source, a->source ? a->source : "", sizeof(ev.source));
	ev.result = a->success ? LOGIN_OK : a->policy_reject ? LOGIN_REFUSED : LOGIN_FAIL;
	if (ag->geo && geo_lookup(ag->geo, ev.ip, &gi) == 0) {
		util_strlcpy(ev.country, gi.country, sizeof(ev.country));
		ev.lat = gi.lat;
		ev.lon = gi.lon;
		ev.has_geo = gi.has_loc;
	}

	pthread_mutex_lock(&ag->mu);
	prune(ag, util_now_ms());
	if (a->success && !login_guard_allowed(ag->lg, ev.ip))
		check_travel(ag, &ev);
	if (store_login_add(ag->st, &ev) < 0)
		log_err("account: cannot record login: %s", store_errmsg(ag->st));
	/* Our own refusals are not new evidence; they were counted before. */
	if (a->success || !a->policy_reject)
		n = login_guard_report(ag->lg, a->login, a->ip, a->pwhash, a->success,
		    ev.time_ms, f, MAX_FINDINGS);
	for (size_t i = 0; i < n; i++)
		act(ag, &f[i], ev.time_ms);
	pthread_mutex_unlock(&ag->mu);
}
