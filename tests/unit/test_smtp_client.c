/*
 * test_smtp_client.c - the SMTP/LMTP client against real next hops.
 *
 * Most tests deliver to Postfix's smtp-sink (/usr/sbin/smtp-sink), started
 * here on a free loopback port and made to dump each message to a file, or
 * to refuse, stall or hang up with its options.  What smtp-sink cannot do
 * (STARTTLS, a refusal of one recipient out of three, per-recipient LMTP
 * failures, SIZE, SMTPUTF8, broken replies) is played by a small scripted
 * server on a thread of this process.  Every smtp-sink started is killed
 * in the teardown, on failure too, and at exit; the children also die with
 * this process (PR_SET_PDEATHSIG).  Without smtp-sink those tests are
 * skipped.  SIGPIPE is left at its default: the client must not raise it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "smtp/smtp_client.h"
#include "util/log.h"
#include "util/util.h"

#define SMTP_SINK "/usr/sbin/smtp-sink"

/* ---- helpers ---- */

static pid_t sink_pids[32];
static size_t nsink_pids;

static void
kill_sinks(void)
{
	for (size_t i = 0; i < nsink_pids; i++) {
		if (sink_pids[i] > 0) {
			kill(sink_pids[i], SIGKILL);
			waitpid(sink_pids[i], NULL, 0);
			sink_pids[i] = 0;
		}
	}
	nsink_pids = 0;
}

static int
rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		if (d == NULL)
			return -1;
		while ((e = readdir(d)) != NULL) {
			char *sub;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			sub = xasprintf("%s/%s", path, e->d_name);
			rm_rf(sub);
			free(sub);
		}
		closedir(d);
		return rmdir(path);
	}
	return unlink(path);
}

struct fixture {
	char dir[64];		/* scratch directory */
	int port;		/* smtp-sink's port */
	char sock[128];		/* smtp-sink's unix socket, when used */
	pid_t pid;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/sekisho-client-XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	kill_sinks();
	rm_rf(f->dir);
	free(f);
	return 0;
}

/* A loopback port nobody listens on right now. */
static int
free_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

static int
can_connect(const struct fixture *f)
{
	int fd, rc;

	if (f->sock[0]) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		util_strlcpy(sun.sun_path, f->sock, sizeof(sun.sun_path));
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	} else {
		struct sockaddr_in sin;
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)f->port);
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		rc = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	}
	close(fd);
	return rc == 0;
}

/*
 * Start smtp-sink with the given options (NULL-terminated), dumping each
 * message to f->dir/dump/.  On a unix socket when use_unix.  Retries with
 * another port when the one picked was taken in between.
 */
static void
sink_start(struct fixture *f, int use_unix, ...)
{
	const char *argv[40];
	char where[200], dump[128], logpath[128];
	va_list ap;
	int n = 0;

	if (access(SMTP_SINK, X_OK) != 0)
		skip();
	snprintf(dump, sizeof(dump), "%s/dump/%%M.", f->dir);
	snprintf(logpath, sizeof(logpath), "%s/sink.log", f->dir);
	argv[n++] = SMTP_SINK;
	if (geteuid() == 0) {
		argv[n++] = "-u";
		argv[n++] = "root";
	}
	argv[n++] = "-d";
	argv[n++] = dump;
	va_start(ap, use_unix);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL && n < 34;)
		argv[n++] = a;
	va_end(ap);
	argv[n + 1] = "100";
	argv[n + 2] = NULL;

	for (int attempt = 0; attempt < 5; attempt++) {
		pid_t pid;
		int up = 0;

		if (use_unix) {
			snprintf(f->sock, sizeof(f->sock), "%s/lmtp.sock", f->dir);
			snprintf(where, sizeof(where), "unix:%s", f->sock);
		} else {
			f->port = free_port();
			snprintf(where, sizeof(where), "127.0.0.1:%d", f->port);
		}
		argv[n] = where;
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execv(SMTP_SINK, (char *const *)(uintptr_t)argv);
			_exit(127);
		}
		sink_pids[nsink_pids++] = pid;
		f->pid = pid;
		for (int i = 0; i < 100 && !up; i++) {
			if (waitpid(pid, NULL, WNOHANG) == pid) {
				sink_pids[--nsink_pids] = 0;
				break;
			}
			if (can_connect(f))
				up = 1;
			else
				usleep(20000);
		}
		if (up)
			return;
		if (use_unix)
			unlink(f->sock);
	}
	fail_msg("smtp-sink did not start (see %s)", logpath);
}

static struct transport_opts
opts_default(void)
{
	struct transport_opts o = {
		.helo_name = "client.sekisho.test",
		.tls = TRANSPORT_TLS_NONE,
		.ssl_ctx = NULL,
		.connect_timeout = 5,
		.reply_timeout = 5,
	};
	return o;
}

static void
tcp_hop(struct nexthop *hop, enum nexthop_kind kind, int port)
{
	char spec[64], err[256];

	snprintf(spec, sizeof(spec), "%s:127.0.0.1:%d", kind == NEXTHOP_LMTP ? "lmtp" : "smtp", port);
	assert_int_equal(nexthop_parse(spec, hop, err, sizeof(err)), 0);
}

static int
spool_with(const char *bytes, size_t len)
{
	char path[] = "/tmp/sekisho-client-msg-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(util_write_all(fd, bytes, len), 0);
	return fd;
}

/* CRLF -> LF, as smtp-sink writes its dump files. */
static char *
to_lf(const char *s, size_t len, size_t *outlen)
{
	char *o = malloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n')
			continue;
		o[n++] = s[i];
	}
	o[n] = '\0';
	*outlen = n;
	return o;
}

/* Wait for want dump files; return them sorted by name (NULL-terminated). */
static char **
dumps(const struct fixture *f, size_t want)
{
	char *dir = xasprintf("%s/dump", f->dir);
	char **names = NULL;
	size_t n = 0;

	for (int i = 0; i < 100; i++) {
		struct dirent **ents;
		int k = scandir(dir, &ents, NULL, alphasort);
		n = 0;
		free(names);
		names = calloc((size_t)(k > 0 ? k : 0) + 1, sizeof(*names));
		for (int j = 0; j < k; j++) {
			if (ents[j]->d_name[0] != '.')
				names[n++] = xasprintf("%s/%s", dir, ents[j]->d_name);
			free(ents[j]);
		}
		if (k >= 0)
			free(ents);
		if (n >= want && want > 0)
			break;
		if (want == 0 && i >= 10)
			break;
		for (size_t j = 0; j < n; j++)
			free(names[j]);
		usleep(20000);
	}
	free(dir);
	if (n != want)
		fail_msg("expected %zu dump files, found %zu", want, n);
	return names;
}

