/*
 * detect_feeds.c - local threat feeds: lists of phishing URLs and domains.
 *
 * Formats, told apart by their first line:
 *   - CSV with a header row that has a "url" column (PhishTank's export:
 *     phish_id,url,phish_detail_url,submission_time,verified,...); quoted
 *     fields with doubled quotes are read as CSV;
 *   - plain text, one entry a line, '#' comments (OpenPhish's feed.txt):
 *     a URL ("https://x.example/login"), a host and path ("x.example/a"),
 *     or a domain ("evil.example"), which also lists its subdomains.
 * A URL whose path is empty lists its whole host.
 *
 * Matching: the link, normalised (feeds_normalize: no scheme, no fragment,
 * lower-case host, no trailing '/'), with and without its query; then its
 * host and each parent domain against the domain entries.
 *
 * Reloading: the files' inode, size and mtime are compared at most every
 * reload interval, by whichever scan thread comes first; when one changed,
 * every file is read again into a new list, outside any lock, and the new
 * list replaces the old one under the write lock.  Look-ups hold the read
 * lock, so a list is never freed under a reader.  A file that cannot be
 * read at a reload keeps the list as it was (and is tried again at the
 * next interval); at start it is an error.
 *
 * Limits: lines longer than FEED_LINE_MAX are skipped; at most
 * FEED_MAX_ENTRIES entries in all (the rest are dropped with a warning).
 */
#include "detect/detect_phish.h"
#include "util/log.h"
#include "util/util.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define FEED_LINE_MAX		8192
#define FEED_MAX_ENTRIES	5000000

struct feedlist {
	GHashTable *urls;	/* normalised URL -> file index + 1 */
	GHashTable *domains;	/* host or domain -> file index + 1 */
};

struct stamp {
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

struct feeds {
	char **files;
	char **names;		/* base names, for reasons */
	size_t nfiles;
	int64_t reload_ms;

	pthread_rwlock_t lock;	/* guards list */
	struct feedlist *list;

	pthread_mutex_t check;	/* guards stamps, next_check_ms, reloading */
	struct stamp *stamps;
	int64_t next_check_ms;
	int reloading;
};

static void
list_free(struct feedlist *l)
{
	if (l == NULL)
		return;
	g_hash_table_destroy(l->urls);
	g_hash_table_destroy(l->domains);
	free(l);
}

char *
feeds_normalize(const char *url)
{
	struct url_parts up;
	const char *p, *path;
	char *out;
	size_t l;

	if (strstr(url, "://") == NULL) {
		char *abs = xasprintf("http://%s", url);
		char *n = feeds_normalize(abs);

		free(abs);
		return n;
	}
	if (phish_url_parts(url, &up) < 0)
		return NULL;
	p = strstr(url, "://") + 3;
	path = p + strcspn(p, "/?#");
	out = xasprintf("%s%.*s", up.host, (int)strcspn(path, "#"), path);
	l = strlen(out);
	while (l > strlen(up.host) && out[l - 1] == '/')
		out[--l] = '\0';
	return out;
}

/* Split one CSV line into fields (quoted fields, "" inside quotes). */
static char **
csv_fields(const char *line, size_t *n)
{
	char **v = NULL;
	const char *p = line;

	*n = 0;
	for (;;) {
		GString *f = g_string_new(NULL);

		if (*p == '"') {
			p++;
			while (*p) {
				if (p[0] == '"' && p[1] == '"') {
					g_string_append_c(f, '"');
					p += 2;
				} else if (*p == '"') {
					p++;
					break;
				} else
					g_string_append_c(f, *p++);
			}
			while (*p && *p != ',')
				p++;
		} else
			while (*p && *p != ',' && *p != '\r' && *p != '\n')
				g_string_append_c(f, *p++);
		v = xrealloc(v, (*n + 2) * sizeof(*v));
		v[(*n)++] = xstrdup(f->str);
		v[*n] = NULL;
		g_string_free(f, TRUE);
		if (*p != ',')
			break;
		p++;
	}
	return v;
}

static void
fields_free(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static void
add_entry(struct feedlist *l, const char *entry, guint idx, size_t *count)
{
	char *e = util_trim(xstrdup(entry));
	char *norm;

	if (*e == '\0' || *count >= FEED_MAX_ENTRIES) {
		free(e);
		return;
	}
	if (strstr(e, "://") == NULL && strpbrk(e, "/?") == NULL) {
		/* a domain */
		size_t len = strlen(util_lowercase(e));

		while (len > 0 && e[len - 1] == '.')
			e[--len] = '\0';
		if (len > 0 && strchr(e, '.') != NULL) {
			g_hash_table_replace(l->domains, e, GUINT_TO_POINTER(idx + 1));
			(*count)++;
			return;
		}
		free(e);
		return;
	}
	norm = feeds_normalize(e);
	free(e);
	if (norm == NULL)
		return;
	if (strpbrk(norm, "/?") == NULL)
		g_hash_table_replace(l->domains, norm, GUINT_TO_POINTER(idx + 1));
	else
		g_hash_table_replace(l->urls, norm, GUINT_TO_POINTER(idx + 1));
	(*count)++;
}

static int
load_file(struct feedlist *l, const char *path, guint idx, size_t *count, char *err,
    size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int first = 1, urlcol = -1;

	if (fp == NULL) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) >= 0) {
		char *s;

		if (n > FEED_LINE_MAX)
			continue;
		line[strcspn(line, "\r\n")] = '\0';
		s = util_trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (first) {
			first = 0;
			if (strchr(s, ',') != NULL) {
				size_t nf;
				char **f = csv_fields(s, &nf);

				for (size_t i = 0; i < nf; i++)
					if (util_strcasecmp(util_trim(f[i]), "url") == 0)
						urlcol = (int)i;
				fields_free(f);
				if (urlcol >= 0)
					continue;
			}
		}
		if (urlcol >= 0) {
			size_t nf;
			char **f = csv_fields(s, &nf);

			if ((size_t)urlcol < nf)
				add_entry(l, f[urlcol], idx, count);
			fields_free(f);
		} else
			add_entry(l, s, idx, count);
	}
	free(line);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s: read error", path);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	return 0;
}

