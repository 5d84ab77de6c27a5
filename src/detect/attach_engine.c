/*
 * attach_engine.c - the scanning engines: ClamAV and YARA.
 *
 * ClamAV runs in-process through libclamav (clamav_engine = libclamav): one
 * engine, compiled at start-up from the signature files we ship in
 * rules_dir/clamav (our own .hdb/.ndb/.ldb: test signatures such as EICAR
 * and the ClamAV test file, so that the chain is proven without official
 * databases) and from each directory of clamav_db_dirs (the official
 * main/daily/bytecode databases an admin installs with freshclam).  A
 * compiled engine is read-only and libclamav scans with it from many
 * threads at once.  Each attachment is scanned from memory
 * (cl_fmap_open_memory + cl_scanmap_callback); ClamAV unpacks archives,
 * documents and mail itself.  The engine's own scan-time limit is the
 * message budget, and its size limits follow ours.
 *
 * With clamav_engine = clamd the bytes go to a running clamd over its
 * socket (a path, or host:port) with the INSTREAM command: "zINSTREAM\0",
 * then chunks of <4-byte big-endian length><data>, then a zero length; the
 * answer is "stream: OK", "stream: NAME FOUND" or "... ERROR".  Every
 * connect, write and read waits at most until the scan deadline.
 *
 * YARA: every .yar file of rules_dir/yara is compiled at start-up (a rule that
 * does not compile stops the start, with file:line); rules are run over
 * every file at every depth and over the views analysers make (VBA source,
 * decoded payloads).  A rule's meta "score" (integer, default 5) grades
 * YARA_MATCH; the matching rule names go into the reason.
 *
 * Results: ClamAV's CL_VIRUS -> MALWARE_FOUND; its time-out ->
 * MALWARE_SCAN_TIMEOUT; any other failure, or clamd unreachable ->
 * MALWARE_SCAN_ERROR.  Fail closed: the default symbol_actions quarantine
 * all three.
 */
#include "detect/attach.h"
#include "util/log.h"

#include <clamav.h>
#include <yara.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

enum av_mode { AV_OFF, AV_LIBCLAMAV, AV_CLAMD };

struct attach_engines {
	enum av_mode mode;
	struct cl_engine *cl;
	char *clamd_socket;
	YR_RULES *yara;
	int yara_inited;
};

static pthread_once_t cl_once = PTHREAD_ONCE_INIT;
static int cl_init_rc;

static void
cl_init_once(void)
{
	cl_init_rc = cl_init(CL_INIT_DEFAULT);
}

static int
load_clamav(struct attach_engines *e, const struct config *cfg, char *err, size_t errlen)
{
	char *own = xasprintf("%s/clamav", cfg->rules_dir);
	unsigned int sigs = 0;
	struct stat sb;
	cl_error_t rc;
	int ret = -1;

	pthread_once(&cl_once, cl_init_once);
	if (cl_init_rc != CL_SUCCESS) {
		snprintf(err, errlen, "libclamav: cl_init: %s", cl_strerror(cl_init_rc));
		goto out;
	}
	if ((e->cl = cl_engine_new()) == NULL) {
		snprintf(err, errlen, "libclamav: cl_engine_new failed");
		goto out;
	}
	if (stat(own, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "libclamav: %s: no signature directory (rules_dir)", own);
		goto out;
	}
	if ((rc = cl_load(own, e->cl, &sigs, CL_DB_STDOPT)) != CL_SUCCESS) {
		snprintf(err, errlen, "libclamav: %s: %s", own, cl_strerror(rc));
		goto out;
	}
	for (char **d = cfg->clamav_db_dirs; d && *d; d++) {
		unsigned int before = sigs;
		if ((rc = cl_load(*d, e->cl, &sigs, CL_DB_STDOPT)) != CL_SUCCESS) {
			snprintf(err, errlen, "libclamav: clamav_db_dirs %s: %s", *d, cl_strerror(rc));
			goto out;
		}
		log_info("attach: ClamAV: %u signatures from %s", sigs - before, *d);
	}
	/* limits: ours, so that ClamAV does not give up earlier than we do */
	cl_engine_set_num(e->cl, CL_ENGINE_MAX_SCANTIME,
	    cfg->malware_scan_budget > 0 && cfg->malware_scan_budget < UINT32_MAX ?
	    (long long)cfg->malware_scan_budget : 20000);
	cl_engine_set_num(e->cl, CL_ENGINE_MAX_FILESIZE, (long long)cfg->attach_max_size);
	cl_engine_set_num(e->cl, CL_ENGINE_MAX_SCANSIZE,
	    (long long)(cfg->archive_max_expanded + cfg->attach_max_size));
	if ((rc = cl_engine_compile(e->cl)) != CL_SUCCESS) {
		snprintf(err, errlen, "libclamav: cl_engine_compile: %s", cl_strerror(rc));
		goto out;
	}
	log_info("attach: ClamAV engine ready with %u signatures", sigs);
	ret = 0;
out:
	free(own);
	return ret;
}

