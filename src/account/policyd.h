/*
 * policyd.h - the Postfix policy delegation server (the SMTP access policy
 * protocol: "name=value" lines, an empty line; the answer "action=..."
 * and an empty line) for the submission service.
 *
 * Used from smtpd_recipient_restrictions (check_policy_service
 * inet:HOST:PORT), each RCPT TO is one request.  Answers:
 *   action=REJECT 5.7.1 ...   the sasl_username is locked
 *   action=450 4.7.1 ...      a per-user or per-address hourly limit on
 *                             messages, recipients or distinct external
 *                             recipient domains is reached
 *   action=DUNNO              otherwise
 */
#ifndef SEKISHO_POLICYD_H
#define SEKISHO_POLICYD_H

#include <stddef.h>
#include <stdint.h>

#include "util/config.h"

#define POLICYD_LINE_MAX	2048
#define POLICYD_ATTRS_MAX	100

struct policyd_req {
	char request[32];
	char protocol_state[16];
	char sasl_username[256];
	char client_address[64];
	char sender[512];
	char recipient[512];
	char instance[64];
	int nattrs;
};

/* Feed one line (without its newline; a trailing CR is dropped).
 * 1: the empty line ended the request; 0: more to come; -1: a bad line
 * (no '=', over POLICYD_LINE_MAX or POLICYD_ATTRS_MAX). */
int policyd_feed(struct policyd_req *r, const char *line, size_t len);

struct policyd;
struct account_guard;
struct event_base;

/* The limits and counters, without a listener (tests use this). */
struct policyd *policyd_new(const struct config *cfg, struct account_guard *ag);
/* Decide one request at now_ms; the "action=..." text (without the
 * empty line) into action. */
void policyd_decide(struct policyd *pd, const struct policyd_req *r, int64_t now_ms,
    char *action, size_t len);
/* Listen on cfg->policy_listen in base.  0 or -1 with err. */
int policyd_listen(struct policyd *pd, struct event_base *base, char *err, size_t errlen);
void policyd_free(struct policyd *pd);

#endif
