/*
 * test_account.c - the account servers' parts without the network:
 * the Dovecot auth policy request parser, answer and API header spec; the
 * Postfix policy protocol parser and its hourly limits; the log watcher's
 * line parser and its following of a file through rotation and
 * truncation; and the account guard with a GeoIP database built by
 * tests/data/make_geo_mmdb.pl (new country, impossible travel, a trip that
 * is possible), locks refusing logins, no delay after authentication.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account/account_guard.h"
#include "account/auth_policy.h"
#include "account/geo.h"
#include "account/logwatch.h"
#include "account/policyd.h"
#include "store/store.h"
#include "store/store_account.h"
#include "util/config.h"
#include "util/util.h"

#define T0	1700000000000LL
#define HOUR	3600000LL

/* ---- Dovecot auth policy ---- */

static void
test_policy_parse(void **state)
{
	struct auth_policy_req r;
	char err[256], big[300], body[600];
	(void)state;

	const char *full = "{\"login\":\"alice@example.jp\",\"pwhash\":\"a1b\","
	    "\"remote\":\"192.0.2.7\",\"device_id\":\"\",\"protocol\":\"imap\","
	    "\"session_id\":\"Lm0W5Gxh\",\"tls\":\"TLS\",\"success\":true,"
	    "\"policy_reject\":false}";
	assert_int_equal(auth_policy_parse(full, strlen(full), &r, err, sizeof(err)), 0);
	assert_string_equal(r.login, "alice@example.jp");
	assert_string_equal(r.remote, "192.0.2.7");
	assert_string_equal(r.pwhash, "a1b");
	assert_string_equal(r.protocol, "imap");
	assert_string_equal(r.session_id, "Lm0W5Gxh");
	assert_true(r.tls);
	assert_true(r.has_success);
	assert_true(r.success);
	assert_false(r.policy_reject);

	/* an allow request: no success field; tls empty */
	const char *allow = "{\"login\":\"bob\",\"remote\":\"::1\",\"tls\":\"\"}";
	assert_int_equal(auth_policy_parse(allow, strlen(allow), &r, err, sizeof(err)), 0);
	assert_false(r.has_success);
	assert_false(r.tls);
	assert_string_equal(r.remote, "::1");

	/* bad input */
	assert_int_equal(auth_policy_parse("{", 1, &r, err, sizeof(err)), -1);
	assert_int_equal(auth_policy_parse("[1,2]", 5, &r, err, sizeof(err)), -1);
	assert_int_equal(auth_policy_parse("", 0, &r, err, sizeof(err)), -1);
	assert_int_equal(auth_policy_parse("{\"a\":1,\"a\":2}", 13, &r, err, sizeof(err)), -1);
	assert_int_equal(auth_policy_parse("{}", AUTH_POLICY_BODY_MAX + 1, &r, err,
	    sizeof(err)), -1);
	/* a login longer than the field is cut, not overflowed */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"login\":\"%s\",\"remote\":5}", big);
	assert_int_equal(auth_policy_parse(body, strlen(body), &r, err, sizeof(err)), 0);
	assert_int_equal(strlen(r.login), sizeof(r.login) - 1);
	assert_string_equal(r.remote, "5");
}

