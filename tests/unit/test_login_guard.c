/*
 * test_login_guard.c - the login-attack engine: each attack pattern is
 * found (brute force, dictionary, distributed brute force, password spraying
 * from one address and from a /24, credential stuffing, too many failures
 * from one address), the graded responses (delay, then refusal, lock), a
 * benign day (typos, a phone with a stale password, travel) finds nothing,
 * the allow list, windows that forget, distinct counts past the exact set
 * (HyperLogLog) within their error, and memory bounded with 100k keys.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "account/counter.h"
#include "account/login_guard.h"
#include "util/config.h"
#include "util/util.h"

#define T0	1700000000000LL
#define MAXF	8

static struct config *
conf(const char *const *over)
{
	struct config *cfg = config_new();
	char err[256];

	for (; over && *over; over++)
		assert_int_equal(config_override(cfg, *over, err, sizeof(err)), 0);
	return cfg;
}

struct run {
	struct config *cfg;
	struct login_guard *g;
	struct guard_finding f[64];
	size_t nf;
};

static void
run_init(struct run *r, const char *const *over)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	r->cfg = conf(over);
	r->g = login_guard_new(r->cfg, err, sizeof(err));
	assert_non_null(r->g);
}

static void
run_done(struct run *r)
{
	login_guard_free(r->g);
	config_free(r->cfg);
}

/* Report one attempt; collect findings. */
static void
attempt(struct run *r, const char *login, const char *ip, const char *pw, int ok, int64_t t)
{
	size_t room = UTIL_ARRAY_LEN(r->f) - r->nf;

	r->nf += login_guard_report(r->g, login, ip, pw, ok, t, r->f + r->nf,
	    room < MAXF ? room : MAXF);
}

static const struct guard_finding *
found(const struct run *r, const char *kind)
{
	for (size_t i = 0; i < r->nf; i++)
		if (strcmp(r->f[i].kind, kind) == 0)
			return &r->f[i];
	return NULL;
}

static void
test_brute_force(void **state)
{
	struct run r;
	struct guard_decision d;
	const struct guard_finding *f;
	(void)state;

	run_init(&r, (const char *const[]){ "login_lock_failures=30", NULL });
	/* The same wrong password again and again from one address. */
	for (int i = 0; i < 29; i++)
		attempt(&r, "alice", "203.0.113.5", "aaa", 0, T0 + i * 1000);
	assert_null(found(&r, "brute_force"));
	/* graded: delayed by now (3 + ... failures), capped */
	login_guard_check(r.g, "alice", "198.51.100.9", T0 + 30000, &d);
	assert_int_equal(d.status, 15);
	attempt(&r, "alice", "203.0.113.5", "aaa", 0, T0 + 30000);
	f = found(&r, "brute_force");
	assert_non_null(f);
	assert_int_equal(f->action, GUARD_LOCK);
	assert_string_equal(f->login, "alice");
	assert_int_equal(f->until_ms, T0 + 30000 + 3600 * 1000);
	/* ip_failures (20) came first and refused the address. */
	f = found(&r, "ip_failures");
	assert_non_null(f);
	assert_int_equal(f->action, GUARD_REFUSE);
	assert_string_equal(f->ip, "203.0.113.5");
	login_guard_check(r.g, "bob", "203.0.113.5", T0 + 31000, &d);
	assert_int_equal(d.status, -1);
	/* once per window: no second lock for the same burst */
	r.nf = 0;
	attempt(&r, "alice", "203.0.113.5", "aaa", 0, T0 + 32000);
	assert_null(found(&r, "brute_force"));
	/* the refusal ends after login_refuse_time */
	login_guard_check(r.g, "bob", "203.0.113.5", T0 + 31000 + 16 * 60000, &d);
	assert_int_not_equal(d.status, -1);
	run_done(&r);
}

