/*
 * attach_zip.c - a message's attachments packed into one AES-256 ZIP with
 * a generated password (attachment protection, compatibility mode).
 *
 * The message is parsed afresh with GMime from msg->raw (the struct is
 * only read: thread-safe), the attachment parts are taken out of their
 * multiparts, their decoded bytes go into an in-memory ZIP (libzip, each
 * entry ZIP_EM_AES_256, which unzip tools since 7-Zip 9 and Windows
 * Explorer with 7-Zip open; the legacy ZipCrypto is not offered), and the
 * ZIP goes back as one base64 application/zip part.  The message is
 * written with CRLF line endings.
 *
 * Secrets: the password lives in the result only; it is wiped by
 * attach_zip_clear() and never passed to the log.  Error messages name
 * files and sizes, never the password.
 *
 * Limits: max_bytes of attachments in all (decoded); nesting as deep as
 * the message parser allows.  Any failure leaves nothing allocated.
 */
#include "outbound/attach_zip.h"
#include "outbound/attach_link.h"
#include "util/util.h"

#include <glib.h>
#include <gmime/gmime.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

/* No 0/O/o, 1/l/I: a password read aloud or typed from paper. */
static const char pw_alphabet[] =
    "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";

int
attach_zip_password(char *out, size_t len)
{
	if (len < 8 || len > ATTACH_ZIP_PW_MAX)
		return -1;
	if (sodium_init() < 0)
		panic("libsodium cannot initialise");
	for (size_t i = 0; i < len; i++)
		out[i] = pw_alphabet[randombytes_uniform(sizeof(pw_alphabet) - 1)];
	out[len] = '\0';
	return 0;
}

struct packed {
	zip_t *za;
	zip_source_t *src;	/* the archive's own buffer */
	const char *password;
	char **names;		/* given so far, for uniqueness */
	size_t n;
	size_t bytes, max;
	char *err;
	size_t errlen;
	int failed;
};

/* A file name without directories or control characters, unique in the
 * archive ("a.txt", "a (2).txt").  malloc'ed. */
static char *
entry_name(struct packed *pk, const char *name, const char *fallback)
{
	const char *base = name != NULL && *name != '\0' ? name : fallback;
	const char *slash;
	char *clean, *out, *dot;

	for (const char *p = base; (slash = strpbrk(p, "/\\")) != NULL; p = slash + 1)
		base = slash + 1;
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		base = fallback;
	clean = g_utf8_make_valid(base, -1);
	for (char *p = clean; *p; p++)
		if ((unsigned char)*p < ' ' || *p == 0x7f)
			*p = '_';
	out = xstrdup(clean);
	for (int k = 2;; k++) {
		int dup = 0;

		for (size_t i = 0; i < pk->n && !dup; i++)
			dup = g_ascii_strcasecmp(pk->names[i], out) == 0;
		if (!dup)
			break;
		free(out);
		dot = strrchr(clean, '.');
		if (dot != NULL && dot != clean)
			out = xasprintf("%.*s (%d)%s", (int)(dot - clean), clean, k, dot);
		else
			out = xasprintf("%s (%d)", clean, k);
	}
	g_free(clean);
	pk->names = xrealloc(pk->names, (pk->n + 1) * sizeof(*pk->names));
	pk->names[pk->n++] = xstrdup(out);
	return out;
}

static void
pack_fail(struct packed *pk, const char *fmt, const char *what)
{
	if (!pk->failed)
		snprintf(pk->err, pk->errlen, fmt, what);
	pk->failed = 1;
}

/* Add one file (bytes malloc'ed; the archive takes them). */
static void
pack_add(struct packed *pk, const char *name, unsigned char *bytes, size_t len)
{
	zip_source_t *s;
	zip_int64_t idx;

	if (pk->failed) {
		free(bytes);
		return;
	}
	pk->bytes += len;
	if (pk->max > 0 && pk->bytes > pk->max) {
		free(bytes);
		pack_fail(pk, "attachments larger than the limit (at %s)", name);
		return;
	}
	if (len == 0) {
		/* libzip drops (and never frees) the data of an empty buffer */
		free(bytes);
		bytes = NULL;
	}
	if ((s = zip_source_buffer(pk->za, bytes, len, bytes != NULL)) == NULL) {
		free(bytes);
		pack_fail(pk, "zip: %s", zip_strerror(pk->za));
		return;
	}
	if ((idx = zip_file_add(pk->za, name, s, ZIP_FL_ENC_UTF_8)) < 0) {
		zip_source_free(s);
		pack_fail(pk, "zip: %s", zip_strerror(pk->za));
		return;
	}
	if (zip_file_set_encryption(pk->za, (zip_uint64_t)idx, ZIP_EM_AES_256, pk->password) < 0)
		pack_fail(pk, "zip: AES-256: %s", zip_strerror(pk->za));
}

