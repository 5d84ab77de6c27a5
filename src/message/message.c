/*
 * message.c - the parsed message: spooled bytes to struct message.
 *
 * Contract (message.h): message_parse() never fails and never returns NULL.
 * The caller owns the result and frees it with message_free(); the raw
 * bytes are borrowed and must outlive it.  Every string in the struct is
 * malloc'ed, UTF-8 where the header says so, and freed by message_free().
 *
 * How: the top-level header block is scanned here, byte by byte (so the
 * header list, the limits and message_rewrite() see exactly the bytes
 * received); GMime then parses a copy made of the kept header fields and the
 * body, cut where message_prescan.c says the MIME structure would outgrow
 * the limits.  Leaf parts are decoded from their byte ranges in that copy
 * (base64, quoted-printable, uuencode via GMime's stateless decoders), text
 * goes to UTF-8 through message_charset.c, HTML through message_html.c,
 * URLs through message_url.c.  Header words are decoded by
 * message_header.c, not GMime (see there why); GMime still parses address
 * lists, after their encoded words were replaced by quoted UTF-8.
 *
 * Limits (struct message_limits, 0 fields mean the default): header count
 * and header block size (fields past them are not kept, but the block is
 * still scanned to find the body), MIME depth and part count (prescan cut
 * plus a bounded walk), decoded text kept, URLs kept, HTML elements walked.
 * Each hit sets its MSG_LIMIT_* bit.  Memory is about three times the input
 * at most (the copy for GMime, decoded text); time is linear apart from the
 * bounded checks described in message_prescan.c and message_html.c.
 *
 * Thread-safety: GMime and the public suffix list are initialised once with
 * pthread_once; each parse owns its GMime objects.  A struct message may be
 * read from several threads at once; message_part_bytes() and
 * message_rewrite() only read it.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>
#include <libpsl.h>

#include "message/message.h"
#include "message/message_int.h"
#include "util/util.h"

#define MAX_ADDRS	1000	/* addresses kept per field kind */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl_ctx;

static void
lib_init_once(void)
{
	g_mime_init();
	psl_ctx = psl_latest(NULL);
	if (psl_ctx == NULL)
		psl_ctx = psl_builtin();
}

void
message_lib_init(void)
{
	pthread_once(&lib_once, lib_init_once);
}

const void *
message_psl(void)
{
	return psl_ctx;
}

void
message_limits_default(struct message_limits *lim)
{
	lim->max_depth = 32;
	lim->max_parts = 1000;
	lim->max_headers = 1000;
	lim->max_header_bytes = 1u << 20;
	lim->max_decoded = 16u << 20;
	lim->max_urls = 2000;
	lim->max_html_nodes = 200000;
}

/* ---- parse context ---- */

struct pctx {
	struct message *msg;
	struct msg_priv *priv;
	struct message_limits lim;
	GMimeParserOptions *opts;
	struct murls *urls;
	struct mbuf text, html_text;
	size_t decoded;		/* text bytes kept so far */
	size_t entities;	/* MIME entities visited */
	size_t pcap;
	GByteArray *arr;
};

static void
gmime_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer data)
{
	struct pctx *c = data;

	(void)offset;
	switch (code) {
	case GMIME_WARN_UNENCODED_8BIT_HEADER:
		break;
	case GMIME_CRIT_NESTING_OVERFLOW:
		c->msg->limits |= MSG_LIMIT_DEPTH;
		c->msg->defects |= MSG_DEFECT_BAD_MIME;
		break;
	case GMIME_WARN_INVALID_CONTENT_TYPE:
	case GMIME_WARN_MALFORMED_MULTIPART:
	case GMIME_WARN_TRUNCATED_MESSAGE:
	case GMIME_WARN_MALFORMED_MESSAGE:
	case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
	case GMIME_CRIT_CONFLICTING_PARAMETER:
	case GMIME_WARN_PART_WITHOUT_CONTENT:
	case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
		c->msg->defects |= MSG_DEFECT_BAD_MIME;
		break;
	case GMIME_CRIT_CONFLICTING_HEADER:
	case GMIME_WARN_DUPLICATED_HEADER:
		/* two different Content-Type fields: readers disagree on the part */
		if (item != NULL && g_ascii_strncasecmp(item, "Content-", 8) == 0)
			c->msg->defects |= MSG_DEFECT_BAD_MIME;
		break;
	default:
		break;
	}
}

static void
cs_flags(struct pctx *c, unsigned f)
{
	if (f & MCS_INVALID)
		c->msg->defects |= MSG_DEFECT_INVALID_TEXT;
	if (f & MCS_GUESSED)
		c->msg->defects |= MSG_DEFECT_BAD_CHARSET;
}