static void
test_graded_delay(void **state)
{
	struct run r;
	struct guard_decision d;
	(void)state;

	run_init(&r, NULL);
	attempt(&r, "carol", "192.0.2.10", "x1", 0, T0);
	attempt(&r, "carol", "192.0.2.10", "x1", 0, T0 + 1000);
	login_guard_check(r.g, "carol", "192.0.2.10", T0 + 2000, &d);
	assert_int_equal(d.status, 0);
	attempt(&r, "carol", "192.0.2.10", "x1", 0, T0 + 2000);
	login_guard_check(r.g, "carol", "192.0.2.10", T0 + 3000, &d);
	assert_int_equal(d.status, 2);
	attempt(&r, "carol", "192.0.2.10", "x1", 0, T0 + 3000);
	login_guard_check(r.g, "carol", "192.0.2.10", T0 + 4000, &d);
	assert_int_equal(d.status, 4);
	/* the window forgets: 11 minutes later no delay */
	login_guard_check(r.g, "carol", "192.0.2.10", T0 + 11 * 60000, &d);
	assert_int_equal(d.status, 0);
	run_done(&r);
}

static void
test_dictionary(void **state)
{
	struct run r;
	const struct guard_finding *f;
	char pw[32];
	(void)state;

	run_init(&r, NULL);
	for (int i = 0; i < 9; i++) {
		snprintf(pw, sizeof(pw), "h%03d", i);
		attempt(&r, "dave", "203.0.113.7", pw, 0, T0 + i * 5000);
	}
	assert_int_equal(r.nf, 0);
	attempt(&r, "dave", "203.0.113.7", "h009", 0, T0 + 50000);
	f = found(&r, "dictionary_attack");
	assert_non_null(f);
	assert_int_equal(f->action, GUARD_LOCK);
	assert_string_equal(f->login, "dave");
	run_done(&r);
}

static void
test_distributed(void **state)
{
	struct run r;
	const struct guard_finding *f;
	char ip[32];
	(void)state;

	/* one try from each of many addresses, same password (a botnet
	 * trying one candidate each); the dictionary rule stays quiet */
	run_init(&r, NULL);
	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "198.51.%d.%d", i, 7 + i);
		attempt(&r, "erin", ip, "same", 0, T0 + i * 1000);
	}
	f = found(&r, "distributed_brute_force");
	assert_non_null(f);
	assert_int_equal(f->action, GUARD_LOCK);
	assert_string_equal(f->login, "erin");
	assert_null(found(&r, "dictionary_attack"));
	run_done(&r);
}

static void
test_spray_ip_and_subnet(void **state)
{
	struct run r;
	struct guard_decision d;
	const struct guard_finding *f;
	char login[32], ip[32];
	(void)state;

	/* one address, twelve accounts, one or two tries each */
	run_init(&r, NULL);
	for (int i = 0; i < 12; i++) {
		snprintf(login, sizeof(login), "user%d", i);
		attempt(&r, login, "203.0.113.50", "Spring2026!", 0, T0 + i * 2000);
	}
	f = found(&r, "password_spray");
	assert_non_null(f);
	assert_int_equal(f->action, GUARD_REFUSE);
	assert_true(strcmp(f->ip, "203.0.113.50") == 0 || strcmp(f->ip, "203.0.113.0/24") == 0);
	login_guard_check(r.g, "user99", "203.0.113.50", T0 + 30000, &d);
	assert_int_equal(d.status, -1);
	run_done(&r);

	/* rotating through a /24: each address alone stays under the limits */
	run_init(&r, NULL);
	for (int i = 0; i < 12; i++) {
		snprintf(login, sizeof(login), "user%d", i);
		snprintf(ip, sizeof(ip), "203.0.113.%d", 100 + i);
		attempt(&r, login, ip, "Spring2026!", 0, T0 + i * 2000);
	}
	f = found(&r, "password_spray");
	assert_non_null(f);
	assert_string_equal(f->ip, "203.0.113.0/24");
	login_guard_check(r.g, "user99", "203.0.113.200", T0 + 30000, &d);
	assert_int_equal(d.status, -1);
	/* a neighbouring network is not refused */
	login_guard_check(r.g, "user99", "203.0.114.1", T0 + 30000, &d);
	assert_int_equal(d.status, 0);
	run_done(&r);

	/* IPv6: a /64 */
	run_init(&r, NULL);
	for (int i = 0; i < 12; i++) {
		snprintf(login, sizeof(login), "user%d", i);
		snprintf(ip, sizeof(ip), "2001:db8:1:2::%x", 0x100 + i);
		attempt(&r, login, ip, "pw", 0, T0 + i * 2000);
	}
	f = found(&r, "password_spray");
	assert_non_null(f);
	assert_string_equal(f->ip, "2001:db8:1:2::/64");
	run_done(&r);
}

