/*
 * test_outbound.c - holds, approvals, the directory and notices
 * (src/outbound, src/notify) on a real store in a temporary directory.
 *
 *   - risk scoring from approval_rules (table), bad rules refused
 *   - the decision table: which action fits which hold, self-approval
 *   - link tokens: right action only, single use, expiry, dead once the
 *     hold is decided; only the hash is stored
 *   - CSV import: Japanese names in UTF-8, BOM, quoting, groups,
 *     delegates, lists (internal or external after expansion), a bad row
 *     keeps nothing
 *   - templates: placeholders; ISO-2022-JP with RFC 2047 Subject, round
 *     trip through GMime; UTF-8 fallback for characters outside JIS X 0208
 *   - the tick: notice, timed release, deadline outcome, purge
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <gmime/gmime.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "notify/notify.h"
#include "outbound/outbound.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "store/store_outbound.h"
#include "util/buf.h"
#include "util/config.h"
#include "util/util.h"
#include "testutil.h"

static int
setup(void **state)
{
	struct tu_state *fx = xcalloc(1, sizeof(*fx));

	if (tu_state_open(fx, "outbound-test") < 0)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct tu_state *fx = *state;

	tu_state_close(fx);
	free(fx);
	return 0;
}

/* ---- risk ---- */

static void
test_risk(void **state)
{
	struct config *cfg = config_new();
	static const struct {
		const char *names[4];
		double risk;
		const char *why;
	} cases[] = {
		{ { NULL }, 0, "" },
		{ { "OUT_EXTERNAL_RCPT", NULL }, 0, "" },
		{ { "OUT_EXTERNAL_ATTACHMENT", NULL }, 4, "OUT_EXTERNAL_ATTACHMENT(4)" },
		{ { "OUT_EXTERNAL_ATTACHMENT", "DLP_MYNUMBER", NULL }, 14,
		    "OUT_EXTERNAL_ATTACHMENT(4) DLP_MYNUMBER(10)" },
		{ { "OUT_FIRST_DOMAIN", "OUT_MANY_EXTERNAL", "HDR_MISSING_DATE", NULL }, 4.5,
		    "OUT_MANY_EXTERNAL(3) OUT_FIRST_DOMAIN(1.5)" },
		/* a prefix of a rule's name is another symbol */
		{ { "DLP_MYNUMBE", "DLP", NULL }, 0, "" },
	};
	char why[256], err[256];

	(void)state;
	tu_set(cfg, "approval_rules",
	    "OUT_EXTERNAL_ATTACHMENT:4 DLP_MYNUMBER:10 OUT_MANY_EXTERNAL:3 OUT_FIRST_DOMAIN=1.5");
	assert_int_equal(outbound_rules_check(cfg, err, sizeof(err)), 0);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		size_t n = 0;
		while (n < 4 && cases[i].names[n])
			n++;
		double r = outbound_risk(cfg, cases[i].names, n, why, sizeof(why));
		assert_float_equal(r, cases[i].risk, 1e-9);
		assert_string_equal(why, cases[i].why);
	}
	tu_set(cfg, "approval_rules", "OUT_EXTERNAL_ATTACHMENT:four");
	assert_int_equal(outbound_rules_check(cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "OUT_EXTERNAL_ATTACHMENT:four"));
	tu_set(cfg, "approval_rules", ":3");
	assert_int_equal(outbound_rules_check(cfg, err, sizeof(err)), -1);
	config_free(cfg);
}

/* ---- holds ---- */

