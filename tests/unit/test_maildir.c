/*
 * test_maildir.c - the local Maildir sink: files, contents, unsafe names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/queue_maildir.h"
#include "util/log.h"
#include "util/util.h"

struct fixture {
	char base[64];		/* mkdtemp directory */
	char dir[128];		/* base/mail: the maildir root */
};

static int
rm_rf(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return 0;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		if (d == NULL)
			return -1;
		while ((e = readdir(d)) != NULL) {
			char *sub;
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			sub = xasprintf("%s/%s", path, e->d_name);
			rm_rf(sub);
			free(sub);
		}
		closedir(d);
		return rmdir(path);
	}
	return unlink(path);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->base, sizeof(f->base), "/tmp/sekisho-maildir-XXXXXX");
	if (mkdtemp(f->base) == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/mail", f->base);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	rm_rf(f->base);
	free(f);
	return 0;
}

/* A spool-like file holding the bytes; returns its fd (unlinked). */
static int
spool_with(const char *bytes, size_t len)
{
	char path[] = "/tmp/sekisho-maildir-msg-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(util_write_all(fd, bytes, len), 0);
	return fd;
}

/* The names in a directory (not . and ..), sorted; count in *n. */
static char **
list_dir(const char *path, size_t *n)
{
	struct dirent **ents;
	int k = scandir(path, &ents, NULL, alphasort);
	char **names;
	size_t m = 0;

	if (k < 0) {
		*n = 0;
		return NULL;
	}
	names = calloc((size_t)k + 1, sizeof(*names));
	for (int i = 0; i < k; i++) {
		if (strcmp(ents[i]->d_name, ".") != 0 && strcmp(ents[i]->d_name, "..") != 0)
			names[m++] = strdup(ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	*n = m;
	return names;
}

static void
free_list(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* The one file in DIR/folder/new/, read whole. */
static char *
read_only_message(const char *dir, const char *folder, size_t *len)
{
	char *newdir = xasprintf("%s/%s/new", dir, folder);
	char *tmpdir = xasprintf("%s/%s/tmp", dir, folder);
	char *path, *data;
	size_t n, ntmp;
	char **names = list_dir(newdir, &n);
	char **tmps = list_dir(tmpdir, &ntmp);
	unsigned long long t;
	long pid;
	unsigned cnt;
	char host[128];

	assert_int_equal(n, 1);
	assert_int_equal(ntmp, 0);	/* nothing left behind in tmp/ */
	/* time.pid_counter.host */
	assert_int_equal(sscanf(names[0], "%llu.%ld_%u.%127s", &t, &pid, &cnt, host), 4);
	assert_int_equal(pid, (long)getpid());
	path = xasprintf("%s/%s", newdir, names[0]);
	data = util_read_file(path, 1 << 24, len);
	assert_non_null(data);
	free(path);
	free_list(names, n);
	free_list(tmps, ntmp);
	free(newdir);
	free(tmpdir);
	return data;
}

static void
test_two_recipients(void **state)
{
	struct fixture *f = *state;
	static const char msg[] =
	    "From: Alice <alice@example.com>\r\n"
	    "Subject: hello\r\n"
	    "\r\n"
	    "first line\r\n"
	    ".a line with a dot\r\n"
	    "\r\n"
	    "last line\r\n";
	struct envelope *env = envelope_new();
	struct stat st;
	char *data;
	size_t len;
	int fd = spool_with(msg, sizeof(msg) - 1);

	util_strlcpy(env->id, "ID0001", sizeof(env->id));
	env->mail_from = xstrdup("alice@example.com");
	envelope_add_rcpt(env, "Bob@Example.ORG", NULL, 0);
	envelope_add_rcpt(env, "carol@example.org", NULL, 0);
	envelope_add_rcpt(env, "done@example.org", NULL, 0)->status = RCPT_DELIVERED;

	assert_int_equal(maildir_deliver(f->dir, env, fd), 0);
	assert_int_equal(env->rcpt[0].status, RCPT_DELIVERED);
	assert_int_equal(env->rcpt[1].status, RCPT_DELIVERED);
	assert_non_null(env->rcpt[0].reply);
	assert_true(strncmp(env->rcpt[0].reply, "250 2.0.0 ", 10) == 0);
	assert_null(env->rcpt[2].reply);	/* not pending: not touched */

	data = read_only_message(f->dir, "bob@example.org", &len);
	assert_string_equal(data,
	    "Return-Path: <alice@example.com>\n"
	    "Delivered-To: Bob@Example.ORG\n"
	    "From: Alice <alice@example.com>\n"
	    "Subject: hello\n"
	    "\n"
	    "first line\n"
	    ".a line with a dot\n"
	    "\n"
	    "last line\n");
	assert_int_equal(len, strlen(data));
	free(data);

	data = read_only_message(f->dir, "carol@example.org", &len);
	{
		const char *head = "Return-Path: <alice@example.com>\n"
		    "Delivered-To: carol@example.org\nFrom: ";
		assert_true(strncmp(data, head, strlen(head)) == 0);
	}
	free(data);

	/* the Maildir shape, and nothing for the recipient that was done */
	{
		char *cur = xasprintf("%s/carol@example.org/cur", f->dir);
		char *done = xasprintf("%s/done@example.org", f->dir);
		assert_int_equal(stat(cur, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(stat(done, &st), -1);
		free(cur);
		free(done);
	}

	/* a second delivery to the same mailbox: a second, distinct file */
	env->rcpt[0].status = RCPT_PENDING;
	env->rcpt[1].status = RCPT_DELIVERED;
	assert_int_equal(maildir_deliver(f->dir, env, fd), 0);
	{
		char *newdir = xasprintf("%s/bob@example.org/new", f->dir);
		size_t n;
		char **names = list_dir(newdir, &n);
		assert_int_equal(n, 2);
		assert_string_not_equal(names[0], names[1]);
		free_list(names, n);
		free(newdir);
	}
	close(fd);
	envelope_free(env);
}

/* Walk dir: every name is safe (no leading '.', no upper case); count files. */
static size_t
check_tree(const char *dir, int depth)
{
	size_t n, files = 0;
	char **names = list_dir(dir, &n);

	for (size_t i = 0; i < n; i++) {
		char *sub = xasprintf("%s/%s", dir, names[i]);
		struct stat st;

		assert_true(names[i][0] != '.');
		if (depth == 0)
			for (const char *p = names[i]; *p; p++)
				assert_false(*p >= 'A' && *p <= 'Z');
		assert_int_equal(lstat(sub, &st), 0);
		assert_false(S_ISLNK(st.st_mode));
		if (S_ISDIR(st.st_mode))
			files += check_tree(sub, depth + 1);
		else
			files++;
		free(sub);
	}
	free_list(names, n);
	return files;
}

static void
test_unsafe_names(void **state)
{
	struct fixture *f = *state;
	static const char *const evil[] = {
		"../../escape@example.org",
		"/etc/passwd",
		"..",
		".",
		".hidden@example.org",
		"a/../../b@example.org",
		"UPPER/../Case@EXAMPLE.org",
		"",
		"ctl\x01\x7f@example.org",
	};
	static const struct {
		const char *addr, *folder;
	} expect[] = {
		{ "../../escape@example.org", "_._.._escape@example.org" },
		{ "UPPER/../Case@EXAMPLE.org", "upper_.._case@example.org" },
		{ "ctl\x01\x7f@example.org", "ctl__@example.org" },
		{ "/etc/passwd", "_etc_passwd" },
		{ "..", "_." },
		{ ".", "_" },
		{ ".hidden@example.org", "_hidden@example.org" },
		{ "a/../../b@example.org", "a_.._.._b@example.org" },
		{ "", "_" },
	};
	struct envelope *env = envelope_new();
	char msg[] = "Subject: x\r\n\r\nbody\r\n";
	size_t n, nents;
	char **names;
	int fd = spool_with(msg, strlen(msg));

	env->mail_from = xstrdup("");
	for (size_t i = 0; i < UTIL_ARRAY_LEN(evil); i++)
		envelope_add_rcpt(env, evil[i], NULL, 0);
	assert_int_equal(maildir_deliver(f->dir, env, fd), 0);
	for (size_t i = 0; i < env->nrcpt; i++)
		assert_int_equal(env->rcpt[i].status, RCPT_DELIVERED);

	/* nothing outside DIR: the base holds only "mail" */
	names = list_dir(f->base, &nents);
	assert_int_equal(nents, 1);
	assert_string_equal(names[0], "mail");
	free_list(names, nents);

	/* every file is DIR/<safe folder>/new/<file> */
	n = check_tree(f->dir, 0);
	assert_int_equal(n, UTIL_ARRAY_LEN(evil));
	for (size_t i = 0; i < UTIL_ARRAY_LEN(expect); i++) {
		char *p = xasprintf("%s/%s/new", f->dir, expect[i].folder);
		struct stat st;
		assert_int_equal(stat(p, &st), 0);
		free(p);
	}
	close(fd);
	envelope_free(env);
}

static void
test_failure_stays_pending(void **state)
{
	struct fixture *f = *state;
	struct envelope *env = envelope_new();
	char msg[] = "Subject: x\r\n\r\nbody\r\n";
	char *notdir = xasprintf("%s/file", f->base);
	int fd = spool_with(msg, strlen(msg));
	int nf = open(notdir, O_CREAT | O_WRONLY, 0600);

	assert_true(nf >= 0);
	close(nf);
	env->mail_from = xstrdup("a@example.com");
	envelope_add_rcpt(env, "x@example.org", NULL, 0);
	envelope_add_rcpt(env, "y@example.org", NULL, 0);
	/* the maildir root is a plain file: nothing can be created under it */
	assert_int_equal(maildir_deliver(notdir, env, fd), 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(env->rcpt[i].status, RCPT_PENDING);
		assert_non_null(env->rcpt[i].reply);
		assert_true(strncmp(env->rcpt[i].reply, "4.3.0 maildir: ", 15) == 0);
	}
	free(notdir);
	close(fd);
	envelope_free(env);
}

static void
test_large_message_streamed(void **state)
{
	struct fixture *f = *state;
	size_t lines = 20000, len = 0, got;
	char *msg = malloc(lines * 40 + 64), *expect = malloc(lines * 40 + 128);
	size_t elen = 0;
	struct envelope *env = envelope_new();
	char *data;
	int fd;

	elen += (size_t)sprintf(expect, "Return-Path: <>\nDelivered-To: big@example.org\n");
	len += (size_t)sprintf(msg, "Subject: big\r\n\r\n");
	elen += (size_t)sprintf(expect + elen, "Subject: big\n\n");
	for (size_t i = 0; i < lines; i++) {
		len += (size_t)sprintf(msg + len, "line %zu of the big message\r\n", i);
		elen += (size_t)sprintf(expect + elen, "line %zu of the big message\n", i);
	}
	/* no final CRLF, and a lone CR in the last line are kept as they are */
	len += (size_t)sprintf(msg + len, "tail\rx");
	elen += (size_t)sprintf(expect + elen, "tail\rx");
	fd = spool_with(msg, len);
	env->mail_from = xstrdup("");
	envelope_add_rcpt(env, "big@example.org", NULL, 0);
	assert_int_equal(maildir_deliver(f->dir, env, fd), 0);
	data = read_only_message(f->dir, "big@example.org", &got);
	assert_int_equal(got, elen);
	assert_memory_equal(data, expect, elen);
	free(data);
	free(msg);
	free(expect);
	close(fd);
	envelope_free(env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_two_recipients, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failure_stays_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_message_streamed, setup, teardown),
	};

	log_init("test_maildir", NULL, LOG_LEVEL_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
