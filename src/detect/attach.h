/*
 * attach.h - the attachment and malware detector's inner interface.
 *
 * detect_attach.c walks the attachments of a message; each file (a MIME
 * part, an archive entry, a payload decoded from an HTML attachment, an
 * object embedded in a document) goes through attach_file(), which looks at
 * its name (attach_name.c), its true type (libmagic and our own sniffing),
 * and hands it to the analyser of its type: archives (attach_archive.c),
 * Office documents (attach_office.c), PDF (attach_pdf.c), HTML and SVG
 * (attach_html.c); the engines (attach_engine.c: ClamAV in-process or
 * clamd, YARA) see the bytes too.  Analysers call attach_file() again for
 * what they find inside, so recursion is bounded by attach_limits.depth and
 * the running totals in struct attach_scan.
 *
 * Everything here runs on a scan worker thread with the per-message
 * struct attach_scan; struct attach_state is shared between threads and
 * read-only after init (the magic handles are pooled under a mutex).
 */
#ifndef SEKISHO_ATTACH_H
#define SEKISHO_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "detect/detect.h"

struct attach_limits {
	unsigned depth;			/* archive/document nesting */
	uint64_t entries;		/* archive entries in one message */
	uint64_t expanded;		/* bytes expanded from archives in one message */
	uint64_t ratio;			/* expanded / compressed of one archive */
	uint64_t file_max;		/* largest attachment decoded for scanning */
};

struct attach_engines;		/* attach_engine.c */

struct attach_state {
	const struct config *cfg;
	struct attach_limits lim;
	char **dangerous_ext;		/* lower-case, without the dot */
	int strip;			/* attachment_action = strip */
	struct attach_engines *eng;
	struct magic_pool *magic;
};

/* The true type of a file, from its content. */
enum attach_type {
	AT_UNKNOWN = 0,
	AT_TEXT,
	AT_HTML,
	AT_SVG,
	AT_XML,
	AT_PDF,
	AT_RTF,
	AT_IMAGE,
	AT_MEDIA,
	AT_OLE,			/* OLE2 compound file: .doc/.xls/.ppt/.msg */
	AT_OOXML,		/* zip with [Content_Types].xml: .docx/.xlsx/.pptx */
	AT_ODF,			/* OpenDocument */
	AT_ZIP,
	AT_JAR,
	AT_RAR,
	AT_7Z,
	AT_TAR,
	AT_GZIP,
	AT_BZIP2,
	AT_XZ,
	AT_ZSTD,
	AT_CAB,
	AT_ISO,
	AT_CPIO,
	AT_LHA,
	AT_ARJ,
	AT_ACE,
	AT_EXE,			/* PE / MZ */
	AT_ELF,
	AT_MACHO,
	AT_LNK,
	AT_MSI,
	AT_CHM,
	AT_ONENOTE,
	AT_VHD,
	AT_VHDX,
	AT_SCRIPT,		/* shell, batch, PowerShell, JScript/VBScript by content */
	AT_EML,
};

/* One message's scan. */
struct attach_scan {
	const struct attach_state *st;
	const struct scan_ctx *ctx;
	struct scan_result *r;
	int64_t deadline;		/* monotonic ms: the malware scan budget */
	uint64_t expanded;		/* bytes expanded from archives so far */
	uint64_t entries;		/* archive entries seen so far */
	int timed_out;			/* MALWARE_SCAN_TIMEOUT given: stop scanning */
	int bomb;			/* ARCHIVE_BOMB given */
	int part_bad;			/* the current MIME part should be stripped */
	char **passwords;		/* candidates from the body (lazy) */
	size_t npasswords;
	int passwords_done;
	char yara_names[512];		/* rules that matched, for YARA_MATCH */
	char yara_where[256];		/* the first file they matched in */
	double yara_score;		/* the highest rule score */
};

/* A file to analyse.  name may be NULL; path is "outer.zip/inner.exe" for
 * nested files (for reasons); depth 0 is a MIME part. */
