/*
 * queue_spool.h - durable message files.
 *
 * Layout under the spool directory:
 *   tmp/ID     a message being received (never acknowledged)
 *   queue/ID   a committed message: exactly the bytes that were accepted,
 *              with CRLF line endings and dot-stuffing removed
 *
 * spool_commit() returns only after the message bytes and their directory
 * entry are on disk: write, fflush, fsync, checked close, rename, fsync of
 * queue/.  A batch of messages may share the directory fsync (group commit):
 * spool_finish() each one, then one spool_sync().  On any failure the
 * temporary file is unlinked and -1 is returned with errno set; the caller
 * must then answer 451/452, never 250.
 */
#ifndef SEKISHO_QUEUE_SPOOL_H
#define SEKISHO_QUEUE_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "store/envelope.h"

struct spool;
struct spool_file;

/* Open (creating tmp/ and queue/ when missing). NULL on error (errno). */
struct spool *spool_open(const char *dir);
void spool_close(struct spool *sp);

/* A new unique queue id: time-ordered, [0-9A-Z], fits QUEUE_ID_SIZE. Thread-safe. */
void spool_new_id(char id[QUEUE_ID_SIZE]);

/* Start tmp/ID. NULL on error (errno). */
struct spool_file *spool_create(struct spool *sp, const char *id);
/* Buffered append. -1 on error; the error is sticky until finish/abort. */
int spool_write(struct spool_file *f, const void *buf, size_t len);
/* Bytes written so far. */
int64_t spool_size(const struct spool_file *f);
/* fflush, fsync, close, rename to queue/ID; frees f.  The directory is NOT
 * yet synced: call spool_sync() before acknowledging.  -1: tmp file removed. */
int spool_finish(struct spool_file *f);
/* Close and unlink tmp/ID; frees f.  Accepts NULL. */
void spool_abort(struct spool_file *f);
/* spool_finish() + spool_sync(). */
int spool_commit(struct spool_file *f);
/* A whole message at once, durably: a new id into env->id, the bytes
 * committed (spool_commit), env->size set.  0, or -1 (nothing left). */
int spool_put(struct spool *sp, struct envelope *env, const void *msg, size_t len);
/* fsync queue/ (after one or more spool_finish()).  On -1 the batch is not
 * durable: spool_remove() each of its messages and answer 451. */
int spool_sync(struct spool *sp);

/*
 * Replace queue/ID with new bytes, atomically and durably (tmp file, fsync,
 * rename over the old one, directory fsync): after a crash the file holds
 * either the old or the new bytes, never a mix.  0, or -1 (old file kept).
 */
int spool_replace(struct spool *sp, const char *id, const void *buf, size_t len);
/*
 * The two halves of spool_replace, so that many replacements can share one
 * directory fsync: spool_stage() writes and fsyncs the new bytes beside the
 * queue (tmp/ID.r); spool_promote() renames them over queue/ID (then call
 * spool_sync before relying on it).  Until promoted, queue/ID is unchanged;
 * a stale staged file is removed by spool_recover.  0 or -1 (errno).
 */
int spool_stage(struct spool *sp, const char *id, const void *buf, size_t len);
int spool_promote(struct spool *sp, const char *id);

/* Path of queue/ID (caller frees) and opening it read-only (fd or -1). */
char *spool_path(const struct spool *sp, const char *id);
int spool_open_msg(const struct spool *sp, const char *id);
/* Unlink queue/ID. 0, or -1 (ENOENT counts as success). */
int spool_remove(struct spool *sp, const char *id);

/* Start-up: remove every tmp/ file, and every queue/ file for which
 * known(id, arg) returns 0 (bytes of a message that was never acknowledged).
 * known == NULL keeps every queue/ file.  Returns the number of files
 * removed, or -1. */
int spool_recover(struct spool *sp, int (*known)(const char *id, void *arg), void *arg);

/*
 * Fault injection for tests: when set, hook(op) is called before each
 * system call of the commit path; a non-zero return is used as errno and
 * the call fails as if the kernel had said so.
 */
enum spool_op { SPOOL_OP_OPEN, SPOOL_OP_WRITE, SPOOL_OP_FSYNC, SPOOL_OP_CLOSE,
	SPOOL_OP_RENAME, SPOOL_OP_DIRSYNC };
void spool_set_fault_hook(int (*hook)(enum spool_op op));

#endif
