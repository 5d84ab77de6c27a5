/*
 * detect_attach.c - attachments and malware.
 *
 * Every attachment of the message (a leaf part with a file name, an
 * "attachment" disposition or a non-text type) is decoded and analysed by
 * attach_file(): its name, its true type, the engines (ClamAV, YARA), and
 * the analyser of its type, which recurses into what it contains.  See
 * attach.h for the pieces and docs/attachments.md for the admin's view.
 *
 * Symbols:
 *   MALWARE_FOUND             ClamAV (in-process or clamd) found a signature
 *   MALWARE_SCAN_TIMEOUT      malware_scan_budget ran out: not all was scanned
 *   MALWARE_SCAN_ERROR        an attachment could not be decoded or scanned
 *   ATTACH_DANGEROUS_TYPE     executable, script, shortcut, disk image, ...
 *   ATTACH_DOUBLE_EXT         "invoice.pdf.exe", padded names
 *   ATTACH_BIDI_NAME          bidi controls or invisible characters in a name
 *   ATTACH_TYPE_MISMATCH      content of a risky type under a harmless name/type
 *   ATTACH_HTML_SMUGGLING     HTML/SVG that builds and drops a file
 *   ATTACH_HTML_CREDENTIAL_FORM  HTML/SVG with a password field
 *   ARCHIVE_ENCRYPTED         an archive or document with encrypted content
 *   ARCHIVE_PASSWORD_IN_BODY  a password written in the body opened it
 *   ARCHIVE_BOMB              depth, entry count, size or ratio limit hit
 *   ARCHIVE_NESTED_DANGEROUS  a dangerous file inside an archive
 *   ARCHIVE_CORRUPT           an archive that could not be read to its end
 *   OFFICE_MACRO, OFFICE_MACRO_AUTOEXEC, OFFICE_MACRO_SUSPICIOUS,
 *   OFFICE_XLM_MACRO, OFFICE_EXTERNAL_TEMPLATE, OFFICE_EMBEDDED_OBJECT
 *   PDF_JAVASCRIPT, PDF_LAUNCH, PDF_EMBEDDED_FILE, PDF_AUTO_ACTION
 *   YARA_MATCH                a rule of rules_dir/yara matched (graded)
 *
 * Options: attach_enable, attach_dangerous_ext, attachment_action,
 * attach_max_size, malware_scan_budget, clamav_engine, clamav_db_dirs,
 * clamd_socket, yara_enable, archive_max_depth, archive_max_entries,
 * archive_max_expanded, archive_max_ratio, archive_try_passwords, rules_dir.
 *
 * Failing closed: whatever could not be looked at says so with
 * MALWARE_SCAN_ERROR, MALWARE_SCAN_TIMEOUT or ARCHIVE_BOMB, and the default
 * symbol_actions quarantine those, so a message is never passed unscanned.
 * The parts that earned a "bad" symbol are recorded in the scan result
 * (result_mark_part) for attachment_action = strip.
 */
#include "detect/attach.h"
#include "detect/detect_attach.h"
#include "util/log.h"
#include "util/util.h"