struct yara_compile_err {
	char *err;
	size_t errlen;
	int failed;
};

static void
yara_compile_cb(int level, const char *file, int line, const YR_RULE *rule, const char *msg,
    void *arg)
{
	struct yara_compile_err *ce = arg;

	(void)rule;
	if (level == YARA_ERROR_LEVEL_ERROR) {
		if (!ce->failed)
			snprintf(ce->err, ce->errlen, "YARA: %s:%d: %s", file ? file : "?", line, msg);
		ce->failed = 1;
	} else
		log_warn("YARA: %s:%d: %s", file ? file : "?", line, msg);
}

static int
load_yara(struct attach_engines *e, const struct config *cfg, char *err, size_t errlen)
{
	char *pattern = xasprintf("%s/yara/*.yar", cfg->rules_dir);
	struct yara_compile_err ce = { err, errlen, 0 };
	YR_COMPILER *c = NULL;
	glob_t g;
	int ret = -1, rc;

	memset(&g, 0, sizeof(g));
	if (yr_initialize() != ERROR_SUCCESS) {
		snprintf(err, errlen, "YARA: yr_initialize failed");
		goto out;
	}
	e->yara_inited = 1;
	rc = glob(pattern, 0, NULL, &g);
	if (rc == GLOB_NOMATCH) {
		log_warn("attach: no YARA rules in %s", pattern);
		ret = 0;
		goto out;
	}
	if (rc != 0 || yr_compiler_create(&c) != ERROR_SUCCESS) {
		snprintf(err, errlen, "YARA: cannot read %s", pattern);
		goto out;
	}
	yr_compiler_set_callback(c, yara_compile_cb, &ce);
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *fp = fopen(g.gl_pathv[i], "r");
		if (fp == NULL) {
			snprintf(err, errlen, "YARA: %s: %s", g.gl_pathv[i], strerror(errno));
			goto out;
		}
		yr_compiler_add_file(c, fp, NULL, g.gl_pathv[i]);
		fclose(fp);
		if (ce.failed)
			goto out;
	}
	if (yr_compiler_get_rules(c, &e->yara) != ERROR_SUCCESS) {
		snprintf(err, errlen, "YARA: could not build the rules");
		goto out;
	}
	log_info("attach: %zu YARA rule files loaded", g.gl_pathc);
	ret = 0;
out:
	if (c != NULL)
		yr_compiler_destroy(c);
	globfree(&g);
	free(pattern);
	return ret;
}

struct attach_engines *
attach_engines_new(const struct config *cfg, char *err, size_t errlen)
{
	struct attach_engines *e = xcalloc(1, sizeof(*e));

	if (strcmp(cfg->clamav_engine, "libclamav") == 0) {
		e->mode = AV_LIBCLAMAV;
		if (load_clamav(e, cfg, err, errlen) < 0)
			goto fail;
	} else if (strcmp(cfg->clamav_engine, "clamd") == 0) {
		e->mode = AV_CLAMD;
		if (cfg->clamd_socket == NULL || cfg->clamd_socket[0] == '\0') {
			snprintf(err, errlen, "clamav_engine = clamd needs clamd_socket");
			goto fail;
		}
		e->clamd_socket = xstrdup(cfg->clamd_socket);
	} else {
		log_warn("attach: clamav_engine = off: no virus scanner");
	}
	if (cfg->yara_enable && load_yara(e, cfg, err, errlen) < 0)
		goto fail;
	return e;
fail:
	attach_engines_free(e);
	return NULL;
}

void
attach_engines_free(struct attach_engines *e)
{
	if (e == NULL)
		return;
	if (e->cl != NULL)
		cl_engine_free(e->cl);
	if (e->yara != NULL)
		yr_rules_destroy(e->yara);
	if (e->yara_inited)
		yr_finalize();
	free(e->clamd_socket);
	free(e);
}

/* ---- clamd ---- */

