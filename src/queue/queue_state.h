/*
 * queue_state.h - the life of a message as a pure state machine.
 *
 * The store keeps a message's state (enum msg_state, store.h); this module
 * says which event may move it where.  Nothing here touches the store, the
 * spool or the clock: the caller asks queue_state_next(), and on 0 writes the
 * new state in the same store transaction as whatever caused the event.
 *
 *   RECEIVED    --SCANNED_DELIVER-->    QUEUED
 *   RECEIVED    --SCANNED_QUARANTINE--> QUARANTINED
 *   RECEIVED    --SCANNED_HOLD-->       HELD
 *   RECEIVED    --SCANNED_REJECT-->     DONE
 *   RECEIVED    --DELETE-->             DONE
 *   QUEUED      --DELIVERY_DEFER-->     QUEUED   (next_try from queue_backoff_ms)
 *   QUEUED      --DELIVERY_DONE-->      DONE     (every recipient final)
 *   QUEUED      --EXPIRE-->             DONE     (lifetime over: pending ones fail)
 *   QUEUED      --DELETE-->             DONE
 *   QUARANTINED --RELEASE-->            QUEUED
 *   QUARANTINED --DELETE | EXPIRE-->    DONE
 *   HELD        --RELEASE-->            QUEUED   (approved, or the hold timer ran out)
 *   HELD        --DELETE | EXPIRE-->    DONE     (recalled, refused, approval timed out)
 *
 * DONE is terminal: a DONE row is removed with store_msg_delete(), not moved.
 */
#ifndef SEKISHO_QUEUE_STATE_H
#define SEKISHO_QUEUE_STATE_H

#include <stdint.h>

#include "store/store.h"

/* (The tag is not "queue_event": queue.h uses that for ticket callbacks.) */
enum queue_state_event {
	QEV_SCANNED_DELIVER = 1,	/* verdict: deliver (possibly tagged) */
	QEV_SCANNED_QUARANTINE,		/* verdict: quarantine */
	QEV_SCANNED_HOLD,		/* verdict: hold, approval or recall window */
	QEV_SCANNED_REJECT,		/* verdict: reject/discard after acceptance */
	QEV_DELIVERY_DONE,		/* every recipient delivered or failed */
	QEV_DELIVERY_DEFER,		/* some recipient got a temporary failure */
	QEV_RELEASE,			/* admin release, approval, hold elapsed */
	QEV_DELETE,			/* admin delete, recall, refusal */
	QEV_EXPIRE,			/* queue lifetime or retention over */
};

/* 0 and *to set, or -1 (illegal transition or bad value; *to untouched). */
int queue_state_next(enum msg_state from, enum queue_state_event ev,
    enum msg_state *to);

/* "scanned_deliver", ... or "unknown". Static string. */
const char *queue_state_event_name(enum queue_state_event ev);

/*
 * Delay before the next try after the attempts-th failed delivery:
 * min_ms, 2*min_ms, 4*min_ms, ... capped at max_ms (attempts <= 1: min_ms).
 * No jitter: the result is a pure function of its arguments.  Negative
 * arguments count as 0; max_ms below min_ms returns max_ms.
 */
int64_t queue_backoff_ms(int attempts, int64_t min_ms, int64_t max_ms);

#endif
