/*
 * smtp_parse.c - the SMTP protocol parser: command lines, MAIL and RCPT
 * paths and parameters, AUTH responses and the DATA stream.
 *
 * Every function is pure: bytes in, a result or a static reply string out,
 * no I/O and no globals, so the whole module runs unprivileged inside the
 * session process and under the fuzzer (tests/fuzz/fuzz_smtp_parse.c).
 * Strings returned through pointer arguments are malloc'ed and belong to
 * the caller; on an error nothing is allocated.  Allocation failure panics
 * (xmalloc).
 *
 * Limits, all on untrusted bytes:
 *   command line    the caller's max (CRLF included); bare LF is reported
 *   command         no control bytes (NUL, TAB, CR, DEL ...) at all
 *   address         256 octets without <> and without any source route;
 *                   the source route itself at most 256 octets; ASCII
 *                   domain labels at most 63 octets; address literals at
 *                   most 255 octets
 *   UTF-8           only with SMTPUTF8, and then only well-formed (no
 *                   overlongs, surrogates or code points past U+10FFFF)
 *   ENVID           100 octets of xtext, decoding to printable ASCII
 *   ORCPT           500 octets, addr-type ";" xtext
 *   AUTH response   12288 octets of base64 (RFC 4954 4)
 *
 * A few places accept more than the bare RFC 5321 grammar, on purpose:
 *   - a dot-string local part may contain ".." and end in "." (never start
 *     with one): the legacy Japanese mobile addresses (docomo, au) that
 *     still receive mail look like that, and Postfix accepts them too;
 *   - one space after "FROM:"/"TO:", several spaces between parameters and
 *     trailing spaces are tolerated: clients send them and they change
 *     nothing about what is parsed;
 *   - MAIL accepts the RFC 4954 AUTH= parameter (xtext) and ignores it, as
 *     RFC 4954 5 allows: a server that offers AUTH must not refuse it.
 * BODY=BINARYMIME is refused (555): it needs BDAT, and this parser's DATA
 * decoder is the only body path.
 *
 * The DATA decoder is the part that matters most; see the comment above
 * smtp_data_feed.
 */
#include "smtp/smtp_parse.h"
#include "util/base64.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define SMTP_ADDR_MAX		256	/* octets of an address, without <> */
#define SMTP_ROUTE_MAX		256	/* octets of an obsolete source route */
#define SMTP_LABEL_MAX		63	/* octets of an ASCII domain label */
#define SMTP_LITERAL_MAX	255	/* octets inside [ ] */
#define SMTP_ENVID_MAX		100	/* RFC 3461 4.4 */
#define SMTP_ORCPT_MAX		500	/* RFC 3461 4.2 */
#define SMTP_AUTH_LINE_MAX	12288	/* RFC 4954 4 */
#define SMTP_AUTH_ID_MAX	256	/* octets of an authentication identity */

/* Replies.  One place, so a reviewer can see every answer the parser gives. */
static const char ERR_CMD_CTRL[] = "500 5.5.2 Error: bad character in command";
static const char ERR_CMD_UNKNOWN[] = "502 5.5.2 Error: command not recognized";

static const char ERR_MAIL_SYNTAX[] = "501 5.5.4 Syntax: MAIL FROM:<address> [parameters]";
static const char ERR_MAIL_ADDR[] = "501 5.1.7 Bad sender address syntax";
static const char ERR_MAIL_LONG[] = "501 5.1.7 Sender address too long";
static const char ERR_RCPT_SYNTAX[] = "501 5.5.4 Syntax: RCPT TO:<address> [parameters]";
static const char ERR_RCPT_ADDR[] = "501 5.1.3 Bad recipient address syntax";
static const char ERR_RCPT_LONG[] = "501 5.1.3 Recipient address too long";
static const char ERR_RCPT_NULL[] = "501 5.1.3 Null recipient address not allowed";
static const char ERR_NEED_UTF8[] = "553 5.6.7 Must declare SMTPUTF8 to send unicode address";

static const char ERR_PARAM_SYNTAX[] = "501 5.5.4 Bad parameter syntax";
static const char ERR_PARAM_UNKNOWN[] = "555 5.5.4 Unsupported parameter";
static const char ERR_PARAM_DUP[] = "501 5.5.4 Duplicate parameter";
static const char ERR_PARAM_SIZE[] = "501 5.5.4 Bad SIZE parameter";
static const char ERR_PARAM_BODY[] = "501 5.5.4 Bad BODY parameter";
static const char ERR_PARAM_BODY_UNSUP[] = "555 5.5.4 Unsupported BODY type";
static const char ERR_PARAM_SMTPUTF8[] = "501 5.5.4 SMTPUTF8 takes no value";
static const char ERR_PARAM_RET[] = "501 5.5.4 Bad RET parameter";
static const char ERR_PARAM_ENVID[] = "501 5.5.4 Bad ENVID parameter";
static const char ERR_PARAM_AUTH[] = "501 5.5.4 Bad AUTH parameter";
static const char ERR_PARAM_NOTIFY[] = "501 5.5.4 Bad NOTIFY parameter";
static const char ERR_PARAM_ORCPT[] = "501 5.5.4 Bad ORCPT parameter";

