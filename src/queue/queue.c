/*
 * queue.c - the queue manager (see queue.h for the threads and their jobs).
 *
 * Durability rule: a message is reported QUEUE_DURABLE only after its spool
 * file was fsynced and renamed, the queue directory fsynced, and its store
 * row committed (SQLite WAL, synchronous=FULL).  Many messages share the
 * directory fsync and the store commit: the writer takes every operation
 * that arrived while it was busy and commits them as one batch.
 *
 * Ordering rule: every store change for a message goes through the writer,
 * in the order it was asked for, and a message's spool file is unlinked only
 * after the transaction that deleted its row is durable.  A crash at any
 * point therefore leaves either a row with its file (delivered again at
 * start-up: at worst a duplicate, never a loss) or an orphan file that was
 * never acknowledged or already delivered (removed by spool_recover).
 *
 * A message is "in flight" from the moment the queue has it in hand until
 * its deferral, quarantine or deletion is committed; the scheduler never
 * picks an in-flight message, so no message is delivered twice at once.
 */
#include "queue/queue.h"
#include "queue/queue_digest.h"
#include "queue/queue_dsn.h"
#include "queue/queue_maildir.h"
#include "queue/queue_state.h"
#include "outbound/attach_link.h"
#include "outbound/outbound.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WRITER_BATCH_MAX	1024
#define DUE_BATCH		256
#define DSN_MAX_RETURN		(256 * 1024)

struct queue_ticket {
	struct queue *q;
	struct envelope *env;
	struct spool_file *sf;
	queue_cb cb;
	void *arg;
	int acked;		/* 250 sent */
	int rejected;		/* 5xx sent */
	int failed;		/* could not be made durable */
	int err;		/* errno of that failure */
	int64_t staged;		/* size of the rewritten message in tmp/ID.r, or -1 */
	int64_t start_ms;	/* monotonic, for the decision log */
	struct verdict verdict;
};

/* ---- latency histograms (metrics) ---- */

const int64_t queue_latency_bounds_ms[QUEUE_LAT_BOUNDS] = {
	5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 3600000,
};

struct latency_hist {
	atomic_uint_fast64_t count, sum_ms, bucket[QUEUE_LAT_BOUNDS + 1];
};

static void
latency_note(struct latency_hist *h, int64_t ms)
{
	size_t i = 0;

	if (ms < 0)
		ms = 0;
	while (i < QUEUE_LAT_BOUNDS && ms > queue_latency_bounds_ms[i])
		i++;
	atomic_fetch_add(&h->bucket[i], 1);
	atomic_fetch_add(&h->sum_ms, (uint_fast64_t)ms);
	atomic_fetch_add(&h->count, 1);
}

static void
latency_get(struct latency_hist *h, struct queue_latency *out)
{
	out->count = atomic_load(&h->count);
	out->sum_ms = atomic_load(&h->sum_ms);
	for (size_t i = 0; i <= QUEUE_LAT_BOUNDS; i++)
		out->bucket[i] = atomic_load(&h->bucket[i]);
}

/* ---- in-flight set: ids the queue has in hand ---- */

#define INFLIGHT_BUCKETS 4096

struct inflight_entry {
	struct inflight_entry *next;
	char id[QUEUE_ID_SIZE];
};

struct inflight {
	pthread_mutex_t lock;
	struct inflight_entry *bucket[INFLIGHT_BUCKETS];
};

static unsigned
id_hash(const char *id)
{
	unsigned h = 5381;

	while (*id)
		h = h * 33 + (unsigned char)*id++;
	return h % INFLIGHT_BUCKETS;
}

/* Returns 1 if added, 0 if it was already there. */
static int
inflight_add(struct inflight *in, const char *id)
{
	unsigned h = id_hash(id);
	struct inflight_entry *e;

	pthread_mutex_lock(&in->lock);
	for (e = in->bucket[h]; e; e = e->next)
		if (strcmp(e->id, id) == 0) {
			pthread_mutex_unlock(&in->lock);
			return 0;
		}
	e = xmalloc(sizeof(*e));
	util_strlcpy(e->id, id, sizeof(e->id));
	e->next = in->bucket[h];
	in->bucket[h] = e;
	pthread_mutex_unlock(&in->lock);
	return 1;
}

static void
inflight_remove(struct inflight *in, const char *id)
{
	unsigned h = id_hash(id);
	struct inflight_entry **pp, *e;

	pthread_mutex_lock(&in->lock);
	for (pp = &in->bucket[h]; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->id, id) == 0) {
			*pp = e->next;
			free(e);
			break;
		}
	pthread_mutex_unlock(&in->lock);
}

static void
inflight_clear(struct inflight *in)
{
	for (size_t i = 0; i < INFLIGHT_BUCKETS; i++)
		while (in->bucket[i]) {
			struct inflight_entry *e = in->bucket[i];
			in->bucket[i] = e->next;
			free(e);
		}
}

/* ---- writer operations ---- */

enum wop_kind { WOP_INSERT, WOP_UPDATE, WOP_DELETE };
enum wop_then {
	THEN_NOTHING,
	THEN_SCAN,		/* insert of a received message: report, then scan */
	THEN_DELIVER,		/* hand to the delivery threads */
	THEN_RELEASE,		/* no longer in flight */
};

