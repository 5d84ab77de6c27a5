/*
 * attach_office.c - macros, external templates and embedded objects in
 * Office documents (OOXML, OLE2, RTF).
 *
 * OOXML (.docx/.docm/.xlsm/...; a zip with [Content_Types].xml): the entries
 * are read through the bounded zip reader of attach_archive.c.
 *   vbaProject.bin       OFFICE_MACRO; the VBA project inside is an OLE2
 *                        file and is analysed as below
 *   xl/macrosheets/      OFFICE_XLM_MACRO (Excel 4.0 macro sheets)
 *   *.rels               a relationship with TargetMode="External" that
 *                        loads a template (attachedTemplate), an OLE object,
 *                        a frame or a sub-document, or a target with an
 *                        mhtml:/ms-msdt: scheme (Follina): OFFICE_EXTERNAL_TEMPLATE
 *   embeddings/...       scanned as files one level deeper
 * OLE2 (.doc/.xls/.ppt, and vbaProject.bin), read with libgsf:
 *   a "VBA" storage      OFFICE_MACRO; each module's source is found (its
 *                        compressed container starts with "Attribute VB_"),
 *                        decompressed (MS-OVBA 2.4.1) and searched for
 *                        auto-run entry points (OFFICE_MACRO_AUTOEXEC) and
 *                        for what droppers do (OFFICE_MACRO_SUSPICIOUS); the
 *                        YARA rules see the source too
 *   Workbook BOUNDSHEET  a macro sheet: OFFICE_XLM_MACRO
 *   \1Ole10Native        a packaged file: OFFICE_EMBEDDED_OBJECT, and the
 *                        file is scanned one level deeper under its own name
 *   EncryptedPackage     a password-protected document: ARCHIVE_ENCRYPTED
 * RTF: \object with \objdata: OFFICE_EMBEDDED_OBJECT (more so with \objupdate,
 *   which opens it without a click); the hex data is decoded and an OLE2
 *   file inside is scanned one level deeper.
 *
 * Limits: OLE trees are walked to OLE_MAX_DEPTH levels and OLE_MAX_ENTRIES
 * entries, streams are read up to OLE_MAX_STREAM bytes, VBA source is
 * decompressed up to VBA_MAX bytes per module.
 */
#include "detect/attach.h"
#include "util/log.h"

#include <gsf/gsf.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-utils.h>

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define OLE_MAX_DEPTH	8
#define OLE_MAX_ENTRIES	4000
#define OLE_MAX_STREAM	(32u << 20)
#define VBA_MAX		(4u << 20)
#define RTF_MAX_OBJ	(16u << 20)

static pthread_once_t gsf_once = PTHREAD_ONCE_INIT;

static void
gsf_init_once(void)
{
	gsf_init();
}

/* ---- MS-OVBA decompression ---- */

unsigned char *
attach_vba_decompress(const unsigned char *in, size_t len, size_t max, size_t *outlen)
{
	unsigned char *out;
	size_t o = 0, cap, p = 1;

	*outlen = 0;
	if (len < 3 || in[0] != 0x01)
		return NULL;
	cap = len * 3 < max ? len * 3 + 16 : max;
	out = xmalloc(cap);
	while (p + 2 <= len) {
		unsigned h = in[p] | (unsigned)in[p + 1] << 8;
		size_t size = (h & 0x0fff) + 3, end, dstart;

		if (((h >> 12) & 7) != 3)
			break;
		end = p + size < len ? p + size : len;
		p += 2;
		dstart = o;
		if (!(h & 0x8000)) {
			/* raw chunk: 4096 bytes as they are */
			for (size_t i = 0; i < 4096 && p < len; i++) {
				if (o == cap) {
					if (cap >= max)
						goto done;
					cap = cap * 2 < max ? cap * 2 : max;
					out = xrealloc(out, cap);
				}
				out[o++] = in[p++];
			}
			continue;
		}
		while (p < end) {
			unsigned flags = in[p++];

			for (int bit = 0; bit < 8 && p < end; bit++) {
				if (!(flags & (1u << bit))) {
					if (o == cap) {
						if (cap >= max)
							goto done;
						cap = cap * 2 < max ? cap * 2 : max;
						out = xrealloc(out, cap);
					}
					out[o++] = in[p++];
					continue;
				}
				if (p + 1 >= end) {
					p = end;
					break;
				}
				{
					unsigned tok = in[p] | (unsigned)in[p + 1] << 8;
					size_t diff = o - dstart, bits = 4, lmask, off, n;

					p += 2;
					while (((size_t)1 << bits) < diff)
						bits++;
					if (bits > 12)
						bits = 12;
					lmask = 0xffffu >> bits;
					n = (tok & lmask) + 3;
					off = (tok >> (16 - bits)) + 1;
					if (off > diff)
						goto done;	/* corrupt: points before the chunk */
					for (size_t k = 0; k < n; k++) {
						if (o == cap) {
							if (cap >= max)
								goto done;
							cap = cap * 2 < max ? cap * 2 : max;
							out = xrealloc(out, cap);
						}
						out[o] = out[o - off];
						o++;
					}
				}
			}
		}
		p = end;
	}
done:
	if (o == 0) {
		free(out);
		return NULL;
	}
	*outlen = o;
	return out;
}

