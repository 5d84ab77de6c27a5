/*
 * notify_send.h - hand a notification mail to the queue.
 *
 * Two ways in, one function type (the same shape as outbound_inject_fn):
 *
 *   in sekishod   queue_inject() through a small adapter: the bytes are
 *                 spooled and fsynced, the store row follows in the queue
 *                 writer's next batch, delivery starts at once;
 *   in the CLI    notify_spool_inject(): the CLI has no queue, so it does
 *                 what the queue writer does for a message that is due:
 *                 spool the bytes (write, fsync, rename), then insert the
 *                 row as QUEUED, due now.  A running sekishod's scheduler
 *                 delivers it within queue_scan_interval, as it does a
 *                 released quarantined mail.  A crash between the two
 *                 leaves a file without a row, which spool_recover()
 *                 removes at the next start: never a row without bytes.
 *
 * Generated mail is not scanned (it is ours) and goes to the next hop of
 * the envelope's listener: "inbound" for our own users (alerts, digests),
 * "outbound" for people outside (incident warnings).
 */
#ifndef SEKISHO_NOTIFY_SEND_H
#define SEKISHO_NOTIFY_SEND_H

#include <stddef.h>

#include "notify/notify.h"
#include "store/envelope.h"
#include "util/config.h"

struct store;
struct spool;

/* Take env (freed on failure too), queue msg (copied).  0 or -1. */
typedef int (*notify_inject_fn)(void *arg, struct envelope *env, const char *msg,
    size_t len);

/* For notify_spool_inject: the CLI's own store connection and spool. */
struct notify_spool_sink {
	struct store *st;
	struct spool *sp;
};
int notify_spool_inject(void *arg, struct envelope *env, const char *msg, size_t len);

/* An envelope from the null sender to the addresses in to (separated by
 * spaces), for listener ("inbound" or "outbound"). */
struct envelope *notify_envelope(const struct config *cfg, const char *listener,
    const char *to);

/* Compose template kind in lang for to and queue it.  0, or -1 (logged). */
int notify_send(const struct config *cfg, notify_inject_fn inject, void *arg,
    const char *listener, const char *kind, const char *lang, const char *to,
    const struct notify_var *vars, size_t nvars);

/* The language of a person: the directory's, else notify_language.
 * Returns "ja" or "en" (static strings). */
const char *notify_lang_of(struct store *st, const struct config *cfg, const char *addr);

#endif