struct wop {
	struct wop *next;
	enum wop_kind kind;
	enum wop_then then;
	struct envelope *env;	/* owned */
	struct queue_info qi;
	struct spool_file *sf;	/* WOP_INSERT of a received message */
	struct queue_ticket *t;
	int ok;
	int err;		/* errno when !ok */
	int64_t promote;	/* >= 0: rename tmp/ID.r over queue/ID first (new size) */
	int protect;		/* the rewrite replaced attachments (attach_link.h) */
};

/* ---- delivery queue: ids waiting for a delivery thread ---- */

struct dq_entry {
	struct dq_entry *next;
	char id[QUEUE_ID_SIZE];
};

struct queue {
	const struct config *cfg;
	struct mainq *mq;
	struct spool *spool;
	struct pipeline *pipeline;
	struct tpool *scan_pool;
	struct inflight inflight;

	/* writer */
	pthread_t writer;
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	struct wop *whead, **wtail;
	int wstop;
	struct store *wstore;

	/* delivery */
	pthread_mutex_t dlock;
	pthread_cond_t dcond;
	struct dq_entry *dhead, **dtail;
	int dstop;
	size_t ndelivery;
	pthread_t *delivery;
	struct nexthop hop_in, hop_out;
	const struct queue_transport *transport;	/* SMTP/LMTP, from sekishod */
	SSL_CTX *client_ctx;
	char *maildir_in, *maildir_out;

	/* scheduler */
	pthread_t scheduler;
	pthread_mutex_t slock;
	pthread_cond_t scond;
	int sstop;

	int stopping;		/* main thread: queue_stop() has begun */
	atomic_uint_fast64_t n_received, n_delivered, n_deferred, n_bounced, n_rejected;
	struct latency_hist scan_lat, deliv_lat;
};

static void writer_post(struct queue *q, struct wop *op);
static void scan_job(void *arg);

/* ---- delivery queue ---- */

static void
dq_push(struct queue *q, const char *id)
{
	struct dq_entry *e = xmalloc(sizeof(*e));

	util_strlcpy(e->id, id, sizeof(e->id));
	e->next = NULL;
	pthread_mutex_lock(&q->dlock);
	*q->dtail = e;
	q->dtail = &e->next;
	pthread_cond_signal(&q->dcond);
	pthread_mutex_unlock(&q->dlock);
}

/* Wait up to wait_ms for an id. 1 got one, 0 timed out, -1 stopping. */
static int
dq_pop(struct queue *q, char id[QUEUE_ID_SIZE], int64_t wait_ms)
{
	struct timespec ts;
	struct dq_entry *e;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += wait_ms / 1000;
	ts.tv_nsec += (wait_ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&q->dlock);
	while (q->dhead == NULL && !q->dstop) {
		if (wait_ms < 0)
			pthread_cond_wait(&q->dcond, &q->dlock);
		else if (pthread_cond_timedwait(&q->dcond, &q->dlock, &ts) == ETIMEDOUT)
			break;
	}
	if (q->dstop) {
		rc = -1;
	} else if ((e = q->dhead) != NULL) {
		q->dhead = e->next;
		if (q->dhead == NULL)
			q->dtail = &q->dhead;
		util_strlcpy(id, e->id, QUEUE_ID_SIZE);
		free(e);
		rc = 1;
	}
	pthread_mutex_unlock(&q->dlock);
	return rc;
}

/* ---- the writer: group commit ---- */

static struct wop *
wop_new(enum wop_kind kind, enum wop_then then, struct envelope *env)
{
	struct wop *op = xcalloc(1, sizeof(*op));

	op->kind = kind;
	op->then = then;
	op->env = env;
	op->promote = -1;
	return op;
}

static void
wop_free(struct wop *op)
{
	envelope_free(op->env);
	queue_info_clear(&op->qi);
	free(op);
}

static void
writer_post(struct queue *q, struct wop *op)
{
	pthread_mutex_lock(&q->wlock);
	*q->wtail = op;
	q->wtail = &op->next;
	pthread_cond_signal(&q->wcond);
	pthread_mutex_unlock(&q->wlock);
}

static int
wop_apply(struct queue *q, struct wop *op)
{
	switch (op->kind) {
	case WOP_INSERT:
		return store_msg_insert(q->wstore, op->env, &op->qi);
	case WOP_UPDATE:
		if (store_msg_update(q->wstore, op->env, &op->qi) < 0)
			return -1;
		/* the download link works from the moment its message is in place */
		if (op->protect && store_attach_activate(q->wstore, op->env->id) < 0)
			return -1;
		/* a held message gets its hold record in the same transaction */
		return op->qi.state == MSG_HELD ?
		    outbound_hold_record(q->wstore, q->cfg, op->env, &op->qi) : 0;
	case WOP_DELETE:
		return store_msg_delete(q->wstore, op->env->id) < 0 ? -1 : 0;
	}
	return -1;
}

/*
 * Commit a batch.  Spool files first (each fsynced by spool_finish), then
 * one directory fsync, then one transaction.  When the transaction fails as
 * a whole, each operation is retried on its own so that one bad row cannot
 * fail its neighbours.
 */