/* Where a module's compressed source starts in its stream, or -1. */
static long
find_source(const unsigned char *b, size_t len)
{
	for (size_t i = 0; i + 13 < len; i++) {
		unsigned h;

		if (b[i] != 0x01)
			continue;
		h = b[i + 1] | (unsigned)b[i + 2] << 8;
		if (((h >> 12) & 7) != 3)
			continue;
		if ((h & 0x8000) && b[i + 3] == 0x00 && memcmp(b + i + 4, "Attribut", 8) == 0)
			return (long)i;
		if (!(h & 0x8000) && memcmp(b + i + 3, "Attribute", 9) == 0)
			return (long)i;
	}
	return -1;
}

static int
ci_has(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);

	for (size_t i = 0; i + n <= len; i++)
		if (strncasecmp(hay + i, needle, n) == 0)
			return 1;
	return 0;
}

static const char *
first_of(const char *src, size_t len, const char *const *words)
{
	for (; *words; words++)
		if (ci_has(src, len, *words))
			return *words;
	return NULL;
}

static void
vba_source(struct attach_scan *s, const char *safe, const char *path, const char *src,
    size_t len)
{
	static const char *const autoexec[] = {
		"AutoOpen", "Auto_Open", "AutoExec", "AutoClose", "Auto_Close", "AutoNew",
		"Document_Open", "Document_Close", "Document_New", "DocumentOpen",
		"DocumentBeforeClose", "Workbook_Open", "Workbook_Activate",
		"Workbook_BeforeClose", "Auto_Activate", "_Layout", "_Painted", "_GotFocus",
		"_MouseMove", NULL,
	};
	static const char *const suspicious[] = {
		"WScript.Shell", "Shell(", "Shell ", "ShellExecute", "powershell", "cmd.exe",
		"cmd /c", "mshta", "rundll32", "regsvr32", "certutil", "bitsadmin",
		"URLDownloadToFile", "XMLHTTP", "WinHttp", "ADODB.Stream", "SaveToFile",
		"CreateThread", "VirtualAlloc", "RtlMoveMemory", "ExecuteExcel4Macro",
		"Lib \"kernel32", "Lib \"urlmon", "MacScript", "Win32_Process", NULL,
	};
	const char *a = first_of(src, len, autoexec), *b = first_of(src, len, suspicious);
	char *what;

	if (a != NULL)
		attach_flag(s, 0, "OFFICE_MACRO_AUTOEXEC", "%s: the macro runs by itself (%s)",
		    safe, a);
	if (b != NULL)
		attach_flag(s, 1, "OFFICE_MACRO_SUSPICIOUS", "%s: the macro uses %s", safe, b);
	what = xasprintf("%s (VBA source)", path);
	attach_engines_yara(s, what, (const unsigned char *)src, len);
	free(what);
}

struct ole_walk {
	struct attach_scan *s;
	const struct attach_file *f;
	const char *safe;
	unsigned entries;
	int macro;
	int xlm;
	int encrypted;
	unsigned objects;
	char *vba;		/* all module sources, joined */
	size_t vbalen;
};

static unsigned char *
read_stream(GsfInput *in, size_t *len)
{
	gsf_off_t size = gsf_input_size(in);
	unsigned char *buf;

	*len = 0;
	if (size <= 0 || (uint64_t)size > OLE_MAX_STREAM)
		return NULL;
	buf = xmalloc((size_t)size);
	if (gsf_input_read(in, (size_t)size, buf) == NULL) {
		free(buf);
		return NULL;
	}
	*len = (size_t)size;
	return buf;
}

