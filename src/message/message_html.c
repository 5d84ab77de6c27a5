/*
 * message_html.c - an HTML part reduced to what the reader sees and where
 * it leads: visible text, links with their anchor text, forms, images and
 * scripts.
 *
 * gumbo does the HTML5 parsing (entities included).  Its tree is walked
 * iteratively; text inside script, style, template and the head is not
 * visible; block elements become line breaks, runs of white space one space.
 * Relative URLs are resolved only against an absolute <base href>.
 *
 * Limits: gumbo has pathological inputs (deep nesting makes every end tag
 * scan the open-element stack; re-opened formatting elements multiply
 * nodes) and frees its tree recursively.  So: at most 8 MiB of a part is
 * parsed; a pre-pass cuts the document where nesting would pass 256 levels
 * or where start tags pass max_nodes; gumbo allocates from an arena with a
 * memory budget and a CPU-time budget (2 s of the thread's CPU, checked every
 * 1024 allocations), is abandoned with longjmp when it overspends, and its
 * tree is dropped with the arena (never walked recursively).  Any cut sets
 * MSG_LIMIT_HTML; an abandoned parse falls back to a plain tag stripper so
 * the text and links are still seen.  Thread-safe: no shared state.
 */
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <glib.h>
#include <gumbo.h>

#include "message/message_int.h"
#include "util/util.h"

#define HTML_MAX_BYTES	(8u << 20)
#define HTML_MAX_DEPTH	256

/* ---- arena for gumbo ---- */

struct arena_blk {
	struct arena_blk *next;
	size_t size, used;
	/* data follows, 16-byte aligned */
};

struct arena {
	struct arena_blk *blk;
	size_t total, budget;
	unsigned calls;
	int64_t cpu_start;
	jmp_buf jb;
};

/* gumbo gets this much CPU time per part */
#define HTML_CPU_MS 2000

static int64_t
thread_cpu_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define ARENA_HDR ((sizeof(struct arena_blk) + 15) & ~(size_t)15)
#define ARENA_CHUNK (256u << 10)

static void *
arena_alloc(void *ud, size_t n)
{
	struct arena *a = ud;
	struct arena_blk *b = a->blk;
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (n == 0)
		n = 16;
	if (a->total + n > a->budget)
		longjmp(a->jb, 1);
	if ((++a->calls & 1023) == 0 && thread_cpu_ms() - a->cpu_start > HTML_CPU_MS)
		longjmp(a->jb, 1);
	if (b == NULL || b->size - b->used < n) {
		size_t sz = n > ARENA_CHUNK / 4 ? n : ARENA_CHUNK;
		struct arena_blk *nb = xmalloc(ARENA_HDR + sz);

		nb->size = sz;
		nb->used = 0;
		if (sz == n && b != NULL) {
			/* a big one: keep filling the current chunk afterwards */
			nb->next = b->next;
			b->next = nb;
			nb->used = n;
			a->total += n;
			return (char *)nb + ARENA_HDR;
		}
		nb->next = b;
		a->blk = b = nb;
	}
	p = (char *)b + ARENA_HDR + b->used;
	b->used += n;
	a->total += n;
	return p;
}

static void
arena_dealloc(void *ud, void *p)
{
	(void)ud;
	(void)p;
}

static void
arena_free(struct arena *a)
{
	struct arena_blk *b = a->blk;

	while (b != NULL) {
		struct arena_blk *n = b->next;

		free(b);
		b = n;
	}
	a->blk = NULL;
}

/* ---- pre-pass: where to cut ---- */

static const char *const void_tags[] = {
	"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
	"param", "source", "track", "wbr", "keygen", "frame", "basefont", "bgsound",
};
static const char *const raw_tags[] = {
	"script", "style", "textarea", "title", "xmp", "iframe", "noembed",
	"noframes",
};
static const char *const sibling_tags[] = {
	"p", "li", "dt", "dd", "option", "tr", "td", "th",
};

