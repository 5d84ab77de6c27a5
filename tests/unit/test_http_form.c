/*
 * test_http_form.c - the console API's pure parts for holds, accounts and
 * the link pages (http_form.h): HTML escaping of hostile text, form
 * bodies, durations, a hold's reasons, approver lists, the per-address
 * failure limiter; and the read-only store views behind them
 * (store_api.h) against a real SQLite store: holds filtered by sender,
 * approver and status, newest first with a total; a token looked at
 * without being spent; hold and login-event counts for /stats.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http_form.h"
#include "outbound/outbound.h"
#include "store/store.h"
#include "store/store_account.h"
#include "store/store_api.h"
#include "store/store_outbound.h"
#include "util/buf.h"
#include "util/util.h"

static char *
escaped(const char *s)
{
	struct buf b = { 0 };

	buf_html(&b, s);
	buf_str(&b, "");
	return buf_steal(&b, NULL);
}

static void
test_html_escape(void **state)
{
	char *s;

	(void)state;
	s = escaped("<script>alert('x')</script>&\"");
	assert_string_equal(s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;");
	free(s);
	s = escaped("見積書 \xff\x01" "end");
	assert_string_equal(s, "見積書 \xEF\xBF\xBD end");
	free(s);
	s = escaped(NULL);
	assert_string_equal(s, "");
	free(s);
}

static void
test_form_field(void **state)
{
	const char *body = "action=approve&comment=%E7%A2%BA%E8%AA%8D+OK%21&empty=&flag";
	char out[64], tiny[4];

	(void)state;
	assert_int_equal(http_form_field(body, strlen(body), "action", out, sizeof(out)), 0);
	assert_string_equal(out, "approve");
	assert_int_equal(http_form_field(body, strlen(body), "comment", out, sizeof(out)), 0);
	assert_string_equal(out, "確認 OK!");
	assert_int_equal(http_form_field(body, strlen(body), "empty", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(http_form_field(body, strlen(body), "flag", out, sizeof(out)), 0);
	assert_int_equal(http_form_field(body, strlen(body), "act", out, sizeof(out)), 1);
	assert_int_equal(http_form_field(body, strlen(body), "missing", out, sizeof(out)), 1);
	assert_int_equal(http_form_field(NULL, 0, "action", out, sizeof(out)), 1);
	/* too long, a NUL byte, a broken escape */
	assert_int_equal(http_form_field(body, strlen(body), "action", tiny, sizeof(tiny)), -1);
	assert_int_equal(http_form_field("a=x%00y", 7, "a", out, sizeof(out)), -1);
	assert_int_equal(http_form_field("a=x%2", 5, "a", out, sizeof(out)), -1);
	assert_int_equal(http_form_field("a=x%zz", 6, "a", out, sizeof(out)), -1);
	/* the length bounds the body: no reading past it */
	assert_int_equal(http_form_field("a=xyz&b=1", 5, "a", out, sizeof(out)), 0);
	assert_string_equal(out, "xyz");
	assert_int_equal(http_form_field("a=xyz&b=1", 5, "b", out, sizeof(out)), 1);
}

