/*
 * test_spool.c - the durable spool: exact bytes, abort, ids, recovery, and
 * the fault-injection loop in the manner of SQLite's tests: for each system
 * call of the commit path and N = 1, 2, ..., fail the Nth such call and
 * check that the commit reports -1 with errno set and that no file is left
 * in tmp/ or queue/ (so no "250" and nothing to deliver by mistake).  The
 * loop for an operation ends at the first N that the commit path no longer
 * reaches, which then must have succeeded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "queue/queue_spool.h"
#include "util/util.h"
#include "testutil.h"

struct fixture {
	char dir[64];
	struct spool *sp;
};

static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	const char *tmp = getenv("TMPDIR");

	snprintf(fx->dir, sizeof(fx->dir), "%s/spool-test-XXXXXX",
	    tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	fx->sp = spool_open(fx->dir);
	if (fx->sp == NULL) {
		tu_rmtree(fx->dir);
		free(fx);
		return -1;
	}
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	spool_set_fault_hook(NULL);
	spool_close(fx->sp);
	tu_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* Number of entries in DIR/sub other than . and .. */
static int
count_files(const struct fixture *fx, const char *sub)
{
	char path[128];
	DIR *d;
	struct dirent *de;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, sub);
	d = opendir(path);
	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
touch(const struct fixture *fx, const char *sub, const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/%s/%s", fx->dir, sub, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

/* A deterministic message body of len bytes. */
static unsigned char *
pattern(size_t len, unsigned seed)
{
	unsigned char *p = xmalloc(len);
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245u + 12345u;
		p[i] = (unsigned char)(x >> 16);
	}
	return p;
}

static unsigned char *
read_msg(const struct fixture *fx, const char *id, size_t *len)
{
	char *path = spool_path(fx->sp, id);
	unsigned char *buf = (unsigned char *)util_read_file(path, 64u << 20, len);

	free(path);
	return buf;
}

/* Write data in chunks of the given sizes (cycled). */
static int
write_chunks(struct spool_file *f, const unsigned char *data, size_t len,
    const size_t *chunks, size_t nchunks)
{
	size_t off = 0, i = 0;

	while (off < len) {
		size_t n = chunks[i++ % nchunks];

		if (n > len - off)
			n = len - off;
		if (spool_write(f, data + off, n) < 0)
			return -1;
		off += n;
	}
	return 0;
}

static void
test_commit_exact_bytes(void **state)
{
	struct fixture *fx = *state;
	static const size_t sizes[] = { 0, 1, 65535, 65536, 65537, 200000, 1 << 20 };
	static const size_t chunks[] = { 1, 7, 1000, 65536, 70000, 3, 131072 };

	for (size_t i = 0; i < UTIL_ARRAY_LEN(sizes); i++) {
		char id[QUEUE_ID_SIZE];
		unsigned char *data = pattern(sizes[i], (unsigned)i);
		struct spool_file *f;
		unsigned char *got;
		size_t len = 0;
		int fd;

		spool_new_id(id);
		f = spool_create(fx->sp, id);
		assert_non_null(f);
		assert_int_equal(count_files(fx, "tmp"), 1);
		assert_int_equal(write_chunks(f, data, sizes[i], chunks + i % 3,
		    UTIL_ARRAY_LEN(chunks) - i % 3), 0);
		assert_int_equal(spool_size(f), (int64_t)sizes[i]);
		assert_int_equal(spool_commit(f), 0);
		assert_int_equal(count_files(fx, "tmp"), 0);

		got = read_msg(fx, id, &len);
		assert_non_null(got);
		assert_int_equal(len, sizes[i]);
		if (sizes[i] > 0)
			assert_memory_equal(got, data, sizes[i]);
		free(got);

		fd = spool_open_msg(fx->sp, id);
		assert_true(fd >= 0);
		close(fd);
		assert_int_equal(spool_remove(fx->sp, id), 0);
		assert_int_equal(spool_remove(fx->sp, id), 0);	/* ENOENT is fine */
		assert_int_equal(spool_open_msg(fx->sp, id), -1);
		assert_int_equal(errno, ENOENT);
		free(data);
	}
	assert_int_equal(count_files(fx, "queue"), 0);
}


