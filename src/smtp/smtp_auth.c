/*
 * smtp_auth.c - login:argon2id lines, verified with libsodium.
 */
#include "smtp/smtp_auth.h"
#include "util/util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct authuser {
	char *login;
	char *hash;
};

struct authdb {
	struct authuser *users;
	size_t n;
	char dummy[crypto_pwhash_STRBYTES];
};

struct authdb *
authdb_load(const char *path, char *err, size_t errlen)
{
	FILE *fp;
	struct authdb *db;
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0;

	if (sodium_init() < 0) {
		snprintf(err, errlen, "libsodium cannot start");
		return NULL;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	db = xcalloc(1, sizeof(*db));
	while (getline(&line, &cap, fp) >= 0) {
		char *p = util_trim(line), *colon;
		lineno++;
		if (*p == '\0' || *p == '#')
			continue;
		colon = strchr(p, ':');
		if (colon == NULL || colon == p ||
		    strncmp(colon + 1, "$argon2id$", 10) != 0) {
			snprintf(err, errlen, "%s:%d: expected login:$argon2id$...", path, lineno);
			free(line);
			fclose(fp);
			authdb_free(db);
			return NULL;
		}
		db->users = xrealloc(db->users, (db->n + 1) * sizeof(*db->users));
		db->users[db->n].login = xstrndup(p, (size_t)(colon - p));
		db->users[db->n].hash = xstrdup(colon + 1);
		db->n++;
	}
	free(line);
	fclose(fp);
	if (authdb_hash("sekisho-dummy-password", db->dummy, sizeof(db->dummy)) < 0) {
		snprintf(err, errlen, "cannot compute a password hash (out of memory?)");
		authdb_free(db);
		return NULL;
	}
	return db;
}

void
authdb_free(struct authdb *db)
{
	if (db == NULL)
		return;
	for (size_t i = 0; i < db->n; i++) {
		free(db->users[i].login);
		free(db->users[i].hash);
	}
	free(db->users);
	free(db);
}

size_t
authdb_count(const struct authdb *db)
{
	return db ? db->n : 0;
}

int
authdb_verify(const struct authdb *db, const char *login, const char *pass)
{
	const char *hash = db->dummy;
	int found = 0;

	for (size_t i = 0; i < db->n; i++)
		if (strcmp(db->users[i].login, login) == 0) {
			hash = db->users[i].hash;
			found = 1;
			break;
		}
	if (crypto_pwhash_str_verify(hash, pass, strlen(pass)) != 0)
		return 0;
	return found;
}

int
authdb_hash(const char *pass, char *out, size_t outlen)
{
	if (outlen < crypto_pwhash_STRBYTES || sodium_init() < 0)
		return -1;
	return crypto_pwhash_str(out, pass, strlen(pass),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE);
}
