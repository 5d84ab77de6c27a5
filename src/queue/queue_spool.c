/*
 * queue_spool.c - durable message files.
 *
 * spool_commit() returns only after the message bytes and their directory
 * entry are on disk: write (our own 64 KiB buffer, not stdio, so every
 * write(2) is seen and checked), fsync, checked close, rename tmp/ID to
 * queue/ID, fsync queue/.  On any failure the file is unlinked, -1 is
 * returned with errno set, and the caller must answer 451/452, never 250.
 * This includes a failed directory fsync in spool_commit(): the entry may or
 * may not survive a crash, and a message we refused must not be delivered
 * too, so queue/ID is removed.  Callers of spool_finish() + spool_sync()
 * (group commit) own that step: on a failed spool_sync() they spool_remove()
 * every message of the batch.
 *
 * Ownership: a struct spool owns two directory descriptors (tmp/, queue/)
 * and must outlive its spool_files.  A spool_file is freed by exactly one of
 * spool_finish(), spool_commit() or spool_abort().  One spool may be shared
 * by threads; a spool_file belongs to one thread at a time.
 *
 * Ids are validated ([0-9A-Z], 1..20 characters) wherever one becomes a
 * file name, so a hostile id such as "../x" is refused with EINVAL.
 *
 * Queue ids: 11 base-36 digits of microseconds since the epoch (fixed width,
 * so string order is time order for four thousand years), 5 of the pid,
 * 4 of a per-process random salt: 20 characters.  Within a process the time
 * part is made strictly increasing (a call in the same microsecond borrows
 * the next one), which is the per-process counter; the pid separates live
 * processes, the salt separates processes that share a pid (a restart after
 * the clock stepped back, two containers with pid 1 on one spool volume).
 */
#include "queue/queue_spool.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SPOOL_BUFSIZE	(64 * 1024)
#define SPOOL_ID_MAX	20

struct spool {
	char *dir;
	int tmp_fd;		/* O_DIRECTORY descriptors: *at() calls */
	int queue_fd;
};

struct spool_file {
	struct spool *sp;
	char id[QUEUE_ID_SIZE];
	int fd;
	int err;		/* sticky errno of the first failure, or 0 */
	int64_t size;		/* bytes accepted by spool_write */
	size_t buflen;
	unsigned char buf[SPOOL_BUFSIZE];
};

static int (*fault_hook)(enum spool_op op);

void
spool_set_fault_hook(int (*hook)(enum spool_op op))
{
	fault_hook = hook;
}

/* -1 with errno set when the test hook says this system call fails. */
static int
fault(enum spool_op op)
{
	int (*hook)(enum spool_op) = fault_hook;
	int e;

	if (hook != NULL && (e = hook(op)) != 0) {
		errno = e;
		return -1;
	}
	return 0;
}

static int
id_valid(const char *id)
{
	size_t n = 0;

	for (; id[n] != '\0'; n++) {
		if (n >= SPOOL_ID_MAX)
			return 0;
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'A' && id[n] <= 'Z')))
			return 0;
	}
	return n > 0;
}

static int
open_subdir(int dfd, const char *name)
{
	if (mkdirat(dfd, name, 0700) < 0 && errno != EEXIST)
		return -1;
	return openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

struct spool *
spool_open(const char *dir)
{
	struct spool *sp;
	int dfd, saved;

	if (util_mkdirs(dir, 0700) < 0)
		return NULL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return NULL;
	sp = xcalloc(1, sizeof(*sp));
	sp->dir = xstrdup(dir);
	sp->tmp_fd = open_subdir(dfd, "tmp");
	sp->queue_fd = sp->tmp_fd < 0 ? -1 : open_subdir(dfd, "queue");
	/* The new subdirectories must survive a crash before any message is
	 * acknowledged into them. */
	if (sp->queue_fd < 0 || fsync(dfd) < 0) {
		saved = errno;
		close(dfd);
		spool_close(sp);
		errno = saved;
		return NULL;
	}
	close(dfd);
	return sp;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->queue_fd >= 0)
		close(sp->queue_fd);
	if (sp->tmp_fd >= 0)
		close(sp->tmp_fd);
	free(sp->dir);
	free(sp);
}

/* ---- queue ids ---- */

static const char b36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

static void
put_b36(char *out, int width, uint64_t v)
{
	for (int i = width - 1; i >= 0; i--) {
		out[i] = b36[v % 36];
		v /= 36;
	}
}

static _Atomic uint64_t id_last_us;
static uint32_t id_salt;
static pthread_once_t id_once = PTHREAD_ONCE_INIT;

