/*
 * cmd_hold.c - sekisho hold list [--all] | show ID | cancel ID | release ID
 *                            | link URL [--comment TEXT]
 *
 * Held outbound mail (src/outbound): list shows what still waits (--all:
 * every hold on record, decided ones with who decided); cancel recalls a
 * message (it is never delivered; a running sekishod removes it), release
 * sends it now (a running sekishod delivers it within queue_scan_interval).
 * The same outbound_act() decides as the signed links do, so a hold can be
 * decided once, by whoever comes first.
 *
 * link takes a signed link from a notice (".../link/TOKEN?action=ACTION")
 * and does what clicking it does, through outbound_link_act(): for an
 * admin acting on a user's behalf, and for tests of the links end to end.
 */
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "outbound/outbound.h"
#include "queue/queue_digest.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "store/store_outbound.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
when(int64_t ms, char *buf, size_t len)
{
	if (ms <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	util_local_time(ms, "%Y-%m-%d %H:%M:%S", buf, len);
}

/* One line per hold: id, kind, status, until, sender, subject. */
int
cmd_hold_print(const struct store_hold *h, void *arg)
{
	struct cmd_hold_list *la = arg;
	struct queue_info qi;
	char until[32];

	if (la->kind && strcmp(h->kind, la->kind) != 0)
		return 0;
	memset(&qi, 0, sizeof(qi));
	store_msg_get(la->st, h->msg_id, NULL, &qi);
	when(strcmp(h->kind, "hold") == 0 ? h->release_at : h->deadline_at, until,
	    sizeof(until));
	printf("%-20s %-8s %-9s %-19s %5.1f <%s> %s", h->msg_id, h->kind, h->status, until,
	    h->risk, h->sender ? h->sender : "", qi.subject ? qi.subject : "");
	if (strcmp(h->status, "held") != 0)
		printf(" [by %s%s%s]", h->decided_by ? h->decided_by : "-",
		    h->comment ? ": " : "", h->comment ? h->comment : "");
	printf("\n");
	queue_info_clear(&qi);
	la->n++;
	return 0;
}

/* Decide with outbound_act and say what happened.  Exit code. */
int
cmd_hold_act(struct store *st, const char *id, const char *action, const char *comment)
{
	const char *user = getenv("USER");
	char *actor = xasprintf("cli:%s", user && *user ? user : "root");
	int rc = outbound_act(st, id, action, actor, comment);

	free(actor);
	if (rc < 0) {
		fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		return 1;
	}
	if (rc == 1) {
		struct store_hold h;
		if (store_hold_get(st, id, &h) == 0) {
			fprintf(stderr, "sekisho: %s: a %s that is %s cannot be %s\n", id, h.kind,
			    h.status, action);
			store_hold_clear(&h);
		} else {
			fprintf(stderr, "sekisho: %s: no such held message\n", id);
		}
		return 1;
	}
	printf("%s: %s\n", id, strcmp(action, "cancel") == 0 ? "cancelled (not sent)" :
	    strcmp(action, "reject") == 0 ? "rejected (not sent)" :
	    strcmp(action, "approve") == 0 ? "approved (sent)" : "released (sent)");
	return 0;
}

/* Split ".../link/TOKEN?action=ACTION" (or "TOKEN ACTION" parts). */
static int
parse_link(const char *url, char *token, size_t tlen, char *action, size_t alen)
{
	const char *t = strstr(url, "/link/"), *q;

	t = t ? t + 6 : url;
	q = strstr(t, "?action=");
	if (q == NULL || (size_t)(q - t) >= tlen || strlen(q + 8) >= alen)
		return -1;
	memcpy(token, t, (size_t)(q - t));
	token[q - t] = '\0';
	snprintf(action, alen, "%s", q + 8);
	return 0;
}

static int
link_act(struct store *st, int argc, char **argv)
{
	char token[128], action[32];
	const char *comment = NULL;
	int rc;

	if (argc > 3 && strcmp(argv[2], "--comment") == 0)
		comment = argv[3];
	if (parse_link(argv[1], token, sizeof(token), action, sizeof(action)) < 0) {
		fprintf(stderr, "sekisho: not a sekisho link: %s\n", argv[1]);
		return 2;
	}
	rc = outbound_link_act(st, token, action, NULL, comment);
	if (rc < 0) {
		fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		return 1;
	}
	if (rc == 1) {
		fprintf(stderr, "sekisho: the link is unknown, used, expired, or its mail is no "
		    "longer held\n");
		return 1;
	}
	printf("%s: done\n", action);
	return 0;
}

static int
show(struct store *st, const char *id)
{
	struct store_hold h;
	struct envelope *env = NULL;
	struct queue_info qi;
	char t[32];
	int rc = store_hold_get(st, id, &h);

	if (rc != 0) {
		fprintf(stderr, "sekisho: %s: %s\n", id, rc < 0 ? store_errmsg(st) :
		    "no such hold");
		return 1;
	}
	memset(&qi, 0, sizeof(qi));
	printf("id: %s\nkind: %s\nstatus: %s\nsender: <%s>\nrisk: %.1f %s\n", h.msg_id,
	    h.kind, h.status, h.sender ? h.sender : "", h.risk, h.reasons ? h.reasons : "");
	when(h.created_ms, t, sizeof(t));
	printf("held: %s\n", t);
	when(h.release_at, t, sizeof(t));
	printf("release at: %s\n", t);
	when(h.deadline_at, t, sizeof(t));
	printf("deadline: %s\n", t);
	if (h.approvers && *h.approvers)
		printf("approvers: %s\n", h.approvers);
	if (store_msg_get(st, id, &env, &qi) == 0) {
		printf("subject: %s\n", qi.subject ? qi.subject : "");
		for (size_t i = 0; i < env->nrcpt; i++)
			printf("recipient: <%s>\n", env->rcpt[i].addr);
	}
	if (strcmp(h.status, "held") != 0) {
		when(h.decided_ms, t, sizeof(t));
		printf("decided: %s by %s%s%s\n", t, h.decided_by ? h.decided_by : "-",
		    h.comment ? ": " : "", h.comment ? h.comment : "");
	}
	envelope_free(env);
	queue_info_clear(&qi);
	store_hold_clear(&h);
	return 0;
}

int
cmd_hold(const struct config *cfg, int argc, char **argv)
{
	static const char use[] =
	    "usage: sekisho hold list [--all] | show ID | cancel ID | release ID |\n"
	    "       link URL [--comment TEXT]\n";
	struct store *st = NULL;
	struct spool *sp = NULL;
	const char *sub = argc > 0 ? argv[0] : "";
	int rc = 1;

	if (strcmp(sub, "list") != 0 && argc < 2) {
		fputs(use, stderr);
		return 2;
	}
	queue_digest_setup(cfg);	/* a digest's "not spam" link learns */
	if (cmd_open_state(cfg, &st, &sp) < 0)
		return 1;
	if (strcmp(sub, "list") == 0) {
		struct cmd_hold_list la = { st, NULL, 0 };
		int all = argc > 1 && strcmp(argv[1], "--all") == 0;
		printf("%-20s %-8s %-9s %-19s %5s %s\n", "ID", "KIND", "STATUS", "UNTIL", "RISK",
		    "SENDER SUBJECT");
		if (store_hold_foreach(st, all ? NULL : "held", cmd_hold_print, &la) < 0)
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		else {
			printf("-- %d %s\n", la.n, all ? "holds" : "held");
			rc = 0;
		}
	} else if (strcmp(sub, "show") == 0) {
		rc = show(st, argv[1]);
	} else if (strcmp(sub, "link") == 0) {
		rc = link_act(st, argc, argv);
	} else if (strcmp(sub, "cancel") == 0 || strcmp(sub, "release") == 0) {
		rc = cmd_hold_act(st, argv[1], sub, NULL);
	} else {
		fputs(use, stderr);
		rc = 2;
	}
	store_close(st);
	spool_close(sp);
	return rc;
}
