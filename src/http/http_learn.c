/*
 * http_learn.c - users' reports from their mail client: POST /learn/spam
 * and POST /learn/ham on console_listen, the raw message in the body.
 *
 * A user who moves a delivered message into the Junk folder says "spam";
 * one who moves it out of Junk says "not spam".  The mail server sees the
 * move (Dovecot IMAPSieve, contrib/dovecot/) and posts the message here,
 * with the user's login in ?user= and the shared key in the
 * X-Sekisho-Learn-Key header.  The message is learned through
 * learner_learn() with source "user" -- the same call as sekisho learn and
 * the quarantine's "not spam" -- so a message learned again with the same
 * label changes nothing, with the other label is relabelled, and can be
 * forgotten like any other.
 *
 * What a delivered copy carries of sekisho's own verdict is not learned
 * (http_learn_clean): X-Sekisho-Result and sekisho's Authentication-Results are
 * taken out, and a Subject that starts with tag_subject_prefix loses it
 * (decoded: a Japanese tag is an encoded word), before the message is parsed, digested and learned; its lines end in
 * CRLF, as mail scanned from SMTP does.  (A banner put into the body on
 * delivery stays: it cannot be told from the text around it.)  The
 * tokenizer never reads X-Sekisho-* fields either.
 *
 * Checks, in order: POST (405); learn_key_file set (else 404: the endpoint
 * is off); the client in learn_allow (403); the key (403); the label (404);
 * a message of at most message_size_limit bytes with a header (413, 400).
 * Answers {"outcome": "learned" | "relabelled" | "already learned"}.
 */
#include "detect/learn.h"
#include "http/http_int.h"
#include "message/message.h"
#include "store/store.h"
#include "util/cidr.h"
#include "util/log.h"
#include "util/util.h"

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEARN_USER_MAX	128	/* bytes of ?user= kept for the log and audit */

/* The user's login, printable, or "-". */
static void
report_user(struct http_req *r, char *buf, size_t len)
{
	const char *u = http_arg(r, "user");

	if (u == NULL || *u == '\0') {
		util_strlcpy(buf, "-", len);
		return;
	}
	util_printable(buf, len, u, strnlen(u, LEARN_USER_MAX));
}

/*
 * The message as sekisho scanned it, as far as can be told: without the
 * verdict it added on delivery (X-Sekisho-Result, its Authentication-Results)
 * and without the subject tag, CRLF line endings.  NULL when it does not
 * parse as mail (no header field).
 */
char *
http_learn_clean(const struct config *cfg, const char *raw, size_t len, size_t *outlen)
{
	struct message *m = message_parse(raw, len, NULL);
	char *ar, *out;

	if (m == NULL || m->nheaders == 0) {
		message_free(m);
		return NULL;
	}
	ar = xasprintf("Authentication-Results:%s",
	    *cfg->authserv_id ? cfg->authserv_id : cfg->myhostname);
	{
		const char *const remove[] = {
			"X-Sekisho-Result", "X-Sekisho-Score", "X-Sekisho-Symbols", ar, NULL,
		};
		struct message_rewrite rw = {
			.remove = remove, .subject_unprefix = cfg->tag_subject_prefix,
		};

		out = message_rewrite(m, &rw, outlen);
	}
	free(ar);
	message_free(m);
	return out;
}

int
http_learn(struct http_req *r, json_t **out)
{
	const struct config *cfg = r->srv->cfg;
	const char *label = r->path + strlen("/learn/");
	const char *key;
	struct learner *l = NULL;
	struct message *msg;
	enum learn_outcome o;
	char *clean;
	size_t clen;
	char user[LEARN_USER_MAX * 4 + 1], actor[sizeof(user) + 8], err[256];
	char quoted[sizeof(user) * 4 + 3];
	int spam;

	if (strcmp(r->method, "POST") != 0)
		return http_err(out, 405, "method not allowed");
	if (r->srv->learn_key[0] == '\0')
		return http_err(out, 404, "reports are not taken here (learn_key_file)");
	if (!cidr_match_any(r->srv->learn_nets, r->srv->nlearn_nets, r->ip))
		return http_err(out, 403, "this address may not report (learn_allow)");
	key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "X-Sekisho-Learn-Key");
	if (!http_token_eq(key, r->srv->learn_key)) {
		log_warn("learn: report from %s refused: %s key", r->ip, key ? "wrong" : "no");
		return http_err(out, 403, "X-Sekisho-Learn-Key missing or wrong");
	}
	if (strcmp(label, "spam") == 0)
		spam = 1;
	else if (strcmp(label, "ham") == 0)
		spam = 0;
	else
		return http_err(out, 404, "not found: /learn/spam or /learn/ham");
	if (r->body_len == 0)
		return http_err(out, 400, "no message in the body");
	report_user(r, user, sizeof(user));

	if ((clean = http_learn_clean(cfg, r->body, r->body_len, &clen)) == NULL ||
	    (msg = message_parse(clean, clen, NULL)) == NULL) {
		free(clean);
		return http_err(out, 400, "the body is not a mail message");
	}
	if (store_begin(r->st) < 0) {
		message_free(msg);
		free(clean);
		return http_err(out, 500, "store error");
	}
	if (learner_open(r->st, LEARN_MODEL, 1, (unsigned)cfg->bayes_table_bits, &l,
	    err, sizeof(err)) != 0) {
		log_err("learn: %s", err);
		store_rollback(r->st);
		message_free(msg);
		free(clean);
		return http_err(out, 500, "cannot open the model");
	}
	o = learner_learn(l, msg, clean, clen, spam, "user");
	message_free(msg);
	free(clean);
	if (o == LEARN_FAILED || learner_save(l) < 0 || store_commit(r->st) < 0) {
		log_err("learn: %s", store_errmsg(r->st));
		store_rollback(r->st);
		learner_free(l);
		return http_err(out, 500, "store error");
	}
	learner_free(l);
	log_info("learn: user=%s ip=%s reported %s: %s",
	    log_kv_quote(quoted, sizeof(quoted), user), r->ip, label, learn_outcome_name(o));
	/* in the audit log as mail:LOGIN, a mail user, not a console user */
	snprintf(actor, sizeof(actor), "mail:%s", user);
	r->user.name = actor;
	http_audit(r, spam ? "report_spam" : "report_ham", NULL, learn_outcome_name(o));
	r->user.name = NULL;
	*out = json_pack("{s:s, s:s}", "label", label, "outcome", learn_outcome_name(o));
	return 200;
}
