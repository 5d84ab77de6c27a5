/*
 * cmd_console_user.c - console accounts from the command line.
 *
 *   sekisho console-user add NAME --role admin|approver|user [--email ADDR] [--lang ja|en]
 *   sekisho console-user list
 *   sekisho console-user delete NAME
 *   sekisho console-user totp-reset NAME
 *
 * add reads the password from standard input (one line) and prints the new
 * TOTP secret as "totp_secret=BASE32" and "totp_uri=otpauth://..." lines
 * (for an authenticator app, or oathtool --totp -b); totp-reset prints the
 * same for a new secret and ends the user's sessions.  Each change is
 * written to the console's audit log as done by "cli:LOGIN".  The store is
 * created when it does not exist yet, so the first admin can be made
 * before sekishod has run.
 *
 * Exit: 0 done, 1 error (name taken, no such user, store), 2 usage.
 */
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "http/http_console.h"
#include "store/store.h"
#include "store/store_console.h"
#include "util/util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char cu_usage[] =
    "usage: sekisho console-user add NAME --role admin|approver|user [--email ADDR] [--lang ja|en]\n"
    "       sekisho console-user list | delete NAME | totp-reset NAME\n"
    "add reads the password (one line) from standard input.\n";

static char *
read_password(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);

	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static int
add(struct store *st, const unsigned char key[CONSOLE_KEY_SIZE], int argc, char **argv)
{
	const char *name = argv[1], *role = NULL, *email = NULL, *lang = NULL;
	char *password, *secret, *uri, err[256];
	int rc;

	for (int i = 2; i < argc; i++) {
		if (i + 1 < argc && strcmp(argv[i], "--role") == 0)
			role = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--email") == 0)
			email = argv[++i];
		else if (i + 1 < argc && strcmp(argv[i], "--lang") == 0)
			lang = argv[++i];
		else {
			fputs(cu_usage, stderr);
			return 2;
		}
	}
	if (role == NULL) {
		fputs(cu_usage, stderr);
		return 2;
	}
	if ((password = read_password()) == NULL) {
		fprintf(stderr, "sekisho: no password on standard input\n");
		return 1;
	}
	rc = console_user_create(st, key, name, password, role, email, lang, &secret, &uri,
	    err, sizeof(err));
	sodium_memzero(password, strlen(password));
	free(password);
	if (rc != 0) {
		fprintf(stderr, "sekisho: %s\n", err);
		return 1;
	}
	console_audit_cli(st, "user_add", name, role);
	printf("totp_secret=%s\ntotp_uri=%s\n", secret, uri);
	free(secret);
	free(uri);
	return 0;
}

static int
list_one(const struct console_user *u, void *arg)
{
	(void)arg;
	printf("%-24s %-9s %-3s %s\n", u->name, u->role, u->lang, u->email);
	return 0;
}

int
cmd_console_user(const struct config *cfg, int argc, char **argv)
{
	const char *sub = argc > 0 ? argv[0] : "";
	unsigned char key[CONSOLE_KEY_SIZE];
	struct store *st;
	char *secret, *uri, err[256];
	int rc = 1;

	if (strcmp(sub, "list") != 0 && (argc < 2 || (strcmp(sub, "add") != 0 && argc != 2))) {
		fputs(cu_usage, stderr);
		return 2;
	}
	if (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 &&
	    strcmp(sub, "delete") != 0 && strcmp(sub, "totp-reset") != 0) {
		fputs(cu_usage, stderr);
		return 2;
	}
	if ((st = cmd_open_store(cfg)) == NULL)
		return 1;
	/* the key that seals TOTP secrets: made here on a first add */
	if ((strcmp(sub, "add") == 0 || strcmp(sub, "totp-reset") == 0) &&
	    console_key_load(cfg, key, err, sizeof(err)) < 0) {
		fprintf(stderr, "sekisho: %s\n", err);
		store_close(st);
		return 1;
	}
	if (strcmp(sub, "add") == 0) {
		rc = add(st, key, argc, argv);
	} else if (strcmp(sub, "list") == 0) {
		printf("%-24s %-9s %-3s %s\n", "NAME", "ROLE", "LANG", "EMAIL");
		if (store_cuser_foreach(st, list_one, NULL) < 0)
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		else
			rc = 0;
	} else if (strcmp(sub, "delete") == 0) {
		int d = store_cuser_delete(st, argv[1]);

		if (d < 0)
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		else if (d == 1)
			fprintf(stderr, "sekisho: no user named %s\n", argv[1]);
		else {
			console_audit_cli(st, "user_delete", argv[1], NULL);
			printf("%s: deleted\n", argv[1]);
			rc = 0;
		}
	} else {
		if (console_user_totp_reset(st, key, argv[1], &secret, &uri, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "sekisho: %s\n", err);
		} else {
			console_audit_cli(st, "user_totp_reset", argv[1], NULL);
			printf("totp_secret=%s\ntotp_uri=%s\n", secret, uri);
			free(secret);
			free(uri);
			rc = 0;
		}
	}
	store_close(st);
	sodium_memzero(key, sizeof(key));
	return rc;
}