/* A held outbound message with its hold record, as the queue writer makes it. */
static void
held(struct tu_state *fx, const char *id, const char *kind, const char *from,
    const char *to, int64_t release_at, const char *body)
{
	struct envelope *env = envelope_new();
	struct queue_info qi;
	struct spool_file *sf;

	util_strlcpy(env->id, id, sizeof(env->id));
	env->listener = xstrdup("outbound");
	env->mail_from = xstrdup(from);
	env->received_ms = util_now_ms();
	envelope_add_rcpt(env, to, NULL, 0);
	memset(&qi, 0, sizeof(qi));
	qi.state = MSG_HELD;
	qi.created_ms = env->received_ms;
	qi.next_try_ms = release_at;
	qi.action = xstrdup(kind);
	qi.subject = xstrdup("見積書の送付");
	qi.scan = xstrdup("{\"score\":0,\"symbols\":[{\"name\":\"OUT_EXTERNAL_ATTACHMENT\","
	    "\"score\":0,\"reason\":\"x\"}]}");
	sf = spool_create(fx->sp, id);
	assert_non_null(sf);
	assert_int_equal(spool_write(sf, body, strlen(body)), 0);
	assert_int_equal(spool_commit(sf), 0);
	assert_int_equal(store_msg_insert(fx->st, env, &qi), 0);
	assert_int_equal(outbound_hold_record(fx->st, fx->cfg, env, &qi), 0);
	envelope_free(env);
	queue_info_clear(&qi);
}

static const char plain_msg[] =
    "From: taro@sekisho.test\r\nTo: bob@partner.example\r\nSubject: x\r\n\r\nhello\r\n";

static enum msg_state
msg_state(struct tu_state *fx, const char *id)
{
	struct queue_info qi;
	enum msg_state s;

	memset(&qi, 0, sizeof(qi));
	if (store_msg_get(fx->st, id, NULL, &qi) != 0)
		return 0;
	s = qi.state;
	queue_info_clear(&qi);
	return s;
}

static void
test_act_rules(void **state)
{
	struct tu_state *fx = *state;
	struct store_hold h;

	tu_set(fx->cfg, "approval_rules", "OUT_EXTERNAL_ATTACHMENT:4");
	held(fx, "HOLD0000000000000001", "hold", "taro@sekisho.test", "bob@partner.example",
	    util_now_ms() + 60000, plain_msg);
	held(fx, "APPR0000000000000001", "approval", "taro@sekisho.test",
	    "bob@partner.example", 0, plain_msg);
	assert_int_equal(store_hold_get(fx->st, "APPR0000000000000001", &h), 0);
	assert_string_equal(h.kind, "approval");
	assert_float_equal(h.risk, 4, 1e-9);
	assert_string_equal(h.reasons, "OUT_EXTERNAL_ATTACHMENT(4)");
	assert_true(h.deadline_at > util_now_ms());
	store_hold_clear(&h);

	/* a timed hold cannot be approved or confirmed */
	assert_int_equal(outbound_act(fx->st, "HOLD0000000000000001", "approve", "boss@sekisho.test",
	    NULL), 1);
	assert_int_equal(outbound_act(fx->st, "HOLD0000000000000001", "confirm", NULL, NULL), 1);
	assert_int_equal(outbound_act(fx->st, "HOLD0000000000000001", "bogus", NULL, NULL), 1);
	/* nobody approves their own mail */
	assert_int_equal(outbound_act(fx->st, "APPR0000000000000001", "approve",
	    "TARO@sekisho.test", NULL), 1);
	assert_int_equal(msg_state(fx, "APPR0000000000000001"), MSG_HELD);
	assert_int_equal(outbound_act(fx->st, "APPR0000000000000001", "reject",
	    "boss@sekisho.test", "宛先が違います"), 0);
	assert_int_equal(msg_state(fx, "APPR0000000000000001"), MSG_DONE);
	/* decided once */
	assert_int_equal(outbound_act(fx->st, "APPR0000000000000001", "approve",
	    "boss@sekisho.test", NULL), 1);
	assert_int_equal(store_hold_get(fx->st, "APPR0000000000000001", &h), 0);
	assert_string_equal(h.status, "rejected");
	assert_string_equal(h.decided_by, "boss@sekisho.test");
	assert_string_equal(h.comment, "宛先が違います");
	assert_int_equal(h.outcome_notified, 0);	/* the sender is to be told */
	store_hold_clear(&h);

	assert_int_equal(outbound_act(fx->st, "HOLD0000000000000001", "release", "cli", NULL), 0);
	assert_int_equal(msg_state(fx, "HOLD0000000000000001"), MSG_QUEUED);
	assert_int_equal(outbound_act(fx->st, "NOSUCH00000000000001", "cancel", "cli", NULL), 1);
}