static struct feedlist *
build(struct feeds *f, struct stamp *stamps, char *err, size_t errlen)
{
	struct feedlist *l = xcalloc(1, sizeof(*l));
	size_t count = 0;

	l->urls = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
	l->domains = g_hash_table_new_full(g_str_hash, g_str_equal, free, NULL);
	for (size_t i = 0; i < f->nfiles; i++) {
		struct stat st;

		if (stat(f->files[i], &st) < 0) {
			snprintf(err, errlen, "%s: %s", f->files[i], strerror(errno));
			list_free(l);
			return NULL;
		}
		stamps[i].ino = st.st_ino;
		stamps[i].size = st.st_size;
		stamps[i].mtime = st.st_mtim;
		if (load_file(l, f->files[i], (guint)i, &count, err, errlen) < 0) {
			list_free(l);
			return NULL;
		}
	}
	if (count >= FEED_MAX_ENTRIES)
		log_warn("threat feeds: more than %d entries; the rest are ignored",
		    FEED_MAX_ENTRIES);
	return l;
}

struct feeds *
feeds_new(char *const *files, int64_t reload_s, char *err, size_t errlen)
{
	struct feeds *f = xcalloc(1, sizeof(*f));

	for (char *const *p = files; p != NULL && *p != NULL; p++) {
		const char *slash = strrchr(*p, '/');

		f->files = xrealloc(f->files, (f->nfiles + 1) * sizeof(*f->files));
		f->names = xrealloc(f->names, (f->nfiles + 1) * sizeof(*f->names));
		f->files[f->nfiles] = xstrdup(*p);
		f->names[f->nfiles] = xstrdup(slash != NULL ? slash + 1 : *p);
		f->nfiles++;
	}
	f->reload_ms = reload_s * 1000;
	f->stamps = xcalloc(f->nfiles + 1, sizeof(*f->stamps));
	pthread_rwlock_init(&f->lock, NULL);
	pthread_mutex_init(&f->check, NULL);
	f->list = build(f, f->stamps, err, errlen);
	if (f->list == NULL) {
		feeds_free(f);
		return NULL;
	}
	f->next_check_ms = util_mono_ms() + f->reload_ms;
	return f;
}

