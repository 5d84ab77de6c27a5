/*
 * smtp_parse.h - the SMTP protocol parser: pure functions over bytes.
 *
 * Nothing here does I/O or keeps global state, so every function can be
 * table-tested and fuzzed on its own (tests/unit/test_smtp_parse.c,
 * tests/fuzz/fuzz_smtp_parse.c).  Limits are passed in by the caller; a
 * limit hit is an outcome the caller turns into a reply, never a crash.
 *
 * Error outcomes are returned as complete SMTP reply lines without CRLF,
 * e.g. "501 5.1.7 Bad sender address syntax"; they are static strings.
 */
#ifndef SEKISHO_SMTP_PARSE_H
#define SEKISHO_SMTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "store/envelope.h"

/* ---- command lines ---- */

enum smtp_line_status {
	SMTP_LINE_MORE,		/* no complete line yet */
	SMTP_LINE_OK,		/* *linelen bytes are a line, CRLF not counted */
	SMTP_LINE_TOO_LONG,	/* max bytes without CRLF: skip *consumed bytes */
	SMTP_LINE_BARE_LF,	/* a line ended in LF without CR (RFC 5321 2.3.8) */
};

/*
 * Find the first command line in buf[0..len).  max is the longest line
 * accepted, CRLF included.  On SMTP_LINE_OK and SMTP_LINE_BARE_LF, *linelen
 * is the line's length without its ending and *consumed the bytes to drop
 * (line plus ending).  On SMTP_LINE_TOO_LONG, *consumed is what to drop: the
 * caller answers "500 5.5.2 Line too long" once and keeps discarding until
 * the next CRLF.  A NUL byte in a line is an ordinary byte here; the command
 * parser rejects it.
 */
enum smtp_line_status smtp_line_find(const char *buf, size_t len, size_t max,
    size_t *linelen, size_t *consumed);

enum smtp_verb {
	SMTP_VERB_UNKNOWN = 0,
	SMTP_VERB_HELO, SMTP_VERB_EHLO, SMTP_VERB_MAIL, SMTP_VERB_RCPT,
	SMTP_VERB_DATA, SMTP_VERB_RSET, SMTP_VERB_NOOP, SMTP_VERB_QUIT,
	SMTP_VERB_HELP, SMTP_VERB_VRFY, SMTP_VERB_EXPN, SMTP_VERB_STARTTLS,
	SMTP_VERB_AUTH, SMTP_VERB_BDAT, SMTP_VERB_XFORWARD,
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;	/* after the verb and one space; "" when none */
};

/*
 * Split a command line (without CRLF, NUL-terminated; linelen bytes) into
 * verb and argument.  Verbs are case-insensitive.  "MAIL FROM:" and
 * "RCPT TO:" keep their "FROM:"/"TO:" in arg.  Returns NULL, or an error
 * reply: a NUL or other control byte in the line ("500 5.5.2 ..."), or
 * an unknown verb ("502 5.5.2 Error: command not recognized").
 */
const char *smtp_parse_command(const char *line, size_t linelen, struct smtp_cmd *cmd);

/* ---- MAIL and RCPT ---- */

struct smtp_mail_params {
	int64_t size;		/* SIZE=, or -1 when absent */
	enum body_type body;
	int smtputf8;
	enum dsn_ret ret;
	char *envid;		/* ENVID= (xtext decoded), malloc'ed, or NULL */
};

struct smtp_rcpt_params {
	int notify;		/* DSN_NOTIFY_* flags, 0 when absent */
	char *orcpt;		/* ORCPT= as given (addr-type;xtext), or NULL */
};

/*
 * arg is the text after "MAIL " ("FROM:<a@b> SIZE=10").  Accepts the RFC 5321
 * path syntax (source routes are dropped, quoted local parts and address
 * literals kept), "<>" for the null sender, and one space after the colon.
 * UTF-8 in the address only when SMTPUTF8 is among the parameters.  On
 * success returns NULL and sets *addr (malloc'ed, without <>, "" for the
 * null sender) and *p (free with smtp_mail_params_clear); on error returns
 * the reply and allocates nothing.  Unknown parameters: "555 5.5.4 ...".
 * addresses longer than 256 octets: "501 5.1.7 ...".
 */
