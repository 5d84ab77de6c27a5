/*
 * http_link.c - the pages behind the one-click links of the hold,
 * approval and confirmation notices: console_url/link/TOKEN?action=...
 *
 * No session: the token (256 random bits, only its hash kept) is the
 * credential, good for one action on one message, once.
 *
 *   GET   shows what the link will do (the subject, sender, recipients)
 *         and a button that POSTs.  It never acts: mail scanners and
 *         link previews fetch every URL of a message.  The token is only
 *         looked at (store_token_peek), not spent.
 *   POST  acts through outbound_link_act(), the call the CLI's
 *         "sekisho hold link" makes, and shows the outcome.
 *
 * The pages are plain HTML in Japanese and English, no script and no
 * inline style (the server's CSP forbids both), form-action 'self'.
 * Every failed attempt (unknown, used or expired token) counts against
 * the client address; after LINK_MAX_FAILURES in LINK_WINDOW_MS the
 * address gets 429 for the rest of the window.
 */
#include "http/http_form.h"
#include "http/http_int.h"
#include "outbound/outbound.h"
#include "queue/queue_digest.h"
#include "store/store.h"
#include "store/store_api.h"
#include "util/log.h"
#include "util/util.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define COMMENT_MAX	1000

struct link_action {
	const char *name;
	const char *ja, *en;		/* the button */
	const char *done_ja, *done_en;	/* the outcome */
	int comment;			/* the form asks for a comment */
};

static const struct link_action actions[] = {
	{ "cancel", "送信を取り消す", "Cancel sending",
	  "送信を取り消しました。このメールは送信されません。",
	  "Sending was cancelled. This message will not be sent.", 0 },
	{ "release", "今すぐ送信する", "Send now",
	  "送信しました。メールは宛先に配送されます。",
	  "Released. The message is on its way.", 0 },
	{ "confirm", "確認して送信する", "Confirm and send",
	  "確認しました。メールは宛先に配送されます。",
	  "Confirmed. The message is on its way.", 0 },
	{ "approve", "承認して送信する", "Approve and send",
	  "承認しました。メールは宛先に配送され、送信者に通知されます。",
	  "Approved. The message is on its way and the sender is told.", 1 },
	{ "reject", "却下する", "Reject",
	  "却下しました。メールは送信されず、送信者に通知されます。",
	  "Rejected. The message will not be sent and the sender is told.", 1 },
	/* the quarantine digest's links (queue_digest.h) */
	{ "qrelease", "隔離を解除して受け取る", "Release to my mailbox",
	  "隔離を解除しました。メールは受信箱に配送されます。",
	  "Released. The message is on its way to your mailbox.", 0 },
	{ "notspam", "迷惑メールではない(解除して学習)", "Not spam: release and learn",
	  "隔離を解除し、迷惑メールではないと学習しました。",
	  "Released, and learned as not spam.", 0 },
};

