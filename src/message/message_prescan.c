/*
 * message_prescan.c - how much of a message GMime may parse.
 *
 * GMime's parser has no limit on the number of parts and nests up to 1024
 * levels, checking every line that starts with "--" against every boundary
 * of the enclosing multiparts.  A hostile message can therefore make it
 * allocate an object per five bytes of input, or spend time proportional to
 * lines times depth.  mprescan() reads the structure the way GMime will
 * (header blocks end at an empty line, the last Content-Type of a block
 * decides, boundary lines match "--b" or "--b--" plus blanks against the
 * stack from the top, a match pops what is above it, message/rfc822 and the
 * parts of a multipart/digest open a nested header block) and returns the
 * offset of the line where the structure goes past max_depth + 8 levels or
 * max_parts + 64 entities, where the boundary checks pass 50 million, or
 * where the header blocks of all parts pass 100,000 fields (GMime makes an
 * object of every one; the top-level block is already cut by the caller).
 * The caller gives GMime only the bytes before it.
 *
 * Its stack always holds at least what GMime's holds (it pushes for every
 * Content-Type GMime could use and pops only on lines GMime also treats as
 * boundaries), so the bound is on the safe side; the slack keeps ordinary
 * messages from being cut by the difference.  Content-Type values are
 * parsed by GMime itself so both read the same boundary.  Linear in the
 * input apart from the bounded boundary checks; thread-safe.
 */
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "message/message_int.h"
#include "util/util.h"

#define DEPTH_SLACK	8
#define PARTS_SLACK	64
#define COST_MAX	50000000u
#define CT_MAX		4096	/* bytes of a Content-Type value looked at */
#define HLINES_MAX	100000	/* fields in all header blocks */

struct pent {
	char *b;		/* "--boundary", or NULL for a nested message */
	size_t blen;
	int digest;
};

struct pstate {
	struct pent *st;
	size_t n, cap;
};

static void
pop_to(struct pstate *s, size_t n)
{
	while (s->n > n)
		free(s->st[--s->n].b);
}

static void
push(struct pstate *s, char *b, int digest)
{
	if (s->n == s->cap) {
		s->cap = s->cap != 0 ? s->cap * 2 : 16;
		s->st = xrealloc(s->st, s->cap * sizeof(*s->st));
	}
	s->st[s->n].b = b;
	s->st[s->n].blen = b != NULL ? strlen(b) : 0;
	s->st[s->n].digest = digest;
	s->n++;
}

static int
lwsp_only(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return 0;
	return 1;
}

/* Index+1 of the stack entry the line matches, 0 if none; *final set. */
static size_t
match(const struct pstate *s, const char *l, size_t ll, int *final)
{
	for (size_t k = s->n; k > 0; k--) {
		const struct pent *e = &s->st[k - 1];

		if (e->b == NULL || ll < e->blen || memcmp(l, e->b, e->blen) != 0)
			continue;
		if (ll >= e->blen + 2 && l[e->blen] == '-' && l[e->blen + 1] == '-' &&
		    lwsp_only(l + e->blen + 2, ll - e->blen - 2)) {
			*final = 1;
			return k;
		}
		if (lwsp_only(l + e->blen, ll - e->blen)) {
			*final = 0;
			return k;
		}
	}
	return 0;
}

static int
is_ct(const char *l, size_t ll)
{
	size_t i = 12;

	if (ll < 13 || g_ascii_strncasecmp(l, "content-type", 12) != 0)
		return 0;
	while (i < ll && (l[i] == ' ' || l[i] == '\t'))
		i++;
	return i < ll && l[i] == ':';
}