static void
writer_commit(struct queue *q, struct wop *batch)
{
	struct wop *op;
	int need_sync = 0, sync_failed = 0, failed = 0;

	for (op = batch; op; op = op->next) {
		op->ok = 1;
		if (op->sf != NULL) {
			if (spool_finish(op->sf) < 0) {
				op->err = errno;
				log_err("queue: spool commit failed id=%s: %s",
				    op->env->id, strerror(errno));
				op->ok = 0;
			} else {
				need_sync = 1;
			}
			op->sf = NULL;
		}
	}
	for (op = batch; op; op = op->next)
		if (op->promote >= 0) {
			if (spool_promote(q->spool, op->env->id) == 0) {
				op->env->size = op->promote;
				need_sync = 1;
			} else if (op->protect) {
				/* never the original: its attachments were to be replaced */
				log_err("queue: cannot put the rewritten message in place id=%s: %s; "
				    "quarantined", op->env->id, strerror(errno));
				op->protect = 0;
				op->qi.state = MSG_QUARANTINED;
				op->then = THEN_RELEASE;
			} else {
				log_err("queue: cannot put the rewritten message in place id=%s: %s; "
				    "the original is delivered", op->env->id, strerror(errno));
			}
		}
	if (need_sync && spool_sync(q->spool) < 0) {
		sync_failed = errno;
		log_err("queue: spool directory fsync failed: %s", strerror(errno));
	}
	for (op = batch; op; op = op->next)
		if (sync_failed && op->kind == WOP_INSERT && op->t != NULL && op->ok) {
			op->ok = 0;
			op->err = sync_failed;
			spool_remove(q->spool, op->env->id);
		}

	if (store_begin(q->wstore) == 0) {
		for (op = batch; op && !failed; op = op->next)
			if (op->ok && wop_apply(q, op) < 0)
				failed = 1;
		if (!failed && store_commit(q->wstore) == 0)
			goto done;
		log_warn("queue: batch commit failed (%s); retrying one by one",
		    store_errmsg(q->wstore));
		store_rollback(q->wstore);
	}
	for (op = batch; op; op = op->next) {
		if (!op->ok)
			continue;
		if (store_begin(q->wstore) < 0 || wop_apply(q, op) < 0 ||
		    store_commit(q->wstore) < 0) {
			log_err("queue: store write failed id=%s: %s", op->env->id,
			    store_errmsg(q->wstore));
			store_rollback(q->wstore);
			op->ok = 0;
		}
	}
done:
	for (op = batch; op; op = op->next) {
		if (op->kind == WOP_INSERT && !op->ok)
			spool_remove(q->spool, op->env->id);
	}
}

static void ticket_durable(void *arg);

/* After the batch is durable: unlink, report, hand on. */
static void
writer_finish(struct queue *q, struct wop *op)
{
	char id[QUEUE_ID_SIZE];

	util_strlcpy(id, op->env->id, sizeof(id));
	if (op->kind == WOP_DELETE && op->ok)
		spool_remove(q->spool, id);
	switch (op->then) {
	case THEN_SCAN:
		/* the ticket travels on; the main thread reports and scans */
		op->t->env = op->env;
		op->env = NULL;
		op->t->failed = !op->ok;
		op->t->err = op->err;
		if (!op->ok)
			inflight_remove(&q->inflight, id);
		mainq_post(q->mq, ticket_durable, op->t);
		break;
	case THEN_DELIVER:
		if (op->ok)
			dq_push(q, id);
		else
			inflight_remove(&q->inflight, id);
		break;
	case THEN_RELEASE:
		inflight_remove(&q->inflight, id);
		break;
	case THEN_NOTHING:
		break;
	}
	wop_free(op);
}

static void *
writer_main(void *arg)
{
	struct queue *q = arg;

	for (;;) {
		struct wop *batch, *op, *next, **tail;
		size_t n = 0;

		pthread_mutex_lock(&q->wlock);
		while (q->whead == NULL && !q->wstop)
			pthread_cond_wait(&q->wcond, &q->wlock);
		if (q->whead == NULL) {
			pthread_mutex_unlock(&q->wlock);
			return NULL;
		}
		/* take up to WRITER_BATCH_MAX operations */
		batch = q->whead;
		tail = &batch;
		for (op = batch; op && n < WRITER_BATCH_MAX; op = op->next, n++)
			tail = &op->next;
		q->whead = *tail;
		*tail = NULL;
		if (q->whead == NULL)
			q->wtail = &q->whead;
		pthread_mutex_unlock(&q->wlock);

		writer_commit(q, batch);
		for (op = batch; op; op = next) {
			next = op->next;
			writer_finish(q, op);
		}
	}
}

/* ---- tickets: received messages on the main thread ---- */

struct queue_ticket *
queue_submit(struct queue *q, struct envelope *env, struct spool_file *sf,
    queue_cb cb, void *arg)
{
	struct queue_ticket *t = xcalloc(1, sizeof(*t));
	struct wop *op = wop_new(WOP_INSERT, THEN_SCAN, env);

	t->q = q;
	t->cb = cb;
	t->arg = arg;
	t->start_ms = util_mono_ms();
	env->size = spool_size(sf);
	op->sf = sf;
	op->t = t;
	op->qi.state = MSG_RECEIVED;
	op->qi.created_ms = env->received_ms;
	op->qi.next_try_ms = env->received_ms;
	inflight_add(&q->inflight, env->id);
	atomic_fetch_add(&q->n_received, 1);
	writer_post(q, op);
	return t;
}