/* ---- content decoding ---- */

/*
 * Decode n bytes of content in encoding enc into out (NULL: count only),
 * keeping at most max bytes.  Returns the full decoded size (even past
 * max); *truncated when out got less than that.
 */
static size_t
decode_content(const char *p, size_t n, int enc, struct mbuf *out, size_t max, int *truncated)
{
	GMimeEncoding st;
	size_t total = 0, off = 0;
	char *scratch = NULL;
	int decode = enc == GMIME_CONTENT_ENCODING_BASE64 ||
	    enc == GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE || enc == GMIME_CONTENT_ENCODING_UUENCODE;

	*truncated = 0;
	if (!decode) {
		if (out != NULL) {
			size_t k = n < max ? n : max;

			mbuf_add(out, p, k);
			*truncated = k < n;
		}
		return n;
	}
	if (enc == GMIME_CONTENT_ENCODING_UUENCODE) {
		/* the data starts after the "begin mode name" line */
		size_t i = 0;

		while (i < n) {
			const char *nl = memchr(p + i, '\n', n - i);

			if (n - i >= 6 && memcmp(p + i, "begin ", 6) == 0) {
				i = nl != NULL ? (size_t)(nl - p) + 1 : n;
				break;
			}
			i = nl != NULL ? (size_t)(nl - p) + 1 : n;
		}
		p += i;
		n -= i;
	}
	g_mime_encoding_init_decode(&st, (GMimeContentEncoding)enc);
	scratch = xmalloc(g_mime_encoding_outlen(&st, 65536) + 16);
	while (off < n) {
		size_t chunk = n - off < 65536 ? n - off : 65536, got;

		got = g_mime_encoding_step(&st, p + off, chunk, scratch);
		off += chunk;
		if (out != NULL && out->len < max) {
			size_t k = got < max - out->len ? got : max - out->len;

			mbuf_add(out, scratch, k);
			if (k < got)
				*truncated = 1;
		} else if (out != NULL && got > 0)
			*truncated = 1;
		total += got;
	}
	free(scratch);
	return total;
}

/* The encoded bytes of a leaf part. */
static void
src_bytes(const struct msg_priv *priv, const struct mpart_src *s, const char **p, size_t *n)
{
	if (s->copy != NULL) {
		*p = s->copy;
		*n = s->copylen;
		return;
	}
	*p = priv->gbuf + s->start;
	*n = s->end - s->start;
}

/* <meta charset="x"> or http-equiv content="...charset=x" near the top. */
static char *
html_meta_charset(const char *p, size_t n)
{
	size_t lim = n < 4096 ? n : 4096;
	const char *s = p, *e = p + lim;

	while (s < e) {
		const char *c = g_strstr_len(s, e - s, "charset");
		const char *v;
		size_t l = 0;

		if (c == NULL)
			break;
		v = c + 7;
		while (v < e && (*v == ' ' || *v == '"' || *v == '\''))
			v++;
		if (v < e && *v == '=') {
			v++;
			while (v < e && (*v == ' ' || *v == '"' || *v == '\''))
				v++;
			while (v + l < e && (g_ascii_isalnum(v[l]) || v[l] == '-' || v[l] == '_' || v[l] == ':' || v[l] == '.'))
				l++;
			if (l > 0 && l < 40) {
				/* a document read as bytes cannot be UTF-16: browsers
				 * take such a label for UTF-8 */
				if (g_ascii_strncasecmp(v, "utf-16", 6) == 0 ||
				    g_ascii_strncasecmp(v, "utf-32", 6) == 0 ||
				    g_ascii_strncasecmp(v, "ucs", 3) == 0 ||
				    g_ascii_strncasecmp(v, "unicode", 7) == 0)
					return xstrdup("utf-8");
				return xstrndup(v, l);
			}
		}
		s = c + 7;
	}
	{
		/* CHARSET= in upper case: look again in a lowered copy */
		char *low = g_ascii_strdown(p, (gssize)lim);
		char *r = NULL;

		if (strstr(low, "charset") != NULL && g_strstr_len(p, (gssize)lim, "charset") == NULL)
			r = html_meta_charset(low, strlen(low));
		g_free(low);
		return r;
	}
}

/* CRLF to LF in place. */
static void
to_lf(struct mbuf *b)
{
	size_t o = 0;

	for (size_t i = 0; i < b->len; i++) {
		if (b->p[i] == '\r' && i + 1 < b->len && b->p[i + 1] == '\n')
			continue;
		b->p[o++] = b->p[i];
	}
	b->len = o;
}

