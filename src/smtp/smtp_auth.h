/*
 * smtp_auth.h - the local user file for SMTP AUTH on the outbound listener.
 *
 * One "login:hash" line per user, where hash is a libsodium argon2id string
 * ($argon2id$v=19$m=...).  '#' lines and blank lines are ignored.  The file
 * is read once at start-up; verification is CPU- and memory-hard on purpose
 * and must run off the event loop.
 */
#ifndef SEKISHO_SMTP_AUTH_H
#define SEKISHO_SMTP_AUTH_H

#include <stddef.h>

struct authdb;

/* NULL + err ("file:line: ...") on a bad file. */
struct authdb *authdb_load(const char *path, char *err, size_t errlen);
void authdb_free(struct authdb *db);
size_t authdb_count(const struct authdb *db);
/* 1 when login exists and pass matches, else 0.  Takes about the same time
 * for unknown users (a dummy hash is verified) so logins cannot be probed. */
int authdb_verify(const struct authdb *db, const char *login, const char *pass);
/* argon2id hash string of pass into out (crypto_pwhash_STRBYTES). 0 or -1. */
int authdb_hash(const char *pass, char *out, size_t outlen);

#endif
