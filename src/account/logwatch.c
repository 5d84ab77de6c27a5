/*
 * logwatch.c - following log files for authentication failures
 * (logwatch.h).
 *
 * Each file is polled (a timer on the daemon's loop; no inotify, so NFS and
 * bind mounts work too): new bytes are read up to the end, cut into lines
 * (a partial last line waits for its end; lines over LINE_MAX_BYTES are
 * dropped), and each line is parsed by logwatch_parse(), a pure function.
 * The login in a line is the client's text: a hit needs an address that
 * parses as IPv4 or IPv6 and a login without control bytes, and the
 * Dovecot fields are found so that a login cannot forge them.  Rotation:
 * when the path's inode changes, the old file is read to its end and the
 * new one from its start; when the file got shorter (copytruncate), it is
 * read again from the start.
 *
 * A command source (the journal through journalctl, logwatch_add_command)
 * is a child process whose standard output is a non-blocking pipe, read
 * at the same polls until it would block.  At its end the child is reaped
 * and started again LOGWATCH_RESTART_MS later; logwatch_free() stops it
 * (SIGTERM, then wait).  No shell: the command is split on blanks.
 */
#include "account/logwatch.h"
#include "util/log.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#define LINE_MAX_BYTES	8192
#define MAX_COUNT	100

struct wfile {
	char *path;
	int fd;
	ino_t ino;
	dev_t dev;
	off_t off;
	char part[LINE_MAX_BYTES];
	size_t plen;
	int skipping;		/* inside an over-long line */
	char **argv;		/* a command source: its words; NULL for a file */
	pid_t pid;
	int64_t restart_at;	/* monotonic ms when a dead command runs again */
};

struct logwatch {
	struct wfile *f;
	size_t n;
	logwatch_cb cb;
	void *arg;
	struct event *ev;
	struct timeval tv;
};