/* Cut UTF-8 text to at most max bytes at a character boundary. */
static size_t
utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* ---- parts ---- */

static char *
raw_header(GMimeObject *obj, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
	GMimeHeader *h = hl != NULL ? g_mime_header_list_get_header(hl, name) : NULL;
	const char *v = h != NULL ? g_mime_header_get_raw_value(h) : NULL;

	return v != NULL ? mhdr_unfold(v, strlen(v)) : NULL;
}

static char *
first_token(const char *v)
{
	size_t n;

	if (v == NULL)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	n = strcspn(v, "; \t");
	return n > 0 ? util_lowercase(xstrndup(v, n)) : NULL;
}

static int
has_ext(const char *name, const char *ext)
{
	size_t n, e = strlen(ext);

	if (name == NULL || (n = strlen(name)) < e)
		return 0;
	return g_ascii_strcasecmp(name + n - e, ext) == 0;
}

static struct msg_part *
new_part(struct pctx *c)
{
	struct message *m = c->msg;

	if (m->nparts == c->pcap) {
		c->pcap = c->pcap != 0 ? c->pcap * 2 : 8;
		m->parts = xrealloc(m->parts, c->pcap * sizeof(*m->parts));
		c->priv->src = xrealloc(c->priv->src, c->pcap * sizeof(*c->priv->src));
	}
	memset(&m->parts[m->nparts], 0, sizeof(m->parts[0]));
	memset(&c->priv->src[m->nparts], 0, sizeof(c->priv->src[0]));
	return &m->parts[m->nparts++];
}

/*
 * Decode a text part into UTF-8 (text/plain: text; text/html: html + text).
 * An HTML file (an attachment) is read for its links and forms only: its
 * source goes to html, its text is not kept.
 */
static void
part_text(struct pctx *c, struct msg_part *pt, int idx, int html_file)
{
	struct mpart_src *s = &c->priv->src[idx];
	struct mbuf raw = { NULL, 0, 0 };
	const char *p;
	size_t n, left, ulen;
	char *label, *u;
	unsigned f = 0;
	int trunc;

	left = c->decoded < c->lim.max_decoded ? c->lim.max_decoded - c->decoded : 0;
	src_bytes(c->priv, s, &p, &n);
	pt->size = decode_content(p, n, s->encoding, &raw, left + 4096, &trunc);
	if (trunc || left == 0)
		c->msg->limits |= MSG_LIMIT_DECODED;
	label = pt->charset != NULL ? xstrdup(pt->charset) : NULL;
	if (label == NULL && (pt->is_html || html_file))
		label = html_meta_charset(raw.p != NULL ? raw.p : "", raw.len);
	u = mcs_to_utf8(label, raw.p != NULL ? raw.p : "", raw.len, &ulen, &f);
	free(label);
	mbuf_free(&raw);
	cs_flags(c, f);
	raw.p = u;
	raw.len = ulen;
	raw.cap = ulen + 1;
	to_lf(&raw);
	if (raw.len > left) {
		raw.len = utf8_cut(raw.p, raw.len, left);
		c->msg->limits |= MSG_LIMIT_DECODED;
	}
	c->decoded += raw.len;
	if (!pt->is_html && !html_file) {
		pt->text = mbuf_take(&raw);
		murls_scan_text(c->urls, pt->text, strlen(pt->text), idx);
		if (c->text.len > 0)
			mbuf_addc(&c->text, '\n');
		mbuf_adds(&c->text, pt->text);
		return;
	}
	pt->html = mbuf_take(&raw);
	{
		struct mhtml_out ho;

		memset(&ho, 0, sizeof(ho));
		mhtml_parse(pt->html, strlen(pt->html), c->lim.max_html_nodes, idx, c->urls, &ho,
		    &c->msg->limits);
		pt->text = mbuf_take(&ho.text);
		if (ho.nforms > 0) {
			c->msg->forms = xrealloc(c->msg->forms,
			    (c->msg->nforms + ho.nforms) * sizeof(*c->msg->forms));
			memcpy(c->msg->forms + c->msg->nforms, ho.forms, ho.nforms * sizeof(*ho.forms));
			c->msg->nforms += ho.nforms;
		}
		free(ho.forms);
	}
	murls_scan_text(c->urls, pt->text, strlen(pt->text), idx);
	if (html_file) {
		free(pt->text);
		pt->text = NULL;
		return;
	}
	if (c->html_text.len > 0)
		mbuf_addc(&c->html_text, '\n');
	mbuf_adds(&c->html_text, pt->text);
}

