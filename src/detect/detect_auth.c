/*
 * detect_auth.c - the sender-authentication detector: SPF, DKIM, ARC and
 * DMARC in one pass over a message (the checks live in detect_spf.c,
 * detect_dkim.c, detect_arc.c and detect_dmarc.c).
 *
 * Options (util/config.h):
 *   network_checks  no: the detector adds nothing at all (no DNS, no symbols)
 *   dns_forwarders, dns_timeout
 *                   the shared resolver handed in as scan_ctx.dns
 *   myhostname      the receiving host name given to SPF
 *
 * The checks run on inbound mail only: mail on the outbound listener comes
 * from our own users, whose client address says nothing about the sender
 * domain's SPF and whose messages are usually signed after us.
 *
 * Symbols (default scores; "score.NAME" overrides):
 *   SPF_PASS -0.5, SPF_FAIL 3.0, SPF_SOFTFAIL 1.0, SPF_NEUTRAL 0,
 *   SPF_NONE 0.5, SPF_PERMERROR 1.0, SPF_TEMPERROR 0
 *   DKIM_VALID -0.5, DKIM_INVALID 2.0, DKIM_KEY_MISSING 1.0,
 *   DKIM_PERMERROR 1.0, DKIM_TEMPERROR 0, DKIM_NONE 0
 *   ARC_PASS -0.5, ARC_FAIL 1.0, ARC_TEMPERROR 0, ARC_NONE 0
 *   DMARC_PASS -1.0, DMARC_FAIL_REJECT 6.0, DMARC_FAIL_QUARANTINE 4.0,
 *   DMARC_FAIL_NONE 1.0, DMARC_NONE 0, DMARC_TEMPERROR 0, DMARC_PERMERROR 0
 *   DNS_TEMPFAIL 0   a query got no answer in time: some result is temperror
 *
 * Failure: a DNS time-out never passes silently: the method reports
 * temperror and DNS_TEMPFAIL names the first query that failed.  Once the
 * scan deadline has passed no further query is sent (each counts as a
 * time-out).
 */
#include "detect/detect_auth.h"
#include "util/log.h"
#include "util/util.h"

#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct symbol_def auth_symbols[] = {
	{ "SPF_PASS", -0.5, "the client is an authorised sender of the envelope domain (SPF)" },
	{ "SPF_FAIL", 3.0, "the envelope domain's SPF policy forbids the client" },
	{ "SPF_SOFTFAIL", 1.0, "the envelope domain's SPF policy discourages the client (~all)" },
	{ "SPF_NEUTRAL", 0.0, "the envelope domain's SPF policy makes no assertion (?all)" },
	{ "SPF_NONE", 0.5, "the envelope domain publishes no SPF policy" },
	{ "SPF_PERMERROR", 1.0, "the envelope domain's SPF policy is broken" },
	{ "SPF_TEMPERROR", 0.0, "SPF could not be checked: DNS did not answer" },
	{ "DKIM_VALID", -0.5, "a DKIM signature verified" },
	{ "DKIM_INVALID", 2.0, "a DKIM signature or body hash did not verify (and none did)" },
	{ "DKIM_KEY_MISSING", 1.0, "the DKIM key named by a signature is not published" },
	{ "DKIM_PERMERROR", 1.0, "a DKIM signature or its key record is malformed, expired or revoked" },
	{ "DKIM_TEMPERROR", 0.0, "a DKIM key could not be fetched: DNS did not answer" },
	{ "DKIM_NONE", 0.0, "the message has no DKIM signature" },
	{ "ARC_PASS", -0.5, "the ARC chain of the forwarders validated" },
	{ "ARC_FAIL", 1.0, "the ARC chain is broken" },
	{ "ARC_TEMPERROR", 0.0, "an ARC key could not be fetched: DNS did not answer" },
	{ "ARC_NONE", 0.0, "the message has no ARC headers" },
	{ "DMARC_PASS", -1.0, "SPF or DKIM passed for a domain aligned with From" },
	{ "DMARC_FAIL_REJECT", 6.0, "DMARC failed and the From domain asks for rejection" },
	{ "DMARC_FAIL_QUARANTINE", 4.0, "DMARC failed and the From domain asks for quarantine" },
	{ "DMARC_FAIL_NONE", 1.0, "DMARC failed; the From domain only monitors (p=none)" },
	{ "DMARC_NONE", 0.0, "the From domain publishes no DMARC policy" },
	{ "DMARC_TEMPERROR", 0.0, "DMARC could not be evaluated: DNS did not answer" },
	{ "DMARC_PERMERROR", 0.0, "the From domain's DMARC record is invalid" },
	{ "DNS_TEMPFAIL", 0.0, "a DNS query got no answer in time; some check is incomplete" },
	{ NULL, 0, NULL },
};

