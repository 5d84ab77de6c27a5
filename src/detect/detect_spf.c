/*
 * detect_spf.c - SPF (RFC 7208) with libspf2, over the shared resolver.
 *
 * libspf2 evaluates the policy; its DNS goes through a DNS "layer" of our
 * own (SPF_dns_server_t) whose lookup callback asks util/dns.c for the raw
 * answer and turns it into libspf2's SPF_dns_rr_t, so SPF shares the one
 * cache and time-out with every other check.  The obsolete SPF RR type (99)
 * that libspf2 asks for first is answered "no data" without a query.
 *
 * The identity is MAIL FROM; for the null sender it is the HELO name
 * (postmaster@helo), as RFC 7208 section 2.4 asks.  No client address, a
 * loopback one, or neither identity means SPF is not evaluated (no symbol).  libspf2 keeps
 * the RFC's limit of 10 DNS-querying mechanisms (permerror beyond).
 *
 * A server and request are built per check: they are cheap next to the
 * queries, and the layer then carries this scan's struct auth_dns.
 *
 * Symbols: SPF_PASS, SPF_FAIL, SPF_SOFTFAIL, SPF_NEUTRAL, SPF_NONE,
 * SPF_PERMERROR, SPF_TEMPERROR (DNS_TEMPFAIL comes from detect_auth.c).
 * Authentication-Results: "spf=<result> smtp.mailfrom=<address>" or
 * "spf=<result> smtp.helo=<name>".
 *
 * Untrusted input: DNS answers are parsed with explicit bounds (header
 * counts, rdata lengths, dn_expand for names); a malformed packet yields
 * the records read so far.
 */
#include "detect/detect_auth.h"
#include "util/log.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spf2/spf.h>

/* ---- libspf2's messages into our log ---- */

static void spf_log_error(const char *file, int line, const char *msg) UTIL_NORETURN;

static void
spf_log_error(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	/* libspf2 calls this for broken invariants only; it must not return */
	panic("libspf2: %s", msg);
}

static void
spf_log_quiet(const char *file, int line, const char *msg)
{
	(void)file;
	(void)line;
	log_debug("libspf2: %s", msg);
}

static pthread_once_t spf_once = PTHREAD_ONCE_INIT;

static void
spf_setup(void)
{
	SPF_error_handler = spf_log_error;
	SPF_warning_handler = spf_log_quiet;
	SPF_info_handler = spf_log_quiet;
	SPF_debug_handler = spf_log_quiet;
}

/* ---- the DNS layer ---- */

