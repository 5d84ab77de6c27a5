/*
 * message.h - the parsed message: the second part of the one struct that
 * flows through the pipeline (DESIGN.md).
 *
 * message_parse() turns the spooled bytes into headers with RFC 2047/2231
 * decoded, every text part decoded to UTF-8 from its charset (ISO-2022-JP,
 * Shift_JIS, CP932, EUC-JP, GB2312, Big5, KOI8-R, ... anything iconv knows;
 * invalid bytes become U+FFFD and are counted, never dropped silently), HTML
 * parts reduced to visible text plus links, forms, images and scripts (gumbo),
 * attachments with their names and declared types, the Received chain, and
 * every URL found in text or HTML, schemeless ones included, with its
 * registrable domain (libpsl).
 *
 * It never fails: any byte sequence gives a message, and what could not be
 * parsed or went past a limit is recorded in `limits` and `defects` so a
 * detector can turn it into a symbol.  The raw bytes are not copied: the
 * caller keeps them alive until message_free().
 */
#ifndef SEKISHO_MESSAGE_H
#define SEKISHO_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

struct message_limits {
	size_t max_depth;		/* MIME nesting (default 32) */
	size_t max_parts;		/* MIME parts in all (default 1000) */
	size_t max_headers;		/* header fields at the top level (default 1000) */
	size_t max_header_bytes;	/* size of the top-level header block (default 1 MiB) */
	size_t max_decoded;		/* decoded text kept, all parts together (default 16 MiB) */
	size_t max_urls;		/* URLs kept (default 2000) */
	size_t max_html_nodes;		/* HTML elements walked per part (default 200000) */
};

void message_limits_default(struct message_limits *lim);

/* Limits that were hit (bits of message.limits). */
#define MSG_LIMIT_DEPTH		0x01
#define MSG_LIMIT_PARTS		0x02
#define MSG_LIMIT_HEADERS	0x04
#define MSG_LIMIT_HEADER_BYTES	0x08
#define MSG_LIMIT_DECODED	0x10
#define MSG_LIMIT_URLS		0x20
#define MSG_LIMIT_HTML		0x40

/* Defects found while parsing (bits of message.defects). */
#define MSG_DEFECT_8BIT_HEADER	0x01	/* raw non-ASCII bytes in a header */
#define MSG_DEFECT_BAD_CHARSET	0x02	/* unknown charset label, decoded as a guess */
#define MSG_DEFECT_INVALID_TEXT	0x04	/* bytes invalid in their charset (U+FFFD) */
#define MSG_DEFECT_NO_HEADERS	0x08	/* no header block at all */
#define MSG_DEFECT_BAD_MIME	0x10	/* broken boundaries, missing end, bad encoding */

struct msg_header {
	char *name;		/* as written */
	char *raw;		/* unfolded value as received (bytes, NUL-free) */
	char *value;		/* RFC 2047 decoded, UTF-8 */
};

struct msg_addr {
	char *display;		/* decoded display name (UTF-8) or NULL */
	char *addr;		/* local@domain as written; NULL when unparsable */
	char *domain;		/* lower-cased domain part, or NULL */
};

enum url_source {
	URL_FROM_TEXT,		/* found in a text/plain part or HTML visible text */
	URL_FROM_HREF,		/* <a href> / <area href> */
	URL_FROM_FORM,		/* <form action> */
	URL_FROM_IMG,		/* <img src> and other resources */
	URL_FROM_SCRIPT,	/* <script src> */
};

struct msg_url {
	char *url;		/* as found, absolute ("www.x.jp/a" -> "http://www.x.jp/a") */
	char *scheme;		/* lower-case: http, https, mailto, data, javascript, ... */
	char *host;		/* lower-case host (punycode kept as written), or NULL */
	char *host_utf8;	/* IDNA-decoded host when it had xn-- labels, else NULL */
	char *domain;		/* registrable domain (libpsl) of host, or the IP */
	char *text;		/* visible anchor text for URL_FROM_HREF, else NULL */
	enum url_source source;
	int schemeless;		/* was written without a scheme */
	int host_is_ip;		/* IPv4/IPv6 literal or numeric (decimal/hex/octal) host */
	int part;		/* index into parts[] */
};

struct msg_form {
	char *action;		/* resolved action URL or "" */
	char *method;		/* lower-case, "get" when absent */
	int has_password;	/* an <input type=password> inside */
	int part;
};

struct msg_part {
	char *content_type;	/* lower-case "type/subtype" */
	char *charset;		/* declared charset (lower-case) or NULL */
	char *filename;		/* Content-Disposition filename / Content-Type name,
				 * RFC 2231 and 2047 decoded; NULL if none */
	char *disposition;	/* "attachment", "inline" or NULL */
	char *encoding;		/* Content-Transfer-Encoding, lower-case, or NULL */
	int depth;		/* nesting level, 0 = top */
	int is_attachment;	/* a file: has a filename, or disposition attachment,
				 * or a non-text, non-multipart type */
	int is_text;		/* text/plain or text/html shown to the reader */
	int is_html;
	size_t size;		/* decoded size in bytes */
	char *text;		/* UTF-8 text (visible text for HTML), NULL for files */
	char *html;		/* UTF-8 HTML source for text/html parts, else NULL */
};

