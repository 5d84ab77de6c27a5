/*
 * notify.h - notification mails from templates (Japanese and English).
 *
 * A template is a text file templates_dir/notify/KIND.LANG.txt (UTF-8):
 * its first line is "Subject: ...", then an empty line, then the body.
 * {{name}} anywhere is replaced by the value of the variable name; an
 * unknown name becomes empty text.  Values are plain text: a notice is
 * text/plain, so nothing in a value can turn into markup.
 *
 * Japanese mail is encoded as ISO-2022-JP (RFC 1468; the Subject as
 * RFC 2047 encoded words) when notify_charset says so and every character
 * has a JIS X 0208 form; anything else is UTF-8 (base64 body).  The
 * message says Auto-Submitted: auto-generated (RFC 3834), so that
 * auto-responders leave it alone.
 */
#ifndef SEKISHO_NOTIFY_H
#define SEKISHO_NOTIFY_H

#include <stddef.h>

#include "util/config.h"

struct notify_var {
	const char *name;
	const char *value;	/* NULL counts as "" */
};

/* The template text for kind ("hold", "approval", ...) in lang, falling
 * back to the other language when the file is missing.  Malloc'ed, or
 * NULL when neither file can be read. */
char *notify_template(const struct config *cfg, const char *kind, const char *lang);

/* tmpl with every {{name}} replaced.  Malloc'ed; never NULL. */
char *notify_render(const char *tmpl, const struct notify_var *vars, size_t nvars);

/*
 * The whole message (CRLF line endings) for a rendered template: headers
 * From (notify_from), To (to, a list of addresses separated by spaces),
 * Subject, Date, Message-ID, MIME, Auto-Submitted, X-Sekisho-Notice: kind.
 * lang selects the Japanese encoding rules.  Malloc'ed, length in *len.
 */
char *notify_message(const struct config *cfg, const char *kind, const char *lang,
    const char *to, const char *rendered, size_t *len);

/* Template, render and message in one: NULL when there is no template. */
char *notify_compose(const struct config *cfg, const char *kind, const char *lang,
    const char *to, const struct notify_var *vars, size_t nvars, size_t *len);

/* UTF-8 to ISO-2022-JP, each line ending in ASCII.  Malloc'ed, or NULL
 * when a character has no JIS X 0208 form. */
char *notify_to_iso2022jp(const char *utf8);

#endif