const char *smtp_parse_mail(const char *arg, char **addr, struct smtp_mail_params *p);
/* arg after "RCPT ": "TO:<a@b> NOTIFY=FAILURE". "<>" is refused ("501 5.1.3"),
 * "<postmaster>" without a domain is accepted. utf8: MAIL had SMTPUTF8. */
const char *smtp_parse_rcpt(const char *arg, int utf8, char **addr,
    struct smtp_rcpt_params *p);
void smtp_mail_params_clear(struct smtp_mail_params *p);

/*
 * XFORWARD (Postfix's extension): a trusted MTA in front tells the original
 * client's address, name, HELO and protocol, so that the checks (SPF,
 * DNSBL, HELO sanity) see that client instead of the MTA.  Attributes come
 * as NAME=xtext pairs, possibly over several commands before MAIL; a value
 * of [UNAVAILABLE] or [TEMPUNAVAIL] leaves the attribute unset.  ADDR may
 * carry an "IPv6:" prefix and must be an IP address.
 */
struct smtp_xforward {
	char addr[64];
	char name[256];
	char helo[256];
	char proto[16];
};

/* Merge the attributes of one XFORWARD argument into *xf.  NULL, or an
 * error reply (501 5.5.4: unknown attribute, bad xtext or address, a value
 * too long, no attribute at all); on error *xf is unchanged. */
const char *smtp_parse_xforward(const char *arg, struct smtp_xforward *xf);
void smtp_rcpt_params_clear(struct smtp_rcpt_params *p);

/* ---- AUTH ---- */

/*
 * Decode an AUTH PLAIN response (base64 of authzid NUL authcid NUL passwd).
 * On success returns NULL and sets *user and *pass (malloc'ed; the caller
 * must wipe pass with sodium_memzero or explicit_bzero before free).  An
 * authzid other than empty or equal to authcid is refused.  "*" is the
 * client cancelling: "501 5.7.0 Authentication cancelled".
 */
const char *smtp_parse_auth_plain(const char *b64, char **user, char **pass);
/* One AUTH LOGIN step: base64 text to a malloc'ed string (no NUL inside). */
const char *smtp_parse_auth_login(const char *b64, char **out);

/* ---- DATA ---- */

/*
 * The DATA decoder turns the dot-stuffed, CRLF-delimited byte stream after
 * "354" into message bytes.  The end of DATA is exactly CRLF "." CRLF, where
 * the first CRLF ends the last line (the "." line right after the 354 also
 * ends an empty message).  Nothing else ends it: not LF "." LF, not
 * LF "." CRLF, not CR "." CR, not CRLF "." LF ... so no SMTP-smuggling
 * payload can turn one message into two.
 *
 * A bare LF or bare CR (one not part of CRLF) in the stream:
 *   strict mode: sets d->bare_newline; the caller rejects the whole message
 *     with "550 5.5.2 Message contains bare CR or LF" once DATA ends;
 *   normalize mode: written out as CRLF, but it never starts a line for the
 *     purpose of finding the end of DATA or removing dot-stuffing.
 * Output always has CRLF line endings; a leading ".." on a line becomes ".".
 * If the stream ends without a final CRLF before the dot (cannot happen: the
 * terminator needs it) nothing is added.
 */
struct smtp_data {
	int normalize;		/* input: 1 = normalize mode */
	int done;		/* set when the terminator has been consumed */
	int bare_newline;	/* a bare CR or LF was seen */
	int64_t bytes_out;	/* message bytes produced */
	int state;		/* private */
};

void smtp_data_init(struct smtp_data *d, int normalize);

typedef void (*smtp_data_out)(void *arg, const char *buf, size_t len);

/*
 * Consume up to len bytes.  Message bytes are passed to out() in chunks
 * (possibly many per call).  Returns the number of input bytes consumed:
 * all of them, or fewer when the terminator was found (d->done is then set
 * and the rest of buf is the next command, e.g. a pipelined QUIT).
 */
size_t smtp_data_feed(struct smtp_data *d, const char *buf, size_t len,
    smtp_data_out out, void *arg);

/* ---- helpers ---- */

/* Is this a syntactically valid domain or address literal for HELO/EHLO?
 * (Lenient: RFC 5321 allows any domain; rejects empty, spaces, controls.) */
int smtp_valid_helo(const char *s);

#endif
