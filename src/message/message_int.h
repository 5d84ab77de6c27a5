/*
 * message_int.h - internals shared by the message_*.c files; not for
 * other modules.
 *
 * Everything here works on bytes the sender controls.  Functions never fail
 * on bad input: they return the best reading they can and say what was wrong
 * through flag bits.  Memory comes from xmalloc (which panics on exhaustion);
 * every returned string is malloc'ed and the caller frees it.
 */
#ifndef SEKISHO_MESSAGE_INT_H
#define SEKISHO_MESSAGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "message/message.h"

/* ---- growable byte buffer (message_charset.c) ---- */

struct mbuf {
	char *p;
	size_t len, cap;
};

void mbuf_grow(struct mbuf *b, size_t extra);
void mbuf_add(struct mbuf *b, const void *p, size_t n);
void mbuf_addc(struct mbuf *b, char c);
void mbuf_adds(struct mbuf *b, const char *s);
/* NUL-terminate and hand over the bytes (never NULL); b is empty after. */
char *mbuf_take(struct mbuf *b);
void mbuf_free(struct mbuf *b);

/* ---- charsets (message_charset.c) ---- */

#define MCS_INVALID	0x01	/* bytes invalid in the charset became U+FFFD */
#define MCS_GUESSED	0x02	/* label unknown, missing or wrong: decoded by guess */

/*
 * Decode len bytes written in charset label (as declared; NULL or "" when
 * none) to UTF-8.  Returns a NUL-terminated string, *outlen its length.
 * NUL bytes in the input become spaces, so the result is a C string.
 * *flags gets MCS_* bits or'ed in.
 */
char *mcs_to_utf8(const char *label, const char *in, size_t len, size_t *outlen,
    unsigned *flags);
/* 1 when the bytes are well-formed UTF-8 (shortest forms, no surrogates). */
int mcs_utf8_valid(const char *s, size_t len);
/*
 * Encode UTF-8 text into the charset a part declares, strictly: NULL when
 * the label is unknown, the charset is not ASCII-compatible or a character
 * has no mapping.  With html set, characters without a mapping become
 * numeric character references instead (then NULL only for an unusable
 * charset).  Stateful charsets (ISO-2022-JP) end in their initial state.
 */
char *mcs_from_utf8(const char *label, const char *utf8, size_t len, int html,
    size_t *outlen);
/* The iconv name used to encode into label, or NULL if unusable. */
const char *mcs_encoder_name(const char *label);

/* ---- headers (message_header.c) ---- */

/* One field of a header block, as offsets into the scanned buffer. */
struct mfield {
	size_t start;		/* first byte of the name */
	size_t name_len;
	size_t value;		/* first byte after the colon */
	size_t end;		/* after the last line ending of the field */
};

enum mhdr_kind {
	MHDR_FIELD,		/* a header field */
	MHDR_JUNK,		/* a line that is not a field (skipped) */
	MHDR_END,		/* blank line: body starts at f->end */
	MHDR_EOF,		/* the block ran to the end of the buffer */
};

struct mhdr_scan {
	const char *buf;
	size_t len, off;
};

void mhdr_scan_init(struct mhdr_scan *s, const char *buf, size_t len, size_t off);
enum mhdr_kind mhdr_next(struct mhdr_scan *s, struct mfield *f);

/* Unfold a field value: drop line breaks, NULs, and trim the ends. */
char *mhdr_unfold(const char *p, size_t len);
/*
 * RFC 2047 decoding of an unfolded value, loosely (encoded words inside
 * words and quotes, adjacent words of one charset joined before decoding so
 * split characters and ISO-2022-JP state survive).  Raw 8-bit text is read
 * as UTF-8 when it is valid, else guessed.  Control characters become
 * spaces.  *flags gets MCS_* bits.
 */
char *mhdr_decode(const char *raw, size_t len, unsigned *flags);
/*
 * Rewrite an address-list value so GMime's address parser sees no encoded
 * words: each run of encoded words becomes a quoted string of its decoded
 * UTF-8.  The result goes to internet_address_list_parse().
 */