static const struct link_action *
find_action(const char *name)
{
	for (size_t i = 0; name && i < UTIL_ARRAY_LEN(actions); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

static int
valid_token(const char *t)
{
	return strlen(t) == OUTBOUND_TOKEN_LEN &&
	    strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
	    OUTBOUND_TOKEN_LEN;
}

static void
page_start(struct buf *b, const char *title_ja, const char *title_en)
{
	buf_str(b, "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">"
	    "<meta name=\"robots\" content=\"noindex, nofollow\">"
	    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
	    "<title>sekisho: ");
	buf_html(b, title_ja);
	buf_str(b, " / ");
	buf_html(b, title_en);
	buf_str(b, "</title></head>\n<body>\n<h1>");
	buf_html(b, title_ja);
	buf_str(b, "</h1>\n<p lang=\"en\"><strong>");
	buf_html(b, title_en);
	buf_str(b, "</strong></p>\n");
}

static char *
page_end(struct buf *b)
{
	buf_str(b, "<hr><p><small>sekisho</small></p>\n</body></html>\n");
	return buf_steal(b, NULL);
}

/* A page with a title and one message, in both languages. */
static char *
message_page(const char *title_ja, const char *title_en, const char *ja, const char *en)
{
	struct buf b = { 0 };

	page_start(&b, title_ja, title_en);
	buf_str(&b, "<p>");
	buf_html(&b, ja);
	buf_str(&b, "</p>\n<p lang=\"en\">");
	buf_html(&b, en);
	buf_str(&b, "</p>\n");
	return page_end(&b);
}

static int
fail_page(struct http_req *r, char **html)
{
	if (r->srv->link_rl != NULL)
		http_rl_fail(r->srv->link_rl, r->ip, util_now_ms());
	log_warn("console: link refused ip=%s", r->ip);
	*html = message_page("リンクが無効です", "This link does not work",
	    "このリンクは使用済みか、期限切れか、正しくありません。"
	    "メールがすでに処理された可能性もあります。",
	    "The link was used already, has expired or is wrong, or the message was "
	    "decided already.");
	return 404;
}

/* The envelope part of the confirmation page. */
static void
describe(struct buf *b, const struct hold_view *v)
{
	json_t *rcpts = http_json_array_text(v->rcpts), *x;
	size_t i;

	buf_str(b, "<dl>\n<dt>件名 / Subject</dt><dd>");
	buf_html(b, v->subject ? v->subject : "");
	buf_str(b, "</dd>\n<dt>差出人 / From</dt><dd>");
	buf_html(b, v->h.sender ? v->h.sender : "");
	buf_str(b, "</dd>\n<dt>宛先 / To</dt><dd><ul>\n");
	json_array_foreach(rcpts, i, x) {
		buf_str(b, "<li>");
		buf_html(b, json_string_value(x));
		buf_str(b, "</li>\n");
	}
	buf_str(b, "</ul></dd>\n</dl>\n");
	json_decref(rcpts);
}

/* What the link will do (before the message's description). */
static void
form_intro(struct buf *b, const struct link_action *a)
{
	buf_str(b, "<p>このリンクは次のメールに対して「");
	buf_html(b, a->ja);
	buf_str(b, "」を行います。まだ何も実行していません。下のボタンで実行します。</p>\n"
	    "<p lang=\"en\">This link will apply \"");
	buf_html(b, a->en);
	buf_str(b, "\" to the message below. Nothing has been done yet: use the button.</p>\n");
}

/* The button that does it (a POST: fetching the page never acts). */
static int
form_end(struct buf *b, const char *token, const struct link_action *a, char **html)
{
	buf_str(b, "<form method=\"post\" action=\"/link/");
	buf_html(b, token);
	buf_str(b, "\">\n<input type=\"hidden\" name=\"action\" value=\"");
	buf_html(b, a->name);
	buf_str(b, "\">\n");
	if (a->comment)
		buf_str(b, "<p><label for=\"comment\">コメント(任意、送信者に伝えます) / "
		    "Comment (optional, told to the sender)</label><br>\n"
		    "<textarea id=\"comment\" name=\"comment\" rows=\"4\" cols=\"60\" "
		    "maxlength=\"1000\"></textarea></p>\n");
	buf_str(b, "<p><button type=\"submit\">");
	buf_html(b, a->ja);
	buf_str(b, " / ");
	buf_html(b, a->en);
	buf_str(b, "</button></p>\n</form>\n");
	*html = page_end(b);
	return 200;
}

/* A digest link's message: still in quarantine?  Then its description. */
static int
describe_quarantined(struct http_req *r, const char *id, struct buf *b, char **html)
{
	struct envelope *env = NULL;
	struct queue_info qi = { 0 };
	int rc;

	if ((rc = store_msg_get(r->st, id, &env, &qi)) < 0)
		return -1;
	if (rc == 1 || qi.state != MSG_QUARANTINED) {
		envelope_free(env);
		queue_info_clear(&qi);
		*html = message_page("処理済みです", "Already decided",
		    "このメールはすでに隔離から出されたか、削除されています。",
		    "This message has left the quarantine already (released or deleted).");
		return 409;
	}
	buf_str(b, "<dl>\n<dt>件名 / Subject</dt><dd>");
	buf_html(b, qi.subject ? qi.subject : "");
	buf_str(b, "</dd>\n<dt>差出人 / From</dt><dd>");
	buf_html(b, env->mail_from);
	buf_str(b, "</dd>\n<dt>宛先 / To</dt><dd><ul>\n");
	for (size_t i = 0; i < env->nrcpt; i++) {
		buf_str(b, "<li>");
		buf_html(b, env->rcpt[i].addr);
		buf_str(b, "</li>\n");
	}
	buf_str(b, "</ul></dd>\n</dl>\n");
	envelope_free(env);
	queue_info_clear(&qi);
	return 0;
}

static int
show(struct http_req *r, const char *token, const struct link_action *a, char **html)
{
	unsigned char hash[STORE_TOKEN_HASH];
	char id[QUEUE_ID_SIZE];
	struct hold_view v;
	struct buf b = { 0 };
	int rc;

	outbound_token_hash(token, hash);
	if ((rc = store_token_peek(r->st, hash, a->name, util_now_ms(), id, NULL)) < 0)
		return -1;
	if (rc == 1)
		return fail_page(r, html);
	if (queue_digest_link_action(a->name)) {
		page_start(&b, a->ja, a->en);
		form_intro(&b, a);
		if ((rc = describe_quarantined(r, id, &b, html)) != 0) {
			buf_free(&b);
			return rc;
		}
		return form_end(&b, token, a, html);
	}
	if ((rc = store_hold_view_get(r->st, id, &v)) < 0)
		return -1;
	if (rc == 1 || strcmp(v.h.status, "held") != 0) {
		if (rc == 0)
			hold_view_clear(&v);
		*html = message_page("処理済みです", "Already decided",
		    "このメールはすでに処理されています(送信済み、取り消し済み、または判断済み)。",
		    "This message was decided already (sent, cancelled, approved or rejected).");
		return 409;
	}
	page_start(&b, a->ja, a->en);
	form_intro(&b, a);
	describe(&b, &v);
	hold_view_clear(&v);
	return form_end(&b, token, a, html);
}

static int
act(struct http_req *r, const char *token, char **html)
{
	unsigned char hash[STORE_TOKEN_HASH];
	char action[16], comment[COMMENT_MAX + 1], id[QUEUE_ID_SIZE], who[320], what[32];
	const struct link_action *a;
	char *owner = NULL;
	int rc;

	if (http_form_field(r->body, r->body_len, "action", action, sizeof(action)) != 0 ||
	    (a = find_action(action)) == NULL) {
		*html = message_page("要求が正しくありません", "Bad request",
		    "操作が指定されていません。", "The action is missing.");
		return 400;
	}
	if ((rc = http_form_field(r->body, r->body_len, "comment", comment,
	    sizeof(comment))) < 0) {
		*html = message_page("要求が正しくありません", "Bad request",
		    "コメントが長すぎるか、正しくありません。", "The comment is too long or malformed.");
		return 400;
	}
	outbound_token_hash(token, hash);
	/* who the link was for, for the audit log (the act spends the token) */
	if ((rc = store_token_peek(r->st, hash, a->name, util_now_ms(), id, &owner)) < 0)
		return -1;
	if (rc == 1)
		return fail_page(r, html);
	rc = outbound_link_act(r->st, token, a->name, NULL,
	    a->comment && *comment ? comment : NULL);
	if (rc != 0) {
		free(owner);
		return rc < 0 ? -1 : fail_page(r, html);
	}
	snprintf(who, sizeof(who), "link:%s", owner ? owner : "?");
	free(owner);
	r->user.name = xstrdup(who);
	snprintf(what, sizeof(what), "link_%s", a->name);
	http_audit(r, what, id, a->comment && *comment ? comment : NULL);
	*html = message_page("完了しました", "Done", a->done_ja, a->done_en);
	return 200;
}

int
http_link(struct http_req *r, char **html)
{
	const char *token = r->path + strlen("/link/");
	int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	int status;

	*html = NULL;
	if (!get && strcmp(r->method, "POST") != 0) {
		*html = message_page("要求が正しくありません", "Bad request",
		    "この操作はできません。", "Method not allowed.");
		return 405;
	}
	if (r->srv->link_rl != NULL && http_rl_blocked(r->srv->link_rl, r->ip, util_now_ms())) {
		*html = message_page("しばらくお待ちください", "Too many attempts",
		    "無効なリンクへのアクセスが多すぎます。しばらくしてからやり直してください。",
		    "Too many attempts with links that do not work. Try again later.");
		return 429;
	}
	if (!valid_token(token))
		return fail_page(r, html);
	if (get) {
		const struct link_action *a = find_action(http_arg(r, "action"));

		if (a == NULL)
			return fail_page(r, html);
		status = show(r, token, a, html);
	} else {
		status = act(r, token, html);
	}
	if (status < 0) {
		log_err("console: link: %s", store_errmsg(r->st));
		free(*html);
		*html = message_page("エラー", "Error", "内部エラーが発生しました。",
		    "Something went wrong on the server.");
		status = 500;
	}
	return status;
}