void
queue_ticket_detach(struct queue_ticket *t)
{
	t->cb = NULL;
	t->arg = NULL;
}

void
queue_ticket_acked(struct queue_ticket *t)
{
	t->acked = 1;
}

void
queue_ticket_rejected(struct queue_ticket *t)
{
	t->rejected = 1;
}

const char *
queue_ticket_id(const struct queue_ticket *t)
{
	return t->env ? t->env->id : "";
}

int
queue_ticket_error(const struct queue_ticket *t)
{
	return t->err;
}

const struct verdict *
queue_ticket_verdict(const struct queue_ticket *t)
{
	return &t->verdict;
}

static void
ticket_free(struct queue_ticket *t)
{
	envelope_free(t->env);
	verdict_clear(&t->verdict);
	free(t);
}

/* Main thread: the insert batch is done (or failed). */
static void
ticket_durable(void *arg)
{
	struct queue_ticket *t = arg;
	struct queue *q = t->q;

	if (t->failed) {
		if (t->cb)
			t->cb(t->arg, QUEUE_FAILED, t);
		ticket_free(t);
		return;
	}
	if (t->cb)
		t->cb(t->arg, QUEUE_DURABLE, t);
	if (q->stopping) {
		/* stays MSG_RECEIVED in the store: analysed at the next start */
		ticket_free(t);
		return;
	}
	tpool_submit(q->scan_pool, scan_job, t);
}

static void
log_decision(const struct envelope *env, const struct queue_ticket *t, const char *action)
{
	char from[600], rcpt[600], client[128], subject[400];
	int64_t ms = util_mono_ms() - t->start_ms;

	latency_note(&t->q->scan_lat, ms);
	log_kv_quote(from, sizeof(from), env->mail_from);
	log_kv_quote(rcpt, sizeof(rcpt), env->nrcpt ? env->rcpt[0].addr : "");
	log_kv_quote(client, sizeof(client), env->client_addr ? env->client_addr : "local");
	log_kv_quote(subject, sizeof(subject), t->verdict.subject ? t->verdict.subject : "");
	log_info("decision id=%s listener=%s client=%s from=<%s> to=<%s> nrcpt=%zu size=%lld "
	    "action=%s score=%.2f time=%lldms subject=%s", env->id, env->listener, client,
	    from, rcpt, env->nrcpt, (long long)env->size, action, t->verdict.score,
	    (long long)ms, subject);
}

/* Main thread: analysis done.  The session answers; then the state moves. */
static void
ticket_scanned(void *arg)
{
	struct queue_ticket *t = arg;
	struct queue *q = t->q;
	struct envelope *env = t->env;
	struct wop *op;
	enum msg_state to;

	if (t->cb)
		t->cb(t->arg, QUEUE_SCANNED, t);
	t->env = NULL;

	switch (t->verdict.action) {
	case ACTION_REJECT:
		if (t->rejected) {
			atomic_fetch_add(&q->n_rejected, 1);
			log_decision(env, t, "reject");
			op = wop_new(WOP_DELETE, THEN_RELEASE, env);
			break;
		}
		/* already acknowledged: the refusal becomes a bounce */
		for (size_t i = 0; i < env->nrcpt; i++) {
			env->rcpt[i].status = RCPT_FAILED;
			free(env->rcpt[i].reply);
			env->rcpt[i].reply = xstrdup(t->verdict.reply[0] ?
			    t->verdict.reply : "550 5.7.1 Message refused by policy");
		}
		log_decision(env, t, "bounce");
		op = wop_new(WOP_UPDATE, THEN_DELIVER, env);
		op->qi.state = MSG_QUEUED;
		break;
	case ACTION_QUARANTINE:
	case ACTION_HOLD:
		log_decision(env, t, action_name(t->verdict.action));
		op = wop_new(WOP_UPDATE, THEN_RELEASE, env);
		(void)queue_state_next(MSG_RECEIVED, t->verdict.action == ACTION_HOLD ?
		    QEV_SCANNED_HOLD : QEV_SCANNED_QUARANTINE, &to);
		op->qi.state = to;
		break;
	case ACTION_DELIVER:
	case ACTION_TAG:
	default:
		log_decision(env, t, action_name(t->verdict.action));
		op = wop_new(WOP_UPDATE, THEN_DELIVER, env);
		op->qi.state = MSG_QUEUED;
		break;
	}
	if (op->kind == WOP_UPDATE) {
		op->qi.created_ms = env->received_ms;
		op->qi.next_try_ms = util_now_ms();
		op->qi.action = xstrdup(action_name(t->verdict.action));
		op->qi.scan = t->verdict.scan_json;
		op->qi.subject = t->verdict.subject;
		op->promote = t->staged;
		op->protect = t->staged >= 0 && t->verdict.protect;
		if (op->qi.state == MSG_HELD && t->verdict.hold_kind[0]) {
			/* the hold's kind, and when a timed hold ends */
			free(op->qi.action);
			op->qi.action = xstrdup(t->verdict.hold_kind);
			op->qi.next_try_ms += t->verdict.hold_ms;
		}
		t->verdict.scan_json = NULL;
		t->verdict.subject = NULL;
	}
	writer_post(q, op);
	verdict_clear(&t->verdict);
	free(t);
}