struct attach_file {
	const char *name;
	const char *path;
	const char *declared;		/* declared MIME type (MIME parts only) */
	const unsigned char *buf;
	size_t len;
	unsigned depth;
	int in_archive;			/* came out of an archive */
	int decrypted;			/* came out of an archive opened with a password */
	int engines_done;		/* an outer file was given to ClamAV whole */
};

void attach_file(struct attach_scan *s, const struct attach_file *f);

/* The budget ran out: say so once.  1 when out of time. */
int attach_out_of_time(struct attach_scan *s, const char *what);
/* Add a symbol; marks the current part for stripping when bad. */
void attach_flag(struct attach_scan *s, int bad, const char *sym, const char *fmt, ...)
    UTIL_PRINTF(4, 5);

/* attach_name.c */
const char *attach_ext(const char *name, char *buf, size_t len);
int attach_ext_dangerous(const struct attach_state *st, const char *ext);
void attach_check_name(struct attach_scan *s, const struct attach_file *f);
const char *attach_type_name(enum attach_type t);
int attach_type_dangerous(enum attach_type t);
enum attach_type attach_sniff(const unsigned char *buf, size_t len, const char *mime);
void attach_check_mismatch(struct attach_scan *s, const struct attach_file *f,
    enum attach_type t, const char *declared);
/* Printable, one-line copy of a file name for reasons (caller frees). */
char *attach_safe_name(const char *name);

/* attach_archive.c */
int attach_type_is_archive(enum attach_type t);
void attach_archive(struct attach_scan *s, const struct attach_file *f, enum attach_type t);
/* Read every entry of a zip (OOXML) into a callback; bounded like archives.
 * The callback returns 0 to go on, 1 to stop. */
typedef int (*attach_entry_fn)(struct attach_scan *s, const struct attach_file *outer,
    const char *name, const unsigned char *buf, size_t len, void *arg);
int attach_zip_entries(struct attach_scan *s, const struct attach_file *f,
    attach_entry_fn fn, void *arg);

/* attach_password.c: candidate archive passwords written in the text. */
size_t attach_passwords(const char *text, char ***out, size_t max);

/* attach_office.c */
int attach_ooxml_like(const unsigned char *buf, size_t len);
void attach_ooxml(struct attach_scan *s, const struct attach_file *f);
void attach_ole(struct attach_scan *s, const struct attach_file *f, int is_msi);
void attach_rtf(struct attach_scan *s, const struct attach_file *f);
/* MS-OVBA decompression (exposed for tests): malloc'ed, NULL when invalid. */
unsigned char *attach_vba_decompress(const unsigned char *in, size_t len, size_t max,
    size_t *outlen);

/* attach_pdf.c */
void attach_pdf(struct attach_scan *s, const struct attach_file *f);

/* attach_html.c */
void attach_html(struct attach_scan *s, const struct attach_file *f, int svg);

/* attach_engine.c */
struct attach_engines *attach_engines_new(const struct config *cfg, char *err, size_t errlen);
void attach_engines_free(struct attach_engines *e);
/* ClamAV (in-process or clamd) over one file. */
void attach_engines_av(struct attach_scan *s, const struct attach_file *f);
/* YARA over one buffer; what names the view ("VBA source of x.doc"). */
void attach_engines_yara(struct attach_scan *s, const char *what,
    const unsigned char *buf, size_t len);
/* The clamd INSTREAM client (exposed for tests).  Returns 0 clean, 1 found
 * (virname filled), -1 error (err filled). */
int attach_clamd_scan(const char *socket_spec, const unsigned char *buf, size_t len,
    int64_t deadline_ms, char *virname, size_t vlen, char *err, size_t errlen);

/* magic pool (detect_attach.c) */
struct magic_pool;
/* The MIME type libmagic gives (copied into buf). */
const char *attach_magic_mime(struct magic_pool *mp, const unsigned char *buf, size_t len,
    char *out, size_t outlen);

#endif
