/*
 * attach_link.c - the pure parts of the download-link protection: taking
 * the files out of a message, putting the notice in their place, the
 * notice's texts, and the download's Content-Disposition.
 *
 * The message is parsed afresh with GMime from the bytes given (nothing
 * shared is touched: thread-safe).  The notice names files as plain text
 * and, in the HTML part, HTML-escaped: a file name is the sender's, and
 * the recipient's mail reader must see it as text.
 *
 * Limits: a file name is cut at 200 bytes; names are made unique
 * ("a.txt", "a (2).txt") so that the download page can tell them apart.
 */
#include "message/message_int.h"	/* message_lib_init: GMime started once */
#include "outbound/attach_link.h"
#include "outbound/attach_zip.h"
#include "util/buf.h"
#include "util/util.h"

#include <glib.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_BYTES	200

int
attach_link_code(char *out, size_t len)
{
	return attach_zip_password(out, len);
}

void
attach_link_size(uint64_t bytes, char *buf, size_t len)
{
	if (bytes < 1024)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else if (bytes < 1024 * 1024)
		snprintf(buf, len, "%.1f KB", (double)bytes / 1024.0);
	else
		snprintf(buf, len, "%.1f MB", (double)bytes / (1024.0 * 1024.0));
}

/* A name without directories or control bytes, valid UTF-8, unique among
 * the files so far.  malloc'ed. */
static char *
clean_name(const struct attach_link_split *sp, const char *name, const char *fallback)
{
	const char *base = name != NULL && *name != '\0' ? name : fallback;
	const char *slash;
	char *valid, *out, *dot;

	for (const char *p = base; (slash = strpbrk(p, "/\\")) != NULL; p = slash + 1)
		base = slash + 1;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		base = fallback;
	valid = g_utf8_make_valid(base, -1);
	if (strlen(valid) > NAME_MAX_BYTES) {
		const char *end = valid + NAME_MAX_BYTES;

		end = g_utf8_find_prev_char(valid, end + 1);
		valid[end ? end - valid : NAME_MAX_BYTES] = '\0';
	}
	for (char *p = valid; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f || *p == '"')
			*p = '_';
	out = xstrdup(valid);
	for (int k = 2;; k++) {
		int dup = 0;

		for (size_t i = 0; i < sp->nfiles && !dup; i++)
			dup = g_ascii_strcasecmp(sp->files[i].name, out) == 0;
		if (!dup)
			break;
		free(out);
		dot = strrchr(valid, '.');
		if (dot != NULL && dot != valid)
			out = xasprintf("%.*s (%d)%s", (int)(dot - valid), valid, k, dot);
		else
			out = xasprintf("%s (%d)", valid, k);
	}
	g_free(valid);
	return out;
}

unsigned char *
attach_part_bytes(GMimeObject *obj, size_t *len)
{
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *a;
	unsigned char *b;

	if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *w = g_mime_part_get_content((GMimePart *)obj);

		if (w != NULL)
			g_mime_data_wrapper_write_to_stream(w, mem);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message((GMimeMessagePart *)obj);

		if (m != NULL)
			g_mime_object_write_to_stream((GMimeObject *)m, NULL, mem);
	}
	a = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
	*len = a->len;
	b = xmalloc(a->len + 1);
	if (a->len > 0)
		memcpy(b, a->data, a->len);
	g_object_unref(mem);
	return b;
}

int
attach_is_file(GMimeObject *obj, GMimeContentType *parent)
{
	const char *disp = g_mime_object_get_disposition(obj);
	const char *name = NULL;

	if (GMIME_IS_MULTIPART(obj))
		return 0;
	if (GMIME_IS_PART(obj))
		name = g_mime_part_get_filename((GMimePart *)obj);
	if (disp != NULL && g_ascii_strcasecmp(disp, "attachment") == 0)
		return 1;
	/* inline images of an HTML body stay where the HTML refers to them */
	if (parent != NULL && g_mime_content_type_is_type(parent, "multipart", "related"))
		return 0;
	return name != NULL && *name != '\0';
}

static void
add_file(struct attach_link_split *sp, GMimeObject *obj, int pos)
{
	const char *fn = GMIME_IS_PART(obj) ? g_mime_part_get_filename((GMimePart *)obj) : NULL;
	char *fallback = xasprintf(GMIME_IS_MESSAGE_PART(obj) ? "message-%d.eml" :
	    "attachment-%d.bin", pos);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	struct attach_link_file f;

	f.name = clean_name(sp, fn, fallback);
	f.ctype = GMIME_IS_MESSAGE_PART(obj) ? xstrdup("message/rfc822") :
	    ct != NULL ? xasprintf("%s/%s", g_mime_content_type_get_media_type(ct),
	    g_mime_content_type_get_media_subtype(ct)) : xstrdup("application/octet-stream");
	f.bytes = attach_part_bytes(obj, &f.len);
	sp->files = xrealloc(sp->files, (sp->nfiles + 1) * sizeof(*sp->files));
	sp->files[sp->nfiles++] = f;
	free(fallback);
}