static void
test_tokens(void **state)
{
	struct tu_state *fx = *state;
	char tok[OUTBOUND_TOKEN_LEN + 1], tok2[OUTBOUND_TOKEN_LEN + 1];
	char old[OUTBOUND_TOKEN_LEN + 1], other[OUTBOUND_TOKEN_LEN + 1];
	sqlite3 *db;
	sqlite3_stmt *s;
	char *path;
	int64_t now = util_now_ms();

	held(fx, "TOKN0000000000000001", "hold", "taro@sekisho.test", "bob@partner.example",
	    now + 60000, plain_msg);
	held(fx, "TOKN0000000000000002", "approval", "taro@sekisho.test",
	    "bob@partner.example", 0, plain_msg);
	assert_int_equal(outbound_token_new(fx->st, "TOKN0000000000000001", "cancel",
	    "taro@sekisho.test", now + 60000, tok), 0);
	assert_int_equal(strlen(tok), OUTBOUND_TOKEN_LEN);
	assert_int_equal(outbound_token_new(fx->st, "TOKN0000000000000001", "release",
	    "taro@sekisho.test", now + 60000, tok2), 0);
	assert_string_not_equal(tok, tok2);
	assert_int_equal(outbound_token_new(fx->st, "TOKN0000000000000002", "approve",
	    "boss@sekisho.test", now - 1, old), 0);
	assert_int_equal(outbound_token_new(fx->st, "TOKN0000000000000002", "reject",
	    "boss@sekisho.test", now + 60000, other), 0);

	/* the store has hashes only */
	path = config_state_path(fx->cfg, "sekisho.db");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	free(path);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM hold_tokens WHERE "
	    "hash = ?1 OR CAST(hash AS TEXT) = ?1 OR instr(CAST(hash AS TEXT), ?1) > 0",
	    -1, &s, NULL), SQLITE_OK);
	sqlite3_bind_text(s, 1, tok, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 0);
	sqlite3_finalize(s);
	sqlite3_close(db);

	/* wrong action, malformed, unknown */
	assert_int_equal(outbound_link_act(fx->st, tok, "release", NULL, NULL), 1);
	assert_int_equal(outbound_link_act(fx->st, "short", "cancel", NULL, NULL), 1);
	tok2[0] = tok2[0] == 'A' ? 'B' : 'A';
	assert_int_equal(outbound_link_act(fx->st, tok2, "release", NULL, NULL), 1);
	assert_int_equal(msg_state(fx, "TOKN0000000000000001"), MSG_HELD);
	/* the right action works once */
	assert_int_equal(outbound_link_act(fx->st, tok, "cancel", NULL, NULL), 0);
	assert_int_equal(msg_state(fx, "TOKN0000000000000001"), MSG_DONE);
	assert_int_equal(outbound_link_act(fx->st, tok, "cancel", NULL, NULL), 1);
	/* expired */
	assert_int_equal(outbound_link_act(fx->st, old, "approve", NULL, NULL), 1);
	assert_int_equal(msg_state(fx, "TOKN0000000000000002"), MSG_HELD);
	/* the actor defaults to the link's owner */
	assert_int_equal(outbound_link_act(fx->st, other, "reject", NULL, "no"), 0);
	{
		struct store_hold h;
		assert_int_equal(store_hold_get(fx->st, "TOKN0000000000000002", &h), 0);
		assert_string_equal(h.status, "rejected");
		assert_string_equal(h.decided_by, "boss@sekisho.test");
		store_hold_clear(&h);
	}
}

/* ---- directory ---- */

