/*
 * cmd_scan.c - sekisho scan: the daemon's analysis, offline.
 *
 *   sekisho scan [--json] [--direction inbound|outbound] [--from ADDR]
 *                [--rcpt ADDR]... [--client IP] [--helo NAME] [--user LOGIN]
 *                [--output FILE] FILE|DIR|-
 *
 * Each message goes through pipeline_run_msg(), the very analysis sekishod
 * makes.  The envelope options stand in for the SMTP session; without them
 * the sender and recipients are taken from the headers (Return-Path or
 * From; To and Cc) and the direction is inbound.  A leading mbox "From "
 * line is skipped.  A directory is scanned recursively on one thread per
 * core, printed in file order, with a progress bar on a terminal.
 *
 * Exit code: the most severe action seen: 0 deliver, 3 tag, 4 hold,
 * 5 quarantine, 6 reject; 1 when a file could not be read; 2 usage.
 */
#include "cmd/cmd.h"
#include "detect/detect.h"
#include "message/message.h"
#include "outbound/outbound.h"
#include "policy/pipeline.h"
#include "util/buf.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SCAN_MAX_FILE	(64 * 1024 * 1024)

struct scan_opts {
	int json;
	int outbound;
	const char *from;
	const char **rcpts;
	size_t nrcpts;
	const char *client;
	const char *helo;
	const char *user;
	const char *output;	/* write the rewritten message here (one file only) */
};

struct job {
	char *path;
	char *out;		/* what to print for it */
	enum action action;
	double score;
	int failed;
	atomic_int done;
};

struct run {
	struct pipeline *pl;
	const struct scan_opts *o;
	struct job *jobs;
	size_t njobs;
	atomic_size_t next;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static int
exit_code(enum action a)
{
	switch (a) {
	case ACTION_DELIVER: return 0;
	case ACTION_TAG: return 3;
	case ACTION_HOLD: return 4;
	case ACTION_QUARANTINE: return 5;
	case ACTION_REJECT: return 6;
	}
	return 0;
}

static void
add_file(struct run *run, const char *path)
{
	if (run->njobs % 1024 == 0)
		run->jobs = xrealloc(run->jobs, (run->njobs + 1024) * sizeof(*run->jobs));
	memset(&run->jobs[run->njobs], 0, sizeof(run->jobs[0]));
	run->jobs[run->njobs++].path = xstrdup(path);
}

static int
path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collect regular files under dir, sorted, skipping dot files. */
static void
walk(struct run *run, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (d == NULL) {
		fprintf(stderr, "sekisho: %s: %s\n", dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = xasprintf("%s/%s", dir, de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), path_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (stat(names[i], &st) == 0) {
			if (S_ISDIR(st.st_mode))
				walk(run, names[i]);
			else if (S_ISREG(st.st_mode))
				add_file(run, names[i]);
		}
		free(names[i]);
	}
	free(names);
}

static char *
read_input(const char *path, size_t *len)
{
	if (strcmp(path, "-") == 0) {
		size_t cap = 65536, n = 0;
		char *buf = xmalloc(cap);
		size_t r;
		while ((r = fread(buf + n, 1, cap - n, stdin)) > 0) {
			n += r;
			if (n == cap) {
				if (cap >= SCAN_MAX_FILE) {
					free(buf);
					errno = EFBIG;
					return NULL;
				}
				cap *= 2;
				buf = xrealloc(buf, cap);
			}
		}
		*len = n;
		return buf;
	}
	return util_read_file(path, SCAN_MAX_FILE, len);
}

static void
add_addrs(struct envelope *env, const struct msg_addr *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].addr != NULL)
			envelope_add_rcpt(env, a[i].addr, NULL, 0);
}

/* The envelope from the options, or from the headers of the parsed message. */
static struct envelope *
make_envelope(const struct scan_opts *o, const struct message *m, size_t len)
{
	struct envelope *env = envelope_new();

	util_strlcpy(env->id, "scan", sizeof(env->id));
	env->listener = xstrdup(o->outbound ? "outbound" : "inbound");
	env->client_addr = xstrdup(o->client ? o->client : "127.0.0.1");
	env->client_name = xstrdup("unknown");
	env->helo = xstrdup(o->helo ? o->helo : "localhost");
	env->auth_user = o->user ? xstrdup(o->user) : NULL;
	env->received_ms = util_now_ms();
	env->size = (int64_t)len;
	if (o->from != NULL) {
		env->mail_from = xstrdup(o->from);
	} else {
		const char *rp = message_header(m, "Return-Path");
		char *addr = NULL;
		if (rp != NULL) {
			const char *lt = strchr(rp, '<'), *gt = lt ? strchr(lt, '>') : NULL;
			if (lt && gt)
				addr = xstrndup(lt + 1, (size_t)(gt - lt - 1));
		}
		if (addr == NULL && m->nfrom > 0 && m->from[0].addr)
			addr = xstrdup(m->from[0].addr);
		env->mail_from = addr ? addr : xstrdup("");
	}
	for (size_t i = 0; i < o->nrcpts; i++)
		envelope_add_rcpt(env, o->rcpts[i], NULL, 0);
	if (o->nrcpts == 0) {
		add_addrs(env, m->to, m->nto);
		add_addrs(env, m->cc, m->ncc);
	}
	return env;
}

