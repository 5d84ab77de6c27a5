/*
 * message_rewrite.c - the changes policy asks for, applied to the message
 * bytes: header fields removed and prepended, a subject prefix, banners at
 * the top of the text/plain and text/html bodies.
 *
 * Header changes are byte edits of the received header block: every field
 * that is not removed or changed keeps its bytes (folding included), and
 * without banners the body is copied as received.  Prepended values and a
 * non-ASCII prefix are written as RFC 2047 UTF-8 words; a prefix is put
 * before the existing (possibly encoded) subject without decoding it, so an
 * ISO-2022-JP subject stays ISO-2022-JP.
 *
 * Banners go through GMime: a fresh parse of the message (the struct is
 * only read, so this is thread-safe), the shown text parts of the top-level
 * message changed (not those inside attached messages), the body written
 * back.  A text/plain part keeps its charset and transfer encoding when the
 * banner can be written in that charset (ISO-2022-JP included); otherwise
 * the part becomes UTF-8 with quoted-printable or base64.  An HTML banner
 * goes right after the <body> tag (after </head>, or at the top, when there
 * is none) and characters the part's charset lacks become numeric character
 * references, so an HTML part never changes charset (its <meta charset>
 * stays true).  Parts that are not changed are written as GMime read them.
 * When the message was cut by a parse limit, banners are skipped rather
 * than deliver a truncated body.
 *
 * Stripping attachments goes through the same fresh parse: the leaf parts
 * are counted in the order message_parse() lists them (multiparts in
 * order, attached messages entered), and each listed one is swapped for an
 * inline UTF-8 text/plain notice (after the banners, so the notice gets
 * none).  When a parse limit was hit the numbering cannot be trusted and
 * nothing is stripped; the caller learns it from *stripped.
 *
 * Moving addresses to Bcc (drop_addrs) rewrites only the To and Cc fields
 * that hold one of them: the field is parsed as an address list, the
 * addresses (also inside groups) are taken out and the rest is written
 * back folded, display names RFC 2047 encoded; other fields keep their
 * bytes.  The envelope is not the rewriter's: every recipient still gets
 * the mail.
 *
 * The result always has CRLF line endings.  NULL only when msg is NULL.
 */
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "message/message.h"
#include "message/message_int.h"
#include "util/util.h"

/*
 * A remove entry "Name:token" drops only the fields called Name whose value
 * starts with token (then white space, ';' or the end): how
 * Authentication-Results fields that claim our authserv-id are dropped while
 * those of other hosts stay (RFC 8601 section 5).
 */
static int
listed_value(const char *const *names, const char *name, size_t len,
    const char *value, size_t vlen)
{
	if (names == NULL)
		return 0;
	for (size_t i = 0; names[i] != NULL; i++) {
		const char *colon = strchr(names[i], ':');
		size_t tlen, o = 0;

		if (colon == NULL || colon[1] == '\0' || (size_t)(colon - names[i]) != len ||
		    g_ascii_strncasecmp(names[i], name, len) != 0)
			continue;
		tlen = strlen(colon + 1);
		while (o < vlen && (value[o] == ' ' || value[o] == '\t' || value[o] == '\r' ||
		    value[o] == '\n'))
			o++;
		if (vlen - o >= tlen && g_ascii_strncasecmp(value + o, colon + 1, tlen) == 0 &&
		    (o + tlen == vlen || value[o + tlen] == ';' || value[o + tlen] == ' ' ||
		    value[o + tlen] == '\t' || value[o + tlen] == '\r' || value[o + tlen] == '\n'))
			return 1;
	}
	return 0;
}

static int
listed(const char *const *names, const char *name, size_t len)
{
	if (names == NULL)
		return 0;
	for (size_t i = 0; names[i] != NULL; i++) {
		const char *n = names[i];
		size_t l;

		while (*n == ' ' || *n == '\t')
			n++;
		l = strlen(n);
		while (l > 0 && (n[l - 1] == ' ' || n[l - 1] == '\t' || n[l - 1] == ':'))
			l--;
		if (l == len && g_ascii_strncasecmp(n, name, len) == 0)
			return 1;
	}
	return 0;
}