/* Copy the value after key up to one of the stop bytes. */
static int
value_after(const char *line, const char *key, const char *stop, char *out, size_t len)
{
	const char *p = strstr(line, key);
	size_t n;

	if (p == NULL)
		return -1;
	p += strlen(key);
	n = strcspn(p, stop);
	if (n == 0 || n >= len)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* An IPv4 or IPv6 address (what the guard and the store key on). */
static int
valid_ip(const char *ip)
{
	unsigned char a[16];

	return inet_pton(AF_INET, ip, a) == 1 || inet_pton(AF_INET6, ip, a) == 1;
}

/* A login without control bytes. */
static int
valid_login(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int
parse_postfix(const char *line, struct logwatch_hit *h)
{
	const char *sasl = strstr(line, " authentication failed");
	const char *p, *open;

	if (sasl == NULL || strstr(line, "SASL ") == NULL)
		return 0;
	/* "HOST[IP]: SASL" - the last '[' before "SASL" */
	if ((p = strstr(line, "]: SASL ")) == NULL || p > sasl)
		return 0;
	for (open = p; open > line && *open != '['; open--)
		;
	if (*open != '[' || (size_t)(p - open - 1) >= sizeof(h->ip) || p - open - 1 == 0)
		return 0;
	memcpy(h->ip, open + 1, (size_t)(p - open - 1));
	h->ip[p - open - 1] = '\0';
	if (value_after(sasl, "sasl_username=", " ,\r\n", h->login, sizeof(h->login)) < 0 ||
	    !valid_ip(h->ip) || !valid_login(h->login))
		return 0;
	util_strlcpy(h->protocol, "smtp", sizeof(h->protocol));
	h->source = "postfix-log";
	h->count = 1;
	return 1;
}

/*
 * Dovecot puts the login the client sent between "user=<" and ">", and
 * that text is the client's: it may itself hold ">, rip=...".  So the
 * address is the last ", rip=" of the line (Dovecot writes the fields
 * after user in a fixed order and none of them is the client's), and the
 * login ends at the last ">," before it.
 */
static int
parse_dovecot(const char *line, struct logwatch_hit *h)
{
	const char *p = strstr(line, "(auth failed");
	const char *svc, *user, *rip = NULL, *end = NULL, *q;
	size_t n;

	if (p == NULL || (user = strstr(p, "user=<")) == NULL)
		return 0;
	user += 6;
	for (q = user; (q = strstr(q, ", rip=")) != NULL; q++)
		rip = q;
	if (rip == NULL)
		return 0;
	for (q = user; (q = strstr(q, ">,")) != NULL && q < rip; q++)
		end = q;
	if (end == NULL || end == user || (size_t)(end - user) >= sizeof(h->login))
		return 0;
	memcpy(h->login, user, (size_t)(end - user));
	h->login[end - user] = '\0';
	rip += 6;
	n = strcspn(rip, ", \r\n");
	if (n == 0 || n >= sizeof(h->ip))
		return 0;
	memcpy(h->ip, rip, n);
	h->ip[n] = '\0';
	if (!valid_ip(h->ip) || !valid_login(h->login))
		return 0;
	h->count = 1;
	if (strncmp(p, "(auth failed, ", 14) == 0 && isdigit((unsigned char)p[14])) {
		long c = strtol(p + 14, NULL, 10);
		h->count = c < 1 ? 1 : c > MAX_COUNT ? MAX_COUNT : (int)c;
	}
	/* "imap-login:" names the protocol */
	if ((svc = strstr(line, "-login:")) != NULL && svc < p) {
		const char *b = svc;
		while (b > line && isalnum((unsigned char)b[-1]))
			b--;
		if (svc > b && (size_t)(svc - b) < sizeof(h->protocol)) {
			memcpy(h->protocol, b, (size_t)(svc - b));
			h->protocol[svc - b] = '\0';
		}
	}
	h->source = "dovecot-log";
	return 1;
}

int
logwatch_parse(const char *line, struct logwatch_hit *hit)
{
	memset(hit, 0, sizeof(*hit));
	if (parse_postfix(line, hit) || parse_dovecot(line, hit))
		return 1;
	memset(hit, 0, sizeof(*hit));
	return 0;
}

static void
file_close(struct wfile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	f->plen = 0;
	f->skipping = 0;
}

static void
line_done(struct logwatch *lw, const char *line)
{
	struct logwatch_hit h;

	if (logwatch_parse(line, &h))
		lw->cb(&h, lw->arg);
}

static void
consume(struct logwatch *lw, struct wfile *f, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (!f->skipping) {
				f->part[f->plen] = '\0';
				line_done(lw, f->part);
			}
			f->plen = 0;
			f->skipping = 0;
		} else if (f->plen + 1 < sizeof(f->part)) {
			f->part[f->plen++] = buf[i];
		} else {
			f->skipping = 1;
		}
	}
}

static void
read_to_end(struct logwatch *lw, struct wfile *f)
{
	char buf[65536];
	ssize_t n;

	while ((n = pread(f->fd, buf, sizeof(buf), f->off)) > 0) {
		f->off += n;
		consume(lw, f, buf, (size_t)n);
	}
}

/* (Re)open f->path; at_end: start from the end (first open). */
static void
file_open(struct wfile *f, int at_end)
{
	struct stat st;

	f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return;
	if (fstat(f->fd, &st) < 0) {
		file_close(f);
		return;
	}
	f->ino = st.st_ino;
	f->dev = st.st_dev;
	f->off = at_end ? st.st_size : 0;
}

/* Start f's command with its output on a non-blocking pipe.  0 or -1. */
static int
command_start(struct wfile *f)
{
	int p[2], null;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		null = open("/dev/null", O_RDONLY);
		if (null < 0 || dup2(null, 0) < 0 || dup2(p[1], 1) < 0)
			_exit(127);
		execvp(f->argv[0], f->argv);
		_exit(127);
	}
	close(p[1]);
	(void)fcntl(p[0], F_SETFL, O_NONBLOCK);
	f->fd = p[0];
	f->pid = pid;
	f->plen = 0;
	f->skipping = 0;
	return 0;
}

