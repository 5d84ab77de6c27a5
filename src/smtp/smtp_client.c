/*
 * smtp_client.c - blocking SMTP and LMTP delivery to a next hop.
 *
 * One struct smtp_conn is one connection, used by one delivery thread at a
 * time.  The socket is non-blocking and every connect, read and write waits
 * in poll() against a deadline, so a next hop that stops talking costs at
 * most connect_timeout (per address) or reply_timeout (per reply, per write
 * of a chunk).  Nothing here changes process-wide state: SIGPIPE is avoided
 * with MSG_NOSIGNAL on plain sockets and by blocking it on the calling
 * thread around OpenSSL writes.
 *
 * Replies from the next hop are untrusted: a reply line is at most
 * SMTP_LINE_MAX bytes, a reply at most SMTP_REPLY_LINES lines, and only
 * SMTP_REPLY_TEXT bytes of it are kept, with control and non-ASCII bytes
 * replaced by '?', so a reply can go into a log line or a DSN as is.  A
 * limit hit is a protocol error: the connection is given up (temporary
 * failure), never silently accepted.
 *
 * The message body is streamed from the spool file in SMTP_CHUNK pieces.
 * Line endings are normalised on the way (a lone CR or LF becomes CRLF) and
 * every line that starts with '.' gets another one, so no byte sequence in
 * a stored message can end the DATA phase early at the next hop (SMTP
 * smuggling); CRLF is added when the message does not end with one.
 *
 * Ownership: smtp_client_connect() returns a connection freed by
 * smtp_client_close().  The SSL_CTX stays the caller's.  Recipient replies
 * written into the envelope are malloc'ed and owned by the envelope.
 */
#include "smtp/smtp_client.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#define SMTP_LINE_MAX	 2048	/* one reply line, CRLF included (RFC 5321: 512) */
#define SMTP_REPLY_LINES 100	/* lines in one multi-line reply */
#define SMTP_REPLY_TEXT	 1000	/* bytes of a reply kept */
#define SMTP_PIPE_BATCH	 50	/* commands per pipelined write */
#define SMTP_CHUNK	 65536	/* spool bytes read at a time */
#define SMTP_QUIT_MS	 5000	/* most we wait for the answer to QUIT */

#define CAP_PIPELINING	0x01
#define CAP_SIZE	0x02
#define CAP_8BITMIME	0x04
#define CAP_SMTPUTF8	0x08
#define CAP_DSN		0x10
#define CAP_STARTTLS	0x20
#define CAP_ENHANCED	0x40

struct smtp_reply {
	int code;			/* 200..599 */
	char text[SMTP_REPLY_TEXT + 1];	/* all lines, joined by ' ' */
};

struct smtp_conn {
	int fd;
	SSL *ssl;
	int lmtp;
	int caps;
	unsigned long long size_max;	/* SIZE n; 0 = no limit given */
	int broken;			/* no more commands on this connection */
	int timeout_ms;			/* per reply, per write */
	char *host;			/* for SNI; NULL for unix sockets */
	char peer[300];			/* "host[addr]:port" */
	char ioerr[160];		/* why the last read or write failed */
	int proto;			/* ioerr is a protocol error */
	char rbuf[4096];
	size_t rpos, rlen;
	struct buf w;		/* commands being built (pipelined) */
};

/* ---- waiting and raw I/O ---- */

/* Wait for events on fd until deadline (monotonic ms): 1 ready, 0 timeout, -1 error. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int64_t left = deadline - util_mono_ms();
		int n;

		if (left <= 0)
			return 0;
		n = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (n > 0)
			return 1;
		if (n == 0)
			continue;	/* re-check the deadline */
		if (errno != EINTR)
			return -1;
	}
}

static void
set_ioerr(struct smtp_conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->ioerr, sizeof(c->ioerr), fmt, ap);
	va_end(ap);
	c->broken = 1;
}

static void
set_ssl_ioerr(struct smtp_conn *c, const char *what)
{
	char buf[120];
	unsigned long e = ERR_peek_last_error();

	if (e != 0) {
		ERR_error_string_n(e, buf, sizeof(buf));
		set_ioerr(c, "%s: %s", what, buf);
	} else if (errno != 0)
		set_ioerr(c, "%s: %s", what, strerror(errno));
	else
		set_ioerr(c, "lost connection");
	ERR_clear_error();
}

/*
 * OpenSSL writes to the socket with write(2), which raises SIGPIPE when the
 * peer has gone.  Block it on this thread for the call, and swallow one
 * that the call raised (but not one that was already pending).
 */
struct sigpipe_guard {
	sigset_t old;
	int pending;
};

