/*
 * auth_policy.h - the Dovecot auth policy server (Dovecot 2.3's
 * auth_policy_server_url protocol over HTTP).
 *
 * Dovecot POSTs JSON to URL?command=allow before authentication (and, with
 * auth_policy_check_after_auth, again after a successful one) and to
 * URL?command=report with the outcome ("success", "policy_reject").  The
 * answer is {"status": S, "msg": "..."}: S < 0 refuses the login, 0 lets
 * it go on, S > 0 makes Dovecot wait S seconds first.  The request's
 * attributes come from Dovecot's auth_policy_request_attributes; sekisho
 * reads login, remote, pwhash, protocol, tls and session_id.
 */
#ifndef SEKISHO_AUTH_POLICY_H
#define SEKISHO_AUTH_POLICY_H

#include <stddef.h>

#include "util/config.h"

struct account_guard;

#define AUTH_POLICY_BODY_MAX	65536

struct auth_policy_req {
	char login[256];
	char remote[64];
	char pwhash[160];
	char protocol[32];
	char session_id[128];
	int tls;
	int has_success;		/* report: "success" was present */
	int success;
	int policy_reject;
};

/* Parse a request body (untrusted, at most AUTH_POLICY_BODY_MAX bytes):
 * 0, or -1 with err when it is not a JSON object.  Unknown keys are
 * ignored; strings longer than a field are cut. */
int auth_policy_parse(const char *body, size_t len, struct auth_policy_req *r,
    char *err, size_t errlen);
/* The answer's JSON into buf ({"status":S,"msg":"..."}); 0 or -1 (room). */
int auth_policy_format(int status, const char *msg, char *buf, size_t len);
/* Split an auth_policy_api_header value ("Name: value" or a bare value,
 * which Dovecot sends as X-API-Key) into name and value.  0 or -1. */
int auth_policy_header_spec(const char *spec, char *name, size_t nlen,
    char *value, size_t vlen);

struct auth_policy;

/* Listen on cfg->auth_policy_listen (its own threads).  NULL with err. */
struct auth_policy *auth_policy_start(const struct config *cfg,
    struct account_guard *ag, char *err, size_t errlen);
void auth_policy_stop(struct auth_policy *ap);

#endif
