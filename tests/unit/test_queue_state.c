/*
 * test_queue_state.c - the full transition table of queue_state_next() and
 * the back-off curve.  Every (state, event) pair is checked: the legal ones
 * against the table below, all others must be refused without touching *to.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "queue/queue_state.h"
#include "util/util.h"

static const struct {
	enum msg_state from;
	enum queue_state_event ev;
	enum msg_state to;
} legal[] = {
	{ MSG_RECEIVED, QEV_SCANNED_DELIVER, MSG_QUEUED },
	{ MSG_RECEIVED, QEV_SCANNED_QUARANTINE, MSG_QUARANTINED },
	{ MSG_RECEIVED, QEV_SCANNED_HOLD, MSG_HELD },
	{ MSG_RECEIVED, QEV_SCANNED_REJECT, MSG_DONE },
	{ MSG_RECEIVED, QEV_DELETE, MSG_DONE },
	{ MSG_QUEUED, QEV_DELIVERY_DEFER, MSG_QUEUED },
	{ MSG_QUEUED, QEV_DELIVERY_DONE, MSG_DONE },
	{ MSG_QUEUED, QEV_EXPIRE, MSG_DONE },
	{ MSG_QUEUED, QEV_DELETE, MSG_DONE },
	{ MSG_QUARANTINED, QEV_RELEASE, MSG_QUEUED },
	{ MSG_QUARANTINED, QEV_DELETE, MSG_DONE },
	{ MSG_QUARANTINED, QEV_EXPIRE, MSG_DONE },
	{ MSG_HELD, QEV_RELEASE, MSG_QUEUED },
	{ MSG_HELD, QEV_DELETE, MSG_DONE },
	{ MSG_HELD, QEV_EXPIRE, MSG_DONE },
};

static void
test_transition_table(void **state)
{
	(void)state;
	/* One beyond each end of both enums, to check range checks too. */
	for (int from = 0; from <= MSG_DONE + 1; from++) {
		for (int ev = 0; ev <= QEV_EXPIRE + 1; ev++) {
			enum msg_state to = (enum msg_state)77;
			int want = 0, rc;

			for (size_t i = 0; i < UTIL_ARRAY_LEN(legal); i++)
				if ((int)legal[i].from == from && (int)legal[i].ev == ev)
					want = (int)legal[i].to;
			rc = queue_state_next((enum msg_state)from,
			    (enum queue_state_event)ev, &to);
			if (want) {
				if (rc != 0 || (int)to != want)
					fail_msg("%d --%s--> expected %d, got rc %d to %d",
					    from, queue_state_event_name((enum queue_state_event)ev),
					    want, rc, (int)to);
			} else {
				if (rc != -1 || (int)to != 77)
					fail_msg("%d --%d--> should be illegal (rc %d to %d)",
					    from, ev, rc, (int)to);
			}
		}
	}
}

static void
test_done_is_terminal(void **state)
{
	enum msg_state to;

	(void)state;
	for (int ev = QEV_SCANNED_DELIVER; ev <= QEV_EXPIRE; ev++)
		assert_int_equal(queue_state_next(MSG_DONE,
		    (enum queue_state_event)ev, &to), -1);
}

static void
test_event_names(void **state)
{
	(void)state;
	assert_string_equal(queue_state_event_name(QEV_SCANNED_DELIVER), "scanned_deliver");
	assert_string_equal(queue_state_event_name(QEV_EXPIRE), "expire");
	assert_string_equal(queue_state_event_name((enum queue_state_event)0), "unknown");
	assert_string_equal(queue_state_event_name((enum queue_state_event)99), "unknown");
	for (int ev = QEV_SCANNED_DELIVER; ev <= QEV_EXPIRE; ev++)
		assert_string_not_equal(queue_state_event_name((enum queue_state_event)ev),
		    "unknown");
}

static void
test_backoff(void **state)
{
	static const struct {
		int attempts;
		int64_t min, max, want;
	} cases[] = {
		{ -5, 60000, 3600000, 60000 },
		{ 0, 60000, 3600000, 60000 },
		{ 1, 60000, 3600000, 60000 },
		{ 2, 60000, 3600000, 120000 },
		{ 3, 60000, 3600000, 240000 },
		{ 6, 60000, 3600000, 1920000 },
		{ 7, 60000, 3600000, 3600000 },		/* 3840000 capped */
		{ 100, 60000, 3600000, 3600000 },
		{ INT32_MAX, 60000, 3600000, 3600000 },
		{ 63, 1, INT64_MAX, INT64_C(1) << 62 },
		{ 64, 1, INT64_MAX, INT64_MAX },	/* no overflow */
		{ INT32_MAX, 3, INT64_MAX, INT64_MAX },
		{ 5, 0, 1000, 0 },
		{ 5, 1000, 1000, 1000 },
		{ 5, 5000, 1000, 1000 },		/* max below min wins */
		{ 3, -10, 1000, 0 },
	};

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(cases); i++) {
		int64_t got = queue_backoff_ms(cases[i].attempts, cases[i].min, cases[i].max);

		if (got != cases[i].want)
			fail_msg("case %zu: backoff(%d, %lld, %lld) = %lld, want %lld", i,
			    cases[i].attempts, (long long)cases[i].min,
			    (long long)cases[i].max, (long long)got,
			    (long long)cases[i].want);
	}
	/* Monotone in attempts. */
	for (int a = 1; a < 40; a++)
		assert_true(queue_backoff_ms(a, 300000, 14400000) <=
		    queue_backoff_ms(a + 1, 300000, 14400000));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_transition_table),
		cmocka_unit_test(test_done_is_terminal),
		cmocka_unit_test(test_event_names),
		cmocka_unit_test(test_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