/* Staging a rewrite leaves queue/ID alone until it is promoted; a staged
 * file never promoted is removed at recovery; a failed stage leaves nothing. */
static int
know_all(const char *id, void *arg)
{
	(void)id;
	(void)arg;
	return 1;
}

static int stage_fail_op = -1;

static int
stage_fault(enum spool_op op)
{
	return (int)op == stage_fail_op ? EIO : 0;
}

static void
test_stage_promote(void **state)
{
	struct fixture *fx = *state;
	struct spool_file *f;
	char id[QUEUE_ID_SIZE];
	unsigned char *got;
	size_t len = 0;

	spool_new_id(id);
	f = spool_create(fx->sp, id);
	assert_non_null(f);
	assert_int_equal(spool_write(f, "old", 3), 0);
	assert_int_equal(spool_commit(f), 0);

	assert_int_equal(spool_stage(fx->sp, id, "new bytes", 9), 0);
	assert_int_equal(count_files(fx, "tmp"), 1);
	got = read_msg(fx, id, &len);
	assert_int_equal(len, 3);
	assert_memory_equal(got, "old", 3);
	free(got);

	assert_int_equal(spool_promote(fx->sp, id), 0);
	assert_int_equal(spool_sync(fx->sp), 0);
	assert_int_equal(count_files(fx, "tmp"), 0);
	got = read_msg(fx, id, &len);
	assert_int_equal(len, 9);
	assert_memory_equal(got, "new bytes", 9);
	free(got);

	/* staged, never promoted (a crash): recovery drops it, the message stays */
	assert_int_equal(spool_stage(fx->sp, id, "lost", 4), 0);
	assert_int_equal(spool_recover(fx->sp, know_all, NULL), 1);
	assert_int_equal(count_files(fx, "tmp"), 0);
	got = read_msg(fx, id, &len);
	assert_int_equal(len, 9);
	free(got);

	/* a failing fsync or write while staging: -1, nothing left, old bytes kept */
	for (int op = SPOOL_OP_WRITE; op <= SPOOL_OP_CLOSE; op++) {
		stage_fail_op = op;
		spool_set_fault_hook(stage_fault);
		assert_int_equal(spool_stage(fx->sp, id, "doomed", 6), -1);
		spool_set_fault_hook(NULL);
		assert_int_equal(count_files(fx, "tmp"), 0);
	}
	got = read_msg(fx, id, &len);
	assert_int_equal(len, 9);
	free(got);
	/* promoting nothing fails and changes nothing */
	assert_int_equal(spool_promote(fx->sp, id), -1);
	assert_int_equal(spool_remove(fx->sp, id), 0);
}

static void
test_abort_leaves_nothing(void **state)
{
	struct fixture *fx = *state;
	unsigned char *data = pattern(150000, 9);
	char id[QUEUE_ID_SIZE];
	struct spool_file *f;

	spool_new_id(id);
	f = spool_create(fx->sp, id);
	assert_non_null(f);
	assert_int_equal(spool_write(f, data, 150000), 0);
	spool_abort(f);
	spool_abort(NULL);
	assert_int_equal(count_files(fx, "tmp"), 0);
	assert_int_equal(count_files(fx, "queue"), 0);
	free(data);
}

static void
test_group_commit(void **state)
{
	struct fixture *fx = *state;
	char ids[5][QUEUE_ID_SIZE];

	for (int i = 0; i < 5; i++) {
		struct spool_file *f;

		spool_new_id(ids[i]);
		f = spool_create(fx->sp, ids[i]);
		assert_non_null(f);
		assert_int_equal(spool_write(f, ids[i], strlen(ids[i])), 0);
		assert_int_equal(spool_finish(f), 0);
	}
	assert_int_equal(spool_sync(fx->sp), 0);
	assert_int_equal(count_files(fx, "queue"), 5);
	for (int i = 0; i < 5; i++) {
		size_t len;
		unsigned char *got = read_msg(fx, ids[i], &len);

		assert_non_null(got);
		assert_int_equal(len, strlen(ids[i]));
		assert_memory_equal(got, ids[i], len);
		free(got);
	}
}

