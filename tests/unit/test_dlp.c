/*
 * test_dlp.c - the DLP checks as tables: the My Number check digit (with
 * the remainder 0 and 1 cases), Luhn, card networks, then text in, kinds
 * out (separators, full-width digits, keywords nearby, ordinary numbers
 * that must not count, keywords as markers and not as words, admin
 * patterns), then whole messages through the pipeline as outbound and
 * inbound mail, and that no reason ever holds a whole number.
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
#include "detect/detect_dlp.h"
#include "message/message.h"
#include "outbound/outbound.h"
#include "policy/pipeline.h"
#include "store/envelope.h"
#include "util/config.h"
#include "util/util.h"

static const char *
src_dir(void)
{
	const char *s = getenv("SEKISHO_SRC");

	return s != NULL ? s : ".";
}

static struct config *
make_cfg(const char *settings)
{
	struct config *cfg = config_new();
	char err[256], *rules = xasprintf("%s/rules", src_dir());
	char *copy, *tok, *save = NULL;

	assert_int_equal(config_set(cfg, "rules_dir", rules, err, sizeof(err)), 0);
	free(rules);
	assert_int_equal(config_set(cfg, "network_checks", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "bayes_enable", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "attach_enable", "no", err, sizeof(err)), 0);
	assert_int_equal(config_set(cfg, "state_dir", "/nonexistent-sekisho-state", err,
	    sizeof(err)), 0);
	copy = xstrdup(settings != NULL ? settings : "");
	for (tok = strtok_r(copy, "|", &save); tok != NULL; tok = strtok_r(NULL, "|", &save))
		if (config_override(cfg, tok, err, sizeof(err)) < 0)
			fail_msg("%s: %s", tok, err);
	free(copy);
	return cfg;
}

static void
test_mynumber_check_digit(void **state)
{
	static const struct { const char *d; int ok; } cases[] = {
		{ "123456789018", 1 },
		{ "123456789012", 0 },
		{ "526018159084", 1 },
		{ "526018159085", 0 },
		{ "824628194826", 1 },
		/* remainder 0: check digit 0 */
		{ "301661318600", 1 },
		{ "301661318601", 0 },
		/* remainder 1: check digit 0 too, not 10 */
		{ "913909960300", 1 },
		{ "913909960301", 0 },
		{ "91390996030a", 0 },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++)
		if (dlp_mynumber_valid(cases[i].d) != cases[i].ok)
			fail_msg("%s: expected %d", cases[i].d, cases[i].ok);
}

static void
test_luhn_and_issuers(void **state)
{
	static const struct { const char *d; int luhn; const char *issuer; } cases[] = {
		{ "4532015112830366", 1, "Visa" },
		{ "4532015112830367", 0, "Visa" },
		{ "5200828282828210", 1, "Mastercard" },
		{ "2221000000000009", 1, "Mastercard" },
		{ "378282246310005", 1, "American Express" },
		{ "3530111333300000", 1, "JCB" },
		{ "30569309025904", 1, "Diners Club" },
		{ "6011111111111117", 1, "Discover" },
		{ "6212345678901232", 1, "UnionPay" },
		{ "1234567812345670", 1, NULL },	/* no network starts with 1 */
		{ "37828224631000", 0, NULL },		/* Amex must have 15 digits */
		{ "453201511283", 0, NULL },		/* too short for any card */
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		const char *is = dlp_card_issuer(cases[i].d, strlen(cases[i].d));

		if (dlp_luhn(cases[i].d, strlen(cases[i].d)) != cases[i].luhn)
			fail_msg("%s: luhn expected %d", cases[i].d, cases[i].luhn);
		if ((is == NULL) != (cases[i].issuer == NULL) ||
		    (is != NULL && strcmp(is, cases[i].issuer) != 0))
			fail_msg("%s: issuer %s, expected %s", cases[i].d, is ? is : "none",
			    cases[i].issuer ? cases[i].issuer : "none");
	}
}

struct text_case {
	const char *text;
	int mynumber, card, bank, keyword;	/* hits expected (-1: any > 0) */
	int strong;				/* for the first kind expected */
};