/* "Name: value" from policy, made safe: one line, value encoded if needed. */
static void
add_prepend(struct mbuf *out, const char *line)
{
	char *s = xstrdup(line);
	char *colon, *enc;

	for (char *p = s; *p != '\0'; p++)
		if (*p == '\r' || *p == '\n' || *p == '\0')
			*p = ' ';
	colon = strchr(s, ':');
	if (colon == NULL) {
		free(s);
		return;
	}
	*colon = '\0';
	{
		char *v = colon + 1;

		while (*v == ' ' || *v == '\t')
			v++;
		enc = mhdr_encode_text(v);
	}
	mbuf_adds(out, s);
	mbuf_adds(out, ": ");
	mbuf_adds(out, enc);
	mbuf_adds(out, "\r\n");
	free(enc);
	free(s);
}

static const char *
skip_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

/* The prefix without blanks at its ends (malloc'ed). */
static char *
prefix_trim(const char *prefix)
{
	char *p = xstrdup(prefix), *t = util_trim(p);
	char *r = xstrdup(t);

	free(p);
	return r;
}

static int
subject_has_prefix(const char *decoded, const char *prefix)
{
	while (*decoded == ' ' || *decoded == '\t')
		decoded++;
	return strncmp(decoded, prefix, strlen(prefix)) == 0;
}

/* Write a Subject field of what follows prefix (and blanks) in decoded. */
static void
put_subject_rest(struct mbuf *out, const char *name, size_t name_len, const char *decoded,
    const char *prefix)
{
	const char *rest;
	int ascii = 1;
	char *enc;

	while (*decoded == ' ' || *decoded == '\t')
		decoded++;
	rest = decoded + strlen(prefix);
	while (*rest == ' ' || *rest == '\t')
		rest++;
	for (const char *p = rest; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80 || *p == '\r' || *p == '\n')
			ascii = 0;
	mbuf_add(out, name, name_len);
	mbuf_adds(out, ": ");
	enc = ascii && strstr(rest, "=?") == NULL ? xstrdup(rest) : mhdr_encode_text(rest);
	mbuf_adds(out, enc);
	free(enc);
	mbuf_adds(out, "\r\n");
}

