/*
 * outbound_directory.c - the directory: CSV import, what it says about a
 * sender, and internal or external after list expansion.
 *
 * CSV (RFC 4180: commas, fields in double quotes may hold commas, quotes
 * doubled and line breaks; CRLF or LF; an optional UTF-8 BOM).  The first
 * row names the columns, in any order:
 *
 *   type        user, group or list (empty: user)
 *   address     a user's or list's address; a group's name
 *   name        display name (UTF-8, Japanese welcome)
 *   department  a user's group
 *   approvers   addresses, separated by spaces or semicolons
 *   language    ja or en
 *   hold_minutes  the user's or group's hold time (empty: inherit)
 *   delegate    who approves in an approver's place
 *   members     a list's addresses, separated by spaces or semicolons
 *
 * Limits: CSV_FIELD_MAX bytes per field, CSV_FIELDS fields per row,
 * CSV_ROWS rows; a row that breaks them, an unknown type or language, or
 * a user without an address stops the import with the line number, and
 * nothing is kept.
 *
 * Lists expand to LIST_DEPTH levels; a loop simply stops there.
 */
#include "outbound/outbound.h"
#include "util/buf.h"
#include "util/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define CSV_FIELDS	32
#define CSV_FIELD_MAX	(64 * 1024)
#define CSV_ROWS	1000000
#define LIST_DEPTH	4

enum col { C_TYPE, C_ADDRESS, C_NAME, C_DEPT, C_APPROVERS, C_LANG, C_HOLD, C_DELEGATE,
	C_MEMBERS, C_COUNT };

static const char *const col_names[C_COUNT] = {
	"type", "address", "name", "department", "approvers", "language", "hold_minutes",
	"delegate", "members",
};

/*
 * Read one CSV record into fields (malloc'ed strings).  Returns the field
 * count, 0 at end of input, -1 on a broken record.  *line counts lines.
 */
static int
csv_record(FILE *fp, char **fields, int *line)
{
	struct buf f = { 0 };
	int n = 0, c, quoted = 0, any = 0;

	for (;;) {
		c = getc(fp);
		if (c == EOF) {
			if (quoted)
				goto broken;
			if (!any && n == 0) {
				buf_free(&f);
				return 0;
			}
			break;
		}
		any = 1;
		if (quoted) {
			if (c == '"') {
				int d = getc(fp);
				if (d == '"') {
					buf_add(&f, "\"", 1);
					continue;
				}
				if (d != EOF)
					ungetc(d, fp);
				quoted = 0;
				continue;
			}
			if (c == '\n')
				(*line)++;
		} else if (c == '"' && f.len == 0) {
			quoted = 1;
			continue;
		} else if (c == ',') {
			if (n == CSV_FIELDS - 1)
				goto broken;
			fields[n++] = f.p ? buf_steal(&f, NULL) : xstrdup("");
			continue;
		} else if (c == '\r') {
			continue;
		} else if (c == '\n') {
			(*line)++;
			break;
		}
		if (f.len >= CSV_FIELD_MAX)
			goto broken;
		buf_add(&f, &(char){ (char)c }, 1);
	}
	fields[n++] = f.p ? buf_steal(&f, NULL) : xstrdup("");
	return n;
broken:
	buf_free(&f);
	for (int i = 0; i < n; i++)
		free(fields[i]);
	return -1;
}

static void
trim(char *s)
{
	size_t n = strlen(s), i = 0;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	while (isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, n - i + 1);
}

/* Spaces, commas and semicolons between addresses become single spaces. */
static char *
addr_list(const char *s)
{
	struct buf b = { 0 };
	char *copy = xstrdup(s), *save = NULL;

	for (char *a = strtok_r(copy, " \t,;", &save); a; a = strtok_r(NULL, " \t,;", &save)) {
		if (b.len)
			buf_str(&b, " ");
		for (char *p = a; *p; p++)
			buf_add(&b, &(char){ (char)tolower((unsigned char)*p) }, 1);
	}
	free(copy);
	return b.p ? buf_steal(&b, NULL) : NULL;
}

static char *
field(char **fields, int nf, const int *map, enum col c)
{
	if (map[c] < 0 || map[c] >= nf || fields[map[c]][0] == '\0')
		return NULL;
	return xstrdup(fields[map[c]]);
}

