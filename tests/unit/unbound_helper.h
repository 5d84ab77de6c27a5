/*
 * unbound_helper.h - a real unbound server for tests that need DNS.
 *
 * ubt_start() writes a config into a fresh temporary directory, starts
 * /usr/sbin/unbound in the foreground on a free loopback port (fork/exec),
 * and returns once it answers a probe query.  The zones are "static", so a
 * name without local-data is NXDOMAIN and nothing is ever asked of the
 * internet.  ubt_stop() kills the server and removes the directory; call
 * it from the test's teardown.  Should the test die first, the server gets
 * SIGKILL with it (PR_SET_PDEATHSIG); only the directory stays behind.
 *
 * Header-only so that each test executable can include it; the functions
 * are static and some tests use only a few of them.
 */
#ifndef SEKISHO_TEST_UNBOUND_HELPER_H
#define SEKISHO_TEST_UNBOUND_HELPER_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define UBT_BINARY "/usr/sbin/unbound"

struct ubt {
	pid_t pid;
	int port;
	char dir[256];
	char fwd[64];		/* "127.0.0.1@port" for dns_new() */
	FILE *conf;		/* open between ubt_begin() and ubt_start() */
};

static int __attribute__((unused))
ubt_available(void)
{
	return access(UBT_BINARY, X_OK) == 0;
}

/* A loopback port that was free for both UDP and TCP a moment ago. */
static int
ubt_free_port(void)
{
	for (int tries = 0; tries < 50; tries++) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sa);
		int u = socket(AF_INET, SOCK_DGRAM, 0), t, port;

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (u < 0 || bind(u, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    getsockname(u, (struct sockaddr *)&sa, &sl) < 0) {
			if (u >= 0)
				close(u);
			continue;
		}
		port = ntohs(sa.sin_port);
		t = socket(AF_INET, SOCK_STREAM, 0);
		int ok = t >= 0 && bind(t, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (t >= 0)
			close(t);
		close(u);
		if (ok)
			return port;
	}
	return -1;
}

/* Start writing the server config: local zones and data follow. */
static int __attribute__((unused))
ubt_begin(struct ubt *u)
{
	char path[300];

	memset(u, 0, sizeof(*u));
	u->pid = -1;
	snprintf(u->dir, sizeof(u->dir), "/tmp/sekisho-ubt-XXXXXX");
	if (mkdtemp(u->dir) == NULL)
		return -1;
	if ((u->port = ubt_free_port()) < 0)
		return -1;
	snprintf(u->fwd, sizeof(u->fwd), "127.0.0.1@%d", u->port);
	snprintf(path, sizeof(path), "%s/unbound.conf", u->dir);
	if ((u->conf = fopen(path, "w")) == NULL)
		return -1;
	fprintf(u->conf,
	    "server:\n"
	    "  interface: 127.0.0.1\n"
	    "  port: %d\n"
	    "  do-daemonize: no\n"
	    "  username: \"\"\n"
	    "  chroot: \"\"\n"
	    "  directory: \"%s\"\n"
	    "  pidfile: \"\"\n"
	    "  use-syslog: no\n"
	    "  logfile: \"\"\n"
	    "  verbosity: 0\n"
	    "  num-threads: 1\n"
	    "  do-ip6: no\n"
	    "  so-reuseport: no\n"
	    "  module-config: \"iterator\"\n"
	    "  access-control: 127.0.0.0/8 allow\n"
	    "  local-zone: \"ubt-probe.\" static\n"
	    "  local-data: 'ready.ubt-probe. A 127.0.0.1'\n",
	    u->port, u->dir);
	return 0;
}

static void __attribute__((unused))
ubt_zone(struct ubt *u, const char *zone)
{
	fprintf(u->conf, "  local-zone: \"%s\" static\n", zone);
}

/* One record in zone-file syntax: "name. 300 IN A 192.0.2.1". */
static void __attribute__((unused))
ubt_rr(struct ubt *u, const char *fmt, ...)
{
	va_list ap;

	fputs("  local-data: '", u->conf);
	va_start(ap, fmt);
	vfprintf(u->conf, fmt, ap);
	va_end(ap);
	fputs("'\n", u->conf);
}