struct msg_received {
	char *raw;		/* the whole field value, unfolded */
	char *from_name;	/* "from" name (HELO), or NULL */
	char *from_ip;		/* first IP literal in the from clause, or NULL */
	char *by;		/* "by" name, or NULL */
	int64_t when;		/* date after ';' in seconds since the epoch, or -1 */
};

struct message {
	struct msg_header *headers;
	size_t nheaders;
	struct msg_addr *from, *reply_to, *to, *cc, *sender;
	size_t nfrom, nreply_to, nto, ncc, nsender;
	char *subject;		/* decoded, or NULL */
	char *message_id;	/* without <>, or NULL */
	int64_t date;		/* Date: in seconds since the epoch, or -1 */

	char *text;		/* all text/plain parts, joined with "\n" (UTF-8) */
	char *html_text;	/* visible text of all text/html parts */

	struct msg_part *parts;	/* leaf parts in document order */
	size_t nparts;
	struct msg_url *urls;
	size_t nurls;
	struct msg_form *forms;
	size_t nforms;
	struct msg_received *received;	/* top first */
	size_t nreceived;

	unsigned limits;	/* MSG_LIMIT_* hit */
	unsigned defects;	/* MSG_DEFECT_* found */

	const char *raw;	/* the bytes parsed (not owned) */
	size_t rawlen;
	size_t body_offset;	/* where the body starts in raw */

	void *priv;		/* GMime objects, kept for message_part_bytes() */
};

/*
 * Parse len bytes.  lim may be NULL for the defaults.  Never NULL.  The
 * message refers to raw, which must outlive it.  Thread-safe (GMime is
 * initialised once, on first use).
 */
struct message *message_parse(const char *raw, size_t len, const struct message_limits *lim);
void message_free(struct message *msg);

/* First top-level header with this name (case-insensitive): decoded value or NULL. */
const char *message_header(const struct message *msg, const char *name);
/* How many top-level headers have this name. */
size_t message_header_count(const struct message *msg, const char *name);

/* Decoded bytes of parts[i] (for attachments); malloc'ed, caller frees;
 * at most max bytes (*truncated set when cut).  NULL on a decoding failure. */
unsigned char *message_part_bytes(const struct message *msg, size_t i, size_t max,
    size_t *len, int *truncated);

/* Registrable domain (eTLD+1, lower-case) of a host name; malloc'ed. For an
 * IP literal or a public suffix itself, a copy of the host. */
char *message_registrable_domain(const char *host);

/*
 * Changes the policy asks for; message_rewrite() applies them and returns
 * the new message bytes (malloc'ed, CRLF line endings), or NULL on failure.
 *  - remove: header names to drop everywhere at the top level (NULL-terminated);
 *    "Name:token" drops only Name fields whose value starts with token (the
 *    authserv-id of an Authentication-Results field)
 *  - prepend: complete header lines ("Name: value", no CRLF) to put on top, in order
 *  - subject_prefix: put before the subject unless already there (NULL: no change)
 *  - subject_unprefix: taken off the front of the decoded subject, with the
 *    blanks after it, when it is there (a delivered copy's tag, before a
 *    user's report is learned); the rest is written again, encoded when it
 *    is not ASCII.  Not together with subject_prefix (it wins).
 *  - text_banner / html_banner: put at the top of every text/plain and
 *    text/html body (UTF-8; each part keeps its charset where the banner can
 *    be expressed in it, otherwise the part is re-encoded as UTF-8).
 *  - drop_addrs: addresses (lower-case, NULL-terminated) taken out of the
 *    top-level To and Cc fields (wide_external_action = bcc); a To left
 *    empty becomes "undisclosed-recipients:;", a Cc left empty goes.
 * Parts that are not changed keep their bytes.
 */
struct message_rewrite {
	const char *const *remove;
	const char *const *prepend;
	const char *subject_prefix;
	const char *text_banner;
	const char *html_banner;
	const char *const *drop_addrs;
	const char *subject_unprefix;
};
char *message_rewrite(const struct message *msg, const struct message_rewrite *rw, size_t *len);

/*
 * The same, also removing attachments (attachment_action = strip): each
 * part of parts[] listed in st->parts is replaced by an inline UTF-8
 * text/plain part holding st->notice.  st->stripped gets how many were
 * replaced: fewer than st->n means the message could not be changed safely
 * (a parse limit was hit, the structure did not match) and must not be
 * delivered as it is.
 */
struct message_strip {
	const int *parts;
	size_t n;
	const char *notice;
	size_t stripped;	/* out */
};
char *message_rewrite_strip(const struct message *msg, const struct message_rewrite *rw,
    struct message_strip *st, size_t *len);

#endif
