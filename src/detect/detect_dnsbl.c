/*
 * detect_dnsbl.c - DNS blocklists: the connecting address (DNSBL) and the
 * domains of links (URIBL).
 *
 * Symbols:
 *   RBL_LISTED       the client address is listed in a dnsbl_zones zone
 *   URIBL_LISTED     a link's registrable domain (or IP host) is listed in
 *                    a uribl_zones zone
 *   RBL_TEMPFAIL     a blocklist did not answer in time: not every list was
 *                    asked (score 0; says the check is incomplete)
 *
 * Options: dnsbl_zones, uribl_zones (empty: off), network_checks (without
 * it ctx->dns is NULL and nothing is asked), dns_timeout.
 *
 * Query names are the reversed address (IPv6 as 32 nibbles) or the domain,
 * under the zone; an A answer in 127.0.0.0/8 means listed.  Answers that
 * blocklists use to report an error rather than a listing are ignored:
 * 127.255.255.0/24 (Spamhaus: query refused, e.g. through a public
 * resolver), 127.0.1.255 (DBL), and 127.0.0.1 for URIBLs (URIBL, SURBL:
 * refused).  Client addresses that cannot be listed (loopback, private,
 * link-local) are not asked about.  At most URIBL_MAX_DOMAINS domains per
 * message, and never past the scan's deadline.
 */
#include "detect/detect_phish.h"
#include "message/message.h"
#include "util/dns.h"
#include "util/log.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define URIBL_MAX_DOMAINS	20

static const struct symbol_def dnsbl_symbols[] = {
	{ "RBL_LISTED", 4.0, "the connecting address is on a DNS blocklist (dnsbl_zones)" },
	{ "URIBL_LISTED", 5.0, "a link's domain is on a DNS blocklist (uribl_zones)" },
	{ "RBL_TEMPFAIL", 0.0, "a DNS blocklist did not answer; not every list was asked" },
	{ NULL, 0, NULL },
};

int
dnsbl_query_name(const char *ip, const char *zone, char *out, size_t len)
{
	unsigned char a[16];
	struct in_addr a4;
	int n;

	if (inet_pton(AF_INET, ip, &a4) == 1) {
		memcpy(a, &a4, 4);
		n = snprintf(out, len, "%u.%u.%u.%u.%s", a[3], a[2], a[1], a[0], zone);
		return n > 0 && (size_t)n < len ? 0 : -1;
	}
	if (inet_pton(AF_INET6, ip, a) == 1) {
		size_t o = 0;

		for (int i = 15; i >= 0 && o + 4 < len; i--)
			o += (size_t)snprintf(out + o, len - o, "%x.%x.", a[i] & 0xf, a[i] >> 4);
		n = snprintf(out + o, len > o ? len - o : 0, "%s", zone);
		return n > 0 && o + (size_t)n < len ? 0 : -1;
	}
	return -1;
}

/* An address worth asking about: not loopback, private or link-local. */
static int
listable(const char *ip)
{
	unsigned char a[16];
	struct in_addr a4;

	if (inet_pton(AF_INET, ip, &a4) == 1) {
		uint32_t v = ntohl(a4.s_addr);

		return !((v >> 24) == 127 || (v >> 24) == 10 || (v >> 24) == 0 ||
		    (v >> 20) == 0xac1 || (v >> 16) == 0xc0a8 || (v >> 16) == 0xa9fe);
	}
	if (inet_pton(AF_INET6, ip, a) == 1) {
		static const unsigned char loop[16] = { [15] = 1 };

		return memcmp(a, loop, 16) != 0 && !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80) &&
		    (a[0] & 0xfe) != 0xfc;
	}
	return 0;
}

/* Is this answer a listing (1), an error code (0)? */
static int
is_listing(const char *addr, int uribl)
{
	struct in_addr a;
	uint32_t v;

	if (inet_pton(AF_INET, addr, &a) != 1)
		return 0;
	v = ntohl(a.s_addr);
	if ((v >> 24) != 127)
		return 0;
	if ((v >> 8) == 0x7fffff || v == 0x7f0001ff)
		return 0;
	if (uribl && v == 0x7f000001)
		return 0;
	return 1;
}

/*
 * Ask one name.  1 listed (the answer in code), 0 not, -1 no answer.
 */
