/*
 * fuzz_attach_link.c - libFuzzer harness for the attachment-link split of
 * an outbound message (src/outbound/attach_link.c): attach_link_split()
 * takes the files out of a sender's MIME message, attach_link_join() puts
 * a notice in their place, attach_link_disposition() makes the
 * Content-Disposition of a download from a file name the sender chose,
 * attach_link_marked() reads the protection mark of a header.
 *
 * Checks: every file has a name without directories, control bytes or
 * invalid UTF-8, names are unique, a ctype "type/subtype"; the HTML
 * notice shows no name or URL with markup unescaped; the
 * disposition of every name is one header line of printable ASCII; the
 * joined message is not empty; a marked message is found marked.
 *
 * The same message through attach_zip_pack() (attachments into one
 * encrypted ZIP, max 256 KiB of them): 0 with a non-empty message and
 * a password of the asked length, 1 (nothing to pack) or -1 with err.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "message/message.h"
#include "outbound/attach_link.h"
#include "outbound/attach_zip.h"
#include "fuzz.h"

#define SPLIT_MAX	(512 * 1024)

static size_t
count_char(const char *s, char c)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == c;
	return n;
}

static void
check_disposition(const char *name)
{
	char *d = attach_link_disposition(name);

	CHECK(d != NULL);
	CHECK(strncmp(d, "attachment; filename=\"", 22) == 0);
	for (const unsigned char *p = (const unsigned char *)d; *p; p++)
		CHECK(*p >= 0x20 && *p < 0x7f);
	free(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct attach_link_split sp;
	char *raw, *marked, *joined, *name;
	size_t mlen, jlen = 0;
	int rc;

	/* GObjects from malloc, so that LeakSanitizer sees a part left behind
	 * (GSlice keeps them in its own reachable slabs); before GLib's first
	 * allocation */
	setenv("G_SLICE", "always-malloc", 0);
	if (size > SPLIT_MAX)
		return 0;
	raw = malloc(size ? size : 1);
	CHECK(raw != NULL);
	memcpy(raw, data, size);

	/* the file name straight from the input, as a header might give it */
	name = malloc(size + 1 > 512 ? 512 : size + 1);
	CHECK(name != NULL);
	memcpy(name, data, size + 1 > 512 ? 511 : size);
	name[size + 1 > 512 ? 511 : size] = '\0';
	check_disposition(name);
	free(name);

	marked = attach_link_mark(raw, size, "0123456789abcdef", &mlen);
	CHECK(attach_link_marked(marked, mlen, "0123456789abcdef") == 1);
	(void)attach_link_marked(raw, size, "0123456789abcdef");
	free(marked);

	{
		struct message *msg = message_parse(raw, size, NULL);
		struct attach_zip z;
		char zerr[256] = "";
		int zr;

		memset(&z, 0, sizeof(z));
		zr = attach_zip_pack(msg, NULL, 12, 256 * 1024, &z, zerr, sizeof(zerr));
		CHECK(zr == 0 || zr == 1 || zr == -1);
		if (zr == 0) {
			CHECK(z.message != NULL && z.len > 0 && z.nfiles > 0);
			CHECK(strlen(z.password) == 12);
			attach_zip_clear(&z);
		} else if (zr < 0) {
			CHECK(zerr[0] != '\0');
		}
		message_free(msg);
	}

	rc = attach_link_split(raw, size, &sp);
	CHECK(rc == 0 || rc == 1 || rc == -1);
	if (rc == 0) {
		CHECK(sp.nfiles > 0 && sp.msg != NULL);
		for (size_t i = 0; i < sp.nfiles; i++) {
			const struct attach_link_file *f = &sp.files[i];

			CHECK(f->name != NULL && f->name[0] != '\0');
			CHECK(strpbrk(f->name, "/\\") == NULL);
			CHECK(strcmp(f->name, ".") != 0 && strcmp(f->name, "..") != 0);
			CHECK(g_utf8_validate(f->name, -1, NULL));
			for (const unsigned char *p = (const unsigned char *)f->name; *p; p++)
				CHECK(*p >= 0x20 && *p != 0x7f);
			for (size_t j = 0; j < i; j++)
				CHECK(strcmp(sp.files[j].name, f->name) != 0);
			CHECK(f->ctype != NULL && strchr(f->ctype, '/') != NULL);
			CHECK(f->len == 0 || f->bytes != NULL);
			check_disposition(f->name);
		}
		{
			struct attach_link_notice n = { sp.files, sp.nfiles,
			    "https://mx.example.com/d/tok?a=1&b=\"<x>", 1700000000000LL, 3, 1 };
			char *html = attach_link_notice_render(&n, 1), *text;

			CHECK(html != NULL && strstr(html, "\"<x>") == NULL);
			/* the names add no markup: as many <, > and " as with plain names */
			{
				struct attach_link_file *plain = calloc(sp.nfiles,
				    sizeof(*plain));
				struct attach_link_notice pn = n;
				char *ref;

				CHECK(plain != NULL);
				for (size_t i = 0; i < sp.nfiles; i++) {
					plain[i] = sp.files[i];
					plain[i].name = (char *)"x";
				}
				pn.files = plain;
				ref = attach_link_notice_render(&pn, 1);
				for (const char *c = "<>\""; *c; c++)
					CHECK(count_char(html, *c) == count_char(ref, *c));
				free(ref);
				free(plain);
			}
			text = attach_link_notice_render(&n, 0);
			CHECK(text != NULL);
			free(text);
			free(html);
		}
		joined = attach_link_join(&sp, "notice", "<p>notice</p>", &jlen);
		CHECK(joined != NULL && jlen > 0);
		free(joined);
		attach_link_split_free(&sp);
	}
	free(raw);
	return 0;
}
