/*
 * attach_archive.c - archives through libarchive, recursively and bounded.
 *
 * zip, rar (4 and 5), 7z, tar, gzip, bzip2, xz, lzma, zstd, cab, ISO 9660,
 * cpio and lha are read from memory; every regular entry is read whole and
 * handed to attach_file() one level deeper.  Encrypted entries cannot be
 * read, but their names can: they still go through the name checks.
 *
 * Limits (struct attach_limits, counted over the whole message so that
 * many small archives are no way around them), checked while the bytes
 * come out of the decompressor, so a bomb costs at most the limit:
 *   depth      archives inside archives (attach_file checks it)
 *   entries    entries of all archives
 *   expanded   bytes expanded from all archives
 *   ratio      bytes expanded from one archive over its own size, once it
 *              has expanded past RATIO_FLOOR (a small file of zeros is no
 *              bomb)
 * Hitting one gives ARCHIVE_BOMB and stops the scan of the whole message
 * there (it is quarantined by default; what was left is not scanned).
 * Memory: one entry is held at a time per nesting level, and all of them
 * together are bounded by the expanded limit.
 *
 * Passwords: when an archive has encrypted entries, candidates written in
 * the message (attach_password.c) are tried one at a time; the first that
 * lets an encrypted entry be read whole, CRC checked, is used to read the
 * rest, and what comes out is scanned like any attachment (the engines too:
 * ClamAV could not look inside).  libarchive decrypts zip (ZipCrypto and
 * WinZip AES); 7z and rar encryption it cannot, so those stay
 * ARCHIVE_ENCRYPTED.
 *
 * Only built-in decompressors are enabled: nothing here starts a program.
 */
#include "detect/attach.h"
#include "util/log.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>

#define RATIO_FLOOR	(10u << 20)	/* bytes an archive may expand to before the ratio counts */
#define MAX_TRIES	16		/* candidate passwords tried per archive */
#define CHUNK		65536

int
attach_type_is_archive(enum attach_type t)
{
	switch (t) {
	case AT_ZIP: case AT_JAR: case AT_RAR: case AT_7Z: case AT_TAR: case AT_GZIP:
	case AT_BZIP2: case AT_XZ: case AT_ZSTD: case AT_CAB: case AT_ISO: case AT_CPIO:
	case AT_LHA: case AT_ODF:
		return 1;
	default:
		return 0;
	}
}

