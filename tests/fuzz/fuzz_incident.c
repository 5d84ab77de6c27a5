/*
 * fuzz_incident.c - libFuzzer harness for incident_notice()
 * (src/account/incident.c), the warning mail to a compromised user's
 * contacts: an admin-edited template (incident_template_dir) filled with
 * the user's address, which comes from a login name.
 *
 * Input: a flag byte (bit 0: ja), the template, a NUL, the user address,
 * a NUL, one contact address.  The template is written to a temporary
 * incident_template_dir for each input.  Checks: NULL with an error, or a
 * message whose header is CRLF lines only (no bare CR or LF, no NUL) with
 * one From, one Subject and at most one Bcc field, each line within 998
 * bytes, and an empty line before the body.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "account/incident.h"
#include "util/config.h"
#include "fuzz.h"

static struct config *cfg;
static char dir[] = "/tmp/fuzz-incident-XXXXXX";

/* The temporary directory goes when the process ends. */
static void
cleanup(void)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/incident-notice.ja.txt", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/incident-notice.en.txt", dir);
	unlink(path);
	rmdir(dir);
	config_free(cfg);
}

static void
setup(void)
{
	char err[256];

	CHECK(mkdtemp(dir) != NULL);
	atexit(cleanup);
	cfg = config_new();
	CHECK(config_set(cfg, "incident_template_dir", dir, err, sizeof(err)) == 0);
}

static void
put_template(const char *lang, const char *text, size_t len)
{
	char path[256];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/incident-notice.%s.txt", dir, lang);
	fp = fopen(path, "wb");
	CHECK(fp != NULL);
	CHECK(fwrite(text, 1, len, fp) == len || len == 0);
	fclose(fp);
}

static void
check_message(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n"), *bol = msg;
	int from = 0, subject = 0, bcc = 0;

	CHECK(end != NULL);
	for (const char *p = msg; p < end + 2; p++) {
		if (*p == '\r')
			CHECK(p[1] == '\n');
		if (*p == '\n') {
			CHECK(p > msg && p[-1] == '\r');
			CHECK(p - bol <= 999);
			bol = p + 1;
		}
		if (p == msg || p[-1] == '\n') {
			from += strncasecmp(p, "From:", 5) == 0;
			subject += strncasecmp(p, "Subject:", 8) == 0;
			bcc += strncasecmp(p, "Bcc:", 4) == 0;
		}
	}
	CHECK(from == 1 && subject == 1 && bcc <= 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy, *user, *rcpt, *msg, err[512];
	const char *lang;
	char *rcpts[1];
	size_t tlen;

	if (size < 1 || size > 64 * 1024)
		return 0;
	if (cfg == NULL)
		setup();
	lang = data[0] & 1 ? "ja" : "en";
	copy = malloc(size + 2);
	CHECK(copy != NULL);
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = copy[size] = copy[size + 1] = '\0';
	tlen = strlen(copy);
	user = copy + tlen + 1;
	rcpt = user + strlen(user) + 1;
	if (rcpt > copy + size)
		rcpt = copy + size;
	put_template(lang, copy, tlen);
	rcpts[0] = *rcpt ? rcpt : (char *)"friend@example.net";
	err[0] = '\0';
	msg = incident_notice(cfg, lang, *user ? user : "taro@example.co.jp", 1700000000000LL,
	    1700003600000LL, rcpts, 1, err, sizeof(err));
	if (msg == NULL)
		CHECK(err[0] != '\0');
	else
		check_message(msg);
	free(msg);
	free(copy);
	return 0;
}