static void
test_duration(void **state)
{
	int64_t ms;

	(void)state;
	assert_int_equal(http_parse_duration(NULL, &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(http_parse_duration("", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(http_parse_duration("30m", &ms), 0);
	assert_int_equal(ms, 30 * 60 * 1000);
	assert_int_equal(http_parse_duration("2h", &ms), 0);
	assert_int_equal(ms, 2 * 3600 * 1000);
	assert_int_equal(http_parse_duration("7d", &ms), 0);
	assert_int_equal(ms, 7LL * 24 * 3600 * 1000);
	assert_int_equal(http_parse_duration("90", &ms), 0);
	assert_int_equal(ms, 90 * 1000);
	assert_int_equal(http_parse_duration("0h", &ms), -1);
	assert_int_equal(http_parse_duration("-1h", &ms), -1);
	assert_int_equal(http_parse_duration("2w", &ms), -1);
	assert_int_equal(http_parse_duration("2hh", &ms), -1);
	assert_int_equal(http_parse_duration("h", &ms), -1);
	assert_int_equal(http_parse_duration("400d", &ms), -1);
	assert_int_equal(http_parse_duration("99999999999999999999d", &ms), -1);
}

static void
test_reasons(void **state)
{
	json_t *a;

	(void)state;
	a = http_reasons_json("OUT_EXTERNAL_ATTACHMENT(10) OUT_FIRST_RCPT(2.5)  DLP_MYNUMBER");
	assert_int_equal(json_array_size(a), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 0), "name")),
	    "OUT_EXTERNAL_ATTACHMENT");
	assert_true(json_real_value(json_object_get(json_array_get(a, 0), "weight")) == 10.0);
	assert_true(json_real_value(json_object_get(json_array_get(a, 1), "weight")) == 2.5);
	assert_string_equal(json_string_value(json_object_get(json_array_get(a, 2), "name")),
	    "DLP_MYNUMBER");
	assert_true(json_real_value(json_object_get(json_array_get(a, 2), "weight")) == 0.0);
	json_decref(a);
	a = http_reasons_json(NULL);
	assert_int_equal(json_array_size(a), 0);
	json_decref(a);
	a = http_reasons_json("(3) X(1");
	assert_int_equal(json_array_size(a), 1);	/* "(3)" has no name; "X(1" is a name */
	json_decref(a);
}

static void
test_addr_in_list(void **state)
{
	(void)state;
	assert_int_equal(http_addr_in_list("boss@x.jp deputy@x.jp", "deputy@x.jp"), 1);
	assert_int_equal(http_addr_in_list("boss@x.jp,Deputy@X.jp", "deputy@x.jp"), 1);
	assert_int_equal(http_addr_in_list("boss@x.jp", "oss@x.jp"), 0);
	assert_int_equal(http_addr_in_list("boss@x.jpn", "boss@x.jp"), 0);
	assert_int_equal(http_addr_in_list("", "boss@x.jp"), 0);
	assert_int_equal(http_addr_in_list(NULL, "boss@x.jp"), 0);
	assert_int_equal(http_addr_in_list("boss@x.jp", ""), 0);
}

static void
test_ratelimit(void **state)
{
	struct http_ratelimit *rl = xcalloc(1, sizeof(*rl));
	char ip[32];

	(void)state;
	http_rl_init(rl, 3, 1000);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(http_rl_blocked(rl, "192.0.2.1", 100), 0);
		http_rl_fail(rl, "192.0.2.1", 100 + i);
	}
	assert_int_equal(http_rl_blocked(rl, "192.0.2.1", 500), 1);
	assert_int_equal(http_rl_blocked(rl, "192.0.2.2", 500), 0);
	/* the window ends */
	assert_int_equal(http_rl_blocked(rl, "192.0.2.1", 1200), 0);
	/* more addresses than slots: the oldest makes room, the table holds */
	for (int i = 0; i < HTTP_RL_SLOTS + 10; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 256, i % 256);
		for (int j = 0; j < 3; j++)
			http_rl_fail(rl, ip, 2000 + i);
	}
	assert_int_equal(http_rl_blocked(rl, "10.0.0.0", 2600), 0);	/* evicted */
	snprintf(ip, sizeof(ip), "10.0.%d.%d", (HTTP_RL_SLOTS + 9) / 256, (HTTP_RL_SLOTS + 9) % 256);
	assert_int_equal(http_rl_blocked(rl, ip, 2600), 1);
	http_rl_destroy(rl);
	free(rl);
}

/* ---- the store views ---- */