static void
add_leaf(struct pctx *c, GMimeObject *obj, int depth, int in_msg)
{
	struct msg_part *pt = new_part(c);
	int idx = (int)(c->msg->nparts - 1);
	struct mpart_src *s = &c->priv->src[idx];
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *rct = raw_header(obj, "Content-Type");
	char *rcd = raw_header(obj, "Content-Disposition");
	char *rte = raw_header(obj, "Content-Transfer-Encoding");
	unsigned f = 0;
	int is_plain, is_html;

	pt->depth = depth;
	s->in_message = in_msg;
	{
		char *mt = ct != NULL ? g_mime_content_type_get_mime_type(ct) : NULL;

		pt->content_type = util_lowercase(xstrdup(mt != NULL ? mt : "text/plain"));
		g_free(mt);
	}
	if (rct != NULL) {
		char *cs = mhdr_param(rct, "charset", &f);

		if (cs != NULL) {
			char *t = util_trim(cs);

			if (t[0] != '\0')
				pt->charset = util_lowercase(xstrdup(t));
			free(cs);
		}
	}
	if (rcd != NULL) {
		char *d = first_token(rcd);

		if (d != NULL) {
			if (strcmp(d, "inline") == 0 || strcmp(d, "attachment") == 0)
				pt->disposition = d;
			else {
				/* RFC 2183: an unknown disposition is an attachment */
				pt->disposition = xstrdup("attachment");
				free(d);
			}
		}
		pt->filename = mhdr_param(rcd, "filename", &f);
	}
	if (pt->filename == NULL && rct != NULL)
		pt->filename = mhdr_param(rct, "name", &f);
	if (pt->filename != NULL && pt->filename[0] == '\0') {
		free(pt->filename);
		pt->filename = NULL;
	}
	cs_flags(c, f & MCS_INVALID);
	pt->encoding = first_token(rte);
	is_plain = strcmp(pt->content_type, "text/plain") == 0;
	is_html = strcmp(pt->content_type, "text/html") == 0;
	pt->is_attachment = pt->filename != NULL ||
	    (pt->disposition != NULL && strcmp(pt->disposition, "attachment") == 0) ||
	    strncmp(pt->content_type, "text/", 5) != 0;
	pt->is_text = (is_plain || is_html) &&
	    !(pt->disposition != NULL && strcmp(pt->disposition, "attachment") == 0);
	pt->is_html = pt->is_text && is_html;

	/* where the content is */
	s->encoding = GMIME_CONTENT_ENCODING_DEFAULT;
	if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *w = g_mime_part_get_content((GMimePart *)obj);
		GMimeStream *st = w != NULL ? g_mime_data_wrapper_get_stream(w) : NULL;

		if (w != NULL)
			s->encoding = (int)g_mime_data_wrapper_get_encoding(w);
		if (st != NULL && GMIME_IS_STREAM_MEM(st) &&
		    g_mime_stream_mem_get_byte_array((GMimeStreamMem *)st) == c->arr &&
		    st->bound_start >= 0 && (size_t)st->bound_start <= c->arr->len) {
			s->start = (size_t)st->bound_start;
			s->end = st->bound_end < 0 || (size_t)st->bound_end > c->arr->len ?
			    c->arr->len : (size_t)st->bound_end;
			if (s->end < s->start)
				s->end = s->start;
		} else if (st != NULL) {
			GMimeStream *mem = g_mime_stream_mem_new();
			GByteArray *a;

			g_mime_stream_reset(st);
			g_mime_stream_write_to_stream(st, mem);
			a = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
			s->copy = xmalloc(a->len + 1);
			if (a->len > 0)
				memcpy(s->copy, a->data, a->len);
			s->copylen = a->len;
			g_object_unref(mem);
		}
	} else {
		/* a message/rfc822 we do not enter: its bytes as they are */
		GMimeStream *mem = g_mime_stream_mem_new();
		GByteArray *a;
		GMimeMessage *m = GMIME_IS_MESSAGE_PART(obj) ?
		    g_mime_message_part_get_message((GMimeMessagePart *)obj) : NULL;

		if (m != NULL)
			g_mime_object_write_to_stream((GMimeObject *)m, NULL, mem);
		a = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
		s->copy = xmalloc(a->len + 1);
		if (a->len > 0)
			memcpy(s->copy, a->data, a->len);
		s->copylen = a->len;
		g_object_unref(mem);
	}
	if (pt->is_text)
		part_text(c, pt, idx, 0);
	else if (is_html || has_ext(pt->filename, ".html") || has_ext(pt->filename, ".htm") ||
	    has_ext(pt->filename, ".xhtml") || has_ext(pt->filename, ".shtml"))
		part_text(c, pt, idx, 1);
	else {
		const char *p;
		size_t n;
		int trunc;

		src_bytes(c->priv, s, &p, &n);
		pt->size = decode_content(p, n, s->encoding, NULL, 0, &trunc);
	}
	free(rct);
	free(rcd);
	free(rte);
}