static const char dir_csv[] =
    "\xef\xbb\xbftype,address,name,department,approvers,language,hold_minutes,delegate,members\r\n"
    "user,Taro@Sekisho.test,山田 太郎,営業部,,ja,,,\r\n"
    "user,alice@sekisho.test,\"Smith, Alice\",Sales,,en,0,,\r\n"
    "user,boss@sekisho.test,佐藤 部長,営業部,,ja,,deputy@sekisho.test,\r\n"
    "group,営業部,営業部,,boss@sekisho.test,,5,,\r\n"
    "\r\n"
    "list,all@sekisho.test,全社員,,,,,,\"taro@sekisho.test; alice@sekisho.test\"\r\n"
    "list,partners@sekisho.test,取引先,,,,,,sales@partner.example taro@sekisho.test\r\n"
    "list,nested@sekisho.test,入れ子,,,,,,all@sekisho.test partners@sekisho.test\r\n"
    "list,loop@sekisho.test,,,,,,,loop@sekisho.test\r\n";

static void
test_directory(void **state)
{
	struct tu_state *fx = *state;
	struct outbound_person p;
	struct dir_entry e;
	char err[256];
	FILE *fp = fmemopen((void *)(uintptr_t)dir_csv, sizeof(dir_csv) - 1, "r");

	tu_set(fx->cfg, "hold_time", "2m");
	assert_int_equal(outbound_dir_import(fx->st, fp, 0, err, sizeof(err)), 8);
	fclose(fp);
	assert_int_equal(store_dir_get(fx->st, DIR_USER, "TARO@sekisho.TEST", &e), 0);
	assert_string_equal(e.key, "taro@sekisho.test");
	assert_string_equal(e.name, "山田 太郎");
	assert_string_equal(e.department, "営業部");
	dir_entry_clear(&e);
	assert_int_equal(store_dir_get(fx->st, DIR_USER, "alice@sekisho.test", &e), 0);
	assert_string_equal(e.name, "Smith, Alice");
	dir_entry_clear(&e);

	/* Taro: group approver and its delegate, group hold time, own language */
	assert_int_equal(outbound_person_get(fx->st, fx->cfg, "taro@sekisho.test", &p), 0);
	assert_string_equal(p.name, "山田 太郎");
	assert_string_equal(p.lang, "ja");
	assert_string_equal(p.approvers, "boss@sekisho.test deputy@sekisho.test");
	assert_int_equal(p.hold_ms, 5 * 60000);
	outbound_person_clear(&p);
	/* Alice: no group in the directory, her own hold 0 (off) */
	assert_int_equal(outbound_person_get(fx->st, fx->cfg, "alice@sekisho.test", &p), 0);
	assert_string_equal(p.lang, "en");
	assert_string_equal(p.approvers, "");
	assert_int_equal(p.hold_ms, 0);
	outbound_person_clear(&p);
	/* unknown: the config */
	tu_set(fx->cfg, "approval_approvers", "admin@sekisho.test");
	assert_int_equal(outbound_person_get(fx->st, fx->cfg, "nobody@sekisho.test", &p), 0);
	assert_string_equal(p.lang, "ja");
	assert_string_equal(p.approvers, "admin@sekisho.test");
	assert_int_equal(p.hold_ms, 120000);
	outbound_person_clear(&p);

	/* internal or external after list expansion */
	assert_int_equal(outbound_is_external(fx->st, fx->cfg, "bob@partner.example"), 1);
	assert_int_equal(outbound_is_external(fx->st, fx->cfg, "taro@sekisho.test"), 0);
	assert_int_equal(outbound_is_external(fx->st, fx->cfg, "all@sekisho.test"), 0);
	assert_int_equal(outbound_is_external(fx->st, fx->cfg, "partners@sekisho.test"), 1);
	assert_int_equal(outbound_is_external(fx->st, fx->cfg, "nested@sekisho.test"), 1);
	assert_int_equal(outbound_is_external(fx->st, fx->cfg, "loop@sekisho.test"), 0);
	assert_int_equal(outbound_is_external(NULL, fx->cfg, "partners@sekisho.test"), 0);

	/* a bad row: its line, and nothing of the file is kept */
	static const char bad[] = "address,name,language\n"
	    "new@sekisho.test,新人,ja\n"
	    "\"x@sekisho.test\nmore\",two lines,ja\n"
	    "y@sekisho.test,,fr\n";
	fp = fmemopen((void *)(uintptr_t)bad, sizeof(bad) - 1, "r");
	assert_int_equal(outbound_dir_import(fx->st, fp, 1, err, sizeof(err)), -1);
	fclose(fp);
	assert_string_equal(err, "line 5: language 'fr' is not ja or en");
	assert_int_equal(store_dir_get(fx->st, DIR_USER, "new@sekisho.test", &e), 1);
	assert_int_equal(store_dir_get(fx->st, DIR_USER, "taro@sekisho.test", &e), 0);
	dir_entry_clear(&e);

	static const char unclosed[] = "address,name\n\"a@sekisho.test,x\n";
	fp = fmemopen((void *)(uintptr_t)unclosed, sizeof(unclosed) - 1, "r");
	assert_int_equal(outbound_dir_import(fx->st, fp, 0, err, sizeof(err)), -1);
	fclose(fp);
	assert_non_null(strstr(err, "line 2: broken CSV"));
}

