/*
 * sekisho.c - the admin CLI.
 *
 *   sekisho [-c FILE] [-o name=value]... COMMAND [ARGS]
 *
 * It reads the same settings as sekishod (-c, -o) and so the same state:
 * the store is opened directly (SQLite allows readers and short writers
 * beside the running daemon).  Exit codes: 0 success, 1 failure, 2 usage.
 */
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "queue/queue_spool.h"
#include "smtp/smtp_auth.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: sekisho [-c FILE] [-o name=value]... COMMAND\n"
    "commands:\n"
    "  config check          validate the settings (errors as file:line)\n"
    "  config dump [-n]      print every setting (-n: only those changed)\n"
    "  queue list            messages in the queue with their recipients\n"
    "  queue show ID         envelope, state and per-recipient status\n"
    "  queue dump ID         envelope records and the stored message bytes\n"
    "  queue retry ID        deliver now instead of at the next retry time\n"
    "  queue delete ID       remove a message (no bounce)\n"
    "  scan [OPTIONS] FILE|DIR|-   run the analysis offline (see docs/scan.md)\n"
    "  quarantine list | show ID | release ID | delete ID | learn ID spam|ham\n"
    "  quarantine digest [--now] [--to ADDR]\n"
    "  hold list | show ID | cancel ID | release ID   held outbound mail\n"
    "  hold link URL         do what a signed link from a notice does\n"
    "  approval list | approve ID | reject ID [--comment TEXT]\n"
    "  directory import [--replace] FILE.csv | list   users, groups, lists\n"
    "  attachment list | show ID | revoke ID   attachments sent as download links\n"
    "  symbols [--markdown]  every symbol with its score and meaning\n"
    "  user add LOGIN        add or replace an AUTH user; password on stdin\n"
    "  learn --spam|--ham|--forget PATH...  teach the spam classifier (files, dirs, mbox)\n"
    "  password check [--user LOGIN] [--mfa]  check a password read from stdin\n"
    "  password status|changed LOGIN  the forced change set by an incident\n"
    "  audit sieve [--user U] [--json]  audit users' Sieve rules (forwarding, discard)\n"
    "  incident open USER | list | show ID | step ID N done [--note T] | close ID\n"
    "  account list-locks | lock LOGIN [--reason T] [--for 2h] | unlock LOGIN\n"
    "          | alerts [--all] [--ack ID] | logins [LOGIN]   login locks, alerts, history\n"
    "          | suspended | resume LOGIN   accounts suspended for sending (takeover)\n"
    "  console-user add NAME --role admin|approver|user [--email ADDR] [--lang ja|en]\n"
    "                        add a console user; password on stdin; prints the TOTP secret\n"
    "  console-user list | delete NAME | totp-reset NAME\n"
    "  version               print the version\n";

#define SEKISHO_VERSION "0.1.0"

struct ctx {
	struct config *cfg;
	struct store *st;
	struct spool *spool;
};

static int
open_state(struct ctx *c)
{
	return cmd_open_state(c->cfg, &c->st, &c->spool);
}

static const char *
rcpt_status_name(enum rcpt_status st)
{
	switch (st) {
	case RCPT_PENDING: return "pending";
	case RCPT_DELIVERED: return "delivered";
	case RCPT_FAILED: return "failed";
	case RCPT_BOUNCED: return "bounced";
	}
	return "unknown";
}

static int
list_one(const struct envelope *env, const struct queue_info *qi, void *arg)
{
	char when[32], next[32];
	int *count = arg;

	util_local_time(env->received_ms, "%Y-%m-%d %H:%M:%S", when, sizeof(when));
	util_local_time(qi->next_try_ms, "%Y-%m-%d %H:%M:%S", next, sizeof(next));
	printf("%-20s %9lld %s %-11s <%s>\n", env->id, (long long)env->size, when,
	    store_state_name(qi->state), env->mail_from);
	for (size_t i = 0; i < env->nrcpt; i++)
		printf("%44s %-9s <%s>%s%s\n", "", rcpt_status_name(env->rcpt[i].status),
		    env->rcpt[i].addr, env->rcpt[i].reply ? " " : "",
		    env->rcpt[i].reply ? env->rcpt[i].reply : "");
	if (qi->state == MSG_QUEUED && qi->attempts > 0)
		printf("%44s attempts %d, next try %s\n", "", qi->attempts, next);
	(*count)++;
	return 0;
}

static int
queue_list(struct ctx *c)
{
	int count = 0;

	printf("%-20s %9s %-19s %-11s %s\n", "ID", "SIZE", "ARRIVED", "STATE", "SENDER / RECIPIENTS");
	if (store_msg_foreach(c->st, 0, list_one, &count) < 0) {
		fprintf(stderr, "sekisho: %s\n", store_errmsg(c->st));
		return 1;
	}
	printf("-- %d message%s\n", count, count == 1 ? "" : "s");
	return 0;
}