static void
free_names(char **names)
{
	for (size_t i = 0; names && names[i]; i++)
		free(names[i]);
	free(names);
}

/*
 * Check one smtp-sink dump: its X-Mail-Args and X-Rcpt-Args lines, and
 * that what follows its Received: header is exactly body (LF endings)
 * plus the empty line smtp-sink ends each dump with.
 */
static void
check_dump(const char *path, const char *mail_args, const char *const *rcpt_args,
    const char *body_crlf, size_t body_len)
{
	size_t len, blen;
	char *data = util_read_file(path, 1 << 26, &len);
	char *body = to_lf(body_crlf, body_len, &blen);
	char *want, *p;
	size_t i;

	assert_non_null(data);
	want = xasprintf("\nX-Mail-Args: %s\n", mail_args);
	assert_non_null(strstr(data, want));
	free(want);
	p = data;
	for (i = 0; rcpt_args[i] != NULL; i++) {
		want = xasprintf("\nX-Rcpt-Args: %s\n", rcpt_args[i]);
		p = strstr(p, want);
		if (p == NULL)
			fail_msg("no \"%s\" in order in %s", want, path);
		free(want);
	}
	{
		size_t nr = 0;
		for (const char *q = strstr(data, "\nX-Rcpt-Args: "); q;
		    q = strstr(q + 1, "\nX-Rcpt-Args: "))
			nr++;
		assert_int_equal(nr, i);
	}
	/* Received: is three lines: "Received: ...", "\tby ...", "\tdate" */
	p = strstr(data, "\nReceived: ");
	assert_non_null(p);
	for (int k = 0; k < 3; k++) {
		p = strchr(p + 1, '\n');
		assert_non_null(p);
	}
	p++;
	if (len - (size_t)(p - data) != blen + 1 || memcmp(p, body, blen) != 0 ||
	    p[blen] != '\n') {
		fprintf(stderr, "dump %s differs:\n--- got (%zu)\n%s\n--- want (%zu)\n%s\n",
		    path, len - (size_t)(p - data), p, blen + 1, body);
		fail();
	}
	free(body);
	free(data);
}

static struct envelope *
envelope_with(const char *from, ...)
{
	struct envelope *env = envelope_new();
	va_list ap;

	util_strlcpy(env->id, "TESTID0001", sizeof(env->id));
	env->mail_from = xstrdup(from);
	va_start(ap, from);
	for (const char *a; (a = va_arg(ap, const char *)) != NULL;)
		envelope_add_rcpt(env, a, NULL, 0);
	va_end(ap);
	return env;
}

/* ---- nexthop_parse ---- */

