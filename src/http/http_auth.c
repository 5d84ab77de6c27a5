/*
 * http_auth.c - console logins, sessions and accounts.
 *
 * Login: the per-user and per-address failure counts of the last
 * console_login_window are checked first (429 and a log line when over;
 * the refusal is recorded too, for the dashboard), then the password
 * (argon2id; an unknown name costs the same time as a wrong password),
 * then the TOTP code, whose step must be newer than the last one accepted
 * for that user (store_cuser_totp_use, atomic): a code is never accepted
 * twice.  A correct password with a missing code is not a failure (the
 * console asks for the code next); a wrong or reused code is.
 *
 * Console logins are also login events (store_account.h, protocol and
 * source "console"), and when sekishod runs the account guard (any of
 * the policy servers or the log watcher) every attempt goes through it
 * as a Dovecot login does: a refused address or locked login answers 429
 * before the password is looked at, a delay it asks for is waited (in
 * this request's thread, as Dovecot delays its answer; GUARD_DELAY_MAX at
 * most), and each
 * outcome feeds its detection (brute force, password spraying...), so a
 * console sprayer is refused like an IMAP one and the other way round.
 * The per-user and per-address limits above stay as the fallback.
 *
 * Session: 256 random bits, given to the browser as an HttpOnly,
 * SameSite=Strict cookie and kept in the store only as a BLAKE2b hash,
 * with a CSRF token of another 256 bits.  A session unused for
 * console_session_idle ends.
 */
#include "account/account_guard.h"
#include "http/http_int.h"
#include "store/store.h"
#include "store/store_account.h"
#include "util/log.h"
#include "util/util.h"

#include <microhttpd.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <unistd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COOKIE_NAME	"sekisho_session"
#define SESSION_TOUCH_MS	60000
#define GUARD_DELAY_MAX		5	/* seconds: the console has few threads */

enum console_role
console_role_parse(const char *name)
{
	if (name == NULL)
		return ROLE_NONE;
	if (strcmp(name, "admin") == 0)
		return ROLE_ADMIN;
	if (strcmp(name, "approver") == 0)
		return ROLE_APPROVER;
	if (strcmp(name, "user") == 0)
		return ROLE_USER;
	return ROLE_NONE;
}

