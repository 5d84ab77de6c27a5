/*
 * http_sanitize.c - whitelist HTML writer over gumbo (see http_sanitize.h).
 *
 * Limits: nesting deeper than SANITIZE_MAX_DEPTH is cut (its content is
 * dropped); output larger than SANITIZE_MAX_OUT stops the walk.  Attribute
 * values and text are always re-escaped, so nothing from the input reaches
 * the output unquoted.
 */
#include "http/http_sanitize.h"
#include "util/buf.h"
#include "util/util.h"

#include <gumbo.h>
#include <string.h>

#define SANITIZE_MAX_DEPTH	200
#define SANITIZE_MAX_OUT	(4u << 20)

struct allowed {
	const char *tag;
	const char *const *attrs;	/* NULL-terminated, may be NULL */
};

static const char *const a_align[] = { "align", "dir", "lang", NULL };
static const char *const a_table[] = { "align", "border", "cellpadding", "cellspacing",
	"width", "dir", NULL };
static const char *const a_cell[] = { "align", "valign", "colspan", "rowspan", "width",
	"dir", NULL };
static const char *const a_font[] = { "color", "size", NULL };
static const char *const a_list[] = { "start", "type", NULL };

static const struct allowed allowed[] = {
	{ "p", a_align }, { "div", a_align }, { "span", a_align }, { "br", NULL },
	{ "hr", NULL }, { "b", NULL }, { "i", NULL }, { "u", NULL }, { "s", NULL },
	{ "strong", NULL }, { "em", NULL }, { "small", NULL }, { "big", NULL },
	{ "sub", NULL }, { "sup", NULL }, { "strike", NULL }, { "tt", NULL },
	{ "code", NULL }, { "pre", NULL }, { "blockquote", a_align }, { "center", NULL },
	{ "h1", a_align }, { "h2", a_align }, { "h3", a_align }, { "h4", a_align },
	{ "h5", a_align }, { "h6", a_align }, { "ul", a_list }, { "ol", a_list },
	{ "li", NULL }, { "dl", NULL }, { "dt", NULL }, { "dd", NULL },
	{ "table", a_table }, { "thead", NULL }, { "tbody", NULL }, { "tfoot", NULL },
	{ "tr", a_align }, { "td", a_cell }, { "th", a_cell }, { "caption", NULL },
	{ "font", a_font }, { "abbr", NULL }, { "cite", NULL }, { "q", NULL },
	{ "mark", NULL }, { "address", NULL }, { "article", NULL }, { "section", NULL },
	{ "header", NULL }, { "footer", NULL }, { "main", NULL }, { "nav", NULL },
};

/* Dropped together with everything inside them. */
static const char *const dropped[] = {
	"script", "style", "iframe", "frame", "frameset", "object", "embed", "applet",
	"form", "input", "button", "select", "option", "optgroup", "textarea", "label",
	"fieldset", "legend", "datalist", "output", "keygen", "noscript", "noembed",
	"noframes", "template", "svg", "math", "head", "title", "meta", "link", "base",
	"audio", "video", "source", "track", "canvas", "picture", "portal", "xmp",
	"plaintext", "dialog", "param", "map", "area",
};

struct out {
	struct buf b;
	int full;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->full)
		return;
	if (o->b.len + n > SANITIZE_MAX_OUT) {
		o->full = 1;
		return;
	}
	buf_add(&o->b, s, n);
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void
put_escaped(struct out *o, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		switch (s[i]) {
		case '&': puts_(o, "&amp;"); break;
		case '<': puts_(o, "&lt;"); break;
		case '>': puts_(o, "&gt;"); break;
		case '"': puts_(o, "&quot;"); break;
		case '\'': puts_(o, "&#39;"); break;
		case '\0': break;
		default: put(o, s + i, 1);
		}
	}
}

static const struct allowed *
find_allowed(const char *tag)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(allowed); i++)
		if (strcmp(allowed[i].tag, tag) == 0)
			return &allowed[i];
	return NULL;
}

static int
is_dropped(const char *tag)
{
	for (size_t i = 0; i < UTIL_ARRAY_LEN(dropped); i++)
		if (strcmp(dropped[i], tag) == 0)
			return 1;
	return 0;
}