static void
command_stop(struct wfile *f, int sig)
{
	int status;

	file_close(f);
	if (f->pid > 0) {
		if (sig)
			kill(f->pid, sig);
		while (waitpid(f->pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	f->pid = 0;
}

/* Read the command's output until it would block; restart it after it ended. */
static void
command_poll(struct logwatch *lw, struct wfile *f)
{
	char buf[65536];
	ssize_t n;

	if (f->fd < 0) {
		if (util_mono_ms() < f->restart_at)
			return;
		if (command_start(f) < 0) {
			log_warn("logwatch: cannot run %s: %s", f->argv[0], strerror(errno));
			f->restart_at = util_mono_ms() + LOGWATCH_RESTART_MS;
			return;
		}
	}
	while ((n = read(f->fd, buf, sizeof(buf))) > 0)
		consume(lw, f, buf, (size_t)n);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		log_warn("logwatch: %s ended; running it again in %d s", f->argv[0],
		    LOGWATCH_RESTART_MS / 1000);
		command_stop(f, 0);
		f->restart_at = util_mono_ms() + LOGWATCH_RESTART_MS;
	}
}

int
logwatch_add_command(struct logwatch *lw, const char *command, char *err, size_t errlen)
{
	struct wfile *f;
	char *copy = xstrdup(command), *save = NULL, **argv = NULL;
	size_t n = 0;

	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		argv = xrealloc(argv, (n + 2) * sizeof(*argv));
		argv[n++] = xstrdup(w);
		argv[n] = NULL;
	}
	free(copy);
	if (n == 0) {
		snprintf(err, errlen, "empty log command");
		return -1;
	}
	lw->f = xrealloc(lw->f, (lw->n + 1) * sizeof(*lw->f));
	f = &lw->f[lw->n++];
	memset(f, 0, sizeof(*f));
	f->path = xstrdup(command);
	f->argv = argv;
	f->fd = -1;
	if (command_start(f) < 0) {
		snprintf(err, errlen, "cannot run %s: %s", argv[0], strerror(errno));
		lw->n--;
		for (size_t i = 0; i < n; i++)
			free(argv[i]);
		free(argv);
		free(f->path);
		return -1;
	}
	return 0;
}

void
logwatch_poll(struct logwatch *lw)
{
	for (size_t i = 0; i < lw->n; i++) {
		struct wfile *f = &lw->f[i];
		struct stat st;

		if (f->argv != NULL) {
			command_poll(lw, f);
			continue;
		}
		if (f->fd < 0) {
			file_open(f, 0);	/* appeared since: read it all */
			if (f->fd < 0)
				continue;
		}
		if (stat(f->path, &st) == 0 && (st.st_ino != f->ino || st.st_dev != f->dev)) {
			read_to_end(lw, f);	/* the rest of the rotated file */
			file_close(f);
			file_open(f, 0);
			if (f->fd < 0)
				continue;
		} else if (fstat(f->fd, &st) == 0 && st.st_size < f->off) {
			f->off = 0;		/* truncated in place */
			f->plen = 0;
		}
		read_to_end(lw, f);
	}
}

struct logwatch *
logwatch_new(char *const *paths, logwatch_cb cb, void *arg)
{
	struct logwatch *lw = xcalloc(1, sizeof(*lw));

	for (char *const *p = paths; p && *p; p++)
		lw->n++;
	lw->f = xcalloc(lw->n ? lw->n : 1, sizeof(*lw->f));
	for (size_t i = 0; i < lw->n; i++) {
		lw->f[i].path = xstrdup(paths[i]);
		file_open(&lw->f[i], 1);
		if (lw->f[i].fd < 0)
			log_warn("logwatch: %s: %s (watched until it appears)", paths[i],
			    strerror(errno));
	}
	lw->cb = cb;
	lw->arg = arg;
	return lw;
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	logwatch_poll(arg);
}

int
logwatch_schedule(struct logwatch *lw, struct event_base *base, int interval_ms)
{
	lw->tv.tv_sec = interval_ms / 1000;
	lw->tv.tv_usec = (interval_ms % 1000) * 1000;
	lw->ev = event_new(base, -1, EV_PERSIST, timer_cb, lw);
	if (lw->ev == NULL || event_add(lw->ev, &lw->tv) < 0)
		return -1;
	return 0;
}

void
logwatch_free(struct logwatch *lw)
{
	if (lw == NULL)
		return;
	if (lw->ev)
		event_free(lw->ev);
	for (size_t i = 0; i < lw->n; i++) {
		struct wfile *f = &lw->f[i];
		if (f->argv != NULL) {
			command_stop(f, SIGTERM);
			for (char **a = f->argv; *a; a++)
				free(*a);
			free(f->argv);
		}
		file_close(f);
		free(f->path);
	}
	free(lw->f);
	free(lw);
}
