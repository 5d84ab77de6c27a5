/*
 * detect_report.c - machine reports are a class of their own.
 *
 * Every domain that publishes a DMARC record with rua= (or a TLS-RPT
 * record) receives, each day, aggregate reports from the large receivers:
 * a short text, and an archive named "google.com!example.org!1549929600!
 * 1550015999.zip".  Their words are few and their bodies are archives, so
 * the learning classifier has little to read, and a site learns few of them:
 * on the trained phishing bench two such reports were tagged as spam on the
 * classifier's word alone.  A report is recognised by its shape (RFC 7489
 * section 7.2.1.1 and RFC 8460 section 5.3: the file name, the archive type, a
 * Subject naming the reported domain), and the shape is all it is given
 * credit for:
 *
 *   MACHINE_REPORT  a DMARC aggregate or TLS report, and no check before
 *                   this one found anything scoring a point or more
 *                   (attachments, phishing links, authentication
 *                   failures): -4, as much as the classifier's strongest
 *                   ham, so that the classifier alone (at most +8) cannot
 *                   tag it and any real fault still can.
 *
 * The shape is easy to copy; what a copy gains is bounded: the archive is
 * still opened and scanned by the attachment checks (which run before, and
 * whose findings withhold the credit), links may only go to the two domains
 * the file name gives, and no other file may ride along.  No options, no
 * network.
 */
#include "detect/detect_report.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_MAX_TEXT		4096	/* bytes of visible text a report may have */
#define REPORT_MAX_SPAN		(32 * 86400)	/* begin..end of one report */
#define REPORT_FAULT		1.0	/* a symbol this strong withholds the credit */

static const struct symbol_def symbols[] = {
	{ "MACHINE_REPORT", -4.0,
	    "a DMARC aggregate or SMTP TLS report with nothing else wrong" },
	{ NULL, 0, NULL },
};

/* Archive and document types reports are sent as. */
static int
report_type(const char *ct)
{
	static const char *const types[] = {
		"application/zip", "application/x-zip-compressed", "application/gzip",
		"application/x-gzip", "application/xml", "text/xml",
		"application/tlsrpt+gzip", "application/tlsrpt+json",
		"application/json", "application/octet-stream",
	};

	for (size_t i = 0; ct != NULL && i < UTIL_ARRAY_LEN(types); i++)
		if (strcmp(ct, types[i]) == 0)
			return 1;
	return 0;
}

/* A host name: letters, digits, '-', '_', '.', with a dot inside. */
static int
domain_like(const char *s, size_t len)
{
	int dot = 0;

	if (len < 3 || len > 253 || s[0] == '.' || s[len - 1] == '.')
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.')
			dot = 1;
		else if (!isalnum(c) && c != '-' && c != '_')
			return 0;
	}
	return dot;
}

/* A Unix time of 9 to 11 digits. */
static int
epoch(const char *s, size_t len, long long *out)
{
	if (len < 9 || len > 11)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]))
			return 0;
	*out = strtoll(s, NULL, 10);
	return 1;
}

/*
 * "submitter!domain!begin!end[!id].ext": the kind the extension says, or
 * REPORT_NONE.
 */
