/*
 * detect_dmarc.c - DMARC (RFC 7489) over the SPF and DKIM outcomes.
 *
 * Policy discovery: the TXT record at _dmarc.<From domain>, else at
 * _dmarc.<organizational domain> (its registrable domain by the Public
 * Suffix List, libpsl), where "sp=" then applies when present.  Only
 * records that start with "v=DMARC1" count; several of them count as none
 * (section 6.6.3).  libopendmarc parses the record (p, sp, adkim, aspf,
 * pct); a record it rejects is permerror, unless it names a report address
 * (rua=), which the RFC says to treat as p=none.
 *
 * Alignment is ours, not libopendmarc's: its strict-mode check accepts a
 * subdomain once the public suffix list is loaded (1.4.2), so we compare
 * the names ourselves (strict: equal; relaxed: same registrable domain).
 * SPF counts when it passed for an aligned MAIL FROM (or HELO for the null
 * sender) domain, DKIM when any signature with an aligned d= verified.
 *
 * A DNS time-out on the record is temperror.  When nothing passed but an
 * aligned identifier could not be checked (its SPF or DKIM key look-up
 * timed out) the result is temperror too, rather than a failure we cannot
 * be sure of; an unaligned identifier's trouble never softens a failure.
 * pct= is reported but not sampled: the published policy applies to every
 * message, so a verdict never depends on chance.
 *
 * Symbols: DMARC_PASS, DMARC_FAIL_REJECT, DMARC_FAIL_QUARANTINE,
 * DMARC_FAIL_NONE, DMARC_NONE, DMARC_TEMPERROR, DMARC_PERMERROR.
 * Authentication-Results: "dmarc=<result> (p=<policy>) header.from=<domain>".
 */
#include "detect/detect_auth.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <opendmarc/dmarc.h>

int
dmarc_init(char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	/* nothing global: records are parsed in a context per message, and we
	 * never ask libopendmarc for DNS or public-suffix work */
	return 0;
}

/* "v=DMARC1" then white space, ';' or the end. */
static int
is_dmarc_record(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s++ != 'v')
		return 0;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s++ != '=')
		return 0;
	while (*s == ' ' || *s == '\t')
		s++;
	if (strncmp(s, "DMARC1", 6) != 0)
		return 0;
	s += 6;
	return *s == '\0' || *s == ';' || *s == ' ' || *s == '\t';
}

/* Fetch the one DMARC record of _dmarc.domain into rec. */
static enum dns_status
dmarc_fetch(struct auth_dns *ad, const char *domain, char *rec, size_t reclen)
{
	char name[300], **txt = NULL;
	enum dns_status st;
	int found = 0;

	rec[0] = '\0';
	if ((size_t)snprintf(name, sizeof(name), "_dmarc.%s", domain) >= sizeof(name))
		return DNS_PERMFAIL;
	st = auth_dns_txt(ad, name, &txt);
	if (st == DNS_OK) {
		for (size_t i = 0; txt[i] != NULL; i++)
			if (is_dmarc_record(txt[i]) && found++ == 0)
				util_strlcpy(rec, txt[i], reclen);
		if (found != 1) {
			rec[0] = '\0';
			st = DNS_NODATA;
		}
	}
	dns_strings_free(txt);
	return st;
}

static int
aligned(const char *a, const char *b, int strict)
{
	char oa[256], ob[256];

	if (a == NULL || b == NULL || a[0] == '\0' || b[0] == '\0')
		return 0;
	if (strict)
		return util_strcasecmp(a, b) == 0;
	auth_org_domain(a, oa, sizeof(oa));
	auth_org_domain(b, ob, sizeof(ob));
	return strcmp(oa, ob) == 0;
}

/* Parse the record with libopendmarc; 0 or -1 (unusable). */
static int
dmarc_parse(const char *rec, const char *domain, const char *org, struct dmarc_outcome *o,
    char *sp, int *adkim_strict, int *aspf_strict)
{
	DMARC_POLICY_T *p = opendmarc_policy_connect_init((u_char *)(uintptr_t)"0.0.0.0", 0);
	char rbuf[1024], dbuf[256], obuf[256];
	int st, v;

	if (p == NULL)
		return -1;
	util_strlcpy(rbuf, rec, sizeof(rbuf));
	util_strlcpy(dbuf, domain, sizeof(dbuf));
	util_strlcpy(obuf, org, sizeof(obuf));
	st = opendmarc_policy_store_dmarc(p, (u_char *)rbuf, (u_char *)dbuf, (u_char *)obuf);
	if (st != DMARC_PARSE_OKAY) {
		util_strlcpy(o->detail, opendmarc_policy_status_to_str(st), sizeof(o->detail));
		opendmarc_policy_connect_shutdown(p);
		return -1;
	}
	v = 0;
	opendmarc_policy_fetch_p(p, &v);
	o->published = (char)v;
	v = 0;
	opendmarc_policy_fetch_sp(p, &v);
	*sp = (char)v;
	v = 0;
	opendmarc_policy_fetch_adkim(p, &v);
	*adkim_strict = v == DMARC_RECORD_A_STRICT;
	v = 0;
	opendmarc_policy_fetch_aspf(p, &v);
	*aspf_strict = v == DMARC_RECORD_A_STRICT;
	v = 100;
	opendmarc_policy_fetch_pct(p, &v);
	o->pct = v;
	opendmarc_policy_connect_shutdown(p);
	return 0;
}