/*
 * Scan worker.  A rewritten message (headers, tag, banner) is written and
 * fsynced beside the queue file here, in parallel on the workers; the writer
 * renames it into place in the same batch that records the verdict, so the
 * directory fsync is shared.  If staging fails the original bytes are
 * delivered.
 */
static void
scan_job(void *arg)
{
	struct queue_ticket *t = arg;
	struct queue *q = t->q;
	char *path = spool_path(q->spool, t->env->id);

	t->staged = -1;
	if (pipeline_run(q->pipeline, t->env, path, &t->verdict, NULL) < 0) {
		/* never pass unscanned: keep it for an admin */
		log_err("queue: analysis failed id=%s: %s; message quarantined", t->env->id,
		    strerror(errno));
		verdict_clear(&t->verdict);
		t->verdict.action = ACTION_QUARANTINE;
	} else if (t->verdict.rewritten != NULL) {
		if (spool_stage(q->spool, t->env->id, t->verdict.rewritten,
		    t->verdict.rewritten_len) == 0)
			t->staged = (int64_t)t->verdict.rewritten_len;
		else if (t->verdict.protect) {
			log_err("queue: cannot store the rewritten message id=%s: %s; "
			    "quarantined (its attachments were to be replaced)",
			    t->env->id, strerror(errno));
			t->verdict.action = ACTION_QUARANTINE;
		} else
			log_err("queue: cannot store the rewritten message id=%s: %s",
			    t->env->id, strerror(errno));
		free(t->verdict.rewritten);
		t->verdict.rewritten = NULL;
	}
	free(path);
	mainq_post(q->mq, ticket_scanned, t);
}

/* ---- delivery ---- */

struct conn_cache {
	void *conn;			/* the queue's transport's */
	const struct nexthop *hop;
	int64_t idle_since;
};

static void
conn_cache_drop(const struct queue *q, struct conn_cache *cc)
{
	if (cc->conn != NULL)
		q->transport->close(cc->conn);
	cc->conn = NULL;
	cc->hop = NULL;
}

static int
is_outbound(const struct envelope *env)
{
	return env->listener != NULL && strcmp(env->listener, "outbound") == 0;
}

static void
set_pending_reply(struct envelope *env, const char *reply, enum rcpt_status st)
{
	for (size_t i = 0; i < env->nrcpt; i++) {
		if (env->rcpt[i].status != RCPT_PENDING)
			continue;
		free(env->rcpt[i].reply);
		env->rcpt[i].reply = xstrdup(reply);
		env->rcpt[i].status = st;
	}
}

/* One attempt at the pending recipients.  Returns the peer's name for the log. */
static const char *
deliver_attempt(struct queue *q, struct conn_cache *cc, struct envelope *env, int fd)
{
	const struct nexthop *hop = is_outbound(env) ? &q->hop_out : &q->hop_in;
	const struct queue_transport *tr = q->transport;
	struct transport_opts opts;
	char err[512];
	int permanent = 0;

	if (hop->kind == NEXTHOP_MAILDIR) {
		maildir_deliver(is_outbound(env) ? q->maildir_out : q->maildir_in, env, fd);
		return "maildir";
	}
	if (cc->conn != NULL && (cc->hop != hop ||
	    util_mono_ms() - cc->idle_since > q->cfg->connection_reuse_time * 1000 ||
	    tr->reset(cc->conn) < 0))
		conn_cache_drop(q, cc);
	if (cc->conn == NULL) {
		memset(&opts, 0, sizeof(opts));
		opts.helo_name = q->cfg->myhostname;
		opts.tls = strcmp(q->cfg->smtp_tls_security_level, "encrypt") == 0 ?
		    TRANSPORT_TLS_ENCRYPT : strcmp(q->cfg->smtp_tls_security_level, "may") == 0 ?
		    TRANSPORT_TLS_MAY : TRANSPORT_TLS_NONE;
		opts.ssl_ctx = q->client_ctx;
		opts.connect_timeout = (int)q->cfg->connect_timeout;
		opts.reply_timeout = (int)q->cfg->delivery_timeout;
		cc->conn = tr->connect(hop, &opts, err, sizeof(err), &permanent);
		if (cc->conn == NULL) {
			set_pending_reply(env, err, permanent ? RCPT_FAILED : RCPT_PENDING);
			return hop->host ? hop->host : hop->unix_path;
		}
		cc->hop = hop;
	}
	if (tr->deliver(cc->conn, env, fd) < 0) {
		conn_cache_drop(q, cc);
		return hop->host ? hop->host : hop->unix_path;
	}
	cc->idle_since = util_mono_ms();
	return tr->peer(cc->conn);
}

static void
log_delivery(const struct envelope *env, const struct rcpt *r, const char *relay,
    const char *status, int64_t now)
{
	char to[600], reply[1100];

	log_kv_quote(to, sizeof(to), r->addr);
	log_kv_quote(reply, sizeof(reply), r->reply ? r->reply : "");
	log_info("delivery id=%s to=<%s> relay=%s status=%s delay=%.3fs reply=%s",
	    env->id, to, relay, status, (double)(now - env->received_ms) / 1000.0, reply);
}

