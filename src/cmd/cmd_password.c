/*
 * cmd_password.c - sekisho password check: the password policy, offline.
 *
 *   sekisho password check [--user LOGIN] [--mfa] [--lang ja|en] [--json]
 *   sekisho password status LOGIN      is a forced change pending?
 *   sekisho password changed LOGIN     the user has changed it: clear the mark
 *
 * The forced change is set by an incident (step 2); "changed" clears it and
 * notes it in the timeline of the login's open incident.
 *
 * The password is read from standard input, never from the command line
 * (where ps and the shell history would show it).  On a terminal, echo is
 * turned off with termios first; when that fails the command refuses to
 * read.  One line is read (CR/LF removed), at most PW_READ_MAX bytes.
 *
 * Exit code: 0 acceptable, 1 refused (the reason on standard output, in
 * Japanese or English after --lang or LANG), 2 usage, 3 the check could
 * not run (the breached list is unreadable...).  Nothing here is logged,
 * and the buffer holding the password is locked in memory and wiped.
 */
#include "account/password.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PW_READ_MAX	4096

/*
 * Read one line from fd 0 into buf (NUL-terminated).  -1 when the line is
 * longer than the buffer, stdin cannot be read, or it is a terminal whose
 * echo cannot be turned off.
 */
static int
read_password(char *buf, size_t cap, size_t *len)
{
	struct termios old, quiet;
	int tty = isatty(0), rc = 0;
	size_t n = 0;
	char c;

	if (tty) {
		if (tcgetattr(0, &old) < 0)
			return -1;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		if (tcsetattr(0, TCSAFLUSH, &quiet) < 0)
			return -1;
		fputs("password: ", stderr);
		fflush(stderr);
	}
	for (;;) {
		ssize_t r = read(0, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || c == '\n')
			break;
		if (n + 1 >= cap) {
			rc = -1;
			break;
		}
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	if (tty) {
		tcsetattr(0, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

static const char *
pick_lang(const char *opt)
{
	const char *l = opt;

	if (l == NULL)
		l = getenv("LC_ALL");
	if (l == NULL || *l == '\0')
		l = getenv("LC_MESSAGES");
	if (l == NULL || *l == '\0')
		l = getenv("LANG");
	return l != NULL && strncmp(l, "ja", 2) == 0 ? "ja" : "en";
}

static void
print_result(const struct pw_result *res, const char *lang, int json)
{
	int ja = strcmp(lang, "ja") == 0;

	if (json) {
		json_t *o = json_pack("{s:b, s:s, s:s, s:I, s:I}", "acceptable",
		    res->reason == PW_OK, "reason", pw_reason_name(res->reason),
		    "message", pw_reason_text(res->reason, lang),
		    "length", (json_int_t)res->length,
		    "min_length", (json_int_t)res->min_length);
		if (res->reason == PW_BREACHED)
			json_object_set_new(o, "breach_count", json_integer(res->count));
		json_dumpf(o, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	printf("%s", pw_reason_text(res->reason, lang));
	switch (res->reason) {
	case PW_TOO_SHORT:
		printf(ja ? "(%zu 文字。%zu 文字以上にしてください)" :
		    " (%zu characters; use at least %zu)", res->length, res->min_length);
		break;
	case PW_BREACHED:
		if (res->count > 0)
			printf(ja ? "(%lld 回)" : " (seen %lld times)", (long long)res->count);
		break;
	case PW_CONTEXT:
		printf(ja ? "(「%s」)" : " (\"%s\")", res->word);
		break;
	default:
		break;
	}
	if (res->reason != PW_OK)
		printf(ja ? "。長めの文章(パスフレーズ)をお勧めします。\n" :
		    ". A long phrase of several words is a good choice.\n");
	else
		putchar('\n');
}

static int
password_check(const struct config *cfg, int argc, char **argv)
{
	struct pw_user user = { 0 };
	struct pw_result res;
	struct pwcheck *pc;
	const char *lang = NULL;
	char err[512], *buf;
	size_t len = 0;
	int json = 0, rc;

	for (int i = 0; i < argc; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--user") == 0 && val) {
			user.login = val;
			i++;
		} else if (strcmp(argv[i], "--mfa") == 0) {
			user.mfa = 1;
		} else if (strcmp(argv[i], "--lang") == 0 && val) {
			lang = val;
			i++;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else {
			fprintf(stderr, "usage: sekisho password check [--user LOGIN] [--mfa]"
			    " [--lang ja|en] [--json] < password\n"
			    "  (the password is read from standard input, never from arguments)\n");
			return 2;
		}
	}
	lang = pick_lang(lang);
	if (sodium_init() < 0)
		fatal("sekisho: libsodium cannot start");
	pc = pwcheck_new(cfg, err, sizeof(err));
	if (pc == NULL) {
		fprintf(stderr, "sekisho: %s\n", err);
		return 3;
	}
	buf = sodium_malloc(PW_READ_MAX);
	if (buf == NULL)
		fatal("sekisho: out of memory");
	if (read_password(buf, PW_READ_MAX, &len) < 0) {
		fprintf(stderr, strcmp(lang, "ja") == 0 ?
		    "sekisho: パスワードを安全に読み取れません(端末のエコーを止められないか、長すぎます)\n" :
		    "sekisho: cannot read the password safely (terminal echo cannot be"
		    " turned off, or it is too long)\n");
		sodium_free(buf);
		pwcheck_free(pc);
		return 3;
	}
	pwcheck_run(pc, buf, len, &user, &res);
	sodium_free(buf);	/* wipes */
	pwcheck_free(pc);
	print_result(&res, lang, json);
	rc = res.reason == PW_OK ? 0 : res.reason == PW_ERROR ? 3 : 1;
	return rc;
}

/* status: 0 and a line either way; changed: 0 cleared, 1 was not marked. */
static int
password_mark(const struct config *cfg, const char *what, const char *login)
{
	struct store *st = cmd_open_store(cfg);
	struct store_incident inc;
	char reason[256];
	int64_t since = 0;
	int rc;

	if (st == NULL)
		return 1;
	if (strcmp(what, "status") == 0) {
		rc = store_pwchange_get(st, login, &since, reason, sizeof(reason));
		if (rc == 0) {
			time_t t = (time_t)(since / 1000);
			char when[32];
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
			printf("%s: password change required since %s (%s) /"
			    " パスワードの変更が必要です\n", login, when, reason);
		} else if (rc == 1) {
			printf("%s: no forced change pending / パスワード変更の要求はありません\n", login);
		}
	} else {
		rc = store_pwchange_clear(st, login);
		if (rc == 0) {
			printf("%s: forced change cleared / パスワード変更の要求を解除しました\n", login);
			if (store_incident_find_open(st, login, &inc) == 0 &&
			    store_incident_event_add(st, inc.id, 2, getenv("USER"),
			    "password_changed", "the user changed the password") < 0)
				rc = -1;
		} else if (rc == 1) {
			printf("%s: no forced change was pending / 変更の要求はありませんでした\n", login);
		}
	}
	if (rc < 0)
		fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
	store_close(st);
	return rc < 0 ? 1 : strcmp(what, "changed") == 0 ? rc : 0;
}

int
cmd_password(const struct config *cfg, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "check") == 0)
		return password_check(cfg, argc - 1, argv + 1);
	if (argc == 2 && (strcmp(argv[0], "status") == 0 || strcmp(argv[0], "changed") == 0))
		return password_mark(cfg, argv[0], argv[1]);
	fprintf(stderr, "usage: sekisho password check [--user LOGIN] [--mfa] [--lang ja|en]"
	    " [--json] < password\n"
	    "       sekisho password status LOGIN\n"
	    "       sekisho password changed LOGIN\n");
	return 2;
}