static void
test_bad_ids(void **state)
{
	struct fixture *fx = *state;
	static const char *const bad[] = {
		"", "../x", "abc", "A/B", ".", "..", "ABC DEF",
		"0123456789ABCDEFGHIJK",	/* 21 characters */
	};

	for (size_t i = 0; i < UTIL_ARRAY_LEN(bad); i++) {
		errno = 0;
		assert_null(spool_create(fx->sp, bad[i]));
		assert_int_equal(errno, EINVAL);
		assert_int_equal(spool_open_msg(fx->sp, bad[i]), -1);
		assert_int_equal(spool_remove(fx->sp, bad[i]), -1);
	}
	/* 20 characters is the limit, not beyond. */
	struct spool_file *f = spool_create(fx->sp, "0123456789ABCDEFGHIJ");
	assert_non_null(f);
	spool_abort(f);
	/* An id in use in tmp/ is not truncated under its writer. */
	f = spool_create(fx->sp, "SAMEID");
	assert_non_null(f);
	assert_null(spool_create(fx->sp, "SAMEID"));
	assert_int_equal(errno, EEXIST);
	spool_abort(f);
	assert_int_equal(count_files(fx, "tmp"), 0);
}

#define NIDS 100000

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
check_id_shape(const char *id)
{
	size_t n = strlen(id);

	assert_true(n > 0 && n <= 20);
	for (size_t i = 0; i < n; i++)
		assert_true((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'A' && id[i] <= 'Z'));
}

static void
test_ids_unique_sorted(void **state)
{
	char (*ids)[QUEUE_ID_SIZE] = xmalloc(NIDS * sizeof(*ids));
	char before[QUEUE_ID_SIZE], after[QUEUE_ID_SIZE];
	struct timespec ms = { 0, 2 * 1000 * 1000 };

	(void)state;
	for (int i = 0; i < NIDS; i++) {
		spool_new_id(ids[i]);
		check_id_shape(ids[i]);
		/* Strictly increasing: unique and in time order at once. */
		if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
			fail_msg("id %d not after the previous: %s <= %s", i, ids[i], ids[i - 1]);
	}
	free(ids);

	/* Time order across a pause: a later id sorts later. */
	spool_new_id(before);
	nanosleep(&ms, NULL);
	spool_new_id(after);
	assert_true(strcmp(before, after) < 0);
	/* The time part is the same width, so it orders by its leading
	 * characters, and the rest is constant within a process. */
	assert_memory_equal(before + 11, after + 11, strlen(before) - 11);
}

#define NTHREADS 4
#define PER_THREAD 25000

static void *
id_thread(void *arg)
{
	char (*ids)[QUEUE_ID_SIZE] = arg;

	for (int i = 0; i < PER_THREAD; i++)
		spool_new_id(ids[i]);
	return NULL;
}