static void
test_stuffing(void **state)
{
	struct run r;
	struct guard_decision d;
	const struct guard_finding *f;
	char login[32], ip[32];
	(void)state;

	run_init(&r, NULL);
	/* normal traffic: 20 users log in fine */
	for (int i = 0; i < 20; i++) {
		snprintf(login, sizeof(login), "staff%d", i);
		snprintf(ip, sizeof(ip), "192.0.2.%d", i + 1);
		attempt(&r, login, ip, "good", 1, T0 + i * 100);
	}
	/* a leaked list: 120 accounts, each tried once from one of 60 addresses */
	for (int i = 0; i < 120; i++) {
		snprintf(login, sizeof(login), "victim%d@example.jp", i);
		snprintf(ip, sizeof(ip), "%d.%d.%d.%d", 20 + i % 60, i % 7, i % 60, 9);
		attempt(&r, login, ip, login, 0, T0 + 10000 + i * 500);
	}
	f = found(&r, "credential_stuffing");
	assert_non_null(f);
	assert_int_equal(f->action, GUARD_ALERT);
	assert_null(found(&r, "password_spray"));
	/* the attack slows down failing addresses, not staff */
	login_guard_check(r.g, "victim999", "20.0.0.9", T0 + 80000, &d);
	assert_int_equal(d.status, 15);
	login_guard_check(r.g, "staff3", "192.0.2.4", T0 + 80000, &d);
	assert_int_equal(d.status, 0);
	run_done(&r);
}

/* A benign day: typos, a phone retrying a stale password, a new phone,
 * a traveller, office NAT with many users.  Nothing may fire. */
static void
test_benign(void **state)
{
	struct run r;
	struct guard_decision d;
	char login[32];
	int64_t t = T0;
	(void)state;

	run_init(&r, NULL);
	for (int day = 0; day < 3; day++) {
		/* 40 colleagues behind one NAT address, each with one typo */
		for (int i = 0; i < 40; i++) {
			snprintf(login, sizeof(login), "staff%d", i);
			attempt(&r, login, "192.0.2.1", "typo", 0, t += 3000);
			attempt(&r, login, "192.0.2.1", "good", 1, t += 3000);
		}
		/* an old phone polling every 2 minutes with the old password */
		for (int i = 0; i < 30; i++)
			attempt(&r, "frank", "198.51.100.77", "old", 0, t += 120000);
		/* a new phone, two typos then right */
		attempt(&r, "grace", "198.51.100.80", "Grace1", 0, t += 5000);
		attempt(&r, "grace", "198.51.100.80", "grace!", 0, t += 5000);
		attempt(&r, "grace", "198.51.100.80", "good", 1, t += 5000);
		/* travel: the same user from three countries in a day */
		attempt(&r, "heidi", "203.0.113.9", "good", 1, t += 600000);
		attempt(&r, "heidi", "192.0.2.200", "good", 1, t += 600000);
	}
	for (size_t i = 0; i < r.nf; i++)
		fprintf(stderr, "unexpected: %s %s %s %s\n", r.f[i].kind, r.f[i].login,
		    r.f[i].ip, r.f[i].detail);
	assert_int_equal(r.nf, 0);
	login_guard_check(r.g, "staff5", "192.0.2.1", t, &d);
	assert_int_equal(d.status, 0);
	run_done(&r);
}

static void
test_allow_list(void **state)
{
	struct run r;
	struct guard_decision d;
	char login[32];
	(void)state;

	run_init(&r, (const char *const[]){ "login_allow_networks=10.0.0.0/8,fd00::/8", NULL });
	for (int i = 0; i < 100; i++) {
		snprintf(login, sizeof(login), "user%d", i % 20);
		attempt(&r, login, "10.1.2.3", login, 0, T0 + i * 100);
	}
	assert_int_equal(r.nf, 0);
	login_guard_check(r.g, "user1", "10.1.2.3", T0 + 20000, &d);
	assert_int_equal(d.status, 0);
	assert_true(login_guard_allowed(r.g, "fd00::1"));
	assert_false(login_guard_allowed(r.g, "192.0.2.1"));
	run_done(&r);

	{
		struct config *cfg = conf((const char *const[]){
		    "login_allow_networks=10.0.0.0/33", NULL });
		char err[256];
		assert_null(login_guard_new(cfg, err, sizeof(err)));
		assert_non_null(strstr(err, "login_allow_networks"));
		config_free(cfg);
	}
}