struct fixture {
	char dir[64];
	char path[96];
	struct store *st;
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
	(void)sb;
	(void)flag;
	(void)f;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char err[256];

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/http-form-test-XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/sekisho.db", fx->dir);
	if ((fx->st = store_open(fx->path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "store_open: %s\n", err);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	store_close(fx->st);
	nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return 0;
}

static void
hold(struct store *st, const char *id, const char *kind, const char *sender,
    const char *approvers, int64_t created)
{
	struct store_hold h;

	memset(&h, 0, sizeof(h));
	util_strlcpy(h.msg_id, id, sizeof(h.msg_id));
	util_strlcpy(h.kind, kind, sizeof(h.kind));
	util_strlcpy(h.status, "held", sizeof(h.status));
	h.sender = (char *)(uintptr_t)sender;
	h.approvers = (char *)(uintptr_t)approvers;
	h.reasons = (char *)(uintptr_t)"OUT_EXTERNAL(1)";
	h.risk = 1;
	h.created_ms = created;
	assert_int_equal(store_hold_insert(st, &h), 0);
}

struct ids {
	char s[256];
};

static int
ids_cb(const struct hold_view *v, void *arg)
{
	struct ids *x = arg;

	size_t n = strlen(x->s);

	snprintf(x->s + n, sizeof(x->s) - n, "%s ", v->h.msg_id);
	return 0;
}

static const char *
query(struct store *st, struct hold_query *q, int64_t *total, struct ids *x)
{
	memset(x, 0, sizeof(*x));
	assert_int_equal(store_hold_query(st, q, ids_cb, x, total), 0);
	return x->s;
}

static void
test_hold_views(void **state)
{
	struct fixture *fx = *state;
	struct hold_query q;
	struct hold_view v;
	struct ids x;
	int64_t total;

	hold(fx->st, "H1", "hold", "Taro@Example.jp", NULL, 1000);
	hold(fx->st, "H2", "approval", "taro@example.jp", "boss@example.jp deputy@example.jp", 2000);
	hold(fx->st, "H3", "approval", "hanako@example.jp", "boss2@example.jp", 3000);
	hold(fx->st, "H4", "confirm", "hanako@example.jp", NULL, 4000);
	assert_int_equal(store_hold_decide(fx->st, "H4", "cancelled", 0, "hanako@example.jp",
	    NULL, 5000, 0), 0);

	memset(&q, 0, sizeof(q));
	assert_string_equal(query(fx->st, &q, &total, &x), "H4 H3 H2 H1 ");
	assert_int_equal(total, 4);
	q.status = "held";
	assert_string_equal(query(fx->st, &q, &total, &x), "H3 H2 H1 ");
	assert_int_equal(total, 3);
	q.sender = "TARO@example.jp";		/* no case */
	assert_string_equal(query(fx->st, &q, &total, &x), "H2 H1 ");
	q.sender = "aro@example.jp";		/* whole address only */
	assert_string_equal(query(fx->st, &q, &total, &x), "");
	assert_int_equal(total, 0);
	q.sender = NULL;
	q.kind = "approval";
	q.approver = "Deputy@example.jp";	/* a delegate, as a whole word */
	assert_string_equal(query(fx->st, &q, &total, &x), "H2 ");
	q.approver = "boss@example.jp";
	assert_string_equal(query(fx->st, &q, &total, &x), "H2 ");
	q.approver = "oss@example.jp";
	assert_string_equal(query(fx->st, &q, &total, &x), "");
	/* paging keeps the total */
	memset(&q, 0, sizeof(q));
	q.limit = 2;
	q.offset = 1;
	assert_string_equal(query(fx->st, &q, &total, &x), "H3 H2 ");
	assert_int_equal(total, 4);

	assert_int_equal(store_hold_view_get(fx->st, "H4", &v), 0);
	assert_string_equal(v.h.status, "cancelled");
	assert_string_equal(v.h.decided_by, "hanako@example.jp");
	assert_null(v.rcpts);			/* no message log row */
	hold_view_clear(&v);
	assert_int_equal(store_hold_view_get(fx->st, "NOPE", &v), 1);
}

static void
test_token_peek(void **state)
{
	struct fixture *fx = *state;
	unsigned char hash[STORE_TOKEN_HASH];
	char tok[OUTBOUND_TOKEN_LEN + 1], id[QUEUE_ID_SIZE];
	char *owner = NULL;
	int64_t far = util_now_ms() + 3600000;

	hold(fx->st, "H1", "hold", "taro@example.jp", NULL, 1000);
	assert_int_equal(outbound_token_new(fx->st, "H1", "cancel", "taro@example.jp", far, tok), 0);
	crypto_generichash(hash, sizeof(hash), (const unsigned char *)tok, strlen(tok), NULL, 0);
	/* looking does not spend: twice, then the real use still works */
	assert_int_equal(store_token_peek(fx->st, hash, "cancel", util_now_ms(), id, &owner), 0);
	assert_string_equal(id, "H1");
	assert_string_equal(owner, "taro@example.jp");
	free(owner);
	assert_int_equal(store_token_peek(fx->st, hash, "cancel", util_now_ms(), id, NULL), 0);
	assert_int_equal(store_token_peek(fx->st, hash, "release", util_now_ms(), id, NULL), 1);
	assert_int_equal(store_token_peek(fx->st, hash, "cancel", far + 1, id, NULL), 1);
	assert_int_equal(outbound_link_act(fx->st, tok, "cancel", NULL, NULL), 0);
	assert_int_equal(store_token_peek(fx->st, hash, "cancel", util_now_ms(), id, NULL), 1);
	assert_int_equal(outbound_link_act(fx->st, tok, "cancel", NULL, NULL), 1);
}

struct counts {
	int64_t held, cancelled, failures, refused, hours;
};

static int
count_cb(int64_t key, const char *name, int64_t n, void *arg)
{
	struct counts *c = arg;

	if (strcmp(name, "held") == 0)
		c->held = n;
	else if (strcmp(name, "cancelled") == 0)
		c->cancelled = n;
	else if (strcmp(name, "failures") == 0) {
		c->failures += n;
		c->hours++;
		assert_int_equal(key % 3600000, 0);
	} else if (strcmp(name, "refused") == 0)
		c->refused += n;
	return 0;
}

static void
test_counts(void **state)
{
	struct fixture *fx = *state;
	struct store_login ev;
	struct counts c;
	int64_t now = util_now_ms();

	hold(fx->st, "OLD", "hold", "taro@example.jp", NULL, 1000);	/* held, long ago */
	hold(fx->st, "C1", "hold", "taro@example.jp", NULL, now);
	hold(fx->st, "C2", "hold", "hanako@example.jp", NULL, now);
	assert_int_equal(store_hold_decide(fx->st, "C1", "cancelled", 0, "x", NULL, now, 0), 0);
	assert_int_equal(store_hold_decide(fx->st, "OLD", "released", 1, "x", NULL, 2000, 0), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_hold_counts(fx->st, now - 1000, NULL, count_cb, &c), 0);
	assert_int_equal(c.held, 1);			/* C2 */
	assert_int_equal(c.cancelled, 1);		/* C1; OLD is outside */
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_hold_counts(fx->st, now - 1000, "HANAKO@example.jp", count_cb,
	    &c), 0);
	assert_int_equal(c.held, 1);
	assert_int_equal(c.cancelled, 0);

	memset(&ev, 0, sizeof(ev));
	util_strlcpy(ev.login, "alice", sizeof(ev.login));
	util_strlcpy(ev.protocol, "console", sizeof(ev.protocol));
	for (int i = 0; i < 3; i++) {
		ev.time_ms = now - i;
		ev.result = LOGIN_FAIL;
		assert_int_equal(store_login_add(fx->st, &ev), 0);
	}
	ev.result = LOGIN_REFUSED;
	assert_int_equal(store_login_add(fx->st, &ev), 0);
	ev.result = LOGIN_OK;
	assert_int_equal(store_login_add(fx->st, &ev), 0);
	ev.time_ms = now - 48 * 3600000LL;		/* before the window */
	ev.result = LOGIN_FAIL;
	assert_int_equal(store_login_add(fx->st, &ev), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(store_login_stats(fx->st, now - 3600000, count_cb, &c), 0);
	assert_int_equal(c.failures, 3);
	assert_int_equal(c.refused, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_html_escape),
		cmocka_unit_test(test_form_field),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_addr_in_list),
		cmocka_unit_test(test_ratelimit),
		cmocka_unit_test_setup_teardown(test_hold_views, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_peek, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