static struct archive *
open_mem(const unsigned char *buf, size_t len, const char *pw)
{
	struct archive *a = archive_read_new();

	archive_read_support_format_7zip(a);
	archive_read_support_format_cab(a);
	archive_read_support_format_cpio(a);
	archive_read_support_format_iso9660(a);
	archive_read_support_format_lha(a);
	archive_read_support_format_rar(a);
	archive_read_support_format_rar5(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_raw(a);	/* a lone .gz/.bz2/.xz */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_lzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_compress(a);
	if (pw != NULL)
		archive_read_add_passphrase(a, pw);
	if (archive_read_open_memory(a, buf, len) != ARCHIVE_OK) {
		/* the caller reads the error string before freeing */
		return a;
	}
	return a;
}

struct walk {
	struct attach_scan *s;
	const struct attach_file *f;
	uint64_t expanded;		/* from this archive */
	const char *pw;			/* NULL on the first pass */
	unsigned encrypted;		/* encrypted entries seen */
	char *first_encrypted;		/* its name, for the reason */
	int wrong_password;		/* an encrypted entry did not read with pw */
	int opened;			/* an encrypted entry read with pw */
	int corrupt;
	char err[160];
};

static void
bomb(struct attach_scan *s, const struct attach_file *f, const char *fmt, unsigned long long v)
{
	char *safe = attach_safe_name(f->path ? f->path : f->name), what[96];

	snprintf(what, sizeof(what), fmt, v);
	s->bomb = 1;
	attach_flag(s, 1, "ARCHIVE_BOMB", "%s: %s", safe, what);
	free(safe);
}

/*
 * Read the current entry's data whole.  0 with *out (malloc'ed), -1 on a
 * read error (w->err), -2 when a limit stopped it (symbol given).
 */
static int
read_entry(struct walk *w, struct archive *a, struct archive_entry *e,
    unsigned char **out, size_t *outlen)
{
	struct attach_scan *s = w->s;
	const struct attach_limits *lim = &s->st->lim;
	size_t cap, len = 0;
	unsigned char *buf;
	la_ssize_t n;

	cap = archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
	    archive_entry_size(e) < (1 << 20) ? (size_t)archive_entry_size(e) + 1 : CHUNK;
	buf = xmalloc(cap);
	for (;;) {
		if (cap - len < CHUNK) {
			cap = cap * 2 > len + CHUNK ? cap * 2 : len + CHUNK;
			buf = xrealloc(buf, cap);
		}
		n = archive_read_data(a, buf + len, CHUNK);
		if (n < 0) {
			snprintf(w->err, sizeof(w->err), "%s", archive_error_string(a) ?
			    archive_error_string(a) : "read error");
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		w->expanded += (uint64_t)n;
		s->expanded += (uint64_t)n;
		if (s->expanded > lim->expanded) {
			bomb(s, w->f, "expands past %llu bytes (archive_max_expanded)",
			    (unsigned long long)lim->expanded);
			free(buf);
			return -2;
		}
		if (w->expanded > RATIO_FLOOR && w->f->len > 0 &&
		    w->expanded / w->f->len > lim->ratio) {
			bomb(s, w->f, "expands more than %llu times its size (archive_max_ratio)",
			    (unsigned long long)lim->ratio);
			free(buf);
			return -2;
		}
		if (len > lim->file_max) {
			char *safe = attach_safe_name(w->f->path);
			attach_flag(s, 1, "MALWARE_SCAN_ERROR", "%s: an entry larger than "
			    "attach_max_size; not scanned", safe);
			free(safe);
			free(buf);
			return -2;
		}
		if ((len & ((1u << 22) - 1)) < CHUNK && attach_out_of_time(s, "an archive entry")) {
			free(buf);
			return -2;
		}
	}
	*out = buf;
	*outlen = len;
	return 0;
}

static const char *
entry_name(struct archive_entry *e)
{
	const char *n = archive_entry_pathname_utf8(e);

	if (n == NULL)
		n = archive_entry_pathname(e);
	return n != NULL ? n : "(no name)";
}

/*
 * One pass over the archive.  First pass (w->pw NULL): every readable entry
 * is scanned, encrypted ones are counted.  Password pass: only encrypted
 * entries are read; the first failure ends the pass (wrong password).
 */
static void
walk_pass(struct walk *w, attach_entry_fn fn, void *arg)
{
	struct attach_scan *s = w->s;
	const struct attach_file *f = w->f;
	struct archive *a = open_mem(f->buf, f->len, w->pw);
	struct archive_entry *e;
	int rc;

	for (;;) {
		unsigned char *buf = NULL;
		size_t len = 0;
		const char *name;
		int enc, st;
		char *path;

		rc = archive_read_next_header(a, &e);
		if (rc == ARCHIVE_EOF)
			break;
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			const char *es = archive_error_string(a);
			snprintf(w->err, sizeof(w->err), "%s", es ? es : "unreadable");
			if (es != NULL && strstr(es, "ncrypt") != NULL) {
				/* 7z with encrypted headers: not even the names */
				w->encrypted++;
				if (w->first_encrypted == NULL)
					w->first_encrypted = xstrdup("(encrypted headers)");
			} else if (w->pw == NULL && (es == NULL || strstr(es, "nsupported") == NULL))
				w->corrupt = 1;
			break;
		}
		if (s->timed_out || s->bomb || attach_out_of_time(s, "an archive"))
			break;
		if (w->pw == NULL && ++s->entries > s->st->lim.entries) {
			bomb(s, f, "more than %llu archive entries (archive_max_entries)",
			    (unsigned long long)s->st->lim.entries);
			break;
		}
		if (archive_entry_filetype(e) != AE_IFREG)
			continue;
		name = entry_name(e);
		enc = archive_entry_is_data_encrypted(e) || archive_entry_is_encrypted(e);
		path = xasprintf("%s/%s", f->path ? f->path : "(attachment)", name);
		if (w->pw == NULL && enc) {
			struct attach_file nf;

			/* the name is in the clear even when the data is not */
			w->encrypted++;
			if (w->first_encrypted == NULL)
				w->first_encrypted = xstrdup(name);
			memset(&nf, 0, sizeof(nf));
			nf.name = name;
			nf.path = path;
			nf.depth = f->depth + 1;
			nf.in_archive = 1;
			attach_check_name(s, &nf);
			free(path);
			continue;
		}
		if (w->pw != NULL && !enc) {
			free(path);
			continue;
		}
		/* an honest header gives a bomb away before anything is inflated */
		if (archive_entry_size_is_set(e) && archive_entry_size(e) > (la_int64_t)RATIO_FLOOR &&
		    f->len > 0 && (uint64_t)archive_entry_size(e) / f->len > s->st->lim.ratio) {
			bomb(s, f, "holds an entry more than %llu times its size (archive_max_ratio)",
			    (unsigned long long)s->st->lim.ratio);
			free(path);
			break;
		}
		st = read_entry(w, a, e, &buf, &len);
		if (st == -2) {
			free(path);
			break;
		}
		if (st == -1) {
			free(path);
			if (w->pw != NULL) {
				w->wrong_password = 1;
				break;
			}
			if (enc)
				continue;
			/* a method libarchive lacks (deflate64, implode) is no
			 * corruption: ClamAV, which has them, saw the file */
			if (strstr(w->err, "nsupported") == NULL)
				w->corrupt = 1;
			break;
		}
		if (w->pw != NULL)
			w->opened = 1;
		if (fn != NULL) {
			int stop = fn(s, f, name, buf, len, arg);
			free(buf);
			free(path);
			if (stop)
				break;
			continue;
		}
		{
			struct attach_file nf;

			memset(&nf, 0, sizeof(nf));
			nf.name = name;
			nf.path = path;
			nf.buf = buf;
			nf.len = len;
			nf.depth = f->depth + 1;
			nf.in_archive = 1;
			nf.decrypted = f->decrypted || w->pw != NULL;
			/* ClamAV was given the outer file and unpacked it
			 * itself, but could not open what needed a password */
			nf.engines_done = w->pw == NULL;
			attach_file(s, &nf);
		}
		free(buf);
		free(path);
	}
	archive_read_free(a);
}

static void
try_passwords(struct walk *first)
{
	struct attach_scan *s = first->s;
	const struct attach_file *f = first->f;
	char *safe;

	if (!s->passwords_done) {
		const struct message *m = s->ctx->msg;
		char *text = xasprintf("%s\n%s\n%s", m->subject ? m->subject : "",
		    m->text ? m->text : "", m->html_text ? m->html_text : "");
		s->npasswords = attach_passwords(text, &s->passwords, MAX_TRIES);
		s->passwords_done = 1;
		free(text);
	}
	safe = attach_safe_name(f->path ? f->path : f->name);
	for (size_t i = 0; i < s->npasswords; i++) {
		struct walk w;

		if (s->timed_out || s->bomb || attach_out_of_time(s, "trying archive passwords"))
			break;
		memset(&w, 0, sizeof(w));
		w.s = s;
		w.f = f;
		w.pw = s->passwords[i];
		walk_pass(&w, NULL, NULL);
		free(w.first_encrypted);
		if (w.opened) {
			/* never the password itself: it is a secret of the recipient's */
			attach_flag(s, 0, "ARCHIVE_PASSWORD_IN_BODY", "%s: opened with a password "
			    "written in the message (candidate %zu of %zu); its content was scanned",
			    safe, i + 1, s->npasswords);
			break;
		}
	}
	free(safe);
}

void
attach_archive(struct attach_scan *s, const struct attach_file *f, enum attach_type t)
{
	struct walk w;
	char *safe;

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.f = f;
	walk_pass(&w, NULL, NULL);
	safe = attach_safe_name(f->path ? f->path : f->name);
	if (w.corrupt && !s->bomb && !s->timed_out)
		attach_flag(s, 0, "ARCHIVE_CORRUPT", "%s: %s archive: %s", safe,
		    attach_type_name(t), w.err);
	if (w.encrypted > 0) {
		char *en = attach_safe_name(w.first_encrypted);
		attach_flag(s, 0, "ARCHIVE_ENCRYPTED", "%s: %u encrypted entr%s in a %s archive "
		    "(%s%s)", safe, w.encrypted, w.encrypted == 1 ? "y" : "ies",
		    attach_type_name(t), en, w.encrypted > 1 ? ", ..." : "");
		free(en);
		if (s->st->cfg->archive_try_passwords && !s->bomb && !s->timed_out)
			try_passwords(&w);
	}
	free(w.first_encrypted);
	free(safe);
}

int
attach_zip_entries(struct attach_scan *s, const struct attach_file *f, attach_entry_fn fn,
    void *arg)
{
	struct walk w;

	memset(&w, 0, sizeof(w));
	w.s = s;
	w.f = f;
	walk_pass(&w, fn, arg);
	free(w.first_encrypted);
	if (w.corrupt && !s->bomb && !s->timed_out) {
		char *safe = attach_safe_name(f->path ? f->path : f->name);
		attach_flag(s, 0, "ARCHIVE_CORRUPT", "%s: %s", safe, w.err);
		free(safe);
		return -1;
	}
	return 0;
}