static int
in_list(const char *name, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

static size_t
tag_name(const char *s, size_t len, size_t i, char *name, size_t size)
{
	size_t n = 0;

	while (i < len && (g_ascii_isalnum(s[i]) || s[i] == '-' || s[i] == ':')) {
		if (n + 1 < size)
			name[n++] = g_ascii_tolower(s[i]);
		i++;
	}
	name[n] = '\0';
	return i;
}

/* End of the tag whose attributes start at i: index after '>' (quotes kept
 * together), *selfclose when it ends in "/>". */
static size_t
tag_end(const char *s, size_t len, size_t i, int *selfclose)
{
	char q = 0;

	*selfclose = 0;
	for (; i < len; i++) {
		if (q != 0) {
			if (s[i] == q)
				q = 0;
			continue;
		}
		if (s[i] == '"' || s[i] == '\'') {
			if (i > 0 && s[i - 1] == '=')
				q = s[i];
			continue;
		}
		if (s[i] == '>') {
			*selfclose = i > 0 && s[i - 1] == '/';
			return i + 1;
		}
	}
	return len;
}

/*
 * How much of the document to give gumbo: the offset of the '<' where
 * nesting would pass HTML_MAX_DEPTH or start tags pass max_nodes.
 */
static size_t
html_cut(const char *s, size_t len, size_t max_nodes)
{
	char stack[HTML_MAX_DEPTH + 1][12];
	size_t depth = 0, tags = 0, i = 0;

	while (i < len) {
		const char *lt = memchr(s + i, '<', len - i);
		char name[12];
		int sc;

		if (lt == NULL)
			break;
		i = (size_t)(lt - s);
		if (i + 4 <= len && memcmp(s + i, "<!--", 4) == 0) {
			const char *e = memmem(s + i + 4, len - i - 4, "-->", 3);

			i = e != NULL ? (size_t)(e - s) + 3 : len;
			continue;
		}
		if (i + 1 < len && s[i + 1] == '/') {
			size_t j = tag_name(s, len, i + 2, name, sizeof(name));

			for (size_t k = depth; k > 0; k--)
				if (strcmp(stack[k - 1], name) == 0) {
					depth = k - 1;
					break;
				}
			i = tag_end(s, len, j, &sc);
			continue;
		}
		if (i + 1 >= len || !g_ascii_isalpha(s[i + 1])) {
			i++;
			continue;
		}
		{
			size_t j = tag_name(s, len, i + 1, name, sizeof(name));
			size_t e = tag_end(s, len, j, &sc);

			if (++tags > max_nodes)
				return i;
			if (in_list(name, raw_tags, UTIL_ARRAY_LEN(raw_tags))) {
				char close[16];
				size_t cl = (size_t)snprintf(close, sizeof(close), "</%s", name);
				const char *c = NULL;

				/* raw text runs to its end tag, in any case */
				for (size_t k = e; k + cl <= len; k++) {
					const char *lt2 = memchr(s + k, '<', len - k);

					if (lt2 == NULL)
						break;
					k = (size_t)(lt2 - s);
					if (k + cl <= len && g_ascii_strncasecmp(lt2, close, cl) == 0) {
						c = lt2;
						break;
					}
				}
				i = c != NULL ? (size_t)(c - s) : len;
				continue;
			}
			i = e;
			if (sc || in_list(name, void_tags, UTIL_ARRAY_LEN(void_tags)))
				continue;
			if (depth > 0 && in_list(name, sibling_tags, UTIL_ARRAY_LEN(sibling_tags)) &&
			    strcmp(stack[depth - 1], name) == 0)
				continue;
			if (depth >= HTML_MAX_DEPTH)
				return (size_t)(lt - s);
			memcpy(stack[depth++], name, sizeof(name));
		}
	}
	return len;
}

/* ---- fallback: strip tags ---- */

static void
add_entity_text(struct mbuf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '&') {
			static const struct {
				const char *e, *r;
			} ents[] = {
				{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" },
				{ "&quot;", "\"" }, { "&apos;", "'" }, { "&nbsp;", " " },
			};
			size_t k;

			for (k = 0; k < UTIL_ARRAY_LEN(ents); k++) {
				size_t el = strlen(ents[k].e);

				if (i + el <= len && g_ascii_strncasecmp(s + i, ents[k].e, el) == 0) {
					mbuf_adds(out, ents[k].r);
					i += el - 1;
					break;
				}
			}
			if (k < UTIL_ARRAY_LEN(ents))
				continue;
			if (i + 2 < len && s[i + 1] == '#') {
				size_t j = i + 2;
				unsigned long cp = 0;
				int hex = s[j] == 'x' || s[j] == 'X';

				if (hex)
					j++;
				while (j < len && j - i < 12 && (hex ? g_ascii_isxdigit(s[j]) : g_ascii_isdigit(s[j]))) {
					cp = cp * (hex ? 16 : 10) + (unsigned long)(hex ? g_ascii_xdigit_value(s[j]) :
					    g_ascii_digit_value(s[j]));
					j++;
				}
				if (j > i + 2 + (size_t)hex && cp > 0 && cp < 0x110000 &&
				    !(cp >= 0xD800 && cp < 0xE000)) {
					char u[8];
					int n = g_unichar_to_utf8((gunichar)cp, u);

					mbuf_add(out, u, (size_t)n);
					i = j < len && s[j] == ';' ? j : j - 1;
					continue;
				}
			}
		}
		mbuf_addc(out, s[i]);
	}
}

