/*
 * queue_transport.c - the next hops of delivery ("smtp:HOST:PORT", ...).
 * The transport itself is src/smtp's (smtp_client_transport).
 */
#include "queue/queue_transport.h"
#include "util/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

static int
hop_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static int
valid_hostname(const char *s)
{
	if (*s == '\0' || strlen(s) > 253)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '.' || *s == '_'))
			return 0;
	return 1;
}

static int
valid_port(const char *s)
{
	int digits = 1;

	if (*s == '\0' || strlen(s) > 32)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			digits = 0;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
			return 0;
	}
	if (digits) {
		long v = strtol(s, NULL, 10);
		return v >= 1 && v <= 65535;
	}
	/* a service name ("smtp", "lmtp") starts with a letter */
	return *s >= 'a' && *s <= 'z';
}

int
nexthop_parse(const char *spec, struct nexthop *hop, char *err, size_t errlen)
{
	const char *rest, *port = NULL;
	char *host = NULL;

	memset(hop, 0, sizeof(*hop));
	if (strncmp(spec, "maildir:", 8) == 0) {
		if (spec[8] == '\0')
			return hop_error(err, errlen, "next hop \"%s\": empty maildir path", spec);
		hop->kind = NEXTHOP_MAILDIR;
		hop->maildir = xstrdup(spec + 8);
		return 0;
	}
	if (strncmp(spec, "smtp:", 5) == 0)
		hop->kind = NEXTHOP_SMTP;
	else if (strncmp(spec, "lmtp:", 5) == 0)
		hop->kind = NEXTHOP_LMTP;
	else
		return hop_error(err, errlen,
		    "next hop \"%s\": expected smtp:, lmtp: or maildir:", spec);
	rest = spec + 5;

	if (strncmp(rest, "unix:", 5) == 0) {
		struct sockaddr_un sun;
		const char *path = rest + 5;
		if (*path == '\0' || strlen(path) >= sizeof(sun.sun_path))
			return hop_error(err, errlen,
			    "next hop \"%s\": bad unix socket path", spec);
		hop->unix_path = xstrdup(path);
		return 0;
	}

	if (*rest == '[') {
		const char *end = strchr(rest, ']');
		struct in6_addr a6;
		if (end == NULL)
			return hop_error(err, errlen, "next hop \"%s\": missing ']'", spec);
		host = xstrndup(rest + 1, (size_t)(end - rest - 1));
		if (inet_pton(AF_INET6, host, &a6) != 1) {
			free(host);
			return hop_error(err, errlen,
			    "next hop \"%s\": bad IPv6 address in []", spec);
		}
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0') {
			free(host);
			return hop_error(err, errlen,
			    "next hop \"%s\": junk after ']'", spec);
		}
	} else {
		const char *colon = strchr(rest, ':');
		if (colon != NULL) {
			if (strchr(colon + 1, ':') != NULL)
				return hop_error(err, errlen,
				    "next hop \"%s\": put an IPv6 address in []", spec);
			host = xstrndup(rest, (size_t)(colon - rest));
			port = colon + 1;
		} else
			host = xstrdup(rest);
		if (!valid_hostname(host)) {
			free(host);
			return hop_error(err, errlen, "next hop \"%s\": bad host name", spec);
		}
	}
	if (port != NULL && !valid_port(port)) {
		free(host);
		return hop_error(err, errlen, "next hop \"%s\": bad port", spec);
	}
	hop->host = host;
	hop->port = xstrdup(port ? port : hop->kind == NEXTHOP_LMTP ? "24" : "25");
	return 0;
}

void
nexthop_clear(struct nexthop *hop)
{
	if (hop == NULL)
		return;
	free(hop->host);
	free(hop->port);
	free(hop->unix_path);
	free(hop->maildir);
	memset(hop, 0, sizeof(*hop));
}