static void
walk(struct pctx *c, GMimeObject *obj, int depth, int in_msg)
{
	if (obj == NULL)
		return;
	if (c->entities >= c->lim.max_parts) {
		c->msg->limits |= MSG_LIMIT_PARTS;
		return;
	}
	c->entities++;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = (GMimeMultipart *)obj;
		int n = g_mime_multipart_get_count(mp);

		if ((size_t)depth >= c->lim.max_depth) {
			c->msg->limits |= MSG_LIMIT_DEPTH;
			return;
		}
		for (int i = 0; i < n; i++)
			walk(c, g_mime_multipart_get_part(mp, i), depth + 1, in_msg);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message((GMimeMessagePart *)obj);
		GMimeObject *root = m != NULL ? g_mime_message_get_mime_part(m) : NULL;

		if (root != NULL && (size_t)depth < c->lim.max_depth)
			walk(c, root, depth + 1, 1);
		else {
			if (root != NULL)
				c->msg->limits |= MSG_LIMIT_DEPTH;
			add_leaf(c, obj, depth, in_msg);
		}
	} else
		add_leaf(c, obj, depth, in_msg);
}

/* The body as one text/plain part when GMime could not build a message. */
static void
add_raw_body(struct pctx *c, size_t start)
{
	struct msg_part *pt = new_part(c);
	int idx = (int)(c->msg->nparts - 1);

	pt->content_type = xstrdup("text/plain");
	pt->is_text = 1;
	c->priv->src[idx].start = start;
	c->priv->src[idx].end = c->priv->glen;
	c->priv->src[idx].encoding = GMIME_CONTENT_ENCODING_DEFAULT;
	part_text(c, pt, idx, 0);
}

/* ---- top-level headers ---- */

static void
add_addrs(struct pctx *c, const char *name, struct msg_addr **out, size_t *nout)
{
	struct message *m = c->msg;
	size_t cap = 0;

	for (size_t i = 0; i < m->nheaders; i++) {
		InternetAddressList *l;
		char *pre;
		unsigned f = 0;
		int n;

		if (util_strcasecmp(m->headers[i].name, name) != 0)
			continue;
		pre = mhdr_addr_predecode(m->headers[i].raw, &f);
		cs_flags(c, f & MCS_INVALID);
		l = internet_address_list_parse(c->opts, pre);
		n = l != NULL ? internet_address_list_length(l) : 0;
		if (n == 0 && m->headers[i].value[0] != '\0' && *nout < MAX_ADDRS) {
			/* nothing GMime could read: keep the words, no address */
			if (*nout == cap) {
				cap = cap != 0 ? cap * 2 : 4;
				*out = xrealloc(*out, cap * sizeof(**out));
			}
			memset(&(*out)[*nout], 0, sizeof(**out));
			(*out)[(*nout)++].display = xstrdup(m->headers[i].value);
		}
		for (int k = 0; k < n && *nout < MAX_ADDRS; k++) {
			InternetAddress *a = internet_address_list_get_address(l, k);
			InternetAddressList *members = NULL;
			int nm = 1;

			if (INTERNET_ADDRESS_IS_GROUP(a)) {
				members = internet_address_group_get_members((InternetAddressGroup *)a);
				nm = members != NULL ? internet_address_list_length(members) : 0;
			}
			for (int j = 0; j < nm && *nout < MAX_ADDRS; j++) {
				InternetAddress *x = members != NULL ? internet_address_list_get_address(members, j) : a;
				struct msg_addr *d;
				const char *nm_, *ad;

				if (!INTERNET_ADDRESS_IS_MAILBOX(x))
					continue;
				if (*nout == cap) {
					cap = cap != 0 ? cap * 2 : 4;
					*out = xrealloc(*out, cap * sizeof(**out));
				}
				d = &(*out)[(*nout)++];
				memset(d, 0, sizeof(*d));
				nm_ = internet_address_get_name(x);
				ad = internet_address_mailbox_get_addr((InternetAddressMailbox *)x);
				if (nm_ != NULL) {
					char *t = g_strstrip(g_strdup(nm_));

					if (t[0] != '\0')
						d->display = xstrdup(t);
					g_free(t);
				}
				if (ad != NULL && ad[0] != '\0') {
					const char *at = strrchr(ad, '@');

					d->addr = xstrdup(ad);
					if (at != NULL && at[1] != '\0')
						d->domain = util_lowercase(xstrdup(at + 1));
				}
			}
		}
		if (l != NULL)
			g_object_unref(l);
		free(pre);
	}
}