static int
wait_fd(int fd, short events, int64_t deadline_ms)
{
	for (;;) {
		int64_t left = deadline_ms - util_mono_ms();
		struct pollfd p = { .fd = fd, .events = events };
		int n;

		if (left <= 0)
			return -2;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static int
clamd_connect(const char *spec, int64_t deadline_ms, char *err, size_t errlen)
{
	int fd = -1, rc;

	if (strchr(spec, '/') != NULL) {
		struct sockaddr_un sun;

		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlen(spec) >= sizeof(sun.sun_path)) {
			snprintf(err, errlen, "clamd socket path too long");
			return -1;
		}
		memcpy(sun.sun_path, spec, strlen(spec) + 1);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			goto syserr;
		rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	} else {
		const char *colon = strrchr(spec, ':');
		struct addrinfo hints, *ai = NULL;
		char host[256];

		if (colon == NULL || (size_t)(colon - spec) >= sizeof(host)) {
			snprintf(err, errlen, "clamd_socket '%s' is neither a path nor host:port", spec);
			return -1;
		}
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		if (host[0] == '[' && host[strlen(host) - 1] == ']') {
			memmove(host, host + 1, strlen(host));
			host[strlen(host) - 1] = '\0';
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICSERV;
		if ((rc = getaddrinfo(host, colon + 1, &hints, &ai)) != 0 || ai == NULL) {
			snprintf(err, errlen, "clamd %s: %s", spec, gai_strerror(rc));
			return -1;
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0) {
			freeaddrinfo(ai);
			goto syserr;
		}
		rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(ai);
	}
	if (rc < 0 && errno == EINPROGRESS) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		if ((rc = wait_fd(fd, POLLOUT, deadline_ms)) == -2) {
			snprintf(err, errlen, "clamd %s: connect timed out", spec);
			close(fd);
			return -2;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
			errno = soerr ? soerr : errno;
			goto syserr;
		}
		rc = 0;
	}
	if (rc < 0)
		goto syserr;
	return fd;
syserr:
	snprintf(err, errlen, "clamd %s: %s", spec, strerror(errno));
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
send_all(int fd, const void *buf, size_t len, int64_t deadline_ms)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int rc = wait_fd(fd, POLLOUT, deadline_ms);
			if (rc < 0)
				return rc;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return -1;
	}
	return 0;
}

int
attach_clamd_scan(const char *spec, const unsigned char *buf, size_t len, int64_t deadline_ms,
    char *virname, size_t vlen, char *err, size_t errlen)
{
	char reply[512];
	size_t rlen = 0;
	int fd, rc, send_failed = 0;

	virname[0] = '\0';
	fd = clamd_connect(spec, deadline_ms, err, errlen);
	if (fd < 0)
		return fd;
	rc = send_all(fd, "zINSTREAM", 10, deadline_ms);
	for (size_t off = 0; rc == 0 && off < len; ) {
		size_t n = len - off > 65536 ? 65536 : len - off;
		unsigned char hdr[4] = {
			(unsigned char)(n >> 24), (unsigned char)(n >> 16),
			(unsigned char)(n >> 8), (unsigned char)n,
		};
		if ((rc = send_all(fd, hdr, 4, deadline_ms)) == 0)
			rc = send_all(fd, buf + off, n, deadline_ms);
		off += n;
	}
	if (rc == 0)
		rc = send_all(fd, "\0\0\0\0", 4, deadline_ms);
	if (rc == -2) {
		snprintf(err, errlen, "clamd %s: timed out sending", spec);
		close(fd);
		return -2;
	}
	if (rc < 0)
		send_failed = 1;	/* clamd may have answered why (size limit) */
	for (;;) {
		ssize_t n;

		if (rlen + 1 >= sizeof(reply))
			break;
		n = recv(fd, reply + rlen, sizeof(reply) - 1 - rlen, 0);
		if (n > 0) {
			rlen += (size_t)n;
			if (memchr(reply, '\0', rlen) != NULL || memchr(reply, '\n', rlen) != NULL)
				break;
			continue;
		}
		if (n == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if ((rc = wait_fd(fd, POLLIN, deadline_ms)) == -2) {
				snprintf(err, errlen, "clamd %s: timed out waiting for the answer", spec);
				close(fd);
				return -2;
			}
			if (rc < 0)
				break;
			continue;
		}
		break;
	}
	close(fd);
	reply[rlen] = '\0';
	reply[strcspn(reply, "\r\n")] = '\0';
	if (rlen == 0) {
		snprintf(err, errlen, "clamd %s: %s", spec,
		    send_failed ? "connection lost while sending" : "no answer");
		return -1;
	}
	{
		/* "stream: OK" / "stream: NAME FOUND" / "... ERROR" */
		const char *p = strncmp(reply, "stream: ", 8) == 0 ? reply + 8 : reply;
		size_t pl = strlen(p);

		if (strcmp(p, "OK") == 0 && !send_failed)
			return 0;
		if (pl > 6 && strcmp(p + pl - 6, " FOUND") == 0) {
			snprintf(virname, vlen, "%.*s", (int)(pl - 6), p);
			return 1;
		}
		snprintf(err, errlen, "clamd: %s", reply);
		return -1;
	}
}

/* ---- per file ---- */