static void
sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t set, pend;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pend);
	g->pending = sigismember(&pend, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

static void
sigpipe_restore(struct sigpipe_guard *g)
{
	sigset_t set, pend;
	struct timespec zero = { 0, 0 };

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	sigpending(&pend);
	if (!g->pending && sigismember(&pend, SIGPIPE))
		while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
			;
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* Read some bytes: >0, 0 at end of stream, -1 on error or timeout (ioerr set). */
static ssize_t
conn_read_some(struct smtp_conn *c, char *buf, size_t len, int64_t deadline)
{
	for (;;) {
		short want = POLLIN;
		int w;

		if (c->ssl != NULL) {
			int n;
			ERR_clear_error();
			errno = 0;
			n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
			if (n > 0)
				return n;
			switch (SSL_get_error(c->ssl, n)) {
			case SSL_ERROR_WANT_READ:
				break;
			case SSL_ERROR_WANT_WRITE:
				want = POLLOUT;
				break;
			case SSL_ERROR_ZERO_RETURN:
				return 0;
			case SSL_ERROR_SYSCALL:
				if (errno == 0 && ERR_peek_error() == 0)
					return 0;
				/* FALLTHROUGH */
			default:
				set_ssl_ioerr(c, "TLS read error");
				return -1;
			}
		} else {
			ssize_t n = recv(c->fd, buf, len, 0);
			if (n >= 0)
				return n;
			if (errno == EINTR)
				continue;
			if (errno == ECONNRESET) {
				set_ioerr(c, "lost connection");
				return -1;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				set_ioerr(c, "read error: %s", strerror(errno));
				return -1;
			}
		}
		w = wait_fd(c->fd, want, deadline);
		if (w == 0) {
			set_ioerr(c, "conversation timed out");
			return -1;
		}
		if (w < 0) {
			set_ioerr(c, "poll: %s", strerror(errno));
			return -1;
		}
	}
}

/* Write all of buf before deadline. 0, or -1 (ioerr set). */
static int
conn_write_all(struct smtp_conn *c, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		short want = POLLOUT;
		int w;

		if (c->ssl != NULL) {
			struct sigpipe_guard g;
			int n, e;
			ERR_clear_error();
			errno = 0;
			sigpipe_block(&g);
			n = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
			e = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
			sigpipe_restore(&g);
			if (n > 0) {
				buf += n;
				len -= (size_t)n;
				continue;
			}
			if (e == SSL_ERROR_WANT_READ)
				want = POLLIN;
			else if (e != SSL_ERROR_WANT_WRITE) {
				set_ssl_ioerr(c, "TLS write error");
				return -1;
			}
		} else {
			ssize_t n = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (n > 0) {
				buf += n;
				len -= (size_t)n;
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
				if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
					set_ioerr(c, "lost connection");
				else
					set_ioerr(c, "write error: %s", n < 0 ? strerror(errno) : "short write");
				return -1;
			}
		}
		w = wait_fd(c->fd, want, deadline);
		if (w == 0) {
			set_ioerr(c, "conversation timed out");
			return -1;
		}
		if (w < 0) {
			set_ioerr(c, "poll: %s", strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* ---- commands and replies ---- */

/* End the command being built. */
static void
wbuf_end(struct smtp_conn *c)
{
	buf_add(&c->w, "\r\n", 2);
}

static int
cmd_flush(struct smtp_conn *c)
{
	int rc;

	if (c->broken)
		return -1;
	rc = conn_write_all(c, c->w.p, c->w.len, util_mono_ms() + c->timeout_ms);
	buf_reset(&c->w);
	return rc;
}

/* Send one command line and flush it. 0 or -1 (ioerr set). */
static int
cmd_send(struct smtp_conn *c, const char *line)
{
	buf_reset(&c->w);
	buf_add(&c->w, line, strlen(line));
	wbuf_end(c);
	return cmd_flush(c);
}

/*
 * One reply line into line (NUL-terminated, line ending removed).  Length,
 * or -1 (ioerr set): end of stream, timeout, or a line over SMTP_LINE_MAX.
 */
static int
read_line(struct smtp_conn *c, char *line, size_t size, int64_t deadline)
{
	size_t len = 0;

	for (;;) {
		ssize_t n;

		while (c->rpos < c->rlen) {
			char ch = c->rbuf[c->rpos++];
			if (ch == '\n') {
				if (len > 0 && line[len - 1] == '\r')
					len--;
				line[len] = '\0';
				return (int)len;
			}
			if (len + 2 >= size || len + 2 >= SMTP_LINE_MAX) {
				set_ioerr(c, "protocol error: reply line longer than %d bytes",
				    SMTP_LINE_MAX);
				c->proto = 1;
				return -1;
			}
			line[len++] = ch;
		}
		n = conn_read_some(c, c->rbuf, sizeof(c->rbuf), deadline);
		if (n == 0) {
			set_ioerr(c, "lost connection");
			return -1;
		}
		if (n < 0)
			return -1;
		c->rpos = 0;
		c->rlen = (size_t)n;
	}
}

/* Append a line to a reply's text, made printable ASCII and bounded. */
static void
reply_add_text(struct smtp_reply *r, const char *line)
{
	size_t len = strlen(r->text);

	if (len > 0 && len < SMTP_REPLY_TEXT)
		r->text[len++] = ' ';
	for (const char *p = line; *p && len < SMTP_REPLY_TEXT; p++) {
		unsigned char ch = (unsigned char)*p;
		r->text[len++] = ch == '\t' ? ' ' : (ch < 0x20 || ch > 0x7e) ? '?' : (char)ch;
	}
	r->text[len] = '\0';
}

/* One EHLO keyword line ("PIPELINING", "SIZE 1000"). */
static void
ehlo_keyword(struct smtp_conn *c, const char *kw)
{
	size_t n = strcspn(kw, " ");

	if (n == 10 && util_strncasecmp(kw, "PIPELINING", n) == 0)
		c->caps |= CAP_PIPELINING;
	else if (n == 8 && util_strncasecmp(kw, "8BITMIME", n) == 0)
		c->caps |= CAP_8BITMIME;
	else if (n == 8 && util_strncasecmp(kw, "SMTPUTF8", n) == 0)
		c->caps |= CAP_SMTPUTF8;
	else if (n == 3 && util_strncasecmp(kw, "DSN", n) == 0)
		c->caps |= CAP_DSN;
	else if (n == 8 && util_strncasecmp(kw, "STARTTLS", n) == 0)
		c->caps |= CAP_STARTTLS;
	else if (n == 19 && util_strncasecmp(kw, "ENHANCEDSTATUSCODES", n) == 0)
		c->caps |= CAP_ENHANCED;
	else if (n == 4 && util_strncasecmp(kw, "SIZE", n) == 0) {
		c->caps |= CAP_SIZE;
		if (kw[4] == ' ' && kw[5] >= '0' && kw[5] <= '9')
			c->size_max = strtoull(kw + 5, NULL, 10);
	}
}

/*
 * Read one (multi-line) reply within reply_timeout.  With ehlo set, the
 * lines after the first are taken as EHLO keywords (c->caps is rebuilt).
 * 0, or -1 when the connection failed or the reply broke the protocol
 * (ioerr set; the connection is then broken).
 */
static int
read_reply_x(struct smtp_conn *c, struct smtp_reply *r, int ehlo)
{
	char line[SMTP_LINE_MAX + 1];
	int64_t deadline = util_mono_ms() + c->timeout_ms;

	memset(r, 0, sizeof(*r));
	if (c->broken)
		return -1;
	if (ehlo) {
		c->caps = 0;
		c->size_max = 0;
	}
	for (int nlines = 0;; nlines++) {
		int len;

		if (nlines >= SMTP_REPLY_LINES) {
			set_ioerr(c, "protocol error: reply longer than %d lines",
			    SMTP_REPLY_LINES);
			c->proto = 1;
			return -1;
		}
		len = read_line(c, line, sizeof(line), deadline);
		if (len < 0)
			return -1;
		if (len < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9' ||
		    (len > 3 && line[3] != ' ' && line[3] != '-')) {
			struct smtp_reply shown;
			memset(&shown, 0, sizeof(shown));
			reply_add_text(&shown, line);
			shown.text[60] = '\0';
			set_ioerr(c, "protocol error: malformed reply \"%s\"", shown.text);
			c->proto = 1;
			return -1;
		}
		if (nlines == 0)
			r->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		else if (ehlo && len > 4)
			ehlo_keyword(c, line + 4);
		reply_add_text(r, line);
		if (len == 3 || line[3] == ' ')
			break;
	}
	if (ehlo && r->code / 100 != 2) {
		c->caps = 0;
		c->size_max = 0;
	}
	return 0;
}

static int
read_reply(struct smtp_conn *c, struct smtp_reply *r)
{
	return read_reply_x(c, r, 0);
}

/* Length of an enhanced status code "d.ddd.ddd" at p (followed by a space
 * or the end), or 0. */
static size_t
enhanced_len(const char *p)
{
	const char *q = p;

	for (int part = 0; part < 3; part++) {
		const char *start = q;
		while (*q >= '0' && *q <= '9' && q - start < 3)
			q++;
		if (q == start || (part == 0 && q - start != 1))
			return 0;
		if (part < 2) {
			if (*q != '.')
				return 0;
			q++;
		}
	}
	return (*q == ' ' || *q == '\0') ? (size_t)(q - p) : 0;
}

/*
 * The enhanced status code at the start of a reply's text ("550 5.1.1 ..."),
 * copied into buf, when its class matches the reply's; else "C.0.0".
 */
static const char *
reply_status(const struct smtp_reply *r, char *buf, size_t size)
{
	size_t n = strlen(r->text) > 4 ? enhanced_len(r->text + 4) : 0;

	if (n > 0 && n < size && r->text[4] == r->text[0]) {
		memcpy(buf, r->text + 4, n);
		buf[n] = '\0';
	} else
		snprintf(buf, size, "%c.0.0", r->text[0] ? r->text[0] : '4');
	return buf;
}

/* "host[addr]:port said: 550 5.1.1 ... (in reply to RCPT TO)" as a new string. */
static char *
said(const struct smtp_conn *c, const struct smtp_reply *r, const char *cmd)
{
	return xasprintf("%s said: %s (in reply to %s)", c->peer, r->text, cmd);
}

/* The reason text for a connection that failed while waiting on cmd. */
static char *
io_reason(const struct smtp_conn *c, const char *cmd)
{
	return xasprintf("%s %s: %s (in reply to %s)", c->proto ? "4.5.0" : "4.4.2",
	    c->peer, c->ioerr[0] ? c->ioerr : "lost connection", cmd);
}

/* ---- connecting ---- */

static void
conn_free(struct smtp_conn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	free(c->host);
	buf_free(&c->w);
	free(c);
}

static struct smtp_conn *
conn_new(int fd)
{
	struct smtp_conn *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	return c;
}

/*
 * Connect a non-blocking socket to addr within timeout_ms.  fd, or -1 with
 * errno set (ETIMEDOUT on timeout).
 */
static int
connect_addr(int family, const struct sockaddr *sa, socklen_t salen, int timeout_ms)
{
	int fd, err = 0, w;
	socklen_t errlen = sizeof(err);

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/*
	 * Every write here is a whole command group or body chunk; with Nagle on,
	 * the small final ".\r\n" waits for the ACK of the previous segment, which
	 * the server delays (~40 ms) until it sees the dot: a 40 ms stall per
	 * message that capped delivery at ~22 messages/s per thread.
	 */
	if (family == AF_INET || family == AF_INET6) {
		int one = 1;
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EAGAIN && errno != EINTR) {
		err = errno;
		goto fail;
	}
	w = wait_fd(fd, POLLOUT, util_mono_ms() + timeout_ms);
	if (w <= 0) {
		err = w == 0 ? ETIMEDOUT : errno;
		goto fail;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
		err = errno;
	if (err == 0)
		return fd;
fail:
	close(fd);
	errno = err;
	return -1;
}

static int
is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Open the transport to hop: a connection with peer set, or NULL with err. */
static struct smtp_conn *
open_transport(const struct nexthop *hop, const struct transport_opts *opts,
    char *err, size_t errlen)
{
	int timeout_ms = (opts->connect_timeout > 0 ? opts->connect_timeout : 30) * 1000;
	struct addrinfo hints, *res = NULL;
	struct smtp_conn *c;
	int fd, gai;

	if (hop->unix_path != NULL) {
		struct sockaddr_un sun;
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(hop->unix_path) >= sizeof(sun.sun_path)) {
			snprintf(err, errlen, "4.3.5 unix socket path too long: %s", hop->unix_path);
			return NULL;
		}
		util_strlcpy(sun.sun_path, hop->unix_path, sizeof(sun.sun_path));
		fd = connect_addr(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun), timeout_ms);
		if (fd < 0) {
			snprintf(err, errlen, "4.4.1 connect to unix:%s: %s",
			    hop->unix_path, strerror(errno));
			return NULL;
		}
		c = conn_new(fd);
		snprintf(c->peer, sizeof(c->peer), "unix:%s", hop->unix_path);
		return c;
	}

	if (hop->host == NULL || hop->port == NULL) {
		snprintf(err, errlen, "4.3.5 next hop has no host");
		return NULL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	gai = getaddrinfo(hop->host, hop->port, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "4.4.3 Host or domain name not found: %s:%s: %s",
		    hop->host, hop->port, gai_strerror(gai));
		return NULL;
	}
	snprintf(err, errlen, "4.4.1 connect to %s:%s: no address", hop->host, hop->port);
	for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
		char addr[INET6_ADDRSTRLEN] = "?";

		getnameinfo(ai->ai_addr, ai->ai_addrlen, addr, sizeof(addr), NULL, 0,
		    NI_NUMERICHOST);
		fd = connect_addr(ai->ai_family, ai->ai_addr, ai->ai_addrlen, timeout_ms);
		if (fd < 0) {
			snprintf(err, errlen, "4.4.1 connect to %s[%s]:%s: %s",
			    hop->host, addr, hop->port, strerror(errno));
			log_debug("smtp client: %s", err);
			continue;
		}
		c = conn_new(fd);
		snprintf(c->peer, sizeof(c->peer), "%s[%s]:%s", hop->host, addr, hop->port);
		if (!is_ip_literal(hop->host))
			c->host = xstrdup(hop->host);
		freeaddrinfo(res);
		return c;
	}
	freeaddrinfo(res);
	return NULL;
}

enum session_rc { SESSION_OK, SESSION_FAIL, SESSION_TLS_FAIL };

/* A failure with a reply: "<status> peer said: <reply> (in reply to cmd)". */
static enum session_rc
fail_reply(struct smtp_conn *c, const struct smtp_reply *r, const char *cmd,
    char *err, size_t errlen, int *permanent)
{
	char st[16];

	if (r->code / 100 == 5 || r->code / 100 == 4)
		reply_status(r, st, sizeof(st));
	else
		util_strlcpy(st, "4.5.0", sizeof(st));
	snprintf(err, errlen, "%s %s said: %s (in reply to %s)", st, c->peer, r->text, cmd);
	if (r->code / 100 == 5)
		*permanent = 1;
	return SESSION_FAIL;
}

static enum session_rc
fail_io(struct smtp_conn *c, const char *cmd, char *err, size_t errlen)
{
	char *reason = io_reason(c, cmd);

	util_strlcpy(err, reason, errlen);
	free(reason);
	return SESSION_FAIL;
}

/* EHLO (LHLO), and HELO when an SMTP server refuses EHLO. */
static enum session_rc
send_hello(struct smtp_conn *c, const struct transport_opts *opts,
    char *err, size_t errlen, int *permanent)
{
	const char *helo = opts->helo_name && *opts->helo_name ? opts->helo_name : "localhost";
	const char *verb = c->lmtp ? "LHLO" : "EHLO";
	struct smtp_reply r;
	char line[300];

	/* one printable word, or the command line could be split */
	for (const char *p = helo; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f || p - helo > 255) {
			helo = "localhost";
			break;
		}
	snprintf(line, sizeof(line), "%s %s", verb, helo);
	if (cmd_send(c, line) < 0 || read_reply_x(c, &r, 1) < 0)
		return fail_io(c, verb, err, errlen);
	if (r.code / 100 == 2)
		return SESSION_OK;
	if (c->lmtp || r.code / 100 != 5)
		return fail_reply(c, &r, verb, err, errlen, permanent);
	/* an old server: plain SMTP without extensions */
	snprintf(line, sizeof(line), "HELO %s", helo);
	if (cmd_send(c, line) < 0 || read_reply(c, &r) < 0)
		return fail_io(c, "HELO", err, errlen);
	if (r.code / 100 != 2)
		return fail_reply(c, &r, "HELO", err, errlen, permanent);
	return SESSION_OK;
}

static enum session_rc
tls_fail(struct smtp_conn *c, char *err, size_t errlen)
{
	snprintf(err, errlen, "4.7.5 %s: %s", c->peer, c->ioerr);
	c->broken = 1;
	return SESSION_TLS_FAIL;
}

static enum session_rc
start_tls(struct smtp_conn *c, const struct transport_opts *opts,
    char *err, size_t errlen, int *permanent)
{
	struct smtp_reply r;
	int64_t deadline;

	if (cmd_send(c, "STARTTLS") < 0 || read_reply(c, &r) < 0)
		return fail_io(c, "STARTTLS", err, errlen);
	if (r.code != 220) {
		if (opts->tls == TRANSPORT_TLS_ENCRYPT) {
			fail_reply(c, &r, "STARTTLS", err, errlen, permanent);
			*permanent = 0;	/* a TLS problem is worth a retry */
			return SESSION_FAIL;
		}
		log_info("smtp client: %s refused STARTTLS (%s); continuing without TLS",
		    c->peer, r.text);
		return SESSION_OK;
	}
	/* Anything the server sent after its 220 came before TLS: drop it, so
	 * that a man in the middle cannot inject replies into the TLS session. */
	c->rpos = c->rlen = 0;

	ERR_clear_error();
	c->ssl = SSL_new(opts->ssl_ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1) {
		set_ssl_ioerr(c, "TLS setup failed");
		return tls_fail(c, err, errlen);
	}
	if (c->host != NULL) {
		SSL_set_tlsext_host_name(c->ssl, c->host);
		SSL_set1_host(c->ssl, c->host);
	}
	SSL_set_connect_state(c->ssl);
	deadline = util_mono_ms() + c->timeout_ms;
	for (;;) {
		struct sigpipe_guard g;
		int n, e, w;

		ERR_clear_error();
		errno = 0;
		sigpipe_block(&g);
		n = SSL_connect(c->ssl);
		e = n == 1 ? SSL_ERROR_NONE : SSL_get_error(c->ssl, n);
		sigpipe_restore(&g);
		if (n == 1)
			break;
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			long vr = SSL_get_verify_result(c->ssl);
			if (vr != X509_V_OK)
				set_ioerr(c, "TLS certificate verification failed: %s",
				    X509_verify_cert_error_string(vr));
			else
				set_ssl_ioerr(c, "TLS handshake failed");
			return tls_fail(c, err, errlen);
		}
		w = wait_fd(c->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline);
		if (w <= 0) {
			set_ioerr(c, w == 0 ? "TLS handshake timed out" : "TLS handshake: poll failed");
			return tls_fail(c, err, errlen);
		}
	}
	log_info("smtp client: TLS to %s: %s %s", c->peer, SSL_get_version(c->ssl),
	    SSL_get_cipher_name(c->ssl));
	/* RFC 3207: forget what was learnt before TLS and ask again */
	return send_hello(c, opts, err, errlen, permanent);
}

static enum session_rc
connect_once(const struct nexthop *hop, const struct transport_opts *opts,
    int tls_allowed, struct smtp_conn **out, char *err, size_t errlen, int *permanent)
{
	struct smtp_conn *c;
	struct smtp_reply r;
	enum session_rc rc;

	*out = NULL;
	c = open_transport(hop, opts, err, errlen);
	if (c == NULL)
		return SESSION_FAIL;
	c->lmtp = hop->kind == NEXTHOP_LMTP;
	c->timeout_ms = (opts->reply_timeout > 0 ? opts->reply_timeout : 300) * 1000;

	if (read_reply(c, &r) < 0) {
		rc = fail_io(c, "initial greeting", err, errlen);
		goto fail;
	}
	if (r.code != 220) {
		rc = fail_reply(c, &r, "initial greeting", err, errlen, permanent);
		goto fail;
	}
	rc = send_hello(c, opts, err, errlen, permanent);
	if (rc != SESSION_OK)
		goto fail;
	if (tls_allowed && opts->tls != TRANSPORT_TLS_NONE) {
		if (!(c->caps & CAP_STARTTLS)) {
			if (opts->tls == TRANSPORT_TLS_ENCRYPT) {
				snprintf(err, errlen,
				    "4.7.4 TLS is required, but was not offered by host %s",
				    c->peer);
				rc = SESSION_FAIL;
				goto fail;
			}
		} else if (opts->ssl_ctx != NULL) {
			rc = start_tls(c, opts, err, errlen, permanent);
			if (rc != SESSION_OK)
				goto fail;
		}
	}
	*out = c;
	return SESSION_OK;
fail:
	log_debug("smtp client: %s", err);
	if (!c->broken) {
		/* a polite goodbye; its answer does not matter */
		c->timeout_ms = c->timeout_ms < SMTP_QUIT_MS ? c->timeout_ms : SMTP_QUIT_MS;
		if (cmd_send(c, "QUIT") == 0)
			(void)read_reply(c, &r);
	}
	conn_free(c);
	return rc;
}

struct smtp_conn *
smtp_client_connect(const struct nexthop *hop, const struct transport_opts *opts,
    char *err, size_t errlen, int *permanent)
{
	struct smtp_conn *c = NULL;
	char dummy[8];
	int perm = 0;
	enum session_rc rc;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (hop->kind == NEXTHOP_MAILDIR) {
		snprintf(err, errlen, "4.3.5 next hop is a maildir, not SMTP or LMTP");
		goto out;
	}
	if (opts->tls == TRANSPORT_TLS_ENCRYPT && opts->ssl_ctx == NULL) {
		snprintf(err, errlen,
		    "4.7.5 TLS is required, but no client TLS context is configured");
		goto out;
	}
	rc = connect_once(hop, opts, 1, &c, err, errlen, &perm);
	if (rc == SESSION_TLS_FAIL && opts->tls == TRANSPORT_TLS_MAY) {
		/* opportunistic TLS: a broken handshake must not stop the mail */
		log_warn("smtp client: %s; retrying without TLS", err);
		perm = 0;
		rc = connect_once(hop, opts, 0, &c, err, errlen, &perm);
	}
	if (rc == SESSION_OK)
		log_debug("smtp client: connected to %s%s", c->peer, c->ssl ? " (TLS)" : "");
out:
	if (permanent != NULL)
		*permanent = c == NULL ? perm : 0;
	return c;
}

/* ---- one transaction ---- */

/* " NAME=value" with value as xtext (RFC 3461): what is not xtext-safe is
 * encoded.  keep_plus: the value is xtext already, so '+' stays. */
static void
wbuf_param(struct smtp_conn *c, const char *name, const char *value, int keep_plus)
{
	static const char hex[] = "0123456789ABCDEF";

	buf_printf(&c->w, " %s=", name);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (*p >= '!' && *p <= '~' && *p != '=' && (*p != '+' || keep_plus)) {
			buf_add(&c->w, (const char *)p, 1);
		} else {
			char e[3] = { '+', hex[*p >> 4], hex[*p & 15] };
			buf_add(&c->w, e, 3);
		}
	}
}

/* Can the address go between <> on a command line (no CR, LF, <, >)? */
static int
addr_ok(const char *a)
{
	for (; *a; a++)
		if ((unsigned char)*a < 0x20 || *a == 0x7f || *a == '<' || *a == '>')
			return 0;
	return 1;
}

static void
append_mail(struct smtp_conn *c, const struct envelope *env, long long size)
{
	buf_printf(&c->w, "MAIL FROM:<%s>", env->mail_from ? env->mail_from : "");
	if ((c->caps & CAP_SIZE) && size > 0)
		buf_printf(&c->w, " SIZE=%lld", size);
	if (env->body == BODY_8BITMIME && (c->caps & CAP_8BITMIME))
		buf_printf(&c->w, " BODY=8BITMIME");
	if (env->smtputf8 && (c->caps & CAP_SMTPUTF8))
		buf_printf(&c->w, " SMTPUTF8");
	if (c->caps & CAP_DSN) {
		if (env->ret == DSN_RET_FULL)
			buf_printf(&c->w, " RET=FULL");
		else if (env->ret == DSN_RET_HDRS)
			buf_printf(&c->w, " RET=HDRS");
		if (env->envid != NULL && *env->envid)
			wbuf_param(c, "ENVID", env->envid, 1);
	}
	wbuf_end(c);
}

static void
append_rcpt(struct smtp_conn *c, const struct rcpt *r)
{
	buf_printf(&c->w, "RCPT TO:<%s>", r->addr);
	if (c->caps & CAP_DSN) {
		if (r->notify & DSN_NOTIFY_NEVER)
			buf_printf(&c->w, " NOTIFY=NEVER");
		else if (r->notify != 0) {
			const char *sep = " NOTIFY=";
			if (r->notify & DSN_NOTIFY_SUCCESS) {
				buf_printf(&c->w, "%sSUCCESS", sep);
				sep = ",";
			}
			if (r->notify & DSN_NOTIFY_FAILURE) {
				buf_printf(&c->w, "%sFAILURE", sep);
				sep = ",";
			}
			if (r->notify & DSN_NOTIFY_DELAY)
				buf_printf(&c->w, "%sDELAY", sep);
		}
		if (r->orcpt != NULL && *r->orcpt) {
			/* ORCPT=addr-type;xtext.  The stored value is xtext
			 * already (its '+' stays), but nothing else gets by. */
			if (strchr(r->orcpt, ';') != NULL)
				wbuf_param(c, "ORCPT", r->orcpt, 1);
			else {
				char *v = xasprintf("rfc822;%s", r->orcpt);
				wbuf_param(c, "ORCPT", v, 1);
				free(v);
			}
		}
	}
	wbuf_end(c);
}

/*
 * Stream the spool file as DATA content: CRLF line endings, dot-stuffed,
 * ended by CRLF.CRLF.  0; -1 on a connection failure (ioerr set); -2 when
 * the spool file could not be read (local_err set).  After -2 the DATA
 * phase cannot be ended cleanly (the dot would deliver a truncated
 * message), so the connection is broken either way.
 */
static int
send_body(struct smtp_conn *c, int fd, char *local_err, size_t errlen)
{
	unsigned char *in = xmalloc(SMTP_CHUNK);
	char *out = xmalloc(2 * SMTP_CHUNK + 8);
	off_t off = 0;
	int bol = 1, cr = 0, rc = 0;
	size_t o;

	for (;;) {
		ssize_t n = pread(fd, in, SMTP_CHUNK, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(local_err, errlen, "4.3.0 cannot read the queue file: %s",
			    strerror(errno));
			c->broken = 1;
			rc = -2;
			goto out;
		}
		if (n == 0)
			break;
		off += n;
		o = 0;
		for (ssize_t i = 0; i < n; i++) {
			unsigned char b = in[i];
			if (cr) {
				/* the CR before this byte: CRLF, or a lone CR */
				cr = 0;
				out[o++] = '\r';
				out[o++] = '\n';
				bol = 1;
				if (b == '\n')
					continue;
			}
			if (b == '\r') {
				cr = 1;
				continue;
			}
			if (b == '\n') {	/* a lone LF */
				out[o++] = '\r';
				out[o++] = '\n';
				bol = 1;
				continue;
			}
			if (bol && b == '.')
				out[o++] = '.';
			out[o++] = (char)b;
			bol = 0;
		}
		if (conn_write_all(c, out, o, util_mono_ms() + c->timeout_ms) < 0) {
			rc = -1;
			goto out;
		}
	}
	o = 0;
	if (cr || !bol) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	memcpy(out + o, ".\r\n", 3);
	o += 3;
	if (conn_write_all(c, out, o, util_mono_ms() + c->timeout_ms) < 0)
		rc = -1;
out:
	free(out);
	free(in);
	return rc;
}

static void
set_rcpt_reply(struct rcpt *r, char *reply)
{
	free(r->reply);
	r->reply = reply;
}

/*
 * A final answer for one recipient: 2xx delivered (when ok_delivers; a 2xx
 * to DATA is not a delivery), 5xx failed, anything else stays pending.
 */
static void
rcpt_outcome(struct smtp_conn *c, struct rcpt *r, const struct smtp_reply *rep,
    const char *cmd, int ok_delivers)
{
	set_rcpt_reply(r, said(c, rep, cmd));
	if (rep->code / 100 == 2 && ok_delivers)
		r->status = RCPT_DELIVERED;
	else if (rep->code / 100 == 5)
		r->status = RCPT_FAILED;
}

/* Our own answer for every pending recipient not answered yet. */
static void
answer_rest(struct envelope *env, const size_t *idx, char *answered, size_t n,
    int permanent, const char *text)
{
	for (size_t i = 0; i < n; i++) {
		struct rcpt *r = &env->rcpt[idx[i]];
		if (answered[i])
			continue;
		set_rcpt_reply(r, xstrdup(text));
		if (permanent)
			r->status = RCPT_FAILED;
		answered[i] = 1;
	}
}

static const char *
cmd_name(size_t k, size_t ncmd)
{
	return k == 0 ? "MAIL FROM" : k + 1 < ncmd ? "RCPT TO" : "DATA";
}

int
smtp_client_deliver(struct smtp_conn *c, struct envelope *env, int fd)
{
	struct smtp_reply rep;
	struct stat st;
	size_t *idx, *sendi = NULL, n = 0, nsend = 0, ncmd, sent = 0, got = 0;
	size_t naccepted = 0;
	char *answered = NULL, *reason = NULL;
	char text[SMTP_REPLY_TEXT + 400];
	int mail_ok = 1, data_go = 0, pipelining, rc = -1;
	const char *cmd = "MAIL FROM";

	idx = xcalloc(env->nrcpt ? env->nrcpt : 1, sizeof(*idx));
	for (size_t i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].status == RCPT_PENDING)
			idx[n++] = i;
	answered = xcalloc(n ? n : 1, 1);
	sendi = xcalloc(n ? n : 1, sizeof(*sendi));
	buf_reset(&c->w);
	if (n == 0) {
		rc = 0;
		goto out;
	}
	if (c->broken) {
		snprintf(text, sizeof(text), "4.4.2 %s: connection no longer usable", c->peer);
		answer_rest(env, idx, answered, n, 0, text);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(text, sizeof(text), "4.3.0 cannot read the queue file: %s",
		    strerror(errno));
		answer_rest(env, idx, answered, n, 0, text);
		goto out;
	}

	/* what the next hop cannot take is refused here, before MAIL */
	text[0] = '\0';
	if (env->smtputf8 && !(c->caps & CAP_SMTPUTF8))
		snprintf(text, sizeof(text),
		    "5.6.7 SMTPUTF8 is required, but was not offered by host %s", c->peer);
	else if (env->body == BODY_BINARYMIME)
		snprintf(text, sizeof(text),
		    "5.6.3 binary content cannot be sent to %s without conversion", c->peer);
	else if (c->size_max > 0 && (unsigned long long)st.st_size > c->size_max)
		snprintf(text, sizeof(text),
		    "5.3.4 message size %lld exceeds size limit %llu of server %s",
		    (long long)st.st_size, c->size_max, c->peer);
	else if (env->mail_from != NULL && !addr_ok(env->mail_from))
		snprintf(text, sizeof(text), "5.1.7 bad sender address syntax");
	if (text[0]) {
		answer_rest(env, idx, answered, n, 1, text);
		rc = 0;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct rcpt *r = &env->rcpt[idx[i]];
		if (!addr_ok(r->addr)) {
			set_rcpt_reply(r, xstrdup("5.1.3 bad recipient address syntax"));
			r->status = RCPT_FAILED;
			answered[i] = 1;
		} else
			sendi[nsend++] = i;
	}
	if (nsend == 0) {
		rc = 0;
		goto out;
	}

	/*
	 * Commands are numbered: 0 is MAIL, 1..nsend the RCPTs, nsend+1 DATA.
	 * With PIPELINING up to SMTP_PIPE_BATCH go out in one write and their
	 * replies are read in order; without it, one at a time, and DATA only
	 * when a recipient was accepted.  Batches keep a long recipient list
	 * from filling both socket buffers at once (a deadlock).
	 */
	pipelining = (c->caps & CAP_PIPELINING) != 0;
	ncmd = nsend + 2;
	while (got < ncmd && mail_ok) {
		size_t start = sent, limit = pipelining ? SMTP_PIPE_BATCH : 1;

		while (sent < ncmd && sent - start < limit) {
			if (sent == 0)
				append_mail(c, env, (long long)st.st_size);
			else if (sent + 1 < ncmd)
				append_rcpt(c, &env->rcpt[idx[sendi[sent - 1]]]);
			else if (pipelining || naccepted > 0)
				buf_add(&c->w, "DATA\r\n", 6);
			else
				break;
			sent++;
		}
		if (sent == start)
			break;
		if (cmd_flush(c) < 0) {
			cmd = cmd_name(start, ncmd);
			goto ioerr;
		}
		for (; got < sent; got++) {
			cmd = cmd_name(got, ncmd);
			if (read_reply(c, &rep) < 0)
				goto ioerr;
			if (got == 0) {
				if (rep.code / 100 != 2) {
					mail_ok = 0;
					for (size_t i = 0; i < n; i++)
						if (!answered[i]) {
							rcpt_outcome(c, &env->rcpt[idx[i]], &rep, cmd, 0);
							answered[i] = 1;
						}
				}
			} else if (got + 1 < ncmd) {
				size_t i = sendi[got - 1];
				if (!mail_ok)
					continue;
				if (rep.code / 100 == 2)
					naccepted++;
				else {
					rcpt_outcome(c, &env->rcpt[idx[i]], &rep, cmd, 0);
					answered[i] = 1;
				}
			} else if (rep.code == 354) {
				data_go = 1;
			} else if (mail_ok) {
				for (size_t i = 0; i < n; i++)
					if (!answered[i]) {
						rcpt_outcome(c, &env->rcpt[idx[i]], &rep, cmd, 0);
						answered[i] = 1;
					}
			}
		}
	}
	if (!data_go) {
		rc = 0;
		goto out;
	}

	cmd = "end of DATA";
	if (naccepted == 0 || !mail_ok) {
		/* a pipelining server said 354 although nobody was accepted:
		 * end the empty message; its answer does not matter */
		if (cmd_send(c, ".") < 0 || read_reply(c, &rep) < 0)
			goto ioerr;
		rc = 0;
		goto out;
	}
	switch (send_body(c, fd, text, sizeof(text))) {
	case -2:
		answer_rest(env, idx, answered, n, 0, text);
		goto out;
	case -1:
		goto ioerr;
	}
	if (!c->lmtp) {
		if (read_reply(c, &rep) < 0)
			goto ioerr;
		for (size_t i = 0; i < n; i++)
			if (!answered[i]) {
				rcpt_outcome(c, &env->rcpt[idx[i]], &rep, cmd, 1);
				answered[i] = 1;
			}
	} else {
		/* LMTP: one reply per accepted recipient, in RCPT order */
		for (size_t i = 0; i < n; i++) {
			if (answered[i])
				continue;
			if (read_reply(c, &rep) < 0)
				goto ioerr;
			rcpt_outcome(c, &env->rcpt[idx[i]], &rep, cmd, 1);
			answered[i] = 1;
		}
	}
	rc = 0;
	goto out;

ioerr:
	reason = io_reason(c, cmd);
	log_info("smtp client: message %s: %s", env->id, reason);
	answer_rest(env, idx, answered, n, 0, reason);
	c->broken = 1;
	rc = -1;
out:
	buf_reset(&c->w);
	free(reason);
	free(sendi);
	free(answered);
	free(idx);
	return rc;
}