static void
take_files(struct attach_link_split *sp, GMimeMultipart *mp)
{
	GMimeContentType *ct = g_mime_object_get_content_type((GMimeObject *)mp);

	for (int i = 0; i < g_mime_multipart_get_count(mp);) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);

		if (GMIME_IS_MULTIPART(child)) {
			take_files(sp, (GMimeMultipart *)child);
			i++;
		} else if (attach_is_file(child, ct)) {
			add_file(sp, child, (int)sp->nfiles + 1);
			/* remove_at hands back the part with its reference */
			GMimeObject *gone = g_mime_multipart_remove_at(mp, i);
			if (gone != NULL)
				g_object_unref(gone);
		} else {
			i++;
		}
	}
}

void
attach_link_split_free(struct attach_link_split *sp)
{
	if (sp == NULL)
		return;
	for (size_t i = 0; i < sp->nfiles; i++) {
		free(sp->files[i].name);
		free(sp->files[i].ctype);
		free(sp->files[i].bytes);
	}
	free(sp->files);
	if (sp->msg != NULL)
		g_object_unref(sp->msg);
	memset(sp, 0, sizeof(*sp));
}

int
attach_link_split(const char *raw, size_t len, struct attach_link_split *sp)
{
	GMimeStream *in;
	GMimeParser *parser;
	GMimeMessage *m;
	GMimeObject *root;

	memset(sp, 0, sizeof(*sp));
	message_lib_init();
	in = g_mime_stream_mem_new_with_buffer(raw, len);
	parser = g_mime_parser_new_with_stream(in);
	m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(in);
	if (m == NULL)
		return -1;
	sp->msg = m;
	if ((root = g_mime_message_get_mime_part(m)) == NULL) {
		attach_link_split_free(sp);
		return -1;
	}
	if (GMIME_IS_MULTIPART(root)) {
		take_files(sp, (GMimeMultipart *)root);
	} else if (attach_is_file(root, NULL)) {
		/* the whole body is one file: an empty text takes its place */
		GMimeTextPart *t = g_mime_text_part_new_with_subtype("plain");

		add_file(sp, root, 1);
		g_mime_text_part_set_text(t, "");
		g_mime_message_set_mime_part(m, (GMimeObject *)t);
		g_object_unref(t);
	}
	if (sp->nfiles == 0) {
		attach_link_split_free(sp);
		return 1;
	}
	return 0;
}

static GMimeObject *
text_part(const char *subtype, const char *text)
{
	GMimeTextPart *t = g_mime_text_part_new_with_subtype(subtype);

	g_mime_text_part_set_charset(t, "utf-8");
	g_mime_text_part_set_text(t, text);
	g_mime_part_set_content_encoding((GMimePart *)t, GMIME_CONTENT_ENCODING_BASE64);
	return (GMimeObject *)t;
}

char *
attach_link_join(struct attach_link_split *sp, const char *text, const char *html,
    size_t *len)
{
	GMimeMessage *m = sp->msg;
	GMimeObject *root = g_mime_message_get_mime_part(m);
	GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
	GMimeObject *t = text_part("plain", text), *h = text_part("html", html);

	g_mime_multipart_add(alt, t);
	g_mime_multipart_add(alt, h);
	g_object_unref(t);
	g_object_unref(h);
	if (GMIME_IS_MULTIPART(root) && g_mime_content_type_is_type(
	    g_mime_object_get_content_type(root), "multipart", "mixed")) {
		g_mime_multipart_add((GMimeMultipart *)root, (GMimeObject *)alt);
	} else {
		GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");

		g_mime_multipart_add(mixed, root);
		g_mime_multipart_add(mixed, (GMimeObject *)alt);
		g_mime_message_set_mime_part(m, (GMimeObject *)mixed);
		g_object_unref(mixed);
	}
	g_object_unref(alt);
	return attach_message_bytes(m, len);
}

char *
attach_message_bytes(GMimeMessage *m, size_t *len)
{
	GMimeFormatOptions *fmt = g_mime_format_options_new();
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *a;
	char *s;

	g_mime_format_options_set_newline_format(fmt, GMIME_NEWLINE_FORMAT_DOS);
	g_mime_object_write_to_stream((GMimeObject *)m, fmt, mem);
	a = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
	s = xmalloc(a->len + 1);
	if (a->len > 0)
		memcpy(s, a->data, a->len);
	s[a->len] = '\0';
	*len = a->len;
	g_object_unref(mem);
	g_mime_format_options_free(fmt);
	return s;
}