static int
has_8bit(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return 1;
	return 0;
}

/*
 * Scan the top-level header block of priv->work; keep fields within the
 * limits; build the bytes GMime will parse into arr.
 */
static void
scan_headers(struct pctx *c, size_t len)
{
	struct message *m = c->msg;
	struct msg_priv *pv = c->priv;
	const char *w = pv->work;
	struct mhdr_scan sc;
	struct mfield f;
	enum mhdr_kind k;
	size_t cap = 0, off = 0, late_ct = 0, late_cte = 0, late_end_ct = 0, late_end_cte = 0;
	int nfields = 0, over = 0;

	if (len >= 5 && memcmp(w, "From ", 5) == 0) {
		/* an mbox separator line, when it is a whole line */
		const char *nl = memchr(w, '\n', len);

		if (nl != NULL)
			off = (size_t)(nl - w) + 1;
	}
	pv->hdr_start = off;
	mhdr_scan_init(&sc, w, len, off);
	while ((k = mhdr_next(&sc, &f)) == MHDR_FIELD || k == MHDR_JUNK) {
		struct msg_header *h;
		unsigned fl = 0;

		if (k == MHDR_JUNK)
			continue;
		nfields++;
		if (has_8bit(w + f.start, f.end - f.start))
			m->defects |= MSG_DEFECT_8BIT_HEADER;
		if (m->nheaders >= c->lim.max_headers) {
			m->limits |= MSG_LIMIT_HEADERS;
			over = 1;
		} else if (f.end - pv->hdr_start > c->lim.max_header_bytes) {
			m->limits |= MSG_LIMIT_HEADER_BYTES;
			over = 1;
		}
		if (over) {
			/* still let GMime see the MIME type of the body */
			if (f.name_len == 12 && g_ascii_strncasecmp(w + f.start, "Content-Type", 12) == 0) {
				late_ct = f.start;
				late_end_ct = f.end;
			} else if (f.name_len == 25 &&
			    g_ascii_strncasecmp(w + f.start, "Content-Transfer-Encoding", 25) == 0) {
				late_cte = f.start;
				late_end_cte = f.end;
			}
			continue;
		}
		if (m->nheaders == cap) {
			cap = cap != 0 ? cap * 2 : 32;
			m->headers = xrealloc(m->headers, cap * sizeof(*m->headers));
		}
		h = &m->headers[m->nheaders++];
		h->name = xstrndup(w + f.start, f.name_len);
		h->raw = mhdr_unfold(w + f.value, f.end - f.value);
		h->value = mhdr_decode(h->raw, strlen(h->raw), &fl);
		cs_flags(c, fl & MCS_INVALID);
		/* the field as GMime will see it */
		g_byte_array_append(c->arr, (const guint8 *)w + f.start, (guint)(f.end - f.start));
		if (w[f.end - 1] != '\n')
			g_byte_array_append(c->arr, (const guint8 *)"\n", 1);
	}
	if (late_end_ct > late_ct) {
		g_byte_array_append(c->arr, (const guint8 *)w + late_ct, (guint)(late_end_ct - late_ct));
		if (w[late_end_ct - 1] != '\n')
			g_byte_array_append(c->arr, (const guint8 *)"\n", 1);
	}
	if (late_end_cte > late_cte) {
		g_byte_array_append(c->arr, (const guint8 *)w + late_cte, (guint)(late_end_cte - late_cte));
		if (w[late_end_cte - 1] != '\n')
			g_byte_array_append(c->arr, (const guint8 *)"\n", 1);
	}
	if (nfields == 0) {
		/* no header block: everything is body */
		m->defects |= MSG_DEFECT_NO_HEADERS;
		pv->hdr_end = pv->hdr_start;
		pv->has_blank = 0;
		m->body_offset = pv->hdr_start;
		if (k == MHDR_END && f.start == pv->hdr_start) {
			/* an empty block: the body starts after the blank line */
			pv->has_blank = 1;
			m->body_offset = f.end;
		}
	} else if (k == MHDR_END) {
		pv->hdr_end = f.start;
		pv->has_blank = 1;
		m->body_offset = f.end;
	} else {
		pv->hdr_end = len;
		m->body_offset = len;
	}
	g_byte_array_append(c->arr, (const guint8 *)"\n", 1);
	pv->body_in_gbuf = c->arr->len;
	g_byte_array_append(c->arr, (const guint8 *)w + m->body_offset, (guint)(len - m->body_offset));
}

