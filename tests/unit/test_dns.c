/*
 * test_dns.c - the shared resolver against a real unbound on loopback:
 * record types, negative answers, malformed names, time-outs against a
 * server that never answers, and many threads sharing one context.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "util/dns.h"
#include "util/util.h"
#include "unbound_helper.h"

static struct ubt server;
static struct dns *dns;

static int
group_setup(void **state)
{
	char err[256];
	const char *fwd[2];

	(void)state;
	if (!ubt_available())
		return 0;
	if (ubt_begin(&server) < 0)
		return -1;
	ubt_zone(&server, "dns.sekisho.test.");
	ubt_zone(&server, "2.0.192.in-addr.arpa.");
	ubt_rr(&server, "a.dns.sekisho.test. 300 IN A 192.0.2.10");
	ubt_rr(&server, "a.dns.sekisho.test. 300 IN A 192.0.2.11");
	ubt_rr(&server, "a.dns.sekisho.test. 300 IN AAAA 2001:db8::10");
	ubt_rr(&server, "mx.dns.sekisho.test. 300 IN MX 20 backup.dns.sekisho.test.");
	ubt_rr(&server, "mx.dns.sekisho.test. 300 IN MX 10 primary.dns.sekisho.test.");
	ubt_rr(&server, "mx.dns.sekisho.test. 300 IN MX 30 third.dns.sekisho.test.");
	ubt_rr(&server, "txt.dns.sekisho.test. 300 IN TXT \"v=spf1 \" \"ip4:192.0.2.0/24 -all\"");
	ubt_rr(&server, "v6only.dns.sekisho.test. 300 IN AAAA 2001:db8::1");
	ubt_ptr(&server, "192.0.2.10", "host10.dns.sekisho.test.");
	for (int i = 0; i < 50; i++)
		ubt_rr(&server, "n%d.dns.sekisho.test. 300 IN TXT \"value %d\"", i, i);
	if (ubt_start(&server) < 0)
		return -1;
	fwd[0] = server.fwd;
	fwd[1] = NULL;
	dns = dns_new(fwd, 2000, err, sizeof(err));
	if (dns == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	dns_free(dns);
	ubt_stop(&server);
	return 0;
}

#define NEED_SERVER() do { if (dns == NULL) skip(); } while (0)

static size_t
count(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

static void
test_txt(void **state)
{
	char **v;

	(void)state;
	NEED_SERVER();
	assert_int_equal(dns_txt(dns, "txt.dns.sekisho.test", &v), DNS_OK);
	assert_int_equal(count(v), 1);
	assert_string_equal(v[0], "v=spf1 ip4:192.0.2.0/24 -all");
	dns_strings_free(v);
	/* trailing dot and case do not matter */
	assert_int_equal(dns_txt(dns, "TXT.dns.sekisho.test.", &v), DNS_OK);
	dns_strings_free(v);
}

static void
test_addrs(void **state)
{
	char **v;

	(void)state;
	NEED_SERVER();
	assert_int_equal(dns_addrs(dns, "a.dns.sekisho.test", &v), DNS_OK);
	assert_int_equal(count(v), 3);
	int seen10 = 0, seen11 = 0, seen6 = 0;
	for (size_t i = 0; v[i]; i++) {
		seen10 |= strcmp(v[i], "192.0.2.10") == 0;
		seen11 |= strcmp(v[i], "192.0.2.11") == 0;
		seen6 |= strcmp(v[i], "2001:db8::10") == 0;
	}
	assert_true(seen10 && seen11 && seen6);
	dns_strings_free(v);
	assert_int_equal(dns_addrs(dns, "v6only.dns.sekisho.test", &v), DNS_OK);
	assert_int_equal(count(v), 1);
	assert_string_equal(v[0], "2001:db8::1");
	dns_strings_free(v);
}

static void
test_mx_sorted(void **state)
{
	char **v;

	(void)state;
	NEED_SERVER();
	assert_int_equal(dns_mx(dns, "mx.dns.sekisho.test", &v), DNS_OK);
	assert_int_equal(count(v), 3);
	assert_string_equal(v[0], "primary.dns.sekisho.test");
	assert_string_equal(v[1], "backup.dns.sekisho.test");
	assert_string_equal(v[2], "third.dns.sekisho.test");
	dns_strings_free(v);
}

static void
test_ptr(void **state)
{
	char **v;

	(void)state;
	NEED_SERVER();
	assert_int_equal(dns_ptr(dns, "192.0.2.10", &v), DNS_OK);
	assert_int_equal(count(v), 1);
	assert_string_equal(v[0], "host10.dns.sekisho.test");
	dns_strings_free(v);
	assert_int_equal(dns_ptr(dns, "192.0.2.99", &v), DNS_NXDOMAIN);
	assert_null(v);
	assert_int_equal(dns_ptr(dns, "not-an-ip", &v), DNS_PERMFAIL);
}

static void
test_negative(void **state)
{
	char **v;

	(void)state;
	NEED_SERVER();
	assert_int_equal(dns_txt(dns, "nothing.dns.sekisho.test", &v), DNS_NXDOMAIN);
	assert_null(v);
	assert_int_equal(dns_txt(dns, "a.dns.sekisho.test", &v), DNS_NODATA);
	assert_null(v);
	assert_int_equal(dns_addrs(dns, "txt.dns.sekisho.test", &v), DNS_NODATA);
	assert_int_equal(dns_addrs(dns, "nothing.dns.sekisho.test", &v), DNS_NXDOMAIN);
}