static void
take_files(struct packed *pk, GMimeMultipart *mp)
{
	GMimeContentType *ct = g_mime_object_get_content_type((GMimeObject *)mp);

	/* in document order, so that the first of two equal names keeps it */
	for (int i = 0; i < g_mime_multipart_get_count(mp) && !pk->failed;) {
		GMimeObject *child = g_mime_multipart_get_part(mp, i);

		if (GMIME_IS_MULTIPART(child)) {
			take_files(pk, (GMimeMultipart *)child);
			i++;
			continue;
		}
		if (!attach_is_file(child, ct)) {
			i++;
			continue;
		}
		{
			const char *fn = GMIME_IS_PART(child) ?
			    g_mime_part_get_filename((GMimePart *)child) : NULL;
			char *fallback = xasprintf(GMIME_IS_MESSAGE_PART(child) ?
			    "message-%d.eml" : "attachment-%d.bin", i + 1);
			char *name = entry_name(pk, fn, fallback);
			size_t len = 0;
			unsigned char *b = attach_part_bytes(child, &len);

			pack_add(pk, name, b, len);
			free(name);
			free(fallback);
		}
		/* remove_at hands back the part with its reference */
		GMimeObject *gone = g_mime_multipart_remove_at(mp, i);
		if (gone != NULL)
			g_object_unref(gone);
	}
}

/* The finished archive's bytes.  malloc'ed, or NULL. */
static unsigned char *
archive_bytes(zip_source_t *src, size_t *len)
{
	zip_int64_t n;
	unsigned char *b = NULL;

	if (zip_source_open(src) < 0)
		return NULL;
	if (zip_source_seek(src, 0, SEEK_END) == 0 && (n = zip_source_tell(src)) > 0 &&
	    zip_source_seek(src, 0, SEEK_SET) == 0) {
		b = xmalloc((size_t)n);
		if (zip_source_read(src, b, (zip_uint64_t)n) != n) {
			free(b);
			b = NULL;
		} else
			*len = (size_t)n;
	}
	zip_source_close(src);
	return b;
}

