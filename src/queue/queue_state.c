/*
 * queue_state.c - the message state machine (see queue_state.h).
 *
 * Contract: pure functions, no I/O, no allocation, thread-safe.  An illegal
 * transition is not a panic: it is how a caller learns that a message moved
 * under it (an admin deleted it while delivery was running), so it returns
 * -1 and the caller decides.
 */
#include "queue/queue_state.h"

#include <stddef.h>

#define QEV_MAX QEV_EXPIRE
#define STATE_MAX MSG_DONE

/* next[from][event]: the new state, or 0 for an illegal transition. */
static const unsigned char next[STATE_MAX + 1][QEV_MAX + 1] = {
	[MSG_RECEIVED] = {
		[QEV_SCANNED_DELIVER] = MSG_QUEUED,
		[QEV_SCANNED_QUARANTINE] = MSG_QUARANTINED,
		[QEV_SCANNED_HOLD] = MSG_HELD,
		[QEV_SCANNED_REJECT] = MSG_DONE,
		[QEV_DELETE] = MSG_DONE,
	},
	[MSG_QUEUED] = {
		[QEV_DELIVERY_DEFER] = MSG_QUEUED,
		[QEV_DELIVERY_DONE] = MSG_DONE,
		[QEV_EXPIRE] = MSG_DONE,
		[QEV_DELETE] = MSG_DONE,
	},
	[MSG_QUARANTINED] = {
		[QEV_RELEASE] = MSG_QUEUED,
		[QEV_DELETE] = MSG_DONE,
		[QEV_EXPIRE] = MSG_DONE,
	},
	[MSG_HELD] = {
		[QEV_RELEASE] = MSG_QUEUED,
		[QEV_DELETE] = MSG_DONE,
		[QEV_EXPIRE] = MSG_DONE,
	},
	[MSG_DONE] = { 0 },
};

int
queue_state_next(enum msg_state from, enum queue_state_event ev, enum msg_state *to)
{
	unsigned char s;

	if ((int)from < MSG_RECEIVED || (int)from > STATE_MAX ||
	    (int)ev < QEV_SCANNED_DELIVER || (int)ev > QEV_MAX)
		return -1;
	s = next[from][ev];
	if (s == 0)
		return -1;
	*to = (enum msg_state)s;
	return 0;
}

const char *
queue_state_event_name(enum queue_state_event ev)
{
	static const char *const names[QEV_MAX + 1] = {
		[QEV_SCANNED_DELIVER] = "scanned_deliver",
		[QEV_SCANNED_QUARANTINE] = "scanned_quarantine",
		[QEV_SCANNED_HOLD] = "scanned_hold",
		[QEV_SCANNED_REJECT] = "scanned_reject",
		[QEV_DELIVERY_DONE] = "delivery_done",
		[QEV_DELIVERY_DEFER] = "delivery_defer",
		[QEV_RELEASE] = "release",
		[QEV_DELETE] = "delete",
		[QEV_EXPIRE] = "expire",
	};

	if ((int)ev < QEV_SCANNED_DELIVER || (int)ev > QEV_MAX)
		return "unknown";
	return names[ev];
}

int64_t
queue_backoff_ms(int attempts, int64_t min_ms, int64_t max_ms)
{
	int64_t d;

	if (min_ms < 0)
		min_ms = 0;
	if (max_ms < 0)
		max_ms = 0;
	if (max_ms <= min_ms)
		return max_ms;
	/* Double until the cap; comparing against max/2 first keeps the
	 * multiplication from overflowing whatever the attempt count. */
	d = min_ms;
	for (int i = 1; i < attempts && d < max_ms; i++) {
		if (d == 0 || d > max_ms / 2)
			return d == 0 ? 0 : max_ms;
		d *= 2;
	}
	return d < max_ms ? d : max_ms;
}
