/*
 * http_sanitize.h - mail HTML made safe to show in the console.
 *
 * The HTML is parsed as a browser would (gumbo, HTML5) and written out
 * again from a whitelist: known formatting tags with a few harmless
 * attributes.  Everything that runs, loads or submits is dropped with its
 * content (script, style, iframe, object, embed, form and its controls,
 * svg, math, meta, link, base...); every attribute not on the list goes,
 * which removes event handlers, style (url() loads) and src.  Images
 * become their alt text.  Links are made inert: the anchor becomes a span
 * with the target shown beside it as text, so a reader sees where a link
 * would have gone and cannot follow it by a click.
 */
#ifndef SEKISHO_HTTP_SANITIZE_H
#define SEKISHO_HTTP_SANITIZE_H

#include <stddef.h>

/* The sanitized HTML (caller frees); never NULL. */
char *http_sanitize_html(const char *html, size_t len);

#endif
