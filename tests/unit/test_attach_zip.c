/*
 * test_attach_zip.c - attachment protection, compatibility mode: the
 * attachments of a message packed into one AES-256 ZIP.  The new message
 * is parsed again (text kept, one application/zip attachment, inline
 * images of an HTML body left alone), the ZIP is opened with libzip:
 * entries are AES-256, unreadable without the password or with a wrong
 * one, identical to the originals with it; and, when 7z is installed,
 * extracted by 7z with the password and refused without it.  Then the
 * password alphabet, messages without attachments and the size limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "message/message.h"
#include "outbound/attach_zip.h"
#include "util/util.h"

static const char mail[] =
    "From: Taro <taro@example.co.jp>\r\n"
    "To: someone@partner.example.jp\r\n"
    "Subject: =?UTF-8?B?6KaL56mN5pu4?=\r\n"
    "Message-ID: <zip-1@example.co.jp>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
    "\r\n"
    "--outer\r\n"
    "Content-Type: multipart/alternative; boundary=\"alt\"\r\n"
    "\r\n"
    "--alt\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "\r\n"
    "Please find the quote attached.\r\n"
    "--alt\r\n"
    "Content-Type: multipart/related; boundary=\"rel\"\r\n"
    "\r\n"
    "--rel\r\n"
    "Content-Type: text/html; charset=UTF-8\r\n"
    "\r\n"
    "<p>Please find the quote attached.<img src=\"cid:logo\"></p>\r\n"
    "--rel\r\n"
    "Content-Type: image/png; name=\"logo.png\"\r\n"
    "Content-ID: <logo>\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "iVBORw0KGgo=\r\n"
    "--rel--\r\n"
    "--alt--\r\n"
    "--outer\r\n"
    "Content-Type: text/csv; charset=UTF-8\r\n"
    "Content-Disposition: attachment; filename*=UTF-8''%E8%A6%8B%E7%A9%8D.csv\r\n"
    "\r\n"
    "item,price\r\nbolt,120\r\n"
    "--outer\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=\"../../etc/quote.pdf\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    "JVBERi0xLjQKJcOkw7wKMSAwIG9iago8PD4+CmVuZG9iagp0cmFpbGVyCjw8Pj4KJSVFT0YK\r\n"
    "--outer\r\n"
    "Content-Type: application/pdf\r\n"
    "Content-Disposition: attachment; filename=\"quote.pdf\"\r\n"
    "\r\n"
    "second file, same name\r\n"
    "--outer--\r\n";

static const char pdf[] = "%PDF-1.4\n%\xc3\xa4\xc3\xbc\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n";

/* The ZIP part of a packed message.  malloc'ed. */
static unsigned char *
zip_of(const char *raw, size_t rawlen, size_t *zlen, char **text)
{
	struct message *m = message_parse(raw, rawlen, NULL);
	unsigned char *z = NULL;
	int files = 0;

	*text = xstrdup(m->text != NULL ? m->text : "");
	for (size_t i = 0; i < m->nparts; i++) {
		const struct msg_part *p = &m->parts[i];
		int trunc = 0;

		if (p->filename != NULL && strcmp(p->filename, "attachments.zip") == 0) {
			assert_string_equal(p->content_type, "application/zip");
			z = message_part_bytes(m, i, 1 << 24, zlen, &trunc);
			files++;
		} else if (p->filename != NULL)
			assert_string_equal(p->filename, "logo.png");	/* the only other */
	}
	assert_int_equal(files, 1);
	message_free(m);
	return z;
}

/* Read entry name from the archive with password (NULL: none).  The
 * bytes, malloc'ed, or NULL with *zerr set. */
static char *
read_entry(zip_t *za, const char *name, const char *password, size_t *len, int *zerr)
{
	zip_file_t *f;
	zip_stat_t zs;
	char *buf;

	zip_set_default_password(za, password);
	if (zip_stat(za, name, 0, &zs) < 0)
		fail_msg("no entry %s", name);
	assert_int_equal(zs.encryption_method, ZIP_EM_AES_256);
	f = zip_fopen(za, name, 0);
	if (f == NULL) {
		*zerr = zip_error_code_zip(zip_get_error(za));
		zip_error_clear(za);
		return NULL;
	}
	buf = xmalloc(zs.size + 1);
	if (zip_fread(f, buf, zs.size) != (zip_int64_t)zs.size) {
		*zerr = zip_error_code_zip(zip_file_get_error(f));
		zip_fclose(f);
		free(buf);
		return NULL;
	}
	buf[zs.size] = '\0';
	*len = zs.size;
	if (zip_fclose(f) != 0) {	/* the AES authentication code */
		free(buf);
		*zerr = ZIP_ER_WRONGPASSWD;
		return NULL;
	}
	return buf;
}