/* Write a Subject field with the prefix put in front of its raw value. */
static void
add_subject(struct mbuf *out, const char *w, const struct mfield *f, const char *prefix)
{
	const char *v = skip_ws(w + f->value, w + f->end);
	const char *e = w + f->end;
	int ascii = 1, enc_next;
	char *enc;

	for (const char *p = prefix; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			ascii = 0;
	/* an encoded word right after ours would swallow the blank between them */
	enc_next = e - v >= 2 && v[0] == '=' && v[1] == '?';
	mbuf_add(out, w + f->start, f->name_len);
	mbuf_adds(out, ": ");
	if (ascii && strstr(prefix, "=?") == NULL)
		enc = xstrdup(prefix);
	else {
		char *t = xasprintf("%s%s", prefix, enc_next ? " " : "");

		enc = mhdr_encode_text(t);
		free(t);
	}
	mbuf_adds(out, enc);
	free(enc);
	{
		/* the old value, or nothing when it was empty */
		const char *ve = e;

		while (ve > v && (ve[-1] == '\r' || ve[-1] == '\n' || ve[-1] == ' ' || ve[-1] == '\t'))
			ve--;
		if (ve > v) {
			mbuf_addc(out, ' ');
			mbuf_add(out, v, (size_t)(e - v));
		}
	}
	if (out->len == 0 || out->p[out->len - 1] != '\n')
		mbuf_adds(out, "\r\n");
}

/* ---- banners ---- */

static char *
decoded_content(GMimePart *p, size_t *len)
{
	GMimeDataWrapper *w = g_mime_part_get_content(p);
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *a;
	char *r;

	if (w != NULL)
		g_mime_data_wrapper_write_to_stream(w, mem);
	a = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
	r = xmalloc(a->len + 1);
	if (a->len > 0)
		memcpy(r, a->data, a->len);
	r[a->len] = '\0';
	*len = a->len;
	g_object_unref(mem);
	return r;
}

static void
set_content(GMimePart *p, const char *bytes, size_t len, int utf8)
{
	GMimeStream *st = g_mime_stream_mem_new_with_buffer(bytes, len);
	GMimeDataWrapper *w = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
	GMimeContentEncoding cur = g_mime_part_get_content_encoding(p);
	int eight = 0;

	for (size_t i = 0; i < len; i++)
		if ((unsigned char)bytes[i] >= 0x80) {
			eight = 1;
			break;
		}
	g_mime_part_set_content(p, w);
	g_object_unref(w);
	g_object_unref(st);
	if (utf8)
		g_mime_object_set_content_type_parameter((GMimeObject *)p, "charset", "utf-8");
	if (utf8 || (eight && (cur == GMIME_CONTENT_ENCODING_DEFAULT || cur == GMIME_CONTENT_ENCODING_7BIT)))
		g_mime_part_set_content_encoding(p,
		    g_mime_part_get_best_content_encoding(p, GMIME_ENCODING_CONSTRAINT_7BIT));
}

/* The banner with the part's line ending, ending in one. */
static char *
banner_lines(const char *banner, const char *nl)
{
	struct mbuf b = { NULL, 0, 0 };

	for (const char *p = banner; *p != '\0'; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\n')
			mbuf_adds(&b, nl);
		else
			mbuf_addc(&b, *p);
	}
	if (b.len < strlen(nl) || memcmp(b.p + b.len - strlen(nl), nl, strlen(nl)) != 0)
		mbuf_adds(&b, nl);
	return mbuf_take(&b);
}

static void
banner_text(GMimePart *p, const char *banner)
{
	const char *label = g_mime_object_get_content_type_parameter((GMimeObject *)p, "charset");
	size_t len, el;
	char *orig = decoded_content(p, &len);
	const char *nl = strstr(orig, "\r\n") != NULL ? "\r\n" : "\n";
	char *lines = banner_lines(banner, nl);
	char *enc = mcs_from_utf8(label, lines, strlen(lines), 0, &el);
	struct mbuf b = { NULL, 0, 0 };

	if (enc != NULL) {
		mbuf_add(&b, enc, el);
		mbuf_add(&b, orig, len);
		set_content(p, b.p, b.len, 0);
	} else {
		unsigned f = 0;
		size_t ul;
		char *u = mcs_to_utf8(label, orig, len, &ul, &f);

		mbuf_adds(&b, lines);
		mbuf_add(&b, u, ul);
		set_content(p, b.p, b.len, 1);
		free(u);
	}
	mbuf_free(&b);
	free(enc);
	free(lines);
	free(orig);
}

/* Where an HTML banner goes: after <body ...>, else after </head>, else 0. */
static size_t
html_insert_at(const char *s, size_t len)
{
	for (size_t i = 0; i + 5 <= len; i++) {
		if (s[i] != '<')
			continue;
		if (g_ascii_strncasecmp(s + i, "<body", 5) == 0 &&
		    (i + 5 == len || s[i + 5] == '>' || s[i + 5] == ' ' || s[i + 5] == '\t' ||
		    s[i + 5] == '\r' || s[i + 5] == '\n' || s[i + 5] == '/')) {
			char q = 0;

			for (size_t j = i + 5; j < len; j++) {
				if (q != 0) {
					if (s[j] == q)
						q = 0;
				} else if (s[j] == '"' || s[j] == '\'')
					q = s[j];
				else if (s[j] == '>')
					return j + 1;
			}
			return len;
		}
	}
	for (size_t i = 0; i + 7 <= len; i++)
		if (s[i] == '<' && g_ascii_strncasecmp(s + i, "</head>", 7) == 0)
			return i + 7;
	return 0;
}

static void
banner_html(GMimePart *p, const char *banner)
{
	const char *label = g_mime_object_get_content_type_parameter((GMimeObject *)p, "charset");
	size_t len, el, at;
	char *orig = decoded_content(p, &len);
	char *enc = mcs_from_utf8(label != NULL ? label : "us-ascii", banner, strlen(banner), 1, &el);
	struct mbuf b = { NULL, 0, 0 };

	if (enc != NULL) {
		at = html_insert_at(orig, len);
		mbuf_add(&b, orig, at);
		mbuf_add(&b, enc, el);
		mbuf_add(&b, orig + at, len - at);
		set_content(p, b.p, b.len, 0);
	} else {
		unsigned f = 0;
		size_t ul;
		char *u = mcs_to_utf8(label, orig, len, &ul, &f);

		at = html_insert_at(u, ul);
		mbuf_add(&b, u, at);
		mbuf_adds(&b, banner);
		mbuf_add(&b, u + at, ul - at);
		set_content(p, b.p, b.len, 1);
		free(u);
	}
	mbuf_free(&b);
	free(enc);
	free(orig);
}

/* Put banners in the shown text parts under obj; returns how many. */
static int
apply_banners(GMimeObject *obj, const struct message_rewrite *rw, int depth)
{
	int n = 0;

	if (depth > 64)
		return 0;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = (GMimeMultipart *)obj;
		int k = g_mime_multipart_get_count(mp);

		for (int i = 0; i < k; i++)
			n += apply_banners(g_mime_multipart_get_part(mp, i), rw, depth + 1);
		return n;
	}
	if (!GMIME_IS_PART(obj) || GMIME_IS_MULTIPART(obj))
		return 0;
	{
		GMimeContentType *ct = g_mime_object_get_content_type(obj);
		GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
		const char *d = cd != NULL ? g_mime_content_disposition_get_disposition(cd) : NULL;

		if (d != NULL && g_ascii_strcasecmp(d, "inline") != 0)
			return 0;
		if (g_mime_content_type_is_type(ct, "text", "plain") && rw->text_banner != NULL &&
		    rw->text_banner[0] != '\0') {
			banner_text((GMimePart *)obj, rw->text_banner);
			return 1;
		}
		if (g_mime_content_type_is_type(ct, "text", "html") && rw->html_banner != NULL &&
		    rw->html_banner[0] != '\0') {
			banner_html((GMimePart *)obj, rw->html_banner);
			return 1;
		}
	}
	return 0;
}