static void
test_ids_unique_threads(void **state)
{
	char (*ids)[QUEUE_ID_SIZE] = xmalloc(NTHREADS * PER_THREAD * sizeof(*ids));
	pthread_t th[NTHREADS];

	(void)state;
	for (int t = 0; t < NTHREADS; t++)
		assert_int_equal(pthread_create(&th[t], NULL, id_thread,
		    ids + (size_t)t * PER_THREAD), 0);
	for (int t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	qsort(ids, NTHREADS * PER_THREAD, sizeof(*ids), cmp_id);
	for (int i = 1; i < NTHREADS * PER_THREAD; i++)
		if (strcmp(ids[i - 1], ids[i]) == 0)
			fail_msg("duplicate id %s", ids[i]);
	free(ids);
}

/* ---- fault injection ---- */

static enum spool_op fault_op;
static int fault_nth, fault_seen, fault_errno, fault_fired;

static int
fault_hook(enum spool_op op)
{
	if (op != fault_op || fault_fired)
		return 0;
	if (++fault_seen == fault_nth) {
		fault_fired = 1;
		return fault_errno;
	}
	return 0;
}

/*
 * One message through the commit path as the daemon drives it: create,
 * write in pieces, commit.  A write failure goes on to spool_commit(),
 * which must report the sticky error and remove the file; a second
 * variant aborts instead (see the caller).
 */
static int
commit_one(struct fixture *fx, const unsigned char *data, size_t len, int abort_on_error)
{
	/* The first write goes around the empty buffer, the rest through it. */
	static const size_t chunks[] = { 65536, 4000, 70000, 1, 131072 };
	char id[QUEUE_ID_SIZE];
	struct spool_file *f;

	spool_new_id(id);
	f = spool_create(fx->sp, id);
	if (f == NULL)
		return -1;
	if (write_chunks(f, data, len, chunks, UTIL_ARRAY_LEN(chunks)) < 0) {
		int e = errno;

		/* Sticky: a later write fails the same way. */
		assert_int_equal(spool_write(f, "x", 1), -1);
		assert_int_equal(errno, e);
		if (abort_on_error) {
			spool_abort(f);
			errno = e;
			return -1;
		}
	}
	if (spool_commit(f) < 0)
		return -1;
	/* It worked: check and clean up for the next round. */
	{
		size_t got_len;
		unsigned char *got = read_msg(fx, id, &got_len);

		assert_non_null(got);
		assert_int_equal(got_len, len);
		assert_memory_equal(got, data, len);
		free(got);
	}
	assert_int_equal(spool_remove(fx->sp, id), 0);
	return 0;
}

static void
test_fault_injection(void **state)
{
	struct fixture *fx = *state;
	static const struct {
		enum spool_op op;
		const char *name;
	} ops[] = {
		{ SPOOL_OP_OPEN, "open" },
		{ SPOOL_OP_WRITE, "write" },
		{ SPOOL_OP_FSYNC, "fsync" },
		{ SPOOL_OP_CLOSE, "close" },
		{ SPOOL_OP_RENAME, "rename" },
		{ SPOOL_OP_DIRSYNC, "dirsync" },
	};
	static const int errnos[] = { EIO, ENOSPC };
	const size_t len = 300000;	/* several 64 KiB buffers: several writes */
	unsigned char *data = pattern(len, 42);
	int injected = 0;

	for (size_t o = 0; o < UTIL_ARRAY_LEN(ops); o++) {
		for (int variant = 0; variant < 2; variant++) {
			for (int n = 1; ; n++) {
				int rc;

				fault_op = ops[o].op;
				fault_nth = n;
				fault_seen = 0;
				fault_fired = 0;
				fault_errno = errnos[(n + variant) % 2];
				spool_set_fault_hook(fault_hook);
				errno = 0;
				rc = commit_one(fx, data, len, variant);
				spool_set_fault_hook(NULL);

				if (!fault_fired) {
					/* Past the last call of this kind: success. */
					if (rc != 0)
						fail_msg("%s #%d: no fault, yet failed: %s",
						    ops[o].name, n, strerror(errno));
					assert_true(n > 1);	/* every op is reached */
					break;
				}
				injected++;
				if (rc != -1)
					fail_msg("%s #%d: commit succeeded despite the fault",
					    ops[o].name, n);
				if (errno != fault_errno)
					fail_msg("%s #%d: errno %d, want %d", ops[o].name, n,
					    errno, fault_errno);
				if (count_files(fx, "tmp") != 0 || count_files(fx, "queue") != 0)
					fail_msg("%s #%d: a file was left behind", ops[o].name, n);
				assert_true(n < 1000);
			}
		}
	}
	/* open, fsync, close, rename, dirsync once each; write at least 4x. */
	assert_true(injected >= 2 * (5 + 4));
	free(data);
}

/* A fault in group commit's spool_sync() leaves the files to the caller. */
static void
test_fault_group_sync(void **state)
{
	struct fixture *fx = *state;
	char id[QUEUE_ID_SIZE];
	struct spool_file *f;

	spool_new_id(id);
	f = spool_create(fx->sp, id);
	assert_non_null(f);
	assert_int_equal(spool_write(f, "hello", 5), 0);
	assert_int_equal(spool_finish(f), 0);
	fault_op = SPOOL_OP_DIRSYNC;
	fault_nth = 1;
	fault_seen = 0;
	fault_fired = 0;
	fault_errno = EIO;
	spool_set_fault_hook(fault_hook);
	assert_int_equal(spool_sync(fx->sp), -1);
	assert_int_equal(errno, EIO);
	spool_set_fault_hook(NULL);
	assert_int_equal(count_files(fx, "queue"), 1);
	assert_int_equal(spool_remove(fx->sp, id), 0);
	assert_int_equal(count_files(fx, "queue"), 0);
}

/* ---- recovery ---- */

struct known_set {
	char ids[4][QUEUE_ID_SIZE];
	int n;
	int asked;
};

static int
known_cb(const char *id, void *arg)
{
	struct known_set *ks = arg;

	ks->asked++;
	for (int i = 0; i < ks->n; i++)
		if (strcmp(ks->ids[i], id) == 0)
			return 1;
	return 0;
}

static void
test_recover(void **state)
{
	struct fixture *fx = *state;
	struct known_set ks = { .n = 0 };
	char path[128];

	for (int i = 0; i < 3; i++) {
		struct spool_file *f;

		spool_new_id(ks.ids[i]);
		f = spool_create(fx->sp, ks.ids[i]);
		assert_non_null(f);
		assert_int_equal(spool_write(f, "known", 5), 0);
		assert_int_equal(spool_commit(f), 0);
		ks.n++;
	}
	/* Left by a crash: two half-written files, two committed but never
	 * acknowledged (not in the store), and an odd name. */
	touch(fx, "tmp", "AAAA1");
	touch(fx, "tmp", "AAAA2");
	touch(fx, "queue", "UNKNOWN1");
	touch(fx, "queue", "UNKNOWN2");
	touch(fx, "queue", ".junk");
	/* A directory in queue/ is not ours to remove. */
	snprintf(path, sizeof(path), "%s/queue/SUBDIR", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);

	assert_int_equal(spool_recover(fx->sp, known_cb, &ks), 5);
	assert_int_equal(ks.asked, 6);
	assert_int_equal(count_files(fx, "tmp"), 0);
	assert_int_equal(count_files(fx, "queue"), 4);	/* 3 known + SUBDIR */
	for (int i = 0; i < 3; i++) {
		size_t len;
		unsigned char *got = read_msg(fx, ks.ids[i], &len);

		assert_non_null(got);
		assert_memory_equal(got, "known", 5);
		free(got);
	}
	/* Again: nothing more to do. */
	assert_int_equal(spool_recover(fx->sp, known_cb, &ks), 0);
	/* Without a catalogue, queue/ is kept whole and tmp/ still swept. */
	touch(fx, "tmp", "AAAA3");
	assert_int_equal(spool_recover(fx->sp, NULL, NULL), 1);
	assert_int_equal(count_files(fx, "queue"), 4);
	rmdir(path);
}

/* Reopening an existing spool (a restart) finds its messages. */
static void
test_reopen(void **state)
{
	struct fixture *fx = *state;
	char id[QUEUE_ID_SIZE];
	struct spool_file *f;
	size_t len;
	unsigned char *got;

	spool_new_id(id);
	f = spool_create(fx->sp, id);
	assert_non_null(f);
	assert_int_equal(spool_write(f, "persist", 7), 0);
	assert_int_equal(spool_commit(f), 0);
	spool_close(fx->sp);
	fx->sp = spool_open(fx->dir);
	assert_non_null(fx->sp);
	got = read_msg(fx, id, &len);
	assert_non_null(got);
	assert_int_equal(len, 7);
	free(got);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_commit_exact_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_leaves_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
		cmocka_unit_test(test_ids_unique_sorted),
		cmocka_unit_test(test_ids_unique_threads),
		cmocka_unit_test_setup_teardown(test_fault_injection, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fault_group_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stage_promote, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