int
smtp_client_reset(struct smtp_conn *c)
{
	struct smtp_reply r;

	if (c == NULL || c->broken)
		return -1;
	if (cmd_send(c, "RSET") < 0 || read_reply(c, &r) < 0)
		return -1;
	if (r.code / 100 != 2) {
		c->broken = 1;
		return -1;
	}
	return 0;
}

void
smtp_client_close(struct smtp_conn *c)
{
	struct smtp_reply r;

	if (c == NULL)
		return;
	if (!c->broken) {
		c->timeout_ms = c->timeout_ms < SMTP_QUIT_MS ? c->timeout_ms : SMTP_QUIT_MS;
		if (cmd_send(c, "QUIT") == 0)
			(void)read_reply(c, &r);
	}
	if (c->ssl != NULL && !c->broken) {
		struct sigpipe_guard g;
		sigpipe_block(&g);
		(void)SSL_shutdown(c->ssl);	/* one try: we do not wait for the peer */
		sigpipe_restore(&g);
		ERR_clear_error();
	}
	conn_free(c);
}

const char *
smtp_client_peer(const struct smtp_conn *c)
{
	return c->peer;
}

int
smtp_client_tls(const struct smtp_conn *c)
{
	return c->ssl != NULL;
}

/* ---- the queue's transport ---- */

static void *
transport_connect(const struct nexthop *hop, const struct transport_opts *opts, char *err,
    size_t errlen, int *permanent)
{
	return smtp_client_connect(hop, opts, err, errlen, permanent);
}

static int
transport_deliver(void *conn, struct envelope *env, int fd)
{
	return smtp_client_deliver(conn, env, fd);
}

static int
transport_reset(void *conn)
{
	return smtp_client_reset(conn);
}

static void
transport_close(void *conn)
{
	smtp_client_close(conn);
}

static const char *
transport_peer(const void *conn)
{
	return smtp_client_peer(conn);
}

const struct queue_transport smtp_client_transport = {
	.connect = transport_connect,
	.deliver = transport_deliver,
	.reset = transport_reset,
	.close = transport_close,
	.peer = transport_peer,
};