static GMimeObject *
notice_part(const char *notice)
{
	GMimePart *p = g_mime_part_new_with_type("text", "plain");
	GMimeStream *s = g_mime_stream_mem_new();
	GMimeDataWrapper *w;

	g_mime_object_set_content_type_parameter((GMimeObject *)p, "charset", "utf-8");
	g_mime_object_set_disposition((GMimeObject *)p, "inline");
	g_mime_stream_write(s, notice, strlen(notice));
	g_mime_stream_reset(s);
	w = g_mime_data_wrapper_new_with_stream(s, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(p, w);
	g_mime_part_set_content_encoding(p, GMIME_CONTENT_ENCODING_BASE64);
	g_object_unref(w);
	g_object_unref(s);
	return (GMimeObject *)p;
}

static int
strip_listed(const struct message_strip *st, int leaf)
{
	for (size_t i = 0; i < st->n; i++)
		if (st->parts[i] == leaf)
			return 1;
	return 0;
}

/*
 * Walk as message.c's walk() does, numbering leaves; replace the listed
 * ones.  *set puts a replacement where obj was.  Returns replacements made.
 */
static int
apply_strip(GMimeObject *obj, const struct message_strip *rw, int depth, int *leaf,
    GMimeMultipart *parent, int index, GMimeMessage *owner)
{
	int n = 0;

	if (depth > 64)
		return 0;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = (GMimeMultipart *)obj;
		int k = g_mime_multipart_get_count(mp);

		for (int i = 0; i < k; i++)
			n += apply_strip(g_mime_multipart_get_part(mp, i), rw, depth + 1, leaf, mp, i,
			    NULL);
		return n;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message((GMimeMessagePart *)obj);
		GMimeObject *root = m != NULL ? g_mime_message_get_mime_part(m) : NULL;

		if (root != NULL)
			return apply_strip(root, rw, depth + 1, leaf, NULL, 0, m);
	}
	if (strip_listed(rw, (*leaf)++)) {
		GMimeObject *rep = notice_part(rw->notice ? rw->notice : "");

		if (parent != NULL) {
			GMimeObject *old = g_mime_multipart_replace(parent, index, rep);
			if (old != NULL)
				g_object_unref(old);
			n++;
		} else if (owner != NULL) {
			g_mime_message_set_mime_part(owner, rep);
			n++;
		}
		g_object_unref(rep);
	}
	return n;
}