static void
strip_tags(const char *s, size_t len, int part, struct murls *urls, struct mbuf *out)
{
	size_t i = 0;

	while (i < len) {
		const char *lt = memchr(s + i, '<', len - i);
		size_t t = lt != NULL ? (size_t)(lt - s) : len;
		char name[12];
		int sc;

		add_entity_text(out, s + i, t - i);
		if (lt == NULL)
			break;
		i = t;
		if (i + 4 <= len && memcmp(s + i, "<!--", 4) == 0) {
			const char *e = memmem(s + i + 4, len - i - 4, "-->", 3);

			i = e != NULL ? (size_t)(e - s) + 3 : len;
			continue;
		}
		{
			size_t j = tag_name(s, len, i + 1 + (i + 1 < len && s[i + 1] == '/'), name, sizeof(name));
			size_t e = tag_end(s, len, j, &sc);
			const char *h = g_strstr_len(s + j, (gssize)(e - j), "href=");

			if (h != NULL && urls != NULL) {
				const char *v = h + 5, *ve;
				char q = *v == '"' || *v == '\'' ? *v++ : 0;

				for (ve = v; ve < s + e && (q != 0 ? *ve != q : (*ve != ' ' && *ve != '>')); ve++)
					;
				murls_add(urls, v, (size_t)(ve - v), NULL, URL_FROM_HREF, NULL, part);
			}
			if (strcmp(name, "br") == 0 || strcmp(name, "p") == 0 || strcmp(name, "div") == 0 ||
			    strcmp(name, "tr") == 0 || strcmp(name, "li") == 0)
				mbuf_addc(out, '\n');
			if (s[i + 1] != '/' && (strcmp(name, "script") == 0 || strcmp(name, "style") == 0)) {
				char close[16];
				size_t cl = (size_t)snprintf(close, sizeof(close), "</%s", name);
				size_t k;

				for (k = e; k + cl <= len; k++)
					if (s[k] == '<' && g_ascii_strncasecmp(s + k, close, cl) == 0)
						break;
				e = k + cl <= len ? k : len;
			}
			i = e;
		}
	}
}

/* ---- the walk ---- */

struct frame {
	GumboNode *node;
	unsigned idx;
	int hidden;		/* this element hides its text */
	int block;
	int pre;
	int anchor;		/* an <a> whose text is being collected */
	size_t text_start;
	size_t alt_start;
	int form;		/* index in out->forms, or -1 */
};

struct walk {
	struct mhtml_out *out;
	struct murls *urls;
	const char *base;
	int part;
	int hidden, pre;
	struct mbuf alt;	/* alt texts of images inside the current anchor */
	int form;		/* innermost form, -1 */
	int in_anchor;
};

static int
is_block(GumboTag t)
{
	switch (t) {
	case GUMBO_TAG_P: case GUMBO_TAG_DIV: case GUMBO_TAG_TR: case GUMBO_TAG_LI:
	case GUMBO_TAG_H1: case GUMBO_TAG_H2: case GUMBO_TAG_H3: case GUMBO_TAG_H4:
	case GUMBO_TAG_H5: case GUMBO_TAG_H6: case GUMBO_TAG_TABLE: case GUMBO_TAG_UL:
	case GUMBO_TAG_OL: case GUMBO_TAG_BLOCKQUOTE: case GUMBO_TAG_PRE: case GUMBO_TAG_HR:
	case GUMBO_TAG_SECTION: case GUMBO_TAG_ARTICLE: case GUMBO_TAG_HEADER:
	case GUMBO_TAG_FOOTER: case GUMBO_TAG_NAV: case GUMBO_TAG_DL: case GUMBO_TAG_DT:
	case GUMBO_TAG_DD: case GUMBO_TAG_ADDRESS: case GUMBO_TAG_FORM: case GUMBO_TAG_FIELDSET:
	case GUMBO_TAG_CENTER: case GUMBO_TAG_ASIDE: case GUMBO_TAG_MAIN: case GUMBO_TAG_FIGURE:
	case GUMBO_TAG_CAPTION: case GUMBO_TAG_TBODY: case GUMBO_TAG_THEAD: case GUMBO_TAG_TFOOT:
	case GUMBO_TAG_BODY: case GUMBO_TAG_LEGEND: case GUMBO_TAG_DETAILS: case GUMBO_TAG_SUMMARY:
		return 1;
	default:
		return 0;
	}
}

