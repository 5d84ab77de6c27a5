/*
 * test_store_account.c - account locks (timed, permanent, expired, cleared,
 * listed), login events (recent successful logins, countries seen, the
 * last good login before a time, pruning) and alerts (ack, unacked only).
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

#include "store/store.h"
#include "store/store_account.h"
#include "util/util.h"

static char dir[64];

static int
setup(void **state)
{
	char path[128], err[256];
	struct store *st;

	snprintf(dir, sizeof(dir), "/tmp/store-acct-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/s.db", dir);
	st = store_open(path, err, sizeof(err));
	if (st == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	*state = st;
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	store_close(*state);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
count_lock(const struct store_lock *l, void *arg)
{
	(void)l;
	(*(int *)arg)++;
	return 0;
}

/* Clearing a lock from inside the walk must work (rows read first). */
static int
clear_lock(const struct store_lock *l, void *arg)
{
	return store_lock_clear(arg, l->login) == 0 ? 0 : -1;
}

static void
test_locks(void **state)
{
	struct store *st = *state;
	struct store_lock l;
	int n = 0;

	assert_int_equal(store_lock_get(st, "alice", &l), 1);
	assert_int_equal(store_lock_set(st, "alice", 0, "brute force"), 0);
	assert_int_equal(store_lock_get(st, "alice", &l), 0);
	assert_string_equal(l.login, "alice");
	assert_string_equal(l.reason, "brute force");
	assert_int_equal(l.until_ms, 0);
	/* Timed in the future: locked; in the past: as good as none. */
	assert_int_equal(store_lock_set(st, "bob", util_now_ms() + 60000, "t"), 0);
	assert_int_equal(store_lock_get(st, "bob", NULL), 0);
	assert_int_equal(store_lock_set(st, "carol", util_now_ms() - 1, "old"), 0);
	assert_int_equal(store_lock_get(st, "carol", NULL), 1);
	assert_int_equal(store_lock_foreach(st, count_lock, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_lock_prune(st, util_now_ms()), 0);
	assert_int_equal(store_lock_clear(st, "carol"), 1);
	assert_int_equal(store_lock_clear(st, "bob"), 0);
	assert_int_equal(store_lock_get(st, "bob", NULL), 1);
	assert_int_equal(store_lock_foreach(st, clear_lock, st), 0);
	assert_int_equal(store_lock_get(st, "alice", NULL), 1);
}

struct seen {
	int n;
	int64_t first_time;
};

static int
count_login(const struct store_login *ev, void *arg)
{
	struct seen *s = arg;

	if (s->n++ == 0)
		s->first_time = ev->time_ms;
	return 0;
}

static void
add_login(struct store *st, const char *login, const char *ip, const char *cc,
    int64_t t, enum login_result r)
{
	struct store_login ev = { .time_ms = t, .result = r };

	util_strlcpy(ev.login, login, sizeof(ev.login));
	util_strlcpy(ev.ip, ip, sizeof(ev.ip));
	util_strlcpy(ev.protocol, "imap", sizeof(ev.protocol));
	util_strlcpy(ev.source, "dovecot", sizeof(ev.source));
	util_strlcpy(ev.country, cc, sizeof(ev.country));
	assert_int_equal(store_login_add(st, &ev), 0);
}

static void
test_logins(void **state)
{
	struct store *st = *state;
	struct store_login last;
	struct seen s = { 0 };

	add_login(st, "alice", "192.0.2.1", "JP", 1000, LOGIN_OK);
	add_login(st, "alice", "192.0.2.2", "", 2000, LOGIN_FAIL);
	add_login(st, "alice", "198.51.100.1", "US", 3000, LOGIN_OK);
	add_login(st, "bob", "192.0.2.1", "JP", 4000, LOGIN_OK);

	assert_int_equal(store_login_foreach(st, "alice", 0, LOGIN_OK, 0, count_login, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.first_time, 3000);	/* newest first */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_login_foreach(st, NULL, 1500, 0, 2, count_login, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.first_time, 4000);

	assert_int_equal(store_login_last_ok(st, "alice", 0, &last), 0);
	assert_string_equal(last.ip, "198.51.100.1");
	assert_int_equal(store_login_last_ok(st, "alice", 3000, &last), 0);
	assert_string_equal(last.country, "JP");
	assert_int_equal(store_login_last_ok(st, "nobody", 0, &last), 1);
	assert_int_equal(store_login_seen_country(st, "alice", "JP", 0), 0);
	assert_int_equal(store_login_seen_country(st, "alice", "JP", 1000), 1);
	assert_int_equal(store_login_seen_country(st, "bob", "US", 0), 1);
	assert_int_equal(store_login_prune(st, 2500), 2);
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_login_foreach(st, "alice", 0, 0, 0, count_login, &s), 0);
	assert_int_equal(s.n, 1);
}

static int
count_alert(const struct store_alert *a, void *arg)
{
	(void)a;
	(*(int *)arg)++;
	return 0;
}

static void
test_alerts(void **state)
{
	struct store *st = *state;
	struct store_alert a = { .time_ms = 5 };
	int64_t id1, id2;
	int n = 0;

	util_strlcpy(a.kind, "brute_force", sizeof(a.kind));
	util_strlcpy(a.login, "alice", sizeof(a.login));
	util_strlcpy(a.detail, "30 failures in 10m", sizeof(a.detail));
	assert_int_equal(store_alert_add(st, &a, &id1), 0);
	util_strlcpy(a.kind, "password_spray", sizeof(a.kind));
	assert_int_equal(store_alert_add(st, &a, &id2), 0);
	assert_true(id2 > id1);
	assert_int_equal(store_alert_ack(st, id1), 0);
	assert_int_equal(store_alert_ack(st, 999999), 1);
	assert_int_equal(store_alert_foreach(st, 1, 0, count_alert, &n), 0);
	assert_int_equal(n, 1);
	n = 0;
	assert_int_equal(store_alert_foreach(st, 0, 0, count_alert, &n), 0);
	assert_int_equal(n, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_locks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logins, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alerts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
