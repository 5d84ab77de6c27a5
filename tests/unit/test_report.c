/*
 * test_report.c - machine reports (DMARC aggregate, SMTP TLS reporting):
 * which shapes are recognised, and when MACHINE_REPORT gives its credit.
 *
 * Each case is a whole message: a short text part and one attachment, with
 * the Subject, file name, type and body of the case.  Then the detector:
 * the credit on a clean report, none when another check already found a
 * fault, none on outbound mail.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "detect/detect.h"
#include "detect/detect_report.h"
#include "message/message.h"
#include "store/envelope.h"
#include "util/config.h"
#include "util/util.h"

struct report_case {
	const char *name;
	const char *subject;
	const char *filename;
	const char *type;
	const char *body;
	int second_file;	/* another attachment rides along */
	enum report_kind want;
};

static const struct report_case cases[] = {
	{ "google zip", "Report domain: example.org Submitter: google.com Report-ID: 94934886607",
	  "google.com!example.org!1549929600!1550015999.zip", "application/zip",
	  "This is an aggregate report from google.com.", 0, REPORT_DMARC },
	{ "gzip with id", "Report Domain: example.org Submitter: mimecast.org Report-ID: <x>",
	  "mimecast.org!example.org!1693353600!1693439999!157a5fe30ec7.xml.gz",
	  "application/gzip", "", 0, REPORT_DMARC },
	{ "tls report", "Report Domain: example.ca Submitter: google.com Report-ID: <2024@google.com>",
	  "google.com!example.ca!1725321600!1725407999!001.json.gz", "application/tlsrpt+gzip",
	  "This is an aggregate TLS report from google.com", 0, REPORT_TLSRPT },
	{ "link to the reported domain", "Report domain: example.org Submitter: google.com",
	  "google.com!example.org!1549929600!1550015999.zip", "application/zip",
	  "Example Org https://www.example.org/", 0, REPORT_DMARC },
	{ "link elsewhere", "Report domain: example.org Submitter: google.com",
	  "google.com!example.org!1549929600!1550015999.zip", "application/zip",
	  "Open your report at https://dmarc-viewer.example.net/login", 0, REPORT_NONE },
	{ "subject without the domain", "Your DMARC report",
	  "google.com!example.org!1549929600!1550015999.zip", "application/zip", "", 0,
	  REPORT_NONE },
	{ "subject not a report", "Invoice for example.org",
	  "google.com!example.org!1549929600!1550015999.zip", "application/zip", "", 0,
	  REPORT_NONE },
	{ "an executable", "Report domain: example.org Submitter: google.com",
	  "google.com!example.org!1549929600!1550015999.exe", "application/octet-stream", "", 0,
	  REPORT_NONE },
	{ "a document type", "Report domain: example.org Submitter: google.com",
	  "google.com!example.org!1549929600!1550015999.zip", "application/msword", "", 0,
	  REPORT_NONE },
	{ "end before begin", "Report domain: example.org Submitter: google.com",
	  "google.com!example.org!1550015999!1549929600.zip", "application/zip", "", 0,
	  REPORT_NONE },
	{ "a year long", "Report domain: example.org Submitter: google.com",
	  "google.com!example.org!1500000000!1550015999.zip", "application/zip", "", 0,
	  REPORT_NONE },
	{ "not a host name", "Report domain: example.org Submitter: google",
	  "google!example.org!1549929600!1550015999.zip", "application/zip", "", 0,
	  REPORT_NONE },
	{ "three fields", "Report domain: example.org Submitter: google.com",
	  "google.com!example.org!1549929600.zip", "application/zip", "", 0, REPORT_NONE },
	{ "a second file", "Report domain: example.org Submitter: google.com",
	  "google.com!example.org!1549929600!1550015999.zip", "application/zip", "", 1,
	  REPORT_NONE },
	{ "a plain invoice", "Report domain: example.org", "invoice.zip", "application/zip", "",
	  0, REPORT_NONE },
};

static struct message *
report_message(const struct report_case *c)
{
	char *raw, *msg_raw;
	struct message *m;

	raw = xasprintf("--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n"
	    "--B\r\nContent-Type: %s; name=\"%s\"\r\n"
	    "Content-Disposition: attachment; filename=\"%s\"\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nUEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==\r\n"
	    "%s--B--\r\n", c->body, c->type, c->filename, c->filename,
	    c->second_file ? "--B\r\nContent-Type: application/pdf; name=\"a.pdf\"\r\n"
	    "Content-Disposition: attachment; filename=\"a.pdf\"\r\n\r\n%PDF-1.4\r\n" : "");
	msg_raw = xasprintf("From: noreply-dmarc-support@google.com\r\n"
	    "To: dmarc@example.org\r\nSubject: %s\r\n"
	    "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <r@google.com>\r\n"
	    "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n%s",
	    c->subject, raw);
	m = message_parse(msg_raw, strlen(msg_raw), NULL);
	free(raw);
	free(msg_raw);
	return m;
}

static void
test_recognize(void **state)
{
	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct message *m = report_message(&cases[i]);
		char sub[256], dom[256];
		enum report_kind got;

		assert_non_null(m);
		got = report_recognize(m, sub, dom, sizeof(sub));
		if (got != cases[i].want)
			fail_msg("%s: kind %d, want %d", cases[i].name, got, cases[i].want);
		if (got != REPORT_NONE)
			assert_string_equal(dom, strstr(cases[i].filename, "!") + 1 ==
			    strstr(cases[i].filename, "example.org") ? "example.org" : "example.ca");
		message_free(m);
	}
}

static struct config *
make_cfg(void)
{
	struct config *cfg = config_new();
	char err[256];

	assert_int_equal(config_set(cfg, "network_checks", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "bayes_enable", "no", err, sizeof(err)), 0);
	return cfg;
}

/* The detector alone, after `prior` (a symbol another check found, or NULL). */
static int
credited(const struct report_case *c, const char *prior, int outbound)
{
	struct config *cfg = make_cfg();
	char err[512];
	struct detect_engine *de = detect_new(cfg, err, sizeof(err));
	struct envelope *env = envelope_new();
	struct message *m = report_message(c);
	struct scan_ctx ctx = { .cfg = cfg, .env = env, .msg = m, .outbound = outbound };
	struct scan_result r;
	int got;

	if (de == NULL)
		fail_msg("detect_new: %s", err);
	env->listener = xstrdup(outbound ? "outbound" : "inbound");
	scan_result_init(&r, detect_scores(de));
	if (prior != NULL)
		result_add(&r, prior, "as another check would");
	detect_report.scan(NULL, &ctx, &r);
	got = result_has(&r, "MACHINE_REPORT");
	if (got && prior == NULL)
		assert_true(r.score <= -4.0 + 1e-9);
	scan_result_clear(&r);
	message_free(m);
	envelope_free(env);
	detect_free(de);
	config_free(cfg);
	return got;
}

static void
test_credit(void **state)
{
	(void)state;
	assert_true(credited(&cases[0], NULL, 0));
	/* a small finding does not withhold it, a fault does */
	assert_true(credited(&cases[0], "HDR_DATE_OLD", 0));
	assert_false(credited(&cases[0], "ARCHIVE_NESTED_DANGEROUS", 0));
	assert_false(credited(&cases[0], "PHISH_LURE", 0));
	assert_false(credited(&cases[0], "MALWARE_FOUND", 0));
	/* outbound mail is not credited, nor what is not a report */
	assert_false(credited(&cases[0], NULL, 1));
	assert_false(credited(&cases[4], NULL, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recognize),
		cmocka_unit_test(test_credit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
