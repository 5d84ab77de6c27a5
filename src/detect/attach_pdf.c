/*
 * attach_pdf.c - active content in PDF files.
 *
 * The names that make a PDF do something are looked for in the file and
 * in every stream that inflates (zlib): objects hidden in compressed object
 * streams are found too, and so are names written with #xx escapes
 * (/J#61vaScript is /JavaScript to a reader, so it is to us).
 *
 *   /JavaScript, /JS              PDF_JAVASCRIPT
 *   /Launch                       PDF_LAUNCH (runs a program)
 *   /EmbeddedFile(s), /FileAttachment  PDF_EMBEDDED_FILE; the embedded
 *                                 file itself is scanned one level deeper
 *   /OpenAction, /AA with one of the above  PDF_AUTO_ACTION
 *
 * Limits: PDF_MAX_STREAMS streams, PDF_MAX_INFLATE bytes inflated per
 * stream and PDF_MAX_TOTAL per file; past them the rest is not inflated
 * (the raw bytes are still searched).  Encrypted PDFs keep their streams
 * to themselves: their names in the clear still count.
 */
#include "detect/attach.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PDF_MAX_STREAMS	4000
#define PDF_MAX_INFLATE	(16u << 20)
#define PDF_MAX_TOTAL	(64u << 20)

enum {
	PN_JS = 1, PN_LAUNCH = 2, PN_EMBEDDED = 4, PN_AUTO = 8,
};

struct pdf_state {
	unsigned found;
	size_t total;
	unsigned streams;
	unsigned embedded;
};

static int
is_delim(unsigned char c)
{
	return c <= ' ' || c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' ||
	    c == '{' || c == '}' || c == '/' || c == '%' || c == 0x7f;
}


static unsigned
name_flag(const char *n)
{
	if (strcmp(n, "JavaScript") == 0 || strcmp(n, "JS") == 0)
		return PN_JS;
	if (strcmp(n, "Launch") == 0)
		return PN_LAUNCH;
	if (strcmp(n, "EmbeddedFile") == 0 || strcmp(n, "EmbeddedFiles") == 0 ||
	    strcmp(n, "FileAttachment") == 0)
		return PN_EMBEDDED;
	if (strcmp(n, "OpenAction") == 0 || strcmp(n, "AA") == 0)
		return PN_AUTO;
	return 0;
}

/* Every /Name in buf, #xx decoded. */
static unsigned
scan_names(const unsigned char *buf, size_t len)
{
	unsigned found = 0;

	for (size_t i = 0; i < len; i++) {
		char name[32];
		size_t n = 0, j;

		if (buf[i] != '/')
			continue;
		for (j = i + 1; j < len && !is_delim(buf[j]); j++) {
			int c = buf[j];
			if (c == '#' && j + 2 < len && util_hexval(buf[j + 1]) >= 0 && util_hexval(buf[j + 2]) >= 0) {
				c = util_hexval(buf[j + 1]) * 16 + util_hexval(buf[j + 2]);
				j += 2;
			}
			if (n + 1 < sizeof(name))
				name[n++] = (char)c;
			else {
				n = sizeof(name);	/* too long to be one of ours */
			}
		}
		if (n < sizeof(name)) {
			name[n] = '\0';
			found |= name_flag(name);
		}
		i = j - 1;
	}
	return found;
}

static unsigned char *
inflate_stream(const unsigned char *in, size_t len, size_t max, size_t *outlen)
{
	z_stream z;
	size_t cap = len * 4 + 1024 < max ? len * 4 + 1024 : max;
	unsigned char *out = xmalloc(cap);
	int rc;

	memset(&z, 0, sizeof(z));
	if (inflateInit(&z) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)(len > UINT32_MAX ? UINT32_MAX : len);
	for (;;) {
		if (z.total_out == cap) {
			if (cap >= max)
				break;
			cap = cap * 2 < max ? cap * 2 : max;
			out = xrealloc(out, cap);
		}
		z.next_out = out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		rc = inflate(&z, Z_NO_FLUSH);
		if (rc == Z_STREAM_END)
			break;
		if (rc != Z_OK && rc != Z_BUF_ERROR)
			break;
		if (rc == Z_BUF_ERROR && z.avail_in == 0)
			break;
	}
	*outlen = z.total_out;
	inflateEnd(&z);
	if (*outlen == 0) {
		free(out);
		return NULL;
	}
	return out;
}

void
attach_pdf(struct attach_scan *s, const struct attach_file *f)
{
	struct pdf_state ps;
	const unsigned char *p = f->buf, *end = f->buf + f->len;
	char *safe;

	memset(&ps, 0, sizeof(ps));
	ps.found = scan_names(f->buf, f->len);
	while (p < end && ps.streams < PDF_MAX_STREAMS && ps.total < PDF_MAX_TOTAL) {
		const unsigned char *st = memmem(p, (size_t)(end - p), "stream", 6), *data, *es;
		unsigned char *out;
		size_t outlen = 0;

		if (st == NULL)
			break;
		if (st >= f->buf + 3 && memcmp(st - 3, "end", 3) == 0) {
			p = st + 6;
			continue;
		}
		data = st + 6;
		if (data < end && *data == '\r')
			data++;
		if (data < end && *data == '\n')
			data++;
		es = memmem(data, (size_t)(end - data), "endstream", 9);
		if (es == NULL)
			es = end;
		ps.streams++;
		out = inflate_stream(data, (size_t)(es - data), PDF_MAX_INFLATE, &outlen);
		if (out != NULL) {
			const unsigned char *dict = st - (st - f->buf > 512 ? 512 : st - f->buf);
			ps.total += outlen;
			ps.found |= scan_names(out, outlen);
			/* an embedded file's own bytes: scan them as a file */
			if (memmem(dict, (size_t)(st - dict), "/EmbeddedFile", 13) != NULL &&
			    ps.embedded < 16) {
				struct attach_file nf;
				char *path = xasprintf("%s/(embedded file %u)",
				    f->path ? f->path : "(pdf)", ++ps.embedded);

				memset(&nf, 0, sizeof(nf));
				nf.path = path;
				nf.buf = out;
				nf.len = outlen;
				nf.depth = f->depth + 1;
				nf.in_archive = 1;
				nf.engines_done = 1;	/* ClamAV reads PDFs itself */
				attach_file(s, &nf);
				free(path);
			}
			free(out);
		}
		p = es;
		if (attach_out_of_time(s, "a PDF"))
			break;
	}
	if (ps.found == 0)
		return;
	safe = attach_safe_name(f->path ? f->path : f->name);
	if (ps.found & PN_JS)
		attach_flag(s, 0, "PDF_JAVASCRIPT", "%s: JavaScript in a PDF", safe);
	if (ps.found & PN_LAUNCH)
		attach_flag(s, 1, "PDF_LAUNCH", "%s: a Launch action in a PDF", safe);
	if (ps.found & PN_EMBEDDED)
		attach_flag(s, 0, "PDF_EMBEDDED_FILE", "%s: an embedded file in a PDF", safe);
	if ((ps.found & PN_AUTO) && (ps.found & (PN_JS | PN_LAUNCH)))
		attach_flag(s, 0, "PDF_AUTO_ACTION", "%s: %s run when the PDF is opened", safe,
		    (ps.found & PN_LAUNCH) ? "a Launch action" : "JavaScript");
	free(safe);
}