static char *
format_text(const char *path, const struct verdict *v, const struct scan_result *r, int many)
{
	struct buf out = { 0 };

	if (many) {
		buf_printf(&out, "%-10s %7.2f  %s ", action_name(v->action), v->score, path);
		for (size_t i = 0; i < r->nsyms; i++)
			buf_printf(&out, "%s%s", i ? "," : "", r->syms[i].name);
		buf_str(&out, "\n");
	} else {
		buf_printf(&out, "%s\naction: %s\nscore: %.2f\n", path, action_name(v->action),
		    v->score);
		if (v->action == ACTION_REJECT)
			buf_printf(&out, "reply: %s\n", v->reply);
		for (size_t i = 0; i < r->nsyms; i++)
			buf_printf(&out, "  %-28s %7.2f  %s\n", r->syms[i].name, r->syms[i].score,
			    r->syms[i].reason);
	}
	return buf_steal(&out, NULL);
}

static char *
format_json(const char *path, const struct verdict *v, const struct scan_result *r)
{
	json_t *syms = json_array(), *root;
	char *s, *out;

	for (size_t i = 0; i < r->nsyms; i++)
		json_array_append_new(syms, json_pack("{s:s, s:f, s:s}", "name",
		    r->syms[i].name, "score", r->syms[i].score, "reason", r->syms[i].reason));
	root = json_pack("{s:s, s:s, s:f, s:o}", "file", path, "action",
	    action_name(v->action), "score", v->score, "symbols", syms);
	if (v->action == ACTION_REJECT)
		json_object_set_new(root, "reply", json_string(v->reply));
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	out = xasprintf("%s\n", s);
	free(s);
	return out;
}

static void
scan_one(struct run *run, struct job *j)
{
	const struct scan_opts *o = run->o;
	struct scan_result r;
	struct verdict v;
	struct envelope *env;
	struct message *msg;
	size_t len = 0, skip = 0;
	char *buf = read_input(j->path, &len);

	if (buf == NULL) {
		j->failed = 1;
		j->out = xasprintf("%s: cannot read: %s\n", j->path, strerror(errno));
		return;
	}
	/* mbox "From " separator line, as in many corpora */
	if (len > 5 && memcmp(buf, "From ", 5) == 0) {
		const char *nl = memchr(buf, '\n', len);
		skip = nl ? (size_t)(nl - buf) + 1 : len;
	}
	/* one parse serves both the envelope and the analysis */
	msg = pipeline_parse(run->pl, buf + skip, len - skip);
	env = make_envelope(o, msg, len - skip);
	pipeline_run_msg(run->pl, env, msg, &v, &r);
	message_free(msg);
	j->action = v.action;
	j->score = v.score;
	if (o->output != NULL) {
		FILE *fp = fopen(o->output, "wb");
		const char *b = v.rewritten ? v.rewritten : buf + skip;
		size_t n = v.rewritten ? v.rewritten_len : len - skip;
		if (fp == NULL || fwrite(b, 1, n, fp) != n || fclose(fp) != 0) {
			fprintf(stderr, "sekisho: %s: %s\n", o->output, strerror(errno));
			j->failed = 1;
		}
	}
	j->out = o->json ? format_json(j->path, &v, &r) :
	    format_text(j->path, &v, &r, run->njobs > 1);
	scan_result_clear(&r);
	verdict_clear(&v);
	envelope_free(env);
	free(buf);
}

static void *
worker(void *arg)
{
	struct run *run = arg;
	size_t i;

	while ((i = atomic_fetch_add(&run->next, 1)) < run->njobs) {
		scan_one(run, &run->jobs[i]);
		pthread_mutex_lock(&run->lock);
		atomic_store(&run->jobs[i].done, 1);
		pthread_cond_broadcast(&run->cond);
		pthread_mutex_unlock(&run->lock);
	}
	return NULL;
}

static void
progress(size_t done, size_t total)
{
	int width = 40, fill = total ? (int)(done * (size_t)width / total) : width;

	fprintf(stderr, "\r[%.*s%*s] %zu/%zu", fill,
	    "########################################", width - fill, "", done, total);
	if (done == total)
		fputc('\n', stderr);
}

