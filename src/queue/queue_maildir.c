/*
 * queue_maildir.c - the built-in local sink: one Maildir per recipient.
 *
 * maildir_deliver() writes DIR/<folder>/tmp/<name>, fsyncs it, closes it
 * (checked), renames it into DIR/<folder>/new/<name> and fsyncs new/: a
 * recipient is RCPT_DELIVERED only once its file and directory entry are on
 * disk.  Any failure unlinks the temporary file and leaves the recipient
 * RCPT_PENDING with "4.3.0 maildir: <reason>" in rcpt->reply.
 *
 * <folder> comes from the recipient address, which is untrusted: it is
 * lower-cased, '/' and control bytes become '_', a leading '.' becomes '_'
 * (so neither "." nor ".." nor a hidden name can result), and it is cut at
 * MAILDIR_FOLDER_MAX bytes.  Directories are created on demand (0700).
 *
 * <name> is "time.pid_counter.host" (the counter is per process and
 * atomic, so threads never collide; O_EXCL catches anything else).
 *
 * The file holds "Return-Path:" and "Delivered-To:" lines, then the message
 * with LF line endings, as Maildir readers (Dovecot, mutt) expect.  The
 * spool file is streamed, never loaded whole.
 */
#include "queue/queue_maildir.h"
#include "util/log.h"
#include "util/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAILDIR_FOLDER_MAX 200
#define MAILDIR_CHUNK	   65536

static atomic_uint maildir_counter;

/* The folder name for an address (caller frees). */
static char *
maildir_folder(const char *addr)
{
	size_t len = strlen(addr);
	char *f;

	if (len > MAILDIR_FOLDER_MAX)
		len = MAILDIR_FOLDER_MAX;
	if (len == 0)
		return xstrdup("_");
	f = xstrndup(addr, len);
	for (char *p = f; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '/' || ch < 0x20 || ch == 0x7f)
			*p = '_';
	}
	if (f[0] == '.')
		f[0] = '_';
	return util_lowercase(f);
}

/* This host's name, safe for a Maildir file name ('/' and ':' escaped). */
static void
maildir_hostname(char *buf, size_t size)
{
	char host[256];
	size_t o = 0;

	if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
		util_strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	for (const char *p = host; *p && o + 5 < size; p++) {
		if (*p == '/' || *p == ':') {
			o += (size_t)snprintf(buf + o, size - o, "\\%03o", (unsigned char)*p);
		} else if ((unsigned char)*p > 0x20 && (unsigned char)*p < 0x7f) {
			buf[o++] = *p;
		}
	}
	buf[o] = '\0';
	if (o == 0)
		util_strlcpy(buf, "localhost", size);
}

/* Header value without CR, LF or other control bytes. */
static void
put_header(char *buf, size_t size, const char *name, const char *lt,
    const char *value, const char *gt)
{
	size_t o = (size_t)snprintf(buf, size, "%s: %s", name, lt);

	for (const char *p = value; *p && o + 4 < size; p++)
		buf[o++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
	o += (size_t)snprintf(buf + o, size - o, "%s\n", gt);
}

/*
 * Copy the spool file into out_fd with CRLF made LF.  0, or -1 with errno.
 */
static int
copy_message(int in_fd, int out_fd)
{
	char *in = xmalloc(MAILDIR_CHUNK);
	char *out = xmalloc(MAILDIR_CHUNK + 1);
	off_t off = 0;
	int cr = 0, rc = 0;

	for (;;) {
		ssize_t n = pread(in_fd, in, MAILDIR_CHUNK, off);
		size_t o = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -1;
			break;
		}
		if (n == 0)
			break;
		off += n;
		for (ssize_t i = 0; i < n; i++) {
			if (cr && in[i] != '\n')
				out[o++] = '\r';	/* a lone CR stays */
			cr = in[i] == '\r';
			if (!cr)
				out[o++] = in[i];
		}
		if (util_write_all(out_fd, out, o) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && cr && util_write_all(out_fd, "\r", 1) < 0)
		rc = -1;
	free(out);
	free(in);
	return rc;
}

/* Deliver to one recipient. 0, or -1 with errno and *what the failed step. */
static int
deliver_one(const char *dir, const struct envelope *env, const struct rcpt *r,
    int fd, const char *host, const char **what, char **path_out)
{
	char *folder = maildir_folder(r->addr);
	char *base = xasprintf("%s/%s", dir, folder);
	char *tmpdir = xasprintf("%s/tmp", base);
	char *newdir = xasprintf("%s/new", base);
	char *curdir = xasprintf("%s/cur", base);
	char *name = NULL, *tmp = NULL, *dst = NULL;
	char hdr[2048];
	int out = -1, rc = -1, err = 0;
	size_t hlen;

	*what = "mkdir";
	if (util_mkdirs(tmpdir, 0700) < 0 || util_mkdirs(newdir, 0700) < 0 ||
	    util_mkdirs(curdir, 0700) < 0)
		goto fail;

	name = xasprintf("%lld.%ld_%u.%s", (long long)time(NULL), (long)getpid(),
	    atomic_fetch_add(&maildir_counter, 1), host);
	tmp = xasprintf("%s/%s", tmpdir, name);
	dst = xasprintf("%s/%s", newdir, name);

	*what = "create";
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		goto fail;
	*what = "write";
	put_header(hdr, sizeof(hdr), "Return-Path", "<",
	    env->mail_from ? env->mail_from : "", ">");
	hlen = strlen(hdr);
	put_header(hdr + hlen, sizeof(hdr) - hlen, "Delivered-To", "", r->addr, "");
	if (util_write_all(out, hdr, strlen(hdr)) < 0 || copy_message(fd, out) < 0)
		goto fail;
	*what = "fsync";
	if (fsync(out) < 0)
		goto fail;
	*what = "close";
	rc = close(out);
	out = -1;
	if (rc < 0)
		goto fail;
	rc = -1;
	*what = "rename";
	if (rename(tmp, dst) < 0)
		goto fail;
	free(tmp);
	tmp = NULL;	/* nothing to clean up any more */
	*what = "fsync new/";
	if (util_fsync_dir(newdir) < 0)
		goto fail;
	*path_out = dst;
	dst = NULL;
	rc = 0;
fail:
	err = errno;
	if (out >= 0)
		close(out);
	if (rc < 0 && tmp != NULL)
		unlink(tmp);
	free(dst);
	free(tmp);
	free(name);
	free(curdir);
	free(newdir);
	free(tmpdir);
	free(base);
	free(folder);
	errno = err;
	return rc;
}

int
maildir_deliver(const char *dir, struct envelope *env, int fd)
{
	char host[256];
	int pending = 0;

	maildir_hostname(host, sizeof(host));
	for (size_t i = 0; i < env->nrcpt; i++) {
		struct rcpt *r = &env->rcpt[i];
		const char *what = "";
		char *path = NULL, to[300];

		if (r->status != RCPT_PENDING)
			continue;
		free(r->reply);
		log_kv_quote(to, sizeof(to), r->addr);
		if (deliver_one(dir, env, r, fd, host, &what, &path) == 0) {
			r->status = RCPT_DELIVERED;
			r->reply = xasprintf("250 2.0.0 delivered to maildir %s", path);
			log_info("maildir id=%s to=%s path=%s", env->id, to, path);
			free(path);
		} else {
			int e = errno;
			r->reply = xasprintf("%s maildir: %s (%s)",
			    e == EDQUOT ? "4.2.2" : "4.3.0", strerror(e), what);
			log_warn("maildir id=%s to=%s: %s failed: %s", env->id, to,
			    what, strerror(e));
			pending++;
		}
	}
	return pending;
}