static void
newline(struct mbuf *t)
{
	while (t->len > 0 && t->p[t->len - 1] == ' ')
		t->len--;
	if (t->len > 0 && t->p[t->len - 1] != '\n')
		mbuf_addc(t, '\n');
}

/* Append text with white space collapsed (kept in <pre>). */
static void
add_text(struct mbuf *t, const char *s, int pre)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		/* U+00A0 no-break space reads as a space */
		if (c == 0xC2 && (unsigned char)s[1] == 0xA0) {
			s++;
			c = ' ';
		}
		if (!pre && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f')) {
			if (t->len > 0 && t->p[t->len - 1] != ' ' && t->p[t->len - 1] != '\n')
				mbuf_addc(t, ' ');
			continue;
		}
		if (c == '\r')
			continue;
		mbuf_addc(t, (char)c);
	}
}

/* Collapsed, trimmed copy of t[from..]. */
static char *
span_text(const struct mbuf *t, size_t from)
{
	struct mbuf o = { NULL, 0, 0 };

	for (size_t i = from; i < t->len; i++) {
		char c = t->p[i] == '\n' || t->p[i] == '\t' ? ' ' : t->p[i];

		if (c == ' ' && (o.len == 0 || o.p[o.len - 1] == ' '))
			continue;
		mbuf_addc(&o, c);
	}
	while (o.len > 0 && o.p[o.len - 1] == ' ')
		o.len--;
	return mbuf_take(&o);
}

static const char *
attr(GumboNode *n, const char *name)
{
	GumboAttribute *a = gumbo_get_attribute(&n->v.element.attributes, name);

	return a != NULL ? a->value : NULL;
}

static void
add_url(struct walk *w, const char *v, enum url_source src, const char *text)
{
	if (v != NULL)
		murls_add(w->urls, v, strlen(v), w->base, src, text, w->part);
}

static void
enter(struct walk *w, struct frame *f)
{
	GumboNode *n = f->node;
	GumboTag tag = n->v.element.tag;
	struct mbuf *t = &w->out->text;
	const char *v;

	f->form = -1;
	switch (tag) {
	case GUMBO_TAG_SCRIPT:
		add_url(w, attr(n, "src"), URL_FROM_SCRIPT, NULL);
		f->hidden = 1;
		break;
	case GUMBO_TAG_STYLE: case GUMBO_TAG_HEAD: case GUMBO_TAG_TEMPLATE:
	case GUMBO_TAG_TITLE: case GUMBO_TAG_NOFRAMES:
		f->hidden = 1;
		break;
	case GUMBO_TAG_A:
		if ((v = attr(n, "href")) != NULL && !w->in_anchor) {
			f->anchor = 1;
			f->text_start = t->len;
			f->alt_start = w->alt.len;
			w->in_anchor = 1;
		}
		break;
	case GUMBO_TAG_AREA:
		if ((v = attr(n, "href")) != NULL)
			add_url(w, v, URL_FROM_HREF, attr(n, "alt"));
		break;
	case GUMBO_TAG_IMG:
		add_url(w, attr(n, "src"), URL_FROM_IMG, NULL);
		if (w->in_anchor && (v = attr(n, "alt")) != NULL) {
			mbuf_adds(&w->alt, v);
			mbuf_addc(&w->alt, ' ');
		}
		break;
	case GUMBO_TAG_IFRAME: case GUMBO_TAG_FRAME: case GUMBO_TAG_EMBED:
	case GUMBO_TAG_SOURCE: case GUMBO_TAG_AUDIO: case GUMBO_TAG_TRACK:
		add_url(w, attr(n, "src"), URL_FROM_IMG, NULL);
		break;
	case GUMBO_TAG_VIDEO:
		add_url(w, attr(n, "src"), URL_FROM_IMG, NULL);
		add_url(w, attr(n, "poster"), URL_FROM_IMG, NULL);
		break;
	case GUMBO_TAG_OBJECT:
		add_url(w, attr(n, "data"), URL_FROM_IMG, NULL);
		break;
	case GUMBO_TAG_LINK:
		add_url(w, attr(n, "href"), URL_FROM_IMG, NULL);
		break;
	case GUMBO_TAG_INPUT:
		v = attr(n, "type");
		if (v != NULL && g_ascii_strcasecmp(v, "image") == 0)
			add_url(w, attr(n, "src"), URL_FROM_IMG, NULL);
		if (v != NULL && g_ascii_strcasecmp(v, "password") == 0 && w->form >= 0)
			w->out->forms[w->form].has_password = 1;
		break;
	case GUMBO_TAG_FORM: {
		struct msg_form *fm;
		const char *act = attr(n, "action"), *m = attr(n, "method");
		char *clean = act != NULL ? g_strstrip(g_strdup(act)) : NULL;

		w->out->forms = xrealloc(w->out->forms, (w->out->nforms + 1) * sizeof(*fm));
		fm = &w->out->forms[w->out->nforms];
		memset(fm, 0, sizeof(*fm));
		if (clean == NULL || clean[0] == '\0')
			fm->action = xstrdup("");
		else if (w->base != NULL)
			fm->action = murl_resolve(w->base, clean);
		else
			fm->action = xstrdup(clean);
		fm->method = util_lowercase(xstrdup(m != NULL && m[0] != '\0' ? m : "get"));
		fm->part = w->part;
		if (clean != NULL && clean[0] != '\0')
			add_url(w, clean, URL_FROM_FORM, NULL);
		g_free(clean);
		f->form = w->form;
		w->form = (int)w->out->nforms++;
		break;
	}
	case GUMBO_TAG_BR:
		if (!w->hidden)
			mbuf_addc(t, '\n');
		break;
	case GUMBO_TAG_TD: case GUMBO_TAG_TH:
		if (!w->hidden && t->len > 0 && t->p[t->len - 1] != '\n' && t->p[t->len - 1] != ' ')
			mbuf_addc(t, ' ');
		break;
	case GUMBO_TAG_PRE:
		f->pre = 1;
		break;
	default:
		break;
	}
	if ((v = attr(n, "background")) != NULL)
		add_url(w, v, URL_FROM_IMG, NULL);
	if (is_block(tag)) {
		f->block = 1;
		if (!w->hidden)
			newline(t);
	}
	w->hidden += f->hidden;
	w->pre += f->pre;
}

