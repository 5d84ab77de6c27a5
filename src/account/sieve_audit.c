/*
 * sieve_audit.c - audit users' Sieve scripts and remember what was seen.
 *
 * Scripts come from one of two places:
 *   sieve_dir       DIR/USER/NAME.sieve, the Pigeonhole file layout (the
 *                   active-script symlink is skipped: it names a file
 *                   that is read anyway);
 *   sieve_doveadm   `doveadm sieve list -u USER` and `doveadm sieve get -u
 *                   USER NAME`, run without a shell, output capped at
 *                   sieve_max_size + 1 bytes.
 * A script larger than sieve_max_size is not parsed: it is a finding of
 * its own (SIEVE_UNPARSED), as is one that does not parse.
 *
 * Each action is judged (sieve_judge): a redirect outside local_domains,
 * or to an address built from variables, is risky, :copy or not; so are
 * discard, reject and pipe.  fileinto and vacation are listed, not risky.
 * The previous audit's finding keys and script digest are in the store
 * (store_audit.h); a finding whose key the previous audit did not have is
 * new, and a key that went away is listed as removed.  The first audit of
 * a user finds everything new.
 *
 * User names must not contain '/' or begin with '.', so sieve_dir cannot
 * be escaped.  Nothing here needs privilege beyond reading the scripts.
 */
#include "account/sieve_audit.h"
#include "store/store.h"
#include "store/store_audit.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct script {
	char *name;
	char *buf;
	size_t len;
	int too_big;
};

/* ---- judging ---- */

void
sieve_judge(const struct config *cfg, const char *script, const struct sieve_script *s,
    struct sieve_user_audit *ua)
{
	for (size_t i = 0; i < s->nact; i++) {
		const struct sieve_action *a = &s->act[i];
		struct sieve_finding *f;
		const char *at;

		ua->f = xrealloc(ua->f, (ua->nf + 1) * sizeof(*ua->f));
		f = &ua->f[ua->nf++];
		memset(f, 0, sizeof(*f));
		f->script = xstrdup(script);
		f->kind = a->kind;
		f->target = xstrdup(a->target);
		f->conditional = a->conditional;
		f->line = a->line;
		switch (a->kind) {
		case SIEVE_REDIRECT:
		case SIEVE_REDIRECT_COPY:
			at = strrchr(a->target, '@');
			f->external = at == NULL || strstr(a->target, "${") != NULL ||
			    !config_is_local_domain(cfg, at + 1);
			f->risky = f->external;
			break;
		case SIEVE_DISCARD:
		case SIEVE_REJECT:
		case SIEVE_PIPE:
		case SIEVE_UNPARSED:
			f->risky = 1;
			break;
		case SIEVE_FILEINTO:
		case SIEVE_VACATION:
			break;
		}
	}
	if (s->error) {
		struct sieve_finding *f;
		ua->f = xrealloc(ua->f, (ua->nf + 1) * sizeof(*ua->f));
		f = &ua->f[ua->nf++];
		memset(f, 0, sizeof(*f));
		f->script = xstrdup(script);
		f->kind = SIEVE_UNPARSED;
		f->target = xstrdup(s->errmsg);
		f->risky = 1;
	}
}

char *
sieve_finding_key(const struct sieve_finding *f)
{
	char *t = xstrdup(f->kind == SIEVE_UNPARSED ? "" : f->target);

	/* an unparsed script is one finding whatever its error says */
	util_lowercase(t);
	char *k = xasprintf("%s|%s|%s", sieve_kind_name(f->kind), t, f->script);
	free(t);
	return k;
}

/* ---- reading scripts ---- */

static int
valid_user(const char *u)
{
	return *u != '\0' && *u != '.' && strchr(u, '/') == NULL && strlen(u) < 256;
}

static int
script_cmp(const void *a, const void *b)
{
	return strcmp(((const struct script *)a)->name, ((const struct script *)b)->name);
}

static void
add_script(struct script **v, size_t *n, const char *name, char *buf, size_t len,
    int too_big)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[*n].name = xstrdup(name);
	(*v)[*n].buf = buf;
	(*v)[*n].len = len;
	(*v)[*n].too_big = too_big;
	(*n)++;
}