static void
test_nexthop_parse(void **state)
{
	static const struct {
		const char *spec;
		int ok;
		enum nexthop_kind kind;
		const char *host, *port, *unix_path, *maildir;
	} cases[] = {
		{ "smtp:mail.example.com:2525", 1, NEXTHOP_SMTP, "mail.example.com", "2525", NULL, NULL },
		{ "smtp:mail.example.com", 1, NEXTHOP_SMTP, "mail.example.com", "25", NULL, NULL },
		{ "smtp:127.0.0.1:10026", 1, NEXTHOP_SMTP, "127.0.0.1", "10026", NULL, NULL },
		{ "smtp:[::1]:2525", 1, NEXTHOP_SMTP, "::1", "2525", NULL, NULL },
		{ "smtp:[2001:db8::25]", 1, NEXTHOP_SMTP, "2001:db8::25", "25", NULL, NULL },
		{ "lmtp:dovecot.local:24", 1, NEXTHOP_LMTP, "dovecot.local", "24", NULL, NULL },
		{ "lmtp:dovecot.local", 1, NEXTHOP_LMTP, "dovecot.local", "24", NULL, NULL },
		{ "lmtp:unix:/run/dovecot/lmtp", 1, NEXTHOP_LMTP, NULL, NULL, "/run/dovecot/lmtp", NULL },
		{ "smtp:unix:/run/smtp.sock", 1, NEXTHOP_SMTP, NULL, NULL, "/run/smtp.sock", NULL },
		{ "maildir:/var/mail/sekisho", 1, NEXTHOP_MAILDIR, NULL, NULL, NULL, "/var/mail/sekisho" },
		{ "maildir:data/maildir", 1, NEXTHOP_MAILDIR, NULL, NULL, NULL, "data/maildir" },
		{ "smtp:host:smtp", 1, NEXTHOP_SMTP, "host", "smtp", NULL, NULL },
		{ "maildir:", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:host:", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:host:0", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:host:65536", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:host:25x", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:::1:25", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:[::1", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:[nothex]:25", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:[::1]x", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:bad host:25", 0, 0, NULL, NULL, NULL, NULL },
		{ "smtp:host\r\n:25", 0, 0, NULL, NULL, NULL, NULL },
		{ "lmtp:unix:", 0, 0, NULL, NULL, NULL, NULL },
		{ "http:host:80", 0, 0, NULL, NULL, NULL, NULL },
		{ "host:25", 0, 0, NULL, NULL, NULL, NULL },
		{ "", 0, 0, NULL, NULL, NULL, NULL },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		struct nexthop hop;
		char err[256] = "";
		int rc = nexthop_parse(cases[i].spec, &hop, err, sizeof(err));

		if (!cases[i].ok) {
			if (rc != -1 || err[0] == '\0')
				fail_msg("\"%s\" should not parse", cases[i].spec);
			assert_null(hop.host);
			assert_null(hop.port);
			nexthop_clear(&hop);
			continue;
		}
		if (rc != 0)
			fail_msg("\"%s\": %s", cases[i].spec, err);
		assert_int_equal(hop.kind, cases[i].kind);
#define SAME(field) \
		if (cases[i].field == NULL) assert_null(hop.field); \
		else assert_string_equal(hop.field, cases[i].field)
		SAME(host);
		SAME(port);
		SAME(unix_path);
		SAME(maildir);
#undef SAME
		nexthop_clear(&hop);
		assert_null(hop.host);
		nexthop_clear(&hop);	/* twice is fine */
	}
	nexthop_clear(NULL);
}

/* ---- against smtp-sink ---- */

/* Stored message bytes (CRLF, not stuffed) with the awkward dot cases. */
static const char dot_message[] =
    "From: Sender <sender@example.com>\r\n"
    "To: a@example.org, b@example.org, c@example.org\r\n"
    "Subject: dots\r\n"
    "\r\n"
    ".\r\n"			/* a lone dot: would end DATA unstuffed */
    "..\r\n"
    "...three\r\n"
    ".leading dot\r\n"
    "a.b in the middle.\r\n"
    " .after a space\r\n"
    "\r\n"
    ".\r\n"
    "8bit: \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n"
    "lone LF here\n"
    ".after lone LF\r\n"
    "last line without CRLF, then a dot-looking end .";

static void
test_deliver_three_rcpts(void **state)
{
	struct fixture *f = *state;
	struct transport_opts o = opts_default();
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512], peer[64], want[256], **files;
	int perm = -1, fd;
	static const char *const rcpts1[] = {
		"<a@example.org> NOTIFY=FAILURE,DELAY ORCPT=rfc822;A@example.org",
		"<b@example.org>",
		"<c@example.org> NOTIFY=NEVER",
		NULL,
	};
	static const char *const rcpts2[] = { "<d@example.org>", NULL };
	static const char msg2[] = "Subject: second\r\n\r\nsecond message\r\n";
	/* what smtp-sink will hold: the stored message, the lone LF made a
	 * line end, and CRLF added at the end */
	char expect[sizeof(dot_message) + 8];

	sink_start(f, 0, NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), &perm);
	if (c == NULL)
		fail_msg("connect: %s", err);
	assert_int_equal(perm, 0);
	snprintf(peer, sizeof(peer), "127.0.0.1[127.0.0.1]:%d", f->port);
	assert_string_equal(smtp_client_peer(c), peer);
	assert_false(smtp_client_tls(c));

	env = envelope_with("sender@example.com", "a@example.org", "b@example.org",
	    "c@example.org", NULL);
	env->body = BODY_8BITMIME;
	env->ret = DSN_RET_HDRS;
	env->envid = xstrdup("QQ+2B1");
	free(env->rcpt[0].orcpt);
	env->rcpt[0].orcpt = xstrdup("rfc822;A@example.org");
	env->rcpt[0].notify = DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY;
	env->rcpt[2].notify = DSN_NOTIFY_NEVER;
	fd = spool_with(dot_message, sizeof(dot_message) - 1);
	lseek(fd, 0, SEEK_END);	/* the client reads from the start anyway */
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	snprintf(want, sizeof(want), "%s said: 250 2.0.0 Ok (in reply to end of DATA)", peer);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(env->rcpt[i].status, RCPT_DELIVERED);
		assert_string_equal(env->rcpt[i].reply, want);
	}
	close(fd);

	/* the same connection carries a second message; delivered ones are
	 * not sent again */
	assert_int_equal(smtp_client_reset(c), 0);
	envelope_add_rcpt(env, "d@example.org", NULL, 0);
	env->body = BODY_7BIT;
	env->ret = DSN_RET_DEFAULT;
	free(env->envid);
	env->envid = NULL;
	fd = spool_with(msg2, sizeof(msg2) - 1);
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	assert_int_equal(env->rcpt[3].status, RCPT_DELIVERED);
	close(fd);
	smtp_client_close(c);

	memcpy(expect, dot_message, sizeof(dot_message) - 1);
	{
		/* lone LF -> CRLF, and a final CRLF */
		char *lf = strstr(expect, "here\n");
		size_t off = (size_t)(lf - expect) + 4, n = sizeof(dot_message) - 1;
		memmove(expect + off + 1, expect + off, n - off);
		expect[off] = '\r';
		n++;
		memcpy(expect + n, "\r\n", 2);
		n += 2;
		files = dumps(f, 2);
		/* smtp-sink names files by a random number: find which is which */
		{
			char *d0 = util_read_file(files[0], 1 << 20, NULL);
			int first_is_1 = strstr(d0, "Subject: dots") != NULL;
			free(d0);
			check_dump(files[first_is_1 ? 0 : 1],
			    "<sender@example.com> BODY=8BITMIME RET=HDRS ENVID=QQ+2B1",
			    rcpts1, expect, n);
			check_dump(files[first_is_1 ? 1 : 0], "<sender@example.com>", rcpts2,
			    msg2, sizeof(msg2) - 1);
		}
	}
	free_names(files);
	envelope_free(env);
	nexthop_clear(&hop);
}

/* A big message, streamed, without PIPELINING: every line starts with a
 * dot, so line starts fall on the client's read boundaries too. */
static void
test_big_message_no_pipelining(void **state)
{
	struct fixture *f = *state;
	struct transport_opts o = opts_default();
	size_t cap = 600 * 1024, n = 0;
	char *msg = malloc(cap), err[512], **files;
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	static const char *const rcpts[] = { "<big@example.org>", NULL };
	int fd;

	n += (size_t)snprintf(msg, cap, "Subject: big\r\n\r\n");
	for (unsigned i = 0; n + 300 < cap - 1000; i++) {
		unsigned len = (i * 7919u) % 181u;
		msg[n++] = '.';
		if (i % 97 == 0)
			msg[n++] = '.';
		for (unsigned k = 0; k < len; k++)
			msg[n++] = (char)('a' + (i + k) % 26);
		msg[n++] = '\r';
		msg[n++] = '\n';
	}
	sink_start(f, 0, "-p", NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	if (c == NULL)
		fail_msg("connect: %s", err);
	env = envelope_with("", "big@example.org", NULL);
	fd = spool_with(msg, n);
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	assert_int_equal(env->rcpt[0].status, RCPT_DELIVERED);
	smtp_client_close(c);
	files = dumps(f, 1);
	check_dump(files[0], "<>", rcpts, msg, n);
	free_names(files);
	close(fd);
	free(msg);
	envelope_free(env);
	nexthop_clear(&hop);
}

static void
lmtp_deliver(struct fixture *f, int use_unix)
{
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: lmtp\r\n\r\n.hidden dot\r\nbody\r\n";
	static const char *const rcpts[] = { "<u1@example.org>", "<u2@example.org>", NULL };
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512], spec[200], **files;
	int fd;

	if (use_unix) {
		sink_start(f, 1, "-L", NULL);
		snprintf(spec, sizeof(spec), "lmtp:unix:%s", f->sock);
		assert_int_equal(nexthop_parse(spec, &hop, err, sizeof(err)), 0);
	} else {
		sink_start(f, 0, "-L", NULL);
		tcp_hop(&hop, NEXTHOP_LMTP, f->port);
	}
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	if (c == NULL)
		fail_msg("connect: %s", err);
	if (use_unix) {
		snprintf(spec, sizeof(spec), "unix:%s", f->sock);
		assert_string_equal(smtp_client_peer(c), spec);
	}
	env = envelope_with("s@example.com", "u1@example.org", "u2@example.org", NULL);
	fd = spool_with(msg, sizeof(msg) - 1);
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	for (size_t i = 0; i < 2; i++) {
		char *want = xasprintf("%s said: 250 2.2.0 Ok (in reply to end of DATA)",
		    smtp_client_peer(c));
		assert_int_equal(env->rcpt[i].status, RCPT_DELIVERED);
		assert_string_equal(env->rcpt[i].reply, want);
		free(want);
	}
	/* LMTP replies were read one per recipient: the connection is in step */
	assert_int_equal(smtp_client_reset(c), 0);
	smtp_client_close(c);
	files = dumps(f, 1);
	check_dump(files[0], "<s@example.com>", rcpts, msg, sizeof(msg) - 1);
	{
		char *d = util_read_file(files[0], 1 << 20, NULL);
		assert_non_null(strstr(d, "X-Client-Proto: LMTP\n"));
		free(d);
	}
	free_names(files);
	close(fd);
	envelope_free(env);
	nexthop_clear(&hop);
}