static int
load(struct ctx *c, const char *id, struct envelope **env, struct queue_info *qi)
{
	int rc = store_msg_get(c->st, id, env, qi);

	if (rc == 1)
		fprintf(stderr, "sekisho: %s: no such message\n", id);
	else if (rc < 0)
		fprintf(stderr, "sekisho: %s\n", store_errmsg(c->st));
	return rc;
}

static void
print_envelope(const struct envelope *env, const struct queue_info *qi)
{
	char when[32];

	util_local_time(env->received_ms, "%Y-%m-%d %H:%M:%S", when, sizeof(when));
	printf("id: %s\n", env->id);
	printf("state: %s\n", store_state_name(qi->state));
	printf("action: %s\n", qi->action ? qi->action : "");
	printf("arrival: %s\n", when);
	printf("size: %lld\n", (long long)env->size);
	printf("listener: %s\n", env->listener ? env->listener : "");
	printf("client: %s\n", env->client_addr ? env->client_addr : "");
	printf("helo: %s\n", env->helo ? env->helo : "");
	printf("tls: %s\n", env->tls ? env->tls : "");
	printf("auth: %s\n", env->auth_user ? env->auth_user : "");
	printf("sender: <%s>\n", env->mail_from);
	printf("attempts: %d\n", qi->attempts);
	if (qi->state == MSG_QUEUED) {
		util_local_time(qi->next_try_ms, "%Y-%m-%d %H:%M:%S", when, sizeof(when));
		printf("next_try: %s\n", when);
	}
	if (qi->last_error)
		printf("last_error: %s\n", qi->last_error);
	for (size_t i = 0; i < env->nrcpt; i++)
		printf("recipient: <%s> %s%s%s\n", env->rcpt[i].addr,
		    rcpt_status_name(env->rcpt[i].status), env->rcpt[i].reply ? " " : "",
		    env->rcpt[i].reply ? env->rcpt[i].reply : "");
}

static int
queue_show(struct ctx *c, const char *id, int dump)
{
	struct envelope *env = NULL;
	struct queue_info qi;
	char buf[65536];
	ssize_t n;
	int fd;

	memset(&qi, 0, sizeof(qi));
	if (load(c, id, &env, &qi) != 0)
		return 1;
	print_envelope(env, &qi);
	if (dump) {
		printf("*** message ***\n");
		fflush(stdout);
		fd = spool_open_msg(c->spool, id);
		if (fd < 0) {
			fprintf(stderr, "sekisho: %s: message file: %s\n", id, strerror(errno));
		} else {
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				if (util_write_all(1, buf, (size_t)n) < 0)
					break;
			close(fd);
		}
		printf("*** end of message ***\n");
	}
	envelope_free(env);
	queue_info_clear(&qi);
	return 0;
}

static int
queue_retry(struct ctx *c, const char *id)
{
	struct envelope *env = NULL;
	struct queue_info qi;
	int rc = 1;

	memset(&qi, 0, sizeof(qi));
	if (load(c, id, &env, &qi) != 0)
		return 1;
	if (qi.state != MSG_QUEUED) {
		fprintf(stderr, "sekisho: %s is %s, not queued for delivery\n", id,
		    store_state_name(qi.state));
	} else {
		qi.next_try_ms = util_now_ms();
		if (store_msg_update(c->st, env, &qi) < 0)
			fprintf(stderr, "sekisho: %s\n", store_errmsg(c->st));
		else {
			printf("%s: scheduled for delivery now\n", id);
			rc = 0;
		}
	}
	envelope_free(env);
	queue_info_clear(&qi);
	return rc;
}

static int
queue_delete(struct ctx *c, const char *id)
{
	int rc = store_msg_delete(c->st, id);

	if (rc == 1) {
		fprintf(stderr, "sekisho: %s: no such message\n", id);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "sekisho: %s\n", store_errmsg(c->st));
		return 1;
	}
	/* the row is gone (durably) before the bytes */
	spool_remove(c->spool, id);
	printf("%s: deleted\n", id);
	return 0;
}