size_t
mprescan(const char *buf, size_t len, size_t max_depth, size_t max_parts,
    void *gmime_options, unsigned *limits)
{
	struct pstate s = { NULL, 0, 0 };
	struct mbuf ct = { NULL, 0, 0 };
	int headers = 1, have_ct = 0;
	size_t off = 0, parts = 0, ret = len;
	size_t max_d = max_depth + DEPTH_SLACK, max_p = max_parts + PARTS_SLACK;
	size_t hlines = 0, max_hlines = HLINES_MAX;
	unsigned long long cost = 0;

	while (off < len) {
		const char *nl = memchr(buf + off, '\n', len - off);
		size_t e = nl != NULL ? (size_t)(nl - buf) + 1 : len;
		const char *l = buf + off;
		size_t ll = e - off;

		if (ll > 0 && l[ll - 1] == '\n') {
			ll--;
			if (ll > 0 && l[ll - 1] == '\r')
				ll--;
		}
		if (headers) {
			/* GMime keeps an object per field of every part: bound them
			 * (folded lines add no field) */
			if (ll > 0 && l[0] != ' ' && l[0] != '\t' && ++hlines > max_hlines) {
				*limits |= MSG_LIMIT_HEADERS;
				ret = off;
				break;
			}
			if (ll == 0 && nl != NULL) {
				/* end of a header block: what follows? */
				char *mt = NULL, *sub = NULL;
				const char *b = NULL;
				GMimeContentType *t = NULL;
				int parent_digest = s.n > 0 && s.st[s.n - 1].b != NULL && s.st[s.n - 1].digest;

				if (++parts > max_p) {
					*limits |= MSG_LIMIT_PARTS;
					ret = off;
					break;
				}
				if (have_ct) {
					mbuf_addc(&ct, '\0');
					t = g_mime_content_type_parse(gmime_options, ct.p);
				}
				if (t != NULL) {
					mt = g_ascii_strdown(g_mime_content_type_get_media_type(t), -1);
					sub = g_ascii_strdown(g_mime_content_type_get_media_subtype(t), -1);
					b = g_mime_content_type_get_parameter(t, "boundary");
				}
				headers = 0;
				if (mt != NULL && strcmp(mt, "multipart") == 0) {
					if (b != NULL) {
						push(&s, xasprintf("--%s", b), strcmp(sub, "digest") == 0);
					}
				} else if ((mt != NULL && strcmp(mt, "message") == 0 &&
				    (strcmp(sub, "rfc822") == 0 || strcmp(sub, "rfc2822") == 0 ||
				    strcmp(sub, "global") == 0 || strcmp(sub, "news") == 0)) ||
				    (!have_ct && parent_digest)) {
					push(&s, NULL, 0);
					headers = 1;
				}
				g_free(mt);
				g_free(sub);
				if (t != NULL)
					g_object_unref(t);
				have_ct = 0;
				ct.len = 0;
				if (s.n > max_d) {
					*limits |= MSG_LIMIT_DEPTH;
					ret = off;
					break;
				}
			} else if (is_ct(l, ll)) {
				/* the value, with its folded lines */
				const char *v = (const char *)memchr(l, ':', ll) + 1;
				size_t f = e;

				ct.len = 0;
				mbuf_add(&ct, v, ll - (size_t)(v - l) < CT_MAX ? ll - (size_t)(v - l) : CT_MAX);
				while (f < len && (buf[f] == ' ' || buf[f] == '\t')) {
					const char *nl2 = memchr(buf + f, '\n', len - f);
					size_t e2 = nl2 != NULL ? (size_t)(nl2 - buf) + 1 : len;
					size_t l2 = e2 - f;

					while (l2 > 0 && (buf[f + l2 - 1] == '\n' || buf[f + l2 - 1] == '\r'))
						l2--;
					if (ct.len < CT_MAX)
						mbuf_add(&ct, buf + f, l2 < CT_MAX - ct.len ? l2 : CT_MAX - ct.len);
					f = e2;
				}
				have_ct = 1;
				e = f;
			}
		} else if (ll >= 2 && l[0] == '-' && l[1] == '-') {
			int final;
			size_t k;

			cost += s.n + 1;
			if (cost > COST_MAX) {
				*limits |= MSG_LIMIT_PARTS;
				ret = off;
				break;
			}
			if ((k = match(&s, l, ll, &final)) > 0) {
				if (final)
					pop_to(&s, k - 1);
				else {
					pop_to(&s, k);
					headers = 1;
					have_ct = 0;
				}
			}
		}
		off = e;
	}
	pop_to(&s, 0);
	free(s.st);
	mbuf_free(&ct);
	return ret;
}