static int
read_dir_scripts(const struct config *cfg, const char *user, struct script **v,
    size_t *n, char **err)
{
	char *dir = xasprintf("%s/%s", cfg->sieve_dir, user);
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL) {
		/* no directory: the user has no scripts */
		int rc = errno == ENOENT ? 0 : -1;
		if (rc < 0)
			*err = xasprintf("%s: %s", dir, strerror(errno));
		free(dir);
		return rc;
	}
	while ((de = readdir(d)) != NULL) {
		size_t l = strlen(de->d_name), len = 0;
		struct stat sb;
		char *path, *buf;
		if (de->d_name[0] == '.' || l < 7 || strcmp(de->d_name + l - 6, ".sieve") != 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (lstat(path, &sb) < 0 || !S_ISREG(sb.st_mode)) {
			free(path);
			continue;
		}
		if (sb.st_size > cfg->sieve_max_size) {
			add_script(v, n, de->d_name, NULL, (size_t)sb.st_size, 1);
			free(path);
			continue;
		}
		buf = util_read_file(path, (size_t)cfg->sieve_max_size, &len);
		if (buf == NULL) {
			*err = xasprintf("%s: %s", path, strerror(errno));
			free(path);
			closedir(d);
			free(dir);
			return -1;
		}
		add_script(v, n, de->d_name, buf, len, 0);
		free(path);
	}
	closedir(d);
	free(dir);
	return 0;
}

/*
 * Run argv (no shell) and capture its standard output, at most max bytes
 * (more sets *too_big and the rest is drained).  The exit status, or -1.
 */
