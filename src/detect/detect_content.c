/*
 * detect_content.c - what the message says and whom it claims to speak for.
 *
 * Symbols (declared in detect_phish.c):
 *   PHISH_LURE            the words of a credential or payment lure: an
 *                         account suspended, locked or to be verified, a
 *                         password expiring, a mailbox full, a payment method
 *                         to update, a parcel that cannot be delivered, a
 *                         prize to claim (Japanese, English, and the common
 *                         phrases of Portuguese, Spanish, French and German
 *                         campaigns)
 *   PHISH_BRAND_OFFSITE   the message speaks for a brand (From is one of its
 *                         domains, or the display name names it) and none of
 *                         its web links goes to that brand, or one goes to an
 *                         IP address, or to another host with the brand's
 *                         name in its path (evil.example/.eBay/signin)
 *
 * The text is the subject and the first 256 KiB of the text and HTML text,
 * NFKC case-folded (phish_scan_text).  The phrases are in the tables below;
 * each is a plain substring, so they are chosen long enough not to occur in
 * ordinary mail ("verify your account", not "verify").  Legitimate security
 * notices do use these words; that is why PHISH_LURE alone stays under the
 * tag score and counts when the links or the sender are wrong too.
 */
#include "detect/detect_phish.h"
#include "message/message.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const lure_phrases[] = {
	/* English */
	"verify your account", "verify your identity", "confirm your identity",
	"confirm your account", "update your account", "update your billing",
	"update your payment", "update your information", "validate your account",
	"account has been suspended", "account has been limited", "account has been locked",
	"account has been disabled", "account will be suspended", "account will be closed",
	"account will be terminated", "account suspension", "suspended your account",
	"unusual activity on your account", "unusual activity in your account",
	"unusual sign-in", "suspicious activity on your account",
	"suspicious activity in your account", "unauthorized access to your account",
	"unusual login", "your password expires", "password will expire", "password has expired",
	"mailbox is full", "mailbox quota", "storage is full", "exceeded the storage",
	"reactivate your account", "restore your account", "unable to deliver your package",
	"customs fee", "you have won", "claim your prize", "claim your reward",
	"pending incoming", "messages are on hold", "undelivered messages", "seed phrase",
	"recovery phrase", "verify your email", "confirm your email", "account verification",
	"update your billing information", "limited access to your account",
	"verify your information", "confirm your information", "verify their information",
	"account has been flagged", "been temporarily suspended", "will be suspended",
	"has been suspended", "update your records", "confirm your records",
	"your account has been", "fraudulent activity", "prove your identity",
	"avoid suspension", "billing information",
	/* crypto wallets and call-back scams */
	"withdraw your funds", "claim your airdrop", "connect your wallet",
	"validate your wallet", "wallet has been", "if you did not authorize",
	"if you did not make this purchase", "if you didn't make this purchase",
	"to cancel your order", "cancel this transaction",
	/* Japanese */
	"アカウントを停止", "アカウントが停止", "アカウントは停止", "アカウントを一時停止",
	"アカウントがロック", "アカウントをロック", "アカウントの利用を制限", "利用制限",
	"ご利用を制限", "一時的に制限", "本人確認", "お客様情報の確認", "アカウント情報の確認",
	"アカウント情報を更新", "情報を更新してください", "ログイン情報の更新",
	"異常なログイン", "異常ログイン", "不正ログイン", "不審なログイン", "第三者による",
	"24時間以内", "48時間以内", "パスワードの有効期限", "メールボックスの容量",
	"容量を超過", "容量超過", "お支払い方法を更新", "お支払い方法の更新",
	"お支払い方法の情報を更新", "決済に失敗", "お届けできません", "お届けできませんでした",
	"当選しました", "ポイントが失効", "カードご利用確認", "停止されました", "ロックされ",
	"を一時停止しました", "の利用を一時停止", "お支払い方法に問題", "支払い方法を更新",
	"ロックを解除", "異常なアクティビティ", "使用を制限", "アカウントは制限", "利用を制限",
	"自動退会", "第三者によって", "ご本人様のご利用", "カード番号情報を確認",
	/* Portuguese, Spanish, French, German */
	"verifique sua conta", "sua conta foi", "atualize seus dados", "conta bloqueada",
	"resgate seus pontos", "pontos expiram", "foi taxada", "su cuenta ha sido",
	"verifique su cuenta", "votre compte a été", "compte suspendu", "vérifier votre compte",
	"ihr konto wurde", "konto gesperrt", "bestätigen sie ihre", "verifizieren sie ihr",
};

/* Does the path of url (on a host that is not the brand's) carry the
 * brand's name as a segment ("/.eBay/", "/paypal/") or one of its domains
 * as a segment ("/www.firstbank.example/Login.aspx")? */