static const char ERR_AUTH_CANCEL[] = "501 5.7.0 Authentication cancelled";
static const char ERR_AUTH_LONG[] = "500 5.5.6 Authentication exchange line is too long";
static const char ERR_AUTH_B64[] = "501 5.5.2 Cannot decode response";
static const char ERR_AUTH_FORMAT[] = "501 5.5.2 Invalid authentication response";
static const char ERR_AUTH_AUTHZ[] = "535 5.7.8 Authorization identity not permitted";

/* ---- character classes (ASCII only, independent of the locale) ---- */

static int
is_alpha(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_alnum(int c)
{
	return is_alpha(c) || is_digit(c);
}

/* RFC 5322 atext. */
static int
is_atext(int c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int
is_ctl(int c)
{
	return c < 0x20 || c == 0x7f;
}

/*
 * The length (2 to 4) of the well-formed UTF-8 sequence of a non-ASCII
 * character at s, or 0.  At most avail bytes are read; for a NUL-terminated
 * string any avail >= 4 is safe, because the NUL fails the continuation
 * byte test before anything past it is read.
 */
static size_t
utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] == 0xe0) {
		n = 3;
		lo = 0xa0;		/* no overlongs */
	} else if ((s[0] >= 0xe1 && s[0] <= 0xec) || s[0] == 0xee || s[0] == 0xef)
		n = 3;
	else if (s[0] == 0xed) {
		n = 3;
		hi = 0x9f;		/* no surrogates */
	} else if (s[0] == 0xf0) {
		n = 4;
		lo = 0x90;		/* no overlongs */
	} else if (s[0] >= 0xf1 && s[0] <= 0xf3)
		n = 4;
	else if (s[0] == 0xf4) {
		n = 4;
		hi = 0x8f;		/* nothing past U+10FFFF */
	} else
		return 0;
	if (avail < n || s[1] < lo || s[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return n;
}

/* Is buf[0..len) well-formed UTF-8 without control characters? */
static int
utf8_text_ok(const char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)buf;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x80) {
			if (is_ctl(p[i]))
				return 0;
			i++;
			continue;
		}
		if ((n = utf8_seq(p + i, len - i)) == 0)
			return 0;
		i += n;
	}
	return 1;
}

/* ---- command lines ---- */

enum smtp_line_status
smtp_line_find(const char *buf, size_t len, size_t max, size_t *linelen,
    size_t *consumed)
{
	const char *lf;
	size_t lim, i;

	*linelen = 0;
	*consumed = 0;
	if (len == 0)
		return SMTP_LINE_MORE;
	if (max < 2)
		max = 2;	/* room for CRLF, so TOO_LONG always consumes */
	lim = len < max ? len : max;
	if ((lf = memchr(buf, '\n', lim)) != NULL) {
		i = (size_t)(lf - buf);
		*consumed = i + 1;
		if (i > 0 && buf[i - 1] == '\r') {
			*linelen = i - 1;
			return SMTP_LINE_OK;
		}
		*linelen = i;
		return SMTP_LINE_BARE_LF;
	}
	if (len < max)
		return SMTP_LINE_MORE;
	/*
	 * Keep a CR at the cut: if its LF comes in the next read, the caller
	 * must still see that pair as the CRLF that ends the long line, not
	 * as a bare LF.
	 */
	*consumed = buf[max - 1] == '\r' ? max - 1 : max;
	return SMTP_LINE_TOO_LONG;
}

static const struct {
	const char *name;
	size_t len;
	enum smtp_verb verb;
} smtp_verbs[] = {
	{ "HELO", 4, SMTP_VERB_HELO },
	{ "EHLO", 4, SMTP_VERB_EHLO },
	{ "MAIL", 4, SMTP_VERB_MAIL },
	{ "RCPT", 4, SMTP_VERB_RCPT },
	{ "DATA", 4, SMTP_VERB_DATA },
	{ "RSET", 4, SMTP_VERB_RSET },
	{ "NOOP", 4, SMTP_VERB_NOOP },
	{ "QUIT", 4, SMTP_VERB_QUIT },
	{ "HELP", 4, SMTP_VERB_HELP },
	{ "VRFY", 4, SMTP_VERB_VRFY },
	{ "EXPN", 4, SMTP_VERB_EXPN },
	{ "STARTTLS", 8, SMTP_VERB_STARTTLS },
	{ "AUTH", 4, SMTP_VERB_AUTH },
	{ "BDAT", 4, SMTP_VERB_BDAT },
	{ "XFORWARD", 8, SMTP_VERB_XFORWARD },
};

const char *
smtp_parse_command(const char *line, size_t linelen, struct smtp_cmd *cmd)
{
	size_t i, vlen;

	cmd->verb = SMTP_VERB_UNKNOWN;
	cmd->arg = "";
	/* Commands are printable text; a NUL would also hide the rest of the
	 * line from every later C-string user. */
	for (i = 0; i < linelen; i++)
		if (is_ctl((unsigned char)line[i]))
			return ERR_CMD_CTRL;
	for (vlen = 0; vlen < linelen && line[vlen] != ' '; vlen++)
		continue;
	for (i = 0; i < UTIL_ARRAY_LEN(smtp_verbs); i++) {
		if (smtp_verbs[i].len == vlen &&
		    util_strncasecmp(line, smtp_verbs[i].name, vlen) == 0) {
			cmd->verb = smtp_verbs[i].verb;
			cmd->arg = vlen < linelen ? line + vlen + 1 : line + linelen;
			return NULL;
		}
	}
	return ERR_CMD_UNKNOWN;
}

