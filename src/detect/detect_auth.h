/*
 * detect_auth.h - sender authentication: SPF, DKIM, ARC and DMARC.
 *
 * One detector, detect_auth, runs the four checks in order because DMARC is
 * a verdict over the SPF and DKIM results of the same message: they share
 * their outcomes inside one scan and nothing between scans.  Each mechanism
 * has its own file (detect_spf.c, detect_dkim.c, detect_arc.c,
 * detect_dmarc.c) behind the small interface below, which the detector and
 * the tests use: a check fills an outcome struct, a report adds its symbols
 * and Authentication-Results method to the scan result.
 *
 * Every DNS query goes through the shared resolver (util/dns.h) by way of
 * struct auth_dns, which stops asking once the scan's deadline has passed
 * and remembers the first query that got no answer (for DNS_TEMPFAIL).
 */
#ifndef SEKISHO_DETECT_AUTH_H
#define SEKISHO_DETECT_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "detect/detect.h"
#include "util/dns.h"

extern const struct detector detect_auth;

/* Results as RFC 8601 names them. */
enum auth_result {
	AUTH_NONE = 0,
	AUTH_PASS,
	AUTH_FAIL,
	AUTH_SOFTFAIL,
	AUTH_NEUTRAL,
	AUTH_TEMPERROR,
	AUTH_PERMERROR,
};

const char *auth_result_name(enum auth_result res);

/* ---- DNS for one scan ---- */

struct auth_dns {
	struct dns *dns;
	int64_t deadline_ms;		/* monotonic; 0 = none */
	int tempfails;			/* queries that got no answer */
	char first_tempfail[300];	/* "TXT _dmarc.example.jp" */
};

enum dns_status auth_dns_txt(struct auth_dns *ad, const char *name, char ***out);
enum dns_status auth_dns_raw(struct auth_dns *ad, const char *name, int rrtype,
    unsigned char **pkt, size_t *len);

/*
 * The message as DKIM and ARC need it: every line ending CRLF (a bare LF
 * becomes CRLF), without a leading mbox "From " line.  malloc'ed.
 */
char *auth_crlf(const char *raw, size_t len, size_t *outlen);

/* Lower-case registrable domain (eTLD+1, libpsl) into out; the name itself
 * when it is a public suffix or has no registrable part. */
void auth_org_domain(const char *domain, char *out, size_t outlen);

/* ---- SPF (detect_spf.c) ---- */

struct spf_outcome {
	int ran;			/* 0: not evaluated (no client address or identity) */
	enum auth_result result;
	int helo;			/* the identity was the HELO name (null sender) */
	char domain[256];		/* domain whose policy was checked */
	char identity[320];		/* MAIL FROM address, or the HELO name */
	char ip[64];
	char detail[256];
};

/* ip: client address; helo and mail_from may be NULL; receiver: our name. */
void spf_check(struct auth_dns *ad, const char *ip, const char *helo,
    const char *mail_from, const char *receiver, struct spf_outcome *out);
void spf_report(const struct spf_outcome *o, struct scan_result *r);

/* ---- DKIM (detect_dkim.c) ---- */

#define DKIM_MAX_SIGS 8		/* signatures verified per message; more are ignored */

struct dkim_sig_outcome {
	enum auth_result result;	/* pass, fail, temperror, permerror */
	int key_missing;		/* permerror because no key is published */
	char domain[256];		/* d= */
	char selector[128];		/* s= */
	char detail[128];
};

struct dkim_outcome {
	int ran;
	size_t nsigs;
	size_t ignored;			/* signatures past DKIM_MAX_SIGS */
	struct dkim_sig_outcome sigs[DKIM_MAX_SIGS];
};

struct dkim_verifier;

struct dkim_verifier *dkim_verifier_new(char *err, size_t errlen);
void dkim_verifier_free(struct dkim_verifier *v);
/* msg: CRLF text (auth_crlf).  Thread-safe on a shared verifier. */
void dkim_check(struct dkim_verifier *v, struct auth_dns *ad, const char *msg,
    size_t len, struct dkim_outcome *out);
void dkim_report(const struct dkim_outcome *o, struct scan_result *r);

/* ---- ARC (detect_arc.c) ---- */

#define ARC_MAX_INSTANCES 50	/* RFC 8617 section 4.2.1 */

/* Fetch the TXT records of a key name; the same contract as dns_txt(). */
typedef enum dns_status (*arc_key_fn)(void *arg, const char *name, char ***txt);

struct arc_outcome {
	enum auth_result result;	/* none, pass, fail, temperror */
	int instances;			/* ARC sets found */
	char sealer[256];		/* d= of the newest ARC-Seal */
	char detail[160];
};

/* msg: CRLF text.  Pure apart from the key look-ups: safe to fuzz. */
void arc_verify(const char *msg, size_t len, arc_key_fn key, void *arg,
    struct arc_outcome *out);
void arc_report(const struct arc_outcome *o, struct scan_result *r);

/* ---- DMARC (detect_dmarc.c) ---- */

struct dmarc_outcome {
	int ran;
	enum auth_result result;	/* none, pass, fail, temperror, permerror */
	char from_domain[256];
	char policy_domain[256];	/* where the record was found */
	char policy;			/* 'n', 'q', 'r': the one that applies */
	char published;			/* p= of the record */
	int pct;
	int spf_aligned, dkim_aligned;
	char detail[256];
};

int dmarc_init(char *err, size_t errlen);
/* from_domain: the RFC5322.From domain (NULL: nothing to check). */
void dmarc_check(struct auth_dns *ad, const char *from_domain,
    const struct spf_outcome *spf, const struct dkim_outcome *dkim,
    struct dmarc_outcome *out);
void dmarc_report(const struct dmarc_outcome *o, struct scan_result *r);

#endif