static void
top_fields(struct pctx *c)
{
	struct message *m = c->msg;
	const char *v;

	add_addrs(c, "From", &m->from, &m->nfrom);
	add_addrs(c, "Reply-To", &m->reply_to, &m->nreply_to);
	add_addrs(c, "To", &m->to, &m->nto);
	add_addrs(c, "Cc", &m->cc, &m->ncc);
	add_addrs(c, "Sender", &m->sender, &m->nsender);
	if ((v = message_header(m, "Subject")) != NULL)
		m->subject = xstrdup(v);
	for (size_t i = 0; i < m->nheaders; i++) {
		struct msg_header *h = &m->headers[i];

		if (m->message_id == NULL && util_strcasecmp(h->name, "Message-ID") == 0) {
			const char *lt = strchr(h->raw, '<'), *gt = lt != NULL ? strchr(lt, '>') : NULL;

			if (lt != NULL && gt != NULL)
				m->message_id = xstrndup(lt + 1, (size_t)(gt - lt - 1));
			else if (h->raw[0] != '\0')
				m->message_id = xstrdup(h->raw);
		} else if (m->date == -1 && util_strcasecmp(h->name, "Date") == 0)
			m->date = mhdr_date(h->raw);
		else if (util_strcasecmp(h->name, "Received") == 0) {
			m->received = xrealloc(m->received, (m->nreceived + 1) * sizeof(*m->received));
			mhdr_received(h->raw, &m->received[m->nreceived++]);
		}
	}
}

