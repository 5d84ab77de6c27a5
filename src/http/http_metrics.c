/*
 * http_metrics.c - /metrics in the Prometheus text format (0.0.4).
 *
 *   sekisho_queue_messages{state}            gauge: messages in the store by state
 *   sekisho_received_total ... _rejected_total  counters of this sekishod since start
 *   sekisho_messages_logged{action}          gauge: verdicts in the message log
 *                                               (kept for message_log_retention)
 *   sekisho_symbol_hits{symbol}              gauge: messages with each symbol in the
 *                                               last 24 hours (by whole hours: the
 *                                               store's hourly counts, migration 15)
 *   sekisho_scan_duration_seconds            histogram: receipt to verdict
 *   sekisho_delivery_latency_seconds         histogram: receipt to delivery (per recipient)
 *
 * Label values are escaped (backslash, quote, newline) as the format asks.
 */
#include "http/http_int.h"
#include "queue/queue.h"
#include "store/store.h"
#include "util/util.h"

#include <string.h>

#define DAY_MS	(24LL * 3600 * 1000)

static void
label(struct buf *b, const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == '\\' || *p == '"')
			buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_str(b, "\\n");
		else
			buf_add(b, p, 1);
	}
}

struct mctx {
	struct buf *b;
	const char *metric;
	const char *lname;
};

static int
sym_cb(int64_t key, const char *name, int64_t n, void *arg)
{
	struct mctx *m = arg;

	(void)key;
	buf_printf(m->b, "%s{%s=\"", m->metric, m->lname);
	label(m->b, name);
	buf_printf(m->b, "\"} %lld\n", (long long)n);
	return 0;
}

struct act_sum {
	struct buf *b;
	int64_t counts[16];
	char names[16][24];
	size_t n;
};

static int
act_cb(int64_t key, const char *name, int64_t n, void *arg)
{
	struct act_sum *a = arg;
	size_t i;

	(void)key;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->names[i], name) == 0)
			break;
	if (i == a->n) {
		if (a->n == UTIL_ARRAY_LEN(a->names))
			return 0;
		util_strlcpy(a->names[a->n++], name, sizeof(a->names[0]));
	}
	a->counts[i] += n;
	return 0;
}

static void
histogram(struct buf *b, const char *name, const char *help, const struct queue_latency *l)
{
	uint64_t cum = 0;

	buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (size_t i = 0; i < QUEUE_LAT_BOUNDS; i++) {
		cum += l->bucket[i];
		buf_printf(b, "%s_bucket{le=\"%g\"} %llu\n", name,
		    (double)queue_latency_bounds_ms[i] / 1000, (unsigned long long)cum);
	}
	buf_printf(b, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.3f\n%s_count %llu\n", name,
	    (unsigned long long)l->count, name, (double)l->sum_ms / 1000, name,
	    (unsigned long long)l->count);
}

char *
http_metrics_text(struct http_server *srv, struct store *st)
{
	static const enum msg_state states[] = { MSG_RECEIVED, MSG_QUEUED, MSG_QUARANTINED,
		MSG_HELD };
	struct buf b = { 0 };
	struct mctx m;
	struct act_sum a;

	buf_str(&b, "# HELP sekisho_queue_messages Messages in the store by state.\n"
	    "# TYPE sekisho_queue_messages gauge\n");
	for (size_t i = 0; i < UTIL_ARRAY_LEN(states); i++) {
		int64_t n = store_msg_count(st, states[i]);

		if (n < 0)
			goto fail;
		buf_printf(&b, "sekisho_queue_messages{state=\"%s\"} %lld\n",
		    store_state_name(states[i]), (long long)n);
	}
	if (srv->q != NULL) {
		struct queue_stats qs;

		queue_get_stats(srv->q, &qs);
		buf_printf(&b, "# HELP sekisho_received_total Messages received since start.\n"
		    "# TYPE sekisho_received_total counter\nsekisho_received_total %llu\n"
		    "# HELP sekisho_delivered_total Messages delivered since start.\n"
		    "# TYPE sekisho_delivered_total counter\nsekisho_delivered_total %llu\n"
		    "# HELP sekisho_deferred_total Delivery deferrals since start.\n"
		    "# TYPE sekisho_deferred_total counter\nsekisho_deferred_total %llu\n"
		    "# HELP sekisho_bounced_total Bounces (DSN) since start.\n"
		    "# TYPE sekisho_bounced_total counter\nsekisho_bounced_total %llu\n"
		    "# HELP sekisho_rejected_total Messages refused since start.\n"
		    "# TYPE sekisho_rejected_total counter\nsekisho_rejected_total %llu\n",
		    (unsigned long long)qs.received, (unsigned long long)qs.delivered,
		    (unsigned long long)qs.deferred, (unsigned long long)qs.bounced,
		    (unsigned long long)qs.rejected);
		histogram(&b, "sekisho_scan_duration_seconds",
		    "Time from receipt to verdict.", &qs.scan);
		histogram(&b, "sekisho_delivery_latency_seconds",
		    "Time from receipt to delivery, per recipient.", &qs.delivery);
	}
	memset(&a, 0, sizeof(a));
	if (store_stats_by_action(st, 0, NULL, act_cb, &a) < 0)
		goto fail;
	buf_str(&b, "# HELP sekisho_messages_logged Verdicts in the message log by action.\n"
	    "# TYPE sekisho_messages_logged gauge\n");
	for (size_t i = 0; i < a.n; i++) {
		buf_str(&b, "sekisho_messages_logged{action=\"");
		label(&b, a.names[i]);
		buf_printf(&b, "\"} %lld\n", (long long)a.counts[i]);
	}
	buf_str(&b, "# HELP sekisho_symbol_hits Messages with each symbol in the last 24 hours.\n"
	    "# TYPE sekisho_symbol_hits gauge\n");
	m.b = &b;
	m.metric = "sekisho_symbol_hits";
	m.lname = "symbol";
	if (store_stats_symbols(st, util_now_ms() - DAY_MS, NULL, 1000, sym_cb, &m) < 0)
		goto fail;
	return buf_steal(&b, NULL);
fail:
	buf_free(&b);
	return NULL;
}
