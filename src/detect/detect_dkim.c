/*
 * detect_dkim.c - DKIM verification (RFC 6376, RFC 8463) with libopendkim.
 *
 * One DKIM_LIB serves every thread (libopendkim keeps per-message state in
 * the DKIM handle).  The public keys come from our resolver through the
 * library's key look-up callback: dkim_set_key_lookup() lets us hand it the
 * TXT record ourselves, with the scan's struct auth_dns as the handle's user
 * context.  Every signature is checked, up to DKIM_MAX_SIGS: a prescreen
 * callback tells the library to ignore the rest, so a message cannot make
 * us fetch a thousand keys.  Keys shorter than 1024 bits are refused
 * (RFC 8301).
 *
 * Input: the whole message with CRLF line endings (auth_crlf()), handed to
 * the library in one dkim_chunk() call.
 *
 * Symbols: DKIM_VALID when a signature verifies; otherwise, for the broken
 * ones, DKIM_INVALID (signature or body hash mismatch), DKIM_KEY_MISSING (no
 * key record), DKIM_PERMERROR (malformed, expired, revoked, too small),
 * DKIM_TEMPERROR (key look-up got no answer); DKIM_NONE without signatures.
 * A broken signature next to a valid one (a mailing list re-signs what it
 * altered) adds no penalty: DMARC judges which domains passed.
 * Authentication-Results: "dkim=<result> header.d=<d> header.s=<s>" per
 * signature, "dkim=none" without one.
 */
#include "detect/detect_auth.h"
#include "util/log.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dkim.h>

struct dkim_verifier {
	DKIM_LIB *lib;
};

/* Look up s._domainkey.d through our resolver. */
static DKIM_CBSTAT
dkim_key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct auth_dns *ad = dkim_get_user_context(dkim);
	const char *d = (const char *)dkim_sig_getdomain(sig);
	const char *s = (const char *)dkim_sig_getselector(sig);
	char name[600], **txt = NULL;
	DKIM_CBSTAT ret = DKIM_CBSTAT_NOTFOUND;

	if (ad == NULL || d == NULL || s == NULL)
		return DKIM_CBSTAT_ERROR;
	if ((size_t)snprintf(name, sizeof(name), "%s._domainkey.%s", s, d) >= sizeof(name))
		return DKIM_CBSTAT_NOTFOUND;
	switch (auth_dns_txt(ad, name, &txt)) {
	case DNS_OK:
		/* more than one record is ambiguous; take the first that has a key tag */
		for (size_t i = 0; txt[i] != NULL; i++) {
			if (strstr(txt[i], "p=") == NULL && txt[i + 1] != NULL)
				continue;
			if (util_strlcpy((char *)buf, txt[i], buflen) >= buflen)
				ret = DKIM_CBSTAT_ERROR;
			else
				ret = DKIM_CBSTAT_CONTINUE;
			break;
		}
		break;
	case DNS_TEMPFAIL:
		ret = DKIM_CBSTAT_TRYAGAIN;
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
	case DNS_PERMFAIL:
	default:
		ret = DKIM_CBSTAT_NOTFOUND;
		break;
	}
	dns_strings_free(txt);
	return ret;
}

/* Verify at most DKIM_MAX_SIGS signatures, the topmost (newest) first. */
static DKIM_CBSTAT
dkim_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	(void)dkim;
	for (int i = DKIM_MAX_SIGS; i < nsigs; i++)
		dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

struct dkim_verifier *
dkim_verifier_new(char *err, size_t errlen)
{
	struct dkim_verifier *v = xcalloc(1, sizeof(*v));
	unsigned int flags = DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned int minbits = 1024;

	if ((v->lib = dkim_init(NULL, NULL)) == NULL) {
		snprintf(err, errlen, "dkim: cannot initialise libopendkim");
		free(v);
		return NULL;
	}
	if (dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(v->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits, sizeof(minbits)) != DKIM_STAT_OK ||
	    dkim_set_key_lookup(v->lib, dkim_key_lookup) != DKIM_STAT_OK ||
	    dkim_set_prescreen(v->lib, dkim_prescreen) != DKIM_STAT_OK) {
		snprintf(err, errlen, "dkim: cannot set libopendkim options");
		dkim_verifier_free(v);
		return NULL;
	}
	return v;
}

void
dkim_verifier_free(struct dkim_verifier *v)
{
	if (v == NULL)
		return;
	if (v->lib != NULL)
		dkim_close(v->lib);
	free(v);
}