void
attach_engines_av(struct attach_scan *s, const struct attach_file *f)
{
	const struct attach_engines *e = s->st->eng;
	const char *what = f->path ? f->path : "an attachment";
	char *safe;

	if (e->mode == AV_OFF || f->len == 0)
		return;
	if (attach_out_of_time(s, what))
		return;
	safe = attach_safe_name(what);
	if (e->mode == AV_LIBCLAMAV) {
		struct cl_scan_options opt;
		const char *vir = NULL;
		unsigned long scanned = 0;
		cl_fmap_t *map = cl_fmap_open_memory(f->buf, f->len);
		cl_error_t rc;

		if (map == NULL) {
			attach_flag(s, 1, "MALWARE_SCAN_ERROR", "%s: ClamAV: out of memory", safe);
			free(safe);
			return;
		}
		memset(&opt, 0, sizeof(opt));
		opt.parse = ~0u;	/* every parser: archives, documents, mail, PE */
		rc = cl_scanmap_callback(map, NULL, &vir, &scanned, e->cl, &opt, NULL);
		cl_fmap_close(map);
		if (rc == CL_VIRUS)
			attach_flag(s, 1, "MALWARE_FOUND", "%s: %s (ClamAV)", safe, vir ? vir : "?");
		else if (rc == CL_ETIMEOUT) {
			s->timed_out = 1;
			attach_flag(s, 1, "MALWARE_SCAN_TIMEOUT", "%s: ClamAV ran out of time", safe);
		} else if (rc != CL_CLEAN)
			attach_flag(s, 1, "MALWARE_SCAN_ERROR", "%s: ClamAV: %s", safe, cl_strerror(rc));
	} else {
		char vir[256], err[256];
		int rc = attach_clamd_scan(e->clamd_socket, f->buf, f->len, s->deadline,
		    vir, sizeof(vir), err, sizeof(err));

		if (rc == 1)
			attach_flag(s, 1, "MALWARE_FOUND", "%s: %s (clamd)", safe, vir);
		else if (rc == -2) {
			s->timed_out = 1;
			attach_flag(s, 1, "MALWARE_SCAN_TIMEOUT", "%s: %s", safe, err);
		} else if (rc < 0) {
			log_warn("attach: %s", err);
			attach_flag(s, 1, "MALWARE_SCAN_ERROR", "%s: %s", safe, err);
		}
	}
	free(safe);
}

struct yara_hits {
	struct attach_scan *s;
	int matched;
};

static int
yara_cb(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *arg)
{
	struct yara_hits *h = arg;
	struct attach_scan *s = h->s;
	const YR_RULE *rule = data;
	const YR_META *meta;
	long long score = 5;
	size_t used;

	(void)ctx;
	if (msg != CALLBACK_MSG_RULE_MATCHING)
		return CALLBACK_CONTINUE;
	yr_rule_metas_foreach(rule, meta)
		if (meta->type == META_TYPE_INTEGER && strcmp(meta->identifier, "score") == 0)
			score = meta->integer;
	h->matched = 1;
	if ((double)score > s->yara_score)
		s->yara_score = (double)score;
	if (score >= 5)
		s->part_bad = 1;
	used = strlen(s->yara_names);
	if (strstr(s->yara_names, rule->identifier) == NULL && used + 2 < sizeof(s->yara_names))
		snprintf(s->yara_names + used, sizeof(s->yara_names) - used, "%s%s",
		    used ? ", " : "", rule->identifier);
	return CALLBACK_CONTINUE;
}

void
attach_engines_yara(struct attach_scan *s, const char *what, const unsigned char *buf,
    size_t len)
{
	const struct attach_engines *e = s->st->eng;
	struct yara_hits h = { s, 0 };
	int64_t left;
	int rc;

	if (e->yara == NULL || len == 0 || attach_out_of_time(s, what))
		return;
	left = s->deadline - util_mono_ms();
	rc = yr_rules_scan_mem(e->yara, buf, len, SCAN_FLAGS_FAST_MODE, yara_cb, &h,
	    (int)(left / 1000 + 1));
	if (h.matched && s->yara_where[0] == '\0') {
		char *safe = attach_safe_name(what);
		util_strlcpy(s->yara_where, safe, sizeof(s->yara_where));
		free(safe);
	}
	if (rc == ERROR_SCAN_TIMEOUT) {
		char *safe = attach_safe_name(what);
		s->timed_out = 1;
		attach_flag(s, 1, "MALWARE_SCAN_TIMEOUT", "%s: YARA ran out of time", safe);
		free(safe);
	} else if (rc != ERROR_SUCCESS) {
		char *safe = attach_safe_name(what);
		attach_flag(s, 1, "MALWARE_SCAN_ERROR", "%s: YARA error %d", safe, rc);
		free(safe);
	}
}