static void
leave(struct walk *w, struct frame *f)
{
	GumboNode *n = f->node;
	struct mbuf *t = &w->out->text;

	w->hidden -= f->hidden;
	w->pre -= f->pre;
	if (f->block && !w->hidden)
		newline(t);
	if (f->anchor) {
		char *text = span_text(t, f->text_start);

		if (text[0] == '\0' && w->alt.len > f->alt_start) {
			struct mbuf tmp = { NULL, 0, 0 };

			free(text);
			mbuf_add(&tmp, w->alt.p + f->alt_start, w->alt.len - f->alt_start);
			{
				char *raw = mbuf_take(&tmp);
				struct mbuf r = { raw, strlen(raw), strlen(raw) + 1 };

				text = span_text(&r, 0);
				free(raw);
			}
		}
		add_url(w, attr(n, "href"), URL_FROM_HREF, text);
		free(text);
		w->alt.len = f->alt_start;
		w->in_anchor = 0;
	}
	if (n->v.element.tag == GUMBO_TAG_FORM)
		w->form = f->form;
}

/* The first absolute <base href> of the head. */
static const char *
find_base(GumboNode *root)
{
	GumboVector *kids;

	if (root == NULL || root->type != GUMBO_NODE_DOCUMENT)
		return NULL;
	kids = &root->v.document.children;
	for (unsigned i = 0; i < kids->length; i++) {
		GumboNode *html = kids->data[i];

		if (html->type != GUMBO_NODE_ELEMENT || html->v.element.tag != GUMBO_TAG_HTML)
			continue;
		for (unsigned j = 0; j < html->v.element.children.length; j++) {
			GumboNode *head = html->v.element.children.data[j];

			if (head->type != GUMBO_NODE_ELEMENT || head->v.element.tag != GUMBO_TAG_HEAD)
				continue;
			for (unsigned k = 0; k < head->v.element.children.length; k++) {
				GumboNode *b = head->v.element.children.data[k];
				const char *h;

				if (b->type == GUMBO_NODE_ELEMENT && b->v.element.tag == GUMBO_TAG_BASE &&
				    (h = attr(b, "href")) != NULL && strstr(h, "://") != NULL)
					return h;
			}
		}
	}
	return NULL;
}