#include <magic.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct symbol_def attach_symbols[] = {
	{ "MALWARE_FOUND", 20.0, "a virus scanner found a signature (the name is in the reason)" },
	{ "MALWARE_SCAN_TIMEOUT", 3.0, "the malware scan ran out of time; some content was not scanned" },
	{ "MALWARE_SCAN_ERROR", 3.0, "an attachment could not be decoded or scanned" },
	{ "ATTACH_DANGEROUS_TYPE", 6.0, "an executable, script, shortcut, disk image or similar file" },
	{ "ATTACH_DOUBLE_EXT", 5.0, "a dangerous extension behind a harmless one (invoice.pdf.exe)" },
	{ "ATTACH_BIDI_NAME", 5.0, "a file name with bidi controls (RTLO) or invisible characters" },
	{ "ATTACH_TYPE_MISMATCH", 4.0, "the content is of a risky type its name or declared type hides" },
	{ "ATTACH_HTML_SMUGGLING", 8.0, "an HTML or SVG attachment that builds a file to download" },
	{ "ATTACH_HTML_CREDENTIAL_FORM", 6.0, "an HTML or SVG attachment with a password form" },
	{ "ARCHIVE_ENCRYPTED", 1.5, "an encrypted archive or document: its content cannot be checked" },
	{ "ARCHIVE_PASSWORD_IN_BODY", 3.0, "an encrypted archive whose password is in the message" },
	{ "ARCHIVE_BOMB", 8.0, "an archive past the depth, entry, size or ratio limits" },
	{ "ARCHIVE_NESTED_DANGEROUS", 6.0, "a dangerous file inside an archive" },
	{ "ARCHIVE_CORRUPT", 3.0, "an archive that could not be read to its end" },
	{ "OFFICE_MACRO", 3.0, "an Office document with VBA macros" },
	{ "OFFICE_MACRO_AUTOEXEC", 2.0, "a macro that runs when the document is opened or closed" },
	{ "OFFICE_MACRO_SUSPICIOUS", 3.0, "a macro that runs programs, downloads or decodes" },
	{ "OFFICE_XLM_MACRO", 5.0, "an Excel 4.0 (XLM) macro sheet" },
	{ "OFFICE_EXTERNAL_TEMPLATE", 6.0, "an Office document that loads a template or object from outside" },
	{ "OFFICE_EMBEDDED_OBJECT", 2.0, "an OLE object or package embedded in a document" },
	{ "PDF_JAVASCRIPT", 4.0, "a PDF with JavaScript" },
	{ "PDF_LAUNCH", 6.0, "a PDF with a Launch action (runs a program)" },
	{ "PDF_EMBEDDED_FILE", 2.0, "a PDF with an embedded file" },
	{ "PDF_AUTO_ACTION", 1.0, "a PDF with an action run on opening (OpenAction/AA)" },
	{ "YARA_MATCH", 1.0, "a YARA rule matched (graded by the rule's score; names in the reason)" },
	{ NULL, 0, NULL },
};

/* ---- libmagic: a pool of handles (magic_t is not thread-safe) ---- */

struct magic_pool {
	pthread_mutex_t mu;
	magic_t *free;
	size_t nfree, cap;
	int broken;		/* magic_load failed once: sniff on our own */
};

static struct magic_pool *
magic_pool_new(void)
{
	struct magic_pool *mp = xcalloc(1, sizeof(*mp));

	pthread_mutex_init(&mp->mu, NULL);
	return mp;
}

static void
magic_pool_free(struct magic_pool *mp)
{
	if (mp == NULL)
		return;
	for (size_t i = 0; i < mp->nfree; i++)
		magic_close(mp->free[i]);
	free(mp->free);
	pthread_mutex_destroy(&mp->mu);
	free(mp);
}

const char *
attach_magic_mime(struct magic_pool *mp, const unsigned char *buf, size_t len,
    char *out, size_t outlen)
{
	magic_t m = NULL;
	const char *t;

	out[0] = '\0';
	pthread_mutex_lock(&mp->mu);
	if (mp->nfree > 0)
		m = mp->free[--mp->nfree];
	pthread_mutex_unlock(&mp->mu);
	if (m == NULL && !mp->broken) {
		size_t bytes = 1 << 20;

		m = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
		if (m != NULL && magic_load(m, NULL) != 0) {
			log_warn("attach: libmagic: %s; true types from our own sniffing only",
			    magic_error(m));
			magic_close(m);
			m = NULL;
			mp->broken = 1;
		}
		if (m != NULL)
			magic_setparam(m, MAGIC_PARAM_BYTES_MAX, &bytes);
	}
	if (m == NULL)
		return NULL;
	t = magic_buffer(m, buf, len);
	if (t != NULL)
		util_strlcpy(out, t, outlen);
	pthread_mutex_lock(&mp->mu);
	if (mp->nfree == mp->cap) {
		mp->cap = mp->cap ? mp->cap * 2 : 4;
		mp->free = xrealloc(mp->free, mp->cap * sizeof(*mp->free));
	}
	mp->free[mp->nfree++] = m;
	pthread_mutex_unlock(&mp->mu);
	return t != NULL ? out : NULL;
}