static void
test_lmtp_tcp(void **state)
{
	lmtp_deliver(*state, 0);
}

static void
test_lmtp_unix(void **state)
{
	lmtp_deliver(*state, 1);
}

static void
test_rcpt_rejected(void **state)
{
	struct fixture *f = *state;
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: x\r\n\r\nx\r\n";
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512], want[300];
	int fd = spool_with(msg, sizeof(msg) - 1);

	sink_start(f, 0, "-f", "RCPT", "-B", "550 5.1.1 Recipient address rejected: User unknown", NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	if (c == NULL)
		fail_msg("connect: %s", err);
	env = envelope_with("s@example.com", "x@example.org", "y@example.org", "z@example.org", NULL);
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	snprintf(want, sizeof(want), "127.0.0.1[127.0.0.1]:%d said: 550 5.1.1 Recipient "
	    "address rejected: User unknown (in reply to RCPT TO)", f->port);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(env->rcpt[i].status, RCPT_FAILED);
		assert_string_equal(env->rcpt[i].reply, want);
	}
	assert_int_equal(smtp_client_reset(c), 0);
	smtp_client_close(c);
	free_names(dumps(f, 0));
	envelope_free(env);
	nexthop_clear(&hop);
	kill_sinks();

	/* a soft refusal keeps them pending, with the reply */
	sink_start(f, 0, "-r", "RCPT", NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	assert_non_null(c);
	env = envelope_with("s@example.com", "x@example.org", NULL);
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	assert_int_equal(env->rcpt[0].status, RCPT_PENDING);
	snprintf(want, sizeof(want), "127.0.0.1[127.0.0.1]:%d said: 450 4.3.0 Error: "
	    "command failed (in reply to RCPT TO)", f->port);
	assert_string_equal(env->rcpt[0].reply, want);
	smtp_client_close(c);
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

static void
test_end_of_data_rejected(void **state)
{
	struct fixture *f = *state;
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: x\r\n\r\nx\r\n";
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512], want[300];
	int fd = spool_with(msg, sizeof(msg) - 1);

	sink_start(f, 0, "-f", ".", "-B", "554 5.7.1 Message rejected as spam", NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	assert_non_null(c);
	env = envelope_with("s@example.com", "x@example.org", "y@example.org", NULL);
	env->rcpt[1].status = RCPT_DELIVERED;	/* done before: not sent */
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	snprintf(want, sizeof(want), "127.0.0.1[127.0.0.1]:%d said: 554 5.7.1 Message "
	    "rejected as spam (in reply to end of DATA)", f->port);
	assert_int_equal(env->rcpt[0].status, RCPT_FAILED);
	assert_string_equal(env->rcpt[0].reply, want);
	assert_int_equal(env->rcpt[1].status, RCPT_DELIVERED);
	assert_null(env->rcpt[1].reply);
	smtp_client_close(c);
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

static void
test_helo_fallback(void **state)
{
	struct fixture *f = *state;
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: old\r\n\r\n.x\r\n";
	static const char *const rcpts[] = { "<x@example.org>", NULL };
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512], **files;
	int fd = spool_with(msg, sizeof(msg) - 1);

	/* no ESMTP at all: EHLO is an unknown command */
	sink_start(f, 0, "-e", NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	if (c == NULL)
		fail_msg("connect: %s", err);
	env = envelope_with("s@example.com", "x@example.org", NULL);
	env->body = BODY_8BITMIME;	/* no BODY= to a server without 8BITMIME */
	env->rcpt[0].notify = DSN_NOTIFY_NEVER;	/* no NOTIFY= without DSN */
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	assert_int_equal(env->rcpt[0].status, RCPT_DELIVERED);
	smtp_client_close(c);
	files = dumps(f, 1);
	check_dump(files[0], "<s@example.com>", rcpts, msg, sizeof(msg) - 1);
	{
		char *d = util_read_file(files[0], 1 << 20, NULL);
		assert_non_null(strstr(d, "X-Client-Proto: SMTP\n"));
		assert_non_null(strstr(d, "X-Helo-Args: client.sekisho.test\n"));
		free(d);
	}
	free_names(files);
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

static void
test_greeting_refused(void **state)
{
	struct fixture *f = *state;
	struct transport_opts o = opts_default();
	struct nexthop hop;
	char err[512], want[300];
	int perm = 0;

	sink_start(f, 0, "-f", "CONNECT", "-B", "554 5.7.1 go away", NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	assert_null(smtp_client_connect(&hop, &o, err, sizeof(err), &perm));
	snprintf(want, sizeof(want), "5.7.1 127.0.0.1[127.0.0.1]:%d said: 554 5.7.1 go away "
	    "(in reply to initial greeting)", f->port);
	assert_string_equal(err, want);
	assert_int_equal(perm, 1);
	nexthop_clear(&hop);
}

static void
test_connection_refused(void **state)
{
	struct transport_opts o = opts_default();
	struct nexthop hop;
	char err[512], want[300];
	int perm = 1, port = free_port();

	(void)state;
	tcp_hop(&hop, NEXTHOP_SMTP, port);
	assert_null(smtp_client_connect(&hop, &o, err, sizeof(err), &perm));
	snprintf(want, sizeof(want), "4.4.1 connect to 127.0.0.1[127.0.0.1]:%d: "
	    "Connection refused", port);
	assert_string_equal(err, want);
	assert_int_equal(perm, 0);
	nexthop_clear(&hop);

	/* a unix socket that is not there */
	assert_int_equal(nexthop_parse("lmtp:unix:/nonexistent/sekisho.sock", &hop, err,
	    sizeof(err)), 0);
	assert_null(smtp_client_connect(&hop, &o, err, sizeof(err), &perm));
	assert_string_equal(err, "4.4.1 connect to unix:/nonexistent/sekisho.sock: "
	    "No such file or directory");
	assert_int_equal(perm, 0);
	nexthop_clear(&hop);
}

/* A server that accepts the TCP connection (the kernel does) but never
 * says a word: the greeting times out after reply_timeout. */
static void
test_silent_server_times_out(void **state)
{
	struct transport_opts o = opts_default();
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	struct nexthop hop;
	char err[512], want[300];
	int64_t t0, ms;
	int perm = 1, lfd = socket(AF_INET, SOCK_STREAM, 0), port;

	(void)state;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 5), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &slen), 0);
	port = ntohs(sin.sin_port);
	tcp_hop(&hop, NEXTHOP_SMTP, port);
	o.reply_timeout = 1;
	t0 = util_mono_ms();
	assert_null(smtp_client_connect(&hop, &o, err, sizeof(err), &perm));
	ms = util_mono_ms() - t0;
	snprintf(want, sizeof(want), "4.4.2 127.0.0.1[127.0.0.1]:%d: conversation timed out "
	    "(in reply to initial greeting)", port);
	assert_string_equal(err, want);
	assert_int_equal(perm, 0);
	assert_true(ms >= 900 && ms < 4000);
	close(lfd);
	nexthop_clear(&hop);
}

/* smtp-sink waits before answering DATA: the transaction times out and
 * every recipient stays pending with the reason. */
static void
test_data_reply_times_out(void **state)
{
	struct fixture *f = *state;
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: x\r\n\r\nx\r\n";
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512], want[300];
	int64_t t0, ms;
	int fd = spool_with(msg, sizeof(msg) - 1);

	/* without PIPELINING, so that the stall is at DATA (a pipelining
	 * smtp-sink holds all its replies until DATA is answered) */
	sink_start(f, 0, "-p", "-w", "4", NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	o.reply_timeout = 1;
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	if (c == NULL)
		fail_msg("connect: %s", err);
	env = envelope_with("s@example.com", "x@example.org", "y@example.org", NULL);
	t0 = util_mono_ms();
	assert_int_equal(smtp_client_deliver(c, env, fd), -1);
	ms = util_mono_ms() - t0;
	assert_true(ms >= 900 && ms < 4000);
	snprintf(want, sizeof(want), "4.4.2 127.0.0.1[127.0.0.1]:%d: conversation timed out "
	    "(in reply to DATA)", f->port);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(env->rcpt[i].status, RCPT_PENDING);
		assert_string_equal(env->rcpt[i].reply, want);
	}
	assert_int_equal(smtp_client_reset(c), -1);	/* not usable any more */
	smtp_client_close(c);
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

static void
test_server_hangs_up(void **state)
{
	struct fixture *f = *state;
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: x\r\n\r\nx\r\n";
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512], want[300];
	int fd = spool_with(msg, sizeof(msg) - 1);

	sink_start(f, 0, "-q", "RCPT", NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	assert_non_null(c);
	env = envelope_with("s@example.com", "x@example.org", NULL);
	assert_int_equal(smtp_client_deliver(c, env, fd), -1);
	snprintf(want, sizeof(want), "4.4.2 127.0.0.1[127.0.0.1]:%d: lost connection "
	    "(in reply to RCPT TO)", f->port);
	assert_int_equal(env->rcpt[0].status, RCPT_PENDING);
	assert_string_equal(env->rcpt[0].reply, want);
	/* a broken connection refuses further work cleanly */
	assert_int_equal(smtp_client_deliver(c, env, fd), -1);
	assert_int_equal(env->rcpt[0].status, RCPT_PENDING);
	smtp_client_close(c);
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

static void
test_encrypt_without_starttls(void **state)
{
	struct fixture *f = *state;
	struct transport_opts o = opts_default();
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct nexthop hop;
	char err[512], want[300];
	int perm = 1;

	sink_start(f, 0, NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	o.tls = TRANSPORT_TLS_ENCRYPT;
	o.ssl_ctx = ctx;
	assert_null(smtp_client_connect(&hop, &o, err, sizeof(err), &perm));
	snprintf(want, sizeof(want), "4.7.4 TLS is required, but was not offered by host "
	    "127.0.0.1[127.0.0.1]:%d", f->port);
	assert_string_equal(err, want);
	assert_int_equal(perm, 0);

	/* "may" without STARTTLS on offer: plaintext is fine */
	o.tls = TRANSPORT_TLS_MAY;
	{
		struct smtp_conn *c = smtp_client_connect(&hop, &o, err, sizeof(err), &perm);
		assert_non_null(c);
		assert_false(smtp_client_tls(c));
		smtp_client_close(c);
	}
	/* "encrypt" without a TLS context is refused before connecting */
	o.tls = TRANSPORT_TLS_ENCRYPT;
	o.ssl_ctx = NULL;
	assert_null(smtp_client_connect(&hop, &o, err, sizeof(err), &perm));
	assert_true(strncmp(err, "4.7.5 ", 6) == 0);
	assert_int_equal(perm, 0);
	SSL_CTX_free(ctx);
	nexthop_clear(&hop);
}

static void
test_smtputf8_not_offered(void **state)
{
	struct fixture *f = *state;
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: =?UTF-8?B?5pel5pys?=\r\n\r\nx\r\n";
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512], want[300];
	int fd = spool_with(msg, sizeof(msg) - 1);

	sink_start(f, 0, NULL);
	tcp_hop(&hop, NEXTHOP_SMTP, f->port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	assert_non_null(c);
	env = envelope_with("\xe5\xb1\xb1\xe7\x94\xb0@example.jp", "x@example.org", NULL);
	env->smtputf8 = 1;
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	snprintf(want, sizeof(want), "5.6.7 SMTPUTF8 is required, but was not offered by "
	    "host 127.0.0.1[127.0.0.1]:%d", f->port);
	assert_int_equal(env->rcpt[0].status, RCPT_FAILED);
	assert_string_equal(env->rcpt[0].reply, want);
	/* nothing was sent: the connection is still in step */
	assert_int_equal(smtp_client_reset(c), 0);
	smtp_client_close(c);
	free_names(dumps(f, 0));
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

/* ---- a scripted next hop for what smtp-sink cannot do ---- */

enum fake_tls { FAKE_TLS_NONE, FAKE_TLS_OK, FAKE_TLS_BROKEN };

struct fake {
	int lfd, port;
	pthread_t th;
	int lmtp;
	const char *ehlo;	/* EHLO reply, CRLF lines */
	enum fake_tls tls;
	SSL_CTX *sctx;
	int max_conn;
	/* filled by the server thread; read after the join */
	char log[65536];	/* every command line received, LF after each */
	size_t loglen;
	char data[65536];	/* DATA content of the last message, as received */
	size_t datalen;
	int nconn, tls_done;
};

struct fio {
	int fd;
	SSL *ssl;
	char buf[4096];
	size_t pos, len;
};

static int
fio_getc(struct fio *io)
{
	if (io->pos == io->len) {
		int n = io->ssl ? SSL_read(io->ssl, io->buf, sizeof(io->buf))
		    : (int)read(io->fd, io->buf, sizeof(io->buf));
		if (n <= 0)
			return -1;
		io->pos = 0;
		io->len = (size_t)n;
	}
	return (unsigned char)io->buf[io->pos++];
}

/* A line with its CRLF; length, or -1 at the end. */
static int
fio_line(struct fio *io, char *line, size_t size)
{
	size_t n = 0;
	int ch;

	while ((ch = fio_getc(io)) >= 0) {
		if (n + 1 < size)
			line[n++] = (char)ch;
		if (ch == '\n')
			break;
	}
	line[n] = '\0';
	return ch < 0 && n == 0 ? -1 : (int)n;
}

static void
fio_put(struct fio *io, const char *s)
{
	if (io->ssl)
		SSL_write(io->ssl, s, (int)strlen(s));
	else
		(void)!send(io->fd, s, strlen(s), MSG_NOSIGNAL);
}

static void
fake_log(struct fake *fk, const char *line)
{
	size_t n = strcspn(line, "\r\n");

	if (fk->loglen + n + 2 < sizeof(fk->log)) {
		memcpy(fk->log + fk->loglen, line, n);
		fk->loglen += n;
		fk->log[fk->loglen++] = '\n';
		fk->log[fk->loglen] = '\0';
	}
}

static void
fake_session(struct fake *fk, int fd)
{
	struct fio io = { .fd = fd };
	char line[4096], accepted[16][128];
	int naccepted = 0;

	fio_put(&io, "220 fake.test ESMTP\r\n");
	while (fio_line(&io, line, sizeof(line)) > 0) {
		fake_log(fk, line);
		if (strncasecmp(line, "EHLO", 4) == 0 || strncasecmp(line, "LHLO", 4) == 0) {
			fio_put(&io, fk->ehlo);
		} else if (strncasecmp(line, "STARTTLS", 8) == 0) {
			fio_put(&io, "220 2.0.0 Ready to start TLS\r\n");
			if (fk->tls == FAKE_TLS_BROKEN) {
				fio_put(&io, "this is not a TLS record\r\n");
				break;
			}
			io.ssl = SSL_new(fk->sctx);
			SSL_set_fd(io.ssl, fd);
			if (SSL_accept(io.ssl) != 1)
				break;
			fk->tls_done++;
			io.pos = io.len = 0;
		} else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
			naccepted = 0;
			fio_put(&io, "250 2.1.0 Ok\r\n");
		} else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
			if (strstr(line, "reject")) {
				fio_put(&io, "550-5.1.1 The email account that you tried to reach does\r\n"
				    "550-5.1.1 not exist.\r\n"
				    "550 5.1.1 Please try again.\r\n");
			} else if (strstr(line, "defer")) {
				fio_put(&io, "450 4.2.1 Mailbox busy\r\n");
			} else {
				if (naccepted < 16)
					snprintf(accepted[naccepted++], sizeof(accepted[0]), "%.*s",
					    (int)strcspn(line + 8, "\r\n"), line + 8);
				fio_put(&io, "250 2.1.5 Ok\r\n");
			}
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			if (naccepted == 0) {
				fio_put(&io, "554 5.5.1 Error: no valid recipients\r\n");
				continue;
			}
			fio_put(&io, "354 go ahead\r\n");
			fk->datalen = 0;
			for (;;) {
				int n = fio_line(&io, line, sizeof(line));
				if (n < 0 || strcmp(line, ".\r\n") == 0)
					break;
				if (fk->datalen + (size_t)n < sizeof(fk->data)) {
					memcpy(fk->data + fk->datalen, line, (size_t)n);
					fk->datalen += (size_t)n;
				}
			}
			if (!fk->lmtp) {
				fio_put(&io, "250 2.0.0 Ok: queued as FAKE1\r\n");
			} else {
				for (int i = 0; i < naccepted; i++) {
					char *r;
					if (strstr(accepted[i], "lmtpfail"))
						r = xasprintf("552 5.2.2 %s: mailbox full\r\n",
						    accepted[i]);
					else if (strstr(accepted[i], "lmtplater"))
						r = xasprintf("452 4.2.2 %s: over quota, "
						    "try later\r\n", accepted[i]);
					else
						r = xasprintf("250 2.0.0 %s delivered\r\n",
						    accepted[i]);
					fio_put(&io, r);
					free(r);
				}
			}
			naccepted = 0;
		} else if (strncasecmp(line, "RSET", 4) == 0) {
			naccepted = 0;
			fio_put(&io, "250 2.0.0 Ok\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			fio_put(&io, "221 2.0.0 Bye\r\n");
			break;
		} else {
			fio_put(&io, "502 5.5.2 Error: command not recognized\r\n");
		}
	}
	if (io.ssl) {
		SSL_shutdown(io.ssl);
		SSL_free(io.ssl);
	}
}

static void *
fake_main(void *arg)
{
	struct fake *fk = arg;
	sigset_t set;

	/* SSL_write to a client that has gone raises SIGPIPE on this thread */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < fk->max_conn; i++) {
		struct pollfd pfd = { .fd = fk->lfd, .events = POLLIN };
		struct timeval tv = { 10, 0 };
		int fd;

		if (poll(&pfd, 1, 10000) <= 0)
			break;
		fd = accept(fk->lfd, NULL, NULL);
		if (fd < 0)
			break;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		fk->nconn++;
		fake_session(fk, fd);
		close(fd);
	}
	return NULL;
}

static void
fake_start(struct fake *fk)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);

	fk->lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fk->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fk->lfd, 5), 0);
	assert_int_equal(getsockname(fk->lfd, (struct sockaddr *)&sin, &len), 0);
	fk->port = ntohs(sin.sin_port);
	if (fk->max_conn == 0)
		fk->max_conn = 1;
	assert_int_equal(pthread_create(&fk->th, NULL, fake_main, fk), 0);
}