/* One data row to an entry: 0, or -1 with why. */
static int
row_entry(char **fields, int nf, const int *map, struct dir_entry *e, char *why,
    size_t whylen)
{
	char *type = field(fields, nf, map, C_TYPE), *hold, *v;

	memset(e, 0, sizeof(*e));
	e->hold_minutes = -1;
	if (type == NULL || strcmp(type, "user") == 0)
		e->kind = DIR_USER;
	else if (strcmp(type, "group") == 0)
		e->kind = DIR_GROUP;
	else if (strcmp(type, "list") == 0)
		e->kind = DIR_LIST;
	else {
		snprintf(why, whylen, "unknown type '%s' (user, group, list)", type);
		free(type);
		return -1;
	}
	free(type);
	e->key = field(fields, nf, map, C_ADDRESS);
	if (e->key == NULL || (e->kind != DIR_GROUP && strchr(e->key, '@') == NULL)) {
		snprintf(why, whylen, "%s", e->kind == DIR_GROUP ? "a group needs a name" :
		    "an address is needed");
		return -1;
	}
	e->name = field(fields, nf, map, C_NAME);
	e->department = field(fields, nf, map, C_DEPT);
	if ((v = field(fields, nf, map, C_APPROVERS)) != NULL) {
		e->approvers = addr_list(v);
		free(v);
	}
	if ((v = field(fields, nf, map, C_DELEGATE)) != NULL) {
		e->delegate = addr_list(v);
		free(v);
	}
	if ((v = field(fields, nf, map, C_MEMBERS)) != NULL) {
		e->members = addr_list(v);
		free(v);
	}
	e->language = field(fields, nf, map, C_LANG);
	if (e->language && strcmp(e->language, "ja") != 0 && strcmp(e->language, "en") != 0) {
		snprintf(why, whylen, "language '%s' is not ja or en", e->language);
		return -1;
	}
	if ((hold = field(fields, nf, map, C_HOLD)) != NULL) {
		char *end;
		long long m = strtoll(hold, &end, 10);
		if (*end != '\0' || m < 0 || m > 7 * 24 * 60) {
			snprintf(why, whylen, "hold_minutes '%s' is not 0..10080", hold);
			free(hold);
			return -1;
		}
		e->hold_minutes = m;
		free(hold);
	}
	return 0;
}

int
outbound_dir_import(struct store *st, FILE *fp, int replace, char *err, size_t errlen)
{
	char *fields[CSV_FIELDS];
	int map[C_COUNT], line = 1, count = 0, nf, rc = -1;
	char why[200];

	for (int c = 0; c < C_COUNT; c++)
		map[c] = -1;
	/* the header row */
	if ((nf = csv_record(fp, fields, &line)) <= 0) {
		snprintf(err, errlen, "line 1: no header row");
		return -1;
	}
	for (int i = 0; i < nf; i++) {
		char *h = fields[i];
		if (i == 0 && (unsigned char)h[0] == 0xef && (unsigned char)h[1] == 0xbb &&
		    (unsigned char)h[2] == 0xbf)
			memmove(h, h + 3, strlen(h + 3) + 1);
		trim(h);
		for (int c = 0; c < C_COUNT; c++)
			if (util_strcasecmp(h, col_names[c]) == 0)
				map[c] = i;
		free(h);
	}
	if (map[C_ADDRESS] < 0) {
		snprintf(err, errlen, "line 1: the header has no 'address' column");
		return -1;
	}
	if (store_begin(st) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		return -1;
	}
	if (replace && store_dir_clear(st) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		goto out;
	}
	for (;;) {
		struct dir_entry e;
		int at = line, bad;

		nf = csv_record(fp, fields, &line);
		if (nf == 0)
			break;
		if (nf > 0 && count >= CSV_ROWS) {
			for (int i = 0; i < nf; i++)
				free(fields[i]);
			snprintf(err, errlen, "line %d: more than %d rows", at, CSV_ROWS);
			goto out;
		}
		if (nf < 0) {
			snprintf(err, errlen, "line %d: broken CSV (unclosed quote, or too "
			    "many or too long fields)", at);
			goto out;
		}
		for (int i = 0; i < nf; i++)
			trim(fields[i]);
		if (nf == 1 && fields[0][0] == '\0') {
			free(fields[0]);
			continue;	/* empty line */
		}
		bad = row_entry(fields, nf, map, &e, why, sizeof(why));
		for (int i = 0; i < nf; i++)
			free(fields[i]);
		if (bad) {
			snprintf(err, errlen, "line %d: %s", at, why);
			dir_entry_clear(&e);
			goto out;
		}
		if (store_dir_put(st, &e) < 0) {
			snprintf(err, errlen, "line %d: %s", at, store_errmsg(st));
			dir_entry_clear(&e);
			goto out;
		}
		dir_entry_clear(&e);
		count++;
	}
	if (store_commit(st) < 0) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		goto out;
	}
	return count;