int
queue_inject(struct queue *q, struct envelope *env, const char *msg, size_t len,
    char id[QUEUE_ID_SIZE])
{
	struct wop *op;

	if (spool_put(q->spool, env, msg, len) < 0) {
		envelope_free(env);
		return -1;
	}
	if (id != NULL)
		util_strlcpy(id, env->id, QUEUE_ID_SIZE);
	inflight_add(&q->inflight, env->id);
	op = wop_new(WOP_INSERT, THEN_DELIVER, env);
	op->qi.state = MSG_QUEUED;
	op->qi.created_ms = env->received_ms;
	op->qi.next_try_ms = env->received_ms;
	op->qi.action = xstrdup("deliver");
	writer_post(q, op);
	return 0;
}

/* Queue a DSN for the failed recipients; they become RCPT_BOUNCED. */
static void
queue_dsn(struct queue *q, struct envelope *env, int fd)
{
	struct envelope *dsn;
	char dsn_id[QUEUE_ID_SIZE];
	char *msg;
	size_t len;

	if (!dsn_wanted(env))
		goto mark;
	msg = dsn_build(env, fd, q->cfg->myhostname, env->received_ms, DSN_MAX_RETURN, &len);
	if (msg == NULL) {
		log_err("queue: cannot build DSN for id=%s", env->id);
		goto mark;
	}
	dsn = envelope_new();
	/* the sender lives on the other side of the gateway */
	dsn->listener = xstrdup(is_outbound(env) ? "inbound" : "outbound");
	dsn->mail_from = xstrdup("");
	dsn->helo = xstrdup(q->cfg->myhostname);
	dsn->received_ms = util_now_ms();
	envelope_add_rcpt(dsn, env->mail_from, NULL, DSN_NOTIFY_NEVER);
	if (queue_inject(q, dsn, msg, len, dsn_id) < 0) {
		log_err("queue: cannot spool DSN for id=%s: %s", env->id, strerror(errno));
		free(msg);
		goto mark;
	}
	free(msg);
	log_info("bounce id=%s dsn=%s to=<%s>", env->id, dsn_id, env->mail_from);
mark:
	for (size_t i = 0; i < env->nrcpt; i++)
		if (env->rcpt[i].status == RCPT_FAILED)
			env->rcpt[i].status = RCPT_BOUNCED;
}

static void
deliver_one(struct queue *q, struct store *st, struct conn_cache *cc, const char *id)
{
	struct envelope *env = NULL;
	struct queue_info qi;
	const char *relay = "none";
	struct wop *op;
	int64_t now;
	char *was_pending;
	int fd, rc;

	memset(&qi, 0, sizeof(qi));
	rc = store_msg_get(st, id, &env, &qi);
	if (rc != 0) {
		if (rc < 0)
			log_err("queue: cannot load id=%s: %s", id, store_errmsg(st));
		inflight_remove(&q->inflight, id);
		return;
	}
	was_pending = xcalloc(env->nrcpt, 1);
	for (size_t i = 0; i < env->nrcpt; i++)
		was_pending[i] = env->rcpt[i].status == RCPT_PENDING;
	fd = spool_open_msg(q->spool, id);
	if (fd < 0) {
		log_err("queue: message file of id=%s is missing: %s", id, strerror(errno));
		set_pending_reply(env, "4.3.0 queue file missing", RCPT_PENDING);
	} else if (envelope_count(env, RCPT_PENDING) > 0) {
		relay = deliver_attempt(q, cc, env, fd);
	}
	now = util_now_ms();
	qi.attempts++;
	for (size_t i = 0; i < env->nrcpt; i++) {
		struct rcpt *r = &env->rcpt[i];
		if (was_pending[i] && r->status == RCPT_DELIVERED) {
			atomic_fetch_add(&q->n_delivered, 1);
			latency_note(&q->deliv_lat, now - env->received_ms);
			log_delivery(env, r, relay, "sent", now);
		} else if (was_pending[i] && r->status == RCPT_FAILED) {
			atomic_fetch_add(&q->n_bounced, 1);
			log_delivery(env, r, relay, "bounced", now);
		}
	}
	if (envelope_count(env, RCPT_PENDING) > 0 &&
	    now - qi.created_ms >= q->cfg->queue_lifetime * 1000) {
		for (size_t i = 0; i < env->nrcpt; i++) {
			struct rcpt *r = &env->rcpt[i];
			char *why;
			if (r->status != RCPT_PENDING)
				continue;
			why = xasprintf("4.4.7 message expired after %llds in the queue: %s",
			    (long long)q->cfg->queue_lifetime, r->reply ? r->reply : "");
			free(r->reply);
			r->reply = why;
			r->status = RCPT_FAILED;
			atomic_fetch_add(&q->n_bounced, 1);
			log_delivery(env, r, relay, "expired", now);
		}
	}
	if (envelope_count(env, RCPT_FAILED) > 0)
		queue_dsn(q, env, fd);
	if (fd >= 0)
		close(fd);
	free(was_pending);

	if (envelope_count(env, RCPT_PENDING) > 0) {
		for (size_t i = 0; i < env->nrcpt; i++)
			if (env->rcpt[i].status == RCPT_PENDING)
				log_delivery(env, &env->rcpt[i], relay, "deferred", now);
		atomic_fetch_add(&q->n_deferred, 1);
		qi.state = MSG_QUEUED;
		qi.next_try_ms = now + queue_backoff_ms(qi.attempts,
		    q->cfg->retry_min * 1000, q->cfg->retry_max * 1000);
		free(qi.last_error);
		qi.last_error = NULL;
		for (size_t i = 0; i < env->nrcpt; i++)
			if (env->rcpt[i].status == RCPT_PENDING && env->rcpt[i].reply) {
				qi.last_error = xstrdup(env->rcpt[i].reply);
				break;
			}
		op = wop_new(WOP_UPDATE, THEN_RELEASE, env);
		op->qi = qi;
	} else {
		queue_info_clear(&qi);
		op = wop_new(WOP_DELETE, THEN_RELEASE, env);
	}
	writer_post(q, op);
}