static uint16_t
get16(const unsigned char *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

/* Add one record of the asked type to rr; -1 when the rdata is unusable. */
static int
spf_rr_add(SPF_dns_rr_t *rr, int idx, ns_type type, const unsigned char *msg,
    const unsigned char *eom, const unsigned char *rd, size_t rdlen)
{
	char name[NS_MAXDNAME];

	switch (type) {
	case ns_t_a:
		if (rdlen != 4 || SPF_dns_rr_buf_realloc(rr, idx, sizeof(struct in_addr)) != SPF_E_SUCCESS)
			return -1;
		memcpy(&rr->rr[idx]->a, rd, 4);
		return 0;
	case ns_t_aaaa:
		if (rdlen != 16 || SPF_dns_rr_buf_realloc(rr, idx, sizeof(struct in6_addr)) != SPF_E_SUCCESS)
			return -1;
		memcpy(&rr->rr[idx]->aaaa, rd, 16);
		return 0;
	case ns_t_mx:
	case ns_t_ptr: {
		const unsigned char *np = type == ns_t_mx ? rd + 2 : rd;

		if ((type == ns_t_mx && rdlen < 3) ||
		    dn_expand(msg, eom, np, name, sizeof(name)) < 0 ||
		    SPF_dns_rr_buf_realloc(rr, idx, strlen(name) + 1) != SPF_E_SUCCESS)
			return -1;
		strcpy(type == ns_t_mx ? rr->rr[idx]->mx : rr->rr[idx]->ptr, name);
		return 0;
	}
	case ns_t_txt: {
		size_t o = 0;
		char *dst;

		if (SPF_dns_rr_buf_realloc(rr, idx, rdlen + 1) != SPF_E_SUCCESS)
			return -1;
		dst = rr->rr[idx]->txt;
		for (size_t k = 0; k < rdlen; ) {
			size_t sl = rd[k++];

			if (sl > rdlen - k)
				sl = rdlen - k;
			for (size_t j = 0; j < sl; j++)
				dst[o++] = rd[k + j] ? (char)rd[k + j] : ' ';
			k += sl;
		}
		dst[o] = '\0';
		return 0;
	}
	default:
		return -1;
	}
}

/* The answer section's records of the asked type (CNAMEs are followed by
 * the resolver; we skip them). */
static void
spf_parse_answer(SPF_dns_rr_t *rr, ns_type type, const unsigned char *msg, size_t len)
{
	const unsigned char *eom = msg + len, *p;
	char name[NS_MAXDNAME];
	int qd, an, n, cnt = 0;

	if (len < 12)
		return;
	qd = get16(msg + 4);
	an = get16(msg + 6);
	p = msg + 12;
	for (int i = 0; i < qd; i++) {
		if ((n = dn_expand(msg, eom, p, name, sizeof(name))) < 0 || p + n + 4 > eom)
			return;
		p += n + 4;
	}
	for (int i = 0; i < an; i++) {
		uint16_t rtype, rdlen;

		if ((n = dn_expand(msg, eom, p, name, sizeof(name))) < 0 || p + n + 10 > eom)
			break;
		p += n;
		rtype = get16(p);
		rdlen = get16(p + 8);
		p += 10;
		if (p + rdlen > eom)
			break;
		if (rtype == type && spf_rr_add(rr, cnt, type, msg, eom, p, rdlen) == 0)
			cnt++;
		p += rdlen;
	}
	rr->num_rr = cnt;
}

static SPF_dns_rr_t *
spf_layer_lookup(SPF_dns_server_t *srv, const char *domain, ns_type type, int should_cache)
{
	struct auth_dns *ad = srv->hook;
	unsigned char *pkt;
	size_t len;
	SPF_dns_rr_t *rr;

	(void)should_cache;
	/* RFC 7208 section 3.1: the SPF RR type is gone; TXT only */
	if (type == ns_t_spf)
		return SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
	switch (auth_dns_raw(ad, domain, type, &pkt, &len)) {
	case DNS_OK:
		rr = SPF_dns_rr_new_init(srv, domain, type, 0, NETDB_SUCCESS);
		if (rr != NULL) {
			spf_parse_answer(rr, type, pkt, len);
			if (rr->num_rr == 0)
				rr->herrno = NO_DATA;
		}
		break;
	case DNS_NODATA:
		rr = SPF_dns_rr_new_init(srv, domain, type, 0, NO_DATA);
		break;
	case DNS_TEMPFAIL:
		rr = SPF_dns_rr_new_init(srv, domain, type, 0, TRY_AGAIN);
		break;
	case DNS_NXDOMAIN:
	case DNS_PERMFAIL:	/* a malformed name (e.g. after macro expansion) */
	default:
		rr = SPF_dns_rr_new_init(srv, domain, type, 0, HOST_NOT_FOUND);
		break;
	}
	free(pkt);
	if (rr == NULL)
		panic("libspf2: out of memory");
	return rr;
}

/* ---- the check ---- */

static int
spf_set_ip(SPF_request_t *req, const char *ip, char *out, size_t outlen)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, ip, &a4) == 1) {
		inet_ntop(AF_INET, &a4, out, (socklen_t)outlen);
		return SPF_request_set_ipv4(req, a4) == SPF_E_SUCCESS ? 0 : -1;
	}
	if (inet_pton(AF_INET6, ip, &a6) == 1) {
		if (IN6_IS_ADDR_V4MAPPED(&a6)) {
			memcpy(&a4, &a6.s6_addr[12], 4);
			inet_ntop(AF_INET, &a4, out, (socklen_t)outlen);
			return SPF_request_set_ipv4(req, a4) == SPF_E_SUCCESS ? 0 : -1;
		}
		inet_ntop(AF_INET6, &a6, out, (socklen_t)outlen);
		return SPF_request_set_ipv6(req, a6) == SPF_E_SUCCESS ? 0 : -1;
	}
	return -1;
}

/* libspf2 leaves the result unset when it gives up early: say which. */
static enum auth_result
spf_result_of(SPF_response_t *resp, SPF_errcode_t err, char *detail, size_t dlen)
{
	switch (SPF_response_result(resp)) {
	case SPF_RESULT_PASS: return AUTH_PASS;
	case SPF_RESULT_FAIL: return AUTH_FAIL;
	case SPF_RESULT_SOFTFAIL: return AUTH_SOFTFAIL;
	case SPF_RESULT_NEUTRAL: return AUTH_NEUTRAL;
	case SPF_RESULT_NONE: return AUTH_NONE;
	case SPF_RESULT_TEMPERROR: return AUTH_TEMPERROR;
	case SPF_RESULT_PERMERROR:
		snprintf(detail, dlen, "%s", SPF_strerror(SPF_response_errcode(resp)));
		return AUTH_PERMERROR;
	case SPF_RESULT_INVALID:
	default:
		break;
	}
	if (err == SPF_E_DNS_ERROR)
		return AUTH_TEMPERROR;
	/*
	 * "not SPF" covers both no record and a record that did not compile;
	 * the compiler leaves its own error in the response for the latter.
	 */
	for (int i = 0; i < SPF_response_messages(resp); i++) {
		SPF_error_t *e = SPF_response_message(resp, i);

		if (SPF_error_errorp(e) && SPF_error_code(e) != SPF_E_NOT_SPF &&
		    SPF_error_code(e) != SPF_E_SUCCESS) {
			snprintf(detail, dlen, "%s", SPF_error_message(e));
			return AUTH_PERMERROR;
		}
	}
	if (err != SPF_E_SUCCESS && err != SPF_E_NOT_SPF) {
		snprintf(detail, dlen, "%s", SPF_strerror(err));
		return AUTH_PERMERROR;
	}
	return AUTH_NONE;
}