/* ---- the per-message scan ---- */

int
attach_out_of_time(struct attach_scan *s, const char *what)
{
	if (s->timed_out)
		return 1;
	if (util_mono_ms() <= s->deadline)
		return 0;
	s->timed_out = 1;
	attach_flag(s, 1, "MALWARE_SCAN_TIMEOUT", "the attachment scan ran out of time (%lld ms) at %s",
	    (long long)s->st->cfg->malware_scan_budget, what);
	return 1;
}

void
attach_flag(struct attach_scan *s, int bad, const char *sym, const char *fmt, ...)
{
	va_list ap;
	char *reason;

	va_start(ap, fmt);
	if (vasprintf(&reason, fmt, ap) < 0)
		panic("out of memory");
	va_end(ap);
	result_add(s->r, sym, "%s", reason);
	free(reason);
	if (bad)
		s->part_bad = 1;
}

static int
ext_is(const char *name, const char *const *exts)
{
	char buf[32];
	const char *e = attach_ext(name, buf, sizeof(buf));

	for (; e && *exts; exts++)
		if (strcmp(e, *exts) == 0)
			return 1;
	return 0;
}

void
attach_file(struct attach_scan *s, const struct attach_file *f)
{
	static const char *const html_ext[] = { "html", "htm", "xhtml", "shtml", "mht", "mhtml", NULL };
	static const char *const svg_ext[] = { "svg", "svgz", NULL };
	char mimebuf[128], *safe;
	const char *mime;
	enum attach_type t;

	if (s->timed_out || s->bomb)
		return;
	if (f->depth > s->st->lim.depth) {
		safe = attach_safe_name(f->path ? f->path : f->name);
		s->bomb = 1;
		attach_flag(s, 1, "ARCHIVE_BOMB", "%s: nested more than %u levels deep", safe,
		    s->st->lim.depth);
		free(safe);
		return;
	}
	attach_check_name(s, f);
	mime = attach_magic_mime(s->st->magic, f->buf, f->len, mimebuf, sizeof(mimebuf));
	t = attach_sniff(f->buf, f->len, mime);
	if ((t == AT_TEXT || t == AT_XML || t == AT_UNKNOWN) && ext_is(f->name, html_ext))
		t = AT_HTML;
	if ((t == AT_TEXT || t == AT_XML) && ext_is(f->name, svg_ext))
		t = AT_SVG;
	log_debug("attach: %s: %zu bytes, %s (%s)", f->path ? f->path : "-", f->len,
	    attach_type_name(t), mime ? mime : "no libmagic");
	if (attach_type_dangerous(t)) {
		safe = attach_safe_name(f->path ? f->path : f->name);
		attach_flag(s, 1, f->in_archive ? "ARCHIVE_NESTED_DANGEROUS" : "ATTACH_DANGEROUS_TYPE",
		    "%s: %s%s", safe, attach_type_name(t), f->in_archive ? " (nested)" : "");
		free(safe);
	}
	attach_check_mismatch(s, f, t, f->declared);

	if (!f->engines_done)
		attach_engines_av(s, f);
	if (attach_out_of_time(s, f->path ? f->path : "an attachment"))
		return;
	attach_engines_yara(s, f->path ? f->path : "an attachment", f->buf, f->len);

	switch (t) {
	case AT_OOXML:
		attach_ooxml(s, f);
		break;
	case AT_OLE:
		attach_ole(s, f, 0);
		break;
	case AT_MSI:
		attach_ole(s, f, 1);
		break;
	case AT_PDF:
		attach_pdf(s, f);
		break;
	case AT_HTML:
		attach_html(s, f, 0);
		break;
	case AT_SVG:
		attach_html(s, f, 1);
		break;
	case AT_RTF:
		attach_rtf(s, f);
		break;
	default:
		if (attach_type_is_archive(t))
			attach_archive(s, f, t);
		break;
	}
}