void
dmarc_check(struct auth_dns *ad, const char *from_domain, const struct spf_outcome *spf,
    const struct dkim_outcome *dkim, struct dmarc_outcome *o)
{
	char rec[1024], org[256], from[256], sp = 0;
	int adkim_strict = 0, aspf_strict = 0, maybe = 0;
	enum dns_status st;
	size_t n;

	memset(o, 0, sizeof(*o));
	if (from_domain == NULL || from_domain[0] == '\0')
		return;
	o->ran = 1;
	util_strlcpy(from, from_domain, sizeof(from));
	util_lowercase(from);
	n = strlen(from);
	if (n > 0 && from[n - 1] == '.')
		from[n - 1] = '\0';
	util_strlcpy(o->from_domain, from, sizeof(o->from_domain));
	auth_org_domain(from, org, sizeof(org));

	st = dmarc_fetch(ad, from, rec, sizeof(rec));
	util_strlcpy(o->policy_domain, from, sizeof(o->policy_domain));
	if ((st == DNS_NXDOMAIN || st == DNS_NODATA) && strcmp(org, from) != 0) {
		st = dmarc_fetch(ad, org, rec, sizeof(rec));
		util_strlcpy(o->policy_domain, org, sizeof(o->policy_domain));
	}
	if (st == DNS_TEMPFAIL) {
		o->result = AUTH_TEMPERROR;
		snprintf(o->detail, sizeof(o->detail), "no answer for _dmarc.%.200s", o->policy_domain);
		return;
	}
	if (st != DNS_OK) {
		o->result = AUTH_NONE;
		return;
	}
	if (dmarc_parse(rec, o->policy_domain, org, o, &sp, &adkim_strict, &aspf_strict) < 0) {
		if (strstr(rec, "rua=") == NULL) {
			o->result = AUTH_PERMERROR;
			return;
		}
		/* RFC 7489 6.6.3: a broken policy with a report address is p=none */
		o->published = 'n';
		sp = 0;
		o->pct = 100;
	}
	o->policy = o->published;
	if (strcmp(o->policy_domain, from) != 0 && sp != 0)
		o->policy = sp;

	/* SPF: the checked domain, if it passed */
	if (spf != NULL && spf->ran && aligned(spf->domain, from, aspf_strict)) {
		if (spf->result == AUTH_PASS)
			o->spf_aligned = 1;
		else if (spf->result == AUTH_TEMPERROR)
			maybe = 1;
	}
	/* DKIM: any verified signature with an aligned d= */
	for (size_t i = 0; dkim != NULL && i < dkim->nsigs; i++) {
		const struct dkim_sig_outcome *s = &dkim->sigs[i];

		if (!aligned(s->domain, from, adkim_strict))
			continue;
		if (s->result == AUTH_PASS)
			o->dkim_aligned = 1;
		else if (s->result == AUTH_TEMPERROR)
			maybe = 1;
	}
	if (o->spf_aligned || o->dkim_aligned)
		o->result = AUTH_PASS;
	else if (maybe)
		o->result = AUTH_TEMPERROR;
	else
		o->result = AUTH_FAIL;
}

static const char *
policy_name(char p)
{
	switch (p) {
	case 'r': return "reject";
	case 'q': return "quarantine";
	default: return "none";
	}
}

void
dmarc_report(const struct dmarc_outcome *o, struct scan_result *r)
{
	const char *pol = policy_name(o->policy);
	char pct[24] = "";

	if (!o->ran)
		return;
	if (o->pct > 0 && o->pct < 100)
		snprintf(pct, sizeof(pct), " pct=%d", o->pct);
	switch (o->result) {
	case AUTH_PASS:
		result_add_auth(r, "dmarc=pass (p=%s%s) header.from=%s", pol, pct, o->from_domain);
		result_add(r, "DMARC_PASS", "%s aligned with %s (policy of %s)",
		    o->dkim_aligned ? "DKIM" : "SPF", o->from_domain, o->policy_domain);
		break;
	case AUTH_FAIL:
		result_add_auth(r, "dmarc=fail (p=%s%s) header.from=%s", pol, pct, o->from_domain);
		result_add(r, o->policy == 'r' ? "DMARC_FAIL_REJECT" :
		    o->policy == 'q' ? "DMARC_FAIL_QUARANTINE" : "DMARC_FAIL_NONE",
		    "no SPF or DKIM pass aligned with %s; %s asks for p=%s%s",
		    o->from_domain, o->policy_domain, pol, pct);
		break;
	case AUTH_TEMPERROR:
		result_add_auth(r, "dmarc=temperror header.from=%s", o->from_domain);
		result_add(r, "DMARC_TEMPERROR", "%s", o->detail[0] ? o->detail :
		    "an aligned SPF or DKIM check got no DNS answer");
		break;
	case AUTH_PERMERROR:
		result_add_auth(r, "dmarc=permerror header.from=%s", o->from_domain);
		result_add(r, "DMARC_PERMERROR", "invalid DMARC record at _dmarc.%s: %s",
		    o->policy_domain, o->detail);
		break;
	default:
		result_add_auth(r, "dmarc=none header.from=%s", o->from_domain);
		result_add(r, "DMARC_NONE", "%s publishes no DMARC record", o->from_domain);
		break;
	}
}