/* ---- paths (RFC 5321 4.1.2, RFC 6531 3.3) ---- */

struct scan {
	const char *p;
	int has8;		/* non-ASCII seen: needs SMTPUTF8 */
};

static int
scan_utf8(struct scan *s)
{
	size_t n = utf8_seq((const unsigned char *)s->p, 4);

	if (n == 0)
		return 0;
	s->p += n;
	s->has8 = 1;
	return 1;
}

/* Dot-string, with the legacy ".." and trailing "." (file header). */
static int
scan_dot_string(struct scan *s)
{
	const char *start = s->p;
	unsigned char c;

	for (;;) {
		c = (unsigned char)*s->p;
		if (c >= 0x80) {
			if (!scan_utf8(s))
				return 0;
		} else if (is_atext(c) || (c == '.' && s->p != start))
			s->p++;
		else
			break;
	}
	return s->p != start;
}

static int
scan_quoted_string(struct scan *s)
{
	unsigned char c;

	if (*s->p != '"')
		return 0;
	s->p++;
	for (;;) {
		c = (unsigned char)*s->p;
		if (c == '"') {
			s->p++;
			return 1;
		}
		if (c == '\\') {
			c = (unsigned char)s->p[1];
			if (c < 32 || c > 126)
				return 0;
			s->p += 2;
		} else if (c >= 32 && c <= 126)
			s->p++;
		else if (c >= 0x80) {
			if (!scan_utf8(s))
				return 0;
		} else
			return 0;	/* controls, NUL */
	}
}

/* Domain: sub-domains of letters, digits and inner hyphens (or U-labels). */
static int
scan_domain(struct scan *s)
{
	for (;;) {
		const char *label = s->p;
		int hyphen = 0, has8 = 0;
		unsigned char c;

		for (;;) {
			c = (unsigned char)*s->p;
			if (is_alnum(c)) {
				hyphen = 0;
				s->p++;
			} else if (c == '-' && s->p != label) {
				hyphen = 1;
				s->p++;
			} else if (c >= 0x80) {
				if (!scan_utf8(s))
					return 0;
				has8 = 1;
				hyphen = 0;
			} else
				break;
		}
		if (s->p == label || hyphen)
			return 0;
		/* A U-label's octets say little about its A-label's length. */
		if (!has8 && (size_t)(s->p - label) > SMTP_LABEL_MAX)
			return 0;
		if (*s->p != '.')
			return 1;
		s->p++;
	}
}