/* ---- templates and encodings ---- */

struct parsed {
	char *subject, *text, *charset, *xnotice;
};

static void
parse_gmime(const char *raw, size_t len, struct parsed *out)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *m = g_mime_parser_construct_message(parser, NULL);
	GMimeObject *body;
	const char *h;

	assert_non_null(m);
	out->subject = xstrdup(g_mime_message_get_subject(m));
	body = g_mime_message_get_mime_part(m);
	assert_true(GMIME_IS_TEXT_PART(body));
	char *t = g_mime_text_part_get_text(GMIME_TEXT_PART(body));
	out->text = xstrdup(t);
	g_free(t);
	out->charset = xstrdup(g_mime_object_get_content_type_parameter(body, "charset"));
	h = g_mime_object_get_header(GMIME_OBJECT(m), "X-Sekisho-Notice");
	out->xnotice = xstrdup(h ? h : "");
	g_object_unref(m);
	g_object_unref(parser);
	g_object_unref(stream);
}

static void
parsed_clear(struct parsed *p)
{
	free(p->subject);
	free(p->text);
	free(p->charset);
	free(p->xnotice);
}

static void
test_render(void **state)
{
	static const struct notify_var v[] = {
		{ "name", "山田" }, { "url", "https://x/l/abc?action=cancel" }, { "empty", NULL },
	};
	char *r;

	(void)state;
	r = notify_render("{{name}} 様 {{ url }} [{{empty}}] [{{unknown}}] {{name", v, 3);
	assert_string_equal(r, "山田 様 https://x/l/abc?action=cancel [] [] {{name");
	free(r);
	/* a value is inserted once, never expanded again */
	static const struct notify_var w[] = { { "a", "{{b}}" }, { "b", "B" } };
	r = notify_render("{{a}}{{b}}", w, 2);
	assert_string_equal(r, "{{b}}B");
	free(r);
}