static void
test_pack_and_open(void **state)
{
	struct message *m = message_parse(mail, sizeof(mail) - 1, NULL);
	struct attach_zip z;
	char err[256], *text, *data;
	unsigned char *zb;
	size_t zlen = 0, len = 0;
	zip_source_t *src;
	zip_t *za;
	zip_error_t ze;
	int zerr = 0;

	(void)state;
	assert_int_equal(attach_zip_pack(m, NULL, 0, 0, &z, err, sizeof(err)), 0);
	assert_int_equal(z.nfiles, 3);
	assert_int_equal(strlen(z.password), 16);
	/* the password is not in the message */
	assert_null(memmem(z.message, z.len, z.password, strlen(z.password)));
	/* CRLF throughout */
	for (size_t i = 0; i < z.len; i++)
		if (z.message[i] == '\n')
			assert_true(i > 0 && z.message[i - 1] == '\r');

	zb = zip_of(z.message, z.len, &zlen, &text);
	assert_non_null(zb);
	assert_non_null(strstr(text, "Please find the quote attached."));
	assert_non_null(strstr(z.message, "Subject: =?UTF-8?B?6KaL56mN5pu4?="));
	assert_non_null(strstr(z.message, "cid:logo"));

	zip_error_init(&ze);
	src = zip_source_buffer_create(zb, zlen, 0, &ze);
	assert_non_null(src);
	za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze);
	assert_non_null(za);
	assert_int_equal(zip_get_num_entries(za, 0), 3);

	/* without the password, or with a wrong one: nothing */
	assert_null(read_entry(za, "quote.pdf", NULL, &len, &zerr));
	assert_int_equal(zerr, ZIP_ER_NOPASSWD);
	zerr = 0;
	assert_null(read_entry(za, "quote.pdf", "WrongPassword234", &len, &zerr));
	assert_int_equal(zerr, ZIP_ER_WRONGPASSWD);

	/* with it: the files as they were; names without directories,
	 * made unique, in UTF-8 */
	data = read_entry(za, "quote.pdf", z.password, &len, &zerr);
	assert_non_null(data);
	assert_int_equal(len, sizeof(pdf) - 1);
	assert_memory_equal(data, pdf, len);
	free(data);
	data = read_entry(za, "quote (2).pdf", z.password, &len, &zerr);
	assert_non_null(data);
	assert_string_equal(data, "second file, same name");
	free(data);
	data = read_entry(za, "見積.csv", z.password, &len, &zerr);
	assert_non_null(data);
	assert_string_equal(data, "item,price\r\nbolt,120");
	free(data);

	zip_close(za);
	zip_error_fini(&ze);

	/* 7z, the tool a recipient would use */
	if (access("/usr/bin/7z", X_OK) == 0) {
		char dir[] = "/tmp/sekisho-zip-XXXXXX", *zp, *cmd, *out;
		FILE *fp;
		struct stat sb;

		assert_non_null(mkdtemp(dir));
		zp = xasprintf("%s/a.zip", dir);
		fp = fopen(zp, "wb");
		assert_non_null(fp);
		assert_int_equal(fwrite(zb, 1, zlen, fp), zlen);
		assert_int_equal(fclose(fp), 0);
		cmd = xasprintf("cd %s && 7z x -y -pnot-the-password a.zip >/dev/null 2>&1", dir);
		assert_int_not_equal(system(cmd), 0);
		free(cmd);
		cmd = xasprintf("cd %s && rm -f quote*.pdf *.csv && 7z x -y -p%s a.zip"
		    " >/dev/null 2>&1", dir, z.password);
		assert_int_equal(system(cmd), 0);
		free(cmd);
		out = xasprintf("%s/quote.pdf", dir);
		assert_int_equal(stat(out, &sb), 0);
		assert_int_equal(sb.st_size, (off_t)(sizeof(pdf) - 1));
		free(out);
		cmd = xasprintf("rm -rf '%s'", dir);
		assert_int_equal(system(cmd), 0);
		free(cmd);
		free(zp);
	}
	free(zb);
	free(text);
	attach_zip_clear(&z);
	assert_int_equal(z.password[0], '\0');
	message_free(m);
}

static void
test_password(void **state)
{
	char a[ATTACH_ZIP_PW_MAX + 1], b[ATTACH_ZIP_PW_MAX + 1];

	(void)state;
	assert_int_equal(attach_zip_password(a, 7), -1);
	assert_int_equal(attach_zip_password(a, ATTACH_ZIP_PW_MAX + 1), -1);
	assert_int_equal(attach_zip_password(a, 20), 0);
	assert_int_equal(strlen(a), 20);
	assert_int_equal(strspn(a, "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"), 20);
	assert_int_equal(attach_zip_password(b, 20), 0);
	assert_string_not_equal(a, b);
}

static void
test_nothing_and_limit(void **state)
{
	static const char plain[] = "From: a@example.co.jp\r\nTo: b@example.jp\r\nSubject: x\r\n\r\nhi\r\n";
	struct message *m = message_parse(plain, sizeof(plain) - 1, NULL);
	struct attach_zip z;
	char err[256];

	(void)state;
	assert_int_equal(attach_zip_pack(m, NULL, 0, 0, &z, err, sizeof(err)), 1);
	assert_null(z.message);
	message_free(m);

	m = message_parse(mail, sizeof(mail) - 1, NULL);
	assert_int_equal(attach_zip_pack(m, "x.zip", 0, 40, &z, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "limit"));
	assert_null(z.message);
	assert_int_equal(z.password[0], '\0');
	assert_int_equal(attach_zip_pack(m, NULL, 3, 0, &z, err, sizeof(err)), -1);
	message_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_and_open),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_nothing_and_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
