/*
 * envelope.h - what the SMTP session knew about a message.
 *
 * The envelope is the first part of the one struct that flows through the
 * pipeline (DESIGN.md): the SMTP server fills it, the store keeps it next to
 * the message's state, the analysis reads it, delivery updates the
 * per-recipient status.  It lives here because the store is the lowest layer
 * that must persist it.  All strings are owned by the envelope and freed by
 * envelope_free().
 */
#ifndef SEKISHO_ENVELOPE_H
#define SEKISHO_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define QUEUE_ID_SIZE 24	/* 20 characters + NUL, with room */

enum rcpt_status {
	RCPT_PENDING = 0,	/* not yet delivered */
	RCPT_DELIVERED = 1,	/* accepted by the next hop */
	RCPT_FAILED = 2,	/* refused permanently or expired: bounce */
	RCPT_BOUNCED = 3,	/* FAILED and the DSN has been queued */
};

/* DSN NOTIFY flags (RFC 3461). */
#define DSN_NOTIFY_SUCCESS	0x01
#define DSN_NOTIFY_FAILURE	0x02
#define DSN_NOTIFY_DELAY	0x04
#define DSN_NOTIFY_NEVER	0x08

enum dsn_ret { DSN_RET_DEFAULT = 0, DSN_RET_FULL, DSN_RET_HDRS };
enum body_type { BODY_7BIT = 0, BODY_8BITMIME, BODY_BINARYMIME };

struct rcpt {
	char *addr;		/* RCPT TO address without <> */
	char *orcpt;		/* ORCPT= value, or NULL */
	int notify;		/* DSN_NOTIFY_* or 0 for the default */
	enum rcpt_status status;
	char *reply;		/* last reply from the next hop, or NULL */
};

struct envelope {
	char id[QUEUE_ID_SIZE];
	char *listener;		/* "inbound" or "outbound" */
	char *client_addr;	/* IP address as text */
	char *client_name;	/* reverse name or "unknown" */
	char *helo;
	char *tls;		/* NULL, or "TLSv1.3 TLS_AES_256_GCM_SHA384" */
	char *auth_user;	/* NULL unless authenticated */
	char *mail_from;	/* "" for the null sender */
	enum body_type body;
	int smtputf8;
	enum dsn_ret ret;
	char *envid;		/* ENVID= or NULL */
	int64_t received_ms;	/* when the message was accepted */
	int64_t size;		/* bytes in the spool file */
	size_t nrcpt;
	struct rcpt *rcpt;
};

struct envelope *envelope_new(void);
void envelope_free(struct envelope *env);
/* Append a recipient (copies addr and orcpt). Returns it. */
struct rcpt *envelope_add_rcpt(struct envelope *env, const char *addr,
    const char *orcpt, int notify);
/* Deep copy. */
struct envelope *envelope_dup(const struct envelope *env);
/* Count recipients in a status. */
size_t envelope_count(const struct envelope *env, enum rcpt_status status);
/* The domain part of an address ("" when none). Points into addr. */
const char *envelope_domain(const char *addr);

#endif