static int
ipv4_literal_ok(const char *p, size_t len)
{
	size_t i = 0;
	int part;

	for (part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;

		if (part > 0) {
			if (i >= len || p[i] != '.')
				return 0;
			i++;
		}
		while (i < len && is_digit(p[i]) && digits < 3) {
			v = v * 10 + (unsigned)(p[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || v > 255)
			return 0;
	}
	return i == len;
}

/*
 * address-literal: "[" IPv4 / "IPv6:" IPv6 / tag ":" dcontent "]".  The IPv6
 * form is checked with inet_pton, which follows RFC 4291 text form, the
 * same the RFC 5321 grammar spells out.
 */
static int
scan_address_literal(struct scan *s)
{
	const char *start, *colon = NULL;
	size_t len, i;
	unsigned char c;

	if (*s->p != '[')
		return 0;
	start = ++s->p;
	while ((c = (unsigned char)*s->p) != ']') {
		if (!((c >= 33 && c <= 90) || (c >= 94 && c <= 126)))
			return 0;
		if (c == ':' && colon == NULL)
			colon = s->p;
		s->p++;
	}
	len = (size_t)(s->p - start);
	s->p++;
	if (len == 0 || len > SMTP_LITERAL_MAX)
		return 0;
	if (colon == NULL)
		return ipv4_literal_ok(start, len);
	if (colon - start == 4 && util_strncasecmp(start, "IPv6", 4) == 0) {
		char text[INET6_ADDRSTRLEN + 1];
		struct in6_addr in6;

		if (len - 5 >= sizeof(text))
			return 0;
		memcpy(text, start + 5, len - 5);
		text[len - 5] = '\0';
		return inet_pton(AF_INET6, text, &in6) == 1;
	}
	/* General-address-literal: Standardized-tag ":" 1*dcontent. */
	if (colon == start || colon == start + len - 1 || !is_alnum(colon[-1]))
		return 0;
	for (i = 0; start + i < colon; i++)
		if (!is_alnum(start[i]) && start[i] != '-')
			return 0;
	return 1;
}

/* Local-part "@" ( Domain / address-literal ); or a bare "postmaster". */
static int
scan_mailbox(struct scan *s, int allow_postmaster)
{
	const char *local = s->p;

	if (*s->p == '"') {
		if (!scan_quoted_string(s))
			return 0;
	} else if (!scan_dot_string(s))
		return 0;
	if (*s->p != '@')
		return allow_postmaster && s->p - local == 10 &&
		    util_strncasecmp(local, "postmaster", 10) == 0;
	s->p++;
	if (*s->p == '[')
		return scan_address_literal(s);
	return scan_domain(s);
}

enum path_status { PATH_OK, PATH_NULL, PATH_BAD, PATH_LONG };

/*
 * Path = "<" [ A-d-l ":" ] Mailbox ">", or "<>".  On PATH_OK *mbox and
 * *mboxlen give the mailbox inside (source route dropped) and s->p is past
 * the ">".
 */
static enum path_status
scan_path(struct scan *s, int allow_postmaster, const char **mbox, size_t *mboxlen)
{
	const char *start;

	*mbox = NULL;
	*mboxlen = 0;
	if (*s->p != '<')
		return PATH_BAD;
	s->p++;
	if (*s->p == '>') {
		s->p++;
		return PATH_NULL;
	}
	if (*s->p == '@') {
		const char *route = s->p;

		for (;;) {
			if (*s->p != '@')
				return PATH_BAD;
			s->p++;
			if (!scan_domain(s))
				return PATH_BAD;
			if ((size_t)(s->p - route) > SMTP_ROUTE_MAX)
				return PATH_LONG;
			if (*s->p == ':')
				break;
			if (*s->p != ',')
				return PATH_BAD;
			s->p++;
		}
		s->p++;
	}
	start = s->p;
	if (!scan_mailbox(s, allow_postmaster) || *s->p != '>')
		return PATH_BAD;
	*mbox = start;
	*mboxlen = (size_t)(s->p - start);
	s->p++;
	return *mboxlen > SMTP_ADDR_MAX ? PATH_LONG : PATH_OK;
}

/* ---- ESMTP parameters ---- */

struct param {
	const char *kw;
	size_t kwlen;
	const char *val;	/* NULL when there is no "=" */
	size_t vallen;
};

/*
 * Split off the next esmtp-param (RFC 5321 4.1.2) at *pp, skipping spaces
 * before it.  Returns 1 with *prm set, 0 at the end, -1 on bad syntax.
 * allow8: UTF-8 in values (RFC 6531 3.3), well-formed only.
 */
static int
param_next(const char **pp, int allow8, struct param *prm)
{
	const char *p = *pp;
	size_t n;

	while (*p == ' ')
		p++;
	if (*p == '\0') {
		*pp = p;
		return 0;
	}
	if (!is_alnum((unsigned char)*p))
		return -1;
	prm->kw = p;
	while (is_alnum((unsigned char)*p) || *p == '-')
		p++;
	prm->kwlen = (size_t)(p - prm->kw);
	prm->val = NULL;
	prm->vallen = 0;
	if (*p == '=') {
		prm->val = ++p;
		while (*p != ' ' && *p != '\0') {
			unsigned char c = (unsigned char)*p;

			if ((c >= 33 && c <= 60) || (c >= 62 && c <= 126))
				p++;
			else if (c >= 0x80 && allow8 &&
			    (n = utf8_seq((const unsigned char *)p, 4)) > 0)
				p += n;
			else
				return -1;
		}
		prm->vallen = (size_t)(p - prm->val);
		if (prm->vallen == 0)
			return -1;
	}
	if (*p != ' ' && *p != '\0')
		return -1;
	*pp = p;
	return 1;
}

static int
param_is(const struct param *prm, const char *name)
{
	return prm->kwlen == strlen(name) && util_strncasecmp(prm->kw, name, prm->kwlen) == 0;
}

static int
value_is(const char *v, size_t len, const char *word)
{
	return len == strlen(word) && util_strncasecmp(v, word, len) == 0;
}


/*
 * Check (and, when out is not NULL, decode) xtext (RFC 3461 4): printable
 * ASCII but "+" and "=", with "+" HEX HEX for anything else.  allow8 lets
 * well-formed UTF-8 through as itself (RFC 6533 unitext).  out must hold
 * len + 1 bytes; it is NUL-terminated and *outlen set.  Returns 0 or -1.
 */
static int
xtext_decode(const char *v, size_t len, int allow8, char *out, size_t *outlen)
{
	size_t i = 0, o = 0, n;

	while (i < len) {
		unsigned char c = (unsigned char)v[i];

		if (c == '+') {
			int hi, lo;

			if (len - i < 3 || (hi = util_hexval((unsigned char)v[i + 1])) < 0 ||
			    (lo = util_hexval((unsigned char)v[i + 2])) < 0)
				return -1;
			if (out != NULL)
				out[o] = (char)(hi << 4 | lo);
			o++;
			i += 3;
		} else if (c >= 33 && c <= 126 && c != '=') {
			if (out != NULL)
				out[o] = (char)c;
			o++;
			i++;
		} else if (c >= 0x80 && allow8 &&
		    (n = utf8_seq((const unsigned char *)v + i, len - i)) > 0) {
			if (out != NULL)
				memcpy(out + o, v + i, n);
			o += n;
			i += n;
		} else
			return -1;
	}
	if (out != NULL)
		out[o] = '\0';
	if (outlen != NULL)
		*outlen = o;
	return 0;
}

/* RFC 1870: 1*20DIGIT.  Values past INT64_MAX are clamped: they are over
 * any limit the caller can have, which is the answer it will give. */
static int
size_value(const char *v, size_t len, int64_t *size)
{
	int64_t n = 0;
	size_t i;

	if (len == 0 || len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		int d;

		if (!is_digit((unsigned char)v[i]))
			return -1;
		d = v[i] - '0';
		if (n > (INT64_MAX - d) / 10)
			n = INT64_MAX;
		else
			n = n * 10 + d;
	}
	*size = n;
	return 0;
}

/* ENVID: xtext of at most 100 octets, decoding to printable ASCII only, so
 * it can go into a DSN's Original-Envelope-Id header as it is. */
static const char *
envid_value(const char *v, size_t len, char **envid)
{
	char *buf;
	size_t n, i;

	if (len > SMTP_ENVID_MAX)
		return ERR_PARAM_ENVID;
	buf = xmalloc(len + 1);
	if (xtext_decode(v, len, 0, buf, &n) < 0) {
		free(buf);
		return ERR_PARAM_ENVID;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];

		if (c < 0x20 || c > 0x7e) {
			free(buf);
			return ERR_PARAM_ENVID;
		}
	}
	*envid = buf;
	return NULL;
}

/* RFC 3461 4.1: NEVER, or a list of SUCCESS, FAILURE, DELAY. */
static int
notify_value(const char *v, size_t len, int *notify)
{
	int flags = 0;
	size_t i = 0;

	for (;;) {
		size_t j = i;

		while (j < len && v[j] != ',')
			j++;
		if (value_is(v + i, j - i, "NEVER"))
			flags |= DSN_NOTIFY_NEVER;
		else if (value_is(v + i, j - i, "SUCCESS"))
			flags |= DSN_NOTIFY_SUCCESS;
		else if (value_is(v + i, j - i, "FAILURE"))
			flags |= DSN_NOTIFY_FAILURE;
		else if (value_is(v + i, j - i, "DELAY"))
			flags |= DSN_NOTIFY_DELAY;
		else
			return -1;
		if (j == len)
			break;
		i = j + 1;
	}
	if ((flags & DSN_NOTIFY_NEVER) && flags != DSN_NOTIFY_NEVER)
		return -1;
	*notify = flags;
	return 0;
}

/* RFC 3461 4.2: addr-type ";" xtext; kept as given. */
static int
orcpt_value(const char *v, size_t len, int utf8)
{
	size_t i;

	if (len > SMTP_ORCPT_MAX)
		return -1;
	for (i = 0; i < len && v[i] != ';'; i++)
		if (!is_atext((unsigned char)v[i]))
			return -1;
	if (i == 0 || i == len || i + 1 == len)
		return -1;
	return xtext_decode(v + i + 1, len - i - 1, utf8, NULL, NULL);
}

/* RFC 4954 5: AUTH=<> or AUTH=xtext mailbox. */
static int
auth_value(const char *v, size_t len)
{
	if (value_is(v, len, "<>"))
		return 0;
	return xtext_decode(v, len, 0, NULL, NULL);
}

static void
mail_params_init(struct smtp_mail_params *p)
{
	p->size = -1;
	p->body = BODY_7BIT;
	p->smtputf8 = 0;
	p->ret = DSN_RET_DEFAULT;
	p->envid = NULL;
}

void
smtp_mail_params_clear(struct smtp_mail_params *p)
{
	if (p == NULL)
		return;
	free(p->envid);
	mail_params_init(p);
}

void
smtp_rcpt_params_clear(struct smtp_rcpt_params *p)
{
	if (p == NULL)
		return;
	free(p->orcpt);
	p->orcpt = NULL;
	p->notify = 0;
}

enum {
	SEEN_SIZE = 1 << 0, SEEN_BODY = 1 << 1, SEEN_SMTPUTF8 = 1 << 2,
	SEEN_RET = 1 << 3, SEEN_ENVID = 1 << 4, SEEN_AUTH = 1 << 5,
	SEEN_NOTIFY = 1 << 6, SEEN_ORCPT = 1 << 7,
};

/* One MAIL parameter into *p.  Returns NULL or the reply. */
static const char *
mail_param(const struct param *prm, struct smtp_mail_params *p, unsigned *seen)
{
	unsigned bit;

	if (param_is(prm, "SIZE"))
		bit = SEEN_SIZE;
	else if (param_is(prm, "BODY"))
		bit = SEEN_BODY;
	else if (param_is(prm, "SMTPUTF8"))
		bit = SEEN_SMTPUTF8;
	else if (param_is(prm, "RET"))
		bit = SEEN_RET;
	else if (param_is(prm, "ENVID"))
		bit = SEEN_ENVID;
	else if (param_is(prm, "AUTH"))
		bit = SEEN_AUTH;
	else
		return ERR_PARAM_UNKNOWN;
	if (*seen & bit)
		return ERR_PARAM_DUP;
	*seen |= bit;

	switch (bit) {
	case SEEN_SIZE:
		if (prm->val == NULL || size_value(prm->val, prm->vallen, &p->size) < 0)
			return ERR_PARAM_SIZE;
		return NULL;
	case SEEN_BODY:
		if (prm->val != NULL && value_is(prm->val, prm->vallen, "7BIT"))
			p->body = BODY_7BIT;
		else if (prm->val != NULL && value_is(prm->val, prm->vallen, "8BITMIME"))
			p->body = BODY_8BITMIME;
		else if (prm->val != NULL && value_is(prm->val, prm->vallen, "BINARYMIME"))
			return ERR_PARAM_BODY_UNSUP;	/* needs BDAT, not offered */
		else
			return ERR_PARAM_BODY;
		return NULL;
	case SEEN_SMTPUTF8:
		if (prm->val != NULL)
			return ERR_PARAM_SMTPUTF8;
		p->smtputf8 = 1;
		return NULL;
	case SEEN_RET:
		if (prm->val != NULL && value_is(prm->val, prm->vallen, "FULL"))
			p->ret = DSN_RET_FULL;
		else if (prm->val != NULL && value_is(prm->val, prm->vallen, "HDRS"))
			p->ret = DSN_RET_HDRS;
		else
			return ERR_PARAM_RET;
		return NULL;
	case SEEN_ENVID:
		if (prm->val == NULL)
			return ERR_PARAM_ENVID;
		return envid_value(prm->val, prm->vallen, &p->envid);
	default: /* SEEN_AUTH: checked, then ignored (file header) */
		if (prm->val == NULL || auth_value(prm->val, prm->vallen) < 0)
			return ERR_PARAM_AUTH;
		return NULL;
	}
}

const char *
smtp_parse_mail(const char *arg, char **addr, struct smtp_mail_params *p)
{
	struct smtp_mail_params mp;
	struct param prm;
	struct scan s;
	const char *mbox, *err = NULL;
	size_t mboxlen;
	unsigned seen = 0;
	int r;

	*addr = NULL;
	mail_params_init(p);
	mail_params_init(&mp);
	if (util_strncasecmp(arg, "FROM:", 5) != 0)
		return ERR_MAIL_SYNTAX;
	s.p = arg + 5;
	s.has8 = 0;
	if (*s.p == ' ')
		s.p++;
	switch (scan_path(&s, 0, &mbox, &mboxlen)) {
	case PATH_BAD:
		return ERR_MAIL_ADDR;
	case PATH_LONG:
		return ERR_MAIL_LONG;
	case PATH_NULL:
		mbox = "";
		mboxlen = 0;
		break;
	case PATH_OK:
		break;
	}
	if (*s.p != '\0' && *s.p != ' ')
		return ERR_MAIL_SYNTAX;
	while ((r = param_next(&s.p, 0, &prm)) > 0)
		if ((err = mail_param(&prm, &mp, &seen)) != NULL)
			break;
	if (err == NULL && r < 0)
		err = ERR_PARAM_SYNTAX;
	/* Parameters come after the path, so this check comes last. */
	if (err == NULL && s.has8 && !mp.smtputf8)
		err = ERR_NEED_UTF8;
	if (err != NULL) {
		smtp_mail_params_clear(&mp);
		return err;
	}
	*addr = xstrndup(mbox, mboxlen);
	*p = mp;
	return NULL;
}

const char *
smtp_parse_rcpt(const char *arg, int utf8, char **addr, struct smtp_rcpt_params *p)
{
	struct smtp_rcpt_params rp = { 0, NULL };
	struct param prm;
	struct scan s;
	const char *mbox, *err = NULL;
	size_t mboxlen;
	unsigned seen = 0;
	int r;

	*addr = NULL;
	p->notify = 0;
	p->orcpt = NULL;
	if (util_strncasecmp(arg, "TO:", 3) != 0)
		return ERR_RCPT_SYNTAX;
	s.p = arg + 3;
	s.has8 = 0;
	if (*s.p == ' ')
		s.p++;
	switch (scan_path(&s, 1, &mbox, &mboxlen)) {
	case PATH_BAD:
		return ERR_RCPT_ADDR;
	case PATH_LONG:
		return ERR_RCPT_LONG;
	case PATH_NULL:
		return ERR_RCPT_NULL;
	case PATH_OK:
		break;
	}
	if (*s.p != '\0' && *s.p != ' ')
		return ERR_RCPT_SYNTAX;
	while ((r = param_next(&s.p, utf8, &prm)) > 0) {
		if (param_is(&prm, "NOTIFY")) {
			if (seen & SEEN_NOTIFY)
				err = ERR_PARAM_DUP;
			else if (prm.val == NULL ||
			    notify_value(prm.val, prm.vallen, &rp.notify) < 0)
				err = ERR_PARAM_NOTIFY;
			seen |= SEEN_NOTIFY;
		} else if (param_is(&prm, "ORCPT")) {
			if (seen & SEEN_ORCPT)
				err = ERR_PARAM_DUP;
			else if (prm.val == NULL || orcpt_value(prm.val, prm.vallen, utf8) < 0)
				err = ERR_PARAM_ORCPT;
			else
				rp.orcpt = xstrndup(prm.val, prm.vallen);
			seen |= SEEN_ORCPT;
		} else
			err = ERR_PARAM_UNKNOWN;
		if (err != NULL)
			break;
	}
	if (err == NULL && r < 0)
		err = ERR_PARAM_SYNTAX;
	if (err == NULL && s.has8 && !utf8)
		err = ERR_NEED_UTF8;
	if (err != NULL) {
		smtp_rcpt_params_clear(&rp);
		return err;
	}
	*addr = xstrndup(mbox, mboxlen);
	*p = rp;
	return NULL;
}

/* ---- AUTH (RFC 4954, RFC 4616) ---- */

/*
 * Decode one base64 client response into a fresh buffer that the caller
 * must wipe and free.  "*" is the client cancelling the exchange.
 */
static const char *
auth_decode(const char *b64, unsigned char **buf, size_t *bufsize, size_t *len)
{
	size_t inlen = strlen(b64);
	long n;

	*buf = NULL;
	*bufsize = 0;
	*len = 0;
	if (strcmp(b64, "*") == 0)
		return ERR_AUTH_CANCEL;
	if (inlen > SMTP_AUTH_LINE_MAX)
		return ERR_AUTH_LONG;
	*bufsize = 3 * (inlen / 4) + 3;
	*buf = xmalloc(*bufsize);
	if ((n = base64_decode(b64, inlen, *buf)) < 0)
		return ERR_AUTH_B64;
	*len = (size_t)n;
	return NULL;
}

static void
auth_wipe(unsigned char *buf, size_t bufsize)
{
	if (buf != NULL) {
		explicit_bzero(buf, bufsize);
		free(buf);
	}
}

/*
 * message = [authzid] NUL authcid NUL passwd.  The identity goes into logs
 * and queries, so it must be UTF-8 text without controls (RFC 4616 asks
 * UTF-8 of both); the password is handed on as bytes, since refusing an
 * old client's Latin-1 password here would only lock its user out.
 */
const char *
smtp_parse_auth_plain(const char *b64, char **user, char **pass)
{
	unsigned char *buf;
	const char *err, *authzid, *authcid, *passwd, *nul;
	size_t bufsize, len, zlen, clen, plen;

	*user = NULL;
	*pass = NULL;
	if ((err = auth_decode(b64, &buf, &bufsize, &len)) != NULL)
		goto out;
	err = ERR_AUTH_FORMAT;
	authzid = (const char *)buf;
	if ((nul = memchr(authzid, '\0', len)) == NULL)
		goto out;
	zlen = (size_t)(nul - authzid);
	authcid = nul + 1;
	if ((nul = memchr(authcid, '\0', len - zlen - 1)) == NULL)
		goto out;
	clen = (size_t)(nul - authcid);
	passwd = nul + 1;
	plen = len - zlen - clen - 2;
	if (clen == 0 || clen > SMTP_AUTH_ID_MAX || plen == 0 ||
	    memchr(passwd, '\0', plen) != NULL || !utf8_text_ok(authcid, clen))
		goto out;
	/* Acting as someone else is not a right we give anyone. */
	if (zlen != 0 && (zlen != clen || memcmp(authzid, authcid, clen) != 0)) {
		err = ERR_AUTH_AUTHZ;
		goto out;
	}
	*user = xstrndup(authcid, clen);
	*pass = xstrndup(passwd, plen);
	err = NULL;
out:
	auth_wipe(buf, bufsize);
	return err;
}

const char *
smtp_parse_auth_login(const char *b64, char **out)
{
	unsigned char *buf;
	const char *err;
	size_t bufsize, len;

	*out = NULL;
	if ((err = auth_decode(b64, &buf, &bufsize, &len)) != NULL)
		goto out;
	if (memchr(buf, '\0', len) != NULL) {
		err = ERR_AUTH_FORMAT;
		goto out;
	}
	*out = xstrndup((const char *)buf, len);
out:
	auth_wipe(buf, bufsize);
	return err;
}

/* ---- DATA ---- */

/*
 * Decoder states.  "Line start" means the start of the data or just after
 * a CR LF pair from the input: nothing else.  A bare CR or LF is written
 * out as CRLF but leaves the decoder in the middle of a line, so a "."
 * after it is an ordinary byte.  That one rule is what closes every SMTP
 * smuggling variant: the only way to reach DATA_DOT_CR from the start of a
 * line is "." CR, and only an LF there ends the data.
 */
enum {
	DATA_BOL = 0,		/* at line start (a zeroed struct is fresh) */
	DATA_DOT,		/* line start, then "." (held back) */
	DATA_DOT_CR,		/* line start, ".", CR (both held back) */
	DATA_TEXT,		/* inside a line */
	DATA_CR,		/* inside a line, CR held back */
};

void
smtp_data_init(struct smtp_data *d, int normalize)
{
	memset(d, 0, sizeof(*d));
	d->normalize = normalize;
	d->state = DATA_BOL;
}

/* Output is gathered so that short pieces cost one callback, not many. */
struct data_emit {
	struct smtp_data *d;
	smtp_data_out out;
	void *arg;
	size_t n;
	char buf[512];
};

static void
data_flush(struct data_emit *e)
{
	if (e->n > 0 && e->out != NULL)
		e->out(e->arg, e->buf, e->n);
	e->n = 0;
}

static void
data_emit(struct data_emit *e, const char *p, size_t n)
{
	e->d->bytes_out += (int64_t)n;
	if (e->n + n > sizeof(e->buf)) {
		data_flush(e);
		if (n >= sizeof(e->buf)) {
			if (e->out != NULL)
				e->out(e->arg, p, n);
			return;
		}
	}
	memcpy(e->buf + e->n, p, n);
	e->n += n;
}

/* A bare CR or LF: flag it, and write the line ending it stands for. */
static void
data_bare(struct data_emit *e)
{
	e->d->bare_newline = 1;
	data_emit(e, "\r\n", 2);
}

/*
 * The decoder keeps at most two input bytes pending in its state (".",
 * CR), so input may be split anywhere.  Strict and normalize mode produce
 * the same bytes and stop at the same place: they differ only in what the
 * caller does with bare_newline, so no setting can move the end of DATA.
 * out may be NULL (bytes are still counted).
 */
size_t
smtp_data_feed(struct smtp_data *d, const char *buf, size_t len,
    smtp_data_out out, void *arg)
{
	struct data_emit e;
	size_t i = 0, j;
	char c;

	if (d->done)
		return 0;
	e.d = d;
	e.out = out;
	e.arg = arg;
	e.n = 0;
	while (i < len) {
		c = buf[i];
		switch (d->state) {
		case DATA_BOL:
			if (c == '.') {
				d->state = DATA_DOT;
				i++;
			} else
				d->state = DATA_TEXT;
			break;
		case DATA_DOT:
			if (c == '\r') {
				d->state = DATA_DOT_CR;
				i++;
			} else
				d->state = DATA_TEXT;	/* dot-stuffing: drop it */
			break;
		case DATA_DOT_CR:
			if (c == '\n') {
				i++;
				d->done = 1;
				goto out;
			}
			/* "." and a bare CR: the dot was stuffing, the CR is bare */
			data_bare(&e);
			d->state = DATA_TEXT;
			break;
		case DATA_CR:
			if (c == '\n') {
				data_emit(&e, "\r\n", 2);
				d->state = DATA_BOL;
				i++;
			} else {
				data_bare(&e);
				d->state = DATA_TEXT;
			}
			break;
		case DATA_TEXT:
			if (c == '\r') {
				d->state = DATA_CR;
				i++;
			} else if (c == '\n') {
				data_bare(&e);
				i++;
			} else {
				for (j = i + 1; j < len && buf[j] != '\r' && buf[j] != '\n'; j++)
					continue;
				data_emit(&e, buf + i, j - i);
				i = j;
			}
			break;
		default:
			panic("smtp_data_feed: bad state %d", d->state);
		}
	}
out:
	data_flush(&e);
	return i;
}

/* ---- helpers ---- */

int
smtp_valid_helo(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	if (s == NULL || *s == '\0')
		return 0;
	while (p[i] != '\0') {
		if (p[i] <= ' ' || p[i] == 0x7f)
			return 0;
		if (p[i] >= 0x80) {
			if ((n = utf8_seq(p + i, 4)) == 0)
				return 0;
			i += n;
		} else
			i++;
		if (i > 255)
			return 0;
	}
	return 1;
}

/* ---- XFORWARD ---- */

#define ERR_XFORWARD "501 5.5.4 Syntax: XFORWARD attribute=value..."

const char *
smtp_parse_xforward(const char *arg, struct smtp_xforward *xf)
{
	struct smtp_xforward out = *xf;
	const char *p = arg, *eq, *end;
	char val[256];
	size_t n;
	int count = 0;

	while (*p != '\0') {
		char *dst = NULL;
		size_t room = 0;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (end = p; *end != '\0' && *end != ' '; end++)
			continue;
		if ((eq = memchr(p, '=', (size_t)(end - p))) == NULL || eq == p)
			return ERR_XFORWARD;
		n = (size_t)(eq - p);
		if (n == 4 && util_strncasecmp(p, "ADDR", 4) == 0)
			dst = out.addr, room = sizeof(out.addr);
		else if (n == 4 && util_strncasecmp(p, "NAME", 4) == 0)
			dst = out.name, room = sizeof(out.name);
		else if (n == 4 && util_strncasecmp(p, "HELO", 4) == 0)
			dst = out.helo, room = sizeof(out.helo);
		else if (n == 5 && util_strncasecmp(p, "PROTO", 5) == 0)
			dst = out.proto, room = sizeof(out.proto);
		else if (!((n == 4 && util_strncasecmp(p, "PORT", 4) == 0) ||
		    (n == 5 && util_strncasecmp(p, "IDENT", 5) == 0) ||
		    (n == 6 && util_strncasecmp(p, "SOURCE", 6) == 0) ||
		    (n == 5 && util_strncasecmp(p, "LOGIN", 5) == 0) ||
		    (n == 8 && (util_strncasecmp(p, "DESTADDR", 8) == 0 ||
		    util_strncasecmp(p, "DESTPORT", 8) == 0))))
			return "501 5.5.4 Error: unknown XFORWARD attribute";
		n = (size_t)(end - eq - 1);
		if (n >= sizeof(val) || xtext_decode(eq + 1, n, 0, val, &n) < 0)
			return ERR_XFORWARD;
		p = end;
		count++;
		if (dst == NULL || strcmp(val, "[UNAVAILABLE]") == 0 ||
		    strcmp(val, "[TEMPUNAVAIL]") == 0)
			continue;
		if (n >= room)
			return ERR_XFORWARD;
		if (dst == out.addr) {
			const char *a = val;
			unsigned char bin[16];

			if (util_strncasecmp(a, "IPv6:", 5) == 0)
				a += 5;
			if (inet_pton(AF_INET, a, bin) != 1 && inet_pton(AF_INET6, a, bin) != 1)
				return "501 5.5.4 Error: XFORWARD ADDR is not an IP address";
			util_strlcpy(out.addr, a, sizeof(out.addr));
		} else {
			memcpy(dst, val, n + 1);
		}
	}
	if (count == 0)
		return ERR_XFORWARD;
	*xf = out;
	return NULL;
}