static int
path_names(const char *url, const struct brand *b)
{
	const char *p = strstr(url, "://");
	char *path, *seg, *save = NULL;
	int hit = 0;

	if (p == NULL || (p = strchr(p + 3, '/')) == NULL)
		return 0;
	path = phish_fold(p);
	path[strcspn(path, "?#")] = '\0';
	for (seg = strtok_r(path, "/", &save); seg != NULL && !hit;
	    seg = strtok_r(NULL, "/", &save)) {
		const char *name = seg[0] == '.' ? seg + 1 : seg;
		size_t sl = strlen(seg);

		for (size_t i = 0; i < b->ndomains && !hit; i++) {
			size_t dl = strlen(b->domains[i]);

			hit = strcmp(seg, b->domains[i]) == 0 || (sl > dl && seg[sl - dl - 1] == '.' &&
			    strcmp(seg + sl - dl, b->domains[i]) == 0);
		}
		for (size_t i = 0; i < b->nnames && !hit; i++)
			hit = strcmp(name, b->names[i]) == 0;
	}
	free(path);
	return hit;
}

void
phish_check_content(const struct phish_rules *pr, const struct scan_ctx *ctx,
    struct scan_result *r, const char *folded)
{
	const struct message *m = ctx->msg;
	const struct brand *claimed = NULL;
	const char *how = NULL, *bad = NULL;
	char *list_dom = NULL;
	int by_name, lure = 0;
	size_t nweb = 0, nbrand = 0;

	(void)pr;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(lure_phrases) && !lure; i++)
		if (strstr(folded, lure_phrases[i]) != NULL) {
			result_add(r, "PHISH_LURE", "lure words: \"%s\"", lure_phrases[i]);
			lure = 1;
		}

	/* whom it speaks for: a brand's own From domain (not free mail), or a
	 * brand in the display name */
	if (!ctx->outbound && m->nfrom > 0) {
		for (size_t i = 0; i < m->nfrom && claimed == NULL; i++) {
			const struct msg_addr *a = &m->from[i];

			if (a->domain != NULL && !domset_has(pr->freemail, a->domain) &&
			    (claimed = brandset_owner(pr->brands, a->domain)) != NULL) {
				how = "From";
				if (claimed->own)
					claimed = NULL;
			}
			/* not when the name is the sender's own ("Lockergnome Apple
			 * Core" from lockergnome.com): the brand is its topic */
			if (claimed == NULL && a->display != NULL) {
				char *f = phish_fold(a->display);
				const char *w = NULL;

				if (((claimed = brandset_named(pr->brands, f, &w)) != NULL ||
				    (claimed = brandset_named_lookalike(pr->brands, a->display,
				    &w)) != NULL) && (domset_has(pr->freemail, a->domain) ||
				    !phish_name_names_sender(pr->brands, f, a->domain, w)))
					how = "the display name";
				else
					claimed = NULL;
				free(f);
			}
		}
	}
	if (claimed == NULL)
		return;
	by_name = strcmp(how, "From") != 0 || lure;
	if (message_header(m, "List-Id") != NULL || message_header(m, "List-Post") != NULL)
		for (size_t i = 0; i < m->nfrom && list_dom == NULL; i++)
			if (m->from[i].domain != NULL)
				list_dom = message_registrable_domain(m->from[i].domain);
	for (size_t i = 0; i < m->nurls; i++) {
		const struct msg_url *u = &m->urls[i];
		struct url_parts up;
		char *target;

		/* links written in the text count when the display name makes the
		 * claim, or lure words do; a brand's employees write links in their
		 * own mail */
		if ((u->source != URL_FROM_HREF && (u->source != URL_FROM_TEXT || u->schemeless ||
		    !by_name)) ||
		    u->host == NULL || u->scheme == NULL ||
		    (strcmp(u->scheme, "http") != 0 && strcmp(u->scheme, "https") != 0) ||
		    phish_url_parts(u->url, &up) < 0)
			continue;
		/* a mailing list's own links (its footer) say nothing of the author */
		if (list_dom != NULL && u->domain != NULL && strcmp(u->domain, list_dom) == 0)
			continue;
		nweb++;
		if (up.is_ip) {
			/* no brand sends its customers to a bare address */
			bad = u->url;
			continue;
		}
		if (brand_owns(claimed, u->host) || brand_owns(claimed, u->domain)) {
			nbrand++;
			continue;
		}
		/* a redirector that leads to the brand counts as the brand's */
		if ((target = phish_unwrap(pr->redirectors, u->url)) != NULL) {
			struct url_parts tp;
			int own = phish_url_parts(target, &tp) == 0 && brand_owns(claimed, tp.host);

			free(target);
			if (own) {
				nbrand++;
				continue;
			}
		}
		if (bad == NULL && path_names(u->url, claimed))
			bad = u->url;
	}
	free(list_dom);
	if (bad != NULL)
		result_add(r, "PHISH_BRAND_OFFSITE", "%s speaks for %s and links to %.80s", how,
		    claimed->name, bad);
	else if (nweb > 0 && nbrand == 0)
		result_add(r, "PHISH_BRAND_OFFSITE", "%s speaks for %s but none of its %zu links"
		    " goes there", how, claimed->name, nweb);
}