static int
ask(const struct scan_ctx *ctx, const char *name, int uribl, char *code, size_t len)
{
	char **addrs = NULL;
	enum dns_status st;
	int listed = 0;

	if (ctx->deadline_ms > 0 && util_mono_ms() > ctx->deadline_ms)
		return -1;
	st = dns_addrs(ctx->dns, name, &addrs);
	if (st == DNS_TEMPFAIL) {
		dns_strings_free(addrs);
		return -1;
	}
	if (st == DNS_OK && addrs != NULL)
		for (char **p = addrs; *p != NULL; p++) {
			if (is_listing(*p, uribl)) {
				snprintf(code, len, "%s", *p);
				listed = 1;
				break;
			}
			log_debug("dnsbl: %s answered %s: an error code, not a listing", name, *p);
		}
	dns_strings_free(addrs);
	return listed;
}

static void
append(char *buf, size_t len, const char *fmt, const char *a, const char *b)
{
	size_t o = strlen(buf);

	if (o + 2 < len)
		snprintf(buf + o, len - o, fmt, o ? ", " : "", a, b);
}

static void
check_client(const struct scan_ctx *ctx, struct scan_result *r, char *tempfail, size_t tlen)
{
	const char *ip = ctx->env->client_addr;
	char name[512], code[64], hits[512] = "";

	if (ip == NULL || !listable(ip))
		return;
	for (char **z = ctx->cfg->dnsbl_zones; z != NULL && *z != NULL; z++) {
		int rc;

		if (dnsbl_query_name(ip, *z, name, sizeof(name)) < 0)
			return;
		rc = ask(ctx, name, 0, code, sizeof(code));
		if (rc < 0 && tempfail[0] == '\0')
			snprintf(tempfail, tlen, "%s", name);
		else if (rc > 0)
			append(hits, sizeof(hits), "%s%s (%s)", *z, code);
	}
	if (hits[0] != '\0')
		result_add(r, "RBL_LISTED", "%s is listed in %s", ip, hits);
}

static void
check_links(const struct scan_ctx *ctx, struct scan_result *r, char *tempfail, size_t tlen)
{
	const struct message *m = ctx->msg;
	char *asked[URIBL_MAX_DOMAINS];
	size_t nasked = 0;
	char name[512], code[64], hits[512] = "";

	for (size_t i = 0; i < m->nurls && nasked < URIBL_MAX_DOMAINS; i++) {
		const struct msg_url *u = &m->urls[i];
		int dup = 0;

		if (u->domain == NULL || u->source == URL_FROM_IMG || u->source == URL_FROM_SCRIPT ||
		    u->scheme == NULL || (strcmp(u->scheme, "http") != 0 &&
		    strcmp(u->scheme, "https") != 0))
			continue;
		for (size_t j = 0; j < nasked; j++)
			dup |= strcmp(asked[j], u->domain) == 0;
		if (dup)
			continue;
		asked[nasked++] = u->domain;
		for (char **z = ctx->cfg->uribl_zones; *z != NULL; z++) {
			int rc;

			if (u->host_is_ip) {
				if (dnsbl_query_name(u->domain, *z, name, sizeof(name)) < 0)
					break;
			} else if (snprintf(name, sizeof(name), "%s.%s", u->domain, *z) >=
			    (int)sizeof(name))
				continue;
			rc = ask(ctx, name, 1, code, sizeof(code));
			if (rc < 0 && tempfail[0] == '\0')
				snprintf(tempfail, tlen, "%s", name);
			else if (rc > 0)
				append(hits, sizeof(hits), "%s%s in %s", u->domain, *z);
		}
	}
	if (hits[0] != '\0')
		result_add(r, "URIBL_LISTED", "listed links: %s", hits);
}

static void
dnsbl_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	char tempfail[512] = "";

	(void)state;
	if (ctx->dns == NULL)
		return;
	if (ctx->cfg->dnsbl_zones != NULL && ctx->cfg->dnsbl_zones[0] != NULL && !ctx->outbound)
		check_client(ctx, r, tempfail, sizeof(tempfail));
	if (ctx->cfg->uribl_zones != NULL && ctx->cfg->uribl_zones[0] != NULL)
		check_links(ctx, r, tempfail, sizeof(tempfail));
	if (tempfail[0] != '\0')
		result_add(r, "RBL_TEMPFAIL", "no answer for %s", tempfail);
}

const struct detector detect_dnsbl = {
	.name = "dnsbl",
	.symbols = dnsbl_symbols,
	.scan = dnsbl_scan,
};
