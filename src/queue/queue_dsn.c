/*
 * queue_dsn.c - delivery status notifications (RFC 3464, RFC 3462).
 *
 * dsn_build() writes one multipart/report; report-type=delivery-status:
 *
 *   1. text/plain; charset=utf-8, base64: what happened, in English and in
 *      Japanese, with each failed recipient and the next hop's reply;
 *   2. message/delivery-status: Reporting-MTA, Arrival-Date, and per failed
 *      recipient Final-Recipient, Original-Recipient (with ORCPT), Action,
 *      Status (the reply's enhanced code, else 5.0.0), Remote-MTA and
 *      Diagnostic-Code;
 *   3. text/rfc822-headers with the original's header, or message/rfc822
 *      with the whole original for RET=FULL when it fits max_return.
 *
 * Every header of the DSN itself is 7-bit: the only value that can carry
 * other bytes is the sender's address, and a non-ASCII one goes into an
 * RFC 2047 encoded word (in the group form, the only place where an
 * address may be encoded).  The delivery-status fields are 7-bit too
 * (xtext for bytes outside printable ASCII).  Only the returned original
 * may hold 8-bit data, and then the parts say "8bit".
 *
 * Reads of the original are bounded: at most DSN_HEADER_MAX bytes of
 * header, and the whole message only when it is at most max_return bytes.
 * The caller frees the returned buffer; NULL means the original could not
 * be read.
 */
#include "queue/queue_dsn.h"
#include "util/buf.h"
#include "util/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#define DSN_HEADER_MAX	(256 * 1024)	/* header bytes returned at most */
#define DSN_REPLY_MAX	900		/* bytes of a reply quoted */
#define DSN_CHUNK	8192

static atomic_uint dsn_counter;

/* ---- small encoders ---- */

/* A body in base64, 76 characters a line, CRLF. */
static void
sb_base64_body(struct buf *b, const char *in, size_t n)
{
	for (size_t i = 0; i < n; i += 57) {
		buf_base64(b, in + i, n - i < 57 ? n - i : 57);
		buf_str(b, "\r\n");
	}
}

static int
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80 || (unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* RFC 2047 encoded words (B, UTF-8), never splitting a UTF-8 sequence. */
static void
sb_encoded_words(struct buf *b, const char *s)
{
	size_t len = strlen(s), i = 0;

	while (i < len) {
		size_t n = len - i < 45 ? len - i : 45;
		/* back off to the start of a character */
		while (n < len - i && n > 1 && ((unsigned char)s[i + n] & 0xc0) == 0x80)
			n--;
		if (i > 0)
			buf_str(b, "\r\n ");
		buf_str(b, "=?UTF-8?B?");
		buf_base64(b, s + i, n);
		buf_str(b, "?=");
		i += n;
	}
}

/* An address or id as 7-bit text: bytes outside printable ASCII as +HH
 * (the xtext escape of RFC 3461); everything else as is. */
static void
sb_addr7(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p >= '!' && *p <= '~')
			buf_add(b, p, 1);
		else {
			char e[3] = { '+', hex[*p >> 4], hex[*p & 15] };
			buf_add(b, e, 3);
		}
	}
}


/* Decode xtext; NULL when it is not valid (caller frees). */
static char *
xtext_decode(const char *s)
{
	char *out = xmalloc(strlen(s) + 1), *o = out;

	for (; *s; s++) {
		if (*s == '+') {
			int h = util_hexval((unsigned char)s[1]), l = h < 0 ? -1 : util_hexval((unsigned char)s[2]);
			if (h < 0 || l < 0 || (h == 0 && l == 0)) {
				free(out);
				return NULL;
			}
			*o++ = (char)(h * 16 + l);
			s += 2;
		} else
			*o++ = *s;
	}
	*o = '\0';
	return out;
}

/* Printable ASCII copy of a one-line value, cut at max bytes. */
static void
sb_text(struct buf *b, const char *s, size_t max)
{
	for (size_t n = 0; *s && n < max; s++, n++) {
		char ch = ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) ? '?' : *s;
		buf_add(b, &ch, 1);
	}
}

/*
 * "Name: value" where value may be long: folded at spaces so no line goes
 * much past 78 characters (RFC 5322 2.1.1).
 */