/* The tag name, also for tags gumbo does not know (kept as written). */
static const char *
tag_name(const GumboElement *el, char *buf, size_t len)
{
	if (el->tag != GUMBO_TAG_UNKNOWN)
		return gumbo_normalized_tagname(el->tag);
	if (el->original_tag.data != NULL && el->original_tag.length > 1) {
		GumboStringPiece p = el->original_tag;
		size_t n = 0;

		gumbo_tag_from_original_text(&p);
		for (size_t i = 0; i < p.length && n + 1 < len; i++)
			buf[n++] = (char)((p.data[i] >= 'A' && p.data[i] <= 'Z') ?
			    p.data[i] + 32 : p.data[i]);
		buf[n] = '\0';
		return buf;
	}
	return "";
}

/* Attribute values that could carry a script or a load even on an allowed
 * attribute are dropped (none of ours take URLs; this is a second fence). */
static int
value_ok(const char *v)
{
	return strchr(v, ':') == NULL && strchr(v, '(') == NULL;
}

static void walk(struct out *o, const GumboNode *n, int depth);

static void
children(struct out *o, const GumboVector *kids, int depth)
{
	for (unsigned i = 0; i < kids->length && !o->full; i++)
		walk(o, kids->data[i], depth + 1);
}

static void
element(struct out *o, const GumboElement *el, int depth)
{
	char tbuf[64];
	const char *tag = tag_name(el, tbuf, sizeof(tbuf));
	const struct allowed *a;

	if (is_dropped(tag))
		return;
	if (strcmp(tag, "a") == 0) {
		GumboAttribute *href = gumbo_get_attribute(&el->attributes, "href");

		puts_(o, "<span class=\"sekisho-link\"");
		if (href != NULL && *href->value) {
			puts_(o, " title=\"");
			put_escaped(o, href->value, strlen(href->value));
			puts_(o, "\"");
		}
		puts_(o, ">");
		children(o, &el->children, depth);
		puts_(o, "</span>");
		if (href != NULL && *href->value) {
			puts_(o, " <span class=\"sekisho-url\">[");
			put_escaped(o, href->value, strlen(href->value));
			puts_(o, "]</span>");
		}
		return;
	}
	if (strcmp(tag, "img") == 0) {
		GumboAttribute *alt = gumbo_get_attribute(&el->attributes, "alt");

		if (alt != NULL && *alt->value) {
			puts_(o, "<span class=\"sekisho-img\">[");
			put_escaped(o, alt->value, strlen(alt->value));
			puts_(o, "]</span>");
		}
		return;
	}
	if ((a = find_allowed(tag)) == NULL) {
		/* html, body, unknown tags: keep the content, not the tag */
		children(o, &el->children, depth);
		return;
	}
	puts_(o, "<");
	puts_(o, a->tag);
	for (unsigned i = 0; a->attrs && i < el->attributes.length; i++) {
		const GumboAttribute *at = el->attributes.data[i];

		for (const char *const *ok = a->attrs; *ok; ok++)
			if (strcmp(at->name, *ok) == 0 && value_ok(at->value)) {
				puts_(o, " ");
				puts_(o, *ok);
				puts_(o, "=\"");
				put_escaped(o, at->value, strlen(at->value));
				puts_(o, "\"");
				break;
			}
	}
	puts_(o, ">");
	if (strcmp(a->tag, "br") == 0 || strcmp(a->tag, "hr") == 0)
		return;
	children(o, &el->children, depth);
	puts_(o, "</");
	puts_(o, a->tag);
	puts_(o, ">");
}

static void
walk(struct out *o, const GumboNode *n, int depth)
{
	if (depth > SANITIZE_MAX_DEPTH || o->full)
		return;
	switch (n->type) {
	case GUMBO_NODE_DOCUMENT:
		children(o, &n->v.document.children, depth);
		break;
	case GUMBO_NODE_ELEMENT:
	case GUMBO_NODE_TEMPLATE:
		element(o, &n->v.element, depth);
		break;
	case GUMBO_NODE_TEXT:
	case GUMBO_NODE_WHITESPACE:
	case GUMBO_NODE_CDATA:
		put_escaped(o, n->v.text.text, strlen(n->v.text.text));
		break;
	default:		/* comments and the rest */
		break;
	}
}

char *
http_sanitize_html(const char *html, size_t len)
{
	GumboOptions opt = kGumboDefaultOptions;
	GumboOutput *g;
	struct out o;

	memset(&o, 0, sizeof(o));
	opt.max_errors = 0;
	g = gumbo_parse_with_options(&opt, html, len);
	if (g != NULL) {
		walk(&o, g->document, 0);
		gumbo_destroy_output(&opt, g);
	}
	return buf_steal(&o.b, NULL);
}