/*
 * The body with banners, written by GMime; *root_hdrs gets the top-level
 * Content-* fields when the top part itself changed.  NULL when nothing
 * was changed.
 */
static char *
banner_body(const struct message *msg, const struct message_rewrite *rw,
    struct message_strip *st, size_t *blen, char **root_hdrs)
{
	const struct msg_priv *pv = msg->priv;
	GMimeStream *in = g_mime_stream_mem_new_with_buffer(pv->gbuf, pv->glen);
	GMimeParser *parser = g_mime_parser_new_with_stream(in);
	GMimeParserOptions *opts = g_mime_parser_options_new();
	GMimeMessage *m;
	GMimeObject *root;
	char *body = NULL;
	int changed;

	*root_hdrs = NULL;
	g_mime_parser_options_set_rfc2047_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(parser, opts);
	g_object_unref(parser);
	root = m != NULL ? g_mime_message_get_mime_part(m) : NULL;
	changed = root != NULL ? apply_banners(root, rw, 0) : 0;
	if (root != NULL && st != NULL && st->n > 0) {
		int leaf = 0, n = apply_strip(root, st, 0, &leaf, NULL, 0, m);

		st->stripped = (size_t)n;
		changed += n;
		root = g_mime_message_get_mime_part(m);
	}
	if (root != NULL && changed > 0) {
		GMimeFormatOptions *fmt = g_mime_format_options_new();
		GMimeStream *out = g_mime_stream_mem_new();
		GByteArray *a;

		g_mime_format_options_set_newline_format(fmt, GMIME_NEWLINE_FORMAT_DOS);
		g_mime_object_write_content_to_stream(root, fmt, out);
		a = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)out);
		body = xmalloc(a->len + 1);
		if (a->len > 0)
			memcpy(body, a->data, a->len);
		*blen = a->len;
		if (GMIME_IS_PART(root)) {
			GMimeHeaderList *hl = g_mime_object_get_header_list(root);
			char *s;

			if (rw->remove != NULL)
				for (size_t i = 0; rw->remove[i] != NULL; i++)
					while (g_mime_header_list_remove(hl, rw->remove[i]))
						;
			s = g_mime_header_list_to_string(hl, fmt);
			*root_hdrs = xstrdup(s != NULL ? s : "");
			g_free(s);
		}
		g_object_unref(out);
		g_mime_format_options_free(fmt);
	}
	if (m != NULL)
		g_object_unref(m);
	g_object_unref(in);
	g_mime_parser_options_free(opts);
	return body;
}

/* Take the listed mailboxes out of l, groups included.  How many. */
static int
prune_addrs(InternetAddressList *l, const char *const *drop)
{
	int removed = 0;

	for (int i = internet_address_list_length(l) - 1; i >= 0; i--) {
		InternetAddress *a = internet_address_list_get_address(l, i);

		if (INTERNET_ADDRESS_IS_GROUP(a)) {
			InternetAddressList *m = internet_address_group_get_members(
			    (InternetAddressGroup *)a);

			if (m != NULL)
				removed += prune_addrs(m, drop);
			continue;
		}
		if (INTERNET_ADDRESS_IS_MAILBOX(a)) {
			const char *addr = internet_address_mailbox_get_addr((InternetAddressMailbox *)a);

			for (size_t k = 0; addr != NULL && drop[k] != NULL; k++)
				if (g_ascii_strcasecmp(addr, drop[k]) == 0) {
					internet_address_list_remove_at(l, i);
					removed++;
					break;
				}
		}
	}
	return removed;
}

/*
 * A To or Cc field without the drop_addrs addresses, into out.  0 when it
 * holds none of them (the caller keeps its bytes), 1 when it was written
 * anew or dropped.
 */
