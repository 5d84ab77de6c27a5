/*
 * fuzz_sanitize.c - libFuzzer harness for the console's HTML sanitizer
 * (http_sanitize.c).
 *
 * Checks on every output: each '<' opens or closes a tag of the whitelist
 * (or our span), each attribute is one of the whitelisted names with a
 * double-quoted value that holds no quote and no '<', and text never
 * carries a raw '>' or '"'.  So whatever the input, the output can hold no
 * script, handler, style or remote load.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_sanitize.h"
#include "fuzz.h"

static const char *const tags[] = {
	"p", "div", "span", "br", "hr", "b", "i", "u", "s", "strong", "em", "small", "big",
	"sub", "sup", "strike", "tt", "code", "pre", "blockquote", "center", "h1", "h2", "h3",
	"h4", "h5", "h6", "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody",
	"tfoot", "tr", "td", "th", "caption", "font", "abbr", "cite", "q", "mark", "address",
	"article", "section", "header", "footer", "main", "nav", NULL,
};
static const char *const attrs[] = {
	"align", "dir", "lang", "border", "cellpadding", "cellspacing", "width", "valign",
	"colspan", "rowspan", "color", "size", "start", "type", "class", "title", NULL,
};

static int
in_list(const char *const *list, const char *s, size_t n)
{
	for (; *list; list++)
		if (strlen(*list) == n && memcmp(*list, s, n) == 0)
			return 1;
	return 0;
}

/* Check one tag starting at p ('<'); returns the position after '>'. */
static const char *
check_tag(const char *p)
{
	size_t n;

	p++;
	if (*p == '/')
		p++;
	n = strspn(p, "abcdefghijklmnopqrstuvwxyz0123456789");
	CHECK(n > 0 && in_list(tags, p, n));
	p += n;
	while (*p == ' ') {
		p++;
		n = strspn(p, "abcdefghijklmnopqrstuvwxyz");
		CHECK(n > 0 && in_list(attrs, p, n));
		p += n;
		CHECK(p[0] == '=' && p[1] == '"');
		p += 2;
		n = strcspn(p, "\"<>");
		p += n;
		CHECK(*p == '"');
		p++;
	}
	CHECK(*p == '>');
	return p + 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *out = http_sanitize_html((const char *)data, size);
	const char *p = out;

	CHECK(out != NULL);
	while (*p) {
		if (*p == '<') {
			p = check_tag(p);
			continue;
		}
		CHECK(*p != '>' && *p != '"');
		p++;
	}
	free(out);
	return 0;
}