static void
attach_scan(void *state, const struct scan_ctx *ctx, struct scan_result *r)
{
	const struct attach_state *st = state;
	const struct message *m = ctx->msg;
	struct attach_scan s;

	if (st == NULL)
		return;
	memset(&s, 0, sizeof(s));
	s.st = st;
	s.ctx = ctx;
	s.r = r;
	s.deadline = util_mono_ms() + st->cfg->malware_scan_budget;
	if (ctx->deadline_ms > 0 && ctx->deadline_ms < s.deadline)
		s.deadline = ctx->deadline_ms;

	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *pt = &m->parts[i];
		struct attach_file f;
		unsigned char *buf;
		size_t len = 0;
		int trunc = 0;
		char *safe;

		if (!pt->is_attachment)
			continue;
		s.part_bad = 0;
		safe = attach_safe_name(pt->filename);
		if (attach_out_of_time(&s, safe)) {
			/* what is left unscanned is bad too: strip it as well */
			result_mark_part(r, (int)i);
			free(safe);
			continue;
		}
		buf = message_part_bytes(m, i, (size_t)st->lim.file_max, &len, &trunc);
		if (buf == NULL) {
			attach_flag(&s, 1, "MALWARE_SCAN_ERROR", "%s: the attachment could not be decoded",
			    safe);
		} else {
			if (trunc)
				attach_flag(&s, 1, "MALWARE_SCAN_ERROR", "%s: larger than attach_max_size "
				    "(%lld bytes); not fully scanned", safe, (long long)st->lim.file_max);
			memset(&f, 0, sizeof(f));
			f.name = pt->filename;
			f.path = safe;
			f.declared = pt->content_type;
			f.buf = buf;
			f.len = len;
			attach_file(&s, &f);
		}
		if (s.part_bad)
			result_mark_part(r, (int)i);
		free(buf);
		free(safe);
	}
	if (s.yara_names[0] != '\0')
		result_add_scored(r, "YARA_MATCH", s.yara_score, "%s: %s", s.yara_where,
		    s.yara_names);
	for (size_t i = 0; i < s.npasswords; i++) {
		/* candidate passwords are secrets of a kind: wipe them */
		memset(s.passwords[i], 0, strlen(s.passwords[i]));
		free(s.passwords[i]);
	}
	free(s.passwords);
}

static void
attach_free(void *state)
{
	struct attach_state *st = state;

	if (st == NULL)
		return;
	attach_engines_free(st->eng);
	magic_pool_free(st->magic);
	free(st);
}

static int
attach_init(const struct config *cfg, void **state, char *err, size_t errlen)
{
	struct attach_state *st;

	*state = NULL;
	if (!cfg->attach_enable)
		return 0;
	st = xcalloc(1, sizeof(*st));
	st->cfg = cfg;
	st->lim.depth = cfg->archive_max_depth > 0 ? (unsigned)cfg->archive_max_depth : 1;
	st->lim.entries = (uint64_t)cfg->archive_max_entries;
	st->lim.expanded = (uint64_t)cfg->archive_max_expanded;
	st->lim.ratio = (uint64_t)cfg->archive_max_ratio;
	st->lim.file_max = (uint64_t)cfg->attach_max_size;
	st->dangerous_ext = cfg->attach_dangerous_ext;
	st->strip = strcmp(cfg->attachment_action, "strip") == 0;
	st->magic = magic_pool_new();
	st->eng = attach_engines_new(cfg, err, errlen);
	if (st->eng == NULL) {
		attach_free(st);
		return -1;
	}
	*state = st;
	return 0;
}

const struct detector detect_attach = {
	.name = "attach",
	.symbols = attach_symbols,
	.init = attach_init,
	.scan = attach_scan,
	.free = attach_free,
};