static int
run_capture(char *const argv[], size_t max, char **out, size_t *len, int *too_big)
{
	posix_spawn_file_actions_t fa;
	struct buf b = { 0 };
	char chunk[8192];
	int fds[2], status = 0;
	pid_t pid;
	ssize_t r;

	*too_big = 0;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	while ((r = read(fds[0], chunk, sizeof(chunk))) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (b.len + (size_t)r > max)
			*too_big = 1;
		else
			buf_add(&b, chunk, (size_t)r);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	*out = buf_steal(&b, len);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * argv of sieve_doveadm_command (words split on blanks, so that
 * "doveadm -c /etc/dovecot/other.conf" works; no shell, no quoting)
 * followed by the NULL-terminated extra arguments.  Free with
 * free_argv().
 */
static char **
doveadm_argv(const struct config *cfg, const char *const *extra)
{
	char *copy = xstrdup(cfg->sieve_doveadm_command), *save = NULL;
	char **argv = NULL;
	size_t n = 0;

	for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		argv = xrealloc(argv, (n + 2) * sizeof(*argv));
		argv[n++] = xstrdup(w);
	}
	free(copy);
	for (size_t i = 0; extra[i] != NULL; i++) {
		argv = xrealloc(argv, (n + 2) * sizeof(*argv));
		argv[n++] = xstrdup(extra[i]);
	}
	if (argv == NULL)
		argv = xcalloc(1, sizeof(*argv));
	argv[n] = NULL;
	return argv;
}

static void
free_argv(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/*
 * doveadm's JSON output (-f json) keeps a script's bytes exact, where the
 * default formatter adds a "sieve script:" header line: list answers
 * [{"script":NAME,"active":"ACTIVE"|""}], get [{"sieve script":TEXT}].
 */
static int
read_doveadm_scripts(const struct config *cfg, const char *user, struct script **v,
    size_t *n, char **err)
{
	const char *list_args[] = { "-f", "json", "sieve", "list", "-u", user, NULL };
	char **argv = doveadm_argv(cfg, list_args);
	char *out = NULL;
	size_t len = 0, i;
	int big, rc;
	json_t *list = NULL, *item;

	rc = argv[0] != NULL ? run_capture(argv, 1 << 20, &out, &len, &big) : -1;
	free_argv(argv);
	if (rc == 0 && !big)
		list = json_loadb(out, len, 0, NULL);
	free(out);
	if (rc != 0 || !json_is_array(list)) {
		*err = xasprintf("%s sieve list -u %s failed (status %d%s)",
		    cfg->sieve_doveadm_command, user, rc, rc == 0 ? ", bad output" : "");
		json_decref(list);
		return -1;
	}
	json_array_foreach(list, i, item) {
		const char *get_args[] = { "-f", "json", "sieve", "get", "-u", user, NULL, NULL };
		const char *name = json_string_value(json_object_get(item, "script"));
		json_t *got = NULL, *text;
		/* JSON escaping at most doubles printable text (\u00XX for the rest) */
		size_t cap = (size_t)cfg->sieve_max_size * 6 + 4096;

		if (name == NULL || *name == '\0')
			continue;
		get_args[6] = name;
		argv = doveadm_argv(cfg, get_args);
		rc = run_capture(argv, cap, &out, &len, &big);
		free_argv(argv);
		if (rc == 0 && !big)
			got = json_loadb(out, len, JSON_ALLOW_NUL, NULL);
		free(out);
		text = json_object_iter_value(json_object_iter(json_array_get(got, 0)));
		if (rc != 0 || (!big && !json_is_string(text))) {
			*err = xasprintf("%s sieve get -u %s %s failed (status %d%s)",
			    cfg->sieve_doveadm_command, user, name, rc, rc == 0 ? ", bad output" : "");
			json_decref(got);
			json_decref(list);
			return -1;
		}
		if (big || json_string_length(text) > (size_t)cfg->sieve_max_size)
			add_script(v, n, name, NULL, big ? cap : json_string_length(text), 1);
		else {
			/* a NUL inside stays: the parser refuses it as a finding */
			size_t l = json_string_length(text);
			char *b = xmalloc(l + 1);
			memcpy(b, json_string_value(text), l);
			b[l] = '\0';
			add_script(v, n, name, b, l, 0);
		}
		json_decref(got);
	}
	json_decref(list);
	return 0;
}

static void
digest_scripts(const struct script *v, size_t n, char out[65])
{
	static const char hexd[] = "0123456789abcdef";
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (c == NULL || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
		panic("sieve audit: SHA-256 unavailable");
	for (size_t i = 0; i < n; i++) {
		uint64_t l = v[i].len;
		EVP_DigestUpdate(c, v[i].name, strlen(v[i].name) + 1);
		EVP_DigestUpdate(c, &l, sizeof(l));
		if (v[i].buf != NULL)
			EVP_DigestUpdate(c, v[i].buf, v[i].len);
	}
	EVP_DigestFinal_ex(c, md, &mdlen);
	EVP_MD_CTX_free(c);
	for (unsigned i = 0; i < mdlen && i < 32; i++) {
		out[2 * i] = hexd[md[i] >> 4];
		out[2 * i + 1] = hexd[md[i] & 15];
	}
	out[64] = '\0';
}

/* ---- the audit of one user ---- */

static int
key_in(json_t *arr, const char *key)
{
	size_t i;
	json_t *v;

	json_array_foreach(arr, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), key) == 0)
			return 1;
	return 0;
}

int
sieve_audit_user(const struct config *cfg, struct store *st, const char *user,
    struct sieve_user_audit *ua)
{
	struct store_sieve_state prev;
	struct script *v = NULL;
	json_t *prev_keys = NULL, *keys = json_array();
	size_t n = 0;
	int rc = 0, have_prev = 0;
	char *err = NULL, *dump;

	memset(ua, 0, sizeof(*ua));
	memset(&prev, 0, sizeof(prev));
	ua->user = xstrdup(user);
	if (!valid_user(user)) {
		ua->error = xasprintf("bad user name");
		json_decref(keys);
		return 0;
	}
	if (cfg->sieve_doveadm)
		rc = read_doveadm_scripts(cfg, user, &v, &n, &err);
	else if (cfg->sieve_dir[0] != '\0')
		rc = read_dir_scripts(cfg, user, &v, &n, &err);
	else
		err = xstrdup("neither sieve_dir nor sieve_doveadm is set");
	if (rc < 0 || err != NULL) {
		ua->error = err ? err : xstrdup("cannot read the scripts");
		goto out;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), script_cmp);
	digest_scripts(v, n, ua->digest);
	for (size_t i = 0; i < n; i++) {
		struct sieve_script s;
		if (v[i].too_big) {
			memset(&s, 0, sizeof(s));
			s.error = 1;
			snprintf(s.errmsg, sizeof(s.errmsg), "larger than sieve_max_size (%zu bytes)",
			    v[i].len);
		} else {
			sieve_parse(v[i].buf, v[i].len, &s);
		}
		sieve_judge(cfg, v[i].name, &s, ua);
		sieve_script_clear(&s);
	}

	if (st != NULL) {
		rc = store_sieve_get(st, user, &prev);
		if (rc < 0)
			goto out;
		have_prev = rc == 0;
		rc = 0;
		if (have_prev)
			prev_keys = json_loads(prev.findings ? prev.findings : "[]", 0, NULL);
	}
	ua->first = !have_prev;
	ua->changed = !have_prev || strcmp(prev.digest, ua->digest) != 0;
	for (size_t i = 0; i < ua->nf; i++) {
		char *k = sieve_finding_key(&ua->f[i]);
		ua->f[i].is_new = prev_keys == NULL || !key_in(prev_keys, k);
		if (ua->f[i].is_new && ua->f[i].risky)
			ua->new_risky++;
		if (!key_in(keys, k))
			json_array_append_new(keys, json_string(k));
		free(k);
	}
	if (prev_keys != NULL) {
		size_t i;
		json_t *pk;
		json_array_foreach(prev_keys, i, pk) {
			if (!json_is_string(pk) || key_in(keys, json_string_value(pk)))
				continue;
			ua->removed = xrealloc(ua->removed, (ua->nremoved + 1) * sizeof(char *));
			ua->removed[ua->nremoved++] = xstrdup(json_string_value(pk));
		}
	}
	if (st != NULL) {
		dump = json_dumps(keys, JSON_COMPACT);
		rc = store_sieve_put(st, user, util_now_ms(), ua->digest, dump);
		free(dump);
	}
out:
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].buf);
	}
	free(v);
	json_decref(keys);
	json_decref(prev_keys);
	store_sieve_state_clear(&prev);
	return rc < 0 ? -1 : 0;
}