static void
test_iso2022jp(void **state)
{
	struct tu_state *fx = *state;
	const char *subject = "【送信保留】御見積書の送付について（株式会社サンプル様）";
	char *text = xasprintf("Subject: %s\n\n山田 太郎 様\n\n社外宛てのメールを保留しています。\n"
	    "ASCII line\n取り消し: https://x/link/abc?action=cancel\n", subject);
	struct parsed p;
	size_t len;
	char *msg = notify_message(fx->cfg, "hold", "ja", "taro@sekisho.test", text, &len);

	/* 7-bit on the wire, the charset said */
	for (size_t i = 0; i < len; i++)
		assert_true((unsigned char)msg[i] < 0x80);
	assert_non_null(strstr(msg, "charset=ISO-2022-JP"));
	assert_non_null(strstr(msg, "Subject: =?ISO-2022-JP?B?"));
	assert_non_null(strstr(msg, "\r\nAuto-Submitted: auto-generated\r\n"));
	/* every header line fits in 78 characters */
	for (const char *l = msg; l < strstr(msg, "\r\n\r\n"); l = strstr(l, "\r\n") + 2)
		assert_true(strstr(l, "\r\n") - l <= 78);
	parse_gmime(msg, len, &p);
	assert_string_equal(p.subject, subject);
	assert_string_equal(p.xnotice, "hold");
	assert_non_null(strstr(p.text, "山田 太郎 様"));
	assert_non_null(strstr(p.text, "社外宛てのメールを保留しています。"));
	assert_non_null(strstr(p.text, "取り消し: https://x/link/abc?action=cancel"));
	parsed_clear(&p);
	free(msg);
	free(text);

	/* half-width kana and an emoji have no ISO-2022-JP form: UTF-8 */
	text = xstrdup("Subject: ｶﾀｶﾅ 🙂\n\n本文 ｶﾀｶﾅ\n");
	msg = notify_message(fx->cfg, "hold", "ja", "taro@sekisho.test", text, &len);
	assert_non_null(strstr(msg, "charset=UTF-8"));
	parse_gmime(msg, len, &p);
	assert_string_equal(p.subject, "ｶﾀｶﾅ 🙂");
	assert_non_null(strstr(p.text, "本文 ｶﾀｶﾅ"));
	parsed_clear(&p);
	free(msg);
	free(text);

	/* notify_charset = utf-8 */
	tu_set(fx->cfg, "notify_charset", "utf-8");
	text = xstrdup("Subject: 送信保留のお知らせ: 御見積書の送付について（株式会社サンプル様）\n\n本文\n");
	msg = notify_message(fx->cfg, "hold", "ja", "a@sekisho.test b@sekisho.test", text, &len);
	assert_non_null(strstr(msg, "Subject: =?UTF-8?B?"));
	assert_non_null(strstr(msg, "To: <a@sekisho.test>,\r\n <b@sekisho.test>\r\n"));
	parse_gmime(msg, len, &p);
	assert_string_equal(p.subject, "送信保留のお知らせ: 御見積書の送付について（株式会社サンプル様）");
	assert_string_equal(p.charset, "UTF-8");
	parsed_clear(&p);
	free(msg);
	free(text);
}

/* Every shipped template renders, and in ja round-trips as ISO-2022-JP. */
static void
test_templates(void **state)
{
	struct tu_state *fx = *state;
	static const char *const kinds[] = { "hold", "approval", "reminder", "confirm", "outcome" };
	static const struct notify_var v[] = {
		{ "subject", "見積書" }, { "sender", "taro@sekisho.test" },
		{ "cancel_url", "https://gw/link/T1?action=cancel" },
		{ "approve_url", "https://gw/link/T2?action=approve" },
	};

	if (getenv("SEKISHO_SRC") == NULL)
		skip();
	for (size_t i = 0; i < UTIL_ARRAY_LEN(kinds); i++) {
		for (int ja = 0; ja < 2; ja++) {
			struct parsed p;
			size_t len;
			char *msg = notify_compose(fx->cfg, kinds[i], ja ? "ja" : "en",
			    "taro@sekisho.test", v, UTIL_ARRAY_LEN(v), &len);
			assert_non_null(msg);
			assert_null(strstr(msg, "{{"));
			if (ja)
				assert_non_null(strstr(msg, "charset=ISO-2022-JP"));
			parse_gmime(msg, len, &p);
			assert_non_null(strstr(p.subject, "見積書"));
			assert_string_equal(p.xnotice, kinds[i]);
			if (strcmp(kinds[i], "hold") == 0)
				assert_non_null(strstr(p.text, "https://gw/link/T1?action=cancel"));
			if (strcmp(kinds[i], "approval") == 0)
				assert_non_null(strstr(p.text, "https://gw/link/T2?action=approve"));
			if (ja && strcmp(kinds[i], "hold") == 0)
				assert_non_null(strstr(p.text, "送信を取り消してください"));
			parsed_clear(&p);
			free(msg);
		}
	}
}

/* ---- the tick ---- */

struct sent {
	struct buf all;
	int n;
};

