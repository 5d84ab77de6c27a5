/*
 * attach_name.c - what a file's name and its first bytes say.
 *
 * Names: the extension Windows would act on (trailing dots and spaces
 * dropped, as Explorer does), dangerous extensions (attach_dangerous_ext),
 * double extensions ("invoice.pdf.exe", "請求書.pdf　.exe" with a
 * full-width space, or a name padded with spaces to push ".exe" out of
 * view), and bidi controls or invisible characters ("invoice\u202Efdp.exe"
 * shows as "invoiceexe.pdf").
 *
 * Types: attach_sniff() knows the magic numbers of the types that matter
 * most (executables, shortcuts, disk images, OneNote, archives) itself and
 * asks libmagic's MIME answer for the rest, so a missing or old magic
 * database cannot hide an executable.
 *
 * Pure functions over bytes; no limits needed beyond the name length cap.
 */
#include "detect/attach.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_BYTES	1024

static const char *const decoy_ext[] = {
	"pdf", "doc", "docx", "docm", "xls", "xlsx", "xlsm", "ppt", "pptx", "txt", "rtf",
	"csv", "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff", "mp3", "mp4", "wav",
	"avi", "mov", "zip", "rar", "7z", "html", "htm", "odt", "ods", "xml", "eml", "msg",
	"jtd", "hwp", "heic", "webp", "svg", NULL,
};