static void
test_text_table(void **state)
{
	static const struct text_case cases[] = {
		/* My Number: separators, full-width, keyword nearby */
		{ "マイナンバー: 1234-5678-9018", 1, 0, 0, 0, 1 },
		{ "個人番号 123456789018 です", 1, 0, 0, 0, 1 },
		{ "番号は１２３４ ５６７８ ９０１８です", 1, 0, 0, 0, 0 },
		{ "ﾏｲﾅﾝﾊﾞｰ １２３４－５６７８－９０１８", 1, 0, 0, 0, 1 },
		{ "参照 301661318600", 1, 0, 0, 0, 0 },
		{ "1234-5678-9012 (check digit wrong)", 0, 0, 0, 0, 0 },
		{ "1234-5678 9018 mixed separators", 0, 0, 0, 0, 0 },
		/* card numbers */
		{ "カード番号 4532 0151 1283 0366 有効期限 12/27", 0, 1, 0, 0, 1 },
		{ "card: 4532-0151-1283-0366", 0, 1, 0, 0, 1 },
		{ "Amex 3782-822463-10005", 0, 1, 0, 0, 1 },
		{ "ref 5200828282828210", 0, 1, 0, 0, 0 },
		{ "ｶｰﾄﾞ ４５３２０１５１１２８３０３６６", 0, 1, 0, 0, 1 },
		{ "4532 0151 1283 0367", 0, 0, 0, 0, 0 },
		/* bank accounts */
		{ "みずほ銀行 渋谷支店 普通 1234567", 0, 0, 1, 0, 1 },
		{ "当座預金 口座番号：7654321", 0, 0, 1, 0, 0 },
		{ "口座番号 1234567 (普通)", 0, 0, 1, 0, 0 },
		/* ordinary numbers */
		{ "TEL 03-1234-5678 / FAX 03-1234-5679 / 携帯 090-1234-5678", 0, 0, 0, 0, 0 },
		{ "+81-90-1234-5678 or +81 3 1234 5678", 0, 0, 0, 0, 0 },
		{ "日付 2024/05/29、2024-05-29 12:09、20240529", 0, 0, 0, 0, 0 },
		{ "受付 202405291209 に登録", 0, 0, 0, 0, 0 },
		{ "注文番号 20230526-5264、PO-2023-90768、INV-202407-841", 0, 0, 0, 0, 0 },
		{ "お問い合わせ番号 1234-5678-9012", 0, 0, 0, 0, 0 },
		{ "〒150-0002 東京都渋谷区 1234567", 0, 0, 0, 0, 0 },
		{ "order #123456789018 shipped", 0, 0, 0, 0, 0 },
		{ "sha 4532015112830366abc and id=5200828282828210", 0, 0, 0, 0, 0 },
		{ "vruntime: 4860793840706 deadline 30569309025904", 0, 0, 0, 0, 0 },
		{ "total 200000000000 bytes", 0, 0, 0, 0, 0 },
		{ "version 1.123456789018", 0, 0, 0, 0, 0 },
		/* keywords */
		{ "【社外秘】中期経営計画", 0, 0, 0, 1, 1 },
		{ "Subject: [Confidential] Q3 numbers", 0, 0, 0, 1, 1 },
		{ "STRICTLY CONFIDENTIAL\nplease read", 0, 0, 0, 1, 1 },
		{ "Classification: Internal Use Only", 0, 0, 0, 1, 1 },
		{ "we keep it confidential of course", 0, 0, 0, 0, 0 },
		{ "confidential computing is a topic", 0, 0, 0, 0, 0 },
		{ "CONFIDENTIAL: this e-mail is intended only for the addressee", 0, 0, 0, 0, 0 },
		{ "ｺﾞｸﾋ ではなく 極秘 資料", 0, 0, 0, 1, 1 },
	};
	struct config *cfg = make_cfg(NULL);
	struct dlp_rules *dr;
	char err[256];

	(void)state;
	dr = dlp_rules_new(cfg, err, sizeof(err));
	assert_non_null(dr);
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		const struct text_case *c = &cases[i];
		struct dlp_findings f;
		const int want[] = { c->mynumber, c->card, c->bank, c->keyword };

		dlp_scan_text(dr, c->text, &f);
		for (int k = 0; k < 4; k++)
			if (f.k[k].count != want[k])
				fail_msg("case %zu \"%s\": kind %d: %d hits, expected %d", i, c->text,
				    k, f.k[k].count, want[k]);
		for (int k = 0; k < 4; k++)
			if (want[k] > 0) {
				if ((f.k[k].strong > 0) != c->strong)
					fail_msg("case %zu \"%s\": strong %d, expected %d", i, c->text,
					    f.k[k].strong, c->strong);
				break;
			}
	}
	dlp_rules_free(dr);
	config_free(cfg);
}