static void *
delivery_main(void *arg)
{
	struct queue *q = arg;
	struct conn_cache cc = { 0 };
	char err[256];
	struct store *st;
	char id[QUEUE_ID_SIZE];
	char *db = config_state_path(q->cfg, "sekisho.db");

	st = store_open(db, err, sizeof(err));
	free(db);
	if (st == NULL)
		fatal("delivery: cannot open store: %s", err);
	for (;;) {
		int64_t wait = cc.conn ? q->cfg->connection_reuse_time * 1000 : -1;
		int rc = dq_pop(q, id, wait);
		if (rc < 0)
			break;
		if (rc == 0) {
			conn_cache_drop(q, &cc);
			continue;
		}
		deliver_one(q, st, &cc, id);
	}
	conn_cache_drop(q, &cc);
	store_close(st);
	return NULL;
}

/* ---- scheduler: deferred messages whose time has come ---- */

static int
inject_notice(void *arg, struct envelope *env, const char *msg, size_t len)
{
	return queue_inject(arg, env, msg, len, NULL);
}

static void *
scheduler_main(void *arg)
{
	struct queue *q = arg;
	char (*ids)[QUEUE_ID_SIZE] = xcalloc(DUE_BATCH, QUEUE_ID_SIZE);
	char *db = config_state_path(q->cfg, "sekisho.db");
	char err[256];
	struct store *st = store_open(db, err, sizeof(err));

	free(db);
	if (st == NULL)
		fatal("scheduler: cannot open store: %s", err);
	pthread_mutex_lock(&q->slock);
	while (!q->sstop) {
		struct timespec ts;
		int n;

		pthread_mutex_unlock(&q->slock);
		/* holds first: a hold released now is delivered in this round */
		outbound_tick(st, q->cfg, q->spool, util_now_ms(), inject_notice, q);
		attach_link_tick(st, q->cfg, util_now_ms(), inject_notice, q);
		queue_digest_tick(st, q->cfg, util_now_ms(), inject_notice, q);
		n = store_msg_due(st, util_now_ms(), ids, DUE_BATCH);
		for (int i = 0; i < n; i++)
			if (inflight_add(&q->inflight, ids[i]))
				dq_push(q, ids[i]);
		pthread_mutex_lock(&q->slock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += q->cfg->queue_scan_interval > 0 ? q->cfg->queue_scan_interval : 1;
		if (!q->sstop)
			pthread_cond_timedwait(&q->scond, &q->slock, &ts);
	}
	pthread_mutex_unlock(&q->slock);
	store_close(st);
	free(ids);
	return NULL;
}

/* ---- start-up and shutdown ---- */

static int
known_id(const char *id, void *arg)
{
	struct store *st = arg;

	return store_msg_get(st, id, NULL, NULL) == 0;
}

/* Messages that were durable but not analysed when we stopped. */
static int
recover_received(const struct envelope *env, const struct queue_info *qi, void *arg)
{
	struct queue *q = arg;
	struct queue_ticket *t = xcalloc(1, sizeof(*t));

	(void)qi;
	t->q = q;
	t->env = envelope_dup(env);
	t->acked = 1;
	t->start_ms = util_mono_ms();
	inflight_add(&q->inflight, env->id);
	tpool_submit(q->scan_pool, scan_job, t);
	return 0;
}

static int
hop_setup(const struct config *cfg, const char *spec, struct nexthop *hop,
    char **maildir, char *err, size_t errlen)
{
	char e[256];

	if (nexthop_parse(spec, hop, e, sizeof(e)) < 0) {
		snprintf(err, errlen, "next hop '%s': %s", spec, e);
		return -1;
	}
	if (hop->kind == NEXTHOP_MAILDIR)
		*maildir = config_state_path(cfg, hop->maildir);
	return 0;
}

struct queue *
queue_start(const struct config *cfg, struct mainq *mq, const struct queue_transport *transport,
    char *err, size_t errlen)
{
	struct queue *q = xcalloc(1, sizeof(*q));

	q->transport = transport;
	char *dir, *db;
	int removed, rc;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	q->cfg = cfg;
	q->mq = mq;
	pthread_mutex_init(&q->inflight.lock, NULL);
	pthread_mutex_init(&q->wlock, NULL);
	pthread_cond_init(&q->wcond, NULL);
	q->wtail = &q->whead;
	pthread_mutex_init(&q->dlock, NULL);
	pthread_cond_init(&q->dcond, NULL);
	q->dtail = &q->dhead;
	pthread_mutex_init(&q->slock, NULL);
	pthread_cond_init(&q->scond, NULL);

	if (hop_setup(cfg, cfg->inbound_next_hop, &q->hop_in, &q->maildir_in, err, errlen) < 0 ||
	    hop_setup(cfg, cfg->outbound_next_hop, &q->hop_out, &q->maildir_out, err, errlen) < 0)
		goto fail;
	dir = config_state_path(cfg, "spool");
	q->spool = spool_open(dir);
	if (q->spool == NULL) {
		snprintf(err, errlen, "spool %s: %s", dir, strerror(errno));
		free(dir);
		goto fail;
	}
	free(dir);
	db = config_state_path(cfg, "sekisho.db");
	q->wstore = store_open(db, err, errlen);
	free(db);
	if (q->wstore == NULL)
		goto fail;
	q->pipeline = pipeline_new(cfg, outbound_pipeline_ops(), err, errlen);
	if (q->pipeline == NULL)
		goto fail;
	q->client_ctx = SSL_CTX_new(TLS_client_method());
	if (q->client_ctx == NULL) {
		snprintf(err, errlen, "cannot create the TLS client context");
		goto fail;
	}
	/* Opportunistic TLS to the next hop: encryption without authentication,
	 * as RFC 7435 describes; certificate checks come with per-hop policy. */
	SSL_CTX_set_verify(q->client_ctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_min_proto_version(q->client_ctx, TLS1_2_VERSION);

	/* Recovery: unacknowledged files go, acknowledged messages continue. */
	removed = spool_recover(q->spool, known_id, q->wstore);
	if (removed < 0) {
		snprintf(err, errlen, "spool recovery failed: %s", strerror(errno));
		goto fail;
	}
	log_info("queue: recovered: %d incomplete files removed, %lld messages in the queue",
	    removed, (long long)store_msg_count(q->wstore, 0));

	q->scan_pool = tpool_new(cfg->scan_workers > 0 ? (size_t)cfg->scan_workers :
	    (size_t)(ncpu > 0 ? ncpu : 1), "scan");
	if ((rc = pthread_create(&q->writer, NULL, writer_main, q)) != 0)
		fatal("queue: cannot start the writer: %s", strerror(rc));
	q->ndelivery = (size_t)cfg->delivery_concurrency;
	q->delivery = xcalloc(q->ndelivery, sizeof(*q->delivery));
	for (size_t i = 0; i < q->ndelivery; i++)
		if ((rc = pthread_create(&q->delivery[i], NULL, delivery_main, q)) != 0)
			fatal("queue: cannot start delivery threads: %s", strerror(rc));
	if (store_msg_foreach(q->wstore, MSG_RECEIVED, recover_received, q) < 0)
		log_err("queue: cannot list received messages: %s", store_errmsg(q->wstore));
	if ((rc = pthread_create(&q->scheduler, NULL, scheduler_main, q)) != 0)
		fatal("queue: cannot start the scheduler: %s", strerror(rc));
	return q;
fail:
	pipeline_free(q->pipeline);
	store_close(q->wstore);
	spool_close(q->spool);
	nexthop_clear(&q->hop_in);
	nexthop_clear(&q->hop_out);
	free(q->maildir_in);
	free(q->maildir_out);
	if (q->client_ctx)
		SSL_CTX_free(q->client_ctx);
	free(q);
	return NULL;
}

void
queue_stop(struct queue *q)
{
	struct dq_entry *e;

	if (q == NULL)
		return;
	q->stopping = 1;
	pthread_mutex_lock(&q->slock);
	q->sstop = 1;
	pthread_cond_signal(&q->scond);
	pthread_mutex_unlock(&q->slock);
	pthread_join(q->scheduler, NULL);

	pthread_mutex_lock(&q->dlock);
	q->dstop = 1;
	pthread_cond_broadcast(&q->dcond);
	pthread_mutex_unlock(&q->dlock);
	for (size_t i = 0; i < q->ndelivery; i++)
		pthread_join(q->delivery[i], NULL);

	/* finish analyses in hand; their results go to the writer */
	tpool_free(q->scan_pool);
	mainq_run(q->mq);

	pthread_mutex_lock(&q->wlock);
	q->wstop = 1;
	pthread_cond_signal(&q->wcond);
	pthread_mutex_unlock(&q->wlock);
	pthread_join(q->writer, NULL);
	/* the writer's last reports (durable tickets) are for closed sessions */
	while (q->dhead) {
		e = q->dhead;
		q->dhead = e->next;
		free(e);
	}
	mainq_run(q->mq);

	inflight_clear(&q->inflight);
	free(q->delivery);
	pipeline_free(q->pipeline);
	store_close(q->wstore);
	spool_close(q->spool);
	nexthop_clear(&q->hop_in);
	nexthop_clear(&q->hop_out);
	free(q->maildir_in);
	free(q->maildir_out);
	SSL_CTX_free(q->client_ctx);
	free(q);
}

struct spool *
queue_spool(struct queue *q)
{
	return q->spool;
}

void
queue_get_stats(struct queue *q, struct queue_stats *out)
{
	out->received = atomic_load(&q->n_received);
	out->delivered = atomic_load(&q->n_delivered);
	out->deferred = atomic_load(&q->n_deferred);
	out->bounced = atomic_load(&q->n_bounced);
	out->rejected = atomic_load(&q->n_rejected);
	latency_get(&q->scan_lat, &out->scan);
	latency_get(&q->deliv_lat, &out->delivery);
}