/* Excel 4.0 macro sheets: BOUNDSHEET8 records with dt = 1 (BIFF8 globals). */
static int
xlm_sheet(const unsigned char *b, size_t len, int *very_hidden)
{
	size_t p = 0;
	int found = 0;

	for (unsigned n = 0; p + 4 <= len && n < 200000; n++) {
		unsigned id = b[p] | (unsigned)b[p + 1] << 8;
		size_t rl = b[p + 2] | (size_t)b[p + 3] << 8;

		if (p + 4 + rl > len)
			break;
		if (id == 0x0085 && rl >= 6 && b[p + 4 + 5] == 0x01) {
			found = 1;
			if ((b[p + 4 + 4] & 3) == 2)
				*very_hidden = 1;
		}
		if (id == 0x000a && n > 0)	/* EOF of the globals substream */
			break;
		p += 4 + rl;
	}
	return found;
}

static void
ole10native(struct ole_walk *w, const unsigned char *b, size_t len)
{
	size_t p = 4 + 2, name_end, path_end, tmp_end, dlen;
	struct attach_file nf;
	char *name, *path;

	w->objects++;
	if (len < p)
		return;
	name_end = p;
	while (name_end < len && b[name_end] != 0)
		name_end++;
	if (name_end >= len)
		return;
	name = xstrndup((const char *)b + p, name_end - p);
	path_end = name_end + 1;
	while (path_end < len && b[path_end] != 0)
		path_end++;
	tmp_end = path_end + 1 + 8;
	while (tmp_end < len && b[tmp_end] != 0)
		tmp_end++;
	p = tmp_end + 1;
	if (p + 4 > len) {
		free(name);
		return;
	}
	dlen = b[p] | (size_t)b[p + 1] << 8 | (size_t)b[p + 2] << 16 | (size_t)b[p + 3] << 24;
	p += 4;
	if (dlen > len - p)
		dlen = len - p;
	path = xasprintf("%s/%s", w->f->path ? w->f->path : "(document)", name);
	memset(&nf, 0, sizeof(nf));
	nf.name = name;
	nf.path = path;
	nf.buf = b + p;
	nf.len = dlen;
	nf.depth = w->f->depth + 1;
	nf.in_archive = 1;
	nf.engines_done = w->f->engines_done || !w->f->decrypted;
	attach_file(w->s, &nf);
	free(path);
	free(name);
}

static void
ole_walk(struct ole_walk *w, GsfInfile *dir, int depth, int in_vba)
{
	int n = gsf_infile_num_children(dir);

	for (int i = 0; i < n && w->entries < OLE_MAX_ENTRIES; i++) {
		const char *name = gsf_infile_name_by_index(dir, i);
		GsfInput *child = gsf_infile_child_by_index(dir, i);
		int is_dir;

		w->entries++;
		if (child == NULL || name == NULL) {
			if (child != NULL)
				g_object_unref(child);
			continue;
		}
		is_dir = GSF_IS_INFILE(child) && gsf_infile_num_children(GSF_INFILE(child)) >= 0;
		if (is_dir) {
			int vba = util_strcasecmp(name, "VBA") == 0;
			if (vba)
				w->macro = 1;
			if (depth < OLE_MAX_DEPTH)
				ole_walk(w, GSF_INFILE(child), depth + 1, vba);
		} else if (in_vba && util_strcasecmp(name, "dir") != 0 &&
		    util_strcasecmp(name, "_VBA_PROJECT") != 0 && strncmp(name, "__SRP_", 6) != 0) {
			size_t len;
			unsigned char *b = read_stream(child, &len);
			long at = b != NULL ? find_source(b, len) : -1;

			if (at >= 0) {
				size_t sl;
				unsigned char *src = attach_vba_decompress(b + at, len - (size_t)at,
				    VBA_MAX, &sl);
				if (src != NULL && w->vbalen + sl + 1 < 4 * VBA_MAX) {
					w->vba = xrealloc(w->vba, w->vbalen + sl + 2);
					memcpy(w->vba + w->vbalen, src, sl);
					w->vbalen += sl;
					w->vba[w->vbalen++] = '\n';
					w->vba[w->vbalen] = '\0';
				}
				free(src);
			}
			free(b);
		} else if (strcmp(name, "\001Ole10Native") == 0) {
			size_t len;
			unsigned char *b = read_stream(child, &len);
			if (b != NULL)
				ole10native(w, b, len);
			free(b);
		} else if (depth == 0 && strcmp(name, "EncryptedPackage") == 0) {
			w->encrypted = 1;
		} else if (depth == 0 && (strcmp(name, "Workbook") == 0 || strcmp(name, "Book") == 0)) {
			size_t len;
			int hidden = 0;
			unsigned char *b = read_stream(child, &len);
			if (b != NULL && xlm_sheet(b, len, &hidden))
				w->xlm = hidden ? 2 : 1;
			free(b);
		}
		g_object_unref(child);
	}
}

