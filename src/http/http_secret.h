/*
 * http_secret.h - console users' TOTP secrets, sealed in the store.
 *
 * A TOTP secret is what a code is made from: whoever reads it can log in
 * as that user once they have the password, so the store keeps it sealed
 * (libsodium's crypto_secretbox: XSalsa20-Poly1305, a random nonce per
 * secret) under a 32-byte key that lives in a file of its own,
 * console_key_file (default state_dir/console.key, made 0600 on first use).
 * A copy of the database, a backup or a dump, then holds no usable secret.
 * Nodes that share a store need the same key file.
 *
 * Stored form: "s1:" + base64(nonce || MAC || ciphertext).  A secret stored
 * before sealing existed (plain base32) is still read, and sealed at the
 * user's next login.
 */
#ifndef SEKISHO_HTTP_SECRET_H
#define SEKISHO_HTTP_SECRET_H

#include <stddef.h>

#include "util/config.h"

#define CONSOLE_KEY_SIZE	32

/* Read the key (creating the file when it does not exist).  0, or -1 with
 * err (unreadable, wrong size, wrong permissions). */
int console_key_load(const struct config *cfg, unsigned char key[CONSOLE_KEY_SIZE],
    char *err, size_t errlen);

/* The stored form of a secret (malloc'ed). */
char *console_secret_seal(const unsigned char key[CONSOLE_KEY_SIZE], const char *plain);

/*
 * The secret from its stored form (malloc'ed), or NULL when it cannot be
 * opened (damaged, or sealed under another key).  *plain_stored is set when
 * the stored form was the secret itself (from before sealing).
 */
char *console_secret_open(const unsigned char key[CONSOLE_KEY_SIZE], const char *stored,
    int *plain_stored);

#endif
