/*
 * queue_dsn.h - delivery status notifications (RFC 3464).
 *
 * A DSN is built for the recipients of a message that are RCPT_FAILED (a
 * permanent refusal by the next hop, or expiry of the queue lifetime).  It
 * goes to the envelope sender from the null sender; a message with a null
 * sender never gets one (the caller checks dsn_wanted()).
 */
#ifndef SEKISHO_QUEUE_DSN_H
#define SEKISHO_QUEUE_DSN_H

#include <stddef.h>
#include <stdint.h>

#include "store/envelope.h"

/* Should a DSN be sent for env's failed recipients?  No for the null sender,
 * and no when every failed recipient asked NOTIFY=NEVER (or not FAILURE). */
int dsn_wanted(const struct envelope *env);

/*
 * Build the whole DSN message (headers and multipart/report body, CRLF line
 * endings) for the RCPT_FAILED recipients of env.  fd is the original
 * message (read from its start): its headers are returned (RET=HDRS, and the
 * default) or the whole message (RET=FULL, up to max_return bytes, else
 * headers only).  reporting_mta is our host name; now_ms the arrival time
 * used in the Date header.  Returns a malloc'ed buffer and its length in
 * *len, or NULL on a read error.
 */
char *dsn_build(const struct envelope *env, int fd, const char *reporting_mta,
    int64_t now_ms, size_t max_return, size_t *len);

#endif
