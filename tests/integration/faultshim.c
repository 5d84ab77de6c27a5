/*
 * faultshim.c - LD_PRELOAD fault injection for sekisho's integration tests.
 *
 * Makes write(), fsync() and fdatasync() fail, as a dying or full disk
 * would, for descriptors whose file lies under a path prefix, and only
 * while a flag file exists, so a test can switch faults on and off while
 * the daemon runs:
 *
 *   FAULTSHIM_PREFIX   absolute, symlink-free path; a descriptor is affected
 *                      when readlink(/proc/self/fd/N) is the prefix itself or
 *                      lies below it (e.g. /tmp/x/state/spool)
 *   FAULTSHIM_FLAGS    directory holding the flag files:
 *     fail-write       write() on such a descriptor fails
 *     fail-fsync       fsync() and fdatasync() on such a descriptor fail
 *     fail-dirsync     the same, for directories only (the queue/ fsync
 *                      after the rename)
 *   A flag file may hold an errno name: EIO (the default), ENOSPC, EDQUOT.
 *   Every failure injected is logged as a line "<call> <errno> <path>" to
 *   FAULTSHIM_FLAGS/faultshim.log, so a test can tell that the shim fired.
 *
 * Without both variables, or while no flag file exists, every call goes
 * straight to libc (one access(2) per call is the only cost).
 *
 * Build: cc -shared -fPIC -o faultshim.so faultshim.c -ldl
 * Under AddressSanitizer the runtime must come first:
 *   LD_PRELOAD=/path/to/libasan.so.N:/path/to/faultshim.so
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);

static char prefix[PATH_MAX];
static size_t prefix_len;
static char flags[PATH_MAX];

__attribute__((constructor)) static void
shim_init(void)
{
	const char *p = getenv("FAULTSHIM_PREFIX");
	const char *f = getenv("FAULTSHIM_FLAGS");

	real_write = (ssize_t (*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	if (p == NULL || f == NULL || *p != '/' || strlen(p) >= sizeof(prefix) ||
	    strlen(f) + 32 >= sizeof(flags))
		return;
	strcpy(prefix, p);
	prefix_len = strlen(prefix);
	while (prefix_len > 1 && prefix[prefix_len - 1] == '/')
		prefix[--prefix_len] = '\0';
	strcpy(flags, f);
}

/* The raw system call: used when dlsym found nothing and for our own log. */
static ssize_t
sys_write(int fd, const void *buf, size_t len)
{
	return syscall(SYS_write, fd, buf, len);
}

/* The errno named in flag file NAME, or 0 when the flag is off. */
static int
flag_errno(const char *name)
{
	char path[PATH_MAX + 32], buf[32];
	int fd, e = EIO;
	ssize_t n;

	if (prefix_len == 0)
		return 0;
	snprintf(path, sizeof(path), "%s/%s", flags, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		if (strncmp(buf, "ENOSPC", 6) == 0)
			e = ENOSPC;
		else if (strncmp(buf, "EDQUOT", 6) == 0)
			e = EDQUOT;
	}
	return e;
}

/* 1 when fd is a file (or directory) under the prefix; its path in out. */
static int
fd_matches(int fd, char *out, size_t outlen)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, out, outlen - 1);
	if (n < 0)
		return 0;
	out[n] = '\0';
	return (size_t)n >= prefix_len && memcmp(out, prefix, prefix_len) == 0 &&
	    (out[prefix_len] == '\0' || out[prefix_len] == '/');
}

static void
log_fault(const char *call, int e, const char *path)
{
	char lp[PATH_MAX + 32], line[PATH_MAX + 64];
	int fd, n;

	snprintf(lp, sizeof(lp), "%s/faultshim.log", flags);
	fd = open(lp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%s %s %s\n", call,
	    e == ENOSPC ? "ENOSPC" : e == EDQUOT ? "EDQUOT" : "EIO", path);
	if (n > 0)
		(void)sys_write(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	close(fd);
}

/* errno to inject for this call on fd, or 0. */
static int
should_fail(const char *call, int fd, int is_sync)
{
	char path[PATH_MAX];
	struct stat st;
	int e, saved = errno;

	if (prefix_len == 0 || fd < 0)
		return 0;
	e = flag_errno(is_sync ? "fail-fsync" : "fail-write");
	if (e == 0 && is_sync && (e = flag_errno("fail-dirsync")) != 0 &&
	    (fstat(fd, &st) < 0 || !S_ISDIR(st.st_mode)))
		e = 0;
	if (e != 0 && !fd_matches(fd, path, sizeof(path)))
		e = 0;
	if (e != 0)
		log_fault(call, e, path);
	errno = saved;
	return e;
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	int e = should_fail("write", fd, 0);

	if (e != 0) {
		errno = e;
		return -1;
	}
	if (real_write == NULL)
		return sys_write(fd, buf, len);
	return real_write(fd, buf, len);
}

int
fsync(int fd)
{
	int e = should_fail("fsync", fd, 1);

	if (e != 0) {
		errno = e;
		return -1;
	}
	if (real_fsync == NULL)
		return (int)syscall(SYS_fsync, fd);
	return real_fsync(fd);
}

int
fdatasync(int fd)
{
	int e = should_fail("fdatasync", fd, 1);

	if (e != 0) {
		errno = e;
		return -1;
	}
	if (real_fdatasync == NULL)
		return (int)syscall(SYS_fdatasync, fd);
	return real_fdatasync(fd);
}
