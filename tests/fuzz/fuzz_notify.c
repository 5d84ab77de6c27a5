/*
 * fuzz_notify.c - libFuzzer harness for notification rendering
 * (src/notify/notify.c) and the incident warning's text paths
 * (src/account/incident_warn.c).  Templates are admin-supplied files;
 * the values put into them (a held message's subject, a sender's display
 * name) come from mail anyone can send.
 *
 * Input: one flag byte (bit 0: language ja, bit 1: notify_charset
 * iso-2022-jp), then the template, a NUL, and the value every variable
 * gets.  The template is rendered, the message composed, then read back
 * as the incident preview reads it and stripped of Bcc.
 *
 * Checks: the value is never expanded again (a value with {{...}} stays
 * as it is); the message's header is CRLF lines only, no bare CR or LF,
 * no NUL, no line over 998 bytes, one Subject field and no Bcc; stripping Bcc from a message that
 * has none changes nothing; the ISO-2022-JP text, when there is one, is
 * 7-bit and each line ends in ASCII.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "account/incident_warn.h"
#include "notify/notify.h"
#include "util/config.h"
#include "fuzz.h"

#define MAX_INPUT	(64 * 1024)

static struct config *cfg_utf8, *cfg_jis;

static void
check_header(const char *msg, size_t len)
{
	const char *end = strstr(msg, "\r\n\r\n");
	int subjects = 0;

	CHECK(strlen(msg) == len);
	CHECK(end != NULL);
	for (const char *p = msg, *bol = msg; p < end + 2; p++) {
		if (*p == '\n') {
			CHECK(p - bol <= 999);	/* 998 and the CR */
			bol = p + 1;
		}
		if (*p == '\r')
			CHECK(p[1] == '\n');
		if (*p == '\n')
			CHECK(p > msg && p[-1] == '\r');
		if (p == msg || p[-1] == '\n') {
			if (strncasecmp(p, "Subject:", 8) == 0)
				subjects++;
			CHECK(strncasecmp(p, "Bcc:", 4) != 0);
		}
	}
	CHECK(subjects == 1);
}

static void
check_jis(const char *text)
{
	char *j = notify_to_iso2022jp(text);

	if (j == NULL)
		return;
	for (const unsigned char *p = (const unsigned char *)j; *p; p++)
		CHECK(*p < 0x80);
	free(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct notify_var vars[4];
	char *tmpl, *value, *sep, *text, *msg, *readable, *stripped;
	size_t len = 0, n;
	const char *lang;

	if (size < 1 || size > MAX_INPUT)
		return 0;
	if (cfg_utf8 == NULL) {
		char err[256];
		cfg_utf8 = config_new();
		cfg_jis = config_new();
		CHECK(config_set(cfg_jis, "notify_charset", "iso-2022-jp", err, sizeof(err)) == 0);
		CHECK(config_set(cfg_utf8, "notify_charset", "utf-8", err, sizeof(err)) == 0);
	}
	lang = data[0] & 1 ? "ja" : "en";
	n = size - 1;
	tmpl = malloc(n + 1);
	CHECK(tmpl != NULL);
	memcpy(tmpl, data + 1, n);
	tmpl[n] = '\0';
	if ((sep = memchr(tmpl, '\0', n)) != NULL && sep < tmpl + n)
		value = sep + 1;
	else
		value = tmpl + n;	/* "" */

	vars[0] = (struct notify_var){ "subject", value };
	vars[1] = (struct notify_var){ "sender", value };
	vars[2] = (struct notify_var){ "name", NULL };
	vars[3] = (struct notify_var){ "", value };
	text = notify_render(tmpl, vars, 4);
	CHECK(text != NULL);
	if (strstr(tmpl, "{{") == NULL)
		CHECK(strcmp(text, tmpl) == 0);
	/* a value is text: rendering "{{subject}}" gives it back unchanged */
	{
		char *once = notify_render("{{subject}}", vars, 4);
		CHECK(strcmp(once, value) == 0);
		free(once);
	}
	check_jis(text);

	msg = notify_message(data[0] & 2 ? cfg_jis : cfg_utf8, "hold", lang,
	    "user@example.com other@example.jp", text, &len);
	CHECK(msg != NULL);
	check_header(msg, len);
	stripped = incident_warn_strip_bcc(msg);
	CHECK(strcmp(stripped, msg) == 0);
	readable = incident_warn_readable(msg);
	CHECK(readable != NULL && strncmp(readable, "Subject: ", 9) == 0);
	(void)incident_warn_lang(value);

	/* the hostile text as a whole message, as the preview might get it */
	free(readable);
	free(stripped);
	readable = incident_warn_readable(tmpl);
	stripped = incident_warn_strip_bcc(tmpl);
	CHECK(readable != NULL && stripped != NULL);
	free(readable);
	free(stripped);
	free(msg);
	free(text);
	free(tmpl);
	return 0;
}
