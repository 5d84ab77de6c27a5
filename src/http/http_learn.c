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
 * What a delivered copy carries of sekisho's own verdict is not learned:
 * learn_scanned_copy() (learn.h) takes out X-Sekisho-Result, sekisho's
 * Authentication-Results and the subject tag before the message is
 * digested and learned, as sekisho learn does.  (A banner put into the
 * body on delivery stays: it cannot be told from the text around it.)
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

int
http_learn(struct http_req *r, json_t **out)
{
	const struct config *cfg = r->srv->cfg;
	const char *label = r->path + strlen("/learn/");
	const char *key;
	struct learner *l = NULL;
	struct message *msg;
	enum learn_outcome o;
	char *clean = NULL;
	const char *bytes = r->body;
	size_t clen, blen = r->body_len;
	char user[LEARN_USER_MAX * 4 + 1], actor[sizeof(user) + 8], err[256];
	char quoted[sizeof(user) * 4 + 3];
	int spam, status;

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

	msg = message_parse(r->body, r->body_len, NULL);
	if (msg == NULL || msg->nheaders == 0) {
		message_free(msg);
		return http_err(out, 400, "the body is not a mail message");
	}
	/* a delivered copy: learned as sekisho scanned it (learn.h) */
	if ((clean = learn_scanned_copy(msg, cfg->tag_subject_prefix,
	    config_authserv_id(cfg), &clen)) != NULL) {
		message_free(msg);
		msg = message_parse(clean, clen, NULL);
		bytes = clean;
		blen = clen;
	}
	if (store_begin(r->st) < 0) {
		status = http_err(out, 500, "store error");
		goto out;
	}
	if (learner_open(r->st, LEARN_MODEL, 1, (unsigned)cfg->bayes_table_bits, &l,
	    err, sizeof(err)) != 0) {
		log_err("learn: %s", err);
		store_rollback(r->st);
		status = http_err(out, 500, "cannot open the model");
		goto out;
	}
	o = learner_learn(l, msg, bytes, blen, spam, "user");
	if (o == LEARN_FAILED || learner_save(l) < 0 || store_commit(r->st) < 0) {
		log_err("learn: %s", store_errmsg(r->st));
		store_rollback(r->st);
		status = http_err(out, 500, "store error");
		goto out;
	}
	log_info("learn: user=%s ip=%s reported %s: %s",
	    log_kv_quote(quoted, sizeof(quoted), user), r->ip, label, learn_outcome_name(o));
	/* in the audit log as mail:LOGIN, a mail user, not a console user */
	snprintf(actor, sizeof(actor), "mail:%s", user);
	r->user.name = actor;
	http_audit(r, spam ? "report_spam" : "report_ham", NULL, learn_outcome_name(o));
	r->user.name = NULL;
	*out = json_pack("{s:s, s:s}", "label", label, "outcome", learn_outcome_name(o));
	status = 200;
out:
	learner_free(l);
	message_free(msg);
	free(clean);
	return status;
}