void
attach_ole(struct attach_scan *s, const struct attach_file *f, int is_msi)
{
	GsfInput *in;
	GsfInfile *ole;
	GError *gerr = NULL;
	struct ole_walk w;
	char *safe;

	(void)is_msi;
	pthread_once(&gsf_once, gsf_init_once);
	in = gsf_input_memory_new(f->buf, (gsf_off_t)f->len, FALSE);
	if (in == NULL)
		return;
	ole = gsf_infile_msole_new(in, &gerr);
	if (ole == NULL) {
		if (gerr != NULL)
			g_error_free(gerr);
		g_object_unref(in);
		return;
	}
	safe = attach_safe_name(f->path ? f->path : f->name);
	memset(&w, 0, sizeof(w));
	w.s = s;
	w.f = f;
	w.safe = safe;
	ole_walk(&w, ole, 0, 0);
	if (w.macro)
		attach_flag(s, 0, "OFFICE_MACRO", "%s: VBA macros", safe);
	if (w.vba != NULL)
		vba_source(s, safe, f->path ? f->path : "(document)", w.vba, w.vbalen);
	if (w.xlm)
		attach_flag(s, 1, "OFFICE_XLM_MACRO", "%s: an Excel 4.0 macro sheet%s", safe,
		    w.xlm == 2 ? " (very hidden)" : "");
	if (w.objects)
		attach_flag(s, 0, "OFFICE_EMBEDDED_OBJECT", "%s: %u packaged file%s", safe,
		    w.objects, w.objects == 1 ? "" : "s");
	if (w.encrypted)
		attach_flag(s, 0, "ARCHIVE_ENCRYPTED", "%s: a password-protected Office document",
		    safe);
	free(w.vba);
	free(safe);
	g_object_unref(ole);
	g_object_unref(in);
}

/* ---- OOXML ---- */

int
attach_ooxml_like(const unsigned char *buf, size_t len)
{
	if (len > 38 && memcmp(buf + 30, "mimetypeapplication/vnd.oasis.opendocument", 38) == 0)
		return 2;
	if (memmem(buf, len, "[Content_Types].xml", 19) != NULL)
		return 1;
	return 0;
}

static int
ends_ci(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && util_strcasecmp(s + a - b, suffix) == 0;
}

/* An external relationship that loads something when the document opens. */
static const char *
external_rel(const char *x, size_t len)
{
	const char *p = x, *end = x + len;

	while (p < end && (p = memmem(p, (size_t)(end - p), "<Relationship ", 14)) != NULL) {
		const char *e = memchr(p, '>', (size_t)(end - p));
		size_t n;

		if (e == NULL)
			break;
		n = (size_t)(e - p);
		if (memmem(p, n, "TargetMode=\"External\"", 21) != NULL ||
		    memmem(p, n, "TargetMode='External'", 21) != NULL) {
			/* a template on a local disk is how corporate templates
			 * look; one on a web server or a share is fetched */
			if (memmem(p, n, "/attachedTemplate", 17) &&
			    (ci_has(p, n, "Target=\"http") || ci_has(p, n, "Target=\"\\\\") ||
			    ci_has(p, n, "Target=\"file://\\\\") || ci_has(p, n, "Target=\"file:////")))
				return "an attached template";
			if (memmem(p, n, "/oleObject", 10))
				return "an OLE object";
			if (memmem(p, n, "/frame\"", 7) || memmem(p, n, "/frame'", 7))
				return "a frame";
			if (memmem(p, n, "/subDocument", 12))
				return "a sub-document";
			if (ci_has(p, n, "Target=\"mhtml:") || ci_has(p, n, "Target=\"ms-msdt:") ||
			    ci_has(p, n, "!x-usc:"))
				return "an mhtml:/ms-msdt: link";
		}
		p = e;
	}
	return NULL;
}