out:
	store_rollback(st);
	return rc;
}

void
outbound_person_clear(struct outbound_person *p)
{
	if (p == NULL)
		return;
	free(p->name);
	free(p->lang);
	free(p->approvers);
	memset(p, 0, sizeof(*p));
}

/* Append addr and, when the directory names one, its delegate. */
static void
add_approver(struct store *st, struct buf *b, const char *addr)
{
	struct dir_entry d;

	buf_printf(b, "%s%s", b->len ? " " : "", addr);
	if (st != NULL && store_dir_get(st, DIR_USER, addr, &d) == 0) {
		if (d.delegate && *d.delegate)
			buf_printf(b, " %s", d.delegate);
		dir_entry_clear(&d);
	}
}

int
outbound_person_get(struct store *st, const struct config *cfg, const char *addr,
    struct outbound_person *p)
{
	struct dir_entry u, g;
	int have_u = 0, have_g = 0, rc = 0;
	const char *approvers = NULL;
	struct buf b = { 0 };

	memset(p, 0, sizeof(*p));
	memset(&u, 0, sizeof(u));
	memset(&g, 0, sizeof(g));
	if (st != NULL && addr && *addr) {
		int r = store_dir_get(st, DIR_USER, addr, &u);
		if (r < 0)
			rc = -1;
		have_u = r == 0;
		if (have_u && u.department &&
		    (r = store_dir_get(st, DIR_GROUP, u.department, &g)) == 0)
			have_g = 1;
		else if (r < 0)
			rc = -1;
	}
	p->name = have_u && u.name ? xstrdup(u.name) : NULL;
	p->lang = xstrdup(have_u && u.language ? u.language :
	    have_g && g.language ? g.language : cfg->notify_language);
	if (have_u && u.hold_minutes >= 0)
		p->hold_ms = u.hold_minutes * 60000;
	else if (have_g && g.hold_minutes >= 0)
		p->hold_ms = g.hold_minutes * 60000;
	else
		p->hold_ms = cfg->hold_time * 1000;
	if (have_u && u.approvers && *u.approvers)
		approvers = u.approvers;
	else if (have_g && g.approvers && *g.approvers)
		approvers = g.approvers;
	if (approvers != NULL) {
		char *copy = xstrdup(approvers), *save = NULL;
		for (char *a = strtok_r(copy, " ", &save); a; a = strtok_r(NULL, " ", &save))
			add_approver(st, &b, a);
		free(copy);
	} else {
		for (char **a = cfg->approval_approvers; a && *a; a++)
			add_approver(st, &b, *a);
	}
	p->approvers = b.p ? buf_steal(&b, NULL) : xstrdup("");
	dir_entry_clear(&u);
	dir_entry_clear(&g);
	return rc;
}

/* Is the address's domain one of local_domains or below one? */
static int
local_address(const struct config *cfg, const char *addr)
{
	const char *d = envelope_domain(addr);
	size_t dl = strlen(d);

	for (char **p = cfg->local_domains; p && *p; p++) {
		size_t l = strlen(*p);
		if (util_strcasecmp(*p, d) == 0 ||
		    (dl > l && d[dl - l - 1] == '.' && util_strcasecmp(*p, d + dl - l) == 0))
			return 1;
	}
	return 0;
}

static int
external_at(struct store *st, const struct config *cfg, const char *addr, int depth)
{
	struct dir_entry l;
	int ext = 0;

	if (!local_address(cfg, addr))
		return 1;
	if (st == NULL || depth >= LIST_DEPTH || store_dir_get(st, DIR_LIST, addr, &l) != 0)
		return 0;
	if (l.members != NULL) {
		char *copy = xstrdup(l.members), *save = NULL;
		for (char *m = strtok_r(copy, " ", &save); m && !ext;
		    m = strtok_r(NULL, " ", &save))
			ext = external_at(st, cfg, m, depth + 1);
		free(copy);
	}
	dir_entry_clear(&l);
	return ext;
}

int
outbound_is_external(struct store *st, const struct config *cfg, const char *addr)
{
	return external_at(st, cfg, addr, 0);
}

int
outbound_list_external(struct store *st, const struct config *cfg, const char *addr)
{
	struct dir_entry l;

	if (st == NULL || !local_address(cfg, addr) || store_dir_get(st, DIR_LIST, addr, &l) != 0)
		return -1;
	dir_entry_clear(&l);
	return external_at(st, cfg, addr, 0);
}