static GMimePart *
zip_part(const unsigned char *bytes, size_t len, const char *zipname)
{
	GMimePart *part = g_mime_part_new_with_type("application", "zip");
	GMimeStream *st = g_mime_stream_mem_new();
	GMimeDataWrapper *w;

	g_mime_stream_write(st, (const char *)bytes, len);
	g_mime_stream_reset(st);
	w = g_mime_data_wrapper_new_with_stream(st, GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(part, w);
	g_mime_part_set_filename(part, zipname);
	g_mime_object_set_disposition((GMimeObject *)part, "attachment");
	g_mime_part_set_content_encoding(part, GMIME_CONTENT_ENCODING_BASE64);
	g_object_unref(w);
	g_object_unref(st);
	return part;
}

/* Write the message with CRLF line endings.  malloc'ed. */
void
attach_zip_clear(struct attach_zip *z)
{
	if (z == NULL)
		return;
	free(z->message);
	sodium_memzero(z->password, sizeof(z->password));
	memset(z, 0, sizeof(*z));
}

int
attach_zip_pack(const struct message *msg, const char *zipname, size_t pwlen,
    size_t max_bytes, struct attach_zip *out, char *err, size_t errlen)
{
	GMimeStream *in = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *m = NULL;
	GMimeObject *root;
	struct packed pk;
	zip_error_t ze;
	unsigned char *zbytes = NULL;
	size_t zlen = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	memset(&pk, 0, sizeof(pk));
	pk.err = err;
	pk.errlen = errlen;
	pk.max = max_bytes;
	if (msg == NULL || msg->raw == NULL) {
		snprintf(err, errlen, "no message");
		return -1;
	}
	if (attach_zip_password(out->password, pwlen != 0 ? pwlen : 16) < 0) {
		snprintf(err, errlen, "password length %zu out of range", pwlen);
		return -1;
	}
	pk.password = out->password;
	if (zipname == NULL || *zipname == '\0')
		zipname = "attachments.zip";

	/* the message, parsed afresh (msg itself is shared and read-only) */
	in = g_mime_stream_mem_new_with_buffer(msg->raw, msg->rawlen);
	parser = g_mime_parser_new_with_stream(in);
	m = g_mime_parser_construct_message(parser, NULL);
	if (m == NULL || (root = g_mime_message_get_mime_part(m)) == NULL) {
		snprintf(err, errlen, "the message cannot be parsed");
		goto done;
	}
	zip_error_init(&ze);
	if ((pk.src = zip_source_buffer_create(NULL, 0, 0, &ze)) == NULL ||
	    (pk.za = zip_open_from_source(pk.src, ZIP_TRUNCATE, &ze)) == NULL) {
		snprintf(err, errlen, "zip: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		if (pk.src != NULL)
			zip_source_free(pk.src);
		pk.src = NULL;
		goto done;
	}
	zip_error_fini(&ze);
	zip_source_keep(pk.src);

	if (GMIME_IS_MULTIPART(root))
		take_files(&pk, (GMimeMultipart *)root);
	else if (attach_is_file(root, NULL)) {
		/* the whole body is one file: it becomes the ZIP's */
		size_t len = 0;
		unsigned char *b = attach_part_bytes(root, &len);
		const char *fn = GMIME_IS_PART(root) ? g_mime_part_get_filename((GMimePart *)root) : NULL;
		char *name = entry_name(&pk, fn, "attachment-1.bin");

		pack_add(&pk, name, b, len);
		free(name);
		if (!pk.failed) {
			GMimeTextPart *t = g_mime_text_part_new_with_subtype("plain");

			g_mime_text_part_set_text(t, "");
			g_mime_message_set_mime_part(m, (GMimeObject *)t);
			g_object_unref(t);
			root = g_mime_message_get_mime_part(m);
		}
	}
	if (pk.failed)
		goto done;
	if (pk.n == 0) {
		ret = 1;
		goto done;
	}
	if (zip_close(pk.za) < 0) {
		snprintf(err, errlen, "zip: %s", zip_strerror(pk.za));
		zip_discard(pk.za);
		pk.za = NULL;
		goto done;
	}
	pk.za = NULL;
	if ((zbytes = archive_bytes(pk.src, &zlen)) == NULL) {
		snprintf(err, errlen, "zip: the archive cannot be read back");
		goto done;
	}

	/* the ZIP at the end of a top-level multipart/mixed */
	{
		GMimePart *zp = zip_part(zbytes, zlen, zipname);

		if (GMIME_IS_MULTIPART(root) && g_mime_content_type_is_type(
		    g_mime_object_get_content_type(root), "multipart", "mixed"))
			g_mime_multipart_add((GMimeMultipart *)root, (GMimeObject *)zp);
		else {
			GMimeMultipart *mixed = g_mime_multipart_new_with_subtype("mixed");

			g_mime_multipart_add(mixed, root);
			g_mime_multipart_add(mixed, (GMimeObject *)zp);
			g_mime_message_set_mime_part(m, (GMimeObject *)mixed);
			g_object_unref(mixed);
		}
		g_object_unref(zp);
	}
	out->message = attach_message_bytes(m, &out->len);
	out->nfiles = pk.n;
	ret = 0;
done:
	if (pk.za != NULL)
		zip_discard(pk.za);
	if (pk.src != NULL)
		zip_source_free(pk.src);
	free(zbytes);
	for (size_t i = 0; i < pk.n; i++)
		free(pk.names[i]);
	free(pk.names);
	if (m != NULL)
		g_object_unref(m);
	if (parser != NULL)
		g_object_unref(parser);
	if (in != NULL)
		g_object_unref(in);
	if (ret != 0) {
		int keep = ret;

		attach_zip_clear(out);
		return keep;
	}
	return 0;
}