const char *
auth_result_name(enum auth_result res)
{
	switch (res) {
	case AUTH_NONE: return "none";
	case AUTH_PASS: return "pass";
	case AUTH_FAIL: return "fail";
	case AUTH_SOFTFAIL: return "softfail";
	case AUTH_NEUTRAL: return "neutral";
	case AUTH_TEMPERROR: return "temperror";
	case AUTH_PERMERROR: return "permerror";
	}
	return "none";
}

/* ---- DNS with the scan deadline ---- */

static int
auth_dns_expired(struct auth_dns *ad, const char *type, const char *name)
{
	if (ad->deadline_ms <= 0 || util_mono_ms() < ad->deadline_ms)
		return 0;
	if (ad->tempfails++ == 0)
		snprintf(ad->first_tempfail, sizeof(ad->first_tempfail),
		    "%s %s (scan time exhausted)", type, name);
	return 1;
}

static void
auth_dns_note(struct auth_dns *ad, enum dns_status st, const char *type, const char *name)
{
	if (st != DNS_TEMPFAIL)
		return;
	if (ad->tempfails++ == 0)
		snprintf(ad->first_tempfail, sizeof(ad->first_tempfail), "%s %s", type, name);
}

enum dns_status
auth_dns_txt(struct auth_dns *ad, const char *name, char ***out)
{
	enum dns_status st;

	*out = NULL;
	if (auth_dns_expired(ad, "TXT", name))
		return DNS_TEMPFAIL;
	st = dns_txt(ad->dns, name, out);
	auth_dns_note(ad, st, "TXT", name);
	return st;
}

enum dns_status
auth_dns_raw(struct auth_dns *ad, const char *name, int rrtype, unsigned char **pkt,
    size_t *len)
{
	static const struct { int type; const char *name; } types[] = {
		{ 1, "A" }, { 12, "PTR" }, { 15, "MX" }, { 16, "TXT" }, { 28, "AAAA" },
	};
	const char *tn = "query";
	enum dns_status st;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(types); i++)
		if (types[i].type == rrtype)
			tn = types[i].name;
	*pkt = NULL;
	*len = 0;
	if (auth_dns_expired(ad, tn, name))
		return DNS_TEMPFAIL;
	st = dns_query_raw(ad->dns, name, rrtype, pkt, len);
	auth_dns_note(ad, st, tn, name);
	return st;
}

/* ---- shared helpers ---- */