/* One signature's outcome from libopendkim's flags and error code. */
static void
dkim_sig_outcome(DKIM_SIGINFO *sig, int eom_tryagain, struct dkim_sig_outcome *o)
{
	unsigned int flags = dkim_sig_getflags(sig);
	int bh = dkim_sig_getbh(sig);
	int e = dkim_sig_geterror(sig);
	const char *d = (const char *)dkim_sig_getdomain(sig);
	const char *s = (const char *)dkim_sig_getselector(sig);

	util_strlcpy(o->domain, d ? d : "", sizeof(o->domain));
	util_lowercase(o->domain);
	util_strlcpy(o->selector, s ? s : "", sizeof(o->selector));

	if ((flags & DKIM_SIGFLAG_PASSED) && bh == DKIM_SIGBH_MATCH) {
		o->result = AUTH_PASS;
		return;
	}
	/* libopendkim may call it BADSIG too: the body is the better reason */
	if (bh == DKIM_SIGBH_MISMATCH) {
		o->result = AUTH_FAIL;
		util_strlcpy(o->detail, "body hash did not verify", sizeof(o->detail));
		return;
	}
	switch (e) {
	case DKIM_SIGERROR_NOKEY:
		o->result = AUTH_PERMERROR;
		o->key_missing = 1;
		util_strlcpy(o->detail, "no key published", sizeof(o->detail));
		return;
	case DKIM_SIGERROR_KEYFAIL:
		o->result = AUTH_TEMPERROR;
		util_strlcpy(o->detail, "key look-up failed", sizeof(o->detail));
		return;
	case DKIM_SIGERROR_BADSIG:
		o->result = AUTH_FAIL;
		util_strlcpy(o->detail, "signature did not verify", sizeof(o->detail));
		return;
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_UNKNOWN:
		if (bh == DKIM_SIGBH_MISMATCH) {
			o->result = AUTH_FAIL;
			util_strlcpy(o->detail, "body hash did not verify", sizeof(o->detail));
		} else if ((flags & DKIM_SIGFLAG_PROCESSED) && !(flags & DKIM_SIGFLAG_PASSED)) {
			o->result = AUTH_FAIL;
			util_strlcpy(o->detail, "signature did not verify", sizeof(o->detail));
		} else if (eom_tryagain) {
			o->result = AUTH_TEMPERROR;
			util_strlcpy(o->detail, "key look-up failed", sizeof(o->detail));
		} else {
			o->result = AUTH_PERMERROR;
			util_strlcpy(o->detail, "not verified", sizeof(o->detail));
		}
		return;
	default:
		o->result = AUTH_PERMERROR;
		util_strlcpy(o->detail, dkim_sig_geterrorstr(e) ? dkim_sig_geterrorstr(e) : "error",
		    sizeof(o->detail));
		return;
	}
}

void
dkim_check(struct dkim_verifier *v, struct auth_dns *ad, const char *msg, size_t len,
    struct dkim_outcome *out)
{
	DKIM_STAT st, eom;
	DKIM_SIGINFO **sigs = NULL;
	DKIM *dkim;
	int nsigs = 0, tryagain = 0;

	memset(out, 0, sizeof(*out));
	if (v == NULL)
		return;
	dkim = dkim_verify(v->lib, (const u_char *)"sekisho", NULL, &st);
	if (dkim == NULL) {
		log_warn("dkim: cannot start verification: %s", dkim_getresultstr(st));
		return;
	}
	out->ran = 1;
	(void)dkim_set_user_context(dkim, ad);
	st = dkim_chunk(dkim, (u_char *)(uintptr_t)msg, len);
	if (st == DKIM_STAT_OK)
		st = dkim_chunk(dkim, NULL, 0);
	if (st == DKIM_STAT_CBTRYAGAIN)
		tryagain = 1;
	eom = dkim_eom(dkim, NULL);
	if (eom == DKIM_STAT_CBTRYAGAIN)
		tryagain = 1;
	if (dkim_getsiglist(dkim, &sigs, &nsigs) != DKIM_STAT_OK)
		nsigs = 0;
	for (int i = 0; i < nsigs; i++) {
		if (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) {
			out->ignored++;
			continue;
		}
		if (out->nsigs == DKIM_MAX_SIGS) {
			out->ignored++;
			continue;
		}
		dkim_sig_outcome(sigs[i], tryagain, &out->sigs[out->nsigs++]);
	}
	dkim_free(dkim);
}

void
dkim_report(const struct dkim_outcome *o, struct scan_result *r)
{
	const struct dkim_sig_outcome *pass = NULL;

	if (!o->ran)
		return;
	if (o->nsigs == 0) {
		result_add_auth(r, "dkim=none");
		result_add(r, "DKIM_NONE", "no DKIM signature");
		return;
	}
	for (size_t i = 0; i < o->nsigs; i++) {
		const struct dkim_sig_outcome *s = &o->sigs[i];

		if (s->result == AUTH_PASS || s->detail[0] == '\0')
			result_add_auth(r, "dkim=%s header.d=%s header.s=%s",
			    auth_result_name(s->result), s->domain, s->selector);
		else
			result_add_auth(r, "dkim=%s (%s) header.d=%s header.s=%s",
			    auth_result_name(s->result), s->detail, s->domain, s->selector);
		if (s->result == AUTH_PASS && pass == NULL)
			pass = s;
	}
	if (pass != NULL) {
		result_add(r, "DKIM_VALID", "signature by %s (selector %s) verified",
		    pass->domain, pass->selector);
		return;
	}
	for (size_t i = 0; i < o->nsigs; i++) {
		const struct dkim_sig_outcome *s = &o->sigs[i];

		switch (s->result) {
		case AUTH_FAIL:
			result_add(r, "DKIM_INVALID", "signature by %s (selector %s): %s",
			    s->domain, s->selector, s->detail);
			break;
		case AUTH_TEMPERROR:
			result_add(r, "DKIM_TEMPERROR", "key %s._domainkey.%s: no answer",
			    s->selector, s->domain);
			break;
		case AUTH_PERMERROR:
			if (s->key_missing)
				result_add(r, "DKIM_KEY_MISSING", "no key at %s._domainkey.%s",
				    s->selector, s->domain);
			else
				result_add(r, "DKIM_PERMERROR", "signature by %s (selector %s): %s",
				    s->domain, s->selector, s->detail);
			break;
		default:
			break;
		}
	}
}