static void
test_bad_names(void **state)
{
	char **v, big[300];

	(void)state;
	NEED_SERVER();
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(dns_txt(dns, "", &v), DNS_PERMFAIL);
	assert_int_equal(dns_txt(dns, "a..b.sekisho.test", &v), DNS_PERMFAIL);
	assert_int_equal(dns_txt(dns, "a b.sekisho.test", &v), DNS_PERMFAIL);
	assert_int_equal(dns_txt(dns, "a\nb.sekisho.test", &v), DNS_PERMFAIL);
	assert_int_equal(dns_txt(dns, big, &v), DNS_PERMFAIL);
	memset(big, 'a', 64);
	strcpy(big + 64, ".sekisho.test");
	assert_int_equal(dns_txt(dns, big, &v), DNS_PERMFAIL);
}

static void
test_raw(void **state)
{
	unsigned char *pkt;
	size_t len;

	(void)state;
	NEED_SERVER();
	assert_int_equal(dns_query_raw(dns, "txt.dns.sekisho.test", 16, &pkt, &len), DNS_OK);
	assert_non_null(pkt);
	assert_true(len > 12);
	assert_true(pkt[2] & 0x80);			/* a response */
	assert_int_equal((pkt[6] << 8) | pkt[7], 1);	/* one answer */
	free(pkt);
	/* the negative answer comes with its packet (rcode 3) */
	assert_int_equal(dns_query_raw(dns, "nothing.dns.sekisho.test", 16, &pkt, &len), DNS_NXDOMAIN);
	assert_non_null(pkt);
	assert_int_equal(pkt[3] & 0x0f, 3);
	free(pkt);
}

struct worker {
	int id;
	int ok;
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	char name[64], want[32];

	for (int i = 0; i < 200; i++) {
		int n = (w->id * 7 + i) % 50;
		char **v;

		snprintf(name, sizeof(name), "n%d.dns.sekisho.test", n);
		snprintf(want, sizeof(want), "value %d", n);
		if (dns_txt(dns, name, &v) != DNS_OK || count(v) != 1 ||
		    strcmp(v[0], want) != 0) {
			dns_strings_free(v);
			return NULL;
		}
		dns_strings_free(v);
		if (i % 20 == 0) {
			snprintf(name, sizeof(name), "missing%d-%d.dns.sekisho.test", w->id, i);
			if (dns_txt(dns, name, &v) != DNS_NXDOMAIN)
				return NULL;
		}
		w->ok++;
	}
	return NULL;
}

/* Many threads on one context: every answer reaches the thread that asked. */
static void
test_threads(void **state)
{
	enum { NT = 8 };
	pthread_t t[NT];
	struct worker w[NT];
	int64_t start = util_mono_ms();

	(void)state;
	NEED_SERVER();
	for (int i = 0; i < NT; i++) {
		w[i].id = i;
		w[i].ok = 0;
		assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < NT; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].ok, 200);
	}
	fprintf(stderr, "# %d threads x 200 cached queries: %lld ms\n", NT,
	    (long long)(util_mono_ms() - start));
}

struct tw {
	struct dns *d;
	int tempfails;
	int64_t slowest;
};

static void *
timeout_worker(void *arg)
{
	struct tw *w = arg;

	for (int i = 0; i < 3; i++) {
		char name[64], **v;
		int64_t t0 = util_mono_ms(), dt;

		snprintf(name, sizeof(name), "q%d-%p.sekisho.test", i, (void *)w);
		if (dns_txt(w->d, name, &v) == DNS_TEMPFAIL)
			w->tempfails++;
		dns_strings_free(v);
		dt = util_mono_ms() - t0;
		if (dt > w->slowest)
			w->slowest = dt;
	}
	return NULL;
}

/* A server that never answers: every query ends at its own deadline. */
static void
test_timeout(void **state)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char fwdbuf[64], err[256];
	const char *fwd[2] = { fwdbuf, NULL };
	struct dns *d;
	enum { NT = 4 };
	pthread_t t[NT];
	struct tw w[NT];
	int hole;

	(void)state;
	hole = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(hole >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(hole, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(hole, (struct sockaddr *)&sa, &sl), 0);
	snprintf(fwdbuf, sizeof(fwdbuf), "127.0.0.1@%d", ntohs(sa.sin_port));
	d = dns_new(fwd, 300, err, sizeof(err));
	assert_non_null(d);
	for (int i = 0; i < NT; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].d = d;
		assert_int_equal(pthread_create(&t[i], NULL, timeout_worker, &w[i]), 0);
	}
	for (int i = 0; i < NT; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].tempfails, 3);
		assert_true(w[i].slowest >= 250);
		assert_true(w[i].slowest < 1500);
	}
	dns_free(d);
	close(hole);
}

static void
test_bad_forwarder(void **state)
{
	char err[256];
	const char *fwd[] = { "not an address", NULL };

	(void)state;
	assert_null(dns_new(fwd, 1000, err, sizeof(err)));
	assert_non_null(strstr(err, "not an address"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_addrs),
		cmocka_unit_test(test_mx_sorted),
		cmocka_unit_test(test_ptr),
		cmocka_unit_test(test_negative),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_raw),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_bad_forwarder),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
