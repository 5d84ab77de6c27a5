/*
 * test_incident.c - incidents in the store (open, steps, timeline, close,
 * one open incident per login), the sent-mail history kept after delivery,
 * the forced password change, and the notice mails: ISO-2022-JP body and
 * RFC 2047 subject that read back to the template's text, encoded words
 * within 75 characters, recipients in Bcc, placeholders filled, a missing
 * template reported.  The whole flow against a running daemon is
 * tests/integration/test_incident.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account/incident.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "util/base64.h"
#include "util/config.h"
#include "util/util.h"
#include "testutil.h"

struct fx {
	char dir[64];
	struct store *st;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char err[256], *p;

	strcpy(f->dir, "/tmp/test-incident-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	p = xasprintf("%s/sekisho.db", f->dir);
	f->st = store_open(p, err, sizeof(err));
	free(p);
	if (f->st == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	store_close(f->st);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

static int
count_ev(const struct store_incident_event *ev, void *arg)
{
	char **whats = arg;
	char *n = xasprintf("%s%s%s", *whats, **whats ? "," : "", ev->what);

	free(*whats);
	*whats = n;
	return 0;
}

static void
test_store_incidents(void **state)
{
	struct fx *f = *state;
	struct store_incident inc;
	struct store_incident_step steps[INCIDENT_STEPS];
	int64_t id, id2;
	char *whats = xstrdup("");

	assert_int_equal(store_incident_find_open(f->st, "taro", &inc), 1);
	assert_int_equal(store_incident_open(f->st, "taro", "alice", &id), 0);
	assert_int_equal(store_incident_find_open(f->st, "taro", &inc), 0);
	assert_int_equal(inc.id, id);
	assert_string_equal(inc.opened_by, "alice");
	assert_int_equal(inc.closed_ms, 0);
	assert_int_equal(store_incident_step_set(f->st, id, 2, 1, "bob", "reset"), 0);
	assert_int_equal(store_incident_step_set(f->st, id, 4, 1, "bob", NULL), 0);
	assert_int_equal(store_incident_step_set(f->st, id, 5, 1, "bob", NULL), -1);
	assert_int_equal(store_incident_step_set(f->st, 999, 1, 1, "bob", NULL), 1);
	assert_int_equal(store_incident_get(f->st, id, &inc), 0);
	assert_int_equal(inc.steps_done, (1u << 1) | (1u << 3));
	assert_int_equal(store_incident_steps(f->st, id, steps), 0);
	assert_false(steps[0].done);
	assert_true(steps[1].done);
	assert_string_equal(steps[1].actor, "bob");
	assert_string_equal(steps[1].note, "reset");
	assert_true(steps[1].done_ms > 0);
	assert_int_equal(steps[2].step, 3);
	assert_int_equal(store_incident_step_set(f->st, id, 4, 0, "carol", "again"), 0);
	assert_int_equal(store_incident_close(f->st, id, "bob"), 0);
	assert_int_equal(store_incident_close(f->st, id, "bob"), 1);
	assert_int_equal(store_incident_find_open(f->st, "taro", &inc), 1);
	assert_int_equal(store_incident_event_foreach(f->st, id, count_ev, &whats), 0);
	assert_string_equal(whats, "opened,step_done,step_done,step_reopened,closed");
	free(whats);
	assert_int_equal(store_incident_open(f->st, "taro", "alice", &id2), 0);
	assert_true(id2 > id);
}

static int
rcpt_collect(const char *addr, int64_t count, int64_t last_ms, void *arg)
{
	char **s = arg;
	char *n = xasprintf("%s%s%s=%lld", *s, **s ? "," : "", addr, (long long)count);

	(void)last_ms;
	free(*s);
	*s = n;
	return 0;
}

static int
sent_collect(const struct store_sent *m, void *arg)
{
	char **s = arg;
	char *n = xasprintf("%s%s%s:%s", *s, **s ? "," : "", m->msg_id, m->action);

	free(*s);
	*s = n;
	return 0;
}

static void
test_sent_history(void **state)
{
	struct fx *f = *state;
	struct store_sent m = { .time_ms = 1000, .score = 1.5, .recipients = 2 };
	char *r1[] = { "A@Partner.example", "b@sekisho.test" }, *r2[] = { "a@partner.example" };
	char *s = xstrdup(""), reason[64];
	int64_t since;

	strcpy(m.msg_id, "ID1");
	strcpy(m.action, "deliver");
	assert_int_equal(store_user_sent_add(f->st, "Taro@Sekisho.test", &m, r1, 2), 0);
	strcpy(m.msg_id, "ID2");
	strcpy(m.action, "reject");
	m.time_ms = 2000;
	assert_int_equal(store_user_sent_add(f->st, "taro@sekisho.test", &m, r2, 1), 0);
	assert_int_equal(store_user_sent_foreach(f->st, "TARO@sekisho.test", 0, 0,
	    sent_collect, &s), 0);
	assert_string_equal(s, "ID2:reject,ID1:deliver");
	free(s);
	s = xstrdup("");
	assert_int_equal(store_user_contacts(f->st, "taro@sekisho.test", 0, rcpt_collect, &s), 0);
	assert_string_equal(s, "a@partner.example=2,b@sekisho.test=1");
	free(s);
	s = xstrdup("");
	assert_int_equal(store_user_contacts(f->st, "taro@sekisho.test", 1500, rcpt_collect, &s), 0);
	assert_string_equal(s, "a@partner.example=2");
	free(s);

	assert_int_equal(store_pwchange_get(f->st, "taro", NULL, NULL, 0), 1);
	assert_int_equal(store_pwchange_set(f->st, "taro", "incident 1"), 0);
	assert_int_equal(store_pwchange_get(f->st, "taro", &since, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "incident 1");
	assert_true(since > 0);
	assert_int_equal(store_pwchange_clear(f->st, "taro"), 0);
	assert_int_equal(store_pwchange_clear(f->st, "taro"), 1);
}

static char *
from_jis(const char *s, size_t len)
{
	iconv_t cd = iconv_open("UTF-8", "ISO-2022-JP");
	size_t cap = len * 3 + 1, inleft = len, outleft = cap;
	char *out = xcalloc(1, cap + 1), *in = (char *)(uintptr_t)s, *o = out;

	assert_true(cd != (iconv_t)-1);
	assert_true(iconv(cd, &in, &inleft, &o, &outleft) != (size_t)-1);
	iconv_close(cd);
	return out;
}

/* Decode the Subject's encoded words (one per line) back to UTF-8. */
static char *
decode_subject(const char *msg)
{
	const char *p = strstr(msg, "Subject: ");
	char *out = xstrdup("");

	assert_non_null(p);
	p += 9;
	for (;;) {
		const char *b, *e;
		unsigned char raw[256];
		long n;
		char *u, *t;
		assert_int_equal(strncmp(p, "=?ISO-2022-JP?B?", 16), 0);
		b = p + 16;
		e = strstr(b, "?=");
		assert_non_null(e);
		assert_true(e + 2 - p <= 75);
		assert_true((size_t)(e - b) / 4 * 3 < sizeof(raw));
		n = base64_decode(b, (size_t)(e - b), raw);
		assert_true(n >= 0);
		u = from_jis((const char *)raw, (size_t)n);
		t = xasprintf("%s%s", out, u);
		free(out);
		free(u);
		out = t;
		p = e + 2;
		if (strncmp(p, "\r\n ", 3) != 0)
			break;
		p += 3;
	}
	return out;
}