char *mhdr_addr_predecode(const char *raw, unsigned *flags);
/*
 * Value of parameter name in a structured value such as a Content-Type or
 * Content-Disposition field (unfolded): RFC 2231 (charset'lang'%XX and
 * continuations) and RFC 2047 inside quotes decoded to UTF-8.  NULL if absent.
 */
char *mhdr_param(const char *value, const char *name, unsigned *flags);

/* Received: parsing into r (fields malloc'ed). */
void mhdr_received(const char *raw, struct msg_received *r);
/* Date parsing (RFC 5322, lenient); -1 when unparsable. */
int64_t mhdr_date(const char *raw);
/* Encode UTF-8 text for an unstructured field (RFC 2047 B words when not
 * plain ASCII); never longer than needed, no folding. */
char *mhdr_encode_text(const char *utf8);

/* ---- URLs (message_url.c) ---- */

struct murls;

struct murls *murls_new(size_t max, unsigned *limits);
void murls_free(struct murls *u);
/* Hand over the collected URLs (caller owns the array and strings). */
struct msg_url *murls_take(struct murls *u, size_t *n);
/* Add one URL (as written; base may be NULL).  text is anchor text or NULL. */
void murls_add(struct murls *u, const char *url, size_t len, const char *base,
    enum url_source src, const char *text, int part);
/* Find URLs in UTF-8 text (schemes, www., known-suffix hosts, mailto:). */
void murls_scan_text(struct murls *u, const char *text, size_t len, int part);
/* Resolve href against base (RFC 3986 5.2); malloc'ed. */
char *murl_resolve(const char *base, const char *href);
/* Parse an IPv4 host the way browsers do (1-4 parts, hex, octal).  1 and
 * the address in *ip (host order) when it is one. */
int murl_ipv4(const char *host, uint32_t *ip);

/* ---- HTML (message_html.c) ---- */

struct mhtml_out {
	struct mbuf text;	/* visible text */
	struct msg_form *forms;
	size_t nforms;
};

/*
 * Parse UTF-8 HTML with gumbo: visible text into out->text, links, forms,
 * images and scripts into urls (and out->forms).  Walks at most max_nodes
 * elements; sets MSG_LIMIT_HTML in *limits when the document was cut.
 */
void mhtml_parse(const char *html, size_t len, size_t max_nodes, int part,
    struct murls *urls, struct mhtml_out *out, unsigned *limits);

/* ---- MIME structure bound (message_prescan.c) ---- */

/*
 * How many bytes of buf GMime may parse so that the part tree stays within
 * roughly max_depth levels and max_parts entities.  Returns len when the
 * whole buffer is fine; otherwise the cut, with MSG_LIMIT_* set in *limits.
 */
size_t mprescan(const char *buf, size_t len, size_t max_depth, size_t max_parts,
    void *gmime_options, unsigned *limits);

/* ---- GMime glue (message.c) ---- */

/* Initialise GMime and the PSL context once (thread-safe). */
void message_lib_init(void);
/* The public suffix list context (after message_lib_init). */
const void *message_psl(void);

/* priv of struct message */
struct msg_priv {
	void *stream;		/* GMimeStream over gbuf */
	int has_mime;		/* GMime built a message from gbuf */
	const char *gbuf;	/* the bytes GMime parsed (owned by stream) */
	size_t glen;
	size_t gcut;		/* GMime saw gbuf[0..gcut) */
	const char *work;	/* raw, or a copy with CR line ends made LF */
	char *work_owned;
	size_t hdr_start;	/* first header field in work (after an mbox line) */
	size_t hdr_end;		/* blank line (or end) of the header block in work */
	int has_blank;		/* a blank line ended the header block */
	int gmime_cut;		/* GMime did not see the whole message */
	size_t body_in_gbuf;	/* where the body starts in gbuf */
	void *arr;		/* GByteArray behind gbuf (a reference) */
	struct mpart_src {
		size_t start, end;	/* encoded content in gbuf */
		char *copy;		/* or a copy of it (malloc'ed) */
		size_t copylen;
		int encoding;		/* GMimeContentEncoding */
		int in_message;		/* inside an attached message/rfc822 */
	} *src;
};

#endif