static void
test_subnet(void **state)
{
	char b[80];
	(void)state;

	assert_int_equal(login_guard_subnet("192.0.2.77", b, sizeof(b)), 0);
	assert_string_equal(b, "192.0.2.0/24");
	assert_int_equal(login_guard_subnet("::ffff:192.0.2.77", b, sizeof(b)), 0);
	assert_string_equal(b, "192.0.2.0/24");
	assert_int_equal(login_guard_subnet("2001:db8:a:b:c:d:e:f", b, sizeof(b)), 0);
	assert_string_equal(b, "2001:db8:a:b::/64");
	assert_int_equal(login_guard_subnet("not-an-ip", b, sizeof(b)), -1);
}

/* Distinct counts: exact up to 32, then HyperLogLog within ~3 sigma. */
static void
test_dset_accuracy(void **state)
{
	size_t mem = 0;
	char v[32];
	int64_t w = 600000;
	(void)state;

	for (int n = 1; n <= 20000; n = n < 64 ? n + 7 : n * 3) {
		struct dset d = { 0 };
		uint64_t c;
		for (int i = 0; i < n; i++) {
			snprintf(v, sizeof(v), "k%d", i);
			dset_add(&d, counter_hash(v), w, T0, &mem);
			dset_add(&d, counter_hash(v), w, T0, &mem);	/* duplicates */
		}
		c = dset_count(&d, w, T0, &mem);
		if (n <= DSET_EXACT_MAX)
			assert_int_equal(c, n);
		else
			assert_true(c > n * 0.8 && c < n * 1.2);
		assert_true(mem <= DSET_HLL_REGS);
		dset_free(&d, &mem);
		assert_int_equal(mem, 0);
	}
	/* generations: after a whole window without adds it forgets */
	{
		struct dset d = { 0 };
		dset_add(&d, 1, w, T0, &mem);
		dset_add(&d, 2, w, T0 + w / 2, &mem);
		assert_int_equal(dset_count(&d, w, T0 + w / 2, &mem), 2);
		assert_int_equal(dset_count(&d, w, T0 + w, &mem), 1);
		assert_int_equal(dset_count(&d, w, T0 + 2 * w, &mem), 0);
		dset_free(&d, &mem);
	}
}

static void
test_swin(void **state)
{
	struct swin s = { 0 };
	int64_t w = 120000;
	(void)state;

	for (int i = 0; i < 120; i++)
		swin_add(&s, w, T0 + i * 1000, 1);
	assert_true(swin_count(&s, w, T0 + 119000) >= 110);
	assert_true(swin_count(&s, w, T0 + 119000 + w / 2) <= 70);
	assert_int_equal(swin_count(&s, w, T0 + 119000 + w + w / SWIN_BUCKETS), 0);
}

/* 100k distinct attackers' keys under a 2 MiB cap: the memory stays
 * bounded, old keys are evicted, and a fresh attack is still found. */
static void
test_memory_bound(void **state)
{
	struct run r;
	struct guard_stats st;
	char login[32], ip[32];
	(void)state;

	run_init(&r, (const char *const[]){ "login_memory_limit=2m",
	    "login_stuffing_accounts=0", NULL });
	for (int i = 0; i < 100000; i++) {
		snprintf(login, sizeof(login), "u%d", i);
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		r.nf = 0;
		attempt(&r, login, ip, "pw", 0, T0 + i);
		login_guard_stats(r.g, &st);
		assert_true(st.memory <= 2 * 1024 * 1024 + 4096);
	}
	assert_true(st.keys < 100000);
	assert_true(st.evicted > 0);
	r.nf = 0;
	for (int i = 0; i < 30; i++)
		attempt(&r, "target", "203.0.113.1", "pw", 0, T0 + 200000 + i);
	assert_non_null(found(&r, "brute_force"));
	run_done(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_brute_force),
		cmocka_unit_test(test_graded_delay),
		cmocka_unit_test(test_dictionary),
		cmocka_unit_test(test_distributed),
		cmocka_unit_test(test_spray_ip_and_subnet),
		cmocka_unit_test(test_stuffing),
		cmocka_unit_test(test_benign),
		cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_subnet),
		cmocka_unit_test(test_dset_accuracy),
		cmocka_unit_test(test_swin),
		cmocka_unit_test(test_memory_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
