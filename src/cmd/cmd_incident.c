/*
 * cmd_incident.c - sekisho incident: the guided response, from the shell.
 *
 *   sekisho incident open USER [--notice-dir DIR] [--actor NAME] [--json]
 *   sekisho incident list [--all] [--json]
 *   sekisho incident show ID [--json]
 *   sekisho incident step ID N done|undone [--note TEXT] [--actor NAME]
 *   sekisho incident step ID 3 --preview | --dry-run | --send [--again] [--json]
 *   sekisho incident close ID [--actor NAME]
 *
 * The work is in account/incident.c, which answers in JSON; --json prints
 * that object as it is (what the REST API will serve), otherwise it is
 * rendered for people in English and Japanese.  The actor defaults to
 * $SUDO_USER, then $USER.  The temporary password of step 2 appears in
 * this output only, once.  --notice-dir - prints the notices instead of
 * writing files.
 *
 * Exit code: 0, 1 failure (no such incident, store error), 2 usage.
 */
#include "account/incident.h"
#include "account/incident_warn.h"
#include "notify/notify_send.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "util/util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: sekisho incident open USER [--notice-dir DIR] [--actor NAME] [--json]\n"
    "       sekisho incident list [--all] [--json]\n"
    "       sekisho incident show ID [--json]\n"
    "       sekisho incident step ID N done|undone [--note TEXT] [--actor NAME]\n"
    "       sekisho incident step ID 3 --preview | --dry-run | --send [--again] [--json]\n"
    "       sekisho incident close ID [--actor NAME]\n";

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static void
print_json(json_t *o)
{
	json_dumpf(o, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
}

static void
print_account(json_t *s)
{
	json_t *v, *lock = json_object_get(s, "lock"), *sieve = json_object_get(s, "sieve");
	size_t i;

	printf("  recent logins / 最近のログイン: %zu\n",
	    json_array_size(json_object_get(s, "logins")));
	json_array_foreach(json_object_get(s, "logins"), i, v)
		printf("    %s  %-15s %-2s %-10s %s\n", str(v, "time"), str(v, "ip"),
		    str(v, "country"), str(v, "protocol"), str(v, "result"));
	if (json_is_object(lock))
		printf("  lock / ロック: since %s (%s)\n", str(lock, "since"), str(lock, "reason"));
	else
		printf("  lock / ロック: none / なし\n");
	if (json_object_get(sieve, "status") != NULL)
		printf("  sieve: %s\n", str(sieve, "status"));
	else {
		printf("  sieve rules / 振り分けルール: %zu finding(s), %lld new risky\n",
		    json_array_size(json_object_get(sieve, "findings")),
		    json_integer_value(json_object_get(sieve, "new_risky")));
		json_array_foreach(json_object_get(sieve, "findings"), i, v)
			printf("    %s %-13s %s (%s)%s\n", json_is_true(json_object_get(v, "risky")) ?
			    "RISK" : "info", str(v, "kind"), str(v, "target"), str(v, "script"),
			    json_is_true(json_object_get(v, "external")) ? " [external/社外]" : "");
	}
	printf("  mail sent / 送信したメール: %zu\n",
	    json_array_size(json_object_get(s, "sent")));
	json_array_foreach(json_object_get(s, "sent"), i, v)
		printf("    %s  %-20s %-10s %6.2f  %lld rcpt  %s\n", str(v, "time"), str(v, "id"),
		    str(v, "action"), json_number_value(json_object_get(v, "score")),
		    json_integer_value(json_object_get(v, "recipients")), str(v, "subject"));
	printf("  still in the queue / キューに残っているメール: %zu\n",
	    json_array_size(json_object_get(s, "in_queue")));
	json_array_foreach(json_object_get(s, "in_queue"), i, v) {
		json_t *sc = json_object_get(v, "score");
		printf("    %s  %-20s %-10s %6.2f  %zu rcpt  %s\n", str(v, "time"), str(v, "id"),
		    str(v, "action"), json_is_number(sc) ? json_number_value(sc) : 0.0,
		    json_array_size(json_object_get(v, "recipients")), str(v, "subject"));
	}
}

static void
print_password(json_t *s)
{
	json_t *ins = json_object_get(s, "instruction");

	printf("  locked / ロック: %s; held outbound messages / 保留した送信メール: %zu\n",
	    str(s, "lock_reason"), json_array_size(json_object_get(s, "held_messages")));
	printf("  password change required / パスワード変更を必須にしました\n");
	printf("  TEMPORARY PASSWORD (shown once, not stored) / 一時パスワード(一度だけ表示、保存しません):\n"
	    "      %s\n", str(s, "temporary_password"));
	printf("  %s\n  %s\n", str(ins, "en"), str(ins, "ja"));
}

static void
print_contacts(json_t *s)
{
	json_t *v, *n = json_object_get(s, "notices");
	size_t i;

	printf("  external recipients since %s / %s 以降の社外の宛先: %zu\n", str(s, "since"),
	    str(s, "since"), json_array_size(json_object_get(s, "external_recipients")));
	json_array_foreach(json_object_get(s, "external_recipients"), i, v)
		printf("    %-40s %lld message(s), last %s\n", str(v, "address"),
		    json_integer_value(json_object_get(v, "messages")), str(v, "last"));
	if (json_is_string(json_object_get(n, "ja"))) {
		printf("  notice (ja, ISO-2022-JP) / 注意喚起メール(日本語): %s\n", str(n, "ja"));
		printf("  notice (en) / 注意喚起メール(英語): %s\n", str(n, "en"));
	} else {
		/* --notice-dir -: the messages themselves, as they would be sent */
		json_t *t = json_object_get(s, "notice_text");
		printf("  --- notice.ja.eml (ISO-2022-JP) ---\n%s", str(t, "ja"));
		printf("  --- notice.en.eml ---\n%s", str(t, "en"));
		printf("  --- end of notices ---\n");
	}
	printf("  %s\n  文面を確認してから送信してください(例: sendmail -t < ファイル)。\n",
	    str(s, "status"));
}

static void
print_device(json_t *s)
{
	json_t *v, *c = json_object_get(s, "checklist");
	size_t i;

	printf("  rescanned / 再検査: %zu message(s), %lld flagged / 要注意 %lld 通\n",
	    json_array_size(json_object_get(s, "rescanned")),
	    json_integer_value(json_object_get(s, "flagged")),
	    json_integer_value(json_object_get(s, "flagged")));
	json_array_foreach(json_object_get(s, "rescanned"), i, v) {
		json_t *sym;
		size_t j;
		printf("    %-20s %s", str(v, "id"), str(v, "status"));
		if (json_object_get(v, "action") != NULL)
			printf(" %s %.2f", str(v, "action"),
			    json_number_value(json_object_get(v, "score")));
		json_array_foreach(json_object_get(v, "symbols"), j, sym)
			printf("%s%s", j ? "," : " ", str(sym, "name"));
		putchar('\n');
	}
	printf("  checklist / 確認項目:\n");
	for (i = 0; i < json_array_size(json_object_get(c, "en")); i++)
		printf("    [ ] %s\n        %s\n",
		    json_string_value(json_array_get(json_object_get(c, "en"), i)),
		    json_string_value(json_array_get(json_object_get(c, "ja"), i)));
}

static void
print_open(json_t *o)
{
	static const char *const titles[] = {
		"", "[1] Account and settings / アカウントと設定の確認",
		"[2] Password reset / パスワードのリセット",
		"[3] Warn the contacts / 取引先への注意喚起",
		"[4] Malware scan / マルウェアの検査",
	};
	json_t *s;
	size_t i;

	printf("incident %lld opened for %s / %s のインシデント %lld を開始しました\n",
	    json_integer_value(json_object_get(o, "id")), str(o, "login"), str(o, "login"),
	    json_integer_value(json_object_get(o, "id")));
	json_array_foreach(json_object_get(o, "steps"), i, s) {
		json_int_t n = json_integer_value(json_object_get(s, "step"));
		if (n >= 1 && n <= 4)
			printf("\n%s\n", titles[n]);
		if (json_object_get(s, "error") != NULL) {
			printf("  error: %s\n", str(s, "error"));
			continue;
		}
		switch (n) {
		case 1: print_account(s); break;
		case 2: print_password(s); break;
		case 3: print_contacts(s); break;
		case 4: print_device(s); break;
		}
	}
	printf("\nMark each step when done / 各手順の完了を記録: sekisho incident step %lld N done --note '...'\n",
	    json_integer_value(json_object_get(o, "id")));
}

static void
print_show(json_t *o)
{
	json_t *v;
	size_t i;

	printf("incident %lld  %s  %s\n", json_integer_value(json_object_get(o, "id")),
	    str(o, "login"), str(o, "status"));
	printf("opened %s by %s", str(o, "opened"), str(o, "opened_by"));
	if (strcmp(str(o, "status"), "closed") == 0)
		printf(", closed %s by %s", str(o, "closed"), str(o, "closed_by"));
	printf("\nsteps / 手順:\n");
	json_array_foreach(json_object_get(o, "steps"), i, v)
		printf("  %lld %-9s %s %s %s %s\n", json_integer_value(json_object_get(v, "step")),
		    str(v, "name"), json_is_true(json_object_get(v, "done")) ? "done 完了" :
		    "open 未完了", str(v, "done_at"), str(v, "actor"), str(v, "note"));
	printf("timeline / 経過:\n");
	json_array_foreach(json_object_get(o, "timeline"), i, v) {
		json_t *d = json_object_get(v, "detail");
		printf("  %s  %-10s step %lld  %s", str(v, "time"), str(v, "actor"),
		    json_integer_value(json_object_get(v, "step")), str(v, "what"));
		if (json_is_string(d) && *json_string_value(d))
			printf(": %s", json_string_value(d));
		putchar('\n');
	}
}

static int
parse_id(const char *s, int64_t *id)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v <= 0)
		return -1;
	*id = v;
	return 0;
}