static void
test_notice(void **state)
{
	struct config *cfg = config_new();
	char err[256], *rcpts[] = { "a@partner.example", "b@customer.example" };
	char *msg, *body, *subj, *text;
	const char *src = getenv("SEKISHO_SRC");
	char *tdir = xasprintf("%s/templates", src ? src : ".");

	(void)state;
	assert_int_equal(config_set(cfg, "incident_template_dir", tdir, err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "local_domains", "hinagata.example", err, sizeof(err)), 0);
	msg = incident_notice(cfg, "ja", "taro@hinagata.example", 1764400000000, 1764500000000,
	    rcpts, 2, err, sizeof(err));
	if (msg == NULL)
		fail_msg("%s", err);
	for (const char *p = msg; *p; p++)
		assert_true((unsigned char)*p < 0x80);
	assert_non_null(strstr(msg, "Bcc: <a@partner.example>, <b@customer.example>\r\n"));
	assert_non_null(strstr(msg, "Content-Type: text/plain; charset=ISO-2022-JP\r\n"));
	subj = decode_subject(msg);
	assert_string_equal(subj, "【重要】不審なメールにご注意ください(hinagata.example)");
	body = strstr(msg, "\r\n\r\n");
	assert_non_null(body);
	text = from_jis(body + 4, strlen(body + 4));
	assert_non_null(strstr(text, "taro@hinagata.example のメールアカウント"));
	assert_non_null(strstr(text, "2025-11-29T07:06:40Z から"));
	assert_null(strstr(text, "{{"));
	free(text);
	free(subj);
	free(msg);

	msg = incident_notice(cfg, "en", "taro@hinagata.example", 0, 0, NULL, 0, err, sizeof(err));
	assert_non_null(msg);
	assert_null(strstr(msg, "Bcc:"));
	assert_non_null(strstr(msg, "Subject: Important: beware of suspicious mail from"
	    " taro@hinagata.example\r\n"));
	assert_non_null(strstr(msg, "charset=us-ascii"));
	free(msg);

	assert_null(incident_notice(cfg, "fr", "x@y", 0, 0, NULL, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "incident-notice.fr.txt"));

	free(tdir);
	config_free(cfg);
}

static void
test_user_address(void **state)
{
	struct config *cfg = config_new();
	char err[64], *a;

	(void)state;
	assert_int_equal(config_set(cfg, "local_domains", "a.example b.example", err, sizeof(err)), 0);
	a = incident_user_address(cfg, "taro");
	assert_string_equal(a, "taro@a.example");
	free(a);
	a = incident_user_address(cfg, "hanako@b.example");
	assert_string_equal(a, "hanako@b.example");
	free(a);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_incidents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sent_history, setup, teardown),
		cmocka_unit_test(test_notice),
		cmocka_unit_test(test_user_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
