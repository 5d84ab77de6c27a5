/*
 * tpool.c - a fixed pool of worker threads with one FIFO, and the mainq.
 *
 * Jobs are linked into a FIFO under one mutex; workers sleep on a condition
 * variable.  tpool_free() lets the workers finish what is queued, so no job
 * (and no memory it owns) is lost at shutdown.
 */
#include "util/tpool.h"
#include "util/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

struct job {
	struct job *next;
	tpool_fn fn;
	void *arg;
};

struct jobq {
	struct job *head, **tail;
	pthread_mutex_t lock;
};

static void
jobq_init(struct jobq *q)
{
	q->head = NULL;
	q->tail = &q->head;
	pthread_mutex_init(&q->lock, NULL);
}

/* Caller holds the lock. */
static void
jobq_push(struct jobq *q, tpool_fn fn, void *arg)
{
	struct job *j = xmalloc(sizeof(*j));

	j->next = NULL;
	j->fn = fn;
	j->arg = arg;
	*q->tail = j;
	q->tail = &j->next;
}

/* Caller holds the lock; takes the whole list. */
static struct job *
jobq_take_all(struct jobq *q)
{
	struct job *all = q->head;

	q->head = NULL;
	q->tail = &q->head;
	return all;
}

struct tpool {
	struct jobq q;
	pthread_cond_t cond;
	int stopping;
	size_t nthreads;
	pthread_t *threads;
};

static void *
tpool_main(void *arg)
{
	struct tpool *tp = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&tp->q.lock);
		while (tp->q.head == NULL && !tp->stopping)
			pthread_cond_wait(&tp->cond, &tp->q.lock);
		j = tp->q.head;
		if (j == NULL) {
			pthread_mutex_unlock(&tp->q.lock);
			return NULL;
		}
		tp->q.head = j->next;
		if (tp->q.head == NULL)
			tp->q.tail = &tp->q.head;
		pthread_mutex_unlock(&tp->q.lock);
		j->fn(j->arg);
		free(j);
	}
}

struct tpool *
tpool_new(size_t n, const char *name)
{
	struct tpool *tp = xcalloc(1, sizeof(*tp));

	jobq_init(&tp->q);
	pthread_cond_init(&tp->cond, NULL);
	tp->nthreads = n ? n : 1;
	tp->threads = xcalloc(tp->nthreads, sizeof(*tp->threads));
	for (size_t i = 0; i < tp->nthreads; i++) {
		int rc = pthread_create(&tp->threads[i], NULL, tpool_main, tp);
		if (rc != 0)
			fatal("%s: cannot start thread: %s", name, strerror(rc));
	}
	return tp;
}

void
tpool_submit(struct tpool *tp, tpool_fn fn, void *arg)
{
	pthread_mutex_lock(&tp->q.lock);
	jobq_push(&tp->q, fn, arg);
	pthread_cond_signal(&tp->cond);
	pthread_mutex_unlock(&tp->q.lock);
}

void
tpool_free(struct tpool *tp)
{
	if (tp == NULL)
		return;
	pthread_mutex_lock(&tp->q.lock);
	tp->stopping = 1;
	pthread_cond_broadcast(&tp->cond);
	pthread_mutex_unlock(&tp->q.lock);
	for (size_t i = 0; i < tp->nthreads; i++)
		pthread_join(tp->threads[i], NULL);
	pthread_cond_destroy(&tp->cond);
	pthread_mutex_destroy(&tp->q.lock);
	free(tp->threads);
	free(tp);
}

struct mainq {
	struct jobq q;
	int fd;
};

struct mainq *
mainq_new(void)
{
	struct mainq *mq = xcalloc(1, sizeof(*mq));

	jobq_init(&mq->q);
	mq->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (mq->fd < 0)
		fatal("eventfd: %s", strerror(errno));
	return mq;
}

void
mainq_free(struct mainq *mq)
{
	if (mq == NULL)
		return;
	mainq_run(mq);
	close(mq->fd);
	pthread_mutex_destroy(&mq->q.lock);
	free(mq);
}

void
mainq_post(struct mainq *mq, tpool_fn fn, void *arg)
{
	uint64_t one = 1;
	int wake;

	pthread_mutex_lock(&mq->q.lock);
	wake = mq->q.head == NULL;
	jobq_push(&mq->q, fn, arg);
	pthread_mutex_unlock(&mq->q.lock);
	/* One wake-up per batch is enough: mainq_run takes everything. */
	if (wake && write(mq->fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		panic("mainq: eventfd write: %s", strerror(errno));
}

int
mainq_fd(const struct mainq *mq)
{
	return mq->fd;
}

void
mainq_run(struct mainq *mq)
{
	uint64_t v;
	struct job *j, *next;

	(void)!read(mq->fd, &v, sizeof(v));
	pthread_mutex_lock(&mq->q.lock);
	j = jobq_take_all(&mq->q);
	pthread_mutex_unlock(&mq->q.lock);
	for (; j != NULL; j = next) {
		next = j->next;
		j->fn(j->arg);
		free(j);
	}
}
