/*
 * test_parser_limits.c - regressions for what the fuzz harnesses of
 * tests/fuzz found in the parsers of untrusted input: a Dovecot log line
 * whose login forges the client address, a notification Subject with a
 * bare CR or over the line limit from a value, or empty (it was read
 * before its start), a form field left half-decoded after a bad escape,
 * an incident warning whose sender (a login) or contact adds a header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "account/incident.h"
#include "account/logwatch.h"
#include "http/http_form.h"
#include "notify/notify.h"
#include "util/config.h"

/* The login a client sends is written between "user=<" and ">"; it must
 * not choose the address the failure is counted for. */
static void
test_logwatch_forged_rip(void **state)
{
	struct logwatch_hit h;
	(void)state;

	assert_int_equal(logwatch_parse("dovecot: imap-login: Disconnected (auth failed, "
	    "1 attempts in 2 secs): user=<x>, method=PLAIN, rip=10.9.9.9>, method=PLAIN, "
	    "rip=192.0.2.9, lip=192.0.2.1, session=<a>", &h), 1);
	assert_string_equal(h.ip, "192.0.2.9");
	assert_string_equal(h.login, "x>, method=PLAIN, rip=10.9.9.9");
	assert_string_equal(h.protocol, "imap");
	/* a protocol name inside the login is not the service's */
	assert_int_equal(logwatch_parse("dovecot: Disconnected (auth failed, 1 attempts): "
	    "user=<evil-login:>, method=PLAIN, rip=192.0.2.9", &h), 1);
	assert_string_equal(h.protocol, "");
	/* an address must be one */
	assert_int_equal(logwatch_parse("dovecot: imap-login: Disconnected (auth failed, "
	    "1 attempts in 2 secs): user=<a>, method=PLAIN, rip=<script>, lip=1", &h), 0);
	assert_int_equal(logwatch_parse("postfix/smtpd: warning: x[not-an-ip]: SASL LOGIN "
	    "authentication failed: x, sasl_username=a", &h), 0);
	assert_int_equal(logwatch_parse("postfix/smtpd: warning: x[192.0.2.1]: SASL LOGIN "
	    "authentication failed: x, sasl_username=a\x01b", &h), 0);
	/* a count past int is the ceiling, not what a cast makes of it */
	assert_int_equal(logwatch_parse("dovecot: imap-login: Disconnected (auth failed, "
	    "4294967297 attempts in 2 secs): user=<e>, rip=192.0.2.9", &h), 1);
	assert_int_equal(h.count, 100);
}

/* The header part of msg: every CR followed by LF, lines of at most 998;
 * no Bcc field unless bcc_ok. */
static void
assert_clean_header(const char *msg, int bcc_ok)
{
	const char *end = strstr(msg, "\r\n\r\n"), *bol = msg;

	assert_non_null(end);
	for (const char *p = msg; p < end + 2; p++) {
		if (*p == '\r')
			assert_int_equal(p[1], '\n');
		if (*p == '\n') {
			assert_true(p[-1] == '\r');
			assert_true(p - bol <= 999);
			bol = p + 1;
		}
	}
	if (!bcc_ok)
		assert_null(strstr(msg, "\r\nBcc:"));
}

static void
test_notify_subject_from_value(void **state)
{
	struct config *cfg = config_new();
	struct notify_var v = { "subject", "invoice\rBcc: evil@example.net" };
	char *text, *msg, *long_value;
	size_t len;
	(void)state;

	text = notify_render("Subject: held: {{subject}}\n\nbody\n", &v, 1);
	msg = notify_message(cfg, "hold", "en", "a@example.com", text, &len);
	assert_clean_header(msg, 0);
	assert_non_null(strstr(msg, "Subject: held: invoice Bcc: evil@example.net\r\n"));
	free(msg);
	free(text);

	/* an empty Subject (the value was empty) */
	v.value = "";
	text = notify_render("Subject: {{subject}}\n\n.net\n", &v, 1);
	msg = notify_message(cfg, "hold", "en", "a@example.com", text, &len);
	assert_clean_header(msg, 0);
	free(msg);
	free(text);

	long_value = malloc(5001);
	memset(long_value, 'A', 5000);
	long_value[5000] = '\0';
	v.value = long_value;
	text = notify_render("Subject: {{subject}}\n\nbody\n", &v, 1);
	msg = notify_message(cfg, "hold", "en", "a@example.com", text, &len);
	assert_clean_header(msg, 0);
	free(msg);
	free(text);
	free(long_value);
	config_free(cfg);
}

static void
test_form_field_bad_escape(void **state)
{
	char out[64];
	(void)state;

	memset(out, 'x', sizeof(out));
	assert_int_equal(http_form_field("code=ab%00cd", 12, "code", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	memset(out, 'x', sizeof(out));
	assert_int_equal(http_form_field("code=abc%zz", 11, "code", out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(http_form_field("code=abcdef", 11, "code", out, 4), -1);
	assert_string_equal(out, "");
	assert_int_equal(http_form_field("a=1&code=x+y%21", 15, "code", out, sizeof(out)), 0);
	assert_string_equal(out, "x y!");
}

/* The incident warning's From is the user's address, made from a login. */
static void
test_incident_notice_header_values(void **state)
{
	struct config *cfg = config_new();
	char err[256], *msg;
	char *rcpts[] = { (char *)"a@partner.example", (char *)"b@x\r\nX-Evil: 1",
	    (char *)"c@customer.example" };
	(void)state;

	msg = incident_notice(cfg, "en", "taro@example.com>\r\nBcc: all@example.com", 0,
	    3600000, rcpts, 3, err, sizeof(err));
	assert_null(msg);
	assert_non_null(strstr(err, "cannot be a sender address"));
	msg = incident_notice(cfg, "en", "taro@example.com", 0, 3600000, rcpts, 3, err,
	    sizeof(err));
	assert_non_null(msg);
	assert_clean_header(msg, 1);
	assert_null(strstr(msg, "X-Evil"));
	assert_non_null(strstr(msg, "Bcc: <a@partner.example>, <c@customer.example>\r\n"));
	free(msg);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_logwatch_forged_rip),
		cmocka_unit_test(test_notify_subject_from_value),
		cmocka_unit_test(test_form_field_bad_escape),
		cmocka_unit_test(test_incident_notice_header_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