void
sieve_user_audit_clear(struct sieve_user_audit *ua)
{
	if (ua == NULL)
		return;
	for (size_t i = 0; i < ua->nf; i++) {
		free(ua->f[i].script);
		free(ua->f[i].target);
	}
	free(ua->f);
	for (size_t i = 0; i < ua->nremoved; i++)
		free(ua->removed[i]);
	free(ua->removed);
	free(ua->user);
	free(ua->error);
	memset(ua, 0, sizeof(*ua));
}

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
sieve_users(const struct config *cfg, char *err, size_t errlen)
{
	char **users = xcalloc(1, sizeof(*users));
	size_t n = 0;

	if (cfg->sieve_doveadm) {
		const char *user_args[] = { "user", "*", NULL };
		char **argv = doveadm_argv(cfg, user_args);
		char *out = NULL, *save = NULL;
		size_t len;
		int big, rc = argv[0] != NULL ? run_capture(argv, 64 << 20, &out, &len, &big) : -1;

		free_argv(argv);
		if (rc != 0) {
			snprintf(err, errlen, "%s user '*' failed", cfg->sieve_doveadm_command);
			free(out);
			free(users);
			return NULL;
		}
		for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			l = util_trim(l);
			if (!valid_user(l))
				continue;
			users = xrealloc(users, (n + 2) * sizeof(*users));
			users[n++] = xstrdup(l);
			users[n] = NULL;
		}
		free(out);
	} else if (cfg->sieve_dir[0] != '\0') {
		DIR *d = opendir(cfg->sieve_dir);
		struct dirent *de;
		if (d == NULL) {
			snprintf(err, errlen, "%s: %s", cfg->sieve_dir, strerror(errno));
			free(users);
			return NULL;
		}
		while ((de = readdir(d)) != NULL) {
			char *p;
			struct stat sb;
			if (!valid_user(de->d_name))
				continue;
			p = xasprintf("%s/%s", cfg->sieve_dir, de->d_name);
			if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
				users = xrealloc(users, (n + 2) * sizeof(*users));
				users[n++] = xstrdup(de->d_name);
				users[n] = NULL;
			}
			free(p);
		}
		closedir(d);
	} else {
		snprintf(err, errlen, "neither sieve_dir nor sieve_doveadm is set");
		free(users);
		return NULL;
	}
	qsort(users, n, sizeof(*users), str_cmp);
	return users;
}