static int
hash_password(const char *password, char out[crypto_pwhash_STRBYTES])
{
	if (sodium_init() < 0)
		return -1;
	return crypto_pwhash_str(out, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

int
console_user_create(struct store *st, const unsigned char key[CONSOLE_KEY_SIZE],
    const char *name, const char *password, const char *role, const char *email,
    const char *lang, char **secret, char **uri, char *err, size_t errlen)
{
	char *plain;
	struct console_user u;
	char hash[crypto_pwhash_STRBYTES];
	int rc;

	*secret = *uri = NULL;
	if (name == NULL || !http_valid_username(name)) {
		snprintf(err, errlen, "the name must be 1 to 64 of A-Z a-z 0-9 . _ @ -");
		return -1;
	}
	if (console_role_parse(role) == ROLE_NONE) {
		snprintf(err, errlen, "the role must be admin, approver or user");
		return -1;
	}
	if (password == NULL || strlen(password) < CONSOLE_MIN_PASSWORD ||
	    strlen(password) > CONSOLE_MAX_PASSWORD) {
		snprintf(err, errlen, "the password must have %d to %d characters",
		    CONSOLE_MIN_PASSWORD, CONSOLE_MAX_PASSWORD);
		return -1;
	}
	if (lang != NULL && *lang && strcmp(lang, "ja") != 0 && strcmp(lang, "en") != 0) {
		snprintf(err, errlen, "lang must be ja or en");
		return -1;
	}
	if (email != NULL && *email && (strchr(email, '@') == NULL || strlen(email) > 254 ||
	    strpbrk(email, " <>\",;\r\n") != NULL)) {
		snprintf(err, errlen, "'%s' is not a mail address", email);
		return -1;
	}
	if (hash_password(password, hash) != 0) {
		snprintf(err, errlen, "cannot hash the password (out of memory)");
		return -1;
	}
	memset(&u, 0, sizeof(u));
	u.name = (char *)(uintptr_t)name;
	u.pwhash = hash;
	u.role = (char *)(uintptr_t)role;
	u.email = (char *)(uintptr_t)(email ? email : "");
	u.lang = (char *)(uintptr_t)(lang && *lang ? lang : "ja");
	plain = http_totp_new_secret();
	u.totp_secret = console_secret_seal(key, plain);
	u.created_ms = util_now_ms();
	rc = store_cuser_add(st, &u);
	free(u.totp_secret);
	if (rc == 0) {
		*secret = plain;
		*uri = http_totp_uri(name, plain);
	} else {
		if (rc < 0)
			snprintf(err, errlen, "%s", store_errmsg(st));
		else
			snprintf(err, errlen, "a user named %s exists", name);
		free(plain);
	}
	return rc;
}

int
console_user_totp_reset(struct store *st, const unsigned char key[CONSOLE_KEY_SIZE],
    const char *name, char **secret, char **uri, char *err, size_t errlen)
{
	char *s = http_totp_new_secret(), *sealed = console_secret_seal(key, s);
	int rc = store_cuser_set_totp(st, name, sealed);

	free(sealed);
	*secret = *uri = NULL;
	if (rc != 0) {
		if (rc < 0)
			snprintf(err, errlen, "%s", store_errmsg(st));
		else
			snprintf(err, errlen, "no user named %s", name);
		free(s);
		return rc;
	}
	*secret = s;
	*uri = http_totp_uri(name, s);
	return 0;
}

void
console_audit_cli(struct store *st, const char *action, const char *target,
    const char *detail)
{
	struct passwd *pw = getpwuid(getuid());
	char who[96];
	struct console_audit a;

	snprintf(who, sizeof(who), "cli:%s", pw ? pw->pw_name : "?");
	a.t_ms = util_now_ms();
	a.user = who;
	a.ip = "local";
	a.action = action;
	a.target = target;
	a.detail = detail;
	if (store_caudit_add(st, &a) < 0)
		fprintf(stderr, "sekisho: audit log: %s\n", store_errmsg(st));
}

json_t *
http_user_json(const struct console_user *u)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "name", u->name, "role", u->role,
	    "lang", u->lang ? u->lang : "ja", "email", u->email ? u->email : "");
}

int
http_session_load(struct http_req *r)
{
	const char *cookie = MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND, COOKIE_NAME);
	int64_t now = util_now_ms();
	int rc;

	if (cookie == NULL || strlen(cookie) != 64 || strspn(cookie, "0123456789abcdef") != 64)
		return 1;
	http_token_hash(cookie, r->sess_hash);
	rc = store_csession_get(r->st, r->sess_hash, r->srv->cfg->console_session_idle * 1000,
	    now, &r->sess);
	if (rc != 0)
		return rc;
	if ((rc = store_cuser_get(r->st, r->sess.user, &r->user)) != 0) {
		console_session_clear(&r->sess);
		return rc;
	}
	r->role = console_role_parse(r->user.role);
	if (now - r->sess.last_ms > SESSION_TOUCH_MS)
		(void)store_csession_touch(r->st, r->sess_hash, now);
	return 0;
}

