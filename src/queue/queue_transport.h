/*
 * queue_transport.h - how the queue reaches its next hops.
 *
 * The queue decides what to deliver, where and when; talking SMTP or LMTP
 * to the next hop is src/smtp's (smtp_client.c).  So that the queue
 * depends on nothing above it (docs/architecture.md), it calls the client
 * through struct queue_transport, which sekishod hands to queue_start()
 * (smtp_client_transport).  The next hops themselves, and the options of a
 * connection, are the queue's: they come from its configuration.
 */
#ifndef SEKISHO_QUEUE_TRANSPORT_H
#define SEKISHO_QUEUE_TRANSPORT_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "store/envelope.h"

enum nexthop_kind { NEXTHOP_SMTP, NEXTHOP_LMTP, NEXTHOP_MAILDIR };

struct nexthop {
	enum nexthop_kind kind;
	char *host;		/* SMTP/LMTP over TCP; IPv6 literal without [] */
	char *port;
	char *unix_path;	/* LMTP (or SMTP) over a unix socket, or NULL */
	char *maildir;		/* NEXTHOP_MAILDIR: directory (absolute or relative) */
};

/*
 * Parse "smtp:HOST:PORT", "smtp:[IPv6]:PORT", "lmtp:HOST:PORT",
 * "lmtp:unix:/path", "maildir:PATH".  Port defaults: 25 (smtp), 24 (lmtp).
 * 0, or -1 with err.
 */
int nexthop_parse(const char *spec, struct nexthop *hop, char *err, size_t errlen);
void nexthop_clear(struct nexthop *hop);

enum transport_tls { TRANSPORT_TLS_NONE, TRANSPORT_TLS_MAY, TRANSPORT_TLS_ENCRYPT };

struct transport_opts {
	const char *helo_name;
	enum transport_tls tls;
	SSL_CTX *ssl_ctx;	/* client context, owned by the caller; NULL = no TLS */
	int connect_timeout;	/* seconds */
	int reply_timeout;	/* seconds per reply */
};

/*
 * One connection to a next hop (SMTP or LMTP; maildir is the queue's own).
 * The calls and their outcomes are those of smtp_client.h: connect (NULL
 * with a one-line reason and *permanent), deliver (0: the transaction ran,
 * outcomes per recipient in env; -1: the connection failed), reset between
 * messages, close (accepts NULL), the peer's name for the log.
 */
struct queue_transport {
	void *(*connect)(const struct nexthop *hop, const struct transport_opts *opts,
	    char *err, size_t errlen, int *permanent);
	int (*deliver)(void *conn, struct envelope *env, int fd);
	int (*reset)(void *conn);
	void (*close)(void *conn);
	const char *(*peer)(const void *conn);
};

#endif