static int
drop_field_addrs(struct mbuf *out, const char *name, size_t nlen, const char *raw,
    size_t rlen, const char *const *drop)
{
	char *unf = mhdr_unfold(raw, rlen), *pre;
	unsigned fl = 0;
	InternetAddressList *l;
	int removed;

	pre = mhdr_addr_predecode(unf, &fl);
	free(unf);
	l = internet_address_list_parse(NULL, pre);
	free(pre);
	if (l == NULL)
		return 0;
	if ((removed = prune_addrs(l, drop)) > 0) {
		if (internet_address_list_length(l) > 0) {
			GString *s = g_string_new(NULL);

			g_string_append_len(s, name, (gssize)nlen);
			g_string_append(s, ": ");
			internet_address_list_encode(l, NULL, s);
			if (s->len == 0 || s->str[s->len - 1] != '\n')
				g_string_append_c(s, '\n');
			mbuf_add(out, s->str, s->len);
			g_string_free(s, TRUE);
		} else if (nlen == 2 && g_ascii_strncasecmp(name, "To", 2) == 0)
			mbuf_adds(out, "To: undisclosed-recipients:;\r\n");
	}
	g_object_unref(l);
	return removed > 0;
}

/* Bare LF (and a final line without an ending) to CRLF. */
static char *
to_crlf(const struct mbuf *in, size_t *len)
{
	struct mbuf o = { NULL, 0, 0 };

	mbuf_grow(&o, in->len + in->len / 16 + 16);
	for (size_t i = 0; i < in->len; i++) {
		if (in->p[i] == '\n' && (i == 0 || in->p[i - 1] != '\r'))
			mbuf_addc(&o, '\r');
		mbuf_addc(&o, in->p[i]);
	}
	if (len != NULL)
		*len = o.len;
	return mbuf_take(&o);
}

char *
message_rewrite(const struct message *msg, const struct message_rewrite *rw, size_t *len)
{
	return message_rewrite_strip(msg, rw, NULL, len);
}

char *
message_rewrite_strip(const struct message *msg, const struct message_rewrite *rw,
    struct message_strip *st, size_t *len)
{
	static const struct message_rewrite none = { NULL, NULL, NULL, NULL, NULL, NULL, NULL };
	const struct msg_priv *pv;
	const char *w;
	struct mbuf out = { NULL, 0, 0 };
	struct mhdr_scan sc;
	struct mfield f;
	enum mhdr_kind k;
	char *body = NULL, *root_hdrs = NULL, *prefix = NULL, *unprefix = NULL, *ret;
	size_t blen = 0, wlen;
	int subject_done = 0;

	if (len != NULL)
		*len = 0;
	if (msg == NULL || msg->priv == NULL)
		return NULL;
	if (rw == NULL)
		rw = &none;
	pv = msg->priv;
	w = pv->work;
	wlen = msg->rawlen;
	mbuf_grow(&out, wlen + 1024);
	if (rw->subject_unprefix != NULL) {
		unprefix = prefix_trim(rw->subject_unprefix);
		if (unprefix[0] == '\0') {
			free(unprefix);
			unprefix = NULL;
		}
	} else if (rw->subject_prefix != NULL) {
		prefix = prefix_trim(rw->subject_prefix);
		if (prefix[0] == '\0') {
			free(prefix);
			prefix = NULL;
		}
	}

	if (st != NULL)
		st->stripped = 0;
	if (((rw->text_banner != NULL && rw->text_banner[0] != '\0') ||
	    (rw->html_banner != NULL && rw->html_banner[0] != '\0') ||
	    (st != NULL && st->n > 0 && !(msg->limits & (MSG_LIMIT_DEPTH | MSG_LIMIT_PARTS)))) &&
	    !pv->gmime_cut && pv->has_mime &&
	    !(msg->limits & (MSG_LIMIT_HEADERS | MSG_LIMIT_HEADER_BYTES)))
		body = banner_body(msg, rw, st, &blen, &root_hdrs);