/*
 * Step 3's warning (incident_warn.h).  The CLI has no queue: --send puts
 * the mails into the spool and the store as due messages
 * (notify_spool_inject), and a running sekishod delivers them within
 * queue_scan_interval.
 */
static int
warn_contacts(struct incident_env *ie, int64_t id, enum incident_warn_mode mode, int again,
    int json, char *err, size_t errlen)
{
	struct notify_spool_sink sink = { ie->st, ie->spool };
	json_t *o, *v;
	size_t i;

	if (mode == INCIDENT_WARN_SEND && ie->spool == NULL) {
		snprintf(err, errlen, "cannot open the spool");
		return 1;
	}
	o = incident_warn(ie, id, mode, again, notify_spool_inject, &sink, err, errlen);
	if (o == NULL)
		return 1;
	if (json) {
		print_json(o);
	} else {
		printf("incident %lld, %s: %zu external contacts / 社外の連絡先 %zu 件\n",
		    (long long)id, str(o, "login"), json_array_size(json_object_get(o, "recipients")),
		    json_array_size(json_object_get(o, "recipients")));
		json_array_foreach(json_object_get(o, "recipients"), i, v)
			printf("  %-40s %s\n", str(v, "address"), str(v, "lang"));
		if (mode == INCIDENT_WARN_PREVIEW) {
			const char *k;
			json_object_foreach(json_object_get(o, "text"), k, v)
				printf("\n--- %s ---\n%s\n", k, json_string_value(v));
		} else if (mode == INCIDENT_WARN_SEND) {
			printf("queued for %lld contacts; a running sekishod delivers them / "
			    "送信キューに入れました\n",
			    (long long)json_integer_value(json_object_get(o, "queued")));
		} else {
			printf("dry run: nothing sent / 試行のみ(送信していません)\n");
		}
	}
	json_decref(o);
	return 0;
}