void
spf_check(struct auth_dns *ad, const char *ip, const char *helo, const char *mail_from,
    const char *receiver, struct spf_outcome *out)
{
	SPF_dns_server_t *layer;
	SPF_server_t *srv;
	SPF_request_t *req;
	SPF_response_t *resp = NULL;
	SPF_errcode_t err;
	const char *at;

	memset(out, 0, sizeof(*out));
	if (ip == NULL || ip[0] == '\0')
		return;
	if (helo != NULL && (helo[0] == '\0' || helo[0] == '['))
		helo = NULL;		/* an address literal is no identity */
	if (mail_from == NULL)
		mail_from = "";
	if (mail_from[0] == '\0' && helo == NULL)
		return;
	pthread_once(&spf_once, spf_setup);

	/* no destroy: SPF_server_free() leaves the layer to us */
	layer = xcalloc(1, sizeof(*layer));
	layer->lookup = spf_layer_lookup;
	layer->name = "sekisho";
	layer->hook = ad;
	if ((srv = SPF_server_new_dns(layer, 0)) == NULL)
		panic("libspf2: out of memory");
	if (receiver != NULL && receiver[0] != '\0')
		(void)SPF_server_set_rec_dom(srv, receiver);
	if ((req = SPF_request_new(srv)) == NULL)
		panic("libspf2: out of memory");
	if (spf_set_ip(req, ip, out->ip, sizeof(out->ip)) < 0)
		goto done;		/* "unknown", a UNIX socket: nothing to check */
	/*
	 * libspf2 passes loopback clients outright; for us they are local
	 * injections (or `sekisho scan` without --client), where SPF has
	 * nothing to say, so no result rather than a free SPF_PASS.
	 */
	if (SPF_request_is_loopback(req))
		goto done;
	if (helo != NULL)
		(void)SPF_request_set_helo_dom(req, helo);
	if (SPF_request_set_env_from(req, mail_from) != 0)
		goto done;

	out->ran = 1;
	if (mail_from[0] != '\0') {
		at = strrchr(mail_from, '@');
		util_strlcpy(out->domain, at ? at + 1 : mail_from, sizeof(out->domain));
		util_strlcpy(out->identity, mail_from, sizeof(out->identity));
	} else {
		out->helo = 1;
		util_strlcpy(out->domain, helo, sizeof(out->domain));
		util_strlcpy(out->identity, helo, sizeof(out->identity));
	}
	util_lowercase(out->domain);

	err = SPF_request_query_mailfrom(req, &resp);
	out->result = spf_result_of(resp, err, out->detail, sizeof(out->detail));
done:
	if (resp != NULL)
		SPF_response_free(resp);
	SPF_request_free(req);
	SPF_server_free(srv);
	free(layer);
}

void
spf_report(const struct spf_outcome *o, struct scan_result *r)
{
	const char *ptype = o->helo ? "smtp.helo" : "smtp.mailfrom";

	if (!o->ran)
		return;
	result_add_auth(r, "spf=%s %s=%s", auth_result_name(o->result), ptype, o->identity);
	switch (o->result) {
	case AUTH_PASS:
		result_add(r, "SPF_PASS", "%s is permitted to send for %s", o->ip, o->domain);
		break;
	case AUTH_FAIL:
		result_add(r, "SPF_FAIL", "%s is not permitted to send for %s", o->ip, o->domain);
		break;
	case AUTH_SOFTFAIL:
		result_add(r, "SPF_SOFTFAIL", "%s is not an authorised sender for %s (~all)",
		    o->ip, o->domain);
		break;
	case AUTH_NEUTRAL:
		result_add(r, "SPF_NEUTRAL", "%s makes no assertion about %s", o->domain, o->ip);
		break;
	case AUTH_NONE:
		result_add(r, "SPF_NONE", "%s publishes no SPF record", o->domain);
		break;
	case AUTH_PERMERROR:
		result_add(r, "SPF_PERMERROR", "the SPF record of %s is invalid%s%s", o->domain,
		    o->detail[0] ? ": " : "", o->detail);
		break;
	case AUTH_TEMPERROR:
		result_add(r, "SPF_TEMPERROR", "DNS did not answer while checking SPF for %s",
		    o->domain);
		break;
	}
}