static void
id_init(void)
{
	uint32_t salt;
	struct timespec ts;

	if (getrandom(&salt, sizeof(salt), GRND_NONBLOCK) != (ssize_t)sizeof(salt)) {
		/* No entropy yet (early boot): the clock's nanoseconds still
		 * tell two processes with one pid apart. */
		clock_gettime(CLOCK_MONOTONIC, &ts);
		salt = (uint32_t)ts.tv_nsec ^ (uint32_t)getpid() << 16;
	}
	id_salt = salt;
}

void
spool_new_id(char id[QUEUE_ID_SIZE])
{
	struct timespec ts;
	uint64_t now, last, us;

	pthread_once(&id_once, id_init);
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	last = atomic_load(&id_last_us);
	do {
		us = now > last ? now : last + 1;
	} while (!atomic_compare_exchange_weak(&id_last_us, &last, us));

	put_b36(id, 11, us);
	put_b36(id + 11, 5, (uint64_t)getpid() % (36u * 36 * 36 * 36 * 36));
	put_b36(id + 16, 4, id_salt % (36u * 36 * 36 * 36));
	id[SPOOL_ID_MAX] = '\0';
}

/* ---- writing ---- */

struct spool_file *
spool_create(struct spool *sp, const char *id)
{
	struct spool_file *f;
	int fd;

	if (!id_valid(id)) {
		errno = EINVAL;
		return NULL;
	}
	if (fault(SPOOL_OP_OPEN) < 0)
		return NULL;
	/* O_EXCL: an id collision must never truncate someone's message. */
	fd = openat(sp->tmp_fd, id, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	f = xmalloc(sizeof(*f));
	f->sp = sp;
	util_strlcpy(f->id, id, sizeof(f->id));
	f->fd = fd;
	f->err = 0;
	f->size = 0;
	f->buflen = 0;
	return f;
}

/* write(2) all of p, one fault check per system call. 0 or -1 + errno. */
static int
write_raw(int fd, const unsigned char *p, size_t len)
{
	while (len > 0) {
		ssize_t n;

		if (fault(SPOOL_OP_WRITE) < 0)
			return -1;
		n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (n == 0) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
flush_buf(struct spool_file *f)
{
	if (f->err != 0) {
		errno = f->err;
		return -1;
	}
	if (f->buflen > 0 && write_raw(f->fd, f->buf, f->buflen) < 0) {
		f->err = errno;
		return -1;
	}
	f->buflen = 0;
	return 0;
}

int
spool_write(struct spool_file *f, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	if (f->err != 0) {
		errno = f->err;
		return -1;
	}
	while (len > 0) {
		size_t room = SPOOL_BUFSIZE - f->buflen;

		/* Large writes bypass the buffer once it is empty. */
		if (f->buflen == 0 && len >= SPOOL_BUFSIZE) {
			size_t n = len - len % SPOOL_BUFSIZE;

			if (write_raw(f->fd, p, n) < 0) {
				f->err = errno;
				return -1;
			}
			p += n;
			len -= n;
			f->size += (int64_t)n;
			continue;
		}
		if (room > len)
			room = len;
		memcpy(f->buf + f->buflen, p, room);
		f->buflen += room;
		f->size += (int64_t)room;
		p += room;
		len -= room;
		if (f->buflen == SPOOL_BUFSIZE && flush_buf(f) < 0)
			return -1;
	}
	return 0;
}

int64_t
spool_size(const struct spool_file *f)
{
	return f->size;
}

/* Close (if still open) and unlink tmp/ID, free f, keep errno. */
static void
discard(struct spool_file *f)
{
	int saved = errno;

	if (f->fd >= 0)
		close(f->fd);
	unlinkat(f->sp->tmp_fd, f->id, 0);
	free(f);
	errno = saved;
}

/* flush, fsync, close, rename tmp/<f->id> to queue/<target> (target NULL:
 * leave it in tmp/); frees f.  On failure tmp/<f->id> is removed. */
static int
finish_as(struct spool_file *f, const char *target)
{
	int rc;

	if (flush_buf(f) < 0)
		goto fail;
	if (fault(SPOOL_OP_FSYNC) < 0 || fsync(f->fd) < 0)
		goto fail;
	/* An injected close failure still releases the descriptor, as
	 * close(2) on Linux does when it reports an error. */
	rc = fault(SPOOL_OP_CLOSE);
	if (rc < 0) {
		int saved = errno;
		close(f->fd);
		errno = saved;
	} else {
		rc = close(f->fd);
	}
	f->fd = -1;
	if (rc < 0)
		goto fail;
	if (target != NULL && (fault(SPOOL_OP_RENAME) < 0 ||
	    renameat(f->sp->tmp_fd, f->id, f->sp->queue_fd, target) < 0))
		goto fail;
	free(f);
	return 0;
fail:
	discard(f);
	return -1;
}

int
spool_finish(struct spool_file *f)
{
	char id[QUEUE_ID_SIZE];

	memcpy(id, f->id, sizeof(id));
	return finish_as(f, id);
}

/* tmp/ID.r: never a valid id, so spool_recover removes a stale one */
static void
staged_name(const char *id, char name[QUEUE_ID_SIZE])
{
	snprintf(name, QUEUE_ID_SIZE, "%s.r", id);
}

int
spool_stage(struct spool *sp, const char *id, const void *buf, size_t len)
{
	struct spool_file *f;
	int fd;

	if (!id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	if (fault(SPOOL_OP_OPEN) < 0)
		return -1;
	f = xmalloc(sizeof(*f));
	f->sp = sp;
	staged_name(id, f->id);
	fd = openat(sp->tmp_fd, f->id, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		free(f);
		return -1;
	}
	f->fd = fd;
	f->err = 0;
	f->size = 0;
	f->buflen = 0;
	if (spool_write(f, buf, len) < 0) {
		discard(f);
		return -1;
	}
	return finish_as(f, NULL);
}

int
spool_promote(struct spool *sp, const char *id)
{
	char name[QUEUE_ID_SIZE];

	staged_name(id, name);
	if (fault(SPOOL_OP_RENAME) < 0 || renameat(sp->tmp_fd, name, sp->queue_fd, id) < 0) {
		int saved = errno;
		unlinkat(sp->tmp_fd, name, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

int
spool_replace(struct spool *sp, const char *id, const void *buf, size_t len)
{
	if (spool_stage(sp, id, buf, len) < 0 || spool_promote(sp, id) < 0)
		return -1;
	return spool_sync(sp);
}

void
spool_abort(struct spool_file *f)
{
	if (f != NULL)
		discard(f);
}

int
spool_sync(struct spool *sp)
{
	if (fault(SPOOL_OP_DIRSYNC) < 0)
		return -1;
	return fsync(sp->queue_fd);
}

int
spool_commit(struct spool_file *f)
{
	struct spool *sp = f->sp;
	char id[QUEUE_ID_SIZE];
	int saved;

	memcpy(id, f->id, sizeof(id));
	if (spool_finish(f) < 0)
		return -1;
	if (spool_sync(sp) < 0) {
		/* Refused, so it must not be delivered: see the top. */
		saved = errno;
		unlinkat(sp->queue_fd, id, 0);
		errno = saved;
		return -1;
	}
	return 0;
}

/* ---- reading and clean-up ---- */

char *
spool_path(const struct spool *sp, const char *id)
{
	return xasprintf("%s/queue/%s", sp->dir, id);
}

int
spool_open_msg(const struct spool *sp, const char *id)
{
	if (!id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	return openat(sp->queue_fd, id, O_RDONLY | O_CLOEXEC);
}

int
spool_remove(struct spool *sp, const char *id)
{
	if (!id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	if (unlinkat(sp->queue_fd, id, 0) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/*
 * Remove the regular files of one directory for which keep() says 0.
 * Sub-directories are left alone: they are not ours.  Returns the count
 * removed, or -1 when the directory could not be read or a file could not
 * be removed (the walk still goes on).
 */
static int
sweep(int dfd, int (*keep)(const char *name, void *arg), void *arg)
{
	DIR *d;
	struct dirent *de;
	int fd, n = 0, failed = 0;

	if ((fd = dup(dfd)) < 0)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (de->d_type == DT_DIR)
			continue;
		if (de->d_type == DT_UNKNOWN) {
			struct stat stb;

			if (fstatat(dfd, de->d_name, &stb, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(stb.st_mode))
				continue;
		}
		if (keep != NULL && keep(de->d_name, arg))
			continue;
		if (unlinkat(dfd, de->d_name, 0) == 0)
			n++;
		else if (errno != ENOENT)
			failed = 1;
	}
	if (errno != 0)
		failed = 1;
	closedir(d);
	return failed ? -1 : n;
}

int
spool_recover(struct spool *sp, int (*known)(const char *id, void *arg), void *arg)
{
	int a, b = 0;

	a = sweep(sp->tmp_fd, NULL, arg);
	/* Without a catalogue nothing is provably unknown: keep queue/. */
	if (known != NULL)
		b = sweep(sp->queue_fd, known, arg);
	if (a < 0 || b < 0)
		return -1;
	return a + b;
}

int
spool_put(struct spool *sp, struct envelope *env, const void *msg, size_t len)
{
	struct spool_file *sf;

	spool_new_id(env->id);
	if ((sf = spool_create(sp, env->id)) == NULL)
		return -1;
	if (spool_write(sf, msg, len) < 0) {
		spool_abort(sf);
		return -1;
	}
	env->size = spool_size(sf);
	return spool_commit(sf);
}