char *
auth_crlf(const char *raw, size_t len, size_t *outlen)
{
	size_t i = 0, o = 0, extra = 0;
	char *out;

	/* an mbox separator is not part of the message */
	if (len >= 5 && memcmp(raw, "From ", 5) == 0) {
		const char *nl = memchr(raw, '\n', len);
		i = nl ? (size_t)(nl - raw) + 1 : len;
	}
	for (size_t k = i; k < len; k++)
		if (raw[k] == '\n' && (k == 0 || raw[k - 1] != '\r'))
			extra++;
	out = xmalloc(len - i + extra + 1);
	for (; i < len; i++) {
		if (raw[i] == '\n' && (o == 0 || out[o - 1] != '\r'))
			out[o++] = '\r';
		out[o++] = raw[i];
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl_ctx;	/* loaded once, read-only, never freed */

static void
psl_load(void)
{
	/* the system's list when it is there, else the built-in one */
	psl_ctx = psl_latest(NULL);
	if (psl_ctx == NULL)
		psl_ctx = psl_builtin();
}

void
auth_org_domain(const char *domain, char *out, size_t outlen)
{
	char buf[256];
	const char *reg;
	size_t n;

	util_strlcpy(buf, domain, sizeof(buf));
	util_lowercase(buf);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '.')
		buf[n - 1] = '\0';
	pthread_once(&psl_once, psl_load);
	reg = psl_ctx ? psl_registrable_domain(psl_ctx, buf) : NULL;
	util_strlcpy(out, reg ? reg : buf, outlen);
}

/* ---- the detector ---- */

struct auth_state {
	struct dkim_verifier *dkim;
};

static int
auth_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	struct auth_state *st;

	if (!cfg->network_checks) {
		*state = NULL;
		return 0;
	}
	st = xcalloc(1, sizeof(*st));
	if ((st->dkim = dkim_verifier_new(err, errlen)) == NULL ||
	    dmarc_init(err, errlen) < 0) {
		dkim_verifier_free(st->dkim);
		free(st);
		return -1;
	}
	pthread_once(&psl_once, psl_load);
	*state = st;
	return 0;
}

static void
auth_free(void *state)
{
	struct auth_state *st = state;

	if (st == NULL)
		return;
	dkim_verifier_free(st->dkim);
	free(st);
}

static enum dns_status
auth_arc_key(void *arg, const char *name, char ***txt)
{
	return auth_dns_txt(arg, name, txt);
}

/* The From domain DMARC evaluates: the first address with a domain. */
static const char *
auth_from_domain(const struct message *msg)
{
	for (size_t i = 0; i < msg->nfrom; i++)
		if (msg->from[i].domain != NULL && msg->from[i].domain[0] != '\0')
			return msg->from[i].domain;
	return NULL;
}

static void
auth_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	struct auth_state *st = state;
	struct auth_dns ad = { 0 };
	struct spf_outcome spf;
	struct dkim_outcome dkim;
	struct arc_outcome arc;
	struct dmarc_outcome dmarc;
	const struct envelope *env = ctx->env;
	const struct message *msg = ctx->msg;
	char *text = NULL;
	size_t len = 0;

	if (st == NULL || !ctx->cfg->network_checks || ctx->dns == NULL)
		return;
	if (ctx->outbound || msg == NULL)
		return;
	ad.dns = ctx->dns;
	ad.deadline_ms = ctx->deadline_ms;

	spf_check(&ad, env ? env->client_addr : NULL, env ? env->helo : NULL,
	    env ? env->mail_from : NULL, ctx->cfg->myhostname, &spf);
	spf_report(&spf, r);

	if (msg->raw != NULL)
		text = auth_crlf(msg->raw, msg->rawlen, &len);
	memset(&dkim, 0, sizeof(dkim));
	memset(&arc, 0, sizeof(arc));
	if (text != NULL) {
		dkim_check(st->dkim, &ad, text, len, &dkim);
		dkim_report(&dkim, r);
		arc_verify(text, len, auth_arc_key, &ad, &arc);
		arc_report(&arc, r);
	}
	free(text);

	dmarc_check(&ad, auth_from_domain(msg), &spf, &dkim, &dmarc);
	dmarc_report(&dmarc, r);

	if (ad.tempfails > 0)
		result_add(r, "DNS_TEMPFAIL", "no answer for %s (time-out or server failure)%s",
		    ad.first_tempfail, ad.tempfails > 1 ? " and others" : "");
}

const struct detector detect_auth = {
	.name = "auth",
	.symbols = auth_symbols,
	.init = auth_init,
	.scan = auth_scan,
	.free = auth_free,
};