static void
test_masked_samples(void **state)
{
	struct dlp_findings f;

	(void)state;
	dlp_scan_text(NULL, "マイナンバー 1234 5678 9018 / card 4532-0151-1283-0366", &f);
	assert_string_equal(f.k[DLP_K_MYNUMBER].sample, "****-****-9018");
	assert_string_equal(f.k[DLP_K_CARD].sample, "****-****-****-0366 (16 digits)");
	assert_string_equal(f.k[DLP_K_CARD].what, "Visa");
	dlp_scan_text(NULL, "普通 1234567", &f);
	assert_string_equal(f.k[DLP_K_BANK].sample, "***567");
}

static void
test_patterns_and_keywords_option(void **state)
{
	struct config *cfg = make_cfg("dlp_keywords=プロジェクトひばり,Codename-X|"
	    "dlp_patterns=EMPLOYEE:emp-\\d{6}\\b CONTRACT:契約番号\\s*[A-Z]{2}\\d{4,6}");
	struct dlp_rules *dr;
	struct dlp_findings f;
	char err[256];

	(void)state;
	dr = dlp_rules_new(cfg, err, sizeof(err));
	assert_non_null(dr);
	dlp_scan_text(dr, "社員 EMP-123456 と emp-654321", &f);
	assert_int_equal(f.k[DLP_K_PATTERN].count, 2);
	assert_string_equal(f.k[DLP_K_PATTERN].what, "EMPLOYEE");
	assert_null(strstr(f.k[DLP_K_PATTERN].sample, "123456"));
	dlp_scan_text(dr, "契約番号 AB12345 を参照", &f);
	assert_int_equal(f.k[DLP_K_PATTERN].count, 1);
	assert_string_equal(f.k[DLP_K_PATTERN].what, "CONTRACT");
	assert_string_equal(f.k[DLP_K_PATTERN].sample, "********2345");
	dlp_scan_text(dr, "emp-12345 only five digits", &f);
	assert_int_equal(f.k[DLP_K_PATTERN].count, 0);
	/* a short match shows half of it, whole characters only */
	dlp_rules_free(dr);
	config_free(cfg);
	cfg = make_cfg("dlp_keywords=プロジェクトひばり,Codename-X|dlp_patterns=CODE:秘密の合言葉\\S*");
	dr = dlp_rules_new(cfg, err, sizeof(err));
	assert_non_null(dr);
	dlp_scan_text(dr, "秘密の合言葉です", &f);
	assert_int_equal(f.k[DLP_K_PATTERN].count, 1);
	assert_string_equal(f.k[DLP_K_PATTERN].sample, "****言葉です");
	dlp_scan_text(dr, "ＰＲＯＪＥＣＴ プロジェクトひばり の件", &f);
	assert_int_equal(f.k[DLP_K_KEYWORD].count, 1);
	dlp_scan_text(dr, "re: codename-x plan", &f);
	assert_int_equal(f.k[DLP_K_KEYWORD].count, 0);	/* a word in a sentence */
	dlp_scan_text(dr, "[Codename-X] plan", &f);
	assert_int_equal(f.k[DLP_K_KEYWORD].count, 1);
	dlp_rules_free(dr);
	config_free(cfg);

	/* a bad pattern is a start-up error naming it */
	cfg = make_cfg("dlp_patterns=BROKEN:emp-(\\d{6}");
	assert_null(dlp_rules_new(cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "BROKEN"));
	config_free(cfg);
}