struct ooxml {
	const char *safe;
	int macro;
	int xlm;
	const char *external;
};

static int
ooxml_entry(struct attach_scan *s, const struct attach_file *outer, const char *name,
    const unsigned char *buf, size_t len, void *arg)
{
	struct ooxml *ox = arg;
	char *path = xasprintf("%s/%s", outer->path ? outer->path : "(document)", name);

	if (ends_ci(name, "vbaProject.bin")) {
		struct attach_file nf;

		ox->macro = 1;
		memset(&nf, 0, sizeof(nf));
		nf.name = name;
		nf.path = path;
		nf.buf = buf;
		nf.len = len;
		nf.depth = outer->depth + 1;
		nf.in_archive = 1;
		nf.engines_done = 1;
		attach_ole(s, &nf, 0);
	} else if (strncmp(name, "xl/macrosheets/", 15) == 0) {
		ox->xlm = 1;
	} else if (ends_ci(name, ".rels")) {
		const char *ext = external_rel((const char *)buf, len);
		if (ext != NULL && ox->external == NULL)
			ox->external = ext;
	} else if (strstr(name, "/embeddings/") != NULL) {
		struct attach_file nf;

		memset(&nf, 0, sizeof(nf));
		nf.name = name;
		nf.path = path;
		nf.buf = buf;
		nf.len = len;
		nf.depth = outer->depth + 1;
		nf.in_archive = 1;
		nf.engines_done = 1;
		attach_file(s, &nf);
	}
	free(path);
	return s->timed_out || s->bomb;
}

void
attach_ooxml(struct attach_scan *s, const struct attach_file *f)
{
	struct ooxml ox;
	char *safe = attach_safe_name(f->path ? f->path : f->name);

	memset(&ox, 0, sizeof(ox));
	ox.safe = safe;
	attach_zip_entries(s, f, ooxml_entry, &ox);
	if (ox.macro)
		attach_flag(s, 0, "OFFICE_MACRO", "%s: VBA macros (vbaProject.bin)", safe);
	if (ox.xlm)
		attach_flag(s, 1, "OFFICE_XLM_MACRO", "%s: an Excel 4.0 macro sheet", safe);
	if (ox.external)
		attach_flag(s, 1, "OFFICE_EXTERNAL_TEMPLATE", "%s: loads %s from outside when opened",
		    safe, ox.external);
	free(safe);
}

/* ---- RTF ---- */

void
attach_rtf(struct attach_scan *s, const struct attach_file *f)
{
	const char *b = (const char *)f->buf, *end = b + f->len, *p;
	int update = memmem(b, f->len, "\\objupdate", 10) != NULL;
	unsigned objects = 0;
	char *safe;

	for (p = b; p < end && objects < 16 &&
	    (p = memmem(p, (size_t)(end - p), "\\objdata", 8)) != NULL; ) {
		unsigned char *obj = xmalloc(RTF_MAX_OBJ / 2 + 1);
		size_t n = 0;
		int hi = -1;
		const unsigned char *ole;

		objects++;
		for (p += 8; p < end && *p != '}' && n < RTF_MAX_OBJ / 2; p++) {
			int v = isxdigit((unsigned char)*p) ? (isdigit((unsigned char)*p) ? *p - '0' :
			    (tolower((unsigned char)*p) - 'a' + 10)) : -1;
			if (v < 0)
				continue;
			if (hi < 0)
				hi = v;
			else {
				obj[n++] = (unsigned char)(hi << 4 | v);
				hi = -1;
			}
		}
		ole = memmem(obj, n, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8);
		if (ole != NULL && !s->timed_out && !s->bomb) {
			struct attach_file nf;
			char *path = xasprintf("%s/(object %u)", f->path ? f->path : "(rtf)", objects);

			memset(&nf, 0, sizeof(nf));
			nf.path = path;
			nf.buf = ole;
			nf.len = n - (size_t)(ole - obj);
			nf.depth = f->depth + 1;
			nf.in_archive = 1;
			nf.engines_done = 1;
			attach_file(s, &nf);
			free(path);
		}
		free(obj);
	}
	if (objects == 0)
		return;
	safe = attach_safe_name(f->path ? f->path : f->name);
	attach_flag(s, update, "OFFICE_EMBEDDED_OBJECT", "%s: %u OLE object%s in RTF%s", safe,
	    objects, objects == 1 ? "" : "s", update ? ", opened without a click (\\objupdate)" : "");
	free(safe);
}
