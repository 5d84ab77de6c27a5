/*
 * http_console.h - console accounts, shared by the API (POST /users) and
 * "sekisho console-user".
 *
 * A password is kept as an argon2id string (crypto_pwhash_str, libsodium's
 * interactive limits); a new user gets a fresh TOTP secret, which is shown
 * once (the caller prints or returns it) and then only kept in the store.
 */
#ifndef SEKISHO_HTTP_CONSOLE_H
#define SEKISHO_HTTP_CONSOLE_H

#include <stddef.h>

#include "http/http_secret.h"

struct store;

#define CONSOLE_MIN_PASSWORD	10
#define CONSOLE_MAX_PASSWORD	1024

enum console_role { ROLE_NONE = 0, ROLE_USER = 1, ROLE_APPROVER = 2, ROLE_ADMIN = 3 };

/* "admin" -> ROLE_ADMIN...; ROLE_NONE when unknown. */
enum console_role console_role_parse(const char *name);

/*
 * Create a user.  email may be NULL or "", lang NULL (ja).  On success
 * *secret and *uri (caller frees) are the TOTP secret and its otpauth URI;
 * the store keeps the secret sealed under key (http_secret.h).
 * 0 created, 1 the name is taken, -1 invalid input or store error (err).
 */
int console_user_create(struct store *st, const unsigned char key[CONSOLE_KEY_SIZE],
    const char *name, const char *password, const char *role, const char *email,
    const char *lang, char **secret, char **uri, char *err, size_t errlen);
/* A new TOTP secret for the user (their sessions end).  0, 1 no such user, -1. */
int console_user_totp_reset(struct store *st, const unsigned char key[CONSOLE_KEY_SIZE],
    const char *name, char **secret, char **uri, char *err, size_t errlen);

/* An audit row for a change made from the command line: user "cli:LOGIN",
 * address "local".  Failures are reported on stderr. */
void console_audit_cli(struct store *st, const char *action, const char *target,
    const char *detail);

#endif