static const char dlp_mail[] =
    "From: Taro <taro@example.co.jp>\r\n"
    "To: someone@free-mail.example.net\r\n"
    "Subject: =?UTF-8?B?44Oe44Kk44OK44Oz44OQ44O8?=\r\n"
    "Date: Mon, 1 Jan 2024 00:00:00 +0900\r\n"
    "Message-ID: <dlp-1@example.co.jp>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
    "\r\n"
    "--b\r\n"
    "Content-Type: text/plain; charset=ISO-2022-JP\r\n"
    "\r\n"
    "\x1b$B8D?MHV9f\x1b(B 1234-5678-9018\r\n"	/* 個人番号 in ISO-2022-JP */
    "--b\r\n"
    "Content-Type: text/csv; charset=Shift_JIS\r\n"
    "Content-Disposition: attachment; filename=\"list.csv\"\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "\r\n"
    /* "name,card\r\ntaro,4532015112830366\r\n" */
    "bmFtZSxjYXJkDQp0YXJvLDQ1MzIwMTUxMTI4MzAzNjYNCg==\r\n"
    "--b--\r\n";

static const struct symbol *
find_sym(const struct scan_result *r, const char *name)
{
	for (size_t i = 0; i < r->nsyms; i++)
		if (strcmp(r->syms[i].name, name) == 0)
			return &r->syms[i];
	return NULL;
}

static void
run_mail(const struct config *cfg, const char *listener, struct scan_result *r)
{
	struct pipeline *pl;
	struct envelope *env = envelope_new();
	struct verdict v;
	char err[256];

	pl = pipeline_new(cfg, outbound_pipeline_ops(), err, sizeof(err));
	if (pl == NULL)
		fail_msg("pipeline_new: %s", err);
	pipeline_set_record(pl, 0);
	env->listener = xstrdup(listener);
	env->mail_from = xstrdup("taro@example.co.jp");
	envelope_add_rcpt(env, "someone@free-mail.example.net", NULL, 0);
	assert_int_equal(pipeline_run_mem(pl, env, dlp_mail, sizeof(dlp_mail) - 1, &v, r), 0);
	verdict_clear(&v);
	envelope_free(env);
	pipeline_free(pl);
}

static void
test_message_outbound_only(void **state)
{
	struct config *cfg = make_cfg("local_domains=example.co.jp");
	struct scan_result r;
	const struct symbol *s;

	(void)state;
	run_mail(cfg, "outbound", &r);
	s = find_sym(&r, "DLP_MYNUMBER");
	assert_non_null(s);
	assert_true(s->score >= 4.99);		/* near 個人番号: the full score */
	assert_non_null(strstr(s->reason, "9018"));
	s = find_sym(&r, "DLP_CREDIT_CARD");
	assert_non_null(s);			/* from the CSV attachment */
	for (size_t i = 0; i < r.nsyms; i++) {
		assert_null(strstr(r.syms[i].reason, "123456789018"));
		assert_null(strstr(r.syms[i].reason, "1234-5678-9018"));
		assert_null(strstr(r.syms[i].reason, "4532015112830366"));
	}
	scan_result_clear(&r);

	run_mail(cfg, "inbound", &r);
	assert_null(find_sym(&r, "DLP_MYNUMBER"));
	scan_result_clear(&r);
	config_free(cfg);

	cfg = make_cfg("local_domains=example.co.jp|dlp_inbound=yes");
	run_mail(cfg, "inbound", &r);
	assert_non_null(find_sym(&r, "DLP_MYNUMBER"));
	scan_result_clear(&r);
	config_free(cfg);
}

static void
test_text_limit(void **state)
{
	struct config *cfg = make_cfg("dlp_max_text=1k");
	struct message *m;
	char *raw, *text;
	size_t pad = 4000;

	(void)state;
	raw = xmalloc(pad + 256);
	snprintf(raw, 256, "Subject: x\r\n\r\n");
	memset(raw + strlen(raw), 'a', pad);
	strcpy(raw + strlen("Subject: x\r\n\r\n") + pad, "\r\nマイナンバー 1234-5678-9018\r\n");
	m = message_parse(raw, strlen(raw), NULL);
	text = dlp_message_text(m, (size_t)cfg->dlp_max_text);
	assert_true(strlen(text) <= 1024 + 8);
	assert_null(strstr(text, "9018"));
	free(text);
	text = dlp_message_text(m, 1 << 20);
	assert_non_null(strstr(text, "9018"));
	free(text);
	message_free(m);
	free(raw);
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mynumber_check_digit),
		cmocka_unit_test(test_luhn_and_issuers),
		cmocka_unit_test(test_text_table),
		cmocka_unit_test(test_masked_samples),
		cmocka_unit_test(test_patterns_and_keywords_option),
		cmocka_unit_test(test_message_outbound_only),
		cmocka_unit_test(test_text_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
