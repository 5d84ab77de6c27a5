/*
 * queue.h - the queue manager: durable receipt, analysis, delivery, retry.
 *
 * The SMTP server hands over each received message with queue_submit().
 * From there:
 *
 *   writer thread   group commit: spool_finish() of every waiting message,
 *                   one directory fsync, one store transaction; only then
 *                   is the message reported QUEUE_DURABLE (the server may
 *                   answer 250).  Every later state change goes through the
 *                   same thread, in order.
 *   scan workers    pipeline_run() on each durable message (QUEUE_SCANNED).
 *   delivery        delivery_concurrency threads deliver to the next hop of
 *                   the message's listener, keep a connection open for the
 *                   next message, retry with back-off, and bounce (RFC 3464)
 *                   on permanent failure or expiry.
 *   scheduler       picks up deferred messages when their time comes.
 *
 * Callbacks for a ticket run on the thread that calls mainq_run() (the event
 * loop), never concurrently with it.
 */
#ifndef SEKISHO_QUEUE_H
#define SEKISHO_QUEUE_H

#include <stdint.h>

#include "policy/pipeline.h"
#include "queue/queue_spool.h"
#include "queue/queue_transport.h"
#include "store/envelope.h"
#include "util/config.h"
#include "util/tpool.h"

struct queue;
struct queue_ticket;

enum queue_event {
	QUEUE_DURABLE,		/* bytes and state on disk: 250 may be sent */
	QUEUE_FAILED,		/* could not be made durable: answer 451 */
	QUEUE_SCANNED,		/* analysis done: see queue_ticket_verdict() */
};

typedef void (*queue_cb)(void *arg, enum queue_event ev, struct queue_ticket *t);

/* Open spool and store, recover, start the threads; transport reaches the
 * SMTP and LMTP next hops (queue_transport.h).  NULL + err. */
struct queue *queue_start(const struct config *cfg, struct mainq *mq,
    const struct queue_transport *transport, char *err, size_t errlen);
/* Finish what is in hand (no new deliveries), stop the threads, free. */
void queue_stop(struct queue *q);

struct spool *queue_spool(struct queue *q);

/*
 * Hand over a received message (env and sf are taken over; env->id must be
 * the id sf was created with).  cb(arg, ...) is called with QUEUE_DURABLE or
 * QUEUE_FAILED, then, after durable, with QUEUE_SCANNED.
 */
struct queue_ticket *queue_submit(struct queue *q, struct envelope *env,
    struct spool_file *sf, queue_cb cb, void *arg);
/* The session is gone: no more callbacks for t. */
void queue_ticket_detach(struct queue_ticket *t);
/* The client was told 250: a later reject becomes a bounce. */
void queue_ticket_acked(struct queue_ticket *t);
/* The client was told the verdict's 5xx: the message is dropped. */
void queue_ticket_rejected(struct queue_ticket *t);
const char *queue_ticket_id(const struct queue_ticket *t);
const struct verdict *queue_ticket_verdict(const struct queue_ticket *t);
/* For QUEUE_FAILED: the errno of the failure (ENOSPC: the disk is full). */
int queue_ticket_error(const struct queue_ticket *t);

/*
 * Spool msg as a new message (a DSN, a notification mail) and hand it to
 * delivery through the next hop of env->listener, unscanned.  env is taken
 * over (freed on failure too); its id is assigned here and copied to id
 * (may be NULL).  0 once the bytes are durable (the store row follows in
 * the writer's next batch), or -1 with errno.
 */
int queue_inject(struct queue *q, struct envelope *env, const char *msg, size_t len,
    char id[QUEUE_ID_SIZE]);
/* Latency histograms for metrics: bucket[i] counts the times <= bound i
 * (queue_latency_bounds_ms, not cumulative); the last bucket is +Inf. */
#define QUEUE_LAT_BOUNDS	15
struct queue_latency {
	uint64_t count, sum_ms;
	uint64_t bucket[QUEUE_LAT_BOUNDS + 1];
};
extern const int64_t queue_latency_bounds_ms[QUEUE_LAT_BOUNDS];

/* Counts for logs and metrics. */
struct queue_stats {
	uint64_t received, delivered, deferred, bounced, rejected;
	struct queue_latency scan;	/* receipt to verdict (monotonic) */
	struct queue_latency delivery;	/* receipt to delivery, per recipient */
};
void queue_get_stats(struct queue *q, struct queue_stats *out);

#endif