static void
put_text(struct buf *b, const char *s, int html)
{
	if (html)
		buf_html(b, s);
	else
		buf_str(b, s);
}

static void
notice_lang(struct buf *b, const struct attach_link_notice *n, int html, int ja)
{
	char when[64], size[32];
	time_t t = (time_t)(n->expires_ms / 1000);
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M %Z", &tm);
	buf_str(b, html ? "<p>" : "");
	buf_str(b, ja ? "このメールの添付ファイルは、安全のため次のリンクからダウンロードしてください。" :
	    "The attachments of this mail are available for download at this link.");
	buf_str(b, html ? "</p>\r\n<ul>\r\n" : "\r\n\r\n");
	for (size_t i = 0; i < n->nfiles; i++) {
		attach_link_size(n->files[i].len, size, sizeof(size));
		buf_str(b, html ? "<li>" : "  - ");
		put_text(b, n->files[i].name, html);
		buf_printf(b, " (%s)%s", size, html ? "</li>\r\n" : "\r\n");
	}
	if (html) {
		buf_str(b, "</ul>\r\n<p><a href=\"");
		put_text(b, n->url, 1);
		buf_str(b, "\">");
		put_text(b, n->url, 1);
		buf_str(b, "</a></p>\r\n<p>");
	} else {
		buf_printf(b, "\r\n  %s\r\n\r\n", n->url);
	}
	if (ja)
		buf_printf(b, "有効期限: %s", when);
	else
		buf_printf(b, "The link works until %s", when);
	if (n->max_downloads > 0)
		buf_printf(b, ja ? "(ダウンロードは合計 %lld 回まで)" :
		    " for %lld downloads in all", (long long)n->max_downloads);
	buf_str(b, ja ? "。" : ".");
	if (n->code)
		buf_str(b, ja ? "ダウンロードには、別のメールでお送りするコードが必要です。" :
		    " The download asks for a code that comes in a separate mail.");
	buf_str(b, html ? "</p>\r\n" : "\r\n");
}

char *
attach_link_notice_render(const struct attach_link_notice *n, int html)
{
	struct buf b = { 0 };

	if (html)
		buf_str(&b, "<!DOCTYPE html>\r\n<html><head><meta charset=\"utf-8\"></head><body>\r\n");
	else
		buf_str(&b, "----------------------------------------\r\n");
	notice_lang(&b, n, html, 1);
	buf_str(&b, html ? "<hr>\r\n" : "\r\n");
	notice_lang(&b, n, html, 0);
	if (html)
		buf_str(&b, "</body></html>\r\n");
	else
		buf_str(&b, "----------------------------------------\r\n");
	return buf_steal(&b, NULL);
}

char *
attach_link_disposition(const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	struct buf b = { 0 };
	int ascii = 1;

	buf_str(&b, "attachment; filename=\"");
	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		if (*p >= 0x80)
			ascii = 0;
		if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			buf_str(&b, "_");
		else
			buf_add(&b, p, 1);
	}
	buf_str(&b, "\"");
	if (!ascii) {
		buf_str(&b, "; filename*=UTF-8''");
		for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
			/* attr-char of RFC 5987 */
			if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || strchr("!#$&+-.^_`|~", *p) != NULL)
				buf_add(&b, p, 1);
			else
				buf_printf(&b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
		}
	}
	return buf_steal(&b, NULL);
}

char *
attach_link_mark(const char *raw, size_t len, const char *id, size_t *outlen)
{
	char *head = xasprintf("%s: %s\r\n", ATTACH_LINK_MARK, id);
	size_t hl = strlen(head);
	char *out = xmalloc(hl + len + 1);

	memcpy(out, head, hl);
	memcpy(out + hl, raw, len);
	out[hl + len] = '\0';
	*outlen = hl + len;
	free(head);
	return out;
}

int
attach_link_marked(const char *raw, size_t len, const char *id)
{
	size_t ml = strlen(ATTACH_LINK_MARK), idl = strlen(id);
	const char *p = raw, *end = raw + len;

	/* header lines until the first empty line */
	while (p < end && *p != '\r' && *p != '\n') {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end;

		if ((size_t)(le - p) > ml && g_ascii_strncasecmp(p, ATTACH_LINK_MARK, ml) == 0 &&
		    p[ml] == ':') {
			const char *v = p + ml + 1, *ve = le;

			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			if ((size_t)(ve - v) == idl && memcmp(v, id, idl) == 0)
				return 1;
		}
		if (eol == NULL)
			break;
		p = eol + 1;
	}
	return 0;
}