	/* an mbox "From " line stays on top */
	mbuf_add(&out, w, pv->hdr_start);
	if (rw->prepend != NULL)
		for (size_t i = 0; rw->prepend[i] != NULL; i++)
			add_prepend(&out, rw->prepend[i]);
	if (prefix != NULL) {
		/* no Subject field at all: add one on top, where any reader sees it */
		int have = 0;

		mhdr_scan_init(&sc, w, pv->hdr_end, pv->hdr_start);
		while (!have && ((k = mhdr_next(&sc, &f)) == MHDR_FIELD || k == MHDR_JUNK))
			have = k == MHDR_FIELD && f.name_len == 7 &&
			    g_ascii_strncasecmp(w + f.start, "Subject", 7) == 0 &&
			    !listed(rw->remove, w + f.start, f.name_len);
		if (!have) {
			char *enc = mhdr_encode_text(prefix);

			mbuf_adds(&out, "Subject: ");
			mbuf_adds(&out, enc);
			mbuf_adds(&out, "\r\n");
			free(enc);
			subject_done = 1;
		}
	}

	mhdr_scan_init(&sc, w, pv->hdr_end, pv->hdr_start);
	while ((k = mhdr_next(&sc, &f)) == MHDR_FIELD || k == MHDR_JUNK) {
		const char *name = w + f.start;

		if (k == MHDR_JUNK) {
			mbuf_add(&out, w + f.start, f.end - f.start);
			if (w[f.end - 1] != '\n')
				mbuf_adds(&out, "\r\n");
			continue;
		}
		if (listed(rw->remove, name, f.name_len) ||
		    listed_value(rw->remove, name, f.name_len, w + f.value, f.end - f.value))
			continue;
		if (root_hdrs != NULL && f.name_len >= 8 && g_ascii_strncasecmp(name, "Content-", 8) == 0)
			continue;
		if (rw->drop_addrs != NULL && f.name_len == 2 &&
		    (g_ascii_strncasecmp(name, "To", 2) == 0 || g_ascii_strncasecmp(name, "Cc", 2) == 0) &&
		    drop_field_addrs(&out, name, f.name_len, w + f.value, f.end - f.value,
		    rw->drop_addrs))
			continue;
		if ((prefix != NULL || unprefix != NULL) && !subject_done && f.name_len == 7 &&
		    g_ascii_strncasecmp(name, "Subject", 7) == 0) {
			char *raw = mhdr_unfold(w + f.value, f.end - f.value);
			unsigned fl = 0;
			char *dec = mhdr_decode(raw, strlen(raw), &fl);

			subject_done = 1;
			if (unprefix != NULL && subject_has_prefix(dec, unprefix))
				put_subject_rest(&out, name, f.name_len, dec, unprefix);
			else if (prefix != NULL && !subject_has_prefix(dec, prefix))
				add_subject(&out, w, &f, prefix);
			else
				mbuf_add(&out, w + f.start, f.end - f.start);
			free(dec);
			free(raw);
			if (out.len == 0 || out.p[out.len - 1] != '\n')
				mbuf_adds(&out, "\r\n");
			continue;
		}
		mbuf_add(&out, w + f.start, f.end - f.start);
		if (w[f.end - 1] != '\n')
			mbuf_adds(&out, "\r\n");
	}
	if (root_hdrs != NULL) {
		mbuf_adds(&out, root_hdrs);
		if (out.len > 0 && out.p[out.len - 1] != '\n')
			mbuf_adds(&out, "\r\n");
	}

	/* the blank line, then the body */
	if (pv->has_blank)
		mbuf_add(&out, w + pv->hdr_end, msg->body_offset - pv->hdr_end);
	else if ((body != NULL || msg->body_offset < wlen) && out.len > pv->hdr_start)
		mbuf_adds(&out, "\r\n");	/* a body without headers got some */
	if (body != NULL)
		mbuf_add(&out, body, blen);
	else
		mbuf_add(&out, w + msg->body_offset, wlen - msg->body_offset);

	ret = to_crlf(&out, len);
	mbuf_free(&out);
	free(body);
	free(root_hdrs);
	free(prefix);
	free(unprefix);
	return ret;
}