static void
test_policy_format(void **state)
{
	char buf[128], n[64], v[64];
	(void)state;

	assert_int_equal(auth_policy_format(-1, "Account \"locked\"", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"status\":-1,\"msg\":\"Account \\\"locked\\\"\"}");
	assert_int_equal(auth_policy_format(3, NULL, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "{\"status\":3,\"msg\":\"\"}");
	assert_int_equal(auth_policy_format(0, "x", buf, 8), -1);

	assert_int_equal(auth_policy_header_spec("Authorization: Basic dXNlcjpwYXNz",
	    n, sizeof(n), v, sizeof(v)), 0);
	assert_string_equal(n, "Authorization");
	assert_string_equal(v, "Basic dXNlcjpwYXNz");
	assert_int_equal(auth_policy_header_spec("  s3cret ", n, sizeof(n), v, sizeof(v)), 0);
	assert_string_equal(n, "X-API-Key");
	assert_string_equal(v, "s3cret");
	assert_int_equal(auth_policy_header_spec("X-Key:", n, sizeof(n), v, sizeof(v)), -1);
	assert_int_equal(auth_policy_header_spec(": v", n, sizeof(n), v, sizeof(v)), -1);
}

/* ---- Postfix policy ---- */

static int
feed_all(struct policyd_req *r, const char *text)
{
	const char *p = text;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		rc = policyd_feed(r, p, len);
		if (rc != 0)
			return rc;
		p += len + (nl != NULL);
	}
	return rc;
}

static void
test_policyd_parse(void **state)
{
	struct policyd_req r;
	char line[POLICYD_LINE_MAX + 10];
	(void)state;

	assert_int_equal(feed_all(&r, "request=smtpd_access_policy\r\n"
	    "protocol_state=RCPT\nprotocol_name=ESMTP\nclient_address=192.0.2.5\n"
	    "sasl_username=alice\nsender=alice@sekisho.test\nrecipient=bob@example.net\n"
	    "instance=123.456.7\nunknown_attr=ignored\nrecipient_count=0\n\n"), 1);
	assert_string_equal(r.request, "smtpd_access_policy");
	assert_string_equal(r.protocol_state, "RCPT");
	assert_string_equal(r.client_address, "192.0.2.5");
	assert_string_equal(r.sasl_username, "alice");
	assert_string_equal(r.recipient, "bob@example.net");
	assert_string_equal(r.instance, "123.456.7");
	/* an empty value is fine, a line without '=' is not */
	assert_int_equal(feed_all(&r, "sasl_username=\n\n"), 1);
	assert_int_equal(feed_all(&r, "garbage\n"), -1);
	assert_int_equal(feed_all(&r, "=value\n"), -1);
	memset(line, 'a', sizeof(line));
	line[0] = 'x';
	line[1] = '=';
	memset(&r, 0, sizeof(r));
	assert_int_equal(policyd_feed(&r, line, POLICYD_LINE_MAX + 1), -1);
	memset(&r, 0, sizeof(r));
	for (int i = 0; i < POLICYD_ATTRS_MAX; i++)
		assert_int_equal(policyd_feed(&r, "a=b", 3), 0);
	assert_int_equal(policyd_feed(&r, "a=b", 3), -1);
}

static void
rcpt(struct policyd *pd, const char *user, const char *ip, const char *to,
    const char *instance, int64_t t, char *action, size_t len)
{
	struct policyd_req r;

	memset(&r, 0, sizeof(r));
	util_strlcpy(r.request, "smtpd_access_policy", sizeof(r.request));
	util_strlcpy(r.protocol_state, "RCPT", sizeof(r.protocol_state));
	util_strlcpy(r.sasl_username, user, sizeof(r.sasl_username));
	util_strlcpy(r.client_address, ip, sizeof(r.client_address));
	util_strlcpy(r.recipient, to, sizeof(r.recipient));
	util_strlcpy(r.instance, instance, sizeof(r.instance));
	policyd_decide(pd, &r, t, action, len);
}

static void
test_policyd_limits(void **state)
{
	struct config *cfg = config_new();
	struct policyd *pd;
	char a[256], err[128], inst[32], to[64];
	(void)state;

	assert_int_equal(config_override(cfg, "local_domains=sekisho.test", err, sizeof(err)), 0);
	assert_int_equal(config_override(cfg, "policy_user_messages=2", err, sizeof(err)), 0);
	assert_int_equal(config_override(cfg, "policy_user_recipients=5", err, sizeof(err)), 0);
	assert_int_equal(config_override(cfg, "policy_user_domains=2", err, sizeof(err)), 0);
	assert_int_equal(config_override(cfg, "policy_ip_messages=4", err, sizeof(err)), 0);
	pd = policyd_new(cfg, NULL);

	/* messages: two instances pass, the third is deferred; its later
	 * recipients too; an hour later it passes */
	rcpt(pd, "alice", "192.0.2.1", "x@sekisho.test", "m1", T0, a, sizeof(a));
	assert_string_equal(a, "action=DUNNO");
	rcpt(pd, "alice", "192.0.2.1", "y@sekisho.test", "m1", T0, a, sizeof(a));
	assert_string_equal(a, "action=DUNNO");
	rcpt(pd, "alice", "192.0.2.1", "x@sekisho.test", "m2", T0 + 1000, a, sizeof(a));
	assert_string_equal(a, "action=DUNNO");
	rcpt(pd, "alice", "192.0.2.1", "x@sekisho.test", "m3", T0 + 2000, a, sizeof(a));
	assert_non_null(strstr(a, "action=450 4.7.1"));
	assert_non_null(strstr(a, "messages"));
	rcpt(pd, "alice", "192.0.2.1", "x@sekisho.test", "m4", T0 + HOUR + 5000, a, sizeof(a));
	assert_string_equal(a, "action=DUNNO");

	/* recipients: the sixth in the hour is deferred */
	for (int i = 0; i < 5; i++) {
		snprintf(to, sizeof(to), "r%d@sekisho.test", i);
		rcpt(pd, "bob", "192.0.2.2", to, "b1", T0, a, sizeof(a));
		assert_string_equal(a, "action=DUNNO");
	}
	rcpt(pd, "bob", "192.0.2.2", "r9@sekisho.test", "b1", T0, a, sizeof(a));
	assert_non_null(strstr(a, "recipients"));

	/* external domains: two distinct pass (repeats too), a third does not;
	 * local ones never count */
	rcpt(pd, "carol", "192.0.2.3", "a@one.example", "c1", T0, a, sizeof(a));
	assert_string_equal(a, "action=DUNNO");
	rcpt(pd, "carol", "192.0.2.3", "b@TWO.example", "c1", T0, a, sizeof(a));
	assert_string_equal(a, "action=DUNNO");
	rcpt(pd, "carol", "192.0.2.3", "c@two.example", "c1", T0, a, sizeof(a));
	assert_string_equal(a, "action=DUNNO");
	rcpt(pd, "carol", "192.0.2.3", "d@sekisho.test", "c1", T0, a, sizeof(a));
	assert_string_equal(a, "action=DUNNO");
	rcpt(pd, "carol", "192.0.2.3", "e@three.example", "c1", T0, a, sizeof(a));
	assert_non_null(strstr(a, "external recipient domains"));

	/* per address: unauthenticated clients share the address's limit */
	for (int i = 0; i < 4; i++) {
		snprintf(inst, sizeof(inst), "n%d", i);
		rcpt(pd, "", "198.51.100.9", "u@sekisho.test", inst, T0, a, sizeof(a));
		assert_string_equal(a, "action=DUNNO");
	}
	rcpt(pd, "", "198.51.100.9", "u@sekisho.test", "n5", T0, a, sizeof(a));
	assert_non_null(strstr(a, "this address"));

	/* other stages are not counted */
	{
		struct policyd_req r = { .protocol_state = "DATA" };
		policyd_decide(pd, &r, T0, a, sizeof(a));
		assert_string_equal(a, "action=DUNNO");
	}
	policyd_free(pd);
	config_free(cfg);
}

/* ---- log watcher ---- */

static void
test_logwatch_parse(void **state)
{
	struct logwatch_hit h;
	(void)state;

	assert_int_equal(logwatch_parse("Nov 29 10:00:01 mx postfix/submission/smtpd[123]: "
	    "warning: unknown[203.0.113.5]: SASL LOGIN authentication failed: "
	    "UGFzc3dvcmQ6, sasl_username=alice@sekisho.test", &h), 1);
	assert_string_equal(h.login, "alice@sekisho.test");
	assert_string_equal(h.ip, "203.0.113.5");
	assert_string_equal(h.source, "postfix-log");
	assert_int_equal(h.count, 1);
	assert_int_equal(logwatch_parse("postfix/smtpd[9]: warning: host.example[2001:db8::5]: "
	    "SASL PLAIN authentication failed: , sasl_username=bob", &h), 1);
	assert_string_equal(h.ip, "2001:db8::5");
	assert_string_equal(h.login, "bob");
	/* without a user name the guard cannot count it */
	assert_int_equal(logwatch_parse("postfix/smtpd[9]: warning: unknown[192.0.2.1]: "
	    "SASL LOGIN authentication failed: authentication failure", &h), 0);

	assert_int_equal(logwatch_parse("Nov 29 10:00:02 mx dovecot: imap-login: Disconnected "
	    "(auth failed, 3 attempts in 12 secs): user=<carol>, method=PLAIN, "
	    "rip=198.51.100.4, lip=192.0.2.1, session=<abc>", &h), 1);
	assert_string_equal(h.login, "carol");
	assert_string_equal(h.ip, "198.51.100.4");
	assert_string_equal(h.protocol, "imap");
	assert_string_equal(h.source, "dovecot-log");
	assert_int_equal(h.count, 3);
	assert_int_equal(logwatch_parse("dovecot: pop3-login: Aborted login (auth failed, "
	    "1 attempts in 2 secs): user=<dave>, method=PLAIN, rip=192.0.2.9, lip=::1", &h), 1);
	assert_string_equal(h.protocol, "pop3");
	assert_int_equal(logwatch_parse("dovecot: imap-login: Disconnected (auth failed, "
	    "99999 attempts in 2 secs): user=<e>, rip=192.0.2.9", &h), 1);
	assert_int_equal(h.count, 100);
	assert_int_equal(logwatch_parse("dovecot: imap-login: Login: user=<carol>, "
	    "method=PLAIN, rip=198.51.100.4", &h), 0);
	assert_int_equal(logwatch_parse("", &h), 0);
}

struct hits {
	int n;
	char last[64];
};

static void
on_hit(const struct logwatch_hit *h, void *arg)
{
	struct hits *x = arg;

	x->n += h->count;
	util_strlcpy(x->last, h->login, sizeof(x->last));
}

static void
append(const char *path, const char *mode, const char *text)
{
	FILE *fp = fopen(path, mode);

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

#define FAIL_LINE(u) "dovecot: imap-login: Disconnected (auth failed, 1 attempts in 1 secs):" \
	" user=<" u ">, method=PLAIN, rip=192.0.2.1, lip=192.0.2.2\n"

static void
test_logwatch_follow(void **state)
{
	char dir[] = "/tmp/logwatch-XXXXXX", path[64], old[64], *paths[2];
	struct hits x = { 0 };
	struct logwatch *lw;
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/mail.log", dir);
	snprintf(old, sizeof(old), "%s/mail.log.1", dir);
	append(path, "w", FAIL_LINE("before"));
	paths[0] = path;
	paths[1] = NULL;
	lw = logwatch_new(paths, on_hit, &x);
	logwatch_poll(lw);
	assert_int_equal(x.n, 0);		/* history is not replayed */
	append(path, "a", FAIL_LINE("u1"));
	append(path, "a", "dovecot: imap-login: Disconnected (auth failed, 1 attempts");
	logwatch_poll(lw);
	assert_int_equal(x.n, 1);		/* the partial line waits */
	append(path, "a", " in 1 secs): user=<u2>, rip=192.0.2.1\n");
	logwatch_poll(lw);
	assert_int_equal(x.n, 2);
	assert_string_equal(x.last, "u2");
	/* rotation: a last line in the old file, then a new file */
	append(path, "a", FAIL_LINE("u3"));
	assert_int_equal(rename(path, old), 0);
	append(path, "w", FAIL_LINE("u4"));
	logwatch_poll(lw);
	assert_int_equal(x.n, 4);
	assert_string_equal(x.last, "u4");
	/* copytruncate: the file shrinks and is read again from the start
	 * (a file that regrew past the old offset between two polls cannot
	 * be told from one that grew: logrotate's copytruncate loses lines
	 * that way for every follower) */
	append(path, "w", "");
	logwatch_poll(lw);
	append(path, "a", FAIL_LINE("u5"));
	logwatch_poll(lw);
	assert_int_equal(x.n, 5);
	assert_string_equal(x.last, "u5");
	logwatch_free(lw);
	unlink(path);
	unlink(old);
	rmdir(dir);
}

/* ---- account guard with GeoIP ---- */

struct alerts {
	int n;
	char kinds[512];
};

static int
on_alert(const struct store_alert *a, void *arg)
{
	struct alerts *x = arg;
	size_t l = strlen(x->kinds);

	snprintf(x->kinds + l, sizeof(x->kinds) - l, "%s:%s ", a->kind, a->ip);
	x->n++;
	return 0;
}

static void
ok_login(struct account_guard *ag, const char *login, const char *ip, int64_t t)
{
	struct login_attempt a = { .login = login, .ip = ip, .protocol = "imap",
	    .source = "test", .success = 1, .now_ms = t };

	account_guard_report(ag, &a);
}

static void
test_guard_geo(void **state)
{
	char dir[] = "/tmp/acct-geo-XXXXXX", cmd[512], mmdb[64], err[256], db[64];
	const char *src = getenv("SEKISHO_SRC");
	struct config *cfg = config_new();
	struct account_guard *ag;
	struct store *st;
	struct alerts x = { 0 };
	struct geo *g;
	struct geo_info gi;
	(void)state;

	if (src == NULL || system("perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null") != 0) {
		config_free(cfg);
		skip();		/* needs libmaxmind-db-writer-perl */
	}
	assert_non_null(mkdtemp(dir));
	snprintf(mmdb, sizeof(mmdb), "%s/geo.mmdb", dir);
	snprintf(cmd, sizeof(cmd), "perl '%s/tests/data/make_geo_mmdb.pl' '%s'", src, mmdb);
	assert_int_equal(system(cmd), 0);

	g = geo_open(mmdb, err, sizeof(err));
	assert_non_null(g);
	assert_int_equal(geo_lookup(g, "203.0.113.77", &gi), 0);
	assert_string_equal(gi.country, "US");
	assert_true(gi.has_loc);
	assert_int_equal(geo_lookup(g, "10.1.1.1", &gi), 1);
	assert_int_equal(geo_lookup(g, "not an ip", &gi), 1);
	geo_close(g);
	assert_null(geo_open("/nonexistent.mmdb", err, sizeof(err)));
	/* Tokyo - New York is about 10,850 km */
	assert_true(geo_distance_km(35.68, 139.69, 40.71, -74.01) > 10700);
	assert_true(geo_distance_km(35.68, 139.69, 40.71, -74.01) < 11000);

	snprintf(cmd, sizeof(cmd), "state_dir=%s", dir);
	assert_int_equal(config_override(cfg, cmd, err, sizeof(err)), 0);
	snprintf(cmd, sizeof(cmd), "geoip_db=%s", mmdb);
	assert_int_equal(config_override(cfg, cmd, err, sizeof(err)), 0);
	ag = account_guard_new(cfg, err, sizeof(err));
	assert_non_null(ag);

	ok_login(ag, "alice", "192.0.2.10", T0);			/* Tokyo: first ever */
	ok_login(ag, "alice", "198.51.100.10", T0 + 2 * HOUR);		/* Osaka: 400 km, 2 h */
	ok_login(ag, "alice", "192.0.2.11", T0 + 3 * HOUR);		/* back in Tokyo */
	ok_login(ag, "alice", "203.0.113.10", T0 + 4 * HOUR);		/* New York, 1 h later */
	ok_login(ag, "alice", "203.0.113.11", T0 + 5 * HOUR);		/* still there */
	ok_login(ag, "alice", "100.64.3.3", T0 + 25 * HOUR);		/* Paris, 20 h later */
	ok_login(ag, "alice", "10.9.9.9", T0 + 26 * HOUR);		/* not in the DB */

	snprintf(db, sizeof(db), "%s/sekisho.db", dir);
	st = store_open(db, err, sizeof(err));
	assert_non_null(st);
	assert_int_equal(store_alert_foreach(st, 0, 0, on_alert, &x), 0);
	/* newest first: Paris new country; New York new country + travel */
	assert_string_equal(x.kinds, "new_country:100.64.3.3 impossible_travel:203.0.113.10 "
	    "new_country:203.0.113.10 ");

	/* a lock refuses, an unlock lets in; no delay after authentication */
	{
		struct login_attempt a = { .login = "bob", .ip = "203.0.113.50",
		    .source = "test", .now_ms = T0 };
		char msg[128];
		assert_int_equal(store_lock_set(st, "bob", 0, "test"), 0);
		assert_int_equal(account_guard_allow(ag, &a, 0, msg, sizeof(msg)), -1);
		assert_non_null(strstr(msg, "locked"));
		assert_int_equal(account_guard_locked(ag, "bob", msg, sizeof(msg)), 1);
		assert_string_equal(msg, "test");
		assert_int_equal(store_lock_clear(st, "bob"), 0);
		for (int i = 0; i < 5; i++)
			account_guard_report(ag, &a);
		assert_true(account_guard_allow(ag, &a, 0, msg, sizeof(msg)) > 0);
		assert_int_equal(account_guard_allow(ag, &a, 1, msg, sizeof(msg)), 0);
	}
	store_close(st);
	account_guard_free(ag);
	config_free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_parse),
		cmocka_unit_test(test_policy_format),
		cmocka_unit_test(test_policyd_parse),
		cmocka_unit_test(test_policyd_limits),
		cmocka_unit_test(test_logwatch_parse),
		cmocka_unit_test(test_logwatch_follow),
		cmocka_unit_test(test_guard_geo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
