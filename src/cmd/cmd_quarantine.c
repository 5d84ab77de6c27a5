/*
 * cmd_quarantine.c - sekisho quarantine list | show ID | release ID | delete ID
 *                    | learn ID spam|ham | digest [--now] [--to ADDR]
 *
 * Quarantined messages are messages in state QUARANTINED with their bytes
 * in the spool and their analysis (JSON) in the store.  release moves one
 * to QUEUED with its retry time now, so a running sekishod delivers it
 * within queue_scan_interval; delete removes the row, then the file; learn
 * trains the spam classifier with it.  The three are queue_admin.c, shared
 * with the console's API, and go to the console's audit log as "cli:LOGIN".
 */
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "http/http_console.h"
#include "queue/queue_admin.h"
#include "queue/queue_spool.h"
#include "queue/queue_state.h"
#include "store/store.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PREVIEW_BYTES	4096

static int
list_one(const struct envelope *env, const struct queue_info *qi, void *arg)
{
	char t[32];
	int *n = arg;

	util_local_time(env->received_ms, "%Y-%m-%d %H:%M", t, sizeof(t));
	printf("%-20s %s %6.2f <%s> %s\n", env->id, t, queue_scan_score(qi->scan), env->mail_from,
	    qi->subject ? qi->subject : "");
	(*n)++;
	return 0;
}

static int
load(struct store *st, const char *id, struct envelope **env, struct queue_info *qi)
{
	int rc = store_msg_get(st, id, env, qi);

	if (rc == 1) {
		fprintf(stderr, "sekisho: %s: no such message\n", id);
		return -1;
	}
	if (rc < 0) {
		fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		return -1;
	}
	if (qi->state != MSG_QUARANTINED) {
		fprintf(stderr, "sekisho: %s is %s, not quarantined\n", id,
		    store_state_name(qi->state));
		return -1;
	}
	return 0;
}

static void
show_symbols(const char *json)
{
	json_t *root = json ? json_loads(json, 0, NULL) : NULL;
	json_t *syms, *s;
	size_t i;

	if (root == NULL)
		return;
	printf("score: %.2f\n", json_number_value(json_object_get(root, "score")));
	syms = json_object_get(root, "symbols");
	json_array_foreach(syms, i, s)
		printf("  %-28s %7.2f  %s\n", json_string_value(json_object_get(s, "name")),
		    json_number_value(json_object_get(s, "score")),
		    json_string_value(json_object_get(s, "reason")));
	json_decref(root);
}

/* The first bytes of the message, with control characters made visible:
 * a preview must never let the message drive the admin's terminal. */
static void
preview(struct spool *sp, const char *id)
{
	char buf[PREVIEW_BYTES];
	int fd = spool_open_msg(sp, id);
	ssize_t n;

	if (fd < 0) {
		printf("(message file missing: %s)\n", strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);
	printf("--- first %d bytes ---\n", n > 0 ? (int)n : 0);
	for (ssize_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\r')
			continue;
		if (c == '\n' || c == '\t' || c >= 0x20)
			putchar(c == 0x7f ? '?' : c);
		else
			printf("^%c", c + '@');
	}
	printf("\n--- end of preview ---\n");
}

int
cmd_quarantine(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	struct spool *sp = NULL;
	struct envelope *env = NULL;
	struct queue_info qi;
	const char *sub = argc > 0 ? argv[0] : "";
	const char *id = argc > 1 ? argv[1] : NULL;
	char err[512];
	int rc = 1, n = 0;

	memset(&qi, 0, sizeof(qi));
	if (strcmp(sub, "digest") == 0)
		return cmd_quarantine_digest(cfg, argc, argv);
	if (strcmp(sub, "list") != 0 && id == NULL) {
		fprintf(stderr, "usage: sekisho quarantine list | show ID | release ID | delete ID | learn ID spam|ham\n"
		    "       sekisho quarantine digest [--now] [--to ADDR]\n");
		return 2;
	}
	if (cmd_open_state(cfg, &st, &sp) < 0)
		goto out;
	if (strcmp(sub, "list") == 0) {
		printf("%-20s %-16s %6s %s\n", "ID", "ARRIVED", "SCORE", "SENDER SUBJECT");
		if (store_msg_foreach(st, MSG_QUARANTINED, list_one, &n) < 0) {
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
			goto out;
		}
		printf("-- %d quarantined\n", n);
		rc = 0;
	} else if (strcmp(sub, "show") == 0) {
		if (load(st, id, &env, &qi) < 0)
			goto out;
		printf("id: %s\nsender: <%s>\n", env->id, env->mail_from);
		for (size_t i = 0; i < env->nrcpt; i++)
			printf("recipient: <%s>\n", env->rcpt[i].addr);
		printf("client: %s\nsubject: %s\n", env->client_addr ? env->client_addr : "",
		    qi.subject ? qi.subject : "");
		show_symbols(qi.scan);
		preview(sp, id);
		rc = 0;
	} else if (strcmp(sub, "release") == 0) {
		if (quarantine_release(st, id, err, sizeof(err)) != QADMIN_OK) {
			fprintf(stderr, "sekisho: %s\n", err);
			goto out;
		}
		console_audit_cli(st, "quarantine_release", id, NULL);
		printf("%s: released for delivery\n", id);
		rc = 0;
	} else if (strcmp(sub, "delete") == 0) {
		if (quarantine_delete(st, sp, id, err, sizeof(err)) != QADMIN_OK) {
			fprintf(stderr, "sekisho: %s\n", err);
			goto out;
		}
		console_audit_cli(st, "quarantine_delete", id, NULL);
		printf("%s: deleted\n", id);
		rc = 0;
	} else if (strcmp(sub, "learn") == 0 && argc == 3 &&
	    (strcmp(argv[2], "spam") == 0 || strcmp(argv[2], "ham") == 0)) {
		enum learn_outcome o;

		if (quarantine_learn(st, sp, id, strcmp(argv[2], "spam") == 0,
		    (unsigned)cfg->bayes_table_bits, "cli", &o, err, sizeof(err)) != QADMIN_OK) {
			fprintf(stderr, "sekisho: %s\n", err);
			goto out;
		}
		console_audit_cli(st, "quarantine_learn", id, argv[2]);
		printf("%s: %s as %s\n", id, learn_outcome_name(o), argv[2]);
		rc = 0;
	} else {
		fprintf(stderr, "usage: sekisho quarantine list | show ID | release ID | delete ID | learn ID spam|ham\n"
		    "       sekisho quarantine digest [--now] [--to ADDR]\n");
		rc = 2;
	}
out:
	envelope_free(env);
	queue_info_clear(&qi);
	store_close(st);
	spool_close(sp);
	return rc;
}