/* Read one line (the password) from stdin; never from the command line. */
static char *
read_secret(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);

	if (n <= 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static int
user_add(struct ctx *c, const char *login)
{
	char hash[crypto_pwhash_STRBYTES];
	char *pass, *tmp, *line = NULL;
	const char *path = c->cfg->auth_users_file;
	FILE *in, *out;
	size_t cap = 0, llen = strlen(login);
	int fd;

	if (*path == '\0') {
		fprintf(stderr, "sekisho: auth_users_file is not set\n");
		return 1;
	}
	if (llen == 0 || strpbrk(login, ": \t\r\n") != NULL) {
		fprintf(stderr, "sekisho: bad login name\n");
		return 1;
	}
	if (isatty(0))
		fprintf(stderr, "password for %s: ", login);
	pass = read_secret();
	if (pass == NULL || *pass == '\0') {
		fprintf(stderr, "sekisho: no password on standard input\n");
		free(pass);
		return 1;
	}
	if (authdb_hash(pass, hash, sizeof(hash)) < 0) {
		sodium_memzero(pass, strlen(pass));
		free(pass);
		fprintf(stderr, "sekisho: cannot hash the password\n");
		return 1;
	}
	sodium_memzero(pass, strlen(pass));
	free(pass);

	tmp = xasprintf("%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (out = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "sekisho: %s: %s\n", tmp, strerror(errno));
		free(tmp);
		return 1;
	}
	if ((in = fopen(path, "r")) != NULL) {
		while (getline(&line, &cap, in) >= 0)
			if (!(strncmp(line, login, llen) == 0 && line[llen] == ':'))
				fputs(line, out);
		fclose(in);
		free(line);
	}
	fprintf(out, "%s:%s\n", login, hash);
	if (fflush(out) != 0 || fsync(fileno(out)) != 0 || fclose(out) != 0 ||
	    rename(tmp, path) != 0) {
		fprintf(stderr, "sekisho: cannot write %s: %s\n", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return 1;
	}
	free(tmp);
	printf("user %s saved in %s\n", login, path);
	return 0;
}

static int
need_args(int argc, int argi, int n)
{
	if (argc - argi < n) {
		fputs(usage, stderr);
		return 0;
	}
	return 1;
}

int
main(int argc, char **argv)
{
	struct ctx c = { 0 };
	const char *cmd, *sub;
	int argi, rc = 2;

	log_init("sekisho", NULL, LOG_LEVEL_WARN);
	c.cfg = cmd_load_config(argc, argv, &argi, usage);
	if (c.cfg == NULL)
		return 1;
	if (argi >= argc) {
		fputs(usage, stderr);
		config_free(c.cfg);
		return 2;
	}
	cmd = argv[argi];
	sub = argi + 1 < argc ? argv[argi + 1] : "";

	if (strcmp(cmd, "version") == 0) {
		printf("sekisho %s\n", SEKISHO_VERSION);
		rc = 0;
	} else if (strcmp(cmd, "config") == 0 && strcmp(sub, "check") == 0) {
		/* cmd_load_config already read and validated everything */
		printf("%s: ok\n", c.cfg->config_file ? c.cfg->config_file : "built-in defaults");
		rc = 0;
	} else if (strcmp(cmd, "config") == 0 && strcmp(sub, "dump") == 0) {
		config_dump(c.cfg, stdout, argi + 2 < argc && strcmp(argv[argi + 2], "-n") == 0);
		rc = 0;
	} else if (strcmp(cmd, "queue") == 0 && *sub != '\0') {
		if (open_state(&c) < 0) {
			rc = 1;
		} else if (strcmp(sub, "list") == 0) {
			rc = queue_list(&c);
		} else if (!need_args(argc, argi, 3)) {
			rc = 2;
		} else if (strcmp(sub, "show") == 0) {
			rc = queue_show(&c, argv[argi + 2], 0);
		} else if (strcmp(sub, "dump") == 0) {
			rc = queue_show(&c, argv[argi + 2], 1);
		} else if (strcmp(sub, "retry") == 0) {
			rc = queue_retry(&c, argv[argi + 2]);
		} else if (strcmp(sub, "delete") == 0) {
			rc = queue_delete(&c, argv[argi + 2]);
		} else {
			fputs(usage, stderr);
		}
	} else if (strcmp(cmd, "scan") == 0) {
		rc = cmd_scan(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "symbols") == 0) {
		rc = cmd_symbols(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "quarantine") == 0) {
		rc = cmd_quarantine(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "hold") == 0) {
		rc = cmd_hold(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "approval") == 0) {
		rc = cmd_approval(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "directory") == 0) {
		rc = cmd_directory(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "attachment") == 0) {
		rc = cmd_attachment(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "learn") == 0) {
		rc = cmd_learn(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "password") == 0) {
		rc = cmd_password(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "audit") == 0) {
		rc = cmd_audit(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "incident") == 0) {
		rc = cmd_incident(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "account") == 0) {
		rc = cmd_account(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "console-user") == 0) {
		rc = cmd_console_user(c.cfg, argc - argi - 1, argv + argi + 1);
	} else if (strcmp(cmd, "user") == 0 && strcmp(sub, "add") == 0 &&
	    need_args(argc, argi, 3)) {
		rc = user_add(&c, argv[argi + 2]);
	} else {
		fprintf(stderr, "sekisho: unknown command '%s'\n%s", cmd, usage);
	}
	store_close(c.st);
	spool_close(c.spool);
	config_free(c.cfg);
	return rc;
}
