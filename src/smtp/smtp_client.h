/*
 * smtp_client.h - delivery to a next hop over SMTP or LMTP.
 *
 * A blocking client meant to run on a delivery thread: every read, write and
 * connect has a timeout (poll), so a silent next hop costs one thread for at
 * most the configured time.  STARTTLS is used when offered
 * (tls_level "may") or required ("encrypt": no STARTTLS means a temporary
 * failure, never plaintext).  PIPELINING is used when offered: MAIL, all
 * RCPTs and DATA go in one write.  A connection can carry many messages
 * (smtp_client_reset between them).
 *
 * Outcomes per recipient are written into the envelope: for each recipient
 * still RCPT_PENDING, a 2xx final answer makes it RCPT_DELIVERED, a 5xx
 * RCPT_FAILED, a 4xx leaves it RCPT_PENDING; in each case rcpt->reply holds
 * the next hop's reply (one line, "host[addr] said: 550 5.1.1 ...").  With
 * LMTP the reply after the final dot is per accepted recipient.
 */
#ifndef SEKISHO_SMTP_CLIENT_H
#define SEKISHO_SMTP_CLIENT_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "queue/queue_transport.h"
#include "store/envelope.h"

struct smtp_conn;

/*
 * Connect, read the greeting, EHLO (LHLO for LMTP), STARTTLS when asked.
 * NULL on failure; err then holds a one-line reason starting with an
 * enhanced status ("4.4.1 connect to 127.0.0.1:25: Connection refused",
 * "5.0.0 ... said: 554 ..." for a permanent greeting refusal), and
 * *permanent is set when the failure is permanent.
 */
struct smtp_conn *smtp_client_connect(const struct nexthop *hop,
    const struct transport_opts *opts, char *err, size_t errlen, int *permanent);

/*
 * Send one message.  fd is the spool file (read from its start; bytes with
 * CRLF line endings, not dot-stuffed: the client stuffs).  Only recipients
 * in RCPT_PENDING state are sent.  Returns 0 when the transaction ran to its
 * end (see the per-recipient outcomes; the connection can be reused after
 * smtp_client_reset), -1 when the connection failed (every pending recipient
 * keeps RCPT_PENDING with the reason in its reply; close the connection).
 */
int smtp_client_deliver(struct smtp_conn *c, struct envelope *env, int fd);

/* RSET for the next message. 0, or -1 when the connection is no longer usable. */
int smtp_client_reset(struct smtp_conn *c);
/* QUIT (best effort) and free. Accepts NULL. */
void smtp_client_close(struct smtp_conn *c);
/* The "host[addr]:port" the connection went to. */
const char *smtp_client_peer(const struct smtp_conn *c);
/* Is the connection using TLS? */
int smtp_client_tls(const struct smtp_conn *c);

/* The calls above as the queue's transport (queue_transport.h). */
extern const struct queue_transport smtp_client_transport;

#endif