static void
walk_tree(GumboNode *root, struct walk *w, size_t max_nodes, unsigned *limits)
{
	struct frame *st = NULL;
	size_t depth = 0, cap = 0, nodes = 0;
	GumboVector *kids = &root->v.document.children;

	/* the document node is a frame with children but no element */
	cap = 64;
	st = xmalloc(cap * sizeof(*st));
	memset(&st[0], 0, sizeof(st[0]));
	st[0].node = root;
	st[0].form = -1;
	depth = 1;
	while (depth > 0) {
		struct frame *f = &st[depth - 1];
		GumboNode *c;

		kids = f->node->type == GUMBO_NODE_DOCUMENT ? &f->node->v.document.children :
		    &f->node->v.element.children;
		if (f->idx >= kids->length) {
			if (f->node->type == GUMBO_NODE_ELEMENT)
				leave(w, f);
			depth--;
			continue;
		}
		c = kids->data[f->idx++];
		switch (c->type) {
		case GUMBO_NODE_TEXT:
		case GUMBO_NODE_CDATA:
		case GUMBO_NODE_WHITESPACE:
			if (!w->hidden)
				add_text(&w->out->text, c->v.text.text, w->pre > 0);
			break;
		case GUMBO_NODE_ELEMENT:
		case GUMBO_NODE_TEMPLATE:
			if (++nodes > max_nodes) {
				*limits |= MSG_LIMIT_HTML;
				/* unwind what is open so anchors and forms end */
				while (depth > 0) {
					if (st[depth - 1].node->type != GUMBO_NODE_DOCUMENT)
						leave(w, &st[depth - 1]);
					depth--;
				}
				break;
			}
			if (depth == cap) {
				cap *= 2;
				st = xrealloc(st, cap * sizeof(*st));
				f = &st[depth - 1];
			}
			memset(&st[depth], 0, sizeof(st[depth]));
			st[depth].node = c;
			enter(w, &st[depth]);
			depth++;
			break;
		default:
			break;
		}
	}
	free(st);
}

/* Tidy visible text: no blanks at line ends, at most one empty line. */
static void
tidy(struct mbuf *t)
{
	size_t o = 0;
	int nl = 2;

	for (size_t i = 0; i < t->len; i++) {
		char c = t->p[i];

		if (c == ' ' && (nl > 0 || (i + 1 < t->len && t->p[i + 1] == '\n') || i + 1 == t->len))
			continue;
		if (c == '\n') {
			if (nl >= 2)
				continue;
			nl++;
		} else
			nl = 0;
		t->p[o++] = c;
	}
	while (o > 0 && t->p[o - 1] == '\n')
		o--;
	t->len = o;
}

void
mhtml_parse(const char *html, size_t len, size_t max_nodes, int part,
    struct murls *urls, struct mhtml_out *out, unsigned *limits)
{
	struct arena *a;
	GumboOptions opt = kGumboDefaultOptions;
	GumboOutput *volatile res = NULL;
	volatile size_t vlen;
	size_t cut;

	if (len > HTML_MAX_BYTES) {
		len = HTML_MAX_BYTES;
		while (len > 0 && ((unsigned char)html[len] & 0xC0) == 0x80)
			len--;
		*limits |= MSG_LIMIT_HTML;
	}
	cut = html_cut(html, len, max_nodes);
	if (cut < len) {
		len = cut;
		*limits |= MSG_LIMIT_HTML;
	}
	a = xcalloc(1, sizeof(*a));
	a->budget = ((size_t)32 << 20) + 24 * len;
	opt.allocator = arena_alloc;
	opt.deallocator = arena_dealloc;
	opt.userdata = a;
	opt.max_errors = 0;
	a->cpu_start = thread_cpu_ms();
	/* volatile: read again after a longjmp out of the parser */
	vlen = len;
	if (setjmp(a->jb) == 0)
		res = gumbo_parse_with_options(&opt, html, vlen);
	if (res == NULL || res->document == NULL) {
		*limits |= MSG_LIMIT_HTML;
		arena_free(a);
		free(a);
		strip_tags(html, vlen, part, urls, &out->text);
		tidy(&out->text);
		return;
	}
	{
		struct walk w;

		memset(&w, 0, sizeof(w));
		w.out = out;
		w.urls = urls;
		w.part = part;
		w.form = -1;
		w.base = find_base(res->document);
		walk_tree(res->document, &w, max_nodes, limits);
		mbuf_free(&w.alt);
	}
	tidy(&out->text);
	/* the tree lives in the arena: no recursive gumbo_destroy_output() */
	arena_free(a);
	free(a);
}