/* A TXT record of any length: split into 255-byte character-strings. */
static void __attribute__((unused))
ubt_txt(struct ubt *u, const char *name, const char *text)
{
	size_t len = strlen(text);

	fprintf(u->conf, "  local-data: '%s TXT", name);
	if (len == 0)
		fputs(" \"\"", u->conf);
	for (size_t o = 0; o < len; o += 255) {
		fputs(" \"", u->conf);
		for (size_t i = o; i < len && i < o + 255; i++) {
			if (text[i] == '"' || text[i] == '\\')
				fputc('\\', u->conf);
			fputc(text[i], u->conf);
		}
		fputc('"', u->conf);
	}
	fputs("'\n", u->conf);
}

static void __attribute__((unused))
ubt_ptr(struct ubt *u, const char *ip, const char *name)
{
	fprintf(u->conf, "  local-data-ptr: \"%s %s\"\n", ip, name);
}

/* Ask ready.ubt-probe. A over UDP; 0 once the server answers. */
static int
ubt_probe(int port)
{
	static const unsigned char q[] = {
		0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		5, 'r', 'e', 'a', 'd', 'y', 9, 'u', 'b', 't', '-', 'p', 'r', 'o', 'b', 'e', 0,
		0, 1, 0, 1,
	};
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	unsigned char buf[512];
	struct pollfd pfd;
	int s = socket(AF_INET, SOCK_DGRAM, 0), rc = -1;

	if (s < 0)
		return -1;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (sendto(s, q, sizeof(q), 0, (struct sockaddr *)&sa, sizeof(sa)) == (ssize_t)sizeof(q)) {
		pfd.fd = s;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 200) == 1 && recv(s, buf, sizeof(buf), 0) >= 12 &&
		    buf[0] == 0x12 && buf[1] == 0x34 && (buf[3] & 0x0f) == 0)
			rc = 0;
	}
	close(s);
	return rc;
}

/* Start the server; 0 when it answers, -1 (and nothing left running) if not. */
static int __attribute__((unused))
ubt_start(struct ubt *u)
{
	char conf[300], log[300];

	fputs("remote-control:\n  control-enable: no\n", u->conf);
	if (fclose(u->conf) != 0) {
		u->conf = NULL;
		return -1;
	}
	u->conf = NULL;
	snprintf(conf, sizeof(conf), "%s/unbound.conf", u->dir);
	snprintf(log, sizeof(log), "%s/unbound.log", u->dir);
	u->pid = fork();
	if (u->pid < 0)
		return -1;
	if (u->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		/* a test that aborts (a sanitizer, a crash) takes its server along */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(UBT_BINARY, "unbound", "-d", "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100; i++) {
		int status;

		if (ubt_probe(u->port) == 0)
			return 0;
		if (waitpid(u->pid, &status, WNOHANG) == u->pid) {
			char cmd[400];

			u->pid = -1;
			snprintf(cmd, sizeof(cmd), "cat %s >&2", log);
			if (system(cmd) != 0)
				fprintf(stderr, "unbound exited\n");
			return -1;
		}
		usleep(50000);
	}
	kill(u->pid, SIGKILL);
	waitpid(u->pid, NULL, 0);
	u->pid = -1;
	return -1;
}

static void __attribute__((unused))
ubt_stop(struct ubt *u)
{
	char cmd[300];

	if (u->conf != NULL) {
		fclose(u->conf);
		u->conf = NULL;
	}
	if (u->pid > 0) {
		kill(u->pid, SIGTERM);
		for (int i = 0; i < 40; i++) {
			if (waitpid(u->pid, NULL, WNOHANG) == u->pid) {
				u->pid = -1;
				break;
			}
			usleep(50000);
		}
		if (u->pid > 0) {
			kill(u->pid, SIGKILL);
			waitpid(u->pid, NULL, 0);
			u->pid = -1;
		}
	}
	if (u->dir[0] != '\0' && strncmp(u->dir, "/tmp/sekisho-ubt-", 17) == 0) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", u->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", u->dir);
		u->dir[0] = '\0';
	}
}

#endif