static int
collect(void *arg, struct envelope *env, const char *msg, size_t len)
{
	struct sent *s = arg;

	buf_printf(&s->all, "=== to=%s\n", env->nrcpt ? env->rcpt[0].addr : "");
	buf_add(&s->all, msg, len);
	s->n++;
	envelope_free(env);
	return 0;
}

static void
test_tick(void **state)
{
	struct tu_state *fx = *state;
	struct sent s = { { 0 }, 0 };
	struct store_hold h;
	int64_t now = util_now_ms();
	char *path;

	tu_set(fx->cfg, "approval_approvers", "boss@sekisho.test");
	tu_set(fx->cfg, "approval_deadline", "1h");
	tu_set(fx->cfg, "approval_reminder", "10m");
	held(fx, "TICK0000000000000001", "hold", "taro@sekisho.test", "bob@partner.example",
	    now + 1000, "From: t@sekisho.test\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
	    "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
	    "hi\r\n--b\r\nContent-Type: application/pdf; name=\"quote.pdf\"\r\n"
	    "Content-Disposition: attachment; filename=\"quote.pdf\"\r\n\r\n%PDF-1.4\r\n--b--\r\n");
	held(fx, "TICK0000000000000002", "approval", "taro@sekisho.test",
	    "bob@partner.example", 0, plain_msg);

	/* first round: the notices, nothing released yet */
	assert_true(outbound_tick(fx->st, fx->cfg, fx->sp, now, collect, &s) >= 2);
	assert_int_equal(s.n, 2);
	assert_non_null(strstr(s.all.p, "=== to=taro@sekisho.test"));
	assert_non_null(strstr(s.all.p, "=== to=boss@sekisho.test"));
	assert_non_null(strstr(s.all.p, "X-Sekisho-Notice: hold"));
	assert_non_null(strstr(s.all.p, "X-Sekisho-Notice: approval"));
	assert_non_null(strstr(s.all.p, "quote.pdf"));
	assert_non_null(strstr(s.all.p, "https://gw.sekisho.test:8025/link/"));
	assert_int_equal(msg_state(fx, "TICK0000000000000001"), MSG_HELD);
	/* nothing more to say in the same second */
	assert_int_equal(outbound_tick(fx->st, fx->cfg, fx->sp, now, collect, &s), 0);
	assert_int_equal(s.n, 2);

	/* the hold time is over: released by the timer, no outcome mail */
	outbound_tick(fx->st, fx->cfg, fx->sp, now + 1500, collect, &s);
	assert_int_equal(msg_state(fx, "TICK0000000000000001"), MSG_QUEUED);
	assert_int_equal(s.n, 2);
	/* the reminder, 10 minutes before the deadline */
	outbound_tick(fx->st, fx->cfg, fx->sp, now + 51 * 60000, collect, &s);
	assert_int_equal(s.n, 3);
	assert_non_null(strstr(s.all.p, "X-Sekisho-Notice: reminder"));
	/* the deadline: rejected (the default), the sender told, message gone */
	outbound_tick(fx->st, fx->cfg, fx->sp, now + 61 * 60000, collect, &s);
	outbound_tick(fx->st, fx->cfg, fx->sp, now + 61 * 60000, collect, &s);
	assert_int_equal(s.n, 4);
	assert_non_null(strstr(s.all.p, "X-Sekisho-Notice: outcome"));
	assert_int_equal(store_hold_get(fx->st, "TICK0000000000000002", &h), 0);
	assert_string_equal(h.status, "expired");
	assert_string_equal(h.decided_by, "deadline");
	assert_int_equal(h.purged, 1);
	store_hold_clear(&h);
	assert_int_equal(msg_state(fx, "TICK0000000000000002"), 0);
	path = spool_path(fx->sp, "TICK0000000000000002");
	assert_int_equal(access(path, F_OK), -1);
	free(path);
	buf_free(&s.all);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_risk),
		cmocka_unit_test(test_render),
		cmocka_unit_test_setup_teardown(test_act_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_iso2022jp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_templates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tick, setup, teardown),
	};

	g_mime_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