int
cmd_incident(const struct config *cfg, int argc, char **argv)
{
	struct incident_env ie = { .cfg = cfg };
	const char *pos[4] = { NULL }, *note = NULL, *sub;
	char err[512], *dir = NULL;
	int json = 0, all = 0, npos = 0, rc = 1, warn = -1, again = 0;
	int64_t id = 0;
	json_t *o = NULL;

	ie.actor = getenv("SUDO_USER");
	if (ie.actor == NULL || *ie.actor == '\0')
		ie.actor = getenv("USER");
	if (argc < 1)
		goto usage;
	sub = argv[0];
	for (int i = 1; i < argc; i++) {
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--all") == 0)
			all = 1;
		else if (strcmp(argv[i], "--note") == 0 && val)
			note = argv[++i];
		else if (strcmp(argv[i], "--actor") == 0 && val)
			ie.actor = argv[++i];
		else if (strcmp(argv[i], "--preview") == 0)
			warn = INCIDENT_WARN_PREVIEW;
		else if (strcmp(argv[i], "--dry-run") == 0)
			warn = INCIDENT_WARN_DRY_RUN;
		else if (strcmp(argv[i], "--send") == 0)
			warn = INCIDENT_WARN_SEND;
		else if (strcmp(argv[i], "--again") == 0)
			again = 1;
		else if (strcmp(argv[i], "--notice-dir") == 0 && val)
			ie.notice_dir = argv[++i];
		else if (argv[i][0] == '-' || npos == 4)
			goto usage;
		else
			pos[npos++] = argv[i];
	}
	err[0] = '\0';
	if ((ie.st = cmd_open_store(cfg)) == NULL)
		return 1;
	dir = config_state_path(cfg, "spool");
	ie.spool = spool_open(dir);
	free(dir);

	if (strcmp(sub, "open") == 0 && npos == 1) {
		o = incident_open(&ie, pos[0], &id, err, sizeof(err));
		if (o != NULL) {
			if (json)
				print_json(o);
			else
				print_open(o);
			rc = err[0] ? 1 : 0;
		}
	} else if (strcmp(sub, "list") == 0 && npos == 0) {
		o = incident_list(&ie, !all, err, sizeof(err));
		if (o != NULL) {
			json_t *v;
			size_t i;
			if (json)
				print_json(o);
			else
				json_array_foreach(o, i, v)
					printf("%-5lld %-8s %-30s opened %s by %s, %lld/4 steps done\n",
					    json_integer_value(json_object_get(v, "id")),
					    str(v, "status"), str(v, "login"), str(v, "opened"),
					    str(v, "opened_by"),
					    json_integer_value(json_object_get(v, "steps_done")));
			rc = 0;
		}
	} else if (strcmp(sub, "show") == 0 && npos == 1 && parse_id(pos[0], &id) == 0) {
		o = incident_show(&ie, id, err, sizeof(err));
		if (o != NULL) {
			if (json)
				print_json(o);
			else
				print_show(o);
			rc = 0;
		}
	} else if (strcmp(sub, "step") == 0 && npos == 2 && warn >= 0 &&
	    parse_id(pos[0], &id) == 0 && strcmp(pos[1], "3") == 0) {
		rc = warn_contacts(&ie, id, (enum incident_warn_mode)warn, again, json, err,
		    sizeof(err));
	} else if (strcmp(sub, "step") == 0 && npos == 3 && parse_id(pos[0], &id) == 0 &&
	    (strcmp(pos[2], "done") == 0 || strcmp(pos[2], "undone") == 0)) {
		int step = atoi(pos[1]);
		if (incident_mark(&ie, id, step, strcmp(pos[2], "done") == 0, note, err,
		    sizeof(err)) == 0) {
			printf("incident %lld step %d %s\n", (long long)id, step, pos[2]);
			rc = 0;
		}
	} else if (strcmp(sub, "close") == 0 && npos == 1 && parse_id(pos[0], &id) == 0) {
		if (incident_close(&ie, id, err, sizeof(err)) == 0) {
			printf("incident %lld closed / インシデント %lld を終了しました\n",
			    (long long)id, (long long)id);
			rc = 0;
		}
	} else {
		store_close(ie.st);
		spool_close(ie.spool);
		goto usage;
	}
	if (err[0] != '\0')
		fprintf(stderr, "sekisho: %s\n", err);
	json_decref(o);
	store_close(ie.st);
	spool_close(ie.spool);
	return rc;
usage:
	fputs(usage, stderr);
	return 2;
}