struct message *
message_parse(const char *raw, size_t len, const struct message_limits *lim)
{
	struct message *m = xcalloc(1, sizeof(*m));
	struct msg_priv *pv = xcalloc(1, sizeof(*pv));
	struct pctx c;
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *mime;
	size_t cut;

	message_lib_init();
	memset(&c, 0, sizeof(c));
	c.msg = m;
	c.priv = pv;
	message_limits_default(&c.lim);
	if (lim != NULL) {
		if (lim->max_depth)
			c.lim.max_depth = lim->max_depth;
		if (lim->max_parts)
			c.lim.max_parts = lim->max_parts;
		if (lim->max_headers)
			c.lim.max_headers = lim->max_headers;
		if (lim->max_header_bytes)
			c.lim.max_header_bytes = lim->max_header_bytes;
		if (lim->max_decoded)
			c.lim.max_decoded = lim->max_decoded;
		if (lim->max_urls)
			c.lim.max_urls = lim->max_urls;
		if (lim->max_html_nodes)
			c.lim.max_html_nodes = lim->max_html_nodes;
	}
	if (raw == NULL)
		len = 0;
	m->raw = raw;
	m->rawlen = len;
	m->date = -1;
	m->priv = pv;

	/* old Mac files end lines with CR alone: read them as LF (same length) */
	pv->work = raw != NULL ? raw : "";
	if (len > 0 && memchr(raw, '\n', len) == NULL && memchr(raw, '\r', len) != NULL) {
		pv->work_owned = xmalloc(len);
		for (size_t i = 0; i < len; i++)
			pv->work_owned[i] = raw[i] == '\r' ? '\n' : raw[i];
		pv->work = pv->work_owned;
	}

	c.opts = g_mime_parser_options_new();
	g_mime_parser_options_set_rfc2047_compliance_mode(c.opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_address_compliance_mode(c.opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_parameter_compliance_mode(c.opts, GMIME_RFC_COMPLIANCE_LOOSE);
	g_mime_parser_options_set_allow_addresses_without_domain(c.opts, TRUE);
	g_mime_parser_options_set_warning_callback(c.opts, gmime_warning, &c);

	c.arr = g_byte_array_sized_new((guint)(len + 16));
	scan_headers(&c, len);

	cut = mprescan((const char *)c.arr->data, c.arr->len, c.lim.max_depth, c.lim.max_parts,
	    c.opts, &m->limits);
	if (cut < c.arr->len) {
		g_byte_array_set_size(c.arr, (guint)cut);
		pv->gmime_cut = 1;
	}
	/* the array is ours (freed in message_free), not the stream's */
	stream = g_mime_stream_mem_new_with_byte_array(c.arr);
	g_mime_stream_mem_set_owner((GMimeStreamMem *)stream, FALSE);
	pv->stream = stream;
	pv->gbuf = (const char *)c.arr->data;
	pv->glen = c.arr->len;
	pv->arr = c.arr;

	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	mime = g_mime_parser_construct_message(parser, c.opts);
	g_object_unref(parser);

	top_fields(&c);
	c.urls = murls_new(c.lim.max_urls, &m->limits);
	if (mime != NULL && g_mime_message_get_mime_part(mime) != NULL) {
		walk(&c, g_mime_message_get_mime_part(mime), 0, 0);
		pv->has_mime = 1;
	} else if (pv->body_in_gbuf <= pv->glen)
		add_raw_body(&c, pv->body_in_gbuf);
	/* parts are read from their byte ranges from now on: the tree can go
	 * (it refers to c.opts, which goes too) */
	if (mime != NULL)
		g_object_unref(mime);
	g_object_unref(stream);
	pv->stream = NULL;
	m->text = mbuf_take(&c.text);
	m->html_text = mbuf_take(&c.html_text);
	m->urls = murls_take(c.urls, &m->nurls);
	murls_free(c.urls);
	/* the warning callback points at c: detach before c goes away */
	g_mime_parser_options_set_warning_callback(c.opts, NULL, NULL);
	g_mime_parser_options_free(c.opts);
	return m;
}

static void
free_addrs(struct msg_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(a[i].display);
		free(a[i].addr);
		free(a[i].domain);
	}
	free(a);
}

void
message_free(struct message *m)
{
	struct msg_priv *pv;

	if (m == NULL)
		return;
	pv = m->priv;
	for (size_t i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].raw);
		free(m->headers[i].value);
	}
	free(m->headers);
	free_addrs(m->from, m->nfrom);
	free_addrs(m->reply_to, m->nreply_to);
	free_addrs(m->to, m->nto);
	free_addrs(m->cc, m->ncc);
	free_addrs(m->sender, m->nsender);
	free(m->subject);
	free(m->message_id);
	free(m->text);
	free(m->html_text);
	for (size_t i = 0; i < m->nparts; i++) {
		struct msg_part *p = &m->parts[i];

		free(p->content_type);
		free(p->charset);
		free(p->filename);
		free(p->disposition);
		free(p->encoding);
		free(p->text);
		free(p->html);
		if (pv != NULL)
			free(pv->src[i].copy);
	}
	free(m->parts);
	for (size_t i = 0; i < m->nurls; i++) {
		free(m->urls[i].url);
		free(m->urls[i].scheme);
		free(m->urls[i].host);
		free(m->urls[i].host_utf8);
		free(m->urls[i].domain);
		free(m->urls[i].text);
	}
	free(m->urls);
	for (size_t i = 0; i < m->nforms; i++) {
		free(m->forms[i].action);
		free(m->forms[i].method);
	}
	free(m->forms);
	for (size_t i = 0; i < m->nreceived; i++) {
		free(m->received[i].raw);
		free(m->received[i].from_name);
		free(m->received[i].from_ip);
		free(m->received[i].by);
	}
	free(m->received);
	if (pv != NULL) {
		if (pv->stream != NULL)
			g_object_unref(pv->stream);
		if (pv->arr != NULL)
			g_byte_array_unref(pv->arr);
		free(pv->src);
		free(pv->work_owned);
		free(pv);
	}
	free(m);
}

const char *
message_header(const struct message *msg, const char *name)
{
	for (size_t i = 0; i < msg->nheaders; i++)
		if (util_strcasecmp(msg->headers[i].name, name) == 0)
			return msg->headers[i].value;
	return NULL;
}

size_t
message_header_count(const struct message *msg, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < msg->nheaders; i++)
		if (util_strcasecmp(msg->headers[i].name, name) == 0)
			n++;
	return n;
}

unsigned char *
message_part_bytes(const struct message *msg, size_t i, size_t max, size_t *len, int *truncated)
{
	const struct msg_priv *pv = msg->priv;
	struct mbuf out = { NULL, 0, 0 };
	const char *p;
	size_t n, total;
	int trunc;

	if (len != NULL)
		*len = 0;
	if (truncated != NULL)
		*truncated = 0;
	if (pv == NULL || i >= msg->nparts)
		return NULL;
	src_bytes(pv, &pv->src[i], &p, &n);
	total = decode_content(p, n, pv->src[i].encoding, &out, max, &trunc);
	(void)total;
	if (truncated != NULL)
		*truncated = trunc;
	if (len != NULL)
		*len = out.len;
	return (unsigned char *)mbuf_take(&out);
}