static void
sb_field_folded(struct buf *b, const char *name, const char *value)
{
	size_t col = strlen(name) + 1;
	int first = 1;

	buf_printf(b, "%s:", name);
	for (const char *p = value; *p; first = 0) {
		size_t w;

		p += strspn(p, " ");
		if (*p == '\0')
			break;
		w = strcspn(p, " ");
		if (!first && col + 1 + w > 76) {
			buf_str(b, "\r\n ");
			col = 1;
		} else {
			buf_str(b, " ");
			col++;
		}
		buf_add(b, p, w);
		col += w;
		p += w;
	}
	buf_str(b, "\r\n");
}

/* RFC 5322 date in UTC, independent of the locale. */
static void
format_date(int64_t ms, char *buf, size_t size)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "%s, %d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- the reply of the next hop ---- */

/* Length of an enhanced status code "c.ddd.ddd" at p (then space or end). */
static size_t
enhanced_len(const char *p)
{
	const char *q = p;

	if (*q != '2' && *q != '4' && *q != '5')
		return 0;
	for (int part = 0; part < 3; part++) {
		const char *start = q;
		while (*q >= '0' && *q <= '9' && q - start < 3)
			q++;
		if (q == start || (part == 0 && q - start != 1))
			return 0;
		if (part < 2) {
			if (*q != '.')
				return 0;
			q++;
		}
	}
	return (*q == ' ' || *q == '\0' || *q == ',' || *q == ';') ? (size_t)(q - p) : 0;
}

/*
 * The Status of a failed recipient: the first enhanced code that starts a
 * word of the reply ("host said: 550 5.1.1 ...", "4.4.1 connect to ...");
 * 5.0.0 when there is none (or it says success).
 */
static void
reply_status(const char *reply, char *buf, size_t size)
{
	const char *p = reply;

	util_strlcpy(buf, "5.0.0", size);
	if (reply == NULL)
		return;
	while (*p) {
		size_t n = enhanced_len(p);
		if (n > 0 && n < size) {
			if (*p != '2') {
				memcpy(buf, p, n);
				buf[n] = '\0';
			}
			return;
		}
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
}

/* ---- the original message ---- */

/*
 * Read the original's header (up to and without the empty line), at most
 * DSN_HEADER_MAX bytes (then cut after the last whole line).  NULL on a
 * read error.
 */
static char *
read_header(int fd, size_t *lenp)
{
	struct buf b = { 0 };
	char buf[DSN_CHUNK];
	off_t off = 0;

	buf_add(&b, "", 0);
	for (;;) {
		ssize_t n = pread(fd, buf, sizeof(buf), off);
		char *end;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(b.p);
			return NULL;
		}
		if (n == 0)
			break;
		size_t start = b.len >= 3 ? b.len - 3 : 0;
		buf_add(&b, buf, (size_t)n);
		off += n;
		/* an empty line: at the very start, or LF (CR)LF */
		if (b.p[0] == '\n' || (b.len > 1 && b.p[0] == '\r' && b.p[1] == '\n')) {
			b.len = 0;
			break;
		}
		end = NULL;
		for (size_t i = start; i + 1 < b.len; i++) {
			if (b.p[i] == '\n' && (b.p[i + 1] == '\n' ||
			    (b.p[i + 1] == '\r' && i + 2 < b.len && b.p[i + 2] == '\n'))) {
				end = b.p + i + 1;
				break;
			}
		}
		if (end != NULL) {
			b.len = (size_t)(end - b.p);
			break;
		}
		if (b.len >= DSN_HEADER_MAX)
			break;
	}
	if (b.len > DSN_HEADER_MAX) {
		b.len = DSN_HEADER_MAX;
		while (b.len > 0 && b.p[b.len - 1] != '\n')
			b.len--;
	}
	b.p[b.len] = '\0';
	*lenp = b.len;
	return b.p;
}

/* Read the whole original (size bytes expected, max bytes at most). */
static char *
read_all(int fd, size_t max, size_t *lenp)
{
	struct buf b = { 0 };
	char buf[DSN_CHUNK];
	off_t off = 0;

	buf_add(&b, "", 0);
	while (b.len < max) {
		size_t want = max - b.len < sizeof(buf) ? max - b.len : sizeof(buf);
		ssize_t n = pread(fd, buf, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(b.p);
			return NULL;
		}
		if (n == 0)
			break;
		buf_add(&b, buf, (size_t)n);
		off += n;
	}
	*lenp = b.len;
	return b.p;
}

static int
has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

/* ---- the DSN ---- */

static int
rcpt_wants_failure(const struct rcpt *r)
{
	if (r->notify & DSN_NOTIFY_NEVER)
		return 0;
	return r->notify == 0 || (r->notify & DSN_NOTIFY_FAILURE);
}