static void
fake_join(struct fake *fk)
{
	pthread_join(fk->th, NULL);
	close(fk->lfd);
}

/* A throw-away self-signed certificate for the scripted server. */
static SSL_CTX *
fake_server_ctx(void)
{
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY *pkey = NULL;
	X509 *x = X509_new();
	X509_NAME *name;
	SSL_CTX *ctx;

	assert_non_null(pc);
	assert_int_equal(EVP_PKEY_keygen_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pc, NID_X9_62_prime256v1), 1);
	assert_int_equal(EVP_PKEY_keygen(pc, &pkey), 1);
	EVP_PKEY_CTX_free(pc);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, pkey);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"fake.test", -1, -1, 0);
	X509_set_issuer_name(x, name);
	assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);
	ctx = SSL_CTX_new(TLS_server_method());
	assert_int_equal(SSL_CTX_use_certificate(ctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ctx, pkey), 1);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ctx;
}

static void
test_mixed_rcpt_outcomes_pipelined(void **state)
{
	struct fake fk = { .ehlo = "250-fake.test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n"
	    "250-SIZE 1000000\r\n250 8BITMIME\r\n" };
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: mixed\r\n\r\n.x\r\n";
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512], want[400], *expect_log;
	int fd = spool_with(msg, sizeof(msg) - 1);

	(void)state;
	fake_start(&fk);
	tcp_hop(&hop, NEXTHOP_SMTP, fk.port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	if (c == NULL)
		fail_msg("connect: %s", err);
	env = envelope_with("s@example.com", "ok@example.org", "reject@example.org",
	    "defer@example.org", NULL);
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	smtp_client_close(c);
	fake_join(&fk);

	assert_int_equal(env->rcpt[0].status, RCPT_DELIVERED);
	snprintf(want, sizeof(want), "127.0.0.1[127.0.0.1]:%d said: 250 2.0.0 Ok: queued as "
	    "FAKE1 (in reply to end of DATA)", fk.port);
	assert_string_equal(env->rcpt[0].reply, want);
	assert_int_equal(env->rcpt[1].status, RCPT_FAILED);
	snprintf(want, sizeof(want), "127.0.0.1[127.0.0.1]:%d said: 550-5.1.1 The email "
	    "account that you tried to reach does 550-5.1.1 not exist. 550 5.1.1 Please try "
	    "again. (in reply to RCPT TO)", fk.port);
	assert_string_equal(env->rcpt[1].reply, want);
	assert_int_equal(env->rcpt[2].status, RCPT_PENDING);
	snprintf(want, sizeof(want), "127.0.0.1[127.0.0.1]:%d said: 450 4.2.1 Mailbox busy "
	    "(in reply to RCPT TO)", fk.port);
	assert_string_equal(env->rcpt[2].reply, want);

	expect_log = xasprintf("EHLO client.sekisho.test\n"
	    "MAIL FROM:<s@example.com> SIZE=%zu\n"
	    "RCPT TO:<ok@example.org>\nRCPT TO:<reject@example.org>\n"
	    "RCPT TO:<defer@example.org>\nDATA\nQUIT\n", sizeof(msg) - 1);
	assert_string_equal(fk.log, expect_log);
	free(expect_log);
	assert_int_equal(fk.datalen, sizeof(msg));	/* one dot more */
	assert_memory_equal(fk.data, "Subject: mixed\r\n\r\n..x\r\n", fk.datalen);
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

static void
test_lmtp_per_recipient(void **state)
{
	struct fake fk = { .lmtp = 1, .ehlo = "250-fake.test\r\n250-PIPELINING\r\n"
	    "250 ENHANCEDSTATUSCODES\r\n" };
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: lmtp\r\n\r\nx\r\n";
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512], want[400];
	int fd = spool_with(msg, sizeof(msg) - 1);

	(void)state;
	fake_start(&fk);
	tcp_hop(&hop, NEXTHOP_LMTP, fk.port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	if (c == NULL)
		fail_msg("connect: %s", err);
	env = envelope_with("s@example.com", "a@example.org", "lmtpfail@example.org",
	    "reject@example.org", "lmtplater@example.org", "b@example.org", NULL);
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	assert_int_equal(smtp_client_reset(c), 0);
	smtp_client_close(c);
	fake_join(&fk);

	assert_int_equal(env->rcpt[0].status, RCPT_DELIVERED);
	snprintf(want, sizeof(want), "127.0.0.1[127.0.0.1]:%d said: 250 2.0.0 "
	    "<a@example.org> delivered (in reply to end of DATA)", fk.port);
	assert_string_equal(env->rcpt[0].reply, want);
	assert_int_equal(env->rcpt[1].status, RCPT_FAILED);
	snprintf(want, sizeof(want), "127.0.0.1[127.0.0.1]:%d said: 552 5.2.2 "
	    "<lmtpfail@example.org>: mailbox full (in reply to end of DATA)", fk.port);
	assert_string_equal(env->rcpt[1].reply, want);
	assert_int_equal(env->rcpt[2].status, RCPT_FAILED);
	assert_non_null(strstr(env->rcpt[2].reply, "(in reply to RCPT TO)"));
	assert_int_equal(env->rcpt[3].status, RCPT_PENDING);
	assert_non_null(strstr(env->rcpt[3].reply, "452 4.2.2 <lmtplater@example.org>"));
	assert_int_equal(env->rcpt[4].status, RCPT_DELIVERED);
	assert_non_null(strstr(env->rcpt[4].reply, "<b@example.org> delivered"));
	assert_true(strncmp(fk.log, "LHLO client.sekisho.test\n", 25) == 0);
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

static void
test_starttls(void **state)
{
	struct fake fk = { .ehlo = "250-fake.test\r\n250-STARTTLS\r\n250-SMTPUTF8\r\n"
	    "250-DSN\r\n250 PIPELINING\r\n", .tls = FAKE_TLS_OK };
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: tls\r\n\r\nsecret\r\n";
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512];
	int fd = spool_with(msg, sizeof(msg) - 1);

	(void)state;
	fk.sctx = fake_server_ctx();
	fake_start(&fk);
	tcp_hop(&hop, NEXTHOP_SMTP, fk.port);
	o.tls = TRANSPORT_TLS_ENCRYPT;
	o.ssl_ctx = cctx;
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	if (c == NULL)
		fail_msg("connect: %s", err);
	assert_true(smtp_client_tls(c));
	env = envelope_with("\xe5\xb1\xb1\xe7\x94\xb0@example.jp", "x@example.org", NULL);
	env->smtputf8 = 1;
	env->ret = DSN_RET_FULL;
	env->rcpt[0].notify = DSN_NOTIFY_SUCCESS | DSN_NOTIFY_FAILURE;
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	assert_int_equal(env->rcpt[0].status, RCPT_DELIVERED);
	smtp_client_close(c);
	fake_join(&fk);
	assert_int_equal(fk.tls_done, 1);
	/* EHLO again after STARTTLS; SMTPUTF8 and DSN parameters used */
	assert_string_equal(fk.log, "EHLO client.sekisho.test\nSTARTTLS\n"
	    "EHLO client.sekisho.test\n"
	    "MAIL FROM:<\xe5\xb1\xb1\xe7\x94\xb0@example.jp> SMTPUTF8 RET=FULL\n"
	    "RCPT TO:<x@example.org> NOTIFY=SUCCESS,FAILURE\nDATA\nQUIT\n");
	assert_memory_equal(fk.data, msg, sizeof(msg) - 1);
	SSL_CTX_free(fk.sctx);
	SSL_CTX_free(cctx);
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

static void
test_starttls_broken(void **state)
{
	struct fake fk = { .ehlo = "250-fake.test\r\n250 STARTTLS\r\n", .tls = FAKE_TLS_BROKEN,
	    .max_conn = 2 };
	struct transport_opts o = opts_default();
	static const char msg[] = "Subject: x\r\n\r\nx\r\n";
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512];
	int perm = 1, fd = spool_with(msg, sizeof(msg) - 1);

	(void)state;
	/* "may": the handshake fails, the client comes back without TLS */
	fake_start(&fk);
	tcp_hop(&hop, NEXTHOP_SMTP, fk.port);
	o.tls = TRANSPORT_TLS_MAY;
	o.ssl_ctx = cctx;
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	if (c == NULL)
		fail_msg("connect: %s", err);
	assert_false(smtp_client_tls(c));
	env = envelope_with("s@example.com", "x@example.org", NULL);
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	assert_int_equal(env->rcpt[0].status, RCPT_DELIVERED);
	smtp_client_close(c);
	fake_join(&fk);
	assert_int_equal(fk.nconn, 2);
	assert_string_equal(fk.log, "EHLO client.sekisho.test\nSTARTTLS\n"
	    "EHLO client.sekisho.test\nMAIL FROM:<s@example.com>\n"
	    "RCPT TO:<x@example.org>\nDATA\nQUIT\n");
	nexthop_clear(&hop);

	/* "encrypt": a temporary failure, never plaintext */
	memset(&fk, 0, sizeof(fk));
	fk.ehlo = "250-fake.test\r\n250 STARTTLS\r\n";
	fk.tls = FAKE_TLS_BROKEN;
	fk.max_conn = 1;
	fake_start(&fk);
	tcp_hop(&hop, NEXTHOP_SMTP, fk.port);
	o.tls = TRANSPORT_TLS_ENCRYPT;
	assert_null(smtp_client_connect(&hop, &o, err, sizeof(err), &perm));
	fake_join(&fk);
	assert_true(strncmp(err, "4.7.5 127.0.0.1[127.0.0.1]:", 27) == 0);
	assert_int_equal(perm, 0);
	assert_int_equal(fk.nconn, 1);
	SSL_CTX_free(cctx);
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

static void
test_size_limit(void **state)
{
	struct fake fk = { .ehlo = "250-fake.test\r\n250 SIZE 100\r\n" };
	struct transport_opts o = opts_default();
	char msg[300];
	struct nexthop hop;
	struct smtp_conn *c;
	struct envelope *env;
	char err[512];
	int fd;

	(void)state;
	memset(msg, 'x', sizeof(msg));
	memcpy(msg + sizeof(msg) - 2, "\r\n", 2);
	fd = spool_with(msg, sizeof(msg));
	fake_start(&fk);
	tcp_hop(&hop, NEXTHOP_SMTP, fk.port);
	c = smtp_client_connect(&hop, &o, err, sizeof(err), NULL);
	assert_non_null(c);
	env = envelope_with("s@example.com", "x@example.org", NULL);
	assert_int_equal(smtp_client_deliver(c, env, fd), 0);
	assert_int_equal(env->rcpt[0].status, RCPT_FAILED);
	{
		char *want = xasprintf("5.3.4 message size 300 exceeds size limit 100 of "
		    "server 127.0.0.1[127.0.0.1]:%d", fk.port);
		assert_string_equal(env->rcpt[0].reply, want);
		free(want);
	}
	smtp_client_close(c);
	fake_join(&fk);
	assert_string_equal(fk.log, "EHLO client.sekisho.test\nQUIT\n");
	envelope_free(env);
	nexthop_clear(&hop);
	close(fd);
}

/* A reply line past the limit is a protocol error, not a buffer overrun. */
static void
test_reply_too_long(void **state)
{
	char ehlo[6000];
	struct fake fk = { .ehlo = ehlo };
	struct transport_opts o = opts_default();
	struct nexthop hop;
	char err[512];
	int perm = 1;

	(void)state;
	memcpy(ehlo, "250 ", 4);
	memset(ehlo + 4, 'A', 5000);
	memcpy(ehlo + 5004, "\r\n", 3);
	fake_start(&fk);
	tcp_hop(&hop, NEXTHOP_SMTP, fk.port);
	assert_null(smtp_client_connect(&hop, &o, err, sizeof(err), &perm));
	fake_join(&fk);
	assert_non_null(strstr(err, "protocol error: reply line longer than"));
	assert_true(strncmp(err, "4.5.0 ", 6) == 0);
	assert_int_equal(perm, 0);
	nexthop_clear(&hop);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nexthop_parse),
		cmocka_unit_test_setup_teardown(test_deliver_three_rcpts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_big_message_no_pipelining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lmtp_tcp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lmtp_unix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rcpt_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_end_of_data_rejected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_helo_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_greeting_refused, setup, teardown),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_silent_server_times_out),
		cmocka_unit_test_setup_teardown(test_data_reply_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_server_hangs_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_encrypt_without_starttls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_smtputf8_not_offered, setup, teardown),
		cmocka_unit_test(test_mixed_rcpt_outcomes_pipelined),
		cmocka_unit_test(test_lmtp_per_recipient),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_starttls_broken),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_reply_too_long),
	};

	log_init("test_smtp_client", NULL, LOG_LEVEL_WARN);
	atexit(kill_sinks);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
