/*
 * sekishod.c - the daemon: SMTP listeners, queue, analysis, delivery, and
 * the web console and REST API when console_listen is set.
 *
 *   sekishod [-c FILE] [-o name=value]...
 *
 * Runs in the foreground (a service manager supervises it) and logs to
 * standard error or log_file.  SIGTERM or SIGINT stops accepting, lets the
 * queue finish what it holds, and exits; whatever is not delivered stays in
 * the store and the spool and continues at the next start.  A lock on
 * STATE_DIR/sekishod.lock keeps two daemons off the same state.
 */
#include "account/account_alert.h"
#include "account/account_service.h"
#include "cmd/common.h"
#include "detect/detect_takeover.h"
#include "http/http_server.h"
#include "outbound/outbound.h"
#include "queue/queue.h"
#include "queue/queue_digest.h"
#include "smtp/smtp_client.h"
#include "smtp/smtp_server.h"
#include "util/log.h"
#include "util/tpool.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

static const char usage[] =
    "usage: sekishod [-c FILE] [-o name=value]...\n"
    "  -c FILE        read settings from FILE (name = value lines)\n"
    "  -o name=value  override one setting (may be repeated)\n"
    "Settings are described in docs/configuration.md.\n";

static void
mainq_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mainq_run(arg);
}

static void
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("sekishod: signal %d: stopping", (int)sig);
	event_base_loopbreak(arg);
}

/* Room for thousands of sessions plus spool files and next-hop sockets. */
static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
lock_state(const struct config *cfg)
{
	char *path = config_state_path(cfg, "sekishod.lock");
	char pid[32];
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0)
		fatal("sekishod: cannot open %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		fatal("sekishod: %s is locked: another sekishod uses state_dir %s",
		    path, cfg->state_dir);
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) < 0 || util_write_all(fd, pid, strlen(pid)) < 0)
		log_warn("sekishod: cannot write %s: %s", path, strerror(errno));
	free(path);
	return fd;
}

/* Alert mails into the queue (account_alert.h). */
static int
inject_mail(void *arg, struct envelope *env, const char *msg, size_t len)
{
	return queue_inject(arg, env, msg, len, NULL);
}

int
main(int argc, char **argv)
{
	struct config *cfg;
	struct event_base *base;
	struct event *mq_ev, *sig_term, *sig_int;
	struct mainq *mq;
	struct queue *q;
	struct outbound_rules *dir_rules;
	struct smtp_server *srv;
	struct account_service *acct;
	struct http_server *console = NULL;
	enum log_level level = LOG_LEVEL_INFO;
	char err[512];
	int argi, lockfd;

	cfg = cmd_load_config(argc, argv, &argi, usage);
	if (cfg == NULL)
		return 1;
	if (argi < argc) {
		fprintf(stderr, "sekishod: unexpected argument '%s'\n%s", argv[argi], usage);
		config_free(cfg);
		return 1;
	}
	(void)log_level_parse(cfg->log_level, &level);
	if (log_init("sekishod", cfg->log_file, level) < 0)
		fatal("sekishod: cannot open log file %s: %s", cfg->log_file, strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();
	if (util_mkdirs(cfg->state_dir, 0700) < 0)
		fatal("sekishod: cannot create state_dir %s: %s", cfg->state_dir, strerror(errno));
	lockfd = lock_state(cfg);

	base = event_base_new();
	if (base == NULL)
		fatal("sekishod: cannot create the event loop");
	mq = mainq_new();
	mq_ev = event_new(base, mainq_fd(mq), EV_READ | EV_PERSIST, mainq_cb, mq);
	event_add(mq_ev, NULL);
	sig_term = evsignal_new(base, SIGTERM, signal_cb, base);
	sig_int = evsignal_new(base, SIGINT, signal_cb, base);
	event_add(sig_term, NULL);
	event_add(sig_int, NULL);

	/* the recipient checks see the directory's lists (src/outbound) */
	if ((dir_rules = outbound_rules_new(cfg, err, sizeof(err))) == NULL)
		fatal("sekishod: %s", err);
	outbound_directory_hook(dir_rules);
	/* a suspension for takeover-like mail alerts like the login guard */
	takeover_set_alert(account_alert_raise);
	q = queue_start(cfg, mq, &smtp_client_transport, err, sizeof(err));
	if (q == NULL)
		fatal("sekishod: %s", err);
	/* alert mails and the digest's "not spam" links (src/account, src/queue) */
	if (account_alert_mailer_start(cfg, inject_mail, q, err, sizeof(err)) < 0)
		fatal("sekishod: %s", err);
	queue_digest_setup(cfg);
	srv = smtp_server_new(cfg, base, q, err, sizeof(err));
	if (srv == NULL)
		fatal("sekishod: %s", err);
	acct = account_service_start(cfg, base, err, sizeof(err));
	if (acct == NULL)
		fatal("sekishod: %s", err);
	if (*cfg->console_listen != '\0' &&
	    (console = http_server_start(cfg, q, err, sizeof(err))) == NULL)
		fatal("sekishod: %s", err);
	/* console logins go through the same login guard as the mail servers' */
	http_server_set_guard(console, account_service_guard(acct));
	log_info("sekishod: ready (state_dir %s, host %s)", cfg->state_dir, cfg->myhostname);

	event_base_dispatch(base);

	http_server_stop(console);	/* before the guard it uses goes */
	account_service_stop(acct);
	account_alert_mailer_stop();
	smtp_server_close_listeners(srv);
	smtp_server_free(srv);
	queue_stop(q);
	queue_digest_setup(NULL);
	outbound_directory_hook(NULL);
	outbound_rules_free(dir_rules);
	event_free(mq_ev);
	event_free(sig_term);
	event_free(sig_int);
	mainq_free(mq);
	event_base_free(base);
	log_info("sekishod: stopped");
	close(lockfd);
	config_free(cfg);
	return 0;
}