int
dsn_wanted(const struct envelope *env)
{
	if (env->mail_from == NULL || env->mail_from[0] == '\0')
		return 0;
	for (size_t i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].status == RCPT_FAILED && rcpt_wants_failure(&env->rcpt[i]))
			return 1;
	return 0;
}

/* Split "host[addr]:port said: 550 ..." into the host and the reply. */
static int
split_said(const char *reply, char *host, size_t hostlen, const char **smtp)
{
	const char *s = strstr(reply, " said: ");
	size_t n;

	if (s == NULL || s[7] < '2' || s[7] > '5')
		return 0;
	n = strcspn(reply, "[ ");
	if (n >= hostlen)
		n = hostlen - 1;
	memcpy(host, reply, n);
	host[n] = '\0';
	*smtp = s + 7;
	return 1;
}

static void
human_part(struct buf *b, const struct envelope *env, const char *mta)
{
	struct buf t = { 0 };

	buf_printf(&t, "This is the mail system at host %s.\r\n\r\n", mta);
	buf_str(&t,
	    "I'm sorry to have to inform you that your message could not\r\n"
	    "be delivered to one or more recipients. The details are below\r\n"
	    "and in the attached delivery report.\r\n\r\n");
	buf_str(&t,
	    "このメールは配送できませんでした。\r\n"
	    "お送りいただいたメッセージは、以下の宛先に配送できませんでした。\r\n"
	    "詳しくは、下記の内容と添付の配送状況通知をご覧ください。\r\n\r\n");
	for (size_t i = 0; i < env->nrcpt; i++) {
		const struct rcpt *r = &env->rcpt[i];
		if (r->status != RCPT_FAILED || !rcpt_wants_failure(r))
			continue;
		buf_str(&t, "<");
		buf_str(&t, r->addr);	/* UTF-8 is fine: this part is base64 */
		buf_str(&t, ">: ");
		sb_text(&t, r->reply ? r->reply : "delivery failed", DSN_REPLY_MAX);
		buf_str(&t, "\r\n\r\n");
	}
	buf_str(b, "Content-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	sb_base64_body(b, t.p, t.len);
	free(t.p);
}

static void
status_part(struct buf *b, const struct envelope *env, const char *mta)
{
	char date[64];

	buf_str(b, "Content-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n");
	buf_printf(b, "Reporting-MTA: dns; %s\r\n", mta);
	if (env->id[0]) {
		buf_str(b, "X-Sekisho-Queue-ID: ");
		sb_text(b, env->id, QUEUE_ID_SIZE);
		buf_str(b, "\r\n");
	}
	if (env->envid != NULL && *env->envid) {
		/* stored as given in ENVID=, which is xtext */
		char *plain = xtext_decode(env->envid);
		buf_str(b, "Original-Envelope-Id: ");
		sb_addr7(b, plain ? plain : env->envid);
		buf_str(b, "\r\n");
		free(plain);
	}
	if (env->received_ms > 0) {
		format_date(env->received_ms, date, sizeof(date));
		buf_printf(b, "Arrival-Date: %s\r\n", date);
	}
	for (size_t i = 0; i < env->nrcpt; i++) {
		const struct rcpt *r = &env->rcpt[i];
		const char *reply = r->reply ? r->reply : "delivery failed";
		const char *smtp;
		char status[16], host[256];
		struct buf d = { 0 };

		if (r->status != RCPT_FAILED || !rcpt_wants_failure(r))
			continue;
		buf_str(b, "\r\nFinal-Recipient: rfc822; ");
		sb_addr7(b, r->addr);
		buf_str(b, "\r\n");
		if (r->orcpt != NULL && *r->orcpt) {
			const char *semi = strchr(r->orcpt, ';');
			char *plain = xtext_decode(semi ? semi + 1 : r->orcpt);
			buf_str(b, "Original-Recipient: ");
			if (semi != NULL) {
				sb_text(b, r->orcpt, (size_t)(semi - r->orcpt));
				buf_str(b, "; ");
			} else
				buf_str(b, "rfc822; ");
			sb_addr7(b, plain ? plain : semi ? semi + 1 : r->orcpt);
			buf_str(b, "\r\n");
			free(plain);
		}
		reply_status(reply, status, sizeof(status));
		buf_printf(b, "Action: failed\r\nStatus: %s\r\n", status);
		if (split_said(reply, host, sizeof(host), &smtp)) {
			buf_str(b, "Remote-MTA: dns; ");
			sb_text(b, host, sizeof(host));
			buf_str(b, "\r\n");
			buf_str(&d, "smtp; ");
			sb_text(&d, smtp, DSN_REPLY_MAX);
		} else {
			/* our own words (a connection that failed, an expiry) */
			buf_str(&d, "X-Sekisho; ");
			sb_text(&d, reply, DSN_REPLY_MAX);
		}
		sb_field_folded(b, "Diagnostic-Code", d.p);
		free(d.p);
	}
}

char *
dsn_build(const struct envelope *env, int fd, const char *reporting_mta,
    int64_t now_ms, size_t max_return, size_t *len)
{
	struct buf b = { 0 };
	struct stat st;
	const char *sender = env->mail_from ? env->mail_from : "";
	char *orig = NULL, mta[256], date[64], boundary[80];
	size_t olen = 0, n = 0;
	int full = 0, eightbit;
	unsigned char rnd[8];

	/* our own name goes into headers: keep it a plain token */
	for (const char *p = reporting_mta ? reporting_mta : ""; *p && n + 1 < sizeof(mta); p++)
		if ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f && *p != '<' &&
		    *p != '>' && *p != '"' && *p != ';')
			mta[n++] = *p;
	mta[n] = '\0';
	if (n == 0)
		util_strlcpy(mta, "localhost", sizeof(mta));

	if (fstat(fd, &st) < 0)
		return NULL;
	if (env->ret == DSN_RET_FULL && st.st_size >= 0 &&
	    (uint64_t)st.st_size <= (uint64_t)max_return) {
		orig = read_all(fd, max_return, &olen);
		full = 1;
	} else
		orig = read_header(fd, &olen);
	if (orig == NULL)
		return NULL;
	eightbit = has_8bit(orig, olen);

	/* a boundary that cannot occur in the returned original */
	do {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
			unsigned v = atomic_fetch_add(&dsn_counter, 1);
			uint64_t x = (uint64_t)now_ms ^ ((uint64_t)getpid() << 32) ^ v;
			memcpy(rnd, &x, sizeof(rnd));
		}
		snprintf(boundary, sizeof(boundary),
		    "=_sekisho_%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2],
		    rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	} while (memmem(orig, olen, boundary, strlen(boundary)) != NULL);

	format_date(now_ms, date, sizeof(date));
	buf_printf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", mta);
	if (is_ascii(sender)) {
		buf_printf(&b, "To: <%s>\r\n", sender);
	} else {
		/* an SMTPUTF8 address cannot go into a 7-bit header as an
		 * address; the group form lets it be read, encoded */
		buf_str(&b, "To: ");
		sb_encoded_words(&b, sender);
		buf_str(&b, ":;\r\n");
	}
	buf_str(&b, "Subject: Undelivered Mail Returned to Sender\r\n");
	buf_printf(&b, "Date: %s\r\n", date);
	buf_printf(&b, "Message-ID: <%lld.%s.%u.dsn@%s>\r\n", (long long)now_ms,
	    env->id[0] ? env->id : "0", atomic_fetch_add(&dsn_counter, 1), mta);
	buf_str(&b, "Auto-Submitted: auto-replied\r\n");
	buf_str(&b, "MIME-Version: 1.0\r\n");
	buf_printf(&b, "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n", boundary);
	buf_printf(&b, "Content-Transfer-Encoding: %s\r\n", eightbit ? "8bit" : "7bit");
	buf_str(&b, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");

	buf_printf(&b, "--%s\r\n", boundary);
	human_part(&b, env, mta);
	buf_printf(&b, "\r\n--%s\r\n", boundary);
	status_part(&b, env, mta);
	buf_printf(&b, "\r\n--%s\r\n", boundary);
	if (full)
		buf_str(&b, "Content-Description: Undelivered Message\r\n"
		    "Content-Type: message/rfc822\r\n");
	else
		buf_str(&b, "Content-Description: Undelivered Message Headers\r\n"
		    "Content-Type: text/rfc822-headers\r\n");
	if (eightbit)
		buf_str(&b, "Content-Transfer-Encoding: 8bit\r\n");
	buf_str(&b, "\r\n");
	buf_add(&b, orig, olen);
	if (olen > 0 && orig[olen - 1] != '\n')
		buf_str(&b, "\r\n");
	buf_printf(&b, "\r\n--%s--\r\n", boundary);

	free(orig);
	*len = b.len;
	return b.p;
}
