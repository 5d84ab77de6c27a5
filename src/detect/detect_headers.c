/*
 * detect_headers.c - header sanity and what the parser could not do.
 *
 * Symbols:
 *   HDR_MISSING_FROM, HDR_MISSING_DATE, HDR_MISSING_MESSAGE_ID
 *   HDR_MULTIPLE_FROM       several From fields, or several addresses in From
 *   HDR_FROM_INVALID        a From address that does not parse
 *   HDR_DUPLICATE           Date, Subject, Message-ID, To or Cc more than once
 *   HDR_8BIT                raw 8-bit bytes in headers without SMTPUTF8
 *   HDR_DATE_FUTURE         Date more than a day ahead of now
 *   HDR_DATE_OLD            Date more than 30 days before now
 *   HDR_RECEIVED_FORGED     a Received field, below the one we add, that claims
 *                           our own host name, or is dated in the future
 *   MIME_LIMIT              a parser limit was hit (depth, parts, headers...):
 *                           the message was not fully analysed
 *   URL_LIMIT               more links than the parser keeps (2000): those
 *                           beyond were not checked, the rest of the message
 *                           was (a digest of weblogs lists thousands)
 *   MIME_MALFORMED          broken MIME structure or transfer encoding
 *   TEXT_INVALID_BYTES      text with bytes invalid in its charset
 *
 * Options: myhostname (for the forged-Received check).  No network.
 */
#include "detect/detect_headers.h"

#include <string.h>
#include <time.h>

static const struct symbol_def symbols[] = {
	{ "HDR_MISSING_FROM", 2.0, "no From header" },
	{ "HDR_MISSING_DATE", 1.0, "no Date header" },
	{ "HDR_MISSING_MESSAGE_ID", 1.0, "no Message-ID header" },
	{ "HDR_MULTIPLE_FROM", 2.0, "several From fields or addresses" },
	{ "HDR_FROM_INVALID", 2.0, "the From address does not parse" },
	{ "HDR_DUPLICATE", 1.0, "a header that must appear once appears more often" },
	{ "HDR_8BIT", 1.0, "raw 8-bit bytes in headers without SMTPUTF8" },
	{ "HDR_DATE_FUTURE", 1.5, "Date is more than a day in the future" },
	{ "HDR_DATE_OLD", 0.5, "Date is more than 30 days old" },
	{ "HDR_RECEIVED_FORGED", 3.0, "a Received header claims to be ours or is dated in the future" },
	{ "MIME_LIMIT", 2.0, "a parser limit was hit; the message was not fully analysed" },
	{ "URL_LIMIT", 1.0, "more links than the parser keeps (2000); those beyond were not checked" },
	{ "MIME_MALFORMED", 1.0, "broken MIME structure or transfer encoding" },
	{ "TEXT_INVALID_BYTES", 0.5, "text with bytes that are invalid in its charset" },
	{ NULL, 0, NULL },
};

static const char *
limit_names(unsigned limits, char *buf, size_t len)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ MSG_LIMIT_DEPTH, "MIME depth" }, { MSG_LIMIT_PARTS, "part count" },
		{ MSG_LIMIT_HEADERS, "header count" }, { MSG_LIMIT_HEADER_BYTES, "header size" },
		{ MSG_LIMIT_DECODED, "decoded size" }, { MSG_LIMIT_URLS, "URL count" },
		{ MSG_LIMIT_HTML, "HTML size" },
	};
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names) && o < len; i++)
		if (limits & names[i].bit)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", names[i].name);
	return buf;
}

static void
headers_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	const struct message *m = ctx->msg;
	static const char *const once[] = { "Date", "Subject", "Message-ID", "To", "Cc" };
	time_t now = time(NULL);
	char buf[256];

	(void)state;
	if (m->limits & ~MSG_LIMIT_URLS)
		result_add(r, "MIME_LIMIT", "limit reached: %s",
		    limit_names(m->limits & ~MSG_LIMIT_URLS, buf, sizeof(buf)));
	if (m->limits & MSG_LIMIT_URLS)
		result_add(r, "URL_LIMIT", "more than %zu links; those beyond were not checked",
		    m->nurls);
	if (m->defects & (MSG_DEFECT_BAD_MIME | MSG_DEFECT_NO_HEADERS))
		result_add(r, "MIME_MALFORMED", "%s", (m->defects & MSG_DEFECT_NO_HEADERS) ?
		    "no header block" : "broken MIME structure or encoding");
	if (m->defects & MSG_DEFECT_INVALID_TEXT)
		result_add(r, "TEXT_INVALID_BYTES", "text contains bytes invalid in its charset");
	if ((m->defects & MSG_DEFECT_8BIT_HEADER) && !ctx->env->smtputf8)
		result_add(r, "HDR_8BIT", "raw 8-bit header bytes without SMTPUTF8");

	if (message_header_count(m, "From") == 0)
		result_add(r, "HDR_MISSING_FROM", "no From header");
	else if (message_header_count(m, "From") > 1 || m->nfrom > 1)
		result_add(r, "HDR_MULTIPLE_FROM", "%zu From fields with %zu addresses",
		    message_header_count(m, "From"), m->nfrom);
	else if (m->nfrom == 0 || m->from[0].addr == NULL || m->from[0].domain == NULL)
		result_add(r, "HDR_FROM_INVALID", "From: %s", message_header(m, "From"));
	if (message_header_count(m, "Date") == 0)
		result_add(r, "HDR_MISSING_DATE", "no Date header");
	if (message_header_count(m, "Message-ID") == 0)
		result_add(r, "HDR_MISSING_MESSAGE_ID", "no Message-ID header");
	for (size_t i = 0; i < UTIL_ARRAY_LEN(once); i++)
		if (message_header_count(m, once[i]) > 1) {
			result_add(r, "HDR_DUPLICATE", "%s appears %zu times", once[i],
			    message_header_count(m, once[i]));
			break;
		}
	if (m->date > 0 && m->date > now + 86400)
		result_add(r, "HDR_DATE_FUTURE", "Date is %lld hours ahead",
		    (long long)((m->date - now) / 3600));
	else if (m->date > 0 && m->date < now - 30 * 86400)
		result_add(r, "HDR_DATE_OLD", "Date is %lld days old",
		    (long long)((now - m->date) / 86400));

	/* received[0] is ours when the message came through sekishod */
	for (size_t i = 1; i < m->nreceived; i++) {
		const struct msg_received *rc = &m->received[i];
		if (rc->by != NULL && util_strcasecmp(rc->by, ctx->cfg->myhostname) == 0 &&
		    strstr(rc->raw, "(sekisho)") != NULL) {
			result_add(r, "HDR_RECEIVED_FORGED",
			    "Received header %zu claims to come from this gateway (%s)", i + 1,
			    rc->by);
			break;
		}
		if (rc->when > now + 86400) {
			result_add(r, "HDR_RECEIVED_FORGED", "Received header %zu is dated %lld hours ahead",
			    i + 1, (long long)((rc->when - now) / 3600));
			break;
		}
	}
}

const struct detector detect_headers = {
	.name = "headers",
	.symbols = symbols,
	.scan = headers_scan,
};