int
cmd_scan(const struct config *cfg, int argc, char **argv)
{
	struct scan_opts o = { 0 };
	struct run run = { 0 };
	size_t counts[5] = { 0 }, failed = 0, nthreads;
	const char *target = NULL;
	enum action worst = ACTION_DELIVER;
	pthread_t *threads;
	char err[512];
	int rc = 0, tty = isatty(2);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct stat st;

	o.rcpts = xcalloc((size_t)argc + 1, sizeof(*o.rcpts));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--json") == 0) {
			o.json = 1;
		} else if (strcmp(a, "--direction") == 0 && val) {
			if (strcmp(val, "outbound") == 0)
				o.outbound = 1;
			else if (strcmp(val, "inbound") != 0)
				goto usage;
			i++;
		} else if (strcmp(a, "--from") == 0 && val) {
			o.from = val;
			i++;
		} else if (strcmp(a, "--rcpt") == 0 && val) {
			o.rcpts[o.nrcpts++] = val;
			i++;
		} else if (strcmp(a, "--client") == 0 && val) {
			o.client = val;
			i++;
		} else if (strcmp(a, "--helo") == 0 && val) {
			o.helo = val;
			i++;
		} else if (strcmp(a, "--user") == 0 && val) {
			o.user = val;
			i++;
		} else if (strcmp(a, "--output") == 0 && val) {
			o.output = val;
			i++;
		} else if (a[0] == '-' && a[1] != '\0') {
			goto usage;
		} else if (target == NULL) {
			target = a;
		} else {
			goto usage;
		}
	}
	if (target == NULL)
		goto usage;

	if (strcmp(target, "-") != 0 && stat(target, &st) < 0) {
		fprintf(stderr, "sekisho: %s: %s\n", target, strerror(errno));
		free(o.rcpts);
		return 1;
	}
	if (strcmp(target, "-") != 0 && S_ISDIR(st.st_mode)) {
		if (o.output != NULL) {
			fprintf(stderr, "sekisho: --output takes a single message, not a directory\n");
			free(o.rcpts);
			return 2;
		}
		walk(&run, target);
	}
	else
		add_file(&run, target);
	run.pl = pipeline_new(cfg, outbound_pipeline_ops(), err, sizeof(err));
	if (run.pl == NULL) {
		fprintf(stderr, "sekisho: %s\n", err);
		rc = 1;
		goto out;
	}
	/* an offline look must not teach the classifier or the history */
	pipeline_set_record(run.pl, 0);
	run.o = &o;
	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.cond, NULL);
	nthreads = ncpu > 0 ? (size_t)ncpu : 1;
	if (nthreads > run.njobs)
		nthreads = run.njobs ? run.njobs : 1;
	threads = xcalloc(nthreads, sizeof(*threads));
	for (size_t i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, worker, &run) != 0)
			fatal("sekisho: cannot start scan threads");
	/* print in file order as results come in */
	for (size_t i = 0; i < run.njobs; i++) {
		pthread_mutex_lock(&run.lock);
		while (!atomic_load(&run.jobs[i].done))
			pthread_cond_wait(&run.cond, &run.lock);
		pthread_mutex_unlock(&run.lock);
		if (tty && run.njobs > 1 && !o.json)
			fputs("\r\033[K", stderr);
		if (run.jobs[i].failed) {
			fputs(run.jobs[i].out, stderr);
			failed++;
		} else {
			fputs(run.jobs[i].out, stdout);
			counts[run.jobs[i].action]++;
			if (exit_code(run.jobs[i].action) > exit_code(worst))
				worst = run.jobs[i].action;
		}
		if (tty && run.njobs > 1)
			progress(i + 1, run.njobs);
	}
	for (size_t i = 0; i < nthreads; i++)
		pthread_join(threads[i], NULL);
	free(threads);
	if (run.njobs > 1 && !o.json)
		printf("-- %zu messages: %zu deliver, %zu tag, %zu hold, %zu quarantine, "
		    "%zu reject, %zu unreadable\n", run.njobs, counts[ACTION_DELIVER],
		    counts[ACTION_TAG], counts[ACTION_HOLD], counts[ACTION_QUARANTINE],
		    counts[ACTION_REJECT], failed);
	rc = failed ? 1 : exit_code(worst);
	pthread_mutex_destroy(&run.lock);
	pthread_cond_destroy(&run.cond);
out:
	pipeline_free(run.pl);
	for (size_t i = 0; i < run.njobs; i++) {
		free(run.jobs[i].path);
		free(run.jobs[i].out);
	}
	free(run.jobs);
	free(o.rcpts);
	return rc;
usage:
	fprintf(stderr, "usage: sekisho scan [--json] [--direction inbound|outbound] "
	    "[--from ADDR] [--rcpt ADDR]... [--client IP] [--helo NAME] [--user LOGIN] "
	    "[--output FILE] FILE|DIR|-\n");
	free(o.rcpts);
	return 2;
}