/* Decode one UTF-8 sequence; invalid bytes are returned as themselves. */
static unsigned
utf8_next(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	unsigned c = *p, n = 0, cp;

	if (c < 0x80) {
		*pp = p + 1;
		return c;
	}
	if ((c & 0xe0) == 0xc0) { n = 1; cp = c & 0x1f; }
	else if ((c & 0xf0) == 0xe0) { n = 2; cp = c & 0x0f; }
	else if ((c & 0xf8) == 0xf0) { n = 3; cp = c & 0x07; }
	else { *pp = p + 1; return c; }
	if ((size_t)(end - p) <= n) {
		*pp = p + 1;
		return c;
	}
	for (unsigned i = 1; i <= n; i++) {
		if ((p[i] & 0xc0) != 0x80) {
			*pp = p + 1;
			return c;
		}
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	*pp = p + n + 1;
	return cp;
}

static int
is_bidi(unsigned c)
{
	return (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
	    c == 0x200e || c == 0x200f || c == 0x061c;
}

static int
is_invisible(unsigned c)
{
	return (c >= 0x200b && c <= 0x200d) || (c >= 0x2060 && c <= 0x2064) ||
	    c == 0xfeff || c == 0x180e || c == 0x034f || c == 0x115f || c == 0x1160 ||
	    c == 0x3164 || c == 0xffa0 || c == 0x00ad || (c >= 0xe0000 && c <= 0xe007f) ||
	    (c >= 0xfe00 && c <= 0xfe0f);
}

static int
is_space_cp(unsigned c)
{
	return c == ' ' || c == '\t' || c == 0xa0 || c == 0x3000 || (c >= 0x2000 && c <= 0x200a) ||
	    c == 0x202f || c == 0x205f || c == 0x1680;
}

/* Length of name with trailing spaces (any Unicode space) and dots cut. */
static size_t
trim_tail(const char *name, size_t len, int dots, unsigned *nspaces)
{
	unsigned spaces = 0;

	for (;;) {
		size_t back = 0;
		const unsigned char *p;
		unsigned c;

		if (len == 0)
			break;
		/* find the start of the last character */
		back = 1;
		while (back < len && back < 4 && (((const unsigned char *)name)[len - back] & 0xc0) == 0x80)
			back++;
		p = (const unsigned char *)name + len - back;
		c = utf8_next(&p, (const unsigned char *)name + len);
		if (p != (const unsigned char *)name + len) {
			back = 1;
			c = ((const unsigned char *)name)[len - 1];
		}
		if (is_space_cp(c) || (dots && c == '.')) {
			if (c != '.')
				spaces++;
			len -= back;
			continue;
		}
		break;
	}
	if (nspaces != NULL)
		*nspaces = spaces;
	return len;
}

/* The extension of name[0..len) into buf (lower-case, without the dot). */
static const char *
ext_of(const char *name, size_t len, char *buf, size_t blen)
{
	size_t i = len, n;

	while (i > 0 && name[i - 1] != '.' && name[i - 1] != '/' && name[i - 1] != '\\')
		i--;
	if (i == 0 || name[i - 1] != '.' || i == 1)
		return NULL;
	n = len - i;
	if (n == 0 || n >= blen || n > 24)
		return NULL;
	for (size_t k = 0; k < n; k++) {
		unsigned char c = (unsigned char)name[i + k];
		if (!isalnum(c) && c != '-' && c != '_')
			return NULL;
		buf[k] = (char)tolower(c);
	}
	buf[n] = '\0';
	return buf;
}

const char *
attach_ext(const char *name, char *buf, size_t len)
{
	size_t n;

	if (name == NULL)
		return NULL;
	n = strnlen(name, NAME_MAX_BYTES);
	n = trim_tail(name, n, 1, NULL);
	return ext_of(name, n, buf, len);
}

int
attach_ext_dangerous(const struct attach_state *st, const char *ext)
{
	if (ext == NULL)
		return 0;
	for (char **e = st->dangerous_ext; e && *e; e++)
		if (strcmp(*e, ext) == 0)
			return 1;
	return 0;
}

static int
in_list(const char *const *list, const char *s)
{
	for (; s && *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

char *
attach_safe_name(const char *name)
{
	const unsigned char *p, *end;
	char *out, *o;
	size_t n;

	if (name == NULL)
		return xstrdup("(no name)");
	n = strnlen(name, NAME_MAX_BYTES);
	out = o = xmalloc(n * 8 + 1);
	p = (const unsigned char *)name;
	end = p + n;
	while (p < end) {
		const unsigned char *s = p;
		unsigned c = utf8_next(&p, end);
		if (c < 0x20 || c == 0x7f || is_bidi(c) || is_invisible(c) ||
		    (c >= 0x80 && c < 0xa0 && p - s == 1))
			o += sprintf(o, "<U+%04X>", c);
		else {
			memcpy(o, s, (size_t)(p - s));
			o += p - s;
		}
	}
	*o = '\0';
	return out;
}

void
attach_check_name(struct attach_scan *s, const struct attach_file *f)
{
	const unsigned char *p, *end;
	unsigned bidi = 0, invisible = 0, first = 0;
	char ext[32], prev[32], *safe;
	const char *e, *pe;
	size_t n, stem;
	unsigned pad = 0;

	if (f->name == NULL || f->name[0] == '\0')
		return;
	n = strnlen(f->name, NAME_MAX_BYTES);
	p = (const unsigned char *)f->name;
	end = p + n;
	while (p < end) {
		unsigned c = utf8_next(&p, end);
		if (is_bidi(c)) {
			bidi++;
			if (!first)
				first = c;
		} else if (is_invisible(c)) {
			invisible++;
			if (!first)
				first = c;
		}
	}
	safe = attach_safe_name(f->path ? f->path : f->name);
	if (bidi || invisible)
		attach_flag(s, 1, "ATTACH_BIDI_NAME", "%s: %s character U+%04X in the name",
		    safe, bidi ? "bidi control" : "invisible", first);

	e = attach_ext(f->name, ext, sizeof(ext));
	if (e != NULL && attach_ext_dangerous(s->st, e)) {
		if (f->in_archive)
			attach_flag(s, 1, "ARCHIVE_NESTED_DANGEROUS", "%s: .%s inside an archive",
			    safe, e);
		else
			attach_flag(s, 1, "ATTACH_DANGEROUS_TYPE", "%s: .%s file", safe, e);
	}
	if (e != NULL && attach_ext_dangerous(s->st, e)) {
		/* the stem before ".ext", spaces cut: does it end in a decoy extension? */
		stem = trim_tail(f->name, n, 1, NULL);
		stem -= strlen(e) + 1;
		stem = trim_tail(f->name, stem, 0, &pad);
		pe = ext_of(f->name, stem, prev, sizeof(prev));
		if (pe != NULL && in_list(decoy_ext, pe))
			attach_flag(s, 1, "ATTACH_DOUBLE_EXT", "%s: .%s%s.%s", safe, pe,
			    pad ? " (padded)" : "", e);
		else if (pad >= 3)
			attach_flag(s, 1, "ATTACH_DOUBLE_EXT", "%s: .%s pushed out of view by %u spaces",
			    safe, e, pad);
	}
	free(safe);
}

/* ---- types ---- */

static const char *const type_names[] = {
	[AT_UNKNOWN] = "unknown", [AT_TEXT] = "text", [AT_HTML] = "HTML", [AT_SVG] = "SVG",
	[AT_XML] = "XML", [AT_PDF] = "PDF", [AT_RTF] = "RTF", [AT_IMAGE] = "image",
	[AT_MEDIA] = "audio/video", [AT_OLE] = "OLE2 document", [AT_OOXML] = "Office Open XML",
	[AT_ODF] = "OpenDocument", [AT_ZIP] = "ZIP", [AT_JAR] = "Java archive", [AT_RAR] = "RAR",
	[AT_7Z] = "7-Zip", [AT_TAR] = "tar", [AT_GZIP] = "gzip", [AT_BZIP2] = "bzip2",
	[AT_XZ] = "xz", [AT_ZSTD] = "zstd", [AT_CAB] = "cabinet", [AT_ISO] = "ISO 9660 image",
	[AT_CPIO] = "cpio", [AT_LHA] = "LHA", [AT_ARJ] = "ARJ", [AT_ACE] = "ACE",
	[AT_EXE] = "Windows executable", [AT_ELF] = "ELF executable", [AT_MACHO] = "Mach-O executable",
	[AT_LNK] = "Windows shortcut", [AT_MSI] = "Windows installer", [AT_CHM] = "compiled HTML help",
	[AT_ONENOTE] = "OneNote", [AT_VHD] = "VHD disk image", [AT_VHDX] = "VHDX disk image",
	[AT_SCRIPT] = "script", [AT_EML] = "mail message",
};

const char *
attach_type_name(enum attach_type t)
{
	if ((size_t)t >= UTIL_ARRAY_LEN(type_names) || type_names[t] == NULL)
		return "unknown";
	return type_names[t];
}

int
attach_type_dangerous(enum attach_type t)
{
	switch (t) {
	case AT_EXE: case AT_ELF: case AT_MACHO: case AT_LNK: case AT_MSI: case AT_CHM:
	case AT_ONENOTE: case AT_VHD: case AT_VHDX: case AT_ISO: case AT_JAR: case AT_CAB:
	case AT_ACE:
		return 1;
	default:
		return 0;
	}
}

static int
has_at(const unsigned char *buf, size_t len, size_t off, const void *sig, size_t n)
{
	return len >= off + n && memcmp(buf + off, sig, n) == 0;
}

static const unsigned char ole_sig[] = { 0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1 };
static const unsigned char lnk_sig[] = {
	0x4c, 0, 0, 0, 0x01, 0x14, 0x02, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0x46,
};
static const unsigned char one_sig[] = {
	0xe4, 0x52, 0x5c, 0x7b, 0x8c, 0xd8, 0xa7, 0x4d, 0xae, 0xb1, 0x53, 0x78, 0xd0, 0x29, 0x96, 0xd3,
};

static const struct {
	const char *mime;
	enum attach_type t;
} mime_types[] = {
	{ "application/vnd.microsoft.portable-executable", AT_EXE },
	{ "application/x-dosexec", AT_EXE },
	{ "application/x-msdownload", AT_EXE },
	{ "application/x-executable", AT_ELF },
	{ "application/x-sharedlib", AT_ELF },
	{ "application/x-pie-executable", AT_ELF },
	{ "application/x-mach-binary", AT_MACHO },
	{ "application/x-ms-shortcut", AT_LNK },
	{ "application/x-iso9660-image", AT_ISO },
	{ "application/x-msi", AT_MSI },
	{ "application/vnd.ms-htmlhelp", AT_CHM },
	{ "application/x-virtualbox-vhd", AT_VHD },
	{ "application/x-virtualbox-vhdx", AT_VHDX },
	{ "application/vnd.ms-cab-compressed", AT_CAB },
	{ "application/pdf", AT_PDF },
	{ "text/rtf", AT_RTF },
	{ "application/rtf", AT_RTF },
	{ "text/html", AT_HTML },
	{ "image/svg+xml", AT_SVG },
	{ "text/xml", AT_XML },
	{ "application/xml", AT_XML },
	{ "application/zip", AT_ZIP },
	{ "application/java-archive", AT_JAR },
	{ "application/x-rar", AT_RAR },
	{ "application/vnd.rar", AT_RAR },
	{ "application/x-7z-compressed", AT_7Z },
	{ "application/x-tar", AT_TAR },
	{ "application/gzip", AT_GZIP },
	{ "application/x-gzip", AT_GZIP },
	{ "application/x-bzip2", AT_BZIP2 },
	{ "application/x-xz", AT_XZ },
	{ "application/zstd", AT_ZSTD },
	{ "application/x-cpio", AT_CPIO },
	{ "application/x-lha", AT_LHA },
	{ "application/x-lzh-compressed", AT_LHA },
	{ "application/x-arj", AT_ARJ },
	{ "application/x-ace-compressed", AT_ACE },
	{ "application/msword", AT_OLE },
	{ "application/vnd.ms-excel", AT_OLE },
	{ "application/vnd.ms-powerpoint", AT_OLE },
	{ "application/vnd.ms-outlook", AT_OLE },
	{ "application/x-ole-storage", AT_OLE },
	{ "application/cdfv2", AT_OLE },
	{ "message/rfc822", AT_EML },
	{ "text/x-msdos-batch", AT_SCRIPT },
	{ "text/x-shellscript", AT_SCRIPT },
};

enum attach_type
attach_sniff(const unsigned char *buf, size_t len, const char *mime)
{
	if (has_at(buf, len, 0, "MZ", 2))
		return AT_EXE;
	if (has_at(buf, len, 0, "\x7f" "ELF", 4))
		return AT_ELF;
	if (has_at(buf, len, 0, lnk_sig, sizeof(lnk_sig)))
		return AT_LNK;
	if (has_at(buf, len, 0, one_sig, sizeof(one_sig)))
		return AT_ONENOTE;
	if (has_at(buf, len, 0, "vhdxfile", 8))
		return AT_VHDX;
	if (has_at(buf, len, 0, "conectix", 8) ||
	    (len >= 512 && memcmp(buf + len - 512, "conectix", 8) == 0))
		return AT_VHD;
	if (has_at(buf, len, 0x8001, "CD001", 5) || has_at(buf, len, 0x8801, "CD001", 5) ||
	    has_at(buf, len, 0x9001, "CD001", 5))
		return AT_ISO;
	if (has_at(buf, len, 0, "ITSF", 4))
		return AT_CHM;
	if (has_at(buf, len, 0, "MSCF", 4))
		return AT_CAB;
	if (has_at(buf, len, 0, "%PDF", 4) ||
	    (len > 1024 && memmem(buf, 1024, "%PDF-", 5) != NULL))
		return AT_PDF;
	if (has_at(buf, len, 0, "{\\rt", 4))
		return AT_RTF;
	if (has_at(buf, len, 0, "Rar!\x1a\x07", 6))
		return AT_RAR;
	if (has_at(buf, len, 0, "7z\xbc\xaf\x27\x1c", 6))
		return AT_7Z;
	if (has_at(buf, len, 0, "\x1f\x8b", 2))
		return AT_GZIP;
	if (has_at(buf, len, 0, "BZh", 3))
		return AT_BZIP2;
	if (has_at(buf, len, 0, "\xfd" "7zXZ", 5))
		return AT_XZ;
	if (has_at(buf, len, 0, "\x28\xb5\x2f\xfd", 4))
		return AT_ZSTD;
	if (has_at(buf, len, 257, "ustar", 5))
		return AT_TAR;
	if (has_at(buf, len, 0, "PK\x03\x04", 4) || has_at(buf, len, 0, "PK\x05\x06", 4)) {
		if (attach_ooxml_like(buf, len) == 1)
			return AT_OOXML;
		if (attach_ooxml_like(buf, len) == 2)
			return AT_ODF;
		if (len > 30 && memmem(buf, len < 65536 ? len : 65536, "META-INF/MANIFEST.MF", 20) &&
		    memmem(buf, len, ".class", 6))
			return AT_JAR;
		return AT_ZIP;
	}
	if (has_at(buf, len, 0, ole_sig, sizeof(ole_sig))) {
		if (mime != NULL && strcmp(mime, "application/x-msi") == 0)
			return AT_MSI;
		return AT_OLE;
	}
	if (mime != NULL) {
		for (size_t i = 0; i < UTIL_ARRAY_LEN(mime_types); i++)
			if (strcmp(mime, mime_types[i].mime) == 0)
				return mime_types[i].t;
		if (strncmp(mime, "image/", 6) == 0)
			return AT_IMAGE;
		if (strncmp(mime, "audio/", 6) == 0 || strncmp(mime, "video/", 6) == 0)
			return AT_MEDIA;
		if (strncmp(mime, "text/", 5) == 0)
			return AT_TEXT;
	}
	return AT_UNKNOWN;
}

/*
 * Mismatch between what the name or the declared type promise and what the
 * content is.  Only the dangerous direction counts: content that is
 * executable, a script container, a disk image or an archive under the name
 * or type of a document or picture.  (Generic declared types such as
 * application/octet-stream promise nothing.)
 */
static const struct {
	const char *ext;
	enum attach_type t;
} ext_types[] = {
	{ "pdf", AT_PDF }, { "doc", AT_OLE }, { "xls", AT_OLE }, { "ppt", AT_OLE },
	{ "docx", AT_OOXML }, { "xlsx", AT_OOXML }, { "pptx", AT_OOXML }, { "docm", AT_OOXML },
	{ "xlsm", AT_OOXML }, { "pptm", AT_OOXML }, { "rtf", AT_RTF }, { "txt", AT_TEXT },
	{ "csv", AT_TEXT }, { "jpg", AT_IMAGE }, { "jpeg", AT_IMAGE }, { "png", AT_IMAGE },
	{ "gif", AT_IMAGE }, { "bmp", AT_IMAGE }, { "tif", AT_IMAGE }, { "tiff", AT_IMAGE },
	{ "mp3", AT_MEDIA }, { "mp4", AT_MEDIA }, { "wav", AT_MEDIA }, { "odt", AT_ODF },
	{ "ods", AT_ODF },
};

static int
type_risky(enum attach_type t)
{
	return attach_type_dangerous(t) || t == AT_ZIP || t == AT_RAR || t == AT_7Z ||
	    t == AT_SCRIPT || t == AT_HTML || t == AT_SVG;
}

void
attach_check_mismatch(struct attach_scan *s, const struct attach_file *f, enum attach_type t,
    const char *declared)
{
	char ext[32], *safe;
	const char *e = attach_ext(f->name, ext, sizeof(ext));
	enum attach_type promised = AT_UNKNOWN;
	const char *by = NULL;

	if (!type_risky(t))
		return;
	/* a name that says ".exe" already told the truth */
	if (e != NULL && attach_ext_dangerous(s->st, e))
		return;
	for (size_t i = 0; e != NULL && i < UTIL_ARRAY_LEN(ext_types); i++)
		if (strcmp(e, ext_types[i].ext) == 0) {
			promised = ext_types[i].t;
			by = "name";
		}
	if (promised == AT_UNKNOWN && declared != NULL) {
		if (strcmp(declared, "application/pdf") == 0)
			promised = AT_PDF;
		else if (strncmp(declared, "image/", 6) == 0 && strcmp(declared, "image/svg+xml") != 0)
			promised = AT_IMAGE;
		else if (strcmp(declared, "application/msword") == 0 ||
		    strcmp(declared, "application/vnd.ms-excel") == 0)
			promised = AT_OLE;
		else if (strncmp(declared, "application/vnd.openxmlformats", 30) == 0)
			promised = AT_OOXML;
		by = "declared type";
	}
	if (promised == AT_UNKNOWN || promised == t)
		return;
	/* HTML in a .txt is not a trick; everything else in this list is */
	if (promised == AT_TEXT && (t == AT_HTML || t == AT_SVG))
		return;
	safe = attach_safe_name(f->path ? f->path : f->name);
	attach_flag(s, 1, "ATTACH_TYPE_MISMATCH", "%s: %s content under a %s %s", safe,
	    attach_type_name(t), attach_type_name(promised), by);
	free(safe);
}