static enum report_kind
report_name(const char *name, char *submitter, char *domain, size_t size)
{
	static const struct { const char *ext; enum report_kind kind; } exts[] = {
		/* the longer suffix first */
		{ ".json.gz", REPORT_TLSRPT }, { ".json", REPORT_TLSRPT },
		{ ".xml.gz", REPORT_DMARC }, { ".xml.zip", REPORT_DMARC },
		{ ".xml", REPORT_DMARC }, { ".zip", REPORT_DMARC }, { ".gz", REPORT_DMARC },
	};
	const char *f[6];
	size_t flen[6], nf = 0, len = strlen(name), stem = 0;
	enum report_kind kind = REPORT_NONE;
	long long begin, end;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(exts) && kind == REPORT_NONE; i++) {
		size_t el = strlen(exts[i].ext);

		if (len > el && util_strcasecmp(name + len - el, exts[i].ext) == 0) {
			kind = exts[i].kind;
			stem = len - el;
		}
	}
	if (kind == REPORT_NONE)
		return REPORT_NONE;
	for (size_t i = 0, start = 0; i <= stem; i++)
		if (i == stem || name[i] == '!') {
			if (nf == UTIL_ARRAY_LEN(f))
				return REPORT_NONE;
			f[nf] = name + start;
			flen[nf++] = i - start;
			start = i + 1;
		}
	if (nf < 4 || nf > 5)
		return REPORT_NONE;
	if (!domain_like(f[0], flen[0]) || !domain_like(f[1], flen[1]) ||
	    !epoch(f[2], flen[2], &begin) || !epoch(f[3], flen[3], &end) ||
	    end <= begin || end - begin > REPORT_MAX_SPAN)
		return REPORT_NONE;
	if (nf == 5 && (flen[4] == 0 || flen[4] > 128))
		return REPORT_NONE;
	if (flen[0] >= size || flen[1] >= size)
		return REPORT_NONE;
	memcpy(submitter, f[0], flen[0]);
	submitter[flen[0]] = '\0';
	memcpy(domain, f[1], flen[1]);
	domain[flen[1]] = '\0';
	return kind;
}

/* Does haystack contain needle, ASCII case ignored? */
static int
contains_nocase(const char *haystack, const char *needle)
{
	size_t nl = strlen(needle);

	for (const char *p = haystack; p != NULL && *p != '\0'; p++)
		if (util_strncasecmp(p, needle, nl) == 0)
			return 1;
	return 0;
}

/* Is a link's registrable domain that of one of the report's two names? */
static int
url_allowed(const struct msg_url *u, const char *submitter, const char *domain)
{
	char *a, *b;
	int ok;

	if (u->domain == NULL)
		return 0;
	a = message_registrable_domain(submitter);
	b = message_registrable_domain(domain);
	ok = (a != NULL && util_strcasecmp(u->domain, a) == 0) ||
	    (b != NULL && util_strcasecmp(u->domain, b) == 0);
	free(a);
	free(b);
	return ok;
}

enum report_kind
report_recognize(const struct message *m, char *submitter, char *domain, size_t size)
{
	char sbuf[256], dbuf[256];
	enum report_kind kind = REPORT_NONE;
	size_t files = 0, text = 0;

	if (submitter == NULL || domain == NULL) {
		submitter = sbuf;
		domain = dbuf;
		size = sizeof(sbuf);
	}
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];

		if (p->is_text && p->text != NULL)
			text += strlen(p->text);
		if (!p->is_attachment)
			continue;
		if (++files > 1 || p->filename == NULL || !report_type(p->content_type))
			return REPORT_NONE;
		kind = report_name(p->filename, submitter, domain, size);
	}
	if (kind == REPORT_NONE || text > REPORT_MAX_TEXT)
		return REPORT_NONE;
	if (m->subject == NULL || !contains_nocase(m->subject, "report") ||
	    !contains_nocase(m->subject, domain))
		return REPORT_NONE;
	for (size_t i = 0; i < m->nurls; i++)
		if (!url_allowed(&m->urls[i], submitter, domain))
			return REPORT_NONE;
	return kind;
}

static void
report_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	char submitter[256], domain[256];
	enum report_kind kind;

	(void)state;
	if (ctx->outbound)
		return;
	kind = report_recognize(ctx->msg, submitter, domain, sizeof(submitter));
	if (kind == REPORT_NONE)
		return;
	for (size_t i = 0; i < r->nsyms; i++)
		if (r->syms[i].score >= REPORT_FAULT)
			return;
	result_add(r, "MACHINE_REPORT", "%s report on %s from %s",
	    kind == REPORT_TLSRPT ? "SMTP TLS" : "DMARC aggregate", domain, submitter);
}

const struct detector detect_report = {
	.name = "report",
	.symbols = symbols,
	.scan = report_scan,
};
