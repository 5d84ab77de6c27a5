/*
 * tpool.h - worker threads and the way back to the event loop.
 *
 * A tpool runs jobs on N threads (scanning, password hashing: work that must
 * never block network I/O).  A mainq carries completions back: any thread
 * posts a function, and the thread that owns the event loop runs it when the
 * mainq's file descriptor becomes readable (mainq_fd + mainq_run).  Both are
 * plain pthreads and an eventfd: no dependency on the event library.
 */
#ifndef SEKISHO_TPOOL_H
#define SEKISHO_TPOOL_H

#include <stddef.h>

typedef void (*tpool_fn)(void *arg);

struct tpool;
/* Start n threads (n >= 1). Never NULL (failure to start threads is fatal). */
struct tpool *tpool_new(size_t n, const char *name);
/* Queue fn(arg) to run on one of the threads. */
void tpool_submit(struct tpool *tp, tpool_fn fn, void *arg);
/* Run every queued job, then join the threads and free. Accepts NULL. */
void tpool_free(struct tpool *tp);

struct mainq;
struct mainq *mainq_new(void);
void mainq_free(struct mainq *mq);
/* From any thread: have fn(arg) run by mainq_run(). */
void mainq_post(struct mainq *mq, tpool_fn fn, void *arg);
/* The descriptor that becomes readable when work is posted. */
int mainq_fd(const struct mainq *mq);
/* On the owning thread: run everything posted so far. */
void mainq_run(struct mainq *mq);

#endif