static char dummy[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void
dummy_init(void)
{
	char pw[HTTP_TOKEN_HEX];

	http_random_hex(pw, 16);
	if (hash_password(pw, dummy) != 0)
		dummy[0] = '\0';
}

/* A hash of a random password, verified when the name is unknown so that
 * an unknown name takes as long as a wrong password. */
static const char *
dummy_hash(void)
{
	pthread_once(&dummy_once, dummy_init);
	return dummy;
}

static const char *
jstr(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

/* A refused or failed attempt: remembered for the limits and the dashboard. */
static void
note_failure(struct http_req *r, const char *user, int refused, const char *why)
{
	if (store_login_fail_add(r->st, util_now_ms(), user, r->ip, refused) < 0)
		log_err("console: cannot record a login failure: %s", store_errmsg(r->st));
	log_warn("console: login %s user=%s ip=%s: %s", refused ? "refused" : "failed",
	    user, r->ip, why);
}

/*
 * Ask the account guard (when sekishod runs one) before the password is
 * checked (after_auth 0) or once it was right (1): 0 go on, else refused
 * with the reason in msg.
 */
static int
guard_check(struct http_req *r, const char *user, int after_auth, char *msg, size_t len)
{
	struct account_guard *ag = r->srv->guard;
	struct login_attempt a = {
		.login = user, .ip = r->ip, .protocol = "console", .source = "console",
	};
	int rc;

	msg[0] = '\0';
	if (ag == NULL)
		return 0;
	rc = account_guard_allow(ag, &a, after_auth, msg, len);
	if (rc > 0) {
		/* a delay, as Dovecot waits before it answers; then the attempt
		 * goes on and is counted, so that slow spraying is still seen */
		log_info("console: login user=%s ip=%s delayed %d s: %s", user, r->ip, rc, msg);
		sleep((unsigned)(rc < GUARD_DELAY_MAX ? rc : GUARD_DELAY_MAX));
		rc = 0;
	}
	return rc;
}

/*
 * The outcome of a console login as a login event: through the guard
 * (which stores it and learns from it) or, without one, straight to the
 * store.  password (may be NULL) is hashed so that the guard can tell a
 * dictionary from one mistyped password.
 */
static void
login_event(struct http_req *r, const char *user, const char *password,
    enum login_result result)
{
	struct account_guard *ag = r->srv->guard;
	char pwhash[HTTP_TOKEN_HEX];
	struct login_attempt a = {
		.login = user, .ip = r->ip, .protocol = "console", .source = "console",
		.success = result == LOGIN_OK, .policy_reject = result == LOGIN_REFUSED,
	};
	struct store_login ev;

	if (ag != NULL) {
		if (password != NULL && result == LOGIN_FAIL) {
			http_token_hash(password, pwhash);
			a.pwhash = pwhash;
		}
		account_guard_report(ag, &a);
		return;
	}
	memset(&ev, 0, sizeof(ev));
	ev.time_ms = util_now_ms();
	util_strlcpy(ev.login, user, sizeof(ev.login));
	util_strlcpy(ev.ip, r->ip, sizeof(ev.ip));
	util_strlcpy(ev.protocol, "console", sizeof(ev.protocol));
	util_strlcpy(ev.source, "console", sizeof(ev.source));
	ev.result = result;
	if (store_login_add(r->st, &ev) < 0)
		log_err("console: cannot record a login event: %s", store_errmsg(r->st));
}

static int
over_limits(struct http_req *r, const char *user)
{
	const struct config *cfg = r->srv->cfg;
	int64_t by_user = 0, by_ip = 0;

	if (store_login_fail_count(r->st, util_now_ms() - cfg->console_login_window * 1000,
	    user, r->ip, &by_user, &by_ip) < 0)
		return -1;
	return by_user >= cfg->console_login_max_failures ||
	    by_ip >= cfg->console_login_max_failures_ip;
}

static int
start_session(struct http_req *r, const struct console_user *u, json_t **out)
{
	char id[HTTP_TOKEN_HEX], csrf[HTTP_TOKEN_HEX];

	http_random_hex(id, 32);
	http_random_hex(csrf, 32);
	http_token_hash(id, r->sess_hash);
	if (store_csession_put(r->st, r->sess_hash, u->name, csrf, r->ip, util_now_ms()) < 0)
		return http_err(out, 500, "store error");
	r->set_cookie = xasprintf(COOKIE_NAME "=%s; Path=/; HttpOnly; SameSite=Strict%s",
	    id, r->srv->cfg->console_tls ? "; Secure" : "");
	sodium_memzero(id, sizeof(id));
	*out = json_pack("{s:o, s:s}", "user", http_user_json(u), "csrf", csrf);
	return 200;
}

int
http_login(struct http_req *r, json_t **out)
{
	const char *name, *password, *code;
	struct console_user u;
	char why[160], *secret = NULL;
	int64_t step;
	int rc, status, plain_stored;

	if (r->json == NULL || (name = jstr(r->json, "username")) == NULL ||
	    (password = jstr(r->json, "password")) == NULL)
		return http_err(out, 400, "username and password are required");
	code = jstr(r->json, "totp");
	if (!http_valid_username(name) || strlen(password) > CONSOLE_MAX_PASSWORD) {
		note_failure(r, "-", 0, "malformed name or password");
		return http_err(out, 401, "wrong name or password");
	}
	if ((rc = over_limits(r, name)) != 0) {
		if (rc < 0)
			return http_err(out, 500, "store error");
		note_failure(r, name, 1, "too many failures");
		login_event(r, name, NULL, LOGIN_REFUSED);
		r->user.name = xstrdup(name);
		http_audit(r, "login_refused", name, "too many failures");
		return http_err(out, 429, "too many failed logins; try again later");
	}
	if (guard_check(r, name, 0, why, sizeof(why)) != 0) {
		note_failure(r, name, 1, why);
		login_event(r, name, NULL, LOGIN_REFUSED);
		r->user.name = xstrdup(name);
		http_audit(r, "login_refused", name, why);
		return http_err(out, 429, "too many failed logins; try again later");
	}
	if ((rc = store_cuser_get(r->st, name, &u)) < 0)
		return http_err(out, 500, "store error");
	if (rc == 1) {
		if (crypto_pwhash_str_verify(dummy_hash(), password, strlen(password)) == 0)
			log_debug("console: the dummy password matched");
		note_failure(r, name, 0, "unknown user");
		login_event(r, name, password, LOGIN_FAIL);
		return http_err(out, 401, "wrong name or password");
	}
	if (crypto_pwhash_str_verify(u.pwhash, password, strlen(password)) != 0) {
		note_failure(r, name, 0, "wrong password");
		login_event(r, name, password, LOGIN_FAIL);
		status = http_err(out, 401, "wrong name or password");
		goto done;
	}
	if (code == NULL || *code == '\0') {
		*out = json_pack("{s:s, s:b}", "error", "TOTP code required", "need_totp", 1);
		status = 401;
		goto done;
	}
	secret = console_secret_open(r->srv->secret_key, u.totp_secret, &plain_stored);
	if (secret == NULL) {
		/* sealed under another key: console_key_file differs from the one
		 * the user was made with (a second node without a copy) */
		log_err("console: the TOTP secret of %s cannot be opened with the console key;"
		    " does this node have the key file the user was created with?", name);
		status = http_err(out, 500, "the TOTP secret cannot be read; see the log");
		goto done;
	}
	if (http_totp_check(secret, code, time(NULL), &step) < 0) {
		note_failure(r, name, 0, "wrong TOTP code");
		login_event(r, name, NULL, LOGIN_FAIL);
		*out = json_pack("{s:s, s:b}", "error", "wrong TOTP code", "need_totp", 1);
		status = 401;
		goto done;
	}
	if ((rc = store_cuser_totp_use(r->st, name, step)) != 0) {
		if (rc < 0) {
			status = http_err(out, 500, "store error");
			goto done;
		}
		note_failure(r, name, 0, "TOTP code used before");
		login_event(r, name, NULL, LOGIN_FAIL);
		*out = json_pack("{s:s, s:b}", "error", "this TOTP code was already used",
		    "need_totp", 1);
		status = 401;
		goto done;
	}
	if (guard_check(r, name, 1, why, sizeof(why)) != 0) {
		note_failure(r, name, 1, why);
		login_event(r, name, NULL, LOGIN_REFUSED);
		r->user.name = xstrdup(name);
		http_audit(r, "login_refused", name, why);
		status = http_err(out, 429, "login refused; contact your administrator");
		goto done;
	}
	status = start_session(r, &u, out);
	if (status == 200) {
		login_event(r, name, NULL, LOGIN_OK);
		r->user.name = xstrdup(u.name);
		http_audit(r, "login", u.name, NULL);
		/* stored before sealing: seal it now */
		if (plain_stored) {
			char *sealed = console_secret_seal(r->srv->secret_key, secret);

			if (store_cuser_reseal_totp(r->st, name, u.totp_secret, sealed) < 0)
				log_warn("console: could not seal the TOTP secret of %s", name);
			free(sealed);
		}
	}
done:
	if (secret != NULL) {
		sodium_memzero(secret, strlen(secret));
		free(secret);
	}
	console_user_clear(&u);
	return status;
}

int
http_logout(struct http_req *r, json_t **out)
{
	(void)store_csession_delete(r->st, r->sess_hash);
	http_audit(r, "logout", r->user.name, NULL);
	r->set_cookie = xasprintf(COOKIE_NAME "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
	    r->srv->cfg->console_tls ? "; Secure" : "");
	*out = NULL;
	return 204;
}
