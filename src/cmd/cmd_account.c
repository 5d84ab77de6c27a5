/*
 * cmd_account.c - sekisho account list-locks | lock LOGIN [--reason TEXT]
 *                 [--for DURATION] | unlock LOGIN | alerts [--all] [--ack ID]
 *                 | logins [LOGIN] [--limit N] | suspended | resume LOGIN
 *
 * Works on the store directly, beside a running sekishod: a lock or unlock
 * takes effect at the policy servers' next request (they read locks from
 * the store every time).  A suspension for sending (detect_takeover.c)
 * is lifted with resume at the next message; the mail it held stays held
 * until `sekisho hold release` or `cancel`.  Exit 0 done, 1 failure (not locked, no such
 * alert, store error), 2 usage.
 */
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "store/store.h"
#include "store/store_account.h"
#include "store/store_takeover.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: sekisho account list-locks\n"
    "       sekisho account lock LOGIN [--reason TEXT] [--for 30m|2h|1d]\n"
    "       sekisho account unlock LOGIN\n"
    "       sekisho account alerts [--all] [--ack ID]\n"
    "       sekisho account logins [LOGIN] [--limit N]\n"
    "       sekisho account suspended\n"
    "       sekisho account resume LOGIN\n";

static int
print_lock(const struct store_lock *l, void *arg)
{
	char since[32], until[32];

	util_local_time(l->created_ms, "%Y-%m-%d %H:%M:%S", since, sizeof(since));
	if (l->until_ms)
		util_local_time(l->until_ms, "%Y-%m-%d %H:%M:%S", until, sizeof(until));
	else
		util_strlcpy(until, "until unlocked", sizeof(until));
	printf("%-30s since %s  %s  %s\n", l->login, since, until, l->reason);
	(*(int *)arg)++;
	return 0;
}

/* "30m", "2h", "1d", "90" (seconds) -> seconds, or -1. */
static int64_t
duration(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || v <= 0)
		return -1;
	switch (*end) {
	case '\0': case 's': return v;
	case 'm': return v * 60;
	case 'h': return v * 3600;
	case 'd': return v * 86400;
	}
	return -1;
}

static int
do_lock(struct store *st, int argc, char **argv)
{
	const char *reason = "locked by the administrator";
	int64_t until = 0, secs;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc) {
			reason = argv[++i];
		} else if (strcmp(argv[i], "--for") == 0 && i + 1 < argc) {
			if ((secs = duration(argv[++i])) < 0) {
				fputs(usage, stderr);
				return 2;
			}
			until = util_now_ms() + secs * 1000;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (store_lock_set(st, argv[1], until, reason) < 0) {
		fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		return 1;
	}
	printf("%s: locked / ロックしました\n", argv[1]);
	return 0;
}

static int
print_alert(const struct store_alert *a, void *arg)
{
	char t[32];

	util_local_time(a->time_ms, "%Y-%m-%d %H:%M:%S", t, sizeof(t));
	printf("%-6lld %s %s %-24s %-24s %-18s %s\n", (long long)a->id, t,
	    a->acknowledged ? "ack" : "NEW", a->kind, *a->login ? a->login : "-",
	    *a->ip ? a->ip : "-", a->detail);
	(*(int *)arg)++;
	return 0;
}

static int
do_alerts(struct store *st, int argc, char **argv)
{
	int all = 0, n = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0) {
			all = 1;
		} else if (strcmp(argv[i], "--ack") == 0 && i + 1 < argc) {
			rc = store_alert_ack(st, strtoll(argv[++i], NULL, 10));
			if (rc != 0) {
				fprintf(stderr, "sekisho: %s\n", rc > 0 ? "no such alert" :
				    store_errmsg(st));
				return 1;
			}
			printf("alert %s acknowledged / 確認済みにしました\n", argv[i]);
			return 0;
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (store_alert_foreach(st, !all, 1000, print_alert, &n) < 0) {
		fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		return 1;
	}
	if (n == 0)
		printf("no %salerts / %sアラートはありません\n", all ? "" : "new ",
		    all ? "" : "未確認の");
	return 0;
}

static int
print_login(const struct store_login *ev, void *arg)
{
	char t[32];

	util_local_time(ev->time_ms, "%Y-%m-%d %H:%M:%S", t, sizeof(t));
	printf("%s %-7s %-28s %-39s %-3s %-6s %s\n", t, store_login_result_name(ev->result),
	    ev->login, ev->ip, *ev->country ? ev->country : "-",
	    *ev->protocol ? ev->protocol : "-", ev->source);
	(void)arg;
	return 0;
}

static int
do_logins(struct store *st, int argc, char **argv)
{
	const char *login = NULL;
	long limit = 50;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
			limit = strtol(argv[++i], NULL, 10);
		else if (argv[i][0] != '-' && login == NULL)
			login = argv[i];
		else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (store_login_foreach(st, login, 0, 0, limit > 0 ? (size_t)limit : 50,
	    print_login, NULL) < 0) {
		fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		return 1;
	}
	return 0;
}

static int
print_suspension(const struct store_suspension *s, void *arg)
{
	char since[32];

	util_local_time(s->since_ms, "%Y-%m-%d %H:%M:%S", since, sizeof(since));
	printf("%-30s since %s  incident %lld  %s\n", s->login, since,
	    (long long)s->incident_id, s->reason);
	(*(int *)arg)++;
	return 0;
}

int
cmd_account(const struct config *cfg, int argc, char **argv)
{
	struct store *st;
	int rc = 2, n = 0;

	if (argc < 1) {
		fputs(usage, stderr);
		return 2;
	}
	if ((st = cmd_open_store(cfg)) == NULL)
		return 1;
	if (strcmp(argv[0], "list-locks") == 0) {
		rc = store_lock_foreach(st, print_lock, &n) < 0 ? 1 : 0;
		if (rc)
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		else if (n == 0)
			printf("no locked accounts / ロック中のアカウントはありません\n");
	} else if (strcmp(argv[0], "lock") == 0 && argc >= 2) {
		rc = do_lock(st, argc, argv);
	} else if (strcmp(argv[0], "unlock") == 0 && argc == 2) {
		rc = store_lock_clear(st, argv[1]);
		if (rc == 0)
			printf("%s: unlocked / ロックを解除しました\n", argv[1]);
		else if (rc == 1)
			fprintf(stderr, "sekisho: %s is not locked\n", argv[1]);
		else
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		rc = rc == 0 ? 0 : 1;
	} else if (strcmp(argv[0], "alerts") == 0) {
		rc = do_alerts(st, argc, argv);
	} else if (strcmp(argv[0], "logins") == 0) {
		rc = do_logins(st, argc, argv);
	} else if (strcmp(argv[0], "suspended") == 0 && argc == 1) {
		rc = store_suspend_foreach(st, print_suspension, &n) < 0 ? 1 : 0;
		if (rc)
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		else if (n == 0)
			printf("no accounts suspended for sending / 送信停止中のアカウントはありません\n");
	} else if (strcmp(argv[0], "resume") == 0 && argc == 2) {
		rc = store_suspend_clear(st, argv[1]);
		if (rc == 0)
			printf("%s: may send again; held mail stays held (sekisho hold) /"
			    " 送信停止を解除しました（保留中のメールは sekisho hold で処理）\n", argv[1]);
		else if (rc == 1)
			fprintf(stderr, "sekisho: %s is not suspended\n", argv[1]);
		else
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		rc = rc == 0 ? 0 : 1;
	} else {
		fputs(usage, stderr);
	}
	store_close(st);
	return rc;
}