void
feeds_free(struct feeds *f)
{
	if (f == NULL)
		return;
	list_free(f->list);
	for (size_t i = 0; i < f->nfiles; i++) {
		free(f->files[i]);
		free(f->names[i]);
	}
	free(f->files);
	free(f->names);
	free(f->stamps);
	pthread_rwlock_destroy(&f->lock);
	pthread_mutex_destroy(&f->check);
	free(f);
}

static int
changed(const struct feeds *f)
{
	for (size_t i = 0; i < f->nfiles; i++) {
		struct stat st;

		if (stat(f->files[i], &st) < 0)
			continue;	/* being replaced: keep the list we have */
		if (st.st_ino != f->stamps[i].ino || st.st_size != f->stamps[i].size ||
		    st.st_mtim.tv_sec != f->stamps[i].mtime.tv_sec ||
		    st.st_mtim.tv_nsec != f->stamps[i].mtime.tv_nsec)
			return 1;
	}
	return 0;
}

/* Reload when a file changed.  force: ignore the interval.  1 reloaded. */
static int
maybe_reload(struct feeds *f, int force)
{
	struct stamp *stamps;
	struct feedlist *fresh, *old;
	char err[512];
	int64_t now = util_mono_ms();

	pthread_mutex_lock(&f->check);
	if (f->reloading || (!force && now < f->next_check_ms)) {
		pthread_mutex_unlock(&f->check);
		return 0;
	}
	f->next_check_ms = now + f->reload_ms;
	if (!changed(f)) {
		pthread_mutex_unlock(&f->check);
		return 0;
	}
	f->reloading = 1;
	pthread_mutex_unlock(&f->check);

	stamps = xcalloc(f->nfiles + 1, sizeof(*stamps));
	fresh = build(f, stamps, err, sizeof(err));
	if (fresh == NULL)
		log_warn("threat feeds: %s; keeping the list loaded before", err);
	else {
		pthread_rwlock_wrlock(&f->lock);
		old = f->list;
		f->list = fresh;
		pthread_rwlock_unlock(&f->lock);
		list_free(old);
		log_info("threat feeds: reloaded, %u URLs and %u domains",
		    g_hash_table_size(fresh->urls), g_hash_table_size(fresh->domains));
	}
	pthread_mutex_lock(&f->check);
	if (fresh != NULL)
		memcpy(f->stamps, stamps, f->nfiles * sizeof(*stamps));
	f->reloading = 0;
	pthread_mutex_unlock(&f->check);
	free(stamps);
	return fresh != NULL;
}

int
feeds_check(struct feeds *f)
{
	return maybe_reload(f, 1);
}

size_t
feeds_size(struct feeds *f)
{
	size_t n;

	pthread_rwlock_rdlock(&f->lock);
	n = g_hash_table_size(f->list->urls) + g_hash_table_size(f->list->domains);
	pthread_rwlock_unlock(&f->lock);
	return n;
}

enum feed_hit
feeds_match(struct feeds *f, const char *url, char *src, size_t srclen)
{
	char *norm;
	enum feed_hit hit = FEED_NONE;
	gpointer v = NULL;

	maybe_reload(f, 0);
	if ((norm = feeds_normalize(url)) == NULL)
		return FEED_NONE;
	pthread_rwlock_rdlock(&f->lock);
	if ((v = g_hash_table_lookup(f->list->urls, norm)) != NULL)
		hit = FEED_URL;
	else {
		char *q = strchr(norm, '?');

		if (q != NULL) {
			*q = '\0';
			if ((v = g_hash_table_lookup(f->list->urls, norm)) != NULL)
				hit = FEED_URL;
		}
	}
	if (hit == FEED_NONE) {
		const char *p;

		norm[strcspn(norm, "/?")] = '\0';
		for (p = norm; p != NULL && *p; p = strchr(p, '.') ? strchr(p, '.') + 1 : NULL)
			if ((v = g_hash_table_lookup(f->list->domains, p)) != NULL) {
				hit = FEED_DOMAIN;
				break;
			}
	}
	if (hit != FEED_NONE)
		snprintf(src, srclen, "%s", f->names[GPOINTER_TO_UINT(v) - 1]);
	pthread_rwlock_unlock(&f->lock);
	free(norm);
	return hit;
}
